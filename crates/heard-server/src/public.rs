//! The hosted survey page: server-rendered, the U.S. Web Design System's look, usable without JavaScript, in every
//! language the survey offers. Without JavaScript every question shows, conditional ones with a plain-language note;
//! `survey.js` hides them by the same rules the server applies, and the server drops answers to hidden questions.

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use heard_domain::logic::{Condition, Test};
use heard_domain::survey::{HiddenAnswers, Question, QuestionKind, SurveyDefinition};
use heard_domain::{Arrival, Lang, OrgId, SurveyId, TouchpointId};
use heard_store::{Organization, Survey, SurveyVersion};
use minijinja::context;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

use crate::auth::ClientIp;
use crate::forms::FormData;
use crate::pipeline::Submission;
use crate::{AppError, AppResult, AppState, i18n};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .route("/healthz", get(healthz))
        .route("/s/{org}/{survey}", get(show).post(submit))
        .route("/s/{org}/{survey}/thanks", get(thanks))
}

async fn home() -> Redirect {
    Redirect::to("/admin")
}

async fn healthz(State(state): State<AppState>) -> AppResult<&'static str> {
    state.store.ping().await?;
    Ok("ok")
}

#[derive(Deserialize, Default)]
pub struct PageQuery {
    pub lang: Option<String>,
    /// The touchpoint a link or QR code was made for.
    pub tp: Option<String>,
    /// A preview by a signed-in staff member of the survey's organization is not counted as a display; anyone else
    /// asking for a preview is shown the page as everyone is, and counted.
    pub preview: Option<String>,
    /// `qr` when the page was opened from the survey's kiosk QR code: the response arrived at the kiosk.
    pub via: Option<String>,
    /// The thank-you page: the status token of the case the response opened (`crate::status`).
    pub case: Option<String>,
    /// The thank-you page: the response's callback token when the person is offered a callback
    /// (`crate::callbacks`).
    pub cb: Option<String>,
}

/// A published survey found by its public address.
pub struct Published {
    pub org: Organization,
    pub survey: Survey,
    pub version: SurveyVersion,
    /// The survey's own touchpoint, when it has one: what its responses are about (not where they arrive).
    pub touchpoint: Option<TouchpointId>,
}

/// Published surveys by address, kept for a few seconds: every submission needs its survey, and reading it from the
/// database each time would cost more than storing the response. Publishing on this instance clears the entry at
/// once; other instances see changes within `TTL`.
#[derive(Default)]
pub struct PublishedCache {
    entries: std::sync::Mutex<std::collections::HashMap<(String, SurveyId), CachedSurvey>>,
}

type CachedSurvey = (std::time::Instant, std::sync::Arc<Published>);

impl PublishedCache {
    const TTL: std::time::Duration = std::time::Duration::from_secs(5);

    /// Forgets every survey of an organization (its settings changed).
    pub fn forget_org(&self, org: heard_domain::OrgId) {
        self.entries
            .lock()
            .expect("cache lock")
            .retain(|_, (_, p)| p.org.id != org);
    }

    pub fn forget(&self, survey: SurveyId) {
        self.entries
            .lock()
            .expect("cache lock")
            .retain(|(_, id), _| *id != survey);
    }
}

pub async fn load_published(
    state: &AppState,
    org_slug: &str,
    survey: &str,
) -> AppResult<std::sync::Arc<Published>> {
    let survey_id: SurveyId = survey.parse().map_err(|_| AppError::NotFound)?;
    let key = (org_slug.to_string(), survey_id);
    if let Some((at, p)) = state
        .published
        .entries
        .lock()
        .expect("cache lock")
        .get(&key)
        && at.elapsed() < PublishedCache::TTL
    {
        return Ok(p.clone());
    }
    let org = state.store.org_by_slug(org_slug).await?;
    let survey = state.store.survey(org.id, survey_id).await?;
    let v = survey.published_version.ok_or(AppError::NotFound)?;
    let version = state.store.survey_version(org.id, survey.id, v).await?;
    let touchpoint = survey.touchpoint_id;
    let p = std::sync::Arc::new(Published {
        org,
        survey,
        version,
        touchpoint,
    });
    let mut entries = state.published.entries.lock().expect("cache lock");
    if entries.len() > 10_000 {
        entries.clear();
    }
    entries.insert(key, (std::time::Instant::now(), p.clone()));
    Ok(p)
}

