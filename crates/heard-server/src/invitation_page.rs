//! The pages an email invitation's links open (issue 20, item 4): the hosted survey at `/o/{token}` and the
//! unsubscribe page at `/o/unsubscribe/{id}/{token}` (`heard_server::outreach::SendEmail` writes both links).
//!
//! **The survey link.** The token is found by its SHA-256 (`heard_store::outreach`, only the hash is stored). An
//! unknown token, an expired link (`expires_at`), and an invitation answered, bounced or unsubscribed all get the
//! same "this link has expired or was used" page with status 404, so the page says nothing about which tokens exist;
//! each such request spends the address's page budget (`AppState::display_limiter`, 429 when spent).
//! A live one is marked `opened` when a person views it (not a HEAD request or a prefetch, `ratelimit::is_view`),
//! and shows the survey version the invitation names, in the invitation's language unless the person picks another
//! (`?lang=`), with the hosted page's rendering (`public::render_survey`); its form posts back to the same address.
//! Opening is what "opened" means in the outreach figures: there are no tracking pixels in the email.
//!
//! **One answer per link.** The response is stored with channel `email` (A-11's key), the invitation's survey
//! version and its person key, and the invitation moves to `answered` (with the response's id) in the response's own
//! commit (`Store::submit_invited`); a second submission stores nothing and is told the link was used. A retry of
//! the same form (same idempotency key, same answers) is answered as a success, as on the public page. A submission
//! that comes back for a correction still marks the invitation `started`.
//!
//! **Unsubscribe.** `GET` shows a confirmation with one button; `POST` (the button, or a mail system's RFC 8058
//! one-click request with the body `List-Unsubscribe=One-Click`, which carries no cookie and no Origin to check)
//! suppresses the address in the organization (reason `unsubscribe`, source `one-click` or `unsubscribe-page`),
//! ends every live invitation to it as `unsubscribed` (the one whose link was used records the time even when it had
//! been answered), and answers 200 at once. The token is checked by recomputing
//! it (`outreach::unsubscribe_token`) and comparing in constant time, before the database is read; it keeps working
//! after the survey link is used or expired. Doing it twice changes nothing the second time.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use heard_domain::survey::HiddenAnswers;
use heard_domain::{Channel, Lang};
use heard_store::outreach::{EmailInvitation, InvitationState, SuppressionReason};
use minijinja::context;
use serde::Deserialize;
use std::collections::BTreeMap;

use crate::auth::ClientIp;
use crate::forms::FormData;
use crate::pipeline::Submission;
use crate::public::{PageInput, Published, render_survey};
use crate::{AppError, AppResult, AppState, i18n, outreach};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/o/{token}", get(show).post(submit))
        .route(
            "/o/unsubscribe/{id}/{token}",
            get(unsubscribe_page).post(unsubscribe),
        )
}

#[derive(Deserialize, Default)]
pub struct LangQuery {
    pub lang: Option<String>,
}

/// Where a response through an invitation says it came from: never the token (it would let anyone who reads the
/// responses answer in the person's name).
const PAGE_PATH: &str = "/o";

const LANGS: [&str; 2] = ["en", "es"];

/// The page language when no survey says which: `?lang=`, else the browser's preference, between en and es.
fn plain_lang(q: Option<&str>, headers: &HeaderMap) -> String {
    let offered: Vec<String> = LANGS.iter().map(|s| s.to_string()).collect();
    i18n::negotiate(
        q,
        headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok()),
        &offered,
    )
}

/// The one page for a link that does not work (unknown, expired, used, ended), status 404.
fn gone(state: &AppState, lang: &str) -> AppResult<Response> {
    let tr = i18n::strings(lang);
    let html = state.templates.render(
        "invitation_message.html",
        context! { lang => lang, tr => tr, org => tr["outreach"]["site"].as_str().unwrap_or(""),
        title => tr["outreach"]["gone_title"], message => tr["outreach"]["gone"], alert => "info" },
    )?;
    Ok((StatusCode::NOT_FOUND, Html(html)).into_response())
}

