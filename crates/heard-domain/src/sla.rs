//! Service levels for cases: business-hours calendars, business-time arithmetic, and an SLA policy evaluated over a
//! case's history.
//!
//! Everything here is a pure function of its inputs. [`evaluate`] takes the policy, the case's append-only history
//! and the time now, and returns where each target stands. Nothing is stored between calls, so "recompute when the
//! SLA changes" is calling [`evaluate`] again with the new policy: deadlines of open cases move, and met or breached
//! for closed cases is decided again by the same rule from the same history (the gap reported in GLPI #6902 and
//! #15605, where a newly attached SLA forgot the time the ticket had spent pending, cannot arise).
//!
//! Rules, and where they come from:
//! - Targets are counted in business time only: the calendar's opening hours in its IANA time zone, minus holidays
//!   (osTicket #1168 and #4969: count only the helpdesk's opening hours, less weekends and holidays). A case opened
//!   outside business hours starts its clock at the next opening (FreeScout #3756: a 4-hour target set at 16:00
//!   with 09:00-17:00 hours is due at 12:00 the next working day).
//! - Statuses the policy names as pausing (such as "waiting on the customer") stop every clock while the case is in
//!   them (osTicket #3034), and so do the statuses that end the case (resolved, closed).
//! - First response: from opening to the first public update by staff. Next update: from each public update to the
//!   next one. Resolution: from opening until the case enters an ending status; a reopened case's clock resumes
//!   where it stopped, and the time it spent resolved does not count.
//! - A target is met when its clock stopped with elapsed business time at or under the target, and breached once
//!   elapsed business time goes over it; the breach time reported is the deadline that was missed.
//! - "About to breach" is elapsed time at or over the policy's warning share of the target (80% by default).
//! - Escalation step `k` is reached when elapsed business time goes over the target plus the step's business
//!   minutes, so pauses delay escalations exactly as they delay breaches.
//!
//! Times are milliseconds since the Unix epoch (UTC), as everywhere in the domain; targets are business minutes.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use chrono::{Datelike, NaiveDate, NaiveDateTime, NaiveTime, TimeZone};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::{FieldError, FieldErrors, Zone};

const MINUTE_MS: i64 = 60_000;
const DAY_MINUTES: u32 = 24 * 60;
/// How far [`BusinessCalendar::add_business_ms`] looks for the deadline: 100 years of days.
pub const MAX_SEARCH_DAYS: u32 = 36_525;
/// The largest target or escalation step accepted, in business minutes (ten years of around-the-clock time).
pub const MAX_TARGET_MINUTES: u32 = 10 * 366 * 24 * 60;
/// The most holidays one calendar may list.
pub const MAX_HOLIDAYS: usize = 2_000;
/// The most ranges one weekday may have.
pub const MAX_RANGES_PER_DAY: usize = 12;

/// The weekday keys of [`CalendarSpec::hours`], Monday first.
pub const WEEKDAY_KEYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// A business-hours calendar as it is stored and edited: the form [`BusinessCalendar::parse`] checks.
///
/// ```json
/// {"time_zone": "America/New_York",
///  "hours": {"mon": ["08:00-12:00", "13:00-17:00"], "tue": ["08:00-17:00"]},
///  "holidays": ["2026-12-25"]}
/// ```
///
/// Weekdays not listed are closed. A range is `HH:MM-HH:MM` in local time, start included, end excluded; `24:00`
/// is allowed as an end. `always_open: true` is a 24x7 calendar: `hours` and `holidays` must then be empty.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct CalendarSpec {
    /// An IANA time zone name, parsed as [`Zone::parse`] does.
    pub time_zone: String,
    /// Open around the clock, every day.
    #[serde(default)]
    pub always_open: bool,
    /// Weekday key (`mon`..`sun`) to that day's opening ranges.
    #[serde(default)]
    pub hours: BTreeMap<String, Vec<String>>,
    /// Local dates (`YYYY-MM-DD`) closed all day.
    #[serde(default)]
    pub holidays: Vec<String>,
}

/// Opening hours in a time zone, with holidays: what business time is measured against.
///
/// Daylight saving time: a range runs from the first instant the local clock shows its start to the last instant it
/// shows its end, on that local date. So on the day clocks spring forward (America/New_York, 02:00 becomes 03:00) a
/// range 01:00-04:00 lasts two hours and a range 02:00-02:30 does not happen; a start or end inside the skipped hour
/// is moved to the first instant after it. On the day clocks fall back (01:00-02:00 happens twice) a range
/// 00:00-04:00 lasts five hours: a start in the repeated hour takes its first occurrence and an end its second.
/// Ranges that then overlap (only possible around a change) are counted once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BusinessCalendar {
    tz: Tz,
    always_open: bool,
    /// Per weekday, Monday first, sorted non-overlapping ranges in minutes after local midnight, `start < end <= 1440`.
    week: [Vec<(u32, u32)>; 7],
    holidays: BTreeSet<NaiveDate>,
}

fn parse_hhmm(s: &str) -> Option<u32> {
    let (h, m) = s.split_once(':')?;
    if h.len() != 2 || m.len() != 2 || !h.bytes().chain(m.bytes()).all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
    if m > 59 || h > 24 || (h == 24 && m != 0) {
        return None;
    }
    Some(h * 60 + m)
}

/// A weekday key (`mon`) in words (`Monday`), for messages.
fn day_name(key: &str) -> &'static str {
    match key {
        "mon" => "Monday",
        "tue" => "Tuesday",
        "wed" => "Wednesday",
        "thu" => "Thursday",
        "fri" => "Friday",
        "sat" => "Saturday",
        "sun" => "Sunday",
        _ => "That day",
    }
}

fn weekday_index(d: NaiveDate) -> usize {
    d.weekday().num_days_from_monday() as usize
}

impl BusinessCalendar {
    /// Checks a [`CalendarSpec`]. Every problem is reported, each naming its field: `time_zone` (missing or unknown
    /// zone), `hours` (an unknown weekday key, or no opening hours at all), `hours.mon[1]` (not `HH:MM-HH:MM`, end
    /// not after start, overlapping another range that day, too many ranges), `holidays[0]` (not a `YYYY-MM-DD`
    /// date, listed twice, too many), `always_open` (combined with hours or holidays).
    pub fn parse(spec: &CalendarSpec) -> Result<BusinessCalendar, FieldErrors> {
        let mut errors = FieldErrors::default();
        let tz = match Zone::parse(&spec.time_zone) {
            Ok(z) => z.name().parse::<Tz>().ok(),
            Err(e) => {
                errors.push(e);
                None
            }
        };
        let mut week: [Vec<(u32, u32)>; 7] = Default::default();
        for (key, ranges) in &spec.hours {
            let Some(day) = WEEKDAY_KEYS.iter().position(|k| k == key) else {
                errors.push(FieldError::new(
                    "hours",
                    "unknown_weekday",
                    format!(
                        "'{}' is not a weekday; use mon, tue, wed, thu, fri, sat or sun",
                        key.chars().take(20).collect::<String>()
                    ),
                ));
                continue;
            };
            if ranges.len() > MAX_RANGES_PER_DAY {
                errors.push(FieldError::new(
                    format!("hours.{key}"),
                    "too_many_ranges",
                    format!("A day may have at most {MAX_RANGES_PER_DAY} ranges"),
                ));
                continue;
            }
            let mut parsed: Vec<(u32, u32, usize)> = Vec::new();
            for (i, r) in ranges.iter().enumerate() {
                let field = format!("hours.{key}[{i}]");
                let parts = r.trim().split_once('-');
                let Some((start, end)) =
                    parts.and_then(|(a, b)| Some((parse_hhmm(a.trim())?, parse_hhmm(b.trim())?)))
                else {
                    errors.push(FieldError::new(
                        field,
                        "invalid_range",
                        format!(
                            "{}: \"{}\" is not a range of times; write it as HH:MM-HH:MM in 24-hour time, from \
                             00:00 to 24:00, like 08:00-12:00",
                            day_name(key),
                            r.trim().chars().take(40).collect::<String>()
                        ),
                    ));
                    continue;
                };
                if start >= DAY_MINUTES || end <= start {
                    errors.push(FieldError::new(
                        field,
                        "end_not_after_start",
                        format!(
                            "{}: {} must end after it starts, on the same day (use 24:00 for midnight)",
                            day_name(key),
                            r.trim()
                        ),
                    ));
                    continue;
                }
                parsed.push((start, end, i));
            }
            parsed.sort();
            // The range reaching furthest so far: each later range must start at or after its end.
            let mut furthest: Option<(u32, usize)> = None;
            for &(start, end, i) in &parsed {
                match furthest {
                    Some((f_end, f_i)) if start < f_end => errors.push(FieldError::new(
                        format!("hours.{key}[{i}]"),
                        "overlapping_range",
                        format!(
                            "{}: {} overlaps {}",
                            day_name(key),
                            ranges[i].trim(),
                            ranges[f_i].trim()
                        ),
                    )),
                    _ => {}
                }
                if furthest.is_none_or(|(f_end, _)| end > f_end) {
                    furthest = Some((end, i));
                }
            }
            week[day] = parsed.into_iter().map(|(s, e, _)| (s, e)).collect();
        }
        let mut holidays = BTreeSet::new();
        if spec.holidays.len() > MAX_HOLIDAYS {
            errors.push(FieldError::new(
                "holidays",
                "too_many_holidays",
                format!("A calendar may list at most {MAX_HOLIDAYS} holidays"),
            ));
        } else {
            for (i, h) in spec.holidays.iter().enumerate() {
                let field = format!("holidays[{i}]");
                match NaiveDate::parse_from_str(h.trim(), "%Y-%m-%d") {
                    Ok(d) if !holidays.insert(d) => errors.push(FieldError::new(
                        field,
                        "duplicate_holiday",
                        format!("{d} is listed twice"),
                    )),
                    Ok(_) => {}
                    Err(_) => errors.push(FieldError::new(
                        field,
                        "invalid_date",
                        format!(
                            "Holiday {}: \"{}\" is not a date; write it as YYYY-MM-DD, like 2026-12-25",
                            i + 1,
                            h.trim().chars().take(40).collect::<String>()
                        ),
                    )),
                }
            }
        }
        if spec.always_open {
            if !spec.hours.is_empty() || !spec.holidays.is_empty() {
                errors.push(FieldError::new(
                    "always_open",
                    "always_open_with_hours",
                    "A calendar open around the clock has no hours or holidays; remove them or turn this off",
                ));
            }
        } else if spec.hours.values().all(|r| r.is_empty()) {
            errors.push(FieldError::new(
                "hours",
                "no_opening_hours",
                "Give opening hours for at least one day, or make the calendar open around the clock",
            ));
        }
        match tz {
            Some(tz) if errors.is_empty() => Ok(BusinessCalendar {
                tz,
                always_open: spec.always_open,
                week,
                holidays,
            }),
            _ => Err(errors),
        }
    }

