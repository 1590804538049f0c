//! The durable job queue: work that must happen after a commit (enrichment of large imports, sends, webhooks, rules)
//! is a row in `jobs`, written in the same transaction as the data that causes it, so a job exists if and only if its
//! cause committed.
//!
//! **Life of a job.** `queued` → claimed by one worker (`running`, with a claim token and a lease) → `done`; or, when
//! its handler fails, back to `queued` with `run_at` pushed out by exponential backoff with jitter ([`backoff_ms`]),
//! until `max_attempts` failures leave it `dead`. An admin sees dead jobs and can put them back in the queue
//! ([`Store::retry_dead_job`]). A worker that dies (SIGKILL, power loss) leaves its jobs `running`; when their lease
//! lapses any worker claims them again.
//!
//! **Claiming.** PostgreSQL: `UPDATE ... WHERE (org_id, id) IN (SELECT ... FOR UPDATE SKIP LOCKED) RETURNING`, so
//! workers in many processes take disjoint batches without waiting on each other. SQLite has one writer: the same
//! `UPDATE ... RETURNING` runs in a `BEGIN IMMEDIATE` transaction (the store's write discipline, see `WritePool`), so
//! two claims never interleave, and the lease (`locked_until`) is what hands a dead worker's jobs to another.
//!
//! **Exactly-once effect.** Delivery is at least once: a job can be claimed again after its lease lapsed while the
//! first worker stalled (its heartbeat, [`Store::extend_job_lease`], did not get through). Effects are made
//! exactly-once by fencing: every claim carries a fresh token, and completion (`UPDATE ... WHERE claim = $token
//! AND state = 'running'`) only succeeds for the current claim. A handler whose effect is in the database writes it
//! in a [`StoreTx`] and calls [`StoreTx::complete_job`] in that same transaction: if the claim lapsed and another worker holds the job, completion fails, the transaction rolls
//! back and the effect is not written twice. Effects outside the database (an SMS, an email, a webhook) cannot share
//! the commit; their handlers must pass an idempotency key derived from the job id to the provider.
//!
//! **Why not a crate.** apalis was evaluated first (crates.io, November 2026). `apalis` 1.0.0 is the worker runtime
//! and brings no storage; `apalis-sql` 1.0.0-rc.9 holds shared helpers only; `apalis-postgres` 1.0.0 and
//! `apalis-sqlite` 1.0.0 depend on sqlx 0.9 while Heard is on sqlx 0.8 (two sqlx would link two `libsqlite3-sys`,
//! which Cargo refuses); `apalis-sql` 0.7.4 is on sqlx 0.8 but keeps its own schema (`apalis.jobs`, PL/pgSQL
//! functions, its own migrations in our `_sqlx_migrations`) with no `org_id`, so it breaks the tenancy invariant,
//! and it enqueues through its own pool, not inside the caller's transaction. This module is that part only, in
//! plain SQL on both backends.
//!
//! **Idempotent enqueue.** An optional key per (organization, kind): enqueuing the same key with the same payload
//! returns the existing job and stores nothing; the same key with a different payload is refused with
//! `idempotency_key_reused` (a caller bug, not a retry).
//!
//! `last_error` is shown to the organization's admins: handlers put no personal data in it (ids and causes only).

use heard_domain::{JobId, OrgId};
use serde::Serialize;
use uuid::Uuid;

use crate::{Backend, Result, Store, StoreError, WritePool, now_ms, on_pool};

/// How many times a job runs before it is dead, unless its enqueuer says otherwise.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 5;
/// The first retry waits about this long (milliseconds); each further one twice as long.
pub const BACKOFF_BASE_MS: i64 = 10_000;
/// No retry waits longer than this (milliseconds): one hour.
pub const BACKOFF_CAP_MS: i64 = 3_600_000;
/// The longest error text kept on a job (characters).
const MAX_ERROR_CHARS: usize = 500;

