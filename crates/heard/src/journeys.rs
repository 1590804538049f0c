//! Journeys out of Heard: `heard export events` writes an organization's event log (its events, and its responses
//! and signals as the activities `survey_answered` and `feedback_given`) as OCEL 2.0 JSON, OCEL 2.0 SQLite or XES,
//! streamed from the database with a cursor; `heard bench journeys` times Heard's directly-follows graph beside
//! PM4Py's `discover_dfg` on the same generated log and checks both give the same counts.
//!
//! In OCEL every event relates to its objects: a `person` (the keyed person hash) and a `case` (the keyed case
//! number hash) when known; flattening on `person` gives the case-centric log. XES has one trace per person; events
//! of nobody known are left out of it (they stay in OCEL).
//!
//! The writers are our own rather than the `process_mining` crate's (0.6, checked): its OCEL JSON and XES writers
//! take its in-memory `OCEL` and `EventLog` structures, which for a million events is a second full copy of the log
//! with owned strings per event and attribute, where these stream rows from the database to the file in constant
//! memory; it also added about a CPU-minute to every clean build for some 150 lines of serialisation. PM4Py reads
//! every file these write in the tests (`tests/app/journeys.rs`), which checks the layouts independently.
//! The OCEL SQLite layout is written through sqlx (the crate's `ocel-sqlite` feature clashes with sqlx's SQLite).

use anyhow::{Context, Result, bail};
use chrono::{DateTime, NaiveDate, SecondsFormat};
use clap::{Args, ValueEnum};
use futures_util::TryStreamExt;
use heard_insight::journeys::{Dfg, EventLogBuilder};
use heard_store::event_log::{LogOrder, LogQuery, LogRow};
use heard_store::{Store, StoreOptions};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::settings::StorageArgs;

/// The event-log formats.
#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum EventFormat {
    /// OCEL 2.0 JSON.
    OcelJson,
    /// OCEL 2.0 SQLite (the relational layout of the OCEL 2.0 specification).
    OcelSqlite,
    /// XES (IEEE 1849), one trace per person.
    Xes,
}

#[derive(Args)]
pub struct ExportEventsArgs {
    #[command(flatten)]
    storage: StorageArgs,
    /// The organization's short name.
    #[arg(long)]
    org: String,
    #[arg(long, value_enum)]
    format: EventFormat,
    /// From this local day (YYYY-MM-DD, in the organization's time zone), included.
    #[arg(long)]
    from: Option<NaiveDate>,
    /// To this local day, included.
    #[arg(long)]
    to: Option<NaiveDate>,
    /// The file to write (written whole or not at all: a partial file is removed).
    #[arg(long)]
    out: PathBuf,
}

pub use heard_server::journeys::channel_of;

/// ISO 8601 in UTC with milliseconds, as OCEL and XES take it.
fn iso(ms: i64) -> String {
    DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(SecondsFormat::Millis, false)
}

fn person_object(key: &str) -> String {
    format!("person:{key}")
}

fn case_object(key: &str) -> String {
    format!("case:{key}")
}

/// The attributes every event carries when known, in this order.
const EVENT_ATTRIBUTES: [&str; 3] = ["channel", "touchpoint", "service"];

fn attributes(row: &LogRow) -> [(&'static str, Option<&str>); 3] {
    [
        ("channel", channel_of(row)),
        ("touchpoint", row.touchpoint.as_deref()),
        ("service", row.service.as_deref()),
    ]
}

pub async fn export_events(args: ExportEventsArgs) -> Result<()> {
    let store = Store::open(&args.storage.database_url()?, StoreOptions::default()).await?;
    let org = store.org_by_slug(&args.org).await.map_err(|_| {
        anyhow::anyhow!("--org: no organization with the short name '{}'", args.org)
    })?;
    let (from, to) = range(org.time_zone, args.from, args.to)?;
    let partial = partial_path(&args.out)?;
    let _ = std::fs::remove_file(&partial);
    let order = if args.format == EventFormat::Xes {
        LogOrder::Person
    } else {
        LogOrder::Time
    };
    let rows = store.log_rows(org.id, LogQuery { from, to, order });
    let written = match args.format {
        EventFormat::OcelJson => write_ocel_json(rows, &partial).await,
        EventFormat::Xes => write_xes(rows, &partial).await,
        EventFormat::OcelSqlite => write_ocel_sqlite(rows, &partial).await,
    };
    let n = match written {
        Ok(n) => n,
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            return Err(e);
        }
    };
    std::fs::rename(&partial, &args.out)
        .with_context(|| format!("moving the export to {}", args.out.display()))?;
    eprintln!(
        "Exported {n} events of {} to {}.",
        org.name,
        args.out.display()
    );
    store.close().await;
    Ok(())
}

