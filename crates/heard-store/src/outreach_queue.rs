//! Invitations from what happened, and batches (issue 20, item 1; migration 0036): invitation rules, the contact list
//! events' persons are invited at, batches, and the outbound queue (`outreach_queue`) every invitation waits in.
//!
//! **Life of an item.** Written `pending` with its due time (a rule's: the event's time plus the delay; a batch's:
//! now), or `skipped` at once when its person is out of the rule's sample or has no contact. When due, the server
//! (`heard_server::outreach_queue`) decides with `heard_domain::invitation_rules::decide`: `held` with a new due time (quiet
//! hours), `skipped` with a reason, or `sent`, handed off in the same transaction as the email invitation or the
//! `sms.invite` job it makes. Every move is guarded by the states it may come from (`pending` or `held`), so an item
//! is handed off once however many workers look at it. A rule's items are unique per (rule, event): evaluating the
//! same events again writes nothing.
//!
//! Contacts arrive sealed, with their keyed hash (`contact_hash`, the hash SMS opt-outs and email suppressions use);
//! the store never sees them in clear.

use heard_domain::invitation_rules::{Channel, ItemState, Reason};
use heard_domain::{OrgId, SurveyId};
use uuid::Uuid;

use crate::jobs::{StoreTx, on_tx};
use crate::{Result, Store, StoreError, on_pool};

/// A stored invitation rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutreachRule {
    pub org_id: OrgId,
    pub id: Uuid,
    pub name: String,
    pub event_type: String,
    pub service_id: Option<Uuid>,
    pub touchpoint_id: Option<Uuid>,
    pub channel: Channel,
    pub survey_id: SurveyId,
    pub delay_minutes: i64,
    pub sample_percent: i32,
    pub cap_days: i32,
    pub paused: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

type RuleRow = (
    Uuid,
    Uuid,
    String,
    String,
    Option<Uuid>,
    Option<Uuid>,
    String,
    Uuid,
    i64,
    i32,
    i32,
    bool,
    i64,
    i64,
);

const RULE_COLUMNS: &str = "org_id, id, name, event_type, service_id, touchpoint_id, channel, survey_id, \
    delay_minutes, sample_percent, cap_days, paused, created_at, updated_at";

fn channel(s: &str) -> Result<Channel> {
    Channel::parse(s).ok_or_else(|| StoreError::Corrupt(format!("outreach channel {s:?}")))
}

fn rule(r: RuleRow) -> Result<OutreachRule> {
    Ok(OutreachRule {
        org_id: OrgId::from_uuid(r.0),
        id: r.1,
        name: r.2,
        event_type: r.3,
        service_id: r.4,
        touchpoint_id: r.5,
        channel: channel(&r.6)?,
        survey_id: SurveyId::from_uuid(r.7),
        delay_minutes: r.8,
        sample_percent: r.9,
        cap_days: r.10,
        paused: r.11,
        created_at: r.12,
        updated_at: r.13,
    })
}

/// A contact where a person may be invited on a channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutreachContact {
    pub person_key: String,
    pub channel: Channel,
    pub contact_sealed: Vec<u8>,
    pub contact_hash: String,
    pub language: String,
    pub time_zone: Option<String>,
}

/// An event a rule follows: its id, person key and when it happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleEvent {
    pub id: Uuid,
    pub person_key: String,
    pub occurred_at: i64,
}

/// A queue item to write.
#[derive(Debug, Clone)]
pub struct NewQueueItem<'a> {
    pub org_id: OrgId,
    pub id: Uuid,
    pub rule_id: Option<Uuid>,
    pub event_id: Option<Uuid>,
    pub batch_id: Option<Uuid>,
    pub survey_id: SurveyId,
    pub survey_version: Option<i32>,
    pub channel: Channel,
    pub person_key: &'a str,
    pub contact_sealed: Option<&'a [u8]>,
    pub contact_hash: Option<&'a str>,
    pub language: &'a str,
    pub time_zone: Option<&'a str>,
    pub cap_days: i32,
    pub due_at: i64,
    /// `Pending`, or `Skipped` with its reason.
    pub state: ItemState,
    pub reason: Option<Reason>,
}

