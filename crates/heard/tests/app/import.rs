//! File import (issue 17, items 3, 5 and 8): CSV and NDJSON files of events, signals and responses through the
//! pipeline and the bulk store path; a bad row named by line, field and reason with its batch writing nothing;
//! resuming after a stop writes every row once; re-imports are duplicates and a reused external id is refused;
//! deferred enrichment is a job that fills it in. The last test runs the `heard import` command itself.

use heard_channels::import::{Format, Kind, Mapping, Plan, records};
use heard_server::import::{ImportReport, ImportSpec, ResumeKey, import_records};
use heard_server::pipeline::{Enrich, Pipeline};
use serde_json::json;

use crate::both_backends;
use crate::support::{Tenant, TestApp};

fn pipeline() -> Pipeline {
    Pipeline::new(&[9u8; 32])
}

async fn import(
    app: &TestApp,
    spec: &ImportSpec,
    format: Format,
    plan: Plan,
    text: &str,
) -> ImportReport {
    let recs = records(text.as_bytes(), format, plan).unwrap();
    import_records(&app.store, &pipeline(), spec, recs, &mut |_| {})
        .await
        .unwrap()
}

fn spec(t: &Tenant, kind: Kind) -> ImportSpec {
    let mut s = ImportSpec::new(t.org, kind);
    s.enrich = Enrich::Now;
    if kind == Kind::Response {
        s.survey = Some(t.survey.id);
    }
    s
}

fn errors(r: &ImportReport) -> Vec<(u64, String, &'static str)> {
    r.errors
        .iter()
        .map(|e| (e.line, e.field.clone(), e.code))
        .collect()
}

both_backends!(csv_and_ndjson_files_of_each_kind_are_imported, |app| {
    let t = &app.a;
    // Events: CSV headed by item fields, then NDJSON lines that are API items.
    let r = import(
        &app,
        &spec(t, Kind::Event),
        Format::Csv,
        Plan::identity(Kind::Event),
        "external_id,type,occurred_at,measures.wait,measures.transfers,person.phone,attributes.queue\n\
         call-1,call,2026-11-01T10:00:00Z,93.5,1,202-555-0123,claims\n\
         call-2,call,2026-11-01T11:00:00Z,12,0,,general\n",
    )
    .await;
    assert_eq!(
        (r.progress.created, r.errors.len()),
        (2, 0),
        "{:?}",
        r.errors
    );
    let r = import(
        &app,
        &spec(t, Kind::Event),
        Format::Ndjson,
        Plan::identity(Kind::Event),
        "{\"external_id\": \"visit-1\", \"type\": \"office_visit\", \"occurred_at\": \"2026-11-02T09:00:00Z\", \"measures\": {\"wait\": 600}}\n",
    )
    .await;
    assert_eq!(r.progress.created, 1, "{:?}", r.errors);
    let events = app.store.events(t.org).await.unwrap();
    assert_eq!(events.len(), 3);
    let call = events.iter().find(|e| e.external_id == "call-1").unwrap();
    assert_eq!(call.source, "import");
    assert!(call.measures.contains("93.5"), "{}", call.measures);
    let key = call.person_key.as_deref().unwrap();
    // The number in any form (not "555" alone: a hash's hex digits may hold it by chance).
    assert!(
        !key.contains("5550123") && !key.contains("202-555"),
        "a person is kept only as a keyed hash"
    );

    // Signals: a CSV with a mapping (renamed columns, a constant), and an NDJSON transcript.
    let mapping: Mapping = serde_json::from_value(json!({
        "columns": {"Review id": "external_id", "Stars": "rating", "Review": "text", "Posted": "occurred_at"},
        "constants": {"source": "review"},
        "time": {"format": "%m/%d/%Y %H:%M", "zone": "America/Chicago"}
    }))
    .unwrap();
    let r = import(
        &app,
        &spec(t, Kind::Signal),
        Format::Csv,
        Plan::new(Kind::Signal, &mapping).unwrap(),
        "Review id,Stars,Review,Posted\n\
         rv-1,2,\"Slow, and they emailed ana.lopez@example.gov by mistake\",11/01/2026 09:30\n",
    )
    .await;
    assert_eq!(r.progress.created, 1, "{:?}", r.errors);
    let r = import(
        &app,
        &spec(t, Kind::Signal),
        Format::Ndjson,
        Plan::identity(Kind::Signal),
        "{\"external_id\": \"tr-1\", \"source\": \"call_transcript\", \"turns\": [{\"speaker\": \"agent\", \"text\": \"Thanks for calling\"}, {\"speaker\": \"customer\", \"text\": \"I waited an hour\"}]}\n",
    )
    .await;
    assert_eq!(r.progress.created, 1, "{:?}", r.errors);
    let signals = app.store.signals(t.org).await.unwrap();
    assert_eq!(signals.len(), 2);
    let review = signals.iter().find(|s| s.external_id == "rv-1").unwrap();
    assert!(
        !review.text.contains("ana.lopez"),
        "free text is redacted: {}",
        review.text
    );
    assert_eq!(review.rating, Some(2));
    assert_eq!(
        review.occurred_at, 1_793_547_000_000,
        "09:30 in Chicago (CST from that morning) is 15:30 UTC"
    );
    assert!(review.sentiment.is_some(), "enriched now");

    // Responses to the tenant's survey: answers by question id.
    let r = import(
        &app,
        &spec(t, Kind::Response),
        Format::Csv,
        Plan::identity(Kind::Response),
        "external_id,answers.trust,answers.comment,submitted_at\n\
         resp-1,1,The clerk was quick and kind,2026-10-01T12:00:00Z\n\
         resp-2,0,,2026-10-02T12:00:00Z\n",
    )
    .await;
    assert_eq!(r.progress.created, 2, "{:?}", r.errors);
    let r = import(
        &app,
        &spec(t, Kind::Response),
        Format::Ndjson,
        Plan::identity(Kind::Response),
        "{\"external_id\": \"resp-3\", \"answers\": {\"trust\": 1, \"went_well\": [\"ease\"]}, \"channel\": \"phone\"}\n",
    )
    .await;
    assert_eq!(r.progress.created, 1, "{:?}", r.errors);
    let id = app
        .store
        .response_by_key(t.org, t.survey.id, "resp-1")
        .await
        .unwrap()
        .unwrap();
    let stored = app.store.response(t.org, id).await.unwrap();
    assert_eq!(stored.trust, Some(1));
    assert_eq!(stored.submitted_at, 1_790_856_000_000);
    assert!(stored.enrichment.is_some() && stored.sentiment.is_some());
    // Nothing went to the other tenant.
    assert!(app.store.events(app.b.org).await.unwrap().is_empty());
    assert!(app.store.signals(app.b.org).await.unwrap().is_empty());
});

