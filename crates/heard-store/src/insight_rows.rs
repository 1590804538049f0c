//! What the insight analyses (key drivers, barriers by customer characteristics, operations) read: one row per
//! response in a period, streamed with a cursor (never a table in memory), each joined in the database with what
//! happened to its person: the longest call and office waits, transfers, contacts, times asked again for the same
//! information and days to a decision, from that person's operational events.
//!
//! The join is done by the database (a `GROUP BY person_key` over the period's events, joined to the responses on
//! the keyed person hash), so the server holds one row at a time whatever the number of responses and events.
//! Events count from [`LOOKBACK_MS`] before the period's start, since what shaped an answer early in a quarter
//! often happened in the quarter before.

use futures_util::stream::BoxStream;
use futures_util::{StreamExt, TryStreamExt};
use heard_domain::OrgId;
use uuid::Uuid;

use crate::{Result, Store, on_pool};

/// Events this long before the period's start (120 days, in milliseconds) still count for its responses.
pub const LOOKBACK_MS: i64 = 120 * 86_400_000;

/// One response and its person's operational measures (all `None` when the response has no person key or the
/// person had no event of that kind).
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct InsightRow {
    /// The survey answered, and its version.
    pub survey_id: Uuid,
    pub survey_version: i32,
    pub service_id: Uuid,
    pub touchpoint_id: Option<Uuid>,
    /// Where the response arrived (A-11 channel code).
    pub channel: String,
    /// The language it was answered in (`en`, `es`, ...).
    pub language: String,
    /// Whether the trust answer was positive (`None`: not answered).
    pub trust_positive: Option<bool>,
    /// The answers as stored (JSON object: question id to answer).
    pub answers: String,
    /// The text engine's enrichment as stored (JSON object: question id to analysis), when any text was given.
    pub enrichment: Option<String>,
    /// Whether the response has a person key (linked to the person's other records).
    pub linked: bool,
    /// The person's longest call or chat wait (seconds).
    pub call_wait: Option<f64>,
    /// The person's longest office wait (seconds).
    pub office_wait: Option<f64>,
    /// The most transfers on one of the person's calls or chats.
    pub transfers: Option<f64>,
    /// The person's calls, chats and office visits.
    pub contacts: Option<i64>,
    /// Times the person was asked again for information they had given (sum of `times`, 1 when not stated).
    pub asked_again: Option<f64>,
    /// The person's longest processing time of a decided application (seconds).
    pub processing_time: Option<f64>,
}

/// People and those asked again for information, per service, over a period's events.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct AskedAgainCount {
    pub service_id: Option<Uuid>,
    /// Distinct persons with any event of the service.
    pub people: i64,
    /// Distinct persons with an `information_asked_again` event of the service.
    pub asked_again: i64,
}

/// Events per touchpoint over a period (the volume an experience gap is weighed by).
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct TouchpointVolume {
    pub touchpoint_id: Uuid,
    pub events: i64,
}

