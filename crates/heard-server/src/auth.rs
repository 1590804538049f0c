//! Staff sign-in: argon2id password hashes, sessions stored in the database (so any instance can serve any request),
//! CSRF tokens bound to the session, sign-in throttling (see `heard_store::throttle`), and role extractors. Who may call
//! a handler is visible in its signature: `Viewer`, `Analyst` or `Admin` for the organization named in the path.

use argon2::Argon2;
use argon2::password_hash::{
    PasswordHash, PasswordHasher, PasswordVerifier, SaltString, rand_core::OsRng,
};
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, RawPathParams, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Redirect, Response};
use heard_domain::{OrgId, Role};
use heard_store::{Organization, User};
use std::marker::PhantomData;
use std::net::{IpAddr, SocketAddr};

use crate::crypto;
use crate::forms::FormData;
use crate::{AppError, AppState};

pub const SESSION_HOURS: i64 = 12;

pub fn hash_password(password: &str) -> Result<String, AppError> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AppError::Internal(format!("password hashing: {e}")))
}

pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|h| {
        Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    })
}

/// Minimum rules for a staff password: long, and not trivially guessable.
pub fn check_password_rules(password: &str) -> Result<(), AppError> {
    if password.chars().count() < 12 {
        return Err(AppError::field(
            "password",
            "too_short",
            "use at least 12 characters",
        ));
    }
    if password
        .chars()
        .all(|c| c == password.chars().next().unwrap_or(' '))
    {
        return Err(AppError::field(
            "password",
            "too_simple",
            "the password repeats one character",
        ));
    }
    Ok(())
}

pub fn session_cookie_name(state: &AppState) -> &'static str {
    if state.secure_cookies {
        "__Host-heard_session"
    } else {
        "heard_session"
    }
}

pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

pub fn set_cookie(state: &AppState, name: &str, value: &str, max_age_secs: i64) -> String {
    let secure = if state.secure_cookies { "; Secure" } else { "" };
    format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age_secs}{secure}")
}

/// The address a request came from: the key of every per-address limit (submissions, displays, sign-in throttle).
#[derive(Debug, Clone, Copy)]
pub struct ClientIp(pub IpAddr);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = AppError;
    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip())
            .unwrap_or(IpAddr::from([127, 0, 0, 1]));
        Ok(ClientIp(client_ip(
            &parts.headers,
            peer,
            state.config.trusted_proxy_hops,
        )))
    }
}

/// The client's address behind `hops` trusted proxies. Each proxy appends the address it received the request from
/// to `X-Forwarded-For` (several header lines read as one list), so the entry `hops` places from the right is the one
/// the outermost trusted proxy wrote; everything to its left came from the client and could be anything. With no
/// trusted proxy, or a list shorter than the proxies configured, or an entry that is not an address, the socket's
/// peer is the client: a misconfigured proxy then puts everyone behind it under one budget rather than letting each
/// request pick its own.
pub fn client_ip(headers: &HeaderMap, peer: IpAddr, hops: u8) -> IpAddr {
    if hops == 0 {
        return peer;
    }
    let entries: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    let Some(entry) = entries
        .len()
        .checked_sub(hops as usize)
        .and_then(|i| entries.get(i))
    else {
        return peer;
    };
    entry
        .parse::<IpAddr>()
        .ok()
        .or_else(|| entry.parse::<SocketAddr>().ok().map(|s| s.ip()))
        .unwrap_or(peer)
}

/// A signed-in staff member.
#[derive(Debug, Clone)]
pub struct CurrentUser {
    pub user: User,
    pub csrf: String,
    pub token_hash: Vec<u8>,
}

/// Sends people to the sign-in page; API-style callers get 401.
pub struct SignInFirst(String);

impl IntoResponse for SignInFirst {
    fn into_response(self) -> Response {
        let next = form_urlencoded::byte_serialize(self.0.as_bytes()).collect::<String>();
        Redirect::to(&format!("/admin/login?next={next}")).into_response()
    }
}

impl CurrentUser {
    /// The signed-in staff member whose session cookie `headers` carry, if any (pages anyone may open, such as an
    /// invitation, use this; pages for staff only use the extractor, which sends others to sign in).
    pub async fn from_headers(
        state: &AppState,
        headers: &HeaderMap,
    ) -> Result<Option<Self>, AppError> {
        let Some(token) = cookie(headers, session_cookie_name(state)) else {
            return Ok(None);
        };
        let token_hash = crypto::sha256(token.as_bytes()).to_vec();
        Ok(state
            .store
            .session(&token_hash, heard_store::now_ms())
            .await?
            .map(|s| CurrentUser {
                user: s.user,
                csrf: s.csrf_token,
                token_hash,
            }))
    }
}

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = Response;
    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        match CurrentUser::from_headers(state, &parts.headers).await {
            Ok(Some(me)) => Ok(me),
            Ok(None) => Err(SignInFirst(parts.uri.path().to_string()).into_response()),
            Err(e) => Err(e.into_response()),
        }
    }
}

