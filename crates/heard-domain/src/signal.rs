//! Signals: feedback nobody asked for (a web form, a social post, a review, a chat, a call transcript, an email, a
//! staff observation). Each has free text (or, for a call transcript, speaker turns), an optional rating, where it
//! came from, and who wrote it: the public or staff. Its text is redacted and enriched like a response's before it
//! is stored; in a transcript only the customer's turns count for sentiment and themes.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::intake::{self, Common, at};
use crate::{FieldError, FieldErrors, Lang};

/// Where a signal came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SignalSource {
    WebForm,
    Social,
    Review,
    Chat,
    CallTranscript,
    Email,
    StaffObservation,
}

impl SignalSource {
    pub const ALL: [SignalSource; 7] = [
        SignalSource::WebForm,
        SignalSource::Social,
        SignalSource::Review,
        SignalSource::Chat,
        SignalSource::CallTranscript,
        SignalSource::Email,
        SignalSource::StaffObservation,
    ];

    pub fn key(self) -> &'static str {
        match self {
            SignalSource::WebForm => "web_form",
            SignalSource::Social => "social",
            SignalSource::Review => "review",
            SignalSource::Chat => "chat",
            SignalSource::CallTranscript => "call_transcript",
            SignalSource::Email => "email",
            SignalSource::StaffObservation => "staff_observation",
        }
    }

    pub fn parse(field: &str, s: &str) -> Result<SignalSource, FieldError> {
        SignalSource::ALL
            .into_iter()
            .find(|x| x.key() == s)
            .ok_or_else(|| {
                FieldError::new(
                    field,
                    "unknown_source",
                    format!(
                        "{field} must be one of {}",
                        SignalSource::ALL.map(|s| s.key()).join(", ")
                    ),
                )
            })
    }
}

/// Who wrote a signal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Author {
    /// A member of the public.
    Public,
    /// The agency's own staff (an observation, a note).
    Staff,
}

impl Author {
    pub fn key(self) -> &'static str {
        match self {
            Author::Public => "public",
            Author::Staff => "staff",
        }
    }
}

/// Who speaks in one turn of a transcript.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Speaker {
    Customer,
    Agent,
}

/// One turn of a call or chat transcript.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Turn {
    pub speaker: Speaker,
    pub text: String,
}

/// The longest text a signal other than a transcript may have, in characters.
pub const MAX_TEXT: usize = 20_000;

/// The longest a transcript's turns may be together, in characters: about three hours of speech at 150 words a
/// minute, so a long call (or a chat kept open all day) still gets in.
pub const MAX_TRANSCRIPT: usize = 200_000;

/// A signal as parsed from the edge, before its text is redacted and enriched and its person hashed.
#[derive(Debug, Clone, PartialEq)]
pub struct SignalInput {
    pub common: Common,
    pub source: SignalSource,
    pub author: Author,
    /// The text; for a transcript, empty (its turns hold it).
    pub text: String,
    pub turns: Vec<Turn>,
    /// 1 to 5 when the source gave a rating (a review's stars).
    pub rating: Option<i16>,
    pub url: Option<String>,
    pub language: Option<Lang>,
}

impl SignalInput {
    /// The text that counts for sentiment and themes: the text, or a transcript's customer turns.
    pub fn customer_text(&self) -> String {
        if self.turns.is_empty() {
            self.text.clone()
        } else {
            self.turns
                .iter()
                .filter(|t| t.speaker == Speaker::Customer)
                .map(|t| t.text.as_str())
                .collect::<Vec<_>>()
                .join("\n")
        }
    }
}

