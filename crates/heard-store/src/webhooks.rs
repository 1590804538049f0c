//! Signed webhooks' storage (issue 21, item 4; migration 0038): an organization's endpoints, the events they are
//! sent (`webhook_messages`, the exact body and the id receivers deduplicate by), one delivery per endpoint and
//! event, and its attempts, the delivery log the admin reads.
//!
//! **Nothing acknowledged is lost.** The response writer calls [`WebhookTx::emit_responses`] in the responses' own
//! transaction: for each organization with an endpoint that is not paused, it writes each event's message, a
//! delivery per endpoint that chose the event's type, and that delivery's first [`DELIVER_KIND`] job, due now. So
//! an event exists if and only if its response committed, and the send happens after, in a worker: a slow or dead
//! receiver never holds up ingestion. An organization without endpoints pays one indexed read per commit.
//!
//! **Attempts.** The server's handler sends, then records the attempt with the job's completion
//! ([`StoreTx::record_webhook_attempt`]): the delivery's attempt counter moves in one `UPDATE ... RETURNING`, so
//! attempts are numbered without gaps even when a replay and a retry run at once, and the next retry's job (if any)
//! commits with it. Delivery is at least once: a worker that dies between the receiver's answer and that commit
//! sends again, with the same `webhook-id`.
//!
//! Tenancy: every read and write takes the organization and filters by it; an endpoint only ever gets deliveries of
//! its own organization's events.

use futures_util::future::BoxFuture;
use heard_domain::OrgId;
use heard_domain::response::NewResponse;
use heard_domain::webhook::{EventType, response_events};
use uuid::Uuid;

use crate::jobs::{NewJob, StoreTx, on_tx};
use crate::{Result, Store, StoreError, on_pool};

/// The job kind that makes one attempt of one delivery. Payload `{"delivery": id, "attempt": n, "replay": bool}`:
/// `attempt` is the place in the retry schedule (1 for the first), `replay` an admin's resend (one attempt, no
/// retries of its own). Key `{delivery}:{attempt}`, or `{delivery}:replay:{n}`.
pub const DELIVER_KIND: &str = "webhook.deliver";

/// An endpoint as stored. Secrets are sealed bytes (the server seals and opens them).
#[derive(Debug, Clone)]
pub struct WebhookEndpoint {
    pub id: Uuid,
    /// `https://...`, or `http://` to a loopback address.
    pub url: String,
    pub description: String,
    /// The chosen types, in [`EventType::ALL`]'s order.
    pub event_types: Vec<EventType>,
    pub paused: bool,
    pub secret_sealed: Vec<u8>,
    /// The secret before the last rotation, signing beside the new one until `previous_until`.
    pub previous_secret_sealed: Option<Vec<u8>>,
    /// Milliseconds since the epoch.
    pub previous_until: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// An endpoint's settings as the admin's form gives them.
#[derive(Debug, Clone)]
pub struct EndpointSettings {
    pub url: String,
    pub description: String,
    pub event_types: Vec<EventType>,
}

/// A delivery as the log lists it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Delivery {
    pub id: Uuid,
    pub endpoint_id: Uuid,
    /// The `webhook-id` is `msg_` and this id's simple form.
    pub message_id: Uuid,
    pub event_type: String,
    /// The response (or later, case) the event is about.
    pub subject_id: Uuid,
    /// `pending`, `delivered`, `failed` or `cancelled`.
    pub state: String,
    pub attempts: i32,
    /// The last attempt's HTTP status; none before the first, or when no answer came.
    pub last_status: Option<i32>,
    pub next_attempt_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// One attempt of a delivery.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Attempt {
    /// 1, 2, ... in the order they were made (replays included).
    pub attempt: i32,
    pub replay: bool,
    pub attempted_at: i64,
    /// The HTTP status, or none when no answer came (connection refused, time-out).
    pub status: Option<i32>,
    pub latency_ms: i64,
    /// Why it failed, as a code (`heard_server::webhooks::ERROR_*`): a cause, never the receiver's body.
    pub error: Option<String>,
    /// When the next attempt is due; none when this one succeeded or was the last.
    pub next_retry_at: Option<i64>,
}

/// What the handler needs to make an attempt: the delivery, its endpoint and the message's body.
#[derive(Debug, Clone)]
pub struct DeliveryWork {
    pub delivery: Delivery,
    pub endpoint: WebhookEndpoint,
    pub payload: String,
}

