//! Callbacks in the admin (issue 21, item 3). Everyone in the organization sees the queue; analysts and admins (the
//! roles that may read contact details) see the number, record calls and call a callback off.
//!
//! - `/admin/o/{org}/callbacks?queue=due|upcoming|missed|ended`: due (the window has started or starts within the
//!   hour), upcoming, missed (escalated: nobody reached the person after every try, or the number was wrong) and
//!   ended (completed or called off).
//! - `/admin/o/{org}/callbacks/{id}`: the callback, its case and response, everything that happened to it (asked,
//!   moved, calls, windows missed, messages to the person), and the forms: record a call (reached, no answer, a
//!   message left, wrong number, with a note), call it off.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use heard_domain::callback::{self, CallbackState, Outcome};
use heard_domain::{FieldErrors, Role};
use heard_store::callbacks::{CallbackQueue, CallbackRecord};
use minijinja::{Value, context};
use uuid::Uuid;

use super::{base_ctx, form_errors, page};
use crate::auth::{AdminForm, Analyst, Viewer};
use crate::{AppError, AppResult, AppState};

fn id_of(s: &str) -> AppResult<Uuid> {
    s.parse().map_err(|_| AppError::NotFound)
}

#[derive(serde::Deserialize, Default)]
pub struct QueueParams {
    #[serde(default)]
    queue: Option<String>,
    #[serde(default)]
    saved: Option<String>,
}

fn queue_label(q: CallbackQueue) -> &'static str {
    match q {
        CallbackQueue::Due => "Due now",
        CallbackQueue::Upcoming => "Upcoming",
        CallbackQueue::Missed => "Missed",
        CallbackQueue::Ended => "Completed and called off",
    }
}

fn state_label(s: CallbackState) -> &'static str {
    match s {
        CallbackState::Scheduled => "Scheduled",
        CallbackState::Completed => "Completed",
        CallbackState::Missed => "Missed",
        CallbackState::Cancelled => "Called off",
    }
}

fn missed_words(reason: Option<&str>) -> Option<&'static str> {
    Some(match reason? {
        "wrong_number" => "the number was wrong",
        "no_answer" => "nobody answered any of the calls",
        "windows" => "nobody reached the person in any of the windows",
        _ => "missed",
    })
}

/// A callback for a table or a page; the number only for roles that may read contact details.
fn row(state: &AppState, c: &CallbackRecord, zone: heard_domain::Zone, show_number: bool) -> Value {
    context! {
        id => c.id.to_string(), state => c.state().key(), state_label => state_label(c.state()),
        window => c.window().display(zone), window_start => c.window_start,
        case_id => c.case_id.map(|x| x.to_string()), response_id => c.response_id.map(|x| x.to_string()),
        attempts => c.attempts, unanswered => c.unanswered, windows_missed => c.windows_missed,
        missed => missed_words(c.missed_reason.as_deref()), language => if c.language == "es" { "Spanish" } else { "English" },
        notify => match c.notify.0 { callback::Notify::Sms => "text message", callback::Notify::Email => "email", callback::Notify::None => "none" },
        source => match c.source.0 { callback::Source::ThankYou => "thank-you page", callback::Source::Status => "case status page", callback::Source::Sms => "SMS reply", callback::Source::Staff => "staff" },
        number => show_number.then(|| state.pipeline.sealer().open(&c.phone_sealed).unwrap_or_else(|| "(cannot be opened with this server's key)".into())),
        created_at => c.created_at, ended_at => c.ended_at,
    }
}

pub async fn list(
    State(state): State<AppState>,
    m: Viewer,
    Query(q): Query<QueueParams>,
) -> AppResult<Response> {
    let queue = q
        .queue
        .as_deref()
        .and_then(CallbackQueue::parse)
        .unwrap_or(CallbackQueue::Due);
    let now = heard_store::now_ms();
    let zone = m.org.time_zone;
    let show = m.role >= Role::Analyst;
    let rows: Vec<Value> = state
        .store
        .callback_queue(m.org_id(), queue, now)
        .await?
        .iter()
        .map(|c| row(&state, c, zone, show))
        .collect();
    let [due, upcoming, missed] = state.store.callback_counts(m.org_id(), now).await?;
    Ok(page(
        &state,
        "callbacks.html",
        base_ctx(&m, "callbacks"),
        context! { queue => queue.key(), queue_label => queue_label(queue), callbacks => rows,
        counts => context! { due => due, upcoming => upcoming, missed => missed },
        attempts => callback::MAX_ATTEMPTS, windows => callback::MAX_WINDOWS },
    ))
}

pub async fn show(
    State(state): State<AppState>,
    m: Viewer,
    Path((_, id)): Path<(String, String)>,
    Query(q): Query<QueueParams>,
) -> AppResult<Response> {
    render(
        &state,
        &m,
        id_of(&id)?,
        &FieldErrors::default(),
        q.saved.as_deref(),
        StatusCode::OK,
    )
    .await
}

