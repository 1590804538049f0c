//! Static word vectors distilled from a sentence model, so the service model generalises past the
//! words of its training set ("reimbursement" near "refund", "unanswered" near "no reply").
//!
//! `data/word_vectors.bin` holds one small vector per word: each word was run alone through
//! all-MiniLM-L6-v2 (Apache-2.0; Wang et al. 2020, MiniLM; sentence-transformers), the vectors
//! reduced by PCA to [`DIMS`] dimensions, scaled by the SIF weight a / (a + p(word)) (Arora, Liang
//! and Ma 2017) so that frequent words weigh less, and quantised to one signed byte per dimension.
//! `scripts/service-embeddings.sh` remakes it (the model comes from PyPI at that time only; Heard
//! never runs it). A text's vector is the mean of its known words' vectors, scaled to unit length.
//!
//! File format (little-endian): `HWV1`, dims (u32), words (u32), one f32 scale per dimension,
//! then per word: its UTF-8 length (u8), the word, and dims signed bytes (value = byte × scale).

use std::sync::OnceLock;

use crate::model::text_word_hash;
use crate::tokens::{IdMap, Words, word_hash};

/// Dimensions of the shipped vectors.
pub const DIMS: usize = 64;

const EMBEDDED: &[u8] = include_bytes!("../data/word_vectors.bin");

/// Word vectors: by word hash, the row of the quantised matrix.
pub struct WordVectors {
    scale: [f32; DIMS],
    rows: IdMap<u32>,
    data: Vec<i8>,
}

impl std::fmt::Debug for WordVectors {
    /// The size only: the matrix is megabytes.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WordVectors")
            .field("words", &self.rows.len())
            .field("dims", &DIMS)
            .finish()
    }
}

impl WordVectors {
    /// The shipped vectors, parsed once per process.
    pub fn embedded() -> &'static WordVectors {
        static V: OnceLock<WordVectors> = OnceLock::new();
        V.get_or_init(|| {
            WordVectors::parse(EMBEDDED).unwrap_or_else(|e| panic!("data/word_vectors.bin: {e}"))
        })
    }

    /// Reads the format in the module's documentation; errors name what is wrong.
    pub fn parse(b: &[u8]) -> Result<WordVectors, String> {
        let u32_at = |i: usize| -> Result<u32, String> {
            b.get(i..i + 4)
                .map(|x| u32::from_le_bytes([x[0], x[1], x[2], x[3]]))
                .ok_or_else(|| "truncated header".to_string())
        };
        if b.get(..4) != Some(b"HWV1") {
            return Err("not a word-vector file (no HWV1 mark)".into());
        }
        let dims = u32_at(4)? as usize;
        if dims != DIMS {
            return Err(format!("{dims} dimensions, expected {DIMS}"));
        }
        let n = u32_at(8)? as usize;
        let mut scale = [0f32; DIMS];
        for (k, s) in scale.iter_mut().enumerate() {
            *s = f32::from_bits(u32_at(12 + 4 * k)?);
        }
        let mut pos = 12 + 4 * DIMS;
        let mut rows = IdMap::default();
        let mut data = Vec::with_capacity(n * DIMS);
        for row in 0..n {
            let len = *b
                .get(pos)
                .ok_or_else(|| format!("truncated at word {row}"))? as usize;
            let word = b
                .get(pos + 1..pos + 1 + len)
                .and_then(|w| std::str::from_utf8(w).ok())
                .ok_or_else(|| format!("word {row} is truncated or not UTF-8"))?;
            let v = b
                .get(pos + 1 + len..pos + 1 + len + DIMS)
                .ok_or_else(|| format!("vector of {word:?} is truncated"))?;
            data.extend(v.iter().map(|x| *x as i8));
            rows.insert(word_hash(&word.replace('’', "'")), row as u32);
            pos += 1 + len + DIMS;
        }
        if pos != b.len() {
            return Err(format!("{} bytes after the last word", b.len() - pos));
        }
        Ok(WordVectors { scale, rows, data })
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Whether `word` (lower case) has a vector.
    pub fn contains(&self, word: &str) -> bool {
        self.rows.contains_key(&word_hash(&word.replace('’', "'")))
    }

    /// The mean vector of the text's known words, scaled to unit length; `None` when no word is
    /// known. Digits are skipped (the vectors hold no numbers).
    pub fn text_vector(&self, words: &Words) -> Option<[f32; DIMS]> {
        let mut acc = [0i32; DIMS];
        let mut found = 0;
        for (w, &h) in words.words.iter().zip(&words.hashes) {
            let h = if words.ascii { h } else { text_word_hash(w, h) };
            if let Some(&row) = self.rows.get(&h) {
                let r = row as usize * DIMS;
                for (a, x) in acc.iter_mut().zip(&self.data[r..r + DIMS]) {
                    *a += i32::from(*x);
                }
                found += 1;
            }
        }
        if found == 0 {
            return None;
        }
        let mut v = [0f32; DIMS];
        for ((o, a), s) in v.iter_mut().zip(acc).zip(self.scale) {
            *o = a as f32 * s;
        }
        let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        if norm <= f32::EPSILON {
            return None;
        }
        for x in &mut v {
            *x /= norm;
        }
        Some(v)
    }
}

/// The names of the vector features in the service model file: `@v00` ... `@v63`.
pub fn feature_names() -> &'static [String; DIMS] {
    static N: OnceLock<[String; DIMS]> = OnceLock::new();
    N.get_or_init(|| std::array::from_fn(|k| format!("@v{k:02}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cos(a: &[f32; DIMS], b: &[f32; DIMS]) -> f32 {
        a.iter().zip(b).map(|(x, y)| x * y).sum()
    }

    #[test]
    fn shipped_vectors_load_and_place_kin_words_together() {
        let v = WordVectors::embedded();
        assert!(v.len() > 10_000, "{}", v.len());
        for w in ["refund", "reembolso", "rude", "helpful", "transferred"] {
            assert!(v.contains(w), "{w}");
        }
        let t = |s: &str| {
            let lower = s.to_lowercase();
            v.text_vector(&Words::of(&lower)).expect("known words")
        };
        let refund = t("refund");
        assert!(cos(&refund, &t("reimbursement")) > cos(&refund, &t("courteous")));
        let rude = t("rude");
        assert!(cos(&rude, &t("impolite")) > cos(&rude, &t("passport")));
        assert!(v.text_vector(&Words::of("12345")).is_none());
    }

    #[test]
    fn malformed_files_are_refused_with_the_reason() {
        assert!(WordVectors::parse(b"nope").unwrap_err().contains("HWV1"));
        let mut b = b"HWV1".to_vec();
        b.extend(3u32.to_le_bytes());
        b.extend(0u32.to_le_bytes());
        assert!(WordVectors::parse(&b).unwrap_err().contains("dimensions"));
        let mut b = b"HWV1".to_vec();
        b.extend((DIMS as u32).to_le_bytes());
        b.extend(1u32.to_le_bytes());
        b.extend([0u8; 4 * DIMS]);
        b.extend([3, b'a', b'b']);
        assert!(WordVectors::parse(&b).unwrap_err().contains("truncated"));
    }
}
