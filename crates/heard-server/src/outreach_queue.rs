//! Invitations from what happened, and batches (issue 20, item 1): the jobs that turn events into queue items and
//! hand due items to the email and SMS senders, and the one write path of a batch (the admin's CSV upload and
//! `POST /api/v1/outreach/batches`). The decisions are `heard_domain::invitation_rules`'s; the rows `heard_store::outreach_queue`'s.
//!
//! **From an event to an invitation.** Every commit of new events upserts a `data.arrived` job (`heard_store::after_data`);
//! its handler enqueues [`EVALUATE_KIND`] for the same five-minute window. That job reads, for each rule not paused,
//! the events of its type (at its service and touchpoint when it names them) received in the window (and in the two
//! minutes before it, so a commit that straddled the window's end is not missed; items are unique per rule and event,
//! so reading an event twice writes nothing) that happened at most [`MAX_EVENT_AGE_MS`] (7 days) before, and name a
//! person. Older events (a backfill of last year's calls) invite no one. For each: the person is drawn in or out of
//! the rule's sample ([`sample_draw`], a keyed hash of rule and person key, so a re-run decides alike); the contact is
//! the one given for the person and the rule's channel through `POST /api/v1/outreach/contacts` (sealed at rest, kept
//! apart from events, which keep the person key only); the item is written due at the event's time plus the delay
//! (or now, if that has passed), `skipped` when the person is out of the sample, has no contact, or the survey has no
//! published version. A [`DUE_KIND`] job is enqueued for the minute each item falls due, in the same commit.
//!
//! **Hand-off.** The [`DUE_KIND`] job takes the organization's items due by its minute and decides each at that
//! moment (`heard_domain::invitation_rules::decide`): an opted-out number or a suppressed address, no sender for the channel,
//! or a person asked within the contact cap ends the item unsent; quiet hours hold it until 08:00 where the person is
//! (a new due job is enqueued for then); otherwise, in one transaction with the job's completion, the item moves to
//! `sent` and its hand-off is written: for email, an `email_invitations` row and its `email.send` job (as
//! `crate::outreach::invite` writes them), for SMS an `sms.invite` job with the payload [`sms_invite_payload`]
//! documents, keyed `sms.invite:{item id}`. Each move is guarded by the item's state, so an item is handed off once.
//! The SMS handler checks the opt-out again when it sends.

use std::collections::{BTreeSet, HashMap};

use futures_util::future::BoxFuture;
use heard_domain::invitation_rules::{
    self, Channel, Contact, Decision, DueCheck, ItemState, Reason,
};
use heard_domain::zone::Zone;
use heard_domain::{FieldErrors, OrgId, SurveyId};
use heard_store::Store;
use heard_store::after_data::DEBOUNCE_MS;
use heard_store::jobs::{ClaimedJob, NewJob};
use heard_store::outreach_queue::{BatchWrite, NewBatch, NewQueueItem, OutreachContact, QueueItem};
use uuid::Uuid;

use crate::crypto::Sealer;
use crate::jobs::{Completed, JobHandler};

/// The job that evaluates rules against a window's events: `{"window": N}`, keyed `window-N`.
pub const EVALUATE_KIND: &str = "outreach.evaluate";
/// The job that hands off an organization's items due by a minute: `{"at": ms}`, keyed `due-{minute}`.
pub const DUE_KIND: &str = "outreach.due";
/// The SMS hand-off's job kind, run by the SMS sender (`crate::sms_send`).
pub const SMS_INVITE_KIND: &str = "sms.invite";
/// Events that happened longer ago than this when they arrive (7 days, ms) invite no one.
pub const MAX_EVENT_AGE_MS: i64 = 7 * invitation_rules::DAY_MS;
/// How far before its window an evaluation also reads (2 minutes, ms): a commit that began before the window's end.
pub const OVERLAP_MS: i64 = 2 * 60_000;
/// Items one due job hands off; more are left to a follow-up job.
pub const DUE_BATCH: i64 = 500;

/// The evaluation job for the `data.arrived` window `window` (enqueued by `crate::after_data`).
pub fn evaluate_job(org: OrgId, window: i64) -> NewJob {
    NewJob::new(org, EVALUATE_KIND, serde_json::json!({ "window": window }))
        .dedupe_key(format!("window-{window}"))
}

