//! MyAgency (issue 21, item 6): a person signs in to one organization with a one-time link sent to their email
//! address or phone, and sees in one place what that organization holds keyed by that address (its person key,
//! `Sealer::person_key`): their survey responses with their own answers, their reports and messages (signals), their
//! cases with the status link, their callbacks with their page's link, newest first. They can say how they want to be
//! contacted and in which language, and withdraw consent and have their feedback deleted. English and Spanish, no
//! JavaScript.
//!
//! - `GET /my/{org}`: the person's page when signed in, else the sign-in form (one field: an email address or a
//!   mobile number).
//! - `POST /my/{org}/sign-in`: writes a link (its token derived from its id, `Sealer::link_token("my/sign-in",
//!   id)`, only its SHA-256 stored) and its `my.link` job in one transaction, and answers "check your email or
//!   phone" whether or not the address is known, and whether or not the address's budget
//!   (`heard_store::myagency::LINKS_PER_WINDOW` links in 15 minutes) let a link go. A field that is neither an email
//!   address nor a phone number is named (422). Each sign-in spends the address's MyAgency budget
//!   ([`SIGN_INS_PER_MINUTE`], 429).
//! - `GET /my/{org}/link/{token}`: a page with one button, so a mail scanner opening the link does not use it up;
//!   `POST` there opens the link once (single use, 15 minutes) and starts a person session: its own cookie
//!   ([`cookie_name`], `Path=/my/{org}`, HttpOnly, SameSite=Lax, `Secure` when the public URL is https), ending after
//!   30 minutes idle or 12 hours, entirely apart from staff sessions (a staff cookie opens nothing here, a person's
//!   opens nothing in the admin).
//! - `POST /my/{org}/sign-out`, `POST /my/{org}/preferences` (contact `email`/`sms`/`none`, language `en`/`es`),
//!   `GET/POST /my/{org}/delete` (a confirmation, then the `my.delete` job; the page then says it is under way, and
//!   done with what was deleted). Every POST of a signed-in person carries the session's CSRF token.
//!
//! - `GET /my/{org}/oidc` and `GET /my/{org}/oidc/callback`: signing in with the organization's OpenID Connect
//!   provider instead of a link, when its admins set one ([`crate::my_oidc`]); the form then offers both.
//!
//! A wrong, used or expired link, an unknown organization, and anything else that does not work get one not-found
//! page (404), the status pages' template with MyAgency's words.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use futures_util::future::BoxFuture;
use heard_domain::OrgId;
use heard_domain::identity::PersonId;
use heard_store::Store;
use heard_store::jobs::ClaimedJob;
use heard_store::myagency::{LinkChannel, NewLink, PersonSession};
use minijinja::context;
use uuid::Uuid;

use crate::auth::{ClientIp, cookie};
use crate::crypto::{Sealer, random_token, same_secret, sha256};
use crate::forms::FormData;
use crate::jobs::{Completed, JobHandler, JobRegistry};
use crate::sms_send::SmsProvider;
use crate::status::{LangQuery, languages, plain_lang, when};
use crate::{AppResult, AppState, i18n};

/// Sign-ins and wrong links per minute from one address (a budget of its own, `AppState::my_limiter`); a right
/// link is never limited, as on the status pages.
pub const SIGN_INS_PER_MINUTE: u32 = 20;

/// The MyAgency budget of a server: [`SIGN_INS_PER_MINUTE`], or none (0) when the server's submission limit is off
/// (`Config::submissions_per_minute` 0, as in tests, which make many requests from one address).
pub fn sign_ins_per_minute(config: &crate::Config) -> u32 {
    if config.submissions_per_minute == 0 {
        0
    } else {
        SIGN_INS_PER_MINUTE
    }
}
/// The purpose a sign-in link's token is derived for.
const LINK_PURPOSE: &str = "my/sign-in";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/my/{org}", get(home))
        .route("/my/{org}/sign-in", post(sign_in))
        .route("/my/{org}/link/{token}", get(confirm).post(open_link))
        .route("/my/{org}/sign-out", post(sign_out))
        .route("/my/{org}/preferences", post(preferences))
        .route("/my/{org}/delete", get(delete_form).post(delete))
        .route("/my/{org}/oidc", get(crate::my_oidc::start))
        .route("/my/{org}/oidc/callback", get(crate::my_oidc::callback))
}

