//! Comment search and the themes explorer (issue 18, item 7): search finds words in responses' free text and in
//! signals, only the organization's own, phrases in order, English forms by stemming (and Spanish forms on
//! PostgreSQL, which stems Spanish; SQLite's FTS5 matches Spanish words as written, with accents folded); what
//! people type never reaches the engines' syntax; highlighted snippets are escaped. The explorer's figures equal
//! ones counted by hand from the stored signals; the emerging-theme alert fires on a constructed rise and not on
//! steady noise; both tables download as CSV.

use std::collections::BTreeMap;

use chrono::Days;
use heard_domain::{Zone, report};
use serde_json::{Value, json};

use crate::both_backends;
use crate::support::{Session, Tenant, TestApp};

async fn api_key(app: &TestApp, t: &Tenant) -> String {
    let secret = heard_server::ingest::new_api_key();
    app.store
        .create_api_key(
            t.org,
            "test",
            &heard_server::crypto::sha256(secret.as_bytes()),
            heard_store::now_ms(),
        )
        .await
        .unwrap();
    secret
}

async fn send_signals(app: &TestApp, key: &str, items: Vec<Value>) {
    for chunk in items.chunks(500) {
        let resp = app
            .client
            .post(format!("{}/api/v1/signals", app.base))
            .header("authorization", format!("Bearer {key}"))
            .json(&json!({ "items": chunk }))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
    }
}

async fn page(app: &TestApp, s: &Session, path: &str) -> String {
    let r = app.get(s, path).await;
    assert_eq!(r.status(), 200, "{path}");
    r.text().await.unwrap()
}

/// The response and signal ids a search page links to.
fn linked(page: &str, org: &str, what: &str) -> usize {
    page.matches(&format!("/admin/o/{org}/{what}/")).count()
}

both_backends!(search_finds_words_phrases_and_only_its_own, |app| {
    let postgres = app.store.backend_name() == "postgres";
    for (key, comment, language) in [
        (
            "resp-0001",
            "I waited on hold for hours on the phone <script>alert(1)</script>",
            "en",
        ),
        ("resp-0002", "Hold on, the website kept crashing", "en"),
        (
            "resp-0003",
            "Estaba esperando la información de mi solicitud",
            "es",
        ),
    ] {
        let body = json!({"idempotency_key": key, "language": language,
            "answers": {"trust": 1, "went_well": ["ease"], "comment": comment}});
        let r = app.submit_json(&app.a, &body).await;
        assert!(r["id"].is_string(), "{r}");
    }
    let key_a = api_key(&app, &app.a).await;
    let key_b = api_key(&app, &app.b).await;
    send_signals(&app, &key_a, vec![json!({"external_id": "s1", "source": "review",
        "text": "Nobody answered the phone, waiting all day", "occurred_at": "2026-09-01T12:00:00Z"})]).await;
    send_signals(
        &app,
        &key_b,
        vec![json!({"external_id": "s1", "source": "review",
        "text": "A zebra waited at the phone office", "occurred_at": "2026-09-01T12:00:00Z"})],
    )
    .await;

    let s = app.sign_in(&app.a.admin_email).await;
    let org = app.a.org.to_string();
    let search = |q: &str| format!("/admin/o/{org}/search?q={}", urlencoding(q));

    // English stemming: "waiting" finds "waited" (a response) and "waiting" (a signal), not agency B's signal.
    let p = page(&app, &s, &search("waiting")).await;
    assert_eq!(linked(&p, &org, "responses"), 1, "{p}");
    assert_eq!(linked(&p, &org, "signals"), 1, "{p}");
    assert!(p.contains("<strong>2</strong> comments match"), "{p}");
    assert!(!p.contains("zebra"));
    // Agency B's words are not found in agency A, and are in B.
    let p = page(&app, &s, &search("zebra")).await;
    assert!(p.contains("No comments match"), "{p}");
    let sb = app.sign_in(&app.b.admin_email).await;
    let pb = page(&app, &sb, &format!("/admin/o/{}/search?q=zebra", app.b.org)).await;
    assert_eq!(linked(&pb, &app.b.org.to_string(), "signals"), 1);
    // Phrases keep their order: "kept crashing" is in r2, "crashing kept" nowhere.
    let p = page(&app, &s, &search("\"kept crashing\"")).await;
    assert_eq!(linked(&p, &org, "responses"), 1, "{p}");
    let p = page(&app, &s, &search("\"crashing kept\"")).await;
    assert!(p.contains("No comments match"), "{p}");
    // Matches are highlighted, and the rest of the snippet is escaped. ("on" is an English stop word on
    // PostgreSQL, so there "on hold" finds "hold" anywhere; SQLite keeps every word.)
    let p = page(&app, &s, &search("\"on hold\"")).await;
    assert_eq!(
        linked(&p, &org, "responses"),
        if postgres { 2 } else { 1 },
        "{p}"
    );
    assert!(p.contains("hold</mark>"), "{p}");
    // PostgreSQL's headline drops what looks like a tag; SQLite's snippet keeps it, escaped.
    if !postgres {
        assert!(p.contains("&lt;script&gt;"), "the snippet is escaped: {p}");
    }
    assert!(!p.contains("<script>alert"), "{p}");
    let p = page(&app, &s, &search("\"hold on\" website")).await;
    assert_eq!(linked(&p, &org, "responses"), 1);
    assert!(p.contains("crashing"), "{p}");
    // Every word must appear.
    let p = page(&app, &s, &search("phone website")).await;
    assert!(p.contains("No comments match"), "{p}");
    // Filters: signals only.
    let p = page(&app, &s, &format!("{}&kind=signal", search("phone"))).await;
    assert_eq!(linked(&p, &org, "responses"), 0);
    assert_eq!(linked(&p, &org, "signals"), 1);
    // Accents are folded on SQLite and kept on PostgreSQL; Spanish forms are found by stemming on PostgreSQL only.
    let p = page(&app, &s, &search("información")).await;
    assert_eq!(linked(&p, &org, "responses"), 1, "{p}");
    let p = page(&app, &s, &search("esperar")).await;
    assert_eq!(linked(&p, &org, "responses"), usize::from(postgres), "{p}");
    let p = page(&app, &s, &search("esperando")).await;
    assert_eq!(linked(&p, &org, "responses"), 1, "{p}");
    // Nothing typed reaches the engines' syntax.
    for q in [
        "\"",
        "*",
        "NEAR(",
        "OR",
        "-",
        ":",
        "phone OR",
        "-phone",
        "phone*",
        "a:b",
        "\"unclosed",
        "'",
        "(",
        "!!",
        "&|",
    ] {
        let r = app.get(&s, &search(q)).await;
        assert_eq!(r.status(), 200, "{q}");
    }
    // "OR" is a word to find, not an operator: no comment has it.
    let p = page(&app, &s, &search("phone OR website")).await;
    assert!(p.contains("No comments match"), "{p}");
});

