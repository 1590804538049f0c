//! `heard export parquet`: an organization's responses, signals and events as Apache Parquet files, for the engines
//! an agency moves to when one database is no longer enough (Spark, DuckDB, BigQuery, Snowflake, Redshift, Athena).
//!
//! Files, in `--out DIR` (each written as `NAME.partial` and renamed when complete):
//!
//! - `responses.parquet`, one row per response: its ids and the English names of its survey, service and
//!   touchpoint; `channel` and `language` codes; `trust` and `trust_positive` (the A-11 trust figures the dashboards
//!   use); one column per A-11 driver, `a11_satisfaction` .. `a11_employee`, holding the numeric answer of the
//!   question playing that part in the version the response answered (an agreement scale 1-5 or thumbs 1/0), so the
//!   drivers line up across surveys and versions whatever each question's id; `sentiment` and `themes` (LIST of
//!   theme ids) of its free text; `urgent`; and `person_key`.
//! - `response_answers.parquet`, one row per answer ("tidy"): `response_id`, `submitted_at`, `survey_id`,
//!   `survey_version`, `question_id`, the question's English wording, kind and A-11 role in that version, `value`
//!   (an option's code, yes/no, a number as text, or the redacted text), `value_number` for numeric answers, and a
//!   free-text answer's `sentiment`, `sentiment_score` and `themes`. Questions differ between surveys and versions,
//!   so they are rows here rather than columns: a multiple-choice answer is one row per chosen option (count
//!   respondents with `COUNT(DISTINCT response_id)`).
//! - `signals.parquet`, one row per signal: times, source, author, service, touchpoint and its channel, url, rating,
//!   language, the redacted `text` (a transcript's customer turns), `turns` (JSON, redacted), the text engine's
//!   `sentiment`, `sentiment_score`, `themes`, `intent`, `emotions`, `urgency` (LISTs of codes), `urgent`, `person_key`.
//! - `events.parquet`, one row per event: times, `type`, `source`, service, touchpoint, `channel` (the touchpoint's,
//!   or the one a call, chat or office visit implies), `person_key`, `reference_key` (the keyed hash of a case
//!   number), `measures` (MAP of measure name to a number of seconds or a count) and `attributes` (JSON, strings
//!   redacted).
//!
//! Types: instants are `INT64 TIMESTAMP(MILLIS, UTC)`; ids are `STRING` in their canonical form (Spark and BigQuery
//! do not read the `UUID` logical type); lists are 3-level `LIST`s and maps `MAP`s as the format specifies.
//!
//! Only what analytics tables hold goes out, as in the CSV export: never contact details (they are sealed apart and
//! not read), free text only redacted, people and cases only as keyed hashes (`person_key`, `reference_key`), and
//! not an event's `external_id` (a source system's key, which can be a case number). Reads are keyset pages of the
//! store (`Store::extract_*`); rows are buffered up to a row group of `ROWS_PER_GROUP` and written with Snappy
//! compression (`crate::columnar`), so memory stays bounded whatever the organization's size.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use chrono::NaiveDate;
use clap::{Args, ValueEnum};
use heard_domain::survey::{A11Role, Question, SurveyDefinition};
use heard_domain::{OrgId, SurveyId};
use heard_store::extract::{ExtractEvent, ExtractKind, ExtractResponse, TimeRange};
use heard_store::inbox::InboxSignal;
use heard_store::{Store, StoreOptions};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::Value as Json;
use uuid::Uuid;

use crate::columnar::Table;
use crate::settings::StorageArgs;

/// Rows to a row group: large enough for engines to read column chunks efficiently, small enough that a row group
/// of signals' text stays in tens of megabytes.
pub const ROWS_PER_GROUP: usize = 65_536;
/// Rows read from the store at a time.
const PAGE: i64 = 2_000;

/// Which tables to export.
#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum Kind {
    /// `responses.parquet` and `response_answers.parquet`.
    Responses,
    /// `signals.parquet`.
    Signals,
    /// `events.parquet`.
    Events,
    /// All four files.
    All,
}

