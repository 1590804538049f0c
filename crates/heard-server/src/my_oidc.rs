//! MyAgency's sign-in with an OpenID Connect provider (issue 21, item 6): beside the one-time link, an organization
//! may offer "Sign in with Login.gov" (or any OpenID Provider: a state's own, an agency's). Its admins set it on
//! `/admin/o/{org}/my-sign-in` ([`crate::admin::my_sign_in`]; stored as `heard_store::myagency::SignInProvider`).
//!
//! The flow is OpenID Connect Core 1.0's authorization code flow, with PKCE (RFC 7636, S256) always:
//!
//! - `GET /my/{org}/oidc` (the button on the sign-in form: a link, so it works without JavaScript and the pages'
//!   `form-action 'self'` policy does not stop the redirect to the provider; it writes nothing): reads the
//!   provider's discovery document (kept [`METADATA_TTL`]), then answers 303 to its authorization endpoint with
//!   `scope=openid …`, a random `state` and `nonce`, the PKCE challenge and the configured `acr_values`. `state`,
//!   `nonce`, the PKCE verifier and the language go in a sealed cookie ([`FLOW_COOKIE`], `Path=/my/{org}/oidc`,
//!   HttpOnly, SameSite=Lax, 10 minutes), not in the database: nothing is written before the person comes back.
//! - `GET /my/{org}/oidc/callback`: the provider sends the person back with `code` and `state` (or `error`). The
//!   sealed cookie must open, be this organization's, be younger than [`FLOW_TTL_MS`] and hold the same `state`, else
//!   the one not-found page (404, counted against the address's MyAgency budget). An `iss` parameter other than the
//!   issuer is refused (RFC 9207, against mix-ups). The code is exchanged at the token endpoint with the PKCE
//!   verifier and the configured client authentication (`none`, `client_secret_basic`, `client_secret_post`, or
//!   `private_key_jwt`: an RS256 client assertion, RFC 7523, signed here with [`client_assertion`]); the ID token's
//!   signature (the provider's JWKS), issuer, audience, expiry and nonce are checked by `openidconnect`, and its
//!   `at_hash` when present. Claims come from the ID token, else from the UserInfo endpoint for the same `sub`
//!   (Login.gov gives `email` there).
//! - The person is who the provider vouches for: a verified email address (`email` with `email_verified` true),
//!   else a verified phone number (`phone_number` with `phone_number_verified` true), as
//!   [`verified_address`] reads them. Their person key is the one a link sent to that address would give
//!   (`Sealer::person_key`), so the same page opens either way. A provider that vouches for neither gets the sign-in
//!   form with a message saying so (nothing is started).
//!
//! Faults: a provider that cannot be reached, or refuses the code, or sends a token that does not check out, gets
//! the sign-in form with "we could not sign you in with {label}" (502), and a log line naming the organization and
//! the kind of fault, without personal data; the person cancelling at the provider (`error=access_denied`) gets the
//! form with "you stopped signing in". The link sign-in keeps working beside it.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use heard_domain::OrgId;
use heard_domain::identity::PersonId;
use heard_store::myagency::{ClientAuth, LinkChannel, SignInProvider};
use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreProviderMetadata, CoreUserInfoClaims,
};
use openidconnect::{
    AccessTokenHash, AuthType, AuthenticationContextClass, AuthorizationCode, ClientId,
    ClientSecret, CsrfToken, EndpointMaybeSet, EndpointNotSet, EndpointSet, IssuerUrl, Nonce,
    OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope, TokenResponse,
};
use serde::{Deserialize, Serialize};

use crate::auth::{ClientIp, cookie};
use crate::crypto::{Sealer, random_token, same_secret, sha256};
use crate::status::plain_lang;
use crate::{AppResult, AppState};

