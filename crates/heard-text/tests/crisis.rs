//! Crisis and threat language (issue 16, item 14): the issue's sentences, look-alikes that must
//! not be flagged, floors on the labelled set (`data/crisis_eval.tsv`) and a ceiling on flags in
//! real comments and reviews (the shared data, read in place).

use heard_text::eval::{self, CRISIS_SET, CrisisScore};
use heard_text::{Analyzer, Label, Urgency};

fn read(a: &Analyzer, text: &str) -> (Vec<Urgency>, Label) {
    let r = a.analyze(text, None);
    (r.urgency, r.sentiment.label)
}

#[test]
fn the_issue_sentences_are_urgent_and_read_negative() {
    let a = Analyzer::new();
    for t in [
        "I lost my job, I can't pay rent, and I honestly don't see the point of living anymore.",
        // Its words read positive ("keep going", "want"): a crisis flag reads negative anyway.
        "I don't know how much longer I can keep going like this. I want to end it.",
        "No le veo sentido a la vida.",
        "Quiero acabar con todo.",
        "Ya no quiero vivir.",
        "Me quiero morir.",
        "No aguanto más.",
        "Solo quiero desaparecer.",
        "Quiero despedirme de mis hijos.",
        "No quiero ser una carga.",
        "Me voy a quitar la vida.",
    ] {
        assert_eq!(read(&a, t), (vec![Urgency::Crisis], Label::Negative), "{t}");
    }
    for t in [
        "Someone is going to make you pay for this.",
        "Me las van a pagar.",
        "Van a ver lo que les pasa.",
        "I know where you live.",
        "If this isn't fixed I will bring a gun to the office",
    ] {
        assert_eq!(read(&a, t), (vec![Urgency::Threat], Label::Negative), "{t}");
    }
}

#[test]
fn hyperbole_and_service_idiom_are_not_urgent() {
    let a = Analyzer::new();
    for t in [
        "This form is killing me.",
        "I'm dying to know when my card arrives.",
        "Please end the call when you are transferred.",
        "The wait is killing me.",
        "Kill the process and restart the kiosk.",
        "There is a dead link on the forms page.",
        "I could just die of embarrassment.",
        "Me muero de ganas de saber.",
        "Me mata esta espera.",
        "I want to end this application and start over.",
        "Shoot me an email when it's ready.",
        "The new portal is da bomb.",
        "Would it kill you to call me back?",
        "I'd kill for a shorter line.",
        "I applied for a concealed carry gun permit.",
        "The suicide prevention training for staff was a good idea.",
        "My husband passed away and I need his death certificate.",
        "I hurt myself lifting boxes at work and need to file a claim.",
    ] {
        assert_eq!(read(&a, t).0, vec![], "{t}");
    }
}

#[test]
fn a_flag_names_the_rules_that_raised_it() {
    let a = Analyzer::new();
    let reasons = a.urgency_reasons("I keep thinking everyone would be better off without me.");
    assert!(
        reasons
            .iter()
            .any(|(u, category, _)| *u == Urgency::Crisis && *category == "burden"),
        "{reasons:?}"
    );
    assert!(a.urgency_reasons("The staff were kind.").is_empty());
}

fn scores() -> Vec<CrisisScore> {
    let cases = eval::parse_crisis_set(CRISIS_SET).expect("the crisis set parses");
    assert!(cases.len() >= 400, "{} lines", cases.len());
    eval::score_crisis(&cases, &Analyzer::new())
}

/// Sums the groups that `keep` selects: (lines, flagged).
fn total(scores: &[CrisisScore], keep: impl Fn(&CrisisScore) -> bool) -> (usize, usize) {
    scores
        .iter()
        .filter(|s| keep(s))
        .fold((0, 0), |(n, f), s| (n + s.n, f + s.flagged))
}

#[test]
fn the_labelled_set_keeps_its_recall_and_its_false_alarms() {
    let scores = scores();
    // Recall per category (both languages, every split) stays at or above a floor just under
    // today's figures; so does recall per split.
    let mut categories: Vec<&str> = scores
        .iter()
        .filter(|s| s.label != "none")
        .map(|s| s.category.as_str())
        .collect();
    categories.sort_unstable();
    categories.dedup();
    for c in categories {
        let (n, f) = total(&scores, |s| s.category == c && s.label != "none");
        assert!(f as f64 / n as f64 >= 0.9, "{c}: {f} of {n}");
    }
    for split in ["dev", "held"] {
        for label in ["crisis", "threat"] {
            let (n, f) = total(&scores, |s| s.split == split && s.label == label);
            assert!(
                n > 0 && f as f64 / n as f64 >= 0.95,
                "{split} {label}: {f} of {n}"
            );
        }
        // Every flagged line reads negative.
        assert!(
            scores
                .iter()
                .filter(|s| s.split == split && s.label != "none")
                .all(|s| s.negative == s.flagged)
        );
    }
    // False alarms on the hyperbole and service look-alikes stay at or under 2%.
    let (n, f) = total(&scores, |s| s.label == "none");
    assert!(
        n >= 150 && f as f64 / n as f64 <= 0.02,
        "{f} false alarms of {n}"
    );
}

#[test]
fn real_comments_and_reviews_are_rarely_flagged() {
    const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data");
    let read = |rel: &str| {
        std::fs::read_to_string(format!("{DATA}/{rel}"))
            .unwrap_or_else(|e| panic!("cannot read {rel}: {e}"))
    };
    let mut texts: Vec<String> = Vec::new();
    for rel in [
        "sentiment/vader/tweets_GroundTruth.txt",
        "sentiment/vader/movieReviewSnippets_GroundTruth.txt",
        "sentiment/vader/nytEditorialSnippets_GroundTruth.txt",
    ] {
        let src = read(rel);
        texts.extend(
            eval::parse_vader(&src)
                .expect(rel)
                .into_iter()
                .map(|x| x.1.to_string()),
        );
    }
    let cfpb = eval::parse_cfpb(&read("complaints/cfpb_narratives_with_labels.csv")).expect("cfpb");
    let n_cfpb = cfpb.len();
    texts.extend(cfpb.into_iter().map(|x| x.0));
    let a = Analyzer::new();
    let flagged = texts
        .iter()
        .filter(|t| !a.analyze(t, Some("en")).urgency.is_empty())
        .count();
    // Today: 24 of 21,527 (reviews quoting suicide or overdose, a bomb threat in the news, one
    // complaint with no money for food). The ceiling is 0.2%.
    assert!(n_cfpb > 1000 && texts.len() > 20_000);
    assert!(
        flagged * 500 <= texts.len(),
        "{flagged} of {} flagged",
        texts.len()
    );
}
