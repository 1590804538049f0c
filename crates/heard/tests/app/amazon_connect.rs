//! Amazon Connect through the one door (issue 17, item 3): contact records become call and chat events with their
//! measures, Contact Lens call analyses become redacted transcripts whose customer turns alone are analysed, the two
//! are linked by ContactId in either order, records are idempotent by ContactId, and every error names the record and
//! the Connect field.

use serde_json::{Value, json};

use crate::both_backends;
use crate::support::TestApp;

const CONTACT: &str = "5ca32fbd-8f92-46af-92a5-6b0f970f0efe";

async fn api_key(app: &TestApp) -> String {
    let secret = heard_server::ingest::new_api_key();
    app.store
        .create_api_key(
            app.a.org,
            "connect",
            &heard_server::crypto::sha256(secret.as_bytes()),
            heard_store::now_ms(),
        )
        .await
        .unwrap();
    secret
}

async fn send(
    app: &TestApp,
    key: &str,
    method: &str,
    path: &str,
    ct: &str,
    body: String,
) -> (u16, Value) {
    let url = format!("{}/api/v1/amazon-connect/{path}", app.base);
    let req = match method {
        "PUT" => app.client.put(url),
        _ => app.client.post(url),
    };
    let resp = req
        .header("authorization", format!("Bearer {key}"))
        .header("content-type", ct)
        .body(body)
        .send()
        .await
        .unwrap();
    (resp.status().as_u16(), resp.json().await.unwrap())
}

async fn records(app: &TestApp, key: &str, ndjson: &[Value]) -> Value {
    let body: Vec<String> = ndjson.iter().map(|r| r.to_string()).collect();
    let (status, v) = send(
        app,
        key,
        "POST",
        "contact-records",
        "application/x-ndjson",
        body.join("\n") + "\n",
    )
    .await;
    assert_eq!(status, 200, "{v}");
    v
}

async fn transcript(app: &TestApp, key: &str, file: &Value) -> Value {
    let (status, v) = send(
        app,
        key,
        "POST",
        "transcripts",
        "application/json",
        file.to_string(),
    )
    .await;
    assert_eq!(status, 200, "{v}");
    v
}

