//! Themes: a taxonomy an agency can edit, matched by trigger words and phrases, and discovery of
//! new themes among comments that fit none (spherical k-means on TF-IDF, labelled by key terms).

use std::collections::HashMap;

use serde::Serialize;

use crate::tokens::{HeadIndex, WordTable, Words, is_stopword, words};

const DEFAULT_TAXONOMY: &str = include_str!("../data/taxonomy.txt");

/// A theme found in a text, with the words that triggered it.
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct ThemeHit {
    pub id: String,
    pub label: String,
    pub triggers: Vec<String>,
}

/// One trigger: a sequence of words, the last of which may be a prefix.
#[derive(Clone, Debug)]
struct Trigger {
    words: Vec<String>,
    prefix: bool,
}

/// One theme of the taxonomy.
#[derive(Clone, Debug)]
pub struct Theme {
    pub id: String,
    pub label: String,
    triggers: Vec<Trigger>,
}

/// A theme taxonomy.
#[derive(Clone, Debug)]
pub struct Taxonomy {
    themes: Vec<Theme>,
    /// First word of a trigger (exact) → (theme, trigger) indices; prefixes are kept apart.
    exact: WordTable<Vec<(usize, usize)>>,
    /// Single-word prefixes by their first three characters.
    prefixes: HeadIndex<(String, usize)>,
}

/// A taxonomy file that could not be read, with the line and the reason.
#[derive(Debug, Clone, PartialEq)]
pub struct TaxonomyError {
    pub line: usize,
    pub reason: String,
}

impl std::fmt::Display for TaxonomyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "taxonomy line {}: {}", self.line, self.reason)
    }
}

impl std::error::Error for TaxonomyError {}

impl Default for Taxonomy {
    fn default() -> Self {
        Taxonomy::parse(DEFAULT_TAXONOMY).expect("the embedded taxonomy parses")
    }
}

