//! One error type for every handler. API clients get JSON with a stable `code` (agencies integrate against codes,
//! so they never change meaning), a `message`, and per-field `errors`; people get an HTML page. Causes go to the log
//! by id only, never with request content.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use heard_domain::FieldErrors;
use heard_store::StoreError;
use serde::Serialize;

#[derive(Debug)]
pub enum AppError {
    /// 400/422: the input is wrong; `errors` says which field and why.
    Invalid(FieldErrors),
    BadRequest(&'static str, String),
    Unauthenticated,
    /// 401 on the ingestion API: no API key, or one that is unknown or revoked.
    ApiKeyRequired,
    Forbidden(&'static str, String),
    NotFound,
    Conflict(String),
    /// 409: an idempotency key already used for a different request (`heard_domain::idempotency`); nothing stored.
    IdempotencyKeyReused,
    /// 410: e.g. a survey past its PRA expiration date.
    Gone(&'static str, String),
    PayloadTooLarge,
    /// 413: a batch of more than `heard_domain::intake::MAX_BATCH` items.
    BatchTooLarge,
    UnsupportedMediaType,
    RateLimited,
    Internal(String),
}

/// The error table: HTTP status, stable code and kind for each error.
impl AppError {
    pub fn status(&self) -> StatusCode {
        match self {
            AppError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::BadRequest(..) => StatusCode::BAD_REQUEST,
            AppError::Unauthenticated | AppError::ApiKeyRequired => StatusCode::UNAUTHORIZED,
            AppError::Forbidden(..) => StatusCode::FORBIDDEN,
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::Conflict(_) | AppError::IdempotencyKeyReused => StatusCode::CONFLICT,
            AppError::Gone(..) => StatusCode::GONE,
            AppError::PayloadTooLarge | AppError::BatchTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            AppError::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            AppError::Invalid(_) => "invalid_input",
            AppError::BadRequest(code, _)
            | AppError::Forbidden(code, _)
            | AppError::Gone(code, _) => code,
            AppError::Unauthenticated => "unauthenticated",
            AppError::ApiKeyRequired => "api_key_required",
            AppError::BatchTooLarge => "batch_too_large",
            AppError::NotFound => "not_found",
            AppError::Conflict(_) => "conflict",
            AppError::IdempotencyKeyReused => heard_domain::idempotency::KEY_REUSED,
            AppError::PayloadTooLarge => "payload_too_large",
            AppError::UnsupportedMediaType => "unsupported_media_type",
            AppError::RateLimited => "rate_limited",
            AppError::Internal(_) => "internal",
        }
    }

    pub fn message(&self) -> String {
        match self {
            AppError::Invalid(e) => match e.0.len() {
                1 => format!("The input has 1 problem: {e}"),
                n => format!("The input has {n} problems: {e}"),
            },
            AppError::BadRequest(_, m)
            | AppError::Forbidden(_, m)
            | AppError::Gone(_, m)
            | AppError::Conflict(m) => m.clone(),
            AppError::IdempotencyKeyReused => {
                "This idempotency_key was already used with a different body (another response, batch or \
                 item), which is kept; nothing was stored. Send new data with a new idempotency_key."
                    .into()
            }
            AppError::Unauthenticated => "Sign in first.".into(),
            AppError::ApiKeyRequired => "Send your organization's API key as Authorization: Bearer <key>; an \
                 administrator makes one with `heard apikey create --org SLUG`. A revoked key no longer works."
                .into(),
            AppError::BatchTooLarge => format!(
                "A batch holds at most {} items: split it into smaller batches.",
                heard_domain::intake::MAX_BATCH
            ),
            AppError::NotFound => "Nothing is here, or you may not see it.".into(),
            AppError::PayloadTooLarge => {
                "The request is too large. Send a smaller body: answers are short.".into()
            }
            AppError::UnsupportedMediaType => {
                "Send JSON with Content-Type: application/json.".into()
            }
            AppError::RateLimited => {
                "Too many requests from this address; wait a minute and try again.".into()
            }
            AppError::Internal(_) => {
                "Something went wrong on our side. Nothing was saved; please try again.".into()
            }
        }
    }

    pub fn field(field: &str, code: &'static str, message: impl Into<String>) -> AppError {
        AppError::Invalid(FieldErrors::single(field, code, message))
    }
}

impl From<FieldErrors> for AppError {
    fn from(e: FieldErrors) -> Self {
        AppError::Invalid(e)
    }
}

impl From<heard_domain::FieldError> for AppError {
    fn from(e: heard_domain::FieldError) -> Self {
        AppError::Invalid(FieldErrors(vec![e]))
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => AppError::NotFound,
            StoreError::Conflict(m) => AppError::Conflict(m),
            StoreError::IdempotencyKeyReused => AppError::IdempotencyKeyReused,
            StoreError::Invalid(errors) => AppError::Invalid(errors),
            other => AppError::Internal(other.to_string()),
        }
    }
}

/// The body of every JSON error, whatever the status: `errors` is always there, empty when no field is at fault.
#[derive(Serialize)]
pub struct ErrorBody<'a> {
    pub code: &'a str,
    pub message: String,
    pub errors: &'a [heard_domain::FieldError],
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        if let AppError::Internal(cause) = &self {
            // The cause may quote SQL but never request content; keep it in the log only.
            tracing::error!(%cause, "internal error");
        }
        let reused;
        let errors: &[heard_domain::FieldError] = match &self {
            AppError::Invalid(e) => &e.0,
            AppError::IdempotencyKeyReused => {
                reused = [heard_domain::FieldError::new(
                    "idempotency_key",
                    heard_domain::idempotency::KEY_REUSED,
                    "make a new idempotency_key for each new response; reuse a key only to retry the same request",
                )];
                &reused
            }
            _ => &[],
        };
        let body = ErrorBody {
            code: self.code(),
            message: self.message(),
            errors,
        };
        let mut resp = (self.status(), axum::Json(body)).into_response();
        if matches!(self, AppError::ApiKeyRequired) {
            resp.headers_mut().insert(
                "www-authenticate",
                axum::http::HeaderValue::from_static("Bearer realm=\"heard\""),
            );
        }
        if matches!(self, AppError::RateLimited) {
            resp.headers_mut()
                .insert("retry-after", axum::http::HeaderValue::from_static("60"));
        }
        resp
    }
}