#[derive(Args)]
pub struct ExportParquetArgs {
    #[command(flatten)]
    storage: StorageArgs,
    /// The organization's short name.
    #[arg(long)]
    org: String,
    /// The directory to write the files in (made if missing; files of the same names are replaced).
    #[arg(long)]
    out: PathBuf,
    /// Which files to write.
    #[arg(long, value_enum, default_value = "all")]
    kind: Kind,
    /// From this local day (YYYY-MM-DD, in the organization's time zone), included.
    #[arg(long, alias = "since")]
    from: Option<NaiveDate>,
    /// To this local day, included.
    #[arg(long, alias = "until")]
    to: Option<NaiveDate>,
}

/// `responses.parquet`'s schema.
pub const RESPONSES_SCHEMA: &str = "message response {
    REQUIRED BYTE_ARRAY response_id (STRING);
    REQUIRED INT64 submitted_at (TIMESTAMP(MILLIS,true));
    REQUIRED BYTE_ARRAY survey_id (STRING);
    REQUIRED BYTE_ARRAY survey (STRING);
    REQUIRED INT32 survey_version;
    REQUIRED BYTE_ARRAY service_id (STRING);
    OPTIONAL BYTE_ARRAY service (STRING);
    OPTIONAL BYTE_ARRAY touchpoint_id (STRING);
    OPTIONAL BYTE_ARRAY touchpoint (STRING);
    REQUIRED BYTE_ARRAY channel (STRING);
    REQUIRED BYTE_ARRAY language (STRING);
    OPTIONAL BYTE_ARRAY page_path (STRING);
    OPTIONAL INT32 trust;
    OPTIONAL BOOLEAN trust_positive;
    OPTIONAL INT32 a11_satisfaction;
    OPTIONAL INT32 a11_trust;
    OPTIONAL INT32 a11_effectiveness;
    OPTIONAL INT32 a11_ease;
    OPTIONAL INT32 a11_efficiency;
    OPTIONAL INT32 a11_transparency;
    OPTIONAL INT32 a11_employee;
    OPTIONAL BYTE_ARRAY sentiment (STRING);
    REQUIRED group themes (LIST) { REPEATED group list { REQUIRED BYTE_ARRAY element (STRING); } }
    REQUIRED BOOLEAN urgent;
    OPTIONAL BYTE_ARRAY person_key (STRING);
}";

/// `response_answers.parquet`'s schema.
pub const ANSWERS_SCHEMA: &str = "message response_answer {
    REQUIRED BYTE_ARRAY response_id (STRING);
    REQUIRED INT64 submitted_at (TIMESTAMP(MILLIS,true));
    REQUIRED BYTE_ARRAY survey_id (STRING);
    REQUIRED INT32 survey_version;
    REQUIRED BYTE_ARRAY question_id (STRING);
    OPTIONAL BYTE_ARRAY question (STRING);
    OPTIONAL BYTE_ARRAY question_kind (STRING);
    OPTIONAL BYTE_ARRAY a11_role (STRING);
    OPTIONAL BYTE_ARRAY value (STRING);
    OPTIONAL INT64 value_number;
    OPTIONAL BYTE_ARRAY sentiment (STRING);
    OPTIONAL DOUBLE sentiment_score;
    REQUIRED group themes (LIST) { REPEATED group list { REQUIRED BYTE_ARRAY element (STRING); } }
}";

/// `signals.parquet`'s schema.
pub const SIGNALS_SCHEMA: &str = "message signal {
    REQUIRED BYTE_ARRAY signal_id (STRING);
    REQUIRED INT64 occurred_at (TIMESTAMP(MILLIS,true));
    REQUIRED INT64 received_at (TIMESTAMP(MILLIS,true));
    REQUIRED BYTE_ARRAY source (STRING);
    REQUIRED BYTE_ARRAY author (STRING);
    OPTIONAL BYTE_ARRAY service_id (STRING);
    OPTIONAL BYTE_ARRAY service (STRING);
    OPTIONAL BYTE_ARRAY touchpoint_id (STRING);
    OPTIONAL BYTE_ARRAY touchpoint (STRING);
    OPTIONAL BYTE_ARRAY channel (STRING);
    OPTIONAL BYTE_ARRAY url (STRING);
    OPTIONAL INT32 rating;
    REQUIRED BYTE_ARRAY language (STRING);
    REQUIRED BYTE_ARRAY text (STRING);
    OPTIONAL BYTE_ARRAY turns (JSON);
    OPTIONAL BYTE_ARRAY sentiment (STRING);
    OPTIONAL DOUBLE sentiment_score;
    REQUIRED group themes (LIST) { REPEATED group list { REQUIRED BYTE_ARRAY element (STRING); } }
    OPTIONAL BYTE_ARRAY intent (STRING);
    REQUIRED group emotions (LIST) { REPEATED group list { REQUIRED BYTE_ARRAY element (STRING); } }
    REQUIRED group urgency (LIST) { REPEATED group list { REQUIRED BYTE_ARRAY element (STRING); } }
    REQUIRED BOOLEAN urgent;
    OPTIONAL BYTE_ARRAY person_key (STRING);
}";