impl Taxonomy {
    /// The default taxonomy for public services, embedded in the binary.
    pub fn default_text() -> &'static str {
        DEFAULT_TAXONOMY
    }

    /// Parses a taxonomy from the contents of a file (see data/taxonomy.txt for the format).
    pub fn parse(src: &str) -> Result<Taxonomy, TaxonomyError> {
        let mut themes: Vec<Theme> = Vec::new();
        for (n, raw) in src.lines().enumerate() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            if let Some(rest) = line.strip_prefix('[') {
                let Some((id, label)) = rest.split_once(']') else {
                    return Err(TaxonomyError {
                        line: n + 1,
                        reason: "missing ']' after the theme id".into(),
                    });
                };
                let id = id.trim();
                if id.is_empty()
                    || !id
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
                {
                    return Err(TaxonomyError {
                        line: n + 1,
                        reason: "a theme id uses letters, digits, '_' or '-'".into(),
                    });
                }
                if themes.iter().any(|t| t.id == id) {
                    return Err(TaxonomyError {
                        line: n + 1,
                        reason: format!("theme id {id} appears twice"),
                    });
                }
                let label = label.trim();
                themes.push(Theme {
                    id: id.to_string(),
                    label: if label.is_empty() { id } else { label }.to_string(),
                    triggers: Vec::new(),
                });
                continue;
            }
            let Some(theme) = themes.last_mut() else {
                return Err(TaxonomyError {
                    line: n + 1,
                    reason: "triggers before the first [theme] line".into(),
                });
            };
            for t in line.split(',') {
                let t = t.trim().to_lowercase();
                if t.is_empty() {
                    continue;
                }
                let body = t.trim_end_matches('*');
                // A prefix needs three characters; a shorter one would match too much.
                let prefix = t.ends_with('*') && body.chars().count() >= 3;
                let ws: Vec<String> = words(body).map(|(_, w)| w.to_string()).collect();
                if ws.is_empty() {
                    return Err(TaxonomyError {
                        line: n + 1,
                        reason: format!("trigger {t:?} has no word"),
                    });
                }
                theme.triggers.push(Trigger { words: ws, prefix });
            }
        }
        if themes.is_empty() {
            return Err(TaxonomyError {
                line: 0,
                reason: "no theme defined".into(),
            });
        }
        let mut exact: WordTable<Vec<(usize, usize)>> = WordTable::default();
        let mut prefixes: HeadIndex<(String, usize)> = HeadIndex::default();
        for (ti, th) in themes.iter().enumerate() {
            for (gi, tr) in th.triggers.iter().enumerate() {
                if tr.prefix && tr.words.len() == 1 {
                    prefixes.insert(&tr.words[0], (tr.words[0].clone(), ti));
                } else {
                    exact.entry(&tr.words[0]).push((ti, gi));
                }
            }
        }
        Ok(Taxonomy {
            themes,
            exact,
            prefixes,
        })
    }

    /// The themes, in file order.
    pub fn themes(&self) -> &[Theme] {
        &self.themes
    }

    /// Themes of a lower-cased text given as its word list; each hit lists its triggers once.
    pub fn match_words(&self, words: &Words) -> Vec<ThemeHit> {
        let ws = &words.words;
        let mut found: Vec<(usize, Vec<String>)> = Vec::new();
        let mut add = |ti: usize, s: String| match found.iter_mut().find(|(t, _)| *t == ti) {
            Some((_, v)) => {
                if !v.contains(&s) {
                    v.push(s);
                }
            }
            None => found.push((ti, vec![s])),
        };
        for i in 0..ws.len() {
            let w = ws[i];
            if let Some(cands) = self.exact.get(w, words.hashes[i]) {
                for &(ti, gi) in cands {
                    let tr = &self.themes[ti].triggers[gi];
                    let n = tr.words.len();
                    if i + n > ws.len() {
                        continue;
                    }
                    let ok = tr.words.iter().enumerate().all(|(k, tw)| {
                        let x = ws[i + k];
                        if tr.prefix && k == n - 1 {
                            x.starts_with(tw.as_str())
                        } else {
                            x == tw
                        }
                    });
                    if ok {
                        add(ti, ws[i..i + n].join(" "));
                    }
                }
            }
            // Prefixes are at least three characters long (see `parse`), so one lookup finds them.
            for (p, ti) in self.prefixes.get(w) {
                if w.starts_with(p.as_str()) {
                    add(*ti, w.to_string());
                }
            }
        }
        found.sort_by_key(|(t, _)| *t);
        found
            .into_iter()
            .map(|(ti, triggers)| ThemeHit {
                id: self.themes[ti].id.clone(),
                label: self.themes[ti].label.clone(),
                triggers,
            })
            .collect()
    }
}

/// A discovered group of comments.
#[derive(Serialize, Clone, Debug)]
pub struct Cluster {
    /// A label made of the key terms.
    pub label: String,
    pub key_phrases: Vec<String>,
    /// Indices into the input.
    pub members: Vec<usize>,
}

