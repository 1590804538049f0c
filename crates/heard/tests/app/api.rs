//! The public JSON API as an agency's developer meets it.

use serde_json::{Value, json};

use crate::both_backends;
use crate::support::{Backend, spawn_app_with};

both_backends!(a_retry_with_the_same_key_stores_one_response, |app| {
    let body = json!({"idempotency_key": "retry-0000001", "answers": {"trust": 1, "went_well": ["ease"], "comment": "Fast. Reach me at ana@example.com"}, "language": "es"});
    let first = app
        .client
        .post(app.submit_url(&app.a))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(first.status(), 201);
    let first: Value = first.json().await.unwrap();
    let again = app
        .client
        .post(app.submit_url(&app.a))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 200);
    let again: Value = again.json().await.unwrap();
    assert_eq!(first["id"], again["id"]);
    assert_eq!(again["duplicate"], true);
    let f = heard_store::responses::ResponseFilter {
        survey_id: Some(app.a.survey.id),
        ..Default::default()
    };
    assert_eq!(app.store.count_responses(app.a.org, &f).await.unwrap(), 1);
    let stored = app
        .store
        .responses_page(
            app.a.org,
            &f,
            None,
            heard_store::responses::Order::OldestFirst,
            10,
        )
        .await
        .unwrap();
    assert_eq!(stored[0].language, "es");
    assert_eq!(
        stored[0].channel, "website",
        "a response that states no channel arrived on the web"
    );
    assert_eq!(stored[0].trust_positive, Some(true));
});

both_backends!(bad_input_names_the_field_and_stores_nothing, |app| {
    let cases = [
        (
            json!({"answers": {"trust": 1}}),
            "idempotency_key",
            "required",
        ),
        (
            json!({"idempotency_key": "short", "answers": {"trust": 1}}),
            "idempotency_key",
            "invalid_idempotency_key",
        ),
        (
            json!({"idempotency_key": "bad-input-1", "answers": {"trust": 7}}),
            "answers.trust",
            "out_of_range",
        ),
        (
            json!({"idempotency_key": "bad-input-2", "answers": {"trust": 1, "colour": "blue"}}),
            "answers.colour",
            "unknown_field",
        ),
        (
            json!({"idempotency_key": "bad-input-3", "answers": {"trust": 0, "went_well": ["ease"]}}),
            "answers.went_well",
            "not_shown",
        ),
        (
            json!({"idempotency_key": "bad-input-4", "answers": {"trust": 1}, "extra": true}),
            "extra",
            "unknown_field",
        ),
        (
            json!({"idempotency_key": "bad-input-5", "answers": {}}),
            "answers.trust",
            "required",
        ),
        (
            json!({"idempotency_key": "bad-input-6", "answers": {"trust": 1}, "channel": "pigeon"}),
            "channel",
            "unknown_channel",
        ),
        (
            json!({"idempotency_key": "bad-input-7", "answers": {"trust": 1}, "survey_version": 9}),
            "survey_version",
            "unknown_version",
        ),
    ];
    for (body, field, code) in cases {
        let r = app
            .client
            .post(app.submit_url(&app.a))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 422, "{body}");
        let e: Value = r.json().await.unwrap();
        assert_eq!(e["code"], "invalid_input");
        assert!(
            e["errors"]
                .as_array()
                .unwrap()
                .iter()
                .any(|x| x["field"] == field && x["code"] == code),
            "expected {field}/{code} in {e}"
        );
    }
    let r = app
        .client
        .post(app.submit_url(&app.a))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    assert_eq!(
        r.json::<Value>().await.unwrap()["errors"][0]["field"],
        "body"
    );
    let r = app
        .client
        .post(app.submit_url(&app.a))
        .header("content-type", "application/xml")
        .body("<a/>")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 415);
    let big = json!({"idempotency_key": "big-body-0001", "answers": {"trust": 1, "comment": "x".repeat(70_000)}});
    // Its own client: the server answers 413 before reading the whole body and closes the connection, which a
    // pooled client could otherwise hand to the next request (a broken pipe).
    let r = reqwest::Client::new()
        .post(app.submit_url(&app.a))
        .json(&big)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    let long = json!({"idempotency_key": "long-text-001", "answers": {"trust": 1, "comment": "x".repeat(5001)}});
    let r = app
        .client
        .post(app.submit_url(&app.a))
        .json(&long)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let f = heard_store::responses::ResponseFilter::default();
    assert_eq!(
        app.store.count_responses(app.a.org, &f).await.unwrap(),
        0,
        "nothing half-written"
    );
    let r = app
        .client
        .post(format!(
            "{}/api/v1/{}/surveys/{}/responses",
            app.base,
            app.a.slug,
            uuid::Uuid::now_v7()
        ))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
});

