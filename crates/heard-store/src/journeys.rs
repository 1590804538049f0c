//! Journey definitions as data: an organization's journeys, each a short name (`id`) and the JSON of a
//! `heard_insight::journeys::JourneyDefinition` (validated by the caller before it is written; the store keeps the
//! text as given). Writes go through a [`StoreTx`] so the job that recomputes the journey commits with them.

use heard_domain::OrgId;

use crate::jobs::{StoreTx, on_tx};
use crate::{Result, Store, on_pool};

/// One stored journey.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredJourney {
    /// The short name: lower-case letters, digits and hyphens.
    pub id: String,
    /// The definition's JSON.
    pub definition: String,
    /// When it was last changed, ms since the Unix epoch.
    pub updated_at: i64,
}

/// What [`StoreTx::put_journey`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PutJourney {
    /// There was no journey with this id.
    Created,
    /// The definition differed and was replaced.
    Updated,
    /// The same definition was stored already: nothing was written.
    Unchanged,
}

impl Store {
    /// The organization's journeys, by id.
    pub async fn journeys(&self, org: OrgId) -> Result<Vec<StoredJourney>> {
        let rows: Vec<(String, String, i64)> = on_pool!(self, p => sqlx::query_as(
            "SELECT id, definition, updated_at FROM journeys WHERE org_id = $1 ORDER BY id")
            .bind(org.as_uuid())
            .fetch_all(p).await)?;
        Ok(rows
            .into_iter()
            .map(|(id, definition, updated_at)| StoredJourney {
                id,
                definition,
                updated_at,
            })
            .collect())
    }

    /// One journey of the organization, if it has one with this id.
    pub async fn journey(&self, org: OrgId, id: &str) -> Result<Option<StoredJourney>> {
        let row: Option<(String, i64)> = on_pool!(self, p => sqlx::query_as(
            "SELECT definition, updated_at FROM journeys WHERE org_id = $1 AND id = $2")
            .bind(org.as_uuid()).bind(id)
            .fetch_optional(p).await)?;
        Ok(row.map(|(definition, updated_at)| StoredJourney {
            id: id.to_string(),
            definition,
            updated_at,
        }))
    }
}

impl StoreTx {
    /// Creates or replaces the organization's journey `id` with `definition` (JSON, already validated) at `now`
    /// (ms). The same definition again writes nothing and says [`PutJourney::Unchanged`], so a retried PUT is
    /// harmless.
    pub async fn put_journey(
        &mut self,
        org: OrgId,
        id: &str,
        definition: &str,
        now: i64,
    ) -> Result<PutJourney> {
        let stored: Option<(String,)> = on_tx!(self, t => sqlx::query_as(
            "SELECT definition FROM journeys WHERE org_id = $1 AND id = $2")
            .bind(org.as_uuid()).bind(id)
            .fetch_optional(&mut **t).await)?;
        let outcome = match stored {
            Some((d,)) if d == definition => return Ok(PutJourney::Unchanged),
            Some(_) => PutJourney::Updated,
            None => PutJourney::Created,
        };
        on_tx!(self, t => sqlx::query(
            "INSERT INTO journeys (org_id, id, definition, updated_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (org_id, id) DO UPDATE SET definition = excluded.definition, \
             updated_at = excluded.updated_at")
            .bind(org.as_uuid()).bind(id).bind(definition).bind(now)
            .execute(&mut **t).await.map(|r| r.rows_affected()))?;
        Ok(outcome)
    }
}
