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
use crate::ingest::ApiKeyScheme;
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
        description = "Collect feedback for a published survey. Every error, whatever its status, has the same JSON body: a stable `code`, a `message` that says how to put it right, and `errors` naming each field at fault (empty when no field is). Answers are checked against the survey's own questions (read them with GET first): answers that do not fit get 422."
    ),
    paths(
        definition,
        submit,
        display,
        crate::ingest::signals,
        crate::ingest::events,
        crate::ingest::event_types,
        crate::ingest::declare_event_type,
        crate::amazon_connect::contact_records,
        crate::amazon_connect::transcripts,
        crate::amazon_connect::get_mapping,
        crate::amazon_connect::put_mapping,
        crate::journeys::api_list,
        crate::journeys::api_get,
        crate::journeys::api_put,
        crate::outreach_api::contacts,
        crate::outreach_api::batches
    ),
    modifiers(&ApiKeyScheme),
    components(schemas(
        crate::ingest::BatchResult,
        crate::ingest::ItemResult,
        crate::ingest::BatchRequest,
        crate::ingest::EventTypeDoc,
        crate::ingest::EventTypeRequest,
        crate::amazon_connect::ConnectMapping,
        crate::amazon_connect::ConnectQueue,
        crate::journeys::JourneyDoc,
        crate::journeys::StageDoc,
        crate::outreach_api::OutreachContactItem,
        crate::outreach_api::OutreachContactsRequest,
        crate::outreach_api::OutreachContactsResult,
        crate::outreach_api::OutreachBatchContact,
        crate::outreach_api::OutreachBatchRequest,
        crate::outreach_api::OutreachBatchResult,
        SurveyDocument,
        SubmitRequest,
        SubmitResult,
        DisplayRequest,
        ApiError,
        ApiFieldError
    ))
)]
struct ApiDoc;

/// The document at `/api/v1/openapi.json`. `scripts/test.sh` checks the running server against it with schemathesis
/// on both backends, so what it states (enums, patterns, bounds, statuses, error shape) is what the server enforces.
async fn openapi() -> Response {
    let mut resp = Json(ApiDoc::openapi()).into_response();
    resp.headers_mut().insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    resp
}

/// The error body of every API error, for every status.
#[derive(Serialize, ToSchema)]
#[allow(dead_code)]
pub(crate) struct ApiError {
    /// Stable, machine-readable: invalid_input, not_found, survey_expired, origin_not_allowed, rate_limited,
    /// idempotency_key_reused, payload_too_large, unsupported_media_type, method_not_allowed, bad_request, ...
    code: String,
    /// A sentence for a person that says what went wrong and how to put it right.
    message: String,
    /// Each field at fault; empty when the error is not about a field.
    errors: Vec<ApiFieldError>,
}

#[derive(Serialize, ToSchema)]
#[allow(dead_code)]
pub(crate) struct ApiFieldError {
    /// `answers.trust`, `idempotency_key`, ...
    field: String,
    /// required, unknown_field, not_an_option, out_of_range, too_long, invalid_email, invalid_phone, not_text,
    /// not_shown, invalid_idempotency_key, idempotency_key_reused, unknown_channel, ... One per field: the most
    /// specific.
    code: String,
    /// How to put it right.
    message: String,
}

/// A published survey version, ready to render.
#[derive(Serialize, ToSchema)]
struct SurveyDocument {
    #[schema(format = Uuid)]
    survey_id: String,
    /// The version to send back with answers.
    #[schema(minimum = 1)]
    version: i32,
    /// True when the survey's PRA approval has expired: it takes no responses.
    closed: bool,
    /// The definition: questions, types, options, show/hide logic, texts per language, PRA block.
    #[schema(value_type = Object)]
    definition: Value,
    submit_url: String,
    display_url: String,
    /// The share of page views (0-100) the embedded widget offers the survey to, decided in the browser.
    #[schema(minimum = 0, maximum = 100)]
    sample_percent: i32,
    /// Whether `page_path` may keep the page's query string.
    keep_query: bool,
    /// The widget's own texts (buttons, scale labels, error messages) in each language the survey offers.
    #[schema(value_type = Object)]
    texts: Value,
}

