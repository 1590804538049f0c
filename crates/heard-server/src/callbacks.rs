//! Callbacks (issue 21, item 3), the person's side and the jobs. Staff's queue is `admin::callbacks`.
//!
//! - `GET/POST /status/{token}/callback`: ask for a call about a case, from its status page.
//! - `GET/POST /s/{org}/callback/{token}`: ask for a call about a response, from the thank-you page (hosted or the
//!   widget's) when it was offered ([`offer_token`]: the organization's setting for the trust answer, or a rule
//!   that offers one). The token is the response's id and a keyed MAC of it, purpose `response/callback`.
//! - `GET/POST /callback/{token}`: the callback's own page (the confirmation, and the link in every message): when
//!   we will call, where it stands, and a button to call it off. Token: the callback's id and a MAC, purpose
//!   `callback`.
//!
//! The form asks for a window ([`heard_domain::callback::offered_windows`], from the organization's business hours),
//! a number (sealed at once; its keyed hash is the one opt-outs use) and how to confirm and remind: a text to that
//! number (when the organization has an SMS number), an email (when it has an email sender), or nothing. English and
//! Spanish, no JavaScript; a refused form is shown again with an error summary naming each field (422). Asking
//! again moves the scheduled callback. Asking spends the address's submissions, as an answer does; a wrong link is
//! the status pages' one 404 and spends the status budget.
//!
//! Jobs: `callback.message` sends the person the confirmation, the reminder an hour before, the "we will try again"
//! and the "we could not reach you" messages, by SMS through the organization's first SMS number (recorded before the
//! provider is called, as invitations are: never sent twice, an opted-out number gets nothing) or by email through
//! its sender; `callbacks.check` moves a missed window on or escalates (`Store::check_callback`).

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use futures_util::future::BoxFuture;
use heard_domain::callback::{self, CallbackState, Notify, Source, Window};
use heard_domain::case::Priority;
use heard_domain::identity::PersonId;
use heard_domain::{OrgId, Zone};
use heard_store::Store;
use heard_store::callbacks::{CallbackRecord, NewCallback};
use heard_store::jobs::ClaimedJob;
use minijinja::context;
use uuid::Uuid;

use crate::auth::ClientIp;
use crate::crypto::Sealer;
use crate::forms::FormData;
use crate::jobs::{Completed, JobHandler, JobRegistry};
use crate::sms_send::SmsProvider;
use crate::status::{LangQuery, id_token, missing, plain_lang, spend, token_id};
use crate::{AppError, AppResult, AppState, i18n};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/status/{token}/callback", get(case_form).post(case_ask))
        .route(
            "/s/{org}/callback/{token}",
            get(response_form).post(response_ask),
        )
        .route("/callback/{token}", get(page).post(cancel))
}

/// The token of a callback's own page.
pub fn callback_token(sealer: &Sealer, id: Uuid) -> String {
    id_token(sealer, "callback", id)
}

/// The token of a response's callback form.
pub fn response_token(sealer: &Sealer, response: Uuid) -> String {
    id_token(sealer, "response/callback", response)
}

/// The whole address of a callback's page.
pub fn callback_url(state_url: &str, sealer: &Sealer, id: Uuid) -> String {
    format!("{state_url}/callback/{}", callback_token(sealer, id))
}

/// The address of the callback form for a response, when the response gets the offer (the organization's setting
/// for its trust answer, or a rule that matched it offers one): for the thank-you page, the widget and SMS.
pub async fn offer_path(
    state: &AppState,
    org: OrgId,
    slug: &str,
    response: Uuid,
) -> AppResult<Option<String>> {
    if !offered(state, org, response).await? {
        return Ok(None);
    }
    Ok(Some(format!(
        "/s/{slug}/callback/{}",
        response_token(state.pipeline.sealer(), response)
    )))
}

/// Whether a response gets the callback offer: the organization's setting or a rule offers it, and there is a
/// window to offer in the next week (an organization closed all week offers nothing it cannot keep).
pub async fn offered(state: &AppState, org: OrgId, response: Uuid) -> AppResult<bool> {
    if !state.store.callback_offered(org, response).await? {
        return Ok(false);
    }
    let o = state.store.org(org).await?;
    Ok(!callback::offered_windows(
        &calendar(state, org, o.time_zone).await?,
        heard_store::now_ms(),
    )
    .is_empty())
}

