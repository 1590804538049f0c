//! Callbacks (issue 21, item 3): a person asks the agency to call them, picks a window and a number, and staff call.
//!
//! - **Windows** are cut from the organization's business hours (the case SLA's calendar; Monday to Friday,
//!   09:00-17:00 in the organization's zone when it has none or is open around the clock): each opening range of the
//!   next [`OFFER_DAYS`] local days, starting at least [`LEAD_MS`] from now on a half hour, split at local noon when
//!   both halves last at least [`MIN_WINDOW_MS`]; at most [`MAX_OFFERED`] are offered ([`offered_windows`]).
//! - **Attempts.** Staff record each call: reached ends the callback (completed); a wrong number ends it as missed
//!   (someone has to find another way to reach the person); no answer or a message left keeps it in its window,
//!   until [`MAX_ATTEMPTS`] calls in all have gone unanswered, when it is missed ([`after_attempt`]).
//! - **Missed windows retry, then escalate.** When a window ends and nobody reached the person, the callback moves to
//!   the next window starting at least [`RETRY_GAP_MS`] later (the person is told when), until [`MAX_WINDOWS`]
//!   windows have passed; then it is missed ([`at_window_end`]). A missed callback is escalated: the on-call staff
//!   are emailed and its case, if it has one, moves to escalated.
//!
//! No I/O: the store keeps the state, the server sends the messages.

use serde::{Deserialize, Serialize};

use crate::Zone;
use crate::sla::{BusinessCalendar, CalendarSpec};

/// The earliest window starts at least this long after the person asks: an hour.
pub const LEAD_MS: i64 = 3_600_000;
/// Windows are offered over this many local days.
pub const OFFER_DAYS: u32 = 7;
/// At most this many windows are offered at once.
pub const MAX_OFFERED: usize = 10;
/// A window lasts at least an hour.
pub const MIN_WINDOW_MS: i64 = 3_600_000;
/// Calls that went unanswered (no answer, a message left), in all windows together, before the callback is missed.
pub const MAX_ATTEMPTS: u32 = 3;
/// Windows tried before the callback is missed: the first, then two more.
pub const MAX_WINDOWS: u32 = 3;
/// A retry's window starts at least this long after the missed one ended: four hours, so the next try is not in the
/// same afternoon's last minutes.
pub const RETRY_GAP_MS: i64 = 4 * 3_600_000;
/// The person is reminded this long before their window starts (or at once, when it starts sooner).
pub const REMIND_BEFORE_MS: i64 = 3_600_000;

/// Where a callback stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallbackState {
    /// Waiting for its window, or in it.
    Scheduled,
    /// Staff reached the person.
    Completed,
    /// Nobody reached the person after every try, or the number was wrong: escalated.
    Missed,
    /// The person (or staff) called it off.
    Cancelled,
}

impl CallbackState {
    pub const ALL: [CallbackState; 4] = [
        CallbackState::Scheduled,
        CallbackState::Completed,
        CallbackState::Missed,
        CallbackState::Cancelled,
    ];
    pub fn key(self) -> &'static str {
        match self {
            CallbackState::Scheduled => "scheduled",
            CallbackState::Completed => "completed",
            CallbackState::Missed => "missed",
            CallbackState::Cancelled => "cancelled",
        }
    }
    pub fn parse(s: &str) -> Option<CallbackState> {
        Self::ALL.into_iter().find(|x| x.key() == s)
    }
    /// Whether nothing more happens to it.
    pub fn ended(self) -> bool {
        self != CallbackState::Scheduled
    }
}

/// What happened on one call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Reached,
    NoAnswer,
    LeftMessage,
    WrongNumber,
}

