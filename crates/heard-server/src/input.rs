//! The one rule for text arriving at the edge, and for text shown back to staff.
//!
//! In: control characters other than tab and line feed are refused with a 4xx naming the field, on every input path
//! (path segments and query strings by the `refuse_control_characters` middleware, form bodies by `FormData`, JSON
//! bodies by `clean_json`). A carriage return followed by a line feed, which browsers send for every line break in
//! a textarea, becomes a line feed. The rule exists because the backends disagree: PostgreSQL refuses a NUL in text
//! (a 500 and an error in the log that anyone could repeat) where SQLite stores it, and other control characters
//! break headers, CSV files and terminals downstream. The ingestion API (`ingest`) cleans each batch item
//! with `clean_json` under its own name (`items[3]`), so one bad item is refused alone. Input paths not built yet
//! (imports, SMS) must pass their text through `clean_text` (or `clean_json`) before anything else reads it.
//!
//! Out: bidirectional controls (Unicode's embeddings, overrides, isolates and marks) are removed from every value a
//! page prints and from every CSV cell, by `without_bidi_controls`. They are removed rather than only isolated
//! because an isolate (`<bdi>`) keeps an override from reordering the text around it but not the text inside it: a
//! right-to-left override inside an answer would still show its characters in reverse, so staff would read a
//! different number, address or word than the one written. Genuine right-to-left writing needs no controls (the
//! Unicode bidirectional algorithm orders Arabic or Hebrew letters by itself), and answers are also wrapped in
//! `<bdi>` so such text does not reorder the page around it.

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use heard_domain::{FieldError, FieldErrors};
use serde_json::Value;
use std::borrow::Cow;

use crate::AppError;

/// Whether `c` is refused in input: a C0 or C1 control character, or DEL, other than tab and line feed.
pub fn is_refused(c: char) -> bool {
    c.is_control() && c != '\t' && c != '\n'
}

/// `value` of `field` under the rule: CRLF becomes LF, and any other control character but tab and line feed is an
/// error naming the field and the character (its code point, since the character itself does not print).
pub fn clean_text<'a>(field: &str, value: &'a str) -> Result<Cow<'a, str>, FieldError> {
    let value: Cow<'a, str> = if value.contains("\r\n") {
        Cow::Owned(value.replace("\r\n", "\n"))
    } else {
        Cow::Borrowed(value)
    };
    match value.chars().find(|c| is_refused(*c)) {
        None => Ok(value),
        Some(c) => Err(refused(field, c)),
    }
}

/// A name (of an organization, a person, a service) under the edge rule of every input path, web form or `heard`
/// command: control characters refused as by [`clean_text`], bidirectional controls removed (see
/// [`without_bidi_controls`]: in a name they only ever disguise it), and surrounding spaces trimmed. New places
/// that take a name (imports, an API for organizations) should use this one function.
pub fn clean_name(field: &str, value: &str) -> Result<String, FieldError> {
    let value = clean_text(field, value)?;
    Ok(without_bidi_controls(&value).trim().to_string())
}

/// The error for a refused character `c` in a text value (where tabs and line breaks are kept). Each message is
/// true where it is given: a lone carriage return is named as such, since "line breaks are accepted" would
/// otherwise contradict its refusal.
fn refused(field: &str, c: char) -> FieldError {
    let what = if c == '\r' {
        "a carriage return (U+000D) not followed by a line feed".to_string()
    } else {
        format!("a control character (U+{:04X})", c as u32)
    };
    let rule = if c == '\r' {
        "only letters, digits, punctuation, spaces, tabs and line breaks are accepted, and a line break is a line \
         feed (U+000A), alone or after a carriage return"
    } else {
        "only letters, digits, punctuation, spaces, tabs and line breaks are accepted"
    };
    FieldError::new(
        printable(field),
        "control_character",
        format!("contains {what}; {rule}"),
    )
}

/// The error for a refused character `c` in a name (a JSON key, a path segment, a query parameter's name), where
/// tabs and line breaks are refused too.
fn refused_in_name(field: &str, c: char) -> FieldError {
    FieldError::new(
        printable(field),
        "control_character",
        format!(
            "contains a control character (U+{:04X}); names and paths take only letters, digits, punctuation and \
             spaces, with no tabs or line breaks",
            c as u32
        ),
    )
}

/// A field name as it can be shown: refused characters become `?`.
fn printable(name: &str) -> String {
    name.chars()
        .map(|c| if is_refused(c) { '?' } else { c })
        .collect()
}

/// Cleans every string (and object key) in a JSON value in place; fields are named by their path from `prefix`
/// (`answers.comment`, `answers.went_well[1]`). Every problem is reported, not only the first.
pub fn clean_json(prefix: &str, v: &mut Value, errs: &mut FieldErrors) {
    match v {
        Value::String(s) => match clean_text(prefix, s) {
            Ok(Cow::Owned(c)) => *s = c,
            Ok(Cow::Borrowed(_)) => {}
            Err(e) => errs.push(e),
        },
        Value::Array(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                clean_json(&format!("{prefix}[{i}]"), item, errs);
            }
        }
        Value::Object(m) => {
            for (k, item) in m.iter_mut() {
                let path = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                if let Some(c) = k
                    .chars()
                    .find(|c| is_refused(*c) || *c == '\n' || *c == '\t')
                {
                    errs.push(refused_in_name(&path, c));
                    continue;
                }
                clean_json(&path, item, errs);
            }
        }
        _ => {}
    }
}

