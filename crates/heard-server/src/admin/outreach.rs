//! Outreach in the admin (issue 20, item 6): the landing page at `/admin/o/{org}/outreach`, setting up the
//! organization's senders (admins only), and previews of what people receive.
//!
//! **Senders.** An SMS sender is a Twilio number: the number (E.164), the Account SID (`AC` and 32 hex digits), the
//! auth token, sealed at rest with [`crate::crypto::Sealer`] and never shown again (editing without typing a new one
//! keeps it), the contact line HELP answers with, and its pace (messages a second); the page shows the webhook addresses to paste into Twilio. The
//! SMTP sender is host, port, TLS mode, optional login (password sealed), the `From` address and name, and optional
//! DKIM signing (selector, domain aligned with the `From` address as DMARC's relaxed rule asks, and a private key
//! sealed, checked to load as [`lettre`]'s signing key). Each form is parsed whole before anything is written; a bad
//! field gets a 422 page naming it, and the row is written in one statement. "Send a test email to me" enqueues
//! [`crate::outreach::SendTestEmail`], which sends over the saved settings by the invitations' own path.
//!
//! **Previews.** For a survey (its draft: what the author is editing), the SMS conversation in English and Spanish
//! as [`heard_channels::sms`] writes it, each message with its length, encoding (GSM-7 or UCS-2) and segments
//! (agencies pay per segment), and the segments a completed conversation costs; and the email invitation and
//! reminder in both languages as [`crate::outreach::letter`] writes them, with example links (no live token), the
//! HTML shown in a sandboxed frame served with a policy of its own (no script, no network) and as source.
//!
//! Every member may see the landing page and the previews (they hold no secret); only admins change senders.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use heard_channels::sms::{self as proto, Conversation, Encoding, Lang, Step, TrustScale};
use heard_domain::survey::A11Role;
use heard_domain::{FieldError, FieldErrors, SurveyId};
use heard_store::outreach::{EmailSender, TlsMode};
use heard_store::senders::SmsSenderUpdate;
use heard_store::sms::NewSmsSender;
use minijinja::{Value, context};
use uuid::Uuid;

use super::{base_ctx, form_errors, page};
use crate::auth::{Admin, AdminForm, Viewer};
use crate::crypto::Sealer;
use crate::forms::FormData;
use crate::{AppError, AppResult, AppState};

fn sender_id(s: &str) -> AppResult<Uuid> {
    s.parse().map_err(|_| AppError::NotFound)
}

fn sealer(state: &AppState) -> Sealer {
    Sealer::new(&state.config.secret_key)
}

/// The addresses Twilio must call for a sender: incoming messages, and delivery status callbacks.
fn webhooks(state: &AppState, id: Uuid) -> Value {
    let base = state.public_url.trim_end_matches('/');
    context! {
        inbound => format!("{base}/hooks/sms/{id}"),
        status => format!("{base}/hooks/sms/{id}/status"),
    }
}

fn with_status(mut resp: Response, status: StatusCode) -> Response {
    if resp.status().is_success() {
        *resp.status_mut() = status;
    }
    resp
}

// ------------------------------------------------------------------------------------------------------------------
// Landing
// ------------------------------------------------------------------------------------------------------------------

/// `/admin/o/{org}/outreach`: the senders in short, and the ways to the rest of outreach.
pub async fn landing(State(state): State<AppState>, m: Viewer) -> AppResult<Response> {
    let sms: Vec<Value> = state
        .store
        .sms_senders(m.org_id())
        .await?
        .into_iter()
        .map(|s| {
            context! { id => s.id.to_string(), phone_number => s.phone_number, account_sid => s.account_sid,
            help_contact => s.help_contact, messages_per_second => s.messages_per_second, hooks => webhooks(&state, s.id) }
        })
        .collect();
    let email = state.store.email_sender(m.org_id()).await?.map(|e| {
        context! { host => e.host, port => e.port, tls => tls_label(e.tls), from_address => e.from_address,
        from_name => e.from_name, dkim => e.dkim_key_sealed.is_some(), dkim_domain => e.dkim_domain,
        login => e.username.is_some() }
    });
    Ok(page(
        &state,
        "outreach.html",
        base_ctx(&m, "outreach"),
        context! { sms_senders => sms, email_sender => email },
    ))
}

fn tls_label(t: TlsMode) -> &'static str {
    match t {
        TlsMode::Tls => "TLS from the start (usually port 465)",
        TlsMode::StartTls => "STARTTLS, required (usually port 587)",
        TlsMode::None => "No encryption (a relay on this machine only)",
    }
}

// ------------------------------------------------------------------------------------------------------------------
// SMS senders
// ------------------------------------------------------------------------------------------------------------------

