//! % positive as OMB Circular A-11 §280 asks for it: the share of positive answers (thumbs up, or 4-5 on a 1-5
//! scale) with a 95% Wilson score interval, the finite-population correction when the number of customers served
//! is known, a "too few to report" rule for small counts, and the change from the previous period with its test.

use serde::Serialize;

use crate::InsightError;
use crate::hypothesis::{ZTest, two_proportion_z};

/// z for a two-sided 95% interval: Φ⁻¹(0.975).
pub const Z95: f64 = 1.959_963_984_540_054;

/// Positive answers out of all answers to one question in one cell (service, touchpoint, channel, period, segment).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Count {
    /// Answers counted as positive.
    pub positive: u64,
    /// All answers (the denominator).
    pub n: u64,
}

impl Count {
    /// A count, refusing `positive > n` (the error names `item`).
    pub fn new(item: &str, positive: u64, n: u64) -> Result<Count, InsightError> {
        if positive > n {
            return Err(InsightError::SuccessesAboveTotal {
                item: item.to_string(),
                successes: positive,
                n,
            });
        }
        Ok(Count { positive, n })
    }

    /// positive / n; `None` when n is 0.
    pub fn share(&self) -> Option<f64> {
        (self.n > 0).then(|| self.positive as f64 / self.n as f64)
    }
}

/// A closed interval of proportions, both ends in [0, 1].
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Interval {
    /// Lower end.
    pub low: f64,
    /// Upper end.
    pub high: f64,
}

/// The Wilson score interval (Wilson 1927, JASA 22:209-212; "method 3" of Newcombe 1998, Statistics in Medicine
/// 17:857-872) for `successes` out of `n` at the normal quantile `z` (use [`Z95`] for 95%).
///
/// With `population` = N (the customers served in the period, N ≥ n), the variance p(1-p)/n is multiplied by the
/// finite-population correction f = (N - n)/(N - 1) (Cochran 1977, *Sampling Techniques*, 3rd ed., eq. 3.4), which
/// is the Wilson interval at the effective sample size n/f; N = n is a census and the interval shrinks to the point
/// p. This is the same formula as `heard_domain::stats::wilson` (checked equal in the tests).
///
/// Errors: `n = 0` ([`InsightError::Empty`]), `successes > n`, `population < n`
/// ([`InsightError::PopulationBelowSample`]), `z` not positive and finite.
pub fn wilson_interval(
    successes: u64,
    n: u64,
    population: Option<u64>,
    z: f64,
) -> Result<Interval, InsightError> {
    Count::new("Wilson interval", successes, n)?;
    if n == 0 {
        return Err(InsightError::Empty {
            item: "Wilson interval".into(),
        });
    }
    if !(z.is_finite() && z > 0.0) {
        return Err(InsightError::BadParameter {
            parameter: "z",
            reason: format!("{z} must be a positive number"),
        });
    }
    let fpc = match population {
        Some(pop) if pop < n => {
            return Err(InsightError::PopulationBelowSample { population: pop, n });
        }
        Some(pop) if pop == n => 0.0,
        Some(pop) => (pop - n) as f64 / (pop - 1) as f64,
        None => 1.0,
    };
    let nf = n as f64;
    let p = successes as f64 / nf;
    let z2 = z * z * fpc;
    let denom = 1.0 + z2 / nf;
    let centre = (p + z2 / (2.0 * nf)) / denom;
    let half = (z2.sqrt() / denom) * (p * (1.0 - p) / nf + z2 / (4.0 * nf * nf)).sqrt();
    Ok(Interval {
        low: (centre - half).max(0.0),
        high: (centre + half).min(1.0),
    })
}

/// When a count is too small to report. A-11's guidance for Heard (design notes: "small cells (n < 10)
/// suppressed") and the CMS cell-size suppression policy (no cell of 1 to 10 shown) agree on suppressing below
/// about ten; the default follows the stricter CMS rule, so the same k serves % positive and segment tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SmallCountRule {
    /// The fewest answers for which a share is shown (default 11). A cell with fewer is "too few to report": no
    /// share, no interval, and so never a 0% or 100% from a handful of answers.
    pub min_n: u64,
}

