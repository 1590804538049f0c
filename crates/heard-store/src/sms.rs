//! Two-way SMS (migration 0031): an organization's sending numbers, survey conversations (their state survives a
//! restart), messages in and out with their delivery states, and consent: every opt-out and opt-in in a log kept
//! forever, and the numbers opted out now.
//!
//! People's numbers appear only as `phone_key` (the keyed hash per organization that `Sealer::person_key` gives an
//! E.164 number) and, where a number is needed to send, sealed by the server. An inbound message's effect (its row,
//! a consent change, the conversation's new state) commits in one transaction keyed by the provider's message id:
//! a replayed webhook finds the id taken and changes nothing.
//!
//! Outbound (migration 0035): a sender's pacing slot, taken by one conditional UPDATE; a send recorded
//! (`attempting`) before the provider is called and settled (provider id and state, `failed`, or `unknown`) in the
//! transaction that completes its job; how a conversation ended (`completed`, `stale`).

use heard_domain::{OrgId, SurveyId};
use uuid::Uuid;

use crate::jobs::{ClaimedJob, StoreTx, on_tx};
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
    /// Sends a second at most (migration 0035; Twilio's long codes take 1).
    pub messages_per_second: i32,
    /// The earliest moment the next send may start, ms since the epoch (the pacing slot).
    pub next_send_at: i64,
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
    /// `completed`, `stale` (no reply for a day), or `None` while it runs (migration 0035).
    pub ended: Option<String>,
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
        // Ours: a send recorded before the provider was called, and one whose outcome is not known (see
        // `heard_server::sms_send`); a status callback settles either.
        "attempting" | "unknown" => 0,
        "accepted" | "scheduled" | "queued" => 0,
        "sending" => 1,
        "sent" => 2,
        _ => 3, // delivered, undelivered, failed, received, read, canceled, and our held_opted_out
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
            "SELECT org_id, id, phone_number, account_sid, auth_token_sealed, help_contact, created_at, \
             messages_per_second, next_send_at FROM sms_senders WHERE id = $1")
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
             reprompts, answers_sealed, created_at, updated_at, ended FROM sms_conversations \
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
                         updated_at = $7, ended = CASE WHEN $3 = 'done' THEN COALESCE(ended, 'completed') END \
                         WHERE org_id = $1 AND id = $2")
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

    /// The job of `kind` enqueued with `dedupe_key` in the organization, if any (an SMS invitation's payload seals
    /// the number afresh each time, so a repeated invitation finds its job by key rather than by payload).
    pub async fn job_by_dedupe_key(
        &self,
        org: OrgId,
        kind: &str,
        dedupe_key: &str,
    ) -> Result<Option<Uuid>> {
        Ok(on_pool!(self, p => sqlx::query_scalar(
            "SELECT id FROM jobs WHERE org_id = $1 AND kind = $2 AND dedupe_key = $3")
            .bind(org.as_uuid()).bind(kind).bind(dedupe_key).fetch_optional(p).await)?)
    }

    /// A conversation by id.
    pub async fn sms_conversation(&self, org: OrgId, id: Uuid) -> Result<Option<SmsConversation>> {
        Ok(on_pool!(self, p => sqlx::query_as::<_, SmsConversation>(
            "SELECT id, sender_id, phone_key, phone_sealed, person_key, survey_id, survey_version, step, lang, scale, \
             reprompts, answers_sealed, created_at, updated_at, ended FROM sms_conversations \
             WHERE org_id = $1 AND id = $2")
            .bind(org.as_uuid()).bind(id).fetch_optional(p).await)?)
    }

    /// An outbound message by our id: its state and the provider's id, if it has one.
    pub async fn sms_outbound(&self, org: OrgId, id: Uuid) -> Result<Option<OutboundState>> {
        Ok(on_pool!(self, p => sqlx::query_as::<_, OutboundState>(
            "SELECT id, conversation_id, provider_message_id, status, segments, error_code FROM sms_messages \
             WHERE org_id = $1 AND id = $2 AND direction = 'outbound'")
            .bind(org.as_uuid()).bind(id).fetch_optional(p).await)?)
    }

    /// The organization's outbound messages in one state, newest first (at most `limit`): `unknown` lists the
    /// sends whose outcome nobody knows, for a person to check with the provider.
    pub async fn sms_outbound_in_state(
        &self,
        org: OrgId,
        status: &str,
        limit: i64,
    ) -> Result<Vec<OutboundState>> {
        Ok(on_pool!(self, p => sqlx::query_as::<_, OutboundState>(
            "SELECT id, conversation_id, provider_message_id, status, segments, error_code FROM sms_messages \
             WHERE org_id = $1 AND direction = 'outbound' AND status = $2 ORDER BY created_at DESC, id DESC LIMIT $3")
            .bind(org.as_uuid()).bind(status).bind(limit).fetch_all(p).await)?)
    }

    /// Sets a sender's pacing: `messages_per_second` from 1 to 100 (the CHECK of migration 0035 refuses others).
    pub async fn set_sms_pacing(
        &self,
        org: OrgId,
        sender: Uuid,
        messages_per_second: i32,
    ) -> Result<bool> {
        let n = on_pool!(self, p => sqlx::query(
            "UPDATE sms_senders SET messages_per_second = $3 WHERE org_id = $1 AND id = $2")
            .bind(org.as_uuid()).bind(sender).bind(messages_per_second).execute(p).await.map(|r| r.rows_affected()))?;
        Ok(n == 1)
    }

    /// Gives an outbound message the provider's id a status callback brought (`?m=` names our id): the callback
    /// of a send whose answer was lost settles it. Only a message without a provider id yet takes one.
    pub async fn attach_sms_provider_id(
        &self,
        org: OrgId,
        id: Uuid,
        provider_message_id: &str,
        now: i64,
    ) -> Result<bool> {
        let n = on_pool!(self, p => sqlx::query(
            "UPDATE sms_messages SET provider_message_id = $3, updated_at = $4 \
             WHERE org_id = $1 AND id = $2 AND direction = 'outbound' AND provider_message_id IS NULL \
             AND NOT EXISTS (SELECT 1 FROM sms_messages o WHERE o.org_id = $1 AND o.provider_message_id = $3)")
            .bind(org.as_uuid()).bind(id).bind(provider_message_id).bind(now)
            .execute(p).await.map(|r| r.rows_affected()))?;
        Ok(n == 1)
    }
}

