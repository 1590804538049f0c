//! `heard bench dashboards`: how fast the dashboards answer, and how much memory the server holds, on a large SQLite
//! store, beside DuckDB computing the same figures from the same SQLite file in the same run.
//!
//! 1. Builds (or reuses, resuming where it stopped) a data directory through the product's own bulk path
//!    (`Store::bulk_write`, as `heard import` and `heard demo-data` use it): one organization in New York's time zone,
//!    three services with a website, phone and in-person touchpoint each and an A-11 v2 survey, `--responses`
//!    responses over the last 52 weeks (trust thumbs, what went well or not) made by the product's pipeline, and
//!    `--events` operational events (calls with a queue wait, visits with a wait) over the same weeks, in time order
//!    as real data arrives (so the time-ordered indexes are appended to, not rewritten all over; 10 million responses
//!    and 50 million events take about 30 GB). `bench-progress.json` in the directory says how far it got and the
//!    totals the series is spread over; a stopped build resumes at the next batch. A lean generator: no free text,
//!    so no text analysis; `heard demo-data` makes the realistic agency.
//! 2. Starts `heard serve` on the directory as a child process (no job workers), signs in, and requests each page
//!    `--requests` times over loopback: p50 and p95 per page, and the server's peak resident memory (`VmHWM` in
//!    `/proc/PID/status`), against the limits (100 ms, 150 MB).
//! 3. Runs DuckDB (the `duckdb` package from PyPI, through `--python` or `HEARD_PYTHON`) on the same SQLite file:
//!    responses and positive trust answers per service, per channel and per local week of the current fiscal year,
//!    timed; and checks that the rollups Heard's pages read give exactly the same numbers. For the events page of
//!    the first service, every local week of the data: events per week and type, and each measure's count and sum
//!    equal, its median and 90th percentile within the sketch's stated error (`heard_domain::sketch`).

use anyhow::{Context, Result, bail};
use clap::Args;
use heard_domain::event::EventInput;
use heard_domain::intake::Common;
use heard_domain::rollup::date_of_day;
use heard_domain::survey::HiddenAnswers;
use heard_domain::templates::{self, TrustScale};
use heard_domain::{Channel, Lang, LocalizedText, OrgId, Role, Zone};
use heard_server::pipeline::{Pipeline, Submission};
use heard_store::bulk::{BulkOutcome, BulkRows};
use heard_store::catalog::NewSurvey;
use heard_store::rollups::RollupScope;
use heard_store::{DatabaseUrl, Store, StoreOptions};
use serde_json::json;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

#[derive(Args)]
pub struct DashboardArgs {
    /// Responses in the data directory (generated up to this many; reused when already there).
    #[arg(long, default_value_t = 10_000_000)]
    responses: u64,
    /// Operational events in the data directory (generated up to this many).
    #[arg(long, default_value_t = 50_000_000)]
    events: u64,
    /// The data directory to build or reuse.
    #[arg(long, default_value = "heard-bench-dashboards")]
    data: PathBuf,
    /// Requests per page.
    #[arg(long, default_value_t = 20)]
    requests: usize,
    /// The Python with the `duckdb` package (`python3 -m venv V && V/bin/pip install duckdb`).
    #[arg(long, env = "HEARD_PYTHON")]
    python: Option<PathBuf>,
}

const SLUG: &str = "bench-dashboards";
const EMAIL: &str = "bench@dashboards.example.gov";
const PASSWORD: &str = "bench-dashboards-password";
/// Rows per bulk transaction.
const BATCH: u64 = 20_000;
const WEEKS: i64 = 52;
const DAY_MS: i64 = 86_400_000;

/// A small deterministic generator (SplitMix64): the same data for the same position, so a resumed build continues
/// the same series.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn unit(x: u64) -> f64 {
    (x >> 11) as f64 / (1u64 << 53) as f64
}

struct Agency {
    org: OrgId,
    /// (service, touchpoints with their channels, survey)
    services: Vec<(
        heard_store::Service,
        Vec<heard_store::Touchpoint>,
        heard_store::Survey,
    )>,
    start_ms: i64,
}

