//! The audit of MyAgency deletions (issue 21, item 6), admins only: `/admin/o/{org}/my-deletions`. Each row is a
//! person's request to withdraw consent and delete their feedback, with no personal data: the person key's short
//! hash (8 hex digits of its SHA-256), when it was asked and finished, and how many responses and signals were
//! deleted and callbacks called off. The dashboards' figures keep counting what was deleted.

use axum::extract::State;
use axum::response::Response;
use minijinja::context;

use super::{base_ctx, page};
use crate::auth::Admin;
use crate::{AppResult, AppState};

/// The most rows the page lists.
const LIMIT: i64 = 500;

pub async fn list(State(state): State<AppState>, m: Admin) -> AppResult<Response> {
    let zone = m.org.time_zone;
    let rows: Vec<_> = state
        .store
        .my_deletions(m.org_id(), LIMIT)
        .await?
        .into_iter()
        .map(|d| {
            context! {
                person => d.person_ref, requested => zone.display(d.requested_at),
                finished => d.finished_at.map(|f| zone.display(f)),
                responses => d.responses, signals => d.signals, callbacks => d.callbacks_cancelled,
            }
        })
        .collect();
    Ok(page(
        &state,
        "my_deletions.html",
        base_ctx(&m, "my-deletions"),
        context! { deletions => rows, limit => LIMIT },
    ))
}
