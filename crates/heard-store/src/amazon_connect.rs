//! Amazon Connect: an organization's mapping for its contact records (kept as the JSON the server checks with
//! `heard_channels::amazon_connect::Mapping`), and the link from a Contact Lens call transcript to its call.
//!
//! A transcript and its contact record arrive separately and in either order. Each is stored under the contact's
//! id (the signal as a `call_transcript`, the event as a `call` or `chat`); `link_call_transcripts` then gives the
//! transcript its call's person key, reference key, service, touchpoint and time, read from the stored event. It is
//! run after either is written, changes nothing when there is nothing to link, and gives the same result however
//! often it runs, so a retry of either request completes a link an interrupted one left undone.

use heard_domain::OrgId;

use crate::{Result, Store, WritePool, on_pool};

impl Store {
    /// The organization's Amazon Connect mapping (JSON), if it has set one.
    pub async fn amazon_connect_mapping(&self, org: OrgId) -> Result<Option<String>> {
        let row: Option<(String,)> = on_pool!(self, p => sqlx::query_as("SELECT mapping FROM amazon_connect_mappings WHERE org_id = $1")
            .bind(org.as_uuid()).fetch_optional(p).await)?;
        Ok(row.map(|(m,)| m))
    }

    /// Sets (replaces) the organization's Amazon Connect mapping, checked by the caller.
    pub async fn set_amazon_connect_mapping(
        &self,
        org: OrgId,
        mapping: &str,
        now: i64,
    ) -> Result<()> {
        on_pool!(self, p => sqlx::query(
            "INSERT INTO amazon_connect_mappings (org_id, mapping, updated_at) VALUES ($1, $2, $3) \
             ON CONFLICT (org_id) DO UPDATE SET mapping = excluded.mapping, updated_at = excluded.updated_at")
            .bind(org.as_uuid()).bind(mapping).bind(now).execute(p).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Links each call transcript stored under one of `contact_ids` to the call or chat event stored under the same
    /// external id: the transcript takes the event's person and reference keys, service, touchpoint and time. Returns
    /// how many transcripts were linked (0 when either half has not arrived yet).
    pub async fn link_call_transcripts(&self, org: OrgId, contact_ids: &[String]) -> Result<u64> {
        if contact_ids.is_empty() {
            return Ok(0);
        }
        on_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let mut n = 0;
            for id in contact_ids {
                n += sqlx::query(
                    "UPDATE signals SET \
                     person_key = (SELECT e.person_key FROM events e WHERE e.org_id = $1 AND e.external_id = $2), \
                     reference_key = (SELECT e.reference_key FROM events e WHERE e.org_id = $1 AND e.external_id = $2), \
                     service_id = (SELECT e.service_id FROM events e WHERE e.org_id = $1 AND e.external_id = $2), \
                     touchpoint_id = (SELECT e.touchpoint_id FROM events e WHERE e.org_id = $1 AND e.external_id = $2), \
                     occurred_at = (SELECT e.occurred_at FROM events e WHERE e.org_id = $1 AND e.external_id = $2) \
                     WHERE org_id = $1 AND source = 'call_transcript' AND external_id = $2 \
                     AND EXISTS (SELECT 1 FROM events e WHERE e.org_id = $1 AND e.external_id = $2 AND e.type IN ('call', 'chat'))",
                )
                .bind(org.as_uuid()).bind(id).execute(&mut *tx).await?.rows_affected();
            }
            tx.commit().await?;
            Ok(n)
        })
    }
}
