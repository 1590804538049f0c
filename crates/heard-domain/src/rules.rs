//! Rules (issue 21, item 1): "when a response, signal or case matches these conditions, do these actions", as data an
//! admin edits.
//!
//! A rule looks at responses (the default), signals, cases or events ([`AppliesTo`]). Its conditions all have to hold (an
//! empty list or an unset field holds for everything, but a rule needs at least one condition): the trust answer was
//! negative; the text's sentiment; any of some intents; any of some themes; any of some keywords (whole words,
//! ignoring case and accents, never inside a redaction placeholder); a service; a touchpoint; a channel; crisis or
//! threat language; at least N similar items (sharing a theme; for events, of the same type) in a period
//! ([`Similar`], counted by the store); for cases, an SLA about to breach; for events, their type and a measure at or
//! above a value ([`matches_event`]). Its actions: open a case (priority, team), email members of staff, send the
//! `rule.matched` webhook event, offer the person a callback, tag the item, give a case to a team. What each kind of
//! rule may use is checked by [`RuleSpec::check`]. [`matches`] is a pure function of the rule and an item's
//! [`Facts`], so the same code decides in the item's commit and in the dry run over the last 30 days.
//!
//! What a rule reads of the text is the stored reading (`enrichment`): a response whose text was not read yet
//! matches no condition on sentiment, intent or themes.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::case::Priority;
use crate::{FieldError, FieldErrors};

/// The most keywords, themes or intents one rule lists.
pub const MAX_LIST: usize = 50;
/// The most members one rule emails.
pub const MAX_NOTIFY: usize = 20;
/// Signal and event rules act on what happened in the last 7 days: an old call loaded through the API today is
/// history, not something to act on (bulk imports run no rules at all).
pub const FRESH_MS: i64 = 7 * 24 * 3_600_000;
/// How far back the dry run looks: 30 days.
pub const DRY_RUN_MS: i64 = 30 * 24 * 3_600_000;

/// The intents a rule may name, as the text engine stores them.
pub const INTENTS: [(&str, &str); 5] = [
    ("complaint", "A complaint"),
    ("question", "A question"),
    ("request_for_help", "A request for help"),
    ("suggestion", "A suggestion"),
    ("compliment", "A compliment"),
];

/// What must hold. Ids are written as strings (the admin's form and the stored JSON are the same shape).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Conditions {
    /// The trust answer was negative (1-3 on the five-point scale, a thumbs down).
    #[serde(default)]
    pub trust_negative: bool,
    /// The trust answer is at or below this value, 1 to 4 on the five-point scale (a thumbs down counts as 1, a
    /// thumbs up as 5).
    #[serde(default)]
    pub trust_at_most: Option<i16>,
    /// The language the person answered or wrote in (`en`, `es`): a segment of the public.
    #[serde(default)]
    pub language: Option<String>,
    /// The text's sentiment: `negative`, `neutral` or `positive`.
    #[serde(default)]
    pub sentiment: Option<String>,
    /// Any of these intents ([`INTENTS`]).
    #[serde(default)]
    pub intents: Vec<String>,
    /// Any of these theme ids.
    #[serde(default)]
    pub themes: Vec<String>,
    /// Any of these words or phrases, in the (redacted) text answers.
    #[serde(default)]
    pub keywords: Vec<String>,
    #[serde(default)]
    pub service_id: Option<String>,
    #[serde(default)]
    pub touchpoint_id: Option<String>,
    /// An A-11 channel code (`website`, `phone`, ...).
    #[serde(default)]
    pub channel: Option<String>,
    /// Crisis or threat language was found.
    #[serde(default)]
    pub urgent: bool,
    /// At least this many items of the rule's kind (this one included) share one of this item's themes within the
    /// period: "N similar signals in a period". Counted by the store, not by [`matches`]; such a rule fires at most
    /// once per theme per period (periods are counted from the Unix epoch, `hours` long).
    #[serde(default)]
    pub similar: Option<Similar>,
    /// A case rule: one of the case's SLA targets is about to breach (it reached the SLA's warning share).
    #[serde(default)]
    pub sla_at_risk: bool,
    /// An event rule: the event is of any of these types (the organization's catalogue).
    #[serde(default)]
    pub event_types: Vec<String>,
    /// An event rule: the event carries this measure at or above a value (seconds or a count, as the type says).
    #[serde(default)]
    pub measure: Option<MeasureAtLeast>,
}

