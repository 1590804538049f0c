//! The API and its document agree, and every error is one per field and says how to put it right (issue 16, items
//! 11 and 12). `scripts/api-contract.sh` checks the whole document with schemathesis; these tests pin what a client
//! notices first.

use heard_domain::templates::{self, TrustScale};
use heard_store::catalog::NewSurvey;
use serde_json::{Value, json};

use crate::both_backends;
use crate::support::{Backend, TestApp, create_published_survey, spawn_app};

fn assert_error_shape(e: &Value, code: &str) {
    assert_eq!(e["code"], code, "{e}");
    assert!(e["message"].as_str().is_some_and(|m| !m.is_empty()), "{e}");
    assert!(e["errors"].is_array(), "`errors` is always there: {e}");
}

#[tokio::test]
async fn every_api_error_is_json_of_one_shape() {
    let app = spawn_app(Backend::Sqlite).await;
    let url = app.submit_url(&app.a);
    // 404: no such survey, and no such address.
    for u in [
        format!(
            "{}/api/v1/{}/surveys/{}/responses",
            app.base,
            app.a.slug,
            uuid::Uuid::now_v7()
        ),
        format!("{}/api/v1/nothing/here", app.base),
    ] {
        let r = app.client.post(u).json(&json!({})).send().await.unwrap();
        assert_eq!(r.status(), 404);
        assert_error_shape(&r.json().await.unwrap(), "not_found");
    }
    // 415: not JSON.
    let r = app
        .client
        .post(&url)
        .header("content-type", "application/xml")
        .body("<a/>")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 415);
    assert_error_shape(&r.json().await.unwrap(), "unsupported_media_type");
    // 413: too large, as JSON (it was plain text from the body-limit layer).
    let big = json!({"idempotency_key": "big-body-0001", "answers": {"trust": 1, "comment": "x".repeat(70_000)}});
    let r = app.client.post(&url).json(&big).send().await.unwrap();
    assert_eq!(r.status(), 413);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    assert_error_shape(&r.json().await.unwrap(), "payload_too_large");
    // 405: a method the address does not take, with Allow kept.
    let r = app.client.delete(&url).send().await.unwrap();
    assert_eq!(r.status(), 405);
    assert!(r.headers().contains_key("allow"));
    assert_error_shape(&r.json().await.unwrap(), "method_not_allowed");
    // 403: a site the survey does not allow.
    let r = app
        .client
        .post(&url)
        .header("origin", "https://evil.example")
        .json(&json!({"idempotency_key": "cors-00000001", "answers": {"trust": 1}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert_error_shape(&r.json().await.unwrap(), "origin_not_allowed");
    // A value of the wrong type is named as what it is, not as missing.
    let r = app
        .client
        .post(&url)
        .json(&json!({"idempotency_key": 12345678, "answers": {"trust": 1}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let e: Value = r.json().await.unwrap();
    assert_error_shape(&e, "invalid_input");
    assert_eq!(e["errors"][0]["code"], "invalid_idempotency_key");
}

#[tokio::test]
async fn the_document_states_what_the_server_enforces() {
    let app = spawn_app(Backend::Sqlite).await;
    let doc: Value = app
        .client
        .get(format!("{}/api/v1/openapi.json", app.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let submit = &doc["paths"]["/api/v1/{org}/surveys/{survey}/responses"]["post"];
    for status in [
        "200", "201", "202", "400", "403", "404", "409", "410", "413", "415", "422", "429",
    ] {
        assert!(
            submit["responses"][status].is_object(),
            "{status} undocumented"
        );
    }
    for status in ["400", "403", "404", "409", "413", "415", "422", "429"] {
        assert_eq!(
            submit["responses"][status]["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/ApiError",
            "{status}"
        );
    }
    let display = &doc["paths"]["/api/v1/{org}/surveys/{survey}/displays"]["post"];
    assert_ne!(
        display["requestBody"]["required"], true,
        "the displays body is optional"
    );
    let schemas = &doc["components"]["schemas"];
    let error_required: Vec<&str> = schemas["ApiError"]["required"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(error_required.contains(&"errors"));
    let req = &schemas["SubmitRequest"];
    assert_eq!(req["additionalProperties"], false);
    let props = &req["properties"];
    assert_eq!(
        props["idempotency_key"]["pattern"],
        "^[A-Za-z0-9_-]{8,100}$"
    );
    assert_eq!(props["survey_version"]["minimum"], 1);
    assert_eq!(props["page_path"]["maxLength"], 500);
    assert!(props["language"]["pattern"].is_string());
    assert!(props["touchpoint_id"]["pattern"].is_string());
    let channels = props["channel"]["enum"].as_array().unwrap();
    assert_eq!(channels.len(), heard_domain::Channel::ALL.len() + 1);
    assert!(channels.contains(&json!("self_service_kiosk")) && channels.contains(&Value::Null));
    assert_eq!(schemas["DisplayRequest"]["additionalProperties"], false);
}

/// Publishes a survey of tenant A with a required email question after the trust question; returns its submit URL
/// and its hosted page.
async fn email_survey(app: &TestApp) -> (String, String) {
    let now = heard_store::now_ms();
    let mut def = templates::a11_v2(&app.a.service.name, TrustScale::Thumbs);
    def.questions.push(
        serde_json::from_value(json!({"id": "email", "type": "email", "required": true,
            "prompt": {"en": "Your email", "es": "Su correo electrónico"}}))
        .unwrap(),
    );
    def.check().unwrap();
    let origins: Vec<String> = vec![];
    let s = create_published_survey(
        &app.store,
        NewSurvey {
            org_id: app.a.org,
            service_id: app.a.service.id,
            touchpoint_id: None,
            name: "Follow-up",
            draft: &def,
            allowed_origins: &origins,
            transaction_point: "post_interaction",
        },
        now,
    )
    .await;
    (
        format!(
            "{}/api/v1/{}/surveys/{}/responses",
            app.base, app.a.slug, s.id
        ),
        format!("{}/s/{}/{}", app.base, app.a.slug, s.id),
    )
}

both_backends!(
    a_mistyped_email_is_one_error_that_says_how_to_fix_it,
    |app| {
        let (api, page) = email_survey(&app).await;
        let r = app
        .client
        .post(&api)
        .json(&json!({"idempotency_key": "email-000000001", "answers": {"trust": 1, "email": "maria.lopez.example.com"}}))
        .send()
        .await
        .unwrap();
        assert_eq!(r.status(), 422);
        let e: Value = r.json().await.unwrap();
        let errors = e["errors"].as_array().unwrap();
        assert_eq!(errors.len(), 1, "one error per field: {e}");
        assert_eq!(errors[0]["field"], "answers.email");
        assert_eq!(errors[0]["code"], "invalid_email");
        assert!(
            errors[0]["message"]
                .as_str()
                .unwrap()
                .contains("name@example.com")
        );

        // The hosted page shows the same one error, in the person's language, saying what to type.
        for (lang, says, not) in [
            (
                "en",
                "Enter an email address like name@example.com.",
                "Answer this question",
            ),
            (
                "es",
                "Escriba un correo electrónico como nombre@ejemplo.com.",
                "Responda esta pregunta",
            ),
        ] {
            let r = app
                .client
                .post(&page)
                .form(&[
                    ("idempotency_key", "email-form-00001"),
                    ("lang", lang),
                    ("q.trust", "1"),
                    ("q.email", "maria.lopez.example.com"),
                ])
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 422);
            let html = r.text().await.unwrap();
            assert!(html.contains(says), "{lang}: {html}");
            assert!(!html.contains(not), "{lang}: a second error shows");
        }
        // Left blank, it asks for an email address rather than just "an answer".
        let r = app
            .client
            .post(&page)
            .form(&[
                ("idempotency_key", "email-form-00002"),
                ("lang", "en"),
                ("q.trust", "1"),
            ])
            .send()
            .await
            .unwrap();
        assert!(
            r.text()
                .await
                .unwrap()
                .contains("Enter your email address, like name@example.com.")
        );
    }
);
