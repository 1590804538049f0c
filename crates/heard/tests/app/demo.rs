//! `heard demo-data`: the demo agency's people link up across responses, events and signals, the patterns an analyst
//! should find are really in the stored data, and a seed gives the same data. Runs the real binary on a small N.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::process::{Command, Stdio};

use heard_store::{DatabaseUrl, Store, StoreOptions};
use serde_json::Value;
use uuid::Uuid;

use crate::support::{Backend, database};

/// A response as the analysis needs it: person key, trust positive, language.
type ResponseRow = (Option<String>, Option<bool>, String);
/// An event: type, touchpoint, person key, reference key, measures, attributes, occurred at.
type EventRow = (
    String,
    Option<Uuid>,
    Option<String>,
    Option<String>,
    String,
    String,
    i64,
);

const RESPONSES_SQL: &str =
    "SELECT person_key, trust_positive, language FROM responses ORDER BY submitted_at";
const EVENTS_SQL: &str = "SELECT type, touchpoint_id, person_key, reference_key, measures, attributes, occurred_at FROM events";

pub(crate) async fn demo_data(backend: Backend, args: &[&str]) -> (DatabaseUrl, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let (url, _keep) = database(backend).await;
    let url = match url {
        DatabaseUrl::Sqlite(_) => DatabaseUrl::sqlite_in(dir.path()),
        pg => pg,
    };
    let mut c = Command::new(env!("CARGO_BIN_EXE_heard"));
    c.arg("demo-data")
        .args(args)
        .arg("--data-dir")
        .arg(dir.path())
        .env("HEARD_LOG", "warn")
        .stdout(Stdio::null());
    if let DatabaseUrl::Postgres(u) = &url {
        c.arg("--database-url").arg(u);
    }
    assert!(c.status().unwrap().success());
    (url, dir)
}

async fn rows(url: &DatabaseUrl) -> (Vec<ResponseRow>, Vec<EventRow>) {
    match url {
        DatabaseUrl::Sqlite(path) => {
            let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", path.display()))
                .await
                .unwrap();
            let r = sqlx::query_as(RESPONSES_SQL)
                .fetch_all(&pool)
                .await
                .unwrap();
            let e = sqlx::query_as(EVENTS_SQL).fetch_all(&pool).await.unwrap();
            pool.close().await;
            (r, e)
        }
        DatabaseUrl::Postgres(u) => {
            let pool = sqlx::PgPool::connect(u).await.unwrap();
            let r = sqlx::query_as(RESPONSES_SQL)
                .fetch_all(&pool)
                .await
                .unwrap();
            let e = sqlx::query_as(EVENTS_SQL).fetch_all(&pool).await.unwrap();
            pool.close().await;
            (r, e)
        }
    }
}

fn json(s: &str) -> Value {
    serde_json::from_str(s).unwrap()
}

/// The share of positive trust among responses whose person is (or is not) in `people`.
fn trust_split(responses: &[ResponseRow], people: &HashSet<String>) -> (f64, f64, usize) {
    let (mut inside, mut outside) = ((0.0, 0.0), (0.0, 0.0));
    for (k, positive, _) in responses {
        let (Some(k), Some(p)) = (k, positive) else {
            continue;
        };
        let slot = if people.contains(k) {
            &mut inside
        } else {
            &mut outside
        };
        slot.0 += *p as u8 as f64;
        slot.1 += 1.0;
    }
    (
        inside.0 / inside.1,
        outside.0 / outside.1,
        inside.1 as usize,
    )
}

