//! The frontline staff form: what a member of staff saw, how often, what would fix it, for which service and
//! touchpoint, and roughly how many people it touches. Any member of the organization may send one (frontline staff
//! are often viewers); it becomes a signal (source `staff_observation`, author staff) by the ingestion API's path
//! (`heard_domain::voice::parse_observation`, `Pipeline::prepare_form_signal`, `Store::insert_form_signal`), with
//! the sending account in the signal's `sent_by` column. The page lists the sender's own recent observations.
//!
//! The form carries its own key (made when the page was shown), the signal's external id: a double submit stores
//! one observation, and the same key with other words is refused with what was typed kept.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use heard_domain::voice::{Frequency, MAX_FIX, MAX_WHAT, ObservationForm, parse_observation};
use heard_domain::{FieldError, FieldErrors};
use minijinja::context;
use serde::Deserialize;

use super::{base_ctx, form_errors, page};
use crate::auth::{AdminForm, Viewer};
use crate::forms::FormData;
use crate::{AppResult, AppState};

/// How many of the sender's own observations the page lists.
const RECENT: i64 = 20;

#[derive(Deserialize, Default)]
pub struct PageQuery {
    /// A service to preselect (the link on a service's page).
    pub service: Option<String>,
    /// Set after a successful send: the page says so.
    pub sent: Option<String>,
}

pub async fn show(
    State(state): State<AppState>,
    m: Viewer,
    Query(q): Query<PageQuery>,
) -> AppResult<Response> {
    let mut form = FormData::default();
    if let Some(s) = q.service {
        form.0.push(("service".into(), s));
    }
    render(
        &state,
        &m,
        &form,
        &FieldErrors::default(),
        q.sent.is_some(),
        StatusCode::OK,
    )
    .await
}

async fn render(
    state: &AppState,
    m: &Viewer,
    form: &FormData,
    errs: &FieldErrors,
    sent: bool,
    status: StatusCode,
) -> AppResult<Response> {
    let org = m.org_id();
    let services = state.store.services(org).await?;
    let touchpoints = state.store.touchpoints(org).await?;
    let chosen_service = form.get("service");
    let chosen_tp = form.get("touchpoint");
    let service_options: Vec<_> = services
        .iter()
        .map(|s| {
            let id = s.id.to_string();
            context! { selected => id == chosen_service, id => id, name => s.name.get("en") }
        })
        .collect();
    // Touchpoints grouped by service, so a person without JavaScript sees which service each belongs to.
    let groups: Vec<_> = services
        .iter()
        .map(|s| {
            let tps: Vec<_> = touchpoints
                .iter()
                .filter(|t| t.service_id == s.id)
                .map(|t| {
                    let id = t.id.to_string();
                    context! { selected => id == chosen_tp, id => id, name => t.name.get("en"), channel => t.channel.label() }
                })
                .collect();
            context! { service => s.name.get("en"), touchpoints => tps }
        })
        .filter(|g| g.get_attr("touchpoints").is_ok_and(|t| t.len() != Some(0)))
        .collect();
    let name_of_service = |id: Option<uuid::Uuid>| {
        id.and_then(|id| services.iter().find(|s| *s.id.as_uuid() == id))
            .map(|s| s.name.get("en").to_string())
    };
    let name_of_tp = |id: Option<uuid::Uuid>| {
        id.and_then(|id| touchpoints.iter().find(|t| *t.id.as_uuid() == id))
            .map(|t| t.name.get("en").to_string())
    };
    let recent: Vec<_> = state
        .store
        .observations_by(org, m.me.user.id, RECENT)
        .await?
        .into_iter()
        .map(|r| {
            let attrs: serde_json::Map<String, serde_json::Value> = r
                .attributes
                .as_deref()
                .and_then(|a| serde_json::from_str(a).ok())
                .unwrap_or_default();
            context! {
                received_at => r.received_at, text => r.text, urgent => r.urgent, sentiment => r.sentiment,
                service => name_of_service(r.service_id), touchpoint => name_of_tp(r.touchpoint_id),
                frequency => attrs.get("frequency").and_then(|f| f.as_str()).and_then(Frequency::parse).map(Frequency::label),
                fix => attrs.get("fix").and_then(|f| f.as_str()).map(str::to_string),
                people => attrs.get("people_affected").and_then(|p| p.as_i64()),
            }
        })
        .collect();
    let frequencies: Vec<_> = Frequency::ALL
        .iter()
        .map(|f| context! { key => f.key(), label => f.label(), checked => form.get("frequency") == f.key() })
        .collect();
    let token = form
        .opt("token")
        .filter(|t| uuid::Uuid::parse_str(t).is_ok())
        .map(str::to_string)
        .unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
    let mut resp = page(
        state,
        "observations.html",
        base_ctx(m, "observations"),
        context! {
            services => service_options, groups => groups, frequencies => frequencies, recent => recent,
            errors => form_errors(errs), sent => sent, token => token, max_what => MAX_WHAT, max_fix => MAX_FIX,
            what => form.get("what"), fix => form.get("fix"), people => form.get("people"),
        },
    );
    if resp.status().is_success() {
        *resp.status_mut() = status;
    }
    Ok(resp)
}

