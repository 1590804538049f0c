//! Quality checks on the shared evaluation data (read in place, never copied into the repo).
//! Thresholds are the project's targets or guards just under today's figures, so a regression
//! fails the build.

use heard_text::eval::{self, PiiCase};
use heard_text::{Analyzer, RedactConfig, model};

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data");

fn read(rel: &str) -> String {
    std::fs::read_to_string(format!("{DATA}/{rel}"))
        .unwrap_or_else(|e| panic!("cannot read {rel}: {e}"))
}

const VADER: [&str; 3] = [
    "sentiment/vader/tweets_GroundTruth.txt",
    "sentiment/vader/movieReviewSnippets_GroundTruth.txt",
    "sentiment/vader/nytEditorialSnippets_GroundTruth.txt",
];

/// Every rated text: (corpus file, text, rating in -1..1).
fn rated() -> Vec<(String, String, f32)> {
    let mut out = Vec::new();
    for rel in VADER {
        for (m, t) in eval::parse_vader(&read(rel)).expect(rel) {
            out.push((rel.to_string(), t.to_string(), (m / 4.0) as f32));
        }
    }
    for name in ["amazon", "imdb", "yelp"] {
        let rel = format!("sentiment/uci/{name}.json");
        let v: serde_json::Value = serde_json::from_str(&read(&rel)).expect("json");
        for x in v.as_array().expect("array") {
            if let (Some(t), Some(c)) = (x["text"].as_str(), x["class"].as_i64()) {
                out.push((rel.clone(), t.to_string(), if c == 1 { 0.5 } else { -0.5 }));
            }
        }
    }
    out
}

/// An analyser whose learned correction never saw the corpus `rel`.
fn held_out(all: &[(String, String, f32)], rel: &str) -> Analyzer {
    let mut sources: Vec<&str> = Vec::new();
    let texts: Vec<(&str, f32, u32)> = all
        .iter()
        .filter(|x| x.0 != rel)
        .map(|x| {
            let source = match sources.iter().position(|s| *s == x.0) {
                Some(i) => i,
                None => {
                    sources.push(&x.0);
                    sources.len() - 1
                }
            };
            (x.1.as_str(), x.2, source as u32)
        })
        .collect();
    let trained = Analyzer::new().train_correction(&texts, model::Params::default());
    Analyzer::new().with_correction(trained.correction())
}

fn corpus(a: &Analyzer, rel: &str) -> eval::SentimentScores {
    let src = read(rel);
    let items = eval::parse_vader(&src).expect(rel);
    let truth: Vec<f64> = items.iter().map(|x| x.0).collect();
    let pred: Vec<f64> = items
        .iter()
        .map(|x| f64::from(a.sentiment(x.1, Some("en")).score))
        .collect();
    eval::sentiment_scores(&truth, &pred, 0.5)
}

#[test]
fn presidio_structured_recall_and_must_not_match() {
    let cases: Vec<PiiCase> = read("pii/presidio_recognizer_cases.jsonl")
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).expect("case"))
        .collect();
    let scores = eval::score_pii(&cases, RedactConfig::default());
    for s in &scores {
        assert_eq!(
            s.must_not_hits, 0,
            "{} flagged a must-not-match case",
            s.entity
        );
        if [
            "US_SSN",
            "EMAIL_ADDRESS",
            "CREDIT_CARD",
            "PHONE_NUMBER",
            "IP_ADDRESS",
        ]
        .contains(&s.entity.as_str())
        {
            assert!(
                s.recall_overlap() >= 0.98,
                "{} recall {:.3}",
                s.entity,
                s.recall_overlap()
            );
            // Presidio lists some phone texts twice with different expectations (per region), so
            // phone precision cannot reach 1.
            assert!(
                s.precision_overlap() >= 0.9,
                "{} precision {:.3}",
                s.entity,
                s.precision_overlap()
            );
        }
    }
    let dates = eval::score_pii(&cases, RedactConfig { all_dates: true });
    let d = dates
        .iter()
        .find(|s| s.entity == "DATE_TIME")
        .expect("date cases");
    assert!(d.recall_overlap() >= 0.95 && d.must_not_hits == 0);
}

/// The CFPB complaints: (narrative, product) of every row that has both.
fn cfpb() -> Vec<(String, String)> {
    let recs = eval::parse_cfpb(&read("complaints/cfpb_narratives_with_labels.csv"))
        .expect("CFPB narratives");
    assert!(recs.len() > 1000);
    recs
}

#[test]
fn masked_cfpb_prose_has_few_false_positives() {
    let recs = cfpb();
    let texts: Vec<&str> = recs.iter().map(|r| r.0.as_str()).collect();
    let hit = texts
        .iter()
        .filter(|t| !heard_text::redact(t).1.is_empty())
        .count();
    assert!(
        (hit as f64) / (texts.len() as f64) <= 0.01,
        "{hit} narratives flagged"
    );
}

