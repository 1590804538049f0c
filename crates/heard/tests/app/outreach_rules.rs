//! Invitations from what happened, and batches (issue 20, items 1, 6 and 7): an event becomes a queue item due after
//! the rule's delay, held through quiet hours and handed off at 08:00 where the person is (an email invitation and its
//! send job, or an `sms.invite` job with the agreed payload); the contact cap, sampling and opt-outs decide at
//! hand-off; batches by CSV upload and by the API, bad lines named and nothing half-written; keyed API writes;
//! tenants kept apart.

use heard_domain::invitation_rules::{ItemState, Reason, quiet_until};
use heard_domain::zone::Zone;
use heard_server::crypto::Sealer;
use heard_server::jobs::{JobRegistry, Worker, WorkerOptions};
use heard_server::outreach_queue::{self as oq, Evaluate, HandOff};
use heard_store::jobs::NewJob;
use heard_store::outreach::{EmailSender, TlsMode};
use heard_store::outreach_queue::RuleWrite;
use serde_json::{Value, json};

use crate::both_backends;
use crate::support::{Tenant, TestApp};

/// The test server's secret (support.rs).
const SECRET: [u8; 32] = [9u8; 32];

fn worker(app: &TestApp) -> Worker {
    let mut r = JobRegistry::product();
    r.register(oq::EVALUATE_KIND, Evaluate::new(&SECRET));
    r.register(oq::DUE_KIND, HandOff::new(&SECRET));
    Worker::new(app.store.clone(), r, WorkerOptions::default())
}

async fn api_key(app: &TestApp, t: &Tenant) -> String {
    let secret = heard_server::ingest::new_api_key();
    app.store
        .create_api_key(
            t.org,
            "test",
            &heard_server::crypto::sha256(secret.as_bytes()),
            heard_store::now_ms(),
        )
        .await
        .unwrap();
    secret
}

async fn post(app: &TestApp, key: &str, path: &str, body: &Value) -> (u16, Value) {
    let resp = app
        .client
        .post(format!("{}{path}", app.base))
        .header("authorization", format!("Bearer {key}"))
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    (resp.status().as_u16(), resp.json().await.unwrap())
}

async fn event(app: &TestApp, key: &str, id: &str, person: &str, occurred_at: i64) {
    let at = chrono::DateTime::from_timestamp_millis(occurred_at)
        .unwrap()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let (s, v) = post(
        app,
        key,
        "/api/v1/events",
        &json!({"items": [{"external_id": id, "type": "call", "occurred_at": at, "person": {"customer_id": person}}]}),
    )
    .await;
    assert_eq!((s, v["created"].as_u64()), (200, Some(1)), "{v}");
}

async fn email_sender(app: &TestApp, t: &Tenant) {
    app.store
        .set_email_sender(
            t.org,
            &EmailSender {
                host: "127.0.0.1".into(),
                port: 2525,
                tls: TlsMode::None,
                username: None,
                password_sealed: None,
                from_address: "feedback@example.gov".into(),
                from_name: None,
                dkim_selector: None,
                dkim_domain: None,
                dkim_key_sealed: None,
            },
            1,
        )
        .await
        .unwrap();
}

async fn sms_sender(app: &TestApp, t: &Tenant) -> uuid::Uuid {
    app.store
        .create_sms_sender(
            t.org,
            &heard_store::sms::NewSmsSender {
                phone_number: "+15005550006".into(),
                account_sid: "AC00000000000000000000000000000000".into(),
                auth_token_sealed: Sealer::new(&SECRET).seal("token"),
                help_contact: "1-800-555-0100".into(),
            },
            1,
        )
        .await
        .unwrap()
}

/// The end of the `data.arrived` window now falls in: running jobs due by then runs that window's evaluation.
fn window_end() -> i64 {
    let d = heard_store::after_data::DEBOUNCE_MS;
    (heard_store::now_ms().div_euclid(d) + 1) * d
}

