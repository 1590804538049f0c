//! Key drivers, barriers by customer characteristics, and operations beside experience (issue 18, items 3 to 5),
//! for analysts and up. The pages read the newest snapshot the `insights.refresh` job stored for the chosen fiscal
//! quarter (`crate::insights`), say when it was computed, from how many responses and for which period, and offer
//! "Refresh now" (a job, due at once). Every table downloads as CSV (`?format=csv&table=NAME`).

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use heard_domain::chart::{ImpactPoint, impact_performance_svg};
use heard_domain::fiscal::FiscalQuarter;
use minijinja::{Value, context};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::csv_table::CsvTable;
use super::{base_ctx, page};
use crate::auth::{AdminForm, Analyst};
use crate::insights::{
    DRIVERS, DriversSnapshot, OPERATIONS, OperationsSnapshot, SEGMENTS, SegmentsSnapshot,
    refresh_now_job,
};
use crate::{AppError, AppResult, AppState};

#[derive(Debug, Deserialize, Default)]
pub struct InsightQuery {
    /// A fiscal quarter (`FY2026-Q1`); the current one when absent.
    pub period: Option<String>,
    pub format: Option<String>,
    pub table: Option<String>,
}

/// The quarter asked for, or the organization's current one.
fn quarter(m: &Analyst, q: &InsightQuery) -> AppResult<FiscalQuarter> {
    match q.period.as_deref().filter(|p| !p.is_empty()) {
        Some(p) => {
            FiscalQuarter::parse(p).map_err(|e| AppError::field("period", "invalid", e.message))
        }
        None => Ok(FiscalQuarter::containing_ms(
            heard_store::now_ms(),
            &m.org.time_zone,
        )),
    }
}

/// The snapshot of `kind` for `quarter` and what every page says about it.
async fn snapshot<T: DeserializeOwned>(
    state: &AppState,
    m: &Analyst,
    kind: &str,
    quarter: FiscalQuarter,
) -> AppResult<(Option<T>, Value)> {
    let snap = state
        .store
        .insight_snapshot(m.org_id(), kind, "", &quarter.to_string())
        .await?;
    let jobs_waiting = state
        .store
        .pending_jobs_of_kind(m.org_id(), crate::insights::REFRESH_KIND)
        .await
        .unwrap_or(0);
    let result = match &snap {
        Some(s) => Some(
            serde_json::from_str::<T>(&s.result)
                .map_err(|e| AppError::Internal(format!("{kind} snapshot: {e}")))?,
        ),
        None => None,
    };
    let info = context! {
        period => quarter.to_string(),
        previous => quarter.previous().to_string(),
        next => quarter.next().to_string(),
        computed_at => snap.as_ref().map(|s| s.computed_at),
        n => snap.as_ref().map(|s| s.n),
        waiting => jobs_waiting,
    };
    Ok((result, info))
}

fn csv_of(q: &InsightQuery) -> Option<&str> {
    (q.format.as_deref() == Some("csv")).then(|| q.table.as_deref().unwrap_or(""))
}

fn cell(x: Option<f64>) -> String {
    x.map(|v| format!("{v:.4}")).unwrap_or_default()
}

fn count(x: Option<u64>) -> String {
    x.map(|v| v.to_string()).unwrap_or_default()
}

fn unknown_table(t: &str) -> AppError {
    AppError::field(
        "table",
        "not_an_option",
        format!("there is no table {t:?} on this page"),
    )
}