both_backends!(
    event_text_with_tabs_backslashes_and_line_breaks_is_stored_as_given,
    |app| {
        // PostgreSQL takes bulk events through COPY's text format, where these characters are escapes.
        let t = &app.a;
        let r = import(
        &app,
        &spec(t, Kind::Event),
        Format::Ndjson,
        Plan::identity(Kind::Event),
        "{\"external_id\": \"a\\\\b\\tc\", \"type\": \"call\", \"occurred_at\": \"2026-11-01T10:00:00Z\", \
         \"attributes\": {\"queue\": \"C:\\\\claims\\\\N\\tnext\\nline \\\"quoted\\\"\"}}\n\
         {\"external_id\": \"plain\", \"type\": \"call\", \"occurred_at\": \"2026-11-01T11:00:00Z\", \
         \"attributes\": {\"queue\": \"\\\\N\"}}\n",
    )
    .await;
        assert_eq!(
            (r.progress.created, r.errors.len()),
            (2, 0),
            "{:?}",
            r.errors
        );
        let events = app.store.events(t.org).await.unwrap();
        let first = events.iter().find(|e| e.external_id == "a\\b\tc").unwrap();
        let attributes: serde_json::Value = serde_json::from_str(&first.attributes).unwrap();
        assert_eq!(attributes["queue"], "C:\\claims\\N\tnext\nline \"quoted\"");
        let plain = events.iter().find(|e| e.external_id == "plain").unwrap();
        let attributes: serde_json::Value = serde_json::from_str(&plain.attributes).unwrap();
        assert_eq!(
            attributes["queue"], "\\N",
            "a text that reads as COPY's null is text"
        );
        // Imported again: every row is a duplicate, nothing is stored twice.
        let r = import(
        &app,
        &spec(t, Kind::Event),
        Format::Ndjson,
        Plan::identity(Kind::Event),
        "{\"external_id\": \"a\\\\b\\tc\", \"type\": \"call\", \"occurred_at\": \"2026-11-01T10:00:00Z\", \
         \"attributes\": {\"queue\": \"C:\\\\claims\\\\N\\tnext\\nline \\\"quoted\\\"\"}}\n",
    )
    .await;
        assert_eq!(
            (r.progress.created, r.progress.duplicates),
            (0, 1),
            "{:?}",
            r.errors
        );
        assert_eq!(app.store.events(t.org).await.unwrap().len(), 2);
    }
);