/// How long a provider's discovery document (with its JWKS) is kept before it is read again: 10 minutes. A token
/// whose signature does not check out drops it at once, so a provider's new signing key is read on the next try.
pub const METADATA_TTL: Duration = Duration::from_secs(600);
/// How long a person has at the provider before coming back: 10 minutes.
pub const FLOW_TTL_MS: i64 = 10 * 60_000;
/// The flow cookie's name (`__Secure-` prefixed when the public URL is https).
pub const FLOW_COOKIE: &str = "heard_my_oidc";
/// Each request to a provider gives up after this long.
const PROVIDER_TIMEOUT: Duration = Duration::from_secs(10);
/// What the flow cookie's sealed text says it is for, so no other sealed value can stand in for it.
const FLOW_PURPOSE: &str = "my/oidc";

/// The client this module talks to providers with, from a provider's discovery document.
type Client = CoreClient<
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// What can go wrong talking to a provider, in words without personal data (for the admin's form and the log).
#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    #[error("the issuer is not a valid URL: {0}")]
    Issuer(String),
    #[error("the discovery document could not be read: {0}")]
    Discovery(String),
    #[error("the client settings do not work: {0}")]
    Client(String),
    #[error("the token endpoint refused the code: {0}")]
    Token(String),
    #[error("the ID token does not check out: {0}")]
    IdToken(String),
    #[error("the UserInfo endpoint failed: {0}")]
    UserInfo(String),
}

struct Cached {
    issuer: String,
    read_at: Instant,
    metadata: CoreProviderMetadata,
}

/// The HTTP client for providers (no redirects followed, as `openidconnect` advises against SSRF; a
/// [`PROVIDER_TIMEOUT`] per request) and the discovery documents read, per organization.
pub struct Providers {
    http: openidconnect::reqwest::Client,
    cache: Mutex<HashMap<OrgId, Cached>>,
}

impl Default for Providers {
    fn default() -> Self {
        Providers::new()
    }
}

impl Providers {
    pub fn new() -> Providers {
        Providers {
            http: openidconnect::reqwest::Client::builder()
                .redirect(openidconnect::reqwest::redirect::Policy::none())
                .timeout(PROVIDER_TIMEOUT)
                .build()
                .expect("a client with a timeout and no redirects builds"),
            cache: Mutex::default(),
        }
    }

    /// Reads `issuer`'s discovery document and JWKS now (OpenID Connect Discovery 1.0: the document's `issuer` must
    /// be `issuer` exactly). The admin's form calls this before saving.
    pub async fn discover(&self, issuer: &str) -> Result<CoreProviderMetadata, ProviderError> {
        let url =
            IssuerUrl::new(issuer.to_string()).map_err(|e| ProviderError::Issuer(e.to_string()))?;
        CoreProviderMetadata::discover_async(url, &self.http)
            .await
            .map_err(|e| ProviderError::Discovery(error_chain(&e)))
    }

    /// The organization's provider's discovery document, read at most [`METADATA_TTL`] ago.
    async fn metadata(
        &self,
        org: OrgId,
        issuer: &str,
    ) -> Result<CoreProviderMetadata, ProviderError> {
        {
            let cache = self.cache.lock().expect("not poisoned");
            if let Some(c) = cache.get(&org)
                && c.issuer == issuer
                && c.read_at.elapsed() < METADATA_TTL
            {
                return Ok(c.metadata.clone());
            }
        }
        let metadata = self.discover(issuer).await?;
        self.cache.lock().expect("not poisoned").insert(
            org,
            Cached {
                issuer: issuer.to_string(),
                read_at: Instant::now(),
                metadata: metadata.clone(),
            },
        );
        Ok(metadata)
    }

    /// Forgets the organization's discovery document (its settings changed, or a token did not check out).
    pub fn forget(&self, org: OrgId) {
        self.cache.lock().expect("not poisoned").remove(&org);
    }
}

/// An error and its sources, one line.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

/// Where the provider sends the person back: `{public_url}/my/{slug}/oidc/callback`. The admin registers it with
/// the provider.
pub fn redirect_uri(public_url: &str, slug: &str) -> String {
    format!("{public_url}/my/{slug}/oidc/callback")
}

