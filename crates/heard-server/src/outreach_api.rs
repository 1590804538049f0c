//! The outreach API (issue 20, item 1), with an organization's API key like the ingestion API:
//!
//! - `POST /api/v1/outreach/contacts`: where people may be invited. Each item names a `person` as events do
//!   (`{"customer_id"}`, `{"email"}` or `{"phone"}`) and gives a `phone` and/or an `email`, a `language` and a
//!   `time_zone`. Invitation rules look the contact up by the event's person. Contacts are sealed at rest, kept apart
//!   from events and responses, and used only to send; writing one again replaces it. All items or none.
//! - `POST /api/v1/outreach/batches`: invite a list of contacts to a survey now, by SMS or email. Keyed by its
//!   `idempotency_key`: the same key and request again answers with the first batch and writes nothing; the same key
//!   with a different request is refused (409 `idempotency_key_reused`). A contact that does not parse (a phone that
//!   is not a number, an email that is not an address) refuses the whole batch, every bad contact named
//!   (`contacts[3].phone`): nothing is half-written.

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use heard_domain::identity::PersonId;
use heard_domain::invitation_rules::{self, Channel, ContactFields, parse_contact};
use heard_domain::{FieldError, FieldErrors, SurveyId};
use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;

use crate::ingest::ApiKeyOrg;
use crate::outreach_queue::{Batch, BatchError, protect, write_batch};
use crate::{AppError, AppResult, AppState};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/outreach/contacts", post(contacts))
        .route("/api/v1/outreach/batches", post(batches))
}

fn json_object(headers: &HeaderMap, body: &Bytes) -> AppResult<Map<String, Value>> {
    if crate::ingest::content_type(headers) != "application/json" {
        return Err(AppError::UnsupportedMediaType);
    }
    let mut v = crate::ingest::parse_json(body)?;
    let mut errs = FieldErrors::default();
    crate::input::clean_json("", &mut v, &mut errs);
    if !errs.is_empty() {
        return Err(AppError::Invalid(errs));
    }
    match v {
        Value::Object(m) => Ok(m),
        _ => Err(AppError::field(
            "body",
            "not_an_object",
            "the body must be a JSON object",
        )),
    }
}

fn text<'a>(
    m: &'a Map<String, Value>,
    prefix: &str,
    key: &str,
    errs: &mut FieldErrors,
) -> Option<&'a str> {
    match m.get(key) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.as_str()),
        Some(_) => {
            errs.push(FieldError::new(
                format!("{prefix}{key}"),
                "not_text",
                format!("{prefix}{key} must be a string"),
            ));
            None
        }
    }
}

fn only(m: &Map<String, Value>, prefix: &str, allowed: &[&str], errs: &mut FieldErrors) {
    for k in m.keys().filter(|k| !allowed.contains(&k.as_str())) {
        let k: String = k.chars().take(40).collect();
        errs.push(FieldError::new(
            format!("{prefix}{k}"),
            "unknown_field",
            format!(
                "{prefix}{k} is not a field here; the fields are {}",
                allowed.join(", ")
            ),
        ));
    }
}

fn list<'a>(
    m: &'a Map<String, Value>,
    key: &str,
    errs: &mut FieldErrors,
) -> AppResult<&'a Vec<Value>> {
    match m.get(key) {
        Some(Value::Array(a)) if a.len() > invitation_rules::MAX_BATCH_CONTACTS => Err(AppError::field(
            key,
            "too_many",
            format!(
                "{key} holds at most {} entries: split it",
                invitation_rules::MAX_BATCH_CONTACTS
            ),
        )),
        Some(Value::Array(a)) if !a.is_empty() => Ok(a),
        _ => {
            errs.push(FieldError::new(
                key,
                "required",
                format!(
                    "{key} must be a list of 1 to {} objects",
                    invitation_rules::MAX_BATCH_CONTACTS
                ),
            ));
            Err(AppError::Invalid(std::mem::take(errs)))
        }
    }
}

/// One contact of `POST /api/v1/outreach/contacts`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct OutreachContactItem {
    /// Who this is, as events name people: exactly one of `customer_id`, `email`, `phone`.
    #[schema(value_type = Object)]
    person: Value,
    /// A number to text: E.164 (`+12025550123`); a US number may be written as ten digits.
    phone: Option<String>,
    /// An address to email.
    email: Option<String>,
    /// `en` (default) or `es`.
    language: Option<String>,
    /// An IANA time zone (`America/Chicago`) for quiet hours; default the organization's.
    time_zone: Option<String>,
}

/// `{"items": [ … ]}`: 1 to 10,000 contacts.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct OutreachContactsRequest {
    #[schema(min_items = 1, max_items = 10000)]
    items: Vec<OutreachContactItem>,
}

/// What was stored.
#[derive(Serialize, ToSchema)]
pub struct OutreachContactsResult {
    /// Contacts written (a person with a phone and an email counts twice).
    pub stored: usize,
}

