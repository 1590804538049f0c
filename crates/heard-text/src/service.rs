//! Reading public-service feedback: rules that know service events, and a learned layer over them.
//!
//! Comments to agencies state failures as facts ("It's been 14 weeks and my refund still hasn't
//! arrived", "Got transferred five times"), wrap complaints and questions in politeness ("thanks",
//! "please help"), ask for things ("Could you add evening hours?"), answer "N/A", deny negatives as
//! praise ("Couldn't have been easier") and mix praise with blame. A valence lexicon reads none of
//! this. This module names those patterns as rule features (`@delay`, `@repeat`, `@bounce`, `@loss`,
//! `@error`, `@wrong`, `@prompt`, `@polite`, `@ask`, `@null`, `@negneg`, `@sarcasm`, ...; English and
//! Spanish),
//! adds the lexicon's score, the rule-based intent and the text's words and word pairs, and reads
//! three-way sentiment and intent with two multinomial logistic regressions over them.
//!
//! The weights ship as readable text (`data/service_model.tsv`, one feature per line with its
//! weight for each class), remade by `heard train-service` from the labelled development set of
//! service feedback; the same command reports its cross-validated accuracy. Written here rather
//! than taken from a machine-learning crate for the reason `model.rs` gives: a sparse linear model
//! is a few dozen lines, a crate is a large build.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use crate::model::{feature_hash, pair_hash, text_word_hash};
use crate::signals::Intent;
use crate::tokens::{IdMap, WordMap, Words, word_hash};
use crate::vectors::{self, WordVectors};

const MODEL_TSV: &str = include_str!("../data/service_model.tsv");

