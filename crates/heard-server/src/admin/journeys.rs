//! Journey pages (issue 18, item 6), for viewers and up: the organization's journeys, and one journey's figures for
//! a fiscal quarter or all time as the `journeys.refresh` job last computed them (`crate::journeys`): where journeys
//! start, the stage funnel with drop-off and time between stages (median and 90th percentile), a Sankey diagram of
//! the first steps, channel switching, repeat contacts, rework (asked again), variants and the directly-follows
//! graph. Every chart has its table and every table downloads as CSV (`?table=NAME&format=csv`). Admins add and
//! edit definitions with a form validated by `JourneyDefinition::validate`, whose errors name the field; analysts
//! and up may ask for a recomputation ("Refresh now").

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use heard_domain::chart::duration_words;
use heard_domain::flow_chart::{self, FunnelBar, SankeyLink, SankeyNode};
use heard_domain::{FieldErrors, Zone};
use heard_insight::journeys::{JourneyDefinition, JourneyError, StageDefinition};
use minijinja::{Value, context};
use serde::Deserialize;

use super::csv_table::CsvTable;
use super::{base_ctx, form_errors, page};
use crate::auth::{Admin, AdminForm, Analyst, Viewer};
use crate::forms::FormData;
use crate::journeys::{self as j, JourneyResult};
use crate::{AppError, AppResult, AppState};

/// Empty stage rows the form offers below the journey's stages.
const SPARE_STAGES: usize = 3;

/// Words for an activity code: `application_started` → "Application started", `step_completed:upload_documents`
/// → "Step: upload documents".
pub fn activity_label(code: &str) -> String {
    let words = |s: &str| s.replace('_', " ");
    match code.split_once(':') {
        Some(("step_completed", step)) => format!("Step: {}", words(step)),
        _ => {
            let w = words(code);
            let mut c = w.chars();
            match c.next() {
                Some(f) => f.to_uppercase().chain(c).collect(),
                None => w,
            }
        }
    }
}

/// A channel code in words (the A-11 channel's label), or the code when it is not one.
fn channel_word(code: &str) -> String {
    code.parse::<heard_domain::Channel>()
        .map(|c| c.label().to_string())
        .unwrap_or_else(|_| code.to_string())
}

fn ms_words(ms: Option<f64>) -> String {
    ms.map(|m| duration_words(m / 1000.0))
        .unwrap_or_else(|| "—".to_string())
}

fn share(part: u64, whole: u64) -> String {
    if whole == 0 {
        "—".to_string()
    } else {
        format!("{:.1}%", part as f64 / whole as f64 * 100.0)
    }
}

fn period_words(period: &str) -> String {
    if period.is_empty() {
        "all time".to_string()
    } else {
        format!("fiscal quarter {period}")
    }
}

/// The periods offered: all time, then the last eight fiscal quarters.
fn periods(zone: &Zone) -> Vec<Value> {
    let mut out = vec![context! { value => "", label => "All time" }];
    for q in super::dashboard::recent_quarters(zone) {
        out.push(context! { value => q.clone(), label => q });
    }
    out
}

async fn definition_of(
    state: &AppState,
    org: heard_domain::OrgId,
    id: &str,
) -> AppResult<JourneyDefinition> {
    let stored = state
        .store
        .journey(org, id)
        .await?
        .ok_or(AppError::NotFound)?;
    JourneyDefinition::from_json(&stored.definition)
        .map_err(|e| AppError::Internal(format!("journey {id}: stored definition: {e}")))
}