#[utoipa::path(post, path = "/api/v1/outreach/contacts", tag = "outreach", request_body = OutreachContactsRequest,
    security(("api_key" = [])),
    responses((status = 200, body = OutreachContactsResult, description = "Stored: every contact, or none"),
        (status = 400, body = crate::api::ApiError, description = "A malformed request"),
        (status = 401, body = crate::api::ApiError, description = "`api_key_required`: no live API key"),
        (status = 405, body = crate::api::ApiError, description = "`method_not_allowed`: the address does not take this method; `Allow` lists those it takes"),
        (status = 413, body = crate::api::ApiError, description = "The body is too large"),
        (status = 415, body = crate::api::ApiError, description = "Not JSON: send Content-Type: application/json"),
        (status = 422, body = crate::api::ApiError, description = "A contact that does not parse; `errors` names each (`items[3].phone`) and nothing is stored")))]
/// Where people may be invited by invitation rules: each item's `person` (as events name people) and its `phone`
/// and/or `email`, `language` and `time_zone`. Sealed at rest and used only to send.
pub async fn contacts(
    State(state): State<AppState>,
    ApiKeyOrg(org): ApiKeyOrg,
    headers: HeaderMap,
    body: Bytes,
) -> AppResult<Json<OutreachContactsResult>> {
    let m = json_object(&headers, &body)?;
    let mut errs = FieldErrors::default();
    only(&m, "", &["items"], &mut errs);
    let items = list(&m, "items", &mut errs)?;
    let sealer = state.pipeline.sealer();
    let mut out = Vec::new();
    for (i, v) in items.iter().enumerate() {
        let prefix = format!("items[{i}].");
        let Some(item) = v.as_object() else {
            errs.push(FieldError::new(
                format!("items[{i}]"),
                "not_an_object",
                format!("items[{i}] must be an object"),
            ));
            continue;
        };
        only(
            item,
            &prefix,
            &["person", "phone", "email", "language", "time_zone"],
            &mut errs,
        );
        let person = match item.get("person") {
            Some(p) => PersonId::parse(&format!("{prefix}person"), p)
                .map_err(|e| errs.push(e))
                .ok(),
            None => {
                errs.push(FieldError::new(
                    format!("{prefix}person"),
                    "required",
                    format!("{prefix}person is required: who this is, as your events name them, e.g. {{\"customer_id\": \"C-1\"}}"),
                ));
                None
            }
        };
        let fields = ContactFields {
            person_id: None,
            phone: text(item, &prefix, "phone", &mut errs),
            email: text(item, &prefix, "email", &mut errs),
            language: text(item, &prefix, "language", &mut errs),
            time_zone: text(item, &prefix, "time_zone", &mut errs),
        };
        let given = |s: Option<&str>| s.is_some_and(|s| !s.trim().is_empty());
        let mut channels = vec![];
        if given(fields.phone) {
            channels.push(Channel::Sms);
        }
        if given(fields.email) {
            channels.push(Channel::Email);
        }
        if channels.is_empty() {
            errs.push(FieldError::new(
                format!("{prefix}phone"),
                "required",
                format!("give {prefix}phone, {prefix}email or both"),
            ));
        }
        for (n, ch) in channels.into_iter().enumerate() {
            match parse_contact(ch, &fields, &prefix) {
                Ok(mut c) => {
                    if let Some(p) = &person {
                        c.person = p.clone();
                        out.push(protect(sealer, org, ch, &c));
                    }
                }
                // Language and time zone errors are the same for both channels: name them once.
                Err(es) => errs.0.extend(es.0.into_iter().filter(|e| {
                    n == 0 || e.field.ends_with("phone") || e.field.ends_with("email")
                })),
            }
        }
    }
    if !errs.is_empty() {
        return Err(AppError::Invalid(errs));
    }
    state
        .store
        .upsert_outreach_contacts(org, &out, heard_store::now_ms())
        .await?;
    Ok(Json(OutreachContactsResult { stored: out.len() }))
}

/// One contact of a batch.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct OutreachBatchContact {
    /// The agency's customer id, which links answers to the person's other contacts; without it the phone or email
    /// is the person.
    person_id: Option<String>,
    /// Required for `sms`: E.164, or a US number of ten digits.
    phone: Option<String>,
    /// Required for `email`.
    email: Option<String>,
    /// `en` (default) or `es`.
    language: Option<String>,
    /// An IANA time zone for quiet hours; default the organization's.
    time_zone: Option<String>,
}

/// A batch of invitations.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct OutreachBatchRequest {
    /// 8 to 100 letters, digits, `-` or `_`, one per batch (a UUID is a good choice); reuse it only to retry.
    #[schema(pattern = "^[A-Za-z0-9_-]{8,100}$")]
    idempotency_key: String,
    /// A published survey of the organization.
    #[schema(format = Uuid)]
    survey_id: String,
    #[schema(pattern = "^(sms|email)$")]
    channel: String,
    #[schema(min_items = 1, max_items = 10000)]
    contacts: Vec<OutreachBatchContact>,
}