/// The touchpoint named in a link, if it belongs to this survey's service, else the survey's own. It says what the
/// response is about; the channel is where it arrived (`heard_domain::Arrival`) and never follows the touchpoint.
pub async fn resolve_touchpoint(
    state: &AppState,
    p: &Published,
    tp: Option<&str>,
) -> AppResult<Option<TouchpointId>> {
    let id =
        match tp.filter(|s| !s.is_empty()) {
            // Only the hyphenated form (what Heard prints, and the API document's pattern).
            Some(s) => Some(
                Some(s)
                    .filter(|s| s.len() == 36)
                    .and_then(|s| s.parse::<TouchpointId>().ok())
                    .ok_or_else(|| {
                        AppError::field(
                            "touchpoint_id",
                            "invalid_id",
                            "touchpoint_id must be a touchpoint's id, a UUID like 0192f0c4-7a1e-7b3c-9d2e-5f6a7b8c9d0e",
                        )
                    })?,
            ),
            None => return Ok(p.touchpoint),
        };
    if p.touchpoint.is_some() && p.touchpoint == id {
        return Ok(id);
    }
    match id {
        Some(id) => {
            let t = state.store.touchpoint(p.org.id, id).await.map_err(|_| {
                AppError::field(
                    "touchpoint_id",
                    "unknown_touchpoint",
                    "this touchpoint does not exist in this organization: use one of the survey's service, or leave it out",
                )
            })?;
            if t.service_id != p.survey.service_id {
                return Err(AppError::field(
                    "touchpoint_id",
                    "wrong_service",
                    "this touchpoint belongs to another service: use one of the survey's service, or leave it out",
                ));
            }
            Ok(Some(t.id))
        }
        None => Ok(None),
    }
}

/// Today in the organization's time zone: a PRA approval "expires on" a local date, so the survey closes at the
/// organization's midnight, not UTC's.
pub fn today(zone: &heard_domain::Zone) -> chrono::NaiveDate {
    zone.date(heard_store::now_ms())
}

#[derive(Serialize)]
struct ChoiceView {
    value: String,
    label: String,
    checked: bool,
}

#[derive(Serialize)]
struct QuestionView {
    id: String,
    kind: &'static str,
    prompt: String,
    help: String,
    required: bool,
    options: Vec<ChoiceView>,
    value: String,
    error: Option<String>,
    show_if: Option<String>,
    condition_note: Option<String>,
}

fn kind_key(k: QuestionKind) -> &'static str {
    k.key()
}

/// The options a person sees for a question, in their language, including the fixed scales.
fn options_of(q: &Question, lang: &str) -> Vec<(String, String)> {
    crate::labels::choices(q, lang)
}

/// A sentence saying when a conditional question applies, for pages read without JavaScript.
fn condition_note(def: &SurveyDefinition, c: &Condition, lang: &str, tr: &Value) -> String {
    if let Condition::Test {
        question,
        is: Test::AnyOf,
        values,
    } = c
        && let Some(q) = def.question(question)
    {
        let labels: Vec<String> = options_of(q, lang)
            .into_iter()
            .filter(|(v, _)| values.contains(v))
            .map(|(_, l)| format!("“{l}”"))
            .collect();
        let or = format!(" {} ", tr["survey"]["or"].as_str().unwrap_or("or"));
        return tr["survey"]["only_if"]
            .as_str()
            .unwrap_or("")
            .replace("{answer}", &labels.join(&or))
            .replace("{question}", q.prompt.get(lang));
    }
    tr["survey"]["only_some"].as_str().unwrap_or("").to_string()
}

fn question_views(
    def: &SurveyDefinition,
    lang: &str,
    tr: &Value,
    form: &FormData,
    errors: &BTreeMap<String, String>,
) -> Vec<QuestionView> {
    def.questions
        .iter()
        .map(|q| {
            let name = format!("q.{}", q.id);
            let chosen = form.all(&name);
            QuestionView {
                id: q.id.clone(),
                kind: kind_key(q.kind),
                prompt: q.prompt.get(lang).to_string(),
                help: q.help.get(lang).to_string(),
                required: q.required,
                options: options_of(q, lang)
                    .into_iter()
                    .map(|(value, label)| ChoiceView {
                        checked: chosen.contains(&value.as_str()),
                        value,
                        label,
                    })
                    .collect(),
                value: form.get(&name).to_string(),
                error: errors.get(&q.id).cloned(),
                show_if: q
                    .show_if
                    .as_ref()
                    .map(|c| serde_json::to_string(c).unwrap_or_default()),
                condition_note: q.show_if.as_ref().map(|c| condition_note(def, c, lang, tr)),
            }
        })
        .collect()
}