/// The intents, in the order of the model file's columns.
pub const INTENTS: [Intent; 6] = [
    Intent::Complaint,
    Intent::Compliment,
    Intent::Question,
    Intent::Suggestion,
    Intent::RequestForHelp,
    Intent::None,
];
const N_OUT: usize = 11;
/// The model's sentiment replaces the lexicon's only for a text it reads as service feedback with
/// at least this probability (Spanish texts always: no other Spanish genre was trained on).
pub const SERVICE_MIN: f32 = 0.8;
/// What a text's unit-length mean word vector is multiplied by as features of the model.
const VECTOR_SCALE: f32 = 1.0;
/// One element of a rule pattern.
#[derive(Clone, Copy, Debug)]
enum Pat {
    Word(&'static str),
    /// A word starting with this.
    Prefix(&'static str),
    /// A number, in digits or words ("14", "five", "tres").
    Num,
}

/// Rule features: a name and the phrases that raise it. A phrase is words separated by spaces; a
/// trailing `*` makes a prefix, `#` stands for a number.
const RULES: &[(&str, &[&str])] = &[
    (
        "@delay",
        &[
            "still waiting",
            "still haven't",
            "still hasn't",
            "still have not",
            "still has not",
            "still no",
            "still not",
            "still don't",
            "still do not",
            "still nothing",
            "still pending",
            "hasn't arrived",
            "has not arrived",
            "haven't received",
            "have not received",
            "haven't gotten",
            "never received",
            "never arrived",
            "never got",
            "never came",
            "never heard",
            "haven't heard",
            "have not heard",
            "no response",
            "no reply",
            "no answer",
            "no word",
            "no update",
            "no updates",
            "# weeks",
            "# months",
            "# days",
            "# hours",
            "# years",
            "# minutes",
            "over a month",
            "over a week",
            "more than a month",
            "more than a week",
            "weeks later",
            "months later",
            "took forever",
            "taking forever",
            "takes forever",
            "so long",
            "too long",
            "delay*",
            "backlog*",
            "overdue",
            "on hold",
            "todavía no",
            "todavia no",
            "aún no",
            "aun no",
            "ya pasaron",
            "llevo #",
            "llevamos #",
            "# meses",
            "# semanas",
            "# días",
            "# dias",
            "# horas",
            "sin respuesta",
            "no he recibido",
            "no hemos recibido",
            "nunca llegó",
            "nunca llego",
            "nunca recibí",
            "nunca recibi",
            "sigo esperando",
            "seguimos esperando",
            "demasiado tiempo",
            "demora*",
            "retras*",
            "tardan",
            "tardaron",
            "tardó",
            "tardo mucho",
        ],
    ),
    (
        "@repeat",
        &[
            "# times",
            "every time",
            "each time",
            "again and again",
            "over and over",
            "once again",
            "yet again",
            "keep getting",
            "kept getting",
            "keep asking",
            "kept asking",
            "keeps asking",
            "multiple times",
            "several times",
            "numerous times",
            "many times",
            "countless times",
            "repeatedly",
            "third time",
            "fourth time",
            "asked again",
            "asked me again",
            "send again",
            "sent again",
            "resubmit*",
            "re-submit*",
            "# veces",
            "varias veces",
            "muchas veces",
            "otra vez",
            "de nuevo",
            "cada vez",
            "una y otra",
        ],
    ),
    (
        "@bounce",
        &[
            "transferred",
            "transfer me",
            "bounced",
            "runaround",
            "run around",
            "main menu",
            "passed around",
            "passed me",
            "back and forth",
            "sent me to",
            "told me to call",
            "hung up",
            "disconnected",
            "busy signal",
            "nobody answers",
            "no one answers",
            "nobody answered",
            "no one answered",
            "nobody picks",
            "no one picks",
            "transfirieron",
            "me pasaron",
            "de un lado a otro",
            "colgaron",
            "me colgaron",
            "nadie contesta",
            "nadie responde",
            "nadie me contesta",
        ],
    ),
    (
        "@loss",
        &[
            "lost",
            "misplaced",
            "went missing",
            "missing",
            "never arrived",
            "perdieron",
            "perdió",
            "perdio",
            "se perdió",
            "extraviad*",
        ],
    ),
    (
        "@error",
        &[
            "error*",
            "crash*",
            "glitch*",
            "broken",
            "doesn't work",
            "does not work",
            "didn't work",
            "did not work",
            "won't load",
            "wont load",
            "won't let",
            "wouldn't let",
            "not working",
            "isn't working",
            "wasn't working",
            "stopped working",
            "failed",
            "fails",
            "failing",
            "timed out",
            "times out",
            "froze",
            "freez*",
            "bug",
            "bugs",
            "locked out",
            "no funciona",
            "no funcionó",
            "no funciono",
            "falla*",
            "falló",
            "se cae",
            "se cayó",
            "no carga",
            "no sirve",
            "no me deja",
        ],
    ),
    (
        "@wrong",
        &[
            "wrong",
            "incorrect*",
            "old address",
            "mistake*",
            "misspelled",
            "inaccurate",
            "not mine",
            "never ordered",
            "equivocad*",
            "incorrect*",
            "erróne*",
            "errone*",
            "dirección anterior",
            "dirección vieja",
            "direccion vieja",
        ],
    ),
    (
        "@deny",
        &[
            "denied",
            "rejected",
            "refused",
            "cut off",
            "terminated",
            "cancelled my",
            "canceled my",
            "closed my",
            "negaron",
            "rechaz*",
            "cancelaron",
            "me quitaron",
            "me cortaron",
        ],
    ),
    (
        "@nohelp",
        &[
            "no one",
            "nobody",
            "no help",
            "didn't help",
            "couldn't help",
            "could not help",
            "can't help",
            "won't help",
            "no way to",
            "nadie",
            "no me ayud*",
            "no me dieron",
            "no me dan",
        ],
    ),
    (
        "@money",
        &[
            "charged twice",
            "double charged",
            "overcharged",
            "late fee",
            "late fees",
            "penalty",
            "penalties",
            "owe",
            "me cobraron",
            "cobraron dos",
        ],
    ),
    (
        "@polite",
        &[
            "thanks",
            "thank",
            "please",
            "appreciate*",
            "love to know",
            "would love",
            "i'd love",
            "gracias",
            "por favor",
            "agradec*",
            "best regards",
            "kind regards",
            "saludos",
        ],
    ),
    (
        "@ask",
        &[
            "would be cool",
            "would be easier",
            "would save",
            "any chance",
            "should say",
            "estaría bien",
            "estaria bien",
            "sería de gran",
            "seria de gran",
            "debería",
            "deberia",
            "tengan",
            "a few ideas",
            "some ideas",
            "unas ideas",
            "algunas ideas",
            "would like",
            "i'd like",
            "we need",
            "need more",
            "more staff",
            "more people",
            "let people",
            "let us",
            "text me",
            "email me",
            "estaría padre",
            "estaria padre",
            "estaría bien",
            "que pongan",
            "que haya",
            "que tengan",
            "pongan",
            "abran",
            "hagan",
            "manden",
            "permitan",
            "contraten",
            "could you",
            "can you",
            "would you",
            "is there a way",
            "is there any way",
            "is it possible",
            "will you",
            "please add",
            "please make",
            "please consider",
            "it would be",
            "it'd be",
            "would be nice",
            "would be great",
            "would be helpful",
            "would help",
            "would make",
            "i suggest",
            "i'd suggest",
            "i recommend",
            "i wish",
            "should",
            "consider",
            "why not",
            "how about",
            "maybe add",
            "add more",
            "offer",
            "allow",
            "podrían",
            "podrian",
            "pueden",
            "puedan",
            "sería bueno",
            "seria bueno",
            "sería útil",
            "seria util",
            "ojalá",
            "ojala",
            "deberían",
            "deberian",
            "sugiero",
            "recomiendo",
            "agreguen",
            "añadan",
            "ofrezcan",
        ],
    ),
    (
        "@howto",
        &[
            "how do i",
            "how can i",
            "how long",
            "when will",
            "where do i",
            "where can i",
            "what do i",
            "who do i",
            "do i need",
            "do you",
            "is there",
            "can i",
            "am i",
            "what is the",
            "cómo puedo",
            "como puedo",
            "cuándo",
            "cuando va",
            "dónde",
            "donde puedo",
            "necesito saber",
            "quisiera saber",
            "quiero saber",
            "who should i",
            "what should i",
            "how much",
            "what time",
            "what are the",
            "cuánto cuesta",
            "cuanto cuesta",
            "cuánto tiempo",
            "cuanto tiempo",
            "con quién",
            "con quien",
            "a quién",
            "a quien",
            "a dónde",
            "a donde",
            "qué necesito",
            "que necesito",
            "qué documentos",
            "que documentos",
            "cómo le hago",
            "como le hago",
            "cómo hago",
            "como hago",
            "se puede",
        ],
    ),
    (
        "@negneg",
        &[
            "never made me",
            "wasn't a long",
            "not a long",
            "didn't wait more",
            "did not wait more",
            "no confusion",
            "nada mal",
            "no dejaba dudas",
            "ninguna duda",
            "ni esperé",
            "ni espere",
            "no fue nada",
            "wasn't treated badly",
            "not treated badly",
            "zero problem*",
            "cero problema*",
            "not once",
            "never once",
            "wasn't bad",
            "was not bad",
            "not bad",
            "isn't bad",
            "nothing went wrong",
            "never a wait",
            "couldn't ask for",
            "could not ask for",
            "wasn't the nightmare",
            "didn't take long",
            "didn't take forever",
            "en ningún momento",
            "en ningun momento",
            "sin quejas",
            "no lo fue",
            "ni un error",
            "nadie me apur*",
            "nunca me sentí",
            "nunca me senti",
            "wasn't made",
            "never felt",
            "didn't feel",
            "did not feel",
            "no fue difícil",
            "no fue dificil",
            "no tuve ningun",
            "not treated unfairly",
            "wasn't treated unfairly",
            "was not treated unfairly",
            "couldn't have been easier",
            "could not have been easier",
            "couldn't be easier",
            "could not be easier",
            "couldn't have been better",
            "could not have been better",
            "couldn't be happier",
            "no problem*",
            "no issue*",
            "no complaint*",
            "nothing to complain",
            "never had a problem",
            "never had any",
            "never had an issue",
            "no trouble",
            "no hassle",
            "hassle free",
            "hassle-free",
            "without any problem*",
            "without a problem",
            "without any issue*",
            "without issue*",
            "without a hitch",
            "not difficult",
            "wasn't difficult",
            "not hard",
            "wasn't hard",
            "not complicated",
            "no wait",
            "no waiting",
            "didn't have to wait",
            "did not have to wait",
            "no long",
            "not a single",
            "sin problema*",
            "ningún problema",
            "ningun problema",
            "sin complicaciones",
            "no tuve problema*",
            "no tuve ningún",
            "no tuve que esperar",
            "nada que quejar*",
            "sin ninguna",
        ],
    ),
    (
        "@sarcasm",
        &[
            "new record",
            "my favorite",
            "favorite hobby",
            "oh sure",
            "oh wait",
            "ah yes",
            "can't wait to get",
            "best of luck",
            "really appreciate being",
            "ya es tradición",
            "ay qué bueno",
            "ay que bueno",
            "bravo",
            "me deja tan",
            "sure let me",
            "sure i'll",
            "wow only",
            "what a surprise",
            "shocking",
            "surprise surprise",
            "of course it",
            "como siempre",
            "qué sorpresa",
            "que sorpresa",
            "great another",
            "wonderful another",
            "perfect another",
            "awesome another",
            "fantastic another",
            "nice another",
            "brilliant another",
            "lovely another",
            "just great",
            "just perfect",
            "just wonderful",
            "just fantastic",
            "just lovely",
            "oh great",
            "oh wonderful",
            "oh joy",
            "oh good",
            "thanks a lot",
            "thanks for nothing",
            "gotta love",
            "got to love",
            "love how",
            "love it when",
            "love that i",
            "love waiting",
            "yeah right",
            "what a joke",
            "qué maravilla",
            "que maravilla",
            "genial otra",
            "perfecto otra",
        ],
    ),
    (
        "@nullish",
        &[
            "no thank you",
            "nothing else to",
            "nop",
            "ninguno",
            "todo dicho",
            "all good",
            "nothing comes to mind",
            "nothing to add",
            "nothing else",
            "nothing more",
            "nothing to share",
            "nothing further",
            "no more comments",
            "no additional comment*",
            "no further comment*",
            "no other comment*",
            "no comment*",
            "that's all",
            "that's it",
            "that is all",
            "none at this time",
            "nothing at this time",
            "not at this time",
            "not really",
            "no thanks",
            "eso es todo",
            "sin comentario*",
            "nada que agregar",
            "nada que añadir",
            "nada más",
            "nada mas",
            "no tengo comentarios",
            "no tengo nada",
        ],
    ),
    (
        "@contrast",
        &[
            "but",
            "though",
            "although",
            "however",
            "yet",
            "pero",
            "aunque",
            "sin embargo",
        ],
    ),
    (
        "@praise",
        &[
            "great job",
            "well done",
            "above and beyond",
            "keep up",
            "so helpful",
            "very helpful",
            "very kind",
            "very friendly",
            "very professional",
            "very efficient",
            "quick and easy",
            "fast and easy",
            "easy to use",
            "easy to find",
            "excellent",
            "amazing",
            "wonderful",
            "outstanding",
            "fantastic",
            "kudos",
            "impressed",
            "muy amable",
            "muy amables",
            "muy atento*",
            "excelente",
            "rápido y fácil",
            "rapido y facil",
            "muy fácil",
            "muy facil",
            "muy buen*",
            "felicit*",
        ],
    ),
    // Service done sooner than feared, stated as a fact ("Appointment started on time, done in 15
    // minutes", "Mi pasaporte llegó antes de lo que esperaba"): the counterpart of `@delay`.
    (
        "@prompt",
        &[
            "on time",
            "right on time",
            "ahead of schedule",
            "earlier than",
            "sooner than",
            "faster than",
            "quicker than",
            "same day",
            "same week",
            "next day",
            "right away",
            "in no time",
            "no wait",
            "no line",
            "didn't have to wait",
            "did not have to wait",
            "never had to wait",
            "only took",
            "done in",
            "in # minutes",
            "within # days",
            "called me back",
            "a tiempo",
            "antes de lo",
            "más rápido",
            "mas rapido",
            "el mismo día",
            "el mismo dia",
            "al día siguiente",
            "al dia siguiente",
            "no tuve que esperar",
            "sin esperar",
            "sin fila",
            "en # minutos",
            "me regresaron la llamada",
        ],
    ),
];

/// Whole answers that say nothing: "N/A", "none", "nothing to add".
const NULL_ANSWERS: &[&str] = &[
    "",
    "skip",
    "ok",
    "k",
    "x",
    "ya",
    "no more",
    "eso es todo",
    "sin comentario",
    "that's all",
    "that's it",
    "n a",
    "na",
    "n",
    "a",
    "none",
    "nothing",
    "nothing to add",
    "nothing else",
    "nothing more",
    "nothing at this time",
    "no comment",
    "no comments",
    "no further comments",
    "not applicable",
    "no",
    "nope",
    "nah",
    "no thanks",
    "nada",
    "nada más",
    "nada mas",
    "ninguno",
    "ninguna",
    "no aplica",
    "sin comentarios",
    "no tengo comentarios",
    "nada que agregar",
    "nada que añadir",
];

/// First words that make a sentence an ask or a suggestion ("Add a chat option", "Pongan más
/// bancas").
const IMPERATIVE_FIRST: &[&str] = &[
    "add",
    "make",
    "open",
    "put",
    "send",
    "hire",
    "include",
    "text",
    "let",
    "allow",
    "offer",
    "provide",
    "give",
    "extend",
    "create",
    "fix",
    "stop",
    "keep",
    "consider",
    "suggest",
    "please",
    "more",
    "maybe",
    "pongan",
    "abran",
    "agreguen",
    "den",
    "hagan",
    "manden",
    "envíen",
    "envien",
    "permitan",
    "ofrezcan",
    "contraten",
    "que",
    "deberían",
    "deberian",
    "necesitan",
];

const NUMBER_WORDS: &[&str] = &[
    "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
    "fifteen", "twenty", "thirty", "forty", "fifty", "several", "many", "multiple", "few", "dos",
    "tres", "cuatro", "cinco", "seis", "siete", "ocho", "nueve", "diez", "doce", "quince",
    "veinte", "treinta", "varios", "varias", "muchos", "muchas",
];

/// The feature names of service events: any of them is also the cross feature `@event`.
const EVENTS: &[&str] = &[
    "@delay", "@repeat", "@bounce", "@loss", "@error", "@wrong", "@deny", "@nohelp", "@money",
];

fn is_number(w: &str) -> bool {
    (!w.is_empty() && w.bytes().all(|b| b.is_ascii_digit())) || NUMBER_WORDS.contains(&w)
}

/// What a text brings to the model besides its words.
pub struct Context<'a> {
    pub words: &'a Words<'a>,
    /// The text as written (for question marks).
    pub raw: &'a str,
    /// The lexicon-and-rules score in -1..1.
    pub base: f32,
    pub spanish: bool,
    /// The intent the cue rules read.
    pub rule_intent: Intent,
    /// How many taxonomy themes the text raised.
    pub themes: usize,
    /// Whether one clause of the text reads clearly positive and whether one reads clearly
    /// negative or states a service failure ([`clause_polarity`]): both make a mixed comment.
    pub clauses: (bool, bool),
}

/// Words that open a new clause of contrast ("Helpful agent, but the letter was confusing").
const CLAUSE_WORDS: &[&str] = &[
    "but", "though", "although", "however", "yet", "pero", "aunque", "sino", "mientras",
];

/// The clauses of a text: split at sentence and clause punctuation and before contrast words.
pub fn clauses(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let lower_is = |i: usize, w: &str| {
        text.get(i..i + w.len())
            .is_some_and(|x| x.eq_ignore_ascii_case(w))
            && text[i + w.len()..]
                .chars()
                .next()
                .is_none_or(|c| !c.is_alphanumeric())
            && text[..i]
                .chars()
                .next_back()
                .is_none_or(|c| !c.is_alphanumeric())
    };
    for (i, c) in text.char_indices() {
        if matches!(c, '.' | '!' | '?' | ';' | ',' | ':' | '¡' | '¿')
            || (c.is_ascii_alphabetic() && CLAUSE_WORDS.iter().any(|w| lower_is(i, w)))
        {
            if text[start..i].chars().any(char::is_alphanumeric) {
                out.push(&text[start..i]);
            }
            start = if c.is_ascii_alphabetic() {
                i
            } else {
                i + c.len_utf8()
            };
        }
    }
    if text[start..].chars().any(char::is_alphanumeric) {
        out.push(&text[start..]);
    }
    out
}

/// Words of courtesy: a clause holding one is politeness, not a good aspect ("Thanks, but ...",
/// "I appreciate your help but ...", "Grateful for the program. Not grateful for the wait.").
const POLITE_PREFIXES: &[&str] = &[
    "thank*",
    "thx",
    "appreciat*",
    "grateful",
    "gratitude",
    "please",
    "pls",
    "help",
    "hope",
    "respect*",
    "sorry",
    "sure",
    "gracias",
    "agradec*",
    "favor",
    "ayuda",
    "ayuden",
    "disculp*",
    "perdon",
    "perdón",
];

/// `w` is the courtesy word `p` (a prefix when `p` ends in `*`).
fn polite_match(p: &str, w: &str) -> bool {
    match p.strip_suffix('*') {
        Some(stem) => w.starts_with(stem),
        None => w == p,
    }
}

/// A clause's lexicon score at least this far from zero reads clearly positive or negative.
const CLAUSE_CLEAR: f32 = 0.2;

/// (a clause reads clearly positive, a clause reads clearly negative or states a service failure)
/// for a text of two clauses or more; `score` gives a clause's lexicon score. A clause that
/// states a failure is never the positive one.
pub fn clause_polarity(text: &str, score: impl Fn(&str, &str) -> f32) -> (bool, bool) {
    let parts = clauses(text);
    if parts.len() < 2 {
        return (false, false);
    }
    let rules = Rules::shared();
    let events = event_bits();
    let (mut pos, mut neg) = (false, false);
    for c in parts {
        let lower = c.to_lowercase();
        let ws = Words::of(&lower);
        let bits = rules.scan(&ws.words);
        let event = bits & events != 0;
        let s = score(c, &lower);
        if event || s <= -CLAUSE_CLEAR {
            neg = true;
        } else if s >= CLAUSE_CLEAR
            && bits & (rule_bit("@sarcasm") | rule_bit("@polite")) == 0
            && !ws
                .words
                .iter()
                .any(|w| POLITE_PREFIXES.iter().any(|p| polite_match(p, w)))
        {
            pos = true;
        }
    }
    (pos, neg)
}

fn event_bits() -> u32 {
    EVENTS.iter().map(|n| rule_bit(n)).fold(0, |a, b| a | b)
}

/// The rule phrases compiled: by first word, plus first-word prefixes and number-first phrases.
pub struct Rules {
    by_first: WordMap<&'static str, Vec<(u8, Vec<Pat>)>>,
    by_prefix: Vec<(&'static str, u8, Vec<Pat>)>,
    by_number: Vec<(u8, Vec<Pat>)>,
    null: WordMap<&'static str, ()>,
}

fn compile(p: &'static str) -> Vec<Pat> {
    p.split(' ')
        .map(|w| {
            if w == "#" {
                Pat::Num
            } else if let Some(s) = w.strip_suffix('*') {
                Pat::Prefix(s)
            } else {
                Pat::Word(w)
            }
        })
        .collect()
}

fn pat_matches(p: Pat, w: &str) -> bool {
    match p {
        Pat::Word(x) => x == w,
        Pat::Prefix(x) => w.starts_with(x),
        Pat::Num => is_number(w),
    }
}

impl Rules {
    fn new() -> Rules {
        let mut by_first: WordMap<&'static str, Vec<(u8, Vec<Pat>)>> = WordMap::default();
        let mut by_prefix = Vec::new();
        let mut by_number = Vec::new();
        for (i, (_, phrases)) in RULES.iter().enumerate() {
            let i = i as u8;
            for p in *phrases {
                let pats = compile(p);
                match pats[0] {
                    Pat::Word(w) => by_first.entry(w).or_default().push((i, pats)),
                    Pat::Prefix(w) => by_prefix.push((w, i, pats)),
                    Pat::Num => by_number.push((i, pats)),
                }
            }
        }
        Rules {
            by_first,
            by_prefix,
            by_number,
            null: NULL_ANSWERS.iter().map(|w| (*w, ())).collect(),
        }
    }