    /// A 24x7 calendar: every instant is business time.
    pub fn always_open(zone: Zone) -> BusinessCalendar {
        BusinessCalendar {
            tz: zone.name().parse().unwrap_or(Tz::UTC),
            always_open: true,
            week: Default::default(),
            holidays: BTreeSet::new(),
        }
    }

    /// The calendar's IANA time zone name.
    pub fn time_zone(&self) -> &'static str {
        self.tz.name()
    }

    /// The serializable form, such that `parse(&cal.spec()) == Ok(cal)`.
    pub fn spec(&self) -> CalendarSpec {
        let hours = if self.always_open {
            BTreeMap::new()
        } else {
            WEEKDAY_KEYS
                .iter()
                .zip(&self.week)
                .filter(|(_, r)| !r.is_empty())
                .map(|(k, r)| {
                    let f = |m: u32| format!("{:02}:{:02}", m / 60, m % 60);
                    (
                        k.to_string(),
                        r.iter()
                            .map(|&(s, e)| format!("{}-{}", f(s), f(e)))
                            .collect(),
                    )
                })
                .collect()
        };
        CalendarSpec {
            time_zone: self.tz.name().to_string(),
            always_open: self.always_open,
            hours,
            holidays: self.holidays.iter().map(|d| d.to_string()).collect(),
        }
    }

    fn local_date(&self, ms: i64) -> NaiveDate {
        match chrono::DateTime::from_timestamp_millis(ms) {
            Some(t) => t.with_timezone(&self.tz).date_naive(),
            None if ms < 0 => NaiveDate::MIN,
            None => NaiveDate::MAX,
        }
    }

    /// The instant of local `d` at `minute` after midnight (1440 is the next day's 00:00). `late` picks the second
    /// occurrence of a repeated local time; a skipped local time gives the first instant after the gap.
    fn resolve(&self, d: NaiveDate, minute: u32, late: bool) -> Option<i64> {
        let base: NaiveDateTime = d.and_time(NaiveTime::MIN);
        let mut t = base + chrono::Duration::minutes(i64::from(minute));
        // A gap is at most a day long in the database; step a minute at a time through it.
        for _ in 0..=DAY_MINUTES {
            match self.tz.from_local_datetime(&t) {
                chrono::LocalResult::Single(x) => return Some(x.timestamp_millis()),
                chrono::LocalResult::Ambiguous(a, b) => {
                    return Some(if late { b } else { a }.timestamp_millis());
                }
                chrono::LocalResult::None => t += chrono::Duration::minutes(1),
            }
        }
        None
    }

    /// The business-time spans of local date `d`, as instants, sorted by start (possibly empty).
    fn day_spans(&self, d: NaiveDate) -> Vec<(i64, i64)> {
        if self.always_open {
            return Vec::new();
        }
        if self.holidays.contains(&d) {
            return Vec::new();
        }
        let mut out: Vec<(i64, i64)> = self.week[weekday_index(d)]
            .iter()
            .filter_map(|&(s, e)| {
                let a = self.resolve(d, s, false)?;
                let b = self.resolve(d, e, true)?;
                (a < b).then_some((a, b))
            })
            .collect();
        out.sort();
        out
    }

    /// The business-time spans at or after `from`, in order and without overlap, for up to `days` local days.
    fn spans(&self, from: i64, days: u32) -> Spans<'_> {
        Spans {
            cal: self,
            // A day's ranges lie within that local day, but start one day early so a span that began before `from`
            // is clipped rather than missed.
            day: self.local_date(from).pred_opt().unwrap_or(NaiveDate::MIN),
            days_left: days.saturating_add(1),
            buf: VecDeque::new(),
            from,
            last_end: i64::MIN,
        }
    }

    /// Whether the calendar is open around the clock (it then has no spans: every instant is business time).
    pub fn is_always_open(&self) -> bool {
        self.always_open
    }

    /// The business spans `[start, end)` at or after `from` over the next `days` local days, in order and without
    /// overlap, a span that began before `from` clipped to it. Empty for a calendar open around the clock.
    pub fn open_spans(&self, from: i64, days: u32) -> Vec<(i64, i64)> {
        self.spans(from, days).collect()
    }

    /// Whether the instant `ms` is business time.
    pub fn is_open(&self, ms: i64) -> bool {
        self.always_open || self.spans(ms, 1).next().is_some_and(|(s, _)| s == ms)
    }

    /// The first instant at or after `ms` that is business time: when a clock started at `ms` starts counting.
    /// `None` when there is none within [`MAX_SEARCH_DAYS`].
    pub fn next_open(&self, ms: i64) -> Option<i64> {
        if self.always_open {
            return Some(ms);
        }
        self.spans(ms, MAX_SEARCH_DAYS).next().map(|(s, _)| s)
    }

    /// Business milliseconds in `[a, b)`: the length of its overlap with opening hours. Zero when `b <= a`; only
    /// the first [`MAX_SEARCH_DAYS`] local days from `a` are looked at.
    pub fn business_ms_between(&self, a: i64, b: i64) -> i64 {
        if b <= a {
            return 0;
        }
        if self.always_open {
            return b.saturating_sub(a);
        }
        let days = (self.local_date(b) - self.local_date(a)).num_days() + 2;
        let days = u32::try_from(days).unwrap_or(u32::MAX).min(MAX_SEARCH_DAYS);
        let mut total = 0i64;
        for (s, e) in self.spans(a, days) {
            if s >= b {
                break;
            }
            total += e.min(b) - s;
        }
        total
    }

    /// The instant at which `ms` business milliseconds have passed since `start`: the deadline of a target of `ms`
    /// set at `start`. It is the inverse of [`Self::business_ms_between`]: `between(start, add(start, ms)) == ms`
    /// for every `ms >= 0`, and `add(start, between(start, b)) == b` when `b` is business time (otherwise it is the
    /// end of the last business span before `b`). A deadline that uses up a range exactly is that range's end
    /// (17:00, not the next morning). `ms <= 0` gives `start`. `None` when the deadline is more than
    /// [`MAX_SEARCH_DAYS`] days away.
    pub fn add_business_ms(&self, start: i64, ms: i64) -> Option<i64> {
        if ms <= 0 {
            return Some(start);
        }
        if self.always_open {
            return start.checked_add(ms);
        }
        let mut left = ms;
        for (s, e) in self.spans(start, MAX_SEARCH_DAYS) {
            if left <= e - s {
                return Some(s + left);
            }
            left -= e - s;
        }
        None
    }
}

/// Iterator over business spans: clipped to `from`, ordered, each starting at or after the previous one's end.
struct Spans<'a> {
    cal: &'a BusinessCalendar,
    day: NaiveDate,
    days_left: u32,
    buf: VecDeque<(i64, i64)>,
    from: i64,
    last_end: i64,
}

impl Iterator for Spans<'_> {
    type Item = (i64, i64);

    fn next(&mut self) -> Option<(i64, i64)> {
        loop {
            let Some((s, e)) = self.buf.pop_front() else {
                if self.days_left == 0 {
                    return None;
                }
                self.days_left -= 1;
                self.buf.extend(self.cal.day_spans(self.day));
                self.day = self.day.succ_opt()?;
                continue;
            };
            let s = s.max(self.from).max(self.last_end);
            if s < e {
                self.last_end = e;
                return Some((s, e));
            }
        }
    }
}

/// One escalation step as stored: reached when the target has been breached for this many business minutes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EscalationSpec {
    /// Business minutes past the deadline; 0 escalates at the breach itself.
    pub after_breach_minutes: u32,
    /// What the step is called, for people and for rules (`notify_supervisor`).
    pub name: String,
}

