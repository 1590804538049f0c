//! Where prepared demo items go: the store's write paths for each kind. Kept small so the demo writes through
//! whichever bulk path the store offers without touching the generator.

use anyhow::{Context, Result};
use heard_store::Store;

use super::journey::Batch;

/// Writes batches of prepared items to a store.
pub struct Sink<'a> {
    store: &'a Store,
}

impl<'a> Sink<'a> {
    pub fn new(store: &'a Store) -> Sink<'a> {
        Sink { store }
    }

    pub fn store(&self) -> &'a Store {
        self.store
    }

    /// Stores one chunk's responses, signals and events; returns once all of it is committed.
    pub async fn write(&self, b: Batch) -> Result<()> {
        let responses =
            futures_util::future::join_all(b.responses.into_iter().map(|r| self.store.submit(r)))
                .await;
        for r in responses {
            r.context("storing a demo response")?;
        }
        for part in b.signals.chunks(1000) {
            for r in self
                .store
                .insert_signals(part)
                .await
                .context("storing demo signals")?
            {
                r.context("storing a demo signal")?;
            }
        }
        for part in b.events.chunks(5000) {
            for r in self
                .store
                .insert_events(part)
                .await
                .context("storing demo events")?
            {
                r.context("storing a demo event")?;
            }
        }
        Ok(())
    }
}