impl Default for SmallCountRule {
    fn default() -> Self {
        SmallCountRule { min_n: 11 }
    }
}

impl SmallCountRule {
    /// Whether `n` answers are enough to report.
    pub fn allows(&self, n: u64) -> bool {
        n >= self.min_n.max(1)
    }
}

/// A figure, or the reason it is not shown.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Reportable<T> {
    /// The figure.
    Reported(T),
    /// Fewer answers than the rule's minimum: say "too few to report" and show n only if the page's own
    /// suppression allows it.
    TooFew {
        /// The answers there were.
        n: u64,
        /// The fewest the rule reports.
        min_n: u64,
    },
}

impl<T> Reportable<T> {
    /// The figure when reported.
    pub fn reported(&self) -> Option<&T> {
        match self {
            Reportable::Reported(t) => Some(t),
            Reportable::TooFew { .. } => None,
        }
    }
}

/// % positive with its 95% interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PercentPositive {
    /// Positive answers and all answers.
    pub count: Count,
    /// Customers served, when known (the finite-population correction was applied).
    pub population: Option<u64>,
    /// positive / n, in [0, 1].
    pub share: f64,
    /// The 95% Wilson interval of `share`.
    pub interval: Interval,
}

/// % positive for `count`, or too few to report under `rule`. `population` (customers served, N ≥ n) turns on the
/// finite-population correction (see [`wilson_interval`]).
///
/// Errors: `positive > n`, `population < n`.
pub fn percent_positive(
    count: Count,
    population: Option<u64>,
    rule: SmallCountRule,
) -> Result<Reportable<PercentPositive>, InsightError> {
    Count::new("% positive", count.positive, count.n)?;
    if let Some(pop) = population
        && pop < count.n
    {
        return Err(InsightError::PopulationBelowSample {
            population: pop,
            n: count.n,
        });
    }
    if !rule.allows(count.n) {
        return Ok(Reportable::TooFew {
            n: count.n,
            min_n: rule.min_n,
        });
    }
    let interval = wilson_interval(count.positive, count.n, population, Z95)?;
    Ok(Reportable::Reported(PercentPositive {
        count,
        population,
        share: count.positive as f64 / count.n as f64,
        interval,
    }))
}

/// The change in % positive from the previous period to this one.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Change {
    /// This period.
    pub current: PercentPositive,
    /// The period before.
    pub previous: PercentPositive,
    /// current share - previous share, in proportion points (0.05 = 5 percentage points).
    pub difference: f64,
    /// The pooled two-proportion z test of current against previous (two-sided).
    pub test: ZTest,
}

