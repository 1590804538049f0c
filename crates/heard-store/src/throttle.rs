//! Sign-in throttling, kept in the database so every server instance agrees. Failures are counted per (account,
//! address) and, with far more room, per address; a counter past its allowance makes that pair (or address) wait,
//! longer after each further failure, up to a ceiling. Nothing locks an account for everyone: a right password from
//! an address without failures of its own is never refused, so knowing someone's email gives no way to keep them
//! out. Each time a counter starts making someone wait, a lockout is recorded for admins, operators and
//! `heard user lockouts` to see, and `heard user unlock` ends it.
//!
//! The address's budget slows guessing; it never refuses someone who has not failed. While an address is past its
//! budget, an account with failures of its own from that address in the window (an account being guessed at, or a
//! typed email with no account: unknown emails count like any other) waits, without its password being checked;
//! an account with none is let in with its right password, and its first wrong one from there makes it wait too.
//! So a person behind an agency's shared address is never kept out by other people's mistakes, and an attacker
//! spraying guesses from it gets one guess per account per wait. Because what blocks an account is always its own
//! counter at that address, ending that account's lockouts (an organization admin's Unlock, `heard user unlock
//! --email`) lets it in again.
//!
//! Addresses are counted by [`address_key`]: an IPv4 address alone, an IPv6 address by its /64 network (one
//! subscriber usually holds a whole /64, so counting its addresses one by one would give it 2^64 budgets). Every
//! per-address budget (these counters, the public display and submission limits) uses that one function.
//!
//! The rule follows NIST SP 800-63B §5.2.2 (rate limiting rather than lockout; waits that grow; throttling must not
//! become a denial of service) and OWASP ASVS V2.2.1. Any later way of proving who someone is (a one-time code, an
//! invitation token, an API key) should count its failures through [`ThrottleRule`] the same way.

use std::net::{IpAddr, Ipv6Addr};

use uuid::Uuid;

use crate::{Result, Store, WritePool, on_pool};

/// How failures in one window slow the next attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottleRule {
    /// The failure that starts the first wait (earlier ones are free: people mistype).
    pub failures_before_wait: i64,
    /// The first wait, in milliseconds; each further failure doubles it.
    pub first_wait_ms: i64,
    /// The longest wait, in milliseconds: no failure count ever locks for longer.
    pub max_wait_ms: i64,
    /// How long a window of counting lasts from its first failure, in milliseconds; then counting starts over.
    pub window_ms: i64,
}

impl ThrottleRule {
    /// The wait, in milliseconds, after the `failures`-th failure of a window (0 while failures are free).
    pub fn wait_after(&self, failures: i64) -> i64 {
        if failures < self.failures_before_wait {
            return 0;
        }
        let doublings = (failures - self.failures_before_wait).min(30) as u32;
        self.first_wait_ms
            .saturating_mul(1i64 << doublings)
            .min(self.max_wait_ms)
    }
}

/// One account from one address: five mistakes are free, then 1, 2, 4, 8 and at most 15 minutes between guesses,
/// counted over a day (at most about 100 guesses a day from one address).
pub const ACCOUNT_AT_ADDRESS: ThrottleRule = ThrottleRule {
    failures_before_wait: 5,
    first_wait_ms: 60_000,
    max_wait_ms: 15 * 60_000,
    window_ms: 24 * 3_600_000,
};

/// Every account from one address: 100 failures an hour are free, because a whole agency may reach Heard through
/// one address; past that (someone trying many accounts), each account with failures of its own from the address
/// waits as above, and each further failure makes its account wait, while accounts without failures there are
/// never held up (see the module doc).
pub const ADDRESS: ThrottleRule = ThrottleRule {
    failures_before_wait: 100,
    first_wait_ms: 60_000,
    max_wait_ms: 15 * 60_000,
    window_ms: 3_600_000,
};

// An address shared by a whole agency must have far more room than one account at one address.
const _: () = assert!(ADDRESS.failures_before_wait >= 10 * ACCOUNT_AT_ADDRESS.failures_before_wait);

/// The address a per-address budget counts `ip` under: an IPv4 address itself, an IPv6 address as its /64 network
/// (the lower 64 bits cleared; an IPv4-mapped IPv6 address as the IPv4 address). Every per-address budget keys
/// on this, so one person cannot get a fresh budget by moving within their network.
pub fn address_group(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(Ipv6Addr::from(u128::from(v6) & !((1u128 << 64) - 1))),
        },
    }
}

