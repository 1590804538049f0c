//! The response export format, shared by the admin's CSV download and `heard export`: one row per response, one
//! column per question when a survey is chosen (else the answers as one JSON column), never contact details, and
//! cells that a spreadsheet would run as formulas defused.

use heard_domain::response::AnswerValue;
use heard_domain::survey::{QuestionKind, SurveyDefinition};
use heard_store::StoredResponse;

const FIXED: [&str; 11] = [
    "response_id",
    "submitted_at",
    "survey_id",
    "survey_version",
    "service_id",
    "touchpoint_id",
    "channel",
    "language",
    "page_path",
    "trust",
    "trust_positive",
];

/// One question's column of the export. A column is one question: an id that two versions used for different kinds
/// of question (possible before ids were never reused, see `survey::next_question_id`) gives two columns, so
/// one column never holds one question's text answers and another's option codes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuestionColumn {
    /// The answers' key.
    pub id: String,
    /// The id, or for a later question under a used id, `id (version N)` with N the first version asking it.
    pub header: String,
    /// The versions whose answers under `id` belong in this column.
    pub versions: Vec<i32>,
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
                Some(i) => out[i].versions.push(v),
                None => {
                    let header = if out.iter().any(|c| c.id == q.id) {
                        format!("{} (version {v})", q.id)
                    } else {
                        q.id.clone()
                    };
                    out.push(QuestionColumn {
                        id: q.id.clone(),
                        header,
                        versions: vec![v],
                    });
                    kinds.push(q.kind);
                }
            }
        }
    }
    out
}

pub fn header(columns: &[QuestionColumn]) -> Vec<String> {
    let mut h: Vec<String> = FIXED.iter().map(|s| s.to_string()).collect();
    if columns.is_empty() {
        h.push("answers_json".into());
    } else {
        h.extend(columns.iter().map(|c| c.header.clone()));
    }
    h.push("sentiment".into());
    h
}

pub fn answer_text(v: &AnswerValue) -> String {
    match v {
        AnswerValue::Number(n) => n.to_string(),
        AnswerValue::Text(t) => t.clone(),
        AnswerValue::Many(v) => v.join("; "),
    }
}

/// The first free-text sentiment label of a response, if the text engine ran.
pub fn sentiment_label(r: &StoredResponse) -> Option<String> {
    r.enrichment
        .as_ref()?
        .as_object()?
        .values()
        .find_map(|a| a["sentiment"]["label"].as_str().map(str::to_string))
}

pub fn record(r: &StoredResponse, columns: &[QuestionColumn]) -> Vec<String> {
    let mut rec = vec![
        r.id.to_string(),
        chrono::DateTime::from_timestamp_millis(r.submitted_at)
            .map(|d| d.to_rfc3339())
            .unwrap_or_default(),
        r.survey_id.to_string(),
        r.survey_version.to_string(),
        r.service_id.to_string(),
        r.touchpoint_id.map(|t| t.to_string()).unwrap_or_default(),
        r.channel.clone(),
        r.language.clone(),
        r.page_path.clone().unwrap_or_default(),
        r.trust.map(|t| t.to_string()).unwrap_or_default(),
        r.trust_positive
            .map(|t| (t as u8).to_string())
            .unwrap_or_default(),
    ];
    if columns.is_empty() {
        rec.push(serde_json::to_string(&r.answers).unwrap_or_default());
    } else {
        rec.extend(columns.iter().map(|c| {
            if c.versions.contains(&r.survey_version) {
                r.answers.get(&c.id).map(answer_text).unwrap_or_default()
            } else {
                String::new()
            }
        }));
    }
    rec.push(sentiment_label(r).unwrap_or_default());
    rec.into_iter().map(|c| csv_safe(&c)).collect()
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
    use heard_domain::LocalizedText;
    use heard_domain::templates;

    #[test]
    fn a_reused_id_of_another_kind_gets_its_own_column() {
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
                ("comment", "comment", &[1, 3][..]),
                ("comment", "comment (version 2)", &[2][..]),
            ]
        );
    }

    #[test]
    fn formulas_are_defused() {
        assert_eq!(super::csv_safe("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(super::csv_safe("fine"), "fine");
        assert_eq!(super::csv_safe("\u{202E}=1+1"), "'=1+1");
    }
}