/// A zone where it is now between 10:00 and 18:59, so sends due within minutes are outside quiet hours.
fn daytime_zone() -> Zone {
    use chrono::Timelike;
    let now = heard_store::now_ms();
    for name in [
        "America/New_York",
        "Europe/London",
        "Asia/Tokyo",
        "America/Los_Angeles",
        "Asia/Kolkata",
        "Pacific/Honolulu",
        "Europe/Berlin",
        "Asia/Bangkok",
        "Pacific/Auckland",
        "America/Sao_Paulo",
        "Asia/Dubai",
        "Pacific/Kiritimati",
    ] {
        let z = Zone::parse(name).unwrap();
        if (10..19).contains(&z.local(now).hour()) {
            return z;
        }
    }
    panic!("some zone is in daytime")
}

async fn contacts(app: &TestApp, key: &str, items: Value) {
    let (s, v) = post(
        app,
        key,
        "/api/v1/outreach/contacts",
        &json!({ "items": items }),
    )
    .await;
    assert_eq!(s, 200, "{v}");
}

async fn items(app: &TestApp, t: &Tenant) -> Vec<heard_store::outreach_queue::QueueItem> {
    app.store
        .outreach_items(
            t.org,
            &[
                ItemState::Pending,
                ItemState::Held,
                ItemState::Sent,
                ItemState::Skipped,
            ],
            1000,
        )
        .await
        .unwrap()
}