/// The job that hands off `org`'s items due at `at` (ms): one per organization and minute, due at the minute's end.
pub fn due_job(org: OrgId, at: i64) -> NewJob {
    let minute = at.div_euclid(60_000) + i64::from(at.rem_euclid(60_000) != 0);
    let at = minute * 60_000;
    NewJob::new(org, DUE_KIND, serde_json::json!({ "at": at }))
        .dedupe_key(format!("due-{minute}"))
        .run_at(at)
}

/// Enqueues `due_job(org, at)` in `tx`. When that minute's job exists and has already run (a later item written for
/// a minute whose job ran early), a job of its own is enqueued for the same minute, so no item waits without one.
pub async fn enqueue_due(
    tx: &mut heard_store::StoreTx,
    org: OrgId,
    at: i64,
) -> heard_store::Result<()> {
    let j = due_job(org, at);
    let payload = j.payload.clone();
    let run_at = j.run_at;
    let e = tx.enqueue(j).await?;
    if e.duplicate && !tx.job_is_waiting(org, e.id).await? {
        let mut again =
            NewJob::new(org, DUE_KIND, payload).dedupe_key(format!("due-again-{}", Uuid::now_v7()));
        again.run_at = run_at;
        tx.enqueue(again).await?;
    }
    Ok(())
}

/// The keyed draw (uniform over `u64`) that decides whether a rule's sample takes a person: the first 8 bytes of
/// SHA-256 of the server's link-keyed HMAC of the rule id and the person key. The same rule and person always draw
/// the same number; no one without the server secret can predict it.
pub fn sample_draw(sealer: &Sealer, rule: Uuid, person_key: &str) -> u64 {
    let mut id = rule.as_bytes().to_vec();
    id.extend_from_slice(person_key.as_bytes());
    let token = sealer.link_token("outreach/sample", &id);
    let digest = crate::crypto::sha256(token.as_bytes());
    u64::from_be_bytes(digest[..8].try_into().expect("8 bytes"))
}

/// The `sms.invite` job's payload (the contract with the SMS sender): `sender` (the `sms_senders` id), `survey`,
/// `survey_version`, `person_key`, `phone_sealed` (hex of the sealed E.164 number), `language` (`en` or `es`) and
/// `outreach` (the queue item's id).
pub fn sms_invite_payload(
    sender: Uuid,
    item: &QueueItem,
    survey_version: i32,
    phone_sealed: &[u8],
) -> serde_json::Value {
    serde_json::json!({
        "sender": sender,
        "survey": item.survey_id.to_string(),
        "survey_version": survey_version,
        "person_key": item.person_key,
        "phone_sealed": crate::crypto::hex(phone_sealed),
        "language": if item.language == "es" { "es" } else { "en" },
        "outreach": item.id,
    })
}

/// The keyed hash a contact is matched on (opt-outs, suppressions): the person key of the number or address itself.
pub fn contact_hash(sealer: &Sealer, org: OrgId, channel: Channel, address: &str) -> String {
    let id = match channel {
        Channel::Sms => heard_domain::identity::PersonId::phone("phone", address),
        Channel::Email => heard_domain::identity::PersonId::email("email", address),
    }
    .expect("a parsed contact's address is valid");
    sealer.person_key(org, &id).0
}

/// A parsed contact as stored: person key, sealed address and its hash.
pub fn protect(sealer: &Sealer, org: OrgId, channel: Channel, c: &Contact) -> OutreachContact {
    OutreachContact {
        person_key: sealer.person_key(org, &c.person).0,
        channel,
        contact_sealed: sealer.seal(&c.address),
        contact_hash: contact_hash(sealer, org, channel, &c.address),
        language: c.language.to_string(),
        time_zone: c.time_zone.as_ref().map(|z| z.name().to_string()),
    }
}

/// An item an evaluation found: id, rule, event, survey and version, channel, person key, cap, due time, state and
/// reason.
type Found = (
    Uuid,
    Option<Uuid>,
    Uuid,
    SurveyId,
    Option<i32>,
    Channel,
    String,
    i32,
    i64,
    ItemState,
    Option<Reason>,
);