both_backends!(a_bad_row_is_named_and_its_batch_writes_nothing, |app| {
    let t = &app.a;
    let mut s = spec(t, Kind::Event);
    s.batch_size = 2;
    // Lines 2-3 are batch 1, 4-5 batch 2, 6-7 batch 3.
    let r = import(
        &app,
        &s,
        Format::Csv,
        Plan::identity(Kind::Event),
        "external_id,type,occurred_at,measures.wait,measures.mood\n\
         e1,call,2026-11-01T10:00:00Z,10,\n\
         e2,call,2026-11-01T10:00:00Z,10,\n\
         e3,cal,2026-11-01T10:00:00Z,10,\n\
         e4,call,2026-11-01T10:00:00Z,10,\n\
         e5,call,2026-11-01T10:00:00Z,10,3\n\
         e6,call,2099-01-01T00:00:00Z,ten,\n",
    )
    .await;
    assert_eq!(
        errors(&r),
        [
            (4, "type".to_string(), "unknown_event_type"),
            (6, "measures.mood".to_string(), "undeclared_measure"),
            (7, "measures.wait".to_string(), "not_a_number"),
        ]
    );
    assert!(
        r.errors[0].message.contains("'cal'"),
        "{}",
        r.errors[0].message
    );
    let refused: Vec<(u64, u64, u64)> = r
        .refused_batches
        .iter()
        .map(|b| (b.number, b.first_line, b.last_line))
        .collect();
    assert_eq!(refused, [(2, 4, 5), (3, 6, 7)]);
    assert_eq!((r.progress.created, r.progress.refused), (2, 4));
    let stored: Vec<String> = app
        .store
        .events(t.org)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.external_id)
        .collect();
    assert_eq!(stored.len(), 2);
    assert!(stored.contains(&"e1".into()) && stored.contains(&"e2".into()));

    // A time far ahead is refused by the domain's rule, naming the field.
    let r = import(
        &app,
        &s,
        Format::Ndjson,
        Plan::identity(Kind::Event),
        "{\"external_id\": \"f1\", \"type\": \"call\", \"occurred_at\": \"2099-01-01T00:00:00Z\"}\n",
    )
    .await;
    assert_eq!(
        errors(&r),
        [(1, "occurred_at".to_string(), "in_the_future")]
    );
    assert_eq!(app.store.events(t.org).await.unwrap().len(), 2);
});

both_backends!(
    an_import_stopped_midway_resumes_and_writes_every_row_once,
    |app| {
        let t = &app.a;
        let mut csv = String::from("external_id,type,occurred_at,measures.wait\n");
        for i in 0..10 {
            csv.push_str(&format!("r{i},call,2026-11-01T10:00:00Z,{i}\n"));
        }
        let mut s = spec(t, Kind::Event);
        s.batch_size = 3;
        s.resume = Some(ResumeKey {
            content_hash: "sha256-of-the-file".into(),
            name: "calls.csv".into(),
        });
        // The first run stops after two batches, as a killed process would: six rows committed with its position.
        s.stop_after_batches = Some(2);
        let first = import(&app, &s, Format::Csv, Plan::identity(Kind::Event), &csv).await;
        assert!(first.stopped);
        assert_eq!(first.progress.created, 6);
        let run = app
            .store
            .import_run(t.org, first.import_id.unwrap())
            .await
            .unwrap();
        assert_eq!((run.position, run.batches, run.finished_at), (6, 2, None));
        assert_eq!(app.store.events(t.org).await.unwrap().len(), 6);

        s.stop_after_batches = None;
        let second = import(&app, &s, Format::Csv, Plan::identity(Kind::Event), &csv).await;
        assert_eq!(second.import_id, first.import_id);
        assert_eq!(
            (
                second.progress.skipped,
                second.progress.created,
                second.progress.duplicates
            ),
            (6, 4, 0)
        );
        let mut ids: Vec<String> = app
            .store
            .events(t.org)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.external_id)
            .collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), 10, "every row exactly once");

        let third = import(&app, &s, Format::Csv, Plan::identity(Kind::Event), &csv).await;
        assert!(third.already_finished);
        assert_eq!((third.progress.skipped, third.progress.created), (10, 0));
    }
);

