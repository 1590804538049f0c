//! The public "Report a problem / Tell us about your experience" page of a service, at `/r/{org}/{service}` (the
//! organization's slug and the service's id; `?tp=` preselects a touchpoint of the service, `?url=` fills in the
//! address of the page the person came from, `?lang=` picks English or Spanish). It is served from Heard's own
//! origin, like the hosted survey, in the U.S. Web Design System's look, and needs no JavaScript.
//!
//! What a person sends becomes a *signal* (source `web_form`, author public, about the service) by the ingestion
//! API's path: parsed at the edge (`heard_domain::voice::parse_report`), redacted, enriched and its contact hashed
//! into a person key by `Pipeline::prepare_form_signal`, stored by the same insert (`Store::insert_form_signal`), so
//! crisis language is urgent in the same commit. The contact, given only by someone who wants a reply, is sealed like
//! a survey's contact answer and never shown in analytics.
//!
//! Posting needs no cookie and no CSRF token (there is no session to ride): the `Origin` must be ours, each address
//! has the hosted survey's submission budget, a hidden field catches bots, and the form's own key (made when the
//! page was shown) is the signal's external id, so sending the same form twice stores it once and sending it again
//! with other words is refused, not silently merged. The thank-you page is the answer to the post itself, not a
//! redirect: when the words show crisis language it carries the 988 Suicide & Crisis Lifeline, and that fact must
//! not sit in an address in the browser's history on a shared computer.
//!
//! No Paperwork Reduction Act notice: the page asks for a person's own account in their own words, a general
//! solicitation of comments (5 CFR 1320.3(h)(4)), not the same questions put to ten or more people as a survey does.

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use heard_domain::voice::{MAX_WHAT, ReportForm, parse_report};
use heard_domain::{FieldErrors, Lang, ServiceId};
use heard_store::{Organization, Service, Touchpoint};
use minijinja::context;
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;

use crate::auth::ClientIp;
use crate::forms::{FormData, LenientForm};
use crate::{AppError, AppResult, AppState, i18n};

pub fn routes() -> Router<AppState> {
    Router::new().route("/r/{org}/{service}", get(show).post(submit))
}

/// The public address of a service's report page.
pub fn page_url(public_url: &str, org_slug: &str, service: ServiceId) -> String {
    format!("{public_url}/r/{org_slug}/{service}")
}

#[derive(Deserialize, Default)]
pub struct PageQuery {
    pub lang: Option<String>,
    /// A touchpoint of the service to preselect (a poster at an office, a link on one page).
    pub tp: Option<String>,
    /// The address of the page the person was on, filled into the form (they can change or clear it).
    pub url: Option<String>,
}

struct Found {
    org: Organization,
    service: Service,
    touchpoints: Vec<Touchpoint>,
}

async fn load(state: &AppState, org: &str, service: &str) -> AppResult<Found> {
    let id: ServiceId = service.parse().map_err(|_| AppError::NotFound)?;
    let org = state.store.org_by_slug(org).await?;
    let service = state.store.service(org.id, id).await?;
    let touchpoints = state
        .store
        .touchpoints(org.id)
        .await?
        .into_iter()
        .filter(|t| t.service_id == id)
        .collect();
    Ok(Found {
        org,
        service,
        touchpoints,
    })
}

/// `?lang=` or the form's `lang` if Heard has the language, else the browser's preference among them.
fn page_lang(explicit: Option<&str>, headers: &HeaderMap) -> String {
    let offered: Vec<String> = i18n::languages().into_iter().map(|(c, _)| c).collect();
    i18n::negotiate(
        explicit,
        headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok()),
        &offered,
    )
}

/// The fields people type (a hidden character in one of them is removed and named, not refused).
const TYPED: [&str; 3] = ["what", "url", "contact"];

/// The page's sentence for a field's error, in the page's language, by field and code.
fn message(tr: &Value, field: &str, code: &str) -> String {
    let e = &tr["report"]["errors"];
    e[format!("{field}_{code}")]
        .as_str()
        .or_else(|| e[field].as_str())
        .unwrap_or("")
        .replace("{n}", &MAX_WHAT.to_string())
}

