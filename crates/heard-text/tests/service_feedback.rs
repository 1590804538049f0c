//! The service-feedback set (`data/service-feedback/` at the project root): it parses, its two parts are
//! apart, the metrics `heard eval` prints are right on small cases computed by hand, and the engine stays
//! above a floor on the development part.

use heard_text::eval::{
    self, ClassScores, FeedbackItem, FeedbackPrediction, INTENTS, SENTIMENTS, ThemeScore,
};
use heard_text::{Analyzer, Label, Taxonomy};

const SET: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/service-feedback");

fn theme_ids() -> Vec<String> {
    Taxonomy::default()
        .themes()
        .iter()
        .map(|t| t.id.clone())
        .collect()
}

fn part(file: &str) -> Vec<FeedbackItem> {
    let src = std::fs::read_to_string(format!("{SET}/{file}"))
        .unwrap_or_else(|e| panic!("cannot read data/service-feedback/{file}: {e}"));
    let ids = theme_ids();
    let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
    eval::parse_feedback(&src, &ids).unwrap_or_else(|e| panic!("{file}: {e}"))
}

#[test]
fn the_set_parses_and_its_held_out_part_is_apart() {
    let (dev, held) = (part("dev.tsv"), part("heldout.tsv"));
    let norm = |t: &str| {
        t.to_lowercase()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    };
    let dev_ids: std::collections::HashSet<&str> = dev.iter().map(|i| i.id.as_str()).collect();
    let dev_texts: std::collections::HashSet<String> = dev.iter().map(|i| norm(&i.text)).collect();
    for i in &held {
        assert!(
            !dev_ids.contains(i.id.as_str()),
            "{} is in both parts",
            i.id
        );
        assert!(
            !dev_texts.contains(&norm(&i.text)),
            "{}: its text is also in the dev part",
            i.id
        );
    }
    // Issue 19: at least 1,000 items, English and Spanish, a part kept for a held-out check.
    let all: Vec<&FeedbackItem> = dev.iter().chain(&held).collect();
    assert!(all.len() >= 1000, "{} items", all.len());
    for lang in ["en", "es"] {
        assert!(all.iter().any(|i| i.lang == lang), "no {lang} items");
    }
    assert!(
        held.len() * 10 >= all.len(),
        "the held-out part is under a tenth: {}",
        held.len()
    );
}

#[test]
fn a_bad_line_names_its_line_and_field() {
    let ids = ["wait_times", "praise"];
    let h = eval::FEEDBACK_HEADER;
    let ok = format!(
        "{h}\nsf-1\ten\tteam\t-\tservice_failure_fact\tnegative\tcomplaint\twait_times\tIt's been 14 weeks.\n\n\
         sf-2\tes\tteam\t-\tplain_positive,mixed\tpositive\tnone\t\tMuy bien\tgracias\n"
    );
    let items = eval::parse_feedback(&ok, &ids).unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0].themes, vec!["wait_times".to_string()]);
    assert_eq!(items[1].intent, "none");
    assert!(items[1].themes.is_empty());
    assert_eq!(items[1].kinds, vec!["plain_positive", "mixed"]);
    assert_eq!(items[1].text, "Muy bien\tgracias", "the text may hold tabs");
    let err = |body: &str| eval::parse_feedback(&format!("{h}\n{body}\n"), &ids).unwrap_err();
    let e = err("a\ten\tt\t-\tk\tangry\tcomplaint\t\tx");
    assert!(e.contains("line 2") && e.contains("sentiment"), "{e}");
    let e = err("a\ten\tt\t-\tk\tnegative\tpraise\t\tx");
    assert!(
        e.contains("intent") && e.contains("request_for_help"),
        "{e}"
    );
    let e = err("a\ten\tt\t-\tk\tnegative\tcomplaint\twait_times,parking\tx");
    assert!(e.contains("themes") && e.contains("parking"), "{e}");
    let e = err("a\tfr\tt\t-\tk\tnegative\tcomplaint\t\tx");
    assert!(e.contains("lang"), "{e}");
    let e =
        err("a\ten\tt\t-\tk\tnegative\tcomplaint\t\tx\na\ten\tt\t-\tk\tnegative\tcomplaint\t\ty");
    assert!(e.contains("line 3") && e.contains("twice"), "{e}");
    let e = err("a\ten\tt\t-\tk\tnegative\tcomplaint\t\t ");
    assert!(e.contains("text") && e.contains("empty"), "{e}");
    let e = err("a\ten\tnegative");
    assert!(e.contains("9 tab-separated fields"), "{e}");
    let e = eval::parse_feedback("id\ttext\n", &ids).unwrap_err();
    assert!(e.contains("line 1") && e.contains("header"), "{e}");
    assert!(eval::parse_feedback(&format!("{h}\n"), &ids).is_err());
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

