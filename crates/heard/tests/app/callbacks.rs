//! Callbacks (issue 21, item 3), on both backends: the organization offers a call back after a negative answer; the
//! thank-you page and the JSON API (the widget's door) say so only then; the person picks a window and a number on
//! the public form (bad fields named, 422), gets a confirmation text through a fake Twilio on loopback, and can
//! change or call it off; staff see the number in the queue and record calls; unanswered calls and missed windows
//! retry and then escalate (the case to escalated, the on-call staff emailed); another organization sees none of it.

use std::sync::Arc;

use heard_domain::callback::CallbackState;
use heard_server::jobs::{JobRegistry, Worker};
use heard_server::sms_send::{SmsProvider, TwilioHttp};
use heard_store::callbacks::CallbackQueue;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::both_backends;
use crate::support::TestApp;

/// A worker with the product's handlers and the callback jobs, texting through `base`.
fn worker(app: &TestApp, base: &str) -> Worker {
    let mut registry = JobRegistry::product();
    heard_server::callbacks::register(
        &mut registry,
        heard_server::callbacks::CallbackJobs::new(
            &[9u8; 32],
            &app.base,
            Arc::new(TwilioHttp::new(base)) as Arc<dyn SmsProvider>,
        ),
    );
    Worker::new(app.store.clone(), registry, Default::default())
}

/// A case a member of staff opens, about nothing in particular.
fn staff_case(title: &str) -> heard_store::cases::NewCase {
    heard_store::cases::NewCase {
        title: title.into(),
        priority: heard_domain::case::Priority::Normal,
        source: heard_domain::case::CaseSource::Staff,
        team_id: None,
        owner_id: None,
        service_id: None,
        person_key: None,
        response_id: None,
        note: None,
    }
}

/// The windows a callback form offers, as the form's values.
fn windows(html: &str) -> Vec<String> {
    html.split("name=\"window\" value=\"")
        .skip(1)
        .filter_map(|s| s.split('"').next())
        .map(str::to_string)
        .collect()
}

