//! Cases in the admin (issue 21, item 2). Everyone in the organization sees cases; analysts and admins (the roles
//! that may read contact details) work them; admins set teams, statuses and the SLA.
//!
//! - `/admin/o/{org}/cases`: queues (mine, unassigned, due within a day or breached, all open, a team's, ended),
//!   narrowed by status and priority, most pressing first, with bulk actions on the chosen cases (assign, status,
//!   team, priority) applied in one transaction.
//! - `/admin/o/{org}/cases/new` (from a response's page: `?response=`) and `POST /admin/o/{org}/cases`.
//! - `/admin/o/{org}/cases/{case}`: the case, where each SLA target stands, what it is linked to, its whole history;
//!   forms to change status, owner, team and priority, to write a note or record an update sent to the person, to
//!   link a response, signal or event, and to close it with its root cause and whether the issue was resolved.
//! - `/admin/o/{org}/cases/settings`: teams, the organization's own statuses, and the SLA (business hours in a time
//!   zone, holidays, targets in business hours, the warning share, escalation steps). Saving recomputes every case.
//! - `/admin/o/{org}/cases/figures`: time to first response and to resolution, share resolved, and trust among
//!   people whose case was closed against those whose case was not.
//!
//! Forms are parsed whole before anything is written; a bad field gets a 422 naming it.

use std::collections::BTreeMap;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use heard_domain::case::{
    self, CaseSettings, CaseStatus, Change, LinkKind, Priority, SlaFlag, StatusKind,
};
use heard_domain::sla::{self, CalendarSpec, EscalationSpec, SlaPolicySpec, WEEKDAY_KEYS};
use heard_domain::{FieldError, FieldErrors, Role};
use heard_store::cases::{CaseQuery, CaseRecord, NewCase, Queue};
use minijinja::{Value, context};
use uuid::Uuid;

use super::{base_ctx, form_errors, page};
use crate::auth::{Admin, AdminForm, Analyst, Member, MinRole, Viewer};
use crate::forms::FormData;
use crate::{AppError, AppResult, AppState};

/// How many cases a queue page lists.
const LISTED: i64 = 200;
/// "Due soon": a deadline within this many milliseconds (24 hours), or breached.
const DUE_SOON_MS: i64 = 24 * 3_600_000;

fn id_of(s: &str) -> AppResult<Uuid> {
    s.parse().map_err(|_| AppError::NotFound)
}

fn with_status(mut resp: Response, status: StatusCode) -> Response {
    if resp.status().is_success() {
        *resp.status_mut() = status;
    }
    resp
}

/// "in 3 h 20 min", "2 h overdue": how far `at` is from `now`, for people.
pub fn due_words(now: i64, at: i64) -> String {
    let mins = (at - now).abs() / 60_000;
    let span = if mins < 60 {
        format!("{mins} min")
    } else if mins < 48 * 60 {
        let (h, m) = (mins / 60, mins % 60);
        if m == 0 {
            format!("{h} h")
        } else {
            format!("{h} h {m} min")
        }
    } else {
        format!("{} days", mins / (24 * 60))
    };
    if at >= now {
        format!("in {span}")
    } else {
        format!("{span} overdue")
    }
}

/// The organization's members as `(id, name, works cases)`, by name; analysts and admins work cases.
async fn members(
    state: &AppState,
    m: &Member<impl MinRole>,
) -> AppResult<Vec<(String, String, bool)>> {
    let mut out: Vec<(String, String, bool)> = state
        .store
        .members(m.org_id())
        .await?
        .into_iter()
        .map(|(u, role)| (u.id.to_string(), u.name, role >= Role::Analyst))
        .collect();
    out.sort_by_key(|a| a.1.to_lowercase());
    Ok(out)
}

/// Everything the case pages name by id: members, teams, statuses.
struct Names {
    members: Vec<(String, String, bool)>,
    teams: Vec<(String, String)>,
    settings: CaseSettings,
}

impl Names {
    async fn load(state: &AppState, m: &Member<impl MinRole>) -> AppResult<Names> {
        Ok(Names {
            members: members(state, m).await?,
            teams: state
                .store
                .case_teams(m.org_id())
                .await?
                .into_iter()
                .map(|t| (t.id.to_string(), t.name))
                .collect(),
            settings: state.store.case_settings(m.org_id()).await?,
        })
    }
    fn member(&self, id: Option<Uuid>) -> Option<String> {
        let id = id?.to_string();
        self.members
            .iter()
            .find(|(i, _, _)| *i == id)
            .map(|(_, n, _)| n.clone())
            .or(Some("(former member)".into()))
    }
    fn team(&self, id: Option<Uuid>) -> Option<String> {
        let id = id?.to_string();
        self.teams
            .iter()
            .find(|(i, _)| *i == id)
            .map(|(_, n)| n.clone())
    }
    fn status(&self, key: &str) -> String {
        self.settings
            .status(key)
            .map(|s| s.label)
            .unwrap_or_else(|| key.to_string())
    }
    fn ctx(&self) -> Value {
        let statuses: Vec<_> = self
            .settings
            .statuses()
            .into_iter()
            .map(|s| {
                let custom = !case::BUILT_IN_STATUSES.iter().any(|b| b.0 == s.key);
                context! { key => s.key, label => s.label, kind => s.kind.key(), custom => custom }
            })
            .collect();
        let priorities: Vec<_> = Priority::ALL
            .into_iter()
            .map(|p| context! { key => p.key(), label => p.label() })
            .collect();
        context! {
            members => self.members.iter().map(|(id, name, _)| context!{ id => id, name => name }).collect::<Vec<_>>(),
            workers => self.members.iter().filter(|(_, _, w)| *w).map(|(id, name, _)| context!{ id => id, name => name }).collect::<Vec<_>>(),
            teams => self.teams.iter().map(|(id, name)| context!{ id => id, name => name }).collect::<Vec<_>>(),
            statuses => statuses, priorities => priorities,
        }
    }
}

