//! Word splitting and stop words shared by the analysers.

/// Words of `s`: runs of letters, digits, apostrophes inside words, and dots or hyphens between
/// letters ("id.me", "two-factor"), with their byte offsets.
pub fn words(s: &str) -> impl Iterator<Item = (usize, &str)> {
    let b = s.as_bytes();
    let mut pos = 0;
    std::iter::from_fn(move || {
        // Skip to the start of a word; ASCII bytes are classified without decoding.
        let start = loop {
            if pos >= b.len() {
                return None;
            }
            let x = b[pos];
            if x.is_ascii() {
                if x.is_ascii_alphanumeric() {
                    break pos;
                }
                pos += 1;
            } else {
                let c = s[pos..].chars().next()?;
                if c.is_alphanumeric() {
                    break pos;
                }
                pos += c.len_utf8();
            }
        };
        while pos < b.len() {
            let x = b[pos];
            // The common case first: ASCII letters and digits.
            if x.is_ascii_alphanumeric() {
                pos += 1;
                continue;
            }
            let (c, len) = if x.is_ascii() {
                (x as char, 1)
            } else {
                match s[pos..].chars().next() {
                    Some(c) => (c, c.len_utf8()),
                    None => break,
                }
            };
            let word_char = if c.is_ascii() {
                c.is_ascii_alphanumeric()
            } else {
                c.is_alphanumeric()
            };
            let joiner = matches!(c, '\'' | '’' | '.' | '-')
                && s[pos + len..]
                    .chars()
                    .next()
                    .is_some_and(char::is_alphanumeric);
            if word_char || joiner {
                pos += len;
            } else {
                break;
            }
        }
        Some((start, &s[start..pos]))
    })
}

const STOP: &[&str] = &[
    "a", "about", "above", "after", "again", "all", "also", "am", "an", "and", "any", "are", "as",
    "at", "be", "been", "before", "being", "but", "by", "can", "could", "did", "do", "does",
    "doing", "for", "from", "further", "had", "has", "have", "having", "he", "her", "here", "hers",
    "him", "his", "how", "i", "if", "in", "into", "is", "it", "its", "i'm", "i've", "just", "me",
    "more", "most", "my", "myself", "no", "nor", "not", "now", "of", "off", "on", "once", "only",
    "or", "other", "our", "out", "over", "own", "same", "she", "should", "so", "some", "such",
    "than", "that", "the", "their", "them", "then", "there", "these", "they", "this", "those",
    "through", "to", "too", "under", "until", "up", "very", "was", "we", "were", "what", "when",
    "where", "which", "while", "who", "why", "will", "with", "would", "you", "your", "they're",
    "it's", "don't", "didn't", "also", "told", "said", "one", "two", "get", "got", "would",
    "still", "even", "back", "since", "never", "made", "make", "called", "call", "received",
    "time", "day", "days", "know", "because", "however", "please", "el", "la", "los", "las", "de",
    "del", "y", "que", "en", "un", "una", "por", "para", "con", "es", "se", "su", "lo", "al", "mi",
    "me", "ya", "pero",
];

/// True for very common words that carry no topic.
pub fn is_stopword(w: &str) -> bool {
    STOP.contains(&w)
}

/// A fast, deterministic hasher for short word keys (the multiply-rotate scheme used by rustc's
/// FxHash); the maps it serves hold fixed vocabularies, not attacker-chosen keys alone, and a
/// collision only costs time.
#[derive(Default, Clone, Copy)]
pub struct WordHasher(u64);

impl std::hash::Hasher for WordHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        const K: u64 = 0x517c_c1b7_2722_0a95;
        let mut h = self.0;
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let v = u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
            h = (h.rotate_left(5) ^ v).wrapping_mul(K);
        }
        for &b in chunks.remainder() {
            h = (h.rotate_left(5) ^ u64::from(b)).wrapping_mul(K);
        }
        self.0 = h;
    }
}

/// A hash map keyed by words, with [`WordHasher`].
pub type WordMap<K, V> = std::collections::HashMap<K, V, std::hash::BuildHasherDefault<WordHasher>>;
