//! More faults at the edge (issue 16, items 4, 7, 12 and 13 as a tester broke them): a display counted once per
//! address and survey each hour, previews only for the organization's staff, errors as pages on HTML routes, a
//! silent database given up on in 2 s, and every status the API can answer written in its document.

use serde_json::Value;

use crate::both_backends;
use crate::support::{Backend, TestApp, spawn_app};

/// Days since the Unix epoch, today, as the display counter stores them.
fn today() -> i64 {
    chrono::Utc::now().timestamp().div_euclid(86_400)
}

async fn displays_today(app: &TestApp) -> i64 {
    app.store
        .displays(app.a.org, app.a.survey.id, today() - 1, today() + 2)
        .await
        .unwrap()
        .iter()
        .map(|(_, n)| n)
        .sum()
}

fn page_url(app: &TestApp) -> String {
    format!("{}/s/{}/{}", app.base, app.a.slug, app.a.survey.id)
}

// Item 4: a repeat view by the same address is not a new offer of the survey, on the hosted page or the widget's
// display beacon; the page is served every time.
both_backends!(repeat_views_from_one_address_are_one_display, |app| {
    for _ in 0..20 {
        let r = app.client.get(page_url(&app)).send().await.unwrap();
        assert_eq!(r.status(), 200, "the page is always served");
    }
    assert_eq!(displays_today(&app).await, 1);
    // The widget's display beacon, on tenant B's survey.
    let url = format!(
        "{}/api/v1/{}/surveys/{}/displays",
        app.base, app.b.slug, app.b.survey.id
    );
    for _ in 0..20 {
        let r = app.client.post(&url).send().await.unwrap();
        assert_eq!(r.status(), 204);
    }
    let b: i64 = app
        .store
        .displays(app.b.org, app.b.survey.id, today() - 1, today() + 2)
        .await
        .unwrap()
        .iter()
        .map(|(_, n)| n)
        .sum();
    assert_eq!(b, 1);
});