/// Parses one signal item (`{"external_id", "source", "author", "text" | "turns", "rating", "url", "language",
/// "occurred_at", "service_id", "touchpoint_id", "person", "reference"}`). A call transcript has `turns`
/// (`[{"speaker": "customer"|"agent", "text"}]`) and no `text`; every other source has `text`. `author` defaults to
/// staff for a staff observation and to the public otherwise.
pub fn parse_signal(
    m: &Map<String, Value>,
    prefix: &str,
    now_ms: i64,
) -> Result<SignalInput, FieldErrors> {
    let mut errs = FieldErrors::default();
    intake::only_fields(
        m,
        prefix,
        &[
            "external_id",
            "source",
            "author",
            "text",
            "turns",
            "rating",
            "url",
            "language",
            "occurred_at",
            "service_id",
            "touchpoint_id",
            "person",
            "reference",
        ],
        "a signal",
        &mut errs,
    );
    let common = intake::parse_common(m, prefix, now_ms, &mut errs);
    let source = match intake::opt_str(m, prefix, "source", &mut errs) {
        Some(s) => SignalSource::parse(&at(prefix, "source"), s)
            .map_err(|e| errs.push(e))
            .ok(),
        None => {
            if !m.contains_key("source") {
                let f = at(prefix, "source");
                errs.push(FieldError::new(
                    &f,
                    "required",
                    format!("{f} is required: where the signal came from, e.g. review"),
                ));
            }
            None
        }
    };
    let author = match intake::opt_str(m, prefix, "author", &mut errs) {
        Some("public") => Author::Public,
        Some("staff") => Author::Staff,
        Some(_) => {
            let f = at(prefix, "author");
            errs.push(FieldError::new(
                &f,
                "unknown_author",
                format!("{f} must be public or staff"),
            ));
            Author::Public
        }
        None if source == Some(SignalSource::StaffObservation) => Author::Staff,
        None => Author::Public,
    };
    let text = intake::opt_str(m, prefix, "text", &mut errs).map(str::to_string);
    let turns = parse_turns(m.get("turns"), prefix, &mut errs);
    let transcript = source == Some(SignalSource::CallTranscript);
    match (transcript, &text, turns.is_empty()) {
        (true, Some(_), _) => {
            let f = at(prefix, "text");
            errs.push(FieldError::new(
                &f,
                "use_turns",
                format!("a call transcript has turns, not {f}: send each speaker's turn in turns"),
            ));
        }
        (true, None, true) if !m.contains_key("turns") => {
            let f = at(prefix, "turns");
            errs.push(FieldError::new(&f, "required", format!("{f} is required for a call transcript: [{{\"speaker\": \"customer\", \"text\": \"…\"}}]")));
        }
        (false, _, false) => {
            let f = at(prefix, "turns");
            errs.push(FieldError::new(
                &f,
                "not_a_transcript",
                format!("{f} is only for source call_transcript or chat: send text instead"),
            ));
        }
        (false, None, true) => {
            let f = at(prefix, "text");
            errs.push(FieldError::new(
                &f,
                "required",
                format!("{f} is required: the feedback's words"),
            ));
        }
        _ => {}
    }
    let text = text.unwrap_or_default();
    let total: usize =
        text.chars().count() + turns.iter().map(|t| t.text.chars().count()).sum::<usize>();
    let limit = if turns.is_empty() {
        MAX_TEXT
    } else {
        MAX_TRANSCRIPT
    };
    if total > limit {
        let f = at(prefix, if turns.is_empty() { "text" } else { "turns" });
        errs.push(FieldError::new(
            &f,
            "too_long",
            format!("{f} must be at most {limit} characters"),
        ));
    } else if turns.is_empty()
        && source.is_some()
        && !transcript
        && text.trim().is_empty()
        && m.contains_key("text")
    {
        let f = at(prefix, "text");
        errs.push(FieldError::new(
            &f,
            "required",
            format!("{f} is empty: send the feedback's words"),
        ));
    }
    let rating = match m.get("rating") {
        None | Some(Value::Null) => None,
        Some(v) => match v.as_f64() {
            Some(n) if n.fract() == 0.0 && (1.0..=5.0).contains(&n) => Some(n as i16),
            _ => {
                let f = at(prefix, "rating");
                errs.push(FieldError::new(
                    &f,
                    "out_of_range",
                    format!("{f} must be a whole number from 1 to 5"),
                ));
                None
            }
        },
    };
    let url = match intake::opt_str(m, prefix, "url", &mut errs) {
        Some(u)
            if (u.starts_with("https://") || u.starts_with("http://"))
                && u.len() <= 2000
                && !u.contains(char::is_whitespace) =>
        {
            Some(u.to_string())
        }
        Some(_) => {
            let f = at(prefix, "url");
            errs.push(FieldError::new(
                &f,
                "invalid_url",
                format!("{f} must be an http or https address of at most 2,000 characters"),
            ));
            None
        }
        None => None,
    };
    let language = intake::opt_str(m, prefix, "language", &mut errs)
        .map(|l| {
            Lang::parse(l).map_err(|_| {
                let f = at(prefix, "language");
                FieldError::new(
                    &f,
                    "invalid_language",
                    format!("{f} must be a language code such as en or es"),
                )
            })
        })
        .transpose()
        .map_err(|e| errs.push(e))
        .ok()
        .flatten();
    errs.into_result(SignalInput {
        common,
        source: source.unwrap_or(SignalSource::WebForm),
        author,
        text,
        turns,
        rating,
        url,
        language,
    })
}