/// A sending number's settings as typed, parsed. `auth_token` is `None` when left empty (an edit keeps the token).
struct SmsForm {
    phone_number: String,
    account_sid: String,
    auth_token: Option<String>,
    help_contact: String,
    messages_per_second: i32,
}

/// E.164: `+`, a country code and number, 8 to 15 digits in all, the first not 0 (ITU-T E.164). Spaces, dashes,
/// dots and brackets are allowed between digits and dropped.
fn parse_e164(s: &str) -> Option<String> {
    let t = s.trim();
    let rest = t.strip_prefix('+')?;
    if !rest
        .chars()
        .all(|c| c.is_ascii_digit() || " -.()".contains(c))
    {
        return None;
    }
    let digits: String = rest.chars().filter(char::is_ascii_digit).collect();
    ((8..=15).contains(&digits.len()) && !digits.starts_with('0')).then(|| format!("+{digits}"))
}

/// Twilio's Account SID: `AC` and 32 hexadecimal digits.
fn is_account_sid(s: &str) -> bool {
    s.len() == 34 && s.starts_with("AC") && s[2..].chars().all(|c| c.is_ascii_hexdigit())
}

fn single_line(s: &str) -> bool {
    !s.chars().any(char::is_control)
}

fn parse_sms_form(form: &FormData, token_required: bool) -> Result<SmsForm, FieldErrors> {
    let mut errs = FieldErrors::default();
    let phone_number = parse_e164(form.get("phone_number")).unwrap_or_else(|| {
        errs.push(FieldError::new(
            "phone_number",
            "invalid_phone",
            "Phone number: write the Twilio number in E.164 form, a + and the country code, such as +12025550123.",
        ));
        String::new()
    });
    let account_sid = form.get("account_sid").trim().to_string();
    if !is_account_sid(&account_sid) {
        errs.push(FieldError::new(
            "account_sid",
            "invalid_account_sid",
            "Account SID: copy it from the Twilio console; it is AC followed by 32 letters a-f and digits.",
        ));
    }
    let token = form.get("auth_token").trim();
    let auth_token = if token.is_empty() {
        if token_required {
            errs.push(FieldError::new(
                "auth_token",
                "required",
                "Auth token: copy it from the Twilio console (Heard checks every message Twilio sends with it).",
            ));
        }
        None
    } else if !(16..=128).contains(&token.len()) || !token.chars().all(|c| c.is_ascii_graphic()) {
        errs.push(FieldError::new(
            "auth_token",
            "invalid_auth_token",
            "Auth token: 16 to 128 letters, digits or symbols without spaces, as the Twilio console shows it.",
        ));
        None
    } else {
        Some(token.to_string())
    };
    let help_contact = form.get("help_contact").trim().to_string();
    if help_contact.is_empty() || help_contact.chars().count() > 100 || !single_line(&help_contact)
    {
        errs.push(FieldError::new(
            "help_contact",
            "invalid_help_contact",
            "Contact line for HELP: one line of at most 100 characters, such as a phone number or a web address where people get help.",
        ));
    }
    let messages_per_second = match form.get("messages_per_second").trim() {
        "" => 1,
        t => t.parse::<i32>().ok().filter(|n| (1..=100).contains(n)).unwrap_or_else(|| {
            errs.push(FieldError::new(
                "messages_per_second",
                "invalid_messages_per_second",
                "Messages a second: a whole number from 1 to 100; Twilio's ordinary numbers take 1, toll-free 3, short codes up to 100.",
            ));
            1
        }),
    };
    if errs.is_empty() {
        Ok(SmsForm {
            phone_number,
            account_sid,
            auth_token,
            help_contact,
            messages_per_second,
        })
    } else {
        Err(errs)
    }
}

/// The number is not already another sender of this organization's.
async fn check_number_free(
    state: &AppState,
    m: &Admin,
    phone: &str,
    except: Option<Uuid>,
) -> AppResult<Option<FieldErrors>> {
    let taken = state
        .store
        .sms_senders(m.org_id())
        .await?
        .into_iter()
        .any(|s| s.phone_number == phone && Some(s.id) != except);
    Ok(taken.then(|| {
        FieldErrors::single(
            "phone_number",
            "number_taken",
            "Phone number: this number is already set up here; edit that sender instead.",
        )
    }))
}