/// `events.parquet`'s schema.
pub const EVENTS_SCHEMA: &str = "message event {
    REQUIRED BYTE_ARRAY event_id (STRING);
    REQUIRED INT64 occurred_at (TIMESTAMP(MILLIS,true));
    REQUIRED INT64 received_at (TIMESTAMP(MILLIS,true));
    REQUIRED BYTE_ARRAY type (STRING);
    REQUIRED BYTE_ARRAY source (STRING);
    OPTIONAL BYTE_ARRAY service_id (STRING);
    OPTIONAL BYTE_ARRAY service (STRING);
    OPTIONAL BYTE_ARRAY touchpoint_id (STRING);
    OPTIONAL BYTE_ARRAY touchpoint (STRING);
    OPTIONAL BYTE_ARRAY channel (STRING);
    OPTIONAL BYTE_ARRAY person_key (STRING);
    OPTIONAL BYTE_ARRAY reference_key (STRING);
    REQUIRED group measures (MAP) { REPEATED group key_value {
        REQUIRED BYTE_ARRAY key (STRING); REQUIRED DOUBLE value; } }
    REQUIRED BYTE_ARRAY attributes (JSON);
}";

/// The organization's names, read once: what ids are called, and each survey version's questions.
#[derive(Default)]
pub struct Names {
    pub services: BTreeMap<Uuid, String>,
    /// A touchpoint's English name and channel code.
    pub touchpoints: BTreeMap<Uuid, (String, &'static str)>,
    pub surveys: BTreeMap<SurveyId, String>,
    pub versions: BTreeMap<(SurveyId, i32), SurveyDefinition>,
}

impl Names {
    pub async fn load(store: &Store, org: OrgId) -> Result<Names> {
        let mut names = Names {
            services: store
                .services(org)
                .await?
                .into_iter()
                .map(|s| (*s.id.as_uuid(), s.name.get("en").to_string()))
                .collect(),
            touchpoints: store
                .touchpoints(org)
                .await?
                .into_iter()
                .map(|t| {
                    (
                        *t.id.as_uuid(),
                        (t.name.get("en").to_string(), t.channel.key()),
                    )
                })
                .collect(),
            ..Names::default()
        };
        for s in store.surveys(org, None).await? {
            for v in store.survey_versions(org, s.id).await? {
                names.versions.insert((s.id, v.version), v.definition);
            }
            names.surveys.insert(s.id, s.name);
        }
        Ok(names)
    }

    fn service(&self, id: Option<Uuid>) -> Option<&str> {
        id.and_then(|id| self.services.get(&id)).map(String::as_str)
    }

