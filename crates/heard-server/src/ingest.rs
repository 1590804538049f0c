//! The ingestion API: signals and operational events from an organization's own systems, in batches of up to
//! 1,000 items with one result per item, and events also as CloudEvents 1.0.
//!
//! Not public: every request carries an organization's API key (`Authorization: Bearer <key>`, made by
//! `heard apikey create`, stored as its SHA-256), and the key alone decides the organization, so one organization's
//! key can never write into another's (a service or touchpoint id of another organization is refused as unknown).
//!
//! Per item, not all-or-nothing: each item is parsed on its own (errors name `items[i].field`, or `[i].field` for a
//! CloudEvents batch); the items that parsed are protected, enriched and stored together in one transaction; an
//! item refused stores nothing of itself and does not stop the others. An item's `external_id` is its idempotency
//! key (`heard_domain::idempotency`): sent again with the same content it is `duplicate` with the first id; with
//! different content it is `reused` and nothing is stored.
//!
//! CloudEvents mapping (`application/cloudevents+json`, `application/cloudevents-batch+json`): `id` is the external
//! id (unique within the organization, across its sources: CloudEvents asks only for source + id, so a producer with
//! several sources prefixes its ids); `type` names the event type, either exactly (`call`) or after a reverse-DNS prefix
//! (`gov.example.contact-center.call`: the part after the last dot); `source` is kept as the event's source;
//! `time` is when it happened (default: when received); `data` holds the rest of an event item: `service_id`,
//! `touchpoint_id`, `person`, `reference`, `measures`, `attributes`. `specversion` must be `1.0`; extension
//! attributes are ignored. Errors name CloudEvents fields (`[2].time`, `[2].data.measures.wait`).

use axum::body::Bytes;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use axum::routing::{get, post};
use axum::{Json, Router};
use heard_domain::event::{EventType, parse_event};
use heard_domain::intake::MAX_BATCH;
use heard_domain::signal::parse_signal;
use heard_domain::{FieldError, FieldErrors, OrgId};
use heard_store::StoreError;
use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;

use crate::{AppError, AppResult, AppState};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/signals", post(signals))
        .route("/api/v1/events", post(events))
        .route(
            "/api/v1/event-types",
            get(event_types).post(declare_event_type),
        )
}

/// The largest body the ingestion API takes: 8 MiB (1,000 items of a few kilobytes each).
pub const BODY_LIMIT: usize = 8 * 1024 * 1024;

/// Whether `path` is an ingestion address (it gets `BODY_LIMIT`).
pub fn is_ingest_path(path: &str) -> bool {
    path == "/api/v1/signals"
        || path == "/api/v1/events"
        || path.starts_with("/api/v1/amazon-connect/")
        || path.starts_with("/api/v1/outreach/")
        // The admin's upload of a batch of contacts (a CSV file of up to 10,000 lines).
        || (path.starts_with("/admin/o/") && path.ends_with("/outreach/batches"))
}

/// The organization whose API key the request carries. Without a live key: 401 `api_key_required`.
pub struct ApiKeyOrg(pub OrgId);

impl FromRequestParts<AppState> for ApiKeyOrg {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or(AppError::ApiKeyRequired)?;
        match state
            .store
            .api_key(&crate::crypto::sha256(token.as_bytes()))
            .await?
        {
            Some((org, _)) => Ok(ApiKeyOrg(org)),
            None => Err(AppError::ApiKeyRequired),
        }
    }
}

/// Makes a new API key's secret: `heard_` and 43 URL-safe characters. Store only `sha256` of it.
pub fn new_api_key() -> String {
    format!("heard_{}", crate::crypto::random_token())
}

/// Declares the API key (a bearer token) in the OpenAPI document.
pub struct ApiKeyScheme;

impl utoipa::Modify for ApiKeyScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_key",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}

/// What happened to one item of a batch.
#[derive(Serialize, ToSchema)]
pub struct ItemResult {
    /// The item's position in the batch, from 0.
    pub index: usize,
    /// `created`: stored; `duplicate`: its external id was stored already with the same content, nothing new stored
    /// and `id` is the first one's; `invalid`: refused, `errors` says why; `reused`: its external id was stored
    /// with different content, nothing stored.
    #[schema(pattern = "^(created|duplicate|invalid|reused)$")]
    pub status: &'static str,
    #[schema(format = Uuid)]
    pub id: Option<String>,
    /// Each field at fault, named from the batch (`items[3].occurred_at`); empty when stored.
    #[schema(value_type = Vec<crate::api::ApiFieldError>)]
    pub errors: Vec<FieldError>,
}