/// The live invitation the token opens, or `None` for every kind of link that does not work.
async fn live_invitation(state: &AppState, token: &str) -> AppResult<Option<EmailInvitation>> {
    // Tokens are 43 characters of URL-safe base64; anything else cannot be one, and is not looked up.
    if token.len() != 43
        || !token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Ok(None);
    }
    let hash = crate::crypto::sha256_hex(token.as_bytes());
    let Some(inv) = state.store.email_invitation_by_token(&hash).await? else {
        return Ok(None);
    };
    let live = matches!(
        inv.state,
        InvitationState::Queued
            | InvitationState::Sent
            | InvitationState::Reminded
            | InvitationState::Opened
    ) && inv.expires_at > heard_store::now_ms();
    Ok(live.then_some(inv))
}

/// The survey version the invitation names, with its organization.
async fn published_of(state: &AppState, inv: &EmailInvitation) -> AppResult<Published> {
    let org = state.store.org(inv.org_id).await?;
    let survey = state.store.survey(inv.org_id, inv.survey_id).await?;
    let version = state
        .store
        .survey_version(inv.org_id, inv.survey_id, inv.survey_version)
        .await?;
    let mut version = version;
    // The A-11 v2 template tells people "Your answer is anonymous". An invited answer is linked to the
    // invitation's person key (pseudonymous, never to the address), so the page says what is true instead.
    for q in &mut version.definition.questions {
        if q.help.get("en") == "Your answer is anonymous." {
            q.help = heard_domain::i18n::LocalizedText::new(
                "Your answer is kept apart from your name and contact details; reports show only totals.",
                "Su respuesta se guarda aparte de su nombre y sus datos de contacto; los informes solo muestran totales.",
            );
        }
    }
    let touchpoint = survey.touchpoint_id;
    Ok(Published {
        org,
        survey,
        version,
        touchpoint,
    })
}

/// The page language: `?lang=` (or the form's `lang`) if the survey offers it, else the invitation's language if
/// the survey offers it, else the browser's preference.
fn invitation_lang(
    p: &Published,
    inv: &EmailInvitation,
    q: Option<&str>,
    headers: &HeaderMap,
) -> String {
    let def = &p.version.definition;
    let offered = |l: &str| def.languages.iter().any(|o| o == l) && i18n::has(l);
    match q {
        Some(l) if offered(l) => l.to_string(),
        _ if offered(&inv.language) => inv.language.clone(),
        _ => crate::public::page_lang(def, None, headers),
    }
}

async fn show(
    State(state): State<AppState>,
    Path(token): Path<String>,
    Query(q): Query<LangQuery>,
    ClientIp(ip): ClientIp,
    method: Method,
    headers: HeaderMap,
) -> AppResult<Response> {
    let Some(inv) = live_invitation(&state, &token).await? else {
        // Only links that do not work spend the address's budget (tokens are 256-bit, so this is about load, not
        // guessing): people behind one office address opening their own links are never refused.
        state.display_limiter.check(ip)?;
        return gone(&state, &plain_lang(q.lang.as_deref(), &headers));
    };
    let p = published_of(&state, &inv).await?;
    let lang = invitation_lang(&p, &inv, q.lang.as_deref(), &headers);
    let closed = p
        .version
        .definition
        .is_expired(crate::public::today(&p.org.time_zone));
    if crate::ratelimit::is_view(&method, &headers)
        && matches!(inv.state, InvitationState::Sent | InvitationState::Reminded)
    {
        let mut tx = state.store.begin().await?;
        tx.move_email_invitation(
            inv.org_id,
            inv.id,
            InvitationState::Opened,
            heard_store::now_ms(),
        )
        .await?;
        tx.commit().await?;
    }
    let action = format!("/o/{token}");
    let html = render_survey(
        &state,
        PageInput {
            p: &p,
            lang: &lang,
            form: &FormData::default(),
            errors: BTreeMap::new(),
            tp: None,
            via: None,
            closed,
            action: Some(&action),
        },
    )?;
    let status = if closed {
        StatusCode::GONE
    } else {
        StatusCode::OK
    };
    Ok((status, Html(html)).into_response())
}

/// The page for a second submission through a link already answered: nothing was stored.
fn used(state: &AppState, lang: &str, org: &str) -> AppResult<Response> {
    let tr = i18n::strings(lang);
    let html = state.templates.render(
        "invitation_message.html",
        context! { lang => lang, tr => tr, org => org,
            title => tr["outreach"]["used_title"], message => tr["outreach"]["used"], alert => "warning" },
    )?;
    Ok((StatusCode::CONFLICT, Html(html)).into_response())
}

