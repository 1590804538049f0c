//! Operational events: facts about a service (an application submitted, a call answered after a wait, a backlog
//! counted), each of a declared type with declared measures.
//!
//! Event types are data, not code: the default catalogue is `data/event_types.json`, and an organization declares
//! its own in the store's `event_types` table. An event whose type or measure is not declared is refused, so a
//! typo never becomes a new, silently empty series. Measures are seconds or counts (non-negative; counts whole).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::intake::{self, Common, at};
use crate::{FieldError, FieldErrors};

/// What a measure counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Unit {
    /// A duration in seconds (a wait, a handle time).
    Seconds,
    /// A whole number of things (transfers, open items).
    Count,
}

/// One measure an event type declares.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MeasureDef {
    pub name: String,
    pub unit: Unit,
}

/// A declared event type: its name (`call`), a label for people, its measures and the attributes it usually carries
/// (attributes are not restricted to these; the list documents them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventType {
    pub name: String,
    pub label: String,
    #[serde(default)]
    pub measures: Vec<MeasureDef>,
    #[serde(default)]
    pub attributes: Vec<String>,
}

impl EventType {
    pub fn measure(&self, name: &str) -> Option<&MeasureDef> {
        self.measures.iter().find(|m| m.name == name)
    }

    /// Checks a declaration (from an organization): names are `^[a-z][a-z0-9_]{0,63}$`, measures unique.
    pub fn check(&self) -> Result<(), FieldErrors> {
        let mut errs = FieldErrors::default();
        if !is_name(&self.name) {
            errs.push(FieldError::new(
                "name",
                "invalid_name",
                "name must be 1 to 64 lower-case letters, digits or '_', starting with a letter",
            ));
        }
        if !(1..=200).contains(&self.label.chars().count()) {
            errs.push(FieldError::new(
                "label",
                "invalid_label",
                "label must be 1 to 200 characters",
            ));
        }
        for (i, m) in self.measures.iter().enumerate() {
            if !is_name(&m.name) || self.measures[..i].iter().any(|x| x.name == m.name) {
                errs.push(FieldError::new(
                    format!("measures[{i}].name"),
                    "invalid_name",
                    "measure names are unique, 1 to 64 lower-case letters, digits or '_', starting with a letter",
                ));
            }
        }
        errs.into_result(())
    }
}

