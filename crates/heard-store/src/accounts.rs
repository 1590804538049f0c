//! Organizations, staff accounts, memberships, invitations, sessions and sign-in throttling. Sessions and
//! throttling live in the database, not in memory, so any number of server instances behave as one.

use heard_domain::{InvitationId, OrgId, Role, UserId, Zone};
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

    pub async fn count_orgs(&self) -> Result<i64> {
        Ok(
            on_pool!(self, p => sqlx::query_scalar("SELECT COUNT(*) FROM organizations").fetch_one(p).await)?,
        )
    }

    /// Creates an account. The first account of an installation is its site operator (whoever sets Heard up runs
    /// it); later ones are not, until `set_operator`.
    pub async fn create_user(
        &self,
        email: &str,
        name: &str,
        password_hash: &str,
        now: i64,
    ) -> Result<User> {
        let id = UserId::new();
        let email = email.trim().to_lowercase();
        let is_operator: bool = on_pool!(self, p => sqlx::query_scalar(
            "INSERT INTO users (id, email, name, password_hash, created_at, is_operator) \
             SELECT $1, $2, $3, $4, $5, NOT EXISTS (SELECT 1 FROM users) RETURNING is_operator")
            .bind(id.as_uuid()).bind(&email).bind(name).bind(password_hash).bind(now).fetch_one(p).await)
        .map_err(|e| StoreError::conflict_or(e, "an account with this email already exists"))?;
        Ok(User {
            id,
            email,
            name: name.into(),
            password_hash: password_hash.into(),
            created_at: now,
            is_operator,
        })
    }

    /// Makes an account a site operator, or no longer one.
    pub async fn set_operator(&self, user: UserId, operator: bool) -> Result<()> {
        on_pool!(self, p => sqlx::query("UPDATE users SET is_operator = $1 WHERE id = $2")
            .bind(operator).bind(user.as_uuid()).execute(p).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    pub async fn user_by_email(&self, email: &str) -> Result<User> {
        let email = email.trim().to_lowercase();
        let row: Option<UserRow> = on_pool!(self, p => sqlx::query_as("SELECT id, email, name, password_hash, created_at, is_operator FROM users WHERE email = $1")
            .bind(&email).fetch_optional(p).await)?;
        row.map(Into::into).ok_or(StoreError::NotFound)
    }

    /// Changes an account's password and, in the same transaction, ends every session it has: whoever knew the old
    /// password (or holds a session made with it) is out. Every way of changing a password goes through here.
    pub async fn set_password(&self, user: UserId, password_hash: &str) -> Result<()> {
        on_pool!(self, p => {
            let mut tx = p.begin_write().await?;
            sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
                .bind(password_hash).bind(user.as_uuid()).execute(&mut *tx).await?;
            sqlx::query("DELETE FROM sessions WHERE user_id = $1")
                .bind(user.as_uuid()).execute(&mut *tx).await?;
            tx.commit().await
        })?;
        Ok(())
    }

    /// Ends every session of an account ("sign out everywhere"); returns how many there were.
    pub async fn delete_user_sessions(&self, user: UserId) -> Result<u64> {
        Ok(
            on_pool!(self, p => sqlx::query("DELETE FROM sessions WHERE user_id = $1")
            .bind(user.as_uuid()).execute(p).await.map(|r| r.rows_affected()))?,
        )
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
                        is_operator: false,
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
            is_operator: bool,
            csrf_token: String,
            expires_at: i64,
        }
        let row: Option<Row> = on_pool!(self, p => sqlx::query_as(
            "SELECT u.id, u.email, u.name, u.password_hash, u.created_at, u.is_operator, s.csrf_token, s.expires_at \
             FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = $1 AND s.expires_at > $2")
            .bind(token_hash).bind(now).fetch_optional(p).await)?;
        Ok(row.map(|r| Session {
            user: UserRow {
                id: r.id,
                email: r.email,
                name: r.name,
                password_hash: r.password_hash,
                created_at: r.created_at,
                is_operator: r.is_operator,
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

    /// The account with this id.
    pub async fn user(&self, id: UserId) -> Result<User> {
        let row: Option<UserRow> = on_pool!(self, p => sqlx::query_as("SELECT id, email, name, password_hash, created_at, is_operator FROM users WHERE id = $1")
            .bind(id.as_uuid()).fetch_optional(p).await)?;
        row.map(Into::into).ok_or(StoreError::NotFound)
    }

    /// Changes a member's role. An organization keeps at least one admin, so the last one cannot step down
    /// (`Conflict`); someone who is not a member is `NotFound`.
    pub async fn change_role(&self, org: OrgId, user: UserId, role: Role) -> Result<()> {
        self.change_membership(org, user, Some(role)).await
    }

    /// Removes a member from an organization. Access ends at once, because every request checks membership; the
    /// organization's pending invitations for their email are withdrawn (so they cannot rejoin by accepting one),
    /// and every session of theirs ends: sessions belong to an account, not to one organization, so the person is
    /// signed out everywhere and signs in again for their other organizations. The last admin cannot be removed
    /// (`Conflict`); someone who is not a member is `NotFound`.
    pub async fn remove_membership(&self, org: OrgId, user: UserId) -> Result<()> {
        self.change_membership(org, user, None).await
    }

    async fn change_membership(&self, org: OrgId, user: UserId, role: Option<Role>) -> Result<()> {
        let outcome: std::result::Result<(), StoreError> = on_pool!(self, p => {
            let mut tx = p.begin_write().await?;
            let current: Option<String> = sqlx::query_scalar("SELECT role FROM memberships WHERE org_id = $1 AND user_id = $2")
                .bind(org.as_uuid()).bind(user.as_uuid()).fetch_optional(&mut *tx).await?;
            let Some(current) = current else { return Err(StoreError::NotFound) };
            if current == Role::Admin.key() && role != Some(Role::Admin) {
                let admins: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM memberships WHERE org_id = $1 AND role = $2")
                    .bind(org.as_uuid()).bind(Role::Admin.key()).fetch_one(&mut *tx).await?;
                if admins <= 1 {
                    return Err(StoreError::Conflict(
                        "an organization needs at least one admin: make someone else admin first".into(),
                    ));
                }
            }
            match role {
                Some(r) => sqlx::query("UPDATE memberships SET role = $1 WHERE org_id = $2 AND user_id = $3")
                    .bind(r.key()).bind(org.as_uuid()).bind(user.as_uuid()).execute(&mut *tx).await?,
                None => {
                    let now = crate::now_ms();
                    sqlx::query("UPDATE invitations SET answered_at = $1, answer = 'withdrawn' WHERE org_id = $2 \
                         AND answered_at IS NULL AND email = (SELECT email FROM users WHERE id = $3)")
                        .bind(now).bind(org.as_uuid()).bind(user.as_uuid()).execute(&mut *tx).await?;
                    sqlx::query("DELETE FROM sessions WHERE user_id = $1")
                        .bind(user.as_uuid()).execute(&mut *tx).await?;
                    sqlx::query("DELETE FROM memberships WHERE org_id = $1 AND user_id = $2")
                        .bind(org.as_uuid()).bind(user.as_uuid()).execute(&mut *tx).await?
                }
            };
            tx.commit().await?;
            Ok(())
        });
        outcome
    }

    /// Records an invitation for `email` to join `org` as `role`, redeemable until `expires_at` with the token whose
    /// SHA-256 is `token_hash`. Whether `email` has an account is not looked at, so inviting says nothing about it.
    #[allow(clippy::too_many_arguments)]
    pub async fn create_invitation(
        &self,
        org: OrgId,
        email: &str,
        role: Role,
        token_hash: &[u8],
        invited_by: UserId,
        now: i64,
        expires_at: i64,
    ) -> Result<InvitationId> {
        let id = InvitationId::new();
        let email = email.trim().to_lowercase();
        on_pool!(self, p => sqlx::query(
            "INSERT INTO invitations (org_id, id, email, role, token_hash, invited_by, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
            .bind(org.as_uuid()).bind(id.as_uuid()).bind(&email).bind(role.key()).bind(token_hash)
            .bind(invited_by.as_uuid()).bind(now).bind(expires_at).execute(p).await.map(|r| r.rows_affected()))?;
        Ok(id)
    }

    /// The invitation whose token has this SHA-256, answered or not.
    pub async fn invitation_by_token(&self, token_hash: &[u8]) -> Result<Invitation> {
        let row: Option<InvitationRow> = on_pool!(self, p => sqlx::query_as(&format!("{INVITATION_SELECT} WHERE i.token_hash = $1"))
            .bind(token_hash).fetch_optional(p).await)?;
        row.ok_or(StoreError::NotFound)?.try_into()
    }

    /// One invitation of an organization.
    pub async fn invitation(&self, org: OrgId, id: InvitationId) -> Result<Invitation> {
        let row: Option<InvitationRow> = on_pool!(self, p => sqlx::query_as(&format!("{INVITATION_SELECT} WHERE i.org_id = $1 AND i.id = $2"))
            .bind(org.as_uuid()).bind(id.as_uuid()).fetch_optional(p).await)?;
        row.ok_or(StoreError::NotFound)?.try_into()
    }

    /// An organization's invitations not yet answered and not expired, newest first.
    pub async fn pending_invitations(&self, org: OrgId, now: i64) -> Result<Vec<Invitation>> {
        let rows: Vec<InvitationRow> = on_pool!(self, p => sqlx::query_as(&format!(
            "{INVITATION_SELECT} WHERE i.org_id = $1 AND i.answered_at IS NULL AND i.expires_at > $2 ORDER BY i.created_at DESC, i.id"))
            .bind(org.as_uuid()).bind(now).fetch_all(p).await)?;
        rows.into_iter().map(TryInto::try_into).collect()
    }

    /// Invitations addressed to `email`, not yet answered and not expired, by organization name.
    pub async fn invitations_for(&self, email: &str, now: i64) -> Result<Vec<Invitation>> {
        let email = email.trim().to_lowercase();
        let rows: Vec<InvitationRow> = on_pool!(self, p => sqlx::query_as(&format!(
            "{INVITATION_SELECT} WHERE i.email = $1 AND i.answered_at IS NULL AND i.expires_at > $2 ORDER BY o.name, i.id"))
            .bind(&email).bind(now).fetch_all(p).await)?;
        rows.into_iter().map(TryInto::try_into).collect()
    }

    /// Answers an invitation for `user`, whose email it must name: accepting makes them a member with the invited
    /// role (someone already a member keeps their role; roles change on the members page), declining does nothing
    /// more. An invitation is answered once; one answered, withdrawn or expired is `Conflict`.
    pub async fn answer_invitation(
        &self,
        org: OrgId,
        id: InvitationId,
        user: &User,
        accept: bool,
        now: i64,
    ) -> Result<()> {
        let answer = if accept { "accepted" } else { "declined" };
        let outcome: std::result::Result<(), StoreError> = on_pool!(self, p => {
            let mut tx = p.begin_write().await?;
            let role: Option<String> = sqlx::query_scalar(
                "UPDATE invitations SET answered_at = $1, answer = $2 WHERE org_id = $3 AND id = $4 \
                 AND email = $5 AND answered_at IS NULL AND expires_at > $1 RETURNING role")
                .bind(now).bind(answer).bind(org.as_uuid()).bind(id.as_uuid()).bind(&user.email)
                .fetch_optional(&mut *tx).await?;
            let Some(role) = role else {
                return Err(StoreError::Conflict("this invitation was already answered, was withdrawn or has expired".into()));
            };
            if accept {
                sqlx::query("INSERT INTO memberships (org_id, user_id, role, created_at) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (org_id, user_id) DO NOTHING")
                    .bind(org.as_uuid()).bind(user.id.as_uuid()).bind(&role).bind(now).execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok(())
        });
        outcome
    }

    /// Withdraws an invitation not yet answered; `NotFound` if there is none such.
    pub async fn withdraw_invitation(&self, org: OrgId, id: InvitationId, now: i64) -> Result<()> {
        let n = on_pool!(self, p => sqlx::query(
            "UPDATE invitations SET answered_at = $1, answer = 'withdrawn' WHERE org_id = $2 AND id = $3 AND answered_at IS NULL")
            .bind(now).bind(org.as_uuid()).bind(id.as_uuid()).execute(p).await.map(|r| r.rows_affected()))?;
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }
}

const INVITATION_SELECT: &str = "SELECT i.org_id, i.id, o.name AS org_name, i.email, i.role, i.created_at, \
     i.expires_at, i.answered_at, i.answer FROM invitations i JOIN organizations o ON o.id = i.org_id";

#[derive(sqlx::FromRow)]
struct InvitationRow {
    org_id: Uuid,
    id: Uuid,
    org_name: String,
    email: String,
    role: String,
    created_at: i64,
    expires_at: i64,
    answered_at: Option<i64>,
    answer: Option<String>,
}

/// An invitation to join an organization with a role, for the person with `email`.
#[derive(Debug, Clone)]
pub struct Invitation {
    pub org_id: OrgId,
    pub id: InvitationId,
    pub org_name: String,
    /// Lower-case.
    pub email: String,
    pub role: Role,
    pub created_at: i64,
    pub expires_at: i64,
    pub answered_at: Option<i64>,
    /// "accepted", "declined" or "withdrawn" once answered.
    pub answer: Option<String>,
}

impl TryFrom<InvitationRow> for Invitation {
    type Error = StoreError;
    fn try_from(r: InvitationRow) -> Result<Self> {
        Ok(Invitation {
            org_id: OrgId::from_uuid(r.org_id),
            id: InvitationId::from_uuid(r.id),
            org_name: r.org_name,
            email: r.email,
            role: Role::parse(&r.role).map_err(|e| StoreError::Corrupt(e.message))?,
            created_at: r.created_at,
            expires_at: r.expires_at,
            answered_at: r.answered_at,
            answer: r.answer,
        })
    }
}
