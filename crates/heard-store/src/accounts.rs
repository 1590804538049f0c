//! Organizations, staff accounts, memberships, sessions and login throttling. Sessions and throttling live in the
//! database, not in memory, so any number of server instances behave as one.

use heard_domain::{OrgId, Role, UserId, Zone};
use uuid::Uuid;

use crate::records::{ORG_COLUMNS, OrgRow, UserRow};
use crate::{
    Membership, Organization, Result, Session, Store, StoreError, User, WritePool, on_pool,
};

impl Store {
    /// Creates an organization in the default time zone (America/New_York).
    pub async fn create_org(&self, name: &str, slug: &str, now: i64) -> Result<Organization> {
        self.create_org_in(name, slug, Zone::default(), now).await
    }

    /// Creates an organization whose days, weeks and quarters are those of `zone`.
    pub async fn create_org_in(
        &self,
        name: &str,
        slug: &str,
        zone: Zone,
        now: i64,
    ) -> Result<Organization> {
        let id = OrgId::new();
        on_pool!(self, p => sqlx::query("INSERT INTO organizations (id, name, slug, created_at, time_zone) VALUES ($1, $2, $3, $4, $5)")
            .bind(id.as_uuid()).bind(name).bind(slug).bind(now).bind(zone.name()).execute(p).await.map(|r| r.rows_affected()))
        .map_err(|e| StoreError::conflict_or(e, "an organization with this short name already exists"))?;
        Ok(Organization {
            id,
            name: name.into(),
            slug: slug.into(),
            created_at: now,
            keep_raw_text: false,
            time_zone: zone,
        })
    }

    pub async fn org(&self, id: OrgId) -> Result<Organization> {
        let row: Option<OrgRow> = on_pool!(self, p => sqlx::query_as(&format!("SELECT {ORG_COLUMNS} FROM organizations WHERE id = $1"))
            .bind(id.as_uuid()).fetch_optional(p).await)?;
        row.ok_or(StoreError::NotFound)?.try_into()
    }

    pub async fn org_by_slug(&self, slug: &str) -> Result<Organization> {
        let row: Option<OrgRow> = on_pool!(self, p => sqlx::query_as(&format!("SELECT {ORG_COLUMNS} FROM organizations WHERE slug = $1"))
            .bind(slug).fetch_optional(p).await)?;
        row.ok_or(StoreError::NotFound)?.try_into()
    }