    fn shared() -> &'static Rules {
        static R: OnceLock<Rules> = OnceLock::new();
        R.get_or_init(Rules::new)
    }

    /// A bit per rule of [`RULES`] that the words raise.
    fn scan(&self, ws: &[&str]) -> u32 {
        let mut bits = 0u32;
        let rest_ok = |i: usize, pats: &[Pat]| {
            pats.iter()
                .enumerate()
                .skip(1)
                .all(|(k, p)| ws.get(i + k).is_some_and(|w| pat_matches(*p, w)))
        };
        for (i, w) in ws.iter().enumerate() {
            if let Some(cands) = self.by_first.get(w) {
                for (r, pats) in cands {
                    if bits & (1 << r) == 0 && rest_ok(i, pats) {
                        bits |= 1 << r;
                    }
                }
            }
            for (p, r, pats) in &self.by_prefix {
                if bits & (1 << r) == 0 && w.starts_with(p) && rest_ok(i, pats) {
                    bits |= 1 << r;
                }
            }
            if is_number(w) {
                for (r, pats) in &self.by_number {
                    if bits & (1 << r) == 0 && rest_ok(i, pats) {
                        bits |= 1 << r;
                    }
                }
            }
        }
        bits
    }

    fn is_null(&self, ws: &[&str]) -> bool {
        if ws.len() > 4 {
            return false;
        }
        if ws.len() <= 3
            && ws.iter().all(|w| {
                matches!(
                    *w,
                    "n" | "a"
                        | "none"
                        | "ninguno"
                        | "ninguna"
                        | "nada"
                        | "nothing"
                        | "no"
                        | "nope"
                        | "nop"
                        | "thanks"
                        | "gracias"
                )
            })
        {
            return true;
        }
        // A lone letter or number ("x", "1") answers nothing.
        (ws.len() == 1 && ws[0].chars().count() == 1)
            || (ws.len() == 1 && ws[0].bytes().all(|b| b.is_ascii_digit()))
            || self.null.contains_key(ws.join(" ").as_str())
    }
}

/// True when the whole text is a non-answer ("N/A", "Nothing to add", "No thank you", "Sin
/// comentarios"): short, with a non-answer phrase and no service event or theme.
pub fn is_non_answer(ctx: &Context) -> bool {
    let rules = Rules::shared();
    let ws = &ctx.words.words;
    if rules.is_null(ws) {
        return true;
    }
    if ws.len() > 6 || ctx.themes > 0 {
        return false;
    }
    let bits = rules.scan(ws);
    let events = EVENTS.iter().map(|n| rule_bit(n)).fold(0, |a, b| a | b);
    bits & rule_bit("@nullish") != 0 && bits & (events | rule_bit("@ask")) == 0
}

/// The rule features of a text that fire, by name, with the whole-text flags: a quick look for
/// tests and explanations.
pub fn rule_names(words: &Words) -> Vec<&'static str> {
    let r = Rules::shared();
    let bits = r.scan(&words.words);
    let mut out: Vec<&'static str> = RULES
        .iter()
        .enumerate()
        .filter(|(i, _)| bits & (1 << i) != 0)
        .map(|(_, (n, _))| *n)
        .collect();
    if r.is_null(&words.words) {
        out.push("@null");
    }
    out
}

