//! The response exports, shared by the admin's CSV download and `heard export`, made for the people who open them in
//! a spreadsheet:
//!
//! - **Encoding.** UTF-8; the admin download starts with a byte-order mark (`BOM`; `heard export --bom` adds it too),
//!   without which Excel on Windows reads "sí" as "sÃ­".
//! - **Words, with codes beside them.** A choice answer (options, the agreement scale, thumbs, yes/no) is its label
//!   in the question's column (`How easy was it? [q4]`) and its code in `[q4] code`; channels and languages likewise
//!   (`channel` "In person", `channel_code` "in_person"; `sentiment` "Negative", `sentiment_code` "negative"); the
//!   touchpoint's name is in `touchpoint`, its id in `touchpoint_id`, as the service's are. Labels are the English wording of the version of the survey
//!   the response answered, so a column reads in one language whatever language each respondent used (the
//!   `language` column says which); a label missing in English falls back to any other.
//! - **Readable, unique headers.** Fixed columns come first. A question's column is headed by its English wording
//!   with its id in brackets (`How easy was it? [q4]`, its codes in `[q4] code`; see `QuestionColumn::header`), so
//!   people read it without a code book and machines still find the id between the last brackets; an id that
//!   versions used for different kinds of question gets a column per question (`... [q4] (version N)`, see
//!   `question_columns`); a header that repeats one already used gets `_2`, `_3`... (`unique_headers`). The A-11 trust figures are `trust_score` and `trust_positive`, apart
//!   from the trust question's own `trust` column.
//! - **Local times.** `submitted_at` is ISO 8601 in the organization's time zone with its offset
//!   (`2026-09-30T22:30:00-04:00`).
//! - **Two layouts.** One survey: one row per response, one column (or label and code pair) per question of any of
//!   its versions. All surveys: one row per answer ("long" format: the response's columns, then `question_id`,
//!   `question`, `answer`, `answer_code`, `answer_sentiment` and `answer_sentiment_code`), which a pivot table or a filter reads directly whatever the
//!   survey; a response without answers still has one row.
//! - **Safety.** Never contact details; cells a spreadsheet would run as formulas are defused (`csv_safe`).

use heard_domain::response::AnswerValue;
use heard_domain::survey::{Question, QuestionKind, SurveyDefinition};
use heard_domain::{OrgId, ServiceId, SurveyId, Zone};
use heard_store::{Store, StoreError, StoredResponse};
use std::collections::{BTreeMap, BTreeSet};

use crate::labels::{answer_words, has_coded_answers};

/// The UTF-8 byte-order mark that tells Excel the file is UTF-8.
pub const BOM: &[u8] = b"\xEF\xBB\xBF";

/// The columns every row starts with, in both layouts.
const FIXED: [&str; 18] = [
    "response_id",
    "submitted_at",
    "survey",
    "survey_id",
    "survey_version",
    "service",
    "service_id",
    "touchpoint",
    "touchpoint_id",
    "channel",
    "channel_code",
    "language",
    "language_code",
    "page_path",
    "trust_score",
    "trust_positive",
    "sentiment",
    "sentiment_code",
];

/// The columns after `FIXED` in the long (all surveys) layout.
const LONG: [&str; 6] = [
    "question_id",
    "question",
    "answer",
    "answer_code",
    "answer_sentiment",
    "answer_sentiment_code",
];

/// The language labels are exported in.
const LABEL_LANG: &str = "en";

/// Makes headers unique: the first use of a name keeps it, later ones get `_2`, `_3`... (skipping names in use).
pub fn unique_headers(names: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for name in names {
        let mut candidate = name.clone();
        let mut n = 2;
        while seen.contains(&candidate) {
            candidate = format!("{name}_{n}");
            n += 1;
        }
        seen.insert(candidate.clone());
        out.push(candidate);
    }
    out
}

/// An answer's stored value(s), several joined by "; ".
pub fn answer_text(v: &AnswerValue) -> String {
    match v {
        AnswerValue::Number(n) => n.to_string(),
        AnswerValue::Text(t) => t.clone(),
        AnswerValue::Many(v) => v.join("; "),
    }
}

/// The free-text sentiment label the text engine gave one answer, if it ran.
fn answer_sentiment(r: &StoredResponse, question: &str) -> String {
    r.enrichment
        .as_ref()
        .and_then(|e| e[question]["sentiment"]["label"].as_str())
        .unwrap_or_default()
        .to_string()
}