/// Key drivers of trust.
pub async fn drivers(
    State(state): State<AppState>,
    m: Analyst,
    Query(q): Query<InsightQuery>,
) -> AppResult<Response> {
    let quarter = quarter(&m, &q)?;
    let (snap, info) = snapshot::<DriversSnapshot>(&state, &m, DRIVERS, quarter).await?;
    if let Some(table) = csv_of(&q) {
        let snap = snap.ok_or(AppError::NotFound)?;
        let model = snap
            .models
            .iter()
            .find(|mo| mo.key == table)
            .ok_or_else(|| unknown_table(table))?;
        let mut t = CsvTable::new([
            "period",
            "model",
            "method",
            "n",
            "r_squared",
            "rank",
            "driver",
            "driver_code",
            "share_of_r_squared",
            "share_low_95",
            "share_high_95",
            "importance",
            "performance",
            "quadrant",
            "effect_on_trust",
        ])?;
        for d in &model.drivers {
            t.row([
                quarter.to_string(),
                model.key.clone(),
                model.method.clone(),
                model.n.to_string(),
                format!("{:.4}", model.r_squared),
                d.rank.to_string(),
                CsvTable::text(&d.label),
                CsvTable::text(&d.code),
                format!("{:.4}", d.share),
                cell(d.share_interval.map(|i| i.0)),
                cell(d.share_interval.map(|i| i.1)),
                format!("{:.4}", d.importance),
                format!("{:.4}", d.performance),
                // Quadrants read "higher is better", true only of the A-11 indicators (a theme's or a long wait's
                // performance is how common it is): others get no quadrant, as on the page.
                if model.key == "indicators" {
                    d.quadrant.clone()
                } else {
                    String::new()
                },
                d.direction.clone(),
            ])?;
        }
        return t.into_response(&format!("drivers-{}-{}.csv", model.key, quarter));
    }
    let models: Vec<Value> = snap
        .map(|s| s.models)
        .unwrap_or_default()
        .into_iter()
        .map(|mo| {
            // Performance is a share in every model; only the indicators' is "good" when high, so only they get
            // the impact × performance chart and quadrants (a theme or a long wait gets its effect on trust).
            let indicators = mo.key == "indicators";
            let fmt = |v: f64| format!("{:.0}%", v * 100.0);
            let points: Vec<ImpactPoint> = mo
                .drivers
                .iter()
                .map(|d| ImpactPoint {
                    label: d.label.clone(),
                    importance: d.share,
                    performance: d.performance,
                })
                .collect();
            let chart = (indicators && !points.is_empty()).then(|| {
                impact_performance_svg(
                    &points,
                    mo.importance_cut,
                    mo.performance_cut,
                    &format!("Impact and performance: {}", mo.title),
                    &format!(
                        "Each numbered dot is a driver: to the right, more of trust explained; higher, better performance ({}). n = {}. The table below gives the same figures.",
                        mo.performance_words, mo.n
                    ),
                    &fmt,
                )
            });
            let rows: Vec<Value> = mo
                .drivers
                .iter()
                .map(|d| {
                    context! {
                        rank => d.rank, label => d.label, share => d.share,
                        low => d.share_interval.map(|i| i.0), high => d.share_interval.map(|i| i.1),
                        performance => fmt(d.performance), quadrant => quadrant_words(&d.quadrant),
                        effect => if d.direction == "lowers" { "Lowers trust" } else { "Raises trust" },
                    }
                })
                .collect();
            context! {
                key => mo.key, title => mo.title, method => mo.method, n => mo.n, dropped => mo.dropped,
                r_squared => mo.r_squared, r_low => mo.r_squared_interval.map(|i| i.0),
                r_high => mo.r_squared_interval.map(|i| i.1), sampled => mo.sampled, resamples => mo.resamples,
                performance_words => mo.performance_words, note => mo.note, indicators => indicators, chart => chart.map(Value::from_safe_string),
                rows => rows,
            }
        })
        .collect();
    Ok(page(
        &state,
        "insight_drivers.html",
        base_ctx(&m, "drivers"),
        context! { info => info, models => models },
    ))
}

fn quadrant_words(q: &str) -> &'static str {
    match q {
        "concentrate_here" => "Concentrate here",
        "keep_up_the_good_work" => "Keep up the good work",
        "low_priority" => "Low priority",
        "possible_overkill" => "Possible overkill",
        _ => "",
    }
}

/// Barriers by customer characteristics, and their likely causes.
pub async fn segments(
    State(state): State<AppState>,
    m: Analyst,
    Query(q): Query<InsightQuery>,
) -> AppResult<Response> {
    let quarter = quarter(&m, &q)?;
    let (snap, info) = snapshot::<SegmentsSnapshot>(&state, &m, SEGMENTS, quarter).await?;
    if let Some(table) = csv_of(&q) {
        let snap = snap.ok_or(AppError::NotFound)?;
        let t = match table {
            "segments" => {
                let mut t = CsvTable::new([
                    "period",
                    "characteristic",
                    "segment",
                    "segment_code",
                    "suppressed",
                    "n",
                    "trust_positive",
                    "share",
                    "everyone_else_n",
                    "everyone_else_share",
                    "difference",
                    "p_value",
                    "q_value",
                    "significant",
                ])?;
                for s in &snap.segments {
                    t.row([
                        quarter.to_string(),
                        s.characteristic.clone(),
                        CsvTable::text(&s.label),
                        CsvTable::text(&s.value),
                        s.suppressed.clone().unwrap_or_default(),
                        count(s.n),
                        count(s.positive),
                        cell(s.share),
                        count(s.rest_n),
                        cell(s.rest_share),
                        cell(s.difference),
                        cell(s.p_value),
                        cell(s.q_value),
                        s.significant.to_string(),
                    ])?;
                }
                t
            }
            "causes" => {
                let mut t = CsvTable::new([
                    "period",
                    "characteristic",
                    "segment",
                    "cause",
                    "cause_code",
                    "kind",
                    "segment_rate",
                    "everyone_else_rate",
                    "lift",
                    "excess_people",
                    "segment_with",
                    "segment_known",
                    "test",
                    "p_value",
                    "q_value",
                    "significant",
                ])?;
                // The gaps the page explains: significant and worse off than everyone else.
                for s in snap.segments.iter().filter(|g| worse_off(g)) {
                    for c in &s.causes {
                        t.row([
                            quarter.to_string(),
                            s.characteristic.clone(),
                            CsvTable::text(&s.label),
                            CsvTable::text(&c.label),
                            CsvTable::text(&c.code),
                            c.family.clone(),
                            format!("{:.4}", c.segment_rate),
                            format!("{:.4}", c.rest_rate),
                            cell(c.lift),
                            format!("{:.0}", c.excess),
                            count(c.segment_with),
                            count(c.segment_known),
                            c.test.clone(),
                            format!("{:.6}", c.p_value),
                            format!("{:.6}", c.q_value),
                            c.significant.to_string(),
                        ])?;
                    }
                }
                t
            }
            other => return Err(unknown_table(other)),
        };
        return t.into_response(&format!("segments-{table}-{quarter}.csv"));
    }
    let (characteristics, gaps, k) = match snap {
        Some(s) => {
            let gaps: Vec<Value> = s
                .segments
                .iter()
                .filter(|g| worse_off(g))
                .map(Value::from_serialize)
                .collect();
            let chars: Vec<Value> = s
                .characteristics
                .iter()
                .map(|c| {
                    let rows: Vec<Value> = s
                        .segments
                        .iter()
                        .filter(|g| g.characteristic == c.key)
                        .map(Value::from_serialize)
                        .collect();
                    context! { key => c.key, label => c.label, not_collected => c.not_collected, total_n => c.total_n, rows => rows }
                })
                .collect();
            (chars, gaps, s.k)
        }
        None => (vec![], vec![], 11),
    };
    Ok(page(
        &state,
        "insight_segments.html",
        base_ctx(&m, "segments"),
        context! { info => info, characteristics => characteristics, gaps => gaps, k => k },
    ))
}

