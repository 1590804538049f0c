//! The pages an email invitation's links open (issue 20, items 4 and 5): the hosted survey at `/o/{token}`, single
//! use, stored with channel email, the invitation's version and person key, and the invitation answered in the
//! response's commit; the unsubscribe page and RFC 8058 one-click; the reminder that skips ended invitations; and the
//! outreach figures per survey and channel (email and SMS) with their page and CSV.

use heard_server::crypto::Sealer;
use heard_server::jobs::{Completed, JobHandler};
use heard_server::outreach::{self, Invite, SendEmail};
use heard_store::jobs::NewJob;
use heard_store::outreach::{InvitationState, SuppressionReason};
use heard_store::sms::{
    ConversationUpdate, InboundEffect, InboundSms, NewSmsConversation, NewSmsSender, OutboundSms,
};

use crate::both_backends;
use crate::support::{Tenant, TestApp};

/// The test app's secret (`support::spawn_app_at`).
const SECRET: [u8; 32] = [9u8; 32];
const DAY: i64 = 24 * 3600 * 1000;

async fn invite(
    app: &TestApp,
    t: &Tenant,
    address: &str,
    person: &str,
    lang: &str,
    now: i64,
) -> uuid::Uuid {
    outreach::invite(
        &app.store,
        &Sealer::new(&SECRET),
        &Invite {
            org: t.org,
            survey: t.survey.id,
            survey_version: t.survey.published_version.unwrap(),
            person_key: person,
            address,
            language: lang,
        },
        now,
    )
    .await
    .unwrap()
}

async fn move_to(app: &TestApp, t: &Tenant, id: uuid::Uuid, to: InvitationState) -> bool {
    let mut tx = app.store.begin().await.unwrap();
    let moved = tx
        .move_email_invitation(t.org, id, to, heard_store::now_ms())
        .await
        .unwrap();
    tx.commit().await.unwrap();
    moved
}

fn token(id: uuid::Uuid) -> String {
    outreach::survey_token(&Sealer::new(&SECRET), id)
}