/// One question's column of the export. A column is one question: an id that two versions used for different kinds
/// of question (possible before ids were never reused, see `survey::next_question_id`) gives two columns, so
/// one column never holds one question's text answers and another's option codes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuestionColumn {
    /// The answers' key.
    pub id: String,
    /// What people read: the question's English wording in its newest version (on one line, without a closing
    /// full stop) and the id in brackets, `How easy was it? [q4]`; `[q6]` alone for a question without wording (a
    /// hidden one). A later question under a used id adds ` (version N)`, N the first version asking it. The id
    /// keeps two questions with the same wording apart, and keeps the column findable when the wording changes.
    pub header: String,
    /// The versions whose answers under `id` belong in this column.
    pub versions: Vec<i32>,
    /// Whether its answers are codes with words (so a code column follows it).
    pub coded: bool,
    /// The first version asking this question, for a later question under a used id.
    since: Option<i32>,
}

impl QuestionColumn {
    /// The header of the codes beside the labels: `[id] code`, or `[id] code (version N)`.
    fn code_header(&self) -> String {
        match self.since {
            Some(v) => format!("[{}] code (version {v})", self.id),
            None => format!("[{}] code", self.id),
        }
    }

    fn set_header(&mut self, q: &Question) {
        let wording = q
            .prompt
            .get(LABEL_LANG)
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        let wording = wording.trim_end_matches(['.', ':', ';', ',', '…']);
        let mut h = if wording.is_empty() {
            format!("[{}]", self.id)
        } else {
            format!("{wording} [{}]", self.id)
        };
        if let Some(v) = self.since {
            h.push_str(&format!(" (version {v})"));
        }
        self.header = h;
    }
}

/// What an export needs besides the responses: the organization's zone, the names of its surveys and services, every
/// version of the surveys exported, and the layout.
pub struct Exporter {
    zone: Zone,
    survey_names: BTreeMap<SurveyId, String>,
    versions: BTreeMap<SurveyId, BTreeMap<i32, SurveyDefinition>>,
    services: BTreeMap<ServiceId, String>,
    touchpoints: BTreeMap<heard_domain::TouchpointId, String>,
    /// `Some` for one survey (wide layout), `None` for all (long layout).
    columns: Option<Vec<QuestionColumn>>,
    header: Vec<String>,
}

impl Exporter {
    /// Reads what an export of `survey` (or of every survey) of `org` needs.
    pub async fn load(
        store: &Store,
        org: OrgId,
        zone: Zone,
        survey: Option<SurveyId>,
    ) -> Result<Exporter, StoreError> {
        let surveys = store.surveys(org, None).await?;
        let mut versions = BTreeMap::new();
        for s in surveys
            .iter()
            .filter(|s| survey.is_none_or(|id| id == s.id))
        {
            let v: BTreeMap<i32, SurveyDefinition> = store
                .survey_versions(org, s.id)
                .await?
                .into_iter()
                .map(|v| (v.version, v.definition))
                .collect();
            versions.insert(s.id, v);
        }
        let services = store
            .services(org)
            .await?
            .into_iter()
            .map(|s| (s.id, s.name.get(LABEL_LANG).to_string()))
            .collect();
        let touchpoints = store
            .touchpoints(org)
            .await?
            .into_iter()
            .map(|t| (t.id, t.name.get(LABEL_LANG).to_string()))
            .collect();
        let columns = survey.map(|id| {
            question_columns(
                versions
                    .get(&id)
                    .into_iter()
                    .flat_map(|v| v.iter().map(|(n, d)| (*n, d))),
            )
        });
        let mut names: Vec<String> = FIXED.iter().map(|s| s.to_string()).collect();
        match &columns {
            Some(cols) => {
                for c in cols {
                    names.push(c.header.clone());
                    if c.coded {
                        names.push(c.code_header());
                    }
                }
            }
            None => names.extend(LONG.iter().map(|s| s.to_string())),
        }
        Ok(Exporter {
            zone,
            survey_names: surveys.into_iter().map(|s| (s.id, s.name)).collect(),
            versions,
            services,
            touchpoints,
            columns,
            // Headers hold staff's wording, so they are defused like any cell.
            header: unique_headers(names.iter().map(|h| csv_safe(h))),
        })
    }

