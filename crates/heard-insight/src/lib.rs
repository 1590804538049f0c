//! Heard's numbers: the statistics the dashboards show, as pure functions over counts and columns. No I/O, no SQL,
//! no HTTP; callers pass counts (from rollups) or per-respondent columns and get back figures ready for a page or a
//! chart.
//!
//! - [`proportion`]: % positive with a 95% Wilson interval (finite-population correction when the population is
//!   known), the "too few to report" rule, and the change from the previous period.
//! - [`cases`]: case figures: time to first response and to resolution, share resolved, trust by case closed.
//! - [`hypothesis`]: the pooled two-proportion z test and Fisher's exact test, two-sided.
//! - [`multiple`]: Benjamini-Hochberg q-values.
//! - [`suppress`]: small-cell suppression (CMS's k = 11) with complementary suppression for one-way tables.
//! - [`drivers`]: key drivers: exact Shapley (LMG) decomposition of R² up to 15 predictors, Johnson's relative
//!   weights above, bootstrap percentile intervals, and the impact × performance quadrant.
//! - [`moments`]: mergeable means and co-moments, so a rollup can keep what key drivers need without the rows.
//! - [`segments`]: every segment against everyone else, BH-corrected, suppressed; and the likely causes of a gap.
//! - [`journeys`]: process mining over an event log: traces, variants, the directly-follows graph, journey
//!   funnels with time between stages, where journeys start, channel switching, rework and repeat contacts.
//!
//! Shares and differences are proportions in [0, 1] (multiply by 100 for a percentage) unless a field says otherwise.
//! Every figure is checked against an independent implementation (Python: statsmodels, scipy, numpy) in
//! `tests/reference.rs`, whose fixture `tests/fixtures/reference.json` is made by `tests/fixtures/make_reference.py`.
//!
//! This crate re-implements the Wilson interval of `heard_domain::stats` (same formula, checked equal in the tests)
//! rather than depend on heard-domain, so that statistics can move here without a dependency cycle.

#![deny(missing_docs)]

pub mod cases;
pub mod drivers;
pub mod hypothesis;
pub mod journeys;
pub mod moments;
pub mod multiple;
pub mod proportion;
mod rng;
pub mod segments;
pub mod suppress;

pub use drivers::{KeyDrivers, Method, Predictor, key_drivers};
pub use hypothesis::{ZTest, fisher_exact, two_proportion_z};
pub use moments::Moments;
pub use multiple::benjamini_hochberg;
pub use proportion::{
    Change, Count, Interval, PercentPositive, Reportable, SmallCountRule, change_from_previous,
    percent_positive, wilson_interval,
};
pub use segments::{
    Characteristic, Feature, FeatureCounts, LikelyCause, SegmentGap, likely_causes,
    likely_causes_from_counts, segment_gaps,
};
pub use suppress::{Across, OneWay, Suppressed, suppress_across, suppress_one_way};

/// Everything that can be wrong with the input of a figure. Each variant names the item and the reason, so a caller
/// can show it as is.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum InsightError {
    /// More successes than trials (e.g. more positive answers than answers).
    #[error("{item}: {successes} positive out of {n}: cannot be more than the total")]
    SuccessesAboveTotal {
        /// What was counted (e.g. "language = Spanish").
        item: String,
        /// The successes given.
        successes: u64,
        /// The trials given.
        n: u64,
    },
    /// A proportion of nothing.
    #[error("{item}: no observations")]
    Empty {
        /// What was empty.
        item: String,
    },
    /// The population (customers served) is smaller than the sample drawn from it.
    #[error("population {population} is smaller than the {n} responses drawn from it")]
    PopulationBelowSample {
        /// The population given.
        population: u64,
        /// The sample size given.
        n: u64,
    },
    /// A probability outside [0, 1] or not a number.
    #[error("p-value {index}: {value} is not a probability between 0 and 1")]
    NotAProbability {
        /// Its position in the input (from 0).
        index: usize,
        /// The value given.
        value: f64,
    },
    /// A parameter out of its range.
    #[error("{parameter}: {reason}")]
    BadParameter {
        /// The parameter's name.
        parameter: &'static str,
        /// Why it is refused and what is allowed.
        reason: String,
    },
    /// Columns of different lengths.
    #[error("{item} has {found} values; expected {expected} (one per respondent)")]
    LengthMismatch {
        /// The column's name.
        item: String,
        /// The length of the first column (the outcome or the segment membership).
        expected: usize,
        /// This column's length.
        found: usize,
    },
    /// A value that is not finite (infinite or NaN; a missing value is `None`, not NaN).
    #[error("{item}, row {row}: {value} is not a finite number")]
    NotFinite {
        /// The column's name.
        item: String,
        /// The row (from 0).
        row: usize,
        /// The value given.
        value: f64,
    },
    /// Too few complete rows for the model: a regression on p predictors needs at least p + 2.
    #[error("{n} complete rows for {predictors} predictors: at least {needed} are needed")]
    TooFewRows {
        /// Complete rows (no value missing).
        n: usize,
        /// Predictors in the model.
        predictors: usize,
        /// predictors + 2.
        needed: usize,
    },
    /// A column with one value only among the complete rows: it cannot explain anything.
    #[error("{item} has the same value in every complete row")]
    Constant {
        /// The column's name.
        item: String,
    },
    /// A predictor that is (almost) a linear combination of others.
    #[error("{predictor} is (almost) a linear combination of {}: drop one of them", with.join(", "))]
    Collinear {
        /// The predictor found to be redundant.
        predictor: String,
        /// The predictors it is a combination of.
        with: Vec<String>,
    },
    /// The same name twice where names must be unique.
    #[error("{item}: {name} appears twice")]
    Duplicate {
        /// Where (e.g. "features", or a characteristic's name for its values).
        item: String,
        /// The repeated name.
        name: String,
    },
}
