//! Outbound SMS from the durable job queue: a provider behind a small trait, its HTTP implementation speaking
//! Twilio's Messages API, SMS invitations (`invite_sms` and the `sms.invite` job that starts a conversation and sends
//! its opening message), pacing per sending number, and the end of conversations nobody answered (`sms.expire`).
//!
//! Twilio's Messages API (REST API 2010-04-01): `POST {base}/2010-04-01/Accounts/{AccountSid}/Messages.json`, HTTP
//! basic auth (account SID, auth token), form fields `To`, `From`, `Body` and `StatusCallback`; 201 with JSON
//! `{"sid": "SM…", "status": "queued", …}`; 4xx with `{"code": 21211, "message": …}` when the request is refused;
//! 429 when the account sends too fast. The base is `https://api.twilio.com` (TLS by rustls with the webpki roots);
//! tests point it at a fake on loopback.
//!
//! **Never lost, never sent twice.** A send is recorded (`attempting`) in a commit of its own before the provider is
//! called; its id is the job's id, and the status callback's address carries it (`?m=`). Then:
//! - the provider took it: the record gets the provider's id and first state in the job's completing transaction;
//! - the provider certainly did not take it (connection refused, 5xx, 429): the record is forgotten and the job
//!   fails, so the queue retries it with backoff (`heard_store::jobs::backoff_ms`, [`SEND_ATTEMPTS`] attempts, then
//!   dead and shown to admins, who can put it back);
//! - the provider refused it (another 4xx): recorded `failed` with Twilio's error code; not retried;
//! - nobody knows (the request went out and no answer came: a timeout, a broken connection, a 2xx without a sid;
//!   or a worker died between recording and settling, which the next attempt finds as `attempting`): recorded
//!   `unknown` and never sent again automatically. Twilio's status callback for it, if it was sent, names our id and
//!   settles it; [`heard_store::Store::sms_outbound_in_state`] lists the others for a person to check.
//!
//! **Pacing.** Each sending number sends at most `messages_per_second` (default 1, Twilio's long-code limit). The
//! next free moment is a column of the sender (`next_send_at`); a send takes it with one conditional UPDATE, and a
//! job that finds it taken goes back in the queue for that moment without using an attempt. No handler sleeps.
//!
//! **Consent at send time.** An opted-out number is checked when the job runs, not only when invited; a number
//! that opted out in between gets nothing (its record says `held_opted_out`).

use std::sync::Arc;

use futures_util::future::BoxFuture;
use heard_channels::sms::{self as proto, Conversation, TrustScale};
use heard_domain::identity::PersonId;
use heard_domain::survey::{A11Role, QuestionKind};
use heard_domain::{OrgId, SurveyId};
use heard_store::Store;
use heard_store::jobs::{ClaimedJob, NewJob};
use heard_store::sms::{NewSmsConversation, OutboundSms};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::crypto::Sealer;
use crate::jobs::{Completed, JobHandler, JobRegistry};
use crate::pipeline::Pipeline;

/// The job that starts an SMS conversation and sends its opening message (payload [`SmsInvitePayload`]).
pub const INVITE_KIND: &str = "sms.invite";
/// The job that ends a conversation with no reply for [`STALE_AFTER_MS`] (payload `{"conversation": uuid}`).
pub const EXPIRE_KIND: &str = "sms.expire";
/// A conversation with no reply for this long ends (24 hours, in ms): people answer a text within hours or not at
/// all, and a reply days later is more likely about something else. Its answers so far become the response.
pub const STALE_AFTER_MS: i64 = 24 * 3600 * 1000;
/// Attempts an `sms.invite` job gets before it is dead: with the queue's backoff (10 s doubling, capped at one
/// hour, with equal jitter) its 11 waits add up to between 1.7 and 3.4 hours of provider outage. Waiting for a pacing slot uses none.
pub const SEND_ATTEMPTS: u32 = 12;
/// Twilio's API.
pub const TWILIO_API_BASE: &str = "https://api.twilio.com";

/// One message to send.
#[derive(Debug, Clone)]
pub struct OutboundMessage {
    pub account_sid: String,
    pub auth_token: String,
    /// The sender's number, E.164.
    pub from: String,
    /// The person's number, E.164.
    pub to: String,
    pub body: String,
    /// Where the provider posts delivery states.
    pub status_callback: Option<String>,
}