/// Runs [`EVALUATE_KIND`].
pub struct Evaluate {
    sealer: Sealer,
}

impl Evaluate {
    pub fn new(secret: &[u8; 32]) -> Evaluate {
        Evaluate {
            sealer: Sealer::new(secret),
        }
    }

    async fn evaluate(&self, store: &Store, job: &ClaimedJob) -> Result<Completed, String> {
        let org = job.job.org_id;
        let jid = job.job.id;
        let e = |e: heard_store::StoreError| format!("job {jid}: {e}");
        let window = job.job.payload["window"]
            .as_i64()
            .ok_or_else(|| format!("job {jid}: payload has no window"))?;
        let start = window.saturating_mul(DEBOUNCE_MS);
        let end = start + DEBOUNCE_MS;
        let now = heard_store::now_ms();
        let rules = store.outreach_rules(org).await.map_err(e)?;
        let mut owned: Vec<Found> = Vec::new();
        let mut contacts: Vec<Option<OutreachContact>> = Vec::new();
        for rule in rules.iter().filter(|r| !r.paused) {
            let version = match store.survey(org, rule.survey_id).await {
                Ok(s) => s.published_version,
                Err(heard_store::StoreError::NotFound) => None,
                Err(x) => return Err(e(x)),
            };
            let events = store
                .outreach_rule_events(rule, start - OVERLAP_MS, end, start - MAX_EVENT_AGE_MS)
                .await
                .map_err(e)?;
            for ev in events {
                let contact = store
                    .outreach_contact(org, &ev.person_key, rule.channel)
                    .await
                    .map_err(e)?;
                let sampled = invitation_rules::sampled_in(
                    sample_draw(&self.sealer, rule.id, &ev.person_key),
                    rule.sample_percent.clamp(0, 100) as u8,
                );
                let reason = if !sampled {
                    Some(Reason::SampledOut)
                } else if version.is_none() {
                    Some(Reason::NotPublished)
                } else if contact.is_none() {
                    Some(Reason::NoContact)
                } else {
                    None
                };
                let due = (ev.occurred_at + rule.delay_minutes * 60_000).max(now);
                owned.push((
                    Uuid::now_v7(),
                    Some(rule.id),
                    ev.id,
                    rule.survey_id,
                    version,
                    rule.channel,
                    ev.person_key,
                    rule.cap_days,
                    due,
                    if reason.is_some() {
                        ItemState::Skipped
                    } else {
                        ItemState::Pending
                    },
                    reason,
                ));
                contacts.push(contact);
            }
        }
        let mut tx = store.begin().await.map_err(e)?;
        tx.complete_job(job).await.map_err(e)?;
        let mut due_minutes = BTreeSet::new();
        for (o, c) in owned.iter().zip(&contacts) {
            let (id, rule_id, event_id, survey, version, ch, person_key, cap, due, state, reason) =
                o;
            let written = tx
                .insert_outreach_item(
                    &NewQueueItem {
                        org_id: org,
                        id: *id,
                        rule_id: *rule_id,
                        event_id: Some(*event_id),
                        batch_id: None,
                        survey_id: *survey,
                        survey_version: *version,
                        channel: *ch,
                        person_key,
                        contact_sealed: c.as_ref().map(|c| c.contact_sealed.as_slice()),
                        contact_hash: c.as_ref().map(|c| c.contact_hash.as_str()),
                        language: c.as_ref().map(|c| c.language.as_str()).unwrap_or("en"),
                        time_zone: c.as_ref().and_then(|c| c.time_zone.as_deref()),
                        cap_days: *cap,
                        due_at: *due,
                        state: *state,
                        reason: *reason,
                    },
                    now,
                )
                .await
                .map_err(e)?;
            if written && *state == ItemState::Pending {
                due_minutes.insert(*due);
            }
        }
        let mut seen = BTreeSet::new();
        for due in due_minutes {
            if seen.insert(due_job(org, due).dedupe_key) {
                enqueue_due(&mut tx, org, due).await.map_err(e)?;
            }
        }
        tx.commit().await.map_err(e)?;
        Ok(Completed::WithEffect)
    }
}