/// The result of a batch: one entry per item, in order, and counts.
#[derive(Serialize, ToSchema)]
pub struct BatchResult {
    pub results: Vec<ItemResult>,
    pub created: usize,
    pub duplicates: usize,
    pub refused: usize,
}

/// A batch of items: `{"items": [ … ]}`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct BatchRequest {
    /// 1 to 1,000 items, each an object as the operation says; over 1,000 gets 413 `batch_too_large`. An item that
    /// is not a valid one (not even an object) is refused in its own result, not with the batch.
    #[schema(value_type = Vec<Value>, min_items = 1, max_items = 1000)]
    items: Vec<Value>,
}

pub(crate) fn content_type(headers: &HeaderMap) -> String {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

pub(crate) fn parse_json(body: &Bytes) -> AppResult<Value> {
    serde_json::from_slice(body).map_err(|e| {
        AppError::field(
            "body",
            "invalid_json",
            format!(
                "the body is not valid JSON: line {} column {}",
                e.line(),
                e.column()
            ),
        )
    })
}

/// The body of an operation that takes only `application/json`: 415 for any other content type, and the field
/// error `body`/`invalid_json` (naming the line and column) for a body that does not parse.
fn json_body(headers: &HeaderMap, body: &Bytes) -> AppResult<Value> {
    if content_type(headers) != "application/json" {
        return Err(AppError::UnsupportedMediaType);
    }
    parse_json(body)
}

/// `{"items": [...]}` → the items, each with its name prefix.
fn batch_items(v: Value) -> AppResult<Vec<(String, Value)>> {
    let mut m = match v {
        Value::Object(m) => m,
        _ => {
            return Err(AppError::field(
                "body",
                "not_an_object",
                "the body must be {\"items\": [ … ]}",
            ));
        }
    };
    if let Some(k) = m.keys().find(|k| *k != "items") {
        return Err(AppError::field(
            &k.chars().take(40).collect::<String>(),
            "unknown_field",
            "the body has only items: {\"items\": [ … ]}",
        ));
    }
    match m.remove("items") {
        Some(Value::Array(a)) if a.len() > MAX_BATCH => Err(AppError::BatchTooLarge),
        Some(Value::Array(a)) if !a.is_empty() => Ok(a
            .into_iter()
            .enumerate()
            .map(|(i, v)| (format!("items[{i}]"), v))
            .collect()),
        _ => Err(AppError::field(
            "items",
            "required",
            "items must be a list of 1 to 1,000 items",
        )),
    }
}

/// Cleans an item's text under the edge rule (`input::clean_json`) and checks it is an object.
pub(crate) fn item_object(prefix: &str, mut v: Value) -> Result<Map<String, Value>, FieldErrors> {
    let mut errs = FieldErrors::default();
    crate::input::clean_json(prefix, &mut v, &mut errs);
    match v {
        Value::Object(m) if errs.is_empty() => Ok(m),
        Value::Object(_) => Err(errs),
        _ => Err(FieldErrors::single(
            prefix,
            "not_an_object",
            format!("{prefix} must be an object"),
        )),
    }
}

/// Checks that a parsed item's service and touchpoint are the organization's.
pub(crate) fn check_owned(
    common: &heard_domain::intake::Common,
    prefix: &str,
    services: &[heard_store::Service],
    touchpoints: &[heard_store::Touchpoint],
) -> Result<(), FieldErrors> {
    let mut errs = FieldErrors::default();
    if let Some(s) = common
        .service_id
        .filter(|s| !services.iter().any(|x| x.id == *s))
    {
        let f = heard_domain::intake::at(prefix, "service_id");
        errs.push(FieldError::new(
            &f,
            "unknown_service",
            format!("{f}: no service {s} in your organization"),
        ));
    }
    if let Some(t) = common
        .touchpoint_id
        .filter(|t| !touchpoints.iter().any(|x| x.id == *t))
    {
        let f = heard_domain::intake::at(prefix, "touchpoint_id");
        errs.push(FieldError::new(
            &f,
            "unknown_touchpoint",
            format!("{f}: no touchpoint {t} in your organization"),
        ));
    }
    errs.into_result(())
}

/// A batch's items by position: those refused at the edge (with their errors) and those prepared for the store
/// (with their name prefix), in order. `results` turns it and the store's answers into one result per item.
pub(crate) struct Sorted<P> {
    n: usize,
    refused: Vec<(usize, FieldErrors)>,
    accepted: Vec<(usize, String)>,
    /// What goes to the store, in the order of `accepted`.
    pub prepared: Vec<P>,
}

impl<P> Sorted<P> {
    pub fn new(n: usize) -> Sorted<P> {
        Sorted {
            n,
            refused: vec![],
            accepted: vec![],
            prepared: vec![],
        }
    }

    /// Item `i` (named `prefix`): prepared, or refused with its errors.
    pub fn push(&mut self, i: usize, prefix: String, item: Result<P, FieldErrors>) {
        match item {
            Ok(p) => {
                self.prepared.push(p);
                self.accepted.push((i, prefix));
            }
            Err(e) => self.refused.push((i, e)),
        }
    }

    /// One result per item, given what the store answered for `prepared` (in its order).
    pub fn results(
        self,
        stored: Vec<Result<heard_store::intake::Ingested, StoreError>>,
    ) -> AppResult<BatchResult> {
        results(self.n, self.refused, self.accepted, stored)
    }
}

/// Builds the per-item results from the refused items and the store's answers for the accepted ones.
fn results(
    n: usize,
    refused: Vec<(usize, FieldErrors)>,
    accepted: Vec<(usize, String)>,
    stored: Vec<Result<heard_store::intake::Ingested, StoreError>>,
) -> AppResult<BatchResult> {
    let mut out: Vec<Option<ItemResult>> = (0..n).map(|_| None).collect();
    for (i, errs) in refused {
        out[i] = Some(ItemResult {
            index: i,
            status: "invalid",
            id: None,
            errors: errs.0,
        });
    }
    for ((i, prefix), r) in accepted.into_iter().zip(stored) {
        out[i] = Some(match r {
            Ok(ok) => ItemResult {
                index: i,
                status: if ok.duplicate { "duplicate" } else { "created" },
                id: Some(ok.id.to_string()),
                errors: vec![],
            },
            Err(StoreError::IdempotencyKeyReused) => ItemResult {
                index: i,
                status: "reused",
                id: None,
                errors: vec![FieldError::new(
                    heard_domain::intake::at(&prefix, "external_id"),
                    heard_domain::idempotency::KEY_REUSED,
                    "this external_id was already stored with different content, which is kept; nothing was stored: \
                     give a new item a new external_id, and reuse one only to retry the same item",
                )],
            },
            Err(e) => return Err(e.into()),
        });
    }
    let results: Vec<ItemResult> = out.into_iter().flatten().collect();
    let count = |s: &str| results.iter().filter(|r| r.status == s).count();
    Ok(BatchResult {
        created: count("created"),
        duplicates: count("duplicate"),
        refused: count("invalid") + count("reused"),
        results,
    })
}

#[utoipa::path(post, path = "/api/v1/signals", tag = "ingestion", request_body = BatchRequest,
    security(("api_key" = [])),
    responses((status = 200, body = BatchResult, description = "One result per item: created, duplicate, invalid or reused"),
        (status = 400, body = crate::api::ApiError, description = "A malformed request"),
        (status = 401, body = crate::api::ApiError, description = "`api_key_required`: no live API key"),
        (status = 405, body = crate::api::ApiError, description = "`method_not_allowed`: the address does not take this method; `Allow` lists those it takes"),
        (status = 413, body = crate::api::ApiError, description = "More than 1,000 items, or the body is too large"),
        (status = 415, body = crate::api::ApiError, description = "Not JSON: send Content-Type: application/json"),
        (status = 422, body = crate::api::ApiError, description = "The body is not {\"items\": [ … ]}")))]