    /// The organization's time zone, in which every time of the export is written.
    pub fn zone(&self) -> Zone {
        self.zone
    }

    /// The header row.
    pub fn header(&self) -> &[String] {
        &self.header
    }

    /// The rows of one response: one in the one-survey layout, one per answer (at least one) in the long layout.
    /// Cells are defused for spreadsheets.
    pub fn rows(&self, r: &StoredResponse) -> Vec<Vec<String>> {
        let def = self
            .versions
            .get(&r.survey_id)
            .and_then(|v| v.get(&r.survey_version));
        // A question of the response's own version, else of the newest version that has it.
        let question = |id: &str| -> Option<&Question> {
            def.and_then(|d| d.question(id)).or_else(|| {
                self.versions
                    .get(&r.survey_id)?
                    .values()
                    .rev()
                    .find_map(|d| d.question(id))
            })
        };
        let channel = r.channel.parse::<heard_domain::Channel>().ok();
        let fixed = vec![
            r.id.to_string(),
            self.zone.iso(r.submitted_at),
            self.survey_names
                .get(&r.survey_id)
                .cloned()
                .unwrap_or_default(),
            r.survey_id.to_string(),
            r.survey_version.to_string(),
            self.services
                .get(&r.service_id)
                .cloned()
                .unwrap_or_default(),
            r.service_id.to_string(),
            r.touchpoint_id
                .and_then(|t| self.touchpoints.get(&t).cloned())
                .unwrap_or_default(),
            r.touchpoint_id.map(|t| t.to_string()).unwrap_or_default(),
            channel
                .map(|c| c.label().to_string())
                .unwrap_or_else(|| r.channel.clone()),
            r.channel.clone(),
            crate::i18n::language_name(&r.language, LABEL_LANG),
            r.language.clone(),
            r.page_path.clone().unwrap_or_default(),
            r.trust.map(|t| t.to_string()).unwrap_or_default(),
            r.trust_positive
                .map(|t| (t as u8).to_string())
                .unwrap_or_default(),
            r.sentiment
                .as_deref()
                .map(|s| crate::labels::sentiment_word(s).to_string())
                .unwrap_or_default(),
            r.sentiment.clone().unwrap_or_default(),
        ];
        let rows = match &self.columns {
            Some(cols) => {
                let mut row = fixed;
                for c in cols {
                    // Answers under this id belong here only for the versions asking this question.
                    let a = r
                        .answers
                        .get(&c.id)
                        .filter(|_| c.versions.contains(&r.survey_version));
                    let q = question(&c.id);
                    row.push(
                        a.map(|a| answer_words(q, a, LABEL_LANG))
                            .unwrap_or_default(),
                    );
                    if c.coded {
                        row.push(a.map(answer_text).unwrap_or_default());
                    }
                }
                vec![row]
            }
            None => {
                // Answers in the order the survey asks them; any the version does not list come after.
                let mut ids: Vec<&str> = def
                    .map(|d| {
                        d.questions
                            .iter()
                            .map(|q| q.id.as_str())
                            .filter(|id| r.answers.contains_key(*id))
                            .collect()
                    })
                    .unwrap_or_default();
                ids.extend(
                    r.answers
                        .keys()
                        .map(String::as_str)
                        .filter(|k| !ids.contains(k))
                        .collect::<Vec<_>>(),
                );
                let mut out: Vec<Vec<String>> = ids
                    .into_iter()
                    .filter(|id| question(id).is_none_or(|q| !q.kind.is_contact()))
                    .map(|id| {
                        let q = question(id);
                        let a = &r.answers[id];
                        let mut row = fixed.clone();
                        row.push(id.to_string());
                        row.push(
                            q.map(|q| q.prompt.get(LABEL_LANG).to_string())
                                .unwrap_or_default(),
                        );
                        row.push(answer_words(q, a, LABEL_LANG));
                        row.push(if q.is_some_and(|q| has_coded_answers(q.kind)) {
                            answer_text(a)
                        } else {
                            String::new()
                        });
                        let sentiment = answer_sentiment(r, id);
                        row.push(crate::labels::sentiment_word(&sentiment).to_string());
                        row.push(sentiment);
                        row
                    })
                    .collect();
                if out.is_empty() {
                    let mut row = fixed;
                    row.extend(LONG.iter().map(|_| String::new()));
                    out.push(row);
                }
                out
            }
        };
        rows.into_iter()
            .map(|row| row.iter().map(|c| csv_safe(c)).collect())
            .collect()
    }
}