impl JobHandler for Evaluate {
    fn run<'a>(
        &'a self,
        store: &'a Store,
        job: &'a ClaimedJob,
    ) -> BoxFuture<'a, Result<Completed, String>> {
        Box::pin(self.evaluate(store, job))
    }
}

/// What an organization has to send with, read once per hand-off.
#[derive(Debug, Clone, Copy)]
pub struct Senders {
    /// The organization's zone, for items whose person has none.
    pub org_zone: Zone,
    /// An SMTP sender is set up.
    pub has_email: bool,
    /// The SMS sender invitations go from (`Store::default_sms_sender`).
    pub sms: Option<Uuid>,
}

impl Senders {
    /// Reads `org`'s.
    pub async fn of(store: &Store, org: OrgId) -> heard_store::Result<Senders> {
        Ok(Senders {
            org_zone: store.org(org).await?.time_zone,
            has_email: store.email_sender(org).await?.is_some(),
            sms: store.default_sms_sender(org).await?,
        })
    }
}

/// The hand-off's decision for `item` at `now` (ms): skipped with no contact or no published version, else
/// `heard_domain::invitation_rules::decide` on the opt-out (SMS) or suppression (email) of its contact, the sender for
/// its channel, when the person was last handed an invitation (the later of the store's record and
/// `handed_in_this_run`, an item handed off earlier in the same run), the item's cap and the person's zone (the
/// organization's when the item has none). [`DUE_KIND`]'s job acts on it; `heard sms invite` / `heard email invite`
/// print it.
pub async fn decide_item(
    store: &Store,
    senders: &Senders,
    item: &QueueItem,
    now: i64,
    handed_in_this_run: Option<i64>,
) -> heard_store::Result<Decision> {
    let Some(hash) = item.contact_hash.as_deref() else {
        return Ok(Decision::Skip {
            reason: Reason::NoContact,
            until: None,
        });
    };
    if item.survey_version.is_none() {
        return Ok(Decision::Skip {
            reason: Reason::NotPublished,
            until: None,
        });
    }
    let org = item.org_id;
    let zone = item
        .time_zone
        .as_deref()
        .and_then(|z| Zone::parse(z).ok())
        .unwrap_or(senders.org_zone);
    // What the person chose on their MyAgency page, by the address's key or the person's: no contact, or another
    // channel than this one, counts as an opt-out (SMS) or a suppression (email) for this invitation.
    let preference = match store.my_preferences(org, hash).await? {
        Some(p) => Some(p),
        None => store.my_preferences(org, &item.person_key).await?,
    };
    let declined = preference.is_some_and(|p| {
        p.withdrawn_at.is_some()
            || p.contact == "none"
            || (p.contact == "email" && item.channel == Channel::Sms)
            || (p.contact == "sms" && item.channel == Channel::Email)
    });
    let (opted_out, suppressed, has_sender) = match item.channel {
        Channel::Sms => (
            declined || store.sms_opted_out(org, hash).await?,
            false,
            senders.sms.is_some(),
        ),
        Channel::Email => (
            false,
            declined || store.email_suppression(org, hash).await?.is_some(),
            senders.has_email,
        ),
    };
    let last = store
        .last_invited_at(org, &item.person_key)
        .await?
        .max(handed_in_this_run);
    Ok(invitation_rules::decide(&DueCheck {
        now_ms: now,
        zone: &zone,
        opted_out,
        suppressed,
        has_sender,
        last_invited_at: last,
        cap_days: item.cap_days,
    }))
}

/// Runs [`DUE_KIND`].
pub struct HandOff {
    sealer: Sealer,
}

impl HandOff {
    pub fn new(secret: &[u8; 32]) -> HandOff {
        HandOff {
            sealer: Sealer::new(secret),
        }
    }

