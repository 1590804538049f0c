//! MyAgency (issue 21, item 6; migration 0042): a person's own view of one organization, by the person key of the
//! email address or phone number they signed in with (`Sealer::person_key`, computed by the server).
//!
//! - One-time sign-in links (`my_links`): only the token's hash is stored, the address sealed; a link is written
//!   with its sending job ([`LINK_KIND`]) in one transaction, opens once and not after [`LINK_TTL_MS`]; at most
//!   [`LINKS_PER_WINDOW`] links per person key in [`LINK_TTL_MS`] (the address's own budget).
//! - Person sessions (`my_sessions`), apart from staff sessions: found by the organization and the cookie's hash,
//!   ending after [`SESSION_IDLE_MS`] without use or [`SESSION_MAX_MS`] after signing in. A link opens one
//!   ([`Store::sign_in_with_link`]); so does an OpenID Connect provider's verified email or phone
//!   ([`Store::start_my_session`], migration 0044).
//! - The organization's OpenID Connect provider (`my_sign_in_providers`, at most one): [`SignInProvider`], its
//!   secret or private key sealed by the server.
//! - Preferences per person key (`my_preferences`): how to be contacted (`email`, `sms`, `none`) and the language.
//! - Deletion (`my_deletions`, the audit, without personal data): [`Store::request_my_deletion`] writes the audit
//!   row and the [`DELETE_KIND`] job in one transaction; [`Store::delete_person_feedback`], the job's effect,
//!   deletes the person's responses and signals with everything kept beside them, cancels their scheduled callbacks
//!   and finishes the audit row, in the transaction that completes the job. The dashboards' rollups are kept as
//!   they are; the comment and theme rollups, which triggers lower when a comment row goes, are put back in the same
//!   transaction, so every aggregate stays and only the rows go.
//!
//! Every query names the organization.

use heard_domain::OrgId;
use uuid::Uuid;

use crate::callbacks::CallbackRecord;
use crate::jobs::{ClaimedJob, NewJob, StoreTx, on_tx};
use crate::{Result, Store, StoreError, on_pool};

/// The job that sends a sign-in link: payload `{"link": id}`. Its handler opens the sealed address, rebuilds the
/// token from the id and sends it by the organization's email sender or SMS number.
pub const LINK_KIND: &str = "my.link";
/// The job that deletes a person's feedback: payload `{"deletion": id, "person_key": key}`.
pub const DELETE_KIND: &str = "my.delete";
/// How long a sign-in link opens: 15 minutes.
pub const LINK_TTL_MS: i64 = 15 * 60_000;
/// Links one person key may be sent within [`LINK_TTL_MS`]: 3. More asks get the same answer and no message.
pub const LINKS_PER_WINDOW: i64 = 3;
/// A person session ends after 30 minutes without a request.
pub const SESSION_IDLE_MS: i64 = 30 * 60_000;
/// A person session ends 12 hours after signing in, used or not.
pub const SESSION_MAX_MS: i64 = 12 * 3_600_000;

/// The most items of each kind the person's page lists.
const LIST_LIMIT: i64 = 200;

/// How a link reaches the person.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkChannel {
    Email,
    Sms,
}

impl LinkChannel {
    pub fn key(self) -> &'static str {
        match self {
            LinkChannel::Email => "email",
            LinkChannel::Sms => "sms",
        }
    }
    pub fn parse(s: &str) -> Option<LinkChannel> {
        match s {
            "email" => Some(LinkChannel::Email),
            "sms" => Some(LinkChannel::Sms),
            _ => None,
        }
    }
}

/// A sign-in link to write. `id` is chosen by the caller, who derives the token from it; `token_hash` is
/// SHA-256 of the token.
#[derive(Debug, Clone)]
pub struct NewLink {
    pub id: Uuid,
    pub token_hash: Vec<u8>,
    pub person_key: String,
    pub channel: LinkChannel,
    /// The address (normalised email, or E.164 number), sealed by the server.
    pub address_sealed: Vec<u8>,
    /// `en` or `es`.
    pub language: String,
}

/// A sign-in link as stored (for its sending job).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LinkRecord {
    pub id: Uuid,
    pub person_key: String,
    pub channel: String,
    pub address_sealed: Vec<u8>,
    pub language: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub used_at: Option<i64>,
    pub sent_at: Option<i64>,
    pub send_note: Option<String>,
}

/// A signed-in person, for one organization.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PersonSession {
    pub person_key: String,
    /// `email` or `sms`: how the person signed in.
    pub channel: String,
    pub csrf_token: String,
    pub created_at: i64,
    pub expires_at: i64,
}

