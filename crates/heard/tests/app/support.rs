//! Test helpers: a real server on a free port over a fresh database (SQLite in a temp dir, or a new PostgreSQL
//! database on HEARD_TEST_POSTGRES_URL, default postgres://postgres@127.0.0.1:5432/postgres: required, not skipped),
//! seeded through the same store and pipeline the product uses.

use heard_domain::templates::{self, TrustScale};
use heard_domain::{Channel, LocalizedText, OrgId, Role};
use heard_server::{Application, Config};
use heard_store::catalog::NewSurvey;
use heard_store::{DatabaseUrl, Service, Store, StoreOptions, Survey, Touchpoint};
use reqwest::redirect::Policy;

pub const PASSWORD: &str = "correct horse battery staple";

#[derive(Clone, Copy, Debug)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub struct Tenant {
    pub org: OrgId,
    pub slug: String,
    pub admin_email: String,
    pub service: Service,
    #[allow(dead_code)]
    pub touchpoint: Touchpoint,
    pub survey: Survey,
}

pub struct TestApp {
    pub base: String,
    pub store: Store,
    pub client: reqwest::Client,
    pub a: Tenant,
    pub b: Tenant,
    _dir: Option<tempfile::TempDir>,
    _stop: tokio::sync::oneshot::Sender<()>,
}

pub fn postgres_admin_url() -> String {
    std::env::var("HEARD_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

pub async fn database(backend: Backend) -> (DatabaseUrl, Option<tempfile::TempDir>) {
    match backend {
        Backend::Sqlite => {
            let dir = tempfile::tempdir().unwrap();
            (DatabaseUrl::sqlite_in(dir.path()), Some(dir))
        }
        Backend::Postgres => {
            use sqlx::Connection;
            let admin = postgres_admin_url();
            let mut conn = sqlx::PgConnection::connect(&admin)
                .await
                .unwrap_or_else(|e| {
                    panic!("PostgreSQL is required for these tests ({admin}): {e}")
                });
            let name = format!("heard_test_{}", uuid::Uuid::new_v4().simple());
            sqlx::query(&format!("CREATE DATABASE {name}"))
                .execute(&mut conn)
                .await
                .unwrap();
            let (base, _) = admin.rsplit_once('/').unwrap();
            (DatabaseUrl::parse(&format!("{base}/{name}")).unwrap(), None)
        }
    }
}

pub async fn tenant(store: &Store, name: &str, slug: &str) -> Tenant {
    let now = heard_store::now_ms();
    let org = store.create_org(name, slug, now).await.unwrap();
    let service = store
        .create_service(
            org.id,
            &LocalizedText::new(format!("{name} benefits"), "Beneficios"),
            &LocalizedText::default(),
            now,
        )
        .await
        .unwrap();
    let touchpoint = store
        .create_touchpoint(
            org.id,
            service.id,
            &LocalizedText::en_only("Web"),
            Channel::Website,
            now,
        )
        .await
        .unwrap();
    let def = templates::a11_v2(&service.name, TrustScale::Thumbs);
    let origins = vec!["https://www.partner.gov".to_string()];
    let survey = store
        .create_survey(
            NewSurvey {
                org_id: org.id,
                service_id: service.id,
                touchpoint_id: Some(touchpoint.id),
                name: &format!("{name} survey"),
                draft: &def,
                allowed_origins: &origins,
                transaction_point: "post_interaction",
            },
            now,
        )
        .await
        .unwrap();
    store
        .publish_survey(org.id, survey.id, None, now)
        .await
        .unwrap();
    let survey = store.survey(org.id, survey.id).await.unwrap();
    let admin_email = format!("admin@{slug}.example.gov");
    let hash = heard_server::auth::hash_password(PASSWORD).unwrap();
    let user = store
        .create_user(&admin_email, &format!("{name} admin"), &hash, now)
        .await
        .unwrap();
    store
        .set_membership(org.id, user.id, Role::Admin, now)
        .await
        .unwrap();
    Tenant {
        org: org.id,
        slug: slug.into(),
        admin_email,
        service,
        touchpoint,
        survey,
    }
}

pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, |_| {}).await
}

pub async fn spawn_app_with(backend: Backend, tweak: impl FnOnce(&mut Config)) -> TestApp {
    let (url, dir) = database(backend).await;
    spawn_app_at(url, dir, tweak).await
}

