//! Outbound SMS from the job queue against a fake Twilio on loopback (issue 20, items 2, 3 and 7), on both backends:
//! an invitation queued by `invite_sms` (checked field by field), sent by the `sms.invite` job as Twilio's Messages
//! API takes it (form POST, basic auth, StatusCallback naming our record), recorded with its provider id and
//! segments and counted as offered; pacing per sender kept in the database; a provider that is down, answers 500 or
//! 429 leaves the send queued and retried, sent once when it is back; an ambiguous answer is never sent again and
//! the status callback settles it; an opt-out between invitation and send holds it; a conversation nobody finishes
//! ends after a day with its answers stored, carrying the invitation's person key.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use base64::Engine as _;
use heard_channels::sms::{SignatureAlgorithm, sign};
use heard_domain::identity::PersonId;
use heard_domain::{OrgId, SurveyId};
use heard_server::crypto::Sealer;
use heard_server::jobs::{JobRegistry, Worker};
use heard_server::pipeline::Pipeline;
use heard_server::sms_send::{
    self, SendError, SmsInvite, SmsInviteError, SmsJobs, SmsProvider, TwilioHttp,
};
use heard_store::jobs::JobState;
use heard_store::sms::{NewSmsSender, OutboundSms};
use uuid::Uuid;

use crate::both_backends;
use crate::support::TestApp;

const TOKEN: &str = "twilio-auth-token-0123";
const PHONE: &str = "+12025550143";

/// One request the fake received: account from the path, the Authorization header, the form's pairs.
type Seen = (String, String, Vec<(String, String)>);

/// What the fake answers next: `ok` (201 with a sid), `500`, `429`, `nosid` (200 without a sid: ambiguous).
#[derive(Clone, Default)]
pub(crate) struct Fake {
    seen: Arc<Mutex<Vec<Seen>>>,
    script: Arc<Mutex<VecDeque<&'static str>>>,
}

impl Fake {
    pub(crate) fn count(&self) -> usize {
        self.seen.lock().unwrap().len()
    }
    fn then(&self, answers: &[&'static str]) {
        self.script.lock().unwrap().extend(answers);
    }
    pub(crate) fn form(&self, i: usize) -> Vec<(String, String)> {
        self.seen.lock().unwrap()[i].2.clone()
    }
}

pub(crate) fn get<'a>(form: &'a [(String, String)], k: &str) -> Option<&'a str> {
    form.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str())
}

/// A small fake of Twilio's Messages API: records (account, authorization, form); answers 201 with a sid, 400 with
/// Twilio's error shape for `To` = +15005550001 (Twilio's test number "invalid"), or what the script says.
async fn messages(
    State(fake): State<Fake>,
    Path(account): Path<String>,
    headers: HeaderMap,
    body: String,
) -> impl IntoResponse {
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let form: Vec<(String, String)> = form_urlencoded::parse(body.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let to = get(&form, "To").unwrap_or_default().to_string();
    let n = {
        let mut seen = fake.seen.lock().unwrap();
        seen.push((account.trim_end_matches(".json").to_string(), auth, form));
        seen.len()
    };
    if to == "+15005550001" {
        return (
            StatusCode::BAD_REQUEST,
            axum::Json(
                serde_json::json!({"code": 21211, "message": "The 'To' number is not a valid phone number.", "status": 400}),
            ),
        );
    }
    let next = fake.script.lock().unwrap().pop_front().unwrap_or("ok");
    match next {
        "500" => (
            StatusCode::INTERNAL_SERVER_ERROR,
            axum::Json(serde_json::json!({"code": 20500, "message": "Internal Server Error"})),
        ),
        "429" => (
            StatusCode::TOO_MANY_REQUESTS,
            axum::Json(serde_json::json!({"code": 20429, "message": "Too Many Requests"})),
        ),
        "nosid" => (StatusCode::OK, axum::Json(serde_json::json!({}))),
        _ => (
            StatusCode::CREATED,
            axum::Json(serde_json::json!({"sid": format!("SMfake{n}"), "status": "queued"})),
        ),
    }
}

pub(crate) async fn fake_twilio() -> (String, Fake) {
    let fake = Fake::default();
    let app = axum::Router::new()
        .route(
            "/2010-04-01/Accounts/{account}/Messages.json",
            axum::routing::post(messages),
        )
        .with_state(fake.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}"), fake)
}

/// A loopback address nothing listens on: a provider that is down.
fn closed_port() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    format!("http://{}", l.local_addr().unwrap())
}

