//! Two-way SMS (migration 0031): an organization's sending numbers, survey conversations (their state survives a
//! restart), messages in and out with their delivery states, and consent: every opt-out and opt-in in a log kept
//! forever, and the numbers opted out now.
//!
//! People's numbers appear only as `phone_key` (the keyed hash per organization that `Sealer::person_key` gives an
//! E.164 number) and, where a number is needed to send, sealed by the server. An inbound message's effect (its row,
//! a consent change, the conversation's new state) commits in one transaction keyed by the provider's message id:
//! a replayed webhook finds the id taken and changes nothing.

use heard_domain::{OrgId, SurveyId};
use uuid::Uuid;

use crate::{Result, Store, WritePool, on_pool};

/// A sending number to create. The auth token arrives sealed by the server.
#[derive(Debug, Clone)]
pub struct NewSmsSender {
    /// E.164, for example `+15005550006`.
    pub phone_number: String,
    pub account_sid: String,
    pub auth_token_sealed: Vec<u8>,
    /// What HELP answers with: a phone number, an address or a web page.
    pub help_contact: String,
}

/// A sending number.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SmsSender {
    pub org_id: Uuid,
    pub id: Uuid,
    pub phone_number: String,
    pub account_sid: String,
    pub auth_token_sealed: Vec<u8>,
    pub help_contact: String,
    pub created_at: i64,
}

/// A conversation to start (an invitation sent, or a test).
#[derive(Debug, Clone)]
pub struct NewSmsConversation {
    pub sender_id: Uuid,
    pub phone_key: String,
    pub phone_sealed: Vec<u8>,
    pub person_key: String,
    pub survey_id: SurveyId,
    pub survey_version: i32,
    /// `heard_channels::sms::Lang::code`: `en` or `es`.
    pub lang: String,
    /// `one_to_five` or `yes_no`.
    pub scale: String,
}

/// A stored conversation. `step`, `lang` and `scale` are the codes of `heard_channels::sms`.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SmsConversation {
    pub id: Uuid,
    pub sender_id: Uuid,
    pub phone_key: String,
    pub phone_sealed: Vec<u8>,
    pub person_key: String,
    pub survey_id: Uuid,
    pub survey_version: i32,
    pub step: String,
    pub lang: String,
    pub scale: String,
    pub reprompts: i32,
    pub answers_sealed: Option<Vec<u8>>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// A conversation's new state after a message.
#[derive(Debug, Clone)]
pub struct ConversationUpdate {
    pub id: Uuid,
    pub step: String,
    pub lang: String,
    pub reprompts: i32,
    pub answers_sealed: Option<Vec<u8>>,
}

/// What an inbound message does besides being recorded.
#[derive(Debug, Clone)]
pub enum InboundEffect {
    /// The number opts out of everything the organization sends (`keyword` as received, upper-cased).
    OptOut { phone_key: String, keyword: String },
    /// The number opts back in.
    OptIn { phone_key: String, keyword: String },
    /// A conversation moves on (or changes language).
    Conversation(ConversationUpdate),
    /// Nothing but the record (HELP, or a message no conversation awaits).
    None,
}

/// An inbound message as the webhook read it.
#[derive(Debug, Clone)]
pub struct InboundSms {
    pub sender_id: Uuid,
    /// Twilio's MessageSid.
    pub provider_message_id: String,
    pub conversation_id: Option<Uuid>,
    pub segments: Option<i32>,
    pub effect: InboundEffect,
    /// Milliseconds since the Unix epoch.
    pub now: i64,
}

/// An outbound message to record.
#[derive(Debug, Clone)]
pub struct OutboundSms {
    pub sender_id: Uuid,
    pub conversation_id: Option<Uuid>,
    pub provider_message_id: Option<String>,
    /// Twilio's state as the provider answered: `queued`, `accepted`, ...
    pub status: String,
    pub segments: i32,
    /// Milliseconds since the Unix epoch.
    pub now: i64,
}

/// Whether an inbound message took effect or had been seen before.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InboundOutcome {
    Applied,
    /// The provider's message id was already stored: nothing changed.
    Replayed,
}

/// One consent change.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ConsentEntry {
    pub action: String,
    pub keyword: String,
    pub provider_message_id: Option<String>,
    pub at: i64,
}

/// A delivery state's place in Twilio's order (`queued` → `sending` → `sent` → a final state); a status callback
/// never moves a message back, since callbacks may arrive out of order.
pub fn status_rank(status: &str) -> u8 {
    match status {
        "accepted" | "scheduled" | "queued" => 0,
        "sending" => 1,
        "sent" => 2,
        _ => 3, // delivered, undelivered, failed, received, read, canceled
    }
}

