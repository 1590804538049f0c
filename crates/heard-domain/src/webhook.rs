//! Outbound webhooks (issue 21, item 4): the event types an endpoint may choose, the body each event is sent with,
//! and the retry schedule. Signing and sending are the server's (`heard_server::webhooks`), storage the store's
//! (`heard_store::webhooks`).
//!
//! Bodies follow the Standard Webhooks specification's recommended shape (<https://www.standardwebhooks.com/>,
//! "Payload structure"): `{"type": "<event type>", "timestamp": "<RFC 3339>", "data": {...}}`. `data` holds ids,
//! codes and figures only: what the response's own record says about where and when it arrived and what the text
//! engine read, never an answer, a contact, a page path or a person key, so a receiver learns no more about a person
//! than the JSON API returns.

use serde_json::{Value, json};

use crate::response::NewResponse;

/// What happened. Stored and sent as [`EventType::key`]; every list, form and check follows [`EventType::ALL`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EventType {
    /// A survey response was stored (any channel but bulk imports, which load history).
    ResponseReceived,
    /// The text engine found crisis language (someone may be at risk) in a stored response's free text.
    CrisisDetected,
    /// A case was opened (by staff, by crisis language, or by a rule).
    CaseOpened,
    /// A case changed: status, owner, team, priority, a public update, a link, an escalation.
    CaseUpdated,
    /// A case moved to an ending status (resolved, closed, or an organization's own).
    CaseClosed,
    /// A response matched a rule whose actions include the webhook.
    RuleMatched,
}

impl EventType {
    pub const ALL: [EventType; 6] = [
        EventType::ResponseReceived,
        EventType::CrisisDetected,
        EventType::CaseOpened,
        EventType::CaseUpdated,
        EventType::CaseClosed,
        EventType::RuleMatched,
    ];

    /// The type as sent in the body's `type` and stored: dotted lower-case words.
    pub fn key(self) -> &'static str {
        match self {
            EventType::ResponseReceived => "response.received",
            EventType::CrisisDetected => "crisis.detected",
            EventType::CaseOpened => "case.opened",
            EventType::CaseUpdated => "case.updated",
            EventType::CaseClosed => "case.closed",
            EventType::RuleMatched => "rule.matched",
        }
    }

    pub fn parse(s: &str) -> Option<EventType> {
        EventType::ALL.into_iter().find(|t| t.key() == s)
    }
}

/// The waits (milliseconds) before the 2nd, 3rd, ... attempt of a delivery that failed: 5 seconds, 5 minutes, 30
/// minutes, 2 hours, 5 hours, 10 hours, 10 hours, the schedule the Standard Webhooks authors' Svix documents
/// (<https://docs.svix.com/retries>); eight attempts over about 28 hours, then the delivery is `failed` and waits
/// for a replay.
pub const RETRY_SCHEDULE_MS: [i64; 7] = [
    5_000,
    5 * 60_000,
    30 * 60_000,
    2 * 3_600_000,
    5 * 3_600_000,
    10 * 3_600_000,
    10 * 3_600_000,
];

/// How long the previous secret keeps signing after a rotation (milliseconds): 24 hours, time for a receiver to
/// take the new one without missing a message.
pub const ROTATION_OVERLAP_MS: i64 = 24 * 3_600_000;

/// The wait after scheduled attempt `attempt` (1 for the first) failed, or `None` when it was the last. Up to a
/// tenth more is added from `random`, so deliveries that failed together (a receiver's outage) do not all come
/// back in the same second.
pub fn retry_after_ms(attempt: u32, random: u64) -> Option<i64> {
    let base = *RETRY_SCHEDULE_MS.get(attempt.checked_sub(1)? as usize)?;
    Some(base + (random % (base as u64 / 10 + 1)) as i64)
}

/// Whether the stored reading of a response found crisis language: an `urgency` list of some question's
/// enrichment holds `crisis` (threats are urgent too, but are not this event). A response marked urgent whose text
/// was not read yet (no enrichment) counts, so a crisis is never missed for want of a reading.
pub fn crisis_in(r: &NewResponse) -> bool {
    match &r.enrichment {
        Some(Value::Object(per_question)) => per_question.values().any(|e| {
            e["urgency"]
                .as_array()
                .is_some_and(|u| u.iter().any(|x| x == "crisis"))
        }),
        _ => r.urgent,
    }
}

/// A case as webhooks see it: ids, codes and times, never a title, note or update text (staff write those, and
/// they may name the person).
#[derive(Debug, Clone)]
pub struct CaseFacts<'a> {
    pub organization_id: String,
    pub case_id: String,
    pub number: i64,
    pub status: &'a str,
    pub priority: &'a str,
    pub source: &'a str,
    pub team_id: Option<String>,
    pub owner_id: Option<String>,
    pub opened_at_ms: i64,
    /// The response that opened it, if one did.
    pub response_id: Option<String>,
}

