//! Fuzz target: the CSV reader never panics, on any bytes, under a mapping or none; every record it yields is an
//! item or errors that each name a line at or after the header's, and lines never go backwards; every item then goes
//! through the domain's event and signal parsers without a panic.
#![no_main]

use heard_channels::import::{Format, Kind, Mapping, Plan, records};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The first byte picks the kind and whether a mapping with a time format renames the columns.
    let Some((&pick, body)) = data.split_first() else { return };
    let kind = [Kind::Event, Kind::Signal, Kind::Response][pick as usize % 3];
    let plan = if pick & 0x80 != 0 {
        let m: Mapping = serde_json::from_str(
            r#"{"columns": {"id": "external_id", "t": "type", "when": "occurred_at", "w": "measures.wait", "s": "source", "x": "text"},
                "constants": {"type": "call"}, "time": {"format": "%m/%d/%Y %H:%M", "zone": "America/Chicago"}}"#,
        )
        .expect("a valid mapping");
        match Plan::new(kind, &m) {
            Ok(p) => p,
            Err(_) => Plan::identity(kind),
        }
    } else {
        Plan::identity(kind)
    };
    let Ok(recs) = records(body, Format::Csv, plan) else { return };
    let catalogue = heard_domain::event::default_catalogue();
    let now = 1_800_000_000_000;
    let mut last = 1;
    for r in recs.take(10_000) {
        match r {
            Ok(rec) => {
                assert!(rec.line >= last, "lines go forward");
                last = rec.line;
                let _ = heard_domain::event::parse_event(&rec.item, "", &catalogue, now);
                let _ = heard_domain::signal::parse_signal(&rec.item, "", now);
            }
            Err(errs) => {
                assert!(!errs.is_empty());
                for e in errs {
                    assert!(e.line >= 1 && !e.field.is_empty() && !e.message.is_empty());
                }
            }
        }
    }
});
