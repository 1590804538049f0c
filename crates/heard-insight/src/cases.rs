//! Case figures (issue 21, item 2): how long people wait for a first reply and for their case to end, the share of
//! closed cases that resolved the person's issue, and trust among people whose case was closed against those whose
//! case is still open.
//!
//! Times are wall-clock hours (what the person lived), medians and 90th percentiles by the nearest-rank method (the
//! smallest value with at least that share of values at or below it; Hyndman & Fan 1996 definition 1). Shares carry
//! 95% Wilson intervals; the trust comparison a pooled two-proportion z test, or Fisher's exact test when a group has
//! fewer than 30 answers.

use serde::Serialize;

use crate::hypothesis::{fisher_exact, two_proportion_z};
use crate::proportion::{Count, Interval, Z95, wilson_interval};

/// One case, as the figures need it. Times in epoch milliseconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CaseTimes {
    /// When it was opened.
    pub opened_at: i64,
    /// When staff first sent the person an update, if they have.
    pub first_public_update_at: Option<i64>,
    /// When it entered an ending status, if it is in one now.
    pub ended_at: Option<i64>,
    /// On closing: whether the person's issue was resolved (none when not recorded).
    pub resolved: Option<bool>,
    /// Whether the person trusted the service in the response that opened the case (none without one).
    pub trust_positive: Option<bool>,
}

/// Waiting times over a set of cases: how many, the median and the 90th percentile, in hours.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Durations {
    /// How many cases had this time.
    pub n: usize,
    /// Median, in hours; none when `n` is 0.
    pub median_hours: Option<f64>,
    /// 90th percentile, in hours; none when `n` is 0.
    pub p90_hours: Option<f64>,
}

/// A share with its 95% interval; none when there is nothing to count.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Share {
    /// The count.
    pub count: Count,
    /// positive / n, with its Wilson interval; none when n is 0.
    pub value: Option<(f64, Interval)>,
}

/// Every case figure of an organization.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CaseFigures {
    /// Cases opened.
    pub cases: usize,
    /// Cases not in an ending status.
    pub open: usize,
    /// Opening to the first update the person saw.
    pub first_response: Durations,
    /// Opening to ending, for ended cases.
    pub resolution: Durations,
    /// Among ended cases with an outcome recorded: the share that resolved the person's issue.
    pub resolved: Share,
    /// Trust among people whose case has ended.
    pub trust_closed: Share,
    /// Trust among people whose case has not.
    pub trust_open: Share,
    /// Two-sided p-value of the difference (closed minus open), when both groups have answers; and which test.
    pub trust_difference: Option<(f64, f64, &'static str)>,
}

const HOUR_MS: f64 = 3_600_000.0;

/// The nearest-rank `q` quantile (0 < q ≤ 1) of sorted values.
fn nearest_rank(sorted: &[f64], q: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (q * sorted.len() as f64).ceil().max(1.0) as usize;
    sorted.get(rank.min(sorted.len()) - 1).copied()
}

fn durations(mut hours: Vec<f64>) -> Durations {
    hours.sort_by(f64::total_cmp);
    Durations {
        n: hours.len(),
        median_hours: nearest_rank(&hours, 0.5),
        p90_hours: nearest_rank(&hours, 0.9),
    }
}

fn share(positive: u64, n: u64) -> Share {
    Share {
        count: Count { positive, n },
        value: wilson_interval(positive, n, None, Z95)
            .ok()
            .map(|i| (positive as f64 / n as f64, i)),
    }
}

