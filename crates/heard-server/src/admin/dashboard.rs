//! Dashboards: per survey and per service, for a chosen federal fiscal quarter, with a weekly trend chart and its
//! data table, and the A-11 exports (the v2 per-response CSV and the quarterly collection figures).

use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use chrono::{NaiveDate, NaiveTime};
use heard_domain::fiscal::FiscalQuarter;
use heard_domain::report::{self, ResponseFacts};
use heard_domain::survey::SurveyDefinition;
use heard_domain::{OrgId, SurveyId, chart};
use heard_store::responses::ResponseFilter;
use heard_store::{Service, Survey};
use minijinja::{Value, context};
use serde::Deserialize;
use std::collections::BTreeMap;

use super::{base_ctx, page};
use crate::auth::{Analyst, Viewer};
use crate::{AppError, AppResult, AppState};

#[derive(Deserialize, Default)]
pub struct PeriodQuery {
    pub quarter: Option<String>,
}

impl PeriodQuery {
    /// The chosen quarter, or the current one.
    pub fn quarter(&self) -> AppResult<FiscalQuarter> {
        match self.quarter.as_deref().filter(|s| !s.is_empty()) {
            Some(s) => Ok(FiscalQuarter::parse(s)?),
            None => Ok(FiscalQuarter::containing(chrono::Utc::now().date_naive())),
        }
    }
}

/// The current quarter and the five before it, for the quarter picker.
pub fn recent_quarters() -> Vec<String> {
    let mut q = FiscalQuarter::containing(chrono::Utc::now().date_naive());
    let mut out = Vec::new();
    for _ in 0..6 {
        out.push(q.to_string());
        q = q.previous();
    }
    out
}

fn ms(d: NaiveDate) -> i64 {
    d.and_time(NaiveTime::MIN).and_utc().timestamp_millis()
}

fn day(d: NaiveDate) -> i64 {
    ms(d).div_euclid(86_400_000)
}

pub async fn facts(
    state: &AppState,
    org: OrgId,
    f: &ResponseFilter,
) -> AppResult<Vec<ResponseFacts>> {
    let rows = state.store.slim_responses(org, f).await?;
    rows.into_iter()
        .map(|r| {
            Ok(ResponseFacts {
                submitted_at: r.submitted_at,
                survey_version: r.survey_version,
                channel: r.channel,
                language: r.language,
                trust: r.trust,
                trust_positive: r.trust_positive,
                answers: serde_json::from_str(&r.answers)
                    .map_err(|e| AppError::Internal(format!("stored answers: {e}")))?,
            })
        })
        .collect()
}

pub async fn versions(
    state: &AppState,
    org: OrgId,
    survey: SurveyId,
) -> AppResult<BTreeMap<i32, SurveyDefinition>> {
    Ok(state
        .store
        .survey_versions(org, survey)
        .await?
        .into_iter()
        .map(|v| (v.version, v.definition))
        .collect())
}

/// Everything the dashboard templates show for a set of responses in a quarter.
fn figures(
    versions: &BTreeMap<i32, SurveyDefinition>,
    all: &[ResponseFacts],
    quarter: FiscalQuarter,
    offered: u64,
    customers: Option<u64>,
    title: &str,
) -> Value {
    let (from, to) = (ms(quarter.start()), ms(quarter.end_exclusive()));
    let in_quarter: Vec<ResponseFacts> = all
        .iter()
        .filter(|f| f.submitted_at >= from && f.submitted_at < to)
        .cloned()
        .collect();
    let q = report::survey_report(versions, &in_quarter, customers);
    // The trend shows the last year of weeks up to the quarter's end, so a quarter is seen in context.
    let trend_from = ms(report::week_start(to - 52 * 7 * 86_400_000));
    let recent: Vec<ResponseFacts> = all
        .iter()
        .filter(|f| f.submitted_at >= trend_from && f.submitted_at < to)
        .cloned()
        .collect();
    let trend = report::survey_report(versions, &recent, None);
    let svg = chart::trend_svg(
        &trend.weekly,
        &format!("Weekly trust, {title}"),
        "Percent of respondents who answered the trust question positively, by week, with the 95% interval shaded; bars show responses per week. The same figures are in the table below the chart.",
    );
    let collection = report::collection_figures(q.responses, offered, customers);
    context! {
        quarter => quarter.to_string(), report => Value::from_serialize(&q), trend => Value::from_serialize(&trend.weekly),
        chart => Value::from_safe_string(svg), collection => Value::from_serialize(&collection),
        total_all_time => all.len(),
    }
}

/// Responses flagged urgent (crisis or threat language), newest first: shown at the top of dashboards the moment
/// they are stored, because someone may need help now.
pub async fn urgent(state: &AppState, org: OrgId, survey: Option<SurveyId>) -> AppResult<Value> {
    let f = ResponseFilter {
        survey_id: survey,
        urgent: Some(true),
        ..Default::default()
    };
    let total = state.store.count_responses(org, &f).await?;
    let recent = state
        .store
        .responses_page(org, &f, None, heard_store::responses::Order::NewestFirst, 5)
        .await?;
    let rows: Vec<Value> = recent
        .iter()
        .map(|r| {
            let text = r
                .answers
                .values()
                .find_map(|v| v.as_text().filter(|t| t.len() > 3))
                .map(|t| t.chars().take(200).collect::<String>());
            context! { id => r.id.to_string(), submitted_at => r.submitted_at, text => text }
        })
        .collect();
    Ok(context! { total => total, rows => rows })
}