/// The page language: `?lang=` if the survey offers it, else the browser's preference.
pub(crate) fn page_lang(def: &SurveyDefinition, q: Option<&str>, headers: &HeaderMap) -> String {
    let offered: Vec<String> = def
        .languages
        .iter()
        .filter(|l| i18n::has(l))
        .cloned()
        .collect();
    i18n::negotiate(
        q,
        headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok()),
        &offered,
    )
}

/// A question's wording as the error summary shows it before a colon ("Tell us about your experience: ..."):
/// without the full stop, colon, semicolon, comma or ellipsis it may end with, which would read "experience.: ...".
/// Question and exclamation marks stay: "¿Qué tal" without its "?" would be a half-asked question.
fn summary_prompt(prompt: &str) -> &str {
    prompt
        .trim_end()
        .trim_end_matches(['.', ':', ';', ',', '…'])
        .trim_end()
}

/// What a survey page shows besides the survey itself.
pub(crate) struct PageInput<'a> {
    pub p: &'a Published,
    pub lang: &'a str,
    pub form: &'a FormData,
    pub errors: BTreeMap<String, String>,
    pub tp: Option<&'a str>,
    pub via: Option<&'a str>,
    pub closed: bool,
    /// Where the form posts, when not the survey's public address (an email invitation's own link). Written into
    /// the page as it is: only paths the server made, of URL-safe characters.
    pub action: Option<&'a str>,
}

pub(crate) fn render_survey(state: &AppState, i: PageInput<'_>) -> AppResult<String> {
    let def = &i.p.version.definition;
    let tr = i18n::strings(i.lang);
    let languages: Vec<Value> = def
        .languages
        .iter()
        .filter(|l| i18n::has(l) && l.as_str() != i.lang)
        .map(|l| serde_json::json!({"code": l, "name": i18n::strings(l)["_name"]}))
        .collect();
    let key = i
        .form
        .opt("idempotency_key")
        .map(str::to_string)
        .unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
    // The summary names each question by its wording, so only questions of the survey are listed (an error for
    // any other field would read "None").
    let error_list: Vec<Value> = i
        .errors
        .iter()
        .filter_map(|(q, m)| {
            let prompt = summary_prompt(def.question(q)?.prompt.get(i.lang));
            Some(serde_json::json!({"id": q, "message": m, "prompt": prompt}))
        })
        .collect();
    state.templates.render(
        "survey.html",
        context! {
            lang => i.lang, tr => tr, languages => languages,
            org => i.p.org.name, org_slug => i.p.org.slug, survey_id => i.p.survey.id.to_string(),
            title => def.title.get(i.lang), intro => def.intro.get(i.lang),
            questions => question_views(def, i.lang, tr, i.form, &i.errors),
            errors => error_list, idempotency_key => key, tp => i.tp.unwrap_or(""),
            via => (i.via == Some("qr")).then_some("qr"),
            pra => def.pra.as_ref().map(|p| serde_json::json!({
                "omb": p.omb_control_number, "expires": p.expiration_us(), "burden": p.burden_statement.get(i.lang)})),
            closed => i.closed, version => i.p.version.version, action => i.action.map(|a| minijinja::Value::from_safe_string(a.to_string())),
        },
    )
}

async fn show(
    State(state): State<AppState>,
    Path((org, survey)): Path<(String, String)>,
    Query(q): Query<PageQuery>,
    ClientIp(ip): ClientIp,
    method: axum::http::Method,
    headers: HeaderMap,
) -> AppResult<Response> {
    let p = load_published(&state, &org, &survey).await?;
    let lang = page_lang(&p.version.definition, q.lang.as_deref(), &headers);
    resolve_touchpoint(&state, &p, q.tp.as_deref()).await?;
    let channel = Arrival::hosted_page(q.via.as_deref()).channel();
    let closed = p.version.definition.is_expired(today(&p.org.time_zone));
    let html = render_survey(
        &state,
        PageInput {
            p: &p,
            lang: &lang,
            form: &FormData::default(),
            errors: BTreeMap::new(),
            tp: q.tp.as_deref(),
            via: q.via.as_deref(),
            closed,
            action: None,
        },
    )?;
    if !closed
        && crate::ratelimit::is_view(&method, &headers)
        && !(q.preview.is_some() && is_staff_of(&state, &headers, p.org.id).await?)
        && state.displays_seen.first(
            ip,
            format!("{}/{channel}", p.survey.id),
            heard_store::now_ms(),
        )
        && state.display_limiter.check(ip).is_ok()
    {
        // A page a person is shown is a real display: A-11's "customers offered the survey". A repeat view from the
        // same address within the hour is not a new offer, and past the address's budget the page is still served,
        // but no longer counted. Displays are counted per local day.
        let day = p.org.time_zone.day_number(heard_store::now_ms());
        state
            .store
            .record_display(p.org.id, p.survey.id, channel, day, 1)
            .await?;
    }
    let status = if closed {
        StatusCode::GONE
    } else {
        StatusCode::OK
    };
    Ok((status, axum::response::Html(html)).into_response())
}

