//! Journeys out of Heard (issue 18, item 6): events and signals sent through the ingestion API are exported by
//! `heard export events` as OCEL 2.0 JSON, OCEL 2.0 SQLite and XES; PM4Py (from PyPI, run out of process by
//! scripts/check-journeys.py) reads each file and finds the same directly-follows counts, start and end
//! activities, and mean and median durations as heard-insight's DFG over the store's event log.
//!
//! PM4Py is required, not skipped: scripts/test.sh installs it; without it these tests fail saying how to install it.

use std::collections::BTreeMap;
use std::path::Path;

use futures_util::TryStreamExt;
use heard_insight::journeys::{Dfg, EventLogBuilder};
use heard_server::{Application, Config};
use heard_store::event_log::{LogOrder, LogQuery};
use heard_store::{DatabaseUrl, Store, StoreOptions};
use serde_json::{Value, json};

use crate::support::{self, Backend};

fn database_arg(url: &DatabaseUrl) -> String {
    match url {
        DatabaseUrl::Sqlite(p) => format!("sqlite:{}", p.display()),
        DatabaseUrl::Postgres(u) => u.clone(),
    }
}

fn heard(url: &DatabaseUrl, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_heard"))
        .args(args)
        .arg("--database-url")
        .arg(database_arg(url))
        .env("HEARD_LOG", "warn")
        .output()
        .unwrap()
}

/// PM4Py's reading of `file`: the JSON scripts/check-journeys.py writes.
fn pm4py(format: &str, file: &Path) -> Value {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/check-journeys.py");
    let out = file.with_extension("pm4py.json");
    let python = std::env::var("HEARD_PYTHON").unwrap_or_else(|_| "python3".into());
    let run = std::process::Command::new(&python)
        .arg(&script)
        .arg(format)
        .arg(file)
        .arg(&out)
        .output()
        .unwrap_or_else(|e| panic!("running {python}: {e}"));
    match run.status.code() {
        Some(0) => {}
        Some(3) => panic!(
            "PM4Py is not installed for {python}: these tests need it as their oracle. scripts/test.sh installs \
             it; or run `{python} -m pip install pm4py`. ({})",
            String::from_utf8_lossy(&run.stderr)
        ),
        _ => panic!(
            "check-journeys.py {format} failed: {}",
            String::from_utf8_lossy(&run.stderr)
        ),
    }
    serde_json::from_str(&std::fs::read_to_string(out).unwrap()).unwrap()
}

type Counts = BTreeMap<(String, String), u64>;

fn pm4py_counts(v: &Value) -> (Counts, BTreeMap<String, u64>, BTreeMap<String, u64>) {
    let edges = v["dfg"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                (e[0].as_str().unwrap().into(), e[1].as_str().unwrap().into()),
                e[2].as_u64().unwrap(),
            )
        })
        .collect();
    let map = |k: &str| {
        v[k].as_object()
            .unwrap()
            .iter()
            .map(|(a, n)| (a.clone(), n.as_u64().unwrap()))
            .collect()
    };
    (edges, map("start"), map("end"))
}

fn heard_counts(d: &Dfg) -> (Counts, BTreeMap<String, u64>, BTreeMap<String, u64>) {
    (
        d.edges
            .iter()
            .map(|e| ((e.from.clone(), e.to.clone()), e.count))
            .collect(),
        d.start_activities.iter().cloned().collect(),
        d.end_activities.iter().cloned().collect(),
    )
}

/// Mean and median durations agree (PM4Py in seconds, Heard in milliseconds).
fn same_durations(d: &Dfg, v: &Value) {
    let perf = v["performance"].as_array().unwrap();
    assert_eq!(perf.len(), d.edges.len());
    for p in perf {
        let e = d
            .edges
            .iter()
            .find(|e| e.from == p[0].as_str().unwrap() && e.to == p[1].as_str().unwrap())
            .unwrap();
        let (mean, median) = (p[2].as_f64().unwrap(), p[3].as_f64().unwrap());
        assert!((mean - e.mean_ms / 1000.0).abs() < 1e-6, "{e:?} {p}");
        assert!((median - e.median_ms / 1000.0).abs() < 1e-6, "{e:?} {p}");
    }
}