/// Whether `s` is a valid event type or measure name.
pub fn is_name(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.starts_with(|c: char| c.is_ascii_lowercase())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// The default catalogue every organization starts with (`data/event_types.json`).
pub fn default_catalogue() -> Vec<EventType> {
    serde_json::from_str(include_str!("../data/event_types.json"))
        .expect("the embedded event type catalogue is valid")
}

/// An event as parsed from the edge, before person and reference are hashed and attributes redacted.
#[derive(Debug, Clone, PartialEq)]
pub struct EventInput {
    pub common: Common,
    pub event_type: String,
    /// Measure name to value (seconds or a count).
    pub measures: BTreeMap<String, f64>,
    pub attributes: Map<String, Value>,
}

/// Parses one event item (`{"external_id", "type", "occurred_at", "service_id", "touchpoint_id", "person",
/// "reference", "measures", "attributes"}`) against the organization's `catalogue`. Errors are named under `prefix`.
pub fn parse_event(
    m: &Map<String, Value>,
    prefix: &str,
    catalogue: &[EventType],
    now_ms: i64,
) -> Result<EventInput, FieldErrors> {
    let mut errs = FieldErrors::default();
    intake::only_fields(
        m,
        prefix,
        &[
            "external_id",
            "type",
            "occurred_at",
            "service_id",
            "touchpoint_id",
            "person",
            "reference",
            "measures",
            "attributes",
        ],
        "an event",
        &mut errs,
    );
    let common = intake::parse_common(m, prefix, now_ms, &mut errs);
    let ty = match intake::opt_str(m, prefix, "type", &mut errs) {
        Some(t) => match catalogue.iter().find(|e| e.name == t) {
            Some(e) => Some(e),
            None => {
                let f = at(prefix, "type");
                errs.push(FieldError::new(
                    &f,
                    "unknown_event_type",
                    format!(
                        "'{}' is not a declared event type: use one listed at GET /api/v1/event-types, or declare it first",
                        t.chars().take(64).collect::<String>()
                    ),
                ));
                None
            }
        },
        None => {
            if !m.contains_key("type") {
                let f = at(prefix, "type");
                errs.push(FieldError::new(
                    &f,
                    "required",
                    format!("{f} is required: the event's type, e.g. call"),
                ));
            }
            None
        }
    };
    let measures = parse_measures(m.get("measures"), prefix, ty, &mut errs);
    let attributes = intake::parse_attributes(m.get("attributes"), prefix, &mut errs);
    errs.into_result(EventInput {
        common,
        event_type: ty.map(|t| t.name.clone()).unwrap_or_default(),
        measures,
        attributes,
    })
}

fn parse_measures(
    v: Option<&Value>,
    prefix: &str,
    ty: Option<&EventType>,
    errs: &mut FieldErrors,
) -> BTreeMap<String, f64> {
    let f = at(prefix, "measures");
    let mut out = BTreeMap::new();
    let m = match v {
        None | Some(Value::Null) => return out,
        Some(Value::Object(m)) => m,
        Some(_) => {
            errs.push(FieldError::new(
                &f,
                "not_an_object",
                format!("{f} must be an object of measure name to number"),
            ));
            return out;
        }
    };
    for (k, v) in m {
        // Named only when something is wrong: this runs for every imported event.
        let fk = || format!("{f}.{}", k.chars().take(64).collect::<String>());
        let Some(ty) = ty else { continue };
        let Some(def) = ty.measure(k) else {
            let declared: Vec<&str> = ty.measures.iter().map(|m| m.name.as_str()).collect();
            let fk = fk();
            errs.push(FieldError::new(
                &fk,
                "undeclared_measure",
                format!(
                    "{fk} is not a measure of {}: its measures are {}",
                    ty.name,
                    if declared.is_empty() {
                        "none".to_string()
                    } else {
                        declared.join(", ")
                    }
                ),
            ));
            continue;
        };
        match v.as_f64() {
            Some(n)
                if n.is_finite()
                    && n >= 0.0
                    && (def.unit == Unit::Seconds || n.fract() == 0.0)
                    && n < 1e12 =>
            {
                out.insert(k.clone(), n);
            }
            _ => errs.push(FieldError::new(
                fk(),
                "invalid_measure",
                match def.unit {
                    Unit::Seconds => format!("{} must be a number of seconds, 0 or more", fk()),
                    Unit::Count => format!("{} must be a whole number, 0 or more", fk()),
                },
            )),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const NOW: i64 = 1_800_000_000_000;

    fn parse(v: Value) -> Result<EventInput, FieldErrors> {
        parse_event(
            v.as_object().unwrap(),
            "items[0]",
            &default_catalogue(),
            NOW,
        )
    }

    #[test]
    fn the_default_catalogue_is_valid() {
        let c = default_catalogue();
        assert!(c.len() >= 12);
        for t in &c {
            t.check().unwrap();
        }
        assert_eq!(
            c.iter()
                .find(|t| t.name == "call")
                .unwrap()
                .measure("transfers")
                .unwrap()
                .unit,
            Unit::Count
        );
    }

    #[test]
    fn a_call_parses_with_its_measures() {
        let e = parse(json!({"external_id": "c1", "type": "call", "measures": {"wait": 93.5, "transfers": 2},
            "attributes": {"queue": "claims", "abandoned": false}, "person": {"phone": "202-555-0123"}}))
        .unwrap();
        assert_eq!(e.measures["wait"], 93.5);
        assert_eq!(e.common.person.unwrap().as_str(), "phone:+12025550123");
    }

    #[test]
    fn undeclared_types_and_measures_are_refused_by_name() {
        let e = parse(json!({"external_id": "c1", "type": "cal"})).unwrap_err();
        assert_eq!(
            (e.0[0].field.as_str(), e.0[0].code),
            ("items[0].type", "unknown_event_type")
        );
        let e = parse(
            json!({"external_id": "c1", "type": "call", "measures": {"mood": 3, "transfers": 1.5}}),
        )
        .unwrap_err();
        let got: Vec<_> = e.0.iter().map(|e| (e.field.as_str(), e.code)).collect();
        assert_eq!(
            got,
            [
                ("items[0].measures.mood", "undeclared_measure"),
                ("items[0].measures.transfers", "invalid_measure")
            ]
        );
    }
}

/// An event as the store keeps it: person and reference hashed, attribute strings redacted.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    pub id: crate::EventId,
    pub org_id: crate::OrgId,
    pub event_type: String,
    /// `api`, or the CloudEvents `source` it came with.
    pub source: String,
    /// Milliseconds since the Unix epoch.
    pub occurred_at: i64,
    pub received_at: i64,
    pub service_id: Option<crate::ServiceId>,
    pub touchpoint_id: Option<crate::TouchpointId>,
    pub person_key: Option<crate::identity::PersonKey>,
    pub reference_key: Option<crate::identity::ReferenceKey>,
    pub measures: BTreeMap<String, f64>,
    pub attributes: Map<String, Value>,
    pub external_id: String,
    pub request_fingerprint: crate::idempotency::RequestFingerprint,
}
