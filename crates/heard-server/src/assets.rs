//! Static files embedded at build time (the U.S. Web Design System from npm, Heard's own CSS and JavaScript), served
//! with an ETag and long cache lifetimes for fingerprinted paths.

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use std::collections::HashMap;
use std::sync::LazyLock;

use crate::AppState;

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/embedded.rs"));
}
pub use embedded::{LOCALES, TEMPLATES};

struct Asset {
    bytes: &'static [u8],
    etag: String,
    content_type: &'static str,
}

static ASSETS: LazyLock<HashMap<&'static str, Asset>> = LazyLock::new(|| {
    embedded::ASSETS
        .iter()
        .map(|(path, bytes)| {
            let etag = format!("\"{}\"", &crate::crypto::sha256_hex(bytes)[..16]);
            (
                *path,
                Asset {
                    bytes,
                    etag,
                    content_type: content_type(path),
                },
            )
        })
        .collect()
});

fn content_type(path: &str) -> &'static str {
    match path.rsplit('.').next().unwrap_or("") {
        "css" => "text/css; charset=utf-8",
        "js" => "text/javascript; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" => "image/jpeg",
        "woff2" => "font/woff2",
        "json" => "application/json",
        "md" | "txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

pub fn routes() -> Router<AppState> {
    Router::new().route("/static/{*path}", get(serve))
}

async fn serve(Path(path): Path<String>, headers: HeaderMap) -> Response {
    let Some(asset) = ASSETS.get(path.as_str()) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    if headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        == Some(asset.etag.as_str())
    {
        return (
            StatusCode::NOT_MODIFIED,
            [(header::ETAG, asset.etag.clone())],
        )
            .into_response();
    }
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static(asset.content_type),
            ),
            (
                header::ETAG,
                HeaderValue::from_str(&asset.etag).expect("ascii etag"),
            ),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=3600"),
            ),
        ],
        asset.bytes,
    )
        .into_response()
}

/// An embedded asset's bytes, by its path under `assets/`.
pub fn bytes(path: &str) -> Option<&'static [u8]> {
    ASSETS.get(path).map(|a| a.bytes)
}

/// Whether an asset exists (used by tests and templates).
pub fn exists(path: &str) -> bool {
    ASSETS.contains_key(path)
}
