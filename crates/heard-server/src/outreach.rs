//! Email survey outreach (issue 20, item 4), the server's side of `heard_store::outreach`: how an address is known
//! without being stored in clear, and how a bounce (a delivery status notification, `heard_channels::dsn`) becomes
//! a suppression.
//!
//! An address is matched by [`address_hash`]: the organization's keyed person hash of the normalised address
//! (`email:` + lower case), the same function every channel uses for person keys, so the suppression list can be
//! checked and joined without holding addresses. Sending opens the sealed copy kept with each invitation.

use heard_channels::dsn::{self, BounceKind};
use heard_domain::OrgId;
use heard_domain::identity::PersonId;
use heard_store::Store;
use heard_store::outreach::{InvitationState, SuppressionReason};

use crate::crypto::Sealer;

/// The keyed hash an email address is matched on within `org` (suppressions, invitations). `Err` names the field
/// and why the address is not one.
pub fn address_hash(
    sealer: &Sealer,
    org: OrgId,
    field: &str,
    address: &str,
) -> Result<String, heard_domain::FieldError> {
    let id = PersonId::email(field, address)?;
    Ok(sealer.person_key(org, &id).0)
}

/// What applying one DSN did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BounceApplied {
    /// Recipients reported as failed permanently (5.x.x): each address is suppressed.
    pub hard: usize,
    /// Recipients with a transient status (4.x.x): nothing is suppressed.
    pub soft: usize,
    /// Recipients reported as delivered, relayed or expanded.
    pub other: usize,
    /// Addresses newly added to the suppression list (an address suppressed already keeps its first reason).
    pub newly_suppressed: usize,
    /// Invitations to those addresses that moved to `bounced`.
    pub invitations_bounced: u64,
}

