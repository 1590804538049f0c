//! Rollups kept on ingest (migration 0024): responses per local day and dimension (`response_days`) and answers to
//! closed questions per local day, question and value (`answer_days`), which dashboards, the A-11 statistics page
//! and the overview read instead of every response.
//!
//! **Kept in the response's own transaction.** The group-commit writer and the bulk path call
//! [`RollupTx::add_responses`] with the rows they stored, before they commit: the batch is aggregated in Rust
//! (`heard_domain::rollup::Rollup`, the one definition of what a response adds), then written as one multi-row upsert
//! per table and thousand keys, so a batch of a thousand responses over a few days costs a few statements. The day is
//! the organization's local day in its time zone at the time of writing; a change of zone marks the organization in
//! `rollups_pending` and enqueues [`REBUILD_KIND`] in the same transaction ([`Store::set_org_time_zone`]), and
//! [`Store::rebuild_rollups`] recomputes its rows from its responses. No path deletes responses or changes a counted
//! column today; one that does must take its rows out of the rollups in its transaction (or mark the organization
//! pending).
//!
//! Which questions are closed (their answers counted per value) comes from each survey version's definition, read
//! once per process: published versions never change (`catalog.rs`).

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, OnceLock};

use futures_util::future::BoxFuture;
use heard_domain::response::{Answers, NewResponse};
use heard_domain::rollup::{
    AnswerDay, AnswerKey, Counted, DayCounts, EventRollup, ResponseDay, ResponseKey, Rollup,
    counted,
};
use heard_domain::survey::SurveyDefinition;
use heard_domain::{OrgId, ServiceId, SurveyId, TouchpointId, Zone};
use uuid::Uuid;

use crate::bulk::values;
use crate::event_rollups::{EventRollupTx, REBUILD_PAGE as EVENT_REBUILD_PAGE, StoredEvent};
use crate::jobs::{ClaimedJob, NewJob, on_tx};
use crate::{Result, Store, StoreError, on_pool};

/// The job kind that rebuilds one organization's rollups (payload `{}`; the organization is the job's).
pub const REBUILD_KIND: &str = "rollups.rebuild";

/// Keys per upsert statement: 13 columns of 1,000 rows stay under SQLite's 32,766 parameters and PostgreSQL's 65,535.
const KEYS_PER_STATEMENT: usize = 1000;

/// Responses read per page when rebuilding.
const REBUILD_PAGE: i64 = 20_000;

type ClosedQuestions = Arc<HashSet<String>>;

/// Closed question ids per (survey, version), read once per process (published versions are immutable).
fn closed_cache() -> &'static Mutex<HashMap<(Uuid, i32), ClosedQuestions>> {
    static CACHE: OnceLock<Mutex<HashMap<(Uuid, i32), ClosedQuestions>>> = OnceLock::new();
    CACHE.get_or_init(Default::default)
}

fn closed_of(definition: Option<&str>) -> ClosedQuestions {
    Arc::new(
        definition
            .and_then(|d| serde_json::from_str::<SurveyDefinition>(d).ok())
            .map(|d| {
                d.questions
                    .into_iter()
                    .filter(|q| counted(q.kind))
                    .map(|q| q.id)
                    .collect()
            })
            .unwrap_or_default(),
    )
}

fn response_upsert(rows: usize, anonymous: bool) -> String {
    format!(
        "INSERT INTO response_days (org_id, day, survey_id, survey_version, service_id, touchpoint_id, channel, \
         language, responses, trust_answered, trust_positive, scale_n, scale_sum) VALUES {} \
         ON CONFLICT (org_id, day, survey_id, survey_version, service_id, touchpoint_id, channel, language) DO UPDATE SET \
         responses = response_days.responses + excluded.responses, \
         trust_answered = response_days.trust_answered + excluded.trust_answered, \
         trust_positive = response_days.trust_positive + excluded.trust_positive, \
         scale_n = response_days.scale_n + excluded.scale_n, scale_sum = response_days.scale_sum + excluded.scale_sum",
        values(13, rows, anonymous)
    )
}

