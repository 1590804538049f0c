//! Out to bigger engines (issue 18, item 8): `heard export parquet` writes the demo agency's responses, answers,
//! signals and events as Parquet, and DuckDB (from PyPI, run out of process by scripts/check-parquet.py) reads them
//! back with the column types the files declare, the store's row counts, sums and group-bys, and no text that looks
//! like an email address or a phone number (the demo's people have both, and some write them in their comments).
//!
//! DuckDB is required, not skipped: scripts/test.sh installs it; without it these tests fail saying how.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use heard_store::DatabaseUrl;
use serde_json::Value;

use crate::demo::demo_data;
use crate::support::Backend;

fn database_arg(url: &DatabaseUrl) -> String {
    match url {
        DatabaseUrl::Sqlite(p) => format!("sqlite:{}", p.display()),
        DatabaseUrl::Postgres(u) => u.clone(),
    }
}

fn export(url: &DatabaseUrl, out: &Path, extra: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_heard"))
        .args(["export", "parquet", "--org", "demo-5", "--out"])
        .arg(out)
        .args(extra)
        .arg("--database-url")
        .arg(database_arg(url))
        .env("HEARD_LOG", "warn")
        .output()
        .unwrap()
}

/// DuckDB's reading of the files in `dir`: the JSON scripts/check-parquet.py writes.
fn duckdb(dir: &Path) -> Value {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/check-parquet.py");
    let out = dir.join("duckdb.json");
    let python = std::env::var("HEARD_PYTHON").unwrap_or_else(|_| "python3".into());
    let run = Command::new(&python)
        .arg(&script)
        .arg(dir)
        .arg(&out)
        .output()
        .unwrap_or_else(|e| panic!("running {python}: {e}"));
    match run.status.code() {
        Some(0) => {}
        Some(3) => panic!(
            "DuckDB is not installed for {python}: these tests need it as their oracle. scripts/test.sh installs \
             it; or run `{python} -m pip install duckdb`. ({})",
            String::from_utf8_lossy(&run.stderr)
        ),
        _ => panic!(
            "check-parquet.py failed: {}",
            String::from_utf8_lossy(&run.stderr)
        ),
    }
    serde_json::from_str(&std::fs::read_to_string(out).unwrap()).unwrap()
}

/// The store's side, read with plain SQL on either backend.
struct Db(DatabaseUrl);

macro_rules! on_db {
    ($db:expr, |$pool:ident| $body:expr) => {
        match &$db.0 {
            DatabaseUrl::Sqlite(p) => {
                let $pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", p.display()))
                    .await
                    .unwrap();
                let r = $body;
                $pool.close().await;
                r
            }
            DatabaseUrl::Postgres(u) => {
                let $pool = sqlx::PgPool::connect(u).await.unwrap();
                let r = $body;
                $pool.close().await;
                r
            }
        }
    };
}

impl Db {
    async fn one(&self, sql: &str) -> i64 {
        on_db!(self, |p| sqlx::query_scalar::<_, i64>(sql)
            .fetch_one(&p)
            .await
            .unwrap())
    }
    async fn pairs(&self, sql: &str) -> BTreeMap<String, i64> {
        on_db!(self, |p| sqlx::query_as::<_, (String, i64)>(sql)
            .fetch_all(&p)
            .await
            .unwrap())
        .into_iter()
        .collect()
    }
    async fn texts(&self, sql: &str) -> Vec<String> {
        on_db!(self, |p| sqlx::query_scalar::<_, String>(sql)
            .fetch_all(&p)
            .await
            .unwrap())
    }
}

fn counts(v: &Value) -> BTreeMap<String, i64> {
    v.as_object()
        .unwrap()
        .iter()
        .map(|(k, n)| (k.clone(), n.as_i64().unwrap()))
        .collect()
}

