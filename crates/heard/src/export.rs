//! `heard export`: every response of an organization (optionally one survey) as CSV or NDJSON, page by page with a
//! progress bar, so exports of millions of rows use little memory.

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
pub struct ExportArgs {
    #[command(flatten)]
    storage: StorageArgs,
    /// The organization's short name.
    #[arg(long)]
    org: String,
    /// Only this survey (then each question is a CSV column).
    #[arg(long)]
    survey: Option<String>,
    #[arg(long, value_enum, default_value = "csv")]
    format: Format,
    /// Write here instead of stdout.
    #[arg(long)]
    out: Option<PathBuf>,
}

pub async fn run(args: ExportArgs) -> Result<()> {
    let store = Store::open(&args.storage.database_url()?, StoreOptions::default()).await?;
    let org = store.org_by_slug(&args.org).await.map_err(|_| {
        anyhow::anyhow!("--org: no organization with the short name '{}'", args.org)
    })?;
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
    let columns = match survey {
        Some(s) => {
            let versions = store.survey_versions(org.id, s).await?;
            heard_server::export::question_columns(
                versions.iter().rev().map(|v| (v.version, &v.definition)),
            )
        }
        None => vec![],
    };
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
        w.write_record(heard_server::export::header(&columns))?;
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
                Some(w) => w.write_record(heard_server::export::record(r, &columns))?,
                None => {
                    serde_json::to_writer(&mut out, r)?;
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
    out.flush()?;
    bar.finish_and_clear();
    eprintln!("Exported {total} responses of {}.", org.name);
    store.close().await;
    Ok(())
}