    fn touchpoint(&self, id: Option<Uuid>) -> Option<&(String, &'static str)> {
        id.and_then(|id| self.touchpoints.get(&id))
    }
}

fn id(u: Option<Uuid>) -> Option<String> {
    u.map(|u| u.to_string())
}

/// The sentiment score (-1 to 1) and theme ids in one text's enrichment (`heard_text::Analysis` as stored).
fn sentiment_and_themes(e: &Json) -> (Option<f64>, Vec<&str>) {
    let themes = e["themes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| t["id"].as_str())
        .collect();
    (e["sentiment"]["score"].as_f64(), themes)
}

fn codes(e: &Json, key: &str) -> Vec<String> {
    e[key]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Json::as_str)
        .map(str::to_string)
        .collect()
}

/// Appends one response's row to `responses.parquet` and its answers' rows to `response_answers.parquet`.
pub fn write_response<W: Write + Send, A: Write + Send>(
    responses: &mut Table<W>,
    answers: &mut Table<A>,
    x: &ExtractResponse,
    names: &Names,
) -> Result<()> {
    let r = &x.response;
    let response_id = r.id.to_string();
    let survey_id = r.survey_id.to_string();
    let definition = names.versions.get(&(r.survey_id, r.survey_version));
    let question = |qid: &str| -> Option<&Question> { definition.and_then(|d| d.question(qid)) };
    let driver = |role: A11Role| -> Option<i32> {
        let q = definition?.questions.iter().find(|q| q.a11 == Some(role))?;
        r.answers.get(&q.id)?.as_number().map(|n| n as i32)
    };
    let tp = names.touchpoint(r.touchpoint_id.map(|t| *t.as_uuid()));
    let mut row = responses.row();
    row.val(response_id.as_str())
        .val(r.submitted_at)
        .val(survey_id.as_str())
        .val(
            names
                .surveys
                .get(&r.survey_id)
                .map(String::as_str)
                .unwrap_or(""),
        )
        .val(r.survey_version)
        .val(r.service_id.to_string().as_str())
        .opt(names.service(Some(*r.service_id.as_uuid())))
        .opt(r.touchpoint_id.map(|t| t.to_string()).as_deref())
        .opt(tp.map(|t| t.0.as_str()))
        .val(r.channel.as_str())
        .val(r.language.as_str())
        .opt(r.page_path.as_deref())
        .opt(r.trust.map(i32::from))
        .opt(r.trust_positive);
    for role in A11Role::V1_DRIVERS {
        row.opt(driver(role));
    }
    row.opt(r.sentiment.as_deref())
        .list(r.themes.iter().map(String::as_str))
        .val(r.urgent)
        .opt(x.person_key.as_deref());
    row.end()?;

    for (qid, value) in &r.answers {
        let q = question(qid);
        // Contact answers are never stored with the others; this keeps it so should a definition say otherwise.
        if q.is_some_and(|q| q.kind.is_contact()) {
            continue;
        }
        let enrichment = r.enrichment.as_ref().map(|e| &e[qid.as_str()]);
        let (score, themes) = enrichment.map(sentiment_and_themes).unwrap_or_default();
        let sentiment = enrichment.and_then(|e| e["sentiment"]["label"].as_str());
        let (texts, number): (Vec<String>, Option<i64>) = match value {
            heard_domain::response::AnswerValue::Number(n) => (vec![n.to_string()], Some(*n)),
            heard_domain::response::AnswerValue::Text(t) => (vec![t.clone()], None),
            heard_domain::response::AnswerValue::Many(v) if v.is_empty() => {
                (vec![String::new()], None)
            }
            heard_domain::response::AnswerValue::Many(v) => (v.clone(), None),
        };
        for text in &texts {
            let mut a = answers.row();
            a.val(response_id.as_str())
                .val(r.submitted_at)
                .val(survey_id.as_str())
                .val(r.survey_version)
                .val(qid.as_str())
                .opt(q.map(|q| q.prompt.get("en")))
                .opt(q.map(|q| q.kind.key()))
                .opt(q.and_then(|q| q.a11).map(A11Role::key))
                .opt((!text.is_empty()).then_some(text.as_str()))
                .opt(number)
                .opt(sentiment)
                .opt(score)
                .list(themes.iter().copied());
            a.end()?;
        }
    }
    Ok(())
}

/// Appends one signal's row to `signals.parquet`.
pub fn write_signal<W: Write + Send>(
    t: &mut Table<W>,
    s: &InboxSignal,
    names: &Names,
) -> Result<()> {
    let e: Json = s
        .enrichment
        .as_deref()
        .and_then(|e| serde_json::from_str(e).ok())
        .unwrap_or(Json::Null);
    let (score, themes) = sentiment_and_themes(&e);
    let tp = names.touchpoint(s.touchpoint_id);
    let mut row = t.row();
    row.val(s.id.to_string().as_str())
        .val(s.occurred_at)
        .val(s.received_at)
        .val(s.source.as_str())
        .val(s.author.as_str())
        .opt(id(s.service_id).as_deref())
        .opt(names.service(s.service_id))
        .opt(id(s.touchpoint_id).as_deref())
        .opt(tp.map(|t| t.0.as_str()))
        .opt(tp.map(|t| t.1))
        .opt(s.url.as_deref())
        .opt(s.rating.map(i32::from))
        .val(s.language.as_str())
        .val(s.text.as_str())
        .opt(s.turns.as_deref())
        .opt(s.sentiment.as_deref())
        .opt(score)
        .list(themes)
        .opt(e["intent"].as_str())
        .list(codes(&e, "emotions").iter().map(String::as_str))
        .list(codes(&e, "urgency").iter().map(String::as_str))
        .val(s.urgent)
        .opt(s.person_key.as_deref());
    row.end()?;
    Ok(())
}

/// Appends one event's row to `events.parquet`. Errors if its stored measures are not a JSON object of numbers.
pub fn write_event<W: Write + Send>(
    t: &mut Table<W>,
    e: &ExtractEvent,
    names: &Names,
) -> Result<()> {
    let measures: BTreeMap<String, f64> = serde_json::from_str(&e.measures)
        .with_context(|| format!("event {}: its stored measures are not numbers", e.id))?;
    let tp = names.touchpoint(e.touchpoint_id);
    let channel = tp
        .map(|t| t.1)
        .or_else(|| heard_server::journeys::channel_of_activity(&e.event_type));
    let mut row = t.row();
    row.val(e.id.to_string().as_str())
        .val(e.occurred_at)
        .val(e.received_at)
        .val(e.event_type.as_str())
        .val(e.source.as_str())
        .opt(id(e.service_id).as_deref())
        .opt(names.service(e.service_id))
        .opt(id(e.touchpoint_id).as_deref())
        .opt(tp.map(|t| t.0.as_str()))
        .opt(channel)
        .opt(e.person_key.as_deref())
        .opt(e.reference_key.as_deref())
        .map(measures.iter().map(|(k, v)| (k.as_str(), *v)))
        .val(e.attributes.as_str());
    row.end()?;
    Ok(())
}

/// A file being written as `NAME.partial` in the output directory.
struct Output {
    table: Table<std::io::BufWriter<std::fs::File>>,
    partial: PathBuf,
    path: PathBuf,
}

impl Output {
    fn create(dir: &Path, name: &str, schema: &str) -> Result<Output> {
        let path = dir.join(name);
        let partial = dir.join(format!("{name}.partial"));
        let file = std::fs::File::create(&partial)
            .with_context(|| format!("creating {}", partial.display()))?;
        Ok(Output {
            table: Table::new(
                std::io::BufWriter::with_capacity(1 << 20, file),
                schema,
                ROWS_PER_GROUP,
            )?,
            partial,
            path,
        })
    }

