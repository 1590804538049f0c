//! "Nothing acknowledged is lost": the server process is killed with SIGKILL while a load generator submits; after
//! a restart every response that got a 2xx is in the database. Runs the real binary on SQLite and on PostgreSQL.

use std::collections::HashSet;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use heard_store::{DatabaseUrl, Store, StoreOptions};

use crate::support::{Backend, database};

fn heard(args: &[&str], data_dir: &str, url: Option<&str>) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_heard"));
    c.args(args)
        .arg("--data-dir")
        .arg(data_dir)
        .env("HEARD_LOG", "warn");
    if let Some(u) = url {
        c.arg("--database-url").arg(u);
    }
    c
}

fn url_arg(url: &DatabaseUrl) -> Option<String> {
    match url {
        DatabaseUrl::Postgres(u) => Some(u.clone()),
        DatabaseUrl::Sqlite(_) => None,
    }
}

async fn wait_ready(base: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if reqwest::get(format!("{base}/healthz"))
            .await
            .is_ok_and(|r| r.status() == 200)
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("server at {base} did not become ready");
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn killed_mid_load_loses_nothing(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap().to_string();
    let (url, _keep) = database(backend).await;
    let url = match url {
        DatabaseUrl::Sqlite(_) => DatabaseUrl::sqlite_in(dir.path()),
        pg => pg,
    };
    let pg = url_arg(&url);
    let status = heard(&["demo-data", "--responses", "20"], &data, pg.as_deref())
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    let store = Store::open(&url, StoreOptions::default()).await.unwrap();
    let org = store.org_by_slug("demo").await.unwrap();
    let survey = store
        .surveys(org.id, None)
        .await
        .unwrap()
        .into_iter()
        .find(|s| s.draft.template == heard_domain::survey::TemplateKind::A11V2)
        .unwrap();
    store.close().await;

    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let base = format!("http://{addr}");
    let mut server: Child = heard(
        &["serve", "--addr", &addr, "--submissions-per-minute", "0"],
        &data,
        pg.as_deref(),
    )
    .stdout(Stdio::null())
    .spawn()
    .unwrap();
    wait_ready(&base).await;

    let endpoint = format!("{base}/api/v1/demo/surveys/{}/responses", survey.id);
    let acked = Arc::new(Mutex::new(HashSet::new()));
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let mut tasks = Vec::new();
    for c in 0..24 {
        let (client, endpoint, acked) = (client.clone(), endpoint.clone(), acked.clone());
        tasks.push(tokio::spawn(async move {
            let mut failures = 0u32;
            for i in 0.. {
                let key = format!("kill-{c:02}-{i:06}");
                let body = serde_json::json!({"idempotency_key": key, "answers": {"trust": 1, "comment": "Load while the server dies."}});
                match client.post(&endpoint).json(&body).send().await {
                    Ok(r) if r.status().is_success() => {
                        acked.lock().unwrap().insert(key);
                    }
                    _ => {
                        failures += 1;
                        if failures > 3 {
                            return;
                        }
                    }
                }
            }
        }));
    }
    // Let load build up, then kill the server without warning.
    let deadline = Instant::now() + Duration::from_secs(20);
    while acked.lock().unwrap().len() < 1500 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    server.kill().unwrap(); // SIGKILL
    server.wait().unwrap();
    for t in tasks {
        t.await.unwrap();
    }
    let acked: HashSet<String> = acked.lock().unwrap().clone();
    assert!(
        acked.len() >= 500,
        "the load generator got too few acknowledgements ({}) to mean anything",
        acked.len()
    );

    // Restart the server on the same data: it must come up, and every acknowledged response must be there.
    let mut server = heard(&["serve", "--addr", &addr], &data, pg.as_deref())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    wait_ready(&base).await;
    let store = Store::open(&url, StoreOptions::default()).await.unwrap();
    let mut missing = 0;
    for key in &acked {
        if store
            .response_by_key(org.id, survey.id, key)
            .await
            .unwrap()
            .is_none()
        {
            missing += 1;
        }
    }
    let stored = store
        .count_responses(
            org.id,
            &heard_store::responses::ResponseFilter {
                survey_id: Some(survey.id),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    println!(
        "durability ({backend:?}): {} acknowledged before SIGKILL, {} of them missing after restart, {} responses stored in the survey",
        acked.len(),
        missing,
        stored
    );
    server.kill().unwrap();
    server.wait().unwrap();
    assert_eq!(missing, 0, "acknowledged responses were lost");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_under_load_loses_no_acknowledged_response_sqlite() {
    killed_mid_load_loses_nothing(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_under_load_loses_no_acknowledged_response_postgres() {
    killed_mid_load_loses_nothing(Backend::Postgres).await;
}
