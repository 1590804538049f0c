//! Journeys in the product (issue 18, item 6): definitions stored per organization, the event log built from its
//! responses, signals and events joined by person key, and the `journeys.refresh` job that computes a journey's
//! figures with `heard_insight::journeys` and stores them as an insight snapshot (kind `journey`, scope
//! `journey:<id>`, period a fiscal quarter such as `FY2027-Q1` or `""` for all time), which the admin's journey page
//! reads. A page never rebuilds the log: at tens of millions of events that is a job's work, not a request's.
//!
//! **When a journey is recomputed.** When its definition changes (the job is enqueued in the transaction that
//! writes it); on a debounce after data arrives (the commit of new data upserts one `data.arrived` job per
//! organization and [`DEBOUNCE_MS`] window, whose handler, `crate::after_data`, enqueues one job per journey and
//! period keyed by the window, so a steady stream of items costs one recomputation per window); and when someone
//! presses "Refresh now".
//!
//! **The log.** [`push_row`] is the one place a stored row becomes an event of a journey's log: its case is the
//! person key (rows of nobody known are left out, as in XES), its activity [`activity_of`] (the event type, with a
//! form's step for `step_completed` events, so a funnel can tell an upload step from a review step), its channel
//! [`channel_of`] and its touchpoint's English name. `heard export events` and the journey job read the same rows
//! (`Store::log_rows`).

use std::borrow::Cow;

use futures_util::TryStreamExt;
use futures_util::future::BoxFuture;
use heard_domain::fiscal::FiscalQuarter;
use heard_domain::{FieldError, OrgId, Zone};
use heard_insight::journeys::{
    EventLogBuilder, JourneyAccumulator, JourneyDefinition, JourneyFigures,
};
use heard_store::Store;
use heard_store::event_log::{LogOrder, LogQuery, LogRow};
use heard_store::jobs::{ClaimedJob, NewJob, StoreTx};
use heard_store::snapshots::InsightSnapshot;
use serde::{Deserialize, Serialize};

use crate::jobs::{Completed, JobHandler};

/// The job kind that recomputes one journey for one period.
pub const REFRESH_KIND: &str = "journeys.refresh";
/// The snapshot kind journeys are stored under.
pub const SNAPSHOT_KIND: &str = "journey";
/// Arrivals within this window (ms) share one recomputation, run at the window's end: five minutes.
pub const DEBOUNCE_MS: i64 = heard_store::after_data::DEBOUNCE_MS;
/// The activities that are contacts with the organization, for repeat contacts.
pub const CONTACT_ACTIVITIES: [&str; 3] = ["call", "chat", "office_visit"];
/// Variants listed by name; the rest are counted together.
pub const TOP_VARIANTS: usize = 15;
/// Positions of the Sankey diagram, and activities named in each.
pub const FLOW_DEPTH: usize = 5;
pub const FLOW_TOP: usize = 5;
/// Repeat contacts are counted 1, 2, ... up to this many or more.
pub const CONTACT_BUCKETS: usize = 5;

/// The journeys every organization may start from (`data/journeys.json`): a generic benefit application
/// (apply → documents → decision → payment, on the default event types) and the demo agency's SNAP online
/// application, whose form steps are stages.
pub const DEFAULT_JOURNEYS: &str = include_str!("../data/journeys.json");

/// The default journeys as (id, definition), parsed and validated.
pub fn default_journeys() -> Vec<(String, JourneyDefinition)> {
    #[derive(Deserialize)]
    struct Entry {
        id: String,
        definition: JourneyDefinition,
    }
    let entries: Vec<Entry> =
        serde_json::from_str(DEFAULT_JOURNEYS).expect("data/journeys.json is valid");
    entries
        .into_iter()
        .map(|e| {
            e.definition
                .validate()
                .expect("data/journeys.json's definitions validate");
            (e.id, e.definition)
        })
        .collect()
}

