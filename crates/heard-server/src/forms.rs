//! HTML form bodies as ordered (name, value) pairs. Serde structs cannot express repeated checkbox names or the
//! per-question field names of a survey, so forms are read through this one small type.

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
        let mut errs = heard_domain::FieldErrors::default();
        let mut out = Vec::new();
        for (k, v) in form_urlencoded::parse(body) {
            match (
                crate::input::clean_text(&k, &k),
                crate::input::clean_text(&k, &v),
            ) {
                (Ok(k), Ok(v)) if !k.contains(['\t', '\n']) => {
                    out.push((k.into_owned(), v.into_owned()))
                }
                (Err(e), _) | (_, Err(e)) => errs.push(e),
                (Ok(_), Ok(_)) => errs.push(heard_domain::FieldError::new(
                    k.replace(['\t', '\n'], "?"),
                    "control_character",
                    "a field name cannot hold a tab or line break",
                )),
            }
        }
        if errs.is_empty() {
            Ok(FormData(out))
        } else {
            Err(AppError::Invalid(errs))
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
}

impl<S: Send + Sync> FromRequest<S> for FormData {
    type Rejection = AppError;
    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let ct = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if !ct.starts_with("application/x-www-form-urlencoded") {
            return Err(AppError::UnsupportedMediaType);
        }
        let body = Bytes::from_request(req, state)
            .await
            .map_err(|_| AppError::PayloadTooLarge)?;
        FormData::parse_checked(&body)
    }
}