/// Trust beside operational data.
pub async fn operations(
    State(state): State<AppState>,
    m: Analyst,
    Query(q): Query<InsightQuery>,
) -> AppResult<Response> {
    let quarter = quarter(&m, &q)?;
    let (snap, info) = snapshot::<OperationsSnapshot>(&state, &m, OPERATIONS, quarter).await?;
    if let Some(table) = csv_of(&q) {
        let snap = snap.ok_or(AppError::NotFound)?;
        let t = match table {
            "asked_again_rate" => {
                let mut t = CsvTable::new(["period", "service", "people", "asked_again", "rate"])?;
                for a in &snap.asked_again {
                    t.row([
                        quarter.to_string(),
                        CsvTable::text(&a.service),
                        a.people.to_string(),
                        a.asked_again.to_string(),
                        cell(a.rate),
                    ])?;
                }
                t
            }
            "gaps" => {
                let mut t = CsvTable::new([
                    "period",
                    "rank",
                    "touchpoint",
                    "service",
                    "responses",
                    "trust_share",
                    "trust_deficit",
                    "volume_events",
                    "people_affected",
                ])?;
                for g in &snap.gaps {
                    t.row([
                        quarter.to_string(),
                        g.rank.to_string(),
                        CsvTable::text(&g.touchpoint),
                        CsvTable::text(&g.service),
                        g.n.to_string(),
                        format!("{:.4}", g.share),
                        format!("{:.4}", g.deficit),
                        g.volume.to_string(),
                        format!("{:.0}", g.people_affected),
                    ])?;
                }
                t
            }
            other => {
                let b = snap
                    .tables
                    .iter()
                    .find(|b| b.key == other)
                    .ok_or_else(|| unknown_table(other))?;
                let mut t = CsvTable::new([
                    "period",
                    "bucket",
                    "suppressed",
                    "n",
                    "trust_positive",
                    "share",
                    "low_95",
                    "high_95",
                ])?;
                for r in &b.rows {
                    t.row([
                        quarter.to_string(),
                        r.label.clone(),
                        r.suppressed.clone().unwrap_or_default(),
                        count(r.n),
                        count(r.positive),
                        cell(r.share),
                        cell(r.low),
                        cell(r.high),
                    ])?;
                }
                t
            }
        };
        return t.into_response(&format!("operations-{table}-{quarter}.csv"));
    }
    let ops = snap.map(|s| Value::from_serialize(&s));
    Ok(page(
        &state,
        "insight_operations.html",
        base_ctx(&m, "operations"),
        context! { info => info, ops => ops },
    ))
}

/// "Refresh now": enqueues the quarter's refresh, due at once, and returns to the page.
pub async fn refresh(
    State(state): State<AppState>,
    m: Analyst,
    AdminForm(f): AdminForm,
) -> AppResult<Response> {
    let quarter = FiscalQuarter::parse(f.get("period"))
        .map_err(|e| AppError::field("period", "invalid", e.message))?;
    // The form's "back": which page to return to.
    let back = match f.get("back") {
        b @ ("drivers" | "segments" | "operations") => b,
        _ => {
            return Err(AppError::field(
                "back",
                "not_an_option",
                "back is drivers, segments or operations",
            ));
        }
    };
    state
        .store
        .enqueue(refresh_now_job(m.org_id(), quarter, heard_store::now_ms()))
        .await?;
    tracing::info!(org = %m.org_id(), period = %quarter, "insights refresh asked for");
    Ok(Redirect::to(&format!("/admin/o/{}/{back}?period={quarter}", m.org_id())).into_response())
}

/// A gap the segments page explains with likely causes: significant, and the group worse off than everyone else.
fn worse_off(g: &crate::insights::SegmentRow) -> bool {
    g.significant && g.difference.is_some_and(|d| d < 0.0)
}