/// The provider took the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    /// The provider's message id (Twilio's `sid`).
    pub sid: String,
    /// Its first state (`queued`, `accepted`).
    pub status: String,
}

/// Why a send did not happen, or may not have.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendError {
    /// The provider refused this message (4xx but 429): sending it again would fail the same way.
    Refused {
        status: u16,
        code: Option<i64>,
        message: String,
    },
    /// The provider certainly did not take it: it could not be reached, or answered 5xx or 429. Retried later.
    Unavailable(String),
    /// The request went out and no usable answer came back: it may have been sent. Never retried automatically.
    Ambiguous(String),
}

/// A way to send SMS. Tests use [`TwilioHttp`] against a fake provider on loopback.
pub trait SmsProvider: Send + Sync {
    fn send<'a>(
        &'a self,
        message: &'a OutboundMessage,
    ) -> BoxFuture<'a, Result<Accepted, SendError>>;
}

/// Twilio's Messages API over HTTP(S).
#[derive(Clone)]
pub struct TwilioHttp {
    client: reqwest::Client,
    base: String,
}

impl TwilioHttp {
    /// `base` is [`TWILIO_API_BASE`] in production, a loopback address in tests.
    pub fn new(base: &str) -> TwilioHttp {
        let client = reqwest::Client::builder()
            .connect_timeout(std::time::Duration::from_secs(5))
            .timeout(std::time::Duration::from_secs(15))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("a client with rustls and a timeout builds");
        TwilioHttp {
            client,
            base: base.trim_end_matches('/').to_string(),
        }
    }
}

impl SmsProvider for TwilioHttp {
    fn send<'a>(&'a self, m: &'a OutboundMessage) -> BoxFuture<'a, Result<Accepted, SendError>> {
        Box::pin(async move {
            let url = format!(
                "{}/2010-04-01/Accounts/{}/Messages.json",
                self.base, m.account_sid
            );
            let body = {
                let mut form = form_urlencoded::Serializer::new(String::new());
                form.append_pair("To", &m.to)
                    .append_pair("From", &m.from)
                    .append_pair("Body", &m.body);
                if let Some(cb) = &m.status_callback {
                    form.append_pair("StatusCallback", cb);
                }
                form.finish()
            };
            let resp = self
                .client
                .post(url)
                .basic_auth(&m.account_sid, Some(&m.auth_token))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body)
                .send()
                .await
                .map_err(|e| {
                    // Only a connection never made is certainly not a send; anything after may have reached it.
                    if e.is_connect() || e.is_builder() {
                        SendError::Unavailable(format!("provider unreachable: {e}"))
                    } else {
                        SendError::Ambiguous(format!("no answer from the provider: {e}"))
                    }
                })?;
            let status = resp.status().as_u16();
            let text = resp.text().await;
            match status {
                200..=299 => {
                    let json: serde_json::Value = text
                        .ok()
                        .and_then(|t| serde_json::from_str(&t).ok())
                        .unwrap_or(serde_json::Value::Null);
                    let sid = json["sid"].as_str().unwrap_or("").to_string();
                    if sid.is_empty() {
                        return Err(SendError::Ambiguous(format!(
                            "the provider answered {status} without a message sid"
                        )));
                    }
                    let status = json["status"].as_str().unwrap_or("queued").to_string();
                    Ok(Accepted { sid, status })
                }
                // 429 (too many requests) is a wait, not a refusal.
                400..=499 if status != 429 => {
                    let json: serde_json::Value = text
                        .ok()
                        .and_then(|t| serde_json::from_str(&t).ok())
                        .unwrap_or(serde_json::Value::Null);
                    Err(SendError::Refused {
                        status,
                        code: json["code"].as_i64(),
                        message: json["message"]
                            .as_str()
                            .unwrap_or("")
                            .chars()
                            .take(200)
                            .collect(),
                    })
                }
                _ => Err(SendError::Unavailable(format!(
                    "provider answered {status}"
                ))),
            }
        })
    }
}

