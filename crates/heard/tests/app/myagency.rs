//! MyAgency (issue 21, item 6), on both backends: a person signs in with a one-time link sent by email (through
//! aiosmtpd on loopback) or by text (through a fake Twilio on loopback) and sees their own responses, signals, cases
//! and callbacks in one organization; a link opens once and not after 15 minutes; the answer is the same whether or
//! not the address is known, and an address gets at most three links in 15 minutes; person A never sees person B's
//! items, nor organization A's person organization B's (the same email address in both); staff cookies open no
//! person page and person cookies no admin page; preferences are saved; withdrawing consent deletes the person's
//! responses and signals (and what is kept beside them) through the `my.delete` job, calls off their callbacks,
//! keeps every rollup as it was, is audited without personal data, and is idempotent.

use std::sync::Arc;

use heard_domain::callback::{Notify, Source, Window};
use heard_domain::identity::PersonId;
use heard_domain::survey::{Question, QuestionKind};
use heard_domain::{LocalizedText, OrgId};
use heard_server::crypto::{Sealer, sha256};
use heard_server::jobs::{JobRegistry, Worker};
use heard_server::myagency::{MyJobs, link_token};
use heard_server::sms_send::{SmsProvider, TwilioHttp};
use heard_store::callbacks::NewCallback;
use heard_store::myagency::{DELETE_KIND, LINK_KIND, LINK_TTL_MS, LinkChannel, NewLink};
use heard_store::outreach::{EmailSender, TlsMode};
use heard_store::rollups::RollupScope;
use heard_store::search::{CommentFilter, SearchQuery};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::both_backends;
use crate::inbox::{api_key, send};
use crate::support::{Tenant, TestApp, create_published_survey, free_port};

const SECRET: [u8; 32] = [9u8; 32];

fn sealer() -> Sealer {
    Sealer::new(&SECRET)
}

/// A worker with the product's handlers and MyAgency's, texting through `twilio` (any address when no text goes).
fn worker(app: &TestApp, twilio: &str) -> Worker {
    let mut registry = JobRegistry::product();
    heard_server::myagency::register(
        &mut registry,
        MyJobs::new(
            &SECRET,
            &app.base,
            Arc::new(TwilioHttp::new(twilio)) as Arc<dyn SmsProvider>,
        ),
    );
    Worker::new(app.store.clone(), registry, Default::default())
}

fn person_key(org: OrgId, email: &str) -> String {
    sealer()
        .person_key(org, &PersonId::email("e", email).unwrap())
        .0
}

async fn email_sender(app: &TestApp, org: OrgId, port: u16) {
    app.store
        .set_email_sender(
            org,
            &EmailSender {
                host: "127.0.0.1".into(),
                port,
                tls: TlsMode::None,
                username: None,
                password_sealed: None,
                from_address: "feedback@example.gov".into(),
                from_name: Some("Example Benefits".into()),
                dkim_selector: None,
                dkim_domain: None,
                dkim_key_sealed: None,
            },
            1,
        )
        .await
        .unwrap();
}

/// A survey of `t` that asks for an email address, published.
async fn contact_survey(app: &TestApp, t: &Tenant) -> heard_store::Survey {
    let mut def = heard_domain::templates::a11_v2(
        &t.service.name,
        heard_domain::templates::TrustScale::Thumbs,
    );
    def.questions.push(Question {
        id: "email".into(),
        kind: QuestionKind::Email,
        prompt: LocalizedText::new("Email, if you want a reply", "Correo, si quiere respuesta"),
        help: LocalizedText::default(),
        required: false,
        options: vec![],
        show_if: None,
        a11: None,
        characteristic: None,
    });
    create_published_survey(
        &app.store,
        heard_store::catalog::NewSurvey {
            org_id: t.org,
            service_id: t.service.id,
            touchpoint_id: None,
            name: "With contact",
            draft: &def,
            allowed_origins: &[],
            transaction_point: "post_interaction",
        },
        heard_store::now_ms(),
    )
    .await
}