fn answer_upsert(rows: usize, anonymous: bool) -> String {
    format!(
        "INSERT INTO answer_days (org_id, survey_id, day, survey_version, question_id, value, trust_positive, answers) \
         VALUES {} ON CONFLICT (org_id, survey_id, day, survey_version, question_id, value, trust_positive) \
         DO UPDATE SET answers = answer_days.answers + excluded.answers",
        values(8, rows, anonymous)
    )
}

fn side(p: Option<bool>) -> i16 {
    match p {
        None => -1,
        Some(false) => 0,
        Some(true) => 1,
    }
}

fn side_of(v: i16) -> Option<bool> {
    match v {
        0 => Some(false),
        1 => Some(true),
        _ => None,
    }
}

fn touchpoint_of(u: Uuid) -> Option<TouchpointId> {
    (!u.is_nil()).then(|| TouchpointId::from_uuid(u))
}

/// Writes to the rollups in the caller's transaction, on either backend.
pub(crate) trait RollupTx: Send {
    /// Adds the responses `rows` (all `org`'s, just stored in this transaction) to the rollups.
    fn add_responses<'a>(
        &'a mut self,
        org: OrgId,
        rows: &'a [&'a NewResponse],
    ) -> BoxFuture<'a, Result<()>>;
    /// Adds an aggregated rollup of `org`.
    fn add_rollup<'a>(&'a mut self, org: OrgId, roll: &'a Rollup) -> BoxFuture<'a, Result<()>>;
}

macro_rules! rollup_tx {
    ($db:ty, $anonymous:expr) => {
        impl RollupTx for sqlx::Transaction<'static, $db> {
            fn add_responses<'a>(
                &'a mut self,
                org: OrgId,
                rows: &'a [&'a NewResponse],
            ) -> BoxFuture<'a, Result<()>> {
                Box::pin(async move {
                    if rows.is_empty() {
                        return Ok(());
                    }
                    let zone: String = sqlx::query_scalar(
                        "SELECT time_zone FROM organizations WHERE id = $1",
                    )
                    .bind(org.as_uuid())
                    .fetch_one(&mut **self)
                    .await?;
                    let zone = Zone::parse(&zone).unwrap_or_default();
                    let mut closed: HashMap<(Uuid, i32), ClosedQuestions> = HashMap::new();
                    for r in rows {
                        let key = (*r.survey_id.as_uuid(), r.survey_version);
                        if closed.contains_key(&key) {
                            continue;
                        }
                        let cached = closed_cache().lock().ok().and_then(|c| c.get(&key).cloned());
                        let set = match cached {
                            Some(s) => s,
                            None => {
                                let def: Option<String> = sqlx::query_scalar(
                                    "SELECT definition FROM survey_versions WHERE org_id = $1 AND survey_id = $2 \
                                     AND version = $3",
                                )
                                .bind(org.as_uuid())
                                .bind(key.0)
                                .bind(key.1)
                                .fetch_optional(&mut **self)
                                .await?;
                                let set = closed_of(def.as_deref());
                                // Only a version that exists is cached: a later one may be published under the number.
                                if def.is_some()
                                    && let Ok(mut c) = closed_cache().lock()
                                {
                                    c.insert(key, set.clone());
                                }
                                set
                            }
                        };
                        closed.insert(key, set);
                    }
                    let mut roll = Rollup::default();
                    for r in rows {
                        let set = &closed[&(*r.survey_id.as_uuid(), r.survey_version)];
                        roll.add(
                            Counted {
                                day: zone.day_number(r.submitted_at),
                                survey_id: r.survey_id,
                                survey_version: r.survey_version,
                                service_id: r.service_id,
                                touchpoint_id: r.touchpoint_id,
                                channel: r.channel.key(),
                                language: r.language.as_str(),
                                trust: r.trust,
                                trust_positive: r.trust_positive,
                                answers: &r.answers,
                            },
                            |q| set.contains(q),
                        );
                    }
                    self.add_rollup(org, &roll).await
                })
            }

            fn add_rollup<'a>(
                &'a mut self,
                org: OrgId,
                roll: &'a Rollup,
            ) -> BoxFuture<'a, Result<()>> {
                Box::pin(async move {
                    let responses: Vec<(&ResponseKey, &DayCounts)> = roll.responses.iter().collect();
                    for chunk in responses.chunks(KEYS_PER_STATEMENT) {
                        let sql = response_upsert(chunk.len(), $anonymous);
                        let mut q = sqlx::query(&sql);
                        for (k, c) in chunk {
                            q = q
                                .bind(org.as_uuid())
                                .bind(k.day)
                                .bind(k.survey_id.as_uuid())
                                .bind(k.survey_version)
                                .bind(k.service_id.as_uuid())
                                .bind(k.touchpoint_id.map(|t| *t.as_uuid()).unwrap_or(Uuid::nil()))
                                .bind(k.channel.as_str())
                                .bind(k.language.as_str())
                                .bind(c.responses as i64)
                                .bind(c.trust_answered as i64)
                                .bind(c.trust_positive as i64)
                                .bind(c.scale_n as i64)
                                .bind(c.scale_sum);
                        }
                        q.execute(&mut **self).await?;
                    }
                    let answers: Vec<(&AnswerKey, &u64)> = roll.answers.iter().collect();
                    for chunk in answers.chunks(KEYS_PER_STATEMENT) {
                        let sql = answer_upsert(chunk.len(), $anonymous);
                        let mut q = sqlx::query(&sql);
                        for (k, n) in chunk {
                            q = q
                                .bind(org.as_uuid())
                                .bind(k.survey_id.as_uuid())
                                .bind(k.day)
                                .bind(k.survey_version)
                                .bind(k.question_id.as_str())
                                .bind(k.value.as_str())
                                .bind(side(k.trust_positive))
                                .bind(**n as i64);
                        }
                        q.execute(&mut **self).await?;
                    }
                    Ok(())
                })
            }
        }
    };
}