pub async fn service_figures(
    state: &AppState,
    org: OrgId,
    service: &Service,
    surveys: &[Survey],
    quarter: FiscalQuarter,
) -> AppResult<Value> {
    let all = facts(
        state,
        org,
        &ResponseFilter {
            service_id: Some(service.id),
            ..Default::default()
        },
    )
    .await?;
    let (from_day, to_day) = (day(quarter.start()), day(quarter.end_exclusive()));
    let mut offered = 0u64;
    let mut rows = Vec::new();
    for s in surveys {
        let shown: i64 = state
            .store
            .displays(org, s.id, from_day, to_day)
            .await?
            .iter()
            .map(|(_, n)| n)
            .sum();
        offered += shown as u64;
        let f = ResponseFilter {
            survey_id: Some(s.id),
            from_ms: Some(ms(quarter.start())),
            to_ms: Some(ms(quarter.end_exclusive())),
            ..Default::default()
        };
        rows.push(context! { id => s.id.to_string(), name => s.name, offered => shown, respondents => state.store.count_responses(org, &f).await?,
            status => s.published_version.map(|v| format!("Live (version {v})")).unwrap_or_else(|| "Draft".into()) });
    }
    let customers = state
        .store
        .service_volume(org, service.id, quarter.year, quarter.quarter as i32)
        .await?
        .map(|n| n as u64);
    // Surveys of a service may differ; trust is comparable across them (it is denormalized per response), drivers are
    // shown per survey.
    let fig = figures(
        &BTreeMap::new(),
        &all,
        quarter,
        offered,
        customers,
        service.name.get("en"),
    );
    Ok(context! { ..fig, ..context!{ surveys => rows, customers => customers } })
}

pub async fn survey(
    State(state): State<AppState>,
    m: Viewer,
    Path((_, id)): Path<(String, String)>,
    Query(q): Query<PeriodQuery>,
) -> AppResult<Response> {
    let id: SurveyId = id.parse().map_err(|_| AppError::NotFound)?;
    let s = state.store.survey(m.org_id(), id).await?;
    let service = state.store.service(m.org_id(), s.service_id).await?;
    let quarter = q.quarter()?;
    let versions = versions(&state, m.org_id(), id).await?;
    let all = facts(
        &state,
        m.org_id(),
        &ResponseFilter {
            survey_id: Some(id),
            ..Default::default()
        },
    )
    .await?;
    let displays = state
        .store
        .displays(
            m.org_id(),
            id,
            day(quarter.start()),
            day(quarter.end_exclusive()),
        )
        .await?;
    let offered: i64 = displays.iter().map(|(_, n)| n).sum();
    let customers = state
        .store
        .service_volume(
            m.org_id(),
            s.service_id,
            quarter.year,
            quarter.quarter as i32,
        )
        .await?
        .map(|n| n as u64);
    let fig = figures(&versions, &all, quarter, offered as u64, customers, &s.name);
    let share = s
        .published_version
        .map(|_| format!("{}/s/{}/{}", state.public_url, m.org.slug, s.id));
    let version_list: Vec<_> = versions.keys().rev().copied().collect();
    Ok(page(
        &state,
        "survey_dashboard.html",
        base_ctx(&m, "surveys"),
        context! {
            survey => context!{ id => s.id.to_string(), name => s.name, template => s.draft.template.key(), published_version => s.published_version,
                transaction_point => s.transaction_point },
            service => context!{ id => service.id.to_string(), name => service.name.get("en") },
            figures => fig, share => share, versions => version_list, displays => displays,
            urgent => urgent(&state, m.org_id(), Some(id)).await?,
            quarter => quarter.to_string(), quarters => recent_quarters(),
            expired => s.draft.pra.as_ref().is_some_and(|p| p.is_expired(chrono::Utc::now().date_naive())),
        },
    ))
}

/// A-11 version 2 per-response upload file for a quarter.
pub async fn a11_csv(
    State(state): State<AppState>,
    m: Analyst,
    Path((_, id)): Path<(String, String)>,
    Query(q): Query<PeriodQuery>,
) -> AppResult<Response> {
    let id: SurveyId = id.parse().map_err(|_| AppError::NotFound)?;
    let s = state.store.survey(m.org_id(), id).await?;
    let quarter = q.quarter()?;
    let versions = versions(&state, m.org_id(), id).await?;
    let f = ResponseFilter {
        survey_id: Some(id),
        from_ms: Some(ms(quarter.start())),
        to_ms: Some(ms(quarter.end_exclusive())),
        ..Default::default()
    };
    let mut rows = Vec::new();
    let mut cursor = None;
    loop {
        let page = state
            .store
            .responses_page(
                m.org_id(),
                &f,
                cursor,
                heard_store::responses::Order::OldestFirst,
                1000,
            )
            .await?;
        let Some(last) = page.last() else { break };
        cursor = Some(last.cursor());
        for r in page {
            rows.push((
                r.id.to_string(),
                ResponseFacts {
                    submitted_at: r.submitted_at,
                    survey_version: r.survey_version,
                    channel: r.channel,
                    language: r.language,
                    trust: r.trust,
                    trust_positive: r.trust_positive,
                    answers: r.answers,
                },
            ));
        }
    }
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(report::A11_V2_CSV_HEADER)
        .map_err(|e| AppError::Internal(e.to_string()))?;
    for row in report::a11_v2_csv_rows(&versions, &rows) {
        w.write_record(row.iter().map(|c| crate::export::csv_safe(c)))
            .map_err(|e| AppError::Internal(e.to_string()))?;
    }
    let body = w
        .into_inner()
        .map_err(|e| AppError::Internal(e.to_string()))?;
    let name = format!("a11-v2-{}-{}.csv", s.id, quarter);
    let mut resp = body.into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    h.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")).expect("ascii"),
    );
    Ok(resp)
}
