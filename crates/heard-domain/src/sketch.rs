//! A mergeable quantile sketch for event measures (waits in seconds, counts), kept per local day in the event
//! rollups (heard-store's `event_measure_days`), so the events page finds each week's median and 90th percentile
//! without reading every event.
//!
//! **Method.** The logarithmic bucketing of DDSketch (Masson, Rim and Lee, "DDSketch: a fast and fully-mergeable
//! quantile sketch with relative-error guarantees", PVLDB 12(12), 2019, section 2): with `gamma = (1 + a) / (1 - a)`,
//! a value `x > 0` falls in bucket `i = ceil(ln x / ln gamma)`, which holds `(gamma^(i-1), gamma^i]`, and the bucket
//! answers `2 gamma^i / (gamma + 1)`, within a relative error `a` of every value in it. Zeros have their own bucket
//! (answered exactly). Buckets are never collapsed, so the guarantee holds for every count: measures are bounded
//! (`0 <= x < 1e12`, `event::parse`), which keeps a sketch under about 3,000 buckets, and a day's waits use a few
//! hundred.
//!
//! **Exact while small.** A sketch keeps its values themselves while it holds at most [`EXACT_VALUES`] of them (a
//! small office's week), and its quantiles are then exact; past that it keeps buckets only.
//!
//! **Quantiles.** [`Sketch::quantile`] uses the definition of the exact figures Heard showed before (Hyndman and
//! Fan's type 7, PostgreSQL's `percentile_cont`): the value at 0-based rank `h = (n - 1) p`, interpolated between
//! ranks `floor(h)` and `floor(h) + 1`, each taken as its bucket's answer. Both ranks' answers are within `a` of the
//! exact values and measures are never negative, so the interpolated answer is within `a` of the exact one:
//! [`RELATIVE_ERROR`] is 1%.

use std::collections::BTreeMap;

/// The relative error of a quantile from a [`Sketch`] (`a` above): 1%.
pub const RELATIVE_ERROR: f64 = 0.01;

fn gamma() -> f64 {
    (1.0 + RELATIVE_ERROR) / (1.0 - RELATIVE_ERROR)
}

/// How many values a sketch keeps exactly before it turns to buckets.
pub const EXACT_VALUES: usize = 64;

/// Counts of values per logarithmic bucket, or the values themselves while few (see the module).
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Sketch {
    /// The values in ascending order, while the sketch is exact (then `zeros` and `buckets` are empty).
    pub values: Vec<f64>,
    /// Values that were 0 (or less, which measures never are).
    pub zeros: u64,
    /// Bucket index to count.
    pub buckets: BTreeMap<i32, u64>,
}

/// A stored sketch that does not read back.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a stored quantile sketch is malformed: {0}")]
pub struct BadSketch(pub String);

impl Sketch {
    /// The bucket of a positive value.
    fn index(x: f64) -> i32 {
        (x.ln() / gamma().ln()).ceil() as i32
    }

    /// The value a bucket answers: `2 gamma^i / (gamma + 1)`.
    fn value(i: i32) -> f64 {
        let g = gamma();
        2.0 * g.powi(i) / (g + 1.0)
    }

    /// Whether the sketch holds its values themselves (its quantiles are exact).
    pub fn is_exact(&self) -> bool {
        self.zeros == 0 && self.buckets.is_empty()
    }

    fn bucket(&mut self, x: f64) {
        if x > 0.0 && x.is_finite() {
            *self.buckets.entry(Self::index(x)).or_default() += 1;
        } else {
            self.zeros += 1;
        }
    }

    /// Turns kept values into buckets.
    fn spill_to_buckets(&mut self) {
        for x in std::mem::take(&mut self.values) {
            self.bucket(x);
        }
    }

    /// Adds one value.
    pub fn add(&mut self, x: f64) {
        if self.is_exact() && self.values.len() < EXACT_VALUES {
            let at = self.values.partition_point(|v| v.total_cmp(&x).is_le());
            self.values.insert(at, x);
        } else {
            self.spill_to_buckets();
            self.bucket(x);
        }
    }

    /// Adds another sketch's values (the sketches of two days give the sketch of both).
    pub fn merge(&mut self, o: &Sketch) {
        if self.is_exact() && o.is_exact() && self.values.len() + o.values.len() <= EXACT_VALUES {
            self.values.extend_from_slice(&o.values);
            self.values.sort_by(|x, y| x.total_cmp(y));
            return;
        }
        self.spill_to_buckets();
        for x in &o.values {
            self.bucket(*x);
        }
        self.zeros += o.zeros;
        for (i, n) in &o.buckets {
            *self.buckets.entry(*i).or_default() += n;
        }
    }

    /// How many values it holds.
    pub fn count(&self) -> u64 {
        self.values.len() as u64 + self.zeros + self.buckets.values().sum::<u64>()
    }

    /// The answer for the value at 0-based rank `r` (`r < count`).
    fn at_rank(&self, r: u64) -> f64 {
        if r < self.zeros {
            return 0.0;
        }
        let mut seen = self.zeros;
        for (i, n) in &self.buckets {
            seen += n;
            if r < seen {
                return Self::value(*i);
            }
        }
        self.buckets
            .keys()
            .next_back()
            .map_or(0.0, |i| Self::value(*i))
    }

