//! Dashboard figures and A-11 exports, computed from the facts of many responses. (Being written.)

use serde::{Deserialize, Serialize};

use crate::response::Answers;

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