/// Whether the request carries the session of a staff member (any role) of organization `org`.
async fn is_staff_of(state: &AppState, headers: &HeaderMap, org: OrgId) -> AppResult<bool> {
    let Some(me) = crate::auth::CurrentUser::from_headers(state, headers).await? else {
        return Ok(false);
    };
    Ok(state.store.role_in(org, me.user.id).await?.is_some())
}

/// The origin a browser would send for our own pages, from the Host header.
pub fn same_origin(headers: &HeaderMap, state: &AppState) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return true;
    };
    if origin == &*state.public_url {
        return true;
    }
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"))
        == Some(host)
}

async fn submit(
    State(state): State<AppState>,
    Path((org, survey)): Path<(String, String)>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    crate::forms::LenientForm {
        form,
        errors: bad_text,
    }: crate::forms::LenientForm,
) -> AppResult<Response> {
    if !same_origin(&headers, &state) {
        return Err(AppError::Forbidden(
            "origin_not_allowed",
            "Submit this form from its own page.".into(),
        ));
    }
    state.limiter.check(ip)?;
    let p = load_published(&state, &org, &survey).await?;
    let def = &p.version.definition;
    let lang = page_lang(def, form.opt("lang"), &headers);
    let thanks = format!("/s/{}/{}/thanks?lang={lang}", p.org.slug, p.survey.id);
    if !form.get("website").is_empty() {
        // The honeypot was filled: a bot. Answer as if all went well and keep nothing.
        return Ok(Redirect::to(&thanks).into_response());
    }
    if def.is_expired(today(&p.org.time_zone)) {
        let html = render_survey(
            &state,
            PageInput {
                p: &p,
                lang: &lang,
                form: &form,
                errors: BTreeMap::new(),
                tp: None,
                via: None,
                closed: true,
                action: None,
            },
        )?;
        return Ok((StatusCode::GONE, axum::response::Html(html)).into_response());
    }
    if !bad_text.is_empty() {
        // An answer with a control character (pasted from another program, say): the form comes back with the
        // character removed and a note beside each such answer. Other fields are not typed by people. Only
        // questions the page shows are named: a field for an unknown or hidden question (one filled from the page's
        // address, not typed) is dropped silently, as its answer would be, so no one is asked to fix an answer they
        // cannot see.
        let mut shown = Vec::new();
        for e in &bad_text.0 {
            let Some(id) = e.field.strip_prefix("q.") else {
                return Err(AppError::Invalid(bad_text));
            };
            if def
                .question(id)
                .is_some_and(|q| q.kind != heard_domain::survey::QuestionKind::Hidden)
            {
                shown.push(id.to_string());
            }
        }
        if !shown.is_empty() {
            let tr = i18n::strings(&lang);
            let msg = tr["errors"]["control_character_removed"]
                .as_str()
                .unwrap_or("");
            let errors: BTreeMap<String, String> =
                shown.into_iter().map(|id| (id, msg.to_string())).collect();
            let html = render_survey(
                &state,
                PageInput {
                    p: &p,
                    lang: &lang,
                    form: &form,
                    errors,
                    tp: form.opt("tp"),
                    via: form.opt("via"),
                    closed: false,
                    action: None,
                },
            )?;
            return Ok(
                (StatusCode::UNPROCESSABLE_ENTITY, axum::response::Html(html)).into_response(),
            );
        }
    }
    let answers = answers_of(def, &form);
    let tp = form.opt("tp");
    let touchpoint_id = resolve_touchpoint(&state, &p, tp).await?;
    let via = form.opt("via");
    let channel = Arrival::hosted_page(via).channel();
    let key = heard_domain::response::parse_idempotency_key(form.get("idempotency_key"))
        .unwrap_or_else(|_| uuid::Uuid::now_v7().to_string());
    let submission = Submission {
        org_id: p.org.id,
        survey_id: p.survey.id,
        survey_version: p.version.version,
        service_id: p.survey.service_id,
        touchpoint_id,
        channel,
        language: Lang::parse(&lang).unwrap_or_else(|_| Lang::en()),
        page_path: Some(format!("/s/{}/{}", p.org.slug, p.survey.id)),
        idempotency_key: key,
        submitted_at: heard_store::now_ms(),
        answers,
        hidden: HiddenAnswers::Drop,
        keep_raw_text: p.org.keep_raw_text,
    };
    match state.pipeline.submit(&state.store, submission, def).await {
        Ok(done) => {
            // Crisis language or a rule opened a case in the response's commit: the thank-you page shows the case's
            // status link (and the 988 Lifeline for a crisis).
            let mut to = thanks;
            let response = *done.id.as_uuid();
            if let Some(c) = crate::status::case_opened_for(&state, p.org.id, response).await? {
                to.push_str("&case=");
                to.push_str(&crate::status::status_token(state.pipeline.sealer(), c.id));
            }
            // A callback offered (the organization's setting, or a rule): the thank-you page links its form.
            if crate::callbacks::offered(&state, p.org.id, response).await? {
                to.push_str("&cb=");
                to.push_str(&crate::callbacks::response_token(
                    state.pipeline.sealer(),
                    response,
                ));
            }
            Ok(Redirect::to(&to).into_response())
        }
        Err(AppError::IdempotencyKeyReused) => {
            // The form was sent before with other answers (the back button, then a change): those are kept, and
            // these are not silently dropped: the person is told, and offered a fresh form.
            let mut again = format!("/s/{}/{}?lang={lang}", p.org.slug, p.survey.id);
            if let Some(t) = tp.and_then(|t| t.parse::<TouchpointId>().ok()) {
                again.push_str(&format!("&tp={t}"));
            }
            if via == Some("qr") {
                again.push_str("&via=qr");
            }
            let html = state.templates.render(
                "reused.html",
                context! { lang => lang, tr => i18n::strings(&lang), org => p.org.name, again => again },
            )?;
            Ok((StatusCode::CONFLICT, axum::response::Html(html)).into_response())
        }
        Err(AppError::Invalid(errs)) => {
            let errors = page_errors(&lang, def, &errs);
            let html = render_survey(
                &state,
                PageInput {
                    p: &p,
                    lang: &lang,
                    form: &form,
                    errors,
                    tp,
                    via,
                    closed: false,
                    action: None,
                },
            )?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, axum::response::Html(html)).into_response())
        }
        Err(e) => Err(e),
    }
}

