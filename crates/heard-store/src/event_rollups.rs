//! Event rollups kept on ingest (migration 0030): events per local day, service, touchpoint and type
//! (`event_days`), and each measure's count, sum and quantile sketch (`event_measure_days`), which the events page
//! of a service and its CSV read instead of every event.
//!
//! **Kept in the events' own transaction.** The ingestion API (`Store::insert_events`) and the bulk path call
//! [`EventRollupTx::add_events`] with the events they stored, before they commit: the batch is aggregated in Rust
//! (`heard_domain::rollup::EventRollup`, the one definition of what an event adds), then counts are added by one
//! multi-row upsert per thousand keys, and each measure row touched is read, merged with the batch's (sketches merge
//! by adding bucket counts) and written back. On PostgreSQL, where two transactions may write events of one
//! organization at once, the read-merge-write runs under a transaction-level advisory lock per organization, so no
//! merge is lost; SQLite has one writer. [`Store::rebuild_rollups`] recomputes an organization's rows from its events
//! with its response rollups (after a change of time zone, or `heard rollups rebuild`).

use std::collections::BTreeMap;

use futures_util::future::BoxFuture;
use heard_domain::event::NewEvent;
use heard_domain::rollup::{EventKey, EventRollup, MeasureAgg};
use heard_domain::sketch::Sketch;
use heard_domain::{OrgId, ServiceId, TouchpointId, Zone};
use uuid::Uuid;

use crate::bulk::values;
use crate::{Result, Store, StoreError, on_pool};

/// Keys per upsert statement: 9 columns of 1,000 rows stay under SQLite's 32,766 parameters.
const KEYS_PER_STATEMENT: usize = 1000;

/// Events read per page when rebuilding.
pub(crate) const REBUILD_PAGE: i64 = 20_000;

fn nil_or(u: Option<Uuid>) -> Uuid {
    u.unwrap_or(Uuid::nil())
}

fn some_unless_nil(u: Uuid) -> Option<Uuid> {
    (!u.is_nil()).then_some(u)
}

/// The advisory lock key (PostgreSQL) that serializes merges into one organization's measure rows: the first 8
/// bytes of its id, XOR a constant naming this use.
fn lock_key(org: OrgId) -> i64 {
    let b = org.as_uuid().as_bytes();
    i64::from_be_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]) ^ 0x4576_526f_6c6c_7570
}

/// The key of a stored event as the rollups count it.
pub(crate) fn key_of(
    zone: &Zone,
    occurred_at: i64,
    service: Option<Uuid>,
    touchpoint: Option<Uuid>,
    event_type: &str,
) -> EventKey {
    EventKey {
        service_id: service.map(ServiceId::from_uuid),
        day: zone.day_number(occurred_at),
        touchpoint_id: touchpoint.map(TouchpointId::from_uuid),
        event_type: event_type.to_string(),
    }
}

/// Writes to the event rollups in the caller's transaction, on either backend.
pub(crate) trait EventRollupTx: Send {
    /// Adds the events `rows` (all `org`'s, just stored in this transaction) to the rollups.
    fn add_events<'a>(
        &'a mut self,
        org: OrgId,
        rows: &'a [&'a NewEvent],
    ) -> BoxFuture<'a, Result<()>>;
    /// Adds an aggregated event rollup of `org` (merging into the stored measure rows).
    fn add_event_rollup<'a>(
        &'a mut self,
        org: OrgId,
        roll: &'a EventRollup,
    ) -> BoxFuture<'a, Result<()>>;
}

