//! SMS by the Twilio protocol, the pure half: webhook signatures, TwiML replies, segment counting, the carriers'
//! consent keywords and the survey conversation as a state machine. No I/O, no clock: the server reads requests and
//! the database, this module decides.
//!
//! Sources: Twilio's webhook security page and its Python SDK's `RequestValidator` (twilio 9.13.0), whose answers
//! are the known-answer vectors in `shared/data/twilio`; TwiML's `<Response>`/`<Message>`; GSM 03.38 (3GPP TS 23.038)
//! for the GSM-7 alphabet and its extension table; the CTIA Messaging Principles and Best Practices for the
//! opt-out, opt-in and help keywords (Twilio's defaults, with PARAR/CANCELAR for Spanish).

use base64::Engine as _;
use hmac::{Hmac, Mac};

// ------------------------------------------------------------------------------------------------------------------
// Signatures
// ------------------------------------------------------------------------------------------------------------------

/// The header Twilio signs a webhook in.
pub const SIGNATURE_HEADER: &str = "X-Twilio-Signature";
/// The header that, when present, names the signing algorithm (`key=...,algorithm=HMAC_SHA256`).
pub const SIGNATURE_SETTINGS_HEADER: &str = "X-Twilio-Webhooks-Signature-Settings";

/// How a webhook was signed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignatureAlgorithm {
    /// The legacy scheme: HMAC-SHA1 with the account's auth token.
    HmacSha1,
    /// HMAC-SHA256, named by `X-Twilio-Webhooks-Signature-Settings`.
    HmacSha256,
}

impl SignatureAlgorithm {
    /// The algorithm the settings header names: absent, empty or without `algorithm=` means HMAC-SHA1, as the SDK
    /// reads it. `None` for an algorithm this module does not know (the request is then refused).
    pub fn from_settings_header(header: Option<&str>) -> Option<SignatureAlgorithm> {
        for part in header.unwrap_or("").split(',') {
            if let Some((name, value)) = part.split_once('=')
                && name.trim() == "algorithm"
                && !value.trim().is_empty()
            {
                return match value.trim().to_ascii_uppercase().as_str() {
                    "HMAC_SHA1" => Some(SignatureAlgorithm::HmacSha1),
                    "HMAC_SHA256" => Some(SignatureAlgorithm::HmacSha256),
                    _ => None,
                };
            }
        }
        Some(SignatureAlgorithm::HmacSha1)
    }
}

/// The string Twilio signs: the URL as requested, then for each distinct parameter name in sorted order, each of its
/// distinct values in sorted order, name and value appended. Python sorts `str` by code point, which is the order of
/// their UTF-8 bytes, Rust's order for `str`.
fn signed_text(url: &str, params: &[(String, String)]) -> String {
    let mut names: Vec<&str> = params.iter().map(|(n, _)| n.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    let mut s = String::from(url);
    for name in names {
        let mut values: Vec<&str> = params
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .collect();
        values.sort_unstable();
        values.dedup();
        for v in values {
            s.push_str(name);
            s.push_str(v);
        }
    }
    s
}

fn mac_bytes(algorithm: SignatureAlgorithm, token: &str, text: &str) -> Vec<u8> {
    match algorithm {
        SignatureAlgorithm::HmacSha1 => {
            let mut m = Hmac::<sha1::Sha1>::new_from_slice(token.as_bytes())
                .expect("HMAC takes any key length");
            m.update(text.as_bytes());
            m.finalize().into_bytes().to_vec()
        }
        SignatureAlgorithm::HmacSha256 => {
            let mut m = Hmac::<sha2::Sha256>::new_from_slice(token.as_bytes())
                .expect("HMAC takes any key length");
            m.update(text.as_bytes());
            m.finalize().into_bytes().to_vec()
        }
    }
}

/// The signature Twilio would send for `url` and form `params`: base64 of the HMAC of [the signed text] under
/// `token` (the auth token, or the shared key for HMAC-SHA256). Used by tests and by anything that signs as Twilio.
pub fn sign(
    algorithm: SignatureAlgorithm,
    token: &str,
    url: &str,
    params: &[(String, String)],
) -> String {
    base64::engine::general_purpose::STANDARD.encode(mac_bytes(
        algorithm,
        token,
        &signed_text(url, params),
    ))
}

/// `url` with its port removed, and with the scheme's default port added (443 for https, 80 otherwise), as the SDK
/// tries both; an explicit port stays in the "with" form. `None` when the URL has no `scheme://`.
fn url_port_forms(url: &str) -> Option<(String, String)> {
    let (scheme, rest) = url.split_once("://")?;
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let (userinfo, hostport) = match authority.rsplit_once('@') {
        Some((u, h)) => (format!("{u}@"), h),
        None => (String::new(), authority),
    };
    // A port is what follows the last ':' outside an IPv6 literal's brackets, when it is all digits.
    let (host, port) = match hostport.rsplit_once(':') {
        Some((h, p))
            if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) && !p.contains(']') =>
        {
            (h, Some(p))
        }
        _ => (hostport, None),
    };
    let without = format!("{scheme}://{userinfo}{host}{tail}");
    let with = match port {
        Some(_) => url.to_string(),
        None => {
            let default = if scheme.eq_ignore_ascii_case("https") {
                443
            } else {
                80
            };
            format!("{scheme}://{userinfo}{host}:{default}{tail}")
        }
    };
    Some((without, with))
}