fn render_sms(
    state: &AppState,
    m: &Admin,
    existing: Option<&heard_store::senders::SmsSenderSettings>,
    form: Option<&FormData>,
    errs: &FieldErrors,
    saved: bool,
    status: StatusCode,
) -> Response {
    let value = |name: &str, stored: Option<&str>| -> String {
        match form {
            Some(f) => f.get(name).to_string(),
            None => stored.unwrap_or_default().to_string(),
        }
    };
    let sender = existing.map(|s| context! { id => s.id.to_string(), hooks => webhooks(state, s.id), created_at => s.created_at });
    let resp = page(
        state,
        "outreach_sms.html",
        base_ctx(m, "outreach"),
        context! {
            sender => sender,
            saved => saved,
            errors => form_errors(errs),
            form => context! {
                phone_number => value("phone_number", existing.map(|s| s.phone_number.as_str())),
                account_sid => value("account_sid", existing.map(|s| s.account_sid.as_str())),
                help_contact => value("help_contact", existing.map(|s| s.help_contact.as_str())),
                messages_per_second => value("messages_per_second", Some(existing.map_or("1".to_string(), |s| s.messages_per_second.to_string()).as_str())),
            },
        },
    );
    with_status(resp, status)
}

/// The form for a new sending number.
pub async fn sms_new_form(State(state): State<AppState>, m: Admin) -> AppResult<Response> {
    Ok(render_sms(
        &state,
        &m,
        None,
        None,
        &FieldErrors::default(),
        false,
        StatusCode::OK,
    ))
}

/// Creates a sending number; its token is sealed before it is stored.
pub async fn sms_create(
    State(state): State<AppState>,
    m: Admin,
    AdminForm(form): AdminForm,
) -> AppResult<Response> {
    let parsed = match parse_sms_form(&form, true) {
        Ok(p) => p,
        Err(errs) => {
            return Ok(render_sms(
                &state,
                &m,
                None,
                Some(&form),
                &errs,
                false,
                StatusCode::UNPROCESSABLE_ENTITY,
            ));
        }
    };
    if let Some(errs) = check_number_free(&state, &m, &parsed.phone_number, None).await? {
        return Ok(render_sms(
            &state,
            &m,
            None,
            Some(&form),
            &errs,
            false,
            StatusCode::UNPROCESSABLE_ENTITY,
        ));
    }
    let token = parsed.auth_token.unwrap_or_default();
    let id = state
        .store
        .create_paced_sms_sender(
            m.org_id(),
            &NewSmsSender {
                phone_number: parsed.phone_number,
                account_sid: parsed.account_sid,
                auth_token_sealed: sealer(&state).seal(&token),
                help_contact: parsed.help_contact,
            },
            parsed.messages_per_second,
            heard_store::now_ms(),
        )
        .await?;
    tracing::info!(org = %m.org_id(), sender = %id, user = %m.me.user.id, "SMS sender set up");
    Ok(Redirect::to(&format!(
        "/admin/o/{}/outreach/sms/{id}?saved=1",
        m.org_id()
    ))
    .into_response())
}

#[derive(serde::Deserialize, Default)]
pub struct SavedQuery {
    #[serde(default)]
    saved: Option<String>,
    #[serde(default)]
    test: Option<String>,
}

/// A sending number's page: its settings (the token never shown) and its webhook addresses.
pub async fn sms_edit_form(
    State(state): State<AppState>,
    m: Admin,
    Path((_, id)): Path<(String, String)>,
    Query(q): Query<SavedQuery>,
) -> AppResult<Response> {
    let s = state
        .store
        .org_sms_sender(m.org_id(), sender_id(&id)?)
        .await?;
    Ok(render_sms(
        &state,
        &m,
        Some(&s),
        None,
        &FieldErrors::default(),
        q.saved.is_some(),
        StatusCode::OK,
    ))
}

/// Changes a sending number; an empty token field keeps the stored token.
pub async fn sms_update(
    State(state): State<AppState>,
    m: Admin,
    Path((_, id)): Path<(String, String)>,
    AdminForm(form): AdminForm,
) -> AppResult<Response> {
    let existing = state
        .store
        .org_sms_sender(m.org_id(), sender_id(&id)?)
        .await?;
    let parsed = match parse_sms_form(&form, false) {
        Ok(p) => p,
        Err(errs) => {
            return Ok(render_sms(
                &state,
                &m,
                Some(&existing),
                Some(&form),
                &errs,
                false,
                StatusCode::UNPROCESSABLE_ENTITY,
            ));
        }
    };
    if let Some(errs) =
        check_number_free(&state, &m, &parsed.phone_number, Some(existing.id)).await?
    {
        return Ok(render_sms(
            &state,
            &m,
            Some(&existing),
            Some(&form),
            &errs,
            false,
            StatusCode::UNPROCESSABLE_ENTITY,
        ));
    }
    let seal = sealer(&state);
    state
        .store
        .update_sms_sender(
            m.org_id(),
            existing.id,
            &SmsSenderUpdate {
                phone_number: parsed.phone_number,
                account_sid: parsed.account_sid,
                auth_token_sealed: parsed.auth_token.map(|t| seal.seal(&t)),
                help_contact: parsed.help_contact,
                messages_per_second: parsed.messages_per_second,
            },
        )
        .await?;
    tracing::info!(org = %m.org_id(), sender = %existing.id, user = %m.me.user.id, "SMS sender changed");
    Ok(Redirect::to(&format!(
        "/admin/o/{}/outreach/sms/{}?saved=1",
        m.org_id(),
        existing.id
    ))
    .into_response())
}

