//! Invitations to surveys by SMS and email (issue 20, item 1): the decisions, without I/O. A rule ("after an event of
//! type X, optionally at service Y or touchpoint Z, invite by SMS or email to survey S after a delay D") and a batch
//! (a list of contacts from a CSV upload or the API) both make items of the outbound queue; when an item is due, the
//! server asks [`decide`] whether to hand it off now, hold it, or skip it.
//!
//! The rules, and where they come from:
//! - **Quiet hours.** No invitation goes between 21:00 and 08:00 in the recipient's time zone (the contact's, or else
//!   the organization's). The US Telephone Consumer Protection Act's rules on telephone solicitation
//!   (47 CFR § 64.1200(c)(1)) forbid calls and texts before 8 a.m. and after 9 p.m. local time; Heard holds email to
//!   the same hours so one person's invitations behave alike. A send that falls in them is postponed to the next
//!   08:00 local ([`quiet_until`]), never dropped.
//! - **Contact cap.** No person (by person key, across channels, rules and batches) is asked more than once in N days
//!   (default [`DEFAULT_CAP_DAYS`], 90): survey fatigue is a real cost. A second invitation within the window is
//!   skipped, not postponed: an invitation about a call three months late asks about something the person no longer
//!   remembers. The queue page says when the person may be asked again.
//! - **Sampling.** A rule invites a share (0 to 100 %) of the people its events name. The draw is a keyed hash of the
//!   rule and the person key (the server computes it), so evaluating the same events again decides the same way
//!   ([`sampled_in`]).
//! - **Consent.** An SMS number opted out (STOP) or an email address suppressed (unsubscribe, bounce) is never sent
//!   to: checked when the item is handed off (not only when it was written), and by the sender again when it sends.

use chrono::{Days, NaiveTime, TimeZone};

use crate::identity::PersonId;
use crate::zone::Zone;
use crate::{FieldError, FieldErrors};

/// One day in milliseconds.
pub const DAY_MS: i64 = 24 * 3600 * 1000;
/// The contact cap when a rule or batch does not set one: 90 days.
pub const DEFAULT_CAP_DAYS: i32 = 90;
/// Quiet hours start at this local hour (21:00)...
pub const QUIET_FROM_HOUR: u32 = 21;
/// ...and end at this one (08:00), when held sends go.
pub const QUIET_TO_HOUR: u32 = 8;
/// The longest delay a rule may set: 30 days, in minutes.
pub const MAX_DELAY_MINUTES: i64 = 30 * 24 * 60;
/// The most contacts one batch may hold.
pub const MAX_BATCH_CONTACTS: usize = 10_000;

/// How an invitation reaches the person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Channel {
    Sms,
    Email,
}

impl Channel {
    /// The stored word: `sms` or `email`.
    pub fn key(self) -> &'static str {
        match self {
            Channel::Sms => "sms",
            Channel::Email => "email",
        }
    }

    /// Words for people.
    pub fn label(self) -> &'static str {
        match self {
            Channel::Sms => "Text message (SMS)",
            Channel::Email => "Email",
        }
    }

    pub fn parse(s: &str) -> Option<Channel> {
        match s.trim() {
            "sms" => Some(Channel::Sms),
            "email" => Some(Channel::Email),
            _ => None,
        }
    }
}

/// Where a queue item is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ItemState {
    /// Waiting for its due time.
    Pending,
    /// Postponed (quiet hours): it goes at its new due time.
    Held,
    /// Handed off: the email invitation and its send job, or the `sms.invite` job, are written.
    Sent,
    /// Not sent, and never will be (see its reason).
    Skipped,
}

impl ItemState {
    pub const ALL: [ItemState; 4] = [
        ItemState::Pending,
        ItemState::Held,
        ItemState::Sent,
        ItemState::Skipped,
    ];