/// Why a DSN was not applied.
#[derive(Debug, thiserror::Error)]
pub enum BounceError {
    #[error("the message is not a usable delivery status notification: {0}")]
    Parse(#[from] dsn::DsnError),
    #[error("recipient block {block}: Final-Recipient is not an email address")]
    Address { block: usize },
    #[error(transparent)]
    Store(#[from] heard_store::StoreError),
}

/// Reads `message` (a whole DSN as received) and, in one transaction, suppresses each hard-bounced recipient in
/// `org` (reason `bounce`, source `dsn:<status>`) and moves that address's live invitations to `bounced`. Applying
/// the same DSN twice changes nothing the second time. Nothing is written when any recipient block is unreadable.
pub async fn apply_bounce(
    store: &Store,
    sealer: &Sealer,
    org: OrgId,
    message: &str,
    now: i64,
) -> Result<BounceApplied, BounceError> {
    let report = dsn::parse(message)?;
    let mut out = BounceApplied::default();
    let mut hard = Vec::new();
    for (i, r) in report.recipients.iter().enumerate() {
        match r.kind() {
            BounceKind::Hard => {
                let hash = address_hash(sealer, org, "Final-Recipient", &r.final_recipient)
                    .map_err(|_| BounceError::Address { block: i + 1 })?;
                hard.push((hash, format!("dsn:{}", r.status)));
                out.hard += 1;
            }
            BounceKind::Soft => out.soft += 1,
            BounceKind::None => out.other += 1,
        }
    }
    if hard.is_empty() {
        return Ok(out);
    }
    let mut tx = store.begin().await?;
    for (hash, source) in &hard {
        if tx
            .suppress_email(org, hash, SuppressionReason::Bounce, source, now)
            .await?
        {
            out.newly_suppressed += 1;
        }
        out.invitations_bounced += tx
            .end_email_invitations_to(org, hash, InvitationState::Bounced, now)
            .await?;
    }
    tx.commit().await?;
    Ok(out)
}

/// The job kind that sends an invitation's email (`{"invitation": id}`) or its one reminder (`"reminder": true`).
pub const SEND_KIND: &str = "email.send";
/// Attempts an `email.send` job (an invitation or its reminder) gets before it is dead and waits for an admin. With
/// the queue's backoff (`heard_store::jobs::backoff_ms`: 10 s doubling, capped at one hour, with equal jitter) the
/// 23 waits add up to between 7.7 and 15.4 hours, so a mail server that is down for a working day is ridden out and
/// the invitation goes when it is back (mail servers themselves hold mail for days, RFC 5321 section 4.5.4.1).
pub const SEND_ATTEMPTS: u32 = 24;

/// The `email.send` job of invitation `id` (its reminder when `reminder`), keyed `email.send:{id}` or
/// `email.remind:{id}`, with [`SEND_ATTEMPTS`] attempts. Every writer of an invitation enqueues it through here.
pub fn send_job(org: OrgId, id: uuid::Uuid, reminder: bool) -> heard_store::jobs::NewJob {
    let (payload, key) = if reminder {
        (
            serde_json::json!({ "invitation": id, "reminder": true }),
            format!("email.remind:{id}"),
        )
    } else {
        (
            serde_json::json!({ "invitation": id }),
            format!("email.send:{id}"),
        )
    };
    heard_store::jobs::NewJob::new(org, SEND_KIND, payload)
        .dedupe_key(key)
        .max_attempts(SEND_ATTEMPTS)
}

/// How long after the invitation its one reminder goes, unless it was answered: three days, in ms.
pub const REMIND_AFTER_MS: i64 = 3 * 24 * 3600 * 1000;
/// How long an invitation's link works: thirty days, in ms.
pub const LINK_LIFETIME_MS: i64 = 30 * 24 * 3600 * 1000;

/// The single-use survey link's token of an invitation (only its SHA-256 is stored).
pub fn survey_token(sealer: &Sealer, id: uuid::Uuid) -> String {
    sealer.link_token("outreach/survey", id.as_bytes())
}

/// The unsubscribe link's token of an invitation (checked by recomputing it; it keeps working after the survey link
/// is used or has expired).
pub fn unsubscribe_token(sealer: &Sealer, id: uuid::Uuid) -> String {
    sealer.link_token("outreach/unsubscribe", id.as_bytes())
}

/// Who to invite, to what.
#[derive(Debug, Clone)]
pub struct Invite<'a> {
    pub org: OrgId,
    pub survey: heard_domain::SurveyId,
    /// The published version the link opens.
    pub survey_version: i32,
    /// The person's key (`Sealer::person_key`); analytics see only this.
    pub person_key: &'a str,
    pub address: &'a str,
    /// `en` or `es`.
    pub language: &'a str,
}

/// Why an invitation was not written.
#[derive(Debug, thiserror::Error)]
pub enum InviteError {
    #[error("{0}")]
    Field(#[from] heard_domain::FieldError),
    #[error("language: email invitations are written in en or es, not {0:?}")]
    Language(String),
    #[error("the address is on the organization's suppression list ({0})")]
    Suppressed(&'static str),
    #[error(transparent)]
    Store(#[from] heard_store::StoreError),
}

/// Writes a queued invitation and its send job in one transaction, at `now`; returns its id. A suppressed address
/// is refused here (and checked again when the job sends).
pub async fn invite(
    store: &Store,
    sealer: &Sealer,
    i: &Invite<'_>,
    now: i64,
) -> Result<uuid::Uuid, InviteError> {
    if !matches!(i.language, "en" | "es") {
        return Err(InviteError::Language(i.language.into()));
    }
    let hash = address_hash(sealer, i.org, "email", i.address)?;
    if let Some(reason) = store.email_suppression(i.org, &hash).await? {
        return Err(InviteError::Suppressed(reason.key()));
    }
    let id = uuid::Uuid::now_v7();
    let token_hash = crate::crypto::sha256_hex(survey_token(sealer, id).as_bytes());
    let sealed = sealer.seal(i.address.trim());
    let mut tx = store.begin().await?;
    tx.create_email_invitation(
        &heard_store::outreach::NewEmailInvitation {
            org_id: i.org,
            id,
            survey_id: i.survey,
            survey_version: i.survey_version,
            person_key: i.person_key,
            address_sealed: &sealed,
            address_hash: &hash,
            language: i.language,
            token_hash: &token_hash,
            expires_at: now + LINK_LIFETIME_MS,
        },
        now,
    )
    .await?;
    tx.enqueue(send_job(i.org, id, false)).await?;
    tx.commit().await?;
    Ok(id)
}

/// An email's parts, before it is sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Letter {
    pub subject: String,
    pub text: String,
    pub html: String,
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The invitation (or reminder) in `language` (`es`, else English), in plain language: who asks, why, how long it
/// takes, the link, until when it works, and how to stop these emails.
pub fn letter(
    language: &str,
    org_name: &str,
    survey_url: &str,
    unsubscribe_url: &str,
    reminder: bool,
) -> Letter {
    let (subject, hello, ask, button, expires, why, stop) = if language == "es" {
        (
            if reminder {
                format!("Recordatorio: ¿cómo lo hicimos? Encuesta breve de {org_name}")
            } else {
                format!("¿Cómo lo hicimos? Encuesta breve de {org_name}")
            },
            "Hola:",
            format!(
                "Hace poco usted recibió un servicio de {org_name}. ¿Nos cuenta cómo le fue? Son unas pocas \
                 preguntas y toma unos 2 minutos."
            ),
            "Responder la encuesta",
            "El enlace es solo para usted y funciona una vez, durante 30 días.",
            "Sus respuestas nos ayudan a mejorar el servicio. Responder es voluntario y no cambia la ayuda que recibe.",
            "Si no quiere recibir más correos como este, cancele la suscripción:",
        )
    } else {
        (
            if reminder {
                format!("Reminder: how did we do? A short survey from {org_name}")
            } else {
                format!("How did we do? A short survey from {org_name}")
            },
            "Hello,",
            format!(
                "You recently got a service from {org_name}. Will you tell us how it went? It is a few questions \
                 and takes about 2 minutes."
            ),
            "Take the survey",
            "The link is just for you and works once, for 30 days.",
            "Your answers help us improve the service. Answering is voluntary and does not change the help you get.",
            "If you do not want emails like this one, unsubscribe:",
        )
    };
    let text = format!(
        "{hello}\n\n{ask}\n\n{button}: {survey_url}\n\n{expires}\n\n{why}\n\n{stop} {unsubscribe_url}\n"
    );
    let html = format!(
        "<!doctype html><html lang=\"{lang}\"><head><meta charset=\"utf-8\"><title>{subject_h}</title></head>\
         <body style=\"font-family: sans-serif; font-size: 16px; line-height: 1.5; color: #1b1b1b\">\
         <p>{hello}</p><p>{ask_h}</p>\
         <p><a href=\"{survey_h}\" style=\"display: inline-block; padding: 12px 20px; background: #005ea2; \
         color: #ffffff; text-decoration: underline\">{button}</a></p>\
         <p>{expires}</p><p>{why}</p>\
         <p>{stop} <a href=\"{unsub_h}\">{unsub_h}</a></p></body></html>\n",
        lang = if language == "es" { "es" } else { "en" },
        subject_h = escape(&subject),
        ask_h = escape(&ask),
        survey_h = escape(survey_url),
        unsub_h = escape(unsubscribe_url),
    );
    Letter {
        subject,
        text,
        html,
    }
}

/// `List-Unsubscribe` (RFC 2369) with the one-click https link.
#[derive(Debug, Clone)]
struct ListUnsubscribe(String);

impl lettre::message::header::Header for ListUnsubscribe {
    fn name() -> lettre::message::header::HeaderName {
        lettre::message::header::HeaderName::new_from_ascii_str("List-Unsubscribe")
    }
    fn parse(s: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(ListUnsubscribe(s.to_string()))
    }
    fn display(&self) -> lettre::message::header::HeaderValue {
        lettre::message::header::HeaderValue::new(Self::name(), self.0.clone())
    }
}

/// `List-Unsubscribe-Post: List-Unsubscribe=One-Click` (RFC 8058).
#[derive(Debug, Clone)]
struct ListUnsubscribePost;

impl lettre::message::header::Header for ListUnsubscribePost {
    fn name() -> lettre::message::header::HeaderName {
        lettre::message::header::HeaderName::new_from_ascii_str("List-Unsubscribe-Post")
    }
    fn parse(_: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(ListUnsubscribePost)
    }
    fn display(&self) -> lettre::message::header::HeaderValue {
        lettre::message::header::HeaderValue::new(Self::name(), "List-Unsubscribe=One-Click".into())
    }
}

/// Sends invitations and reminders (`email.send` jobs) over the organization's SMTP sender with lettre, signing
/// with DKIM when the sender has a key.
///
/// **Once, and never lost.** The suppression list is read at send time. A provider that is down, refuses, or is not
/// set up fails the attempt, which the queue retries with backoff for [`SEND_ATTEMPTS`] attempts (and shows to admins
/// when they are used); a mailbox refused for good ([`recipient_refused`]) is a bounce, suppressed and not retried.
/// After the SMTP server accepts the message, one transaction completes the job, moves the invitation to `sent` (or
/// `reminded`) and enqueues the reminder. If that commit fails after the server accepted (the process dies in
/// between), the job runs again and the message is sent a second time: we chose at-least-once over losing an
/// invitation. The window is one commit long, and both copies carry the same `Message-ID` (derived from the
/// invitation and whether it is the reminder), so mail systems and clients that drop duplicates by `Message-ID` show
/// one. A state moved on already (sent, answered, bounced, unsubscribed) makes a retried job a no-op; the reminder
/// goes only to an invitation still `sent` (not opened, answered, bounced or unsubscribed).
///
/// **Offered.** The send's commit also counts a display of the survey on channel `email` for that local day
/// (`StoreTx::record_display`), so A-11's "customers offered the survey" and response rate include emailed
/// invitations; the reminder is not counted again.
pub struct SendEmail {
    sealer: Sealer,
    public_url: std::sync::Arc<str>,
}

impl SendEmail {
    /// `public_url`: the origin people reach the server at (`https://feedback.example.gov`), for links.
    pub fn new(secret: &[u8; 32], public_url: &str) -> SendEmail {
        SendEmail {
            sealer: Sealer::new(secret),
            public_url: public_url.trim_end_matches('/').into(),
        }
    }

    async fn send(
        &self,
        store: &Store,
        job: &heard_store::jobs::ClaimedJob,
    ) -> Result<crate::jobs::Completed, String> {
        use crate::jobs::Completed;
        use lettre::AsyncTransport;
        let org = job.job.org_id;
        let jid = job.job.id;
        let id: uuid::Uuid = job
            .job
            .payload
            .get("invitation")
            .and_then(|v| v.as_str())
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| format!("job {jid}: payload has no invitation id"))?;
        let reminder = job.job.payload.get("reminder").and_then(|v| v.as_bool()) == Some(true);
        let inv = store
            .email_invitation(org, id)
            .await
            .map_err(|e| format!("job {jid}: invitation {id}: {e}"))?;
        let wanted = if reminder {
            InvitationState::Sent
        } else {
            InvitationState::Queued
        };
        if inv.state != wanted {
            // Answered, opened, bounced, unsubscribed, or sent by an earlier attempt: nothing to send.
            return Ok(Completed::ByWorker);
        }
        let now = heard_store::now_ms();
        if let Some(reason) = store
            .email_suppression(org, &inv.address_hash)
            .await
            .map_err(|e| format!("job {jid}: {e}"))?
        {
            let to = match reason {
                SuppressionReason::Bounce => InvitationState::Bounced,
                _ => InvitationState::Unsubscribed,
            };
            let mut tx = store.begin().await.map_err(|e| format!("job {jid}: {e}"))?;
            tx.complete_job(job)
                .await
                .map_err(|e| format!("job {jid}: {e}"))?;
            tx.move_email_invitation(org, id, to, now)
                .await
                .map_err(|e| format!("job {jid}: {e}"))?;
            tx.commit().await.map_err(|e| format!("job {jid}: {e}"))?;
            return Ok(Completed::WithEffect);
        }
        let sender = store
            .email_sender(org)
            .await
            .map_err(|e| format!("job {jid}: {e}"))?
            .ok_or_else(|| format!("job {jid}: the organization has no SMTP sender set up"))?;
        let organization = store
            .org(org)
            .await
            .map_err(|e| format!("job {jid}: {e}"))?;
        let org_name = organization.name.clone();
        let address = self.sealer.open(&inv.address_sealed).ok_or_else(|| {
            format!("job {jid}: invitation {id}: the sealed address cannot be opened")
        })?;
        let message = self
            .message(&sender, &org_name, &inv, &address, reminder)
            .map_err(|e| format!("job {jid}: invitation {id}: {e}"))?;
        let sent = transport(&sender, &self.sealer)
            .map_err(|e| format!("job {jid}: SMTP sender: {e}"))?
            .send(message)
            .await;
        if let Err(err) = sent {
            if let Some(status) = recipient_refused(&err) {
                // The server refused this mailbox for good: a bounce, told at once rather than by a DSN later.
                // Retrying would be refused again, so the address is suppressed and the job ends here.
                let mut tx = store.begin().await.map_err(|e| format!("job {jid}: {e}"))?;
                tx.complete_job(job)
                    .await
                    .map_err(|e| format!("job {jid}: {e}"))?;
                tx.suppress_email(
                    org,
                    &inv.address_hash,
                    SuppressionReason::Bounce,
                    &format!("smtp:{status}"),
                    now,
                )
                .await
                .map_err(|e| format!("job {jid}: {e}"))?;
                tx.end_email_invitations_to(org, &inv.address_hash, InvitationState::Bounced, now)
                    .await
                    .map_err(|e| format!("job {jid}: {e}"))?;
                tx.commit().await.map_err(|e| format!("job {jid}: {e}"))?;
                tracing::info!(%org, job = %jid, %status, "recipient refused by the SMTP server; suppressed");
                return Ok(Completed::WithEffect);
            }
            return Err(format!(
                "job {jid}: SMTP send to {}:{} failed: {}",
                sender.host,
                sender.port,
                smtp_error_text(&err)
            ));
        }
        let mut tx = store.begin().await.map_err(|e| format!("job {jid}: {e}"))?;
        tx.complete_job(job)
            .await
            .map_err(|e| format!("job {jid}: {e}"))?;
        tx.move_email_invitation(
            org,
            id,
            if reminder {
                InvitationState::Reminded
            } else {
                InvitationState::Sent
            },
            now,
        )
        .await
        .map_err(|e| format!("job {jid}: {e}"))?;
        if !reminder {
            // An invitation sent is a customer offered the survey (A-11's "offered"), counted on the organization's
            // local day in the commit that records the send; the reminder is the same offer again, not a new one.
            tx.record_display(
                org,
                inv.survey_id,
                heard_domain::Channel::Email,
                organization.time_zone.day_number(now),
                1,
            )
            .await
            .map_err(|e| format!("job {jid}: {e}"))?;
            tx.enqueue(send_job(org, id, true).run_at(now + REMIND_AFTER_MS))
                .await
                .map_err(|e| format!("job {jid}: {e}"))?;
        }
        tx.commit().await.map_err(|e| format!("job {jid}: {e}"))?;
        Ok(Completed::WithEffect)
    }

    /// The MIME message of an invitation or its reminder.
    fn message(
        &self,
        sender: &heard_store::outreach::EmailSender,
        org_name: &str,
        inv: &heard_store::outreach::EmailInvitation,
        address: &str,
        reminder: bool,
    ) -> Result<lettre::Message, String> {
        use lettre::message::{Mailbox, MultiPart, header::MessageId};
        let survey_url = format!(
            "{}/o/{}",
            self.public_url,
            survey_token(&self.sealer, inv.id)
        );
        let unsubscribe_url = format!(
            "{}/o/unsubscribe/{}/{}",
            self.public_url,
            inv.id,
            unsubscribe_token(&self.sealer, inv.id)
        );
        let l = letter(
            &inv.language,
            org_name,
            &survey_url,
            &unsubscribe_url,
            reminder,
        );
        let from = Mailbox::new(
            sender.from_name.clone(),
            sender
                .from_address
                .parse()
                .map_err(|e| format!("from address: {e}"))?,
        );
        let to: lettre::Address = address.parse().map_err(|e| format!("address: {e}"))?;
        let domain = sender
            .from_address
            .rsplit('@')
            .next()
            .unwrap_or("localhost");
        let builder = lettre::Message::builder()
            .from(from)
            .to(Mailbox::new(None, to))
            .subject(l.subject)
            .header(MessageId::from(format!(
                "<{}.{}@{domain}>",
                inv.id,
                if reminder { "reminder" } else { "invitation" }
            )))
            .header(ListUnsubscribe(format!("<{unsubscribe_url}>")))
            .header(ListUnsubscribePost);
        let mut message =
            with_multipart(builder, MultiPart::alternative_plain_html(l.text, l.html))?;
        sign_dkim(&mut message, sender, &self.sealer)?;
        Ok(message)
    }
}

/// The enhanced status code (RFC 3463, `5.1.1`) when `e` is the SMTP server's permanent refusal (5yz) of the
/// recipient's mailbox: bad destination mailbox, system or syntax (5.1.1, 5.1.2, 5.1.3), moved (5.1.6), no such
/// recipient (5.1.10), or mailbox disabled (5.2.1). Other permanent errors (authentication, the sender refused, a
/// message refused for its content) are about the sender's setup, not the person: `None`, so the job is retried
/// within its attempts and an admin sees the reason. A reply without an enhanced code is not read as a refusal,
/// since a bare 550 does not say which command it answered.
pub fn recipient_refused(e: &lettre::transport::smtp::Error) -> Option<String> {
    if !e.is_permanent() {
        return None;
    }
    let text = std::error::Error::source(e)?.to_string();
    let code = text.split_whitespace().next()?;
    let parts: Vec<&str> = code.split('.').collect();
    let refused = matches!(
        parts.as_slice(),
        ["5", "1", "1" | "2" | "3" | "6" | "10"] | ["5", "2", "1"]
    );
    refused.then(|| code.to_string())
}

/// What an SMTP failure is, for the job's error an admin reads: for a reply from the server, its code and enhanced
/// status (`permanent error (550) 5.7.1`) without the server's text, which often quotes the recipient's address;
/// otherwise lettre's description (a refused connection, a timeout, TLS), which names no one.
pub fn smtp_error_text(e: &lettre::transport::smtp::Error) -> String {
    let Some(code) = e.status() else {
        return e.to_string();
    };
    let kind = if e.is_permanent() {
        "permanent error"
    } else {
        "transient error"
    };
    let enhanced = std::error::Error::source(e)
        .map(|s| s.to_string())
        .and_then(|t| {
            t.split_whitespace()
                .next()
                .filter(|w| {
                    let parts: Vec<&str> = w.split('.').collect();
                    parts.len() == 3
                        && parts
                            .iter()
                            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
                })
                .map(str::to_string)
        });
    match enhanced {
        Some(x) => format!("{kind} ({code}) {x}"),
        None => format!("{kind} ({code})"),
    }
}

/// The DKIM signing key of a stored key text ([`dkim_key_text`]'s form): an RSA key's PKCS#1 PEM, or an Ed25519
/// key's 32-byte seed in base64, as lettre reads each.
pub fn dkim_signing_key(
    text: &str,
) -> Result<lettre::message::dkim::DkimSigningKey, lettre::message::dkim::DkimSigningKeyError> {
    use lettre::message::dkim::{DkimSigningAlgorithm, DkimSigningKey};
    let algorithm = if text.contains("-----BEGIN RSA PRIVATE KEY-----") {
        DkimSigningAlgorithm::Rsa
    } else {
        DkimSigningAlgorithm::Ed25519
    };
    DkimSigningKey::new(text.trim(), algorithm)
}

/// The DER of an Ed25519 private key in PKCS#8 (RFC 8410 §7) before its 32-byte seed.
const ED25519_PKCS8_PREFIX: [u8; 16] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];

/// A DKIM private key as an admin pastes it, checked to load with [`dkim_signing_key`], in the form to store: an
/// RSA key as its PKCS#1 PEM (`BEGIN RSA PRIVATE KEY`), an Ed25519 key (RFC 8463) as the base64 of its seed, read
/// from a PKCS#8 PEM (`openssl genpkey -algorithm ed25519`) or given so. The error says what to paste instead.
pub fn dkim_key_text(pasted: &str) -> Result<String, String> {
    use base64::Engine as _;
    let pasted = pasted.trim().replace("\r\n", "\n");
    let text = if pasted.contains("-----BEGIN RSA PRIVATE KEY-----") {
        pasted
    } else if pasted.contains("-----BEGIN PRIVATE KEY-----") {
        let body: String = pasted
            .lines()
            .filter(|l| !l.starts_with("-----"))
            .map(str::trim)
            .collect();
        let der = base64::engine::general_purpose::STANDARD
            .decode(body)
            .map_err(|_| {
                "the PEM's body is not base64; paste the whole file as it is.".to_string()
            })?;
        match der.strip_prefix(&ED25519_PKCS8_PREFIX[..]) {
            Some(seed) if seed.len() == 32 => {
                base64::engine::general_purpose::STANDARD.encode(seed)
            }
            _ => {
                return Err(
                    "an RSA key must be in PKCS#1 form (BEGIN RSA PRIVATE KEY): convert it with \
                            openssl rsa -in key.pem -traditional."
                        .into(),
                );
            }
        }
    } else if pasted.contains("-----BEGIN") {
        return Err("paste an RSA private key (BEGIN RSA PRIVATE KEY) or an Ed25519 private key (BEGIN PRIVATE KEY); \
                    a public key or certificate will not sign."
            .into());
    } else {
        pasted
    };
    dkim_signing_key(&text).map_err(|_| {
        "it does not load as an RSA (PKCS#1 PEM) or Ed25519 private key; paste the whole key file.".to_string()
    })?;
    Ok(text)
}

/// `builder`'s message with `part` as its body, the multipart's `Content-Type` (with its boundary) and
/// `MIME-Version` made headers of the message itself. lettre's `multipart` writes that `Content-Type` with the body,
/// where its DKIM signer does not see it, so a signature naming `Content-Type` would not verify; here the parts are
/// formatted by lettre and carried as a 7-bit body (each part is already quoted-printable or base64).
fn with_multipart(
    builder: lettre::message::MessageBuilder,
    part: lettre::message::MultiPart,
) -> Result<lettre::Message, String> {
    use lettre::message::header::{self, ContentTransferEncoding, ContentType};
    let content_type = part
        .headers()
        .get::<ContentType>()
        .ok_or("message: the multipart has no Content-Type")?;
    let head = part.headers().to_string().len() + 2;
    let formatted = part.formatted();
    let body = &formatted[head..];
    // lettre encodes each part (7-bit text, quoted-printable or base64), so the whole is 7-bit unless a part is not.
    let encoding = if body.is_ascii() {
        ContentTransferEncoding::SevenBit
    } else {
        ContentTransferEncoding::EightBit
    };
    let body = lettre::message::Body::dangerous_pre_encoded(body.to_vec(), encoding);

    builder
        .header(header::MIME_VERSION_1_0)
        .header(content_type)
        .body(body)
        .map_err(|e| format!("message: {e}"))
}

/// The headers a DKIM signature covers: the originator, recipient, subject, date and id (RFC 6376 section 5.4.1
/// recommends these), `MIME-Version` and `Content-Type` (so the body cannot be re-wrapped), and `List-Unsubscribe`
/// with `List-Unsubscribe-Post`, which RFC 8058 section 4 requires a one-click unsubscribe's signature to cover. A
/// header a message lacks (the test email has no `List-Unsubscribe`) is still named: its absence is signed, so
/// adding it later breaks the signature (RFC 6376 section 5.4).
pub const DKIM_SIGNED_HEADERS: [&str; 9] = [
    "From",
    "To",
    "Subject",
    "Date",
    "Message-ID",
    "MIME-Version",
    "Content-Type",
    "List-Unsubscribe",
    "List-Unsubscribe-Post",
];

/// Signs `message` with the sender's DKIM key when it has selector, domain and key, covering
/// [`DKIM_SIGNED_HEADERS`] with relaxed canonicalization of headers and body (RFC 6376 section 3.4.2, 3.4.4). Not
/// "simple" for headers: lettre folds its `DKIM-Signature` header after computing it, and a verifier (dkimpy, in the
/// tests) reading the folded header under simple canonicalization rejects the signature.
pub(crate) fn sign_dkim(
    message: &mut lettre::Message,
    sender: &heard_store::outreach::EmailSender,
    sealer: &Sealer,
) -> Result<(), String> {
    if let (Some(selector), Some(d), Some(key)) = (
        &sender.dkim_selector,
        &sender.dkim_domain,
        &sender.dkim_key_sealed,
    ) {
        use lettre::message::dkim::{DkimCanonicalization, DkimCanonicalizationType, DkimConfig};
        use lettre::message::header::HeaderName;
        let pem = sealer
            .open(key)
            .ok_or("the sealed DKIM key cannot be opened")?;
        let key = dkim_signing_key(&pem).map_err(|e| format!("DKIM key: {e}"))?;
        message.sign(&DkimConfig::new(
            selector.clone(),
            d.clone(),
            key,
            DKIM_SIGNED_HEADERS
                .iter()
                .map(|h| HeaderName::new_from_ascii_str(h))
                .collect(),
            DkimCanonicalization {
                header: DkimCanonicalizationType::Relaxed,
                body: DkimCanonicalizationType::Relaxed,
            },
        ));
    }
    Ok(())
}

/// The kind of the job that sends an admin a test email over the organization's SMTP sender.
pub const TEST_KIND: &str = "email.test";

/// Sends the admin named in the payload (`{"user": id}`) a short test email through the organization's SMTP
/// sender, signed as invitations are: the real path, from the job queue. One attempt: a failure is shown on the
/// admin's Jobs page with its reason (the SMTP server's answer), not retried behind the admin's back.
pub struct SendTestEmail {
    sealer: Sealer,
}

impl SendTestEmail {
    pub fn new(secret: &[u8; 32]) -> SendTestEmail {
        SendTestEmail {
            sealer: Sealer::new(secret),
        }
    }

