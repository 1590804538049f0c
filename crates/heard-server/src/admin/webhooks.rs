//! Webhooks in the admin (issue 21, item 4), admins only: `/admin/o/{org}/webhooks` lists the organization's
//! endpoints and adds one (address `https://`, or `http://` to loopback for testing; a description; the event types
//! of [`EventType::ALL`]); an endpoint's page edits it, pauses or resumes it, rotates its secret and shows its
//! delivery log; a delivery's page lists its attempts (HTTP status, time taken, error, next retry) and replays it.
//!
//! A secret is shown once, on the page that answers the form that made it (adding an endpoint, or rotating), and
//! is stored sealed ([`crate::crypto::Sealer`]); no page shows it again. Forms are parsed whole before anything is
//! written; a bad field gets a 422 naming it. The pages' words come in the admin's language (`?lang=` or
//! `Accept-Language`, `locales/*.json` under `webhooks`).

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use heard_domain::webhook::{EventType, ROTATION_OVERLAP_MS};
use heard_domain::{FieldError, FieldErrors};
use heard_store::webhooks::{EndpointSettings, WebhookEndpoint};
use minijinja::{Value, context};
use uuid::Uuid;

use super::{base_ctx, form_errors, page};
use crate::auth::{Admin, AdminForm};
use crate::crypto::Sealer;
use crate::forms::FormData;
use crate::webhooks::{message_header_id, new_secret, url_problem};
use crate::{AppError, AppResult, AppState};

/// How many deliveries an endpoint's page lists.
const LOGGED: i64 = 50;

#[derive(serde::Deserialize, Default)]
pub struct PageQuery {
    #[serde(default)]
    lang: Option<String>,
    #[serde(default)]
    saved: Option<String>,
    #[serde(default)]
    replayed: Option<String>,
}

fn language(q: Option<&str>, headers: &HeaderMap) -> String {
    let offered: Vec<String> = crate::i18n::languages()
        .into_iter()
        .map(|(code, _)| code)
        .collect();
    crate::i18n::negotiate(
        q,
        headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok()),
        &offered,
    )
}

/// The page's words and the language switch.
fn words(lang: &str) -> Value {
    let languages: Vec<_> = crate::i18n::languages()
        .into_iter()
        .map(|(code, name)| context! { code => code, name => name })
        .collect();
    context! { wt => crate::i18n::strings(lang)["webhooks"], wlang => lang, languages => languages }
}

fn text(lang: &str, path: &[&str]) -> String {
    let mut v = &crate::i18n::strings(lang)["webhooks"];
    for p in path {
        v = &v[*p];
    }
    v.as_str().unwrap_or_default().to_string()
}

/// An attempt's error code in words, with its HTTP status where it has one.
fn attempt_error(lang: &str, code: &str, status: Option<i32>) -> String {
    let words = text(lang, &["attempt_errors", code]);
    if words.is_empty() {
        return code.to_string();
    }
    words.replace(
        "{status}",
        &status.map(|s| s.to_string()).unwrap_or_default(),
    )
}

fn id_of(s: &str) -> AppResult<Uuid> {
    s.parse().map_err(|_| AppError::NotFound)
}

fn with_status(mut resp: Response, status: StatusCode) -> Response {
    if resp.status().is_success() {
        *resp.status_mut() = status;
    }
    resp
}

/// Parses the endpoint form: `url`, `description`, and `events` (repeated, one per chosen type).
fn parse_form(form: &FormData, lang: &str) -> Result<EndpointSettings, FieldErrors> {
    let mut errs = FieldErrors::default();
    let url = form.get("url").trim().to_string();
    let url_code = if url.is_empty() {
        Some("url_required")
    } else {
        url_problem(&url).map(|p| match p {
            "not_https" => "url_not_https",
            "too_long" => "url_too_long",
            _ => "url_invalid",
        })
    };
    if let Some(code) = url_code {
        errs.push(FieldError::new("url", code, text(lang, &["errors", code])));
    }
    let description = form.get("description").trim().to_string();
    if description.chars().count() > 200 || description.chars().any(char::is_control) {
        errs.push(FieldError::new(
            "description",
            "description_invalid",
            text(lang, &["errors", "description_invalid"]),
        ));
    }
    let chosen = form.all("events");
    let event_types: Vec<EventType> = EventType::ALL
        .into_iter()
        .filter(|t| chosen.contains(&t.key()))
        .collect();
    if event_types.is_empty() || chosen.iter().any(|c| EventType::parse(c).is_none()) {
        errs.push(FieldError::new(
            // The first checkbox carries the id the error summary links to.
            "events",
            "events_required",
            text(lang, &["errors", "events_required"]),
        ));
    }
    if errs.is_empty() {
        Ok(EndpointSettings {
            url,
            description,
            event_types,
        })
    } else {
        Err(errs)
    }
}

