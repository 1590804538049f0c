//! A learned correction to the lexicon's sentiment score.
//!
//! The lexicon and its rules (see `sentiment.rs`) read social-media English well and miss what a
//! word list cannot know: "predictable", "the plot thickens", "two hours of my life". This model
//! adds what the words and word pairs of a text say beyond the lexicon: a ridge regression over
//! word unigrams and bigrams, fitted to human ratings minus a share of the lexicon's own score.
//! Its weight shrinks as the lexicon grows confident, so a clear lexicon verdict stands.
//!
//! The shipped weights (`data/sentiment_model.tsv`) are plain text, one feature per line, so an
//! agency can read what moves a score; `heard train-sentiment` remakes them from the shared
//! evaluation data, and `heard eval` also reports every corpus with a model trained without it.
//! Written here rather than taken from a machine-learning crate: the model is a sparse linear
//! regression solved by conjugate gradients in about a hundred lines, where a crate would bring
//! dense linear algebra and a far larger build for no gain.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use crate::tokens::{IdMap, Words, mix, word_hash};

const MODEL_TSV: &str = include_str!("../data/sentiment_model.tsv");

/// Training settings.
#[derive(Clone, Copy, Debug)]
pub struct Params {
    /// Ridge penalty.
    pub alpha: f64,
    /// Share of the lexicon score the model does not need to explain (the target is the rating
    /// minus this share of the lexicon score).
    pub base_share: f64,
    /// A feature must occur in at least this many training texts.
    pub min_count: usize,
    /// Weights smaller than this are dropped from the shipped file.
    pub prune: f64,
}

impl Default for Params {
    /// Chosen by leave-one-corpus-out evaluation on the shared data (`heard eval`).
    fn default() -> Self {
        Params {
            alpha: 1.0,
            base_share: 0.3,
            min_count: 2,
            prune: 0.0005,
        }
    }
}

/// One training text: its lower-cased words, the lexicon's score and the human rating, both in
/// -1..1.
pub struct Example<'a> {
    pub words: Vec<&'a str>,
    pub base: f32,
    pub target: f32,
    /// Which corpus the text comes from (see `train`).
    pub source: u32,
}

/// A word as the model knows it: typographic apostrophes read as straight ones. `hash` is the
/// word's [`word_hash`], already computed for the text.
pub(crate) fn text_word_hash(w: &str, hash: u64) -> u64 {
    if w.contains('’') {
        word_hash(&w.replace('’', "'"))
    } else {
        hash
    }
}

pub(crate) fn pair_hash(a: u64, b: u64) -> u64 {
    mix(a.rotate_left(29) ^ b.wrapping_mul(0x9e37_79b9_7f4a_7c15))
}

/// Calls `f` with the hash of every word of `words` and of every pair of neighbouring words, in
/// text order, repeats included.
fn each_feature(words: &Words, mut f: impl FnMut(u64)) {
    let mut prev = None;
    for (w, &h) in words.words.iter().zip(&words.hashes) {
        let h = if words.ascii { h } else { text_word_hash(w, h) };
        f(h);
        if let Some(p) = prev {
            f(pair_hash(p, h));
        }
        prev = Some(h);
    }
}

/// The hash of a feature named as in the model file: a word, or two words separated by a space.
pub(crate) fn feature_hash(name: &str) -> u64 {
    match name.split_once(' ') {
        Some((a, b)) => pair_hash(word_hash(a), word_hash(b)),
        None => word_hash(name),
    }
}

/// The distinct unigram and bigram hashes of `words`, sorted, into `out`: the features that
/// [`Correction::adjust_words`] counts on the fly, listed (for tests and inspection).
pub fn features(words: &Words, out: &mut Vec<u64>) {
    out.clear();
    each_feature(words, |h| out.push(h));
    out.sort_unstable();
    out.dedup();
}

/// The correction: a weight per known feature.
pub struct Correction {
    weights: IdMap<f32>,
}

