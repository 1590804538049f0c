//! Journey definitions and pages (issue 18, item 6): a definition goes in by the API and by the admin's form and
//! comes back the same; bad definitions are refused naming the field; data arriving and definitions changing
//! enqueue the `journeys.refresh` job, which `Worker::run_pending_once` runs; on the demo agency the SNAP form's
//! journey page shows the upload step as the biggest drop-off with counts equal to heard-insight's over the same
//! log, and every table downloads as CSV.

use std::process::{Command, Stdio};

use futures_util::TryStreamExt;
use heard_domain::Role;
use heard_server::journeys::{self as j, JourneyResult};
use heard_store::DatabaseUrl;
use serde_json::{Value, json};

use crate::both_backends;
use crate::support::{Backend, TestApp, database, spawn_app_at};

async fn api_key(app: &TestApp, org: heard_domain::OrgId) -> String {
    let secret = heard_server::ingest::new_api_key();
    app.store
        .create_api_key(
            org,
            "test",
            &heard_server::crypto::sha256(secret.as_bytes()),
            heard_store::now_ms(),
        )
        .await
        .unwrap();
    secret
}

async fn queued_refreshes(app: &TestApp, org: heard_domain::OrgId) -> Vec<heard_store::jobs::Job> {
    app.queued_jobs(org, j::REFRESH_KIND).await
}

fn apply() -> Value {
    json!({"name": "Apply", "stages": [
        {"name": "Started", "activities": ["application_started"]},
        {"name": "Submitted", "activities": ["application_submitted"], "touchpoints": ["Web"]},
        {"name": "Decided", "activities": ["application_decided"]}
    ]})
}

