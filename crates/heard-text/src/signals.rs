//! Language identification, intent, emotions and urgency, from word and phrase cues.
//!
//! These are deliberately transparent rules: each decision can be traced to the words that made
//! it, and an agency can read the cue lists below. Crisis and threat language is read by the
//! rules of [`crate::crisis`], anchored in the same one-pass scan; they favour recall: a false
//! alarm costs a reviewer a minute, a miss can cost a life.

use serde::Serialize;

use crate::crisis::{self, Kind, Rule};
use crate::tokens::{HeadIndex, WordMap, WordTable, Words};

/// What the writer wants.
#[derive(Serialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Intent {
    Complaint,
    Compliment,
    Question,
    Suggestion,
    RequestForHelp,
    /// No intent: "N/A", "Nothing to add", a bare statement of fact.
    None,
}

/// Emotions the text expresses.
#[derive(Serialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Emotion {
    Frustration,
    Confusion,
    Anxiety,
    Gratitude,
}

/// Flags that need a human at once (see [`crate::crisis`] for what raises them).
#[derive(Serialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Urgency {
    /// Someone is at risk: suicidal ideation, intent, plans, preparation, farewells, self-harm,
    /// or a basic need that cannot wait.
    Crisis,
    /// Someone threatens violence, to staff, to others or to a building, openly or veiled.
    Threat,
}

const ES_WORDS: &[&str] = &[
    "el", "la", "los", "las", "de", "del", "y", "que", "en", "un", "una", "por", "para", "con",
    "no", "es", "se", "su", "lo", "al", "mi", "muy", "pero", "como", "más", "mas", "está", "esta",
    "estoy", "tengo", "fue", "me", "nos", "porque", "cuando", "gracias", "hola", "nadie", "ayuda",
    "sí", "hace", "meses", "días", "dias", "oficina",
];
const EN_WORDS: &[&str] = &[
    "the", "and", "to", "of", "a", "in", "is", "it", "i", "you", "that", "for", "was", "on", "my",
    "with", "they", "this", "have", "be", "not", "are", "but", "me", "at", "no", "so", "very",
    "thank", "thanks", "help", "been", "would", "we", "an", "just", "what", "when", "there",
];

/// "en" or "es" from function-word counts; an explicit hint wins when it names one of them.
pub fn language(words: &[&str], hint: Option<&str>) -> &'static str {
    Signals::shared_language(words, hint, None)
}

/// The language a hint such as "es-MX" or " EN " names, when it names English or Spanish.
fn hinted_language(hint: Option<&str>) -> Option<&'static str> {
    let h = hint?.trim().to_ascii_lowercase();
    if h.starts_with("es") {
        Some("es")
    } else if h.starts_with("en") {
        Some("en")
    } else {
        None
    }
}