async fn agency(store: &Store) -> Result<Agency> {
    let now = heard_store::now_ms();
    let org = match store.org_by_slug(SLUG).await {
        Ok(o) => o,
        Err(_) => {
            let org = store
                .create_org_in("Bench agency", SLUG, Zone::default(), now)
                .await?;
            let hash = heard_server::auth::hash_password(PASSWORD)
                .map_err(|e| anyhow::anyhow!("hashing: {e:?}"))?;
            let user = store.create_user(EMAIL, "Bench", &hash, now).await?;
            store
                .set_membership(org.id, user.id, Role::Admin, now)
                .await?;
            for name in ["Unemployment insurance", "SNAP benefits", "Passports"] {
                let s = store
                    .create_service(
                        org.id,
                        &LocalizedText::en_only(name),
                        &LocalizedText::default(),
                        now,
                    )
                    .await?;
                for (n, c) in [
                    ("Website", Channel::Website),
                    ("Phone line", Channel::Phone),
                    ("Office", Channel::InPerson),
                ] {
                    store
                        .create_touchpoint(org.id, s.id, &LocalizedText::en_only(n), c, now)
                        .await?;
                }
                let def = templates::a11_v2(&s.name, TrustScale::Thumbs);
                let survey = store
                    .create_survey(
                        NewSurvey {
                            org_id: org.id,
                            service_id: s.id,
                            touchpoint_id: None,
                            name: &format!("{name} survey"),
                            draft: &def,
                            allowed_origins: &[],
                            transaction_point: "post_interaction",
                        },
                        now,
                    )
                    .await?;
                store.publish_survey(org.id, survey.id, None, now).await?;
            }
            org
        }
    };
    let touchpoints = store.touchpoints(org.id).await?;
    let mut services = Vec::new();
    for s in store.services(org.id).await? {
        let survey = store
            .surveys(org.id, Some(s.id))
            .await?
            .into_iter()
            .next()
            .context("the bench service has no survey")?;
        let tps = touchpoints
            .iter()
            .filter(|t| t.service_id == s.id)
            .cloned()
            .collect();
        services.push((s, tps, survey));
    }
    // Weeks end at the organization's creation, so a reused directory keeps its dates.
    Ok(Agency {
        org: org.id,
        services,
        start_ms: org.created_at - WEEKS * 7 * DAY_MS,
    })
}

/// The responses and events written so far, and the totals the series is spread for (`--responses`, `--events`
/// of the run that started it), kept in the data directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Progress {
    responses: u64,
    events: u64,
    plan_responses: u64,
    plan_events: u64,
}

fn progress(dir: &std::path::Path) -> Option<Progress> {
    let v = std::fs::read_to_string(dir.join("bench-progress.json"))
        .ok()
        .and_then(|s| serde_json::from_str::<serde_json::Value>(&s).ok())?;
    let responses = v["responses"].as_u64().unwrap_or(0);
    let events = v["events"].as_u64().unwrap_or(0);
    Some(Progress {
        responses,
        events,
        plan_responses: v["plan_responses"].as_u64().unwrap_or(responses),
        plan_events: v["plan_events"].as_u64().unwrap_or(events),
    })
}

/// Written after each committed batch (a batch is durable when `bulk_write` returns), so a stopped build resumes
/// at the next batch.
fn save_progress(dir: &std::path::Path, p: &Progress) -> Result<()> {
    let tmp = dir.join("bench-progress.json.tmp");
    std::fs::write(
        &tmp,
        json!({"responses": p.responses, "events": p.events, "plan_responses": p.plan_responses,
               "plan_events": p.plan_events})
        .to_string(),
    )?;
    std::fs::rename(tmp, dir.join("bench-progress.json"))?;
    Ok(())
}

/// The time of item `i` of `total` spread over `span` ms from `start`: in order (as real data arrives, so every
/// time-ordered index is appended to, not written all over), each in its own slot at a jittered point.
fn chronological(start: i64, span: i64, i: u64, total: u64, jitter: f64) -> i64 {
    start + ((i as f64 + jitter) * span as f64 / total.max(1) as f64) as i64
}

