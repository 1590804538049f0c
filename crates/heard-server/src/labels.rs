//! Words for codes: what people read for an answer code, the one rule for the hosted page's options, the admin's
//! response page and the exports. Codes stay where machines read them (the JSON API, NDJSON, `_code` columns).
//! New channels of answers (imports, SMS) show answers through these functions too.

use heard_domain::response::AnswerValue;
use heard_domain::survey::{Question, QuestionKind};

/// Whether a question's answers are codes with words for people (so it gets a `_code` column beside its labels).
pub fn has_coded_answers(kind: QuestionKind) -> bool {
    matches!(
        kind,
        QuestionKind::SingleChoice
            | QuestionKind::MultipleChoice
            | QuestionKind::Agreement5
            | QuestionKind::Thumbs
            | QuestionKind::YesNo
    )
}

/// The words of one answer code of `q` in `lang` (English if missing): an option's label, or the fixed scale's
/// wording from the UI strings. An unknown code stays as it is.
pub fn code_label(q: &Question, code: &str, lang: &str) -> String {
    let scale = |k: &str| {
        crate::i18n::strings(lang)["scale"][k]
            .as_str()
            .unwrap_or(code)
            .to_string()
    };
    match (q.kind, code) {
        (QuestionKind::Agreement5, "1" | "2" | "3" | "4" | "5") => scale(&format!("a{code}")),
        (QuestionKind::Thumbs, "1") => scale("thumbs_up"),
        (QuestionKind::Thumbs, "0") => scale("thumbs_down"),
        (QuestionKind::YesNo, "yes" | "no") => scale(code),
        _ => q
            .options
            .iter()
            .find(|o| o.value == code)
            .map(|o| {
                let l = o.label.get(lang);
                if l.is_empty() {
                    o.label
                        .0
                        .values()
                        .find(|v| !v.is_empty())
                        .cloned()
                        .unwrap_or_default()
                } else {
                    l.to_string()
                }
            })
            .filter(|l| !l.is_empty())
            .unwrap_or_else(|| code.to_string()),
    }
}

/// An answer as people read it: labels for coded answers (several joined by "; "), the text itself otherwise.
pub fn answer_words(q: Option<&Question>, v: &AnswerValue, lang: &str) -> String {
    match q.filter(|q| has_coded_answers(q.kind)) {
        Some(q) => v
            .as_strings()
            .iter()
            .map(|c| code_label(q, c, lang))
            .collect::<Vec<_>>()
            .join("; "),
        None => crate::export::answer_text(v),
    }
}

/// The codes a person may choose for `q`, in the order shown, with their words in `lang`: the fixed scales first
/// (agreement 1-5, thumbs up then down, yes then no), otherwise the question's own options.
pub fn choices(q: &Question, lang: &str) -> Vec<(String, String)> {
    let codes: Vec<String> = match q.kind {
        QuestionKind::Agreement5 => (1..=5).map(|n| n.to_string()).collect(),
        QuestionKind::Thumbs => vec!["1".into(), "0".into()],
        QuestionKind::YesNo => vec!["yes".into(), "no".into()],
        _ => q.options.iter().map(|o| o.value.clone()).collect(),
    };
    codes
        .into_iter()
        .map(|c| {
            let label = code_label(q, &c, lang);
            (c, label)
        })
        .collect()
}

/// A form field's name in words, for pages that list problems away from their form ("name_en" -> "Name in
/// English", "time_zone" -> "Time zone"): known fields by their label on the form, others by their parts, with
/// language suffixes spelled out. A field's code is for machines (the JSON API's `field`); people read this.
pub fn field_words(field: &str) -> String {
    let known = match field {
        "pra_omb" => Some("OMB control number"),
        "pra_expires" => Some("Expiration date"),
        "widget_sample_percent" => Some("Share of page views offered the survey"),
        "allowed_origins" => Some("Sites allowed to embed or submit this survey"),
        "slug" => Some("Short name for links"),
        "kind" => Some("Type"),
        "before" => Some("Page link"),
        _ => None,
    };
    if let Some(k) = known {
        return k.to_string();
    }
    let words: Vec<String> = field
        .split(['_', '.'])
        .filter(|w| !w.is_empty())
        .map(|w| match w {
            "en" | "es" => format!("in {}", crate::i18n::language_name(w, "en")),
            "pra" => "Paperwork Reduction Act".into(),
            "opt" => "answer".into(),
            "q" => "question".into(),
            other => other.to_string(),
        })
        .collect();
    let mut c = words.join(" ").chars().collect::<Vec<_>>();
    if let Some(f) = c.first_mut() {
        *f = f.to_ascii_uppercase();
    }
    c.into_iter().collect()
}

