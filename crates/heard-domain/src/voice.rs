//! People's own words through two forms of Heard's own: the public "Report a problem / Tell us about your
//! experience" page of a service, and the frontline staff observation form in the admin. Each is parsed here into a
//! `SignalInput` (source `web_form`, author public; or source `staff_observation`, author staff) and the few things
//! only a form knows (`Extras`), so both take the ingestion API's path from there: the pipeline redacts and enriches
//! the text and hashes the person, the store writes the signal by the same insert.
//!
//! Field names are the forms' own (`what`, `touchpoint`, `rating`, `url`, `contact`; `what`, `frequency`, `fix`,
//! `service`, `touchpoint`, `people`), so a page can put each error beside its field; codes are stable, messages are
//! English sentences for logs and tests (pages word them in their own language by code).

use serde_json::{Map, Value, json};

use crate::identity::PersonId;
use crate::intake::Common;
use crate::signal::{Author, SignalInput, SignalSource};
use crate::{FieldError, FieldErrors, Lang, ServiceId, TouchpointId, UserId};

/// The longest "what happened" or "what did you see" a form takes, in characters (the page's `maxlength`).
pub const MAX_WHAT: usize = 5_000;
/// The longest "what would fix it", in characters.
pub const MAX_FIX: usize = 2_000;
/// The largest "roughly how many people": ten million.
pub const MAX_PEOPLE: i64 = 10_000_000;

/// What a form adds to a signal beyond what the ingestion API carries, before protection.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Extras {
    /// Structured answers kept beside the signal (`frequency`, `fix`, `people_affected`, `reply_wanted`); string
    /// values are free text and are redacted like the signal's text before they are stored.
    pub attributes: Map<String, Value>,
    /// The staff account that sent an observation; set by the server from the session, never read from a form.
    pub sent_by: Option<UserId>,
    /// How to reach the person, as typed, when they asked for a reply: to be sealed, never analysed or shown in
    /// analytics. Its normalised form is the signal's `person`.
    pub contact: Option<String>,
}

/// `Extras` after protection: attribute text redacted, the contact sealed (nonce and ciphertext).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProtectedExtras {
    pub attributes: Map<String, Value>,
    pub sent_by: Option<UserId>,
    pub sealed_contact: Option<Vec<u8>>,
}

/// A parsed form: the signal and what only the form knows.
#[derive(Debug, Clone, PartialEq)]
pub struct FormSignal {
    pub signal: SignalInput,
    pub extras: Extras,
}

/// The public report form as posted (values as typed, trimmed).
#[derive(Debug, Clone, Default)]
pub struct ReportForm<'a> {
    pub what: &'a str,
    /// A touchpoint id of the service, or empty.
    pub touchpoint: &'a str,
    /// `1` to `5`, or empty.
    pub rating: &'a str,
    /// An http(s) address, or empty.
    pub url: &'a str,
    /// An email address or a phone number, or empty.
    pub contact: &'a str,
}

/// How often a member of staff sees what they report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Frequency {
    Once,
    FewTimesAWeek,
    Daily,
    MostCases,
}

impl Frequency {
    pub const ALL: [Frequency; 4] = [
        Frequency::Once,
        Frequency::FewTimesAWeek,
        Frequency::Daily,
        Frequency::MostCases,
    ];

    pub fn key(self) -> &'static str {
        match self {
            Frequency::Once => "once",
            Frequency::FewTimesAWeek => "few_times_a_week",
            Frequency::Daily => "daily",
            Frequency::MostCases => "most_cases",
        }
    }

    /// Words for staff screens.
    pub fn label(self) -> &'static str {
        match self {
            Frequency::Once => "Once",
            Frequency::FewTimesAWeek => "A few times a week",
            Frequency::Daily => "Daily",
            Frequency::MostCases => "In most cases",
        }
    }

    pub fn parse(s: &str) -> Option<Frequency> {
        Frequency::ALL.into_iter().find(|f| f.key() == s)
    }
}

