//! Key drivers, barriers by customer characteristics and operations (issue 18, items 3 to 5) on the demo agency:
//! the `insights.refresh` job computes the snapshots (run with `Worker::run_pending_once`), and the pages and their
//! CSV downloads find what the demo data puts in (see `heard::demo::journey`): long waits and being asked again
//! lower trust, Spanish speakers are transferred far more.

use std::collections::HashMap;
use std::process::{Command, Stdio};

use heard_domain::Role;
use heard_domain::fiscal::FiscalQuarter;
use heard_server::jobs::{JobRegistry, Worker, WorkerOptions};
use heard_store::DatabaseUrl;

use crate::support::{Backend, TestApp, database, spawn_app_at};

/// The demo agency with `responses` responses in a fresh database, served, tenant A's admin an analyst of it.
async fn demo_app(backend: Backend, responses: usize) -> (TestApp, heard_domain::OrgId) {
    let (url, dir) = database(backend).await;
    let dir = dir.or_else(|| Some(tempfile::tempdir().unwrap()));
    let data_dir = dir.as_ref().unwrap().path().to_path_buf();
    let mut c = Command::new(env!("CARGO_BIN_EXE_heard"));
    c.arg("demo-data")
        .arg("--responses")
        .arg(responses.to_string())
        .arg("--data-dir")
        .arg(&data_dir)
        .env("HEARD_LOG", "warn")
        .stdout(Stdio::null());
    if let DatabaseUrl::Postgres(u) = &url {
        c.arg("--database-url").arg(u);
    }
    assert!(c.status().unwrap().success());
    let app = spawn_app_at(url, dir, |_| {}).await;
    let demo = app.store.org_by_slug("demo").await.unwrap();
    let user = app.store.user_by_email(&app.a.admin_email).await.unwrap();
    app.store
        .set_membership(demo.id, user.id, Role::Analyst, heard_store::now_ms())
        .await
        .unwrap();
    (app, demo.id)
}

fn csv_rows(text: &str) -> Vec<HashMap<String, String>> {
    let mut r = csv::Reader::from_reader(text.trim_start_matches('\u{feff}').as_bytes());
    let headers = r.headers().unwrap().clone();
    r.records()
        .map(|rec| {
            let rec = rec.unwrap();
            headers
                .iter()
                .zip(rec.iter())
                .map(|(h, v)| (h.to_string(), v.to_string()))
                .collect()
        })
        .collect()
}