/// True when `w` holds a letter only Spanish writes (ñ or an acute accent).
fn spanish_letters(w: &str) -> bool {
    !w.is_ascii()
        && w.chars()
            .any(|c| matches!(c, 'ñ' | 'á' | 'é' | 'í' | 'ó' | 'ú'))
}
/// Cue lists by signal: (signal bit, phrases, prefixes).
const FRUSTRATION_PREFIX: &[&str] = &[
    "frustrat",
    "annoy",
    "angry",
    "anger",
    "furious",
    "ridiculous",
    "unacceptable",
    "outrag",
    "infuriat",
    "livid",
    "pissed",
    "enoj",
    "molest",
    "harto",
    "harta",
    "indign",
    "furios",
    "ridícul",
    "inaceptable",
];
const FRUSTRATION: &[&str] = &[
    "fed up",
    "sick of",
    "tired of",
    "had enough",
    "waste of time",
    "what a joke",
    "once again",
    "yet again",
];
const CONFUSION_PREFIX: &[&str] = &["confus", "unclear", "puzzl", "baffl", "perplex"];
const CONFUSION: &[&str] = &[
    "lost",
    "don't understand",
    "do not understand",
    "no idea",
    "makes no sense",
    "doesn't make sense",
    "not sure",
    "what does",
    "how do i",
    "no entiendo",
    "no sé",
    "no se como",
    "no está claro",
];
const ANXIETY_PREFIX: &[&str] = &[
    "worr", "anxi", "scared", "afraid", "nervous", "panic", "stress", "desperat", "fear", "terrif",
    "preocup", "ansi", "miedo", "asustad", "desesper", "estrés", "estres",
];
const ANXIETY: &[&str] = &[
    "can't sleep",
    "can't afford",
    "cannot afford",
    "lose my home",
    "lose my house",
    "no money",
    "behind on rent",
];
const GRATITUDE_PREFIX: &[&str] = &[
    "thank",
    "grateful",
    "gratitude",
    "appreciat",
    "gracias",
    "agradec",
];
const HELP: &[&str] = &[
    "please help",
    "help me",
    "need help",
    "i need assistance",
    "can someone",
    "can anyone",
    "could someone",
    "please call me",
    "call me back",
    "contact me",
    "i need someone",
    "necesito ayuda",
    "ayúdenme",
    "ayudenme",
    "por favor ayuda",
    "llámenme",
    "llamenme",
];
/// Questions asked as statements ("I would like to know when my card will arrive").
const INDIRECT_QUESTION: &[&str] = &[
    "i would like to know",
    "i'd like to know",
    "we would like to know",
    "i want to know",
    "i need to know",
    "i am wondering",
    "i'm wondering",
    "i was wondering",
    "i wonder if",
    "i wonder when",
    "i wonder why",
    "please let me know",
    "quiero saber",
    "quisiera saber",
    "necesito saber",
    "me gustaría saber",
    "me gustaria saber",
];
const SUGGESTION: &[&str] = &[
    "you should",
    "should be",
    "it would be",
    "would be nice",
    "would be great",
    "would be helpful",
    "i suggest",
    "i recommend",
    "suggestion",
    "please add",
    "please make",
    "could you add",
    "it'd be",
    "why not",
    "consider",
    "deberían",
    "deberian",
    "sería bueno",
    "seria bueno",
    "sugiero",
    "recomiendo que",
];
const QUESTION_START: &[&str] = &[
    "how", "what", "when", "where", "why", "who", "which", "is", "can", "does", "do", "will",
    "cómo", "como", "qué", "cuándo", "dónde",
];

const CRISIS_BIT: u16 = 1;
const THREAT_BIT: u16 = 2;
const FRUSTRATION_BIT: u16 = 4;
const CONFUSION_BIT: u16 = 8;
const ANXIETY_BIT: u16 = 16;
const GRATITUDE_BIT: u16 = 32;
const HELP_BIT: u16 = 64;
const SUGGESTION_BIT: u16 = 128;
const QUESTION_BIT: u16 = 256;