impl Outcome {
    pub const ALL: [Outcome; 4] = [
        Outcome::Reached,
        Outcome::NoAnswer,
        Outcome::LeftMessage,
        Outcome::WrongNumber,
    ];
    pub fn key(self) -> &'static str {
        match self {
            Outcome::Reached => "reached",
            Outcome::NoAnswer => "no_answer",
            Outcome::LeftMessage => "left_message",
            Outcome::WrongNumber => "wrong_number",
        }
    }
    pub fn parse(s: &str) -> Option<Outcome> {
        Self::ALL.into_iter().find(|x| x.key() == s)
    }
    /// For staff's pages.
    pub fn label(self) -> &'static str {
        match self {
            Outcome::Reached => "Reached the person",
            Outcome::NoAnswer => "No answer",
            Outcome::LeftMessage => "Left a message",
            Outcome::WrongNumber => "Wrong number",
        }
    }
}

/// Where the person asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// The survey's thank-you page (hosted or the widget's, which links to the same page).
    ThankYou,
    /// The case's status page.
    Status,
    /// A reply to an SMS survey.
    Sms,
    /// A member of staff, for the person (on the phone).
    Staff,
}

impl Source {
    pub const ALL: [Source; 4] = [Source::ThankYou, Source::Status, Source::Sms, Source::Staff];
    pub fn key(self) -> &'static str {
        match self {
            Source::ThankYou => "thank_you",
            Source::Status => "status",
            Source::Sms => "sms",
            Source::Staff => "staff",
        }
    }
    pub fn parse(s: &str) -> Option<Source> {
        Self::ALL.into_iter().find(|x| x.key() == s)
    }
}

/// How the person hears about their callback (confirmation, reminder, retry, missed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Notify {
    /// A text message to the callback number.
    Sms,
    /// An email to the address they gave.
    Email,
    /// Nothing: the page they asked on is their confirmation.
    None,
}

impl Notify {
    pub fn key(self) -> &'static str {
        match self {
            Notify::Sms => "sms",
            Notify::Email => "email",
            Notify::None => "none",
        }
    }
    pub fn parse(s: &str) -> Option<Notify> {
        [Notify::Sms, Notify::Email, Notify::None]
            .into_iter()
            .find(|x| x.key() == s)
    }
}

/// When the thank-you page (and the widget, and an SMS survey's last reply) offers a callback, besides a rule that
/// offers one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Offer {
    /// Only when a rule offers it.
    #[default]
    Never,
    /// After a negative trust answer (1-3, a thumbs down).
    AfterNegative,
    /// After every response.
    Always,
}

impl Offer {
    pub fn key(self) -> &'static str {
        match self {
            Offer::Never => "never",
            Offer::AfterNegative => "after_negative",
            Offer::Always => "always",
        }
    }
    pub fn parse(s: &str) -> Option<Offer> {
        [Offer::Never, Offer::AfterNegative, Offer::Always]
            .into_iter()
            .find(|x| x.key() == s)
    }
    /// Whether a response with this trust side gets the offer (a rule's offer aside).
    pub fn offers(self, trust_positive: Option<bool>) -> bool {
        match self {
            Offer::Never => false,
            Offer::AfterNegative => trust_positive == Some(false),
            Offer::Always => true,
        }
    }
}

/// A window, `[start_ms, end_ms)` in milliseconds since the Unix epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Window {
    pub start_ms: i64,
    pub end_ms: i64,
}

