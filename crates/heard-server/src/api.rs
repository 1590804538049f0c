//! The public JSON API: a survey's published definition, submitting a response, counting a display. Browser calls
//! from other sites are allowed only from the survey's allowed origins (CORS). `/api/v1/openapi.json` describes it.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use heard_domain::response::{parse_idempotency_key, parse_page_path};
use heard_domain::survey::HiddenAnswers;
use heard_domain::{Arrival, Channel, FieldError, FieldErrors, Lang};
use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::{OpenApi, ToSchema};

use crate::auth::ClientIp;
use crate::pipeline::Submission;
use crate::public::{Published, load_published, resolve_touchpoint, same_origin, today};
use crate::{AppError, AppResult, AppState};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/openapi.json", get(openapi))
        .route(
            "/api/v1/{org}/surveys/{survey}",
            get(definition).options(preflight),
        )
        .route(
            "/api/v1/{org}/surveys/{survey}/responses",
            axum::routing::post(submit).options(preflight),
        )
        .route(
            "/api/v1/{org}/surveys/{survey}/displays",
            axum::routing::post(display).options(preflight),
        )
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Heard public API",
        version = "1",
        description = "Collect feedback for a published survey. Errors have a stable `code`, a `message` and, for invalid input, `errors` naming each field."
    ),
    paths(definition, submit, display),
    components(schemas(
        SurveyDocument,
        SubmitRequest,
        SubmitResult,
        DisplayRequest,
        ApiError,
        ApiFieldError
    ))
)]
struct ApiDoc;

async fn openapi() -> Response {
    let mut resp = Json(ApiDoc::openapi()).into_response();
    resp.headers_mut().insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    resp
}

/// The error body of every API error.
#[derive(Serialize, ToSchema)]
#[allow(dead_code)]
struct ApiError {
    /// Stable, machine-readable: invalid_input, not_found, survey_expired, origin_not_allowed, rate_limited, ...
    code: String,
    message: String,
    errors: Vec<ApiFieldError>,
}

#[derive(Serialize, ToSchema)]
#[allow(dead_code)]
struct ApiFieldError {
    /// `answers.trust`, `idempotency_key`, ...
    field: String,
    /// required, unknown_field, not_an_option, out_of_range, too_long, invalid_email, not_shown, ...
    code: String,
    message: String,
}

/// A published survey version, ready to render.
#[derive(Serialize, ToSchema)]
struct SurveyDocument {
    survey_id: String,
    /// The version to send back with answers.
    version: i32,
    /// True when the survey's PRA approval has expired: it takes no responses.
    closed: bool,
    /// The definition: questions, types, options, show/hide logic, texts per language, PRA block.
    #[schema(value_type = Object)]
    definition: Value,
    submit_url: String,
    display_url: String,
    /// The share of page views (0-100) the embedded widget offers the survey to, decided in the browser.
    sample_percent: i32,
    /// Whether `page_path` may keep the page's query string.
    keep_query: bool,
    /// The widget's own texts (buttons, scale labels, error messages) in each language the survey offers.
    #[schema(value_type = Object)]
    texts: Value,
}

/// A response to a survey.
#[derive(ToSchema)]
#[allow(dead_code)]
struct SubmitRequest {
    /// 8-100 letters, digits, '-' or '_', made by the client once per response; a retry with the same key stores nothing new.
    idempotency_key: String,
    /// Answers keyed by question id: numbers for scales and thumbs, strings for choices and text, arrays for several choices.
    #[schema(value_type = Object)]
    answers: Value,
    /// The version answered (default: the live one).
    survey_version: Option<i32>,
    /// en, es, ...
    language: Option<String>,
    /// An A-11 channel (default: the touchpoint's channel, else website).
    channel: Option<String>,
    touchpoint_id: Option<String>,
    /// The page path the response came from, without query string unless the survey opts in.
    page_path: Option<String>,
}