/// Signals: feedback nobody asked for. Each item: `external_id` (required), `source` (web_form, social, review,
/// chat, call_transcript, email, staff_observation), `author` (public or staff), `text` (or, for a call
/// transcript, `turns`: [{"speaker": "customer" | "agent", "text"}]), `rating` (1-5), `url`, `language`,
/// `occurred_at` (RFC 3339), `service_id`, `touchpoint_id`, `person` ({"email"} | {"phone"} | {"customer_id"}),
/// `reference` (a case or application number).
pub async fn signals(
    State(state): State<AppState>,
    ApiKeyOrg(org): ApiKeyOrg,
    headers: HeaderMap,
    body: Bytes,
) -> AppResult<Json<BatchResult>> {
    let items = batch_items(json_body(&headers, &body)?)?;
    let now = heard_store::now_ms();
    let services = state.store.services(org).await?;
    let touchpoints = state.store.touchpoints(org).await?;
    let mut batch = Sorted::new(items.len());
    // Enrichment runs inline, in this request (a batch is at most 1,000 items); file imports enrich on the job
    // queue instead.
    for (i, (prefix, v)) in items.into_iter().enumerate() {
        let parsed = item_object(&prefix, v)
            .and_then(|m| parse_signal(&m, &prefix, now))
            .and_then(|s| check_owned(&s.common, &prefix, &services, &touchpoints).map(|_| s))
            .map(|s| state.pipeline.prepare_signal(org, s, now));
        batch.push(i, prefix, parsed);
    }
    let stored = state.store.insert_signals(&batch.prepared).await?;
    Ok(Json(batch.results(stored)?))
}