pub(crate) fn range(
    zone: heard_domain::Zone,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
) -> Result<(i64, i64)> {
    if let (Some(f), Some(t)) = (from, to)
        && f > t
    {
        bail!("--from {f} is after --to {t}: give the earlier day first");
    }
    let start = from.map_or(i64::MIN, |d| zone.day_start_ms(d));
    let end = to.map_or(i64::MAX, |d| zone.days_ms(d, d).1);
    Ok((start, end))
}

/// `FILE.partial` beside FILE, written first and renamed when complete.
fn partial_path(out: &Path) -> Result<PathBuf> {
    let name = out
        .file_name()
        .with_context(|| format!("--out {}: give a file name", out.display()))?;
    let mut partial = name.to_os_string();
    partial.push(".partial");
    Ok(out.with_file_name(partial))
}

type Rows<'a> = futures_util::stream::BoxStream<'a, heard_store::Result<LogRow>>;

fn create(path: &Path) -> Result<std::io::BufWriter<std::fs::File>> {
    Ok(std::io::BufWriter::with_capacity(
        1 << 16,
        std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?,
    ))
}

#[derive(Serialize)]
struct OcelAttribute<'a> {
    name: &'a str,
    value: &'a str,
}

#[derive(Serialize)]
struct OcelRelationship<'a> {
    #[serde(rename = "objectId")]
    object_id: &'a str,
    qualifier: &'a str,
}

#[derive(Serialize)]
struct OcelEvent<'a> {
    id: String,
    #[serde(rename = "type")]
    event_type: &'a str,
    time: String,
    attributes: Vec<OcelAttribute<'a>>,
    relationships: Vec<OcelRelationship<'a>>,
}

#[derive(Serialize)]
struct OcelTypeAttribute<'a> {
    name: &'a str,
    #[serde(rename = "type")]
    value_type: &'a str,
}

#[derive(Serialize)]
struct OcelType<'a> {
    name: &'a str,
    attributes: Vec<OcelTypeAttribute<'a>>,
}

/// OCEL 2.0 JSON: `events` first (streamed), then `objects`, `objectTypes` and `eventTypes`, which are known only
/// at the end (the specification's keys are a JSON object's, in any order).
async fn write_ocel_json(mut rows: Rows<'_>, path: &Path) -> Result<u64> {
    let mut out = create(path)?;
    let mut persons: BTreeSet<String> = BTreeSet::new();
    let mut cases: BTreeSet<String> = BTreeSet::new();
    let mut types: BTreeSet<String> = BTreeSet::new();
    out.write_all(b"{\"events\":[")?;
    let mut n = 0u64;
    while let Some(row) = rows.try_next().await? {
        if n > 0 {
            out.write_all(b",")?;
        }
        let person = row.person_key.as_deref().map(person_object);
        let case = row.reference_key.as_deref().map(case_object);
        let mut relationships = Vec::new();
        if let Some(p) = &person {
            relationships.push(OcelRelationship {
                object_id: p,
                qualifier: "person",
            });
        }
        if let Some(c) = &case {
            relationships.push(OcelRelationship {
                object_id: c,
                qualifier: "case",
            });
        }
        let e = OcelEvent {
            id: row.id.to_string(),
            event_type: &row.activity,
            time: iso(row.occurred_at),
            attributes: attributes(&row)
                .into_iter()
                .filter_map(|(name, v)| v.map(|value| OcelAttribute { name, value }))
                .collect(),
            relationships,
        };
        serde_json::to_writer(&mut out, &e)?;
        if !types.contains(&row.activity) {
            types.insert(row.activity.clone());
        }
        if let Some(p) = person {
            persons.insert(p);
        }
        if let Some(c) = case {
            cases.insert(c);
        }
        n += 1;
    }
    out.write_all(b"],\"objects\":[")?;
    let objects = persons
        .iter()
        .map(|id| (id, "person"))
        .chain(cases.iter().map(|id| (id, "case")));
    for (i, (id, kind)) in objects.enumerate() {
        if i > 0 {
            out.write_all(b",")?;
        }
        serde_json::to_writer(
            &mut out,
            &serde_json::json!({"id": id, "type": kind, "attributes": [], "relationships": []}),
        )?;
    }
    out.write_all(b"],\"objectTypes\":")?;
    let object_types = ["person", "case"].map(|name| OcelType {
        name,
        attributes: vec![],
    });
    serde_json::to_writer(&mut out, &object_types)?;
    out.write_all(b",\"eventTypes\":")?;
    let event_types: Vec<OcelType> = types
        .iter()
        .map(|name| OcelType {
            name,
            attributes: EVENT_ATTRIBUTES
                .iter()
                .map(|a| OcelTypeAttribute {
                    name: a,
                    value_type: "string",
                })
                .collect(),
        })
        .collect();
    serde_json::to_writer(&mut out, &event_types)?;
    out.write_all(b"}")?;
    out.into_inner().map_err(|e| e.into_error())?.sync_all()?;
    Ok(n)
}