    pub fn key(self) -> &'static str {
        match self {
            ItemState::Pending => "pending",
            ItemState::Held => "held",
            ItemState::Sent => "sent",
            ItemState::Skipped => "skipped",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            ItemState::Pending => "Waiting",
            ItemState::Held => "Held",
            ItemState::Sent => "Sent",
            ItemState::Skipped => "Not sent",
        }
    }

    pub fn parse(s: &str) -> Option<ItemState> {
        ItemState::ALL.into_iter().find(|x| x.key() == s)
    }
}

/// Why an item was held or skipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reason {
    /// Due between 21:00 and 08:00 where the person is: held until 08:00.
    QuietHours,
    /// The person was asked within the contact cap.
    ContactCap,
    /// The number replied STOP (or another opt-out word).
    OptedOut,
    /// The address unsubscribed, bounced or complained.
    Suppressed,
    /// Not drawn in the rule's sample.
    SampledOut,
    /// The organization has no sender for the channel (an SMS number, or SMTP settings).
    NoSender,
    /// The event's person has no contact for the rule's channel.
    NoContact,
    /// The survey has no published version.
    NotPublished,
}

impl Reason {
    pub const ALL: [Reason; 8] = [
        Reason::QuietHours,
        Reason::ContactCap,
        Reason::OptedOut,
        Reason::Suppressed,
        Reason::SampledOut,
        Reason::NoSender,
        Reason::NoContact,
        Reason::NotPublished,
    ];

    pub fn key(self) -> &'static str {
        match self {
            Reason::QuietHours => "quiet_hours",
            Reason::ContactCap => "contact_cap",
            Reason::OptedOut => "opted_out",
            Reason::Suppressed => "suppressed",
            Reason::SampledOut => "sampled_out",
            Reason::NoSender => "no_sender",
            Reason::NoContact => "no_contact",
            Reason::NotPublished => "not_published",
        }
    }

    /// Plain words for the queue page.
    pub fn label(self) -> &'static str {
        match self {
            Reason::QuietHours => "Quiet hours (21:00 to 08:00 where the person is)",
            Reason::ContactCap => "Asked recently (contact limit)",
            Reason::OptedOut => "The number opted out (STOP)",
            Reason::Suppressed => "The address unsubscribed or bounced",
            Reason::SampledOut => "Not in the sample",
            Reason::NoSender => "No sender set up for this channel",
            Reason::NoContact => "No phone or email for this person",
            Reason::NotPublished => "The survey is not published",
        }
    }

    pub fn parse(s: &str) -> Option<Reason> {
        Reason::ALL.into_iter().find(|x| x.key() == s)
    }
}

/// The first 08:00 local after `now_ms` when `now_ms` falls in quiet hours (21:00 to 08:00 in `zone`), else `None`.
/// Where 08:00 does not exist (a daylight saving gap), the first local time after it that does.
pub fn quiet_until(now_ms: i64, zone: &Zone) -> Option<i64> {
    use chrono::Timelike;
    let local = zone.local(now_ms);
    let hour = local.hour();
    let date = match hour {
        h if h >= QUIET_FROM_HOUR => local.date_naive().checked_add_days(Days::new(1))?,
        h if h < QUIET_TO_HOUR => local.date_naive(),
        _ => return None,
    };
    let tz = local.timezone();
    let mut t = NaiveTime::from_hms_opt(QUIET_TO_HOUR, 0, 0)?;
    for _ in 0..16 {
        if let Some(at) = tz.from_local_datetime(&date.and_time(t)).earliest() {
            return Some(at.timestamp_millis());
        }
        t += chrono::Duration::minutes(15);
    }
    None
}

/// Whether a person is in a rule's sample of `percent` (0 to 100), given `draw`, a uniform 64-bit keyed hash of the
/// rule and the person key: the same inputs always give the same answer.
pub fn sampled_in(draw: u64, percent: u8) -> bool {
    percent >= 100 || (draw % 100) < u64::from(percent)
}