// Item 4: `?preview=1` is uncounted only for a signed-in staff member of the survey's organization; anyone else
// (no session, or staff of another organization) is counted, and the page does not call itself a preview.
both_backends!(
    only_the_organizations_staff_preview_without_counting,
    |app| {
        let preview = format!("{}?preview=1", page_url(&app));
        let staff = app.sign_in(&app.a.admin_email).await;
        let r = app
            .client
            .get(&preview)
            .header("cookie", &staff.cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(
            displays_today(&app).await,
            0,
            "the organization's own staff preview"
        );

        let other = app.sign_in(&app.b.admin_email).await;
        let r = app
            .client
            .get(&preview)
            .header("cookie", &other.cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert!(!r.text().await.unwrap().to_lowercase().contains("preview"));
        assert_eq!(
            displays_today(&app).await,
            1,
            "another organization's staff is counted"
        );

        // The public, on tenant B's survey (this address has been counted on A's already).
        let r = app
            .client
            .get(format!(
                "{}/s/{}/{}?preview=1",
                app.base, app.b.slug, app.b.survey.id
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let b: i64 = app
            .store
            .displays(app.b.org, app.b.survey.id, today() - 1, today() + 2)
            .await
            .unwrap()
            .iter()
            .map(|(_, n)| n)
            .sum();
        assert_eq!(b, 1, "the public is counted");
    }
);

// Item 13: a server that takes the connection and never answers is given up on in 2 s, naming host and port.
#[test]
fn a_silent_database_is_given_up_on_in_two_seconds() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let held = std::thread::spawn(move || {
        // Accept and keep the connection open without a word until the test ends.
        let c = listener.accept().map(|(s, _)| s);
        std::thread::sleep(std::time::Duration::from_secs(8));
        drop(c);
    });
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_heard"))
        .args([
            "migrate",
            "--database-url",
            &format!("postgres://postgres@127.0.0.1:{port}/heard_silent"),
        ])
        .env_remove("HEARD_DATABASE_URL")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains(&format!("127.0.0.1:{port}")), "{err}");
    assert!(err.contains("gave up after 2 s"), "{err}");
    drop(held);
}

// Item 12: every status an API route can answer is in the document: 422 for a survey id that is not one, and 405
// for a method the address does not take.
#[tokio::test]
async fn the_document_lists_422_and_405_where_they_happen() {
    let app = spawn_app(Backend::Sqlite).await;
    let r = app
        .client
        .get(format!("{}/api/v1/{}/surveys/%7f", app.base, app.a.slug))
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16().to_string();
    let doc: Value = app
        .client
        .get(format!("{}/api/v1/openapi.json", app.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let get = &doc["paths"]["/api/v1/{org}/surveys/{survey}"]["get"]["responses"];
    assert!(
        get.get(&status).is_some(),
        "{status} is not documented: {get}"
    );
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            if ["get", "post", "put", "delete", "patch"].contains(&method.as_str()) {
                assert!(
                    op["responses"].get("405").is_some(),
                    "{method} {path}: no 405"
                );
            }
        }
    }
}

fn content_type(r: &reqwest::Response) -> String {
    r.headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default()
}

// Item 7: outside /api/, what axum refuses before a handler runs (a repeated query parameter, a path that is not
// UTF-8, a body over the limit) and a refused control character are answered with an HTML page, not text or JSON;
// an over-long hosted form is told in the page's language how long an answer may be.
#[tokio::test]
async fn html_routes_answer_refusals_with_a_page() {
    let app = spawn_app(Backend::Sqlite).await;
    for url in [
        format!("{}?lang=en&lang=es", page_url(&app)),
        format!("{}/s/{}/%FF", app.base, app.a.slug),
        format!("{}/admin/login?next=%0B", app.base),
    ] {
        let r = app.client.get(&url).send().await.unwrap();
        assert!(r.status().is_client_error(), "{url}: {}", r.status());
        assert!(
            content_type(&r).starts_with("text/html"),
            "{url}: {}",
            content_type(&r)
        );
    }
    // A hosted page that does not exist, or cannot be read, says so in the page's language.
    for url in [
        format!("{}/s/{}/%FF?lang=es", app.base, app.a.slug),
        format!(
            "{}/s/{}/{}?lang=es",
            app.base,
            app.a.slug,
            uuid::Uuid::now_v7()
        ),
    ] {
        let html = app
            .client
            .get(&url)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(html.contains("lang=\"es\""), "{url}: {html}");
    }
    let comment = "x".repeat(70_000);
    let r = app
        .client
        .post(page_url(&app))
        .header("accept-language", "es")
        .form(&[
            ("idempotency_key", "too-long-form-0001"),
            ("lang", "es"),
            ("q.trust", "1"),
            ("q.comment", comment.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    assert!(content_type(&r).starts_with("text/html"));
    let html = r.text().await.unwrap();
    assert!(html.contains("5000 caracteres"), "{html}");
    // A sign-in with a password far over the limit gets a page too.
    let password = "p".repeat(100_000);
    let r = app
        .client
        .post(format!("{}/admin/login", app.base))
        .form(&[
            ("email", "someone@example.gov"),
            ("password", password.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    assert!(content_type(&r).starts_with("text/html"));
    // The API keeps its JSON.
    let r = app
        .client
        .get(format!(
            "{}/api/v1/{}/surveys/a?x=1&x=2",
            app.base, app.a.slug
        ))
        .send()
        .await
        .unwrap();
    assert!(content_type(&r).starts_with("application/json"));
}

// Item 7: a form value that is not UTF-8 is not stored with a replacement character: the hosted form comes back
// with the note beside the answer, and an admin form is refused naming the field.
#[tokio::test]
async fn a_form_value_that_is_not_utf8_is_refused_naming_the_field() {
    let app = spawn_app(Backend::Sqlite).await;
    let r = app
        .client
        .post(page_url(&app))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("idempotency_key=not-utf8-form-0001&lang=en&q.trust=1&q.comment=ok%FF")
        .send()
        .await
        .unwrap();
    assert_ne!(r.status(), 303, "not stored");
    let html = r.text().await.unwrap();
    assert!(html.contains("We removed it"), "{html}");
    assert!(!html.contains('\u{FFFD}'), "{html}");

    let staff = app.sign_in(&app.a.admin_email).await;
    let r = app
        .client
        .post(format!("{}/admin/o/{}/services", app.base, app.a.org))
        .header("cookie", &staff.cookie)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("csrf={}&name_en=Pass%FFports", staff.csrf))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    assert!(html.contains("Name in English"), "{html}");
}
