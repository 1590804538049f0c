//! Rules (issue 21, item 1): an admin makes a rule through the real form (refused by field when it has no condition
//! or action, or names another organization's service); it starts off, and its dry run says what it would have done
//! over the last 30 days; turned on, a matching response opens a case, queues its email and its `rule.matched`
//! webhook event in the response's own commit. The email goes through the organization's sender to a real SMTP
//! server (aiosmtpd on loopback); with no sender the rule is turned off with the reason shown. Crisis language
//! emails the on-call staff.

use heard_domain::case::{CaseSource, Priority};
use heard_store::cases::{CaseQuery, Queue};
use heard_store::webhooks::EndpointSettings;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::both_backends;
use crate::outreach_smtp::{SmtpSink, header, received};

fn worker(app: &crate::support::TestApp) -> heard_server::jobs::Worker {
    let mut registry = heard_server::jobs::JobRegistry::product();
    registry.register(
        heard_store::rules::NOTIFY_KIND,
        heard_server::cases::NotifyStaff::new(&[9u8; 32], "https://heard.example.gov"),
    );
    heard_server::jobs::Worker::new(app.store.clone(), registry, Default::default())
}

async fn open_cases(app: &crate::support::TestApp) -> Vec<heard_store::cases::CaseRecord> {
    app.store
        .cases(
            app.a.org,
            &CaseQuery {
                queue: Queue::Open,
                status: None,
                priority: None,
                limit: 50,
            },
        )
        .await
        .unwrap()
}

