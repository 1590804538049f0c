//! Cases with SLAs (issue 21, item 2): crisis language opens an urgent case in the response's own commit; staff
//! set teams, statuses and service levels and work cases through the real admin forms (open from a response,
//! assign, pause, write, close, bulk actions); every change is in the append-only history (the database refuses updates: `heard-store/tests/migrations.rs`); deadlines follow the
//! business-hours calendar and are recomputed when the SLA changes; the escalation check records steps; figures
//! count what happened; another organization sees none of it.

use heard_domain::case::{Change, LinkKind, Priority, SlaFlag};
use heard_store::cases::{CaseQuery, Queue};
use heard_store::webhooks::EndpointSettings;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::both_backends;

both_backends!(crisis_opens_an_urgent_case_in_the_responses_commit, |app| {
    // An endpoint that chose case.opened gets one delivery per crisis case, queued in the same commit.
    app.store
        .create_webhook_endpoint(
            app.a.org,
            &EndpointSettings {
                url: "http://127.0.0.1:9/hook".into(),
                description: "cases".into(),
                event_types: vec![heard_domain::webhook::EventType::CaseOpened],
            },
            b"sealed",
            heard_store::now_ms(),
        )
        .await
        .unwrap();
    let comments = [
        ("case-crisis-1", "The staff were kind and quick.", false),
        (
            "case-crisis-2",
            "I lost my job, I can't pay rent, and I honestly don't see the point of living anymore.",
            true,
        ),
        (
            "case-crisis-3",
            "Someone is going to make you pay for this.",
            false,
        ),
    ];
    let mut crisis_response = String::new();
    for (key, comment, crisis) in comments {
        let body = json!({"idempotency_key": key, "answers": {"trust": 1, "went_well": ["ease"], "comment": comment}});
        let r: Value = app.submit_json(&app.a, &body).await;
        if crisis {
            crisis_response = r["id"].as_str().unwrap().to_string();
        }
        // A retry of the same submission opens no second case.
        app.submit_json(&app.a, &body).await;
    }
    let open = app
        .store
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
        .unwrap();
    assert_eq!(
        open.len(),
        1,
        "one crisis, one case (a threat is urgent but not a crisis)"
    );
    let c = &open[0];
    assert_eq!(c.priority, Priority::Urgent);
    assert_eq!(c.source, heard_domain::case::CaseSource::Crisis);
    assert_eq!(c.number, 1);
    assert_eq!(c.response_id.unwrap().to_string(), crisis_response);
    assert_eq!(c.service_id, Some(*app.a.service.id.as_uuid()));
    let links = app.store.case_links(app.a.org, c.id).await.unwrap();
    assert_eq!(links.len(), 1);
    assert_eq!(links[0].kind, LinkKind::Response);
    let deliveries = app
        .queued_jobs(app.a.org, heard_store::webhooks::DELIVER_KIND)
        .await;
    assert_eq!(deliveries.len(), 1, "case.opened queued once");
    // The response's page names its case; the case's page says what to do.
    let s = app.sign_in(&app.a.admin_email).await;
    let page = app
        .get(
            &s,
            &format!("/admin/o/{}/responses/{crisis_response}", app.a.org),
        )
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("Case #1: Crisis language"), "{page}");
    let page = app
        .get(&s, &format!("/admin/o/{}/cases/{}", app.a.org, c.id))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("988 Suicide &amp; Crisis Lifeline"));
    assert!(page.contains("Opened as open, priority urgent"));
    // Another organization's admin finds nothing, by page or by store.
    let b = app
        .sign_in(&format!("admin@{}.example.gov", app.b.slug))
        .await;
    let other = app
        .get(&b, &format!("/admin/o/{}/cases/{}", app.b.org, c.id))
        .await;
    assert_eq!(other.status(), 404);
    let err = app
        .store
        .change_cases(
            app.b.org,
            &[c.id],
            &[Change::Priority {
                priority: Priority::Low,
            }],
            heard_domain::UserId::new(),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, heard_store::StoreError::NotFound), "{err:?}");
});