/// The list of journeys.
pub async fn list(State(state): State<AppState>, m: Viewer) -> AppResult<Response> {
    let stored = state.store.journeys(m.org_id()).await?;
    let mut rows = Vec::new();
    for s in &stored {
        let def = JourneyDefinition::from_json(&s.definition).ok();
        let snap = state
            .store
            .insight_snapshot(m.org_id(), j::SNAPSHOT_KIND, &j::scope(&s.id), "")
            .await?;
        rows.push(context! {
            id => s.id,
            name => def.as_ref().map(|d| d.name.clone()).unwrap_or_else(|| s.id.clone()),
            service => def.as_ref().and_then(|d| d.service.clone()),
            stages => def.as_ref().map(|d| d.stages.iter().map(|st| st.name.clone()).collect::<Vec<_>>().join(" → ")),
            computed_at => snap.as_ref().map(|x| x.computed_at),
            events => snap.as_ref().map(|x| x.n),
        });
    }
    Ok(page(
        &state,
        "journeys.html",
        base_ctx(&m, "journeys"),
        // Only the standard journeys not added yet (by id), of services the organization has, are offered.
        context! { journeys => rows, defaults => offered_defaults(&state, m.org_id()).await?.into_iter().filter(|(id, _)| !stored.iter().any(|s| &s.id == id)).map(|(id, d)| context!{ id => id, name => d.name }).collect::<Vec<_>>() },
    ))
}

#[derive(Deserialize, Default, Debug)]
pub struct JourneyQuery {
    quarter: Option<String>,
    /// Set after "Refresh now": the page says the recomputation is queued.
    queued: Option<String>,
    table: Option<String>,
    format: Option<String>,
}

/// One journey's page, or one of its tables as CSV.
pub async fn show(
    State(state): State<AppState>,
    m: Viewer,
    Path((_, id)): Path<(String, String)>,
    Query(q): Query<JourneyQuery>,
) -> AppResult<Response> {
    let zone = m.org.time_zone;
    let def = definition_of(&state, m.org_id(), &id).await?;
    let period = q
        .quarter
        .as_deref()
        .unwrap_or("")
        .trim()
        .to_ascii_uppercase();
    j::period_range(&zone, &period)?;
    let snap = state
        .store
        .insight_snapshot(m.org_id(), j::SNAPSHOT_KIND, &j::scope(&id), &period)
        .await?;
    let result: Option<JourneyResult> = match &snap {
        Some(s) => Some(
            serde_json::from_str(&s.result)
                .map_err(|e| AppError::Internal(format!("journey {id} snapshot: {e}")))?,
        ),
        None => None,
    };
    if q.format.as_deref() == Some("csv") {
        let r = result.as_ref().ok_or(AppError::NotFound)?;
        let table = q.table.as_deref().unwrap_or("funnel");
        return csv(r, table, &id, &period);
    }
    let changed_since = match (&snap, &result) {
        (Some(_), Some(r)) => r.definition != def,
        _ => false,
    };
    let figures = result.as_ref().map(|r| view(r, &period));
    let mut params = form_urlencoded::Serializer::new(String::new());
    params.append_pair("quarter", &period);
    Ok(page(
        &state,
        "journey.html",
        base_ctx(&m, "journeys"),
        context! {
            id => id, name => def.name, service => def.service,
            stages => def.stages.iter().map(|s| s.name.clone()).collect::<Vec<_>>(),
            period => period, period_words => period_words(&period), periods => periods(&zone),
            computed_at => snap.as_ref().map(|s| s.computed_at), changed_since => changed_since,
            f => figures, params => params.finish(), queued => q.queued.is_some(),
        },
    ))
}

