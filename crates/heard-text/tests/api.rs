//! The public API: output shape, offsets in characters, taxonomy editing.

use heard_text::{Analyzer, Taxonomy};

#[test]
fn serialises_to_the_ndjson_shape() {
    let a = Analyzer::new();
    let r = a.analyze(
        "Café staff were rude; call me at (415) 555-0132. I waited three hours!",
        Some("en"),
    );
    let v = serde_json::to_value(&r).expect("serialise");
    assert_eq!(v["language"], "en");
    assert!(v["sentiment"]["score"].is_number());
    assert!(
        ["positive", "neutral", "negative"]
            .contains(&v["sentiment"]["label"].as_str().expect("label"))
    );
    assert_eq!(v["pii"][0]["type"], "PHONE_NUMBER");
    // Offsets count characters, so "é" is one.
    assert_eq!(v["pii"][0]["start"], 33);
    assert_eq!(v["pii"][0]["end"], 47);
    assert_eq!(
        v["redacted"],
        "Café staff were rude; call me at <PHONE_NUMBER>. I waited three hours!"
    );
    let themes: Vec<&str> = v["themes"]
        .as_array()
        .expect("themes")
        .iter()
        .map(|t| t["id"].as_str().expect("id"))
        .collect();
    assert!(
        themes.contains(&"wait_times") && themes.contains(&"staff_courtesy"),
        "{themes:?}"
    );
    assert!(
        v["themes"][0]["triggers"]
            .as_array()
            .is_some_and(|t| !t.is_empty())
    );
    assert!(v["intent"].is_string());
    assert!(v["emotions"].is_array() && v["urgency"].is_array());
}

#[test]
fn intents_emotions_and_urgency() {
    let a = Analyzer::new();
    assert_eq!(
        serde_json::to_value(a.analyze("How do I renew my license online?", None).intent)
            .expect("v"),
        "question"
    );
    assert_eq!(
        serde_json::to_value(
            a.analyze(
                "Please help me, my benefits stopped and I can't pay rent",
                None
            )
            .intent
        )
        .expect("v"),
        "request_for_help"
    );
    assert_eq!(
        serde_json::to_value(
            a.analyze("You should add a chat option to the website", None)
                .intent
        )
        .expect("v"),
        "suggestion"
    );
    assert_eq!(
        serde_json::to_value(
            a.analyze("Thank you, the agent was wonderful and very helpful", None)
                .intent
        )
        .expect("v"),
        "compliment"
    );
    assert_eq!(
        serde_json::to_value(
            a.analyze(
                "This is ridiculous, the office lost my documents again",
                None
            )
            .intent
        )
        .expect("v"),
        "complaint"
    );
    // A question without its question mark is read from its first word or from a question asked
    // as a statement; a denied auxiliary or "what a" opens a statement instead. ("Where is my
    // refund" is not among them: data/README.md's labelling guide reads a question that is really
    // a complaint as a complaint, and so does the service model.)
    let intent = |t: &str| serde_json::to_value(a.analyze(t, None).intent).expect("v");
    for t in [
        "how do I check my status",
        "Where do I send the renewal form",
        "Can I apply online",
        "I would like to know when my child care assistance will start",
        "Quisiera saber cuándo llega mi tarjeta",
    ] {
        assert_eq!(intent(t), "question", "{t}");
    }
    for t in [
        "Does not work",
        "Can not log in to my account",
        "Will not be back.",
        "Do not use this site",
        "What a waste of time",
    ] {
        assert_eq!(intent(t), "complaint", "{t}");
    }
    let r = a.analyze("If this isn't fixed I will bring a gun to the office", None);
    assert_eq!(
        serde_json::to_value(&r.urgency).expect("v"),
        serde_json::json!(["threat"])
    );
    let r = a.analyze("No sé qué hacer, quiero morir", None);
    assert_eq!(r.language, "es");
    assert_eq!(
        serde_json::to_value(&r.urgency).expect("v"),
        serde_json::json!(["crisis"])
    );
    let r = a.analyze(
        "I'm so confused by this letter and worried I'll lose my home",
        None,
    );
    assert_eq!(
        serde_json::to_value(&r.emotions).expect("v"),
        serde_json::json!(["confusion", "anxiety"])
    );
}

