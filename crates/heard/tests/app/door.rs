//! Everything that happens to a person, through one door (issue 17): signals and operational events sent in
//! batches with an organization's API key, one result per item, idempotent by external id, CloudEvents accepted,
//! one person linked across channels by a per-organization keyed hash, and no raw identifier stored.

use serde_json::{Value, json};

use crate::both_backends;
use crate::support::{Tenant, TestApp};

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

async fn post(app: &TestApp, key: &str, path: &str, ct: &str, body: &Value) -> (u16, Value) {
    let resp = app
        .client
        .post(format!("{}{path}", app.base))
        .header("authorization", format!("Bearer {key}"))
        .header("content-type", ct)
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    (resp.status().as_u16(), resp.json().await.unwrap())
}

pub(crate) async fn signals(app: &TestApp, key: &str, items: Value) -> Value {
    let (status, v) = post(
        app,
        key,
        "/api/v1/signals",
        "application/json",
        &json!({ "items": items }),
    )
    .await;
    assert_eq!(status, 200, "{v}");
    v
}

pub(crate) async fn events(app: &TestApp, key: &str, items: Value) -> Value {
    let (status, v) = post(
        app,
        key,
        "/api/v1/events",
        "application/json",
        &json!({ "items": items }),
    )
    .await;
    assert_eq!(status, 200, "{v}");
    v
}