#[utoipa::path(post, path = "/api/v1/events", tag = "ingestion",
    request_body(content(
        (BatchRequest = "application/json"),
        (Value = "application/cloudevents+json"),
        (Vec<Value> = "application/cloudevents-batch+json")),
        description = "A batch `{\"items\": [ … ]}`, one CloudEvent, or a CloudEvents batch (an array)"),
    security(("api_key" = [])),
    responses((status = 200, body = BatchResult, description = "One result per item: created, duplicate, invalid or reused"),
        (status = 400, body = crate::api::ApiError, description = "A malformed request"),
        (status = 401, body = crate::api::ApiError, description = "`api_key_required`: no live API key"),
        (status = 405, body = crate::api::ApiError, description = "`method_not_allowed`: the address does not take this method; `Allow` lists those it takes"),
        (status = 413, body = crate::api::ApiError, description = "More than 1,000 items, or the body is too large"),
        (status = 415, body = crate::api::ApiError, description = "Send application/json, application/cloudevents+json or application/cloudevents-batch+json"),
        (status = 422, body = crate::api::ApiError, description = "The body is not a batch or a CloudEvent")))]
/// Operational events. Each item: `external_id` (required), `type` (a declared event type: GET
/// /api/v1/event-types), `occurred_at` (RFC 3339; at most 15 minutes ahead), `service_id`, `touchpoint_id`,
/// `person`, `reference`, `measures` (declared names only: seconds or whole counts), `attributes` (names to strings,
/// numbers, booleans or null). CloudEvents map as the module says: `id` → external_id, `type` (after its last dot)
/// → type, `time` → occurred_at, `source` kept, `data` → the rest.
pub async fn events(
    State(state): State<AppState>,
    ApiKeyOrg(org): ApiKeyOrg,
    headers: HeaderMap,
    body: Bytes,
) -> AppResult<Json<BatchResult>> {
    let ct = content_type(&headers);
    let now = heard_store::now_ms();
    // (prefix, item, CloudEvents source when it came as one)
    let items: Vec<(String, Value, Option<String>)> = match ct.as_str() {
        "application/json" => batch_items(parse_json(&body)?)?
            .into_iter()
            .map(|(p, v)| (p, v, None))
            .collect(),
        "application/cloudevents+json" => {
            vec![(String::new(), parse_json(&body)?, Some(String::new()))]
        }
        "application/cloudevents-batch+json" => match parse_json(&body)? {
            Value::Array(a) if a.len() > MAX_BATCH => return Err(AppError::BatchTooLarge),
            Value::Array(a) if !a.is_empty() => a
                .into_iter()
                .enumerate()
                .map(|(i, v)| (format!("[{i}]"), v, Some(String::new())))
                .collect(),
            _ => {
                return Err(AppError::field(
                    "body",
                    "not_a_batch",
                    "a CloudEvents batch is a JSON array of 1 to 1,000 events",
                ));
            }
        },
        _ => return Err(AppError::UnsupportedMediaType),
    };
    let catalogue = state.store.event_types(org).await?;
    let services = state.store.services(org).await?;
    let touchpoints = state.store.touchpoints(org).await?;
    let mut batch = Sorted::new(items.len());
    for (i, (prefix, v, ce)) in items.into_iter().enumerate() {
        let parsed = item_object(&prefix, v).and_then(|m| match ce {
            None => parse_event(&m, &prefix, &catalogue, now).map(|e| (e, "api".to_string())),
            Some(_) => from_cloudevent(m, &prefix, &catalogue, now),
        });
        let parsed = parsed
            .and_then(|(e, src)| {
                check_owned(&e.common, &prefix, &services, &touchpoints).map(|_| (e, src))
            })
            .map(|(e, src)| state.pipeline.prepare_event(org, e, &src, now));
        batch.push(i, prefix, parsed);
    }
    let stored = state.store.insert_events(&batch.prepared).await?;
    Ok(Json(batch.results(stored)?))
}

