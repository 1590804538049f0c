//! Migrations that change stored data, checked on rows written before them, on SQLite and PostgreSQL.

use heard_store::{DatabaseUrl, Store, StoreOptions};
use sqlx::Connection;
use uuid::Uuid;

/// A migrator holding the migrations before `before` (a file name prefix such as "0005"), from the backend's folder.
async fn migrations_before(
    backend: &str,
    before: &str,
) -> (sqlx::migrate::Migrator, tempfile::TempDir) {
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("migrations")
        .join(backend);
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(&src).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().into_string().unwrap();
        if name.as_str() < before {
            std::fs::copy(entry.path(), dir.path().join(&name)).unwrap();
        }
    }
    (sqlx::migrate::Migrator::new(dir.path()).await.unwrap(), dir)
}

/// Rows as Heard wrote them before responses took their channel from where they arrived: a widget response about an
/// office (page path, the office's channel), an API response that stated "phone", and a web-page response that
/// stated its own channel. Returns nothing; the keys name them.
macro_rules! seed_old_rows {
    ($pool:expr) => {{
        let (org, svc, office) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        sqlx::query("INSERT INTO organizations (id, name, slug, created_at) VALUES ($1, 'A', 'a', 0)")
            .bind(org)
            .execute($pool)
            .await
            .unwrap();
        sqlx::query("INSERT INTO services (org_id, id, name, description, created_at) VALUES ($1, $2, '{}', '{}', 0)")
            .bind(org)
            .bind(svc)
            .execute($pool)
            .await
            .unwrap();
        sqlx::query("INSERT INTO touchpoints (org_id, id, service_id, name, channel, created_at) VALUES ($1, $2, $3, '{}', 'in_person', 0)")
            .bind(org)
            .bind(office)
            .bind(svc)
            .execute($pool)
            .await
            .unwrap();
        for (key, channel, page_path) in [
            ("widget-about-office", "in_person", Some("/visit")),
            ("api-stated-phone", "phone", None),
            ("page-stated-sms", "sms_text_messages", Some("/s/a/x")),
        ] {
            sqlx::query(
                "INSERT INTO responses (org_id, id, survey_id, survey_version, service_id, touchpoint_id, channel, language, \
                 page_path, submitted_at, idempotency_key, answers) VALUES ($1, $2, $3, 1, $4, $5, $6, 'en', $7, 0, $8, '{}')",
            )
            .bind(org)
            .bind(Uuid::now_v7())
            .bind(Uuid::now_v7())
            .bind(svc)
            .bind(office)
            .bind(channel)
            .bind(page_path)
            .bind(key)
            .execute($pool)
            .await
            .unwrap();
        }
    }};
}

const CHANNELS: &str = "SELECT idempotency_key, channel FROM responses ORDER BY idempotency_key";

fn expected() -> Vec<(String, String)> {
    [
        ("api-stated-phone", "phone"),
        ("page-stated-sms", "sms_text_messages"),
        ("widget-about-office", "website"),
    ]
    .iter()
    .map(|(k, c)| (k.to_string(), c.to_string()))
    .collect()
}

#[tokio::test]
async fn web_page_responses_stored_with_their_touchpoints_channel_move_to_website_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let url = DatabaseUrl::sqlite_in(dir.path());
    let DatabaseUrl::Sqlite(path) = &url else {
        unreachable!()
    };
    let (old, _keep) = migrations_before("sqlite", "0005").await;
    {
        let opts = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true);
        let pool = sqlx::SqlitePool::connect_with(opts).await.unwrap();
        old.run(&pool).await.unwrap();
        seed_old_rows!(&pool);
        pool.close().await;
    }
    let store = Store::open(&url, StoreOptions::default()).await.unwrap();
    store.close().await;
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    let rows: Vec<(String, String)> = sqlx::query_as(CHANNELS).fetch_all(&pool).await.unwrap();
    assert_eq!(rows, expected());
}

#[tokio::test]
async fn web_page_responses_stored_with_their_touchpoints_channel_move_to_website_postgres() {
    let admin = std::env::var("HEARD_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let mut conn = sqlx::PgConnection::connect(&admin).await.unwrap();
    let name = format!("heard_test_{}", Uuid::new_v4().simple());
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await
        .unwrap();
    let db_url = format!("{}/{name}", admin.rsplit_once('/').unwrap().0);
    let (old, _keep) = migrations_before("postgres", "0005").await;
    {
        let pool = sqlx::PgPool::connect(&db_url).await.unwrap();
        old.run(&pool).await.unwrap();
        seed_old_rows!(&pool);
        pool.close().await;
    }
    let store = Store::open(
        &DatabaseUrl::parse(&db_url).unwrap(),
        StoreOptions::default(),
    )
    .await
    .unwrap();
    store.close().await;
    let pool = sqlx::PgPool::connect(&db_url).await.unwrap();
    let rows: Vec<(String, String)> = sqlx::query_as(CHANNELS).fetch_all(&pool).await.unwrap();
    assert_eq!(rows, expected());
}

/// A case's history is append-only in the database itself: an UPDATE of any entry fails, and the entry is as
/// written.
macro_rules! history_refuses_updates {
    ($pool:expr) => {{
        let org = Uuid::now_v7();
        sqlx::query("INSERT INTO organizations (id, name, slug, created_at) VALUES ($1, 'A', 'a', 0)")
            .bind(org)
            .execute($pool)
            .await
            .unwrap();
        sqlx::query(
            "INSERT INTO case_history (org_id, case_id, seq, at, kind, value) VALUES ($1, $2, 1, 0, 'status', 'open')",
        )
        .bind(org)
        .bind(Uuid::now_v7())
        .execute($pool)
        .await
        .unwrap();
        let err = sqlx::query("UPDATE case_history SET value = 'closed'")
            .execute($pool)
            .await
            .unwrap_err();
        assert!(err.to_string().contains("append-only"), "{err}");
        let v: String = sqlx::query_scalar("SELECT value FROM case_history")
            .fetch_one($pool)
            .await
            .unwrap();
        assert_eq!(v, "open");
    }};
}

#[tokio::test]
async fn case_history_refuses_updates_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let url = DatabaseUrl::sqlite_in(dir.path());
    let DatabaseUrl::Sqlite(path) = &url else {
        unreachable!()
    };
    let store = Store::open(&url, StoreOptions::default()).await.unwrap();
    store.close().await;
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    history_refuses_updates!(&pool);
}

#[tokio::test]
async fn case_history_refuses_updates_postgres() {
    let admin = std::env::var("HEARD_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let mut conn = sqlx::PgConnection::connect(&admin).await.unwrap();
    let name = format!("heard_test_{}", Uuid::new_v4().simple());
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await
        .unwrap();
    let db_url = format!("{}/{name}", admin.rsplit_once('/').unwrap().0);
    let store = Store::open(
        &DatabaseUrl::parse(&db_url).unwrap(),
        StoreOptions::default(),
    )
    .await
    .unwrap();
    store.close().await;
    let pool = sqlx::PgPool::connect(&db_url).await.unwrap();
    history_refuses_updates!(&pool);
}