async fn get(app: &TestApp, path: &str) -> (u16, String) {
    let r = app
        .client
        .get(format!("{}{path}", app.base))
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

async fn post(app: &TestApp, path: &str, form: &[(&str, &str)]) -> (u16, String, String) {
    let r = app
        .client
        .post(format!("{}{path}", app.base))
        .form(form)
        .send()
        .await
        .unwrap();
    let location = r
        .headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (r.status().as_u16(), location, r.text().await.unwrap())
}

async fn responses(app: &TestApp, t: &Tenant) -> Vec<heard_store::StoredResponse> {
    let f = heard_store::responses::ResponseFilter {
        survey_id: Some(t.survey.id),
        ..Default::default()
    };
    app.store
        .responses_page(
            t.org,
            &f,
            None,
            heard_store::responses::Order::OldestFirst,
            50,
        )
        .await
        .unwrap()
}

both_backends!(an_invitation_link_is_answered_once_by_email, |app| {
    let t = &app.a;
    let now = heard_store::now_ms();
    let id = invite(&app, t, "ana@example.org", "pk-ana", "es", now).await;
    assert!(move_to(&app, t, id, InvitationState::Sent).await);
    let link = format!("/o/{}", token(id));

    // A wrong or guessed token and a malformed one: the same plain page, 404.
    let (s_unknown, unknown) = get(&app, &format!("/o/{}", token(uuid::Uuid::now_v7()))).await;
    assert_eq!(s_unknown, 404);
    assert!(
        unknown.contains("This link has expired or was used"),
        "{unknown}"
    );
    assert_eq!(get(&app, "/o/short").await, (404, unknown.clone()));

    // The link opens the survey in the invitation's language, its form posting back to the link; it is opened.
    let (status, page) = get(&app, &link).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("<html lang=\"es\">"), "{page}");
    assert!(page.contains(&format!("action=\"{link}\"")), "{page}");
    assert!(
        page.contains("href=\"?lang=en\""),
        "the language switch: {page}"
    );
    let (_, english) = get(&app, &format!("{link}?lang=en")).await;
    assert!(english.contains("<html lang=\"en\">"));
    // The A-11 v2 template's "Your answer is anonymous" is not true of an answer linked to a person key.
    assert!(
        !english.contains("anonymous") && english.contains("kept apart from your name"),
        "{english}"
    );
    assert!(!page.contains("anónima") && page.contains("aparte de su nombre"));
    let inv = app.store.email_invitation(t.org, id).await.unwrap();
    assert_eq!(inv.state, InvitationState::Opened);
    let opened_at = inv.opened_at.unwrap();
    get(&app, &link).await;
    assert_eq!(
        app.store
            .email_invitation(t.org, id)
            .await
            .unwrap()
            .opened_at,
        Some(opened_at),
        "opening again changes nothing"
    );

    // An answer that is not a choice comes back for a correction: nothing stored, the invitation started.
    let (status, _, body) = post(
        &app,
        &link,
        &[
            ("q.trust", "7"),
            ("idempotency_key", "invite-bad-0001"),
            ("lang", "es"),
        ],
    )
    .await;
    assert_eq!(status, 422, "{body}");
    assert!(responses(&app, t).await.is_empty());
    let inv = app.store.email_invitation(t.org, id).await.unwrap();
    assert_eq!(inv.state, InvitationState::Opened);

    // The answer: stored with channel email, the invitation's version and person, and the invitation answered.
    let key = "invite-key-00001";
    let form = [("q.trust", "1"), ("idempotency_key", key), ("lang", "es")];
    let (status, location, _) = post(&app, &link, &form).await;
    assert_eq!(status, 303);
    assert_eq!(
        location,
        format!("/s/{}/{}/thanks?lang=es", t.slug, t.survey.id)
    );
    let stored = responses(&app, t).await;
    assert_eq!(stored.len(), 1);
    let r = &stored[0];
    assert_eq!(r.channel, heard_domain::Channel::Email.key());
    let person = app.store.person_items(t.org, "pk-ana", 10).await.unwrap();
    assert_eq!(person.responses.len(), 1, "the invitation's person key");
    assert_eq!(person.responses[0].id, r.id);
    assert_eq!(r.survey_version, t.survey.published_version.unwrap());
    assert_eq!(
        r.page_path.as_deref(),
        Some("/o"),
        "the token is never stored"
    );
    let inv = app.store.email_invitation(t.org, id).await.unwrap();
    assert_eq!(inv.state, InvitationState::Answered);
    assert!(inv.answered_at.is_some());
    assert_eq!(
        app.store
            .email_invitation_response(t.org, id)
            .await
            .unwrap(),
        Some(r.id)
    );

    // The same form again (a retry): the same thanks, nothing new. Other answers: refused, nothing stored.
    let (status, again, _) = post(&app, &link, &form).await;
    assert_eq!((status, again), (303, location));
    let (status, _, body) = post(
        &app,
        &link,
        &[
            ("q.trust", "0"),
            ("idempotency_key", "invite-key-00002"),
            ("lang", "es"),
        ],
    )
    .await;
    assert_eq!(status, 409);
    assert!(body.contains("Sus respuestas ya se enviaron"), "{body}");
    assert_eq!(responses(&app, t).await.len(), 1);

    // The used link now gives the page every unknown link gives.
    assert_eq!(get(&app, &link).await, (404, unknown.clone()));

    // An expired link: the same page, and a submission through it stores nothing.
    let old = invite(&app, t, "old@example.org", "pk-old", "en", now - 31 * DAY).await;
    assert!(move_to(&app, t, old, InvitationState::Sent).await);
    let old_link = format!("/o/{}", token(old));
    assert_eq!(get(&app, &old_link).await, (404, unknown.clone()));
    let (status, _, _) = post(
        &app,
        &old_link,
        &[("q.trust", "1"), ("idempotency_key", "invite-old-00001")],
    )
    .await;
    assert_eq!(status, 404);
    assert_eq!(responses(&app, t).await.len(), 1);

    // Tenant isolation: tenant B's survey has no responses, and its invitation counts are untouched.
    let f = heard_store::responses::ResponseFilter {
        survey_id: Some(app.b.survey.id),
        ..Default::default()
    };
    assert!(
        app.store
            .responses_page(
                app.b.org,
                &f,
                None,
                heard_store::responses::Order::OldestFirst,
                5
            )
            .await
            .unwrap()
            .is_empty()
    );
});