    /// Writes the footer and gives the file its name; returns the rows written.
    fn finish(self) -> Result<u64> {
        let rows = self.table.rows();
        let mut w = self.table.finish()?;
        w.flush()?;
        drop(w);
        std::fs::rename(&self.partial, &self.path)
            .with_context(|| format!("moving the export to {}", self.path.display()))?;
        Ok(rows)
    }
}

fn bar(total: i64, what: &str) -> ProgressBar {
    ProgressBar::new(total.max(0) as u64).with_style(
        ProgressStyle::with_template(&format!(
            "{what:<9} {{bar:40}} {{pos}}/{{len}} ({{per_sec}}, {{eta}} left)"
        ))
        .expect("valid"),
    )
}

pub async fn export_parquet(args: ExportParquetArgs) -> Result<()> {
    let store = Store::open(&args.storage.database_url()?, StoreOptions::default()).await?;
    let org = store.org_by_slug(&args.org).await.map_err(|_| {
        anyhow::anyhow!("--org: no organization with the short name '{}'", args.org)
    })?;
    let (from, to) = crate::journeys::range(org.time_zone, args.from, args.to)?;
    let range = TimeRange {
        from_ms: (from != i64::MIN).then_some(from),
        to_ms: (to != i64::MAX).then_some(to),
    };
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("--out {}: making the directory", args.out.display()))?;
    let names = Names::load(&store, org.id).await?;
    let all = args.kind == Kind::All;
    let mut partials = Vec::new();
    let result = async {
        if all || args.kind == Kind::Responses {
            let mut responses = Output::create(&args.out, "responses.parquet", RESPONSES_SCHEMA)?;
            let mut answers =
                Output::create(&args.out, "response_answers.parquet", ANSWERS_SCHEMA)?;
            partials.extend([responses.partial.clone(), answers.partial.clone()]);
            let bar = bar(
                store
                    .extract_count(org.id, ExtractKind::Responses, range)
                    .await?,
                "responses",
            );
            let mut after = None;
            loop {
                let page = store.extract_responses(org.id, range, after, PAGE).await?;
                let Some(last) = page.last() else { break };
                after = Some(*last.response.id.as_uuid());
                for r in &page {
                    write_response(&mut responses.table, &mut answers.table, r, &names)?;
                }
                bar.inc(page.len() as u64);
            }
            bar.finish_and_clear();
            let n = responses.finish()?;
            let a = answers.finish()?;
            eprintln!("responses.parquet: {n} responses; response_answers.parquet: {a} answers.");
        }
        if all || args.kind == Kind::Signals {
            let mut out = Output::create(&args.out, "signals.parquet", SIGNALS_SCHEMA)?;
            partials.push(out.partial.clone());
            let bar = bar(
                store
                    .extract_count(org.id, ExtractKind::Signals, range)
                    .await?,
                "signals",
            );
            let mut after = None;
            loop {
                let page = store.extract_signals(org.id, range, after, PAGE).await?;
                let Some(last) = page.last() else { break };
                after = Some(last.id);
                for s in &page {
                    write_signal(&mut out.table, s, &names)?;
                }
                bar.inc(page.len() as u64);
            }
            bar.finish_and_clear();
            eprintln!("signals.parquet: {} signals.", out.finish()?);
        }
        if all || args.kind == Kind::Events {
            let mut out = Output::create(&args.out, "events.parquet", EVENTS_SCHEMA)?;
            partials.push(out.partial.clone());
            let bar = bar(
                store
                    .extract_count(org.id, ExtractKind::Events, range)
                    .await?,
                "events",
            );
            let mut after = None;
            loop {
                let page = store.extract_events(org.id, range, after, PAGE).await?;
                let Some(last) = page.last() else { break };
                after = Some(last.id);
                for e in &page {
                    write_event(&mut out.table, e, &names)?;
                }
                bar.inc(page.len() as u64);
            }
            bar.finish_and_clear();
            eprintln!("events.parquet: {} events.", out.finish()?);
        }
        anyhow::Ok(())
    }
    .await;
    if result.is_err() {
        for p in &partials {
            let _ = std::fs::remove_file(p);
        }
    }
    result?;
    eprintln!("Exported {} to {}.", org.name, args.out.display());
    store.close().await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use heard_domain::response::AnswerValue;
    use heard_domain::survey::QuestionKind;
    use heard_domain::{LocalizedText, ResponseId, ServiceId};
    use heard_store::StoredResponse;
    use parquet::file::reader::{FileReader, SerializedFileReader};
    use parquet::record::Row;