macro_rules! event_rollup_tx {
    ($db:ty, $anonymous:expr, $postgres:expr) => {
        impl EventRollupTx for sqlx::Transaction<'static, $db> {
            fn add_events<'a>(
                &'a mut self,
                org: OrgId,
                rows: &'a [&'a NewEvent],
            ) -> BoxFuture<'a, Result<()>> {
                Box::pin(async move {
                    if rows.is_empty() {
                        return Ok(());
                    }
                    let zone: String =
                        sqlx::query_scalar("SELECT time_zone FROM organizations WHERE id = $1")
                            .bind(org.as_uuid())
                            .fetch_one(&mut **self)
                            .await?;
                    let zone = Zone::parse(&zone).unwrap_or_default();
                    let mut roll = EventRollup::default();
                    for e in rows {
                        roll.add(
                            key_of(
                                &zone,
                                e.occurred_at,
                                e.service_id.map(|s| *s.as_uuid()),
                                e.touchpoint_id.map(|t| *t.as_uuid()),
                                &e.event_type,
                            ),
                            e.measures.iter().map(|(k, v)| (k.as_str(), *v)),
                        );
                    }
                    self.add_event_rollup(org, &roll).await
                })
            }

            fn add_event_rollup<'a>(
                &'a mut self,
                org: OrgId,
                roll: &'a EventRollup,
            ) -> BoxFuture<'a, Result<()>> {
                Box::pin(async move {
                    let counts: Vec<(&EventKey, &u64)> = roll.events.iter().collect();
                    for chunk in counts.chunks(KEYS_PER_STATEMENT) {
                        let sql = format!(
                            "INSERT INTO event_days (org_id, service_id, day, touchpoint_id, type, events) VALUES {} \
                             ON CONFLICT (org_id, service_id, day, touchpoint_id, type) DO UPDATE SET \
                             events = event_days.events + excluded.events",
                            values(6, chunk.len(), $anonymous)
                        );
                        let mut q = sqlx::query(&sql);
                        for (k, n) in chunk {
                            q = q
                                .bind(org.as_uuid())
                                .bind(nil_or(k.service_id.map(|s| *s.as_uuid())))
                                .bind(k.day)
                                .bind(nil_or(k.touchpoint_id.map(|t| *t.as_uuid())))
                                .bind(k.event_type.as_str())
                                .bind(**n as i64);
                        }
                        q.execute(&mut **self).await?;
                    }
                    if roll.measures.is_empty() {
                        return Ok(());
                    }
                    if $postgres {
                        sqlx::query("SELECT pg_advisory_xact_lock($1)")
                            .bind(lock_key(org))
                            .execute(&mut **self)
                            .await?;
                    }
                    let mut merged: Vec<(&(EventKey, String), MeasureAgg)> =
                        Vec::with_capacity(roll.measures.len());
                    for (key, add) in &roll.measures {
                        let (k, measure) = key;
                        let stored: Option<(i64, f64, String)> = sqlx::query_as(
                            "SELECT n, total, sketch FROM event_measure_days WHERE org_id = $1 AND service_id = $2 \
                             AND day = $3 AND touchpoint_id = $4 AND type = $5 AND measure = $6",
                        )
                        .bind(org.as_uuid())
                        .bind(nil_or(k.service_id.map(|s| *s.as_uuid())))
                        .bind(k.day)
                        .bind(nil_or(k.touchpoint_id.map(|t| *t.as_uuid())))
                        .bind(k.event_type.as_str())
                        .bind(measure.as_str())
                        .fetch_optional(&mut **self)
                        .await?;
                        let mut agg = add.clone();
                        if let Some((n, total, sketch)) = stored {
                            agg.merge(&MeasureAgg {
                                n: n as u64,
                                total,
                                sketch: Sketch::decode(&sketch)
                                    .map_err(|e| StoreError::Corrupt(e.to_string()))?,
                            });
                        }
                        merged.push((key, agg));
                    }
                    for chunk in merged.chunks(KEYS_PER_STATEMENT) {
                        let sql = format!(
                            "INSERT INTO event_measure_days (org_id, service_id, day, touchpoint_id, type, measure, n, \
                             total, sketch) VALUES {} \
                             ON CONFLICT (org_id, service_id, day, touchpoint_id, type, measure) DO UPDATE SET \
                             n = excluded.n, total = excluded.total, sketch = excluded.sketch",
                            values(9, chunk.len(), $anonymous)
                        );
                        let mut q = sqlx::query(&sql);
                        for ((k, measure), agg) in chunk {
                            q = q
                                .bind(org.as_uuid())
                                .bind(nil_or(k.service_id.map(|s| *s.as_uuid())))
                                .bind(k.day)
                                .bind(nil_or(k.touchpoint_id.map(|t| *t.as_uuid())))
                                .bind(k.event_type.as_str())
                                .bind(measure.as_str())
                                .bind(agg.n as i64)
                                .bind(agg.total)
                                .bind(agg.sketch.encode());
                        }
                        q.execute(&mut **self).await?;
                    }
                    Ok(())
                })
            }
        }
    };
}

