//! Faults met at the edge, where agencies and attackers first touch Heard: client addresses behind a proxy, figures
//! the public can push, text that one backend takes and the other refuses, redirect targets, display spoofing, and
//! an unreachable database.

use serde_json::{Value, json};

use crate::support::{Backend, TestApp, spawn_app_with};

/// Today in UTC, as days since 1970-01-01. Displays are counted per organization-local day, which is UTC's
/// yesterday for a few hours each night in American zones, so the window below spans the day either side.
fn today() -> i64 {
    chrono::Utc::now().timestamp().div_euclid(86_400)
}

/// Every display counted around today (yesterday to tomorrow; the test's store is its own) for tenant A's survey,
/// over all channels.
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

/// Runs an async test body on both backends with a tweaked configuration, as two tests.
macro_rules! both_backends_with {
    ($name:ident, $tweak:expr, |$app:ident| $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            async fn run($app: $crate::support::TestApp) $body
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                run(spawn_app_with(Backend::Sqlite, $tweak).await).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                run(spawn_app_with(Backend::Postgres, $tweak).await).await;
            }
        }
    };
}

// Item 3: behind one trusted proxy, the client writes the start of X-Forwarded-For and the proxy appends the
// address it saw. Only the appended entry may key the limit.
#[tokio::test]
async fn a_client_cannot_choose_its_address_behind_a_trusted_proxy() {
    let app = spawn_app_with(Backend::Sqlite, |c| {
        c.submissions_per_minute = 10;
        c.trusted_proxy_hops = 1;
    })
    .await;
    let mut accepted = 0;
    for i in 0..30 {
        let r = app
            .client
            .post(app.submit_url(&app.a))
            .header("x-forwarded-for", format!("198.51.100.{i}, 203.0.113.7"))
            .json(&json!({"idempotency_key": format!("proxy-key-{i:04}"), "answers": {"trust": 1}}))
            .send()
            .await
            .unwrap();
        if r.status().is_success() {
            accepted += 1;
        } else {
            assert_eq!(r.status(), 429);
        }
    }
    assert_eq!(
        accepted, 10,
        "one real client gets one budget, whatever it writes"
    );
    // Another real client (another appended entry) still has its own budget.
    let r = app
        .client
        .post(app.submit_url(&app.a))
        .header("x-forwarded-for", "198.51.100.1, 203.0.113.8")
        .json(&json!({"idempotency_key": "proxy-key-other", "answers": {"trust": 1}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
}

// Item 4: page views are A-11's "offered the survey"; one address cannot push the figure (a repeat view within the
// hour is not a new offer), but the page keeps being served. HEAD and prefetches are not views.
both_backends_with!(
    hosted_page_views_count_within_the_address_budget,
    |c: &mut heard_server::Config| c.submissions_per_minute = 10,
    |app| {
        for _ in 0..30 {
            let r = app.client.get(page_url(&app)).send().await.unwrap();
            assert_eq!(r.status(), 200, "the page is always served");
        }
        assert_eq!(displays_today(&app).await, 1);
        let app2 = spawn_app_with(Backend::Sqlite, |c| c.submissions_per_minute = 10).await;
        let r = app2.client.head(page_url(&app2)).send().await.unwrap();
        assert_eq!(r.status(), 200);
        for (k, v) in [
            ("sec-purpose", "prefetch"),
            ("sec-purpose", "prefetch;prerender"),
            ("purpose", "prefetch"),
            ("x-moz", "prefetch"),
            ("x-purpose", "preview"),
        ] {
            let r = app2
                .client
                .get(page_url(&app2))
                .header(k, v)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200);
        }
        assert_eq!(
            displays_today(&app2).await,
            0,
            "HEAD and prefetches are not views"
        );
        app2.client.get(page_url(&app2)).send().await.unwrap();
        assert_eq!(displays_today(&app2).await, 1);
    }
);

// Item 4: the widget's display beacon counts once per address too, and its budget is not the submissions'.
#[tokio::test]
async fn widget_displays_have_their_own_budget_per_address() {
    let app = spawn_app_with(Backend::Sqlite, |c| c.submissions_per_minute = 10).await;
    let url = format!(
        "{}/api/v1/{}/surveys/{}/displays",
        app.base, app.a.slug, app.a.survey.id
    );
    for _ in 0..30 {
        app.client.post(&url).send().await.unwrap();
    }
    assert_eq!(displays_today(&app).await, 1);
    let r = app
        .submit_json(
            &app.a,
            &json!({"idempotency_key": "after-displays-1", "answers": {"trust": 1}}),
        )
        .await;
    assert!(r["id"].is_string(), "{r}");
}

/// The status and body of a request, for asserting that bad text is refused and named.
async fn status_and_text(r: reqwest::Response) -> (u16, String) {
    let s = r.status().as_u16();
    (s, r.text().await.unwrap())
}

// Item 7: a NUL (or any control character but tab and newline) in a path, a form field, a sign-in email, a filter or
// a JSON field is refused with a 4xx naming the field, the same on both backends; nothing reaches the database.
crate::both_backends!(
    control_characters_are_refused_at_the_edge_naming_the_field,
    |app| {
        let id = app.a.survey.id;
        let (s, _) = status_and_text(
            app.client
                .get(format!("{}/s/agency-a%00/{id}", app.base))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert!((400..500).contains(&s), "path with NUL: {s}");

        let (s, body) = status_and_text(
            app.client
                .post(page_url(&app))
                .form(&[
                    ("idempotency_key", "form-nul-0001"),
                    ("q.trust", "1"),
                    ("q.comment", "hello\0world"),
                ])
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(s, 422, "{body}");
        // A person gets the form back, the character removed and a note beside the answer.
        assert!(body.contains(">helloworld</textarea>"), "{body}");
        assert!(body.contains("hidden character"), "{body}");
        assert_eq!(
            app.store
                .count_responses(app.a.org, &Default::default())
                .await
                .unwrap(),
            0,
            "nothing is stored"
        );

        let (s, body) = status_and_text(
        app.client
            .post(app.submit_url(&app.a))
            .json(&json!({"idempotency_key": "json-nul-0001", "answers": {"trust": 1, "comment": "a\u{0}b"}}))
            .send()
            .await
            .unwrap(),
    )
    .await;
        assert_eq!(s, 422, "{body}");
        let v: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["errors"][0]["field"], "answers.comment", "{v}");
        assert_eq!(v["errors"][0]["code"], "control_character", "{v}");

        let (s, body) = status_and_text(
        app.client
            .post(app.submit_url(&app.a))
            .json(&json!({"idempotency_key": "json-del-0001", "answers": {"trust": 1, "comment": "a\u{7f}b"}}))
            .send()
            .await
            .unwrap(),
    )
    .await;
        assert_eq!(s, 422, "DEL: {body}");

        // The sign-in form, with a good CSRF pair so the email reaches the account lookup.
        let page = app
            .client
            .get(format!("{}/admin/login", app.base))
            .send()
            .await
            .unwrap();
        let cookie = page.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_string();
        let csrf = cookie.split_once('=').unwrap().1.to_string();
        let (s, body) = status_and_text(
            app.client
                .post(format!("{}/admin/login", app.base))
                .header("cookie", &cookie)
                .form(&[
                    ("csrf", csrf.as_str()),
                    ("email", "admin@agency-a.example.gov\0"),
                    ("password", "whatever it is"),
                ])
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(s, 422, "{body}");
        assert!(
            body.contains("Email: contains a control character"),
            "{body}"
        );

        let staff = app.sign_in(&app.a.admin_email).await;
        let r = app
            .get(
                &staff,
                &format!("/admin/o/{}/responses?language=%00", app.a.org),
            )
            .await;
        let (s, body) = status_and_text(r).await;
        assert_eq!(s, 422, "{body}");
        // The page names the field in words (issue 16 item 16); the JSON API names it by its code.
        assert!(
            body.contains("Language: contains a control character"),
            "{body}"
        );

        let r = app
            .post(
                &staff,
                &format!("/admin/o/{}/services", app.a.org),
                &[("name_en", "Passports\u{1}")],
            )
            .await;
        let (s, body) = status_and_text(r).await;
        assert_eq!(s, 422, "{body}");
        // A form is answered with a page naming the field in words, not the API's JSON (item 7).
        assert!(
            body.contains("Name in English: contains a control character"),
            "{body}"
        );
    }
);

// Item 7: browsers send textarea line breaks as CRLF; they are kept as line breaks, not refused.
crate::both_backends!(textarea_line_breaks_are_kept_as_newlines, |app| {
    let r = app
        .client
        .post(page_url(&app))
        .form(&[
            ("idempotency_key", "form-crlf-0001"),
            ("q.trust", "1"),
            ("q.comment", "first line\r\nsecond line\twith a tab"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let page = app
        .store
        .responses_page(
            app.a.org,
            &Default::default(),
            None,
            heard_store::responses::Order::NewestFirst,
            10,
        )
        .await
        .unwrap();
    let text = serde_json::to_string(&page[0].answers).unwrap();
    assert!(
        text.contains("first line\\nsecond line\\twith a tab"),
        "{text}"
    );
});

/// Signs in with `next` and returns the status and Location of the answer.
async fn sign_in_with_next(app: &TestApp, next: &str) -> (u16, Option<String>) {
    let page = app
        .client
        .get(format!("{}/admin/login", app.base))
        .send()
        .await
        .unwrap();
    let cookie = page.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let csrf = cookie.split_once('=').unwrap().1.to_string();
    let r = app
        .client
        .post(format!("{}/admin/login", app.base))
        .header("cookie", &cookie)
        .form(&[
            ("csrf", csrf.as_str()),
            ("email", app.a.admin_email.as_str()),
            ("password", crate::support::PASSWORD),
            ("next", next),
        ])
        .send()
        .await
        .unwrap();
    let loc = r
        .headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_string());
    (r.status().as_u16(), loc)
}

// Item 7: the place to return to after signing in is parsed as a path of ours; anything else falls back to the
// admin's home, and control characters are refused like everywhere else.
crate::both_backends!(sign_in_returns_only_to_paths_of_our_own, |app| {
    let org = app.a.org;
    let own = format!("/admin/o/{org}/responses?survey=x");
    assert_eq!(
        sign_in_with_next(&app, &own).await,
        (303, Some(own.clone()))
    );
    for next in [
        "/admin\r\nSet-Cookie: x=1",
        "/admin\n",
        "/admin\t",
        "//evil.example/admin",
        "/\\evil.example",
        "/admin/\\\\evil.example",
        "https://evil.example/admin",
        "/administrator",
        "/admin/../s/x",
        "admin",
        "/admin/ x",
    ] {
        assert_eq!(
            sign_in_with_next(&app, next).await,
            (303, Some("/admin".to_string())),
            "{next:?}"
        );
    }
    for next in ["/admin\u{7f}", "/admin\0", "/admin\u{85}"] {
        let (s, _) = sign_in_with_next(&app, next).await;
        assert_eq!(s, 422, "{next:?}");
    }
});

// Item 7: right-to-left overrides and other bidirectional controls in answers cannot make staff read something
// other than what was written.
crate::both_backends!(
    bidirectional_controls_in_answers_are_neutralised_for_staff,
    |app| {
        let spoof = "The clerk was \u{202E}lufwa\u{202C} to me \u{2066}x\u{2069}\u{200F}";
        let r = app
        .submit_json(
            &app.a,
            &json!({"idempotency_key": "bidi-spoof-01", "answers": {"trust": 0, "comment": spoof}}),
        )
        .await;
        let id = r["id"].as_str().unwrap().to_string();
        let staff = app.sign_in(&app.a.admin_email).await;
        let bidi = |s: &str| {
            s.chars().any(|c| {
            matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}')
        })
        };
        let org = app.a.org;
        for path in [
            format!("/admin/o/{org}/responses/{id}"),
            format!("/admin/o/{org}/responses"),
            format!("/admin/o/{org}/responses.csv"),
        ] {
            let r = app.get(&staff, &path).await;
            assert_eq!(r.status(), 200, "{path}");
            let body = r.text().await.unwrap();
            assert!(body.contains("lufwa to me"), "{path}: the answer is shown");
            assert!(
                !bidi(&body),
                "{path}: no bidirectional control reaches staff"
            );
        }
        let page = app
            .get(&staff, &format!("/admin/o/{org}/responses/{id}"))
            .await
            .text()
            .await
            .unwrap();
        assert!(page.contains("<bdi>The clerk was"), "answers are isolated");
    }
);

/// Runs `heard migrate` against a database URL and returns what it printed on stderr.
fn migrate_stderr(url: &str) -> String {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_heard"))
        .args(["migrate", "--database-url", url])
        .env_remove("HEARD_DATABASE_URL")
        .output()
        .unwrap();
    assert!(!out.status.success());
    String::from_utf8(out.stderr).unwrap()
}

// Item 13: a wrong port names the host, the port and the cause (at once: a refused connection is not retried until
// a pool times out); a wrong database says why once.
#[test]
fn an_unreachable_database_is_named_with_its_cause_once() {
    let err = migrate_stderr("postgres://postgres@127.0.0.1:1/heard_nowhere");
    assert!(err.contains("127.0.0.1:1"), "{err}");
    assert!(err.to_lowercase().contains("refused"), "{err}");
    assert!(!err.contains("timed out"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");

    let admin = crate::support::postgres_admin_url();
    let (base, _) = admin.rsplit_once('/').unwrap();
    let err = migrate_stderr(&format!("{base}/heard_no_such_database"));
    assert_eq!(err.matches("does not exist").count(), 1, "{err}");
    assert!(err.contains("5432"), "{err}");
}

// Item 17: text goes compressed, static files under hashed names are kept for a year, and pages that hold a secret
// beside text a request chooses (the admin) are not compressed (BREACH).
#[tokio::test]
async fn public_text_is_compressed_and_static_files_are_cached_under_hashed_names() {
    let app = spawn_app_with(Backend::Sqlite, |_| {}).await;
    let get = |path: String| {
        app.client
            .get(if path.starts_with("http") {
                path
            } else {
                format!("{}{path}", app.base)
            })
            .header("accept-encoding", "gzip")
            .send()
    };
    let page = get(page_url(&app)).await.unwrap();
    assert_eq!(page.headers()["content-encoding"], "gzip");
    let page = app
        .client
        .get(page_url(&app))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let css = page
        .split("href=\"")
        .map(|s| s.split('"').next().unwrap())
        .find(|s| s.starts_with("/static/uswds/css/uswds.min."))
        .expect("the page links the stylesheet by its hashed name")
        .to_string();
    let r = get(css.clone()).await.unwrap();
    assert_eq!(r.status(), 200, "{css}");
    assert_eq!(r.headers()["content-encoding"], "gzip");
    assert_eq!(
        r.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    let font = heard_server::assets::url(
        "uswds/fonts/source-sans-pro/sourcesanspro-regular-webfont.woff2",
    )
    .unwrap();
    let r = get(font).await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        r.headers().get("content-encoding").is_none(),
        "fonts are compressed already"
    );
    let r = get("/admin/login".into()).await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        r.headers().get("content-encoding").is_none(),
        "no compression beside a CSRF token"
    );
}