impl Window {
    /// The form's value for it: `start-end` in ms.
    pub fn key(&self) -> String {
        format!("{}-{}", self.start_ms, self.end_ms)
    }
    pub fn parse(s: &str) -> Option<Window> {
        let (a, b) = s.trim().split_once('-')?;
        let w = Window {
            start_ms: a.parse().ok()?,
            end_ms: b.parse().ok()?,
        };
        (w.start_ms < w.end_ms).then_some(w)
    }
    /// `Tue Dec 1, 09:00-12:00 EST`, in `zone`.
    pub fn display(&self, zone: Zone) -> String {
        let a = zone.local(self.start_ms);
        let b = zone.local(self.end_ms);
        format!(
            "{}, {}-{}",
            a.format("%a %b %-d"),
            a.format("%H:%M"),
            b.format("%H:%M %Z")
        )
    }
    /// In Spanish: `martes 1 de diciembre, 09:00-12:00 EST`.
    pub fn display_es(&self, zone: Zone) -> String {
        use chrono::Datelike;
        const DAYS: [&str; 7] = [
            "lunes",
            "martes",
            "miércoles",
            "jueves",
            "viernes",
            "sábado",
            "domingo",
        ];
        const MONTHS: [&str; 12] = [
            "enero",
            "febrero",
            "marzo",
            "abril",
            "mayo",
            "junio",
            "julio",
            "agosto",
            "septiembre",
            "octubre",
            "noviembre",
            "diciembre",
        ];
        let a = zone.local(self.start_ms);
        let b = zone.local(self.end_ms);
        format!(
            "{} {} de {}, {}-{}",
            DAYS[a.weekday().num_days_from_monday() as usize],
            a.day(),
            MONTHS[a.month0() as usize],
            a.format("%H:%M"),
            b.format("%H:%M %Z")
        )
    }
    /// In the person's language (`es`, anything else English).
    pub fn display_in(&self, zone: Zone, lang: &str) -> String {
        if lang == "es" {
            self.display_es(zone)
        } else {
            self.display(zone)
        }
    }
}

/// The calendar windows are cut from: the SLA's, unless it has none or is open around the clock, when Monday to
/// Friday 09:00-17:00 in `zone` (nobody wants a call at 3 a.m. because a crisis line counts every hour).
pub fn callback_calendar(sla: Option<&BusinessCalendar>, zone: Zone) -> BusinessCalendar {
    match sla {
        Some(c) if !c.is_always_open() => c.clone(),
        _ => {
            let day = || vec!["09:00-17:00".to_string()];
            let spec = CalendarSpec {
                time_zone: zone.name().to_string(),
                always_open: false,
                hours: ["mon", "tue", "wed", "thu", "fri"]
                    .into_iter()
                    .map(|d| (d.to_string(), day()))
                    .collect(),
                holidays: vec![],
            };
            BusinessCalendar::parse(&spec).expect("a weekday calendar in a known zone parses")
        }
    }
}

/// Rounds up to the next half hour (zones are offset from UTC by whole or half hours; the few at :45 get windows
/// at :15 and :45, which is still a round time for people there).
fn half_hour_up(ms: i64) -> i64 {
    const H: i64 = 1_800_000;
    ms.div_euclid(H) * H + if ms.rem_euclid(H) == 0 { 0 } else { H }
}

/// The windows cut from `cal` for business spans starting at or after `from`, in order (see the module's doc).
fn windows_from(cal: &BusinessCalendar, from: i64, days: u32) -> Vec<Window> {
    let zone = Zone::parse(cal.time_zone()).unwrap_or_else(|_| Zone::utc());
    let mut out = Vec::new();
    for (s, e) in cal.open_spans(from, days) {
        let s = half_hour_up(s);
        if e - s < MIN_WINDOW_MS {
            continue;
        }
        let noon = zone.day_start_ms(zone.date(s)) + 12 * 3_600_000;
        if noon - s >= MIN_WINDOW_MS && e - noon >= MIN_WINDOW_MS {
            out.push(Window {
                start_ms: s,
                end_ms: noon,
            });
            out.push(Window {
                start_ms: noon,
                end_ms: e,
            });
        } else {
            out.push(Window {
                start_ms: s,
                end_ms: e,
            });
        }
        if out.len() >= MAX_OFFERED {
            break;
        }
    }
    out.truncate(MAX_OFFERED);
    out
}

/// The windows offered to a person asking at `now_ms` (see the module's doc); empty only for a calendar with no
/// opening hours in the next [`OFFER_DAYS`] days (every day a holiday).
pub fn offered_windows(cal: &BusinessCalendar, now_ms: i64) -> Vec<Window> {
    windows_from(cal, now_ms + LEAD_MS, OFFER_DAYS)
}

/// The window a missed one moves to: the first starting at least [`RETRY_GAP_MS`] after `missed` ended, within
/// 30 days; `None` when the calendar has none.
pub fn retry_window(cal: &BusinessCalendar, missed: Window) -> Option<Window> {
    windows_from(cal, missed.end_ms + RETRY_GAP_MS, 30)
        .into_iter()
        .next()
}