fn rule_bit(name: &str) -> u32 {
    RULES
        .iter()
        .position(|(n, _)| *n == name)
        .map_or(0, |i| 1 << i)
}

/// Calls `f(hash, value, name)` for every feature of the text; `name` is computed only when
/// `named` (training), so reading a text allocates nothing for names.
fn each_feature(ctx: &Context, named: bool, mut f: impl FnMut(u64, f32, Option<String>)) {
    let rules = Rules::shared();
    let ws = &ctx.words.words;
    let bits = rules.scan(ws);
    let null = rules.is_null(ws);
    let mut rule = |name: &'static str, v: f32| {
        f(word_hash(name), v, named.then(|| name.to_string()));
    };
    rule("@bias", 1.0);
    rule("@base", ctx.base);
    if ctx.base >= 0.05 {
        rule("@base+", 1.0);
    } else if ctx.base <= -0.05 {
        rule("@base-", 1.0);
    } else {
        rule("@base0", 1.0);
    }
    if ctx.base >= 0.5 {
        rule("@base++", 1.0);
    } else if ctx.base <= -0.5 {
        rule("@base--", 1.0);
    }
    for (i, (name, _)) in RULES.iter().enumerate() {
        if bits & (1 << i) != 0 {
            rule(name, 1.0);
        }
    }
    let event_bits: u32 = EVENTS.iter().map(|n| rule_bit(n)).fold(0, |a, b| a | b);
    let n_events = (bits & event_bits).count_ones();
    let event = n_events > 0;
    if event {
        rule("@event", 1.0);
        if n_events > 1 {
            rule("@events2", 1.0);
        }
        if ctx.base >= 0.05 {
            rule("@event+base+", 1.0);
        }
        if ctx.spanish {
            rule("@event+es", 1.0);
        }
    }
    let polite = bits & rule_bit("@polite") != 0;
    let question = ctx.raw.contains('?') || ctx.raw.contains('¿');
    if question {
        rule("@qmark", 1.0);
        if polite {
            rule("@polite+q", 1.0);
        }
    }
    if polite && event {
        rule("@polite+event", 1.0);
    }
    if bits & rule_bit("@praise") != 0 && event {
        rule("@praise+event", 1.0);
    }
    if null {
        rule("@null", 1.0);
    }
    if ws.first().is_some_and(|w| IMPERATIVE_FIRST.contains(w)) {
        rule("@imperative", 1.0);
    }
    let contrast = bits & rule_bit("@contrast") != 0;
    if contrast {
        if event {
            rule("@contrast+event", 1.0);
        }
        if ctx.base >= 0.05 {
            rule("@contrast+base+", 1.0);
        } else if ctx.base <= -0.05 {
            rule("@contrast+base-", 1.0);
        }
    }
    if ctx.raw.contains('!') {
        rule("@bang", 1.0);
    }
    match ctx.clauses {
        (true, true) => rule("@mixed", 1.0),
        (true, false) => rule("@clause+", 1.0),
        (false, true) => rule("@clause-", 1.0),
        (false, false) => {}
    }
    rule(
        match ctx.rule_intent {
            Intent::Complaint => "@ri_complaint",
            Intent::Compliment => "@ri_compliment",
            Intent::Question => "@ri_question",
            Intent::Suggestion => "@ri_suggestion",
            Intent::RequestForHelp => "@ri_help",
            Intent::None => "@ri_none",
        },
        1.0,
    );
    if ctx.spanish {
        rule("@es", 1.0);
    }
    match ws.len() {
        0..=3 => rule("@len_short", 1.0),
        4..=12 => rule("@len_mid", 1.0),
        13..=40 => rule("@len_long", 1.0),
        _ => rule("@len_vlong", 1.0),
    }
    if ctx.themes == 0 {
        rule("@nothemes", 1.0);
    } else if ctx.themes > 1 {
        rule("@themes2", 1.0);
    }
    // The text's mean word vector (see vectors.rs): words the labelled set never showed still
    // count by their kin. English only: the sentence model was trained on English, and its
    // vectors of Spanish words lowered cross-validated accuracy on Spanish.
    if let Some(v) = (!ctx.spanish)
        .then(|| WordVectors::embedded().text_vector(ctx.words))
        .flatten()
    {
        let names = vectors::feature_names();
        for (k, (x, h)) in v.iter().zip(vector_hashes()).enumerate() {
            f(*h, x * VECTOR_SCALE, named.then(|| names[k].clone()));
        }
    }
    // Words and neighbouring pairs; digits read as "#" so that "14 weeks" and "3 weeks" agree.
    let n = ws.len();
    if n == 0 {
        return;
    }
    let v = 1.0 / ((2 * n - 1) as f32).sqrt();
    let hash_num = word_hash("#");
    let mut prev: Option<(u64, &str)> = None;
    for (w, &h) in ws.iter().zip(&ctx.words.hashes) {
        let (h, w): (u64, &str) = if w.bytes().all(|b| b.is_ascii_digit()) {
            (hash_num, "#")
        } else if ctx.words.ascii {
            (h, w)
        } else {
            (text_word_hash(w, h), w)
        };
        f(h, v, named.then(|| w.replace('’', "'")));
        if let Some((ph, pw)) = prev {
            f(
                pair_hash(ph, h),
                v,
                named.then(|| format!("{} {}", pw.replace('’', "'"), w.replace('’', "'"))),
            );
        }
        prev = Some((h, w));
    }
}