/// "Its measure `name` is at least `at_least`".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MeasureAtLeast {
    pub name: String,
    pub at_least: i64,
}

/// Whether an event (its type, service and measures) meets an event rule's conditions; `similar` is the store's.
pub fn matches_event(
    c: &Conditions,
    event_type: &str,
    service_id: Option<&str>,
    measures: &std::collections::BTreeMap<String, f64>,
) -> bool {
    if !c.event_types.is_empty() && !c.event_types.iter().any(|t| t == event_type) {
        return false;
    }
    if let Some(s) = &c.service_id
        && Some(s.as_str()) != service_id
    {
        return false;
    }
    if let Some(m) = &c.measure
        && !measures
            .get(&m.name)
            .is_some_and(|v| *v >= m.at_least as f64)
    {
        return false;
    }
    true
}

/// "At least `at_least` similar items within `hours` hours".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Similar {
    /// 2 to 1,000.
    pub at_least: u32,
    /// 1 to 720 (30 days).
    pub hours: u32,
}

/// What a rule looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum AppliesTo {
    /// Survey responses, as they are stored.
    #[default]
    Responses,
    /// Signals (unsolicited feedback: messages, transcripts, social posts, staff observations), as they arrive.
    Signals,
    /// Cases, when the escalation check finds one of their SLA targets about to breach.
    Cases,
    /// Operational events (an application submitted, a wait, a repeat request), as they arrive.
    Events,
}

impl AppliesTo {
    pub fn key(self) -> &'static str {
        match self {
            AppliesTo::Responses => "responses",
            AppliesTo::Signals => "signals",
            AppliesTo::Cases => "cases",
            AppliesTo::Events => "events",
        }
    }
    pub fn parse(s: &str) -> Option<AppliesTo> {
        [
            AppliesTo::Responses,
            AppliesTo::Signals,
            AppliesTo::Cases,
            AppliesTo::Events,
        ]
        .into_iter()
        .find(|a| a.key() == s)
    }
}

/// The longest tag, in characters.
pub const MAX_TAG: usize = 40;

/// The case a rule opens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpenCase {
    pub priority: Priority,
    #[serde(default)]
    pub team_id: Option<String>,
}

/// What a matching response makes happen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Actions {
    /// Open a case about the response (none when one is open for it already, such as a crisis case).
    #[serde(default)]
    pub open_case: Option<OpenCase>,
    /// Email these members (user ids) through the organization's email sender.
    #[serde(default)]
    pub notify: Vec<String>,
    /// Send the `rule.matched` webhook event to endpoints that chose it.
    #[serde(default)]
    pub webhook: bool,
    /// Offer the person a callback: on the thank-you page (and the widget's), and in an SMS survey's last reply.
    #[serde(default)]
    pub offer_callback: bool,
    /// Tag the response or signal (1 to [`MAX_TAG`] letters, digits, spaces, `-` or `_`), shown on its page.
    #[serde(default)]
    pub tag: Option<String>,
    /// A case rule: give the case to this team.
    #[serde(default)]
    pub assign_team: Option<String>,
}

/// A rule as stored and edited.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RuleSpec {
    pub name: String,
    /// Responses (the default), signals or cases.
    #[serde(default)]
    pub applies_to: AppliesTo,
    #[serde(default)]
    pub conditions: Conditions,
    #[serde(default)]
    pub actions: Actions,
}