fn case_view(c: &CaseRecord, names: &Names, now: i64) -> Value {
    context! {
        id => c.id.to_string(), number => c.number, title => c.title,
        status => c.status, status_label => names.status(&c.status), ended => c.ended,
        priority => c.priority.key(), priority_label => c.priority.label(),
        source => c.source.key(),
        owner => names.member(c.owner_id), owner_id => c.owner_id.map(|o| o.to_string()),
        team => names.team(c.team_id), team_id => c.team_id.map(|t| t.to_string()),
        opened_at => c.opened_at, updated_at => c.updated_at, ended_at => c.ended_at,
        root_cause => c.root_cause, resolved => c.resolved,
        sla => c.sla_flag.key(), sla_label => c.sla_flag.label(),
        due_at => c.due_at, due_words => c.due_at.map(|d| due_words(now, d)),
        escalation_level => c.escalation_level,
        response_id => c.response_id.map(|r| r.to_string()),
    }
}

#[derive(serde::Deserialize, Default)]
pub struct ListQuery {
    #[serde(default)]
    queue: Option<String>,
    #[serde(default)]
    team: Option<String>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    priority: Option<String>,
    #[serde(default)]
    done: Option<String>,
    /// A status code the person read out: the list sends staff to its case.
    #[serde(default)]
    code: Option<String>,
}

/// A queue of cases with the bulk form.
pub async fn list(
    State(state): State<AppState>,
    m: Viewer,
    Query(q): Query<ListQuery>,
) -> AppResult<Response> {
    if let Some(typed) = q.code.as_deref().filter(|c| !c.trim().is_empty()) {
        let found = match case::normalize_status_code(typed) {
            Some(code) => state.store.case_by_code(m.org_id(), &code).await?,
            None => None,
        };
        return match found {
            Some(c) => Ok(
                Redirect::to(&format!("/admin/o/{}/cases/{}", m.org_id(), c.id)).into_response(),
            ),
            None => {
                let errs = FieldErrors::single(
                    "code",
                    "not_found",
                    "No case of this organization has this code",
                );
                render_list(&state, &m, &q, &errs, StatusCode::NOT_FOUND).await
            }
        };
    }
    render_list(&state, &m, &q, &FieldErrors::default(), StatusCode::OK).await
}

async fn render_list(
    state: &AppState,
    m: &Viewer,
    q: &ListQuery,
    errs: &FieldErrors,
    status: StatusCode,
) -> AppResult<Response> {
    let now = heard_store::now_ms();
    let names = Names::load(state, m).await?;
    let me = *m.me.user.id.as_uuid();
    let team: Option<Uuid> = q.team.as_deref().and_then(|t| t.parse().ok());
    // A team chosen narrows to that team's open cases, whatever queue the form came from.
    let key = if team.is_some() {
        "team"
    } else {
        q.queue.as_deref().unwrap_or(if m.role >= Role::Analyst {
            "mine"
        } else {
            "open"
        })
    };
    let (queue, key) = match (key, team) {
        ("mine", _) => (Queue::Mine(me), "mine"),
        ("unassigned", _) => (Queue::Unassigned, "unassigned"),
        ("due", _) => (Queue::DueBefore(now + DUE_SOON_MS), "due"),
        ("team", Some(t)) => (Queue::Team(t), "team"),
        ("ended", _) => (Queue::Ended, "ended"),
        _ => (Queue::Open, "open"),
    };
    let status_filter = q
        .status
        .as_deref()
        .filter(|s| names.settings.status(s).is_some())
        .map(str::to_string);
    let priority_filter = q.priority.as_deref().and_then(|p| Priority::parse(p).ok());
    let cases = state
        .store
        .cases(
            m.org_id(),
            &CaseQuery {
                queue,
                status: status_filter.clone(),
                priority: priority_filter,
                limit: LISTED,
            },
        )
        .await?;
    let counts = state
        .store
        .case_counts(m.org_id(), m.me.user.id, now + DUE_SOON_MS)
        .await?;
    let rows: Vec<_> = cases.iter().map(|c| case_view(c, &names, now)).collect();
    let queue_label = match key {
        "mine" => "My cases".to_string(),
        "unassigned" => "Unassigned".to_string(),
        "due" => "Due within a day or overdue".to_string(),
        "team" => format!(
            "Team: {}",
            names.team(team).unwrap_or_else(|| "unknown".into())
        ),
        "ended" => "Resolved and closed".to_string(),
        _ => "All open cases".to_string(),
    };
    Ok(with_status(
        page(
            state,
            "cases.html",
            base_ctx(m, "cases"),
            context! {
                cases => rows, names => names.ctx(), queue => key, queue_label => queue_label,
                team => team.map(|t| t.to_string()), status_filter => status_filter,
                priority_filter => priority_filter.map(|p| p.key()),
                counts => context! { mine => counts.mine, unassigned => counts.unassigned, due => counts.due,
                    breached => counts.breached, open => counts.open },
                errors => form_errors(errs), done => q.done, listed => LISTED, code => q.code,
            },
        ),
        status,
    ))
}

/// The changes a form asks for: `status`, `owner` (`me`, a member id, `none`), `team` (a team id or `none`),
/// `priority`; an empty field changes nothing.
fn changes_of(form: &FormData, me: Uuid) -> Result<Vec<Change>, FieldErrors> {
    let mut out = vec![];
    let mut errs = FieldErrors::default();
    let status = form.get("status").trim();
    if !status.is_empty() {
        out.push(Change::Status {
            status: status.to_string(),
        });
    }
    match form.get("owner").trim() {
        "" => {}
        "none" => out.push(Change::Owner { owner: None }),
        "me" => out.push(Change::Owner {
            owner: Some(me.to_string()),
        }),
        o => out.push(Change::Owner {
            owner: Some(o.to_string()),
        }),
    }
    match form.get("team").trim() {
        "" => {}
        "none" => out.push(Change::Team { team: None }),
        t => out.push(Change::Team {
            team: Some(t.to_string()),
        }),
    }
    let p = form.get("priority").trim();
    if !p.is_empty() {
        match Priority::parse(p) {
            Ok(priority) => out.push(Change::Priority { priority }),
            Err(e) => errs.push(e),
        }
    }
    errs.into_result(out)
}

