//! Rollups: the counts that dashboards and the A-11 statistics are computed from, kept per local day as responses
//! are stored (heard-store's `response_days` and `answer_days`, migration 0024), so no page reads every response.
//!
//! [`Rollup::add`] is the one definition of what a response adds: the store calls it for every response it commits
//! (the group-commit writer, the bulk path) and for every stored response when it rebuilds. [`survey_report`] gives
//! the same [`SurveyReport`] as [`crate::report::survey_report`] over the responses the counts came from (the tests
//! check both on the same responses).

use chrono::{Days, NaiveDate};
use std::collections::{BTreeMap, HashMap};

use crate::report::{
    self, DriverStat, IndicatorStat, SegmentStat, SurveyReport, Tally, asks_indicators,
    latest_driver_question, week_start_of_date,
};
use crate::response::{AnswerValue, Answers};
use crate::sketch::Sketch;
use crate::stats::wilson;
use crate::survey::{A11Role, QuestionKind, SurveyDefinition};
use crate::templates::V2_INDICATORS;
use crate::{ServiceId, SurveyId, TouchpointId};

/// Counts of one rollup row: responses, trust answers and the positive ones, and the trust answers on the 1-5
/// scale with their sum (for the mean; thumbs answers have none).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct DayCounts {
    pub responses: u64,
    pub trust_answered: u64,
    pub trust_positive: u64,
    pub scale_n: u64,
    pub scale_sum: i64,
}

impl DayCounts {
    /// What one response adds. A trust answer is on the 1-5 scale when it is 2-5, or 1 and negative (a thumbs
    /// answer is 0 or 1, and only the scale's 1 is negative): the rule `report::survey_report` uses when the version's
    /// definition is unknown, and the same answer its definition gives for every answer Heard stores.
    pub fn of(trust: Option<i16>, trust_positive: Option<bool>) -> DayCounts {
        let on_scale = match trust {
            Some(2..=5) => true,
            Some(1) => trust_positive == Some(false),
            _ => false,
        };
        DayCounts {
            responses: 1,
            trust_answered: u64::from(trust_positive.is_some()),
            trust_positive: u64::from(trust_positive == Some(true)),
            scale_n: u64::from(on_scale),
            scale_sum: if on_scale {
                i64::from(trust.unwrap_or(0))
            } else {
                0
            },
        }
    }

    pub fn add(&mut self, o: &DayCounts) {
        self.responses += o.responses;
        self.trust_answered += o.trust_answered;
        self.trust_positive += o.trust_positive;
        self.scale_n += o.scale_n;
        self.scale_sum += o.scale_sum;
    }
}

/// The key of a `response_days` row. `day` is the organization's local day as days since 1970-01-01
/// (`Zone::day_number`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ResponseKey {
    pub day: i64,
    pub survey_id: SurveyId,
    pub survey_version: i32,
    pub service_id: ServiceId,
    pub touchpoint_id: Option<TouchpointId>,
    pub channel: String,
    pub language: String,
}

/// The key of an `answer_days` row: one value of one closed question, split by the response's trust answer.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AnswerKey {
    pub survey_id: SurveyId,
    pub day: i64,
    pub survey_version: i32,
    pub question_id: String,
    pub value: String,
    pub trust_positive: Option<bool>,
}

/// A row of `response_days` as read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseDay {
    pub key: ResponseKey,
    pub counts: DayCounts,
}

/// A row of `answer_days` as read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnswerDay {
    pub key: AnswerKey,
    pub answers: u64,
}

/// Whether answers to a question of this kind are counted per value: closed questions only. Free text, contact
/// details and hidden values are never counted (their values are not from a list, and some are personal).
pub fn counted(kind: QuestionKind) -> bool {
    matches!(
        kind,
        QuestionKind::Agreement5
            | QuestionKind::Thumbs
            | QuestionKind::YesNo
            | QuestionKind::SingleChoice
            | QuestionKind::MultipleChoice
    )
}

/// One stored response as a rollup reads it.
#[derive(Debug, Clone, Copy)]
pub struct Counted<'a> {
    /// The organization's local day of `submitted_at`.
    pub day: i64,
    pub survey_id: SurveyId,
    pub survey_version: i32,
    pub service_id: ServiceId,
    pub touchpoint_id: Option<TouchpointId>,
    pub channel: &'a str,
    pub language: &'a str,
    pub trust: Option<i16>,
    pub trust_positive: Option<bool>,
    pub answers: &'a Answers,
}

