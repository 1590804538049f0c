//! What the admin reads and writes of an organization's senders (issue 20, item 6): its SMS numbers (migration
//! 0031, pacing from 0035) created, listed and edited within the organization, beside [`crate::sms`]'s creation and the webhook's lookup by id
//! alone. The SMTP sender is [`crate::outreach`]'s `email_sender` / `set_email_sender`.
//!
//! Secrets arrive sealed by the server and leave sealed; these reads name their columns and return a row type of
//! their own, so a column added to `sms_senders` later changes nothing here.

use heard_domain::OrgId;
use uuid::Uuid;

use crate::{Result, Store, StoreError, on_pool};

/// A sending number as the admin sees it. `auth_token_sealed` is opaque bytes (the server never shows it).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SmsSenderSettings {
    pub id: Uuid,
    /// E.164, for example `+15005550006`.
    pub phone_number: String,
    pub account_sid: String,
    pub auth_token_sealed: Vec<u8>,
    pub help_contact: String,
    /// Sends at most this many messages a second (1 to 100; migration 0035).
    pub messages_per_second: i32,
    /// Milliseconds since the Unix epoch.
    pub created_at: i64,
}

/// A sending number's new settings. `auth_token_sealed: None` keeps the token it has.
#[derive(Debug, Clone)]
pub struct SmsSenderUpdate {
    pub phone_number: String,
    pub account_sid: String,
    pub auth_token_sealed: Option<Vec<u8>>,
    pub help_contact: String,
    /// 1 to 100.
    pub messages_per_second: i32,
}

const COLUMNS: &str = "id, phone_number, account_sid, auth_token_sealed, help_contact, messages_per_second, created_at";

impl Store {
    /// The organization's sending numbers, oldest first.
    pub async fn sms_senders(&self, org: OrgId) -> Result<Vec<SmsSenderSettings>> {
        let sql =
            format!("SELECT {COLUMNS} FROM sms_senders WHERE org_id = $1 ORDER BY created_at, id");
        Ok(
            on_pool!(self, p => sqlx::query_as::<_, SmsSenderSettings>(&sql)
            .bind(org.as_uuid()).fetch_all(p).await)?,
        )
    }

    /// One sending number of the organization; another organization's id is [`StoreError::NotFound`].
    pub async fn org_sms_sender(&self, org: OrgId, id: Uuid) -> Result<SmsSenderSettings> {
        let sql = format!("SELECT {COLUMNS} FROM sms_senders WHERE org_id = $1 AND id = $2");
        on_pool!(self, p => sqlx::query_as::<_, SmsSenderSettings>(&sql)
            .bind(org.as_uuid()).bind(id).fetch_optional(p).await)?
        .ok_or(StoreError::NotFound)
    }

    /// Creates a sending number with its pacing in one statement and returns its id (what the admin's form does;
    /// [`Store::create_sms_sender`] leaves the default of 1 a second).
    pub async fn create_paced_sms_sender(
        &self,
        org: OrgId,
        sender: &crate::sms::NewSmsSender,
        messages_per_second: i32,
        now: i64,
    ) -> Result<Uuid> {
        let id = Uuid::now_v7();
        on_pool!(self, p => sqlx::query(
            "INSERT INTO sms_senders (org_id, id, phone_number, account_sid, auth_token_sealed, help_contact, \
             messages_per_second, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
            .bind(org.as_uuid()).bind(id).bind(&sender.phone_number).bind(&sender.account_sid)
            .bind(&sender.auth_token_sealed).bind(&sender.help_contact).bind(messages_per_second).bind(now)
            .execute(p).await.map(|_| ()))?;
        Ok(id)
    }

    /// Changes a sending number of the organization in one statement (the token only when a new one is given);
    /// another organization's id is [`StoreError::NotFound`] and changes nothing.
    pub async fn update_sms_sender(&self, org: OrgId, id: Uuid, s: &SmsSenderUpdate) -> Result<()> {
        let n = on_pool!(self, p => sqlx::query(
            "UPDATE sms_senders SET phone_number = $3, account_sid = $4, \
             auth_token_sealed = COALESCE($5, auth_token_sealed), help_contact = $6, messages_per_second = $7 \
             WHERE org_id = $1 AND id = $2")
            .bind(org.as_uuid()).bind(id).bind(&s.phone_number).bind(&s.account_sid)
            .bind(&s.auth_token_sealed).bind(&s.help_contact).bind(s.messages_per_second)
            .execute(p).await.map(|r| r.rows_affected()))?;
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }
}
