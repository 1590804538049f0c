//! `heard bench ingest`: durable submissions per second and latency over real HTTP on loopback, with N concurrent
//! clients, on SQLite and PostgreSQL; beside each, the raw insert rate of the same database at the same durability,
//! measured in the same run (these machines are noisy, so the ratio means more than the absolute figure).
//! The per-IP submission limit is turned off for the run: every client here shares one loopback address.

use anyhow::{Context, Result};
use clap::Args;
use heard_domain::templates::{self, TrustScale};
use heard_domain::{Channel, Lang, LocalizedText};
use heard_store::catalog::NewSurvey;
use heard_store::{DatabaseUrl, Store, StoreOptions};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Args)]
pub struct IngestArgs {
    /// Concurrent HTTP clients.
    #[arg(long, default_value_t = 64)]
    clients: usize,
    /// Seconds of load per backend.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Which backends: sqlite, postgres or both.
    #[arg(long, default_value = "both")]
    backend: String,
    /// PostgreSQL server for the run; a fresh database is created there and dropped after.
    #[arg(
        long,
        env = "HEARD_BENCH_POSTGRES_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/postgres"
    )]
    postgres_url: String,
}

struct Row {
    backend: &'static str,
    durability: String,
    http_rate: f64,
    p50: f64,
    p99: f64,
    errors: usize,
    raw_rate: f64,
}

pub async fn ingest(args: IngestArgs) -> Result<()> {
    let mut rows = Vec::new();
    let secret = [42u8; 32];
    if matches!(args.backend.as_str(), "sqlite" | "both") {
        let dir = tempfile::tempdir()?;
        let url = DatabaseUrl::sqlite_in(dir.path());
        rows.push(
            run_one(
                "sqlite",
                "WAL, synchronous=FULL".into(),
                &url,
                &args,
                secret,
            )
            .await?,
        );
    }
    if matches!(args.backend.as_str(), "postgres" | "both") {
        use sqlx::Connection;
        let mut admin = sqlx::PgConnection::connect(&args.postgres_url)
            .await
            .with_context(|| format!("connecting to {}", args.postgres_url))?;
        let name = format!("heard_bench_{}", uuid::Uuid::new_v4().simple());
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .await?;
        let (base, _) = args
            .postgres_url
            .rsplit_once('/')
            .context("the PostgreSQL URL must end with a database name")?;
        let url = DatabaseUrl::parse(&format!("{base}/{name}"))?;
        let fsync: String = sqlx::query_scalar("SHOW fsync")
            .fetch_one(&mut admin)
            .await?;
        let sync: String = sqlx::query_scalar("SHOW synchronous_commit")
            .fetch_one(&mut admin)
            .await?;
        let result = run_one(
            "postgres",
            format!("fsync={fsync}, synchronous_commit={sync}"),
            &url,
            &args,
            secret,
        )
        .await;
        sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .execute(&mut admin)
            .await
            .ok();
        rows.push(result?);
    }
    println!();
    println!(
        "heard bench ingest: {} clients, {} s per backend, 2-core machine, client and server sharing it",
        args.clients, args.seconds
    );
    println!(
        "{:<9} {:<38} {:>12} {:>9} {:>9} {:>7} {:>14} {:>8}",
        "backend",
        "durability",
        "HTTP acks/s",
        "p50 ms",
        "p99 ms",
        "errors",
        "raw inserts/s",
        "ratio"
    );
    let mut ok = true;
    for r in &rows {
        println!(
            "{:<9} {:<38} {:>12.0} {:>9.2} {:>9.2} {:>7} {:>14.0} {:>8.2}",
            r.backend,
            r.durability,
            r.http_rate,
            r.p50,
            r.p99,
            r.errors,
            r.raw_rate,
            r.http_rate / r.raw_rate
        );
        if r.errors > 0 {
            ok = false;
        }
    }
    if let Some(s) = rows.iter().find(|r| r.backend == "sqlite") {
        let pass = s.http_rate >= 5000.0 && s.p99 <= 50.0;
        println!(
            "target (SQLite): >= 5,000 durable submissions/s with p99 <= 50 ms: {}",
            if pass { "PASS" } else { "FAIL" }
        );
        ok &= pass;
    }
    println!(
        "ratio = HTTP acknowledged rate / raw batched insert rate of the same database in this run."
    );
    if let Some(kb) = peak_rss_kb() {
        // Server and load generator share this process, so the server alone uses less than this.
        let mb = kb as f64 / 1024.0;
        println!(
            "peak resident memory of this process (server + {} clients): {mb:.0} MB (PRODUCT.md target for the server: <= 100 MB): {}",
            args.clients,
            if mb <= 100.0 { "PASS" } else { "over" }
        );
    }
    if !ok {
        anyhow::bail!("a target was missed or some requests failed");
    }
    Ok(())
}