event_rollup_tx!(sqlx::Sqlite, true, false);
event_rollup_tx!(sqlx::Postgres, false, true);

/// Event rollup rows of one service over local days `from_day..to_day`.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct EventDays {
    /// (day, touchpoint, type) -> events
    pub events: Vec<(i64, Option<TouchpointId>, String, u64)>,
    /// (day, touchpoint, type, measure) and the measure's aggregate.
    pub measures: Vec<(i64, Option<TouchpointId>, String, String, MeasureAgg)>,
}

/// One stored event as a rebuild reads it.
#[derive(sqlx::FromRow)]
pub(crate) struct StoredEvent {
    pub id: Uuid,
    #[sqlx(rename = "type")]
    pub event_type: String,
    pub occurred_at: i64,
    pub service_id: Option<Uuid>,
    pub touchpoint_id: Option<Uuid>,
    pub measures: String,
}

impl StoredEvent {
    /// Adds this event to `roll`.
    pub(crate) fn add_to(&self, zone: &Zone, roll: &mut EventRollup) -> Result<()> {
        let measures: BTreeMap<String, f64> = serde_json::from_str(&self.measures)
            .map_err(|e| StoreError::Corrupt(format!("stored measures: {e}")))?;
        roll.add(
            key_of(
                zone,
                self.occurred_at,
                self.service_id,
                self.touchpoint_id,
                &self.event_type,
            ),
            measures.iter().map(|(k, v)| (k.as_str(), *v)),
        );
        Ok(())
    }
}

impl Store {
    /// The event rollup rows of one service of `org` from `from_day` to `to_day` (local day numbers, half-open).
    pub async fn event_days(
        &self,
        org: OrgId,
        service: ServiceId,
        from_day: i64,
        to_day: i64,
    ) -> Result<EventDays> {
        let counts: Vec<(i64, Uuid, String, i64)> = on_pool!(self, p => sqlx::query_as(
            "SELECT day, touchpoint_id, type, events FROM event_days WHERE org_id = $1 AND service_id = $2 \
             AND day >= $3 AND day < $4")
            .bind(org.as_uuid()).bind(service.as_uuid()).bind(from_day).bind(to_day)
            .fetch_all(p).await)?;
        let measures: Vec<(i64, Uuid, String, String, i64, f64, String)> = on_pool!(self, p => sqlx::query_as(
            "SELECT day, touchpoint_id, type, measure, n, total, sketch FROM event_measure_days \
             WHERE org_id = $1 AND service_id = $2 AND day >= $3 AND day < $4")
            .bind(org.as_uuid()).bind(service.as_uuid()).bind(from_day).bind(to_day)
            .fetch_all(p).await)?;
        let tp = |u: Uuid| some_unless_nil(u).map(TouchpointId::from_uuid);
        let mut out = EventDays {
            events: counts
                .into_iter()
                .map(|(d, t, ty, n)| (d, tp(t), ty, n as u64))
                .collect(),
            measures: Vec::with_capacity(measures.len()),
        };
        for (d, t, ty, m, n, total, sketch) in measures {
            let sketch = Sketch::decode(&sketch).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            out.measures.push((
                d,
                tp(t),
                ty,
                m,
                MeasureAgg {
                    n: n as u64,
                    total,
                    sketch,
                },
            ));
        }
        Ok(out)
    }
}