/// An outbound message's state.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct OutboundState {
    pub id: Uuid,
    pub conversation_id: Option<Uuid>,
    pub provider_message_id: Option<String>,
    /// `attempting`, `unknown`, `held_opted_out`, or Twilio's states (`queued`, `sent`, `delivered`, `failed`, ...).
    pub status: String,
    pub segments: Option<i32>,
    pub error_code: Option<String>,
}

/// The outbound send path's writes, each in the caller's transaction (`heard_server::sms_send`), so a send's record,
/// its job's completion and what it counts commit together.
impl StoreTx {
    /// Takes the sender's next pacing slot at `now` when it is free (`next_send_at <= now`), moving it on by
    /// `1000 / messages_per_second` ms, and returns `None`; when it is taken, returns `Some(moment it frees)`. One
    /// conditional UPDATE, so two workers never take the same slot.
    pub async fn take_sms_slot(
        &mut self,
        org: OrgId,
        sender: Uuid,
        now: i64,
    ) -> Result<Option<i64>> {
        let n = on_tx!(self, t => sqlx::query(
            "UPDATE sms_senders SET next_send_at = $3 + 1000 / messages_per_second \
             WHERE org_id = $1 AND id = $2 AND next_send_at <= $3")
            .bind(org.as_uuid()).bind(sender).bind(now).execute(&mut **t).await.map(|r| r.rows_affected()))?;
        if n == 1 {
            return Ok(None);
        }
        let at: Option<i64> = on_tx!(self, t => sqlx::query_scalar(
            "SELECT next_send_at FROM sms_senders WHERE org_id = $1 AND id = $2")
            .bind(org.as_uuid()).bind(sender).fetch_optional(&mut **t).await)?;
        Ok(Some(at.unwrap_or(now).max(now + 1)))
    }

    /// Puts a claimed job back in the queue for `run_at` without counting the attempt (it waited; it did not
    /// fail): pacing, or a conversation not yet stale. False when the claim had lapsed.
    pub async fn defer_claimed_job(&mut self, job: &ClaimedJob, run_at: i64) -> Result<bool> {
        let n = on_tx!(self, t => sqlx::query(
            "UPDATE jobs SET state = 'queued', attempts = attempts - 1, claim = NULL, locked_until = NULL, \
             run_at = $4, updated_at = $5 WHERE org_id = $1 AND id = $2 AND claim = $3 AND state = 'running'")
            .bind(job.job.org_id.as_uuid()).bind(job.job.id.as_uuid()).bind(job.claim).bind(run_at)
            .bind(crate::now_ms()).execute(&mut **t).await.map(|r| r.rows_affected()))?;
        Ok(n == 1)
    }