async fn insights_on_demo_data(backend: Backend) {
    let (app, org) = demo_app(backend, 4000).await;
    let s = app.sign_in(&app.a.admin_email).await;
    let demo = app.store.org(org).await.unwrap();
    let quarter = FiscalQuarter::containing_ms(heard_store::now_ms(), &demo.time_zone);
    let period = quarter.to_string();

    // Before the job runs, the pages say so and offer a refresh.
    let page = app
        .get(&s, &format!("/admin/o/{org}/drivers?period={period}"))
        .await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("Not computed yet"), "{html}");
    assert!(html.contains("Refresh now"));

    // The demo enqueued this quarter's and the last one's refresh; "Refresh now" adds one more (deduplicated
    // with nothing: it is due at once).
    let r = app
        .post(
            &s,
            &format!("/admin/o/{org}/insights/refresh"),
            &[("period", &period), ("back", "segments")],
        )
        .await;
    assert_eq!(r.status(), 303);
    let worker = Worker::new(
        app.store.clone(),
        JobRegistry::product(),
        WorkerOptions::default(),
    );
    let ran = worker.run_pending_once().await.unwrap();
    assert!(ran >= 2, "{ran} jobs ran");
    let snap = app
        .store
        .insight_snapshot(org, "drivers", "", &period)
        .await
        .unwrap()
        .expect("the job stored the drivers snapshot");
    assert!(snap.n > 500, "n = {}", snap.n);

    // Key drivers: what happened to people ranks long waits and being asked again first.
    let html = app
        .get(&s, &format!("/admin/o/{org}/drivers?period={period}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("Relative importance (Shapley value decomposition of R², LMG)"));
    assert!(html.contains("<svg") && html.contains("Concentrate here"));
    let csv = app
        .get(
            &s,
            &format!("/admin/o/{org}/drivers?period={period}&format=csv&table=operations"),
        )
        .await
        .text()
        .await
        .unwrap();
    let rows = csv_rows(&csv);
    let top: Vec<&str> = rows
        .iter()
        .filter(|r| r["rank"] == "1" || r["rank"] == "2")
        .map(|r| r["driver_code"].as_str())
        .collect();
    assert!(
        top.contains(&"long_call_wait") && top.contains(&"asked_again"),
        "top two operational drivers: {top:?}\n{csv}"
    );
    assert!(rows.iter().all(|r| !r["share_low_95"].is_empty()), "{csv}");

    // Barriers: Spanish speakers trust less, and being transferred is a likely cause.
    let csv = app
        .get(
            &s,
            &format!("/admin/o/{org}/segments?period={period}&format=csv&table=segments"),
        )
        .await
        .text()
        .await
        .unwrap();
    let rows = csv_rows(&csv);
    let es = rows
        .iter()
        .find(|r| r["characteristic"] == "language" && r["segment_code"] == "es")
        .expect("a Spanish row");
    assert_eq!(es["significant"], "true", "{es:?}");
    assert!(es["difference"].parse::<f64>().unwrap() < 0.0);
    // The age band the demo's version 2 surveys ask is a characteristic of its own, "not stated" included.
    let ages: Vec<&str> = rows
        .iter()
        .filter(|r| r["characteristic"] == "age_band")
        .map(|r| r["segment"].as_str())
        .collect();
    assert!(
        ages.contains(&"Prefer not to say")
            && ages.contains(&"Not stated")
            && ages.contains(&"25 to 44"),
        "{ages:?}"
    );
    // Suppression: a hidden cell shows no figure, and no characteristic hides exactly one cell (it could be
    // worked out from the total).
    for ch in ["language", "channel", "touchpoint", "age_band"] {
        let hidden: Vec<_> = rows
            .iter()
            .filter(|r| r["characteristic"] == ch && !r["suppressed"].is_empty())
            .collect();
        assert!(
            hidden
                .iter()
                .all(|r| r["n"].is_empty() && r["share"].is_empty())
        );
        assert_ne!(hidden.len(), 1, "{ch}: one hidden cell could be worked out");
    }
    let csv = app
        .get(
            &s,
            &format!("/admin/o/{org}/segments?period={period}&format=csv&table=causes"),
        )
        .await
        .text()
        .await
        .unwrap();
    let causes = csv_rows(&csv);
    let transferred = causes
        .iter()
        .find(|r| r["segment"] == "Spanish" && r["cause_code"] == "ops:transferred")
        .unwrap_or_else(|| {
            panic!("transfers among the likely causes for Spanish speakers:\n{csv}")
        });
    assert_eq!(transferred["significant"], "true");
    assert!(
        transferred["lift"].parse::<f64>().unwrap() > 1.5,
        "{transferred:?}"
    );
    let html = app
        .get(&s, &format!("/admin/o/{org}/segments?period={period}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("Transferred on a call"));
    assert!(html.contains("does not record the device"));

    // Operations: trust is lower after a long wait on a call.
    let csv = app
        .get(
            &s,
            &format!("/admin/o/{org}/operations?period={period}&format=csv&table=call_wait"),
        )
        .await
        .text()
        .await
        .unwrap();
    let rows = csv_rows(&csv);
    let share = |b: &str| {
        rows.iter()
            .find(|r| r["bucket"] == b)
            .and_then(|r| r["share"].parse::<f64>().ok())
            .unwrap_or_else(|| panic!("{b}: {csv}"))
    };
    assert!(
        share("20 to 40 minutes") < share("Under 5 minutes") - 0.1,
        "{csv}"
    );
    let html = app
        .get(&s, &format!("/admin/o/{org}/operations?period={period}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("Experience gaps, biggest first"));
    assert!(html.contains("Asked again for the same information"));

    // Viewers do not see these pages; another organization's analysts get nothing.
    let other = app
        .get(&s, &format!("/admin/o/{}/drivers", app.b.org))
        .await;
    assert_eq!(other.status(), 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn insights_on_demo_data_sqlite() {
    insights_on_demo_data(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn insights_on_demo_data_postgres() {
    insights_on_demo_data(Backend::Postgres).await;
}
