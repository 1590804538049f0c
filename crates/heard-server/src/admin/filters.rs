//! The filters list pages share (responses, signals, comment search): one reading of each query parameter, so a
//! bad value gets the same field error everywhere and a date means the same local day on every page.

use chrono::NaiveDate;
use heard_domain::Zone;

use crate::{AppError, AppResult};

/// A query parameter with its spaces trimmed, or `None` when absent or blank.
pub fn nonempty(s: &Option<String>) -> Option<&str> {
    s.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// A date written `YYYY-MM-DD`; otherwise the field error `invalid_date` on `field`.
pub fn date(s: Option<&str>, field: &str) -> AppResult<Option<NaiveDate>> {
    s.map(|s| {
        NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .map_err(|_| AppError::field(field, "invalid_date", "use a date like 2026-10-01"))
    })
    .transpose()
}

/// `from` and `to` (fields of those names) as local days of `zone`, both included, in UTC milliseconds:
/// `[start of from, start of the day after to)`. A comment at 22:30 on September 30 in New York is found by a
/// range ending September 30. Every date-range filter (responses, signals, themes, events) reads its range here,
/// so all refuse the same things alike: a day that is not `YYYY-MM-DD` (422 on that field), and `from` after `to`
/// (422 `after_to` on `from`).
pub fn local_days(
    zone: &Zone,
    from: &Option<String>,
    to: &Option<String>,
) -> AppResult<(Option<i64>, Option<i64>)> {
    let (from, to) = (date(nonempty(from), "from")?, date(nonempty(to), "to")?);
    if let (Some(f), Some(t)) = (from, to) {
        check_order(f, t)?;
    }
    Ok((
        from.map(|d| zone.day_start_ms(d)),
        to.map(|d| zone.days_ms(d, d).1),
    ))
}

/// `from` on or before `to`; otherwise the field error `after_to` on `from`.
pub fn check_order(from: chrono::NaiveDate, to: chrono::NaiveDate) -> AppResult<()> {
    if from > to {
        return Err(AppError::field(
            "from",
            "after_to",
            "the first day must be on or before the last day",
        ));
    }
    Ok(())
}

/// `positive`, `neutral` or `negative`; otherwise the field error `not_an_option` on `sentiment`.
pub fn sentiment(s: &Option<String>) -> AppResult<Option<String>> {
    match nonempty(s) {
        Some(s @ ("positive" | "neutral" | "negative")) => Ok(Some(s.to_string())),
        None => Ok(None),
        Some(_) => Err(AppError::field(
            "sentiment",
            "not_an_option",
            "sentiment is positive, neutral or negative",
        )),
    }
}

/// A theme id (letters, digits, `_` and `-` only, so nothing else reaches a query); otherwise the field error
/// `not_an_option` on `theme`.
pub fn theme(t: Option<&str>) -> AppResult<Option<String>> {
    t.map(|t| {
        if t.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            Ok(t.to_string())
        } else {
            Err(AppError::field(
                "theme",
                "not_an_option",
                "choose a theme from the list",
            ))
        }
    })
    .transpose()
}

/// The given parameters that are not blank, as a query string (for next pages' and exports' links).
pub fn query_string(pairs: &[(&str, &Option<String>)]) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        if let Some(v) = nonempty(v) {
            s.append_pair(k, v);
        }
    }
    s.finish()
}
