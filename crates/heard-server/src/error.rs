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
    Forbidden(&'static str, String),
    NotFound,
    Conflict(String),
    /// 409: an idempotency key already used for a different request (`heard_domain::idempotency`); nothing stored.
    IdempotencyKeyReused,
    /// 410: e.g. a survey past its PRA expiration date.
    Gone(&'static str, String),
    PayloadTooLarge,
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
            AppError::Unauthenticated => StatusCode::UNAUTHORIZED,
            AppError::Forbidden(..) => StatusCode::FORBIDDEN,
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::Conflict(_) | AppError::IdempotencyKeyReused => StatusCode::CONFLICT,
            AppError::Gone(..) => StatusCode::GONE,
            AppError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
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
            AppError::Invalid(e) => format!("The input has {} problem(s): {e}", e.0.len()),
            AppError::BadRequest(_, m)
            | AppError::Forbidden(_, m)
            | AppError::Gone(_, m)
            | AppError::Conflict(m) => m.clone(),
            AppError::IdempotencyKeyReused => {
                "This idempotency_key was already used for a different response, \
                 which is kept; nothing was stored. Send a new response with a new idempotency_key."
                    .into()
            }
            AppError::Unauthenticated => "Sign in first.".into(),
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
        if matches!(self, AppError::RateLimited) {
            resp.headers_mut()
                .insert("retry-after", axum::http::HeaderValue::from_static("60"));
        }
        resp
    }
}

pub type AppResult<T> = Result<T, AppError>;