/// Until when a person last invited at `last_invited_at` may not be asked again under a cap of `cap_days`, if that is
/// still after `now_ms`.
pub fn capped_until(last_invited_at: Option<i64>, cap_days: i32, now_ms: i64) -> Option<i64> {
    let until = last_invited_at?.saturating_add(i64::from(cap_days.max(0)) * DAY_MS);
    (until > now_ms).then_some(until)
}

/// What is known of a due item at the moment it may be handed off.
#[derive(Debug, Clone)]
pub struct DueCheck<'a> {
    pub now_ms: i64,
    /// The recipient's zone: the contact's, or else the organization's.
    pub zone: &'a Zone,
    /// The SMS number is opted out (SMS only).
    pub opted_out: bool,
    /// The email address is on the suppression list (email only).
    pub suppressed: bool,
    /// The organization has a sender for the item's channel.
    pub has_sender: bool,
    /// When the person (by person key) was last handed an invitation, through any channel, rule or batch.
    pub last_invited_at: Option<i64>,
    pub cap_days: i32,
}

/// What to do with a due item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Hand it off now.
    Send,
    /// Postpone it to `until` (ms).
    Hold { reason: Reason, until: i64 },
    /// Never send it; `until` says when the reason ends, when it does (the contact cap).
    Skip { reason: Reason, until: Option<i64> },
}

/// Decides a due item, in this order: consent (opted out, suppressed), a sender, the contact cap, quiet hours. Consent
/// and the cap end an item; quiet hours only postpone it.
pub fn decide(c: &DueCheck<'_>) -> Decision {
    if c.opted_out {
        return Decision::Skip {
            reason: Reason::OptedOut,
            until: None,
        };
    }
    if c.suppressed {
        return Decision::Skip {
            reason: Reason::Suppressed,
            until: None,
        };
    }
    if !c.has_sender {
        return Decision::Skip {
            reason: Reason::NoSender,
            until: None,
        };
    }
    if let Some(until) = capped_until(c.last_invited_at, c.cap_days, c.now_ms) {
        return Decision::Skip {
            reason: Reason::ContactCap,
            until: Some(until),
        };
    }
    if let Some(until) = quiet_until(c.now_ms, c.zone) {
        return Decision::Hold {
            reason: Reason::QuietHours,
            until,
        };
    }
    Decision::Send
}

/// One contact of a batch, or of the contact list events' persons are looked up in, parsed.
#[derive(Debug, Clone, PartialEq)]
pub struct Contact {
    /// Who this is: the agency's customer id when given, else the phone or email itself. Hash it; never store it.
    pub person: PersonId,
    /// The E.164 number (`+12025550123`) or the lower-cased email address: sealed at rest, used only to send.
    pub address: String,
    /// `en` or `es`.
    pub language: &'static str,
    /// The person's zone, when given; the organization's is used otherwise.
    pub time_zone: Option<Zone>,
}

/// The raw fields of one contact, as a CSV line or a JSON item gives them (empty means absent).
#[derive(Debug, Clone, Default)]
pub struct ContactFields<'a> {
    pub person_id: Option<&'a str>,
    pub phone: Option<&'a str>,
    pub email: Option<&'a str>,
    pub language: Option<&'a str>,
    pub time_zone: Option<&'a str>,
}

fn given(s: Option<&str>) -> Option<&str> {
    s.map(str::trim).filter(|s| !s.is_empty())
}