async fn get_text(app: &TestApp, path: &str) -> (u16, String) {
    let r = app
        .client
        .get(format!("{}{path}", app.base))
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

async fn post_form(app: &TestApp, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
    app.client
        .post(format!("{}{path}", app.base))
        .form(form)
        .send()
        .await
        .unwrap()
}

/// Answers tenant A's hosted survey (thumbs) and returns the thank-you page's address.
async fn answer(app: &TestApp, key: &str, trust: &str) -> String {
    let side = if trust == "1" {
        "q.went_well"
    } else {
        "q.went_badly"
    };
    let r = post_form(
        app,
        &format!("/s/{}/{}", app.a.slug, app.a.survey.id),
        &[
            ("idempotency_key", key),
            ("lang", "en"),
            ("q.trust", trust),
            (side, "ease"),
        ],
    )
    .await;
    assert_eq!(r.status(), 303);
    r.headers()["location"].to_str().unwrap().to_string()
}

both_backends!(a_person_books_a_call_back_and_staff_work_it, |app| {
    let (twilio, fake) = crate::sms_send::fake_twilio().await;
    crate::sms_send::sender(&app, app.a.org, 10).await;
    let org = app.a.org;
    let s = app.sign_in(&app.a.admin_email).await;
    // Off by default: no offer.
    let thanks = answer(&app, "callback-0001", "0").await;
    assert!(!thanks.contains("cb="), "{thanks}");
    let r = app
        .post(
            &s,
            &format!("/admin/o/{org}/cases/settings/callbacks"),
            &[("offer", "after_negative")],
        )
        .await;
    assert_eq!(r.status(), 303);
    // A positive answer gets no offer; a negative one does, on the page and through the API.
    assert!(!answer(&app, "callback-0002", "1").await.contains("cb="));
    let thanks = answer(&app, "callback-0003", "0").await;
    assert!(thanks.contains("&cb="), "{thanks}");
    let (_, page) = get_text(&app, &thanks).await;
    let page = page.replace("&#x2f;", "/");
    assert!(page.contains("Would you like us to call you?"), "{page}");
    let form_path = page
        .split("href=\"")
        .find(|s| s.starts_with(&format!("/s/{}/callback/", app.a.slug)))
        .and_then(|s| s.split('"').next())
        .unwrap()
        .replace("&amp;", "&");
    let api: Value = app
        .submit_json(
            &app.a,
            &json!({"idempotency_key": "callback-api-1", "answers": {"trust": 0, "went_badly": ["ease"]}}),
        )
        .await;
    assert!(
        api["callback_url"]
            .as_str()
            .unwrap()
            .starts_with(&format!("{}/s/{}/callback/", app.base, app.a.slug)),
        "{api}"
    );
    let api: Value = app
        .submit_json(
            &app.a,
            &json!({"idempotency_key": "callback-api-2", "answers": {"trust": 1, "went_well": ["ease"]}}),
        )
        .await;
    assert!(api.get("callback_url").is_none(), "{api}");

    // The form: windows from business hours; bad fields are named and nothing is booked.
    let (status, html) = get_text(&app, &form_path).await;
    assert_eq!(status, 200);
    let w = windows(&html);
    assert!(w.len() >= 2, "{html}");
    assert!(html.contains("A text message to this number"));
    let action = form_path.split('?').next().unwrap().to_string();
    let r = post_form(
        &app,
        &action,
        &[("lang", "en"), ("phone", "12"), ("notify", "sms")],
    )
    .await;
    assert_eq!(r.status(), 422);
    let body = r.text().await.unwrap();
    assert!(body.contains("Choose a time for us to call you."), "{body}");
    assert!(body.contains("Enter the phone number to call"), "{body}");
    let r = post_form(
        &app,
        &action,
        &[
            ("lang", "en"),
            ("window", "1-2"),
            ("phone", "202-555-0143"),
            ("notify", "sms"),
        ],
    )
    .await;
    assert_eq!(r.status(), 422, "a window not offered is refused");
    let response_id = app
        .store
        .response_by_key(org, app.a.survey.id, "callback-0003")
        .await
        .unwrap()
        .unwrap();
    assert!(
        app.store
            .scheduled_callback(org, None, Some(*response_id.as_uuid()))
            .await
            .unwrap()
            .is_none()
    );
    // Booked: the callback's own page, and a confirmation text.
    let r = post_form(
        &app,
        &action,
        &[
            ("lang", "en"),
            ("window", &w[0]),
            ("phone", "202-555-0143"),
            ("notify", "sms"),
        ],
    )
    .await;
    assert_eq!(r.status(), 303);
    let own = r.headers()["location"].to_str().unwrap().to_string();
    assert!(own.starts_with("/callback/"), "{own}");
    let (_, html) = get_text(&app, &own).await;
    assert!(html.contains("Your call back is booked"), "{html}");
    assert!(html.contains("number ending in 0143"), "{html}");
    let cb = app
        .store
        .scheduled_callback(org, None, Some(*response_id.as_uuid()))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(cb.window().key(), w[0]);
    let w1 = worker(&app, &twilio);
    w1.run_due_by(heard_store::now_ms()).await.unwrap();
    assert_eq!(fake.count(), 1, "the confirmation");
    let sent = fake.form(0);
    assert_eq!(crate::sms_send::get(&sent, "To"), Some("+12025550143"));
    let text = crate::sms_send::get(&sent, "Body").unwrap();
    assert!(
        text.contains("we will call you") && text.contains("/callback/"),
        "{text}"
    );
    // Asking again moves the same callback; the number is kept sealed.
    let r = post_form(
        &app,
        &action,
        &[
            ("lang", "en"),
            ("window", &w[1]),
            ("phone", "202-555-0143"),
            ("notify", "none"),
        ],
    )
    .await;
    assert_eq!(r.status(), 303);
    let moved = app.store.callback(org, cb.id).await.unwrap();
    assert_eq!(moved.window().key(), w[1]);
    assert_ne!(moved.phone_sealed, b"+12025550143".to_vec());
    let kinds: Vec<String> = app
        .store
        .callback_events(org, cb.id)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.kind)
        .filter(|k| k != "message")
        .collect();
    assert_eq!(kinds[..2], ["requested".to_string(), "changed".to_string()]);

    // Staff: the queue shows the number to an admin; three unanswered calls make it missed.
    let all: Vec<Uuid> = [CallbackQueue::Due, CallbackQueue::Upcoming]
        .into_iter()
        .map(|q| {
            let store = app.store.clone();
            async move {
                store
                    .callback_queue(org, q, heard_store::now_ms())
                    .await
                    .unwrap()
            }
        })
        .collect::<futures_util::future::JoinAll<_>>()
        .await
        .into_iter()
        .flatten()
        .map(|c| c.id)
        .collect();
    assert_eq!(all, [cb.id]);
    let q = app
        .get(&s, &format!("/admin/o/{org}/callbacks?queue=upcoming"))
        .await
        .text()
        .await
        .unwrap();
    let q2 = app
        .get(&s, &format!("/admin/o/{org}/callbacks?queue=due"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        q.contains("+12025550143") || q2.contains("+12025550143"),
        "the number, for an admin"
    );
    let call = format!("/admin/o/{org}/callbacks/{}/call", cb.id);
    let r = app.post(&s, &call, &[("note", "rang out")]).await;
    assert_eq!(r.status(), 422, "an outcome is required");
    // The window chosen is hours away: a call now is not recorded.
    let r = app
        .post(&s, &call, &[("outcome", "no_answer"), ("note", "rang out")])
        .await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("is not recorded"));
    // In the window: two unanswered calls keep it; a third (a message left) makes it missed.
    let admin = app.store.user_by_email(&app.a.admin_email).await.unwrap();
    let in_window = moved.window_start + 60_000;
    for outcome in [
        heard_domain::callback::Outcome::NoAnswer,
        heard_domain::callback::Outcome::NoAnswer,
    ] {
        app.store
            .record_callback_call(
                org,
                cb.id,
                *admin.id.as_uuid(),
                outcome,
                "rang out",
                in_window,
            )
            .await
            .unwrap();
    }
    let now = app.store.callback(org, cb.id).await.unwrap();
    assert_eq!(now.state(), CallbackState::Scheduled);
    assert_eq!(now.unanswered, 2);
    app.store
        .record_callback_call(
            org,
            cb.id,
            *admin.id.as_uuid(),
            heard_domain::callback::Outcome::LeftMessage,
            "",
            in_window,
        )
        .await
        .unwrap();
    let now = app.store.callback(org, cb.id).await.unwrap();
    assert_eq!(now.state(), CallbackState::Missed);
    assert_eq!(now.missed_reason.as_deref(), Some("no_answer"));
    let r = app.post(&s, &call, &[("outcome", "reached")]).await;
    assert_eq!(r.status(), 409, "a missed callback takes no more calls");
    let page = app
        .get(&s, &format!("/admin/o/{org}/callbacks/{}", cb.id))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("Missed: nobody answered any of the calls"),
        "{page}"
    );
    assert!(page.contains("rang out"));
    let (_, html) = get_text(&app, &own).await;
    assert!(html.contains("We could not reach you"), "{html}");
    assert!(!html.contains("Call off my call back"));

    // Another organization: nothing, by page or by store.
    let b = app
        .sign_in(&format!("admin@{}.example.gov", app.b.slug))
        .await;
    let r = app
        .get(&b, &format!("/admin/o/{}/callbacks/{}", app.b.org, cb.id))
        .await;
    assert_eq!(r.status(), 404);
    assert!(matches!(
        app.store.callback(app.b.org, cb.id).await,
        Err(heard_store::StoreError::NotFound)
    ));
    let r = app
        .post(
            &b,
            &format!("/admin/o/{}/callbacks/{}/call", app.b.org, cb.id),
            &[("outcome", "reached")],
        )
        .await;
    assert_eq!(r.status(), 404);
    // A forged or mangled link is the one not-found page.
    let own_path = own.split('?').next().unwrap();
    let (status, _) = get_text(&app, &format!("{}x", &own_path[..own_path.len() - 1])).await;
    assert_eq!(status, 404);
    let (status, _) = get_text(
        &app,
        &format!(
            "/s/{}/callback/{}",
            app.b.slug,
            &action.rsplit('/').next().unwrap()
        ),
    )
    .await;
    assert_eq!(
        status, 404,
        "a response token opens only its own organization's form"
    );
});