/// Form fields `q.<id>` as the same answers object the JSON API takes.
pub(crate) fn answers_of(def: &SurveyDefinition, form: &FormData) -> Map<String, Value> {
    let mut answers = Map::new();
    for q in &def.questions {
        let vals = form.all(&format!("q.{}", q.id));
        if vals.is_empty() {
            continue;
        }
        let v = if q.kind == QuestionKind::MultipleChoice {
            Value::Array(vals.iter().map(|s| Value::String(s.to_string())).collect())
        } else {
            Value::String(vals[0].to_string())
        };
        answers.insert(q.id.clone(), v);
    }
    answers
}

/// The page's error for each question from the pipeline's field errors (`answers.<id>`), in the page's language.
pub(crate) fn page_errors(
    lang: &str,
    def: &SurveyDefinition,
    errs: &heard_domain::FieldErrors,
) -> BTreeMap<String, String> {
    let tr = i18n::strings(lang);
    errs.0
        .iter()
        .filter_map(|e| {
            let q = e.field.strip_prefix("answers.")?;
            let msg = page_error(tr, e.code, def.question(q)).unwrap_or_else(|| e.message.clone());
            Some((q.to_string(), msg))
        })
        .collect()
}

/// The hosted page's sentence for an answer's error, in the page's language: the most specific the translations
/// have (a blank email question asks for an email address, a choice question for a choice), and always what to do.
fn page_error(tr: &Value, code: &str, q: Option<&Question>) -> Option<String> {
    let e = &tr["errors"];
    let specific = match (code, q.map(|q| q.kind)) {
        (
            "required",
            Some(
                QuestionKind::Agreement5
                | QuestionKind::Thumbs
                | QuestionKind::SingleChoice
                | QuestionKind::YesNo,
            ),
        ) => e["required_choice"].as_str().map(str::to_string),
        ("required", Some(QuestionKind::MultipleChoice)) => {
            e["required_many"].as_str().map(str::to_string)
        }
        ("required", Some(QuestionKind::ShortText | QuestionKind::LongText)) => {
            e["required_text"].as_str().map(str::to_string)
        }
        ("required", Some(QuestionKind::Email)) => e["required_email"].as_str().map(str::to_string),
        ("required", Some(QuestionKind::Phone)) => e["required_phone"].as_str().map(str::to_string),
        ("too_long", Some(k)) => {
            let n = match k {
                QuestionKind::ShortText => heard_domain::survey::SHORT_TEXT_MAX,
                QuestionKind::LongText => heard_domain::survey::LONG_TEXT_MAX,
                _ => heard_domain::survey::HIDDEN_MAX,
            };
            e["too_long_n"]
                .as_str()
                .map(|m| m.replace("{n}", &n.to_string()))
        }
        _ => None,
    };
    specific.or_else(|| e[code].as_str().map(str::to_string))
}