/// A stored queue item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueItem {
    pub org_id: OrgId,
    pub id: Uuid,
    pub rule_id: Option<Uuid>,
    pub event_id: Option<Uuid>,
    pub batch_id: Option<Uuid>,
    pub survey_id: SurveyId,
    pub survey_version: Option<i32>,
    pub channel: Channel,
    pub person_key: String,
    pub contact_sealed: Option<Vec<u8>>,
    pub contact_hash: Option<String>,
    pub language: String,
    pub time_zone: Option<String>,
    pub cap_days: i32,
    pub due_at: i64,
    pub state: ItemState,
    pub reason: Option<Reason>,
    pub reason_until: Option<i64>,
    pub handed_off_at: Option<i64>,
    pub handoff_id: Option<Uuid>,
    pub created_at: i64,
}

const ITEM_COLUMNS: &str = "org_id, id, rule_id, event_id, batch_id, survey_id, survey_version, channel, \
    person_key, contact_sealed, contact_hash, language, time_zone, cap_days, due_at, state, reason, reason_until, \
    handed_off_at, handoff_id, created_at";

#[derive(sqlx::FromRow)]
struct ItemRow {
    org_id: Uuid,
    id: Uuid,
    rule_id: Option<Uuid>,
    event_id: Option<Uuid>,
    batch_id: Option<Uuid>,
    survey_id: Uuid,
    survey_version: Option<i32>,
    channel: String,
    person_key: String,
    contact_sealed: Option<Vec<u8>>,
    contact_hash: Option<String>,
    language: String,
    time_zone: Option<String>,
    cap_days: i32,
    due_at: i64,
    state: String,
    reason: Option<String>,
    reason_until: Option<i64>,
    handed_off_at: Option<i64>,
    handoff_id: Option<Uuid>,
    created_at: i64,
}

impl ItemRow {
    fn into_item(self) -> Result<QueueItem> {
        Ok(QueueItem {
            org_id: OrgId::from_uuid(self.org_id),
            id: self.id,
            rule_id: self.rule_id,
            event_id: self.event_id,
            batch_id: self.batch_id,
            survey_id: SurveyId::from_uuid(self.survey_id),
            survey_version: self.survey_version,
            channel: channel(&self.channel)?,
            person_key: self.person_key,
            contact_sealed: self.contact_sealed,
            contact_hash: self.contact_hash,
            language: self.language,
            time_zone: self.time_zone,
            cap_days: self.cap_days,
            due_at: self.due_at,
            state: ItemState::parse(&self.state)
                .ok_or_else(|| StoreError::Corrupt(format!("queue state {:?}", self.state)))?,
            reason: match self.reason {
                Some(r) => Some(
                    Reason::parse(&r)
                        .ok_or_else(|| StoreError::Corrupt(format!("queue reason {r:?}")))?,
                ),
                None => None,
            },
            reason_until: self.reason_until,
            handed_off_at: self.handed_off_at,
            handoff_id: self.handoff_id,
            created_at: self.created_at,
        })
    }
}

/// A rule to write (checked by the caller: `heard_domain::invitation_rules::parse_rule`, and its service, touchpoint and
/// survey the organization's own).
#[derive(Debug, Clone)]
pub struct RuleWrite<'a> {
    pub name: &'a str,
    pub event_type: &'a str,
    pub service_id: Option<Uuid>,
    pub touchpoint_id: Option<Uuid>,
    pub channel: Channel,
    pub survey_id: SurveyId,
    pub delay_minutes: i64,
    pub sample_percent: i32,
    pub cap_days: i32,
}

/// A batch: what its idempotency key was first used for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutreachBatch {
    pub id: Uuid,
    pub source: String,
    pub survey_id: SurveyId,
    pub survey_version: i32,
    pub channel: Channel,
    pub contacts: i32,
    pub created_at: i64,
}

