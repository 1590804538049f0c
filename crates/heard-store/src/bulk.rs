//! The bulk path: many events, signals or responses written in one transaction per batch, for file imports
//! (`heard import`) and the demo data generator. The ingestion API and the group-commit writer keep their own path;
//! this one stores the same columns, under the same idempotency rule, faster.
//!
//! **One batch, one transaction, all or nothing.** On SQLite, and for signals and responses on PostgreSQL, rows go in
//! as multi-row `INSERT` statements of up to [`ROWS_PER_STATEMENT`] rows (one prepared statement per size, reused
//! from sqlx's statement cache), so SQLite parses and plans once per statement, not per row. Events on PostgreSQL go
//! by `COPY` into a staging table and one `INSERT ... SELECT ... ON CONFLICT DO NOTHING RETURNING` from it
//! ([`pg_copy_events`]): `COPY` has no `ON CONFLICT`, and the staging table gives it one. A row whose key was stored
//! already (the keys PostgreSQL returns say which; SQLite events are inserted without `RETURNING`, and only a
//! statement that stored fewer rows than it was given is looked up again) is judged by `Replay::of` its stored
//! fingerprint: the same content is a duplicate (nothing written, the first id answered); different content is a
//! reused key, and then the whole batch rolls back and the caller is told which rows (an import refuses the batch,
//! naming them). The jobs the batch causes (enrichment) and the import's new position commit in the same transaction
//! ([`batch_work`], the one place for per-batch work): on SQLite (WAL, `synchronous=FULL`) and PostgreSQL each batch
//! is durable when [`Store::bulk_write`] returns.

use std::collections::{HashMap, HashSet};

use heard_domain::OrgId;
use heard_domain::event::NewEvent;
use heard_domain::idempotency::{Replay, RequestFingerprint};
use heard_domain::response::NewResponse;
use heard_domain::signal::NewSignal;
use uuid::Uuid;

use crate::intake::Ingested;
use crate::jobs::{NewJob, on_tx};
use crate::{Result, Store, StoreError};

/// Rows per `INSERT` statement. SQLite takes up to 32,766 parameters per statement and PostgreSQL 65,535: 1,000
/// rows of at most 21 columns stay under both.
pub const ROWS_PER_STATEMENT: usize = 1000;

/// The page cache a bulk write's SQLite connection gets: 256 MiB (negative: KiB), allocated only as used, for the
/// batch only: [`pool_cache`] sets the pool's size back before the connection returns to the pool, so a server that
/// ran an import does not keep a 256 MB cache on one of its connections (`SQLITE_CACHE_PRAGMA_VALUE`, lib.rs).
const BULK_CACHE_PRAGMA: &str = "PRAGMA cache_size = -262144";

/// Sets a bulk write's SQLite connection back to the pool's page cache size (pages over it are freed as they are
/// released, at commit or rollback).
async fn pool_cache(tx: &mut crate::StoreTx) -> Result<()> {
    if let crate::jobs::TxInner::Sqlite(t) = &mut tx.inner {
        sqlx::query(&format!(
            "PRAGMA cache_size = {}",
            crate::SQLITE_CACHE_PRAGMA_VALUE
        ))
        .execute(&mut **t)
        .await?;
    }
    Ok(())
}

/// How many WAL pages a bulk write's SQLite connection lets gather before it copies them into the database (default
/// 1,000, about 4 MB). One batch of events writes more than that, so with the default every commit also checkpointed
/// the whole WAL; with 64 MB the index pages that many batches rewrite are copied once. Durability does not change: a
/// commit is durable once its WAL frames are synced (`synchronous=FULL`).
const BULK_CHECKPOINT_PRAGMA: &str = "PRAGMA wal_autocheckpoint = 16384";