/// The change from `previous` to `current`, tested with the pooled two-proportion z test (see
/// [`two_proportion_z`]); too few to report when either period is below `rule` (the reported `n` is the smaller).
/// Each period's interval uses its own population when given; the test treats both periods as independent samples
/// from large populations (no finite-population correction, the usual conservative choice).
///
/// Errors: as [`percent_positive`] for either period.
pub fn change_from_previous(
    current: Count,
    current_population: Option<u64>,
    previous: Count,
    previous_population: Option<u64>,
    rule: SmallCountRule,
) -> Result<Reportable<Change>, InsightError> {
    let cur = percent_positive(current, current_population, rule)?;
    let prev = percent_positive(previous, previous_population, rule)?;
    let (Reportable::Reported(cur), Reportable::Reported(prev)) = (cur, prev) else {
        return Ok(Reportable::TooFew {
            n: current.n.min(previous.n),
            min_n: rule.min_n,
        });
    };
    let test = two_proportion_z(current, previous)?;
    Ok(Reportable::Reported(Change {
        current: cur,
        previous: prev,
        difference: test.difference,
        test,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newcombe_1998_wilson_examples() {
        // Newcombe (1998), Table I, method 3 (score interval without continuity correction), to 4 places.
        for (x, n, lo, hi) in [
            (81, 263, 0.2553, 0.3662),
            (15, 148, 0.0624, 0.1605),
            (0, 20, 0.0, 0.1611),
            (1, 29, 0.0061, 0.1718),
        ] {
            let i = wilson_interval(x, n, None, Z95).unwrap();
            assert!(
                (i.low - lo).abs() < 5e-5 && (i.high - hi).abs() < 5e-5,
                "{x}/{n}: {i:?}"
            );
        }
    }

    #[test]
    fn same_as_heard_domain() {
        for (x, n, pop) in [
            (81, 263, None),
            (3, 40, Some(90)),
            (40, 100, Some(100)),
            (7, 7, None),
        ] {
            let d = heard_domain::stats::wilson(x, n, pop);
            let i = wilson_interval(x, n, pop, Z95).unwrap();
            assert_eq!((d.low, d.high), (i.low, i.high));
        }
    }

    #[test]
    fn census_and_bad_input() {
        let i = wilson_interval(40, 100, Some(100), Z95).unwrap();
        assert!((i.low - 0.4).abs() < 1e-12 && (i.high - 0.4).abs() < 1e-12);
        assert!(matches!(
            wilson_interval(40, 100, Some(60), Z95),
            Err(InsightError::PopulationBelowSample {
                population: 60,
                n: 100
            })
        ));
        assert!(matches!(
            wilson_interval(0, 0, None, Z95),
            Err(InsightError::Empty { .. })
        ));
        assert!(matches!(
            wilson_interval(5, 4, None, Z95),
            Err(InsightError::SuccessesAboveTotal { .. })
        ));
    }

    #[test]
    fn too_few_is_never_zero_or_hundred() {
        let rule = SmallCountRule::default();
        for n in 0..11 {
            for pos in [0, n] {
                let r = percent_positive(Count { positive: pos, n }, None, rule).unwrap();
                assert_eq!(r, Reportable::TooFew { n, min_n: 11 });
            }
        }
        let r = percent_positive(
            Count {
                positive: 11,
                n: 11,
            },
            None,
            rule,
        )
        .unwrap();
        let r = r.reported().unwrap();
        assert_eq!(r.share, 1.0);
        assert!(r.interval.low < 0.75);
        // A smaller threshold is a parameter.
        let r = percent_positive(
            Count { positive: 3, n: 5 },
            None,
            SmallCountRule { min_n: 5 },
        );
        assert!(r.unwrap().reported().is_some());
    }

    #[test]
    fn json_says_whether_a_figure_is_reported() {
        let rule = SmallCountRule::default();
        let few = percent_positive(Count { positive: 2, n: 3 }, None, rule).unwrap();
        assert_eq!(
            serde_json::to_value(few).unwrap(),
            serde_json::json!({"status": "too_few", "n": 3, "min_n": 11})
        );
        let shown = percent_positive(
            Count {
                positive: 30,
                n: 40,
            },
            None,
            rule,
        )
        .unwrap();
        let v = serde_json::to_value(shown).unwrap();
        assert_eq!(v["status"], "reported");
        assert_eq!(v["share"], 0.75);
        assert!(v["interval"]["low"].as_f64().unwrap() < 0.75);
    }

    #[test]
    fn change_is_too_few_when_either_period_is() {
        let rule = SmallCountRule::default();
        let c = change_from_previous(
            Count {
                positive: 80,
                n: 100,
            },
            None,
            Count { positive: 5, n: 8 },
            None,
            rule,
        )
        .unwrap();
        assert_eq!(c, Reportable::TooFew { n: 8, min_n: 11 });
        let c = change_from_previous(
            Count {
                positive: 80,
                n: 100,
            },
            Some(1000),
            Count {
                positive: 60,
                n: 100,
            },
            None,
            rule,
        )
        .unwrap();
        let c = c.reported().unwrap();
        assert!((c.difference - 0.2).abs() < 1e-12);
        assert!(c.test.p_value < 0.01);
        assert!(
            c.current.interval.high - c.current.interval.low
                < c.previous.interval.high - c.previous.interval.low
        );
    }
}
