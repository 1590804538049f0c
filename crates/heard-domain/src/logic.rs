//! Declarative show/hide logic. A condition is data (JSON in the survey definition), evaluated by the same rules
//! here (server, validation) and in `survey.js` / the widget (the page). `tests/logic_vectors.json` at the workspace
//! root holds shared cases both implementations must agree on.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use crate::response::AnswerValue;

/// When a question is shown. Compared on the canonical string form of answers ("1", "yes", "ease").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Condition {
    /// Every inner condition holds.
    All { all: Vec<Condition> },
    /// At least one inner condition holds.
    Any { any: Vec<Condition> },
    /// A test on one earlier question's answer.
    Test {
        question: String,
        is: Test,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        values: Vec<String>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Test {
    /// The answer (or, for several choices, one of them) is among `values`.
    AnyOf,
    /// The question is answered and no chosen value is among `values`.
    NoneOf,
    Answered,
    NotAnswered,
}

impl Condition {
    pub fn any_of(question: &str, values: &[&str]) -> Condition {
        Condition::Test {
            question: question.into(),
            is: Test::AnyOf,
            values: values.iter().map(|s| s.to_string()).collect(),
        }
    }

    /// Evaluates against the answers of questions that are visible; a hidden question counts as unanswered.
    pub fn holds(&self, visible_answers: &BTreeMap<String, AnswerValue>) -> bool {
        match self {
            Condition::All { all } => all.iter().all(|c| c.holds(visible_answers)),
            Condition::Any { any } => any.iter().any(|c| c.holds(visible_answers)),
            Condition::Test {
                question,
                is,
                values,
            } => {
                let answer = visible_answers.get(question);
                let chosen: Vec<String> = answer.map(AnswerValue::as_strings).unwrap_or_default();
                match is {
                    Test::Answered => !chosen.is_empty(),
                    Test::NotAnswered => chosen.is_empty(),
                    Test::AnyOf => chosen.iter().any(|c| values.contains(c)),
                    Test::NoneOf => {
                        !chosen.is_empty() && !chosen.iter().any(|c| values.contains(c))
                    }
                }
            }
        }
    }

    /// Every question id this condition reads.
    pub fn questions(&self) -> Vec<&str> {
        match self {
            Condition::All { all: cs } | Condition::Any { any: cs } => {
                cs.iter().flat_map(|c| c.questions()).collect()
            }
            Condition::Test { question, .. } => vec![question.as_str()],
        }
    }
}
