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
        // The last bytes in one step, zero-padded: words are short, so this is most of them.
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut last = [0u8; 8];
            last[..rest.len()].copy_from_slice(rest);
            h = (h.rotate_left(5) ^ u64::from_le_bytes(last)).wrapping_mul(K);
        }
        self.0 = h;
    }
}

/// A hash map keyed by words, with [`WordHasher`].
pub type WordMap<K, V> = std::collections::HashMap<K, V, std::hash::BuildHasherDefault<WordHasher>>;

/// A 64-bit hash of a word, mixed in every bit. A text's words are hashed once (see [`Words`])
/// and every word table (cue phrases, theme triggers, the learned sentiment weights) is looked up
/// by that hash, instead of each table hashing and comparing the word again.
pub fn word_hash(w: &str) -> u64 {
    let mut h = WordHasher::default();
    std::hash::Hasher::write(&mut h, w.as_bytes());
    mix(h.0 ^ (w.len() as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15))
}

/// The finaliser of MurmurHash3: spreads every input bit over the low bits a table uses.
pub fn mix(mut h: u64) -> u64 {
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h
}

/// Keys that are already well-mixed hashes are used as they are.
#[derive(Default, Clone, Copy)]
pub struct IdHasher(u64);

impl std::hash::Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8) | u64::from(b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// A hash map keyed by [`word_hash`] values.
pub type IdMap<V> = std::collections::HashMap<u64, V, std::hash::BuildHasherDefault<IdHasher>>;

/// The words of a lower-cased text with their hashes, computed once per text.
pub struct Words<'a> {
    pub words: Vec<&'a str>,
    pub hashes: Vec<u64>,
    /// The text is ASCII (so no word holds a typographic apostrophe).
    pub ascii: bool,
}

impl<'a> Words<'a> {
    pub fn of(lower: &'a str) -> Words<'a> {
        // Sized for a typical comment up front (collecting would grow the vectors several times).
        let cap = lower.len() / 4 + 4;
        let mut words = Vec::with_capacity(cap);
        let mut hashes = Vec::with_capacity(cap);
        for (_, w) in self::words(lower) {
            words.push(w);
            hashes.push(word_hash(w));
        }
        Words {
            words,
            hashes,
            ascii: lower.is_ascii(),
        }
    }
}

/// A table keyed by words, found by a word's hash; the word is kept so that a hit is checked, so
/// a hash collision can never make an unrelated word match.
#[derive(Clone, Debug)]
pub struct WordTable<V> {
    map: IdMap<(Box<str>, V)>,
}

impl<V> Default for WordTable<V> {
    fn default() -> Self {
        WordTable {
            map: IdMap::default(),
        }
    }
}

impl<V: Default> WordTable<V> {
    /// The value for `w`, inserted as the default when absent.
    pub fn entry(&mut self, w: &str) -> &mut V {
        &mut self
            .map
            .entry(word_hash(w))
            .or_insert_with(|| (w.into(), V::default()))
            .1
    }
}

impl<V> WordTable<V> {
    /// The value for the word `w` whose [`word_hash`] is `hash`.
    #[inline]
    pub fn get(&self, w: &str, hash: u64) -> Option<&V> {
        self.map
            .get(&hash)
            .filter(|(k, _)| &**k == w)
            .map(|(_, v)| v)
    }
}

/// Values found by the first three characters of a word (prefix triggers such as "confus" for
/// "confusing"); a bitmap of the first two bytes turns most words away before any hashing.
#[derive(Clone, Debug)]
pub struct HeadIndex<V> {
    first_two: Box<[u64; 1024]>,
    map: WordTable<Vec<V>>,
}

impl<V> Default for HeadIndex<V> {
    fn default() -> Self {
        HeadIndex {
            first_two: Box::new([0; 1024]),
            map: WordTable::default(),
        }
    }
}

impl<V> HeadIndex<V> {
    fn slot(w: &str) -> Option<usize> {
        let b = w.as_bytes();
        (b.len() >= 2).then(|| usize::from(b[0]) << 8 | usize::from(b[1]))
    }

    /// Adds `v` under the head of `prefix` (three characters or more).
    pub fn insert(&mut self, prefix: &str, v: V) {
        if let Some(s) = Self::slot(prefix) {
            self.first_two[s / 64] |= 1 << (s % 64);
        }
        self.map.entry(head3(prefix)).push(v);
    }

    /// The values whose prefix starts like `w` (the caller checks the whole prefix).
    #[inline]
    pub fn get(&self, w: &str) -> &[V] {
        match Self::slot(w) {
            Some(s) if w.len() >= 3 && self.first_two[s / 64] & (1 << (s % 64)) != 0 => {
                let h = head3(w);
                self.map.get(h, word_hash(h)).map_or(&[], Vec::as_slice)
            }
            _ => &[],
        }
    }
}

/// The first three characters of `w`, or all of it when shorter.
pub fn head3(w: &str) -> &str {
    if w.is_ascii() {
        return &w[..w.len().min(3)];
    }
    match w.char_indices().nth(3) {
        Some((i, _)) => &w[..i],
        None => w,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn word_tables_find_words_by_their_hash_and_check_them() {
        let mut t: WordTable<u32> = WordTable::default();
        *t.entry("wait") += 1;
        *t.entry("wait") += 1;
        assert_eq!(t.get("wait", word_hash("wait")), Some(&2));
        // A hash that names a stored entry finds nothing for another word.
        assert_eq!(t.get("walt", word_hash("wait")), None);
        let ws = Words::of("long wait, confusing form");
        assert_eq!(ws.words, ["long", "wait", "confusing", "form"]);
        assert_eq!(ws.hashes[1], word_hash("wait"));

        let mut h: HeadIndex<&str> = HeadIndex::default();
        h.insert("confus", "confusion");
        h.insert("añor", "longing");
        assert_eq!(h.get("confusing"), ["confusion"]);
        assert_eq!(h.get("añoranza"), ["longing"]);
        // Candidates share the first three characters; the caller checks the whole prefix.
        assert_eq!(h.get("contact"), ["confusion"]);
        assert!(h.get("form").is_empty() && h.get("co").is_empty());
    }
}