/// What a recorded call does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptEffect {
    /// The person was reached: completed.
    Completed,
    /// It stays scheduled; staff may call again in the window.
    Continue,
    /// Missed: escalate, with the reason (`wrong_number`, `no_answer`).
    Missed(&'static str),
}

/// The effect of a call with `outcome` when `unanswered_before` earlier calls went unanswered.
pub fn after_attempt(unanswered_before: u32, outcome: Outcome) -> AttemptEffect {
    match outcome {
        Outcome::Reached => AttemptEffect::Completed,
        Outcome::WrongNumber => AttemptEffect::Missed("wrong_number"),
        Outcome::NoAnswer | Outcome::LeftMessage => {
            if unanswered_before + 1 >= MAX_ATTEMPTS {
                AttemptEffect::Missed("no_answer")
            } else {
                AttemptEffect::Continue
            }
        }
    }
}

/// What the end of a window does to a callback still scheduled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WindowEndEffect {
    /// Try again in this window; the person is told.
    Retry(Window),
    /// Missed: escalate.
    Missed,
}

/// The effect of window number `windows_missed_before + 1` ending with nobody reached, `next` being
/// [`retry_window`]'s answer.
pub fn at_window_end(windows_missed_before: u32, next: Option<Window>) -> WindowEndEffect {
    match next {
        Some(w) if windows_missed_before + 1 < MAX_WINDOWS => WindowEndEffect::Retry(w),
        _ => WindowEndEffect::Missed,
    }
}

/// When the person is reminded of `w`, asked at `now_ms`: [`REMIND_BEFORE_MS`] before it starts, or `None` when
/// that moment has passed (the confirmation, sent now, says it all).
pub fn reminder_at(w: Window, now_ms: i64) -> Option<i64> {
    let at = w.start_ms - REMIND_BEFORE_MS;
    (at > now_ms + 5 * 60_000).then_some(at)
}

