//! The invitee's side of an invitation. The link an admin passes on (`/admin/invite/{token}`) opens a page that
//! lets the person it names accept or decline once signed in, or, if they have no account yet, choose a name and
//! password and join at once. Invitations waiting for a signed-in account are also listed on its home page. Only the
//! person whose email the invitation names can accept it; an answered, withdrawn or expired one is gone (410).

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use heard_domain::{FieldError, FieldErrors, InvitationId, OrgId};
use heard_store::accounts::Invitation;
use minijinja::context;

use super::form_errors;
use super::login::{self, LOGIN_CSRF_COOKIE};
use crate::auth::{self, AdminForm, CurrentUser};
use crate::forms::FormData;
use crate::{AppError, AppResult, AppState, crypto};

/// A page with a title and a sentence, for people who may not be signed in.
fn message(
    state: &AppState,
    me: Option<&CurrentUser>,
    status: StatusCode,
    title: &str,
    text: &str,
) -> Response {
    let html = state
        .templates
        .render(
            "admin_message.html",
            context! { title => title, message => text, me => me.map(|m| context!{ name => m.user.name }), csrf => me.map(|m| m.csrf.clone()) },
        )
        .unwrap_or_default();
    (status, Html(html)).into_response()
}

fn gone(state: &AppState, me: Option<&CurrentUser>, inv: &Invitation) -> Response {
    let text = match inv.answer.as_deref() {
        Some("withdrawn") => {
            "This invitation was withdrawn. Ask the administrator who sent it for a new one."
        }
        Some(_) => "This invitation was already answered. It works only once.",
        None => "This invitation has expired. Ask the administrator who sent it for a new one.",
    };
    message(
        state,
        me,
        StatusCode::GONE,
        "Invitation no longer open",
        text,
    )
}

fn for_someone_else(state: &AppState, me: &CurrentUser) -> Response {
    message(
        state,
        Some(me),
        StatusCode::FORBIDDEN,
        "This invitation is for someone else",
        "It was sent to another email address. Sign out, open the link again and sign in with the address it was sent to.",
    )
}

/// The open invitation with this token, or the page to show instead.
async fn open_invitation(
    state: &AppState,
    token: &str,
    me: Option<&CurrentUser>,
) -> AppResult<Result<Invitation, Response>> {
    let inv = match state
        .store
        .invitation_by_token(&crypto::sha256(token.as_bytes()))
        .await
    {
        Ok(i) => i,
        Err(heard_store::StoreError::NotFound) => {
            return Ok(Err(super::not_found_page(state, me)));
        }
        Err(e) => return Err(e.into()),
    };
    if inv.answered_at.is_some() || inv.expires_at <= heard_store::now_ms() {
        return Ok(Err(gone(state, me, &inv)));
    }
    if let Some(me) = me
        && me.user.email != inv.email
    {
        return Ok(Err(for_someone_else(state, me)));
    }
    Ok(Ok(inv))
}

/// The page the invitation link opens.
pub async fn show(
    State(state): State<AppState>,
    Path(token): Path<String>,
    headers: HeaderMap,
) -> AppResult<Response> {
    let me = CurrentUser::from_headers(&state, &headers).await?;
    let inv = match open_invitation(&state, &token, me.as_ref()).await? {
        Ok(i) => i,
        Err(page) => return Ok(page),
    };
    render(
        &state,
        me.as_ref(),
        &token,
        &inv,
        &FieldErrors::default(),
        "",
        StatusCode::OK,
    )
    .await
}

