//! The SMS webhook (issue 20, items 2, 3 and 7), on both backends: requests signed as Twilio signs them (by Twilio's
//! own Python SDK for one case, by `heard_channels::sms::sign` for the rest); a missing or wrong signature is 403 and
//! stores nothing; a replayed MessageSid is a no-op; consent keywords first, logged with time and message; the
//! conversation in English and Spanish ending in one response through the pipeline; status callbacks.

use heard_channels::sms::{SignatureAlgorithm, sign};
use heard_domain::identity::PersonId;
use heard_server::crypto::Sealer;
use heard_store::sms::{NewSmsConversation, NewSmsSender, OutboundSms};

use crate::both_backends;
use crate::support::TestApp;

const TOKEN: &str = "twilio-auth-token-0123";
const PHONE: &str = "+12025550143";

struct Setup {
    sender: uuid::Uuid,
    phone_key: String,
}

async fn setup(app: &TestApp) -> Setup {
    let sealer = Sealer::new(&[9u8; 32]);
    let org = app.a.org;
    let sender = app
        .store
        .create_sms_sender(
            org,
            &NewSmsSender {
                phone_number: "+15005550006".into(),
                account_sid: "AC0123".into(),
                auth_token_sealed: sealer.seal(TOKEN),
                help_contact: "1-800-555-0100".into(),
            },
            1_000,
        )
        .await
        .unwrap();
    let phone_key = sealer
        .person_key(org, &PersonId::phone("p", PHONE).unwrap())
        .0;
    app.store
        .start_sms_conversation(
            org,
            &NewSmsConversation {
                sender_id: sender,
                phone_key: phone_key.clone(),
                phone_sealed: sealer.seal(PHONE),
                person_key: phone_key.clone(),
                survey_id: app.a.survey.id,
                survey_version: app.a.survey.published_version.unwrap(),
                lang: "en".into(),
                // Tenant A's survey asks trust with thumbs: YES or NO.
                scale: "yes_no".into(),
            },
            2_000,
        )
        .await
        .unwrap();
    Setup { sender, phone_key }
}