/// Checks a journey's short name: 1 to 60 lower-case ASCII letters, digits and hyphens, starting with a letter or
/// digit (it is part of addresses).
pub fn parse_journey_id(id: &str) -> Result<&str, FieldError> {
    let ok = !id.is_empty()
        && id.len() <= 60
        && !id.starts_with('-')
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if ok {
        Ok(id)
    } else {
        Err(FieldError::new(
            "id",
            "invalid_id",
            "use 1 to 60 lower-case letters, digits and hyphens, not starting with a hyphen",
        ))
    }
}

/// The channel of a row: a response's channel or the named touchpoint's, else what the event type says (a call is
/// by phone, a chat a live chat, an office visit in person).
pub fn channel_of(row: &LogRow) -> Option<&str> {
    row.channel
        .as_deref()
        .or(channel_of_activity(&row.activity))
}

/// The channel an event type implies: a call is by phone, a chat a live chat, an office visit in person.
pub fn channel_of_activity(activity: &str) -> Option<&'static str> {
    match activity {
        "call" => Some("phone"),
        "chat" => Some("live_chat"),
        "office_visit" => Some("in_person"),
        _ => None,
    }
}

/// The activity of a row in a journey's log: the event type, and for a `step_completed` event with a step,
/// `step_completed:<step>` (e.g. `step_completed:upload_documents`).
pub fn activity_of(row: &LogRow) -> Cow<'_, str> {
    match (&row.step, row.activity.as_str()) {
        (Some(step), "step_completed") => Cow::Owned(format!("step_completed:{step}")),
        _ => Cow::Borrowed(row.activity.as_str()),
    }
}

/// Whether `row` belongs to the journey: every row when it names no service, else the rows of that service.
pub fn in_scope(journey: &JourneyDefinition, row: &LogRow) -> bool {
    match &journey.service {
        None => true,
        Some(s) => row.service.as_deref() == Some(s.as_str()),
    }
}

/// Event types that are the agency acting, not the person contacting it: a decision, a request for a document,
/// being asked again for information, a status change, a payment, a backlog count. A reminder or notice the
/// agency sends is recorded as one of these (or as an outbound call or chat), never as a contact of the person.
pub const AGENCY_ACTIVITIES: [&str; 6] = [
    "application_decided",
    "document_requested",
    "information_asked_again",
    "status_changed",
    "payment_issued",
    "backlog_snapshot",
];

/// The `initiation_method` values of a call or chat that the agency began (Amazon Connect's words, compared
/// without regard to case): an outbound call, a callback the agency placed, a contact started by an API.
pub const AGENCY_INITIATIONS: [&str; 4] = ["outbound", "callback", "api", "external_outbound"];

/// Whether `row` is a contact the person made: a response, a signal, or an event that is not the agency's
/// ([`AGENCY_ACTIVITIES`], or a call or chat whose `initiation_method` is one of [`AGENCY_INITIATIONS`]). Event
/// types an organization declares itself count as the person's. Only these rows carry a channel in a journey's
/// log, so channel switching and where journeys start count the person's own moves: a reminder the agency sent by
/// email, then the person's call, is not a switch.
pub fn person_initiated(row: &LogRow) -> bool {
    if AGENCY_ACTIVITIES.contains(&row.activity.as_str()) {
        return false;
    }
    !matches!(
        (row.activity.as_str(), row.initiation.as_deref()),
        ("call" | "chat", Some(m)) if AGENCY_INITIATIONS.iter().any(|a| a.eq_ignore_ascii_case(m))
    )
}

/// Adds `row` to the log when it has a person; returns whether it did. Its channel is kept only when the person
/// made the contact ([`person_initiated`]).
pub fn push_row(b: &mut EventLogBuilder, row: &LogRow) -> bool {
    let Some(person) = row.person_key.as_deref() else {
        return false;
    };
    b.push(
        person,
        &activity_of(row),
        row.occurred_at,
        channel_of(row).filter(|_| person_initiated(row)),
        row.touchpoint.as_deref(),
    );
    true
}

