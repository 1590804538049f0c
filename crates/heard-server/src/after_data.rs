//! The handler of `heard_store::after_data::KIND`, the job every commit of new responses, events or signals
//! upserts in its own transaction (one per organization and five-minute window, due at the window's end). It
//! enqueues, in one transaction, what reads that data: the insights refresh of the quarter holding the window
//! ([`crate::insights::refresh_job`]) and each journey's recomputation for all time and that quarter
//! ([`crate::journeys::refresh_job`]). Every job it enqueues is keyed by the window, so running it twice (at-least-
//! once delivery) enqueues nothing more.

use futures_util::future::BoxFuture;
use heard_domain::fiscal::FiscalQuarter;
use heard_store::Store;
use heard_store::after_data::DEBOUNCE_MS;
use heard_store::jobs::ClaimedJob;

use crate::jobs::{Completed, JobHandler};

/// Runs `data.arrived`: payload `{"window": N}` (windows of `heard_store::after_data::DEBOUNCE_MS`).
pub struct AfterData;

impl JobHandler for AfterData {
    fn run<'a>(
        &'a self,
        store: &'a Store,
        job: &'a ClaimedJob,
    ) -> BoxFuture<'a, Result<Completed, String>> {
        Box::pin(async move {
            let org = job.job.org_id;
            let window = job.job.payload["window"]
                .as_i64()
                .ok_or_else(|| format!("job {}: payload has no window", job.job.id))?;
            let at = window.saturating_mul(DEBOUNCE_MS);
            let e = |e: heard_store::StoreError| format!("job {}: {e}", job.job.id);
            let zone = store.org(org).await.map_err(e)?.time_zone;
            let journeys = store.journeys(org).await.map_err(e)?;
            let due = at + DEBOUNCE_MS;
            let mut tx = store.begin().await.map_err(e)?;
            // Invitation rules read the window's events (`crate::outreach_queue`).
            tx.enqueue(crate::outreach_queue::evaluate_job(org, window))
                .await
                .map_err(e)?;
            tx.enqueue(crate::insights::refresh_job(
                org,
                FiscalQuarter::containing_ms(at, &zone),
                at,
            ))
            .await
            .map_err(e)?;
            for j in &journeys {
                for period in crate::journeys::current_periods(&zone, at) {
                    tx.enqueue(crate::journeys::refresh_job(
                        org,
                        &j.id,
                        &period,
                        &format!("window-{window}"),
                        due,
                    ))
                    .await
                    .map_err(e)?;
                }
            }
            tx.commit().await.map_err(e)?;
            Ok(Completed::ByWorker)
        })
    }
}