/// Whether `signature` (the header's value) is Twilio's for this request: `url` is the full URL Twilio requested
/// (scheme, host, port if any, path, query), `params` the form-encoded body's pairs in any order (a name may repeat).
/// The URL is tried without its port and with the default port, as Twilio's SDK does. Comparison is in constant time
/// (HMAC verification). A signature that is not base64 is simply not valid.
pub fn validate(
    algorithm: SignatureAlgorithm,
    token: &str,
    url: &str,
    params: &[(String, String)],
    signature: &str,
) -> bool {
    let Ok(given) = base64::engine::general_purpose::STANDARD.decode(signature.trim()) else {
        return false;
    };
    let candidates: Vec<String> = match url_port_forms(url) {
        Some((without, with)) => vec![without, with],
        None => vec![url.to_string()],
    };
    let mut ok = false;
    for candidate in candidates {
        let text = signed_text(&candidate, params);
        // Both forms are always checked, so the time taken does not say which one matched.
        ok |= match algorithm {
            SignatureAlgorithm::HmacSha1 => {
                let mut m =
                    Hmac::<sha1::Sha1>::new_from_slice(token.as_bytes()).expect("any key length");
                m.update(text.as_bytes());
                m.verify_slice(&given).is_ok()
            }
            SignatureAlgorithm::HmacSha256 => {
                let mut m =
                    Hmac::<sha2::Sha256>::new_from_slice(token.as_bytes()).expect("any key length");
                m.update(text.as_bytes());
                m.verify_slice(&given).is_ok()
            }
        };
    }
    ok
}

/// Validation of a JSON-bodied webhook: the URL carries `bodySHA256=<hex SHA-256 of the body>` and no form
/// parameters enter the signature. Valid when the body's hash matches and the URL's signature is valid.
pub fn validate_json_body(
    algorithm: SignatureAlgorithm,
    token: &str,
    url: &str,
    body: &[u8],
    signature: &str,
) -> bool {
    use sha2::Digest as _;
    let query = url
        .split_once('?')
        .map(|(_, q)| q.split('#').next().unwrap_or(""))
        .unwrap_or("");
    let Some(expected) = query
        .split('&')
        .find_map(|kv| kv.strip_prefix("bodySHA256="))
    else {
        return false;
    };
    let actual: String = sha2::Sha256::digest(body)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let hash_ok = actual.eq_ignore_ascii_case(expected);
    validate(algorithm, token, url, &[], signature) && hash_ok
}

// ------------------------------------------------------------------------------------------------------------------
// TwiML
// ------------------------------------------------------------------------------------------------------------------

/// The media type a TwiML answer is served with.
pub const TWIML_CONTENT_TYPE: &str = "text/xml; charset=utf-8";

fn xml_escape(text: &str, out: &mut String) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // XML 1.0 allows tab, LF and CR among the controls; others cannot be written at all.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => {}
            '\u{FFFE}' | '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
}

/// A TwiML answer: one `<Message>` per text, in order, escaped; no texts gives `<Response/>` (no reply).
pub fn twiml(messages: &[&str]) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>");
    if messages.is_empty() {
        out.push_str("<Response/>");
        return out;
    }
    out.push_str("<Response>");
    for m in messages {
        out.push_str("<Message>");
        xml_escape(m, &mut out);
        out.push_str("</Message>");
    }
    out.push_str("</Response>");
    out
}

// ------------------------------------------------------------------------------------------------------------------
// Segments
// ------------------------------------------------------------------------------------------------------------------

/// The encoding a message goes out in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Encoding {
    /// GSM 03.38 7-bit default alphabet (with its extension table, each of whose characters takes two septets).
    Gsm7,
    /// UCS-2 (UTF-16 code units), when any character is outside GSM-7.
    Ucs2,
}