/// Text for an XML attribute value.
fn xml_escape(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.contains(['&', '<', '>', '"', '\'', '\n', '\r', '\t']) {
        return s.into();
    }
    let mut o = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&apos;"),
            '\n' => o.push_str("&#10;"),
            '\r' => o.push_str("&#13;"),
            '\t' => o.push_str("&#9;"),
            c => o.push(c),
        }
    }
    o.into()
}

/// XES (IEEE 1849-2016): the concept, time and identity extensions, one trace per person (rows arrive by person,
/// then time), events with `concept:name` (the activity), `time:timestamp`, `identity:id` and the channel,
/// touchpoint and service when known.
async fn write_xes(mut rows: Rows<'_>, path: &Path) -> Result<u64> {
    let mut out = create(path)?;
    out.write_all(
        br#"<?xml version="1.0" encoding="UTF-8"?>
<log xes.version="1849-2016" xes.features="" xmlns="http://www.xes-standard.org/">
<extension name="Concept" prefix="concept" uri="http://www.xes-standard.org/concept.xesext"/>
<extension name="Time" prefix="time" uri="http://www.xes-standard.org/time.xesext"/>
<extension name="Identity" prefix="identity" uri="http://www.xes-standard.org/identity.xesext"/>
<global scope="trace"><string key="concept:name" value="__INVALID__"/></global>
<global scope="event"><string key="concept:name" value="__INVALID__"/><date key="time:timestamp" value="1970-01-01T00:00:00.000+00:00"/></global>
<classifier name="Activity" keys="concept:name"/>
<string key="concept:name" value="Heard journeys"/>
"#,
    )?;
    let mut current: Option<String> = None;
    let mut n = 0u64;
    while let Some(row) = rows.try_next().await? {
        let Some(person) = row.person_key.as_deref() else {
            continue;
        };
        if current.as_deref() != Some(person) {
            if current.is_some() {
                out.write_all(b"</trace>\n")?;
            }
            writeln!(
                out,
                "<trace><string key=\"concept:name\" value=\"{}\"/>",
                xml_escape(&person_object(person))
            )?;
            current = Some(person.to_string());
        }
        write!(
            out,
            "<event><string key=\"concept:name\" value=\"{}\"/><date key=\"time:timestamp\" value=\"{}\"/>\
             <id key=\"identity:id\" value=\"{}\"/>",
            xml_escape(&row.activity),
            iso(row.occurred_at),
            row.id
        )?;
        for (name, value) in attributes(&row) {
            if let Some(v) = value {
                write!(
                    out,
                    "<string key=\"heard:{name}\" value=\"{}\"/>",
                    xml_escape(v)
                )?;
            }
        }
        if let Some(r) = &row.reference_key {
            write!(
                out,
                "<string key=\"heard:case\" value=\"{}\"/>",
                xml_escape(&case_object(r))
            )?;
        }
        out.write_all(b"</event>\n")?;
        n += 1;
    }
    if current.is_some() {
        out.write_all(b"</trace>\n")?;
    }
    out.write_all(b"</log>\n")?;
    out.into_inner().map_err(|e| e.into_error())?.sync_all()?;
    Ok(n)
}