rollup_tx!(sqlx::Sqlite, true);
rollup_tx!(sqlx::Postgres, false);

/// Which rollup rows to read: `from_day..to_day` (local day numbers, half-open), optionally one survey or one
/// service.
#[derive(Debug, Clone, Copy, Default)]
pub struct RollupScope {
    pub survey: Option<SurveyId>,
    pub service: Option<ServiceId>,
    pub from_day: i64,
    pub to_day: i64,
}

#[derive(sqlx::FromRow)]
struct DayRow {
    day: i64,
    survey_id: Uuid,
    survey_version: i32,
    service_id: Uuid,
    touchpoint_id: Uuid,
    channel: String,
    language: String,
    responses: i64,
    trust_answered: i64,
    trust_positive: i64,
    scale_n: i64,
    scale_sum: i64,
}

#[derive(sqlx::FromRow)]
struct AnswerRow {
    survey_id: Uuid,
    day: i64,
    survey_version: i32,
    question_id: String,
    value: String,
    trust_positive: i16,
    answers: i64,
}

/// Why and since when an organization's rollups are being recomputed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    pub org_id: OrgId,
    /// UTC milliseconds.
    pub since: i64,
    /// `migration` or `time_zone`.
    pub reason: String,
}

/// What a rebuild did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rebuilt {
    pub responses: u64,
    pub response_rows: usize,
    pub answer_rows: usize,
    /// Events read, and the `event_days` and `event_measure_days` rows written (`event_rollups`).
    pub events: u64,
    pub event_rows: usize,
    pub event_measure_rows: usize,
}

/// One stored response as a rebuild reads it.
#[derive(sqlx::FromRow)]
struct StoredRow {
    id: Uuid,
    survey_id: Uuid,
    survey_version: i32,
    service_id: Uuid,
    touchpoint_id: Option<Uuid>,
    channel: String,
    language: String,
    submitted_at: i64,
    trust: Option<i16>,
    trust_positive: Option<bool>,
    answers: String,
}