/// A batch of prepared rows of one kind (made by the server's pipeline).
#[derive(Debug, Clone, Copy)]
pub enum BulkRows<'a> {
    Events(&'a [NewEvent]),
    Signals(&'a [NewSignal]),
    Responses(&'a [NewResponse]),
}

impl BulkRows<'_> {
    pub fn len(&self) -> usize {
        match self {
            BulkRows::Events(r) => r.len(),
            BulkRows::Signals(r) => r.len(),
            BulkRows::Responses(r) => r.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn org(&self) -> Option<OrgId> {
        match self {
            BulkRows::Events(r) => r.first().map(|x| x.org_id),
            BulkRows::Signals(r) => r.first().map(|x| x.org_id),
            BulkRows::Responses(r) => r.first().map(|x| x.org_id),
        }
    }
}

/// The outcome of one batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BulkOutcome {
    /// Committed: one result per row, in order (created, or a duplicate answered with the first id).
    Committed(Vec<Ingested>),
    /// Nothing was written: these rows (indexes into the batch) reuse a stored key with different content.
    Reused(Vec<usize>),
}

/// A file import's record in `imports`: where a re-run resumes and what it did so far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportRun {
    pub org_id: OrgId,
    pub id: Uuid,
    /// Records read up to the end of the last committed batch.
    pub position: i64,
    pub batches: i64,
    pub created_rows: i64,
    pub duplicate_rows: i64,
    pub refused_rows: i64,
    pub finished_at: Option<i64>,
    /// True when this call made the record (a first run); false when it resumes one.
    pub new: bool,
}

/// Where a batch leaves its import: the position after its last record, saved with its rows.
#[derive(Debug, Clone, Copy)]
pub struct BatchMark {
    pub import_id: Uuid,
    pub position: i64,
}

/// `($1, ..., $cols), (...)` for `rows` rows; on SQLite (`anonymous`) `(?, ..., ?)` instead. SQLite looks up a named
/// or numbered parameter by walking a list of all of them, which makes binding a statement of thousands of `$n`
/// parameters quadratic (it dominated the whole import when profiled); anonymous `?` parameters are bound by position.
pub(crate) fn values(cols: usize, rows: usize, anonymous: bool) -> String {
    let mut s = String::with_capacity(rows * cols * 6);
    for r in 0..rows {
        if r > 0 {
            s.push_str(", ");
        }
        s.push('(');
        for c in 0..cols {
            if c > 0 {
                s.push_str(", ");
            }
            if anonymous {
                s.push('?');
            } else {
                s.push('$');
                s.push_str(&(r * cols + c + 1).to_string());
            }
        }
        s.push(')');
    }
    s
}

/// `$first, ...` for `n` values (`?, ...` on SQLite, see [`values`]).
fn list(first: usize, n: usize, anonymous: bool) -> String {
    (first..first + n)
        .map(|i| {
            if anonymous {
                "?".to_string()
            } else {
                format!("${i}")
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn corrupt(e: serde_json::Error) -> StoreError {
    StoreError::Corrupt(e.to_string())
}

/// Judges each row: inserted (the first row of its key that the insert returned), or a replay of the stored one.
fn judge<K: std::hash::Hash + Eq + Clone>(
    keys: &[K],
    ids: &[Uuid],
    fingerprints: &[&RequestFingerprint],
    mut inserted: HashSet<K>,
    stored: &HashMap<K, (Uuid, String)>,
) -> std::result::Result<Vec<Ingested>, Vec<usize>> {
    let mut out = Vec::with_capacity(keys.len());
    let mut reused = Vec::new();
    for (i, k) in keys.iter().enumerate() {
        if inserted.remove(k) {
            out.push(Ingested {
                id: ids[i],
                duplicate: false,
            });
            continue;
        }
        match stored.get(k) {
            Some((id, hash)) => match Replay::of(Some(hash), fingerprints[i]) {
                Replay::Same => out.push(Ingested {
                    id: *id,
                    duplicate: true,
                }),
                Replay::Reused => reused.push(i),
            },
            None => {
                return Err(vec![i]);
            }
        }
    }
    if reused.is_empty() {
        Ok(out)
    } else {
        Err(reused)
    }
}

/// The columns a bulk write gives an event, in `COPY` order.
const EVENT_COLUMNS: &str = "org_id, id, type, source, occurred_at, received_at, service_id, touchpoint_id, \
                             person_key, reference_key, measures, attributes, external_id, request_hash";

/// Appends `s` to a `COPY` text-format line: backslash, tab, line feed and carriage return escaped as PostgreSQL
/// reads them (<https://www.postgresql.org/docs/current/sql-copy.html>, "Text Format").
fn copy_text(out: &mut Vec<u8>, s: &str) {
    for b in s.bytes() {
        match b {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\t' => out.extend_from_slice(b"\\t"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            _ => out.push(b),
        }
    }
}

/// A nullable `COPY` text field: `\N` for none.
fn copy_opt(out: &mut Vec<u8>, s: Option<&str>) {
    match s {
        Some(s) => copy_text(out, s),
        None => out.extend_from_slice(b"\\N"),
    }
}

/// One event as a `COPY` text-format line of [`EVENT_COLUMNS`].
fn copy_event(out: &mut Vec<u8>, e: &NewEvent) -> Result<()> {
    use std::io::Write as _;
    let uuid = |out: &mut Vec<u8>, u: Option<&Uuid>| match u {
        Some(u) => {
            write!(out, "{}", u.hyphenated()).expect("writing to a Vec");
        }
        None => out.extend_from_slice(b"\\N"),
    };
    uuid(out, Some(e.org_id.as_uuid()));
    out.push(b'\t');
    uuid(out, Some(e.id.as_uuid()));
    out.push(b'\t');
    copy_text(out, &e.event_type);
    out.push(b'\t');
    copy_text(out, &e.source);
    write!(out, "\t{}\t{}\t", e.occurred_at, e.received_at).expect("writing to a Vec");
    uuid(out, e.service_id.as_ref().map(|x| x.as_uuid()));
    out.push(b'\t');
    uuid(out, e.touchpoint_id.as_ref().map(|x| x.as_uuid()));
    out.push(b'\t');
    copy_opt(out, e.person_key.as_ref().map(|k| k.0.as_str()));
    out.push(b'\t');
    copy_opt(out, e.reference_key.as_ref().map(|k| k.0.as_str()));
    out.push(b'\t');
    copy_text(out, &serde_json::to_string(&e.measures).map_err(corrupt)?);
    out.push(b'\t');
    copy_text(out, &serde_json::to_string(&e.attributes).map_err(corrupt)?);
    out.push(b'\t');
    copy_text(out, &e.external_id);
    out.push(b'\t');
    copy_text(out, e.request_fingerprint.as_str());
    out.push(b'\n');
    Ok(())
}

/// PostgreSQL: stores a batch's events by `COPY` into a staging table of the transaction (no indexes, dropped at
/// commit), then one `INSERT ... SELECT ... ON CONFLICT (org_id, external_id) DO NOTHING RETURNING external_id`, the
/// same outcome as the multi-row statements (a key stored already, or twice in the batch, is left for [`judge`]) at
/// a fraction of the cost: one statement, no parameters, rows parsed by `COPY`. Returns the keys it stored.
async fn pg_copy_events(
    t: &mut sqlx::Transaction<'static, sqlx::Postgres>,
    items: &[NewEvent],
) -> Result<HashSet<String>> {
    sqlx::query(
        "CREATE TEMPORARY TABLE bulk_events (LIKE events INCLUDING DEFAULTS) ON COMMIT DROP",
    )
    .execute(&mut **t)
    .await?;
    {
        let mut copy = t
            .copy_in_raw(&format!(
                "COPY bulk_events ({EVENT_COLUMNS}) FROM STDIN (FORMAT text)"
            ))
            .await?;
        let mut buf = Vec::with_capacity(1 << 20);
        for chunk in items.chunks(ROWS_PER_STATEMENT) {
            buf.clear();
            for e in chunk {
                copy_event(&mut buf, e)?;
            }
            copy.send(buf.as_slice()).await?;
        }
        copy.finish().await?;
    }
    let keys: Vec<(String,)> = sqlx::query_as(&format!(
        "INSERT INTO events ({EVENT_COLUMNS}) SELECT {EVENT_COLUMNS} FROM bulk_events \
         ON CONFLICT (org_id, external_id) DO NOTHING RETURNING external_id"
    ))
    .fetch_all(&mut **t)
    .await?;
    // Dropped now rather than at commit, so a second batch in the same transaction could make it again.
    sqlx::query("DROP TABLE bulk_events")
        .execute(&mut **t)
        .await?;
    Ok(keys.into_iter().map(|(k,)| k).collect())
}

/// SQLite: stores a batch's events as multi-row `INSERT OR IGNORE` statements of up to [`ROWS_PER_STATEMENT`] rows.
/// Returns the keys of the statements that stored every row they were given, the indexes (into
/// `items.chunks(ROWS_PER_STATEMENT)`) of those that stored fewer, to be looked up, and the largest rowid of the
/// events before the batch: a row of the batch has a larger one (SQLite gives a new row the largest rowid plus one
/// while that is below 2^63 - 1; the transaction's snapshot holds it, a write after another's commit fails busy).
async fn sqlite_insert_events(
    t: &mut sqlx::Transaction<'static, sqlx::Sqlite>,
    items: &[NewEvent],
) -> Result<(HashSet<String>, Vec<usize>, i64)> {
    let (before,): (i64,) = sqlx::query_as("SELECT COALESCE(MAX(rowid), 0) FROM events")
        .fetch_one(&mut **t)
        .await?;
    let mut inserted = HashSet::new();
    let mut partial = Vec::new();
    let chunks: Vec<&[NewEvent]> = items.chunks(ROWS_PER_STATEMENT).collect();
    // `OR IGNORE` (the same outcome here: every NOT NULL column is bound from a value, and a fresh id that met a
    // stored one would be missing from the stored keys, which refuses the batch in `judge`) lets the statement run
    // without a statement journal: an `ON CONFLICT` insert of many rows may abort halfway, so SQLite first copies
    // every page it changes (measured: a tenth of the whole import's time).
    let sqls: Vec<String> = chunks
        .iter()
        .map(|chunk| {
            format!(
                "INSERT OR IGNORE INTO events ({EVENT_COLUMNS}) VALUES {}",
                values(14, chunk.len(), true)
            )
        })
        .collect();
    // The next statement's parameters (JSON text made, strings copied) are bound while the database runs the
    // current one: the two overlap on two cores instead of taking turns.
    let build = |i: usize| -> Result<_> {
        let mut q = sqlx::query(&sqls[i]);
        for e in chunks[i] {
            q = q
                .bind(e.org_id.as_uuid())
                .bind(e.id.as_uuid())
                .bind(&e.event_type)
                .bind(&e.source)
                .bind(e.occurred_at)
                .bind(e.received_at)
                .bind(e.service_id.map(|x| *x.as_uuid()))
                .bind(e.touchpoint_id.map(|x| *x.as_uuid()))
                .bind(e.person_key.as_ref().map(|k| k.0.as_str()))
                .bind(e.reference_key.as_ref().map(|k| k.0.as_str()))
                .bind(serde_json::to_string(&e.measures).map_err(corrupt)?)
                .bind(serde_json::to_string(&e.attributes).map_err(corrupt)?)
                .bind(&e.external_id)
                .bind(e.request_fingerprint.as_str());
        }
        Ok(q)
    };
    let mut next = if chunks.is_empty() {
        None
    } else {
        Some(build(0)?)
    };
    let mut i = 0;
    while let Some(q) = next.take() {
        let (count, built) = futures_util::future::join(q.execute(&mut **t), async {
            (i + 1 < chunks.len()).then(|| build(i + 1)).transpose()
        })
        .await;
        if count?.rows_affected() as usize == chunks[i].len() {
            inserted.extend(chunks[i].iter().map(|e| e.external_id.clone()));
        } else {
            partial.push(i);
        }
        next = built?;
        i += 1;
    }
    Ok((inserted, partial, before))
}

impl Store {
    /// Finds the import of `content_hash` (for `org` and `kind`), or starts one at position 0.
    pub async fn open_import(
        &self,
        org: OrgId,
        kind: &str,
        content_hash: &str,
        name: &str,
        now: i64,
    ) -> Result<ImportRun> {
        let mut tx = self.begin().await?;
        let id = Uuid::now_v7();
        let n = on_tx!(tx, t => sqlx::query(
            "INSERT INTO imports (org_id, id, kind, content_hash, name, started_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $6) ON CONFLICT (org_id, kind, content_hash) DO NOTHING")
            .bind(org.as_uuid()).bind(id).bind(kind).bind(content_hash).bind(name).bind(now)
            .execute(&mut **t).await.map(|r| r.rows_affected()))?;
        type Row = (Uuid, i64, i64, i64, i64, i64, Option<i64>);
        let row: Row = on_tx!(tx, t => sqlx::query_as(
            "SELECT id, position, CAST(batches AS BIGINT), created_rows, duplicate_rows, refused_rows, finished_at \
             FROM imports WHERE org_id = $1 AND kind = $2 AND content_hash = $3")
            .bind(org.as_uuid()).bind(kind).bind(content_hash)
            .fetch_one(&mut **t).await)?;
        tx.commit().await?;
        Ok(ImportRun {
            org_id: org,
            id: row.0,
            position: row.1,
            batches: row.2,
            created_rows: row.3,
            duplicate_rows: row.4,
            refused_rows: row.5,
            finished_at: row.6,
            new: n == 1,
        })
    }

    /// Counts a refused batch's rows on its import (nothing else changes: its position stays where the last
    /// committed batch left it).
    pub async fn note_refused_rows(
        &self,
        org: OrgId,
        import: Uuid,
        rows: i64,
        now: i64,
    ) -> Result<()> {
        crate::on_pool!(self, p => sqlx::query(
            "UPDATE imports SET refused_rows = refused_rows + $3, updated_at = $4 WHERE org_id = $1 AND id = $2")
            .bind(org.as_uuid()).bind(import).bind(rows).bind(now)
            .execute(p).await.map(|_| ()))?;
        Ok(())
    }

    /// Marks an import's whole file read.
    pub async fn finish_import(&self, org: OrgId, import: Uuid, now: i64) -> Result<()> {
        crate::on_pool!(self, p => sqlx::query(
            "UPDATE imports SET finished_at = $3, updated_at = $3 WHERE org_id = $1 AND id = $2")
            .bind(org.as_uuid()).bind(import).bind(now)
            .execute(p).await.map(|_| ()))?;
        Ok(())
    }

    /// An import's record, by id.
    pub async fn import_run(&self, org: OrgId, import: Uuid) -> Result<ImportRun> {
        type Row = (Uuid, i64, i64, i64, i64, i64, Option<i64>);
        let row: Option<Row> = crate::on_pool!(self, p => sqlx::query_as(
            "SELECT id, position, CAST(batches AS BIGINT), created_rows, duplicate_rows, refused_rows, finished_at \
             FROM imports WHERE org_id = $1 AND id = $2")
            .bind(org.as_uuid()).bind(import).fetch_optional(p).await)?;
        let row = row.ok_or(StoreError::NotFound)?;
        Ok(ImportRun {
            org_id: org,
            id: row.0,
            position: row.1,
            batches: row.2,
            created_rows: row.3,
            duplicate_rows: row.4,
            refused_rows: row.5,
            finished_at: row.6,
            new: false,
        })
    }

    /// Writes one batch in one transaction (see the module): the rows, the jobs `jobs` makes from the ids of the rows
    /// actually created, and the import's new position when `mark` is given. Every row must be `org`'s.
    pub async fn bulk_write(
        &self,
        org: OrgId,
        rows: BulkRows<'_>,
        mark: Option<BatchMark>,
        jobs: impl FnOnce(&[Uuid]) -> Vec<NewJob>,
    ) -> Result<BulkOutcome> {
        if rows.org().is_some_and(|o| o != org) {
            return Err(StoreError::Config(
                "a bulk batch holds another organization's rows".into(),
            ));
        }
        let mut tx = self.begin().await?;
        let anon = matches!(tx.inner, crate::jobs::TxInner::Sqlite(_));
        if let crate::jobs::TxInner::Sqlite(t) = &mut tx.inner {
            // A large import inserts into the events' person and type indexes in random order; with the default
            // 32 MB page cache those inserts read and spill pages once the tables outgrow it (measured: the rate
            // fell by more than half between 30,000 and 1,000,000 events). The cache is allocated only as used.
            sqlx::query(BULK_CACHE_PRAGMA).execute(&mut **t).await?;
            sqlx::query(BULK_CHECKPOINT_PRAGMA)
                .execute(&mut **t)
                .await?;
        }
        let judged = match rows {
            BulkRows::Events(items) => {
                debug_assert!(items.iter().all(|e| e.org_id == org));
                // Statements (on SQLite) that stored fewer rows than they were given.
                let (mut inserted, partial, before) = match &mut tx.inner {
                    crate::jobs::TxInner::Postgres(t) => {
                        (pg_copy_events(t, items).await?, Vec::new(), 0)
                    }
                    crate::jobs::TxInner::Sqlite(t) => sqlite_insert_events(t, items).await?,
                };
                let chunks: Vec<&[NewEvent]> = items.chunks(ROWS_PER_STATEMENT).collect();
                // A statement that stored fewer rows than it was given: its stored rows are those with the id this
                // batch gave and a rowid above the largest before it, the same set `RETURNING` would have named. The
                // id alone is not enough: a batch sent again with the same prepared rows (a retry after a commit
                // whose answer was lost) gives the ids stored by the first sending.
                for i in partial {
                    let chunk = chunks[i];
                    let sql = format!(
                        "SELECT external_id, id FROM events WHERE org_id = {} AND rowid > {} AND external_id IN ({})",
                        list(1, 1, anon),
                        list(2, 1, anon),
                        list(3, chunk.len(), anon)
                    );
                    let found: Vec<(String, Uuid)> = on_tx!(tx, t => {
                        let mut q = sqlx::query_as(&sql).bind(org.as_uuid()).bind(before);
                        for e in chunk {
                            q = q.bind(e.external_id.as_str());
                        }
                        q.fetch_all(&mut **t).await
                    })?;
                    let ours: HashSet<(&str, Uuid)> = chunk
                        .iter()
                        .map(|e| (e.external_id.as_str(), *e.id.as_uuid()))
                        .collect();
                    inserted.extend(
                        found
                            .into_iter()
                            .filter(|(k, id)| ours.contains(&(k.as_str(), *id)))
                            .map(|(k, _)| k),
                    );
                }
                let keys: Vec<String> = items.iter().map(|e| e.external_id.clone()).collect();
                let missing: Vec<&String> =
                    keys.iter().filter(|k| !inserted.contains(*k)).collect();
                let mut stored = HashMap::new();
                for chunk in missing.chunks(ROWS_PER_STATEMENT) {
                    let sql = format!(
                        "SELECT external_id, id, request_hash FROM events WHERE org_id = {} AND external_id IN ({})",
                        list(1, 1, anon),
                        list(2, chunk.len(), anon)
                    );
                    let found: Vec<(String, Uuid, String)> = on_tx!(tx, t => {
                        let mut q = sqlx::query_as(&sql).bind(org.as_uuid());
                        for k in chunk {
                            q = q.bind(k.as_str());
                        }
                        q.fetch_all(&mut **t).await
                    })?;
                    stored.extend(found.into_iter().map(|(k, id, h)| (k, (id, h))));
                }
                let ids: Vec<Uuid> = items.iter().map(|e| *e.id.as_uuid()).collect();
                let fps: Vec<&RequestFingerprint> =
                    items.iter().map(|e| &e.request_fingerprint).collect();
                judge(&keys, &ids, &fps, inserted, &stored)
            }
            BulkRows::Signals(items) => {
                let mut inserted = HashSet::new();
                for chunk in items.chunks(ROWS_PER_STATEMENT) {
                    let sql = format!(
                        "INSERT INTO signals (org_id, id, source, author, service_id, touchpoint_id, external_id, \
                         request_hash, url, rating, language, text, turns, enrichment, sentiment, themes, urgent, \
                         person_key, reference_key, occurred_at, received_at) \
                         VALUES {} ON CONFLICT (org_id, source, external_id) DO NOTHING RETURNING source, external_id",
                        values(21, chunk.len(), anon)
                    );
                    let got: Vec<(String, String)> = on_tx!(tx, t => {
                        let mut q = sqlx::query_as(&sql);
                        for s in chunk {
                            let turns = (!s.turns.is_empty()).then(|| serde_json::to_string(&s.turns)).transpose().map_err(corrupt)?;
                            q = q.bind(s.org_id.as_uuid()).bind(s.id.as_uuid()).bind(s.source.key()).bind(s.author.key())
                                .bind(s.service_id.map(|x| *x.as_uuid())).bind(s.touchpoint_id.map(|x| *x.as_uuid()))
                                .bind(&s.external_id).bind(s.request_fingerprint.as_str()).bind(s.url.as_deref()).bind(s.rating)
                                .bind(&s.language).bind(&s.text).bind(turns)
                                .bind(s.enrichment.as_ref().map(|e| e.to_string()))
                                .bind(s.sentiment.as_deref())
                                .bind((!s.themes.is_empty()).then(|| format!(",{},", s.themes.join(","))))
                                .bind(s.urgent)
                                .bind(s.person_key.as_ref().map(|k| k.0.as_str()))
                                .bind(s.reference_key.as_ref().map(|k| k.0.as_str()))
                                .bind(s.occurred_at).bind(s.received_at);
                        }
                        q.fetch_all(&mut **t).await
                    })?;
                    inserted.extend(got);
                }
                let keys: Vec<(String, String)> = items
                    .iter()
                    .map(|s| (s.source.key().to_string(), s.external_id.clone()))
                    .collect();
                let mut stored = HashMap::new();
                for k in keys.iter().filter(|k| !inserted.contains(*k)) {
                    let found: Option<(Uuid, String)> = on_tx!(tx, t => sqlx::query_as(
                        "SELECT id, request_hash FROM signals WHERE org_id = $1 AND source = $2 AND external_id = $3")
                        .bind(org.as_uuid()).bind(k.0.as_str()).bind(k.1.as_str())
                        .fetch_optional(&mut **t).await)?;
                    if let Some(f) = found {
                        stored.insert(k.clone(), f);
                    }
                }
                let ids: Vec<Uuid> = items.iter().map(|s| *s.id.as_uuid()).collect();
                let fps: Vec<&RequestFingerprint> =
                    items.iter().map(|s| &s.request_fingerprint).collect();
                judge(&keys, &ids, &fps, inserted, &stored)
            }
            BulkRows::Responses(items) => {
                let mut inserted = HashSet::new();
                for chunk in items.chunks(ROWS_PER_STATEMENT) {
                    let sql = format!(
                        "INSERT INTO responses (org_id, id, survey_id, survey_version, service_id, touchpoint_id, channel, \
                         language, page_path, submitted_at, idempotency_key, answers, trust, trust_positive, person_key, \
                         enrichment, sentiment, themes, urgent, request_hash) \
                         VALUES {} ON CONFLICT (org_id, survey_id, idempotency_key) DO NOTHING \
                         RETURNING survey_id, idempotency_key",
                        values(20, chunk.len(), anon)
                    );
                    let got: Vec<(Uuid, String)> = on_tx!(tx, t => {
                        let mut q = sqlx::query_as(&sql);
                        for r in chunk {
                            q = q.bind(r.org_id.as_uuid()).bind(r.id.as_uuid()).bind(r.survey_id.as_uuid())
                                .bind(r.survey_version).bind(r.service_id.as_uuid())
                                .bind(r.touchpoint_id.map(|t| *t.as_uuid())).bind(r.channel.key())
                                .bind(r.language.as_str()).bind(r.page_path.as_deref()).bind(r.submitted_at)
                                .bind(&r.idempotency_key)
                                .bind(serde_json::to_string(&r.answers).map_err(corrupt)?)
                                .bind(r.trust).bind(r.trust_positive).bind(r.person_key.as_deref())
                                .bind(r.enrichment.as_ref().map(|e| e.to_string()))
                                .bind(r.sentiment.as_deref())
                                .bind((!r.themes.is_empty()).then(|| format!(",{},", r.themes.join(","))))
                                .bind(r.urgent).bind(r.request_fingerprint.as_str());
                        }
                        q.fetch_all(&mut **t).await
                    })?;
                    inserted.extend(got);
                }
                let keys: Vec<(Uuid, String)> = items
                    .iter()
                    .map(|r| (*r.survey_id.as_uuid(), r.idempotency_key.clone()))
                    .collect();
                // Contacts and kept originals of the rows created, as the group-commit writer stores them.
                let mut created = inserted.clone();
                for r in items {
                    if !created.remove(&(*r.survey_id.as_uuid(), r.idempotency_key.clone())) {
                        continue;
                    }
                    for (table, list) in [
                        ("response_contacts", &r.contacts),
                        ("response_raw_text", &r.raw_texts),
                    ] {
                        for (question, sealed) in list {
                            let sql = format!(
                                "INSERT INTO {table} (org_id, response_id, question_id, sealed) VALUES ($1, $2, $3, $4)"
                            );
                            on_tx!(tx, t => sqlx::query(&sql)
                                .bind(r.org_id.as_uuid()).bind(r.id.as_uuid()).bind(question).bind(sealed)
                                .execute(&mut **t).await.map(|_| ()))?;
                        }
                    }
                }
                let mut stored = HashMap::new();
                for k in keys.iter().filter(|k| !inserted.contains(*k)) {
                    let found: Option<(Uuid, Option<String>)> = on_tx!(tx, t => sqlx::query_as(
                        "SELECT id, request_hash FROM responses WHERE org_id = $1 AND survey_id = $2 AND idempotency_key = $3")
                        .bind(org.as_uuid()).bind(k.0).bind(k.1.as_str())
                        .fetch_optional(&mut **t).await)?;
                    if let Some((id, hash)) = found {
                        // A response stored before fingerprints were kept has none: never a match.
                        stored.insert(k.clone(), (id, hash.unwrap_or_default()));
                    }
                }
                let ids: Vec<Uuid> = items.iter().map(|r| *r.id.as_uuid()).collect();
                let fps: Vec<&RequestFingerprint> =
                    items.iter().map(|r| &r.request_fingerprint).collect();
                judge(&keys, &ids, &fps, inserted, &stored)
            }
        };
        let results = match judged {
            Ok(r) => r,
            // Dropped without commit: the transaction rolls back and nothing of the batch is stored.
            Err(reused) => {
                pool_cache(&mut tx).await?;
                return Ok(BulkOutcome::Reused(reused));
            }
        };
        match rows {
            BulkRows::Responses(items) => add_to_rollups(&mut tx, org, items, &results).await?,
            BulkRows::Events(items) => add_to_event_rollups(&mut tx, org, items, &results).await?,
            BulkRows::Signals(_) => {}
        }
        batch_work(&mut tx, org, &results, mark, jobs).await?;
        // What follows new data (insights, journeys), in the data's commit (`after_data`).
        if results.iter().any(|r| !r.duplicate) {
            tx.enqueue(crate::after_data::job(org, crate::now_ms()))
                .await?;
        }
        pool_cache(&mut tx).await?;
        tx.commit().await?;
        Ok(BulkOutcome::Committed(results))
    }
}

/// The rest of a batch, in the batch's own transaction after its rows were stored and judged (so it commits with them
/// or not at all): the jobs its created rows cause and its import's new position. Per-batch work that must move
/// with the rows (rollups of what the batch created) belongs here, the one place for it.
async fn batch_work(
    tx: &mut crate::StoreTx,
    org: OrgId,
    results: &[Ingested],
    mark: Option<BatchMark>,
    jobs: impl FnOnce(&[Uuid]) -> Vec<NewJob>,
) -> Result<()> {
    let created: Vec<Uuid> = results
        .iter()
        .filter(|r| !r.duplicate)
        .map(|r| r.id)
        .collect();
    if !created.is_empty() {
        for job in jobs(&created) {
            tx.enqueue(job).await?;
        }
    }
    if let Some(m) = mark {
        let dups = results.len() - created.len();
        on_tx!(tx, t => sqlx::query(
            "UPDATE imports SET position = $3, batches = batches + 1, created_rows = created_rows + $4, \
             duplicate_rows = duplicate_rows + $5, updated_at = $6 WHERE org_id = $1 AND id = $2")
            .bind(org.as_uuid()).bind(m.import_id).bind(m.position)
            .bind(created.len() as i64).bind(dups as i64).bind(crate::now_ms())
            .execute(&mut **t).await.map(|_| ()))?;
    }
    Ok(())
}

/// The dashboards' rollups (`crate::rollups`) of the batch's created responses, in the batch's transaction: the
/// batch is aggregated in Rust first, then one upsert per distinct rollup key.
async fn add_to_rollups(
    tx: &mut crate::jobs::StoreTx,
    org: OrgId,
    items: &[NewResponse],
    results: &[Ingested],
) -> Result<()> {
    use crate::rollups::RollupTx;
    let created: Vec<&NewResponse> = items
        .iter()
        .zip(results)
        .filter(|(_, r)| !r.duplicate)
        .map(|(i, _)| i)
        .collect();
    on_tx!(tx, t => t.add_responses(org, &created).await)
}

/// The events page's rollups (`crate::event_rollups`) of the batch's created events, in the batch's transaction.
async fn add_to_event_rollups(
    tx: &mut crate::jobs::StoreTx,
    org: OrgId,
    items: &[NewEvent],
    results: &[Ingested],
) -> Result<()> {
    use crate::event_rollups::EventRollupTx;
    let created: Vec<&NewEvent> = items
        .iter()
        .zip(results)
        .filter(|(_, r)| !r.duplicate)
        .map(|(i, _)| i)
        .collect();
    on_tx!(tx, t => t.add_events(org, &created).await)
}

/// A signal stored without enrichment (bulk path, `Enrich::Later`): its id, language (`und` when not given) and
/// redacted text.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SignalText {
    pub id: Uuid,
    pub language: String,
    pub text: String,
}

/// A response stored without enrichment: where its definition is and its (redacted) answers as stored JSON.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ResponseText {
    pub id: Uuid,
    pub survey_id: Uuid,
    pub survey_version: i32,
    pub language: String,
    pub answers: String,
}

impl Store {
    /// Of `ids`, the signals of `org` that have no enrichment yet.
    pub async fn signals_awaiting_enrichment(
        &self,
        org: OrgId,
        ids: &[Uuid],
    ) -> Result<Vec<SignalText>> {
        self.awaiting_enrichment(org, ids, "id, language, text", "signals")
            .await
    }

    /// Of `ids`, the responses of `org` that have no enrichment yet.
    pub async fn responses_awaiting_enrichment(
        &self,
        org: OrgId,
        ids: &[Uuid],
    ) -> Result<Vec<ResponseText>> {
        self.awaiting_enrichment(
            org,
            ids,
            "id, survey_id, survey_version, language, answers",
            "responses",
        )
        .await
    }

    /// `columns` of the rows of `table` among `ids` (of `org`) with no enrichment yet, 500 ids to a query.
    async fn awaiting_enrichment<T>(
        &self,
        org: OrgId,
        ids: &[Uuid],
        columns: &str,
        table: &str,
    ) -> Result<Vec<T>>
    where
        T: for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow>
            + for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>
            + Send
            + Unpin,
    {
        let mut out = Vec::new();
        for chunk in ids.chunks(500) {
            let sql = format!(
                "SELECT {columns} FROM {table} WHERE org_id = $1 AND enrichment IS NULL AND id IN ({})",
                list(2, chunk.len(), false)
            );
            let rows: Vec<T> = crate::on_pool!(self, p => {
                let mut q = sqlx::query_as(&sql).bind(org.as_uuid());
                for id in chunk {
                    q = q.bind(*id);
                }
                q.fetch_all(p).await
            })?;
            out.extend(rows);
        }
        Ok(out)
    }
}

impl crate::StoreTx {
    /// Stores a signal's enrichment (the `imports.enrich` job). `urgent` only ever turns a flag on.
    #[allow(clippy::too_many_arguments)]
    pub async fn set_signal_enrichment(
        &mut self,
        org: OrgId,
        id: Uuid,
        language: &str,
        enrichment: &serde_json::Value,
        sentiment: Option<&str>,
        themes: &[String],
        urgent: bool,
    ) -> Result<()> {
        let themes = (!themes.is_empty()).then(|| format!(",{},", themes.join(",")));
        on_tx!(self, t => sqlx::query(
            "UPDATE signals SET language = $3, enrichment = $4, sentiment = $5, themes = $6, urgent = (urgent OR $7) \
             WHERE org_id = $1 AND id = $2")
            .bind(org.as_uuid()).bind(id).bind(language).bind(enrichment.to_string()).bind(sentiment)
            .bind(themes).bind(urgent)
            .execute(&mut **t).await.map(|_| ()))?;
        // Comment search and its theme rollups (`search`) took the signal as stored, without enrichment: made again
        // from the enriched row (the delete and insert triggers keep the rollups).
        on_tx!(self, t => sqlx::query("DELETE FROM comments WHERE org_id = $1 AND kind = 'signal' AND item_id = $2")
            .bind(org.as_uuid()).bind(id).execute(&mut **t).await.map(|_| ()))?;
        on_tx!(self, t => sqlx::query(
            "INSERT INTO comments (org_id, kind, item_id, service_id, at_ms, language, sentiment, themes, body) \
             SELECT org_id, 'signal', id, service_id, occurred_at, language, sentiment, themes, text FROM signals \
             WHERE org_id = $1 AND id = $2 AND text <> ''")
            .bind(org.as_uuid()).bind(id).execute(&mut **t).await.map(|_| ()))?;
        Ok(())
    }

    /// Stores a response's enrichment (the `imports.enrich` job). `urgent` only ever turns a flag on. `comment` is
    /// its enriched free-text answers joined by line feeds, as comment search keeps them (`search`).
    #[allow(clippy::too_many_arguments)]
    pub async fn set_response_enrichment(
        &mut self,
        org: OrgId,
        id: Uuid,
        comment: Option<&str>,
        enrichment: Option<&serde_json::Value>,
        sentiment: Option<&str>,
        themes: &[String],
        urgent: bool,
    ) -> Result<()> {
        let themes = (!themes.is_empty()).then(|| format!(",{},", themes.join(",")));
        on_tx!(self, t => sqlx::query(
            "UPDATE responses SET enrichment = $3, sentiment = $4, themes = $5, urgent = (urgent OR $6) \
             WHERE org_id = $1 AND id = $2")
            .bind(org.as_uuid()).bind(id).bind(enrichment.map(|e| e.to_string())).bind(sentiment)
            .bind(themes).bind(urgent)
            .execute(&mut **t).await.map(|_| ()))?;
        // Stored without enrichment, the response had no comment row (the insert trigger waits for enrichment).
        if let Some(body) = comment.filter(|b| !b.is_empty()) {
            on_tx!(self, t => sqlx::query("DELETE FROM comments WHERE org_id = $1 AND kind = 'response' AND item_id = $2")
                .bind(org.as_uuid()).bind(id).execute(&mut **t).await.map(|_| ()))?;
            on_tx!(self, t => sqlx::query(
                "INSERT INTO comments (org_id, kind, item_id, service_id, at_ms, language, sentiment, themes, body) \
                 SELECT org_id, 'response', id, service_id, submitted_at, language, sentiment, themes, $3 \
                 FROM responses WHERE org_id = $1 AND id = $2")
                .bind(org.as_uuid()).bind(id).bind(body).execute(&mut **t).await.map(|_| ()))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_number_rows_then_columns() {
        assert_eq!(values(2, 2, false), "($1, $2), ($3, $4)");
        assert_eq!(values(2, 1, true), "(?, ?)");
        assert_eq!(list(2, 3, false), "$2, $3, $4");
    }

    #[test]
    fn copy_text_escapes_what_copy_reads_as_escapes() {
        let mut out = Vec::new();
        copy_text(&mut out, "a\\b\tc\nd\re \\N");
        assert_eq!(out, b"a\\\\b\\tc\\nd\\re \\\\N");
        out.clear();
        copy_opt(&mut out, None);
        copy_opt(&mut out, Some("x"));
        assert_eq!(out, b"\\Nx");
    }
}
