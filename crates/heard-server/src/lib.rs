//! Heard's HTTP server: the public collection API and hosted survey pages, the admin, dashboards and exports.
//!
//! `Application::build` binds a listener (port 0 in tests) and `router` builds the whole app from an `AppState`, so
//! tests can drive it in-process or over real HTTP. Handlers are thin: they parse input into domain values, call the
//! `pipeline` (for anything that submits feedback) or the store, and render. Every page gets the security headers of
//! `security`, including a strict Content-Security-Policy with no inline script or style.

pub mod admin;
pub mod after_data;
pub mod amazon_connect;
pub mod api;
pub mod assets;
pub mod auth;
pub mod callbacks;
pub mod cases;
pub mod crypto;
pub mod error;
pub mod export;
pub mod forms;
pub mod i18n;
pub mod import;
pub mod ingest;
pub mod input;
pub mod insights;
pub mod invitation_page;
pub mod jobs;
pub mod journeys;
pub mod labels;
pub mod my_oidc;
pub mod myagency;
pub mod outreach;
pub mod outreach_api;
pub mod outreach_queue;
pub mod pipeline;
pub mod public;
pub mod qr;
pub mod ratelimit;
pub mod render;
pub mod report;
pub mod security;
pub mod sms;
pub mod sms_send;
pub mod status;
pub mod webhooks;
pub mod widget;

use axum::Router;
use heard_store::Store;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

pub use error::{AppError, AppResult};

/// Server settings. Built by the binary from flags and `HEARD_*` variables; tests build it directly.
#[derive(Clone, Debug)]
pub struct Config {
    pub addr: SocketAddr,
    /// The URL people use to reach this server (share links, QR codes); defaults to `http://{addr}`.
    pub public_url: Option<String>,
    /// 32 bytes that seal contact details and key person hashes. Must be the same on every instance.
    pub secret_key: [u8; 32],
    /// Submissions per minute allowed from one IP address (hosted pages and API together); displays counted from
    /// one address have a budget of the same size.
    pub submissions_per_minute: u32,
    /// The largest request body accepted, in bytes.
    pub body_limit: usize,
    /// How many trusted proxies stand in front of the server (0: none, the socket's peer is the client). With N,
    /// the client is the Nth `X-Forwarded-For` entry from the right: the one the outermost trusted proxy appended.
    /// Entries to its left were written by the client and are never believed.
    pub trusted_proxy_hops: u8,
    /// The job queue's workers in this process (`concurrency` 0: none, as in tests, which run jobs themselves).
    pub jobs: jobs::WorkerOptions,
    /// Where Twilio's Messages API is: `sms_send::TWILIO_API_BASE` (`https://api.twilio.com`); tests use a fake on
    /// loopback.
    pub twilio_api_base: String,
}

impl Config {
    pub fn new(addr: SocketAddr, secret_key: [u8; 32]) -> Config {
        Config {
            addr,
            public_url: None,
            secret_key,
            submissions_per_minute: 600,
            body_limit: 64 * 1024,
            trusted_proxy_hops: 0,
            jobs: jobs::WorkerOptions::default(),
            twilio_api_base: sms_send::TWILIO_API_BASE.to_string(),
        }
    }
}

/// What every handler can reach. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub config: Arc<Config>,
    pub public_url: Arc<str>,
    pub pipeline: Arc<pipeline::Pipeline>,
    pub limiter: Arc<ratelimit::IpLimiter>,
    /// Displays counted per address: the same budget as submissions, kept apart from it.
    pub display_limiter: Arc<ratelimit::IpLimiter>,
    /// Displays counted this hour, so a repeat view is not a new one.
    pub displays_seen: Arc<ratelimit::DisplayOnce>,
    /// Status page lookups per address (`status::LOOKUPS_PER_MINUTE`): a budget of their own, so case codes cannot be
    /// tried at speed.
    pub status_limiter: Arc<ratelimit::IpLimiter>,
    /// MyAgency sign-ins and wrong links per address (`myagency::SIGN_INS_PER_MINUTE`): a budget of their own.
    pub my_limiter: Arc<ratelimit::IpLimiter>,
    /// OpenID Connect providers for MyAgency's sign-in: the HTTP client and the discovery documents read.
    pub oidc: Arc<my_oidc::Providers>,
    pub templates: Arc<render::Templates>,
    pub published: Arc<public::PublishedCache>,
    /// Cookies get `Secure` (and the `__Host-` prefix) when the public URL is https.
    pub secure_cookies: bool,
}

impl AppState {
    pub fn new(store: Store, config: Config) -> AppState {
        let public_url: Arc<str> = config
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{}", config.addr))
            .trim_end_matches('/')
            .into();
        let secure_cookies = public_url.starts_with("https://");
        AppState {
            pipeline: Arc::new(pipeline::Pipeline::new(&config.secret_key)),
            limiter: Arc::new(ratelimit::IpLimiter::per_minute(
                config.submissions_per_minute,
            )),
            display_limiter: Arc::new(ratelimit::IpLimiter::per_minute(
                config.submissions_per_minute,
            )),
            displays_seen: Arc::default(),
            status_limiter: Arc::new(ratelimit::IpLimiter::per_minute(status::LOOKUPS_PER_MINUTE)),
            my_limiter: Arc::new(ratelimit::IpLimiter::per_minute(
                myagency::sign_ins_per_minute(&config),
            )),
            oidc: Arc::new(my_oidc::Providers::new()),
            templates: Arc::new(render::Templates::load()),
            published: Arc::new(public::PublishedCache::default()),
            store,
            public_url,
            secure_cookies,
            config: Arc::new(config),
        }
    }
}