/// The counts many responses add, aggregated by key (a batch's before it is written, one upsert per key; or an
/// organization's when rebuilt).
#[derive(Debug, Default, Clone)]
pub struct Rollup {
    pub responses: HashMap<ResponseKey, DayCounts>,
    pub answers: HashMap<AnswerKey, u64>,
}

impl Rollup {
    /// Adds one response. `closed` says which of its version's question ids are closed questions ([`counted`]);
    /// each distinct value of such an answer counts once.
    pub fn add(&mut self, r: Counted<'_>, closed: impl Fn(&str) -> bool) {
        self.responses
            .entry(ResponseKey {
                day: r.day,
                survey_id: r.survey_id,
                survey_version: r.survey_version,
                service_id: r.service_id,
                touchpoint_id: r.touchpoint_id,
                channel: r.channel.to_string(),
                language: r.language.to_string(),
            })
            .or_default()
            .add(&DayCounts::of(r.trust, r.trust_positive));
        for (qid, a) in r.answers {
            if !closed(qid) {
                continue;
            }
            let mut values = match a {
                AnswerValue::Number(n) => vec![n.to_string()],
                AnswerValue::Text(t) if t.is_empty() => vec![],
                AnswerValue::Text(t) => vec![t.clone()],
                AnswerValue::Many(v) => v.clone(),
            };
            values.sort();
            values.dedup();
            for value in values {
                *self
                    .answers
                    .entry(AnswerKey {
                        survey_id: r.survey_id,
                        day: r.day,
                        survey_version: r.survey_version,
                        question_id: qid.clone(),
                        value,
                        trust_positive: r.trust_positive,
                    })
                    .or_default() += 1;
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.responses.is_empty() && self.answers.is_empty()
    }
}

/// The local date of a day number.
pub fn date_of_day(day: i64) -> NaiveDate {
    if day >= 0 {
        NaiveDate::default().checked_add_days(Days::new(day as u64))
    } else {
        NaiveDate::default().checked_sub_days(Days::new(day.unsigned_abs()))
    }
    .unwrap_or_default()
}

/// The figures of a survey's dashboard from its rollup rows (of one period), the same as
/// [`crate::report::survey_report`] gives over the responses they count: `versions` are the survey's definitions,
/// for drivers and indicators (found by A-11 role in each version); `population` the customers served, for the
/// finite-population correction (ignored and flagged when below the responses counted).
pub fn survey_report(
    versions: &BTreeMap<i32, SurveyDefinition>,
    days: &[ResponseDay],
    answers: &[AnswerDay],
    population: Option<u64>,
) -> SurveyReport {
    let mut all = Tally::default();
    let (mut scale_sum, mut scale_n) = (0i64, 0u64);
    let mut weeks: BTreeMap<NaiveDate, Tally> = BTreeMap::new();
    let mut channels: BTreeMap<&str, Tally> = BTreeMap::new();
    let mut languages: BTreeMap<&str, Tally> = BTreeMap::new();
    // Per version: (positive, negative) trust answers, the respondents offered "what went well" or "what didn't".
    let mut sides: BTreeMap<i32, (u64, u64)> = BTreeMap::new();
    let add = |t: &mut Tally, c: &DayCounts| {
        t.responses += c.responses;
        t.answered += c.trust_answered;
        t.positive += c.trust_positive;
    };
    for d in days {
        let c = &d.counts;
        add(&mut all, c);
        add(
            weeks
                .entry(week_start_of_date(date_of_day(d.key.day)))
                .or_default(),
            c,
        );
        add(channels.entry(&d.key.channel).or_default(), c);
        add(languages.entry(&d.key.language).or_default(), c);
        scale_sum += c.scale_sum;
        scale_n += c.scale_n;
        let s = sides.entry(d.key.survey_version).or_default();
        s.0 += c.trust_positive;
        s.1 += c.trust_answered - c.trust_positive;
    }
    let customers_below_responses = population.is_some_and(|p| p < all.responses);
    let population = population.filter(|_| !customers_below_responses);
    // (version, question id, value, trust side) -> answers
    let mut counts: HashMap<(i32, &str, &str, Option<bool>), u64> = HashMap::new();
    for a in answers {
        *counts
            .entry((
                a.key.survey_version,
                &a.key.question_id,
                &a.key.value,
                a.key.trust_positive,
            ))
            .or_default() += a.answers;
    }
    let answered = |v: i32, q: &str, value: &str, side: Option<bool>| {
        counts.get(&(v, q, value, side)).copied().unwrap_or(0)
    };
    let any_side = |v: i32, q: &str, value: &str| {
        [Some(true), Some(false), None]
            .into_iter()
            .map(|s| answered(v, q, value, s))
            .sum::<u64>()
    };

    let drivers = A11Role::V1_DRIVERS
        .iter()
        .filter_map(|role| {
            let q = latest_driver_question(versions, *role)?;
            let mut c = [0u64; 5];
            for (v, d) in versions {
                if let Some(q) = d
                    .question_with_role(*role)
                    .filter(|q| q.kind == QuestionKind::Agreement5)
                {
                    for (i, slot) in c.iter_mut().enumerate() {
                        *slot += any_side(*v, &q.id, &(i + 1).to_string());
                    }
                }
            }
            Some(DriverStat::of_counts(*role, q, c, population))
        })
        .collect();

    let mut indicators: Vec<IndicatorStat> = Vec::new();
    if asks_indicators(versions) {
        for &indicator in V2_INDICATORS.iter() {
            let mut s = IndicatorStat {
                indicator,
                positive_chosen: 0,
                positive_offered: 0,
                negative_chosen: 0,
                negative_offered: 0,
            };
            for (v, (pos, neg)) in &sides {
                let def = versions.get(v);
                if let Some(q) = report::indicator_question(def, Some(true))
                    && report::offers(q, indicator)
                {
                    s.positive_offered += pos;
                    s.positive_chosen += answered(*v, &q.id, indicator, Some(true));
                }
                if let Some(q) = report::indicator_question(def, Some(false))
                    && report::offers(q, indicator)
                {
                    s.negative_offered += neg;
                    s.negative_chosen += answered(*v, &q.id, indicator, Some(false));
                }
            }
            indicators.push(s);
        }
    }

    let weekly = crate::report::weekly_points(weeks);
    let by_channel: Vec<SegmentStat> = report::segments(channels);
    let by_language: Vec<SegmentStat> = report::segments(languages);
    SurveyReport {
        responses: all.responses,
        trust: (all.answered > 0).then(|| wilson(all.positive, all.answered, population)),
        trust_mean: (scale_n > 0).then(|| scale_sum as f64 / scale_n as f64),
        drivers,
        indicators,
        weekly,
        by_channel,
        by_language,
        customers_below_responses,
    }
}

/// The key of an event rollup row (`event_days`, and with a measure name `event_measure_days`): the organization's
/// local day (days since 1970-01-01), the event's service and touchpoint (absent: `None`) and its type.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EventKey {
    pub service_id: Option<ServiceId>,
    pub day: i64,
    pub touchpoint_id: Option<TouchpointId>,
    pub event_type: String,
}

/// One measure over a set of events: how many carried it, their sum, and their [`Sketch`] (for the median and 90th
/// percentile, within `sketch::RELATIVE_ERROR`).
#[derive(Debug, Default, Clone, PartialEq)]
pub struct MeasureAgg {
    pub n: u64,
    pub total: f64,
    pub sketch: Sketch,
}

impl MeasureAgg {
    pub fn add(&mut self, x: f64) {
        self.n += 1;
        self.total += x;
        self.sketch.add(x);
    }