#[test]
fn cfpb_complaints_read_as_complaints() {
    // Every narrative is a consumer's complaint. Service language must not read as praise:
    // programme and document names ("benefits", "credit report", "the loan agreement"), polite
    // requests ("I would like a copy of my report") and names of laws ("the Fair Credit Reporting Act")
    // carry no sentiment. Before the public-service lexicon knew this, 57% read negative and 24%
    // were taken for compliments (vaderSentiment 3.3.2: 49% negative).
    let a = Analyzer::new();
    let recs = cfpb();
    let n = recs.len();
    let (mut negative, mut compliments) = (0usize, 0usize);
    for (t, _) in &recs {
        let r = a.analyze(t, Some("en"));
        negative += usize::from(r.sentiment.label == heard_text::Label::Negative);
        compliments += usize::from(r.intent == heard_text::Intent::Compliment);
    }
    let (neg, comp) = (negative as f64 / n as f64, compliments as f64 / n as f64);
    assert!(neg >= 0.75, "{neg:.3} of complaints read negative");
    assert!(comp <= 0.12, "{comp:.3} of complaints read as compliments");
}

#[test]
fn sentiment_on_vader_corpora_held_out() {
    // Each corpus is scored by a correction trained without it, the figure a new corpus can
    // expect. Movie and NYT: the paper's VADER figures are the bar. Tweets: the paper's r, and
    // vaderSentiment 3.3.2's F1 as `heard eval` measures it (0.948; issue 19 made the maintained
    // library the bar), as today's held-out F1 misses the paper's 0.96.
    let all = rated();
    let [tweets, movie, nyt] = VADER.map(|rel| corpus(&held_out(&all, rel), rel));
    assert!(
        nyt.r > 0.492 && nyt.f1 > 0.55,
        "nyt r {:.3} f1 {:.3}",
        nyt.r,
        nyt.f1
    );
    assert!(
        movie.r > 0.451 && movie.f1 > 0.61,
        "movie r {:.3} f1 {:.3}",
        movie.r,
        movie.f1
    );
    assert!(
        tweets.r > 0.881 && tweets.f1 > 0.948,
        "tweets r {:.4} f1 {:.4}",
        tweets.r,
        tweets.f1
    );
    // The shipped correction only adds to the lexicon on every corpus.
    let lexicon = Analyzer::new().with_correction(model::Correction::none());
    for rel in VADER {
        let (with, without) = (corpus(&Analyzer::new(), rel), corpus(&lexicon, rel));
        assert!(with.r > without.r && with.f1 > without.f1, "{rel}");
    }
}

#[test]
fn sentiment_on_uci_sentences() {
    let a = Analyzer::new();
    for name in ["amazon", "imdb", "yelp"] {
        let v: serde_json::Value =
            serde_json::from_str(&read(&format!("sentiment/uci/{name}.json"))).expect("json");
        let items: Vec<(String, bool)> = v
            .as_array()
            .expect("array")
            .iter()
            .filter_map(|x| {
                Some((
                    x.get("text")?.as_str()?.to_string(),
                    x.get("class")?.as_i64()? == 1,
                ))
            })
            .collect();
        let truth: Vec<bool> = items.iter().map(|x| x.1).collect();
        let pred: Vec<f64> = items
            .iter()
            .map(|x| f64::from(a.sentiment(&x.0, Some("en")).score))
            .collect();
        let (acc, _) = eval::binary_scores(&truth, &pred);
        assert!(acc > 0.65, "{name} accuracy {acc:.3}");
    }
}

#[test]
fn discovery_beats_the_majority_baseline() {
    let owned = cfpb();
    let recs: Vec<(&str, &str)> = owned
        .iter()
        .map(|(t, p)| (t.as_str(), p.as_str()))
        .collect();
    let mut products: Vec<&str> = recs.iter().map(|r| r.1).collect();
    products.sort_unstable();
    products.dedup();
    let labels: Vec<usize> = recs
        .iter()
        .map(|r| products.binary_search(&r.1).expect("known"))
        .collect();
    let texts: Vec<&str> = recs.iter().map(|r| r.0).collect();
    let clusters = heard_text::discover(&texts, 9);
    let mut assign = vec![usize::MAX; texts.len()];
    for (ci, c) in clusters.iter().enumerate() {
        assert!(!c.label.is_empty() && !c.key_phrases.is_empty());
        for &m in &c.members {
            assign[m] = ci;
        }
    }
    assert!(
        assign.iter().all(|&a| a != usize::MAX),
        "every text is in one cluster"
    );
    let (purity, nmi) = eval::purity_nmi(&labels, &assign);
    assert!(
        purity > 0.52 && nmi > 0.15,
        "purity {purity:.3} nmi {nmi:.3}"
    );
}

#[test]
fn demo_paragraph_is_redacted() {
    let (red, spans) = heard_text::redact(&read("pii/demo.txt"));
    for leaked in [
        "David Johnson",
        "4095-2609-9393-4932",
        "test@presidio.site",
        "192.168.0.1",
        "191280342",
        "(212) 555-1234",
        "954567876544",
        "078-05-1126",
        "opencode@microsoft.com",
    ] {
        assert!(!red.contains(leaked), "{leaked} leaked");
    }
    assert!(spans.len() >= 10);
}
