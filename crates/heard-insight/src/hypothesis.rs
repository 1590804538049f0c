//! Tests of a difference between two proportions: the pooled two-proportion z test for large counts and Fisher's
//! exact test for small ones. Both two-sided.

use serde::Serialize;
use statrs::function::erf::erfc;
use statrs::function::factorial::ln_binomial;

use crate::InsightError;
use crate::proportion::Count;

/// The result of a two-proportion z test.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ZTest {
    /// p₁ - p₂ (first group's share minus the second's), in proportion points.
    pub difference: f64,
    /// The z statistic, (p₁ - p₂) / se with the pooled standard error; 0 when se is 0.
    pub z: f64,
    /// Two-sided p-value, 2·(1 - Φ(|z|)); 1 when se is 0.
    pub p_value: f64,
}

/// The pooled two-proportion z test of `first` against `second` (e.g. Agresti 2013, *Categorical Data Analysis*,
/// 3rd ed., §3.1.4; the same as `statsmodels.stats.proportion.proportions_ztest` with its default pooled variance):
/// p̄ = (x₁ + x₂)/(n₁ + n₂), se = √(p̄(1 - p̄)(1/n₁ + 1/n₂)), z = (p₁ - p₂)/se, p = 2·(1 - Φ(|z|)), computed as
/// erfc(|z|/√2) so small p-values keep their precision.
///
/// When every answer in both groups is positive (or none is) the standard error is 0 and there is no evidence of
/// a difference: z = 0 and p = 1 (statsmodels returns NaN there).
///
/// Errors: either group empty ([`InsightError::Empty`]) or with more positive than answers.
pub fn two_proportion_z(first: Count, second: Count) -> Result<ZTest, InsightError> {
    for (item, c) in [("first group", first), ("second group", second)] {
        Count::new(item, c.positive, c.n)?;
        if c.n == 0 {
            return Err(InsightError::Empty { item: item.into() });
        }
    }
    let (n1, n2) = (first.n as f64, second.n as f64);
    let p1 = first.positive as f64 / n1;
    let p2 = second.positive as f64 / n2;
    let pooled = (first.positive + second.positive) as f64 / (n1 + n2);
    let se = (pooled * (1.0 - pooled) * (1.0 / n1 + 1.0 / n2)).sqrt();
    let difference = p1 - p2;
    if se <= 0.0 {
        return Ok(ZTest {
            difference,
            z: 0.0,
            p_value: 1.0,
        });
    }
    let z = difference / se;
    Ok(ZTest {
        difference,
        z,
        p_value: two_sided_normal_p(z),
    })
}

/// 2·(1 - Φ(|z|)) for a standard normal Φ.
pub fn two_sided_normal_p(z: f64) -> f64 {
    erfc(z.abs() / std::f64::consts::SQRT_2).min(1.0)
}

/// Fisher's exact test, two-sided, of the 2×2 table `[[a, b], [c, d]]` (rows: the two groups; columns: with and
/// without the feature). Fisher 1935 (*The Design of Experiments*); the two-sided p-value is the sum of the
/// hypergeometric probabilities of every table with the same margins that is no more probable than the observed one
/// (with a relative tolerance of 1e-7 for ties, as R's `fisher.test` and `scipy.stats.fisher_exact` do).
///
/// The loop runs over the possible values of `a`: at most min(a + b, a + c) + 1 terms.
pub fn fisher_exact(a: u64, b: u64, c: u64, d: u64) -> f64 {
    let row1 = a + b;
    let row2 = c + d;
    let col1 = a + c;
    let total = row1 + row2;
    if total == 0 || row1 == 0 || row2 == 0 || col1 == 0 || col1 == total {
        return 1.0;
    }
    let ln_denom = ln_binomial(total, col1);
    let ln_p = |x: u64| ln_binomial(row1, x) + ln_binomial(row2, col1 - x) - ln_denom;
    let observed = ln_p(a);
    let low = col1.saturating_sub(row2);
    let high = row1.min(col1);
    // ln(1 + 1e-7) ≈ 1e-7.
    let cut = observed + 1e-7;
    let mut p = 0.0;
    for x in low..=high {
        let lp = ln_p(x);
        if lp <= cut {
            p += lp.exp();
        }
    }
    p.min(1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn z_test_known_value() {
        // 80/100 against 60/100: pooled 0.7, se = sqrt(0.7·0.3·0.02) = 0.0648, z = 3.086, p = 0.00203.
        let t = two_proportion_z(
            Count {
                positive: 80,
                n: 100,
            },
            Count {
                positive: 60,
                n: 100,
            },
        )
        .unwrap();
        assert!((t.z - 3.0860669992418384).abs() < 1e-9, "{t:?}");
        assert!((t.p_value - 0.0020282).abs() < 1e-6, "{t:?}");
        let none =
            two_proportion_z(Count { positive: 0, n: 10 }, Count { positive: 0, n: 30 }).unwrap();
        assert_eq!((none.z, none.p_value), (0.0, 1.0));
        assert!(
            two_proportion_z(Count { positive: 0, n: 0 }, Count { positive: 0, n: 3 }).is_err()
        );
    }

    #[test]
    fn fisher_tea_tasting() {
        // Fisher's lady tasting tea: [[3, 1], [1, 3]], two-sided p = 0.4857 (34/70).
        assert!((fisher_exact(3, 1, 1, 3) - 34.0 / 70.0).abs() < 1e-12);
        // The all-correct table: two-sided 2/70.
        assert!((fisher_exact(4, 0, 0, 4) - 2.0 / 70.0).abs() < 1e-12);
        assert_eq!(fisher_exact(0, 0, 3, 4), 1.0);
    }
}
