//! The admin's front door: the organizations a person belongs to, the invitations waiting for them, the site page
//! of operators (creating organizations, sign-in lockouts of the whole site), and an organization's overview and
//! settings. Members are in `members.rs`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use heard_domain::{FieldError, FieldErrors, LocalizedText, Role};
use minijinja::context;
use serde::Serialize;

use super::{base_ctx, form_errors, page};
use crate::auth::{Admin, AdminForm, CurrentUser, Viewer};
use crate::{AppResult, AppState};

pub async fn home(State(state): State<AppState>, me: CurrentUser) -> AppResult<Response> {
    let orgs = state.store.memberships(me.user.id).await?;
    let invitations = state
        .store
        .invitations_for(&me.user.email, heard_store::now_ms())
        .await?;
    if orgs.len() == 1 && invitations.is_empty() {
        return Ok(Redirect::to(&format!("/admin/o/{}", orgs[0].org.id)).into_response());
    }
    let list: Vec<_> = orgs
        .iter()
        .map(
            |m| context! { id => m.org.id.to_string(), name => m.org.name, role => m.role.label() },
        )
        .collect();
    let invitations: Vec<_> = invitations
        .into_iter()
        .map(|i| context! { org_id => i.org_id.to_string(), id => i.id.to_string(), org_name => i.org_name, role => i.role.label().to_lowercase(), expires_at => i.expires_at })
        .collect();
    Ok(state.templates.page(
        "admin_home.html",
        context! { me => context!{ name => me.user.name, is_operator => me.user.is_operator }, csrf => me.csrf,
            orgs => list, invitations => invitations },
    ))
}

fn not_operator(state: &AppState, me: &CurrentUser) -> Response {
    super::message_page(
        state,
        me,
        StatusCode::FORBIDDEN,
        "You may not do this",
        "Only a site operator can create organizations or see the whole site's sign-in lockouts. Ask the people who run Heard for your agency.",
    )
}

/// The site page, for operators: create an organization; sign-in lockouts of the whole site, address-wide ones
/// included (an agency's shared address waiting shows here first).
pub async fn site(State(state): State<AppState>, me: CurrentUser) -> AppResult<Response> {
    if !me.user.is_operator {
        return Ok(not_operator(&state, &me));
    }
    render_site(
        &state,
        &me,
        &FieldErrors::default(),
        context! { time_zone => heard_domain::Zone::DEFAULT_NAME },
        StatusCode::OK,
    )
    .await
}

async fn render_site(
    state: &AppState,
    me: &CurrentUser,
    errs: &FieldErrors,
    form: minijinja::Value,
    status: StatusCode,
) -> AppResult<Response> {
    let now = heard_store::now_ms();
    let lockouts: Vec<_> = state
        .store
        .open_lockouts(now)
        .await?
        .into_iter()
        .map(|l| context! { email => l.email, address => l.address, failures => l.failures, started_at => l.started_at, wait_until => l.wait_until, waiting => l.wait_until > now })
        .collect();
    let html = state.templates.render(
        "site.html",
        context! { me => context!{ name => me.user.name, is_operator => true }, csrf => me.csrf, section => "site",
            lockouts => lockouts, errors => form_errors(errs), form => form, time_zones => heard_domain::zone::US_ZONES },
    )?;
    Ok((status, axum::response::Html(html)).into_response())
}

/// Ends lockouts from the site page: of an account (`email`, from every address) or of an address (`address`).
pub async fn unlock(
    State(state): State<AppState>,
    me: CurrentUser,
    AdminForm(form): AdminForm,
) -> AppResult<Response> {
    if !me.user.is_operator {
        return Ok(not_operator(&state, &me));
    }
    let now = heard_store::now_ms();
    if !form.get("email").is_empty() {
        state.store.unlock_sign_in(form.get("email"), now).await?;
    } else if !form.get("address").is_empty() {
        let Some(address) = heard_store::throttle::parse_address(form.get("address")) else {
            return Err(crate::AppError::field(
                "address",
                "invalid",
                "give an IP address, such as 192.0.2.1 or 2001:db8::1",
            ));
        };
        state.store.unlock_sign_in_address(&address, now).await?;
    } else {
        return Err(crate::AppError::field(
            "email",
            "required",
            "give the email or the address to unlock",
        ));
    }
    tracing::info!(operator = %me.user.id, "sign-in unlocked");
    Ok(Redirect::to("/admin/site").into_response())
}

/// Checks a short name for URLs: 2 to 40 lower-case letters, digits and hyphens, not starting with a hyphen (the
/// admin form and `heard org create` both use it).
pub fn parse_slug(s: &str) -> Result<String, FieldError> {
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

/// Creates an organization, with its creator as admin. Only site operators may: an organization is a tenant of
/// the installation, which the people who run it set up.
pub async fn create(
    State(state): State<AppState>,
    me: CurrentUser,
    AdminForm(form): AdminForm,
) -> AppResult<Response> {
    if !me.user.is_operator {
        return Ok(not_operator(&state, &me));
    }
    let mut errs = FieldErrors::default();
    let name = crate::input::clean_name("name", form.get("name")).unwrap_or_default();
    let name = name.as_str();
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
    render_site(
        &state,
        &me,
        &errs,
        context! { name => name, slug => form.get("slug"), time_zone => form.get("time_zone") },
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await
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
    // Counted from the dashboards' rollups, not the responses (a count over millions of rows per survey).
    let counts = state.store.responses_per_survey(m.org_id()).await?;
    let mut rows = Vec::new();
    for s in &surveys {
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
            responses: counts.get(&s.id).copied().unwrap_or(0),
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

/// The most characters a name (of a service, a touchpoint) may have in each language: names are shown in headings,
/// menus and export columns, where a paragraph would not fit.
pub const NAME_MAX_CHARS: usize = 200;

/// Reads a name in English and Spanish from `<prefix>_en` / `<prefix>_es` fields. The English one is required; each
/// may have at most `NAME_MAX_CHARS` characters, and a longer one is refused saying how long it is and may be.
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
    let es = form.get(&format!("{prefix}_es"));
    for (lang, language, text) in [("en", "English", en), ("es", "Spanish", es)] {
        let n = text.chars().count();
        if n > NAME_MAX_CHARS {
            errs.push(FieldError::new(
                format!("{prefix}_{lang}"),
                "too_long",
                format!(
                    "The {label} in {language} is {n} characters long; shorten it to {NAME_MAX_CHARS} characters or \
                     fewer"
                ),
            ));
        }
    }
    LocalizedText::new(en, es)
}