struct PageInput<'a> {
    found: &'a Found,
    lang: &'a str,
    form: &'a FormData,
    errors: BTreeMap<String, String>,
    tp: Option<&'a str>,
}

fn render_form(state: &AppState, i: PageInput<'_>) -> AppResult<String> {
    let tr = i18n::strings(i.lang);
    let languages: Vec<Value> = i18n::languages()
        .into_iter()
        .filter(|(c, _)| c != i.lang)
        .map(|(c, name)| json!({"code": c, "name": name}))
        .collect();
    let token = i
        .form
        .opt("token")
        .filter(|t| uuid::Uuid::parse_str(t).is_ok())
        .map(str::to_string)
        .unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
    let chosen_tp = i.form.opt("touchpoint").or(i.tp).unwrap_or("");
    let touchpoints: Vec<Value> = i
        .found
        .touchpoints
        .iter()
        .map(|t| {
            let id = t.id.to_string();
            json!({"id": id, "name": t.name.get(i.lang), "selected": id == chosen_tp})
        })
        .collect();
    let rating = i.form.get("rating");
    let ratings: Vec<Value> = (1..=5)
        .map(|n: i32| {
            json!({"value": n.to_string(), "label": tr["report"]["ratings"][(n - 1) as usize],
                "checked": rating == n.to_string()})
        })
        .collect();
    // The summary lists errors in the order of the form, each naming its field.
    let order = ["what", "touchpoint", "rating", "url", "contact"];
    let summary: Vec<Value> = order
        .iter()
        .filter_map(|f| {
            let m = i.errors.get(*f)?;
            Some(json!({"field": f, "label": tr["report"]["fields"][*f], "message": m}))
        })
        .collect();
    state.templates.render(
        "report.html",
        context! {
            lang => i.lang, tr => tr, languages => languages, tp => i.tp.unwrap_or(""),
            org => i.found.org.name, org_slug => i.found.org.slug,
            service => i.found.service.name.get(i.lang), service_id => i.found.service.id.to_string(),
            token => token, touchpoints => touchpoints, ratings => ratings, no_rating => rating.is_empty(),
            what => i.form.get("what"), url => i.form.get("url"), contact => i.form.get("contact"),
            errors => i.errors, summary => summary, max_what => MAX_WHAT,
        },
    )
}

async fn show(
    State(state): State<AppState>,
    Path((org, service)): Path<(String, String)>,
    Query(q): Query<PageQuery>,
    headers: HeaderMap,
) -> AppResult<Response> {
    let found = load(&state, &org, &service).await?;
    let lang = page_lang(q.lang.as_deref(), &headers);
    // A link may name a touchpoint of the service and the page it was on; anything else is ignored, not an error:
    // the person did not type it and cannot fix it.
    let tp =
        q.tp.as_deref()
            .filter(|t| found.touchpoints.iter().any(|x| x.id.to_string() == *t));
    let mut prefill = FormData::default();
    if let Some(u) = q
        .url
        .as_deref()
        .filter(|u| u.starts_with("https://") || u.starts_with("http://"))
    {
        prefill
            .0
            .push(("url".into(), u.chars().take(2000).collect()));
    }
    let html = render_form(
        &state,
        PageInput {
            found: &found,
            lang: &lang,
            form: &prefill,
            errors: BTreeMap::new(),
            tp,
        },
    )?;
    Ok(Html(html).into_response())
}

fn thanks(
    state: &AppState,
    found: &Found,
    lang: &str,
    crisis: bool,
    reply: bool,
) -> AppResult<Response> {
    let html = state.templates.render(
        "report_thanks.html",
        context! { lang => lang, tr => i18n::strings(lang), org => found.org.name,
        service => found.service.name.get(lang), crisis => crisis, reply => reply },
    )?;
    Ok(Html(html).into_response())
}