impl Store {
    /// Creates a sending number for the organization and returns its id.
    pub async fn create_sms_sender(
        &self,
        org: OrgId,
        sender: &NewSmsSender,
        now: i64,
    ) -> Result<Uuid> {
        let id = Uuid::now_v7();
        on_pool!(self, p => sqlx::query(
            "INSERT INTO sms_senders (org_id, id, phone_number, account_sid, auth_token_sealed, help_contact, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)")
            .bind(org.as_uuid()).bind(id).bind(&sender.phone_number).bind(&sender.account_sid)
            .bind(&sender.auth_token_sealed).bind(&sender.help_contact).bind(now)
            .execute(p).await.map(|_| ()))?;
        Ok(id)
    }

    /// A sending number by its id alone (the webhook's address names only the sender); its organization is in it.
    pub async fn sms_sender(&self, id: Uuid) -> Result<Option<SmsSender>> {
        Ok(on_pool!(self, p => sqlx::query_as::<_, SmsSender>(
            "SELECT org_id, id, phone_number, account_sid, auth_token_sealed, help_contact, created_at \
             FROM sms_senders WHERE id = $1")
            .bind(id).fetch_optional(p).await)?)
    }

    /// Starts a conversation at its first question and returns its id.
    pub async fn start_sms_conversation(
        &self,
        org: OrgId,
        c: &NewSmsConversation,
        now: i64,
    ) -> Result<Uuid> {
        let id = Uuid::now_v7();
        on_pool!(self, p => sqlx::query(
            "INSERT INTO sms_conversations (org_id, id, sender_id, phone_key, phone_sealed, person_key, survey_id, \
             survey_version, step, lang, scale, reprompts, answers_sealed, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'trust', $9, $10, 0, NULL, $11, $11)")
            .bind(org.as_uuid()).bind(id).bind(c.sender_id).bind(&c.phone_key).bind(&c.phone_sealed)
            .bind(&c.person_key).bind(c.survey_id.as_uuid()).bind(c.survey_version).bind(&c.lang).bind(&c.scale)
            .bind(now).execute(p).await.map(|_| ()))?;
        Ok(id)
    }

    /// The number's latest conversation on this sender, which an inbound message continues.
    pub async fn latest_sms_conversation(
        &self,
        org: OrgId,
        sender_id: Uuid,
        phone_key: &str,
    ) -> Result<Option<SmsConversation>> {
        Ok(on_pool!(self, p => sqlx::query_as::<_, SmsConversation>(
            "SELECT id, sender_id, phone_key, phone_sealed, person_key, survey_id, survey_version, step, lang, scale, \
             reprompts, answers_sealed, created_at, updated_at FROM sms_conversations \
             WHERE org_id = $1 AND sender_id = $2 AND phone_key = $3 ORDER BY created_at DESC, id DESC LIMIT 1")
            .bind(org.as_uuid()).bind(sender_id).bind(phone_key).fetch_optional(p).await)?)
    }

    /// Whether the number is opted out of the organization's messages now.
    pub async fn sms_opted_out(&self, org: OrgId, phone_key: &str) -> Result<bool> {
        let row: Option<(i64,)> = on_pool!(self, p => sqlx::query_as(
            "SELECT at FROM sms_opt_outs WHERE org_id = $1 AND phone_key = $2")
            .bind(org.as_uuid()).bind(phone_key).fetch_optional(p).await)?;
        Ok(row.is_some())
    }

    /// The number's consent changes, oldest first.
    pub async fn sms_consent_log(&self, org: OrgId, phone_key: &str) -> Result<Vec<ConsentEntry>> {
        Ok(on_pool!(self, p => sqlx::query_as::<_, ConsentEntry>(
            "SELECT action, keyword, provider_message_id, at FROM sms_consent_log \
             WHERE org_id = $1 AND phone_key = $2 ORDER BY at, id")
            .bind(org.as_uuid()).bind(phone_key).fetch_all(p).await)?)
    }