/// For a word that starts a cue phrase, anchors a crisis or threat rule, or is a function word:
/// its language bits (1 Spanish, 2 English), the phrases it starts, as (signal bit, the words that
/// must follow), and the crisis and threat rules it anchors (indices into `Signals::rules`).
type FirstWord = (u8, Vec<(u16, Vec<&'static str>)>, Vec<u16>);

/// What one pass over a text's words found.
#[derive(Default, Clone, Copy, Debug)]
pub struct Cues {
    bits: u16,
    es: u32,
    en: u32,
}

/// Cue phrases and prefixes indexed by their first word (or first three characters), so one
/// pass over the words finds every cue.
pub struct Signals {
    /// Function words: 1 Spanish, 2 English.
    function_words: WordMap<&'static str, u8>,
    /// Cue phrases by first word, with the word's function-word bits, for the one-pass scan.
    phrases: WordTable<FirstWord>,
    prefixes: HeadIndex<(u16, &'static str)>,
    /// Crisis and threat rules, found through their anchor words in `phrases`.
    rules: Vec<Rule>,
}

impl Default for Signals {
    fn default() -> Self {
        Signals::new()
    }
}

impl Signals {
    pub fn new() -> Signals {
        let mut phrases: WordTable<FirstWord> = WordTable::default();
        let mut prefixes: HeadIndex<(u16, &'static str)> = HeadIndex::default();
        for (bit, list) in [
            (FRUSTRATION_BIT, FRUSTRATION),
            (CONFUSION_BIT, CONFUSION),
            (ANXIETY_BIT, ANXIETY),
            (HELP_BIT, HELP),
            (SUGGESTION_BIT, SUGGESTION),
            (QUESTION_BIT, INDIRECT_QUESTION),
        ] {
            for p in list {
                // Phrases are split the way texts are, so "self-harm" stays one word.
                let ws: Vec<&'static str> = crate::tokens::words(p).map(|(_, w)| w).collect();
                if let Some((first, rest)) = ws.split_first() {
                    phrases.entry(first).1.push((bit, rest.to_vec()));
                }
            }
        }
        for (bit, list) in [
            (FRUSTRATION_BIT, FRUSTRATION_PREFIX),
            (CONFUSION_BIT, CONFUSION_PREFIX),
            (ANXIETY_BIT, ANXIETY_PREFIX),
            (GRATITUDE_BIT, GRATITUDE_PREFIX),
        ] {
            for p in list {
                prefixes.insert(p, (bit, p));
            }
        }
        let mut rules = Vec::new();
        for (rule, anchors) in crisis::rules() {
            let id = u16::try_from(rules.len()).expect("fewer than 65,536 crisis rules");
            for a in anchors {
                let ids = &mut phrases.entry(&a).2;
                if !ids.contains(&id) {
                    ids.push(id);
                }
            }
            rules.push(rule);
        }
        let mut function_words: WordMap<&'static str, u8> = WordMap::default();
        for w in ES_WORDS {
            *function_words.entry(w).or_default() |= 1;
            phrases.entry(w).0 |= 1;
        }
        for w in EN_WORDS {
            *function_words.entry(w).or_default() |= 2;
            phrases.entry(w).0 |= 2;
        }
        Signals {
            function_words,
            phrases,
            prefixes,
            rules,
        }
    }

    /// "en" or "es" from function-word counts; an explicit hint wins when it names one of them.
    pub fn language(&self, words: &[&str], hint: Option<&str>) -> &'static str {
        Signals::shared_language(words, hint, Some(&self.function_words))
    }

    fn shared_language(
        words: &[&str],
        hint: Option<&str>,
        index: Option<&WordMap<&'static str, u8>>,
    ) -> &'static str {
        if let Some(lang) = hinted_language(hint) {
            return lang;
        }
        let mut es = 0;
        let mut en = 0;
        for w in words {
            let k = match index {
                Some(m) => m.get(w).copied().unwrap_or(0),
                None => u8::from(ES_WORDS.contains(w)) | (u8::from(EN_WORDS.contains(w)) << 1),
            };
            es += u32::from(k & 1);
            en += u32::from(k >> 1);
            es += u32::from(spanish_letters(w));
        }
        if es > en { "es" } else { "en" }
    }

    /// One pass over the lower-case words: the signal bits and the function-word counts.
    pub fn scan(&self, words: &Words) -> Cues {
        let ws = &words.words;
        let mut cues = Cues::default();
        for (i, (w, &h)) in ws.iter().zip(&words.hashes).enumerate() {
            if let Some((lang, cands, rules)) = self.phrases.get(w, h) {
                cues.es += u32::from(lang & 1);
                cues.en += u32::from(lang >> 1);
                for &r in rules {
                    let rule = &self.rules[usize::from(r)];
                    let bit = match rule.kind {
                        Kind::Crisis => CRISIS_BIT,
                        Kind::Threat => THREAT_BIT,
                    };
                    if cues.bits & bit == 0 && rule.matches(ws, i) {
                        cues.bits |= bit;
                    }
                }
                for (bit, rest) in cands {
                    if rest
                        .iter()
                        .enumerate()
                        .all(|(k, r)| ws.get(i + 1 + k) == Some(r))
                    {
                        cues.bits |= bit;
                    }
                }
            }
            if !words.ascii {
                cues.es += u32::from(spanish_letters(w));
            }
            for (bit, p) in self.prefixes.get(w) {
                if w.starts_with(p) {
                    cues.bits |= bit;
                }
            }
        }
        cues
    }

    /// The crisis and threat rules that match the lower-case words, as (urgency, category, rule
    /// text), so a reviewer can see why a text was flagged.
    pub fn urgency_reasons(&self, words: &Words) -> Vec<(Urgency, &'static str, &'static str)> {
        let ws = &words.words;
        let mut out = Vec::new();
        for (i, (w, &h)) in ws.iter().zip(&words.hashes).enumerate() {
            if let Some((_, _, rules)) = self.phrases.get(w, h) {
                for &r in rules {
                    let rule = &self.rules[usize::from(r)];
                    if rule.matches(ws, i) {
                        let u = match rule.kind {
                            Kind::Crisis => Urgency::Crisis,
                            Kind::Threat => Urgency::Threat,
                        };
                        out.push((u, rule.category, rule.source));
                    }
                }
            }
        }
        out
    }

    /// "en" or "es" from a scan; an explicit hint wins when it names one of them.
    pub fn language_of(cues: &Cues, hint: Option<&str>) -> &'static str {
        if let Some(lang) = hinted_language(hint) {
            return lang;
        }
        if cues.es > cues.en { "es" } else { "en" }
    }

    /// The urgency flags a scan found.
    pub fn urgency(cues: &Cues) -> Vec<Urgency> {
        let mut urgency = Vec::new();
        if cues.bits & CRISIS_BIT != 0 {
            urgency.push(Urgency::Crisis);
        }
        if cues.bits & THREAT_BIT != 0 {
            urgency.push(Urgency::Threat);
        }
        urgency
    }

    /// Intent, emotions and urgency of a text from its lower-case words, its raw text (for
    /// punctuation) and its sentiment score.
    pub fn read(
        &self,
        cues: &Cues,
        ws: &[&str],
        raw: &str,
        score: f32,
    ) -> (Intent, Vec<Emotion>, Vec<Urgency>) {
        let bits = cues.bits;
        let urgency = Signals::urgency(cues);
        let mut emotions = Vec::new();
        if bits & FRUSTRATION_BIT != 0 || raw.contains("!!") {
            emotions.push(Emotion::Frustration);
        }
        if bits & CONFUSION_BIT != 0 {
            emotions.push(Emotion::Confusion);
        }
        if bits & ANXIETY_BIT != 0 {
            emotions.push(Emotion::Anxiety);
        }
        if bits & GRATITUDE_BIT != 0 {
            emotions.push(Emotion::Gratitude);
        }
        (intent(bits, ws, raw, score), emotions, urgency)
    }
}

/// A question told by its first word when the writer left out the question mark ("how do I
/// renew my license", "where is my refund"). Not when an auxiliary is denied, which opens a
/// statement with its subject dropped ("Does not work", "Can not log in", "Will not be back") or
/// a warning ("Do not use this site"), nor "what a ...", an exclamation ("What a waste of time").
fn opens_question(ws: &[&str]) -> bool {
    let Some(first) = ws.first() else {
        return false;
    };
    let second = ws.get(1).copied().unwrap_or("");
    QUESTION_START.contains(first)
        && !(matches!(*first, "is" | "can" | "does" | "do" | "will")
            && matches!(second, "not" | "never" | "no"))
        && !(*first == "what" && matches!(second, "a" | "an"))
}

/// The writer's main intent. Help requests and questions are read from their form (a question
/// mark, a question word first, or a question asked as a statement); otherwise the
/// sentiment decides between complaint and compliment.
fn intent(bits: u16, ws: &[&str], raw: &str, score: f32) -> Intent {
    if bits & HELP_BIT != 0 {
        return Intent::RequestForHelp;
    }
    let suggestion = bits & SUGGESTION_BIT != 0;
    let question = raw.contains('?')
        || raw.contains('¿')
        || (opens_question(ws) || bits & QUESTION_BIT != 0) && ws.len() < 25;
    if suggestion && score > -0.5 {
        return Intent::Suggestion;
    }
    if question && score > -0.3 {
        return Intent::Question;
    }
    if score >= 0.3 || bits & GRATITUDE_BIT != 0 && score >= 0.0 {
        return Intent::Compliment;
    }
    if suggestion {
        return Intent::Suggestion;
    }
    if question && score > -0.6 {
        return Intent::Question;
    }
    Intent::Complaint
}