/// The hashes of the vector features' names.
fn vector_hashes() -> &'static [u64; vectors::DIMS] {
    static H: OnceLock<[u64; vectors::DIMS]> = OnceLock::new();
    H.get_or_init(|| std::array::from_fn(|k| word_hash(&vectors::feature_names()[k])))
}

/// What the model reads from a text: a probability per sentiment class and per intent.
#[derive(Clone, Copy, Debug)]
pub struct Reading {
    pub sentiment: [f32; 3],
    pub intent: [f32; 6],
    /// The probability that the text is feedback on a service (rather than a tweet, a film
    /// review or an editorial): only then does the model's sentiment replace the lexicon's.
    pub service: f32,
}

impl Reading {
    /// The most probable sentiment class (0 negative, 1 neutral, 2 positive).
    pub fn sentiment_class(&self) -> usize {
        argmax(&self.sentiment)
    }

    /// A score in -1..1 whose label (±0.05) is the most probable class: the lexicon's score `base`
    /// when its label agrees, else P(positive) - P(negative) moved into the class's band.
    pub fn score(&self, base: f32) -> f32 {
        let class = self.sentiment_class();
        let base_class = if base >= 0.05 {
            2
        } else if base <= -0.05 {
            0
        } else {
            1
        };
        // The model's class wins, even over a confident lexicon: "Great, another form that
        // crashes", "Thanks so much, but still no refund" hold strong praise words. (Letting a
        // lexicon score of 0.5 or more stand unless the model was 90% sure cost 1.4 points of
        // grouped cross-validated accuracy.)
        if class == base_class {
            return base;
        }
        let s = self.sentiment[2] - self.sentiment[0];
        match class {
            0 => s.min(-0.05),
            2 => s.max(0.05),
            _ => s.clamp(-0.049, 0.049),
        }
    }