/// The page's figures: tables as rows of words, and the two charts.
fn view(res: &JourneyResult, period: &str) -> Value {
    let r = &res.figures;
    let pw = period_words(period);
    let people = r.cases;
    let first = r.funnel.stages.first().map(|s| s.cases).unwrap_or(0);
    let biggest = r
        .funnel
        .stages
        .iter()
        .skip(1)
        .filter(|s| s.dropped > 0)
        .max_by_key(|s| s.dropped)
        .map(|s| context! { name => s.name, dropped => s.dropped });
    let funnel: Vec<Value> = r
        .funnel
        .stages
        .iter()
        .map(|s| {
            let t = s.time_from_previous;
            context! {
                name => s.name, cases => s.cases, dropped => s.dropped, of_first => share(s.cases, first),
                conversion => s.conversion.map(|c| format!("{:.1}%", c * 100.0)).unwrap_or_else(|| "—".into()),
                n => t.map(|t| t.n), median => ms_words(t.and_then(|t| t.median_ms)), p90 => ms_words(t.and_then(|t| t.p90_ms)),
            }
        })
        .collect();
    let bars: Vec<FunnelBar> = r
        .funnel
        .stages
        .iter()
        .map(|s| FunnelBar {
            name: s.name.clone(),
            cases: s.cases,
            dropped: s.dropped,
        })
        .collect();
    let funnel_svg = flow_chart::funnel_svg(
        &bars,
        &format!("{}: people reaching each stage", res.definition.name),
        &format!(
            "A funnel of the journey's stages, in order, {pw}: for each stage the people who reached it (n = {first} at the first stage) and, in grey, those who reached the stage before but not this one. The same figures are in the table below the chart."
        ),
    );
    let label = |a: &Option<String>| {
        a.as_deref()
            .map(activity_label)
            .unwrap_or_else(|| "Other activities".into())
    };
    let nodes: Vec<SankeyNode> = r
        .flows
        .nodes
        .iter()
        .map(|n| SankeyNode {
            column: n.position,
            label: label(&n.activity),
            value: n.cases,
        })
        .collect();
    let index = |pos: usize, a: &Option<String>| {
        r.flows
            .nodes
            .iter()
            .position(|n| n.position == pos && &n.activity == a)
    };
    let links: Vec<SankeyLink> = r
        .flows
        .links
        .iter()
        .filter_map(|l| {
            Some(SankeyLink {
                from: index(l.position, &l.from)?,
                to: index(l.position + 1, &l.to)?,
                value: l.cases,
            })
        })
        .collect();
    let sankey_svg = flow_chart::sankey_svg(
        &nodes,
        &links,
        &format!("{}: the first {} steps", res.definition.name, r.flows.depth),
        &format!(
            "A Sankey diagram of what people did first, second and so on, {pw}, n = {people} people: each column is a step, each bar an activity with the people whose step it was, and each band the people who went from one activity to the next. Activities beyond the {} most frequent in a step are pooled as other activities. The same figures are in the table below the chart.",
            j::FLOW_TOP
        ),
    );
    let flows: Vec<Value> = r.flows.links.iter().map(|l| context! { step => l.position + 1, from => label(&l.from), to => label(&l.to), cases => l.cases }).collect();
    let starts: Vec<Value> = r.starts.iter().map(|s| context! {
        channel => s.channel.as_deref().map(channel_word).unwrap_or_else(|| "None by the person (the agency acted first) or not recorded".into()),
        touchpoint => s.touchpoint.clone().unwrap_or_else(|| "Not known".into()),
        cases => s.cases, share => share(s.cases, people),
    }).collect();
    let sw = &r.switching;
    let switching = context! {
        cases => sw.cases, switching => sw.cases_switching, share => share(sw.cases_switching, sw.cases), switches => sw.switches,
        pairs => sw.pairs.iter().map(|(a, b, n)| context!{ from => channel_word(a), to => channel_word(b), n => n }).collect::<Vec<_>>(),
    };
    let rc = &r.repeat_contacts;
    let buckets = rc.per_case.len();
    let repeat = context! {
        with_contact => rc.cases_with_contact, with_repeat => rc.cases_with_repeat, contacts => rc.contacts,
        share => share(rc.cases_with_repeat, rc.cases_with_contact),
        per_case => rc.per_case.iter().enumerate().map(|(k, n)| context!{
            contacts => if k + 1 == buckets { format!("{} or more", k + 1) } else { (k + 1).to_string() }, people => n }).collect::<Vec<_>>(),
    };
    let rework: Vec<Value> = r.rework.iter().map(|x| context! {
        activity => activity_label(&x.activity), cases => x.cases, again => x.cases_with_rework,
        share => share(x.cases_with_rework, x.cases), repeats => x.repeats, self_loops => x.self_loops,
    }).collect();
    let asked_again = r
        .rework
        .iter()
        .find(|x| x.activity == "information_asked_again")
        .map(|x| x.cases)
        .unwrap_or(0);
    let v = &r.variants;
    let variants: Vec<Value> = v.top.iter().enumerate().map(|(i, x)| context! {
        rank => i + 1, steps => x.activities.iter().map(|a| activity_label(a)).collect::<Vec<_>>().join(" → "),
        length => x.activities.len(), cases => x.cases, share => share(x.cases, v.total_cases),
    }).collect();
    let dfg: Vec<Value> = r
        .dfg
        .edges
        .iter()
        .map(|e| {
            context! {
                from => activity_label(&e.from), to => activity_label(&e.to), count => e.count,
                mean => ms_words(Some(e.mean_ms)), median => ms_words(Some(e.median_ms)),
            }
        })
        .collect();
    context! {
        events => r.events, people => people, biggest => biggest, funnel => funnel,
        funnel_svg => Value::from_safe_string(funnel_svg), sankey_svg => Value::from_safe_string(sankey_svg),
        flows => flows, starts => starts, switching => switching, repeat => repeat, rework => rework,
        asked_again => asked_again, variants => variants, other_variants => v.other_variants,
        other_cases => v.other_cases, total_cases => v.total_cases, dfg => dfg,
        dfg_starts => r.dfg.start_activities.iter().map(|(a, n)| context!{ activity => activity_label(a), n => n }).collect::<Vec<_>>(),
        dfg_ends => r.dfg.end_activities.iter().map(|(a, n)| context!{ activity => activity_label(a), n => n }).collect::<Vec<_>>(),
    }
}