/// An SLA policy as stored and edited: the form [`SlaPolicy::parse`] checks. Targets are in business minutes; a
/// target left out is not tracked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlaPolicySpec {
    /// The business hours every target is counted in.
    pub calendar: CalendarSpec,
    /// Business minutes from opening to the first public update.
    #[serde(default)]
    pub first_response_minutes: Option<u32>,
    /// Business minutes from each public update to the next.
    #[serde(default)]
    pub next_update_minutes: Option<u32>,
    /// Business minutes from opening to an ending status.
    #[serde(default)]
    pub resolution_minutes: Option<u32>,
    /// Statuses that pause every clock (`waiting_on_customer`).
    #[serde(default)]
    pub pause_statuses: Vec<String>,
    /// Statuses that end the case and stop every clock; `resolved` and `closed` when left out.
    #[serde(default)]
    pub end_statuses: Option<Vec<String>>,
    /// The share of a target, in percent (1-99), at which it is "about to breach"; 80 when left out.
    #[serde(default)]
    pub warn_percent: Option<u8>,
    /// Escalation steps, in increasing `after_breach_minutes`.
    #[serde(default)]
    pub escalations: Vec<EscalationSpec>,
}

/// A checked SLA policy. Build it with [`SlaPolicy::parse`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlaPolicy {
    calendar: BusinessCalendar,
    first_response_ms: Option<i64>,
    next_update_ms: Option<i64>,
    resolution_ms: Option<i64>,
    pause: BTreeSet<String>,
    end: BTreeSet<String>,
    warn_percent: u8,
    escalations: Vec<(i64, String)>,
}

/// Status names compare without case or surrounding space.
fn status_key(s: &str) -> String {
    s.trim().to_lowercase()
}

impl SlaPolicy {
    /// Checks an [`SlaPolicySpec`], reporting every problem by field: the calendar's fields under `calendar.`,
    /// `first_response_minutes` etc. (zero or over [`MAX_TARGET_MINUTES`]), `targets` (none given),
    /// `pause_statuses[i]` / `end_statuses[i]` (empty, or a status both pausing and ending), `warn_percent`
    /// (outside 1-99), `escalations[i].after_breach_minutes` (not increasing, too large), `escalations[i].name`
    /// (empty).
    pub fn parse(spec: &SlaPolicySpec) -> Result<SlaPolicy, FieldErrors> {
        let mut errors = FieldErrors::default();
        let calendar = match BusinessCalendar::parse(&spec.calendar) {
            Ok(c) => Some(c),
            Err(es) => {
                for e in es.0 {
                    errors.push(FieldError::new(
                        format!("calendar.{}", e.field),
                        e.code,
                        e.message,
                    ));
                }
                None
            }
        };
        let mut target = |field: &str, v: Option<u32>| -> Option<i64> {
            let v = v?;
            if v == 0 || v > MAX_TARGET_MINUTES {
                errors.push(FieldError::new(
                    field,
                    "invalid_target",
                    format!("Give a number of business minutes from 1 to {MAX_TARGET_MINUTES}"),
                ));
                return None;
            }
            Some(i64::from(v) * MINUTE_MS)
        };
        let first_response_ms = target("first_response_minutes", spec.first_response_minutes);
        let next_update_ms = target("next_update_minutes", spec.next_update_minutes);
        let resolution_ms = target("resolution_minutes", spec.resolution_minutes);
        if spec.first_response_minutes.is_none()
            && spec.next_update_minutes.is_none()
            && spec.resolution_minutes.is_none()
        {
            errors.push(FieldError::new(
                "targets",
                "no_targets",
                "Give at least one target: first response, next update or resolution",
            ));
        }
        let mut statuses = |field: &str, list: &[String]| -> BTreeSet<String> {
            let mut set = BTreeSet::new();
            for (i, s) in list.iter().enumerate() {
                let k = status_key(s);
                if k.is_empty() || k.len() > 100 {
                    errors.push(FieldError::new(
                        format!("{field}[{i}]"),
                        "invalid_status",
                        "Give a status name of 1 to 100 characters",
                    ));
                } else {
                    set.insert(k);
                }
            }
            set
        };
        let pause = statuses("pause_statuses", &spec.pause_statuses);
        let default_end = ["resolved".to_string(), "closed".to_string()];
        let end = statuses(
            "end_statuses",
            spec.end_statuses.as_deref().unwrap_or(&default_end),
        );
        if end.is_empty() {
            errors.push(FieldError::new(
                "end_statuses",
                "no_end_status",
                "Name at least one status that ends the case, like resolved",
            ));
        }
        for (i, s) in spec.pause_statuses.iter().enumerate() {
            if end.contains(&status_key(s)) {
                errors.push(FieldError::new(
                    format!("pause_statuses[{i}]"),
                    "pause_and_end",
                    "A status cannot both pause the clock and end the case",
                ));
            }
        }
        let warn_percent = spec.warn_percent.unwrap_or(80);
        if !(1..=99).contains(&warn_percent) {
            errors.push(FieldError::new(
                "warn_percent",
                "invalid_percent",
                "Give a percentage from 1 to 99",
            ));
        }
        let mut escalations = Vec::new();
        let mut previous: Option<u32> = None;
        for (i, e) in spec.escalations.iter().enumerate() {
            if e.after_breach_minutes > MAX_TARGET_MINUTES {
                errors.push(FieldError::new(
                    format!("escalations[{i}].after_breach_minutes"),
                    "invalid_target",
                    format!("Give a number of business minutes from 0 to {MAX_TARGET_MINUTES}"),
                ));
            } else if previous.is_some_and(|p| e.after_breach_minutes <= p) {
                errors.push(FieldError::new(
                    format!("escalations[{i}].after_breach_minutes"),
                    "not_increasing",
                    "Each escalation step must come later than the one before it",
                ));
            }
            previous = Some(e.after_breach_minutes);
            let name = e.name.trim();
            if name.is_empty() || name.len() > 100 {
                errors.push(FieldError::new(
                    format!("escalations[{i}].name"),
                    "invalid_name",
                    "Give the step a name of 1 to 100 characters",
                ));
            }
            escalations.push((
                i64::from(e.after_breach_minutes) * MINUTE_MS,
                name.to_string(),
            ));
        }
        match calendar {
            Some(calendar) if errors.is_empty() => Ok(SlaPolicy {
                calendar,
                first_response_ms,
                next_update_ms,
                resolution_ms,
                pause,
                end,
                warn_percent,
                escalations,
            }),
            _ => Err(errors),
        }
    }

    /// The policy's calendar.
    pub fn calendar(&self) -> &BusinessCalendar {
        &self.calendar
    }

    /// The escalation steps in order, as (business milliseconds past the deadline, name): an
    /// [`TargetState::escalation_level`] of `k` means the first `k` of these have been reached.
    pub fn escalations(&self) -> impl Iterator<Item = (i64, &str)> {
        self.escalations.iter().map(|(ms, n)| (*ms, n.as_str()))
    }

    /// Whether `status` pauses the clocks.
    pub fn pauses(&self, status: &str) -> bool {
        self.pause.contains(&status_key(status))
    }

    /// Whether `status` ends the case.
    pub fn ends(&self, status: &str) -> bool {
        self.end.contains(&status_key(status))
    }
}

/// What happened to a case, as far as SLAs care.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CaseEvent {
    /// The case was opened, in this status. Always the first event, and only once.
    Opened { status: String },
    /// The status changed (including reopening a resolved case).
    StatusChanged { status: String },
    /// Staff sent the person a reply or update they can see. Internal notes are not public updates.
    PublicUpdate,
}

/// One entry of a case's history: an event at an instant in epoch milliseconds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseChange {
    /// When, in milliseconds since the Unix epoch.
    pub at_ms: i64,
    /// What; in JSON its fields sit beside `at_ms`: `{"at_ms": 1, "kind": "status_changed", "status": "closed"}`.
    #[serde(flatten)]
    pub event: CaseEvent,
}

/// Where one target stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TargetStatus {
    /// The clock has not started: next update before the first public update.
    NotStarted,
    /// Counting, under the warning share.
    Running,
    /// Counting, at or over the warning share, not yet over the target.
    AtRisk,
    /// Not counting because the case is in a pausing status, not yet over the target.
    Paused,
    /// The case ended before the target was either met or breached (closed with no first response).
    Stopped,
    /// The clock stopped at or under the target (for next update: no update cycle went over).
    Met,
    /// Elapsed business time went over the target (for next update: some cycle did).
    Breached,
}

/// One target's evaluation. Times in epoch milliseconds, durations in business milliseconds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TargetState {
    pub status: TargetStatus,
    /// The target.
    pub target_ms: i64,
    /// Business time counted, up to now or to when the clock stopped (for next update: in the current cycle).
    pub elapsed_ms: i64,
    /// When elapsed time reaches the target: the instant it did, or, if not yet, when it will if the clock keeps
    /// running from now (even if the case is paused now). `None` once met or stopped under target, or out of range.
    pub deadline_ms: Option<i64>,
    /// When elapsed time reaches the warning share, on the same terms as `deadline_ms`.
    pub warn_at_ms: Option<i64>,
    /// The deadline that was missed, once breached.
    pub breached_at_ms: Option<i64>,
    /// When the clock stopped with the target met.
    pub met_at_ms: Option<i64>,
    /// How many escalation steps have been reached.
    pub escalation_level: usize,
    /// When the next escalation step is reached if the clock keeps running from now, while the clock can run.
    pub next_escalation_ms: Option<i64>,
    /// Next update only: completed or current update cycles that went over the target.
    pub missed_cycles: u32,
}

