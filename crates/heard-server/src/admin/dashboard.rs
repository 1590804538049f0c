//! Dashboards: per survey and per service, for a chosen federal fiscal quarter, with a weekly trend chart and its
//! data table, and the A-11 exports (the v2 per-response CSV and the quarterly collection figures).

use axum::extract::{Path, Query, State};
use axum::response::Response;
use heard_domain::fiscal::FiscalQuarter;
use heard_domain::report::{self, ResponseFacts};
use heard_domain::rollup::{self, AnswerDay, ResponseDay};
use heard_domain::survey::{SurveyDefinition, TemplateKind};
use heard_domain::{OrgId, SurveyId, Zone, chart};
use heard_store::responses::ResponseFilter;
use heard_store::rollups::RollupScope;
use heard_store::{Service, Survey};
use minijinja::{Value, context};
use serde::Deserialize;
use std::collections::BTreeMap;

use super::{base_ctx, page};
use crate::auth::{Analyst, Viewer};
use crate::{AppError, AppResult, AppState};

#[derive(Deserialize, Default)]
pub struct PeriodQuery {
    /// `quarter`, or `period` (its older name on the insight pages).
    #[serde(alias = "period")]
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

/// The rollup rows of a quarter (local days of the organization's time zone) for one survey or one service.
pub async fn quarter_days(
    state: &AppState,
    org: OrgId,
    survey: Option<SurveyId>,
    service: Option<heard_domain::ServiceId>,
    quarter: FiscalQuarter,
) -> AppResult<Vec<ResponseDay>> {
    let (from_day, to_day) = quarter_day_numbers(quarter);
    Ok(state
        .store
        .response_days(
            org,
            &RollupScope {
                survey,
                service,
                from_day,
                to_day,
            },
        )
        .await?)
}

/// A quarter's local days as day numbers, half-open (`Zone::day_number`).
pub fn quarter_day_numbers(quarter: FiscalQuarter) -> (i64, i64) {
    (
        heard_domain::zone::day_number(quarter.start()),
        heard_domain::zone::day_number(quarter.end_exclusive()),
    )
}

/// What the page says while the organization's rollups are being recomputed (after a change of time zone), or
/// `None`.
pub async fn rollups_note(state: &AppState, org: OrgId, zone: &Zone) -> AppResult<Option<String>> {
    Ok(state.store.rollups_pending(org).await?.map(|p| {
        let why = if p.reason == "time_zone" {
            format!(" after the time zone changed ({})", zone.display(p.since))
        } else {
            String::new()
        };
        format!(
            "The figures are being recomputed{why}; until that finishes they may count some responses or events \
             under the wrong day. Reload the page in a minute."
        )
    }))
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

/// Everything the dashboard templates show for the rollups of a quarter (`days` and `answers`, the quarter's local
/// days only). Every figure follows the chosen quarter, the trend included (its weeks are the quarter's). `respondents` is A-11's count for the collection
/// figures when it differs from the responses shown (a service counts only its A-11 surveys); `None` uses them.
// Each argument is one independent input of the figures; a struct for one private caller pair would only rename them.
#[allow(clippy::too_many_arguments)]
fn figures(
    versions: &BTreeMap<i32, SurveyDefinition>,
    days: &[ResponseDay],
    answers: &[AnswerDay],
    quarter: FiscalQuarter,
    offered: u64,
    respondents: Option<u64>,
    customers: Option<u64>,
    title: &str,
) -> Value {
    let q = rollup::survey_report(versions, days, answers, customers);
    let trend = report::weeks_between(&q.weekly, quarter.start(), quarter.end_exclusive());
    let svg = chart::trend_svg(
        &trend,
        &format!("Weekly trust, {title}, {quarter}"),
        &format!(
            "Percent of respondents who answered the trust question positively, by week of {quarter}, with the 95% interval shaded; bars show responses per week. The same figures are in the table below the chart."
        ),
    );
    let collection =
        report::collection_figures(respondents.unwrap_or(q.responses), offered, customers);
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
        quarter => quarter.to_string(), report => Value::from_serialize(&q), trend => Value::from_serialize(&trend),
        chart => Value::from_safe_string(svg), collection => Value::from_serialize(&collection),
    }
}

/// Responses flagged urgent (crisis or threat language), newest first: shown at the top of dashboards the moment
/// they are stored, because someone may need help now.
pub async fn urgent(state: &AppState, org: OrgId, survey: Option<SurveyId>) -> AppResult<Value> {
    let (total, recent) = state.store.urgent_responses(org, survey, 5).await?;
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
    // Trust is pooled only across surveys asking the same trust question: A-11 v2's when the service has a v2
    // survey (v1's "This interaction increased my confidence" is another question, on another scale), else v1's.
    // The other surveys' responses still count as responses.
    let trust_template = TemplateKind::trust_template(surveys.iter().map(|s| s.draft.template));
    let mut all = quarter_days(state, org, None, Some(service.id), quarter).await?;
    let mut trust_left_out = false;
    for d in &mut all {
        let template = surveys
            .iter()
            .find(|s| s.id == d.key.survey_id)
            .map(|s| s.draft.template);
        if template != Some(trust_template) {
            trust_left_out |= d.counts.trust_answered > 0;
            d.counts.trust_answered = 0;
            d.counts.trust_positive = 0;
            d.counts.scale_n = 0;
            d.counts.scale_sum = 0;
        }
    }
    let trust_note = trust_left_out.then(|| {
        format!(
            "Trust counts the {} surveys' trust question only; the other surveys ask a different question, shown on their own dashboards.",
            if trust_template == TemplateKind::A11V2 { "A-11 version 2" } else { "A-11 version 1" }
        )
    });
    // Displays are counted per local day (see `Zone::day_number`).
    let (from_day, to_day) = (
        heard_domain::zone::day_number(quarter.start()),
        heard_domain::zone::day_number(quarter.end_exclusive()),
    );
    // A-11's collection counts the service's A-11 surveys only: a blank survey's respondents (often answering
    // through the API, with no display counted) would inflate the response rate past 100%.
    let (mut offered, mut respondents) = (0u64, 0u64);
    let mut rows = Vec::new();
    for s in surveys {
        let shown: i64 = state
            .store
            .displays(org, s.id, from_day, to_day)
            .await?
            .iter()
            .map(|(_, n)| n)
            .sum();
        let answered: i64 = all
            .iter()
            .filter(|d| d.key.survey_id == s.id)
            .map(|d| d.counts.responses as i64)
            .sum();
        let a11 = s.draft.template != TemplateKind::Blank;
        if a11 {
            offered += shown as u64;
            respondents += answered.max(0) as u64;
        }
        rows.push(context! { id => s.id.to_string(), name => s.name, offered => shown, respondents => answered, a11 => a11,
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
        &[],
        quarter,
        offered,
        Some(respondents),
        customers,
        service.name.get("en"),
    );
    Ok(
        context! { ..fig, ..context!{ surveys => rows, customers => customers, trust_note => trust_note,
        rollups_note => rollups_note(state, org, zone).await? } },
    )
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
    let days = quarter_days(&state, m.org_id(), Some(id), None, quarter).await?;
    let (from_day, to_day) = quarter_day_numbers(quarter);
    let answers = state
        .store
        .answer_days(m.org_id(), id, from_day, to_day)
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
        &days,
        &answers,
        quarter,
        offered as u64,
        None,
        customers,
        &s.name,
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
                a11_v2 => s.draft.template == TemplateKind::A11V2,
                transaction_point => super::surveys::transaction_point_label(&s.transaction_point) },
            service => context!{ id => service.id.to_string(), name => service.name.get("en") },
            figures => context!{ ..fig, ..context!{ rollups_note => rollups_note(&state, m.org_id(), &zone).await? } },
            share => share, versions => version_list, displays => displays,
            urgent => urgent(&state, m.org_id(), Some(id)).await?,
            quarter => quarter.to_string(), quarters => recent_quarters(&zone),
            expired => s.draft.pra.as_ref().is_some_and(|p| p.is_expired(zone.date(heard_store::now_ms()))),
        },
    ))
}

