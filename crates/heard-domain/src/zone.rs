//! Local time: every organization has an IANA time zone, and every rule that turns an instant into a calendar day, a
//! week, a fiscal quarter or a time shown to people goes through it. A response at 22:30 in New York on September 30
//! is a September 30 response (and FY Q4) even though it is October 1 in UTC.
//!
//! This is the one place for that rule: new features that date things (signals, events, imports, SMS) take the
//! organization's `Zone` and call these functions rather than reading `Utc` dates.

use chrono::{DateTime, Days, NaiveDate, NaiveTime, SecondsFormat, TimeZone};
use chrono_tz::Tz;
use serde::{Serialize, Serializer};
use std::fmt;

use crate::FieldError;

/// An organization's time zone, from the IANA database (`America/New_York`, `America/Chicago`, `Pacific/Guam`...).
/// Daylight saving time is applied as the database says for each instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Zone(Tz);

impl Default for Zone {
    /// America/New_York, where most federal services keep their hours.
    fn default() -> Zone {
        Zone(Tz::America__New_York)
    }
}

/// Zones offered as suggestions on the settings page: the United States, its territories and the freely associated
/// states. Any other IANA name is accepted too.
pub const US_ZONES: [&str; 13] = [
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Phoenix",
    "America/Los_Angeles",
    "America/Anchorage",
    "America/Adak",
    "Pacific/Honolulu",
    "America/Puerto_Rico",
    "America/St_Thomas",
    "Pacific/Guam",
    "Pacific/Pago_Pago",
    "Pacific/Saipan",
];

impl Zone {
    /// The zone new organizations get.
    pub const DEFAULT_NAME: &'static str = "America/New_York";

    /// Parses an IANA zone name (`America/New_York`). Case does not matter (`america/chicago` is America/Chicago,
    /// stored as the database spells it); an empty name or an unknown one is an error naming the `time_zone` field
    /// and saying how to put it right.
    pub fn parse(s: &str) -> Result<Zone, FieldError> {
        let s = s.trim();
        if s.is_empty() {
            return Err(FieldError::new(
                "time_zone",
                "missing_time_zone",
                "Choose a time zone, like America/Chicago",
            ));
        }
        if let Ok(tz) = s.parse::<Tz>() {
            return Ok(Zone(tz));
        }
        if let Some(tz) = chrono_tz::TZ_VARIANTS
            .iter()
            .find(|tz| tz.name().eq_ignore_ascii_case(s))
        {
            return Ok(Zone(*tz));
        }
        Err(FieldError::new(
            "time_zone",
            "unknown_time_zone",
            format!(
                "'{}' is not a time zone name; use one like America/New_York or America/Chicago",
                s.chars().take(60).collect::<String>()
            ),
        ))
    }

    /// UTC, for tests and for data with no organization.
    pub fn utc() -> Zone {
        Zone(Tz::UTC)
    }

    /// The IANA name, as stored.
    pub fn name(&self) -> &'static str {
        self.0.name()
    }

    /// The instant `ms` (milliseconds since the Unix epoch) in this zone; out-of-range instants clamp to the epoch.
    pub fn local(&self, ms: i64) -> DateTime<Tz> {
        DateTime::from_timestamp_millis(ms)
            .unwrap_or_default()
            .with_timezone(&self.0)
    }

    /// The local calendar day of the instant `ms`. Out of chrono's range the earliest or latest date is returned.
    pub fn date(&self, ms: i64) -> NaiveDate {
        match DateTime::from_timestamp_millis(ms) {
            Some(t) => t.with_timezone(&self.0).date_naive(),
            None if ms < 0 => NaiveDate::MIN,
            None => NaiveDate::MAX,
        }
    }

    /// The first instant of the local day `d`, in milliseconds since the epoch: local midnight, or, where a daylight
    /// saving change skips midnight, the first local time that exists that day.
    pub fn day_start_ms(&self, d: NaiveDate) -> i64 {
        let mut t = NaiveTime::MIN;
        // Gaps are at most a few hours; step by 15 minutes through them.
        for _ in 0..96 {
            if let Some(first) = self.0.from_local_datetime(&d.and_time(t)).earliest() {
                return first.timestamp_millis();
            }
            t += chrono::Duration::minutes(15);
        }
        d.and_time(NaiveTime::MIN).and_utc().timestamp_millis()
    }

    /// The instants of the local days `from` to `to`, both included, as a half-open range of milliseconds: what a
    /// person means by "from September 1 to September 30".
    pub fn days_ms(&self, from: NaiveDate, to: NaiveDate) -> (i64, i64) {
        (
            self.day_start_ms(from),
            self.day_start_ms(to.checked_add_days(Days::new(1)).unwrap_or(to)),
        )
    }

    /// The local day of `ms` as a count of days since 1970-01-01: the key under which displays are counted, so they
    /// add up per local day like responses do.
    pub fn day_number(&self, ms: i64) -> i64 {
        day_number(self.date(ms))
    }

    /// ISO 8601 with the local offset and whole seconds, for files: `2026-09-30T22:30:00-04:00`.
    pub fn iso(&self, ms: i64) -> String {
        self.local(ms).to_rfc3339_opts(SecondsFormat::Secs, false)
    }

    /// A date and time for people: `Sep 30, 2026 22:30 EDT`.
    pub fn display(&self, ms: i64) -> String {
        self.local(ms).format("%b %-d, %Y %H:%M %Z").to_string()
    }

    /// A date for people: `Sep 30, 2026`.
    pub fn display_date(&self, ms: i64) -> String {
        self.local(ms).format("%b %-d, %Y").to_string()
    }
}