/// An SMS invitation to a survey.
#[derive(Debug, Clone)]
pub struct SmsInvite {
    pub org: OrgId,
    /// The sending number (`sms_senders.id`), which must be the organization's.
    pub sender: Uuid,
    pub survey: SurveyId,
    /// A published version of the survey; `None` is the one published now.
    pub survey_version: Option<i32>,
    /// The person's number as given (E.164, or a US number: see `heard_domain::identity::PersonId::phone`).
    pub phone: String,
    /// The person's key for analytics; `None` is the phone's own key (`Sealer::person_key`), the one every channel
    /// gives this number.
    pub person_key: Option<String>,
    /// `en` or `es`.
    pub language: String,
    /// The invitation queue's item that asked for it, kept with the conversation.
    pub outreach: Option<Uuid>,
}

/// The `sms.invite` job's payload (ids, the number sealed).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SmsInvitePayload {
    pub sender: Uuid,
    pub survey: Uuid,
    pub survey_version: i32,
    pub person_key: String,
    /// `Sealer::seal` of the E.164 number, in lower-case hex.
    pub phone_sealed: String,
    pub language: String,
    pub outreach: Option<Uuid>,
}

/// Why an SMS invitation was not queued. Nothing was written.
#[derive(Debug, thiserror::Error)]
pub enum SmsInviteError {
    #[error("{0}")]
    Field(heard_domain::FieldError),
    #[error("language: SMS invitations are written in en or es, not {0:?}")]
    Language(String),
    #[error("sender: no SMS sender {0} in this organization")]
    NoSender(Uuid),
    #[error("survey: {0}")]
    Survey(String),
    #[error("phone: the number has opted out of the organization's messages (STOP)")]
    OptedOut,
    #[error(transparent)]
    Store(#[from] heard_store::StoreError),
}

/// The trust question's scale on SMS (1-5 or YES/NO) and its statement in `lang`, or why the version cannot be asked
/// by SMS.
fn trust_of(
    def: &heard_domain::survey::SurveyDefinition,
    lang: &str,
) -> Result<(TrustScale, String), String> {
    let q = def
        .question_with_role(A11Role::Trust)
        .ok_or("it has no trust question, which an SMS conversation opens with")?;
    let scale = match q.kind {
        QuestionKind::Agreement5 => TrustScale::OneToFive,
        QuestionKind::Thumbs => TrustScale::YesNo,
        _ => {
            return Err(
                "its trust question is neither a 1-5 agreement nor a thumbs question".into(),
            );
        }
    };
    Ok((scale, q.prompt.get(lang).to_string()))
}

/// Checks an SMS invitation (the number is E.164, the sender is the organization's, the survey version is published
/// and asks trust on a scale SMS can carry, the language is en or es, the number has not opted out) and enqueues
/// its `sms.invite` job in one transaction, due now; returns the job's id, which is also the conversation's and its
/// opening message's. The job's dedupe key is `sms.invite:{outreach}` (a random id when none is given), so the same
/// queue item enqueues once: invited again, it returns the first job's id. It writes no send-queue item and applies
/// no contact cap or quiet hours: people are invited through `crate::outreach_queue` (rules, batches, and
/// `heard sms invite`), whose hand-off does; this is the sender's own door, for tests and tools below that.
pub async fn invite_sms(
    store: &Store,
    sealer: &Sealer,
    i: &SmsInvite,
    now: i64,
) -> Result<Uuid, SmsInviteError> {
    if !matches!(i.language.as_str(), "en" | "es") {
        return Err(SmsInviteError::Language(i.language.clone()));
    }
    let phone = PersonId::phone("phone", &i.phone).map_err(SmsInviteError::Field)?;
    let e164 = phone.as_str().trim_start_matches("phone:").to_string();
    store
        .sms_sender(i.sender)
        .await?
        .filter(|s| s.org_id == *i.org.as_uuid())
        .ok_or(SmsInviteError::NoSender(i.sender))?;
    let survey = match store.survey(i.org, i.survey).await {
        Ok(s) => s,
        Err(heard_store::StoreError::NotFound) => {
            return Err(SmsInviteError::Survey(format!(
                "no survey {} in this organization",
                i.survey
            )));
        }
        Err(e) => return Err(e.into()),
    };
    let published = survey
        .published_version
        .ok_or_else(|| SmsInviteError::Survey("the survey is not published".into()))?;
    let version = i.survey_version.unwrap_or(published);
    if version < 1 || version > published {
        return Err(SmsInviteError::Survey(format!(
            "version {version} is not a published version (the latest is {published})"
        )));
    }
    let v = store.survey_version(i.org, i.survey, version).await?;
    trust_of(&v.definition, &i.language).map_err(SmsInviteError::Survey)?;
    let phone_key = sealer.person_key(i.org, &phone).0;
    if store.sms_opted_out(i.org, &phone_key).await? {
        return Err(SmsInviteError::OptedOut);
    }
    let payload = SmsInvitePayload {
        sender: i.sender,
        survey: *i.survey.as_uuid(),
        survey_version: version,
        person_key: i.person_key.clone().unwrap_or(phone_key),
        phone_sealed: crate::crypto::hex(&sealer.seal(&e164)),
        language: i.language.clone(),
        outreach: i.outreach,
    };
    let key = format!("sms.invite:{}", i.outreach.unwrap_or_else(Uuid::new_v4));
    // The sealed number differs on every call, so the same invitation again is found by its key.
    if let Some(id) = store.job_by_dedupe_key(i.org, INVITE_KIND, &key).await? {
        return Ok(id);
    }
    let mut tx = store.begin().await?;
    let job = tx
        .enqueue(
            NewJob::new(
                i.org,
                INVITE_KIND,
                serde_json::to_value(&payload).expect("a payload serializes"),
            )
            .dedupe_key(key)
            .run_at(now)
            .max_attempts(SEND_ATTEMPTS),
        )
        .await?;
    tx.commit().await?;
    Ok(*job.id.as_uuid())
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Registers the SMS job kinds ([`INVITE_KIND`], [`EXPIRE_KIND`]) with their handlers.
pub fn register(registry: &mut JobRegistry, jobs: SmsJobs) {
    registry.register(INVITE_KIND, SendInvite(jobs.clone()));
    registry.register(EXPIRE_KIND, ExpireConversation(jobs));
}

/// What the SMS jobs need: the pipeline (its sealer opens numbers and tokens; a stale conversation's answers go
/// through it), the public URL (status callbacks) and the provider.
#[derive(Clone)]
pub struct SmsJobs {
    pipeline: Arc<Pipeline>,
    public_url: Arc<str>,
    provider: Arc<dyn SmsProvider>,
}

impl SmsJobs {
    pub fn new(
        pipeline: Arc<Pipeline>,
        public_url: &str,
        provider: Arc<dyn SmsProvider>,
    ) -> SmsJobs {
        SmsJobs {
            pipeline,
            public_url: public_url.trim_end_matches('/').into(),
            provider,
        }
    }

    fn sealer(&self) -> &Sealer {
        self.pipeline.sealer()
    }
}

/// The `sms.invite` handler.
pub struct SendInvite(SmsJobs);

/// The `sms.expire` handler.
pub struct ExpireConversation(SmsJobs);

impl JobHandler for SendInvite {
    fn run<'a>(
        &'a self,
        store: &'a Store,
        job: &'a ClaimedJob,
    ) -> BoxFuture<'a, Result<Completed, String>> {
        Box::pin(async move {
            let jid = job.job.id;
            self.0
                .invite(store, job)
                .await
                .map_err(|e| format!("job {jid}: {e}"))
        })
    }
}