fn opt(x: Option<f64>) -> String {
    x.map(|v| format!("{v:.0}")).unwrap_or_default()
}

/// One of the page's tables as CSV: codes beside words, durations in milliseconds.
fn csv(res: &JourneyResult, table: &str, id: &str, period: &str) -> AppResult<Response> {
    let r = &res.figures;
    let p = if period.is_empty() {
        "all-time"
    } else {
        period
    };
    let text = CsvTable::text;
    let code = |a: &Option<String>| a.clone().unwrap_or_default();
    let t = match table {
        "starts" => {
            let mut t = CsvTable::new(["period", "channel_code", "touchpoint", "people"])?;
            for s in &r.starts {
                t.row([
                    p.to_string(),
                    code(&s.channel),
                    text(s.touchpoint.as_deref().unwrap_or("")),
                    s.cases.to_string(),
                ])?;
            }
            t
        }
        "funnel" => {
            let mut t = CsvTable::new([
                "period",
                "stage",
                "people_reached",
                "dropped",
                "conversion",
                "time_from_previous_n",
                "time_from_previous_median_ms",
                "time_from_previous_p90_ms",
            ])?;
            for s in &r.funnel.stages {
                let d = s.time_from_previous;
                t.row([
                    p.to_string(),
                    text(&s.name),
                    s.cases.to_string(),
                    s.dropped.to_string(),
                    s.conversion.map(|c| format!("{c:.4}")).unwrap_or_default(),
                    d.map(|d| d.n.to_string()).unwrap_or_default(),
                    opt(d.and_then(|d| d.median_ms)),
                    opt(d.and_then(|d| d.p90_ms)),
                ])?;
            }
            t
        }
        "flows" => {
            let mut t =
                CsvTable::new(["period", "step", "from_activity", "to_activity", "people"])?;
            for l in &r.flows.links {
                t.row([
                    p.to_string(),
                    (l.position + 1).to_string(),
                    code(&l.from),
                    code(&l.to),
                    l.cases.to_string(),
                ])?;
            }
            t
        }
        "switching" => {
            let mut t =
                CsvTable::new(["period", "from_channel_code", "to_channel_code", "switches"])?;
            for (a, b, n) in &r.switching.pairs {
                t.row([p.to_string(), a.clone(), b.clone(), n.to_string()])?;
            }
            t
        }
        "repeat_contacts" => {
            let mut t = CsvTable::new(["period", "contacts", "people"])?;
            let last = r.repeat_contacts.per_case.len();
            for (k, n) in r.repeat_contacts.per_case.iter().enumerate() {
                let c = if k + 1 == last {
                    format!("{}+", k + 1)
                } else {
                    (k + 1).to_string()
                };
                t.row([p.to_string(), c, n.to_string()])?;
            }
            t
        }
        "rework" => {
            let mut t = CsvTable::new([
                "period",
                "activity",
                "people",
                "people_with_rework",
                "repeats",
                "self_loops",
            ])?;
            for x in &r.rework {
                t.row([
                    p.to_string(),
                    x.activity.clone(),
                    x.cases.to_string(),
                    x.cases_with_rework.to_string(),
                    x.repeats.to_string(),
                    x.self_loops.to_string(),
                ])?;
            }
            t
        }
        "variants" => {
            let mut t = CsvTable::new(["period", "rank", "activities", "people"])?;
            for (i, v) in r.variants.top.iter().enumerate() {
                t.row([
                    p.to_string(),
                    (i + 1).to_string(),
                    v.activities.join(" > "),
                    v.cases.to_string(),
                ])?;
            }
            t.row([
                p.to_string(),
                String::new(),
                format!("({} other variants)", r.variants.other_variants),
                r.variants.other_cases.to_string(),
            ])?;
            t
        }
        "dfg" => {
            let mut t = CsvTable::new([
                "period",
                "from_activity",
                "to_activity",
                "count",
                "mean_ms",
                "median_ms",
            ])?;
            for e in &r.dfg.edges {
                t.row([
                    p.to_string(),
                    e.from.clone(),
                    e.to.clone(),
                    e.count.to_string(),
                    format!("{:.0}", e.mean_ms),
                    format!("{:.0}", e.median_ms),
                ])?;
            }
            t
        }
        _ => {
            return Err(AppError::field(
                "table",
                "not_an_option",
                "table is starts, funnel, flows, switching, repeat_contacts, rework, variants or dfg",
            ));
        }
    };
    t.into_response(&format!("journey-{id}-{table}-{p}.csv"))
}