async fn run_one(
    name: &'static str,
    durability: String,
    url: &DatabaseUrl,
    args: &IngestArgs,
    secret: [u8; 32],
) -> Result<Row> {
    eprintln!("{name}: preparing");
    let store = Store::open(url, StoreOptions::default()).await?;
    let now = heard_store::now_ms();
    let org = store.create_org("Bench agency", "bench", now).await?;
    let svc = store
        .create_service(
            org.id,
            &LocalizedText::new("Benefits", "Beneficios"),
            &LocalizedText::default(),
            now,
        )
        .await?;
    let tp = store
        .create_touchpoint(
            org.id,
            svc.id,
            &LocalizedText::en_only("Web"),
            Channel::Website,
            now,
        )
        .await?;
    let def = templates::a11_v2(&svc.name, TrustScale::Thumbs);
    let survey = store
        .create_survey(
            NewSurvey {
                org_id: org.id,
                service_id: svc.id,
                touchpoint_id: Some(tp.id),
                name: "Bench",
                draft: &def,
                allowed_origins: &[],
                transaction_point: "post_interaction",
            },
            now,
        )
        .await?;
    store.publish_survey(org.id, survey.id, None, now).await?;

    // Raw insert rate: the same rows, batched as the group commit batches them, without HTTP or validation.
    let template = heard_server::pipeline::Pipeline::new(&secret)
        .prepare(
            heard_server::pipeline::Submission {
                org_id: org.id,
                survey_id: survey.id,
                survey_version: 1,
                service_id: svc.id,
                touchpoint_id: Some(tp.id),
                channel: Channel::Website,
                language: Lang::en(),
                page_path: Some("/apply".into()),
                idempotency_key: "template-key".into(),
                submitted_at: now,
                answers: serde_json::json!({"trust": 1, "went_well": ["ease"], "comment": "Quick and easy."}).as_object().cloned().unwrap_or_default(),
                hidden: heard_domain::survey::HiddenAnswers::Reject,
                keep_raw_text: false,
            },
            &def,
        )
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let raw_rows = 40_000;
    let t = Instant::now();
    store.bench_raw_insert(&template, raw_rows, 128).await?;
    let raw_rate = raw_rows as f64 / t.elapsed().as_secs_f64();

    let mut config = heard_server::Config::new("127.0.0.1:0".parse()?, secret);
    config.submissions_per_minute = 0;
    let app = heard_server::Application::build(store, config).await?;
    let endpoint = format!(
        "{}/api/v1/bench/surveys/{}/responses",
        app.public_url(),
        survey.id
    );
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run(async {
        let _ = stop_rx.await;
    }));

    eprintln!("{name}: {} clients for {} s", args.clients, args.seconds);
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(args.clients)
        .build()?;
    let deadline = Instant::now() + Duration::from_secs(args.seconds);
    let counter = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let mut tasks = Vec::new();
    for c in 0..args.clients {
        let (client, endpoint, counter) = (client.clone(), endpoint.clone(), counter.clone());
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut errors = 0usize;
            let mut i = 0u64;
            while Instant::now() < deadline {
                let body = serde_json::json!({
                    "idempotency_key": format!("bench-{c}-{i}"),
                    "answers": {"trust": (!i.is_multiple_of(3)) as i64, "comment": "The wait was long but staff helped."},
                    "language": "en",
                    "page_path": "/apply/done",
                });
                i += 1;
                let t = Instant::now();
                match client.post(&endpoint).json(&body).send().await {
                    Ok(r) if r.status().as_u16() == 201 => {
                        lat.push(t.elapsed().as_secs_f64() * 1000.0);
                        counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                    _ => errors += 1,
                }
            }
            (lat, errors)
        }));
    }
    let started = Instant::now();
    let mut lat = Vec::new();
    let mut errors = 0;
    for t in tasks {
        let (l, e) = t.await?;
        lat.extend(l);
        errors += e;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let _ = stop_tx.send(());
    server.await??;
    lat.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    let pct = |p: f64| {
        lat.get(((lat.len() as f64 * p) as usize).min(lat.len().saturating_sub(1)))
            .copied()
            .unwrap_or(f64::NAN)
    };
    let acked = counter.load(std::sync::atomic::Ordering::Relaxed);

    // Every acknowledged response must be in the database.
    let store = Store::open(url, StoreOptions::default()).await?;
    let stored = store
        .count_responses(
            org.id,
            &heard_store::responses::ResponseFilter {
                survey_id: Some(survey.id),
                ..Default::default()
            },
        )
        .await? as u64;
    store.close().await;
    let stored_http = stored - raw_rows as u64;
    if stored_http < acked {
        anyhow::bail!("{name}: {acked} acknowledged but only {stored_http} stored");
    }
    eprintln!("{name}: {acked} acknowledged, {stored_http} stored");
    Ok(Row {
        backend: name,
        durability,
        http_rate: acked as f64 / elapsed,
        p50: pct(0.50),
        p99: pct(0.99),
        errors,
        raw_rate,
    })
}

/// Peak resident set size (VmHWM) in KiB, where /proc exists.
fn peak_rss_kb() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status.lines().find_map(|l| {
        l.strip_prefix("VmHWM:")?
            .trim()
            .strip_suffix("kB")?
            .trim()
            .parse()
            .ok()
    })
}
