//! Headers every response carries, and request logging that never records query strings (they can carry personal
//! data such as an email typed into a search box).

use axum::body::to_bytes;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
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

/// Marks a response that holds a secret (a CSRF token, a session's pages) next to text a request can choose, such
/// as a search filter echoed into the page: `compression` leaves it as it is, because compressing the two together
/// lets an attacker who sees encrypted sizes guess the secret a character at a time (BREACH). The admin's responses
/// all carry it; public pages, the API and static files hold no secret and are compressed.
#[derive(Clone, Copy, Debug)]
pub struct NotCompressed;

pub async fn not_compressed(mut resp: Response) -> Response {
    resp.extensions_mut().insert(NotCompressed);
    resp
}

/// gzip for text responses (HTML, CSS, JavaScript, JSON, SVG, CSV) when the client accepts it; not for fonts and
/// images, which are compressed already, nor for responses marked `NotCompressed`.
pub fn compression()
-> tower_http::compression::CompressionLayer<impl tower_http::compression::Predicate> {
    use tower_http::compression::predicate::{DefaultPredicate, NotForContentType, Predicate};
    tower_http::compression::CompressionLayer::new().compress_when(
        DefaultPredicate::new()
            .and(NotForContentType::const_new("font/"))
            .and(
                |_: axum::http::StatusCode,
                 _: axum::http::Version,
                 _: &axum::http::HeaderMap,
                 ext: &axum::http::Extensions| ext.get::<NotCompressed>().is_none(),
            ),
    )
}

pub fn span_without_query(req: &Request) -> tracing::Span {
    tracing::info_span!("request", method = %req.method(), path = %req.uri().path())
}

/// People using the admin or the public pages get an HTML page for an error, not the API's JSON or a framework's
/// plain text: any error outside `/api/` that is not a page already is rendered with its status. This is the one
/// place every refusal passes through, whoever wrote it: a handler's `AppError` (JSON), axum's rejections of a query
/// string, a form or a path (a repeated parameter, text that is not UTF-8: plain text), and the body limit (413:
/// plain text, or no body). It sits outside the body limit so that refusal is rendered too. Hosted survey pages
/// (`/s/...`) are answered in the page's language (`?lang=`, else the browser's), with how long an answer may be
/// when the form was too large.
pub async fn html_errors(
    State(state): State<crate::AppState>,
    req: Request,
    next: Next,
) -> Response {
    let path = req.uri().path().to_string();
    let is_api = path.starts_with("/api/");
    let lang = if path.starts_with("/s/") {
        error_lang(&req)
    } else {
        "en"
    };
    let resp = next.run(req).await;
    let content_type = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .map(|v| v.as_bytes().to_vec())
        .unwrap_or_default();
    if is_api || content_type.starts_with(b"text/html") || resp.status().as_u16() < 400 {
        return resp;
    }
    // A body over the limit says how long an answer may be, whichever layer noticed it.
    // A hosted page that does not exist is told in the page's language too.
    let hosted_missing = path.starts_with("/s/") && resp.status() == StatusCode::NOT_FOUND;
    if !content_type.starts_with(b"application/json")
        || resp.status() == StatusCode::PAYLOAD_TOO_LARGE
        || hosted_missing
    {
        return plain_error_page(&state, resp, lang);
    }
    let (parts, body) = resp.into_parts();
    let Ok(bytes) = to_bytes(body, 64 * 1024).await else {
        return parts.status.into_response();
    };
    let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
    let errors: Vec<minijinja::Value> = v["errors"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| {
            minijinja::context! { field => crate::labels::field_words(e["field"].as_str().unwrap_or_default()),
                message => e["message"].as_str().unwrap_or_default() }
        })
        .collect();
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
            // With field errors the page lists each field in words and what to fix; the API's summary ("The input
            // has 1 problem(s): name_en: ...") names fields by their codes, so people do not see it.
            minijinja::context! { title => title, errors => errors,
                message => if !errors.is_empty() { "Fix this and try again:".into() } else { v["message"].clone() } },
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

/// The language of a hosted page's error: `?lang=` when it names a language we have (the first, if repeated), else
/// Spanish when the browser prefers it, else English.
fn error_lang(req: &Request) -> &'static str {
    let asked = req.uri().query().and_then(|q| {
        form_urlencoded::parse(q.as_bytes())
            .find(|(k, _)| k == "lang")
            .map(|(_, v)| v.into_owned())
    });
    let browser = req
        .headers()
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim_start().to_ascii_lowercase());
    match (asked.as_deref(), browser.as_deref()) {
        (Some("es"), _) => "es",
        (Some("en"), _) => "en",
        (_, Some(b)) if b.starts_with("es") => "es",
        _ => "en",
    }
}

/// An error that is not the project's own (a rejection by axum or the body limit), as a page saying in words what
/// to do, in `lang`.
fn plain_error_page(state: &crate::AppState, resp: Response, lang: &str) -> Response {
    let tr = crate::i18n::strings(lang);
    let status = resp.status();
    let message = match status.as_u16() {
        413 => tr["errors"]["request_too_large"]
            .as_str()
            .unwrap_or_default()
            .replace("{n}", &heard_domain::survey::LONG_TEXT_MAX.to_string()),
        404 => tr["errors"]["page_not_found"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        _ => tr["errors"]["bad_request"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
    };
    let html = state
        .templates
        .render(
            "error.html",
            minijinja::context! { title => if status == StatusCode::NOT_FOUND { tr["errors"]["page_not_found_title"].clone() }
                else { tr["errors"]["error_title"].clone() }, message => message,
            back => tr["errors"]["back"].clone(), lang => lang },
        )
        .unwrap_or_else(|_| message.clone());
    let mut out = (status, axum::response::Html(html)).into_response();
    for (k, val) in resp
        .headers()
        .iter()
        .filter(|(k, _)| *k == header::RETRY_AFTER || *k == header::ALLOW)
    {
        out.headers_mut().insert(k, val.clone());
    }
    out
}