/// How long a message is, in what agencies pay for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Segments {
    pub encoding: Encoding,
    /// Septets (GSM-7) or UTF-16 code units (UCS-2).
    pub units: usize,
    /// Segments billed: 1 up to 160 septets / 70 units; beyond, concatenated segments of 153 septets / 67 units
    /// (the 6-byte user data header takes the rest). An escape pair or a surrogate pair is never split across two
    /// segments, so a long message may take one more than `units / 153` rounded up. An empty message is one segment.
    pub segments: usize,
}

const GSM7_BASIC: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?\
¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
const GSM7_EXTENSION: &str = "\u{000C}^{}\\[~]|€";

/// Septets a character takes in GSM-7: 1 (basic), 2 (extension table, behind an escape), or `None`.
pub fn gsm7_septets(c: char) -> Option<usize> {
    if GSM7_BASIC.contains(c) {
        Some(1)
    } else if GSM7_EXTENSION.contains(c) {
        Some(2)
    } else {
        None
    }
}

/// Counts `text`'s segments (see [`Segments`]).
pub fn segments(text: &str) -> Segments {
    let gsm: Option<Vec<usize>> = text.chars().map(gsm7_septets).collect();
    let (encoding, costs, single, multi) = match gsm {
        Some(costs) => (Encoding::Gsm7, costs, 160, 153),
        None => (
            Encoding::Ucs2,
            text.chars().map(char::len_utf16).collect(),
            70,
            67,
        ),
    };
    let units: usize = costs.iter().sum();
    let segments = if units <= single {
        1
    } else {
        let (mut count, mut used) = (1, 0);
        for cost in costs {
            if used + cost > multi {
                count += 1;
                used = 0;
            }
            used += cost;
        }
        count
    };
    Segments {
        encoding,
        units,
        segments,
    }
}

// ------------------------------------------------------------------------------------------------------------------
// Consent keywords
// ------------------------------------------------------------------------------------------------------------------

/// The language of a conversation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    En,
    Es,
}

impl Lang {
    /// The code stored and shown: `en`, `es`.
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Es => "es",
        }
    }

    /// The language of a code; anything but `es` is English.
    pub fn from_code(code: &str) -> Lang {
        if code.eq_ignore_ascii_case("es") {
            Lang::Es
        } else {
            Lang::En
        }
    }
}

/// A message that is a keyword in its own right, handled before any conversation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Keyword {
    /// STOP, STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT, PARAR, CANCELAR (Spanish ones answer in Spanish).
    OptOut(Lang),
    /// START, UNSTOP.
    OptIn,
    /// HELP, AYUDA.
    Help(Lang),
    /// ESPAÑOL / ESPANOL, ENGLISH: the person's choice of language.
    Language(Lang),
}

impl Keyword {
    /// The keyword a message is, when the whole message (trimmed, any case, trailing `.`/`!` ignored) is one.
    /// "stop please" is not a keyword: carriers match the whole message, and so does Twilio's default handling.
    pub fn parse(body: &str) -> Option<Keyword> {
        let word = body
            .trim()
            .trim_end_matches(['.', '!'])
            .trim()
            .to_uppercase();
        Some(match word.as_str() {
            "STOP" | "STOPALL" | "UNSUBSCRIBE" | "CANCEL" | "END" | "QUIT" => {
                Keyword::OptOut(Lang::En)
            }
            "PARAR" | "CANCELAR" => Keyword::OptOut(Lang::Es),
            "START" | "UNSTOP" => Keyword::OptIn,
            "HELP" => Keyword::Help(Lang::En),
            "AYUDA" => Keyword::Help(Lang::Es),
            "ESPAÑOL" | "ESPANOL" => Keyword::Language(Lang::Es),
            "ENGLISH" => Keyword::Language(Lang::En),
            _ => return None,
        })
    }
}

/// The answer to an opt-out: what carriers require (who, that no more messages will come, how to return).
pub fn opt_out_reply(lang: Lang, org_name: &str) -> String {
    match lang {
        Lang::En => format!(
            "{org_name}: You are unsubscribed and will receive no more messages from us. Reply START to resubscribe."
        ),
        Lang::Es => format!(
            "{org_name}: Se canceló su suscripción y no recibirá más mensajes nuestros. Responda START para volver a suscribirse."
        ),
    }
}