#[test]
fn class_scores_by_hand() {
    // truth: neg neg neu pos; read: neg neu neu neg.
    let s = ClassScores::new(&SENTIMENTS, &[0, 0, 1, 2], &[0, 1, 1, 0]);
    assert_eq!(
        s.confusion,
        vec![vec![1, 1, 0], vec![0, 1, 0], vec![1, 0, 0]]
    );
    assert_eq!(s.n(), 4);
    assert!(close(s.accuracy(), 0.5));
    // negative: P 1/2, R 1/2; neutral: P 1/2, R 1; positive: never read, P = R = 0.
    assert!(close(s.precision(0), 0.5) && close(s.recall(0), 0.5) && close(s.f1(0), 0.5));
    assert!(close(s.precision(1), 0.5) && close(s.recall(1), 1.0));
    assert!(close(s.f1(1), 2.0 / 3.0));
    assert!(close(s.precision(2), 0.0) && close(s.recall(2), 0.0) && close(s.f1(2), 0.0));
    assert!(close(s.macro_f1(), (0.5 + 2.0 / 3.0 + 0.0) / 3.0));
    // A class neither labelled nor read stays out of the macro average.
    let s = ClassScores::new(&INTENTS, &[0, 0, 1], &[0, 1, 1]);
    assert!(close(s.macro_f1(), (2.0 / 3.0 + 2.0 / 3.0) / 2.0));
    assert!(close(s.accuracy(), 2.0 / 3.0));
}

fn item(sentiment: Label, intent: &'static str, themes: &[&str], text: &str) -> FeedbackItem {
    FeedbackItem {
        id: text.into(),
        lang: "en".into(),
        source: "team".into(),
        source_ref: "-".into(),
        kinds: vec!["k".into()],
        sentiment,
        intent,
        themes: themes.iter().map(|t| t.to_string()).collect(),
        text: text.into(),
    }
}

fn read(sentiment: Label, intent: &'static str, themes: &[&str]) -> FeedbackPrediction {
    FeedbackPrediction {
        sentiment,
        intent,
        themes: themes.iter().map(|t| t.to_string()).collect(),
    }
}

#[test]
fn theme_and_politeness_scores_by_hand() {
    use Label::*;
    let items = [
        item(
            Negative,
            "complaint",
            &["a"],
            "Thanks, but my refund is 3 months late",
        ),
        item(
            Neutral,
            "question",
            &["a", "b"],
            "Could you please add evening hours?",
        ),
        item(Positive, "compliment", &[], "Great service, thank you"),
        item(Negative, "complaint", &[], "Por favor, nadie contesta"),
    ];
    let preds = [
        read(Negative, "complaint", &["a", "praise"]),
        read(Positive, "question", &["b", "c"]),
        read(Positive, "compliment", &["a", "praise"]),
        read(Negative, "compliment", &[]),
    ];
    let ids = ["a", "b", "c", "d", "praise"];
    let s = eval::score_feedback(&items, &preds, &ids, |_| true);
    let t = |id: &str| {
        s.themes
            .per_theme
            .iter()
            .find(|t| t.id == id)
            .unwrap()
            .clone()
    };
    let score = |support, predicted, tp, id: &str| ThemeScore {
        id: id.into(),
        support,
        predicted,
        tp,
    };
    assert_eq!(t("a"), score(2, 2, 1, "a"));
    assert_eq!(t("b"), score(1, 1, 1, "b"));
    assert_eq!(t("c"), score(0, 1, 0, "c"));
    assert_eq!(t("d"), score(0, 0, 0, "d"));
    assert_eq!(t("praise"), score(0, 2, 0, "praise"));
    // Micro: 2 right of 6 raised, of 3 labelled.
    assert!(close(s.themes.micro_precision(), 2.0 / 6.0));
    assert!(close(s.themes.micro_recall(), 2.0 / 3.0));
    // Macro over a, b, c and praise (d is neither labelled nor raised).
    assert!(close(
        s.themes.macro_precision(),
        (0.5 + 1.0 + 0.0 + 0.0) / 4.0
    ));
    assert!(close(
        s.themes.macro_recall(),
        (0.5 + 1.0 + 0.0 + 0.0) / 4.0
    ));
    assert!(close(s.sentiment.accuracy(), 0.75));
    assert!(close(s.intent.accuracy(), 0.75));
    // Politeness only: the thanks inside a complaint, the please in a question, the "por favor";
    // not the labelled compliment.
    assert_eq!(s.politeness, 3);
    assert_eq!(s.politeness_praise, 1);
    assert_eq!(s.politeness_compliment, 1);
    // A group: the Spanish-free selection of complaints only.
    let c = eval::score_feedback(&items, &preds, &ids, |i| i.intent == "complaint");
    assert_eq!(c.n(), 2);
    assert!(close(c.intent.accuracy(), 0.5));
    assert!(eval::politeness_only(&items[0]) && !eval::politeness_only(&items[2]));
    assert!(!eval::politeness_only(&item(
        Negative,
        "complaint",
        &[],
        "Pleased? No."
    )));
}

#[test]
fn the_engine_stays_above_a_floor_on_the_dev_part() {
    // Guards just under the rules engine's figures when the set was first scored (dev: sentiment 0.603, intent
    // 0.738), so a regression fails; raise them as the engine improves. The targets themselves (issue 19: 0.85 and
    // 0.80 on the held-out part) are reported by `heard eval`.
    let dev = part("dev.tsv");
    let a = Analyzer::new();
    let preds: Vec<FeedbackPrediction> = dev
        .iter()
        .map(|i| FeedbackPrediction::of(&a.analyze(&i.text, Some(&i.lang))))
        .collect();
    let ids = theme_ids();
    let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
    let s = eval::score_feedback(&dev, &preds, &ids, |_| true);
    let (sent, intent) = (s.sentiment.accuracy(), s.intent.accuracy());
    assert!(sent >= SENTIMENT_FLOOR, "dev sentiment accuracy {sent:.3}");
    assert!(intent >= INTENT_FLOOR, "dev intent accuracy {intent:.3}");
}

const SENTIMENT_FLOOR: f64 = 0.58;
const INTENT_FLOOR: f64 = 0.71;
