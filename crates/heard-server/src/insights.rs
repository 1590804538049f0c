//! The analyses that read row-level data, computed by a job and kept as snapshots (issue 18, items 3 to 5): key
//! drivers of trust, barriers by customer characteristics and their likely causes, and trust beside operational
//! data. They join each response to its person's events, which costs too much for a page view at millions of rows,
//! so the job [`REFRESH_KIND`] (one per organization and fiscal quarter) computes all three from one streamed pass
//! over `Store::insight_rows` and stores them with `Store::put_insight_snapshot` (kinds [`DRIVERS`],
//! [`SEGMENTS`], [`OPERATIONS`], scope `""` for the organization and [`service_scope`] for each service,
//! period the quarter as `FY2026-Q1`); the pages read the newest.
//!
//! **Trust** is Heard's one definition (`TemplateKind::trust_template`): per service, A-11 version 2's trust
//! question when the service has a version 2 survey, else version 1's; a response of another survey has no trust
//! answer here (its other answers still count for the barriers' other scores).
//!
//! **Memory.** Nothing grows with the number of responses: per model, mergeable moments (`heard_insight::Moments`)
//! over every complete row and a uniform reservoir sample of at most [`RESERVOIR`] rows (Vitter's algorithm R,
//! seeded) for the bootstrap; per segment and feature, counts.
//!
//! **Key drivers** (outcome: trust answered positively, 1 or 0), three models, each labelled with its method:
//! the A-11 v1 driver indicators (1 to 5 agreement; the outcome there is the version 1 survey's own trust item,
//! the only trust answer given beside those indicators), the comment themes (mentioned or not, among responses with a
//! comment; the [`MAX_THEMES`] most mentioned with at least k mentions), and what happened to the person (long
//! call wait, long office wait, transferred, asked again, 3 or more contacts, a decision that took [`SLOW_DECISION_DAYS`]
//! days or more; among responses linked to a person). Importance is `heard_insight::drivers` (exact Shapley/LMG
//! up to 15 predictors, Johnson's relative weights above) from the correlation matrix of all complete rows; the 95%
//! intervals are its bootstrap over the reservoir, which is every row up to [`RESERVOIR`] rows (above, the
//! intervals are those of a sample that size, and wider than the full data's: the page says so). A-11 v2's "what
//! went well / badly" is asked only after a positive or a negative trust answer, so it cannot explain trust and is
//! used as a likely cause instead.
//!
//! **Segments**, on each score of [`SCORES`] (trust, the six v1 driver indicators, negative comments): language,
//! channel, touchpoint, and every customer characteristic a survey question asks (a
//! question's `characteristic`: age band, disability, location or another; "not stated" when skipped), each value against everyone else (`heard_insight::segment_gaps`:
//! two-proportion z, Benjamini-Hochberg across all segments, CMS k = 11 with complementary suppression); for each
//! significant gap, the features over-represented in the segment (`likely_causes_from_counts`): themes, driver
//! indicators answered 1 or 2, "what did not go well" answers, and the operational measures above.
//!
//! **Operations**: trust by the person's longest call wait, longest office wait, number of contacts, times asked
//! again and days to a decision (buckets, each suppressed below k with complementary suppression), the share of
//! people asked again for information per service (from events), and experience gaps per touchpoint: its trust
//! deficit against the organization's (percentage points) times its volume of events, ranked, so the first fix is
//! the one that helps the most people; and the same per journey stage ([`journey_stages`]: a response belongs to
//! the stage of its person's latest event of the journey before it, a stage's volume is the people who reached it).

use std::collections::{BTreeMap, HashMap};
use std::str::FromStr;

use futures_util::TryStreamExt;
use futures_util::future::BoxFuture;
use heard_domain::fiscal::FiscalQuarter;
use heard_domain::survey::{
    A11Role, CustomerCharacteristic, QuestionKind, SurveyDefinition, TemplateKind,
};
use heard_domain::{Channel, OrgId};
use heard_insight::Suppressed;
use heard_insight::drivers::{
    DriverOptions, KeyDrivers, Method, Performance, Predictor, impact_performance,
    importance_from_correlations, key_drivers,
};
use heard_insight::journeys::JourneyDefinition;
use heard_insight::proportion::{Count, SmallCountRule, wilson_interval};
use heard_insight::segments::{CauseOptions, FeatureCounts, GapOptions, SegmentCell};
use heard_insight::{Characteristic, Moments, likely_causes_from_counts};
use heard_store::Store;
use heard_store::event_log::{LogOrder, LogQuery, LogRow};
use heard_store::insight_rows::{InsightRow, LOOKBACK_MS};
use heard_store::jobs::{ClaimedJob, NewJob};
use heard_store::snapshots::InsightSnapshot;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::jobs::{Completed, JobHandler};

/// The job kind that recomputes an organization's insight snapshots for one fiscal quarter.
pub const REFRESH_KIND: &str = "insights.refresh";
/// Snapshot kinds.
pub const DRIVERS: &str = "drivers";
pub const SEGMENTS: &str = "segments";
pub const OPERATIONS: &str = "operations";
/// Data arriving within this many milliseconds (5 minutes) shares one refresh, run when the window ends.
pub const DEBOUNCE_MS: i64 = heard_store::after_data::DEBOUNCE_MS;
/// Rows kept per model for the bootstrap.
pub const RESERVOIR: usize = 20_000;
/// Themes in the themes model at most (the most mentioned).
pub const MAX_THEMES: usize = 15;
/// A call or chat wait of at least this many seconds is long (20 minutes).
pub const LONG_CALL_WAIT: f64 = 20.0 * 60.0;
/// An office wait of at least this many seconds is long (45 minutes).
pub const LONG_OFFICE_WAIT: f64 = 45.0 * 60.0;
/// A decision that took at least this many days is slow.
pub const SLOW_DECISION_DAYS: f64 = 30.0;
/// Bootstrap resamples for the drivers' intervals.
pub const RESAMPLES: usize = 200;
/// Significance level (false discovery rate) of gaps and causes.
const ALPHA: f64 = 0.05;
const ZERO: Count = Count { positive: 0, n: 0 };

/// The debounced refresh enqueued after data arrives (by the `data.arrived` job its commit upserted,
/// `crate::after_data`): every arrival in the same [`DEBOUNCE_MS`] window gets the same dedupe key and so the same
/// job, due when the window ends. Data for an earlier quarter (an import of history) is refreshed by "Refresh now"
/// on that quarter's page.
pub fn refresh_job(org: OrgId, quarter: FiscalQuarter, now_ms: i64) -> NewJob {
    let window = now_ms.div_euclid(DEBOUNCE_MS);
    let period = quarter.to_string();
    NewJob::new(org, REFRESH_KIND, json!({ "period": period }))
        .dedupe_key(format!("{period}@{window}"))
        .run_at((window + 1) * DEBOUNCE_MS)
}

/// The refresh an analyst asks for ("Refresh now"): due at once; clicks in the same ten seconds make one job.
pub fn refresh_now_job(org: OrgId, quarter: FiscalQuarter, now_ms: i64) -> NewJob {
    let period = quarter.to_string();
    NewJob::new(org, REFRESH_KIND, json!({ "period": period }))
        .dedupe_key(format!("{period}@now{}", now_ms.div_euclid(10_000)))
        .run_at(now_ms)
}

/// Runs [`REFRESH_KIND`]. Its effect (three snapshots, each replacing the last of its kind and period) is the same
/// however many times it runs, so the worker completes it.
pub struct RefreshInsights;

impl JobHandler for RefreshInsights {
    fn run<'a>(
        &'a self,
        store: &'a Store,
        job: &'a ClaimedJob,
    ) -> BoxFuture<'a, Result<Completed, String>> {
        Box::pin(async move {
            let org = job.job.org_id;
            let period = job.job.payload["period"]
                .as_str()
                .ok_or_else(|| format!("job {}: payload has no period", job.job.id))?;
            let quarter = FiscalQuarter::parse(period)
                .map_err(|e| format!("job {}: period: {}", job.job.id, e.message))?;
            refresh(store, org, quarter, heard_store::now_ms())
                .await
                .map_err(|e| format!("job {}: {e}", job.job.id))?;
            Ok(Completed::ByWorker)
        })
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Snapshot shapes (what the pages read).

