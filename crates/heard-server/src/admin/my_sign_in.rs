//! MyAgency's sign-in with an OpenID Connect provider, in the admin (issue 21, item 6), admins only:
//! `/admin/o/{org}/my-sign-in` shows the organization's provider, if any, and the form that sets it: the name on the
//! button, the issuer, the client id, the client authentication (`private_key_jwt` with a PEM private key, as
//! Login.gov asks; PKCE alone; or a client secret), the key id, the scopes, the `acr_values`, and whether the
//! sign-in form offers it. The page shows the redirect URI to register with the provider.
//!
//! Saving parses the whole form first (a bad field gets a 422 naming it), then reads the issuer's discovery
//! document ([`crate::my_oidc::Providers::discover`]): a provider that cannot be read, or that does not list the
//! chosen client authentication, is refused on the field it is about, and nothing is written. The secret or key is
//! stored sealed and never shown again; leaving the field empty keeps the stored one. `POST .../remove` takes the
//! provider off (people signed in by it stay signed in to the end of their session).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use heard_domain::{FieldError, FieldErrors};
use heard_store::myagency::{ClientAuth, SignInProvider};
use minijinja::{Value, context};

use super::{base_ctx, form_errors, page};
use crate::auth::{Admin, AdminForm};
use crate::crypto::Sealer;
use crate::forms::FormData;
use crate::my_oidc::{redirect_uri, usable_private_key};
use crate::webhooks::url_problem;
use crate::{AppResult, AppState};

/// The scopes a person is asked to share, besides `openid`.
const SCOPES: [&str; 2] = ["email", "phone"];

/// A provider's settings as the form reads them, before its discovery document is read. `credential` is the text
/// typed (`None`: keep the stored one).
struct Parsed {
    provider: SignInProvider,
    credential: Option<String>,
}

fn parse(form: &FormData, stored: Option<&SignInProvider>) -> Result<Parsed, FieldErrors> {
    let mut errs = FieldErrors::default();
    let label = form.get("label").trim().to_string();
    if label.is_empty() || label.chars().count() > 60 || label.chars().any(char::is_control) {
        errs.push(FieldError::new(
            "label",
            "invalid",
            "Name: give the provider's name as people know it, such as Login.gov (at most 60 characters).",
        ));
    }
    let issuer = form.get("issuer").trim().trim_end_matches('/').to_string();
    if issuer.is_empty() || url_problem(&issuer).is_some() || issuer.contains('?') {
        errs.push(FieldError::new(
            "issuer",
            "invalid",
            "Issuer: give the provider's issuer URL, such as https://secure.login.gov (https, or http only on this \
             machine for testing; no query).",
        ));
    }
    let client_id = form.get("client_id").trim().to_string();
    if client_id.is_empty() || client_id.len() > 300 || client_id.chars().any(char::is_control) {
        errs.push(FieldError::new(
            "client_id",
            "invalid",
            "Client ID: give the client ID the provider gave this service (at most 300 characters).",
        ));
    }
    let client_auth = ClientAuth::parse(form.get("client_auth"));
    if client_auth.is_none() {
        errs.push(FieldError::new(
            "client_auth",
            "invalid",
            "Client authentication: choose how Heard proves it is this client.",
        ));
    }
    let typed = form.get("credential").trim().to_string();
    let credential = (!typed.is_empty()).then_some(typed);
    let same_kind = stored.is_some_and(|s| Some(s.client_auth) == client_auth);
    if let Some(auth) = client_auth {
        match (&credential, auth) {
            (Some(pem), ClientAuth::PrivateKeyJwt) if !usable_private_key(pem) => {
                errs.push(FieldError::new(
                    "credential",
                    "invalid",
                    "Private key or secret: paste the RSA private key in PEM, from -----BEGIN PRIVATE KEY----- (or \
                     BEGIN RSA PRIVATE KEY) to its END line.",
                ))
            }
            (Some(secret), ClientAuth::ClientSecretBasic | ClientAuth::ClientSecretPost)
                if secret.len() < 16 || secret.len() > 500 =>
            {
                errs.push(FieldError::new(
                    "credential",
                    "invalid",
                    "Private key or secret: a client secret has 16 to 500 characters.",
                ))
            }
            (None, auth) if auth.needs_credential() && !same_kind => errs.push(FieldError::new(
                "credential",
                "required",
                "Private key or secret: this client authentication needs one.",
            )),
            _ => {}
        }
    }
    let key_id = form.get("key_id").trim().to_string();
    if key_id.len() > 200 || key_id.chars().any(char::is_control) {
        errs.push(FieldError::new(
            "key_id",
            "invalid",
            "Key ID: at most 200 characters.",
        ));
    }
    let chosen = form.all("scopes");
    if chosen.is_empty() || chosen.iter().any(|c| !SCOPES.contains(c)) {
        errs.push(FieldError::new(
            "scopes",
            "required",
            "Details asked for: choose the email address, the phone number, or both.",
        ));
    }
    let acr_values = form
        .get("acr_values")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    if acr_values.len() > 500 || acr_values.chars().any(|c| c.is_control() || c == '"') {
        errs.push(FieldError::new(
            "acr_values",
            "invalid",
            "Authentication context: space-separated values, at most 500 characters.",
        ));
    }
    if !errs.is_empty() {
        return Err(errs);
    }
    let client_auth = client_auth.expect("checked above");
    Ok(Parsed {
        provider: SignInProvider {
            label,
            issuer,
            client_id,
            client_auth,
            credential_sealed: stored
                .filter(|_| same_kind && client_auth.needs_credential())
                .and_then(|s| s.credential_sealed.clone()),
            key_id: (!key_id.is_empty()).then_some(key_id),
            scopes: SCOPES
                .into_iter()
                .filter(|s| chosen.contains(s))
                .collect::<Vec<_>>()
                .join(" "),
            acr_values,
            enabled: form.get("enabled") == "on",
            updated_at: 0,
        },
        credential,
    })
}

