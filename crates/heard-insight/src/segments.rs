//! Barriers by customer characteristics, and why: every segment (a characteristic = value, e.g. language = Spanish)
//! against everyone else, tested and corrected for the number of segments tested, with small cells suppressed; and
//! for a segment with a gap, the features (themes mentioned, driver indicators answered low, operational measures
//! such as a long wait, a transfer or being asked again) over-represented in it.

use serde::Serialize;

use crate::InsightError;
use crate::hypothesis::{ZTest, fisher_exact, two_proportion_z};
use crate::multiple::benjamini_hochberg;
use crate::proportion::Count;
use crate::suppress::{Suppressed, suppress_one_way};

/// One value of a characteristic and its count of positive answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentCell {
    /// The value (e.g. "Spanish"), unique within its characteristic.
    pub value: String,
    /// Positive answers and all answers of the respondents with this value.
    pub count: Count,
}

/// A customer characteristic (language, channel, age band, any demographic question) and its cells. The cells
/// should partition the respondents with a score (put "not stated" in a cell of its own): the total shown, and
/// "everyone else" for each segment, are their sums.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Characteristic {
    /// The characteristic's name (e.g. "language"), unique in a call.
    pub name: String,
    /// Its cells, in the order the page shows them.
    pub cells: Vec<SegmentCell>,
}

/// Options for [`segment_gaps`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct GapOptions {
    /// Cells of 1 to k - 1 respondents are suppressed (CMS: 11). See [`crate::suppress`].
    pub k: u64,
    /// A gap is significant when its Benjamini-Hochberg q-value is at most alpha. Default 0.05.
    pub alpha: f64,
}

impl Default for GapOptions {
    fn default() -> Self {
        GapOptions { k: 11, alpha: 0.05 }
    }
}

/// One segment against everyone else with the same characteristic.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SegmentGap {
    /// The characteristic's name.
    pub characteristic: String,
    /// The segment's value.
    pub value: String,
    /// Why the segment is hidden; when `Some`, every figure below is `None`.
    pub suppressed: Option<Suppressed>,
    /// Positive answers and all answers in the segment.
    pub count: Option<Count>,
    /// % positive of the segment, in [0, 1].
    pub share: Option<f64>,
    /// Everyone else: the other cells of the characteristic together.
    pub rest: Option<Count>,
    /// % positive of everyone else, in [0, 1].
    pub rest_share: Option<f64>,
    /// share - rest_share, in proportion points (negative: the segment is worse off).
    pub difference: Option<f64>,
    /// The pooled two-proportion z test of the segment against everyone else (None when hidden or nobody else).
    pub test: Option<ZTest>,
    /// Benjamini-Hochberg q-value across every segment tested in the call (all characteristics together).
    pub q_value: Option<f64>,
    /// q_value ≤ alpha.
    pub significant: bool,
}

/// The segments of one characteristic.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CharacteristicGaps {
    /// The characteristic's name.
    pub name: String,
    /// The total over all cells; `None` when the whole table is too small to show.
    pub total: Option<Count>,
    /// In the order of the input cells.
    pub segments: Vec<SegmentGap>,
}

/// Every segment of every characteristic against everyone else with that characteristic.
///
/// Each characteristic's cells are suppressed as [`crate::suppress::suppress_one_way`] says (k from `options`);
/// every shown segment whose rest is not empty is tested with the pooled two-proportion z test, and the p-values of
/// all the segments tested in this call, across characteristics, get Benjamini-Hochberg q-values (the family is
/// what the page shows together). Suppressed segments are neither shown nor tested. Because complementary
/// suppression keeps the hidden cells together at k or more, a shown segment's "everyone else" is 0 or at least k.
///
/// Errors: a cell with more positive than answers, a value twice in one characteristic, a characteristic twice,
/// k of 0, alpha outside (0, 1).
pub fn segment_gaps(
    characteristics: &[Characteristic],
    options: GapOptions,
) -> Result<Vec<CharacteristicGaps>, InsightError> {
    segment_gaps_masked(characteristics, options, None)
}