/// One key-drivers model.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DriverModel {
    /// `indicators`, `themes` or `operations`.
    pub key: String,
    /// What the predictors are, for people.
    pub title: String,
    /// The method's label (e.g. "Relative importance (Shapley/LMG)").
    pub method: String,
    /// Complete rows and rows dropped for a missing value.
    pub n: u64,
    pub dropped: u64,
    /// R² of the regression of trust on every predictor, and its bootstrap interval.
    pub r_squared: f64,
    pub r_squared_interval: Option<(f64, f64)>,
    /// How the intervals were had: `None` when from every row, else the sample size.
    pub sampled: Option<u64>,
    pub resamples: u64,
    /// How performance is measured, in words.
    pub performance_words: String,
    /// The quadrant cuts.
    pub importance_cut: f64,
    pub performance_cut: f64,
    /// Most important first.
    pub drivers: Vec<DriverRow>,
    /// Why the model could not be fitted, when it could not.
    pub note: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DriverRow {
    /// Code (question role, theme id, measure) and label.
    pub code: String,
    pub label: String,
    pub rank: u64,
    /// Share of R² (0 to 1), and its bootstrap interval.
    pub share: f64,
    pub share_interval: Option<(f64, f64)>,
    /// Part of R² (R² units).
    pub importance: f64,
    pub performance: f64,
    /// `concentrate_here`, `keep_up_the_good_work`, `low_priority`, `possible_overkill`.
    pub quadrant: String,
    /// The sign of its correlation with trust: `raises` or `lowers` (importance itself has no sign).
    pub direction: String,
}

/// The drivers snapshot.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DriversSnapshot {
    pub models: Vec<DriverModel>,
}

/// One segment against everyone else.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SegmentRow {
    pub characteristic: String,
    pub value: String,
    pub label: String,
    /// Hidden (too few, or hidden so a small cell cannot be worked out): every figure is `None`.
    pub suppressed: Option<String>,
    pub n: Option<u64>,
    pub positive: Option<u64>,
    pub share: Option<f64>,
    pub rest_n: Option<u64>,
    pub rest_share: Option<f64>,
    pub difference: Option<f64>,
    pub p_value: Option<f64>,
    pub q_value: Option<f64>,
    pub significant: bool,
    /// For a significant gap: the features over-represented in the segment (significant ones first).
    pub causes: Vec<CauseRow>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CauseRow {
    pub code: String,
    pub label: String,
    /// `theme`, `indicator`, `went_badly`, `operations`.
    pub family: String,
    pub segment_rate: f64,
    pub rest_rate: f64,
    pub lift: Option<f64>,
    /// People in the segment with the feature beyond what everyone else's rate predicts (rounded).
    pub excess: f64,
    /// Counts, `None` when one is 1 to k - 1 (rates only then).
    pub segment_with: Option<u64>,
    pub segment_known: Option<u64>,
    pub test: String,
    pub p_value: f64,
    pub q_value: f64,
    pub significant: bool,
}

/// A characteristic and whether it is collected.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CharacteristicInfo {
    pub key: String,
    pub label: String,
    /// `None` when collected; else why not.
    pub not_collected: Option<String>,
    /// The total shown (`None` when the table is too small).
    pub total_n: Option<u64>,
}

/// Every segment compared on one score.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ScoreSegments {
    /// `trust`, a v1 driver indicator's role key (`ease`, ...), or `negative_comments`.
    pub key: String,
    /// The score in words, and what a respondent counts toward it.
    pub label: String,
    pub definition: String,
    /// Whether a higher share is better (trust, an indicator) or worse (negative comments): a group is worse off
    /// when its share is lower, or higher.
    pub higher_is_better: bool,
    /// Responses with an answer to the score.
    pub n: u64,
    pub characteristics: Vec<CharacteristicInfo>,
    pub segments: Vec<SegmentRow>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SegmentsSnapshot {
    pub k: u64,
    pub alpha: f64,
    /// One per score of [`SCORES`], in that order.
    pub scores: Vec<ScoreSegments>,
}

impl ScoreSegments {
    /// A gap the page explains with likely causes: significant, and the group worse off than everyone else.
    pub fn worse_off(&self, g: &SegmentRow) -> bool {
        g.significant
            && g.difference.is_some_and(|d| {
                if self.higher_is_better {
                    d < 0.0
                } else {
                    d > 0.0
                }
            })
    }
}

/// The scores barriers compare groups on: key, label, what counts, higher is better. Trust follows Heard's one
/// rule (`TemplateKind::trust_template`); the driver indicators are A-11 version 1's agreement questions (version
/// 2 asks none on a scale: its "what went well / badly" is asked after the trust answer); a comment counts toward
/// negative comments when the text engine found any of the response's comments negative.
pub const SCORES: [(&str, &str, &str, bool); 8] = [
    (
        "trust",
        "Trust",
        "share of trust answers that are positive",
        true,
    ),
    (
        "satisfaction",
        "Satisfaction",
        "share answering 4 or 5 (agree), A-11 version 1 surveys",
        true,
    ),
    (
        "effectiveness",
        "Effectiveness (need addressed)",
        "share answering 4 or 5 (agree), A-11 version 1 surveys",
        true,
    ),
    (
        "ease",
        "Ease",
        "share answering 4 or 5 (agree), A-11 version 1 surveys",
        true,
    ),
    (
        "efficiency",
        "Efficiency (reasonable time)",
        "share answering 4 or 5 (agree), A-11 version 1 surveys",
        true,
    ),
    (
        "transparency",
        "Transparency (treated fairly)",
        "share answering 4 or 5 (agree), A-11 version 1 surveys",
        true,
    ),
    (
        "employee",
        "Employee helpfulness",
        "share answering 4 or 5 (agree), A-11 version 1 surveys",
        true,
    ),
    (
        "negative_comments",
        "Negative comments",
        "share of responses with a comment whose sentiment is negative (lower is better)",
        false,
    ),
];

