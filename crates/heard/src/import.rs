//! `heard import`: a CSV or NDJSON file of responses, signals or events into an organization, through the pipeline
//! and the store's bulk path (`heard_server::import`), with a progress bar, a validation report (line, field,
//! reason) and batches that are all or nothing. Running the same command on the same file again resumes after the
//! last committed batch.

use anyhow::{Context, Result, bail};
use clap::Args;
use heard_channels::import::{Format, Kind, Mapping, Plan, RecordError};
use heard_server::import::{ImportReport, ImportSpec, ResumeKey};
use heard_server::pipeline::{Enrich, Pipeline};
use heard_store::{Store, StoreOptions};
use indicatif::{ProgressBar, ProgressStyle};
use sha2::{Digest, Sha256};
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use crate::settings::StorageArgs;

#[derive(Args)]
pub struct ImportArgs {
    #[command(flatten)]
    pub storage: StorageArgs,
    /// What the file holds: response, signal or event.
    #[arg(long, value_parser = ["response", "signal", "event"])]
    pub kind: String,
    /// The CSV or NDJSON file.
    pub file: PathBuf,
    /// The organization's short name.
    #[arg(long)]
    pub org: String,
    /// A column-mapping file (JSON: columns, constants, time); without one, column names are the item's fields.
    #[arg(long)]
    pub mapping: Option<PathBuf>,
    /// csv or ndjson; by default from the file's extension (.csv, .ndjson, .jsonl).
    #[arg(long)]
    pub format: Option<String>,
    /// For responses: the survey's id.
    #[arg(long)]
    pub survey: Option<String>,
    /// Items per batch: each batch is one transaction, written whole or not at all.
    #[arg(long, default_value_t = heard_server::import::DEFAULT_BATCH)]
    pub batch_size: usize,
    /// When text is enriched (sentiment, themes, intent, emotions): `later` by the job queue (`heard serve` runs it),
    /// or `now`, in this command. Redaction and the urgent flag always happen before storing.
    #[arg(long, default_value = "later", value_parser = ["now", "later"])]
    pub enrich: String,
    /// Also write the validation report (every bad row: line, field, column, code, reason) to this CSV file.
    #[arg(long)]
    pub report: Option<PathBuf>,
}

/// What to import from a file and how (the command's options, checked).
pub struct FileImport {
    pub kind: Kind,
    pub format: Format,
    pub plan: Plan,
    /// The mapping file's text (part of what makes a re-run the same import).
    pub mapping_text: String,
    pub survey: Option<heard_domain::SurveyId>,
    pub batch_size: usize,
    pub enrich: Enrich,
}

/// Imports a file into `org`: its hash and line count first (`total` gets the expected number of records), then
/// its records through `heard_server::import` under a resume key made of the file's content and the options.
pub async fn import_file(
    store: &Store,
    pipeline: &Pipeline,
    org: heard_domain::OrgId,
    path: &Path,
    f: &FileImport,
    total: &mut dyn FnMut(u64),
    progress: &mut (dyn FnMut(&heard_server::import::Progress) + Send),
) -> Result<ImportReport> {
    let extra = format!(
        "kind={};format={:?};survey={};mapping={}",
        f.kind.key(),
        f.format,
        f.survey.map(|s| s.to_string()).unwrap_or_default(),
        f.mapping_text
    );
    let (hash, lines) = fingerprint(path, &extra)?;
    total(match f.format {
        Format::Csv => lines.saturating_sub(1),
        Format::Ndjson => lines,
    });
    let mut spec = ImportSpec::new(org, f.kind);
    spec.survey = f.survey;
    spec.batch_size = f.batch_size;
    spec.enrich = f.enrich;
    spec.resume = Some(ResumeKey {
        content_hash: hash,
        name: path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
    });
    let file = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let reader: Box<dyn BufRead + Send> = Box::new(BufReader::with_capacity(1 << 20, file));
    let records = heard_channels::import::records(reader, f.format, f.plan.clone())
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    Ok(heard_server::import::import_records(store, pipeline, &spec, records, progress).await?)
}

/// The file's SHA-256 (with the options that change what an import stores) and its line count.
fn fingerprint(path: &Path, extra: &str) -> Result<(String, u64)> {
    let mut f = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut lines = 0u64;
    let mut last = b'\n';
    loop {
        let n = f
            .read(&mut buf)
            .with_context(|| format!("reading {}", path.display()))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
        lines += memchr_count(&buf[..n]);
        last = buf[n - 1];
    }
    if last != b'\n' {
        lines += 1;
    }
    h.update(b"\0");
    h.update(extra.as_bytes());
    let hex: String = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
    Ok((hex, lines))
}

fn memchr_count(b: &[u8]) -> u64 {
    b.iter().filter(|&&c| c == b'\n').count() as u64
}

/// Reads and checks a mapping file for `kind`.
pub fn load_plan(kind: Kind, mapping: Option<&Path>) -> Result<(Plan, String)> {
    let Some(path) = mapping else {
        return Ok((Plan::identity(kind), String::new()));
    };
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the mapping {}", path.display()))?;
    let m: Mapping = serde_json::from_str(&text).map_err(|e| {
        anyhow::anyhow!(
            "--mapping {}: line {} column {}: {e} (a mapping is {{\"columns\": {{\"file column\": \"item field\"}}, \"constants\": {{…}}, \"time\": {{\"format\", \"zone\"}}}})",
            path.display(),
            e.line(),
            e.column()
        )
    })?;
    let plan = Plan::new(kind, &m)
        .map_err(|errs| anyhow::anyhow!("--mapping {}: {}", path.display(), errs.join("; ")))?;
    Ok((plan, text))
}