/// What a callback is about.
enum Subject {
    Case {
        org: OrgId,
        id: Uuid,
        token: String,
    },
    Response {
        org: OrgId,
        slug: String,
        id: Uuid,
        token: String,
    },
}

impl Subject {
    fn org(&self) -> OrgId {
        match self {
            Subject::Case { org, .. } | Subject::Response { org, .. } => *org,
        }
    }
    fn action(&self) -> String {
        match self {
            Subject::Case { token, .. } => format!("/status/{token}/callback"),
            Subject::Response { slug, token, .. } => format!("/s/{slug}/callback/{token}"),
        }
    }
    fn ids(&self) -> (Option<Uuid>, Option<Uuid>) {
        match self {
            Subject::Case { id, .. } => (Some(*id), None),
            Subject::Response { id, .. } => (None, Some(*id)),
        }
    }
}

/// The case a status token opens, when it still takes callbacks (not ended).
async fn case_subject(state: &AppState, token: &str) -> AppResult<Option<Subject>> {
    let Some(id) = token_id(state.pipeline.sealer(), "case/status", token) else {
        return Ok(None);
    };
    Ok(state
        .store
        .case_by_id(id)
        .await?
        .filter(|(_, c)| !c.ended)
        .map(|(org, c)| Subject::Case {
            org,
            id: c.id,
            token: token.to_string(),
        }))
}

/// The response a response token opens, when it is the organization's of `slug`.
async fn response_subject(state: &AppState, slug: &str, token: &str) -> AppResult<Option<Subject>> {
    let Some(id) = token_id(state.pipeline.sealer(), "response/callback", token) else {
        return Ok(None);
    };
    let Ok(o) = state.store.org_by_slug(slug).await else {
        return Ok(None);
    };
    if !state.store.response_exists(o.id, id).await? {
        return Ok(None);
    }
    Ok(Some(Subject::Response {
        org: o.id,
        slug: o.slug,
        id,
        token: token.to_string(),
    }))
}

/// The calendar the organization's windows are cut from.
pub(crate) async fn calendar(
    state: &AppState,
    org: OrgId,
    zone: Zone,
) -> AppResult<heard_domain::sla::BusinessCalendar> {
    let settings = state.store.case_settings(org).await?;
    let policy = settings.policy_for(Priority::Normal).ok().flatten();
    Ok(callback::callback_calendar(
        policy.as_ref().map(|p| p.calendar()),
        zone,
    ))
}

/// Which ways of hearing from us the organization can offer: (SMS, email).
async fn channels(state: &AppState, org: OrgId) -> AppResult<(bool, bool)> {
    Ok((
        !state.store.sms_senders(org).await?.is_empty(),
        state.store.email_sender(org).await?.is_some(),
    ))
}

fn tr_str(tr: &serde_json::Value, key: &str) -> String {
    tr["callback"][key].as_str().unwrap_or_default().to_string()
}

