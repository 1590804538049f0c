//! What every item sent to the ingestion API has in common (signals and events), parsed at the edge.
//!
//! A batch item is parsed into domain values with every problem named by its path (`items[3].occurred_at`), so a
//! client can put each item right; nothing of an item is written unless all of it parsed. The rules that recur in
//! every ingestion path (imports and SMS when they come) live here: the external id (the item's idempotency key,
//! `heard_domain::idempotency`), the time rule (`MAX_FUTURE_MS`), the bounds of attribute maps.

use chrono::DateTime;
use serde_json::{Map, Value};

use crate::identity::{PersonId, ReferenceId};
use crate::{FieldError, FieldErrors, ServiceId, TouchpointId};

/// The most items one batch may carry; a larger batch is refused whole (413).
pub const MAX_BATCH: usize = 1000;

/// How far ahead of the server's clock a timestamp may be (clock skew): 15 minutes. Later is refused.
pub const MAX_FUTURE_MS: i64 = 15 * 60 * 1000;

/// The fields every item may carry, parsed.
#[derive(Debug, Clone, PartialEq)]
pub struct Common {
    /// The sender's id for the item: its idempotency key (1 to 200 printable characters).
    pub external_id: String,
    /// Milliseconds since the Unix epoch; the receipt time when not given.
    pub occurred_at: i64,
    pub service_id: Option<ServiceId>,
    pub touchpoint_id: Option<TouchpointId>,
    pub person: Option<PersonId>,
    pub reference: Option<ReferenceId>,
}

/// A field's name under an item prefix: `items[3]` + `text` → `items[3].text`.
pub fn at(prefix: &str, field: &str) -> String {
    if prefix.is_empty() {
        field.to_string()
    } else {
        format!("{prefix}.{field}")
    }
}

/// Reads an optional string field; a value of another type is an error.
pub fn opt_str<'a>(
    m: &'a Map<String, Value>,
    prefix: &str,
    k: &str,
    errs: &mut FieldErrors,
) -> Option<&'a str> {
    match m.get(k) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s),
        Some(_) => {
            let f = at(prefix, k);
            errs.push(FieldError::new(
                &f,
                "not_text",
                format!("{f} must be a string"),
            ));
            None
        }
    }
}

/// Refuses every key not in `allowed`, naming it.
pub fn only_fields(
    m: &Map<String, Value>,
    prefix: &str,
    allowed: &[&str],
    what: &str,
    errs: &mut FieldErrors,
) {
    for k in m.keys().filter(|k| !allowed.contains(&k.as_str())) {
        let f = at(prefix, &k.chars().take(40).collect::<String>());
        errs.push(FieldError::new(
            &f,
            "unknown_field",
            format!(
                "{f} is not a field of {what}: remove it (the fields are {})",
                allowed.join(", ")
            ),
        ));
    }
}

/// An RFC 3339 time (`2026-11-30T09:15:00Z`) at `field`, as milliseconds; refused when more than `MAX_FUTURE_MS`
/// after `now_ms`.
pub fn parse_time(field: &str, s: &str, now_ms: i64) -> Result<i64, FieldError> {
    let t = DateTime::parse_from_rfc3339(s.trim()).map_err(|_| {
        FieldError::new(
            field,
            "invalid_time",
            format!("{field} must be an RFC 3339 time with its offset, e.g. 2026-11-30T09:15:00Z"),
        )
    })?;
    let ms = t.timestamp_millis();
    if ms > now_ms + MAX_FUTURE_MS {
        return Err(FieldError::new(
            field,
            "in_the_future",
            format!(
                "{field} is in the future: send the time the thing happened (at most 15 minutes ahead of UTC)"
            ),
        ));
    }
    if ms < 946_684_800_000 {
        return Err(FieldError::new(
            field,
            "too_old",
            format!("{field} is before the year 2000: check the time"),
        ));
    }
    Ok(ms)
}