async fn render(
    state: &AppState,
    m: &Viewer,
    id: Uuid,
    errs: &FieldErrors,
    saved: Option<&str>,
    status: StatusCode,
) -> AppResult<Response> {
    let c = state.store.callback(m.org_id(), id).await?;
    let zone = m.org.time_zone;
    let names: std::collections::HashMap<Uuid, String> = state
        .store
        .members(m.org_id())
        .await?
        .into_iter()
        .map(|(u, _)| (*u.id.as_uuid(), u.name))
        .collect();
    let events: Vec<Value> = state
        .store
        .callback_events(m.org_id(), id)
        .await?
        .into_iter()
        .map(|e| {
            let what = match e.kind.as_str() {
                "requested" => "The person asked for a call".to_string(),
                "changed" => "The person changed the time or number".to_string(),
                "moved" => "Moved to the next window".to_string(),
                "call" => format!(
                    "Call: {}",
                    e.value
                        .as_deref()
                        .and_then(Outcome::parse)
                        .map_or("?", |o| o.label())
                ),
                "window_missed" => "The window ended with nobody reached".to_string(),
                "completed" => "Completed".to_string(),
                "missed" => format!(
                    "Missed: {}; escalated",
                    missed_words(e.value.as_deref()).unwrap_or("missed")
                ),
                "cancelled" => "Called off".to_string(),
                "message" => format!(
                    "Message to the person ({}){}",
                    e.value.as_deref().unwrap_or(""),
                    if e.note.is_some() {
                        ": not sent"
                    } else {
                        ": sent"
                    }
                ),
                k => k.to_string(),
            };
            let window = if matches!(
                e.kind.as_str(),
                "requested" | "changed" | "moved" | "window_missed"
            ) {
                e.value
                    .as_deref()
                    .and_then(callback::Window::parse)
                    .map(|w| w.display(zone))
            } else {
                None
            };
            let by = match e.actor_id {
                Some(a) => names
                    .get(&a)
                    .cloned()
                    .unwrap_or_else(|| "A former member".into()),
                None if matches!(e.kind.as_str(), "requested" | "changed" | "cancelled") => {
                    "The person".into()
                }
                None => "Heard".into(),
            };
            context! { at => e.at, what => what, window => window, note => e.note, by => by }
        })
        .collect();
    let case = match c.case_id {
        Some(cid) => state
            .store
            .case(m.org_id(), cid)
            .await
            .ok()
            .map(|k| context! { id => cid.to_string(), number => k.number, title => k.title }),
        None => None,
    };
    let outcomes: Vec<Value> = Outcome::ALL
        .iter()
        .map(|o| context! { key => o.key(), label => o.label() })
        .collect();
    let mut resp = page(
        state,
        "callback_admin.html",
        base_ctx(m, "callbacks"),
        context! { c => row(state, &c, zone, m.role >= Role::Analyst), events => events, case => case,
        outcomes => outcomes, errors => form_errors(errs), saved => saved,
        attempts => callback::MAX_ATTEMPTS, windows => callback::MAX_WINDOWS },
    );
    if resp.status().is_success() {
        *resp.status_mut() = status;
    }
    Ok(resp)
}

/// Records a call: `outcome` (reached, no_answer, left_message, wrong_number) and an optional `note`.
pub async fn call(
    State(state): State<AppState>,
    m: Analyst,
    Path((_, id)): Path<(String, String)>,
    AdminForm(form): AdminForm,
) -> AppResult<Response> {
    let id = id_of(&id)?;
    let (org, user) = (m.org_id(), *m.me.user.id.as_uuid());
    let viewer = m.as_viewer();
    let Some(outcome) = Outcome::parse(form.get("outcome")) else {
        let errs = FieldErrors::single("outcome", "required", "Choose what happened on the call");
        return render(
            &state,
            &viewer,
            id,
            &errs,
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    };
    match state
        .store
        .record_callback_call(
            org,
            id,
            user,
            outcome,
            form.get("note"),
            heard_store::now_ms(),
        )
        .await
    {
        Ok(_) => {
            Ok(Redirect::to(&format!("/admin/o/{org}/callbacks/{id}?saved=call")).into_response())
        }
        Err(heard_store::StoreError::Invalid(errs)) => {
            render(
                &state,
                &viewer,
                id,
                &errs,
                None,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(heard_store::StoreError::Conflict(why)) => {
            let errs = FieldErrors::single("outcome", "ended", format!("Nothing recorded: {why}"));
            render(&state, &viewer, id, &errs, None, StatusCode::CONFLICT).await
        }
        Err(e) => Err(e.into()),
    }
}

/// Calls a scheduled callback off (the person said so on the phone, say).
pub async fn cancel(
    State(state): State<AppState>,
    m: Analyst,
    Path((_, id)): Path<(String, String)>,
    AdminForm(_form): AdminForm,
) -> AppResult<Response> {
    let id = id_of(&id)?;
    match state
        .store
        .cancel_callback(
            m.org_id(),
            id,
            Some(*m.me.user.id.as_uuid()),
            heard_store::now_ms(),
        )
        .await
    {
        Ok(_) => Ok(Redirect::to(&format!(
            "/admin/o/{}/callbacks/{id}?saved=cancelled",
            m.org_id()
        ))
        .into_response()),
        Err(heard_store::StoreError::Conflict(why)) => {
            let errs = FieldErrors::single("cancel", "ended", format!("Nothing changed: {why}"));
            render(
                &state,
                &m.as_viewer(),
                id,
                &errs,
                None,
                StatusCode::CONFLICT,
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}