/// The event types as checkboxes: key, label, hint, checked.
fn type_choices(lang: &str, checked: &[&str]) -> Vec<Value> {
    EventType::ALL
        .into_iter()
        .map(|t| {
            context! {
                key => t.key(),
                label => text(lang, &["event_types", t.key(), "label"]),
                hint => text(lang, &["event_types", t.key(), "hint"]),
                checked => checked.contains(&t.key()),
            }
        })
        .collect()
}

fn endpoint_view(e: &WebhookEndpoint) -> Value {
    context! {
        id => e.id.to_string(), url => e.url, description => e.description,
        events => e.event_types.iter().map(|t| t.key()).collect::<Vec<_>>(),
        paused => e.paused, created_at => e.created_at,
        previous_until => e.previous_until.filter(|u| *u > heard_store::now_ms()),
    }
}

fn render_list(
    state: &AppState,
    m: &Admin,
    lang: &str,
    endpoints: &[WebhookEndpoint],
    form: Option<&FormData>,
    errs: &FieldErrors,
) -> Response {
    let checked: Vec<&str> = match form {
        Some(f) => f.all("events"),
        None => vec![EventType::ResponseReceived.key()],
    };
    page(
        state,
        "webhooks.html",
        base_ctx(m, "webhooks"),
        context! {
            ..words(lang),
            ..context! {
                endpoints => endpoints.iter().map(endpoint_view).collect::<Vec<_>>(),
                errors => form_errors(errs),
                form => context! { url => form.map(|f| f.get("url")), description => form.map(|f| f.get("description")) },
                types => type_choices(lang, &checked),
            }
        },
    )
}

/// `/admin/o/{org}/webhooks`: the endpoints and the form to add one.
pub async fn list(
    State(state): State<AppState>,
    m: Admin,
    Query(q): Query<PageQuery>,
    headers: HeaderMap,
) -> AppResult<Response> {
    let lang = language(q.lang.as_deref(), &headers);
    let endpoints = state.store.webhook_endpoints(m.org_id()).await?;
    Ok(render_list(
        &state,
        &m,
        &lang,
        &endpoints,
        None,
        &FieldErrors::default(),
    ))
}

/// Adds an endpoint and answers with its page, showing the new secret this once.
pub async fn create(
    State(state): State<AppState>,
    m: Admin,
    Query(q): Query<PageQuery>,
    headers: HeaderMap,
    AdminForm(form): AdminForm,
) -> AppResult<Response> {
    let lang = language(q.lang.as_deref(), &headers);
    let settings = match parse_form(&form, &lang) {
        Ok(s) => s,
        Err(errs) => {
            let endpoints = state.store.webhook_endpoints(m.org_id()).await?;
            let resp = render_list(&state, &m, &lang, &endpoints, Some(&form), &errs);
            return Ok(with_status(resp, StatusCode::UNPROCESSABLE_ENTITY));
        }
    };
    let secret = new_secret();
    let sealed = Sealer::new(&state.config.secret_key).seal(&secret);
    let id = state
        .store
        .create_webhook_endpoint(m.org_id(), &settings, &sealed, heard_store::now_ms())
        .await?;
    tracing::info!(org = %m.org_id(), endpoint = %id, user = %m.me.user.id, "webhook endpoint added");
    let e = state.store.webhook_endpoint(m.org_id(), id).await?;
    render_endpoint(
        &state,
        &m,
        &lang,
        &e,
        None,
        &FieldErrors::default(),
        Shown {
            secret: Some((secret, false)),
            ..Shown::default()
        },
    )
    .await
}

/// What an endpoint's page says besides the endpoint: a secret shown once (and whether it came from a rotation),
/// "saved", "replayed".
#[derive(Default)]
struct Shown {
    secret: Option<(String, bool)>,
    saved: bool,
}