impl JobHandler for ExpireConversation {
    fn run<'a>(
        &'a self,
        store: &'a Store,
        job: &'a ClaimedJob,
    ) -> BoxFuture<'a, Result<Completed, String>> {
        Box::pin(async move {
            let jid = job.job.id;
            self.0
                .expire(store, job)
                .await
                .map_err(|e| format!("job {jid}: {e}"))
        })
    }
}

fn store_err(e: heard_store::StoreError) -> String {
    e.to_string()
}

impl SmsJobs {
    async fn invite(&self, store: &Store, job: &ClaimedJob) -> Result<Completed, String> {
        let org = job.job.org_id;
        let p: SmsInvitePayload = serde_json::from_value(job.job.payload.clone())
            .map_err(|e| format!("the payload is not an sms.invite payload: {e}"))?;
        // The job's id names the conversation it starts and the message it sends, so a retry finds both.
        let id = *job.job.id.as_uuid();
        if let Some(earlier) = store.sms_outbound(org, id).await.map_err(store_err)? {
            let mut tx = store.begin().await.map_err(store_err)?;
            tx.complete_job(job).await.map_err(store_err)?;
            if earlier.status == "attempting" {
                // An earlier attempt recorded the send and stopped before its answer was recorded: it may have
                // gone out. Never sent again automatically.
                tx.settle_sms_outbound(org, id, "unknown", None, None, heard_store::now_ms())
                    .await
                    .map_err(store_err)?;
                tx.enqueue(expire_job(org, id, heard_store::now_ms()))
                    .await
                    .map_err(store_err)?;
                tracing::warn!(job = %job.job.id, "an SMS send's outcome is unknown; not sent again");
            }
            tx.commit().await.map_err(store_err)?;
            return Ok(Completed::WithEffect);
        }
        let sender = store
            .sms_sender(p.sender)
            .await
            .map_err(store_err)?
            .filter(|s| s.org_id == *org.as_uuid())
            .ok_or_else(|| format!("SMS sender {} is not the organization's", p.sender))?;
        let e164 = unhex(&p.phone_sealed)
            .and_then(|b| self.sealer().open(&b))
            .ok_or("the sealed number cannot be opened")?;
        let phone = PersonId::phone("phone", &e164).map_err(|e| e.message)?;
        let phone_key = self.sealer().person_key(org, &phone).0;
        let segments_of = |body: &str| proto::segments(body).segments as i32;
        let now = heard_store::now_ms();
        if store
            .sms_opted_out(org, &phone_key)
            .await
            .map_err(store_err)?
        {
            let mut tx = store.begin().await.map_err(store_err)?;
            tx.complete_job(job).await.map_err(store_err)?;
            tx.record_sms_outbound(
                org,
                id,
                &OutboundSms {
                    sender_id: sender.id,
                    conversation_id: None,
                    provider_message_id: None,
                    status: "held_opted_out".into(),
                    segments: 0,
                    now,
                },
            )
            .await
            .map_err(store_err)?;
            tx.commit().await.map_err(store_err)?;
            tracing::info!(job = %job.job.id, "SMS invitation held: the number opted out");
            return Ok(Completed::WithEffect);
        }
        let survey = SurveyId::from_uuid(p.survey);
        let version = store
            .survey_version(org, survey, p.survey_version)
            .await
            .map_err(store_err)?;
        let (scale, statement) = trust_of(&version.definition, &p.language)?;
        let lang = proto::Lang::from_code(&p.language);
        let organization = store.org(org).await.map_err(store_err)?;
        let body = Conversation::start(lang, scale).opening(&organization.name, &statement);

        // Everything the call needs is at hand before the attempt is recorded: a recorded attempt means a call.
        let auth_token = self
            .sealer()
            .open(&sender.auth_token_sealed)
            .ok_or("the sender's sealed auth token cannot be opened")?;
        // Take the sender's pacing slot, start the conversation and record the attempt, in one commit.
        let mut tx = store.begin().await.map_err(store_err)?;
        if let Some(at) = tx
            .take_sms_slot(org, sender.id, now)
            .await
            .map_err(store_err)?
        {
            tx.defer_claimed_job(job, at).await.map_err(store_err)?;
            tx.commit().await.map_err(store_err)?;
            return Ok(Completed::WithEffect);
        }
        tx.start_sms_conversation_as(
            org,
            id,
            &NewSmsConversation {
                sender_id: sender.id,
                phone_key: phone_key.clone(),
                phone_sealed: self.sealer().seal(&e164),
                person_key: p.person_key.clone(),
                survey_id: survey,
                survey_version: p.survey_version,
                lang: lang.code().into(),
                scale: match scale {
                    TrustScale::OneToFive => "one_to_five".into(),
                    TrustScale::YesNo => "yes_no".into(),
                },
            },
            p.outreach,
            now,
        )
        .await
        .map_err(store_err)?;
        tx.record_sms_outbound(
            org,
            id,
            &OutboundSms {
                sender_id: sender.id,
                conversation_id: Some(id),
                provider_message_id: None,
                status: "attempting".into(),
                segments: segments_of(&body),
                now,
            },
        )
        .await
        .map_err(store_err)?;
        tx.commit().await.map_err(store_err)?;

        let message = OutboundMessage {
            account_sid: sender.account_sid.clone(),
            auth_token,
            from: sender.phone_number.clone(),
            to: e164,
            body,
            status_callback: Some(format!(
                "{}/hooks/sms/{}/status?m={id}",
                self.public_url, sender.id
            )),
        };
        let (mut tx, settled) =
            send_recorded(self.provider.as_ref(), store, org, id, &message).await?;
        let now = heard_store::now_ms();
        tx.complete_job(job).await.map_err(store_err)?;
        match &settled {
            Settled::Sent => {
                tx.record_sms_offered(org, survey, organization.time_zone.day_number(now))
                    .await
                    .map_err(store_err)?;
            }
            // The person never got the question: the conversation ends as unanswered in a day.
            Settled::Refused(code) => {
                tracing::warn!(job = %job.job.id, code = %code, "the provider refused an SMS invitation");
            }
            Settled::Unknown(why) => {
                tracing::warn!(job = %job.job.id, cause = %why, "an SMS send's outcome is unknown; not sent again");
            }
        }
        tx.enqueue(expire_job(org, id, now))
            .await
            .map_err(store_err)?;
        tx.commit().await.map_err(store_err)?;
        Ok(Completed::WithEffect)
    }