impl Store {
    /// `org`'s responses submitted in `[from, to)` (ms), each with its person's measures from the events in
    /// `[from - LOOKBACK_MS, to)`, streamed in no particular order.
    pub fn insight_rows(
        &self,
        org: OrgId,
        from: i64,
        to: i64,
    ) -> BoxStream<'_, Result<InsightRow>> {
        static SQL: std::sync::LazyLock<[String; 2]> =
            std::sync::LazyLock::new(|| [rows_sql(true), rows_sql(false)]);
        let sql: &'static str = &SQL[usize::from(!self.sqlite())];
        let lookback = from.saturating_sub(LOOKBACK_MS);
        on_pool!(self, p => sqlx::query_as::<_, InsightRow>(sql)
            .bind(*org.as_uuid())
            .bind(from)
            .bind(to)
            .bind(lookback)
            .fetch(p)
            .map_err(crate::StoreError::from)
            .boxed())
    }

    /// Per service, the people with any event in `[from, to)` and those asked again for information.
    pub async fn asked_again_by_service(
        &self,
        org: OrgId,
        from: i64,
        to: i64,
    ) -> Result<Vec<AskedAgainCount>> {
        Ok(on_pool!(self, p => sqlx::query_as(
            "SELECT service_id, COUNT(DISTINCT person_key) AS people, \
               COUNT(DISTINCT CASE WHEN type = 'information_asked_again' THEN person_key END) AS asked_again \
             FROM events WHERE org_id = $1 AND occurred_at >= $2 AND occurred_at < $3 \
               AND person_key IS NOT NULL GROUP BY service_id")
            .bind(org.as_uuid()).bind(from).bind(to).fetch_all(p).await)?)
    }

    /// How many of `org`'s jobs of `kind` are queued or running (a page says a refresh is on its way).
    pub async fn pending_jobs_of_kind(&self, org: OrgId, kind: &str) -> Result<i64> {
        let (n,): (i64,) = on_pool!(self, p => sqlx::query_as(
            "SELECT COUNT(*) FROM jobs WHERE org_id = $1 AND kind = $2 AND state IN ('queued', 'running')")
            .bind(org.as_uuid()).bind(kind).fetch_one(p).await)?;
        Ok(n)
    }

    /// Events per touchpoint in `[from, to)`.
    pub async fn touchpoint_volumes(
        &self,
        org: OrgId,
        from: i64,
        to: i64,
    ) -> Result<Vec<TouchpointVolume>> {
        Ok(on_pool!(self, p => sqlx::query_as(
            "SELECT touchpoint_id, COUNT(*) AS events FROM events \
             WHERE org_id = $1 AND occurred_at >= $2 AND occurred_at < $3 AND touchpoint_id IS NOT NULL \
             GROUP BY touchpoint_id")
            .bind(org.as_uuid()).bind(from).bind(to).fetch_all(p).await)?)
    }
}

/// The query of [`Store::insight_rows`] for SQLite (`sqlite`) or PostgreSQL: only reading a measure from the
/// events' JSON differs.
fn rows_sql(sqlite: bool) -> String {
    let m = |name: &str| {
        if sqlite {
            format!("CAST(json_extract(e.measures, '$.{name}') AS REAL)")
        } else {
            format!("CAST(e.measures::jsonb->>'{name}' AS DOUBLE PRECISION)")
        }
    };
    let contact = "e.type IN ('call', 'chat', 'office_visit')";
    format!(
        "WITH ops AS (SELECT e.person_key AS person_key, \
           MAX(CASE WHEN e.type IN ('call', 'chat') THEN {wait} END) AS call_wait, \
           MAX(CASE WHEN e.type = 'office_visit' THEN {wait} END) AS office_wait, \
           MAX(CASE WHEN e.type IN ('call', 'chat') THEN COALESCE({transfers}, 0.0) END) AS transfers, \
           SUM(CASE WHEN {contact} THEN 1 ELSE 0 END) AS contacts, \
           SUM(CASE WHEN e.type = 'information_asked_again' THEN COALESCE({times}, 1) ELSE 0 END) AS asked_again, \
           MAX(CASE WHEN e.type = 'application_decided' THEN {processing} END) AS processing_time \
         FROM events e WHERE e.org_id = $1 AND e.person_key IS NOT NULL \
           AND e.occurred_at >= $4 AND e.occurred_at < $3 GROUP BY e.person_key) \
         SELECT r.survey_id AS survey_id, r.survey_version AS survey_version, r.service_id AS service_id, \
           r.touchpoint_id AS touchpoint_id, r.channel AS channel, r.language AS language, \
           r.trust_positive AS trust_positive, r.answers AS answers, r.enrichment AS enrichment, \
           (r.person_key IS NOT NULL) AS linked, ops.call_wait AS call_wait, ops.office_wait AS office_wait, \
           ops.transfers AS transfers, CAST(ops.contacts AS BIGINT) AS contacts, \
           CAST(ops.asked_again AS DOUBLE PRECISION) AS asked_again, ops.processing_time AS processing_time \
         FROM responses r LEFT JOIN ops ON ops.person_key = r.person_key \
         WHERE r.org_id = $1 AND r.submitted_at >= $2 AND r.submitted_at < $3",
        wait = m("wait"),
        transfers = m("transfers"),
        times = m("times"),
        processing = m("processing_time"),
    )
}