/// An attempt's outcome as the handler records it.
#[derive(Debug, Clone)]
pub struct AttemptOutcome {
    pub replay: bool,
    pub attempted_at: i64,
    pub status: Option<i32>,
    pub latency_ms: i64,
    pub error: Option<String>,
    /// A 2xx came back.
    pub delivered: bool,
    /// When it failed and another scheduled attempt is due: when, and its place in the schedule.
    pub retry: Option<(i64, u32)>,
    /// The endpoint was paused: no request was made and the delivery is cancelled.
    pub cancelled: bool,
}

/// `,a,b,`: the stored form of a list of types.
fn types_column(types: &[EventType]) -> String {
    let mut t = types.to_vec();
    t.sort();
    t.dedup();
    format!(
        ",{},",
        t.iter().map(|t| t.key()).collect::<Vec<_>>().join(",")
    )
}

fn parse_types(s: &str) -> Vec<EventType> {
    let mut t: Vec<EventType> = s.split(',').filter_map(EventType::parse).collect();
    t.sort();
    t
}

type EndpointRow = (
    Uuid,
    String,
    String,
    String,
    bool,
    Vec<u8>,
    Option<Vec<u8>>,
    Option<i64>,
    i64,
    i64,
);

const ENDPOINT_COLUMNS: &str = "id, url, description, event_types, paused, secret_sealed, previous_secret_sealed, \
                                previous_until, created_at, updated_at";

fn endpoint(r: EndpointRow) -> WebhookEndpoint {
    WebhookEndpoint {
        id: r.0,
        url: r.1,
        description: r.2,
        event_types: parse_types(&r.3),
        paused: r.4,
        secret_sealed: r.5,
        previous_secret_sealed: r.6,
        previous_until: r.7,
        created_at: r.8,
        updated_at: r.9,
    }
}

const DELIVERY_COLUMNS: &str = "d.id, d.endpoint_id, d.message_id, m.event_type, m.subject_id, d.state, d.attempts, \
                                d.last_status, d.next_attempt_at, d.created_at, d.updated_at";

#[derive(sqlx::FromRow)]
struct WorkRow {
    #[sqlx(flatten)]
    delivery: Delivery,
    payload: String,
}

fn deliver_job(org: OrgId, delivery: Uuid, attempt: u32, run_at: i64) -> NewJob {
    NewJob::new(
        org,
        DELIVER_KIND,
        serde_json::json!({ "delivery": delivery, "attempt": attempt, "replay": false }),
    )
    .dedupe_key(format!("{delivery}:{attempt}"))
    .run_at(run_at)
}

impl Store {
    /// The organization's endpoints, oldest first.
    pub async fn webhook_endpoints(&self, org: OrgId) -> Result<Vec<WebhookEndpoint>> {
        let sql = format!(
            "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE org_id = $1 ORDER BY created_at, id"
        );
        let rows: Vec<EndpointRow> = on_pool!(self, p => sqlx::query_as(&sql)
            .bind(org.as_uuid()).fetch_all(p).await)?;
        Ok(rows.into_iter().map(endpoint).collect())
    }

    /// One endpoint of the organization; another organization's id is [`StoreError::NotFound`].
    pub async fn webhook_endpoint(&self, org: OrgId, id: Uuid) -> Result<WebhookEndpoint> {
        let sql = format!(
            "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE org_id = $1 AND id = $2"
        );
        let row: Option<EndpointRow> = on_pool!(self, p => sqlx::query_as(&sql)
            .bind(org.as_uuid()).bind(id).fetch_optional(p).await)?;
        row.map(endpoint).ok_or(StoreError::NotFound)
    }

    /// Creates an endpoint (not paused) with its sealed secret; returns its id.
    pub async fn create_webhook_endpoint(
        &self,
        org: OrgId,
        s: &EndpointSettings,
        secret_sealed: &[u8],
        now: i64,
    ) -> Result<Uuid> {
        let id = Uuid::now_v7();
        on_pool!(self, p => sqlx::query(
            "INSERT INTO webhook_endpoints (org_id, id, url, description, event_types, paused, secret_sealed, \
             created_at, updated_at) VALUES ($1, $2, $3, $4, $5, FALSE, $6, $7, $7)")
            .bind(org.as_uuid()).bind(id).bind(&s.url).bind(&s.description).bind(types_column(&s.event_types))
            .bind(secret_sealed).bind(now)
            .execute(p).await.map(|_| ()))?;
        Ok(id)
    }