both_backends!(definitions_round_trip_and_are_validated, |app| {
    let key = api_key(&app, app.a.org).await;
    let key_b = api_key(&app, app.b.org).await;
    let put = |id: &str, body: Value, key: &str| {
        app.client
            .put(format!("{}/api/v1/journeys/{id}", app.base))
            .header("authorization", format!("Bearer {key}"))
            .json(&body)
            .send()
    };
    let r = put("apply", apply(), &key).await.unwrap();
    assert_eq!(r.status(), 200);
    let got: Value = app
        .client
        .get(format!("{}/api/v1/journeys/apply", app.base))
        .header("authorization", format!("Bearer {key}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut want = apply();
    want["id"] = json!("apply");
    for s in want["stages"].as_array_mut().unwrap() {
        if s.get("touchpoints").is_none() {
            s["touchpoints"] = json!([]);
        }
    }
    assert_eq!(got, want);
    // A change enqueued its recomputation (all time and this quarter), in the same commit.
    let jobs = queued_refreshes(&app, app.a.org).await;
    assert_eq!(jobs.len(), 2, "{jobs:?}");
    // The same body again changes nothing and enqueues nothing.
    assert_eq!(put("apply", apply(), &key).await.unwrap().status(), 200);
    assert_eq!(queued_refreshes(&app, app.a.org).await.len(), 2);
    // Another organization does not see it; its own list is empty.
    let r = app
        .client
        .get(format!("{}/api/v1/journeys/apply", app.base))
        .header("authorization", format!("Bearer {key_b}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let list: Value = app
        .client
        .get(format!("{}/api/v1/journeys", app.base))
        .header("authorization", format!("Bearer {key_b}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list, json!([]));

    // Refusals name the field, and store nothing.
    let mut dup = apply();
    dup["stages"][2]["activities"] = json!(["application_submitted"]);
    for (id, body, field) in [
        ("apply", dup, "stages[2].activities[0]"),
        ("apply", json!({"name": "", "stages": []}), "name"),
        (
            "apply",
            json!({"name": "J", "stages": [{"name": "A", "activity": ["x"]}]}),
            "body",
        ),
        ("Not_An_Id", apply(), "id"),
    ] {
        let r = put(id, body, &key).await.unwrap();
        assert_eq!(r.status(), 422, "{id}");
        let e: Value = r.json().await.unwrap();
        assert_eq!(e["errors"][0]["field"], field, "{e}");
    }
    assert_eq!(app.store.journeys(app.a.org).await.unwrap().len(), 1);

    // The admin's form: errors name the stage's field, and a good form saves.
    let s = app.sign_in(&app.a.admin_email).await;
    let org = app.a.org.to_string();
    let r = app
        .post(
            &s,
            &format!("/admin/o/{org}/journeys"),
            &[
                ("id", "visits"),
                ("name", "Visits"),
                ("stage-0-name", "Called"),
                ("stage-0-activities", "call"),
                ("stage-2-name", "Visited"),
                ("stage-2-activities", "office_visit, call"),
            ],
        )
        .await;
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    assert!(html.contains(r#"id="stage-2-activities-error""#), "{html}");
    assert!(html.contains("Stage 3 activities"), "{html}");
    assert!(html.contains(r#"value="office_visit, call""#));
    let r = app
        .post(
            &s,
            &format!("/admin/o/{org}/journeys"),
            &[
                ("id", "visits"),
                ("name", "Visits"),
                ("stage-0-name", "Called"),
                ("stage-0-activities", "call, chat"),
                ("stage-2-name", "Visited"),
                ("stage-2-activities", "office_visit"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    let stored = app
        .store
        .journey(app.a.org, "visits")
        .await
        .unwrap()
        .unwrap();
    let def = heard_insight::journeys::JourneyDefinition::from_json(&stored.definition).unwrap();
    assert_eq!(def.stages.len(), 2);
    assert_eq!(def.stages[0].activities, ["call", "chat"]);
    let edit = app
        .get(&s, &format!("/admin/o/{org}/journeys/visits/edit"))
        .await
        .text()
        .await
        .unwrap();
    assert!(edit.contains(r#"value="call, chat""#));
    // The same short name again is refused.
    let r = app
        .post(
            &s,
            &format!("/admin/o/{org}/journeys"),
            &[
                ("id", "visits"),
                ("name", "V"),
                ("stage-0-name", "A"),
                ("stage-0-activities", "x"),
            ],
        )
        .await;
    assert_eq!(r.status(), 422);

    // Data arriving enqueues one recomputation per journey and period, due at the end of the debounce window.
    let before = queued_refreshes(&app, app.a.org).await.len();
    // The windows the two commits can fall in: one, or two when a window ends between them (the wall clock is not
    // the test's to set, so the assertions below hold wherever it stands).
    let first_window = heard_store::after_data::window_of(heard_store::now_ms());
    for i in 0..2 {
        let r = app
            .client
            .post(format!("{}/api/v1/events", app.base))
            .header("authorization", format!("Bearer {key}"))
            .json(
                &json!({"items": [{"external_id": format!("e{i}"), "type": "call",
                "occurred_at": "2026-10-02T10:00:00Z", "person": {"email": "ana@example.com"}}]}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
    let last_window = heard_store::after_data::window_of(heard_store::now_ms());
    // The data's commits upserted one `data.arrived` job per window (in the same transaction as the data), due at
    // the window's end; when it runs, it enqueues the recomputations.
    let mut arrived: Vec<_> = app
        .queued_jobs(app.a.org, heard_store::after_data::KIND)
        .await;
    arrived.sort_by_key(|x| x.run_at);
    assert!(
        !arrived.is_empty() && arrived.len() as i64 <= last_window - first_window + 1,
        "{arrived:?}"
    );
    assert!(arrived.iter().all(|x| x.run_at % j::DEBOUNCE_MS == 0));
    assert_eq!(arrived[0].run_at, (first_window + 1) * j::DEBOUNCE_MS);
    assert_eq!(queued_refreshes(&app, app.a.org).await.len(), before);
    let claimed = app
        .store
        .claim_jobs(
            &[heard_store::after_data::KIND],
            10,
            60_000,
            arrived[0].run_at,
        )
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    use heard_server::jobs::JobHandler;
    for _ in 0..2 {
        // Run twice (at-least-once delivery): the second run enqueues nothing more.
        heard_server::after_data::AfterData
            .run(&app.store, &claimed[0])
            .await
            .unwrap();
    }
    assert!(app.store.complete_job(&claimed[0]).await.unwrap());
    let after = queued_refreshes(&app, app.a.org).await;
    assert_eq!(after.len(), before + 4, "two journeys × two periods, once");
    assert!(
        after.iter().all(|x| x.run_at % j::DEBOUNCE_MS == 0
            || x.dedupe_key.as_deref().unwrap().contains("changed")),
        "{after:?}"
    );
    let insights: Vec<_> = app
        .queued_jobs(app.a.org, heard_server::insights::REFRESH_KIND)
        .await;
    assert_eq!(insights.len(), 1, "{insights:?}");
    // The debounced jobs wait for their window; the others run now (just before the first window ends: the
    // `data.arrived` job of that window ran above, so it is no longer queued for `before_data_arrived` to find).
    let ran = app
        .worker()
        .run_due_by(arrived[0].run_at - 1)
        .await
        .unwrap();
    assert_eq!(ran, 4);
    let snap = app
        .store
        .insight_snapshot(app.a.org, j::SNAPSHOT_KIND, "journey:visits", "")
        .await
        .unwrap()
        .unwrap();
    let r: JourneyResult = serde_json::from_str(&snap.result).unwrap();
    assert_eq!((r.figures.events, r.figures.cases, snap.n), (2, 1, 2));
    assert_eq!(r.figures.funnel.stages[0].cases, 1);
});

/// `heard demo-data` on a small N into a fresh database, then a test server over it.
async fn demo_app(backend: Backend) -> TestApp {
    let (url, dir) = database(backend).await;
    let mut c = Command::new(env!("CARGO_BIN_EXE_heard"));
    c.arg("demo-data")
        .args(["--responses", "1500"])
        .env("HEARD_LOG", "warn")
        .stdout(Stdio::null());
    match &url {
        DatabaseUrl::Postgres(u) => {
            c.arg("--database-url").arg(u);
        }
        _ => {
            c.arg("--data-dir").arg(dir.as_ref().unwrap().path());
        }
    }
    assert!(c.status().unwrap().success());
    spawn_app_at(url, dir, |_| {}).await
}

fn cell_after<'a>(html: &'a str, row_header: &str) -> Vec<&'a str> {
    let at = html
        .find(&format!(r#"<th scope="row">{row_header}</th>"#))
        .unwrap_or_else(|| panic!("no row {row_header}"));
    let row = &html[at..html[at..].find("</tr>").unwrap() + at];
    row.split("<td>")
        .skip(1)
        .map(|c| c.split("</td>").next().unwrap())
        .collect()
}

/// heard-insight's figures over the whole log, computed directly.
struct Direct {
    events: u64,
    people: u64,
    funnel: heard_insight::journeys::Funnel,
    dfg: heard_insight::journeys::Dfg,
}

fn thousands(n: u64) -> String {
    heard_server::render::format_thousands(n as i64)
}

async fn demo_journey_page(backend: Backend) {
    let app = demo_app(backend).await;
    let demo = app.store.org_by_slug("demo").await.unwrap();
    let user = app.store.user_by_email(&app.a.admin_email).await.unwrap();
    app.store
        .set_membership(demo.id, user.id, Role::Analyst, heard_store::now_ms())
        .await
        .unwrap();
    let s = app.sign_in(&app.a.admin_email).await;
    let base = format!("/admin/o/{}/journeys", demo.id);
    // The standard journeys came with the demo, with their recomputation queued.
    let list = app.get(&s, &base).await.text().await.unwrap();
    assert!(
        list.contains("SNAP application form") && list.contains("Not yet"),
        "{list}"
    );
    let page = app
        .get(&s, &format!("{base}/snap-application"))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("has not been computed"), "{page}");
    // The job computes them (run up to the first debounced `data.arrived`, so the test does not depend on where the
    // wall clock stands in its five-minute window).
    let ran = app
        .worker()
        .run_due_by(app.before_data_arrived(demo.id).await)
        .await
        .unwrap();
    assert!(ran >= 4, "{ran}");
    let page = app
        .get(&s, &format!("{base}/snap-application"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("The biggest drop-off is before Upload documents"),
        "{page}"
    );
    // The same figures from heard-insight over the same log, built directly.
    let stored = app
        .store
        .journey(demo.id, "snap-application")
        .await
        .unwrap()
        .unwrap();
    let def = heard_insight::journeys::JourneyDefinition::from_json(&stored.definition).unwrap();
    // The whole log in memory, built from the store's rows as the job reads them, and heard-insight's figures.
    let rows: Vec<heard_store::event_log::LogRow> = app
        .store
        .log_rows(
            demo.id,
            heard_store::event_log::LogQuery {
                from: i64::MIN,
                to: i64::MAX,
                order: heard_store::event_log::LogOrder::Person,
            },
        )
        .try_collect()
        .await
        .unwrap();
    let mut b = heard_insight::journeys::EventLogBuilder::new();
    for r in rows.iter().filter(|r| j::in_scope(&def, r)) {
        j::push_row(&mut b, r);
    }
    let log = b.build();
    assert!(log.case_count() > 50, "{}", log.case_count());
    let direct = Direct {
        events: log.len() as u64,
        people: log.case_count() as u64,
        funnel: log.funnel(&def),
        dfg: log.directly_follows(),
    };
    // The job's chunked computation gives the same counts with chunks of any size.
    for chunk in [1, 97, j::CHUNK_EVENTS] {
        let f = j::compute(&app.store, demo.id, &def, (i64::MIN, i64::MAX), chunk)
            .await
            .unwrap();
        assert_eq!((f.events, f.cases), (direct.events, direct.people));
        assert_eq!(f.variants, log.variants(j::TOP_VARIANTS));
        assert_eq!(f.starts, log.starts());
        assert_eq!(f.rework, log.rework());
        let counts = |d: &heard_insight::journeys::Dfg| {
            d.edges
                .iter()
                .map(|e| (e.from.clone(), e.to.clone(), e.count))
                .collect::<Vec<_>>()
        };
        assert_eq!(counts(&f.dfg), counts(&direct.dfg));
        let reached = |f: &heard_insight::journeys::Funnel| {
            f.stages
                .iter()
                .map(|s| (s.cases, s.dropped))
                .collect::<Vec<_>>()
        };
        assert_eq!(reached(&f.funnel), reached(&direct.funnel));
    }
    assert!(page.contains(&format!(
        "from <strong>{}</strong> events of <strong>{}</strong> people",
        thousands(direct.events),
        thousands(direct.people)
    )));
    let biggest = direct
        .funnel
        .stages
        .iter()
        .max_by_key(|s| s.dropped)
        .unwrap();
    assert_eq!(biggest.name, "Upload documents");
    assert!(biggest.dropped > 0);
    for st in &direct.funnel.stages {
        let cells = cell_after(&page, &st.name);
        assert_eq!(cells[0], thousands(st.cases), "{}", st.name);
        assert_eq!(cells[2], thousands(st.dropped), "{}", st.name);
    }
    // Each table downloads as CSV, the funnel's equal to the direct figures.
    let csv = app
        .get(
            &s,
            &format!("{base}/snap-application?quarter=&table=funnel&format=csv"),
        )
        .await;
    assert_eq!(csv.status(), 200);
    assert!(
        csv.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let body = csv.text().await.unwrap();
    let mut rd = csv::Reader::from_reader(body.as_bytes());
    let rows: Vec<csv::StringRecord> = rd.records().map(|r| r.unwrap()).collect();
    assert_eq!(rows.len(), direct.funnel.stages.len());
    for (row, st) in rows.iter().zip(&direct.funnel.stages) {
        assert_eq!(&row[1], st.name);
        assert_eq!(row[2].parse::<u64>().unwrap(), st.cases);
        assert_eq!(row[3].parse::<u64>().unwrap(), st.dropped);
    }
    for table in [
        "starts",
        "flows",
        "switching",
        "repeat_contacts",
        "rework",
        "variants",
        "dfg",
    ] {
        let r = app
            .get(
                &s,
                &format!("{base}/snap-application?table={table}&format=csv"),
            )
            .await;
        assert_eq!(r.status(), 200, "{table}");
        let body = r.text().await.unwrap();
        assert!(body.lines().count() >= 2, "{table}: {body}");
    }
    // The DFG's counts equal heard-insight's.
    let dfg = app
        .get(&s, &format!("{base}/snap-application?table=dfg&format=csv"))
        .await
        .text()
        .await
        .unwrap();
    let mut rd = csv::Reader::from_reader(dfg.as_bytes());
    let total: u64 = rd
        .records()
        .map(|r| r.unwrap()[3].parse::<u64>().unwrap())
        .sum();
    assert_eq!(total, direct.dfg.edges.iter().map(|e| e.count).sum::<u64>());
    let r = app
        .get(
            &s,
            &format!("{base}/snap-application?table=nope&format=csv"),
        )
        .await;
    assert_eq!(r.status(), 422);
    // "Refresh now" queues one job (pressed twice before it ran, one job), which the worker runs.
    for _ in 0..2 {
        let r = app
            .post(
                &s,
                &format!("{base}/snap-application/refresh"),
                &[("quarter", "")],
            )
            .await;
        assert_eq!(r.status(), 303);
    }
    assert_eq!(queued_refreshes(&app, demo.id).await.len(), 1);
    assert_eq!(
        app.worker()
            .run_due_by(app.before_data_arrived(demo.id).await)
            .await
            .unwrap(),
        1
    );
    // Once it stored a new snapshot, the next press is a new job.
    let r = app
        .post(
            &s,
            &format!("{base}/snap-application/refresh"),
            &[("quarter", "")],
        )
        .await;
    assert_eq!(r.status(), 303);
    assert_eq!(queued_refreshes(&app, demo.id).await.len(), 1);
    // Another organization's member does not find it.
    let sb = app.sign_in(&app.b.admin_email).await;
    let r = app.get(&sb, &format!("{base}/snap-application")).await;
    assert_eq!(r.status(), 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_journey_page_sqlite() {
    demo_journey_page(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_journey_page_postgres() {
    demo_journey_page(Backend::Postgres).await;
}

both_backends!(channel_switching_counts_the_persons_own_contacts, |app| {
    // A person chats, the agency calls them back (outbound) and asks for a document at the web touchpoint, the
    // person chats again and then visits an office: one switch (chat to office), not four.
    let key = crate::inbox::api_key(&app, &app.a).await;
    let service = app.a.service.id.to_string();
    let web = app.a.touchpoint.id.to_string();
    let p = json!({"email": "switch@example.gov"});
    let ev = |id: &str, ty: &str, at: &str| json!({"external_id": id, "type": ty, "occurred_at": at, "person": p, "service_id": service});
    let mut items = vec![
        ev("c1", "chat", "2026-10-01T09:00:00Z"),
        ev("c2", "call", "2026-10-01T10:00:00Z"),
        ev("c3", "document_requested", "2026-10-01T11:00:00Z"),
        ev("c4", "chat", "2026-10-02T09:00:00Z"),
        ev("c5", "office_visit", "2026-10-03T09:00:00Z"),
    ];
    items[0]["attributes"] = json!({"initiation_method": "INBOUND"});
    items[1]["attributes"] = json!({"initiation_method": "OUTBOUND"});
    items[2]["touchpoint_id"] = json!(web);
    crate::inbox::send(&app, &key, "/api/v1/events", json!(items)).await;
    let rows: Vec<_> = app
        .store
        .log_rows(
            app.a.org,
            heard_store::event_log::LogQuery {
                from: 0,
                to: i64::MAX,
                order: heard_store::event_log::LogOrder::Person,
            },
        )
        .try_collect()
        .await
        .unwrap();
    assert_eq!(rows.len(), 5);
    assert_eq!(rows[1].initiation.as_deref(), Some("OUTBOUND"));
    assert!(
        rows[2].channel.is_some(),
        "the web touchpoint has a channel"
    );
    let mut b = heard_insight::journeys::EventLogBuilder::new();
    for r in &rows {
        assert!(j::push_row(&mut b, r));
    }
    let sw = b.build().channel_switching();
    assert_eq!((sw.cases, sw.cases_switching, sw.switches), (1, 1, 1));
    assert_eq!(
        sw.pairs,
        vec![("live_chat".to_string(), "in_person".to_string(), 1)]
    );
});

both_backends!(standard_journeys_are_offered_only_when_missing, |app| {
    let s = app.sign_in(&app.a.admin_email).await;
    let list = format!("/admin/o/{}/journeys", app.a.org);
    // The SNAP journey names a service: an organization without it is not offered that journey.
    let html = app.get(&s, &list).await.text().await.unwrap();
    assert!(!html.contains("SNAP application form"), "{html}");
    app.store
        .create_service(
            app.a.org,
            &heard_domain::LocalizedText::en_only("Food assistance (SNAP) applications"),
            &heard_domain::LocalizedText::en_only(""),
            heard_store::now_ms(),
        )
        .await
        .unwrap();
    // One standard journey added already: only the other is offered.
    let zone = app.store.org(app.a.org).await.unwrap().time_zone;
    let (id, def) = j::default_journeys().into_iter().next().unwrap();
    assert_eq!(id, "apply-for-a-benefit");
    j::save_definition(&app.store, app.a.org, &zone, &id, &def)
        .await
        .unwrap();
    let html = app.get(&s, &list).await.text().await.unwrap();
    assert!(
        html.contains("you do not have yet: SNAP application form."),
        "{html}"
    );
    let r = app
        .post(
            &s,
            &format!("/admin/o/{}/journeys/defaults", app.a.org),
            &[],
        )
        .await;
    assert_eq!(r.status(), 303);
    let html = app.get(&s, &list).await.text().await.unwrap();
    assert!(!html.contains("Add the standard journeys"), "{html}");
});