impl Store {
    /// The `response_days` rows of `org` in `scope`.
    pub async fn response_days(&self, org: OrgId, scope: &RollupScope) -> Result<Vec<ResponseDay>> {
        let rows: Vec<DayRow> = on_pool!(self, p => sqlx::query_as(
            "SELECT day, survey_id, survey_version, service_id, touchpoint_id, channel, language, responses, \
             trust_answered, trust_positive, scale_n, scale_sum FROM response_days \
             WHERE org_id = $1 AND day >= $2 AND day < $3 AND ($4 IS NULL OR survey_id = $4) \
             AND ($5 IS NULL OR service_id = $5)")
            .bind(org.as_uuid()).bind(scope.from_day).bind(scope.to_day)
            .bind(scope.survey.map(|s| *s.as_uuid())).bind(scope.service.map(|s| *s.as_uuid()))
            .fetch_all(p).await)?;
        Ok(rows
            .into_iter()
            .map(|r| ResponseDay {
                key: ResponseKey {
                    day: r.day,
                    survey_id: SurveyId::from_uuid(r.survey_id),
                    survey_version: r.survey_version,
                    service_id: ServiceId::from_uuid(r.service_id),
                    touchpoint_id: touchpoint_of(r.touchpoint_id),
                    channel: r.channel,
                    language: r.language,
                },
                counts: DayCounts {
                    responses: r.responses as u64,
                    trust_answered: r.trust_answered as u64,
                    trust_positive: r.trust_positive as u64,
                    scale_n: r.scale_n as u64,
                    scale_sum: r.scale_sum,
                },
            })
            .collect())
    }

    /// The `answer_days` rows of one survey of `org` from `from_day` to `to_day` (local day numbers, half-open).
    pub async fn answer_days(
        &self,
        org: OrgId,
        survey: SurveyId,
        from_day: i64,
        to_day: i64,
    ) -> Result<Vec<AnswerDay>> {
        let rows: Vec<AnswerRow> = on_pool!(self, p => sqlx::query_as(
            "SELECT survey_id, day, survey_version, question_id, value, trust_positive, answers FROM answer_days \
             WHERE org_id = $1 AND survey_id = $2 AND day >= $3 AND day < $4")
            .bind(org.as_uuid()).bind(survey.as_uuid()).bind(from_day).bind(to_day)
            .fetch_all(p).await)?;
        Ok(rows
            .into_iter()
            .map(|r| AnswerDay {
                key: AnswerKey {
                    survey_id: SurveyId::from_uuid(r.survey_id),
                    day: r.day,
                    survey_version: r.survey_version,
                    question_id: r.question_id,
                    value: r.value,
                    trust_positive: side_of(r.trust_positive),
                },
                answers: r.answers as u64,
            })
            .collect())
    }

    /// Responses per survey of `org`, all time, from the rollups.
    pub async fn responses_per_survey(&self, org: OrgId) -> Result<HashMap<SurveyId, i64>> {
        let rows: Vec<(Uuid, i64)> = on_pool!(self, p => sqlx::query_as(
            "SELECT survey_id, CAST(SUM(responses) AS BIGINT) FROM response_days WHERE org_id = $1 GROUP BY survey_id")
            .bind(org.as_uuid()).fetch_all(p).await)?;
        Ok(rows
            .into_iter()
            .map(|(s, n)| (SurveyId::from_uuid(s), n))
            .collect())
    }

    /// How many responses match a filter the rollups can answer: `scope`'s days, survey and service, and optionally
    /// one channel, one language and the trust answer (`Some(true)` positive, `Some(false)` negative).
    pub async fn count_from_rollups(
        &self,
        org: OrgId,
        scope: &RollupScope,
        channel: Option<&str>,
        language: Option<&str>,
        trust_positive: Option<bool>,
    ) -> Result<i64> {
        let what = match trust_positive {
            None => "responses",
            Some(true) => "trust_positive",
            Some(false) => "trust_answered - trust_positive",
        };
        let sql = format!(
            "SELECT CAST(COALESCE(SUM({what}), 0) AS BIGINT) FROM response_days WHERE org_id = $1 AND day >= $2 AND day < $3 \
             AND ($4 IS NULL OR survey_id = $4) AND ($5 IS NULL OR service_id = $5) AND ($6 IS NULL OR channel = $6) \
             AND ($7 IS NULL OR language = $7)"
        );
        Ok(on_pool!(self, p => sqlx::query_scalar(&sql)
            .bind(org.as_uuid()).bind(scope.from_day).bind(scope.to_day)
            .bind(scope.survey.map(|s| *s.as_uuid())).bind(scope.service.map(|s| *s.as_uuid()))
            .bind(channel).bind(language).fetch_one(p).await)?)
    }