both_backends!(rules_act_in_the_responses_commit, |app| {
    let org = app.a.org;
    let s = app.sign_in(&app.a.admin_email).await;
    let admin = app.store.user_by_email(&app.a.admin_email).await.unwrap();
    let admin_id = admin.id.to_string();
    app.store
        .create_webhook_endpoint(
            org,
            &EndpointSettings {
                url: "http://127.0.0.1:9/hook".into(),
                description: "rules".into(),
                event_types: vec![heard_domain::webhook::EventType::RuleMatched],
            },
            b"sealed",
            heard_store::now_ms(),
        )
        .await
        .unwrap();
    let submit = |key: &'static str, trust: i64, comment: &'static str| {
        let app = &app;
        async move {
            let how = if trust == 0 {
                "went_badly"
            } else {
                "went_well"
            };
            let body = json!({"idempotency_key": key, "answers": {"trust": trust, how: ["ease"], "comment": comment}});
            let r: Value = app.submit_json(&app.a, &body).await;
            r["id"]
                .as_str()
                .unwrap_or_else(|| panic!("{r}"))
                .parse::<Uuid>()
                .unwrap()
        }
    };
    let first = submit("rule-0001", 0, "My refund is 14 weeks late.").await;

    // Refused by field: no condition, no action; another organization's service.
    let path = format!("/admin/o/{org}/rules");
    let bad = app.post(&s, &path, &[("name", "Nothing")]).await;
    assert_eq!(bad.status(), 422);
    let html = bad.text().await.unwrap();
    assert!(html.contains("Choose at least one condition"), "{html}");
    assert!(html.contains("Choose at least one thing the rule does"));
    let other_service = app.b.service.id.to_string();
    let bad = app
        .post(
            &s,
            &path,
            &[
                ("name", "Theirs"),
                ("service_id", &other_service),
                ("webhook", "yes"),
            ],
        )
        .await;
    assert_eq!(bad.status(), 422);
    assert!(
        bad.text()
            .await
            .unwrap()
            .contains("id=\"service_id-error\"")
    );
    assert!(
        app.store.rules(org).await.unwrap().is_empty(),
        "nothing half-saved"
    );

    let made = app
        .post(
            &s,
            &path,
            &[
                ("name", "Low trust about refunds"),
                ("trust_negative", "yes"),
                ("keywords", "refund\nreimbursement"),
                ("open_case", "yes"),
                ("priority", "high"),
                ("notify", &admin_id),
                ("webhook", "yes"),
            ],
        )
        .await;
    assert_eq!(made.status(), 303);
    let rule_path = made.headers()["location"]
        .to_str()
        .unwrap()
        .split('?')
        .next()
        .unwrap()
        .to_string();
    let rule_id: Uuid = rule_path.rsplit('/').next().unwrap().parse().unwrap();
    let rule = app.store.rule(org, rule_id).await.unwrap();
    assert!(!rule.enabled, "a new rule starts off");

    // Off: a matching response does nothing. The dry run counts both matching responses of the last 30 days.
    submit("rule-0002", 0, "Where is my refund?").await;
    submit("rule-0003", 1, "My refund came quickly, thank you.").await;
    assert!(open_cases(&app).await.is_empty());
    let dry = app.post(&s, &format!("{rule_path}/dry-run"), &[]).await;
    assert_eq!(dry.status(), 200);
    let html = dry.text().await.unwrap();
    assert!(
        html.contains("would have matched <strong>2</strong> of 3 responses and opened <strong>2</strong> cases"),
        "{html}"
    );
    assert!(
        app.store
            .rule_matches(org, rule_id, 10)
            .await
            .unwrap()
            .is_empty(),
        "a dry run changes nothing"
    );
    let _ = first;

    // A rule that emails is not turned on while there is no email sender.
    let refused = app
        .post(&s, &format!("{rule_path}/switch"), &[("on", "yes")])
        .await;
    assert_eq!(refused.status(), 422);
    assert!(
        refused
            .text()
            .await
            .unwrap()
            .contains("no email sender is set up")
    );
    assert!(!app.store.rule(org, rule_id).await.unwrap().enabled);
    // On (as a rule turned on before its sender went away): the match opens a case, queues the email and the
    // webhook event, in the response's commit.
    app.store
        .set_rule_enabled(org, rule_id, true)
        .await
        .unwrap();
    let matched = submit("rule-0004", 0, "Still no reimbursement after two months").await;
    submit(
        "rule-0005",
        0,
        "The office was closed when the sign said open.",
    )
    .await;
    let cases = open_cases(&app).await;
    assert_eq!(cases.len(), 1);
    assert_eq!(cases[0].source, CaseSource::Rule);
    assert_eq!(cases[0].priority, Priority::High);
    assert_eq!(cases[0].title, "Low trust about refunds");
    assert_eq!(cases[0].response_id, Some(matched));
    let matches = app.store.rule_matches(org, rule_id, 10).await.unwrap();
    assert_eq!(matches, vec![(matched, Some(cases[0].id), matches[0].2)]);
    assert_eq!(
        app.queued_jobs(org, heard_store::rules::NOTIFY_KIND)
            .await
            .len(),
        1
    );
    assert_eq!(
        app.queued_jobs(org, heard_store::webhooks::DELIVER_KIND)
            .await
            .len(),
        1
    );

    // No email sender: the email cannot go, so the rule is turned off with the reason, and the page says so.
    assert_eq!(worker(&app).run_pending_once().await.unwrap(), 1);
    let rule = app.store.rule(org, rule_id).await.unwrap();
    assert!(!rule.enabled);
    assert!(
        rule.disabled_reason
            .unwrap()
            .contains("No email sender is set up")
    );
    let page = app.get(&s, &rule_path).await.text().await.unwrap();
    assert!(page.contains("Heard turned this rule off"));
    assert!(
        page.contains(
            "When a new response has a negative trust answer and says &quot;refund&quot; or \
             &quot;reimbursement&quot;, this rule will open a case of high priority, email 1 member and send the \
             rule.matched webhook event."
        ),
        "{page}"
    );

    // With a sender (a real SMTP server on loopback) and the rule on again, the email goes out.
    let dir = tempfile::tempdir().unwrap();
    let port = crate::support::free_port();
    let _sink = SmtpSink::start(dir.path(), port);
    crate::outreach_smtp::loopback_sender(&app, &s, port).await;
    app.post(&s, &format!("{rule_path}/switch"), &[("on", "yes")])
        .await;
    assert!(
        app.store
            .rule(org, rule_id)
            .await
            .unwrap()
            .disabled_reason
            .is_none()
    );
    app.store
        .close_case(org, cases[0].id, "Refund file stuck", true, admin.id)
        .await
        .unwrap();
    submit("rule-0006", 0, "Refund missing again").await;
    let case = open_cases(&app).await.remove(0);
    assert_eq!(
        worker(&app).run_pending_once().await.unwrap(),
        1,
        "the email (webhooks.rs tests the deliveries)"
    );
    let got = received(dir.path(), 1);
    assert_eq!(got.len(), 1);
    assert_eq!(
        header(&got[0], "Subject"),
        Some(
            format!(
                "Rule \"Low trust about refunds\" opened case #{}",
                case.number
            )
            .as_str()
        )
    );
    assert!(header(&got[0], "To").unwrap().contains(&app.a.admin_email));
    let text = got[0]["text"].as_str().unwrap().to_string();
    assert!(
        text.contains(&format!("/admin/o/{org}/cases/{}", case.id)),
        "{text}"
    );
    assert!(
        !text.contains("Refund missing again"),
        "the email never quotes the person"
    );

    // Crisis language emails the on-call staff.
    let on_call = app
        .post(
            &s,
            &format!("/admin/o/{org}/cases/settings/on-call"),
            &[("on_call", &admin_id)],
        )
        .await;
    assert_eq!(on_call.status(), 303);
    submit(
        "rule-0007",
        1,
        "I lost my job, I can't pay rent, and I honestly don't see the point of living anymore.",
    )
    .await;
    let jobs = app.queued_jobs(org, heard_store::rules::NOTIFY_KIND).await;
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0].payload["reason"], "crisis");
    worker(&app).run_pending_once().await.unwrap();
    let got = received(dir.path(), 2);
    assert_eq!(got.len(), 2);
    assert!(
        header(&got[1], "Subject")
            .unwrap()
            .starts_with("Urgent: crisis language in a response, case #")
    );
});