/// Middleware: every path segment and every query parameter (name and value), percent-decoded, under the rule. A
/// path segment is named by its route parameter (`org`, `survey`) when the route has one, else `path`.
pub async fn refuse_control_characters(req: Request, next: Next) -> Response {
    let mut errs = FieldErrors::default();
    let template: Vec<String> = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().split('/').map(str::to_string).collect())
        .unwrap_or_default();
    for (i, segment) in req.uri().path().split('/').enumerate() {
        let decoded = percent_encoding::percent_decode_str(segment).decode_utf8_lossy();
        if let Some(c) = decoded
            .chars()
            .find(|c| is_refused(*c) || *c == '\n' || *c == '\t')
        {
            let name = template
                .get(i)
                .and_then(|t| t.strip_prefix('{'))
                .and_then(|t| t.strip_suffix('}'))
                .map(|t| t.trim_start_matches('*'))
                .unwrap_or("path");
            errs.push(refused_in_name(name, c));
        }
    }
    if let Some(q) = req.uri().query() {
        for (k, v) in form_urlencoded::parse(q.as_bytes()) {
            if let Some(c) = k.chars().chain(v.chars()).find(|c| is_refused(*c)) {
                errs.push(refused(&k, c));
            }
        }
    }
    if errs.is_empty() {
        next.run(req).await
    } else {
        AppError::Invalid(errs).into_response()
    }
}

/// Whether `c` is a bidirectional formatting character: the embeddings and overrides (U+202A-U+202E), the isolates
/// (U+2066-U+2069), the left-to-right and right-to-left marks (U+200E, U+200F) and the Arabic letter mark (U+061C).
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}')
}

/// `s` without bidirectional formatting characters, for showing to staff (see the module's comment for why they
/// are removed rather than only isolated).
pub fn without_bidi_controls(s: &str) -> Cow<'_, str> {
    if s.chars().any(is_bidi_control) {
        Cow::Owned(s.chars().filter(|c| !is_bidi_control(*c)).collect())
    } else {
        Cow::Borrowed(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_refused_but_tabs_and_line_breaks_are_kept() {
        assert_eq!(clean_text("f", "a\tb\nc").unwrap(), "a\tb\nc");
        assert_eq!(clean_text("f", "a\r\nb\r\n").unwrap(), "a\nb\n");
        for bad in ["a\0", "a\rb", "\u{7f}", "\u{85}", "\u{1b}[31m", "\u{c}"] {
            let e = clean_text("q.comment", bad).unwrap_err();
            assert_eq!(e.field, "q.comment");
            assert_eq!(e.code, "control_character");
        }
        assert!(clean_text("f", "¿Qué tal? – ok «bien» \u{202E}").is_ok());
    }

    #[test]
    fn each_message_is_true_where_it_is_given() {
        // A lone carriage return is not a line break this rule keeps; the message says which line break is.
        let e = clean_text("q.comment", "a\rb").unwrap_err();
        assert_eq!(
            e.message,
            "contains a carriage return (U+000D) not followed by a line feed; only letters, digits, punctuation, \
             spaces, tabs and line breaks are accepted, and a line break is a line feed (U+000A), alone or after a \
             carriage return"
        );
        // Names (JSON keys, path segments) take no line breaks or tabs, and say so.
        let mut v = serde_json::json!({"a\nb": 1});
        let mut errs = FieldErrors::default();
        clean_json("", &mut v, &mut errs);
        assert_eq!(
            errs.0[0].message,
            "contains a control character (U+000A); names and paths take only letters, digits, punctuation and \
             spaces, with no tabs or line breaks"
        );
        let e = clean_text("q.comment", "a\u{1}").unwrap_err();
        assert!(
            e.message.contains("tabs and line breaks are accepted"),
            "{}",
            e.message
        );
    }

    #[test]
    fn json_strings_are_cleaned_and_every_bad_one_is_named_by_its_path() {
        let mut v = serde_json::json!({"answers": {"comment": "a\r\nb", "list": ["ok", "x\u{0}"], "k\u{1}": 1}});
        let mut errs = FieldErrors::default();
        clean_json("", &mut v, &mut errs);
        assert_eq!(v["answers"]["comment"], "a\nb");
        let fields: Vec<&str> = errs.0.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["answers.k?", "answers.list[1]"]);
    }

    #[test]
    fn bidirectional_controls_are_removed_and_other_text_kept() {
        assert_eq!(
            without_bidi_controls("a\u{202E}bc\u{202C} \u{2067}d\u{2069}\u{200F}\u{61C}"),
            "abc d"
        );
        assert_eq!(without_bidi_controls("مرحبا שלום"), "مرحبا שלום");
        assert_eq!(clean_name("name", " Org\u{202E}a ").unwrap(), "Orga");
        assert!(clean_name("name", "Org\u{1}").is_err());
        assert!(clean_name("name", "Org\u{1b}[31m").is_err());
    }
}