    async fn expire(&self, store: &Store, job: &ClaimedJob) -> Result<Completed, String> {
        let org = job.job.org_id;
        let id: Uuid = job
            .job
            .payload
            .get("conversation")
            .and_then(|v| v.as_str())
            .and_then(|s| s.parse().ok())
            .ok_or("the payload has no conversation id")?;
        let Some(c) = store.sms_conversation(org, id).await.map_err(store_err)? else {
            return Ok(Completed::ByWorker);
        };
        if c.step == "done" {
            return Ok(Completed::ByWorker);
        }
        let now = heard_store::now_ms();
        let due = c.updated_at + STALE_AFTER_MS;
        if due > now {
            // A reply came since: wait for a day after it.
            let mut tx = store.begin().await.map_err(store_err)?;
            tx.defer_claimed_job(job, due).await.map_err(store_err)?;
            tx.commit().await.map_err(store_err)?;
            return Ok(Completed::WithEffect);
        }
        let answers: serde_json::Map<String, serde_json::Value> = c
            .answers_sealed
            .as_ref()
            .and_then(|s| self.sealer().open(s))
            .and_then(|s| serde_json::from_str(&s).ok())
            .unwrap_or_default();
        if !answers.is_empty() {
            // The answers given so far are the response (idempotent by `sms:<conversation>`, so a retried job
            // stores it once). The domain has no "incomplete" mark: a response holds the questions answered.
            crate::sms::submit(
                store,
                &self.pipeline,
                org,
                &c,
                proto::Lang::from_code(&c.lang),
                &answers,
            )
            .await
            .map_err(|e| format!("conversation {id}: the response was not stored: {e:?}"))?;
        }
        let mut tx = store.begin().await.map_err(store_err)?;
        tx.complete_job(job).await.map_err(store_err)?;
        tx.end_sms_conversation(org, id, "stale", now)
            .await
            .map_err(store_err)?;
        tx.commit().await.map_err(store_err)?;
        Ok(Completed::WithEffect)
    }
}