    async fn send(
        &self,
        store: &Store,
        job: &heard_store::jobs::ClaimedJob,
    ) -> Result<crate::jobs::Completed, String> {
        use lettre::AsyncTransport;
        use lettre::message::Mailbox;
        let org = job.job.org_id;
        let jid = job.job.id;
        let user: heard_domain::UserId = job
            .job
            .payload
            .get("user")
            .and_then(|v| v.as_str())
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| format!("job {jid}: payload has no user id"))?;
        let to = store
            .user(user)
            .await
            .map_err(|e| format!("job {jid}: {e}"))?;
        let organization = store
            .org(org)
            .await
            .map_err(|e| format!("job {jid}: {e}"))?;
        let sender = store
            .email_sender(org)
            .await
            .map_err(|e| format!("job {jid}: {e}"))?
            .ok_or_else(|| format!("job {jid}: the organization has no SMTP sender"))?;
        let from = Mailbox::new(
            sender.from_name.clone(),
            sender
                .from_address
                .parse()
                .map_err(|e| format!("from address: {e}"))?,
        );
        let address: lettre::Address = to.email.parse().map_err(|e| format!("address: {e}"))?;
        let mut message = lettre::Message::builder()
            .from(from)
            .to(Mailbox::new(None, address))
            .subject(format!("Test email from Heard for {}", organization.name))
            .header(lettre::message::header::MIME_VERSION_1_0)
            .header(lettre::message::header::ContentType::TEXT_PLAIN)
            .body(format!(
                "This is a test. If you are reading it, {}'s survey invitations can go out through {}:{}.\n",
                organization.name, sender.host, sender.port
            ))
            .map_err(|e| format!("message: {e}"))?;
        sign_dkim(&mut message, &sender, &self.sealer)?;
        transport(&sender, &self.sealer)?
            .send(message)
            .await
            .map_err(|e| format!("job {jid}: SMTP: {e}"))?;
        tracing::info!(org = %org, job = %jid, "test email sent");
        Ok(crate::jobs::Completed::ByWorker)
    }
}

impl crate::jobs::JobHandler for SendTestEmail {
    fn run<'a>(
        &'a self,
        store: &'a Store,
        job: &'a heard_store::jobs::ClaimedJob,
    ) -> futures_util::future::BoxFuture<'a, Result<crate::jobs::Completed, String>> {
        Box::pin(self.send(store, job))
    }
}