/// How Heard authenticates at an OpenID Connect provider's token endpoint. PKCE (S256) goes with every one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuth {
    /// No client authentication: PKCE alone (Login.gov's "PKCE" option).
    None,
    /// The client secret in an HTTP Basic header (RFC 6749 section 2.3.1).
    ClientSecretBasic,
    /// The client secret in the request body.
    ClientSecretPost,
    /// A JWT signed with the client's private key (RFC 7523; OpenID Connect Core section 9): Login.gov's default.
    PrivateKeyJwt,
}

impl ClientAuth {
    pub const ALL: [ClientAuth; 4] = [
        ClientAuth::PrivateKeyJwt,
        ClientAuth::None,
        ClientAuth::ClientSecretBasic,
        ClientAuth::ClientSecretPost,
    ];
    /// The name OpenID Connect Discovery gives it (`token_endpoint_auth_methods_supported`).
    pub fn key(self) -> &'static str {
        match self {
            ClientAuth::None => "none",
            ClientAuth::ClientSecretBasic => "client_secret_basic",
            ClientAuth::ClientSecretPost => "client_secret_post",
            ClientAuth::PrivateKeyJwt => "private_key_jwt",
        }
    }
    pub fn parse(s: &str) -> Option<ClientAuth> {
        ClientAuth::ALL.into_iter().find(|a| a.key() == s)
    }
    /// Whether it needs a credential (a secret or a private key).
    pub fn needs_credential(self) -> bool {
        self != ClientAuth::None
    }
}

/// An organization's OpenID Connect provider for MyAgency's sign-in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignInProvider {
    /// The provider's name on the button ("Login.gov").
    pub label: String,
    /// The issuer identifier (an https URL, or http on loopback for testing).
    pub issuer: String,
    pub client_id: String,
    pub client_auth: ClientAuth,
    /// The client secret or the PEM private key, sealed by the server; `None` with [`ClientAuth::None`].
    pub credential_sealed: Option<Vec<u8>>,
    /// The private key's id (`kid`), if any.
    pub key_id: Option<String>,
    /// Scopes besides `openid`, space-separated.
    pub scopes: String,
    /// `acr_values` sent with each request, or empty.
    pub acr_values: String,
    pub enabled: bool,
    pub updated_at: i64,
}

#[derive(sqlx::FromRow)]
struct ProviderRow {
    label: String,
    issuer: String,
    client_id: String,
    client_auth: String,
    credential_sealed: Option<Vec<u8>>,
    key_id: Option<String>,
    scopes: String,
    acr_values: String,
    enabled: bool,
    updated_at: i64,
}

/// How a person wants to be contacted, and in which language.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Preferences {
    /// `email`, `sms` or `none`.
    pub contact: String,
    /// `en` or `es`.
    pub language: String,
    /// When the person withdrew consent (and asked for their feedback to be deleted).
    pub withdrawn_at: Option<i64>,
    pub deletion_id: Option<Uuid>,
    pub updated_at: i64,
}

/// A response of the person's, as their page lists it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MyResponse {
    pub id: Uuid,
    pub survey: String,
    pub channel: String,
    pub submitted_at: i64,
}

/// A signal of the person's (a report, a message), as their page lists it: the text is the stored, redacted one.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MySignal {
    pub id: Uuid,
    pub source: String,
    pub text: String,
    pub occurred_at: i64,
}

/// A case about the person (by their key or one of their responses).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MyCase {
    pub id: Uuid,
    pub number: i64,
    pub status: String,
    pub ended: bool,
    pub opened_at: i64,
}

/// A deletion's audit row: no personal data.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DeletionAudit {
    pub id: Uuid,
    /// 8 hex digits of SHA-256 of the person key (computed by the server).
    pub person_ref: String,
    pub requested_at: i64,
    pub finished_at: Option<i64>,
    pub responses: i64,
    pub signals: i64,
    pub callbacks_cancelled: i64,
}

/// What a deletion removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Deleted {
    pub responses: i64,
    pub signals: i64,
    pub callbacks_cancelled: i64,
}

const CALLBACK_COLUMNS: &str = "id, case_id, response_id, source, state, phone_sealed, phone_key, email_sealed, \
    notify, language, window_start, window_end, attempts, unanswered, windows_missed, missed_reason, created_at, \
    updated_at, ended_at";

/// The person's responses, as a subquery over `$1` (org) and `$2` (person key).
const MY_RESPONSE_IDS: &str = "SELECT id FROM responses WHERE org_id = $1 AND person_key = $2";
/// The person's signals, likewise.
const MY_SIGNAL_IDS: &str = "SELECT id FROM signals WHERE org_id = $1 AND person_key = $2";

