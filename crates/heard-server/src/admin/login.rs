//! Sign-in and sign-out. Failed attempts are throttled per (account, address) and, far more loosely, per address (in
//! the database, so every instance agrees; the rule is in `heard_store::throttle`): a right password from an address
//! without failures of its own is never refused. The form carries a CSRF token tied to a short-lived cookie because
//! there is no session yet. "Sign out everywhere" ends every session of the account.

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use minijinja::context;
use serde::Deserialize;

use crate::auth::{self, AdminForm, ClientIp};
use crate::crypto;
use crate::forms::FormData;
use crate::{AppError, AppResult, AppState};

/// The cookie that carries the CSRF token of forms shown before there is a session (sign-in, joining by invitation).
pub(super) const LOGIN_CSRF_COOKIE: &str = "heard_login_csrf";

#[derive(Deserialize)]
pub struct LoginQuery {
    next: Option<String>,
}

/// Where to go after signing in: `next` if it parses as a path inside the admin, else the admin's home. The target
/// goes into a `Location` header and the browser resolves it against our origin, so it must be a plain absolute
/// path: printable ASCII only (no spaces, line breaks or control characters, which would break the header; other
/// characters arrive percent-encoded), no backslash (browsers read `/\host` as `//host`, another site), no `//`
/// start, no dot segments, and `/admin` itself or below it. Anything else is not an error, only ignored.
pub fn safe_next(next: Option<&str>) -> String {
    let ok = |n: &str| {
        n.bytes().all(|b| b.is_ascii_graphic() && b != b'\\')
            && (n == "/admin" || n.starts_with("/admin/") || n.starts_with("/admin?"))
            && n.parse::<axum::http::uri::PathAndQuery>().is_ok()
            && !n
                .split(['?', '#'])
                .next()
                .unwrap_or("")
                .split('/')
                .map(|seg| seg.to_ascii_lowercase().replace("%2e", "."))
                .any(|seg| seg == "." || seg == "..")
    };
    match next {
        Some(n) if ok(n) => n.to_string(),
        _ => "/admin".to_string(),
    }
}

