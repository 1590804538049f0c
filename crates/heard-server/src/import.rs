//! Bulk import: many responses, signals or events from one source (a file read by `heard channels::import`, the
//! demo data generator), through the same pipeline as every channel (Collect → Protect → Enrich → Store) and the
//! store's bulk path (`heard_store::bulk`).
//!
//! **Batches, all or nothing.** Items are taken `batch_size` at a time. Each item is parsed by the domain's own
//! parser (`parse_event`, `parse_signal`, the survey's `parse_answers`), its service and touchpoint checked to be the
//! organization's, then protected (persons and references hashed, text redacted) by the pipeline. A batch with any
//! item refused (a parse error, or an external id stored before with different content) writes nothing, and the
//! report names each refused item by line, field and reason; the batches around it are written.
//!
//! **Resumable.** With a resume key (the file's content hash, made by the caller), the import is recorded in
//! `imports` and each batch moves its position in the batch's own transaction; running the same import again skips
//! the records up to the last committed batch. Items are idempotent by external id in any case (a duplicate is
//! counted, never stored twice), so even an import without a resume key can be run again safely.
//!
//! **Enrichment.** `Enrich::Now` analyses text as the API does. `Enrich::Later` (large imports) stores the redacted
//! text with its urgent flag (crisis and threat language is looked for before storing: "urgent is immediate") and
//! enqueues `imports.enrich` jobs (one per [`ENRICH_JOB_ITEMS`] items with text) in the batch's transaction; the
//! job's handler ([`EnrichImported`]) adds sentiment, themes, intent and emotions, reading the redacted text. Until
//! it ran, the items carry no enrichment (no sentiment or themes; a signal's language is `und` unless the item gave
//! one).

use std::collections::{BTreeMap, HashSet};

use futures_util::future::BoxFuture;
use heard_channels::import::{Kind, Record, RecordError};
use heard_domain::event::EventType;
use heard_domain::response::NewResponse;
use heard_domain::survey::{HiddenAnswers, SurveyDefinition};
use heard_domain::{Channel, FieldErrors, Lang, OrgId, SurveyId, TouchpointId};
use heard_store::bulk::{BatchMark, BulkOutcome, BulkRows};
use heard_store::jobs::{ClaimedJob, NewJob};
use heard_store::{Store, StoreError};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::jobs::{Completed, JobHandler};
use crate::pipeline::{Enrich, Pipeline, Submission, TextFold};

/// The job kind that enriches a batch stored with `Enrich::Later`.
pub const ENRICH_KIND: &str = "imports.enrich";

/// The default number of items per batch (one transaction each, durable when it returns). Large because the events'
/// person, type and service indexes take keys all over the table: each commit rewrites every index page it touched,
/// so ten times the rows per commit writes each page far fewer times (`heard bench import`, 1,000,000 events into
/// SQLite: see the commit that set it). A batch is held in memory twice at most (one prepared, one being written).
pub const DEFAULT_BATCH: usize = 50_000;

/// The most items one `imports.enrich` job enriches (a batch with more text gets several jobs).
pub const ENRICH_JOB_ITEMS: usize = 5000;

/// What to import and how.
#[derive(Debug, Clone)]
pub struct ImportSpec {
    pub org: OrgId,
    pub kind: Kind,
    /// For responses: the survey they answer (items may name an older published version in `survey_version`).
    pub survey: Option<SurveyId>,
    /// Items per batch (one transaction each), at least 1.
    pub batch_size: usize,
    pub enrich: Enrich,
    /// Events' `source` column (the API writes `api`; imports `import` unless told).
    pub source: String,
    /// Record the import under this key (a hash of the file and the options) so that a re-run resumes; `name` is
    /// kept for people.
    pub resume: Option<ResumeKey>,
    /// Stop after this many batches were written (for tests of resuming; `None` in the product).
    pub stop_after_batches: Option<u64>,
}

/// What makes a re-run the same import.
#[derive(Debug, Clone)]
pub struct ResumeKey {
    pub content_hash: String,
    pub name: String,
}

impl ImportSpec {
    pub fn new(org: OrgId, kind: Kind) -> ImportSpec {
        ImportSpec {
            org,
            kind,
            survey: None,
            batch_size: DEFAULT_BATCH,
            enrich: Enrich::Later,
            source: "import".into(),
            resume: None,
            stop_after_batches: None,
        }
    }
}

