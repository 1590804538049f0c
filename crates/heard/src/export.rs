//! `heard export`: every response of an organization (optionally one survey) as CSV or NDJSON, page by page with a
//! progress bar, so exports of millions of rows use little memory. The CSV is `heard_server::export`'s format (local
//! times with their offset, labels with codes beside them, unique headers); `--bom` starts it with a UTF-8 byte-order
//! mark for Excel on Windows, and is refused with NDJSON (a byte-order mark would make its first line invalid JSON).
//! NDJSON is one stored response a line, with `submitted_at` in ISO 8601 with the organization's offset (as in the
//! CSV) and `submitted_at_ms`, the same instant in milliseconds since the Unix epoch.

use anyhow::{Context, Result};
use clap::{Args, ValueEnum};
use heard_domain::SurveyId;
use heard_store::responses::{Order, ResponseFilter};
use heard_store::{Store, StoreOptions};
use indicatif::{ProgressBar, ProgressStyle};
use std::io::Write;
use std::path::PathBuf;

use crate::settings::StorageArgs;

#[derive(Clone, Copy, ValueEnum)]
pub enum Format {
    Csv,
    Ndjson,
}

#[derive(Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct ExportArgs {
    /// What else to export (without it: responses).
    #[command(subcommand)]
    what: Option<ExportWhat>,
    #[command(flatten)]
    storage: StorageArgs,
    /// The organization's short name.
    #[arg(long)]
    org: Option<String>,
    /// Only this survey (then each question is a CSV column; without it, each answer is a row).
    #[arg(long)]
    survey: Option<String>,
    #[arg(long, value_enum, default_value = "csv")]
    format: Format,
    /// Write here instead of stdout.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Start the CSV with a UTF-8 byte-order mark, so Excel on Windows reads accents correctly.
    #[arg(long)]
    bom: bool,
}

#[derive(clap::Subcommand)]
pub enum ExportWhat {
    /// The event log (events, and responses and signals as activities) as OCEL 2.0 JSON or SQLite, or XES, for
    /// process mining tools (PM4Py, ProM, Celonis, Disco).
    Events(crate::journeys::ExportEventsArgs),
    /// Responses (and their answers), signals and events as Parquet files, for Spark, DuckDB or a data warehouse.
    Parquet(crate::export_parquet::ExportParquetArgs),
}

pub async fn run(args: ExportArgs) -> Result<()> {
    match args.what {
        Some(ExportWhat::Events(a)) => return crate::journeys::export_events(a).await,
        Some(ExportWhat::Parquet(a)) => return crate::export_parquet::export_parquet(a).await,
        None => {}
    }
    let Some(org_slug) = args.org.as_deref() else {
        anyhow::bail!("--org: give the organization's short name");
    };
    if args.bom && matches!(args.format, Format::Ndjson) {
        anyhow::bail!(
            "--bom is for CSV files (Excel needs it to read accents); NDJSON is always UTF-8 without one. \
             Leave out --bom, or use --format csv."
        );
    }
    let store = Store::open(&args.storage.database_url()?, StoreOptions::default()).await?;
    let org = store
        .org_by_slug(org_slug)
        .await
        .map_err(|_| anyhow::anyhow!("--org: no organization with the short name '{org_slug}'"))?;
    let survey: Option<SurveyId> = args
        .survey
        .as_deref()
        .map(|s| s.parse())
        .transpose()
        .map_err(|e: heard_domain::FieldError| anyhow::anyhow!("--survey: {}", e.message))?;
    let filter = ResponseFilter {
        survey_id: survey,
        ..Default::default()
    };
    let exporter =
        heard_server::export::Exporter::load(&store, org.id, org.time_zone, survey).await?;
    let total = store.count_responses(org.id, &filter).await?;
    let out: Box<dyn Write> = match &args.out {
        Some(p) => {
            Box::new(std::fs::File::create(p).with_context(|| format!("creating {}", p.display()))?)
        }
        None => Box::new(std::io::stdout().lock()),
    };
    let mut out = std::io::BufWriter::new(out);
    let bar = ProgressBar::new(total as u64).with_style(
        ProgressStyle::with_template("Exporting {bar:40} {pos}/{len} ({per_sec}, {eta} left)")
            .expect("valid"),
    );
    let mut csv = matches!(args.format, Format::Csv).then(|| csv::Writer::from_writer(Vec::new()));
    if let Some(w) = csv.as_mut() {
        if args.bom {
            out.write_all(heard_server::export::BOM)?;
        }
        w.write_record(exporter.header())?;
    }
    let mut cursor = None;
    loop {
        let page = store
            .responses_page(org.id, &filter, cursor, Order::OldestFirst, 2000)
            .await?;
        let Some(last) = page.last() else { break };
        cursor = Some(last.cursor());
        for r in &page {
            match csv.as_mut() {
                Some(w) => {
                    for row in exporter.rows(r) {
                        w.write_record(row)?;
                    }
                }
                None => {
                    let mut v = serde_json::to_value(r)?;
                    if let Some(o) = v.as_object_mut() {
                        o.insert("submitted_at_ms".into(), r.submitted_at.into());
                        o.insert(
                            "submitted_at".into(),
                            exporter.zone().iso(r.submitted_at).into(),
                        );
                    }
                    serde_json::to_writer(&mut out, &v)?;
                    out.write_all(b"\n")?;
                }
            }
        }
        if let Some(w) = csv.take() {
            out.write_all(&w.into_inner()?)?;
            csv = Some(csv::Writer::from_writer(Vec::new()));
        }
        bar.inc(page.len() as u64);
    }
    // With no responses the header is all there is; it is still written.
    if let Some(w) = csv.take() {
        out.write_all(&w.into_inner()?)?;
    }
    out.flush()?;
    bar.finish_and_clear();
    eprintln!("Exported {total} responses of {}.", org.name);
    store.close().await;
    Ok(())
}