    /// Every organization's id (for rebuilding them all).
    pub async fn org_ids(&self) -> Result<Vec<OrgId>> {
        let rows: Vec<Uuid> = on_pool!(self, p => sqlx::query_scalar(
            "SELECT id FROM organizations ORDER BY slug").fetch_all(p).await)?;
        Ok(rows.into_iter().map(OrgId::from_uuid).collect())
    }

    /// Whether `org`'s rollups are waiting to be recomputed, since when and why.
    pub async fn rollups_pending(&self, org: OrgId) -> Result<Option<Pending>> {
        let row: Option<(i64, String)> = on_pool!(self, p => sqlx::query_as(
            "SELECT since, reason FROM rollups_pending WHERE org_id = $1")
            .bind(org.as_uuid()).fetch_optional(p).await)?;
        Ok(row.map(|(since, reason)| Pending {
            org_id: org,
            since,
            reason,
        }))
    }

    /// Every organization whose rollups wait to be recomputed.
    pub async fn all_rollups_pending(&self) -> Result<Vec<Pending>> {
        let rows: Vec<(Uuid, i64, String)> = on_pool!(self, p => sqlx::query_as(
            "SELECT org_id, since, reason FROM rollups_pending ORDER BY since")
            .fetch_all(p).await)?;
        Ok(rows
            .into_iter()
            .map(|(o, since, reason)| Pending {
                org_id: OrgId::from_uuid(o),
                since,
                reason,
            })
            .collect())
    }

    /// Enqueues a rebuild job for every pending organization (once per pending episode: the job's dedupe key is
    /// its `since`). `heard serve` calls it at start, so the organizations the migration marked get rebuilt.
    pub async fn enqueue_pending_rebuilds(&self) -> Result<usize> {
        let pending = self.all_rollups_pending().await?;
        for p in &pending {
            self.enqueue(rebuild_job(p.org_id, p.since)).await?;
        }
        Ok(pending.len())
    }

    /// Changes the organization's time zone. When it differs, the organization's rollups (kept per local day) are
    /// marked pending and a [`REBUILD_KIND`] job is enqueued in the same transaction.
    pub async fn set_org_time_zone(&self, org: OrgId, zone: Zone) -> Result<()> {
        let now = crate::now_ms();
        let mut tx = self.begin().await?;
        let changed = on_tx!(tx, t => sqlx::query(
            "UPDATE organizations SET time_zone = $1 WHERE id = $2 AND time_zone <> $1")
            .bind(zone.name()).bind(org.as_uuid()).execute(&mut **t).await.map(|r| r.rows_affected()))?;
        if changed > 0 {
            on_tx!(tx, t => sqlx::query(
                "INSERT INTO rollups_pending (org_id, since, reason) VALUES ($1, $2, 'time_zone') \
                 ON CONFLICT (org_id) DO UPDATE SET since = excluded.since, reason = excluded.reason")
                .bind(org.as_uuid()).bind(now).execute(&mut **t).await.map(|_| ()))?;
            tx.enqueue(rebuild_job(org, now)).await?;
        }
        tx.commit().await
    }