/// Where a job is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum JobState {
    /// Waiting for `run_at`.
    Queued,
    /// Claimed by a worker whose lease has not lapsed.
    Running,
    /// Its effect committed.
    Done,
    /// Failed `max_attempts` times; waits for an admin.
    Dead,
}

impl JobState {
    pub const ALL: [JobState; 4] = [
        JobState::Queued,
        JobState::Running,
        JobState::Done,
        JobState::Dead,
    ];

    /// The stored word.
    pub fn key(self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Running => "running",
            JobState::Done => "done",
            JobState::Dead => "dead",
        }
    }

    pub fn parse(s: &str) -> Option<JobState> {
        JobState::ALL.into_iter().find(|k| k.key() == s)
    }
}

/// A job to enqueue. Build with [`NewJob::new`] and the setters.
#[derive(Debug, Clone)]
pub struct NewJob {
    pub org_id: OrgId,
    /// Which handler runs it (`"imports.enrich"`, ...): dotted lower-case words.
    pub kind: String,
    /// What the handler needs, as JSON. Ids, not personal data: the payload is shown to admins when a job is dead.
    pub payload: serde_json::Value,
    /// Optional idempotency key, unique per (organization, kind).
    pub dedupe_key: Option<String>,
    /// Not before this time (milliseconds since the epoch); `None` is now.
    pub run_at: Option<i64>,
    pub max_attempts: u32,
}

impl NewJob {
    pub fn new(org_id: OrgId, kind: &str, payload: serde_json::Value) -> NewJob {
        NewJob {
            org_id,
            kind: kind.to_string(),
            payload,
            dedupe_key: None,
            run_at: None,
            max_attempts: DEFAULT_MAX_ATTEMPTS,
        }
    }

    pub fn dedupe_key(mut self, key: impl Into<String>) -> NewJob {
        self.dedupe_key = Some(key.into());
        self
    }

    pub fn run_at(mut self, at_ms: i64) -> NewJob {
        self.run_at = Some(at_ms);
        self
    }

    pub fn max_attempts(mut self, n: u32) -> NewJob {
        self.max_attempts = n.max(1);
        self
    }
}

/// The outcome of an enqueue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Enqueued {
    pub id: JobId,
    /// True when the idempotency key had been seen with the same payload: nothing new was stored.
    pub duplicate: bool,
}

/// A stored job.
#[derive(Debug, Clone, Serialize)]
pub struct Job {
    pub org_id: OrgId,
    pub id: JobId,
    pub kind: String,
    pub payload: serde_json::Value,
    pub state: JobState,
    /// Claims so far (the running one included).
    pub attempts: u32,
    pub max_attempts: u32,
    pub run_at: i64,
    pub locked_until: Option<i64>,
    pub last_error: Option<String>,
    pub dedupe_key: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// A job a worker holds: the job and the token of this claim, which completion and failure must present.
#[derive(Debug, Clone)]
pub struct ClaimedJob {
    pub job: Job,
    pub claim: Uuid,
}

/// What became of a failed job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailOutcome {
    /// Queued again for this time (milliseconds since the epoch).
    Retrying { run_at: i64 },
    /// It had used its attempts.
    Dead,
    /// The claim had lapsed and another worker holds the job (or it finished): nothing changed.
    LostClaim,
}

/// Jobs of one organization by state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct JobCounts {
    pub queued: i64,
    pub running: i64,
    pub done: i64,
    pub dead: i64,
}

/// The wait before retry `attempts + 1` (milliseconds): `BACKOFF_BASE_MS * 2^(attempts-1)`, capped at
/// `BACKOFF_CAP_MS`, then "equal jitter" (half fixed, half drawn from `random`) so jobs that failed together (a
/// provider outage) do not all come back in the same second.
pub fn backoff_ms(attempts: u32, random: u64) -> i64 {
    let exp = attempts.saturating_sub(1).min(30);
    let full = BACKOFF_BASE_MS.saturating_mul(1 << exp).min(BACKOFF_CAP_MS);
    let half = full / 2;
    half + (random % (half as u64 + 1)) as i64
}