/// Trust in one bucket of an operational measure.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BucketRow {
    pub label: String,
    pub suppressed: Option<String>,
    pub n: Option<u64>,
    pub positive: Option<u64>,
    pub share: Option<f64>,
    pub low: Option<f64>,
    pub high: Option<f64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BucketTable {
    pub key: String,
    pub title: String,
    pub rows: Vec<BucketRow>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AskedAgainRow {
    pub service_id: Option<Uuid>,
    pub service: String,
    pub people: u64,
    pub asked_again: u64,
    /// `None` when fewer than k people.
    pub rate: Option<f64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GapRow {
    pub touchpoint_id: Uuid,
    pub touchpoint: String,
    pub service: String,
    pub n: u64,
    pub share: f64,
    /// Organization's share minus the touchpoint's, in proportion points (positive: worse than overall).
    pub deficit: f64,
    /// Events at the touchpoint in the period.
    pub volume: u64,
    /// deficit × volume: people a fix could turn from not trusting to trusting, at the organization's rate.
    pub people_affected: f64,
    pub rank: u64,
}

/// Trust at one stage of a journey: the responses given while their person was at that stage (the stage of the
/// person's latest event of the journey at or before the response), and the people who reached it in the period.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StageGapRow {
    pub journey_id: String,
    pub journey: String,
    pub stage: String,
    /// 1-based position of the stage in the journey.
    pub position: u64,
    pub n: u64,
    pub share: f64,
    /// The scope's share minus the stage's, in proportion points (positive: worse than overall).
    pub deficit: f64,
    /// People who reached the stage in the period (an event of the stage).
    pub volume: u64,
    /// deficit × volume, as for touchpoints.
    pub people_affected: f64,
    pub rank: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OperationsSnapshot {
    pub k: u64,
    pub n: u64,
    pub linked: u64,
    pub overall_share: Option<f64>,
    pub tables: Vec<BucketTable>,
    pub asked_again: Vec<AskedAgainRow>,
    pub gaps: Vec<GapRow>,
    /// Experience gaps per journey stage, ranked like `gaps` (stages with fewer than k responses left out).
    #[serde(default)]
    pub stage_gaps: Vec<StageGapRow>,
}

// ---------------------------------------------------------------------------------------------------------------
// The pass.

/// Labels of what the analyses name: touchpoints, services, themes.
#[derive(Default)]
struct Names {
    touchpoints: HashMap<Uuid, (String, Uuid)>,
    services: HashMap<Uuid, String>,
    themes: BTreeMap<String, String>,
}

/// The snapshot scope of one service's figures (`""` is the whole organization's).
pub fn service_scope(service: Uuid) -> String {
    format!("service:{service}")
}

/// Suppression decided across the organization and its services ([`heard_insight::suppress_across`]), per
/// scope: segments by (score index, characteristic, value), operations buckets by (table key, bucket index).
#[derive(Default)]
struct Masks {
    segments: HashMap<(usize, String, String), Option<Suppressed>>,
    segment_totals: HashMap<(usize, String), bool>,
    buckets: HashMap<(&'static str, usize), Option<Suppressed>>,
}

/// The masks of every scope: index 0 the organization's, then one per service pass in `services`' order.
fn across_masks(org: &Pass, services: &[&Pass], k: u64) -> Result<Vec<Masks>, String> {
    let mut out: Vec<Masks> = (0..=services.len()).map(|_| Masks::default()).collect();
    let mut values: BTreeMap<&str, std::collections::BTreeSet<&str>> = BTreeMap::new();
    for (c, v) in org.segments.keys() {
        values.entry(c).or_default().insert(v);
    }
    for si in 0..SCORES.len() {
        for (ch, vs) in &values {
            let vs: Vec<&str> = vs.iter().copied().collect();
            let grid: Vec<Vec<u64>> = services
                .iter()
                .map(|p| {
                    vs.iter()
                        .map(|v| {
                            p.segments
                                .get(&(ch.to_string(), v.to_string()))
                                .map_or(0, |a| a.scores[si].n)
                        })
                        .collect()
                })
                .collect();
            let a = heard_insight::suppress_across(&grid, k).map_err(|e| e.to_string())?;
            for (m, t) in out
                .iter_mut()
                .zip(std::iter::once(&a.org).chain(&a.services))
            {
                for (i, v) in vs.iter().enumerate() {
                    m.segments
                        .insert((si, ch.to_string(), v.to_string()), t.cells[i]);
                }
                m.segment_totals.insert((si, ch.to_string()), t.total_shown);
            }
        }
    }
    for (key, _, labels) in BUCKETS.iter() {
        let grid: Vec<Vec<u64>> = services
            .iter()
            .map(|p| p.buckets[key].iter().map(|c| c.n).collect())
            .collect();
        let a = heard_insight::suppress_across(&grid, k).map_err(|e| e.to_string())?;
        for (m, t) in out
            .iter_mut()
            .zip(std::iter::once(&a.org).chain(&a.services))
        {
            for i in 0..labels.len() {
                m.buckets.insert((key, i), t.cells[i]);
            }
        }
    }
    Ok(out)
}

/// Rows kept per model for the bootstrap of one service's figures (each service has its own models; a smaller
/// sample keeps the job's memory bounded by the number of services, not of responses).
pub const SERVICE_RESERVOIR: usize = 5_000;

/// Recomputes and stores `org`'s three snapshots for `quarter`, for the organization (scope `""`) and for each
/// of its services (scope [`service_scope`]). Returns the responses with a trust answer.
pub async fn refresh(
    store: &Store,
    org: OrgId,
    quarter: FiscalQuarter,
    now_ms: i64,
) -> Result<u64, String> {
    let e = |e: heard_store::StoreError| e.to_string();
    let zone = store.org(org).await.map_err(e)?.time_zone;
    let (from, to) = quarter.bounds_ms(&zone);
    let mut names = Names::default();
    for s in store.services(org).await.map_err(e)? {
        names
            .services
            .insert(*s.id.as_uuid(), s.name.get("en").to_string());
    }
    for t in store.touchpoints(org).await.map_err(e)? {
        names.touchpoints.insert(
            *t.id.as_uuid(),
            (t.name.get("en").to_string(), *t.service_id.as_uuid()),
        );
    }
    let taxonomy =
        heard_text::themes::Taxonomy::parse(heard_text::themes::Taxonomy::default_text())
            .map_err(|e| e.to_string())?;
    for t in taxonomy.themes() {
        names.themes.insert(t.id.clone(), t.label.clone());
    }
    // Every version's definition, read before the rows stream (a handful of surveys, a few versions each), and
    // whether each survey's trust answers count (`TemplateKind::trust_template`, per service).
    let surveys = store.surveys(org, None).await.map_err(e)?;
    let counts_trust = trust_counted(&surveys);
    let mut defs: HashMap<(Uuid, i32), SurveyDefinition> = HashMap::new();
    for survey in &surveys {
        for v in store.survey_versions(org, survey.id).await.map_err(e)? {
            defs.insert((*survey.id.as_uuid(), v.version), v.definition);
        }
    }
    let mut pass = Pass::new(&names, RESERVOIR);
    // Every service gets its snapshots, empty when it has no response in the quarter (its page then says n = 0
    // rather than "not computed").
    let mut by_service: BTreeMap<Uuid, Pass> = names
        .services
        .keys()
        .map(|&id| (id, Pass::new(&names, SERVICE_RESERVOIR)))
        .collect();
    let mut rows = store.insight_rows(org, from, to);
    while let Some(mut row) = rows.try_next().await.map_err(e)? {
        // A version 1 survey's own trust item is the outcome of its driver-indicators model, whichever question
        // the service's trust figures count.
        let own_trust = row.trust_positive;
        if !counts_trust.get(&row.survey_id).copied().unwrap_or(false) {
            row.trust_positive = None;
        }
        let def = defs.get(&(row.survey_id, row.survey_version));
        pass.add(&row, def, own_trust);
        by_service
            .entry(row.service_id)
            .or_insert_with(|| Pass::new(&names, SERVICE_RESERVOIR))
            .add(&row, def, own_trust);
    }
    drop(rows);
    let asked = store
        .asked_again_by_service(org, from, to)
        .await
        .map_err(e)?;
    let volumes = store.touchpoint_volumes(org, from, to).await.map_err(e)?;
    let journeys = journey_stages(store, org, from, to, &counts_trust).await?;
    let n = pass.n;
    let period = quarter.to_string();
    let mut scopes: Vec<(String, Option<Uuid>, Pass)> = vec![(String::new(), None, pass)];
    scopes.extend(
        by_service
            .into_iter()
            .map(|(id, p)| (service_scope(id), Some(id), p)),
    );
    // Small cells are hidden consistently across the organization and its services, so the organization's
    // figures minus the shown services' give no hidden cell (`heard_insight::suppress_across`).
    let masks = {
        let services: Vec<&Pass> = scopes[1..].iter().map(|s| &s.2).collect();
        across_masks(&scopes[0].2, &services, SmallCountRule::default().min_n)?
    };
    for ((scope, service, mut pass), masks) in scopes.into_iter().zip(masks) {
        let drivers = pass.drivers();
        let segments = pass.segments(&masks)?;
        let operations = pass.operations(&asked, &volumes, &journeys, service, &masks);
        for (kind, result) in [
            (DRIVERS, serde_json::to_string(&drivers)),
            (SEGMENTS, serde_json::to_string(&segments)),
            (OPERATIONS, serde_json::to_string(&operations)),
        ] {
            let snap = InsightSnapshot {
                kind: kind.to_string(),
                scope: scope.clone(),
                period: period.clone(),
                computed_at: now_ms,
                n: pass.n as i64,
                result: result.map_err(|e| e.to_string())?,
            };
            store.put_insight_snapshot(org, &snap).await.map_err(e)?;
        }
    }
    Ok(n)
}

/// Per survey: whether its trust answers count ([`TemplateKind::trust_template`] of its service's surveys).
pub fn trust_counted(surveys: &[heard_store::Survey]) -> HashMap<Uuid, bool> {
    let mut by_service: HashMap<_, Vec<TemplateKind>> = HashMap::new();
    for s in surveys {
        by_service
            .entry(s.service_id)
            .or_default()
            .push(s.draft.template);
    }
    surveys
        .iter()
        .map(|s| {
            let rule = TemplateKind::trust_template(by_service[&s.service_id].iter().copied());
            (*s.id.as_uuid(), s.draft.template == rule)
        })
        .collect()
}

/// Trust and reach per stage of each of the organization's journeys over `[from, to)`.
pub struct JourneyStages {
    pub id: String,
    pub definition: JourneyDefinition,
    /// Per stage: trust answers given while the person was at the stage.
    pub trust: Vec<Count>,
    /// Per stage: people who reached it in the period.
    pub people: Vec<u64>,
}

/// One streamed pass over the event log in (person, time) order from [`LOOKBACK_MS`] before `from`: for each
/// person and journey, the stage of their latest event of the journey so far; a response in `[from, to)` whose
/// trust counts is added to that stage's trust. Memory: one person's state at a time, plus the counts.
async fn journey_stages(
    store: &Store,
    org: OrgId,
    from: i64,
    to: i64,
    counts_trust: &HashMap<Uuid, bool>,
) -> Result<Vec<JourneyStages>, String> {
    let e = |e: heard_store::StoreError| e.to_string();
    let mut out: Vec<JourneyStages> = Vec::new();
    for j in store.journeys(org).await.map_err(e)? {
        let Ok(definition) = JourneyDefinition::from_json(&j.definition) else {
            continue;
        };
        let k = definition.stages.len();
        out.push(JourneyStages {
            id: j.id,
            definition,
            trust: vec![ZERO; k],
            people: vec![0; k],
        });
    }
    if out.is_empty() {
        return Ok(out);
    }
    let mut rows = store.log_rows(
        org,
        LogQuery {
            from: from.saturating_sub(LOOKBACK_MS),
            to,
            order: LogOrder::Person,
        },
    );
    let mut walk = StageWalk::new(out, from, counts_trust);
    while let Some(row) = rows.try_next().await.map_err(e)? {
        walk.add(&row);
    }
    Ok(walk.finish())
}

/// The walk of [`journey_stages`] over rows in (person, time) order: each person's current stage per journey,
/// the stages they reached from `from` on, and the trust answers given at each stage.
struct StageWalk<'a> {
    out: Vec<JourneyStages>,
    from: i64,
    counts_trust: &'a HashMap<Uuid, bool>,
    person: Option<String>,
    current: Vec<Option<usize>>,
    reached: Vec<Vec<bool>>,
}

impl<'a> StageWalk<'a> {
    fn new(
        out: Vec<JourneyStages>,
        from: i64,
        counts_trust: &'a HashMap<Uuid, bool>,
    ) -> StageWalk<'a> {
        let current = vec![None; out.len()];
        let reached = out.iter().map(|j| vec![false; j.trust.len()]).collect();
        StageWalk {
            out,
            from,
            counts_trust,
            person: None,
            current,
            reached,
        }
    }

    /// Counts the people of the person just finished.
    fn flush(&mut self) {
        for (j, r) in self.out.iter_mut().zip(self.reached.iter_mut()) {
            for (p, hit) in j.people.iter_mut().zip(r.iter_mut()) {
                *p += u64::from(*hit);
                *hit = false;
            }
        }
    }

    fn add(&mut self, row: &LogRow) {
        if self.person.as_deref() != row.person_key.as_deref() {
            self.flush();
            self.current.iter_mut().for_each(|c| *c = None);
            self.person = row.person_key.clone();
        }
        let activity = crate::journeys::activity_of(row);
        for (ji, j) in self.out.iter_mut().enumerate() {
            if !crate::journeys::in_scope(&j.definition, row) {
                continue;
            }
            if let Some(st) = j.definition.stages.iter().position(|s| {
                s.activities.iter().any(|a| *a == activity)
                    || row
                        .touchpoint
                        .as_ref()
                        .is_some_and(|t| s.touchpoints.contains(t))
            }) {
                self.current[ji] = Some(st);
                if row.occurred_at >= self.from {
                    self.reached[ji][st] = true;
                }
            }
            if row.occurred_at >= self.from
                && let (Some(st), Some(t), Some(survey)) =
                    (self.current[ji], row.trust_positive, row.survey_id)
                && self.counts_trust.get(&survey).copied().unwrap_or(false)
            {
                j.trust[st].n += 1;
                j.trust[st].positive += u64::from(t);
            }
        }
    }

    fn finish(mut self) -> Vec<JourneyStages> {
        self.flush();
        self.out
    }
}

/// Key drivers kept while streaming: moments of every complete row and a reservoir sample.
struct ModelAcc {
    moments: Moments,
    reservoir: Vec<Vec<f64>>,
    cap: usize,
    seen: u64,
    dropped: u64,
    rng: StdRng,
}

impl ModelAcc {
    fn new(columns: usize, seed: u64, cap: usize) -> ModelAcc {
        ModelAcc {
            moments: Moments::new(columns),
            reservoir: Vec::new(),
            cap,
            seen: 0,
            dropped: 0,
            rng: StdRng::seed_from_u64(seed),
        }
    }

    /// Adds a row (predictors then trust); a row with a missing value is counted as dropped.
    fn add(&mut self, row: &[Option<f64>]) {
        if row.iter().any(Option::is_none) {
            self.dropped += 1;
            return;
        }
        if self.moments.add(row).is_err() {
            self.dropped += 1;
            return;
        }
        self.seen += 1;
        let dense: Vec<f64> = row.iter().map(|v| v.unwrap_or(0.0)).collect();
        if self.reservoir.len() < self.cap {
            self.reservoir.push(dense);
        } else {
            let j = self.rng.random_range(0..self.seen);
            if (j as usize) < self.cap {
                self.reservoir[j as usize] = dense;
            }
        }
    }
}

/// Per-segment counts.
#[derive(Clone)]
struct SegAcc {
    /// Per score of [`SCORES`].
    scores: Vec<Count>,
    /// Per feature: (with, known) in the segment.
    features: Vec<(u64, u64)>,
}

struct Pass<'a> {
    names: &'a Names,
    /// Responses with a trust answer that counts.
    n: u64,
    /// Per score of [`SCORES`]: every response's answer to it.
    score_totals: Vec<Count>,
    linked: u64,
    overall: Count,
    indicators: ModelAcc,
    themes: ModelAcc,
    theme_ids: Vec<String>,
    ops: ModelAcc,
    /// Feature names (code, label, family) and their overall (with, known).
    features: Vec<(String, String, String)>,
    feature_index: HashMap<String, usize>,
    overall_features: Vec<(u64, u64)>,
    /// (characteristic, value) → counts.
    segments: BTreeMap<(String, String), SegAcc>,
    buckets: BTreeMap<&'static str, Vec<Count>>,
    touchpoints: HashMap<Uuid, Count>,
    /// Characteristics asked by survey questions (age band, ...): key → label, and each value's label.
    asked: BTreeMap<String, String>,
    value_labels: HashMap<(String, String), String>,
}

