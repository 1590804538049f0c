//! Fuzz target: a CloudEvent (structured JSON, or a batch array) mapped as the ingestion API maps it (`id` → external
//! id, `type` after its last dot, `time` → occurred_at, `data` → the rest) and parsed by the domain's event parser
//! (`heard_domain::event::parse_event`, the function `heard_server::ingest` calls) never panics, and every error it
//! reports names a field.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Value};

fuzz_target!(|data: &[u8]| {
    let Ok(v) = serde_json::from_slice::<Value>(data) else { return };
    let events = match v {
        Value::Array(a) => a,
        v => vec![v],
    };
    let catalogue = heard_domain::event::default_catalogue();
    for (i, ev) in events.into_iter().take(1000).enumerate() {
        let Value::Object(mut m) = ev else { continue };
        let mut item = match m.remove("data") {
            Some(Value::Object(d)) => d,
            _ => Map::new(),
        };
        if let Some(id) = m.remove("id") {
            item.insert("external_id".into(), id);
        }
        if let Some(Value::String(t)) = m.remove("type") {
            let t = t.rsplit('.').next().unwrap_or(&t).to_string();
            item.insert("type".into(), Value::String(t));
        }
        if let Some(t) = m.remove("time") {
            item.insert("occurred_at".into(), t);
        }
        let prefix = format!("[{i}]");
        if let Err(errs) = heard_domain::event::parse_event(&item, &prefix, &catalogue, 1_800_000_000_000) {
            for e in errs.0 {
                assert!(e.field.starts_with(&prefix) && !e.message.is_empty(), "{e:?}");
            }
        }
    }
});