/// A test app over a database made elsewhere (e.g. by `heard demo-data`), with tenants A and B added to it.
pub async fn spawn_app_at(
    url: DatabaseUrl,
    dir: Option<tempfile::TempDir>,
    tweak: impl FnOnce(&mut Config),
) -> TestApp {
    let store = Store::open(&url, StoreOptions::default()).await.unwrap();
    let a = tenant(&store, "Agency A", "agency-a").await;
    let b = tenant(&store, "Agency B", "agency-b").await;
    let mut config = Config::new("127.0.0.1:0".parse().unwrap(), [9u8; 32]);
    config.submissions_per_minute = 0;
    // No background workers: tests run jobs deterministically (`TestApp::run_jobs`).
    config.jobs.concurrency = 0;
    tweak(&mut config);
    let app = Application::build(store.clone(), config).await.unwrap();
    let base = app.public_url().to_string();
    let (stop, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(app.run(async {
        let _ = rx.await;
    }));
    let client = reqwest::Client::builder()
        .redirect(Policy::none())
        .build()
        .unwrap();
    TestApp {
        base,
        store,
        client,
        a,
        b,
        _dir: dir,
        _stop: stop,
    }
}

impl TestApp {
    /// `org`'s queued jobs of `kind` (at most 1,000).
    pub async fn queued_jobs(&self, org: OrgId, kind: &str) -> Vec<heard_store::jobs::Job> {
        self.store
            .jobs_in_state(org, heard_store::jobs::JobState::Queued, 1000)
            .await
            .unwrap()
            .into_iter()
            .filter(|j| j.kind == kind)
            .collect()
    }

    /// A worker with the product's job handlers over this app's store, for running jobs when a test says
    /// (`run_pending_once`, `run_due_by`): tests start no background workers.
    pub fn worker(&self) -> heard_server::jobs::Worker {
        heard_server::jobs::Worker::new(
            self.store.clone(),
            heard_server::jobs::JobRegistry::product(),
            Default::default(),
        )
    }

    /// The last moment before `org`'s first queued `data.arrived` job is due, or now when none is queued. Running
    /// the jobs due by then (`Worker::run_due_by`) runs what new data made due at once and none of what it
    /// debounced, wherever the wall clock stands in the five-minute window.
    pub async fn before_data_arrived(&self, org: OrgId) -> i64 {
        self.queued_jobs(org, heard_store::after_data::KIND)
            .await
            .iter()
            .map(|j| j.run_at - 1)
            .min()
            .unwrap_or_else(heard_store::now_ms)
    }

    pub fn submit_url(&self, t: &Tenant) -> String {
        format!(
            "{}/api/v1/{}/surveys/{}/responses",
            self.base, t.slug, t.survey.id
        )
    }

    /// Submits `body` to the tenant's survey through the public API and returns the JSON reply.
    pub async fn submit_json(&self, t: &Tenant, body: &serde_json::Value) -> serde_json::Value {
        self.client
            .post(self.submit_url(t))
            .json(body)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// Signs in through the real form and returns the session cookie and a CSRF token for forms.
    pub async fn sign_in(&self, email: &str) -> Session {
        let page = self
            .client
            .get(format!("{}/admin/login", self.base))
            .send()
            .await
            .unwrap();
        let login_cookie = cookie_pair(&page, "heard_login_csrf");
        let csrf = login_cookie.split_once('=').unwrap().1.to_string();
        let resp = self
            .client
            .post(format!("{}/admin/login", self.base))
            .header("cookie", &login_cookie)
            .form(&[
                ("csrf", csrf.as_str()),
                ("email", email),
                ("password", PASSWORD),
                ("next", "/admin"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 303, "sign-in should redirect");
        let cookie = cookie_pair(&resp, "heard_session");
        let home = self
            .client
            .get(format!("{}/admin/o/{}", self.base, self.a.org))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap();
        let html = home.text().await.unwrap();
        let csrf = html
            .split("name=\"csrf\" value=\"")
            .nth(1)
            .map(|s| s.split('"').next().unwrap().to_string())
            .unwrap_or_default();
        Session { cookie, csrf }
    }

    pub async fn get(&self, s: &Session, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.base))
            .header("cookie", &s.cookie)
            .header("accept", "text/html")
            .send()
            .await
            .unwrap()
    }

    pub async fn post(&self, s: &Session, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
        let mut f: Vec<(&str, &str)> = vec![("csrf", s.csrf.as_str())];
        f.extend_from_slice(form);
        self.client
            .post(format!("{}{path}", self.base))
            .header("cookie", &s.cookie)
            .form(&f)
            .send()
            .await
            .unwrap()
    }
}

pub struct Session {
    pub cookie: String,
    pub csrf: String,
}

fn cookie_pair(resp: &reqwest::Response, name: &str) -> String {
    resp.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .map(|v| v.split(';').next().unwrap().to_string())
        .unwrap_or_else(|| panic!("no {name} cookie"))
}

/// Runs an async test body on both backends, as two tests.
#[macro_export]
macro_rules! both_backends {
    ($name:ident, |$app:ident| $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            async fn run($app: $crate::support::TestApp) $body
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                run($crate::support::spawn_app($crate::support::Backend::Sqlite).await).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                run($crate::support::spawn_app($crate::support::Backend::Postgres).await).await;
            }
        }
    };
}

/// Creates the survey and publishes its draft as version 1 (by no user), as a tenant's admin would; returns it as
/// stored after publishing.
pub async fn create_published_survey(store: &Store, new: NewSurvey<'_>, now: i64) -> Survey {
    let org = new.org_id;
    let survey = store.create_survey(new, now).await.unwrap();
    store
        .publish_survey(org, survey.id, None, now)
        .await
        .unwrap();
    store.survey(org, survey.id).await.unwrap()
}

/// Waits (at most 60 seconds) until a `heard serve` child process at `base` (`http://host:port`) answers
/// `/healthz` with 200.
pub async fn wait_ready(base: &str) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while std::time::Instant::now() < deadline {
        if reqwest::get(format!("{base}/healthz"))
            .await
            .is_ok_and(|r| r.status() == 200)
        {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("server at {base} did not become ready");
}

/// A loopback port free at the time of asking, for a `heard serve` child process to listen on.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