/// The client for a provider's settings: its credential opened with `sealer`, its authentication set.
fn client(
    sealer: &Sealer,
    provider: &SignInProvider,
    metadata: CoreProviderMetadata,
    redirect: &str,
) -> Result<Client, ProviderError> {
    let secret = match provider.client_auth {
        ClientAuth::ClientSecretBasic | ClientAuth::ClientSecretPost => {
            Some(ClientSecret::new(credential(sealer, provider).ok_or_else(
                || ProviderError::Client("the client secret cannot be opened".into()),
            )?))
        }
        ClientAuth::None | ClientAuth::PrivateKeyJwt => None,
    };
    let auth = match provider.client_auth {
        ClientAuth::ClientSecretBasic => AuthType::BasicAuth,
        _ => AuthType::RequestBody,
    };
    Ok(CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(provider.client_id.clone()),
        secret,
    )
    .set_auth_type(auth)
    .set_redirect_uri(
        RedirectUrl::new(redirect.to_string()).map_err(|e| ProviderError::Client(e.to_string()))?,
    ))
}

/// The provider's credential (client secret or PEM private key), opened.
fn credential(sealer: &Sealer, provider: &SignInProvider) -> Option<String> {
    provider
        .credential_sealed
        .as_deref()
        .and_then(|s| sealer.open(s))
}

/// The claims of a `private_key_jwt` client assertion (RFC 7523 section 3; OpenID Connect Core section 9).
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct AssertionClaims {
    /// The client id.
    pub iss: String,
    /// The client id.
    pub sub: String,
    /// The token endpoint's URL.
    pub aud: String,
    /// A random id, so the provider can refuse a replay.
    pub jti: String,
    /// Seconds since the epoch.
    pub iat: i64,
    /// `iat` + 300 (Login.gov refuses assertions that live longer than it allows).
    pub exp: i64,
}

/// A `private_key_jwt` client assertion: an RS256 JWT over [`AssertionClaims`] for `client_id` and the token
/// endpoint `audience`, signed with `private_key_pem` (PKCS #8 or PKCS #1), `kid` in its header when given.
/// `now_secs` is seconds since the epoch. Errors: the key is not an RSA private key in PEM.
pub fn client_assertion(
    client_id: &str,
    audience: &str,
    private_key_pem: &str,
    key_id: Option<&str>,
    now_secs: i64,
) -> Result<String, jsonwebtoken::errors::Error> {
    let key = jsonwebtoken::EncodingKey::from_rsa_pem(private_key_pem.as_bytes())?;
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
    header.kid = key_id.map(str::to_string);
    let claims = AssertionClaims {
        iss: client_id.to_string(),
        sub: client_id.to_string(),
        aud: audience.to_string(),
        jti: random_token(),
        iat: now_secs,
        exp: now_secs + 300,
    };
    jsonwebtoken::encode(&header, &claims, &key)
}

/// Whether a PEM text is an RSA private key `client_assertion` can sign with.
pub fn usable_private_key(pem: &str) -> bool {
    jsonwebtoken::EncodingKey::from_rsa_pem(pem.as_bytes()).is_ok()
}

/// The address a provider vouches for: its email when `email_verified` is true, else its phone number when
/// `phone_number_verified` is true (a number `PersonId::phone` reads); `None` when it vouches for neither. An
/// address the provider did not say it verified is never used: whoever typed it would see another person's page.
pub fn verified_address(
    email: Option<&str>,
    email_verified: Option<bool>,
    phone: Option<&str>,
    phone_verified: Option<bool>,
) -> Option<(LinkChannel, PersonId)> {
    if let (Some(e), Some(true)) = (email, email_verified)
        && let Ok(id) = PersonId::email("email", e)
    {
        return Some((LinkChannel::Email, id));
    }
    if let (Some(p), Some(true)) = (phone, phone_verified)
        && let Ok(id) = PersonId::phone("phone_number", p)
    {
        return Some((LinkChannel::Sms, id));
    }
    None
}

