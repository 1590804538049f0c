//! Signals, events, event types and the API keys that write them.
//!
//! A batch is written in one transaction, item by item: each item is atomic (a signal or event row, nothing else),
//! items refused at the edge never reach here, and an item whose external id is stored already is answered by
//! `Replay::of` its stored fingerprint (`heard_domain::idempotency`): the first item's id (a retry), or
//! `IdempotencyKeyReused` (another item under the same id), storing nothing. Two items with one external id in the
//! same batch are judged the same way, the first one stored.

use heard_domain::event::{EventType, MeasureDef, NewEvent};
use heard_domain::idempotency::{Replay, RequestFingerprint};
use heard_domain::signal::NewSignal;
use heard_domain::voice::ProtectedExtras;
use heard_domain::{ApiKeyId, OrgId, UserId};
use uuid::Uuid;

use crate::after_data::AfterDataTx;
use crate::event_rollups::EventRollupTx;
use crate::{Result, Store, StoreError, WritePool, on_pool};

/// The outcome of one stored (or retried) item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ingested {
    pub id: Uuid,
    /// True when the external id was stored already with the same item: nothing new was written.
    pub duplicate: bool,
}

/// A stored signal's columns, as text, for reading back (dashboards, tests that check what is kept).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SignalRecord {
    pub id: Uuid,
    pub source: String,
    pub author: String,
    pub external_id: String,
    pub url: Option<String>,
    pub rating: Option<i16>,
    pub language: String,
    pub text: String,
    pub turns: Option<String>,
    pub enrichment: Option<String>,
    pub sentiment: Option<String>,
    pub themes: Option<String>,
    pub urgent: bool,
    pub person_key: Option<String>,
    pub reference_key: Option<String>,
    pub occurred_at: i64,
}

/// What one of Heard's own forms added to a signal (`Store::insert_form_signal`), with the signal's service and
/// touchpoint.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SignalFormFields {
    pub id: Uuid,
    pub service_id: Option<Uuid>,
    pub touchpoint_id: Option<Uuid>,
    /// A JSON object, or NULL for a signal without attributes.
    pub attributes: Option<String>,
    /// The staff account that sent it.
    pub sent_by: Option<Uuid>,
    /// The sealed contact of a person who asked for a reply (open it with the server's sealer).
    pub sealed_contact: Option<Vec<u8>>,
}

/// One staff observation as its sender sees it in their list.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ObservationRecord {
    pub id: Uuid,
    pub service_id: Option<Uuid>,
    pub touchpoint_id: Option<Uuid>,
    /// Redacted.
    pub text: String,
    pub attributes: Option<String>,
    pub sentiment: Option<String>,
    pub urgent: bool,
    /// Milliseconds since the Unix epoch.
    pub received_at: i64,
}

/// A stored event's columns.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EventRecord {
    pub id: Uuid,
    #[sqlx(rename = "type")]
    pub event_type: String,
    pub source: String,
    pub occurred_at: i64,
    pub service_id: Option<Uuid>,
    pub person_key: Option<String>,
    pub reference_key: Option<String>,
    pub measures: String,
    pub attributes: String,
    pub external_id: String,
}

fn corrupt(e: serde_json::Error) -> StoreError {
    StoreError::Corrupt(e.to_string())
}