fn statuses(v: &Value) -> Vec<&str> {
    v["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect()
}

fn error_fields(r: &Value) -> Vec<(String, String)> {
    r["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["field"].as_str().unwrap().to_string(),
                e["code"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

both_backends!(a_batch_stores_its_valid_items_and_names_each_fault, |app| {
    let key = api_key(&app, &app.a).await;
    let v = signals(
        &app,
        &key,
        json!([
            {"external_id": "rev-1", "source": "review", "text": "Renewal was quick.", "rating": 5},
            {"source": "review", "text": "x", "rating": 9},
            {"external_id": "obs-1", "source": "staff_observation", "text": "The line was out the door at 9.",
             "service_id": app.a.service.id.to_string()},
            {"external_id": "nul-1", "source": "chat", "text": "bad\u{0}byte"}
        ]),
    )
    .await;
    assert_eq!(statuses(&v), ["created", "invalid", "created", "invalid"]);
    assert_eq!(
        error_fields(&v["results"][3]),
        [("items[3].text".to_string(), "control_character".to_string())]
    );
    assert_eq!(v["results"][1]["index"], 1);
    assert_eq!(
        error_fields(&v["results"][1]),
        [
            ("items[1].external_id".to_string(), "required".to_string()),
            ("items[1].rating".to_string(), "out_of_range".to_string())
        ]
    );
    assert_eq!(
        (v["created"].as_u64(), v["refused"].as_u64()),
        (Some(2), Some(2))
    );
    let stored = app.store.signals(app.a.org).await.unwrap();
    let ids: Vec<&str> = stored.iter().map(|s| s.external_id.as_str()).collect();
    assert_eq!(ids.len(), 2);
    assert!(ids.contains(&"rev-1") && ids.contains(&"obs-1"));
    let obs = stored.iter().find(|s| s.external_id == "obs-1").unwrap();
    assert_eq!(obs.author, "staff");
});

both_backends!(
    an_external_id_is_a_retry_with_the_same_item_and_refused_with_another,
    |app| {
        let key = api_key(&app, &app.a).await;
        let call = json!({"external_id": "call-77", "type": "call", "occurred_at": "2026-11-02T15:04:05Z",
        "measures": {"wait": 240, "handle_time": 600.5, "transfers": 1}, "attributes": {"queue": "claims"}});
        let first = events(&app, &key, json!([call])).await;
        assert_eq!(statuses(&first), ["created"]);
        let id = first["results"][0]["id"].clone();
        // The same item again, keys in another order: a retry.
        let again = events(&app, &key, json!([{"attributes": {"queue": "claims"}, "type": "call", "external_id": "call-77",
        "measures": {"transfers": 1, "handle_time": 600.5, "wait": 240}, "occurred_at": "2026-11-02T15:04:05Z"}])).await;
        assert_eq!(statuses(&again), ["duplicate"]);
        assert_eq!(again["results"][0]["id"], id);
        // Another item under the same id: refused, nothing stored.
        let mut other = call.clone();
        other["measures"]["wait"] = json!(10);
        let reused = events(&app, &key, json!([other])).await;
        assert_eq!(statuses(&reused), ["reused"]);
        assert_eq!(
            error_fields(&reused["results"][0]),
            [(
                "items[0].external_id".to_string(),
                "idempotency_key_reused".to_string()
            )]
        );
        let stored = app.store.events(app.a.org).await.unwrap();
        assert_eq!(stored.len(), 1);
        assert!(stored[0].measures.contains("240"), "{}", stored[0].measures);

        // Signals follow the same rule.
        let s = json!({"external_id": "chat-1", "source": "chat", "text": "Where is my refund?"});
        assert_eq!(
            statuses(&signals(&app, &key, json!([s.clone(), s.clone()])).await),
            ["created", "duplicate"]
        );
        let mut changed = s.clone();
        changed["text"] = json!("Where is my card?");
        assert_eq!(
            statuses(&signals(&app, &key, json!([changed])).await),
            ["reused"]
        );
        let kept = app.store.signals(app.a.org).await.unwrap();
        assert_eq!(kept.len(), 1);
        assert_eq!(kept[0].text, "Where is my refund?");
    }
);

both_backends!(
    undeclared_types_and_measures_and_future_times_are_refused,
    |app| {
        let key = api_key(&app, &app.a).await;
        let v = events(
        &app,
        &key,
        json!([
            {"external_id": "e1", "type": "cal"},
            {"external_id": "e2", "type": "call", "measures": {"mood": 3}},
            {"external_id": "e3", "type": "office_visit", "occurred_at": "2099-01-01T00:00:00Z"},
            {"external_id": "e4", "type": "backlog_snapshot", "measures": {"open_items": 1200}}
        ]),
    )
    .await;
        assert_eq!(statuses(&v), ["invalid", "invalid", "invalid", "created"]);
        assert_eq!(
            error_fields(&v["results"][0]),
            [("items[0].type".into(), "unknown_event_type".into())]
        );
        assert_eq!(
            error_fields(&v["results"][1]),
            [("items[1].measures.mood".into(), "undeclared_measure".into())]
        );
        assert_eq!(
            error_fields(&v["results"][2]),
            [("items[2].occurred_at".into(), "in_the_future".into())]
        );
        let stored = app.store.events(app.a.org).await.unwrap();
        assert_eq!(
            stored
                .iter()
                .map(|e| e.external_id.as_str())
                .collect::<Vec<_>>(),
            ["e4"]
        );

        // The catalogue lists what may be sent.
        let types: Value = app
            .client
            .get(format!("{}/api/v1/event-types", app.base))
            .header("authorization", format!("Bearer {key}"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let call = types
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["name"] == "call")
            .unwrap();
        assert!(
            call["measures"]
                .as_array()
                .unwrap()
                .iter()
                .any(|m| m["name"] == "wait" && m["unit"] == "seconds")
        );

        // A batch over 1,000 items is refused whole.
        let many: Vec<Value> = (0..1001).map(|_| json!({})).collect();
        let (status, body) = post(
            &app,
            &key,
            "/api/v1/events",
            "application/json",
            &json!({ "items": many }),
        )
        .await;
        assert_eq!(
            (status, body["code"].as_str()),
            (413, Some("batch_too_large"))
        );
    }
);

both_backends!(cloudevents_structured_and_batch_are_accepted, |app| {
    let key = api_key(&app, &app.a).await;
    let one = json!({"specversion": "1.0", "id": "ce-1", "source": "urn:agency-a:contact-center",
        "type": "gov.example.contact-center.call", "time": "2026-11-03T10:00:00Z",
        "datacontenttype": "application/json",
        "data": {"measures": {"wait": 75}, "attributes": {"disposition": "resolved"},
                 "service_id": app.a.service.id.to_string()}});
    let (status, v) = post(
        &app,
        &key,
        "/api/v1/events",
        "application/cloudevents+json",
        &one,
    )
    .await;
    assert_eq!((status, statuses(&v)), (200, vec!["created"]), "{v}");
    let batch = json!([
        {"specversion": "1.0", "id": "ce-2", "source": "urn:agency-a:offices", "type": "office_visit",
         "data": {"measures": {"wait": 600, "service_time": 300}}},
        {"specversion": "1.0", "id": "ce-3", "source": "urn:agency-a:offices", "type": "office_visit",
         "time": "2099-01-01T00:00:00Z", "data": {"measures": {"queue_length": 3}}}
    ]);
    let (status, v) = post(
        &app,
        &key,
        "/api/v1/events",
        "application/cloudevents-batch+json",
        &batch,
    )
    .await;
    assert_eq!(
        (status, statuses(&v)),
        (200, vec!["created", "invalid"]),
        "{v}"
    );
    assert_eq!(
        error_fields(&v["results"][1]),
        [
            ("[1].time".into(), "in_the_future".into()),
            (
                "[1].data.measures.queue_length".into(),
                "undeclared_measure".into()
            )
        ]
    );
    let stored = app.store.events(app.a.org).await.unwrap();
    let ce1 = stored.iter().find(|e| e.external_id == "ce-1").unwrap();
    assert_eq!(
        (ce1.event_type.as_str(), ce1.source.as_str()),
        ("call", "urn:agency-a:contact-center")
    );
    assert_eq!(stored.len(), 2);
});

both_backends!(
    one_person_links_across_channels_within_an_organization_only,
    |app| {
        let key_a = api_key(&app, &app.a).await;
        let key_b = api_key(&app, &app.b).await;
        events(&app, &key_a, json!([
        {"external_id": "p1", "type": "application_submitted", "person": {"email": "Ana.Lopez@Example.GOV"},
         "reference": "APP-2026-0042"},
        {"external_id": "p2", "type": "call", "person": {"phone": "(202) 555-0143"},
         "attributes": {"disposition": "asked to be called back at 202-555-0143"}},
        {"external_id": "p3", "type": "payment_issued", "person": {"customer_id": "CUST-9917"}, "reference": "APP-2026-0042"}
    ])).await;
        signals(&app, &key_a, json!([
        {"external_id": "s1", "source": "email", "person": {"email": " ana.lopez@example.gov "},
         "text": "Please write to me at ana.lopez@example.gov or call 202-555-0143."},
        {"external_id": "s2", "source": "chat", "person": {"phone": "+1 202.555.0143"}, "text": "Still waiting."}
    ])).await;
        events(&app, &key_b, json!([
        {"external_id": "p1", "type": "application_submitted", "person": {"email": "ana.lopez@example.gov"}}
    ])).await;
        let ev = app.store.events(app.a.org).await.unwrap();
        let sg = app.store.signals(app.a.org).await.unwrap();
        let ev_key = |x: &str| {
            ev.iter()
                .find(|e| e.external_id == x)
                .unwrap()
                .person_key
                .clone()
                .unwrap()
        };
        let sg_key = |x: &str| {
            sg.iter()
                .find(|s| s.external_id == x)
                .unwrap()
                .person_key
                .clone()
                .unwrap()
        };
        assert_eq!(
            ev_key("p1"),
            sg_key("s1"),
            "the same email in another case and spacing is the same person"
        );
        assert_eq!(
            ev_key("p2"),
            sg_key("s2"),
            "the same phone written two ways is the same person"
        );
        assert_ne!(ev_key("p1"), ev_key("p2"));
        assert_ne!(ev_key("p3"), ev_key("p1"));
        let refs: Vec<_> = ev.iter().filter_map(|e| e.reference_key.clone()).collect();
        assert_eq!(refs.len(), 2);
        assert_eq!(
            refs[0], refs[1],
            "one application number, one reference key"
        );
        let other = app.store.events(app.b.org).await.unwrap();
        assert_ne!(
            other[0].person_key.clone().unwrap(),
            ev_key("p1"),
            "another organization cannot link"
        );

        // No raw identifier in anything stored.
        let kept = format!("{ev:?}{sg:?}{other:?}").to_lowercase();
        for raw in [
            "ana.lopez",
            "example.gov",
            "555-0143",
            "5550143",
            "cust-9917",
            "app-2026-0042",
        ] {
            assert!(!kept.contains(raw), "{raw} is stored");
        }
    }
);

both_backends!(
    a_call_transcripts_agent_turns_do_not_count_for_sentiment,
    |app| {
        let key = api_key(&app, &app.a).await;
        signals(&app, &key, json!([
        {"external_id": "t1", "source": "call_transcript", "turns": [
            {"speaker": "agent", "text": "Thank you so much for calling! I'm happy to help, wonderful to hear from you."},
            {"speaker": "customer", "text": "I have waited three weeks and my claim is still wrong. This is terrible and frustrating."},
            {"speaker": "agent", "text": "Great, excellent, thank you, have a lovely day!"}
        ]}
    ])).await;
        let s = &app.store.signals(app.a.org).await.unwrap()[0];
        assert_eq!(s.sentiment.as_deref(), Some("negative"));
        assert!(
            !s.text.contains("happy to help"),
            "only customer turns are the analysed text"
        );
        let turns: Value = serde_json::from_str(s.turns.as_deref().unwrap()).unwrap();
        assert_eq!(
            turns.as_array().unwrap().len(),
            3,
            "every turn is kept, redacted"
        );
        assert_eq!(turns[0]["speaker"], "agent");
    }
);

both_backends!(ingesting_needs_the_organizations_own_key, |app| {
    let item = json!({"items": [{"external_id": "x1", "type": "call", "service_id": app.a.service.id.to_string()}]});
    for auth in [None, Some("Bearer heard_not-a-real-key"), Some("Basic abc")] {
        let mut req = app
            .client
            .post(format!("{}/api/v1/events", app.base))
            .json(&item);
        if let Some(a) = auth {
            req = req.header("authorization", a);
        }
        let resp = req.send().await.unwrap();
        assert_eq!(resp.status(), 401);
        let v: Value = resp.json().await.unwrap();
        assert_eq!(v["code"], "api_key_required");
        assert!(
            v["message"]
                .as_str()
                .unwrap()
                .contains("Authorization: Bearer")
        );
        assert_eq!(v["errors"], json!([]));
    }
    // B's key writes only into B: A's service is unknown to it.
    let key_b = api_key(&app, &app.b).await;
    let (_, v) = post(&app, &key_b, "/api/v1/events", "application/json", &item).await;
    assert_eq!(statuses(&v), ["invalid"]);
    assert_eq!(
        error_fields(&v["results"][0]),
        [("items[0].service_id".into(), "unknown_service".into())]
    );
    assert!(app.store.events(app.a.org).await.unwrap().is_empty());
    assert!(app.store.events(app.b.org).await.unwrap().is_empty());
});

both_backends!(
    an_organization_declares_its_own_event_types_without_code,
    |app| {
        let key_a = api_key(&app, &app.a).await;
        let key_b = api_key(&app, &app.b).await;
        let interview = json!({"external_id": "i1", "type": "eligibility_interview", "measures": {"duration": 1800}});
        assert_eq!(
            statuses(&events(&app, &key_a, json!([interview.clone()])).await),
            ["invalid"]
        );
        let declare = |key: String, body: Value| {
            let app = &app;
            async move { post(app, &key, "/api/v1/event-types", "application/json", &body).await }
        };
        let decl = json!({"name": "eligibility_interview", "label": "Eligibility interview",
        "measures": [{"name": "duration", "unit": "seconds"}], "attributes": ["office"]});
        let (status, v) = declare(key_a.clone(), decl.clone()).await;
        assert_eq!(status, 201, "{v}");
        assert_eq!(
            statuses(&events(&app, &key_a, json!([interview.clone()])).await),
            ["created"]
        );
        // Declared once; the default catalogue's names are taken; a bad measure unit is named.
        assert_eq!(declare(key_a.clone(), decl.clone()).await.0, 409);
        assert_eq!(
            declare(key_a.clone(), json!({"name": "call", "label": "Call"}))
                .await
                .0,
            409
        );
        let (status, v) = declare(key_a.clone(), json!({"name": "Bad Name", "label": "x"})).await;
        assert_eq!(
            (status, v["errors"][0]["field"].as_str()),
            (422, Some("name"))
        );
        // Another organization has not declared it.
        assert_eq!(
            statuses(&events(&app, &key_b, json!([interview])).await),
            ["invalid"]
        );
    }
);

both_backends!(
    an_admin_makes_a_key_on_a_page_sees_it_once_and_revokes_it,
    |app| {
        let s = app.sign_in(&app.a.admin_email).await;
        let path = format!("/admin/o/{}/api-keys", app.a.org);
        let resp = app.post(&s, &path, &[("name", "Contact center")]).await;
        assert_eq!(resp.status(), 201);
        let html = resp.text().await.unwrap();
        let secret = html
            .split("id=\"api-key-secret\" type=\"text\" readonly value=\"")
            .nth(1)
            .and_then(|r| r.split('"').next())
            .unwrap()
            .to_string();
        assert!(secret.starts_with("heard_"));
        let item = json!([{"external_id": "k1", "type": "call"}]);
        assert_eq!(
            statuses(&events(&app, &secret, item.clone()).await),
            ["created"]
        );
        // Listed, never shown again.
        let listed = app.get(&s, &path).await.text().await.unwrap();
        assert!(listed.contains("Contact center") && !listed.contains(&secret));
        let id = listed
            .split("/api-keys/")
            .nth(1)
            .unwrap()
            .split('/')
            .next()
            .unwrap()
            .to_string();
        let resp = app.post(&s, &format!("{path}/{id}/revoke"), &[]).await;
        assert_eq!(resp.status(), 303);
        let (status, v) = post(
            &app,
            &secret,
            "/api/v1/events",
            "application/json",
            &json!({"items": item}),
        )
        .await;
        assert_eq!(
            (status, v["code"].as_str()),
            (401, Some("api_key_required"))
        );
        // Another organization's admin cannot see or revoke it.
        let other = app.sign_in(&app.b.admin_email).await;
        assert_eq!(app.get(&other, &path).await.status(), 404);
    }
);

both_backends!(a_full_batch_fits_where_a_response_would_not, |app| {
    let key = api_key(&app, &app.a).await;
    // 250 signals of about 400 characters: several times the 64 KiB a response body may be.
    let text =
        "The office was open late on Thursday, which helped a lot because I work days. ".repeat(5);
    let items: Vec<Value> = (0..250)
        .map(|i| json!({"external_id": format!("big-{i}"), "source": "web_form", "text": text}))
        .collect();
    let body = json!({ "items": items });
    assert!(body.to_string().len() > 64 * 1024);
    let v = signals(&app, &key, body["items"].clone()).await;
    assert_eq!(v["created"], 250);
    assert_eq!(app.store.signals(app.a.org).await.unwrap().len(), 250);
});

both_backends!(a_message_with_crisis_language_opens_an_urgent_case, |app| {
    let key = api_key(&app, &app.a).await;
    let items = json!([
        {"external_id": "chat-ok", "source": "chat", "text": "Thanks, the form worked."},
        {"external_id": "chat-crisis", "source": "chat",
         "text": "I lost my job and I honestly don't see the point of living anymore.",
         "service_id": app.a.service.id.to_string()}
    ]);
    let v = signals(&app, &key, items.clone()).await;
    assert_eq!(statuses(&v), ["created", "created"]);
    // Sent again: the same signals, no second case.
    signals(&app, &key, items).await;
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
    assert_eq!(cases[0].priority, heard_domain::case::Priority::Urgent);
    assert_eq!(cases[0].service_id, Some(*app.a.service.id.as_uuid()));
    let links = app.store.case_links(app.a.org, cases[0].id).await.unwrap();
    assert_eq!(links.len(), 1);
    assert_eq!(links[0].kind, heard_domain::case::LinkKind::Signal);
    let stored = app.store.signals(app.a.org).await.unwrap();
    let crisis = stored
        .iter()
        .find(|s| s.external_id == "chat-crisis")
        .unwrap();
    assert_eq!(links[0].target_id, crisis.id);
});