// ------------------------------------------------------------------------------------------------------------------
// The SMTP sender
// ------------------------------------------------------------------------------------------------------------------

/// A host name (letters, digits and hyphens in dot-separated labels of at most 63) or an IP address.
fn is_host(s: &str) -> bool {
    if s.parse::<std::net::IpAddr>().is_ok() {
        return true;
    }
    !s.is_empty()
        && s.len() <= 253
        && s.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
}

fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// `domain` is `from`'s domain or a parent of it (DMARC's relaxed alignment, RFC 7489 §3.1.1, simplified to
/// suffixes: the organizational domain needs the public suffix list, which Heard does not ship).
fn aligned(domain: &str, from: &str) -> bool {
    let from_domain = from.rsplit('@').next().unwrap_or("").to_ascii_lowercase();
    let d = domain.to_ascii_lowercase();
    from_domain == d || from_domain.ends_with(&format!(".{d}"))
}

/// Parses the SMTP form against what is stored (an empty password or key field keeps the stored one). The new
/// settings come back with their secrets sealed.
fn parse_email_form(
    form: &FormData,
    stored: Option<&EmailSender>,
    seal: &Sealer,
) -> Result<EmailSender, FieldErrors> {
    let mut errs = FieldErrors::default();
    let host = form.get("host").trim().to_string();
    if !is_host(&host) {
        errs.push(FieldError::new(
            "host",
            "invalid_host",
            "SMTP server: a host name such as smtp.agency.gov, or an IP address.",
        ));
    }
    let port = match form.get("port").trim().parse::<u16>() {
        Ok(p) if p > 0 => p,
        _ => {
            errs.push(FieldError::new(
                "port",
                "invalid_port",
                "Port: a whole number from 1 to 65535, usually 587 (STARTTLS) or 465 (TLS).",
            ));
            0
        }
    };
    let tls = TlsMode::parse(form.get("tls_mode")).unwrap_or_else(|| {
        errs.push(FieldError::new(
            "tls_mode",
            "invalid_tls_mode",
            "Encryption: choose TLS, STARTTLS or none.",
        ));
        TlsMode::StartTls
    });
    let username = Some(form.get("username").trim().to_string()).filter(|u| !u.is_empty());
    if username
        .as_deref()
        .is_some_and(|u| u.chars().count() > 200 || !single_line(u))
    {
        errs.push(FieldError::new(
            "username",
            "invalid_username",
            "User name: one line of at most 200 characters.",
        ));
    }
    let typed_password = form.get("password");
    let password_sealed = match &username {
        None => None,
        Some(_) if !typed_password.is_empty() => {
            if typed_password.chars().count() > 500 || !single_line(typed_password) {
                errs.push(FieldError::new(
                    "password",
                    "invalid_password",
                    "Password: one line of at most 500 characters.",
                ));
                None
            } else {
                Some(seal.seal(typed_password))
            }
        }
        Some(_) => match stored.and_then(|s| s.password_sealed.clone()) {
            Some(p) => Some(p),
            None => {
                errs.push(FieldError::new(
                    "password",
                    "required",
                    "Password: give the password for this user name (or leave the user name empty if the server needs no login).",
                ));
                None
            }
        },
    };
    if tls == TlsMode::None && password_sealed.is_some() && !is_loopback(&host) {
        errs.push(FieldError::new(
            "tls_mode",
            "cleartext_password",
            "Encryption: a password may go unencrypted only to a relay on this machine (localhost); choose TLS or STARTTLS.",
        ));
    }
    let from_address = form.get("from_address").trim().to_string();
    if from_address.len() > 254 || from_address.parse::<lettre::Address>().is_err() {
        errs.push(FieldError::new(
            "from_address",
            "invalid_email",
            "From address: an email address such as feedback@agency.gov.",
        ));
    }
    let from_name = Some(form.get("from_name").trim().to_string()).filter(|n| !n.is_empty());
    if from_name
        .as_deref()
        .is_some_and(|n| n.chars().count() > 100 || !single_line(n))
    {
        errs.push(FieldError::new(
            "from_name",
            "invalid_from_name",
            "From name: one line of at most 100 characters.",
        ));
    }
    let selector = form.get("dkim_selector").trim().to_string();
    let domain = form.get("dkim_domain").trim().to_string();
    let key = form.get("dkim_key").trim();
    let (dkim_selector, dkim_domain, dkim_key_sealed) = if selector.is_empty()
        && domain.is_empty()
        && key.is_empty()
    {
        (None, None, None)
    } else {
        if !is_host(&selector) || selector.parse::<std::net::IpAddr>().is_ok() {
            errs.push(FieldError::new(
                    "dkim_selector",
                    "invalid_dkim_selector",
                    "DKIM selector: the name the key is published under in DNS, such as heard2026 (letters, digits, hyphens and dots).",
                ));
        }
        if !is_host(&domain) || !domain.contains('.') {
            errs.push(FieldError::new(
                "dkim_domain",
                "invalid_dkim_domain",
                "DKIM domain: the domain that signs, such as agency.gov.",
            ));
        } else if errs.0.iter().all(|e| e.field != "from_address")
            && !aligned(&domain, &from_address)
        {
            errs.push(FieldError::new(
                    "dkim_domain",
                    "dkim_not_aligned",
                    "DKIM domain: it must be the From address's domain or a parent of it, or receivers' DMARC checks fail.",
                ));
        }
        let sealed = if key.is_empty() {
            match stored.and_then(|s| s.dkim_key_sealed.clone()) {
                Some(k) => Some(k),
                None => {
                    errs.push(FieldError::new(
                        "dkim_key",
                        "required",
                        "DKIM private key: paste the private key whose public half is in DNS.",
                    ));
                    None
                }
            }
        } else {
            match crate::outreach::dkim_key_text(key) {
                Ok(text) => Some(seal.seal(&text)),
                Err(why) => {
                    errs.push(FieldError::new(
                        "dkim_key",
                        "invalid_dkim_key",
                        format!("DKIM private key: {why}"),
                    ));
                    None
                }
            }
        };
        (Some(selector), Some(domain), sealed)
    };
    if !errs.is_empty() {
        return Err(errs);
    }
    Ok(EmailSender {
        host,
        port,
        tls,
        username,
        password_sealed,
        from_address,
        from_name,
        dkim_selector,
        dkim_domain,
        dkim_key_sealed,
    })
}