/// Sends one plain-text message (a call back's confirmation, a sign-in link) from the organization's sender to `to`:
/// a fresh Message-ID, DKIM-signed when the sender has a key. Errors name what failed (`from address`, `address`,
/// `message`, `SMTP: ...`); an SMTP failure is the caller's to retry.
pub(crate) async fn send_plain(
    sender: &heard_store::outreach::EmailSender,
    sealer: &Sealer,
    to: &str,
    subject: &str,
    body: &str,
) -> Result<(), String> {
    use lettre::AsyncTransport;
    use lettre::message::Mailbox;
    let from = Mailbox::new(
        sender.from_name.clone(),
        sender
            .from_address
            .parse()
            .map_err(|e| format!("from address: {e}"))?,
    );
    let address: lettre::Address = to.parse().map_err(|e| format!("address: {e}"))?;
    let mut message = lettre::Message::builder()
        .from(from)
        .to(Mailbox::new(None, address))
        .message_id(None)
        .subject(subject)
        .header(lettre::message::header::MIME_VERSION_1_0)
        .header(lettre::message::header::ContentType::TEXT_PLAIN)
        .body(format!("{body}\n"))
        .map_err(|e| format!("message: {e}"))?;
    sign_dkim(&mut message, sender, sealer)?;
    transport(sender, sealer)?
        .send(message)
        .await
        .map_err(|e| format!("SMTP: {e}"))?;
    Ok(())
}