/// [`segment_gaps`] with each characteristic's suppression given (`masks[i]` for `characteristics[i]`, one cell
/// per input cell), e.g. from [`crate::suppress::suppress_across`] so the organization's and its services' tables
/// are suppressed consistently. `None`: [`crate::suppress::suppress_one_way`] per characteristic.
///
/// Errors: those of [`segment_gaps`], and a mask of another length than its characteristic's cells.
pub fn segment_gaps_masked(
    characteristics: &[Characteristic],
    options: GapOptions,
    masks: Option<&[crate::suppress::OneWay]>,
) -> Result<Vec<CharacteristicGaps>, InsightError> {
    check_alpha(options.alpha)?;
    let mut out = Vec::with_capacity(characteristics.len());
    let mut tested: Vec<(usize, usize, f64)> = Vec::new();
    for (ci, ch) in characteristics.iter().enumerate() {
        if characteristics[..ci].iter().any(|c| c.name == ch.name) {
            return Err(InsightError::Duplicate {
                item: "characteristics".into(),
                name: ch.name.clone(),
            });
        }
        for (i, cell) in ch.cells.iter().enumerate() {
            Count::new(
                &format!("{} = {}", ch.name, cell.value),
                cell.count.positive,
                cell.count.n,
            )?;
            if ch.cells[..i].iter().any(|c| c.value == cell.value) {
                return Err(InsightError::Duplicate {
                    item: ch.name.clone(),
                    name: cell.value.clone(),
                });
            }
        }
        let counts: Vec<u64> = ch.cells.iter().map(|c| c.count.n).collect();
        let suppression = match masks.and_then(|m| m.get(ci)) {
            Some(m) if m.cells.len() == counts.len() => m.clone(),
            Some(_) => {
                return Err(InsightError::BadParameter {
                    parameter: "masks",
                    reason: format!("{}: one suppression per cell", ch.name),
                });
            }
            None => suppress_one_way(&counts, options.k)?,
        };
        let total = Count {
            positive: ch.cells.iter().map(|c| c.count.positive).sum(),
            n: counts.iter().sum(),
        };
        let mut segments = Vec::with_capacity(ch.cells.len());
        for (i, cell) in ch.cells.iter().enumerate() {
            let hidden = suppression.cells[i];
            let mut gap = SegmentGap {
                characteristic: ch.name.clone(),
                value: cell.value.clone(),
                suppressed: hidden,
                count: None,
                share: None,
                rest: None,
                rest_share: None,
                difference: None,
                test: None,
                q_value: None,
                significant: false,
            };
            if hidden.is_none() {
                let rest = Count {
                    positive: total.positive - cell.count.positive,
                    n: total.n - cell.count.n,
                };
                gap.count = Some(cell.count);
                gap.share = cell.count.share();
                gap.rest = Some(rest);
                gap.rest_share = rest.share();
                if cell.count.n > 0 && rest.n > 0 {
                    let test = two_proportion_z(cell.count, rest)?;
                    gap.difference = Some(test.difference);
                    gap.test = Some(test);
                    tested.push((ci, i, test.p_value));
                }
            }
            segments.push(gap);
        }
        out.push(CharacteristicGaps {
            name: ch.name.clone(),
            total: suppression.total_shown.then_some(total),
            segments,
        });
    }
    let p: Vec<f64> = tested.iter().map(|t| t.2).collect();
    let q = benjamini_hochberg(&p)?;
    for ((ci, i, _), q) in tested.into_iter().zip(q) {
        let gap = &mut out[ci].segments[i];
        gap.q_value = Some(q);
        gap.significant = q <= options.alpha;
    }
    Ok(out)
}

fn check_alpha(alpha: f64) -> Result<(), InsightError> {
    if alpha > 0.0 && alpha < 1.0 {
        Ok(())
    } else {
        Err(InsightError::BadParameter {
            parameter: "alpha",
            reason: format!("{alpha} must be between 0 and 1"),
        })
    }
}

/// A per-respondent yes/no feature: a theme mentioned, a driver indicator answered low, an operational measure over
/// a threshold. `None` where it is not known for that respondent (left out of that feature's test).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Feature {
    /// The feature's name (e.g. "theme: wait times", "wait ≥ 20 min"), unique in a call.
    pub name: String,
    /// One value per respondent, in the order of `in_segment`.
    pub values: Vec<Option<bool>>,
}

impl Feature {
    /// A feature that holds where a measure is at least `threshold` (a wait of at least 20 minutes, 2 or more
    /// transfers, asked again at least once); `None` where the measure is missing or not a number.
    pub fn at_least(name: &str, values: &[Option<f64>], threshold: f64) -> Feature {
        Feature {
            name: name.to_string(),
            values: values
                .iter()
                .map(|v| v.filter(|x| !x.is_nan()).map(|x| x >= threshold))
                .collect(),
        }
    }

    /// A feature that holds where a measure is at most `threshold` (a driver indicator answered 1 or 2).
    pub fn at_most(name: &str, values: &[Option<f64>], threshold: f64) -> Feature {
        Feature {
            name: name.to_string(),
            values: values
                .iter()
                .map(|v| v.filter(|x| !x.is_nan()).map(|x| x <= threshold))
                .collect(),
        }
    }
}