    /// Changes an endpoint's address, description and types in one statement.
    pub async fn update_webhook_endpoint(
        &self,
        org: OrgId,
        id: Uuid,
        s: &EndpointSettings,
        now: i64,
    ) -> Result<()> {
        let n = on_pool!(self, p => sqlx::query(
            "UPDATE webhook_endpoints SET url = $3, description = $4, event_types = $5, updated_at = $6 \
             WHERE org_id = $1 AND id = $2")
            .bind(org.as_uuid()).bind(id).bind(&s.url).bind(&s.description).bind(types_column(&s.event_types))
            .bind(now)
            .execute(p).await.map(|r| r.rows_affected()))?;
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    /// Pauses or resumes an endpoint. A paused endpoint gets no new deliveries, and its scheduled retries end as
    /// `cancelled` (an admin can replay them).
    pub async fn set_webhook_paused(
        &self,
        org: OrgId,
        id: Uuid,
        paused: bool,
        now: i64,
    ) -> Result<()> {
        let n = on_pool!(self, p => sqlx::query(
            "UPDATE webhook_endpoints SET paused = $3, updated_at = $4 WHERE org_id = $1 AND id = $2")
            .bind(org.as_uuid()).bind(id).bind(paused).bind(now)
            .execute(p).await.map(|r| r.rows_affected()))?;
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    /// Rotates an endpoint's secret in one statement: the new one signs from now, and the one it replaces keeps
    /// signing beside it until `previous_until` (ms), so receivers that still hold it verify every message.
    pub async fn rotate_webhook_secret(
        &self,
        org: OrgId,
        id: Uuid,
        new_sealed: &[u8],
        previous_until: i64,
        now: i64,
    ) -> Result<()> {
        let n = on_pool!(self, p => sqlx::query(
            "UPDATE webhook_endpoints SET previous_secret_sealed = secret_sealed, secret_sealed = $3, \
             previous_until = $4, updated_at = $5 WHERE org_id = $1 AND id = $2")
            .bind(org.as_uuid()).bind(id).bind(new_sealed).bind(previous_until).bind(now)
            .execute(p).await.map(|r| r.rows_affected()))?;
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    /// An endpoint's latest deliveries, newest first (at most `limit`).
    pub async fn webhook_deliveries(
        &self,
        org: OrgId,
        endpoint: Uuid,
        limit: i64,
    ) -> Result<Vec<Delivery>> {
        let sql = format!(
            "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries d JOIN webhook_messages m \
             ON m.org_id = d.org_id AND m.id = d.message_id \
             WHERE d.org_id = $1 AND d.endpoint_id = $2 ORDER BY d.created_at DESC, d.id DESC LIMIT $3"
        );
        Ok(on_pool!(self, p => sqlx::query_as::<_, Delivery>(&sql)
            .bind(org.as_uuid()).bind(endpoint).bind(limit).fetch_all(p).await)?)
    }

    /// One delivery of the organization, with its endpoint and body.
    pub async fn webhook_delivery_work(&self, org: OrgId, id: Uuid) -> Result<DeliveryWork> {
        let sql = format!(
            "SELECT {DELIVERY_COLUMNS}, m.payload FROM webhook_deliveries d JOIN webhook_messages m \
             ON m.org_id = d.org_id AND m.id = d.message_id WHERE d.org_id = $1 AND d.id = $2"
        );
        let row: Option<WorkRow> = on_pool!(self, p => sqlx::query_as(&sql)
            .bind(org.as_uuid()).bind(id).fetch_optional(p).await)?;
        let WorkRow { delivery, payload } = row.ok_or(StoreError::NotFound)?;
        let endpoint = self.webhook_endpoint(org, delivery.endpoint_id).await?;
        Ok(DeliveryWork {
            delivery,
            endpoint,
            payload,
        })
    }

    /// A delivery's attempts, first first.
    pub async fn webhook_attempts(&self, org: OrgId, delivery: Uuid) -> Result<Vec<Attempt>> {
        Ok(on_pool!(self, p => sqlx::query_as::<_, Attempt>(
            "SELECT attempt, replay, attempted_at, status, latency_ms, error, next_retry_at FROM webhook_attempts \
             WHERE org_id = $1 AND delivery_id = $2 ORDER BY attempt")
            .bind(org.as_uuid()).bind(delivery).fetch_all(p).await)?)
    }

    /// Sends a delivery of `endpoint` again, as it was (same body, same `webhook-id`): one attempt, due now, whatever
    /// the delivery's state. `NotFound` when the organization has no such delivery at that endpoint.
    pub async fn replay_webhook_delivery(
        &self,
        org: OrgId,
        endpoint: Uuid,
        delivery: Uuid,
        now: i64,
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        let attempts: Option<i32> = on_tx!(tx, t => sqlx::query_scalar(
            "UPDATE webhook_deliveries SET state = 'pending', next_attempt_at = $4, updated_at = $4 \
             WHERE org_id = $1 AND id = $2 AND endpoint_id = $3 RETURNING attempts")
            .bind(org.as_uuid()).bind(delivery).bind(endpoint).bind(now)
            .fetch_optional(&mut **t).await)?;
        let attempts = attempts.ok_or(StoreError::NotFound)?;
        tx.enqueue(
            NewJob::new(
                org,
                DELIVER_KIND,
                serde_json::json!({ "delivery": delivery, "attempt": 1, "replay": true }),
            )
            .dedupe_key(format!("{delivery}:replay:{}:{}", attempts, Uuid::now_v7()))
            .run_at(now),
        )
        .await?;
        tx.commit().await
    }
}

impl StoreTx {
    /// Records an attempt of `delivery` beside the job's completion (call [`StoreTx::complete_job`] first): the
    /// delivery's counter and state, the attempt's row, and the next scheduled attempt's job when there is one.
    /// Returns the attempt's number.
    pub async fn record_webhook_attempt(
        &mut self,
        org: OrgId,
        delivery: Uuid,
        o: &AttemptOutcome,
    ) -> Result<i32> {
        let state = if o.delivered {
            "delivered"
        } else if o.cancelled {
            "cancelled"
        } else if o.retry.is_some() {
            "pending"
        } else {
            "failed"
        };
        let next = o.retry.map(|(at, _)| at);
        if o.cancelled {
            on_tx!(self, t => sqlx::query(
                "UPDATE webhook_deliveries SET state = 'cancelled', next_attempt_at = NULL, updated_at = $3 \
                 WHERE org_id = $1 AND id = $2 AND state <> 'delivered'")
                .bind(org.as_uuid()).bind(delivery).bind(o.attempted_at)
                .execute(&mut **t).await.map(|_| ()))?;
            return Ok(0);
        }
        let n: i32 = on_tx!(self, t => sqlx::query_scalar(
            "UPDATE webhook_deliveries SET attempts = attempts + 1, state = $3, last_status = $4, \
             next_attempt_at = $5, updated_at = $6 WHERE org_id = $1 AND id = $2 RETURNING attempts")
            .bind(org.as_uuid()).bind(delivery).bind(state).bind(o.status).bind(next).bind(o.attempted_at)
            .fetch_optional(&mut **t).await)?
        .ok_or(StoreError::NotFound)?;
        on_tx!(self, t => sqlx::query(
            "INSERT INTO webhook_attempts (org_id, delivery_id, attempt, replay, attempted_at, status, latency_ms, \
             error, next_retry_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)")
            .bind(org.as_uuid()).bind(delivery).bind(n).bind(o.replay).bind(o.attempted_at).bind(o.status)
            .bind(o.latency_ms).bind(o.error.as_deref()).bind(next)
            .execute(&mut **t).await.map(|_| ()))?;
        if let Some((at, place)) = o.retry {
            self.enqueue(deliver_job(org, delivery, place, at)).await?;
        }
        Ok(n)
    }
}

/// Writes webhook events in the caller's transaction (the response writer's, or a case change's), on either backend.
pub(crate) trait WebhookTx: Send {
    /// `responses` of `org` are being stored in this transaction at `now`.
    fn emit_responses<'a>(
        &'a mut self,
        org: OrgId,
        responses: &'a [&'a NewResponse],
        now: i64,
    ) -> BoxFuture<'a, Result<()>>;

    /// One event of `kind` about `subject` with its exact `body`: a message and a delivery (with its first job) to
    /// each active endpoint that chose the type; nothing when none did.
    fn emit_event<'a>(
        &'a mut self,
        org: OrgId,
        kind: EventType,
        subject: Uuid,
        body: &'a serde_json::Value,
        now: i64,
    ) -> BoxFuture<'a, Result<()>>;
}

