//! Amazon Connect through the ingestion door: contact records (as Kinesis streams them) become call and chat events,
//! Contact Lens call analyses become call transcripts, each through the same pipeline and store as every other
//! event and signal (`Pipeline::prepare_event`/`prepare_signal`, `Store::insert_events`/`insert_signals`). The
//! mapping of Connect's fields is `heard_channels::amazon_connect` (its doc cites AWS's published data models).
//!
//! - `POST /api/v1/amazon-connect/contact-records`: one record, a JSON array of up to 1,000, or newline-delimited
//!   records (`application/x-ndjson`, as Kinesis Data Firehose writes them with its new-line delimiter on). One
//!   result per record; errors name the record and the Connect field (`[2].Queue.Duration`).
//! - `POST /api/v1/amazon-connect/transcripts`: one Contact Lens output file for a call, or an array of them.
//! - `GET`/`PUT /api/v1/amazon-connect/mapping`: the organization's mapping (contact attributes that carry a case
//!   number, a customer id and a disposition; queue name to service and touchpoint), kept in the store
//!   (`amazon_connect_mappings`, one JSON document per organization) and read at every request, so a change applies
//!   to the next record. It is an API, like the rest of this integration, because the people who wire a contact
//!   centre's stream to Heard are the ones who know its queue names and attributes.
//!
//! Kinesis Data Firehose's own HTTP-endpoint envelope (`{"requestId", "records": [{"data": base64}]}` with its access
//! key header) is not taken: a small forwarder (a Lambda on the stream, or on the S3 objects Firehose and Contact
//! Lens write) posts the records and files here with the API key.
//!
//! All with the organization's API key (`ingest::ApiKeyOrg`). A transcript is linked to its call by `ContactId`
//! after either is stored (`Store::link_call_transcripts`), whichever arrives first. A transcript's idempotency
//! fingerprint is its content alone (not the time or person the link later gives it), so resending the same file
//! before and after its call record arrived is the same item.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::post;
use axum::{Json, Router};
use heard_channels::amazon_connect::{
    self as connect, Mapping, contact_lens_transcript, contact_record_event,
};
use heard_domain::intake::MAX_BATCH;
use heard_domain::{FieldError, FieldErrors, OrgId};
use serde_json::Value;
use utoipa::ToSchema;

use crate::ingest::{
    ApiKeyOrg, BatchResult, Sorted, check_owned, content_type, item_object, parse_json,
};
use crate::{AppError, AppResult, AppState};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/amazon-connect/contact-records",
            post(contact_records),
        )
        .route("/api/v1/amazon-connect/transcripts", post(transcripts))
        .route(
            "/api/v1/amazon-connect/mapping",
            axum::routing::get(get_mapping).put(put_mapping),
        )
}

/// The items of a body: one JSON object, an array of them, or (`ndjson`) one per line. Each gets its name prefix
/// `[i]`; a line that is not JSON is an item refused on its own.
fn items(
    headers: &HeaderMap,
    body: &Bytes,
    ndjson_ok: bool,
) -> AppResult<Vec<(String, Result<Value, FieldErrors>)>> {
    let ct = content_type(headers);
    let values: Vec<Result<Value, FieldErrors>> = match ct.as_str() {
        "application/json" => match parse_json(body)? {
            Value::Array(a) if a.len() > MAX_BATCH => return Err(AppError::BatchTooLarge),
            Value::Array(a) if !a.is_empty() => a.into_iter().map(Ok).collect(),
            Value::Array(_) => {
                return Err(AppError::field(
                    "body",
                    "required",
                    "the body is an empty list: send 1 to 1,000 items",
                ));
            }
            v => vec![Ok(v)],
        },
        "application/x-ndjson" if ndjson_ok => {
            let text = std::str::from_utf8(body).map_err(|_| {
                AppError::field("body", "invalid_json", "the body is not UTF-8 text")
            })?;
            let lines: Vec<(usize, &str)> = text
                .lines()
                .enumerate()
                .filter(|(_, l)| !l.trim().is_empty())
                .collect();
            if lines.len() > MAX_BATCH {
                return Err(AppError::BatchTooLarge);
            }
            if lines.is_empty() {
                return Err(AppError::field(
                    "body",
                    "required",
                    "the body has no records: send 1 to 1,000, one JSON object per line",
                ));
            }
            lines
                .into_iter()
                .enumerate()
                .map(|(i, (n, l))| {
                    serde_json::from_str(l).map_err(|e| {
                        FieldErrors::single(
                            format!("[{i}]"),
                            "invalid_json",
                            format!("line {} is not valid JSON (column {})", n + 1, e.column()),
                        )
                    })
                })
                .collect()
        }
        _ => return Err(AppError::UnsupportedMediaType),
    };
    Ok(values
        .into_iter()
        .enumerate()
        .map(|(i, v)| (format!("[{i}]"), v))
        .collect())
}

