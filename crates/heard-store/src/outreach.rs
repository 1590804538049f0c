//! Email survey outreach (issue 20, item 4): an organization's SMTP sender settings, the email survey invitations it
//! sends, and its suppression list. Named "outreach" to keep it apart from staff invitations ([`crate::accounts`]).
//!
//! The store keeps what the server gives it: passwords, DKIM keys and addresses arrive sealed
//! (`heard_server::crypto::Sealer::seal`) and leave sealed; addresses are also matched by a keyed hash the caller
//! computes (`address_hash`), and an invitation's single-use token only by its SHA-256 (`token_hash`, hex).
//!
//! **States of an invitation.** `queued` (written with its send job, in one transaction) → `sent` (in the send job's
//! completing transaction) → `reminded` (the one reminder) → `opened` (its link was followed) → `answered` (a
//! response came through its link). `bounced` and `unsubscribed` end it from any state but `answered`. Each
//! transition is guarded by the states it may come from, so a retried job or a second click changes nothing.
//!
//! **Answered through the link** (migration 0034). The move to `answered` that a response makes is not
//! `StoreTx::move_email_invitation` but `Store::submit_invited`, which writes it in the response's own commit with
//! the response's id (`response_id`); `started_at` notes the first time the link's form was sent back, stored or not.

use heard_domain::{OrgId, SurveyId};
use uuid::Uuid;

use crate::jobs::{StoreTx, on_tx};
use crate::{Result, Store, StoreError, on_pool};

/// How the SMTP connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsMode {
    /// Implicit TLS from the first byte (SMTPS, usually port 465).
    Tls,
    /// Plain connection upgraded with STARTTLS, which is required (usually port 587).
    StartTls,
    /// No TLS: for a relay on loopback and for tests only.
    None,
}

impl TlsMode {
    /// The stored word: `tls`, `starttls` or `none`.
    pub fn key(self) -> &'static str {
        match self {
            TlsMode::Tls => "tls",
            TlsMode::StartTls => "starttls",
            TlsMode::None => "none",
        }
    }

    /// The mode a stored (or submitted) word names, if any.
    pub fn parse(s: &str) -> Option<TlsMode> {
        match s {
            "tls" => Some(TlsMode::Tls),
            "starttls" => Some(TlsMode::StartTls),
            "none" => Some(TlsMode::None),
            _ => None,
        }
    }
}

/// An organization's SMTP sender. Sealed fields are opaque bytes here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailSender {
    pub host: String,
    pub port: u16,
    pub tls: TlsMode,
    pub username: Option<String>,
    pub password_sealed: Option<Vec<u8>>,
    /// The `From` address (`agency@example.gov`).
    pub from_address: String,
    /// The display name shown with it, if any.
    pub from_name: Option<String>,
    /// DKIM signing, when all three are given: selector, signing domain (`d=`), sealed private key (PEM).
    pub dkim_selector: Option<String>,
    pub dkim_domain: Option<String>,
    pub dkim_key_sealed: Option<Vec<u8>>,
}

/// Where an invitation is in its life (see the module's docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvitationState {
    Queued,
    Sent,
    Reminded,
    Opened,
    Answered,
    Bounced,
    Unsubscribed,
}

impl InvitationState {
    /// The stored word.
    pub fn key(self) -> &'static str {
        match self {
            InvitationState::Queued => "queued",
            InvitationState::Sent => "sent",
            InvitationState::Reminded => "reminded",
            InvitationState::Opened => "opened",
            InvitationState::Answered => "answered",
            InvitationState::Bounced => "bounced",
            InvitationState::Unsubscribed => "unsubscribed",
        }
    }

    /// The state a stored word names, if any.
    pub fn parse(s: &str) -> Option<InvitationState> {
        Some(match s {
            "queued" => InvitationState::Queued,
            "sent" => InvitationState::Sent,
            "reminded" => InvitationState::Reminded,
            "opened" => InvitationState::Opened,
            "answered" => InvitationState::Answered,
            "bounced" => InvitationState::Bounced,
            "unsubscribed" => InvitationState::Unsubscribed,
            _ => return None,
        })
    }

    /// The states a move into `self` may come from; the time column it sets.
    fn entry(self) -> (&'static str, &'static str) {
        match self {
            InvitationState::Queued => ("", "created_at"),
            InvitationState::Sent => ("'queued'", "sent_at"),
            InvitationState::Reminded => ("'sent'", "reminded_at"),
            InvitationState::Opened => ("'sent', 'reminded'", "opened_at"),
            InvitationState::Answered => ("'queued', 'sent', 'reminded', 'opened'", "answered_at"),
            InvitationState::Bounced => ("'queued', 'sent', 'reminded', 'opened'", "bounced_at"),
            InvitationState::Unsubscribed => (
                "'queued', 'sent', 'reminded', 'opened', 'bounced'",
                "unsubscribed_at",
            ),
        }
    }
}