async fn render_form(
    state: &AppState,
    subject: &Subject,
    lang: &str,
    form: &FormData,
    errors: Vec<(&'static str, String)>,
) -> AppResult<Response> {
    let org = subject.org();
    let o = state.store.org(org).await?;
    let now = heard_store::now_ms();
    let windows = callback::offered_windows(&calendar(state, org, o.time_zone).await?, now);
    let (sms, email) = channels(state, org).await?;
    let (case_id, response_id) = subject.ids();
    let existing = state
        .store
        .scheduled_callback(org, case_id, response_id)
        .await?;
    // Asking again changes the booked call: the form starts from it.
    let mut form = form.clone();
    if let Some(cb) = existing.as_ref().filter(|_| form.0.is_empty()) {
        form.set("window", &cb.window().key());
        form.set("notify", cb.notify.0.key());
        if let Some(p) = state.pipeline.sealer().open(&cb.phone_sealed) {
            form.set("phone", &p);
        }
        if let Some(e) = cb
            .email_sealed
            .as_ref()
            .and_then(|e| state.pipeline.sealer().open(e))
        {
            form.set("email", &e);
        }
    }
    let chosen_notify = match form.get("notify") {
        "" if sms => "sms",
        "" => "none",
        n => n,
    }
    .to_string();
    let tr = i18n::strings(lang);
    let windows: Vec<_> = windows
        .iter()
        .map(|w| context! { key => w.key(), label => w.display_in(o.time_zone, lang), checked => form.get("window") == w.key() })
        .collect();
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let errors: Vec<_> = errors
        .into_iter()
        .map(|(f, m)| context! { field => f, message => m })
        .collect();
    let html = state.templates.render(
        "callback_form.html",
        context! {
            lang => lang, tr => tr, org => o.name, title => tr_str(tr, "title"),
            languages => crate::status::languages(lang), action => subject.action(),
            windows => windows, zone => o.time_zone.local(now).format("%Z").to_string(), sms => sms, email => email,
            phone => form.get("phone"), email_typed => form.get("email"), notify => chosen_notify,
            errors => errors, changing => existing.is_some(),
            status_href => match subject { Subject::Case { token, .. } => Some(format!("/status/{token}?lang={lang}")), _ => None },
        },
    )?;
    Ok((status, Html(html)).into_response())
}

/// Reads and checks the form, then books (or moves) the callback and goes to its page.
async fn ask(
    state: &AppState,
    subject: Subject,
    lang: &str,
    form: FormData,
) -> AppResult<Response> {
    let org = subject.org();
    let o = state.store.org(org).await?;
    let tr = i18n::strings(lang);
    let now = heard_store::now_ms();
    let mut errors: Vec<(&'static str, String)> = vec![];
    let offered = callback::offered_windows(&calendar(state, org, o.time_zone).await?, now);
    let window = match form.get("window") {
        "" => {
            errors.push(("window", tr_str(tr, "window_required")));
            None
        }
        w => match Window::parse(w).filter(|w| offered.contains(w)) {
            Some(w) => Some(w),
            None => {
                errors.push(("window", tr_str(tr, "window_gone")));
                None
            }
        },
    };
    let phone = match PersonId::phone("phone", form.get("phone")) {
        Ok(p) => Some(p.as_str().trim_start_matches("phone:").to_string()),
        Err(_) => {
            errors.push(("phone", tr_str(tr, "phone_invalid")));
            None
        }
    };
    let (sms, email_ok) = channels(state, org).await?;
    let notify = match form.get("notify") {
        // Texts go to U.S. numbers only: a public form must not make the agency text any number in the world.
        "sms" if sms && phone.as_deref().is_some_and(|p| !p.starts_with("+1")) => {
            errors.push(("notify", tr_str(tr, "sms_us_only")));
            Notify::None
        }
        "sms" if sms => Notify::Sms,
        "email" if email_ok => Notify::Email,
        "none" => Notify::None,
        "" if !sms && !email_ok => Notify::None,
        _ => {
            errors.push(("notify", tr_str(tr, "notify_required")));
            Notify::None
        }
    };
    let email = if notify == Notify::Email {
        match PersonId::email("email", form.get("email")) {
            Ok(e) => Some(e.as_str().trim_start_matches("email:").to_string()),
            Err(_) => {
                errors.push(("email", tr_str(tr, "email_invalid")));
                None
            }
        }
    } else {
        None
    };
    let (Some(window), Some(phone), true) = (window, phone, errors.is_empty()) else {
        return render_form(state, &subject, lang, &form, errors).await;
    };
    let sealer = state.pipeline.sealer();
    let phone_id = PersonId::phone("phone", &phone).map_err(|e| AppError::Internal(e.message))?;
    let (case_id, response_id) = subject.ids();
    let new = NewCallback {
        case_id,
        response_id,
        source: match subject {
            Subject::Case { .. } => Source::Status,
            Subject::Response { .. } => Source::ThankYou,
        },
        phone_sealed: sealer.seal(&phone),
        phone_key: sealer.person_key(org, &phone_id).0,
        email_sealed: email.map(|e| sealer.seal(&e)),
        notify,
        language: if lang == "es" { "es" } else { "en" }.to_string(),
        window,
        confirmed_already: false,
    };
    match state.store.request_callback(org, &new, now).await {
        Ok(cb) => Ok(Redirect::to(&format!(
            "/callback/{}?lang={lang}&added=1",
            callback_token(sealer, cb.id)
        ))
        .into_response()),
        Err(heard_store::StoreError::Invalid(_)) => {
            render_form(
                state,
                &subject,
                lang,
                &form,
                vec![("window", tr_str(tr, "window_gone"))],
            )
            .await
        }
        Err(heard_store::StoreError::Conflict(_)) => missing(state, lang),
        Err(e) => Err(e.into()),
    }
}

async fn case_form(
    State(state): State<AppState>,
    Path(token): Path<String>,
    Query(q): Query<LangQuery>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
) -> AppResult<Response> {
    let lang = plain_lang(q.lang.as_deref(), &headers);
    match case_subject(&state, &token).await? {
        Some(s) => render_form(&state, &s, &lang, &FormData::default(), vec![]).await,
        None => spend(&state, ip, &lang).unwrap_or_else(|| missing(&state, &lang)),
    }
}

async fn case_ask(
    State(state): State<AppState>,
    Path(token): Path<String>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> AppResult<Response> {
    state.limiter.check(ip)?;
    let form = FormData::parse(&body);
    let lang = plain_lang(form.opt("lang"), &headers);
    match case_subject(&state, &token).await? {
        Some(s) => ask(&state, s, &lang, form).await,
        None => missing(&state, &lang),
    }
}

async fn response_form(
    State(state): State<AppState>,
    Path((org, token)): Path<(String, String)>,
    Query(q): Query<LangQuery>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
) -> AppResult<Response> {
    let lang = plain_lang(q.lang.as_deref(), &headers);
    match response_subject(&state, &org, &token).await? {
        Some(s) => render_form(&state, &s, &lang, &FormData::default(), vec![]).await,
        None => spend(&state, ip, &lang).unwrap_or_else(|| missing(&state, &lang)),
    }
}

async fn response_ask(
    State(state): State<AppState>,
    Path((org, token)): Path<(String, String)>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> AppResult<Response> {
    state.limiter.check(ip)?;
    let form = FormData::parse(&body);
    let lang = plain_lang(form.opt("lang"), &headers);
    match response_subject(&state, &org, &token).await? {
        Some(s) => ask(&state, s, &lang, form).await,
        None => missing(&state, &lang),
    }
}

/// The callback a token opens, with its organization.
async fn open_callback(
    state: &AppState,
    token: &str,
) -> AppResult<Option<(OrgId, CallbackRecord)>> {
    let Some(id) = token_id(state.pipeline.sealer(), "callback", token) else {
        return Ok(None);
    };
    Ok(state.store.callback_by_id(id).await?.filter(|(_, c)| {
        c.ended_at
            .is_none_or(|e| heard_store::now_ms() - e <= crate::status::OPEN_AFTER_END_MS)
    }))
}

/// Whether an SMS reply asks for a call back (`CALL`, `CALL ME`, `LLAMAR`, ... in any case, with or without
/// punctuation or accents).
pub fn asks_for_call(text: &str) -> bool {
    let words: String = text
        .chars()
        .filter(|c| c.is_alphanumeric() || c.is_whitespace())
        .collect::<String>()
        .to_uppercase()
        .replace('Á', "A");
    let w = words.split_whitespace().collect::<Vec<_>>().join(" ");
    matches!(
        w.as_str(),
        "CALL"
            | "CALL ME"
            | "CALLBACK"
            | "CALL BACK"
            | "CALL ME BACK"
            | "LLAMAR"
            | "LLAMENME"
            | "LLAMAME"
    )
}

/// An SMS survey's reply asked for a call back: books the first window for the number that wrote, about the
/// conversation's response, when that response was offered one. Returns the reply in the conversation's language.
pub(crate) async fn book_by_sms(
    state: &AppState,
    org: OrgId,
    response: Uuid,
    e164: &str,
    phone_key: &str,
    lang: &str,
) -> AppResult<Option<String>> {
    if !offered(state, org, response).await? {
        return Ok(None);
    }
    let o = state.store.org(org).await?;
    let now = heard_store::now_ms();
    let tr = i18n::strings(lang);
    let Some(window) = callback::offered_windows(&calendar(state, org, o.time_zone).await?, now)
        .into_iter()
        .next()
    else {
        return Ok(Some(tr_str(tr, "sms_none")));
    };
    let sealer = state.pipeline.sealer();
    let cb = state
        .store
        .request_callback(
            org,
            &NewCallback {
                case_id: None,
                response_id: Some(response),
                source: Source::Sms,
                phone_sealed: sealer.seal(e164),
                phone_key: phone_key.to_string(),
                email_sealed: None,
                notify: Notify::Sms,
                language: lang.to_string(),
                window,
                confirmed_already: true,
            },
            now,
        )
        .await?;
    Ok(Some(
        tr_str(tr, "sms_booked")
            .replace("{window}", &cb.window().display_in(o.time_zone, lang))
            .replace("{link}", &callback_url(&state.public_url, sealer, cb.id)),
    ))
}

/// The last four digits of a number, for the person's page and messages (the whole number is not shown again).
fn last_four(phone: &str) -> String {
    let digits: Vec<char> = phone.chars().filter(|c| c.is_ascii_digit()).collect();
    digits[digits.len().saturating_sub(4)..].iter().collect()
}

async fn page(
    State(state): State<AppState>,
    Path(token): Path<String>,
    Query(q): Query<LangQuery>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
) -> AppResult<Response> {
    let lang = plain_lang(q.lang.as_deref(), &headers);
    let Some((org, cb)) = open_callback(&state, &token).await? else {
        return spend(&state, ip, &lang).unwrap_or_else(|| missing(&state, &lang));
    };
    render_page(&state, org, &cb, &token, &lang, q.added.is_some(), false).await
}

async fn render_page(
    state: &AppState,
    org: OrgId,
    cb: &CallbackRecord,
    token: &str,
    lang: &str,
    made: bool,
    cancelled: bool,
) -> AppResult<Response> {
    let o = state.store.org(org).await?;
    let tr = i18n::strings(lang);
    let sealer = state.pipeline.sealer();
    let phone = sealer.open(&cb.phone_sealed).unwrap_or_default();
    // Where the person changes it: the form they asked on.
    let change = match (cb.case_id, cb.response_id) {
        (Some(c), _) => Some(format!(
            "/status/{}/callback?lang={lang}",
            crate::status::status_token(sealer, c)
        )),
        (None, Some(r)) => Some(format!(
            "/s/{}/callback/{}?lang={lang}",
            o.slug,
            response_token(sealer, r)
        )),
        _ => None,
    };
    // Where to ask again once this one ended: the same form, while the case is open.
    let case_open = match cb.case_id {
        Some(c) => state.store.case(org, c).await.is_ok_and(|k| !k.ended),
        None => true,
    };
    let change = change.filter(|_| case_open);
    let status_href = cb.case_id.map(|c| {
        format!(
            "/status/{}?lang={lang}",
            crate::status::status_token(sealer, c)
        )
    });
    let html = state.templates.render(
        "callback.html",
        context! {
            lang => lang, tr => tr, org => o.name, title => tr_str(tr, "page_title"),
            languages => crate::status::languages(lang), token => token,
            state => cb.state().key(), window => cb.window().display_in(o.time_zone, lang),
            ending => last_four(&phone), made => made, cancelled => cancelled,
            change => change.clone().filter(|_| cb.state() == CallbackState::Scheduled),
            ask_again => change.filter(|_| matches!(cb.state(), CallbackState::Missed | CallbackState::Cancelled)),
            wrong_number => cb.missed_reason.as_deref() == Some("wrong_number"), status_href => status_href,
            windows_missed => cb.windows_missed,
        },
    )?;
    Ok(Html(html).into_response())
}

async fn cancel(
    State(state): State<AppState>,
    Path(token): Path<String>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> AppResult<Response> {
    state.limiter.check(ip)?;
    let form = FormData::parse(&body);
    let lang = plain_lang(form.opt("lang"), &headers);
    let Some((org, cb)) = open_callback(&state, &token).await? else {
        return missing(&state, &lang);
    };
    let (cb, now_cancelled) = match state
        .store
        .cancel_callback(org, cb.id, None, heard_store::now_ms())
        .await
    {
        Ok(cb) => (cb, true),
        // Already ended (a double click, or staff got there first): the page says where it stands.
        Err(heard_store::StoreError::Conflict(_)) => (cb, false),
        Err(e) => return Err(e.into()),
    };
    render_page(&state, org, &cb, &token, &lang, false, now_cancelled).await
}

/// Registers `callback.message` and `callbacks.check`.
pub fn register(registry: &mut JobRegistry, jobs: CallbackJobs) {
    registry.register(
        heard_store::callbacks::MESSAGE_KIND,
        SendMessage(jobs.clone()),
    );
    registry.register(heard_store::callbacks::CHECK_KIND, CheckWindow);
}

/// What the callback jobs need: the sealer (numbers, addresses, links), the public URL and the SMS provider.
#[derive(Clone)]
pub struct CallbackJobs {
    sealer: Arc<Sealer>,
    public_url: Arc<str>,
    provider: Arc<dyn SmsProvider>,
}

impl CallbackJobs {
    pub fn new(
        secret: &[u8; 32],
        public_url: &str,
        provider: Arc<dyn SmsProvider>,
    ) -> CallbackJobs {
        CallbackJobs {
            sealer: Arc::new(Sealer::new(secret)),
            public_url: public_url.trim_end_matches('/').into(),
            provider,
        }
    }
}

/// The `callbacks.check` handler.
pub struct CheckWindow;

impl JobHandler for CheckWindow {
    fn run<'a>(
        &'a self,
        store: &'a Store,
        job: &'a ClaimedJob,
    ) -> BoxFuture<'a, Result<Completed, String>> {
        Box::pin(async move {
            let jid = job.job.id;
            let org = job.job.org_id;
            let p = &job.job.payload;
            let id: Uuid = p["callback"]
                .as_str()
                .and_then(|s| s.parse().ok())
                .ok_or_else(|| format!("job {jid}: payload has no callback id"))?;
            let end = p["window_end"]
                .as_i64()
                .ok_or_else(|| format!("job {jid}: payload has no window_end"))?;
            let o = store
                .org(org)
                .await
                .map_err(|e| format!("job {jid}: {e}"))?;
            let settings = store
                .case_settings(org)
                .await
                .map_err(|e| format!("job {jid}: {e}"))?;
            let policy = settings.policy_for(Priority::Normal).ok().flatten();
            let cal =
                callback::callback_calendar(policy.as_ref().map(|p| p.calendar()), o.time_zone);
            let effect = store
                // A job never runs before it is due; its due time is the window's end.
                .check_callback(
                    org,
                    id,
                    end,
                    |w| callback::retry_window(&cal, w),
                    Some(job),
                    heard_store::now_ms().max(job.job.run_at),
                )
                .await
                .map_err(|e| format!("job {jid}: callback {id}: {e}"))?;
            if let Some(e) = effect {
                tracing::info!(org = %org, callback = %id, effect = ?e, "callback window ended");
            }
            Ok(Completed::WithEffect)
        })
    }
}

/// The `callback.message` handler.
pub struct SendMessage(CallbackJobs);

impl JobHandler for SendMessage {
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

/// A message's text in the person's language.
pub fn message_text(kind: &str, lang: &str, org: &str, window: &str, link: &str) -> String {
    let tr = i18n::strings(lang);
    tr["callback"]["messages"][kind]
        .as_str()
        .unwrap_or_default()
        .replace("{org}", org)
        .replace("{window}", window)
        .replace("{link}", link)
}

impl CallbackJobs {
    async fn send(&self, store: &Store, job: &ClaimedJob) -> Result<Completed, String> {
        let org = job.job.org_id;
        let p = &job.job.payload;
        let id: Uuid = p["callback"]
            .as_str()
            .and_then(|s| s.parse().ok())
            .ok_or("payload has no callback id")?;
        let kind = p["kind"].as_str().unwrap_or_default().to_string();
        let window_start = p["window_start"].as_i64().unwrap_or_default();
        let cb = match store.callback(org, id).await {
            Ok(c) => c,
            Err(heard_store::StoreError::NotFound) => return Ok(Completed::ByWorker),
            Err(e) => return Err(e.to_string()),
        };
        // A message about a window the callback has left, or about a callback that ended since, is not sent.
        let current = match kind.as_str() {
            "confirmed" | "reminder" | "retry" => {
                cb.state() == CallbackState::Scheduled && cb.window_start == window_start
            }
            "missed" => cb.state() == CallbackState::Missed,
            _ => false,
        };
        if !current {
            return Ok(Completed::ByWorker);
        }
        let o = store.org(org).await.map_err(|e| e.to_string())?;
        let link = callback_url(&self.public_url, &self.sealer, id);
        let window = cb.window().display_in(o.time_zone, &cb.language);
        let body = message_text(&kind, &cb.language, &o.name, &window, &link);
        match cb.notify.0 {
            Notify::None => Ok(Completed::ByWorker),
            Notify::Sms => self.send_sms(store, job, &cb, &kind, &body).await,
            Notify::Email => {
                self.send_email(store, job, &cb, &kind, &o.name, &body)
                    .await
            }
        }
    }

    async fn send_sms(
        &self,
        store: &Store,
        job: &ClaimedJob,
        cb: &CallbackRecord,
        kind: &str,
        body: &str,
    ) -> Result<Completed, String> {
        let org = job.job.org_id;
        let id = *job.job.id.as_uuid();
        let e = |e: heard_store::StoreError| e.to_string();
        let not_sent = |why: &'static str| async move {
            store
                .callback_message_sent(org, cb.id, kind, Some(why), Some(job))
                .await
                .map(|_| Completed::WithEffect)
                .map_err(|e| e.to_string())
        };
        // A send recorded by an earlier attempt that stopped before its answer: it may have gone. Not sent again.
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
        if store.sms_opted_out(org, &cb.phone_key).await.map_err(e)? {
            return not_sent("the number opted out of texts (STOP)").await;
        }
        let to = self
            .sealer
            .open(&cb.phone_sealed)
            .ok_or("the sealed number cannot be opened")?;
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
            &to,
            body,
            &self.public_url,
        )
        .await?
        else {
            // Waiting for the number's pacing slot: the job runs again then.
            return Ok(Completed::WithEffect);
        };
        store
            .callback_message_sent(org, cb.id, kind, note.as_deref(), Some(job))
            .await
            .map_err(e)?;
        Ok(Completed::WithEffect)
    }

    async fn send_email(
        &self,
        store: &Store,
        job: &ClaimedJob,
        cb: &CallbackRecord,
        kind: &str,
        org_name: &str,
        body: &str,
    ) -> Result<Completed, String> {
        let org = job.job.org_id;
        let e = |e: heard_store::StoreError| e.to_string();
        let Some(sender) = store.email_sender(org).await.map_err(e)? else {
            store
                .callback_message_sent(
                    org,
                    cb.id,
                    kind,
                    Some("no email sender is set up"),
                    Some(job),
                )
                .await
                .map_err(e)?;
            return Ok(Completed::WithEffect);
        };
        let Some(to) = cb.email_sealed.as_ref().and_then(|s| self.sealer.open(s)) else {
            store
                .callback_message_sent(org, cb.id, kind, Some("no email address"), Some(job))
                .await
                .map_err(e)?;
            return Ok(Completed::WithEffect);
        };
        let tr = i18n::strings(&cb.language);
        let subject = tr["callback"]["email_subject"][kind]
            .as_str()
            .unwrap_or_default()
            .replace("{org}", org_name);
        crate::outreach::send_plain(&sender, &self.sealer, &to, &subject, body).await?;
        store
            .callback_message_sent(org, cb.id, kind, None, Some(job))
            .await
            .map_err(e)?;
        Ok(Completed::WithEffect)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_open_only_their_callback() {
        let s = Sealer::new(&[7; 32]);
        let id = Uuid::now_v7();
        let t = callback_token(&s, id);
        assert_eq!(token_id(&s, "callback", &t), Some(id));
        // A response's or a case's token is not a callback's.
        assert_eq!(token_id(&s, "callback", &response_token(&s, id)), None);
        assert_eq!(token_id(&s, "case/status", &t), None);
    }

    #[test]
    fn messages_exist_in_both_languages() {
        for lang in ["en", "es"] {
            for kind in ["confirmed", "reminder", "retry", "missed"] {
                let m = message_text(
                    kind,
                    lang,
                    "Agency",
                    "Tue Dec 1, 09:00-12:00 EST",
                    "https://x/callback/t",
                );
                assert!(
                    m.contains("Agency") && m.contains("https://x/callback/t"),
                    "{lang} {kind}: {m}"
                );
                if kind != "missed" {
                    assert!(m.contains("09:00-12:00"), "{lang} {kind}: {m}");
                }
            }
        }
        assert_eq!(last_four("+12025550143"), "0143");
        for yes in ["call", "Call me!", " CALL BACK ", "llámame", "Llamar."] {
            assert!(asks_for_call(yes), "{yes}");
        }
        for no in ["called", "no", "call me maybe", "STOP"] {
            assert!(!asks_for_call(no), "{no}");
        }
    }
}