/// The organization's mapping; the empty mapping when it has set none.
async fn mapping(state: &AppState, org: OrgId) -> AppResult<Mapping> {
    match state.store.amazon_connect_mapping(org).await? {
        None => Ok(Mapping::default()),
        Some(s) => {
            let v: Value = serde_json::from_str(&s)
                .map_err(|e| AppError::Internal(format!("stored Amazon Connect mapping: {e}")))?;
            Mapping::parse(&v)
                .map_err(|_| AppError::Internal("stored Amazon Connect mapping is invalid".into()))
        }
    }
}

/// Renames the `external_id` of a refused-as-reused item to the Connect field it came from.
fn rename_reused(mut r: BatchResult, field: &str) -> BatchResult {
    for item in &mut r.results {
        for e in &mut item.errors {
            if let Some(p) = e.field.strip_suffix(".external_id") {
                e.field = format!("{p}.{field}");
            }
        }
    }
    r
}

/// The external ids stored (or found stored with the same content) in a batch.
fn stored_ids(r: &BatchResult, ids: &[(usize, String)]) -> Vec<String> {
    ids.iter()
        .filter(|(i, _)| {
            r.results
                .iter()
                .any(|x| x.index == *i && (x.status == "created" || x.status == "duplicate"))
        })
        .map(|(_, id)| id.clone())
        .collect()
}

#[utoipa::path(post, path = "/api/v1/amazon-connect/contact-records", tag = "ingestion",
    request_body(content(
        (Value = "application/json"),
        (String = "application/x-ndjson")),
        description = "One Amazon Connect contact record, a JSON array of up to 1,000, or newline-delimited records"),
    security(("api_key" = [])),
    responses((status = 200, body = crate::ingest::BatchResult, description = "One result per record: created, duplicate, invalid or reused"),
        (status = 400, body = crate::api::ApiError, description = "A malformed request"),
        (status = 401, body = crate::api::ApiError, description = "`api_key_required`: no live API key"),
        (status = 405, body = crate::api::ApiError, description = "`method_not_allowed`: the address does not take this method; `Allow` lists those it takes"),
        (status = 413, body = crate::api::ApiError, description = "More than 1,000 records, or the body is too large"),
        (status = 415, body = crate::api::ApiError, description = "Send application/json or application/x-ndjson"),
        (status = 422, body = crate::api::ApiError, description = "The body is not JSON, or an empty list")))]
/// Amazon Connect contact records (the JSON its contact record stream carries) as `call` and `chat` events:
/// `ContactId` is the external id, `InitiationTimestamp` the time, `Queue.Duration` the wait, talk + hold +
/// after-contact work the handle time, hold, holds, after-contact work, transfers, abandonment, disposition (a
/// contact attribute named in the mapping), the caller's number as the person (kept only as a keyed hash), a case
/// number from the attribute the mapping names, and the service and touchpoint the mapping gives the queue. A
/// record sent again is a duplicate; a changed copy of one already stored is refused as reused (the first is kept).
/// Errors name the record and the Connect field, e.g. `[2].Queue.Duration`.
pub async fn contact_records(
    State(state): State<AppState>,
    ApiKeyOrg(org): ApiKeyOrg,
    headers: HeaderMap,
    body: Bytes,
) -> AppResult<Json<BatchResult>> {
    let items = items(&headers, &body, true)?;
    let now = heard_store::now_ms();
    let mapping = mapping(&state, org).await?;
    let catalogue = state.store.event_types(org).await?;
    let services = state.store.services(org).await?;
    let touchpoints = state.store.touchpoints(org).await?;
    let mut batch = Sorted::new(items.len());
    let mut ids = vec![];
    for (i, (prefix, v)) in items.into_iter().enumerate() {
        let parsed = v
            .and_then(|v| item_object(&prefix, v))
            .and_then(|m| {
                contact_record_event(&Value::Object(m), &prefix, &mapping, &catalogue, now)
            })
            .and_then(|e| {
                check_owned(&e.common, &prefix, &services, &touchpoints)
                    .map_err(|FieldErrors(es)| {
                        FieldErrors(
                            es.into_iter()
                                .map(|mut x| {
                                    x.field = connect::record_field(&prefix, &x.field, &mapping);
                                    x
                                })
                                .collect(),
                        )
                    })
                    .map(|_| e)
            });
        let parsed = parsed.map(|e| {
            ids.push((i, e.common.external_id.clone()));
            state.pipeline.prepare_event(org, e, connect::SOURCE, now)
        });
        batch.push(i, prefix, parsed);
    }
    let stored = state.store.insert_events(&batch.prepared).await?;
    let r = rename_reused(batch.results(stored)?, "ContactId");
    state
        .store
        .link_call_transcripts(org, &stored_ids(&r, &ids))
        .await?;
    Ok(Json(r))
}