/// A response to a survey. Unknown fields are refused.
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct SubmitRequest {
    /// 8-100 letters, digits, '-' or '_', made by the client once per response. A retry with the same key and the
    /// same request stores nothing new and returns the first response (200); the same key with a different request
    /// is refused (409 `idempotency_key_reused`).
    #[schema(
        pattern = "^[A-Za-z0-9_-]{8,100}$",
        min_length = 8,
        max_length = 100,
        example = "0192f0c4-7a1e-7b3c-9d2e-5f6a7b8c9d0e"
    )]
    idempotency_key: String,
    #[schema(schema_with = answers_schema)]
    answers: Value,
    /// The version answered (default: the live one); at most the live one.
    #[schema(minimum = 1)]
    survey_version: Option<i32>,
    /// A language code, e.g. en or es (default, or when the survey does not offer it: the survey's first language).
    #[schema(pattern = "^[A-Za-z]{2,3}([-_][A-Za-z0-9]{1,8})*$", example = "en")]
    language: Option<String>,
    #[schema(schema_with = channel_schema)]
    channel: Option<String>,
    /// The touchpoint the response is about (default: the survey's own); one of the survey's service.
    #[schema(
        pattern = "^([0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12})?$"
    )]
    touchpoint_id: Option<String>,
    /// The page path the response came from, without query string unless the survey opts in.
    #[schema(
        pattern = "^/[^\\u0000-\\u001F\\u007F-\\u009F]*$",
        max_length = 500,
        example = "/renew/confirmation"
    )]
    page_path: Option<String>,
    /// Leave out or empty. It is a form field people never see; a request that fills it is taken for a bot's,
    /// answered 202 and not stored.
    website: Option<String>,
}

/// `answers`: by question id, the values the survey's questions take.
fn answers_schema() -> utoipa::openapi::Object {
    use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, OneOfBuilder, Type};
    let item = || {
        OneOfBuilder::new()
            .item(ObjectBuilder::new().schema_type(Type::String))
            .item(ObjectBuilder::new().schema_type(Type::Number))
            .item(ObjectBuilder::new().schema_type(Type::Boolean))
    };
    let value = item()
        .item(ObjectBuilder::new().schema_type(Type::Null))
        .item(ArrayBuilder::new().items(item()));
    ObjectBuilder::new()
        .schema_type(Type::Object)
        .description(Some(
            "Answers keyed by question id (see the survey's definition): a whole number for scales (1-5) and thumbs \
             (1 up, 0 down), a string for choices, yes/no, text, email and phone, an array of strings for several \
             choices; null or an empty string leaves a question blank. Each answer is checked against its question; \
             a wrong one gets 422 with one error naming `answers.<question id>`.",
        ))
        .additional_properties(Some(utoipa::openapi::schema::Schema::OneOf(value.build())))
        .examples([serde_json::json!({"trust": 1})])
        .build()
}

/// `channel`: A-11's channel values, from `heard_domain::Channel`, or null.
fn channel_schema() -> utoipa::openapi::Object {
    use utoipa::openapi::schema::{ObjectBuilder, SchemaType, Type};
    let mut values: Vec<Value> = Channel::ALL.iter().map(|c| Value::from(c.key())).collect();
    values.push(Value::Null);
    ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([Type::String, Type::Null]))
        .enum_values(Some(values))
        .description(Some(
            "Where the response arrived (an A-11 channel), not the channel of the touchpoint it is about. \
             Default: website (the widget and web pages).",
        ))
        .build()
}