/// Parses a contact for `channel`: the phone (E.164; a US number may be written as ten digits, or eleven starting
/// with 1) for SMS, the email for email, each required for its channel; `language` `en` (default) or `es` (also
/// `english`, `spanish`, `español`); `time_zone` an IANA name. Errors name `{prefix}{field}`.
pub fn parse_contact(
    channel: Channel,
    f: &ContactFields<'_>,
    prefix: &str,
) -> Result<Contact, FieldErrors> {
    let mut errs = FieldErrors::default();
    let name = |field: &str| format!("{prefix}{field}");
    let address = match channel {
        Channel::Sms => match given(f.phone) {
            Some(p) => match crate::survey::parse_phone(p) {
                Ok(p) => Some(p),
                Err((code, msg)) => {
                    errs.push(FieldError::new(name("phone"), code, capitalized(&msg)));
                    None
                }
            },
            None => {
                errs.push(FieldError::new(
                    name("phone"),
                    "required",
                    format!(
                        "{} is required to invite by text message: a number such as 202-555-0123 or +44 20 7946 0958",
                        name("phone")
                    ),
                ));
                None
            }
        },
        Channel::Email => match given(f.email) {
            Some(e) => match crate::survey::parse_email(e) {
                Ok(e) => Some(e.to_lowercase()),
                Err((code, msg)) => {
                    errs.push(FieldError::new(name("email"), code, capitalized(&msg)));
                    None
                }
            },
            None => {
                errs.push(FieldError::new(
                    name("email"),
                    "required",
                    format!(
                        "{} is required to invite by email: an address like name@example.com",
                        name("email")
                    ),
                ));
                None
            }
        },
    };
    let language = match given(f.language).map(str::to_lowercase).as_deref() {
        None | Some("en") | Some("english") | Some("inglés") | Some("ingles") => "en",
        Some("es") | Some("spanish") | Some("español") | Some("espanol") => "es",
        Some(_) => {
            errs.push(FieldError::new(
                name("language"),
                "unknown_language",
                format!("{} must be en (English) or es (Spanish)", name("language")),
            ));
            "en"
        }
    };
    let time_zone = match given(f.time_zone) {
        None => None,
        Some(z) => match Zone::parse(z) {
            Ok(z) => Some(z),
            Err(e) => {
                errs.push(FieldError::new(
                    name("time_zone"),
                    e.code,
                    capitalized(&e.message),
                ));
                None
            }
        },
    };
    let person = match (given(f.person_id), &address) {
        (Some(id), _) => match PersonId::customer(&name("person_id"), id) {
            Ok(p) => Some(p),
            Err(e) => {
                errs.push(e);
                None
            }
        },
        (None, Some(a)) => match channel {
            Channel::Sms => PersonId::phone(&name("phone"), a).ok(),
            Channel::Email => PersonId::email(&name("email"), a).ok(),
        },
        (None, None) => None,
    };
    match (person, address) {
        (Some(person), Some(address)) if errs.0.is_empty() => Ok(Contact {
            person,
            address,
            language,
            time_zone,
        }),
        _ => Err(errs),
    }
}

/// `msg` with its first letter upper-case: a field's own message ("enter a phone number ...") shown after the field's
/// name ("Line 3, phone: Enter a phone number ...") without repeating it.
fn capitalized(msg: &str) -> String {
    let mut c = msg.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

/// A rule as an admin submits it, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleInput {
    pub name: String,
    pub event_type: String,
    pub channel: Channel,
    pub delay_minutes: i64,
    pub sample_percent: u8,
    pub cap_days: i32,
}

/// The text fields of the rule form.
#[derive(Debug, Clone, Default)]
pub struct RuleFields<'a> {
    pub name: &'a str,
    pub event_type: &'a str,
    pub channel: &'a str,
    /// Whole minutes; the form also offers hours and days, converted by the caller.
    pub delay_minutes: &'a str,
    pub sample_percent: &'a str,
    pub cap_days: &'a str,
}

