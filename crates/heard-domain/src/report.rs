//! Dashboard figures and A-11 exports, computed from the facts of many responses.
//!
//! Each response is read with the definition of the survey version it answered, and questions are found by their
//! A-11 role rather than their id, so a report spans versions whose wording and ids differ.

use chrono::{Datelike, Days, NaiveDate};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use crate::response::{AnswerValue, Answers};
use crate::stats::{Proportion, mean_1_to_5, wilson};
use crate::survey::{A11Role, Question, QuestionKind, SurveyDefinition, TemplateKind};
use crate::templates::V2_INDICATORS;
use crate::zone::Zone;

/// What a report needs of one response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResponseFacts {
    /// Milliseconds since the Unix epoch.
    pub submitted_at: i64,
    pub survey_version: i32,
    pub channel: String,
    pub language: String,
    pub trust: Option<i16>,
    pub trust_positive: Option<bool>,
    pub answers: Answers,
}

/// Segments with fewer trust answers than this show no trust figure: the estimate is mostly noise, and a small group's
/// answers could point at individuals.
pub const SUPPRESS_BELOW: u64 = 10;

/// The figures of a survey's dashboard for a set of responses (usually one fiscal quarter).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SurveyReport {
    pub responses: u64,
    /// Share of trust answers that are positive (thumbs up, or 4-5), with a Wilson 95% interval; `None` without any
    /// trust answer.
    pub trust: Option<Proportion>,
    /// Mean of the trust answers given on the 1-5 scale; thumbs answers have no mean.
    pub trust_mean: Option<f64>,
    /// A-11 v1 drivers asked on the 1-5 scale, in `A11Role::V1_DRIVERS` order; only drivers some version asks.
    pub drivers: Vec<DriverStat>,
    /// A-11 v2 indicators in `V2_INDICATORS` order, or empty when no version asks "what went well / didn't".
    pub indicators: Vec<IndicatorStat>,
    /// Every week from the first response's to the last's, empty weeks included.
    pub weekly: Vec<WeekPoint>,
    /// Largest segment first.
    pub by_channel: Vec<SegmentStat>,
    /// Largest segment first.
    pub by_language: Vec<SegmentStat>,
    /// The customers served that were given number fewer than the responses counted: the volume entered cannot be
    /// right, so no finite-population correction was applied (it would have claimed a census, a 0-width interval)
    /// and the page says so.
    pub customers_below_responses: bool,
}

/// One v1 driver on the 1-5 agreement scale.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DriverStat {
    /// The role's key (`satisfaction`, `trust`, ...).
    pub role: &'static str,
    /// The English wording in the latest version that asks it.
    pub label: String,
    /// How many answered 1, 2, 3, 4 and 5 (A-11 v1's `q_1` .. `q_5`).
    pub counts: [u64; 5],
    /// Share answering 4 or 5 among those who answered; `agree.n == 0` when nobody did.
    pub agree: Proportion,
    pub mean: Option<f64>,
}

impl DriverStat {
    /// A driver's statistics from how many answered 1 to 5 to question `q`: the share agreeing (4 or 5) with its
    /// Wilson interval over `population` (`stats::wilson`), and the mean.
    pub(crate) fn of_counts(
        role: A11Role,
        q: &Question,
        counts: [u64; 5],
        population: Option<u64>,
    ) -> DriverStat {
        let answered: u64 = counts.iter().sum();
        DriverStat {
            role: role.key(),
            label: q.prompt.get("en").to_string(),
            counts,
            agree: wilson(counts[3] + counts[4], answered, population),
            mean: mean_1_to_5(&counts),
        }
    }
}

/// The newest version's question asking driver `role` on the agreement scale: its wording labels the driver, as the
/// dashboard shows today's wording.
pub(crate) fn latest_driver_question(
    versions: &BTreeMap<i32, SurveyDefinition>,
    role: A11Role,
) -> Option<&Question> {
    versions.values().rev().find_map(|d| {
        d.question_with_role(role)
            .filter(|q| q.kind == QuestionKind::Agreement5)
    })
}

/// Whether any version asks the A-11 v2 indicators (what went well or badly).
pub(crate) fn asks_indicators(versions: &BTreeMap<i32, SurveyDefinition>) -> bool {
    versions.values().any(|d| {
        d.question_with_role(A11Role::WentWell).is_some()
            || d.question_with_role(A11Role::WentBadly).is_some()
    })
}

/// One A-11 v2 indicator: how often it was chosen among the respondents who were offered it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IndicatorStat {
    /// The option value (`effectiveness`, `ease`, ...).
    pub indicator: &'static str,
    pub positive_chosen: u64,
    pub positive_offered: u64,
    pub negative_chosen: u64,
    pub negative_offered: u64,
}

/// One week (Monday to Sunday, in the organization's time zone) of the trend.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WeekPoint {
    pub week_start: NaiveDate,
    pub responses: u64,
    /// Positive trust answers.
    pub positive: u64,
    /// `None` when the week has no trust answer.
    pub trust: Option<Proportion>,
}

/// Trust in one channel or language.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SegmentStat {
    pub key: String,
    pub responses: u64,
    /// `None` when suppressed.
    pub trust: Option<Proportion>,
    /// Fewer than `SUPPRESS_BELOW` trust answers.
    pub suppressed: bool,
}

/// The quarterly A-11 collection figures of one survey or service.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CollectionFigures {
    pub respondents: u64,
    /// Customers offered the survey (real displays).
    pub offered: u64,
    /// respondents / offered; `None` when nobody was offered the survey.
    pub response_rate: Option<f64>,
    /// Customers served in the quarter, when the agency entered it.
    pub customers: Option<u64>,
    /// Fewer customers served than respondents: the entered volume is wrong (or counts another period), and any
    /// figure using it is not to be trusted until it is corrected.
    pub customers_below_respondents: bool,
}