both_backends!(
    an_event_is_held_through_quiet_hours_then_emailed_at_eight,
    |app| {
        let t = &app.a;
        let key = api_key(&app, t).await;
        email_sender(&app, t).await;
        let zone = app.store.org(t.org).await.unwrap().time_zone;
        // The rule is made through the admin's form: invite by email a day and some hours after the call, so the
        // invitation falls due at about 23:00 tomorrow where the person is (the organization's zone: no contact zone).
        let now = heard_store::now_ms();
        let occurred = (now - 60_000) / 1000 * 1000;
        let day_after = zone
            .local(now)
            .date_naive()
            .succ_opt()
            .unwrap()
            .succ_opt()
            .unwrap();
        // 23:00 tomorrow: an hour before the day after tomorrow starts (no clock change falls in that hour).
        let target = zone.day_start_ms(day_after) - 3_600_000;
        let delay = (target - occurred) / 60_000;
        let admin = app.sign_in(&t.admin_email).await;
        let survey = t.survey.id.to_string();
        let delay_s = delay.to_string();
        let r = app
            .post(
                &admin,
                &format!("/admin/o/{}/outreach/rules", t.org),
                &[
                    ("name", "After a call"),
                    ("event_type", "call"),
                    ("survey_id", &survey),
                    ("channel", "email"),
                    ("delay_minutes", &delay_s),
                    ("sample_percent", "100"),
                    ("cap_days", ""),
                ],
            )
            .await;
        assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
        let rules = app.store.outreach_rules(t.org).await.unwrap();
        assert_eq!(rules.len(), 1);
        assert_eq!((rules[0].cap_days, rules[0].delay_minutes), (90, delay));
        // A bad form names its fields and writes nothing.
        let r = app
            .post(
                &admin,
                &format!("/admin/o/{}/outreach/rules", t.org),
                &[
                    ("name", ""),
                    ("event_type", "nope"),
                    ("survey_id", &survey),
                    ("channel", "fax"),
                    ("delay_minutes", "x"),
                    ("sample_percent", "101"),
                    ("cap_days", ""),
                ],
            )
            .await;
        assert_eq!(r.status(), 422);
        let html = r.text().await.unwrap();
        assert!(
            html.contains("Choose one of the organization&#x27;s event types")
                || html.contains("event types"),
            "{html}"
        );
        assert_eq!(app.store.outreach_rules(t.org).await.unwrap().len(), 1);
        // The menus name services and touchpoints in words (a touchpoint with its service), and a touchpoint of
        // another service than the one chosen is refused: that rule could never match an event.
        let other = app
            .store
            .create_service(
                t.org,
                &heard_domain::LocalizedText::new("Passport renewal", "Renovación de pasaporte"),
                &heard_domain::LocalizedText::new("", ""),
                heard_store::now_ms(),
            )
            .await
            .unwrap();
        let other_tp = app
            .store
            .create_touchpoint(
                t.org,
                other.id,
                &heard_domain::LocalizedText::new("Passport phone line", "Línea de pasaportes"),
                heard_domain::Channel::Phone,
                heard_store::now_ms(),
            )
            .await
            .unwrap();
        let form = app
            .get(&admin, &format!("/admin/o/{}/outreach/rules", t.org))
            .await
            .text()
            .await
            .unwrap();
        assert!(
            form.contains(">Passport renewal<")
                && form.contains(">Passport phone line (Passport renewal)<"),
            "{form}"
        );
        assert!(
            !form.contains("&quot;en&quot;") && !form.contains("{\"en\""),
            "{form}"
        );
        let (service, other_tp) = (t.service.id.to_string(), other_tp.id.to_string());
        let r = app
            .post(
                &admin,
                &format!("/admin/o/{}/outreach/rules", t.org),
                &[
                    ("name", "Never matches"),
                    ("event_type", "call"),
                    ("survey_id", &survey),
                    ("channel", "email"),
                    ("service_id", &service),
                    ("touchpoint_id", &other_tp),
                    ("delay_minutes", "60"),
                    ("sample_percent", "100"),
                    ("cap_days", ""),
                ],
            )
            .await;
        assert_eq!(r.status(), 422);
        assert!(
            r.text()
                .await
                .unwrap()
                .contains("belongs to another service")
        );
        assert_eq!(app.store.outreach_rules(t.org).await.unwrap().len(), 1);
        // Edit and pause through the admin; a paused rule makes no items, so resume it.
        let rule_path = format!("/admin/o/{}/outreach/rules/{}", t.org, rules[0].id);
        let page = app.get(&admin, &rule_path).await.text().await.unwrap();
        assert!(
            page.contains("Save rule") && page.contains("After a call"),
            "{page}"
        );
        let r = app
            .post(
                &admin,
                &rule_path,
                &[
                    ("name", "After a call (claims)"),
                    ("event_type", "call"),
                    ("survey_id", &survey),
                    ("channel", "email"),
                    ("delay_minutes", &delay_s),
                    ("sample_percent", "100"),
                    ("cap_days", "60"),
                ],
            )
            .await;
        assert_eq!(r.status(), 303);
        let edited = app.store.outreach_rule(t.org, rules[0].id).await.unwrap();
        assert_eq!(
            (edited.name.as_str(), edited.cap_days),
            ("After a call (claims)", 60)
        );
        let r = app
            .post(&admin, &format!("{rule_path}/pause"), &[("paused", "true")])
            .await;
        assert_eq!(r.status(), 303);
        assert!(
            app.store
                .outreach_rule(t.org, rules[0].id)
                .await
                .unwrap()
                .paused
        );
        let list = app
            .get(&admin, &format!("/admin/o/{}/outreach/rules", t.org))
            .await
            .text()
            .await
            .unwrap();
        assert!(list.contains("Paused") && list.contains("Resume"), "{list}");
        app.post(
            &admin,
            &format!("{rule_path}/pause"),
            &[("paused", "false")],
        )
        .await;
        assert!(
            !app.store
                .outreach_rule(t.org, rules[0].id)
                .await
                .unwrap()
                .paused
        );

        contacts(
        &app,
        &key,
        json!([{"person": {"customer_id": "C-1"}, "email": "Ana@Example.gov", "language": "es"}]),
    )
    .await;
        event(&app, &key, "call-1", "C-1", occurred).await;
        let w = worker(&app);
        w.run_due_by(window_end()).await.unwrap();
        let all = items(&app, t).await;
        assert_eq!(all.len(), 1);
        let item = &all[0];
        assert_eq!(item.state, ItemState::Pending);
        assert_eq!(item.due_at, occurred + delay * 60_000);
        // The contact is sealed, not stored in clear.
        let sealer = Sealer::new(&SECRET);
        assert_eq!(
            sealer
                .open(item.contact_sealed.as_ref().unwrap())
                .as_deref(),
            Some("ana@example.gov")
        );
        // Evaluating the same window again writes nothing more.
        let window = heard_store::after_data::window_of(heard_store::now_ms());
        app.store
            .enqueue(
                NewJob::new(t.org, oq::EVALUATE_KIND, json!({ "window": window }))
                    .dedupe_key("again"),
            )
            .await
            .unwrap();
        w.run_due_by(window_end()).await.unwrap();
        assert_eq!(items(&app, t).await.len(), 1);

        // At its due time it is quiet hours: held until 08:00 the next morning.
        w.run_due_by(item.due_at + 60_000).await.unwrap();
        let held = app.store.outreach_item(t.org, item.id).await.unwrap();
        let eight = quiet_until(item.due_at + 60_000, &zone).unwrap();
        assert_eq!(
            (held.state, held.reason, held.due_at),
            (ItemState::Held, Some(Reason::QuietHours), eight)
        );
        assert_eq!(zone.local(eight).format("%H:%M").to_string(), "08:00");
        let page = app
            .get(&admin, &format!("/admin/o/{}/outreach/queue", t.org))
            .await;
        assert_eq!(page.status(), 200);
        let html = page.text().await.unwrap();
        assert!(html.contains("Quiet hours"), "{html}");
        assert!(html.contains(&zone.display(eight)), "{html}");
        assert!(html.contains("Held: 1"), "{html}");
        assert!(!html.contains("ana@example.gov"));
        assert!(
            app.store
                .email_invitation_counts(t.org, t.survey.id)
                .await
                .unwrap()
                .invited
                == 0
        );

        // At 08:00 it is handed off: an email invitation in Spanish and its send job.
        w.run_due_by(eight).await.unwrap();
        let sent = app.store.outreach_item(t.org, item.id).await.unwrap();
        assert_eq!(sent.state, ItemState::Sent);
        let inv = app
            .store
            .email_invitation(t.org, sent.handoff_id.unwrap())
            .await
            .unwrap();
        assert_eq!(inv.state, heard_store::outreach::InvitationState::Queued);
        assert_eq!(
            (
                inv.language.as_str(),
                inv.person_key.as_str(),
                inv.survey_version
            ),
            (
                "es",
                item.person_key.as_str(),
                t.survey.published_version.unwrap()
            )
        );
        assert_eq!(
            sealer.open(&inv.address_sealed).as_deref(),
            Some("ana@example.gov")
        );
        let jobs = app
            .queued_jobs(t.org, heard_server::outreach::SEND_KIND)
            .await;
        assert_eq!(jobs.len(), 1);
        assert_eq!(jobs[0].payload["invitation"], json!(inv.id));
        // The hand-off's send job rides out a mail server outage like every email send.
        assert_eq!(jobs[0].max_attempts, heard_server::outreach::SEND_ATTEMPTS);
        // Running everything again hands off nothing more.
        w.run_due_by(eight + 3_600_000).await.unwrap();
        assert_eq!(
            app.store
                .email_invitation_counts(t.org, t.survey.id)
                .await
                .unwrap()
                .invited,
            1
        );
    }
);