#[allow(clippy::too_many_arguments)]
fn render_email(
    state: &AppState,
    m: &Admin,
    stored: Option<&EmailSender>,
    form: Option<&FormData>,
    errs: &FieldErrors,
    saved: bool,
    test_sent: bool,
    status: StatusCode,
) -> Response {
    let value = |name: &str, from_stored: Option<String>| -> String {
        match form {
            Some(f) => f.get(name).to_string(),
            None => from_stored.unwrap_or_default(),
        }
    };
    let s = stored;
    let resp = page(
        state,
        "outreach_email.html",
        base_ctx(m, "outreach"),
        context! {
            saved => saved,
            test_sent => test_sent.then(|| m.me.user.email.clone()),
            exists => s.is_some(),
            password_set => s.is_some_and(|s| s.password_sealed.is_some()),
            dkim_key_set => s.is_some_and(|s| s.dkim_key_sealed.is_some()),
            errors => form_errors(errs),
            form => context! {
                host => value("host", s.map(|s| s.host.clone())),
                port => value("port", Some(s.map_or(587, |s| s.port).to_string())),
                tls_mode => value("tls_mode", Some(s.map_or("starttls", |s| s.tls.key()).to_string())),
                username => value("username", s.and_then(|s| s.username.clone())),
                from_address => value("from_address", s.map(|s| s.from_address.clone())),
                from_name => value("from_name", s.and_then(|s| s.from_name.clone())),
                dkim_selector => value("dkim_selector", s.and_then(|s| s.dkim_selector.clone())),
                dkim_domain => value("dkim_domain", s.and_then(|s| s.dkim_domain.clone())),
            },
            tls_modes => [
                context! { key => "starttls", label => tls_label(TlsMode::StartTls) },
                context! { key => "tls", label => tls_label(TlsMode::Tls) },
                context! { key => "none", label => tls_label(TlsMode::None) },
            ],
        },
    );
    with_status(resp, status)
}

/// The SMTP sender's form, with what is set (secrets only as "set").
pub async fn email_form(
    State(state): State<AppState>,
    m: Admin,
    Query(q): Query<SavedQuery>,
) -> AppResult<Response> {
    let stored = state.store.email_sender(m.org_id()).await?;
    Ok(render_email(
        &state,
        &m,
        stored.as_ref(),
        None,
        &FieldErrors::default(),
        q.saved.is_some(),
        q.test.is_some(),
        StatusCode::OK,
    ))
}

/// Sets the SMTP sender, all of it or nothing.
pub async fn email_save(
    State(state): State<AppState>,
    m: Admin,
    AdminForm(form): AdminForm,
) -> AppResult<Response> {
    let stored = state.store.email_sender(m.org_id()).await?;
    match parse_email_form(&form, stored.as_ref(), &sealer(&state)) {
        Err(errs) => Ok(render_email(
            &state,
            &m,
            stored.as_ref(),
            Some(&form),
            &errs,
            false,
            false,
            StatusCode::UNPROCESSABLE_ENTITY,
        )),
        Ok(sender) => {
            state
                .store
                .set_email_sender(m.org_id(), &sender, heard_store::now_ms())
                .await?;
            tracing::info!(org = %m.org_id(), user = %m.me.user.id, "SMTP sender set");
            Ok(
                Redirect::to(&format!("/admin/o/{}/outreach/email?saved=1", m.org_id()))
                    .into_response(),
            )
        }
    }
}