impl Store {
    /// Stores a new API key's hash for `org`.
    pub async fn create_api_key(
        &self,
        org: OrgId,
        name: &str,
        token_hash: &[u8],
        now: i64,
    ) -> Result<ApiKeyId> {
        let id = ApiKeyId::new();
        on_pool!(self, p => sqlx::query("INSERT INTO api_keys (org_id, id, name, token_hash, created_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(org.as_uuid()).bind(id.as_uuid()).bind(name).bind(token_hash).bind(now).execute(p).await.map(|r| r.rows_affected()))?;
        Ok(id)
    }

    /// The organization of a live (not revoked) API key, by the hash of its secret.
    pub async fn api_key(&self, token_hash: &[u8]) -> Result<Option<(OrgId, ApiKeyId)>> {
        let row: Option<(Uuid, Uuid)> = on_pool!(self, p => sqlx::query_as("SELECT org_id, id FROM api_keys WHERE token_hash = $1 AND revoked_at IS NULL")
            .bind(token_hash).fetch_optional(p).await)?;
        Ok(row.map(|(o, k)| (OrgId::from_uuid(o), ApiKeyId::from_uuid(k))))
    }

    /// An organization's API keys: id, name, created, revoked.
    pub async fn api_keys(&self, org: OrgId) -> Result<Vec<(ApiKeyId, String, i64, Option<i64>)>> {
        let rows: Vec<(Uuid, String, i64, Option<i64>)> = on_pool!(self, p => sqlx::query_as("SELECT id, name, created_at, revoked_at FROM api_keys WHERE org_id = $1 ORDER BY created_at")
            .bind(org.as_uuid()).fetch_all(p).await)?;
        Ok(rows
            .into_iter()
            .map(|(i, n, c, r)| (ApiKeyId::from_uuid(i), n, c, r))
            .collect())
    }

    /// Revokes a key at once: requests with it get 401 from then on.
    pub async fn revoke_api_key(&self, org: OrgId, id: ApiKeyId, now: i64) -> Result<()> {
        let n = on_pool!(self, p => sqlx::query("UPDATE api_keys SET revoked_at = $3 WHERE org_id = $1 AND id = $2 AND revoked_at IS NULL")
            .bind(org.as_uuid()).bind(id.as_uuid()).bind(now).execute(p).await.map(|r| r.rows_affected()))?;
        if n == 0 {
            Err(StoreError::NotFound)
        } else {
            Ok(())
        }
    }

    /// The event types `org` may send: the default catalogue, then its own declarations (which may not reuse a
    /// default name).
    pub async fn event_types(&self, org: OrgId) -> Result<Vec<EventType>> {
        let rows: Vec<(String, String, String, String)> = on_pool!(self, p => sqlx::query_as("SELECT name, label, measures, attributes FROM event_types WHERE org_id = $1 ORDER BY name")
            .bind(org.as_uuid()).fetch_all(p).await)?;
        let mut all = heard_domain::event::default_catalogue();
        for (name, label, measures, attributes) in rows {
            let measures: Vec<MeasureDef> = serde_json::from_str(&measures).map_err(corrupt)?;
            let attributes: Vec<String> = serde_json::from_str(&attributes).map_err(corrupt)?;
            all.push(EventType {
                name,
                label,
                measures,
                attributes,
            });
        }
        Ok(all)
    }

    /// Declares an event type for `org` (checked by the caller with `EventType::check`). A name already declared,
    /// or in the default catalogue, is a conflict.
    pub async fn declare_event_type(&self, org: OrgId, t: &EventType, now: i64) -> Result<()> {
        if heard_domain::event::default_catalogue()
            .iter()
            .any(|d| d.name == t.name)
        {
            return Err(StoreError::Conflict(format!(
                "{} is in the default catalogue already",
                t.name
            )));
        }
        let measures = serde_json::to_string(&t.measures).map_err(corrupt)?;
        let attributes = serde_json::to_string(&t.attributes).map_err(corrupt)?;
        on_pool!(self, p => sqlx::query("INSERT INTO event_types (org_id, name, label, measures, attributes, created_at) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(org.as_uuid()).bind(&t.name).bind(&t.label).bind(&measures).bind(&attributes).bind(now).execute(p).await.map(|r| r.rows_affected()))
        .map_err(|e| StoreError::conflict_or(e, "this event type is declared already"))?;
        Ok(())
    }

    /// Stores signals in one transaction, one result per item (see the module's rule).
    pub async fn insert_signals(&self, items: &[NewSignal]) -> Result<Vec<Result<Ingested>>> {
        if items.is_empty() {
            return Ok(vec![]);
        }
        self.insert_signals_with(items.iter().map(|s| (s, None)))
            .await
    }

    /// Stores one signal from one of Heard's own forms (`heard_domain::voice`) by the same insert as the ingestion
    /// API's, with what only a form knows: its attributes, the staff account that sent it, and a sealed contact
    /// (written with the signal, in its transaction, and only when the signal is new).
    pub async fn insert_form_signal(
        &self,
        s: &NewSignal,
        extras: &ProtectedExtras,
    ) -> Result<Ingested> {
        self.insert_signals_with(std::iter::once((s, Some(extras))))
            .await?
            .pop()
            .expect("one result per item")
    }

    async fn insert_signals_with<'a>(
        &self,
        items: impl ExactSizeIterator<Item = (&'a NewSignal, Option<&'a ProtectedExtras>)>,
    ) -> Result<Vec<Result<Ingested>>> {
        let items: Vec<_> = items.collect();
        on_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let mut out = Vec::with_capacity(items.len());
            for &(s, extras) in &items {
                let turns = (!s.turns.is_empty()).then(|| serde_json::to_string(&s.turns)).transpose().map_err(corrupt)?;
                let enrichment = s.enrichment.as_ref().map(|e| e.to_string());
                let themes = (!s.themes.is_empty()).then(|| format!(",{},", s.themes.join(",")));
                let attributes = extras
                    .filter(|x| !x.attributes.is_empty())
                    .map(|x| serde_json::to_string(&x.attributes))
                    .transpose()
                    .map_err(corrupt)?;
                let sent_by = extras.and_then(|x| x.sent_by).map(|u| *u.as_uuid());
                let n = sqlx::query(
                    "INSERT INTO signals (org_id, id, source, author, service_id, touchpoint_id, external_id, request_hash, url, \
                     rating, language, text, turns, enrichment, sentiment, themes, urgent, person_key, reference_key, occurred_at, received_at, \
                     attributes, sent_by) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23) \
                     ON CONFLICT (org_id, source, external_id) DO NOTHING",
                )
                .bind(s.org_id.as_uuid()).bind(s.id.as_uuid()).bind(s.source.key()).bind(s.author.key())
                .bind(s.service_id.map(|x| *x.as_uuid())).bind(s.touchpoint_id.map(|x| *x.as_uuid()))
                .bind(&s.external_id).bind(s.request_fingerprint.as_str()).bind(s.url.as_deref()).bind(s.rating)
                .bind(&s.language).bind(&s.text).bind(turns.as_deref()).bind(enrichment.as_deref())
                .bind(s.sentiment.as_deref()).bind(themes.as_deref()).bind(s.urgent)
                .bind(s.person_key.as_ref().map(|k| k.0.as_str())).bind(s.reference_key.as_ref().map(|k| k.0.as_str()))
                .bind(s.occurred_at).bind(s.received_at).bind(attributes.as_deref()).bind(sent_by)
                .execute(&mut *tx).await?.rows_affected();
                out.push(if n == 1 {
                    if let Some(sealed) = extras.and_then(|x| x.sealed_contact.as_ref()) {
                        sqlx::query("INSERT INTO signal_contacts (org_id, signal_id, sealed) VALUES ($1, $2, $3)")
                            .bind(s.org_id.as_uuid()).bind(s.id.as_uuid()).bind(sealed)
                            .execute(&mut *tx).await?;
                    }
                    Ok(Ingested { id: *s.id.as_uuid(), duplicate: false })
                } else {
                    let (id, stored): (Uuid, String) = sqlx::query_as(
                        "SELECT id, request_hash FROM signals WHERE org_id = $1 AND source = $2 AND external_id = $3")
                        .bind(s.org_id.as_uuid()).bind(s.source.key()).bind(&s.external_id)
                        .fetch_one(&mut *tx).await?;
                    replay(id, &stored, &s.request_fingerprint)
                });
            }
            // What follows new data, in the data's commit (`after_data`).
            let mut orgs: Vec<OrgId> = items
                .iter()
                .zip(&out)
                .filter(|(_, r)| matches!(r, Ok(Ingested { duplicate: false, .. })))
                .map(|((s, _), _)| s.org_id)
                .collect();
            orgs.sort_unstable_by_key(|o| *o.as_uuid());
            orgs.dedup();
            for org in orgs {
                tx.data_arrived(org, crate::now_ms()).await?;
            }
            // An urgent case for each new signal with crisis language, in the same commit (`cases.rs`).
            let fresh: Vec<&NewSignal> = items
                .iter()
                .zip(&out)
                .filter(|(_, r)| matches!(r, Ok(Ingested { duplicate: false, .. })))
                .map(|((s, _), _)| *s)
                .collect();
            let mut tx = crate::jobs::StoreTx::from(tx);
            tx.open_crisis_cases_for_signals(&fresh, crate::now_ms()).await?;
            // Then the organizations' rules on signals (`rules.rs`), in the same commit.
            tx.apply_signal_rules(&fresh, crate::now_ms()).await?;
            tx.commit().await?;
            Ok(out)
        })
    }

    /// Stores events in one transaction, one result per item (see the module's rule).
    pub async fn insert_events(&self, items: &[NewEvent]) -> Result<Vec<Result<Ingested>>> {
        if items.is_empty() {
            return Ok(vec![]);
        }
        on_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let mut out = Vec::with_capacity(items.len());
            let mut stored_events: Vec<&NewEvent> = Vec::with_capacity(items.len());
            for e in items {
                let measures = serde_json::to_string(&e.measures).map_err(corrupt)?;
                let attributes = serde_json::to_string(&e.attributes).map_err(corrupt)?;
                let n = sqlx::query(
                    "INSERT INTO events (org_id, id, type, source, occurred_at, received_at, service_id, touchpoint_id, \
                     person_key, reference_key, measures, attributes, external_id, request_hash) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) \
                     ON CONFLICT (org_id, external_id) DO NOTHING",
                )
                .bind(e.org_id.as_uuid()).bind(e.id.as_uuid()).bind(&e.event_type).bind(&e.source)
                .bind(e.occurred_at).bind(e.received_at)
                .bind(e.service_id.map(|x| *x.as_uuid())).bind(e.touchpoint_id.map(|x| *x.as_uuid()))
                .bind(e.person_key.as_ref().map(|k| k.0.as_str())).bind(e.reference_key.as_ref().map(|k| k.0.as_str()))
                .bind(&measures).bind(&attributes).bind(&e.external_id).bind(e.request_fingerprint.as_str())
                .execute(&mut *tx).await?.rows_affected();
                out.push(if n == 1 {
                    stored_events.push(e);
                    Ok(Ingested { id: *e.id.as_uuid(), duplicate: false })
                } else {
                    let (id, stored): (Uuid, String) = sqlx::query_as(
                        "SELECT id, request_hash FROM events WHERE org_id = $1 AND external_id = $2")
                        .bind(e.org_id.as_uuid()).bind(&e.external_id)
                        .fetch_one(&mut *tx).await?;
                    replay(id, &stored, &e.request_fingerprint)
                });
            }
            // Per organization with new events, in the events' own commit: the rollups the events page reads
            // (`event_rollups.rs`) and what follows new data (`after_data`).
            let mut orgs: Vec<OrgId> = stored_events.iter().map(|e| e.org_id).collect();
            orgs.sort_unstable_by_key(|o| *o.as_uuid());
            orgs.dedup();
            for org in orgs {
                let rows: Vec<&NewEvent> = stored_events.iter().copied().filter(|e| e.org_id == org).collect();
                tx.add_events(org, &rows).await?;
                tx.data_arrived(org, crate::now_ms()).await?;
            }
            // The organizations' rules on events (`rules.rs`), in the same commit.
            let mut tx = crate::jobs::StoreTx::from(tx);
            tx.apply_event_rules(&stored_events, crate::now_ms()).await?;
            tx.commit().await?;
            Ok(out)
        })
    }

    /// An organization's signals, oldest first.
    pub async fn signals(&self, org: OrgId) -> Result<Vec<SignalRecord>> {
        Ok(on_pool!(self, p => sqlx::query_as(
            "SELECT id, source, author, external_id, url, rating, language, text, turns, enrichment, sentiment, themes, urgent, \
             person_key, reference_key, occurred_at FROM signals WHERE org_id = $1 ORDER BY occurred_at, id")
            .bind(org.as_uuid()).fetch_all(p).await)?)
    }

    /// What a form added to one of `org`'s signals, and where it points (service, touchpoint); `NotFound` for a
    /// signal of another organization.
    pub async fn signal_form_fields(&self, org: OrgId, id: Uuid) -> Result<SignalFormFields> {
        on_pool!(self, p => sqlx::query_as(
            "SELECT s.id, s.service_id, s.touchpoint_id, s.attributes, s.sent_by, c.sealed AS sealed_contact \
             FROM signals s LEFT JOIN signal_contacts c ON c.org_id = s.org_id AND c.signal_id = s.id \
             WHERE s.org_id = $1 AND s.id = $2")
            .bind(org.as_uuid()).bind(id).fetch_optional(p).await)?
        .ok_or(StoreError::NotFound)
    }

    /// The staff observations `user` sent in `org`, newest first, at most `limit`.
    pub async fn observations_by(
        &self,
        org: OrgId,
        user: UserId,
        limit: i64,
    ) -> Result<Vec<ObservationRecord>> {
        Ok(on_pool!(self, p => sqlx::query_as(
            "SELECT id, service_id, touchpoint_id, text, attributes, sentiment, urgent, received_at FROM signals \
             WHERE org_id = $1 AND sent_by = $2 AND source = 'staff_observation' ORDER BY received_at DESC, id DESC LIMIT $3")
            .bind(org.as_uuid()).bind(user.as_uuid()).bind(limit).fetch_all(p).await)?)
    }

    /// An organization's events, oldest first.
    pub async fn events(&self, org: OrgId) -> Result<Vec<EventRecord>> {
        Ok(on_pool!(self, p => sqlx::query_as(
            "SELECT id, type, source, occurred_at, service_id, person_key, reference_key, measures, attributes, external_id \
             FROM events WHERE org_id = $1 ORDER BY occurred_at, id")
            .bind(org.as_uuid()).fetch_all(p).await)?)
    }
}

fn replay(id: Uuid, stored: &str, new: &RequestFingerprint) -> Result<Ingested> {
    match Replay::of(Some(stored), new) {
        Replay::Same => Ok(Ingested {
            id,
            duplicate: true,
        }),
        Replay::Reused => Err(StoreError::IdempotencyKeyReused),
    }
}
