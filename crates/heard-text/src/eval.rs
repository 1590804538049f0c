//! Evaluation helpers: metrics and parsers for the shared evaluation data, given as strings so
//! the library keeps no I/O. The CLI (`heard eval`) and the integration tests read the files and
//! call these.

use std::collections::HashMap;

use serde::Deserialize;

use crate::pii::{RedactConfig, detect};

/// Sentiment metrics with the VADER paper's protocol.
#[derive(Clone, Copy, Debug, Default)]
pub struct SentimentScores {
    pub n: usize,
    /// Pearson r between the predicted score and the mean human rating.
    pub r: f64,
    /// Support-weighted 3-class precision, recall and F1 (truth: sign of the mean; prediction:
    /// ±0.05 thresholds).
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    /// Macro F1 over three classes with a neutral band |mean| <= `band` for the truth.
    pub macro_f1_band: f64,
}

/// Pearson correlation.
pub fn pearson(x: &[f64], y: &[f64]) -> f64 {
    let n = x.len().min(y.len()) as f64;
    if n < 2.0 {
        return 0.0;
    }
    let mx = x.iter().sum::<f64>() / n;
    let my = y.iter().sum::<f64>() / n;
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (a, b) in x.iter().zip(y) {
        sxy += (a - mx) * (b - my);
        sxx += (a - mx) * (a - mx);
        syy += (b - my) * (b - my);
    }
    if sxx == 0.0 || syy == 0.0 {
        0.0
    } else {
        sxy / (sxx * syy).sqrt()
    }
}

fn class_of_score(s: f64) -> usize {
    if s >= 0.05 {
        0
    } else if s <= -0.05 {
        2
    } else {
        1
    }
}

/// Per-class precision, recall and F1 and the support of each class, for classes 0..3.
fn per_class(truth: &[usize], pred: &[usize]) -> [(f64, f64, f64, usize); 3] {
    let mut out = [(0.0, 0.0, 0.0, 0); 3];
    for (c, slot) in out.iter_mut().enumerate() {
        let tp = truth
            .iter()
            .zip(pred)
            .filter(|(t, p)| **t == c && **p == c)
            .count() as f64;
        let np = pred.iter().filter(|p| **p == c).count() as f64;
        let nt = truth.iter().filter(|t| **t == c).count();
        let p = if np > 0.0 { tp / np } else { 0.0 };
        let r = if nt > 0 { tp / nt as f64 } else { 0.0 };
        let f = if p + r > 0.0 {
            2.0 * p * r / (p + r)
        } else {
            0.0
        };
        *slot = (p, r, f, nt);
    }
    out
}

/// Scores predictions `pred` (-1..1) against mean human ratings `truth`, with a neutral band
/// `band` on the truth's scale for the macro F1.
pub fn sentiment_scores(truth: &[f64], pred: &[f64], band: f64) -> SentimentScores {
    let t3: Vec<usize> = truth
        .iter()
        .map(|&t| {
            if t > 0.0 {
                0
            } else if t < 0.0 {
                2
            } else {
                1
            }
        })
        .collect();
    let p3: Vec<usize> = pred.iter().map(|&p| class_of_score(p)).collect();
    let pc = per_class(&t3, &p3);
    let n = truth.len().max(1) as f64;
    let w = |k: usize| {
        pc.iter()
            .map(|c| [c.0, c.1, c.2][k] * c.3 as f64)
            .sum::<f64>()
            / n
    };
    let tb: Vec<usize> = truth
        .iter()
        .map(|&t| {
            if t > band {
                0
            } else if t < -band {
                2
            } else {
                1
            }
        })
        .collect();
    let pb = per_class(&tb, &p3);
    let present: Vec<f64> = pb.iter().filter(|c| c.3 > 0).map(|c| c.2).collect();
    SentimentScores {
        n: truth.len(),
        r: pearson(pred, truth),
        precision: w(0),
        recall: w(1),
        f1: w(2),
        macro_f1_band: present.iter().sum::<f64>() / present.len().max(1) as f64,
    }
}

/// Binary accuracy (a score > 0 is positive, < 0 negative, 0 counts as wrong) and the paper's
/// 3-class weighted F1 for binary labels.
pub fn binary_scores(truth: &[bool], pred: &[f64]) -> (f64, f64) {
    let ok = truth
        .iter()
        .zip(pred)
        .filter(|(t, p)| if **t { **p > 0.0 } else { **p < 0.0 })
        .count();
    let tf: Vec<f64> = truth.iter().map(|&t| if t { 1.0 } else { -1.0 }).collect();
    let s = sentiment_scores(&tf, pred, 0.5);
    (ok as f64 / truth.len().max(1) as f64, s.f1)
}