impl Correction {
    /// The shipped model, parsed once per process and shared by every analyser.
    pub fn embedded() -> Arc<Correction> {
        static EMBEDDED: OnceLock<Arc<Correction>> = OnceLock::new();
        EMBEDDED
            .get_or_init(|| Arc::new(Correction::parse(MODEL_TSV)))
            .clone()
    }

    /// No correction at all: the lexicon's score as it is.
    pub fn none() -> Correction {
        Correction {
            weights: IdMap::default(),
        }
    }

    /// Reads "feature<TAB>weight" lines; a feature is a word or two words separated by a space.
    /// Lines starting with '#' are comments; malformed lines are skipped.
    pub fn parse(src: &str) -> Correction {
        let mut weights = IdMap::default();
        for line in src.lines().filter(|l| !l.starts_with('#')) {
            let Some((f, w)) = line.split_once('\t') else {
                continue;
            };
            let Ok(w) = w.trim().parse::<f32>() else {
                continue;
            };
            weights.insert(feature_hash(f), w);
        }
        Correction { weights }
    }

    /// Number of weighted features.
    pub fn len(&self) -> usize {
        self.weights.len()
    }

    pub fn is_empty(&self) -> bool {
        self.weights.is_empty()
    }

    /// The lexicon score `base` corrected by what the features say, in -1..1.
    pub fn adjust(&self, base: f32, feats: &[u64]) -> f32 {
        if feats.is_empty() || self.weights.is_empty() {
            return base;
        }
        let sum: f64 = feats
            .iter()
            .filter_map(|h| self.weights.get(h))
            .map(|&w| f64::from(w))
            .sum();
        Self::blend(base, sum, feats.len())
    }

    /// [`Correction::adjust`] over the features of `words`, without listing and sorting them: a
    /// small hash set (on the stack for a comment of up to 128 words) counts the distinct
    /// features, and the weights found are summed as they come, in double precision so that the
    /// order of the sum does not show in the score.
    pub fn adjust_words(&self, base: f32, words: &Words) -> f32 {
        let n = words.words.len();
        if n == 0 || self.weights.is_empty() {
            return base;
        }
        // Up to 2n - 1 features keep the set at most half full.
        if 4 * n <= 128 {
            self.adjust_in(base, words, &mut [0; 128])
        } else if 4 * n <= 512 {
            self.adjust_in(base, words, &mut [0; 512])
        } else {
            self.adjust_in(base, words, &mut vec![0; (4 * n).next_power_of_two()])
        }
    }

    /// `adjust_words` with `set`, zeroed, a power of two at least four times the word count.
    fn adjust_in(&self, base: f32, words: &Words, set: &mut [u64]) -> f32 {
        let mask = set.len() - 1;
        // A feature whose hash is 0 (the empty slot's mark) is counted on the side.
        let mut zero = false;
        let mut distinct = 0usize;
        let mut sum = 0f64;
        let add = |h: u64| {
            let new = if h == 0 {
                !std::mem::replace(&mut zero, true)
            } else {
                let mut k = (h as usize) & mask;
                loop {
                    match set[k] {
                        0 => {
                            set[k] = h;
                            break true;
                        }
                        x if x == h => break false,
                        _ => k = (k + 1) & mask,
                    }
                }
            };
            if new {
                distinct += 1;
                if let Some(&w) = self.weights.get(&h) {
                    sum += f64::from(w);
                }
            }
        };
        each_feature(words, add);
        Self::blend(base, sum, distinct)
    }

    /// The base score moved by the mean feature weight, less as the base grows confident.
    fn blend(base: f32, sum: f64, distinct: usize) -> f32 {
        let m = (sum / (distinct as f64).sqrt()) as f32;
        (base + (1.0 - base.abs()) * m).clamp(-1.0, 1.0)
    }
}

/// A trained model: its features by name with their weights, sorted by name.
pub struct Trained {
    pub weights: Vec<(String, f32)>,
    /// Conjugate-gradient iterations used and the final relative residual.
    pub iterations: usize,
    pub residual: f64,
}

