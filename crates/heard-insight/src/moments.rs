//! Means and co-moments of a few columns, kept row by row and mergeable, so a rollup can hold what key drivers need
//! (the correlation matrix) without keeping the rows: one [`Moments`] per service and period, merged across
//! services or periods on a request, then [`Moments::correlations`] into
//! [`crate::drivers::importance_from_correlations`]. Bootstrap intervals still need rows (see
//! [`crate::drivers::key_drivers`]).
//!
//! Updates use Welford's method (Welford 1962, Technometrics 4:419-420) and merges the pairwise formula of Chan,
//! Golub & LeVeque (1979, "Updating formulae and a pairwise algorithm for computing sample variances"), both
//! stable where raw sums of squares lose digits over millions of rows.

use serde::{Deserialize, Serialize};

use crate::InsightError;

/// Count, means and centred cross products (co-moments) of k columns over the rows added, rows with a missing
/// value left out (listwise, as [`crate::drivers::key_drivers`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Moments {
    /// Rows added (complete rows only).
    pub n: u64,
    /// Column means, k of them.
    pub mean: Vec<f64>,
    /// Σ (xᵢ - x̄)(xⱼ - x̄ⱼ) over the rows, k × k row-major (symmetric).
    pub comoment: Vec<f64>,
    /// Rows left out for a missing value.
    pub incomplete: u64,
}

impl Moments {
    /// Empty moments of `k` columns.
    pub fn new(k: usize) -> Moments {
        Moments {
            n: 0,
            mean: vec![0.0; k],
            comoment: vec![0.0; k * k],
            incomplete: 0,
        }
    }

    /// The number of columns.
    pub fn columns(&self) -> usize {
        self.mean.len()
    }

    /// Adds one row of k values (`None` where missing: the row is then only counted in `incomplete`).
    ///
    /// Errors: a row of another length ([`InsightError::LengthMismatch`]), a value that is not finite.
    pub fn add(&mut self, row: &[Option<f64>]) -> Result<(), InsightError> {
        let k = self.columns();
        if row.len() != k {
            return Err(InsightError::LengthMismatch {
                item: "moments row".into(),
                expected: k,
                found: row.len(),
            });
        }
        if let Some((i, v)) = row
            .iter()
            .enumerate()
            .find_map(|(i, v)| v.filter(|x| !x.is_finite()).map(|x| (i, x)))
        {
            return Err(InsightError::NotFinite {
                item: format!("column {i}"),
                row: self.n as usize,
                value: v,
            });
        }
        if row.iter().any(Option::is_none) {
            self.incomplete += 1;
            return Ok(());
        }
        self.n += 1;
        let nf = self.n as f64;
        let x: Vec<f64> = row.iter().map(|v| v.unwrap_or(0.0)).collect();
        let before: Vec<f64> = x.iter().zip(&self.mean).map(|(x, m)| x - m).collect();
        for (m, d) in self.mean.iter_mut().zip(&before) {
            *m += d / nf;
        }
        // C += (x - new mean)(x - old mean)', exactly (n - 1)/n · d d' with d = x - old mean.
        for (a, (xa, ma)) in x.iter().zip(&self.mean).enumerate() {
            let after_a = xa - ma;
            for (c, d) in self.comoment[a * k..(a + 1) * k].iter_mut().zip(&before) {
                *c += d * after_a;
            }
        }
        // Keep the matrix exactly symmetric.
        for a in 0..k {
            for b in a + 1..k {
                let v = 0.5 * (self.comoment[a * k + b] + self.comoment[b * k + a]);
                self.comoment[a * k + b] = v;
                self.comoment[b * k + a] = v;
            }
        }
        Ok(())
    }

    /// Merges `other` (moments of other rows, same columns) into these.
    ///
    /// Errors: a different number of columns.
    pub fn merge(&mut self, other: &Moments) -> Result<(), InsightError> {
        let k = self.columns();
        if other.columns() != k || other.comoment.len() != k * k || self.comoment.len() != k * k {
            return Err(InsightError::LengthMismatch {
                item: "moments to merge".into(),
                expected: k,
                found: other.columns(),
            });
        }
        self.incomplete += other.incomplete;
        if other.n == 0 {
            return Ok(());
        }
        if self.n == 0 {
            self.n = other.n;
            self.mean.clone_from(&other.mean);
            self.comoment.clone_from(&other.comoment);
            return Ok(());
        }
        let (na, nb) = (self.n as f64, other.n as f64);
        let n = na + nb;
        let delta: Vec<f64> = (0..k).map(|i| other.mean[i] - self.mean[i]).collect();
        for a in 0..k {
            for b in 0..k {
                self.comoment[a * k + b] +=
                    other.comoment[a * k + b] + delta[a] * delta[b] * na * nb / n;
            }
        }
        for (m, d) in self.mean.iter_mut().zip(&delta) {
            *m += d * nb / n;
        }
        self.n += other.n;
        Ok(())
    }