fn form(sid: &str, body: &str) -> Vec<(String, String)> {
    [
        ("MessageSid", sid),
        ("SmsSid", sid),
        ("AccountSid", "AC0123"),
        ("From", PHONE),
        ("To", "+15005550006"),
        ("Body", body),
        ("NumSegments", "1"),
        ("NumMedia", "0"),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect()
}

async fn post_signed(
    app: &TestApp,
    path: &str,
    params: &[(String, String)],
    headers: &[(&str, String)],
) -> (u16, String) {
    let mut req = app
        .client
        .post(format!("{}{path}", app.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(
            form_urlencoded::Serializer::new(String::new())
                .extend_pairs(params)
                .finish(),
        );
    for (k, v) in headers {
        req = req.header(*k, v);
    }
    let resp = req.send().await.unwrap();
    (resp.status().as_u16(), resp.text().await.unwrap())
}

async fn text(app: &TestApp, s: &Setup, sid: &str, body: &str) -> (u16, String) {
    let path = format!("/hooks/sms/{}", s.sender);
    let params = form(sid, body);
    let sig = sign(
        SignatureAlgorithm::HmacSha1,
        TOKEN,
        &format!("{}{path}", app.base),
        &params,
    );
    post_signed(app, &path, &params, &[("x-twilio-signature", sig)]).await
}

fn message(twiml: &str) -> &str {
    twiml
        .split_once("<Message>")
        .and_then(|(_, r)| r.split_once("</Message>"))
        .map(|(m, _)| m)
        .unwrap_or("")
}

both_backends!(sms_webhook_signatures, |app| {
    let s = setup(&app).await;
    let org = app.a.org;
    let path = format!("/hooks/sms/{}", s.sender);
    let params = form("SMbad", "YES");
    let url = format!("{}{path}", app.base);
    // Missing, wrong token, wrong URL, unknown algorithm, unknown sender: 403, nothing stored.
    assert_eq!(post_signed(&app, &path, &params, &[]).await.0, 403);
    let wrong = sign(SignatureAlgorithm::HmacSha1, "other", &url, &params);
    assert_eq!(
        post_signed(&app, &path, &params, &[("x-twilio-signature", wrong)])
            .await
            .0,
        403
    );
    let elsewhere = sign(
        SignatureAlgorithm::HmacSha1,
        TOKEN,
        "https://example.gov/hooks/sms/x",
        &params,
    );
    assert_eq!(
        post_signed(&app, &path, &params, &[("x-twilio-signature", elsewhere)])
            .await
            .0,
        403
    );
    let good = sign(SignatureAlgorithm::HmacSha1, TOKEN, &url, &params);
    let odd = [
        ("x-twilio-signature", good.clone()),
        (
            "x-twilio-webhooks-signature-settings",
            "algorithm=HMAC_MD5".into(),
        ),
    ];
    assert_eq!(post_signed(&app, &path, &params, &odd).await.0, 403);
    let other_sender = format!("/hooks/sms/{}", uuid::Uuid::now_v7());
    assert_eq!(
        post_signed(
            &app,
            &other_sender,
            &params,
            &[("x-twilio-signature", good)]
        )
        .await
        .0,
        403
    );
    assert_eq!(app.store.sms_message_count(org).await.unwrap(), 0);

    // HMAC-SHA256, named by the settings header, is accepted.
    let sha256 = sign(SignatureAlgorithm::HmacSha256, TOKEN, &url, &params);
    let h = [
        ("x-twilio-signature", sha256),
        (
            "x-twilio-webhooks-signature-settings",
            "key=k1,algorithm=HMAC_SHA256".to_string(),
        ),
    ];
    let (status, body) = post_signed(&app, &path, &params, &h).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(app.store.sms_message_count(org).await.unwrap(), 1);

    // Twilio's own SDK signs a HELP message (SHA-1, and SHA-256 with its header).
    let python = std::process::Command::new("bash")
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../scripts/sms-venv.sh"
        ))
        .output()
        .expect("scripts/sms-venv.sh runs");
    assert!(
        python.status.success(),
        "{}",
        String::from_utf8_lossy(&python.stderr)
    );
    let python = String::from_utf8(python.stdout).unwrap().trim().to_string();
    for (sid, algorithm) in [("SMsdk1", "HMAC_SHA1"), ("SMsdk2", "HMAC_SHA256")] {
        let params = form(sid, "HELP");
        let pairs: Vec<[&str; 2]> = params
            .iter()
            .map(|(a, b)| [a.as_str(), b.as_str()])
            .collect();
        let script = "import json, sys\nfrom twilio.request_validator import RequestValidator\n\
                      url, params, alg = sys.argv[1], dict(json.loads(sys.argv[2])), sys.argv[3]\n\
                      print(RequestValidator(sys.argv[4]).compute_signature(url, params, alg))";
        let out = std::process::Command::new(&python)
            .args([
                "-c",
                script,
                &url,
                &serde_json::to_string(&pairs).unwrap(),
                algorithm,
                TOKEN,
            ])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let sig = String::from_utf8(out.stdout).unwrap().trim().to_string();
        let mut h = vec![("x-twilio-signature", sig)];
        if algorithm == "HMAC_SHA256" {
            h.push((
                "x-twilio-webhooks-signature-settings",
                format!("key=k1,algorithm={algorithm}"),
            ));
        }
        let (status, body) = post_signed(&app, &path, &params, &h).await;
        assert_eq!(status, 200, "{algorithm}: {body}");
        assert!(message(&body).contains("1-800-555-0100"), "{body}");
    }
});

both_backends!(sms_webhook_conversation, |app| {
    let s = setup(&app).await;
    let org = app.a.org;
    // Nonsense, re-prompted; then YES.
    let (status, body) = text(&app, &s, "SM1", "maybe").await;
    assert_eq!(status, 200);
    assert!(body.starts_with("<?xml"), "{body}");
    assert_eq!(message(&body), "Please reply YES or NO.");
    let (_, body) = text(&app, &s, "SM2", "yes").await;
    assert!(message(&body).starts_with("What went well"), "{body}");
    // The same MessageSid again: nothing happens, nothing is answered.
    let (status, body) = text(&app, &s, "SM2", "yes").await;
    assert_eq!((status, message(&body)), (200, ""));
    assert!(body.ends_with("<Response/>"), "{body}");
    // The person switches to Spanish and the question is asked again in Spanish.
    let (_, body) = text(&app, &s, "SM3", "ESPAÑOL").await;
    assert!(message(&body).starts_with("¿Qué salió bien"), "{body}");
    let (_, body) = text(&app, &s, "SM4", "Rápido & amable <3").await;
    assert!(message(&body).starts_with("¿Algo más"), "{body}");
    // The answer is nothing until the conversation ends: then one response, in Spanish, by SMS.
    let key = |c: &str| format!("sms:{c}");
    let conv = app
        .store
        .latest_sms_conversation(org, s.sender, &s.phone_key)
        .await
        .unwrap()
        .unwrap();
    assert!(
        app.store
            .response_by_key(org, app.a.survey.id, &key(&conv.id.to_string()))
            .await
            .unwrap()
            .is_none()
    );
    let (_, body) = text(&app, &s, "SM5", "Nada más, gracias").await;
    assert_eq!(message(&body), "Gracias por su opinión.");
    let id = app
        .store
        .response_by_key(org, app.a.survey.id, &key(&conv.id.to_string()))
        .await
        .unwrap()
        .expect("the conversation's response");
    let r = app.store.response(org, id).await.unwrap();
    // It carries the conversation's person key (an invitation's), so it links to the person's other feedback.
    assert_eq!(
        app.store.response_person_key(org, id).await.unwrap(),
        Some(s.phone_key.clone())
    );
    assert_eq!(
        (
            r.channel.as_str(),
            r.language.as_str(),
            r.trust,
            r.trust_positive
        ),
        ("sms_text_messages", "es", Some(1), Some(true))
    );
    assert_eq!(r.survey_version, app.a.survey.published_version.unwrap());
    let comment = serde_json::to_value(&r.answers).unwrap()["comment"].clone();
    assert_eq!(
        comment,
        serde_json::json!("Rápido & amable <3\n\nNada más, gracias")
    );
    // A message after the end is recorded and not answered.
    let (_, body) = text(&app, &s, "SM6", "hola?").await;
    assert_eq!(message(&body), "");
    assert_eq!(app.store.sms_message_count(org).await.unwrap(), 6);
});

both_backends!(sms_webhook_consent, |app| {
    let s = setup(&app).await;
    let org = app.a.org;
    let (_, body) = text(&app, &s, "SM1", "Stop").await;
    assert!(message(&body).contains("unsubscribed"), "{body}");
    assert!(message(&body).starts_with("Agency A"), "{body}");
    assert!(app.store.sms_opted_out(org, &s.phone_key).await.unwrap());
    // Opted out: a survey answer gets no reply and moves nothing; HELP is still answered.
    let (_, body) = text(&app, &s, "SM2", "yes").await;
    assert_eq!(message(&body), "");
    let conv = app
        .store
        .latest_sms_conversation(org, s.sender, &s.phone_key)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(conv.step, "trust");
    let (_, body) = text(&app, &s, "SM3", "AYUDA").await;
    assert!(
        message(&body).contains("1-800-555-0100") && message(&body).contains("PARAR"),
        "{body}"
    );
    let (_, body) = text(&app, &s, "SM4", "start").await;
    assert!(message(&body).contains("subscribed again"), "{body}");
    assert!(!app.store.sms_opted_out(org, &s.phone_key).await.unwrap());
    let (_, body) = text(&app, &s, "SM5", "PARAR").await;
    assert!(message(&body).contains("Se canceló"), "{body}");
    let log: Vec<(String, String, Option<String>)> = app
        .store
        .sms_consent_log(org, &s.phone_key)
        .await
        .unwrap()
        .into_iter()
        .map(|e| (e.action, e.keyword, e.provider_message_id))
        .collect();
    let want = |a: &str, k: &str, m: &str| (a.to_string(), k.to_string(), Some(m.to_string()));
    assert_eq!(
        log,
        vec![
            want("opt_out", "STOP", "SM1"),
            want("opt_in", "START", "SM4"),
            want("opt_out", "PARAR", "SM5")
        ]
    );

    // Status callbacks move a message's delivery state forward only.
    app.store
        .record_outbound_sms(
            org,
            &OutboundSms {
                sender_id: s.sender,
                conversation_id: None,
                provider_message_id: Some("SMout".into()),
                status: "queued".into(),
                segments: 1,
                now: 3_000,
            },
        )
        .await
        .unwrap();
    let path = format!("/hooks/sms/{}/status", s.sender);
    for (st, want) in [
        ("sent", "sent"),
        ("delivered", "delivered"),
        ("sending", "delivered"),
    ] {
        let params: Vec<(String, String)> = [
            ("MessageSid", "SMout"),
            ("MessageStatus", st),
            ("AccountSid", "AC0123"),
        ]
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
        let sig = sign(
            SignatureAlgorithm::HmacSha1,
            TOKEN,
            &format!("{}{path}", app.base),
            &params,
        );
        let (status, _) = post_signed(&app, &path, &params, &[("x-twilio-signature", sig)]).await;
        assert_eq!(status, 204);
        assert_eq!(
            app.store
                .sms_message_status(org, "SMout")
                .await
                .unwrap()
                .as_deref(),
            Some(want)
        );
    }
    let params: Vec<(String, String)> = vec![
        ("MessageSid".into(), "SMout".into()),
        ("MessageStatus".into(), "failed".into()),
    ];
    assert_eq!(
        post_signed(
            &app,
            &path,
            &params,
            &[("x-twilio-signature", "AAAA".into())]
        )
        .await
        .0,
        403
    );
    assert_eq!(
        app.store
            .sms_message_status(org, "SMout")
            .await
            .unwrap()
            .as_deref(),
        Some("delivered")
    );
});

both_backends!(sms_crisis_reply_gives_the_lifeline, |app| {
    let s = setup(&app).await;
    text(&app, &s, "SMC1", "no").await;
    text(&app, &s, "SMC2", "They cut my benefits").await;
    let (status, body) = text(
        &app,
        &s,
        "SMC3",
        "I lost my job, I can't pay rent, and I honestly don't see the point of living anymore.",
    )
    .await;
    assert_eq!(status, 200);
    // Two messages: the thanks, then the 988 Lifeline with the case's status page.
    assert_eq!(body.matches("<Message>").count(), 2, "{body}");
    assert!(body.contains("call or text 988"), "{body}");
    assert!(body.contains("/status/"), "{body}");
    let cases = app
        .store
        .cases(
            app.a.org,
            &heard_store::cases::CaseQuery {
                queue: heard_store::cases::Queue::Open,
                status: None,
                priority: None,
                limit: 5,
            },
        )
        .await
        .unwrap();
    assert_eq!(cases.len(), 1);
    assert_eq!(cases[0].source, heard_domain::case::CaseSource::Crisis);
});

both_backends!(sms_call_books_a_call_back, |app| {
    let s = setup(&app).await;
    // The organization offers a call back after a negative answer.
    let admin = app.store.user_by_email(&app.a.admin_email).await.unwrap();
    let mut settings = app.store.case_settings(app.a.org).await.unwrap();
    settings.callbacks.offer = heard_domain::callback::Offer::AfterNegative;
    app.store
        .save_case_settings(app.a.org, &settings, admin.id)
        .await
        .unwrap();
    // CALL before any survey ended books nothing.
    text(&app, &s, "SMK1", "no").await;
    text(&app, &s, "SMK2", "They lost my form").await;
    let (_, body) = text(&app, &s, "SMK3", "Please fix it").await;
    assert_eq!(body.matches("<Message>").count(), 2, "{body}");
    assert!(body.contains("Reply CALL"), "{body}");
    let (status, body) = text(&app, &s, "SMK4", "Call me!").await;
    assert_eq!(status, 200);
    assert!(
        message(&body).contains("We will call you at this number") && body.contains("/callback/"),
        "{body}"
    );
    let cb = app
        .store
        .callbacks_of_person(app.a.org, &s.phone_key)
        .await
        .unwrap();
    assert_eq!(cb.len(), 1);
    assert_eq!(cb[0].source.0, heard_domain::callback::Source::Sms);
    assert_eq!(cb[0].notify.0, heard_domain::callback::Notify::Sms);
    // The reply was the confirmation: only the reminder (if the window is far enough off) is queued.
    let queued = app
        .queued_jobs(app.a.org, heard_store::callbacks::MESSAGE_KIND)
        .await;
    assert!(
        queued.iter().all(|j| j.payload["kind"] == "reminder"),
        "{queued:?}"
    );
    // CALL again keeps the one callback.
    text(&app, &s, "SMK5", "call").await;
    assert_eq!(
        app.store
            .callbacks_of_person(app.a.org, &s.phone_key)
            .await
            .unwrap()
            .len(),
        1
    );
});
