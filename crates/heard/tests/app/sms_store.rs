//! The SMS store (issue 20, items 2, 3 and 7), on both backends: senders with sealed tokens found by id, a
//! conversation's state surviving in the database, a replayed provider message id changing nothing, consent changes
//! logged with their time and message, the opt-out state, delivery states that only move forward, and tenancy.

use heard_store::sms::{
    ConversationUpdate, InboundEffect, InboundOutcome, InboundSms, NewSmsConversation,
    NewSmsSender, OutboundSms,
};

use crate::both_backends;

both_backends!(sms_store_round_trip, |app| {
    let store = &app.store;
    let org = app.a.org;
    let sealer = heard_server::crypto::Sealer::new(&[9u8; 32]);
    let sender = store
        .create_sms_sender(
            org,
            &NewSmsSender {
                phone_number: "+15005550006".into(),
                account_sid: "AC0123".into(),
                auth_token_sealed: sealer.seal("token-1"),
                help_contact: "1-800-555-0100".into(),
            },
            1_000,
        )
        .await
        .unwrap();
    let found = store.sms_sender(sender).await.unwrap().unwrap();
    assert_eq!(found.org_id, *org.as_uuid());
    assert_eq!(
        sealer.open(&found.auth_token_sealed).as_deref(),
        Some("token-1")
    );
    assert!(
        store
            .sms_sender(uuid::Uuid::now_v7())
            .await
            .unwrap()
            .is_none()
    );

    let phone_key = "pk-phone-1".to_string();
    let conv = store
        .start_sms_conversation(
            org,
            &NewSmsConversation {
                sender_id: sender,
                phone_key: phone_key.clone(),
                phone_sealed: sealer.seal("+15551230000"),
                person_key: phone_key.clone(),
                survey_id: app.a.survey.id,
                survey_version: 1,
                lang: "en".into(),
                scale: "one_to_five".into(),
            },
            2_000,
        )
        .await
        .unwrap();
    let c = store
        .latest_sms_conversation(org, sender, &phone_key)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (c.id, c.step.as_str(), c.lang.as_str(), c.reprompts),
        (conv, "trust", "en", 0)
    );

    // A reply moves the conversation; the same MessageSid again changes nothing.
    let reply = |sid: &str, effect: InboundEffect, now: i64| InboundSms {
        sender_id: sender,
        provider_message_id: sid.into(),
        conversation_id: Some(conv),
        segments: Some(1),
        effect,
        now,
    };
    let update = |step: &str, lang: &str| {
        InboundEffect::Conversation(ConversationUpdate {
            id: conv,
            step: step.into(),
            lang: lang.into(),
            reprompts: 0,
            answers_sealed: Some(sealer.seal("{\"trust\":4}")),
        })
    };
    assert_eq!(
        store
            .apply_inbound_sms(org, &reply("SM1", update("what_happened", "en"), 3_000))
            .await
            .unwrap(),
        InboundOutcome::Applied
    );
    assert_eq!(
        store
            .apply_inbound_sms(org, &reply("SM1", update("done", "es"), 3_500))
            .await
            .unwrap(),
        InboundOutcome::Replayed
    );
    let c = store
        .latest_sms_conversation(org, sender, &phone_key)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (c.step.as_str(), c.lang.as_str(), c.updated_at),
        ("what_happened", "en", 3_000)
    );
    assert_eq!(
        sealer.open(c.answers_sealed.as_ref().unwrap()).as_deref(),
        Some("{\"trust\":4}")
    );
    assert_eq!(store.sms_message_count(org).await.unwrap(), 1);

    // STOP, its replay, then START: logged once each, with time and message; the state follows.
    let stop = InboundEffect::OptOut {
        phone_key: phone_key.clone(),
        keyword: "STOP".into(),
    };
    assert!(!store.sms_opted_out(org, &phone_key).await.unwrap());
    store
        .apply_inbound_sms(org, &reply("SM2", stop.clone(), 4_000))
        .await
        .unwrap();
    assert!(store.sms_opted_out(org, &phone_key).await.unwrap());
    assert_eq!(
        store
            .apply_inbound_sms(org, &reply("SM2", stop, 4_100))
            .await
            .unwrap(),
        InboundOutcome::Replayed
    );
    // Opted out for the organization only.
    assert!(!store.sms_opted_out(app.b.org, &phone_key).await.unwrap());
    let start = InboundEffect::OptIn {
        phone_key: phone_key.clone(),
        keyword: "START".into(),
    };
    store
        .apply_inbound_sms(org, &reply("SM3", start, 5_000))
        .await
        .unwrap();
    assert!(!store.sms_opted_out(org, &phone_key).await.unwrap());
    let log = store.sms_consent_log(org, &phone_key).await.unwrap();
    let got: Vec<(&str, &str, Option<&str>, i64)> = log
        .iter()
        .map(|e| {
            (
                e.action.as_str(),
                e.keyword.as_str(),
                e.provider_message_id.as_deref(),
                e.at,
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            ("opt_out", "STOP", Some("SM2"), 4_000),
            ("opt_in", "START", Some("SM3"), 5_000)
        ]
    );
    assert!(
        store
            .sms_consent_log(app.b.org, &phone_key)
            .await
            .unwrap()
            .is_empty()
    );

    // Delivery states move forward only; another organization cannot touch the message.
    store
        .record_outbound_sms(
            org,
            &OutboundSms {
                sender_id: sender,
                conversation_id: Some(conv),
                provider_message_id: Some("SM9".into()),
                status: "queued".into(),
                segments: 1,
                now: 6_000,
            },
        )
        .await
        .unwrap();
    assert!(
        store
            .update_sms_status(org, "SM9", "delivered", None, 7_000)
            .await
            .unwrap()
    );
    assert!(
        store
            .update_sms_status(org, "SM9", "sent", None, 7_100)
            .await
            .unwrap()
    );
    assert_eq!(
        store
            .sms_message_status(org, "SM9")
            .await
            .unwrap()
            .as_deref(),
        Some("delivered")
    );
    assert!(
        !store
            .update_sms_status(app.b.org, "SM9", "failed", Some("30003"), 7_200)
            .await
            .unwrap()
    );
    assert!(
        !store
            .update_sms_status(org, "SM404", "sent", None, 7_300)
            .await
            .unwrap()
    );
    assert_eq!(
        store
            .sms_message_status(org, "SM9")
            .await
            .unwrap()
            .as_deref(),
        Some("delivered")
    );
});
