//! The admin's pages for invitations (issue 20, items 1 and 6): invitation rules (list, create, edit, pause), the
//! send queue (what waits and when it goes, what was held or not sent and why, counts per state), and batches (a CSV
//! upload of contacts to invite to a survey; a file with bad lines is refused whole, every bad line named by its
//! number and field). Viewers and up read; analysts and up edit and upload.

use axum::extract::{FromRequest, Multipart, Path, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use heard_channels::contacts::{Parsed, parse_csv};
use heard_domain::invitation_rules::{self, Channel, ItemState, RuleFields};
use heard_domain::{FieldError, FieldErrors, SurveyId};
use heard_store::outreach_queue::{OutreachRule, QueueItem, RuleWrite};
use minijinja::{Value, context};
use uuid::Uuid;

use super::{base_ctx, form_errors, page};
use crate::auth::{Analyst, AnalystRole, Member, MinRole, Viewer};
use crate::forms::FormData;
use crate::outreach_queue::{Batch, BatchError, write_batch};
use crate::{AppError, AppResult, AppState, auth::AdminForm};

/// How many items of each kind the queue page lists.
const LISTED: i64 = 200;

fn delay_words(minutes: i64) -> String {
    let count = |n: i64, unit: &str| format!("{n} {unit}{}", if n == 1 { "" } else { "s" });
    match minutes {
        0 => "at once".into(),
        m if m % (24 * 60) == 0 => count(m / (24 * 60), "day"),
        m if m % 60 == 0 => count(m / 60, "hour"),
        m => count(m, "minute"),
    }
}

async fn choices(state: &AppState, org: heard_domain::OrgId) -> AppResult<Value> {
    let types: Vec<_> = state
        .store
        .event_types(org)
        .await?
        .into_iter()
        .map(|t| context! { id => t.name.clone(), name => format!("{} ({})", t.label, t.name) })
        .collect();
    let services = state.store.services(org).await?;
    let service_name: std::collections::HashMap<_, _> = services
        .iter()
        .map(|s| (s.id, s.name.get("en").to_string()))
        .collect();
    let touchpoints: Vec<_> = state
        .store
        .touchpoints(org)
        .await?
        .into_iter()
        .map(|t| {
            // A touchpoint's name says little without its service's ("Phone line"), so the menu shows both.
            let service = service_name.get(&t.service_id).cloned().unwrap_or_default();
            context! { id => t.id.to_string(), name => format!("{} ({service})", t.name.get("en")) }
        })
        .collect();
    let services: Vec<_> = services
        .iter()
        .map(|s| context! { id => s.id.to_string(), name => s.name.get("en") })
        .collect();
    let surveys: Vec<_> = state
        .store
        .surveys(org, None)
        .await?
        .into_iter()
        .filter(|s| s.published_version.is_some())
        .map(|s| context! { id => s.id.to_string(), name => s.name })
        .collect();
    let senders = context! {
        sms => state.store.default_sms_sender(org).await?.is_some(),
        email => state.store.email_sender(org).await?.is_some(),
    };
    Ok(
        context! { event_types => types, services => services, touchpoints => touchpoints, surveys => surveys, senders => senders },
    )
}

fn rule_view(r: &OutreachRule, names: &std::collections::HashMap<String, String>) -> Value {
    context! {
        id => r.id.to_string(), name => r.name, event_type => r.event_type, channel => r.channel.key(),
        channel_label => r.channel.label(), survey => names.get(&r.survey_id.to_string()).cloned().unwrap_or_else(|| "(survey removed)".into()),
        delay => delay_words(r.delay_minutes), sample_percent => r.sample_percent, cap_days => r.cap_days, paused => r.paused,
        service_id => r.service_id.map(|s| s.to_string()), touchpoint_id => r.touchpoint_id.map(|s| s.to_string()),
        service => r.service_id.map(|s| names.get(&s.to_string()).cloned().unwrap_or_else(|| "(service removed)".into())),
        touchpoint => r.touchpoint_id.map(|t| names.get(&t.to_string()).cloned().unwrap_or_else(|| "(touchpoint removed)".into())),
    }
}

fn form_of(r: &OutreachRule) -> Value {
    context! {
        name => r.name, event_type => r.event_type, channel => r.channel.key(), survey_id => r.survey_id.to_string(),
        service_id => r.service_id.map(|s| s.to_string()).unwrap_or_default(),
        touchpoint_id => r.touchpoint_id.map(|s| s.to_string()).unwrap_or_default(),
        delay_minutes => r.delay_minutes.to_string(), sample_percent => r.sample_percent.to_string(),
        cap_days => r.cap_days.to_string(),
    }
}

fn form_value(f: &FormData) -> Value {
    context! {
        name => f.get("name"), event_type => f.get("event_type"), channel => f.get("channel"),
        survey_id => f.get("survey_id"), service_id => f.get("service_id"), touchpoint_id => f.get("touchpoint_id"),
        delay_minutes => f.get("delay_minutes"), sample_percent => f.get("sample_percent"), cap_days => f.get("cap_days"),
    }
}

/// The names of the organization's surveys, services and touchpoints by id (distinct UUIDs, so one map serves).
async fn survey_names(
    state: &AppState,
    org: heard_domain::OrgId,
) -> AppResult<std::collections::HashMap<String, String>> {
    let mut names: std::collections::HashMap<String, String> = state
        .store
        .surveys(org, None)
        .await?
        .into_iter()
        .map(|s| (s.id.to_string(), s.name))
        .collect();
    for s in state.store.services(org).await? {
        names.insert(s.id.to_string(), s.name.get("en").to_string());
    }
    for t in state.store.touchpoints(org).await? {
        names.insert(t.id.to_string(), t.name.get("en").to_string());
    }
    Ok(names)
}

async fn render_rules<R: MinRole>(
    state: &AppState,
    m: &Member<R>,
    errs: &FieldErrors,
    form: Value,
    status: StatusCode,
) -> AppResult<Response> {
    let org = m.org_id();
    let names = survey_names(state, org).await?;
    let rules: Vec<_> = state
        .store
        .outreach_rules(org)
        .await?
        .iter()
        .map(|r| rule_view(r, &names))
        .collect();
    let mut resp = page(
        state,
        "outreach_rules.html",
        base_ctx(m, "outreach"),
        context! { rules => rules, errors => form_errors(errs), form => form, choices => choices(state, org).await?,
        cap_default => invitation_rules::DEFAULT_CAP_DAYS },
    );
    if resp.status().is_success() {
        *resp.status_mut() = status;
    }
    Ok(resp)
}

/// The rules, and (for analysts and up) the form to make one.
pub async fn rules(State(state): State<AppState>, m: Viewer) -> AppResult<Response> {
    render_rules(
        &state,
        &m,
        &FieldErrors::default(),
        context! { sample_percent => "100", cap_days => invitation_rules::DEFAULT_CAP_DAYS.to_string(), delay_minutes => "60" },
        StatusCode::OK,
    )
    .await
}

/// Checks the rule form against the organization's own event types, services, touchpoints and published surveys.
async fn parse_form(
    state: &AppState,
    org: heard_domain::OrgId,
    f: &FormData,
) -> AppResult<
    Result<
        (
            heard_domain::invitation_rules::RuleInput,
            Option<Uuid>,
            Option<Uuid>,
            SurveyId,
        ),
        FieldErrors,
    >,
> {
    let types = state.store.event_types(org).await?;
    let names: Vec<&str> = types.iter().map(|t| t.name.as_str()).collect();
    let parsed = invitation_rules::parse_rule(
        &RuleFields {
            name: f.get("name"),
            event_type: f.get("event_type"),
            channel: f.get("channel"),
            delay_minutes: f.get("delay_minutes"),
            sample_percent: f.get("sample_percent"),
            cap_days: f.get("cap_days"),
        },
        &names,
    );
    let mut errs = match &parsed {
        Ok(_) => FieldErrors::default(),
        Err(e) => e.clone(),
    };
    let service = match f.get("service_id").trim() {
        "" => None,
        s => match s.parse::<heard_domain::ServiceId>() {
            Ok(id) if state.store.service(org, id).await.is_ok() => Some(*id.as_uuid()),
            _ => {
                errs.push(FieldError::new(
                    "service_id",
                    "unknown_service",
                    "Choose one of the organization's services, or any service",
                ));
                None
            }
        },
    };
    let touchpoint = match f.get("touchpoint_id").trim() {
        "" => None,
        s => match s.parse::<heard_domain::TouchpointId>() {
            Ok(id) => match state.store.touchpoint(org, id).await {
                // A rule at a service and at a touchpoint of another service could never match an event.
                Ok(t) if service.is_some_and(|s| s != *t.service_id.as_uuid()) => {
                    errs.push(FieldError::new(
                        "touchpoint_id",
                        "touchpoint_of_another_service",
                        "This touchpoint belongs to another service: choose one of the chosen service's touchpoints, or any touchpoint",
                    ));
                    None
                }
                Ok(_) => Some(*id.as_uuid()),
                Err(_) => {
                    errs.push(FieldError::new(
                        "touchpoint_id",
                        "unknown_touchpoint",
                        "Choose one of the organization's touchpoints, or any touchpoint",
                    ));
                    None
                }
            },
            Err(_) => {
                errs.push(FieldError::new(
                    "touchpoint_id",
                    "unknown_touchpoint",
                    "Choose one of the organization's touchpoints, or any touchpoint",
                ));
                None
            }
        },
    };
    let survey = match f.get("survey_id").trim().parse::<SurveyId>() {
        Ok(id) => match state.store.survey(org, id).await {
            Ok(s) if s.published_version.is_some() => Some(id),
            _ => None,
        },
        Err(_) => None,
    };
    if survey.is_none() {
        errs.push(FieldError::new(
            "survey_id",
            "unknown_survey",
            "Choose a published survey to invite people to",
        ));
    }
    Ok(match (parsed, survey) {
        (Ok(r), Some(s)) if errs.is_empty() => Ok((r, service, touchpoint, s)),
        _ => Err(errs),
    })
}

/// Makes a rule.
pub async fn create(
    State(state): State<AppState>,
    m: Analyst,
    AdminForm(f): AdminForm,
) -> AppResult<Response> {
    let org = m.org_id();
    match parse_form(&state, org, &f).await? {
        Err(errs) => {
            render_rules(
                &state,
                &m,
                &errs,
                form_value(&f),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Ok((r, service, touchpoint, survey)) => {
            let id = state
                .store
                .create_outreach_rule(
                    org,
                    &RuleWrite {
                        name: &r.name,
                        event_type: &r.event_type,
                        service_id: service,
                        touchpoint_id: touchpoint,
                        channel: r.channel,
                        survey_id: survey,
                        delay_minutes: r.delay_minutes,
                        sample_percent: i32::from(r.sample_percent),
                        cap_days: r.cap_days,
                    },
                    heard_store::now_ms(),
                )
                .await?;
            tracing::info!(%org, rule = %id, "invitation rule made");
            Ok(Redirect::to(&format!("/admin/o/{org}/outreach/rules")).into_response())
        }
    }
}

async fn render_rule<R: MinRole>(
    state: &AppState,
    m: &Member<R>,
    rule: &OutreachRule,
    errs: &FieldErrors,
    form: Value,
    status: StatusCode,
) -> AppResult<Response> {
    let org = m.org_id();
    let names = survey_names(state, org).await?;
    let mut resp = page(
        state,
        "outreach_rule.html",
        base_ctx(m, "outreach"),
        context! { rule => rule_view(rule, &names), errors => form_errors(errs), form => form,
        choices => choices(state, org).await?, cap_default => invitation_rules::DEFAULT_CAP_DAYS },
    );
    if resp.status().is_success() {
        *resp.status_mut() = status;
    }
    Ok(resp)
}

fn rule_id(id: &str) -> AppResult<Uuid> {
    id.parse().map_err(|_| AppError::NotFound)
}

/// One rule, with its edit form for analysts and up.
pub async fn show(
    State(state): State<AppState>,
    m: Viewer,
    Path((_, id)): Path<(String, String)>,
) -> AppResult<Response> {
    let rule = state.store.outreach_rule(m.org_id(), rule_id(&id)?).await?;
    render_rule(
        &state,
        &m,
        &rule,
        &FieldErrors::default(),
        form_of(&rule),
        StatusCode::OK,
    )
    .await
}

/// Saves a rule's settings.
pub async fn update(
    State(state): State<AppState>,
    m: Analyst,
    Path((_, id)): Path<(String, String)>,
    AdminForm(f): AdminForm,
) -> AppResult<Response> {
    let org = m.org_id();
    let rule = state.store.outreach_rule(org, rule_id(&id)?).await?;
    match parse_form(&state, org, &f).await? {
        Err(errs) => {
            render_rule(
                &state,
                &m,
                &rule,
                &errs,
                form_value(&f),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Ok((r, service, touchpoint, survey)) => {
            state
                .store
                .update_outreach_rule(
                    org,
                    rule.id,
                    &RuleWrite {
                        name: &r.name,
                        event_type: &r.event_type,
                        service_id: service,
                        touchpoint_id: touchpoint,
                        channel: r.channel,
                        survey_id: survey,
                        delay_minutes: r.delay_minutes,
                        sample_percent: i32::from(r.sample_percent),
                        cap_days: r.cap_days,
                    },
                    heard_store::now_ms(),
                )
                .await?;
            Ok(Redirect::to(&format!("/admin/o/{org}/outreach/rules")).into_response())
        }
    }
}

/// Pauses (`paused=true`) or resumes (`paused=false`) a rule.
pub async fn pause(
    State(state): State<AppState>,
    m: Analyst,
    Path((_, id)): Path<(String, String)>,
    AdminForm(f): AdminForm,
) -> AppResult<Response> {
    let org = m.org_id();
    let paused = f.get("paused") == "true";
    state
        .store
        .set_outreach_rule_paused(org, rule_id(&id)?, paused, heard_store::now_ms())
        .await?;
    Ok(Redirect::to(&format!("/admin/o/{org}/outreach/rules")).into_response())
}

fn item_view(
    i: &QueueItem,
    zone: &heard_domain::zone::Zone,
    names: &std::collections::HashMap<String, String>,
) -> Value {
    let why = i.reason.map(|r| r.label());
    let until = i.reason_until.map(|t| zone.display(t));
    let short: String = i.person_key.chars().take(10).collect();
    context! {
        id => i.id.to_string(), channel => i.channel.label(), state => i.state.label(),
        survey => names.get(&i.survey_id.to_string()).cloned().unwrap_or_default(),
        due => zone.display(i.due_at), why => why, until => until, person => short,
        from => if i.batch_id.is_some() { "Batch" } else { "Rule" },
        handed_off => i.handed_off_at.map(|t| zone.display(t)),
        reason => i.reason.map(|r| r.key()),
    }
}

/// The send queue: counts per state, what waits (with when it goes), what was held and why, what was not sent and
/// why, and the latest sent.
pub async fn queue(State(state): State<AppState>, m: Viewer) -> AppResult<Response> {
    let org = m.org_id();
    let zone = m.org.time_zone;
    let names = survey_names(&state, org).await?;
    let counts = state.store.outreach_counts(org).await?;
    let list = |items: Vec<QueueItem>| -> Vec<Value> {
        items.iter().map(|i| item_view(i, &zone, &names)).collect()
    };
    let waiting = list(
        state
            .store
            .outreach_items(org, &[ItemState::Pending, ItemState::Held], LISTED)
            .await?,
    );
    let skipped = list(
        state
            .store
            .outreach_items(org, &[ItemState::Skipped], LISTED)
            .await?,
    );
    let sent = list(
        state
            .store
            .outreach_items(org, &[ItemState::Sent], LISTED)
            .await?,
    );
    Ok(page(
        &state,
        "outreach_queue.html",
        base_ctx(&m, "outreach"),
        context! { counts => counts, waiting => waiting, skipped => skipped, sent => sent, listed => LISTED,
        zone => zone.name() },
    ))
}

async fn render_batches<R: MinRole>(
    state: &AppState,
    m: &Member<R>,
    errors: Vec<Value>,
    more: usize,
    done: Option<Value>,
    form: Value,
    status: StatusCode,
) -> AppResult<Response> {
    let org = m.org_id();
    let names = survey_names(state, org).await?;
    let zone = m.org.time_zone;
    let batches: Vec<_> = state
        .store
        .outreach_batches(org, 50)
        .await?
        .into_iter()
        .map(|b| context! {
            id => b.id.to_string(), source => if b.source == "api" { "API" } else { "Upload" },
            survey => names.get(&b.survey_id.to_string()).cloned().unwrap_or_default(),
            channel => b.channel.label(), contacts => b.contacts, created => zone.display(b.created_at),
        })
        .collect();
    let mut resp = page(
        state,
        "outreach_batches.html",
        base_ctx(m, "outreach"),
        context! { batches => batches, line_errors => errors, more_errors => more, done => done, form => form,
        choices => choices(state, org).await?, max => invitation_rules::MAX_BATCH_CONTACTS },
    );
    if resp.status().is_success() {
        *resp.status_mut() = status;
    }
    Ok(resp)
}

/// The batch upload form and the latest batches.
pub async fn batches(State(state): State<AppState>, m: Viewer) -> AppResult<Response> {
    render_batches(
        &state,
        &m,
        vec![],
        0,
        None,
        Value::UNDEFINED,
        StatusCode::OK,
    )
    .await
}

/// Reads an upload: `csrf`, `survey_id`, `channel` and `file` (the CSV). A file with any bad line is refused whole
/// (422), every bad line listed by number and field; nothing of it is written.
pub async fn upload(State(state): State<AppState>, req: Request) -> AppResult<Response> {
    let (mut parts, body) = req.into_parts();
    let m = match <Member<AnalystRole> as axum::extract::FromRequestParts<AppState>>::from_request_parts(
        &mut parts, &state,
    )
    .await
    {
        Ok(m) => m,
        Err(resp) => return Ok(resp),
    };
    let req = Request::from_parts(parts, body);
    let mut mp = Multipart::from_request(req, &state).await.map_err(|_| {
        AppError::field(
            "file",
            "not_a_file",
            "Send the form with a file (multipart/form-data)",
        )
    })?;
    let (mut csrf, mut survey, mut channel, mut file) =
        (String::new(), String::new(), String::new(), None);
    let bad = |_| {
        AppError::field(
            "file",
            "unreadable",
            "The upload did not arrive whole; try again",
        )
    };
    while let Some(field) = mp.next_field().await.map_err(bad)? {
        match field.name().unwrap_or("") {
            "csrf" => csrf = field.text().await.map_err(bad)?,
            "survey_id" => survey = field.text().await.map_err(bad)?,
            "channel" => channel = field.text().await.map_err(bad)?,
            "file" => file = Some(field.bytes().await.map_err(bad)?),
            _ => {}
        }
    }
    if !crate::crypto::same_secret(&csrf, &m.me.csrf) {
        return Err(AppError::Forbidden(
            "csrf_failed",
            "The form expired. Go back, reload the page and try again.".into(),
        ));
    }
    let org = m.org_id();
    // A refused upload shows the form as it was sent (the file must be chosen again: browsers do not refill it).
    let chosen = context! { survey_id => survey.trim(), channel => channel.trim() };
    let line = |line: u64, field: &str, message: &str| context! { line => line, field => field, message => message };
    let mut errors = Vec::new();
    let ch = Channel::parse(&channel);
    if ch.is_none() {
        errors.push(line(0, "channel", "Choose text message or email"));
    }
    let survey_id = survey.trim().parse::<SurveyId>().ok();
    if survey_id.is_none() {
        errors.push(line(0, "survey_id", "Choose a published survey"));
    }
    let file = file.filter(|f| !f.is_empty());
    if file.is_none() {
        errors.push(line(0, "file", "Choose a CSV file of contacts"));
    }
    let (Some(ch), Some(survey_id), Some(file)) = (ch, survey_id, file) else {
        return render_batches(
            &state,
            &m,
            errors,
            0,
            None,
            chosen,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    };
    let contacts = match parse_csv(&file, ch) {
        Parsed::Errors(es, total) => {
            let shown: Vec<_> = es
                .iter()
                .map(|e| line(e.line, &e.field, &e.message))
                .collect();
            let more = total.saturating_sub(shown.len());
            return render_batches(
                &state,
                &m,
                shown,
                more,
                None,
                chosen,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        }
        Parsed::Contacts(c) => c.into_iter().map(|(_, c)| c).collect::<Vec<_>>(),
    };
    // A retried upload of the same file for the same survey and channel is the same batch.
    let key = format!(
        "upload-{}",
        &crate::crypto::sha256_hex(
            &[survey_id.to_string().as_bytes(), ch.key().as_bytes(), &file].concat()
        )[..40]
    );
    match write_batch(
        &state.store,
        state.pipeline.sealer(),
        &Batch {
            org,
            source: "upload",
            idempotency_key: &key,
            survey: survey_id,
            channel: ch,
            contacts: &contacts,
        },
        heard_store::now_ms(),
    )
    .await
    {
        Ok(out) => {
            tracing::info!(%org, batch = %out.id, contacts = out.contacts, "batch uploaded");
            let done = context! { contacts => out.contacts, created => out.created };
            render_batches(
                &state,
                &m,
                vec![],
                0,
                Some(done),
                Value::UNDEFINED,
                StatusCode::OK,
            )
            .await
        }
        Err(BatchError::Invalid(e)) => {
            let shown = e.0.iter().map(|e| line(0, &e.field, &e.message)).collect();
            render_batches(
                &state,
                &m,
                shown,
                0,
                None,
                chosen,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(BatchError::KeyReused) => Err(AppError::IdempotencyKeyReused),
        Err(BatchError::Store(e)) => Err(e.into()),
    }
}