/// A case's SLA evaluation; a target the policy does not set is `None`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SlaState {
    /// Opening to first public update.
    pub first_response: Option<TargetState>,
    /// The current update cycle, with the count of missed ones.
    pub next_update: Option<TargetState>,
    /// Opening to ending status, reopened time included.
    pub resolution: Option<TargetState>,
    /// The case is in a pausing status now.
    pub paused: bool,
    /// The case is in an ending status now.
    pub ended: bool,
}

/// The case's status over time: `(from_ms, status counts)`, the clocks running when `counts`.
struct Timeline {
    opened: i64,
    /// Instants where "counts" flips, starting at `opened`; each entry holds from its instant to the next.
    segments: Vec<(i64, bool)>,
    updates: Vec<i64>,
    ended_at: Option<i64>,
    paused: bool,
}

fn history_error(i: usize, field: &str, code: &'static str, msg: impl Into<String>) -> FieldError {
    FieldError::new(format!("history[{i}].{field}"), code, msg)
}

fn timeline(policy: &SlaPolicy, history: &[CaseChange], now: i64) -> Result<Timeline, FieldError> {
    let Some(first) = history.first() else {
        return Err(FieldError::new(
            "history",
            "empty_history",
            "The case has no history",
        ));
    };
    let CaseEvent::Opened { status } = &first.event else {
        return Err(history_error(
            0,
            "kind",
            "not_opened_first",
            "A case's history must begin with its opening",
        ));
    };
    let mut status = status_key(status);
    let opened = first.at_ms;
    let mut segments = vec![(opened, !policy.ends(&status) && !policy.pauses(&status))];
    let mut updates = Vec::new();
    let mut ended_at = policy.ends(&status).then_some(opened);
    let mut previous = opened;
    for (i, c) in history.iter().enumerate() {
        if c.at_ms < previous {
            return Err(history_error(
                i,
                "at_ms",
                "out_of_order",
                format!(
                    "This change at {} comes before the one above it at {}; history must be in time order",
                    c.at_ms, previous
                ),
            ));
        }
        if c.at_ms > now {
            return Err(history_error(
                i,
                "at_ms",
                "in_future",
                "This change is later than now",
            ));
        }
        previous = c.at_ms;
        match &c.event {
            CaseEvent::Opened { .. } if i > 0 => {
                return Err(history_error(
                    i,
                    "kind",
                    "opened_twice",
                    "A case is opened only once; reopening is a status change",
                ));
            }
            CaseEvent::Opened { .. } => {}
            CaseEvent::PublicUpdate => updates.push(c.at_ms),
            CaseEvent::StatusChanged { status: s } => {
                let s = status_key(s);
                if s.is_empty() {
                    return Err(history_error(
                        i,
                        "status",
                        "missing_status",
                        "The new status is empty",
                    ));
                }
                let was_ended = policy.ends(&status);
                if policy.ends(&s) && !was_ended {
                    ended_at = Some(c.at_ms);
                } else if !policy.ends(&s) {
                    ended_at = None;
                }
                status = s;
                let counts = !policy.ends(&status) && !policy.pauses(&status);
                if segments.last().is_some_and(|&(_, c)| c != counts) {
                    segments.push((c.at_ms, counts));
                }
            }
        }
    }
    Ok(Timeline {
        opened,
        segments,
        updates,
        ended_at,
        paused: policy.pauses(&status),
    })
}

impl Timeline {
    /// The intervals in `[from, to)` during which clocks count.
    fn counting(&self, from: i64, to: i64) -> Vec<(i64, i64)> {
        let mut out = Vec::new();
        for (i, &(s, counts)) in self.segments.iter().enumerate() {
            let e = self.segments.get(i + 1).map_or(i64::MAX, |x| x.0);
            let (a, b) = (s.max(from), e.min(to));
            if counts && a < b {
                out.push((a, b));
            }
        }
        out
    }
}

/// A clock that counted business time over `intervals` (ordered) and may keep running from `now`.
struct Clock<'a> {
    cal: &'a BusinessCalendar,
    intervals: Vec<(i64, i64)>,
    elapsed: i64,
    /// Where to project from if the clock keeps running; `None` when it has stopped for good.
    resume_from: Option<i64>,
}

impl<'a> Clock<'a> {
    fn new(
        cal: &'a BusinessCalendar,
        intervals: Vec<(i64, i64)>,
        resume_from: Option<i64>,
    ) -> Clock<'a> {
        let elapsed = intervals
            .iter()
            .map(|&(a, b)| cal.business_ms_between(a, b))
            .sum();
        Clock {
            cal,
            intervals,
            elapsed,
            resume_from,
        }
    }

    /// The instant the clock reached `amount` of business time, or will if it keeps running.
    fn reaches(&self, amount: i64) -> Option<i64> {
        let mut before = 0i64;
        for &(a, b) in &self.intervals {
            let here = self.cal.business_ms_between(a, b);
            if before + here >= amount {
                return self.cal.add_business_ms(a, amount - before);
            }
            before += here;
        }
        self.cal.add_business_ms(self.resume_from?, amount - before)
    }
}

fn target_state(
    policy: &SlaPolicy,
    target: i64,
    clock: &Clock<'_>,
    stopped_at: Option<i64>,
    paused: bool,
) -> TargetState {
    let breached = clock.elapsed > target;
    let deadline = clock.reaches(target);
    let warn = target * i64::from(policy.warn_percent) / 100;
    let mut level = 0;
    let mut next_escalation = None;
    if breached {
        for (after, _) in &policy.escalations {
            if clock.elapsed > target + after {
                level += 1;
            } else {
                next_escalation = clock.reaches(target + after);
                break;
            }
        }
    }
    if !breached && clock.resume_from.is_some() {
        next_escalation = policy
            .escalations
            .first()
            .and_then(|(after, _)| clock.reaches(target + after));
    }
    let status = match (breached, stopped_at) {
        (true, _) => TargetStatus::Breached,
        (false, Some(_)) => TargetStatus::Met,
        (false, None) if paused => TargetStatus::Paused,
        (false, None) if clock.elapsed >= warn => TargetStatus::AtRisk,
        (false, None) => TargetStatus::Running,
    };
    let met = status == TargetStatus::Met;
    TargetState {
        status,
        target_ms: target,
        elapsed_ms: clock.elapsed,
        deadline_ms: if met { None } else { deadline },
        warn_at_ms: if met { None } else { clock.reaches(warn) },
        breached_at_ms: if breached { deadline } else { None },
        met_at_ms: if met { stopped_at } else { None },
        escalation_level: level,
        next_escalation_ms: if clock.resume_from.is_some() {
            next_escalation
        } else {
            None
        },
        missed_cycles: 0,
    }
}