/// The texts of a rated corpus in the VADER paper's ground-truth format: one per line, as id,
/// mean rating in -4..4 and text, separated by tabs; blank lines are skipped. A line that does not
/// parse is an error naming the line and the reason.
pub fn parse_vader(src: &str) -> Result<Vec<(f64, &str)>, String> {
    let mut out = Vec::new();
    for (n, line) in src.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let mut it = line.splitn(3, '\t');
        let (Some(_id), Some(rating), Some(text)) = (it.next(), it.next(), it.next()) else {
            return Err(format!(
                "line {}: expected id, rating and text separated by tabs",
                n + 1
            ));
        };
        let rating: f64 = rating
            .trim()
            .parse()
            .ok()
            .filter(|r: &f64| (-4.0..=4.0).contains(r))
            .ok_or_else(|| format!("line {}: rating {rating:?} is not a number in -4..4", n + 1))?;
        out.push((rating, text.trim()));
    }
    if out.is_empty() {
        return Err("no rated texts".to_string());
    }
    Ok(out)
}

/// One row of the paper's table 4.
#[derive(Clone, Debug)]
pub struct PaperRow {
    pub corpus: String,
    pub method: String,
    pub r: f64,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
}

/// Rows of paper_table4.csv (comment lines start with '#').
pub fn parse_paper_table(src: &str) -> Vec<PaperRow> {
    parse_csv(src)
        .into_iter()
        .filter(|r| r.len() >= 6 && !r[0].starts_with('#') && r[0] != "corpus")
        .filter_map(|r| {
            Some(PaperRow {
                corpus: r[0].clone(),
                method: r[1].clone(),
                r: r[2].parse().ok()?,
                precision: r[3].parse().ok()?,
                recall: r[4].parse().ok()?,
                f1: r[5].parse().ok()?,
            })
        })
        .collect()
}

/// The CFPB complaints file (`complaints/cfpb_narratives_with_labels.csv`): the narrative and
/// product of every row that has both. A missing column is an error naming it.
pub fn parse_cfpb(src: &str) -> Result<Vec<(String, String)>, String> {
    let rows = parse_csv(src);
    let header = rows.first().ok_or("empty CSV")?;
    let col = |name: &str| {
        header
            .iter()
            .position(|h| h == name)
            .ok_or_else(|| format!("no {name} column"))
    };
    let (ni, pi) = (col("narrative")?, col("product")?);
    Ok(rows[1..]
        .iter()
        .filter(|r| r.len() > ni.max(pi))
        .map(|r| (r[ni].clone(), r[pi].clone()))
        .collect())
}

/// A small RFC 4180 CSV reader: quoted fields, doubled quotes, newlines inside quotes.
pub fn parse_csv(src: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = src.chars().peekable();
    while let Some(c) = chars.next() {
        if quoted {
            if c == '"' {
                if chars.peek() == Some(&'"') {
                    field.push('"');
                    chars.next();
                } else {
                    quoted = false;
                }
            } else {
                field.push(c);
            }
            continue;
        }
        match c {
            '"' if field.is_empty() => quoted = true,
            ',' => row.push(std::mem::take(&mut field)),
            '\r' => {}
            '\n' => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            _ => field.push(c),
        }
    }
    if !field.is_empty() || !row.is_empty() {
        row.push(field);
        rows.push(row);
    }
    rows
}

/// One Presidio recognizer case.
#[derive(Deserialize, Clone, Debug)]
pub struct PiiCase {
    pub entity: String,
    pub text: String,
    pub expected_len: usize,
    #[serde(default)]
    pub expected_positions: Vec<(usize, usize)>,
}

/// Span-level scores for one entity type.
#[derive(Clone, Debug, Default)]
pub struct PiiTypeScore {
    pub entity: String,
    /// Expected spans (from `expected_len`).
    pub expected: usize,
    /// Spans of this type we reported in the cases of this type.
    pub predicted: usize,
    pub tp_exact: usize,
    pub tp_overlap: usize,
    /// Expected spans covered by a span of any type (what matters for redaction).
    pub redacted_any_type: usize,
    /// Must-not-match cases, and how many of them got a span of this type.
    pub must_not_cases: usize,
    pub must_not_hits: usize,
}

impl PiiTypeScore {
    pub fn recall_exact(&self) -> f64 {
        ratio(self.tp_exact, self.expected)
    }
    pub fn recall_overlap(&self) -> f64 {
        ratio(self.tp_overlap, self.expected)
    }
    pub fn precision_overlap(&self) -> f64 {
        ratio(self.tp_overlap.min(self.predicted), self.predicted)
    }
    pub fn f1_overlap(&self) -> f64 {
        let (p, r) = (self.precision_overlap(), self.recall_overlap());
        if p + r > 0.0 {
            2.0 * p * r / (p + r)
        } else {
            0.0
        }
    }
    pub fn redaction_recall(&self) -> f64 {
        ratio(self.redacted_any_type, self.expected)
    }
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 { 1.0 } else { a as f64 / b as f64 }
}