/// The v1 driver indicators in the model (trust is the outcome).
const V1_PREDICTORS: [A11Role; 6] = [
    A11Role::Satisfaction,
    A11Role::Effectiveness,
    A11Role::Ease,
    A11Role::Efficiency,
    A11Role::Transparency,
    A11Role::Employee,
];

/// The operational predictors: code and label.
const OPS_PREDICTORS: [(&str, &str); 6] = [
    ("long_call_wait", "Waited 20 minutes or more on a call"),
    ("long_office_wait", "Waited 45 minutes or more at an office"),
    ("transferred", "Transferred on a call"),
    ("asked_again", "Asked again for information already given"),
    ("many_contacts", "3 contacts or more (calls, chats, visits)"),
    ("slow_decision", "Waited 30 days or more for a decision"),
];

/// Bucket tables: key, title, labels.
const BUCKETS: [(&str, &str, &[&str]); 5] = [
    (
        "call_wait",
        "Trust by longest wait on a call",
        &[
            "No call",
            "Under 5 minutes",
            "5 to 10 minutes",
            "10 to 20 minutes",
            "20 to 40 minutes",
            "40 minutes or more",
        ],
    ),
    (
        "office_wait",
        "Trust by longest wait at an office",
        &[
            "No office visit",
            "Under 15 minutes",
            "15 to 30 minutes",
            "30 to 45 minutes",
            "45 to 60 minutes",
            "60 minutes or more",
        ],
    ),
    (
        "contacts",
        "Trust by number of contacts (calls, chats, office visits)",
        &["None", "1", "2", "3", "4 or more"],
    ),
    (
        "asked_again",
        "Trust by times asked again for the same information",
        &["Never", "Once", "Twice", "3 times or more"],
    ),
    (
        "decision_days",
        "Trust by days from application to decision",
        &[
            "No decision in the period",
            "Under 15 days",
            "15 to 30 days",
            "30 to 45 days",
            "45 to 60 days",
            "60 days or more",
        ],
    ),
];

fn bucket(edges: &[f64], v: f64) -> usize {
    1 + edges.iter().filter(|&&e| v >= e).count()
}

