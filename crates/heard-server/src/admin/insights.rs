//! Key drivers, barriers by customer characteristics, and operations beside experience (issue 18, items 3 to 5),
//! for every member (viewers included: they are aggregates, with small cells suppressed, like the dashboards;
//! "Refresh now" is an analyst's). The pages read the newest snapshot the `insights.refresh` job stored for the
//! chosen fiscal quarter (`?quarter=FY2026-Q1`; `period=` is accepted too) and scope (`?service=<id>`: one
//! service's figures; absent: the organization's), say when it was computed, from how many responses and for
//! which period, and offer "Refresh now" (a job, due at once). Every table downloads as CSV
//! (`?format=csv&table=NAME`). The barriers page compares groups on one score (`?score=`, see
//! `crate::insights::SCORES`; trust by default).

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use heard_domain::chart::{ImpactPoint, impact_performance_svg};
use heard_domain::fiscal::FiscalQuarter;
use minijinja::{Value, context};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::csv_table::CsvTable;
use super::{base_ctx, page};
use crate::auth::{AdminForm, Analyst, Viewer};
use crate::insights::{
    DRIVERS, DriversSnapshot, OPERATIONS, OperationsSnapshot, SCORES, SEGMENTS, ScoreSegments,
    SegmentRow, SegmentsSnapshot, refresh_now_job,
};
use crate::{AppError, AppResult, AppState};

#[derive(Debug, Deserialize, Default)]
pub struct InsightQuery {
    /// A fiscal quarter (`FY2026-Q1`); the current one when absent. `period` is its older name.
    #[serde(alias = "period")]
    pub quarter: Option<String>,
    /// A service's id: its figures only; the organization's when absent or empty.
    pub service: Option<String>,
    /// The barriers page's score (`trust` when absent).
    pub score: Option<String>,
    pub format: Option<String>,
    pub table: Option<String>,
}

/// The quarter asked for, or the organization's current one; a bad one is the 422 every page gives
/// (`quarter`, `invalid_quarter`).
fn quarter(m: &Viewer, q: &InsightQuery) -> AppResult<FiscalQuarter> {
    crate::admin::dashboard::PeriodQuery {
        quarter: q.quarter.clone(),
    }
    .quarter(&m.org.time_zone)
}

/// The service asked for (one of the organization's), or `None` for the whole organization.
async fn service_of(state: &AppState, m: &Viewer, q: &InsightQuery) -> AppResult<Scope> {
    let services = state.store.services(m.org_id()).await?;
    let chosen = match q
        .service
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        None => None,
        Some(s) => {
            let id = uuid::Uuid::parse_str(s).map_err(|_| {
                AppError::field(
                    "service",
                    "not_an_option",
                    "service is the id of one of the organization's services",
                )
            })?;
            // Another organization's service (or none) is not found, as on every other page.
            if !services.iter().any(|x| *x.id.as_uuid() == id) {
                return Err(AppError::NotFound);
            }
            Some(id)
        }
    };
    let options = services
        .iter()
        .map(|s| context! { id => s.id.to_string(), name => s.name.get("en"), selected => Some(*s.id.as_uuid()) == chosen })
        .collect();
    let name = services
        .iter()
        .find(|s| Some(*s.id.as_uuid()) == chosen)
        .map(|s| s.name.get("en").to_string());
    Ok(Scope {
        service: chosen,
        name,
        options,
    })
}

/// The scope a page shows: one service, or the organization.
struct Scope {
    service: Option<uuid::Uuid>,
    name: Option<String>,
    /// Every service, for the select.
    options: Vec<Value>,
}

