//! Federal fiscal quarters: the fiscal year starts October 1 (FY2027 Q1 = October to December 2026). Quarters are
//! local calendar days of the organization's time zone: use `containing_ms` and `bounds_ms` with its `Zone` for
//! instants, never the UTC date.

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct FiscalQuarter {
    pub year: i32,
    pub quarter: u8,
}

impl FiscalQuarter {
    pub fn containing(d: NaiveDate) -> FiscalQuarter {
        let (year, quarter) = match d.month() {
            10..=12 => (d.year() + 1, 1),
            1..=3 => (d.year(), 2),
            4..=6 => (d.year(), 3),
            _ => (d.year(), 4),
        };
        FiscalQuarter { year, quarter }
    }

    /// The quarter of the instant `ms` (milliseconds since the epoch) in the organization's zone.
    pub fn containing_ms(ms: i64, zone: &crate::Zone) -> FiscalQuarter {
        FiscalQuarter::containing(zone.date(ms))
    }

    /// The quarter's instants as a half-open range of milliseconds: from local midnight of its first day to local
    /// midnight of the next quarter's first day.
    pub fn bounds_ms(self, zone: &crate::Zone) -> (i64, i64) {
        (
            zone.day_start_ms(self.start()),
            zone.day_start_ms(self.end_exclusive()),
        )
    }

    /// First day of the quarter.
    pub fn start(self) -> NaiveDate {
        let (y, m) = match self.quarter {
            1 => (self.year - 1, 10),
            2 => (self.year, 1),
            3 => (self.year, 4),
            _ => (self.year, 7),
        };
        NaiveDate::from_ymd_opt(y, m, 1).expect("valid quarter start")
    }

    /// First day after the quarter.
    pub fn end_exclusive(self) -> NaiveDate {
        self.next().start()
    }

    pub fn next(self) -> FiscalQuarter {
        if self.quarter == 4 {
            FiscalQuarter {
                year: self.year + 1,
                quarter: 1,
            }
        } else {
            FiscalQuarter {
                year: self.year,
                quarter: self.quarter + 1,
            }
        }
    }

    pub fn previous(self) -> FiscalQuarter {
        if self.quarter == 1 {
            FiscalQuarter {
                year: self.year - 1,
                quarter: 4,
            }
        } else {
            FiscalQuarter {
                year: self.year,
                quarter: self.quarter - 1,
            }
        }
    }

    /// Parses `FY2027-Q1` (case-insensitive).
    pub fn parse(s: &str) -> Result<FiscalQuarter, crate::FieldError> {
        let bad = || {
            crate::FieldError::new(
                "quarter",
                "invalid_quarter",
                "write the fiscal quarter as FY2027-Q1",
            )
        };
        let s = s.trim().to_ascii_uppercase();
        let rest = s.strip_prefix("FY").ok_or_else(bad)?;
        let (y, q) = rest.split_once("-Q").ok_or_else(bad)?;
        let year: i32 = y.parse().map_err(|_| bad())?;
        let quarter: u8 = q.parse().map_err(|_| bad())?;
        if !(1..=4).contains(&quarter) || !(2000..=2100).contains(&year) {
            return Err(bad());
        }
        Ok(FiscalQuarter { year, quarter })
    }
}

impl fmt::Display for FiscalQuarter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FY{}-Q{}", self.year, self.quarter)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quarters_follow_the_federal_fiscal_year() {
        let d = |y, m, dd| NaiveDate::from_ymd_opt(y, m, dd).unwrap();
        let q = FiscalQuarter::containing(d(2026, 11, 23));
        assert_eq!(q.to_string(), "FY2027-Q1");
        assert_eq!(q.start(), d(2026, 10, 1));
        assert_eq!(q.end_exclusive(), d(2027, 1, 1));
        assert_eq!(
            FiscalQuarter::containing(d(2027, 9, 30)).to_string(),
            "FY2027-Q4"
        );
        assert_eq!(
            FiscalQuarter::parse("fy2027-q4").unwrap().end_exclusive(),
            d(2027, 10, 1)
        );
        assert_eq!(q.previous().to_string(), "FY2026-Q4");
        assert!(FiscalQuarter::parse("2027Q1").is_err());
    }

    #[test]
    fn quarters_of_instants_follow_the_organizations_zone() {
        let ny = crate::Zone::default();
        // 22:30 on September 30 in New York is 02:30 UTC on October 1: still FY2026 Q4 there.
        let t = chrono::DateTime::parse_from_rfc3339("2026-10-01T02:30:00Z")
            .unwrap()
            .timestamp_millis();
        assert_eq!(
            FiscalQuarter::containing_ms(t, &ny).to_string(),
            "FY2026-Q4"
        );
        assert_eq!(
            FiscalQuarter::containing_ms(t, &crate::Zone::utc()).to_string(),
            "FY2027-Q1"
        );
        let (from, to) = FiscalQuarter::parse("FY2026-Q4").unwrap().bounds_ms(&ny);
        assert!(from <= t && t < to);
        assert_eq!(ny.iso(to), "2026-10-01T00:00:00-04:00");
        assert_eq!(ny.iso(from), "2026-07-01T00:00:00-04:00");
    }
}