impl Trained {
    /// The model as it is used.
    pub fn correction(&self) -> Correction {
        Correction {
            weights: self
                .weights
                .iter()
                .map(|(f, w)| (feature_hash(f), *w))
                .collect(),
        }
    }

    /// The model as the shipped text file, with `header` lines as comments first.
    pub fn to_tsv(&self, header: &[String]) -> String {
        let mut out = String::new();
        for h in header {
            out.push_str("# ");
            out.push_str(h);
            out.push('\n');
        }
        for (f, w) in &self.weights {
            out.push_str(f);
            out.push('\t');
            out.push_str(&format!("{w:.4}"));
            out.push('\n');
        }
        out
    }
}

/// Fits the correction to `examples` by ridge regression (each corpus weighted by the square
/// root of its size), solved with conjugate gradients on the normal equations. Deterministic:
/// the same examples give the same file.
pub fn train(examples: &[Example], params: Params) -> Trained {
    // Vocabulary: features seen in at least `min_count` texts, named by their words.
    let mut counts: HashMap<String, usize> = HashMap::new();
    let names_of = |words: &[&str]| -> Vec<String> {
        let mut v: Vec<String> = words.iter().map(|w| w.replace('’', "'")).collect();
        for p in words.windows(2) {
            v.push(format!(
                "{} {}",
                p[0].replace('’', "'"),
                p[1].replace('’', "'")
            ));
        }
        v.sort_unstable();
        v.dedup();
        v
    };
    let rows_named: Vec<Vec<String>> = examples.iter().map(|e| names_of(&e.words)).collect();
    for r in &rows_named {
        for f in r {
            *counts.entry(f.clone()).or_default() += 1;
        }
    }
    let mut vocab: Vec<&String> = counts
        .iter()
        .filter(|(_, n)| **n >= params.min_count)
        .map(|(f, _)| f)
        .collect();
    vocab.sort_unstable();
    let index: HashMap<&str, u32> = vocab
        .iter()
        .enumerate()
        .map(|(i, f)| (f.as_str(), i as u32))
        .collect();
    // Rows: known feature indices and one value per row (1/sqrt of all its features, known or
    // not, as `Correction::adjust` computes it).
    let rows: Vec<(Vec<u32>, f64)> = rows_named
        .iter()
        .map(|r| {
            let idx: Vec<u32> = r
                .iter()
                .filter_map(|f| index.get(f.as_str()).copied())
                .collect();
            (idx, 1.0 / (r.len().max(1) as f64).sqrt())
        })
        .collect();
    let y: Vec<f64> = examples
        .iter()
        .map(|e| f64::from(e.target) - params.base_share * f64::from(e.base))
        .collect();
    // Each source corpus also gets an offset of its own, fitted with the words and then thrown
    // away: a corpus's base rate (editorials lean negative, tweets positive) is not something a
    // word should learn, or common words would push every new text towards the training mix.
    let sources: Vec<usize> = examples.iter().map(|e| e.source as usize).collect();
    let n_sources = sources.iter().max().map_or(0, |m| m + 1);
    let n_words = vocab.len();
    let n = n_words + n_sources;
    // Each corpus weighs in proportion to the square root of its size rather than to its size
    // (weighted least squares): the largest corpus still counts most, but its genre (movie
    // reviews) no longer sets what a word means for every other genre.
    let mut per_source = vec![0usize; n_sources];
    for &s in &sources {
        per_source[s] += 1;
    }
    let row_weight: Vec<f64> = sources
        .iter()
        .map(|&s| (examples.len() as f64 / (n_sources * per_source[s]) as f64).sqrt())
        .collect();
    let xt = |v: &[f64], out: &mut Vec<f64>| {
        out.iter_mut().for_each(|o| *o = 0.0);
        for ((((idx, val), vi), s), rw) in rows.iter().zip(v).zip(&sources).zip(&row_weight) {
            let vi = vi * rw;
            for &j in idx {
                out[j as usize] += val * vi;
            }
            out[n_words + s] += vi;
        }
    };
    let x = |w: &[f64]| -> Vec<f64> {
        rows.iter()
            .zip(&sources)
            .map(|((idx, val), s)| {
                idx.iter().map(|&j| w[j as usize]).sum::<f64>() * val + w[n_words + s]
            })
            .collect()
    };
    let dot = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(p, q)| p * q).sum::<f64>();
    let mut b = vec![0.0; n];
    xt(&y, &mut b);
    let mut w = vec![0.0; n];
    let mut r = b.clone();
    let mut p = r.clone();
    let mut rs = dot(&r, &r);
    let b_norm = rs.sqrt().max(1e-30);
    let mut ap = vec![0.0; n];
    let mut iterations = 0;
    while iterations < 1000 && rs.sqrt() / b_norm > 1e-6 {
        iterations += 1;
        xt(&x(&p), &mut ap);
        // The offsets are not penalised: they are nuisance terms, not evidence.
        for (a, pi) in ap.iter_mut().zip(&p).take(n_words) {
            *a += params.alpha * pi;
        }
        let step = rs / dot(&p, &ap).max(1e-300);
        for i in 0..n {
            w[i] += step * p[i];
            r[i] -= step * ap[i];
        }
        let rs_new = dot(&r, &r);
        let beta = rs_new / rs;
        rs = rs_new;
        for i in 0..n {
            p[i] = r[i] + beta * p[i];
        }
    }
    let weights = vocab
        .iter()
        .zip(&w)
        .filter(|(_, w)| w.abs() >= params.prune)
        .map(|(f, w)| ((*f).clone(), *w as f32))
        .collect();
    Trained {
        weights,
        iterations,
        residual: rs.sqrt() / b_norm,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn training_learns_words_the_lexicon_lacks() {
        let texts = [
            ("the plot was predictable", -0.6),
            ("predictable and dull story", -0.7),
            ("utterly predictable ending", -0.5),
            ("a gripping story", 0.6),
            ("gripping from start to end", 0.7),
            ("the ending was gripping", 0.5),
        ];
        let ex: Vec<Example> = texts
            .iter()
            .map(|(t, y)| Example {
                words: t.split(' ').collect(),
                base: 0.0,
                target: *y,
                source: 0,
            })
            .collect();
        let m = train(&ex, Params::default());
        let c = m.correction();
        let mut f = Vec::new();
        features(&Words::of("so predictable"), &mut f);
        assert!(c.adjust(0.0, &f) < -0.05);
        features(&Words::of("gripping tale"), &mut f);
        assert!(c.adjust(0.0, &f) > 0.05);
        // A confident lexicon score is barely moved, and never past the range.
        assert!(c.adjust(1.0, &f) <= 1.0);
        // The file round-trips.
        let again = Correction::parse(&m.to_tsv(&["test".into()]));
        assert_eq!(again.len(), c.len());
        // Weights are written with four decimals.
        assert!((again.adjust(0.0, &f) - c.adjust(0.0, &f)).abs() < 1e-3);
    }

    #[test]
    fn adjusting_by_words_equals_adjusting_by_the_feature_list() {
        let c = Correction::embedded();
        let long = "the plot was not good and the acting was bad ".repeat(12);
        let longer = "a tale of two hours wasted ".repeat(30);
        for t in [
            "",
            "great",
            "the the the the",
            "it was not good, not good at all",
            "predictable plot, wooden acting, two hours of my life",
            "we’re glad it’s over",
            long.as_str(),
            longer.as_str(),
        ] {
            let lower = t.to_lowercase();
            let ws = Words::of(&lower);
            let mut f = Vec::new();
            features(&ws, &mut f);
            for base in [-0.5, 0.0, 0.7] {
                let (a, b) = (c.adjust_words(base, &ws), c.adjust(base, &f));
                assert!((a - b).abs() < 1e-6, "{t}: {a} {b}");
            }
        }
    }

    #[test]
    fn no_features_or_no_model_leave_the_score_alone() {
        assert_eq!(Correction::none().adjust(0.3, &[1, 2]), 0.3);
        assert_eq!(Correction::embedded().adjust(-0.2, &[]), -0.2);
    }
}