impl<'a> Pass<'a> {
    fn new(names: &'a Names, reservoir: usize) -> Pass<'a> {
        let theme_ids: Vec<String> = names.themes.keys().cloned().collect();
        let mut p = Pass {
            names,
            n: 0,
            score_totals: vec![ZERO; SCORES.len()],
            linked: 0,
            overall: ZERO,
            indicators: ModelAcc::new(V1_PREDICTORS.len() + 1, 1, reservoir),
            themes: ModelAcc::new(theme_ids.len() + 1, 2, reservoir),
            theme_ids,
            ops: ModelAcc::new(OPS_PREDICTORS.len() + 1, 3, reservoir),
            features: Vec::new(),
            feature_index: HashMap::new(),
            overall_features: Vec::new(),
            segments: BTreeMap::new(),
            buckets: BUCKETS
                .iter()
                .map(|(k, _, labels)| (*k, vec![ZERO; labels.len()]))
                .collect(),
            touchpoints: HashMap::new(),
            asked: BTreeMap::new(),
            value_labels: HashMap::new(),
        };
        for (code, label) in &names.themes {
            p.feature(
                &format!("theme:{code}"),
                &format!("Comment about {label}"),
                "theme",
            );
        }
        for role in V1_PREDICTORS {
            p.feature(
                &format!("low:{}", role.key()),
                &format!("{} answered 1 or 2 (disagree)", role.label()),
                "indicator",
            );
        }
        for (code, label) in OPS_PREDICTORS {
            p.feature(&format!("ops:{code}"), label, "operations");
        }
        p
    }

    fn feature(&mut self, code: &str, label: &str, family: &str) -> usize {
        if let Some(&i) = self.feature_index.get(code) {
            return i;
        }
        let i = self.features.len();
        self.features
            .push((code.to_string(), label.to_string(), family.to_string()));
        self.feature_index.insert(code.to_string(), i);
        self.overall_features.push((0, 0));
        for s in self.segments.values_mut() {
            s.features.push((0, 0));
        }
        i
    }

    /// Adds one response. Its trust answer (`r.trust_positive`, already `None` when its survey's trust does not
    /// count) is the outcome of the models and the operations tables; the barriers' scores and the causes' features
    /// count every response that answers them.
    fn add(&mut self, r: &InsightRow, def: Option<&SurveyDefinition>, own_trust: Option<bool>) {
        let trust = r.trust_positive;
        if let Some(t) = trust {
            self.n += 1;
            self.linked += u64::from(r.linked);
            self.overall.n += 1;
            self.overall.positive += u64::from(t);
        }
        let y = trust.map(|t| if t { 1.0 } else { 0.0 });
        let mut scores: Vec<Option<bool>> = vec![None; SCORES.len()];
        scores[0] = trust;
        let answers: Value = serde_json::from_str(&r.answers).unwrap_or(Value::Null);
        let enrichment: Option<Value> = r
            .enrichment
            .as_deref()
            .and_then(|e| serde_json::from_str(e).ok());
        // Features known for this respondent: (index, value).
        let mut known: Vec<(usize, bool)> = Vec::with_capacity(self.features.len());

        // Themes: known when the response has a comment.
        if let Some(enr) = enrichment.as_ref().and_then(Value::as_object) {
            let mut mentioned: Vec<&str> = Vec::new();
            for v in enr.values() {
                for t in v["themes"].as_array().into_iter().flatten() {
                    if let Some(id) = t["id"].as_str() {
                        mentioned.push(id);
                    }
                }
            }
            let labels: Vec<&str> = enr
                .values()
                .filter_map(|v| v["sentiment"]["label"].as_str())
                .collect();
            if !labels.is_empty() {
                scores[SCORES.len() - 1] = Some(labels.contains(&"negative"));
            }
            if let Some(y) = y {
                let mut row: Vec<Option<f64>> = self
                    .theme_ids
                    .iter()
                    .map(|id| Some(f64::from(u8::from(mentioned.contains(&id.as_str())))))
                    .collect();
                row.push(Some(y));
                self.themes.add(&row);
            }
            for id in &self.theme_ids {
                let i = self.feature_index[&format!("theme:{id}")];
                known.push((i, mentioned.contains(&id.as_str())));
            }
        }

        // Driver indicators (A-11 v1) and "what did not go well" (v2).
        if let Some(def) = def {
            let answer = |role: A11Role| {
                def.question_with_role(role)
                    .filter(|q| q.kind == QuestionKind::Agreement5)
                    .and_then(|q| answers.get(&q.id))
                    .and_then(Value::as_f64)
            };
            if def.template == TemplateKind::A11V1 {
                if let Some(y) = own_trust.map(|t| if t { 1.0 } else { 0.0 }) {
                    let mut row: Vec<Option<f64>> =
                        V1_PREDICTORS.iter().map(|&r| answer(r)).collect();
                    row.push(Some(y));
                    self.indicators.add(&row);
                }
                for (i, role) in V1_PREDICTORS.into_iter().enumerate() {
                    if let Some(v) = answer(role) {
                        scores[1 + i] = Some(v >= 4.0);
                        let i = self.feature_index[&format!("low:{}", role.key())];
                        known.push((i, v <= 2.0));
                    }
                }
            }
            if let Some(q) = def.question_with_role(A11Role::WentBadly)
                && trust == Some(false)
            {
                let chosen: Vec<&str> = answers
                    .get(&q.id)
                    .and_then(Value::as_array)
                    .map(|a| a.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default();
                for o in &q.options {
                    let i = self.feature(
                        &format!("badly:{}", o.value),
                        &format!("Did not go well: {}", o.label.get("en")),
                        "went_badly",
                    );
                    known.push((i, chosen.contains(&o.value.as_str())));
                }
            }
        }

        // Characteristics the survey asks (age band, disability, location, another): "not stated" when skipped.
        let mut characteristics: Vec<(String, String)> = Vec::new();
        for q in def.map(|d| d.questions.as_slice()).unwrap_or_default() {
            let Some(c) = q.characteristic else { continue };
            let key = match c {
                CustomerCharacteristic::Other => format!("q:{}", q.id),
                _ => c.key().to_string(),
            };
            let value = answers
                .get(&q.id)
                .and_then(Value::as_str)
                .unwrap_or("not_stated")
                .to_string();
            if !self.asked.contains_key(&key) {
                let label = match c {
                    CustomerCharacteristic::Other => q.prompt.get("en").to_string(),
                    _ => c.label().to_string(),
                };
                self.asked.insert(key.clone(), label);
            }
            self.value_labels
                .entry((key.clone(), value.clone()))
                .or_insert_with(|| {
                    q.options
                        .iter()
                        .find(|o| o.value == value)
                        .map(|o| o.label.get("en").to_string())
                        .unwrap_or_else(|| "Not stated".to_string())
                });
            characteristics.push((key, value));
        }

        // What happened: only for responses linked to a person.
        let call = r.call_wait;
        let office = r.office_wait;
        let days = r.processing_time.map(|s| s / 86_400.0);
        let asked = r.asked_again.unwrap_or(0.0);
        let contacts = r.contacts.unwrap_or(0);
        if r.linked {
            let flag = |b: bool| Some(f64::from(u8::from(b)));
            if y.is_some() {
                self.ops.add(&[
                    flag(call.is_some_and(|w| w >= LONG_CALL_WAIT)),
                    flag(office.is_some_and(|w| w >= LONG_OFFICE_WAIT)),
                    flag(r.transfers.is_some_and(|t| t >= 1.0)),
                    flag(asked >= 1.0),
                    flag(contacts >= 3),
                    flag(days.is_some_and(|d| d >= SLOW_DECISION_DAYS)),
                    y,
                ]);
            }
            let fi = |s: &Self, c: &str| s.feature_index[c];
            if let Some(w) = call {
                known.push((fi(self, "ops:long_call_wait"), w >= LONG_CALL_WAIT));
                known.push((
                    fi(self, "ops:transferred"),
                    r.transfers.is_some_and(|t| t >= 1.0),
                ));
            }
            if let Some(w) = office {
                known.push((fi(self, "ops:long_office_wait"), w >= LONG_OFFICE_WAIT));
            }
            known.push((fi(self, "ops:asked_again"), asked >= 1.0));
            known.push((fi(self, "ops:many_contacts"), contacts >= 3));
            if let Some(d) = days {
                known.push((fi(self, "ops:slow_decision"), d >= SLOW_DECISION_DAYS));
            }
            let mut put = |key: &str, b: usize| {
                if let (Some(v), Some(t)) = (self.buckets.get_mut(key), trust) {
                    v[b].n += 1;
                    v[b].positive += u64::from(t);
                }
            };
            put(
                "call_wait",
                call.map_or(0, |w| bucket(&[300.0, 600.0, 1200.0, 2400.0], w)),
            );
            put(
                "office_wait",
                office.map_or(0, |w| bucket(&[900.0, 1800.0, 2700.0, 3600.0], w)),
            );
            put("contacts", contacts.clamp(0, 4) as usize);
            put("asked_again", (asked.max(0.0) as usize).min(3));
            put(
                "decision_days",
                days.map_or(0, |d| bucket(&[15.0, 30.0, 45.0, 60.0], d)),
            );
        }

        // Overall feature counts and the segments'.
        for &(i, v) in &known {
            self.overall_features[i].0 += u64::from(v);
            self.overall_features[i].1 += 1;
        }
        let width = self.features.len();
        let tp = r
            .touchpoint_id
            .map(|t| t.to_string())
            .unwrap_or_else(|| "none".into());
        characteristics.extend([
            ("language".to_string(), r.language.clone()),
            ("channel".to_string(), r.channel.clone()),
            ("touchpoint".to_string(), tp),
        ]);
        for key in characteristics {
            let s = self.segments.entry(key).or_insert_with(|| SegAcc {
                scores: vec![ZERO; SCORES.len()],
                features: vec![(0, 0); width],
            });
            for (c, v) in s.scores.iter_mut().zip(&scores) {
                if let Some(v) = v {
                    c.n += 1;
                    c.positive += u64::from(*v);
                }
            }
            for &(i, v) in &known {
                s.features[i].0 += u64::from(v);
                s.features[i].1 += 1;
            }
        }
        if let (Some(tp), Some(t)) = (r.touchpoint_id, trust) {
            let c = self.touchpoints.entry(tp).or_insert(ZERO);
            c.n += 1;
            c.positive += u64::from(t);
        }
        for (c, v) in self.score_totals.iter_mut().zip(&scores) {
            if let Some(v) = v {
                c.n += 1;
                c.positive += u64::from(*v);
            }
        }
    }

    fn drivers(&mut self) -> DriversSnapshot {
        let mut models = Vec::new();
        let names = self.names;
        let ind_names: Vec<(String, String)> = V1_PREDICTORS
            .iter()
            .map(|r| (r.key().to_string(), r.label().to_string()))
            .collect();
        models.push(model(
            "indicators",
            "A-11 driver indicators (version 1 surveys, agreement 1 to 5; the outcome is those surveys' own trust item, \"This interaction increased my confidence\", since version 2 asks no indicator on a scale)",
            &ind_names,
            (0..V1_PREDICTORS.len()).collect(),
            &self.indicators,
            Performance::TopBox { at_least: 4.0 },
            "share answering 4 or 5 (agree)",
        ));
        // Themes: the most mentioned with at least k mentions (the moments' mean is the mention rate).
        let k = SmallCountRule::default().min_n as f64;
        let m = &self.themes.moments;
        let mut chosen: Vec<usize> = (0..self.theme_ids.len())
            .filter(|&i| m.mean[i] * m.n as f64 >= k && m.mean[i] * (m.n as f64) <= m.n as f64 - k)
            .collect();
        chosen.sort_by(|&a, &b| m.mean[b].total_cmp(&m.mean[a]));
        chosen.truncate(MAX_THEMES);
        chosen.sort_unstable();
        let theme_names: Vec<(String, String)> = self
            .theme_ids
            .iter()
            .map(|id| {
                (
                    id.clone(),
                    names.themes.get(id).cloned().unwrap_or_else(|| id.clone()),
                )
            })
            .collect();
        models.push(model(
            "themes",
            "Comment themes (mentioned or not, among responses with a comment)",
            &theme_names,
            chosen,
            &self.themes,
            Performance::Mean,
            "share of comments that mention it",
        ));
        let ops_names: Vec<(String, String)> = OPS_PREDICTORS
            .iter()
            .map(|(c, l)| (c.to_string(), l.to_string()))
            .collect();
        models.push(model(
            "operations",
            "What happened to the person (from operational events, responses linked to a person)",
            &ops_names,
            (0..OPS_PREDICTORS.len()).collect(),
            &self.ops,
            Performance::Mean,
            "share of people it happened to",
        ));
        DriversSnapshot { models }
    }

    fn segments(&self, masks: &Masks) -> Result<SegmentsSnapshot, String> {
        Ok(SegmentsSnapshot {
            k: SmallCountRule::default().min_n,
            alpha: ALPHA,
            scores: (0..SCORES.len())
                .map(|si| self.score_segments(si, masks))
                .collect::<Result<_, _>>()?,
        })
    }

    /// Every segment against everyone else on score `si` of [`SCORES`], with the likely causes of each gap where
    /// the group is worse off.
    fn score_segments(&self, si: usize, masks: &Masks) -> Result<ScoreSegments, String> {
        let (score_key, score_label, definition, higher_is_better) = SCORES[si];
        let k = SmallCountRule::default().min_n;
        let mut chars: Vec<Characteristic> = Vec::new();
        let mut labels: HashMap<(String, String), String> = HashMap::new();
        let keys: Vec<&str> = ["language", "channel", "touchpoint"]
            .into_iter()
            .chain(self.asked.keys().map(String::as_str))
            .collect();
        for ch in keys {
            let cells: Vec<SegmentCell> = self
                .segments
                .iter()
                .filter(|((c, _), _)| c == ch)
                .map(|((_, v), s)| {
                    let label = match ch {
                        _ if self.asked.contains_key(ch) => self
                            .value_labels
                            .get(&(ch.to_string(), v.clone()))
                            .cloned()
                            .unwrap_or_else(|| v.clone()),
                        "language" => crate::i18n::language_name(v, "en"),
                        "channel" => Channel::from_str(v)
                            .map(|c| c.label().to_string())
                            .unwrap_or_else(|_| v.clone()),
                        _ => Uuid::parse_str(v)
                            .ok()
                            .and_then(|u| self.names.touchpoints.get(&u))
                            .map(|(n, s)| {
                                format!(
                                    "{n} ({})",
                                    self.names.services.get(s).cloned().unwrap_or_default()
                                )
                            })
                            .unwrap_or_else(|| "No touchpoint named".to_string()),
                    };
                    labels.insert((ch.to_string(), v.clone()), label);
                    SegmentCell {
                        value: v.clone(),
                        count: s.scores[si],
                    }
                })
                .filter(|c| c.count.n > 0)
                .collect();
            chars.push(Characteristic {
                name: ch.to_string(),
                cells,
            });
        }
        let one_way: Vec<heard_insight::OneWay> = chars
            .iter()
            .map(|c| {
                let cells: Vec<Option<Suppressed>> = c
                    .cells
                    .iter()
                    .map(|cell| {
                        masks
                            .segments
                            .get(&(si, c.name.clone(), cell.value.clone()))
                            .copied()
                            .unwrap_or(Some(Suppressed::Complementary))
                    })
                    .collect();
                heard_insight::OneWay {
                    cells,
                    total_shown: masks
                        .segment_totals
                        .get(&(si, c.name.clone()))
                        .copied()
                        .unwrap_or(true),
                }
            })
            .collect();
        let gaps = heard_insight::segments::segment_gaps_masked(
            &chars,
            GapOptions { k, alpha: ALPHA },
            Some(&one_way),
        )
        .map_err(|e| e.to_string())?;
        let mut characteristics: Vec<CharacteristicInfo> = gaps
            .iter()
            .map(|g| CharacteristicInfo {
                key: g.name.clone(),
                label: self
                    .asked
                    .get(&g.name)
                    .cloned()
                    .unwrap_or_else(|| characteristic_label(&g.name).to_string()),
                not_collected: None,
                total_n: g.total.map(|t| t.n),
            })
            .collect();
        characteristics.push(CharacteristicInfo {
            key: "device".into(),
            label: "Device".into(),
            not_collected: Some(
                "Heard does not record the device a response was given on, so it cannot be compared."
                    .into(),
            ),
            total_n: None,
        });
        let mut segments = Vec::new();
        for g in gaps.into_iter().flat_map(|c| c.segments) {
            let key = (g.characteristic.clone(), g.value.clone());
            let mut causes = Vec::new();
            let worse = g
                .difference
                .is_some_and(|d| if higher_is_better { d < 0.0 } else { d > 0.0 });
            if g.significant && worse {
                let seg = &self.segments[&key];
                let counts: Vec<FeatureCounts> = self
                    .features
                    .iter()
                    .enumerate()
                    .map(|(i, (code, _, _))| {
                        let (sw, sk) = seg.features[i];
                        let (aw, ak) = self.overall_features[i];
                        FeatureCounts {
                            name: code.clone(),
                            segment: Count {
                                positive: sw,
                                n: sk,
                            },
                            rest: Count {
                                positive: aw - sw,
                                n: ak - sk,
                            },
                        }
                    })
                    .collect();
                let found = likely_causes_from_counts(
                    &counts,
                    CauseOptions {
                        alpha: ALPHA,
                        min_expected: 5.0,
                        k,
                    },
                )
                .map_err(|e| e.to_string())?;
                for c in found.causes.into_iter().filter(|c| c.over_represented) {
                    let (label, family) = self
                        .feature_index
                        .get(&c.feature)
                        .map(|&i| (self.features[i].1.clone(), self.features[i].2.clone()))
                        .unwrap_or_default();
                    causes.push(CauseRow {
                        code: c.feature,
                        label,
                        family,
                        segment_rate: c.segment_rate,
                        rest_rate: c.rest_rate,
                        lift: c.lift,
                        excess: c.excess.round(),
                        segment_with: (!c.small_count).then_some(c.segment.positive),
                        segment_known: (!c.small_count).then_some(c.segment.n),
                        test: match c.test {
                            heard_insight::segments::CauseTest::FisherExact => {
                                "Fisher's exact test"
                            }
                            heard_insight::segments::CauseTest::TwoProportionZ => {
                                "two-proportion z test"
                            }
                        }
                        .into(),
                        p_value: c.p_value,
                        q_value: c.q_value,
                        significant: c.significant,
                    });
                }
                causes.truncate(8);
            }
            segments.push(SegmentRow {
                label: labels.get(&key).cloned().unwrap_or_default(),
                characteristic: g.characteristic,
                value: g.value,
                suppressed: g.suppressed.map(suppressed_words),
                n: g.count.map(|c| c.n),
                positive: g.count.map(|c| c.positive),
                share: g.share,
                rest_n: g.rest.map(|c| c.n),
                rest_share: g.rest_share,
                difference: g.difference,
                p_value: g.test.map(|t| t.p_value),
                q_value: g.q_value,
                significant: g.significant,
                causes,
            });
        }
        Ok(ScoreSegments {
            key: score_key.into(),
            label: score_label.into(),
            definition: definition.into(),
            higher_is_better,
            n: self.score_totals[si].n,
            characteristics,
            segments,
        })
    }

    /// The operations snapshot of the pass's scope: `service` is the scope's service (`None`: the organization),
    /// whose asked-again row, touchpoints and journeys (those naming it) are kept; deficits are against the
    /// scope's own share.
    fn operations(
        &self,
        asked: &[heard_store::insight_rows::AskedAgainCount],
        volumes: &[heard_store::insight_rows::TouchpointVolume],
        journeys: &[JourneyStages],
        service: Option<Uuid>,
        masks: &Masks,
    ) -> OperationsSnapshot {
        let rule = SmallCountRule::default();
        let k = rule.min_n;
        let tables = BUCKETS
            .iter()
            .map(|(key, title, labels)| {
                let counts = &self.buckets[key];
                let rows = counts
                    .iter()
                    .zip(labels.iter())
                    .enumerate()
                    .map(|(i, (c, label))| {
                        let hidden = masks.buckets.get(&(*key, i)).copied().flatten();
                        let shown = hidden.is_none() && c.n > 0;
                        let iv = shown
                            .then(|| {
                                wilson_interval(c.positive, c.n, None, 1.959_963_984_540_054).ok()
                            })
                            .flatten();
                        BucketRow {
                            label: label.to_string(),
                            suppressed: hidden.map(suppressed_words),
                            n: hidden.is_none().then_some(c.n),
                            positive: hidden.is_none().then_some(c.positive),
                            share: shown.then(|| c.positive as f64 / c.n as f64),
                            low: iv.map(|i| i.low),
                            high: iv.map(|i| i.high),
                        }
                    })
                    .collect();
                BucketTable {
                    key: key.to_string(),
                    title: title.to_string(),
                    rows,
                }
            })
            .collect();
        let mut asked_again: Vec<AskedAgainRow> = asked
            .iter()
            .filter(|a| service.is_none() || a.service_id == service)
            .map(|a| AskedAgainRow {
                service_id: a.service_id,
                service: a
                    .service_id
                    .and_then(|s| self.names.services.get(&s).cloned())
                    .unwrap_or_else(|| "No service named".into()),
                people: a.people.max(0) as u64,
                asked_again: a.asked_again.max(0) as u64,
                rate: rule
                    .allows(a.people.max(0) as u64)
                    .then(|| a.asked_again as f64 / a.people as f64),
            })
            .collect();
        asked_again.sort_by(|a, b| {
            b.rate
                .unwrap_or(-1.0)
                .total_cmp(&a.rate.unwrap_or(-1.0))
                .then(a.service.cmp(&b.service))
        });
        let overall_share = self.overall.share();
        let vol: HashMap<Uuid, u64> = volumes
            .iter()
            .map(|v| (v.touchpoint_id, v.events.max(0) as u64))
            .collect();
        let mut gaps: Vec<GapRow> = self
            .touchpoints
            .iter()
            .filter(|(_, c)| rule.allows(c.n))
            .filter_map(|(t, c)| {
                let overall = overall_share?;
                let share = c.positive as f64 / c.n as f64;
                let deficit = overall - share;
                let volume = vol.get(t).copied().unwrap_or(0).max(c.n);
                let (name, service) = self
                    .names
                    .touchpoints
                    .get(t)
                    .map(|(n, s)| {
                        (
                            n.clone(),
                            self.names.services.get(s).cloned().unwrap_or_default(),
                        )
                    })
                    .unwrap_or_default();
                Some(GapRow {
                    touchpoint_id: *t,
                    touchpoint: name,
                    service,
                    n: c.n,
                    share,
                    deficit,
                    volume,
                    people_affected: (deficit.max(0.0) * volume as f64).round(),
                    rank: 0,
                })
            })
            .collect();
        gaps.sort_by(|a, b| {
            b.people_affected
                .total_cmp(&a.people_affected)
                .then(b.deficit.total_cmp(&a.deficit))
        });
        for (i, g) in gaps.iter_mut().enumerate() {
            g.rank = i as u64 + 1;
        }
        let service_name = service.and_then(|s| self.names.services.get(&s));
        let mut stage_gaps: Vec<StageGapRow> = Vec::new();
        for j in journeys {
            if service.is_some() && j.definition.service.as_ref() != service_name {
                continue;
            }
            let Some(overall) = overall_share else { break };
            for (i, st) in j.definition.stages.iter().enumerate() {
                let c = j.trust[i];
                if !rule.allows(c.n) {
                    continue;
                }
                let share = c.positive as f64 / c.n as f64;
                let deficit = overall - share;
                let volume = j.people[i];
                stage_gaps.push(StageGapRow {
                    journey_id: j.id.clone(),
                    journey: j.definition.name.clone(),
                    stage: st.name.clone(),
                    position: i as u64 + 1,
                    n: c.n,
                    share,
                    deficit,
                    volume,
                    people_affected: (deficit.max(0.0) * volume as f64).round(),
                    rank: 0,
                });
            }
        }
        stage_gaps.sort_by(|a, b| {
            b.people_affected
                .total_cmp(&a.people_affected)
                .then(b.deficit.total_cmp(&a.deficit))
        });
        for (i, g) in stage_gaps.iter_mut().enumerate() {
            g.rank = i as u64 + 1;
        }
        OperationsSnapshot {
            k,
            n: self.n,
            linked: self.linked,
            overall_share,
            tables,
            asked_again,
            gaps,
            stage_gaps,
        }
    }
}

/// Why a cell is hidden, in words.
fn suppressed_words(s: heard_insight::Suppressed) -> String {
    match s {
        heard_insight::Suppressed::SmallTotal => "too few in the whole table to report",
        heard_insight::Suppressed::SmallCell => "too few to report (fewer than 11)",
        heard_insight::Suppressed::Complementary => "hidden so a small group cannot be worked out",
    }
    .to_string()
}

/// A characteristic in words.
pub fn characteristic_label(key: &str) -> &'static str {
    match key {
        "language" => "Language",
        "channel" => "Channel",
        "touchpoint" => "Touchpoint",
        "device" => "Device",
        _ => "Characteristic",
    }
}

/// The method's label as pages show it.
pub fn method_label(m: Method) -> &'static str {
    match m {
        Method::Lmg => "Relative importance (Shapley value decomposition of R², LMG)",
        Method::RelativeWeights => "Relative importance (Johnson's relative weights)",
    }
}