pub async fn run(args: ImportArgs) -> Result<()> {
    let kind = Kind::parse(&args.kind).expect("clap checked");
    let format = match &args.format {
        Some(f) => Format::parse(f)
            .ok_or_else(|| anyhow::anyhow!("--format: '{f}' is not csv or ndjson"))?,
        None => Format::from_name(&args.file.to_string_lossy()).ok_or_else(|| {
            anyhow::anyhow!(
                "{}: say --format csv or --format ndjson (the name does not end in .csv, .ndjson or .jsonl)",
                args.file.display()
            )
        })?,
    };
    if args.batch_size == 0 || args.batch_size > 100_000 {
        bail!("--batch-size: give 1 to 100,000 items per batch");
    }
    let survey = match (&args.survey, kind) {
        (Some(s), Kind::Response) => Some(heard_domain::SurveyId::from_uuid(
            uuid::Uuid::parse_str(s.trim())
                .map_err(|_| anyhow::anyhow!("--survey: '{s}' is not a survey id (a UUID)"))?,
        )),
        (None, Kind::Response) => bail!("--survey: responses answer a survey; give its id"),
        (Some(_), _) => bail!("--survey is only for --kind response"),
        (None, _) => None,
    };
    let (plan, mapping_text) = load_plan(kind, args.mapping.as_deref())?;
    let store = Store::open(&args.storage.database_url()?, StoreOptions::default()).await?;
    let org = store.org_by_slug(&args.org).await.map_err(|_| {
        anyhow::anyhow!("--org: no organization with the short name '{}'", args.org)
    })?;
    let pipeline = Pipeline::new(&args.storage.secret_key()?);
    let file = FileImport {
        kind,
        format,
        plan: plan.clone(),
        mapping_text,
        survey,
        batch_size: args.batch_size,
        enrich: if args.enrich == "now" {
            Enrich::Now
        } else {
            Enrich::Later
        },
    };
    let bar = ProgressBar::new(0).with_style(
        ProgressStyle::with_template("{msg} {bar:40} {pos}/{len} records ({per_sec}, {eta} left)")
            .expect("valid template"),
    );
    bar.set_message(format!("Importing {}s", kind.key()));
    let report = {
        let bar2 = bar.clone();
        import_file(
            &store,
            &pipeline,
            org.id,
            &args.file,
            &file,
            &mut |total| bar.set_length(total),
            &mut move |p| bar2.set_position(p.records),
        )
        .await?
    };
    bar.finish_and_clear();
    store.close().await;
    print_report(&report, &plan, kind, file.enrich);
    if let Some(path) = &args.report {
        write_report(path, &report.errors, &plan)?;
        println!("The validation report is in {}.", path.display());
    }
    if !report.refused_batches.is_empty() {
        bail!(
            "{} batch(es) refused: nothing of them was stored. Correct the rows named above and import the \
             corrected file: rows stored already are recognised as duplicates.",
            report.refused_batches.len()
        );
    }
    Ok(())
}

/// The column a field came from, for messages: `measures.wait (column Wait (s))`.
fn field_name(e: &RecordError, plan: &Plan) -> String {
    match e.column.as_deref().or_else(|| plan.column_of(&e.field)) {
        Some(c) => format!("{} (column {c})", e.field),
        None => e.field.clone(),
    }
}

fn print_report(r: &ImportReport, plan: &Plan, kind: Kind, enrich: Enrich) {
    let p = &r.progress;
    if r.already_finished && p.records == p.skipped {
        println!("This file was imported already: nothing more to do.");
    }
    if p.skipped > 0 {
        println!(
            "Resumed: the {} record(s) an earlier run got through were skipped.",
            p.skipped
        );
        if r.earlier_refused > 0 {
            println!(
                "Earlier runs refused {} record(s) of this file (their batches stored nothing): correct them and \
                 import the corrected file.",
                r.earlier_refused
            );
        }
    }
    println!(
        "{} record(s) read: {} {}(s) stored, {} duplicate(s) of stored ones, {} in refused batches; {} batch(es) committed.",
        p.records - p.skipped,
        p.created,
        kind.key(),
        p.duplicates,
        p.refused,
        r.batches
    );
    if enrich == Enrich::Later && r.enrichment_jobs > 0 {
        println!(
            "Text was redacted and checked for crisis language; sentiment, themes and the rest of the enrichment are \
             {} job(s) on the queue, run by `heard serve`: until then these items show no enrichment.",
            r.enrichment_jobs
        );
    }
    for b in &r.refused_batches {
        println!(
            "Batch {} (lines {}-{}, {} record(s)) refused, nothing of it stored: {} record(s) at fault.",
            b.number, b.first_line, b.last_line, b.records, b.bad_records
        );
    }
    const SHOWN: usize = 200;
    for e in r.errors.iter().take(SHOWN) {
        println!(
            "  line {}: {}: {} [{}]",
            e.line,
            field_name(e, plan),
            e.message,
            e.code
        );
    }
    if r.errors.len() > SHOWN {
        println!(
            "  … and {} more (--report FILE writes them all)",
            r.errors.len() - SHOWN
        );
    }
}

fn write_report(path: &Path, errors: &[RecordError], plan: &Plan) -> Result<()> {
    let mut w = csv::Writer::from_path(path)
        .with_context(|| format!("writing the report {}", path.display()))?;
    w.write_record(["line", "field", "column", "code", "reason"])?;
    for e in errors {
        let column = e
            .column
            .clone()
            .or_else(|| plan.column_of(&e.field).map(str::to_string))
            .unwrap_or_default();
        w.write_record([
            e.line.to_string(),
            e.field.clone(),
            column,
            e.code.to_string(),
            e.message.clone(),
        ])?;
    }
    w.flush()?;
    Ok(())
}