/// A period's instants as a half-open range of ms: `""` is all time, else a fiscal quarter (`FY2027-Q1`) in the
/// organization's zone.
pub fn period_range(zone: &Zone, period: &str) -> Result<(i64, i64), FieldError> {
    if period.is_empty() {
        return Ok((i64::MIN, i64::MAX));
    }
    Ok(FiscalQuarter::parse(period)?.bounds_ms(zone))
}

/// Everything a journey page shows, as the job stores it (JSON in `insight_snapshots.result`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JourneyResult {
    /// The definition the figures were computed with.
    pub definition: JourneyDefinition,
    /// The period (`""`: all time).
    pub period: String,
    /// The figures; `cases` are people.
    pub figures: JourneyFigures,
}

/// Events of one chunk: the log is built and folded into the figures this many events at a time (about 24 bytes
/// each, plus each distinct person key once).
pub const CHUNK_EVENTS: usize = 250_000;

/// Computes the journey's figures over the organization's log in `range`, in bounded memory: rows stream from the
/// database with a cursor in (person, time) order, and every `chunk_events` events (at a person's boundary) the
/// chunk's log is built and added to a [`JourneyAccumulator`]. Memory is one chunk plus the figures, whatever the
/// size of the log.
pub async fn compute(
    store: &Store,
    org: OrgId,
    journey: &JourneyDefinition,
    range: (i64, i64),
    chunk_events: usize,
) -> heard_store::Result<JourneyFigures> {
    let mut rows = store.log_rows(
        org,
        LogQuery {
            from: range.0,
            to: range.1,
            order: LogOrder::Person,
        },
    );
    let mut acc =
        JourneyAccumulator::new(journey, &CONTACT_ACTIVITIES, CONTACT_BUCKETS, FLOW_DEPTH);
    let mut chunk = EventLogBuilder::new();
    let mut person: Option<String> = None;
    while let Some(row) = rows.try_next().await? {
        let Some(p) = row.person_key.as_deref() else {
            continue;
        };
        if !in_scope(journey, &row) {
            continue;
        }
        if person.as_deref() != Some(p) {
            if chunk.len() >= chunk_events.max(1) {
                acc.add(&std::mem::take(&mut chunk).build());
            }
            person = Some(p.to_string());
        }
        push_row(&mut chunk, &row);
    }
    acc.add(&chunk.build());
    Ok(acc.finish(TOP_VARIANTS, FLOW_TOP))
}

/// The scope of a journey's snapshots.
pub fn scope(id: &str) -> String {
    format!("journey:{id}")
}

/// The periods a change recomputes: all time and the current fiscal quarter.
pub fn current_periods(zone: &Zone, now: i64) -> [String; 2] {
    [
        String::new(),
        FiscalQuarter::containing_ms(now, zone).to_string(),
    ]
}

/// A recomputation of journey `id` for `period`, due at `run_at`, deduplicated by `why` (e.g. the definition's
/// change time, or the debounce window).
pub fn refresh_job(org: OrgId, id: &str, period: &str, why: &str, run_at: i64) -> NewJob {
    NewJob::new(
        org,
        REFRESH_KIND,
        serde_json::json!({ "journey": id, "period": period }),
    )
    .dedupe_key(format!("{id}|{period}|{why}"))
    .run_at(run_at)
}

/// Enqueues in `tx` the recomputation of journey `id` after its definition changed at `now`.
pub async fn enqueue_after_change(
    tx: &mut StoreTx,
    org: OrgId,
    zone: &Zone,
    id: &str,
    now: i64,
) -> heard_store::Result<()> {
    for period in current_periods(zone, now) {
        tx.enqueue(refresh_job(
            org,
            id,
            &period,
            &format!("changed-{now}"),
            now,
        ))
        .await?;
    }
    Ok(())
}

