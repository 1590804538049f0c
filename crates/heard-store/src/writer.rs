//! Group commit for responses. Submissions queue here; one task takes everything queued (up to a batch limit),
//! writes it in one transaction and acknowledges each submission only after the commit returned. Under load, many
//! responses share one fsync; idle, a single response commits at once (no waiting for a batch to fill).

use heard_domain::ResponseId;
use heard_domain::idempotency::Replay;
use heard_domain::response::NewResponse;
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

use crate::after_data::AfterDataTx;
use crate::rollups::RollupTx;
use crate::webhooks::WebhookTx;
use crate::{Backend, Result, StoreError, WritePool, on_pool};

/// The outcome of a submission that was stored, or found to be a retry of a stored one. A key already used for a
/// different request is `Err(StoreError::IdempotencyKeyReused)` instead (`heard_domain::idempotency`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Submitted {
    pub id: ResponseId,
    /// True when the idempotency key had been seen with the same request fingerprint: nothing new was stored and `id`
    /// is the first response's.
    pub duplicate: bool,
}

struct Job {
    response: NewResponse,
    /// The email invitation this response answers (`heard_store::outreach`), if it came through one's link.
    invitation: Option<Uuid>,
    reply: oneshot::Sender<Result<Submitted>>,
}

enum Msg {
    Write(Box<Job>),
    /// Commit what is queued, then stop.
    Shutdown(oneshot::Sender<()>),
}

#[derive(Clone)]
pub(crate) struct WriterHandle {
    tx: mpsc::Sender<Msg>,
}

pub(crate) fn spawn(backend: Backend, max_batch: usize) -> WriterHandle {
    let (tx, rx) = mpsc::channel::<Msg>(max_batch * 8);
    tokio::spawn(run(backend, rx, max_batch.max(1)));
    WriterHandle { tx }
}

impl WriterHandle {
    /// Commits every response queued so far and stops the writer.
    pub(crate) async fn shutdown(&self) {
        let (done, wait) = oneshot::channel();
        if self.tx.send(Msg::Shutdown(done)).await.is_ok() {
            let _ = wait.await;
        }
    }
}

impl crate::Store {
    /// Stores one response durably. Returns once it is committed (or found to be a retry of a stored one); a key
    /// already used for different answers stores nothing and returns `StoreError::IdempotencyKeyReused`.
    pub async fn submit(&self, response: NewResponse) -> Result<Submitted> {
        let (reply, rx) = oneshot::channel();
        self.writer
            .tx
            .send(Msg::Write(Box::new(Job {
                response,
                invitation: None,
                reply,
            })))
            .await
            .map_err(|_| StoreError::WriterGone)?;
        rx.await.map_err(|_| StoreError::WriterGone)?
    }

    /// Stores a response that answers the email invitation `invitation` (of the response's organization), and
    /// marks the invitation `answered` (with `answered_at`, `response_id` and, if unset, `started_at`) in the
    /// response's own commit. The invitation must be live: `queued`, `sent`, `reminded` or `opened`, and not past
    /// `expires_at` at the response's `submitted_at`; otherwise nothing is stored and the answer is
    /// `StoreError::InvitationUsed`. A retry under the same idempotency key with the same request is answered as
    /// [`Store::submit`] answers it (`duplicate: true`), even though the invitation is answered by then.
    pub async fn submit_invited(
        &self,
        response: NewResponse,
        invitation: Uuid,
    ) -> Result<Submitted> {
        let (reply, rx) = oneshot::channel();
        self.writer
            .tx
            .send(Msg::Write(Box::new(Job {
                response,
                invitation: Some(invitation),
                reply,
            })))
            .await
            .map_err(|_| StoreError::WriterGone)?;
        rx.await.map_err(|_| StoreError::WriterGone)?
    }
}

async fn run(backend: Backend, mut rx: mpsc::Receiver<Msg>, max_batch: usize) {
    let mut msgs: Vec<Msg> = Vec::with_capacity(max_batch);
    let mut jobs: Vec<Job> = Vec::with_capacity(max_batch);
    while rx.recv_many(&mut msgs, max_batch).await > 0 {
        let mut stop = None;
        for m in msgs.drain(..) {
            match m {
                Msg::Write(j) => jobs.push(*j),
                Msg::Shutdown(done) => stop = Some(done),
            }
        }
        commit(&backend, &mut jobs).await;
        if let Some(done) = stop {
            rx.close();
            while let Some(Msg::Write(j)) = rx.recv().await {
                jobs.push(*j);
            }
            commit(&backend, &mut jobs).await;
            let _ = done.send(());
            return;
        }
    }
}

