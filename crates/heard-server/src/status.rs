//! A status the person can check (issue 21, item 5): every case has a public page, in English and Spanish and
//! without JavaScript, that says where the case stands in plain language, what happens next and by when, shows the
//! updates staff sent the person, and lets the person add information.
//!
//! - `GET /status/{token}`: the page. The token is the case's id (32 hex digits) followed by a keyed MAC of it
//!   (`Sealer::link_token("case/status", id)`, 43 characters): unguessable, checked in constant time, and rebuilt
//!   by the server whenever it shows the link (the thank-you page after a response that opened a case, the case's
//!   admin page), so nothing about it is stored.
//! - `POST /status/{token}`: adds the person's information to the case (`Store::add_from_person`); a case waiting on
//!   the customer goes back to in progress. Then back to the page, which says it was added.
//! - `GET /s/{org}/status`: a form for the short code staff read out on the phone (`XXXX-XXXX`, typed in any case,
//!   with or without the dash); a code found sends the person to their page.
//!
//! A token that is wrong, a code that is unknown, and a case closed more than [`OPEN_AFTER_END_MS`] ago all get the
//! same not-found page (404). Every code looked up, and every link that does not open a case, spends the address's
//! status budget ([`LOOKUPS_PER_MINUTE`], at most 10 at once), so codes cannot be tried at speed (429, a page in the
//! person's language); a right link is never limited, so a shared connection cannot lock a person out of theirs.

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use heard_domain::case::{Change, SlaFlag, StatusKind};
use heard_domain::sla;
use heard_domain::{OrgId, Zone};
use heard_store::cases::CaseRecord;
use minijinja::context;
use uuid::Uuid;

use crate::auth::ClientIp;
use crate::crypto::Sealer;
use crate::forms::FormData;
use crate::{AppError, AppResult, AppState, i18n};

/// How long after a case ends its page still opens: 90 days.
pub const OPEN_AFTER_END_MS: i64 = 90 * 24 * 3_600_000;
/// Status lookups (pages, codes, additions) per minute from one address.
pub const LOOKUPS_PER_MINUTE: u32 = 30;

const LANGS: [&str; 2] = ["en", "es"];

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/status/{token}", get(page).post(add))
        .route("/s/{org}/status", get(lookup))
}

/// A token naming `id` for `purpose`: the id as 32 hex digits, then the keyed MAC of the id for that purpose (43
/// characters). A token made for one purpose opens nothing for another.
pub fn id_token(sealer: &Sealer, purpose: &str, id: Uuid) -> String {
    format!(
        "{}{}",
        id.simple(),
        sealer.link_token(purpose, id.as_bytes())
    )
}

/// The id a token names for `purpose`, when its MAC is right (checked in constant time).
pub fn token_id(sealer: &Sealer, purpose: &str, token: &str) -> Option<Uuid> {
    if token.len() != 32 + 43 || !token.is_ascii() {
        return None;
    }
    let id = Uuid::try_parse(&token[..32]).ok()?;
    crate::crypto::same_secret(&id_token(sealer, purpose, id), token).then_some(id)
}

/// The token of a case's status link.
pub fn status_token(sealer: &Sealer, case: Uuid) -> String {
    id_token(sealer, "case/status", case)
}

/// The case id a token names, when its MAC is right.
pub fn token_case(sealer: &Sealer, token: &str) -> Option<Uuid> {
    token_id(sealer, "case/status", token)
}

/// The whole address of a case's status page.
pub fn status_url(state: &AppState, case: Uuid) -> String {
    format!(
        "{}/status/{}",
        state.public_url,
        status_token(state.pipeline.sealer(), case)
    )
}

#[derive(serde::Deserialize, Default)]
pub struct LangQuery {
    #[serde(default)]
    pub(crate) lang: Option<String>,
    #[serde(default)]
    pub(crate) added: Option<String>,
    #[serde(default)]
    pub(crate) code: Option<String>,
}

pub(crate) fn plain_lang(q: Option<&str>, headers: &HeaderMap) -> String {
    let offered: Vec<String> = LANGS.iter().map(|s| s.to_string()).collect();
    i18n::negotiate(
        q,
        headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok()),
        &offered,
    )
}