/// Asks for the journey to be recomputed for the period shown, now.
pub async fn refresh(
    State(state): State<AppState>,
    m: Analyst,
    Path((_, id)): Path<(String, String)>,
    AdminForm(form): AdminForm,
) -> AppResult<Response> {
    let zone = m.org.time_zone;
    let period = form.get("quarter").to_ascii_uppercase();
    j::period_range(&zone, &period)?;
    state
        .store
        .journey(m.org_id(), &id)
        .await?
        .ok_or(AppError::NotFound)?;
    let now = heard_store::now_ms();
    // One recomputation per snapshot: presses before it ran are the same job; once it stored a new snapshot, the
    // next press is a new one.
    let shown = state
        .store
        .insight_snapshot(m.org_id(), j::SNAPSHOT_KIND, &j::scope(&id), &period)
        .await?
        .map_or(0, |s| s.computed_at);
    state
        .store
        .enqueue(j::refresh_job(
            m.org_id(),
            &id,
            &period,
            &format!("now-{shown}"),
            now,
        ))
        .await?;
    tracing::info!(org = %m.org_id(), journey = %id, "journey refresh asked for");
    let mut to = format!("/admin/o/{}/journeys/{id}?queued=1", m.org_id());
    if !period.is_empty() {
        to.push_str(&format!("&quarter={period}"));
    }
    Ok(Redirect::to(&to).into_response())
}

/// The form's rows: the definition's stages and [`SPARE_STAGES`] empty ones.
fn stage_rows(stages: &[StageDefinition]) -> Vec<Value> {
    let blank = StageDefinition {
        name: String::new(),
        activities: vec![],
        touchpoints: vec![],
    };
    stages
        .iter()
        .chain(std::iter::repeat_n(&blank, SPARE_STAGES))
        .enumerate()
        .map(|(i, s)| {
            context! { i => i, number => i + 1, name => s.name, activities => s.activities.join(", "),
            touchpoints => s.touchpoints.join(", ") }
        })
        .collect()
}