    pub fn intent(&self) -> Intent {
        INTENTS[argmax(&self.intent)]
    }
}

fn argmax(v: &[f32]) -> usize {
    let mut best = 0;
    for (i, x) in v.iter().enumerate() {
        if *x > v[best] {
            best = i;
        }
    }
    best
}

fn softmax(z: &mut [f32]) {
    let m = z.iter().copied().fold(f32::MIN, f32::max);
    let mut s = 0.0;
    for x in z.iter_mut() {
        *x = (*x - m).exp();
        s += *x;
    }
    for x in z.iter_mut() {
        *x /= s;
    }
}

/// The learned layer: per feature, a weight for each sentiment class and each intent.
pub struct ServiceModel {
    weights: IdMap<[f32; N_OUT]>,
}

impl ServiceModel {
    /// The shipped model, parsed once per process.
    pub fn embedded() -> Arc<ServiceModel> {
        static EMBEDDED: OnceLock<Arc<ServiceModel>> = OnceLock::new();
        EMBEDDED
            .get_or_init(|| Arc::new(ServiceModel::parse(MODEL_TSV)))
            .clone()
    }

    /// No model: [`ServiceModel::read`] gives `None`.
    pub fn none() -> ServiceModel {
        ServiceModel {
            weights: IdMap::default(),
        }
    }

    /// Reads "feature<TAB>eleven weights" lines (negative, neutral, positive; complaint,
    /// compliment, question, suggestion, request_for_help, none; other text, service feedback);
    /// '#' lines are comments and malformed lines are skipped.
    pub fn parse(src: &str) -> ServiceModel {
        let mut weights = IdMap::default();
        for line in src.lines().filter(|l| !l.starts_with('#')) {
            let mut parts = line.split('\t');
            let Some(name) = parts.next() else { continue };
            let mut w = [0f32; N_OUT];
            let mut ok = true;
            for x in w.iter_mut() {
                match parts.next().and_then(|p| p.trim().parse().ok()) {
                    Some(v) => *x = v,
                    None => ok = false,
                }
            }
            if ok {
                weights.insert(feature_hash(name), w);
            }
        }
        ServiceModel { weights }
    }

    pub fn len(&self) -> usize {
        self.weights.len()
    }

    pub fn is_empty(&self) -> bool {
        self.weights.is_empty()
    }

    /// The model's reading of a text, or `None` when there is no model.
    pub fn read(&self, ctx: &Context) -> Option<Reading> {
        if self.weights.is_empty() {
            return None;
        }
        let mut z = [0f32; N_OUT];
        each_feature(ctx, false, |h, v, _| {
            if let Some(w) = self.weights.get(&h) {
                for (zi, wi) in z.iter_mut().zip(w) {
                    *zi += v * wi;
                }
            }
        });
        let mut s = [z[0], z[1], z[2]];
        let mut i = [z[3], z[4], z[5], z[6], z[7], z[8]];
        let mut d = [z[9], z[10]];
        softmax(&mut s);
        softmax(&mut i);
        softmax(&mut d);
        Some(Reading {
            sentiment: s,
            intent: i,
            service: d[1],
        })
    }
}

/// One labelled text's features, for training.
pub struct Example {
    pub feats: Vec<(u64, f32)>,
    pub sentiment: usize,
    /// `None` for a text rated for sentiment only (the rated corpora): it teaches no intent.
    pub intent: Option<usize>,
    /// Whether the text is service feedback (the labelled set) or not (tweets, film reviews,
    /// editorials); `None` when that is not known.
    pub service: Option<bool>,
    /// How much the text counts in the loss.
    pub weight: f32,
}

/// The features of a text with their names, for training: (name, hash, value).
pub fn named_features(ctx: &Context) -> Vec<(String, u64, f32)> {
    let mut out = Vec::new();
    each_feature(ctx, true, |h, v, n| {
        out.push((n.unwrap_or_default(), h, v));
    });
    out
}