async fn submit(
    State(state): State<AppState>,
    Path((org, service)): Path<(String, String)>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    LenientForm {
        form,
        errors: bad_text,
    }: LenientForm,
) -> AppResult<Response> {
    if !crate::public::same_origin(&headers, &state) {
        return Err(AppError::Forbidden(
            "origin_not_allowed",
            "Submit this form from its own page.".into(),
        ));
    }
    state.limiter.check(ip)?;
    let found = load(&state, &org, &service).await?;
    let lang = page_lang(form.opt("lang"), &headers);
    let tr = i18n::strings(&lang);
    if !form.get("website").is_empty() {
        // The honeypot was filled: a bot. Answer as if all went well and keep nothing.
        return thanks(&state, &found, &lang, false, false);
    }
    let rerender = |errors: BTreeMap<String, String>, status: StatusCode| -> AppResult<Response> {
        let html = render_form(
            &state,
            PageInput {
                found: &found,
                lang: &lang,
                form: &form,
                errors,
                tp: None,
            },
        )?;
        Ok((status, Html(html)).into_response())
    };
    if !bad_text.is_empty() {
        // A hidden character pasted from another program: removed, and named beside each field that held one. A
        // field people do not type (the key, the language) with one is a crafted request: refused.
        if bad_text
            .0
            .iter()
            .any(|e| !TYPED.contains(&e.field.as_str()))
        {
            return Err(AppError::Invalid(bad_text));
        }
        let msg = tr["errors"]["control_character_removed"]
            .as_str()
            .unwrap_or("");
        let errors = bad_text
            .0
            .iter()
            .map(|e| (e.field.clone(), msg.to_string()))
            .collect();
        return rerender(errors, StatusCode::UNPROCESSABLE_ENTITY);
    }
    let token = form
        .opt("token")
        .filter(|t| uuid::Uuid::parse_str(t).is_ok())
        .map(str::to_string)
        .unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
    let tp_ids: Vec<_> = found.touchpoints.iter().map(|t| t.id).collect();
    let parsed = parse_report(
        &ReportForm {
            what: form.get("what"),
            touchpoint: form.get("touchpoint"),
            rating: form.get("rating"),
            url: form.get("url"),
            contact: form.get("contact"),
        },
        found.service.id,
        &tp_ids,
        Lang::parse(&lang).unwrap_or_else(|_| Lang::en()),
        &token,
        heard_store::now_ms(),
    );
    let parsed = match parsed {
        Ok(p) => p,
        Err(FieldErrors(errs)) => {
            let errors = errs
                .iter()
                .map(|e| (e.field.clone(), message(tr, &e.field, e.code)))
                .collect();
            return rerender(errors, StatusCode::UNPROCESSABLE_ENTITY);
        }
    };
    let reply = parsed.extras.contact.is_some();
    let now = heard_store::now_ms();
    let (signal, extras) = state
        .pipeline
        .prepare_form_signal(found.org.id, parsed, now);
    let crisis = signal.enrichment.as_ref().is_some_and(|e| {
        e["urgency"]
            .as_array()
            .is_some_and(|u| u.iter().any(|x| x == "crisis"))
    });
    match state.store.insert_form_signal(&signal, &extras).await {
        Ok(_) => thanks(&state, &found, &lang, crisis, reply),
        Err(heard_store::StoreError::IdempotencyKeyReused) => {
            // The back button, a change, and Send again: what was sent first is kept, and this is not silently
            // dropped: the person is told, and offered the form again with their words in it under a new key.
            let mut again = form.clone();
            again.0.retain(|(k, _)| k != "token");
            let html = render_form(
                &state,
                PageInput {
                    found: &found,
                    lang: &lang,
                    form: &again,
                    errors: BTreeMap::from([(
                        "what".to_string(),
                        tr["report"]["errors"]["reused"]
                            .as_str()
                            .unwrap_or("")
                            .to_string(),
                    )]),
                    tp: None,
                },
            )?;
            Ok((StatusCode::CONFLICT, Html(html)).into_response())
        }
        Err(e) => Err(e.into()),
    }
}