#[test]
fn agency_taxonomy() {
    let t = Taxonomy::parse("# ours\n[parks] Parks and trails\npark*, trail, picnic area\n")
        .expect("parses");
    let a = Analyzer::with_taxonomy(t);
    let r = a.analyze("The parking lot near the picnic area was full", None);
    assert_eq!(r.themes.len(), 1);
    assert_eq!(
        r.themes[0].triggers,
        vec!["parking".to_string(), "picnic area".to_string()]
    );
    assert!(Taxonomy::parse("trail\n").is_err());
    assert!(Taxonomy::parse("[a b] x\n").is_err());
    assert_eq!(Taxonomy::default().themes().len(), 16);
}

#[test]
fn social_security_is_not_a_security_worry() {
    let a = Analyzer::new();
    let fraud = |t: &str, lang: Option<&str>| {
        a.analyze(t, lang)
            .themes
            .iter()
            .any(|th| th.id == "fraud_security_privacy")
    };
    assert!(!fraud(
        "The Social Security office was clean and quick.",
        None
    ));
    assert!(!fraud(
        "They asked for my social security number twice.",
        None
    ));
    assert!(!fraud(
        "La oficina de seguridad social estaba cerrada.",
        Some("es")
    ));
    assert!(fraud("Someone changed my security questions.", None));
    assert!(fraud("The website is not secure.", None));
    assert!(fraud(
        "Me robaron la identidad y nadie me ayuda.",
        Some("es")
    ));
}

#[test]
fn spans_never_leak_into_redacted_text() {
    let texts = [
        "SSN 078-05-1123 and 078-05-1123",
        "email a@b.co, card 4111-1111-1111-1111, ip 10.0.0.1",
        "my name is Ana María López; born 04/05/1990",
        "1600 Pennsylvania Avenue NW",
    ];
    for t in texts {
        let (red, spans) = heard_text::redact(t);
        let chars: Vec<char> = t.chars().collect();
        for s in spans {
            let orig: String = chars[s.start..s.end].iter().collect();
            assert!(!red.contains(&orig), "{orig} in {red}");
        }
    }
}

/// The kinds of error issue 19 names, read the way an analyst would.
#[test]
fn service_feedback_is_read_as_an_analyst_would() {
    let a = Analyzer::new();
    let read = |t: &str| {
        let r = a.analyze(t, None);
        let label = serde_json::to_value(r.sentiment.label).expect("label");
        let intent = serde_json::to_value(r.intent).expect("intent");
        (label, intent, r)
    };
    // Service failures stated as facts.
    for t in [
        "It's been 14 weeks and my refund still hasn't arrived",
        "I called 12 times and got a busy signal every time",
        "Got transferred five times and ended up back at the main menu",
        "Great, another form that crashes when you click submit. Just great.",
        "Todavía no recibo mi reembolso y ya pasaron tres meses",
    ] {
        let (label, intent, _) = read(t);
        assert_eq!(label, "negative", "{t}");
        assert_eq!(intent, "complaint", "{t}");
    }
    // Non-answers say nothing and want nothing.
    for t in ["Nothing to add", "N/A"] {
        let (label, intent, _) = read(t);
        assert_eq!(
            (label.as_str(), intent.as_str()),
            (Some("neutral"), Some("none")),
            "{t}"
        );
    }
    // Asks are neutral.
    let (label, intent, _) = read("Could you add evening hours?");
    assert_eq!(label, "neutral");
    assert!(intent == "suggestion" || intent == "question", "{intent}");
    // Denied negatives are praise.
    for t in ["Couldn't have been easier", "No problems whatsoever"] {
        assert_eq!(read(t).0, "positive", "{t}");
    }
    // Thanks inside a complaint are not praise, as sentiment or as a theme.
    let (label, _, r) = read("Thanks, but I have been waiting three months for my refund.");
    assert_eq!(label, "negative");
    assert!(!r.themes.iter().any(|t| t.id == "praise"), "{:?}", r.themes);
    // A comment may carry several themes, each with the words that raised it.
    let r = a.analyze("Helpful agent, confusing letter", None);
    for id in ["staff_courtesy", "communication_clarity"] {
        let hit = r.themes.iter().find(|t| t.id == id).expect(id);
        assert!(!hit.triggers.is_empty());
    }
    // Spanish triggers for wait times, payments, the office, login and eligibility.
    for (t, id) in [
        ("Esperé tres horas en la oficina", "wait_times"),
        ("Fui a las oficinas del centro", "office_experience"),
        ("No me han depositado los pagos", "payments_benefits"),
        (
            "Olvidé mi contrasena y no puedo iniciar sesion",
            "login_identity",
        ),
        ("Me dijeron que no califico", "eligibility_rules"),
    ] {
        let r = a.analyze(t, Some("es"));
        assert!(r.themes.iter().any(|h| h.id == id), "{t}: {:?}", r.themes);
    }
}
