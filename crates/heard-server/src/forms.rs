//! HTML form bodies as ordered (name, value) pairs. Serde structs cannot express repeated checkbox names or the
//! per-question field names of a survey, so forms are read through this one small type. Every form passes the edge's
//! text rule (`input`) here: `FormData` refuses a form that breaks it, `LenientForm` keeps it with the problems named.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::header;

use crate::AppError;

#[derive(Debug, Default, Clone)]
pub struct FormData(pub Vec<(String, String)>);

impl FormData {
    pub fn parse(body: &[u8]) -> FormData {
        FormData(
            form_urlencoded::parse(body)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    /// Parses a body under the edge's text rule (`input::clean_text`): textarea line breaks (CRLF) become LF, and a
    /// field holding any other control character is refused, every such field named.
    pub fn parse_checked(body: &[u8]) -> Result<FormData, AppError> {
        let LenientForm { form, errors } = FormData::parse_lenient(body);
        if errors.is_empty() {
            Ok(form)
        } else {
            Err(AppError::Invalid(errors))
        }
    }

    /// Parses a body under the edge's text rule but keeps going: every field is kept with its refused characters
    /// removed, and each field that held one is named in `errors`. For pages that show the form again with the
    /// problem beside the answer (the hosted survey) instead of an error page.
    pub fn parse_lenient(body: &[u8]) -> LenientForm {
        let mut errors = heard_domain::FieldErrors::default();
        let mut out = Vec::new();
        // `form_urlencoded` decodes bytes that are not UTF-8 as U+FFFD without saying so; each pair is checked
        // raw first (pairs come in the same order, empty segments skipped), so such a value is named, not stored.
        let mut raw = body
            .split(|b| *b == b'&')
            .filter(|seg| !seg.is_empty())
            .map(|seg| {
                seg.split(|b| *b == b'=').all(|part| {
                    let plus: Vec<u8> = part
                        .iter()
                        .map(|b| if *b == b'+' { b' ' } else { *b })
                        .collect();
                    let bytes: Vec<u8> = percent_encoding::percent_decode(&plus).collect();
                    std::str::from_utf8(&bytes).is_ok()
                })
            });
        for (k, v) in form_urlencoded::parse(body) {
            let utf8 = raw.next().unwrap_or(true);
            let mut keep = |field: &str, text: &str| match crate::input::clean_text(field, text) {
                Ok(t) => t.into_owned(),
                Err(e) => {
                    errors.push(e);
                    text.replace("\r\n", "\n")
                        .chars()
                        .filter(|c| !crate::input::is_refused(*c))
                        .collect()
                }
            };
            let name = keep(&k, &k);
            let mut value = keep(&name, &v);
            if !utf8 {
                errors.push(heard_domain::FieldError::new(
                    name.clone(),
                    "not_utf8",
                    "holds bytes that are not text (not UTF-8); type it again",
                ));
                value.retain(|c| c != '\u{FFFD}');
            }
            out.push((name, value));
        }
        errors.0.dedup_by(|a, b| a.field == b.field);
        LenientForm {
            form: FormData(out),
            errors,
        }
    }

    /// The first value of `name`, trimmed; empty if absent.
    pub fn get(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim())
            .unwrap_or("")
    }
    pub fn opt(&self, name: &str) -> Option<&str> {
        Some(self.get(name)).filter(|s| !s.is_empty())
    }
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }
    pub fn has(&self, name: &str) -> bool {
        self.0.iter().any(|(k, _)| k == name)
    }
    /// Sets `name` to `value`, replacing any values it had (a form pre-filled from stored settings).
    pub fn set(&mut self, name: &str, value: &str) {
        self.0.retain(|(k, _)| k != name);
        self.0.push((name.to_string(), value.to_string()));
    }
}

/// A form read by `FormData::parse_lenient`.
#[derive(Debug, Default)]
pub struct LenientForm {
    pub form: FormData,
    pub errors: heard_domain::FieldErrors,
}

async fn form_body<S: Send + Sync>(req: Request, state: &S) -> Result<Bytes, AppError> {
    let ct = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !ct.starts_with("application/x-www-form-urlencoded") {
        return Err(AppError::UnsupportedMediaType);
    }
    Bytes::from_request(req, state)
        .await
        .map_err(|_| AppError::PayloadTooLarge)
}

impl<S: Send + Sync> FromRequest<S> for FormData {
    type Rejection = AppError;
    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        FormData::parse_checked(&form_body(req, state).await?)
    }
}

impl<S: Send + Sync> FromRequest<S> for LenientForm {
    type Rejection = AppError;
    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        Ok(FormData::parse_lenient(&form_body(req, state).await?))
    }
}