async fn render_endpoint(
    state: &AppState,
    m: &Admin,
    lang: &str,
    e: &WebhookEndpoint,
    form: Option<&FormData>,
    errs: &FieldErrors,
    shown: Shown,
) -> AppResult<Response> {
    let deliveries = state
        .store
        .webhook_deliveries(m.org_id(), e.id, LOGGED)
        .await?;
    let log: Vec<Value> = deliveries
        .iter()
        .map(|d| {
            context! {
                id => d.id.to_string(), message_id => message_header_id(d.message_id), event => d.event_type,
                state => d.state, state_label => text(lang, &["states", &d.state]), attempts => d.attempts,
                last_status => d.last_status, next_attempt_at => (d.state == "pending").then_some(d.next_attempt_at).flatten(),
                created_at => d.created_at,
            }
        })
        .collect();
    let checked: Vec<&str> = match form {
        Some(f) => f.all("events"),
        None => e.event_types.iter().map(|t| t.key()).collect(),
    };
    let value = |name: &str, stored: &str| -> String {
        form.map_or(stored.to_string(), |f| f.get(name).to_string())
    };
    Ok(page(
        state,
        "webhook.html",
        base_ctx(m, "webhooks"),
        context! {
            ..words(lang),
            ..context! {
                endpoint => endpoint_view(e),
                log => log, logged => LOGGED,
                errors => form_errors(errs),
                form => context! { url => value("url", &e.url), description => value("description", &e.description) },
                types => type_choices(lang, &checked),
                secret => shown.secret.as_ref().map(|s| s.0.clone()),
                rotated => shown.secret.as_ref().is_some_and(|s| s.1),
                saved => shown.saved,
            }
        },
    ))
}

/// An endpoint's page: settings, pause, rotation, delivery log.
pub async fn show(
    State(state): State<AppState>,
    m: Admin,
    Path((_, id)): Path<(String, String)>,
    Query(q): Query<PageQuery>,
    headers: HeaderMap,
) -> AppResult<Response> {
    let lang = language(q.lang.as_deref(), &headers);
    let e = state
        .store
        .webhook_endpoint(m.org_id(), id_of(&id)?)
        .await?;
    render_endpoint(
        &state,
        &m,
        &lang,
        &e,
        None,
        &FieldErrors::default(),
        Shown {
            saved: q.saved.is_some(),
            ..Shown::default()
        },
    )
    .await
}

/// Changes an endpoint's address, description and event types.
pub async fn update(
    State(state): State<AppState>,
    m: Admin,
    Path((_, id)): Path<(String, String)>,
    Query(q): Query<PageQuery>,
    headers: HeaderMap,
    AdminForm(form): AdminForm,
) -> AppResult<Response> {
    let lang = language(q.lang.as_deref(), &headers);
    let e = state
        .store
        .webhook_endpoint(m.org_id(), id_of(&id)?)
        .await?;
    let settings = match parse_form(&form, &lang) {
        Ok(s) => s,
        Err(errs) => {
            let resp = render_endpoint(&state, &m, &lang, &e, Some(&form), &errs, Shown::default())
                .await?;
            return Ok(with_status(resp, StatusCode::UNPROCESSABLE_ENTITY));
        }
    };
    state
        .store
        .update_webhook_endpoint(m.org_id(), e.id, &settings, heard_store::now_ms())
        .await?;
    tracing::info!(org = %m.org_id(), endpoint = %e.id, user = %m.me.user.id, "webhook endpoint changed");
    Ok(Redirect::to(&format!(
        "/admin/o/{}/webhooks/{}?saved=1&lang={lang}",
        m.org_id(),
        e.id
    ))
    .into_response())
}

/// Pauses (`paused=1`) or resumes (`paused=0`) an endpoint.
pub async fn pause(
    State(state): State<AppState>,
    m: Admin,
    Path((_, id)): Path<(String, String)>,
    Query(q): Query<PageQuery>,
    headers: HeaderMap,
    AdminForm(form): AdminForm,
) -> AppResult<Response> {
    let lang = language(q.lang.as_deref(), &headers);
    let id = id_of(&id)?;
    let paused = match form.get("paused") {
        "1" => true,
        "0" => false,
        _ => {
            return Err(AppError::BadRequest(
                "invalid_input",
                "paused: 1 to pause, 0 to resume.".into(),
            ));
        }
    };
    state
        .store
        .set_webhook_paused(m.org_id(), id, paused, heard_store::now_ms())
        .await?;
    tracing::info!(org = %m.org_id(), endpoint = %id, paused, user = %m.me.user.id, "webhook endpoint paused or resumed");
    Ok(Redirect::to(&format!(
        "/admin/o/{}/webhooks/{id}?saved=1&lang={lang}",
        m.org_id()
    ))
    .into_response())
}

