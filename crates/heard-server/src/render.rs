//! Server-rendered pages: minijinja templates embedded at build time, auto-escaped, with a few filters for dates and
//! percentages. Pages work without JavaScript; scripts only enhance them and are served from our origin.

use axum::response::{Html, IntoResponse, Response};
use minijinja::{Environment, Value};

use crate::AppError;

pub struct Templates {
    env: Environment<'static>,
}

impl Templates {
    pub fn load() -> Templates {
        let mut env = Environment::new();
        env.set_auto_escape_callback(|_| minijinja::AutoEscape::Html);
        env.set_undefined_behavior(minijinja::UndefinedBehavior::Chainable);
        // Every printed string loses its bidirectional controls, so no answer, name or title can make staff (or
        // the public) read text in an order other than the one it was written in (see `input`).
        env.set_formatter(|out, state, value| {
            match value.as_str().map(crate::input::without_bidi_controls) {
                Some(std::borrow::Cow::Owned(clean)) => {
                    let clean = if value.is_safe() {
                        Value::from_safe_string(clean)
                    } else {
                        Value::from(clean)
                    };
                    minijinja::escape_formatter(out, state, &clean)
                }
                _ => minijinja::escape_formatter(out, state, value),
            }
        });
        for (name, bytes) in crate::assets::TEMPLATES {
            let src = std::str::from_utf8(bytes)
                .unwrap_or_else(|_| panic!("template {name} is not UTF-8"));
            env.add_template_owned(name.to_string(), src.to_string())
                .unwrap_or_else(|e| panic!("template {name}: {e}"));
        }
        // Times are shown in the organization's time zone (`org.time_zone` of the page's context), with its
        // abbreviation, so "22:30 EDT" on September 30 reads as the evening it was.
        env.add_filter("date", |st: &minijinja::State, ms: i64| {
            zone_of(st).display_date(ms)
        });
        env.add_filter("datetime", |st: &minijinja::State, ms: i64| {
            zone_of(st).display(ms)
        });
        // Pages that span organizations (the site page's lockouts) show times in UTC, labelled "UTC", as
        // `heard user lockouts` does.
        env.add_filter("datetime_utc", |ms: i64| {
            heard_domain::Zone::utc().display(ms)
        });
        env.add_filter("pct", |p: f64| format!("{:.0}%", p * 100.0));
        env.add_filter("pct1", |p: f64| format!("{:.1}%", p * 100.0));
        env.add_filter("fixed", |v: f64, digits: usize| format!("{v:.digits$}"));
        env.add_filter("num", |n: f64| format_thousands(n as i64));
        // `asset("heard/heard.css")` is the file's content-hashed address, cacheable for a year.
        env.add_function("asset", |path: &str| {
            // Our own path of letters, digits, dots and slashes: safe to print as it is.
            crate::assets::url(path)
                .map(Value::from_safe_string)
                .ok_or_else(|| {
                    minijinja::Error::new(
                        minijinja::ErrorKind::InvalidOperation,
                        format!("no asset {path}"),
                    )
                })
        });
        Templates { env }
    }

    pub fn render(&self, name: &str, ctx: Value) -> Result<String, AppError> {
        self.env
            .get_template(name)
            .and_then(|t| t.render(ctx))
            .map_err(|e| AppError::Internal(format!("template {name}: {e:#}")))
    }

    pub fn page(&self, name: &str, ctx: Value) -> Response {
        match self.render(name, ctx) {
            Ok(html) => Html(html).into_response(),
            Err(e) => e.into_response(),
        }
    }
}

/// The time zone of the page: its organization's, or the default when the page has none.
fn zone_of(st: &minijinja::State) -> heard_domain::Zone {
    st.lookup("org")
        .and_then(|o| o.get_attr("time_zone").ok())
        .and_then(|z| z.as_str().and_then(|z| heard_domain::Zone::parse(z).ok()))
        .unwrap_or_default()
}

pub fn format_thousands(n: i64) -> String {
    let s = n.abs().to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 { format!("-{out}") } else { out }
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_template_parses() {
        let _ = super::Templates::load();
        assert_eq!(super::format_thousands(1234567), "1,234,567");
    }
}