    /// The correlations for key drivers, the outcome being the last column: the (k-1) × (k-1) matrix of the
    /// predictors and their correlations with the outcome, ready for
    /// [`crate::drivers::importance_from_correlations`]. `names` are the k columns' names (for errors).
    ///
    /// Errors: `names` of another length, fewer than 2 columns, a constant column ([`InsightError::Constant`]).
    pub fn correlations(
        &self,
        names: &[String],
    ) -> Result<(Vec<Vec<f64>>, Vec<f64>), InsightError> {
        let k = self.columns();
        if names.len() != k || k < 2 {
            return Err(InsightError::BadParameter {
                parameter: "names",
                reason: format!(
                    "{} names for {k} columns (predictors then the outcome, at least 2)",
                    names.len()
                ),
            });
        }
        let sd: Vec<f64> = (0..k)
            .map(|a| self.comoment[a * k + a].max(0.0).sqrt())
            .collect();
        for (a, name) in names.iter().enumerate() {
            let scale = self.mean[a].abs().max(1.0);
            if self.comoment[a * k + a] <= (1e-12 * scale) * (1e-12 * scale) * self.n as f64 {
                return Err(InsightError::Constant { item: name.clone() });
            }
        }
        let p = k - 1;
        let r = |a: usize, b: usize| {
            if a == b {
                1.0
            } else {
                (self.comoment[a * k + b] / (sd[a] * sd[b])).clamp(-1.0, 1.0)
            }
        };
        let rxx = (0..p).map(|a| (0..p).map(|b| r(a, b)).collect()).collect();
        let rxy = (0..p).map(|a| r(a, p)).collect();
        Ok((rxx, rxy))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::drivers::{
        DriverOptions, Method, Predictor, importance_from_correlations, key_drivers,
    };

    fn rows() -> Vec<[Option<f64>; 3]> {
        (0..200u32)
            .map(|i| {
                let a = f64::from(i * 7 % 5 + 1);
                let b = f64::from(i * 3 % 4 + 1);
                let y = a + 0.5 * b + f64::from(i % 3);
                let a = (i % 17 != 0).then_some(a);
                [a, Some(b), Some(y)]
            })
            .collect()
    }

    #[test]
    fn merged_moments_give_the_drivers_of_the_rows() {
        let names: Vec<String> = ["easy", "quick", "trust"].map(String::from).to_vec();
        let rows = rows();
        // Two rollups (e.g. two services), merged; and one over everything.
        let mut first = Moments::new(3);
        let mut second = Moments::new(3);
        let mut all = Moments::new(3);
        for (i, r) in rows.iter().enumerate() {
            if i % 3 == 0 { &mut first } else { &mut second }
                .add(r)
                .unwrap();
            all.add(r).unwrap();
        }
        first.merge(&second).unwrap();
        assert_eq!(first.n, all.n);
        assert_eq!(first.incomplete, 12);
        let (rxx, rxy) = first.correlations(&names).unwrap();
        let (rxx_all, rxy_all) = all.correlations(&names).unwrap();
        assert!((rxx[0][1] - rxx_all[0][1]).abs() < 1e-12 && (rxy[0] - rxy_all[0]).abs() < 1e-12);
        // The same importances as key drivers on the rows.
        let imp = importance_from_correlations(&names[..2], &rxx, &rxy, Method::Lmg).unwrap();
        let col = |j: usize| rows.iter().map(|r| r[j]).collect::<Vec<_>>();
        let preds = [
            Predictor {
                name: "easy".into(),
                values: col(0),
            },
            Predictor {
                name: "quick".into(),
                values: col(1),
            },
        ];
        let d = key_drivers(
            "trust",
            &col(2),
            &preds,
            DriverOptions {
                resamples: 0,
                ..DriverOptions::default()
            },
        )
        .unwrap();
        for (a, b) in imp.iter().zip(&d.drivers) {
            assert!((a - b.importance).abs() < 1e-12);
        }
        let mean_easy = d.drivers[0].performance;
        assert!((first.mean[0] - mean_easy).abs() < 1e-12);
    }

    #[test]
    fn moments_keep_their_digits_far_from_zero() {
        // Values around 10^8 with a spread of about 1: raw sums of squares would lose every digit of the spread.
        let mut m = Moments::new(2);
        let mut parts = [Moments::new(2), Moments::new(2), Moments::new(2)];
        for i in 0..30_000u32 {
            let a = 1e8 + f64::from(i % 7);
            let b = 1e8 + f64::from(i % 7) + f64::from(i % 5);
            m.add(&[Some(a), Some(b)]).unwrap();
            parts[(i % 3) as usize].add(&[Some(a), Some(b)]).unwrap();
        }
        let [mut p0, p1, p2] = parts;
        p0.merge(&p1).unwrap();
        p0.merge(&p2).unwrap();
        // The same correlation from the values without their offset, where nothing is lost.
        let mut small = Moments::new(2);
        for i in 0..30_000u32 {
            let a = f64::from(i % 7);
            small.add(&[Some(a), Some(a + f64::from(i % 5))]).unwrap();
        }
        let names = ["a".to_string(), "b".to_string()];
        let expected = small.correlations(&names).unwrap().1[0];
        assert!((expected - 2.0 / 6.0f64.sqrt()).abs() < 1e-3);
        for mm in [&m, &p0] {
            let (_, rxy) = mm.correlations(&names).unwrap();
            assert!((rxy[0] - expected).abs() < 1e-9, "{} {expected}", rxy[0]);
        }
    }

    #[test]
    fn moments_refuse_bad_rows_and_constants() {
        let mut m = Moments::new(2);
        assert!(m.add(&[Some(1.0)]).is_err());
        assert!(m.add(&[Some(f64::INFINITY), Some(1.0)]).is_err());
        m.add(&[Some(1.0), Some(2.0)]).unwrap();
        m.add(&[Some(1.0), Some(3.0)]).unwrap();
        let names = ["x".to_string(), "y".to_string()];
        assert_eq!(
            m.correlations(&names).unwrap_err(),
            InsightError::Constant { item: "x".into() }
        );
        assert!(m.merge(&Moments::new(3)).is_err());
        // JSON round trip, as a rollup would store it.
        let back: Moments = serde_json::from_str(&serde_json::to_string(&m).unwrap()).unwrap();
        assert_eq!(back, m);
    }
}