/// Makes a new secret, keeps the previous one signing for [`ROTATION_OVERLAP_MS`], and shows the new one once.
pub async fn rotate(
    State(state): State<AppState>,
    m: Admin,
    Path((_, id)): Path<(String, String)>,
    Query(q): Query<PageQuery>,
    headers: HeaderMap,
    AdminForm(_): AdminForm,
) -> AppResult<Response> {
    let lang = language(q.lang.as_deref(), &headers);
    let id = id_of(&id)?;
    let secret = new_secret();
    let sealed = Sealer::new(&state.config.secret_key).seal(&secret);
    let now = heard_store::now_ms();
    state
        .store
        .rotate_webhook_secret(m.org_id(), id, &sealed, now + ROTATION_OVERLAP_MS, now)
        .await?;
    tracing::info!(org = %m.org_id(), endpoint = %id, user = %m.me.user.id, "webhook secret rotated");
    let e = state.store.webhook_endpoint(m.org_id(), id).await?;
    render_endpoint(
        &state,
        &m,
        &lang,
        &e,
        None,
        &FieldErrors::default(),
        Shown {
            secret: Some((secret, true)),
            ..Shown::default()
        },
    )
    .await
}

/// A delivery's page: the message, its state and every attempt, and Replay.
pub async fn delivery(
    State(state): State<AppState>,
    m: Admin,
    Path((_, id, delivery)): Path<(String, String, String)>,
    Query(q): Query<PageQuery>,
    headers: HeaderMap,
) -> AppResult<Response> {
    let lang = language(q.lang.as_deref(), &headers);
    let (endpoint, delivery) = (id_of(&id)?, id_of(&delivery)?);
    let work = state
        .store
        .webhook_delivery_work(m.org_id(), delivery)
        .await?;
    if work.endpoint.id != endpoint {
        return Err(AppError::NotFound);
    }
    let attempts = state.store.webhook_attempts(m.org_id(), delivery).await?;
    let d = &work.delivery;
    Ok(page(
        &state,
        "webhook_delivery.html",
        base_ctx(&m, "webhooks"),
        context! {
            ..words(&lang),
            ..context! {
                endpoint => endpoint_view(&work.endpoint),
                delivery => context! {
                    id => d.id.to_string(), message_id => message_header_id(d.message_id), event => d.event_type,
                    subject_id => d.subject_id.to_string(), state_label => text(&lang, &["states", &d.state]),
                    created_at => d.created_at,
                },
                attempts => attempts.iter().map(|a| context! {
                    attempt => a.attempt, replay => a.replay, attempted_at => a.attempted_at, status => a.status,
                    latency_ms => a.latency_ms, next_retry_at => a.next_retry_at,
                    error => a.error.as_deref().map(|code| attempt_error(&lang, code, a.status)),
                }).collect::<Vec<_>>(),
                replayed => q.replayed.is_some(),
            }
        },
    ))
}

/// Sends a delivery again, as it was: same body, same `webhook-id`.
pub async fn replay(
    State(state): State<AppState>,
    m: Admin,
    Path((_, id, delivery)): Path<(String, String, String)>,
    Query(q): Query<PageQuery>,
    headers: HeaderMap,
    AdminForm(_): AdminForm,
) -> AppResult<Response> {
    let lang = language(q.lang.as_deref(), &headers);
    let (endpoint, delivery) = (id_of(&id)?, id_of(&delivery)?);
    state
        .store
        .replay_webhook_delivery(m.org_id(), endpoint, delivery, heard_store::now_ms())
        .await?;
    tracing::info!(org = %m.org_id(), endpoint = %endpoint, delivery = %delivery, user = %m.me.user.id, "webhook delivery replayed");
    Ok(Redirect::to(&format!(
        "/admin/o/{}/webhooks/{endpoint}/deliveries/{delivery}?replayed=1&lang={lang}",
        m.org_id()
    ))
    .into_response())
}
