//! The one Heard binary. It parses the command line, picks the storage backend (the only place that does), and runs
//! a command: serve, migrate, demo-data, user, export (responses, or events for process mining), import, bench,
//! analyze, eval, train-sentiment.

mod bench;
mod bench_dashboards;
mod bench_import;
mod columnar;
mod demo;
mod export;
mod export_parquet;
mod import;
mod invite_cmd;
mod journeys;
mod settings;
mod text_cmds;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use heard_store::{Store, StoreOptions};
use std::net::SocketAddr;
use std::path::PathBuf;

use settings::StorageArgs;

/// mimalloc rather than the system allocator: a bulk import makes and drops millions of small strings and maps, and
/// glibc's malloc and free took a fifth of `heard bench import`'s time (profiled with `perf record`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "heard",
    version,
    about = "Heard: hear the public on every channel, find where service breaks, act and report (OMB A-11)."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server.
    Serve {
        #[command(flatten)]
        storage: StorageArgs,
        /// Address to listen on.
        #[arg(long, env = "HEARD_ADDR", default_value = "127.0.0.1:8080")]
        addr: SocketAddr,
        /// The URL people use to reach this server (for share links and QR codes).
        #[arg(long, env = "HEARD_PUBLIC_URL")]
        public_url: Option<String>,
        /// Seed a realistic demo agency if the store is empty, and print how to sign in.
        #[arg(long)]
        demo: bool,
        /// How many responses the demo agency gets.
        #[arg(long, default_value_t = 20_000)]
        demo_responses: usize,
        /// Submissions per minute allowed from one IP address (0 turns the limit off).
        #[arg(long, env = "HEARD_SUBMISSIONS_PER_MINUTE", default_value_t = 600)]
        submissions_per_minute: u32,
        /// How many trusted proxies stand in front of the server (`--trust-proxy` alone: one). The client address
        /// is then the X-Forwarded-For entry the outermost of them appended; entries the client wrote are ignored.
        #[arg(long, env = "HEARD_TRUST_PROXY", value_name = "HOPS", num_args = 0..=1,
            default_value = "0", default_missing_value = "1", value_parser = proxy_hops)]
        trust_proxy: u8,
        /// Background jobs (the durable queue) this process runs at once; 0 runs none here.
        #[arg(long, env = "HEARD_JOB_WORKERS", default_value_t = 2)]
        job_workers: usize,
        /// Seconds a worker's claim on a job holds; a killed worker's jobs are taken over after this.
        #[arg(long, env = "HEARD_JOB_LEASE_SECS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..))]
        job_lease_secs: u64,
        /// Where Twilio's Messages API is (SMS sends); change only to test against a fake.
        #[arg(long, env = "HEARD_TWILIO_API_BASE", default_value = heard_server::sms_send::TWILIO_API_BASE)]
        twilio_api_base: String,
    },
    /// Apply pending database migrations and exit.
    Migrate {
        #[command(flatten)]
        storage: StorageArgs,
    },
    /// Generate a deterministic demo agency with months of responses, operational events and signals, linked by
    /// pseudonymous person keys, with patterns to find.
    DemoData {
        #[command(flatten)]
        storage: StorageArgs,
        /// Survey responses (exactly); each respondent is a person with a journey of events behind the answer.
        #[arg(long, default_value_t = 20_000)]
        responses: usize,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// People who used the services without answering a survey, per respondent (their events and signals are
        /// written too; 0 for respondents only).
        #[arg(long, default_value_t = 0.2)]
        non_respondents: f64,
        /// Threads generating the data (0: one per CPU).
        #[arg(long, default_value_t = 0)]
        threads: usize,
        /// The demo organization's IANA time zone, which its quarters, weeks and shown times follow.
        #[arg(long, default_value = heard_domain::Zone::DEFAULT_NAME)]
        time_zone: String,
    },
    /// Manage staff accounts.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Manage organizations.
    Org {
        #[command(subcommand)]
        command: OrgCommand,
    },
    /// Manage API keys for the ingestion API (signals and events).
    Apikey {
        #[command(subcommand)]
        command: ApikeyCommand,
    },
    /// Email survey outreach: `email bounce` applies a delivery status notification (a bounce); `email invite` puts an
    /// email invitation on the send queue.
    Email {
        #[command(subcommand)]
        command: EmailCommand,
    },
    /// SMS survey outreach: `sms invite` puts an SMS invitation on the send queue.
    Sms {
        #[command(subcommand)]
        command: SmsCommand,
    },
    /// Export responses as CSV (or NDJSON) with no row limit; `export events`: the event log as OCEL 2.0 or XES.
    Export(export::ExportArgs),
    /// Import responses, signals or events from a CSV or NDJSON file (resumable; all or nothing per batch).
    Import(import::ImportArgs),
    /// Benchmarks that print a table and compare against a limit or a peer measured in the same run.
    Bench {
        #[command(subcommand)]
        command: BenchCommand,
    },
    /// The dashboards' rollups (figures kept per local day as responses are stored).
    Rollups {
        #[command(subcommand)]
        command: RollupsCommand,
    },
    /// Analyze comments (NDJSON lines {"id", "text", "language"?}) from FILE or stdin; writes NDJSON to stdout.
    Analyze { file: Option<PathBuf> },
    /// Measure the text engine on the labelled data in ../shared/data and data/service-feedback, beside
    /// vaderSentiment 3.3.2 run in the same run, and print every table.
    Eval(text_cmds::EvalArgs),
    /// Remake the learned sentiment correction (crates/heard-text/data/sentiment_model.tsv) from the rated corpora
    /// in ../shared/data.
    TrainSentiment {
        #[arg(long, env = "HEARD_SHARED_DATA", default_value = "../shared/data")]
        data: PathBuf,
        /// Where to write the model.
        #[arg(long, default_value = "crates/heard-text/data/sentiment_model.tsv")]
        out: PathBuf,
    },
    /// Remake the service-feedback model (crates/heard-text/data/service_model.tsv) from the labelled development
    /// set, choosing its settings by cross-validation (printed).
    TrainService {
        /// The labelled development set (TSV: id lang kind sentiment intent themes text, with a header).
        #[arg(long, default_value = "data/service-feedback/dev.tsv")]
        dev: PathBuf,
        /// Where to write the model.
        #[arg(long, default_value = "crates/heard-text/data/service_model.tsv")]
        out: PathBuf,
        /// Cross-validation folds.
        #[arg(long, default_value_t = 5)]
        folds: usize,
        /// Also write the texts the cross-validation got wrong (TSV), for review.
        #[arg(long)]
        misses: Option<PathBuf>,
        /// The shared data folder: its rated corpora (tweets, film, editorials, UCI) also train the sentiment head,
        /// so that the model knows what a review or a tweet looks like.
        #[arg(long, env = "HEARD_SHARED_DATA", default_value = "../shared/data")]
        data: PathBuf,
        /// How much the rated corpora weigh in all, relative to the labelled set (0: not used).
        #[arg(long, default_value_t = 0.5)]
        corpus_weight: f32,
        /// At most this many texts from each rated corpus.
        #[arg(long, default_value_t = 1000)]
        per_corpus: usize,
        /// Leave this rated corpus out (tweets, movie, nyt, uci-amazon, uci-imdb, uci-yelp), to measure it unseen.
        #[arg(long)]
        skip_corpus: Option<String>,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create an account (or reset its password) and give it a role in an organization.
    Add {
        #[command(flatten)]
        storage: StorageArgs,
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        /// The organization's short name.
        #[arg(long)]
        org: String,
        #[arg(long, default_value = "admin")]
        role: String,
        /// The password; if absent it is read from HEARD_PASSWORD or the first line of stdin.
        #[arg(long, env = "HEARD_PASSWORD", hide_env_values = true)]
        password: Option<String>,
        /// Also make the account a site operator (operators create organizations).
        #[arg(long)]
        operator: bool,
    },
    /// End every session of an account, on every device.
    SignOut {
        #[command(flatten)]
        storage: StorageArgs,
        #[arg(long)]
        email: String,
    },
    /// End sign-in lockouts of an account (from every address), or of an address (for every account).
    Unlock {
        #[command(flatten)]
        storage: StorageArgs,
        #[arg(long, required_unless_present = "address")]
        email: Option<String>,
        #[arg(long)]
        address: Option<String>,
    },
    /// List the latest sign-in lockouts, of one account or of everyone.
    Lockouts {
        #[command(flatten)]
        storage: StorageArgs,
        #[arg(long)]
        email: Option<String>,
    },
}