#[derive(Serialize, ToSchema)]
struct SubmitResult {
    #[schema(format = Uuid)]
    id: String,
    /// True when this idempotency key was already stored with the same request: nothing new was written and `id`
    /// is the first response's.
    duplicate: bool,
    #[schema(minimum = 1)]
    survey_version: i32,
    /// Present when the person is offered a callback (the organization's setting for their trust answer, or a rule
    /// that offers one): the public page where they pick a time and a number. The widget links it after its thanks.
    #[serde(skip_serializing_if = "Option::is_none")]
    callback_url: Option<String>,
}

/// A real display of the survey (it was shown to a person), counted as "offered the survey". The body is optional.
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct DisplayRequest {
    #[schema(schema_with = channel_schema)]
    channel: Option<String>,
    /// The touchpoint the display is about (default: the survey's own).
    #[schema(
        pattern = "^([0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12})?$"
    )]
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
            "This survey does not accept responses from this site: the survey's administrator can add the site to its \
             allowed origins."
                .into(),
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
    responses((status = 200, body = SurveyDocument),
        (status = 400, body = ApiError, description = "A malformed request (e.g. the address)"),
        (status = 403, body = ApiError, description = "`origin_not_allowed`: a browser on a site the survey does not allow"),
        (status = 404, body = ApiError, description = "No such published survey"),
        (status = 405, body = ApiError, description = "`method_not_allowed`: the address does not take this method; `Allow` lists those it takes"),
        (status = 413, body = ApiError, description = "The request is too large"),
        (status = 422, body = ApiError, description = "Text in the address that cannot be stored (a control character); `errors` names the field")))]
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
        closed: p.version.definition.is_expired(today(&p.org.time_zone)),
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
        Ok(mut v @ Value::Object(_)) => {
            let mut errs = FieldErrors::default();
            crate::input::clean_json("", &mut v, &mut errs);
            match v {
                Value::Object(m) if errs.is_empty() => Ok(m),
                _ => Err(AppError::Invalid(errs)),
            }
        }
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
    params(("org" = String, Path, description = "The organization's short name"), ("survey" = String, Path, description = "Survey id")),
    responses((status = 201, body = SubmitResult, description = "Stored durably"),
        (status = 200, body = SubmitResult, description = "A retry of a stored request (same key, same request): nothing new stored"),
        (status = 202, description = "Taken for a bot's (`website` filled in): not stored"),
        (status = 400, body = ApiError, description = "A malformed request (e.g. the address)"),
        (status = 403, body = ApiError, description = "`origin_not_allowed`: a browser on a site the survey does not allow"),
        (status = 404, body = ApiError, description = "No such published survey"),
        (status = 409, body = ApiError, description = "`idempotency_key_reused`: the key was used for a different request; nothing stored"),
        (status = 410, body = ApiError, description = "`survey_expired`: the survey's OMB approval expired"),
        (status = 405, body = ApiError, description = "`method_not_allowed`: the address does not take this method; `Allow` lists those it takes"),
        (status = 413, body = ApiError, description = "The body is too large"),
        (status = 415, body = ApiError, description = "Not JSON: send Content-Type: application/json"),
        (status = 422, body = ApiError, description = "Invalid input; `errors` names each field, once"),
        (status = 429, body = ApiError, description = "Too many requests from this address; see Retry-After")))]
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
            format!(
                "'{}' is not a field of a response: remove it (the fields are {})",
                k.chars().take(40).collect::<String>(),
                ALLOWED.join(", ")
            ),
        ));
    }
    let honeypot = opt_str(&m, "website", &mut errs).is_some_and(|s| !s.is_empty());
    let key = match m.get("idempotency_key") {
        Some(Value::String(s)) => parse_idempotency_key(s).map_err(|e| errs.push(e)).ok(),
        // Given, but not text: say what is wrong with it, not that it is missing.
        Some(v) if !v.is_null() => {
            errs.push(FieldError::new(
                "idempotency_key",
                "invalid_idempotency_key",
                "idempotency_key must be a string of 8 to 100 letters, digits, '-' or '_' (a UUID is a good choice)",
            ));
            None
        }
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
                "answers must be an object keyed by question id, e.g. {\"trust\": 1}",
            ));
            Map::new()
        }
        None => {
            errs.push(FieldError::new(
                "answers",
                "required",
                "answers is required: an object keyed by question id, e.g. {\"trust\": 1}",
            ));
            Map::new()
        }
    };
    let version_no = match m.get("survey_version") {
        None | Some(Value::Null) => p.version.version,
        // A whole number, also when written 2.0 (JSON does not tell them apart).
        Some(v) => match v.as_i64().or_else(|| {
            v.as_f64()
                .filter(|f| f.fract() == 0.0 && f.abs() < 1e9)
                .map(|f| f as i64)
        }) {
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
    if honeypot {
        // Honeypot filled: a bot. Say nothing useful and keep nothing (after the checks every request gets, so the
        // document's rules hold for it too).
        return Ok(with_cors(
            (
                StatusCode::ACCEPTED,
                Json(serde_json::json!({"status": "received"})),
            )
                .into_response(),
            origin,
        ));
    }
    if p.version.definition.is_expired(today(&p.org.time_zone)) {
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
        language: language.clone(),
        page_path,
        idempotency_key: key.expect("checked above"),
        submitted_at: heard_store::now_ms(),
        answers,
        hidden: HiddenAnswers::Reject,
        keep_raw_text: p.org.keep_raw_text,
    };
    let submitted_lang = if language.as_str() == "es" {
        "es"
    } else {
        "en"
    };
    let r = state.pipeline.submit(&state.store, submission, def).await?;
    let status = if r.duplicate {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    let callback_url = crate::callbacks::offer_path(&state, p.org.id, &p.org.slug, *r.id.as_uuid())
        .await?
        .map(|path| format!("{}{path}?lang={}", state.public_url, submitted_lang));
    let body = SubmitResult {
        id: r.id.to_string(),
        duplicate: r.duplicate,
        survey_version: version.version,
        callback_url,
    };
    Ok(with_cors((status, Json(body)).into_response(), origin))
}

#[utoipa::path(post, path = "/api/v1/{org}/surveys/{survey}/displays", tag = "responses", request_body(content = Option<DisplayRequest>, description = "Optional"),
    params(("org" = String, Path, description = "The organization's short name"), ("survey" = String, Path, description = "Survey id")),
    responses((status = 204, description = "Counted"),
        (status = 400, body = ApiError, description = "A malformed request (e.g. the address)"),
        (status = 403, body = ApiError, description = "`origin_not_allowed`: a browser on a site the survey does not allow"),
        (status = 404, body = ApiError, description = "No such published survey"),
        (status = 405, body = ApiError, description = "`method_not_allowed`: the address does not take this method; `Allow` lists those it takes"),
        (status = 413, body = ApiError, description = "The body is too large"),
        (status = 415, body = ApiError, description = "Not JSON: send Content-Type: application/json"),
        (status = 422, body = ApiError, description = "Invalid input; `errors` names each field, once"),
        (status = 429, body = ApiError, description = "Too many requests from this address; see Retry-After")))]
async fn display(
    State(state): State<AppState>,
    Path((org, survey)): Path<(String, String)>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    body: Bytes,
) -> AppResult<Response> {
    let p = load_published(&state, &org, &survey).await?;
    let origin = cors(&headers, &state, &p)?;
    state.display_limiter.check(ip)?;
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
            format!(
                "'{}' is not a field of a display: remove it (the fields are channel, touchpoint_id)",
                k.chars().take(40).collect::<String>()
            ),
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
    // A repeat display from the same address within the hour is not a new offer: answered alike, not counted.
    let channel = Arrival::Api(channel).channel();
    let now = heard_store::now_ms();
    if state
        .displays_seen
        .first(ip, format!("{}/{channel}", p.survey.id), now)
    {
        let day = p.org.time_zone.day_number(now);
        state
            .store
            .record_display(p.org.id, p.survey.id, channel, day, 1)
            .await?;
    }
    Ok(with_cors(StatusCode::NO_CONTENT.into_response(), origin))
}