async fn submit(
    State(state): State<AppState>,
    Path(token): Path<String>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    crate::forms::LenientForm {
        form,
        errors: bad_text,
    }: crate::forms::LenientForm,
) -> AppResult<Response> {
    if !crate::public::same_origin(&headers, &state) {
        return Err(AppError::Forbidden(
            "origin_not_allowed",
            "Submit this form from its own page.".into(),
        ));
    }
    state.limiter.check(ip)?;
    // An answered invitation is still looked at here: a retry of the answer that was stored is a success.
    let hash = crate::crypto::sha256_hex(token.as_bytes());
    let found = if token.len() == 43 {
        state.store.email_invitation_by_token(&hash).await?
    } else {
        None
    };
    let inv = match found {
        Some(inv)
            if inv.state == InvitationState::Answered
                || (live_invitation(&state, &token).await?).is_some() =>
        {
            inv
        }
        _ => return gone(&state, &plain_lang(form.opt("lang"), &headers)),
    };
    let p = published_of(&state, &inv).await?;
    let def = &p.version.definition;
    let lang = invitation_lang(&p, &inv, form.opt("lang"), &headers);
    let thanks = format!("/s/{}/{}/thanks?lang={lang}", p.org.slug, p.survey.id);
    if !form.get("website").is_empty() {
        // The honeypot was filled: a bot. Answer as if all went well and keep nothing.
        return Ok(Redirect::to(&thanks).into_response());
    }
    let action = format!("/o/{token}");
    let page = |errors: BTreeMap<String, String>, closed: bool| {
        render_survey(
            &state,
            PageInput {
                p: &p,
                lang: &lang,
                form: &form,
                errors,
                tp: None,
                via: None,
                closed,
                action: Some(&action),
            },
        )
    };
    if def.is_expired(crate::public::today(&p.org.time_zone)) {
        return Ok((StatusCode::GONE, Html(page(BTreeMap::new(), true)?)).into_response());
    }
    if !bad_text.is_empty() && inv.state != InvitationState::Answered {
        // As on the public page: answers with a control character come back with it removed and a note.
        let mut shown = BTreeMap::new();
        let msg = i18n::strings(&lang)["errors"]["control_character_removed"]
            .as_str()
            .unwrap_or("")
            .to_string();
        for e in &bad_text.0 {
            let Some(id) = e.field.strip_prefix("q.") else {
                return Err(AppError::Invalid(bad_text));
            };
            if def
                .question(id)
                .is_some_and(|q| q.kind != heard_domain::survey::QuestionKind::Hidden)
            {
                shown.insert(id.to_string(), msg.clone());
            }
        }
        if !shown.is_empty() {
            state
                .store
                .mark_email_invitation_started(inv.org_id, inv.id, heard_store::now_ms())
                .await?;
            return Ok(
                (StatusCode::UNPROCESSABLE_ENTITY, Html(page(shown, false)?)).into_response(),
            );
        }
    }
    let key = heard_domain::response::parse_idempotency_key(form.get("idempotency_key"))
        .unwrap_or_else(|_| uuid::Uuid::now_v7().to_string());
    let submission = Submission {
        org_id: p.org.id,
        survey_id: p.survey.id,
        survey_version: p.version.version,
        service_id: p.survey.service_id,
        touchpoint_id: p.touchpoint,
        channel: Channel::Email,
        language: Lang::parse(&lang).unwrap_or_else(|_| Lang::en()),
        page_path: Some(PAGE_PATH.into()),
        idempotency_key: key,
        submitted_at: heard_store::now_ms(),
        answers: crate::public::answers_of(def, &form),
        hidden: HiddenAnswers::Drop,
        keep_raw_text: p.org.keep_raw_text,
    };
    let mut prepared = match state.pipeline.prepare(submission, def) {
        Ok(r) => r,
        Err(_) if inv.state == InvitationState::Answered => {
            return used(&state, &lang, &p.org.name);
        }
        Err(errs) => {
            state
                .store
                .mark_email_invitation_started(inv.org_id, inv.id, heard_store::now_ms())
                .await?;
            let errors = crate::public::page_errors(&lang, def, &errs);
            return Ok(
                (StatusCode::UNPROCESSABLE_ENTITY, Html(page(errors, false)?)).into_response(),
            );
        }
    };
    // The person the invitation was sent to, whatever contact the answers hold.
    prepared.person_key = Some(inv.person_key.clone());
    match state.store.submit_invited(prepared, inv.id).await {
        Ok(_) => Ok(Redirect::to(&thanks).into_response()),
        Err(heard_store::StoreError::InvitationUsed)
        | Err(heard_store::StoreError::IdempotencyKeyReused) => used(&state, &lang, &p.org.name),
        Err(e) => Err(e.into()),
    }
}