/// An organization's callback settings (kept with its case settings).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct CallbackSettings {
    /// When the thank-you page offers a callback besides a rule offering one.
    #[serde(default)]
    pub offer: Offer,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ny() -> Zone {
        Zone::parse("America/New_York").unwrap()
    }

    fn at(zone: Zone, y: i32, m: u32, d: u32, h: u32, min: u32) -> i64 {
        use chrono::TimeZone;
        let tz: chrono_tz::Tz = zone.name().parse().unwrap();
        tz.with_ymd_and_hms(y, m, d, h, min, 0)
            .single()
            .unwrap()
            .timestamp_millis()
    }

    #[test]
    fn windows_are_cut_from_business_hours_and_split_at_noon() {
        let z = ny();
        let cal = callback_calendar(None, z);
        // Tuesday 2026-12-01 10:10: the first window starts at 11:30 (an hour's lead, then the half hour), too short
        // before noon to split, so 11:30-17:00; then Wednesday's two halves.
        let now = at(z, 2026, 12, 1, 10, 10);
        let w = offered_windows(&cal, now);
        assert_eq!(w[0].start_ms, at(z, 2026, 12, 1, 11, 30));
        assert_eq!(w[0].end_ms, at(z, 2026, 12, 1, 17, 0));
        assert_eq!(w[1].start_ms, at(z, 2026, 12, 2, 9, 0));
        assert_eq!(w[1].end_ms, at(z, 2026, 12, 2, 12, 0));
        assert_eq!(w[2].start_ms, at(z, 2026, 12, 2, 12, 0));
        assert_eq!(w[2].end_ms, at(z, 2026, 12, 2, 17, 0));
        assert_eq!(w[1].display(z), "Wed Dec 2, 09:00-12:00 EST");
        assert_eq!(
            w[1].display_es(z),
            "miércoles 2 de diciembre, 09:00-12:00 EST"
        );
        // No weekend windows; at most MAX_OFFERED.
        assert!(w.len() <= MAX_OFFERED);
        use chrono::Datelike;
        assert!(
            w.iter()
                .all(|w| z.local(w.start_ms).weekday().num_days_from_monday() < 5)
        );
        // Friday 16:30: nothing left that day, Monday next.
        let fri = at(z, 2026, 12, 4, 16, 30);
        assert_eq!(
            offered_windows(&cal, fri)[0].start_ms,
            at(z, 2026, 12, 7, 9, 0)
        );
        // Windows round-trip through the form.
        assert_eq!(Window::parse(&w[0].key()), Some(w[0]));
        assert_eq!(Window::parse("5-5"), None);
        assert_eq!(Window::parse("x"), None);
    }

    #[test]
    fn an_always_open_sla_still_offers_office_hours() {
        let z = ny();
        let open = BusinessCalendar::always_open(z);
        let cal = callback_calendar(Some(&open), z);
        let now = at(z, 2026, 12, 5, 3, 0); // Saturday 03:00
        assert_eq!(
            offered_windows(&cal, now)[0].start_ms,
            at(z, 2026, 12, 7, 9, 0)
        );
    }

    #[test]
    fn calls_and_windows_retry_then_escalate() {
        assert_eq!(after_attempt(0, Outcome::Reached), AttemptEffect::Completed);
        assert_eq!(after_attempt(0, Outcome::NoAnswer), AttemptEffect::Continue);
        assert_eq!(
            after_attempt(1, Outcome::LeftMessage),
            AttemptEffect::Continue
        );
        assert_eq!(
            after_attempt(2, Outcome::NoAnswer),
            AttemptEffect::Missed("no_answer")
        );
        assert_eq!(
            after_attempt(0, Outcome::WrongNumber),
            AttemptEffect::Missed("wrong_number")
        );
        let z = ny();
        let cal = callback_calendar(None, z);
        let missed = Window {
            start_ms: at(z, 2026, 12, 1, 9, 0),
            end_ms: at(z, 2026, 12, 1, 12, 0),
        };
        // Four hours after noon is 16:00: one hour left that day, which is a window.
        let next = retry_window(&cal, missed).unwrap();
        assert_eq!(next.start_ms, at(z, 2026, 12, 1, 16, 0));
        let late = Window {
            start_ms: at(z, 2026, 12, 1, 12, 0),
            end_ms: at(z, 2026, 12, 1, 17, 0),
        };
        assert_eq!(
            retry_window(&cal, late).unwrap().start_ms,
            at(z, 2026, 12, 2, 9, 0)
        );
        assert_eq!(at_window_end(0, Some(next)), WindowEndEffect::Retry(next));
        assert_eq!(at_window_end(1, Some(next)), WindowEndEffect::Retry(next));
        assert_eq!(at_window_end(2, Some(next)), WindowEndEffect::Missed);
        assert_eq!(at_window_end(0, None), WindowEndEffect::Missed);
    }

    #[test]
    fn reminders_come_an_hour_before_unless_too_soon() {
        let w = Window {
            start_ms: 10 * 3_600_000,
            end_ms: 13 * 3_600_000,
        };
        assert_eq!(reminder_at(w, 0), Some(9 * 3_600_000));
        assert_eq!(reminder_at(w, 9 * 3_600_000 - 60_000), None);
    }

    #[test]
    fn offers_follow_the_setting() {
        assert!(!Offer::Never.offers(Some(false)));
        assert!(Offer::AfterNegative.offers(Some(false)));
        assert!(!Offer::AfterNegative.offers(Some(true)));
        assert!(!Offer::AfterNegative.offers(None));
        assert!(Offer::Always.offers(None));
        for s in CallbackState::ALL {
            assert_eq!(CallbackState::parse(s.key()), Some(s));
        }
        for o in Outcome::ALL {
            assert_eq!(Outcome::parse(o.key()), Some(o));
        }
        for s in Source::ALL {
            assert_eq!(Source::parse(s.key()), Some(s));
        }
    }
}