both_backends!(sms_contract_cap_and_sampling, |app| {
    let t = &app.a;
    let key = api_key(&app, t).await;
    let sender = sms_sender(&app, t).await;
    let zone = daytime_zone();
    let sealer = Sealer::new(&SECRET);
    let rule = app
        .store
        .create_outreach_rule(
            t.org,
            &RuleWrite {
                name: "After a call, by text",
                event_type: "call",
                service_id: None,
                touchpoint_id: None,
                channel: heard_domain::invitation_rules::Channel::Sms,
                survey_id: t.survey.id,
                delay_minutes: 0,
                sample_percent: 100,
                cap_days: 90,
            },
            1,
        )
        .await
        .unwrap();
    contacts(
        &app,
        &key,
        json!([{"person": {"customer_id": "P-1"}, "phone": "(202) 555-0101", "time_zone": zone.name()}]),
    )
    .await;
    let w = worker(&app);
    event(&app, &key, "call-a", "P-1", heard_store::now_ms() - 1000).await;
    w.run_due_by(window_end()).await.unwrap();
    let all = items(&app, t).await;
    assert_eq!(all.len(), 1);
    let first = &all[0];
    assert_eq!(first.state, ItemState::Sent, "{first:?}");
    // The sms.invite job carries the agreed payload, keyed by the item.
    let job = app
        .store
        .job(
            t.org,
            heard_domain::JobId::from_uuid(first.handoff_id.unwrap()),
        )
        .await
        .unwrap();
    assert_eq!(job.kind, oq::SMS_INVITE_KIND);
    let p = &job.payload;
    assert_eq!(
        job.dedupe_key.as_deref(),
        Some(format!("sms.invite:{}", first.id).as_str())
    );
    assert_eq!(p["sender"], json!(sender));
    assert_eq!(p["survey"], json!(t.survey.id.to_string()));
    assert_eq!(
        p["survey_version"],
        json!(t.survey.published_version.unwrap())
    );
    assert_eq!(p["person_key"], json!(first.person_key));
    assert_eq!(p["language"], json!("en"));
    assert_eq!(p["outreach"], json!(first.id));
    let sealed: Vec<u8> = (0..p["phone_sealed"].as_str().unwrap().len() / 2)
        .map(|i| {
            u8::from_str_radix(&p["phone_sealed"].as_str().unwrap()[2 * i..2 * i + 2], 16).unwrap()
        })
        .collect();
    assert_eq!(sealer.open(&sealed).as_deref(), Some("+12025550101"));

    // A second call by the same person: not asked again within 90 days.
    event(&app, &key, "call-b", "P-1", heard_store::now_ms() - 1000).await;
    let window = heard_store::after_data::window_of(heard_store::now_ms());
    app.store
        .enqueue(
            NewJob::new(t.org, oq::EVALUATE_KIND, json!({ "window": window })).dedupe_key("second"),
        )
        .await
        .unwrap();
    w.run_due_by(window_end()).await.unwrap();
    let all = items(&app, t).await;
    assert_eq!(all.len(), 2);
    let second = all.iter().find(|i| i.id != first.id).unwrap();
    assert_eq!(
        (second.state, second.reason),
        (ItemState::Skipped, Some(Reason::ContactCap))
    );
    let sent_at = app
        .store
        .outreach_item(t.org, first.id)
        .await
        .unwrap()
        .handed_off_at
        .unwrap();
    assert_eq!(
        second.reason_until,
        Some(sent_at + 90 * heard_domain::invitation_rules::DAY_MS)
    );
    assert_eq!(app.store.outreach_counts(t.org).await.unwrap().sent, 1);

    // Sampling: half of the people, the same ones whenever it is decided.
    app.store
        .set_outreach_rule_paused(t.org, rule, true, 2)
        .await
        .unwrap();
    let half = app
        .store
        .create_outreach_rule(
            t.org,
            &RuleWrite {
                name: "Half",
                event_type: "call",
                service_id: None,
                touchpoint_id: None,
                channel: heard_domain::invitation_rules::Channel::Sms,
                survey_id: t.survey.id,
                delay_minutes: 0,
                sample_percent: 50,
                cap_days: 90,
            },
            3,
        )
        .await
        .unwrap();
    let people: Vec<String> = (0..20).map(|i| format!("S-{i}")).collect();
    let list: Vec<Value> = people
        .iter()
        .enumerate()
        .map(|(i, p)| json!({"person": {"customer_id": p}, "phone": format!("+1202555{:04}", 1000 + i), "time_zone": zone.name()}))
        .collect();
    contacts(&app, &key, Value::Array(list)).await;
    for p in &people {
        event(
            &app,
            &key,
            &format!("s-{p}"),
            p,
            heard_store::now_ms() - 1000,
        )
        .await;
    }
    app.store
        .enqueue(
            NewJob::new(t.org, oq::EVALUATE_KIND, json!({ "window": window })).dedupe_key("third"),
        )
        .await
        .unwrap();
    w.run_due_by(window_end()).await.unwrap();
    let half_items: Vec<_> = items(&app, t)
        .await
        .into_iter()
        .filter(|i| i.rule_id == Some(half))
        .collect();
    // The twenty people's calls, and the two calls of P-1 received in the same window.
    assert_eq!(half_items.len(), 22);
    for i in &half_items {
        let expected = heard_domain::invitation_rules::sampled_in(
            oq::sample_draw(&sealer, half, &i.person_key),
            50,
        );
        assert_eq!(i.reason == Some(Reason::SampledOut), !expected, "{i:?}");
    }
    let out = half_items
        .iter()
        .filter(|i| i.reason == Some(Reason::SampledOut))
        .count();
    assert!((3..=19).contains(&out), "{out} of 22 sampled out");
    // Deciding again (another evaluation of the window) writes nothing and changes nothing.
    app.store
        .enqueue(
            NewJob::new(t.org, oq::EVALUATE_KIND, json!({ "window": window })).dedupe_key("fourth"),
        )
        .await
        .unwrap();
    w.run_due_by(window_end()).await.unwrap();
    assert_eq!(items(&app, t).await.len(), 24);
});