/// Training settings.
#[derive(Clone, Copy, Debug)]
pub struct Params {
    /// L2 penalty on every weight but the bias, per training text.
    pub l2: f64,
    /// A word or pair must occur in at least this many training texts (rule features always count).
    pub min_count: usize,
    /// Optimiser steps.
    pub epochs: usize,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            l2: 1e-3,
            min_count: 2,
            epochs: 200,
        }
    }
}

/// A trained model: feature hashes with their nine weights.
pub struct Trained {
    pub weights: Vec<(u64, [f32; N_OUT])>,
}

impl Trained {
    pub fn model(&self) -> ServiceModel {
        ServiceModel {
            weights: self.weights.iter().copied().collect(),
        }
    }

    /// The model file: `header` lines as comments, then one line per feature, sorted by name.
    pub fn to_tsv(&self, names: &HashMap<u64, String>, header: &[String]) -> String {
        let mut rows: Vec<(&str, &[f32; N_OUT])> = self
            .weights
            .iter()
            .filter_map(|(h, w)| Some((names.get(h)?.as_str(), w)))
            .collect();
        rows.sort_by(|a, b| a.0.cmp(b.0));
        let mut out = String::new();
        for h in header {
            out.push_str("# ");
            out.push_str(h);
            out.push('\n');
        }
        for (n, w) in rows {
            out.push_str(n);
            for x in w {
                out.push('\t');
                // Two decimals are enough for a logit; a weight that rounds to zero is written "0".
                if x.abs() < 0.005 {
                    out.push('0');
                } else {
                    out.push_str(&format!("{x:.2}"));
                }
            }
            out.push('\n');
        }
        out
    }
}

/// Fits both heads (sentiment, intent) by multinomial logistic regression with an L2 penalty,
/// full-batch Adam from zero: deterministic, so the same examples give the same file.
pub fn train(examples: &[Example], params: Params) -> Trained {
    let mut counts: IdMap<usize> = IdMap::default();
    for e in examples {
        for (h, _) in &e.feats {
            *counts.entry(*h).or_default() += 1;
        }
    }
    let mut vocab: Vec<u64> = counts
        .iter()
        .filter(|(_, c)| **c >= params.min_count)
        .map(|(h, _)| *h)
        .collect();
    vocab.sort_unstable();
    let index: IdMap<u32> = vocab
        .iter()
        .enumerate()
        .map(|(i, h)| (*h, i as u32))
        .collect();
    let rows: Vec<Vec<(u32, f32)>> = examples
        .iter()
        .map(|e| {
            let mut r: Vec<(u32, f32)> = e
                .feats
                .iter()
                .filter_map(|(h, v)| Some((*index.get(h)?, *v)))
                .collect();
            r.sort_unstable_by_key(|x| x.0);
            r.dedup_by_key(|x| x.0);
            r
        })
        .collect();
    let bias = index.get(&word_hash("@bias")).copied();
    let d = vocab.len();
    let n = examples
        .iter()
        .map(|e| f64::from(e.weight))
        .sum::<f64>()
        .max(1e-9);
    let mut w = vec![0f64; d * N_OUT];
    let mut m = vec![0f64; d * N_OUT];
    let mut s = vec![0f64; d * N_OUT];
    let mut g = vec![0f64; d * N_OUT];
    let (b1, b2, lr, eps) = (0.9f64, 0.999f64, 0.05f64, 1e-8f64);
    for t in 1..=params.epochs {
        g.iter_mut().for_each(|x| *x = 0.0);
        for (r, e) in rows.iter().zip(examples) {
            let mut z = [0f64; N_OUT];
            for &(j, v) in r {
                let base = j as usize * N_OUT;
                for k in 0..N_OUT {
                    z[k] += f64::from(v) * w[base + k];
                }
            }
            let mut p = [0f64; N_OUT];
            let heads = [
                (0..3, Some(e.sentiment)),
                (3..9, e.intent.map(|i| 3 + i)),
                (9..11, e.service.map(|d| 9 + usize::from(d))),
            ];
            for (range, label) in heads {
                let Some(label) = label else { continue };
                let mx = z[range.clone()].iter().copied().fold(f64::MIN, f64::max);
                let sum: f64 = z[range.clone()].iter().map(|x| (x - mx).exp()).sum();
                for k in range {
                    p[k] = (z[k] - mx).exp() / sum - if k == label { 1.0 } else { 0.0 };
                }
            }
            let ew = f64::from(e.weight) / n;
            for &(j, v) in r {
                let base = j as usize * N_OUT;
                for k in 0..N_OUT {
                    g[base + k] += f64::from(v) * p[k] * ew;
                }
            }
        }
        for j in 0..d {
            if Some(j as u32) == bias {
                continue;
            }
            for k in 0..N_OUT {
                g[j * N_OUT + k] += params.l2 * w[j * N_OUT + k];
            }
        }
        let c1 = 1.0 - b1.powi(t as i32);
        let c2 = 1.0 - b2.powi(t as i32);
        for i in 0..w.len() {
            m[i] = b1 * m[i] + (1.0 - b1) * g[i];
            s[i] = b2 * s[i] + (1.0 - b2) * g[i] * g[i];
            w[i] -= lr * (m[i] / c1) / ((s[i] / c2).sqrt() + eps);
        }
    }
    let weights = vocab
        .iter()
        .enumerate()
        .map(|(j, h)| {
            let mut a = [0f32; N_OUT];
            for k in 0..N_OUT {
                a[k] = w[j * N_OUT + k] as f32;
            }
            (*h, a)
        })
        .filter(|(_, a)| a.iter().any(|x| x.abs() >= 0.01))
        .collect();
    Trained { weights }
}

/// The snake_case name of an intent, as the data files write it.
pub fn intent_name(i: Intent) -> &'static str {
    match i {
        Intent::Complaint => "complaint",
        Intent::Compliment => "compliment",
        Intent::Question => "question",
        Intent::Suggestion => "suggestion",
        Intent::RequestForHelp => "request_for_help",
        Intent::None => "none",
    }
}

/// The index in [`INTENTS`] of an intent by its snake_case name ([`intent_name`]).
pub fn intent_index(name: &str) -> Option<usize> {
    INTENTS.iter().position(|i| intent_name(*i) == name)
}

/// The fold (0..folds) of an item: from a hash of its id, so folds do not follow file order.
pub fn fold_of(id: &str, folds: usize) -> usize {
    (crate::tokens::mix(word_hash(id)) % folds as u64) as usize
}