    async fn hand_off(&self, store: &Store, job: &ClaimedJob) -> Result<Completed, String> {
        let org = job.job.org_id;
        let jid = job.job.id;
        let e = |e: heard_store::StoreError| format!("job {jid}: {e}");
        let at = job.job.payload["at"]
            .as_i64()
            .ok_or_else(|| format!("job {jid}: payload has no time"))?;
        // The job's own minute, or later when the worker runs late: decisions are made for the moment of sending.
        let now = at.max(heard_store::now_ms());
        let items = store
            .due_outreach_items(org, now, DUE_BATCH)
            .await
            .map_err(e)?;
        let senders = Senders::of(store, org).await.map_err(e)?;
        let sms_sender = senders.sms;
        // Items handed off by this job, per person: the cap counts them before they are committed.
        let mut sent_now: HashMap<String, i64> = HashMap::new();
        enum Act {
            Send,
            Hold(Reason, i64),
            Skip(Reason, Option<i64>),
        }
        let mut acts = Vec::with_capacity(items.len());
        for item in &items {
            let d = decide_item(
                store,
                &senders,
                item,
                now,
                sent_now.get(&item.person_key).copied(),
            )
            .await
            .map_err(e)?;
            acts.push(match d {
                Decision::Send => {
                    sent_now.insert(item.person_key.clone(), now);
                    Act::Send
                }
                Decision::Hold { reason, until } => Act::Hold(reason, until),
                Decision::Skip { reason, until } => Act::Skip(reason, until),
            });
        }
        let mut tx = store.begin().await.map_err(e)?;
        tx.complete_job(job).await.map_err(e)?;
        let mut handed = 0usize;
        for (item, act) in items.iter().zip(acts) {
            match act {
                Act::Hold(reason, until) => {
                    if tx
                        .hold_outreach_item(org, item.id, reason, until, now)
                        .await
                        .map_err(e)?
                    {
                        enqueue_due(&mut tx, org, until).await.map_err(e)?;
                    }
                }
                Act::Skip(reason, until) => {
                    tx.skip_outreach_item(org, item.id, reason, until, now)
                        .await
                        .map_err(e)?;
                }
                Act::Send => {
                    let version = item.survey_version.expect("checked above");
                    let sealed = item.contact_sealed.as_deref().unwrap_or_default();
                    let handoff = match item.channel {
                        Channel::Email => Uuid::now_v7(),
                        Channel::Sms => Uuid::nil(),
                    };
                    if !tx
                        .mark_outreach_sent(org, item.id, handoff, now)
                        .await
                        .map_err(e)?
                    {
                        continue;
                    }
                    match item.channel {
                        Channel::Email => {
                            let token_hash = crate::crypto::sha256_hex(
                                crate::outreach::survey_token(&self.sealer, handoff).as_bytes(),
                            );
                            tx.create_email_invitation(
                                &heard_store::outreach::NewEmailInvitation {
                                    org_id: org,
                                    id: handoff,
                                    survey_id: item.survey_id,
                                    survey_version: version,
                                    person_key: &item.person_key,
                                    address_sealed: sealed,
                                    address_hash: item.contact_hash.as_deref().unwrap_or_default(),
                                    language: if item.language == "es" { "es" } else { "en" },
                                    token_hash: &token_hash,
                                    expires_at: now + crate::outreach::LINK_LIFETIME_MS,
                                },
                                now,
                            )
                            .await
                            .map_err(e)?;
                            tx.enqueue(crate::outreach::send_job(org, handoff, false))
                                .await
                                .map_err(e)?;
                        }
                        Channel::Sms => {
                            let sender = sms_sender.expect("decided with a sender");
                            let j = tx
                                .enqueue(
                                    NewJob::new(
                                        org,
                                        SMS_INVITE_KIND,
                                        sms_invite_payload(sender, item, version, sealed),
                                    )
                                    .dedupe_key(format!("sms.invite:{}", item.id)),
                                )
                                .await
                                .map_err(e)?;
                            tx.set_outreach_handoff(org, item.id, *j.id.as_uuid())
                                .await
                                .map_err(e)?;
                        }
                    }
                    handed += 1;
                }
            }
        }
        if items.len() as i64 >= DUE_BATCH {
            tx.enqueue(
                NewJob::new(org, DUE_KIND, serde_json::json!({ "at": at }))
                    .dedupe_key(format!("more-{jid}")),
            )
            .await
            .map_err(e)?;
        }
        tx.commit().await.map_err(e)?;
        if !items.is_empty() {
            tracing::info!(%org, items = items.len(), handed_off = handed, "outreach items due");
        }
        Ok(Completed::WithEffect)
    }
}

impl JobHandler for HandOff {
    fn run<'a>(
        &'a self,
        store: &'a Store,
        job: &'a ClaimedJob,
    ) -> BoxFuture<'a, Result<Completed, String>> {
        Box::pin(self.hand_off(store, job))
    }
}

