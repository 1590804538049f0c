//! Evaluation helpers: metrics and parsers for the shared evaluation data, given as strings so
//! the library keeps no I/O. The CLI (`heard eval`) and the integration tests read the files and
//! call these.

use std::collections::HashMap;

use serde::Deserialize;

use crate::pii::{RedactConfig, detect};
use crate::{Analysis, Label};

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

/// The header line of the service-feedback set (`data/service-feedback/*.tsv` at the project root).
pub const FEEDBACK_HEADER: &str =
    "id\tlang\tsource\tsource_ref\tkind\tsentiment\tintent\tthemes\ttext";

/// Sentiment classes of the service-feedback set, in table order.
pub const SENTIMENTS: [&str; 3] = ["negative", "neutral", "positive"];

/// Intents of the service-feedback set, in table order; "none" is a text with no intent (the
/// engine gives none).
pub const INTENTS: [&str; 6] = [
    "complaint",
    "compliment",
    "question",
    "suggestion",
    "request_for_help",
    "none",
];

/// One labelled comment of the service-feedback set.
#[derive(Clone, Debug, PartialEq)]
pub struct FeedbackItem {
    pub id: String,
    /// "en" or "es".
    pub lang: String,
    /// Where the text comes from ("cfpb", "uci-yelp", "team", ...).
    pub source: String,
    /// The row or page of the source.
    pub source_ref: String,
    /// The kinds of reading it tests ("service_failure_fact", "sarcasm", ...); comma-separated in
    /// the file.
    pub kinds: Vec<String>,
    pub sentiment: Label,
    /// One of [`INTENTS`].
    pub intent: &'static str,
    /// Taxonomy theme ids; comma-separated in the file, possibly none.
    pub themes: Vec<String>,
    pub text: String,
}

/// The index of a label in [`SENTIMENTS`].
pub fn sentiment_index(l: Label) -> usize {
    match l {
        Label::Negative => 0,
        Label::Neutral => 1,
        Label::Positive => 2,
    }
}

/// Parses the service-feedback set: the header [`FEEDBACK_HEADER`], then one comment per line,
/// tab-separated (the text, last, may hold tabs); blank lines are skipped. Themes must be ids of
/// `theme_ids` (the taxonomy in use). An error names the line, the field and the reason.
pub fn parse_feedback(src: &str, theme_ids: &[&str]) -> Result<Vec<FeedbackItem>, String> {
    let mut lines = src
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty());
    match lines.next() {
        Some((_, h)) if h.trim_end_matches('\r') == FEEDBACK_HEADER => {}
        Some((n, _)) => {
            return Err(format!(
                "line {}: the header must be {:?}",
                n + 1,
                FEEDBACK_HEADER
            ));
        }
        None => return Err("empty file: no header".to_string()),
    }
    let mut out: Vec<FeedbackItem> = Vec::new();
    let mut ids = std::collections::HashSet::new();
    for (n, line) in lines {
        let at = |field: &str, why: String| format!("line {}: {field}: {why}", n + 1);
        let f: Vec<&str> = line.trim_end_matches('\r').splitn(9, '\t').collect();
        let [
            id,
            lang,
            source,
            source_ref,
            kind,
            sentiment,
            intent,
            themes,
            text,
        ] = f[..]
        else {
            return Err(format!(
                "line {}: expected 9 tab-separated fields, found {}",
                n + 1,
                f.len()
            ));
        };
        if id.trim().is_empty() {
            return Err(at("id", "is empty".into()));
        }
        if !ids.insert(id) {
            return Err(at("id", format!("{id:?} appears twice")));
        }
        if !matches!(lang, "en" | "es") {
            return Err(at("lang", format!("{lang:?} is not en or es")));
        }
        let sentiment = match sentiment {
            "negative" => Label::Negative,
            "neutral" => Label::Neutral,
            "positive" => Label::Positive,
            _ => {
                return Err(at(
                    "sentiment",
                    format!("{sentiment:?} is not negative, neutral or positive"),
                ));
            }
        };
        let Some(intent) = INTENTS.iter().copied().find(|i| *i == intent) else {
            return Err(at(
                "intent",
                format!("{intent:?} is not one of {}", INTENTS.join(", ")),
            ));
        };
        let themes: Vec<String> = themes
            .split(',')
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(String::from)
            .collect();
        if let Some(t) = themes.iter().find(|t| !theme_ids.contains(&t.as_str())) {
            return Err(at(
                "themes",
                format!("{t:?} is not a theme of the taxonomy"),
            ));
        }
        let kinds: Vec<String> = kind
            .split(',')
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .map(String::from)
            .collect();
        if kinds.is_empty() {
            return Err(at("kind", "is empty".into()));
        }
        if text.trim().is_empty() {
            return Err(at("text", "is empty".into()));
        }
        out.push(FeedbackItem {
            id: id.into(),
            lang: lang.into(),
            source: source.into(),
            source_ref: source_ref.into(),
            kinds,
            sentiment,
            intent,
            themes,
            text: text.into(),
        });
    }
    if out.is_empty() {
        return Err("no labelled comments after the header".to_string());
    }
    Ok(out)
}