/// Groups of texts that are near-duplicates or templates of one another, for grouped
/// cross-validation: two texts are linked when they share a run of five words (digits read as
/// one number) or when their content words (stop words and numbers dropped) overlap with a
/// Jaccard index of at least 0.5; a group is a connected set of links. Returns each text's
/// group, numbered by its first text. Folds drawn by group keep a template and its copies on
/// one side, so a model is never scored on a text whose twin it was trained on.
pub fn template_groups(texts: &[&str]) -> Vec<usize> {
    use std::collections::{BTreeSet, HashMap};
    let n = texts.len();
    let mut parent: Vec<usize> = (0..n).collect();
    fn find(p: &mut [usize], mut i: usize) -> usize {
        while p[i] != i {
            p[i] = p[p[i]];
            i = p[i];
        }
        i
    }
    let union = |p: &mut Vec<usize>, a: usize, b: usize| {
        let (ra, rb) = (find(p, a), find(p, b));
        if ra != rb {
            p[ra.max(rb)] = ra.min(rb);
        }
    };
    let mut shingles: HashMap<String, usize> = HashMap::new();
    let mut sets: Vec<BTreeSet<String>> = Vec::with_capacity(n);
    for (i, t) in texts.iter().enumerate() {
        let lower = t.to_lowercase();
        let ws: Vec<String> = crate::tokens::words(&lower)
            .map(|(_, w)| {
                if w.bytes().all(|b| b.is_ascii_digit()) {
                    "#".to_string()
                } else {
                    w.replace('’', "'")
                }
            })
            .collect();
        for k in 0..ws.len().saturating_sub(4) {
            let s = ws[k..k + 5].join(" ");
            match shingles.get(&s) {
                Some(&j) => union(&mut parent, i, j),
                None => {
                    shingles.insert(s, i);
                }
            }
        }
        sets.push(
            ws.into_iter()
                .filter(|w| w != "#" && !crate::tokens::is_stopword(w))
                .collect(),
        );
    }
    for i in 0..n {
        if sets[i].len() < 2 {
            continue;
        }
        for j in i + 1..n {
            if sets[j].len() < 2 {
                continue;
            }
            let common = sets[i].intersection(&sets[j]).count();
            if 2 * common >= sets[i].len() + sets[j].len() - common {
                union(&mut parent, i, j);
            }
        }
    }
    (0..n).map(|i| find(&mut parent, i)).collect()
}

/// The fold (0..folds) of each text when folds are drawn by [`template_groups`]: a group's
/// fold is [`fold_of`] its first member's id.
pub fn grouped_folds(ids: &[&str], texts: &[&str], folds: usize) -> Vec<usize> {
    template_groups(texts)
        .into_iter()
        .map(|g| fold_of(ids[g], folds))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules_of(t: &str) -> Vec<&'static str> {
        let lower = t.to_lowercase();
        rule_names(&Words::of(&lower))
    }

    #[test]
    fn service_events_are_named() {
        for (t, r) in [
            (
                "It's been 14 weeks and my refund still hasn't arrived",
                "@delay",
            ),
            (
                "I called 12 times and got a busy signal every time",
                "@repeat",
            ),
            (
                "Got transferred five times and ended up back at the main menu",
                "@bounce",
            ),
            (
                "They sent my card to my old address even though I updated it",
                "@wrong",
            ),
            (
                "Todavía no recibo mi reembolso y ya pasaron tres meses",
                "@delay",
            ),
            (
                "Great, another form that crashes when you click submit. Just great.",
                "@sarcasm",
            ),
            ("Could you add evening hours?", "@ask"),
            ("Couldn't have been easier", "@negneg"),
            ("N/A", "@null"),
            ("Nothing to add", "@null"),
        ] {
            assert!(rules_of(t).contains(&r), "{t}: {:?}", rules_of(t));
        }
        assert!(rules_of("The staff were lovely").is_empty());
    }

    #[test]
    fn templates_and_near_duplicates_share_a_group() {
        let texts = [
            "It's been 14 weeks and my refund still hasn't arrived",
            "It's been 9 weeks and my refund still hasn't arrived at all",
            "Friendly staff at the downtown office, quick visit",
            "Quick visit, friendly staff at the downtown office!",
            "Could you add evening hours?",
            "N/A",
        ];
        let g = template_groups(&texts);
        // A shared run of five words (numbers read alike), and the same content words reordered.
        assert_eq!(g[0], g[1]);
        assert_eq!(g[2], g[3]);
        assert_eq!(g, vec![0, 0, 2, 2, 4, 5]);
        let ids = ["a", "b", "c", "d", "e", "f"];
        let folds = grouped_folds(&ids, &texts, 5);
        assert_eq!(folds[0], folds[1]);
        assert_eq!(folds[2], folds[3]);
        assert!(folds.iter().all(|f| *f < 5));
    }

    #[test]
    fn clauses_split_at_punctuation_and_contrast_words() {
        assert_eq!(
            clauses("Helpful agent, confusing letter."),
            vec!["Helpful agent", " confusing letter"]
        );
        assert_eq!(clauses("Slow but friendly"), vec!["Slow ", "but friendly"]);
        // "but" inside a word is no clause mark.
        assert_eq!(clauses("A butter knife"), vec!["A butter knife"]);
    }

    #[test]
    fn a_mixed_comment_has_a_good_clause_and_a_bad_one_but_politeness_is_no_good_clause() {
        // A stand-in lexicon: the words' valence, enough to test the clause rule alone.
        let score = |_: &str, lower: &str| {
            let mut s = 0.0;
            for w in lower.split(|c: char| !c.is_alphanumeric()) {
                s += match w {
                    "helpful" | "easy" | "thanks" | "appreciate" | "friendly" => 0.5,
                    "confusing" | "terrible" => -0.5,
                    _ => 0.0,
                };
            }
            s
        };
        assert_eq!(
            clause_polarity("Helpful agent, confusing letter.", score),
            (true, true)
        );
        assert_eq!(
            clause_polarity("Website was easy but I was transferred five times", score),
            (true, true)
        );
        assert_eq!(
            clause_polarity("Thanks, but I have been disconnected 3 times", score),
            (false, true)
        );
        assert_eq!(
            clause_polarity("I appreciate your help but nobody called back", score),
            (false, true)
        );
        assert_eq!(
            clause_polarity("Friendly and helpful staff", score),
            (false, false)
        );
    }
}