/// A table-name-safe form of an event type: letters, digits and underscores, made unique.
fn type_map(name: &str, taken: &HashSet<String>) -> String {
    let base: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    let mut m = base.clone();
    let mut i = 2;
    while taken.contains(&m.to_ascii_lowercase()) {
        m = format!("{base}_{i}");
        i += 1;
    }
    m
}

/// The OCEL 2.0 relational layout, in a new SQLite file: `event`, `object`, `event_object`, `object_object`,
/// `event_map_type`, `object_map_type`, one `event_<type>` table per event type (id, time, channel, touchpoint,
/// service) and one `object_<type>` table per object type.
async fn write_ocel_sqlite(mut rows: Rows<'_>, path: &Path) -> Result<u64> {
    use sqlx::Connection;
    use sqlx::sqlite::{
        SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqliteSynchronous,
    };
    let opts = SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Delete)
        .synchronous(SqliteSynchronous::Normal);
    let mut db = SqliteConnection::connect_with(&opts)
        .await
        .with_context(|| format!("creating {}", path.display()))?;
    for ddl in [
        "CREATE TABLE event (ocel_id TEXT PRIMARY KEY, ocel_type TEXT)",
        "CREATE TABLE event_map_type (ocel_type TEXT PRIMARY KEY, ocel_type_map TEXT)",
        "CREATE TABLE object (ocel_id TEXT PRIMARY KEY, ocel_type TEXT)",
        "CREATE TABLE object_map_type (ocel_type TEXT PRIMARY KEY, ocel_type_map TEXT)",
        "CREATE TABLE event_object (ocel_event_id TEXT, ocel_object_id TEXT, ocel_qualifier TEXT, \
         PRIMARY KEY (ocel_event_id, ocel_object_id, ocel_qualifier))",
        "CREATE TABLE object_object (ocel_source_id TEXT, ocel_target_id TEXT, ocel_qualifier TEXT, \
         PRIMARY KEY (ocel_source_id, ocel_target_id, ocel_qualifier))",
        "INSERT INTO object_map_type VALUES ('person', 'person'), ('case', 'case')",
        "CREATE TABLE object_person (ocel_id TEXT, ocel_time TIMESTAMP, ocel_changed_field TEXT)",
        "CREATE TABLE object_case (ocel_id TEXT, ocel_time TIMESTAMP, ocel_changed_field TEXT)",
    ] {
        sqlx::query(ddl).execute(&mut db).await?;
    }
    let mut maps: BTreeMap<String, String> = BTreeMap::new();
    let mut taken: HashSet<String> = HashSet::new();
    let mut n = 0u64;
    let mut batch: Vec<LogRow> = Vec::with_capacity(SQLITE_BATCH);
    let mut tx = db.begin().await?;
    while let Some(row) = rows.try_next().await? {
        if !maps.contains_key(&row.activity) {
            let m = type_map(&row.activity, &taken);
            taken.insert(m.to_ascii_lowercase());
            sqlx::query(&format!(
                "CREATE TABLE \"event_{m}\" (ocel_id TEXT PRIMARY KEY, ocel_time TIMESTAMP, channel TEXT, \
                 touchpoint TEXT, service TEXT)"
            ))
            .execute(&mut *tx)
            .await?;
            sqlx::query("INSERT INTO event_map_type VALUES ($1, $2)")
                .bind(&row.activity)
                .bind(&m)
                .execute(&mut *tx)
                .await?;
            maps.insert(row.activity.clone(), m);
        }
        batch.push(row);
        n += 1;
        if batch.len() == SQLITE_BATCH {
            insert_batch(&mut tx, &batch, &maps).await?;
            batch.clear();
        }
        if n.is_multiple_of(50_000) {
            tx.commit().await?;
            tx = db.begin().await?;
        }
    }
    insert_batch(&mut tx, &batch, &maps).await?;
    // Objects have no attributes: one row each in their type's table, at OCEL's initial time.
    for kind in ["person", "case"] {
        sqlx::query(&format!(
            "INSERT INTO object_{kind} SELECT ocel_id, $1, NULL FROM object WHERE ocel_type = $2"
        ))
        .bind(iso(0))
        .bind(kind)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    db.close().await?;
    Ok(n)
}