/// Queues a test email to the signed-in admin over the organization's SMTP sender (the `email.test` job, sent
/// by the real path); the email page then says where it went and that the Jobs page tells why if it fails.
pub async fn email_test(
    State(state): State<AppState>,
    m: Admin,
    AdminForm(_): AdminForm,
) -> AppResult<Response> {
    if state.store.email_sender(m.org_id()).await?.is_none() {
        return Err(AppError::Invalid(FieldErrors::single(
            "host",
            "no_sender",
            "Set up the email sender before sending a test email.",
        )));
    }
    state
        .store
        .enqueue(heard_store::jobs::NewJob {
            org_id: m.org_id(),
            kind: crate::outreach::TEST_KIND.into(),
            payload: serde_json::json!({ "user": m.me.user.id.to_string() }),
            dedupe_key: None,
            run_at: None,
            max_attempts: 1,
        })
        .await?;
    Ok(Redirect::to(&format!("/admin/o/{}/outreach/email?test=1", m.org_id())).into_response())
}

// ------------------------------------------------------------------------------------------------------------------
// Previews
// ------------------------------------------------------------------------------------------------------------------

#[derive(serde::Deserialize, Default)]
pub struct PreviewQuery {
    #[serde(default)]
    survey: Option<String>,
    #[serde(default)]
    sender: Option<String>,
}

/// One message as the preview shows it.
#[derive(serde::Serialize)]
struct MessageView {
    label: &'static str,
    text: String,
    chars: usize,
    encoding: &'static str,
    units: usize,
    unit_name: &'static str,
    segments: usize,
    /// The characters that make it UCS-2, each once, in order and quoted (“ó” “á”); empty for GSM-7.
    not_gsm: String,
}

fn message(label: &'static str, text: String) -> MessageView {
    let s = proto::segments(&text);
    let mut chars: Vec<char> = Vec::new();
    for c in text.chars() {
        if proto::gsm7_septets(c).is_none() && !chars.contains(&c) {
            chars.push(c);
        }
    }
    let not_gsm = chars
        .iter()
        .map(|c| format!("“{c}”"))
        .collect::<Vec<_>>()
        .join(" ");
    MessageView {
        label,
        chars: text.chars().count(),
        encoding: match s.encoding {
            Encoding::Gsm7 => "GSM-7",
            Encoding::Ucs2 => "UCS-2",
        },
        units: s.units,
        unit_name: match s.encoding {
            Encoding::Gsm7 => "septets",
            Encoding::Ucs2 => "UTF-16 units",
        },
        segments: s.segments,
        not_gsm,
        text,
    }
}

/// What one language's conversation sends, every message in order, and what a completed one costs per scale.
#[derive(serde::Serialize)]
pub(crate) struct ConversationPreview {
    lang: &'static str,
    language: &'static str,
    messages: Vec<MessageView>,
    /// Segments sent in a conversation answered to the end: opening, what-happened question, comment prompt,
    /// thank-you. (1-5 scale, YES/NO scale.)
    completed_one_to_five: usize,
    completed_yes_no: usize,
}

/// The conversation `heard_channels::sms` holds with a person, in `lang`, for a survey whose trust statement is
/// `statement`.
pub(crate) fn conversation_preview(
    lang: Lang,
    org_name: &str,
    statement: &str,
    help_contact: &str,
) -> ConversationPreview {
    let start = |scale| Conversation::start(lang, scale);
    let at = |step| Conversation {
        step,
        ..start(TrustScale::OneToFive)
    };
    // A reply that makes no sense, at the first try and after the last re-prompt.
    let reprompt = |scale| start(scale).reply("?", statement).reply;
    let closing = Conversation {
        reprompts: proto::MAX_REPROMPTS,
        ..start(TrustScale::OneToFive)
    }
    .reply("?", statement)
    .reply;
    let opening_five = message(
        "Opening, trust on the 1-5 scale",
        start(TrustScale::OneToFive).opening(org_name, statement),
    );
    let opening_yes_no = message(
        "Opening, trust as YES or NO",
        start(TrustScale::YesNo).opening(org_name, statement),
    );
    let what = message(
        "What went well or didn't",
        at(Step::WhatHappened).question(statement),
    );
    let comment = message("Comment prompt", at(Step::Comment).question(statement));
    let thanks = message("Thank-you", at(Step::Done).question(statement));
    let rest = what.segments + comment.segments + thanks.segments;
    let (completed_one_to_five, completed_yes_no) =
        (opening_five.segments + rest, opening_yes_no.segments + rest);
    let messages = vec![
        opening_five,
        opening_yes_no,
        message(
            "Re-prompt, 1-5 scale (a reply that makes no sense)",
            reprompt(TrustScale::OneToFive),
        ),
        message("Re-prompt, YES or NO", reprompt(TrustScale::YesNo)),
        what,
        comment,
        thanks,
        message("Closing after two re-prompts", closing),
        message("Answer to STOP", proto::opt_out_reply(lang, org_name)),
        message("Answer to START", proto::opt_in_reply(lang, org_name)),
        message(
            "Answer to HELP",
            proto::help_reply(lang, org_name, help_contact),
        ),
    ];
    ConversationPreview {
        lang: lang.code(),
        language: match lang {
            Lang::En => "English",
            Lang::Es => "Spanish",
        },
        messages,
        completed_one_to_five,
        completed_yes_no,
    }
}

