//! Runs the durable job queue (`heard_store::jobs`): a registry of job kinds and their handlers, and the workers
//! `heard serve` starts.
//!
//! A feature that needs work done after a commit (enrichment of a large import, an SMS or email send, a webhook, a
//! rule) enqueues a job in the transaction that writes its data (`StoreTx::enqueue`) and registers a [`JobHandler`]
//! for its kind in [`JobRegistry::product`]. Workers claim only kinds they have handlers for, so a job of a kind
//! this build does not know waits instead of dying.
//!
//! **Exactly once.** A handler runs at least once per job. A handler whose effect is in the database writes it in a
//! `StoreTx` and calls `StoreTx::complete_job` first in that transaction: if its claim lapsed and another worker
//! took the job, the completion fails and the effect rolls back, so each job's effect commits once. A handler whose
//! effect is elsewhere passes an idempotency key made from the job id to the other system.
//!
//! Tests run jobs deterministically with [`Worker::run_pending_once`] (the test server starts no workers).

use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use heard_store::Store;
use heard_store::jobs::{ClaimedJob, FailOutcome};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// Runs jobs of one kind.
pub trait JobHandler: Send + Sync + 'static {
    /// Does the job's work. `Err` is a failed attempt, retried with backoff; its text is shown to admins (ids and
    /// causes, no personal data).
    fn run<'a>(
        &'a self,
        store: &'a Store,
        job: &'a ClaimedJob,
    ) -> BoxFuture<'a, Result<Completed, String>>;
}

/// How a job that ran well was completed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Completed {
    /// The handler called `StoreTx::complete_job` in the transaction of its effect.
    WithEffect,
    /// The worker is to mark it done (an effect outside the database, made idempotent by the job id).
    ByWorker,
}

/// Recomputes an organization's dashboard rollups from its responses (after its time zone changed, or after the
/// migration that made them), completing the job in the rebuild's transaction (`Store::rebuild_rollups`).
pub struct RebuildRollups;

impl JobHandler for RebuildRollups {
    fn run<'a>(
        &'a self,
        store: &'a Store,
        job: &'a ClaimedJob,
    ) -> BoxFuture<'a, Result<Completed, String>> {
        Box::pin(async move {
            let r = store
                .rebuild_rollups(job.job.org_id, Some(job))
                .await
                .map_err(|e| format!("job {}: {e}", job.job.id))?;
            tracing::info!(org = %job.job.org_id, responses = r.responses, rows = r.response_rows, events = r.events, "rollups rebuilt");
            Ok(Completed::WithEffect)
        })
    }
}

/// Job kinds and their handlers.
#[derive(Clone, Default)]
pub struct JobRegistry {
    handlers: BTreeMap<String, Arc<dyn JobHandler>>,
}

impl JobRegistry {
    /// The kinds the product runs: `imports.enrich` (enrichment of text stored by large imports,
    /// `crate::import::EnrichImported`), `journeys.refresh` (a journey's figures, `crate::journeys`),
    /// `insights.refresh` (the key drivers, segments and operations snapshots, `crate::insights::RefreshInsights`) and
    /// `rollups.rebuild` ([`RebuildRollups`]), `cases.check` (`crate::cases::CheckCase`). Sends, webhooks and rules register theirs here.
    pub fn product() -> JobRegistry {
        let mut r = JobRegistry::default();
        r.register(
            crate::import::ENRICH_KIND,
            crate::import::EnrichImported::new(),
        );
        r.register(
            crate::journeys::REFRESH_KIND,
            crate::journeys::RefreshJourney,
        );
        r.register(
            crate::insights::REFRESH_KIND,
            crate::insights::RefreshInsights,
        );
        r.register(heard_store::rollups::REBUILD_KIND, RebuildRollups);
        r.register(heard_store::after_data::KIND, crate::after_data::AfterData);
        r.register(heard_store::cases::CHECK_KIND, crate::cases::CheckCase);
        r
    }

    /// Adds (or replaces) the handler of `kind`.
    pub fn register(&mut self, kind: &str, handler: impl JobHandler) {
        self.handlers.insert(kind.to_string(), Arc::new(handler));
    }