/// The whole application.
pub fn router(state: AppState) -> Router {
    Router::new()
        .merge(public::routes())
        .merge(report::routes())
        .merge(api::routes())
        .merge(ingest::routes())
        .merge(outreach_api::routes())
        .merge(amazon_connect::routes())
        .merge(sms::routes())
        .merge(invitation_page::routes())
        .merge(status::routes())
        .merge(callbacks::routes())
        .merge(myagency::routes())
        .merge(journeys::routes())
        .merge(admin::routes().layer(axum::middleware::map_response(security::not_compressed)))
        .merge(assets::routes())
        .merge(widget::routes())
        .layer(axum::middleware::from_fn(input::refuse_control_characters))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            body_limit,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            security::html_errors,
        ))
        .layer(axum::middleware::from_fn(security::headers))
        .layer(axum::middleware::from_fn(error::api_json_errors))
        .layer(
            tower_http::trace::TraceLayer::new_for_http()
                .make_span_with(security::span_without_query),
        )
        .layer(security::compression())
        .with_state(state)
}

/// The body limit: `Config::body_limit` for every address but the ingestion API, whose batches of up to 1,000
/// items get `ingest::BODY_LIMIT`. Over the limit is 413 in the one error shape.
async fn body_limit(
    axum::extract::State(state): axum::extract::State<AppState>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use tower::ServiceExt;
    let limit = if ingest::is_ingest_path(req.uri().path()) {
        ingest::BODY_LIMIT
    } else {
        state.config.body_limit
    };
    let svc = tower::ServiceBuilder::new()
        .layer(tower_http::limit::RequestBodyLimitLayer::new(limit))
        .map_request(|r: axum::http::Request<_>| r.map(axum::body::Body::new))
        .service(next);
    match svc.oneshot(req).await {
        Ok(r) => r.map(axum::body::Body::new),
        Err(never) => match never {},
    }
}

/// A bound, not yet running server.
pub struct Application {
    listener: tokio::net::TcpListener,
    state: AppState,
    jobs: jobs::JobRegistry,
}

impl Application {
    /// Binds `config.addr` (port 0 picks a free port) and prepares the app.
    pub async fn build(store: Store, mut config: Config) -> std::io::Result<Application> {
        let listener = tokio::net::TcpListener::bind(config.addr).await?;
        config.addr = listener.local_addr()?;
        let state = AppState::new(store, config);
        let mut jobs = jobs::JobRegistry::product();
        jobs.register(
            outreach::SEND_KIND,
            outreach::SendEmail::new(&state.config.secret_key, &state.public_url),
        );
        jobs.register(
            outreach::TEST_KIND,
            outreach::SendTestEmail::new(&state.config.secret_key),
        );
        let sms_provider: Arc<dyn sms_send::SmsProvider> =
            Arc::new(sms_send::TwilioHttp::new(&state.config.twilio_api_base));
        sms_send::register(
            &mut jobs,
            sms_send::SmsJobs::new(
                state.pipeline.clone(),
                &state.public_url,
                sms_provider.clone(),
            ),
        );
        callbacks::register(
            &mut jobs,
            callbacks::CallbackJobs::new(
                &state.config.secret_key,
                &state.public_url,
                sms_provider.clone(),
            ),
        );
        myagency::register(
            &mut jobs,
            myagency::MyJobs::new(&state.config.secret_key, &state.public_url, sms_provider),
        );
        jobs.register(
            outreach_queue::EVALUATE_KIND,
            outreach_queue::Evaluate::new(&state.config.secret_key),
        );
        jobs.register(
            outreach_queue::DUE_KIND,
            outreach_queue::HandOff::new(&state.config.secret_key),
        );
        webhooks::register(&mut jobs, &state.config.secret_key);
        jobs.register(
            heard_store::rules::NOTIFY_KIND,
            cases::NotifyStaff::new(&state.config.secret_key, &state.public_url),
        );
        Ok(Application {
            listener,
            state,
            jobs,
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.state.config.addr
    }

    pub fn public_url(&self) -> &str {
        &self.state.public_url
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// The job kinds this server's workers run (the product's; tests may add theirs before `run`).
    pub fn jobs_mut(&mut self) -> &mut jobs::JobRegistry {
        &mut self.jobs
    }

    /// Serves (and runs the job queue's workers) until `shutdown` resolves, then lets in-flight requests and jobs
    /// finish, gives back claimed jobs not started, and commits queued responses.
    pub async fn run(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let store = self.state.store.clone();
        // Organizations whose dashboard rollups wait to be recomputed (after the migration that made them) get a
        // rebuild job, once per pending mark.
        match store.enqueue_pending_rebuilds().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(organizations = n, "rollup rebuilds enqueued"),
            Err(e) => tracing::warn!(error = %e, "could not enqueue rollup rebuilds"),
        }
        let (stop_workers, stop) = tokio::sync::watch::channel(false);
        let workers =
            jobs::Worker::new(store.clone(), self.jobs, self.state.config.jobs.clone()).spawn(stop);
        let app = router(self.state).into_make_service_with_connect_info::<SocketAddr>();
        axum::serve(self.listener, app)
            .with_graceful_shutdown(async move {
                shutdown.await;
                let _ = stop_workers.send(true);
            })
            .await?;
        // A job still running after this is left to its lease: another instance takes it over.
        tokio::time::timeout(Duration::from_secs(20), workers)
            .await
            .ok();
        tokio::time::timeout(Duration::from_secs(10), store.close())
            .await
            .ok();
        Ok(())
    }
}