async fn set_mapping(app: &TestApp, key: &str) {
    let (status, v) = send(
        app,
        key,
        "PUT",
        "mapping",
        "application/json",
        json!({"reference_attribute": "caseNumber", "disposition_attribute": "disposition",
               "queues": [{"queue": "BenefitsClaims", "service_id": app.a.service.id.to_string(),
                           "touchpoint_id": app.a.touchpoint.id.to_string()}]})
        .to_string(),
    )
    .await;
    assert_eq!(status, 200, "{v}");
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

/// A voice call from the published contact record data model: queued 245 s, answered, held twice, after-contact
/// work, transferred on, with a case number and a disposition in its attributes.
fn voice_call() -> Value {
    json!({
        "AWSAccountId": "123456789012",
        "AWSContactTraceRecordFormatVersion": "2017-03-10",
        "Agent": {"AfterContactWorkDuration": 45, "AgentInteractionDuration": 540,
                  "ConnectedToAgentTimestamp": "2026-11-02T15:10:05Z", "CustomerHoldDuration": 60,
                  "LongestHoldDuration": 40, "NumberOfHolds": 2, "Username": "jdoe",
                  "RoutingProfile": {"ARN": "arn:aws:connect:us-east-1:123456789012:instance/aaaa/routing-profile/cccc", "Name": "Basic"}},
        "Attributes": {"caseNumber": "CL-2026-0042", "disposition": "resolved"},
        "Channel": "VOICE",
        "ContactId": CONTACT,
        "CustomerEndpoint": {"Address": "+12025550123", "Type": "TELEPHONE_NUMBER"},
        "DisconnectReason": "AGENT_DISCONNECT",
        "DisconnectTimestamp": "2026-11-02T15:20:25Z",
        "InitiationMethod": "INBOUND",
        "InitiationTimestamp": "2026-11-02T15:06:00Z",
        "InstanceARN": "arn:aws:connect:us-east-1:123456789012:instance/aaaa",
        "LastUpdateTimestamp": "2026-11-02T15:22:31Z",
        "NextContactId": "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
        "Queue": {"ARN": "arn:aws:connect:us-east-1:123456789012:instance/aaaa/queue/dddd",
                  "DequeueTimestamp": "2026-11-02T15:10:05Z", "Duration": 245,
                  "EnqueueTimestamp": "2026-11-02T15:06:00Z", "Name": "BenefitsClaims"},
        "SystemEndpoint": {"Address": "+18005550100", "Type": "TELEPHONE_NUMBER"},
        "TransferCompletedTimestamp": null,
        "TransferredToEndpoint": null
    })
}

fn abandoned_call() -> Value {
    json!({
        "Agent": null, "Attributes": {}, "Channel": "VOICE",
        "ContactId": "7d1e0a6c-2f0b-4c55-9a40-0d5f3b8e2a11",
        "CustomerEndpoint": {"Address": "+12025550199", "Type": "TELEPHONE_NUMBER"},
        "DisconnectReason": "CUSTOMER_DISCONNECT", "InitiationMethod": "INBOUND",
        "InitiationTimestamp": "2026-11-02T16:02:00Z", "LastUpdateTimestamp": "2026-11-02T16:15:02Z",
        "Queue": {"DequeueTimestamp": "2026-11-02T16:14:30Z", "Duration": 690,
                  "EnqueueTimestamp": "2026-11-02T16:02:00Z", "Name": "BenefitsClaims"}
    })
}

fn chat() -> Value {
    json!({
        "Agent": {"AfterContactWorkDuration": 20, "AgentInteractionDuration": 410,
                  "ConnectedToAgentTimestamp": "2026-11-03T10:00:40Z", "CustomerHoldDuration": 0, "NumberOfHolds": 0},
        "Channel": "CHAT", "ContactId": "c0ffee00-1111-4222-8333-444455556666", "CustomerEndpoint": null,
        "InitiationMethod": "API", "InitiationTimestamp": "2026-11-03T10:00:00Z",
        "Queue": {"Duration": 40, "EnqueueTimestamp": "2026-11-03T10:00:00Z", "Name": "WebChat"}
    })
}

/// A Contact Lens analysis of the voice call: a system prompt, a cheerful agent, and an unhappy customer who says
/// their email address and phone number.
fn analysis() -> Value {
    json!({
        "Version": "1.1.0", "AccountId": "123456789012", "Channel": "VOICE",
        "ContentMetadata": {"Output": "Raw"}, "JobStatus": "COMPLETED", "LanguageCode": "en-US",
        "Participants": [
            {"ParticipantId": "e9b36a6d-12aa-4c21-9745-1881648ecfc8", "ParticipantRole": "CUSTOMER"},
            {"ParticipantId": "2b2288b4-ff6e-4996-8d8e-260fd5a8ac02", "ParticipantRole": "SYSTEM"},
            {"ParticipantId": "f36a545d-67b2-4fd4-89fb-896136b609a7", "ParticipantRole": "AGENT"}],
        "Categories": {"MatchedCategories": [], "MatchedDetails": {}},
        "ConversationCharacteristics": {"TotalConversationDurationMillis": 32110},
        "CustomerMetadata": {"ContactId": CONTACT, "InstanceId": "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
                             "InputS3Uri": "s3://connect-bucket/recordings/5ca32fbd.wav"},
        "Transcript": [
            {"Id": "t0", "ParticipantId": "2b2288b4-ff6e-4996-8d8e-260fd5a8ac02",
             "Content": "Thank you for calling the benefits line.", "BeginOffsetMillis": 0, "EndOffsetMillis": 2100, "Sentiment": "NEUTRAL"},
            {"Id": "t1", "ParticipantId": "f36a545d-67b2-4fd4-89fb-896136b609a7",
             "Content": "Thank you so much for calling! I'm happy to help, wonderful to hear from you.",
             "BeginOffsetMillis": 2200, "EndOffsetMillis": 5000, "Sentiment": "POSITIVE"},
            {"Id": "t2", "ParticipantId": "e9b36a6d-12aa-4c21-9745-1881648ecfc8",
             "Content": "I have waited three weeks and my claim is still wrong. This is terrible and frustrating. Write to ana.lopez@example.com or call 202-555-0143.",
             "BeginOffsetMillis": 5100, "EndOffsetMillis": 11000, "Sentiment": "NEGATIVE"},
            {"Id": "t3", "ParticipantId": "f36a545d-67b2-4fd4-89fb-896136b609a7",
             "Content": "Great, excellent, thank you, have a lovely day!", "BeginOffsetMillis": 11100, "EndOffsetMillis": 13000, "Sentiment": "POSITIVE"}
        ]
    })
}

both_backends!(contact_records_become_events_with_their_measures, |app| {
    let key = api_key(&app).await;
    set_mapping(&app, &key).await;
    let v = records(&app, &key, &[voice_call(), abandoned_call(), chat()]).await;
    assert_eq!(statuses(&v), ["created", "created", "created"], "{v}");
    let events = app.store.events(app.a.org).await.unwrap();
    assert_eq!(events.len(), 3);
    let call = events.iter().find(|e| e.external_id == CONTACT).unwrap();
    assert_eq!(
        (call.event_type.as_str(), call.source.as_str()),
        ("call", "amazon-connect")
    );
    assert_eq!(call.occurred_at, 1_793_631_960_000, "InitiationTimestamp");
    let m: Value = serde_json::from_str(&call.measures).unwrap();
    assert_eq!(
        m,
        json!({"wait": 245.0, "handle_time": 645.0, "hold": 60.0, "holds": 2.0, "after_contact_work": 45.0, "transfers": 1.0})
    );
    let a: Value = serde_json::from_str(&call.attributes).unwrap();
    assert_eq!(
        a,
        json!({"queue": "BenefitsClaims", "abandoned": false, "disposition": "resolved",
               "disconnect_reason": "agent_disconnect", "initiation_method": "inbound"})
    );
    assert_eq!(
        call.service_id,
        Some(*app.a.service.id.as_uuid()),
        "the queue's service"
    );
    assert!(call.reference_key.is_some(), "the case number, hashed");
    let person = call
        .person_key
        .clone()
        .expect("the caller's number, hashed");
    for e in &events {
        let row = format!("{e:?}");
        assert!(
            !row.contains("2025550123") && !row.contains("CL-2026-0042"),
            "no raw number or case number: {row}"
        );
    }
    let abandoned = events
        .iter()
        .find(|e| e.external_id.starts_with("7d1e"))
        .unwrap();
    let a: Value = serde_json::from_str(&abandoned.attributes).unwrap();
    assert_eq!(a["abandoned"], true);
    assert_ne!(abandoned.person_key.as_deref(), Some(person.as_str()));
    let chat = events.iter().find(|e| e.event_type == "chat").unwrap();
    assert_eq!(chat.person_key, None);
    assert_eq!(chat.service_id, None, "WebChat is not in the mapping");
    // The same caller through the signals API with the number written another way is the same person.
    let (s, _) = {
        let resp = app
            .client
            .post(format!("{}/api/v1/signals", app.base))
            .header("authorization", format!("Bearer {key}"))
            .json(&json!({"items": [{"external_id": "sms-1", "source": "chat", "text": "Any news on my claim?",
                                      "person": {"phone": "(202) 555-0123"}}]}))
            .send()
            .await
            .unwrap();
        (resp.status().as_u16(), ())
    };
    assert_eq!(s, 200);
    let sms = app.store.signals(app.a.org).await.unwrap();
    assert_eq!(sms[0].person_key.as_deref(), Some(person.as_str()));
    // The mapping reads back as it was set.
    let (status, m) = {
        let r = app
            .client
            .get(format!("{}/api/v1/amazon-connect/mapping", app.base))
            .header("authorization", format!("Bearer {key}"))
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.json::<Value>().await.unwrap())
    };
    assert_eq!(status, 200);
    assert_eq!(m["reference_attribute"], "caseNumber");
    assert_eq!(m["queues"][0]["service_id"], app.a.service.id.to_string());
});