fn view(p: &SignInProvider, zone: heard_domain::zone::Zone) -> Value {
    context! {
        label => p.label, issuer => p.issuer, client_id => p.client_id, client_auth => p.client_auth.key(),
        has_credential => p.credential_sealed.is_some(), key_id => p.key_id, scopes => p.scopes.split(' ').collect::<Vec<_>>(),
        acr_values => p.acr_values, enabled => p.enabled, updated => zone.display(p.updated_at),
    }
}

fn render(
    state: &AppState,
    m: &Admin,
    stored: Option<&SignInProvider>,
    form: Option<&FormData>,
    errs: &FieldErrors,
    saved: bool,
) -> Response {
    let value = |name: &str, stored: Option<&str>| -> String {
        form.map_or(stored.unwrap_or_default().to_string(), |f| {
            f.get(name).to_string()
        })
    };
    let scopes: Vec<String> = match (form, stored) {
        (Some(f), _) => f.all("scopes").into_iter().map(str::to_string).collect(),
        (None, Some(s)) => s.scopes.split(' ').map(str::to_string).collect(),
        (None, None) => vec!["email".into()],
    };
    let auth = form
        .map(|f| f.get("client_auth").to_string())
        .or(stored.map(|s| s.client_auth.key().to_string()))
        .unwrap_or_else(|| ClientAuth::PrivateKeyJwt.key().to_string());
    let enabled = match (form, stored) {
        (Some(f), _) => f.get("enabled") == "on",
        (None, Some(s)) => s.enabled,
        (None, None) => true,
    };
    let status = if errs.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let resp = page(
        state,
        "my_sign_in_admin.html",
        base_ctx(m, "my-sign-in"),
        context! {
            stored => stored.map(|p| view(p, m.org.time_zone)),
            redirect_uri => redirect_uri(&state.public_url, &m.org.slug),
            errors => form_errors(errs), saved => saved,
            form => context! {
                label => value("label", stored.map(|s| s.label.as_str()).or(Some("Login.gov"))),
                issuer => value("issuer", stored.map(|s| s.issuer.as_str())),
                client_id => value("client_id", stored.map(|s| s.client_id.as_str())),
                key_id => value("key_id", stored.and_then(|s| s.key_id.as_deref())),
                acr_values => value("acr_values", stored.map(|s| s.acr_values.as_str())),
                client_auth => auth, scopes => scopes, enabled => enabled,
            },
            auths => ClientAuth::ALL.into_iter().map(|a| a.key()).collect::<Vec<_>>(),
        },
    );
    (status, resp).into_response()
}

