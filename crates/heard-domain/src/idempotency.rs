//! The one rule for every keyed write: a client-made idempotency key names one request, and a retry is recognised by
//! what it means, not only by its key.
//!
//! A write stores, beside its key, a fingerprint of the *normalised* request: the canonical JSON (`canonical_json`)
//! of every client-supplied field that changes the write's meaning (for a response: survey, version, answers as
//! parsed, language, channel, touchpoint, page path), hashed with a server key so the stored value reveals nothing
//! of the answers. Then, for a key already stored:
//!
//! - the same fingerprint is a retry: answer with what the first request got and store nothing (`Replay::Same`);
//! - a different fingerprint is a different request reusing the key: refuse it with 409 `idempotency_key_reused`
//!   and store nothing (`Replay::Reused`), so no answers are ever silently dropped.
//!
//! Responses follow it (API, widget, hosted page), and so do signals and events, keyed by each item's
//! `external_id` (`heard_store::intake`). Bulk imports and SMS message ids must follow it too when they are built:
//! parse the key with `IdempotencyKey::parse` (or take the provider's message id), fingerprint the normalised
//! request, store both under a unique key, and decide with `Replay::of`.

use serde_json::Value;
use std::fmt::Write as _;

use crate::FieldError;

/// The stable error code of a key reused for a different request (HTTP 409).
pub const KEY_REUSED: &str = "idempotency_key_reused";

/// A client-made idempotency key: 8 to 100 letters, digits, `-` and `_` (a UUID is a good choice).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    /// Parses a key; the error names `field` (e.g. `idempotency_key`) and says how to make a valid one.
    pub fn parse(field: &str, s: &str) -> Result<IdempotencyKey, FieldError> {
        if (8..=100).contains(&s.len())
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            Ok(IdempotencyKey(s.to_string()))
        } else {
            Err(FieldError::new(
                field,
                "invalid_idempotency_key",
                format!(
                    "{field} must be 8 to 100 letters, digits, '-' or '_': make one per request (a UUID is a good choice)"
                ),
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

/// A keyed hash of a normalised request, as lower-case hex. Compare fingerprints, never requests.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RequestFingerprint(String);

impl RequestFingerprint {
    /// Wraps a digest computed by the caller (the server keys it with its secret) over `canonical_json` of the
    /// normalised request.
    pub fn from_hex(hex: impl Into<String>) -> RequestFingerprint {
        RequestFingerprint(hex.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What a request whose key is already stored is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Replay {
    /// The same request again (a retry): answer as the first time, store nothing.
    Same,
    /// The key was used for a different request: refuse with 409 `idempotency_key_reused`, store nothing.
    Reused,
}

impl Replay {
    /// Compares the stored fingerprint with the new one. A row stored before fingerprints existed has none; it is
    /// taken as the same request, as it was then.
    pub fn of(stored: Option<&str>, new: &RequestFingerprint) -> Replay {
        match stored {
            Some(s) if s != new.as_str() => Replay::Reused,
            _ => Replay::Same,
        }
    }
}

/// JSON with object keys sorted (by their UTF-8 bytes) and no whitespace, so that two requests that mean the same
/// give the same text whatever their key order or spacing. Numbers print as serde_json prints them (`1` and `1.0`
/// differ: normalise values, e.g. by parsing answers, before this).
pub fn canonical_json(v: &Value) -> String {
    let mut out = String::new();
    write_canonical(v, &mut out);
    out
}

fn write_canonical(v: &Value, out: &mut String) {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                // A string serialises infallibly.
                let _ = write!(out, "{}", Value::String(k.clone()));
                out.push(':');
                write_canonical(&m[k], out);
            }
            out.push('}');
        }
        Value::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(x, out);
            }
            out.push(']');
        }
        other => {
            let _ = write!(out, "{other}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn canonical_json_ignores_key_order_and_spacing() {
        let a: Value =
            serde_json::from_str(r#"{ "b": [1, {"y": 2, "x": "é"}], "a": null }"#).unwrap();
        let b: Value = serde_json::from_str(r#"{"a":null,"b":[1,{"x":"é","y":2}]}"#).unwrap();
        assert_eq!(canonical_json(&a), canonical_json(&b));
        assert_eq!(canonical_json(&a), r#"{"a":null,"b":[1,{"x":"é","y":2}]}"#);
        assert_ne!(
            canonical_json(&json!({"a": [1, 2]})),
            canonical_json(&json!({"a": [2, 1]}))
        );
    }

    #[test]
    fn a_stored_key_is_a_retry_only_with_the_same_fingerprint() {
        let f = RequestFingerprint::from_hex("ab12");
        assert_eq!(Replay::of(Some("ab12"), &f), Replay::Same);
        assert_eq!(Replay::of(Some("ff00"), &f), Replay::Reused);
        assert_eq!(Replay::of(None, &f), Replay::Same);
    }

    #[test]
    fn keys_are_checked() {
        assert!(IdempotencyKey::parse("idempotency_key", "0192f0c4-7a1e-7b3c").is_ok());
        let e = IdempotencyKey::parse("idempotency_key", "short").unwrap_err();
        assert_eq!(
            (e.field.as_str(), e.code),
            ("idempotency_key", "invalid_idempotency_key")
        );
        assert!(IdempotencyKey::parse("k", "has space in it").is_err());
    }
}