    /// The quantile `tenths / 10` (5 the median, 9 the 90th percentile), interpolated as described in the module;
    /// `None` when the sketch is empty. Within [`RELATIVE_ERROR`] of the exact percentile of the values added.
    pub fn quantile(&self, tenths: u64) -> Option<f64> {
        let n = self.count();
        if n == 0 {
            return None;
        }
        let lo = tenths * (n - 1) / 10;
        let frac = ((tenths * (n - 1)) % 10) as f64 / 10.0;
        let (a, b) = if self.is_exact() {
            let v = &self.values;
            (v[lo as usize], v.get(lo as usize + 1).copied())
        } else {
            (self.at_rank(lo), (lo + 1 < n).then(|| self.at_rank(lo + 1)))
        };
        match b {
            Some(b) if frac > 0.0 => Some(a + frac * (b - a)),
            _ => Some(a),
        }
    }

    /// The stored form, comma-separated: the kept values as `vVALUE` (`v60,v93.5`) while exact; else `z:ZEROS`
    /// (when any) and `INDEX:COUNT` for each bucket, ascending (`z:2,276:14,277:9`). Text, so any SQL tool can read
    /// it.
    pub fn encode(&self) -> String {
        if self.is_exact() {
            return self
                .values
                .iter()
                .map(|x| format!("v{x}"))
                .collect::<Vec<_>>()
                .join(",");
        }
        let mut s = String::with_capacity(8 * (self.buckets.len() + 1));
        if self.zeros > 0 {
            s.push_str(&format!("z:{}", self.zeros));
        }
        for (i, n) in &self.buckets {
            if !s.is_empty() {
                s.push(',');
            }
            s.push_str(&format!("{i}:{n}"));
        }
        s
    }

    /// Reads [`Sketch::encode`]'s form back.
    pub fn decode(s: &str) -> Result<Sketch, BadSketch> {
        let mut out = Sketch::default();
        for part in s.split(',').filter(|p| !p.is_empty()) {
            if let Some(x) = part.strip_prefix('v') {
                out.values.push(
                    x.parse()
                        .map_err(|_| BadSketch(format!("`{x}` is not a value")))?,
                );
                continue;
            }
            let (k, v) = part
                .split_once(':')
                .ok_or_else(|| BadSketch(format!("`{part}` has no `:`")))?;
            let n: u64 = v
                .parse()
                .map_err(|_| BadSketch(format!("`{v}` is not a count")))?;
            if k == "z" {
                out.zeros += n;
            } else {
                let i: i32 = k
                    .parse()
                    .map_err(|_| BadSketch(format!("`{k}` is not a bucket")))?;
                *out.buckets.entry(i).or_default() += n;
            }
        }
        if !out.values.is_empty() && !out.is_exact() {
            return Err(BadSketch("values and buckets together".to_string()));
        }
        out.values.sort_by(|x, y| x.total_cmp(y));
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Type 7, exactly.
    fn exact(sorted: &[f64], tenths: usize) -> f64 {
        let n = sorted.len();
        let lo = tenths * (n - 1) / 10;
        let frac = ((tenths * (n - 1)) % 10) as f64 / 10.0;
        let a = sorted[lo];
        if lo + 1 >= n {
            a
        } else {
            a + frac * (sorted[lo + 1] - a)
        }
    }

    #[test]
    fn quantiles_are_within_the_relative_error() {
        // Log-normal-ish waits, whole seconds and fractions, and zeros, in many sizes.
        let mut z = 0x2545_f491_4f6c_dd1du64;
        let mut next = || {
            z ^= z << 13;
            z ^= z >> 7;
            z ^= z << 17;
            (z >> 11) as f64 / (1u64 << 53) as f64
        };
        for n in [1usize, 2, 3, 10, 11, 101, 1000, 5000] {
            let mut values: Vec<f64> = (0..n)
                .map(|i| {
                    let u = next();
                    if i % 17 == 0 {
                        0.0
                    } else if i % 2 == 0 {
                        (240.0 * (3.0 * (u - 0.5)).exp()).round()
                    } else {
                        0.01 + 5000.0 * u * u
                    }
                })
                .collect();
            let mut s = Sketch::default();
            for v in &values {
                s.add(*v);
            }
            let back = Sketch::decode(&s.encode()).unwrap();
            assert_eq!(back, s);
            assert_eq!(s.is_exact(), n <= EXACT_VALUES);
            values.sort_by(|a, b| a.total_cmp(b));
            for tenths in [5, 9] {
                let e = exact(&values, tenths as usize);
                let a = s.quantile(tenths).unwrap();
                assert!(
                    (a - e).abs() <= RELATIVE_ERROR * e + 1e-9,
                    "n={n} p={tenths}/10: {a} vs exact {e}"
                );
                if n <= EXACT_VALUES {
                    assert_eq!(a, e, "exact while small");
                }
            }
        }
        assert_eq!(Sketch::default().quantile(5), None);
    }

    #[test]
    fn merging_is_adding() {
        let (mut a, mut b, mut both) = (Sketch::default(), Sketch::default(), Sketch::default());
        for x in [0.0, 1.0, 93.5, 240.0, 240.0] {
            a.add(x);
            both.add(x);
        }
        for x in [7.0, 240.0, 1e11] {
            b.add(x);
            both.add(x);
        }
        a.merge(&b);
        assert_eq!(a, both);
        assert_eq!(a.count(), 8);
        // Past the exact limit both sides turn to buckets, in either order of merging.
        let big = |from: usize| {
            let mut s = Sketch::default();
            for i in from..from + 50 {
                s.add(i as f64);
            }
            s
        };
        let (mut x, y) = (big(0), big(50));
        x.merge(&y);
        let mut z = Sketch::default();
        for i in 0..100 {
            z.add(i as f64);
        }
        assert!(!x.is_exact());
        assert_eq!(x, z);
        assert_eq!(Sketch::decode(&x.encode()).unwrap(), x);
        assert!(Sketch::decode("5:x").is_err());
        assert!(Sketch::decode("5").is_err());
        assert_eq!(Sketch::decode("").unwrap(), Sketch::default());
    }
}
