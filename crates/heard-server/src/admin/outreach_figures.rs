//! The outreach figures page (`/admin/o/{org}/outreach/figures?quarter=`, viewers and up; issue 20, item 5): per
//! survey and channel (email, SMS), the invitations of a fiscal quarter and what happened to them (invited,
//! delivered, opened, started, completed, opted out, bounced) and the response rate, completed / invited, with its
//! 95% Wilson interval. Counts come from `Store::email_outreach_counts` and `Store::sms_outreach_counts`, one grouped
//! query each, over invitations and conversations written in the quarter's local days; each stage's meaning and the
//! arithmetic are `heard_domain::outreach`'s. A chart shows the response rates with their intervals; the table below
//! it holds the same figures, and downloads as CSV (`/admin/o/{org}/outreach/figures.csv?quarter=`).

use axum::extract::{Query, State};
use axum::response::Response;
use heard_domain::chart;
use heard_domain::fiscal::FiscalQuarter;
use heard_domain::outreach::{OutreachChannel, OutreachCounts, OutreachFigures, figures, total};
use minijinja::{Value, context};
use serde::Serialize;
use std::collections::HashMap;

use super::csv_table::CsvTable;
use super::dashboard::{self, PeriodQuery};
use super::{base_ctx, page};
use crate::auth::Viewer;
use crate::{AppError, AppResult, AppState};

/// One row of the table: a survey (or all surveys) on one channel.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub survey: String,
    pub channel: &'static str,
    pub all: bool,
    pub invited: u64,
    pub delivered: u64,
    /// Empty for SMS (not applicable).
    pub opened: Option<u64>,
    pub started: u64,
    pub completed: u64,
    pub opted_out: u64,
    pub bounced: u64,
    /// "12.5%", or "—" when no one was invited.
    pub rate: String,
    /// "9.8% to 15.9%", or empty.
    pub interval: String,
    #[serde(skip)]
    pub share: Option<(f64, f64, f64)>,
}

fn pct(x: f64) -> String {
    format!("{:.1}%", x * 100.0)
}

fn row(survey: &str, all: bool, f: &OutreachFigures) -> Row {
    let c = f.counts;
    let (rate, interval, share) = match f.response_rate {
        Some(r) => (
            pct(r.p),
            format!("{} to {}", pct(r.low), pct(r.high)),
            Some((r.p, r.low, r.high)),
        ),
        None => ("—".into(), String::new(), None),
    };
    Row {
        survey: survey.to_string(),
        channel: f.channel.label(),
        all,
        invited: c.invited,
        delivered: c.delivered,
        opened: c.opened,
        started: c.started,
        completed: c.completed,
        opted_out: c.opted_out,
        bounced: c.bounced,
        rate,
        interval,
        share,
    }
}

/// The quarter's rows: each survey with invitations on a channel, by survey name then channel, then each channel's
/// total over all surveys.
async fn compute(state: &AppState, viewer: &Viewer, quarter: FiscalQuarter) -> AppResult<Vec<Row>> {
    let org = viewer.org_id();
    let (from_ms, to_ms) = quarter.bounds_ms(&viewer.org.time_zone);
    let names: HashMap<_, String> = state
        .store
        .surveys(org, None)
        .await?
        .into_iter()
        .map(|s| (s.id, s.name))
        .collect();
    let email = state
        .store
        .email_outreach_counts(org, from_ms, to_ms)
        .await?;
    let sms = state.store.sms_outreach_counts(org, from_ms, to_ms).await?;
    let bad = |e: heard_domain::outreach::CountsError| AppError::Internal(e.to_string());
    let mut per_survey = Vec::new();
    let mut totals = Vec::new();
    for (channel, counts) in [
        (OutreachChannel::Email, &email),
        (OutreachChannel::Sms, &sms),
    ] {
        for (survey, c) in counts.iter() {
            let name = names
                .get(survey)
                .cloned()
                .unwrap_or_else(|| survey.to_string());
            per_survey.push(row(&name, false, &figures(channel, *c).map_err(bad)?));
        }
        if !counts.is_empty() {
            let t: OutreachCounts = total(counts.iter().map(|(_, c)| *c));
            totals.push(row("All surveys", true, &figures(channel, t).map_err(bad)?));
        }
    }
    per_survey.sort_by(|a, b| (&a.survey, a.channel).cmp(&(&b.survey, b.channel)));
    per_survey.extend(totals);
    Ok(per_survey)
}

pub async fn page_handler(
    State(state): State<AppState>,
    m: Viewer,
    Query(q): Query<PeriodQuery>,
) -> AppResult<Response> {
    let zone = m.org.time_zone;
    let quarter = q.quarter(&zone)?;
    let rows = compute(&state, &m, quarter).await?;
    let bars: Vec<chart::IntervalRow> = rows
        .iter()
        .map(|r| chart::IntervalRow {
            label: format!("{} ({})", r.survey, r.channel),
            share: r.share,
        })
        .collect();
    let svg = chart::interval_bars_svg(
        &bars,
        &format!("Response rate by survey and channel, {quarter}"),
        &format!(
            "Percent of the invitations sent in {quarter} that were answered, per survey and channel, each with its \
             95% Wilson interval drawn as a line. The same figures are in the table below the chart."
        ),
    );
    Ok(page(
        &state,
        "outreach_figures.html",
        base_ctx(&m, "outreach"),
        context! {
            quarter => quarter.to_string(), quarter_param => quarter.to_string().replace(' ', "-"),
            quarters => dashboard::recent_quarters(&zone),
            rows => Value::from_serialize(&rows),
            chart => Value::from_safe_string(svg),
        },
    ))
}

/// The page's table as CSV.
pub async fn csv(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(q): Query<PeriodQuery>,
) -> AppResult<Response> {
    let quarter = q.quarter(&viewer.org.time_zone)?;
    let rows = compute(&state, &viewer, quarter).await?;
    let mut t = CsvTable::new([
        "quarter",
        "survey",
        "channel",
        "invited",
        "delivered",
        "opened",
        "started",
        "completed",
        "opted_out",
        "bounced",
        "response_rate",
        "ci95_low",
        "ci95_high",
    ])?;
    let num = |x: Option<f64>| x.map(|v| format!("{v:.6}")).unwrap_or_default();
    for r in &rows {
        t.row([
            quarter.to_string(),
            CsvTable::text(&r.survey),
            r.channel.to_lowercase(),
            r.invited.to_string(),
            r.delivered.to_string(),
            r.opened.map(|n| n.to_string()).unwrap_or_default(),
            r.started.to_string(),
            r.completed.to_string(),
            r.opted_out.to_string(),
            r.bounced.to_string(),
            num(r.share.map(|s| s.0)),
            num(r.share.map(|s| s.1)),
            num(r.share.map(|s| s.2)),
        ])?;
    }
    t.into_response(&format!(
        "outreach-{}.csv",
        quarter.to_string().replace(' ', "-")
    ))
}
