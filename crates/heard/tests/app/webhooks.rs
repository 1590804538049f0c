//! Signed webhooks (issue 21, item 4): endpoints added in the admin get `response.received` and `crisis.detected`
//! from the job queue, signed by the Standard Webhooks scheme and checked here by the specification's own Python
//! library (`standardwebhooks`, in the venv `scripts/webhooks-venv.sh` makes), on a receiver on loopback. A
//! receiver that is down gets retries with growing waits while ingestion answers 2xx; a 500 then a 200 is one
//! delivery logged twice; after a rotation either secret verifies; a replay re-sends the same `webhook-id`; another
//! organization's endpoint never receives.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use heard_domain::OrgId;
use serde_json::{Value, json};

use crate::both_backends;
use crate::support::{Session, Tenant, TestApp};

#[derive(Debug, Clone)]
struct Received {
    id: String,
    timestamp: String,
    signature: String,
    body: String,
}

/// A receiver on 127.0.0.1 that keeps every request and answers the statuses queued, then 200.
#[derive(Clone, Default)]
struct Receiver {
    got: Arc<Mutex<Vec<Received>>>,
    answers: Arc<Mutex<VecDeque<u16>>>,
}

impl Receiver {
    async fn spawn() -> (String, Receiver) {
        let r = Receiver::default();
        async fn hook(State(r): State<Receiver>, h: HeaderMap, body: Bytes) -> StatusCode {
            let header = |n: &str| {
                h.get(n)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_string()
            };
            r.got.lock().unwrap().push(Received {
                id: header("webhook-id"),
                timestamp: header("webhook-timestamp"),
                signature: header("webhook-signature"),
                body: String::from_utf8(body.to_vec()).unwrap(),
            });
            let status = r.answers.lock().unwrap().pop_front().unwrap_or(200);
            StatusCode::from_u16(status).unwrap()
        }
        let app = axum::Router::new()
            .route("/hook", axum::routing::post(hook))
            .with_state(r.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (format!("http://{addr}/hook"), r)
    }

    fn got(&self) -> Vec<Received> {
        self.got.lock().unwrap().clone()
    }
}

/// The Python of `scripts/webhooks-venv.sh`.
fn python() -> String {
    let out = std::process::Command::new("bash")
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../scripts/webhooks-venv.sh"
        ))
        .output()
        .expect("scripts/webhooks-venv.sh runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// What `standardwebhooks.Webhook(secret).verify(body, headers)` says of each (secret, request): `ok` or the
/// library's error.
fn verify(cases: &[(&str, &Received)]) -> Vec<String> {
    let script = "import json, sys\nfrom standardwebhooks.webhooks import Webhook\n\
                  for c in json.load(sys.stdin):\n\
                  \x20   try:\n\
                  \x20       Webhook(c['secret']).verify(c['body'], c['headers'])\n\
                  \x20       print('ok')\n\
                  \x20   except Exception as e:\n\
                  \x20       print('fail: %s' % e)\n";
    let input: Vec<Value> = cases
        .iter()
        .map(|(secret, r)| {
            json!({"secret": secret, "body": r.body, "headers": {
                "webhook-id": r.id, "webhook-timestamp": r.timestamp, "webhook-signature": r.signature}})
        })
        .collect();
    let mut child = std::process::Command::new(python())
        .args(["-c", script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(serde_json::to_string(&input).unwrap().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

/// A worker with the product's handlers and the webhook sender, over the app's store (the test server's secret).
fn worker(app: &TestApp) -> heard_server::jobs::Worker {
    let mut reg = heard_server::jobs::JobRegistry::product();
    heard_server::webhooks::register(&mut reg, &[9u8; 32]);
    heard_server::jobs::Worker::new(app.store.clone(), reg, Default::default())
}

/// The value of `<input id="webhook-secret" ... value="...">` on a page, as a browser reads it (the page escapes
/// `/` and the other HTML characters; base64 has `/`).
fn shown_secret(html: &str) -> Option<String> {
    let rest = html.split("id=\"webhook-secret\"").nth(1)?;
    let v = rest.split("value=\"").nth(1)?.split('"').next()?;
    Some(
        v.replace("&#x2f;", "/")
            .replace("&#x27;", "'")
            .replace("&quot;", "\"")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&"),
    )
}

/// Adds an endpoint through the admin's form; returns its id and the secret shown once.
async fn add_endpoint(
    app: &TestApp,
    s: &Session,
    org: OrgId,
    url: &str,
    events: &[&str],
) -> (uuid::Uuid, String) {
    let mut form = vec![("url", url), ("description", "Case system")];
    form.extend(events.iter().map(|e| ("events", *e)));
    let r = app
        .post(s, &format!("/admin/o/{org}/webhooks"), &form)
        .await;
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    let secret = shown_secret(&html).expect("the new secret is shown");
    assert!(secret.starts_with("whsec_"), "{secret}");
    let id = html
        .split(&format!("/admin/o/{org}/webhooks/"))
        .nth(1)
        .and_then(|t| t.split('/').next())
        .unwrap()
        .parse()
        .unwrap();
    // Shown once: the endpoint's own page does not show it again.
    let page = app
        .get(s, &format!("/admin/o/{org}/webhooks/{id}"))
        .await
        .text()
        .await
        .unwrap();
    let key = secret.trim_start_matches("whsec_");
    assert!(!page.contains(key) && !page.contains(&key.replace('/', "&#x2f;")));
    assert_eq!(shown_secret(&page), None);
    (id, secret)
}

async fn submit(app: &TestApp, t: &Tenant, key: &str, comment: &str) -> (u16, String) {
    let r = app
        .client
        .post(app.submit_url(t))
        .json(&json!({"idempotency_key": key, "answers": {"trust": 1, "went_well": ["ease"], "comment": comment}}))
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let body: Value = r.json().await.unwrap();
    (status, body["id"].as_str().unwrap_or_default().to_string())
}

/// Runs the webhook jobs due by `at` (other kinds too).
async fn run_due(app: &TestApp, at: i64) {
    worker(app).run_due_by(at).await.unwrap();
}

both_backends!(signed_events_verify_and_stay_in_their_organization, |app| {
    let (url_a, rx_a) = Receiver::spawn().await;
    let (url_b, rx_b) = Receiver::spawn().await;
    let sa = app.sign_in(&app.a.admin_email).await;
    let sb = app.sign_in(&app.b.admin_email).await;
    let (_, secret_a) = add_endpoint(
        &app,
        &sa,
        app.a.org,
        &url_a,
        &["response.received", "crisis.detected"],
    )
    .await;
    let (_, secret_b) = add_endpoint(&app, &sb, app.b.org, &url_b, &["response.received"]).await;

    let calm = "The office was friendly and the staff were helpful.";
    let crisis =
        "I lost my job, I can't pay rent, and I honestly don't see the point of living anymore.";
    let (status, calm_id) = submit(&app, &app.a, "hook-calm-0001", calm).await;
    assert!((200..300).contains(&status), "{status}");
    let (status, crisis_id) = submit(&app, &app.a, "hook-crisis-0001", crisis).await;
    assert!((200..300).contains(&status), "{status}");
    // Nothing is sent in the request's path: the deliveries wait in the queue.
    assert!(rx_a.got().is_empty());
    run_due(&app, heard_store::now_ms()).await;

    let got = rx_a.got();
    assert_eq!(got.len(), 3, "{got:?}");
    let bodies: Vec<Value> = got
        .iter()
        .map(|r| serde_json::from_str(&r.body).unwrap())
        .collect();
    let mut kinds: Vec<(String, String)> = bodies
        .iter()
        .map(|b| {
            (
                b["type"].as_str().unwrap().to_string(),
                b["data"]["response_id"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    kinds.sort();
    let mut want = vec![
        ("crisis.detected".to_string(), crisis_id.clone()),
        ("response.received".to_string(), calm_id.clone()),
        ("response.received".to_string(), crisis_id.clone()),
    ];
    want.sort();
    assert_eq!(kinds, want);
    for (r, b) in got.iter().zip(&bodies) {
        assert!(r.id.starts_with("msg_"), "{}", r.id);
        assert_eq!(b["data"]["organization_id"], app.a.org.to_string());
        // No words of the comment, no answers.
        assert!(
            !r.body.contains("rent") && !r.body.contains("friendly"),
            "{}",
            r.body
        );
        assert!(b["data"].get("answers").is_none());
    }
    let mut ids: Vec<&str> = got.iter().map(|r| r.id.as_str()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 3, "each event has its own webhook-id");

    // The Standard Webhooks library verifies each with A's secret, and refuses B's secret and a changed body.
    let mut tampered = got[0].clone();
    tampered.body = tampered.body.replace("\"urgent\"", "\"urgent \"");
    tampered.body.push(' ');
    let results = verify(&[
        (&secret_a, &got[0]),
        (&secret_a, &got[1]),
        (&secret_a, &got[2]),
        (&secret_b, &got[0]),
        (&secret_a, &tampered),
    ]);
    assert_eq!(&results[..3], ["ok", "ok", "ok"], "{results:?}");
    assert!(results[3].starts_with("fail"), "{results:?}");
    assert!(results[4].starts_with("fail"), "{results:?}");

    // B's endpoint got none of A's events; B's own response reaches B only.
    assert!(rx_b.got().is_empty());
    let (status, b_id) = submit(&app, &app.b, "hook-b-000001", calm).await;
    assert!((200..300).contains(&status));
    run_due(&app, heard_store::now_ms()).await;
    let got_b = rx_b.got();
    assert_eq!(got_b.len(), 1);
    assert!(got_b[0].body.contains(&b_id));
    assert_eq!(verify(&[(&secret_b, &got_b[0])]), ["ok"]);
    assert_eq!(rx_a.got().len(), 3);

    // A's admin cannot open B's endpoint pages.
    let b_endpoints = app.store.webhook_endpoints(app.b.org).await.unwrap();
    let r = app
        .get(
            &sa,
            &format!("/admin/o/{}/webhooks/{}", app.a.org, b_endpoints[0].id),
        )
        .await;
    assert_eq!(r.status(), 404);
});

both_backends!(a_receiver_that_is_down_gets_retries_with_backoff, |app| {
    // A port that was free a moment ago: nothing listens on it.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let s = app.sign_in(&app.a.admin_email).await;
    let (endpoint, _) = add_endpoint(
        &app,
        &s,
        app.a.org,
        &format!("http://127.0.0.1:{port}/hook"),
        &["response.received"],
    )
    .await;
    let (status, _) = submit(&app, &app.a, "hook-down-0001", "Fine.").await;
    assert!((200..300).contains(&status), "{status}");
    run_due(&app, heard_store::now_ms()).await;
    // Ingestion still answers 2xx while the receiver is down and a delivery is waiting.
    let (status, _) = submit(&app, &app.a, "hook-down-0002", "Fine again.").await;
    assert!((200..300).contains(&status), "{status}");

    let org = app.a.org;
    let first = app
        .store
        .webhook_deliveries(org, endpoint, 10)
        .await
        .unwrap();
    let first = first.iter().find(|d| d.attempts == 1).unwrap().clone();
    for _ in 0..3 {
        let d = app
            .store
            .webhook_delivery_work(org, first.id)
            .await
            .unwrap()
            .delivery;
        assert_eq!(d.state, "pending");
        run_due(&app, d.next_attempt_at.unwrap()).await;
    }
    let attempts = app.store.webhook_attempts(org, first.id).await.unwrap();
    assert_eq!(attempts.len(), 4, "{attempts:?}");
    let waits: Vec<i64> = attempts
        .iter()
        .map(|a| a.next_retry_at.unwrap() - a.attempted_at)
        .collect();
    assert!(
        waits.windows(2).all(|w| w[0] < w[1]),
        "each wait longer than the last: {waits:?}"
    );
    for a in &attempts {
        assert_eq!(a.status, None);
        assert_eq!(a.error.as_deref(), Some("connect_failed"));
    }
    // Paused, the endpoint's scheduled retries stop: the next one ends the delivery as cancelled, with no attempt.
    let r = app
        .post(
            &s,
            &format!("/admin/o/{org}/webhooks/{endpoint}/pause"),
            &[("paused", "1")],
        )
        .await;
    assert_eq!(r.status(), 303);
    let d = app
        .store
        .webhook_delivery_work(org, first.id)
        .await
        .unwrap()
        .delivery;
    run_due(&app, d.next_attempt_at.unwrap()).await;
    let d = app
        .store
        .webhook_delivery_work(org, first.id)
        .await
        .unwrap()
        .delivery;
    assert_eq!((d.state.as_str(), d.attempts), ("cancelled", 4));
    assert!(
        app.queued_jobs(org, "webhook.deliver")
            .await
            .iter()
            .all(|j| j.payload["delivery"] != first.id.to_string())
    );
    // The admin's log shows it.
    let page = app
        .get(
            &s,
            &format!("/admin/o/{org}/webhooks/{endpoint}/deliveries/{}", first.id),
        )
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("Could not connect to the receiver"), "{page}");
    assert!(page.contains("No answer"));
});

both_backends!(a_500_then_a_200_is_delivered_once_and_logged_twice, |app| {
    let (url, rx) = Receiver::spawn().await;
    rx.answers.lock().unwrap().push_back(500);
    let s = app.sign_in(&app.a.admin_email).await;
    let (endpoint, secret) = add_endpoint(&app, &s, app.a.org, &url, &["response.received"]).await;
    let (status, _) = submit(&app, &app.a, "hook-500-00001", "Fine.").await;
    assert!((200..300).contains(&status));
    run_due(&app, heard_store::now_ms()).await;
    let org = app.a.org;
    let d = app
        .store
        .webhook_deliveries(org, endpoint, 10)
        .await
        .unwrap();
    assert_eq!(d.len(), 1);
    assert_eq!(
        (d[0].state.as_str(), d[0].last_status),
        ("pending", Some(500))
    );
    run_due(&app, d[0].next_attempt_at.unwrap()).await;
    // Nothing more is due for it, however far ahead the queue runs.
    run_due(&app, heard_store::now_ms() + 2 * 86_400_000).await;

    let got = rx.got();
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].id, got[1].id, "a retry keeps its webhook-id");
    assert_eq!(got[0].body, got[1].body);
    assert_eq!(
        verify(&[(&secret, &got[0]), (&secret, &got[1])]),
        ["ok", "ok"]
    );
    let d = app
        .store
        .webhook_deliveries(org, endpoint, 10)
        .await
        .unwrap();
    assert_eq!(d.len(), 1);
    assert_eq!((d[0].state.as_str(), d[0].attempts), ("delivered", 2));
    let attempts = app.store.webhook_attempts(org, d[0].id).await.unwrap();
    let statuses: Vec<Option<i32>> = attempts.iter().map(|a| a.status).collect();
    assert_eq!(statuses, [Some(500), Some(200)]);
    assert!(attempts[0].next_retry_at.is_some() && attempts[1].next_retry_at.is_none());
    let page = app
        .get(&s, &format!("/admin/o/{org}/webhooks/{endpoint}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("Delivered"), "{page}");
    let page = app
        .get(
            &s,
            &format!("/admin/o/{org}/webhooks/{endpoint}/deliveries/{}", d[0].id),
        )
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("The receiver answered HTTP 500"), "{page}");
});

both_backends!(
    rotation_signs_with_both_secrets_and_replay_keeps_the_id,
    |app| {
        let (url, rx) = Receiver::spawn().await;
        let s = app.sign_in(&app.a.admin_email).await;
        let org = app.a.org;
        let (endpoint, old) = add_endpoint(&app, &s, org, &url, &["response.received"]).await;
        let r = app
            .post(
                &s,
                &format!("/admin/o/{org}/webhooks/{endpoint}/rotate"),
                &[],
            )
            .await;
        assert_eq!(r.status(), 200);
        let new = shown_secret(&r.text().await.unwrap()).expect("the new secret is shown once");
        assert!(new.starts_with("whsec_") && new != old);

        let (status, _) = submit(&app, &app.a, "hook-rot-00001", "Fine.").await;
        assert!((200..300).contains(&status));
        run_due(&app, heard_store::now_ms()).await;
        let got = rx.got();
        assert_eq!(got.len(), 1);
        assert_eq!(
            got[0].signature.split(' ').count(),
            2,
            "{}",
            got[0].signature
        );
        let other = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        assert_eq!(
            verify(&[(&old, &got[0]), (&new, &got[0]), (other, &got[0])])
                .iter()
                .map(|r| r.starts_with("ok"))
                .collect::<Vec<_>>(),
            [true, true, false]
        );

        // Replay from the admin: the same message again, same webhook-id and body, logged as a replay.
        let d = app
            .store
            .webhook_deliveries(org, endpoint, 10)
            .await
            .unwrap();
        let r = app
            .post(
                &s,
                &format!(
                    "/admin/o/{org}/webhooks/{endpoint}/deliveries/{}/replay",
                    d[0].id
                ),
                &[],
            )
            .await;
        assert_eq!(r.status(), 303);
        run_due(&app, heard_store::now_ms()).await;
        let got = rx.got();
        assert_eq!(got.len(), 2);
        assert_eq!(got[1].id, got[0].id);
        assert_eq!(got[1].body, got[0].body);
        assert_eq!(verify(&[(&new, &got[1])]), ["ok"]);
        let attempts = app.store.webhook_attempts(org, d[0].id).await.unwrap();
        assert_eq!(
            attempts.iter().map(|a| a.replay).collect::<Vec<_>>(),
            [false, true]
        );
        // Another organization's delivery is not found.
        let r = app
            .post(
                &s,
                &format!(
                    "/admin/o/{}/webhooks/{endpoint}/deliveries/{}/replay",
                    app.b.org, d[0].id
                ),
                &[],
            )
            .await;
        assert_eq!(r.status(), 404);

        // Paused, the endpoint gets no new deliveries.
        let r = app
            .post(
                &s,
                &format!("/admin/o/{org}/webhooks/{endpoint}/pause"),
                &[("paused", "1")],
            )
            .await;
        assert_eq!(r.status(), 303);
        let (status, _) = submit(&app, &app.a, "hook-rot-00002", "Fine.").await;
        assert!((200..300).contains(&status));
        run_due(&app, heard_store::now_ms()).await;
        assert_eq!(rx.got().len(), 2);
        assert_eq!(
            app.store
                .webhook_deliveries(org, endpoint, 10)
                .await
                .unwrap()
                .len(),
            1
        );
    }
);

both_backends!(the_endpoint_form_names_each_bad_field, |app| {
    let s = app.sign_in(&app.a.admin_email).await;
    let org = app.a.org;
    // Webhooks are for admins: an analyst may neither see nor add endpoints.
    let hash = heard_server::auth::hash_password(crate::support::PASSWORD).unwrap();
    let user = app
        .store
        .create_user(
            "analyst@agency-a.example.gov",
            "Analyst",
            &hash,
            heard_store::now_ms(),
        )
        .await
        .unwrap();
    app.store
        .set_membership(
            org,
            user.id,
            heard_domain::Role::Analyst,
            heard_store::now_ms(),
        )
        .await
        .unwrap();
    let analyst = app.sign_in("analyst@agency-a.example.gov").await;
    assert_eq!(
        app.get(&analyst, &format!("/admin/o/{org}/webhooks"))
            .await
            .status(),
        403
    );
    let r = app
        .post(
            &analyst,
            &format!("/admin/o/{org}/webhooks"),
            &[
                ("url", "https://hooks.example.gov/"),
                ("events", "response.received"),
            ],
        )
        .await;
    assert_eq!(r.status(), 403);
    assert!(app.store.webhook_endpoints(org).await.unwrap().is_empty());
    let r = app
        .post(
            &s,
            &format!("/admin/o/{org}/webhooks"),
            &[
                ("url", "http://hooks.example.gov/heard"),
                ("description", ""),
            ],
        )
        .await;
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("Address: it must start with https:"),
        "{html}"
    );
    assert!(html.contains("Events to send: choose at least one."));
    assert!(
        html.contains("value=\"http:&#x2f;&#x2f;hooks.example.gov&#x2f;heard\""),
        "what was typed stays"
    );
    assert!(app.store.webhook_endpoints(org).await.unwrap().is_empty());
    // In Spanish too.
    let r = app
        .post(
            &s,
            &format!("/admin/o/{org}/webhooks?lang=es"),
            &[("url", "not a url"), ("events", "response.received")],
        )
        .await;
    assert_eq!(r.status(), 422);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("escriba una dirección web completa")
    );
    assert!(app.store.webhook_endpoints(org).await.unwrap().is_empty());
});