/// Evaluates `policy` over a case's `history` at the instant `now` (epoch milliseconds).
///
/// `history` is the case's changes in time order (equal instants keep their given order), beginning with
/// [`CaseEvent::Opened`]. It is an error, naming the entry (`history[3].at_ms`), when the history is empty, does not
/// begin with the opening, opens twice, goes back in time, has a change later than `now`, or sets an empty status.
///
/// The result depends only on the arguments: calling it again with a changed policy or calendar recomputes every
/// deadline, and met or breached for ended cases, from the same history. See the module's documentation for the
/// rules.
pub fn evaluate(
    policy: &SlaPolicy,
    history: &[CaseChange],
    now: i64,
) -> Result<SlaState, FieldError> {
    let tl = timeline(policy, history, now)?;
    let cal = &policy.calendar;
    let ended = tl.ended_at.is_some();
    // Where a still-open clock projects from: now, whether it is counting or paused.
    let resume = (!ended).then_some(now);

    let first_response = policy.first_response_ms.map(|target| {
        let first_update = tl.updates.first().copied();
        let until = first_update.unwrap_or(now);
        let clock = Clock::new(
            cal,
            tl.counting(tl.opened, until),
            if first_update.is_some() { None } else { resume },
        );
        let mut st = target_state(policy, target, &clock, first_update, tl.paused && !ended);
        if first_update.is_none() && ended && st.status != TargetStatus::Breached {
            st.status = TargetStatus::Stopped;
            st.deadline_ms = None;
            st.warn_at_ms = None;
        }
        st
    });

    let resolution = policy.resolution_ms.map(|target| {
        let clock = Clock::new(cal, tl.counting(tl.opened, now), resume);
        target_state(policy, target, &clock, tl.ended_at, tl.paused && !ended)
    });

    let next_update = policy.next_update_ms.map(|target| {
        let Some(&last) = tl.updates.last() else {
            return TargetState {
                status: TargetStatus::NotStarted,
                target_ms: target,
                elapsed_ms: 0,
                deadline_ms: None,
                warn_at_ms: None,
                breached_at_ms: None,
                met_at_ms: None,
                escalation_level: 0,
                next_escalation_ms: None,
                missed_cycles: 0,
            };
        };
        let missed = tl
            .updates
            .windows(2)
            .filter(|w| Clock::new(cal, tl.counting(w[0], w[1]), None).elapsed > target)
            .count();
        let clock = Clock::new(cal, tl.counting(last, now), resume);
        let current_missed = clock.elapsed > target;
        let missed = u32::try_from(missed).unwrap_or(u32::MAX) + u32::from(current_missed);
        let mut st = target_state(policy, target, &clock, None, tl.paused && !ended);
        st.missed_cycles = missed;
        if ended {
            st.status = if missed > 0 {
                TargetStatus::Breached
            } else {
                TargetStatus::Met
            };
            st.met_at_ms = tl.ended_at.filter(|_| missed == 0);
            if missed == 0 {
                st.deadline_ms = None;
                st.warn_at_ms = None;
            }
        }
        st
    });

    Ok(SlaState {
        first_response,
        next_update,
        resolution,
        paused: tl.paused && !ended,
        ended,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{LocalResult, Timelike};

    const H: i64 = 3_600_000;
    const M: i64 = MINUTE_MS;

    /// Local wall time in New York to epoch ms; panics on a skipped time, first occurrence of a repeated one.
    fn ny(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> i64 {
        match Tz::America__New_York.with_ymd_and_hms(y, mo, d, h, mi, 0) {
            LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => t.timestamp_millis(),
            LocalResult::None => panic!("skipped local time"),
        }
    }

    fn spec(hours: &[(&str, &[&str])], holidays: &[&str]) -> CalendarSpec {
        CalendarSpec {
            time_zone: "America/New_York".into(),
            always_open: false,
            hours: hours
                .iter()
                .map(|(k, r)| (k.to_string(), r.iter().map(|s| s.to_string()).collect()))
                .collect(),
            holidays: holidays.iter().map(|s| s.to_string()).collect(),
        }
    }

    /// Mon-Fri 08:00-12:00 and 13:00-17:00 in New York, Christmas 2026 closed.
    fn office() -> BusinessCalendar {
        let day: &[&str] = &["08:00-12:00", "13:00-17:00"];
        BusinessCalendar::parse(&spec(
            &[
                ("mon", day),
                ("tue", day),
                ("wed", day),
                ("thu", day),
                ("fri", day),
            ],
            &["2026-12-25"],
        ))
        .unwrap()
    }

    fn sundays(ranges: &[&str]) -> BusinessCalendar {
        BusinessCalendar::parse(&spec(&[("sun", ranges)], &[])).unwrap()
    }

    fn codes(e: &FieldErrors) -> Vec<(String, &'static str)> {
        e.0.iter().map(|e| (e.field.clone(), e.code)).collect()
    }

    #[test]
    fn calendar_errors_name_each_field() {
        let mut s = spec(
            &[
                ("mon", &["08:00-12:00", "11:00-13:00"]),
                ("tue", &["17:00-08:00"]),
                ("wed", &["8-12"]),
                ("thu", &["09:00-24:00", "10:60-11:00"]),
                ("funday", &["08:00-09:00"]),
            ],
            &["2026-12-25", "2026-13-01", "2026-12-25"],
        );
        s.time_zone = "Mars/Olympus".into();
        let e = BusinessCalendar::parse(&s).unwrap_err();
        let c = codes(&e);
        for want in [
            ("time_zone", "unknown_time_zone"),
            ("hours.mon[1]", "overlapping_range"),
            ("hours.tue[0]", "end_not_after_start"),
            ("hours.wed[0]", "invalid_range"),
            ("hours.thu[1]", "invalid_range"),
            ("hours", "unknown_weekday"),
            ("holidays[1]", "invalid_date"),
            ("holidays[2]", "duplicate_holiday"),
        ] {
            assert!(
                c.contains(&(want.0.to_string(), want.1)),
                "missing {want:?} in {c:?}"
            );
        }
        assert_eq!(c.len(), 8, "{c:?}");

        let closed = BusinessCalendar::parse(&spec(&[("mon", &[])], &[])).unwrap_err();
        assert_eq!(
            codes(&closed),
            vec![("hours".to_string(), "no_opening_hours")]
        );
        let mut both = spec(&[("mon", &["08:00-09:00"])], &[]);
        both.always_open = true;
        let e = BusinessCalendar::parse(&both).unwrap_err();
        assert_eq!(
            codes(&e),
            vec![("always_open".to_string(), "always_open_with_hours")]
        );
        // A range overlapping a later one it does not touch directly is caught too.
        let e = BusinessCalendar::parse(&spec(
            &[("sat", &["08:00-17:00", "09:00-10:00", "11:00-12:00"])],
            &[],
        ))
        .unwrap_err();
        assert_eq!(
            codes(&e),
            vec![
                ("hours.sat[1]".to_string(), "overlapping_range"),
                ("hours.sat[2]".to_string(), "overlapping_range")
            ]
        );
        // Adjacent ranges and a range to midnight are fine.
        assert!(
            BusinessCalendar::parse(&spec(&[("fri", &["13:00-24:00", "08:00-13:00"])], &[]))
                .is_ok()
        );
    }

    #[test]
    fn spec_round_trips_through_json() {
        let cal = office();
        let json = serde_json::to_string(&cal.spec()).unwrap();
        let back: CalendarSpec = serde_json::from_str(&json).unwrap();
        assert_eq!(BusinessCalendar::parse(&back).unwrap(), cal);
        assert!(serde_json::from_str::<CalendarSpec>(r#"{"time_zone":"UTC","hourz":{}}"#).is_err());
    }

    #[test]
    fn lunch_nights_and_weekends_do_not_count() {
        let c = office();
        // Monday 2026-11-30.
        assert_eq!(
            c.business_ms_between(ny(2026, 11, 30, 7, 0), ny(2026, 11, 30, 18, 0)),
            8 * H
        );
        assert_eq!(
            c.business_ms_between(ny(2026, 11, 30, 11, 0), ny(2026, 11, 30, 14, 0)),
            2 * H
        );
        assert_eq!(
            c.business_ms_between(ny(2026, 11, 30, 14, 0), ny(2026, 11, 30, 11, 0)),
            0
        );
        // Friday 16:00 to Monday 09:00: one hour Friday, one Monday.
        assert_eq!(
            c.business_ms_between(ny(2026, 11, 27, 16, 0), ny(2026, 11, 30, 9, 0)),
            2 * H
        );
        assert_eq!(
            c.add_business_ms(ny(2026, 11, 27, 16, 0), 2 * H),
            Some(ny(2026, 11, 30, 9, 0))
        );
        // Using up a range exactly ends at its close, not the next opening.
        assert_eq!(
            c.add_business_ms(ny(2026, 11, 30, 8, 0), 4 * H),
            Some(ny(2026, 11, 30, 12, 0))
        );
        assert_eq!(
            c.add_business_ms(ny(2026, 11, 30, 8, 0), 4 * H + 1),
            Some(ny(2026, 11, 30, 13, 0) + 1)
        );
        assert_eq!(
            c.next_open(ny(2026, 11, 28, 10, 0)),
            Some(ny(2026, 11, 30, 8, 0))
        );
        assert_eq!(
            c.next_open(ny(2026, 11, 30, 12, 30)),
            Some(ny(2026, 11, 30, 13, 0))
        );
        assert!(c.is_open(ny(2026, 11, 30, 8, 0)));
        assert!(!c.is_open(ny(2026, 11, 30, 12, 0)));
        assert!(!c.is_open(ny(2026, 11, 29, 10, 0)));
    }

    #[test]
    fn freescout_3756_example() {
        // 09:00-17:00 working hours, a 4-hour target, a ticket at 16:00: due at 12:00 the next working day.
        let day: &[&str] = &["09:00-17:00"];
        let c = BusinessCalendar::parse(&spec(&[("mon", day), ("tue", day)], &[])).unwrap();
        assert_eq!(
            c.add_business_ms(ny(2026, 11, 30, 16, 0), 4 * H),
            Some(ny(2026, 12, 1, 12, 0))
        );
    }

    #[test]
    fn a_holiday_is_closed_all_day() {
        let c = office();
        // Thursday 2026-12-24 16:00 + 2h: Christmas Friday and the weekend are skipped.
        assert_eq!(
            c.add_business_ms(ny(2026, 12, 24, 16, 0), 2 * H),
            Some(ny(2026, 12, 28, 9, 0))
        );
        assert_eq!(
            c.business_ms_between(ny(2026, 12, 25, 0, 0), ny(2026, 12, 26, 0, 0)),
            0
        );
        assert_eq!(
            c.business_ms_between(ny(2026, 12, 18, 0, 0), ny(2026, 12, 19, 0, 0)),
            8 * H
        );
    }

    #[test]
    fn spring_forward_shortens_a_range_and_skips_the_missing_hour() {
        // 2027-03-14: 02:00 EST becomes 03:00 EDT.
        assert_eq!(
            sundays(&["01:00-04:00"])
                .business_ms_between(ny(2027, 3, 14, 0, 0), ny(2027, 3, 15, 0, 0)),
            2 * H
        );
        assert_eq!(
            sundays(&["00:00-24:00"])
                .business_ms_between(ny(2027, 3, 13, 0, 0), ny(2027, 3, 16, 0, 0)),
            23 * H
        );
        // A range inside the skipped hour does not happen; one starting in it starts at 03:00 EDT.
        assert_eq!(
            sundays(&["02:00-02:30"])
                .business_ms_between(ny(2027, 3, 13, 0, 0), ny(2027, 3, 16, 0, 0)),
            0
        );
        let c = sundays(&["02:30-05:00"]);
        assert_eq!(
            c.next_open(ny(2027, 3, 13, 0, 0)),
            Some(ny(2027, 3, 14, 3, 0))
        );
        assert_eq!(
            c.business_ms_between(ny(2027, 3, 14, 0, 0), ny(2027, 3, 15, 0, 0)),
            2 * H
        );
        // Office hours across the change keep their local times.
        let o = office();
        assert_eq!(
            o.add_business_ms(ny(2027, 3, 12, 16, 0), 2 * H),
            Some(ny(2027, 3, 15, 9, 0))
        );
        assert_eq!(
            o.business_ms_between(ny(2027, 3, 8, 0, 0), ny(2027, 3, 20, 0, 0)),
            80 * H
        );
    }

    #[test]
    fn fall_back_lengthens_a_range_through_the_repeated_hour() {
        // 2026-11-01: 02:00 EDT becomes 01:00 EST, so 01:00-02:00 happens twice.
        let day = (ny(2026, 10, 31, 0, 0), ny(2026, 11, 3, 0, 0));
        assert_eq!(
            sundays(&["00:00-04:00"]).business_ms_between(day.0, day.1),
            5 * H
        );
        assert_eq!(
            sundays(&["00:00-24:00"]).business_ms_between(day.0, day.1),
            25 * H
        );
        assert_eq!(
            sundays(&["01:00-02:00"]).business_ms_between(day.0, day.1),
            2 * H
        );
        // Start at the first 01:30 (EDT), end at the second 01:45 (EST).
        let c = sundays(&["01:30-01:45"]);
        assert_eq!(c.business_ms_between(day.0, day.1), H + 15 * M);
        assert_eq!(c.next_open(day.0), Some(ny(2026, 11, 1, 1, 30)));
        // Adjacent ranges meeting in the repeated hour overlap once resolved; the overlap counts once, and the
        // day's 00:00-03:00 is its four real hours.
        let c = sundays(&["00:00-01:30", "01:30-03:00"]);
        assert_eq!(c.business_ms_between(day.0, day.1), 4 * H);
        assert_eq!(c.add_business_ms(day.0, 4 * H), Some(ny(2026, 11, 1, 3, 0)));
        let o = office();
        assert_eq!(
            o.add_business_ms(ny(2026, 10, 30, 16, 0), 2 * H),
            Some(ny(2026, 11, 2, 9, 0))
        );
    }

    /// Minute by minute, whether New York's wall clock is inside a range: the plain reading of opening hours, which
    /// the calendar must match on every day without a repeated hour.
    fn open_by_wall_clock(
        ranges: &[(u32, u32)],
        holidays: &[NaiveDate],
        t: i64,
        open_days: &[u32],
    ) -> bool {
        let l = chrono::DateTime::from_timestamp_millis(t)
            .unwrap()
            .with_timezone(&Tz::America__New_York);
        let m = l.hour() * 60 + l.minute();
        !holidays.contains(&l.date_naive())
            && open_days.contains(&l.weekday().num_days_from_monday())
            && ranges.iter().any(|&(s, e)| s <= m && m < e)
    }

    #[test]
    fn minutes_match_the_wall_clock_across_spring_forward_and_a_holiday() {
        let c = office();
        let ranges = [(480, 720), (780, 1020)];
        let holidays = [NaiveDate::from_ymd_opt(2026, 12, 25).unwrap()];
        for (from, days) in [(ny(2027, 3, 11, 0, 0), 6), (ny(2026, 12, 22, 0, 0), 7)] {
            let mut counted = 0;
            for i in 0..(days * 24 * 60) {
                let t = from + i * M;
                let wall = open_by_wall_clock(&ranges, &holidays, t, &[0, 1, 2, 3, 4]);
                assert_eq!(c.is_open(t), wall, "at {}", Zone::default().iso(t));
                counted += i64::from(wall) * M;
            }
            assert_eq!(c.business_ms_between(from, from + days * 24 * H), counted);
        }
    }

    #[test]
    fn every_day_around_the_clock_is_all_of_time_in_any_zone() {
        // Zones whose clocks change at midnight (Santiago, Havana) or by half an hour (Lord Howe Island): a
        // calendar open 00:00-24:00 every day must count every instant once.
        let day: &[&str] = &["00:00-24:00"];
        let week: Vec<(&str, &[&str])> = WEEKDAY_KEYS.iter().map(|k| (*k, day)).collect();
        for zone in [
            "America/New_York",
            "America/Santiago",
            "America/Havana",
            "Australia/Lord_Howe",
        ] {
            let mut s = spec(&week, &[]);
            s.time_zone = zone.into();
            let c = BusinessCalendar::parse(&s).unwrap();
            let year = (ny(2026, 1, 1, 0, 0), ny(2027, 1, 1, 0, 0));
            assert_eq!(
                c.business_ms_between(year.0, year.1),
                year.1 - year.0,
                "{zone}"
            );
            for i in 0..53 {
                let a = year.0 + i * (7 * 24 * H + 13 * M);
                assert_eq!(
                    c.add_business_ms(a, 7 * 24 * H),
                    Some(a + 7 * 24 * H),
                    "{zone}"
                );
                assert!(c.is_open(a));
            }
        }
    }

    fn calendars() -> Vec<BusinessCalendar> {
        vec![
            office(),
            sundays(&["00:00-04:00", "05:30-06:00", "23:00-24:00"]),
            BusinessCalendar::parse(&spec(
                &[
                    ("sat", &["00:00-24:00"]),
                    ("sun", &["00:00-24:00"]),
                    ("mon", &["00:00-01:30"]),
                ],
                &[],
            ))
            .unwrap(),
            BusinessCalendar::always_open(Zone::default()),
        ]
    }

    #[test]
    fn adding_then_measuring_gives_back_the_amount() {
        let amounts = [0, 1, M - 1, M, 37 * M, H, 4 * H, 8 * H + 1, 30 * H, 100 * H];
        for c in calendars() {
            // Every 97 minutes over the weeks around both of 2026-2027's changes.
            for start_at in [ny(2026, 10, 28, 0, 0), ny(2027, 3, 10, 0, 0)] {
                for step in 0..(10 * 24 * 60 / 97) {
                    let a = start_at + step * 97 * M + step;
                    for &ms in &amounts {
                        let d = c.add_business_ms(a, ms).unwrap();
                        assert!(d >= a);
                        assert_eq!(
                            c.business_ms_between(a, d),
                            ms,
                            "{} + {ms}",
                            Zone::default().iso(a)
                        );
                        // The other way round: the deadline for the measured time is `b` or the last close before.
                        let b = a + ms * 3 + 11 * M;
                        let back = c.add_business_ms(a, c.business_ms_between(a, b)).unwrap();
                        assert!(back <= b);
                        assert_eq!(c.business_ms_between(back, b), 0);
                        // Additivity over a split point.
                        let mid = a + ms;
                        assert_eq!(
                            c.business_ms_between(a, b),
                            c.business_ms_between(a, mid) + c.business_ms_between(mid, b)
                        );
                    }
                }
            }
        }
    }

    fn policy_spec() -> SlaPolicySpec {
        SlaPolicySpec {
            calendar: office().spec(),
            first_response_minutes: Some(4 * 60),
            next_update_minutes: Some(8 * 60),
            resolution_minutes: Some(24 * 60),
            pause_statuses: vec!["Waiting_on_customer".into()],
            end_statuses: None,
            warn_percent: None,
            escalations: vec![
                EscalationSpec {
                    after_breach_minutes: 0,
                    name: "notify_team_lead".into(),
                },
                EscalationSpec {
                    after_breach_minutes: 240,
                    name: "notify_manager".into(),
                },
            ],
        }
    }

    fn policy() -> SlaPolicy {
        SlaPolicy::parse(&policy_spec()).unwrap()
    }

    fn opened(at_ms: i64) -> CaseChange {
        CaseChange {
            at_ms,
            event: CaseEvent::Opened {
                status: "open".into(),
            },
        }
    }
    fn status(at_ms: i64, s: &str) -> CaseChange {
        CaseChange {
            at_ms,
            event: CaseEvent::StatusChanged { status: s.into() },
        }
    }
    fn update(at_ms: i64) -> CaseChange {
        CaseChange {
            at_ms,
            event: CaseEvent::PublicUpdate,
        }
    }

    #[test]
    fn a_policy_reads_from_json() {
        let json = r#"{
            "calendar": {"time_zone": "america/chicago",
                         "hours": {"mon": ["08:00-12:00", "13:00-17:00"], "fri": ["08:00-12:00"]},
                         "holidays": ["2026-12-25"]},
            "first_response_minutes": 120,
            "resolution_minutes": 2400,
            "pause_statuses": ["waiting_on_customer"],
            "warn_percent": 75,
            "escalations": [{"after_breach_minutes": 0, "name": "notify_team_lead"}]
        }"#;
        let p = SlaPolicy::parse(&serde_json::from_str(json).unwrap()).unwrap();
        assert_eq!(p.calendar().time_zone(), "America/Chicago");
        assert!(p.pauses(" Waiting_On_Customer") && !p.pauses("open"));
        assert!(p.ends("closed") && p.ends("Resolved") && !p.ends("waiting_on_customer"));
        let s = evaluate(
            &p,
            &[opened(ny(2026, 11, 30, 9, 0))],
            ny(2026, 11, 30, 9, 0),
        )
        .unwrap();
        assert!(s.next_update.is_none());
        // 09:00 New York is 08:00 Chicago; two hours from then.
        assert_eq!(
            s.first_response.unwrap().deadline_ms,
            Some(ny(2026, 11, 30, 11, 0))
        );
        assert!(
            serde_json::from_str::<SlaPolicySpec>(r#"{"calendar":{"time_zone":"UTC"},"goal":1}"#)
                .is_err()
        );
    }

    #[test]
    fn policy_errors_name_each_field() {
        let mut s = policy_spec();
        s.calendar.time_zone = "Nowhere/Town".into();
        s.first_response_minutes = Some(0);
        s.pause_statuses = vec!["".into(), "Resolved".into()];
        s.end_statuses = Some(vec!["resolved".into()]);
        s.warn_percent = Some(100);
        s.escalations[1].after_breach_minutes = 0;
        s.escalations[0].name = " ".into();
        let c = codes(&SlaPolicy::parse(&s).unwrap_err());
        assert_eq!(
            c,
            vec![
                ("calendar.time_zone".to_string(), "unknown_time_zone"),
                ("first_response_minutes".to_string(), "invalid_target"),
                ("pause_statuses[0]".to_string(), "invalid_status"),
                ("pause_statuses[1]".to_string(), "pause_and_end"),
                ("warn_percent".to_string(), "invalid_percent"),
                ("escalations[0].name".to_string(), "invalid_name"),
                (
                    "escalations[1].after_breach_minutes".to_string(),
                    "not_increasing"
                ),
            ]
        );
        let mut none = policy_spec();
        none.first_response_minutes = None;
        none.next_update_minutes = None;
        none.resolution_minutes = None;
        none.end_statuses = Some(vec![]);
        let c = codes(&SlaPolicy::parse(&none).unwrap_err());
        assert_eq!(
            c,
            vec![
                ("targets".to_string(), "no_targets"),
                ("end_statuses".to_string(), "no_end_status")
            ]
        );
    }

    #[test]
    fn a_case_opened_on_saturday_starts_its_clock_on_monday() {
        let p = policy();
        let h = [opened(ny(2026, 11, 28, 10, 0))];
        let s = evaluate(&p, &h, ny(2026, 11, 28, 12, 0)).unwrap();
        let fr = s.first_response.unwrap();
        assert_eq!((fr.status, fr.elapsed_ms), (TargetStatus::Running, 0));
        assert_eq!(fr.deadline_ms, Some(ny(2026, 11, 30, 12, 0)));
        // 80% of 4 hours is 3h12m: 11:12 Monday.
        assert_eq!(fr.warn_at_ms, Some(ny(2026, 11, 30, 11, 12)));
        assert_eq!(fr.next_escalation_ms, Some(ny(2026, 11, 30, 12, 0)));
        assert_eq!(
            s.resolution.unwrap().deadline_ms,
            Some(ny(2026, 12, 2, 17, 0))
        );
        assert_eq!(s.next_update.unwrap().status, TargetStatus::NotStarted);

        let s = evaluate(&p, &h, ny(2026, 11, 30, 11, 30)).unwrap();
        assert_eq!(s.first_response.unwrap().status, TargetStatus::AtRisk);

        let s = evaluate(&p, &h, ny(2026, 11, 30, 13, 30)).unwrap();
        let fr = s.first_response.unwrap();
        assert_eq!(fr.status, TargetStatus::Breached);
        assert_eq!(fr.elapsed_ms, 4 * H + 30 * M);
        assert_eq!(fr.breached_at_ms, Some(ny(2026, 11, 30, 12, 0)));
        assert_eq!(fr.escalation_level, 1);
        // The manager step: 4 business hours past the breach.
        assert_eq!(fr.next_escalation_ms, Some(ny(2026, 11, 30, 17, 0)));
        let fr = evaluate(&p, &h, ny(2026, 12, 1, 9, 0))
            .unwrap()
            .first_response
            .unwrap();
        assert_eq!((fr.escalation_level, fr.next_escalation_ms), (2, None));
        let names: Vec<_> = p.escalations().map(|(_, n)| n).collect();
        assert_eq!(names[fr.escalation_level - 1], "notify_manager");

        let h = [
            opened(ny(2026, 11, 28, 10, 0)),
            update(ny(2026, 11, 30, 10, 0)),
        ];
        let s = evaluate(&p, &h, ny(2026, 11, 30, 15, 0)).unwrap();
        let fr = s.first_response.unwrap();
        assert_eq!(
            (fr.status, fr.met_at_ms, fr.elapsed_ms),
            (TargetStatus::Met, Some(ny(2026, 11, 30, 10, 0)), 2 * H)
        );
        assert_eq!((fr.deadline_ms, fr.next_escalation_ms), (None, None));
        let nu = s.next_update.unwrap();
        assert_eq!((nu.status, nu.elapsed_ms), (TargetStatus::Running, 4 * H));
        assert_eq!(nu.deadline_ms, Some(ny(2026, 12, 1, 10, 0)));
    }

    #[test]
    fn deadlines_cross_a_clock_change_and_a_holiday() {
        let p = policy();
        // Friday 2027-03-12 16:00 EST; clocks spring forward on Sunday; 4 hours are due Monday 11:00 EDT.
        let h = [opened(ny(2027, 3, 12, 16, 0))];
        let fr = evaluate(&p, &h, ny(2027, 3, 15, 8, 30))
            .unwrap()
            .first_response
            .unwrap();
        assert_eq!(
            (fr.status, fr.elapsed_ms),
            (TargetStatus::Running, H + 30 * M)
        );
        assert_eq!(fr.deadline_ms, Some(ny(2027, 3, 15, 11, 0)));
        // Thursday 2026-12-24 16:00: Christmas and the weekend are skipped; due Monday 11:00.
        let h = [opened(ny(2026, 12, 24, 16, 0))];
        let fr = evaluate(&p, &h, ny(2026, 12, 25, 12, 0))
            .unwrap()
            .first_response
            .unwrap();
        assert_eq!(
            (fr.elapsed_ms, fr.deadline_ms),
            (H, Some(ny(2026, 12, 28, 11, 0)))
        );
    }

    #[test]
    fn a_pause_over_the_weekend_stops_every_clock() {
        let p = policy();
        // Opened Thursday 09:00, answered 10:00, waiting on the customer Friday 09:00 until Monday 10:00.
        let h = [
            opened(ny(2026, 11, 19, 9, 0)),
            update(ny(2026, 11, 19, 10, 0)),
            status(ny(2026, 11, 20, 9, 0), "waiting on customer"),
            status(ny(2026, 11, 20, 9, 0), "WAITING_ON_CUSTOMER"),
        ];
        let s = evaluate(&p, &h, ny(2026, 11, 21, 12, 0)).unwrap();
        assert!(s.paused && !s.ended);
        // "waiting on customer" (with spaces) is not the pausing status, so the clock ran for no time before the
        // second change at the same instant paused it. Thursday 09:00-17:00 less lunch, Friday 08:00-09:00.
        let r = s.resolution.unwrap();
        assert_eq!((r.status, r.elapsed_ms), (TargetStatus::Paused, 8 * H));
        // If the clock ran from now (Saturday): 16 hours left, from Monday 08:00 to Tuesday 17:00.
        assert_eq!(r.deadline_ms, Some(ny(2026, 11, 24, 17, 0)));
        let mut h = h.to_vec();
        h.push(status(ny(2026, 11, 23, 10, 0), "in_progress"));
        let r = evaluate(&p, &h, ny(2026, 11, 23, 11, 0))
            .unwrap()
            .resolution
            .unwrap();
        assert_eq!((r.status, r.elapsed_ms), (TargetStatus::Running, 9 * H));
        assert_eq!(r.deadline_ms, Some(ny(2026, 11, 25, 10, 0)));

        // Around the clock: only the pause is left out.
        let mut s24 = policy_spec();
        s24.calendar = BusinessCalendar::always_open(Zone::default()).spec();
        let p24 = SlaPolicy::parse(&s24).unwrap();
        let r = evaluate(&p24, &h, ny(2026, 11, 23, 11, 0))
            .unwrap()
            .resolution
            .unwrap();
        assert_eq!(r.elapsed_ms, 25 * H);
        assert_eq!(r.status, TargetStatus::Breached);
        assert_eq!(r.breached_at_ms, Some(ny(2026, 11, 20, 9, 0)));
    }

    #[test]
    fn a_reopened_case_resumes_its_resolution_clock() {
        let p = policy();
        let h = vec![
            opened(ny(2026, 11, 30, 8, 0)),
            update(ny(2026, 11, 30, 9, 0)),
            status(ny(2026, 11, 30, 10, 0), "resolved"),
            status(ny(2026, 11, 30, 11, 0), "closed"),
        ];
        let s = evaluate(&p, &h, ny(2026, 12, 2, 9, 0)).unwrap();
        assert!(s.ended && !s.paused);
        let r = s.resolution.unwrap();
        assert_eq!(
            (r.status, r.elapsed_ms, r.met_at_ms),
            (TargetStatus::Met, 2 * H, Some(ny(2026, 11, 30, 10, 0)))
        );
        assert_eq!(s.next_update.unwrap().status, TargetStatus::Met);
        // An ended case's evaluation does not change with time.
        assert_eq!(
            evaluate(&p, &h, ny(2027, 6, 1, 9, 0)).unwrap(),
            evaluate(&p, &h, ny(2026, 12, 2, 9, 0)).unwrap()
        );

        let mut h = h;
        h.push(status(ny(2026, 12, 2, 9, 0), "open"));
        let s = evaluate(&p, &h, ny(2026, 12, 2, 10, 0)).unwrap();
        let r = s.resolution.unwrap();
        assert!(!s.ended);
        assert_eq!(
            (r.status, r.elapsed_ms, r.met_at_ms),
            (TargetStatus::Running, 3 * H, None)
        );
        assert_eq!(r.deadline_ms, Some(ny(2026, 12, 4, 16, 0)));
        h.push(status(ny(2026, 12, 2, 11, 0), "resolved"));
        let r = evaluate(&p, &h, ny(2026, 12, 3, 10, 0))
            .unwrap()
            .resolution
            .unwrap();
        assert_eq!(
            (r.status, r.elapsed_ms, r.met_at_ms),
            (TargetStatus::Met, 4 * H, Some(ny(2026, 12, 2, 11, 0)))
        );
    }

    #[test]
    fn a_case_closed_without_a_reply_has_its_first_response_stopped_or_breached() {
        let p = policy();
        let h = [
            opened(ny(2026, 11, 30, 8, 0)),
            status(ny(2026, 11, 30, 9, 0), "closed"),
        ];
        let fr = evaluate(&p, &h, ny(2026, 12, 1, 9, 0))
            .unwrap()
            .first_response
            .unwrap();
        assert_eq!(
            (fr.status, fr.elapsed_ms, fr.deadline_ms),
            (TargetStatus::Stopped, H, None)
        );
        let h = [
            opened(ny(2026, 11, 30, 8, 0)),
            status(ny(2026, 11, 30, 15, 0), "closed"),
        ];
        let fr = evaluate(&p, &h, ny(2026, 12, 1, 9, 0))
            .unwrap()
            .first_response
            .unwrap();
        assert_eq!(
            (fr.status, fr.breached_at_ms),
            (TargetStatus::Breached, Some(ny(2026, 11, 30, 12, 0)))
        );
        assert_eq!((fr.escalation_level, fr.next_escalation_ms), (1, None));
    }

    #[test]
    fn missed_updates_are_counted_per_cycle() {
        let p = policy();
        let h = vec![
            opened(ny(2026, 11, 30, 8, 0)),
            update(ny(2026, 11, 30, 9, 0)),
            // 8h target: Monday 09:00 to Tuesday 10:00 is 9 business hours, missed.
            update(ny(2026, 12, 1, 10, 0)),
            update(ny(2026, 12, 1, 11, 0)),
        ];
        let nu = evaluate(&p, &h, ny(2026, 12, 1, 16, 0))
            .unwrap()
            .next_update
            .unwrap();
        assert_eq!(
            (nu.status, nu.elapsed_ms, nu.missed_cycles),
            (TargetStatus::Running, 4 * H, 1)
        );
        let nu = evaluate(&p, &h, ny(2026, 12, 2, 13, 30))
            .unwrap()
            .next_update
            .unwrap();
        assert_eq!((nu.status, nu.missed_cycles), (TargetStatus::Breached, 2));
        assert_eq!(nu.breached_at_ms, Some(ny(2026, 12, 2, 11, 0)));
        let mut h = h;
        h.push(status(ny(2026, 12, 1, 12, 0), "resolved"));
        let nu = evaluate(&p, &h, ny(2026, 12, 3, 9, 0))
            .unwrap()
            .next_update
            .unwrap();
        assert_eq!((nu.status, nu.missed_cycles), (TargetStatus::Breached, 1));
    }

    #[test]
    fn changing_the_policy_recomputes_open_and_closed_cases() {
        let open_case = [
            opened(ny(2026, 11, 30, 8, 0)),
            update(ny(2026, 11, 30, 9, 0)),
        ];
        // Resolved after 9 business hours, with a pause in between: Monday 08:00-14:00 less lunch, Tuesday
        // 14:00-17:00, Wednesday 08:00-09:00.
        let closed_case = [
            opened(ny(2026, 11, 30, 8, 0)),
            status(ny(2026, 11, 30, 14, 0), "waiting_on_customer"),
            status(ny(2026, 12, 1, 14, 0), "open"),
            status(ny(2026, 12, 2, 9, 0), "resolved"),
        ];
        let now = ny(2026, 12, 1, 9, 0);
        let later = ny(2026, 12, 3, 9, 0);
        let before = policy();
        let r = evaluate(&before, &open_case, now)
            .unwrap()
            .resolution
            .unwrap();
        assert_eq!(r.deadline_ms, Some(ny(2026, 12, 2, 17, 0)));
        let r = evaluate(&before, &closed_case, later)
            .unwrap()
            .resolution
            .unwrap();
        assert_eq!((r.status, r.elapsed_ms), (TargetStatus::Met, 9 * H));

        // Tighter target: the open case's deadline moves, the closed case is now breached, at the instant its
        // eighth business hour ended, the pause left out (5 hours Monday, then Tuesday 14:00 + 3h: 17:00).
        let mut tighter = policy_spec();
        tighter.resolution_minutes = Some(8 * 60);
        let tighter = SlaPolicy::parse(&tighter).unwrap();
        let r = evaluate(&tighter, &open_case, now)
            .unwrap()
            .resolution
            .unwrap();
        assert_eq!(r.deadline_ms, Some(ny(2026, 11, 30, 17, 0)));
        assert_eq!(r.status, TargetStatus::Breached);
        let r = evaluate(&tighter, &closed_case, later)
            .unwrap()
            .resolution
            .unwrap();
        assert_eq!(
            (r.status, r.breached_at_ms),
            (TargetStatus::Breached, Some(ny(2026, 12, 1, 17, 0)))
        );
        assert_eq!(r.escalation_level, 1);

        // Another calendar (Chicago, an hour behind): the same local hours end an hour later in New York time.
        let mut chicago = policy_spec();
        chicago.calendar.time_zone = "America/Chicago".into();
        let chicago = SlaPolicy::parse(&chicago).unwrap();
        let r = evaluate(&chicago, &open_case, now)
            .unwrap()
            .resolution
            .unwrap();
        assert_eq!(r.deadline_ms, Some(ny(2026, 12, 2, 18, 0)));
        // No longer pausing on waiting: the closed case counts the pause as working time.
        let mut no_pause = policy_spec();
        no_pause.pause_statuses.clear();
        let no_pause = SlaPolicy::parse(&no_pause).unwrap();
        let r = evaluate(&no_pause, &closed_case, later)
            .unwrap()
            .resolution
            .unwrap();
        assert_eq!(r.elapsed_ms, 17 * H);
    }

    #[test]
    fn the_deadline_holds_still_while_the_clock_runs() {
        let p = policy();
        let h = [
            opened(ny(2026, 11, 27, 15, 0)),
            update(ny(2026, 11, 27, 16, 0)),
        ];
        let first = evaluate(&p, &h, ny(2026, 11, 27, 16, 0))
            .unwrap()
            .resolution
            .unwrap()
            .deadline_ms;
        assert_eq!(first, Some(ny(2026, 12, 2, 15, 0)));
        for i in 0..(6 * 24 * 60 / 45) {
            let now = ny(2026, 11, 27, 16, 0) + i * 45 * M;
            let r = evaluate(&p, &h, now).unwrap().resolution.unwrap();
            assert_eq!(r.deadline_ms, first);
            assert_eq!(
                r.elapsed_ms,
                p.calendar().business_ms_between(h[0].at_ms, now)
            );
            assert_eq!(
                r.status == TargetStatus::Breached,
                now > first.unwrap() && r.elapsed_ms > r.target_ms
            );
        }
    }

    #[test]
    fn bad_histories_are_refused_naming_the_entry() {
        let p = policy();
        let t = ny(2026, 11, 30, 9, 0);
        let err = |h: &[CaseChange]| {
            let e = evaluate(&p, h, t + H).unwrap_err();
            (e.field, e.code)
        };
        assert_eq!(err(&[]), ("history".into(), "empty_history"));
        assert_eq!(
            err(&[update(t)]),
            ("history[0].kind".into(), "not_opened_first")
        );
        assert_eq!(
            err(&[opened(t), opened(t)]),
            ("history[1].kind".into(), "opened_twice")
        );
        assert_eq!(
            err(&[opened(t), status(t + 10, "closed"), status(t + 5, "open")]),
            ("history[2].at_ms".into(), "out_of_order")
        );
        assert_eq!(
            err(&[opened(t), update(t + 2 * H)]),
            ("history[1].at_ms".into(), "in_future")
        );
        assert_eq!(
            err(&[opened(t), status(t, " ")]),
            ("history[1].status".into(), "missing_status")
        );
        let json =
            r#"[{"at_ms":1,"kind":"opened","status":"open"},{"at_ms":2,"kind":"public_update"}]"#;
        let h: Vec<CaseChange> = serde_json::from_str(json).unwrap();
        assert_eq!(h, vec![opened(1), update(2)]);
    }
}