/// Why an address is suppressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SuppressionReason {
    /// The person unsubscribed (one-click or the unsubscribe page).
    Unsubscribe,
    /// A delivery status notification reported a permanent failure (status 5.x.x).
    Bounce,
    /// A feedback report marked the message as spam.
    Complaint,
}

impl SuppressionReason {
    /// The stored word.
    pub fn key(self) -> &'static str {
        match self {
            SuppressionReason::Unsubscribe => "unsubscribe",
            SuppressionReason::Bounce => "bounce",
            SuppressionReason::Complaint => "complaint",
        }
    }

    /// The reason a stored word names, if any.
    pub fn parse(s: &str) -> Option<SuppressionReason> {
        match s {
            "unsubscribe" => Some(SuppressionReason::Unsubscribe),
            "bounce" => Some(SuppressionReason::Bounce),
            "complaint" => Some(SuppressionReason::Complaint),
            _ => None,
        }
    }
}

/// A new email survey invitation.
#[derive(Debug, Clone)]
pub struct NewEmailInvitation<'a> {
    pub org_id: OrgId,
    /// Chosen by the caller (a UUIDv7), since the link's token may be derived from it.
    pub id: Uuid,
    pub survey_id: SurveyId,
    /// The published version the link is bound to.
    pub survey_version: i32,
    pub person_key: &'a str,
    pub address_sealed: &'a [u8],
    pub address_hash: &'a str,
    /// `en`, `es`, ... (a `heard_domain::Lang`).
    pub language: &'a str,
    /// SHA-256 (hex) of the link's token.
    pub token_hash: &'a str,
    /// When the link stops working, ms.
    pub expires_at: i64,
}

/// A stored email survey invitation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailInvitation {
    pub org_id: OrgId,
    pub id: Uuid,
    pub survey_id: SurveyId,
    pub survey_version: i32,
    pub person_key: String,
    pub address_sealed: Vec<u8>,
    pub address_hash: String,
    pub language: String,
    pub state: InvitationState,
    pub created_at: i64,
    pub expires_at: i64,
    pub sent_at: Option<i64>,
    pub reminded_at: Option<i64>,
    pub opened_at: Option<i64>,
    pub answered_at: Option<i64>,
}

const INVITATION_COLUMNS: &str = "org_id, id, survey_id, survey_version, person_key, address_sealed, address_hash, \
    language, state, created_at, expires_at, sent_at, reminded_at, opened_at, answered_at";

type InvitationRow = (
    Uuid,
    Uuid,
    Uuid,
    i32,
    String,
    Vec<u8>,
    String,
    String,
    String,
    i64,
    i64,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    Option<i64>,
);

fn invitation(r: InvitationRow) -> Result<EmailInvitation> {
    Ok(EmailInvitation {
        org_id: OrgId::from_uuid(r.0),
        id: r.1,
        survey_id: SurveyId::from_uuid(r.2),
        survey_version: r.3,
        person_key: r.4,
        address_sealed: r.5,
        address_hash: r.6,
        language: r.7,
        state: InvitationState::parse(&r.8)
            .ok_or_else(|| StoreError::Corrupt(format!("email invitation state {:?}", r.8)))?,
        created_at: r.9,
        expires_at: r.10,
        sent_at: r.11,
        reminded_at: r.12,
        opened_at: r.13,
        answered_at: r.14,
    })
}