/// What the flow cookie holds, sealed.
#[derive(Serialize, Deserialize)]
struct Flow {
    purpose: String,
    org: String,
    state: String,
    nonce: String,
    verifier: String,
    lang: String,
    started_at: i64,
}

fn flow_cookie_name(state: &AppState) -> &'static str {
    if state.secure_cookies {
        "__Secure-heard_my_oidc"
    } else {
        FLOW_COOKIE
    }
}

fn flow_cookie(state: &AppState, slug: &str, value: &str, max_age_secs: i64) -> String {
    let secure = if state.secure_cookies { "; Secure" } else { "" };
    format!(
        "{}={value}; Path=/my/{slug}/oidc; HttpOnly; SameSite=Lax; Max-Age={max_age_secs}{secure}",
        flow_cookie_name(state)
    )
}

/// The organization's provider when it is offered on the sign-in form.
pub async fn offered(state: &AppState, org: OrgId) -> AppResult<Option<SignInProvider>> {
    Ok(state
        .store
        .my_sign_in_provider(org)
        .await?
        .filter(|p| p.enabled))
}

/// `GET /my/{org}/oidc`: off to the provider.
pub async fn start(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    Query(q): Query<crate::status::LangQuery>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
) -> AppResult<Response> {
    state.my_limiter.check(ip)?;
    let lang = plain_lang(q.lang.as_deref(), &headers);
    let Some(o) = state.store.org_by_slug(&slug).await.ok() else {
        return crate::myagency::missing(&state, &lang);
    };
    let Some(provider) = offered(&state, o.id).await? else {
        return crate::myagency::missing(&state, &lang);
    };
    let metadata = match state.oidc.metadata(o.id, &provider.issuer).await {
        Ok(m) => m,
        Err(e) => return fault(&state, &o, &provider, &lang, &e).await,
    };
    let sealer = state.pipeline.sealer();
    let redirect = redirect_uri(&state.public_url, &o.slug);
    let client = match client(sealer, &provider, metadata, &redirect) {
        Ok(c) => c,
        Err(e) => return fault(&state, &o, &provider, &lang, &e).await,
    };
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let csrf = CsrfToken::new_random();
    let nonce = Nonce::new_random();
    let mut request = client.authorize_url(
        CoreAuthenticationFlow::AuthorizationCode,
        {
            let csrf = csrf.clone();
            move || csrf
        },
        {
            let nonce = nonce.clone();
            move || nonce
        },
    );
    for scope in provider.scopes.split_whitespace() {
        request = request.add_scope(Scope::new(scope.to_string()));
    }
    for acr in provider.acr_values.split_whitespace() {
        request = request.add_auth_context_value(AuthenticationContextClass::new(acr.to_string()));
    }
    if lang == "es" {
        request = request.add_ui_locale(openidconnect::LanguageTag::new("es".into()));
    }
    let (url, _, _) = request.set_pkce_challenge(challenge).url();
    let flow = Flow {
        purpose: FLOW_PURPOSE.into(),
        org: o.id.to_string(),
        state: csrf.secret().clone(),
        nonce: nonce.secret().clone(),
        verifier: verifier.secret().clone(),
        lang: lang.clone(),
        started_at: heard_store::now_ms(),
    };
    let sealed = URL_SAFE_NO_PAD
        .encode(sealer.seal(&serde_json::to_string(&flow).expect("a flow serialises")));
    Ok((
        StatusCode::SEE_OTHER,
        [
            (
                header::SET_COOKIE,
                flow_cookie(&state, &o.slug, &sealed, FLOW_TTL_MS / 1000),
            ),
            (header::LOCATION, url.to_string()),
        ],
    )
        .into_response())
}