/// The local Monday, in `zone`, of the week containing `ms` milliseconds since the Unix epoch.
pub fn week_start(ms: i64, zone: &Zone) -> NaiveDate {
    week_start_of_date(zone.date(ms))
}

/// The Monday on or before the local date `day`.
pub fn week_start_of_date(day: NaiveDate) -> NaiveDate {
    day.checked_sub_days(Days::new(u64::from(day.weekday().num_days_from_monday())))
        .unwrap_or(day)
}

/// Response rate exactly as A-11 defines it: respondents divided by the customers offered the survey. It is not
/// clamped, so a rate above 1 shows that displays are being undercounted rather than hiding it.
pub fn collection_figures(
    respondents: u64,
    offered: u64,
    customers: Option<u64>,
) -> CollectionFigures {
    CollectionFigures {
        respondents,
        offered,
        response_rate: (offered > 0).then(|| respondents as f64 / offered as f64),
        customers,
        customers_below_respondents: customers.is_some_and(|c| c < respondents),
    }
}

/// Whether a trust answer was given on the 1-5 scale. The version's question says so; without the version the
/// answer itself does, because only the scale has 2-5 and only the scale's 1 is negative.
fn trust_on_scale(def: Option<&SurveyDefinition>, f: &ResponseFacts) -> bool {
    match def.and_then(|d| d.question_with_role(A11Role::Trust)) {
        Some(q) => q.kind == QuestionKind::Agreement5,
        None => match f.trust {
            Some(2..=5) => true,
            Some(1) => f.trust_positive == Some(false),
            _ => false,
        },
    }
}

/// The indicator question a respondent was shown: "what went well" after a positive trust answer, "what didn't"
/// after a negative one, and none without a trust answer or when the version does not ask it.
pub(crate) fn indicator_question(
    def: Option<&SurveyDefinition>,
    positive: Option<bool>,
) -> Option<&Question> {
    let role = match positive? {
        true => A11Role::WentWell,
        false => A11Role::WentBadly,
    };
    def?.question_with_role(role)
}

pub(crate) fn offers(q: &Question, option: &str) -> bool {
    q.options.iter().any(|o| o.value == option)
}

fn chose(f: &ResponseFacts, q: &Question, option: &str) -> bool {
    f.answers.get(&q.id).is_some_and(|a| a.contains(option))
}

/// Every week from the first of `weeks` to the last, empty weeks included, each with its trust share (a week's
/// population is unknown, so no finite-population correction).
pub(crate) fn weekly_points(mut weeks: BTreeMap<NaiveDate, Tally>) -> Vec<WeekPoint> {
    let mut weekly = Vec::new();
    if let (Some(&first), Some(&last)) = (weeks.keys().next(), weeks.keys().next_back()) {
        let mut w = first;
        while w <= last {
            let t = weeks.remove(&w).unwrap_or_default();
            weekly.push(WeekPoint {
                week_start: w,
                responses: t.responses,
                positive: t.positive,
                trust: (t.answered > 0).then(|| wilson(t.positive, t.answered, None)),
            });
            match w.checked_add_days(Days::new(7)) {
                Some(next) => w = next,
                None => break,
            }
        }
    }
    weekly
}

/// Counts of trust answers in a group.
#[derive(Default)]
pub(crate) struct Tally {
    pub(crate) responses: u64,
    pub(crate) answered: u64,
    pub(crate) positive: u64,
}

impl Tally {
    fn add(&mut self, f: &ResponseFacts) {
        self.responses += 1;
        if let Some(p) = f.trust_positive {
            self.answered += 1;
            self.positive += u64::from(p);
        }
    }
}

pub(crate) fn segments(tallies: BTreeMap<&str, Tally>) -> Vec<SegmentStat> {
    let mut out: Vec<SegmentStat> = tallies
        .into_iter()
        .map(|(key, t)| {
            let suppressed = t.answered < SUPPRESS_BELOW;
            SegmentStat {
                key: key.to_string(),
                responses: t.responses,
                // No finite-population correction: the customers served are known for the whole service, not per
                // segment, and using the total would make a segment's interval too narrow.
                trust: (!suppressed).then(|| wilson(t.positive, t.answered, None)),
                suppressed,
            }
        })
        .collect();
    // Stable sort keeps alphabetical order among equal sizes.
    out.sort_by_key(|s| std::cmp::Reverse(s.responses));
    out
}