    /// Starts a conversation with a given id (an invitation's job id), or does nothing when it exists (a retried
    /// send keeps the conversation the first attempt started).
    pub async fn start_sms_conversation_as(
        &mut self,
        org: OrgId,
        id: Uuid,
        c: &NewSmsConversation,
        outreach: Option<Uuid>,
        now: i64,
    ) -> Result<()> {
        on_tx!(self, t => sqlx::query(
            "INSERT INTO sms_conversations (org_id, id, sender_id, phone_key, phone_sealed, person_key, survey_id, \
             survey_version, step, lang, scale, reprompts, answers_sealed, created_at, updated_at, outreach_id) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'trust', $9, $10, 0, NULL, $11, $11, $12) \
             ON CONFLICT (org_id, id) DO NOTHING")
            .bind(org.as_uuid()).bind(id).bind(c.sender_id).bind(&c.phone_key).bind(&c.phone_sealed)
            .bind(&c.person_key).bind(c.survey_id.as_uuid()).bind(c.survey_version).bind(&c.lang).bind(&c.scale)
            .bind(now).bind(outreach).execute(&mut **t).await.map(|_| ()))?;
        Ok(())
    }

    /// Records an outbound message with our id `id` before the provider is called (`attempting`), or one not sent
    /// (`held_opted_out`).
    pub async fn record_sms_outbound(
        &mut self,
        org: OrgId,
        id: Uuid,
        m: &OutboundSms,
    ) -> Result<()> {
        on_tx!(self, t => sqlx::query(
            "INSERT INTO sms_messages (org_id, id, sender_id, conversation_id, direction, provider_message_id, \
             status, segments, error_code, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, 'outbound', $5, $6, $7, NULL, $8, $8)")
            .bind(org.as_uuid()).bind(id).bind(m.sender_id).bind(m.conversation_id).bind(&m.provider_message_id)
            .bind(&m.status).bind(m.segments).bind(m.now).execute(&mut **t).await.map(|_| ()))?;
        Ok(())
    }

    /// Settles a recorded send: the provider's id when it answered, its state (`queued`, `failed`, `unknown`) and
    /// error code.
    pub async fn settle_sms_outbound(
        &mut self,
        org: OrgId,
        id: Uuid,
        status: &str,
        provider_message_id: Option<&str>,
        error_code: Option<&str>,
        now: i64,
    ) -> Result<()> {
        on_tx!(self, t => sqlx::query(
            "UPDATE sms_messages SET status = $3, provider_message_id = COALESCE($4, provider_message_id), \
             error_code = $5, updated_at = $6 WHERE org_id = $1 AND id = $2 AND direction = 'outbound'")
            .bind(org.as_uuid()).bind(id).bind(status).bind(provider_message_id).bind(error_code).bind(now)
            .execute(&mut **t).await.map(|_| ()))?;
        Ok(())
    }

    /// Forgets a recorded send the provider certainly did not take (it could not be reached, or answered 5xx or
    /// 429), so the job's retry records it afresh.
    pub async fn forget_sms_attempt(&mut self, org: OrgId, id: Uuid) -> Result<()> {
        on_tx!(self, t => sqlx::query(
            "DELETE FROM sms_messages WHERE org_id = $1 AND id = $2 AND direction = 'outbound' \
             AND status = 'attempting'")
            .bind(org.as_uuid()).bind(id).execute(&mut **t).await.map(|_| ()))?;
        Ok(())
    }

    /// Counts one survey offered by SMS on the organization's local `day` (days since 1970-01-01): A-11's
    /// "customers offered the survey", the same `displays` row `Store::record_display` adds to.
    pub async fn record_sms_offered(
        &mut self,
        org: OrgId,
        survey: SurveyId,
        day: i64,
    ) -> Result<()> {
        on_tx!(self, t => sqlx::query(
            "INSERT INTO displays (org_id, survey_id, channel, day, shown) VALUES ($1, $2, $3, $4, 1) \
             ON CONFLICT (org_id, survey_id, channel, day) DO UPDATE SET shown = displays.shown + excluded.shown")
            .bind(org.as_uuid()).bind(survey.as_uuid()).bind(heard_domain::Arrival::Sms.channel().key()).bind(day).execute(&mut **t).await.map(|_| ()))?;
        Ok(())
    }

    /// Ends a conversation that is still running (`ended` is `stale` or `completed`). False when it had ended.
    pub async fn end_sms_conversation(
        &mut self,
        org: OrgId,
        id: Uuid,
        ended: &str,
        now: i64,
    ) -> Result<bool> {
        let n = on_tx!(self, t => sqlx::query(
            "UPDATE sms_conversations SET step = 'done', ended = $3, updated_at = $4 \
             WHERE org_id = $1 AND id = $2 AND step <> 'done'")
            .bind(org.as_uuid()).bind(id).bind(ended).bind(now).execute(&mut **t).await.map(|r| r.rows_affected()))?;
        Ok(n == 1)
    }
}
