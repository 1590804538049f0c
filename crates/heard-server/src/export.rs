//! The response export format, shared by the admin's CSV download and `heard export`: one row per response, one
//! column per question when a survey is chosen (else the answers as one JSON column), never contact details, and
//! cells that a spreadsheet would run as formulas defused.

use heard_domain::response::AnswerValue;
use heard_domain::survey::SurveyDefinition;
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

/// Question columns across every version of a survey, in order of first appearance, contacts left out.
pub fn question_columns<'a>(
    versions: impl IntoIterator<Item = &'a SurveyDefinition>,
) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for def in versions {
        for q in def.questions.iter().filter(|q| !q.kind.is_contact()) {
            if !out.contains(&q.id) {
                out.push(q.id.clone());
            }
        }
    }
    out
}

pub fn header(columns: &[String]) -> Vec<String> {
    let mut h: Vec<String> = FIXED.iter().map(|s| s.to_string()).collect();
    if columns.is_empty() {
        h.push("answers_json".into());
    } else {
        h.extend(columns.iter().cloned());
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

pub fn record(r: &StoredResponse, columns: &[String]) -> Vec<String> {
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
        rec.extend(
            columns
                .iter()
                .map(|c| r.answers.get(c).map(answer_text).unwrap_or_default()),
        );
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
    #[test]
    fn formulas_are_defused() {
        assert_eq!(super::csv_safe("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(super::csv_safe("fine"), "fine");
        assert_eq!(super::csv_safe("\u{202E}=1+1"), "'=1+1");
    }
}