/// One CloudEvent → an event item, with errors named by CloudEvents fields.
fn from_cloudevent(
    mut m: Map<String, Value>,
    prefix: &str,
    catalogue: &[EventType],
    now: i64,
) -> Result<(heard_domain::event::EventInput, String), FieldErrors> {
    use heard_domain::intake::at;
    let mut errs = FieldErrors::default();
    let mut text = |k: &str, errs: &mut FieldErrors| -> Option<String> {
        match m.remove(k) {
            Some(Value::String(s)) if !s.is_empty() => Some(s),
            _ => {
                let f = at(prefix, k);
                errs.push(FieldError::new(
                    &f,
                    "required",
                    format!("{f} is required by CloudEvents 1.0: a non-empty string"),
                ));
                None
            }
        }
    };
    match text("specversion", &mut errs).as_deref() {
        Some("1.0") | None => {}
        Some(_) => errs.push(FieldError::new(
            at(prefix, "specversion"),
            "unsupported_version",
            "specversion must be 1.0",
        )),
    }
    let id = text("id", &mut errs);
    let source = text("source", &mut errs);
    let ty = text("type", &mut errs);
    if m.get("datacontenttype")
        .and_then(Value::as_str)
        .is_some_and(|ct| !ct.starts_with("application/json"))
    {
        errs.push(FieldError::new(
            at(prefix, "datacontenttype"),
            "unsupported_media_type",
            "data must be JSON (datacontenttype application/json)",
        ));
    }
    let mut item = match m.remove("data") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(d)) => d,
        Some(_) => {
            errs.push(FieldError::new(at(prefix, "data"), "not_an_object", "data must be an object: service_id, touchpoint_id, person, reference, measures, attributes"));
            Map::new()
        }
    };
    for k in ["external_id", "type", "occurred_at"] {
        if item.remove(k).is_some() {
            errs.push(FieldError::new(
                format!("{}.{k}", at(prefix, "data")),
                "unknown_field",
                "in a CloudEvent this is given by id, type and time",
            ));
        }
    }
    if !errs.is_empty() {
        return Err(errs);
    }
    let ty = ty.expect("checked");
    item.insert("external_id".into(), Value::String(id.expect("checked")));
    item.insert(
        "type".into(),
        Value::String(ty.rsplit('.').next().unwrap_or(&ty).to_string()),
    );
    if let Some(t) = m.remove("time") {
        item.insert("occurred_at".into(), t);
    }
    parse_event(&item, prefix, catalogue, now)
        .map(|e| (e, source.expect("checked")))
        .map_err(|FieldErrors(es)| {
            FieldErrors(
                es.into_iter()
                    .map(|mut e| {
                        e.field = cloudevent_field(prefix, &e.field);
                        e
                    })
                    .collect(),
            )
        })
}

/// Renames an event item's field to the CloudEvents field it came from.
fn cloudevent_field(prefix: &str, field: &str) -> String {
    let rest = if prefix.is_empty() {
        field
    } else {
        field
            .strip_prefix(prefix)
            .and_then(|r| r.strip_prefix('.'))
            .unwrap_or(field)
    };
    let mapped = match rest {
        "external_id" => "id".to_string(),
        "type" => "type".to_string(),
        "occurred_at" => "time".to_string(),
        r => format!("data.{r}"),
    };
    heard_domain::intake::at(prefix, &mapped)
}

/// One event type of the catalogue.
#[derive(Serialize, ToSchema)]
pub struct EventTypeDoc {
    pub name: String,
    pub label: String,
    /// `[{"name": "wait", "unit": "seconds" | "count"}]`
    #[schema(value_type = Vec<Object>)]
    pub measures: Value,
    pub attributes: Vec<String>,
}