/// The person session's cookie: `__Secure-heard_my` when the public URL is https, else `heard_my`. Its path is
/// `/my/{org}`, so a browser sends it only to that organization's pages.
pub fn cookie_name(state: &AppState) -> &'static str {
    if state.secure_cookies {
        "__Secure-heard_my"
    } else {
        "heard_my"
    }
}

fn set_cookie(state: &AppState, slug: &str, value: &str, max_age_secs: i64) -> String {
    let secure = if state.secure_cookies { "; Secure" } else { "" };
    format!(
        "{}={value}; Path=/my/{slug}; HttpOnly; SameSite=Lax; Max-Age={max_age_secs}{secure}",
        cookie_name(state)
    )
}

/// The token of a sign-in link: derived from its id with the server secret (URL-safe base64, 43 characters).
pub fn link_token(sealer: &Sealer, id: Uuid) -> String {
    sealer.link_token(LINK_PURPOSE, id.as_bytes())
}

/// The whole address of a sign-in link.
pub fn link_url(public_url: &str, slug: &str, token: &str) -> String {
    format!("{public_url}/my/{slug}/link/{token}")
}

/// The audit's short reference to a person key: 8 hex digits of its SHA-256.
pub fn person_ref(person_key: &str) -> String {
    crate::crypto::sha256_hex(person_key.as_bytes())[..8].to_string()
}

/// The one page for anything that does not work here (an unknown organization, a wrong, used or expired link, a
/// form without its session), status 404, in the person's language.
pub(crate) fn missing(state: &AppState, lang: &str) -> AppResult<Response> {
    let tr = i18n::strings(lang);
    let html = state.templates.render(
        "status_missing.html",
        context! { lang => lang, tr => tr, org => tr["my"]["site"], title => tr["my"]["missing_title"],
            message => tr["my"]["missing"], languages => languages(lang) },
    )?;
    Ok((StatusCode::NOT_FOUND, Html(html)).into_response())
}

/// The organization of a slug, or `None` (the caller answers 404).
async fn org_of(state: &AppState, slug: &str) -> Option<heard_store::Organization> {
    state.store.org_by_slug(slug).await.ok()
}

/// The person signed in to `org` whose cookie `headers` carry, if any.
async fn person(
    state: &AppState,
    org: OrgId,
    headers: &HeaderMap,
) -> AppResult<Option<(PersonSession, Vec<u8>)>> {
    let Some(token) = cookie(headers, cookie_name(state)) else {
        return Ok(None);
    };
    let hash = sha256(token.as_bytes()).to_vec();
    Ok(state
        .store
        .my_session(org, &hash, heard_store::now_ms())
        .await?
        .map(|s| (s, hash)))
}