/// Fits one model on the columns `chosen` of `acc` (whose last column is trust).
fn model(
    key: &str,
    title: &str,
    names: &[(String, String)],
    chosen: Vec<usize>,
    acc: &ModelAcc,
    performance: Performance,
    performance_words: &str,
) -> DriverModel {
    let mut out = DriverModel {
        key: key.into(),
        title: title.into(),
        method: String::new(),
        n: acc.seen,
        dropped: acc.dropped,
        r_squared: 0.0,
        r_squared_interval: None,
        sampled: (acc.seen as usize > acc.reservoir.len()).then_some(acc.reservoir.len() as u64),
        resamples: 0,
        performance_words: performance_words.into(),
        importance_cut: 0.0,
        performance_cut: 0.0,
        drivers: Vec::new(),
        note: None,
    };
    if chosen.is_empty() {
        out.note = Some("Nothing to fit: no predictor has enough answers in this period.".into());
        return out;
    }
    let outcome = acc.moments.columns() - 1;
    let predictors: Vec<Predictor> = chosen
        .iter()
        .map(|&j| Predictor {
            name: names[j].0.clone(),
            values: acc.reservoir.iter().map(|r| Some(r[j])).collect(),
        })
        .collect();
    let trust: Vec<Option<f64>> = acc.reservoir.iter().map(|r| Some(r[outcome])).collect();
    let fitted = key_drivers(
        "trust",
        &trust,
        &predictors,
        DriverOptions {
            resamples: RESAMPLES,
            performance,
            ..DriverOptions::default()
        },
    );
    let mut kd: KeyDrivers = match fitted {
        Ok(kd) => kd,
        Err(e) => {
            out.note = Some(format!("The model could not be fitted: {e}."));
            return out;
        }
    };
    // Above the reservoir, the point estimates come from the correlations of every complete row.
    if out.sampled.is_some() {
        let mut cols = chosen.clone();
        cols.push(outcome);
        let sub = sub_moments(&acc.moments, &cols);
        let col_names: Vec<String> = cols
            .iter()
            .map(|&j| {
                names
                    .get(j)
                    .map(|n| n.0.clone())
                    .unwrap_or_else(|| "trust".into())
            })
            .collect();
        if let Ok((rxx, rxy)) = sub.correlations(&col_names)
            && let Ok(imp) =
                importance_from_correlations(&col_names[..chosen.len()], &rxx, &rxy, kd.method)
        {
            let r2: f64 = imp.iter().sum();
            kd.r_squared = r2;
            kd.n = acc.seen as usize;
            for (d, (v, &j)) in kd.drivers.iter_mut().zip(imp.iter().zip(&chosen)) {
                d.importance = *v;
                d.share = if r2 > 0.0 { v / r2 } else { 0.0 };
                if let Performance::Mean = performance {
                    d.performance = acc.moments.mean[j];
                }
            }
            let mut order: Vec<usize> = (0..kd.drivers.len()).collect();
            order.sort_by(|&a, &b| {
                kd.drivers[b]
                    .importance
                    .total_cmp(&kd.drivers[a].importance)
            });
            for (r, i) in order.into_iter().enumerate() {
                kd.drivers[i].rank = r + 1;
            }
        }
    }
    let ip = impact_performance(&kd);
    out.method = method_label(kd.method).into();
    out.r_squared = kd.r_squared;
    out.r_squared_interval = kd.r_squared_interval.map(|i| (i.low, i.high));
    out.resamples = kd.resamples_used as u64;
    out.importance_cut = ip.importance_cut;
    out.performance_cut = ip.performance_cut;
    let label_of = |code: &str| {
        names
            .iter()
            .find(|n| n.0 == code)
            .map(|n| n.1.clone())
            .unwrap_or_else(|| code.to_string())
    };
    let mut rows: Vec<DriverRow> = kd
        .drivers
        .iter()
        .map(|d| DriverRow {
            code: d.name.clone(),
            label: label_of(&d.name),
            rank: d.rank as u64,
            share: d.share,
            share_interval: d.share_interval.map(|i| (i.low, i.high)),
            importance: d.importance,
            performance: d.performance,
            quadrant: ip
                .points
                .iter()
                .find(|p| p.name == d.name)
                .and_then(|p| serde_json::to_value(p.quadrant).ok())
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default(),
            direction: {
                let k = acc.moments.columns();
                let j = names.iter().position(|n| n.0 == d.name).unwrap_or(0);
                if acc.moments.comoment[j * k + k - 1] < 0.0 {
                    "lowers"
                } else {
                    "raises"
                }
                .to_string()
            },
        })
        .collect();
    rows.sort_by_key(|r| r.rank);
    out.drivers = rows;
    out
}