/// Events per multi-row INSERT (at most 5 parameters each: well under SQLite's 32,766).
const SQLITE_BATCH: usize = 1000;

/// Writes a batch of events with one INSERT per table.
async fn insert_batch(
    tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
    batch: &[LogRow],
    maps: &BTreeMap<String, String>,
) -> Result<()> {
    use sqlx::QueryBuilder;
    if batch.is_empty() {
        return Ok(());
    }
    let mut q = QueryBuilder::<sqlx::Sqlite>::new("INSERT INTO event ");
    q.push_values(batch, |mut b, r| {
        b.push_bind(r.id.to_string()).push_bind(r.activity.clone());
    });
    q.build().execute(&mut **tx).await?;
    for (activity, map) in maps {
        let of_type: Vec<&LogRow> = batch.iter().filter(|r| &r.activity == activity).collect();
        if of_type.is_empty() {
            continue;
        }
        let mut q = QueryBuilder::<sqlx::Sqlite>::new(format!("INSERT INTO \"event_{map}\" "));
        q.push_values(of_type, |mut b, r| {
            let [channel, touchpoint, service] = attributes(r).map(|a| a.1.map(str::to_string));
            b.push_bind(r.id.to_string())
                .push_bind(iso(r.occurred_at))
                .push_bind(channel)
                .push_bind(touchpoint)
                .push_bind(service);
        });
        q.build().execute(&mut **tx).await?;
    }
    let relations: Vec<(String, String, &str)> = batch
        .iter()
        .flat_map(|r| {
            let id = r.id.to_string();
            [
                r.person_key
                    .as_deref()
                    .map(|k| (id.clone(), person_object(k), "person")),
                r.reference_key
                    .as_deref()
                    .map(|k| (id.clone(), case_object(k), "case")),
            ]
        })
        .flatten()
        .collect();
    if relations.is_empty() {
        return Ok(());
    }
    let mut q = QueryBuilder::<sqlx::Sqlite>::new("INSERT OR IGNORE INTO object ");
    q.push_values(&relations, |mut b, (_, object, kind)| {
        b.push_bind(object.clone()).push_bind(*kind);
    });
    q.build().execute(&mut **tx).await?;
    let mut q = QueryBuilder::<sqlx::Sqlite>::new("INSERT INTO event_object ");
    q.push_values(&relations, |mut b, (event, object, kind)| {
        b.push_bind(event.clone())
            .push_bind(object.clone())
            .push_bind(*kind);
    });
    q.build().execute(&mut **tx).await?;
    Ok(())
}

/// A DFG as PM4Py's `discover_dfg` gives it: (from, to) → count, and start and end activity counts.
type DfgCounts = (
    BTreeMap<(String, String), u64>,
    BTreeMap<String, u64>,
    BTreeMap<String, u64>,
);

/// Heard's DFG in PM4Py's shape.
pub fn dfg_counts(d: &Dfg) -> DfgCounts {
    (
        d.edges
            .iter()
            .map(|e| ((e.from.clone(), e.to.clone()), e.count))
            .collect(),
        d.start_activities.iter().cloned().collect(),
        d.end_activities.iter().cloned().collect(),
    )
}

/// What `scripts/check-journeys.py` writes.
#[derive(serde::Deserialize)]
pub struct Pm4pyResult {
    pub pm4py: String,
    pub seconds: f64,
    pub events: u64,
    pub cases: u64,
    pub dfg: Vec<(String, String, u64)>,
    pub start: BTreeMap<String, u64>,
    pub end: BTreeMap<String, u64>,
}

/// The oracle script, embedded so the bench runs from anywhere.
pub const CHECK_SCRIPT: &str = include_str!("../../../scripts/check-journeys.py");