/// The bulk form: `case` (repeated) and the changes of [`changes_of`].
pub async fn bulk(
    State(state): State<AppState>,
    m: Analyst,
    AdminForm(form): AdminForm,
) -> AppResult<Response> {
    let q = ListQuery {
        queue: form.opt("queue").map(str::to_string),
        team: form.opt("queue_team").map(str::to_string),
        ..Default::default()
    };
    let ids: Vec<Uuid> = form
        .all("case")
        .iter()
        .filter_map(|c| c.parse().ok())
        .collect();
    let result = match changes_of(&form, *m.me.user.id.as_uuid()) {
        _ if ids.is_empty() => Err(FieldErrors::single(
            "cases",
            "required",
            "Choose at least one case",
        )),
        Err(errs) => Err(errs),
        Ok(changes) if changes.is_empty() => Err(FieldErrors::single(
            "action",
            "required",
            "Choose what to change for the chosen cases",
        )),
        Ok(changes) => match state
            .store
            .change_cases(m.org_id(), &ids, &changes, m.me.user.id)
            .await
        {
            Ok(n) => Ok(n),
            Err(heard_store::StoreError::Invalid(errs)) => Err(errs),
            Err(e) => return Err(e.into()),
        },
    };
    match result {
        Ok(n) => {
            let mut to = format!(
                "/admin/o/{}/cases?queue={}&done={n}",
                m.org_id(),
                q.queue.as_deref().unwrap_or("open")
            );
            if let Some(t) = &q.team {
                to.push_str(&format!("&team={t}"));
            }
            Ok(Redirect::to(&to).into_response())
        }
        Err(errs) => {
            render_list(
                &state,
                &m.as_viewer(),
                &q,
                &errs,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
    }
}

#[derive(serde::Deserialize, Default)]
pub struct NewQuery {
    #[serde(default)]
    response: Option<String>,
}

/// The form that opens a case, about a response when `?response=` names one.
pub async fn new_form(
    State(state): State<AppState>,
    m: Analyst,
    Query(q): Query<NewQuery>,
) -> AppResult<Response> {
    let mut form = FormData::default();
    if let Some(r) = q.response {
        form.set("response_id", &r);
    }
    form.set("priority", "normal");
    render_new(&state, &m, &form, &FieldErrors::default(), StatusCode::OK).await
}

async fn render_new(
    state: &AppState,
    m: &Analyst,
    form: &FormData,
    errs: &FieldErrors,
    status: StatusCode,
) -> AppResult<Response> {
    let names = Names::load(state, m).await?;
    let f = context! {
        title => form.get("title"), priority => form.get("priority"), team => form.get("team"),
        owner => form.get("owner"), note => form.get("note"), response_id => form.get("response_id"),
    };
    Ok(with_status(
        page(
            state,
            "case_new.html",
            base_ctx(m, "cases"),
            context! { form => f, names => names.ctx(), errors => form_errors(errs) },
        ),
        status,
    ))
}

/// Opens a case: `title`, `priority`, `team`, `owner` (`me`, a member, or empty), `note`, `response_id`.
pub async fn create(
    State(state): State<AppState>,
    m: Analyst,
    AdminForm(form): AdminForm,
) -> AppResult<Response> {
    let mut errs = FieldErrors::default();
    let title = match case::check_title(form.get("title")) {
        Ok(t) => t,
        Err(e) => {
            errs.push(e);
            String::new()
        }
    };
    let priority = match Priority::parse(form.get("priority")) {
        Ok(p) => p,
        Err(e) => {
            errs.push(e);
            Priority::Normal
        }
    };
    let uuid_field =
        |name: &str, code: &'static str, msg: &str, errs: &mut FieldErrors| -> Option<Uuid> {
            let v = form.get(name).trim();
            if v.is_empty() || v == "none" {
                return None;
            }
            if name == "owner" && v == "me" {
                return Some(*m.me.user.id.as_uuid());
            }
            match v.parse() {
                Ok(u) => Some(u),
                Err(_) => {
                    errs.push(FieldError::new(name, code, msg));
                    None
                }
            }
        };
    let team = uuid_field(
        "team",
        "unknown_team",
        "Choose one of the teams listed",
        &mut errs,
    );
    let owner = uuid_field(
        "owner",
        "unknown_owner",
        "Choose a member of this organization",
        &mut errs,
    );
    let response = uuid_field(
        "response_id",
        "not_found",
        "Give the id of a response of this organization, or leave it empty",
        &mut errs,
    );
    if !errs.is_empty() {
        return render_new(&state, &m, &form, &errs, StatusCode::UNPROCESSABLE_ENTITY).await;
    }
    let new = NewCase {
        title,
        priority,
        source: case::CaseSource::Staff,
        team_id: team,
        owner_id: owner,
        service_id: None,
        person_key: None,
        response_id: response,
        note: Some(form.get("note").to_string()),
    };
    match state
        .store
        .open_case(m.org_id(), &new, Some(m.me.user.id))
        .await
    {
        Ok(c) => {
            Ok(Redirect::to(&format!("/admin/o/{}/cases/{}", m.org_id(), c.id)).into_response())
        }
        Err(heard_store::StoreError::Invalid(errs)) => {
            render_new(&state, &m, &form, &errs, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(serde::Deserialize, Default)]
pub struct CaseQueryParams {
    #[serde(default)]
    saved: Option<String>,
}

/// One case.
pub async fn show(
    State(state): State<AppState>,
    m: Viewer,
    Path((_, id)): Path<(String, String)>,
    Query(q): Query<CaseQueryParams>,
) -> AppResult<Response> {
    render_case(
        &state,
        &m,
        id_of(&id)?,
        &FormData::default(),
        &FieldErrors::default(),
        q.saved,
        StatusCode::OK,
    )
    .await
}

async fn render_case(
    state: &AppState,
    m: &Viewer,
    id: Uuid,
    form: &FormData,
    errs: &FieldErrors,
    saved: Option<String>,
    status: StatusCode,
) -> AppResult<Response> {
    let now = heard_store::now_ms();
    let c = state.store.case(m.org_id(), id).await?;
    let names = Names::load(state, m).await?;
    let history = state.store.case_history(m.org_id(), id).await?;
    let links = state.store.case_links(m.org_id(), id).await?;
    let callbacks: Vec<Value> = state
        .store
        .callbacks_of_case(m.org_id(), id)
        .await?
        .into_iter()
        .map(|cb| {
            let state = match cb.state() {
                heard_domain::callback::CallbackState::Scheduled => "scheduled",
                heard_domain::callback::CallbackState::Completed => "completed",
                heard_domain::callback::CallbackState::Missed => "missed",
                heard_domain::callback::CallbackState::Cancelled => "called off",
            };
            context! { id => cb.id.to_string(), window => cb.window().display(m.org.time_zone), state => state, attempts => cb.attempts }
        })
        .collect();
    // Whether the response that opened the case came with a way to reach the person.
    let contact = match c.response_id {
        Some(r) => Some(
            !state
                .store
                .response_contacts(m.org_id(), heard_domain::ResponseId::from_uuid(r))
                .await?
                .is_empty(),
        ),
        None => None,
    };
    // Where each target stands now, evaluated from the history as the store does.
    let targets: Vec<Value> = match names.settings.policy_for(c.priority) {
        Ok(Some(policy)) => {
            let changes: Vec<(i64, &Change)> = history.iter().map(|h| (h.at, &h.change)).collect();
            let hist = case::sla_history(changes);
            match sla::evaluate(&policy, &hist, now) {
                Ok(st) => case::targets(&st)
                    .into_iter()
                    .map(|(k, t)| {
                        context! {
                            name => case::target_label(k),
                            status => format!("{:?}", t.status),
                            status_label => target_status_words(t.status),
                            target => minutes_words(t.target_ms / 60_000),
                            elapsed => minutes_words(t.elapsed_ms / 60_000),
                            deadline => t.deadline_ms, deadline_words => t.deadline_ms.map(|d| due_words(now, d)),
                            met_at => t.met_at_ms, breached_at => t.breached_at_ms,
                            missed_cycles => t.missed_cycles, escalation_level => t.escalation_level,
                        }
                    })
                    .collect(),
                Err(_) => vec![],
            }
        }
        _ => vec![],
    };
    let entries: Vec<_> = history
        .iter()
        .rev()
        .map(|h| {
            let (what, text) = history_words(&h.change, &names);
            context! { at => h.at, who => h.actor_id.map(|a| names.member(Some(a))).unwrap_or(Some("Heard".into())),
                what => what, text => text, public => matches!(h.change, Change::PublicUpdate { .. }),
                note => matches!(h.change, Change::Note { .. }) }
        })
        .collect();
    let link_rows: Vec<_> = links
        .iter()
        .map(|l| {
            let href = match l.kind {
                LinkKind::Response => format!("/admin/o/{}/responses/{}", m.org_id(), l.target_id),
                LinkKind::Signal => format!("/admin/o/{}/signals/{}", m.org_id(), l.target_id),
                LinkKind::Event => format!("/admin/o/{}/events", m.org_id()),
            };
            context! { kind => l.kind.key(), id => l.target_id.to_string(), href => href, at => l.linked_at }
        })
        .collect();
    let f = context! {
        body => form.get("body"), kind => form.opt("kind").unwrap_or("note"),
        root_cause => form.get("root_cause"), resolved => form.get("resolved"),
        link_kind => form.opt("link_kind").unwrap_or("response"), link_id => form.get("link_id"),
    };
    Ok(with_status(
        page(
            state,
            "case.html",
            base_ctx(m, "cases"),
            context! { c => case_view(&c, &names, now), names => names.ctx(), targets => targets,
            history => entries, links => link_rows, callbacks => callbacks, form => f, errors => form_errors(errs), saved => saved,
            sla_set => names.settings.sla.is_some(),
                status_url => crate::status::status_url(state, c.id), code => c.status_code.clone(), contact => contact,
                on_call_unset => names.settings.on_call.is_empty(),
                no_sender => state.store.email_sender(m.org_id()).await?.is_none() },
        ),
        status,
    ))
}

fn target_status_words(s: sla::TargetStatus) -> &'static str {
    use sla::TargetStatus::*;
    match s {
        NotStarted => "Not started",
        Running => "On track",
        AtRisk => "At risk",
        Paused => "Paused",
        Stopped => "Stopped",
        Met => "Met",
        Breached => "Breached",
    }
}

/// "2 h 30 min" of business minutes.
fn minutes_words(m: i64) -> String {
    let (h, mm) = (m / 60, m % 60);
    match (h, mm) {
        (0, mm) => format!("{mm} min"),
        (h, 0) => format!("{h} h"),
        (h, mm) => format!("{h} h {mm} min"),
    }
}

fn history_words(c: &Change, names: &Names) -> (String, Option<String>) {
    let member = |id: &Option<String>| {
        id.as_deref()
            .and_then(|i| i.parse::<Uuid>().ok())
            .and_then(|u| names.member(Some(u)))
            .unwrap_or_else(|| "nobody".into())
    };
    match c {
        Change::Opened { status, priority } => (
            format!(
                "Opened as {}, priority {}",
                names.status(status).to_lowercase(),
                priority.label().to_lowercase()
            ),
            None,
        ),
        Change::Status { status } => (format!("Status: {}", names.status(status)), None),
        Change::Owner { owner } => (format!("Owner: {}", member(owner)), None),
        Change::Team { team } => (
            format!(
                "Team: {}",
                team.as_deref()
                    .and_then(|t| t.parse::<Uuid>().ok())
                    .and_then(|t| names.team(Some(t)))
                    .unwrap_or_else(|| "none".into())
            ),
            None,
        ),
        Change::Priority { priority } => (format!("Priority: {}", priority.label()), None),
        Change::Note { body } => ("Note for staff".into(), Some(body.clone())),
        Change::PublicUpdate { body } => ("Update to the person".into(), Some(body.clone())),
        Change::FromPerson { body } => (
            "Information from the person, on their status page".into(),
            Some(body.clone()),
        ),
        Change::Linked { link, id } => (format!("Linked {} {}", link.key(), short(id)), None),
        Change::Outcome {
            root_cause,
            resolved,
        } => (
            if *resolved {
                "Outcome: the person's issue was resolved".into()
            } else {
                "Outcome: the person's issue was not resolved".into()
            },
            Some(format!("Root cause: {root_cause}")),
        ),
        Change::Escalated { target, level } => (
            format!(
                "Escalated (step {level}): {} target missed",
                case::target_label(target).to_lowercase()
            ),
            None,
        ),
        Change::SlaRecomputed => ("Service levels changed; deadlines recomputed".into(), None),
    }
}

fn short(id: &str) -> &str {
    id.get(..8).unwrap_or(id)
}

async fn after_change(
    state: &AppState,
    m: Analyst,
    id: Uuid,
    form: &FormData,
    result: Result<usize, heard_store::StoreError>,
    saved: &str,
) -> AppResult<Response> {
    match result {
        Ok(_) => Ok(Redirect::to(&format!(
            "/admin/o/{}/cases/{}?saved={saved}",
            m.org_id(),
            id
        ))
        .into_response()),
        Err(heard_store::StoreError::Invalid(errs)) => {
            render_case(
                state,
                &m.as_viewer(),
                id,
                form,
                &errs,
                None,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

/// Changes status, owner, team and priority (fields of [`changes_of`]).
pub async fn update(
    State(state): State<AppState>,
    m: Analyst,
    Path((_, id)): Path<(String, String)>,
    AdminForm(form): AdminForm,
) -> AppResult<Response> {
    let id = id_of(&id)?;
    state.store.case(m.org_id(), id).await?;
    let result = match changes_of(&form, *m.me.user.id.as_uuid()) {
        Ok(changes) if changes.is_empty() => Ok(0),
        Ok(changes) => {
            state
                .store
                .change_cases(m.org_id(), &[id], &changes, m.me.user.id)
                .await
        }
        Err(errs) => Err(heard_store::StoreError::Invalid(errs)),
    };
    after_change(&state, m, id, &form, result, "changed").await
}

/// Writes a note for staff (`kind=note`) or records an update sent to the person (`kind=public`): `body`.
pub async fn write(
    State(state): State<AppState>,
    m: Analyst,
    Path((_, id)): Path<(String, String)>,
    AdminForm(form): AdminForm,
) -> AppResult<Response> {
    let id = id_of(&id)?;
    state.store.case(m.org_id(), id).await?;
    let body = form.get("body").trim().to_string();
    let change = match form.get("kind") {
        "public" => Change::PublicUpdate { body },
        "note" => Change::Note { body },
        _ => {
            let errs = FieldErrors::single(
                "kind",
                "required",
                "Choose a note for staff or an update to the person",
            );
            return after_change(
                &state,
                m,
                id,
                &form,
                Err(heard_store::StoreError::Invalid(errs)),
                "",
            )
            .await;
        }
    };
    // The store names the field `note` or `update`; the form has one box, `body`.
    let result = state
        .store
        .change_cases(m.org_id(), &[id], &[change], m.me.user.id)
        .await
        .map_err(|e| match e {
            heard_store::StoreError::Invalid(errs) => {
                heard_store::StoreError::Invalid(FieldErrors(
                    errs.0
                        .into_iter()
                        .map(|e| FieldError::new("body", e.code, e.message))
                        .collect(),
                ))
            }
            e => e,
        });
    after_change(&state, m, id, &form, result, "written").await
}

/// Closes a case: `root_cause` and `resolved` (`yes` or `no`).
pub async fn close(
    State(state): State<AppState>,
    m: Analyst,
    Path((_, id)): Path<(String, String)>,
    AdminForm(form): AdminForm,
) -> AppResult<Response> {
    let id = id_of(&id)?;
    state.store.case(m.org_id(), id).await?;
    let resolved = match form.get("resolved") {
        "yes" => Some(true),
        "no" => Some(false),
        _ => None,
    };
    let result = match resolved {
        None => Err(heard_store::StoreError::Invalid(FieldErrors::single(
            "resolved",
            "required",
            "Say whether the person's issue was resolved",
        ))),
        Some(resolved) => {
            state
                .store
                .end_case(
                    m.org_id(),
                    id,
                    form.get("root_cause"),
                    resolved,
                    form.opt("close_status").unwrap_or("closed"),
                    m.me.user.id,
                )
                .await
        }
    };
    after_change(&state, m, id, &form, result, "closed").await
}

/// Links a response, signal or event: `link_kind` and `link_id`.
pub async fn link(
    State(state): State<AppState>,
    m: Analyst,
    Path((_, id)): Path<(String, String)>,
    AdminForm(form): AdminForm,
) -> AppResult<Response> {
    let id = id_of(&id)?;
    state.store.case(m.org_id(), id).await?;
    let kind = LinkKind::parse(form.get("link_kind"));
    let target: Option<Uuid> = form.get("link_id").trim().parse().ok();
    let result = match (kind, target) {
        (Some(kind), Some(target)) => state
            .store
            .link_case(m.org_id(), id, kind, target, m.me.user.id)
            .await
            .map(|_| 1)
            .map_err(|e| match e {
                heard_store::StoreError::Invalid(errs) => {
                    heard_store::StoreError::Invalid(FieldErrors(
                        errs.0
                            .into_iter()
                            .map(|e| FieldError::new("link_id", e.code, e.message))
                            .collect(),
                    ))
                }
                e => e,
            }),
        _ => Err(heard_store::StoreError::Invalid(FieldErrors::single(
            "link_id",
            "invalid_id",
            "Give the id of a response, signal or event of this organization",
        ))),
    };
    after_change(&state, m, id, &form, result, "linked").await
}

/// The SLA form's fields from stored settings.
fn settings_form(s: &CaseSettings, default_zone: &str) -> FormData {
    let mut f = FormData::default();
    match &s.sla {
        None => {
            f.set("time_zone", default_zone);
            for d in ["mon", "tue", "wed", "thu", "fri"] {
                f.set(&format!("hours_{d}"), "08:00-17:00");
            }
        }
        Some(sla) => {
            f.set("track", "yes");
            f.set("time_zone", &sla.calendar.time_zone);
            if sla.calendar.always_open {
                f.set("always_open", "yes");
            }
            for d in WEEKDAY_KEYS {
                if let Some(r) = sla.calendar.hours.get(d) {
                    f.set(&format!("hours_{d}"), &r.join(", "));
                }
            }
            f.set("holidays", &sla.calendar.holidays.join("\n"));
            let hours = |m: Option<u32>| m.map(hours_text).unwrap_or_default();
            f.set("first_response_hours", &hours(sla.first_response_minutes));
            f.set("next_update_hours", &hours(sla.next_update_minutes));
            f.set("resolution_hours", &hours(sla.resolution_minutes));
            if let Some(w) = sla.warn_percent {
                f.set("warn_percent", &w.to_string());
            }
            f.set(
                "escalations",
                &sla.escalations
                    .iter()
                    .map(|e| format!("{} {}", hours_text(e.after_breach_minutes), e.name))
                    .collect::<Vec<_>>()
                    .join("\n"),
            );
        }
    }
    f
}

/// Business minutes as hours for the form: "4", "0.5", "1.25".
fn hours_text(m: u32) -> String {
    let h = m as f64 / 60.0;
    let s = format!("{h:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// Hours as typed ("4", "0.5", "1,5") to whole business minutes; `None` for an empty field.
fn parse_hours(field: &str, v: &str) -> Result<Option<u32>, FieldError> {
    let v = v.trim().replace(',', ".");
    if v.is_empty() {
        return Ok(None);
    }
    match v.parse::<f64>() {
        Ok(h) if h.is_finite() && h > 0.0 && h * 60.0 <= sla::MAX_TARGET_MINUTES as f64 => {
            Ok(Some((h * 60.0).round().max(1.0) as u32))
        }
        _ => Err(FieldError::new(
            field,
            "invalid_hours",
            format!(
                "{}: give a number of business hours greater than 0 and at most {}, such as 4 or 0.5",
                match field {
                    "first_response_hours" => "First response",
                    "next_update_hours" => "Next update",
                    "resolution_hours" => "Resolution",
                    _ => "Hours",
                },
                sla::MAX_TARGET_MINUTES / 60
            ),
        )),
    }
}

/// Reads the SLA part of the settings form; `None` when "track" is not chosen.
fn parse_sla(form: &FormData, errs: &mut FieldErrors) -> Option<SlaPolicySpec> {
    if form.get("track") != "yes" {
        return None;
    }
    let always_open = form.get("always_open") == "yes";
    let mut hours = BTreeMap::new();
    if !always_open {
        for d in WEEKDAY_KEYS {
            let v = form.get(&format!("hours_{d}"));
            let ranges: Vec<String> = v
                .split([',', ';'])
                .map(|r| r.trim().replace(' ', ""))
                .filter(|r| !r.is_empty())
                .collect();
            if !ranges.is_empty() {
                hours.insert(d.to_string(), ranges);
            }
        }
    }
    let holidays: Vec<String> = if always_open {
        vec![]
    } else {
        form.get("holidays")
            .split(['\n', ','])
            .map(|l| l.trim().to_string())
            .filter(|l| !l.is_empty())
            .collect()
    };
    let mut hours_of = |name: &str| match parse_hours(name, form.get(name)) {
        Ok(m) => m,
        Err(e) => {
            errs.push(e);
            None
        }
    };
    let first_response_minutes = hours_of("first_response_hours");
    let next_update_minutes = hours_of("next_update_hours");
    let resolution_minutes = hours_of("resolution_hours");
    let warn_percent = match form.get("warn_percent").trim() {
        "" => None,
        w => match w.trim_end_matches('%').parse::<u8>() {
            Ok(w) => Some(w),
            Err(_) => {
                errs.push(FieldError::new(
                    "warn_percent",
                    "invalid_percent",
                    "Give a whole number from 1 to 99",
                ));
                None
            }
        },
    };
    let mut escalations = vec![];
    for (i, line) in form
        .get("escalations")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .enumerate()
    {
        let (h, name) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
        match parse_hours("escalations", h) {
            Ok(Some(m)) => escalations.push(EscalationSpec {
                after_breach_minutes: m,
                name: name.trim().to_string(),
            }),
            Ok(None) => {}
            Err(_) if h.trim() == "0" => escalations.push(EscalationSpec {
                after_breach_minutes: 0,
                name: name.trim().to_string(),
            }),
            Err(_) => errs.push(FieldError::new(
                "escalations",
                "invalid_escalation",
                format!(
                    "Line {}: start with the hours after the deadline (0 for at the deadline), then a name",
                    i + 1
                ),
            )),
        }
    }
    Some(SlaPolicySpec {
        calendar: CalendarSpec {
            time_zone: form.get("time_zone").trim().to_string(),
            always_open,
            hours,
            holidays,
        },
        first_response_minutes,
        next_update_minutes,
        resolution_minutes,
        pause_statuses: vec![],
        end_statuses: None,
        warn_percent,
        escalations,
    })
}

/// The form field an error of `CaseSettings::check` belongs to.
fn settings_field(field: &str) -> String {
    let f = field.strip_prefix("sla.").unwrap_or(field);
    if let Some(rest) = f.strip_prefix("calendar.hours.") {
        let day = rest.split(['[', '.']).next().unwrap_or(rest);
        return format!("hours_{day}");
    }
    if f.starts_with("calendar.holidays") {
        return "holidays".into();
    }
    if f.starts_with("calendar.time_zone") {
        return "time_zone".into();
    }
    if f.starts_with("calendar") {
        return "hours_mon".into();
    }
    if f.starts_with("escalations") {
        return "escalations".into();
    }
    if f.starts_with("custom_statuses") {
        return "status_label".into();
    }
    for t in ["first_response", "next_update", "resolution"] {
        if f.starts_with(t) {
            return format!("{t}_hours");
        }
    }
    if f == "targets" {
        return "first_response_hours".into();
    }
    f.to_string()
}

async fn render_settings(
    state: &AppState,
    m: &Admin,
    form: &FormData,
    errs: &FieldErrors,
    saved: Option<String>,
    status: StatusCode,
) -> AppResult<Response> {
    let names = Names::load(state, m).await?;
    let customs: Vec<_> = names
        .settings
        .custom_statuses
        .iter()
        .map(|s| context! { key => s.key, label => s.label, kind => s.kind.key() })
        .collect();
    let days: Vec<_> = WEEKDAY_KEYS
        .iter()
        .zip([
            "Monday",
            "Tuesday",
            "Wednesday",
            "Thursday",
            "Friday",
            "Saturday",
            "Sunday",
        ])
        .map(|(k, n)| context! { key => format!("hours_{k}"), name => n, value => form.get(&format!("hours_{k}")) })
        .collect();
    let f = context! {
        track => form.get("track") == "yes", always_open => form.get("always_open") == "yes",
        time_zone => form.get("time_zone"), holidays => form.get("holidays"),
        first_response_hours => form.get("first_response_hours"), next_update_hours => form.get("next_update_hours"),
        resolution_hours => form.get("resolution_hours"), warn_percent => form.get("warn_percent"),
        escalations => form.get("escalations"), team_name => form.get("team_name"),
        status_label => form.get("status_label"), status_kind => form.opt("status_kind").unwrap_or("active"),
    };
    Ok(with_status(
        page(
            state,
            "case_settings.html",
            base_ctx(m, "cases"),
            context! { form => f, days => days, names => names.ctx(), customs => customs, on_call => names.settings.on_call.clone(), notify_deadlines => names.settings.notify_deadlines,
                offer => names.settings.callbacks.offer.key(), offers => OFFERS.iter().map(|(k, l)| context! { key => k, label => l }).collect::<Vec<_>>(),
                has_sender => state.store.email_sender(m.org_id()).await?.is_some(),
            errors => form_errors(errs), saved => saved, zones => heard_domain::zone::US_ZONES },
        ),
        status,
    ))
}

/// Saves `settings` and answers with the settings page saying what was saved (`saved`: `sla`, with the number of
/// cases recomputed, or `statuses`), or gives back the store's refusal by field.
async fn persist(
    state: &AppState,
    m: &Admin,
    settings: &CaseSettings,
    saved: &str,
) -> AppResult<Result<Response, FieldErrors>> {
    match state
        .store
        .save_case_settings(m.org_id(), settings, m.me.user.id)
        .await
    {
        Ok(n) => {
            let what = if saved == "sla" {
                format!("sla-{n}")
            } else {
                saved.to_string()
            };
            Ok(Ok(Redirect::to(&format!(
                "/admin/o/{}/cases/settings?saved={what}",
                m.org_id()
            ))
            .into_response()))
        }
        Err(heard_store::StoreError::Invalid(es)) => Ok(Err(es)),
        Err(e) => Err(e.into()),
    }
}

/// The settings' errors under the form's field names.
fn on_form(errs: FieldErrors) -> FieldErrors {
    FieldErrors(
        errs.0
            .into_iter()
            .map(|e| FieldError::new(settings_field(&e.field), e.code, e.message))
            .collect(),
    )
}

/// Saves the SLA (`track`, `time_zone`, `always_open`, `hours_mon`..`hours_sun`, `holidays`,
/// `first_response_hours`, `next_update_hours`, `resolution_hours`, `warn_percent`, `escalations`) and recomputes
/// every case's deadlines.
pub async fn save_sla(
    State(state): State<AppState>,
    m: Admin,
    AdminForm(form): AdminForm,
) -> AppResult<Response> {
    let mut errs = FieldErrors::default();
    let sla = parse_sla(&form, &mut errs);
    let mut settings = state.store.case_settings(m.org_id()).await?;
    settings.sla = sla;
    // Every problem at once: the form's own (a number that is not one) and the policy's (zone, hours, holidays).
    if let Err(es) = settings.check() {
        errs.0.extend(es.0);
    }
    if errs.is_empty() {
        match persist(&state, &m, &settings, "sla").await? {
            Ok(done) => return Ok(done),
            Err(es) => errs = es,
        }
    }
    let errs = on_form(errs);
    render_settings(
        &state,
        &m,
        &form,
        &errs,
        None,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await
}

/// A status key from its name: lower-case letters and digits, words joined by `_`.
fn status_key(label: &str) -> String {
    let mut key = String::new();
    for c in label.trim().to_lowercase().chars() {
        if c.is_ascii_alphanumeric() {
            key.push(c);
        } else if !key.ends_with('_') && !key.is_empty() {
            key.push('_');
        }
    }
    key.trim_end_matches('_').chars().take(40).collect()
}

/// Adds a status of the organization's own (`status_label`, `status_kind`: active, pauses, ends) or removes one
/// (`remove` = its key; refused while a case holds it).
pub async fn save_status(
    State(state): State<AppState>,
    m: Admin,
    AdminForm(form): AdminForm,
) -> AppResult<Response> {
    let mut settings = state.store.case_settings(m.org_id()).await?;
    let mut errs = FieldErrors::default();
    if let Some(key) = form.opt("remove") {
        settings.custom_statuses.retain(|s| s.key != key);
    } else {
        let label = form.get("status_label").trim().to_string();
        let kind = StatusKind::parse(form.get("status_kind"));
        match kind {
            None => errs.push(FieldError::new(
                "status_kind",
                "required",
                "Choose what the status does to the clock",
            )),
            Some(kind) => {
                let key = status_key(&label);
                if key.is_empty() {
                    errs.push(FieldError::new(
                        "status_label",
                        "invalid_label",
                        "Name the status with letters or digits, such as Waiting on another agency",
                    ));
                } else {
                    settings
                        .custom_statuses
                        .push(CaseStatus { key, label, kind });
                }
            }
        }
    }
    if errs.is_empty() {
        match persist(&state, &m, &settings, "statuses").await? {
            Ok(done) => return Ok(done),
            Err(es) => errs = es,
        }
    }
    let errs = on_form(errs);
    let stored = state.store.case_settings(m.org_id()).await?;
    let mut f = settings_form(&stored, m.org.time_zone.name());
    f.set("status_label", form.get("status_label"));
    f.set("status_kind", form.get("status_kind"));
    render_settings(
        &state,
        &m,
        &f,
        &errs,
        None,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await
}

/// Chooses the on-call staff emailed at once when crisis language opens a case: `on_call` (repeated member ids).
/// The callback offer's choices, for the settings page.
const OFFERS: [(&str, &str); 3] = [
    ("never", "Only when a rule offers it"),
    (
        "after_negative",
        "After a negative trust answer (1 to 3, or a thumbs down)",
    ),
    ("always", "After every response"),
];

/// Saves when people are offered a callback (`offer`: never, after_negative, always).
pub async fn save_callbacks(
    State(state): State<AppState>,
    m: Admin,
    AdminForm(form): AdminForm,
) -> AppResult<Response> {
    let Some(offer) = heard_domain::callback::Offer::parse(form.get("offer")) else {
        let stored = state.store.case_settings(m.org_id()).await?;
        let f = settings_form(&stored, m.org.time_zone.name());
        let errs = FieldErrors::single("offer", "required", "Choose when to offer a callback");
        return render_settings(
            &state,
            &m,
            &f,
            &errs,
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    };
    let mut settings = state.store.case_settings(m.org_id()).await?;
    settings.callbacks.offer = offer;
    state
        .store
        .save_case_settings(m.org_id(), &settings, m.me.user.id)
        .await?;
    Ok(Redirect::to(&format!(
        "/admin/o/{}/cases/settings?saved=callbacks",
        m.org_id()
    ))
    .into_response())
}

pub async fn save_on_call(
    State(state): State<AppState>,
    m: Admin,
    AdminForm(form): AdminForm,
) -> AppResult<Response> {
    // On-call staff work cases: analysts and administrators.
    let members: Vec<String> = state
        .store
        .members(m.org_id())
        .await?
        .into_iter()
        .filter(|(_, role)| *role >= Role::Analyst)
        .map(|(u, _)| u.id.to_string())
        .collect();
    let chosen: Vec<String> = form
        .all("on_call")
        .into_iter()
        .map(str::to_string)
        .collect();
    if chosen.iter().any(|c| !members.contains(c)) {
        let stored = state.store.case_settings(m.org_id()).await?;
        let f = settings_form(&stored, m.org.time_zone.name());
        let errs = FieldErrors::single(
            "on_call",
            "unknown_member",
            "Choose members of this organization",
        );
        return render_settings(
            &state,
            &m,
            &f,
            &errs,
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    let mut settings = state.store.case_settings(m.org_id()).await?;
    settings.on_call = chosen;
    settings.notify_deadlines = form.get("notify_deadlines") == "yes";
    state
        .store
        .save_case_settings(m.org_id(), &settings, m.me.user.id)
        .await?;
    Ok(Redirect::to(&format!(
        "/admin/o/{}/cases/settings?saved=on-call",
        m.org_id()
    ))
    .into_response())
}

/// Adds a team: `team_name`.
pub async fn add_team(
    State(state): State<AppState>,
    m: Admin,
    AdminForm(form): AdminForm,
) -> AppResult<Response> {
    let err = match state
        .store
        .create_case_team(m.org_id(), form.get("team_name"))
        .await
    {
        Ok(_) => {
            return Ok(Redirect::to(&format!(
                "/admin/o/{}/cases/settings?saved=team",
                m.org_id()
            ))
            .into_response());
        }
        Err(heard_store::StoreError::Invalid(es)) => {
            es.0.into_iter()
                .map(|e| FieldError::new("team_name", e.code, e.message))
                .collect()
        }
        Err(heard_store::StoreError::Conflict(msg)) => {
            vec![FieldError::new("team_name", "duplicate", msg)]
        }
        Err(e) => return Err(e.into()),
    };
    let stored = state.store.case_settings(m.org_id()).await?;
    let mut f = settings_form(&stored, m.org.time_zone.name());
    f.set("team_name", form.get("team_name"));
    render_settings(
        &state,
        &m,
        &f,
        &FieldErrors(err),
        None,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await
}

#[derive(serde::Deserialize, Default)]
pub struct SettingsQuery {
    #[serde(default)]
    saved: Option<String>,
}

/// The settings page; after a save it says what was saved.
pub async fn settings_saved(
    State(state): State<AppState>,
    m: Admin,
    Query(q): Query<SettingsQuery>,
) -> AppResult<Response> {
    let s = state.store.case_settings(m.org_id()).await?;
    let form = settings_form(&s, m.org.time_zone.name());
    let saved = q.saved.map(|s| match s.strip_prefix("sla-") {
        Some(n) => format!("Service levels saved. Deadlines of {n} cases were computed again."),
        None if s == "team" => "Team added.".to_string(),
        None if s == "on-call" => "On-call staff saved.".to_string(),
        None if s == "callbacks" => "Callback offer saved.".to_string(),
        None => "Statuses saved.".to_string(),
    });
    render_settings(
        &state,
        &m,
        &form,
        &FieldErrors::default(),
        saved,
        StatusCode::OK,
    )
    .await
}

/// The case figures.
pub async fn figures(State(state): State<AppState>, m: Viewer) -> AppResult<Response> {
    let rows: Vec<heard_insight::cases::CaseTimes> = state
        .store
        .case_figure_rows(m.org_id())
        .await?
        .into_iter()
        .map(|r| heard_insight::cases::CaseTimes {
            opened_at: r.opened_at,
            first_public_update_at: r.first_public_update_at,
            ended_at: if r.ended { r.ended_at } else { None },
            resolved: r.resolved,
            trust_positive: r.trust_positive,
        })
        .collect();
    let f = heard_insight::cases::case_figures(&rows);
    let share = |s: &heard_insight::cases::Share| {
        context! { positive => s.count.positive, n => s.count.n,
        p => s.value.map(|v| v.0), low => s.value.map(|v| v.1.low), high => s.value.map(|v| v.1.high) }
    };
    let dur = |d: &heard_insight::cases::Durations| {
        context! { n => d.n, median => d.median_hours, p90 => d.p90_hours }
    };
    Ok(page(
        &state,
        "case_figures.html",
        base_ctx(&m, "cases"),
        context! {
            cases => f.cases, open => f.open,
            first_response => dur(&f.first_response), resolution => dur(&f.resolution),
            resolved => share(&f.resolved), trust_closed => share(&f.trust_closed), trust_open => share(&f.trust_open),
            difference => f.trust_difference.map(|(d, p, test)| context!{ diff => d, p => p, test => test }),
        },
    ))
}

/// The flag's words, for templates that show a case's SLA beside a response.
pub fn flag_label(key: &str) -> &'static str {
    SlaFlag::parse(key).label()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_for_people() {
        assert_eq!(due_words(0, 30 * 60_000), "in 30 min");
        assert_eq!(due_words(0, 200 * 60_000), "in 3 h 20 min");
        assert_eq!(due_words(120 * 60_000, 0), "2 h overdue");
        assert_eq!(due_words(0, 5 * 24 * 3_600_000), "in 5 days");
        assert_eq!(minutes_words(90), "1 h 30 min");
        assert_eq!(hours_text(90), "1.5");
        assert_eq!(hours_text(240), "4");
        assert_eq!(parse_hours("x", "1,5").unwrap(), Some(90));
        assert_eq!(parse_hours("x", "").unwrap(), None);
        assert_eq!(parse_hours("x", "-1").unwrap_err().field, "x");
        assert_eq!(
            status_key("  Waiting on another agency! "),
            "waiting_on_another_agency"
        );
        assert_eq!(settings_field("sla.calendar.hours.mon[1]"), "hours_mon");
        assert_eq!(
            settings_field("sla.first_response_minutes"),
            "first_response_hours"
        );
        assert_eq!(settings_field("sla.calendar.holidays[2]"), "holidays");
    }
}