fn render(
    state: &AppState,
    csrf: &str,
    next: &str,
    email: &str,
    error: Option<&str>,
    status: StatusCode,
) -> Response {
    let html = state
        .templates
        .render(
            "login.html",
            context! { csrf => csrf, next => next, email => email, error => error },
        )
        .unwrap_or_default();
    let mut resp = (status, Html(html)).into_response();
    if let Ok(v) = auth::set_cookie(state, LOGIN_CSRF_COOKIE, csrf, 3600).parse() {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
    resp
}

pub async fn form(State(state): State<AppState>, Query(q): Query<LoginQuery>) -> Response {
    render(
        &state,
        &crypto::random_token(),
        &safe_next(q.next.as_deref()),
        "",
        None,
        StatusCode::OK,
    )
}

pub async fn submit(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    form: FormData,
) -> AppResult<Response> {
    let next = safe_next(form.opt("next"));
    let email = form.get("email").to_lowercase();
    let cookie_csrf = auth::cookie(&headers, LOGIN_CSRF_COOKIE).unwrap_or_default();
    if cookie_csrf.is_empty() || !crypto::same_secret(&cookie_csrf, form.get("csrf")) {
        return Ok(render(
            &state,
            &crypto::random_token(),
            &next,
            &email,
            Some("The sign-in form expired. Please try again."),
            StatusCode::FORBIDDEN,
        ));
    }
    let now = heard_store::now_ms();
    let address = heard_store::throttle::address_key(ip);
    if let Some(until) = state.store.sign_in_wait(&email, &address, now).await? {
        return Ok(too_many(&state, &cookie_csrf, &next, &email, until - now));
    }
    let password = form.get("password").to_string();
    let user = state.store.user_by_email(&email).await.ok();
    // Verify even for unknown accounts, so timing does not reveal which emails have accounts.
    let hash = user
        .as_ref()
        .map(|u| u.password_hash.clone())
        .unwrap_or_else(|| DUMMY_HASH.to_string());
    let ok = tokio::task::spawn_blocking(move || auth::verify_password(&password, &hash))
        .await
        .map_err(|e| AppError::Internal(e.to_string()))?;
    let Some(user) = user.filter(|_| ok) else {
        let wait = state
            .store
            .record_sign_in_failure(&email, &address, now)
            .await?;
        tracing::info!("failed sign-in");
        let message = match wait {
            Some(until) => format!(
                "The email or password is not right. {}",
                wait_sentence(until - now)
            ),
            None => "The email or password is not right.".to_string(),
        };
        return Ok(render(
            &state,
            &cookie_csrf,
            &next,
            &email,
            Some(&message),
            StatusCode::UNAUTHORIZED,
        ));
    };
    state
        .store
        .record_sign_in_success(&email, &address, now)
        .await?;
    start_session(&state, &user, &next).await
}

/// The answer while an address must wait: how long, and who can help.
fn too_many(state: &AppState, csrf: &str, next: &str, email: &str, wait_ms: i64) -> Response {
    let message = wait_sentence(wait_ms);
    render(
        state,
        csrf,
        next,
        email,
        Some(&message),
        StatusCode::TOO_MANY_REQUESTS,
    )
}

fn wait_sentence(wait_ms: i64) -> String {
    let minutes = (wait_ms + 59_999) / 60_000;
    format!(
        "Too many failed sign-ins to this account from this address. Try again in {minutes} minute{}, or ask an administrator of your organization to unlock your account.",
        if minutes == 1 { "" } else { "s" }
    )
}

/// Signs `user` in: a new session, its cookie, and a redirect to `next` (already checked by `safe_next`).
pub(super) async fn start_session(
    state: &AppState,
    user: &heard_store::User,
    next: &str,
) -> AppResult<Response> {
    let now = heard_store::now_ms();
    let token = crypto::random_token();
    let expires = now + auth::SESSION_HOURS * 3600 * 1000;
    state
        .store
        .create_session(
            &crypto::sha256(token.as_bytes()),
            user.id,
            &crypto::random_token(),
            now,
            expires,
        )
        .await?;
    tracing::info!(user = %user.id, "signed in");
    let mut resp = Redirect::to(next).into_response();
    let h = resp.headers_mut();
    h.append(
        header::SET_COOKIE,
        auth::set_cookie(
            state,
            auth::session_cookie_name(state),
            &token,
            auth::SESSION_HOURS * 3600,
        )
        .parse()
        .expect("ascii"),
    );
    h.append(
        header::SET_COOKIE,
        auth::set_cookie(state, LOGIN_CSRF_COOKIE, "", 0)
            .parse()
            .expect("ascii"),
    );
    Ok(resp)
}

pub async fn logout(
    State(state): State<AppState>,
    me: auth::CurrentUser,
    AdminForm(_): AdminForm,
) -> AppResult<Response> {
    state.store.delete_session(&me.token_hash).await?;
    Ok(signed_out(&state))
}

/// Ends every session of the signed-in account, on every device (after a lost laptop, or to be sure).
pub async fn sign_out_everywhere(
    State(state): State<AppState>,
    me: auth::CurrentUser,
    AdminForm(_): AdminForm,
) -> AppResult<Response> {
    let n = state.store.delete_user_sessions(me.user.id).await?;
    tracing::info!(user = %me.user.id, sessions = n, "signed out everywhere");
    Ok(signed_out(&state))
}

fn signed_out(state: &AppState) -> Response {
    let mut resp = Redirect::to("/admin/login").into_response();
    resp.headers_mut().append(
        header::SET_COOKIE,
        auth::set_cookie(state, auth::session_cookie_name(state), "", 0)
            .parse()
            .expect("ascii"),
    );
    resp
}

/// An argon2id hash of a random string, verified against when the account does not exist.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$3b1n2bY5h6mT2bqH6x0c8W1o1f6wqvSLa2nL3b0mO0A";

#[cfg(test)]
mod tests {
    /// An unknown email must cost a full verification, or timing would tell which emails have accounts.
    #[test]
    fn the_dummy_hash_is_a_real_hash() {
        assert!(argon2::PasswordHash::new(super::DUMMY_HASH).is_ok());
    }
}