#[derive(Subcommand)]
enum ApikeyCommand {
    /// Make an API key for an organization and print its secret, once (only its hash is kept).
    Create {
        #[command(flatten)]
        storage: StorageArgs,
        /// The organization's short name.
        #[arg(long)]
        org: String,
        /// What the key is for, e.g. the system that sends with it.
        #[arg(long, default_value = "API key")]
        name: String,
    },
}

#[derive(Subcommand)]
enum EmailCommand {
    /// Read one delivery status notification (RFC 3464, the whole message as received) from standard input and
    /// suppress each address it reports as failed permanently (status 5.x.x), ending its pending invitations as
    /// bounced. Transient failures (4.x.x) change nothing. Prints what was done.
    Bounce {
        #[command(flatten)]
        storage: StorageArgs,
        /// The organization's short name (the one whose sender the bounce came back to).
        #[arg(long)]
        org: String,
    },
    /// Invite one person by email: a batch of one on the organization's send queue, which a running server hands to
    /// the SMTP sender, applying suppressions, the contact cap and quiet hours as it does for every batch. Prints the
    /// invitation's id and whether it goes now, is held, or will not be sent and why.
    Invite {
        #[command(flatten)]
        common: invite_cmd::InviteArgs,
        /// The person's email address.
        #[arg(long)]
        email: String,
    },
}