/// [`address_group`] as the text stored in the sign-in counters and lockouts: `192.0.2.1`, or `2001:db8::/64`.
pub fn address_key(ip: IpAddr) -> String {
    match address_group(ip) {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => format!("{v6}/64"),
    }
}

/// The address key of an address as a person types it (`2001:DB8:0:0::0001`, `[2001:db8::1]`, `2001:db8::/64`,
/// `192.0.2.1`), or `None` when it is not an address.
pub fn parse_address(typed: &str) -> Option<String> {
    let t = typed.trim();
    let t = t
        .strip_prefix('[')
        .and_then(|x| x.strip_suffix(']'))
        .unwrap_or(t);
    let t = t
        .strip_suffix("/64")
        .filter(|x| x.contains(':'))
        .unwrap_or(t);
    t.parse::<IpAddr>().ok().map(address_key)
}

/// The `email` of the counter that counts every failure from an address.
const WHOLE_ADDRESS: &str = "";

/// A recorded lockout: when a counter started making an address wait, and how it ended.
#[derive(Debug, Clone)]
pub struct SignInLockout {
    /// The email typed, lower-case (whether or not it has an account); empty for the whole address's counter
    /// (which holds up only the accounts that failed from it).
    pub email: String,
    /// The [`address_key`]: an IPv4 address, or an IPv6 /64 network such as `2001:db8::/64`.
    pub address: String,
    /// Failures in the window so far.
    pub failures: i64,
    pub started_at: i64,
    /// Until when the latest failure makes the address wait (milliseconds since the epoch).
    pub wait_until: i64,
    pub ended_at: Option<i64>,
    /// "signed_in", "unlocked", or "expired" (the window ended; recorded when the pair next failed).
    pub ended_by: Option<String>,
}

#[derive(sqlx::FromRow)]
struct LockoutRow {
    email: String,
    address: String,
    failures: i64,
    started_at: i64,
    wait_until: i64,
    ended_at: Option<i64>,
    ended_by: Option<String>,
}

impl From<LockoutRow> for SignInLockout {
    fn from(r: LockoutRow) -> Self {
        SignInLockout {
            email: r.email,
            address: r.address,
            failures: r.failures,
            started_at: r.started_at,
            wait_until: r.wait_until,
            ended_at: r.ended_at,
            ended_by: r.ended_by,
        }
    }
}

/// The counter key of a typed email: trimmed, lower-case, and at most 320 characters (the longest valid address),
/// so that typing junk cannot make large rows.
fn normalize(email: &str) -> String {
    email.trim().to_lowercase().chars().take(320).collect()
}

impl Store {
    /// Until when (milliseconds since the epoch) a sign-in for `email` from `address` (an [`address_key`]) must
    /// wait, if it must: because this address failed too often for this account, or because the address is past
    /// its budget and this account has failures of its own from it in the window (see the module doc: an account
    /// without any is never refused).
    pub async fn sign_in_wait(&self, email: &str, address: &str, now: i64) -> Result<Option<i64>> {
        let email = normalize(email);
        let rows: Vec<(String, i64, i64, i64)> = on_pool!(self, p => sqlx::query_as(
            "SELECT email, failures, window_start, wait_until FROM sign_in_failures \
             WHERE address = $1 AND (email = $2 OR email = $3)")
            .bind(address).bind(&email).bind(WHOLE_ADDRESS).fetch_all(p).await)?;
        let own = rows
            .iter()
            .find(|r| r.0 != WHOLE_ADDRESS || email == WHOLE_ADDRESS);
        let has_own_failures =
            own.is_some_and(|r| r.1 > 0 && now - r.2 < ACCOUNT_AT_ADDRESS.window_ms);
        let until = rows
            .iter()
            .filter(|r| r.0 != WHOLE_ADDRESS || has_own_failures)
            .map(|r| r.3)
            .max();
        Ok(until.filter(|u| *u > now))
    }