    /// Turns keeping the original free text (sealed) on or off for an organization.
    pub async fn set_keep_raw_text(&self, org: OrgId, keep: bool) -> Result<()> {
        on_pool!(self, p => sqlx::query("UPDATE organizations SET keep_raw_text = $1 WHERE id = $2")
            .bind(keep).bind(org.as_uuid()).execute(p).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Sets the organization's time zone (validated by `Zone::parse` before it gets here).
    pub async fn set_org_time_zone(&self, org: OrgId, zone: Zone) -> Result<()> {
        on_pool!(self, p => sqlx::query("UPDATE organizations SET time_zone = $1 WHERE id = $2")
            .bind(zone.name()).bind(org.as_uuid()).execute(p).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    pub async fn count_orgs(&self) -> Result<i64> {
        Ok(
            on_pool!(self, p => sqlx::query_scalar("SELECT COUNT(*) FROM organizations").fetch_one(p).await)?,
        )
    }

    pub async fn create_user(
        &self,
        email: &str,
        name: &str,
        password_hash: &str,
        now: i64,
    ) -> Result<User> {
        let id = UserId::new();
        let email = email.trim().to_lowercase();
        on_pool!(self, p => sqlx::query("INSERT INTO users (id, email, name, password_hash, created_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(id.as_uuid()).bind(&email).bind(name).bind(password_hash).bind(now).execute(p).await.map(|r| r.rows_affected()))
        .map_err(|e| StoreError::conflict_or(e, "an account with this email already exists"))?;
        Ok(User {
            id,
            email,
            name: name.into(),
            password_hash: password_hash.into(),
            created_at: now,
        })
    }

    pub async fn user_by_email(&self, email: &str) -> Result<User> {
        let email = email.trim().to_lowercase();
        let row: Option<UserRow> = on_pool!(self, p => sqlx::query_as("SELECT id, email, name, password_hash, created_at FROM users WHERE email = $1")
            .bind(&email).fetch_optional(p).await)?;
        row.map(Into::into).ok_or(StoreError::NotFound)
    }

    pub async fn set_password(&self, user: UserId, password_hash: &str) -> Result<()> {
        on_pool!(self, p => sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
            .bind(password_hash).bind(user.as_uuid()).execute(p).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Gives `user` a role in `org`, replacing any earlier role.
    pub async fn set_membership(
        &self,
        org: OrgId,
        user: UserId,
        role: Role,
        now: i64,
    ) -> Result<()> {
        on_pool!(self, p => sqlx::query(
            "INSERT INTO memberships (org_id, user_id, role, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (org_id, user_id) DO UPDATE SET role = excluded.role")
            .bind(org.as_uuid()).bind(user.as_uuid()).bind(role.key()).bind(now).execute(p).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// The user's role in `org`, if any.
    pub async fn role_in(&self, org: OrgId, user: UserId) -> Result<Option<Role>> {
        let role: Option<String> = on_pool!(self, p => sqlx::query_scalar("SELECT role FROM memberships WHERE org_id = $1 AND user_id = $2")
            .bind(org.as_uuid()).bind(user.as_uuid()).fetch_optional(p).await)?;
        role.map(|r| Role::parse(&r).map_err(|e| StoreError::Corrupt(e.message)))
            .transpose()
    }

    pub async fn memberships(&self, user: UserId) -> Result<Vec<Membership>> {
        #[derive(sqlx::FromRow)]
        struct Row {
            id: Uuid,
            name: String,
            slug: String,
            created_at: i64,
            keep_raw_text: bool,
            time_zone: String,
            role: String,
        }
        let rows: Vec<Row> = on_pool!(self, p => sqlx::query_as(
            "SELECT o.id, o.name, o.slug, o.created_at, o.keep_raw_text, o.time_zone, m.role FROM memberships m JOIN organizations o ON o.id = m.org_id \
             WHERE m.user_id = $1 ORDER BY o.name")
            .bind(user.as_uuid()).fetch_all(p).await)?;
        rows.into_iter()
            .map(|r| {
                Ok(Membership {
                    org: Organization {
                        id: OrgId::from_uuid(r.id),
                        name: r.name,
                        slug: r.slug,
                        created_at: r.created_at,
                        keep_raw_text: r.keep_raw_text,
                        time_zone: Zone::parse(&r.time_zone).map_err(|e| {
                            StoreError::Corrupt(format!("organization time zone: {}", e.message))
                        })?,
                    },
                    role: Role::parse(&r.role).map_err(|e| StoreError::Corrupt(e.message))?,
                })
            })
            .collect()
    }

    /// Members of an organization with their roles, by name.
    pub async fn members(&self, org: OrgId) -> Result<Vec<(User, Role)>> {
        #[derive(sqlx::FromRow)]
        struct Row {
            id: Uuid,
            email: String,
            name: String,
            created_at: i64,
            role: String,
        }
        let rows: Vec<Row> = on_pool!(self, p => sqlx::query_as(
            "SELECT u.id, u.email, u.name, u.created_at, m.role FROM memberships m JOIN users u ON u.id = m.user_id \
             WHERE m.org_id = $1 ORDER BY u.name, u.email")
            .bind(org.as_uuid()).fetch_all(p).await)?;
        rows.into_iter()
            .map(|r| {
                let role = Role::parse(&r.role).map_err(|e| StoreError::Corrupt(e.message))?;
                Ok((
                    User {
                        id: UserId::from_uuid(r.id),
                        email: r.email,
                        name: r.name,
                        password_hash: String::new(),
                        created_at: r.created_at,
                    },
                    role,
                ))
            })
            .collect()
    }

    pub async fn create_session(
        &self,
        token_hash: &[u8],
        user: UserId,
        csrf_token: &str,
        now: i64,
        expires_at: i64,
    ) -> Result<()> {
        on_pool!(self, p => sqlx::query("INSERT INTO sessions (token_hash, user_id, csrf_token, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(token_hash).bind(user.as_uuid()).bind(csrf_token).bind(now).bind(expires_at).execute(p).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// The live session with this token hash, with its user.
    pub async fn session(&self, token_hash: &[u8], now: i64) -> Result<Option<Session>> {
        #[derive(sqlx::FromRow)]
        struct Row {
            id: Uuid,
            email: String,
            name: String,
            password_hash: String,
            created_at: i64,
            csrf_token: String,
            expires_at: i64,
        }
        let row: Option<Row> = on_pool!(self, p => sqlx::query_as(
            "SELECT u.id, u.email, u.name, u.password_hash, u.created_at, s.csrf_token, s.expires_at \
             FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = $1 AND s.expires_at > $2")
            .bind(token_hash).bind(now).fetch_optional(p).await)?;
        Ok(row.map(|r| Session {
            user: UserRow {
                id: r.id,
                email: r.email,
                name: r.name,
                password_hash: r.password_hash,
                created_at: r.created_at,
            }
            .into(),
            csrf_token: r.csrf_token,
            expires_at: r.expires_at,
        }))
    }

    pub async fn delete_session(&self, token_hash: &[u8]) -> Result<()> {
        on_pool!(self, p => sqlx::query("DELETE FROM sessions WHERE token_hash = $1").bind(token_hash).execute(p).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Until when `key` is locked out, if it is.
    pub async fn throttle_locked_until(&self, key: &str, now: i64) -> Result<Option<i64>> {
        let until: Option<i64> = on_pool!(self, p => sqlx::query_scalar("SELECT locked_until FROM login_throttle WHERE throttle_key = $1")
            .bind(key).fetch_optional(p).await)?;
        Ok(until.filter(|u| *u > now))
    }

    /// Counts a failed sign-in; after `max_failures` within `window_ms` the key is locked for `lock_ms`.
    pub async fn throttle_failure(
        &self,
        key: &str,
        now: i64,
        max_failures: i64,
        window_ms: i64,
        lock_ms: i64,
    ) -> Result<()> {
        on_pool!(self, p => {
            let mut tx = p.begin_write().await?;
            let row: Option<(i64, i64)> = sqlx::query_as("SELECT failures, window_start FROM login_throttle WHERE throttle_key = $1")
                .bind(key).fetch_optional(&mut *tx).await?;
            let (failures, start) = match row {
                Some((f, s)) if now - s < window_ms => (f + 1, s),
                _ => (1, now),
            };
            let locked_until = if failures >= max_failures { now + lock_ms } else { 0 };
            sqlx::query("INSERT INTO login_throttle (throttle_key, failures, window_start, locked_until) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (throttle_key) DO UPDATE SET failures = excluded.failures, window_start = excluded.window_start, \
                 locked_until = excluded.locked_until")
                .bind(key).bind(failures).bind(start).bind(locked_until).execute(&mut *tx).await?;
            tx.commit().await
        })?;
        Ok(())
    }

    pub async fn throttle_clear(&self, key: &str) -> Result<()> {
        on_pool!(self, p => sqlx::query("DELETE FROM login_throttle WHERE throttle_key = $1").bind(key).execute(p).await.map(|r| r.rows_affected()))?;
        Ok(())
    }
}