/// `$first, $first+1, ...`: `n` numbered placeholders for an `IN (...)` list (SQLite has no arrays).
fn placeholders(first: usize, n: usize) -> String {
    (first..first + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[derive(sqlx::FromRow)]
struct JobRow {
    org_id: Uuid,
    id: Uuid,
    kind: String,
    payload: String,
    state: String,
    attempts: i32,
    max_attempts: i32,
    run_at: i64,
    locked_until: Option<i64>,
    claim: Option<Uuid>,
    last_error: Option<String>,
    dedupe_key: Option<String>,
    created_at: i64,
    updated_at: i64,
}

const COLUMNS: &str = "org_id, id, kind, payload, state, attempts, max_attempts, run_at, locked_until, claim, \
                       last_error, dedupe_key, created_at, updated_at";

impl JobRow {
    fn into_job(self) -> Result<(Job, Option<Uuid>)> {
        let state = JobState::parse(&self.state)
            .ok_or_else(|| StoreError::Corrupt(format!("job state '{}'", self.state)))?;
        Ok((
            Job {
                org_id: OrgId::from_uuid(self.org_id),
                id: JobId::from_uuid(self.id),
                kind: self.kind,
                payload: crate::records::json(&self.payload, "job payload")?,
                state,
                attempts: self.attempts.max(0) as u32,
                max_attempts: self.max_attempts.max(0) as u32,
                run_at: self.run_at,
                locked_until: self.locked_until,
                last_error: self.last_error,
                dedupe_key: self.dedupe_key,
                created_at: self.created_at,
                updated_at: self.updated_at,
            },
            self.claim,
        ))
    }
}

pub(crate) enum TxInner {
    Sqlite(sqlx::Transaction<'static, sqlx::Sqlite>),
    Postgres(sqlx::Transaction<'static, sqlx::Postgres>),
}

/// A write transaction on either backend. What a feature writes through it and the jobs it enqueues commit
/// together or not at all. Dropped without [`StoreTx::commit`], it rolls back.
pub struct StoreTx {
    pub(crate) inner: TxInner,
}

impl From<sqlx::Transaction<'static, sqlx::Sqlite>> for StoreTx {
    fn from(t: sqlx::Transaction<'static, sqlx::Sqlite>) -> StoreTx {
        StoreTx {
            inner: TxInner::Sqlite(t),
        }
    }
}

impl From<sqlx::Transaction<'static, sqlx::Postgres>> for StoreTx {
    fn from(t: sqlx::Transaction<'static, sqlx::Postgres>) -> StoreTx {
        StoreTx {
            inner: TxInner::Postgres(t),
        }
    }
}

/// Runs the same body against whichever transaction `$tx` holds; `$t` is `&mut Transaction<..>`.
macro_rules! on_tx {
    ($tx:expr, $t:ident => $body:expr) => {
        match &mut $tx.inner {
            $crate::jobs::TxInner::Sqlite($t) => $body,
            $crate::jobs::TxInner::Postgres($t) => $body,
        }
    };
}
pub(crate) use on_tx;

impl Store {
    /// Starts a write transaction (on SQLite it takes the write lock at once: `BEGIN IMMEDIATE`).
    pub async fn begin(&self) -> Result<StoreTx> {
        Ok(StoreTx {
            inner: match &self.backend {
                Backend::Sqlite(p) => TxInner::Sqlite(p.begin_write().await?),
                Backend::Postgres(p) => TxInner::Postgres(p.begin_write().await?),
            },
        })
    }

    /// Enqueues one job in a transaction of its own (for work with no other write to share a commit with).
    pub async fn enqueue(&self, job: NewJob) -> Result<Enqueued> {
        let mut tx = self.begin().await?;
        let out = tx.enqueue(job).await?;
        tx.commit().await?;
        Ok(out)
    }

    /// Claims up to `limit` jobs of the given kinds that are due at `now` (or whose lease lapsed), for `lease_ms`.
    /// Each claim counts as an attempt. A running job whose lease lapsed on its last attempt becomes dead (a job
    /// that kills its worker every time must not loop forever).
    pub async fn claim_jobs(
        &self,
        kinds: &[&str],
        limit: usize,
        lease_ms: i64,
        now: i64,
    ) -> Result<Vec<ClaimedJob>> {
        if kinds.is_empty() || limit == 0 {
            return Ok(vec![]);
        }
        let kind_list = placeholders(5, kinds.len());
        let lock = match self.backend {
            Backend::Postgres(_) => " FOR UPDATE SKIP LOCKED",
            Backend::Sqlite(_) => "",
        };
        let bury = format!(
            "UPDATE jobs SET state = 'dead', claim = NULL, locked_until = NULL, updated_at = $1, \
             last_error = COALESCE(last_error, 'the worker stopped while running it') \
             WHERE (org_id, id) IN (SELECT org_id, id FROM jobs WHERE state = 'running' AND locked_until <= $1 \
             AND attempts >= max_attempts AND kind IN ({list}){lock})",
            list = placeholders(2, kinds.len())
        );
        let claim = format!(
            "UPDATE jobs SET state = 'running', attempts = attempts + 1, claim = $2, locked_until = $3, \
             updated_at = $1 \
             WHERE (org_id, id) IN (SELECT org_id, id FROM jobs \
               WHERE ((state = 'queued' AND run_at <= $1) OR (state = 'running' AND locked_until <= $1)) \
               AND kind IN ({kind_list}) ORDER BY run_at LIMIT $4{lock}) \
             RETURNING {COLUMNS}"
        );
        // Idle workers poll: look before taking the write lock, which on SQLite would stall the response writer.
        let due = format!(
            "SELECT 1 FROM jobs WHERE ((state = 'queued' AND run_at <= $1) OR (state = 'running' AND \
             locked_until <= $1)) AND kind IN ({list}) LIMIT 1",
            list = placeholders(2, kinds.len())
        );
        let token = Uuid::new_v4();
        let rows: Vec<JobRow> = on_pool!(self, p => {
            let mut q = sqlx::query_scalar::<_, i32>(&due).bind(now);
            for k in kinds {
                q = q.bind(*k);
            }
            if q.fetch_optional(p).await?.is_none() {
                return Ok(vec![]);
            }
            let mut tx = p.begin_write().await?;
            let mut q = sqlx::query(&bury).bind(now);
            for k in kinds {
                q = q.bind(*k);
            }
            q.execute(&mut *tx).await?;
            let mut q = sqlx::query_as::<_, JobRow>(&claim)
                .bind(now)
                .bind(token)
                .bind(now.saturating_add(lease_ms))
                .bind(limit as i64);
            for k in kinds {
                q = q.bind(*k);
            }
            let rows = q.fetch_all(&mut *tx).await?;
            tx.commit().await?;
            Ok::<_, StoreError>(rows)
        })?;
        rows.into_iter()
            .map(|r| {
                r.into_job()
                    .map(|(job, _)| ClaimedJob { job, claim: token })
            })
            .collect()
    }

    /// Marks a claimed job done in a transaction of its own (for handlers whose effect is outside the database).
    /// False when the claim had lapsed and another worker holds the job.
    pub async fn complete_job(&self, job: &ClaimedJob) -> Result<bool> {
        let mut tx = self.begin().await?;
        let done = tx.mark_done(job).await?;
        tx.commit().await?;
        Ok(done)
    }

    /// Records a failed attempt: queued again after [`backoff_ms`], or dead when it has used its attempts.
    /// `error` is kept (cut to 500 characters) for admins; it must hold no personal data.
    pub async fn fail_job(&self, job: &ClaimedJob, error: &str, now: i64) -> Result<FailOutcome> {
        let error: String = error.chars().take(MAX_ERROR_CHARS).collect();
        let dead = job.job.attempts >= job.job.max_attempts;
        let run_at = now + backoff_ms(job.job.attempts, Uuid::new_v4().as_u64_pair().0);
        let n = on_pool!(self, p => sqlx::query(
            "UPDATE jobs SET state = $4, run_at = $5, last_error = $6, claim = NULL, locked_until = NULL, \
             updated_at = $7 WHERE org_id = $1 AND id = $2 AND claim = $3 AND state = 'running'")
            .bind(job.job.org_id.as_uuid())
            .bind(job.job.id.as_uuid())
            .bind(job.claim)
            .bind(if dead { "dead" } else { "queued" })
            .bind(if dead { job.job.run_at } else { run_at })
            .bind(&error)
            .bind(now)
            .execute(p).await.map(|r| r.rows_affected()))?;
        Ok(match (n, dead) {
            (0, _) => FailOutcome::LostClaim,
            (_, true) => FailOutcome::Dead,
            (_, false) => FailOutcome::Retrying { run_at },
        })
    }

    /// Renews a running job's lease to `now + lease_ms` (the worker's heartbeat, so a long job is not taken over
    /// while its worker lives). False when the claim had lapsed and another worker holds the job, or it finished.
    pub async fn extend_job_lease(
        &self,
        job: &ClaimedJob,
        lease_ms: i64,
        now: i64,
    ) -> Result<bool> {
        let n = on_pool!(self, p => sqlx::query(
            "UPDATE jobs SET locked_until = $4 WHERE org_id = $1 AND id = $2 AND claim = $3 AND state = 'running'")
            .bind(job.job.org_id.as_uuid())
            .bind(job.job.id.as_uuid())
            .bind(job.claim)
            .bind(now.saturating_add(lease_ms))
            .execute(p).await.map(|r| r.rows_affected()))?;
        Ok(n == 1)
    }

    /// Gives a claimed job back without counting the attempt (a worker shutting down before it ran the job).
    pub async fn release_job(&self, job: &ClaimedJob) -> Result<()> {
        on_pool!(self, p => sqlx::query(
            "UPDATE jobs SET state = 'queued', attempts = attempts - 1, claim = NULL, locked_until = NULL, \
             updated_at = $4 WHERE org_id = $1 AND id = $2 AND claim = $3 AND state = 'running'")
            .bind(job.job.org_id.as_uuid())
            .bind(job.job.id.as_uuid())
            .bind(job.claim)
            .bind(now_ms())
            .execute(p).await.map(|_| ()))?;
        Ok(())
    }

    /// One job of an organization.
    pub async fn job(&self, org: OrgId, id: JobId) -> Result<Job> {
        let sql = format!("SELECT {COLUMNS} FROM jobs WHERE org_id = $1 AND id = $2");
        let row: Option<JobRow> = on_pool!(self, p => sqlx::query_as(&sql)
            .bind(org.as_uuid()).bind(id.as_uuid()).fetch_optional(p).await)?;
        Ok(row.ok_or(StoreError::NotFound)?.into_job()?.0)
    }

    /// An organization's jobs in one state, most recently changed first.
    pub async fn jobs_in_state(&self, org: OrgId, state: JobState, limit: i64) -> Result<Vec<Job>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM jobs WHERE org_id = $1 AND state = $2 ORDER BY updated_at DESC, id DESC LIMIT $3"
        );
        let rows: Vec<JobRow> = on_pool!(self, p => sqlx::query_as(&sql)
            .bind(org.as_uuid()).bind(state.key()).bind(limit).fetch_all(p).await)?;
        rows.into_iter()
            .map(|r| r.into_job().map(|j| j.0))
            .collect()
    }

    /// How many of an organization's jobs are in each state.
    pub async fn job_counts(&self, org: OrgId) -> Result<JobCounts> {
        let rows: Vec<(String, i64)> = on_pool!(self, p => sqlx::query_as(
            "SELECT state, COUNT(*) FROM jobs WHERE org_id = $1 GROUP BY state")
            .bind(org.as_uuid()).fetch_all(p).await)?;
        let mut c = JobCounts::default();
        for (state, n) in rows {
            match JobState::parse(&state) {
                Some(JobState::Queued) => c.queued = n,
                Some(JobState::Running) => c.running = n,
                Some(JobState::Done) => c.done = n,
                Some(JobState::Dead) => c.dead = n,
                None => return Err(StoreError::Corrupt(format!("job state '{state}'"))),
            }
        }
        Ok(c)
    }

    /// Creates `job_test_effects`, the table the queue's self-test kind writes (tests only; no migration makes it).
    #[doc(hidden)]
    pub async fn create_job_test_effects(&self) -> Result<()> {
        let id_type = match self.backend {
            Backend::Sqlite(_) => "BLOB",
            Backend::Postgres(_) => "UUID",
        };
        let sql = format!(
            "CREATE TABLE IF NOT EXISTS job_test_effects (org_id {id_type} NOT NULL, job_id {id_type} NOT NULL, \
             attempt BIGINT NOT NULL)"
        );
        on_pool!(self, p => sqlx::query(&sql).execute(p).await.map(|_| ()))?;
        Ok(())
    }

    /// How many effects each job of the self-test kind wrote (tests only).
    #[doc(hidden)]
    pub async fn job_test_effects(&self) -> Result<Vec<(JobId, i64)>> {
        let rows: Vec<(Uuid, i64)> = on_pool!(self, p => sqlx::query_as(
            "SELECT job_id, COUNT(*) FROM job_test_effects GROUP BY job_id").fetch_all(p).await)?;
        Ok(rows
            .into_iter()
            .map(|(id, n)| (JobId::from_uuid(id), n))
            .collect())
    }

    /// Puts a dead job back in the queue, due now, with its attempts reset. `NotFound` unless the organization has
    /// that job and it is dead (so a second click, or a retry of a job that already ran, changes nothing).
    pub async fn retry_dead_job(&self, org: OrgId, id: JobId) -> Result<()> {
        let now = now_ms();
        let n = on_pool!(self, p => sqlx::query(
            "UPDATE jobs SET state = 'queued', attempts = 0, run_at = $3, updated_at = $3 \
             WHERE org_id = $1 AND id = $2 AND state = 'dead'")
            .bind(org.as_uuid()).bind(id.as_uuid()).bind(now)
            .execute(p).await.map(|r| r.rows_affected()))?;
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }
}