/// Question columns across every version of a survey, given as (version, definition) oldest first, in order of
/// first appearance, contacts left out. A question is its id and its kind.
pub fn question_columns<'a>(
    versions: impl IntoIterator<Item = (i32, &'a SurveyDefinition)>,
) -> Vec<QuestionColumn> {
    let mut out: Vec<QuestionColumn> = Vec::new();
    let mut kinds: Vec<QuestionKind> = Vec::new();
    for (v, def) in versions {
        for q in def.questions.iter().filter(|q| !q.kind.is_contact()) {
            match out
                .iter()
                .zip(&kinds)
                .position(|(c, k)| c.id == q.id && *k == q.kind)
            {
                Some(i) => {
                    out[i].versions.push(v);
                    out[i].set_header(q);
                }
                None => {
                    let mut c = QuestionColumn {
                        id: q.id.clone(),
                        header: String::new(),
                        versions: vec![v],
                        coded: has_coded_answers(q.kind),
                        since: out.iter().any(|c| c.id == q.id).then_some(v),
                    };
                    c.set_header(q);
                    out.push(c);
                    kinds.push(q.kind);
                }
            }
        }
    }
    out
}

/// Cells that a spreadsheet would run as a formula get a leading quote (CSV injection). Bidirectional controls are
/// removed first, as on every page staff read (`input::without_bidi_controls`), which also keeps one from hiding a
/// formula's first character from this check.
pub fn csv_safe(s: &str) -> String {
    let s = &*crate::input::without_bidi_controls(s);
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reused_id_of_another_kind_gets_its_own_column() {
        use heard_domain::LocalizedText;
        use heard_domain::templates;
        let v1 = templates::blank(&LocalizedText::new("X", "X"));
        let mut v2 = v1.clone();
        v2.questions[0].kind = QuestionKind::SingleChoice;
        let v3 = v1.clone();
        let cols = question_columns([(1, &v1), (2, &v2), (3, &v3)]);
        let got: Vec<(&str, &str, &[i32])> = cols
            .iter()
            .map(|c| (c.id.as_str(), c.header.as_str(), c.versions.as_slice()))
            .collect();
        assert_eq!(
            got,
            vec![
                (
                    "comment",
                    "Tell us about your experience [comment]",
                    &[1, 3][..]
                ),
                (
                    "comment",
                    "Tell us about your experience [comment] (version 2)",
                    &[2][..]
                ),
            ]
        );
        assert_eq!(cols[1].code_header(), "[comment] code (version 2)");
    }

    #[test]
    fn headers_read_as_the_questions_wording_with_the_id_in_brackets() {
        use heard_domain::LocalizedText;
        use heard_domain::templates;
        let mut v1 = templates::blank(&LocalizedText::new("X", "X"));
        v1.questions[0].prompt = LocalizedText::new("How easy was it?", "¿Fue fácil?");
        v1.questions[0].kind = QuestionKind::SingleChoice;
        let mut v2 = v1.clone();
        // A later wording names the column; the id keeps it apart from any other question.
        v2.questions[0].prompt = LocalizedText::new("How easy was it\nto apply?", "");
        let mut hidden = v2.questions[0].clone();
        hidden.id = "q6".into();
        hidden.kind = QuestionKind::Hidden;
        hidden.prompt = LocalizedText::default();
        v2.questions.push(hidden);
        let cols = question_columns([(1, &v1), (2, &v2)]);
        assert_eq!(cols[0].header, "How easy was it to apply? [comment]");
        assert_eq!(cols[0].code_header(), "[comment] code");
        assert_eq!(cols[1].header, "[q6]");
    }

    #[test]
    fn formulas_are_defused() {
        assert_eq!(csv_safe("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(csv_safe("fine"), "fine");
        assert_eq!(csv_safe("\u{202E}=1+1"), "'=1+1");
    }

    #[test]
    fn headers_are_made_unique() {
        let h = unique_headers(
            ["trust", "trust_code", "trust", "trust", "trust_2"]
                .iter()
                .map(|s| s.to_string()),
        );
        assert_eq!(
            h,
            ["trust", "trust_code", "trust_2", "trust_3", "trust_2_2"]
        );
    }
}