fn parse_turns(v: Option<&Value>, prefix: &str, errs: &mut FieldErrors) -> Vec<Turn> {
    let f = at(prefix, "turns");
    let items = match v {
        None | Some(Value::Null) => return Vec::new(),
        Some(Value::Array(a)) if !a.is_empty() && a.len() <= 2000 => a,
        Some(_) => {
            errs.push(FieldError::new(&f, "invalid_turns", format!("{f} must be a list of 1 to 2,000 turns, each {{\"speaker\": \"customer\" or \"agent\", \"text\": \"…\"}}")));
            return Vec::new();
        }
    };
    let mut out = Vec::with_capacity(items.len());
    for (i, t) in items.iter().enumerate() {
        let ft = format!("{f}[{i}]");
        let speaker = match t.get("speaker").and_then(Value::as_str) {
            Some("customer") => Some(Speaker::Customer),
            Some("agent") => Some(Speaker::Agent),
            _ => {
                errs.push(FieldError::new(
                    format!("{ft}.speaker"),
                    "unknown_speaker",
                    format!("{ft}.speaker must be customer or agent"),
                ));
                None
            }
        };
        let text = match t.get("text").and_then(Value::as_str) {
            Some(s) => Some(s.to_string()),
            None => {
                errs.push(FieldError::new(
                    format!("{ft}.text"),
                    "required",
                    format!("{ft}.text is required: what was said"),
                ));
                None
            }
        };
        if let Some(obj) = t.as_object() {
            for k in obj.keys().filter(|k| *k != "speaker" && *k != "text") {
                errs.push(FieldError::new(
                    format!("{ft}.{}", k.chars().take(40).collect::<String>()),
                    "unknown_field",
                    "a turn has only speaker and text",
                ));
            }
        }
        if let (Some(speaker), Some(text)) = (speaker, text) {
            out.push(Turn { speaker, text });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(v: Value) -> Result<SignalInput, FieldErrors> {
        parse_signal(v.as_object().unwrap(), "items[1]", 1_800_000_000_000)
    }

    #[test]
    fn a_review_parses() {
        let s = parse(
            json!({"external_id": "r-1", "source": "review", "text": "Slow but kind", "rating": 3}),
        )
        .unwrap();
        assert_eq!(
            (s.source, s.author, s.rating),
            (SignalSource::Review, Author::Public, Some(3))
        );
        let s = parse(json!({"external_id": "o-1", "source": "staff_observation", "text": "Line out the door"})).unwrap();
        assert_eq!(s.author, Author::Staff);
    }

    #[test]
    fn only_customer_turns_are_customer_text() {
        let s = parse(
            json!({"external_id": "t", "source": "call_transcript", "turns": [
            {"speaker": "agent", "text": "Thank you, happy to help!"},
            {"speaker": "customer", "text": "I waited two hours."}]}),
        )
        .unwrap();
        assert_eq!(s.customer_text(), "I waited two hours.");
    }

    #[test]
    fn errors_name_the_item_and_field() {
        let e = parse(json!({"source": "fax", "text": "x", "rating": 9})).unwrap_err();
        let got: Vec<_> = e.0.iter().map(|e| (e.field.as_str(), e.code)).collect();
        assert_eq!(
            got,
            [
                ("items[1].external_id", "required"),
                ("items[1].source", "unknown_source"),
                ("items[1].rating", "out_of_range"),
            ]
        );
    }
}

/// A signal as the store keeps it: text redacted, person and reference hashed, enrichment beside it.
#[derive(Debug, Clone, PartialEq)]
pub struct NewSignal {
    pub id: crate::SignalId,
    pub org_id: crate::OrgId,
    pub source: SignalSource,
    pub author: Author,
    pub service_id: Option<crate::ServiceId>,
    pub touchpoint_id: Option<crate::TouchpointId>,
    pub external_id: String,
    pub request_fingerprint: crate::idempotency::RequestFingerprint,
    pub url: Option<String>,
    pub rating: Option<i16>,
    /// "en" or "es", as detected (or given).
    pub language: String,
    /// Redacted; for a transcript, its customer turns.
    pub text: String,
    /// Redacted turns of a transcript; empty otherwise.
    pub turns: Vec<Turn>,
    pub enrichment: Option<Value>,
    pub sentiment: Option<String>,
    pub themes: Vec<String>,
    pub urgent: bool,
    pub person_key: Option<crate::identity::PersonKey>,
    pub reference_key: Option<crate::identity::ReferenceKey>,
    /// Milliseconds since the Unix epoch.
    pub occurred_at: i64,
    pub received_at: i64,
}
