//! Fuzz target: the analyser never panics on arbitrary UTF-8, its spans are ordered, disjoint
//! and inside the text, and the redacted output never contains the original text of a span it
//! reported (unless that text also occurs outside every reported span).
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

static ANALYZER: OnceLock<heard_text::Analyzer> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let analyzer = ANALYZER.get_or_init(heard_text::Analyzer::new);
    let a = analyzer.analyze(text, None);
    let chars: Vec<char> = text.chars().collect();
    let mut last = 0;
    for s in &a.pii {
        assert!(s.start >= last && s.start < s.end && s.end <= chars.len(), "bad span {s:?}");
        last = s.end;
    }
    // The text left outside the spans, joined by a separator no span text contains.
    let mut outside = String::new();
    let mut pos = 0;
    for s in &a.pii {
        outside.extend(&chars[pos..s.start]);
        outside.push('\u{0}');
        pos = s.end;
    }
    outside.extend(&chars[pos..]);
    for s in &a.pii {
        let original: String = chars[s.start..s.end].iter().collect();
        // A span text that also appears verbatim in the unredacted remainder (or in a
        // placeholder such as "<URL>") is not a leak of that span.
        if a.redacted.contains(&original) && !outside.contains(&original) && !a.redacted.contains(&format!("<{original}>")) && !is_in_placeholders(&a.redacted, &original) {
            panic!("redacted text still holds {original:?}: {:?}", a.redacted);
        }
    }
    assert!(-1.0 <= a.sentiment.score && a.sentiment.score <= 1.0);
});

/// True when `needle` occurs in `hay` only inside placeholders like "<US_SSN>".
fn is_in_placeholders(hay: &str, needle: &str) -> bool {
    let mut stripped = String::with_capacity(hay.len());
    let mut rest = hay;
    while let Some(i) = rest.find('<') {
        stripped.push_str(&rest[..i]);
        match rest[i..].find('>') {
            Some(j) if rest[i + 1..i + j].chars().all(|c| c.is_ascii_uppercase() || c == '_') => {
                stripped.push('\u{0}');
                rest = &rest[i + j + 1..];
            }
            _ => {
                stripped.push('<');
                rest = &rest[i + 1..];
            }
        }
    }
    stripped.push_str(rest);
    !stripped.contains(needle)
}