async fn render_form(
    state: &AppState,
    m: &Admin,
    id: Option<&str>,
    form_id: &str,
    def: &JourneyDefinition,
    errors: &FieldErrors,
    status: StatusCode,
) -> AppResult<Response> {
    let services = state.store.services(m.org_id()).await?;
    let activities: Vec<String> = state
        .store
        .event_types(m.org_id())
        .await?
        .into_iter()
        .map(|t| t.name)
        .collect();
    let mut resp = page(
        state,
        "journey_edit.html",
        base_ctx(m, "journeys"),
        context! {
            id => id, form_id => form_id, name => def.name, service => def.service,
            stages => stage_rows(&def.stages), errors => form_errors(errors),
            services => services.iter().map(|s| s.name.get("en").to_string()).collect::<Vec<_>>(),
            activities => activities,
        },
    );
    *resp.status_mut() = status;
    Ok(resp)
}

/// The form for a new journey.
pub async fn new_form(State(state): State<AppState>, m: Admin) -> AppResult<Response> {
    let def = JourneyDefinition {
        name: String::new(),
        service: None,
        stages: vec![],
    };
    render_form(
        &state,
        &m,
        None,
        "",
        &def,
        &FieldErrors::default(),
        StatusCode::OK,
    )
    .await
}

/// The form for an existing journey.
pub async fn edit_form(
    State(state): State<AppState>,
    m: Admin,
    Path((_, id)): Path<(String, String)>,
) -> AppResult<Response> {
    let def = definition_of(&state, m.org_id(), &id).await?;
    render_form(
        &state,
        &m,
        Some(&id),
        &id,
        &def,
        &FieldErrors::default(),
        StatusCode::OK,
    )
    .await
}

fn list_field(s: &str) -> Vec<String> {
    s.split([',', '\n'])
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .map(str::to_string)
        .collect()
}

/// The definition the form describes, and for each of its stages the form row it came from (rows left empty are
/// skipped).
fn definition_from_form(form: &FormData) -> (JourneyDefinition, Vec<usize>) {
    let mut stages = Vec::new();
    let mut rows = Vec::new();
    for i in 0..60 {
        let name = form.get(&format!("stage-{i}-name"));
        let activities = list_field(form.get(&format!("stage-{i}-activities")));
        let touchpoints = list_field(form.get(&format!("stage-{i}-touchpoints")));
        if name.is_empty() && activities.is_empty() && touchpoints.is_empty() {
            continue;
        }
        stages.push(StageDefinition {
            name: name.to_string(),
            activities,
            touchpoints,
        });
        rows.push(i);
    }
    let service = Some(form.get("service").to_string()).filter(|s| !s.is_empty());
    (
        JourneyDefinition {
            name: form.get("name").to_string(),
            service,
            stages,
        },
        rows,
    )
}

/// A validation error as the form's field: `stages[2].activities[0]` is the third stage's activities input.
fn form_field(e: &JourneyError, rows: &[usize]) -> (String, String) {
    let f = e.field.as_str();
    let Some(rest) = f.strip_prefix("stages[") else {
        return match f {
            "stages" => ("stage-0-name".into(), format!("Stages: {}", e.reason)),
            "service" => ("service".into(), format!("Service: {}", e.reason)),
            _ => ("name".into(), format!("Name: {}", e.reason)),
        };
    };
    let (idx, after) = rest.split_once(']').unwrap_or((rest, ""));
    let row = idx
        .parse::<usize>()
        .ok()
        .and_then(|k| rows.get(k).copied())
        .unwrap_or(0);
    let part = if after.starts_with(".activities") {
        "activities"
    } else if after.starts_with(".touchpoints") {
        "touchpoints"
    } else {
        "name"
    };
    let what = match part {
        "activities" => "activities",
        "touchpoints" => "touchpoints",
        _ => "name",
    };
    (
        format!("stage-{row}-{part}"),
        format!("Stage {} {what}: {}", row + 1, e.reason),
    )
}