/// Stores a validated definition as journey `id` and, when it changed, enqueues its recomputation in the same
/// transaction. The same definition again writes nothing.
pub async fn save_definition(
    store: &Store,
    org: OrgId,
    zone: &Zone,
    id: &str,
    def: &JourneyDefinition,
) -> heard_store::Result<heard_store::journeys::PutJourney> {
    let json = serde_json::to_string(def).expect("a definition serializes");
    let now = heard_store::now_ms();
    let mut tx = store.begin().await?;
    let outcome = tx.put_journey(org, id, &json, now).await?;
    if outcome != heard_store::journeys::PutJourney::Unchanged {
        enqueue_after_change(&mut tx, org, zone, id, now).await?;
    }
    tx.commit().await?;
    Ok(outcome)
}

/// Runs [`REFRESH_KIND`] jobs: payload `{"journey": id, "period": "" | "FY2027-Q1"}`. Reads the definition as it is
/// when the job runs (a job for a removed journey does nothing), builds the log, computes the figures and replaces
/// the snapshot. The snapshot is the same for the same data, so a job run twice (at-least-once delivery) stores the
/// same thing: the worker completes it.
pub struct RefreshJourney;

impl JobHandler for RefreshJourney {
    fn run<'a>(
        &'a self,
        store: &'a Store,
        job: &'a ClaimedJob,
    ) -> BoxFuture<'a, Result<Completed, String>> {
        Box::pin(async move {
            let org = job.job.org_id;
            let p = &job.job.payload;
            let id = p
                .get("journey")
                .and_then(|v| v.as_str())
                .ok_or("payload: no journey")?;
            let period = p.get("period").and_then(|v| v.as_str()).unwrap_or("");
            let Some(stored) = store.journey(org, id).await.map_err(|e| e.to_string())? else {
                return Ok(Completed::ByWorker);
            };
            let def = JourneyDefinition::from_json(&stored.definition)
                .map_err(|e| format!("journey {id}: stored definition: {e}"))?;
            let zone = store.org(org).await.map_err(|e| e.to_string())?.time_zone;
            let range = period_range(&zone, period).map_err(|e| e.message.clone())?;
            let started = heard_store::now_ms();
            let figures = compute(store, org, &def, range, CHUNK_EVENTS)
                .await
                .map_err(|e| e.to_string())?;
            let n = figures.events as i64;
            let result = JourneyResult {
                definition: def,
                period: period.to_string(),
                figures,
            };
            let json = serde_json::to_string(&result).map_err(|e| e.to_string())?;
            store
                .put_insight_snapshot(
                    org,
                    &InsightSnapshot {
                        kind: SNAPSHOT_KIND.to_string(),
                        scope: scope(id),
                        period: period.to_string(),
                        computed_at: heard_store::now_ms(),
                        n,
                        result: json,
                    },
                )
                .await
                .map_err(|e| e.to_string())?;
            tracing::info!(org = %org, journey = id, period, events = n,
                ms = heard_store::now_ms() - started, "journey recomputed");
            Ok(Completed::ByWorker)
        })
    }
}

/// A stage as the API documents it (the body is read as `heard_insight::journeys::StageDefinition`).
#[derive(Serialize, utoipa::ToSchema)]
pub struct StageDoc {
    /// The stage's name, unique in the journey.
    name: String,
    /// Activities (event types, `survey_answered`, `feedback_given`, `step_completed:<step>`) that reach it.
    activities: Vec<String>,
    /// Touchpoints (their English names) that reach it.
    touchpoints: Vec<String>,
}

/// A journey definition as the API reads and writes it.
#[derive(Serialize, utoipa::ToSchema)]
pub struct JourneyDoc {
    /// The journey's short name (in responses; a PUT takes it from the address).
    #[schema(read_only)]
    id: String,
    /// The journey's name.
    name: String,
    /// Only this service's events, responses and signals (its English name); absent: every service.
    service: Option<String>,
    /// The stages in order (1 to 50).
    stages: Vec<StageDoc>,
}

fn doc(id: &str, d: &JourneyDefinition) -> serde_json::Value {
    let mut v = serde_json::to_value(d).unwrap_or_default();
    if let Some(o) = v.as_object_mut() {
        o.insert("id".into(), serde_json::Value::String(id.to_string()));
    }
    v
}

