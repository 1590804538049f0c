//! `heard bench import`: loads N deterministic operational events (calls, office visits, application steps) from a
//! CSV file and from an NDJSON file through `heard import`'s own path (parse, protect, bulk store, one durable
//! transaction per batch) into a fresh SQLite database, beside sqlite3's own `.import` of the same CSV into a bare
//! table in the same run; with `--postgres-url`, the same import into a fresh PostgreSQL database beside `COPY` of the
//! same CSV into a bare table. The peers do far less (no parsing into types, no idempotency, no hashing of persons,
//! no redaction, no indexes): the ratio says what Heard's checks cost.

use anyhow::{Context, Result, bail};
use clap::Args;
use heard_channels::import::{Format, Kind, Plan};
use heard_server::pipeline::{Enrich, Pipeline};
use heard_store::{DatabaseUrl, Store, StoreOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::import::{FileImport, import_file};

#[derive(Args)]
pub struct ImportBenchArgs {
    /// Events per file.
    #[arg(long, default_value_t = 1_000_000)]
    rows: usize,
    /// Items per batch (one durable transaction each).
    #[arg(long, default_value_t = heard_server::import::DEFAULT_BATCH)]
    batch_size: usize,
    /// Also measure PostgreSQL: a server URL; a fresh database is created there and dropped after.
    #[arg(long, env = "HEARD_BENCH_POSTGRES_URL")]
    postgres_url: Option<String>,
    /// Where to write the generated files (default: a temporary directory, removed after).
    #[arg(long)]
    dir: Option<PathBuf>,
}

/// The columns of the generated CSV (dotted item fields, so no mapping is needed).
const COLUMNS: [&str; 12] = [
    "external_id",
    "type",
    "occurred_at",
    "person.customer_id",
    "reference",
    "measures.wait",
    "measures.handle_time",
    "measures.transfers",
    "measures.service_time",
    "measures.duration",
    "attributes.queue",
    "attributes.office",
];

/// A small deterministic generator (SplitMix64), so every run loads the same files.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Writes `rows` events as CSV and as NDJSON (the same events), returning the two paths.
fn generate(dir: &Path, rows: usize) -> Result<(PathBuf, PathBuf)> {
    let csv_path = dir.join("events.csv");
    let nd_path = dir.join("events.ndjson");
    let mut csv = std::io::BufWriter::new(std::fs::File::create(&csv_path)?);
    let mut nd = std::io::BufWriter::new(std::fs::File::create(&nd_path)?);
    writeln!(csv, "{}", COLUMNS.join(","))?;
    let mut rng = Rng(17);
    // Ninety days ending 2026-11-01: always in the past, so the future rule never trips.
    let end_s: i64 = 1_793_491_200;
    let queues = ["claims", "benefits", "appeals", "general"];
    let offices = ["Downtown", "Eastside", "Airport Rd", "Northgate"];
    for i in 0..rows {
        let t = end_s - rng.below(90 * 86_400) as i64;
        let when = chrono::DateTime::from_timestamp(t, 0)
            .expect("in range")
            .format("%Y-%m-%dT%H:%M:%SZ")
            .to_string();
        let person = format!("C{:07}", rng.below(200_000));
        let case = format!("APP-{:07}", rng.below(400_000));
        let mut cells: [String; 12] = Default::default();
        cells[0] = format!("ev-{i:08}");
        cells[2] = when;
        cells[3] = person;
        cells[4] = case;
        match rng.below(10) {
            0..=4 => {
                cells[1] = "call".into();
                cells[5] = (rng.below(1800) + 5).to_string();
                cells[6] = (rng.below(900) + 60).to_string();
                cells[7] = rng.below(4).to_string();
                cells[10] = queues[rng.below(4) as usize].into();
            }
            5..=6 => {
                cells[1] = "office_visit".into();
                cells[5] = (rng.below(5400) + 60).to_string();
                cells[8] = (rng.below(1800) + 120).to_string();
                cells[11] = offices[rng.below(4) as usize].into();
            }
            _ => {
                cells[1] = "step_completed".into();
                cells[9] = (rng.below(3600) + 30).to_string();
            }
        }
        writeln!(csv, "{}", cells.join(","))?;
        let mut item = serde_json::Map::new();
        let mut measures = serde_json::Map::new();
        let mut attributes = serde_json::Map::new();
        for (c, v) in COLUMNS.iter().zip(&cells) {
            if v.is_empty() {
                continue;
            }
            if let Some(m) = c.strip_prefix("measures.") {
                measures.insert(m.into(), v.parse::<i64>().expect("generated").into());
            } else if let Some(a) = c.strip_prefix("attributes.") {
                attributes.insert(a.into(), v.clone().into());
            } else if *c == "person.customer_id" {
                item.insert("person".into(), serde_json::json!({ "customer_id": v }));
            } else {
                item.insert((*c).into(), v.clone().into());
            }
        }
        if !measures.is_empty() {
            item.insert("measures".into(), measures.into());
        }
        if !attributes.is_empty() {
            item.insert("attributes".into(), attributes.into());
        }
        serde_json::to_writer(&mut nd, &item)?;
        nd.write_all(b"\n")?;
    }
    csv.flush()?;
    nd.flush()?;
    Ok((csv_path, nd_path))
}

struct Line {
    target: String,
    path: String,
    rows: usize,
    secs: f64,
    peer: Option<usize>,
}

/// Loads `path` through `heard import`'s path into `url` (a fresh database); returns seconds.
async fn heard_load(
    url: &DatabaseUrl,
    path: &Path,
    format: Format,
    batch: usize,
    rows: usize,
) -> Result<f64> {
    let store = Store::open(url, StoreOptions::default()).await?;
    let org = store
        .create_org("Bench Agency", "bench", heard_store::now_ms())
        .await?;
    let pipeline = Pipeline::new(&[42u8; 32]);
    let f = FileImport {
        kind: Kind::Event,
        format,
        plan: Plan::identity(Kind::Event),
        mapping_text: String::new(),
        survey: None,
        batch_size: batch,
        enrich: Enrich::Later,
    };
    let started = Instant::now();
    let report = import_file(
        &store,
        &pipeline,
        org.id,
        path,
        &f,
        &mut |_| {},
        &mut |_| {},
    )
    .await?;
    let secs = started.elapsed().as_secs_f64();
    store.close().await;
    if report.progress.created as usize != rows || !report.errors.is_empty() {
        bail!(
            "the bench import stored {} of {rows} events ({} errors; first: {:?})",
            report.progress.created,
            report.errors.len(),
            report.errors.first().map(|e| e.to_string())
        );
    }
    Ok(secs)
}

/// sqlite3's own `.import` of the CSV into a bare table of text columns, at the same durability (WAL,
/// synchronous=FULL). None (with a note) when the sqlite3 program is missing.
fn sqlite3_import(dir: &Path, csv: &Path, rows: usize) -> Result<Option<f64>> {
    if std::process::Command::new("sqlite3")
        .arg("-version")
        .output()
        .is_err()
    {
        eprintln!(
            "note: the sqlite3 program is not installed, so its .import is not measured; on Debian: apt-get install sqlite3"
        );
        return Ok(None);
    }
    let db = dir.join("bare.sqlite");
    let cols: Vec<String> = COLUMNS.iter().map(|c| format!("\"{c}\" TEXT")).collect();
    let started = Instant::now();
    let out = std::process::Command::new("sqlite3")
        .arg(&db)
        .arg("PRAGMA journal_mode=WAL;")
        .arg("PRAGMA synchronous=FULL;")
        .arg(format!("CREATE TABLE bare ({});", cols.join(", ")))
        .arg(format!(".import --csv --skip 1 {} bare", csv.display()))
        .output()
        .context("running sqlite3")?;
    let secs = started.elapsed().as_secs_f64();
    if !out.status.success() {
        bail!(
            "sqlite3 .import failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let count = std::process::Command::new("sqlite3")
        .arg(&db)
        .arg("SELECT COUNT(*) FROM bare;")
        .output()?;
    let n: usize = String::from_utf8_lossy(&count.stdout)
        .trim()
        .parse()
        .unwrap_or(0);
    if n != rows {
        bail!("sqlite3 .import loaded {n} of {rows} rows");
    }
    Ok(Some(secs))
}

/// PostgreSQL's `COPY ... FROM STDIN (FORMAT csv, HEADER)` of the CSV into a bare table of text columns.
async fn postgres_copy(url: &str, csv: &Path) -> Result<f64> {
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(url).await?;
    let cols: Vec<String> = COLUMNS.iter().map(|c| format!("\"{c}\" TEXT")).collect();
    sqlx::query(&format!("CREATE TABLE bare ({})", cols.join(", ")))
        .execute(&mut conn)
        .await?;
    let started = Instant::now();
    let mut copy = conn
        .copy_in_raw("COPY bare FROM STDIN (FORMAT csv, HEADER true)")
        .await?;
    let file = tokio::fs::File::open(csv).await?;
    copy.read_from(file).await?;
    copy.finish().await?;
    Ok(started.elapsed().as_secs_f64())
}

pub async fn run(args: ImportBenchArgs) -> Result<()> {
    if args.rows == 0 {
        bail!("--rows: give at least 1");
    }
    let tmp = tempfile::tempdir()?;
    let dir = args.dir.clone().unwrap_or_else(|| tmp.path().to_path_buf());
    std::fs::create_dir_all(&dir)?;
    eprintln!(
        "Generating {} events as CSV and NDJSON in {} …",
        args.rows,
        dir.display()
    );
    let (csv, nd) = generate(&dir, args.rows)?;
    let mut lines = Vec::new();
    let peer = sqlite3_import(&dir, &csv, args.rows)?;
    let sqlite3_row = peer.map(|secs| Line {
        target: "sqlite3 .import, bare table".into(),
        path: "CSV".into(),
        rows: args.rows,
        secs,
        peer: None,
    });
    let peer_index = sqlite3_row.as_ref().map(|_| 0);
    if let Some(r) = sqlite3_row {
        lines.push(r);
    }
    for (path, format, label) in [(&csv, Format::Csv, "CSV"), (&nd, Format::Ndjson, "NDJSON")] {
        let sub = tempfile::tempdir_in(&dir)?;
        eprintln!("heard import of the {label} file into SQLite …");
        let secs = heard_load(
            &DatabaseUrl::sqlite_in(sub.path()),
            path,
            format,
            args.batch_size,
            args.rows,
        )
        .await?;
        lines.push(Line {
            target: "heard import → SQLite (WAL, synchronous=FULL)".into(),
            path: label.into(),
            rows: args.rows,
            secs,
            peer: peer_index,
        });
    }
    if let Some(url) = &args.postgres_url {
        use sqlx::Connection;
        let mut admin = sqlx::PgConnection::connect(url)
            .await
            .with_context(|| format!("connecting to {url}"))?;
        let (base, _) = url
            .rsplit_once('/')
            .context("the PostgreSQL URL must end with a database name")?;
        let mut made = Vec::new();
        let result: Result<()> = async {
            let name = format!("heard_bench_copy_{}", uuid::Uuid::new_v4().simple());
            sqlx::query(&format!("CREATE DATABASE {name}"))
                .execute(&mut admin)
                .await?;
            made.push(name.clone());
            eprintln!("COPY of the CSV file into PostgreSQL …");
            let secs = postgres_copy(&format!("{base}/{name}"), &csv).await?;
            let copy_index = lines.len();
            lines.push(Line {
                target: "PostgreSQL COPY, bare table".into(),
                path: "CSV".into(),
                rows: args.rows,
                secs,
                peer: None,
            });
            for (path, format, label) in
                [(&csv, Format::Csv, "CSV"), (&nd, Format::Ndjson, "NDJSON")]
            {
                let name = format!("heard_bench_import_{}", uuid::Uuid::new_v4().simple());
                sqlx::query(&format!("CREATE DATABASE {name}"))
                    .execute(&mut admin)
                    .await?;
                made.push(name.clone());
                eprintln!("heard import of the {label} file into PostgreSQL …");
                let secs = heard_load(
                    &DatabaseUrl::parse(&format!("{base}/{name}"))?,
                    path,
                    format,
                    args.batch_size,
                    args.rows,
                )
                .await?;
                lines.push(Line {
                    target: "heard import → PostgreSQL".into(),
                    path: label.into(),
                    rows: args.rows,
                    secs,
                    peer: Some(copy_index),
                });
            }
            Ok(())
        }
        .await;
        for name in made {
            sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .execute(&mut admin)
                .await
                .ok();
        }
        result?;
    }
    println!();
    println!(
        "heard bench import: {} events per file, batches of {} (each one durable transaction), {} core(s)",
        args.rows,
        args.batch_size,
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    );
    println!(
        "{:<48} {:<7} {:>10} {:>9} {:>12} {:>14}",
        "path", "file", "rows", "seconds", "rows/s", "vs peer"
    );
    let mut sqlite_ok = true;
    for l in &lines {
        let rate = l.rows as f64 / l.secs;
        let ratio = l
            .peer
            .map(|p| format!("{:.2}", rate / (lines[p].rows as f64 / lines[p].secs)))
            .unwrap_or_else(|| "(peer)".into());
        println!(
            "{:<48} {:<7} {:>10} {:>9.2} {:>12.0} {:>14}",
            l.target, l.path, l.rows, l.secs, rate, ratio
        );
        if l.target.contains("SQLite") && rate < TARGET {
            sqlite_ok = false;
        }
    }
    println!(
        "target: at least {TARGET:.0} rows/s into SQLite: {}",
        if sqlite_ok { "met" } else { "NOT met" }
    );
    Ok(())
}

/// The target for imports into SQLite, rows per second.
const TARGET: f64 = 200_000.0;
