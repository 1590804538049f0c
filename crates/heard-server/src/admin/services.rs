//! Services and their touchpoints, and each service's dashboard across all its surveys.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use heard_domain::fiscal::FiscalQuarter;
use heard_domain::{Channel, FieldError, FieldErrors, LocalizedText, ServiceId};
use minijinja::context;

use super::dashboard::{self, PeriodQuery};
use super::orgs::localized;
use super::{base_ctx, form_errors, page};
use crate::auth::{Admin, AdminForm, Analyst, Viewer};
use crate::{AppError, AppResult, AppState};

fn service_id(s: &str) -> AppResult<ServiceId> {
    s.parse().map_err(|_| AppError::NotFound)
}

pub async fn create(
    State(state): State<AppState>,
    m: Admin,
    AdminForm(form): AdminForm,
) -> AppResult<Response> {
    let mut errs = FieldErrors::default();
    let name = localized(&form, "name", "service's name", &mut errs);
    let description = LocalizedText::new(form.get("description_en"), form.get("description_es"));
    if !errs.is_empty() {
        // The form is on the overview: show the problem there, beside the field, keeping what was typed.
        return super::orgs::render_overview(
            &state,
            &m.as_viewer(),
            &errs,
            &form,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    let s = state
        .store
        .create_service(m.org_id(), &name, &description, heard_store::now_ms())
        .await?;
    Ok(Redirect::to(&format!("/admin/o/{}/services/{}", m.org_id(), s.id)).into_response())
}

pub async fn update(
    State(state): State<AppState>,
    m: Admin,
    Path((_, id)): Path<(String, String)>,
    AdminForm(form): AdminForm,
) -> AppResult<Response> {
    let id = service_id(&id)?;
    let mut errs = FieldErrors::default();
    let name = localized(&form, "name", "service's name", &mut errs);
    if !errs.is_empty() {
        return render(
            &state,
            &m.as_viewer(),
            id,
            &PeriodQuery::default(),
            &errs,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    let description = LocalizedText::new(form.get("description_en"), form.get("description_es"));
    state
        .store
        .update_service(m.org_id(), id, &name, &description)
        .await?;
    Ok(Redirect::to(&format!("/admin/o/{}/services/{}", m.org_id(), id)).into_response())
}

pub async fn show(
    State(state): State<AppState>,
    m: Viewer,
    Path((_, id)): Path<(String, String)>,
    Query(q): Query<PeriodQuery>,
) -> AppResult<Response> {
    render(
        &state,
        &m,
        service_id(&id)?,
        &q,
        &FieldErrors::default(),
        StatusCode::OK,
    )
    .await
}

async fn render(
    state: &AppState,
    m: &Viewer,
    id: ServiceId,
    q: &PeriodQuery,
    errs: &FieldErrors,
    status: StatusCode,
) -> AppResult<Response> {
    let service = state.store.service(m.org_id(), id).await?;
    let touchpoints: Vec<_> = state
        .store
        .touchpoints(m.org_id())
        .await?
        .into_iter()
        .filter(|t| t.service_id == id)
        .map(|t| context! { id => t.id.to_string(), name => t.name.get("en"), channel => t.channel.label() })
        .collect();
    let surveys = state.store.surveys(m.org_id(), Some(id)).await?;
    let zone = m.org.time_zone;
    let quarter = q.quarter(&zone)?;
    let figures =
        dashboard::service_figures(state, m.org_id(), &service, &surveys, quarter, &zone).await?;
    let channels: Vec<_> = Channel::ALL
        .iter()
        .map(|c| context! { key => c.key(), label => c.label() })
        .collect();
    let mut resp = page(
        state,
        "service.html",
        base_ctx(m, "services"),
        context! {
            service => context!{ id => service.id.to_string(), name_en => service.name.get("en"), name_es => service.name.0.get("es"),
                description_en => service.description.0.get("en"), description_es => service.description.0.get("es") },
            touchpoints => touchpoints, channels => channels, figures => figures, errors => form_errors(errs),
            quarter => quarter.to_string(), quarters => dashboard::recent_quarters(&zone),
            report_url => report_url(state, m, id),
            report_qr => minijinja::Value::from_safe_string(crate::qr::svg(&report_url(state, m, id))),
        },
    );
    if resp.status().is_success() {
        *resp.status_mut() = status;
    }
    Ok(resp)
}

pub async fn add_touchpoint(
    State(state): State<AppState>,
    m: Admin,
    Path((_, id)): Path<(String, String)>,
    AdminForm(form): AdminForm,
) -> AppResult<Response> {
    let id = service_id(&id)?;
    let mut errs = FieldErrors::default();
    let name = localized(&form, "name", "touchpoint's name", &mut errs);
    let channel: Option<Channel> = form.get("channel").parse().map_err(|e| errs.push(e)).ok();
    if let (true, Some(channel)) = (errs.is_empty(), channel) {
        state
            .store
            .create_touchpoint(m.org_id(), id, &name, channel, heard_store::now_ms())
            .await?;
        return Ok(
            Redirect::to(&format!("/admin/o/{}/services/{}", m.org_id(), id)).into_response(),
        );
    }
    render(
        &state,
        &m.as_viewer(),
        id,
        &PeriodQuery::default(),
        &errs,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await
}

/// Customers served in a quarter: the denominator A-11 asks for, entered by staff from operational records.
pub async fn set_volume(
    State(state): State<AppState>,
    m: Analyst,
    Path((_, id)): Path<(String, String)>,
    AdminForm(form): AdminForm,
) -> AppResult<Response> {
    let id = service_id(&id)?;
    let quarter = FiscalQuarter::parse(form.get("quarter"))?;
    let Some(customers) = form
        .get("customers")
        .replace(',', "")
        .trim()
        .parse::<i64>()
        .ok()
        .filter(|n: &i64| *n >= 0)
    else {
        // Shown on the service page beside the field, for the quarter being entered.
        return render(
            &state,
            &m.as_viewer(),
            id,
            &PeriodQuery {
                quarter: Some(quarter.to_string()),
            },
            &FieldErrors(vec![FieldError::new(
                "customers",
                "not_a_number",
                "Enter a whole number of customers, 0 or more",
            )]),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    };
    state
        .store
        .set_service_volume(
            m.org_id(),
            id,
            quarter.year,
            quarter.quarter as i32,
            customers,
        )
        .await?;
    Ok(Redirect::to(&format!(
        "/admin/o/{}/services/{}?quarter={quarter}",
        m.org_id(),
        id
    ))
    .into_response())
}

/// The public "Report a problem / Tell us about your experience" page of a service (`crate::report`).
fn report_url(state: &AppState, m: &Viewer, id: ServiceId) -> String {
    crate::report::page_url(&state.public_url, &m.org.slug, id)
}

/// The report page's QR code for a poster, as SVG (print).
pub async fn report_qr_svg(
    State(state): State<AppState>,
    m: Viewer,
    Path((_, id)): Path<(String, String)>,
) -> AppResult<Response> {
    let s = state.store.service(m.org_id(), service_id(&id)?).await?;
    Ok(super::surveys::download(
        crate::qr::svg(&report_url(&state, &m, s.id)).into_bytes(),
        "image/svg+xml",
        &format!("service-{}-report-qr.svg", s.id),
    ))
}

/// The report page's QR code as PNG (documents).
pub async fn report_qr_png(
    State(state): State<AppState>,
    m: Viewer,
    Path((_, id)): Path<(String, String)>,
) -> AppResult<Response> {
    let s = state.store.service(m.org_id(), service_id(&id)?).await?;
    Ok(super::surveys::download(
        crate::qr::png(&report_url(&state, &m, s.id), 16),
        "image/png",
        &format!("service-{}-report-qr.png", s.id),
    ))
}