/// Scores the redactor on Presidio's cases, per entity type, sorted by type.
///
/// Cases whose expected positions are missing (some card cases list only a count) are scored by
/// count: each reported span of the right type up to the count is a hit.
pub fn score_pii(cases: &[PiiCase], config: RedactConfig) -> Vec<PiiTypeScore> {
    let mut by: HashMap<String, PiiTypeScore> = HashMap::new();
    for case in cases {
        let chars: Vec<char> = case.text.chars().collect();
        let spans = detect(&chars, config);
        let s = by
            .entry(case.entity.clone())
            .or_insert_with(|| PiiTypeScore {
                entity: case.entity.clone(),
                ..Default::default()
            });
        let mine: Vec<(usize, usize)> = spans
            .iter()
            .filter(|x| x.kind == case.entity)
            .map(|x| (x.start, x.end))
            .collect();
        if case.expected_len == 0 {
            s.must_not_cases += 1;
            if !mine.is_empty() {
                s.must_not_hits += 1;
            }
            continue;
        }
        s.expected += case.expected_len;
        s.predicted += mine.len();
        if case.expected_positions.is_empty() {
            let k = mine.len().min(case.expected_len);
            s.tp_exact += k;
            s.tp_overlap += k;
            s.redacted_any_type += spans.len().min(case.expected_len);
            continue;
        }
        let overlaps = |a: (usize, usize), b: (usize, usize)| a.0 < b.1 && b.0 < a.1;
        for &e in &case.expected_positions {
            if mine.contains(&e) {
                s.tp_exact += 1;
            }
            if mine.iter().any(|m| overlaps(*m, e)) {
                s.tp_overlap += 1;
            }
            if spans.iter().any(|m| overlaps((m.start, m.end), e)) {
                s.redacted_any_type += 1;
            }
        }
    }
    let mut v: Vec<PiiTypeScore> = by.into_values().collect();
    v.sort_by(|a, b| a.entity.cmp(&b.entity));
    v
}

/// Purity and normalised mutual information (arithmetic-mean normalisation) of a clustering
/// against reference labels.
pub fn purity_nmi(labels: &[usize], clusters: &[usize]) -> (f64, f64) {
    let n = labels.len() as f64;
    if n == 0.0 {
        return (0.0, 0.0);
    }
    let mut joint: HashMap<(usize, usize), f64> = HashMap::new();
    let mut lc: HashMap<usize, f64> = HashMap::new();
    let mut cc: HashMap<usize, f64> = HashMap::new();
    for (&l, &c) in labels.iter().zip(clusters) {
        *joint.entry((c, l)).or_default() += 1.0;
        *lc.entry(l).or_default() += 1.0;
        *cc.entry(c).or_default() += 1.0;
    }
    let mut best: HashMap<usize, f64> = HashMap::new();
    for (&(c, _), &v) in &joint {
        let b = best.entry(c).or_default();
        *b = b.max(v);
    }
    let purity = best.values().sum::<f64>() / n;
    let mut mi = 0.0;
    for (&(c, l), &v) in &joint {
        mi += v / n * ((v * n) / (cc[&c] * lc[&l])).ln();
    }
    let h = |m: &HashMap<usize, f64>| -m.values().map(|v| v / n * (v / n).ln()).sum::<f64>();
    let denom = (h(&lc) + h(&cc)) / 2.0;
    (purity, if denom > 0.0 { mi / denom } else { 0.0 })
}

/// Heard's labelled set of crisis and threat language and its look-alikes
/// (`data/crisis_eval.tsv`; how it was written and from which sources is in its header and in
/// `data/README.md`).
pub const CRISIS_SET: &str = include_str!("../data/crisis_eval.tsv");

/// One line of the crisis set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CrisisCase {
    /// "dev" (seen while the rules were written), "held" (written with the first dev lines,
    /// before the rules, and never used to change them) or "blind" (a round written after the
    /// rules and not yet used to change them; see `data/README.md`).
    pub split: String,
    /// "crisis", "threat" or "none" (a look-alike that must not be flagged).
    pub label: String,
    /// The source's category: "wish_dead", "intent", "burden", "threat_veiled", "hyperbole" ...
    pub category: String,
    /// "en" or "es".
    pub language: String,
    pub text: String,
}

