//! An organization's API keys, for its admins: make one (its secret is shown once, on the page that made it; only
//! its SHA-256 is kept), see which exist, and revoke one (requests with it get 401 at once). The keys let the
//! organization's own systems send signals and events (`crate::ingest`); `heard apikey create` makes one too.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use heard_domain::{ApiKeyId, FieldError, FieldErrors};
use minijinja::context;

use super::{base_ctx, form_errors, page};
use crate::auth::{Admin, AdminForm};
use crate::forms::FormData;
use crate::{AppResult, AppState, crypto};

pub async fn list(State(state): State<AppState>, m: Admin) -> AppResult<Response> {
    render(
        &state,
        &m,
        &FieldErrors::default(),
        &FormData::default(),
        None,
        StatusCode::OK,
    )
    .await
}

async fn render(
    state: &AppState,
    m: &Admin,
    errs: &FieldErrors,
    form: &FormData,
    made: Option<(String, String)>,
    status: StatusCode,
) -> AppResult<Response> {
    let keys: Vec<_> = state
        .store
        .api_keys(m.org_id())
        .await?
        .into_iter()
        .map(|(id, name, created, revoked)| context! { id => id.to_string(), name => name, created_at => created, revoked_at => revoked })
        .collect();
    let made = made.map(|(name, secret)| context! { name => name, secret => secret });
    let mut resp = page(
        state,
        "api_keys.html",
        base_ctx(m, "api-keys"),
        context! { keys => keys, made => made, errors => form_errors(errs), form => context!{ name => form.get("name") } },
    );
    if resp.status().is_success() {
        *resp.status_mut() = status;
    }
    Ok(resp)
}

/// Makes a key; the page that answers shows its secret, this once.
pub async fn create(
    State(state): State<AppState>,
    m: Admin,
    AdminForm(form): AdminForm,
) -> AppResult<Response> {
    let name = form.get("name").trim().to_string();
    if name.is_empty() || name.chars().count() > 200 {
        let errs = FieldErrors(vec![FieldError::new(
            "name",
            "required",
            "Say what the key is for, e.g. the system that sends with it (at most 200 characters).",
        )]);
        return render(
            &state,
            &m,
            &errs,
            &form,
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    let secret = crate::ingest::new_api_key();
    state
        .store
        .create_api_key(
            m.org_id(),
            &name,
            &crypto::sha256(secret.as_bytes()),
            heard_store::now_ms(),
        )
        .await?;
    render(
        &state,
        &m,
        &FieldErrors::default(),
        &FormData::default(),
        Some((name, secret)),
        StatusCode::CREATED,
    )
    .await
}

/// Revokes a key of this organization.
pub async fn revoke(
    State(state): State<AppState>,
    m: Admin,
    Path((_, key)): Path<(String, String)>,
    AdminForm(_): AdminForm,
) -> AppResult<Response> {
    let id: ApiKeyId = key.parse()?;
    state
        .store
        .revoke_api_key(m.org_id(), id, heard_store::now_ms())
        .await?;
    Ok(Redirect::to(&format!("/admin/o/{}/api-keys", m.org_id())).into_response())
}