fn sealer() -> Sealer {
    Sealer::new(&[9u8; 32])
}

/// A worker with the product's handlers and the SMS ones, sending through `base`.
fn worker(app: &TestApp, base: &str) -> Worker {
    let mut registry = JobRegistry::product();
    sms_send::register(
        &mut registry,
        SmsJobs::new(
            Arc::new(Pipeline::new(&[9u8; 32])),
            &app.base,
            Arc::new(TwilioHttp::new(base)) as Arc<dyn SmsProvider>,
        ),
    );
    Worker::new(app.store.clone(), registry, Default::default())
}

/// Runs what is due in the next two minutes (retries' backoff, pacing slots), never a conversation's 24-hour end.
async fn run_soon(w: &Worker) -> usize {
    w.run_due_by(heard_store::now_ms() + 120_000).await.unwrap()
}

pub(crate) async fn sender(app: &TestApp, org: OrgId, per_second: i32) -> Uuid {
    let id = app
        .store
        .create_sms_sender(
            org,
            &NewSmsSender {
                phone_number: "+15005550006".into(),
                account_sid: "AC0123".into(),
                auth_token_sealed: sealer().seal(TOKEN),
                help_contact: "1-800-555-0100".into(),
            },
            1_000,
        )
        .await
        .unwrap();
    assert!(app.store.set_sms_pacing(org, id, per_second).await.unwrap());
    id
}

fn invitation(app: &TestApp, sender: Uuid, phone: &str) -> SmsInvite {
    SmsInvite {
        org: app.a.org,
        sender,
        survey: app.a.survey.id,
        survey_version: None,
        phone: phone.into(),
        person_key: None,
        language: "en".into(),
        outreach: None,
    }
}

async fn invite(app: &TestApp, i: &SmsInvite) -> Uuid {
    sms_send::invite_sms(&app.store, &sealer(), i, heard_store::now_ms())
        .await
        .unwrap()
}

fn phone_key(org: OrgId, phone: &str) -> String {
    sealer()
        .person_key(org, &PersonId::phone("p", phone).unwrap())
        .0
}