/// The answer to START/UNSTOP.
pub fn opt_in_reply(lang: Lang, org_name: &str) -> String {
    match lang {
        Lang::En => format!(
            "{org_name}: You are subscribed again. Reply STOP to unsubscribe, HELP for help."
        ),
        Lang::Es => format!(
            "{org_name}: Su suscripción está activa de nuevo. Responda PARAR para cancelarla, AYUDA para ayuda."
        ),
    }
}

/// The answer to HELP/AYUDA: who is writing, the agency's contact line, and how to stop.
pub fn help_reply(lang: Lang, org_name: &str, contact: &str) -> String {
    match lang {
        Lang::En => {
            format!("{org_name} feedback survey. Questions: {contact}. Reply STOP to unsubscribe.")
        }
        Lang::Es => format!(
            "Encuesta de opinión de {org_name}. Preguntas: {contact}. Responda PARAR para cancelar."
        ),
    }
}

// ------------------------------------------------------------------------------------------------------------------
// The survey conversation
// ------------------------------------------------------------------------------------------------------------------

/// How the trust question is answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TrustScale {
    /// "Reply 1-5": 1 strongly disagree … 5 strongly agree (the A-11 five-point scale).
    OneToFive,
    /// "Reply YES or NO" (also Y/N, SÍ/SI/NO in Spanish).
    YesNo,
}

/// Where a conversation stands: the question it waits an answer to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    /// The trust question.
    Trust,
    /// "What went well, or what didn't?"
    WhatHappened,
    /// "Anything else?" (a comment; SKIP or NO finishes).
    Comment,
    /// Finished: answered, or ended after too many replies that made no sense.
    Done,
}

impl Step {
    /// The code stored in the database.
    pub fn code(self) -> &'static str {
        match self {
            Step::Trust => "trust",
            Step::WhatHappened => "what_happened",
            Step::Comment => "comment",
            Step::Done => "done",
        }
    }

    /// The step of a stored code.
    pub fn from_code(code: &str) -> Option<Step> {
        Some(match code {
            "trust" => Step::Trust,
            "what_happened" => Step::WhatHappened,
            "comment" => Step::Comment,
            "done" => Step::Done,
            _ => return None,
        })
    }
}

/// Re-prompts allowed per question; a third reply that makes no sense ends the conversation politely.
pub const MAX_REPROMPTS: u8 = 2;

/// One conversation's state, all of which the database keeps (so a restart loses nothing).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Conversation {
    pub step: Step,
    pub lang: Lang,
    pub scale: TrustScale,
    /// Re-prompts already sent for the current question (0..=MAX_REPROMPTS).
    pub reprompts: u8,
}

/// What a reply gave the survey.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer {
    /// 1-5 on the five-point scale.
    TrustScore(u8),
    /// Yes (true) or no.
    TrustYesNo(bool),
    /// What went well or what didn't, as written.
    WhatHappened(String),
    /// The closing comment, as written.
    Comment(String),
}

/// What to do after a reply: the new state, the answer to record (if any) and the text to send back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Turn {
    pub next: Conversation,
    pub answer: Option<Answer>,
    pub reply: String,
}

fn parse_trust(scale: TrustScale, body: &str) -> Option<Answer> {
    let word = body
        .trim()
        .trim_end_matches(['.', '!'])
        .trim()
        .to_uppercase();
    match scale {
        TrustScale::OneToFive => match word.as_str() {
            "1" | "2" | "3" | "4" | "5" => Some(Answer::TrustScore(word.as_bytes()[0] - b'0')),
            _ => None,
        },
        TrustScale::YesNo => match word.as_str() {
            "YES" | "Y" | "SÍ" | "SI" | "S" => Some(Answer::TrustYesNo(true)),
            "NO" | "N" => Some(Answer::TrustYesNo(false)),
            _ => None,
        },
    }
}

/// Whether a free-text reply says something: at least one letter or digit.
fn says_something(body: &str) -> bool {
    body.chars().any(char::is_alphanumeric)
}

fn is_skip(body: &str) -> bool {
    matches!(
        body.trim()
            .trim_end_matches(['.', '!'])
            .trim()
            .to_uppercase()
            .as_str(),
        "SKIP" | "NO" | "N" | "NONE" | "OMITIR" | "NADA"
    )
}

impl Conversation {
    /// A new conversation, waiting for the trust answer.
    pub fn start(lang: Lang, scale: TrustScale) -> Conversation {
        Conversation {
            step: Step::Trust,
            lang,
            scale,
            reprompts: 0,
        }
    }