    /// Counts a failed sign-in for `email` from `address` under [`ACCOUNT_AT_ADDRESS`] and [`ADDRESS`], records a
    /// lockout when a counter starts making someone wait, and returns until when the address must now wait, if it
    /// must.
    pub async fn record_sign_in_failure(
        &self,
        email: &str,
        address: &str,
        now: i64,
    ) -> Result<Option<i64>> {
        let email = normalize(email);
        let mut counters = vec![(WHOLE_ADDRESS.to_string(), ADDRESS)];
        if email != WHOLE_ADDRESS {
            counters.push((email, ACCOUNT_AT_ADDRESS));
        }
        let wait: i64 = on_pool!(self, p => {
            let mut tx = p.begin_write().await?;
            // Counters whose window is over and that make nobody wait are forgotten (the longest window is a day).
            sqlx::query("DELETE FROM sign_in_failures WHERE window_start < $1 AND wait_until < $2")
                .bind(now - ACCOUNT_AT_ADDRESS.window_ms.max(ADDRESS.window_ms)).bind(now).execute(&mut *tx).await?;
            let mut wait = 0i64;
            // The whole address's counter comes first: while it makes the address wait, this account's failure
            // makes this account wait as long (one guess per account per wait, see the module doc).
            for (key, rule) in &counters {
                let row: Option<(i64, i64)> = sqlx::query_as(
                    "SELECT failures, window_start FROM sign_in_failures WHERE email = $1 AND address = $2")
                    .bind(key).bind(address).fetch_optional(&mut *tx).await?;
                let (failures, start) = match row {
                    Some((f, s)) if now - s < rule.window_ms => (f + 1, s),
                    _ => (1, now),
                };
                let w = rule.wait_after(failures);
                let until = if w > 0 { now + w } else { 0 };
                let (w, until) = if key != WHOLE_ADDRESS && wait > until { (wait - now, wait) } else { (w, until) };
                wait = wait.max(until);
                sqlx::query("INSERT INTO sign_in_failures (email, address, failures, window_start, wait_until) \
                     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (email, address) DO UPDATE SET failures = excluded.failures, \
                     window_start = excluded.window_start, wait_until = excluded.wait_until")
                    .bind(key).bind(address).bind(failures).bind(start).bind(until).execute(&mut *tx).await?;
                // A lockout of an earlier window ended when its wait did.
                sqlx::query("UPDATE sign_in_lockouts SET ended_at = wait_until, ended_by = 'expired' \
                     WHERE email = $1 AND address = $2 AND ended_at IS NULL AND started_at < $3")
                    .bind(key).bind(address).bind(start).execute(&mut *tx).await?;
                if w > 0 {
                    let updated = sqlx::query("UPDATE sign_in_lockouts SET failures = $1, wait_until = $2 \
                         WHERE email = $3 AND address = $4 AND ended_at IS NULL")
                        .bind(failures).bind(until).bind(key).bind(address).execute(&mut *tx).await?.rows_affected();
                    if updated == 0 {
                        sqlx::query("INSERT INTO sign_in_lockouts (id, email, address, failures, started_at, wait_until) \
                             VALUES ($1, $2, $3, $4, $5, $6)")
                            .bind(Uuid::now_v7()).bind(key).bind(address).bind(failures).bind(now).bind(until)
                            .execute(&mut *tx).await?;
                    }
                }
            }
            tx.commit().await?;
            Ok::<_, sqlx::Error>(wait)
        })?;
        Ok((wait > 0).then_some(wait))
    }

    /// A right password for `email` from `address`: that pair's failures are forgotten and its lockout ends (the
    /// address's own counter stays, so one success cannot hide a spray of guesses at other accounts).
    pub async fn record_sign_in_success(&self, email: &str, address: &str, now: i64) -> Result<()> {
        let email = normalize(email);
        on_pool!(self, p => {
            let mut tx = p.begin_write().await?;
            sqlx::query("DELETE FROM sign_in_failures WHERE email = $1 AND address = $2")
                .bind(&email).bind(address).execute(&mut *tx).await?;
            sqlx::query("UPDATE sign_in_lockouts SET ended_at = $1, ended_by = 'signed_in' \
                 WHERE email = $2 AND address = $3 AND ended_at IS NULL")
                .bind(now).bind(&email).bind(address).execute(&mut *tx).await?;
            tx.commit().await
        })?;
        Ok(())
    }

    /// Forgets every failure for `email` from every address and ends its lockouts; returns how many lockouts ended.
    pub async fn unlock_sign_in(&self, email: &str, now: i64) -> Result<u64> {
        let email = normalize(email);
        self.unlock_where("email", &email, now).await
    }

    /// Forgets every failure from `address` (for all accounts) and ends its lockouts; returns how many ended.
    pub async fn unlock_sign_in_address(&self, address: &str, now: i64) -> Result<u64> {
        self.unlock_where("address", address, now).await
    }