impl Store {
    /// Writes a sign-in link and its [`LINK_KIND`] job in one transaction, unless the person key was sent
    /// [`LINKS_PER_WINDOW`] links within [`LINK_TTL_MS`]: then nothing is written and `false` is returned (the caller
    /// answers the same either way).
    pub async fn create_my_link(&self, org: OrgId, link: &NewLink, now: i64) -> Result<bool> {
        let mut tx = self.begin().await?;
        let recent: i64 = on_tx!(tx, t => sqlx::query_scalar(
            "SELECT COUNT(*) FROM my_links WHERE org_id = $1 AND person_key = $2 AND created_at > $3")
            .bind(org.as_uuid()).bind(&link.person_key).bind(now - LINK_TTL_MS)
            .fetch_one(&mut **t).await)?;
        if recent >= LINKS_PER_WINDOW {
            return Ok(false);
        }
        on_tx!(tx, t => sqlx::query(
            "INSERT INTO my_links (org_id, id, token_hash, person_key, channel, address_sealed, language, \
             created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)")
            .bind(org.as_uuid()).bind(link.id).bind(&link.token_hash).bind(&link.person_key)
            .bind(link.channel.key()).bind(&link.address_sealed).bind(&link.language).bind(now)
            .bind(now + LINK_TTL_MS).execute(&mut **t).await.map(|_| ()))?;
        tx.enqueue(
            NewJob::new(org, LINK_KIND, serde_json::json!({ "link": link.id }))
                .dedupe_key(format!("my.link:{}", link.id))
                // A link is good for 15 minutes: a few quick retries, no more.
                .max_attempts(3),
        )
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// A sign-in link of the organization, for its sending job.
    pub async fn my_link(&self, org: OrgId, id: Uuid) -> Result<Option<LinkRecord>> {
        on_pool!(self, p => sqlx::query_as(
            "SELECT id, person_key, channel, address_sealed, language, created_at, expires_at, used_at, sent_at, \
             send_note FROM my_links WHERE org_id = $1 AND id = $2")
            .bind(org.as_uuid()).bind(id).fetch_optional(p).await)
        .map_err(Into::into)
    }

    /// Whether `token_hash` names a link of the organization that would still open (not used, not expired).
    pub async fn my_link_usable(&self, org: OrgId, token_hash: &[u8], now: i64) -> Result<bool> {
        let n: i64 = on_pool!(self, p => sqlx::query_scalar(
            "SELECT COUNT(*) FROM my_links WHERE org_id = $1 AND token_hash = $2 AND used_at IS NULL AND expires_at > $3")
            .bind(org.as_uuid()).bind(token_hash).bind(now).fetch_one(p).await)?;
        Ok(n > 0)
    }

    /// Records that a link was sent (`note` `None`) or why not, completing `job` in the same transaction.
    pub async fn my_link_sent(
        &self,
        org: OrgId,
        id: Uuid,
        note: Option<&str>,
        job: Option<&ClaimedJob>,
        now: i64,
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        if let Some(job) = job {
            tx.complete_job(job).await?;
        }
        match note {
            None => on_tx!(tx, t => sqlx::query(
                "UPDATE my_links SET sent_at = $3 WHERE org_id = $1 AND id = $2")
                .bind(org.as_uuid()).bind(id).bind(now).execute(&mut **t).await.map(|_| ()))?,
            Some(note) => on_tx!(tx, t => sqlx::query(
                "UPDATE my_links SET send_note = $3 WHERE org_id = $1 AND id = $2")
                .bind(org.as_uuid()).bind(id).bind(note).execute(&mut **t).await.map(|_| ()))?,
        }
        tx.commit().await
    }

    /// Opens a link once: when `token_hash` names a link of the organization not used and not expired, marks it
    /// used and starts a session (`session_hash`, SHA-256 of the cookie's token, and `csrf`) in one transaction.
    /// `None` for every link that does not open (unknown, used, expired, another organization's).
    pub async fn sign_in_with_link(
        &self,
        org: OrgId,
        token_hash: &[u8],
        session_hash: &[u8],
        csrf: &str,
        now: i64,
    ) -> Result<Option<PersonSession>> {
        let mut tx = self.begin().await?;
        let found: Option<(String, String)> = on_tx!(tx, t => sqlx::query_as(
            "UPDATE my_links SET used_at = $3 WHERE org_id = $1 AND token_hash = $2 AND used_at IS NULL \
             AND expires_at > $3 RETURNING person_key, channel")
            .bind(org.as_uuid()).bind(token_hash).bind(now).fetch_optional(&mut **t).await)?;
        let Some((person_key, channel)) = found else {
            return Ok(None);
        };
        let expires_at = now + SESSION_MAX_MS;
        on_tx!(tx, t => sqlx::query(
            "INSERT INTO my_sessions (org_id, token_hash, person_key, channel, csrf_token, created_at, last_seen_at, \
             expires_at) VALUES ($1, $2, $3, $4, $5, $6, $6, $7)")
            .bind(org.as_uuid()).bind(session_hash).bind(&person_key).bind(&channel).bind(csrf).bind(now)
            .bind(expires_at).execute(&mut **t).await.map(|_| ()))?;
        tx.commit().await?;
        Ok(Some(PersonSession {
            person_key,
            channel,
            csrf_token: csrf.to_string(),
            created_at: now,
            expires_at,
        }))
    }

    /// Starts a person session for `person_key` (the key of an address an OpenID Connect provider vouched for),
    /// `channel` `email` or `sms` as that address is.
    pub async fn start_my_session(
        &self,
        org: OrgId,
        person_key: &str,
        channel: LinkChannel,
        session_hash: &[u8],
        csrf: &str,
        now: i64,
    ) -> Result<PersonSession> {
        let expires_at = now + SESSION_MAX_MS;
        on_pool!(self, p => sqlx::query(
            "INSERT INTO my_sessions (org_id, token_hash, person_key, channel, csrf_token, created_at, last_seen_at, \
             expires_at) VALUES ($1, $2, $3, $4, $5, $6, $6, $7)")
            .bind(org.as_uuid()).bind(session_hash).bind(person_key).bind(channel.key()).bind(csrf).bind(now)
            .bind(expires_at).execute(p).await.map(|_| ()))?;
        Ok(PersonSession {
            person_key: person_key.to_string(),
            channel: channel.key().to_string(),
            csrf_token: csrf.to_string(),
            created_at: now,
            expires_at,
        })
    }

    /// The organization's OpenID Connect provider, if one is set.
    pub async fn my_sign_in_provider(&self, org: OrgId) -> Result<Option<SignInProvider>> {
        let row: Option<ProviderRow> = on_pool!(self, p => sqlx::query_as(
            "SELECT label, issuer, client_id, client_auth, credential_sealed, key_id, scopes, acr_values, enabled, \
             updated_at FROM my_sign_in_providers WHERE org_id = $1")
            .bind(org.as_uuid()).fetch_optional(p).await)?;
        Ok(row.map(|r| SignInProvider {
            label: r.label,
            issuer: r.issuer,
            client_id: r.client_id,
            // The column's CHECK allows only the four names.
            client_auth: ClientAuth::parse(&r.client_auth).unwrap_or(ClientAuth::PrivateKeyJwt),
            credential_sealed: r.credential_sealed,
            key_id: r.key_id,
            scopes: r.scopes,
            acr_values: r.acr_values,
            enabled: r.enabled,
            updated_at: r.updated_at,
        }))
    }

    /// Sets the organization's OpenID Connect provider (replacing the one there was), `by` the staff member.
    /// `provider.updated_at` is ignored: `now` is stored.
    pub async fn set_my_sign_in_provider(
        &self,
        org: OrgId,
        provider: &SignInProvider,
        by: Option<Uuid>,
        now: i64,
    ) -> Result<()> {
        on_pool!(self, p => sqlx::query(
            "INSERT INTO my_sign_in_providers (org_id, label, issuer, client_id, client_auth, credential_sealed, \
             key_id, scopes, acr_values, enabled, updated_at, updated_by) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
             ON CONFLICT (org_id) DO UPDATE SET label = excluded.label, issuer = excluded.issuer, \
             client_id = excluded.client_id, client_auth = excluded.client_auth, \
             credential_sealed = excluded.credential_sealed, key_id = excluded.key_id, scopes = excluded.scopes, \
             acr_values = excluded.acr_values, enabled = excluded.enabled, updated_at = excluded.updated_at, \
             updated_by = excluded.updated_by")
            .bind(org.as_uuid()).bind(&provider.label).bind(&provider.issuer).bind(&provider.client_id)
            .bind(provider.client_auth.key()).bind(&provider.credential_sealed).bind(&provider.key_id)
            .bind(&provider.scopes).bind(&provider.acr_values).bind(provider.enabled).bind(now).bind(by)
            .execute(p).await.map(|_| ()))?;
        Ok(())
    }

    /// Removes the organization's OpenID Connect provider; sessions it started run on to their end.
    pub async fn remove_my_sign_in_provider(&self, org: OrgId) -> Result<()> {
        on_pool!(self, p => sqlx::query("DELETE FROM my_sign_in_providers WHERE org_id = $1")
            .bind(org.as_uuid()).execute(p).await.map(|_| ()))?;
        Ok(())
    }

    /// The organization's live person session whose cookie hashes to `token_hash`, its idle clock restarted; `None`
    /// when there is none, or it has been idle [`SESSION_IDLE_MS`] or reached its end (it is then deleted).
    pub async fn my_session(
        &self,
        org: OrgId,
        token_hash: &[u8],
        now: i64,
    ) -> Result<Option<PersonSession>> {
        let found: Option<PersonSession> = on_pool!(self, p => sqlx::query_as(
            "UPDATE my_sessions SET last_seen_at = $3 WHERE org_id = $1 AND token_hash = $2 \
             AND expires_at > $3 AND last_seen_at > $4 \
             RETURNING person_key, channel, csrf_token, created_at, expires_at")
            .bind(org.as_uuid()).bind(token_hash).bind(now).bind(now - SESSION_IDLE_MS)
            .fetch_optional(p).await)?;
        if found.is_none() {
            self.end_my_session(org, token_hash).await?;
        }
        Ok(found)
    }

    /// Ends a person session (signing out, or an expired one).
    pub async fn end_my_session(&self, org: OrgId, token_hash: &[u8]) -> Result<()> {
        on_pool!(self, p => sqlx::query("DELETE FROM my_sessions WHERE org_id = $1 AND token_hash = $2")
            .bind(org.as_uuid()).bind(token_hash).execute(p).await.map(|_| ()))?;
        Ok(())
    }

    /// The person's preferences, if they saved any.
    pub async fn my_preferences(
        &self,
        org: OrgId,
        person_key: &str,
    ) -> Result<Option<Preferences>> {
        on_pool!(self, p => sqlx::query_as(
            "SELECT contact, language, withdrawn_at, deletion_id, updated_at FROM my_preferences \
             WHERE org_id = $1 AND person_key = $2")
            .bind(org.as_uuid()).bind(person_key).fetch_optional(p).await)
        .map_err(Into::into)
    }

    /// Saves how the person wants to be contacted (`email`, `sms`, `none`) and their language (`en`, `es`);
    /// `Invalid` naming the field for anything else.
    pub async fn set_my_preferences(
        &self,
        org: OrgId,
        person_key: &str,
        contact: &str,
        language: &str,
        now: i64,
    ) -> Result<()> {
        let mut errors = heard_domain::FieldErrors::default();
        if !["email", "sms", "none"].contains(&contact) {
            errors.push(heard_domain::FieldError::new(
                "contact",
                "invalid",
                "choose email, text message or no contact",
            ));
        }
        if !["en", "es"].contains(&language) {
            errors.push(heard_domain::FieldError::new(
                "language",
                "invalid",
                "choose English or Spanish",
            ));
        }
        if !errors.is_empty() {
            return Err(StoreError::Invalid(errors));
        }
        on_pool!(self, p => sqlx::query(
            "INSERT INTO my_preferences (org_id, person_key, contact, language, updated_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (org_id, person_key) DO UPDATE SET contact = excluded.contact, language = excluded.language, \
             updated_at = excluded.updated_at")
            .bind(org.as_uuid()).bind(person_key).bind(contact).bind(language).bind(now)
            .execute(p).await.map(|_| ()))?;
        Ok(())
    }

    /// The person's responses, newest first (at most 200).
    pub async fn my_responses(&self, org: OrgId, person_key: &str) -> Result<Vec<MyResponse>> {
        on_pool!(self, p => sqlx::query_as(
            "SELECT r.id, s.name AS survey, r.channel, r.submitted_at FROM responses r \
             JOIN surveys s ON s.org_id = r.org_id AND s.id = r.survey_id \
             WHERE r.org_id = $1 AND r.person_key = $2 ORDER BY r.submitted_at DESC, r.id DESC LIMIT $3")
            .bind(org.as_uuid()).bind(person_key).bind(LIST_LIMIT).fetch_all(p).await)
        .map_err(Into::into)
    }

    /// The person's signals (reports, messages), newest first (at most 200).
    pub async fn my_signals(&self, org: OrgId, person_key: &str) -> Result<Vec<MySignal>> {
        on_pool!(self, p => sqlx::query_as(
            "SELECT id, source, text, occurred_at FROM signals WHERE org_id = $1 AND person_key = $2 \
             ORDER BY occurred_at DESC, id DESC LIMIT $3")
            .bind(org.as_uuid()).bind(person_key).bind(LIST_LIMIT).fetch_all(p).await)
        .map_err(Into::into)
    }

    /// The cases about the person (their key, or opened by one of their responses), newest first (at most 200).
    pub async fn my_cases(&self, org: OrgId, person_key: &str) -> Result<Vec<MyCase>> {
        on_pool!(self, p => sqlx::query_as(&format!(
            "SELECT id, number, status, ended, opened_at FROM cases WHERE org_id = $1 \
             AND (person_key = $2 OR response_id IN ({MY_RESPONSE_IDS})) \
             ORDER BY opened_at DESC, id DESC LIMIT $3"))
            .bind(org.as_uuid()).bind(person_key).bind(LIST_LIMIT).fetch_all(p).await)
        .map_err(Into::into)
    }

    /// The person's callbacks: asked for with their number, or about one of their responses or cases; newest first
    /// (at most 200).
    pub async fn my_callbacks(&self, org: OrgId, person_key: &str) -> Result<Vec<CallbackRecord>> {
        on_pool!(self, p => sqlx::query_as(&format!(
            "SELECT {CALLBACK_COLUMNS} FROM callbacks WHERE org_id = $1 AND (phone_key = $2 \
             OR response_id IN ({MY_RESPONSE_IDS}) \
             OR case_id IN (SELECT id FROM cases WHERE org_id = $1 AND person_key = $2)) \
             ORDER BY created_at DESC, id DESC LIMIT $3"))
            .bind(org.as_uuid()).bind(person_key).bind(LIST_LIMIT).fetch_all(p).await)
        .map_err(Into::into)
    }

    /// The person withdraws consent and asks for their feedback to be deleted: their preferences say so (contact
    /// `none`); the address they signed in with (`channel`) is no longer written to (an email address suppressed
    /// for survey invitations, reason `unsubscribe`, source `myagency`; a number opted out of texts, logged in the
    /// consent log with keyword `MYAGENCY`); and the audit row (with `person_ref`, the server's short hash of the
    /// key, never the key) and the [`DELETE_KIND`] job are written; all in one transaction. A request while one is
    /// still waiting returns that one. Returns the audit row's id.
    pub async fn request_my_deletion(
        &self,
        org: OrgId,
        person_key: &str,
        person_ref: &str,
        channel: LinkChannel,
        now: i64,
    ) -> Result<Uuid> {
        let mut tx = self.begin().await?;
        let waiting: Option<Uuid> = on_tx!(tx, t => sqlx::query_scalar(
            "SELECT d.id FROM my_preferences p JOIN my_deletions d ON d.org_id = p.org_id AND d.id = p.deletion_id \
             WHERE p.org_id = $1 AND p.person_key = $2 AND d.finished_at IS NULL")
            .bind(org.as_uuid()).bind(person_key).fetch_optional(&mut **t).await)?;
        if let Some(id) = waiting {
            return Ok(id);
        }
        let id = Uuid::now_v7();
        on_tx!(tx, t => sqlx::query(
            "INSERT INTO my_deletions (org_id, id, person_ref, requested_at) VALUES ($1, $2, $3, $4)")
            .bind(org.as_uuid()).bind(id).bind(person_ref).bind(now)
            .execute(&mut **t).await.map(|_| ()))?;
        on_tx!(tx, t => sqlx::query(
            "INSERT INTO my_preferences (org_id, person_key, contact, language, withdrawn_at, deletion_id, updated_at) \
             VALUES ($1, $2, 'none', 'en', $3, $4, $3) \
             ON CONFLICT (org_id, person_key) DO UPDATE SET contact = 'none', withdrawn_at = excluded.withdrawn_at, \
             deletion_id = excluded.deletion_id, updated_at = excluded.updated_at")
            .bind(org.as_uuid()).bind(person_key).bind(now).bind(id)
            .execute(&mut **t).await.map(|_| ()))?;
        match channel {
            LinkChannel::Email => {
                tx.suppress_email(
                    org,
                    person_key,
                    crate::outreach::SuppressionReason::Unsubscribe,
                    "myagency",
                    now,
                )
                .await?;
            }
            LinkChannel::Sms => {
                on_tx!(tx, t => sqlx::query(
                    "INSERT INTO sms_consent_log (org_id, id, phone_key, action, keyword, provider_message_id, at) \
                     VALUES ($1, $2, $3, 'opt_out', 'MYAGENCY', NULL, $4)")
                    .bind(org.as_uuid()).bind(Uuid::now_v7()).bind(person_key).bind(now)
                    .execute(&mut **t).await.map(|_| ()))?;
                on_tx!(tx, t => sqlx::query(
                    "INSERT INTO sms_opt_outs (org_id, phone_key, at) VALUES ($1, $2, $3) \
                     ON CONFLICT (org_id, phone_key) DO NOTHING")
                    .bind(org.as_uuid()).bind(person_key).bind(now)
                    .execute(&mut **t).await.map(|_| ()))?;
            }
        }
        tx.enqueue(
            NewJob::new(
                org,
                DELETE_KIND,
                serde_json::json!({ "deletion": id, "person_key": person_key }),
            )
            .dedupe_key(format!("my.delete:{id}")),
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// A deletion's audit row.
    pub async fn my_deletion(&self, org: OrgId, id: Uuid) -> Result<Option<DeletionAudit>> {
        on_pool!(self, p => sqlx::query_as(
            "SELECT id, person_ref, requested_at, finished_at, responses, signals, callbacks_cancelled \
             FROM my_deletions WHERE org_id = $1 AND id = $2")
            .bind(org.as_uuid()).bind(id).fetch_optional(p).await)
        .map_err(Into::into)
    }

    /// The organization's deletions, newest first (at most `limit`): for admins.
    pub async fn my_deletions(&self, org: OrgId, limit: i64) -> Result<Vec<DeletionAudit>> {
        on_pool!(self, p => sqlx::query_as(
            "SELECT id, person_ref, requested_at, finished_at, responses, signals, callbacks_cancelled \
             FROM my_deletions WHERE org_id = $1 ORDER BY requested_at DESC, id DESC LIMIT $2")
            .bind(org.as_uuid()).bind(limit).fetch_all(p).await)
        .map_err(Into::into)
    }

    /// The [`DELETE_KIND`] job's effect, in the transaction that completes `job`: deletes the person's responses
    /// (with their sealed contacts, sealed raw texts, rule matches, rule hits, tags and case links; cases, invitations and callbacks
    /// that named one keep no reference to it), the answers so far of their SMS survey conversations (one still
    /// going ends), and signals (with their sealed contacts and case links), their
    /// comment search rows going with them by the triggers, cancels their scheduled callbacks, and finishes the
    /// audit row with the counts. The dashboards' rollups are not touched, and the comment and theme rollups the
    /// triggers lower are put back, so every figure stays. Idempotent: run again, it finds nothing more and leaves a
    /// finished audit row as it was.
    pub async fn delete_person_feedback(
        &self,
        org: OrgId,
        deletion: Uuid,
        person_key: &str,
        job: Option<&ClaimedJob>,
        now: i64,
    ) -> Result<Deleted> {
        let mut tx = self.begin().await?;
        if let Some(job) = job {
            tx.complete_job(job).await?;
        }
        let deleted = tx.delete_person_rows(org, person_key, now).await?;
        on_tx!(tx, t => sqlx::query(
            "UPDATE my_deletions SET finished_at = $3, responses = $4, signals = $5, callbacks_cancelled = $6 \
             WHERE org_id = $1 AND id = $2 AND finished_at IS NULL")
            .bind(org.as_uuid()).bind(deletion).bind(now).bind(deleted.responses).bind(deleted.signals)
            .bind(deleted.callbacks_cancelled).execute(&mut **t).await.map(|_| ()))?;
        tx.commit().await?;
        Ok(deleted)
    }
}

/// A comment row's share of the comment and theme rollups.
#[derive(sqlx::FromRow)]
struct CommentShare {
    kind: String,
    service_id: Option<Uuid>,
    at_ms: i64,
    sentiment: Option<String>,
    themes: Option<String>,
}

impl StoreTx {
    async fn delete_person_rows(
        &mut self,
        org: OrgId,
        person_key: &str,
        now: i64,
    ) -> Result<Deleted> {
        let o = org.as_uuid();
        // What the comment rows add to the rollups, read before the triggers take it away.
        let shares: Vec<CommentShare> = on_tx!(self, t => sqlx::query_as(&format!(
            "SELECT kind, service_id, at_ms, sentiment, themes FROM comments WHERE org_id = $1 AND \
             ((kind = 'response' AND item_id IN ({MY_RESPONSE_IDS})) OR (kind = 'signal' AND item_id IN ({MY_SIGNAL_IDS})))"))
            .bind(o).bind(person_key).fetch_all(&mut **t).await)?;
        // Scheduled callbacks of the person (their number, or about their responses or cases) are called off.
        let cancelled: Vec<Uuid> = on_tx!(self, t => sqlx::query_scalar(&format!(
            "UPDATE callbacks SET state = 'cancelled', ended_at = $3, updated_at = $3 WHERE org_id = $1 \
             AND state = 'scheduled' AND (phone_key = $2 OR response_id IN ({MY_RESPONSE_IDS}) \
             OR case_id IN (SELECT id FROM cases WHERE org_id = $1 AND person_key = $2)) RETURNING id"))
            .bind(o).bind(person_key).bind(now).fetch_all(&mut **t).await)?;
        for id in &cancelled {
            on_tx!(self, t => sqlx::query(
                "INSERT INTO callback_events (org_id, callback_id, seq, at, kind, value, note, actor_id) \
                 SELECT $1, $2, COALESCE(MAX(seq), 0) + 1, $3, 'cancelled', NULL, \
                 'The person withdrew consent and asked for their feedback to be deleted.', NULL \
                 FROM callback_events WHERE org_id = $1 AND callback_id = $2")
                .bind(o).bind(*id).bind(now).execute(&mut **t).await.map(|_| ()))?;
        }
        // What is kept beside a response, then the responses.
        for sql in [
            "DELETE FROM response_contacts WHERE org_id = $1 AND response_id IN ({R})",
            "DELETE FROM response_raw_text WHERE org_id = $1 AND response_id IN ({R})",
            "DELETE FROM rule_matches WHERE org_id = $1 AND response_id IN ({R})",
            "DELETE FROM rule_hits WHERE org_id = $1 AND kind = 'response' AND item_id IN ({R})",
            "DELETE FROM item_tags WHERE org_id = $1 AND kind = 'response' AND item_id IN ({R})",
            "DELETE FROM rule_hits WHERE org_id = $1 AND kind = 'signal' AND item_id IN ({S})",
            "DELETE FROM item_tags WHERE org_id = $1 AND kind = 'signal' AND item_id IN ({S})",
            "DELETE FROM case_links WHERE org_id = $1 AND kind = 'response' AND target_id IN ({R})",
            "UPDATE cases SET response_id = NULL WHERE org_id = $1 AND response_id IN ({R})",
            "UPDATE email_invitations SET response_id = NULL WHERE org_id = $1 AND response_id IN ({R})",
            "UPDATE callbacks SET response_id = NULL WHERE org_id = $1 AND response_id IN ({R})",
            "DELETE FROM signal_contacts WHERE org_id = $1 AND signal_id IN ({S})",
            "DELETE FROM case_links WHERE org_id = $1 AND kind = 'signal' AND target_id IN ({S})",
            // An SMS survey conversation keeps its answers so far, sealed, until it ends: they go, and one still
            // going ends (stale) so nothing more is stored from it.
            "UPDATE sms_conversations SET answers_sealed = NULL, step = 'done', ended = COALESCE(ended, 'stale') \
             WHERE org_id = $1 AND person_key = $2",
        ] {
            let sql = sql
                .replace("{R}", MY_RESPONSE_IDS)
                .replace("{S}", MY_SIGNAL_IDS);
            on_tx!(self, t => sqlx::query(&sql).bind(o).bind(person_key).execute(&mut **t).await.map(|_| ()))?;
        }
        let responses = on_tx!(self, t => sqlx::query(
            "DELETE FROM responses WHERE org_id = $1 AND person_key = $2")
            .bind(o).bind(person_key).execute(&mut **t).await.map(|r| r.rows_affected()))?;
        let signals = on_tx!(self, t => sqlx::query(
            "DELETE FROM signals WHERE org_id = $1 AND person_key = $2")
            .bind(o).bind(person_key).execute(&mut **t).await.map(|r| r.rows_affected()))?;
        // The comment and theme rollups are aggregates: what the triggers took away is put back.
        for c in &shares {
            let svc = c.service_id.unwrap_or(Uuid::nil());
            let neg: i64 = (c.sentiment.as_deref() == Some("negative")).into();
            let themes: Vec<&str> = c
                .themes
                .as_deref()
                .unwrap_or("")
                .split(',')
                .filter(|t| !t.is_empty())
                .collect();
            for (table, unit, grain) in [
                ("comment_hours", "hour", 3_600_000i64),
                ("comment_days", "day", 86_400_000),
            ] {
                on_tx!(self, t => sqlx::query(&format!(
                    "INSERT INTO {table} (org_id, {unit}, kind, service_id, items, negative) VALUES ($1, $2, $3, $4, 1, $5) \
                     ON CONFLICT (org_id, {unit}, kind, service_id) DO UPDATE SET items = {table}.items + 1, \
                     negative = {table}.negative + excluded.negative"))
                    .bind(o).bind(c.at_ms / grain).bind(&c.kind).bind(svc).bind(neg)
                    .execute(&mut **t).await.map(|_| ()))?;
            }
            for theme in &themes {
                for (table, unit, grain) in [
                    ("theme_hours", "hour", 3_600_000i64),
                    ("theme_days", "day", 86_400_000),
                ] {
                    on_tx!(self, t => sqlx::query(&format!(
                        "INSERT INTO {table} (org_id, {unit}, kind, service_id, theme, items, negative) \
                         VALUES ($1, $2, $3, $4, $5, 1, $6) \
                         ON CONFLICT (org_id, {unit}, kind, service_id, theme) DO UPDATE SET items = {table}.items + 1, \
                         negative = {table}.negative + excluded.negative"))
                        .bind(o).bind(c.at_ms / grain).bind(&c.kind).bind(svc).bind(*theme).bind(neg)
                        .execute(&mut **t).await.map(|_| ()))?;
                }
            }
        }
        Ok(Deleted {
            responses: responses as i64,
            signals: signals as i64,
            callbacks_cancelled: cancelled.len() as i64,
        })
    }
}