    /// The opening text: who is asking, about what, the trust question, and how to stop or change language.
    /// `statement` is the survey's trust statement in this language (for example "I trust this agency to fulfill
    /// its duties").
    pub fn opening(&self, org_name: &str, statement: &str) -> String {
        match self.lang {
            Lang::En => format!(
                "{org_name}: {} Reply STOP to opt out. Para español, responda ESPAÑOL.",
                self.question_with(statement)
            ),
            Lang::Es => format!(
                "{org_name}: {} Responda PARAR para no recibir más. For English, reply ENGLISH.",
                self.question_with(statement)
            ),
        }
    }

    fn question_with(&self, statement: &str) -> String {
        match (self.lang, self.scale) {
            (Lang::En, TrustScale::OneToFive) => {
                format!("\"{statement}\" Reply 1 (strongly disagree) to 5 (strongly agree).")
            }
            (Lang::Es, TrustScale::OneToFive) => {
                format!("\"{statement}\" Responda de 1 (muy en desacuerdo) a 5 (muy de acuerdo).")
            }
            (Lang::En, TrustScale::YesNo) => format!("\"{statement}\" Reply YES or NO."),
            (Lang::Es, TrustScale::YesNo) => format!("\"{statement}\" Responda SÍ o NO."),
        }
    }

    /// The current question, in the conversation's language (what a language switch sends again).
    pub fn question(&self, statement: &str) -> String {
        match (self.step, self.lang) {
            (Step::Trust, _) => self.question_with(statement),
            (Step::WhatHappened, Lang::En) => {
                "What went well, or what didn't? Reply in a few words.".into()
            }
            (Step::WhatHappened, Lang::Es) => {
                "¿Qué salió bien o qué no? Responda en pocas palabras.".into()
            }
            (Step::Comment, Lang::En) => {
                "Anything else you want us to know? Reply, or SKIP to finish.".into()
            }
            (Step::Comment, Lang::Es) => {
                "¿Algo más que quiera decirnos? Responda, u OMITIR para terminar.".into()
            }
            (Step::Done, lang) => thanks(lang).into(),
        }
    }

    /// The same conversation in another language, its question and re-prompt count unchanged.
    pub fn with_lang(self, lang: Lang) -> Conversation {
        Conversation { lang, ..self }
    }

    /// Advances on a reply that is not a keyword (keywords are [`Keyword::parse`]'s, handled before this).
    pub fn reply(self, body: &str, statement: &str) -> Turn {
        let advance = |step: Step, answer: Answer| {
            let next = Conversation {
                step,
                reprompts: 0,
                ..self
            };
            let reply = next.question(statement);
            Turn {
                next,
                answer: Some(answer),
                reply,
            }
        };
        match self.step {
            Step::Done => Turn {
                next: self,
                answer: None,
                reply: String::new(),
            },
            Step::Trust => match parse_trust(self.scale, body) {
                Some(answer) => advance(Step::WhatHappened, answer),
                None => self.reprompt(statement),
            },
            Step::WhatHappened if says_something(body) => {
                advance(Step::Comment, Answer::WhatHappened(body.trim().to_string()))
            }
            Step::WhatHappened => self.reprompt(statement),
            Step::Comment if is_skip(body) => {
                let next = Conversation {
                    step: Step::Done,
                    reprompts: 0,
                    ..self
                };
                Turn {
                    next,
                    answer: None,
                    reply: thanks(self.lang).into(),
                }
            }
            Step::Comment if says_something(body) => {
                let next = Conversation {
                    step: Step::Done,
                    reprompts: 0,
                    ..self
                };
                Turn {
                    next,
                    answer: Some(Answer::Comment(body.trim().to_string())),
                    reply: thanks(self.lang).into(),
                }
            }
            Step::Comment => self.reprompt(statement),
        }
    }

    fn reprompt(self, statement: &str) -> Turn {
        if self.reprompts >= MAX_REPROMPTS {
            let next = Conversation {
                step: Step::Done,
                reprompts: self.reprompts,
                ..self
            };
            let reply = match self.lang {
                Lang::En => {
                    "Sorry, we could not understand. Thank you for your time; this survey is closed."
                }
                Lang::Es => {
                    "Lo sentimos, no pudimos entender. Gracias por su tiempo; esta encuesta terminó."
                }
            };
            return Turn {
                next,
                answer: None,
                reply: reply.into(),
            };
        }
        let next = Conversation {
            reprompts: self.reprompts + 1,
            ..self
        };
        let hint = match (self.step, self.lang, self.scale) {
            (Step::Trust, Lang::En, TrustScale::OneToFive) => {
                "Please reply with a number from 1 to 5.".to_string()
            }
            (Step::Trust, Lang::Es, TrustScale::OneToFive) => {
                "Responda con un número del 1 al 5.".to_string()
            }
            (Step::Trust, Lang::En, TrustScale::YesNo) => "Please reply YES or NO.".to_string(),
            (Step::Trust, Lang::Es, TrustScale::YesNo) => "Responda SÍ o NO.".to_string(),
            _ => next.question(statement),
        };
        Turn {
            next,
            answer: None,
            reply: hint,
        }
    }
}