/// A response from `email` to `t`'s contact survey with `comment`, and a signal from `email` with `said`; returns
/// the response's id.
async fn feedback(
    app: &TestApp,
    t: &Tenant,
    survey: &heard_store::Survey,
    key: &str,
    email: &str,
    comment: &str,
    said: &str,
) -> Uuid {
    let r: Value = app
        .client
        .post(format!(
            "{}/api/v1/{}/surveys/{}/responses",
            app.base, t.slug, survey.id
        ))
        .json(
            &json!({"idempotency_key": format!("my-{}", Uuid::new_v4().simple()),
            "answers": {"trust": 0, "email": email, "comment": comment}}),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    send(
        app,
        key,
        "/api/v1/signals",
        json!([{"external_id": format!("my-{}", Uuid::new_v4().simple()), "source": "chat", "text": said,
            "person": {"email": email}}]),
    )
    .await;
    r["id"].as_str().expect("stored").parse().unwrap()
}

/// Signs `email` in to `t` without a message: a link written as the sign-in form writes one, opened over HTTP.
/// Returns the session cookie (`name=value`).
async fn session_for(app: &TestApp, t: &Tenant, email: &str) -> String {
    let id = Uuid::now_v7();
    let token = link_token(&sealer(), id);
    assert!(
        app.store
            .create_my_link(
                t.org,
                &NewLink {
                    id,
                    token_hash: sha256(token.as_bytes()).to_vec(),
                    person_key: person_key(t.org, email),
                    channel: LinkChannel::Email,
                    address_sealed: sealer().seal(email),
                    language: "en".into(),
                },
                heard_store::now_ms(),
            )
            .await
            .unwrap()
    );
    open_link(app, &t.slug, &token)
        .await
        .expect("the link opens")
}

/// Opens a link as a browser does (the page, then its button); the session cookie, or `None` with a 404.
async fn open_link(app: &TestApp, slug: &str, token: &str) -> Option<String> {
    let path = format!("/my/{slug}/link/{token}");
    let page = app
        .client
        .get(format!("{}{path}", app.base))
        .send()
        .await
        .unwrap();
    let shown = page.status().as_u16();
    let r = app
        .client
        .post(format!("{}{path}", app.base))
        .form(&[("lang", "en")])
        .send()
        .await
        .unwrap();
    if r.status() == 404 {
        assert_eq!(shown, 404, "the page and its button agree");
        return None;
    }
    assert_eq!(shown, 200);
    assert_eq!(r.status(), 303);
    let set = r
        .headers()
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    assert!(set.contains("HttpOnly"), "{set}");
    assert!(set.contains("SameSite=Lax"), "{set}");
    assert!(set.contains(&format!("Path=/my/{slug};")), "{set}");
    // `Secure` exactly when the public address is https (the cookie's name says so).
    assert_eq!(
        set.contains("; Secure"),
        set.starts_with("__Secure-"),
        "{set}"
    );
    Some(set.split(';').next().unwrap().to_string())
}

async fn page(app: &TestApp, path: &str, cookie: &str) -> (u16, String) {
    let r = app
        .client
        .get(format!("{}{path}", app.base))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    (
        r.status().as_u16(),
        r.text().await.unwrap().replace("&#x2f;", "/"),
    )
}

fn csrf(html: &str) -> String {
    html.split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("a csrf field")
        .to_string()
}

async fn post(app: &TestApp, path: &str, cookie: &str, form: &[(&str, &str)]) -> reqwest::Response {
    app.client
        .post(format!("{}{path}", app.base))
        .header("cookie", cookie)
        .form(form)
        .send()
        .await
        .unwrap()
}

async fn sign_in_form(app: &TestApp, slug: &str, address: &str) -> (u16, String) {
    let r = app
        .client
        .post(format!("{}/my/{slug}/sign-in", app.base))
        .form(&[("lang", "en"), ("address", address)])
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

/// The link a message holds.
fn link_in(text: &str, base: &str) -> String {
    let start = text.find(&format!("{base}/my/")).expect("a link");
    text[start..]
        .split_whitespace()
        .next()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_string()
}

both_backends!(myagency_email_sign_in_shows_only_the_persons_own, |app| {
    use crate::outreach_smtp::{SmtpSink, received};
    let (a, b) = (&app.a, &app.b);
    let port = free_port();
    let dir = tempfile::tempdir().unwrap();
    let _sink = SmtpSink::start(dir.path(), port);
    email_sender(&app, a.org, port).await;
    let (sa, sb) = (contact_survey(&app, a).await, contact_survey(&app, b).await);
    let (ka, kb) = (api_key(&app, a).await, api_key(&app, b).await);
    feedback(
        &app,
        a,
        &sa,
        &ka,
        "Ana@Example.org",
        "Ana waited an hour on the phone.",
        "Ana asked where her payment is.",
    )
    .await;
    feedback(
        &app,
        a,
        &sa,
        &ka,
        "bo@example.org",
        "Bo could not upload the form.",
        "Bo asked about a letter.",
    )
    .await;
    // Crisis language opens a case for each (the response writer's crisis rule): Ana sees hers, not Bo's.
    let ana_crisis = feedback(
        &app,
        a,
        &sa,
        &ka,
        "ana@example.org",
        "I lost my job, I can't pay rent, and I honestly don't see the point of living anymore.",
        "Ana again.",
    )
    .await;
    feedback(
        &app,
        a,
        &sa,
        &ka,
        "bo@example.org",
        "I don't know how much longer I can keep going like this. I want to end it.",
        "Bo again.",
    )
    .await;
    let cases = app
        .store
        .cases_linked_to(a.org, heard_domain::case::LinkKind::Response, ana_crisis)
        .await
        .unwrap();
    assert_eq!(cases.len(), 1, "a crisis case for Ana's response");
    let ana_case = cases[0].clone();
    // The same address in organization B.
    feedback(
        &app,
        b,
        &sb,
        &kb,
        "ana@example.org",
        "Ana told agency B about the office.",
        "Ana asked agency B a question.",
    )
    .await;

    // Nothing is shown before signing in; a wrong organization is the one 404.
    let (status, html) = page(&app, &format!("/my/{}", a.slug), "").await;
    assert_eq!(status, 200);
    assert!(
        html.contains("Email address or mobile phone number"),
        "{html}"
    );
    assert!(!html.contains("Ana waited"));
    assert_eq!(page(&app, "/my/no-such-agency", "").await.0, 404);
    // A field that is neither is named (422); the same answer for a known and an unknown address.
    let (status, html) = sign_in_form(&app, &a.slug, "not an address").await;
    assert_eq!(status, 422);
    assert!(
        html.contains("Email address or mobile phone number: Enter an email address"),
        "{html}"
    );
    let (known_status, known) = sign_in_form(&app, &a.slug, " ANA@example.org ").await;
    let (unknown_status, unknown) = sign_in_form(&app, &a.slug, "nobody@example.org").await;
    assert_eq!((known_status, unknown_status), (200, 200));
    assert_eq!(known, unknown, "no enumeration");
    assert!(known.contains("If this email address can receive mail"));
    // Only the link's hash is stored, and the address sealed: neither the address nor a token is in the job.
    let jobs = app.queued_jobs(a.org, LINK_KIND).await;
    assert_eq!(jobs.len(), 2);
    assert!(
        jobs.iter()
            .all(|j| !j.payload.to_string().contains("example.org"))
    );

    let w = worker(&app, "http://127.0.0.1:9");
    assert_eq!(w.run_pending_once().await.unwrap(), 2);
    let mail = received(dir.path(), 2);
    assert_eq!(mail.len(), 2);
    let to_ana = mail
        .iter()
        .find(|m| m["rcpt_tos"][0] == "ana@example.org")
        .expect("a letter to Ana's normalised address");
    assert_eq!(
        crate::outreach_smtp::header(to_ana, "Subject"),
        Some("Agency A: your link to sign in")
    );
    let token = link_in(to_ana["text"].as_str().unwrap(), &app.base);
    let cookie = open_link(&app, &a.slug, &token).await.expect("signed in");
    // Used once: the link no longer opens.
    assert!(
        open_link(&app, &a.slug, &token).await.is_none(),
        "single use"
    );
    // Nor in another organization.
    assert!(open_link(&app, &b.slug, &token).await.is_none());

    let (status, html) = page(&app, &format!("/my/{}", a.slug), &cookie).await;
    assert_eq!(status, 200);
    assert!(html.contains("Ana waited an hour on the phone."), "{html}");
    assert!(html.contains("Ana asked where her payment is."));
    assert!(html.contains("With contact"));
    for other in ["Bo could not", "Bo asked", "agency B"] {
        assert!(!html.contains(other), "{other} leaked");
    }
    let status_link = format!(
        "/status/{}",
        heard_server::status::status_token(&sealer(), ana_case.id)
    );
    assert!(html.contains(&status_link), "her case with its status link");
    assert!(html.contains(&format!("Case #{}", ana_case.number)));
    assert_eq!(
        html.matches("/status/").count(),
        1,
        "Bo's case is not listed"
    );
    assert!(!html.contains("Bo again"));
    // Her address is not printed back (contact answers are sealed, not shown).
    assert!(!html.to_lowercase().contains("ana@example.org"));

    // A's cookie opens nothing in B (the same address there is another person key), nor the admin.
    let (_, html_b) = page(&app, &format!("/my/{}", b.slug), &cookie).await;
    assert!(!html_b.contains("agency B") && html_b.contains("Send me a link"));
    let r = app
        .client
        .get(format!("{}/admin/o/{}", app.base, a.org))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303, "a person's cookie is no staff session");
    // A staff cookie opens no person page.
    let staff = app.sign_in(&a.admin_email).await;
    let (_, html) = page(&app, &format!("/my/{}", a.slug), &staff.cookie).await;
    assert!(html.contains("Send me a link") && !html.contains("Ana waited"));

    // In B, Ana sees B's only.
    let cookie_b = session_for(&app, b, "ana@example.org").await;
    let (_, html) = page(&app, &format!("/my/{}", b.slug), &cookie_b).await;
    assert!(html.contains("Ana told agency B about the office."));
    assert!(!html.contains("Ana waited") && !html.contains("payment"));

    // Preferences: saved per person; a bad value is named.
    let (_, html) = page(&app, &format!("/my/{}", a.slug), &cookie).await;
    let token = csrf(&html);
    let r = post(
        &app,
        &format!("/my/{}/preferences", a.slug),
        &cookie,
        &[("csrf", &token), ("contact", "sms"), ("language", "es")],
    )
    .await;
    assert_eq!(r.status(), 303);
    let p = app
        .store
        .my_preferences(a.org, &person_key(a.org, "ana@example.org"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!((p.contact.as_str(), p.language.as_str()), ("sms", "es"));
    let (_, html) = page(&app, &format!("/my/{}", a.slug), &cookie).await;
    assert!(
        html.contains("Sus respuestas a encuestas"),
        "the saved language"
    );
    let r = post(
        &app,
        &format!("/my/{}/preferences", a.slug),
        &cookie,
        &[("csrf", &token), ("contact", "pigeon"), ("language", "fr")],
    )
    .await;
    assert_eq!(r.status(), 422);
    let text = r.text().await.unwrap();
    assert!(
        text.contains("Choose how we may contact you")
            && text.contains("Choose English or Spanish."),
        "{text}"
    );
    // Without the session's CSRF token nothing changes.
    let r = post(
        &app,
        &format!("/my/{}/preferences", a.slug),
        &cookie,
        &[("csrf", "wrong"), ("contact", "none"), ("language", "en")],
    )
    .await;
    assert_eq!(r.status(), 404);
    // Bo has none.
    assert!(
        app.store
            .my_preferences(a.org, &person_key(a.org, "bo@example.org"))
            .await
            .unwrap()
            .is_none()
    );

    // Signing out ends the session.
    let r = post(
        &app,
        &format!("/my/{}/sign-out", a.slug),
        &cookie,
        &[("csrf", &token)],
    )
    .await;
    assert_eq!(r.status(), 303);
    let (_, html) = page(&app, &format!("/my/{}", a.slug), &cookie).await;
    assert!(
        !html.contains("Ana waited") && html.contains("Send me a link"),
        "{html}"
    );
    assert!(open_link(&app, &a.slug, &"A".repeat(43)).await.is_none());
});

both_backends!(myagency_sms_sign_in_links_expire_and_are_budgeted, |app| {
    let a = &app.a;
    let (twilio, fake) = crate::sms_send::fake_twilio().await;
    crate::sms_send::sender(&app, a.org, 10).await;
    let phone = "+12025550143";
    let phone_key = sealer()
        .person_key(a.org, &PersonId::phone("p", phone).unwrap())
        .0;
    // A callback Ana asked for with her number, about one of her responses.
    let survey = contact_survey(&app, a).await;
    let key = api_key(&app, a).await;
    let response = feedback(
        &app,
        a,
        &survey,
        &key,
        "ana@example.org",
        "Please call me.",
        "Call me back.",
    )
    .await;
    let now = heard_store::now_ms();
    let cb = app
        .store
        .request_callback(
            a.org,
            &NewCallback {
                case_id: None,
                response_id: Some(response),
                source: Source::ThankYou,
                phone_sealed: sealer().seal(phone),
                phone_key: phone_key.clone(),
                email_sealed: None,
                notify: Notify::None,
                language: "en".into(),
                window: Window {
                    start_ms: now + 86_400_000,
                    end_ms: now + 86_400_000 + 3 * 3_600_000,
                },
                confirmed_already: false,
            },
            now,
        )
        .await
        .unwrap();

    let (status, sent_page) = sign_in_form(&app, &a.slug, "(202) 555-0143").await;
    assert_eq!(status, 200);
    assert!(sent_page.contains("If this number can receive text messages"));
    let w = worker(&app, &twilio);
    assert_eq!(w.run_pending_once().await.unwrap(), 1);
    assert_eq!(fake.count(), 1);
    let form = fake.form(0);
    assert_eq!(crate::sms_send::get(&form, "To"), Some(phone));
    let body = crate::sms_send::get(&form, "Body").unwrap().to_string();
    assert!(body.starts_with("Agency A: use this link"), "{body}");
    let token = link_in(&body, &app.base);

    // Past 15 minutes the link opens nothing; within them it opens once.
    let later = heard_store::now_ms() + LINK_TTL_MS + 1;
    assert!(
        !app.store
            .my_link_usable(a.org, &sha256(token.as_bytes()), later)
            .await
            .unwrap()
    );
    assert!(
        app.store
            .sign_in_with_link(
                a.org,
                &sha256(token.as_bytes()),
                b"session-hash",
                "csrf",
                later
            )
            .await
            .unwrap()
            .is_none()
    );
    let cookie = open_link(&app, &a.slug, &token)
        .await
        .expect("within 15 minutes");
    let (_, html) = page(&app, &format!("/my/{}", a.slug), &cookie).await;
    let cb_link = format!(
        "/callback/{}",
        heard_server::callbacks::callback_token(&sealer(), cb.id)
    );
    assert!(html.contains(&cb_link), "the callback and its page: {html}");
    assert!(html.contains("phone number you signed in with"));
    // Her email's responses are another person key: not shown to the phone.
    assert!(!html.contains("Please call me."));
    // A session unused for 30 minutes ends (and is gone after).
    let session = cookie.split_once('=').unwrap().1;
    let hash = sha256(session.as_bytes());
    let idle = heard_store::now_ms() + heard_store::myagency::SESSION_IDLE_MS + 1;
    assert!(
        app.store
            .my_session(a.org, &hash, idle)
            .await
            .unwrap()
            .is_none()
    );
    let (_, html) = page(&app, &format!("/my/{}", a.slug), &cookie).await;
    assert!(html.contains("Send me a link") && !html.contains(&cb_link));
    // A wrong token is the one 404.
    assert!(open_link(&app, &a.slug, &"A".repeat(43)).await.is_none());

    // The address's budget: three links in 15 minutes (one sent above), the same answer after.
    for _ in 0..3 {
        let (status, again) = sign_in_form(&app, &a.slug, "202-555-0143").await;
        assert_eq!((status, again.as_str()), (200, sent_page.as_str()));
    }
    assert_eq!(
        app.queued_jobs(a.org, LINK_KIND).await.len(),
        2,
        "two more, then none"
    );
    // An organization that cannot text says so.
    let (status, html) = sign_in_form(&app, &app.b.slug, "2025550143").await;
    assert_eq!(status, 422);
    assert!(html.contains("We cannot send text messages yet"));
    // Withdrawing consent ends an SMS survey still going with the number, and its answers so far go.
    let sms_sender = app.store.sms_senders(a.org).await.unwrap()[0].id;
    let conversation = heard_server::sms_send::invite_sms(
        &app.store,
        &sealer(),
        &heard_server::sms_send::SmsInvite {
            org: a.org,
            sender: sms_sender,
            survey: a.survey.id,
            survey_version: None,
            phone: phone.into(),
            person_key: None,
            language: "en".into(),
            outreach: None,
        },
        heard_store::now_ms(),
    )
    .await
    .unwrap();
    let mut registry = JobRegistry::product();
    heard_server::sms_send::register(
        &mut registry,
        heard_server::sms_send::SmsJobs::new(
            Arc::new(heard_server::pipeline::Pipeline::new(&SECRET)),
            &app.base,
            Arc::new(TwilioHttp::new(&twilio)) as Arc<dyn SmsProvider>,
        ),
    );
    heard_server::myagency::register(
        &mut registry,
        MyJobs::new(
            &SECRET,
            &app.base,
            Arc::new(TwilioHttp::new(&twilio)) as Arc<dyn SmsProvider>,
        ),
    );
    let w = Worker::new(app.store.clone(), registry, Default::default());
    w.run_due_by(heard_store::now_ms() + 120_000).await.unwrap();
    let conv = app
        .store
        .sms_conversation(a.org, conversation)
        .await
        .unwrap()
        .expect("started");
    assert_eq!((conv.step.as_str(), conv.ended.as_deref()), ("trust", None));
    app.store
        .request_my_deletion(
            a.org,
            &phone_key,
            &heard_server::myagency::person_ref(&phone_key),
            LinkChannel::Sms,
            heard_store::now_ms(),
        )
        .await
        .unwrap();
    w.run_due_by(heard_store::now_ms() + 120_000).await.unwrap();
    let conv = app
        .store
        .sms_conversation(a.org, conversation)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (conv.step.as_str(), conv.ended.as_deref()),
        ("done", Some("stale"))
    );
    assert!(conv.answers_sealed.is_none());
    // The number is opted out of texts, as STOP would.
    assert!(app.store.sms_opted_out(a.org, &phone_key).await.unwrap());
    // Her callback (asked with the number) is called off too.
    let cb = app.store.callback(a.org, cb.id).await.unwrap();
    assert_eq!(cb.state(), heard_domain::callback::CallbackState::Cancelled);
});

both_backends!(myagency_deletion_keeps_rollups_and_is_idempotent, |app| {
    let a = &app.a;
    let survey = contact_survey(&app, a).await;
    let key = api_key(&app, a).await;
    let ana = feedback(
        &app,
        a,
        &survey,
        &key,
        "ana@example.org",
        "The payment office never answered my letters.",
        "Where is my payment?",
    )
    .await;
    let bo = feedback(
        &app,
        a,
        &survey,
        &key,
        "bo@example.org",
        "The payment arrived late again.",
        "Bo's payment question.",
    )
    .await;
    let now = heard_store::now_ms();
    let cb = app
        .store
        .request_callback(
            a.org,
            &NewCallback {
                case_id: None,
                response_id: Some(ana),
                source: Source::ThankYou,
                phone_sealed: sealer().seal("+12025550143"),
                phone_key: "someone".into(),
                email_sealed: None,
                notify: Notify::None,
                language: "en".into(),
                window: Window {
                    start_ms: now + 86_400_000,
                    end_ms: now + 86_400_000 + 3 * 3_600_000,
                },
                confirmed_already: false,
            },
            now,
        )
        .await
        .unwrap();
    let all = RollupScope {
        survey: None,
        service: None,
        from_day: -100_000,
        to_day: 100_000,
    };
    let responses_counted = |days: Vec<heard_domain::rollup::ResponseDay>| {
        days.iter().map(|d| d.counts.responses).sum::<u64>()
    };
    let hour = 3_600_000;
    let weeks = [((now / hour - 24 * 30) * hour, (now / hour + 24) * hour)];
    let rolled = (
        responses_counted(app.store.response_days(a.org, &all).await.unwrap()),
        app.store
            .theme_weeks(a.org, &CommentFilter::default(), &weeks)
            .await
            .unwrap(),
    );
    assert_eq!(rolled.0, 2);
    assert_eq!(
        rolled.1.0.iter().map(|w| w.items).sum::<i64>(),
        4,
        "two responses' and two signals' comments"
    );
    let search = |q: &'static str| {
        let store = app.store.clone();
        async move {
            store
                .search_comments(
                    a.org,
                    &SearchQuery::parse(q),
                    &CommentFilter::default(),
                    None,
                    50,
                )
                .await
                .unwrap()
                .matches
        }
    };
    assert_eq!(search("payment").await, 4);

    let cookie = session_for(&app, a, "ana@example.org").await;
    let (status, html) = page(&app, &format!("/my/{}/delete", a.slug), &cookie).await;
    assert_eq!(status, 200);
    assert!(html.contains("This cannot be undone"));
    let token = csrf(&html);
    // Without the CSRF token: refused, nothing queued.
    assert_eq!(
        post(
            &app,
            &format!("/my/{}/delete", a.slug),
            &cookie,
            &[("csrf", "x")]
        )
        .await
        .status(),
        404
    );
    assert!(app.queued_jobs(a.org, DELETE_KIND).await.is_empty());
    // Without a session: refused.
    assert_eq!(
        post(
            &app,
            &format!("/my/{}/delete", a.slug),
            "",
            &[("csrf", &token)]
        )
        .await
        .status(),
        404
    );
    let r = post(
        &app,
        &format!("/my/{}/delete", a.slug),
        &cookie,
        &[("csrf", &token)],
    )
    .await;
    assert_eq!(r.status(), 303);
    // Asking twice makes one request.
    post(
        &app,
        &format!("/my/{}/delete", a.slug),
        &cookie,
        &[("csrf", &token)],
    )
    .await;
    let jobs = app.queued_jobs(a.org, DELETE_KIND).await;
    assert_eq!(jobs.len(), 1);
    let (_, html) = page(&app, &format!("/my/{}", a.slug), &cookie).await;
    assert!(html.contains("We are deleting your feedback now"), "{html}");

    let w = worker(&app, "http://127.0.0.1:9");
    w.run_pending_once().await.unwrap();
    assert!(app.queued_jobs(a.org, DELETE_KIND).await.is_empty());
    // Ana's rows are gone; Bo's are not.
    assert!(
        app.store
            .response(a.org, ana.to_string().parse().unwrap())
            .await
            .is_err()
    );
    assert!(
        app.store
            .response(a.org, bo.to_string().parse().unwrap())
            .await
            .is_ok()
    );
    assert!(
        app.store
            .my_responses(a.org, &person_key(a.org, "ana@example.org"))
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        app.store
            .my_signals(a.org, &person_key(a.org, "ana@example.org"))
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        app.store
            .my_signals(a.org, &person_key(a.org, "bo@example.org"))
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(search("payment").await, 2, "the search rows went with them");
    assert_eq!(search("letters").await, 0);
    // The callback about her response is called off.
    let cb = app.store.callback(a.org, cb.id).await.unwrap();
    assert_eq!(cb.state(), heard_domain::callback::CallbackState::Cancelled);
    // Every figure stays.
    assert_eq!(
        responses_counted(app.store.response_days(a.org, &all).await.unwrap()),
        rolled.0
    );
    assert_eq!(
        app.store
            .theme_weeks(a.org, &CommentFilter::default(), &weeks)
            .await
            .unwrap(),
        rolled.1
    );

    // Her address gets no more survey invitations; Bo's still does.
    assert!(
        app.store
            .email_suppression(a.org, &person_key(a.org, "ana@example.org"))
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        app.store
            .email_suppression(a.org, &person_key(a.org, "bo@example.org"))
            .await
            .unwrap()
            .is_none()
    );
    // The person is told; the audit has counts and a short hash, never the key.
    let (_, html) = page(&app, &format!("/my/{}", a.slug), &cookie).await;
    assert!(
        html.contains(
            "we deleted 1 survey answers and 1 reports or messages, and called off 1 call backs"
        ),
        "{html}"
    );
    assert!(!html.contains("The payment office"));
    let audit = app.store.my_deletions(a.org, 10).await.unwrap();
    assert_eq!(audit.len(), 1);
    let d = &audit[0];
    assert_eq!((d.responses, d.signals, d.callbacks_cancelled), (1, 1, 1));
    assert!(d.finished_at.is_some());
    let pk = person_key(a.org, "ana@example.org");
    assert_eq!(d.person_ref, heard_server::myagency::person_ref(&pk));
    assert!(!pk.contains(&d.person_ref));
    let staff = app.sign_in(&a.admin_email).await;
    let r = app
        .get(&staff, &format!("/admin/o/{}/my-deletions", a.org))
        .await;
    assert_eq!(r.status(), 200);
    let admin = r.text().await.unwrap();
    assert!(
        admin.contains(&d.person_ref) && !admin.contains(&pk),
        "{admin}"
    );
    // Another organization's admin sees none of it.
    let staff_b = app.sign_in(&app.b.admin_email).await;
    let r = app
        .get(&staff_b, &format!("/admin/o/{}/my-deletions", a.org))
        .await;
    assert_eq!(r.status(), 404);
    assert!(
        app.store
            .my_deletions(app.b.org, 10)
            .await
            .unwrap()
            .is_empty()
    );

    // Idempotent: the job's effect again deletes nothing and leaves the audit as it was.
    let again = app
        .store
        .delete_person_feedback(a.org, d.id, &pk, None, heard_store::now_ms())
        .await
        .unwrap();
    assert_eq!(again, Default::default());
    let after = app.store.my_deletion(a.org, d.id).await.unwrap().unwrap();
    assert_eq!(
        (after.finished_at, after.responses, after.signals),
        (d.finished_at, 1, 1)
    );
    assert_eq!(
        app.store
            .theme_weeks(a.org, &CommentFilter::default(), &weeks)
            .await
            .unwrap(),
        rolled.1
    );
});

/// Behind an https public address the person's cookie is `__Secure-heard_my` and `Secure`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn myagency_cookie_is_secure_behind_https() {
    let port = free_port();
    let mut app = crate::support::spawn_app_with(crate::support::Backend::Sqlite, |c| {
        c.addr = format!("127.0.0.1:{port}").parse().unwrap();
        c.public_url = Some("https://feedback.example.gov".into());
    })
    .await;
    // Requests go to the listener; links and cookies follow the public address.
    app.base = format!("http://127.0.0.1:{port}");
    let cookie = session_for(&app, &app.a, "ana@example.org").await;
    assert!(cookie.starts_with("__Secure-heard_my="), "{cookie}");
    // Over plain http (every other test) the cookie is `heard_my`, without `Secure`.
}

/// With the server's limits on, one address gets a burst of ten sign-ins and wrong links, then 429.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn myagency_sign_ins_are_limited_per_address() {
    let app = crate::support::spawn_app_with(crate::support::Backend::Sqlite, |c| {
        c.submissions_per_minute = 600;
    })
    .await;
    let mut statuses = vec![];
    for i in 0..12 {
        let (status, _) = sign_in_form(&app, &app.a.slug, &format!("person{i}@example.org")).await;
        statuses.push(status);
    }
    // Tenant A has no email sender: each is answered 422 until the budget is spent.
    assert!(statuses[..10].iter().all(|s| *s == 422), "{statuses:?}");
    assert_eq!(statuses[10..], [429, 429], "{statuses:?}");
    // A wrong link from the same address is limited too.
    let r = app
        .client
        .post(format!(
            "{}/my/{}/link/{}",
            app.base,
            app.a.slug,
            "A".repeat(43)
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429);
}