/// One progress line: done of total, the rate of this run and the time left at that rate.
fn report(what: &str, done: u64, total: u64, first: u64, started: Instant) {
    let rate = (done - first) as f64 / started.elapsed().as_secs_f64().max(1e-9);
    let left = (total - done) as f64 / rate.max(1e-9);
    eprintln!(
        "{what}: {done} of {total} ({:.1}%), {rate:.0}/s, about {:.0} min left",
        100.0 * done as f64 / total.max(1) as f64,
        left / 60.0
    );
}

async fn commit(store: &Store, org: OrgId, rows: BulkRows<'_>) -> Result<()> {
    match store.bulk_write(org, rows, None, |_| Vec::new()).await? {
        BulkOutcome::Committed(_) => Ok(()),
        BulkOutcome::Reused(r) => bail!("{} generated rows reuse stored keys", r.len()),
    }
}

async fn generate(
    store: &Store,
    a: &Agency,
    args: &DashboardArgs,
    secret: &[u8; 32],
) -> Result<()> {
    let pipeline = Pipeline::new(secret);
    let mut prog = progress(&args.data).unwrap_or(Progress {
        responses: 0,
        events: 0,
        plan_responses: args.responses,
        plan_events: args.events,
    });
    // Times are spread in order over the planned totals: a directory is grown only to the totals it was planned for.
    for (what, done, plan, want) in [
        (
            "responses",
            prog.responses,
            prog.plan_responses,
            args.responses,
        ),
        ("events", prog.events, prog.plan_events, args.events),
    ] {
        if want != plan && !(done == 0 && want > 0) && want > done {
            bail!(
                "{} holds {done} {what} of a series planned for {plan}; use --{what} {plan} (or less, to reuse it), or \
                 a new --data directory for {want}",
                args.data.display()
            );
        }
    }
    if prog.responses == 0 {
        prog.plan_responses = args.responses;
    }
    if prog.events == 0 {
        prog.plan_events = args.events;
    }
    let span = WEEKS * 7 * DAY_MS;
    let (mut done_r, mut done_e) = (prog.responses, prog.events);
    let started = Instant::now();
    let first_r = done_r;
    while done_r < args.responses {
        let n = BATCH.min(args.responses - done_r);
        let mut rows = Vec::with_capacity(n as usize);
        for i in done_r..done_r + n {
            let r = mix(i);
            let (service, tps, survey) = &a.services[(r % 3) as usize];
            let tp = &tps[((r >> 8) % tps.len() as u64) as usize];
            // Trust: the second service and the phone are worse; a slow rise over the year.
            let at = chronological(a.start_ms, span, i, prog.plan_responses, unit(mix(r)));
            let mut p = 0.72 - if r % 3 == 1 { 0.12 } else { 0.0 }
                + 0.05 * ((at - a.start_ms) as f64 / span as f64);
            if tp.channel == Channel::Phone {
                p -= 0.1;
            }
            let positive = unit(mix(r ^ 0x55)) < p;
            let pick = (r >> 20) as usize % 3;
            let answers = if positive {
                let chosen = ["ease", "efficiency", "effectiveness"][pick];
                json!({"trust": 1, "went_well": [chosen]})
            } else {
                let chosen = ["transparency", "ease", "efficiency"][pick];
                json!({"trust": 0, "went_badly": [chosen]})
            };
            let s = Submission {
                org_id: a.org,
                survey_id: survey.id,
                survey_version: 1,
                service_id: service.id,
                touchpoint_id: Some(tp.id),
                channel: tp.channel,
                language: if (r >> 30).is_multiple_of(5) {
                    Lang::es()
                } else {
                    Lang::en()
                },
                page_path: None,
                idempotency_key: format!("bench-{i:012}"),
                submitted_at: at,
                answers: answers.as_object().cloned().unwrap_or_default(),
                hidden: HiddenAnswers::Reject,
                keep_raw_text: false,
            };
            rows.push(
                pipeline
                    .prepare(s, &survey.draft)
                    .map_err(|e| anyhow::anyhow!("generated response: {e:?}"))?,
            );
        }
        commit(store, a.org, BulkRows::Responses(&rows)).await?;
        done_r += n;
        prog.responses = done_r;
        save_progress(&args.data, &prog)?;
        if done_r.is_multiple_of(200_000) || done_r == args.responses {
            report("responses", done_r, args.responses, first_r, started);
        }
    }
    let started = Instant::now();
    let first_e = done_e;
    while done_e < args.events {
        let n = BATCH.min(args.events - done_e);
        let mut rows = Vec::with_capacity(n as usize);
        for i in done_e..done_e + n {
            let r = mix(i ^ 0xe0e0_e0e0);
            let (service, tps, _) = &a.services[(r % 3) as usize];
            let tp = &tps[((r >> 8) % tps.len() as u64) as usize];
            let at = chronological(a.start_ms, span, i, prog.plan_events, unit(mix(r)));
            // Waits are log-normal: a median of about 4 minutes, a long right tail.
            let u1 = unit(mix(r ^ 1)).max(1e-12);
            let u2 = unit(mix(r ^ 2));
            let normal = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
            let wait = (240.0 * (0.8 * normal).exp()).round();
            let (kind, measure) = match tp.channel {
                Channel::Phone => ("call", "queue_wait_seconds"),
                Channel::InPerson => ("visit", "wait_seconds"),
                _ => ("application_submitted", ""),
            };
            let mut measures = BTreeMap::new();
            if !measure.is_empty() {
                measures.insert(measure.to_string(), wait);
            }
            let e = EventInput {
                common: Common {
                    external_id: format!("bench-event-{i:012}"),
                    occurred_at: at,
                    service_id: Some(service.id),
                    touchpoint_id: Some(tp.id),
                    person: None,
                    reference: None,
                },
                event_type: kind.to_string(),
                measures,
                attributes: Default::default(),
            };
            rows.push(pipeline.prepare_event(a.org, e, "bench", at));
        }
        commit(store, a.org, BulkRows::Events(&rows)).await?;
        done_e += n;
        prog.events = done_e;
        save_progress(&args.data, &prog)?;
        if done_e.is_multiple_of(500_000) || done_e == args.events {
            report("events", done_e, args.events, first_e, started);
        }
    }
    Ok(())
}