async fn patterns_are_in_the_data(backend: Backend) {
    let (url, _dir) = demo_data(backend, &["--responses", "1500", "--seed", "7"]).await;
    let store = Store::open(&url, StoreOptions::default()).await.unwrap();
    let org = store.org_by_slug("demo-7").await.unwrap();
    // The dashboards' rollups, kept by the bulk path, equal the stored responses.
    crate::rollups::assert_rollups_match(&store, org.id).await;
    let signals = store.signals(org.id).await.unwrap();
    let touchpoints = store.touchpoints(org.id).await.unwrap();
    store.close().await;
    let (responses, events) = rows(&url).await;
    assert_eq!(responses.len(), 1500);

    // One person across channels: most responses carry a person key, and some person has a response, events and
    // a signal.
    let linked: HashSet<&String> = responses.iter().filter_map(|r| r.0.as_ref()).collect();
    assert!(linked.len() > 1000, "{} responses linked", linked.len());
    let with_events: HashSet<&String> = events.iter().filter_map(|e| e.2.as_ref()).collect();
    assert!(
        signals
            .iter()
            .filter_map(|s| s.person_key.as_ref())
            .any(|k| linked.contains(k) && with_events.contains(k)),
        "no person links a response, events and a signal"
    );
    let types: BTreeSet<&str> = events.iter().map(|e| e.0.as_str()).collect();
    for t in [
        "application_started",
        "step_completed",
        "application_submitted",
        "application_decided",
        "document_requested",
        "document_received",
        "information_asked_again",
        "status_changed",
        "payment_issued",
        "call",
        "office_visit",
        "backlog_snapshot",
    ] {
        assert!(types.contains(t), "no {t} events");
    }
    let sources: BTreeSet<&str> = signals.iter().map(|s| s.source.as_str()).collect();
    for s in [
        "social",
        "review",
        "call_transcript",
        "web_form",
        "staff_observation",
    ] {
        assert!(sources.contains(s), "no {s} signals");
    }
    let transcript = signals
        .iter()
        .find(|s| s.source == "call_transcript")
        .unwrap();
    let turns = json(transcript.turns.as_deref().unwrap());
    let speakers: BTreeSet<&str> = turns
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["speaker"].as_str().unwrap())
        .collect();
    assert_eq!(speakers, BTreeSet::from(["agent", "customer"]));
    assert!(
        signals
            .iter()
            .any(|s| s.source == "staff_observation" && s.author == "staff")
    );

    // Long waits lower trust.
    let long_wait: HashSet<String> = events
        .iter()
        .filter(|e| {
            let wait = json(&e.4)["wait"].as_f64().unwrap_or(0.0);
            (e.0 == "call" && wait >= 1200.0) || (e.0 == "office_visit" && wait >= 2700.0)
        })
        .filter_map(|e| e.2.clone())
        .collect();
    let (waited, others, n) = trust_split(&responses, &long_wait);
    assert!(n > 50, "only {n} respondents waited long");
    assert!(
        waited + 0.15 < others,
        "trust after a long wait {waited:.2}, others {others:.2}"
    );

    // Being asked again for a document lowers trust.
    let asked: HashSet<String> = events
        .iter()
        .filter(|e| e.0 == "information_asked_again")
        .filter_map(|e| e.2.clone())
        .collect();
    let (again, others, n) = trust_split(&responses, &asked);
    assert!(n > 50, "only {n} respondents were asked again");
    assert!(
        again + 0.1 < others,
        "trust when asked again {again:.2}, others {others:.2}"
    );

    // Spanish speakers meet more transfers, whether the language is read from the call or from the person's
    // response.
    let language: HashMap<&String, &str> = responses
        .iter()
        .filter_map(|r| Some((r.0.as_ref()?, r.2.as_str())))
        .collect();
    let mut transferred: HashMap<&str, (f64, f64)> = HashMap::new();
    let mut by_response: HashMap<&str, (f64, f64)> = HashMap::new();
    for e in events.iter().filter(|e| e.0 == "call") {
        let m = json(&e.4);
        let a = json(&e.5);
        let hit = (m["transfers"].as_f64().unwrap() > 0.0) as u8 as f64;
        let slot = transferred
            .entry(if a["language"] == "es" { "es" } else { "en" })
            .or_default();
        slot.0 += hit;
        slot.1 += 1.0;
        if let Some(l) = e.2.as_ref().and_then(|k| language.get(k)) {
            let slot = by_response.entry(l).or_default();
            slot.0 += hit;
            slot.1 += 1.0;
        }
    }
    for rates in [transferred, by_response] {
        let rate = |l: &str| rates[l].0 / rates[l].1;
        assert!(
            rate("es") > rate("en") + 0.2,
            "transfer rate es {:.2}, en {:.2}",
            rate("es"),
            rate("en")
        );
    }

    // The SNAP online application is where journeys break: the highest share of started applications never
    // submitted.
    let submitted: HashSet<&String> = events
        .iter()
        .filter(|e| e.0 == "application_submitted")
        .filter_map(|e| e.3.as_ref())
        .collect();
    let mut abandon: HashMap<Uuid, (f64, f64)> = HashMap::new();
    for e in events.iter().filter(|e| e.0 == "application_started") {
        let slot = abandon.entry(e.1.unwrap()).or_default();
        slot.0 += !submitted.contains(e.3.as_ref().unwrap()) as u8 as f64;
        slot.1 += 1.0;
    }
    let worst = abandon
        .iter()
        .max_by(|a, b| (a.1.0 / a.1.1).total_cmp(&(b.1.0 / b.1.1)))
        .unwrap();
    let name = &touchpoints
        .iter()
        .find(|t| t.id.as_uuid() == worst.0)
        .unwrap()
        .name
        .0["en"];
    assert_eq!(name, "SNAP online application");
    assert!(worst.1.0 / worst.1.1 > 0.2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn patterns_are_in_the_data_sqlite() {
    patterns_are_in_the_data(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn patterns_are_in_the_data_postgres() {
    patterns_are_in_the_data(Backend::Postgres).await;
}

/// The same seed gives the same responses, events and signals (ids and keyed hashes aside: they are per database).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_seed_gives_the_same_data() {
    let started = heard_store::now_ms() - 3_600_000;
    let digest = |url: DatabaseUrl| async move {
        let store = Store::open(&url, StoreOptions::default()).await.unwrap();
        let org = store.org_by_slug("demo-3").await.unwrap();
        // Items in the last hour before the run depend on when it ran (nothing is generated in the future).
        let mut signals: Vec<String> = store
            .signals(org.id)
            .await
            .unwrap()
            .into_iter()
            .filter(|s| s.occurred_at < started)
            .map(|s| format!("{} {} {} {:?}", s.occurred_at, s.source, s.text, s.turns))
            .collect();
        store.close().await;
        let (_, events) = rows(&url).await;
        let mut events: Vec<String> = events
            .into_iter()
            .filter(|e| e.6 < started)
            .map(|e| format!("{} {} {} {}", e.6, e.0, e.4, e.5))
            .collect();
        signals.sort();
        events.sort();
        (signals, events)
    };
    let (a, _da) = demo_data(
        Backend::Sqlite,
        &["--responses", "300", "--seed", "3", "--threads", "2"],
    )
    .await;
    let (b, _db) = demo_data(
        Backend::Sqlite,
        &["--responses", "300", "--seed", "3", "--threads", "1"],
    )
    .await;
    let (sa, ea) = digest(a).await;
    let (sb, eb) = digest(b).await;
    assert!(ea.len() > 1000 && !sa.is_empty());
    for (a, b) in [(ea, eb), (sa, sb)] {
        let first = a.iter().zip(&b).position(|(x, y)| x != y);
        assert!(
            a.len() == b.len() && first.is_none(),
            "{} and {} items differ, first at {first:?}",
            a.len(),
            b.len()
        );
    }
}