/// A batch to write.
#[derive(Debug, Clone)]
pub struct NewBatch<'a> {
    pub org_id: OrgId,
    pub id: Uuid,
    pub idempotency_key: &'a str,
    pub request_hash: &'a str,
    /// `upload` or `api`.
    pub source: &'a str,
    pub survey_id: SurveyId,
    pub survey_version: i32,
    pub channel: Channel,
    pub contacts: i32,
}

/// What writing a batch found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BatchWrite {
    /// New: write its items in the same transaction.
    Created,
    /// The key was used before for the same request: that batch's id; write nothing.
    Same(Uuid),
}

/// Queue items per state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct QueueCounts {
    pub pending: i64,
    pub held: i64,
    pub sent: i64,
    pub skipped: i64,
}

impl Store {
    /// The organization's rules, by name.
    pub async fn outreach_rules(&self, org: OrgId) -> Result<Vec<OutreachRule>> {
        let sql = format!(
            "SELECT {RULE_COLUMNS} FROM outreach_rules WHERE org_id = $1 ORDER BY name, id"
        );
        let rows: Vec<RuleRow> =
            on_pool!(self, p => sqlx::query_as(&sql).bind(org.as_uuid()).fetch_all(p).await)?;
        rows.into_iter().map(rule).collect()
    }

    /// One rule of the organization.
    pub async fn outreach_rule(&self, org: OrgId, id: Uuid) -> Result<OutreachRule> {
        let sql =
            format!("SELECT {RULE_COLUMNS} FROM outreach_rules WHERE org_id = $1 AND id = $2");
        let row: Option<RuleRow> = on_pool!(self, p => sqlx::query_as(&sql)
            .bind(org.as_uuid()).bind(id).fetch_optional(p).await)?;
        rule(row.ok_or(StoreError::NotFound)?)
    }

    /// Writes a new rule (not paused) and returns its id.
    pub async fn create_outreach_rule(
        &self,
        org: OrgId,
        r: &RuleWrite<'_>,
        now: i64,
    ) -> Result<Uuid> {
        let id = Uuid::now_v7();
        on_pool!(self, p => sqlx::query(
            "INSERT INTO outreach_rules (org_id, id, name, event_type, service_id, touchpoint_id, channel, survey_id, \
             delay_minutes, sample_percent, cap_days, paused, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13)")
            .bind(org.as_uuid()).bind(id).bind(r.name).bind(r.event_type).bind(r.service_id).bind(r.touchpoint_id)
            .bind(r.channel.key()).bind(r.survey_id.as_uuid()).bind(r.delay_minutes).bind(r.sample_percent)
            .bind(r.cap_days).bind(false).bind(now)
            .execute(p).await.map(|_| ()))?;
        Ok(id)
    }

