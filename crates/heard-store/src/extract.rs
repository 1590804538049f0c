//! What whole-table exports read (`heard export parquet`): every response, signal and event of an organization,
//! optionally within a time range, in keyset pages on the primary key `(org_id, id)`, so an export of any size holds
//! one page in memory and each page is one index range walk on either backend. Ids are UUID version 7, so pages come
//! roughly in the order items were stored; exports need every row, not an order.
//!
//! Only what analytics tables hold is read: answers without contact details (those are sealed in
//! `response_contacts`), redacted text, and persons and cases as keyed hashes. A time range is applied to each row
//! of the walk (`occurred_at`, or `submitted_at` for responses); no index serves it, which costs a full walk of the
//! organization's rows for a narrow range and nothing for the usual whole export.

use heard_domain::OrgId;
use uuid::Uuid;

use crate::inbox::{InboxSignal, SIGNAL_COLUMNS};
use crate::records::{RESPONSE_COLUMNS, ResponseRow};
use crate::{Result, Store, StoredResponse, on_pool};

/// A half-open range of instants, milliseconds since the Unix epoch: `[from_ms, to_ms)`; `None` is unbounded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TimeRange {
    pub from_ms: Option<i64>,
    pub to_ms: Option<i64>,
}

/// A stored response with its person key (the keyed hash of its contact answers, when it gave any).
#[derive(Debug, Clone)]
pub struct ExtractResponse {
    pub response: StoredResponse,
    pub person_key: Option<String>,
}

#[derive(sqlx::FromRow)]
struct ExtractResponseRow {
    #[sqlx(flatten)]
    row: ResponseRow,
    person_key: Option<String>,
}

/// A stored event as exports read it: everything but its request fingerprint.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ExtractEvent {
    pub id: Uuid,
    #[sqlx(rename = "type")]
    pub event_type: String,
    pub source: String,
    pub occurred_at: i64,
    pub received_at: i64,
    pub service_id: Option<Uuid>,
    pub touchpoint_id: Option<Uuid>,
    pub person_key: Option<String>,
    pub reference_key: Option<String>,
    /// JSON object: measure name to number (seconds or a count).
    pub measures: String,
    /// JSON object: attribute name to string (redacted), number, boolean or null.
    pub attributes: String,
    pub external_id: String,
}

const EVENT_COLUMNS: &str = "id, type, source, occurred_at, received_at, service_id, touchpoint_id, person_key, \
     reference_key, measures, attributes, external_id";

/// `WHERE` of a page: `$1` the organization, `$2` the id after which the page starts (or NULL), `$3` and `$4` the
/// range on `time`, `$5` the page size. The id condition is written bare when there is one, so both engines walk
/// the primary key from it.
fn page_sql(columns: &str, table: &str, time: &str, after: bool) -> String {
    let after = if after {
        "AND id > $2"
    } else {
        "AND $2 IS NULL"
    };
    format!(
        "SELECT {columns} FROM {table} WHERE org_id = $1 {after} AND ($3 IS NULL OR {time} >= $3) \
         AND ($4 IS NULL OR {time} < $4) ORDER BY id LIMIT $5"
    )
}

fn count_sql(table: &str, time: &str) -> String {
    format!(
        "SELECT COUNT(*) FROM {table} WHERE org_id = $1 AND ($2 IS NULL OR {time} >= $2) AND ($3 IS NULL OR {time} < $3)"
    )
}

impl Store {
    /// Up to `limit` responses of `org` in `range` (on `submitted_at`) with ids after `after`, by id.
    pub async fn extract_responses(
        &self,
        org: OrgId,
        range: TimeRange,
        after: Option<Uuid>,
        limit: i64,
    ) -> Result<Vec<ExtractResponse>> {
        let sql = page_sql(
            &format!("{RESPONSE_COLUMNS}, person_key"),
            "responses",
            "submitted_at",
            after.is_some(),
        );
        let rows: Vec<ExtractResponseRow> = on_pool!(self, p => sqlx::query_as(&sql)
            .bind(org.as_uuid()).bind(after).bind(range.from_ms).bind(range.to_ms).bind(limit)
            .fetch_all(p).await)?;
        rows.into_iter()
            .map(|r| {
                Ok(ExtractResponse {
                    response: r.row.try_into()?,
                    person_key: r.person_key,
                })
            })
            .collect()
    }

    /// Up to `limit` signals of `org` in `range` (on `occurred_at`) with ids after `after`, by id.
    pub async fn extract_signals(
        &self,
        org: OrgId,
        range: TimeRange,
        after: Option<Uuid>,
        limit: i64,
    ) -> Result<Vec<InboxSignal>> {
        let sql = page_sql(SIGNAL_COLUMNS, "signals", "occurred_at", after.is_some());
        Ok(on_pool!(self, p => sqlx::query_as(&sql)
            .bind(org.as_uuid()).bind(after).bind(range.from_ms).bind(range.to_ms).bind(limit)
            .fetch_all(p).await)?)
    }

    /// Up to `limit` events of `org` in `range` (on `occurred_at`) with ids after `after`, by id.
    pub async fn extract_events(
        &self,
        org: OrgId,
        range: TimeRange,
        after: Option<Uuid>,
        limit: i64,
    ) -> Result<Vec<ExtractEvent>> {
        let sql = page_sql(EVENT_COLUMNS, "events", "occurred_at", after.is_some());
        Ok(on_pool!(self, p => sqlx::query_as(&sql)
            .bind(org.as_uuid()).bind(after).bind(range.from_ms).bind(range.to_ms).bind(limit)
            .fetch_all(p).await)?)
    }

    /// How many rows of `org`'s `kind` fall in `range`: what an export's progress counts to.
    pub async fn extract_count(
        &self,
        org: OrgId,
        kind: ExtractKind,
        range: TimeRange,
    ) -> Result<i64> {
        let (table, time) = match kind {
            ExtractKind::Responses => ("responses", "submitted_at"),
            ExtractKind::Signals => ("signals", "occurred_at"),
            ExtractKind::Events => ("events", "occurred_at"),
        };
        let sql = count_sql(table, time);
        Ok(on_pool!(self, p => sqlx::query_scalar(&sql)
            .bind(org.as_uuid()).bind(range.from_ms).bind(range.to_ms).fetch_one(p).await)?)
    }
}

/// The tables an export reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExtractKind {
    Responses,
    Signals,
    Events,
}