#[derive(Serialize, ToSchema)]
struct SubmitResult {
    id: String,
    /// True when this idempotency key was already stored: nothing new was written.
    duplicate: bool,
    survey_version: i32,
}

/// A real display of the survey (it was shown to a person), counted as "offered the survey".
#[derive(ToSchema)]
#[allow(dead_code)]
struct DisplayRequest {
    channel: Option<String>,
    touchpoint_id: Option<String>,
}

/// CORS: our own pages and the survey's allowed origins may call; anyone else is refused.
fn cors(
    headers: &HeaderMap,
    state: &AppState,
    p: &Published,
) -> Result<Option<HeaderValue>, AppError> {
    if same_origin(headers, state) {
        return Ok(None);
    }
    let origin = headers
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if p.survey.allowed_origins.iter().any(|o| o == origin) {
        Ok(HeaderValue::from_str(origin).ok())
    } else {
        Err(AppError::Forbidden(
            "origin_not_allowed",
            "This survey does not accept responses from this site.".into(),
        ))
    }
}

fn with_cors(mut resp: Response, origin: Option<HeaderValue>) -> Response {
    let h = resp.headers_mut();
    h.insert(header::VARY, HeaderValue::from_static("Origin"));
    if let Some(o) = origin {
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, o);
    }
    resp
}

async fn preflight(
    State(state): State<AppState>,
    Path((org, survey)): Path<(String, String)>,
    headers: HeaderMap,
) -> AppResult<Response> {
    let p = load_published(&state, &org, &survey).await?;
    let origin = cors(&headers, &state, &p)?;
    let mut resp = StatusCode::NO_CONTENT.into_response();
    let h = resp.headers_mut();
    h.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("GET, POST"),
    );
    h.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static("content-type"),
    );
    h.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static("600"),
    );
    Ok(with_cors(resp, origin))
}

#[utoipa::path(get, path = "/api/v1/{org}/surveys/{survey}", tag = "surveys",
    params(("org" = String, Path, description = "The organization's short name"), ("survey" = String, Path, description = "Survey id")),
    responses((status = 200, body = SurveyDocument), (status = 404, body = ApiError), (status = 403, body = ApiError)))]
async fn definition(
    State(state): State<AppState>,
    Path((org, survey)): Path<(String, String)>,
    headers: HeaderMap,
) -> AppResult<Response> {
    let p = load_published(&state, &org, &survey).await?;
    let origin = cors(&headers, &state, &p)?;
    let base = format!(
        "{}/api/v1/{}/surveys/{}",
        state.public_url, p.org.slug, p.survey.id
    );
    let doc = SurveyDocument {
        survey_id: p.survey.id.to_string(),
        version: p.version.version,
        closed: p.version.definition.is_expired(today()),
        definition: serde_json::to_value(&p.version.definition)
            .map_err(|e| AppError::Internal(e.to_string()))?,
        submit_url: format!("{base}/responses"),
        display_url: format!("{base}/displays"),
        sample_percent: p.survey.widget_sample_percent,
        keep_query: p.survey.keep_query,
        texts: widget_texts(&p.version.definition.languages),
    };
    let mut resp = Json(doc).into_response();
    resp.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=60"),
    );
    Ok(with_cors(resp, origin))
}

/// The strings the widget needs, per offered language, from the same translation files as the hosted page.
fn widget_texts(languages: &[String]) -> Value {
    let mut out = Map::new();
    for l in languages.iter().filter(|l| crate::i18n::has(l)) {
        let tr = crate::i18n::strings(l);
        let mut m = Map::new();
        for k in ["survey", "scale", "errors", "widget"] {
            m.insert(k.into(), tr[k].clone());
        }
        out.insert(l.clone(), Value::Object(m));
    }
    Value::Object(out)
}