/// A-11 version 2 per-response upload file for a quarter, for A-11 v2 surveys only (a v1 or blank survey has no
/// v2 trust question: 409). The cells follow `report::a11_v2_csv_rows`, which documents the standard and where Heard
/// differs (comments are redacted; bidirectional controls are dropped). Cells are written as they are, without the
/// spreadsheet-formula quoting of the response export: this file is read by the upload, and a quote would change the
/// comment. Bidirectional controls (U+202E and its kin, `input::is_bidi_control`) are removed as in every other
/// export: they are invisible formatting, not text, and could make a comment read backwards to whoever opens it.
pub async fn a11_csv(
    State(state): State<AppState>,
    m: Analyst,
    Path((_, id)): Path<(String, String)>,
    Query(q): Query<PeriodQuery>,
) -> AppResult<Response> {
    let id: SurveyId = id.parse().map_err(|_| AppError::NotFound)?;
    let s = state.store.survey(m.org_id(), id).await?;
    if s.draft.template != TemplateKind::A11V2 {
        return Err(AppError::Conflict(
            "The A-11 v2 response file is for surveys built from an A-11 version 2 template; this survey's responses \
             are in its response export."
                .into(),
        ));
    }
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
        w.write_record(
            row.iter()
                .map(|c| crate::input::without_bidi_controls(c).into_owned()),
        )
        .map_err(|e| AppError::Internal(e.to_string()))?;
    }
    let body = w
        .into_inner()
        .map_err(|e| AppError::Internal(e.to_string()))?;
    let name = format!("a11-v2-{}-{}.csv", s.id, quarter);
    super::csv_table::attachment_for_upload(&name, body.into())
}