    /// The kinds a worker may claim.
    pub fn kinds(&self) -> Vec<&str> {
        self.handlers.keys().map(String::as_str).collect()
    }

    fn handler(&self, kind: &str) -> Option<&Arc<dyn JobHandler>> {
        self.handlers.get(kind)
    }
}

/// The queue's self-test kind: its effect is one row in `job_test_effects`, a table only the tests create (a payload
/// with `"fail": true` fails instead, with `"panic": true` panics, and `"sleep_ms": N` (at most 1,000) takes that long
/// first, so a test can keep a queue busy for a known time). The
/// product never registers it; the test harness does, and `heard serve` does only under the hidden variable
/// `HEARD_TEST_JOBS=1` (the two-process SIGKILL test needs a real server running a countable effect).
#[doc(hidden)]
pub struct TestEffect;

/// The kind [`TestEffect`] runs.
#[doc(hidden)]
pub const TEST_EFFECT_KIND: &str = "test.effect";

impl JobHandler for TestEffect {
    fn run<'a>(
        &'a self,
        store: &'a Store,
        job: &'a ClaimedJob,
    ) -> BoxFuture<'a, Result<Completed, String>> {
        Box::pin(async move {
            if job.job.payload.get("panic").and_then(|v| v.as_bool()) == Some(true) {
                panic!("job {} asked to panic", job.job.id);
            }
            if job.job.payload.get("fail").and_then(|v| v.as_bool()) == Some(true) {
                return Err(format!("job {} asked to fail", job.job.id));
            }
            if let Some(ms) = job.job.payload.get("sleep_ms").and_then(|v| v.as_u64()) {
                tokio::time::sleep(std::time::Duration::from_millis(ms.min(1000))).await;
            }
            let mut tx = store.begin().await.map_err(|e| e.to_string())?;
            tx.complete_job(job).await.map_err(|e| e.to_string())?;
            tx.record_test_effect(job)
                .await
                .map_err(|e| e.to_string())?;
            tx.commit().await.map_err(|e| e.to_string())?;
            Ok(Completed::WithEffect)
        })
    }
}

/// How the workers run.
#[derive(Debug, Clone)]
pub struct WorkerOptions {
    /// Jobs run at once in this process (0: no workers).
    pub concurrency: usize,
    /// How long a claim holds before another worker may take the job. A running job's worker renews it every
    /// third of its length, so the lease bounds how long a stopped worker's jobs wait, not how long a job may run.
    pub lease: Duration,
    /// How long an idle worker waits before looking for due jobs again.
    pub poll: Duration,
    /// Jobs one worker claims at a time.
    pub batch: usize,
}

impl Default for WorkerOptions {
    fn default() -> Self {
        WorkerOptions {
            concurrency: 2,
            lease: Duration::from_secs(60),
            poll: Duration::from_millis(500),
            batch: 8,
        }
    }
}

/// Claims due jobs and runs their handlers.
#[derive(Clone)]
pub struct Worker {
    store: Store,
    registry: Arc<JobRegistry>,
    options: WorkerOptions,
}

impl Worker {
    pub fn new(store: Store, registry: JobRegistry, options: WorkerOptions) -> Worker {
        Worker {
            store,
            registry: Arc::new(registry),
            options,
        }
    }

    /// Runs every job due now, one at a time, until none is left; returns how many ran (done or failed). Jobs a
    /// run makes due again (a retry's backoff) wait for a later call. For tests: deterministic, no background task.
    pub async fn run_pending_once(&self) -> heard_store::Result<usize> {
        self.run_due_by(heard_store::now_ms()).await
    }

    /// [`Worker::run_pending_once`] for the jobs due at or before `at` (ms since the epoch): a test that must not
    /// depend on where the wall clock stands in a debounce window names the moment.
    pub async fn run_due_by(&self, at: i64) -> heard_store::Result<usize> {
        let kinds = self.registry.kinds();
        let mut ran = 0;
        let started = at;
        loop {
            let batch = self
                .store
                .claim_jobs(&kinds, self.options.batch.max(1), self.lease_ms(), started)
                .await?;
            if batch.is_empty() {
                return Ok(ran);
            }
            for job in &batch {
                self.run_one(job).await?;
                ran += 1;
            }
        }
    }