/// Which test gave a cause's p-value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CauseTest {
    /// Fisher's exact test, used when an expected count of the 2×2 table is below `min_expected`.
    FisherExact,
    /// The pooled two-proportion z test.
    TwoProportionZ,
}

/// Options for [`likely_causes`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct CauseOptions {
    /// Significance level for the Benjamini-Hochberg q-values. Default 0.05.
    pub alpha: f64,
    /// Fisher's exact test when any expected count is below this (Cochran 1954, Biometrics 10:417-451). Default 5.
    pub min_expected: f64,
    /// Counts of 1 to k - 1 are flagged for the page not to print (CMS: 11).
    pub k: u64,
}

impl Default for CauseOptions {
    fn default() -> Self {
        CauseOptions {
            alpha: 0.05,
            min_expected: 5.0,
            k: 11,
        }
    }
}

/// One feature's over-representation in the segment.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LikelyCause {
    /// The feature's name.
    pub feature: String,
    /// In the segment: `positive` = respondents with the feature, `n` = respondents with the feature known.
    pub segment: Count,
    /// Everyone else, likewise.
    pub rest: Count,
    /// segment.positive / segment.n, in [0, 1].
    pub segment_rate: f64,
    /// rest.positive / rest.n, in [0, 1].
    pub rest_rate: f64,
    /// segment_rate / rest_rate (the rate ratio); `None` when nobody else has the feature.
    pub lift: Option<f64>,
    /// Respondents in the segment with the feature beyond what the rest's rate predicts:
    /// segment.positive - segment.n × rest_rate. A measure of how many people the cause touches.
    pub excess: f64,
    /// Which test gave `p_value`.
    pub test: CauseTest,
    /// Two-sided p-value of the test.
    pub p_value: f64,
    /// Benjamini-Hochberg q-value across the features tested in this call.
    pub q_value: f64,
    /// q_value ≤ alpha.
    pub significant: bool,
    /// segment_rate > rest_rate.
    pub over_represented: bool,
    /// A count of 1 to k - 1 in the segment (with or without the feature): print the rates, not the counts.
    pub small_count: bool,
}

/// The likely causes of a segment's gap, most telling first.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Causes {
    /// Significant and over-represented first, then the rest; each group by q-value, then by lift (largest first).
    pub causes: Vec<LikelyCause>,
    /// Features not tested: unknown for everyone in the segment or everyone else.
    pub untested: Vec<String>,
}

/// Each feature's over-representation among respondents with `in_segment` true against the rest: rates, lift
/// (rate ratio), excess, a two-sided test (Fisher's exact when an expected count is below `min_expected`, else the
/// pooled two-proportion z test), Benjamini-Hochberg q-values across the features tested, ranked.
///
/// These are associations, not proven causes: a feature over-represented in a segment with a gap is where to look.
///
/// Errors: a feature whose length differs from `in_segment`'s, a feature name twice, nobody in the segment or
/// nobody outside it, alpha outside (0, 1).
pub fn likely_causes(
    in_segment: &[bool],
    features: &[Feature],
    options: CauseOptions,
) -> Result<Causes, InsightError> {
    check_alpha(options.alpha)?;
    if !in_segment.iter().any(|&s| s) || in_segment.iter().all(|&s| s) {
        return Err(InsightError::BadParameter {
            parameter: "in_segment",
            reason: "both the segment and everyone else need at least one respondent".into(),
        });
    }
    let mut counts = Vec::with_capacity(features.len());
    for (fi, f) in features.iter().enumerate() {
        if f.values.len() != in_segment.len() {
            return Err(InsightError::LengthMismatch {
                item: f.name.clone(),
                expected: in_segment.len(),
                found: f.values.len(),
            });
        }
        if features[..fi].iter().any(|g| g.name == f.name) {
            return Err(InsightError::Duplicate {
                item: "features".into(),
                name: f.name.clone(),
            });
        }
        let (mut seg, mut rest) = (Count { positive: 0, n: 0 }, Count { positive: 0, n: 0 });
        for (&s, v) in in_segment.iter().zip(&f.values) {
            if let Some(v) = *v {
                let c = if s { &mut seg } else { &mut rest };
                c.n += 1;
                c.positive += u64::from(v);
            }
        }
        counts.push(FeatureCounts {
            name: f.name.clone(),
            segment: seg,
            rest,
        });
    }
    likely_causes_from_counts(&counts, options)
}