/// The sign-in form saying a provider could not sign the person in (502), and a log line without personal data.
async fn fault(
    state: &AppState,
    o: &heard_store::Organization,
    provider: &SignInProvider,
    lang: &str,
    e: &ProviderError,
) -> AppResult<Response> {
    tracing::warn!(org = %o.id, issuer = %provider.issuer, error = %e, "MyAgency sign-in with a provider failed");
    let message =
        crate::myagency::tr_my(lang, "oidc_failed").replace("{provider}", &provider.label);
    crate::myagency::sign_in_page(state, o, lang, StatusCode::BAD_GATEWAY, Some(message)).await
}

#[derive(Deserialize, Default)]
pub struct CallbackQuery {
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    state: Option<String>,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    iss: Option<String>,
}

/// `GET /my/{org}/oidc/callback`: back from the provider.
pub async fn callback(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    Query(q): Query<CallbackQuery>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
) -> AppResult<Response> {
    let o = state.store.org_by_slug(&slug).await.ok();
    let sealer = state.pipeline.sealer();
    let flow = cookie(&headers, flow_cookie_name(&state))
        .and_then(|c| URL_SAFE_NO_PAD.decode(c).ok())
        .and_then(|b| sealer.open(&b))
        .and_then(|t| serde_json::from_str::<Flow>(&t).ok());
    let now = heard_store::now_ms();
    let (Some(o), Some(flow)) = (o, flow) else {
        state.my_limiter.check(ip)?;
        return crate::myagency::missing(&state, &plain_lang(None, &headers));
    };
    let lang = flow.lang.clone();
    let fits = flow.purpose == FLOW_PURPOSE
        && flow.org == o.id.to_string()
        && now - flow.started_at < FLOW_TTL_MS
        && q.state
            .as_deref()
            .is_some_and(|s| same_secret(s, &flow.state));
    let provider = offered(&state, o.id).await?;
    let (true, Some(provider)) = (fits, provider) else {
        state.my_limiter.check(ip)?;
        return crate::myagency::missing(&state, &lang);
    };
    // From here on the flow is spent, whatever happens.
    let clear = flow_cookie(&state, &o.slug, "", 0);
    let answer = finish(&state, &o, &provider, &flow, &q, &lang).await?;
    let mut response = answer;
    response
        .headers_mut()
        .append(header::SET_COOKIE, clear.parse().expect("a cookie header"));
    Ok(response)
}

async fn finish(
    state: &AppState,
    o: &heard_store::Organization,
    provider: &SignInProvider,
    flow: &Flow,
    q: &CallbackQuery,
    lang: &str,
) -> AppResult<Response> {
    if let Some(error) = &q.error {
        if error == "access_denied" {
            let message = crate::myagency::tr_my(lang, "oidc_cancelled")
                .replace("{provider}", &provider.label);
            return crate::myagency::sign_in_page(state, o, lang, StatusCode::OK, Some(message))
                .await;
        }
        let e = ProviderError::Token(format!("the provider answered error={error}"));
        return fault(state, o, provider, lang, &e).await;
    }
    if q.iss.as_deref().is_some_and(|i| i != provider.issuer) {
        let e = ProviderError::Token("the authorization response names another issuer".into());
        return fault(state, o, provider, lang, &e).await;
    }
    let Some(code) = q.code.clone() else {
        let e = ProviderError::Token("the authorization response has no code".into());
        return fault(state, o, provider, lang, &e).await;
    };
    let who = match vouched(state, o, provider, flow, code).await {
        Ok(Some(who)) => who,
        Ok(None) => {
            let message = crate::myagency::tr_my(lang, "oidc_unverified")
                .replace("{provider}", &provider.label);
            return crate::myagency::sign_in_page(
                state,
                o,
                lang,
                StatusCode::FORBIDDEN,
                Some(message),
            )
            .await;
        }
        Err(e) => {
            if matches!(e, ProviderError::IdToken(_)) {
                state.oidc.forget(o.id);
            }
            return fault(state, o, provider, lang, &e).await;
        }
    };
    let (channel, id) = who;
    let person_key = state.pipeline.sealer().person_key(o.id, &id).0;
    let session = random_token();
    state
        .store
        .start_my_session(
            o.id,
            &person_key,
            channel,
            &sha256(session.as_bytes()),
            &random_token(),
            heard_store::now_ms(),
        )
        .await?;
    tracing::info!(org = %o.id, person = %crate::myagency::person_ref(&person_key), "MyAgency sign-in with a provider");
    Ok(crate::myagency::signed_in(state, &o.slug, &session, lang))
}

