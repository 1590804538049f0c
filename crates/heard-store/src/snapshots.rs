//! Insight snapshots: the stored results of analyses that read row-level data (key drivers, barriers by customer
//! characteristics, operational joins, journeys). A job computes one and [`Store::put_insight_snapshot`] replaces the
//! previous one for the same organization, kind, scope and period; a page reads the newest with
//! [`Store::insight_snapshot`] and shows when it was computed and from how many rows.

use heard_domain::OrgId;

use crate::{Result, Store, on_pool};

/// One stored analysis result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InsightSnapshot {
    /// What analysis (`drivers`, `segments`, `operations`, `journey`, ...).
    pub kind: String,
    /// What it covers: `""` for the whole organization, or `service:<uuid>`, `journey:<id>`, ...
    pub scope: String,
    /// A fiscal quarter (`FY2026 Q1`) or `""` for all time.
    pub period: String,
    /// Milliseconds since the Unix epoch.
    pub computed_at: i64,
    /// Rows (responses or events) the analysis read.
    pub n: i64,
    /// The result as JSON, in the shape the kind's page reads.
    pub result: String,
}

impl Store {
    /// Stores `snap` for `org`, replacing any earlier snapshot of the same kind, scope and period.
    pub async fn put_insight_snapshot(&self, org: OrgId, snap: &InsightSnapshot) -> Result<()> {
        on_pool!(self, p => sqlx::query(
            "INSERT INTO insight_snapshots (org_id, kind, scope, period, computed_at, n, result) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (org_id, kind, scope, period) DO UPDATE SET computed_at = excluded.computed_at, \
             n = excluded.n, result = excluded.result")
            .bind(org.as_uuid()).bind(&snap.kind).bind(&snap.scope).bind(&snap.period)
            .bind(snap.computed_at).bind(snap.n).bind(&snap.result)
            .execute(p).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// The organization's snapshot of `kind` for `scope` and `period`, if one was computed.
    pub async fn insight_snapshot(
        &self,
        org: OrgId,
        kind: &str,
        scope: &str,
        period: &str,
    ) -> Result<Option<InsightSnapshot>> {
        let row: Option<(i64, i64, String)> = on_pool!(self, p => sqlx::query_as(
            "SELECT computed_at, n, result FROM insight_snapshots \
             WHERE org_id = $1 AND kind = $2 AND scope = $3 AND period = $4")
            .bind(org.as_uuid()).bind(kind).bind(scope).bind(period)
            .fetch_optional(p).await)?;
        Ok(row.map(|(computed_at, n, result)| InsightSnapshot {
            kind: kind.to_string(),
            scope: scope.to_string(),
            period: period.to_string(),
            computed_at,
            n,
            result,
        }))
    }
}