#[derive(Subcommand)]
enum SmsCommand {
    /// Invite one person by SMS: a batch of one on the organization's send queue, which a running server hands to
    /// the SMS sender, applying opt-outs, the contact cap and quiet hours as it does for every batch (the sender
    /// checks the opt-out again when it sends). Prints the invitation's id and whether it goes now, is held, or will
    /// not be sent and why.
    Invite {
        #[command(flatten)]
        common: invite_cmd::InviteArgs,
        /// The SMS sender's id, when given: it must be the one invitations go from (the organization's first).
        #[arg(long)]
        sender: Option<uuid::Uuid>,
        /// The person's number, E.164 (+12025550143) or a US number.
        #[arg(long)]
        phone: String,
    },
}

#[derive(Subcommand)]
enum OrgCommand {
    /// Create an organization (then `heard user add --org SLUG` gives it an admin).
    Create {
        #[command(flatten)]
        storage: StorageArgs,
        #[arg(long)]
        name: String,
        /// The short name used in links: lower-case letters, digits and hyphens.
        #[arg(long)]
        slug: String,
        /// The IANA time zone its quarters, weeks, date filters, exports and shown times follow.
        #[arg(long, default_value = heard_domain::Zone::DEFAULT_NAME)]
        time_zone: String,
    },
}

#[derive(Subcommand)]
enum RollupsCommand {
    /// Recompute the rollups from the stored responses, for one organization or every one (after a change of time
    /// zone this also runs as a job; writers wait while an organization is rebuilt).
    Rebuild {
        #[command(flatten)]
        storage: StorageArgs,
        /// The organization's short name; every organization when left out.
        #[arg(long)]
        org: Option<String>,
    },
}

#[derive(Subcommand)]
enum BenchCommand {
    /// Durable submissions per second over HTTP, beside the raw insert rate of the same database.
    Ingest(bench::IngestArgs),
    /// Events per second through `heard import` into SQLite (and PostgreSQL), beside sqlite3's .import and COPY.
    Import(bench_import::ImportBenchArgs),
    /// Comments per second per core on the inline path (redaction, crisis) and the full analysis, beside
    /// vaderSentiment 3.3.2 on the same texts.
    Text(text_cmds::BenchTextArgs),
    /// Dashboard pages' p50/p95 and the server's peak memory on a large SQLite store (built or reused through the
    /// bulk path), beside DuckDB computing the same figures from the same file; checks both agree.
    Dashboards(bench_dashboards::DashboardArgs),
    /// Heard's directly-follows graph beside PM4Py's `discover_dfg` on the same generated log (PM4Py from PyPI,
    /// run out of process); checks both count the same.
    Journeys(journeys::BenchArgs),
}

/// Errors are printed as their chain of causes, one sentence each, never as a backtrace: they are for the person at
/// the terminal.
fn main() -> std::process::ExitCode {
    match real_main() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", causes_once(&e));
            std::process::ExitCode::FAILURE
        }
    }
}

/// `--trust-proxy`'s value: a number of proxies, or `true`/`false` as earlier versions took (one proxy, none).
fn proxy_hops(s: &str) -> Result<u8, String> {
    match s {
        "true" | "yes" => Ok(1),
        "false" | "no" => Ok(0),
        n => n
            .parse()
            .map_err(|_| format!("'{n}' is not a number of proxies (0 to 255)")),
    }
}