pub(crate) fn tr_my(lang: &str, key: &str) -> String {
    i18n::strings(lang)["my"][key]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// A page of the `my_*.html` templates, with what every one needs.
fn render(
    state: &AppState,
    template: &str,
    lang: &str,
    org_name: &str,
    title: &str,
    status: StatusCode,
    extra: minijinja::Value,
) -> AppResult<Response> {
    let tr = i18n::strings(lang);
    let html = state.templates.render(
        template,
        context! { lang => lang, tr => tr, org => org_name, title => title, languages => languages(lang), ..extra },
    )?;
    Ok((status, Html(html)).into_response())
}

async fn sign_in_form(
    state: &AppState,
    o: &heard_store::Organization,
    lang: &str,
    typed: &str,
    error: Option<String>,
) -> AppResult<Response> {
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    form_page(state, o, lang, status, typed, error, None).await
}

/// The sign-in form with a message about signing in with the organization's OpenID Connect provider (cancelled,
/// failed, no verified address), `status` as the caller says.
pub(crate) async fn sign_in_page(
    state: &AppState,
    o: &heard_store::Organization,
    lang: &str,
    status: StatusCode,
    notice: Option<String>,
) -> AppResult<Response> {
    form_page(state, o, lang, status, "", None, notice).await
}

async fn form_page(
    state: &AppState,
    o: &heard_store::Organization,
    lang: &str,
    status: StatusCode,
    typed: &str,
    error: Option<String>,
    notice: Option<String>,
) -> AppResult<Response> {
    let provider = crate::my_oidc::offered(state, o.id).await?.map(|p| {
        context! { label => p.label, button => tr_my(lang, "oidc_button").replace("{provider}", &p.label) }
    });
    render(
        state,
        "my_sign_in.html",
        lang,
        &o.name,
        &tr_my(lang, "sign_in_title"),
        status,
        context! { slug => o.slug, typed => typed, error => error, notice => notice, provider => provider },
    )
}

/// Starts the browser's person session (`session`, the cookie's token) and sends it to the person's page.
pub(crate) fn signed_in(state: &AppState, slug: &str, session: &str, lang: &str) -> Response {
    let max_age = heard_store::myagency::SESSION_MAX_MS / 1000;
    (
        [(
            header::SET_COOKIE,
            set_cookie(state, slug, session, max_age),
        )],
        Redirect::to(&format!("/my/{slug}?lang={lang}")),
    )
        .into_response()
}

#[derive(serde::Deserialize, Default)]
pub struct HomeQuery {
    #[serde(default)]
    lang: Option<String>,
    #[serde(default)]
    saved: Option<String>,
}

async fn home(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    Query(q): Query<HomeQuery>,
    headers: HeaderMap,
) -> AppResult<Response> {
    let Some(o) = org_of(&state, &slug).await else {
        return missing(&state, &plain_lang(q.lang.as_deref(), &headers));
    };
    let Some((me, _)) = person(&state, o.id, &headers).await? else {
        let lang = plain_lang(q.lang.as_deref(), &headers);
        return sign_in_form(&state, &o, &lang, "", None).await;
    };
    let prefs = state.store.my_preferences(o.id, &me.person_key).await?;
    // The language: the one asked for, else the person's saved one, else the browser's.
    let lang = plain_lang(
        q.lang
            .as_deref()
            .or(prefs.as_ref().map(|p| p.language.as_str())),
        &headers,
    );
    let tr = i18n::strings(&lang);
    let zone = o.time_zone;
    let sealer = state.pipeline.sealer();
    // Responses with the person's own answers, in the words of the version they answered.
    let mut responses = vec![];
    for r in state.store.my_responses(o.id, &me.person_key).await? {
        let Ok(id) = r.id.to_string().parse() else {
            continue;
        };
        let stored = state.store.response(o.id, id).await?;
        let answers: Vec<_> = match state
            .store
            .survey_version(o.id, stored.survey_id, stored.survey_version)
            .await
        {
            Ok(v) => v
                .definition
                .questions
                .iter()
                .filter(|q| !q.kind.is_contact())
                .filter_map(|q| {
                    stored.answers.get(&q.id).map(|a| {
                        context! { prompt => q.prompt.get(&lang), answer => crate::labels::answer_words(Some(q), a, &lang) }
                    })
                })
                .collect(),
            Err(_) => vec![],
        };
        responses.push(context! {
            at => when(zone, r.submitted_at, &lang), survey => r.survey,
            channel => tr["my"]["channels"][&r.channel].as_str().unwrap_or(&r.channel).to_string(),
            answers => answers,
        });
    }
    let signals: Vec<_> = state
        .store
        .my_signals(o.id, &me.person_key)
        .await?
        .into_iter()
        .map(|s| {
            context! {
                at => when(zone, s.occurred_at, &lang),
                source => tr["my"]["sources"][&s.source].as_str().unwrap_or(&s.source).to_string(),
                text => crate::input::without_bidi_controls(&s.text).to_string(),
            }
        })
        .collect();
    let cases: Vec<_> = state
        .store
        .my_cases(o.id, &me.person_key)
        .await?
        .into_iter()
        .map(|c| {
            context! {
                number => c.number, opened => when(zone, c.opened_at, &lang), ended => c.ended,
                status => tr["status"]["states"][&c.status].as_str().map(str::to_string),
                href => format!("/status/{}?lang={lang}", crate::status::status_token(sealer, c.id)),
            }
        })
        .collect();
    let callbacks: Vec<_> = state
        .store
        .my_callbacks(o.id, &me.person_key)
        .await?
        .into_iter()
        .map(|c| {
            context! {
                window => c.window().display_in(zone, &lang), state => c.state().key(),
                href => format!("/callback/{}?lang={lang}", crate::callbacks::callback_token(sealer, c.id)),
            }
        })
        .collect();
    let deletion = match prefs.as_ref().and_then(|p| p.deletion_id) {
        Some(id) => state.store.my_deletion(o.id, id).await?.map(|d| {
            context! {
                requested => when(zone, d.requested_at, &lang),
                finished => d.finished_at.map(|f| when(zone, f, &lang)),
                responses => d.responses, signals => d.signals, callbacks => d.callbacks_cancelled,
            }
        }),
        None => None,
    };
    render(
        &state,
        "my_home.html",
        &lang,
        &o.name,
        &tr_my(&lang, "home_title"),
        StatusCode::OK,
        context! {
            slug => o.slug, csrf => me.csrf_token, channel => me.channel,
            responses => responses, signals => signals, cases => cases, callbacks => callbacks,
            contact => prefs.as_ref().map(|p| p.contact.clone()).unwrap_or_else(|| if me.channel == "sms" { "sms".into() } else { "email".into() }),
            language => prefs.as_ref().map(|p| p.language.clone()).unwrap_or_else(|| lang.clone()),
            saved => q.saved.is_some(), deletion => deletion,
        },
    )
}

/// The address typed, as a person id: an email address when it holds `@`, else a phone number.
fn parse_address(typed: &str) -> Option<(LinkChannel, PersonId)> {
    let typed = typed.trim();
    if typed.contains('@') {
        PersonId::email("address", typed)
            .ok()
            .map(|p| (LinkChannel::Email, p))
    } else {
        PersonId::phone("address", typed)
            .ok()
            .map(|p| (LinkChannel::Sms, p))
    }
}

async fn sign_in(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> AppResult<Response> {
    state.my_limiter.check(ip)?;
    let form = FormData::parse(&body);
    let lang = plain_lang(form.opt("lang"), &headers);
    let Some(o) = org_of(&state, &slug).await else {
        return missing(&state, &lang);
    };
    let typed = form.get("address").to_string();
    let Some((channel, id)) = parse_address(&typed) else {
        return sign_in_form(
            &state,
            &o,
            &lang,
            &typed,
            Some(tr_my(&lang, "address_invalid")),
        )
        .await;
    };
    // A way the organization cannot send is said at once (it is about the organization, not the person).
    let can_send = match channel {
        LinkChannel::Email => state.store.email_sender(o.id).await?.is_some(),
        LinkChannel::Sms => !state.store.sms_senders(o.id).await?.is_empty(),
    };
    if !can_send {
        let key = match channel {
            LinkChannel::Email => "no_email",
            LinkChannel::Sms => "no_sms",
        };
        return sign_in_form(&state, &o, &lang, &typed, Some(tr_my(&lang, key))).await;
    }
    let sealer = state.pipeline.sealer();
    let address = id
        .as_str()
        .split_once(':')
        .map_or(id.as_str(), |(_, a)| a)
        .to_string();
    let link_id = Uuid::now_v7();
    let token = link_token(sealer, link_id);
    let link = NewLink {
        id: link_id,
        token_hash: sha256(token.as_bytes()).to_vec(),
        person_key: sealer.person_key(o.id, &id).0,
        channel,
        address_sealed: sealer.seal(&address),
        language: if lang == "es" { "es" } else { "en" }.to_string(),
    };
    // Written or not (the address's budget spent), the answer is the same.
    state
        .store
        .create_my_link(o.id, &link, heard_store::now_ms())
        .await?;
    let key = match channel {
        LinkChannel::Email => "sent_email",
        LinkChannel::Sms => "sent_sms",
    };
    render(
        &state,
        "my_sent.html",
        &lang,
        &o.name,
        &tr_my(&lang, "sent_title"),
        StatusCode::OK,
        context! { slug => o.slug, message => tr_my(&lang, key) },
    )
}

/// Whether a token has the shape of a link's (43 URL-safe base64 characters), before anything is looked up.
fn token_shape(token: &str) -> bool {
    token.len() == 43
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

async fn confirm(
    State(state): State<AppState>,
    Path((slug, token)): Path<(String, String)>,
    Query(q): Query<LangQuery>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
) -> AppResult<Response> {
    let lang = plain_lang(q.lang.as_deref(), &headers);
    let o = org_of(&state, &slug).await;
    let usable = match (&o, token_shape(&token)) {
        (Some(o), true) => {
            state
                .store
                .my_link_usable(o.id, &sha256(token.as_bytes()), heard_store::now_ms())
                .await?
        }
        _ => false,
    };
    let (Some(o), true) = (o, usable) else {
        state.my_limiter.check(ip)?;
        return missing(&state, &lang);
    };
    render(
        &state,
        "my_confirm.html",
        &lang,
        &o.name,
        &tr_my(&lang, "confirm_title"),
        StatusCode::OK,
        context! { action => format!("/my/{}/link/{token}", o.slug) },
    )
}

async fn open_link(
    State(state): State<AppState>,
    Path((slug, token)): Path<(String, String)>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> AppResult<Response> {
    let form = FormData::parse(&body);
    let lang = plain_lang(form.opt("lang"), &headers);
    let Some(o) = org_of(&state, &slug).await else {
        state.my_limiter.check(ip)?;
        return missing(&state, &lang);
    };
    if !token_shape(&token) {
        state.my_limiter.check(ip)?;
        return missing(&state, &lang);
    }
    let session = random_token();
    let opened = state
        .store
        .sign_in_with_link(
            o.id,
            &sha256(token.as_bytes()),
            &sha256(session.as_bytes()),
            &random_token(),
            heard_store::now_ms(),
        )
        .await?;
    if opened.is_none() {
        state.my_limiter.check(ip)?;
        return missing(&state, &lang);
    }
    Ok(signed_in(&state, &o.slug, &session, &lang))
}

/// The signed-in person of a POST whose form carries the session's CSRF token; `None` otherwise.
async fn poster(
    state: &AppState,
    org: OrgId,
    headers: &HeaderMap,
    form: &FormData,
) -> AppResult<Option<(PersonSession, Vec<u8>)>> {
    Ok(person(state, org, headers)
        .await?
        .filter(|(s, _)| same_secret(&s.csrf_token, form.get("csrf"))))
}

async fn sign_out(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> AppResult<Response> {
    let form = FormData::parse(&body);
    let lang = plain_lang(form.opt("lang"), &headers);
    let Some(o) = org_of(&state, &slug).await else {
        return missing(&state, &lang);
    };
    if let Some((_, hash)) = poster(&state, o.id, &headers, &form).await? {
        state.store.end_my_session(o.id, &hash).await?;
    }
    Ok((
        [(header::SET_COOKIE, set_cookie(&state, &o.slug, "", 0))],
        Redirect::to(&format!("/my/{}?lang={lang}", o.slug)),
    )
        .into_response())
}

async fn preferences(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> AppResult<Response> {
    let form = FormData::parse(&body);
    let lang = plain_lang(form.opt("lang"), &headers);
    let Some(o) = org_of(&state, &slug).await else {
        return missing(&state, &lang);
    };
    let Some((me, _)) = poster(&state, o.id, &headers, &form).await? else {
        return missing(&state, &lang);
    };
    let language = form.get("language");
    match state
        .store
        .set_my_preferences(
            o.id,
            &me.person_key,
            form.get("contact"),
            language,
            heard_store::now_ms(),
        )
        .await
    {
        Ok(()) => {
            Ok(Redirect::to(&format!("/my/{}?lang={language}&saved=1", o.slug)).into_response())
        }
        Err(heard_store::StoreError::Invalid(errors)) => {
            let fields: Vec<String> = errors
                .0
                .iter()
                .map(|e| tr_my(&lang, &format!("{}_invalid", e.field)))
                .collect();
            render(
                &state,
                "my_sent.html",
                &lang,
                &o.name,
                &tr_my(&lang, "preferences_refused"),
                StatusCode::UNPROCESSABLE_ENTITY,
                context! { slug => o.slug, message => fields.join(" ") },
            )
        }
        Err(e) => Err(e.into()),
    }
}

async fn delete_form(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    Query(q): Query<LangQuery>,
    headers: HeaderMap,
) -> AppResult<Response> {
    let lang = plain_lang(q.lang.as_deref(), &headers);
    let Some(o) = org_of(&state, &slug).await else {
        return missing(&state, &lang);
    };
    let Some((me, _)) = person(&state, o.id, &headers).await? else {
        return Ok(Redirect::to(&format!("/my/{}?lang={lang}", o.slug)).into_response());
    };
    render(
        &state,
        "my_delete.html",
        &lang,
        &o.name,
        &tr_my(&lang, "delete_title"),
        StatusCode::OK,
        context! { slug => o.slug, csrf => me.csrf_token },
    )
}

async fn delete(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> AppResult<Response> {
    let form = FormData::parse(&body);
    let lang = plain_lang(form.opt("lang"), &headers);
    let Some(o) = org_of(&state, &slug).await else {
        return missing(&state, &lang);
    };
    let Some((me, _)) = poster(&state, o.id, &headers, &form).await? else {
        return missing(&state, &lang);
    };
    state
        .store
        .request_my_deletion(
            o.id,
            &me.person_key,
            &person_ref(&me.person_key),
            LinkChannel::parse(&me.channel).unwrap_or(LinkChannel::Email),
            heard_store::now_ms(),
        )
        .await?;
    Ok(Redirect::to(&format!("/my/{}?lang={lang}", o.slug)).into_response())
}

/// Registers `my.link` and `my.delete`.
pub fn register(registry: &mut JobRegistry, jobs: MyJobs) {
    registry.register(heard_store::myagency::LINK_KIND, SendLink(jobs));
    registry.register(heard_store::myagency::DELETE_KIND, DeleteFeedback);
}

/// What the `my.link` job needs: the sealer (addresses, tokens), the public URL and the SMS provider.
#[derive(Clone)]
pub struct MyJobs {
    sealer: Arc<Sealer>,
    public_url: Arc<str>,
    provider: Arc<dyn SmsProvider>,
}

impl MyJobs {
    pub fn new(secret: &[u8; 32], public_url: &str, provider: Arc<dyn SmsProvider>) -> MyJobs {
        MyJobs {
            sealer: Arc::new(Sealer::new(secret)),
            public_url: public_url.trim_end_matches('/').into(),
            provider,
        }
    }
}

/// The `my.delete` handler: `Store::delete_person_feedback` in the job's completing transaction.
pub struct DeleteFeedback;

impl JobHandler for DeleteFeedback {
    fn run<'a>(
        &'a self,
        store: &'a Store,
        job: &'a ClaimedJob,
    ) -> BoxFuture<'a, Result<Completed, String>> {
        Box::pin(async move {
            let jid = job.job.id;
            let org = job.job.org_id;
            let p = &job.job.payload;
            let deletion: Uuid = p["deletion"]
                .as_str()
                .and_then(|s| s.parse().ok())
                .ok_or_else(|| format!("job {jid}: payload has no deletion id"))?;
            let key = p["person_key"]
                .as_str()
                .ok_or_else(|| format!("job {jid}: payload has no person key"))?;
            let d = store
                .delete_person_feedback(org, deletion, key, Some(job), heard_store::now_ms())
                .await
                .map_err(|e| format!("job {jid}: {e}"))?;
            tracing::info!(org = %org, deletion = %deletion, responses = d.responses, signals = d.signals,
                callbacks = d.callbacks_cancelled, "a person's feedback deleted");
            Ok(Completed::WithEffect)
        })
    }
}

/// The `my.link` handler.
pub struct SendLink(MyJobs);

impl JobHandler for SendLink {
    fn run<'a>(
        &'a self,
        store: &'a Store,
        job: &'a ClaimedJob,
    ) -> BoxFuture<'a, Result<Completed, String>> {
        Box::pin(async move {
            let jid = job.job.id;
            self.0
                .send(store, job)
                .await
                .map_err(|e| format!("job {jid}: {e}"))
        })
    }
}

/// The message carrying a link, in the person's language.
pub fn message_text(lang: &str, org: &str, link: &str) -> String {
    tr_my(lang, "message")
        .replace("{org}", org)
        .replace("{link}", link)
}

impl MyJobs {
    async fn send(&self, store: &Store, job: &ClaimedJob) -> Result<Completed, String> {
        let org = job.job.org_id;
        let id: Uuid = job.job.payload["link"]
            .as_str()
            .and_then(|s| s.parse().ok())
            .ok_or("payload has no link id")?;
        let e = |e: heard_store::StoreError| e.to_string();
        let Some(link) = store.my_link(org, id).await.map_err(e)? else {
            return Ok(Completed::ByWorker);
        };
        let now = heard_store::now_ms();
        if link.sent_at.is_some() || link.used_at.is_some() || link.expires_at <= now {
            store
                .my_link_sent(
                    org,
                    id,
                    Some("not sent: already sent, used or expired"),
                    Some(job),
                    now,
                )
                .await
                .map_err(e)?;
            return Ok(Completed::WithEffect);
        }
        let o = store.org(org).await.map_err(e)?;
        let url = link_url(
            &self.public_url,
            &o.slug,
            &link_token(&self.sealer, link.id),
        );
        let body = message_text(&link.language, &o.name, &url);
        let to = self
            .sealer
            .open(&link.address_sealed)
            .ok_or("the sealed address cannot be opened")?;
        match link.channel.as_str() {
            "sms" => self.send_sms(store, job, link.id, &to, &body).await,
            _ => {
                self.send_email(store, job, link.id, &to, &o.name, &link.language, &body)
                    .await
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    async fn send_email(
        &self,
        store: &Store,
        job: &ClaimedJob,
        link: Uuid,
        to: &str,
        org_name: &str,
        lang: &str,
        body: &str,
    ) -> Result<Completed, String> {
        let org = job.job.org_id;
        let e = |e: heard_store::StoreError| e.to_string();
        let Some(sender) = store.email_sender(org).await.map_err(e)? else {
            store
                .my_link_sent(
                    org,
                    link,
                    Some("no email sender is set up"),
                    Some(job),
                    heard_store::now_ms(),
                )
                .await
                .map_err(e)?;
            return Ok(Completed::WithEffect);
        };
        let subject = tr_my(lang, "email_subject").replace("{org}", org_name);
        crate::outreach::send_plain(&sender, &self.sealer, to, &subject, body).await?;
        store
            .my_link_sent(org, link, None, Some(job), heard_store::now_ms())
            .await
            .map_err(e)?;
        Ok(Completed::WithEffect)
    }

    /// As `callbacks::CallbackJobs::send_sms`: recorded before the provider is called, never sent twice, nothing to
    /// a number that opted out.
    async fn send_sms(
        &self,
        store: &Store,
        job: &ClaimedJob,
        link: Uuid,
        to: &str,
        body: &str,
    ) -> Result<Completed, String> {
        let org = job.job.org_id;
        let id = *job.job.id.as_uuid();
        let e = |e: heard_store::StoreError| e.to_string();
        let not_sent = |why: &'static str| async move {
            store
                .my_link_sent(org, link, Some(why), Some(job), heard_store::now_ms())
                .await
                .map(|_| Completed::WithEffect)
                .map_err(|e| e.to_string())
        };
        if let Some(earlier) = store.sms_outbound(org, id).await.map_err(e)? {
            if earlier.status == "attempting" {
                let mut tx = store.begin().await.map_err(e)?;
                tx.settle_sms_outbound(org, id, "unknown", None, None, heard_store::now_ms())
                    .await
                    .map_err(e)?;
                tx.commit().await.map_err(e)?;
            }
            return not_sent("an earlier attempt may have sent it; not sent again").await;
        }
        let Some(first) = store.sms_senders(org).await.map_err(e)?.into_iter().next() else {
            return not_sent("no SMS number is set up").await;
        };
        let sender = store
            .sms_sender(first.id)
            .await
            .map_err(e)?
            .ok_or("the SMS number vanished")?;
        let phone_key = self
            .sealer
            .person_key(
                org,
                &PersonId::phone("phone", to).map_err(|_| "the sealed number is not a number")?,
            )
            .0;
        if store.sms_opted_out(org, &phone_key).await.map_err(e)? {
            return not_sent("the number opted out of texts (STOP)").await;
        }
        let auth_token = self
            .sealer
            .open(&sender.auth_token_sealed)
            .ok_or("the sender's sealed auth token cannot be opened")?;
        let Some(note) = crate::sms_send::send_notice(
            self.provider.as_ref(),
            store,
            job,
            &sender,
            auth_token,
            id,
            to,
            body,
            &self.public_url,
        )
        .await?
        else {
            // Waiting for the number's pacing slot: the job runs again then.
            return Ok(Completed::WithEffect);
        };
        store
            .my_link_sent(org, link, note.as_deref(), Some(job), heard_store::now_ms())
            .await
            .map_err(e)?;
        Ok(Completed::WithEffect)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_told_apart() {
        assert_eq!(
            parse_address(" Ana@Example.gov ").map(|(c, p)| (c, p.as_str().to_string())),
            Some((LinkChannel::Email, "email:ana@example.gov".to_string()))
        );
        assert!(matches!(
            parse_address("(202) 555-0143"),
            Some((LinkChannel::Sms, _))
        ));
        assert!(parse_address("ana@").is_none());
        assert!(parse_address("hello").is_none());
    }

    #[test]
    fn link_tokens_have_their_shape_and_refs_are_short() {
        let s = Sealer::new(&[7; 32]);
        let id = Uuid::now_v7();
        let t = link_token(&s, id);
        assert!(token_shape(&t), "{t}");
        assert_eq!(t, link_token(&s, id));
        assert_ne!(t, link_token(&s, Uuid::now_v7()));
        assert!(!token_shape(&t[..42]));
        assert!(!token_shape(&format!("{}/", &t[..42])));
        let r = person_ref("0123456789abcdef0123456789abcdef");
        assert_eq!(r.len(), 8);
        assert_ne!(r, person_ref("0123456789abcdef0123456789abcdee"));
    }

    #[test]
    fn messages_exist_in_both_languages() {
        for lang in ["en", "es"] {
            let m = message_text(lang, "Agency", "https://x/my/a/link/t");
            assert!(
                m.contains("Agency") && m.contains("https://x/my/a/link/t"),
                "{lang}: {m}"
            );
            assert!(!tr_my(lang, "email_subject").is_empty());
        }
    }
}