async fn post_signed(app: &TestApp, path: &str, params: &[(String, String)]) -> (u16, String) {
    let sig = sign(
        SignatureAlgorithm::HmacSha1,
        TOKEN,
        &format!("{}{path}", app.base),
        params,
    );
    let resp = app
        .client
        .post(format!("{}{path}", app.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("x-twilio-signature", sig)
        .body(
            form_urlencoded::Serializer::new(String::new())
                .extend_pairs(params)
                .finish(),
        )
        .send()
        .await
        .unwrap();
    (resp.status().as_u16(), resp.text().await.unwrap())
}

fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
    p.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

/// The person texts `body` to the sender (a signed inbound webhook).
async fn text(app: &TestApp, sender: Uuid, sid: &str, body: &str) -> (u16, String) {
    let params = pairs(&[
        ("MessageSid", sid),
        ("AccountSid", "AC0123"),
        ("From", PHONE),
        ("To", "+15005550006"),
        ("Body", body),
        ("NumSegments", "1"),
    ]);
    post_signed(app, &format!("/hooks/sms/{sender}"), &params).await
}

/// Twilio's status callback for one of our sends, at the address the send gave it.
async fn status(app: &TestApp, callback: &str, sid: &str, state: &str) -> u16 {
    let path = callback.strip_prefix(&app.base).unwrap().to_string();
    let params = pairs(&[
        ("MessageSid", sid),
        ("MessageStatus", state),
        ("AccountSid", "AC0123"),
    ]);
    post_signed(app, &path, &params).await.0
}

both_backends!(sms_send_invitation_from_queue, |app| {
    let (base, fake) = fake_twilio().await;
    let org = app.a.org;
    let sender = sender(&app, org, 1).await;
    let w = worker(&app, &base);

    // Bad input: each refused naming its field, nothing queued.
    let bad = |f: fn(&mut SmsInvite)| {
        let mut i = invitation(&app, sender, PHONE);
        f(&mut i);
        i
    };
    let refused = [
        bad(|i| i.phone = "12345".into()),
        bad(|i| i.language = "fr".into()),
        bad(|i| i.sender = Uuid::now_v7()),
        bad(|i| i.survey = SurveyId::from_uuid(Uuid::now_v7())),
        bad(|i| i.survey_version = Some(99)),
    ];
    let mut said = vec![];
    for i in &refused {
        let e = sms_send::invite_sms(&app.store, &sealer(), i, 0)
            .await
            .unwrap_err();
        said.push(e.to_string().split(':').next().unwrap().to_string());
    }
    assert_eq!(said, ["phone", "language", "sender", "survey", "survey"]);
    assert!(app.queued_jobs(org, sms_send::INVITE_KIND).await.is_empty());
    // Another organization's sender is not this one's.
    let theirs = self::sender(&app, app.b.org, 1).await;
    assert!(matches!(
        sms_send::invite_sms(&app.store, &sealer(), &invitation(&app, theirs, PHONE), 0).await,
        Err(SmsInviteError::NoSender(_))
    ));

    // Queued with the rules helper's contract: the same outreach item enqueues once.
    let outreach = Uuid::now_v7();
    let mut i = invitation(&app, sender, "(202) 555-0143");
    i.outreach = Some(outreach);
    let id = invite(&app, &i).await;
    assert_eq!(invite(&app, &i).await, id);
    let job = app
        .store
        .job(org, heard_domain::JobId::from_uuid(id))
        .await
        .unwrap();
    assert_eq!(
        job.dedupe_key.as_deref(),
        Some(format!("sms.invite:{outreach}").as_str())
    );
    assert_eq!(job.payload["survey_version"], 1);
    assert_eq!(job.payload["person_key"], phone_key(org, PHONE).as_str());
    // The number itself, in either form (not "555" alone: an id's hex digits may hold it).
    assert!(
        !job.payload.to_string().contains(PHONE) && !job.payload.to_string().contains("2025550143"),
        "the number is sealed"
    );

    assert_eq!(run_soon(&w).await, 1);
    assert_eq!(fake.count(), 1);
    let (account, auth, form) = fake.seen.lock().unwrap()[0].clone();
    assert_eq!(account, "AC0123");
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("AC0123:{TOKEN}"));
    assert_eq!(auth, format!("Basic {basic}"));
    assert_eq!(get(&form, "To"), Some(PHONE));
    assert_eq!(get(&form, "From"), Some("+15005550006"));
    let body = get(&form, "Body").unwrap();
    // Tenant A's survey asks trust with thumbs: YES or NO, in the opening message with the way out.
    assert!(body.starts_with("Agency A: \""), "{body}");
    assert!(
        body.contains("Reply YES or NO.") && body.contains("STOP"),
        "{body}"
    );
    let callback = get(&form, "StatusCallback").unwrap().to_string();
    assert_eq!(
        callback,
        format!("{}/hooks/sms/{sender}/status?m={id}", app.base)
    );

    let sent = app.store.sms_outbound(org, id).await.unwrap().unwrap();
    assert_eq!(sent.status, "queued");
    assert_eq!(sent.provider_message_id.as_deref(), Some("SMfake1"));
    assert_eq!(
        sent.segments,
        Some(heard_channels::sms::segments(body).segments as i32)
    );
    let conv = app.store.sms_conversation(org, id).await.unwrap().unwrap();
    assert_eq!(
        (conv.step.as_str(), conv.scale.as_str()),
        ("trust", "yes_no")
    );
    assert_eq!(conv.person_key, phone_key(org, PHONE));
    // Offered, for A-11: one SMS display today.
    let today = app
        .store
        .org(org)
        .await
        .unwrap()
        .time_zone
        .day_number(heard_store::now_ms());
    let shown = app
        .store
        .displays(org, app.a.survey.id, today - 1, today + 2)
        .await
        .unwrap();
    assert_eq!(shown, vec![("sms_text_messages".to_string(), 1)]);
    assert_eq!(
        app.store.job(org, job.id).await.unwrap().state,
        JobState::Done
    );
    let expiry = app.queued_jobs(org, sms_send::EXPIRE_KIND).await;
    assert_eq!(expiry.len(), 1);
    assert!(expiry[0].run_at >= heard_store::now_ms() + sms_send::STALE_AFTER_MS - 60_000);

    // Delivery states by the status callback; a replayed or late one never moves it back.
    assert_eq!(status(&app, &callback, "SMfake1", "sent").await, 204);
    assert_eq!(status(&app, &callback, "SMfake1", "delivered").await, 204);
    assert_eq!(status(&app, &callback, "SMfake1", "delivered").await, 204);
    assert_eq!(status(&app, &callback, "SMfake1", "sent").await, 204);
    assert_eq!(
        app.store
            .sms_message_status(org, "SMfake1")
            .await
            .unwrap()
            .as_deref(),
        Some("delivered")
    );

    // The person answers in the conversation the invitation started; the response carries the invitation's key.
    assert!(
        text(&app, sender, "SMin1", "yes")
            .await
            .1
            .contains("What went well")
    );
    text(&app, sender, "SMin2", "Quick and kind").await;
    text(&app, sender, "SMin3", "SKIP").await;
    let r = app
        .store
        .response_by_key(org, app.a.survey.id, &format!("sms:{id}"))
        .await
        .unwrap()
        .expect("the conversation's response");
    assert_eq!(
        app.store.response_person_key(org, r).await.unwrap(),
        Some(phone_key(org, PHONE))
    );
    let conv = app.store.sms_conversation(org, id).await.unwrap().unwrap();
    assert_eq!(conv.ended.as_deref(), Some("completed"));
    // The ended conversation's expiry job changes nothing.
    w.run_due_by(heard_store::now_ms() + sms_send::STALE_AFTER_MS + 60_000)
        .await
        .unwrap();
    assert_eq!(
        app.store
            .sms_conversation(org, id)
            .await
            .unwrap()
            .unwrap()
            .ended
            .as_deref(),
        Some("completed")
    );
    assert_eq!(fake.count(), 1);
});

both_backends!(sms_send_paced_per_sender, |app| {
    let (base, fake) = fake_twilio().await;
    let org = app.a.org;
    let sender = sender(&app, org, 1).await;
    let phones = ["+12025550143", "+12025550144", "+12025550145"];
    let mut ids = vec![];
    for p in phones {
        ids.push(invite(&app, &invitation(&app, sender, p)).await);
    }
    // Two workers (two servers) over one store: the slot is in the database, so one message goes now and the
    // others wait, in the queue, for the sender's next slot; no attempt is used by waiting.
    let now = heard_store::now_ms();
    worker(&app, &base).run_due_by(now).await.unwrap();
    worker(&app, &base).run_due_by(now).await.unwrap();
    assert_eq!(fake.count(), 1);
    let slot = app
        .store
        .sms_sender(sender)
        .await
        .unwrap()
        .unwrap()
        .next_send_at;
    assert!(
        slot > now - 1000 && slot <= heard_store::now_ms() + 1000,
        "{slot}"
    );
    let waiting = app.queued_jobs(org, sms_send::INVITE_KIND).await;
    assert_eq!(waiting.len(), 2);
    for j in &waiting {
        assert_eq!((j.run_at, j.attempts), (slot, 0));
    }
    // At ten a second the rest go out as their slots come.
    assert!(app.store.set_sms_pacing(org, sender, 10).await.unwrap());
    let w = worker(&app, &base);
    for _ in 0..100 {
        if fake.count() == 3 {
            break;
        }
        run_soon(&w).await;
    }
    assert_eq!(fake.count(), 3);
    let to: std::collections::BTreeSet<String> = (0..3)
        .map(|i| get(&fake.form(i), "To").unwrap().to_string())
        .collect();
    assert_eq!(to.len(), 3, "each number once");
    // 101 a second is more than any long code or short code takes: refused by the database.
    assert!(app.store.set_sms_pacing(org, sender, 101).await.is_err());
});

both_backends!(sms_send_provider_down_then_up, |app| {
    let (base, fake) = fake_twilio().await;
    let org = app.a.org;
    let sender = sender(&app, org, 100).await;
    let id = invite(&app, &invitation(&app, sender, PHONE)).await;
    let jid = heard_domain::JobId::from_uuid(id);

    // Down (a closed port on loopback): the attempt fails, the send stays queued with backoff, nothing recorded.
    let down = worker(&app, &closed_port());
    assert_eq!(down.run_pending_once().await.unwrap(), 1);
    let job = app.store.job(org, jid).await.unwrap();
    assert_eq!((job.state, job.attempts), (JobState::Queued, 1));
    assert!(
        job.last_error.as_deref().unwrap().contains("unreachable"),
        "{job:?}"
    );
    assert!(job.run_at > heard_store::now_ms());
    assert!(app.store.sms_outbound(org, id).await.unwrap().is_none());

    // Up, but answering 500, then 429: retried each time; then it takes the message, once.
    fake.then(&["500", "429"]);
    let up = worker(&app, &base);
    for _ in 0..10 {
        if app.store.job(org, jid).await.unwrap().state == JobState::Done {
            break;
        }
        run_soon(&up).await;
    }
    let job = app.store.job(org, jid).await.unwrap();
    assert_eq!((job.state, job.attempts), (JobState::Done, 4));
    assert_eq!(fake.count(), 3);
    let sent = app.store.sms_outbound(org, id).await.unwrap().unwrap();
    assert_eq!(
        (sent.status.as_str(), sent.provider_message_id.as_deref()),
        ("queued", Some("SMfake3"))
    );
    // Nothing more to send, however often the workers run.
    run_soon(&up).await;
    assert_eq!(fake.count(), 3);

    // A refusal (Twilio's invalid number) is recorded with its code and not retried.
    let bad = invite(&app, &invitation(&app, sender, "+15005550001")).await;
    run_soon(&up).await;
    let refused = app.store.sms_outbound(org, bad).await.unwrap().unwrap();
    assert_eq!(
        (refused.status.as_str(), refused.error_code.as_deref()),
        ("failed", Some("21211"))
    );
    assert_eq!(fake.count(), 4);

    // The TwilioHttp client's own reading of the same answers.
    let m = heard_server::sms_send::OutboundMessage {
        account_sid: "AC0123".into(),
        auth_token: TOKEN.into(),
        from: "+15005550006".into(),
        to: PHONE.into(),
        body: "hi".into(),
        status_callback: None,
    };
    fake.then(&["500", "429", "nosid"]);
    let http = TwilioHttp::new(&base);
    for want in ["provider answered 500", "provider answered 429"] {
        assert_eq!(
            http.send(&m).await,
            Err(SendError::Unavailable(want.into()))
        );
    }
    assert!(matches!(http.send(&m).await, Err(SendError::Ambiguous(_))));
    assert!(matches!(
        TwilioHttp::new(&closed_port()).send(&m).await,
        Err(SendError::Unavailable(_))
    ));
});

both_backends!(sms_send_ambiguous_never_twice, |app| {
    let (base, fake) = fake_twilio().await;
    let org = app.a.org;
    let sender = sender(&app, org, 100).await;
    let w = worker(&app, &base);

    // The provider answers 200 without a sid: it may have sent. Recorded unknown, not sent again.
    fake.then(&["nosid"]);
    let id = invite(&app, &invitation(&app, sender, PHONE)).await;
    run_soon(&w).await;
    assert_eq!(fake.count(), 1);
    let unknown = app.store.sms_outbound(org, id).await.unwrap().unwrap();
    assert_eq!(
        (unknown.status.as_str(), unknown.provider_message_id),
        ("unknown", None)
    );
    assert_eq!(
        app.store
            .job(org, heard_domain::JobId::from_uuid(id))
            .await
            .unwrap()
            .state,
        JobState::Done
    );
    assert_eq!(
        app.store
            .sms_outbound_in_state(org, "unknown", 10)
            .await
            .unwrap()
            .len(),
        1
    );
    run_soon(&w).await;
    assert_eq!(fake.count(), 1);
    // It had gone out: Twilio's callback, at the address our send gave, settles it.
    let callback = get(&fake.form(0), "StatusCallback").unwrap().to_string();
    assert_eq!(status(&app, &callback, "SMlate", "delivered").await, 204);
    let settled = app.store.sms_outbound(org, id).await.unwrap().unwrap();
    assert_eq!(
        (
            settled.status.as_str(),
            settled.provider_message_id.as_deref()
        ),
        ("delivered", Some("SMlate"))
    );

    // A worker that recorded a send and died before its answer was recorded: the next attempt never resends.
    let other = invite(&app, &invitation(&app, sender, "+12025550150")).await;
    let mut tx = app.store.begin().await.unwrap();
    tx.record_sms_outbound(
        org,
        other,
        &OutboundSms {
            sender_id: sender,
            conversation_id: Some(other),
            provider_message_id: None,
            status: "attempting".into(),
            segments: 1,
            now: heard_store::now_ms(),
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    run_soon(&w).await;
    assert_eq!(fake.count(), 1);
    assert_eq!(
        app.store
            .sms_outbound(org, other)
            .await
            .unwrap()
            .unwrap()
            .status,
        "unknown"
    );
});

both_backends!(sms_send_opt_out_at_send_time, |app| {
    let (base, fake) = fake_twilio().await;
    let org = app.a.org;
    let sender = sender(&app, org, 100).await;
    let w = worker(&app, &base);
    let id = invite(&app, &invitation(&app, sender, PHONE)).await;
    // STOP arrives between the invitation and its send.
    let (code, twiml) = text(&app, sender, "SMstop", "STOP").await;
    assert_eq!(code, 200);
    assert!(twiml.contains("<Message>"), "{twiml}");
    run_soon(&w).await;
    assert_eq!(fake.count(), 0);
    let held = app.store.sms_outbound(org, id).await.unwrap().unwrap();
    assert_eq!(held.status, "held_opted_out");
    assert!(app.store.sms_conversation(org, id).await.unwrap().is_none());
    // And a new invitation to that number is refused at once.
    assert!(matches!(
        sms_send::invite_sms(&app.store, &sealer(), &invitation(&app, sender, PHONE), 0).await,
        Err(SmsInviteError::OptedOut)
    ));
});

both_backends!(sms_send_stale_conversation_ends, |app| {
    let (base, fake) = fake_twilio().await;
    let org = app.a.org;
    let sender = sender(&app, org, 100).await;
    let w = worker(&app, &base);
    let mut i = invitation(&app, sender, PHONE);
    i.person_key = Some("invited-person-key".into());
    i.language = "es".into();
    let id = invite(&app, &i).await;
    run_soon(&w).await;
    assert_eq!(fake.count(), 1);
    assert!(
        get(&fake.form(0), "Body")
            .unwrap()
            .contains("Responda SÍ o NO")
    );
    // The trust answer, then silence.
    assert!(
        text(&app, sender, "SMin1", "sí")
            .await
            .1
            .contains("¿Qué salió bien")
    );
    // Not yet a day: the expiry waits (run as if at its due time, but the reply moved it on).
    let due = app.queued_jobs(org, sms_send::EXPIRE_KIND).await[0].run_at;
    w.run_due_by(due).await.unwrap();
    let conv = app.store.sms_conversation(org, id).await.unwrap().unwrap();
    assert_eq!((conv.step.as_str(), conv.ended), ("what_happened", None));
    assert_eq!(app.queued_jobs(org, sms_send::EXPIRE_KIND).await.len(), 1);
    assert!(
        app.store
            .response_by_key(org, app.a.survey.id, &format!("sms:{id}"))
            .await
            .unwrap()
            .is_none()
    );
    // A day later (the handler reads the clock, so the conversation is aged in the store instead of waiting).
    age_conversation(&app, org, id).await;
    w.run_due_by(heard_store::now_ms() + sms_send::STALE_AFTER_MS + 60_000)
        .await
        .unwrap();
    let conv = app.store.sms_conversation(org, id).await.unwrap().unwrap();
    assert_eq!(
        (conv.step.as_str(), conv.ended.as_deref()),
        ("done", Some("stale"))
    );
    let r = app
        .store
        .response_by_key(org, app.a.survey.id, &format!("sms:{id}"))
        .await
        .unwrap()
        .expect("the answers so far");
    let stored = app.store.response(org, r).await.unwrap();
    assert_eq!(
        (
            stored.trust,
            stored.language.as_str(),
            stored.channel.as_str()
        ),
        (Some(1), "es", "sms_text_messages")
    );
    assert_eq!(
        app.store
            .response_person_key(org, r)
            .await
            .unwrap()
            .as_deref(),
        Some("invited-person-key")
    );
    // A reply after the end is recorded and not answered.
    assert!(
        !text(&app, sender, "SMin2", "hola")
            .await
            .1
            .contains("<Message>")
    );
    assert_eq!(fake.count(), 1);
});

/// Moves a conversation's last activity a day and a minute back, as if nobody had replied since.
async fn age_conversation(app: &TestApp, org: OrgId, id: Uuid) {
    let c = app.store.sms_conversation(org, id).await.unwrap().unwrap();
    // An inbound message's update at that old moment sets the row's clock back, changing nothing else.
    app.store
        .apply_inbound_sms(
            org,
            &heard_store::sms::InboundSms {
                sender_id: c.sender_id,
                provider_message_id: format!("SMage{id}"),
                conversation_id: Some(id),
                segments: Some(1),
                effect: heard_store::sms::InboundEffect::Conversation(
                    heard_store::sms::ConversationUpdate {
                        id,
                        step: c.step.clone(),
                        lang: c.lang.clone(),
                        reprompts: c.reprompts,
                        answers_sealed: c.answers_sealed.clone(),
                    },
                ),
                now: heard_store::now_ms() - sms_send::STALE_AFTER_MS - 60_000,
            },
        )
        .await
        .unwrap();
}

/// A fixed-offset zone where it is now `hour`:xx (plus or minus the minute), for quiet-hours checks that do not
/// depend on when the test runs: `Etc/GMT+N` is N hours behind UTC.
fn zone_at_hour(hour: i64) -> String {
    let utc_hour = (heard_store::now_ms() / 3_600_000).rem_euclid(24);
    // offset = hour - utc_hour, brought into -12..=14 (Etc/GMT-14 is UTC+14, Etc/GMT+12 is UTC-12).
    let mut offset = (hour - utc_hour).rem_euclid(24);
    if offset > 14 {
        offset -= 24;
    }
    match offset {
        0 => "Etc/GMT".to_string(),
        o if o > 0 => format!("Etc/GMT-{o}"),
        o => format!("Etc/GMT+{}", -o),
    }
}

/// `heard sms invite` goes through the batch door (issue 20, item 1): it writes a batch of one whose item is on the
/// send queue the admin sees, and prints the decision the hand-off makes; the hand-off (the `outreach.due` job) is
/// what queues the `sms.invite` job, applying the contact cap and quiet hours as for every batch. A malformed number
/// is refused naming the field, and nothing is written; a --sender that is not the one invitations go from is
/// refused.
async fn invite_cli(backend: crate::support::Backend) {
    use heard_domain::invitation_rules::{ItemState, Reason};
    use heard_server::outreach_queue::{DUE_KIND, HandOff};
    let (url, _keep) = crate::support::database(backend).await;
    let store = heard_store::Store::open(&url, heard_store::StoreOptions::default())
        .await
        .unwrap();
    let t = crate::support::tenant(&store, "Text Agency", "texts").await;
    // The CLI's secret: 32 bytes of 1.
    let secret = [1u8; 32];
    let sealer = Sealer::new(&secret);
    let sender = store
        .create_sms_sender(
            t.org,
            &NewSmsSender {
                phone_number: "+15005550006".into(),
                account_sid: "AC0123".into(),
                auth_token_sealed: sealer.seal(TOKEN),
                help_contact: "1-800-555-0100".into(),
            },
            1,
        )
        .await
        .unwrap();
    let data = tempfile::tempdir().unwrap();
    let db = match &url {
        heard_store::DatabaseUrl::Sqlite(p) => format!("sqlite:{}", p.display()),
        heard_store::DatabaseUrl::Postgres(u) => u.clone(),
    };
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_heard"))
            .args(["sms", "invite", "--org", "texts", "--lang", "es"])
            .args(["--survey", &t.survey.id.to_string()])
            .args(args)
            .args(["--database-url", &db, "--data-dir"])
            .arg(data.path())
            .env(
                "HEARD_SECRET_KEY",
                "0101010101010101010101010101010101010101010101010101010101010101",
            )
            .env("HEARD_LOG", "warn")
            .output()
            .unwrap()
    };
    let all = [
        ItemState::Pending,
        ItemState::Held,
        ItemState::Sent,
        ItemState::Skipped,
    ];
    let out = run(&["--phone", "202-555-01"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.starts_with("error: phone:"), "{err}");
    let out = run(&["--phone", PHONE, "--sender", &Uuid::now_v7().to_string()]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.starts_with("error: --sender:"), "{err}");
    assert!(
        store
            .outreach_items(t.org, &all, 10)
            .await
            .unwrap()
            .is_empty()
    );

    // Midday where the person is: on the queue, and handed off at once.
    let noon = zone_at_hour(12);
    let sender_s = sender.to_string();
    let out = run(&[
        "--phone",
        "(202) 555-0143",
        "--sender",
        &sender_s,
        "--time-zone",
        &noon,
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let items = store.outreach_items(t.org, &all, 10).await.unwrap();
    assert_eq!(items.len(), 1, "the invitation is on the send queue");
    let first = &items[0];
    assert_eq!(
        (first.state, first.language.as_str()),
        (ItemState::Pending, "es")
    );
    assert!(first.batch_id.is_some());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!(
            "Queued SMS invitation {}; a running server sends it now.",
            first.id
        )
    );
    assert!(
        store
            .jobs_in_state(t.org, JobState::Queued, 10)
            .await
            .unwrap()
            .iter()
            .all(|j| j.kind != sms_send::INVITE_KIND),
        "nothing is sent before the hand-off"
    );
    let hand_off = |at: i64| {
        let store = store.clone();
        async move {
            let claimed = store.claim_jobs(&[DUE_KIND], 10, 60_000, at).await.unwrap();
            for job in &claimed {
                HandOff::new(&secret).run(&store, job).await.unwrap();
            }
            claimed.len()
        }
    };
    use heard_server::jobs::JobHandler;
    assert_eq!(hand_off(heard_store::now_ms() + 61_000).await, 1);
    let queued = store
        .jobs_in_state(t.org, JobState::Queued, 10)
        .await
        .unwrap()
        .into_iter()
        .filter(|j| j.kind == sms_send::INVITE_KIND)
        .collect::<Vec<_>>();
    assert_eq!(queued.len(), 1);
    assert_eq!(queued[0].payload["language"], "es");
    assert_eq!(queued[0].payload["sender"], sender.to_string());
    let sealed = queued[0].payload["phone_sealed"].as_str().unwrap();
    let bytes: Vec<u8> = (0..sealed.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&sealed[i..i + 2], 16).unwrap())
        .collect();
    assert_eq!(sealer.open(&bytes).as_deref(), Some(PHONE));
    assert_eq!(
        store.outreach_item(t.org, first.id).await.unwrap().state,
        ItemState::Sent
    );

    // The same person again: the contact cap ends it, as the command says, and nothing more is sent.
    let out = run(&["--phone", PHONE, "--time-zone", &noon]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.contains("but it will not be sent: asked recently (contact limit), until "),
        "{said}"
    );
    // Late evening where another person is: held for quiet hours, as the command says.
    let night = zone_at_hour(23);
    let out = run(&["--phone", "+12025550188", "--time-zone", &night]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("; held until "), "{said}");
    assert!(said.contains("08:00"), "{said}");
    assert!(said.contains("quiet hours (21:00 to 08:00"), "{said}");
    assert!(hand_off(heard_store::now_ms() + 61_000).await >= 1);
    let items = store.outreach_items(t.org, &all, 10).await.unwrap();
    assert_eq!(items.len(), 3, "every invitation is on the send queue");
    let mut reasons: Vec<_> = items
        .iter()
        .filter(|i| i.id != first.id)
        .map(|i| (i.state, i.reason))
        .collect();
    reasons.sort_by_key(|r| r.0.key());
    assert_eq!(
        reasons,
        vec![
            (ItemState::Held, Some(Reason::QuietHours)),
            (ItemState::Skipped, Some(Reason::ContactCap)),
        ]
    );
    assert_eq!(
        store
            .jobs_in_state(t.org, JobState::Queued, 10)
            .await
            .unwrap()
            .iter()
            .filter(|j| j.kind == sms_send::INVITE_KIND)
            .count(),
        1,
        "only the first was sent"
    );

    // `heard email invite` is the same door for email: with no SMTP sender set up, it says it will not be sent.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_heard"))
        .args([
            "email",
            "invite",
            "--org",
            "texts",
            "--email",
            "Ana@Example.org",
        ])
        .args(["--survey", &t.survey.id.to_string()])
        .args(["--database-url", &db, "--data-dir"])
        .arg(data.path())
        .env(
            "HEARD_SECRET_KEY",
            "0101010101010101010101010101010101010101010101010101010101010101",
        )
        .env("HEARD_LOG", "warn")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let items = store
        .outreach_items(t.org, &[ItemState::Pending], 10)
        .await
        .unwrap();
    let email = items
        .iter()
        .find(|i| i.channel == heard_domain::invitation_rules::Channel::Email)
        .expect("the email invitation is on the send queue");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!(
            "Queued email invitation {}, but it will not be sent: no sender set up for this channel.",
            email.id
        )
    );
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sms_send_invite_cli_sqlite() {
    invite_cli(crate::support::Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sms_send_invite_cli_postgres() {
    invite_cli(crate::support::Backend::Postgres).await;
}

/// Twilio's real API is https: the client speaks TLS (rustls) to an https base. A listener on loopback reads the
/// first bytes the client sends: a TLS handshake record (content type 22, version 3.x), not an HTTP request line.
#[tokio::test]
async fn sms_send_speaks_tls_to_https() {
    use tokio::io::AsyncReadExt;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let first = tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut buf = [0u8; 3];
        socket.read_exact(&mut buf).await.unwrap();
        buf
    });
    let m = heard_server::sms_send::OutboundMessage {
        account_sid: "AC0123".into(),
        auth_token: TOKEN.into(),
        from: "+15005550006".into(),
        to: PHONE.into(),
        body: "hi".into(),
        status_callback: None,
    };
    let http = TwilioHttp::new(&format!("https://{addr}"));
    let sent = tokio::time::timeout(std::time::Duration::from_secs(20), http.send(&m)).await;
    let head = first.await.unwrap();
    assert_eq!((head[0], head[1]), (22, 3), "a TLS ClientHello: {head:?}");
    // The handshake never completed: not a send, and nothing says it was.
    assert!(matches!(sent, Ok(Err(_))), "{sent:?}");
    assert_eq!(sms_send::TWILIO_API_BASE, "https://api.twilio.com");
}