/// What a rule reads of one response.
#[derive(Debug, Clone, Copy)]
pub struct Facts<'a> {
    pub trust_positive: Option<bool>,
    /// The trust answer's value.
    pub trust: Option<i16>,
    /// `en`, `es`, ...
    pub language: &'a str,
    pub sentiment: Option<&'a str>,
    pub themes: &'a [String],
    /// The stored reading of each text answer, by question id (for intents).
    pub enrichment: Option<&'a Value>,
    pub answers: &'a crate::response::Answers,
    pub service_id: &'a str,
    pub touchpoint_id: Option<&'a str>,
    pub channel: &'a str,
    pub urgent: bool,
    /// A signal's (redacted) text, read by keyword conditions besides the answers.
    pub text: Option<&'a str>,
}

/// A letter without its accent, for the Latin letters Spanish and English feedback uses (written by hand: the one
/// alternative, Unicode decomposition, needs a normalization library for a table this small).
fn unaccented(c: char) -> char {
    match c {
        'á' | 'à' | 'â' | 'ä' | 'ã' => 'a',
        'é' | 'è' | 'ê' | 'ë' => 'e',
        'í' | 'ì' | 'î' | 'ï' => 'i',
        'ó' | 'ò' | 'ô' | 'ö' | 'õ' => 'o',
        'ú' | 'ù' | 'û' | 'ü' => 'u',
        'ñ' => 'n',
        'ç' => 'c',
        c => c,
    }
}

/// The words of `text`, lower-case and without accents; redaction placeholders (`<PHONE_NUMBER>`) are not words.
fn words(text: &str) -> Vec<String> {
    let mut plain = String::with_capacity(text.len());
    let mut in_placeholder = false;
    for c in text.chars() {
        match c {
            '<' => in_placeholder = true,
            '>' if in_placeholder => {
                in_placeholder = false;
                plain.push(' ');
            }
            _ if in_placeholder => {}
            c => plain.extend(c.to_lowercase().map(unaccented)),
        }
    }
    plain
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect()
}

/// Whether `phrase` (one or more words) occurs in `text` as whole words, ignoring case and accents.
pub fn has_phrase(text_words: &[String], phrase: &str) -> bool {
    let p = words(phrase);
    !p.is_empty() && text_words.windows(p.len()).any(|w| w == p.as_slice())
}

/// The trust answer on the five-point scale: a thumbs down (stored 0) counts as 1, a thumbs up (stored 1, positive)
/// as 5, so "at or below 2" never takes a satisfied person for a dissatisfied one.
fn trust_on_five(f: &Facts<'_>) -> Option<i16> {
    match (f.trust?, f.trust_positive) {
        (0, _) => Some(1),
        (1, Some(true)) => Some(5),
        (t, _) => Some(t),
    }
}

/// Whether the response's facts meet every condition.
pub fn matches(c: &Conditions, f: &Facts<'_>) -> bool {
    if c.trust_negative && f.trust_positive != Some(false) {
        return false;
    }
    if let Some(max) = c.trust_at_most
        && trust_on_five(f).is_none_or(|t| t > max)
    {
        return false;
    }
    if let Some(l) = &c.language
        && !f.language.eq_ignore_ascii_case(l)
    {
        return false;
    }
    if let Some(s) = &c.sentiment
        && f.sentiment != Some(s.as_str())
    {
        return false;
    }
    if !c.intents.is_empty() {
        let found = match f.enrichment {
            Some(Value::Object(per_question)) => per_question
                .values()
                .filter_map(|e| e["intent"].as_str())
                .any(|i| c.intents.iter().any(|x| x == i)),
            _ => false,
        };
        if !found {
            return false;
        }
    }
    if !c.themes.is_empty() && !f.themes.iter().any(|t| c.themes.contains(t)) {
        return false;
    }
    if !c.keywords.is_empty() {
        let text: Vec<String> = f
            .answers
            .values()
            .filter_map(|a| a.as_text())
            .chain(f.text)
            .flat_map(words)
            .collect();
        if !c.keywords.iter().any(|k| has_phrase(&text, k)) {
            return false;
        }
    }
    if let Some(s) = &c.service_id
        && s != f.service_id
    {
        return false;
    }
    if let Some(t) = &c.touchpoint_id
        && Some(t.as_str()) != f.touchpoint_id
    {
        return false;
    }
    if let Some(ch) = &c.channel
        && ch != f.channel
    {
        return false;
    }
    if c.urgent && !f.urgent {
        return false;
    }
    true
}