async fn save(
    state: &AppState,
    m: &Admin,
    id: &str,
    existing: bool,
    form: &FormData,
) -> AppResult<Response> {
    let (def, rows) = definition_from_form(form);
    let mut errs = FieldErrors::default();
    let id_ok = existing || j::parse_journey_id(id).is_ok();
    if !id_ok {
        errs.push(heard_domain::FieldError::new(
            "id",
            "invalid_id",
            "Short name: use 1 to 60 lower-case letters, digits and hyphens, not starting with a hyphen",
        ));
    }
    if let Err(e) = def.validate() {
        let (field, message) = form_field(&e, &rows);
        errs.push(heard_domain::FieldError::new(&field, "invalid", message));
    }
    if !existing && id_ok && state.store.journey(m.org_id(), id).await?.is_some() {
        errs.push(heard_domain::FieldError::new(
            "id",
            "taken",
            "Short name: another journey has it; choose another",
        ));
    }
    if !errs.is_empty() {
        return render_form(
            state,
            m,
            existing.then_some(id),
            id,
            &def,
            &errs,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    j::save_definition(&state.store, m.org_id(), &m.org.time_zone, id, &def).await?;
    tracing::info!(org = %m.org_id(), journey = %id, "journey definition saved");
    Ok(Redirect::to(&format!("/admin/o/{}/journeys/{id}", m.org_id())).into_response())
}

/// Creates a journey from the form.
pub async fn create(
    State(state): State<AppState>,
    m: Admin,
    AdminForm(form): AdminForm,
) -> AppResult<Response> {
    let id = form.get("id").to_string();
    save(&state, &m, &id, false, &form).await
}

/// Saves the form over an existing journey.
pub async fn update(
    State(state): State<AppState>,
    m: Admin,
    Path((_, id)): Path<(String, String)>,
    AdminForm(form): AdminForm,
) -> AppResult<Response> {
    state
        .store
        .journey(m.org_id(), &id)
        .await?
        .ok_or(AppError::NotFound)?;
    save(&state, &m, &id, true, &form).await
}

/// The standard journeys an organization can add: those naming no service, and those naming (in English) one of
/// its services; a journey of a service the organization does not run would stay empty.
async fn offered_defaults(
    state: &AppState,
    org: heard_domain::OrgId,
) -> AppResult<Vec<(String, heard_insight::journeys::JourneyDefinition)>> {
    let services = state.store.services(org).await?;
    Ok(j::default_journeys()
        .into_iter()
        .filter(|(_, d)| {
            d.service
                .as_ref()
                .is_none_or(|name| services.iter().any(|s| s.name.get("en") == name))
        })
        .collect())
}

/// Adds the default journeys the organization does not have yet (by short name).
pub async fn add_defaults(
    State(state): State<AppState>,
    m: Admin,
    AdminForm(_): AdminForm,
) -> AppResult<Response> {
    for (id, def) in offered_defaults(&state, m.org_id()).await? {
        if state.store.journey(m.org_id(), &id).await?.is_none() {
            j::save_definition(&state.store, m.org_id(), &m.org.time_zone, &id, &def).await?;
        }
    }
    Ok(Redirect::to(&format!("/admin/o/{}/journeys", m.org_id())).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn activity_words() {
        assert_eq!(activity_label("application_started"), "Application started");
        assert_eq!(
            activity_label("step_completed:upload_documents"),
            "Step: upload documents"
        );
    }

    #[test]
    fn errors_point_at_the_form_row() {
        let e = JourneyError {
            field: "stages[1].activities[0]".into(),
            reason: "empty name".into(),
        };
        // Definition stage 1 came from form row 3 (rows 1 and 2 were left empty).
        let (field, msg) = form_field(&e, &[0, 3]);
        assert_eq!(field, "stage-3-activities");
        assert!(msg.starts_with("Stage 4 activities"), "{msg}");
        let e = JourneyError {
            field: "name".into(),
            reason: "give the journey a name".into(),
        };
        assert_eq!(form_field(&e, &[]).0, "name");
    }
}