    /// Starts `concurrency` workers. When `stop` turns true each finishes the job it is running, gives back the
    /// jobs it claimed but had not started, and ends; the handle resolves when all have.
    pub fn spawn(self, stop: watch::Receiver<bool>) -> tokio::task::JoinHandle<()> {
        let workers: Vec<_> = (0..self.options.concurrency)
            .map(|_| tokio::spawn(self.clone().work(stop.clone())))
            .collect();
        tokio::spawn(async move {
            for w in workers {
                let _ = w.await;
            }
        })
    }

    async fn work(self, mut stop: watch::Receiver<bool>) {
        let kinds = self.registry.kinds();
        if kinds.is_empty() {
            return;
        }
        while !*stop.borrow() {
            let batch = match self
                .store
                .claim_jobs(
                    &kinds,
                    self.options.batch.max(1),
                    self.lease_ms(),
                    heard_store::now_ms(),
                )
                .await
            {
                Ok(b) => b,
                Err(e) => {
                    tracing::warn!(error = %e, "claiming jobs failed; trying again");
                    vec![]
                }
            };
            if batch.is_empty() {
                tokio::select! {
                    _ = tokio::time::sleep(self.options.poll) => {}
                    r = stop.changed() => if r.is_err() { return; },
                }
                continue;
            }
            let mut jobs = batch.iter();
            for job in jobs.by_ref() {
                if let Err(e) = self.run_one(job).await {
                    tracing::warn!(job = %job.job.id, error = %e, "recording a job's outcome failed; its lease will lapse");
                }
                if *stop.borrow() {
                    break;
                }
            }
            for job in jobs {
                // Not started: give it back at once rather than make it wait out the lease.
                if let Err(e) = self.store.release_job(job).await {
                    tracing::warn!(job = %job.job.id, error = %e, "releasing a job failed; its lease will lapse");
                }
            }
        }
    }

    fn lease_ms(&self) -> i64 {
        self.options.lease.as_millis().min(i64::MAX as u128) as i64
    }

    async fn run_one(&self, job: &ClaimedJob) -> heard_store::Result<()> {
        let Some(handler) = self.registry.handler(&job.job.kind) else {
            // Only registered kinds are claimed; this is a bug, recorded on the job rather than lost.
            self.store
                .fail_job(job, "no handler for this kind", heard_store::now_ms())
                .await?;
            return Ok(());
        };
        // A panicking handler is a failed attempt, not a lost worker.
        let run = std::panic::AssertUnwindSafe(handler.run(&self.store, job)).catch_unwind();
        // While it runs, the lease is renewed every third of its length, so only a stopped worker's jobs are
        // taken over, however long a job takes.
        let heartbeat = async {
            let every = (self.options.lease / 3).max(Duration::from_millis(10));
            loop {
                tokio::time::sleep(every).await;
                match self
                    .store
                    .extend_job_lease(job, self.lease_ms(), heard_store::now_ms())
                    .await
                {
                    Ok(true) => {}
                    Ok(false) => return,
                    Err(e) => {
                        tracing::warn!(job = %job.job.id, error = %e, "renewing a job's lease failed")
                    }
                }
            }
        };
        tokio::pin!(run, heartbeat);
        let mut beating = true;
        let outcome = loop {
            tokio::select! {
                r = &mut run => break r.unwrap_or_else(|_| Err("the handler panicked".to_string())),
                () = &mut heartbeat, if beating => beating = false,
            }
        };
        match outcome {
            Ok(Completed::WithEffect) => {}
            Ok(Completed::ByWorker) => {
                self.store.complete_job(job).await?;
            }
            Err(e) => {
                let outcome = self.store.fail_job(job, &e, heard_store::now_ms()).await?;
                match outcome {
                    FailOutcome::Dead => {
                        tracing::warn!(job = %job.job.id, kind = %job.job.kind, "job is dead after its last attempt")
                    }
                    FailOutcome::Retrying { .. } => {
                        tracing::info!(job = %job.job.id, kind = %job.job.kind, attempt = job.job.attempts, "job failed; will retry")
                    }
                    FailOutcome::LostClaim => {}
                }
            }
        }
        Ok(())
    }
}