/// A sentiment label for people ("Negative" for `negative`), in English; an unknown label is shown as it is.
pub fn sentiment_word(s: &str) -> &str {
    match s {
        "negative" => "Negative",
        "neutral" => "Neutral",
        "positive" => "Positive",
        other => other,
    }
}

/// Words for the codes of signals and events (the admin's inbox, events view and person timeline). An unknown code is
/// shown as it is.
pub mod intake {
    /// Where a signal came from ("Call transcript" for `call_transcript`).
    pub fn source_words(key: &str) -> &str {
        match key {
            "web_form" => "Web form",
            "social" => "Social media post",
            "review" => "Review",
            "chat" => "Chat",
            "call_transcript" => "Call transcript",
            "email" => "Email",
            "staff_observation" => "Staff observation",
            other => other,
        }
    }

    /// Who wrote a signal.
    pub fn author_words(key: &str) -> &str {
        match key {
            "public" => "A member of the public",
            "staff" => "Staff",
            other => other,
        }
    }

    /// Who spoke in a transcript's turn.
    pub fn speaker_words(key: &str) -> &str {
        match key {
            "customer" => "Customer",
            "agent" => "Agent",
            other => other,
        }
    }

    /// What the writer wants, as the text engine read it.
    pub fn intent_words(key: &str) -> &str {
        match key {
            "complaint" => "Complaint",
            "compliment" => "Compliment",
            "question" => "Question",
            "suggestion" => "Suggestion",
            "request_for_help" => "Request for help",
            "none" => "No request",
            other => other,
        }
    }

    /// An emotion the text expresses.
    pub fn emotion_words(key: &str) -> &str {
        match key {
            "frustration" => "Frustration",
            "confusion" => "Confusion",
            "anxiety" => "Anxiety",
            "gratitude" => "Gratitude",
            other => other,
        }
    }

    /// An urgency flag, or an urgency filter's choice.
    pub fn urgency_words(key: &str) -> &str {
        match key {
            "crisis" => "Crisis (someone at risk)",
            "threat" => "Threat of violence",
            "urgent" => "Urgent (crisis or threat)",
            "not_urgent" => "Not urgent",
            other => other,
        }
    }

    /// A measure's statistic, as a column heading.
    pub fn statistic_words(key: &str) -> &str {
        match key {
            "count" => "Events",
            "sum" => "Total",
            "mean" => "Mean",
            "median" => "Median",
            "p90" => "90th percentile",
            other => other,
        }
    }

    /// A measure's name in words ("handle_time" -> "Handle time").
    pub fn measure_words(name: &str) -> String {
        let mut w = name.replace('_', " ");
        if let Some(f) = w.get(0..1) {
            let up = f.to_ascii_uppercase();
            w.replace_range(0..1, &up);
        }
        w
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use heard_domain::LocalizedText;
    use heard_domain::survey::Choice;

    #[test]
    fn fields_are_named_in_words() {
        assert_eq!(field_words("name_en"), "Name in English");
        assert_eq!(field_words("description_es"), "Description in Spanish");
        assert_eq!(field_words("time_zone"), "Time zone");
        assert_eq!(field_words("language"), "Language");
        assert_eq!(field_words("pra_omb"), "OMB control number");
    }

    #[test]
    fn answers_read_as_their_labels() {
        let q = Question {
            id: "q1".into(),
            kind: QuestionKind::MultipleChoice,
            prompt: LocalizedText::en_only("Which?"),
            help: LocalizedText::default(),
            required: false,
            options: vec![
                Choice {
                    value: "o1".into(),
                    label: LocalizedText::new("Fast", "Rápido"),
                },
                Choice {
                    value: "o2".into(),
                    label: LocalizedText::new("", "Sólo en español"),
                },
            ],
            show_if: None,
            a11: None,
            characteristic: None,
        };
        let v = AnswerValue::Many(vec!["o1".into(), "o2".into(), "o9".into()]);
        assert_eq!(
            answer_words(Some(&q), &v, "en"),
            "Fast; Sólo en español; o9"
        );
        assert_eq!(
            answer_words(Some(&q), &v, "es"),
            "Rápido; Sólo en español; o9"
        );
        let scale = Question {
            kind: QuestionKind::Agreement5,
            options: vec![],
            ..q.clone()
        };
        assert_eq!(
            answer_words(Some(&scale), &AnswerValue::Number(4), "en"),
            "Agree"
        );
        let thumbs = Question {
            kind: QuestionKind::Thumbs,
            options: vec![],
            ..q
        };
        assert_eq!(
            answer_words(Some(&thumbs), &AnswerValue::Number(0), "en"),
            "Thumbs down (no)"
        );
        assert_eq!(
            answer_words(None, &AnswerValue::Text("free".into()), "en"),
            "free"
        );
    }
}