    async fn unlock_where(&self, column: &'static str, value: &str, now: i64) -> Result<u64> {
        let ended = on_pool!(self, p => {
            let mut tx = p.begin_write().await?;
            sqlx::query(&format!("DELETE FROM sign_in_failures WHERE {column} = $1"))
                .bind(value).execute(&mut *tx).await?;
            let n = sqlx::query(&format!("UPDATE sign_in_lockouts SET ended_at = $1, ended_by = 'unlocked' \
                 WHERE {column} = $2 AND ended_at IS NULL"))
                .bind(now).bind(value).execute(&mut *tx).await?.rows_affected();
            tx.commit().await?;
            Ok::<_, sqlx::Error>(n)
        })?;
        Ok(ended)
    }

    /// The latest 100 lockouts, newest first, of one email or of everyone.
    pub async fn sign_in_lockouts(&self, email: Option<&str>) -> Result<Vec<SignInLockout>> {
        let email = email.map(normalize);
        let rows: Vec<LockoutRow> = on_pool!(self, p => sqlx::query_as(
            "SELECT email, address, failures, started_at, wait_until, ended_at, ended_by FROM sign_in_lockouts \
             WHERE $1 IS NULL OR email = $1 ORDER BY started_at DESC LIMIT 100")
            .bind(&email).fetch_all(p).await)?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    /// Every lockout not yet ended whose last wait was within a day of `now`, newest first (for site operators).
    pub async fn open_lockouts(&self, now: i64) -> Result<Vec<SignInLockout>> {
        let rows: Vec<LockoutRow> = on_pool!(self, p => sqlx::query_as(
            "SELECT email, address, failures, started_at, wait_until, ended_at, ended_by FROM sign_in_lockouts \
             WHERE ended_at IS NULL AND wait_until > $1 ORDER BY started_at DESC LIMIT 100")
            .bind(now - ACCOUNT_AT_ADDRESS.window_ms).fetch_all(p).await)?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    /// Lockouts of the members of `org` not yet ended whose last wait was within a day of `now`, newest first.
    pub async fn open_member_lockouts(
        &self,
        org: heard_domain::OrgId,
        now: i64,
    ) -> Result<Vec<SignInLockout>> {
        let rows: Vec<LockoutRow> = on_pool!(self, p => sqlx::query_as(
            "SELECT l.email, l.address, l.failures, l.started_at, l.wait_until, l.ended_at, l.ended_by \
             FROM sign_in_lockouts l JOIN users u ON u.email = l.email JOIN memberships m ON m.user_id = u.id \
             WHERE m.org_id = $1 AND l.ended_at IS NULL AND l.wait_until > $2 ORDER BY l.started_at DESC LIMIT 100")
            .bind(org.as_uuid()).bind(now - ACCOUNT_AT_ADDRESS.window_ms).fetch_all(p).await)?;
        Ok(rows.into_iter().map(Into::into).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_grow_from_the_allowance_to_a_ceiling() {
        let r = ACCOUNT_AT_ADDRESS;
        let waits: Vec<i64> = (1..=10).map(|f| r.wait_after(f) / 60_000).collect();
        assert_eq!(waits, [0, 0, 0, 0, 1, 2, 4, 8, 15, 15]);
        assert_eq!(
            r.wait_after(i64::MAX),
            15 * 60_000,
            "no overflow, no lock longer than the ceiling"
        );
        assert_eq!(ADDRESS.wait_after(99), 0);
        assert_eq!(ADDRESS.wait_after(100), 60_000);
    }

    #[test]
    fn addresses_are_grouped_by_ipv4_address_and_ipv6_network() {
        let key = |s: &str| parse_address(s);
        assert_eq!(key("192.0.2.1").as_deref(), Some("192.0.2.1"));
        assert_eq!(key("::ffff:192.0.2.1").as_deref(), Some("192.0.2.1"));
        for typed in [
            "2001:db8::1",
            "2001:DB8:0:0::0001",
            "[2001:db8::1]",
            "2001:db8::ffff:1",
            "2001:db8::/64",
        ] {
            assert_eq!(key(typed).as_deref(), Some("2001:db8::/64"), "{typed}");
        }
        assert_eq!(key("2001:db8:0:1::1").as_deref(), Some("2001:db8:0:1::/64"));
        assert_eq!(key("not-an-ip"), None);
        assert_eq!(key("192.0.2.1/64"), None);
    }
}