/// Days from 1970-01-01 to `d`.
pub fn day_number(d: NaiveDate) -> i64 {
    d.signed_duration_since(NaiveDate::default()).num_days()
}

impl fmt::Display for Zone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Serialize for Zone {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> i64 {
        DateTime::parse_from_rfc3339(s).unwrap().timestamp_millis()
    }
    fn d(y: i32, m: u32, dd: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, dd).unwrap()
    }

    #[test]
    fn an_evening_in_new_york_is_the_local_day() {
        let ny = Zone::default();
        let t = at("2026-10-01T02:30:00Z");
        assert_eq!(ny.date(t), d(2026, 9, 30));
        assert_eq!(ny.iso(t), "2026-09-30T22:30:00-04:00");
        assert_eq!(ny.display(t), "Sep 30, 2026 22:30 EDT");
        assert_eq!(Zone::utc().date(t), d(2026, 10, 1));
        // Winter time has another offset.
        assert_eq!(
            ny.iso(at("2027-01-15T17:00:00Z")),
            "2027-01-15T12:00:00-05:00"
        );
    }

    #[test]
    fn local_days_start_at_local_midnight_across_daylight_saving() {
        let ny = Zone::default();
        assert_eq!(ny.day_start_ms(d(2026, 9, 30)), at("2026-09-30T04:00:00Z"));
        // March 8, 2026 is 23 hours long, November 1 is 25.
        let (a, b) = ny.days_ms(d(2026, 3, 8), d(2026, 3, 8));
        assert_eq!(b - a, 23 * 3_600_000);
        let (a, b) = ny.days_ms(d(2026, 11, 1), d(2026, 11, 1));
        assert_eq!(b - a, 25 * 3_600_000);
        // Where a change skips midnight (Santiago, September 2026), the day starts at 01:00.
        let scl = Zone::parse("America/Santiago").unwrap();
        assert_eq!(
            scl.day_start_ms(d(2026, 9, 6)),
            at("2026-09-06T01:00:00-03:00")
        );
    }

    #[test]
    fn unknown_names_are_refused_naming_the_field() {
        assert_eq!(
            Zone::parse(" America/Chicago ").unwrap().name(),
            "America/Chicago"
        );
        let e = Zone::parse("Eastern").unwrap_err();
        assert_eq!(
            (e.field.as_str(), e.code),
            ("time_zone", "unknown_time_zone")
        );
        assert!(Zone::parse("").is_err());
        for z in US_ZONES {
            Zone::parse(z).unwrap();
        }
        assert_eq!(Zone::default().name(), Zone::DEFAULT_NAME);
    }

    #[test]
    fn an_empty_zone_says_to_choose_one_and_case_does_not_matter() {
        let e = Zone::parse("  ").unwrap_err();
        assert_eq!(e.code, "missing_time_zone");
        assert_eq!(e.message, "Choose a time zone, like America/Chicago");
        assert_eq!(
            Zone::parse("america/chicago").unwrap().name(),
            "America/Chicago"
        );
        assert_eq!(
            Zone::parse("PACIFIC/PAGO_PAGO").unwrap().name(),
            "Pacific/Pago_Pago"
        );
        assert!(Zone::parse("america/nowhere").is_err());
    }
}