/// What became of a send recorded before the provider was called.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Settled {
    /// The provider took it (its id and first state are on the record).
    Sent,
    /// The provider refused it, with Twilio's error code (or the HTTP status): recorded `failed`, not retried.
    Refused(String),
    /// No usable answer came: recorded `unknown`, never sent again automatically.
    Unknown(String),
}

/// Calls the provider for the send recorded as `id` (`attempting`, in a commit of its own) and settles the record
/// in a new transaction, returned for the caller to add its effects and commit. A send the provider certainly did
/// not take (unreachable, 5xx, 429) has its record forgotten, committed, and is an `Err` so the job is retried.
pub(crate) async fn send_recorded(
    provider: &dyn SmsProvider,
    store: &Store,
    org: OrgId,
    id: Uuid,
    message: &OutboundMessage,
) -> Result<(heard_store::jobs::StoreTx, Settled), String> {
    let sent = provider.send(message).await;
    let now = heard_store::now_ms();
    let mut tx = store.begin().await.map_err(store_err)?;
    let settled = match sent {
        Ok(accepted) => {
            tx.settle_sms_outbound(org, id, &accepted.status, Some(&accepted.sid), None, now)
                .await
                .map_err(store_err)?;
            Settled::Sent
        }
        Err(SendError::Unavailable(why)) => {
            tx.forget_sms_attempt(org, id).await.map_err(store_err)?;
            tx.commit().await.map_err(store_err)?;
            return Err(why);
        }
        Err(SendError::Refused { status, code, .. }) => {
            let code = code.map(|c| c.to_string()).unwrap_or(status.to_string());
            tx.settle_sms_outbound(org, id, "failed", None, Some(&code), now)
                .await
                .map_err(store_err)?;
            Settled::Refused(code)
        }
        Err(SendError::Ambiguous(why)) => {
            tx.settle_sms_outbound(org, id, "unknown", None, None, now)
                .await
                .map_err(store_err)?;
            Settled::Unknown(why)
        }
    };
    Ok((tx, settled))
}