/// What an engine said about one comment, in the set's terms.
#[derive(Clone, Debug, PartialEq)]
pub struct FeedbackPrediction {
    pub sentiment: Label,
    /// One of [`INTENTS`].
    pub intent: &'static str,
    pub themes: Vec<String>,
}

/// The name of an intent in [`INTENTS`], as the data files write it.
pub use crate::service::intent_name;

impl FeedbackPrediction {
    /// Heard's reading of a comment.
    pub fn of(a: &Analysis) -> FeedbackPrediction {
        FeedbackPrediction {
            sentiment: a.sentiment.label,
            intent: intent_name(a.intent),
            themes: a.themes.iter().map(|t| t.id.clone()).collect(),
        }
    }
}

/// `a / b`, or 0 when `b` is 0 (scikit-learn's convention for an undefined precision or recall).
fn frac(a: usize, b: usize) -> f64 {
    if b == 0 { 0.0 } else { a as f64 / b as f64 }
}

/// The harmonic mean of a precision and a recall, 0 when both are 0.
pub fn f1_of(p: f64, r: f64) -> f64 {
    if p + r > 0.0 {
        2.0 * p * r / (p + r)
    } else {
        0.0
    }
}

/// Single-label classification scores over named classes.
#[derive(Clone, Debug, PartialEq)]
pub struct ClassScores {
    pub classes: Vec<&'static str>,
    /// `confusion[t][p]`: items of true class `t` predicted as `p`.
    pub confusion: Vec<Vec<usize>>,
}

impl ClassScores {
    /// Scores predictions against the truth, both as indices into `classes`.
    pub fn new(classes: &[&'static str], truth: &[usize], pred: &[usize]) -> ClassScores {
        let k = classes.len();
        let mut confusion = vec![vec![0; k]; k];
        for (&t, &p) in truth.iter().zip(pred) {
            confusion[t][p] += 1;
        }
        ClassScores {
            classes: classes.to_vec(),
            confusion,
        }
    }
    pub fn n(&self) -> usize {
        self.confusion.iter().flatten().sum()
    }
    /// Share of items predicted as their true class (0 for no items).
    pub fn accuracy(&self) -> f64 {
        frac(
            (0..self.classes.len()).map(|c| self.confusion[c][c]).sum(),
            self.n(),
        )
    }
    /// Items whose true class is `c`.
    pub fn support(&self, c: usize) -> usize {
        self.confusion[c].iter().sum()
    }
    /// Items predicted as `c`.
    pub fn predicted(&self, c: usize) -> usize {
        self.confusion.iter().map(|row| row[c]).sum()
    }
    pub fn precision(&self, c: usize) -> f64 {
        frac(self.confusion[c][c], self.predicted(c))
    }
    pub fn recall(&self, c: usize) -> f64 {
        frac(self.confusion[c][c], self.support(c))
    }
    pub fn f1(&self, c: usize) -> f64 {
        f1_of(self.precision(c), self.recall(c))
    }
    /// Mean F1 over the classes that occur in the truth or the predictions (scikit-learn's
    /// `f1_score(average="macro")` with its default labels).
    pub fn macro_f1(&self) -> f64 {
        let present: Vec<f64> = (0..self.classes.len())
            .filter(|&c| self.support(c) + self.predicted(c) > 0)
            .map(|c| self.f1(c))
            .collect();
        present.iter().sum::<f64>() / present.len().max(1) as f64
    }
}

/// Precision and recall of one theme over a multi-label set.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ThemeScore {
    pub id: String,
    /// Items labelled with the theme.
    pub support: usize,
    /// Items the engine gave the theme.
    pub predicted: usize,
    /// Items both labelled with and given the theme.
    pub tp: usize,
}

impl ThemeScore {
    pub fn precision(&self) -> f64 {
        frac(self.tp, self.predicted)
    }
    pub fn recall(&self) -> f64 {
        frac(self.tp, self.support)
    }
}

/// Multi-label theme scores: per theme, micro (pooled counts) and macro (mean over the themes
/// labelled or predicted at least once).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ThemeScores {
    /// In the order of the theme ids given to [`score_feedback`].
    pub per_theme: Vec<ThemeScore>,
}