pub trait MinRole: Send + Sync {
    const ROLE: Role;
}
pub struct ViewerRole;
pub struct AnalystRole;
pub struct AdminRole;
impl MinRole for ViewerRole {
    const ROLE: Role = Role::Viewer;
}
impl MinRole for AnalystRole {
    const ROLE: Role = Role::Analyst;
}
impl MinRole for AdminRole {
    const ROLE: Role = Role::Admin;
}

/// A member of the organization in the path (`{org}`) with at least role `R`. Someone who is not a member gets 404,
/// so ids of other organizations reveal nothing; a member with too small a role gets 403.
pub struct Member<R: MinRole> {
    pub me: CurrentUser,
    pub org: Organization,
    pub role: Role,
    _r: PhantomData<R>,
}

pub type Viewer = Member<ViewerRole>;
pub type Analyst = Member<AnalystRole>;
pub type Admin = Member<AdminRole>;

impl<R: MinRole> Member<R> {
    pub fn org_id(&self) -> OrgId {
        self.org.id
    }
    /// The same member seen with a smaller requirement (a page shared by several roles).
    pub fn as_viewer(self) -> Viewer {
        Member {
            me: self.me,
            org: self.org,
            role: self.role,
            _r: PhantomData,
        }
    }
}

impl<R: MinRole> FromRequestParts<AppState> for Member<R> {
    type Rejection = Response;
    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let me = CurrentUser::from_request_parts(parts, state).await?;
        let params = RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(|e| e.into_response())?;
        let org_id: OrgId = params
            .iter()
            .find(|(k, _)| *k == "org")
            .and_then(|(_, v)| v.parse().ok())
            .ok_or_else(|| AppError::NotFound.into_response())?;
        let role = match state.store.role_in(org_id, me.user.id).await {
            Ok(Some(r)) => r,
            Ok(None) => return Err(crate::admin::not_found_page(state, Some(&me))),
            Err(e) => return Err(AppError::from(e).into_response()),
        };
        if role < R::ROLE {
            return Err(crate::admin::forbidden_page(state, &me, R::ROLE));
        }
        let org = state
            .store
            .org(org_id)
            .await
            .map_err(|e| AppError::from(e).into_response())?;
        Ok(Member {
            me,
            org,
            role,
            _r: PhantomData,
        })
    }
}

/// A form posted by a signed-in member, with its CSRF token checked against the session. Every state-changing admin
/// handler takes one, so the check cannot be forgotten.
pub struct AdminForm(pub FormData);

impl FromRequest<AppState> for AdminForm {
    type Rejection = Response;
    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = req.into_parts();
        let me = CurrentUser::from_request_parts(&mut parts, state).await?;
        let form = FormData::from_request(Request::from_parts(parts, body), state)
            .await
            .map_err(|e| e.into_response())?;
        if !crypto::same_secret(form.get("csrf"), &me.csrf) {
            return Err(AppError::Forbidden(
                "csrf_failed",
                "The form expired. Go back, reload the page and try again.".into(),
            )
            .into_response());
        }
        Ok(AdminForm(form))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_client_address_is_the_entry_the_outermost_trusted_proxy_appended() {
        let peer: IpAddr = "10.0.0.2".parse().unwrap();
        let mut h = HeaderMap::new();
        h.append("x-forwarded-for", "1.1.1.1, 2.2.2.2".parse().unwrap());
        h.append("x-forwarded-for", "203.0.113.7:4711".parse().unwrap());
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert_eq!(client_ip(&h, peer, 0), peer);
        assert_eq!(client_ip(&h, peer, 1), ip("203.0.113.7"));
        assert_eq!(client_ip(&h, peer, 2), ip("2.2.2.2"));
        assert_eq!(client_ip(&h, peer, 3), ip("1.1.1.1"));
        assert_eq!(client_ip(&h, peer, 4), peer, "fewer entries than proxies");
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", "1.1.1.1, unknown".parse().unwrap());
        assert_eq!(client_ip(&h, peer, 1), peer);
        h.insert("x-forwarded-for", "[2001:db8::1]:80".parse().unwrap());
        assert_eq!(client_ip(&h, peer, 1), ip("2001:db8::1"));
        assert_eq!(client_ip(&HeaderMap::new(), peer, 1), peer);
    }

    #[test]
    fn passwords_verify_only_with_the_right_secret() {
        let h = hash_password("correct horse battery staple").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("correct horse battery staple", &h));
        assert!(!verify_password("Correct horse battery staple", &h));
        assert!(!verify_password("x", "not a hash"));
        assert!(check_password_rules("short").is_err());
        assert!(check_password_rules("aaaaaaaaaaaaaaaa").is_err());
    }
}