/// The survey's trust statement in `lang` (what the SMS conversation quotes), from its draft.
pub(crate) fn trust_statement(def: &heard_domain::survey::SurveyDefinition, lang: Lang) -> String {
    def.question_with_role(A11Role::Trust)
        .map(|q| q.prompt.get(lang.code()).to_string())
        .unwrap_or_default()
}

/// The example links a preview's emails carry: no token, nothing live.
fn example_links(state: &AppState) -> (String, String) {
    let base = state.public_url.trim_end_matches('/');
    (
        format!("{base}/o/example-link"),
        format!("{base}/o/unsubscribe/example/example-link"),
    )
}

/// The policy for a page that frames the email preview: the admin's own, with frames from this origin allowed.
fn framing_csp() -> HeaderValue {
    HeaderValue::from_str(&format!("{}; frame-src 'self'", crate::security::CSP))
        .unwrap_or(HeaderValue::from_static(crate::security::CSP))
}

/// `/admin/o/{org}/outreach/preview?survey=...`: the SMS conversation and the emails, in English and Spanish.
pub async fn preview(
    State(state): State<AppState>,
    m: Viewer,
    Query(q): Query<PreviewQuery>,
) -> AppResult<Response> {
    let org = m.org_id();
    let surveys = state.store.surveys(org, None).await?;
    let chosen: Option<SurveyId> = match q.survey.as_deref().filter(|s| !s.is_empty()) {
        Some(s) => Some(s.parse().map_err(|_| AppError::NotFound)?),
        None => surveys.first().map(|s| s.id),
    };
    let survey = match chosen {
        Some(id) => Some(state.store.survey(org, id).await?),
        None => None,
    };
    let senders = state.store.sms_senders(org).await?;
    let sender = match q.sender.as_deref().filter(|s| !s.is_empty()) {
        Some(s) => {
            let id = sender_id(s)?;
            Some(
                senders
                    .iter()
                    .find(|x| x.id == id)
                    .ok_or(AppError::NotFound)?,
            )
        }
        None => senders.first(),
    };
    let help_contact = sender.map_or("(your contact line)", |s| s.help_contact.as_str());
    let conversations: Vec<ConversationPreview> = survey
        .as_ref()
        .map(|s| {
            [Lang::En, Lang::Es]
                .into_iter()
                .map(|l| {
                    conversation_preview(
                        l,
                        &m.org.name,
                        &trust_statement(&s.draft, l),
                        help_contact,
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    let has_trust = survey
        .as_ref()
        .is_some_and(|s| s.draft.question_with_role(A11Role::Trust).is_some());
    let (survey_url, unsubscribe_url) = example_links(&state);
    let emails: Vec<Value> = [("en", "English"), ("es", "Spanish")]
        .into_iter()
        .flat_map(|(lang, language)| {
            [false, true].into_iter().map(move |reminder| (lang, language, reminder))
        })
        .map(|(lang, language, reminder)| {
            let l = crate::outreach::letter(lang, &m.org.name, &survey_url, &unsubscribe_url, reminder);
            context! { lang => lang, language => language, reminder => reminder, subject => l.subject, text => l.text, html => l.html,
                id => format!("{}-{lang}", if reminder { "reminder" } else { "invitation" }) }
        })
        .collect();
    let mut resp = page(
        &state,
        "outreach_preview.html",
        base_ctx(&m, "outreach"),
        context! {
            surveys => surveys.iter().map(|s| context!{ id => s.id.to_string(), name => s.name }).collect::<Vec<_>>(),
            survey => survey.as_ref().map(|s| context!{ id => s.id.to_string(), name => s.name, published_version => s.published_version }),
            has_trust => has_trust,
            senders => senders.iter().map(|s| context!{ id => s.id.to_string(), phone_number => s.phone_number }).collect::<Vec<_>>(),
            sender => sender.map(|s| s.id.to_string()),
            conversations => Value::from_serialize(&conversations),
            emails => emails,
        },
    );
    resp.headers_mut()
        .insert(header::CONTENT_SECURITY_POLICY, framing_csp());
    Ok(resp)
}

#[derive(serde::Deserialize)]
pub struct EmailPreviewQuery {
    lang: String,
    #[serde(default)]
    reminder: Option<String>,
}

/// The email's HTML alone, for the preview's frame: served with a policy that allows its inline styles and nothing
/// else (no script, no network, a sandbox), framed only by this origin.
pub async fn preview_email_html(
    State(state): State<AppState>,
    m: Viewer,
    Query(q): Query<EmailPreviewQuery>,
) -> AppResult<Response> {
    let lang = if q.lang == "es" { "es" } else { "en" };
    let reminder = q.reminder.as_deref() == Some("1");
    let (survey_url, unsubscribe_url) = example_links(&state);
    let l = crate::outreach::letter(lang, &m.org.name, &survey_url, &unsubscribe_url, reminder);
    let mut resp = Html(l.html).into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; \
             frame-ancestors 'self'; sandbox",
        ),
    );
    h.insert(
        header::X_FRAME_OPTIONS,
        HeaderValue::from_static("SAMEORIGIN"),
    );
    Ok(resp)
}

/// What the survey editor shows of SMS length: the opening message's segments in each language and scale.
pub(crate) fn opening_segments(
    def: &heard_domain::survey::SurveyDefinition,
    org_name: &str,
) -> Option<Value> {
    def.question_with_role(A11Role::Trust)?;
    let rows: Vec<Value> = [Lang::En, Lang::Es]
        .into_iter()
        .map(|lang| {
            let statement = trust_statement(def, lang);
            let five = message(
                "",
                Conversation::start(lang, TrustScale::OneToFive).opening(org_name, &statement),
            );
            let yes_no = message(
                "",
                Conversation::start(lang, TrustScale::YesNo).opening(org_name, &statement),
            );
            context! { language => if lang == Lang::Es { "Spanish" } else { "English" },
            five => Value::from_serialize(&five), yes_no => Value::from_serialize(&yes_no) }
        })
        .collect();
    Some(Value::from(rows))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phone_numbers_are_e164() {
        assert_eq!(
            parse_e164("+1 202-555-0123").as_deref(),
            Some("+12025550123")
        );
        assert_eq!(
            parse_e164("+44 20 7946 0958").as_deref(),
            Some("+442079460958")
        );
        assert_eq!(parse_e164("202-555-0123"), None, "no country code");
        assert_eq!(
            parse_e164("+0123456789"),
            None,
            "country codes do not start with 0"
        );
        assert_eq!(parse_e164("+1234567"), None, "too short");
        assert_eq!(parse_e164("+1234567890123456"), None, "too long");
        assert_eq!(parse_e164("+1 202 555 O123"), None, "a letter");
    }

    #[test]
    fn account_sids_are_ac_and_32_hex_digits() {
        assert!(is_account_sid("AC0123456789abcdef0123456789abcdef"));
        assert!(!is_account_sid("AC0123456789abcdef0123456789abcde"));
        assert!(!is_account_sid("SK0123456789abcdef0123456789abcdef"));
        assert!(!is_account_sid("AC0123456789abcdef0123456789abcdeg"));
    }

    #[test]
    fn dkim_domains_align_with_the_from_address() {
        assert!(aligned("agency.gov", "feedback@agency.gov"));
        assert!(aligned("agency.gov", "feedback@mail.agency.gov"));
        assert!(!aligned("agency.gov", "feedback@otheragency.gov"));
        assert!(!aligned("mail.agency.gov", "feedback@agency.gov"));
    }

    #[test]
    fn a_completed_conversation_costs_its_four_messages() {
        let p = conversation_preview(
            Lang::Es,
            "Agencia",
            "Confío en esta agencia.",
            "1-800-555-0100",
        );
        let sum = |labels: &[&str]| -> usize {
            p.messages
                .iter()
                .filter(|m| labels.contains(&m.label))
                .map(|m| m.segments)
                .sum()
        };
        assert_eq!(
            p.completed_one_to_five,
            sum(&[
                "Opening, trust on the 1-5 scale",
                "What went well or didn't",
                "Comment prompt",
                "Thank-you"
            ])
        );
        let what = p
            .messages
            .iter()
            .find(|m| m.label == "What went well or didn't")
            .unwrap();
        assert_eq!(what.encoding, "UCS-2");
        assert!(what.not_gsm.contains('ó'), "{}", what.not_gsm);
        assert!(!what.not_gsm.contains('¿'), "¿ is in GSM-7");
    }
}