/// Parses the crisis set: tab-separated split, label, category, language, text; lines starting
/// with `#` are comments. An error names the line and what is wrong with it.
pub fn parse_crisis_set(src: &str) -> Result<Vec<CrisisCase>, String> {
    let mut out = Vec::new();
    for (n, line) in src.lines().enumerate() {
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let f: Vec<&str> = line.split('\t').collect();
        let [split, label, category, language, text] = f[..] else {
            return Err(format!("line {}: expected 5 tab-separated fields", n + 1));
        };
        if !matches!(split, "dev" | "held" | "blind") {
            return Err(format!("line {}: split must be dev, held or blind", n + 1));
        }
        if !matches!(label, "crisis" | "threat" | "none") {
            return Err(format!(
                "line {}: label must be crisis, threat or none",
                n + 1
            ));
        }
        if !matches!(language, "en" | "es") {
            return Err(format!("line {}: language must be en or es", n + 1));
        }
        out.push(CrisisCase {
            split: split.into(),
            label: label.into(),
            category: category.into(),
            language: language.into(),
            text: text.into(),
        });
    }
    Ok(out)
}

/// How the analyser read one group of crisis-set lines.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CrisisScore {
    pub split: String,
    pub label: String,
    pub category: String,
    pub language: String,
    pub n: usize,
    /// Lines flagged: with the expected urgency for crisis and threat lines, with any urgency
    /// for look-alikes (false alarms).
    pub flagged: usize,
    /// Flagged lines whose sentiment reads negative.
    pub negative: usize,
    /// Texts of the lines read wrongly (missed, or flagged when they should not be).
    pub wrong: Vec<String>,
}

impl CrisisScore {
    /// Share flagged: recall for crisis and threat lines, the false-alarm rate for look-alikes.
    pub fn rate(&self) -> f64 {
        self.flagged as f64 / self.n.max(1) as f64
    }
}

/// Reads every case with `analyze` and groups the results by (split, label, category, language)
/// in the order the groups first appear.
pub fn score_crisis(cases: &[CrisisCase], analyzer: &crate::Analyzer) -> Vec<CrisisScore> {
    let mut out: Vec<CrisisScore> = Vec::new();
    for c in cases {
        let a = analyzer.analyze(&c.text, Some(&c.language));
        let flagged = match c.label.as_str() {
            "crisis" => a.urgency.contains(&crate::Urgency::Crisis),
            "threat" => a.urgency.contains(&crate::Urgency::Threat),
            _ => !a.urgency.is_empty(),
        };
        let pos = out.iter().position(|s| {
            s.split == c.split
                && s.label == c.label
                && s.category == c.category
                && s.language == c.language
        });
        let s = match pos {
            Some(p) => &mut out[p],
            None => {
                out.push(CrisisScore {
                    split: c.split.clone(),
                    label: c.label.clone(),
                    category: c.category.clone(),
                    language: c.language.clone(),
                    ..CrisisScore::default()
                });
                out.last_mut().expect("just pushed")
            }
        };
        s.n += 1;
        if flagged {
            s.flagged += 1;
            s.negative += usize::from(a.sentiment.label == crate::Label::Negative);
        }
        if flagged == (c.label == "none") {
            s.wrong.push(c.text.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rated_corpus_lines_parse_or_name_the_line() {
        let ok = parse_vader("1\t2.5\tGreat service.\r\n\n2\t-1\tSlow.\n").unwrap();
        assert_eq!(ok, vec![(2.5, "Great service."), (-1.0, "Slow.")]);
        let e = parse_vader("1\t2\tok\n2\tfive\tbad\n").unwrap_err();
        assert!(e.contains("line 2") && e.contains("rating"), "{e}");
        let e = parse_vader("1\t9\ttoo high\n").unwrap_err();
        assert!(e.contains("-4..4"), "{e}");
        let e = parse_vader("just text\n").unwrap_err();
        assert!(e.contains("line 1") && e.contains("tabs"), "{e}");
        assert!(parse_vader("\n").is_err());
    }

    #[test]
    fn cfpb_rows_keep_narrative_and_product_or_name_the_missing_column() {
        let ok = parse_cfpb("product,issue,narrative\nMortgage,Fees,\"I paid, twice.\"\nShort\n")
            .unwrap();
        assert_eq!(
            ok,
            vec![("I paid, twice.".to_string(), "Mortgage".to_string())]
        );
        let e = parse_cfpb("product,issue\nMortgage,Fees\n").unwrap_err();
        assert!(e.contains("narrative"), "{e}");
        assert!(parse_cfpb("").is_err());
    }

    #[test]
    fn metrics() {
        assert!((pearson(&[1.0, 2.0, 3.0], &[2.0, 4.0, 6.0]) - 1.0).abs() < 1e-9);
        let (p, nmi) = purity_nmi(&[0, 0, 1, 1], &[5, 5, 7, 7]);
        assert!((p - 1.0).abs() < 1e-9 && (nmi - 1.0).abs() < 1e-9);
        let rows = parse_csv("a,\"b,\"\"c\"\"\nd\"\n1,2\n");
        assert_eq!(
            rows,
            vec![
                vec!["a".to_string(), "b,\"c\"\nd".to_string()],
                vec!["1".to_string(), "2".to_string()]
            ]
        );
    }
}
