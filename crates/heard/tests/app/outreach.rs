//! Email survey outreach in the store (issue 20, item 4): the SMTP sender with its sealed fields, invitations
//! written with their send job in one transaction, guarded state moves, suppressions and per-survey counts; and
//! `heard email bounce` turning a delivery status notification into a suppression.

use heard_store::jobs::NewJob;
use heard_store::outreach::{
    EmailSender, InvitationCounts, InvitationState, NewEmailInvitation, SuppressionReason, TlsMode,
};

use heard_store::{DatabaseUrl, Store, StoreOptions};

use crate::both_backends;
use crate::support::{Backend, database, tenant};

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
        id: uuid::Uuid::now_v7(),
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
    let again = NewEmailInvitation {
        id: uuid::Uuid::now_v7(),
        ..new.clone()
    };
    assert!(tx.create_email_invitation(&again, 11).await.is_err());
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
                        id: uuid::Uuid::now_v7(),
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

const SECRET_HEX: &str = "0101010101010101010101010101010101010101010101010101010101010101";

/// `heard email bounce` applies a realistic Postfix DSN (one 5.1.1 recipient, one delayed 4.2.2): the hard-bounced
/// address is suppressed and its pending invitation ends as bounced; the transient one changes nothing; the same
/// message again adds nothing; a message that is not a DSN is refused, naming why, and writes nothing.
async fn bounce_cli(backend: Backend) {
    let (url, _keep) = database(backend).await;
    let store = Store::open(&url, StoreOptions::default()).await.unwrap();
    let t = tenant(&store, "Bounce Agency", "bounce").await;
    let sealer = heard_server::crypto::Sealer::new(&[1u8; 32]);
    let hash = |a: &str| heard_server::outreach::address_hash(&sealer, t.org, "to", a).unwrap();
    let mut tx = store.begin().await.unwrap();
    let mut ids = Vec::new();
    for (i, address) in ["nobody@example.org", "full@example.org"]
        .iter()
        .enumerate()
    {
        let token = format!("token-{i}");
        let address_hash = hash(address);
        ids.push(
            tx.create_email_invitation(
                &NewEmailInvitation {
                    id: uuid::Uuid::now_v7(),
                    org_id: t.org,
                    survey_id: t.survey.id,
                    survey_version: t.survey.published_version.unwrap(),
                    person_key: "pk",
                    address_sealed: &sealer.seal(address),
                    address_hash: &address_hash,
                    language: "en",
                    token_hash: &token,
                    expires_at: i64::MAX,
                },
                1,
            )
            .await
            .unwrap(),
        );
        tx.move_email_invitation(t.org, ids[i], InvitationState::Sent, 2)
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();

    let dsn = include_str!("../data/dsn-postfix-5.1.1.eml");
    let data = tempfile::tempdir().unwrap();
    let run = |input: &'static str| {
        use std::io::Write;
        let db = match &url {
            DatabaseUrl::Sqlite(p) => format!("sqlite:{}", p.display()),
            DatabaseUrl::Postgres(u) => u.clone(),
        };
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_heard"))
            .args([
                "email",
                "bounce",
                "--org",
                "bounce",
                "--database-url",
                &db,
                "--data-dir",
            ])
            .arg(data.path())
            .env("HEARD_SECRET_KEY", SECRET_HEX)
            .env("HEARD_LOG", "warn")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    };
    let out = run(dsn);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "Hard bounces: 1, newly suppressed: 1, invitations bounced: 1; transient: 1; other: 0."
    );
    assert_eq!(
        store
            .email_suppression(t.org, &hash("nobody@example.org"))
            .await
            .unwrap(),
        Some(SuppressionReason::Bounce)
    );
    assert_eq!(
        store
            .email_suppression(t.org, &hash("full@example.org"))
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store.email_invitation(t.org, ids[0]).await.unwrap().state,
        InvitationState::Bounced
    );
    assert_eq!(
        store.email_invitation(t.org, ids[1]).await.unwrap().state,
        InvitationState::Sent
    );

    let again = run(dsn);
    assert_eq!(
        String::from_utf8_lossy(&again.stdout).trim(),
        "Hard bounces: 1, newly suppressed: 0, invitations bounced: 0; transient: 1; other: 0."
    );
    let not_dsn = run("Subject: Out of office\r\n\r\nI am away until Monday.\r\n");
    assert!(!not_dsn.status.success());
    assert!(
        String::from_utf8_lossy(&not_dsn.stderr).contains("no message/delivery-status part"),
        "{}",
        String::from_utf8_lossy(&not_dsn.stderr)
    );
    let counts = store
        .email_invitation_counts(t.org, t.survey.id)
        .await
        .unwrap();
    assert_eq!((counts.invited, counts.sent, counts.bounced), (2, 2, 1));
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bounce_cli_sqlite() {
    bounce_cli(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bounce_cli_postgres() {
    bounce_cli(Backend::Postgres).await;
}
