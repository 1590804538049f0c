//! An organization's members, for its admins: roles, removal (access ends at once, because every request checks
//! membership), signing a member out everywhere, invitations, and sign-in lockouts of members with a way to end them.
//!
//! People join only by accepting an invitation (`invitations.rs`): an admin cannot put someone's account into their
//! organization, and inviting answers the same whether or not the email has an account, so the form cannot be used
//! to learn who uses Heard.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use heard_domain::{FieldError, FieldErrors, InvitationId, Role, UserId};
use minijinja::context;

use super::{base_ctx, form_errors, page};
use crate::auth::{Admin, AdminForm};
use crate::forms::FormData;
use crate::{AppError, AppResult, AppState, crypto};

/// How long an invitation can be accepted, in milliseconds.
pub const INVITATION_DAYS: i64 = 7;

/// What a page shows right after an invitation was made: the link, which is shown only this once.
struct Invited {
    email: String,
    role: Role,
    link: String,
    expires_at: i64,
}

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
    invited: Option<Invited>,
    status: StatusCode,
) -> AppResult<Response> {
    let now = heard_store::now_ms();
    let members: Vec<_> = state
        .store
        .members(m.org_id())
        .await?
        .into_iter()
        .map(|(u, r)| context! { id => u.id.to_string(), name => u.name, email => u.email, role => r.key(), is_me => u.id == m.me.user.id })
        .collect();
    let invitations: Vec<_> = state
        .store
        .pending_invitations(m.org_id(), now)
        .await?
        .into_iter()
        .map(|i| context! { id => i.id.to_string(), email => i.email, role => i.role.label().to_lowercase(), expires_at => i.expires_at })
        .collect();
    let lockouts: Vec<_> = state
        .store
        .open_member_lockouts(m.org_id(), now)
        .await?
        .into_iter()
        .map(|l| context! { email => l.email, address => l.address, failures => l.failures, started_at => l.started_at, wait_until => l.wait_until, waiting => l.wait_until > now })
        .collect();
    let invited = invited.map(|i| {
        context! { email => i.email, role => i.role.label().to_lowercase(), link => i.link, expires_at => i.expires_at }
    });
    let mut resp = page(
        state,
        "members.html",
        base_ctx(m, "members"),
        context! { members => members, invitations => invitations, lockouts => lockouts, invited => invited,
        errors => form_errors(errs), form => context!{ email => form.get("email"), role => form.get("role") },
        roles => Role::ALL.iter().map(|r| context!{ key => r.key(), label => r.label() }).collect::<Vec<_>>() },
    );
    if resp.status().is_success() {
        *resp.status_mut() = status;
    }
    Ok(resp)
}

