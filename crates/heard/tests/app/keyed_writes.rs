//! Every keyed write is idempotent by meaning: the same key with the same request is a retry and gets the first
//! response back; the same key with a different request is refused with 409 `idempotency_key_reused` and stores
//! nothing, so no answers are ever silently dropped (issue 16, item 1).

use serde_json::{Value, json};

use crate::both_backends;
use crate::support::TestApp;

async fn count(app: &TestApp) -> i64 {
    let f = heard_store::responses::ResponseFilter {
        survey_id: Some(app.a.survey.id),
        ..Default::default()
    };
    app.store.count_responses(app.a.org, &f).await.unwrap()
}

async fn post_raw(app: &TestApp, body: &str) -> reqwest::Response {
    app.client
        .post(app.submit_url(&app.a))
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap()
}

both_backends!(a_key_reused_for_different_answers_is_refused, |app| {
    let first = post_raw(
        &app,
        r#"{"idempotency_key": "reuse-0000001", "answers": {"trust": 1, "went_well": ["ease", "effectiveness"]}, "language": "en"}"#,
    )
    .await;
    assert_eq!(first.status(), 201);
    let first: Value = first.json().await.unwrap();

    // Different answers under the same key: refused, nothing stored, and the first answers stay.
    let other = post_raw(
        &app,
        r#"{"idempotency_key": "reuse-0000001", "answers": {"trust": 0, "went_badly": ["ease"]}, "language": "en"}"#,
    )
    .await;
    assert_eq!(other.status(), 409);
    let e: Value = other.json().await.unwrap();
    assert_eq!(e["code"], "idempotency_key_reused");
    assert_eq!(e["errors"][0]["field"], "idempotency_key");
    assert_eq!(e["errors"][0]["code"], "idempotency_key_reused");
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("new idempotency_key")
    );
    assert_eq!(count(&app).await, 1);
    let id: heard_domain::ResponseId = first["id"].as_str().unwrap().parse().unwrap();
    let kept = app.store.response(app.a.org, id).await.unwrap();
    assert_eq!(kept.trust, Some(1));

    // The same request written differently (key order, spacing, a number as text, choices in another order) is a
    // retry: 200 with the first response's id.
    let again = post_raw(
        &app,
        r#"{ "language":"en",
             "answers": {"went_well": ["effectiveness", "ease"], "trust": "1"},
             "idempotency_key": "reuse-0000001" }"#,
    )
    .await;
    assert_eq!(again.status(), 200);
    let again: Value = again.json().await.unwrap();
    assert_eq!(again["id"], first["id"]);
    assert_eq!(again["duplicate"], true);

    // Other fields that change the meaning count too: the same answers in another language are another request.
    let lang = post_raw(
        &app,
        r#"{"idempotency_key": "reuse-0000001", "answers": {"trust": 1, "went_well": ["ease", "effectiveness"]}, "language": "es"}"#,
    )
    .await;
    assert_eq!(lang.status(), 409);
    assert_eq!(count(&app).await, 1);
});

both_backends!(many_copies_of_one_key_at_once_store_one_response, |app| {
    // Sent together, so group commit puts several in one transaction: one request wins, its copies get its id,
    // the other request is refused.
    let mut tasks = Vec::new();
    for i in 0..24 {
        let client = app.client.clone();
        let url = app.submit_url(&app.a);
        let trust = i % 2;
        tasks.push(tokio::spawn(async move {
            let r = client
                .post(url)
                .json(&json!({"idempotency_key": "batch-key-0001", "answers": {"trust": trust}}))
                .send()
                .await
                .unwrap();
            let status = r.status().as_u16();
            (trust, status, r.json::<Value>().await.unwrap())
        }));
    }
    let mut results = Vec::new();
    for t in tasks {
        results.push(t.await.unwrap());
    }
    assert_eq!(count(&app).await, 1);
    let (winner, _, first) = results
        .iter()
        .find(|(_, s, _)| *s == 201)
        .expect("one request is stored")
        .clone();
    for (trust, status, body) in &results {
        if *trust == winner {
            assert!(*status == 201 || *status == 200, "{status} {body}");
            assert_eq!(body["id"], first["id"]);
        } else {
            assert_eq!(*status, 409, "{body}");
            assert_eq!(body["code"], "idempotency_key_reused");
        }
    }
});

both_backends!(a_hosted_form_sent_again_with_other_answers_says_so, |app| {
    let url = format!("{}/s/{}/{}", app.base, app.a.slug, app.a.survey.id);
    let send = |trust: &'static str, lang: &'static str| {
        let client = app.client.clone();
        let url = url.clone();
        async move {
            client
                .post(url)
                .form(&[
                    ("idempotency_key", "form-key-00000001"),
                    ("lang", lang),
                    ("q.trust", trust),
                ])
                .send()
                .await
                .unwrap()
        }
    };
    assert_eq!(send("1", "en").await.status(), 303);
    // The back button, another answer, send again: the person is told, nothing is stored over the first answers.
    let again = send("0", "en").await;
    assert_eq!(again.status(), 409);
    let html = again.text().await.unwrap();
    assert!(html.contains("These answers were not sent"), "{html}");
    assert!(html.contains("Open the survey again"), "{html}");
    let es = send("0", "es").await;
    assert_eq!(es.status(), 409);
    assert!(
        es.text()
            .await
            .unwrap()
            .contains("Estas respuestas no se enviaron")
    );
    assert_eq!(count(&app).await, 1);
    // The same answers again (a double click, a refresh) still thank the person.
    assert_eq!(send("1", "en").await.status(), 303);
    assert_eq!(count(&app).await, 1);
});
