//! UI strings per language, from `locales/<lang>.json` embedded at build time. A new language is a new file: nothing
//! here names a language except English, the fallback for any missing string.

use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::LazyLock;

static LOCALES: LazyLock<BTreeMap<String, Value>> = LazyLock::new(|| {
    let mut out = BTreeMap::new();
    for (file, bytes) in crate::assets::LOCALES {
        let Some(code) = file.strip_suffix(".json") else {
            continue;
        };
        let v: Value = serde_json::from_slice(bytes)
            .unwrap_or_else(|e| panic!("locales/{file} is not valid JSON: {e}"));
        out.insert(code.to_string(), v);
    }
    // Fill every language's gaps from English so templates never meet a missing key.
    let en = out.get("en").cloned().expect("locales/en.json is required");
    for v in out.values_mut() {
        merge_missing(v, &en);
    }
    out
});

fn merge_missing(target: &mut Value, fallback: &Value) {
    if let (Value::Object(t), Value::Object(f)) = (target, fallback) {
        for (k, fv) in f {
            match t.get_mut(k) {
                Some(tv) => merge_missing(tv, fv),
                None => {
                    t.insert(k.clone(), fv.clone());
                }
            }
        }
    }
}

/// The UI strings of `lang` (English if the language has no file).
pub fn strings(lang: &str) -> &'static Value {
    LOCALES.get(lang).unwrap_or_else(|| &LOCALES["en"])
}

/// Languages that have a translation file, with their own names (`_name` in the file).
pub fn languages() -> Vec<(String, String)> {
    LOCALES
        .iter()
        .map(|(k, v)| (k.clone(), v["_name"].as_str().unwrap_or(k).to_string()))
        .collect()
}

/// The name of the language `code` for a reader of `ui` ("Spanish" in English, "Español" in Spanish): from the `ui`
/// file's `languages`, else the language's own `_name`, else the code itself. People never see a bare code.
pub fn language_name(code: &str, ui: &str) -> String {
    strings(ui)["languages"][code]
        .as_str()
        .or_else(|| LOCALES.get(code).and_then(|v| v["_name"].as_str()))
        .unwrap_or(code)
        .to_string()
}

pub fn has(lang: &str) -> bool {
    LOCALES.contains_key(lang)
}

/// Picks the language: an explicit choice if supported, else the best of `Accept-Language` among `offered`.
pub fn negotiate(
    explicit: Option<&str>,
    accept_language: Option<&str>,
    offered: &[String],
) -> String {
    let supported = |l: &str| offered.iter().any(|o| o == l);
    if let Some(l) = explicit.and_then(|l| heard_domain::Lang::parse(l).ok())
        && supported(l.as_str())
    {
        return l.as_str().to_string();
    }
    if let Some(header) = accept_language {
        let mut prefs: Vec<(f32, String)> = header
            .split(',')
            .filter_map(|part| {
                let mut it = part.trim().split(';');
                let tag = heard_domain::Lang::parse(it.next()?.trim()).ok()?;
                let q = it
                    .find_map(|p| p.trim().strip_prefix("q=")?.parse().ok())
                    .unwrap_or(1.0);
                Some((q, tag.as_str().to_string()))
            })
            .collect();
        prefs.sort_by(|a, b| b.0.partial_cmp(&a.0).unwrap_or(std::cmp::Ordering::Equal));
        if let Some((_, l)) = prefs.into_iter().find(|(_, l)| supported(l)) {
            return l;
        }
    }
    offered.first().cloned().unwrap_or_else(|| "en".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_locale_has_every_english_key() {
        let en = strings("en");
        for (code, _) in languages() {
            let s = strings(&code);
            fn keys(v: &Value, prefix: &str, out: &mut Vec<String>) {
                if let Value::Object(m) = v {
                    for (k, v) in m {
                        keys(v, &format!("{prefix}.{k}"), out);
                    }
                } else {
                    out.push(prefix.to_string());
                }
            }
            let (mut a, mut b) = (vec![], vec![]);
            keys(en, "", &mut a);
            keys(s, "", &mut b);
            for k in a {
                assert!(b.contains(&k), "{code} lacks {k}");
            }
        }
        assert!(has("es"), "Spanish is required");
    }

    #[test]
    fn negotiation_prefers_explicit_then_header() {
        let offered = vec!["en".to_string(), "es".to_string()];
        assert_eq!(negotiate(Some("es"), None, &offered), "es");
        assert_eq!(
            negotiate(Some("fr"), Some("es-MX,es;q=0.9"), &offered),
            "es"
        );
        assert_eq!(negotiate(None, Some("fr, en;q=0.5"), &offered), "en");
        assert_eq!(negotiate(None, None, &offered), "en");
    }

    #[test]
    fn languages_are_named_in_the_readers_language() {
        assert_eq!(language_name("es", "en"), "Spanish");
        assert_eq!(language_name("es", "es"), "Español");
        assert_eq!(language_name("en", "es"), "Inglés");
        assert_eq!(language_name("en", "en"), "English");
    }
}