#[derive(serde::Deserialize, Default)]
pub struct PageQuery {
    #[serde(default)]
    saved: Option<String>,
}

/// `/admin/o/{org}/my-sign-in`: the provider and its form.
pub async fn show(
    State(state): State<AppState>,
    m: Admin,
    axum::extract::Query(q): axum::extract::Query<PageQuery>,
) -> AppResult<Response> {
    let stored = state.store.my_sign_in_provider(m.org_id()).await?;
    Ok(render(
        &state,
        &m,
        stored.as_ref(),
        None,
        &FieldErrors::default(),
        q.saved.is_some(),
    ))
}

/// Saves the provider, once its discovery document is read and lists the chosen client authentication.
pub async fn save(
    State(state): State<AppState>,
    m: Admin,
    AdminForm(form): AdminForm,
) -> AppResult<Response> {
    let stored = state.store.my_sign_in_provider(m.org_id()).await?;
    let parsed = match parse(&form, stored.as_ref()) {
        Ok(p) => p,
        Err(errs) => {
            return Ok(render(
                &state,
                &m,
                stored.as_ref(),
                Some(&form),
                &errs,
                false,
            ));
        }
    };
    let mut provider = parsed.provider;
    let mut errs = FieldErrors::default();
    match state.oidc.discover(&provider.issuer).await {
        Err(e) => errs.push(FieldError::new(
            "issuer",
            "unreachable",
            format!(
                "Issuer: Heard could not read {}/.well-known/openid-configuration: {e}.",
                provider.issuer
            ),
        )),
        Ok(metadata) => {
            // Discovery's default when the list is absent: client_secret_basic (OpenID Connect Discovery 1.0,
            // section 3).
            let listed: Vec<String> = metadata
                .token_endpoint_auth_methods_supported()
                .map(|l| {
                    l.iter()
                        .filter_map(|a| serde_json::to_value(a).ok())
                        .filter_map(|v| v.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_else(|| vec!["client_secret_basic".into()]);
            if !listed.iter().any(|a| a == provider.client_auth.key()) {
                errs.push(FieldError::new(
                    "client_auth",
                    "unsupported",
                    format!(
                        "Client authentication: the provider does not take {}; it takes {}.",
                        provider.client_auth.key(),
                        listed.join(", ")
                    ),
                ));
            }
            if metadata.token_endpoint().is_none() {
                errs.push(FieldError::new(
                    "issuer",
                    "no_token_endpoint",
                    "Issuer: the provider's discovery document names no token endpoint.",
                ));
            }
        }
    }
    if !errs.is_empty() {
        return Ok(render(
            &state,
            &m,
            stored.as_ref(),
            Some(&form),
            &errs,
            false,
        ));
    }
    if let Some(c) = parsed
        .credential
        .filter(|_| provider.client_auth.needs_credential())
    {
        provider.credential_sealed = Some(Sealer::new(&state.config.secret_key).seal(&c));
    }
    state
        .store
        .set_my_sign_in_provider(
            m.org_id(),
            &provider,
            Some(*m.me.user.id.as_uuid()),
            heard_store::now_ms(),
        )
        .await?;
    state.oidc.forget(m.org_id());
    tracing::info!(org = %m.org_id(), user = %m.me.user.id, issuer = %provider.issuer, "MyAgency sign-in provider saved");
    Ok(Redirect::to(&format!("/admin/o/{}/my-sign-in?saved=1", m.org_id())).into_response())
}

/// Takes the provider off.
pub async fn remove(
    State(state): State<AppState>,
    m: Admin,
    AdminForm(_): AdminForm,
) -> AppResult<Response> {
    state.store.remove_my_sign_in_provider(m.org_id()).await?;
    state.oidc.forget(m.org_id());
    tracing::info!(org = %m.org_id(), user = %m.me.user.id, "MyAgency sign-in provider removed");
    Ok(Redirect::to(&format!("/admin/o/{}/my-sign-in", m.org_id())).into_response())
}