/// Exchanges the code and reads who the provider vouches for: `Ok(None)` when it vouches for no verified address.
async fn vouched(
    state: &AppState,
    o: &heard_store::Organization,
    provider: &SignInProvider,
    flow: &Flow,
    code: String,
) -> Result<Option<(LinkChannel, PersonId)>, ProviderError> {
    let metadata = state.oidc.metadata(o.id, &provider.issuer).await?;
    let token_url = metadata.token_endpoint().map(|u| u.to_string());
    let sealer = state.pipeline.sealer();
    let client = client(
        sealer,
        provider,
        metadata,
        &redirect_uri(&state.public_url, &o.slug),
    )?;
    let mut request = client
        .exchange_code(AuthorizationCode::new(code))
        .map_err(|e| ProviderError::Client(e.to_string()))?
        .set_pkce_verifier(PkceCodeVerifier::new(flow.verifier.clone()));
    if provider.client_auth == ClientAuth::PrivateKeyJwt {
        let pem = credential(sealer, provider)
            .ok_or_else(|| ProviderError::Client("the private key cannot be opened".into()))?;
        let audience = token_url
            .ok_or_else(|| ProviderError::Client("the provider has no token endpoint".into()))?;
        let assertion = client_assertion(
            &provider.client_id,
            &audience,
            &pem,
            provider.key_id.as_deref(),
            heard_store::now_ms() / 1000,
        )
        .map_err(|e| ProviderError::Client(format!("the private key cannot sign: {e}")))?;
        request = request
            .add_extra_param(
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            )
            .add_extra_param("client_assertion", assertion);
    }
    let tokens = request
        .request_async(&state.oidc.http)
        .await
        .map_err(|e| ProviderError::Token(error_chain(&e)))?;
    let id_token = tokens
        .id_token()
        .ok_or_else(|| ProviderError::IdToken("the token response has no ID token".into()))?;
    let verifier = client.id_token_verifier();
    let claims = id_token
        .claims(&verifier, &Nonce::new(flow.nonce.clone()))
        .map_err(|e| ProviderError::IdToken(error_chain(&e)))?;
    if let Some(expected) = claims.access_token_hash() {
        let alg = id_token
            .signing_alg()
            .map_err(|e| ProviderError::IdToken(error_chain(&e)))?;
        let key = id_token
            .signing_key(&verifier)
            .map_err(|e| ProviderError::IdToken(error_chain(&e)))?;
        let actual = AccessTokenHash::from_token(tokens.access_token(), alg, key)
            .map_err(|e| ProviderError::IdToken(error_chain(&e)))?;
        if actual != *expected {
            return Err(ProviderError::IdToken(
                "at_hash does not match the access token".into(),
            ));
        }
    }
    let from_id_token = verified_address(
        claims.email().map(|e| e.as_str()),
        claims.email_verified(),
        claims.phone_number().map(|p| p.as_str()),
        claims.phone_number_verified(),
    );
    if from_id_token.is_some() {
        return Ok(from_id_token);
    }
    // No verified address in the ID token: ask the UserInfo endpoint, for the same subject.
    let Ok(request) = client.user_info(
        tokens.access_token().to_owned(),
        Some(claims.subject().clone()),
    ) else {
        return Ok(None);
    };
    let info: CoreUserInfoClaims = request
        .request_async(&state.oidc.http)
        .await
        .map_err(|e| ProviderError::UserInfo(error_chain(&e)))?;
    Ok(verified_address(
        info.email().map(|e| e.as_str()),
        info.email_verified(),
        info.phone_number().map(|p| p.as_str()),
        info.phone_number_verified(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 2048-bit RSA key made for this test only (PKCS #8).
    fn test_key() -> (String, jsonwebtoken::DecodingKey) {
        use rsa::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};
        let key = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048).expect("a key");
        let pem = key.to_pkcs8_pem(LineEnding::LF).expect("pem").to_string();
        let public = key
            .to_public_key()
            .to_public_key_pem(LineEnding::LF)
            .expect("pem");
        (
            pem,
            jsonwebtoken::DecodingKey::from_rsa_pem(public.as_bytes()).expect("a public key"),
        )
    }

    #[test]
    fn client_assertions_are_rs256_jwts_for_the_token_endpoint() {
        let (pem, public) = test_key();
        let jwt = client_assertion(
            "urn:gov:gsa:openidconnect.profiles:sp:sso:agency:heard",
            "https://idp.int.identitysandbox.gov/api/openid_connect/token",
            &pem,
            Some("key-1"),
            1_800_000_000,
        )
        .expect("signs");
        let header = jsonwebtoken::decode_header(&jwt).expect("a header");
        assert_eq!(header.alg, jsonwebtoken::Algorithm::RS256);
        assert_eq!(header.kid.as_deref(), Some("key-1"));
        let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
        validation.set_audience(&["https://idp.int.identitysandbox.gov/api/openid_connect/token"]);
        validation.validate_exp = false;
        let data = jsonwebtoken::decode::<AssertionClaims>(&jwt, &public, &validation)
            .expect("verifies with the public key");
        let c = data.claims;
        assert_eq!(
            c.iss,
            "urn:gov:gsa:openidconnect.profiles:sp:sso:agency:heard"
        );
        assert_eq!(c.sub, c.iss);
        assert_eq!((c.iat, c.exp), (1_800_000_000, 1_800_000_300));
        assert_eq!(c.jti.len(), 43);
        // Two assertions never share an id.
        let again = client_assertion("a", "b", &pem, None, 0).expect("signs");
        let other = jsonwebtoken::dangerous::insecure_decode::<AssertionClaims>(&again)
            .expect("decodes")
            .claims;
        assert_ne!(other.jti, c.jti);
        assert!(usable_private_key(&pem));
        assert!(!usable_private_key(
            "-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n"
        ));
        assert!(client_assertion("a", "b", "not pem", None, 0).is_err());
    }

    #[test]
    fn only_a_verified_address_signs_anyone_in() {
        let (channel, id) =
            verified_address(Some("Ana@Example.gov"), Some(true), None, None).expect("verified");
        assert_eq!(channel, LinkChannel::Email);
        assert_eq!(
            id.as_str(),
            PersonId::email("x", "ana@example.gov").unwrap().as_str()
        );
        // Unverified or unsaid: nobody.
        assert!(verified_address(Some("ana@example.gov"), Some(false), None, None).is_none());
        assert!(verified_address(Some("ana@example.gov"), None, None, None).is_none());
        // A verified phone when the email is not verified.
        let (channel, id) = verified_address(
            Some("ana@example.gov"),
            Some(false),
            Some("+1 202 555 0143"),
            Some(true),
        )
        .expect("the phone");
        assert_eq!(channel, LinkChannel::Sms);
        assert_eq!(id.as_str(), "phone:+12025550143");
        assert!(verified_address(None, None, Some("+12025550143"), Some(false)).is_none());
        // Something that is not an address at all.
        assert!(verified_address(Some("not an address"), Some(true), None, None).is_none());
    }

    #[test]
    fn the_redirect_uri_is_under_the_organizations_pages() {
        assert_eq!(
            redirect_uri("https://feedback.agency.gov", "benefits"),
            "https://feedback.agency.gov/my/benefits/oidc/callback"
        );
    }
}