/// Reads a JSON object body, naming the problem if it is not one.
fn json_object(headers: &HeaderMap, body: &Bytes) -> AppResult<Map<String, Value>> {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !ct.starts_with("application/json") && !ct.starts_with("text/plain") {
        return Err(AppError::UnsupportedMediaType);
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(AppError::field(
            "body",
            "not_an_object",
            "the body must be a JSON object",
        )),
        Err(e) => Err(AppError::field(
            "body",
            "invalid_json",
            format!(
                "the body is not valid JSON: line {} column {}",
                e.line(),
                e.column()
            ),
        )),
    }
}

fn opt_str<'a>(m: &'a Map<String, Value>, k: &str, errs: &mut FieldErrors) -> Option<&'a str> {
    match m.get(k) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.as_str()),
        Some(_) => {
            errs.push(FieldError::new(
                k,
                "not_text",
                format!("{k} must be a string"),
            ));
            None
        }
    }
}

#[utoipa::path(post, path = "/api/v1/{org}/surveys/{survey}/responses", tag = "responses", request_body = SubmitRequest,
    params(("org" = String, Path), ("survey" = String, Path)),
    responses((status = 201, body = SubmitResult, description = "Stored durably"),
        (status = 200, body = SubmitResult, description = "A retry: already stored"),
        (status = 422, body = ApiError, description = "Invalid input; `errors` names each field"),
        (status = 410, body = ApiError, description = "Survey expired (PRA)"),
        (status = 403, body = ApiError), (status = 404, body = ApiError), (status = 413, body = ApiError), (status = 429, body = ApiError)))]
async fn submit(
    State(state): State<AppState>,
    Path((org, survey)): Path<(String, String)>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    body: Bytes,
) -> AppResult<Response> {
    let p = load_published(&state, &org, &survey).await?;
    let origin = cors(&headers, &state, &p)?;
    state.limiter.check(ip)?;
    let m = json_object(&headers, &body)?;
    const ALLOWED: [&str; 8] = [
        "idempotency_key",
        "answers",
        "survey_version",
        "language",
        "channel",
        "touchpoint_id",
        "page_path",
        "website",
    ];
    let mut errs = FieldErrors::default();
    for k in m.keys().filter(|k| !ALLOWED.contains(&k.as_str())) {
        errs.push(FieldError::new(
            k.clone(),
            "unknown_field",
            format!("'{k}' is not a field of a response"),
        ));
    }
    if opt_str(&m, "website", &mut errs).is_some_and(|s| !s.is_empty()) {
        // Honeypot filled: a bot. Say nothing useful and keep nothing.
        return Ok(with_cors(
            (
                StatusCode::ACCEPTED,
                Json(serde_json::json!({"status": "received"})),
            )
                .into_response(),
            origin,
        ));
    }
    let key = match m.get("idempotency_key") {
        Some(Value::String(s)) => parse_idempotency_key(s).map_err(|e| errs.push(e)).ok(),
        _ => {
            errs.push(FieldError::new(
                "idempotency_key",
                "required",
                "idempotency_key is required: make one per response (a UUID)",
            ));
            None
        }
    };
    let answers = match m.get("answers") {
        Some(Value::Object(a)) => a.clone(),
        Some(_) => {
            errs.push(FieldError::new(
                "answers",
                "not_an_object",
                "answers must be an object keyed by question id",
            ));
            Map::new()
        }
        None => {
            errs.push(FieldError::new(
                "answers",
                "required",
                "answers is required",
            ));
            Map::new()
        }
    };
    let version_no = match m.get("survey_version") {
        None | Some(Value::Null) => p.version.version,
        Some(v) => match v.as_i64() {
            Some(n) if n >= 1 && n <= p.version.version as i64 => n as i32,
            _ => {
                errs.push(FieldError::new(
                    "survey_version",
                    "unknown_version",
                    format!(
                        "survey_version must be a published version, 1 to {}",
                        p.version.version
                    ),
                ));
                p.version.version
            }
        },
    };
    let language = opt_str(&m, "language", &mut errs)
        .map(Lang::parse)
        .transpose()
        .map_err(|e| errs.push(e))
        .ok()
        .flatten();
    let channel: Option<Channel> = opt_str(&m, "channel", &mut errs)
        .map(str::parse)
        .transpose()
        .map_err(|e| errs.push(e))
        .ok()
        .flatten();
    let page_path = opt_str(&m, "page_path", &mut errs)
        .map(|s| parse_page_path(s, p.survey.keep_query))
        .transpose()
        .map_err(|e| errs.push(e))
        .ok()
        .flatten();
    let tp = opt_str(&m, "touchpoint_id", &mut errs).map(str::to_string);
    if !errs.is_empty() {
        return Err(AppError::Invalid(errs));
    }
    if p.version.definition.is_expired(today()) {
        return Err(AppError::Gone(
            "survey_expired",
            "This survey closed: its OMB approval expired.".into(),
        ));
    }
    let version = if version_no == p.version.version {
        p.version.clone()
    } else {
        state
            .store
            .survey_version(p.org.id, p.survey.id, version_no)
            .await?
    };
    let touchpoint_id = resolve_touchpoint(&state, &p, tp.as_deref()).await?;
    let def = &version.definition;
    let language = language
        .filter(|l| def.languages.iter().any(|x| x == l.as_str()))
        .unwrap_or_else(|| Lang::parse(&def.languages[0]).unwrap_or_else(|_| Lang::en()));
    let submission = Submission {
        org_id: p.org.id,
        survey_id: p.survey.id,
        survey_version: version.version,
        service_id: p.survey.service_id,
        touchpoint_id,
        channel: Arrival::Api(channel).channel(),
        language,
        page_path,
        idempotency_key: key.expect("checked above"),
        submitted_at: heard_store::now_ms(),
        answers,
        hidden: HiddenAnswers::Reject,
        keep_raw_text: p.org.keep_raw_text,
    };
    let r = state.pipeline.submit(&state.store, submission, def).await?;
    let status = if r.duplicate {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    let body = SubmitResult {
        id: r.id.to_string(),
        duplicate: r.duplicate,
        survey_version: version.version,
    };
    Ok(with_cors((status, Json(body)).into_response(), origin))
}

#[utoipa::path(post, path = "/api/v1/{org}/surveys/{survey}/displays", tag = "responses", request_body = DisplayRequest,
    params(("org" = String, Path), ("survey" = String, Path)),
    responses((status = 204, description = "Counted"), (status = 422, body = ApiError), (status = 403, body = ApiError), (status = 404, body = ApiError)))]