/// The body of a `case.*` event at `at_ms`: `data` holds `organization_id`, `case_id`, `number`, `status`,
/// `priority`, `source` (`staff`, `crisis`, `rule`), `team_id`, `owner_id`, `opened_at` (RFC 3339), `response_id`
/// and `change` (what changed: `opened`, `status`, `owner`, `team`, `priority`, `public_update`, `linked`,
/// `escalated`, `sla_recomputed`).
pub fn case_event(kind: EventType, facts: &CaseFacts<'_>, change: &str, at_ms: i64) -> Value {
    json!({
        "type": kind.key(),
        "timestamp": rfc3339(at_ms),
        "data": {
            "organization_id": facts.organization_id,
            "case_id": facts.case_id,
            "number": facts.number,
            "status": facts.status,
            "priority": facts.priority,
            "source": facts.source,
            "team_id": facts.team_id,
            "owner_id": facts.owner_id,
            "opened_at": rfc3339(facts.opened_at_ms),
            "response_id": facts.response_id,
            "change": change,
        }
    })
}

/// What a rule matched: a response, a signal, an event, or a case whose SLA is about to breach.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleSubject<'a> {
    Response(&'a str),
    Signal(&'a str),
    Case(&'a str),
    Event(&'a str),
}

/// The body of `rule.matched` at `at_ms`: `data` holds `organization_id`, `rule_id`, `rule_name`, `subject`
/// (`response`, `signal`, `event` or `case`) with its id as `response_id`, `signal_id` or `event_id` (a case's is
/// `case_id`),
/// `service_id` (or null), and `case_id` when the rule opened a case or is about one.
pub fn rule_event(
    org: &str,
    rule_id: &str,
    rule_name: &str,
    subject: RuleSubject<'_>,
    service_id: Option<&str>,
    case_id: Option<&str>,
    at_ms: i64,
) -> Value {
    let mut data = json!({
        "organization_id": org,
        "rule_id": rule_id,
        "rule_name": rule_name,
        "service_id": service_id,
        "case_id": case_id,
    });
    let (kind, key, id) = match subject {
        RuleSubject::Response(id) => ("response", "response_id", id),
        RuleSubject::Signal(id) => ("signal", "signal_id", id),
        RuleSubject::Case(id) => ("case", "case_id", id),
        RuleSubject::Event(id) => ("event", "event_id", id),
    };
    data["subject"] = json!(kind);
    data[key] = json!(id);
    json!({
        "type": EventType::RuleMatched.key(),
        "timestamp": rfc3339(at_ms),
        "data": data,
    })
}

fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// The events a stored response makes, each with its body: `response.received` always, and `crisis.detected` when
/// [`crisis_in`] says so.
///
/// `response.received`'s `data`: `organization_id`, `response_id`, `survey_id`, `survey_version`, `service_id`,
/// `touchpoint_id` (or null), `channel` (where it arrived, an A-11 channel code), `language`, `submitted_at` (RFC
/// 3339, UTC), `trust` (the trust answer's value, or null) and `trust_positive`, `sentiment` (`negative`,
/// `neutral`, `positive` or null), `themes` (theme ids) and `urgent`. `crisis.detected`'s `data`: `subject`
/// (`"response"`) and the same ids, channel, language and time.
pub fn response_events(r: &NewResponse) -> Vec<(EventType, Value)> {
    let at = rfc3339(r.submitted_at);
    let touchpoint = r.touchpoint_id.map(|t| t.to_string());
    let mut out = vec![(
        EventType::ResponseReceived,
        json!({
            "type": EventType::ResponseReceived.key(),
            "timestamp": at,
            "data": {
                "organization_id": r.org_id.to_string(),
                "response_id": r.id.to_string(),
                "survey_id": r.survey_id.to_string(),
                "survey_version": r.survey_version,
                "service_id": r.service_id.to_string(),
                "touchpoint_id": touchpoint,
                "channel": r.channel.key(),
                "language": r.language.as_str(),
                "submitted_at": at,
                "trust": r.trust,
                "trust_positive": r.trust_positive,
                "sentiment": r.sentiment,
                "themes": r.themes,
                "urgent": r.urgent,
            }
        }),
    )];
    if crisis_in(r) {
        out.push((
            EventType::CrisisDetected,
            json!({
                "type": EventType::CrisisDetected.key(),
                "timestamp": at,
                "data": {
                    "subject": "response",
                    "organization_id": r.org_id.to_string(),
                    "response_id": r.id.to_string(),
                    "survey_id": r.survey_id.to_string(),
                    "service_id": r.service_id.to_string(),
                    "touchpoint_id": touchpoint,
                    "channel": r.channel.key(),
                    "language": r.language.as_str(),
                    "submitted_at": at,
                }
            }),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_round_trip() {
        for t in EventType::ALL {
            assert_eq!(EventType::parse(t.key()), Some(t));
        }
        assert_eq!(EventType::parse("case.deleted"), None);
    }

    #[test]
    fn schedule_grows_and_ends() {
        assert_eq!(retry_after_ms(1, 0), Some(5_000));
        assert_eq!(retry_after_ms(1, 500), Some(5_500));
        assert_eq!(retry_after_ms(1, 501), Some(5_000));
        assert_eq!(retry_after_ms(2, 0), Some(300_000));
        assert_eq!(retry_after_ms(7, 0), Some(36_000_000));
        assert_eq!(retry_after_ms(8, 0), None);
        assert_eq!(retry_after_ms(0, 0), None);
        for n in 1..6 {
            // Even the longest jitter of one wait stays under the next wait.
            assert!(retry_after_ms(n, u64::MAX).unwrap() < retry_after_ms(n + 1, 0).unwrap());
        }
    }

    #[test]
    fn timestamps_are_utc_rfc3339() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(1_764_550_000_123), "2025-12-01T00:46:40.123Z");
    }
}