impl Conditions {
    /// Whether any condition is set.
    pub fn any(&self) -> bool {
        self.trust_negative
            || self.trust_at_most.is_some()
            || self.language.is_some()
            || self.sentiment.is_some()
            || !self.intents.is_empty()
            || !self.themes.is_empty()
            || !self.keywords.is_empty()
            || self.service_id.is_some()
            || self.touchpoint_id.is_some()
            || self.channel.is_some()
            || self.urgent
            || self.similar.is_some()
            || self.sla_at_risk
            || !self.event_types.is_empty()
            || self.measure.is_some()
    }
}

impl RuleSpec {
    /// Checks what can be checked without the organization's data: `name` (1 to 100 characters), `conditions`
    /// (none set), `sentiment`, `intents` (unknown), `keywords` (empty or over 100 characters, more than
    /// [`MAX_LIST`]), `themes` (more than [`MAX_LIST`]), `channel` (not an A-11 channel), `actions` (none), `notify`
    /// (more than [`MAX_NOTIFY`]). Ids of services, touchpoints, teams and members are checked by the store.
    pub fn check(&self) -> Result<(), FieldErrors> {
        let mut errs = FieldErrors::default();
        let name = self.name.trim();
        if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
            errs.push(FieldError::new(
                "name",
                "invalid_name",
                "Name the rule in 1 to 100 characters",
            ));
        }
        let c = &self.conditions;
        if !c.any() {
            errs.push(FieldError::new(
                "conditions",
                "no_condition",
                "Choose at least one condition, or the rule would match every response",
            ));
        }
        if let Some(s) = &c.sentiment
            && !["negative", "neutral", "positive"].contains(&s.as_str())
        {
            errs.push(FieldError::new(
                "sentiment",
                "unknown_sentiment",
                "Choose negative, neutral or positive",
            ));
        }
        if c.intents
            .iter()
            .any(|i| !INTENTS.iter().any(|(k, _)| k == i))
        {
            errs.push(FieldError::new(
                "intents",
                "unknown_intent",
                "Choose intents from the list",
            ));
        }
        if c.keywords.len() > MAX_LIST
            || c.keywords
                .iter()
                .any(|k| words(k).is_empty() || k.chars().count() > 100)
        {
            errs.push(FieldError::new(
                "keywords",
                "invalid_keywords",
                format!("Give at most {MAX_LIST} words or phrases, one per line, each with a letter or digit"),
            ));
        }
        if c.themes.len() > MAX_LIST {
            errs.push(FieldError::new(
                "themes",
                "too_many",
                format!("At most {MAX_LIST} themes"),
            ));
        }
        if let Some(ch) = &c.channel
            && ch.parse::<crate::Channel>().is_err()
        {
            errs.push(FieldError::new(
                "channel",
                "unknown_channel",
                "Choose a channel from the list",
            ));
        }
        let a = &self.actions;
        if a.open_case.is_none()
            && a.notify.is_empty()
            && !a.webhook
            && !a.offer_callback
            && a.tag.is_none()
            && a.assign_team.is_none()
        {
            errs.push(FieldError::new(
                "actions",
                "no_action",
                "Choose at least one thing the rule does",
            ));
        }
        if let Some(sim) = &c.similar {
            if !(2..=1_000).contains(&sim.at_least) {
                errs.push(FieldError::new(
                    "similar_at_least",
                    "out_of_range",
                    "Count from 2 to 1,000 similar items",
                ));
            }
            if !(1..=720).contains(&sim.hours) {
                errs.push(FieldError::new(
                    "similar_hours",
                    "out_of_range",
                    "Give a period of 1 to 720 hours (30 days)",
                ));
            }
        }
        if let Some(t) = &a.tag {
            let t = t.trim();
            if t.is_empty()
                || t.chars().count() > MAX_TAG
                || !t
                    .chars()
                    .all(|c| c.is_alphanumeric() || c == ' ' || c == '-' || c == '_')
            {
                errs.push(FieldError::new(
                    "tag",
                    "invalid_tag",
                    format!("Write a tag of 1 to {MAX_TAG} letters, digits, spaces, - or _"),
                ));
            }
        }
        // What each kind of rule can look at and do.
        let not_for = |errs: &mut FieldErrors, field: &str, what: &str| {
            errs.push(FieldError::new(
                field,
                "not_for_this_kind",
                format!(
                    "{what} is not something a rule on {} can use",
                    self.applies_to.key()
                ),
            ));
        };
        let text_or_survey = c.trust_negative
            || c.trust_at_most.is_some()
            || c.language.is_some()
            || c.sentiment.is_some()
            || !c.intents.is_empty()
            || !c.themes.is_empty()
            || !c.keywords.is_empty()
            || c.touchpoint_id.is_some()
            || c.channel.is_some()
            || c.urgent;
        if self.applies_to != AppliesTo::Events
            && (!c.event_types.is_empty() || c.measure.is_some())
        {
            not_for(&mut errs, "event_types", "An event's type or measure");
        }
        if c.trust_at_most.is_some_and(|t| !(1..=4).contains(&t)) {
            errs.push(FieldError::new(
                "trust_at_most",
                "out_of_range",
                "Choose a trust answer from 1 to 4 (5 would match every answer)",
            ));
        }
        if let Some(l) = &c.language
            && !["en", "es"].contains(&l.as_str())
        {
            errs.push(FieldError::new(
                "language",
                "unknown_language",
                "Choose English (en) or Spanish (es)",
            ));
        }
        if let Some(m) = &c.measure
            && (m.name.trim().is_empty() || m.at_least < 0)
        {
            errs.push(FieldError::new(
                "measure",
                "invalid_measure",
                "Choose a measure and a value of 0 or more",
            ));
        }
        match self.applies_to {
            AppliesTo::Events => {
                if text_or_survey || c.sla_at_risk {
                    not_for(
                        &mut errs,
                        "conditions",
                        "Only event types, a measure, the service and many in a period; anything else",
                    );
                }
                if a.offer_callback {
                    not_for(&mut errs, "offer_callback", "Offering a callback");
                }
                if a.tag.is_some() {
                    not_for(&mut errs, "tag", "A tag");
                }
                if a.assign_team.is_some() {
                    not_for(&mut errs, "assign_team", "Giving a case to a team");
                }
            }
            AppliesTo::Responses => {
                if c.sla_at_risk {
                    not_for(&mut errs, "sla_at_risk", "An SLA about to breach");
                }
                if a.assign_team.is_some() {
                    not_for(&mut errs, "assign_team", "Giving a case to a team");
                }
            }
            AppliesTo::Signals => {
                if c.trust_negative || c.trust_at_most.is_some() {
                    not_for(&mut errs, "trust_negative", "A trust answer");
                }
                if c.channel.is_some() {
                    not_for(&mut errs, "channel", "A survey channel");
                }
                if c.sla_at_risk {
                    not_for(&mut errs, "sla_at_risk", "An SLA about to breach");
                }
                if a.offer_callback {
                    not_for(
                        &mut errs,
                        "offer_callback",
                        "Offering a callback on a thank-you page",
                    );
                }
                if a.assign_team.is_some() {
                    not_for(&mut errs, "assign_team", "Giving a case to a team");
                }
            }
            AppliesTo::Cases => {
                if !c.sla_at_risk {
                    errs.push(FieldError::new(
                        "sla_at_risk",
                        "required",
                        "A rule on cases runs when an SLA is about to breach: tick it",
                    ));
                }
                if text_or_survey || c.similar.is_some() {
                    not_for(
                        &mut errs,
                        "conditions",
                        "Only the service and an SLA about to breach; anything else",
                    );
                }
                if a.open_case.is_some() {
                    not_for(&mut errs, "open_case", "Opening a case");
                }
                if a.offer_callback {
                    not_for(&mut errs, "offer_callback", "Offering a callback");
                }
                if a.tag.is_some() {
                    not_for(&mut errs, "tag", "A tag");
                }
            }
        }
        if a.notify.len() > MAX_NOTIFY {
            errs.push(FieldError::new(
                "notify",
                "too_many",
                format!("Email at most {MAX_NOTIFY} people"),
            ));
        }
        errs.into_result(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::response::{AnswerValue, Answers};
    use serde_json::json;

    fn facts<'a>(answers: &'a Answers, enrichment: &'a Value, themes: &'a [String]) -> Facts<'a> {
        Facts {
            trust_positive: Some(false),
            trust: Some(2),
            language: "es",
            sentiment: Some("negative"),
            themes,
            enrichment: Some(enrichment),
            answers,
            service_id: "svc",
            touchpoint_id: Some("tp"),
            channel: "website",
            urgent: false,
            text: None,
        }
    }

    #[test]
    fn every_condition_must_hold() {
        let mut answers = Answers::new();
        answers.insert(
            "comment".into(),
            AnswerValue::Text("My Refund is still late, after 14 weeks.".into()),
        );
        let enrichment = json!({"comment": {"intent": "complaint"}});
        let themes = vec!["timeliness".to_string()];
        let f = facts(&answers, &enrichment, &themes);
        let mut c = Conditions {
            trust_negative: true,
            sentiment: Some("negative".into()),
            intents: vec!["complaint".into()],
            themes: vec!["timeliness".into(), "staff".into()],
            keywords: vec!["refund is".into()],
            service_id: Some("svc".into()),
            touchpoint_id: Some("tp".into()),
            channel: Some("website".into()),
            urgent: false,
            similar: None,
            sla_at_risk: false,
            event_types: vec![],
            measure: None,
            trust_at_most: Some(2),
            language: Some("es".into()),
        };
        assert!(matches(&c, &f));
        c.trust_at_most = Some(1);
        assert!(!matches(&c, &f), "2 is not at most 1");
        let thumbs_up = Facts {
            trust: Some(1),
            trust_positive: Some(true),
            ..f
        };
        let thumbs_down = Facts {
            trust: Some(0),
            trust_positive: Some(false),
            ..f
        };
        let low = Conditions {
            trust_at_most: Some(1),
            ..Default::default()
        };
        assert!(
            !matches(&low, &thumbs_up),
            "a thumbs up is the top of the scale"
        );
        assert!(matches(&low, &thumbs_down));
        c.trust_at_most = Some(2);
        c.language = Some("en".into());
        assert!(!matches(&c, &f), "a segment: the person's language");
        c.language = None;
        c.keywords = vec!["fund".into()];
        assert!(!matches(&c, &f), "whole words only");
        c.keywords = vec!["REFUND".into()];
        assert!(matches(&c, &f));
        assert!(has_phrase(&words("Esperé tres meses"), "espere"));
        assert!(has_phrase(&words("no reembolso"), "Reembolsó"));
        assert!(!has_phrase(
            &words("call me at <PHONE_NUMBER> please"),
            "phone number"
        ));
        assert!(has_phrase(
            &words("call me at <PHONE_NUMBER> please"),
            "at please"
        ));
        c.intents = vec!["question".into()];
        assert!(!matches(&c, &f));
        c.intents = vec![];
        c.urgent = true;
        assert!(!matches(&c, &f));
        c.urgent = false;
        c.channel = Some("phone".into());
        assert!(!matches(&c, &f));
        let unread = Facts {
            enrichment: None,
            ..f
        };
        let intent_only = Conditions {
            intents: vec!["complaint".into()],
            ..Default::default()
        };
        assert!(
            !matches(&intent_only, &unread),
            "an unread text matches no reading"
        );
    }

    #[test]
    fn checks_name_their_fields() {
        let spec = RuleSpec {
            applies_to: AppliesTo::Responses,
            name: " ".into(),
            conditions: Conditions {
                sentiment: Some("angry".into()),
                intents: vec!["rant".into()],
                keywords: vec!["--".into()],
                channel: Some("pigeon".into()),
                ..Default::default()
            },
            actions: Actions::default(),
        };
        let errs = spec.check().unwrap_err();
        let fields: Vec<&str> = errs.0.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "name",
                "sentiment",
                "intents",
                "keywords",
                "channel",
                "actions"
            ]
        );
        let empty = RuleSpec {
            name: "x".into(),
            actions: Actions {
                webhook: true,
                ..Default::default()
            },
            ..Default::default()
        };
        assert_eq!(empty.check().unwrap_err().0[0].field, "conditions");
    }

    #[test]
    fn each_kind_of_rule_uses_what_it_can() {
        let case_rule = RuleSpec {
            name: "Nearly late".into(),
            applies_to: AppliesTo::Cases,
            conditions: Conditions {
                sla_at_risk: true,
                ..Default::default()
            },
            actions: Actions {
                assign_team: Some("t".into()),
                ..Default::default()
            },
        };
        assert!(case_rule.check().is_ok());
        let mut bad = case_rule.clone();
        bad.conditions.keywords = vec!["late".into()];
        bad.actions.open_case = Some(OpenCase {
            priority: Priority::High,
            team_id: None,
        });
        let fields: Vec<String> = bad
            .check()
            .unwrap_err()
            .0
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(fields, ["conditions", "open_case"]);
        let signal_rule = RuleSpec {
            name: "Many about lost mail".into(),
            applies_to: AppliesTo::Signals,
            conditions: Conditions {
                trust_negative: true,
                similar: Some(Similar {
                    at_least: 1,
                    hours: 24,
                }),
                ..Default::default()
            },
            actions: Actions {
                tag: Some("lost mail!".into()),
                ..Default::default()
            },
        };
        let fields: Vec<String> = signal_rule
            .check()
            .unwrap_err()
            .0
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(fields, ["similar_at_least", "tag", "trust_negative"]);
        // A signal's own text is read by keyword conditions.
        let answers = Answers::new();
        let f = Facts {
            text: Some("My letter was lost in the mail"),
            ..facts(&answers, &Value::Null, &[])
        };
        let c = Conditions {
            keywords: vec!["lost in the mail".into()],
            ..Default::default()
        };
        assert!(matches(&c, &f));
    }

    #[test]
    fn event_rules_read_types_and_measures() {
        let c = Conditions {
            event_types: vec!["wait_ended".into()],
            measure: Some(MeasureAtLeast {
                name: "wait_seconds".into(),
                at_least: 3_600,
            }),
            ..Default::default()
        };
        let long = std::collections::BTreeMap::from([("wait_seconds".to_string(), 5_400.0)]);
        let short = std::collections::BTreeMap::from([("wait_seconds".to_string(), 60.0)]);
        assert!(matches_event(&c, "wait_ended", None, &long));
        assert!(!matches_event(&c, "wait_ended", None, &short));
        assert!(!matches_event(&c, "application_submitted", None, &long));
        assert!(!matches_event(&c, "wait_ended", None, &Default::default()));
        let spec = RuleSpec {
            name: "Long waits".into(),
            applies_to: AppliesTo::Events,
            conditions: Conditions {
                keywords: vec!["x".into()],
                ..c.clone()
            },
            actions: Actions {
                tag: Some("t".into()),
                webhook: true,
                ..Default::default()
            },
        };
        let fields: Vec<String> = spec
            .check()
            .unwrap_err()
            .0
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(fields, ["conditions", "tag"]);
        let on_responses = RuleSpec {
            applies_to: AppliesTo::Responses,
            conditions: c,
            ..spec
        };
        assert_eq!(on_responses.check().unwrap_err().0[0].field, "event_types");
    }
}