/// The staff observation form as posted (values as typed, trimmed).
#[derive(Debug, Clone, Default)]
pub struct ObservationForm<'a> {
    pub what: &'a str,
    /// A `Frequency` key.
    pub frequency: &'a str,
    pub fix: &'a str,
    /// A service id of the organization.
    pub service: &'a str,
    /// A touchpoint id of that service, or empty.
    pub touchpoint: &'a str,
    /// A whole number, or empty.
    pub people: &'a str,
}

fn required_text(field: &str, s: &str, max: usize, what: &str, errs: &mut FieldErrors) -> String {
    if s.trim().is_empty() {
        errs.push(FieldError::new(
            field,
            "required",
            format!("{field} is required: {what}"),
        ));
    } else if s.chars().count() > max {
        errs.push(FieldError::new(
            field,
            "too_long",
            format!("{field} must be at most {max} characters"),
        ));
    }
    s.trim().to_string()
}

/// A touchpoint id among `allowed` (the service's), or none when empty.
fn touchpoint_of(
    s: &str,
    allowed: &[TouchpointId],
    errs: &mut FieldErrors,
) -> Option<TouchpointId> {
    if s.is_empty() {
        return None;
    }
    match s.parse::<TouchpointId>() {
        Ok(t) if allowed.contains(&t) => Some(t),
        _ => {
            errs.push(FieldError::new(
                "touchpoint",
                "unknown_touchpoint",
                "touchpoint must be one of the service's touchpoints, or left empty",
            ));
            None
        }
    }
}

/// An email address (it has an `@`) or a phone number, normalised by the rules every channel uses.
fn contact_of(s: &str, errs: &mut FieldErrors) -> Option<PersonId> {
    if s.is_empty() {
        return None;
    }
    let parsed = if s.contains('@') {
        PersonId::email("contact", s)
    } else {
        PersonId::phone("contact", s)
    };
    parsed
        .map_err(|e| {
            errs.push(FieldError::new(
                "contact",
                if s.contains('@') {
                    "invalid_email"
                } else {
                    "invalid_phone"
                },
                e.message,
            ))
        })
        .ok()
}

/// Parses the public report form of service `service`, whose touchpoints are `touchpoints`, shown in `lang`.
/// `token` is the form's own key (made when the page was shown): the signal's external id, so sending the same form
/// twice stores it once. Every field at fault is named.
pub fn parse_report(
    f: &ReportForm<'_>,
    service: ServiceId,
    touchpoints: &[TouchpointId],
    lang: Lang,
    token: &str,
    now_ms: i64,
) -> Result<FormSignal, FieldErrors> {
    let mut errs = FieldErrors::default();
    let text = required_text(
        "what",
        f.what,
        MAX_WHAT,
        "what happened, in your own words",
        &mut errs,
    );
    let touchpoint_id = touchpoint_of(f.touchpoint, touchpoints, &mut errs);
    let rating = match f.rating {
        "" => None,
        r => match r.parse::<i16>() {
            Ok(n) if (1..=5).contains(&n) => Some(n),
            _ => {
                errs.push(FieldError::new(
                    "rating",
                    "out_of_range",
                    "rating must be one of the answers shown, 1 to 5, or left empty",
                ));
                None
            }
        },
    };
    let url = match f.url {
        "" => None,
        u if (u.starts_with("https://") || u.starts_with("http://"))
            && u.len() > "https://".len()
            && u.len() <= 2000
            && !u.contains(char::is_whitespace) =>
        {
            Some(u.to_string())
        }
        _ => {
            errs.push(FieldError::new(
                "url",
                "invalid_url",
                "url must be a web address starting with https:// or http://, or left empty",
            ));
            None
        }
    };
    let person = contact_of(f.contact, &mut errs);
    let mut attributes = Map::new();
    if person.is_some() {
        attributes.insert("reply_wanted".into(), Value::Bool(true));
    }
    errs.into_result(FormSignal {
        signal: SignalInput {
            common: Common {
                external_id: format!("report-form:{token}"),
                occurred_at: now_ms,
                service_id: Some(service),
                touchpoint_id,
                person,
                reference: None,
            },
            source: SignalSource::WebForm,
            author: Author::Public,
            text,
            turns: Vec::new(),
            rating,
            url,
            language: Some(lang),
        },
        extras: Extras {
            attributes,
            sent_by: None,
            contact: (!f.contact.is_empty()).then(|| f.contact.to_string()),
        },
    })
}