/// An error and its causes on one line, each said once. Many library errors (sqlx's among them) repeat their
/// source's text inside their own message, so a cause already said is skipped rather than printed again.
fn causes_once(e: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in e.chain().map(|c| c.to_string()) {
        if out.contains(&cause) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&cause);
    }
    out
}

fn real_main() -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("HEARD_LOG")
                .unwrap_or_else(|_| "info,sqlx=warn,tower_http=warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    match cli.command {
        Command::Analyze { file } => return text_cmds::analyze(file),
        Command::Eval(args) => return text_cmds::eval(args),
        Command::TrainSentiment { data, out } => return text_cmds::train_sentiment(&data, &out),
        Command::TrainService {
            dev,
            out,
            folds,
            misses,
            data,
            corpus_weight,
            per_corpus,
            skip_corpus,
        } => {
            let opts = text_cmds::ServiceTraining {
                folds,
                misses: misses.as_deref(),
                data: &data,
                corpus_weight,
                per_corpus,
                skip_corpus: skip_corpus.as_deref(),
            };
            return text_cmds::train_service(&dev, &out, &opts);
        }
        Command::Bench {
            command: BenchCommand::Text(args),
        } => return text_cmds::bench(args),
        Command::Bench {
            command: BenchCommand::Journeys(args),
        } => return journeys::bench(args),
        _ => {}
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(run(cli.command))
}

