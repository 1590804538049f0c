//! Headers every response carries, and request logging that never records query strings (they can carry personal
//! data such as an email typed into a search box).

use axum::body::to_bytes;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::IntoResponse;
use axum::response::Response;

/// No inline script or style anywhere: our pages load `/static/*.js` and `/static/*.css` only. The widget's API
/// routes override `frame-ancestors` nowhere; CORS is handled per survey in `api`.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; \
     connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; manifest-src 'self'";

pub async fn headers(req: Request, next: Next) -> Response {
    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
    let mut set = |k: header::HeaderName, v: &'static str| {
        h.entry(k).or_insert(HeaderValue::from_static(v));
    };
    set(header::CONTENT_SECURITY_POLICY, CSP);
    set(header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(header::X_FRAME_OPTIONS, "DENY");
    // `same-origin`, not `no-referrer`: browsers send `Origin: null` on form posts under `no-referrer`, which would
    // defeat the origin check, while `same-origin` still sends nothing to other sites.
    set(header::REFERRER_POLICY, "same-origin");
    set(
        header::HeaderName::from_static("permissions-policy"),
        "camera=(), microphone=(), geolocation=(), interest-cohort=()",
    );
    set(
        header::HeaderName::from_static("cross-origin-opener-policy"),
        "same-origin",
    );
    set(
        header::STRICT_TRANSPORT_SECURITY,
        "max-age=31536000; includeSubDomains",
    );
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    resp
}

pub fn span_without_query(req: &Request) -> tracing::Span {
    tracing::info_span!("request", method = %req.method(), path = %req.uri().path())
}

/// People using the admin or the public pages get an HTML page for an error, not the API's JSON: any JSON error
/// outside `/api/` is rendered with the same code and message.
pub async fn html_errors(
    State(state): State<crate::AppState>,
    req: Request,
    next: Next,
) -> Response {
    let is_api = req.uri().path().starts_with("/api/");
    let wants_html = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/html"));
    let resp = next.run(req).await;
    let is_json = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if is_api || !wants_html || !is_json || resp.status().as_u16() < 400 {
        return resp;
    }
    let (parts, body) = resp.into_parts();
    let Ok(bytes) = to_bytes(body, 64 * 1024).await else {
        return parts.status.into_response();
    };
    let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
    let title = match parts.status.as_u16() {
        404 => "Page not found",
        403 => "You may not do this",
        409 => "This cannot be done now",
        410 => "This is no longer available",
        422 | 400 => "Please check what you entered",
        429 => "Too many requests",
        _ => "Something went wrong",
    };
    let html = state
        .templates
        .render(
            "error.html",
            // With field errors the page lists their sentences, which say what to fix in words; the API's summary
            // ("The input has 1 problem(s): name_en: ...") names fields by their codes, so people do not see it.
            minijinja::context! { title => title, errors => v["errors"],
                message => if v["errors"].as_array().is_some_and(|e| !e.is_empty()) { "Fix this and try again:".into() } else { v["message"].clone() } },
        )
        .unwrap_or_else(|_| title.to_string());
    let mut out = (parts.status, axum::response::Html(html)).into_response();
    for (k, val) in parts
        .headers
        .iter()
        .filter(|(k, _)| *k == header::RETRY_AFTER)
    {
        out.headers_mut().insert(k, val.clone());
    }
    out
}