/// Runs the oracle on `file` (in `format`), returning its result, or an error saying how to install PM4Py.
pub fn run_pm4py(python: &str, format: &str, file: &Path, repeat: u32) -> Result<Pm4pyResult> {
    let dir = tempfile::tempdir()?;
    let script = dir.path().join("check-journeys.py");
    std::fs::write(&script, CHECK_SCRIPT)?;
    let out = dir.path().join("pm4py.json");
    let status = std::process::Command::new(python)
        .arg(&script)
        .arg(format)
        .arg(file)
        .arg(&out)
        .arg("--repeat")
        .arg(repeat.to_string())
        .status()
        .with_context(|| format!("running {python}"))?;
    match status.code() {
        Some(0) => {}
        Some(3) => bail!(
            "PM4Py is not installed for {python}: install it with `{python} -m pip install pm4py` \
             (from PyPI; AGPL-3.0, so it is only ever run out of process, as the oracle)"
        ),
        _ => bail!("the PM4Py check failed ({status})"),
    }
    Ok(serde_json::from_str(&std::fs::read_to_string(&out)?)?)
}

#[derive(Args)]
pub struct BenchArgs {
    /// Events in the generated log (whole persons, so the count is about this).
    #[arg(long, default_value_t = 1_000_000)]
    events: usize,
    /// The generator's seed.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Timings per side; the best is kept.
    #[arg(long, default_value_t = 5)]
    repeat: u32,
    /// The Python that has PM4Py.
    #[arg(long, env = "HEARD_PYTHON", default_value = "python3")]
    python: String,
}

/// One generated event.
struct Generated {
    case: u32,
    activity: &'static str,
    time: i64,
    channel: &'static str,
}

/// A realistic benefits log: people start on the web, by phone or in an office; some call first; documents are
/// requested and received, sometimes more than once; some are asked again for information and call back; most
/// submit, most submissions are decided and most decisions paid; some answer a survey or give feedback. Returned
/// in time order, as a database would stream it.
fn generate(events: usize, seed: u64) -> (Vec<Generated>, u32) {
    use rand::{Rng, SeedableRng};
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut out: Vec<Generated> = Vec::with_capacity(events + 64);
    let year = 365 * 24 * 3_600_000i64;
    let base = 1_767_225_600_000i64; // 2026-01-01T00:00:00Z
    let mut case = 0u32;
    while out.len() < events {
        let mut t = base + rng.random_range(0..year);
        let push = |out: &mut Vec<Generated>,
                    t: &mut i64,
                    activity,
                    channel,
                    rng: &mut rand::rngs::StdRng| {
            // From a few minutes to a few days later; never the same millisecond twice in a case.
            *t += rng.random_range(60_000..4 * 24 * 3_600_000);
            out.push(Generated {
                case,
                activity,
                time: *t,
                channel,
            });
        };
        let first: f64 = rng.random();
        let channel = if first < 0.55 {
            "website"
        } else if first < 0.8 {
            push(&mut out, &mut t, "call", "phone", &mut rng);
            if rng.random_bool(0.7) {
                "website"
            } else {
                "in_person"
            }
        } else {
            push(&mut out, &mut t, "office_visit", "in_person", &mut rng);
            "in_person"
        };
        push(&mut out, &mut t, "application_started", channel, &mut rng);
        while rng.random_bool(0.45) {
            push(&mut out, &mut t, "document_requested", "email", &mut rng);
            if rng.random_bool(0.85) {
                push(
                    &mut out,
                    &mut t,
                    "document_received",
                    "postal_mail",
                    &mut rng,
                );
            }
        }
        while rng.random_bool(0.2) {
            push(
                &mut out,
                &mut t,
                "information_asked_again",
                "phone",
                &mut rng,
            );
            push(&mut out, &mut t, "call", "phone", &mut rng);
        }
        if rng.random_bool(0.85) {
            push(&mut out, &mut t, "application_submitted", channel, &mut rng);
            while rng.random_bool(0.3) {
                let (a, c) = if rng.random_bool(0.7) {
                    ("call", "phone")
                } else {
                    ("chat", "live_chat")
                };
                push(&mut out, &mut t, a, c, &mut rng);
            }
            push(
                &mut out,
                &mut t,
                "status_changed",
                "other_digital",
                &mut rng,
            );
            if rng.random_bool(0.8) {
                push(
                    &mut out,
                    &mut t,
                    "application_decided",
                    "postal_mail",
                    &mut rng,
                );
                if rng.random_bool(0.6) {
                    push(
                        &mut out,
                        &mut t,
                        "payment_issued",
                        "other_digital",
                        &mut rng,
                    );
                }
            }
        } else if rng.random_bool(0.5) {
            push(&mut out, &mut t, "call", "phone", &mut rng);
        }
        if rng.random_bool(0.3) {
            push(&mut out, &mut t, "survey_answered", "website", &mut rng);
        }
        if rng.random_bool(0.08) {
            push(&mut out, &mut t, "feedback_given", "social_media", &mut rng);
        }
        case += 1;
    }
    out.sort_by_key(|e| e.time);
    (out, case)
}