/// The journeys API: `GET /api/v1/journeys`, `GET` and `PUT /api/v1/journeys/{id}`, with an organization's API key.
pub fn routes() -> axum::Router<crate::AppState> {
    axum::Router::new()
        .route("/api/v1/journeys", axum::routing::get(api_list))
        .route(
            "/api/v1/journeys/{id}",
            axum::routing::get(api_get).put(api_put),
        )
}

#[utoipa::path(get, path = "/api/v1/journeys", tag = "journeys", security(("api_key" = [])),
    responses((status = 200, body = [JourneyDoc], description = "The organization's journeys, by id"),
        (status = 401, body = crate::api::ApiError, description = "`api_key_required`: no live API key"),
        (status = 405, body = crate::api::ApiError, description = "`method_not_allowed`: the address does not take this method; `Allow` lists those it takes")))]
/// The organization's journey definitions.
pub async fn api_list(
    axum::extract::State(state): axum::extract::State<crate::AppState>,
    crate::ingest::ApiKeyOrg(org): crate::ingest::ApiKeyOrg,
) -> crate::AppResult<axum::Json<Vec<serde_json::Value>>> {
    let mut out = Vec::new();
    for j in state.store.journeys(org).await? {
        let d = JourneyDefinition::from_json(&j.definition)
            .map_err(|e| crate::AppError::Internal(format!("journey {}: {e}", j.id)))?;
        out.push(doc(&j.id, &d));
    }
    Ok(axum::Json(out))
}

#[utoipa::path(get, path = "/api/v1/journeys/{id}", tag = "journeys", security(("api_key" = [])),
    params(("id" = String, Path, description = "The journey's short name: 1 to 60 lower-case letters, digits and hyphens", pattern = "^[a-z0-9][a-z0-9-]{0,59}$")),
    responses((status = 200, body = JourneyDoc, description = "The journey's definition"),
        (status = 401, body = crate::api::ApiError, description = "`api_key_required`: no live API key"),
        (status = 404, body = crate::api::ApiError, description = "`not_found`: the organization has no journey with this id"),
        (status = 422, body = crate::api::ApiError, description = "`control_character`: the id holds a control character (refused on every input path)"),
        (status = 405, body = crate::api::ApiError, description = "`method_not_allowed`: the address does not take this method; `Allow` lists those it takes")))]
/// One journey definition.
pub async fn api_get(
    axum::extract::State(state): axum::extract::State<crate::AppState>,
    crate::ingest::ApiKeyOrg(org): crate::ingest::ApiKeyOrg,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> crate::AppResult<axum::Json<serde_json::Value>> {
    let j = state
        .store
        .journey(org, &id)
        .await?
        .ok_or(crate::AppError::NotFound)?;
    let d = JourneyDefinition::from_json(&j.definition)
        .map_err(|e| crate::AppError::Internal(format!("journey {id}: {e}")))?;
    Ok(axum::Json(doc(&id, &d)))
}

#[utoipa::path(put, path = "/api/v1/journeys/{id}", tag = "journeys", request_body = JourneyDoc,
    security(("api_key" = [])),
    params(("id" = String, Path, description = "The journey's short name: 1 to 60 lower-case letters, digits and hyphens", pattern = "^[a-z0-9][a-z0-9-]{0,59}$")),
    responses((status = 200, body = JourneyDoc, description = "Stored (created, replaced, or the same definition again: nothing changed); a changed journey is recomputed in the background"),
        (status = 400, body = crate::api::ApiError, description = "A malformed request"),
        (status = 401, body = crate::api::ApiError, description = "`api_key_required`: no live API key"),
        (status = 405, body = crate::api::ApiError, description = "`method_not_allowed`: the address does not take this method; `Allow` lists those it takes"),
        (status = 413, body = crate::api::ApiError, description = "The body is too large"),
        (status = 415, body = crate::api::ApiError, description = "Not JSON: send Content-Type: application/json"),
        (status = 422, body = crate::api::ApiError, description = "An invalid id or definition; `errors` names the field (`id`, `name`, `stages[2].activities[0]`, ...) and why")))]
