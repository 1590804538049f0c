//! Correction for many comparisons: Benjamini-Hochberg q-values, which control the false discovery rate (the
//! expected share of false findings among those called significant) across every segment or feature tested.

use crate::InsightError;

/// Benjamini-Hochberg adjusted p-values ("q-values") for `p_values`, in the same order (Benjamini & Hochberg 1995,
/// JRSS B 57:289-300; the step-up adjustment as in R's `p.adjust(method = "BH")` and statsmodels' `fdr_bh`):
/// with the m p-values sorted ascending, q₍ᵢ₎ = min over j ≥ i of min(1, m·p₍ⱼ₎/j). Calling every result with
/// q ≤ α significant keeps the false discovery rate at or below α for independent (or positively dependent) tests.
///
/// Errors: a value that is NaN or outside [0, 1] ([`InsightError::NotAProbability`], naming its index). An empty
/// slice gives an empty result.
pub fn benjamini_hochberg(p_values: &[f64]) -> Result<Vec<f64>, InsightError> {
    for (index, &value) in p_values.iter().enumerate() {
        if !(0.0..=1.0).contains(&value) {
            return Err(InsightError::NotAProbability { index, value });
        }
    }
    let m = p_values.len();
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&a, &b| p_values[a].total_cmp(&p_values[b]));
    let mut q = vec![0.0; m];
    let mut running = 1.0_f64;
    for (rank0, &i) in order.iter().enumerate().rev() {
        let adjusted = (p_values[i] * m as f64 / (rank0 + 1) as f64).min(1.0);
        running = running.min(adjusted);
        q[i] = running;
    }
    Ok(q)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn benjamini_hochberg_1995_example() {
        // The 15 p-values of Benjamini & Hochberg (1995), §4.1: at a false discovery rate of 0.05 the procedure
        // rejects the four smallest (Bonferroni rejects three).
        let p = [
            0.0001, 0.0004, 0.0019, 0.0095, 0.0201, 0.0278, 0.0298, 0.0344, 0.0459, 0.3240, 0.4262,
            0.5719, 0.6528, 0.7590, 1.0000,
        ];
        let q = benjamini_hochberg(&p).unwrap();
        let rejected: Vec<usize> = (0..15).filter(|&i| q[i] <= 0.05).collect();
        assert_eq!(rejected, vec![0, 1, 2, 3]);
        assert!((q[3] - 0.0095 * 15.0 / 4.0).abs() < 1e-12);
        assert_eq!(q[14], 1.0);
        // Order does not matter.
        let mut rev = p;
        rev.reverse();
        let mut qr = benjamini_hochberg(&rev).unwrap();
        qr.reverse();
        assert_eq!(q, qr);
    }

    #[test]
    fn refuses_non_probabilities() {
        assert!(matches!(
            benjamini_hochberg(&[0.1, f64::NAN]),
            Err(InsightError::NotAProbability { index: 1, .. })
        ));
        assert!(matches!(
            benjamini_hochberg(&[0.1, 1.5]),
            Err(InsightError::NotAProbability { index: 1, .. })
        ));
        assert!(benjamini_hochberg(&[]).unwrap().is_empty());
    }
}