async fn display(
    State(state): State<AppState>,
    Path((org, survey)): Path<(String, String)>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    body: Bytes,
) -> AppResult<Response> {
    let p = load_published(&state, &org, &survey).await?;
    let origin = cors(&headers, &state, &p)?;
    state.limiter.check(ip)?;
    let m = if body.is_empty() {
        Map::new()
    } else {
        json_object(&headers, &body)?
    };
    let mut errs = FieldErrors::default();
    for k in m
        .keys()
        .filter(|k| !["channel", "touchpoint_id"].contains(&k.as_str()))
    {
        errs.push(FieldError::new(
            k.clone(),
            "unknown_field",
            format!("'{k}' is not a field of a display"),
        ));
    }
    let channel: Option<Channel> = opt_str(&m, "channel", &mut errs)
        .map(str::parse)
        .transpose()
        .map_err(|e| errs.push(e))
        .ok()
        .flatten();
    let tp = opt_str(&m, "touchpoint_id", &mut errs).map(str::to_string);
    if !errs.is_empty() {
        return Err(AppError::Invalid(errs));
    }
    resolve_touchpoint(&state, &p, tp.as_deref()).await?;
    let day = chrono::Utc::now().timestamp().div_euclid(86_400);
    state
        .store
        .record_display(
            p.org.id,
            p.survey.id,
            Arrival::Api(channel).channel(),
            day,
            1,
        )
        .await?;
    Ok(with_cors(StatusCode::NO_CONTENT.into_response(), origin))
}