both_backends!(
    unsubscribe_by_page_or_one_click_ends_every_invitation_to_the_address,
    |app| {
        let t = &app.a;
        let now = heard_store::now_ms();
        let first = invite(&app, t, "Ben@Example.org", "pk-ben", "en", now).await;
        let second = invite(&app, t, "ben@example.org", "pk-ben", "en", now).await;
        let other = invite(&app, &app.b, "ben@example.org", "pk-ben-b", "en", now).await;
        assert!(move_to(&app, t, first, InvitationState::Sent).await);
        let sealer = Sealer::new(&SECRET);
        let path = format!(
            "/o/unsubscribe/{first}/{}",
            outreach::unsubscribe_token(&sealer, first)
        );

        // A wrong token, or another invitation's: the plain not-found page.
        let (status, _) = get(
            &app,
            &format!(
                "/o/unsubscribe/{first}/{}",
                outreach::unsubscribe_token(&sealer, second)
            ),
        )
        .await;
        assert_eq!(status, 404);
        let (status, _, _) = post(&app, &format!("/o/unsubscribe/{first}/x"), &[]).await;
        assert_eq!(status, 404);
        assert_eq!(
            app.store
                .email_invitation(t.org, first)
                .await
                .unwrap()
                .state,
            InvitationState::Sent
        );

        // The page: a confirmation with one button, in English or Spanish.
        let (status, page) = get(&app, &path).await;
        assert_eq!(status, 200);
        assert!(
            page.contains("<button class=\"usa-button\" type=\"submit\">Unsubscribe</button>"),
            "{page}"
        );
        let (_, es) = get(&app, &format!("{path}?lang=es")).await;
        assert!(es.contains("Cancelar la suscripción"), "{es}");

        // RFC 8058 one-click: the mail system's POST, no cookie, no origin. 200 at once.
        let r = app
            .client
            .post(format!("{}{path}", app.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body("List-Unsubscribe=One-Click")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert!(r.text().await.unwrap().contains("You are unsubscribed"));
        assert_eq!(
            app.store
                .email_suppression(
                    t.org,
                    &outreach::address_hash(&sealer, t.org, "email", "ben@example.org").unwrap()
                )
                .await
                .unwrap(),
            Some(SuppressionReason::Unsubscribe)
        );
        for id in [first, second] {
            assert_eq!(
                app.store.email_invitation(t.org, id).await.unwrap().state,
                InvitationState::Unsubscribed
            );
        }
        // The survey link no longer works; a new invitation to the address is refused.
        assert_eq!(get(&app, &format!("/o/{}", token(first))).await.0, 404);
        assert!(matches!(
            outreach::invite(
                &app.store,
                &sealer,
                &Invite {
                    org: t.org,
                    survey: t.survey.id,
                    survey_version: t.survey.published_version.unwrap(),
                    person_key: "pk-ben",
                    address: "ben@example.org",
                    language: "en",
                },
                now,
            )
            .await,
            Err(outreach::InviteError::Suppressed("unsubscribe"))
        ));

        // Again, by the page's button: the same answer, nothing changes.
        let (status, _, body) = post(&app, &path, &[("from", "page"), ("lang", "es")]).await;
        assert_eq!(status, 200);
        assert!(body.contains("Canceló su suscripción"), "{body}");

        // The other organization's invitation to the same person is its own business.
        assert_eq!(
            app.store
                .email_invitation(app.b.org, other)
                .await
                .unwrap()
                .state,
            InvitationState::Queued
        );
    }
);

both_backends!(
    the_reminder_skips_answered_unsubscribed_bounced_and_opened_invitations,
    |app| {
        let t = &app.a;
        let now = heard_store::now_ms();
        let handler = SendEmail::new(&SECRET, "https://feedback.example.gov");
        // No SMTP sender is set up: a reminder that tried to send would fail, so Completed::ByWorker means none was.
        for (i, end) in [
            InvitationState::Opened,
            InvitationState::Answered,
            InvitationState::Unsubscribed,
            InvitationState::Bounced,
        ]
        .into_iter()
        .enumerate()
        {
            let id = invite(&app, t, &format!("r{i}@example.org"), "pk-r", "en", now).await;
            assert!(move_to(&app, t, id, InvitationState::Sent).await);
            assert!(move_to(&app, t, id, end).await);
            let mut tx = app.store.begin().await.unwrap();
            tx.enqueue(
                NewJob::new(
                    t.org,
                    outreach::SEND_KIND,
                    serde_json::json!({ "invitation": id, "reminder": true }),
                )
                .dedupe_key(format!("email.remind:{id}")),
            )
            .await
            .unwrap();
            tx.commit().await.unwrap();
        }
        let claimed = app
            .store
            .claim_jobs(&[outreach::SEND_KIND], 20, 60_000, now + 3_600_000)
            .await
            .unwrap();
        let reminders: Vec<_> = claimed
            .iter()
            .filter(|j| j.job.payload.get("reminder").is_some())
            .collect();
        assert_eq!(reminders.len(), 4);
        for job in reminders {
            assert_eq!(
                handler.run(&app.store, job).await.unwrap(),
                Completed::ByWorker
            );
            let id: uuid::Uuid = job.job.payload["invitation"]
                .as_str()
                .unwrap()
                .parse()
                .unwrap();
            assert_eq!(
                app.store
                    .email_invitation(t.org, id)
                    .await
                    .unwrap()
                    .reminded_at,
                None
            );
        }
    }
);

/// An SMS conversation of tenant A about its survey, started at `now`; returns its id.
async fn conversation(app: &TestApp, sender: uuid::Uuid, phone: &str, now: i64) -> uuid::Uuid {
    let t = &app.a;
    app.store
        .start_sms_conversation(
            t.org,
            &NewSmsConversation {
                sender_id: sender,
                phone_key: phone.into(),
                phone_sealed: vec![1],
                person_key: phone.into(),
                survey_id: t.survey.id,
                survey_version: t.survey.published_version.unwrap(),
                lang: "en".into(),
                scale: "yes_no".into(),
            },
            now,
        )
        .await
        .unwrap()
}

async fn outbound(
    app: &TestApp,
    sender: uuid::Uuid,
    conv: uuid::Uuid,
    sid: &str,
    status: &str,
    now: i64,
) {
    app.store
        .record_outbound_sms(
            app.a.org,
            &OutboundSms {
                sender_id: sender,
                conversation_id: Some(conv),
                provider_message_id: Some(sid.into()),
                status: "queued".into(),
                segments: 1,
                now,
            },
        )
        .await
        .unwrap();
    assert!(
        app.store
            .update_sms_status(app.a.org, sid, status, None, now + 1)
            .await
            .unwrap()
    );
}

async fn inbound(
    app: &TestApp,
    sender: uuid::Uuid,
    conv: uuid::Uuid,
    sid: &str,
    effect: InboundEffect,
    now: i64,
) {
    app.store
        .apply_inbound_sms(
            app.a.org,
            &InboundSms {
                sender_id: sender,
                provider_message_id: sid.into(),
                conversation_id: Some(conv),
                segments: Some(1),
                effect,
                now,
            },
        )
        .await
        .unwrap();
}

both_backends!(outreach_figures_count_each_channel_per_survey, |app| {
    let t = &app.a;
    let now = heard_store::now_ms();
    // Email: five invited. One never sent, four sent; of those one bounced, one unsubscribed, two opened, one of
    // which came back once for a correction and then answered, the other answered at once... through the link.
    let ids: Vec<uuid::Uuid> = {
        let mut v = Vec::new();
        for i in 0..5 {
            v.push(
                invite(
                    &app,
                    t,
                    &format!("f{i}@example.org"),
                    &format!("pk-f{i}"),
                    "en",
                    now,
                )
                .await,
            );
        }
        v
    };
    for id in &ids[1..] {
        assert!(move_to(&app, t, *id, InvitationState::Sent).await);
    }
    assert!(move_to(&app, t, ids[1], InvitationState::Bounced).await);
    assert!(move_to(&app, t, ids[2], InvitationState::Unsubscribed).await);
    for (n, id) in ids[3..].iter().enumerate() {
        let link = format!("/o/{}", token(*id));
        assert_eq!(get(&app, &link).await.0, 200);
        if n == 0 {
            let (s, _, _) = post(
                &app,
                &link,
                &[("q.trust", "9"), ("idempotency_key", "fig-bad-000001")],
            )
            .await;
            assert_eq!(s, 422);
        }
        let key = format!("fig-key-00000{n}");
        let (s, _, _) = post(&app, &link, &[("q.trust", "1"), ("idempotency_key", &key)]).await;
        assert_eq!(s, 303);
    }
    // The first of those who answered then unsubscribes by the link: an unsubscribe after answering is counted, and
    // the invitation stays answered.
    let (s, _, _) = post(
        &app,
        &format!(
            "/o/unsubscribe/{}/{}",
            ids[3],
            outreach::unsubscribe_token(&Sealer::new(&SECRET), ids[3])
        ),
        &[("List-Unsubscribe", "One-Click")],
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(
        app.store
            .email_invitation(t.org, ids[3])
            .await
            .unwrap()
            .state,
        InvitationState::Answered
    );
    // One more opened, started, not answered.
    let sixth = invite(&app, t, "f5@example.org", "pk-f5", "en", now).await;
    assert!(move_to(&app, t, sixth, InvitationState::Sent).await);
    let link = format!("/o/{}", token(sixth));
    assert_eq!(get(&app, &link).await.0, 200);
    let (s, _, _) = post(
        &app,
        &link,
        &[("q.trust", "9"), ("idempotency_key", "fig-bad-000002")],
    )
    .await;
    assert_eq!(s, 422);

    // SMS: four conversations. One delivered and completed; one delivered, replied, then STOP; one failed; one
    // delivered without a reply.
    let sender = app
        .store
        .create_sms_sender(
            t.org,
            &NewSmsSender {
                phone_number: "+15005550006".into(),
                account_sid: "AC0".into(),
                auth_token_sealed: vec![0],
                help_contact: "311".into(),
            },
            now,
        )
        .await
        .unwrap();
    let c1 = conversation(&app, sender, "ph-1", now).await;
    let c2 = conversation(&app, sender, "ph-2", now).await;
    let c3 = conversation(&app, sender, "ph-3", now).await;
    let c4 = conversation(&app, sender, "ph-4", now).await;
    outbound(&app, sender, c1, "SM1", "delivered", now).await;
    outbound(&app, sender, c2, "SM2", "delivered", now).await;
    outbound(&app, sender, c3, "SM3", "failed", now).await;
    outbound(&app, sender, c4, "SM4", "delivered", now).await;
    inbound(
        &app,
        sender,
        c1,
        "SMin1",
        InboundEffect::Conversation(ConversationUpdate {
            id: c1,
            step: "done".into(),
            lang: "en".into(),
            reprompts: 0,
            answers_sealed: Some(vec![1, 2]),
        }),
        now + 10,
    )
    .await;
    inbound(
        &app,
        sender,
        c2,
        "SMin2",
        InboundEffect::Conversation(ConversationUpdate {
            id: c2,
            step: "what_happened".into(),
            lang: "en".into(),
            reprompts: 0,
            answers_sealed: Some(vec![1]),
        }),
        now + 10,
    )
    .await;
    inbound(
        &app,
        sender,
        c2,
        "SMin3",
        InboundEffect::OptOut {
            phone_key: "ph-2".into(),
            keyword: "STOP".into(),
        },
        now + 20,
    )
    .await;

    // A fifth whose opening text the provider refused (no provider id): the person's STOP, which the webhook files
    // under their latest conversation, is no invitation's opt-out.
    let c5 = conversation(&app, sender, "ph-5", now).await;
    app.store
        .record_outbound_sms(
            t.org,
            &OutboundSms {
                sender_id: sender,
                conversation_id: Some(c5),
                provider_message_id: None,
                status: "failed".into(),
                segments: 1,
                now,
            },
        )
        .await
        .unwrap();
    inbound(
        &app,
        sender,
        c5,
        "SMin5",
        InboundEffect::OptOut {
            phone_key: "ph-5".into(),
            keyword: "STOP".into(),
        },
        now + 20,
    )
    .await;
    // A sixth still being sent (the attempt is recorded, the provider has not answered): not an invitation yet.
    let c6 = conversation(&app, sender, "ph-6", now).await;
    app.store
        .record_outbound_sms(
            t.org,
            &OutboundSms {
                sender_id: sender,
                conversation_id: Some(c6),
                provider_message_id: None,
                status: "attempting".into(),
                segments: 1,
                now,
            },
        )
        .await
        .unwrap();

    let (from, to) = (now - DAY, now + DAY);
    let email = app
        .store
        .email_outreach_counts(t.org, from, to)
        .await
        .unwrap();
    assert_eq!(email.len(), 1);
    assert_eq!(email[0].0, t.survey.id);
    let e = email[0].1;
    assert_eq!(
        (
            e.invited,
            e.delivered,
            e.opened,
            e.started,
            e.completed,
            e.opted_out,
            e.bounced
        ),
        (6, 4, Some(3), 3, 2, 2, 1)
    );
    let sms = app
        .store
        .sms_outreach_counts(t.org, from, to)
        .await
        .unwrap();
    assert_eq!(sms.len(), 1);
    let s = sms[0].1;
    assert_eq!(
        (
            s.invited,
            s.delivered,
            s.opened,
            s.started,
            s.completed,
            s.opted_out,
            s.bounced
        ),
        (4, 3, None, 2, 1, 1, 1)
    );
    // Outside the period, and in the other organization: nothing.
    assert!(
        app.store
            .email_outreach_counts(t.org, to, to + DAY)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        app.store
            .email_outreach_counts(app.b.org, from, to)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        app.store
            .sms_outreach_counts(app.b.org, from, to)
            .await
            .unwrap()
            .is_empty()
    );

    // The page and its CSV (the current quarter), for anyone who may see the organization.
    let session = app.sign_in(&t.admin_email).await;
    let r = app
        .get(&session, &format!("/admin/o/{}/outreach/figures", t.org))
        .await;
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    assert!(html.contains("id=\"outreach-table\""), "{html}");
    assert!(html.contains("no tracking pixels"), "{html}");
    assert!(
        html.contains("Each figure counts invitations, not messages")
            && html.contains("A person invited twice counts twice"),
        "{html}"
    );
    assert!(!html.contains("counts people invited"), "{html}");
    assert!(html.contains("before or after answering"), "{html}");
    assert!(
        html.contains("whose first text the provider accepted"),
        "{html}"
    );
    assert!(html.contains("33.3%"), "email: 2 of 6 completed: {html}");
    assert!(html.contains("25.0%"), "SMS: 1 of 4 completed: {html}");
    let r = app
        .get(
            &session,
            &format!("/admin/o/{}/outreach/figures.csv", t.org),
        )
        .await;
    assert_eq!(r.status(), 200);
    let csv = r.text().await.unwrap();
    let lines: Vec<&str> = csv.trim_start_matches('\u{feff}').lines().collect();
    assert!(lines[0].starts_with("quarter,survey,channel,invited,delivered,opened,started,completed,opted_out,bounced,response_rate"));
    assert!(
        lines
            .iter()
            .any(|l| l.contains(",email,6,4,3,3,2,2,1,0.333333,")),
        "{csv}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains(",sms,4,3,,2,1,1,1,0.250000,")),
        "{csv}"
    );
    // The A-11 statistics page points to it, and says its "offered" counts both channels' invitations.
    let r = app
        .get(&session, &format!("/admin/o/{}/statistics", t.org))
        .await;
    let stats = r.text().await.unwrap();
    assert!(stats.contains(&format!("/admin/o/{}/outreach/figures?quarter=", t.org)));
    assert!(
        stats.contains(
            "sent an invitation by email, and by SMS when the provider accepted the first text"
        ),
        "{stats}"
    );
    // Another organization's admin is refused.
    let other = app.sign_in(&app.b.admin_email).await;
    let r = app
        .get(&other, &format!("/admin/o/{}/outreach/figures", t.org))
        .await;
    assert_ne!(r.status(), 200);
});