both_backends!(
    a_transcript_keeps_redacted_turns_analyses_the_customer_and_links_to_its_call,
    |app| {
        let key = api_key(&app).await;
        set_mapping(&app, &key).await;
        // The transcript first: stored, not linked yet.
        let v = transcript(&app, &key, &analysis()).await;
        assert_eq!(statuses(&v), ["created"], "{v}");
        let s = &app.store.signals(app.a.org).await.unwrap()[0];
        assert_eq!(
            (s.source.as_str(), s.external_id.as_str()),
            ("call_transcript", CONTACT)
        );
        assert_eq!(
            s.sentiment.as_deref(),
            Some("negative"),
            "only the customer's turn counts"
        );
        assert!(
            !s.text.contains("happy to help"),
            "the analysed text is the customer's"
        );
        let turns: Value = serde_json::from_str(s.turns.as_deref().unwrap()).unwrap();
        let speakers: Vec<&str> = turns
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["speaker"].as_str().unwrap())
            .collect();
        assert_eq!(speakers, ["agent", "agent", "customer", "agent"]);
        let stored = format!("{s:?}");
        assert!(
            !stored.contains("ana.lopez@example.com") && !stored.contains("555-0143"),
            "turns and text are redacted: {stored}"
        );
        assert_eq!(s.person_key, None);
        // Then its call: the transcript takes the call's person, case, service and time.
        records(&app, &key, &[voice_call()]).await;
        let call = app.store.events(app.a.org).await.unwrap().remove(0);
        let s = app.store.signals(app.a.org).await.unwrap().remove(0);
        assert!(call.person_key.is_some());
        assert_eq!(s.person_key, call.person_key);
        assert_eq!(s.reference_key, call.reference_key);
        assert_eq!(s.occurred_at, call.occurred_at);
        // The same file again, now that it is linked, is the same item.
        let again = transcript(&app, &key, &analysis()).await;
        assert_eq!(statuses(&again), ["duplicate"], "{again}");
        assert_eq!(again["results"][0]["id"], v["results"][0]["id"]);
        // The other order: a call first, then its transcript, linked at once.
        let mut call2 = abandoned_call();
        call2["ContactId"] = json!("11111111-2222-4333-8444-555555555555");
        records(&app, &key, &[call2]).await;
        let mut file2 = analysis();
        file2["CustomerMetadata"]["ContactId"] = json!("11111111-2222-4333-8444-555555555555");
        transcript(&app, &key, &file2).await;
        let signals = app.store.signals(app.a.org).await.unwrap();
        let events = app.store.events(app.a.org).await.unwrap();
        let s2 = signals
            .iter()
            .find(|s| s.external_id.starts_with("1111"))
            .unwrap();
        let e2 = events
            .iter()
            .find(|e| e.external_id.starts_with("1111"))
            .unwrap();
        assert!(e2.person_key.is_some());
        assert_eq!(
            (s2.person_key.clone(), s2.occurred_at),
            (e2.person_key.clone(), e2.occurred_at)
        );
    }
);

