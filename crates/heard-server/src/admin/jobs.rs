//! The job queue as an organization's admins see it: how many jobs wait, run, finished and died, the queued,
//! running and dead ones listed, and a Retry button that puts a dead job back in the queue. The page's own words
//! come in the admin's language (`?lang=` or `Accept-Language`, from `locales/*.json` under `jobs`).

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Redirect, Response};
use heard_domain::JobId;
use heard_store::jobs::{Job, JobState};
use minijinja::context;

use super::{base_ctx, page};
use crate::auth::{Admin, AdminForm};
use crate::{AppError, AppResult, AppState};

/// How many jobs of each state the page lists (most recently changed first).
const LISTED: i64 = 100;

fn job_view(j: &Job) -> minijinja::Value {
    context! {
        id => j.id.to_string(), kind => j.kind, attempts => j.attempts, max_attempts => j.max_attempts,
        run_at => j.run_at, updated_at => j.updated_at, locked_until => j.locked_until, last_error => j.last_error,
    }
}

#[derive(serde::Deserialize)]
pub struct LangQuery {
    lang: Option<String>,
}

pub async fn list(
    State(state): State<AppState>,
    m: Admin,
    Query(q): Query<LangQuery>,
    headers: HeaderMap,
) -> AppResult<Response> {
    let offered: Vec<String> = crate::i18n::languages()
        .into_iter()
        .map(|(code, _)| code)
        .collect();
    let lang = crate::i18n::negotiate(
        q.lang.as_deref(),
        headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok()),
        &offered,
    );
    let languages: Vec<_> = crate::i18n::languages()
        .into_iter()
        .map(|(code, name)| context! { code => code, name => name })
        .collect();
    let org = m.org_id();
    let counts = state.store.job_counts(org).await?;
    let mut lists = Vec::new();
    for s in [JobState::Dead, JobState::Running, JobState::Queued] {
        let jobs = state.store.jobs_in_state(org, s, LISTED).await?;
        lists.push(jobs.iter().map(job_view).collect::<Vec<_>>());
    }
    let [dead, running, queued]: [Vec<_>; 3] = lists.try_into().unwrap_or_default();
    Ok(page(
        &state,
        "jobs.html",
        base_ctx(&m, "jobs"),
        context! { counts => counts, dead => dead, running => running, queued => queued, listed => LISTED,
        jt => crate::i18n::strings(&lang)["jobs"], jlang => lang, languages => languages },
    ))
}

/// Puts a dead job back in the queue, due now, with its attempts reset. A job that is not dead (already retried,
/// or another organization's) is not found.
pub async fn retry(
    State(state): State<AppState>,
    m: Admin,
    Path((_, id)): Path<(String, String)>,
    AdminForm(_): AdminForm,
) -> AppResult<Response> {
    let id: JobId = id.parse().map_err(|_| AppError::NotFound)?;
    state.store.retry_dead_job(m.org_id(), id).await?;
    tracing::info!(org = %m.org_id(), job = %id, "dead job queued again by an admin");
    Ok(Redirect::to(&format!("/admin/o/{}/jobs", m.org_id())).into_response())
}