    /// Recomputes `org`'s rollups from its responses and events, in one transaction that also clears its pending mark (and
    /// completes `job` when given). Writers wait meanwhile (SQLite has one writer; on PostgreSQL the responses and
    /// events tables are locked against writes), so no response or event is counted twice or missed. Reads every
    /// response and event once, a page at a time; memory holds the aggregates, not the rows.
    pub async fn rebuild_rollups(&self, org: OrgId, job: Option<&ClaimedJob>) -> Result<Rebuilt> {
        let mut tx = self.begin().await?;
        if let crate::jobs::TxInner::Postgres(t) = &mut tx.inner {
            sqlx::query("LOCK TABLE responses, events IN SHARE MODE")
                .execute(&mut **t)
                .await?;
        }
        let zone: String = on_tx!(tx, t => sqlx::query_scalar(
            "SELECT time_zone FROM organizations WHERE id = $1")
            .bind(org.as_uuid()).fetch_one(&mut **t).await)?;
        let zone = Zone::parse(&zone).unwrap_or_default();
        let defs: Vec<(Uuid, i32, String)> = on_tx!(tx, t => sqlx::query_as(
            "SELECT survey_id, version, definition FROM survey_versions WHERE org_id = $1")
            .bind(org.as_uuid()).fetch_all(&mut **t).await)?;
        let closed: HashMap<(Uuid, i32), ClosedQuestions> = defs
            .into_iter()
            .map(|(s, v, d)| ((s, v), closed_of(Some(&d))))
            .collect();
        let none: ClosedQuestions = Arc::default();
        let mut roll = Rollup::default();
        let mut after = Uuid::nil();
        let mut responses = 0u64;
        loop {
            let page: Vec<StoredRow> = on_tx!(tx, t => sqlx::query_as(
                "SELECT id, survey_id, survey_version, service_id, touchpoint_id, channel, language, submitted_at, \
                 trust, trust_positive, answers FROM responses WHERE org_id = $1 AND id > $2 ORDER BY id LIMIT $3")
                .bind(org.as_uuid()).bind(after).bind(REBUILD_PAGE).fetch_all(&mut **t).await)?;
            let Some(last) = page.last() else { break };
            after = last.id;
            for r in &page {
                let answers: Answers = serde_json::from_str(&r.answers)
                    .map_err(|e| StoreError::Corrupt(format!("stored answers: {e}")))?;
                let set = closed
                    .get(&(r.survey_id, r.survey_version))
                    .unwrap_or(&none);
                roll.add(
                    Counted {
                        day: zone.day_number(r.submitted_at),
                        survey_id: SurveyId::from_uuid(r.survey_id),
                        survey_version: r.survey_version,
                        service_id: ServiceId::from_uuid(r.service_id),
                        touchpoint_id: r.touchpoint_id.map(TouchpointId::from_uuid),
                        channel: &r.channel,
                        language: &r.language,
                        trust: r.trust,
                        trust_positive: r.trust_positive,
                        answers: &answers,
                    },
                    |q| set.contains(q),
                );
                responses += 1;
            }
        }
        // Events, the same way (`event_rollups`), by id: a page of the primary key at a time.
        let mut events_roll = EventRollup::default();
        let mut after = Uuid::nil();
        let mut events = 0u64;
        loop {
            let page: Vec<StoredEvent> = on_tx!(tx, t => sqlx::query_as(
                "SELECT id, type, occurred_at, service_id, touchpoint_id, measures FROM events \
                 WHERE org_id = $1 AND id > $2 ORDER BY id LIMIT $3")
                .bind(org.as_uuid()).bind(after).bind(EVENT_REBUILD_PAGE).fetch_all(&mut **t).await)?;
            let Some(last) = page.last() else { break };
            after = last.id;
            for e in &page {
                e.add_to(&zone, &mut events_roll)?;
                events += 1;
            }
        }
        for table in [
            "response_days",
            "answer_days",
            "event_days",
            "event_measure_days",
            "rollups_pending",
        ] {
            let sql = format!("DELETE FROM {table} WHERE org_id = $1");
            on_tx!(tx, t => sqlx::query(&sql).bind(org.as_uuid()).execute(&mut **t).await.map(|_| ()))?;
        }
        on_tx!(tx, t => t.add_rollup(org, &roll).await)?;
        on_tx!(tx, t => t.add_event_rollup(org, &events_roll).await)?;
        if let Some(job) = job {
            tx.complete_job(job).await?;
        }
        tx.commit().await?;
        Ok(Rebuilt {
            responses,
            response_rows: roll.responses.len(),
            answer_rows: roll.answers.len(),
            events,
            event_rows: events_roll.events.len(),
            event_measure_rows: events_roll.measures.len(),
        })
    }
}

fn rebuild_job(org: OrgId, since: i64) -> NewJob {
    NewJob {
        org_id: org,
        kind: REBUILD_KIND.to_string(),
        payload: serde_json::json!({}),
        dedupe_key: Some(format!("since-{since}")),
        run_at: None,
        max_attempts: 5,
    }
}