    /// Records an inbound message and its effect in one transaction. A provider message id seen before changes
    /// nothing and returns `Replayed`.
    pub async fn apply_inbound_sms(&self, org: OrgId, m: &InboundSms) -> Result<InboundOutcome> {
        on_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let inserted = sqlx::query(
                "INSERT INTO sms_messages (org_id, id, sender_id, conversation_id, direction, provider_message_id, \
                 status, segments, error_code, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, 'inbound', $5, 'received', $6, NULL, $7, $7) \
                 ON CONFLICT (org_id, provider_message_id) DO NOTHING")
                .bind(org.as_uuid()).bind(Uuid::now_v7()).bind(m.sender_id).bind(m.conversation_id)
                .bind(&m.provider_message_id).bind(m.segments).bind(m.now)
                .execute(&mut *tx).await?.rows_affected();
            if inserted == 0 {
                tx.rollback().await?;
                return Ok(InboundOutcome::Replayed);
            }
            match &m.effect {
                InboundEffect::OptOut { phone_key, keyword } | InboundEffect::OptIn { phone_key, keyword } => {
                    let out = matches!(m.effect, InboundEffect::OptOut { .. });
                    sqlx::query(
                        "INSERT INTO sms_consent_log (org_id, id, phone_key, action, keyword, provider_message_id, at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7)")
                        .bind(org.as_uuid()).bind(Uuid::now_v7()).bind(phone_key)
                        .bind(if out { "opt_out" } else { "opt_in" }).bind(keyword)
                        .bind(&m.provider_message_id).bind(m.now).execute(&mut *tx).await?;
                    if out {
                        sqlx::query(
                            "INSERT INTO sms_opt_outs (org_id, phone_key, at) VALUES ($1, $2, $3) \
                             ON CONFLICT (org_id, phone_key) DO NOTHING")
                            .bind(org.as_uuid()).bind(phone_key).bind(m.now).execute(&mut *tx).await?;
                    } else {
                        sqlx::query("DELETE FROM sms_opt_outs WHERE org_id = $1 AND phone_key = $2")
                            .bind(org.as_uuid()).bind(phone_key).execute(&mut *tx).await?;
                    }
                }
                InboundEffect::Conversation(u) => {
                    sqlx::query(
                        "UPDATE sms_conversations SET step = $3, lang = $4, reprompts = $5, answers_sealed = $6, \
                         updated_at = $7 WHERE org_id = $1 AND id = $2")
                        .bind(org.as_uuid()).bind(u.id).bind(&u.step).bind(&u.lang).bind(u.reprompts)
                        .bind(&u.answers_sealed).bind(m.now).execute(&mut *tx).await?;
                }
                InboundEffect::None => {}
            }
            tx.commit().await?;
            Ok(InboundOutcome::Applied)
        })
    }

    /// Records an outbound message (accepted by the provider, or about to be sent) and returns its id.
    pub async fn record_outbound_sms(&self, org: OrgId, m: &OutboundSms) -> Result<Uuid> {
        let id = Uuid::now_v7();
        on_pool!(self, p => sqlx::query(
            "INSERT INTO sms_messages (org_id, id, sender_id, conversation_id, direction, provider_message_id, \
             status, segments, error_code, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, 'outbound', $5, $6, $7, NULL, $8, $8)")
            .bind(org.as_uuid()).bind(id).bind(m.sender_id).bind(m.conversation_id).bind(&m.provider_message_id)
            .bind(&m.status).bind(m.segments).bind(m.now).execute(p).await.map(|_| ()))?;
        Ok(id)
    }

    /// Applies a status callback: the message's delivery state moves forward only (see [`status_rank`]). Returns
    /// whether a message with that provider id exists in the organization.
    pub async fn update_sms_status(
        &self,
        org: OrgId,
        provider_message_id: &str,
        status: &str,
        error_code: Option<&str>,
        now: i64,
    ) -> Result<bool> {
        on_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let current: Option<(String,)> = sqlx::query_as(
                "SELECT status FROM sms_messages WHERE org_id = $1 AND provider_message_id = $2")
                .bind(org.as_uuid()).bind(provider_message_id).fetch_optional(&mut *tx).await?;
            let Some((current,)) = current else {
                tx.rollback().await?;
                return Ok(false);
            };
            if status_rank(status) >= status_rank(&current) && status != current {
                sqlx::query(
                    "UPDATE sms_messages SET status = $3, error_code = $4, updated_at = $5 \
                     WHERE org_id = $1 AND provider_message_id = $2")
                    .bind(org.as_uuid()).bind(provider_message_id).bind(status).bind(error_code).bind(now)
                    .execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok(true)
        })
    }

    /// A message's delivery state by provider id (tests and the admin).
    pub async fn sms_message_status(
        &self,
        org: OrgId,
        provider_message_id: &str,
    ) -> Result<Option<String>> {
        let row: Option<(String,)> = on_pool!(self, p => sqlx::query_as(
            "SELECT status FROM sms_messages WHERE org_id = $1 AND provider_message_id = $2")
            .bind(org.as_uuid()).bind(provider_message_id).fetch_optional(p).await)?;
        Ok(row.map(|(s,)| s))
    }

    /// How many messages the organization has stored (tests: an invalid webhook stores nothing).
    pub async fn sms_message_count(&self, org: OrgId) -> Result<i64> {
        let (n,): (i64,) = on_pool!(self, p => sqlx::query_as(
            "SELECT COUNT(*) FROM sms_messages WHERE org_id = $1").bind(org.as_uuid()).fetch_one(p).await)?;
        Ok(n)
    }
}