struct Server {
    child: Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

fn peak_rss_kb(pid: u32) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

fn cookie(resp: &reqwest::Response, name: &str) -> Option<String> {
    resp.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .map(|v| v.split(';').next().unwrap_or_default().to_string())
}

async fn sign_in(client: &reqwest::Client, base: &str) -> Result<String> {
    let page = client.get(format!("{base}/admin/login")).send().await?;
    let login = cookie(&page, "heard_login_csrf").context("no sign-in cookie")?;
    let csrf = login
        .split_once('=')
        .map(|x| x.1)
        .unwrap_or_default()
        .to_string();
    let resp = client
        .post(format!("{base}/admin/login"))
        .header("cookie", &login)
        .form(&[
            ("csrf", csrf.as_str()),
            ("email", EMAIL),
            ("password", PASSWORD),
            ("next", "/admin"),
        ])
        .send()
        .await?;
    cookie(&resp, "heard_session").context("signing in to the bench server failed")
}

fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// The DuckDB side: the same figures from the raw responses, as JSON on stdout.
const DUCKDB_SCRIPT: &str = r#"
import json, sys, time
try:
    import duckdb
except ImportError:
    sys.exit("the duckdb package is missing: python3 -m venv V && V/bin/pip install duckdb, then --python V/bin/python")
path, org, start_ms, end_ms = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
event_service, ev_start_ms, ev_end_ms = sys.argv[5], int(sys.argv[6]), int(sys.argv[7])
# No progress bar: DuckDB draws it on stdout for long queries, and stdout carries the JSON answer.
con = duckdb.connect()
con.execute("SET enable_progress_bar = false")
t0 = time.perf_counter()
try:
    con.execute("LOAD sqlite")
    con.execute(f"ATTACH '{path}' AS h (TYPE sqlite, READ_ONLY)")
    src = "h.responses"
    how = "(sqlite extension)"
except Exception:
    # Raw rows only (no computing in SQLite), streamed through a CSV file so tens of millions fit in memory.
    import sqlite3, tempfile, csv, os
    lite = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    def load_table(name, sql, columns):
        f = tempfile.NamedTemporaryFile("w", suffix=".csv", delete=False, newline="")
        w = csv.writer(f)
        cur = lite.execute(sql)
        while True:
            rows = cur.fetchmany(100000)
            if not rows:
                break
            w.writerows(rows)
        f.close()
        cols = ", ".join(f"'{k}': '{v}'" for k, v in columns)
        con.execute(f"CREATE TABLE {name} AS SELECT * FROM read_csv('{f.name}', header=false, columns={{{cols}}})")
        os.unlink(f.name)
    load_table("r", "SELECT hex(org_id), hex(service_id), channel, submitted_at, trust_positive FROM responses",
               [("org", "VARCHAR"), ("service", "VARCHAR"), ("channel", "VARCHAR"), ("submitted_at", "BIGINT"),
                ("trust_positive", "INTEGER")])
    load_table("ev", f"SELECT hex(org_id), hex(service_id), type, occurred_at, measures FROM events "
               f"WHERE service_id = x'{event_service}'",
               [("org", "VARCHAR"), ("service", "VARCHAR"), ("type", "VARCHAR"), ("occurred_at", "BIGINT"),
                ("measures", "VARCHAR")])
    src = None
    how = "(its sqlite extension cannot be downloaded here; rows read with Python's sqlite3 into DuckDB)"
load = time.perf_counter() - t0
if src:
    con.execute(f"CREATE TEMP VIEW r AS SELECT hex(org_id) AS org, hex(service_id) AS service, channel, submitted_at, CAST(trust_positive AS INTEGER) AS trust_positive FROM {src}")
    con.execute(f"CREATE TEMP VIEW ev AS SELECT hex(org_id) AS org, hex(service_id) AS service, type, occurred_at, measures FROM h.events WHERE hex(service_id) = '{event_service}'")
base = f"FROM r WHERE org = '{org}' AND submitted_at >= {start_ms} AND submitted_at < {end_ms}"
out = {"how": how, "load_s": load}
t = time.perf_counter()
out["by_service"] = con.execute(f"SELECT service, COUNT(*), SUM(trust_positive) {base} GROUP BY 1 ORDER BY 1").fetchall()
out["by_service_ms"] = (time.perf_counter() - t) * 1000
t = time.perf_counter()
out["by_channel"] = con.execute(f"SELECT channel, COUNT(*), SUM(trust_positive) {base} GROUP BY 1 ORDER BY 1").fetchall()
out["by_channel_ms"] = (time.perf_counter() - t) * 1000
t = time.perf_counter()
week = "CAST(date_trunc('week', timezone('America/New_York', to_timestamp(submitted_at / 1000.0))) AS DATE)"
out["weekly"] = [(str(w), n, p) for (w, n, p) in con.execute(f"SELECT {week} AS w, COUNT(*), SUM(trust_positive) {base} GROUP BY 1 ORDER BY 1").fetchall()]
out["weekly_ms"] = (time.perf_counter() - t) * 1000
# The events page of one service: events per local week and type; each measure's count, sum, median and 90th
# percentile (quantile_cont: linear interpolation, as Heard's type 7).
ev_week = "CAST(date_trunc('week', timezone('America/New_York', to_timestamp(occurred_at / 1000.0))) AS DATE)"
ev_base = f"FROM ev WHERE org = '{org}' AND occurred_at >= {ev_start_ms} AND occurred_at < {ev_end_ms}"
t = time.perf_counter()
out["event_counts"] = [(str(w), ty, n) for (w, ty, n) in con.execute(f"SELECT {ev_week} AS w, type, COUNT(*) {ev_base} GROUP BY 1, 2 ORDER BY 1, 2").fetchall()]
out["event_counts_ms"] = (time.perf_counter() - t) * 1000
t = time.perf_counter()
out["event_measures"] = [(str(w), ty, k, n, s, med, p90) for (w, ty, k, n, s, med, p90) in con.execute(
    f"WITH e AS (SELECT {ev_week} AS w, type, measures, UNNEST(json_keys(measures)) AS k {ev_base}), "
    f"m AS (SELECT w, type, k, CAST(json_extract_string(measures, '$.' || k) AS DOUBLE) AS x FROM e) "
    f"SELECT w, type, k, COUNT(*), SUM(x), quantile_cont(x, 0.5), quantile_cont(x, 0.9) FROM m GROUP BY 1, 2, 3 ORDER BY 1, 2, 3").fetchall()]
out["event_measures_ms"] = (time.perf_counter() - t) * 1000
print(json.dumps(out))
"#;

pub async fn run(args: DashboardArgs) -> Result<()> {
    std::fs::create_dir_all(&args.data)?;
    let url = DatabaseUrl::sqlite_in(&args.data);
    let storage = crate::settings::StorageArgs {
        data_dir: Some(args.data.clone()),
        database_url: None,
    };
    let secret = storage.secret_key()?;
    let store = Store::open(&url, StoreOptions::default()).await?;
    let a = agency(&store).await?;
    let t = Instant::now();
    generate(&store, &a, &args, &secret).await?;
    let (responses, events) = progress(&args.data).map_or((0, 0), |p| (p.responses, p.events));
    println!(
        "Data: {responses} responses, {events} events in {} ({:.0} s to generate now; {:.1} GB on disk).",
        args.data.display(),
        t.elapsed().as_secs_f64(),
        std::fs::metadata(args.data.join("heard.sqlite")).map_or(0, |m| m.len()) as f64 / 1e9
    );
    // The figures Heard's pages read, for the current fiscal year to date (the check below).
    let zone = Zone::default();
    let today = zone.date(heard_store::now_ms());
    let fy_start = heard_domain::fiscal::FiscalQuarter::containing_ms(heard_store::now_ms(), &zone);
    let mut q = fy_start;
    while q.quarter != 1 {
        q = q.previous();
    }
    let from = q.start();
    let to = today.succ_opt().unwrap_or(today);
    let days = store
        .response_days(
            a.org,
            &RollupScope {
                survey: None,
                service: None,
                from_day: heard_domain::zone::day_number(from),
                to_day: heard_domain::zone::day_number(to),
            },
        )
        .await?;
    // The events page's figures for the first service over every local week of the data, from the event rollups.
    let first_week = heard_domain::report::week_start(a.start_ms, &zone);
    let mut ranges = Vec::new();
    let mut w = first_week;
    while zone.day_start_ms(w) < heard_store::now_ms() && ranges.len() < 160 {
        let next = w.checked_add_days(chrono::Days::new(7)).unwrap_or(w);
        ranges.push((zone.day_start_ms(w), zone.day_start_ms(next)));
        w = next;
    }
    let event_service = a.services[0].0.id;
    let (event_counts, event_measures) = store
        .event_weeks(a.org, event_service, &zone, &ranges)
        .await?;
    store.close().await;

    // The server, as people run it.
    let port = free_port()?;
    let exe = std::env::current_exe()?;
    let child = Command::new(exe)
        .arg("serve")
        .arg("--data-dir")
        .arg(&args.data)
        .arg("--addr")
        .arg(format!("127.0.0.1:{port}"))
        .arg("--job-workers")
        .arg("0")
        .env("HEARD_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()?;
    let pid = child.id();
    let server = Server {
        child,
        base: format!("http://127.0.0.1:{port}"),
    };
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let mut ready = false;
    for _ in 0..600 {
        if client
            .get(format!("{}/healthz", server.base))
            .send()
            .await
            .is_ok()
        {
            ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    if !ready {
        bail!("the server did not start within a minute");
    }
    let session = sign_in(&client, &server.base).await?;
    let org = a.org;
    let (svc, _, survey) = &a.services[0];
    let quarter = fy_start.to_string().replace(' ', "-");
    let pages = [
        ("Organization overview", format!("/admin/o/{org}")),
        (
            "Service dashboard",
            format!("/admin/o/{org}/services/{}?quarter={quarter}", svc.id),
        ),
        (
            "Survey dashboard",
            format!("/admin/o/{org}/surveys/{}?quarter={quarter}", survey.id),
        ),
        (
            "A-11 statistics",
            format!("/admin/o/{org}/statistics?quarter={quarter}"),
        ),
        (
            "Responses, filtered (phone)",
            format!("/admin/o/{org}/responses?channel=phone"),
        ),
        (
            "Events of a service",
            format!("/admin/o/{org}/events?service={}", svc.id),
        ),
    ];
    println!();
    println!(
        "{:<30} {:>9} {:>9} {:>9}  limit",
        "Page", "p50 ms", "p95 ms", "status"
    );
    for (name, path) in &pages {
        let mut times = Vec::with_capacity(args.requests);
        let mut status = 0;
        for _ in 0..args.requests.max(1) {
            let t = Instant::now();
            let r = client
                .get(format!("{}{path}", server.base))
                .header("cookie", &session)
                .send()
                .await?;
            status = r.status().as_u16();
            let _ = r.bytes().await?;
            times.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        times.sort_by(|a, b| a.total_cmp(b));
        let p95 = percentile(&times, 0.95);
        println!(
            "{name:<30} {:>9.1} {:>9.1} {:>9}  {}",
            percentile(&times, 0.5),
            p95,
            status,
            if p95 <= 100.0 {
                "within 100 ms"
            } else {
                "OVER 100 ms"
            }
        );
    }
    let rss = peak_rss_kb(pid);
    match rss {
        Some(kb) => println!(
            "Server peak resident memory (VmHWM): {:.1} MB ({})",
            kb as f64 / 1024.0,
            if kb <= 150 * 1024 {
                "within 150 MB"
            } else {
                "OVER 150 MB"
            }
        ),
        None => println!("Server peak resident memory: not available (/proc)"),
    }
    drop(server);

    // DuckDB on the same file.
    let Some(python) = args.python.clone() else {
        println!(
            "\nDuckDB: skipped. Install it with `python3 -m venv V && V/bin/pip install duckdb` and pass --python \
             V/bin/python (or set HEARD_PYTHON)."
        );
        return Ok(());
    };
    let (start_ms, _) = zone.days_ms(from, from);
    let end_ms = zone.day_start_ms(to);
    let org_hex = hex_upper(a.org.as_uuid().as_bytes());
    let out = Command::new(&python)
        .arg("-c")
        .arg(DUCKDB_SCRIPT)
        .arg(args.data.join("heard.sqlite"))
        .arg(&org_hex)
        .arg(start_ms.to_string())
        .arg(end_ms.to_string())
        .arg(hex_upper(event_service.as_uuid().as_bytes()))
        .arg(ranges.first().map_or(0, |r| r.0).to_string())
        .arg(ranges.last().map_or(0, |r| r.1).to_string())
        .output()
        .with_context(|| format!("running {}", python.display()))?;
    if !out.status.success() {
        bail!(
            "DuckDB failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    // The answer is the last line of stdout (anything a library prints before it is not ours to parse).
    let stdout = String::from_utf8_lossy(&out.stdout);
    let answer = stdout
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("");
    let duck: serde_json::Value = serde_json::from_str(answer)
        .with_context(|| format!("DuckDB's answer is not JSON: {:.200}", answer))?;
    // Heard's figures from the rollups, in the same shapes.
    let mut by_service: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    let mut by_channel: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    let mut weekly: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    for d in &days {
        let add = |e: &mut (u64, u64)| {
            e.0 += d.counts.responses;
            e.1 += d.counts.trust_positive;
        };
        add(by_service
            .entry(hex_upper(d.key.service_id.as_uuid().as_bytes()))
            .or_default());
        add(by_channel.entry(d.key.channel.clone()).or_default());
        let w = heard_domain::report::week_start_of_date(date_of_day(d.key.day));
        add(weekly.entry(w.to_string()).or_default());
    }
    let duck_map = |k: &str| -> BTreeMap<String, (u64, u64)> {
        duck[k]
            .as_array()
            .map(|rows| {
                rows.iter()
                    .map(|r| {
                        (
                            r[0].as_str().unwrap_or_default().to_string(),
                            (r[1].as_u64().unwrap_or(0), r[2].as_u64().unwrap_or(0)),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    println!(
        "\nDuckDB {} on the same SQLite file (fiscal year to date, {} to {}; load {:.1} s):",
        duck["how"].as_str().unwrap_or(""),
        from,
        today,
        duck["load_s"].as_f64().unwrap_or(f64::NAN)
    );
    println!("{:<34} {:>10} {:>8}", "Figure", "DuckDB ms", "equal");
    let mut all_equal = true;
    for (name, key, heard) in [
        (
            "Responses and positive per service",
            "by_service",
            &by_service,
        ),
        (
            "Responses and positive per channel",
            "by_channel",
            &by_channel,
        ),
        ("Weekly trend (local weeks)", "weekly", &weekly),
    ] {
        let equal = &duck_map(key) == heard;
        all_equal &= equal;
        println!(
            "{name:<34} {:>10.1} {:>8}",
            duck[format!("{key}_ms")].as_f64().unwrap_or(f64::NAN),
            if equal { "yes" } else { "NO" }
        );
    }
    // The events page: counts per week and type, measure counts exactly, sums to rounding, quantiles within the
    // sketch's stated error.
    let week_date = |ms: i64| zone.date(ms).to_string();
    let heard_counts: BTreeMap<(String, String), u64> = event_counts
        .iter()
        .map(|c| ((week_date(c.week), c.event_type.clone()), c.events as u64))
        .collect();
    let duck_counts: BTreeMap<(String, String), u64> = duck["event_counts"]
        .as_array()
        .map(|rows| {
            rows.iter()
                .map(|r| {
                    (
                        (
                            r[0].as_str().unwrap_or_default().to_string(),
                            r[1].as_str().unwrap_or_default().to_string(),
                        ),
                        r[2].as_u64().unwrap_or(0),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    let counts_equal = heard_counts == duck_counts && !heard_counts.is_empty();
    all_equal &= counts_equal;
    println!(
        "{:<34} {:>10.1} {:>8}",
        "Events per week and type",
        duck["event_counts_ms"].as_f64().unwrap_or(f64::NAN),
        if counts_equal { "yes" } else { "NO" }
    );
    let err = heard_domain::sketch::RELATIVE_ERROR;
    let mut worst = 0.0f64;
    let duck_measures = duck["event_measures"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let mut measures_ok = duck_measures.len() == event_measures.len() && !event_measures.is_empty();
    for r in &duck_measures {
        let key = (
            r[0].as_str().unwrap_or_default(),
            r[1].as_str().unwrap_or_default(),
            r[2].as_str().unwrap_or_default(),
        );
        let Some(h) = event_measures.iter().find(|m| {
            (
                week_date(m.week).as_str(),
                m.event_type.as_str(),
                m.measure.as_str(),
            ) == key
        }) else {
            measures_ok = false;
            continue;
        };
        let f = |i: usize| r[i].as_f64().unwrap_or(f64::NAN);
        let rel = |a: f64, b: f64| (a - b).abs() / b.abs().max(1e-12);
        worst = worst.max(rel(h.median, f(5))).max(rel(h.p90, f(6)));
        measures_ok &= r[3].as_u64() == Some(h.n as u64)
            && rel(h.sum, f(4)) < 1e-9
            && rel(h.median, f(5)) <= err + 1e-12
            && rel(h.p90, f(6)) <= err + 1e-12;
    }
    all_equal &= measures_ok;
    println!(
        "{:<34} {:>10.1} {:>8}",
        "Event measures per week and type",
        duck["event_measures_ms"].as_f64().unwrap_or(f64::NAN),
        if measures_ok { "yes" } else { "NO" }
    );
    println!(
        "  ({} weeks x types; counts and sums equal, medians and 90th percentiles at most {:.3}% from DuckDB's \
         exact ones, limit {}%)",
        duck_measures.len(),
        100.0 * worst,
        100.0 * err
    );
    let (n, pos) = by_service
        .values()
        .fold((0, 0), |acc, v| (acc.0 + v.0, acc.1 + v.1));
    println!(
        "% positive, all services: {:.2}% of {n} (Heard's rollups and DuckDB {}).",
        100.0 * pos as f64 / n.max(1) as f64,
        if all_equal { "agree" } else { "DISAGREE" }
    );
    if !all_equal {
        bail!("DuckDB and Heard's rollups give different figures");
    }
    Ok(())
}

fn hex_upper(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02X}")).collect()
}