/// A multipart/form-data body with `csrf`, `survey_id`, `channel` and the file.
fn upload_body(csrf: &str, survey: &str, channel: &str, csv: &str) -> (String, String) {
    let b = "heardtestboundary7MA4YWxkTrZu0gW";
    let mut body = String::new();
    for (k, v) in [("csrf", csrf), ("survey_id", survey), ("channel", channel)] {
        body.push_str(&format!(
            "--{b}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n"
        ));
    }
    body.push_str(&format!(
        "--{b}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"people.csv\"\r\nContent-Type: text/csv\r\n\r\n{csv}\r\n--{b}--\r\n"
    ));
    (format!("multipart/form-data; boundary={b}"), body)
}

both_backends!(batches_by_upload_and_api_all_or_nothing, |app| {
    let t = &app.a;
    let key = api_key(&app, t).await;
    sms_sender(&app, t).await;
    let admin = app.sign_in(&t.admin_email).await;
    let path = format!("{}/admin/o/{}/outreach/batches", app.base, t.org);
    let survey = t.survey.id.to_string();
    let zone = daytime_zone();
    let send = |csv: String| {
        let (ct, body) = upload_body(&admin.csrf, &survey, "sms", &csv);
        app.client
            .post(&path)
            .header("cookie", &admin.cookie)
            .header("content-type", ct)
            .body(body)
            .send()
    };
    // Bad lines: every one named by line and field; nothing written.
    let r = send(format!(
        "person_id,phone,language,time_zone\nC-1,202-555-0123,en,{z}\nC-2,555-01,es,\nC-3,(202) 555-0144,fr,{z}\n",
        z = zone.name()
    ))
    .await
    .unwrap();
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    assert!(html.contains("Line 3, phone"), "{html}");
    assert!(html.contains("Line 4, language"), "{html}");
    assert!(!html.contains("Line 2"), "{html}");
    assert_eq!(app.store.outreach_counts(t.org).await.unwrap().pending, 0);
    assert!(
        app.store
            .outreach_batches(t.org, 10)
            .await
            .unwrap()
            .is_empty()
    );
    // A good file: one invitation per line, due now; the same file again adds nothing.
    let good = format!(
        "person_id,phone,language,time_zone\nC-1,202-555-0123,en,{z}\nC-2,202-555-0124,es,{z}\n",
        z = zone.name()
    );
    let r = send(good.clone()).await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("2 invitations are in the"));
    let r = send(good).await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("uploaded already"));
    assert_eq!(app.store.outreach_counts(t.org).await.unwrap().pending, 2);

    // C-2's number opts out after the batch was written: held back at hand-off.
    let sealer = Sealer::new(&SECRET);
    let phone_key = oq::contact_hash(
        &sealer,
        t.org,
        heard_domain::invitation_rules::Channel::Sms,
        "+12025550124",
    );
    app.store
        .apply_inbound_sms(
            t.org,
            &heard_store::sms::InboundSms {
                sender_id: app.store.default_sms_sender(t.org).await.unwrap().unwrap(),
                provider_message_id: "SM-stop-1".into(),
                conversation_id: None,
                segments: Some(1),
                effect: heard_store::sms::InboundEffect::OptOut {
                    phone_key,
                    keyword: "STOP".into(),
                },
                now: heard_store::now_ms(),
            },
        )
        .await
        .unwrap();
    worker(&app)
        .run_due_by(heard_store::now_ms() + 120_000)
        .await
        .unwrap();
    let all = items(&app, t).await;
    let mut states: Vec<_> = all.iter().map(|i| (i.state, i.reason)).collect();
    states.sort_by_key(|s| s.0.key());
    assert_eq!(
        states,
        [
            (ItemState::Sent, None),
            (ItemState::Skipped, Some(Reason::OptedOut))
        ]
    );
    let sent = all.iter().find(|i| i.state == ItemState::Sent).unwrap();
    let job = app
        .store
        .job(
            t.org,
            heard_domain::JobId::from_uuid(sent.handoff_id.unwrap()),
        )
        .await
        .unwrap();
    assert_eq!(job.payload["outreach"], json!(sent.id));
    let html = app
        .get(&admin, &format!("/admin/o/{}/outreach/queue", t.org))
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("opted out (STOP)"), "{html}");

    // The API: keyed, all or nothing.
    let body = json!({"idempotency_key": "batch-0001", "survey_id": survey, "channel": "email",
        "contacts": [{"email": "bo@example.gov"}, {"email": "cy@example.gov", "language": "es"}]});
    let (s, first) = post(&app, &key, "/api/v1/outreach/batches", &body).await;
    assert_eq!(
        (s, first["created"].clone(), first["contacts"].clone()),
        (201, json!(true), json!(2)),
        "{first}"
    );
    let (s, again) = post(&app, &key, "/api/v1/outreach/batches", &body).await;
    assert_eq!(
        (s, again["id"].clone(), again["created"].clone()),
        (200, first["id"].clone(), json!(false))
    );
    let mut other = body.clone();
    other["contacts"][1]["email"] = json!("dee@example.gov");
    let (s, v) = post(&app, &key, "/api/v1/outreach/batches", &other).await;
    assert_eq!(
        (s, v["code"].as_str()),
        (409, Some("idempotency_key_reused")),
        "{v}"
    );
    let bad = json!({"idempotency_key": "batch-0002", "survey_id": survey, "channel": "sms",
        "contacts": [{"phone": "+12025550199"}, {"phone": "12345"}, {"email": "x@example.gov"}]});
    let (s, v) = post(&app, &key, "/api/v1/outreach/batches", &bad).await;
    assert_eq!(s, 422, "{v}");
    let fields: Vec<&str> = v["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["contacts[1].phone", "contacts[2].phone"]);
    assert_eq!(
        app.store.outreach_batches(t.org, 10).await.unwrap().len(),
        2
    );
    let (s, v) = post(
        &app,
        &key,
        "/api/v1/outreach/contacts",
        &json!({"items": [{"person": {"customer_id": "Z"}, "email": "not-an-address"}]}),
    )
    .await;
    assert_eq!(
        (s, v["errors"][0]["field"].as_str()),
        (422, Some("items[0].email")),
        "{v}"
    );

    // Tenants apart: B's key cannot invite to A's survey, B's admin sees none of A's rules or items.
    let b_key = api_key(&app, &app.b).await;
    let (s, v) = post(&app, &b_key, "/api/v1/outreach/batches",
        &json!({"idempotency_key": "batch-b-001", "survey_id": survey, "channel": "email", "contacts": [{"email": "e@example.gov"}]})).await;
    assert_eq!(
        (s, v["errors"][0]["code"].as_str()),
        (422, Some("unknown_survey")),
        "{v}"
    );
    let rule = app
        .store
        .create_outreach_rule(
            t.org,
            &RuleWrite {
                name: "A's rule",
                event_type: "call",
                service_id: None,
                touchpoint_id: None,
                channel: heard_domain::invitation_rules::Channel::Email,
                survey_id: t.survey.id,
                delay_minutes: 10,
                sample_percent: 100,
                cap_days: 90,
            },
            1,
        )
        .await
        .unwrap();
    let b_admin = app.sign_in(&app.b.admin_email).await;
    let r = app
        .get(
            &b_admin,
            &format!("/admin/o/{}/outreach/rules/{rule}", t.org),
        )
        .await;
    assert_eq!(r.status(), 404);
    let r = app
        .get(
            &b_admin,
            &format!("/admin/o/{}/outreach/rules/{rule}", app.b.org),
        )
        .await;
    assert_eq!(r.status(), 404);
    let html = app
        .get(&b_admin, &format!("/admin/o/{}/outreach/queue", app.b.org))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("Waiting: 0") && html.contains("Sent: 0"),
        "{html}"
    );
    let r = app
        .post(
            &b_admin,
            &format!("/admin/o/{}/outreach/rules/{rule}/pause", app.b.org),
            &[("paused", "true")],
        )
        .await;
    assert_eq!(r.status(), 404);
    assert!(!app.store.outreach_rule(t.org, rule).await.unwrap().paused);
    // A's rule page works for A, and a viewer may read but not change.
    let r = app
        .get(&admin, &format!("/admin/o/{}/outreach/rules/{rule}", t.org))
        .await;
    assert_eq!(r.status(), 200);
    let hash = heard_server::auth::hash_password(crate::support::PASSWORD).unwrap();
    let viewer = app
        .store
        .create_user("viewer@agency-a.example.gov", "Viewer", &hash, 1)
        .await
        .unwrap();
    app.store
        .set_membership(t.org, viewer.id, heard_domain::Role::Viewer, 1)
        .await
        .unwrap();
    let v = app.sign_in("viewer@agency-a.example.gov").await;
    let r = app
        .get(&v, &format!("/admin/o/{}/outreach/queue", t.org))
        .await;
    assert_eq!(r.status(), 200);
    let r = app
        .post(
            &v,
            &format!("/admin/o/{}/outreach/rules/{rule}/pause", t.org),
            &[("paused", "true")],
        )
        .await;
    assert_eq!(r.status(), 403);
});

