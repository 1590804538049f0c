//! The case escalation job (issue 21, item 2): `cases.check` looks at one case when one of its SLA clocks reaches
//! a warning share, a deadline or an escalation step (`heard_store::cases::CHECK_KIND`, enqueued by every change to
//! the case for the next such instant). Its effect, the "escalated" history entries, the status and the next check,
//! is written in the job's own transaction (`Store::check_case`), so it happens once.

use futures_util::future::BoxFuture;
use heard_store::Store;
use heard_store::jobs::ClaimedJob;
use uuid::Uuid;

use crate::jobs::{Completed, JobHandler};

/// Runs `cases.check`.
pub struct CheckCase;

impl JobHandler for CheckCase {
    fn run<'a>(
        &'a self,
        store: &'a Store,
        job: &'a ClaimedJob,
    ) -> BoxFuture<'a, Result<Completed, String>> {
        Box::pin(async move {
            let case: Uuid = job
                .job
                .payload
                .get("case")
                .and_then(|c| c.as_str())
                .and_then(|c| c.parse().ok())
                .ok_or_else(|| format!("job {}: payload has no case id", job.job.id))?;
            let steps = store
                .check_case(job.job.org_id, case, Some(job), heard_store::now_ms())
                .await
                .map_err(|e| format!("job {}: case {case}: {e}", job.job.id))?;
            if steps > 0 {
                tracing::info!(org = %job.job.org_id, %case, steps, "case escalated");
            }
            Ok(Completed::WithEffect)
        })
    }
}