#[utoipa::path(get, path = "/api/v1/event-types", tag = "ingestion", security(("api_key" = [])),
    responses((status = 200, body = Vec<EventTypeDoc>, description = "The default catalogue and the organization's own types"),
        (status = 400, body = crate::api::ApiError, description = "A malformed request"),
        (status = 401, body = crate::api::ApiError, description = "`api_key_required`: no live API key"),
        (status = 405, body = crate::api::ApiError, description = "`method_not_allowed`: the address does not take this method; `Allow` lists those it takes"),
        (status = 422, body = crate::api::ApiError, description = "A control character in the address; `errors` names it")))]
/// The event types this organization may send: the default catalogue and its own declarations.
pub async fn event_types(
    State(state): State<AppState>,
    ApiKeyOrg(org): ApiKeyOrg,
) -> AppResult<Json<Vec<EventTypeDoc>>> {
    let types = state.store.event_types(org).await?;
    Ok(Json(
        types
            .into_iter()
            .map(|t| EventTypeDoc {
                measures: serde_json::to_value(&t.measures).unwrap_or_default(),
                name: t.name,
                label: t.label,
                attributes: t.attributes,
            })
            .collect(),
    ))
}

/// A new event type: `name` (`^[a-z][a-z0-9_]{0,63}$`, not in the default catalogue), `label`, `measures`
/// (`[{"name", "unit": "seconds" | "count"}]`) and the `attributes` it usually carries.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct EventTypeRequest {
    #[schema(pattern = "^[a-z][a-z0-9_]{0,63}$")]
    name: String,
    #[schema(min_length = 1, max_length = 200)]
    label: String,
    #[schema(value_type = Option<Vec<Object>>)]
    measures: Option<Value>,
    attributes: Option<Vec<String>>,
}

#[utoipa::path(post, path = "/api/v1/event-types", tag = "ingestion", request_body = EventTypeRequest,
    security(("api_key" = [])),
    responses((status = 201, body = EventTypeDoc, description = "Declared: events of this type are accepted from now on"),
        (status = 400, body = crate::api::ApiError, description = "A malformed request"),
        (status = 401, body = crate::api::ApiError, description = "`api_key_required`: no live API key"),
        (status = 405, body = crate::api::ApiError, description = "`method_not_allowed`: the address does not take this method; `Allow` lists those it takes"),
        (status = 409, body = crate::api::ApiError, description = "`conflict`: the name is declared already, or in the default catalogue"),
        (status = 413, body = crate::api::ApiError, description = "The body is too large"),
        (status = 415, body = crate::api::ApiError, description = "Not JSON: send Content-Type: application/json"),
        (status = 422, body = crate::api::ApiError, description = "Invalid declaration; `errors` names each field")))]
/// Declares an event type for this organization: extending the catalogue is data, not code.
pub async fn declare_event_type(
    State(state): State<AppState>,
    ApiKeyOrg(org): ApiKeyOrg,
    headers: HeaderMap,
    body: Bytes,
) -> AppResult<(axum::http::StatusCode, Json<EventTypeDoc>)> {
    let mut v = json_body(&headers, &body)?;
    let mut errs = FieldErrors::default();
    crate::input::clean_json("", &mut v, &mut errs);
    if !errs.is_empty() {
        return Err(AppError::Invalid(errs));
    }
    let Value::Object(mut m) = v else {
        return Err(AppError::field(
            "body",
            "not_an_object",
            "the body must be a JSON object",
        ));
    };
    for k in ["measures", "attributes"] {
        if m.get(k).is_none_or(Value::is_null) {
            m.insert(k.into(), Value::Array(vec![]));
        }
    }
    let t: EventType = serde_json::from_value(Value::Object(m)).map_err(|e| {
        AppError::field(
            "body",
            "invalid_event_type",
            format!("the body must be {{\"name\", \"label\", \"measures\": [{{\"name\", \"unit\": \"seconds\" | \"count\"}}], \"attributes\": [names]}}: {e}"),
        )
    })?;
    t.check()?;
    state
        .store
        .declare_event_type(org, &t, heard_store::now_ms())
        .await?;
    Ok((
        axum::http::StatusCode::CREATED,
        Json(EventTypeDoc {
            measures: serde_json::to_value(&t.measures).unwrap_or_default(),
            name: t.name,
            label: t.label,
            attributes: t.attributes,
        }),
    ))
}