#[utoipa::path(post, path = "/api/v1/amazon-connect/transcripts", tag = "ingestion",
    request_body(content((Value = "application/json")),
        description = "One Contact Lens output file for a call (its analysis JSON), or an array of up to 1,000"),
    security(("api_key" = [])),
    responses((status = 200, body = crate::ingest::BatchResult, description = "One result per file: created, duplicate, invalid or reused"),
        (status = 400, body = crate::api::ApiError, description = "A malformed request"),
        (status = 401, body = crate::api::ApiError, description = "`api_key_required`: no live API key"),
        (status = 405, body = crate::api::ApiError, description = "`method_not_allowed`: the address does not take this method; `Allow` lists those it takes"),
        (status = 413, body = crate::api::ApiError, description = "More than 1,000 files, or the body is too large"),
        (status = 415, body = crate::api::ApiError, description = "Not JSON: send Content-Type: application/json"),
        (status = 422, body = crate::api::ApiError, description = "The body is not JSON, or an empty list")))]
/// Contact Lens call analyses as call transcripts: `CustomerMetadata.ContactId` is the external id, each
/// `Transcript` turn a speaker turn (role `CUSTOMER` the customer, every other role the agency's side), redacted
/// before it is stored; only the customer's turns count for sentiment and themes. The transcript takes the person,
/// case, service and time of the contact record with the same `ContactId`, whichever of the two arrives first.
/// Errors name the file and the Contact Lens field, e.g. `[0].Transcript[3].ParticipantId`.
pub async fn transcripts(
    State(state): State<AppState>,
    ApiKeyOrg(org): ApiKeyOrg,
    headers: HeaderMap,
    body: Bytes,
) -> AppResult<Json<BatchResult>> {
    let items = items(&headers, &body, false)?;
    let now = heard_store::now_ms();
    let mut batch = Sorted::new(items.len());
    let mut ids = vec![];
    for (i, (prefix, v)) in items.into_iter().enumerate() {
        let parsed = v
            .and_then(|v| item_object(&prefix, v))
            .and_then(|m| contact_lens_transcript(&Value::Object(m), &prefix, now))
            .map(|t| {
                let mut input = t.signal;
                // The file has no time; its fingerprint must not depend on when it came or what it is linked to.
                input.common.occurred_at = 0;
                let mut s = state.pipeline.prepare_signal(org, input, now);
                s.occurred_at = now;
                ids.push((i, t.contact_id));
                s
            });
        batch.push(i, prefix, parsed);
    }
    let stored = state.store.insert_signals(&batch.prepared).await?;
    let r = rename_reused(batch.results(stored)?, "CustomerMetadata.ContactId");
    state
        .store
        .link_call_transcripts(org, &stored_ids(&r, &ids))
        .await?;
    Ok(Json(r))
}

/// How an organization's Amazon Connect records map to Heard.
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct ConnectMapping {
    /// The contact attribute holding the case or application number (e.g. `caseNumber`).
    #[schema(min_length = 1, max_length = 128)]
    reference_attribute: Option<String>,
    /// The contact attribute holding the agency's own customer id; when present it names the person.
    #[schema(min_length = 1, max_length = 128)]
    customer_id_attribute: Option<String>,
    /// The contact attribute holding the call's disposition.
    #[schema(min_length = 1, max_length = 128)]
    disposition_attribute: Option<String>,
    /// Queue name (`Queue.Name`, exactly) to the organization's service and touchpoint; each queue once.
    #[schema(max_items = 1000)]
    queues: Option<Vec<ConnectQueue>>,
}