    pub fn merge(&mut self, o: &MeasureAgg) {
        self.n += o.n;
        self.total += o.total;
        self.sketch.merge(&o.sketch);
    }

    /// The mean, or 0 when no event carried the measure.
    pub fn mean(&self) -> f64 {
        if self.n == 0 {
            0.0
        } else {
            self.total / self.n as f64
        }
    }
}

/// Events aggregated per [`EventKey`]: how many, and each measure's [`MeasureAgg`].
/// [`EventRollup::add`] is the one definition of what an event adds (the store calls it for every event it
/// commits, through the ingestion API and the bulk path, and for every stored event when it rebuilds).
#[derive(Debug, Default, Clone, PartialEq)]
pub struct EventRollup {
    pub events: BTreeMap<EventKey, u64>,
    pub measures: BTreeMap<(EventKey, String), MeasureAgg>,
}

impl EventRollup {
    /// Adds one event: its key (day in the organization's zone) and its measures.
    pub fn add<'a>(&mut self, key: EventKey, measures: impl IntoIterator<Item = (&'a str, f64)>) {
        for (name, x) in measures {
            self.measures
                .entry((key.clone(), name.to_string()))
                .or_default()
                .add(x);
        }
        *self.events.entry(key).or_default() += 1;
    }

    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }
}