/// Counts so far, for a progress bar.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Progress {
    /// Records read in this run (skipped ones included).
    pub records: u64,
    /// Records skipped because an earlier run committed them.
    pub skipped: u64,
    pub created: u64,
    pub duplicates: u64,
    /// Records in refused batches.
    pub refused: u64,
}

/// A batch that wrote nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefusedBatch {
    /// From 1, counting every batch of the file.
    pub number: u64,
    pub first_line: u64,
    pub last_line: u64,
    pub records: usize,
    /// How many of its records were at fault.
    pub bad_records: usize,
}

/// What an import did.
#[derive(Debug, Clone, Default)]
pub struct ImportReport {
    pub progress: Progress,
    /// Batches committed in this run.
    pub batches: u64,
    pub refused_batches: Vec<RefusedBatch>,
    /// Every problem, by line (or item number), field and reason.
    pub errors: Vec<RecordError>,
    /// The import's record when it has a resume key.
    pub import_id: Option<Uuid>,
    /// True when an earlier run had read the whole file already.
    pub already_finished: bool,
    /// Records in batches earlier runs of this import refused.
    pub earlier_refused: u64,
    /// Enrichment jobs enqueued (for each batch stored with `Enrich::Later` that created items with text, one per
    /// [`ENRICH_JOB_ITEMS`] such items).
    pub enrichment_jobs: u64,
    /// True when `stop_after_batches` stopped it early.
    pub stopped: bool,
}

