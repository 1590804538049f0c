//! Dashboards: per survey and per service, for a chosen federal fiscal quarter, with a weekly trend chart and its
//! data table, and the A-11 exports (the v2 per-response CSV and the quarterly collection figures).

use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use heard_domain::fiscal::FiscalQuarter;
use heard_domain::report::{self, ResponseFacts};
use heard_domain::survey::SurveyDefinition;
use heard_domain::{OrgId, SurveyId, Zone, chart};
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
    /// The chosen quarter, or the current one in the organization's time zone.
    pub fn quarter(&self, zone: &Zone) -> AppResult<FiscalQuarter> {
        match self.quarter.as_deref().filter(|s| !s.is_empty()) {
            Some(s) => Ok(FiscalQuarter::parse(s)?),
            None => Ok(FiscalQuarter::containing_ms(heard_store::now_ms(), zone)),
        }
    }
}

/// The current quarter (in the organization's time zone) and the five before it, for the quarter picker.
pub fn recent_quarters(zone: &Zone) -> Vec<String> {
    let mut q = FiscalQuarter::containing_ms(heard_store::now_ms(), zone);
    let mut out = Vec::new();
    for _ in 0..6 {
        out.push(q.to_string());
        q = q.previous();
    }
    out
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
    zone: &Zone,
) -> Value {
    let (from, to) = quarter.bounds_ms(zone);
    let in_quarter: Vec<ResponseFacts> = all
        .iter()
        .filter(|f| f.submitted_at >= from && f.submitted_at < to)
        .cloned()
        .collect();
    let q = report::survey_report(versions, &in_quarter, customers, zone);
    // The trend shows the last year of weeks up to the quarter's end, so a quarter is seen in context.
    let trend_from = zone.day_start_ms(report::week_start(to - 52 * 7 * 86_400_000, zone));
    let recent: Vec<ResponseFacts> = all
        .iter()
        .filter(|f| f.submitted_at >= trend_from && f.submitted_at < to)
        .cloned()
        .collect();
    let trend = report::survey_report(versions, &recent, None, zone);
    let svg = chart::trend_svg(
        &trend.weekly,
        &format!("Weekly trust, {title}"),
        "Percent of respondents who answered the trust question positively, by week, with the 95% interval shaded; bars show responses per week. The same figures are in the table below the chart.",
    );
    let collection = report::collection_figures(q.responses, offered, customers);
    // Segments are keyed by code; people read the channel's and the language's names.
    let segment_labels: BTreeMap<String, String> = q
        .by_channel
        .iter()
        .map(|c| {
            let label = c
                .key
                .parse::<heard_domain::Channel>()
                .map(|ch| ch.label().to_string())
                .unwrap_or_else(|_| c.key.clone());
            (format!("channel:{}", c.key), label)
        })
        .chain(q.by_language.iter().map(|l| {
            (
                format!("language:{}", l.key),
                crate::i18n::language_name(&l.key, "en"),
            )
        }))
        .collect();
    // Drivers and indicators are keyed by their A-11 codes; people read their names.
    let code_labels: BTreeMap<&str, &str> = heard_domain::survey::A11Role::V1_DRIVERS
        .iter()
        .map(|r| (r.key(), r.label()))
        .collect();
    let indicator_labels: BTreeMap<&str, &str> = heard_domain::templates::V2_INDICATORS
        .iter()
        .map(|k| (*k, heard_domain::templates::indicator_label(k)))
        .collect();
    context! {
        segment_labels => segment_labels, driver_labels => code_labels, indicator_labels => indicator_labels,
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
    zone: &Zone,
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
    // Displays are counted per local day (see `Zone::day_number`).
    let (from_day, to_day) = (
        heard_domain::zone::day_number(quarter.start()),
        heard_domain::zone::day_number(quarter.end_exclusive()),
    );
    let (from_ms, to_ms) = quarter.bounds_ms(zone);
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
            from_ms: Some(from_ms),
            to_ms: Some(to_ms),
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
        zone,
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
    let zone = m.org.time_zone;
    let quarter = q.quarter(&zone)?;
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
            heard_domain::zone::day_number(quarter.start()),
            heard_domain::zone::day_number(quarter.end_exclusive()),
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
    let fig = figures(
        &versions,
        &all,
        quarter,
        offered as u64,
        customers,
        &s.name,
        &zone,
    );
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
                transaction_point => super::surveys::transaction_point_label(&s.transaction_point) },
            service => context!{ id => service.id.to_string(), name => service.name.get("en") },
            figures => fig, share => share, versions => version_list, displays => displays,
            urgent => urgent(&state, m.org_id(), Some(id)).await?,
            quarter => quarter.to_string(), quarters => recent_quarters(&zone),
            expired => s.draft.pra.as_ref().is_some_and(|p| p.is_expired(zone.date(heard_store::now_ms()))),
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
    let quarter = q.quarter(&m.org.time_zone)?;
    let versions = versions(&state, m.org_id(), id).await?;
    // The quarter's responses are those of its local days in the organization's time zone.
    let (from_ms, to_ms) = quarter.bounds_ms(&m.org.time_zone);
    let f = ResponseFilter {
        survey_id: Some(id),
        from_ms: Some(from_ms),
        to_ms: Some(to_ms),
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