    fn read(file: std::fs::File) -> Vec<Row> {
        SerializedFileReader::new(file)
            .unwrap()
            .get_row_iter(None)
            .unwrap()
            .map(|r| r.unwrap())
            .collect()
    }

    fn get(row: &Row, name: &str) -> String {
        row.get_column_iter()
            .find(|(n, _)| *n == name)
            .map(|(_, f)| f.to_string())
            .unwrap_or_else(|| panic!("no column {name}"))
    }

    #[test]
    fn drivers_line_up_by_a11_role_and_answers_are_tidy() {
        let service = LocalizedText::new("Benefits", "Beneficios");
        let mut def = heard_domain::templates::a11_v1(&service);
        // A survey whose definition says a contact question's answer is stored: it is never written.
        def.questions.push(Question {
            id: "email".into(),
            kind: QuestionKind::Email,
            prompt: LocalizedText::new("Email", "Correo"),
            help: LocalizedText::default(),
            required: false,
            options: vec![],
            show_if: None,
            characteristic: None,
            a11: None,
        });
        let survey = SurveyId::new();
        let mut names = Names::default();
        names.versions.insert((survey, 2), def);
        names.surveys.insert(survey, "Visit".into());
        let answers = BTreeMap::from([
            ("satisfaction".to_string(), AnswerValue::Number(4)),
            ("trust".to_string(), AnswerValue::Number(2)),
            (
                "scores_comment".to_string(),
                AnswerValue::Text("Slow <PHONE_NUMBER>".into()),
            ),
            (
                "picked".to_string(),
                AnswerValue::Many(vec!["a".into(), "b".into()]),
            ),
            (
                "email".to_string(),
                AnswerValue::Text("x@example.com".into()),
            ),
        ]);
        let x = ExtractResponse {
            response: StoredResponse {
                id: ResponseId::new(),
                survey_id: survey,
                survey_version: 2,
                service_id: ServiceId::new(),
                touchpoint_id: None,
                channel: "website".into(),
                language: "en".into(),
                page_path: None,
                submitted_at: 1_790_000_000_000,
                answers,
                trust: Some(2),
                trust_positive: Some(false),
                enrichment: Some(
                    serde_json::json!({"scores_comment": {"sentiment": {"label": "negative",
                    "score": -0.5}, "themes": [{"id": "wait_times", "label": "Wait times"}]}}),
                ),
                sentiment: Some("negative".into()),
                themes: vec!["wait_times".into()],
                urgent: false,
            },
            person_key: Some("0123456789abcdef0123456789abcdef".into()),
        };
        let mut responses =
            Table::new(tempfile::tempfile().unwrap(), RESPONSES_SCHEMA, 10).unwrap();
        let mut answers = Table::new(tempfile::tempfile().unwrap(), ANSWERS_SCHEMA, 10).unwrap();
        write_response(&mut responses, &mut answers, &x, &names).unwrap();
        let r = read(responses.finish().unwrap());
        assert_eq!(r.len(), 1);
        assert_eq!(get(&r[0], "a11_satisfaction"), "4");
        assert_eq!(get(&r[0], "a11_trust"), "2");
        assert_eq!(get(&r[0], "a11_ease"), "null", "not answered");
        assert_eq!(get(&r[0], "themes"), "[\"wait_times\"]");
        assert_eq!(get(&r[0], "survey"), "\"Visit\"");
        let a = read(answers.finish().unwrap());
        let rows: Vec<(String, String, String)> = a
            .iter()
            .map(|r| (get(r, "question_id"), get(r, "value"), get(r, "a11_role")))
            .collect();
        assert_eq!(
            rows,
            [
                ("\"picked\"".into(), "\"a\"".into(), "null".into()),
                ("\"picked\"".into(), "\"b\"".into(), "null".into()),
                (
                    "\"satisfaction\"".into(),
                    "\"4\"".into(),
                    "\"satisfaction\"".into()
                ),
                (
                    "\"scores_comment\"".into(),
                    "\"Slow <PHONE_NUMBER>\"".into(),
                    "\"comment\"".into()
                ),
                ("\"trust\"".into(), "\"2\"".into(), "\"trust\"".into()),
            ],
            "one row per chosen option; no contact answer"
        );
        let score = a[3]
            .get_column_iter()
            .find(|(n, _)| *n == "sentiment_score")
            .map(|(_, f)| f.clone());
        assert_eq!(score, Some(parquet::record::Field::Double(-0.5)));
        assert_eq!(get(&a[3], "themes"), "[\"wait_times\"]");
        assert_eq!(get(&a[3], "question_kind"), "\"long_text\"");
        assert_eq!(get(&a[4], "value_number"), "2");
    }