/// An SMTP transport for the sender (lettre; connections pooled per transport).
pub(crate) fn transport(
    s: &heard_store::outreach::EmailSender,
    sealer: &Sealer,
) -> Result<lettre::AsyncSmtpTransport<lettre::Tokio1Executor>, String> {
    use heard_store::outreach::TlsMode;
    use lettre::AsyncSmtpTransport;
    use lettre::transport::smtp::authentication::Credentials;
    type T = AsyncSmtpTransport<lettre::Tokio1Executor>;
    let mut b = match s.tls {
        TlsMode::Tls => T::relay(&s.host).map_err(|e| e.to_string())?,
        TlsMode::StartTls => T::starttls_relay(&s.host).map_err(|e| e.to_string())?,
        TlsMode::None => T::builder_dangerous(&s.host),
    }
    .port(s.port)
    .timeout(Some(std::time::Duration::from_secs(30)));
    if let (Some(user), Some(sealed)) = (&s.username, &s.password_sealed) {
        let password = sealer
            .open(sealed)
            .ok_or("the sealed password cannot be opened")?;
        b = b.credentials(Credentials::new(user.clone(), password));
    }
    Ok(b.build())
}

impl crate::jobs::JobHandler for SendEmail {
    fn run<'a>(
        &'a self,
        store: &'a Store,
        job: &'a heard_store::jobs::ClaimedJob,
    ) -> futures_util::future::BoxFuture<'a, Result<crate::jobs::Completed, String>> {
        Box::pin(self.send(store, job))
    }
}