/// Invites someone by email with a role. The page shows the single-use link to pass on (Heard sends no email
/// yet). Nothing here depends on whether the email has an account.
pub async fn invite(
    State(state): State<AppState>,
    m: Admin,
    AdminForm(form): AdminForm,
) -> AppResult<Response> {
    let mut errs = FieldErrors::default();
    let email = heard_domain::survey::parse_email(form.get("email"))
        .map_err(|(code, msg)| errs.push(FieldError::new("email", code, msg)))
        .ok();
    let role = Role::parse(form.get("role")).map_err(|e| errs.push(e)).ok();
    let (Some(email), Some(role)) = (email, role) else {
        return render(
            &state,
            &m,
            &errs,
            &form,
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    };
    let email = email.trim().to_lowercase();
    let now = heard_store::now_ms();
    let expires_at = now + INVITATION_DAYS * 24 * 3_600_000;
    let token = crypto::random_token();
    state
        .store
        .create_invitation(
            m.org_id(),
            &email,
            role,
            &crypto::sha256(token.as_bytes()),
            m.me.user.id,
            now,
            expires_at,
        )
        .await?;
    tracing::info!(org = %m.org_id(), "invitation made");
    let invited = Invited {
        email,
        role,
        link: format!("{}/admin/invite/{token}", state.public_url),
        expires_at,
    };
    render(
        &state,
        &m,
        &FieldErrors::default(),
        &FormData::default(),
        Some(invited),
        StatusCode::OK,
    )
    .await
}

pub async fn withdraw(
    State(state): State<AppState>,
    m: Admin,
    Path((_, id)): Path<(String, String)>,
    AdminForm(_): AdminForm,
) -> AppResult<Response> {
    let id: InvitationId = id.parse().map_err(|_| AppError::NotFound)?;
    state
        .store
        .withdraw_invitation(m.org_id(), id, heard_store::now_ms())
        .await?;
    Ok(back(&m))
}

fn back(m: &Admin) -> Response {
    Redirect::to(&format!("/admin/o/{}/members", m.org_id())).into_response()
}

/// A member of this organization named in the path; anyone else is not found.
async fn member(state: &AppState, m: &Admin, id: &str) -> AppResult<UserId> {
    let id: UserId = id.parse().map_err(|_| AppError::NotFound)?;
    match state.store.role_in(m.org_id(), id).await? {
        Some(_) => Ok(id),
        None => Err(AppError::NotFound),
    }
}

/// Re-renders the page with the store's refusal (the last admin) as a field error.
async fn refused(
    state: &AppState,
    m: &Admin,
    e: heard_store::StoreError,
    form: &FormData,
) -> AppResult<Response> {
    match e {
        heard_store::StoreError::Conflict(msg) => {
            let errs = FieldErrors(vec![FieldError::new("member", "last_admin", msg)]);
            render(
                state,
                m,
                &errs,
                form,
                None,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        e => Err(e.into()),
    }
}

pub async fn change_role(
    State(state): State<AppState>,
    m: Admin,
    Path((_, id)): Path<(String, String)>,
    AdminForm(form): AdminForm,
) -> AppResult<Response> {
    let id = member(&state, &m, &id).await?;
    let role = Role::parse(form.get("role"))?;
    match state.store.change_role(m.org_id(), id, role).await {
        Ok(()) => {
            tracing::info!(org = %m.org_id(), user = %id, role = role.key(), "role changed");
            Ok(back(&m))
        }
        Err(e) => refused(&state, &m, e, &form).await,
    }
}

/// Removes a member. Their next request, already open pages included, finds nothing of this organization.
pub async fn remove(
    State(state): State<AppState>,
    m: Admin,
    Path((_, id)): Path<(String, String)>,
    AdminForm(form): AdminForm,
) -> AppResult<Response> {
    let id = member(&state, &m, &id).await?;
    match state.store.remove_membership(m.org_id(), id).await {
        Ok(()) => {
            tracing::info!(org = %m.org_id(), user = %id, "member removed");
            Ok(back(&m))
        }
        Err(e) => refused(&state, &m, e, &form).await,
    }
}

/// Ends every session of a member, on every device (a lost laptop, a shared computer).
pub async fn sign_out(
    State(state): State<AppState>,
    m: Admin,
    Path((_, id)): Path<(String, String)>,
    AdminForm(_): AdminForm,
) -> AppResult<Response> {
    let id = member(&state, &m, &id).await?;
    let n = state.store.delete_user_sessions(id).await?;
    tracing::info!(org = %m.org_id(), user = %id, sessions = n, "member signed out everywhere");
    Ok(back(&m))
}

/// Ends the sign-in lockouts of a member (`email` must be a member's).
pub async fn unlock(
    State(state): State<AppState>,
    m: Admin,
    AdminForm(form): AdminForm,
) -> AppResult<Response> {
    let user = state
        .store
        .user_by_email(form.get("email"))
        .await
        .map_err(|_| AppError::NotFound)?;
    member(&state, &m, &user.id.to_string()).await?;
    state
        .store
        .unlock_sign_in(&user.email, heard_store::now_ms())
        .await?;
    tracing::info!(org = %m.org_id(), user = %user.id, "sign-in unlocked");
    Ok(back(&m))
}