/// Parses the common fields; `allowed_ids` are read as given (the server checks they are the organization's).
pub fn parse_common(
    m: &Map<String, Value>,
    prefix: &str,
    now_ms: i64,
    errs: &mut FieldErrors,
) -> Common {
    let external_id = match m.get("external_id") {
        Some(Value::String(s)) if (1..=200).contains(&s.chars().count()) && s.trim() == s => {
            s.clone()
        }
        Some(Value::String(_))
        | Some(Value::Number(_))
        | Some(Value::Bool(_))
        | Some(Value::Array(_))
        | Some(Value::Object(_)) => {
            let f = at(prefix, "external_id");
            errs.push(FieldError::new(
                &f,
                "invalid_external_id",
                format!("{f} must be a string of 1 to 200 characters without leading or trailing spaces: your system's id for the item"),
            ));
            String::new()
        }
        _ => {
            let f = at(prefix, "external_id");
            errs.push(FieldError::new(
                &f,
                "required",
                format!("{f} is required: your system's id for the item, so a retry is recognised"),
            ));
            String::new()
        }
    };
    let occurred_at = opt_str(m, prefix, "occurred_at", errs)
        .map(|s| parse_time(&at(prefix, "occurred_at"), s, now_ms))
        .transpose()
        .map_err(|e| errs.push(e))
        .ok()
        .flatten()
        .unwrap_or(now_ms);
    let id_of = |k: &str, errs: &mut FieldErrors| -> Option<uuid::Uuid> {
        let s = opt_str(m, prefix, k, errs)?;
        uuid::Uuid::parse_str(s)
            .map_err(|_| {
                let f = at(prefix, k);
                errs.push(FieldError::new(
                    &f,
                    "invalid_id",
                    format!("{f} must be an id (a UUID)"),
                ))
            })
            .ok()
    };
    let service_id = id_of("service_id", errs).map(ServiceId::from_uuid);
    let touchpoint_id = id_of("touchpoint_id", errs).map(TouchpointId::from_uuid);
    let person = match m.get("person") {
        None | Some(Value::Null) => None,
        Some(v) => PersonId::parse(&at(prefix, "person"), v)
            .map_err(|e| errs.push(e))
            .ok(),
    };
    let reference = opt_str(m, prefix, "reference", errs)
        .map(|s| ReferenceId::parse(&at(prefix, "reference"), s))
        .transpose()
        .map_err(|e| errs.push(e))
        .ok()
        .flatten();
    Common {
        external_id,
        occurred_at,
        service_id,
        touchpoint_id,
        person,
        reference,
    }
}

/// An attribute map: at most 50 keys of 1 to 64 characters, each value a string (at most 1,000 characters), a
/// number, a boolean or null.
pub fn parse_attributes(
    v: Option<&Value>,
    prefix: &str,
    errs: &mut FieldErrors,
) -> Map<String, Value> {
    let f = at(prefix, "attributes");
    match v {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(m)) if m.len() <= 50 => {
            let mut out = Map::new();
            for (k, v) in m {
                // Named only when something is wrong: this runs for every imported item.
                let fk = || format!("{f}.{}", k.chars().take(64).collect::<String>());
                if !(1..=64).contains(&k.chars().count()) {
                    errs.push(FieldError::new(
                        fk(),
                        "invalid_name",
                        format!("{f} names must be 1 to 64 characters"),
                    ));
                    continue;
                }
                match v {
                    Value::String(s) if s.chars().count() > 1000 => errs.push(FieldError::new(
                        fk(),
                        "too_long",
                        format!("{} must be at most 1,000 characters", fk()),
                    )),
                    Value::String(_) | Value::Number(_) | Value::Bool(_) | Value::Null => {
                        out.insert(k.clone(), v.clone());
                    }
                    _ => errs.push(FieldError::new(
                        fk(),
                        "invalid_attribute",
                        format!("{} must be a string, number, boolean or null", fk()),
                    )),
                }
            }
            out
        }
        Some(_) => {
            errs.push(FieldError::new(
                &f,
                "invalid_attributes",
                format!("{f} must be an object of at most 50 names, each a string, number, boolean or null"),
            ));
            Map::new()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_far_ahead_are_refused() {
        let now = 1_800_000_000_000;
        assert!(parse_time("t", "2027-01-15T08:00:00Z", now).is_ok());
        let e = parse_time("items[2].occurred_at", "2030-01-01T00:00:00Z", now).unwrap_err();
        assert_eq!(
            (e.field.as_str(), e.code),
            ("items[2].occurred_at", "in_the_future")
        );
        assert_eq!(
            parse_time("t", "yesterday", now).unwrap_err().code,
            "invalid_time"
        );
    }
}
