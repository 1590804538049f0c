//! Heard's storage: one `Store` API over SQLite (embedded default) and PostgreSQL (production).
//!
//! Callers never see the backend: every query is written once with `$n` placeholders (which both engines accept) and
//! run through the `on_pool!` macro, which type-checks the same body against each pool. Backend differences (DDL,
//! transaction start, pragmas) stay in this crate. Responses are written by a group-commit writer (`writer`): many
//! submissions share one durable commit, so a 2xx always means "on disk" without paying one fsync per response.

pub mod accounts;
pub mod after_data;
pub mod amazon_connect;
pub mod bulk;
pub mod callbacks;
pub mod cases;
pub mod catalog;
pub mod event_log;
pub mod event_rollups;
pub mod extract;
pub mod inbox;
pub mod insight_rows;
pub mod intake;
pub mod jobs;
pub mod journeys;
pub mod myagency;
pub mod outreach;
pub mod outreach_figures;
pub mod outreach_queue;
pub mod records;
pub mod responses;
pub mod rollups;
pub mod rules;
pub mod search;
pub mod senders;
pub mod sms;
pub mod snapshots;
pub mod throttle;
pub mod webhooks;
mod writer;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

pub use jobs::StoreTx;
pub use records::*;
pub use writer::Submitted;

/// Where the data lives, parsed once at start-up so a PostgreSQL URL can never reach SQLite code or the reverse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    /// A SQLite database file.
    Sqlite(PathBuf),
    /// A `postgres://` URL.
    Postgres(String),
}

impl DatabaseUrl {
    pub fn parse(s: &str) -> Result<DatabaseUrl, StoreError> {
        if s.starts_with("postgres://") || s.starts_with("postgresql://") {
            Ok(DatabaseUrl::Postgres(s.to_string()))
        } else if let Some(path) = s
            .strip_prefix("sqlite://")
            .or_else(|| s.strip_prefix("sqlite:"))
        {
            Ok(DatabaseUrl::Sqlite(PathBuf::from(path)))
        } else {
            Err(StoreError::Config(format!(
                "database URL must start with postgres:// or sqlite:, got '{}'",
                s.split(':').next().unwrap_or("")
            )))
        }
    }

    /// The SQLite file inside a data directory.
    pub fn sqlite_in(dir: &Path) -> DatabaseUrl {
        DatabaseUrl::Sqlite(dir.join("heard.sqlite"))
    }