async fn render(
    state: &AppState,
    me: Option<&CurrentUser>,
    token: &str,
    inv: &Invitation,
    errs: &FieldErrors,
    name: &str,
    status: StatusCode,
) -> AppResult<Response> {
    // Only the holder of the link sees whether its email has an account (to sign in, or to choose a password).
    let has_account = me.is_some() || state.store.user_by_email(&inv.email).await.is_ok();
    let form_csrf = match me {
        Some(m) => m.csrf.clone(),
        None => crypto::random_token(),
    };
    let next = format!("/admin/invite/{token}");
    let sign_in = format!(
        "/admin/login?next={}",
        form_urlencoded::byte_serialize(next.as_bytes()).collect::<String>()
    );
    let html = state.templates.render(
        "invitation.html",
        context! { me => me.map(|m| context!{ name => m.user.name }), csrf => me.map(|m| m.csrf.clone()),
            form_csrf => form_csrf, action => next, sign_in => sign_in, has_account => has_account,
            invitation => context!{ org_name => inv.org_name, role => inv.role.label().to_lowercase(), email => inv.email, expires_at => inv.expires_at },
            errors => form_errors(errs), form => context!{ name => name } },
    )?;
    let mut resp = (status, Html(html)).into_response();
    if me.is_none()
        && let Ok(v) = auth::set_cookie(state, LOGIN_CSRF_COOKIE, &form_csrf, 3600).parse()
    {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
    Ok(resp)
}

fn accepted(inv: &Invitation, accept: bool) -> Response {
    if accept {
        Redirect::to(&format!("/admin/o/{}", inv.org_id)).into_response()
    } else {
        Redirect::to("/admin").into_response()
    }
}

fn parse_answer(form: &FormData) -> AppResult<bool> {
    match form.get("answer") {
        "accept" => Ok(true),
        "decline" => Ok(false),
        _ => Err(AppError::field(
            "answer",
            "invalid_answer",
            "choose accept or decline",
        )),
    }
}

/// Answers through the link: a signed-in account accepts or declines; someone without an account creates one
/// (name and password) and joins.
pub async fn answer(
    State(state): State<AppState>,
    Path(token): Path<String>,
    headers: HeaderMap,
    form: FormData,
) -> AppResult<Response> {
    let me = CurrentUser::from_headers(&state, &headers).await?;
    let csrf_ok = match &me {
        Some(m) => crypto::same_secret(form.get("csrf"), &m.csrf),
        None => auth::cookie(&headers, LOGIN_CSRF_COOKIE)
            .is_some_and(|c| !c.is_empty() && crypto::same_secret(&c, form.get("csrf"))),
    };
    if !csrf_ok {
        return Err(AppError::Forbidden(
            "csrf_failed",
            "The form expired. Go back, reload the page and try again.".into(),
        ));
    }
    let inv = match open_invitation(&state, &token, me.as_ref()).await? {
        Ok(i) => i,
        Err(page) => return Ok(page),
    };
    let now = heard_store::now_ms();
    if let Some(me) = &me {
        let accept = parse_answer(&form)?;
        return match state
            .store
            .answer_invitation(inv.org_id, inv.id, &me.user, accept, now)
            .await
        {
            Ok(()) => Ok(accepted(&inv, accept)),
            Err(heard_store::StoreError::Conflict(_)) => Ok(gone(&state, Some(me), &inv)),
            Err(e) => Err(e.into()),
        };
    }
    let next = format!("/admin/invite/{token}");
    if state.store.user_by_email(&inv.email).await.is_ok() {
        // The account exists: its owner signs in first, then answers.
        let next = form_urlencoded::byte_serialize(next.as_bytes()).collect::<String>();
        return Ok(Redirect::to(&format!("/admin/login?next={next}")).into_response());
    }
    let mut errs = FieldErrors::default();
    let name = crate::input::clean_name("name", form.get("name")).unwrap_or_default();
    let name = name.as_str();
    if name.is_empty() || name.chars().count() > 200 {
        errs.push(FieldError::new(
            "name",
            "required",
            "enter your name (at most 200 characters)",
        ));
    }
    let password = form.get("password");
    if let Err(AppError::Invalid(e)) = auth::check_password_rules(password) {
        errs.0.extend(e.0);
    }
    if !errs.is_empty() {
        return render(
            &state,
            None,
            &token,
            &inv,
            &errs,
            name,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    let hash = {
        let password = password.to_string();
        tokio::task::spawn_blocking(move || auth::hash_password(&password))
            .await
            .map_err(|e| AppError::Internal(e.to_string()))??
    };
    let user = match state.store.create_user(&inv.email, name, &hash, now).await {
        Ok(u) => u,
        // Created meanwhile (another tab): sign in and answer then.
        Err(heard_store::StoreError::Conflict(_)) => {
            return Ok(Redirect::to("/admin/login").into_response());
        }
        Err(e) => return Err(e.into()),
    };
    match state
        .store
        .answer_invitation(inv.org_id, inv.id, &user, true, now)
        .await
    {
        Ok(()) => {}
        Err(heard_store::StoreError::Conflict(_)) => return Ok(gone(&state, None, &inv)),
        Err(e) => return Err(e.into()),
    }
    tracing::info!(org = %inv.org_id, user = %user.id, "joined by invitation");
    login::start_session(&state, &user, &format!("/admin/o/{}", inv.org_id)).await
}

/// Accepts or declines, from the signed-in account's home page, an invitation addressed to its email.
pub async fn answer_signed_in(
    State(state): State<AppState>,
    me: CurrentUser,
    Path((org, id)): Path<(String, String)>,
    AdminForm(form): AdminForm,
) -> AppResult<Response> {
    let org: OrgId = org.parse().map_err(|_| AppError::NotFound)?;
    let id: InvitationId = id.parse().map_err(|_| AppError::NotFound)?;
    let inv = state.store.invitation(org, id).await?;
    if inv.email != me.user.email {
        return Err(AppError::NotFound);
    }
    let accept = parse_answer(&form)?;
    match state
        .store
        .answer_invitation(org, id, &me.user, accept, heard_store::now_ms())
        .await
    {
        Ok(()) => Ok(accepted(&inv, accept)),
        Err(heard_store::StoreError::Conflict(_)) => Ok(gone(&state, Some(&me), &inv)),
        Err(e) => Err(e.into()),
    }
}