fn urlencoding(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Noon in New York on the Wednesday of the week `weeks_back` full weeks before the current one (1 = the latest
/// full week), as RFC 3339.
fn wednesday(weeks_back: u64) -> String {
    let zone = Zone::default();
    let monday = report::week_start(heard_store::now_ms(), &zone)
        .checked_sub_days(Days::new(7 * weeks_back - 2))
        .unwrap();
    format!("{monday}T17:00:00Z")
}

/// Themes and sentiment of every stored signal of `t`, by local week start (ms).
async fn stored(app: &TestApp, t: &Tenant) -> Vec<(i64, Vec<String>, bool)> {
    let zone = Zone::default();
    let rows = app
        .store
        .signals_page(t.org, &Default::default(), None, 10_000)
        .await
        .unwrap();
    rows.iter()
        .map(|r| {
            let e: Value = serde_json::from_str(r.enrichment.as_deref().unwrap()).unwrap();
            let themes = e["themes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t["id"].as_str().unwrap().to_string())
                .collect();
            let week = zone.day_start_ms(report::week_start(r.occurred_at, &zone));
            (week, themes, r.sentiment.as_deref() == Some("negative"))
        })
        .collect()
}

fn csv_rows(body: &str) -> Vec<BTreeMap<String, String>> {
    let body = body.strip_prefix('\u{feff}').expect("a byte-order mark");
    let mut r = csv::Reader::from_reader(body.as_bytes());
    let headers = r.headers().unwrap().clone();
    r.records()
        .map(|rec| {
            headers
                .iter()
                .zip(rec.unwrap().iter())
                .map(|(h, v)| (h.to_string(), v.to_string()))
                .collect()
        })
        .collect()
}

both_backends!(explorer_figures_and_emerging_alert, |app| {
    // Agency A: nine full weeks; each has 30 comments about kind staff and 2 about the phone, except the latest
    // full week, with 30 about the phone. Agency B: the same every week (noise only).
    let kind = "The staff were kind and helpful, thank you";
    let phone = "Nobody answered the phone, I called again and again";
    let mut a = Vec::new();
    let mut b = Vec::new();
    for w in 1..=9u64 {
        let phones = if w == 1 { 30 } else { 2 };
        for i in 0..30 {
            a.push(json!({"external_id": format!("k{w}-{i}"), "source": "review", "text": kind, "occurred_at": wednesday(w)}));
            b.push(json!({"external_id": format!("k{w}-{i}"), "source": "review", "text": kind, "occurred_at": wednesday(w)}));
        }
        for i in 0..phones {
            a.push(json!({"external_id": format!("p{w}-{i}"), "source": "web_form", "text": phone, "occurred_at": wednesday(w)}));
        }
        for i in 0..(3 + w % 2) {
            b.push(json!({"external_id": format!("p{w}-{i}"), "source": "web_form", "text": phone, "occurred_at": wednesday(w)}));
        }
    }
    let key_a = api_key(&app, &app.a).await;
    let key_b = api_key(&app, &app.b).await;
    send_signals(&app, &key_a, a).await;
    send_signals(&app, &key_b, b).await;

    // By hand, from what was stored: comments and phone mentions over the 12 weeks, and in the latest week.
    let rows = stored(&app, &app.a).await;
    let zone = Zone::default();
    let latest = zone.day_start_ms(
        report::week_start(heard_store::now_ms(), &zone)
            .checked_sub_days(Days::new(7))
            .unwrap(),
    );
    let n = rows.len();
    let n_neg = rows.iter().filter(|r| r.2).count();
    let has = |r: &(i64, Vec<String>, bool)| r.1.iter().any(|t| t == "phone_access");
    let mentions = rows.iter().filter(|r| has(r)).count();
    let neg_mentions = rows.iter().filter(|r| has(r) && r.2).count();
    assert_eq!(
        mentions,
        30 + 8 * 2,
        "the phone text carries the phone theme"
    );
    let latest_n = rows.iter().filter(|r| r.0 == latest).count();
    let latest_x = rows.iter().filter(|r| r.0 == latest && has(r)).count();
    assert_eq!((latest_n, latest_x), (60, 30));

    let s = app.sign_in(&app.a.admin_email).await;
    let org = app.a.org.to_string();
    let p = page(&app, &s, &format!("/admin/o/{org}/themes")).await;
    assert!(p.contains(&format!("<strong>{n}</strong> comments")), "{p}");
    assert!(p.contains("Emerging: <a"), "{p}");
    let csv = app
        .get(
            &s,
            &format!("/admin/o/{org}/themes.csv?weeks=12&table=themes"),
        )
        .await;
    assert_eq!(csv.status(), 200);
    assert!(
        csv.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let table = csv_rows(&csv.text().await.unwrap());
    let phone_row = table
        .iter()
        .find(|r| r["theme_id"] == "phone_access")
        .unwrap();
    assert_eq!(phone_row["comments"], n.to_string());
    assert_eq!(phone_row["negative_comments"], n_neg.to_string());
    assert_eq!(phone_row["mentions"], mentions.to_string());
    assert_eq!(phone_row["negative_mentions"], neg_mentions.to_string());
    assert_eq!(
        phone_row["share"],
        format!("{:.4}", mentions as f64 / n as f64)
    );
    assert_eq!(phone_row["latest_week_mentions"], "30");
    assert_eq!(phone_row["latest_week_comments"], "60");
    assert_eq!(phone_row["baseline_mentions"], "8");
    assert_eq!(phone_row["baseline_comments"], "128");
    assert_eq!(phone_row["emerging"], "yes");
    if n_neg > 10 && n - n_neg > 10 {
        let lift = (neg_mentions as f64 / n_neg as f64) / (mentions as f64 / n as f64);
        assert_eq!(phone_row["lift_among_negative"], format!("{lift:.4}"));
    }
    // Every theme the phone comment carries rose with it (it also reads as being asked again); no other did.
    let rising: Vec<String> = rows
        .iter()
        .filter(|r| has(r))
        .flat_map(|r| r.1.clone())
        .collect();
    for r in &table {
        let expected = if rising.contains(&r["theme_id"]) {
            "yes"
        } else {
            "no"
        };
        assert_eq!(r["emerging"], expected, "{r:?}");
    }
    // The weekly table: one row per theme and week, the latest week's phone share 50%.
    let weekly = app
        .get(&s, &format!("/admin/o/{org}/themes.csv?table=weekly"))
        .await
        .text()
        .await
        .unwrap();
    let weekly = csv_rows(&weekly);
    let last = weekly
        .iter()
        .rev()
        .find(|r| r["theme_id"] == "phone_access")
        .unwrap();
    assert_eq!(
        (
            last["comments"].as_str(),
            last["mentions"].as_str(),
            last["share"].as_str()
        ),
        ("60", "30", "0.5000")
    );

    // Agency B's steady noise raises no alert.
    let sb = app.sign_in(&app.b.admin_email).await;
    let pb = page(&app, &sb, &format!("/admin/o/{}/themes", app.b.org)).await;
    assert!(pb.contains("No theme is emerging"), "{pb}");
    // Each organization counts only its own: 9 weeks of 30 + 3 or 4.
    assert!(pb.contains("<strong>302</strong> comments"), "{pb}");
    // A viewer's bad input is named.
    let r = app.get(&s, &format!("/admin/o/{org}/themes?weeks=7")).await;
    assert!(r.status().is_client_error());
});