both_backends!(a_crisis_notice_that_cannot_go_is_noted_on_the_case, |app| {
    let org = app.a.org;
    let admin = app.store.user_by_email(&app.a.admin_email).await.unwrap();
    let mut settings = app.store.case_settings(org).await.unwrap();
    settings.on_call = vec![admin.id.to_string()];
    app.store
        .save_case_settings(org, &settings, admin.id)
        .await
        .unwrap();
    let body = json!({"idempotency_key": "crisis-no-sender", "answers": {"trust": 1, "went_well": ["ease"],
        "comment": "I lost my job, I can't pay rent, and I honestly don't see the point of living anymore."}});
    app.submit_json(&app.a, &body).await;
    // No email sender: the notice is not retried; the case says no one was emailed.
    assert_eq!(worker(&app).run_pending_once().await.unwrap(), 1);
    assert!(
        app.queued_jobs(org, heard_store::rules::NOTIFY_KIND)
            .await
            .is_empty()
    );
    let case = open_cases(&app).await.remove(0);
    let notes: Vec<String> = app
        .store
        .case_history(org, case.id)
        .await
        .unwrap()
        .into_iter()
        .filter_map(|h| match h.change {
            heard_domain::case::Change::Note { body } => Some(body),
            _ => None,
        })
        .collect();
    assert_eq!(notes.len(), 1);
    assert!(
        notes[0].contains("could not email the on-call staff"),
        "{notes:?}"
    );
    let s = app.sign_in(&app.a.admin_email).await;
    let page = app
        .get(&s, &format!("/admin/o/{org}/cases/{}", case.id))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("No email sender is set up, so the on-call staff were not emailed"));
});

