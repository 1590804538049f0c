//! Static files embedded at build time (the U.S. Web Design System from npm, cut down to what the pages use by
//! `scripts/purge-uswds.mjs`; Heard's own CSS and JavaScript), served with an ETag at their plain path and, for a
//! year, at a content-hashed name that pages reach through the `asset()` template function.

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
    bytes: std::borrow::Cow<'static, [u8]>,
    etag: String,
    content_type: &'static str,
    /// The content-hashed name under `/static/`: `uswds/css/uswds.min.<16 hex digits>.css`.
    hashed: String,
}

/// Every asset by its path under `assets/`. Stylesheets have their `url(...)` references to other assets rewritten
/// to those assets' hashed names first (and are hashed after), so a page that loads a stylesheet by its hashed name
/// loads fonts and images by theirs too, and a repeat visit needs none of them again.
static ASSETS: LazyLock<HashMap<&'static str, Asset>> = LazyLock::new(|| {
    let mut out: HashMap<&'static str, Asset> = HashMap::new();
    let (css, other): (Vec<_>, Vec<_>) = embedded::ASSETS
        .iter()
        .partition(|(path, _)| path.ends_with(".css"));
    for &(path, bytes) in other {
        out.insert(path, asset(path, std::borrow::Cow::Borrowed(bytes)));
    }
    for &(path, bytes) in css {
        let text = std::str::from_utf8(bytes).expect("stylesheets are UTF-8");
        let rewritten = rewrite_urls(path, text, &out);
        out.insert(
            path,
            asset(path, std::borrow::Cow::Owned(rewritten.into_bytes())),
        );
    }
    out
});

/// Hashed names back to paths.
static HASHED: LazyLock<HashMap<&'static str, &'static str>> = LazyLock::new(|| {
    ASSETS
        .iter()
        .map(|(path, a)| (a.hashed.as_str(), *path))
        .collect()
});

fn asset(path: &str, bytes: std::borrow::Cow<'static, [u8]>) -> Asset {
    let hash = crate::crypto::sha256_hex(&bytes)[..16].to_string();
    let hashed = match path.rsplit_once('.') {
        Some((stem, ext)) if !stem.ends_with('/') => format!("{stem}.{hash}.{ext}"),
        _ => format!("{path}.{hash}"),
    };
    Asset {
        etag: format!("\"{hash}\""),
        content_type: content_type(path),
        hashed,
        bytes,
    }
}

/// `css` (the stylesheet at `path`) with each relative `url(...)` that names an embedded asset replaced by that
/// asset's hashed address; other references (data: URLs, unknown files) are left as they are.
fn rewrite_urls(path: &str, css: &str, assets: &HashMap<&'static str, Asset>) -> String {
    let dir: Vec<&str> = path.split('/').collect::<Vec<_>>()[..path.matches('/').count()].to_vec();
    let mut out = String::with_capacity(css.len());
    let mut rest = css;
    while let Some(i) = rest.find("url(") {
        out.push_str(&rest[..i + 4]);
        rest = &rest[i + 4..];
        let Some(end) = rest.find(')') else { break };
        let raw = rest[..end].trim().trim_matches(['"', '\'']);
        let mut parts = dir.clone();
        for seg in raw.split(['?', '#']).next().unwrap_or("").split('/') {
            match seg {
                ".." => {
                    parts.pop();
                }
                "." | "" => {}
                s => parts.push(s),
            }
        }
        match assets.get(parts.join("/").as_str()) {
            Some(a) if !raw.is_empty() && !raw.contains(':') && !raw.starts_with('/') => {
                out.push_str("/static/");
                out.push_str(&a.hashed);
            }
            _ => out.push_str(&rest[..end]),
        }
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

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

/// The address pages use for an asset (by its path under `assets/`): its content-hashed name, which may be cached
/// for a year because a new version has a new name. `None` if there is no such asset.
pub fn url(path: &str) -> Option<String> {
    ASSETS.get(path).map(|a| format!("/static/{}", a.hashed))
}

async fn serve(Path(path): Path<String>, headers: HeaderMap) -> Response {
    // A hashed name never changes content: cache it for a year. A plain name (old pages, hand-written links) is
    // kept an hour and then revalidated by its ETag.
    let (asset, cache) = match HASHED.get(path.as_str()) {
        Some(p) => (&ASSETS[p], "public, max-age=31536000, immutable"),
        None => match ASSETS.get(path.as_str()) {
            Some(a) => (a, "public, max-age=3600"),
            None => return StatusCode::NOT_FOUND.into_response(),
        },
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
            (header::CACHE_CONTROL, HeaderValue::from_static(cache)),
        ],
        asset.bytes.clone(),
    )
        .into_response()
}

/// An embedded asset's bytes as served (stylesheets with hashed references), by its path under `assets/`.
pub fn bytes(path: &str) -> Option<&'static [u8]> {
    ASSETS.get(path).map(|a| &*a.bytes)
}

/// Whether an asset exists (used by tests and templates).
pub fn exists(path: &str) -> bool {
    ASSETS.contains_key(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stylesheets_refer_to_fonts_and_images_by_their_hashed_names() {
        let css = std::str::from_utf8(bytes("uswds/css/uswds.min.css").unwrap()).unwrap();
        assert!(
            !css.contains("url(../"),
            "every relative reference is rewritten"
        );
        let font = url("uswds/fonts/source-sans-pro/sourcesanspro-regular-webfont.woff2").unwrap();
        assert!(css.contains(&format!("url({font})")), "{font}");
        assert!(font.ends_with(".woff2") && font.len() > 60);
        let hashed = url("heard/heard.css").unwrap();
        assert_eq!(HASHED[&hashed["/static/".len()..]], "heard/heard.css");
    }

    #[test]
    fn every_usa_class_in_the_templates_is_in_the_stylesheet() {
        // The USWDS stylesheet is cut to the classes the pages use; a class added to a template after the cut
        // would render unstyled. Re-run scripts/purge-uswds.mjs when this fails.
        let css = std::str::from_utf8(bytes("uswds/css/uswds.min.css").unwrap()).unwrap();
        let mut missing = Vec::new();
        for (name, src) in TEMPLATES {
            let src = std::str::from_utf8(src).unwrap();
            for class in src
                .split(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
                .filter(|w| w.starts_with("usa-") && !w.ends_with('-'))
            {
                // USWDS styles this modifier only through parts of the footer that Heard does not use.
                let styles_nothing_used = ["usa-footer--slim"];
                if !css.contains(&format!(".{class}")) && !styles_nothing_used.contains(&class) {
                    missing.push(format!("{name}: {class}"));
                }
            }
        }
        missing.sort();
        missing.dedup();
        assert!(
            missing.is_empty(),
            "classes missing from the stylesheet: {missing:?}"
        );
    }
}
