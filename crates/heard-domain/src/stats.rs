//! Statistics for reports: proportions with Wilson score intervals, optionally with the finite-population correction
//! when the number of customers served is known.

use serde::Serialize;

/// z for a two-sided 95% interval.
pub const Z95: f64 = 1.959_963_984_540_054;

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Proportion {
    pub successes: u64,
    pub n: u64,
    /// successes / n, 0 when n is 0.
    pub p: f64,
    pub low: f64,
    pub high: f64,
}

/// The Wilson score interval for `successes` out of `n`. With `population` (the customers served, N > n), the
/// variance is scaled by the finite-population correction (N - n) / (N - 1); N = n is a census (no sampling error).
/// A population below `n` is impossible, so it is ignored rather than read as a census: callers flag it to the
/// reader (see `report::SurveyReport::customers_below_responses`).
pub fn wilson(successes: u64, n: u64, population: Option<u64>) -> Proportion {
    if n == 0 {
        return Proportion {
            successes,
            n,
            p: 0.0,
            low: 0.0,
            high: 1.0,
        };
    }
    let nf = n as f64;
    let p = successes as f64 / nf;
    let fpc = match population {
        Some(pop) if pop > n && pop > 1 => (pop - n) as f64 / (pop - 1) as f64,
        Some(pop) if pop == n => 0.0,
        _ => 1.0,
    };
    let z2 = Z95 * Z95 * fpc;
    let denom = 1.0 + z2 / nf;
    let centre = (p + z2 / (2.0 * nf)) / denom;
    let half = (z2.sqrt() / denom) * (p * (1.0 - p) / nf + z2 / (4.0 * nf * nf)).sqrt();
    Proportion {
        successes,
        n,
        p,
        low: (centre - half).max(0.0),
        high: (centre + half).min(1.0),
    }
}

/// The mean of 1-5 answers from their counts (`counts[0]` is the number of 1s).
pub fn mean_1_to_5(counts: &[u64; 5]) -> Option<f64> {
    let n: u64 = counts.iter().sum();
    if n == 0 {
        return None;
    }
    let s: u64 = counts
        .iter()
        .enumerate()
        .map(|(i, c)| (i as u64 + 1) * c)
        .sum();
    Some(s as f64 / n as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wilson_matches_known_values() {
        // 81 of 263: a textbook example, interval 0.2553 to 0.3662.
        let w = wilson(81, 263, None);
        assert!((w.low - 0.2553).abs() < 5e-4, "{w:?}");
        assert!((w.high - 0.3662).abs() < 5e-4, "{w:?}");
        let all = wilson(10, 10, None);
        assert!(all.high > 0.999_999 && all.low > 0.69 && all.low < 0.73);
        assert_eq!(wilson(0, 0, None).n, 0);
    }

    #[test]
    fn a_census_has_no_sampling_error() {
        let w = wilson(40, 100, Some(100));
        assert!((w.low - 0.4).abs() < 1e-12 && (w.high - 0.4).abs() < 1e-12);
        let narrower = wilson(40, 100, Some(200));
        let wide = wilson(40, 100, None);
        assert!(narrower.high - narrower.low < wide.high - wide.low);
        // Fewer customers than answers cannot be: no correction, never a 0-width interval.
        assert_eq!(wilson(40, 100, Some(60)), wide);
    }

    #[test]
    fn mean_on_one_to_five() {
        assert_eq!(mean_1_to_5(&[0, 0, 0, 0, 0]), None);
        assert_eq!(mean_1_to_5(&[1, 0, 0, 0, 1]), Some(3.0));
    }
}