type SenderRow = (
    String,
    i32,
    String,
    Option<String>,
    Option<Vec<u8>>,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<Vec<u8>>,
);

type CountsRow = (
    i64,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    Option<i64>,
);

/// Per-state counts of a survey's email invitations.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InvitationCounts {
    /// Every invitation written.
    pub invited: i64,
    /// Accepted by the SMTP server (sent_at set), bounces included.
    pub sent: i64,
    pub opened: i64,
    pub answered: i64,
    pub bounced: i64,
    pub unsubscribed: i64,
}

impl Store {
    /// The organization's SMTP sender, if it has set one.
    pub async fn email_sender(&self, org: OrgId) -> Result<Option<EmailSender>> {
        let row: Option<SenderRow> = on_pool!(self, p => sqlx::query_as(
            "SELECT host, port, tls_mode, username, password_sealed, from_address, from_name, dkim_selector, \
             dkim_domain, dkim_key_sealed FROM email_senders WHERE org_id = $1")
            .bind(org.as_uuid()).fetch_optional(p).await)?;
        row.map(|r| {
            Ok(EmailSender {
                host: r.0,
                port: u16::try_from(r.1)
                    .map_err(|_| StoreError::Corrupt(format!("email sender port {}", r.1)))?,
                tls: TlsMode::parse(&r.2)
                    .ok_or_else(|| StoreError::Corrupt(format!("email sender tls {:?}", r.2)))?,
                username: r.3,
                password_sealed: r.4,
                from_address: r.5,
                from_name: r.6,
                dkim_selector: r.7,
                dkim_domain: r.8,
                dkim_key_sealed: r.9,
            })
        })
        .transpose()
    }