/// The dashboard figures of `facts`, each response read with the definition of its own version (questions are found
/// by their A-11 role, since ids and wording may change between versions). `population` is the number of customers
/// served, for the finite-population correction of the overall trust and driver intervals; when it is below the
/// number of responses it cannot be right, and it is ignored and flagged (`customers_below_responses`). Weeks are
/// local weeks of the organization's `zone`.
///
/// A response whose version is missing from `versions` still counts toward trust, the trend and the segments (its
/// trust fields are denormalized), but not toward drivers or indicators.
pub fn survey_report(
    versions: &BTreeMap<i32, SurveyDefinition>,
    facts: &[ResponseFacts],
    population: Option<u64>,
    zone: &Zone,
) -> SurveyReport {
    let customers_below_responses = population.is_some_and(|p| p < facts.len() as u64);
    let population = population.filter(|_| !customers_below_responses);
    let mut all = Tally::default();
    let (mut scale_sum, mut scale_n) = (0i64, 0u64);
    let mut weeks: BTreeMap<NaiveDate, Tally> = BTreeMap::new();
    let mut channels: BTreeMap<&str, Tally> = BTreeMap::new();
    let mut languages: BTreeMap<&str, Tally> = BTreeMap::new();
    let mut driver_counts = [[0u64; 5]; A11Role::V1_DRIVERS.len()];
    let mut indicators: Vec<IndicatorStat> = V2_INDICATORS
        .iter()
        .map(|&indicator| IndicatorStat {
            indicator,
            positive_chosen: 0,
            positive_offered: 0,
            negative_chosen: 0,
            negative_offered: 0,
        })
        .collect();

    for f in facts {
        let def = versions.get(&f.survey_version);
        all.add(f);
        weeks
            .entry(week_start(f.submitted_at, zone))
            .or_default()
            .add(f);
        channels.entry(&f.channel).or_default().add(f);
        languages.entry(&f.language).or_default().add(f);
        if let Some(t) = f.trust
            && (1..=5).contains(&t)
            && trust_on_scale(def, f)
        {
            scale_sum += i64::from(t);
            scale_n += 1;
        }
        if let Some(d) = def {
            for (role, counts) in A11Role::V1_DRIVERS.iter().zip(driver_counts.iter_mut()) {
                if let Some(q) = d.question_with_role(*role)
                    && q.kind == QuestionKind::Agreement5
                    && let Some(n) = f.answers.get(&q.id).and_then(AnswerValue::as_number)
                    && (1..=5).contains(&n)
                {
                    counts[n as usize - 1] += 1;
                }
            }
        }
        if let Some(q) = indicator_question(def, f.trust_positive) {
            let positive = f.trust_positive == Some(true);
            for stat in indicators.iter_mut().filter(|s| offers(q, s.indicator)) {
                let chosen = u64::from(chose(f, q, stat.indicator));
                if positive {
                    stat.positive_offered += 1;
                    stat.positive_chosen += chosen;
                } else {
                    stat.negative_offered += 1;
                    stat.negative_chosen += chosen;
                }
            }
        }
    }

    let drivers = A11Role::V1_DRIVERS
        .iter()
        .zip(driver_counts)
        .filter_map(|(role, counts)| {
            let q = latest_driver_question(versions, *role)?;
            Some(DriverStat::of_counts(*role, q, counts, population))
        })
        .collect();

    if !asks_indicators(versions) {
        indicators.clear();
    }

    let weekly = weekly_points(weeks);

    SurveyReport {
        responses: all.responses,
        trust: (all.answered > 0).then(|| wilson(all.positive, all.answered, population)),
        trust_mean: (scale_n > 0).then(|| scale_sum as f64 / scale_n as f64),
        drivers,
        indicators,
        weekly,
        by_channel: segments(channels),
        by_language: segments(languages),
        customers_below_responses,
    }
}

/// The weeks of a period (days `from` to `to_exclusive`), Monday to Sunday, from the week containing `from` to the
/// week containing its last day, empty weeks included, taking each week's figures from `points` (a report's
/// `weekly`, computed from the period's responses only, so a week that straddles the period's edge counts only the
/// days inside it). Every figure of a page follows the period chosen; this is how its trend does.
pub fn weeks_between(
    points: &[WeekPoint],
    from: NaiveDate,
    to_exclusive: NaiveDate,
) -> Vec<WeekPoint> {
    // Calendar days already, so no time zone is involved: the Monday on or before each.
    let monday = |d: NaiveDate| {
        d.checked_sub_days(Days::new(u64::from(d.weekday().num_days_from_monday())))
            .unwrap_or(d)
    };
    let first = monday(from);
    let last = monday(to_exclusive.pred_opt().unwrap_or(to_exclusive));
    let mut out = Vec::new();
    let mut w = first;
    while w <= last {
        out.push(
            points
                .iter()
                .find(|p| p.week_start == w)
                .cloned()
                .unwrap_or(WeekPoint {
                    week_start: w,
                    responses: 0,
                    positive: 0,
                    trust: None,
                }),
        );
        match w.checked_add_days(Days::new(7)) {
            Some(next) => w = next,
            None => break,
        }
    }
    out
}

/// The columns of A-11 version 2's per-response upload file, in order.
pub const A11_V2_CSV_HEADER: [&str; 17] = [
    "external_id",
    "question_1",
    "positive_effectiveness",
    "positive_ease",
    "positive_efficiency",
    "positive_transparency",
    "positive_humanity",
    "positive_employee",
    "positive_other",
    "negative_effectiveness",
    "negative_ease",
    "negative_efficiency",
    "negative_transparency",
    "negative_humanity",
    "negative_employee",
    "negative_other",
    "question_4",
];

