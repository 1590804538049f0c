//! The survey model: a definition (questions, logic, texts in every language, PRA block) and the parsing of a
//! submission against one exact version of it.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

use crate::logic::Condition;
use crate::pra::Pra;
use crate::response::{AnswerValue, Answers};
use crate::{FieldError, FieldErrors, LocalizedText};

/// The most questions a definition may have; A-11 surveys allow at most 15.
pub const MAX_QUESTIONS: usize = 50;
pub const A11_MAX_QUESTIONS: usize = 15;
pub const SHORT_TEXT_MAX: usize = 300;
pub const LONG_TEXT_MAX: usize = 5000;
pub const HIDDEN_MAX: usize = 500;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QuestionKind {
    /// Strongly disagree (1) .. strongly agree (5).
    Agreement5,
    /// Thumbs up (1) / thumbs down (0).
    Thumbs,
    SingleChoice,
    MultipleChoice,
    ShortText,
    LongText,
    Email,
    Phone,
    /// yes / no.
    YesNo,
    /// A value set by the page or link (a campaign, an office code), never shown.
    Hidden,
}

impl QuestionKind {
    /// Every kind, in the order the question builder offers them.
    pub const ALL: [QuestionKind; 10] = [
        QuestionKind::ShortText,
        QuestionKind::LongText,
        QuestionKind::SingleChoice,
        QuestionKind::MultipleChoice,
        QuestionKind::Agreement5,
        QuestionKind::Thumbs,
        QuestionKind::YesNo,
        QuestionKind::Email,
        QuestionKind::Phone,
        QuestionKind::Hidden,
    ];

    /// The stored name (`multiple_choice`), as the API and survey JSON spell it.
    pub fn key(self) -> &'static str {
        match self {
            QuestionKind::Agreement5 => "agreement5",
            QuestionKind::Thumbs => "thumbs",
            QuestionKind::SingleChoice => "single_choice",
            QuestionKind::MultipleChoice => "multiple_choice",
            QuestionKind::ShortText => "short_text",
            QuestionKind::LongText => "long_text",
            QuestionKind::Email => "email",
            QuestionKind::Phone => "phone",
            QuestionKind::YesNo => "yes_no",
            QuestionKind::Hidden => "hidden",
        }
    }

    /// The kind in words, for staff building a survey ("Multiple choice").
    pub fn label(self) -> &'static str {
        match self {
            QuestionKind::Agreement5 => "Agreement scale (strongly disagree to strongly agree)",
            QuestionKind::Thumbs => "Thumbs up or down",
            QuestionKind::SingleChoice => "Single choice",
            QuestionKind::MultipleChoice => "Multiple choice",
            QuestionKind::ShortText => "Short text",
            QuestionKind::LongText => "Long text",
            QuestionKind::Email => "Email address",
            QuestionKind::Phone => "Phone number",
            QuestionKind::YesNo => "Yes or no",
            QuestionKind::Hidden => "Hidden value (set by the page or link)",
        }
    }

    pub fn has_options(self) -> bool {
        matches!(
            self,
            QuestionKind::SingleChoice | QuestionKind::MultipleChoice
        )
    }
    /// Contact details: encrypted at rest and kept apart from analytics.
    pub fn is_contact(self) -> bool {
        matches!(self, QuestionKind::Email | QuestionKind::Phone)
    }
    pub fn is_free_text(self) -> bool {
        matches!(self, QuestionKind::ShortText | QuestionKind::LongText)
    }
}

/// The part an A-11 question plays, so reports find the trust question and drivers whatever their wording.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Hash, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum A11Role {
    Satisfaction,
    Trust,
    Effectiveness,
    Ease,
    Efficiency,
    Transparency,
    Employee,
    WentWell,
    WentBadly,
    Comment,
}