both_backends!(rules_that_could_never_work_are_refused, |app| {
    use heard_domain::rules::{Actions, Conditions, RuleSpec};
    let org = app.a.org;
    let spec = |name: &str, touchpoint: Option<String>| RuleSpec {
        name: name.into(),
        applies_to: Default::default(),
        conditions: Conditions {
            service_id: Some(app.a.service.id.to_string()),
            touchpoint_id: touchpoint,
            ..Default::default()
        },
        actions: Actions {
            webhook: true,
            ..Default::default()
        },
    };
    let id = app
        .store
        .create_rule(org, &spec("Web", None))
        .await
        .unwrap();
    // Its own name again is fine on an update; another rule with it (any capitals) is refused.
    app.store
        .update_rule(org, id, &spec("Web", None))
        .await
        .unwrap();
    let err = app
        .store
        .create_rule(org, &spec("WEB", None))
        .await
        .unwrap_err();
    let heard_store::StoreError::Invalid(errs) = err else {
        panic!("{err:?}")
    };
    assert_eq!(errs.0[0].field, "name");
    // A touchpoint of another service could never match.
    let now = heard_store::now_ms();
    let other = app
        .store
        .create_service(
            org,
            &heard_domain::LocalizedText::en_only("Passports"),
            &heard_domain::LocalizedText::default(),
            now,
        )
        .await
        .unwrap();
    let tp = app
        .store
        .create_touchpoint(
            org,
            other.id,
            &heard_domain::LocalizedText::en_only("Counter"),
            heard_domain::Channel::InPerson,
            now,
        )
        .await
        .unwrap();
    let err = app
        .store
        .create_rule(org, &spec("Counter", Some(tp.id.to_string())))
        .await
        .unwrap_err();
    let heard_store::StoreError::Invalid(errs) = err else {
        panic!("{err:?}")
    };
    assert_eq!(errs.0[0].field, "touchpoint_id");
});