/// The figures over `cases`. Negative durations (clocks set back) count as 0.
pub fn case_figures(cases: &[CaseTimes]) -> CaseFigures {
    let first: Vec<f64> = cases
        .iter()
        .filter_map(|c| {
            c.first_public_update_at
                .map(|t| (t - c.opened_at).max(0) as f64 / HOUR_MS)
        })
        .collect();
    let resolution: Vec<f64> = cases
        .iter()
        .filter_map(|c| {
            c.ended_at
                .map(|t| (t - c.opened_at).max(0) as f64 / HOUR_MS)
        })
        .collect();
    let outcomes: Vec<bool> = cases
        .iter()
        .filter(|c| c.ended_at.is_some())
        .filter_map(|c| c.resolved)
        .collect();
    let count = |ended: bool| {
        let xs: Vec<bool> = cases
            .iter()
            .filter(|c| c.ended_at.is_some() == ended)
            .filter_map(|c| c.trust_positive)
            .collect();
        (xs.iter().filter(|x| **x).count() as u64, xs.len() as u64)
    };
    let (tc, nc) = count(true);
    let (to, no) = count(false);
    let trust_difference = (nc > 0 && no > 0).then(|| {
        let diff = tc as f64 / nc as f64 - to as f64 / no as f64;
        if nc < 30 || no < 30 {
            (
                diff,
                fisher_exact(tc, nc - tc, to, no - to),
                "Fisher's exact test",
            )
        } else {
            let z = two_proportion_z(
                Count {
                    positive: tc,
                    n: nc,
                },
                Count {
                    positive: to,
                    n: no,
                },
            );
            (
                diff,
                z.map(|z| z.p_value).unwrap_or(1.0),
                "two-proportion z test",
            )
        }
    });
    CaseFigures {
        cases: cases.len(),
        open: cases.iter().filter(|c| c.ended_at.is_none()).count(),
        first_response: durations(first),
        resolution: durations(resolution),
        resolved: share(
            outcomes.iter().filter(|x| **x).count() as u64,
            outcomes.len() as u64,
        ),
        trust_closed: share(tc, nc),
        trust_open: share(to, no),
        trust_difference,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn case(
        opened: i64,
        first: Option<i64>,
        ended: Option<i64>,
        resolved: Option<bool>,
        trust: Option<bool>,
    ) -> CaseTimes {
        CaseTimes {
            opened_at: opened,
            first_public_update_at: first,
            ended_at: ended,
            resolved,
            trust_positive: trust,
        }
    }

    #[test]
    fn nearest_rank_quantiles() {
        let xs: Vec<f64> = (1..=10).map(f64::from).collect();
        assert_eq!(nearest_rank(&xs, 0.5), Some(5.0));
        assert_eq!(nearest_rank(&xs, 0.9), Some(9.0));
        assert_eq!(nearest_rank(&[3.0], 0.9), Some(3.0));
        assert_eq!(nearest_rank(&[], 0.5), None);
    }

    #[test]
    fn figures_count_what_each_says() {
        let h = 3_600_000;
        let cases = [
            case(0, Some(h), Some(10 * h), Some(true), Some(true)),
            case(0, Some(3 * h), Some(20 * h), Some(false), Some(false)),
            case(0, None, None, None, Some(false)),
            case(0, Some(2 * h), None, None, None),
        ];
        let f = case_figures(&cases);
        assert_eq!(f.cases, 4);
        assert_eq!(f.open, 2);
        assert_eq!(f.first_response.n, 3);
        assert_eq!(f.first_response.median_hours, Some(2.0));
        assert_eq!(f.resolution.n, 2);
        assert_eq!(f.resolution.median_hours, Some(10.0));
        assert_eq!(f.resolution.p90_hours, Some(20.0));
        assert_eq!(f.resolved.count, Count { positive: 1, n: 2 });
        assert_eq!(f.trust_closed.count, Count { positive: 1, n: 2 });
        assert_eq!(f.trust_open.count, Count { positive: 0, n: 1 });
        let (diff, p, test) = f.trust_difference.unwrap();
        assert!((diff - 0.5).abs() < 1e-12);
        assert!(p > 0.0 && p <= 1.0);
        assert_eq!(test, "Fisher's exact test");
        let empty = case_figures(&[]);
        assert_eq!(empty.resolved.value, None);
        assert_eq!(empty.trust_difference, None);
    }
}