pub(crate) fn languages(lang: &str) -> Vec<serde_json::Value> {
    LANGS
        .iter()
        .filter(|l| **l != lang)
        .map(|l| serde_json::json!({"code": l, "name": i18n::strings(l)["_name"]}))
        .collect()
}

/// A date and time for people in `lang`: `Dec 1, 2026 17:00 EST`, `1 de diciembre de 2026, 17:00 EST`.
pub fn when(zone: Zone, ms: i64, lang: &str) -> String {
    use chrono::Datelike;
    if lang != "es" {
        return zone.display(ms);
    }
    const MONTHS: [&str; 12] = [
        "enero",
        "febrero",
        "marzo",
        "abril",
        "mayo",
        "junio",
        "julio",
        "agosto",
        "septiembre",
        "octubre",
        "noviembre",
        "diciembre",
    ];
    let t = zone.local(ms);
    format!(
        "{} de {} de {}, {}",
        t.day(),
        MONTHS[t.month0() as usize],
        t.year(),
        t.format("%H:%M %Z")
    )
}

/// The one page for a link or code that does not open a case (wrong, unknown, expired), status 404.
pub(crate) fn missing(state: &AppState, lang: &str) -> AppResult<Response> {
    notice(state, lang, "missing", StatusCode::NOT_FOUND)
}

/// A short page in the person's language: `missing` (404) or `too_many` (429, the address's lookups are spent).
fn notice(state: &AppState, lang: &str, which: &str, status: StatusCode) -> AppResult<Response> {
    let tr = i18n::strings(lang);
    let html = state.templates.render(
        "status_missing.html",
        context! { lang => lang, tr => tr, org => tr["status"]["site"], title => tr["status"][format!("{which}_title")],
            message => tr["status"][which], languages => languages(lang) },
    )?;
    Ok((status, Html(html)).into_response())
}

/// Spends one of the address's status lookups; the localized 429 page when they are spent.
pub(crate) fn spend(
    state: &AppState,
    ip: std::net::IpAddr,
    lang: &str,
) -> Option<AppResult<Response>> {
    state
        .status_limiter
        .check(ip)
        .err()
        .map(|_| notice(state, lang, "too_many", StatusCode::TOO_MANY_REQUESTS))
}

/// The case a token opens, with its organization, or `None` for every kind of link that does not work.
async fn open_case(state: &AppState, token: &str) -> AppResult<Option<(OrgId, CaseRecord)>> {
    let Some(id) = token_case(state.pipeline.sealer(), token) else {
        return Ok(None);
    };
    let found = state.store.case_by_id(id).await?;
    Ok(found.filter(|(_, c)| {
        !c.ended
            || c.ended_at
                .is_some_and(|e| heard_store::now_ms() - e <= OPEN_AFTER_END_MS)
    }))
}

/// The status in plain words for the person: a key of `status.states` (built-in statuses by their own key, an
/// organization's own by what they do to the clock).
fn state_key(c: &CaseRecord, kind: Option<StatusKind>) -> &'static str {
    match c.status.as_str() {
        "open" => "open",
        "in_progress" => "in_progress",
        "waiting_on_customer" => "waiting_on_customer",
        "escalated" => "escalated",
        "resolved" => "resolved",
        "closed" => "closed",
        _ => match kind {
            Some(StatusKind::Pauses) => "waiting_on_others",
            Some(StatusKind::Ends) => "closed",
            _ => "in_progress",
        },
    }
}

/// What the person just did, for the page to say: added something, or was refused (with what they typed).
#[derive(Default)]
struct Outcome {
    added: bool,
    error: Option<String>,
    typed: String,
}