/// One feature's counts for [`likely_causes_from_counts`]: in the segment and among everyone else,
/// `positive` = respondents with the feature and `n` = respondents for whom it is known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeatureCounts {
    /// The feature's name, unique in a call.
    pub name: String,
    /// In the segment.
    pub segment: Count,
    /// Everyone else.
    pub rest: Count,
}

/// [`likely_causes`] from counts a caller kept while streaming rows (so millions of respondents need no columns in
/// memory): the same tests, lift, excess, q-values and order.
///
/// Errors: a count with more positive than known, a feature name twice, alpha outside (0, 1).
pub fn likely_causes_from_counts(
    features: &[FeatureCounts],
    options: CauseOptions,
) -> Result<Causes, InsightError> {
    check_alpha(options.alpha)?;
    let mut untested = Vec::new();
    let mut causes = Vec::new();
    for (fi, f) in features.iter().enumerate() {
        if features[..fi].iter().any(|g| g.name == f.name) {
            return Err(InsightError::Duplicate {
                item: "features".into(),
                name: f.name.clone(),
            });
        }
        let seg = Count::new(&f.name, f.segment.positive, f.segment.n)?;
        let rest = Count::new(&f.name, f.rest.positive, f.rest.n)?;
        if seg.n == 0 || rest.n == 0 {
            untested.push(f.name.clone());
            continue;
        }
        let segment_rate = seg.positive as f64 / seg.n as f64;
        let rest_rate = rest.positive as f64 / rest.n as f64;
        let (a, b, c, d) = (
            seg.positive,
            seg.n - seg.positive,
            rest.positive,
            rest.n - rest.positive,
        );
        let total = (seg.n + rest.n) as f64;
        let with = (a + c) as f64;
        let min_expected = [
            seg.n as f64 * with,
            seg.n as f64 * (total - with),
            rest.n as f64 * with,
            rest.n as f64 * (total - with),
        ]
        .into_iter()
        .fold(f64::INFINITY, f64::min)
            / total;
        let (test, p_value) = if min_expected < options.min_expected {
            (CauseTest::FisherExact, fisher_exact(a, b, c, d))
        } else {
            (
                CauseTest::TwoProportionZ,
                two_proportion_z(seg, rest)?.p_value,
            )
        };
        let small = |x: u64| x > 0 && x < options.k;
        causes.push(LikelyCause {
            feature: f.name.clone(),
            segment: seg,
            rest,
            segment_rate,
            rest_rate,
            lift: (rest_rate > 0.0).then(|| segment_rate / rest_rate),
            excess: seg.positive as f64 - seg.n as f64 * rest_rate,
            test,
            p_value,
            q_value: 1.0,
            significant: false,
            over_represented: segment_rate > rest_rate,
            small_count: small(a) || small(b),
        });
    }
    let p: Vec<f64> = causes.iter().map(|c| c.p_value).collect();
    for (c, q) in causes.iter_mut().zip(benjamini_hochberg(&p)?) {
        c.q_value = q;
        c.significant = q <= options.alpha;
    }
    causes.sort_by(|x, y| {
        let first = |c: &LikelyCause| !(c.significant && c.over_represented);
        first(x)
            .cmp(&first(y))
            .then(x.q_value.total_cmp(&y.q_value))
            .then(
                y.lift
                    .unwrap_or(f64::INFINITY)
                    .total_cmp(&x.lift.unwrap_or(f64::INFINITY)),
            )
    });
    Ok(Causes { causes, untested })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cell(value: &str, positive: u64, n: u64) -> SegmentCell {
        SegmentCell {
            value: value.into(),
            count: Count { positive, n },
        }
    }

    #[test]
    fn gaps_suppress_test_and_correct() {
        let language = Characteristic {
            name: "language".into(),
            cells: vec![
                cell("English", 700, 1000),
                cell("Spanish", 120, 250),
                cell("Other", 3, 6),
            ],
        };
        let channel = Characteristic {
            name: "channel".into(),
            cells: vec![cell("web", 500, 700), cell("phone", 330, 560)],
        };
        let out = segment_gaps(&[language, channel], GapOptions::default()).unwrap();
        let lang = &out[0];
        assert_eq!(
            lang.total,
            Some(Count {
                positive: 823,
                n: 1256
            })
        );
        // "Other" (6) is small; the next smallest (Spanish, 250) is hidden with it.
        assert_eq!(lang.segments[2].suppressed, Some(Suppressed::SmallCell));
        assert_eq!(lang.segments[1].suppressed, Some(Suppressed::Complementary));
        assert!(lang.segments[1].share.is_none() && lang.segments[1].q_value.is_none());
        let english = &lang.segments[0];
        assert_eq!(
            english.rest,
            Some(Count {
                positive: 123,
                n: 256
            })
        );
        assert!(english.difference.unwrap() > 0.2 && english.significant);
        // Three segments tested (English, web, phone), so BH multiplies the smallest p by 3.
        let tested: Vec<f64> = out
            .iter()
            .flat_map(|c| &c.segments)
            .filter_map(|s| s.test.map(|t| t.p_value))
            .collect();
        assert_eq!(tested.len(), 3);
        let q = benjamini_hochberg(&tested).unwrap();
        assert_eq!(english.q_value, Some(q[0]));
    }

    #[test]
    fn gaps_refuse_bad_cells() {
        let bad = Characteristic {
            name: "age band".into(),
            cells: vec![cell("18-24", 30, 20)],
        };
        let err = segment_gaps(&[bad], GapOptions::default()).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("age band = 18-24: 30 positive out of 20"),
            "{err}"
        );
        let dup = Characteristic {
            name: "device".into(),
            cells: vec![cell("mobile", 1, 20), cell("mobile", 2, 20)],
        };
        assert!(matches!(
            segment_gaps(&[dup], GapOptions::default()),
            Err(InsightError::Duplicate { .. })
        ));
    }

    #[test]
    fn causes_rank_the_over_represented() {
        // 40 in the segment, 160 else. "long wait": 20 of 40 against 16 of 160 (lift 5). "transfer": same rate.
        let mut in_segment = vec![true; 40];
        in_segment.extend(vec![false; 160]);
        let long_wait: Vec<Option<f64>> = (0..200)
            .map(|i| {
                Some(if (i < 20) || (40..56).contains(&i) {
                    45.0
                } else {
                    5.0
                })
            })
            .collect();
        let transfer: Vec<Option<bool>> = (0..200).map(|i| Some(i % 4 == 0)).collect();
        let rare: Vec<Option<bool>> = (0..200).map(|i| Some(i == 1 || i == 2 || i == 3)).collect();
        let unknown: Vec<Option<bool>> = (0..200).map(|i| (i >= 40).then_some(true)).collect();
        let features = vec![
            Feature {
                name: "transferred".into(),
                values: transfer,
            },
            Feature::at_least("long wait", &long_wait, 30.0),
            Feature {
                name: "rare theme".into(),
                values: rare,
            },
            Feature {
                name: "unknown".into(),
                values: unknown,
            },
        ];
        let c = likely_causes(&in_segment, &features, CauseOptions::default()).unwrap();
        assert_eq!(c.untested, vec!["unknown".to_string()]);
        // The same from counts kept while streaming: (with, known) in the segment and outside it.
        let counts: Vec<FeatureCounts> = features
            .iter()
            .map(|f| {
                let mut seg = Count { positive: 0, n: 0 };
                let mut rest = Count { positive: 0, n: 0 };
                for (&s, v) in in_segment.iter().zip(&f.values) {
                    if let Some(v) = *v {
                        let c = if s { &mut seg } else { &mut rest };
                        c.n += 1;
                        c.positive += u64::from(v);
                    }
                }
                FeatureCounts {
                    name: f.name.clone(),
                    segment: seg,
                    rest,
                }
            })
            .collect();
        assert_eq!(
            likely_causes_from_counts(&counts, CauseOptions::default()).unwrap(),
            c
        );
        let bad = FeatureCounts {
            name: "x".into(),
            segment: Count { positive: 3, n: 2 },
            rest: Count { positive: 0, n: 5 },
        };
        assert!(likely_causes_from_counts(&[bad], CauseOptions::default()).is_err());
        let first = &c.causes[0];
        assert_eq!(first.feature, "long wait");
        assert_eq!(first.test, CauseTest::TwoProportionZ);
        assert!(
            (first.lift.unwrap() - 5.0).abs() < 1e-12
                && first.significant
                && first.over_represented
        );
        assert!((first.excess - 16.0).abs() < 1e-12);
        let rare = c.causes.iter().find(|c| c.feature == "rare theme").unwrap();
        assert_eq!(rare.test, CauseTest::FisherExact);
        assert_eq!(rare.lift, None);
        assert!(rare.small_count);
        let transfer = c
            .causes
            .iter()
            .find(|c| c.feature == "transferred")
            .unwrap();
        assert!(!transfer.significant);
        assert!(likely_causes(&[true, true], &features[..0], CauseOptions::default()).is_err());
    }
}