async fn post(client: &reqwest::Client, base: &str, key: &str, path: &str, items: Value) {
    let resp = client
        .post(format!("{base}{path}"))
        .header("authorization", format!("Bearer {key}"))
        .json(&json!({ "items": items }))
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let body: Value = resp.json().await.unwrap();
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["refused"], 0, "{body}");
}

async fn exports_are_read_by_pm4py_with_the_same_dfg(backend: Backend) {
    let (url, _dir) = support::database(backend).await;
    let store = Store::open(&url, StoreOptions::default()).await.unwrap();
    let t = support::tenant(&store, "Journeys", "journeys").await;
    let other = support::tenant(&store, "Other", "other").await;
    let mut config = Config::new("127.0.0.1:0".parse().unwrap(), [9u8; 32]);
    config.jobs.concurrency = 0;
    let app = Application::build(store.clone(), config).await.unwrap();
    let base = app.public_url().to_string();
    let (stop, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(app.run(async {
        let _ = rx.await;
    }));
    let client = reqwest::Client::new();
    let mut keys = Vec::new();
    for org in [t.org, other.org] {
        let secret = heard_server::ingest::new_api_key();
        store
            .create_api_key(
                org,
                "test",
                &heard_server::crypto::sha256(secret.as_bytes()),
                heard_store::now_ms(),
            )
            .await
            .unwrap();
        keys.push(secret);
    }
    let web = t.touchpoint.id.to_string();
    let service = t.service.id.to_string();
    let ana = json!({"email": "ana@example.gov"});
    let ben = json!({"phone": "(202) 555-0143"});
    let cy = json!({"customer_id": "C-1"});
    let ev = |id: &str, ty: &str, at: &str, person: &Value| json!({"external_id": id, "type": ty, "occurred_at": at, "person": person, "service_id": service});
    let mut items = vec![
        // Before --from: left out.
        ev("e0", "application_started", "2026-09-15T10:00:00Z", &ana),
        ev("e1", "call", "2026-10-01T09:00:00Z", &ana),
        ev("e2", "application_started", "2026-10-01T10:30:00Z", &ana),
        ev(
            "e3",
            "information_asked_again",
            "2026-10-03T10:00:00Z",
            &ana,
        ),
        ev("e4", "call", "2026-10-03T11:00:00Z", &ana),
        ev("e5", "call", "2026-10-03T15:00:00Z", &ana),
        ev("e6", "application_submitted", "2026-10-04T08:00:00Z", &ana),
        ev("e7", "application_decided", "2026-10-20T08:00:00Z", &ana),
        ev("e8", "application_started", "2026-10-02T12:00:00Z", &ben),
        ev("e9", "application_submitted", "2026-10-02T18:00:00Z", &ben),
        ev("e10", "call", "2026-10-06T12:00:00Z", &ben),
        ev("e11", "application_decided", "2026-10-09T12:00:00Z", &ben),
        ev("e12", "office_visit", "2026-10-05T09:00:00Z", &cy),
        ev("e13", "application_started", "2026-10-05T09:45:00Z", &cy),
        ev("e14", "application_submitted", "2026-10-07T09:45:00Z", &cy),
        // After --to: left out.
        ev("e15", "application_decided", "2026-11-20T09:00:00Z", &cy),
    ];
    // At the web touchpoint; and an event of a case number only, with no person (in OCEL, not in XES).
    items[2]["touchpoint_id"] = json!(web);
    items.push(
        json!({"external_id": "r1", "type": "status_changed", "occurred_at": "2026-10-08T10:00:00Z",
        "reference": "APP-7"}),
    );
    post(&client, &base, &keys[0], "/api/v1/events", json!(items)).await;
    post(&client, &base, &keys[0], "/api/v1/signals", json!([
        {"external_id": "s1", "source": "email", "person": ana, "text": "I was asked for the same form twice.",
         "occurred_at": "2026-10-05T10:00:00Z"},
        {"external_id": "s2", "source": "chat", "person": ben, "text": "Thanks, quick.",
         "occurred_at": "2026-10-10T10:00:00Z"}
    ])).await;
    // Another organization's events never reach this one's export.
    post(
        &client,
        &base,
        &keys[1],
        "/api/v1/events",
        json!([{"external_id": "x1", "type": "chat", "occurred_at": "2026-10-02T10:00:00Z", "person": ana}]),
    )
    .await;

    // Heard's own DFG over the store's event log, days in the organization's zone (America/New_York).
    let zone = heard_domain::Zone::parse(heard_domain::Zone::DEFAULT_NAME).unwrap();
    let (from, to) = zone.days_ms("2026-10-01".parse().unwrap(), "2026-10-31".parse().unwrap());
    let rows: Vec<_> = store
        .log_rows(
            t.org,
            LogQuery {
                from,
                to,
                order: LogOrder::Person,
            },
        )
        .try_collect()
        .await
        .unwrap();
    let mut b = EventLogBuilder::new();
    for r in &rows {
        b.push(
            r.person_key.as_deref().unwrap(),
            &r.activity,
            r.occurred_at,
            r.channel.as_deref(),
            r.touchpoint.as_deref(),
        );
    }
    let log = b.build();
    assert_eq!((log.len(), log.case_count()), (16, 3));
    let dfg = log.directly_follows();
    let heard_side = heard_counts(&dfg);
    assert_eq!(heard_side.0[&("call".to_string(), "call".to_string())], 1);
    assert_eq!(heard_side.1["call"], 1);

    let dir = tempfile::tempdir().unwrap();
    for (format, file) in [
        ("ocel-json", "log.jsonocel"),
        ("ocel-sqlite", "log.sqlite"),
        ("xes", "log.xes"),
    ] {
        let path = dir.path().join(file);
        let out = heard(
            &url,
            &[
                "export",
                "events",
                "--org",
                "journeys",
                "--format",
                format,
                "--from",
                "2026-10-01",
                "--to",
                "2026-10-31",
                "--out",
                path.to_str().unwrap(),
            ],
        );
        assert!(
            out.status.success(),
            "{format}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!dir.path().join(format!("{file}.partial")).exists());
        let v = pm4py(format, &path);
        assert_eq!(pm4py_counts(&v), heard_side, "{format}");
        assert_eq!(
            (v["events"].as_u64(), v["cases"].as_u64()),
            (Some(16), Some(3)),
            "{format}"
        );
        same_durations(&dfg, &v);
    }
    // OCEL keeps the event of a case number only, with its case object; the other organization's is not there.
    let ocel: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("log.jsonocel")).unwrap())
            .unwrap();
    let events = ocel["events"].as_array().unwrap();
    assert_eq!(events.len(), 17);
    let status = events
        .iter()
        .find(|e| e["type"] == "status_changed")
        .unwrap();
    assert_eq!(status["relationships"][0]["qualifier"], "case");
    assert!(!events.iter().any(|e| e["type"] == "chat"));
    let at_web = events
        .iter()
        .find(|e| {
            e["attributes"]
                .as_array()
                .unwrap()
                .iter()
                .any(|a| a["name"] == "touchpoint")
        })
        .unwrap();
    assert_eq!(at_web["type"], "application_started");
    assert!(
        at_web["attributes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["name"] == "touchpoint" && a["value"] == "Web"),
        "{at_web}"
    );
    assert!(
        at_web["attributes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["name"] == "channel" && a["value"] == "website")
    );
    // No raw identifier leaves: persons are keyed hashes.
    let text = std::fs::read_to_string(dir.path().join("log.xes")).unwrap();
    assert!(
        !text.contains("ana@example.gov") && !text.contains("555-0143") && !text.contains("C-1\"")
    );

    // Bad input: named, and nothing written.
    let bad = dir.path().join("bad.xes");
    let out = heard(
        &url,
        &[
            "export",
            "events",
            "--org",
            "journeys",
            "--format",
            "xes",
            "--from",
            "2026-10-31",
            "--to",
            "2026-10-01",
            "--out",
            bad.to_str().unwrap(),
        ],
    );
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--from 2026-10-31 is after --to 2026-10-01")
    );
    let out = heard(
        &url,
        &[
            "export",
            "events",
            "--org",
            "nobody",
            "--format",
            "xes",
            "--out",
            bad.to_str().unwrap(),
        ],
    );
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("--org: no organization with the short name 'nobody'")
    );
    assert!(!bad.exists());
    let _ = stop.send(());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exports_are_read_by_pm4py_with_the_same_dfg_sqlite() {
    exports_are_read_by_pm4py_with_the_same_dfg(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exports_are_read_by_pm4py_with_the_same_dfg_postgres() {
    exports_are_read_by_pm4py_with_the_same_dfg(Backend::Postgres).await;
}
