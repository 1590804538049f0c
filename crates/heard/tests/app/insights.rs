//! Key drivers, barriers by customer characteristics and operations (issue 18, items 3 to 5) on the demo agency:
//! the `insights.refresh` job computes the snapshots (run with `Worker::run_pending_once`), and the pages and their
//! CSV downloads find what the demo data puts in (see `heard::demo::journey`): long waits and being asked again
//! lower trust, Spanish speakers are transferred far more.

use std::collections::HashMap;
use std::process::{Command, Stdio};

use heard_domain::Role;
use heard_domain::fiscal::FiscalQuarter;
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
            let rec = rec.unwrap_or_else(|e| panic!("{e}: {text}"));
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

    // Before the job runs, the pages say so and offer a refresh (`period=` is the older name of `quarter=`).
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
            &[("quarter", &period), ("back", "segments")],
        )
        .await;
    assert_eq!(r.status(), 303);
    let worker = app.worker();
    let ran = worker.run_pending_once().await.unwrap();
    assert!(ran >= 2, "{ran} jobs ran");
    let snap = app
        .store
        .insight_snapshot(org, "drivers", "", &period)
        .await
        .unwrap()
        .expect("the job stored the drivers snapshot");
    assert!(snap.n > 500, "n = {}", snap.n);
    let drivers: heard_server::insights::DriversSnapshot =
        serde_json::from_str(&snap.result).unwrap_or_else(|e| panic!("{e}: {}", snap.result));
    assert_eq!(drivers.models.len(), 3);

    // Key drivers: what happened to people ranks long waits and being asked again first.
    let html = app
        .get(&s, &format!("/admin/o/{org}/drivers?quarter={period}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("Relative importance (Shapley value decomposition of R², LMG)"));
    assert!(html.contains("<svg") && html.contains("Concentrate here"));
    let csv = app
        .get(
            &s,
            &format!("/admin/o/{org}/drivers?quarter={period}&format=csv&table=operations"),
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
    for code in ["long_call_wait", "asked_again"] {
        let row = rows.iter().find(|r| r["driver_code"] == code).unwrap();
        assert_eq!(row["effect_on_trust"], "lowers", "{row:?}");
    }

    // Barriers: Spanish speakers trust less, and being transferred is a likely cause.
    let csv = app
        .get(
            &s,
            &format!("/admin/o/{org}/segments?quarter={period}&format=csv&table=segments"),
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
            &format!("/admin/o/{org}/segments?quarter={period}&format=csv&table=causes"),
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
        .get(&s, &format!("/admin/o/{org}/segments?quarter={period}"))
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
            &format!("/admin/o/{org}/operations?quarter={period}&format=csv&table=call_wait"),
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
        .get(&s, &format!("/admin/o/{org}/operations?quarter={period}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("Experience gaps, biggest first"));
    assert!(html.contains("Asked again for the same information"));

    // Another organization's analysts get nothing.
    let other = app
        .get(&s, &format!("/admin/o/{}/drivers", app.b.org))
        .await;
    assert_eq!(other.status(), 404);

    // Trust is one rule, said on the pages: the insights count exactly the trust answers the A-11 statistics count.
    assert!(html.contains("Trust: the answers to A-11"), "{html}");
    let stats = app
        .get(
            &s,
            &format!("/admin/o/{org}/statistics.csv?quarter={period}&table=figures"),
        )
        .await
        .text()
        .await
        .unwrap();
    let counted: u64 = csv_rows(&stats)
        .iter()
        .filter(|r| r["level"] == "service")
        .map(|r| r["trust_answers"].parse::<u64>().unwrap())
        .sum();
    assert_eq!(counted, snap.n as u64, "{stats}");

    // Every CSV download starts with the byte-order mark ("R²" reads right in Excel).
    let raw = app
        .get(
            &s,
            &format!("/admin/o/{org}/drivers?quarter={period}&format=csv&table=operations"),
        )
        .await
        .bytes()
        .await
        .unwrap();
    assert!(raw.starts_with(b"\xEF\xBB\xBF"), "no BOM");

    // Per service: the job stored each service's snapshots, and the pages show one service's figures.
    let services = app.store.services(org).await.unwrap();
    let snap_service = services
        .iter()
        .find(|x| x.name.get("en").contains("SNAP"))
        .expect("the demo's SNAP service");
    let sid = snap_service.id.to_string();
    let scoped = app
        .store
        .insight_snapshot(org, "segments", &format!("service:{sid}"), &period)
        .await
        .unwrap()
        .expect("the service's segments snapshot");
    assert!(
        scoped.n > 0 && scoped.n < snap.n,
        "{} of {}",
        scoped.n,
        snap.n
    );
    for page in ["drivers", "segments", "operations"] {
        let r = app
            .get(
                &s,
                &format!("/admin/o/{org}/{page}?quarter={period}&service={sid}"),
            )
            .await;
        assert_eq!(r.status(), 200, "{page}");
        let html = r.text().await.unwrap();
        assert!(
            html.contains(&format!("<option value=\"{sid}\" selected>")),
            "{page}"
        );
    }
    let csv = app
        .get(
            &s,
            &format!("/admin/o/{org}/operations?quarter={period}&service={sid}&format=csv&table=asked_again_rate"),
        )
        .await
        .text()
        .await
        .unwrap();
    let rows = csv_rows(&csv);
    assert_eq!(rows.len(), 1, "only the service's own row: {csv}");

    // A service with no response in the quarter gets empty figures, never an error.
    let empty = app
        .store
        .create_service(
            org,
            &heard_domain::LocalizedText::en_only("Quiet service"),
            &heard_domain::LocalizedText::en_only(""),
            heard_store::now_ms(),
        )
        .await
        .unwrap();
    heard_server::insights::refresh(&app.store, org, quarter, heard_store::now_ms())
        .await
        .unwrap();
    for page in ["drivers", "segments", "operations"] {
        let r = app
            .get(
                &s,
                &format!(
                    "/admin/o/{org}/{page}?quarter={period}&service={}",
                    empty.id
                ),
            )
            .await;
        assert_eq!(r.status(), 200, "{page}");
        assert!(
            !r.text().await.unwrap().contains("Not computed yet"),
            "{page}"
        );
    }

    // Experience gaps per journey stage (the demo has the standard journeys), ranked by people affected.
    let csv = app
        .get(
            &s,
            &format!("/admin/o/{org}/operations?quarter={period}&format=csv&table=stage_gaps"),
        )
        .await
        .text()
        .await
        .unwrap();
    let stages = csv_rows(&csv);
    assert!(!stages.is_empty(), "stage gaps: {csv}");
    let affected: Vec<f64> = stages
        .iter()
        .map(|r| r["people_affected"].parse().unwrap())
        .collect();
    assert!(affected.windows(2).all(|w| w[0] >= w[1]), "{csv}");
    assert!(
        stages
            .iter()
            .all(|r| r["responses"].parse::<u64>().unwrap() >= 11),
        "{csv}"
    );
    let html = app
        .get(&s, &format!("/admin/o/{org}/operations?quarter={period}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("Experience gaps by journey stage"));

    // Barriers on other scores: each A-11 v1 indicator and negative comments, tested and suppressed alike.
    for score in ["ease", "employee", "negative_comments"] {
        let csv = app
            .get(
                &s,
                &format!("/admin/o/{org}/segments?quarter={period}&score={score}&format=csv&table=segments"),
            )
            .await
            .text()
            .await
            .unwrap();
        let rows = csv_rows(&csv);
        assert!(!rows.is_empty(), "{score}: {csv}");
        assert!(rows.iter().all(|r| r["score"] == score), "{csv}");
        assert!(
            rows.iter().any(|r| !r["q_value"].is_empty()),
            "{score}: some group is tested: {csv}"
        );
        for ch in ["language", "channel"] {
            let hidden = rows
                .iter()
                .filter(|r| r["characteristic"] == ch && !r["suppressed"].is_empty())
                .count();
            assert_ne!(hidden, 1, "{score} {ch}");
        }
        let html = app
            .get(
                &s,
                &format!("/admin/o/{org}/segments?quarter={period}&score={score}"),
            )
            .await
            .text()
            .await
            .unwrap();
        assert!(html.contains(&format!("<option value=\"{score}\" selected>")));
    }

    // Bad input: the field named, 422.
    for (path, field) in [
        (format!("/admin/o/{org}/segments?score=wellbeing"), "score"),
        (format!("/admin/o/{org}/drivers?service=nope"), "service"),
        (
            format!("/admin/o/{org}/operations?quarter=2026Q1"),
            "quarter",
        ),
        (
            format!("/admin/o/{org}/statistics?quarter=2026Q1"),
            "quarter",
        ),
        (
            format!("/admin/o/{org}/journeys/apply-for-a-benefit?quarter=2026Q1"),
            "quarter",
        ),
    ] {
        let r = app.get(&s, &path).await;
        assert_eq!(r.status(), 422, "{path}");
        let body = r.text().await.unwrap();
        assert!(body.contains(field), "{path}: {body}");
    }

    // Another organization's service is not found, as on every other page.
    for page in ["drivers", "segments", "operations"] {
        let path = format!("/admin/o/{org}/{page}?service={}", app.b.service.id);
        assert_eq!(app.get(&s, &path).await.status(), 404, "{path}");
    }
    // `period`, the older name, chooses the quarter on every page that takes one.
    let html = app
        .get(&s, &format!("/admin/o/{org}/statistics?period=2026Q1"))
        .await;
    assert_eq!(html.status(), 422, "statistics?period= is read as quarter");

    // Viewers see every aggregate page and its tables (suppressed as for everyone), but cannot refresh.
    let viewer = app.store.user_by_email(&app.b.admin_email).await.unwrap();
    app.store
        .set_membership(org, viewer.id, Role::Viewer, heard_store::now_ms())
        .await
        .unwrap();
    let v = app.sign_in(&app.b.admin_email).await;
    for path in [
        format!("/admin/o/{org}/drivers?quarter={period}"),
        format!("/admin/o/{org}/segments?quarter={period}&format=csv&table=segments"),
        format!("/admin/o/{org}/operations?quarter={period}&format=csv&table=gaps"),
        format!("/admin/o/{org}/statistics.csv?quarter={period}"),
        format!("/admin/o/{org}/journeys/apply-for-a-benefit"),
    ] {
        assert_eq!(app.get(&v, &path).await.status(), 200, "{path}");
    }
    let html = app
        .get(&v, &format!("/admin/o/{org}/segments?quarter={period}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(!html.contains("Refresh now"));
    let r = app
        .post(
            &v,
            &format!("/admin/o/{org}/insights/refresh"),
            &[("quarter", &period), ("back", "segments")],
        )
        .await;
    assert_eq!(r.status(), 403);
}

/// Issue 18 item 4: a cell hidden in a service's table cannot be worked out as the organization's figure minus the
/// other services' shown ones. For every score's segments table and every operations bucket table, in the CSVs
/// served: where the organization's cell is shown, the service cells hidden in its column are none, or two or
/// more holding together 11 people or more.
async fn no_hidden_cell_from_the_organization_minus_services(backend: Backend) {
    let (app, org) = demo_app(backend, 1500).await;
    let s = app.sign_in(&app.a.admin_email).await;
    let demo = app.store.org(org).await.unwrap();
    let period = FiscalQuarter::containing_ms(heard_store::now_ms(), &demo.time_zone).to_string();
    app.worker().run_pending_once().await.unwrap();
    let services: Vec<String> = app
        .store
        .services(org)
        .await
        .unwrap()
        .iter()
        .map(|s| s.id.to_string())
        .collect();
    assert!(services.len() >= 2);
    // (path with the query, without `service=`; the columns naming a row; the count column)
    let mut tables: Vec<(String, Vec<&str>)> = heard_server::insights::SCORES
        .iter()
        .map(|(score, ..)| {
            (
                format!("/admin/o/{org}/segments?quarter={period}&score={score}&format=csv&table=segments"),
                vec!["characteristic", "segment_code"],
            )
        })
        .collect();
    for key in [
        "call_wait",
        "office_wait",
        "contacts",
        "asked_again",
        "decision_days",
    ] {
        tables.push((
            format!("/admin/o/{org}/operations?quarter={period}&format=csv&table={key}"),
            vec!["bucket"],
        ));
    }
    let mut hidden_service_cells = 0;
    for (path, key_columns) in &tables {
        let fetch = |scope: Option<String>| {
            let url = match &scope {
                Some(id) => format!("{path}&service={id}"),
                None => path.clone(),
            };
            let app = &app;
            let s = &s;
            async move {
                let r = app.get(s, &url).await;
                assert_eq!(r.status(), 200, "{url}");
                let text = r.text().await.unwrap();
                // (row key) -> (suppressed, n)
                csv_rows(&text)
                    .into_iter()
                    .map(|r| {
                        let key: Vec<String> = key_columns.iter().map(|c| r[*c].clone()).collect();
                        (key, (r["suppressed"].clone(), r["n"].parse::<u64>().ok()))
                    })
                    .collect::<HashMap<Vec<String>, (String, Option<u64>)>>()
            }
        };
        let whole = fetch(None).await;
        let mut per_service = Vec::new();
        for id in &services {
            per_service.push(fetch(Some(id.clone())).await);
        }
        for (key, (suppressed, n)) in &whole {
            let Some(n) = n else { continue };
            assert!(suppressed.is_empty());
            let mut shown = 0;
            let mut hidden = 0;
            for t in &per_service {
                match t.get(key) {
                    Some((_, Some(m))) => shown += m,
                    Some((why, None)) if !why.is_empty() => hidden += 1,
                    _ => {}
                }
            }
            hidden_service_cells += hidden;
            let worked_out = n - shown;
            assert!(
                hidden == 0 || (hidden >= 2 && worked_out >= 11),
                "{path} {key:?}: the organization's {n} minus the services' shown {shown} gives {worked_out} \
                 over {hidden} hidden service cell(s)"
            );
        }
        // A service's hidden cell is never shown in the organization's table on its own (its column then has
        // another hidden service cell, or the organization's cell is hidden too), checked above; and no shown
        // cell anywhere is 1 to 10.
        for t in per_service.iter().chain(std::iter::once(&whole)) {
            for (key, (_, n)) in t {
                assert!(!matches!(n, Some(1..=10)), "{path} {key:?}: {n:?}");
            }
        }
    }
    assert!(
        hidden_service_cells > 0,
        "the demo has small service cells whose organization's cell is shown"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_hidden_cell_from_the_organization_minus_services_sqlite() {
    no_hidden_cell_from_the_organization_minus_services(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_hidden_cell_from_the_organization_minus_services_postgres() {
    no_hidden_cell_from_the_organization_minus_services(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn insights_on_demo_data_sqlite() {
    insights_on_demo_data(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn insights_on_demo_data_postgres() {
    insights_on_demo_data(Backend::Postgres).await;
}

// A person whose calls carry no `transfers` measure: SQLite's COALESCE of an absent measure with an integer 0 made
// the column an INTEGER, which the row's `Option<f64>` refused, and every insights refresh failed.
crate::both_backends!(insight_rows_read_calls_without_transfers, |app| {
    use futures_util::TryStreamExt;
    let key = crate::inbox::api_key(&app, &app.a).await;
    let service = app.a.service.id.to_string();
    let at = heard_store::now_ms() - 3_600_000;
    let occurred = chrono::DateTime::from_timestamp_millis(at)
        .unwrap()
        .to_rfc3339();
    crate::inbox::send(
        &app,
        &key,
        "/api/v1/events",
        serde_json::json!([
            {"external_id": "c1", "type": "call", "occurred_at": occurred, "service_id": service,
             "measures": {"wait": 90}, "person": {"customer_id": "C-1"}}
        ]),
    )
    .await;
    let events = app.store.events(app.a.org).await.unwrap();
    let person = events[0].person_key.clone().unwrap();
    let mut response = crate::rollups::prepared(
        &app.a,
        "k1",
        serde_json::json!({"trust": 1}),
        heard_domain::Channel::Website,
        None,
        at + 60_000,
    );
    response.person_key = Some(person);
    app.store.submit(response).await.unwrap();
    let rows: Vec<_> = app
        .store
        .insight_rows(app.a.org, at - 86_400_000, at + 86_400_000)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].transfers, Some(0.0));
    assert_eq!(rows[0].call_wait, Some(90.0));
});