impl A11Role {
    /// The v1 drivers in reporting order.
    pub const V1_DRIVERS: [A11Role; 7] = [
        A11Role::Satisfaction,
        A11Role::Trust,
        A11Role::Effectiveness,
        A11Role::Ease,
        A11Role::Efficiency,
        A11Role::Transparency,
        A11Role::Employee,
    ];
    /// The role in words, for staff reading a dashboard ("Employee helpfulness").
    pub fn label(self) -> &'static str {
        match self {
            A11Role::Satisfaction => "Satisfaction",
            A11Role::Trust => "Trust",
            A11Role::Effectiveness => "Effectiveness",
            A11Role::Ease => "Ease",
            A11Role::Efficiency => "Efficiency",
            A11Role::Transparency => "Transparency (fairness)",
            A11Role::Employee => "Employee helpfulness",
            A11Role::WentWell => "What went well",
            A11Role::WentBadly => "What did not go well",
            A11Role::Comment => "Comment",
        }
    }
    pub fn key(self) -> &'static str {
        match self {
            A11Role::Satisfaction => "satisfaction",
            A11Role::Trust => "trust",
            A11Role::Effectiveness => "effectiveness",
            A11Role::Ease => "ease",
            A11Role::Efficiency => "efficiency",
            A11Role::Transparency => "transparency",
            A11Role::Employee => "employee",
            A11Role::WentWell => "went_well",
            A11Role::WentBadly => "went_badly",
            A11Role::Comment => "comment",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Choice {
    pub value: String,
    pub label: LocalizedText,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Question {
    /// Stable key: lower-case letters, digits and `_`, at most 40; answers are keyed by it.
    pub id: String,
    #[serde(rename = "type")]
    pub kind: QuestionKind,
    pub prompt: LocalizedText,
    #[serde(default, skip_serializing_if = "LocalizedText::is_empty")]
    pub help: LocalizedText,
    #[serde(default)]
    pub required: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<Choice>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub show_if: Option<Condition>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub a11: Option<A11Role>,
    /// A customer characteristic this question asks (age band, disability, location, or another), so the barriers
    /// page compares trust across its answers. Such a question should be optional and offer "prefer not to say".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub characteristic: Option<CustomerCharacteristic>,
}

/// A demographic or other customer characteristic a survey question asks about (issue 18, item 4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Hash, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum CustomerCharacteristic {
    AgeBand,
    Disability,
    Location,
    /// Any other characteristic an agency asks about; the question's wording names it.
    Other,
}

impl CustomerCharacteristic {
    pub const ALL: [CustomerCharacteristic; 4] = [
        CustomerCharacteristic::AgeBand,
        CustomerCharacteristic::Disability,
        CustomerCharacteristic::Location,
        CustomerCharacteristic::Other,
    ];
    pub fn key(self) -> &'static str {
        match self {
            CustomerCharacteristic::AgeBand => "age_band",
            CustomerCharacteristic::Disability => "disability",
            CustomerCharacteristic::Location => "location",
            CustomerCharacteristic::Other => "other",
        }
    }
    /// In words, for staff.
    pub fn label(self) -> &'static str {
        match self {
            CustomerCharacteristic::AgeBand => "Age band",
            CustomerCharacteristic::Disability => "Disability",
            CustomerCharacteristic::Location => "Location",
            CustomerCharacteristic::Other => "Other characteristic",
        }
    }
    /// From its key; `None` for anything else.
    pub fn parse(s: &str) -> Option<CustomerCharacteristic> {
        Self::ALL.into_iter().find(|c| c.key() == s)
    }
}

/// Which A-11 layout a survey follows; `Blank` surveys are free-form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TemplateKind {
    A11V1,
    A11V2,
    Blank,
}

impl TemplateKind {
    pub fn key(self) -> &'static str {
        match self {
            TemplateKind::A11V1 => "a11_v1",
            TemplateKind::A11V2 => "a11_v2",
            TemplateKind::Blank => "blank",
        }
    }
    /// The template in words ("A-11 version 2").
    pub fn label(self) -> &'static str {
        match self {
            TemplateKind::A11V1 => "A-11 version 1",
            TemplateKind::A11V2 => "A-11 version 2",
            TemplateKind::Blank => "Blank",
        }
    }
    /// Heard's one definition of trust, for a service whose surveys follow `templates`: the trust answers of its
    /// surveys of the returned template count, no other. That is A-11 version 2's trust question when the service
    /// has a version 2 survey (A-11's current standard, 2023 on), else version 1's ("This interaction increased my
    /// confidence in ..."). The two are different questions (v1's is one of seven drivers on a 1-5 scale; v2's is
    /// the headline, thumbs or 1-5), so no figure pools them; a blank survey's questions are never trust. Every
    /// trust figure (dashboards, A-11 statistics, key drivers, barriers, operations, journey stages) applies it.
    pub fn trust_template<I: IntoIterator<Item = TemplateKind>>(templates: I) -> TemplateKind {
        if templates.into_iter().any(|t| t == TemplateKind::A11V2) {
            TemplateKind::A11V2
        } else {
            TemplateKind::A11V1
        }
    }

    /// The rule of [`TemplateKind::trust_template`] in words, as pages state it.
    pub const TRUST_RULE: &'static str = "Trust: the answers to A-11's trust question, counted positive for thumbs up or 4-5 of 5. For a service with an A-11 version 2 survey, version 2's question only; otherwise version 1's (\"This interaction increased my confidence\"). The two questions are never pooled.";

    pub fn parse(s: &str) -> Result<Self, FieldError> {
        match s {
            "a11_v1" => Ok(TemplateKind::A11V1),
            "a11_v2" | "a11_v2_thumbs" | "a11_v2_scale" => Ok(TemplateKind::A11V2),
            "blank" => Ok(TemplateKind::Blank),
            _ => Err(FieldError::new(
                "template",
                "unknown_template",
                "template must be one of a11_v1, a11_v2_thumbs, a11_v2_scale, blank",
            )),
        }
    }
}

/// One version of a survey. Stored as JSON; a response always points at the version it answered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SurveyDefinition {
    pub template: TemplateKind,
    pub title: LocalizedText,
    #[serde(default, skip_serializing_if = "LocalizedText::is_empty")]
    pub intro: LocalizedText,
    pub questions: Vec<Question>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pra: Option<Pra>,
    #[serde(default, skip_serializing_if = "LocalizedText::is_empty")]
    pub thank_you: LocalizedText,
    /// Languages the survey is offered in; the first is the default.
    pub languages: Vec<String>,
}

/// What to do with an answer to a question that the logic hides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HiddenAnswers {
    /// API clients: an answer to a hidden question is an error.
    Reject,
    /// The hosted page without JavaScript shows every question; answers to the ones the logic hides are dropped.
    Drop,
}