both_backends!(
    a_record_sent_again_is_a_duplicate_and_a_changed_one_is_refused,
    |app| {
        let key = api_key(&app).await;
        // One record as a JSON object, then a copy in a JSON array; the rest as newline-delimited records.
        let (status, first) = send(
            &app,
            &key,
            "POST",
            "contact-records",
            "application/json",
            voice_call().to_string(),
        )
        .await;
        assert_eq!(
            (status, statuses(&first)),
            (200, vec!["created"]),
            "{first}"
        );
        let (_, arr) = send(
            &app,
            &key,
            "POST",
            "contact-records",
            "application/json",
            json!([voice_call()]).to_string(),
        )
        .await;
        assert_eq!(statuses(&arr), ["duplicate"]);
        // At-least-once delivery, and a later copy whose only change is one Heard does not read.
        let mut later = voice_call();
        later["LastUpdateTimestamp"] = json!("2026-11-02T18:00:00Z");
        later["Recording"] = json!({"Location": "connect-bucket/recordings/x.wav", "Status": "AVAILABLE", "Type": "AUDIO"});
        let again = records(&app, &key, &[voice_call(), later]).await;
        assert_eq!(statuses(&again), ["duplicate", "duplicate"]);
        assert_eq!(again["results"][1]["id"], first["results"][0]["id"]);
        // A copy that maps to another event: refused by its ContactId, the first kept.
        let mut changed = voice_call();
        changed["Queue"]["Duration"] = json!(10);
        let v = records(&app, &key, &[changed]).await;
        assert_eq!(statuses(&v), ["reused"]);
        assert_eq!(
            error_fields(&v["results"][0]),
            [(
                "[0].ContactId".to_string(),
                "idempotency_key_reused".to_string()
            )]
        );
        let events = app.store.events(app.a.org).await.unwrap();
        assert_eq!(events.len(), 1);
        assert!(events[0].measures.contains("245"));
    }
);