    pub fn backend_name(&self) -> &'static str {
        match self {
            DatabaseUrl::Sqlite(_) => "sqlite",
            DatabaseUrl::Postgres(_) => "postgres",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    #[error("{0}")]
    Conflict(String),
    #[error("configuration: {0}")]
    Config(String),
    /// The database could not be opened or reached at start: which one (host and port, or file) and why, in words.
    #[error("cannot connect to {backend} at {place}: {cause}")]
    Connect {
        backend: &'static str,
        place: String,
        cause: String,
    },
    #[error("stored data could not be read: {0}")]
    Corrupt(String),
    /// A keyed write's idempotency key was already used for a different request; nothing was stored
    /// (`heard_domain::idempotency`).
    #[error("the idempotency key was already used for a different request")]
    IdempotencyKeyReused,
    #[error("the response writer has stopped")]
    WriterGone,
    /// A response through an email invitation's link found the invitation answered, ended or expired: nothing was
    /// stored (`Store::submit_invited`).
    #[error("this invitation was already answered, or it has ended or expired")]
    InvitationUsed,
    /// The input was refused, each problem naming its field; nothing was written.
    #[error("{0}")]
    Invalid(heard_domain::FieldErrors),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

impl StoreError {
    /// Maps a unique-constraint violation to `Conflict` with a sentence for people.
    pub(crate) fn conflict_or(e: sqlx::Error, what: &str) -> StoreError {
        match &e {
            sqlx::Error::Database(db) if db.is_unique_violation() => {
                StoreError::Conflict(what.to_string())
            }
            _ => StoreError::Database(e),
        }
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

#[derive(Clone, Debug)]
pub(crate) enum Backend {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Runs the same body against whichever pool the store has; `$pool` is bound to `&SqlitePool` or `&PgPool`.
macro_rules! on_pool {
    ($store:expr, $pool:ident => $body:expr) => {
        match &$store.backend {
            $crate::Backend::Sqlite($pool) => $body,
            $crate::Backend::Postgres($pool) => $body,
        }
    };
}
pub(crate) use on_pool;

/// Starting a write transaction differs: SQLite must take the write lock up front (`BEGIN IMMEDIATE`), or two
/// deferred transactions that both read first fail with "database is locked" instead of waiting.
pub(crate) trait WritePool {
    type Db: sqlx::Database;
    fn begin_write(
        &self,
    ) -> impl std::future::Future<Output = sqlx::Result<sqlx::Transaction<'static, Self::Db>>> + Send;
}
impl WritePool for SqlitePool {
    type Db = sqlx::Sqlite;
    async fn begin_write(&self) -> sqlx::Result<sqlx::Transaction<'static, sqlx::Sqlite>> {
        self.begin_with("BEGIN IMMEDIATE").await
    }
}
impl WritePool for PgPool {
    type Db = sqlx::Postgres;
    async fn begin_write(&self) -> sqlx::Result<sqlx::Transaction<'static, sqlx::Postgres>> {
        self.begin().await
    }
}

/// The storage API. Cheap to clone; all clones share the pools and the response writer.
#[derive(Clone)]
pub struct Store {
    pub(crate) backend: Backend,
    writer: writer::WriterHandle,
}

/// The page cache of each pooled SQLite connection (negative: KiB): 4 MB. Each connection keeps its own cache and
/// fills it up to this size as it reads, so the server's resident memory grows towards eight connections times this
/// (the pool's default `max_connections`) on top of about 40 MB for the process itself. With 12 MB per connection
/// the server peaked at 205 MB serving `heard bench dashboards` (the events page read raw events then); pages now
/// read the rollups, whose working set is a few MB at 10 million responses and 50 million events (one service's
/// weeks of `event_measure_days` is under 1 MB), and a page missing from this cache is read from the OS page cache,
/// not the disk. 8 x 4 MB keeps the server within its 150 MB budget. The bulk path raises its connection's cache for
/// the length of a batch and sets this back before the connection returns to the pool (`bulk.rs`).
pub(crate) const SQLITE_CACHE_PRAGMA_VALUE: &str = "-4000";

/// Options that tune the store; the defaults are what production wants.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    pub max_connections: u32,
    /// How many responses at most share one commit.
    pub max_batch: usize,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            max_connections: 8,
            max_batch: 512,
        }
    }
}

impl Store {
    /// Connects, runs pending migrations and starts the response writer.
    pub async fn open(url: &DatabaseUrl, opts: StoreOptions) -> Result<Store> {
        let backend = Self::connect(url, &opts).await?;
        let store_backend = backend.clone();
        migrate(&backend).await?;
        let writer = writer::spawn(store_backend, opts.max_batch);
        Ok(Store { backend, writer })
    }

    /// Runs pending migrations only (`heard migrate`); returns how many were applied.
    pub async fn migrate_only(url: &DatabaseUrl) -> Result<usize> {
        let backend = Self::connect(url, &StoreOptions::default()).await?;
        let before = applied_count(&backend).await;
        migrate(&backend).await?;
        let after = applied_count(&backend).await;
        Ok(after.saturating_sub(before))
    }

