//! What one response carries: answers in canonical form and the envelope every channel fills in.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use crate::{Channel, Lang, OrgId, ResponseId, ServiceId, SurveyId, TouchpointId};

/// One answer in canonical form: a number for scales and thumbs, text for choices and text questions, a list for
/// several choices.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum AnswerValue {
    Number(i64),
    Text(String),
    Many(Vec<String>),
}

impl AnswerValue {
    /// The values as strings, as show/hide logic compares them.
    pub fn as_strings(&self) -> Vec<String> {
        match self {
            AnswerValue::Number(n) => vec![n.to_string()],
            AnswerValue::Text(t) if t.is_empty() => vec![],
            AnswerValue::Text(t) => vec![t.clone()],
            AnswerValue::Many(v) => v.clone(),
        }
    }
    pub fn as_number(&self) -> Option<i64> {
        match self {
            AnswerValue::Number(n) => Some(*n),
            _ => None,
        }
    }
    pub fn as_text(&self) -> Option<&str> {
        match self {
            AnswerValue::Text(t) => Some(t),
            _ => None,
        }
    }
    pub fn contains(&self, v: &str) -> bool {
        match self {
            AnswerValue::Many(vs) => vs.iter().any(|x| x == v),
            AnswerValue::Text(t) => t == v,
            AnswerValue::Number(n) => n.to_string() == v,
        }
    }
}

/// Answers keyed by question id, only for questions that were shown.
pub type Answers = BTreeMap<String, AnswerValue>;

/// The envelope: who, where, when and what, the same for every channel.
#[derive(Debug, Clone, PartialEq)]
pub struct NewResponse {
    pub id: ResponseId,
    pub org_id: OrgId,
    pub survey_id: SurveyId,
    pub survey_version: i32,
    pub service_id: ServiceId,
    pub touchpoint_id: Option<TouchpointId>,
    pub channel: Channel,
    pub language: Lang,
    pub page_path: Option<String>,
    /// Milliseconds since the Unix epoch.
    pub submitted_at: i64,
    pub idempotency_key: String,
    /// The keyed hash of the normalised request (`crate::idempotency`): a retry with the same key and the same
    /// fingerprint is the first response again; the same key with another fingerprint is refused.
    pub request_fingerprint: crate::idempotency::RequestFingerprint,
    /// Answers with contact details (email, phone) removed: those go to `contacts`, encrypted.
    pub answers: Answers,
    /// Trust on a 0..1 (thumbs) or 1..5 scale, denormalized for dashboards; `None` if not asked or not answered.
    pub trust: Option<i16>,
    /// Whether the trust answer is positive (thumbs up, or 4-5).
    pub trust_positive: Option<bool>,
    /// Keyed hash of the respondent's contact, when one was given; never the contact itself.
    pub person_key: Option<String>,
    /// Contact answers, already encrypted (nonce || ciphertext), keyed by question id.
    pub contacts: Vec<(String, Vec<u8>)>,
    /// Free-text analysis, when the text engine ran: JSON of sentiment, themes, flags per question.
    pub enrichment: Option<serde_json::Value>,
    /// The most negative sentiment label among the free-text answers ("negative", "neutral", "positive").
    pub sentiment: Option<String>,
    /// Theme ids found in the free-text answers.
    pub themes: Vec<String>,
    /// Crisis or threat language was found: the response needs a person now.
    pub urgent: bool,
    /// The original free text, sealed, kept only when the organization turns that on.
    pub raw_texts: Vec<(String, Vec<u8>)>,
}

/// Validates an idempotency key: 8 to 100 characters of letters, digits, `-` and `_`
/// (`crate::idempotency::IdempotencyKey`).
pub fn parse_idempotency_key(s: &str) -> Result<String, crate::FieldError> {
    crate::idempotency::IdempotencyKey::parse("idempotency_key", s).map(|k| k.into_string())
}

/// Validates the page path a response came from: an absolute path (starting with `/`) of at most 500 characters
/// without control characters, exactly as sent; the query string and fragment are then dropped unless the survey opts
/// in. The API document states the same pattern and bound.
pub fn parse_page_path(s: &str, keep_query: bool) -> Result<String, crate::FieldError> {
    if !s.starts_with('/') || s.chars().count() > 500 || s.chars().any(char::is_control) {
        return Err(crate::FieldError::new(
            "page_path",
            "invalid_page_path",
            "page_path must be a path starting with '/', at most 500 characters, without control characters (e.g. /renew/confirmation)",
        ));
    }
    let s = if keep_query {
        s
    } else {
        s.split(['?', '#']).next().unwrap_or("")
    };
    Ok(s.to_string())
}