/// Checks a rule's fields: a name (1 to 200 characters), a declared event type (`catalogue`), a channel, a delay of 0
/// to 30 days, a sample of 0 to 100 %, a cap of 1 to 365 days (empty: 90). Service, touchpoint and survey are
/// checked by the caller against the organization's own.
pub fn parse_rule(f: &RuleFields<'_>, catalogue: &[&str]) -> Result<RuleInput, FieldErrors> {
    let mut errs = FieldErrors::default();
    let name = f.name.trim();
    if !(1..=200).contains(&name.chars().count()) {
        errs.push(FieldError::new(
            "name",
            "invalid_name",
            "Give the rule a name of 1 to 200 characters, e.g. \"After a call to the claims line\"",
        ));
    }
    let event_type = f.event_type.trim();
    if !catalogue.contains(&event_type) {
        errs.push(FieldError::new(
            "event_type",
            "unknown_event_type",
            "Choose one of the organization's event types",
        ));
    }
    let channel = Channel::parse(f.channel);
    if channel.is_none() {
        errs.push(FieldError::new(
            "channel",
            "unknown_channel",
            "Choose text message (sms) or email",
        ));
    }
    let delay = f.delay_minutes.trim().parse::<i64>().ok();
    let delay = match delay {
        Some(d) if (0..=MAX_DELAY_MINUTES).contains(&d) => d,
        _ => {
            errs.push(FieldError::new(
                "delay_minutes",
                "invalid_delay",
                "The delay is a whole number of minutes from 0 to 43200 (30 days)",
            ));
            0
        }
    };
    let sample = match f.sample_percent.trim().parse::<u8>() {
        Ok(p) if p <= 100 => p,
        _ => {
            errs.push(FieldError::new(
                "sample_percent",
                "invalid_sample",
                "The share invited is a whole percentage from 0 to 100",
            ));
            0
        }
    };
    let cap = match f.cap_days.trim() {
        "" => DEFAULT_CAP_DAYS,
        s => match s.parse::<i32>() {
            Ok(d) if (1..=365).contains(&d) => d,
            _ => {
                errs.push(FieldError::new(
                    "cap_days",
                    "invalid_cap",
                    "Ask a person at most once in 1 to 365 days (90 is usual)",
                ));
                DEFAULT_CAP_DAYS
            }
        },
    };
    errs.into_result(RuleInput {
        name: name.to_string(),
        event_type: event_type.to_string(),
        channel: channel.unwrap_or(Channel::Email),
        delay_minutes: delay,
        sample_percent: sample,
        cap_days: cap,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ny() -> Zone {
        Zone::parse("America/New_York").unwrap()
    }

    fn at(zone: &Zone, y: i32, m: u32, d: u32, h: u32, min: u32) -> i64 {
        use chrono::TimeZone;
        let tz: chrono_tz::Tz = zone.name().parse().unwrap();
        tz.with_ymd_and_hms(y, m, d, h, min, 0)
            .earliest()
            .unwrap()
            .timestamp_millis()
    }

    #[test]
    fn quiet_hours_hold_until_eight_in_the_persons_zone() {
        let z = ny();
        assert_eq!(quiet_until(at(&z, 2026, 3, 10, 20, 59), &z), None);
        assert_eq!(
            quiet_until(at(&z, 2026, 3, 10, 21, 0), &z),
            Some(at(&z, 2026, 3, 11, 8, 0))
        );
        assert_eq!(
            quiet_until(at(&z, 2026, 3, 11, 7, 59), &z),
            Some(at(&z, 2026, 3, 11, 8, 0))
        );
        assert_eq!(quiet_until(at(&z, 2026, 3, 11, 8, 0), &z), None);
        // 23:30 in New York is 20:30 in Los Angeles: not quiet there.
        let la = Zone::parse("America/Los_Angeles").unwrap();
        assert_eq!(quiet_until(at(&z, 2026, 3, 10, 23, 30), &la), None);
        // Across the spring-forward night (March 8, 2026 in the US) the hold ends at 08:00 EDT.
        assert_eq!(
            quiet_until(at(&z, 2026, 3, 7, 22, 0), &z),
            Some(at(&z, 2026, 3, 8, 8, 0))
        );
    }

    #[test]
    fn sampling_is_a_share_of_draws_and_the_same_draw_decides_the_same() {
        assert!(sampled_in(12345, 100));
        assert!(!sampled_in(0, 0));
        assert!(!sampled_in(u64::MAX, 0));
        let n = (0..10_000u64)
            .filter(|i| sampled_in(i.wrapping_mul(0x9E37_79B9_7F4A_7C15), 30))
            .count();
        assert!((2_700..3_300).contains(&n), "{n}");
        assert_eq!(sampled_in(987_654_321, 40), sampled_in(987_654_321, 40));
    }

    #[test]
    fn the_cap_skips_and_says_until_when() {
        let z = ny();
        let now = at(&z, 2026, 6, 1, 12, 0);
        let c = DueCheck {
            now_ms: now,
            zone: &z,
            opted_out: false,
            suppressed: false,
            has_sender: true,
            last_invited_at: Some(now - 10 * DAY_MS),
            cap_days: 90,
        };
        assert_eq!(
            decide(&c),
            Decision::Skip {
                reason: Reason::ContactCap,
                until: Some(now + 80 * DAY_MS)
            }
        );
        let old = DueCheck {
            last_invited_at: Some(now - 90 * DAY_MS),
            ..c.clone()
        };
        assert_eq!(decide(&old), Decision::Send);
        let stop = DueCheck {
            opted_out: true,
            ..c.clone()
        };
        assert!(matches!(
            decide(&stop),
            Decision::Skip {
                reason: Reason::OptedOut,
                ..
            }
        ));
        let night = DueCheck {
            now_ms: at(&z, 2026, 6, 1, 22, 0),
            last_invited_at: None,
            ..c
        };
        assert_eq!(
            decide(&night),
            Decision::Hold {
                reason: Reason::QuietHours,
                until: at(&z, 2026, 6, 2, 8, 0)
            }
        );
    }

    #[test]
    fn contacts_name_the_field_at_fault() {
        let ok = parse_contact(
            Channel::Sms,
            &ContactFields {
                phone: Some("(202) 555-0123"),
                language: Some("Español"),
                ..Default::default()
            },
            "",
        )
        .unwrap();
        assert_eq!(ok.address, "+12025550123");
        assert_eq!(ok.language, "es");
        assert_eq!(ok.person.as_str(), "phone:+12025550123");
        let e = parse_contact(
            Channel::Sms,
            &ContactFields {
                phone: Some("555-01"),
                time_zone: Some("Mars/Olympus"),
                ..Default::default()
            },
            "contacts[2].",
        )
        .unwrap_err();
        let fields: Vec<&str> = e.0.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["contacts[2].phone", "contacts[2].time_zone"]);
        let e = parse_contact(
            Channel::Email,
            &ContactFields {
                email: Some("not an address"),
                person_id: Some("C-1"),
                ..Default::default()
            },
            "",
        )
        .unwrap_err();
        assert_eq!(e.0[0].field, "email");
        let ok = parse_contact(
            Channel::Email,
            &ContactFields {
                email: Some(" Ana@Example.GOV "),
                person_id: Some("C-1"),
                ..Default::default()
            },
            "",
        )
        .unwrap();
        assert_eq!(ok.address, "ana@example.gov");
        assert_eq!(ok.person.as_str(), "customer:C-1");
    }

    #[test]
    fn rules_are_checked_field_by_field() {
        let r = parse_rule(
            &RuleFields {
                name: "After a call",
                event_type: "call",
                channel: "sms",
                delay_minutes: "120",
                sample_percent: "25",
                cap_days: "",
            },
            &["call"],
        )
        .unwrap();
        assert_eq!(r.cap_days, 90);
        assert_eq!(r.channel, Channel::Sms);
        let e = parse_rule(
            &RuleFields {
                name: "",
                event_type: "nope",
                channel: "fax",
                delay_minutes: "-1",
                sample_percent: "101",
                cap_days: "0",
            },
            &["call"],
        )
        .unwrap_err();
        let fields: Vec<&str> = e.0.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "name",
                "event_type",
                "channel",
                "delay_minutes",
                "sample_percent",
                "cap_days"
            ]
        );
    }
}