    /// Sets (replaces) the organization's SMTP sender, checked by the caller.
    pub async fn set_email_sender(&self, org: OrgId, s: &EmailSender, now: i64) -> Result<()> {
        on_pool!(self, p => sqlx::query(
            "INSERT INTO email_senders (org_id, host, port, tls_mode, username, password_sealed, from_address, \
             from_name, dkim_selector, dkim_domain, dkim_key_sealed, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
             ON CONFLICT (org_id) DO UPDATE SET host = excluded.host, port = excluded.port, \
             tls_mode = excluded.tls_mode, username = excluded.username, password_sealed = excluded.password_sealed, \
             from_address = excluded.from_address, from_name = excluded.from_name, \
             dkim_selector = excluded.dkim_selector, dkim_domain = excluded.dkim_domain, \
             dkim_key_sealed = excluded.dkim_key_sealed, updated_at = excluded.updated_at")
            .bind(org.as_uuid()).bind(&s.host).bind(i32::from(s.port)).bind(s.tls.key())
            .bind(&s.username).bind(&s.password_sealed).bind(&s.from_address).bind(&s.from_name)
            .bind(&s.dkim_selector).bind(&s.dkim_domain).bind(&s.dkim_key_sealed).bind(now)
            .execute(p).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// One invitation of the organization.
    pub async fn email_invitation(&self, org: OrgId, id: Uuid) -> Result<EmailInvitation> {
        let sql = format!(
            "SELECT {INVITATION_COLUMNS} FROM email_invitations WHERE org_id = $1 AND id = $2"
        );
        let row: Option<InvitationRow> = on_pool!(self, p => sqlx::query_as(&sql)
            .bind(org.as_uuid()).bind(id).fetch_optional(p).await)?;
        invitation(row.ok_or(StoreError::NotFound)?)
    }

    /// The invitation whose link token hashes to `token_hash`, in whichever organization holds it (the link is the
    /// only thing a person brings). The caller checks its state and `expires_at`.
    pub async fn email_invitation_by_token(
        &self,
        token_hash: &str,
    ) -> Result<Option<EmailInvitation>> {
        let sql =
            format!("SELECT {INVITATION_COLUMNS} FROM email_invitations WHERE token_hash = $1");
        let row: Option<InvitationRow> = on_pool!(self, p => sqlx::query_as(&sql)
            .bind(token_hash).fetch_optional(p).await)?;
        row.map(invitation).transpose()
    }

    /// An invitation by its id alone, in whichever organization holds it (the unsubscribe link names only the id;
    /// the caller has checked the link's token first). Ids are UUIDv7 chosen by the server.
    pub async fn email_invitation_by_id(&self, id: Uuid) -> Result<Option<EmailInvitation>> {
        let sql = format!("SELECT {INVITATION_COLUMNS} FROM email_invitations WHERE id = $1");
        let row: Option<InvitationRow> = on_pool!(self, p => sqlx::query_as(&sql)
            .bind(id).fetch_optional(p).await)?;
        row.map(invitation).transpose()
    }

    /// The reason the address (by its keyed hash) is suppressed in the organization, if it is.
    pub async fn email_suppression(
        &self,
        org: OrgId,
        address_hash: &str,
    ) -> Result<Option<SuppressionReason>> {
        let row: Option<(String,)> = on_pool!(self, p => sqlx::query_as(
            "SELECT reason FROM email_suppressions WHERE org_id = $1 AND address_hash = $2")
            .bind(org.as_uuid()).bind(address_hash).fetch_optional(p).await)?;
        row.map(|(r,)| {
            SuppressionReason::parse(&r)
                .ok_or_else(|| StoreError::Corrupt(format!("suppression reason {r:?}")))
        })
        .transpose()
    }

    /// Notes that the invitation's survey form was sent back (`started_at`, first time only), whether or not a
    /// response came of it: a submission returned for a correction is still a start. True when it was the first.
    pub async fn mark_email_invitation_started(
        &self,
        org: OrgId,
        id: Uuid,
        now: i64,
    ) -> Result<bool> {
        let n = on_pool!(self, p => sqlx::query(
            "UPDATE email_invitations SET started_at = $3 WHERE org_id = $1 AND id = $2 AND started_at IS NULL")
            .bind(org.as_uuid()).bind(id).bind(now).execute(p).await.map(|r| r.rows_affected()))?;
        Ok(n == 1)
    }

    /// The response that answered the invitation, if one did (written in the response's own commit).
    pub async fn email_invitation_response(
        &self,
        org: OrgId,
        id: Uuid,
    ) -> Result<Option<heard_domain::ResponseId>> {
        let row: Option<(Option<Uuid>,)> = on_pool!(self, p => sqlx::query_as(
            "SELECT response_id FROM email_invitations WHERE org_id = $1 AND id = $2")
            .bind(org.as_uuid()).bind(id).fetch_optional(p).await)?;
        Ok(row
            .and_then(|(r,)| r)
            .map(heard_domain::ResponseId::from_uuid))
    }

    /// Counts of the survey's email invitations by what happened to them.
    pub async fn email_invitation_counts(
        &self,
        org: OrgId,
        survey: SurveyId,
    ) -> Result<InvitationCounts> {
        let row: CountsRow = on_pool!(self, p => sqlx::query_as(
            "SELECT COUNT(*), \
             SUM(CASE WHEN sent_at IS NOT NULL THEN 1 ELSE 0 END), \
             SUM(CASE WHEN opened_at IS NOT NULL THEN 1 ELSE 0 END), \
             SUM(CASE WHEN answered_at IS NOT NULL THEN 1 ELSE 0 END), \
             SUM(CASE WHEN bounced_at IS NOT NULL THEN 1 ELSE 0 END), \
             SUM(CASE WHEN unsubscribed_at IS NOT NULL THEN 1 ELSE 0 END) \
             FROM email_invitations WHERE org_id = $1 AND survey_id = $2")
            .bind(org.as_uuid()).bind(survey.as_uuid()).fetch_one(p).await)?;
        Ok(InvitationCounts {
            invited: row.0,
            sent: row.1.unwrap_or(0),
            opened: row.2.unwrap_or(0),
            answered: row.3.unwrap_or(0),
            bounced: row.4.unwrap_or(0),
            unsubscribed: row.5.unwrap_or(0),
        })
    }
}

impl StoreTx {
    /// Writes a `queued` invitation at `now` and returns its id. Enqueue its send job in the same transaction. An
    /// id or token hash already in use is refused (`Conflict`).
    pub async fn create_email_invitation(
        &mut self,
        new: &NewEmailInvitation<'_>,
        now: i64,
    ) -> Result<Uuid> {
        let id = new.id;
        on_tx!(self, t => sqlx::query(
            "INSERT INTO email_invitations (org_id, id, survey_id, survey_version, person_key, address_sealed, \
             address_hash, language, token_hash, state, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'queued', $10, $11)")
            .bind(new.org_id.as_uuid()).bind(id).bind(new.survey_id.as_uuid()).bind(new.survey_version)
            .bind(new.person_key).bind(new.address_sealed).bind(new.address_hash).bind(new.language)
            .bind(new.token_hash).bind(now).bind(new.expires_at)
            .execute(&mut **t).await.map(|r| r.rows_affected()))
        .map_err(|e| StoreError::conflict_or(e, "this invitation token is already in use"))?;
        Ok(id)
    }

    /// Moves the invitation to `to` at `now` if its current state allows it (see the module's docs); true when it
    /// moved, false when it was already there or past it (nothing is written then).
    pub async fn move_email_invitation(
        &mut self,
        org: OrgId,
        id: Uuid,
        to: InvitationState,
        now: i64,
    ) -> Result<bool> {
        let (from, column) = to.entry();
        if from.is_empty() {
            return Ok(false);
        }
        let sql = format!(
            "UPDATE email_invitations SET state = $1, {column} = $2 \
             WHERE org_id = $3 AND id = $4 AND state IN ({from})"
        );
        let n = on_tx!(self, t => sqlx::query(&sql)
            .bind(to.key()).bind(now).bind(org.as_uuid()).bind(id)
            .execute(&mut **t).await.map(|r| r.rows_affected()))?;
        Ok(n == 1)
    }

    /// Adds the address (by its keyed hash) to the organization's suppressions; true when it was not there. An
    /// address already suppressed keeps its first reason and time.
    pub async fn suppress_email(
        &mut self,
        org: OrgId,
        address_hash: &str,
        reason: SuppressionReason,
        source: &str,
        now: i64,
    ) -> Result<bool> {
        let n = on_tx!(self, t => sqlx::query(
            "INSERT INTO email_suppressions (org_id, address_hash, reason, source, created_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (org_id, address_hash) DO NOTHING")
            .bind(org.as_uuid()).bind(address_hash).bind(reason.key()).bind(source).bind(now)
            .execute(&mut **t).await.map(|r| r.rows_affected()))?;
        Ok(n == 1)
    }

    /// Records that the person unsubscribed through invitation `id`'s link at `now`, whatever its state (an
    /// invitation already answered keeps `answered` and gains `unsubscribed_at`, so the outreach figures count the
    /// unsubscribe); an invitation that has a time already keeps it. True when it was stamped now.
    pub async fn stamp_email_unsubscribed(
        &mut self,
        org: OrgId,
        id: Uuid,
        now: i64,
    ) -> Result<bool> {
        let n = on_tx!(self, t => sqlx::query(
            "UPDATE email_invitations SET unsubscribed_at = $1              WHERE org_id = $2 AND id = $3 AND unsubscribed_at IS NULL")
            .bind(now).bind(org.as_uuid()).bind(id)
            .execute(&mut **t).await.map(|r| r.rows_affected()))?;
        Ok(n == 1)
    }

    /// Marks every live invitation of the organization to this address as `to` (`Bounced` or `Unsubscribed`) at
    /// `now`; returns how many moved.
    pub async fn end_email_invitations_to(
        &mut self,
        org: OrgId,
        address_hash: &str,
        to: InvitationState,
        now: i64,
    ) -> Result<u64> {
        let (from, column) = to.entry();
        if from.is_empty() {
            return Ok(0);
        }
        let sql = format!(
            "UPDATE email_invitations SET state = $1, {column} = $2 \
             WHERE org_id = $3 AND address_hash = $4 AND state IN ({from})"
        );
        on_tx!(self, t => sqlx::query(&sql)
            .bind(to.key()).bind(now).bind(org.as_uuid()).bind(address_hash)
            .execute(&mut **t).await.map(|r| r.rows_affected()))
        .map_err(Into::into)
    }
}
