//! The admin's views on what the ingestion API writes (issue 17, item 7): the signals inbox (filters, urgent first,
//! stable keyset pages), one signal with its transcript's turns, the events of a service by type and local week
//! (figures checked against ones worked out by hand), and one person's timeline across channels, with the roles and
//! organizations that may not see it refused.

use heard_domain::survey::{Question, QuestionKind};
use heard_domain::{LocalizedText, Role};
use serde_json::{Value, json};

use crate::both_backends;
use crate::support::{PASSWORD, Tenant, TestApp, create_published_survey};

pub(crate) async fn api_key(app: &TestApp, t: &Tenant) -> String {
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

pub(crate) async fn send(app: &TestApp, key: &str, path: &str, items: Value) -> Value {
    let resp = app
        .client
        .post(format!("{}{path}", app.base))
        .header("authorization", format!("Bearer {key}"))
        .json(&json!({ "items": items }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let v: Value = resp.json().await.unwrap();
    for r in v["results"].as_array().unwrap() {
        assert_eq!(r["status"], "created", "{r}");
    }
    v
}

async fn html(app: &TestApp, s: &crate::support::Session, path: &str) -> (u16, String) {
    let r = app.get(s, path).await;
    (r.status().as_u16(), r.text().await.unwrap())
}

/// The signal ids a page links to, in order.
fn signal_ids(page: &str, org: &str) -> Vec<String> {
    let marker = format!("/admin/o/{org}/signals/");
    page.split(&marker)
        .skip(1)
        .map(|s| s.split('"').next().unwrap().to_string())
        .collect()
}

/// The "next page" link's path, if any.
fn next_link(page: &str) -> Option<String> {
    let i = page.find("before=")?;
    let start = page[..i].rfind("href=\"")? + 6;
    let end = i + page[i..].find('"')?;
    Some(page[start..end].replace("&amp;", "&"))
}

pub(crate) async fn member(app: &TestApp, email: &str, role: Role) {
    let hash = heard_server::auth::hash_password(PASSWORD).unwrap();
    let now = heard_store::now_ms();
    let u = app
        .store
        .create_user(email, "Member", &hash, now)
        .await
        .unwrap();
    app.store
        .set_membership(app.a.org, u.id, role, now)
        .await
        .unwrap();
}

/// Milliseconds of an RFC 3339 time.
fn ms(t: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(t)
        .unwrap()
        .timestamp_millis()
}

both_backends!(inbox_filters_put_urgent_first_and_pages_stably, |app| {
    let key = api_key(&app, &app.a).await;
    let service = app.a.service.id.to_string();
    // 60 reviews and web-form posts an hour apart, two urgent ones among the oldest, one call transcript.
    let mut items = Vec::new();
    for i in 0..60 {
        let text = match i {
            3 => "I lost my job and I don't see the point of living anymore.".to_string(),
            5 => "Someone is going to make you pay for this, I know where your office is."
                .to_string(),
            _ if i % 2 == 0 => {
                format!("The wait at the office was terrible, over two hours, visit {i}.")
            }
            _ => format!("Staff were kind and the form was quick, thank you ({i})."),
        };
        items.push(json!({"external_id": format!("s-{i:02}"), "source": if i % 2 == 0 { "review" } else { "web_form" },
            "text": text, "occurred_at": format!("2026-09-{:02}T{:02}:00:00Z", 1 + i / 24, i % 24),
            "service_id": if i < 40 { Value::from(service.clone()) } else { Value::Null }}));
    }
    items.push(json!({"external_id": "t-1", "source": "call_transcript", "occurred_at": "2026-09-10T12:00:00Z",
        "turns": [{"speaker": "agent", "text": "Thank you for calling, happy to help!"},
                  {"speaker": "customer", "text": "I have waited six weeks. Call me at 202-555-0199."}]}));
    send(&app, &key, "/api/v1/signals", Value::Array(items)).await;

    let s = app.sign_in(&app.a.admin_email).await;
    let org = app.a.org.to_string();
    let base = format!("/admin/o/{org}/signals");
    let (status, first) = html(&app, &s, &base).await;
    assert_eq!(status, 200);
    assert!(
        first.contains("<strong>61</strong> signals match"),
        "{first}"
    );
    let ids1 = signal_ids(&first, &org);
    assert_eq!(ids1.len(), 50);
    // Urgent first, though they are among the oldest.
    let stored = app.store.signals(app.a.org).await.unwrap();
    let id_of = |x: &str| {
        stored
            .iter()
            .find(|s| s.external_id == x)
            .unwrap()
            .id
            .to_string()
    };
    let urgent = [id_of("s-05"), id_of("s-03")];
    assert_eq!(
        ids1[..2],
        urgent,
        "urgent signals first, newest of them first"
    );
    assert_eq!(ids1[2..4], [id_of("t-1"), id_of("s-59")], "then the newest");
    assert!(first.contains("Crisis (someone at risk)") && first.contains("Threat of violence"));
    assert!(
        first.contains("Review") && first.contains("Web form"),
        "sources in words"
    );

    // The next page continues where the first ended: every signal once, none twice.
    let next = next_link(&first).expect("a next page");
    let (_, second) = html(&app, &s, &next).await;
    let ids2 = signal_ids(&second, &org);
    assert_eq!(ids2.len(), 11);
    let mut all: Vec<String> = ids1.iter().chain(&ids2).cloned().collect();
    all.sort();
    all.dedup();
    assert_eq!(all.len(), 61);
    assert!(next_link(&second).is_none());
    // A signal arriving meanwhile does not shift the second page.
    send(
        &app,
        &key,
        "/api/v1/signals",
        json!([{"external_id": "late", "source": "review", "text": "New today.",
        "occurred_at": "2026-09-20T00:00:00Z"}]),
    )
    .await;
    let (_, again) = html(&app, &s, &next).await;
    assert_eq!(signal_ids(&again, &org), ids2);

    // Filters narrow, each alone and together.
    let count = |page: &str| -> usize { signal_ids(page, &org).len() };
    let (_, reviews) = html(&app, &s, &format!("{base}?source=review")).await;
    assert_eq!(count(&reviews), 31, "30 reviews and the late one");
    let (_, crisis) = html(&app, &s, &format!("{base}?urgency=crisis")).await;
    assert_eq!(signal_ids(&crisis, &org), [id_of("s-03")]);
    let (_, threat) = html(&app, &s, &format!("{base}?urgency=threat")).await;
    assert_eq!(signal_ids(&threat, &org), [id_of("s-05")]);
    let (_, urgent_only) = html(&app, &s, &format!("{base}?urgency=urgent")).await;
    assert_eq!(count(&urgent_only), 2);
    let (_, serviced) = html(
        &app,
        &s,
        &format!("{base}?service={service}&source=web_form"),
    )
    .await;
    assert_eq!(count(&serviced), 20, "the web forms among the first 40");
    let (_, day) = html(&app, &s, &format!("{base}?from=2026-09-02&to=2026-09-02")).await;
    // Local days of New York: Sep 2 runs from 04:00 UTC on Sep 2 to 04:00 UTC on Sep 3.
    let on_day = stored
        .iter()
        .filter(|x| {
            (ms("2026-09-02T04:00:00Z")..ms("2026-09-03T04:00:00Z")).contains(&x.occurred_at)
        })
        .count();
    assert_eq!(count(&day), on_day);
    let (_, positive) = html(
        &app,
        &s,
        &format!("{base}?sentiment=positive&source=web_form"),
    )
    .await;
    let positive_ids = signal_ids(&positive, &org);
    assert!(!positive_ids.is_empty());
    for id in &positive_ids {
        let rec = stored.iter().find(|x| &x.id.to_string() == id).unwrap();
        assert_eq!(
            (rec.sentiment.as_deref(), rec.source.as_str()),
            (Some("positive"), "web_form")
        );
    }
    let theme = stored
        .iter()
        .find_map(|x| {
            x.themes
                .as_deref()
                .and_then(|t| t.split(',').find(|t| !t.is_empty()).map(str::to_string))
        })
        .expect("some signal has a theme");
    let (_, themed) = html(&app, &s, &format!("{base}?theme={theme}")).await;
    let expected = stored
        .iter()
        .filter(|x| {
            x.themes
                .as_deref()
                .is_some_and(|t| t.contains(&format!(",{theme},")))
        })
        .count();
    assert_eq!(count(&themed), expected.min(50));
    let (status, _) = html(&app, &s, &format!("{base}?urgency=panic")).await;
    assert_eq!(status, 422, "an unknown choice is refused by name");

    // The transcript's page shows each turn with its speaker, redacted.
    let (_, t) = html(&app, &s, &format!("{base}/{}", id_of("t-1"))).await;
    assert!(
        t.contains("<th scope=\"row\">Agent</th>") && t.contains("<th scope=\"row\">Customer</th>"),
        "{t}"
    );
    assert!(t.contains("happy to help") && t.contains("I have waited six weeks"));
    assert!(!t.contains("555-0199"), "the phone number is redacted");
    assert!(t.contains("Call transcript"));
});

both_backends!(events_by_week_match_figures_worked_by_hand, |app| {
    let key = api_key(&app, &app.a).await;
    let service = app.a.service.id.to_string();
    let call = |id: &str, at: &str, measures: Value| json!({"external_id": id, "type": "call", "occurred_at": at, "service_id": service, "measures": measures});
    // New York weeks: Mon Sep 7 to Sun Sep 13, 2026 (EDT, UTC-4) and the week after.
    send(&app, &key, "/api/v1/events", json!([
        call("c1", "2026-09-07T04:00:00Z", json!({"wait": 60, "transfers": 1})),   // Mon 00:00 local: week 1
        call("c2", "2026-09-09T15:00:00Z", json!({"wait": 120, "transfers": 0})),
        call("c3", "2026-09-11T15:00:00Z", json!({"wait": 300})),
        call("c4", "2026-09-14T03:30:00Z", json!({"wait": 600, "transfers": 2})),  // Sun 23:30 local: still week 1
        call("c5", "2026-09-14T04:00:00Z", json!({"wait": 45})),                   // Mon 00:00 local: week 2
        call("c6", "2026-09-07T03:59:00Z", json!({"wait": 9999})),                 // Sun Sep 6 local: before the range
        {"external_id": "o1", "type": "office_visit", "occurred_at": "2026-09-08T14:00:00Z", "service_id": service,
         "measures": {"wait": 1800, "service_time": 600}},
        {"external_id": "x1", "type": "call", "occurred_at": "2026-09-08T14:00:00Z", "measures": {"wait": 5}},
    ])).await;
    let week1 = ms("2026-09-07T04:00:00Z");
    let week2 = ms("2026-09-14T04:00:00Z");
    let week3 = ms("2026-09-21T04:00:00Z");
    let (counts, measures) = app
        .store
        .event_weeks(
            app.a.org,
            app.a.service.id,
            &app.store.org(app.a.org).await.unwrap().time_zone,
            &[(week1, week2), (week2, week3)],
        )
        .await
        .unwrap();
    let count = |w: i64, t: &str| {
        counts
            .iter()
            .find(|c| c.week == w && c.event_type == t)
            .map(|c| c.events)
    };
    assert_eq!(
        count(week1, "call"),
        Some(4),
        "the event without a service and the one before Monday are not counted"
    );
    assert_eq!(count(week2, "call"), Some(1));
    assert_eq!(count(week1, "office_visit"), Some(1));
    let m = |w: i64, t: &str, n: &str| {
        measures
            .iter()
            .find(|x| x.week == w && x.event_type == t && x.measure == n)
            .unwrap()
    };
    // Waits 60, 120, 300, 600: mean 270; median (120 + 300) / 2 = 210; 90th percentile at rank 1 + 0.9 x 3 = 3.7,
    // 300 + 0.7 x (600 - 300) = 510.
    let w = m(week1, "call", "wait");
    assert_eq!((w.n, w.sum, w.mean, w.median), (4, 1080.0, 270.0, 210.0));
    assert!((w.p90 - 510.0).abs() < 1e-9, "{}", w.p90);
    // Transfers 1, 0, 2 on three of the four calls: total 3, mean 1.
    let t = m(week1, "call", "transfers");
    assert_eq!((t.n, t.sum, t.mean), (3, 3.0, 1.0));
    let w2 = m(week2, "call", "wait");
    assert_eq!((w2.n, w2.median, w2.p90), (1, 45.0, 45.0));

    // The newest events page by (time, id): two pages of three and one cover the service's seven events once each.
    let mut seen = Vec::new();
    let mut cursor = None;
    for _ in 0..4 {
        let page = app
            .store
            .service_events_page(app.a.org, app.a.service.id, cursor, 3)
            .await
            .unwrap();
        cursor = page.last().map(|e| (e.occurred_at, e.id));
        seen.extend(page.iter().map(|e| e.external_id.clone()));
        if page.len() < 3 {
            break;
        }
    }
    assert_eq!(seen, ["c5", "c4", "c3", "c2", "o1", "c1", "c6"]);

    // The page shows the same figures, durations as durations, with the chart and its table.
    let s = app.sign_in(&app.a.admin_email).await;
    let org = app.a.org;
    let (status, page) = html(
        &app,
        &s,
        &format!(
            "/admin/o/{org}/events?service={service}&from=2026-09-07&to=2026-09-20&chart=call.wait"
        ),
    )
    .await;
    assert_eq!(status, 200);
    for want in [
        "Call, by week",
        "Office visit, by week",
        "Sep 7, 2026",
        "Sep 14, 2026",
        "4 min 30 s",
        "3 min 30 s",
        "8 min 30 s",
        "45 s",
        "30 min 00 s",
        "Wait: median",
        "Transfers: total",
        "Call: median wait per week",
        "role=\"img\"",
        "Week of Sep 7, 2026: 3 min 30 s",
    ] {
        assert!(page.contains(want), "{want} missing");
    }
    assert!(!page.contains("style="), "no inline style under the CSP");
    assert!(
        page.contains("/people/") || !page.contains("Person "),
        "events without a person have no link"
    );
    let (status, _) = html(
        &app,
        &s,
        &format!("/admin/o/{org}/events?service={service}&from=2026-09-20&to=2026-09-07"),
    )
    .await;
    assert_eq!(status, 422);
    let (status, _) = html(
        &app,
        &s,
        &format!("/admin/o/{org}/events?service={}", app.b.service.id),
    )
    .await;
    assert_eq!(status, 404, "another organization's service");
});

both_backends!(a_person_timeline_joins_channels_for_analysts_only, |app| {
    let key = api_key(&app, &app.a).await;
    // A survey that asks for an email address: its response gets the person's key.
    let mut def = heard_domain::templates::a11_v2(
        &app.a.service.name,
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
    let survey = create_published_survey(
        &app.store,
        heard_store::catalog::NewSurvey {
            org_id: app.a.org,
            service_id: app.a.service.id,
            touchpoint_id: None,
            name: "With contact",
            draft: &def,
            allowed_origins: &[],
            transaction_point: "post_interaction",
        },
        heard_store::now_ms(),
    )
    .await;
    let r: Value = app.client
        .post(format!("{}/api/v1/{}/surveys/{}/responses", app.base, app.a.slug, survey.id))
        .json(&json!({"idempotency_key": "timeline-1", "answers": {"trust": 0, "email": "Ana.Lopez@Example.gov",
            "comment": "Nobody answered my three calls about the payment."}}))
        .send().await.unwrap().json().await.unwrap();
    let response_id = r["id"].as_str().expect("stored").to_string();
    send(&app, &key, "/api/v1/signals", json!([
        {"external_id": "tl-s", "source": "chat", "text": "Where is my payment? I asked last week.",
         "person": {"email": "ana.lopez@example.gov"}, "occurred_at": "2026-09-01T15:00:00Z"},
        {"external_id": "other", "source": "chat", "text": "Someone else entirely.", "person": {"email": "bo@example.gov"}}
    ])).await;
    send(&app, &key, "/api/v1/events", json!([
        {"external_id": "tl-e", "type": "call", "occurred_at": "2026-09-02T15:00:00Z", "service_id": app.a.service.id.to_string(),
         "measures": {"wait": 1500, "transfers": 3}, "person": {"email": " ANA.LOPEZ@example.gov"}}
    ])).await;
    let person = app
        .store
        .signals(app.a.org)
        .await
        .unwrap()
        .into_iter()
        .find(|s| s.external_id == "tl-s")
        .unwrap()
        .person_key
        .unwrap();
    let signal_id = app
        .store
        .signals(app.a.org)
        .await
        .unwrap()
        .into_iter()
        .find(|s| s.external_id == "tl-s")
        .unwrap()
        .id;
    let org = app.a.org;
    let timeline = format!("/admin/o/{org}/people/{person}");

    let s = app.sign_in(&app.a.admin_email).await;
    // Reached from the signal, the response and the event.
    let (_, sig) = html(&app, &s, &format!("/admin/o/{org}/signals/{signal_id}")).await;
    assert!(sig.contains(&timeline), "signal links to the timeline");
    let (_, resp) = html(&app, &s, &format!("/admin/o/{org}/responses/{response_id}")).await;
    assert!(resp.contains(&timeline), "response links to the timeline");
    let (_, ev) = html(
        &app,
        &s,
        &format!(
            "/admin/o/{org}/events?service={}&from=2026-08-31&to=2026-09-06",
            app.a.service.id
        ),
    )
    .await;
    assert!(ev.contains(&timeline), "event links to the timeline");

    let (status, page) = html(&app, &s, &timeline).await;
    assert_eq!(status, 200);
    let short = &person[..8];
    assert!(page.contains(&format!("Person {short}")));
    let at = |needle: &str| {
        page.find(needle)
            .unwrap_or_else(|| panic!("{needle} missing"))
    };
    assert!(
        at("Where is my payment") < at("Event: Call")
            && at("Event: Call") < at("Survey response: With contact"),
        "signal, then call, then response: in time order"
    );
    assert!(page.contains("Wait: 25 min 00 s") && page.contains("Transfers: 3"));
    assert!(
        page.contains("Signal (Chat)")
            && page.contains("Event (Call)")
            && page.contains("Survey response (")
    );
    assert!(!page.contains("Someone else entirely"), "only this person");
    let lower = page.to_lowercase();
    assert!(
        !lower.contains("ana.lopez") && !lower.contains("example.gov"),
        "no contact details"
    );
    assert!(
        !page.contains(&person[8..]),
        "only the key's short form is shown as text"
    );

    // Viewers read signals but not a person's timeline, and see no link to it.
    member(&app, "viewer@agency-a.example.gov", Role::Viewer).await;
    let v = app.sign_in("viewer@agency-a.example.gov").await;
    let (status, sig) = html(&app, &v, &format!("/admin/o/{org}/signals/{signal_id}")).await;
    assert_eq!(status, 200);
    assert!(!sig.contains("/people/"));
    let (_, resp) = html(&app, &v, &format!("/admin/o/{org}/responses/{response_id}")).await;
    assert!(
        resp.contains("Nobody answered") && !resp.contains("/people/"),
        "no timeline link for viewers"
    );
    assert_eq!(html(&app, &v, &timeline).await.0, 403);
    member(&app, "analyst@agency-a.example.gov", Role::Analyst).await;
    let a = app.sign_in("analyst@agency-a.example.gov").await;
    assert_eq!(html(&app, &a, &timeline).await.0, 200);

    // Another organization's admin finds nothing: not the person, not the signal, not through their own org's path.
    let b = app.sign_in(&app.b.admin_email).await;
    assert_eq!(html(&app, &b, &timeline).await.0, 404);
    assert_eq!(
        html(&app, &b, &format!("/admin/o/{}/people/{person}", app.b.org))
            .await
            .0,
        404
    );
    assert_eq!(
        html(
            &app,
            &b,
            &format!("/admin/o/{}/signals/{signal_id}", app.b.org)
        )
        .await
        .0,
        404
    );
    assert_eq!(
        html(&app, &b, &format!("/admin/o/{org}/signals")).await.0,
        404
    );
    assert_eq!(
        html(&app, &s, &format!("/admin/o/{org}/people/not-a-key"))
            .await
            .0,
        404
    );
    // The navigation links to the inbox and the events view.
    let (_, home) = html(&app, &v, &format!("/admin/o/{org}")).await;
    assert!(
        home.contains(&format!("/admin/o/{org}/signals\""))
            && home.contains(&format!("/admin/o/{org}/events\""))
    );
});

both_backends!(date_ranges_refuse_from_after_to, |app| {
    let s = app.sign_in(&app.a.admin_email).await;
    let org = app.a.org;
    for path in [
        format!("/admin/o/{org}/signals?from=2026-03-02&to=2026-03-01"),
        format!("/admin/o/{org}/signals.csv?from=2026-03-02&to=2026-03-01"),
        format!("/admin/o/{org}/responses?from=2026-03-02&to=2026-03-01"),
        format!("/admin/o/{org}/search?q=wait&from=2026-03-02&to=2026-03-01"),
        format!("/admin/o/{org}/events?from=2026-03-02&to=2026-03-01"),
    ] {
        let (status, body) = html(&app, &s, &path).await;
        assert_eq!(status, 422, "{path}: {body}");
        assert!(
            body.contains("the first day must be on or before the last day"),
            "{path}: {body}"
        );
    }
    // The same day twice is a range of one day.
    let (status, _) = html(
        &app,
        &s,
        &format!("/admin/o/{org}/signals?from=2026-03-01&to=2026-03-01"),
    )
    .await;
    assert_eq!(status, 200);
});