/// A batch written (201), or the first batch under the same key (200).
#[derive(Serialize, ToSchema)]
pub struct OutreachBatchResult {
    #[schema(format = Uuid)]
    pub id: String,
    /// Contacts in the batch; each becomes an invitation due now, subject to quiet hours, the contact cap and
    /// consent when it is handed off.
    pub contacts: usize,
    /// False when this is a retry of a batch already written: nothing new was written.
    pub created: bool,
}

#[utoipa::path(post, path = "/api/v1/outreach/batches", tag = "outreach", request_body = OutreachBatchRequest,
    security(("api_key" = [])),
    responses((status = 201, body = OutreachBatchResult, description = "Written: one invitation per contact, due now"),
        (status = 200, body = OutreachBatchResult, description = "The same request with the same key again: the first batch; nothing new written"),
        (status = 400, body = crate::api::ApiError, description = "A malformed request"),
        (status = 401, body = crate::api::ApiError, description = "`api_key_required`: no live API key"),
        (status = 405, body = crate::api::ApiError, description = "`method_not_allowed`: the address does not take this method; `Allow` lists those it takes"),
        (status = 409, body = crate::api::ApiError, description = "`idempotency_key_reused`: the key was used for a different batch; nothing written"),
        (status = 413, body = crate::api::ApiError, description = "The body is too large"),
        (status = 415, body = crate::api::ApiError, description = "Not JSON: send Content-Type: application/json"),
        (status = 422, body = crate::api::ApiError, description = "Invalid: `errors` names every field at fault (`contacts[3].phone`); nothing written")))]
/// Invites a list of contacts to a published survey now, by `sms` or `email`. All contacts or none.
pub async fn batches(
    State(state): State<AppState>,
    ApiKeyOrg(org): ApiKeyOrg,
    headers: HeaderMap,
    body: Bytes,
) -> AppResult<(StatusCode, Json<OutreachBatchResult>)> {
    let m = json_object(&headers, &body)?;
    let mut errs = FieldErrors::default();
    only(
        &m,
        "",
        &["idempotency_key", "survey_id", "channel", "contacts"],
        &mut errs,
    );
    let key = match text(&m, "", "idempotency_key", &mut errs) {
        Some(k) => heard_domain::idempotency::IdempotencyKey::parse("idempotency_key", k)
            .map_err(|e| errs.push(e))
            .ok(),
        None => {
            errs.push(FieldError::new(
                "idempotency_key",
                "required",
                "idempotency_key is required: make one per batch (a UUID)",
            ));
            None
        }
    };
    let survey = match text(&m, "", "survey_id", &mut errs).map(|s| s.parse::<SurveyId>()) {
        Some(Ok(s)) => Some(s),
        _ => {
            errs.push(FieldError::new(
                "survey_id",
                "invalid_survey_id",
                "survey_id must be the id of a published survey",
            ));
            None
        }
    };
    let channel = text(&m, "", "channel", &mut errs).and_then(Channel::parse);
    if channel.is_none() {
        errs.push(FieldError::new(
            "channel",
            "unknown_channel",
            "channel must be sms or email",
        ));
    }
    let items = list(&m, "contacts", &mut errs)?;
    let mut contacts = Vec::with_capacity(items.len());
    for (i, v) in items.iter().enumerate() {
        let prefix = format!("contacts[{i}].");
        let Some(item) = v.as_object() else {
            errs.push(FieldError::new(
                format!("contacts[{i}]"),
                "not_an_object",
                format!("contacts[{i}] must be an object"),
            ));
            continue;
        };
        only(
            item,
            &prefix,
            &["person_id", "phone", "email", "language", "time_zone"],
            &mut errs,
        );
        let fields = ContactFields {
            person_id: text(item, &prefix, "person_id", &mut errs),
            phone: text(item, &prefix, "phone", &mut errs),
            email: text(item, &prefix, "email", &mut errs),
            language: text(item, &prefix, "language", &mut errs),
            time_zone: text(item, &prefix, "time_zone", &mut errs),
        };
        if let Some(ch) = channel {
            match parse_contact(ch, &fields, &prefix) {
                Ok(c) => contacts.push(c),
                Err(es) => errs.0.extend(es.0),
            }
        }
    }
    let (Some(key), Some(survey), Some(channel)) = (key, survey, channel) else {
        return Err(AppError::Invalid(errs));
    };
    if !errs.is_empty() {
        return Err(AppError::Invalid(errs));
    }
    let out = write_batch(
        &state.store,
        state.pipeline.sealer(),
        &Batch {
            org,
            source: "api",
            idempotency_key: key.as_str(),
            survey,
            channel,
            contacts: &contacts,
        },
        heard_store::now_ms(),
    )
    .await
    .map_err(|e| match e {
        BatchError::Invalid(e) => AppError::Invalid(e),
        BatchError::KeyReused => AppError::IdempotencyKeyReused,
        BatchError::Store(e) => e.into(),
    })?;
    Ok((
        if out.created {
            StatusCode::CREATED
        } else {
            StatusCode::OK
        },
        Json(OutreachBatchResult {
            id: out.id.to_string(),
            contacts: out.contacts,
            created: out.created,
        }),
    ))
}
