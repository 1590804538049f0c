//! Languages and localized text. A language is data: adding one is a translation file (UI strings) plus
//! translations of a survey's texts, never code.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// A language code (BCP 47 primary tag, lower case: `en`, `es`, `fr`, ...).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Lang(String);

impl Lang {
    pub const EN: &'static str = "en";
    pub const ES: &'static str = "es";

    /// A language tag: a primary tag of 2-3 letters, then optional subtags of 1-8 letters or digits after `-` or
    /// `_` (`en`, `es-MX`, `es_419`); only the primary tag is kept. The API document states the same pattern.
    pub fn parse(s: &str) -> Result<Lang, crate::FieldError> {
        let mut parts = s.split(['-', '_']);
        let primary = parts.next().unwrap_or("").to_ascii_lowercase();
        let subtags_ok = parts
            .all(|t| (1..=8).contains(&t.len()) && t.bytes().all(|b| b.is_ascii_alphanumeric()));
        if subtags_ok
            && (2..=3).contains(&primary.len())
            && primary.bytes().all(|b| b.is_ascii_lowercase())
        {
            Ok(Lang(primary))
        } else {
            Err(crate::FieldError::new(
                "language",
                "invalid_language",
                "language must be a language code such as 'en' or 'es'",
            ))
        }
    }
    pub fn en() -> Lang {
        Lang(Self::EN.into())
    }
    pub fn es() -> Lang {
        Lang(Self::ES.into())
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Lang {
    type Error = crate::FieldError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Lang::parse(&s)
    }
}
impl From<Lang> for String {
    fn from(l: Lang) -> String {
        l.0
    }
}
impl fmt::Display for Lang {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A text in several languages, keyed by language code.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct LocalizedText(pub BTreeMap<String, String>);

impl LocalizedText {
    pub fn new(en: impl Into<String>, es: impl Into<String>) -> Self {
        let mut m = BTreeMap::new();
        m.insert("en".to_string(), en.into());
        m.insert("es".to_string(), es.into());
        LocalizedText(m)
    }
    pub fn en_only(en: impl Into<String>) -> Self {
        let mut m = BTreeMap::new();
        m.insert("en".to_string(), en.into());
        LocalizedText(m)
    }
    /// The text in `lang`, falling back to English, then to any language present.
    pub fn get(&self, lang: &str) -> &str {
        self.0
            .get(lang)
            .filter(|s| !s.is_empty())
            .or_else(|| self.0.get("en"))
            .or_else(|| self.0.values().next())
            .map(String::as_str)
            .unwrap_or("")
    }
    pub fn set(&mut self, lang: &str, text: impl Into<String>) {
        self.0.insert(lang.to_string(), text.into());
    }
    pub fn is_empty(&self) -> bool {
        self.0.values().all(|s| s.trim().is_empty())
    }
    /// Replaces `{service}` (and `[Program/Service name]`) with the service's name in each language.
    pub fn fill_service(&self, service: &LocalizedText) -> LocalizedText {
        LocalizedText(
            self.0
                .iter()
                .map(|(l, t)| (l.clone(), t.replace("{service}", service.get(l))))
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn falls_back_to_english_then_anything() {
        let t = LocalizedText::en_only("Hello");
        assert_eq!(t.get("es"), "Hello");
        let mut t = LocalizedText::new("Hello", "Hola");
        assert_eq!(t.get("es"), "Hola");
        t.set("es", "");
        assert_eq!(t.get("es"), "Hello");
    }

    #[test]
    fn language_codes_are_normalized() {
        assert_eq!(Lang::parse("es-MX").unwrap().as_str(), "es");
        assert_eq!(Lang::parse("EN").unwrap().as_str(), "en");
        assert!(Lang::parse("english!").is_err());
        assert!(Lang::parse("").is_err());
    }
}