/// The id for a question added to a survey: `q<n>` with `n` one more than the highest `q<n>` ever used in any of
/// `definitions` (pass every published version and the draft), and than the most questions any of them has (so
/// the first question added to a one-question survey is `q2`, as it always was). Ids are never reused within a survey across
/// versions, so an answer stored under an id always means one question; deleting `q3` and adding a question gives
/// `q4`, never a second `q3`. Any place that mints question ids (the editor today; imports and copies later) takes
/// them from here.
pub fn next_question_id<'a>(definitions: impl IntoIterator<Item = &'a SurveyDefinition>) -> String {
    let mut used: BTreeSet<&str> = BTreeSet::new();
    let mut high = 0u64;
    for d in definitions {
        high = high.max(d.questions.len() as u64);
        for q in &d.questions {
            used.insert(&q.id);
            let digits: String =
                q.id.strip_prefix('q')
                    .unwrap_or("")
                    .chars()
                    .take_while(char::is_ascii_digit)
                    .collect();
            if let Ok(n) = digits.parse::<u64>() {
                high = high.max(n);
            }
        }
    }
    let mut n = high + 1;
    while used.contains(format!("q{n}").as_str()) {
        n += 1;
    }
    format!("q{n}")
}

/// One text of a definition: where a missing translation is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TextRef {
    Title,
    Intro,
    ThankYou,
    Prompt(String),
    Help(String),
    /// A question's option: (question id, option value).
    Option(String, String),
    BurdenStatement,
}

impl TextRef {
    /// What the author calls it, e.g. "the burden statement", "question q2's hint".
    pub fn describe(&self) -> String {
        match self {
            TextRef::Title => "the title".into(),
            TextRef::Intro => "the introduction".into(),
            TextRef::ThankYou => "the thank-you message".into(),
            TextRef::Prompt(q) => format!("the wording of question {q}"),
            TextRef::Help(q) => format!("the hint of question {q}"),
            TextRef::Option(q, o) => format!("option “{o}” of question {q}"),
            TextRef::BurdenStatement => "the burden statement (Paperwork Reduction Act)".into(),
        }
    }
}

/// A text that has wording in some language the survey is offered in but not in `language`; the public page would
/// show another language's wording in its place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissingTranslation {
    pub language: String,
    pub text: TextRef,
}

impl SurveyDefinition {
    /// Every text (title, introduction, thank-you message, question wording, hints, option labels, the PRA burden
    /// statement) that is written in one of the survey's languages and blank in another, in page order. The author
    /// sees this list before publishing: a blank Spanish text silently falls back to English on the public page.
    /// New texts added to the definition must be listed here.
    pub fn missing_translations(&self) -> Vec<MissingTranslation> {
        let mut texts: Vec<(TextRef, &LocalizedText)> =
            vec![(TextRef::Title, &self.title), (TextRef::Intro, &self.intro)];
        for q in &self.questions {
            if q.kind != QuestionKind::Hidden {
                texts.push((TextRef::Prompt(q.id.clone()), &q.prompt));
            }
            texts.push((TextRef::Help(q.id.clone()), &q.help));
            for o in &q.options {
                texts.push((TextRef::Option(q.id.clone(), o.value.clone()), &o.label));
            }
        }
        texts.push((TextRef::ThankYou, &self.thank_you));
        if let Some(p) = &self.pra {
            texts.push((TextRef::BurdenStatement, &p.burden_statement));
        }
        let blank = |t: &LocalizedText, l: &str| t.0.get(l).is_none_or(|s| s.trim().is_empty());
        let mut out = Vec::new();
        for (r, t) in texts {
            if t.is_empty() {
                continue;
            }
            for lang in &self.languages {
                if blank(t, lang) {
                    out.push(MissingTranslation {
                        language: lang.clone(),
                        text: r.clone(),
                    });
                }
            }
        }
        out
    }

    /// Whether two definitions would show respondents the same survey: equal once texts left blank are treated as
    /// absent (a form saves a blank Spanish hint as `""`, a template has none). Publishing uses it to refuse making
    /// a version identical to the live one.
    pub fn same_content(&self, other: &SurveyDefinition) -> bool {
        fn strip(v: Value) -> Value {
            match v {
                Value::Object(m) => Value::Object(
                    m.into_iter()
                        .filter(|(_, v)| v.as_str() != Some(""))
                        .map(|(k, v)| (k, strip(v)))
                        .filter(|(_, v)| !v.as_object().is_some_and(|o| o.is_empty()))
                        .collect(),
                ),
                Value::Array(a) => Value::Array(a.into_iter().map(strip).collect()),
                other => other,
            }
        }
        let json = |d: &SurveyDefinition| {
            strip(serde_json::to_value(d).expect("definitions always serialize"))
        };
        json(self) == json(other)
    }