/// Why an import could not run at all (its items' problems are in the report instead).
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("{0}")]
    Setup(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What every item of a batch is checked against, loaded once.
struct Context {
    catalogue: Vec<EventType>,
    services: Vec<heard_store::Service>,
    touchpoints: Vec<heard_store::Touchpoint>,
    survey: Option<SurveyContext>,
}

struct SurveyContext {
    survey: heard_store::Survey,
    /// Published versions by number.
    versions: BTreeMap<i32, SurveyDefinition>,
    latest: i32,
    keep_raw_text: bool,
    keep_query: bool,
    default_channel: Option<Channel>,
}

enum Prepared {
    Events(Vec<heard_domain::event::NewEvent>),
    Signals(Vec<heard_domain::signal::NewSignal>),
    Responses(Vec<NewResponse>),
}

/// Imports `records` (items with their lines, or the errors of lines that could not be read) for `spec`, calling
/// `progress` after each batch. Returns when every record was read (or `stop_after_batches` was reached); each batch
/// is durable when `progress` sees it.
pub async fn import_records<I>(
    store: &Store,
    pipeline: &Pipeline,
    spec: &ImportSpec,
    records: I,
    progress: &mut (dyn FnMut(&Progress) + Send),
) -> Result<ImportReport, ImportError>
where
    I: Iterator<Item = Result<Record, Vec<RecordError>>>,
{
    let org = store
        .org(spec.org)
        .await
        .map_err(|_| ImportError::Setup("no such organization".into()))?;
    let ctx = load_context(store, spec, &org).await?;
    let mut report = ImportReport::default();
    let mut skip = 0u64;
    if let Some(key) = &spec.resume {
        let run = store
            .open_import(
                spec.org,
                spec.kind.key(),
                &key.content_hash,
                &key.name,
                heard_store::now_ms(),
            )
            .await?;
        report.import_id = Some(run.id);
        report.already_finished = run.finished_at.is_some();
        report.earlier_refused = run.refused_rows.max(0) as u64;
        skip = run.position.max(0) as u64;
    }
    let batch_size = spec.batch_size.max(1);
    let mut records = records.peekable();
    let mut position = 0u64;
    // Skipped records still count toward batch numbers, so a batch keeps its number across runs.
    while position < skip && records.next().is_some() {
        position += 1;
        report.progress.records += 1;
        report.progress.skipped += 1;
    }
    if report.progress.skipped > 0 {
        progress(&report.progress);
    }
    let mut batch_no = position.div_ceil(batch_size as u64);
    let mut batch: Vec<Result<Record, Vec<RecordError>>> = Vec::with_capacity(batch_size);
    // One batch is written while the next is parsed and protected: the store's connection works on one core while
    // the pipeline works on another. Batches still commit one after another, in order.
    let mut in_flight: Option<Write> = None;
    loop {
        batch.clear();
        while batch.len() < batch_size {
            match records.next() {
                Some(r) => batch.push(r),
                None => break,
            }
        }
        if batch.is_empty() {
            break;
        }
        batch_no += 1;
        position += batch.len() as u64;
        let now = heard_store::now_ms();
        let (prepared, lines, errors) = prepare_batch(pipeline, spec, &ctx, &mut batch, now);
        if let Some(w) = in_flight.take() {
            finish_write(store, spec, w, &mut report).await?;
            progress(&report.progress);
            if spec.stop_after_batches.is_some_and(|n| report.batches >= n) {
                report.stopped = true;
                return Ok(report);
            }
        }
        report.progress.records += lines.len() as u64;
        if !errors.is_empty() {
            refuse(&mut report, batch_no, &lines, errors);
            if let Some(id) = report.import_id {
                store
                    .note_refused_rows(spec.org, id, lines.len() as i64, now)
                    .await?;
            }
            progress(&report.progress);
            continue;
        }
        let mark = report.import_id.map(|id| BatchMark {
            import_id: id,
            position: position as i64,
        });
        let ids_with_text: HashSet<Uuid> = match &prepared {
            Prepared::Events(_) => HashSet::new(),
            Prepared::Signals(v) => v
                .iter()
                .filter(|s| s.enrichment.is_none())
                .map(|s| *s.id.as_uuid())
                .collect(),
            Prepared::Responses(v) => v
                .iter()
                .filter(|r| spec.enrich == Enrich::Later && has_free_text(&ctx, r))
                .map(|r| *r.id.as_uuid())
                .collect(),
        };
        let (store2, org, kind) = (store.clone(), spec.org, spec.kind);
        let task = tokio::spawn(async move {
            let rows = match &prepared {
                Prepared::Events(v) => BulkRows::Events(v),
                Prepared::Signals(v) => BulkRows::Signals(v),
                Prepared::Responses(v) => BulkRows::Responses(v),
            };
            let mut jobs_made = 0;
            let outcome = store2
                .bulk_write(org, rows, mark, |created| {
                    let ids: Vec<String> = created
                        .iter()
                        .filter(|id| ids_with_text.contains(id))
                        .map(|id| id.to_string())
                        .collect();
                    // A large batch's items are enriched by several jobs, so each job stays as long as a small
                    // batch's and the queue's workers share them.
                    let jobs: Vec<NewJob> = ids
                        .chunks(ENRICH_JOB_ITEMS)
                        .map(|part| {
                            NewJob::new(org, ENRICH_KIND, json!({"kind": kind.key(), "ids": part}))
                        })
                        .collect();
                    jobs_made += jobs.len() as u64;
                    jobs
                })
                .await?;
            Ok((outcome, jobs_made))
        });
        in_flight = Some(Write {
            task,
            lines,
            batch_no,
            now,
        });
    }
    if let Some(w) = in_flight.take() {
        finish_write(store, spec, w, &mut report).await?;
        progress(&report.progress);
    }
    if let Some(id) = report.import_id {
        store
            .finish_import(spec.org, id, heard_store::now_ms())
            .await?;
    }
    Ok(report)
}

/// A batch being written.
struct Write {
    task: tokio::task::JoinHandle<Result<(BulkOutcome, u64), StoreError>>,
    lines: Vec<u64>,
    batch_no: u64,
    now: i64,
}

/// Records a refused batch and its errors in the report.
fn refuse(report: &mut ImportReport, batch_no: u64, lines: &[u64], errors: Vec<RecordError>) {
    let bad: HashSet<u64> = errors.iter().map(|e| e.line).collect();
    report.refused_batches.push(RefusedBatch {
        number: batch_no,
        first_line: lines.first().copied().unwrap_or(0),
        last_line: lines.last().copied().unwrap_or(0),
        records: lines.len(),
        bad_records: bad.len(),
    });
    report.progress.refused += lines.len() as u64;
    report.errors.extend(errors);
}

/// Waits for a batch's write and counts its outcome.
async fn finish_write(
    store: &Store,
    spec: &ImportSpec,
    w: Write,
    report: &mut ImportReport,
) -> Result<(), ImportError> {
    let (outcome, jobs_made) = w
        .task
        .await
        .map_err(|e| ImportError::Setup(format!("the batch writer stopped: {e}")))??;
    match outcome {
        BulkOutcome::Committed(results) => {
            report.batches += 1;
            report.enrichment_jobs += jobs_made;
            for r in results {
                if r.duplicate {
                    report.progress.duplicates += 1;
                } else {
                    report.progress.created += 1;
                }
            }
        }
        BulkOutcome::Reused(rows) => {
            let errors = rows
                .into_iter()
                .map(|i| {
                    RecordError::new(
                        w.lines[i],
                        "external_id",
                        heard_domain::idempotency::KEY_REUSED,
                        "this external_id was already stored with different content, which is kept: give a new \
                         item a new external_id, and reuse one only to import the same item again",
                    )
                })
                .collect();
            refuse(report, w.batch_no, &w.lines, errors);
            if let Some(id) = report.import_id {
                store
                    .note_refused_rows(spec.org, id, w.lines.len() as i64, w.now)
                    .await?;
            }
        }
    }
    Ok(())
}

fn has_free_text(ctx: &Context, r: &NewResponse) -> bool {
    let Some(s) = &ctx.survey else { return false };
    s.versions.get(&r.survey_version).is_some_and(|def| {
        def.questions
            .iter()
            .any(|q| q.kind.is_free_text() && r.answers.contains_key(&q.id))
    })
}

async fn load_context(
    store: &Store,
    spec: &ImportSpec,
    org: &heard_store::Organization,
) -> Result<Context, ImportError> {
    let survey = match (spec.kind, spec.survey) {
        (Kind::Response, None) => {
            return Err(ImportError::Setup(
                "responses answer a survey: say which (--survey ID)".into(),
            ));
        }
        (Kind::Response, Some(id)) => {
            let survey = store
                .survey(spec.org, id)
                .await
                .map_err(|_| ImportError::Setup(format!("no survey {id} in this organization")))?;
            let versions: BTreeMap<i32, SurveyDefinition> = store
                .survey_versions(spec.org, id)
                .await?
                .into_iter()
                .map(|v| (v.version, v.definition))
                .collect();
            let Some(latest) = versions.keys().next_back().copied() else {
                return Err(ImportError::Setup(format!(
                    "survey {id} has no published version: publish it first"
                )));
            };
            let touchpoints = store.touchpoints(spec.org).await?;
            let default_channel = survey
                .touchpoint_id
                .and_then(|t| touchpoints.iter().find(|x| x.id == t).map(|x| x.channel));
            Some(SurveyContext {
                keep_query: survey.keep_query,
                survey,
                versions,
                latest,
                keep_raw_text: org.keep_raw_text,
                default_channel,
            })
        }
        (_, Some(_)) => {
            return Err(ImportError::Setup(
                "only responses answer a survey: leave --survey out".into(),
            ));
        }
        (_, None) => None,
    };
    Ok(Context {
        catalogue: if spec.kind == Kind::Event {
            store.event_types(spec.org).await?
        } else {
            vec![]
        },
        services: store.services(spec.org).await?,
        touchpoints: store.touchpoints(spec.org).await?,
        survey,
    })
}

/// Field errors of an item → the record's errors, at its line.
fn at_line(line: u64, errs: FieldErrors) -> Vec<RecordError> {
    errs.0
        .into_iter()
        .map(|e| RecordError {
            line,
            field: e.field,
            column: None,
            code: e.code,
            message: e.message,
        })
        .collect()
}

/// Parses and protects one batch. Returns the prepared rows, each record's line, and every error.
/// Prepares a batch on every core (up to [`PREPARE_THREADS`]): parsing and protecting an item is pure, so the batch
/// is cut into consecutive parts, each prepared on its own thread, and the parts' rows, lines and errors joined in
/// order (the same result as one thread would give: errors in line order, rows in record order).
fn prepare_batch(
    pipeline: &Pipeline,
    spec: &ImportSpec,
    ctx: &Context,
    batch: &mut [Result<Record, Vec<RecordError>>],
    now: i64,
) -> (Prepared, Vec<u64>, Vec<RecordError>) {
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(PREPARE_THREADS);
    if threads < 2 || batch.len() < MIN_PARALLEL_BATCH {
        return prepare_part(pipeline, spec, ctx, batch, now);
    }
    let size = batch.len().div_ceil(threads);
    let mut parts = batch.chunks_mut(size);
    let first = parts.next().expect("a batch is never empty here");
    let mut done = std::thread::scope(|scope| {
        let others: Vec<_> = parts
            .map(|part| scope.spawn(move || prepare_part(pipeline, spec, ctx, part, now)))
            .collect();
        let mut done = vec![prepare_part(pipeline, spec, ctx, first, now)];
        for h in others {
            done.push(
                h.join()
                    .expect("preparing an import's items does not panic"),
            );
        }
        done
    })
    .into_iter();
    let (mut prepared, mut lines, mut errors) = done.next().expect("the first part");
    for (p, l, e) in done {
        lines.extend(l);
        errors.extend(e);
        match (&mut prepared, p) {
            (Prepared::Events(a), Prepared::Events(b)) => a.extend(b),
            (Prepared::Signals(a), Prepared::Signals(b)) => a.extend(b),
            (Prepared::Responses(a), Prepared::Responses(b)) => a.extend(b),
            _ => unreachable!("every part is prepared as the spec's kind"),
        }
    }
    (prepared, lines, errors)
}

/// The most threads a batch is prepared on.
const PREPARE_THREADS: usize = 4;

/// Smaller batches are prepared on one thread (starting threads would cost more than it saves).
const MIN_PARALLEL_BATCH: usize = 256;

fn prepare_part(
    pipeline: &Pipeline,
    spec: &ImportSpec,
    ctx: &Context,
    batch: &mut [Result<Record, Vec<RecordError>>],
    now: i64,
) -> (Prepared, Vec<u64>, Vec<RecordError>) {
    let mut lines = Vec::with_capacity(batch.len());
    let mut errors = Vec::new();
    let mut prepared = match spec.kind {
        Kind::Event => Prepared::Events(Vec::with_capacity(batch.len())),
        Kind::Signal => Prepared::Signals(Vec::with_capacity(batch.len())),
        Kind::Response => Prepared::Responses(Vec::with_capacity(batch.len())),
    };
    for r in batch.iter_mut() {
        let rec = match r {
            Ok(rec) => rec,
            Err(es) => {
                lines.push(es.first().map(|e| e.line).unwrap_or(0));
                errors.append(es);
                continue;
            }
        };
        let line = rec.line;
        lines.push(line);
        if !errors.is_empty() {
            // The batch is refused already: only find the other records' problems, prepare nothing.
            if let Err(es) = check_only(spec, ctx, rec, now) {
                errors.extend(es);
            }
            continue;
        }
        let item = std::mem::take(&mut rec.item);
        match (&mut prepared, prepare_item(pipeline, spec, ctx, item, now)) {
            (_, Err(es)) => errors.extend(at_line(line, es)),
            (Prepared::Events(v), Ok(Item::Event(e))) => v.push(e),
            (Prepared::Signals(v), Ok(Item::Signal(s))) => v.push(s),
            (Prepared::Responses(v), Ok(Item::Response(r))) => v.push(*r),
            _ => unreachable!("items are prepared as their spec's kind"),
        }
    }
    (prepared, lines, errors)
}

/// Parses a record without protecting it (in a batch refused already: the report still names its problems).
fn check_only(
    spec: &ImportSpec,
    ctx: &Context,
    rec: &Record,
    now: i64,
) -> Result<(), Vec<RecordError>> {
    let mut m = Value::Object(rec.item.clone());
    let mut errs = FieldErrors::default();
    crate::input::clean_json("", &mut m, &mut errs);
    let Value::Object(m) = m else { unreachable!() };
    let r = if !errs.is_empty() {
        Err(errs)
    } else {
        match spec.kind {
            Kind::Event => {
                heard_domain::event::parse_event(&m, "", &ctx.catalogue, now).and_then(|e| {
                    crate::ingest::check_owned(&e.common, "", &ctx.services, &ctx.touchpoints)
                })
            }
            Kind::Signal => heard_domain::signal::parse_signal(&m, "", now).and_then(|s| {
                crate::ingest::check_owned(&s.common, "", &ctx.services, &ctx.touchpoints)
            }),
            Kind::Response => parse_response(ctx, m, now).map(|_| ()),
        }
    };
    r.map_err(|e| at_line(rec.line, e))
}

enum Item {
    Event(heard_domain::event::NewEvent),
    Signal(heard_domain::signal::NewSignal),
    Response(Box<NewResponse>),
}

fn prepare_item(
    pipeline: &Pipeline,
    spec: &ImportSpec,
    ctx: &Context,
    item: Map<String, Value>,
    now: i64,
) -> Result<Item, FieldErrors> {
    let mut v = Value::Object(item);
    let mut errs = FieldErrors::default();
    crate::input::clean_json("", &mut v, &mut errs);
    if !errs.is_empty() {
        return Err(errs);
    }
    let Value::Object(m) = v else { unreachable!() };
    match spec.kind {
        Kind::Event => {
            let e = heard_domain::event::parse_event(&m, "", &ctx.catalogue, now)?;
            crate::ingest::check_owned(&e.common, "", &ctx.services, &ctx.touchpoints)?;
            Ok(Item::Event(pipeline.prepare_event(
                spec.org,
                e,
                &spec.source,
                now,
            )))
        }
        Kind::Signal => {
            let s = heard_domain::signal::parse_signal(&m, "", now)?;
            crate::ingest::check_owned(&s.common, "", &ctx.services, &ctx.touchpoints)?;
            Ok(Item::Signal(pipeline.prepare_signal_with(
                spec.org,
                s,
                now,
                spec.enrich,
            )))
        }
        Kind::Response => {
            let (s, version) = parse_response(ctx, m, now)?;
            let sc = ctx.survey.as_ref().expect("responses have a survey");
            let def = &sc.versions[&version];
            Ok(Item::Response(Box::new(pipeline.prepare_with(
                s,
                def,
                spec.enrich,
            )?)))
        }
    }
}

/// A response item: `external_id` (its idempotency key), `answers` (by question id), and optionally `language`,
/// `channel` (where it arrived: default the survey's touchpoint's channel), `touchpoint_id`, `page_path`,
/// `submitted_at` (RFC 3339; default now) and `survey_version` (a published version; default the latest).
fn parse_response(
    ctx: &Context,
    mut m: Map<String, Value>,
    now: i64,
) -> Result<(Submission, i32), FieldErrors> {
    use heard_domain::FieldError;
    let sc = ctx.survey.as_ref().expect("responses have a survey");
    let mut errs = FieldErrors::default();
    heard_domain::intake::only_fields(&m, "", Kind::Response.fields(), "a response", &mut errs);
    let key = match m.get("external_id") {
        Some(Value::String(s)) if (1..=200).contains(&s.chars().count()) && s.trim() == s => {
            Some(s.clone())
        }
        Some(_) => {
            errs.push(FieldError::new(
                "external_id",
                "invalid_external_id",
                "external_id must be a string of 1 to 200 characters without leading or trailing spaces: your system's id for the response",
            ));
            None
        }
        None => {
            errs.push(FieldError::new(
                "external_id",
                "required",
                "external_id is required: your system's id for the response, so a re-import is recognised",
            ));
            None
        }
    };
    let answers = match m.remove("answers") {
        Some(Value::Object(a)) => a,
        Some(_) => {
            errs.push(FieldError::new(
                "answers",
                "not_an_object",
                "answers must be an object keyed by question id, e.g. {\"trust\": 1}",
            ));
            Map::new()
        }
        None => {
            errs.push(FieldError::new(
                "answers",
                "required",
                "answers is required: map columns to answers.<question id>",
            ));
            Map::new()
        }
    };
    let version = match m.get("survey_version") {
        None | Some(Value::Null) => sc.latest,
        Some(v) => match v.as_i64().map(|n| n as i32) {
            Some(n) if sc.versions.contains_key(&n) => n,
            _ => {
                errs.push(FieldError::new(
                    "survey_version",
                    "unknown_version",
                    format!(
                        "survey_version must be a published version, 1 to {}",
                        sc.latest
                    ),
                ));
                sc.latest
            }
        },
    };
    let def = &sc.versions[&version];
    let language = match heard_domain::intake::opt_str(&m, "", "language", &mut errs) {
        Some(l) => match Lang::parse(l) {
            Ok(l) if def.languages.iter().any(|x| x == l.as_str()) => Some(l),
            Ok(_) => {
                errs.push(FieldError::new(
                    "language",
                    "unsupported_language",
                    format!(
                        "language must be one of the survey's: {}",
                        def.languages.join(", ")
                    ),
                ));
                None
            }
            Err(e) => {
                errs.push(e);
                None
            }
        },
        None => None,
    };
    let language =
        language.unwrap_or_else(|| Lang::parse(&def.languages[0]).unwrap_or_else(|_| Lang::en()));
    let channel = match heard_domain::intake::opt_str(&m, "", "channel", &mut errs) {
        Some(c) => c.parse::<Channel>().map_err(|e| errs.push(e)).ok(),
        None => match sc.default_channel {
            Some(c) => Some(c),
            None => {
                errs.push(FieldError::new(
                    "channel",
                    "required",
                    "channel is required: the survey has no touchpoint to take it from (e.g. website, phone, in_person)",
                ));
                None
            }
        },
    };
    let touchpoint_id = match heard_domain::intake::opt_str(&m, "", "touchpoint_id", &mut errs) {
        Some(t) => match Uuid::parse_str(t) {
            Ok(u) if ctx.touchpoints.iter().any(|x| *x.id.as_uuid() == u) => {
                Some(TouchpointId::from_uuid(u))
            }
            Ok(_) => {
                errs.push(FieldError::new(
                    "touchpoint_id",
                    "unknown_touchpoint",
                    format!("touchpoint_id: no touchpoint {t} in your organization"),
                ));
                None
            }
            Err(_) => {
                errs.push(FieldError::new(
                    "touchpoint_id",
                    "invalid_id",
                    "touchpoint_id must be an id (a UUID)",
                ));
                None
            }
        },
        None => sc.survey.touchpoint_id,
    };
    let page_path = heard_domain::intake::opt_str(&m, "", "page_path", &mut errs)
        .map(|p| heard_domain::response::parse_page_path(p, sc.keep_query))
        .transpose()
        .map_err(|e| errs.push(e))
        .ok()
        .flatten();
    let submitted_at = heard_domain::intake::opt_str(&m, "", "submitted_at", &mut errs)
        .map(|t| heard_domain::intake::parse_time("submitted_at", t, now))
        .transpose()
        .map_err(|e| errs.push(e))
        .ok()
        .flatten()
        .unwrap_or(now);
    // Answers are checked even when other fields failed, so one pass names every problem.
    let answers_ok = def.parse_answers(&answers, HiddenAnswers::Reject);
    if let Err(es) = &answers_ok {
        for e in &es.0 {
            let field = if e.field.starts_with("answers") {
                e.field.clone()
            } else {
                format!("answers.{}", e.field)
            };
            errs.push(FieldError::new(field, e.code, e.message.clone()));
        }
    }
    if !errs.is_empty() {
        return Err(errs);
    }
    Ok((
        Submission {
            org_id: sc.survey.org_id,
            survey_id: sc.survey.id,
            survey_version: version,
            service_id: sc.survey.service_id,
            touchpoint_id,
            channel: channel.expect("checked"),
            language,
            page_path,
            idempotency_key: key.expect("checked"),
            submitted_at,
            answers,
            hidden: HiddenAnswers::Reject,
            keep_raw_text: sc.keep_raw_text,
        },
        version,
    ))
}

/// Imports items that are already JSON objects (the demo generator, tests), numbered from 1 as their "lines".
pub async fn import_items(
    store: &Store,
    pipeline: &Pipeline,
    spec: &ImportSpec,
    items: impl IntoIterator<Item = Map<String, Value>>,
    progress: &mut (dyn FnMut(&Progress) + Send),
) -> Result<ImportReport, ImportError> {
    let records = items.into_iter().enumerate().map(|(i, item)| {
        Ok(Record {
            line: i as u64 + 1,
            item,
        })
    });
    import_records(store, pipeline, spec, records, progress).await
}

/// The `imports.enrich` job: analyses the redacted text of the signals or responses a batch stored with
/// `Enrich::Later` and stores their enrichment (sentiment, themes, intent, emotions, urgency), completing the job in
/// the same transaction. Payload: `{"kind": "signal" | "response", "ids": [uuid, …]}` (ids only). Items enriched
/// already are skipped, so a retry does nothing twice.
pub struct EnrichImported {
    analyzer: heard_text::Analyzer,
}

impl EnrichImported {
    pub fn new() -> EnrichImported {
        EnrichImported {
            analyzer: heard_text::Analyzer::new(),
        }
    }
}

impl Default for EnrichImported {
    fn default() -> Self {
        EnrichImported::new()
    }
}

impl JobHandler for EnrichImported {
    fn run<'a>(
        &'a self,
        store: &'a Store,
        job: &'a ClaimedJob,
    ) -> BoxFuture<'a, Result<Completed, String>> {
        Box::pin(async move {
            let org = job.job.org_id;
            let p = &job.job.payload;
            let ids: Vec<Uuid> = p["ids"]
                .as_array()
                .ok_or("the payload has no ids")?
                .iter()
                .filter_map(|v| v.as_str().and_then(|s| Uuid::parse_str(s).ok()))
                .collect();
            let err = |e: StoreError| format!("job {}: {e}", job.job.id);
            match p["kind"].as_str() {
                Some("signal") => {
                    let rows = store
                        .signals_awaiting_enrichment(org, &ids)
                        .await
                        .map_err(err)?;
                    let mut updates = Vec::with_capacity(rows.len());
                    for r in rows {
                        let hint = (r.language != "und").then_some(r.language.clone());
                        let a = self.analyzer.analyze(&r.text, hint.as_deref());
                        let e = crate::pipeline::enrichment_json(&a);
                        let themes: Vec<String> = a.themes.iter().map(|t| t.id.clone()).collect();
                        let language = hint.unwrap_or(a.language);
                        updates.push((r.id, language, e, themes, !a.urgency.is_empty()));
                    }
                    let mut tx = store.begin().await.map_err(err)?;
                    tx.complete_job(job).await.map_err(err)?;
                    for (id, language, e, themes, urgent) in updates {
                        tx.set_signal_enrichment(
                            org,
                            id,
                            &language,
                            &e,
                            e["sentiment"]["label"].as_str(),
                            &themes,
                            urgent,
                        )
                        .await
                        .map_err(err)?;
                    }
                    tx.commit().await.map_err(err)?;
                }
                Some("response") => {
                    let rows = store
                        .responses_awaiting_enrichment(org, &ids)
                        .await
                        .map_err(err)?;
                    let mut defs: BTreeMap<(Uuid, i32), SurveyDefinition> = BTreeMap::new();
                    let mut updates = Vec::with_capacity(rows.len());
                    for r in rows {
                        let key = (r.survey_id, r.survey_version);
                        let def = match defs.entry(key) {
                            std::collections::btree_map::Entry::Occupied(e) => e.into_mut(),
                            std::collections::btree_map::Entry::Vacant(e) => {
                                let v = store
                                    .survey_version(
                                        org,
                                        SurveyId::from_uuid(r.survey_id),
                                        r.survey_version,
                                    )
                                    .await
                                    .map_err(err)?;
                                e.insert(v.definition)
                            }
                        };
                        let answers: Map<String, Value> = serde_json::from_str(&r.answers)
                            .map_err(|e| {
                                format!("response {}: stored answers unreadable: {e}", r.id)
                            })?;
                        let mut fold = TextFold::default();
                        for q in def.questions.iter().filter(|q| q.kind.is_free_text()) {
                            if let Some(Value::String(text)) = answers.get(&q.id) {
                                fold.add(&q.id, &self.analyzer.analyze(text, Some(&r.language)));
                            }
                        }
                        // As comment search reads an enriched response: its enriched text answers, in key order.
                        let comment: Vec<&str> = answers
                            .iter()
                            .filter(|(k, _)| fold.enrichment.contains_key(*k))
                            .filter_map(|(_, v)| v.as_str().filter(|s| !s.is_empty()))
                            .collect();
                        updates.push((r.id, comment.join("\n"), fold));
                    }
                    let mut tx = store.begin().await.map_err(err)?;
                    tx.complete_job(job).await.map_err(err)?;
                    for (id, comment, f) in updates {
                        let e = if f.enrichment.is_empty() {
                            None
                        } else {
                            Some(Value::Object(f.enrichment))
                        };
                        tx.set_response_enrichment(
                            org,
                            id,
                            Some(&comment),
                            e.as_ref(),
                            f.sentiment,
                            &f.themes,
                            f.urgent,
                        )
                        .await
                        .map_err(err)?;
                    }
                    tx.commit().await.map_err(err)?;
                }
                _ => return Err(format!("job {}: unknown kind in payload", job.job.id)),
            }
            Ok(Completed::WithEffect)
        })
    }
}