both_backends!(errors_name_the_record_and_the_connect_field, |app| {
    let key = api_key(&app).await;
    let mut bad = voice_call();
    bad["ContactId"] = json!("ffffffff-0000-4000-8000-000000000001");
    bad["Queue"]["Duration"] = json!("four minutes");
    let mut task = chat();
    task["Channel"] = json!("TASK");
    let body = format!("{}\n{}\nnot json\n{}\n", abandoned_call(), bad, task);
    let (status, v) = send(
        &app,
        &key,
        "POST",
        "contact-records",
        "application/x-ndjson",
        body,
    )
    .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(statuses(&v), ["created", "invalid", "invalid", "invalid"]);
    assert_eq!(
        error_fields(&v["results"][1]),
        [(
            "[1].Queue.Duration".to_string(),
            "invalid_number".to_string()
        )]
    );
    assert_eq!(
        error_fields(&v["results"][2]),
        [("[2]".to_string(), "invalid_json".to_string())]
    );
    assert!(
        v["results"][2]["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("line 3")
    );
    assert_eq!(
        error_fields(&v["results"][3]),
        [("[3].Channel".to_string(), "unsupported_channel".to_string())]
    );
    assert_eq!(
        app.store.events(app.a.org).await.unwrap().len(),
        1,
        "nothing of a refused record is stored"
    );
    // A JSON array, and a transcript naming a speaker it does not list.
    let mut file = analysis();
    file["Transcript"][2]["ParticipantId"] = json!("nobody");
    let (status, v) = send(
        &app,
        &key,
        "POST",
        "transcripts",
        "application/json",
        json!([file]).to_string(),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        error_fields(&v["results"][0]),
        [(
            "[0].Transcript[2].ParticipantId".to_string(),
            "unknown_participant".to_string()
        )]
    );
    // A mapping naming another organization's service.
    let (status, v) = send(&app, &key, "PUT", "mapping", "application/json",
        json!({"queues": [{"queue": "BenefitsClaims", "service_id": app.b.service.id.to_string()}]}).to_string()).await;
    assert_eq!(status, 422);
    assert_eq!(v["errors"][0]["field"], "queues[0].service_id");
    // More than 1,000 records: refused whole.
    let many = format!("{}\n", abandoned_call()).repeat(1001);
    let (status, v) = send(
        &app,
        &key,
        "POST",
        "contact-records",
        "application/x-ndjson",
        many,
    )
    .await;
    assert_eq!((status, v["code"].as_str()), (413, Some("batch_too_large")));
    // Not JSON at all.
    let (status, v) = send(
        &app,
        &key,
        "POST",
        "transcripts",
        "text/plain",
        "hello".into(),
    )
    .await;
    assert_eq!(
        (status, v["code"].as_str()),
        (415, Some("unsupported_media_type"))
    );
});