    /// Checks a draft against the survey's published versions before it is published: an id that an earlier version
    /// used must still name the same kind of question, so that stored answers, reports and export columns keyed by
    /// it never mix two questions. `earlier` is (version, definition). Errors are named `questions[i].id`.
    pub fn check_history<'a>(
        &self,
        earlier: impl IntoIterator<Item = (i32, &'a SurveyDefinition)>,
    ) -> Result<(), FieldErrors> {
        let mut errs = FieldErrors::default();
        let earlier: Vec<(i32, &SurveyDefinition)> = earlier.into_iter().collect();
        for (i, q) in self.questions.iter().enumerate() {
            if let Some((v, old)) = earlier
                .iter()
                .find_map(|(v, d)| d.question(&q.id).map(|o| (v, o)))
                .filter(|(_, old)| old.kind != q.kind)
            {
                errs.push(FieldError::new(
                    format!("questions[{i}].id"),
                    "reused_id",
                    format!(
                        "question id '{}' named a {:?} question in version {v}; a different question needs a new id",
                        q.id, old.kind
                    ),
                ));
            }
        }
        errs.into_result(())
    }
}

impl SurveyDefinition {
    /// Checks a definition an administrator wrote: ids, options, logic references, sizes.
    pub fn check(&self) -> Result<(), FieldErrors> {
        let mut errs = FieldErrors::default();
        if self.title.is_empty() {
            errs.push(FieldError::new(
                "title",
                "required",
                "the survey needs a title",
            ));
        }
        if self.languages.is_empty() {
            errs.push(FieldError::new(
                "languages",
                "required",
                "list at least one language",
            ));
        }
        if self.questions.is_empty() {
            errs.push(FieldError::new(
                "questions",
                "required",
                "a survey needs at least one question",
            ));
        }
        let max = if self.template == TemplateKind::Blank {
            MAX_QUESTIONS
        } else {
            A11_MAX_QUESTIONS
        };
        if self.questions.len() > max {
            errs.push(FieldError::new(
                "questions",
                "too_many",
                format!("at most {max} questions are allowed in this kind of survey"),
            ));
        }
        let mut seen: BTreeMap<&str, &Question> = BTreeMap::new();
        for (i, q) in self.questions.iter().enumerate() {
            let f = |s: &str| format!("questions[{i}].{s}");
            if q.id.is_empty()
                || q.id.len() > 40
                || !q
                    .id
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
            {
                errs.push(FieldError::new(
                    f("id"),
                    "invalid_id",
                    "question ids use a-z, 0-9 and _ (at most 40)",
                ));
            }
            if seen.contains_key(q.id.as_str()) {
                errs.push(FieldError::new(
                    f("id"),
                    "duplicate",
                    format!("question id '{}' is used twice", q.id),
                ));
            }
            if q.kind != QuestionKind::Hidden && q.prompt.is_empty() {
                errs.push(FieldError::new(
                    f("prompt"),
                    "required",
                    "the question needs wording",
                ));
            }
            for lang in &self.languages {
                if q.kind != QuestionKind::Hidden
                    && q.prompt.0.get(lang).is_none_or(|s| s.trim().is_empty())
                {
                    errs.push(FieldError::new(
                        f(&format!("prompt.{lang}")),
                        "missing_translation",
                        format!("the question has no wording in '{lang}'"),
                    ));
                }
            }
            if q.kind.has_options() {
                if q.options.len() < 2 {
                    errs.push(FieldError::new(
                        f("options"),
                        "too_few",
                        "a choice question needs at least two options",
                    ));
                }
                let mut vals = BTreeSet::new();
                for o in &q.options {
                    if o.value.is_empty() || !vals.insert(o.value.as_str()) {
                        errs.push(FieldError::new(
                            f("options"),
                            "duplicate",
                            format!("option '{}' is empty or repeated", o.value),
                        ));
                    }
                }
            } else if !q.options.is_empty() {
                errs.push(FieldError::new(
                    f("options"),
                    "not_allowed",
                    "only choice questions have options",
                ));
            }
            if let Some(c) = &q.show_if {
                for r in c.questions() {
                    if !seen.contains_key(r) {
                        errs.push(FieldError::new(
                            f("show_if"),
                            "unknown_question",
                            format!("show_if may only refer to an earlier question, not '{r}'"),
                        ));
                    }
                }
            }
            seen.insert(&q.id, q);
        }
        errs.into_result(())
    }

    pub fn question(&self, id: &str) -> Option<&Question> {
        self.questions.iter().find(|q| q.id == id)
    }

    pub fn question_with_role(&self, role: A11Role) -> Option<&Question> {
        self.questions.iter().find(|q| q.a11 == Some(role))
    }

    pub fn is_expired(&self, today: NaiveDate) -> bool {
        self.pra.as_ref().is_some_and(|p| p.is_expired(today))
    }

    /// Which questions are visible given the raw answers, evaluated in order so a question hidden by logic counts as
    /// unanswered for later conditions.
    pub fn visibility(&self, answers: &Answers) -> BTreeMap<String, bool> {
        let mut visible_answers: Answers = BTreeMap::new();
        let mut out = BTreeMap::new();
        for q in &self.questions {
            let shown = q.show_if.as_ref().is_none_or(|c| c.holds(&visible_answers));
            if shown && let Some(a) = answers.get(&q.id) {
                visible_answers.insert(q.id.clone(), a.clone());
            }
            out.insert(q.id.clone(), shown);
        }
        out
    }