both_backends!(
    a_reimport_is_a_duplicate_and_a_reused_id_is_refused,
    |app| {
        let t = &app.a;
        let csv = "external_id,type,occurred_at,measures.wait\n\
               d1,call,2026-11-01T10:00:00Z,1\n\
               d2,call,2026-11-01T10:00:00Z,2\n";
        let s = spec(t, Kind::Event);
        let first = import(&app, &s, Format::Csv, Plan::identity(Kind::Event), csv).await;
        assert_eq!(first.progress.created, 2);
        let again = import(&app, &s, Format::Csv, Plan::identity(Kind::Event), csv).await;
        assert_eq!((again.progress.created, again.progress.duplicates), (0, 2));
        // d2 again with another wait, beside a new row: the batch is refused whole, naming d2's line.
        let changed = "external_id,type,occurred_at,measures.wait\n\
                   d3,call,2026-11-01T10:00:00Z,3\n\
                   d2,call,2026-11-01T10:00:00Z,99\n";
        let r = import(&app, &s, Format::Csv, Plan::identity(Kind::Event), changed).await;
        assert_eq!(
            errors(&r),
            [(3, "external_id".to_string(), "idempotency_key_reused")]
        );
        assert_eq!(r.refused_batches.len(), 1);
        let events = app.store.events(t.org).await.unwrap();
        assert_eq!(
            events.len(),
            2,
            "d3 shared the refused batch and was not stored"
        );
        assert!(
            events
                .iter()
                .any(|e| e.external_id == "d2" && e.measures.contains('2'))
        );

        // Responses keep the same rule, against what the API stored under the same key.
        let rs = spec(t, Kind::Response);
        let body = json!({"idempotency_key": "resp-api-0001", "answers": {"trust": 1}});
        app.submit_json(t, &body).await;
        let r = import(
            &app,
            &rs,
            Format::Ndjson,
            Plan::identity(Kind::Response),
            "{\"external_id\": \"resp-api-0001\", \"answers\": {\"trust\": 0}}\n",
        )
        .await;
        assert_eq!(
            errors(&r),
            [(1, "external_id".to_string(), "idempotency_key_reused")]
        );
    }
);

