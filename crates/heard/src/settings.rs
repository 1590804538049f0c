//! Storage and secret settings shared by every command: where the data lives, and the server key.

use anyhow::{Context, Result, bail};
use clap::Args;
use heard_domain::Role;
use heard_store::{DatabaseUrl, Store};
use std::path::PathBuf;

#[derive(Args, Clone, Debug)]
pub struct StorageArgs {
    /// Directory for the SQLite database and the server key (default: $XDG_DATA_HOME/heard or ~/.local/share/heard).
    #[arg(long, env = "HEARD_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// A postgres:// URL to use PostgreSQL instead of the embedded SQLite.
    #[arg(long, env = "HEARD_DATABASE_URL")]
    pub database_url: Option<String>,
}

impl StorageArgs {
    pub fn data_dir(&self) -> PathBuf {
        if let Some(d) = &self.data_dir {
            return d.clone();
        }
        let base = std::env::var_os("XDG_DATA_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
            .unwrap_or_else(|| PathBuf::from("."));
        base.join("heard")
    }

    pub fn database_url(&self) -> Result<DatabaseUrl> {
        match &self.database_url {
            Some(u) => DatabaseUrl::parse(u).map_err(|e| anyhow::anyhow!("--database-url: {e}")),
            None => Ok(DatabaseUrl::sqlite_in(&self.data_dir())),
        }
    }

    /// The 32-byte server key: HEARD_SECRET_KEY (64 hex digits), else `<data dir>/secret.key`, created on first use
    /// with owner-only permissions. Every instance sharing a database must use the same key.
    pub fn secret_key(&self) -> Result<[u8; 32]> {
        if let Ok(hex) = std::env::var("HEARD_SECRET_KEY") {
            return parse_hex_key(hex.trim())
                .context("HEARD_SECRET_KEY must be 64 hexadecimal digits");
        }
        let dir = self.data_dir();
        let path = dir.join("secret.key");
        if let Ok(s) = std::fs::read_to_string(&path) {
            return parse_hex_key(s.trim()).with_context(|| {
                format!(
                    "{} is damaged: it must hold 64 hexadecimal digits",
                    path.display()
                )
            });
        }
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let mut key = [0u8; 32];
        rand::RngCore::fill_bytes(&mut rand::rng(), &mut key);
        let hex: String = key.iter().map(|b| format!("{b:02x}")).collect();
        write_private(&path, &hex).with_context(|| format!("writing {}", path.display()))?;
        Ok(key)
    }
}

fn write_private(path: &std::path::Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    opts.open(path)?.write_all(contents.as_bytes())
}

fn parse_hex_key(s: &str) -> Result<[u8; 32]> {
    if s.len() != 64 {
        bail!("expected 64 hex digits, got {}", s.len());
    }
    let mut out = [0u8; 32];
    for (i, chunk) in s.as_bytes().chunks(2).enumerate() {
        out[i] = u8::from_str_radix(std::str::from_utf8(chunk)?, 16)?;
    }
    Ok(out)
}

pub async fn add_user(
    store: &Store,
    email: &str,
    name: &str,
    org_slug: &str,
    role: &str,
    password: &str,
    operator: bool,
) -> Result<()> {
    // The same rule for text as at the server's edge: the databases disagree about control characters.
    for (flag, text) in [("--email", email), ("--name", name), ("--org", org_slug)] {
        heard_server::input::clean_text(flag, text)
            .map_err(|e| anyhow::anyhow!("{flag} {}", e.message))?;
    }
    let name = heard_server::input::clean_name("--name", name)
        .map_err(|e| anyhow::anyhow!("--name {}", e.message))?;
    let name = name.as_str();
    let role = Role::parse(role).map_err(|e| anyhow::anyhow!("--role: {}", e.message))?;
    let email = heard_domain::survey::parse_email(email)
        .map_err(|(_, m)| anyhow::anyhow!("--email: {m}"))?;
    if let Err(heard_server::AppError::Invalid(e)) =
        heard_server::auth::check_password_rules(password)
    {
        bail!("{e}");
    }
    let org = store
        .org_by_slug(org_slug)
        .await
        .map_err(|_| anyhow::anyhow!("--org: no organization with the short name '{org_slug}'"))?;
    let hash =
        heard_server::auth::hash_password(password).map_err(|e| anyhow::anyhow!(e.message()))?;
    let now = heard_store::now_ms();
    let user = match store.user_by_email(&email).await {
        Ok(u) => {
            // Ends every session of the account too: whoever had the old password is out.
            store.set_password(u.id, &hash).await?;
            u
        }
        Err(_) => store.create_user(&email, name, &hash, now).await?,
    };
    store.set_membership(org.id, user.id, role, now).await?;
    if operator {
        store.set_operator(user.id, true).await?;
    }
    Ok(())
}

/// Prints the latest sign-in lockouts, one a line: when, email (or "every account"), address, failures, state.
pub async fn print_lockouts(store: &Store, email: Option<&str>) -> Result<()> {
    // In UTC, labelled, exactly as the site page shows them (lockouts span organizations and their zones).
    let fmt = |ms: i64| heard_domain::Zone::utc().display(ms);
    let now = heard_store::now_ms();
    let lockouts = store.sign_in_lockouts(email).await?;
    if lockouts.is_empty() {
        println!("No sign-in lockouts.");
    }
    for l in lockouts {
        let who = if l.email.is_empty() {
            "every account"
        } else {
            l.email.as_str()
        };
        let state = match (&l.ended_by, l.ended_at) {
            (Some(by), Some(at)) => format!("ended {} ({by})", fmt(at)),
            _ if l.wait_until > now => format!("waiting until {}", fmt(l.wait_until)),
            _ => "open, not waiting now".to_string(),
        };
        println!(
            "{}\t{who}\t{}\t{} failures\t{state}",
            fmt(l.started_at),
            l.address,
            l.failures
        );
    }
    Ok(())
}