/// Creates or replaces a journey definition. Idempotent: the same body again changes nothing.
pub async fn api_put(
    axum::extract::State(state): axum::extract::State<crate::AppState>,
    crate::ingest::ApiKeyOrg(org): crate::ingest::ApiKeyOrg,
    axum::extract::Path(id): axum::extract::Path<String>,
    headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> crate::AppResult<axum::Json<serde_json::Value>> {
    if crate::ingest::content_type(&headers) != "application/json" {
        return Err(crate::AppError::UnsupportedMediaType);
    }
    parse_journey_id(&id)?;
    let mut v = crate::ingest::parse_json(&body)?;
    let mut errs = heard_domain::FieldErrors::default();
    crate::input::clean_json("", &mut v, &mut errs);
    if !errs.is_empty() {
        return Err(crate::AppError::Invalid(errs));
    }
    if let Some(o) = v.as_object_mut() {
        // The id is the address's; one in the body is accepted when it agrees.
        if let Some(body_id) = o.remove("id")
            && body_id.as_str() != Some(id.as_str())
        {
            return Err(crate::AppError::field(
                "id",
                "id_mismatch",
                "id: the body's id differs from the address's; leave it out or make them agree",
            ));
        }
    }
    let def: JourneyDefinition = serde_json::from_value(v)
        .map_err(|e| crate::AppError::field("body", "invalid_journey", format!("body: {e}")))?;
    def.validate().map_err(|e| {
        crate::AppError::field(
            &e.field,
            "invalid_journey",
            format!("{}: {}", e.field, e.reason),
        )
    })?;
    let zone = state.store.org(org).await?.time_zone;
    let outcome = save_definition(&state.store, org, &zone, &id, &def).await?;
    tracing::info!(org = %org, journey = %id, outcome = ?outcome, "journey definition put by API");
    Ok(axum::Json(doc(&id, &def)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_journeys_are_valid() {
        let d = default_journeys();
        assert!(d.len() >= 2);
        for (id, _) in &d {
            parse_journey_id(id).unwrap();
        }
    }

    #[test]
    fn journey_ids() {
        assert!(parse_journey_id("snap-online-2").is_ok());
        for bad in ["", "-x", "Snap", "a b", "é", &"x".repeat(61)] {
            assert_eq!(parse_journey_id(bad).unwrap_err().field, "id", "{bad}");
        }
    }

    /// An event of person `p` in the log: `activity`, with the step and the initiation given.
    fn event_row(activity: &str, step: Option<&str>, initiation: Option<&str>) -> LogRow {
        LogRow {
            id: uuid::Uuid::nil(),
            source: heard_store::event_log::LogSource::Event,
            activity: activity.into(),
            occurred_at: 0,
            person_key: Some("p".into()),
            reference_key: None,
            channel: None,
            touchpoint: None,
            service: None,
            step: step.map(Into::into),
            initiation: initiation.map(Into::into),
            survey_id: None,
            trust_positive: None,
        }
    }

    #[test]
    fn steps_are_told_apart() {
        let mut row = event_row("step_completed", Some("upload_documents"), None);
        assert_eq!(activity_of(&row), "step_completed:upload_documents");
        row.activity = "call".into();
        assert_eq!(activity_of(&row), "call");
        assert_eq!(channel_of(&row), Some("phone"));
    }

    #[test]
    fn only_the_persons_contacts_are_theirs() {
        let mut row = event_row("call", None, Some("INBOUND"));
        assert!(person_initiated(&row));
        row.initiation = Some("OUTBOUND".into());
        assert!(!person_initiated(&row));
        row.initiation = None;
        assert!(person_initiated(&row));
        row.activity = "document_requested".into();
        assert!(!person_initiated(&row));
        row.activity = "survey_answered".into();
        assert!(person_initiated(&row));
    }
}