both_backends!(deferred_enrichment_is_a_job_that_fills_it_in, |app| {
    let t = &app.a;
    let mut s = spec(t, Kind::Signal);
    s.enrich = Enrich::Later;
    let r = import(
        &app,
        &s,
        Format::Ndjson,
        Plan::identity(Kind::Signal),
        "{\"external_id\": \"s1\", \"source\": \"web_form\", \"text\": \"The renewal form was confusing and slow.\"}\n\
         {\"external_id\": \"s2\", \"source\": \"web_form\", \"text\": \"I lost my job, I can't pay rent, and I honestly don't see the point of living anymore.\"}\n",
    )
    .await;
    assert_eq!(
        (r.progress.created, r.enrichment_jobs),
        (2, 1),
        "{:?}",
        r.errors
    );
    let before = app.store.signals(t.org).await.unwrap();
    assert!(
        before
            .iter()
            .all(|s| s.enrichment.is_none() && s.sentiment.is_none())
    );
    // Urgent is immediate: flagged before the job runs.
    assert!(
        before
            .iter()
            .find(|s| s.external_id == "s2")
            .unwrap()
            .urgent
    );
    assert!(
        !before
            .iter()
            .find(|s| s.external_id == "s1")
            .unwrap()
            .urgent
    );

    let mut rs = spec(t, Kind::Response);
    rs.enrich = Enrich::Later;
    let r = import(
        &app,
        &rs,
        Format::Csv,
        Plan::identity(Kind::Response),
        "external_id,answers.trust,answers.comment\nlater-1,0,The wait was far too long and nobody helped\n",
    )
    .await;
    assert_eq!(r.enrichment_jobs, 1, "{:?}", r.errors);
    let id = app
        .store
        .response_by_key(t.org, t.survey.id, "later-1")
        .await
        .unwrap()
        .unwrap();
    assert!(
        app.store
            .response(t.org, id)
            .await
            .unwrap()
            .enrichment
            .is_none()
    );

    // The admin says the reading is pending (issue 19 item 4) on the lists and the item pages, until the job ran.
    let session = app.sign_in(&t.admin_email).await;
    let s1_id = before
        .iter()
        .find(|s| s.external_id == "s1")
        .unwrap()
        .id
        .to_string();
    let pages = [
        format!("/admin/o/{}/signals", t.org),
        format!("/admin/o/{}/signals/{s1_id}", t.org),
        format!("/admin/o/{}/responses", t.org),
        format!("/admin/o/{}/responses/{id}", t.org),
    ];
    for path in &pages {
        let r = app.get(&session, path).await;
        assert_eq!(r.status(), 200, "{path}");
        assert!(
            r.text().await.unwrap().contains("Reading pending"),
            "{path} says pending"
        );
    }

    let worker = app.worker();
    let by = app.before_data_arrived(t.org).await;
    assert_eq!(worker.run_due_by(by).await.unwrap(), 2);
    for path in &pages {
        let html = app.get(&session, path).await.text().await.unwrap();
        assert!(
            !html.contains("Reading pending"),
            "{path} no longer pending"
        );
    }
    let after = app.store.signals(t.org).await.unwrap();
    for s in &after {
        assert!(s.enrichment.is_some(), "{} enriched", s.external_id);
        assert_eq!(s.language, "en");
    }
    let s1 = after.iter().find(|s| s.external_id == "s1").unwrap();
    assert_eq!(s1.sentiment.as_deref(), Some("negative"));
    let resp = app.store.response(t.org, id).await.unwrap();
    assert_eq!(resp.sentiment.as_deref(), Some("negative"));
    assert!(resp.enrichment.unwrap().get("comment").is_some());
    assert_eq!(app.store.job_counts(t.org).await.unwrap().done, 2);
    // Comment search sees the enriched items: the signal's row carries its sentiment, the response has one now.
    use heard_store::search::{CommentFilter, SearchQuery};
    let negative = CommentFilter {
        sentiment: Some("negative".into()),
        ..CommentFilter::default()
    };
    for word in ["renewal", "nobody"] {
        let page = app
            .store
            .search_comments(t.org, &SearchQuery::parse(word), &negative, None, 10)
            .await
            .unwrap();
        assert_eq!(page.matches, 1, "{word}");
    }
});

/// The command itself: a validation report on screen and in a file, a non-zero exit when a batch was refused, and
/// a re-run that resumes.
#[test]
fn the_import_command_reports_lines_and_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let heard = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_heard"))
            .args(args)
            .env("HEARD_DATA_DIR", dir.path())
            .env_remove("HEARD_DATABASE_URL")
            .output()
            .unwrap()
    };
    let out = heard(&["org", "create", "--name", "Import Agency", "--slug", "imp"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let file = dir.path().join("calls.csv");
    std::fs::write(&file, "Case,Wait (s)\nc1,10\nc2,20\nc3,soon\nc4,40\n").unwrap();
    let mapping = dir.path().join("calls.json");
    std::fs::write(
        &mapping,
        r#"{"columns": {"Case": "external_id", "Wait (s)": "measures.wait"}, "constants": {"type": "call", "occurred_at": "2026-11-01T10:00:00Z"}}"#,
    )
    .unwrap();
    let report = dir.path().join("report.csv");
    let args = [
        "import",
        "--kind",
        "event",
        "--org",
        "imp",
        file.to_str().unwrap(),
        "--mapping",
        mapping.to_str().unwrap(),
        "--batch-size",
        "2",
        "--report",
        report.to_str().unwrap(),
    ];
    let out = heard(&args);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "a refused batch fails the command");
    assert!(
        stdout.contains("line 4: measures.wait (column Wait (s)): measures.wait must be a number"),
        "{stdout}"
    );
    assert!(stdout.contains("Batch 2 (lines 4-5"), "{stdout}");
    assert!(stdout.contains("2 event(s) stored"), "{stdout}");
    let written = std::fs::read_to_string(&report).unwrap();
    assert!(
        written
            .starts_with("line,field,column,code,reason\n4,measures.wait,Wait (s),not_a_number,"),
        "{written}"
    );

    let out = heard(&args);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("Resumed"), "{stdout}");
    assert!(
        stdout.contains("Earlier runs refused 2 record(s)"),
        "{stdout}"
    );
}