    async fn connect(url: &DatabaseUrl, opts: &StoreOptions) -> Result<Backend> {
        Ok(match url {
            DatabaseUrl::Sqlite(path) => {
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir).map_err(|e| {
                        StoreError::Config(format!(
                            "cannot create data directory {}: {e}",
                            dir.display()
                        ))
                    })?;
                }
                // WAL lets readers work while the writer commits; synchronous=FULL makes each commit durable
                // (NORMAL would lose the last commits on power loss, which would break "a 2xx is on disk").
                let options = SqliteConnectOptions::new()
                    .filename(path)
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Full)
                    .busy_timeout(Duration::from_secs(10))
                    .foreign_keys(true)
                    .pragma("cache_size", SQLITE_CACHE_PRAGMA_VALUE);
                let pool = SqlitePoolOptions::new()
                    .max_connections(opts.max_connections.max(2))
                    .connect_with(options)
                    .await
                    .map_err(|e| StoreError::Connect {
                        backend: "SQLite",
                        place: path.display().to_string(),
                        cause: cause_of(&e),
                    })?;
                Backend::Sqlite(pool)
            }
            DatabaseUrl::Postgres(u) => {
                let options = PgConnectOptions::from_str(u)?;
                let unreachable = |cause: String| StoreError::Connect {
                    backend: "PostgreSQL",
                    place: format!(
                        "{}:{} (database {})",
                        options.get_host(),
                        options.get_port(),
                        options.get_database().unwrap_or("default")
                    ),
                    cause,
                };
                // One plain connection first: a refused or unknown server fails here at once with its cause,
                // where the pool would retry until its acquire timeout and then say only "pool timed out". A server
                // that does not answer at all is given up on after CONNECT_TIMEOUT.
                use sqlx::Connection;
                let first = tokio::time::timeout(
                    CONNECT_TIMEOUT,
                    sqlx::PgConnection::connect_with(&options),
                )
                .await
                .map_err(|_| {
                    unreachable(format!(
                        "gave up after {} s without an answer",
                        CONNECT_TIMEOUT.as_secs()
                    ))
                })?
                .map_err(|e| unreachable(cause_of(&e)))?;
                first.close().await.ok();
                let pool = PgPoolOptions::new()
                    .max_connections(opts.max_connections.max(2))
                    .acquire_timeout(Duration::from_secs(10))
                    .connect_with(options.clone())
                    .await
                    .map_err(|e| unreachable(cause_of(&e)))?;
                Backend::Postgres(pool)
            }
        })
    }

    pub fn backend_name(&self) -> &'static str {
        match self.backend {
            Backend::Sqlite(_) => "sqlite",
            Backend::Postgres(_) => "postgres",
        }
    }

    /// Waits until every queued response is committed, then closes the pools.
    pub async fn close(self) {
        self.writer.shutdown().await;
        on_pool!(self, p => p.close().await);
    }

    /// A liveness check that touches the database.
    pub async fn ping(&self) -> Result<()> {
        on_pool!(self, p => sqlx::query("SELECT 1").execute(p).await.map(|_| ()))?;
        Ok(())
    }

    /// The raw insert rate baseline for `heard bench ingest`: inserts `rows` minimal responses in transactions of
    /// `batch` rows, at the same durability as the server, without HTTP or validation. Returns rows inserted.
    pub async fn bench_raw_insert(
        &self,
        template: &heard_domain::response::NewResponse,
        rows: usize,
        batch: usize,
    ) -> Result<usize> {
        let mut done = 0;
        while done < rows {
            let n = batch.min(rows - done);
            let mut chunk = Vec::with_capacity(n);
            for _ in 0..n {
                let mut r = template.clone();
                r.id = heard_domain::ResponseId::new();
                r.idempotency_key = r.id.to_string();
                chunk.push(r);
            }
            for r in writer::insert_batch(&self.backend, &chunk, &[]).await? {
                r?;
            }
            done += n;
        }
        Ok(done)
    }
}

/// How long the first connection to PostgreSQL may take before the server is called unreachable: 2 s (issue 16,
/// item 13), long enough for a server across a data centre and short enough that an operator is told at once.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// A connection error in words, once: sqlx's own message repeats its source's text after a prefix ("error
/// communicating with database: ..."), so the innermost cause is what a person needs.
fn cause_of(e: &sqlx::Error) -> String {
    match e {
        sqlx::Error::Database(db) => db.message().to_string(),
        sqlx::Error::Io(io) => io.to_string(),
        sqlx::Error::PoolTimedOut => "no connection could be opened in time".to_string(),
        other => {
            let mut cause: &dyn std::error::Error = other;
            while let Some(inner) = cause.source() {
                cause = inner;
            }
            cause.to_string()
        }
    }
}

async fn migrate(b: &Backend) -> Result<()> {
    match b {
        Backend::Sqlite(p) => sqlx::migrate!("./migrations/sqlite").run(p).await?,
        Backend::Postgres(p) => sqlx::migrate!("./migrations/postgres").run(p).await?,
    }
    Ok(())
}

async fn applied_count(b: &Backend) -> usize {
    let q = "SELECT COUNT(*) FROM _sqlx_migrations WHERE success";
    let n: std::result::Result<i64, _> = match b {
        Backend::Sqlite(p) => sqlx::query_scalar(q).fetch_one(p).await,
        Backend::Postgres(p) => sqlx::query_scalar(q).fetch_one(p).await,
    };
    n.unwrap_or(0) as usize
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
