//! The admin's front door: the organizations a person belongs to, creating one, its overview and its members.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use heard_domain::{FieldError, FieldErrors, LocalizedText, Role};
use minijinja::context;
use serde::Serialize;

use super::{base_ctx, form_errors, page};
use crate::auth::{self, Admin, AdminForm, CurrentUser, Viewer};
use crate::{AppResult, AppState};

pub async fn home(State(state): State<AppState>, me: CurrentUser) -> AppResult<Response> {
    let orgs = state.store.memberships(me.user.id).await?;
    if orgs.len() == 1 {
        return Ok(Redirect::to(&format!("/admin/o/{}", orgs[0].org.id)).into_response());
    }
    let list: Vec<_> = orgs
        .iter()
        .map(
            |m| context! { id => m.org.id.to_string(), name => m.org.name, role => m.role.label() },
        )
        .collect();
    Ok(state.templates.page("admin_home.html", context! { me => context!{ name => me.user.name }, csrf => me.csrf, orgs => list, errors => context!{},
        form => context!{ time_zone => heard_domain::Zone::DEFAULT_NAME }, time_zones => heard_domain::zone::US_ZONES }))
}

/// Checks a short name for URLs: lower-case letters, digits and hyphens.
fn parse_slug(s: &str) -> Result<String, FieldError> {
    let s = s.trim().to_lowercase();
    if (2..=40).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
    {
        Ok(s)
    } else {
        Err(FieldError::new(
            "slug",
            "invalid_slug",
            "use 2 to 40 lower-case letters, digits and hyphens, like 'dol-ui'",
        ))
    }
}

pub async fn create(
    State(state): State<AppState>,
    me: CurrentUser,
    AdminForm(form): AdminForm,
) -> AppResult<Response> {
    let mut errs = FieldErrors::default();
    let name = form.get("name");
    if name.is_empty() || name.len() > 200 {
        errs.push(FieldError::new(
            "name",
            "required",
            "enter the organization's name (at most 200 characters)",
        ));
    }
    let slug = parse_slug(form.get("slug")).map_err(|e| errs.push(e)).ok();
    // The time zone is optional here (New York unless chosen) and can be changed later on the overview.
    let zone = match form.opt("time_zone") {
        None => Some(heard_domain::Zone::default()),
        Some(z) => heard_domain::Zone::parse(z).map_err(|e| errs.push(e)).ok(),
    };
    if let (true, Some(zone)) = (errs.is_empty(), zone) {
        let now = heard_store::now_ms();
        match state
            .store
            .create_org_in(name, slug.as_deref().unwrap_or_default(), zone, now)
            .await
        {
            Ok(org) => {
                state
                    .store
                    .set_membership(org.id, me.user.id, Role::Admin, now)
                    .await?;
                return Ok(Redirect::to(&format!("/admin/o/{}", org.id)).into_response());
            }
            Err(heard_store::StoreError::Conflict(m)) => {
                errs.push(FieldError::new("slug", "taken", m))
            }
            Err(e) => return Err(e.into()),
        }
    }
    let orgs = state.store.memberships(me.user.id).await?;
    let list: Vec<_> = orgs
        .iter()
        .map(
            |m| context! { id => m.org.id.to_string(), name => m.org.name, role => m.role.label() },
        )
        .collect();
    let html = state.templates.render(
        "admin_home.html",
        context! { me => context!{ name => me.user.name }, csrf => me.csrf, orgs => list, errors => form_errors(&errs),
            form => context!{ name => name, slug => form.get("slug"), time_zone => form.get("time_zone") },
            time_zones => heard_domain::zone::US_ZONES },
    )?;
    Ok((StatusCode::UNPROCESSABLE_ENTITY, axum::response::Html(html)).into_response())
}

#[derive(Serialize)]
struct SurveyRow {
    id: String,
    name: String,
    template: &'static str,
    status: String,
    service: String,
    responses: i64,
}

pub async fn overview(State(state): State<AppState>, m: Viewer) -> AppResult<Response> {
    render_overview(
        &state,
        &m,
        &FieldErrors::default(),
        &crate::forms::FormData::default(),
        StatusCode::OK,
    )
    .await
}

/// The organization's overview, with the errors of a form on it (adding a service, the time zone) shown beside
/// their fields and what was typed kept.
pub(super) async fn render_overview(
    state: &AppState,
    m: &Viewer,
    errs: &FieldErrors,
    form: &crate::forms::FormData,
    status: StatusCode,
) -> AppResult<Response> {
    let services = state.store.services(m.org_id()).await?;
    let surveys = state.store.surveys(m.org_id(), None).await?;
    let mut rows = Vec::new();
    for s in &surveys {
        let f = heard_store::responses::ResponseFilter {
            survey_id: Some(s.id),
            ..Default::default()
        };
        let service = services
            .iter()
            .find(|x| x.id == s.service_id)
            .map(|x| x.name.get("en").to_string())
            .unwrap_or_default();
        rows.push(SurveyRow {
            id: s.id.to_string(),
            name: s.name.clone(),
            template: s.draft.template.label(),
            status: match s.published_version {
                Some(v) => format!("Live (version {v})"),
                None => "Draft".into(),
            },
            service,
            responses: state.store.count_responses(m.org_id(), &f).await?,
        });
    }
    let svc: Vec<_> = services
        .iter()
        .map(|s| context! { id => s.id.to_string(), name => s.name.get("en"), surveys => surveys.iter().filter(|x| x.service_id == s.id).count() })
        .collect();
    let urgent = super::dashboard::urgent(state, m.org_id(), None).await?;
    let mut resp = page(
        state,
        "org.html",
        base_ctx(m, "overview"),
        context! { services => svc, surveys => rows, urgent => urgent, keep_raw_text => m.org.keep_raw_text, errors => form_errors(errs),
        form => context!{ name_en => form.get("name_en"), name_es => form.get("name_es"), description_en => form.get("description_en"),
            description_es => form.get("description_es"), time_zone => form.opt("time_zone").unwrap_or(m.org.time_zone.name()) },
        time_zones => heard_domain::zone::US_ZONES },
    );
    if resp.status().is_success() {
        *resp.status_mut() = status;
    }
    Ok(resp)
}