async fn run(command: Command) -> Result<()> {
    match command {
        Command::Serve {
            storage,
            addr,
            public_url,
            demo,
            demo_responses,
            submissions_per_minute,
            trust_proxy,
            job_workers,
            job_lease_secs,
            twilio_api_base,
        } => {
            let url = storage.database_url()?;
            let store = Store::open(&url, StoreOptions::default())
                .await
                .with_context(|| format!("opening the {} store", url.backend_name()))?;
            let demo_login = if demo {
                demo::seed_if_empty(&store, &storage.secret_key()?, 1, demo_responses).await?
            } else {
                None
            };
            let mut config = heard_server::Config::new(addr, storage.secret_key()?);
            config.public_url = public_url;
            config.submissions_per_minute = submissions_per_minute;
            config.trusted_proxy_hops = trust_proxy;
            config.jobs.concurrency = job_workers;
            config.jobs.lease = std::time::Duration::from_secs(job_lease_secs);
            config.twilio_api_base = twilio_api_base;
            let mut app = heard_server::Application::build(store, config)
                .await
                .with_context(|| format!("cannot listen on {addr}"))?;
            // Hidden: the queue's self-test kind, for the test that SIGKILLs one of two servers mid-queue.
            if std::env::var("HEARD_TEST_JOBS").as_deref() == Ok("1") {
                app.jobs_mut().register(
                    heard_server::jobs::TEST_EFFECT_KIND,
                    heard_server::jobs::TestEffect,
                );
            }
            let base = app.public_url().to_string();
            println!(
                "Heard is running on {} storage at {base}",
                url.backend_name()
            );
            println!("  Admin: {base}/admin");
            if let Some(login) = demo_login {
                println!(
                    "  Sign in as {} with password {}",
                    login.email, login.password
                );
                println!("  A public survey: {base}{}", login.survey_path);
                if !login.invitation_path.is_empty() {
                    println!(
                        "  An emailed invitation's survey link: {base}{}",
                        login.invitation_path
                    );
                    println!("  Its unsubscribe link: {base}{}", login.unsubscribe_path);
                }
            }
            println!("Press Ctrl-C to stop.");
            app.run(shutdown_signal()).await?;
            Ok(())
        }
        Command::Migrate { storage } => {
            let url = storage.database_url()?;
            let n = Store::migrate_only(&url)
                .await
                .with_context(|| format!("migrating the {} store", url.backend_name()))?;
            println!(
                "{} migration(s) applied to the {} store; it is up to date.",
                n,
                url.backend_name()
            );
            Ok(())
        }
        Command::DemoData {
            storage,
            responses,
            seed,
            non_respondents,
            threads,
            time_zone,
        } => {
            let zone = heard_domain::Zone::parse(&time_zone)
                .map_err(|e| anyhow::anyhow!("--time-zone: {}", e.message))?;
            let store = Store::open(&storage.database_url()?, StoreOptions::default()).await?;
            let options = demo::Options {
                seed,
                responses,
                non_respondents,
                zone,
                threads,
            };
            let summary = demo::generate(&store, &storage.secret_key()?, &options).await?;
            println!("{summary}");
            store.close().await;
            Ok(())
        }
        Command::User {
            command:
                UserCommand::Add {
                    storage,
                    email,
                    name,
                    org,
                    role,
                    password,
                    operator,
                },
        } => {
            let store = Store::open(&storage.database_url()?, StoreOptions::default()).await?;
            let password = match password {
                Some(p) => p,
                None => {
                    let mut line = String::new();
                    std::io::stdin()
                        .read_line(&mut line)
                        .context("reading the password from stdin")?;
                    line.trim_end_matches(['\n', '\r']).to_string()
                }
            };
            settings::add_user(&store, &email, &name, &org, &role, &password, operator).await?;
            println!("{email} is now {role} of {org}.");
            store.close().await;
            Ok(())
        }
        Command::User {
            command: UserCommand::SignOut { storage, email },
        } => {
            heard_server::input::clean_text("--email", &email)
                .map_err(|err| anyhow::anyhow!("--email {}", err.message))?;
            let store = Store::open(&storage.database_url()?, StoreOptions::default()).await?;
            let user = store
                .user_by_email(&email)
                .await
                .map_err(|_| anyhow::anyhow!("--email: no account has the email '{email}'"))?;
            let n = store.delete_user_sessions(user.id).await?;
            println!("Ended {n} session(s) of {}.", user.email);
            store.close().await;
            Ok(())
        }
        Command::User {
            command:
                UserCommand::Unlock {
                    storage,
                    email,
                    address,
                },
        } => {
            let store = Store::open(&storage.database_url()?, StoreOptions::default()).await?;
            let now = heard_store::now_ms();
            // Both are checked before anything ends, so a typo ends nothing and says so.
            if let Some(e) = &email {
                heard_server::input::clean_text("--email", e)
                    .map_err(|err| anyhow::anyhow!("--email {}", err.message))?;
            }
            let address = match address {
                Some(a) => Some(heard_store::throttle::parse_address(&a).ok_or_else(|| {
                    anyhow::anyhow!(
                        "--address: '{a}' is not an IP address (such as 192.0.2.1 or 2001:db8::1)"
                    )
                })?),
                None => None,
            };
            if let Some(email) = &email {
                let known = store.user_by_email(email).await.is_ok();
                let failures = store.sign_in_lockouts(Some(email)).await?;
                if !known && failures.is_empty() {
                    anyhow::bail!(
                        "--email: no account has the email '{email}', and no lockout names it"
                    );
                }
            }
            if let Some(email) = email {
                let n = store.unlock_sign_in(&email, now).await?;
                println!("Ended {n} lockout(s) of {email}.");
            }
            if let Some(address) = address {
                let n = store.unlock_sign_in_address(&address, now).await?;
                println!("Ended {n} lockout(s) from {address}.");
            }
            store.close().await;
            Ok(())
        }
        Command::User {
            command: UserCommand::Lockouts { storage, email },
        } => {
            if let Some(e) = &email {
                heard_server::input::clean_text("--email", e)
                    .map_err(|err| anyhow::anyhow!("--email {}", err.message))?;
            }
            let store = Store::open(&storage.database_url()?, StoreOptions::default()).await?;
            settings::print_lockouts(&store, email.as_deref()).await?;
            store.close().await;
            Ok(())
        }
        Command::Org {
            command:
                OrgCommand::Create {
                    storage,
                    name,
                    slug,
                    time_zone,
                },
        } => {
            // The same edge rule as the site page's form: control characters refused, bidi controls removed.
            let name = heard_server::input::clean_name("--name", &name)
                .map_err(|e| anyhow::anyhow!("--name {}", e.message))?;
            let name = name.as_str();
            if name.is_empty() || name.len() > 200 {
                anyhow::bail!("--name: give the organization's name (at most 200 characters)");
            }
            let slug = heard_server::admin::parse_slug(&slug)
                .map_err(|e| anyhow::anyhow!("--slug: {}", e.message))?;
            let zone = heard_domain::Zone::parse(&time_zone)
                .map_err(|e| anyhow::anyhow!("--time-zone: {}", e.message))?;
            let store = Store::open(&storage.database_url()?, StoreOptions::default()).await?;
            let org = store
                .create_org_in(name, &slug, zone, heard_store::now_ms())
                .await?;
            println!(
                "Created {} ({}), short name {}.",
                org.name, org.id, org.slug
            );
            store.close().await;
            Ok(())
        }
        Command::Apikey {
            command: ApikeyCommand::Create { storage, org, name },
        } => {
            let name = name.trim();
            if name.is_empty() || name.chars().count() > 200 {
                anyhow::bail!("--name: say what the key is for (at most 200 characters)");
            }
            let store = Store::open(&storage.database_url()?, StoreOptions::default()).await?;
            let org = store.org_by_slug(&org).await.map_err(|_| {
                anyhow::anyhow!("--org: no organization with the short name '{org}'")
            })?;
            let secret = heard_server::ingest::new_api_key();
            let id = store
                .create_api_key(
                    org.id,
                    name,
                    &heard_server::crypto::sha256(secret.as_bytes()),
                    heard_store::now_ms(),
                )
                .await?;
            println!(
                "Created API key {id} for {}. Its secret, shown only now:\n{secret}",
                org.slug
            );
            store.close().await;
            Ok(())
        }
        Command::Email {
            command: EmailCommand::Bounce { storage, org },
        } => {
            use std::io::Read;
            let mut message = String::new();
            std::io::stdin()
                .read_to_string(&mut message)
                .context("reading the message from standard input (it must be text)")?;
            let sealer = heard_server::crypto::Sealer::new(&storage.secret_key()?);
            let store = Store::open(&storage.database_url()?, StoreOptions::default()).await?;
            let org = store.org_by_slug(&org).await.map_err(|_| {
                anyhow::anyhow!("--org: no organization with the short name '{org}'")
            })?;
            let done = heard_server::outreach::apply_bounce(
                &store,
                &sealer,
                org.id,
                &message,
                heard_store::now_ms(),
            )
            .await;
            store.close().await;
            let done = done?;
            println!(
                "Hard bounces: {}, newly suppressed: {}, invitations bounced: {}; transient: {}; other: {}.",
                done.hard, done.newly_suppressed, done.invitations_bounced, done.soft, done.other
            );
            Ok(())
        }
        Command::Sms {
            command:
                SmsCommand::Invite {
                    common,
                    sender,
                    phone,
                },
        } => {
            invite_cmd::run(
                common,
                heard_domain::invitation_rules::Channel::Sms,
                &phone,
                sender,
            )
            .await
        }
        Command::Email {
            command: EmailCommand::Invite { common, email },
        } => {
            invite_cmd::run(
                common,
                heard_domain::invitation_rules::Channel::Email,
                &email,
                None,
            )
            .await
        }
        Command::Export(args) => export::run(args).await,
        Command::Import(args) => import::run(args).await,
        Command::Bench {
            command: BenchCommand::Ingest(args),
        } => bench::ingest(args).await,
        Command::Bench {
            command: BenchCommand::Import(args),
        } => bench_import::run(args).await,
        Command::Bench {
            command: BenchCommand::Dashboards(args),
        } => bench_dashboards::run(args).await,
        Command::Rollups {
            command: RollupsCommand::Rebuild { storage, org },
        } => {
            let store = Store::open(&storage.database_url()?, StoreOptions::default()).await?;
            let orgs = match org {
                Some(slug) => vec![
                    store
                        .org_by_slug(&slug)
                        .await
                        .with_context(|| format!("--org: no organization {slug}"))?,
                ],
                None => {
                    let mut all = Vec::new();
                    for id in store.org_ids().await? {
                        all.push(store.org(id).await?);
                    }
                    all
                }
            };
            for o in orgs {
                let t = std::time::Instant::now();
                let r = store.rebuild_rollups(o.id, None).await?;
                println!(
                    "{}: {} responses into {} day rows and {} answer rows, {} events into {} day rows and {} measure rows in {:.1} s.",
                    o.slug,
                    r.responses,
                    r.response_rows,
                    r.answer_rows,
                    r.events,
                    r.event_rows,
                    r.event_measure_rows,
                    t.elapsed().as_secs_f64()
                );
            }
            store.close().await;
            Ok(())
        }
        Command::Analyze { .. }
        | Command::Eval(_)
        | Command::TrainSentiment { .. }
        | Command::TrainService { .. }
        | Command::Bench {
            command: BenchCommand::Text(_) | BenchCommand::Journeys(_),
        } => unreachable!("handled before the runtime starts"),
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    eprintln!("Stopping: finishing requests and jobs in flight and committing queued responses.");
}