impl ThemeScores {
    fn present(&self) -> impl Iterator<Item = &ThemeScore> {
        self.per_theme
            .iter()
            .filter(|t| t.support + t.predicted > 0)
    }
    pub fn micro_precision(&self) -> f64 {
        let (tp, p) = self
            .per_theme
            .iter()
            .fold((0, 0), |(a, b), t| (a + t.tp, b + t.predicted));
        frac(tp, p)
    }
    pub fn micro_recall(&self) -> f64 {
        let (tp, s) = self
            .per_theme
            .iter()
            .fold((0, 0), |(a, b), t| (a + t.tp, b + t.support));
        frac(tp, s)
    }
    pub fn micro_f1(&self) -> f64 {
        f1_of(self.micro_precision(), self.micro_recall())
    }
    pub fn macro_precision(&self) -> f64 {
        let v: Vec<f64> = self.present().map(ThemeScore::precision).collect();
        v.iter().sum::<f64>() / v.len().max(1) as f64
    }
    pub fn macro_recall(&self) -> f64 {
        let v: Vec<f64> = self.present().map(ThemeScore::recall).collect();
        v.iter().sum::<f64>() / v.len().max(1) as f64
    }
}

/// Words of thanks and request ("thank you", "please", "gracias", "por favor") that are
/// politeness, not praise.
const POLITENESS: [&str; 14] = [
    "thank",
    "thanks",
    "thankyou",
    "thx",
    "please",
    "pls",
    "plz",
    "appreciate",
    "appreciated",
    "kindly",
    "gracias",
    "agradezco",
    "agradecería",
    "agradeceria",
];

/// Whether a comment's only positive cue is politeness: it says thanks or please (or "por
/// favor", "gracias") but is labelled neither positive, nor a compliment, nor with the praise
/// theme. Heard must not raise the praise theme on such a comment.
pub fn politeness_only(item: &FeedbackItem) -> bool {
    if item.sentiment == Label::Positive
        || item.intent == "compliment"
        || item.themes.iter().any(|t| t == "praise")
    {
        return false;
    }
    let lower = item.text.to_lowercase();
    let words: Vec<&str> = lower
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    words.iter().any(|w| POLITENESS.contains(w)) || words.windows(2).any(|p| p == ["por", "favor"])
}

/// Everything measured on one group of the service-feedback set.
#[derive(Clone, Debug, PartialEq)]
pub struct FeedbackScores {
    /// Over [`SENTIMENTS`].
    pub sentiment: ClassScores,
    /// Over [`INTENTS`].
    pub intent: ClassScores,
    pub themes: ThemeScores,
    /// Comments whose only positive cue is politeness ([`politeness_only`]).
    pub politeness: usize,
    /// Of those, how many the engine gave the praise theme.
    pub politeness_praise: usize,
    /// Of those, how many the engine read as compliments.
    pub politeness_compliment: usize,
}

impl FeedbackScores {
    pub fn n(&self) -> usize {
        self.sentiment.n()
    }
}

/// Scores `preds` against the items `keep` selects (`items` and `preds` in the same order);
/// themes are scored for `theme_ids`, in that order.
pub fn score_feedback(
    items: &[FeedbackItem],
    preds: &[FeedbackPrediction],
    theme_ids: &[&str],
    keep: impl Fn(&FeedbackItem) -> bool,
) -> FeedbackScores {
    let (mut st, mut sp, mut it, mut ip) = (vec![], vec![], vec![], vec![]);
    let mut themes = ThemeScores {
        per_theme: theme_ids
            .iter()
            .map(|id| ThemeScore {
                id: id.to_string(),
                ..ThemeScore::default()
            })
            .collect(),
    };
    let (mut polite, mut polite_praise, mut polite_compliment) = (0, 0, 0);
    let intent_index = |name: &str| INTENTS.iter().position(|i| *i == name).unwrap_or(5);
    for (item, pred) in items.iter().zip(preds).filter(|(i, _)| keep(i)) {
        st.push(sentiment_index(item.sentiment));
        sp.push(sentiment_index(pred.sentiment));
        it.push(intent_index(item.intent));
        ip.push(intent_index(pred.intent));
        for t in &mut themes.per_theme {
            let (gold, given) = (item.themes.contains(&t.id), pred.themes.contains(&t.id));
            t.support += usize::from(gold);
            t.predicted += usize::from(given);
            t.tp += usize::from(gold && given);
        }
        if politeness_only(item) {
            polite += 1;
            polite_praise += usize::from(pred.themes.iter().any(|t| t == "praise"));
            polite_compliment += usize::from(pred.intent == "compliment");
        }
    }
    FeedbackScores {
        sentiment: ClassScores::new(&SENTIMENTS, &st, &sp),
        intent: ClassScores::new(&INTENTS, &it, &ip),
        themes,
        politeness: polite,
        politeness_praise: polite_praise,
        politeness_compliment: polite_compliment,
    }
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