impl StoreTx {
    /// Commits everything written through this transaction, jobs included.
    pub async fn commit(self) -> Result<()> {
        match self.inner {
            TxInner::Sqlite(t) => t.commit().await?,
            TxInner::Postgres(t) => t.commit().await?,
        }
        Ok(())
    }

    /// Enqueues a job in this transaction: it exists if and only if the transaction commits.
    pub async fn enqueue(&mut self, job: NewJob) -> Result<Enqueued> {
        let now = now_ms();
        let id = JobId::new();
        let payload = job.payload.to_string();
        let inserted = on_tx!(self, t => sqlx::query(
            "INSERT INTO jobs (org_id, id, kind, payload, state, attempts, max_attempts, run_at, dedupe_key, \
             created_at, updated_at) VALUES ($1, $2, $3, $4, 'queued', 0, $5, $6, $7, $8, $8) \
             ON CONFLICT (org_id, kind, dedupe_key) WHERE dedupe_key IS NOT NULL DO NOTHING")
            .bind(job.org_id.as_uuid())
            .bind(id.as_uuid())
            .bind(&job.kind)
            .bind(&payload)
            .bind(job.max_attempts.clamp(1, i32::MAX as u32) as i32)
            .bind(job.run_at.unwrap_or(now))
            .bind(job.dedupe_key.as_deref())
            .bind(now)
            .execute(&mut **t).await.map(|r| r.rows_affected()))?;
        if inserted == 1 {
            return Ok(Enqueued {
                id,
                duplicate: false,
            });
        }
        let (existing, stored): (Uuid, String) = on_tx!(self, t => sqlx::query_as(
            "SELECT id, payload FROM jobs WHERE org_id = $1 AND kind = $2 AND dedupe_key = $3")
            .bind(job.org_id.as_uuid())
            .bind(&job.kind)
            .bind(job.dedupe_key.as_deref())
            .fetch_one(&mut **t).await)?;
        let stored: serde_json::Value = crate::records::json(&stored, "job payload")?;
        if stored != job.payload {
            return Err(StoreError::Conflict("idempotency_key_reused".into()));
        }
        Ok(Enqueued {
            id: JobId::from_uuid(existing),
            duplicate: true,
        })
    }