async fn render(
    state: &AppState,
    org: OrgId,
    c: &CaseRecord,
    token: &str,
    lang: &str,
    outcome: Outcome,
) -> AppResult<Response> {
    let now = heard_store::now_ms();
    let outcome_refused = outcome.error.is_some();
    let o = state.store.org(org).await?;
    let settings = state.store.case_settings(org).await?;
    let kind = settings.status(&c.status).map(|s| s.kind);
    let history = state.store.case_history(org, c.id).await?;
    let tr = i18n::strings(lang);
    // What happens next, and by when: the first reply while none was sent, then the resolution.
    let mut next = None;
    if !c.ended
        && let Ok(Some(policy)) = settings.policy_for(c.priority)
    {
        let changes: Vec<(i64, &Change)> = history.iter().map(|h| (h.at, &h.change)).collect();
        let hist = heard_domain::case::sla_history(changes);
        if let Ok(st) = sla::evaluate(
            &policy,
            &hist,
            now.max(history.last().map_or(now, |h| h.at)),
        ) {
            let open = |t: &Option<sla::TargetState>| {
                t.as_ref()
                    .filter(|t| {
                        matches!(
                            t.status,
                            sla::TargetStatus::Running
                                | sla::TargetStatus::AtRisk
                                | sla::TargetStatus::Paused
                        )
                    })
                    .and_then(|t| t.deadline_ms)
            };
            if st.paused {
                next = Some(("paused", None));
            } else if let Some(d) = open(&st.first_response) {
                next = Some(("reply_by", Some(when(o.time_zone, d, lang))));
            } else if let Some(d) = open(&st.resolution) {
                next = Some(("finish_by", Some(when(o.time_zone, d, lang))));
            }
        }
    }
    if next.is_none() && !c.ended && c.sla_flag == SlaFlag::Breached {
        next = Some(("late", None));
    }
    let updates: Vec<_> = history
        .iter()
        .rev()
        .filter_map(|h| match &h.change {
            Change::PublicUpdate { body } => {
                Some(context! { at => when(o.time_zone, h.at, lang), text => body, from_person => false })
            }
            Change::FromPerson { body } => {
                Some(context! { at => when(o.time_zone, h.at, lang), text => body, from_person => true })
            }
            _ => None,
        })
        .collect();
    // A call back booked on the case, or the way to ask for one.
    let callback = match state
        .store
        .scheduled_callback(org, Some(c.id), None)
        .await?
    {
        Some(cb) => Some(context! {
            window => cb.window().display_in(o.time_zone, lang),
            href => format!("/callback/{}?lang={lang}", crate::callbacks::callback_token(state.pipeline.sealer(), cb.id)),
        }),
        None => None,
    };
    let html = state.templates.render(
        "status.html",
        context! {
            lang => lang, tr => tr, org => o.name, title => tr["status"]["title"].as_str().unwrap_or("").replace("{number}", &c.number.to_string()),
            languages => languages(lang), number => c.number, code => c.status_code,
            state => state_key(c, kind), ended => c.ended, resolved => c.resolved,
            opened => when(o.time_zone, c.opened_at, lang),
            next => next.map(|(k, at)| context!{ key => k, at => at }),
            updates => updates, crisis => c.source == heard_domain::case::CaseSource::Crisis,
            token => token, added => outcome.added, error => outcome.error, typed => outcome.typed,
            callback => callback,
        },
    )?;
    let status = if outcome_refused {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    Ok((status, Html(html)).into_response())
}

async fn page(
    State(state): State<AppState>,
    Path(token): Path<String>,
    Query(q): Query<LangQuery>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
) -> AppResult<Response> {
    let lang = plain_lang(q.lang.as_deref(), &headers);
    // A right link is never limited (its token cannot be guessed); wrong ones spend the address's lookups.
    let Some((org, c)) = open_case(&state, &token).await? else {
        if let Some(limited) = spend(&state, ip, &lang) {
            return limited;
        }
        return missing(&state, &lang);
    };
    let outcome = Outcome {
        added: q.added.is_some(),
        ..Default::default()
    };
    render(&state, org, &c, &token, &lang, outcome).await
}

async fn add(
    State(state): State<AppState>,
    Path(token): Path<String>,
    Query(q): Query<LangQuery>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> AppResult<Response> {
    // Adding information spends the address's submissions, as a survey answer does.
    state.limiter.check(ip)?;
    let form = FormData::parse(&body);
    let lang = plain_lang(form.opt("lang").or(q.lang.as_deref()), &headers);
    let Some((org, c)) = open_case(&state, &token).await? else {
        return missing(&state, &lang);
    };
    let typed = form.get("information").to_string();
    let tr = i18n::strings(&lang);
    match state.store.add_from_person(org, c.id, &typed).await {
        Ok(()) => Ok(Redirect::to(&format!("/status/{token}?lang={lang}&added=1")).into_response()),
        Err(heard_store::StoreError::Invalid(_)) => {
            let msg = tr["status"]["information_invalid"]
                .as_str()
                .unwrap_or("")
                .to_string();
            let outcome = Outcome {
                added: false,
                error: Some(msg),
                typed: typed.clone(),
            };
            render(&state, org, &c, &token, &lang, outcome).await
        }
        Err(heard_store::StoreError::Conflict(_)) => {
            let msg = tr["status"]["closed_no_more"]
                .as_str()
                .unwrap_or("")
                .to_string();
            let outcome = Outcome {
                added: false,
                error: Some(msg),
                typed: typed.clone(),
            };
            render(&state, org, &c, &token, &lang, outcome).await
        }
        Err(e) => Err(e.into()),
    }
}

async fn lookup(
    State(state): State<AppState>,
    Path(org): Path<String>,
    Query(q): Query<LangQuery>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
) -> AppResult<Response> {
    let lang = plain_lang(q.lang.as_deref(), &headers);
    let Ok(o) = state.store.org_by_slug(&org).await else {
        return missing(&state, &lang);
    };
    let tr = i18n::strings(&lang);
    let mut error = None;
    if let Some(typed) = q.code.as_deref() {
        if let Some(limited) = spend(&state, ip, &lang) {
            return limited;
        }
        match heard_domain::case::normalize_status_code(typed) {
            None => error = tr["status"]["code_invalid"].as_str().map(str::to_string),
            Some(code) => match state.store.case_by_code(o.id, &code).await? {
                Some(c)
                    if !c.ended
                        || c.ended_at
                            .is_some_and(|e| heard_store::now_ms() - e <= OPEN_AFTER_END_MS) =>
                {
                    let token = status_token(state.pipeline.sealer(), c.id);
                    return Ok(
                        Redirect::to(&format!("/status/{token}?lang={lang}")).into_response()
                    );
                }
                _ => error = tr["status"]["code_unknown"].as_str().map(str::to_string),
            },
        }
    }
    let html = state.templates.render(
        "status_lookup.html",
        context! { lang => lang, tr => tr, org => o.name, slug => o.slug, title => tr["status"]["lookup_title"],
            languages => languages(&lang), error => error, typed => q.code },
    )?;
    let status = if error.is_some() {
        StatusCode::NOT_FOUND
    } else {
        StatusCode::OK
    };
    Ok((status, Html(html)).into_response())
}

/// The case opened for a response as it was stored (by crisis language or a rule), if one was: for the thank-you
/// page.
pub async fn case_opened_for(
    state: &AppState,
    org: OrgId,
    response: Uuid,
) -> Result<Option<CaseRecord>, AppError> {
    Ok(state
        .store
        .cases_linked_to(org, heard_domain::case::LinkKind::Response, response)
        .await?
        .into_iter()
        .find(|c| c.source != heard_domain::case::CaseSource::Staff))
}

/// The organization's case opened by a response's crisis language, if one was: for the SMS reply.
pub async fn crisis_case_of(
    state: &AppState,
    org: OrgId,
    response: Uuid,
) -> Result<Option<CaseRecord>, AppError> {
    Ok(state
        .store
        .cases_linked_to(org, heard_domain::case::LinkKind::Response, response)
        .await?
        .into_iter()
        .find(|c| c.source == heard_domain::case::CaseSource::Crisis))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_open_only_their_case() {
        let s = Sealer::new(&[7; 32]);
        let id = Uuid::now_v7();
        let t = status_token(&s, id);
        assert_eq!(t.len(), 75);
        assert_eq!(token_case(&s, &t), Some(id));
        let other = Uuid::now_v7();
        let forged = format!("{}{}", other.simple(), &t[32..]);
        assert_eq!(token_case(&s, &forged), None);
        assert_eq!(token_case(&Sealer::new(&[8; 32]), &t), None);
        assert_eq!(token_case(&s, &t[..74]), None);
    }

    #[test]
    fn dates_in_spanish() {
        let z = Zone::parse("America/New_York").unwrap();
        // 2026-12-01 22:00 UTC = 17:00 EST.
        let ms = 1_796_162_400_000;
        assert_eq!(when(z, ms, "en"), "Dec 1, 2026 17:00 EST");
        assert_eq!(when(z, ms, "es"), "1 de diciembre de 2026, 17:00 EST");
    }
}