async fn commit(backend: &Backend, jobs: &mut Vec<Job>) {
    if jobs.is_empty() {
        return;
    }
    let batch: Vec<NewResponse> = jobs.iter().map(|j| j.response.clone()).collect();
    let invitations: Vec<Option<Uuid>> = jobs.iter().map(|j| j.invitation).collect();
    match insert_batch(backend, &batch, &invitations).await {
        Ok(results) => {
            for (job, r) in jobs.drain(..).zip(results) {
                let _ = job.reply.send(r);
            }
        }
        Err(e) => {
            // One bad row must not fail its neighbours: retry each alone so only the culprit gets the error.
            tracing::warn!(error = %e, batch = batch.len(), "batch commit failed; retrying one by one");
            for job in jobs.drain(..) {
                let r = insert_batch(
                    backend,
                    std::slice::from_ref(&job.response),
                    &[job.invitation],
                )
                .await
                .and_then(|mut v| v.remove(0));
                let _ = job.reply.send(r);
            }
        }
    }
}

/// Inserts responses in one transaction; a response whose idempotency key exists is not stored again, and is
/// answered by `Replay::of` the stored fingerprint: the first response's id (a retry), or `IdempotencyKeyReused`
/// (another request under the same key). The outer error fails the whole transaction; the inner ones are per
/// response. Two responses with one key in the same batch are judged the same way, the first one stored.
/// `invitations[i]`, when given, is the email invitation `batch[i]` answers (see [`crate::Store::submit_invited`]);
/// a missing entry means none.
pub(crate) async fn insert_batch(
    backend: &Backend,
    batch: &[NewResponse],
    invitations: &[Option<Uuid>],
) -> Result<Vec<Result<Submitted>>> {
    let store = Holder { backend };
    let out = on_pool!(store, pool => {
        let mut tx = pool.begin_write().await?;
        let mut out = Vec::with_capacity(batch.len());
        let mut stored: Vec<&NewResponse> = Vec::with_capacity(batch.len());
        for (i, r) in batch.iter().enumerate() {
            if let Some(invitation) = invitations.get(i).copied().flatten() {
                // A retry of the answer already stored is judged by its key first; then the invitation must still
                // be live, and moves to answered in this commit, or nothing of this response is written.
                let earlier: Option<(Uuid, Option<String>)> = sqlx::query_as(
                    "SELECT id, request_hash FROM responses WHERE org_id = $1 AND survey_id = $2 AND idempotency_key = $3",
                )
                .bind(r.org_id.as_uuid())
                .bind(r.survey_id.as_uuid())
                .bind(&r.idempotency_key)
                .fetch_optional(&mut *tx)
                .await?;
                if let Some((id, hash)) = earlier {
                    out.push(match Replay::of(hash.as_deref(), &r.request_fingerprint) {
                        Replay::Same => Ok(Submitted { id: ResponseId::from_uuid(id), duplicate: true }),
                        Replay::Reused => Err(StoreError::IdempotencyKeyReused),
                    });
                    continue;
                }
                let moved = sqlx::query(
                    "UPDATE email_invitations SET state = 'answered', answered_at = $3, response_id = $4, \
                     started_at = COALESCE(started_at, $3) \
                     WHERE org_id = $1 AND id = $2 AND state IN ('queued', 'sent', 'reminded', 'opened') \
                     AND expires_at > $3 AND survey_id = $5 AND survey_version = $6",
                )
                .bind(r.org_id.as_uuid())
                .bind(invitation)
                .bind(r.submitted_at)
                .bind(r.id.as_uuid())
                .bind(r.survey_id.as_uuid())
                .bind(r.survey_version)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if moved == 0 {
                    out.push(Err(StoreError::InvitationUsed));
                    continue;
                }
            }
            let answers = serde_json::to_string(&r.answers).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            let enrichment = r.enrichment.as_ref().map(|e| e.to_string());
            let themes = (!r.themes.is_empty()).then(|| format!(",{},", r.themes.join(",")));
            let inserted = sqlx::query(
                "INSERT INTO responses (org_id, id, survey_id, survey_version, service_id, touchpoint_id, channel, \
                 language, page_path, submitted_at, idempotency_key, answers, trust, trust_positive, person_key, enrichment, \
                 sentiment, themes, urgent, request_hash) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20) \
                 ON CONFLICT (org_id, survey_id, idempotency_key) DO NOTHING",
            )
            .bind(r.org_id.as_uuid())
            .bind(r.id.as_uuid())
            .bind(r.survey_id.as_uuid())
            .bind(r.survey_version)
            .bind(r.service_id.as_uuid())
            .bind(r.touchpoint_id.map(|t| *t.as_uuid()))
            .bind(r.channel.key())
            .bind(r.language.as_str())
            .bind(r.page_path.as_deref())
            .bind(r.submitted_at)
            .bind(&r.idempotency_key)
            .bind(&answers)
            .bind(r.trust)
            .bind(r.trust_positive)
            .bind(r.person_key.as_deref())
            .bind(enrichment.as_deref())
            .bind(r.sentiment.as_deref())
            .bind(themes.as_deref())
            .bind(r.urgent)
            .bind(r.request_fingerprint.as_str())
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if inserted == 1 {
                for (question, sealed) in &r.contacts {
                    sqlx::query("INSERT INTO response_contacts (org_id, response_id, question_id, sealed) VALUES ($1, $2, $3, $4)")
                        .bind(r.org_id.as_uuid())
                        .bind(r.id.as_uuid())
                        .bind(question)
                        .bind(sealed)
                        .execute(&mut *tx)
                        .await?;
                }
                for (question, sealed) in &r.raw_texts {
                    sqlx::query("INSERT INTO response_raw_text (org_id, response_id, question_id, sealed) VALUES ($1, $2, $3, $4)")
                        .bind(r.org_id.as_uuid())
                        .bind(r.id.as_uuid())
                        .bind(question)
                        .bind(sealed)
                        .execute(&mut *tx)
                        .await?;
                }
                stored.push(r);
                out.push(Ok(Submitted { id: r.id, duplicate: false }));
            } else {
                let (id, stored): (Uuid, Option<String>) = sqlx::query_as(
                    "SELECT id, request_hash FROM responses WHERE org_id = $1 AND survey_id = $2 AND idempotency_key = $3",
                )
                .bind(r.org_id.as_uuid())
                .bind(r.survey_id.as_uuid())
                .bind(&r.idempotency_key)
                .fetch_one(&mut *tx)
                .await?;
                out.push(match Replay::of(stored.as_deref(), &r.request_fingerprint) {
                    Replay::Same => Ok(Submitted { id: ResponseId::from_uuid(id), duplicate: true }),
                    Replay::Reused => Err(StoreError::IdempotencyKeyReused),
                });
            }
        }
        // The rollups the dashboards read, in the responses' own commit (`rollups.rs`), per organization.
        let mut orgs: Vec<heard_domain::OrgId> = stored.iter().map(|r| r.org_id).collect();
        orgs.sort_unstable_by_key(|o| *o.as_uuid());
        orgs.dedup();
        let now = crate::now_ms();
        for org in &orgs {
            let org = *org;
            let rows: Vec<&NewResponse> = stored.iter().copied().filter(|r| r.org_id == org).collect();
            tx.add_responses(org, &rows).await?;
            // What follows new data (insights, journeys), in the data's commit (`after_data`).
            tx.data_arrived(org, now).await?;
            // Its webhook events and their first delivery jobs, in the same commit (`webhooks.rs`).
            tx.emit_responses(org, &rows, now).await?;
        }
        // An urgent case for each response with crisis language, and what rules do, in the same commit.
        let mut tx = crate::jobs::StoreTx::from(tx);
        for org in orgs {
            let rows: Vec<&NewResponse> = stored.iter().copied().filter(|r| r.org_id == org).collect();
            tx.open_crisis_cases(org, &rows, now).await?;
            // The organization's rules that are on, in the same commit (`rules.rs`).
            tx.apply_rules(org, &rows, now).await?;
        }
        tx.commit().await?;
        Ok::<_, StoreError>(out)
    })?;
    Ok(out)
}

/// Lets `on_pool!` run on a bare backend.
struct Holder<'a> {
    backend: &'a Backend,
}