async fn thanks(
    State(state): State<AppState>,
    Path((org, survey)): Path<(String, String)>,
    Query(q): Query<PageQuery>,
    headers: HeaderMap,
) -> AppResult<Response> {
    let p = load_published(&state, &org, &survey).await?;
    let def = &p.version.definition;
    let lang = page_lang(def, q.lang.as_deref(), &headers);
    let tr = i18n::strings(&lang);
    let msg = if def.thank_you.is_empty() {
        tr["survey"]["thanks"].as_str().unwrap_or("").to_string()
    } else {
        def.thank_you.get(&lang).to_string()
    };
    // A case opened for this person (crisis language): its status link, only when the token is right and the case
    // is this organization's.
    let case = match q.case.as_deref() {
        Some(token) => match crate::status::token_case(state.pipeline.sealer(), token) {
            Some(id) => match state
                .store
                .case_by_id(id)
                .await?
                .filter(|(org, _)| *org == p.org.id)
            {
                Some((_, c)) => {
                    // Whether the person left a way to reach them: the page must not promise a call it cannot make.
                    let contact = match c.response_id {
                        Some(r) => !state
                            .store
                            .response_contacts(p.org.id, heard_domain::ResponseId::from_uuid(r))
                            .await?
                            .is_empty(),
                        None => false,
                    };
                    Some(
                        context! { number => c.number, code => c.status_code, href => format!("/status/{token}?lang={lang}"),
                        crisis => c.source == heard_domain::case::CaseSource::Crisis, contact => contact },
                    )
                }
                None => None,
            },
            None => None,
        },
        None => None,
    };
    // A callback offered: its form, about the case when one was opened (so the call is on the case), or else about
    // the response.
    let callback = match q.cb.as_deref().and_then(|t| {
        crate::status::token_id(state.pipeline.sealer(), "response/callback", t).map(|r| (t, r))
    }) {
        Some((t, r)) if state.store.response_exists(p.org.id, r).await? => {
            Some(match q.case.as_deref() {
                Some(ct) if case.is_some() => format!("/status/{ct}/callback?lang={lang}"),
                _ => format!("/s/{}/callback/{t}?lang={lang}", p.org.slug),
            })
        }
        _ => None,
    };
    Ok(state.templates.page(
        "thanks.html",
        context! { lang => lang, tr => tr, org => p.org.name, title => def.title.get(&lang), message => msg, case => case, callback => callback,
            pra => def.pra.as_ref().map(|p| serde_json::json!({"omb": p.omb_control_number, "expires": p.expiration_us(), "burden": p.burden_statement.get(&lang)})) },
    ))
}

#[cfg(test)]
mod tests {
    use super::summary_prompt;

    #[test]
    fn the_error_summary_drops_a_prompts_closing_full_stop_before_its_colon() {
        assert_eq!(
            summary_prompt("Cuéntenos sobre su experiencia."),
            "Cuéntenos sobre su experiencia"
        );
        assert_eq!(
            summary_prompt("Tell us about your experience. "),
            "Tell us about your experience"
        );
        assert_eq!(summary_prompt("¿Qué tal?"), "¿Qué tal?");
    }
}