/// A batch to write: who sent it, under which key, to which survey and channel, and its parsed contacts.
pub struct Batch<'a> {
    pub org: OrgId,
    /// `upload` (the admin) or `api`.
    pub source: &'a str,
    pub idempotency_key: &'a str,
    pub survey: SurveyId,
    pub channel: Channel,
    pub contacts: &'a [Contact],
}

/// What writing a batch did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchOutcome {
    pub id: Uuid,
    /// False when the key had been used for the same request: nothing new was written.
    pub created: bool,
    pub contacts: usize,
}

/// Why a batch was not written.
#[derive(Debug, thiserror::Error)]
pub enum BatchError {
    #[error("{0}")]
    Invalid(FieldErrors),
    #[error("the idempotency key was already used for a different batch")]
    KeyReused,
    #[error(transparent)]
    Store(heard_store::StoreError),
}

impl From<heard_store::StoreError> for BatchError {
    fn from(e: heard_store::StoreError) -> Self {
        match e {
            heard_store::StoreError::IdempotencyKeyReused => BatchError::KeyReused,
            e => BatchError::Store(e),
        }
    }
}

/// Writes a batch and its items (due now) with their due job, in one transaction: all of it, or nothing. The same
/// key with the same request (survey, channel, contacts) is the first batch again; with another, `KeyReused`.
pub async fn write_batch(
    store: &Store,
    sealer: &Sealer,
    b: &Batch<'_>,
    now: i64,
) -> Result<BatchOutcome, BatchError> {
    let survey = match store.survey(b.org, b.survey).await {
        Ok(s) => s,
        Err(heard_store::StoreError::NotFound) => {
            return Err(BatchError::Invalid(FieldErrors::single(
                "survey_id",
                "unknown_survey",
                "survey_id is not a survey of this organization",
            )));
        }
        Err(e) => return Err(e.into()),
    };
    let Some(version) = survey.published_version else {
        return Err(BatchError::Invalid(FieldErrors::single(
            "survey_id",
            "not_published",
            "publish the survey before inviting people to it",
        )));
    };
    let request = serde_json::json!({
        "kind": "outreach_batch",
        "survey": b.survey.to_string(),
        "channel": b.channel.key(),
        "contacts": b.contacts.iter().map(|c| serde_json::json!([
            c.person.as_str(), c.address, c.language, c.time_zone.as_ref().map(|z| z.name()),
        ])).collect::<Vec<_>>(),
    });
    let hash = sealer.fingerprint(&request);
    let id = Uuid::now_v7();
    let mut tx = store.begin().await?;
    match tx
        .create_outreach_batch(
            &NewBatch {
                org_id: b.org,
                id,
                idempotency_key: b.idempotency_key,
                request_hash: hash.as_str(),
                source: b.source,
                survey_id: b.survey,
                survey_version: version,
                channel: b.channel,
                contacts: b.contacts.len() as i32,
            },
            now,
        )
        .await?
    {
        BatchWrite::Same(first) => {
            return Ok(BatchOutcome {
                id: first,
                created: false,
                contacts: b.contacts.len(),
            });
        }
        BatchWrite::Created => {}
    }
    for c in b.contacts {
        let p = protect(sealer, b.org, b.channel, c);
        tx.insert_outreach_item(
            &NewQueueItem {
                org_id: b.org,
                id: Uuid::now_v7(),
                rule_id: None,
                event_id: None,
                batch_id: Some(id),
                survey_id: b.survey,
                survey_version: Some(version),
                channel: b.channel,
                person_key: &p.person_key,
                contact_sealed: Some(&p.contact_sealed),
                contact_hash: Some(&p.contact_hash),
                language: &p.language,
                time_zone: p.time_zone.as_deref(),
                cap_days: invitation_rules::DEFAULT_CAP_DAYS,
                due_at: now,
                state: ItemState::Pending,
                reason: None,
            },
            now,
        )
        .await?;
    }
    enqueue_due(&mut tx, b.org, now).await?;
    tx.commit().await?;
    Ok(BatchOutcome {
        id,
        created: true,
        contacts: b.contacts.len(),
    })
}