async fn duckdb_reads_what_the_store_holds(backend: Backend) {
    let (url, dir) = demo_data(backend, &["--responses", "300", "--seed", "5"]).await;
    let db = Db(url.clone());
    let out = dir.path().join("parquet");
    let run = export(&url, &out, &[]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let d = duckdb(&out);
    for f in ["responses", "response_answers", "signals", "events"] {
        assert_eq!(d[f]["personal"], 0, "{f}: contact details in the export");
        assert!(
            !out.join(format!("{f}.parquet.partial")).exists(),
            "{f}: partial file left"
        );
    }

    // Column types as declared: instants with their zone, lists, a map, JSON.
    let r = &d["responses"];
    for (col, ty) in [
        ("submitted_at", "TIMESTAMP WITH TIME ZONE"),
        ("survey_version", "INTEGER"),
        ("trust", "INTEGER"),
        ("trust_positive", "BOOLEAN"),
        ("a11_ease", "INTEGER"),
        ("themes", "VARCHAR[]"),
        ("urgent", "BOOLEAN"),
        ("response_id", "VARCHAR"),
    ] {
        assert_eq!(r["types"][col], ty, "responses.{col}");
    }
    assert_eq!(d["response_answers"]["types"]["value_number"], "BIGINT");
    assert_eq!(d["response_answers"]["types"]["sentiment_score"], "DOUBLE");
    assert_eq!(d["signals"]["types"]["emotions"], "VARCHAR[]");
    assert_eq!(d["signals"]["types"]["turns"], "JSON");
    assert_eq!(d["events"]["types"]["measures"], "MAP(VARCHAR, DOUBLE)");
    assert_eq!(d["events"]["types"]["attributes"], "JSON");
    assert_eq!(
        d["events"]["types"]["occurred_at"],
        "TIMESTAMP WITH TIME ZONE"
    );
    for (f, cols) in [
        ("responses", 25),
        ("response_answers", 13),
        ("signals", 23),
        ("events", 14),
    ] {
        assert_eq!(
            d[f]["types"].as_object().unwrap().len(),
            cols,
            "{f}: columns"
        );
    }
    assert!(
        d["events"]["types"].get("external_id").is_none(),
        "a source system's key can be a case number"
    );

    // Responses: counts, group-bys and sums equal the store's.
    assert_eq!(r["rows"], 300);
    assert_eq!(
        counts(&r["by_channel"]),
        db.pairs("SELECT channel, COUNT(*) FROM responses GROUP BY channel")
            .await
    );
    assert_eq!(
        r["trust_sum"],
        db.one("SELECT CAST(COALESCE(SUM(trust), 0) AS BIGINT) FROM responses")
            .await
    );
    assert_eq!(
        r["trust_positive"],
        db.one("SELECT COUNT(*) FROM responses WHERE trust_positive")
            .await
    );
    assert_eq!(
        r["submitted_ms_sum"],
        db.one("SELECT CAST(SUM(submitted_at) AS BIGINT) FROM responses")
            .await
    );
    assert_eq!(
        r["persons"],
        db.one("SELECT COUNT(DISTINCT person_key) FROM responses")
            .await
    );
    assert!(r["persons"].as_i64().unwrap() > 100);

    // Answers: every answer of every response, numbers summed as the store's JSON says.
    let answers = db.texts("SELECT answers FROM responses").await;
    let (mut n, mut sum) = (0i64, 0i64);
    for a in &answers {
        let a: BTreeMap<String, Value> = serde_json::from_str(a).unwrap();
        for v in a.values() {
            n += match v {
                Value::Array(items) => (items.len() as i64).max(1),
                _ => 1,
            };
            sum += v.as_i64().unwrap_or(0);
        }
    }
    let a = &d["response_answers"];
    assert_eq!(a["rows"], n);
    assert_eq!(a["value_number_sum"], sum);
    assert!(sum > 0);

    // Signals.
    let s = &d["signals"];
    assert_eq!(s["rows"], db.one("SELECT COUNT(*) FROM signals").await);
    assert_eq!(
        counts(&s["by_source"]),
        db.pairs("SELECT source, COUNT(*) FROM signals GROUP BY source")
            .await
    );
    assert_eq!(
        s["urgent"],
        db.one("SELECT COUNT(*) FROM signals WHERE urgent").await
    );
    assert_eq!(
        s["occurred_ms_sum"],
        db.one("SELECT CAST(SUM(occurred_at) AS BIGINT) FROM signals")
            .await
    );

    // Events: measures summed per name from the stored JSON.
    let e = &d["events"];
    assert_eq!(
        counts(&e["by_type"]),
        db.pairs("SELECT type, COUNT(*) FROM events GROUP BY type")
            .await
    );
    assert_eq!(
        e["occurred_ms_sum"],
        db.one("SELECT CAST(SUM(occurred_at) AS BIGINT) FROM events")
            .await
    );
    assert_eq!(
        e["with_person"],
        db.one("SELECT COUNT(*) FROM events WHERE person_key IS NOT NULL")
            .await
    );
    let mut sums: BTreeMap<String, f64> = BTreeMap::new();
    for m in db.texts("SELECT measures FROM events").await {
        let m: BTreeMap<String, f64> = serde_json::from_str(&m).unwrap();
        for (k, v) in m {
            *sums.entry(k).or_default() += v;
        }
    }
    let theirs = e["measure_sums"].as_object().unwrap();
    assert_eq!(
        theirs.keys().collect::<Vec<_>>(),
        sums.keys().collect::<Vec<_>>()
    );
    for (k, v) in &sums {
        let x = theirs[k].as_f64().unwrap();
        assert!((x - v).abs() <= 1e-6 * v.abs().max(1.0), "{k}: {x} {v}");
    }

    // One kind, between two local days: only its file, and only the events of those days.
    let zone = heard_domain::Zone::parse("America/New_York").unwrap();
    let first = db.one("SELECT MIN(occurred_at) FROM events").await;
    let from = zone.date(first) + chrono::Days::new(40);
    let to = from + chrono::Days::new(13);
    let (start, end) = zone.days_ms(from, to);
    let some = dir.path().join("some");
    let run = export(
        &url,
        &some,
        &[
            "--kind",
            "events",
            "--since",
            &from.to_string(),
            "--until",
            &to.to_string(),
        ],
    );
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let d = duckdb(&some);
    assert!(d.get("responses").is_none() && d.get("signals").is_none());
    let expected = db
        .one(&format!(
            "SELECT COUNT(*) FROM events WHERE occurred_at >= {start} AND occurred_at < {end}"
        ))
        .await;
    assert!(expected > 0);
    assert_eq!(d["events"]["rows"], expected);

    // Bad input names the field, and writes nothing.
    let bad = dir.path().join("bad");
    let run = export(&url, &bad, &["--from", "2026-05-02", "--to", "2026-05-01"]);
    assert!(!run.status.success());
    assert!(String::from_utf8_lossy(&run.stderr).contains("--from"));
    assert!(!bad.join("responses.parquet").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duckdb_reads_the_parquet_export_sqlite() {
    duckdb_reads_what_the_store_holds(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duckdb_reads_the_parquet_export_postgres() {
    duckdb_reads_what_the_store_holds(Backend::Postgres).await;
}
