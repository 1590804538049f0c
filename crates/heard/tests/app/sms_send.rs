//! Outbound SMS against a fake Twilio on loopback (issue 20, items 2, 3 and 7), on both backends: the Messages API
//! request as Twilio documents it (form POST to /2010-04-01/Accounts/{sid}/Messages.json, basic auth, StatusCallback),
//! the message recorded with its provider id and segments, an opted-out number never sent to (checked at send
//! time), a refusal and a provider that is down told apart.

use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use base64::Engine as _;
use heard_domain::identity::PersonId;
use heard_server::crypto::Sealer;
use heard_server::sms_send::{
    SendError, SendOutcome, SendPathError, TwilioHttp, send_in_conversation,
};
use heard_store::sms::{InboundEffect, InboundSms, NewSmsConversation, NewSmsSender};

use crate::both_backends;

/// One request the fake received: account from the path, the Authorization header, the form's pairs.
type Seen = (String, String, Vec<(String, String)>);

#[derive(Clone, Default)]
struct Fake {
    seen: Arc<Mutex<Vec<Seen>>>,
}

/// A small fake of Twilio's Messages API: records (account, authorization, form); answers 201 with a sid, or 400
/// with Twilio's error shape for `To` = +15005550001 (Twilio's test number "invalid").
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
    let to = form
        .iter()
        .find(|(k, _)| k == "To")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
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
    (
        StatusCode::CREATED,
        axum::Json(serde_json::json!({"sid": format!("SMfake{n}"), "status": "queued"})),
    )
}

async fn fake_twilio() -> (String, Fake) {
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

both_backends!(sms_send_fake_provider, |app| {
    let (base, fake) = fake_twilio().await;
    let provider = TwilioHttp::new(&base);
    let sealer = Sealer::new(&[9u8; 32]);
    let org = app.a.org;
    let sender = app
        .store
        .create_sms_sender(
            org,
            &NewSmsSender {
                phone_number: "+15005550006".into(),
                account_sid: "AC0123".into(),
                auth_token_sealed: sealer.seal("tok"),
                help_contact: "1-800-555-0100".into(),
            },
            1_000,
        )
        .await
        .unwrap();
    let start = |phone: &'static str| {
        let store = app.store.clone();
        let sealer = Sealer::new(&[9u8; 32]);
        let survey = app.a.survey.id;
        async move {
            let phone_key = sealer
                .person_key(org, &PersonId::phone("p", phone).unwrap())
                .0;
            store
                .start_sms_conversation(
                    org,
                    &NewSmsConversation {
                        sender_id: sender,
                        phone_key: phone_key.clone(),
                        phone_sealed: sealer.seal(phone),
                        person_key: phone_key.clone(),
                        survey_id: survey,
                        survey_version: 1,
                        lang: "es".into(),
                        scale: "yes_no".into(),
                    },
                    2_000,
                )
                .await
                .unwrap();
            store
                .latest_sms_conversation(org, sender, &phone_key)
                .await
                .unwrap()
                .unwrap()
        }
    };
    let conv = start("+12025550143").await;
    let body = "¿Confía en la agencia? Responda SÍ o NO.";
    let out = send_in_conversation(&app.store, &sealer, &provider, org, &conv, body, &app.base)
        .await
        .unwrap();
    let SendOutcome::Sent { sid, .. } = out else {
        panic!("{out:?}")
    };
    assert_eq!(sid, "SMfake1");
    {
        let seen = fake.seen.lock().unwrap();
        let (account, auth, form) = &seen[0];
        assert_eq!(account, "AC0123");
        let basic = base64::engine::general_purpose::STANDARD.encode("AC0123:tok");
        assert_eq!(auth, &format!("Basic {basic}"));
        let get = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        assert_eq!(get("To"), Some("+12025550143"));
        assert_eq!(get("From"), Some("+15005550006"));
        assert_eq!(get("Body"), Some(body));
        assert_eq!(
            get("StatusCallback"),
            Some(format!("{}/hooks/sms/{sender}/status", app.base).as_str())
        );
    }
    assert_eq!(
        app.store
            .sms_message_status(org, "SMfake1")
            .await
            .unwrap()
            .as_deref(),
        Some("queued")
    );

    // Opted out after the invitation: held at send time, nothing reaches the provider.
    app.store
        .apply_inbound_sms(
            org,
            &InboundSms {
                sender_id: sender,
                provider_message_id: "SMin1".into(),
                conversation_id: Some(conv.id),
                segments: Some(1),
                effect: InboundEffect::OptOut {
                    phone_key: conv.phone_key.clone(),
                    keyword: "STOP".into(),
                },
                now: 3_000,
            },
        )
        .await
        .unwrap();
    let out = send_in_conversation(&app.store, &sealer, &provider, org, &conv, body, &app.base)
        .await
        .unwrap();
    assert_eq!(out, SendOutcome::HeldOptedOut);
    assert_eq!(fake.seen.lock().unwrap().len(), 1);

    // A refusal is told from an outage; neither records a message.
    let bad = start("+15005550001").await;
    match send_in_conversation(&app.store, &sealer, &provider, org, &bad, body, &app.base).await {
        Err(SendPathError::Provider(SendError::Refused {
            status: 400,
            code: Some(21211),
            ..
        })) => {}
        other => panic!("{other:?}"),
    }
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let down = TwilioHttp::new(&format!("http://{closed}"));
    let other = start("+12025550144").await;
    match send_in_conversation(&app.store, &sealer, &down, org, &other, body, &app.base).await {
        Err(SendPathError::Provider(SendError::Unavailable(_))) => {}
        other => panic!("{other:?}"),
    }
    // Messages: the one sent, and the inbound STOP.
    assert_eq!(app.store.sms_message_count(org).await.unwrap(), 2);
});