/// Parses the staff observation form. `services` are the organization's services with their touchpoints, so a
/// service or touchpoint of another organization is simply unknown; `sent_by` is the signed-in account.
pub fn parse_observation(
    f: &ObservationForm<'_>,
    services: &[(ServiceId, Vec<TouchpointId>)],
    sent_by: UserId,
    token: &str,
    now_ms: i64,
) -> Result<FormSignal, FieldErrors> {
    let mut errs = FieldErrors::default();
    let text = required_text(
        "what",
        f.what,
        MAX_WHAT,
        "what you saw, in a sentence or two",
        &mut errs,
    );
    let frequency = match f.frequency {
        "" => {
            errs.push(FieldError::new(
                "frequency",
                "required",
                "frequency is required: choose how often you see it",
            ));
            None
        }
        s => Frequency::parse(s).or_else(|| {
            errs.push(FieldError::new(
                "frequency",
                "not_an_option",
                "frequency must be one of the answers shown",
            ));
            None
        }),
    };
    let fix = f.fix.trim();
    if fix.chars().count() > MAX_FIX {
        errs.push(FieldError::new(
            "fix",
            "too_long",
            format!("fix must be at most {MAX_FIX} characters"),
        ));
    }
    let service = match f.service {
        "" => {
            errs.push(FieldError::new(
                "service",
                "required",
                "service is required: choose the service you saw it in",
            ));
            None
        }
        s => match s
            .parse::<ServiceId>()
            .ok()
            .and_then(|id| services.iter().find(|(x, _)| *x == id))
        {
            Some(found) => Some(found),
            None => {
                errs.push(FieldError::new(
                    "service",
                    "unknown_service",
                    "service must be one of your organization's services",
                ));
                None
            }
        },
    };
    let touchpoint_id = match service {
        Some((_, tps)) => touchpoint_of(f.touchpoint, tps, &mut errs),
        None => None,
    };
    let people = match f.people.replace(',', "").trim() {
        "" => None,
        p => match p.parse::<i64>() {
            Ok(n) if (1..=MAX_PEOPLE).contains(&n) => Some(n),
            _ => {
                errs.push(FieldError::new(
                    "people",
                    "not_a_number",
                    format!("people must be a whole number from 1 to {MAX_PEOPLE}, or left empty"),
                ));
                None
            }
        },
    };
    let mut attributes = Map::new();
    if let Some(fr) = frequency {
        attributes.insert("frequency".into(), json!(fr.key()));
    }
    if !fix.is_empty() {
        attributes.insert("fix".into(), json!(fix));
    }
    if let Some(n) = people {
        attributes.insert("people_affected".into(), json!(n));
    }
    errs.into_result(FormSignal {
        signal: SignalInput {
            common: Common {
                external_id: format!("staff-form:{token}"),
                occurred_at: now_ms,
                service_id: service.map(|(id, _)| *id),
                touchpoint_id,
                person: None,
                reference: None,
            },
            source: SignalSource::StaffObservation,
            author: Author::Staff,
            text,
            turns: Vec::new(),
            rating: None,
            url: None,
            language: None,
        },
        extras: Extras {
            attributes,
            sent_by: Some(sent_by),
            contact: None,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codes(e: &FieldErrors) -> Vec<(&str, &str)> {
        e.0.iter().map(|e| (e.field.as_str(), e.code)).collect()
    }

    #[test]
    fn a_report_becomes_a_public_web_form_signal_with_a_person() {
        let svc = ServiceId::new();
        let tp = TouchpointId::new();
        let f = ReportForm {
            what: "The upload button does nothing",
            touchpoint: &tp.to_string(),
            rating: "2",
            url: "https://benefits.example.gov/apply?step=3",
            contact: "Ana@Example.gov",
        };
        let s = parse_report(&f, svc, &[tp], Lang::parse("es").unwrap(), "k1", 5).unwrap();
        assert_eq!(s.signal.source, SignalSource::WebForm);
        assert_eq!(s.signal.author, Author::Public);
        assert_eq!(s.signal.common.service_id, Some(svc));
        assert_eq!(s.signal.common.touchpoint_id, Some(tp));
        assert_eq!(s.signal.rating, Some(2));
        assert_eq!(s.signal.common.external_id, "report-form:k1");
        assert_eq!(
            s.signal.common.person.as_ref().map(|p| p.as_str()),
            Some("email:ana@example.gov")
        );
        assert_eq!(s.extras.contact.as_deref(), Some("Ana@Example.gov"));
        assert_eq!(s.extras.attributes["reply_wanted"], json!(true));
    }

    #[test]
    fn every_report_field_at_fault_is_named() {
        let f = ReportForm {
            what: "  ",
            touchpoint: &TouchpointId::new().to_string(),
            rating: "9",
            url: "javascript:alert(1)",
            contact: "call me",
        };
        let e = parse_report(&f, ServiceId::new(), &[], Lang::en(), "k", 5).unwrap_err();
        assert_eq!(
            codes(&e),
            [
                ("what", "required"),
                ("touchpoint", "unknown_touchpoint"),
                ("rating", "out_of_range"),
                ("url", "invalid_url"),
                ("contact", "invalid_phone"),
            ]
        );
        let long = "x".repeat(MAX_WHAT + 1);
        let e = parse_report(
            &ReportForm {
                what: &long,
                contact: "ana@",
                ..Default::default()
            },
            ServiceId::new(),
            &[],
            Lang::en(),
            "k",
            5,
        )
        .unwrap_err();
        assert_eq!(
            codes(&e),
            [("what", "too_long"), ("contact", "invalid_email")]
        );
    }

    #[test]
    fn an_observation_is_a_staff_signal_of_one_of_the_organizations_services() {
        let (a, b) = (ServiceId::new(), ServiceId::new());
        let tp = TouchpointId::new();
        let services = vec![(a, vec![tp]), (b, vec![])];
        let me = UserId::new();
        let f = ObservationForm {
            what: "People bring the old form",
            frequency: "daily",
            fix: "Take the old form down from the lobby",
            service: &a.to_string(),
            touchpoint: &tp.to_string(),
            people: "1,200",
        };
        let s = parse_observation(&f, &services, me, "t", 5).unwrap();
        assert_eq!(
            (s.signal.source, s.signal.author),
            (SignalSource::StaffObservation, Author::Staff)
        );
        assert_eq!(s.signal.common.service_id, Some(a));
        assert_eq!(s.extras.sent_by, Some(me));
        assert_eq!(
            Value::Object(s.extras.attributes),
            json!({"frequency": "daily", "fix": "Take the old form down from the lobby", "people_affected": 1200})
        );
        // A touchpoint of another service, a service of another organization, and bad answers are each named.
        let f = ObservationForm {
            what: "x",
            frequency: "hourly",
            service: &b.to_string(),
            touchpoint: &tp.to_string(),
            people: "lots",
            ..Default::default()
        };
        let e = parse_observation(&f, &services, me, "t", 5).unwrap_err();
        assert_eq!(
            codes(&e),
            [
                ("frequency", "not_an_option"),
                ("touchpoint", "unknown_touchpoint"),
                ("people", "not_a_number"),
            ]
        );
        let other = ServiceId::new().to_string();
        let e = parse_observation(
            &ObservationForm {
                service: &other,
                ..Default::default()
            },
            &services,
            me,
            "t",
            5,
        )
        .unwrap_err();
        assert_eq!(
            codes(&e),
            [
                ("what", "required"),
                ("frequency", "required"),
                ("service", "unknown_service")
            ]
        );
    }
}