/// Sends one text outside a survey conversation (a call back's confirmation, a sign-in link) from `sender` to `to`,
/// recorded as `id` (the job's id) before the provider is called: takes the sender's pacing slot (when it is taken,
/// the job goes back in the queue for that moment and this returns `None`), records the attempt in a commit of its
/// own, calls the provider and settles the record ([`send_recorded`]). Returns what became of it, with a note for
/// the caller's record when it did not certainly go.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn send_notice(
    provider: &dyn SmsProvider,
    store: &Store,
    job: &ClaimedJob,
    sender: &heard_store::sms::SmsSender,
    auth_token: String,
    id: Uuid,
    to: &str,
    body: &str,
    public_url: &str,
) -> Result<Option<Option<String>>, String> {
    let org = job.job.org_id;
    let now = heard_store::now_ms();
    let mut tx = store.begin().await.map_err(store_err)?;
    if let Some(at) = tx
        .take_sms_slot(org, sender.id, now)
        .await
        .map_err(store_err)?
    {
        tx.defer_claimed_job(job, at).await.map_err(store_err)?;
        tx.commit().await.map_err(store_err)?;
        return Ok(None);
    }
    tx.record_sms_outbound(
        org,
        id,
        &OutboundSms {
            sender_id: sender.id,
            conversation_id: None,
            provider_message_id: None,
            status: "attempting".into(),
            segments: proto::segments(body).segments as i32,
            now,
        },
    )
    .await
    .map_err(store_err)?;
    tx.commit().await.map_err(store_err)?;
    let message = OutboundMessage {
        account_sid: sender.account_sid.clone(),
        auth_token,
        from: sender.phone_number.clone(),
        to: to.to_string(),
        body: body.to_string(),
        status_callback: Some(format!(
            "{}/hooks/sms/{}/status?m={id}",
            public_url.trim_end_matches('/'),
            sender.id
        )),
    };
    let (tx, settled) = send_recorded(provider, store, org, id, &message).await?;
    tx.commit().await.map_err(store_err)?;
    Ok(Some(match settled {
        Settled::Sent => None,
        Settled::Refused(code) => Some(format!("the SMS provider refused it ({code})")),
        Settled::Unknown(_) => {
            Some("the SMS provider did not answer; it may have been sent".to_string())
        }
    }))
}

/// The `sms.expire` job of a conversation, due [`STALE_AFTER_MS`] after `now`.
fn expire_job(org: OrgId, conversation: Uuid, now: i64) -> NewJob {
    NewJob::new(
        org,
        EXPIRE_KIND,
        serde_json::json!({ "conversation": conversation }),
    )
    .dedupe_key(format!("sms.expire:{conversation}"))
    .run_at(now + STALE_AFTER_MS)
}
