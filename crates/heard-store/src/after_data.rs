//! Work that follows new data, enqueued in the data's own commit (ARCHITECTURE's "work after a commit is a job in
//! that commit"). Every transaction that stores new responses, events or signals also upserts one job of kind
//! [`KIND`] for its organization and debounce window: an `INSERT ... ON CONFLICT DO NOTHING` on the jobs' unique
//! `(org_id, kind, dedupe_key)` with the key `window-N`, so the first commit of a window creates the row, due at the
//! window's end, and every later one in the window finds it and writes nothing. The job (run by the server's
//! handler) then enqueues the recomputations that read the data (insights, journeys). Data and its follow-up
//! commit or roll back together: nothing is lost if the process dies right after the commit, and a batch that is
//! rolled back leaves no job.

use futures_util::future::BoxFuture;
use heard_domain::{JobId, OrgId};

use crate::Result;
use crate::jobs::NewJob;

/// The job kind a commit of new data enqueues.
pub const KIND: &str = "data.arrived";
/// Data committed within this many milliseconds (5 minutes) shares one job, due when the window ends.
pub const DEBOUNCE_MS: i64 = 5 * 60_000;

/// The window of `now_ms` (a number of [`DEBOUNCE_MS`] since the epoch).
pub fn window_of(now_ms: i64) -> i64 {
    now_ms.div_euclid(DEBOUNCE_MS)
}

/// The job a commit at `now_ms` enqueues for `org`: payload `{"window": N}`, key `window-N`, due at the window's
/// end.
pub fn job(org: OrgId, now_ms: i64) -> NewJob {
    let window = window_of(now_ms);
    NewJob::new(org, KIND, serde_json::json!({ "window": window }))
        .dedupe_key(format!("window-{window}"))
        .run_at((window + 1) * DEBOUNCE_MS)
}

/// Upserts the after-data job in the caller's transaction, on either backend.
pub(crate) trait AfterDataTx: Send {
    /// New data of `org` is being stored in this transaction at `now_ms`.
    fn data_arrived(&mut self, org: OrgId, now_ms: i64) -> BoxFuture<'_, Result<()>>;
}

macro_rules! after_data_tx {
    ($db:ty) => {
        impl AfterDataTx for sqlx::Transaction<'static, $db> {
            fn data_arrived(&mut self, org: OrgId, now_ms: i64) -> BoxFuture<'_, Result<()>> {
                Box::pin(async move {
                    let j = job(org, now_ms);
                    sqlx::query(
                        "INSERT INTO jobs (org_id, id, kind, payload, state, attempts, max_attempts, run_at, dedupe_key, \
                         created_at, updated_at) VALUES ($1, $2, $3, $4, 'queued', 0, $5, $6, $7, $8, $8) \
                         ON CONFLICT (org_id, kind, dedupe_key) WHERE dedupe_key IS NOT NULL DO NOTHING",
                    )
                    .bind(org.as_uuid())
                    .bind(JobId::new().as_uuid())
                    .bind(KIND)
                    .bind(j.payload.to_string())
                    .bind(j.max_attempts as i32)
                    .bind(j.run_at.unwrap_or(now_ms))
                    .bind(j.dedupe_key.as_deref())
                    .bind(now_ms)
                    .execute(&mut **self)
                    .await?;
                    Ok(())
                })
            }
        }
    };
}

after_data_tx!(sqlx::Sqlite);
after_data_tx!(sqlx::Postgres);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commits_in_one_window_share_a_job() {
        let org = OrgId::new();
        let a = job(org, DEBOUNCE_MS * 10 + 5);
        let b = job(org, DEBOUNCE_MS * 11 - 1);
        let c = job(org, DEBOUNCE_MS * 11);
        assert_eq!(a.dedupe_key, b.dedupe_key);
        assert_eq!(a.payload, b.payload);
        assert_ne!(a.dedupe_key, c.dedupe_key);
        assert_eq!(a.run_at, Some(DEBOUNCE_MS * 11));
    }
}