both_backends!(
    a_persons_myagency_preference_is_kept_by_invitations,
    |app| {
        let t = &app.a;
        let key = api_key(&app, t).await;
        sms_sender(&app, t).await;
        let zone = daytime_zone();
        let sealer = Sealer::new(&SECRET);
        app.store
            .create_outreach_rule(
                t.org,
                &RuleWrite {
                    name: "After a call, by text",
                    event_type: "call",
                    service_id: None,
                    touchpoint_id: None,
                    channel: heard_domain::invitation_rules::Channel::Sms,
                    survey_id: t.survey.id,
                    delay_minutes: 0,
                    sample_percent: 100,
                    cap_days: 90,
                },
                1,
            )
            .await
            .unwrap();
        contacts(
        &app,
        &key,
        json!([{"person": {"customer_id": "P-2"}, "phone": "(202) 555-0102", "time_zone": zone.name()}]),
    )
    .await;
        // On their MyAgency page, the person with this number chose email only.
        let phone_key = sealer
            .person_key(
                t.org,
                &heard_domain::identity::PersonId::phone("p", "+12025550102").unwrap(),
            )
            .0;
        app.store
            .set_my_preferences(t.org, &phone_key, "email", "en", heard_store::now_ms())
            .await
            .unwrap();
        event(&app, &key, "call-pref", "P-2", heard_store::now_ms() - 1000).await;
        worker(&app).run_due_by(window_end()).await.unwrap();
        let all = items(&app, t).await;
        assert_eq!(all.len(), 1);
        assert_eq!(
            (all[0].state, all[0].reason),
            (ItemState::Skipped, Some(Reason::OptedOut)),
            "no text to a person who asked for email only"
        );
    }
);