/// The admin's sentence for a field's error: what is wrong and what to do, naming the field as its label does.
fn message(e: &FieldError) -> String {
    match (e.field.as_str(), e.code) {
        ("what", "required") => "What did you see: describe it in a sentence or two.".into(),
        ("what", "too_long") => format!("What did you see: shorten it to {MAX_WHAT} characters or fewer."),
        ("frequency", _) => "How often: choose one of the answers.".into(),
        ("fix", _) => format!("What would fix it: shorten it to {MAX_FIX} characters or fewer."),
        ("service", "required") => "Service: choose the service where you saw it.".into(),
        ("service", _) => "Service: choose one of your organization's services from the list.".into(),
        ("touchpoint", _) => {
            "Touchpoint: choose a touchpoint of the service you chose, or “Not sure, or none of these”.".into()
        }
        ("people", _) => "Roughly how many people: enter a whole number, such as 40, or leave it empty.".into(),
        _ => e.message.clone(),
    }
}

pub async fn submit(
    State(state): State<AppState>,
    m: Viewer,
    AdminForm(form): AdminForm,
) -> AppResult<Response> {
    let org = m.org_id();
    let services = state.store.services(org).await?;
    let touchpoints = state.store.touchpoints(org).await?;
    let owned: Vec<_> = services
        .iter()
        .map(|s| {
            (
                s.id,
                touchpoints
                    .iter()
                    .filter(|t| t.service_id == s.id)
                    .map(|t| t.id)
                    .collect(),
            )
        })
        .collect();
    let token = form
        .opt("token")
        .filter(|t| uuid::Uuid::parse_str(t).is_ok())
        .map(str::to_string)
        .unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
    let now = heard_store::now_ms();
    let parsed = parse_observation(
        &ObservationForm {
            what: form.get("what"),
            frequency: form.get("frequency"),
            fix: form.get("fix"),
            service: form.get("service"),
            touchpoint: form.get("touchpoint"),
            people: form.get("people"),
        },
        &owned,
        m.me.user.id,
        &token,
        now,
    );
    let parsed = match parsed {
        Ok(p) => p,
        Err(errs) => {
            let errs = FieldErrors(
                errs.0
                    .iter()
                    .map(|e| FieldError::new(e.field.clone(), e.code, message(e)))
                    .collect(),
            );
            return render(
                &state,
                &m,
                &form,
                &errs,
                false,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        }
    };
    let (signal, extras) = state.pipeline.prepare_form_signal(org, parsed, now);
    match state.store.insert_form_signal(&signal, &extras).await {
        Ok(_) => Ok(Redirect::to(&format!("/admin/o/{org}/observations?sent=1")).into_response()),
        Err(heard_store::StoreError::IdempotencyKeyReused) => {
            let mut again = form.clone();
            again.0.retain(|(k, _)| k != "token");
            let errs = FieldErrors::single(
                "what",
                heard_domain::idempotency::KEY_REUSED,
                "This form was already sent with other words, which are kept. What you typed now is below: send it to record it as a new observation.",
            );
            render(&state, &m, &again, &errs, false, StatusCode::CONFLICT).await
        }
        Err(e) => Err(e.into()),
    }
}