/// Groups `texts` into at most `k` clusters of similar vocabulary, deterministically.
///
/// Each text becomes a TF-IDF vector of its content words and word pairs (stop words, numbers and
/// masks such as "XXXX" dropped); spherical k-means with farthest-first seeding groups them; each
/// group is labelled by the terms with the highest weight in its centroid.
pub fn discover(texts: &[&str], k: usize) -> Vec<Cluster> {
    let n = texts.len();
    if n == 0 || k == 0 {
        return Vec::new();
    }
    let mut vocab: HashMap<String, usize> = HashMap::new();
    let mut docs: Vec<Vec<(usize, f32)>> = Vec::with_capacity(n);
    let mut df: Vec<u32> = Vec::new();
    for t in texts {
        let lower = t.to_lowercase();
        let content: Vec<&str> = words(&lower)
            .map(|(_, w)| w)
            .filter(|w| {
                w.len() > 2 && !is_stopword(w) && !w.chars().all(|c| c == 'x' || c.is_ascii_digit())
            })
            .collect();
        let mut tf: HashMap<usize, f32> = HashMap::new();
        let mut term = |s: String, wgt: f32| {
            let next = vocab.len();
            let id = *vocab.entry(s).or_insert(next);
            if id == df.len() {
                df.push(0);
            }
            *tf.entry(id).or_insert(0.0) += wgt;
        };
        for (i, w) in content.iter().enumerate() {
            term((*w).to_string(), 1.0);
            if let Some(nx) = content.get(i + 1) {
                term(format!("{w} {nx}"), 1.0);
            }
        }
        for id in tf.keys() {
            df[*id] += 1;
        }
        docs.push(tf.into_iter().collect());
    }
    let nf = n as f32;
    // Terms in a single document or in more than half of them do not help grouping.
    for d in docs.iter_mut() {
        d.retain(|(id, _)| df[*id] >= 2 && (df[*id] as f32) < nf * 0.5);
        let mut norm = 0.0;
        for (id, w) in d.iter_mut() {
            *w = (1.0 + w.ln()) * (nf / df[*id] as f32).ln();
            norm += *w * *w;
        }
        let norm = norm.sqrt().max(1e-9);
        for (_, w) in d.iter_mut() {
            *w /= norm;
        }
        d.sort_by_key(|(id, _)| *id);
    }
    let dim = vocab.len();
    let k = k.min(n);
    let dot = |d: &[(usize, f32)], c: &[f32]| d.iter().map(|(i, w)| w * c[*i]).sum::<f32>();
    // Farthest-first seeding from the longest document: deterministic and spreads the seeds.
    let first = (0..n).max_by_key(|&i| docs[i].len()).unwrap_or(0);
    let mut centroids: Vec<Vec<f32>> = Vec::with_capacity(k);
    let mut best_sim = vec![f32::MIN; n];
    let mut seed = first;
    for _ in 0..k {
        let mut c = vec![0.0f32; dim];
        for (i, w) in &docs[seed] {
            c[*i] = *w;
        }
        for (j, d) in docs.iter().enumerate() {
            best_sim[j] = best_sim[j].max(dot(d, &c));
        }
        centroids.push(c);
        seed = (0..n)
            .filter(|&j| !docs[j].is_empty())
            .min_by(|&a, &b| best_sim[a].total_cmp(&best_sim[b]))
            .unwrap_or(0);
    }
    let mut assign = vec![0usize; n];
    for _round in 0..20 {
        let mut changed = false;
        for (j, d) in docs.iter().enumerate() {
            let mut best = 0;
            let mut bs = f32::MIN;
            for (ci, c) in centroids.iter().enumerate() {
                let s = dot(d, c);
                if s > bs {
                    bs = s;
                    best = ci;
                }
            }
            if assign[j] != best {
                assign[j] = best;
                changed = true;
            }
        }
        for (ci, c) in centroids.iter_mut().enumerate() {
            c.iter_mut().for_each(|x| *x = 0.0);
            for (j, d) in docs.iter().enumerate() {
                if assign[j] == ci {
                    for (i, w) in d {
                        c[*i] += *w;
                    }
                }
            }
            let norm = c.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-9);
            c.iter_mut().for_each(|x| *x /= norm);
        }
        if !changed {
            break;
        }
    }
    let mut names = vec![String::new(); dim];
    for (s, id) in vocab {
        names[id] = s;
    }
    let mut out = Vec::new();
    for (ci, c) in centroids.iter().enumerate() {
        let members: Vec<usize> = (0..n).filter(|&j| assign[j] == ci).collect();
        if members.is_empty() {
            continue;
        }
        let mut top: Vec<(usize, f32)> = c
            .iter()
            .copied()
            .enumerate()
            .filter(|(_, w)| *w > 0.0)
            .collect();
        top.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        // Prefer phrases; skip single words already inside a chosen phrase.
        let mut key: Vec<String> = Vec::new();
        for (id, _) in top {
            let s = &names[id];
            if key.iter().any(|k| {
                k.split(' ').any(|p| p == s) || s.split(' ').all(|p| key.iter().any(|k| k == p))
            }) {
                continue;
            }
            key.push(s.clone());
            if key.len() == 4 {
                break;
            }
        }
        out.push(Cluster {
            label: key.iter().take(3).cloned().collect::<Vec<_>>().join(" / "),
            key_phrases: key,
            members,
        });
    }
    out
}
