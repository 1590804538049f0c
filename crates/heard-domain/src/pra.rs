//! The Paperwork Reduction Act block every public federal survey shows: OMB control number, expiration date and a
//! burden statement. Past its expiration date a survey stops accepting responses.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::{FieldError, FieldErrors, LocalizedText};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pra {
    /// `1234-5678`.
    pub omb_control_number: String,
    pub expiration_date: NaiveDate,
    pub burden_statement: LocalizedText,
}

impl Pra {
    pub fn parse(
        omb: &str,
        expiration: &str,
        burden_en: &str,
        burden_es: &str,
    ) -> Result<Pra, FieldErrors> {
        let mut errs = FieldErrors::default();
        let omb = omb.trim();
        let b = omb.as_bytes();
        if !(b.len() == 9
            && b[4] == b'-'
            && b.iter()
                .enumerate()
                .all(|(i, c)| i == 4 || c.is_ascii_digit()))
        {
            errs.push(FieldError::new(
                "omb_control_number",
                "invalid_format",
                "the OMB control number looks like 1234-5678",
            ));
        }
        let date = NaiveDate::parse_from_str(expiration.trim(), "%Y-%m-%d");
        if date.is_err() {
            errs.push(FieldError::new(
                "expiration_date",
                "invalid_date",
                "the expiration date must be a date (YYYY-MM-DD)",
            ));
        }
        if burden_en.trim().is_empty() {
            errs.push(FieldError::new(
                "burden_statement_en",
                "required",
                "the burden statement is required",
            ));
        }
        if !errs.is_empty() {
            return Err(errs);
        }
        Ok(Pra {
            omb_control_number: omb.to_string(),
            expiration_date: date.expect("checked above"),
            burden_statement: LocalizedText::new(burden_en.trim(), burden_es.trim()),
        })
    }

    /// A survey may be answered through the whole expiration day.
    pub fn is_expired(&self, today: NaiveDate) -> bool {
        today > self.expiration_date
    }

    /// "12/31/2027", as A-11 shows it.
    pub fn expiration_us(&self) -> String {
        self.expiration_date.format("%m/%d/%Y").to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pra_is_checked_and_expires_after_its_day() {
        let p = Pra::parse("1234-5678", "2027-12-31", "It takes 2 minutes.", "").unwrap();
        assert!(!p.is_expired(NaiveDate::from_ymd_opt(2027, 12, 31).unwrap()));
        assert!(p.is_expired(NaiveDate::from_ymd_opt(2028, 1, 1).unwrap()));
        assert_eq!(p.expiration_us(), "12/31/2027");
        let e = Pra::parse("12345678", "31/12/2027", "", "").unwrap_err();
        let f: Vec<&str> = e.0.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            f,
            [
                "omb_control_number",
                "expiration_date",
                "burden_statement_en"
            ]
        );
    }
}