both_backends!(rules_on_signals_bursts_and_cases, |app| {
    use heard_domain::rules::{Actions, AppliesTo, Conditions, RuleSpec, Similar};
    let org = app.a.org;
    let s = app.sign_in(&app.a.admin_email).await;
    let admin = app.store.user_by_email(&app.a.admin_email).await.unwrap();
    let path = format!("/admin/o/{org}/rules");
    // A signal rule through the form: a survey's trust answer is refused by field, then one that tags and opens a case.
    let bad = app
        .post(
            &s,
            &path,
            &[
                ("name", "Lost mail"),
                ("applies_to", "signals"),
                ("trust_negative", "yes"),
                ("tag", "lost-mail"),
            ],
        )
        .await;
    assert_eq!(bad.status(), 422);
    assert!(
        bad.text()
            .await
            .unwrap()
            .contains("A trust answer is not something a rule on signals can use")
    );
    let made = app
        .post(
            &s,
            &path,
            &[
                ("name", "Lost mail"),
                ("applies_to", "signals"),
                ("keywords", "lost in the mail"),
                ("tag", "lost-mail"),
                ("open_case", "yes"),
                ("priority", "high"),
            ],
        )
        .await;
    assert_eq!(made.status(), 303);
    let rule_path = made.headers()["location"]
        .to_str()
        .unwrap()
        .split('?')
        .next()
        .unwrap()
        .to_string();
    let rule_id: Uuid = rule_path.rsplit('/').next().unwrap().parse().unwrap();
    // A response rule on a trust answer at or below a value and the person's language (a segment).
    let segment = app
        .post(
            &s,
            &path,
            &[
                ("name", "Spanish thumbs down"),
                ("trust_at_most", "1"),
                ("language", "es"),
                ("webhook", "yes"),
            ],
        )
        .await;
    assert_eq!(segment.status(), 303);
    let bad = app
        .post(
            &s,
            &path,
            &[("name", "Odd"), ("trust_at_most", "5"), ("webhook", "yes")],
        )
        .await;
    assert_eq!(bad.status(), 422);
    let stored = app.store.rules(org).await.unwrap();
    let seg = stored
        .iter()
        .find(|r| r.spec.name == "Spanish thumbs down")
        .unwrap();
    assert_eq!(seg.spec.conditions.trust_at_most, Some(1));
    assert_eq!(seg.spec.conditions.language.as_deref(), Some("es"));
    let key = crate::door::api_key(&app, &app.a).await;
    crate::door::signals(
        &app,
        &key,
        json!([{"external_id": "sig-before", "source": "email", "text": "My letter was lost in the mail."}]),
    )
    .await;
    let dry = app.post(&s, &format!("{rule_path}/dry-run"), &[]).await;
    let html = dry.text().await.unwrap();
    assert!(
        html.contains("would have matched <strong>1</strong> of 1 signals"),
        "{html}"
    );
    app.post(&s, &format!("{rule_path}/switch"), &[("on", "yes")])
        .await;
    crate::door::signals(
        &app,
        &key,
        json!([
            {"external_id": "sig-1", "source": "email", "text": "Your office says my card was LOST in the mail again."},
            {"external_id": "sig-2", "source": "email", "text": "Thank you for the quick reply."}
        ]),
    )
    .await;
    let hits = app.store.rule_hits(org, rule_id, 10).await.unwrap();
    assert_eq!(hits.len(), 1, "{hits:?}");
    let (kind, signal, case, _) = &hits[0];
    assert_eq!(kind, "signal");
    let case = app.store.case(org, case.unwrap()).await.unwrap();
    assert_eq!(case.source, CaseSource::Rule);
    assert_eq!(case.priority, Priority::High);
    let links = app.store.case_links(org, case.id).await.unwrap();
    assert_eq!(links[0].target_id, *signal);
    assert_eq!(
        app.store
            .item_tags(org, heard_store::rules::HitKind::Signal, *signal)
            .await
            .unwrap(),
        ["lost-mail"]
    );
    let page = app
        .get(&s, &format!("/admin/o/{org}/signals/{signal}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("lost-mail"),
        "the signal's page shows its tag"
    );

    // A burst: at least 3 responses sharing a theme within a day fires once, however many follow.
    let comment = "I waited on hold on the phone for two hours before anyone answered.";
    let mut themes = vec![];
    let submit = |n: usize| {
        let app = &app;
        async move {
            let r: Value = app
                .submit_json(
                    &app.a,
                    &json!({"idempotency_key": format!("burst-{n:04}"), "answers": {"trust": 0, "went_badly": ["ease"], "comment": comment}}),
                )
                .await;
            r["id"].as_str().unwrap().parse::<Uuid>().unwrap()
        }
    };
    let first = submit(0).await;
    themes.extend(
        app.store
            .response(org, heard_domain::ResponseId::from_uuid(first))
            .await
            .unwrap()
            .themes,
    );
    assert!(!themes.is_empty(), "the comment has a theme");
    let burst = app
        .store
        .create_rule(
            org,
            &RuleSpec {
                name: "Many about the same thing".into(),
                applies_to: AppliesTo::Responses,
                conditions: Conditions {
                    similar: Some(Similar {
                        at_least: 3,
                        hours: 24,
                    }),
                    ..Default::default()
                },
                actions: Actions {
                    tag: Some("burst".into()),
                    webhook: true,
                    ..Default::default()
                },
            },
        )
        .await
        .unwrap();
    app.store.set_rule_enabled(org, burst, true).await.unwrap();
    let second = submit(1).await;
    let third = submit(2).await;
    let fourth = submit(3).await;
    let tags = |id: Uuid| {
        let store = app.store.clone();
        async move {
            store
                .item_tags(org, heard_store::rules::HitKind::Response, id)
                .await
                .unwrap()
        }
    };
    assert!(tags(second).await.is_empty(), "two are not a burst");
    assert_eq!(tags(third).await, ["burst"], "the third makes it one");
    assert!(tags(fourth).await.is_empty(), "once per theme and period");
    assert_eq!(app.store.rule(org, burst).await.unwrap().matched, 1);

    // A case rule: when a deadline is about to be missed, the case goes to a team and the members are emailed.
    let team = app
        .store
        .create_case_team(org, "Supervisors")
        .await
        .unwrap();
    let mut settings = app.store.case_settings(org).await.unwrap();
    settings.sla = Some(heard_domain::sla::SlaPolicySpec {
        calendar: heard_domain::sla::CalendarSpec {
            time_zone: "America/New_York".into(),
            always_open: true,
            hours: Default::default(),
            holidays: vec![],
        },
        first_response_minutes: Some(60),
        next_update_minutes: None,
        resolution_minutes: None,
        pause_statuses: vec![],
        end_statuses: None,
        warn_percent: Some(50),
        escalations: vec![],
    });
    app.store
        .save_case_settings(org, &settings, admin.id)
        .await
        .unwrap();
    let at_risk = app
        .store
        .create_rule(
            org,
            &RuleSpec {
                name: "Nearly late".into(),
                applies_to: AppliesTo::Cases,
                conditions: Conditions {
                    sla_at_risk: true,
                    ..Default::default()
                },
                actions: Actions {
                    assign_team: Some(team.id.to_string()),
                    notify: vec![admin.id.to_string()],
                    ..Default::default()
                },
            },
        )
        .await
        .unwrap();
    app.store
        .set_rule_enabled(org, at_risk, true)
        .await
        .unwrap();
    let c = app
        .store
        .open_case(
            org,
            &heard_store::cases::NewCase {
                title: "Card never arrived".into(),
                priority: Priority::Normal,
                source: CaseSource::Staff,
                team_id: None,
                owner_id: None,
                service_id: None,
                person_key: None,
                response_id: None,
                note: None,
            },
            Some(admin.id),
        )
        .await
        .unwrap();
    // Forty minutes in: past the warning share (30 of 60 minutes), not yet late.
    app.store
        .check_case(org, c.id, None, c.opened_at + 40 * 60_000)
        .await
        .unwrap();
    let after = app.store.case(org, c.id).await.unwrap();
    assert_eq!(after.team_id, Some(team.id));
    let notices = app
        .queued_jobs(org, heard_store::rules::NOTIFY_KIND)
        .await
        .into_iter()
        .filter(|j| j.payload["reason"] == "rule_at_risk")
        .count();
    assert_eq!(notices, 1);
    // Checked again at the same deadline: nothing twice.
    app.store
        .check_case(org, c.id, None, c.opened_at + 45 * 60_000)
        .await
        .unwrap();
    assert_eq!(app.store.rule(org, at_risk).await.unwrap().matched, 1);
    let page = app
        .get(&s, &format!("/admin/o/{org}/rules/{at_risk}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("cannot be tried on the past"), "{page}");
    assert!(page.contains("give the case to Supervisors"), "{page}");
    // An event rule: a call that waited an hour or more opens a case linked to it.
    let waits = app
        .store
        .create_rule(
            org,
            &RuleSpec {
                name: "Waited an hour".into(),
                applies_to: AppliesTo::Events,
                conditions: Conditions {
                    event_types: vec!["call".into()],
                    measure: Some(heard_domain::rules::MeasureAtLeast {
                        name: "wait".into(),
                        at_least: 3_600,
                    }),
                    ..Default::default()
                },
                actions: Actions {
                    open_case: Some(heard_domain::rules::OpenCase {
                        priority: Priority::Normal,
                        team_id: None,
                    }),
                    ..Default::default()
                },
            },
        )
        .await
        .unwrap();
    app.store.set_rule_enabled(org, waits, true).await.unwrap();
    crate::door::events(
        &app,
        &key,
        json!([
            {"external_id": "call-long", "type": "call", "measures": {"wait": 4000}},
            {"external_id": "call-short", "type": "call", "measures": {"wait": 60}},
            {"external_id": "visit-long", "type": "office_visit", "measures": {"wait": 9000}}
        ]),
    )
    .await;
    let hits = app.store.rule_hits(org, waits, 10).await.unwrap();
    assert_eq!(hits.len(), 1, "{hits:?}");
    let case = app.store.case(org, hits[0].2.unwrap()).await.unwrap();
    assert_eq!(case.title, "Waited an hour: call");
    let links = app.store.case_links(org, case.id).await.unwrap();
    assert_eq!(links[0].kind, heard_domain::case::LinkKind::Event);
    assert_eq!(links[0].target_id, hits[0].1);
    let dry = app
        .post(&s, &format!("/admin/o/{org}/rules/{waits}/dry-run"), &[])
        .await
        .text()
        .await
        .unwrap();
    assert!(
        dry.contains("would have matched <strong>1</strong> of 3 events"),
        "{dry}"
    );
    // Another organization sees none of it.
    assert!(
        app.store
            .rule_hits(app.b.org, rule_id, 10)
            .await
            .unwrap()
            .is_empty()
    );
});