pub type AppResult<T> = Result<T, AppError>;

/// Every error under `/api/` is JSON of the one shape, including those no handler wrote: a body over the limit (413,
/// from the body-limit layer), a method the route does not take (405), an address no route matches (404), a path
/// that does not decode (400). Headers such as `Allow` and `Retry-After` are kept.
pub async fn api_json_errors(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let is_api = req.uri().path().starts_with("/api/");
    let resp = next.run(req).await;
    let status = resp.status();
    let is_json = resp
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if !is_api || is_json || !(status.is_client_error() || status.is_server_error()) {
        return resp;
    }
    let (code, message) = match status {
        StatusCode::PAYLOAD_TOO_LARGE => (AppError::PayloadTooLarge.code(), AppError::PayloadTooLarge.message()),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => (
            AppError::UnsupportedMediaType.code(),
            AppError::UnsupportedMediaType.message(),
        ),
        StatusCode::NOT_FOUND => (AppError::NotFound.code(), AppError::NotFound.message()),
        StatusCode::METHOD_NOT_ALLOWED => (
            "method_not_allowed",
            "This address does not take this method: see the Allow header and /api/v1/openapi.json.".to_string(),
        ),
        s if s.is_server_error() => (
            AppError::Internal(String::new()).code(),
            AppError::Internal(String::new()).message(),
        ),
        _ => (
            "bad_request",
            "The request could not be read: check its address, headers and body against /api/v1/openapi.json."
                .to_string(),
        ),
    };
    let (mut parts, _) = resp.into_parts();
    let body = ErrorBody {
        code,
        message,
        errors: &[],
    };
    let bytes = serde_json::to_vec(&body).unwrap_or_default();
    parts.headers.insert(
        axum::http::header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static("application/json"),
    );
    parts.headers.remove(axum::http::header::CONTENT_LENGTH);
    Response::from_parts(parts, axum::body::Body::from(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use heard_domain::{FieldError, FieldErrors};

    #[test]
    fn the_count_of_problems_is_singular_or_plural() {
        let one = FieldErrors(vec![FieldError::new("name_en", "required", "Enter a name")]);
        let m = AppError::Invalid(one.clone()).message();
        assert!(m.starts_with("The input has 1 problem: "), "{m}");
        let two = FieldErrors(vec![one.0[0].clone(), one.0[0].clone()]);
        let m = AppError::Invalid(two).message();
        assert!(m.starts_with("The input has 2 problems: "), "{m}");
    }
}