/// The organization's time zone, which its fiscal quarters, weeks, date filters, exports and displayed times follow.
/// An unknown name is refused (422) beside the field, and nothing changes.
pub async fn set_time_zone(
    State(state): State<AppState>,
    m: Admin,
    AdminForm(form): AdminForm,
) -> AppResult<Response> {
    match heard_domain::Zone::parse(form.get("time_zone")) {
        Ok(zone) => {
            state.store.set_org_time_zone(m.org_id(), zone).await?;
            state.published.forget_org(m.org_id());
            tracing::info!(org = %m.org_id(), time_zone = zone.name(), "organization time zone changed");
            Ok(Redirect::to(&format!("/admin/o/{}", m.org_id())).into_response())
        }
        Err(e) => {
            render_overview(
                &state,
                &m.as_viewer(),
                &FieldErrors(vec![e]),
                &form,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
    }
}

/// Organization settings an admin may change: keeping the original text of comments, sealed, beside the redacted
/// text (off by default, because the redacted text is what analysis needs).
pub async fn settings(
    State(state): State<AppState>,
    m: Admin,
    AdminForm(form): AdminForm,
) -> AppResult<Response> {
    let keep = form.has("keep_raw_text");
    state.store.set_keep_raw_text(m.org_id(), keep).await?;
    state.published.forget_org(m.org_id());
    tracing::info!(org = %m.org_id(), keep_raw_text = keep, "organization settings changed");
    Ok(Redirect::to(&format!("/admin/o/{}", m.org_id())).into_response())
}

pub async fn members(State(state): State<AppState>, m: Admin) -> AppResult<Response> {
    render_members(
        &state,
        &m,
        &FieldErrors::default(),
        &Default::default(),
        StatusCode::OK,
    )
    .await
}

async fn render_members(
    state: &AppState,
    m: &Admin,
    errs: &FieldErrors,
    form: &crate::forms::FormData,
    status: StatusCode,
) -> AppResult<Response> {
    let list: Vec<_> = state
        .store
        .members(m.org_id())
        .await?
        .into_iter()
        .map(|(u, r)| context! { name => u.name, email => u.email, role => r.label() })
        .collect();
    let mut resp = page(
        state,
        "members.html",
        base_ctx(m, "members"),
        context! { members => list, errors => form_errors(errs),
        roles => Role::ALL.iter().map(|r| context!{ key => r.key(), label => r.label() }).collect::<Vec<_>>(),
        form => context!{ email => form.get("email"), name => form.get("name"), role => form.get("role") } },
    );
    if resp.status().is_success() {
        *resp.status_mut() = status;
    }
    Ok(resp)
}

/// Adds an existing account to the organization, or creates the account with an initial password.
pub async fn add_member(
    State(state): State<AppState>,
    m: Admin,
    AdminForm(form): AdminForm,
) -> AppResult<Response> {
    let mut errs = FieldErrors::default();
    let email = heard_domain::survey::parse_email(form.get("email"))
        .map_err(|(code, msg)| errs.push(FieldError::new("email", code, msg)))
        .ok();
    let role = Role::parse(form.get("role")).map_err(|e| errs.push(e)).ok();
    let now = heard_store::now_ms();
    if let (Some(email), Some(role)) = (&email, role) {
        let user = match state.store.user_by_email(email).await {
            Ok(u) => Some(u),
            Err(heard_store::StoreError::NotFound) => {
                let name = form.get("name");
                let password = form.get("password");
                if name.is_empty() {
                    errs.push(FieldError::new(
                        "name",
                        "required",
                        "a new account needs a name",
                    ));
                }
                if let Err(crate::AppError::Invalid(e)) = auth::check_password_rules(password) {
                    errs.0.extend(e.0);
                }
                if errs.is_empty() {
                    let hash = auth::hash_password(password)?;
                    Some(state.store.create_user(email, name, &hash, now).await?)
                } else {
                    None
                }
            }
            Err(e) => return Err(e.into()),
        };
        if let Some(u) = user {
            state
                .store
                .set_membership(m.org_id(), u.id, role, now)
                .await?;
            return Ok(Redirect::to(&format!("/admin/o/{}/members", m.org_id())).into_response());
        }
    }
    render_members(&state, &m, &errs, &form, StatusCode::UNPROCESSABLE_ENTITY).await
}

/// Reads a name in English and Spanish from `<prefix>_en` / `<prefix>_es` fields.
pub fn localized(
    form: &crate::forms::FormData,
    prefix: &str,
    label: &str,
    errs: &mut FieldErrors,
) -> LocalizedText {
    let en = form.get(&format!("{prefix}_en"));
    if en.is_empty() {
        errs.push(FieldError::new(
            format!("{prefix}_en"),
            "required",
            format!("Enter the {label} in English"),
        ));
    }
    LocalizedText::new(en, form.get(&format!("{prefix}_es")))
}