/// Heard's side, timed in three steps: interning the rows' strings (pushing them into the builder), sorting by
/// (case, time) with integer keys, and the DFG. Returns the DFG and the three times in seconds.
fn heard_dfg(rows: &[Generated], names: &[String]) -> (Dfg, [f64; 3]) {
    let t0 = std::time::Instant::now();
    let mut b = EventLogBuilder::with_capacity(rows.len());
    for r in rows {
        b.push(
            &names[r.case as usize],
            r.activity,
            r.time,
            Some(r.channel),
            None,
        );
    }
    let t1 = std::time::Instant::now();
    let log = b.build();
    let t2 = std::time::Instant::now();
    let dfg = log.directly_follows();
    let t3 = std::time::Instant::now();
    (
        dfg,
        [
            (t1 - t0).as_secs_f64(),
            (t2 - t1).as_secs_f64(),
            (t3 - t2).as_secs_f64(),
        ],
    )
}

pub fn bench(args: BenchArgs) -> Result<()> {
    if args.events == 0 {
        bail!("--events: give at least one event");
    }
    let (rows, cases) = generate(args.events, args.seed);
    let names: Vec<String> = (0..cases).map(|c| format!("p{c}")).collect();
    let dir = tempfile::tempdir()?;
    let csv_path = dir.path().join("log.csv");
    {
        let mut w = csv::Writer::from_path(&csv_path)?;
        w.write_record(["case", "activity", "time_ms"])?;
        for r in &rows {
            w.write_record([
                names[r.case as usize].as_str(),
                r.activity,
                &r.time.to_string(),
            ])?;
        }
        w.flush()?;
    }
    eprintln!(
        "Generated {} events of {cases} persons; timing Heard, then PM4Py ({} runs each, best kept).",
        rows.len(),
        args.repeat
    );
    // Each step's best over the runs (a noisy machine slows single runs, never speeds them up).
    let mut best = [f64::INFINITY; 3];
    let mut dfg = None;
    for _ in 0..args.repeat.max(1) {
        let (d, t) = heard_dfg(&rows, &names);
        for (b, t) in best.iter_mut().zip(t) {
            *b = b.min(t);
        }
        dfg = Some(d);
    }
    let dfg = dfg.expect("at least one run");
    let [intern, sort, count] = best;
    let pm = run_pm4py(&args.python, "csv", &csv_path, args.repeat)?;
    let (edges, start, end) = dfg_counts(&dfg);
    let pm_edges: BTreeMap<(String, String), u64> = pm
        .dfg
        .iter()
        .map(|(a, b, n)| ((a.clone(), b.clone()), *n))
        .collect();
    let same = edges == pm_edges && start == pm.start && end == pm.end;
    let activities: BTreeSet<&str> = edges
        .keys()
        .flat_map(|(a, b)| [a.as_str(), b.as_str()])
        .chain(start.keys().map(String::as_str))
        .collect();
    let heard = intern + sort + count;
    println!(
        "Directly-follows graph over {} events, {} cases, {} activities ({} edges):",
        rows.len(),
        cases,
        activities.len(),
        edges.len()
    );
    println!("| what | seconds |");
    println!("| --- | ---: |");
    println!("| Heard: intern the strings (case, activity, channel) into columns | {intern:.3} |");
    println!("| Heard: sort by (case, time) with integer keys | {sort:.3} |");
    println!("| Heard: DFG with counts, mean and median durations, start and end | {count:.3} |");
    println!("| Heard: all three | {heard:.3} |");
    println!(
        "| PM4Py {} `discover_dfg` (DataFrame already loaded) | {:.3} |",
        pm.pm4py, pm.seconds
    );
    println!(
        "| ratio PM4Py / Heard, all three (target at least 5) | {:.1}× |",
        pm.seconds / heard
    );
    println!(
        "| ratio PM4Py / Heard, sort and DFG (strings already interned) | {:.1}× |",
        pm.seconds / (sort + count)
    );
    println!(
        "Counts: {} edges, {} start and {} end activities {} PM4Py's ({} events, {} cases read by PM4Py).",
        edges.len(),
        start.len(),
        end.len(),
        if same {
            "identical to"
        } else {
            "DIFFERENT from"
        },
        pm.events,
        pm.cases
    );
    if !same {
        for (k, n) in &edges {
            if pm_edges.get(k) != Some(n) {
                eprintln!(
                    "  {} -> {}: Heard {n}, PM4Py {:?}",
                    k.0,
                    k.1,
                    pm_edges.get(k)
                );
            }
        }
        bail!("Heard's and PM4Py's directly-follows counts differ");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_text_is_escaped() {
        assert_eq!(xml_escape("plain"), "plain");
        assert_eq!(
            xml_escape("a<b & \"c\"\n"),
            "a&lt;b &amp; &quot;c&quot;&#10;"
        );
    }

    #[test]
    fn event_type_tables_are_safe_and_unique() {
        let mut taken = HashSet::new();
        let a = type_map("call", &taken);
        taken.insert(a.to_ascii_lowercase());
        assert_eq!(a, "call");
        let b = type_map("Call", &taken);
        assert_eq!(b, "Call_2");
        assert_eq!(
            type_map("x\"; DROP TABLE event; --", &taken),
            "x___DROP_TABLE_event____"
        );
    }

    #[test]
    fn days_are_local_and_in_order() {
        let zone = heard_domain::Zone::parse("America/New_York").unwrap();
        let d = |s: &str| Some(s.parse::<NaiveDate>().unwrap());
        let (from, to) = range(zone, d("2026-10-01"), d("2026-10-01")).unwrap();
        // Midnight in New York is 04:00 UTC in October; one whole local day.
        assert_eq!(iso(from), "2026-10-01T04:00:00.000+00:00");
        assert_eq!(to - from, 24 * 3_600_000);
        assert_eq!(range(zone, None, None).unwrap(), (i64::MIN, i64::MAX));
        let e = range(zone, d("2026-10-02"), d("2026-10-01")).unwrap_err();
        assert!(
            e.to_string()
                .contains("--from 2026-10-02 is after --to 2026-10-01")
        );
        assert_eq!(
            partial_path(Path::new("out/log.xes")).unwrap(),
            Path::new("out/log.xes.partial")
        );
    }

    #[test]
    fn contact_events_have_a_channel_without_a_touchpoint() {
        let row = |activity: &str, channel: Option<&str>| LogRow {
            id: uuid::Uuid::nil(),
            source: heard_store::event_log::LogSource::Event,
            activity: activity.into(),
            occurred_at: 0,
            person_key: None,
            reference_key: None,
            channel: channel.map(str::to_string),
            touchpoint: None,
            service: None,
            step: None,
            initiation: None,
            survey_id: None,
            trust_positive: None,
        };
        assert_eq!(channel_of(&row("call", None)), Some("phone"));
        assert_eq!(
            channel_of(&row("call", Some("automated_phone"))),
            Some("automated_phone")
        );
        assert_eq!(channel_of(&row("office_visit", None)), Some("in_person"));
        assert_eq!(channel_of(&row("application_started", None)), None);
    }

    #[test]
    fn the_generated_log_is_in_time_order_with_repeats() {
        let (rows, cases) = generate(5_000, 7);
        assert!(rows.len() >= 5_000);
        assert!(rows.windows(2).all(|w| w[0].time <= w[1].time));
        let calls_per_case =
            rows.iter().filter(|r| r.activity == "call").count() as f64 / cases as f64;
        assert!(calls_per_case > 0.3, "{calls_per_case}");
        assert!(rows.iter().any(|r| r.activity == "information_asked_again"));
    }
}