/// The moments of the columns `cols` of `m`, in that order.
fn sub_moments(m: &Moments, cols: &[usize]) -> Moments {
    let k = m.columns();
    let mut s = Moments::new(cols.len());
    s.n = m.n;
    s.incomplete = m.incomplete;
    for (a, &i) in cols.iter().enumerate() {
        s.mean[a] = m.mean[i];
        for (b, &j) in cols.iter().enumerate() {
            s.comoment[a * cols.len() + b] = m.comoment[i * k + j];
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arrivals_in_one_window_share_a_job() {
        let org = OrgId::new();
        let q = FiscalQuarter::parse("FY2026-Q1").unwrap();
        let a = refresh_job(org, q, DEBOUNCE_MS * 10 + 5);
        let b = refresh_job(org, q, DEBOUNCE_MS * 11 - 1);
        let c = refresh_job(org, q, DEBOUNCE_MS * 11);
        assert_eq!(a.dedupe_key, b.dedupe_key);
        assert_eq!(a.payload, b.payload);
        assert_ne!(a.dedupe_key, c.dedupe_key);
        assert_eq!(a.run_at, Some(DEBOUNCE_MS * 11));
    }

    #[test]
    fn a_response_counts_at_its_persons_stage_then() {
        let def: JourneyDefinition = serde_json::from_value(json!({"name": "Apply", "stages": [
            {"name": "Started", "activities": ["application_started"]},
            {"name": "Submitted", "activities": ["application_submitted"]},
            {"name": "Decided", "activities": ["application_decided"]}
        ]}))
        .unwrap();
        let journeys = vec![JourneyStages {
            id: "apply".into(),
            definition: def,
            trust: vec![ZERO; 3],
            people: vec![0; 3],
        }];
        let (v2, v1) = (Uuid::from_u128(2), Uuid::from_u128(1));
        let counts = HashMap::from([(v2, true), (v1, false)]);
        let row = |person: &str, activity: &str, at: i64, trust: Option<(Uuid, bool)>| LogRow {
            id: Uuid::nil(),
            source: heard_store::event_log::LogSource::Event,
            activity: activity.into(),
            occurred_at: at,
            person_key: Some(person.into()),
            reference_key: None,
            channel: None,
            touchpoint: None,
            service: None,
            step: None,
            initiation: None,
            survey_id: trust.map(|t| t.0),
            trust_positive: trust.map(|t| t.1),
        };
        let from = 1_000;
        let mut w = StageWalk::new(journeys, from, &counts);
        for r in [
            // a: started before the period (lookback), answers negatively while started, then submits and
            // answers positively; a v1 survey's answer does not count.
            row("a", "application_started", 10, None),
            row("a", "survey_answered", 1_100, Some((v2, false))),
            row("a", "application_submitted", 1_200, None),
            row("a", "survey_answered", 1_300, Some((v2, true))),
            row("a", "survey_answered", 1_400, Some((v1, false))),
            // b: answers before any stage (not counted), then is decided; an answer before the period is left out.
            row("b", "survey_answered", 900, Some((v2, false))),
            row("b", "survey_answered", 1_050, Some((v2, true))),
            row("b", "application_decided", 1_500, None),
            row("b", "survey_answered", 1_600, Some((v2, false))),
        ] {
            w.add(&r);
        }
        let out = w.finish();
        let j = &out[0];
        let t: Vec<(u64, u64)> = j.trust.iter().map(|c| (c.positive, c.n)).collect();
        assert_eq!(t, vec![(0, 1), (1, 1), (0, 1)]);
        // Reached in the period: a's start was before it.
        assert_eq!(j.people, vec![0, 1, 1]);
    }

    #[test]
    fn buckets_are_closed_below() {
        let edges = [300.0, 600.0];
        assert_eq!(bucket(&edges, 0.0), 1);
        assert_eq!(bucket(&edges, 300.0), 2);
        assert_eq!(bucket(&edges, 599.0), 2);
        assert_eq!(bucket(&edges, 600.0), 3);
    }

    #[test]
    fn sub_moments_pick_and_reorder_columns() {
        let mut m = Moments::new(3);
        for i in 0..50 {
            let x = f64::from(i % 7);
            let z = f64::from(i % 3);
            m.add(&[Some(x), Some(z), Some(x + 0.5 * z + f64::from(i % 2))])
                .unwrap();
        }
        let s = sub_moments(&m, &[1, 2]);
        assert_eq!(s.mean, vec![m.mean[1], m.mean[2]]);
        assert_eq!(s.comoment[1], m.comoment[5]);
        assert_eq!(s.comoment[2], m.comoment[7]);
    }
}
