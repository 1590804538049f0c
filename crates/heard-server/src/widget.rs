//! The embeddable widget's script: `assets/widget/widget.js`, compacted once at start (comment lines and indentation
//! dropped, so the source can explain itself without costing visitors bytes), served at `/widget.js` with a short
//! cache lifetime and at `/widget/<content hash>.js` for a year. Embed snippets use the versioned address with a
//! Subresource Integrity hash, so a host page runs exactly the bytes its security officer approved.

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine;
use sha2::{Digest, Sha384};
use std::sync::LazyLock;

use crate::AppState;

/// The served script and the names that pin it.
pub struct Widget {
    pub bytes: Vec<u8>,
    /// The first 16 hex digits of the SHA-256 of `bytes`: the versioned file name and the ETag.
    pub hash: String,
    /// `sha384-<base64>` of `bytes`, for the `integrity` attribute.
    pub integrity: String,
}

pub static WIDGET: LazyLock<Widget> = LazyLock::new(|| {
    let source =
        crate::assets::bytes("widget/widget.js").expect("assets/widget/widget.js is embedded");
    let bytes = compact(std::str::from_utf8(source).expect("the widget is UTF-8")).into_bytes();
    let hash = crate::crypto::sha256_hex(&bytes)[..16].to_string();
    let integrity = format!(
        "sha384-{}",
        base64::engine::general_purpose::STANDARD.encode(Sha384::digest(&bytes))
    );
    Widget {
        bytes,
        hash,
        integrity,
    }
});

/// Drops whole-line `//` comments, indentation and blank lines. Line breaks stay, so statements keep the meaning
/// they have in the source; the widget's source keeps every string on one line for this to be safe.
pub fn compact(source: &str) -> String {
    let mut out = String::with_capacity(source.len());
    for line in source.lines().map(str::trim) {
        if line.is_empty() || line.starts_with("//") {
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// The versioned address of the current script, relative to the server.
pub fn versioned_path() -> String {
    format!("/widget/{}.js", WIDGET.hash)
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/widget.js", get(latest))
        .route("/widget/{file}", get(versioned))
}

async fn latest(headers: HeaderMap) -> Response {
    // Five minutes: pages that use the unversioned address pick up a new release soon, without a request per view.
    serve(&headers, "public, max-age=300")
}

async fn versioned(Path(file): Path<String>, headers: HeaderMap) -> Response {
    if file.strip_suffix(".js") != Some(WIDGET.hash.as_str()) {
        return StatusCode::NOT_FOUND.into_response();
    }
    serve(&headers, "public, max-age=31536000, immutable")
}

fn serve(headers: &HeaderMap, cache: &'static str) -> Response {
    let w = &*WIDGET;
    let etag = format!("\"{}\"", w.hash);
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag));
    let mut resp = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        w.bytes.clone().into_response()
    };
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/javascript; charset=utf-8"),
    );
    h.insert(
        header::ETAG,
        HeaderValue::from_str(&etag).expect("hex etag"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    // Any site may load the script: snippets load it in CORS mode (`crossorigin="anonymous"`) so the browser can
    // check its integrity hash, and pages that isolate themselves (COEP) accept it only with this resource policy.
    h.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    h.insert(
        header::HeaderName::from_static("cross-origin-resource-policy"),
        HeaderValue::from_static("cross-origin"),
    );
    resp
}