both_backends!(staff_work_cases_against_business_hours_slas, |app| {
    let org = app.a.org;
    let s = app.sign_in(&app.a.admin_email).await;
    let base = format!("/admin/o/{org}/cases");
    // Settings: a bad SLA is refused by field, and nothing is saved.
    let bad = app
        .post(
            &s,
            &format!("{base}/settings"),
            &[
                ("track", "yes"),
                ("time_zone", "Mars/Olympus"),
                ("hours_mon", "17:00-08:00"),
                ("first_response_hours", "-2"),
            ],
        )
        .await;
    assert_eq!(bad.status(), 422);
    let html = bad.text().await.unwrap();
    assert!(html.contains("id=\"time_zone-error\""), "{html}");
    assert!(html.contains("id=\"hours_mon-error\""), "{html}");
    assert!(html.contains("id=\"first_response_hours-error\""), "{html}");
    assert!(app.store.case_settings(org).await.unwrap().sla.is_none());
    // A team, a status of our own that stops the clock, and service levels open around the clock.
    assert_eq!(
        app.post(
            &s,
            &format!("{base}/settings/teams"),
            &[("team_name", "Benefits call centre")]
        )
        .await
        .status(),
        303
    );
    let dup = app
        .post(
            &s,
            &format!("{base}/settings/teams"),
            &[("team_name", "Benefits call centre")],
        )
        .await;
    assert_eq!(dup.status(), 422);
    assert_eq!(
        app.post(
            &s,
            &format!("{base}/settings/statuses"),
            &[
                ("status_label", "Waiting on another agency"),
                ("status_kind", "pauses")
            ],
        )
        .await
        .status(),
        303
    );
    let saved = app
        .post(
            &s,
            &format!("{base}/settings"),
            &[
                ("track", "yes"),
                ("time_zone", "UTC"),
                ("always_open", "yes"),
                ("first_response_hours", "4"),
                ("resolution_hours", "40"),
                ("escalations", "0 Tell the supervisor\n8 Tell the director"),
            ],
        )
        .await;
    assert_eq!(saved.status(), 303);
    let settings = app.store.case_settings(org).await.unwrap();
    let sla = settings.sla.clone().unwrap();
    assert_eq!(sla.first_response_minutes, Some(240));
    assert_eq!(sla.escalations.len(), 2);
    let team = app.store.case_teams(org).await.unwrap().remove(0);

    // A response, and a case opened about it from its page's form.
    let r: Value = app
        .submit_json(
            &app.a,
            &json!({"idempotency_key": "case-staff-1", "answers": {"trust": 1, "went_well": ["ease"], "comment": "My card went to my old address."}}),
        )
        .await;
    let response = r["id"].as_str().unwrap().to_string();
    let form = app
        .get(&s, &format!("{base}/new?response={response}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(form.contains(&response));
    let missing = app
        .post(
            &s,
            &base,
            &[
                ("title", ""),
                ("priority", "p0"),
                ("response_id", &response),
            ],
        )
        .await;
    assert_eq!(missing.status(), 422);
    let html = missing.text().await.unwrap();
    assert!(html.contains("id=\"title-error\"") && html.contains("Give the case a title"));
    let opened = app
        .post(
            &s,
            &base,
            &[
                ("title", "Card sent to the old address"),
                ("priority", "high"),
                ("team", &team.id.to_string()),
                ("owner", "me"),
                ("response_id", &response),
                ("note", "Check the address change of 3 March."),
            ],
        )
        .await;
    assert_eq!(opened.status(), 303);
    let loc = opened.headers()["location"].to_str().unwrap().to_string();
    let id: Uuid = loc.rsplit('/').next().unwrap().parse().unwrap();
    let c = app.store.case(org, id).await.unwrap();
    assert_eq!(c.priority, Priority::High);
    assert_eq!(c.team_id, Some(team.id));
    assert!(c.owner_id.is_some());
    assert_eq!(c.sla_flag, SlaFlag::Running);
    assert_eq!(
        c.due_at,
        Some(c.opened_at + 4 * 3_600_000),
        "first response due 4 h after opening"
    );
    assert!(
        !app.queued_jobs(org, heard_store::cases::CHECK_KIND)
            .await
            .is_empty()
    );

    // An unknown status is refused and nothing changes; pausing stops the clock; a public update is a reply.
    let refused = app
        .post(&s, &format!("{base}/{id}"), &[("status", "lost")])
        .await;
    assert_eq!(refused.status(), 422);
    assert_eq!(app.store.case(org, id).await.unwrap().status, "open");
    let paused = app
        .post(
            &s,
            &format!("{base}/{id}"),
            &[("status", "waiting_on_another_agency")],
        )
        .await;
    assert_eq!(paused.status(), 303);
    let c = app.store.case(org, id).await.unwrap();
    assert_eq!(c.sla_flag, SlaFlag::Paused);
    assert_eq!(c.next_check_at, None, "no check while the clock is stopped");
    let empty = app
        .post(
            &s,
            &format!("{base}/{id}/write"),
            &[("kind", "public"), ("body", " ")],
        )
        .await;
    assert_eq!(empty.status(), 422);
    assert!(empty.text().await.unwrap().contains("id=\"body-error\""));
    assert_eq!(
        app.post(
            &s,
            &format!("{base}/{id}/write"),
            &[
                ("kind", "public"),
                ("body", "Called: a new card is on its way.")
            ],
        )
        .await
        .status(),
        303
    );
    assert_eq!(
        app.post(&s, &format!("{base}/{id}"), &[("status", "in_progress")])
            .await
            .status(),
        303
    );
    let c = app.store.case(org, id).await.unwrap();
    assert!(c.first_public_update_at.is_some());
    assert_eq!(
        c.due_at,
        Some(c.opened_at + 40 * 3_600_000 + paused_ms(&app, org, id).await)
    );

    // A shorter SLA recomputes the deadline from the same history.
    let resaved = app
        .post(
            &s,
            &format!("{base}/settings"),
            &[
                ("track", "yes"),
                ("time_zone", "UTC"),
                ("always_open", "yes"),
                ("first_response_hours", "4"),
                ("resolution_hours", "20"),
                ("escalations", "0 Tell the supervisor\n8 Tell the director"),
            ],
        )
        .await;
    assert_eq!(resaved.status(), 303);
    let c = app.store.case(org, id).await.unwrap();
    assert_eq!(
        c.due_at,
        Some(c.opened_at + 20 * 3_600_000 + paused_ms(&app, org, id).await)
    );

    // The owner is to hear of missed deadlines and escalations.
    assert_eq!(
        app.post(
            &s,
            &format!("{base}/settings/on-call"),
            &[("notify_deadlines", "yes")]
        )
        .await
        .status(),
        303
    );
    // The escalation check, 30 hours on: resolution missed 10 hours ago passes both steps.
    let later = c.opened_at + 30 * 3_600_000;
    let steps = app.store.check_case(org, id, None, later).await.unwrap();
    assert_eq!(steps, 2);
    let notices = app.queued_jobs(org, heard_store::rules::NOTIFY_KIND).await;
    assert_eq!(notices.len(), 1);
    assert_eq!(notices[0].payload["reason"], "escalated");
    assert_eq!(
        notices[0].payload["users"][0],
        c.owner_id.unwrap().to_string()
    );
    let c = app.store.case(org, id).await.unwrap();
    assert_eq!(c.status, "escalated");
    assert_eq!(c.sla_flag, SlaFlag::Breached);
    assert_eq!(c.escalation_level, 2);
    assert_eq!(
        app.store.check_case(org, id, None, later).await.unwrap(),
        0,
        "steps are recorded once"
    );

    // Closing asks for the outcome; the history keeps everything in order.
    let no_outcome = app
        .post(
            &s,
            &format!("{base}/{id}/close"),
            &[("root_cause", "Address change not sent to the card vendor")],
        )
        .await;
    assert_eq!(no_outcome.status(), 422);
    assert_eq!(
        app.post(
            &s,
            &format!("{base}/{id}/close"),
            &[
                ("root_cause", "Address change not sent to the card vendor"),
                ("resolved", "yes")
            ],
        )
        .await
        .status(),
        303
    );
    let c = app.store.case(org, id).await.unwrap();
    assert!(c.ended);
    assert_eq!(c.resolved, Some(true));
    assert_eq!(
        c.sla_flag,
        SlaFlag::Breached,
        "a missed deadline stays missed"
    );
    let kinds: Vec<&str> = app
        .store
        .case_history(org, id)
        .await
        .unwrap()
        .iter()
        .map(|h| h.change.to_row().0)
        .collect();
    assert_eq!(
        kinds,
        [
            "opened",
            "team",
            "owner",
            "linked",
            "note",
            "status",
            "public_update",
            "status",
            "sla_recomputed",
            "escalated",
            "escalated",
            "status",
            "outcome",
            "status"
        ]
    );
    let page = app
        .get(&s, &format!("{base}/{id}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("Root cause: Address change not sent to the card vendor"));
    assert!(page.contains("Escalated (step 2): resolution target missed"));

    // Bulk: two new cases assigned to the team and put in progress at once; an unknown team refuses all.
    let mut ids = vec![];
    for t in ["Letter unclear", "Wait too long"] {
        let c = app
            .store
            .open_case(
                org,
                &heard_store::cases::NewCase {
                    title: t.into(),
                    priority: Priority::Normal,
                    source: heard_domain::case::CaseSource::Staff,
                    team_id: None,
                    owner_id: None,
                    service_id: None,
                    person_key: None,
                    response_id: None,
                    note: None,
                },
                None,
            )
            .await
            .unwrap();
        ids.push(c.id.to_string());
    }
    let bad_bulk = app
        .post(
            &s,
            &format!("{base}/bulk"),
            &[
                ("case", &ids[0]),
                ("case", &ids[1]),
                ("team", &Uuid::now_v7().to_string()),
            ],
        )
        .await;
    assert_eq!(bad_bulk.status(), 422);
    let bulk = app
        .post(
            &s,
            &format!("{base}/bulk"),
            &[
                ("queue", "unassigned"),
                ("case", &ids[0]),
                ("case", &ids[1]),
                ("team", &team.id.to_string()),
                ("status", "in_progress"),
            ],
        )
        .await;
    assert_eq!(bulk.status(), 303);
    assert!(
        bulk.headers()["location"]
            .to_str()
            .unwrap()
            .contains("done=2")
    );
    let team_queue = app
        .get(&s, &format!("{base}?queue=team&team={}", team.id))
        .await
        .text()
        .await
        .unwrap();
    assert!(team_queue.contains("Letter unclear") && team_queue.contains("Wait too long"));
    assert!(
        !team_queue.contains("Card sent to the old address"),
        "ended cases leave the team queue"
    );
    let ended = app
        .get(&s, &format!("{base}?queue=ended"))
        .await
        .text()
        .await
        .unwrap();
    assert!(ended.contains("Card sent to the old address"));

    // Figures: one closed case, resolved, with a trusting response.
    let figures = app
        .get(&s, &format!("{base}/figures"))
        .await
        .text()
        .await
        .unwrap();
    assert!(figures.contains("3 opened, 2 still open"), "{figures}");
    assert!(
        figures.contains("Closed cases that resolved the person's issue</th><td>100%"),
        "{figures}"
    );

    // A viewer reads but may not change.
    let viewer_email = "viewer@a.example.gov";
    let hash = heard_server::auth::hash_password(crate::support::PASSWORD).unwrap();
    let user = app
        .store
        .create_user(viewer_email, "Vera Viewer", &hash, heard_store::now_ms())
        .await
        .unwrap();
    app.store
        .set_membership(
            org,
            user.id,
            heard_domain::Role::Viewer,
            heard_store::now_ms(),
        )
        .await
        .unwrap();
    let v = app.sign_in(viewer_email).await;
    assert_eq!(app.get(&v, &format!("{base}/{id}")).await.status(), 200);
    assert_eq!(
        app.post(&v, &format!("{base}/{}", ids[0]), &[("priority", "low")])
            .await
            .status(),
        403
    );
    assert_eq!(app.get(&v, &format!("{base}/settings")).await.status(), 403);
});

/// How long the case spent in a pausing status, from its history (the test paused it once).
async fn paused_ms(app: &crate::support::TestApp, org: heard_domain::OrgId, id: Uuid) -> i64 {
    let h = app.store.case_history(org, id).await.unwrap();
    let paused_at = h
        .iter()
        .find(|e| matches!(&e.change, Change::Status { status } if status == "waiting_on_another_agency"))
        .map(|e| e.at)
        .unwrap();
    let resumed_at = h
        .iter()
        .find(|e| matches!(&e.change, Change::Status { status } if status == "in_progress"))
        .map(|e| e.at)
        .unwrap();
    resumed_at - paused_at
}

both_backends!(the_person_checks_their_case_and_adds_information, |app| {
    // A crisis comment on the hosted page: the thank-you page shows the 988 Lifeline and the case's status link.
    let url = format!("{}/s/{}/{}", app.base, app.a.slug, app.a.survey.id);
    let r = app
        .client
        .post(&url)
        .form(&[
            ("idempotency_key", "status-page-0001"),
            ("lang", "es"),
            ("q.trust", "0"),
            ("q.went_badly", "ease"),
            (
                "q.comment",
                "I lost my job, I can't pay rent, and I honestly don't see the point of living anymore.",
            ),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let thanks = r.headers()["location"].to_str().unwrap().to_string();
    assert!(thanks.contains("/thanks?lang=es&case="), "{thanks}");
    let page = app
        .client
        .get(format!("{}{thanks}", app.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("Línea 988 de Prevención del Suicidio y Crisis"),
        "{page}"
    );
    assert!(page.contains("Abrimos el caso n.º 1 para usted"));
    assert!(
        page.contains("No nos dejó un número de teléfono ni un correo electrónico"),
        "no promise of a call"
    );
    assert!(page.contains("href=\"tel:988\""));
    let token = thanks.split("case=").nth(1).unwrap().to_string();
    let status_path = format!("/status/{token}");
    let status = app
        .client
        .get(format!("{}{status_path}?lang=en", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(status.status(), 200);
    let html = status.text().await.unwrap();
    assert!(html.contains("Your case #1"));
    assert!(html.contains("We have your request."));
    assert!(html.contains("988 Suicide &amp; Crisis Lifeline"));
    let case = app
        .store
        .cases(
            app.a.org,
            &CaseQuery {
                queue: Queue::Open,
                status: None,
                priority: None,
                limit: 5,
            },
        )
        .await
        .unwrap()
        .remove(0);
    assert!(html.contains(&case.status_code));

    // Staff ask for a document and wait; the person adds it; the case goes back to in progress.
    let s = app.sign_in(&app.a.admin_email).await;
    let base = format!("/admin/o/{}/cases/{}", app.a.org, case.id);
    let admin_page = app.get(&s, &base).await.text().await.unwrap();
    assert!(
        admin_page.contains(&token),
        "the case page gives staff the link: {}",
        &admin_page[admin_page.find("status page").unwrap_or(0)..][..600.min(admin_page.len())]
    );
    app.post(
        &s,
        &format!("{base}/write"),
        &[
            ("kind", "public"),
            ("body", "Please send the letter's number."),
        ],
    )
    .await;
    app.post(
        &s,
        &format!("{base}/write"),
        &[
            ("kind", "note"),
            ("body", "Staff only: check the 3 March letter."),
        ],
    )
    .await;
    app.post(&s, &base, &[("status", "waiting_on_customer")])
        .await;
    let html = app
        .client
        .get(format!("{}{status_path}?lang=en", app.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("We are waiting for information from you."));
    assert!(
        html.contains("Please send the letter&#x27;s number.")
            || html.contains("Please send the letter's number.")
    );
    assert!(
        !html.contains("Staff only"),
        "notes for staff never reach the person"
    );
    let empty = app
        .client
        .post(format!("{}{status_path}", app.base))
        .form(&[("lang", "en"), ("information", "  ")])
        .send()
        .await
        .unwrap();
    assert_eq!(empty.status(), 422);
    assert!(
        empty
            .text()
            .await
            .unwrap()
            .contains("id=\"information-error\"")
    );
    let added = app
        .client
        .post(format!("{}{status_path}", app.base))
        .form(&[
            ("lang", "en"),
            ("information", "The letter number is 2026-114."),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(added.status(), 303);
    let c = app.store.case(app.a.org, case.id).await.unwrap();
    assert_eq!(c.status, "in_progress");
    let last: Vec<_> = app
        .store
        .case_history(app.a.org, case.id)
        .await
        .unwrap()
        .into_iter()
        .rev()
        .take(2)
        .map(|h| (h.actor_id, h.change))
        .collect();
    assert_eq!(
        last,
        [
            (
                None,
                Change::Status {
                    status: "in_progress".into()
                }
            ),
            (
                None,
                Change::FromPerson {
                    body: "The letter number is 2026-114.".into()
                }
            ),
        ]
    );

    // The short code, typed as a person would, opens the same page; wrong ones get one not-found page.
    let lookup = format!("{}/s/{}/status", app.base, app.a.slug);
    let typed = case.status_code.to_lowercase().replace('-', " ");
    let found = app
        .client
        .get(&lookup)
        .query(&[("code", typed.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(found.status(), 303);
    assert!(
        found.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with(&status_path)
    );
    let unknown = app
        .client
        .get(&lookup)
        .query(&[("code", "ZZZZ-ZZZZ")])
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
    let forged = format!("/status/{}{}", Uuid::now_v7().simple(), &token[32..]);
    let wrong = app
        .client
        .get(format!("{}{forged}", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 404);
    let garbage = app
        .client
        .get(format!("{}/status/abc", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(garbage.status(), 404);
    let missing_page = wrong.text().await.unwrap();
    assert_eq!(
        missing_page,
        garbage.text().await.unwrap(),
        "the same page for every wrong link"
    );
    // Another organization's code is not found under this one's address.
    let other = format!("{}/s/{}/status", app.base, app.b.slug);
    let r = app
        .client
        .get(&other)
        .query(&[("code", case.status_code.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    // Codes cannot be tried at speed: within a minute the address's budget runs out (bounded: 60 tries).
    let mut limited = false;
    for i in 0..60 {
        let r = app
            .client
            .get(&lookup)
            .query(&[("code", format!("AAAA-{:04}", i).as_str())])
            .send()
            .await
            .unwrap();
        if r.status() == 429 {
            limited = true;
            break;
        }
    }
    assert!(limited, "lookups are rate-limited");
    // A right link still opens (its token cannot be guessed); a wrong one is refused in the person's language.
    let still = app
        .client
        .get(format!("{}{status_path}", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(still.status(), 200);
    let refused = app
        .client
        .get(format!("{}{forged}?lang=es", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 429);
    assert!(
        refused
            .text()
            .await
            .unwrap()
            .contains("Demasiados intentos")
    );
});

both_backends!(closing_owners_teams_and_urgent_clocks, |app| {
    use heard_domain::sla::{CalendarSpec, SlaPolicySpec};
    let org = app.a.org;
    let admin = app.store.user_by_email(&app.a.admin_email).await.unwrap();
    let mut settings = app.store.case_settings(org).await.unwrap();
    settings.sla = Some(SlaPolicySpec {
        calendar: CalendarSpec {
            time_zone: "UTC".into(),
            always_open: false,
            hours: [("mon".to_string(), vec!["09:00-17:00".to_string()])]
                .into_iter()
                .collect(),
            holidays: vec![],
        },
        first_response_minutes: Some(60),
        next_update_minutes: None,
        resolution_minutes: None,
        pause_statuses: vec![],
        end_statuses: None,
        warn_percent: None,
        escalations: vec![],
    });
    app.store
        .save_case_settings(org, &settings, admin.id)
        .await
        .unwrap();
    let open = |title: &'static str, priority: Priority| {
        let app = &app;
        async move {
            app.store
                .open_case(
                    org,
                    &heard_store::cases::NewCase {
                        title: title.into(),
                        priority,
                        source: heard_domain::case::CaseSource::Staff,
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
                .unwrap()
        }
    };
    let normal = open("Normal", Priority::Normal).await;
    let urgent = open("Urgent", Priority::Urgent).await;
    // Urgent cases count every hour: due an hour after opening, whatever the day; others wait for Monday's hours.
    assert_eq!(urgent.due_at, Some(urgent.opened_at + 3_600_000));
    assert!(normal.due_at.unwrap() >= urgent.due_at.unwrap());
    let queue = app
        .store
        .cases(
            org,
            &CaseQuery {
                queue: Queue::Open,
                status: None,
                priority: None,
                limit: 10,
            },
        )
        .await
        .unwrap();
    assert_eq!(queue[0].id, urgent.id, "urgent cases come first");

    // No way into an ending status without the outcome.
    let err = app
        .store
        .change_cases(
            org,
            &[normal.id],
            &[Change::Status {
                status: "resolved".into(),
            }],
            admin.id,
        )
        .await
        .unwrap_err();
    let heard_store::StoreError::Invalid(errs) = err else {
        panic!("{err:?}")
    };
    assert_eq!(errs.0[0].field, "status");
    assert!(!app.store.case(org, normal.id).await.unwrap().ended);

    // Owners work cases: a viewer is refused.
    let hash = heard_server::auth::hash_password(crate::support::PASSWORD).unwrap();
    let viewer = app
        .store
        .create_user("v@a.example.gov", "Vic Viewer", &hash, 0)
        .await
        .unwrap();
    app.store
        .set_membership(org, viewer.id, heard_domain::Role::Viewer, 0)
        .await
        .unwrap();
    let err = app
        .store
        .change_cases(
            org,
            &[normal.id],
            &[Change::Owner {
                owner: Some(viewer.id.to_string()),
            }],
            admin.id,
        )
        .await
        .unwrap_err();
    let heard_store::StoreError::Invalid(errs) = err else {
        panic!("{err:?}")
    };
    assert_eq!(errs.0[0].field, "owner");

    // Team names are unique whatever their capitals.
    app.store
        .create_case_team(org, "Field offices")
        .await
        .unwrap();
    assert!(matches!(
        app.store.create_case_team(org, "field OFFICES").await,
        Err(heard_store::StoreError::Conflict(_))
    ));

    // Saving settings that do not change the clock writes nothing to the history; a new target does.
    let before = app.store.case_history(org, normal.id).await.unwrap().len();
    app.store
        .save_case_settings(org, &settings, admin.id)
        .await
        .unwrap();
    assert_eq!(
        app.store.case_history(org, normal.id).await.unwrap().len(),
        before
    );
    settings.sla.as_mut().unwrap().first_response_minutes = Some(120);
    app.store
        .save_case_settings(org, &settings, admin.id)
        .await
        .unwrap();
    assert_eq!(
        app.store.case_history(org, normal.id).await.unwrap().len(),
        before + 1
    );

    // A bulk action with no case chosen says so first.
    let s = app.sign_in(&app.a.admin_email).await;
    let r = app
        .post(
            &s,
            &format!("/admin/o/{org}/cases/bulk"),
            &[("priority", "low")],
        )
        .await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("Choose at least one case"));
});
