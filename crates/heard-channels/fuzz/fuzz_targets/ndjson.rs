//! Fuzz target: the NDJSON reader never panics on any bytes; it yields one record or one error per non-blank line,
//! numbered in order, and each item goes through the domain's event and signal parsers without a panic.
#![no_main]

use heard_channels::import::{Format, Kind, Plan, records};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(recs) = records(data, Format::Ndjson, Plan::identity(Kind::Event)) else { return };
    let catalogue = heard_domain::event::default_catalogue();
    let now = 1_800_000_000_000;
    let lines = data.iter().filter(|&&b| b == b'\n').count() as u64 + 1;
    let mut last = 0;
    for r in recs.take(10_000) {
        let line = match r {
            Ok(rec) => {
                let _ = heard_domain::event::parse_event(&rec.item, "", &catalogue, now);
                let _ = heard_domain::signal::parse_signal(&rec.item, "", now);
                rec.line
            }
            Err(errs) => errs[0].line,
        };
        assert!(line > last && line <= lines, "line {line} after {last} of {lines}");
        last = line;
    }
});