/// One queue's service and touchpoint.
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct ConnectQueue {
    #[schema(min_length = 1, max_length = 256)]
    queue: String,
    #[schema(format = Uuid)]
    service_id: String,
    /// A touchpoint of that service.
    #[schema(format = Uuid)]
    touchpoint_id: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/amazon-connect/mapping", tag = "ingestion", security(("api_key" = [])),
    responses((status = 200, body = ConnectMapping, description = "The organization's mapping (empty when none was set)"),
        (status = 400, body = crate::api::ApiError, description = "A malformed request"),
        (status = 401, body = crate::api::ApiError, description = "`api_key_required`: no live API key"),
        (status = 405, body = crate::api::ApiError, description = "`method_not_allowed`: the address does not take this method; `Allow` lists those it takes"),
        (status = 422, body = crate::api::ApiError, description = "A control character in the address; `errors` names it")))]
/// The organization's Amazon Connect mapping.
pub async fn get_mapping(
    State(state): State<AppState>,
    ApiKeyOrg(org): ApiKeyOrg,
) -> AppResult<Json<Mapping>> {
    Ok(Json(mapping(&state, org).await?))
}

#[utoipa::path(put, path = "/api/v1/amazon-connect/mapping", tag = "ingestion", request_body = ConnectMapping,
    security(("api_key" = [])),
    responses((status = 200, body = ConnectMapping, description = "Set: records from now on are mapped with it"),
        (status = 400, body = crate::api::ApiError, description = "A malformed request"),
        (status = 401, body = crate::api::ApiError, description = "`api_key_required`: no live API key"),
        (status = 405, body = crate::api::ApiError, description = "`method_not_allowed`: the address does not take this method; `Allow` lists those it takes"),
        (status = 413, body = crate::api::ApiError, description = "The body is too large"),
        (status = 415, body = crate::api::ApiError, description = "Not JSON: send Content-Type: application/json"),
        (status = 422, body = crate::api::ApiError, description = "Invalid mapping; `errors` names each field (a service or touchpoint not the organization's, a queue listed twice)")))]
/// Sets the organization's Amazon Connect mapping (replacing the one before): which contact attributes carry a case
/// number, a customer id and a disposition, and which service and touchpoint each queue serves.
pub async fn put_mapping(
    State(state): State<AppState>,
    ApiKeyOrg(org): ApiKeyOrg,
    headers: HeaderMap,
    body: Bytes,
) -> AppResult<Json<Mapping>> {
    if content_type(&headers) != "application/json" {
        return Err(AppError::UnsupportedMediaType);
    }
    let mut v = parse_json(&body)?;
    let mut errs = FieldErrors::default();
    crate::input::clean_json("", &mut v, &mut errs);
    if !errs.is_empty() {
        return Err(AppError::Invalid(errs));
    }
    let m = Mapping::parse(&v)?;
    let services = state.store.services(org).await?;
    let touchpoints = state.store.touchpoints(org).await?;
    let mut errs = FieldErrors::default();
    for (i, q) in m.queues.iter().enumerate() {
        if !services.iter().any(|s| s.id == q.service_id) {
            errs.push(FieldError::new(
                format!("queues[{i}].service_id"),
                "unknown_service",
                format!("queues[{i}].service_id: no such service in your organization"),
            ));
        }
        if let Some(t) = q.touchpoint_id
            && !touchpoints
                .iter()
                .any(|x| x.id == t && x.service_id == q.service_id)
        {
            errs.push(FieldError::new(
                format!("queues[{i}].touchpoint_id"),
                "unknown_touchpoint",
                format!("queues[{i}].touchpoint_id: no such touchpoint of that service in your organization"),
            ));
        }
    }
    if !errs.is_empty() {
        return Err(AppError::Invalid(errs));
    }
    let text = serde_json::to_string(&m).map_err(|e| AppError::Internal(e.to_string()))?;
    state
        .store
        .set_amazon_connect_mapping(org, &text, heard_store::now_ms())
        .await?;
    Ok(Json(m))
}