/// The snapshot of `kind` for `quarter` and `service` (the organization's when `None`), and what every page says
/// about it. A snapshot of an older shape reads as not computed yet (the next refresh replaces it).
async fn snapshot<T: DeserializeOwned>(
    state: &AppState,
    m: &Viewer,
    kind: &str,
    quarter: FiscalQuarter,
    scope: Scope,
) -> AppResult<(Option<T>, Value)> {
    let service = scope.service;
    let key = service
        .map(crate::insights::service_scope)
        .unwrap_or_default();
    let mut snap = state
        .store
        .insight_snapshot(m.org_id(), kind, &key, &quarter.to_string())
        .await?;
    // A refresh is on its way when one is queued, or when new data's `data.arrived` job will enqueue one.
    let mut jobs_waiting = 0;
    for kind in [crate::insights::REFRESH_KIND, heard_store::after_data::KIND] {
        jobs_waiting += state
            .store
            .pending_jobs_of_kind(m.org_id(), kind)
            .await
            .unwrap_or(0);
    }
    let result = match snap.as_ref().map(|s| serde_json::from_str::<T>(&s.result)) {
        Some(Ok(r)) => Some(r),
        Some(Err(e)) => {
            tracing::warn!(org = %m.org_id(), kind, error = %e, "insight snapshot of an older shape");
            snap = None;
            None
        }
        None => None,
    };
    let service_param = service.map(|s| format!("&service={s}")).unwrap_or_default();
    let info = context! {
        period => quarter.to_string(),
        service => service.map(|s| s.to_string()),
        service_param => service_param,
        service_name => scope.name,
        services => scope.options,
        trust_rule => heard_domain::survey::TemplateKind::TRUST_RULE,
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
    m: Viewer,
    Query(q): Query<InsightQuery>,
) -> AppResult<Response> {
    let quarter = quarter(&m, &q)?;
    let scope = service_of(&state, &m, &q).await?;
    let (snap, info) = snapshot::<DriversSnapshot>(&state, &m, DRIVERS, quarter, scope).await?;
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
    m: Viewer,
    Query(q): Query<InsightQuery>,
) -> AppResult<Response> {
    let quarter = quarter(&m, &q)?;
    let scope = service_of(&state, &m, &q).await?;
    let score_key = q
        .score
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .unwrap_or("trust");
    if !SCORES.iter().any(|s| s.0 == score_key) {
        return Err(AppError::field(
            "score",
            "not_an_option",
            format!(
                "score is one of {}",
                SCORES.iter().map(|s| s.0).collect::<Vec<_>>().join(", ")
            ),
        ));
    }
    let (snap, info) = snapshot::<SegmentsSnapshot>(&state, &m, SEGMENTS, quarter, scope).await?;
    let k = snap.as_ref().map(|s| s.k).unwrap_or(11);
    let snap = snap.and_then(|s| s.scores.into_iter().find(|x| x.key == score_key));
    let worse_off = |sc: &ScoreSegments, g: &SegmentRow| sc.worse_off(g);
    if let Some(table) = csv_of(&q) {
        let snap = snap.ok_or(AppError::NotFound)?;
        let t = match table {
            "segments" => {
                let mut t = CsvTable::new([
                    "period",
                    "score",
                    "characteristic",
                    "segment",
                    "segment_code",
                    "suppressed",
                    "n",
                    "counted",
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
                        snap.key.clone(),
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
                    "score",
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
                for s in snap.segments.iter().filter(|g| worse_off(&snap, g)) {
                    for c in &s.causes {
                        t.row([
                            quarter.to_string(),
                            snap.key.clone(),
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
        return t.into_response(&format!("segments-{score_key}-{table}-{quarter}.csv"));
    }
    let score = snap.as_ref().map(|s| {
        context! { key => s.key, label => s.label, definition => s.definition, higher_is_better => s.higher_is_better, n => s.n }
    });
    let scores: Vec<Value> = SCORES
        .iter()
        .map(|(key, label, _, _)| context! { key => key, label => label, selected => *key == score_key })
        .collect();
    let (characteristics, gaps) = match snap {
        Some(s) => {
            let gaps: Vec<Value> = s
                .segments
                .iter()
                .filter(|g| worse_off(&s, g))
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
            (chars, gaps)
        }
        None => (vec![], vec![]),
    };
    Ok(page(
        &state,
        "insight_segments.html",
        base_ctx(&m, "segments"),
        context! { info => info, characteristics => characteristics, gaps => gaps, k => k, score => score, scores => scores, score_key => score_key },
    ))
}

/// Trust beside operational data.
pub async fn operations(
    State(state): State<AppState>,
    m: Viewer,
    Query(q): Query<InsightQuery>,
) -> AppResult<Response> {
    let quarter = quarter(&m, &q)?;
    let scope = service_of(&state, &m, &q).await?;
    let (snap, info) =
        snapshot::<OperationsSnapshot>(&state, &m, OPERATIONS, quarter, scope).await?;
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
            "stage_gaps" => {
                let mut t = CsvTable::new([
                    "period",
                    "rank",
                    "journey",
                    "journey_id",
                    "stage",
                    "stage_position",
                    "responses",
                    "trust_share",
                    "trust_deficit",
                    "people_reached",
                    "people_affected",
                ])?;
                for g in &snap.stage_gaps {
                    t.row([
                        quarter.to_string(),
                        g.rank.to_string(),
                        CsvTable::text(&g.journey),
                        g.journey_id.clone(),
                        CsvTable::text(&g.stage),
                        g.position.to_string(),
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
    // `quarter` (the pages' name), or `period` (its older name).
    let raw = match f.get("quarter") {
        "" => f.get("period"),
        q => q,
    };
    let quarter = FiscalQuarter::parse(raw)?;
    let m = m.as_viewer();
    let service = service_of(
        &state,
        &m,
        &InsightQuery {
            service: Some(f.get("service").to_string()),
            ..InsightQuery::default()
        },
    )
    .await?
    .service;
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
    Ok(Redirect::to(&format!(
        "/admin/o/{}/{back}?quarter={quarter}{}",
        m.org_id(),
        service.map(|s| format!("&service={s}")).unwrap_or_default()
    ))
    .into_response())
}