/// Whether `token` is the unsubscribe token of invitation `id`, compared in constant time.
fn unsubscribe_ok(state: &AppState, id: &str, token: &str) -> Option<uuid::Uuid> {
    let id: uuid::Uuid = id.parse().ok()?;
    let expected = outreach::unsubscribe_token(state.pipeline.sealer(), id);
    crate::crypto::same_secret(&expected, token).then_some(id)
}

async fn unsubscribe_page(
    State(state): State<AppState>,
    Path((id, token)): Path<(String, String)>,
    Query(q): Query<LangQuery>,
    headers: HeaderMap,
) -> AppResult<Response> {
    let found = match unsubscribe_ok(&state, &id, &token) {
        Some(id) => state.store.email_invitation_by_id(id).await?,
        None => None,
    };
    let Some(inv) = found else {
        return gone(&state, &plain_lang(q.lang.as_deref(), &headers));
    };
    let lang = match q.lang.as_deref() {
        Some(l) if LANGS.contains(&l) => l.to_string(),
        _ if LANGS.contains(&inv.language.as_str()) => inv.language.clone(),
        _ => plain_lang(None, &headers),
    };
    let org = state.store.org(inv.org_id).await?;
    let tr = i18n::strings(&lang);
    let languages: Vec<serde_json::Value> = LANGS
        .iter()
        .filter(|l| **l != lang)
        .map(|l| serde_json::json!({"code": l, "name": i18n::strings(l)["_name"]}))
        .collect();
    let html = state.templates.render(
        "unsubscribe.html",
        context! { lang => lang, tr => tr, org => org.name, languages => languages,
        title => tr["outreach"]["unsubscribe_title"], done => false },
    )?;
    Ok(Html(html).into_response())
}

async fn unsubscribe(
    State(state): State<AppState>,
    Path((id, token)): Path<(String, String)>,
    Query(q): Query<LangQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> AppResult<Response> {
    let found = match unsubscribe_ok(&state, &id, &token) {
        Some(id) => state.store.email_invitation_by_id(id).await?,
        None => None,
    };
    let Some(inv) = found else {
        return gone(&state, &plain_lang(q.lang.as_deref(), &headers));
    };
    // RFC 8058: a mail system's one-click request says `List-Unsubscribe=One-Click` (form-encoded or multipart);
    // the page's button says `from=page`. Either way the token is what authorizes it.
    let one_click = body.windows(9).any(|w| w == b"One-Click");
    let form = FormData::parse(&body);
    let source = if one_click {
        "one-click"
    } else {
        "unsubscribe-page"
    };
    let now = heard_store::now_ms();
    let mut tx = state.store.begin().await?;
    tx.suppress_email(
        inv.org_id,
        &inv.address_hash,
        SuppressionReason::Unsubscribe,
        source,
        now,
    )
    .await?;
    tx.end_email_invitations_to(
        inv.org_id,
        &inv.address_hash,
        InvitationState::Unsubscribed,
        now,
    )
    .await?;
    // The invitation whose link was used records the unsubscribe even when it had been answered (its state stays
    // `answered`): the outreach figures count every unsubscribe, before or after answering.
    tx.stamp_email_unsubscribed(inv.org_id, inv.id, now).await?;
    tx.commit().await?;
    let lang = match form.opt("lang").or(q.lang.as_deref()) {
        Some(l) if LANGS.contains(&l) => l.to_string(),
        _ if LANGS.contains(&inv.language.as_str()) => inv.language.clone(),
        _ => plain_lang(None, &headers),
    };
    let org = state.store.org(inv.org_id).await?;
    let tr = i18n::strings(&lang);
    let html = state.templates.render(
        "unsubscribe.html",
        context! { lang => lang, tr => tr, org => org.name, languages => Vec::<String>::new(),
        title => tr["outreach"]["unsubscribed_title"], done => true },
    )?;
    Ok(Html(html).into_response())
}