both_backends!(missed_windows_move_on_then_escalate_the_case, |app| {
    let org = app.a.org;
    let s = app.sign_in(&app.a.admin_email).await;
    let admin = app.store.user_by_email(&app.a.admin_email).await.unwrap();
    // The admin is on call.
    let r = app
        .post(
            &s,
            &format!("/admin/o/{org}/cases/settings/on-call"),
            &[("on_call", &admin.id.to_string())],
        )
        .await;
    assert_eq!(r.status(), 303);
    let case = app
        .store
        .open_case(
            org,
            &staff_case("Benefit letter never arrived"),
            Some(admin.id),
        )
        .await
        .unwrap();
    app.store
        .change_cases(
            org,
            &[case.id],
            &[heard_domain::case::Change::Status {
                status: "in_progress".into(),
            }],
            admin.id,
        )
        .await
        .unwrap();
    // The status page offers a call; the person asks for one in Spanish.
    let token =
        heard_server::status::status_token(&heard_server::crypto::Sealer::new(&[9u8; 32]), case.id);
    let (_, html) = get_text(&app, &format!("/status/{token}?lang=en")).await;
    assert!(
        html.replace("&#x2f;", "/")
            .contains(&format!("/status/{token}/callback")),
        "{html}"
    );
    let (status, html) = get_text(&app, &format!("/status/{token}/callback?lang=es")).await;
    assert_eq!(status, 200);
    assert!(html.contains("¿Cuándo debemos llamarle?"), "{html}");
    let w = windows(&html);
    let r = post_form(
        &app,
        &format!("/status/{token}/callback"),
        &[
            ("lang", "es"),
            ("window", &w[0]),
            ("phone", "+1 202 555 0143"),
            ("notify", "none"),
        ],
    )
    .await;
    assert_eq!(r.status(), 303);
    let (_, html) = get_text(&app, &format!("/status/{token}?lang=es")).await;
    assert!(html.contains("Le llamaremos el"), "{html}");
    let cb = app
        .store
        .scheduled_callback(org, Some(case.id), None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(cb.language, "es");
    // Each window that ends with nobody reached moves it on, by the queued check job; the third escalates.
    let w1 = worker(&app, "http://127.0.0.1:9");
    let mut ends = vec![];
    for _ in 0..3 {
        let c = app.store.callback(org, cb.id).await.unwrap();
        assert_eq!(c.state(), CallbackState::Scheduled);
        ends.push(c.window_end);
        w1.run_due_by(c.window_end + 1).await.unwrap();
    }
    assert!(ends.windows(2).all(|p| p[0] < p[1]), "{ends:?}");
    let c = app.store.callback(org, cb.id).await.unwrap();
    assert_eq!(c.state(), CallbackState::Missed);
    assert_eq!(c.windows_missed, 3);
    assert_eq!(c.missed_reason.as_deref(), Some("windows"));
    let after = app.store.case(org, case.id).await.unwrap();
    assert_eq!(after.status, "escalated");
    let history = app.store.case_history(org, case.id).await.unwrap();
    assert!(history.iter().any(|h| matches!(&h.change,
        heard_domain::case::Change::Note { body } if body.contains("The callback was missed"))));
    let mut notify = 0;
    for state in [
        heard_store::jobs::JobState::Queued,
        heard_store::jobs::JobState::Running,
        heard_store::jobs::JobState::Done,
        heard_store::jobs::JobState::Dead,
    ] {
        notify += app
            .store
            .jobs_in_state(org, state, 100)
            .await
            .unwrap()
            .into_iter()
            .filter(|j| {
                j.kind == heard_store::rules::NOTIFY_KIND && j.payload["callback"] == json!(cb.id)
            })
            .count();
    }
    assert_eq!(notify, 1, "the on-call staff were to be emailed once");
    // An ended case's status page takes no call.
    app.store
        .close_case(org, case.id, "Letter re-sent", true, admin.id)
        .await
        .unwrap();
    let (status, _) = get_text(&app, &format!("/status/{token}/callback")).await;
    assert_eq!(status, 404);
});

both_backends!(confirmations_by_email_reach_a_real_smtp_server, |app| {
    use crate::outreach_smtp::{SmtpSink, header, received};
    let org = app.a.org;
    let s = app.sign_in(&app.a.admin_email).await;
    let admin = app.store.user_by_email(&app.a.admin_email).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let port = crate::support::free_port();
    let _sink = SmtpSink::start(dir.path(), port);
    crate::outreach_smtp::loopback_sender(&app, &s, port).await;
    let case = app
        .store
        .open_case(
            org,
            &staff_case("Letter in the wrong language"),
            Some(admin.id),
        )
        .await
        .unwrap();
    let token =
        heard_server::status::status_token(&heard_server::crypto::Sealer::new(&[9u8; 32]), case.id);
    let (_, html) = get_text(&app, &format!("/status/{token}/callback?lang=es")).await;
    assert!(
        html.contains("Un correo electrónico"),
        "the email choice is offered"
    );
    let w = windows(&html);
    // Email chosen without an address: named.
    let r = post_form(
        &app,
        &format!("/status/{token}/callback"),
        &[
            ("lang", "es"),
            ("window", &w[0]),
            ("phone", "202-555-0143"),
            ("notify", "email"),
        ],
    )
    .await;
    assert_eq!(r.status(), 422);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("Escriba un correo electrónico")
    );
    let r = post_form(
        &app,
        &format!("/status/{token}/callback"),
        &[
            ("lang", "es"),
            ("window", &w[0]),
            ("phone", "202-555-0143"),
            ("notify", "email"),
            ("email", "ana@example.gov"),
        ],
    )
    .await;
    assert_eq!(r.status(), 303);
    worker(&app, "http://127.0.0.1:9")
        .run_due_by(heard_store::now_ms())
        .await
        .unwrap();
    let got = received(dir.path(), 1);
    assert_eq!(got.len(), 1);
    assert_eq!(
        header(&got[0], "Subject"),
        Some("Agency A: su llamada quedó programada")
    );
    assert_eq!(got[0]["rcpt_tos"][0], "ana@example.gov");
    let text = got[0]["text"].as_str().unwrap();
    assert!(
        text.contains("le llamaremos el") && text.contains("/callback/"),
        "{text}"
    );
    let cb = app
        .store
        .scheduled_callback(org, Some(case.id), None)
        .await
        .unwrap()
        .unwrap();
    let events = app.store.callback_events(org, cb.id).await.unwrap();
    assert!(events.iter().any(|e| e.kind == "message"
        && e.value.as_deref() == Some("confirmed")
        && e.note.is_none()));
    // Closing the case calls the booked call off; the person's page says so and offers no change.
    app.store
        .close_case(org, case.id, "Letter re-sent in Spanish", true, admin.id)
        .await
        .unwrap();
    let after = app.store.callback(org, cb.id).await.unwrap();
    assert_eq!(after.state(), CallbackState::Cancelled);
    let own = format!(
        "/callback/{}",
        heard_server::callbacks::callback_token(
            &heard_server::crypto::Sealer::new(&[9u8; 32]),
            cb.id
        )
    );
    let (_, html) = get_text(&app, &format!("{own}?lang=en")).await;
    assert!(html.contains("This call back is called off"), "{html}");
    assert!(!html.contains("Change the time or the number"));
});