macro_rules! webhook_tx {
    ($db:ty) => {
        impl WebhookTx for sqlx::Transaction<'static, $db> {
            fn emit_responses<'a>(
                &'a mut self,
                org: OrgId,
                responses: &'a [&'a NewResponse],
                now: i64,
            ) -> BoxFuture<'a, Result<()>> {
                Box::pin(async move {
                    if responses.is_empty() {
                        return Ok(());
                    }
                    // One look at the endpoints first: most organizations have none, and a batch of responses then
                    // costs this one query.
                    let any: Option<i32> = sqlx::query_scalar(
                        "SELECT 1 FROM webhook_endpoints WHERE org_id = $1 AND NOT paused LIMIT 1",
                    )
                    .bind(org.as_uuid())
                    .fetch_optional(&mut **self)
                    .await?;
                    if any.is_none() {
                        return Ok(());
                    }
                    for r in responses {
                        for (kind, body) in response_events(r) {
                            self.emit_event(org, kind, *r.id.as_uuid(), &body, now).await?;
                        }
                    }
                    Ok(())
                })
            }

            fn emit_event<'a>(
                &'a mut self,
                org: OrgId,
                kind: EventType,
                subject: Uuid,
                body: &'a serde_json::Value,
                now: i64,
            ) -> BoxFuture<'a, Result<()>> {
                Box::pin(async move {
                    let chosen: Vec<Uuid> = sqlx::query_scalar(
                        "SELECT id FROM webhook_endpoints WHERE org_id = $1 AND NOT paused \
                         AND event_types LIKE $2 ORDER BY id",
                    )
                    .bind(org.as_uuid())
                    .bind(format!("%,{},%", kind.key()))
                    .fetch_all(&mut **self)
                    .await?;
                    if chosen.is_empty() {
                        return Ok(());
                    }
                    let message = Uuid::now_v7();
                    sqlx::query(
                        "INSERT INTO webhook_messages (org_id, id, event_type, subject_id, payload, \
                         created_at) VALUES ($1, $2, $3, $4, $5, $6)",
                    )
                    .bind(org.as_uuid())
                    .bind(message)
                    .bind(kind.key())
                    .bind(subject)
                    .bind(body.to_string())
                    .bind(now)
                    .execute(&mut **self)
                    .await?;
                    for endpoint in chosen {
                        let d = Uuid::now_v7();
                        sqlx::query(
                            "INSERT INTO webhook_deliveries (org_id, id, endpoint_id, message_id, state, \
                             attempts, next_attempt_at, created_at, updated_at) \
                             VALUES ($1, $2, $3, $4, 'pending', 0, $5, $5, $5)",
                        )
                        .bind(org.as_uuid())
                        .bind(d)
                        .bind(endpoint)
                        .bind(message)
                        .bind(now)
                        .execute(&mut **self)
                        .await?;
                        let j = deliver_job(org, d, 1, now);
                        sqlx::query(
                            "INSERT INTO jobs (org_id, id, kind, payload, state, attempts, max_attempts, \
                             run_at, dedupe_key, created_at, updated_at) \
                             VALUES ($1, $2, $3, $4, 'queued', 0, $5, $6, $7, $8, $8)",
                        )
                        .bind(org.as_uuid())
                        .bind(heard_domain::JobId::new().as_uuid())
                        .bind(DELIVER_KIND)
                        .bind(j.payload.to_string())
                        .bind(j.max_attempts as i32)
                        .bind(now)
                        .bind(j.dedupe_key.as_deref())
                        .bind(now)
                        .execute(&mut **self)
                        .await?;
                    }
                    Ok(())
                })
            }
        }
    };
}

webhook_tx!(sqlx::Sqlite);
webhook_tx!(sqlx::Postgres);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_column_round_trips_sorted_and_once() {
        let c = types_column(&[
            EventType::CrisisDetected,
            EventType::ResponseReceived,
            EventType::CrisisDetected,
        ]);
        assert_eq!(c, ",response.received,crisis.detected,");
        assert_eq!(
            parse_types(&c),
            vec![EventType::ResponseReceived, EventType::CrisisDetected]
        );
        assert_eq!(parse_types(",,nonsense,"), vec![]);
    }
}