    /// Parses a submission's `answers` object against this exact version: unknown questions, wrong types, values
    /// outside the options, missing required answers and (per `hidden`) answers to hidden questions are errors named
    /// `answers.<question id>`.
    ///
    /// Each field gets at most one error, the most specific, and every message says how to put it right: an answer
    /// that was given but is wrong is reported as what is wrong with it (`invalid_email`, `out_of_range`, ...), never
    /// also as `required`; an answer to a question the logic hides is `not_shown` (or dropped, per `hidden`) whatever
    /// its value.
    pub fn parse_answers(
        &self,
        raw: &serde_json::Map<String, Value>,
        hidden: HiddenAnswers,
    ) -> Result<Answers, FieldErrors> {
        let mut errs = FieldErrors::default();
        let mut parsed: Answers = BTreeMap::new();
        // Answers given but not valid, by question id: they stand instead of `required` for that question.
        let mut invalid: BTreeMap<&str, FieldError> = BTreeMap::new();
        for (key, value) in raw {
            let field = format!("answers.{key}");
            let Some(q) = self.question(key) else {
                errs.push(FieldError::new(
                    field,
                    "unknown_field",
                    format!(
                        "this survey has no question '{}': remove it, or use one of: {}",
                        key.chars().take(40).collect::<String>(),
                        self.questions
                            .iter()
                            .map(|q| q.id.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ));
                continue;
            };
            match parse_one(q, value) {
                Ok(Some(v)) => {
                    parsed.insert(key.clone(), v);
                }
                Ok(None) => {}
                Err((code, msg)) => {
                    invalid.insert(q.id.as_str(), FieldError::new(field, code, msg));
                }
            }
        }
        let visibility = self.visibility(&parsed);
        for q in &self.questions {
            let shown = visibility.get(&q.id).copied().unwrap_or(true);
            let answered = parsed.contains_key(&q.id);
            let wrong = invalid.remove(q.id.as_str());
            if !shown {
                if answered || wrong.is_some() {
                    match hidden {
                        HiddenAnswers::Reject => errs.push(FieldError::new(
                            format!("answers.{}", q.id),
                            "not_shown",
                            "remove this answer: the question is not shown for the answers given",
                        )),
                        HiddenAnswers::Drop => {
                            parsed.remove(&q.id);
                        }
                    }
                }
            } else if let Some(e) = wrong {
                errs.push(e);
            } else if q.required && !answered {
                errs.push(FieldError::new(
                    format!("answers.{}", q.id),
                    "required",
                    required_message(q),
                ));
            }
        }
        errs.into_result(parsed)
    }
}

/// What to send for a required question left blank, by its kind.
fn required_message(q: &Question) -> String {
    let how = match q.kind {
        QuestionKind::Agreement5 => {
            "send a whole number from 1 (strongly disagree) to 5 (strongly agree)".to_string()
        }
        QuestionKind::Thumbs => "send 1 (thumbs up) or 0 (thumbs down)".to_string(),
        QuestionKind::YesNo => "send 'yes' or 'no'".to_string(),
        QuestionKind::SingleChoice => format!("choose one of: {}", option_list(q)),
        QuestionKind::MultipleChoice => format!("choose at least one of: {}", option_list(q)),
        QuestionKind::ShortText | QuestionKind::LongText => "type an answer".to_string(),
        QuestionKind::Email => "enter an email address like name@example.com".to_string(),
        QuestionKind::Phone => "enter a phone number such as 202-555-0123".to_string(),
        QuestionKind::Hidden => "the page or link must set this value".to_string(),
    };
    format!("this question needs an answer: {how}")
}

/// Parses one answer; `Ok(None)` means "left blank".
fn parse_one(q: &Question, v: &Value) -> Result<Option<AnswerValue>, (&'static str, String)> {
    if v.is_null() {
        return Ok(None);
    }
    let as_text = |v: &Value| -> Option<String> {
        match v {
            Value::String(s) => Some(s.trim().to_string()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    };
    let int_in = |v: &Value,
                  lo: i64,
                  hi: i64,
                  what: &str|
     -> Result<Option<AnswerValue>, (&'static str, String)> {
        let n = match v {
            Value::Number(n) => n.as_i64(),
            Value::String(s) if s.trim().is_empty() => return Ok(None),
            Value::String(s) => s.trim().parse::<i64>().ok(),
            Value::Bool(b) if lo == 0 && hi == 1 => Some(*b as i64),
            _ => None,
        };
        match n {
            Some(n) if (lo..=hi).contains(&n) => Ok(Some(AnswerValue::Number(n))),
            _ => Err((
                "out_of_range",
                format!("{what} must be a whole number from {lo} to {hi}: send one of those"),
            )),
        }
    };
    match q.kind {
        QuestionKind::Agreement5 => int_in(v, 1, 5, "the answer"),
        QuestionKind::Thumbs => int_in(v, 0, 1, "the answer (1 thumbs up, 0 thumbs down)"),
        QuestionKind::YesNo => match as_text(v).as_deref() {
            Some("") => Ok(None),
            Some("yes") | Some("true") => Ok(Some(AnswerValue::Text("yes".into()))),
            Some("no") | Some("false") => Ok(Some(AnswerValue::Text("no".into()))),
            _ => Err(("not_an_option", "answer 'yes' or 'no'".into())),
        },
        QuestionKind::SingleChoice => match as_text(v) {
            Some(s) if s.is_empty() => Ok(None),
            Some(s) if q.options.iter().any(|o| o.value == s) => Ok(Some(AnswerValue::Text(s))),
            _ => Err((
                "not_an_option",
                format!("choose one of: {}", option_list(q)),
            )),
        },
        QuestionKind::MultipleChoice => {
            let items: Vec<String> = match v {
                Value::Array(a) => {
                    let mut out = Vec::with_capacity(a.len());
                    for x in a {
                        match as_text(x) {
                            Some(s) => out.push(s),
                            None => {
                                return Err((
                                    "not_an_option",
                                    format!("choose from: {}", option_list(q)),
                                ));
                            }
                        }
                    }
                    out
                }
                other => match as_text(other) {
                    Some(s) => vec![s],
                    None => {
                        return Err(("not_an_option", format!("choose from: {}", option_list(q))));
                    }
                },
            };
            // Keep the definition's order and drop repeats, so equal answers compare equal.
            let chosen: BTreeSet<&str> = items
                .iter()
                .map(String::as_str)
                .filter(|s| !s.is_empty())
                .collect();
            if let Some(bad) = chosen
                .iter()
                .find(|c| !q.options.iter().any(|o| o.value == **c))
            {
                return Err((
                    "not_an_option",
                    format!("'{bad}' is not an option; choose from: {}", option_list(q)),
                ));
            }
            if chosen.is_empty() {
                return Ok(None);
            }
            Ok(Some(AnswerValue::Many(
                q.options
                    .iter()
                    .filter(|o| chosen.contains(o.value.as_str()))
                    .map(|o| o.value.clone())
                    .collect(),
            )))
        }
        QuestionKind::ShortText | QuestionKind::LongText | QuestionKind::Hidden => {
            let max = match q.kind {
                QuestionKind::ShortText => SHORT_TEXT_MAX,
                QuestionKind::LongText => LONG_TEXT_MAX,
                _ => HIDDEN_MAX,
            };
            match v {
                Value::String(s) => {
                    let s = s.trim();
                    if s.is_empty() {
                        Ok(None)
                    } else if s.chars().count() > max {
                        Err((
                            "too_long",
                            format!(
                                "shorten the answer to at most {max} characters (it has {})",
                                s.chars().count()
                            ),
                        ))
                    } else {
                        Ok(Some(AnswerValue::Text(s.to_string())))
                    }
                }
                _ => Err(("not_text", "send the answer as text (a JSON string)".into())),
            }
        }
        QuestionKind::Email => match v {
            Value::String(s) if s.trim().is_empty() => Ok(None),
            Value::String(s) => parse_email(s).map(|e| Some(AnswerValue::Text(e))),
            _ => Err((
                "invalid_email",
                "enter an email address like name@example.com".into(),
            )),
        },
        QuestionKind::Phone => match v {
            Value::String(s) if s.trim().is_empty() => Ok(None),
            Value::String(s) => parse_phone(s).map(|p| Some(AnswerValue::Text(p))),
            _ => Err((
                "invalid_phone",
                "enter a phone number such as 202-555-0123".into(),
            )),
        },
    }
}

fn option_list(q: &Question) -> String {
    q.options
        .iter()
        .map(|o| o.value.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// A plausible email address, lower-cased domain. Deliberately simple: delivery is the real test.
pub fn parse_email(s: &str) -> Result<String, (&'static str, String)> {
    let s = s.trim();
    let bad = || {
        (
            "invalid_email",
            "enter an email address like name@example.com".to_string(),
        )
    };
    let (local, domain) = s.rsplit_once('@').ok_or_else(bad)?;
    if local.is_empty()
        || local.len() > 64
        || domain.len() > 253
        || !domain.contains('.')
        || domain.starts_with('.')
        || domain.ends_with('.')
        || s.chars().any(|c| c.is_whitespace() || c.is_control())
        || local.contains('@')
    {
        return Err(bad());
    }
    Ok(format!("{local}@{}", domain.to_ascii_lowercase()))
}

/// A phone number in E.164 form: US numbers (10 digits, optional leading 1) become `+1...`; international ones must
/// start with `+` and have 8 to 15 digits.
pub fn parse_phone(s: &str) -> Result<String, (&'static str, String)> {
    let bad = || {
        (
            "invalid_phone",
            "enter a phone number such as 202-555-0123 or +44 20 7946 0958".to_string(),
        )
    };
    let t = s.trim();
    if !t
        .chars()
        .all(|c| c.is_ascii_digit() || " +-().".contains(c))
    {
        return Err(bad());
    }
    let digits: String = t.chars().filter(char::is_ascii_digit).collect();
    if t.starts_with('+') {
        if (8..=15).contains(&digits.len()) {
            Ok(format!("+{digits}"))
        } else {
            Err(bad())
        }
    } else if digits.len() == 10 {
        Ok(format!("+1{digits}"))
    } else if digits.len() == 11 && digits.starts_with('1') {
        Ok(format!("+{digits}"))
    } else {
        Err(bad())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::templates;
    use serde_json::json;

    fn obj(v: Value) -> serde_json::Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn v2_reveals_the_matching_indicator_question() {
        let def = templates::a11_v2(
            &LocalizedText::new("Passports", "Pasaportes"),
            templates::TrustScale::Thumbs,
        );
        def.check().unwrap();
        let ok = def
            .parse_answers(
                &obj(json!({"trust": 1, "went_well": ["ease", "effectiveness"]})),
                HiddenAnswers::Reject,
            )
            .unwrap();
        // Stored in the definition's order, not the client's.
        assert_eq!(
            ok["went_well"],
            AnswerValue::Many(vec!["effectiveness".into(), "ease".into()])
        );
        let err = def
            .parse_answers(
                &obj(json!({"trust": 1, "went_badly": ["ease"]})),
                HiddenAnswers::Reject,
            )
            .unwrap_err();
        assert_eq!(err.0[0].field, "answers.went_badly");
        assert_eq!(err.0[0].code, "not_shown");
        let dropped = def
            .parse_answers(
                &obj(json!({"trust": "0", "went_well": ["ease"], "went_badly": ["efficiency"]})),
                HiddenAnswers::Drop,
            )
            .unwrap();
        assert!(!dropped.contains_key("went_well"));
        assert_eq!(dropped["trust"], AnswerValue::Number(0));
    }

    #[test]
    fn bad_answers_name_the_field_and_reason() {
        let def = templates::a11_v1(&LocalizedText::new("Passports", "Pasaportes"));
        def.check().unwrap();
        let err = def
            .parse_answers(
                &obj(json!({"satisfaction": 7, "colour": "blue", "ease": "x"})),
                HiddenAnswers::Reject,
            )
            .unwrap_err();
        let fields: Vec<(&str, &str)> = err.0.iter().map(|e| (e.field.as_str(), e.code)).collect();
        assert!(fields.contains(&("answers.satisfaction", "out_of_range")));
        assert!(fields.contains(&("answers.colour", "unknown_field")));
        assert!(fields.contains(&("answers.ease", "out_of_range")));
        assert!(fields.contains(&("answers.trust", "required")));
    }

    /// A blank survey with a required email question, a required thumbs question and a follow-up shown only after
    /// thumbs down.
    fn contact_survey() -> SurveyDefinition {
        let mut def = templates::blank(&LocalizedText::new("X", "X"));
        for q in [
            json!({"id": "email", "type": "email", "prompt": {"en": "Email", "es": "Correo"}, "required": true}),
            json!({"id": "trust", "type": "thumbs", "prompt": {"en": "Trust", "es": "Confianza"}, "required": true}),
            json!({"id": "why", "type": "short_text", "prompt": {"en": "Why?", "es": "¿Por qué?"},
                "show_if": {"question": "trust", "is": "any_of", "values": ["0"]}}),
        ] {
            def.questions.push(serde_json::from_value(q).unwrap());
        }
        def.check().unwrap();
        def
    }

    fn errors_of(
        def: &SurveyDefinition,
        v: Value,
        hidden: HiddenAnswers,
    ) -> Vec<(String, &'static str)> {
        match def.parse_answers(&obj(v), hidden) {
            Ok(_) => vec![],
            Err(e) => e.0.into_iter().map(|e| (e.field, e.code)).collect(),
        }
    }

    #[test]
    fn a_wrong_answer_to_a_required_question_is_one_error_saying_how_to_fix_it() {
        let def = contact_survey();
        let err = def
            .parse_answers(
                &obj(json!({"email": "maria.lopez.example.com", "trust": 1})),
                HiddenAnswers::Reject,
            )
            .unwrap_err();
        assert_eq!(err.0.len(), 1, "{err:?}");
        assert_eq!(
            (err.0[0].field.as_str(), err.0[0].code),
            ("answers.email", "invalid_email")
        );
        assert!(err.0[0].message.contains("name@example.com"));
        // Every kind of wrong answer stands alone: no `required` beside it.
        assert_eq!(
            errors_of(
                &def,
                json!({"email": 42, "trust": 7}),
                HiddenAnswers::Reject
            ),
            vec![
                ("answers.email".to_string(), "invalid_email"),
                ("answers.trust".to_string(), "out_of_range")
            ]
        );
        // Left blank: `required`, saying what to send.
        let blank = def
            .parse_answers(&obj(json!({"email": " "})), HiddenAnswers::Reject)
            .unwrap_err();
        let msgs: Vec<(&str, &str, &str)> = blank
            .0
            .iter()
            .map(|e| (e.field.as_str(), e.code, e.message.as_str()))
            .collect();
        assert_eq!(msgs.len(), 2);
        assert_eq!(msgs[0].1, "required");
        assert!(msgs[0].2.contains("name@example.com"), "{msgs:?}");
        assert!(msgs[1].2.contains("1 (thumbs up) or 0"), "{msgs:?}");
    }

    #[test]
    fn an_answer_to_a_hidden_question_is_judged_as_hidden_whatever_its_value() {
        let def = contact_survey();
        let long = "x".repeat(SHORT_TEXT_MAX + 1);
        // Thumbs up hides "why": a too-long answer there is `not_shown` only (API) or dropped (hosted page).
        assert_eq!(
            errors_of(
                &def,
                json!({"email": "a@example.com", "trust": 1, "why": long}),
                HiddenAnswers::Reject
            ),
            vec![("answers.why".to_string(), "not_shown")]
        );
        assert_eq!(
            errors_of(
                &def,
                json!({"email": "a@example.com", "trust": 1, "why": long}),
                HiddenAnswers::Drop
            ),
            vec![]
        );
        // Shown, it is `too_long`, with the limit.
        let e = def
            .parse_answers(
                &obj(json!({"email": "a@example.com", "trust": 0, "why": long})),
                HiddenAnswers::Reject,
            )
            .unwrap_err();
        assert_eq!(e.0[0].code, "too_long");
        assert!(e.0[0].message.contains("at most 300 characters"));
    }

    #[test]
    fn contact_answers_are_normalized() {
        assert_eq!(parse_phone("(202) 555-0123").unwrap(), "+12025550123");
        assert_eq!(parse_phone("+44 20 7946 0958").unwrap(), "+442079460958");
        assert!(parse_phone("555-0123").is_err());
        assert!(parse_phone("call me").is_err());
        assert_eq!(parse_email("Ana@Example.GOV").unwrap(), "Ana@example.gov");
        assert!(parse_email("ana@localhost").is_err());
        assert!(parse_email("a b@example.com").is_err());
    }

    #[test]
    fn question_ids_are_never_reused_across_versions() {
        let mut v1 = templates::blank(&LocalizedText::new("X", "X"));
        for id in ["q2", "q3"] {
            let mut q = v1.questions[0].clone();
            q.id = id.into();
            v1.questions.push(q);
        }
        // The draft deleted q3: the next question is q4, not a second q3.
        let mut draft = v1.clone();
        draft.questions.retain(|q| q.id != "q3");
        assert_eq!(next_question_id([&v1, &draft]), "q4");
        assert_eq!(next_question_id([&draft]), "q3");
        let empty = SurveyDefinition {
            questions: vec![],
            ..draft.clone()
        };
        assert_eq!(next_question_id([&empty]), "q1");
        // A reused id of another kind is refused at publication.
        let mut reused = draft.clone();
        let mut q = reused.questions[0].clone();
        q.id = "q3".into();
        q.kind = QuestionKind::SingleChoice;
        q.options = vec![
            Choice {
                value: "o1".into(),
                label: LocalizedText::new("A", "A"),
            },
            Choice {
                value: "o2".into(),
                label: LocalizedText::new("B", "B"),
            },
        ];
        reused.questions.push(q);
        reused.check().unwrap();
        let e = reused.check_history([(1, &v1)]).unwrap_err();
        assert_eq!(
            (e.0[0].field.as_str(), e.0[0].code),
            ("questions[2].id", "reused_id")
        );
        assert!(draft.check_history([(1, &v1)]).is_ok());
    }

    #[test]
    fn blank_texts_do_not_make_a_definition_different() {
        let d = templates::blank(&LocalizedText::new("X", "X"));
        let mut saved = d.clone();
        saved.intro = LocalizedText::new("", "");
        saved.questions[0].help = LocalizedText::new("", "");
        assert_ne!(saved, d);
        assert!(saved.same_content(&d));
        saved.questions[0].help.set("es", "Pista");
        assert!(!saved.same_content(&d));
    }

    #[test]
    fn every_missing_translation_is_listed() {
        let mut d = templates::a11_v2(
            &LocalizedText::new("Passports", "Pasaportes"),
            templates::TrustScale::Thumbs,
        );
        assert_eq!(d.missing_translations(), vec![]);
        d.pra = Some(Pra::parse("1234-5678", "2030-01-01", "It takes 2 minutes.", "").unwrap());
        d.thank_you.set("es", "  ");
        d.questions[1].options[2].label.set("es", "");
        let got: Vec<(String, TextRef)> = d
            .missing_translations()
            .into_iter()
            .map(|m| (m.language, m.text))
            .collect();
        assert_eq!(
            got,
            vec![
                (
                    "es".into(),
                    TextRef::Option("went_well".into(), "efficiency".into())
                ),
                ("es".into(), TextRef::ThankYou),
                ("es".into(), TextRef::BurdenStatement),
            ]
        );
        assert_eq!(
            TextRef::BurdenStatement.describe(),
            "the burden statement (Paperwork Reduction Act)"
        );
    }

    #[test]
    fn logic_may_only_look_back() {
        let mut def = templates::blank(&LocalizedText::new("X", "X"));
        def.questions[0].show_if = Some(Condition::any_of("later", &["1"]));
        let e = def.check().unwrap_err();
        assert_eq!(e.0[0].code, "unknown_question");
    }

    #[test]
    fn shared_logic_vectors_hold() {
        // The same file is run against the page's JavaScript by the browser tests.
        let raw = include_str!("../../../tests/logic_vectors.json");
        let cases: Vec<Value> = serde_json::from_str(raw).unwrap();
        assert!(cases.len() >= 8);
        for case in cases {
            let def: SurveyDefinition = serde_json::from_value(case["definition"].clone()).unwrap();
            let answers: Answers = serde_json::from_value(case["answers"].clone()).unwrap();
            let expected: BTreeMap<String, bool> =
                serde_json::from_value(case["visible"].clone()).unwrap();
            assert_eq!(def.visibility(&answers), expected, "case {}", case["name"]);
        }
    }
}