    #[test]
    fn events_measures_are_a_map_and_bad_ones_are_named() {
        let mut t = Table::new(tempfile::tempfile().unwrap(), EVENTS_SCHEMA, 10).unwrap();
        let mut e = ExtractEvent {
            id: Uuid::now_v7(),
            event_type: "call".into(),
            source: "api".into(),
            occurred_at: 1_790_000_000_000,
            received_at: 1_790_000_000_500,
            service_id: None,
            touchpoint_id: None,
            person_key: None,
            reference_key: Some("ffffffffffffffffffffffffffffffff".into()),
            measures: r#"{"wait": 90, "transfers": 2}"#.into(),
            attributes: r#"{"queue": "Claims"}"#.into(),
            external_id: "case-12345".into(),
        };
        write_event(&mut t, &e, &Names::default()).unwrap();
        e.measures = r#"{"wait": "long"}"#.into();
        let err = write_event(&mut t, &e, &Names::default()).unwrap_err();
        assert!(err.to_string().contains("measures"), "{err}");
        let rows = read(t.finish().unwrap());
        assert_eq!(rows.len(), 1, "the bad event wrote nothing");
        assert_eq!(
            get(&rows[0], "measures"),
            "{\"transfers\" -> 2.0, \"wait\" -> 90.0}"
        );
        assert_eq!(get(&rows[0], "channel"), "\"phone\"", "a call is by phone");
        assert_eq!(get(&rows[0], "attributes"), r#""{"queue": "Claims"}""#);
        assert!(!format!("{:?}", rows[0]).contains("case-12345"));
    }
}
