//! Where prepared demo items go: the store's bulk path (`heard_store::bulk`), one transaction per batch, the same
//! path `heard import` takes. Kept small so the generator knows nothing of how rows are stored.

use anyhow::{Result, bail};
use heard_domain::OrgId;
use heard_store::Store;
use heard_store::bulk::{BulkOutcome, BulkRows};

use super::journey::Batch;

/// Rows per transaction: a whole chunk's events in one. Events' person and time indexes take keys all over the
/// table, so fewer, larger transactions write each touched index page fewer times (a fifth less written at 100,000
/// responses than with 10,000-row transactions).
const BATCH_ROWS: usize = 50_000;

/// Writes batches of prepared items to a store.
pub struct Sink<'a> {
    store: &'a Store,
    org: OrgId,
}

impl<'a> Sink<'a> {
    pub fn new(store: &'a Store, org: OrgId) -> Sink<'a> {
        Sink { store, org }
    }

    pub fn store(&self) -> &'a Store {
        self.store
    }

    /// Stores one chunk's responses, signals and events; returns once all of it is committed.
    pub async fn write(&self, b: Batch) -> Result<()> {
        for part in b.responses.chunks(BATCH_ROWS) {
            self.bulk(BulkRows::Responses(part), "responses").await?;
        }
        for part in b.signals.chunks(BATCH_ROWS) {
            self.bulk(BulkRows::Signals(part), "signals").await?;
        }
        for part in b.events.chunks(BATCH_ROWS) {
            self.bulk(BulkRows::Events(part), "events").await?;
        }
        Ok(())
    }

    async fn bulk(&self, rows: BulkRows<'_>, what: &str) -> Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        match self
            .store
            .bulk_write(self.org, rows, None, |_| Vec::new())
            .await?
        {
            BulkOutcome::Committed(_) => Ok(()),
            // Demo keys are unique within the demo's organization, which is refused when it exists: never expected.
            BulkOutcome::Reused(rows) => bail!(
                "{} demo {what} reuse stored keys with other content",
                rows.len()
            ),
        }
    }
}