    /// Marks a claimed job done in this transaction, beside its effect. Fails with a `Conflict` when the claim
    /// lapsed and another worker holds the job: the caller then drops the transaction, so the effect is not
    /// written twice. Call it before writing the effect: on PostgreSQL it locks the job's row, so no other worker
    /// can claim it while the effect is written.
    pub async fn complete_job(&mut self, job: &ClaimedJob) -> Result<()> {
        if self.mark_done(job).await? {
            Ok(())
        } else {
            Err(StoreError::Conflict("job_claim_lapsed".into()))
        }
    }

    async fn mark_done(&mut self, job: &ClaimedJob) -> Result<bool> {
        let n = on_tx!(self, t => sqlx::query(
            "UPDATE jobs SET state = 'done', claim = NULL, locked_until = NULL, last_error = NULL, updated_at = $4 \
             WHERE org_id = $1 AND id = $2 AND claim = $3 AND state = 'running'")
            .bind(job.job.org_id.as_uuid())
            .bind(job.job.id.as_uuid())
            .bind(job.claim)
            .bind(now_ms())
            .execute(&mut **t).await.map(|r| r.rows_affected()))?;
        Ok(n == 1)
    }

    /// The effect of the queue's self-test kind (`test.effect`): one row in `job_test_effects`, a table that only
    /// the tests create (no migration makes it). It lets the tests count each job's effect.
    #[doc(hidden)]
    pub async fn record_test_effect(&mut self, job: &ClaimedJob) -> Result<()> {
        on_tx!(self, t => sqlx::query(
            "INSERT INTO job_test_effects (org_id, job_id, attempt) VALUES ($1, $2, $3)")
            .bind(job.job.org_id.as_uuid())
            .bind(job.job.id.as_uuid())
            .bind(job.job.attempts as i64)
            .execute(&mut **t).await.map(|_| ()))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_within_jitter_and_stops_at_the_cap() {
        // Equal jitter: between half and all of BASE * 2^(attempts-1).
        assert_eq!(backoff_ms(1, 0), 5_000);
        assert_eq!(backoff_ms(1, u64::MAX), 5_000 + (u64::MAX % 5_001) as i64);
        assert!((5_000..=10_000).contains(&backoff_ms(1, 12345)));
        assert!((10_000..=20_000).contains(&backoff_ms(2, 999)));
        assert!((40_000..=80_000).contains(&backoff_ms(4, 7)));
        assert!((BACKOFF_CAP_MS / 2..=BACKOFF_CAP_MS).contains(&backoff_ms(40, 3)));
    }

    #[test]
    fn states_round_trip() {
        for s in JobState::ALL {
            assert_eq!(JobState::parse(s.key()), Some(s));
        }
        assert_eq!(JobState::parse("failed"), None);
    }
}