both_backends!(
    browsers_on_other_sites_need_the_survey_to_allow_them,
    |app| {
        let body = json!({"idempotency_key": "cors-00000001", "answers": {"trust": 1}});
        let denied = app
            .client
            .post(app.submit_url(&app.a))
            .header("origin", "https://evil.example")
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(denied.status(), 403);
        assert_eq!(
            denied.json::<Value>().await.unwrap()["code"],
            "origin_not_allowed"
        );
        let ok = app
            .client
            .post(app.submit_url(&app.a))
            .header("origin", "https://www.partner.gov")
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(ok.status(), 201);
        assert_eq!(
            ok.headers()["access-control-allow-origin"],
            "https://www.partner.gov"
        );
        let pre = app
            .client
            .request(reqwest::Method::OPTIONS, app.submit_url(&app.a))
            .header("origin", "https://www.partner.gov")
            .send()
            .await
            .unwrap();
        assert_eq!(pre.status(), 204);
        assert!(
            pre.headers()["access-control-allow-methods"]
                .to_str()
                .unwrap()
                .contains("POST")
        );
        let def = app
            .client
            .get(format!(
                "{}/api/v1/{}/surveys/{}",
                app.base, app.a.slug, app.a.survey.id
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(def.status(), 200);
        let def: Value = def.json().await.unwrap();
        assert_eq!(def["version"], 1);
        assert_eq!(def["definition"]["questions"][0]["id"], "trust");
        assert_eq!(
            def["definition"]["questions"][1]["show_if"]["question"],
            "trust"
        );
    }
);

both_backends!(a_filled_honeypot_is_acknowledged_and_dropped, |app| {
    let body = json!({"idempotency_key": "honeypot-0001", "answers": {"trust": 1}, "website": "http://spam.example"});
    let r = app
        .client
        .post(app.submit_url(&app.a))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    assert_eq!(
        app.store
            .count_responses(app.a.org, &Default::default())
            .await
            .unwrap(),
        0
    );
});

both_backends!(an_expired_survey_refuses_responses_and_says_why, |app| {
    let mut def = app.a.survey.draft.clone();
    def.pra = Some(
        heard_domain::pra::Pra::parse("1234-5678", "2020-01-31", "Two minutes.", "Dos minutos.")
            .unwrap(),
    );
    let s = &app.a.survey;
    app.store
        .update_survey(
            app.a.org,
            s.id,
            &s.name,
            &def,
            &s.allowed_origins,
            &s.transaction_point,
            1,
        )
        .await
        .unwrap();
    app.store
        .publish_survey(app.a.org, s.id, None, 2)
        .await
        .unwrap();
    let r = app
        .client
        .post(app.submit_url(&app.a))
        .json(&json!({"idempotency_key": "expired-0001", "answers": {"trust": 1}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 410);
    assert_eq!(r.json::<Value>().await.unwrap()["code"], "survey_expired");
    let page = app
        .client
        .get(format!("{}/s/{}/{}", app.base, app.a.slug, s.id))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 410);
    let html = page.text().await.unwrap();
    assert!(
        html.contains("This survey is closed") && html.contains("OMB Approval #1234-5678"),
        "{html}"
    );
    assert!(!html.contains("<form class=\"usa-form usa-form--large heard-survey\""));
});

both_backends!(
    the_hosted_page_counts_displays_and_takes_form_posts,
    |app| {
        let url = format!("{}/s/{}/{}", app.base, app.a.slug, app.a.survey.id);
        for _ in 0..3 {
            assert_eq!(app.client.get(&url).send().await.unwrap().status(), 200);
        }
        assert_eq!(
            app.client
                .get(format!("{url}?preview=1"))
                .send()
                .await
                .unwrap()
                .status(),
            200
        );
        let day = chrono::Utc::now().timestamp().div_euclid(86_400);
        let shown = app
            .store
            .displays(app.a.org, app.a.survey.id, day - 1, day + 1)
            .await
            .unwrap();
        assert_eq!(
            shown,
            vec![("website".to_string(), 1)],
            "a repeat view from one address within the hour is one display"
        );
        let r = app
            .client
            .post(&url)
            .form(&[
                ("idempotency_key", "form-post-0001"),
                ("lang", "es"),
                ("q.trust", "0"),
                ("q.went_badly", "efficiency"),
                ("q.went_badly", "ease"),
                ("q.went_well", "ease"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 303);
        assert!(
            r.headers()["location"]
                .to_str()
                .unwrap()
                .ends_with("/thanks?lang=es")
        );
        let stored = app
            .store
            .responses_page(
                app.a.org,
                &Default::default(),
                None,
                heard_store::responses::Order::OldestFirst,
                5,
            )
            .await
            .unwrap();
        assert_eq!(stored.len(), 1);
        assert!(
            !stored[0].answers.contains_key("went_well"),
            "answers to hidden questions are dropped"
        );
        assert_eq!(
            stored[0].answers["went_badly"],
            heard_domain::response::AnswerValue::Many(vec!["ease".into(), "efficiency".into()])
        );
        // Missing the required answer: the page comes back with the error, in Spanish, and nothing is stored.
        let r = app
            .client
            .post(&url)
            .form(&[("idempotency_key", "form-post-0002"), ("lang", "es")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 422);
        assert!(
            r.text()
                .await
                .unwrap()
                .contains("Elija una respuesta a esta pregunta")
        );
        let r = app
            .client
            .post(&url)
            .header("origin", "https://evil.example")
            .form(&[("q.trust", "1")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403);
        assert_eq!(
            app.store
                .count_responses(app.a.org, &Default::default())
                .await
                .unwrap(),
            1
        );
    }
);

#[tokio::test]
async fn one_address_is_rate_limited() {
    let app = spawn_app_with(Backend::Sqlite, |c| c.submissions_per_minute = 60).await;
    let mut limited = 0;
    for i in 0..15 {
        let body =
            json!({"idempotency_key": format!("rate-limit-{i:04}"), "answers": {"trust": 1}});
        let r = app
            .client
            .post(app.submit_url(&app.a))
            .json(&body)
            .send()
            .await
            .unwrap();
        if r.status() == 429 {
            assert_eq!(r.headers()["retry-after"], "60");
            limited += 1;
        }
    }
    assert_eq!(limited, 5, "a burst of 10 passes, then the address waits");
}

#[tokio::test]
async fn the_openapi_document_describes_every_public_api() {
    let app = spawn_app_with(Backend::Sqlite, |_| {}).await;
    let doc: Value = app
        .client
        .get(format!("{}/api/v1/openapi.json", app.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let paths = doc["paths"].as_object().unwrap();
    for p in [
        "/api/v1/{org}/surveys/{survey}",
        "/api/v1/{org}/surveys/{survey}/responses",
        "/api/v1/{org}/surveys/{survey}/displays",
    ] {
        assert!(paths.contains_key(p), "{p} missing from {:?}", paths.keys());
    }
    assert!(
        doc["components"]["schemas"]["SubmitRequest"]["properties"]["idempotency_key"].is_object()
    );
}

both_backends!(
    free_text_is_redacted_before_storage_enriched_and_crisis_is_flagged_at_once,
    |app| {
        let comment = "My SSN is 123-45-6789, email ana.lopez@example.com. I waited three hours on the phone and I want to kill myself.";
        let body = json!({"idempotency_key": "pipeline-0001", "answers": {"trust": 0, "went_badly": ["efficiency"], "comment": comment}});
        let r: Value = app.submit_json(&app.a, &body).await;
        let id: heard_domain::ResponseId = r["id"].as_str().unwrap().parse().unwrap();
        let stored = app.store.response(app.a.org, id).await.unwrap();
        let text = stored.answers["comment"].as_text().unwrap().to_string();
        assert!(
            !text.contains("123-45-6789") && !text.contains("ana.lopez"),
            "stored text is redacted: {text}"
        );
        assert!(text.contains("<EMAIL_ADDRESS>"));
        assert!(stored.urgent, "crisis language flags the response");
        assert_eq!(stored.sentiment.as_deref(), Some("negative"));
        assert!(
            stored.themes.iter().any(|t| t == "wait_times"),
            "{:?}",
            stored.themes
        );
        let e = &stored.enrichment.as_ref().unwrap()["comment"];
        assert!(
            e["pii"]
                .as_array()
                .unwrap()
                .iter()
                .any(|t| t == "EMAIL_ADDRESS")
        );
        // Nothing of the original is kept unless the organization chose to.
        assert!(
            app.store
                .response_raw_texts(app.a.org, id)
                .await
                .unwrap()
                .is_empty()
        );
        // The dashboards show it at once.
        let s = app.sign_in(&app.a.admin_email).await;
        let overview = app
            .get(&s, &format!("/admin/o/{}", app.a.org))
            .await
            .text()
            .await
            .unwrap();
        assert!(
            overview.contains("1 response with crisis or threat language"),
            "urgent panel on the overview"
        );
        let list = app
            .get(
                &s,
                &format!(
                    "/admin/o/{}/responses?urgent=1&sentiment=negative&theme=wait_times",
                    app.a.org
                ),
            )
            .await
            .text()
            .await
            .unwrap();
        assert!(
            list.contains("<strong>1</strong> responses match"),
            "filters by urgency, sentiment and theme"
        );
        // With the organization's consent the original is kept, sealed, and analysts can read it.
        let r = app
            .post(
                &s,
                &format!("/admin/o/{}/settings", app.a.org),
                &[("keep_raw_text", "1")],
            )
            .await;
        assert_eq!(r.status(), 303);
        let body = json!({"idempotency_key": "pipeline-0002", "answers": {"trust": 1, "comment": "Call me at 202-555-0147 please"}});
        let r: Value = app.submit_json(&app.a, &body).await;
        let id: heard_domain::ResponseId = r["id"].as_str().unwrap().parse().unwrap();
        let raw = app.store.response_raw_texts(app.a.org, id).await.unwrap();
        assert_eq!(raw.len(), 1);
        assert!(
            !raw[0].1.windows(8).any(|w| w == b"555-0147"),
            "the kept original is sealed"
        );
        let page = app
            .get(&s, &format!("/admin/o/{}/responses/{id}", app.a.org))
            .await
            .text()
            .await
            .unwrap();
        assert!(page.contains("Original text") && page.contains("202-555-0147"));
        assert!(
            !app.store.response(app.a.org, id).await.unwrap().answers["comment"]
                .as_text()
                .unwrap()
                .contains("555-0147")
        );
    }
);