/// The rows of A-11 version 2's upload file, one per response with a trust answer, in the order given, matching
/// `A11_V2_CSV_HEADER`. The rules are those of the file agencies upload today, as GSA Touchpoints writes it
/// (GSA/touchpoints, `app/models/form.rb`, `Form#to_a11_v2_csv`), which is the standard performance.gov reads:
///
/// - Only responses to a version built from the A-11 v2 template are written (`TemplateKind::A11V2`): a v1
///   survey's "confidence" statement is not v2's trust question, and a blank survey has none. A response whose
///   version is missing from `versions` cannot be shown to be one, so it is left out too.
/// - `question_1` is the trust answer as given: `1` / `0` for thumbs, the value 1-5 on the agreement scale.
/// - An indicator is `1` if the respondent chose it, `0` if that side's question lists the option (whichever side
///   the respondent was shown: the other side's options were offered by the survey, just not reached), and the
///   string `null` only when the question does not list it, that is when the agency marked the indicator not
///   applicable (`templates::set_not_applicable`). A choice stored for the side the respondent was not shown
///   (never written by Heard's parsing, which drops it) counts as not chosen.
/// - `question_4` is the comment exactly as stored (several comment questions are joined with a blank line), with
///   no spreadsheet-formula quoting: the upload is read by a program, not a spreadsheet.
///
/// Where Heard deliberately differs: comments are stored redacted of personal data before anything else sees them
/// (ARCHITECTURE.md, "No personal data"), so `question_4` holds the redacted text (`<EMAIL_ADDRESS>`, `<PHONE_NUMBER>`, ...) where
/// Touchpoints would hold what was typed; and the server removes bidirectional controls (U+202A-U+202E,
/// U+2066-U+2069, marks) from every cell as it writes the file, since they are invisible formatting, not text.
///
/// Cells are plain values: the caller writes them with a CSV writer, which does the quoting.
pub fn a11_v2_csv_rows(
    versions: &BTreeMap<i32, SurveyDefinition>,
    facts: &[(String, ResponseFacts)],
) -> Vec<Vec<String>> {
    facts
        .iter()
        .filter_map(|(id, f)| {
            let positive = f.trust_positive?;
            let def = versions
                .get(&f.survey_version)
                .filter(|d| d.template == TemplateKind::A11V2)?;
            let shown = indicator_question(Some(def), Some(positive));
            let mut row = Vec::with_capacity(A11_V2_CSV_HEADER.len());
            row.push(id.clone());
            row.push(match f.trust {
                Some(t) => t.to_string(),
                None => u8::from(positive).to_string(),
            });
            for role in [A11Role::WentWell, A11Role::WentBadly] {
                let q = def.question_with_role(role);
                let was_shown = q.is_some() && shown.map(|s| &s.id) == q.map(|q| &q.id);
                for option in V2_INDICATORS {
                    let cell = match q {
                        Some(q) if offers(q, option) => {
                            if was_shown && chose(f, q, option) {
                                "1"
                            } else {
                                "0"
                            }
                        }
                        _ => "null",
                    };
                    row.push(cell.to_string());
                }
            }
            let comments: Vec<String> = def
                .questions
                .iter()
                .filter(|q| q.a11 == Some(A11Role::Comment))
                .filter_map(|q| f.answers.get(&q.id))
                .map(|a| a.as_strings().join(", "))
                .filter(|s| !s.is_empty())
                .collect();
            row.push(comments.join("\n\n"));
            Some(row)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::LocalizedText;
    use crate::logic::Condition;
    use crate::templates::{self, TrustScale};

    fn at(y: i32, m: u32, d: u32, h: u32, mi: u32, s: u32) -> i64 {
        NaiveDate::from_ymd_opt(y, m, d)
            .unwrap()
            .and_hms_opt(h, mi, s)
            .unwrap()
            .and_utc()
            .timestamp_millis()
    }

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn n(v: i64) -> AnswerValue {
        AnswerValue::Number(v)
    }

    fn many(vs: &[&str]) -> AnswerValue {
        AnswerValue::Many(vs.iter().map(|s| s.to_string()).collect())
    }

    fn text(s: &str) -> AnswerValue {
        AnswerValue::Text(s.into())
    }

    fn fact(
        submitted_at: i64,
        survey_version: i32,
        channel: &str,
        language: &str,
        trust: Option<i16>,
        trust_positive: Option<bool>,
        answers: &[(&str, AnswerValue)],
    ) -> ResponseFacts {
        ResponseFacts {
            submitted_at,
            survey_version,
            channel: channel.into(),
            language: language.into(),
            trust,
            trust_positive,
            answers: answers
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
        }
    }

    fn service() -> LocalizedText {
        LocalizedText::new("Passports", "Pasaportes")
    }

    /// Version 1 asks trust with thumbs; version 2 asks it on the 1-5 scale with new ids and wording, and marks
    /// humanity and employee "not applicable" (removed from both indicator questions).
    fn v2_versions() -> BTreeMap<i32, SurveyDefinition> {
        let thumbs = templates::a11_v2(&service(), TrustScale::Thumbs);
        let mut scale = templates::a11_v2(&service(), TrustScale::Agreement5);
        for q in &mut scale.questions {
            match q.id.as_str() {
                "trust" => {
                    q.id = "confidence".into();
                    q.prompt = LocalizedText::new("I trust the agency.", "Confío en la agencia.");
                }
                "went_well" => {
                    q.id = "good".into();
                    q.show_if = Some(Condition::any_of("confidence", &["4", "5"]));
                }
                "went_badly" => {
                    q.id = "bad".into();
                    q.show_if = Some(Condition::any_of("confidence", &["1", "2", "3"]));
                }
                _ => {}
            }
            q.options
                .retain(|o| o.value != "humanity" && o.value != "employee");
        }
        scale.check().unwrap();
        BTreeMap::from([(1, thumbs), (2, scale)])
    }

    /// Seven responses over three weeks (the middle one empty), on both versions.
    fn v2_facts() -> Vec<(String, ResponseFacts)> {
        let w1 = |d, h| at(2026, 10, d, h, 0, 0);
        vec![
            (
                "a".into(),
                fact(
                    w1(5, 9),
                    1,
                    "website",
                    "en",
                    Some(1),
                    Some(true),
                    &[
                        ("trust", n(1)),
                        ("went_well", many(&["effectiveness", "ease"])),
                        ("comment", text("Quick")),
                    ],
                ),
            ),
            (
                "b".into(),
                fact(
                    w1(7, 12),
                    1,
                    "website",
                    "es",
                    Some(0),
                    Some(false),
                    &[("trust", n(0)), ("went_badly", many(&["efficiency"]))],
                ),
            ),
            (
                // Last second of Sunday: still week one. Its answer to the hidden "what didn't go well" (stale data)
                // must count nowhere.
                "c".into(),
                fact(
                    at(2026, 10, 11, 23, 59, 59),
                    1,
                    "sms",
                    "en",
                    Some(1),
                    Some(true),
                    &[("trust", n(1)), ("went_badly", many(&["ease"]))],
                ),
            ),
            (
                "d".into(),
                fact(
                    at(2026, 10, 19, 0, 0, 0),
                    2,
                    "website",
                    "en",
                    Some(5),
                    Some(true),
                    &[("confidence", n(5)), ("good", many(&["ease", "other"]))],
                ),
            ),
            (
                "e".into(),
                fact(
                    w1(20, 8),
                    2,
                    "website",
                    "en",
                    Some(3),
                    Some(false),
                    &[("confidence", n(3)), ("bad", many(&["ease"]))],
                ),
            ),
            (
                "f".into(),
                fact(
                    w1(21, 8),
                    2,
                    "email",
                    "es",
                    Some(2),
                    Some(false),
                    &[("confidence", n(2))],
                ),
            ),
            (
                "g".into(),
                fact(w1(22, 8), 2, "email", "en", None, None, &[]),
            ),
        ]
    }

    fn only_facts(v: &[(String, ResponseFacts)]) -> Vec<ResponseFacts> {
        v.iter().map(|(_, f)| f.clone()).collect()
    }

    /// A week as (start, responses, positive, (successes, n) of trust).
    type WeekRow = (NaiveDate, u64, u64, Option<(u64, u64)>);

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    #[test]
    fn weeks_are_local_to_the_organization() {
        let ny = Zone::default();
        // Sunday 22:30 in New York is already Monday in UTC: the response belongs to the week that is ending there.
        let sunday_evening = at(2026, 10, 12, 2, 30, 0);
        assert_eq!(week_start(sunday_evening, &ny), date(2026, 10, 5));
        assert_eq!(week_start(sunday_evening, &Zone::utc()), date(2026, 10, 12));
    }

    #[test]
    fn weeks_start_on_monday_utc() {
        assert_eq!(
            week_start(at(2026, 10, 5, 0, 0, 0), &Zone::utc()),
            date(2026, 10, 5)
        );
        assert_eq!(
            week_start(at(2026, 10, 11, 23, 59, 59), &Zone::utc()),
            date(2026, 10, 5)
        );
        assert_eq!(
            week_start(at(2026, 10, 12, 0, 0, 0), &Zone::utc()),
            date(2026, 10, 12)
        );
        // Before the epoch: Wednesday 31 December 1969 is in the week of Monday the 29th.
        assert_eq!(week_start(-1, &Zone::utc()), date(1969, 12, 29));
        // Out of chrono's range: no panic.
        let _ = week_start(i64::MAX, &Zone::utc());
        let _ = week_start(i64::MIN, &Zone::utc());
    }

    #[test]
    fn a_report_reads_each_response_with_its_own_version() {
        let r = survey_report(&v2_versions(), &only_facts(&v2_facts()), None, &Zone::utc());
        assert_eq!(r.responses, 7);
        // a, c, d positive of the six trust answers (g has none).
        let t = r.trust.unwrap();
        assert_eq!((t.successes, t.n), (3, 6));
        assert!(close(t.p, 0.5));
        assert_eq!(t, wilson(3, 6, None));
        // Only version 2's 5, 3 and 2 are on the scale.
        assert!(close(r.trust_mean.unwrap(), 10.0 / 3.0));

        // Only the scale's trust question is a v1-style driver, labelled with version 2's wording.
        assert_eq!(r.drivers.len(), 1);
        let d = &r.drivers[0];
        assert_eq!(d.role, "trust");
        assert_eq!(d.label, "I trust the agency.");
        assert_eq!(d.counts, [0, 1, 1, 0, 1]);
        assert_eq!((d.agree.successes, d.agree.n), (1, 3));
        assert!(close(d.mean.unwrap(), 10.0 / 3.0));

        // (positive chosen, positive offered, negative chosen, negative offered): version 1 offers all seven
        // options, version 2 neither humanity nor employee.
        let got: Vec<(&str, u64, u64, u64, u64)> = r
            .indicators
            .iter()
            .map(|i| {
                (
                    i.indicator,
                    i.positive_chosen,
                    i.positive_offered,
                    i.negative_chosen,
                    i.negative_offered,
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                ("effectiveness", 1, 3, 0, 3),
                ("ease", 2, 3, 1, 3),
                ("efficiency", 0, 3, 1, 3),
                ("transparency", 0, 3, 0, 3),
                ("humanity", 0, 2, 0, 1),
                ("employee", 0, 2, 0, 1),
                ("other", 1, 3, 0, 3),
            ]
        );

        // The empty week between is there, with no trust figure.
        let weeks: Vec<WeekRow> = r
            .weekly
            .iter()
            .map(|w| {
                (
                    w.week_start,
                    w.responses,
                    w.positive,
                    w.trust.map(|t| (t.successes, t.n)),
                )
            })
            .collect();
        assert_eq!(
            weeks,
            vec![
                (date(2026, 10, 5), 3, 2, Some((2, 3))),
                (date(2026, 10, 12), 0, 0, None),
                (date(2026, 10, 19), 4, 1, Some((1, 3))),
            ]
        );

        // Every segment has fewer than 10 trust answers, so none shows trust. Largest first.
        let seg = |v: &[SegmentStat]| -> Vec<(String, u64, bool, bool)> {
            v.iter()
                .map(|s| (s.key.clone(), s.responses, s.suppressed, s.trust.is_some()))
                .collect()
        };
        assert_eq!(
            seg(&r.by_channel),
            vec![
                ("website".into(), 4, true, false),
                ("email".into(), 2, true, false),
                ("sms".into(), 1, true, false),
            ]
        );
        assert_eq!(
            seg(&r.by_language),
            vec![("en".into(), 5, true, false), ("es".into(), 2, true, false)]
        );
    }

    #[test]
    fn the_population_narrows_the_overall_intervals() {
        let mut facts = only_facts(&v2_facts());
        // Without g (no trust answer), six trust answers from six customers is a census: no sampling error at all.
        facts.pop();
        let census = survey_report(&v2_versions(), &facts, Some(6), &Zone::utc());
        assert!(!census.customers_below_responses);
        let t = census.trust.unwrap();
        assert!(close(t.low, 0.5) && close(t.high, 0.5));
        let free = survey_report(&v2_versions(), &facts, None, &Zone::utc()).drivers[0].agree;
        let corrected =
            survey_report(&v2_versions(), &facts, Some(10), &Zone::utc()).drivers[0].agree;
        assert!(corrected.high - corrected.low < free.high - free.low);
        // Weeks and segments have no population of their own, so they are never corrected.
        assert_eq!(census.weekly[0].trust, Some(wilson(2, 3, None)));
    }

    #[test]
    fn v1_drivers_count_each_answer_across_versions() {
        let v1 = templates::a11_v1(&service());
        let mut v1b = v1.clone();
        // Version 2 renames the satisfaction question and rewords it; reports follow the role, not the id.
        v1b.questions[0].id = "sat".into();
        v1b.questions[0].prompt = LocalizedText::new("I am satisfied.", "Estoy satisfecho.");
        let versions = BTreeMap::from([(1, v1), (2, v1b)]);
        let r1 = [
            ("satisfaction", n(5)),
            ("trust", n(4)),
            ("effectiveness", n(3)),
            ("ease", n(5)),
            ("efficiency", n(2)),
            ("transparency", n(4)),
        ];
        let r2 = [
            ("satisfaction", n(1)),
            ("trust", n(2)),
            ("effectiveness", n(4)),
            ("ease", n(4)),
            ("efficiency", n(2)),
            ("transparency", n(5)),
            ("employee", n(5)),
        ];
        let r3 = [
            ("sat", n(4)),
            ("trust", n(5)),
            ("effectiveness", n(5)),
            ("ease", n(1)),
            ("efficiency", n(3)),
            ("transparency", n(3)),
            ("employee", n(1)),
            // An answer under version 1's id means nothing in version 2.
            ("satisfaction", n(1)),
        ];
        let ms = at(2026, 11, 23, 10, 0, 0);
        let facts = vec![
            fact(ms, 1, "website", "en", Some(4), Some(true), &r1),
            fact(ms, 1, "website", "en", Some(2), Some(false), &r2),
            fact(ms, 2, "website", "en", Some(5), Some(true), &r3),
        ];
        let r = survey_report(&versions, &facts, None, &Zone::utc());
        let got: Vec<(&str, [u64; 5], u64, u64, f64)> = r
            .drivers
            .iter()
            .map(|d| {
                (
                    d.role,
                    d.counts,
                    d.agree.successes,
                    d.agree.n,
                    d.mean.unwrap(),
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                ("satisfaction", [1, 0, 0, 1, 1], 2, 3, 10.0 / 3.0),
                ("trust", [0, 1, 0, 1, 1], 2, 3, 11.0 / 3.0),
                ("effectiveness", [0, 0, 1, 1, 1], 2, 3, 4.0),
                ("ease", [1, 0, 0, 1, 1], 2, 3, 10.0 / 3.0),
                ("efficiency", [0, 2, 1, 0, 0], 0, 3, 7.0 / 3.0),
                ("transparency", [0, 0, 1, 1, 1], 2, 3, 4.0),
                ("employee", [1, 0, 0, 0, 1], 1, 2, 3.0),
            ]
        );
        // The newest version's wording labels the driver.
        assert_eq!(r.drivers[0].label, "I am satisfied.");
        assert_eq!(
            r.drivers[1].label,
            "This interaction increased my confidence in Passports."
        );
        assert!(close(r.trust_mean.unwrap(), 11.0 / 3.0));
        // Version 1 surveys ask no indicators, so the dashboard shows none.
        assert!(r.indicators.is_empty());
        assert_eq!(r.weekly.len(), 1);
    }

    #[test]
    fn small_segments_are_suppressed_below_ten_trust_answers() {
        let ms = at(2027, 1, 4, 12, 0, 0);
        let mut facts = Vec::new();
        for i in 0..10 {
            facts.push(fact(
                ms,
                1,
                "website",
                "en",
                Some(if i < 7 { 1 } else { 0 }),
                Some(i < 7),
                &[],
            ));
        }
        for i in 0..9 {
            facts.push(fact(
                ms,
                1,
                "phone",
                "es",
                Some(if i < 3 { 4 } else { 2 }),
                Some(i < 3),
                &[],
            ));
        }
        // Responses without a trust answer count as responses, not toward the threshold.
        for _ in 0..2 {
            facts.push(fact(ms, 1, "phone", "es", None, None, &[]));
        }
        // No definitions at all: trust still comes from the denormalized fields.
        let r = survey_report(&BTreeMap::new(), &facts, None, &Zone::utc());
        assert_eq!(r.responses, 21);
        assert_eq!(r.trust, Some(wilson(10, 19, None)));
        assert!(r.drivers.is_empty() && r.indicators.is_empty());
        let phone = &r.by_channel[0];
        assert_eq!((phone.key.as_str(), phone.responses), ("phone", 11));
        assert!(phone.suppressed && phone.trust.is_none());
        let web = &r.by_channel[1];
        assert_eq!((web.key.as_str(), web.responses), ("website", 10));
        assert!(!web.suppressed);
        assert_eq!(web.trust, Some(wilson(7, 10, None)));
        assert_eq!(r.by_language[0].key, "es");
        assert!(r.by_language[0].suppressed);
        assert_eq!(r.by_language[1].trust, Some(wilson(7, 10, None)));
        // Without definitions the scale is read from the answers: the phone's 4s and 2s are on the scale, the
        // website's thumbs are not, so the mean is (3 * 4 + 6 * 2) / 9.
        assert!(close(r.trust_mean.unwrap(), 24.0 / 9.0));
    }

    #[test]
    fn the_trust_scale_is_inferred_when_the_version_is_unknown() {
        let ms = at(2027, 1, 4, 12, 0, 0);
        let facts = vec![
            // A scale 1 is negative; a thumbs 1 is positive; a thumbs 0 has no mean.
            fact(ms, 7, "website", "en", Some(1), Some(false), &[]),
            fact(ms, 7, "website", "en", Some(1), Some(true), &[]),
            fact(ms, 7, "website", "en", Some(0), Some(false), &[]),
            fact(ms, 7, "website", "en", Some(4), Some(true), &[]),
        ];
        let r = survey_report(&BTreeMap::new(), &facts, None, &Zone::utc());
        assert!(close(r.trust_mean.unwrap(), 2.5));
        let thumbs_only = survey_report(&BTreeMap::new(), &facts[1..3], None, &Zone::utc());
        assert_eq!(thumbs_only.trust_mean, None);
    }

    #[test]
    fn no_responses_make_an_empty_report() {
        let r = survey_report(&v2_versions(), &[], Some(100), &Zone::utc());
        assert_eq!(r.responses, 0);
        assert_eq!(r.trust, None);
        assert_eq!(r.trust_mean, None);
        assert!(r.weekly.is_empty() && r.by_channel.is_empty() && r.by_language.is_empty());
        // The questions exist, so their rows do, with nobody counted.
        assert_eq!(r.drivers[0].agree.n, 0);
        assert_eq!(r.drivers[0].mean, None);
        assert_eq!(r.indicators.len(), 7);
        assert!(r.indicators.iter().all(|i| i.positive_offered == 0));
        // It serializes for the templates.
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["drivers"][0]["role"], "trust");
        assert_eq!(json["indicators"][0]["indicator"], "effectiveness");
    }

    fn row(id: &str, q1: &str, pos: Vec<&str>, neg: Vec<&str>, comment: &str) -> Vec<String> {
        let mut r = vec![id.to_string(), q1.to_string()];
        r.extend(pos.into_iter().chain(neg).map(String::from));
        r.push(comment.into());
        r
    }

    /// Expected rows computed by hand from A-11 v2's upload rules as GSA Touchpoints applies them
    /// (GSA/touchpoints, `app/models/form.rb`, `to_a11_v2_csv`): `question_1` is the trust answer as given (thumbs
    /// 1 / 0, or the 1-5 value); an indicator is `1` if chosen and `0` if the version's question lists the option,
    /// on either side, whichever side the respondent saw; `null` only where the question does not list it (the
    /// agency marked it not applicable); `question_4` is the comment as stored.
    #[test]
    fn the_v2_upload_file_follows_the_reference_rules() {
        assert_eq!(A11_V2_CSV_HEADER.len(), 17);
        assert_eq!(A11_V2_CSV_HEADER[0], "external_id");
        assert_eq!(A11_V2_CSV_HEADER[1], "question_1");
        assert_eq!(A11_V2_CSV_HEADER[8], "positive_other");
        assert_eq!(A11_V2_CSV_HEADER[9], "negative_effectiveness");
        assert_eq!(A11_V2_CSV_HEADER[16], "question_4");
        for (i, ind) in V2_INDICATORS.iter().enumerate() {
            assert_eq!(A11_V2_CSV_HEADER[2 + i], format!("positive_{ind}"));
            assert_eq!(A11_V2_CSV_HEADER[9 + i], format!("negative_{ind}"));
        }

        let rows = a11_v2_csv_rows(&v2_versions(), &v2_facts());
        // Version 2 marks humanity and employee not applicable.
        let na = |v: [&'static str; 5]| vec![v[0], v[1], v[2], v[3], "null", "null", v[4]];
        let expected = vec![
            // The side not shown is 0, not null: its question lists every option.
            row(
                "a",
                "1",
                vec!["1", "1", "0", "0", "0", "0", "0"],
                vec!["0"; 7],
                "Quick",
            ),
            row(
                "b",
                "0",
                vec!["0"; 7],
                vec!["0", "0", "1", "0", "0", "0", "0"],
                "",
            ),
            // c's stale "what didn't go well" answer was never shown, so nothing on that side was chosen.
            row("c", "1", vec!["0"; 7], vec!["0"; 7], ""),
            // A 5-point trust answer is written as its value.
            row(
                "d",
                "5",
                na(["0", "1", "0", "0", "1"]),
                na(["0", "0", "0", "0", "0"]),
                "",
            ),
            // On the 1-5 scale, 3 is negative.
            row(
                "e",
                "3",
                na(["0", "0", "0", "0", "0"]),
                na(["0", "1", "0", "0", "0"]),
                "",
            ),
            row(
                "f",
                "2",
                na(["0", "0", "0", "0", "0"]),
                na(["0", "0", "0", "0", "0"]),
                "",
            ),
            // g has no trust answer and is left out.
        ];
        assert_eq!(rows, expected);
        assert!(rows.iter().all(|r| r.len() == A11_V2_CSV_HEADER.len()));
    }

    #[test]
    fn the_upload_file_holds_only_a11_v2_responses_and_comments_as_stored() {
        // A v1 version's "confidence" answers are not v2 trust answers, and a response of an unknown version
        // cannot be shown to be one.
        let v1 = templates::a11_v1(&service());
        let v2 = templates::a11_v2(&service(), TrustScale::Thumbs);
        let versions = BTreeMap::from([(1, v1), (2, v2)]);
        let ms = at(2026, 11, 23, 10, 0, 0);
        let facts = vec![
            (
                "v1".to_string(),
                fact(
                    ms,
                    1,
                    "website",
                    "en",
                    Some(4),
                    Some(true),
                    &[("trust", n(4)), ("comment", text("Thanks"))],
                ),
            ),
            (
                "v2".to_string(),
                fact(
                    ms,
                    2,
                    "website",
                    "en",
                    Some(0),
                    Some(false),
                    &[
                        ("trust", n(0)),
                        ("comment", text("=1+2 @ <EMAIL_ADDRESS> -ok")),
                    ],
                ),
            ),
            (
                "lost".to_string(),
                fact(
                    ms,
                    9,
                    "website",
                    "en",
                    Some(1),
                    Some(true),
                    &[("comment", text("x"))],
                ),
            ),
        ];
        let rows = a11_v2_csv_rows(&versions, &facts);
        assert_eq!(
            rows,
            vec![row(
                "v2",
                "0",
                vec!["0"; 7],
                vec!["0"; 7],
                "=1+2 @ <EMAIL_ADDRESS> -ok"
            )]
        );
    }

    #[test]
    fn customers_served_below_the_responses_are_flagged_not_a_zero_width_interval() {
        let facts = only_facts(&v2_facts());
        // Seven responses but three customers served: the entered volume cannot be right.
        let r = survey_report(&v2_versions(), &facts, Some(3), &Zone::utc());
        assert!(r.customers_below_responses);
        let t = r.trust.unwrap();
        assert_eq!(t, wilson(3, 6, None));
        assert!(t.high - t.low > 0.3);
        assert_eq!(r.drivers[0].agree, wilson(1, 3, None));
        let ok = survey_report(&v2_versions(), &facts, Some(7), &Zone::utc());
        assert!(!ok.customers_below_responses);
        let c = collection_figures(30, 120, Some(20));
        assert!(c.customers_below_respondents);
        assert!(!collection_figures(30, 120, Some(30)).customers_below_respondents);
        assert!(!collection_figures(30, 120, None).customers_below_respondents);
    }

    #[test]
    fn the_trend_spans_exactly_the_chosen_period() {
        let r = survey_report(&v2_versions(), &only_facts(&v2_facts()), None, &Zone::utc());
        // FY2027 Q1: Thursday 1 October 2026 to 31 December 2026, weeks from Monday 28 September.
        let weeks = weeks_between(&r.weekly, date(2026, 10, 1), date(2027, 1, 1));
        assert_eq!(weeks.len(), 14);
        assert_eq!(weeks[0].week_start, date(2026, 9, 28));
        assert_eq!(weeks[13].week_start, date(2026, 12, 28));
        assert_eq!(
            (weeks[1].week_start, weeks[1].responses),
            (date(2026, 10, 5), 3)
        );
        assert_eq!(
            (weeks[3].week_start, weeks[3].responses),
            (date(2026, 10, 19), 4)
        );
        assert_eq!(weeks.iter().map(|w| w.responses).sum::<u64>(), 7);
        // Points outside the period are left out.
        let next = weeks_between(&r.weekly, date(2027, 1, 1), date(2027, 4, 1));
        assert_eq!(next.iter().map(|w| w.responses).sum::<u64>(), 0);
        assert_eq!(next[0].week_start, date(2026, 12, 28));
    }

    /// The same figures from rollups as from the responses they count (`crate::rollup`), on every fixture here.
    fn via_rollups(
        versions: &BTreeMap<i32, SurveyDefinition>,
        facts: &[ResponseFacts],
        population: Option<u64>,
        zone: &Zone,
    ) -> SurveyReport {
        use crate::rollup::{AnswerDay, Counted, ResponseDay, Rollup};
        let survey = crate::SurveyId::new();
        let service = crate::ServiceId::new();
        let mut r = Rollup::default();
        for f in facts {
            let def = versions.get(&f.survey_version);
            r.add(
                Counted {
                    day: zone.day_number(f.submitted_at),
                    survey_id: survey,
                    survey_version: f.survey_version,
                    service_id: service,
                    touchpoint_id: None,
                    channel: &f.channel,
                    language: &f.language,
                    trust: f.trust,
                    trust_positive: f.trust_positive,
                    answers: &f.answers,
                },
                |q| {
                    def.and_then(|d| d.questions.iter().find(|x| x.id == q))
                        .is_some_and(|x| crate::rollup::counted(x.kind))
                },
            );
        }
        let days: Vec<ResponseDay> = r
            .responses
            .into_iter()
            .map(|(key, counts)| ResponseDay { key, counts })
            .collect();
        let answers: Vec<AnswerDay> = r
            .answers
            .into_iter()
            .map(|(key, answers)| AnswerDay { key, answers })
            .collect();
        crate::rollup::survey_report(versions, &days, &answers, population)
    }

    #[test]
    fn rollups_give_the_same_figures_as_the_responses() {
        let v1 = templates::a11_v1(&service());
        let v1_facts = vec![
            fact(
                at(2026, 11, 23, 10, 0, 0),
                1,
                "website",
                "en",
                Some(4),
                Some(true),
                &[("satisfaction", n(5)), ("trust", n(4)), ("ease", n(2))],
            ),
            fact(
                at(2026, 11, 30, 3, 0, 0),
                1,
                "phone",
                "es",
                Some(1),
                Some(false),
                &[("satisfaction", n(1)), ("trust", n(1)), ("employee", n(5))],
            ),
            fact(
                at(2026, 12, 14, 3, 0, 0),
                9,
                "phone",
                "es",
                Some(1),
                Some(true),
                &[],
            ),
        ];
        let v1_versions = BTreeMap::from([(1, v1)]);
        let v2 = only_facts(&v2_facts());
        let zones = [Zone::utc(), Zone::parse("America/Los_Angeles").unwrap()];
        for zone in &zones {
            for population in [None, Some(3), Some(1000)] {
                for (versions, facts) in [
                    (&v2_versions(), &v2),
                    (&v1_versions, &v1_facts),
                    (&BTreeMap::new(), &v2),
                ] {
                    let want = survey_report(versions, facts, population, zone);
                    assert_eq!(via_rollups(versions, facts, population, zone), want);
                    // A survey without responses, too.
                    assert_eq!(
                        via_rollups(versions, &[], population, zone),
                        survey_report(versions, &[], population, zone)
                    );
                }
            }
        }
        // The figures are not trivially empty.
        let r = via_rollups(&v2_versions(), &v2, None, &Zone::utc());
        assert_eq!(r.responses, 7);
        assert!(r.indicators.iter().any(|i| i.positive_chosen > 0));
        let r1 = via_rollups(&v1_versions, &v1_facts, None, &Zone::utc());
        assert_eq!(r1.drivers[0].counts, [1, 0, 0, 0, 1]);
    }

    #[test]
    fn the_response_rate_is_respondents_over_offered() {
        let c = collection_figures(30, 120, Some(5000));
        assert_eq!(
            c,
            CollectionFigures {
                respondents: 30,
                offered: 120,
                response_rate: Some(0.25),
                customers: Some(5000),
                customers_below_respondents: false,
            }
        );
        assert_eq!(collection_figures(3, 0, None).response_rate, None);
        // Not clamped: more respondents than displays means displays are undercounted, and that should show.
        assert_eq!(collection_figures(5, 4, None).response_rate, Some(1.25));
    }
}
