//! One person across channels: the identifiers a channel may know a person by, normalised so the same person gives
//! the same text whatever the channel wrote, and the keyed hashes analytics keeps instead of them.
//!
//! A person is named by an email (trimmed, lower-cased), a phone number (E.164; ten digits, or eleven starting with
//! 1, are taken as US numbers) or the agency's own customer id (as given, trimmed). A case or application number is
//! a reference (as given, trimmed). The server hashes the normalised text with a key derived per organization
//! (`heard_server::crypto::Sealer::person_key`), so the same person links up within an organization and nowhere
//! else, and the raw identifier is never stored, exported or logged. Every channel that learns who someone is
//! (responses' contact answers, signals, events, and SMS and imports when they come) goes through `PersonId::parse`.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::FieldError;

/// A normalised person identifier, `email:…`, `phone:+…` or `customer:…`. Never stored: hash it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PersonId(String);

impl PersonId {
    /// An email, trimmed and lower-cased (all of it: people and systems write the same mailbox in different cases),
    /// checked by the same rule as a survey's email answers (`survey::parse_email`). `field` names the input.
    pub fn email(field: &str, s: &str) -> Result<PersonId, FieldError> {
        crate::survey::parse_email(s)
            .map(|e| PersonId(format!("email:{}", e.to_lowercase())))
            .map_err(|(code, msg)| FieldError::new(field, code, format!("{field}: {msg}")))
    }

    /// A phone number in E.164 by the same rule as a survey's phone answers (`survey::parse_phone`): spaces, dots,
    /// dashes and brackets are ignored; a number without `+` is a US number (ten digits, or eleven starting with 1).
    pub fn phone(field: &str, s: &str) -> Result<PersonId, FieldError> {
        crate::survey::parse_phone(s)
            .map(|p| PersonId(format!("phone:{p}")))
            .map_err(|(code, msg)| FieldError::new(field, code, format!("{field}: {msg}")))
    }

    /// The agency's own customer id, as given (trimmed): 1 to 100 characters.
    pub fn customer(field: &str, s: &str) -> Result<PersonId, FieldError> {
        let c = s.trim();
        if (1..=100).contains(&c.chars().count()) {
            Ok(PersonId(format!("customer:{c}")))
        } else {
            Err(FieldError::new(
                field,
                "invalid_customer_id",
                format!("{field} must be 1 to 100 characters"),
            ))
        }
    }

    /// Reads `{"email": …}`, `{"phone": …}` or `{"customer_id": …}` (exactly one) at `field`.
    pub fn parse(field: &str, v: &Value) -> Result<PersonId, FieldError> {
        let Some(m) = v.as_object().filter(|m| m.len() == 1) else {
            return Err(FieldError::new(
                field,
                "invalid_person",
                format!(
                    "{field} must be an object with exactly one of email, phone or customer_id, e.g. {{\"email\": \"ana@example.gov\"}}"
                ),
            ));
        };
        let (k, v) = m.iter().next().expect("one entry");
        let sub = format!("{field}.{k}");
        let Some(s) = v.as_str() else {
            return Err(FieldError::new(
                &sub,
                "not_text",
                format!("{sub} must be a string"),
            ));
        };
        match k.as_str() {
            "email" => PersonId::email(&sub, s),
            "phone" => PersonId::phone(&sub, s),
            "customer_id" => PersonId::customer(&sub, s),
            _ => Err(FieldError::new(
                &sub,
                "unknown_field",
                format!("{field} takes one of email, phone or customer_id"),
            )),
        }
    }

    /// The normalised text, to be hashed.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A normalised case or application number (`reference:…`). Never stored: hash it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ReferenceId(String);

impl ReferenceId {
    /// 1 to 100 characters, trimmed.
    pub fn parse(field: &str, s: &str) -> Result<ReferenceId, FieldError> {
        let r = s.trim();
        if (1..=100).contains(&r.chars().count()) {
            Ok(ReferenceId(format!("reference:{r}")))
        } else {
            Err(FieldError::new(
                field,
                "invalid_reference",
                format!("{field} must be a case or application number of 1 to 100 characters"),
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The keyed hash of a `PersonId` within one organization (hex). What analytics tables keep.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PersonKey(pub String);

/// The keyed hash of a `ReferenceId` within one organization (hex).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ReferenceKey(pub String);

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn one_person_normalises_to_one_text() {
        assert_eq!(
            PersonId::email("e", "  Ana.Lopez@Example.GOV ").unwrap(),
            PersonId::email("e", "ana.lopez@example.gov").unwrap()
        );
        let a = PersonId::phone("p", "(202) 555-0123").unwrap();
        assert_eq!(a.as_str(), "phone:+12025550123");
        assert_eq!(a, PersonId::phone("p", "+1 202.555.0123").unwrap());
        assert_eq!(a, PersonId::phone("p", "1-202-555-0123").unwrap());
        assert_eq!(
            PersonId::phone("p", "+44 20 7946 0958").unwrap().as_str(),
            "phone:+442079460958"
        );
        assert_eq!(
            PersonId::parse("person", &json!({"customer_id": " C-42 "}))
                .unwrap()
                .as_str(),
            "customer:C-42"
        );
    }

    #[test]
    fn bad_identifiers_name_the_field() {
        assert_eq!(
            PersonId::phone("p", "555-0123").unwrap_err().code,
            "invalid_phone"
        );
        assert_eq!(
            PersonId::email("e", "ana@").unwrap_err().code,
            "invalid_email"
        );
        let e =
            PersonId::parse("items[3].person", &json!({"email": "x", "phone": "y"})).unwrap_err();
        assert_eq!(e.field, "items[3].person");
        let e = PersonId::parse("person", &json!({"ssn": "1"})).unwrap_err();
        assert_eq!((e.field.as_str(), e.code), ("person.ssn", "unknown_field"));
    }
}
