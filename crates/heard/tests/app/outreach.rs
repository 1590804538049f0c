//! Email survey outreach in the store (issue 20, item 4): the SMTP sender with its sealed fields, invitations
//! written with their send job in one transaction, guarded state moves, suppressions and per-survey counts.

use heard_store::jobs::NewJob;
use heard_store::outreach::{
    EmailSender, InvitationCounts, InvitationState, NewEmailInvitation, SuppressionReason, TlsMode,
};

use crate::both_backends;

both_backends!(email_sender_round_trips_sealed_fields, |app| {
    let t = &app.a;
    assert_eq!(app.store.email_sender(t.org).await.unwrap(), None);
    let sender = EmailSender {
        host: "smtp.example.gov".into(),
        port: 587,
        tls: TlsMode::StartTls,
        username: Some("heard".into()),
        password_sealed: Some(vec![1, 2, 3]),
        from_address: "feedback@example.gov".into(),
        from_name: Some("Example Benefits".into()),
        dkim_selector: Some("heard".into()),
        dkim_domain: Some("example.gov".into()),
        dkim_key_sealed: Some(vec![9; 40]),
    };
    app.store.set_email_sender(t.org, &sender, 1).await.unwrap();
    assert_eq!(
        app.store.email_sender(t.org).await.unwrap(),
        Some(sender.clone())
    );
    let plain = EmailSender {
        tls: TlsMode::None,
        port: 2525,
        username: None,
        password_sealed: None,
        dkim_selector: None,
        dkim_domain: None,
        dkim_key_sealed: None,
        ..sender
    };
    app.store.set_email_sender(t.org, &plain, 2).await.unwrap();
    assert_eq!(app.store.email_sender(t.org).await.unwrap(), Some(plain));
    // Tenant isolation: the other organization has none.
    assert_eq!(app.store.email_sender(app.b.org).await.unwrap(), None);
});

both_backends!(email_invitation_lives_through_guarded_states, |app| {
    let t = &app.a;
    let version = t.survey.published_version.unwrap();
    let new = NewEmailInvitation {
        org_id: t.org,
        survey_id: t.survey.id,
        survey_version: version,
        person_key: "pk-1",
        address_sealed: b"sealed",
        address_hash: "ah-1",
        language: "es",
        token_hash: "th-1",
        expires_at: 1_000_000,
    };
    let mut tx = app.store.begin().await.unwrap();
    let id = tx.create_email_invitation(&new, 10).await.unwrap();
    let job = tx
        .enqueue(NewJob::new(
            t.org,
            "email.send",
            serde_json::json!({ "invitation": id }),
        ))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert!(app.store.job(t.org, job.id).await.is_ok());

    let inv = app.store.email_invitation(t.org, id).await.unwrap();
    assert_eq!(inv.state, InvitationState::Queued);
    assert_eq!(inv.language, "es");
    assert_eq!(inv.survey_version, version);
    let by_token = app
        .store
        .email_invitation_by_token("th-1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(by_token.id, id);
    assert_eq!(
        app.store.email_invitation_by_token("nope").await.unwrap(),
        None
    );
    // Another organization cannot read it by id.
    assert!(app.store.email_invitation(app.b.org, id).await.is_err());

    // The same token hash again is refused and writes nothing.
    let mut tx = app.store.begin().await.unwrap();
    assert!(tx.create_email_invitation(&new, 11).await.is_err());
    drop(tx);

    let step = |to: InvitationState, now: i64| {
        let store = app.store.clone();
        async move {
            let mut tx = store.begin().await.unwrap();
            let moved = tx.move_email_invitation(t.org, id, to, now).await.unwrap();
            tx.commit().await.unwrap();
            moved
        }
    };
    assert!(
        !step(InvitationState::Reminded, 15).await,
        "a queued invitation is not reminded"
    );
    assert!(step(InvitationState::Sent, 20).await);
    assert!(!step(InvitationState::Sent, 21).await, "sent once");
    assert!(step(InvitationState::Reminded, 30).await);
    assert!(step(InvitationState::Opened, 40).await);
    assert!(step(InvitationState::Answered, 50).await);
    assert!(!step(InvitationState::Answered, 51).await);
    assert!(
        !step(InvitationState::Bounced, 60).await,
        "an answered invitation stays answered"
    );
    let inv = app.store.email_invitation(t.org, id).await.unwrap();
    assert_eq!(
        (
            inv.state,
            inv.sent_at,
            inv.reminded_at,
            inv.opened_at,
            inv.answered_at
        ),
        (
            InvitationState::Answered,
            Some(20),
            Some(30),
            Some(40),
            Some(50)
        )
    );
    assert_eq!(
        app.store
            .email_invitation_counts(t.org, t.survey.id)
            .await
            .unwrap(),
        InvitationCounts {
            invited: 1,
            sent: 1,
            opened: 1,
            answered: 1,
            bounced: 0,
            unsubscribed: 0
        }
    );
});

both_backends!(
    suppressions_keep_their_first_reason_and_end_live_invitations,
    |app| {
        let t = &app.a;
        let version = t.survey.published_version.unwrap();
        let mut tx = app.store.begin().await.unwrap();
        let mut ids = Vec::new();
        for (i, hash) in ["ah-1", "ah-1", "ah-2"].iter().enumerate() {
            let token = format!("th-{i}");
            let id = tx
                .create_email_invitation(
                    &NewEmailInvitation {
                        org_id: t.org,
                        survey_id: t.survey.id,
                        survey_version: version,
                        person_key: "pk",
                        address_sealed: b"sealed",
                        address_hash: hash,
                        language: "en",
                        token_hash: &token,
                        expires_at: 1_000_000,
                    },
                    1,
                )
                .await
                .unwrap();
            ids.push(id);
        }
        tx.commit().await.unwrap();

        assert_eq!(
            app.store.email_suppression(t.org, "ah-1").await.unwrap(),
            None
        );
        let mut tx = app.store.begin().await.unwrap();
        assert!(
            tx.suppress_email(t.org, "ah-1", SuppressionReason::Bounce, "dsn:5.1.1", 5)
                .await
                .unwrap()
        );
        assert!(
            !tx.suppress_email(
                t.org,
                "ah-1",
                SuppressionReason::Unsubscribe,
                "one-click",
                6
            )
            .await
            .unwrap()
        );
        assert_eq!(
            tx.end_email_invitations_to(t.org, "ah-1", InvitationState::Bounced, 5)
                .await
                .unwrap(),
            2
        );
        tx.commit().await.unwrap();
        assert_eq!(
            app.store.email_suppression(t.org, "ah-1").await.unwrap(),
            Some(SuppressionReason::Bounce)
        );
        assert_eq!(
            app.store
                .email_suppression(app.b.org, "ah-1")
                .await
                .unwrap(),
            None
        );
        assert_eq!(
            app.store.email_suppression(t.org, "ah-2").await.unwrap(),
            None
        );
        assert_eq!(
            app.store
                .email_invitation(t.org, ids[2])
                .await
                .unwrap()
                .state,
            InvitationState::Queued
        );
        let counts = app
            .store
            .email_invitation_counts(t.org, t.survey.id)
            .await
            .unwrap();
        assert_eq!((counts.invited, counts.bounced, counts.sent), (3, 2, 0));
    }
);