fn thanks(lang: Lang) -> &'static str {
    match lang {
        Lang::En => "Thank you for your feedback.",
        Lang::Es => "Gracias por su opinión.",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    /// Every known answer Twilio's SDK produced, read in place from the shared data, with and without the port.
    #[test]
    fn twilio_sdk_vectors() {
        // HEARD_SHARED_DATA names the shared data directory, as for `heard eval`; by default ../shared/data beside
        // the repository.
        let shared = std::env::var_os("HEARD_SHARED_DATA")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| {
                std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data")
            });
        let path = shared.join("twilio/signature_vectors.json");
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
        let token = doc["auth_token"].as_str().unwrap();
        let vectors = doc["vectors"].as_array().unwrap();
        assert_eq!(vectors.len(), 7);
        for v in vectors {
            let name = v["name"].as_str().unwrap();
            let url = v["url"].as_str().unwrap();
            let sig = v["signature"].as_str().unwrap();
            let params: Vec<(String, String)> = v["params"]
                .as_array()
                .unwrap()
                .iter()
                .map(|kv| {
                    (
                        kv[0].as_str().unwrap().to_string(),
                        kv[1].as_str().unwrap().to_string(),
                    )
                })
                .collect();
            if let Some(body) = v.get("body").and_then(|b| b.as_str()) {
                assert!(
                    validate_json_body(
                        SignatureAlgorithm::HmacSha1,
                        token,
                        url,
                        body.as_bytes(),
                        sig
                    ),
                    "{name}"
                );
                assert!(
                    !validate_json_body(SignatureAlgorithm::HmacSha1, token, url, b"{}", sig),
                    "{name}: body"
                );
                continue;
            }
            assert!(
                validate(SignatureAlgorithm::HmacSha1, token, url, &params, sig),
                "{name}"
            );
            // The same request seen with the port added or removed is still valid.
            let (without, with) = url_port_forms(url).unwrap();
            // A non-default port is part of what was signed: only the default one may be added or removed.
            if !url.contains(":1234") {
                assert!(
                    validate(SignatureAlgorithm::HmacSha1, token, &without, &params, sig),
                    "{name}: {without}"
                );
                assert!(
                    validate(SignatureAlgorithm::HmacSha1, token, &with, &params, sig),
                    "{name}: {with}"
                );
            }
            // Anything changed fails: token, a value, the URL, the algorithm.
            assert!(
                !validate(SignatureAlgorithm::HmacSha1, "12346", url, &params, sig),
                "{name}"
            );
            let mut changed = params.clone();
            changed[0].1.push('x');
            assert!(
                !validate(SignatureAlgorithm::HmacSha1, token, url, &changed, sig),
                "{name}"
            );
            assert!(!validate(
                SignatureAlgorithm::HmacSha1,
                token,
                &url.replace("foo=1", "foo=2"),
                &params,
                sig
            ));
            assert!(
                !validate(SignatureAlgorithm::HmacSha256, token, url, &params, sig),
                "{name}"
            );
            // Order of the pairs does not matter.
            let mut reversed = params.clone();
            reversed.reverse();
            assert!(
                validate(SignatureAlgorithm::HmacSha1, token, url, &reversed, sig),
                "{name}"
            );
        }
    }

    #[test]
    fn sha256_signs_the_same_text() {
        let params = p(&[("Body", "4"), ("From", "+15551230000")]);
        let url = "https://heard.example.gov/hooks/sms/7";
        let sig = sign(SignatureAlgorithm::HmacSha256, "secret", url, &params);
        // What twilio 9.13.0's RequestValidator.compute_signature(url, params, "HMAC_SHA256") gives.
        assert_eq!(sig, "KCC//B8/eZCNEKS9UDwje+xf4egIg+OQcAUJR8naXcg=");
        assert_eq!(
            base64::engine::general_purpose::STANDARD
                .decode(&sig)
                .unwrap()
                .len(),
            32
        );
        assert!(validate(
            SignatureAlgorithm::HmacSha256,
            "secret",
            url,
            &params,
            &sig
        ));
        assert!(validate(
            SignatureAlgorithm::HmacSha256,
            "secret",
            "https://heard.example.gov:443/hooks/sms/7",
            &params,
            &sig
        ));
        assert!(!validate(
            SignatureAlgorithm::HmacSha1,
            "secret",
            url,
            &params,
            &sig
        ));
        assert!(!validate(
            SignatureAlgorithm::HmacSha256,
            "secret",
            url,
            &params,
            "not base64!"
        ));
        assert!(!validate(
            SignatureAlgorithm::HmacSha256,
            "secret",
            url,
            &params,
            ""
        ));
    }

    #[test]
    fn settings_header() {
        use SignatureAlgorithm::*;
        assert_eq!(
            SignatureAlgorithm::from_settings_header(None),
            Some(HmacSha1)
        );
        assert_eq!(
            SignatureAlgorithm::from_settings_header(Some("")),
            Some(HmacSha1)
        );
        assert_eq!(
            SignatureAlgorithm::from_settings_header(Some("key=k1,algorithm=HMAC_SHA256")),
            Some(HmacSha256)
        );
        assert_eq!(
            SignatureAlgorithm::from_settings_header(Some("key=k1, algorithm = hmac_sha1")),
            Some(HmacSha1)
        );
        assert_eq!(
            SignatureAlgorithm::from_settings_header(Some("algorithm=HMAC_SHA512")),
            None
        );
    }

    #[test]
    fn twiml_is_escaped() {
        assert_eq!(
            twiml(&[]),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response/>"
        );
        assert_eq!(
            twiml(&["Tom & Jerry <b>\"hi\"</b>\u{7}"]),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Message>Tom &amp; Jerry &lt;b&gt;&quot;hi&quot;&lt;/b&gt;</Message></Response>"
        );
    }

    #[test]
    fn segment_counts() {
        let s = segments("");
        assert_eq!((s.encoding, s.units, s.segments), (Encoding::Gsm7, 0, 1));
        assert_eq!(segments(&"a".repeat(160)).segments, 1);
        assert_eq!(segments(&"a".repeat(161)).segments, 2);
        assert_eq!(segments(&"a".repeat(306)).segments, 2);
        assert_eq!(segments(&"a".repeat(307)).segments, 3);
        // Extension characters take two septets.
        let s = segments(&"€".repeat(80));
        assert_eq!((s.encoding, s.units, s.segments), (Encoding::Gsm7, 160, 1));
        assert_eq!(segments(&"[".repeat(81)).segments, 2);
        // An escape pair is not split: 152 septets then "€" goes to the next segment.
        let s = segments(&format!("{}€{}", "a".repeat(152), "a".repeat(10)));
        assert_eq!((s.units, s.segments), (164, 2));
        let s = segments(&format!("{}€{}", "a".repeat(152), "a".repeat(152)));
        assert_eq!((s.units, s.segments), (306, 3));
        // Spanish accents in GSM-7 stay GSM-7; á and í do not.
        assert_eq!(segments("¿Qué? ñ ü é à").encoding, Encoding::Gsm7);
        let s = segments("Sí, gracias");
        assert_eq!((s.encoding, s.units, s.segments), (Encoding::Ucs2, 11, 1));
        assert_eq!(segments(&"í".repeat(70)).segments, 1);
        assert_eq!(segments(&"í".repeat(71)).segments, 2);
        assert_eq!(segments(&"í".repeat(134)).segments, 2);
        assert_eq!(segments(&"í".repeat(135)).segments, 3);
        // An emoji is two UTF-16 units and is not split.
        let s = segments(&"😀".repeat(35));
        assert_eq!((s.encoding, s.units, s.segments), (Encoding::Ucs2, 70, 1));
        let s = segments(&format!("{}😀", "x".repeat(66)));
        assert_eq!((s.units, s.segments), (68, 1));
        let s = segments(&format!("{}😀{}", "x".repeat(66), "x".repeat(3)));
        assert_eq!((s.units, s.segments), (71, 2));
    }

    #[test]
    fn keywords() {
        for w in [
            "STOP",
            "stop",
            " Stop. ",
            "STOPALL",
            "unsubscribe",
            "CANCEL",
            "end",
            "QUIT!",
        ] {
            assert_eq!(Keyword::parse(w), Some(Keyword::OptOut(Lang::En)), "{w}");
        }
        for w in ["PARAR", "cancelar"] {
            assert_eq!(Keyword::parse(w), Some(Keyword::OptOut(Lang::Es)), "{w}");
        }
        for w in ["START", "unstop"] {
            assert_eq!(Keyword::parse(w), Some(Keyword::OptIn), "{w}");
        }
        assert_eq!(Keyword::parse("help"), Some(Keyword::Help(Lang::En)));
        assert_eq!(Keyword::parse("Ayuda"), Some(Keyword::Help(Lang::Es)));
        assert_eq!(Keyword::parse("español"), Some(Keyword::Language(Lang::Es)));
        assert_eq!(Keyword::parse("ESPANOL"), Some(Keyword::Language(Lang::Es)));
        assert_eq!(Keyword::parse("English"), Some(Keyword::Language(Lang::En)));
        for w in ["stop please", "5", "", "STOPP", "the end"] {
            assert_eq!(Keyword::parse(w), None, "{w}");
        }
        assert!(opt_out_reply(Lang::En, "DMV").contains("START"));
        assert!(help_reply(Lang::Es, "DMV", "1-800-555-0100").contains("1-800-555-0100"));
    }

    const ST: &str = "I trust this agency.";

    #[test]
    fn conversation_one_to_five() {
        let c = Conversation::start(Lang::En, TrustScale::OneToFive);
        assert!(c.opening("DMV", ST).contains("Reply 1"));
        let t = c.reply("4", ST);
        assert_eq!(t.answer, Some(Answer::TrustScore(4)));
        assert_eq!(t.next.step, Step::WhatHappened);
        let t = t.next.reply("  Short wait, kind staff ", ST);
        assert_eq!(
            t.answer,
            Some(Answer::WhatHappened("Short wait, kind staff".into()))
        );
        assert_eq!(t.next.step, Step::Comment);
        let t = t.next.reply("Parking was hard", ST);
        assert_eq!(t.answer, Some(Answer::Comment("Parking was hard".into())));
        assert_eq!(t.next.step, Step::Done);
        assert_eq!(t.reply, "Thank you for your feedback.");
        // Done stays done and says nothing.
        let t = t.next.reply("hello?", ST);
        assert_eq!(
            (t.next.step, t.answer, t.reply.as_str()),
            (Step::Done, None, "")
        );
    }

    #[test]
    fn conversation_yes_no_spanish_and_skip() {
        let c = Conversation::start(Lang::Es, TrustScale::YesNo);
        let t = c.reply("sí", ST);
        assert_eq!(t.answer, Some(Answer::TrustYesNo(true)));
        assert!(t.reply.starts_with("¿Qué"));
        let t = t.next.reply("Todo bien", ST);
        let t = t.next.reply("omitir", ST);
        assert_eq!((t.next.step, t.answer), (Step::Done, None));
        assert_eq!(t.reply, "Gracias por su opinión.");
        assert_eq!(
            Conversation::start(Lang::En, TrustScale::YesNo)
                .reply("no", ST)
                .answer,
            Some(Answer::TrustYesNo(false))
        );
    }

    #[test]
    fn nonsense_twice_then_closed() {
        let c = Conversation::start(Lang::En, TrustScale::OneToFive);
        let t1 = c.reply("seven", ST);
        assert_eq!(
            (t1.next.step, t1.next.reprompts, t1.answer.clone()),
            (Step::Trust, 1, None)
        );
        assert_eq!(t1.reply, "Please reply with a number from 1 to 5.");
        let t2 = t1.next.reply("6", ST);
        assert_eq!((t2.next.step, t2.next.reprompts), (Step::Trust, 2));
        let t3 = t2.next.reply("??", ST);
        assert_eq!(t3.next.step, Step::Done);
        assert!(t3.reply.contains("survey is closed"));
        // A good answer after one re-prompt resets the count for the next question.
        let t = c.reply("x", ST).next.reply("5", ST);
        assert_eq!((t.next.step, t.next.reprompts), (Step::WhatHappened, 0));
        let t = t.next.reply("...", ST);
        assert_eq!((t.next.step, t.next.reprompts), (Step::WhatHappened, 1));
        // Switching language keeps the place and re-asks in the new language.
        let es = t.next.with_lang(Lang::Es);
        assert_eq!(es.step, Step::WhatHappened);
        assert!(es.question(ST).starts_with("¿Qué"));
    }

    #[test]
    fn step_codes_round_trip() {
        for s in [Step::Trust, Step::WhatHappened, Step::Comment, Step::Done] {
            assert_eq!(Step::from_code(s.code()), Some(s));
        }
        assert_eq!(Lang::from_code("es"), Lang::Es);
        assert_eq!(Lang::from_code("xx"), Lang::En);
    }
}