    /// Replaces a rule's settings (items already written keep theirs). `NotFound` for another organization's rule.
    pub async fn update_outreach_rule(
        &self,
        org: OrgId,
        id: Uuid,
        r: &RuleWrite<'_>,
        now: i64,
    ) -> Result<()> {
        let n = on_pool!(self, p => sqlx::query(
            "UPDATE outreach_rules SET name = $3, event_type = $4, service_id = $5, touchpoint_id = $6, channel = $7, \
             survey_id = $8, delay_minutes = $9, sample_percent = $10, cap_days = $11, updated_at = $12 \
             WHERE org_id = $1 AND id = $2")
            .bind(org.as_uuid()).bind(id).bind(r.name).bind(r.event_type).bind(r.service_id).bind(r.touchpoint_id)
            .bind(r.channel.key()).bind(r.survey_id.as_uuid()).bind(r.delay_minutes).bind(r.sample_percent)
            .bind(r.cap_days).bind(now)
            .execute(p).await.map(|r| r.rows_affected()))?;
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    /// Pauses or resumes a rule: a paused rule makes no items (items already written still go).
    pub async fn set_outreach_rule_paused(
        &self,
        org: OrgId,
        id: Uuid,
        paused: bool,
        now: i64,
    ) -> Result<()> {
        let n = on_pool!(self, p => sqlx::query(
            "UPDATE outreach_rules SET paused = $3, updated_at = $4 WHERE org_id = $1 AND id = $2")
            .bind(org.as_uuid()).bind(id).bind(paused).bind(now)
            .execute(p).await.map(|r| r.rows_affected()))?;
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    /// The events a rule follows among those received in `[received_from, received_to)` that happened at or after
    /// `occurred_from` and name a person: of its type, and at its service and touchpoint when it names them. Read
    /// through the `(org_id, type, occurred_at)` index.
    pub async fn outreach_rule_events(
        &self,
        r: &OutreachRule,
        received_from: i64,
        received_to: i64,
        occurred_from: i64,
    ) -> Result<Vec<RuleEvent>> {
        let rows: Vec<(Uuid, String, i64)> = on_pool!(self, p => sqlx::query_as(
            "SELECT id, person_key, occurred_at FROM events WHERE org_id = $1 AND type = $2 AND occurred_at >= $3 \
             AND received_at >= $4 AND received_at < $5 AND person_key IS NOT NULL \
             AND ($6 IS NULL OR service_id = $6) AND ($7 IS NULL OR touchpoint_id = $7) ORDER BY occurred_at, id")
            .bind(r.org_id.as_uuid()).bind(&r.event_type).bind(occurred_from).bind(received_from).bind(received_to)
            .bind(r.service_id).bind(r.touchpoint_id)
            .fetch_all(p).await)?;
        Ok(rows
            .into_iter()
            .map(|(id, person_key, occurred_at)| RuleEvent {
                id,
                person_key,
                occurred_at,
            })
            .collect())
    }

    /// Where the person may be invited on `channel`, if a contact was given.
    pub async fn outreach_contact(
        &self,
        org: OrgId,
        person_key: &str,
        ch: Channel,
    ) -> Result<Option<OutreachContact>> {
        let row: Option<(Vec<u8>, String, String, Option<String>)> = on_pool!(self, p => sqlx::query_as(
            "SELECT contact_sealed, contact_hash, language, time_zone FROM outreach_contacts \
             WHERE org_id = $1 AND person_key = $2 AND channel = $3")
            .bind(org.as_uuid()).bind(person_key).bind(ch.key()).fetch_optional(p).await)?;
        Ok(row.map(|r| OutreachContact {
            person_key: person_key.to_string(),
            channel: ch,
            contact_sealed: r.0,
            contact_hash: r.1,
            language: r.2,
            time_zone: r.3,
        }))
    }

    /// Writes (or replaces) contacts in one transaction: all of them or none.
    pub async fn upsert_outreach_contacts(
        &self,
        org: OrgId,
        contacts: &[OutreachContact],
        now: i64,
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        for c in contacts {
            on_tx!(tx, t => sqlx::query(
                "INSERT INTO outreach_contacts (org_id, person_key, channel, contact_sealed, contact_hash, language, \
                 time_zone, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
                 ON CONFLICT (org_id, person_key, channel) DO UPDATE SET contact_sealed = excluded.contact_sealed, \
                 contact_hash = excluded.contact_hash, language = excluded.language, time_zone = excluded.time_zone, \
                 updated_at = excluded.updated_at")
                .bind(org.as_uuid()).bind(&c.person_key).bind(c.channel.key()).bind(&c.contact_sealed)
                .bind(&c.contact_hash).bind(&c.language).bind(&c.time_zone).bind(now)
                .execute(&mut **t).await.map(|_| ()))?;
        }
        tx.commit().await
    }

    /// The organization's `pending` and `held` items due at or before `at`, earliest first, at most `limit`.
    pub async fn due_outreach_items(
        &self,
        org: OrgId,
        at: i64,
        limit: i64,
    ) -> Result<Vec<QueueItem>> {
        let sql = format!(
            "SELECT {ITEM_COLUMNS} FROM outreach_queue WHERE org_id = $1 AND state IN ('pending', 'held') \
             AND due_at <= $2 ORDER BY due_at, id LIMIT $3"
        );
        let rows: Vec<ItemRow> = on_pool!(self, p => sqlx::query_as(&sql)
            .bind(org.as_uuid()).bind(at).bind(limit).fetch_all(p).await)?;
        rows.into_iter().map(ItemRow::into_item).collect()
    }

    /// The organization's items in `states`, by due time (earliest first for waiting ones, latest first otherwise),
    /// at most `limit`.
    pub async fn outreach_items(
        &self,
        org: OrgId,
        states: &[ItemState],
        limit: i64,
    ) -> Result<Vec<QueueItem>> {
        if states.is_empty() {
            return Ok(vec![]);
        }
        let list = states
            .iter()
            .map(|s| format!("'{}'", s.key()))
            .collect::<Vec<_>>()
            .join(", ");
        let order = if states
            .iter()
            .all(|s| matches!(s, ItemState::Pending | ItemState::Held))
        {
            "due_at, id"
        } else {
            "updated_at DESC, id DESC"
        };
        let sql = format!(
            "SELECT {ITEM_COLUMNS} FROM outreach_queue WHERE org_id = $1 AND state IN ({list}) ORDER BY {order} LIMIT $2"
        );
        let rows: Vec<ItemRow> = on_pool!(self, p => sqlx::query_as(&sql)
            .bind(org.as_uuid()).bind(limit).fetch_all(p).await)?;
        rows.into_iter().map(ItemRow::into_item).collect()
    }

    /// The items a batch wrote, in the order written.
    pub async fn outreach_batch_items(&self, org: OrgId, batch: Uuid) -> Result<Vec<QueueItem>> {
        let sql = format!(
            "SELECT {ITEM_COLUMNS} FROM outreach_queue WHERE org_id = $1 AND batch_id = $2 ORDER BY id"
        );
        let rows: Vec<ItemRow> = on_pool!(self, p => sqlx::query_as(&sql)
            .bind(org.as_uuid()).bind(batch).fetch_all(p).await)?;
        rows.into_iter().map(ItemRow::into_item).collect()
    }

    /// One item of the organization.
    pub async fn outreach_item(&self, org: OrgId, id: Uuid) -> Result<QueueItem> {
        let sql =
            format!("SELECT {ITEM_COLUMNS} FROM outreach_queue WHERE org_id = $1 AND id = $2");
        let row: Option<ItemRow> = on_pool!(self, p => sqlx::query_as(&sql)
            .bind(org.as_uuid()).bind(id).fetch_optional(p).await)?;
        row.ok_or(StoreError::NotFound)?.into_item()
    }

    /// How many of the organization's items are in each state.
    pub async fn outreach_counts(&self, org: OrgId) -> Result<QueueCounts> {
        let rows: Vec<(String, i64)> = on_pool!(self, p => sqlx::query_as(
            "SELECT state, COUNT(*) FROM outreach_queue WHERE org_id = $1 GROUP BY state")
            .bind(org.as_uuid()).fetch_all(p).await)?;
        let mut c = QueueCounts::default();
        for (s, n) in rows {
            match ItemState::parse(&s) {
                Some(ItemState::Pending) => c.pending = n,
                Some(ItemState::Held) => c.held = n,
                Some(ItemState::Sent) => c.sent = n,
                Some(ItemState::Skipped) => c.skipped = n,
                None => return Err(StoreError::Corrupt(format!("queue state {s:?}"))),
            }
        }
        Ok(c)
    }

    /// When the person (by person key) was last handed an invitation through the queue, if ever.
    pub async fn last_invited_at(&self, org: OrgId, person_key: &str) -> Result<Option<i64>> {
        let row: (Option<i64>,) = on_pool!(self, p => sqlx::query_as(
            "SELECT MAX(handed_off_at) FROM outreach_queue WHERE org_id = $1 AND person_key = $2 \
             AND handed_off_at IS NOT NULL")
            .bind(org.as_uuid()).bind(person_key).fetch_one(p).await)?;
        Ok(row.0)
    }

    /// The organization's oldest SMS sending number, which rules and batches send from, if it has one.
    pub async fn default_sms_sender(&self, org: OrgId) -> Result<Option<Uuid>> {
        let row: Option<(Uuid,)> = on_pool!(self, p => sqlx::query_as(
            "SELECT id FROM sms_senders WHERE org_id = $1 ORDER BY created_at, id LIMIT 1")
            .bind(org.as_uuid()).fetch_optional(p).await)?;
        Ok(row.map(|r| r.0))
    }

    /// The organization's latest batches, newest first.
    pub async fn outreach_batches(&self, org: OrgId, limit: i64) -> Result<Vec<OutreachBatch>> {
        let rows: Vec<(Uuid, String, Uuid, i32, String, i32, i64)> = on_pool!(self, p => sqlx::query_as(
            "SELECT id, source, survey_id, survey_version, channel, contacts, created_at FROM outreach_batches \
             WHERE org_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2")
            .bind(org.as_uuid()).bind(limit).fetch_all(p).await)?;
        rows.into_iter()
            .map(|r| {
                Ok(OutreachBatch {
                    id: r.0,
                    source: r.1,
                    survey_id: SurveyId::from_uuid(r.2),
                    survey_version: r.3,
                    channel: channel(&r.4)?,
                    contacts: r.5,
                    created_at: r.6,
                })
            })
            .collect()
    }
}

impl StoreTx {
    /// Writes a queue item; false when the rule already has one for the event (nothing is written then).
    pub async fn insert_outreach_item(&mut self, i: &NewQueueItem<'_>, now: i64) -> Result<bool> {
        let n = on_tx!(self, t => sqlx::query(
            "INSERT INTO outreach_queue (org_id, id, rule_id, event_id, batch_id, survey_id, survey_version, channel, \
             person_key, contact_sealed, contact_hash, language, time_zone, cap_days, due_at, state, reason, \
             created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $18) \
             ON CONFLICT (org_id, rule_id, event_id) DO NOTHING")
            .bind(i.org_id.as_uuid()).bind(i.id).bind(i.rule_id).bind(i.event_id).bind(i.batch_id)
            .bind(i.survey_id.as_uuid()).bind(i.survey_version).bind(i.channel.key()).bind(i.person_key)
            .bind(i.contact_sealed).bind(i.contact_hash).bind(i.language).bind(i.time_zone).bind(i.cap_days)
            .bind(i.due_at).bind(i.state.key()).bind(i.reason.map(Reason::key)).bind(now)
            .execute(&mut **t).await.map(|r| r.rows_affected()))?;
        Ok(n == 1)
    }

    /// Marks a waiting item handed off at `now` to `handoff_id`; false when it was not waiting (another worker
    /// handed it off or it was skipped): then the caller writes nothing else for it.
    pub async fn mark_outreach_sent(
        &mut self,
        org: OrgId,
        id: Uuid,
        handoff_id: Uuid,
        now: i64,
    ) -> Result<bool> {
        let n = on_tx!(self, t => sqlx::query(
            "UPDATE outreach_queue SET state = 'sent', reason = NULL, reason_until = NULL, handed_off_at = $3, \
             handoff_id = $4, updated_at = $3 WHERE org_id = $1 AND id = $2 AND state IN ('pending', 'held')")
            .bind(org.as_uuid()).bind(id).bind(now).bind(handoff_id)
            .execute(&mut **t).await.map(|r| r.rows_affected()))?;
        Ok(n == 1)
    }

    /// Holds a waiting item until `until` for `reason`; false when it was not waiting.
    pub async fn hold_outreach_item(
        &mut self,
        org: OrgId,
        id: Uuid,
        reason: Reason,
        until: i64,
        now: i64,
    ) -> Result<bool> {
        let n = on_tx!(self, t => sqlx::query(
            "UPDATE outreach_queue SET state = 'held', reason = $3, reason_until = $4, due_at = $4, updated_at = $5 \
             WHERE org_id = $1 AND id = $2 AND state IN ('pending', 'held')")
            .bind(org.as_uuid()).bind(id).bind(reason.key()).bind(until).bind(now)
            .execute(&mut **t).await.map(|r| r.rows_affected()))?;
        Ok(n == 1)
    }

    /// Ends a waiting item unsent for `reason` (`until`: when the reason ends, if it does); false when it was not
    /// waiting.
    pub async fn skip_outreach_item(
        &mut self,
        org: OrgId,
        id: Uuid,
        reason: Reason,
        until: Option<i64>,
        now: i64,
    ) -> Result<bool> {
        let n = on_tx!(self, t => sqlx::query(
            "UPDATE outreach_queue SET state = 'skipped', reason = $3, reason_until = $4, updated_at = $5 \
             WHERE org_id = $1 AND id = $2 AND state IN ('pending', 'held')")
            .bind(org.as_uuid()).bind(id).bind(reason.key()).bind(until).bind(now)
            .execute(&mut **t).await.map(|r| r.rows_affected()))?;
        Ok(n == 1)
    }

    /// Writes a batch under its idempotency key: `Created`, or `Same` with the first batch's id when the key was used
    /// for the same request (by `request_hash`); the same key with a different request is `IdempotencyKeyReused`.
    pub async fn create_outreach_batch(
        &mut self,
        b: &NewBatch<'_>,
        now: i64,
    ) -> Result<BatchWrite> {
        let n = on_tx!(self, t => sqlx::query(
            "INSERT INTO outreach_batches (org_id, id, idempotency_key, request_hash, source, survey_id, \
             survey_version, channel, contacts, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
             ON CONFLICT (org_id, idempotency_key) DO NOTHING")
            .bind(b.org_id.as_uuid()).bind(b.id).bind(b.idempotency_key).bind(b.request_hash).bind(b.source)
            .bind(b.survey_id.as_uuid()).bind(b.survey_version).bind(b.channel.key()).bind(b.contacts).bind(now)
            .execute(&mut **t).await.map(|r| r.rows_affected()))?;
        if n == 1 {
            return Ok(BatchWrite::Created);
        }
        let (id, hash): (Uuid, String) = on_tx!(self, t => sqlx::query_as(
            "SELECT id, request_hash FROM outreach_batches WHERE org_id = $1 AND idempotency_key = $2")
            .bind(b.org_id.as_uuid()).bind(b.idempotency_key).fetch_one(&mut **t).await)?;
        if hash == b.request_hash {
            Ok(BatchWrite::Same(id))
        } else {
            Err(StoreError::IdempotencyKeyReused)
        }
    }
}

impl StoreTx {
    /// Whether the organization's job `id` is still to run (queued or running), read in this transaction.
    pub async fn job_is_waiting(&mut self, org: OrgId, id: heard_domain::JobId) -> Result<bool> {
        let row: Option<(String,)> = on_tx!(self, t => sqlx::query_as(
            "SELECT state FROM jobs WHERE org_id = $1 AND id = $2")
            .bind(org.as_uuid()).bind(id.as_uuid()).fetch_optional(&mut **t).await)?;
        Ok(matches!(row, Some((s,)) if s == "queued" || s == "running"))
    }

    /// Records what a handed-off item became (the `sms.invite` job's id).
    pub async fn set_outreach_handoff(
        &mut self,
        org: OrgId,
        id: Uuid,
        handoff_id: Uuid,
    ) -> Result<()> {
        on_tx!(self, t => sqlx::query(
            "UPDATE outreach_queue SET handoff_id = $3 WHERE org_id = $1 AND id = $2")
            .bind(org.as_uuid()).bind(id).bind(handoff_id)
            .execute(&mut **t).await.map(|_| ()))?;
        Ok(())
    }
}
