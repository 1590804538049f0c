//! Callbacks (issue 21, item 3; migration 0041): a person's request to be called in a window, the calls staff make,
//! and what happens when nobody is reached (`heard_domain::callback` decides; this module keeps it).
//!
//! **One transaction per change.** Asking (or asking again, which moves the scheduled callback), each call recorded,
//! a window's end and a cancellation each write, in one transaction: the callback's row, its events, the jobs that
//! follow (the person's message, [`MESSAGE_KIND`]; the window's end, [`CHECK_KIND`]) and, when it is missed, the
//! on-call staff's email (`staff.notify`, reason `callback_missed`) and its case's note and escalation. Jobs carry
//! the window they were made for, so a job for a window the callback has left does nothing.
//!
//! The number and the email address are sealed by the server before they reach the store; `phone_key` is the
//! number's keyed hash in the organization. Every query names the organization.

use heard_domain::callback::{
    self, AttemptEffect, CallbackState, Notify, Outcome, Source, Window, WindowEndEffect,
};
use heard_domain::{FieldError, FieldErrors, OrgId};
use uuid::Uuid;

use crate::jobs::{ClaimedJob, NewJob, StoreTx, on_tx};
use crate::{Result, Store, StoreError, on_pool};

/// The job that sends the person a message about their callback: payload `{"callback": id, "kind": "confirmed" |
/// "reminder" | "retry" | "missed" | "cancelled", "window_start": ms}`.
pub const MESSAGE_KIND: &str = "callback.message";
/// The job that looks at a callback when its window ends: payload `{"callback": id, "window_end": ms}`; its handler
/// calls [`Store::check_callback`].
pub const CHECK_KIND: &str = "callbacks.check";

/// A callback as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CallbackRecord {
    pub id: Uuid,
    pub case_id: Option<Uuid>,
    pub response_id: Option<Uuid>,
    #[sqlx(try_from = "String")]
    pub source: SourceCol,
    #[sqlx(try_from = "String")]
    pub state: StateCol,
    /// The number, sealed by the server.
    pub phone_sealed: Vec<u8>,
    pub phone_key: String,
    pub email_sealed: Option<Vec<u8>>,
    #[sqlx(try_from = "String")]
    pub notify: NotifyCol,
    pub language: String,
    pub window_start: i64,
    pub window_end: i64,
    /// Calls recorded.
    pub attempts: i64,
    /// Calls that found nobody.
    pub unanswered: i64,
    pub windows_missed: i64,
    /// Why it was missed: `no_answer`, `wrong_number`, `windows`.
    pub missed_reason: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub ended_at: Option<i64>,
}

macro_rules! column {
    ($name:ident, $inner:ty) => {
        /// A stored key read back as the domain's type.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub struct $name(pub $inner);
        impl TryFrom<String> for $name {
            type Error = String;
            fn try_from(s: String) -> std::result::Result<Self, String> {
                <$inner>::parse(&s)
                    .map($name)
                    .ok_or_else(|| format!("unknown value {s:?}"))
            }
        }
    };
}
column!(SourceCol, Source);
column!(StateCol, CallbackState);
column!(NotifyCol, Notify);

impl CallbackRecord {
    pub fn window(&self) -> Window {
        Window {
            start_ms: self.window_start,
            end_ms: self.window_end,
        }
    }
    pub fn state(&self) -> CallbackState {
        self.state.0
    }
}

const COLUMNS: &str = "id, case_id, response_id, source, state, phone_sealed, phone_key, email_sealed, notify, \
    language, window_start, window_end, attempts, unanswered, windows_missed, missed_reason, created_at, \
    updated_at, ended_at";

/// One thing that happened to a callback.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CallbackEvent {
    pub seq: i64,
    pub at: i64,
    /// `requested`, `changed` (by the person), `moved` (to the next window), `call`, `window_missed`, `completed`, `missed`, `cancelled`, `message`.
    pub kind: String,
    /// The call's outcome, the window (`start-end`), the message's kind.
    pub value: Option<String>,
    /// Staff's note on a call.
    pub note: Option<String>,
    pub actor_id: Option<Uuid>,
}

/// A person's request.
#[derive(Debug, Clone)]
pub struct NewCallback {
    pub case_id: Option<Uuid>,
    pub response_id: Option<Uuid>,
    pub source: Source,
    pub phone_sealed: Vec<u8>,
    pub phone_key: String,
    pub email_sealed: Option<Vec<u8>>,
    pub notify: Notify,
    /// `en` or `es`.
    pub language: String,
    pub window: Window,
    /// The person was told already (an SMS reply): no confirmation message is sent, only the reminder.
    pub confirmed_already: bool,
}

/// Which callbacks a queue lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallbackQueue {
    /// Scheduled, window started (or starting within the hour), earliest first.
    Due,
    /// Scheduled, later.
    Upcoming,
    /// Missed (escalated), newest first.
    Missed,
    /// Completed or cancelled, newest first.
    Ended,
}

impl CallbackQueue {
    pub fn parse(s: &str) -> Option<CallbackQueue> {
        Some(match s {
            "due" => CallbackQueue::Due,
            "upcoming" => CallbackQueue::Upcoming,
            "missed" => CallbackQueue::Missed,
            "ended" => CallbackQueue::Ended,
            _ => return None,
        })
    }
    pub fn key(self) -> &'static str {
        match self {
            CallbackQueue::Due => "due",
            CallbackQueue::Upcoming => "upcoming",
            CallbackQueue::Missed => "missed",
            CallbackQueue::Ended => "ended",
        }
    }
}

/// A window this long before it starts is "due" in the queue: an hour.
pub const DUE_AHEAD_MS: i64 = 3_600_000;
/// The most callbacks a queue page lists.
pub const QUEUE_LIMIT: i64 = 200;

fn message_job(org: OrgId, id: Uuid, kind: &str, window_start: i64, at: i64) -> NewJob {
    NewJob::new(
        org,
        MESSAGE_KIND,
        serde_json::json!({ "callback": id, "kind": kind, "window_start": window_start }),
    )
    .dedupe_key(format!("{id}:{kind}:{window_start}"))
    .run_at(at)
    .max_attempts(12)
}

fn check_job(org: OrgId, id: Uuid, window_end: i64) -> NewJob {
    NewJob::new(
        org,
        CHECK_KIND,
        serde_json::json!({ "callback": id, "window_end": window_end }),
    )
    .dedupe_key(format!("{id}:{window_end}"))
    .run_at(window_end)
}

impl Store {
    /// A callback of the organization.
    pub async fn callback(&self, org: OrgId, id: Uuid) -> Result<CallbackRecord> {
        on_pool!(self, p => sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM callbacks WHERE org_id = $1 AND id = $2"))
            .bind(org.as_uuid()).bind(id).fetch_optional(p).await)?
        .ok_or(StoreError::NotFound)
    }

    /// A callback by its id alone, with its organization: for the person's page, whose link is the id and a MAC.
    pub async fn callback_by_id(&self, id: Uuid) -> Result<Option<(OrgId, CallbackRecord)>> {
        let org: Option<Uuid> = on_pool!(self, p => sqlx::query_scalar(
            "SELECT org_id FROM callbacks WHERE id = $1")
            .bind(id).fetch_optional(p).await)?;
        match org {
            Some(o) => {
                let org = OrgId::from_uuid(o);
                Ok(Some((org, self.callback(org, id).await?)))
            }
            None => Ok(None),
        }
    }

    /// The scheduled callback of a case or of a response, if there is one.
    pub async fn scheduled_callback(
        &self,
        org: OrgId,
        case: Option<Uuid>,
        response: Option<Uuid>,
    ) -> Result<Option<CallbackRecord>> {
        on_pool!(self, p => sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM callbacks WHERE org_id = $1 AND state = 'scheduled' \
             AND ((case_id IS NOT NULL AND case_id = $2) OR (response_id IS NOT NULL AND response_id = $3)) \
             ORDER BY created_at DESC LIMIT 1"))
            .bind(org.as_uuid()).bind(case).bind(response).fetch_optional(p).await)
        .map_err(Into::into)
    }

    /// Every callback of a case, newest first.
    pub async fn callbacks_of_case(&self, org: OrgId, case: Uuid) -> Result<Vec<CallbackRecord>> {
        on_pool!(self, p => sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM callbacks WHERE org_id = $1 AND case_id = $2 ORDER BY created_at DESC"))
            .bind(org.as_uuid()).bind(case).fetch_all(p).await)
        .map_err(Into::into)
    }

    /// A queue of callbacks at `now` (at most [`QUEUE_LIMIT`]).
    pub async fn callback_queue(
        &self,
        org: OrgId,
        q: CallbackQueue,
        now: i64,
    ) -> Result<Vec<CallbackRecord>> {
        let (filter, order) = match q {
            CallbackQueue::Due => (
                "state = 'scheduled' AND window_start <= $2",
                "window_start, created_at",
            ),
            CallbackQueue::Upcoming => (
                "state = 'scheduled' AND window_start > $2",
                "window_start, created_at",
            ),
            CallbackQueue::Missed => ("state = 'missed' AND $2 = $2", "ended_at DESC"),
            CallbackQueue::Ended => (
                "state IN ('completed', 'cancelled') AND $2 = $2",
                "ended_at DESC",
            ),
        };
        on_pool!(self, p => sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM callbacks WHERE org_id = $1 AND {filter} ORDER BY {order} LIMIT {QUEUE_LIMIT}"))
            .bind(org.as_uuid()).bind(now + DUE_AHEAD_MS).fetch_all(p).await)
        .map_err(Into::into)
    }

    /// How many callbacks each queue holds.
    pub async fn callback_counts(&self, org: OrgId, now: i64) -> Result<[i64; 3]> {
        let row: (i64, i64, i64) = on_pool!(self, p => sqlx::query_as(
            "SELECT COALESCE(SUM(CASE WHEN state = 'scheduled' AND window_start <= $2 THEN 1 ELSE 0 END), 0), \
             COALESCE(SUM(CASE WHEN state = 'scheduled' AND window_start > $2 THEN 1 ELSE 0 END), 0), \
             COALESCE(SUM(CASE WHEN state = 'missed' THEN 1 ELSE 0 END), 0) \
             FROM callbacks WHERE org_id = $1")
            .bind(org.as_uuid()).bind(now + DUE_AHEAD_MS).fetch_one(p).await)?;
        Ok([row.0, row.1, row.2])
    }

    /// What happened to a callback, in order.
    pub async fn callback_events(&self, org: OrgId, id: Uuid) -> Result<Vec<CallbackEvent>> {
        on_pool!(self, p => sqlx::query_as(
            "SELECT seq, at, kind, value, note, actor_id FROM callback_events \
             WHERE org_id = $1 AND callback_id = $2 ORDER BY seq")
            .bind(org.as_uuid()).bind(id).fetch_all(p).await)
        .map_err(Into::into)
    }

    /// Whether a response gets the callback offer: the organization's setting for its trust side, or a rule that
    /// matched it offers one.
    pub async fn callback_offered(&self, org: OrgId, response: Uuid) -> Result<bool> {
        let settings = self.case_settings(org).await?;
        let trust: Option<Option<bool>> = on_pool!(self, p => sqlx::query_scalar(
            "SELECT trust_positive FROM responses WHERE org_id = $1 AND id = $2")
            .bind(org.as_uuid()).bind(response).fetch_optional(p).await)?;
        let Some(trust) = trust else {
            return Ok(false);
        };
        if settings.callbacks.offer.offers(trust) {
            return Ok(true);
        }
        let specs: Vec<String> = on_pool!(self, p => sqlx::query_scalar(
            "SELECT r.spec FROM rule_matches m JOIN rules r ON r.org_id = m.org_id AND r.id = m.rule_id \
             WHERE m.org_id = $1 AND m.response_id = $2")
            .bind(org.as_uuid()).bind(response).fetch_all(p).await)?;
        Ok(specs.iter().any(|s| {
            serde_json::from_str::<heard_domain::rules::RuleSpec>(s)
                .is_ok_and(|r| r.actions.offer_callback)
        }))
    }

    /// A person asks for a callback (or asks again: a callback already scheduled for the same case or response moves
    /// to the new window, number and way of hearing from us). Checks that `language` is `en` or `es`, that the case
    /// or response is the organization's, and that the window has not started (`StoreError::Invalid` naming
    /// `window`, `language`, `case`); a case that has ended takes none (`Conflict`). Then, in one transaction: the
    /// callback, its `requested` or `moved` event, the confirmation (when the person chose a way to hear), the
    /// reminder ([`callback::reminder_at`]), the window's end check, and a note on the case. Returns the callback.
    pub async fn request_callback(
        &self,
        org: OrgId,
        c: &NewCallback,
        now: i64,
    ) -> Result<CallbackRecord> {
        let mut errs = FieldErrors::default();
        if !matches!(c.language.as_str(), "en" | "es") {
            errs.push(FieldError::new(
                "language",
                "unknown_language",
                "Callbacks are arranged in en or es",
            ));
        }
        if c.window.start_ms <= now || c.window.end_ms <= c.window.start_ms {
            errs.push(FieldError::new(
                "window",
                "window_passed",
                "That time has started or passed; choose a later one",
            ));
        }
        if c.case_id.is_none() && c.response_id.is_none() {
            errs.push(FieldError::new(
                "case",
                "required",
                "A callback is about a case or a response",
            ));
        }
        if !errs.0.is_empty() {
            return Err(StoreError::Invalid(errs));
        }
        let mut tx = self.begin().await?;
        if let Some(case) = c.case_id {
            let ended: Option<bool> = on_tx!(tx, t => sqlx::query_scalar(
                "SELECT ended FROM cases WHERE org_id = $1 AND id = $2")
                .bind(org.as_uuid()).bind(case).fetch_optional(&mut **t).await)?;
            match ended {
                None => {
                    return Err(StoreError::Invalid(FieldErrors(vec![FieldError::new(
                        "case",
                        "unknown_case",
                        "No such case in this organization",
                    )])));
                }
                Some(true) => return Err(StoreError::Conflict("the case is closed".into())),
                Some(false) => {}
            }
        }
        if let Some(r) = c.response_id {
            let n: i64 = on_tx!(tx, t => sqlx::query_scalar(
                "SELECT COUNT(*) FROM responses WHERE org_id = $1 AND id = $2")
                .bind(org.as_uuid()).bind(r).fetch_one(&mut **t).await)?;
            if n == 0 {
                return Err(StoreError::Invalid(FieldErrors(vec![FieldError::new(
                    "response",
                    "unknown_response",
                    "No such response in this organization",
                )])));
            }
        }
        let existing: Option<Uuid> = on_tx!(tx, t => sqlx::query_scalar(
            "SELECT id FROM callbacks WHERE org_id = $1 AND state = 'scheduled' \
             AND ((case_id IS NOT NULL AND case_id = $2) OR (response_id IS NOT NULL AND response_id = $3)) \
             LIMIT 1")
            .bind(org.as_uuid()).bind(c.case_id).bind(c.response_id).fetch_optional(&mut **t).await)?;
        let (id, kind) = match existing {
            Some(id) => {
                let before = tx.callback_tx(org, id).await?;
                let same = before.window() == c.window
                    && before.phone_key == c.phone_key
                    && before.notify.0 == c.notify
                    && before.email_sealed.is_some() == c.email_sealed.is_some()
                    && before.language == c.language;
                if same && c.email_sealed.is_none() {
                    // The same form sent again: nothing changes, nothing is logged or sent.
                    tx.commit().await?;
                    return self.callback(org, id).await;
                }
                on_tx!(tx, t => sqlx::query(
                    "UPDATE callbacks SET phone_sealed = $3, phone_key = $4, email_sealed = $5, notify = $6, \
                     language = $7, window_start = $8, window_end = $9, updated_at = $10, \
                     case_id = COALESCE(case_id, $11) WHERE org_id = $1 AND id = $2")
                    .bind(org.as_uuid()).bind(id).bind(&c.phone_sealed).bind(&c.phone_key)
                    .bind(c.email_sealed.as_deref()).bind(c.notify.key()).bind(&c.language)
                    .bind(c.window.start_ms).bind(c.window.end_ms).bind(now).bind(c.case_id)
                    .execute(&mut **t).await.map(|_| ()))?;
                (id, "changed")
            }
            None => {
                let id = Uuid::now_v7();
                on_tx!(tx, t => sqlx::query(
                    "INSERT INTO callbacks (org_id, id, case_id, response_id, source, state, phone_sealed, \
                     phone_key, email_sealed, notify, language, window_start, window_end, attempts, unanswered, \
                     windows_missed, missed_reason, created_at, updated_at, ended_at) \
                     VALUES ($1, $2, $3, $4, $5, 'scheduled', $6, $7, $8, $9, $10, $11, $12, 0, 0, 0, NULL, \
                     $13, $13, NULL)")
                    .bind(org.as_uuid()).bind(id).bind(c.case_id).bind(c.response_id).bind(c.source.key())
                    .bind(&c.phone_sealed).bind(&c.phone_key).bind(c.email_sealed.as_deref())
                    .bind(c.notify.key()).bind(&c.language).bind(c.window.start_ms).bind(c.window.end_ms)
                    .bind(now).execute(&mut **t).await.map(|_| ()))?;
                (id, "requested")
            }
        };
        tx.callback_event(org, id, kind, Some(&c.window.key()), None, None, now)
            .await?;
        let first = if c.confirmed_already {
            None
        } else {
            Some("confirmed")
        };
        tx.schedule_window(org, id, c.notify, c.window, first, now)
            .await?;
        if let Some(case) = c.case_id {
            let note = if kind == "changed" {
                "The person changed their callback: the time, the number or how to reach them (see Callbacks)."
            } else {
                "The person asked for a callback (see Callbacks)."
            };
            tx.callback_on_case(org, case, note, false, now).await?;
        }
        tx.commit().await?;
        self.callback(org, id).await
    }

    /// Staff record a call (`note` up to 2,000 characters, `StoreError::Invalid` naming `note`): reached completes
    /// the callback; a wrong number, or the [`callback::MAX_ATTEMPTS`]th call with nobody, makes it missed, which
    /// escalates it. Only a scheduled callback takes calls (`Conflict`).
    pub async fn record_callback_call(
        &self,
        org: OrgId,
        id: Uuid,
        actor: Uuid,
        outcome: Outcome,
        note: &str,
        now: i64,
    ) -> Result<CallbackRecord> {
        let note = note.trim();
        if note.chars().count() > 2_000 {
            return Err(StoreError::Invalid(FieldErrors(vec![FieldError::new(
                "note",
                "too_long",
                "Write up to 2,000 characters",
            )])));
        }
        let mut tx = self.begin().await?;
        let cb = tx.callback_tx(org, id).await?;
        if cb.state() != CallbackState::Scheduled {
            return Err(StoreError::Conflict(format!(
                "the callback is {}",
                cb.state().key()
            )));
        }
        if now < cb.window_start - DUE_AHEAD_MS {
            return Err(StoreError::Invalid(FieldErrors(vec![FieldError::new(
                "outcome",
                "before_window",
                "The person asked to be called in their window; a call more than an hour before it is not recorded",
            )])));
        }
        let effect = callback::after_attempt(cb.unanswered as u32, outcome);
        let unanswered = i64::from(matches!(outcome, Outcome::NoAnswer | Outcome::LeftMessage));
        on_tx!(tx, t => sqlx::query(
            "UPDATE callbacks SET attempts = attempts + 1, unanswered = unanswered + $3, updated_at = $4 \
             WHERE org_id = $1 AND id = $2")
            .bind(org.as_uuid()).bind(id).bind(unanswered).bind(now).execute(&mut **t).await.map(|_| ()))?;
        tx.callback_event(
            org,
            id,
            "call",
            Some(outcome.key()),
            (!note.is_empty()).then_some(note),
            Some(actor),
            now,
        )
        .await?;
        match effect {
            AttemptEffect::Continue => {}
            AttemptEffect::Completed => {
                tx.end_callback(org, id, CallbackState::Completed, None, now)
                    .await?;
                if let Some(case) = cb.case_id {
                    tx.callback_on_case(
                        org,
                        case,
                        "Staff reached the person by phone.",
                        false,
                        now,
                    )
                    .await?;
                }
            }
            AttemptEffect::Missed(reason) => tx.miss_callback(org, &cb, reason, now).await?,
        }
        tx.commit().await?;
        self.callback(org, id).await
    }

    /// The person (from their callback's page) or staff call a scheduled callback off (`Conflict` otherwise).
    pub async fn cancel_callback(
        &self,
        org: OrgId,
        id: Uuid,
        actor: Option<Uuid>,
        now: i64,
    ) -> Result<CallbackRecord> {
        let mut tx = self.begin().await?;
        let cb = tx.callback_tx(org, id).await?;
        if cb.state() != CallbackState::Scheduled {
            return Err(StoreError::Conflict(format!(
                "the callback is {}",
                cb.state().key()
            )));
        }
        tx.end_callback(org, id, CallbackState::Cancelled, None, now)
            .await?;
        tx.callback_event(org, id, "cancelled", None, None, actor, now)
            .await?;
        if let Some(case) = cb.case_id {
            let who = if actor.is_some() {
                "Staff"
            } else {
                "The person"
            };
            tx.callback_on_case(
                org,
                case,
                &format!("{who} called the callback off."),
                false,
                now,
            )
            .await?;
        }
        tx.commit().await?;
        self.callback(org, id).await
    }

    /// The `callbacks.check` job: when the window that ended at `window_end` is still the callback's and nobody was
    /// reached, the callback moves to the next window (`retry`, and the person is told) or is missed
    /// ([`callback::at_window_end`]). `next` is the retry window the caller computed from the organization's
    /// calendar. Completes `job` in the same transaction. Returns what it did: `None` when nothing was due.
    pub async fn check_callback(
        &self,
        org: OrgId,
        id: Uuid,
        window_end: i64,
        next: impl FnOnce(Window) -> Option<Window>,
        job: Option<&ClaimedJob>,
        now: i64,
    ) -> Result<Option<WindowEndEffect>> {
        let mut tx = self.begin().await?;
        if let Some(job) = job {
            tx.complete_job(job).await?;
        }
        let cb = match tx.callback_tx(org, id).await {
            Ok(c) => c,
            Err(StoreError::NotFound) => {
                tx.commit().await?;
                return Ok(None);
            }
            Err(e) => return Err(e),
        };
        if cb.state() != CallbackState::Scheduled || cb.window_end != window_end || now < window_end
        {
            tx.commit().await?;
            return Ok(None);
        }
        let effect = callback::at_window_end(cb.windows_missed as u32, next(cb.window()));
        on_tx!(tx, t => sqlx::query(
            "UPDATE callbacks SET windows_missed = windows_missed + 1, updated_at = $3 WHERE org_id = $1 AND id = $2")
            .bind(org.as_uuid()).bind(id).bind(now).execute(&mut **t).await.map(|_| ()))?;
        tx.callback_event(
            org,
            id,
            "window_missed",
            Some(&cb.window().key()),
            None,
            None,
            now,
        )
        .await?;
        match effect {
            WindowEndEffect::Retry(w) => {
                on_tx!(tx, t => sqlx::query(
                    "UPDATE callbacks SET window_start = $3, window_end = $4 WHERE org_id = $1 AND id = $2")
                    .bind(org.as_uuid()).bind(id).bind(w.start_ms).bind(w.end_ms)
                    .execute(&mut **t).await.map(|_| ()))?;
                tx.callback_event(org, id, "moved", Some(&w.key()), None, None, now)
                    .await?;
                tx.schedule_window(org, id, cb.notify.0, w, Some("retry"), now)
                    .await?;
            }
            WindowEndEffect::Missed => tx.miss_callback(org, &cb, "windows", now).await?,
        }
        tx.commit().await?;
        Ok(Some(effect))
    }

    /// Records that a message about the callback was sent to the person (`kind`), or why not (`note`).
    pub async fn callback_message_sent(
        &self,
        org: OrgId,
        id: Uuid,
        kind: &str,
        note: Option<&str>,
        job: Option<&ClaimedJob>,
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        if let Some(job) = job {
            tx.complete_job(job).await?;
        }
        tx.callback_event(org, id, "message", Some(kind), note, None, crate::now_ms())
            .await?;
        tx.commit().await
    }

    /// Whether the organization has the response (for a callback form's link).
    pub async fn response_exists(&self, org: OrgId, id: Uuid) -> Result<bool> {
        let n: i64 = on_pool!(self, p => sqlx::query_scalar(
            "SELECT COUNT(*) FROM responses WHERE org_id = $1 AND id = $2")
            .bind(org.as_uuid()).bind(id).fetch_one(p).await)?;
        Ok(n > 0)
    }

    /// The callbacks asked for with a number (`phone_key`), newest first: for the person's own view.
    pub async fn callbacks_of_person(
        &self,
        org: OrgId,
        phone_key: &str,
    ) -> Result<Vec<CallbackRecord>> {
        on_pool!(self, p => sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM callbacks WHERE org_id = $1 AND phone_key = $2 ORDER BY created_at DESC LIMIT 100"))
            .bind(org.as_uuid()).bind(phone_key).fetch_all(p).await)
        .map_err(Into::into)
    }
}

impl StoreTx {
    /// A case that ends calls off its scheduled callbacks (an event each, noted as the case's closing), in the
    /// closing's transaction.
    pub(crate) async fn call_off_for_ended_case(
        &mut self,
        org: OrgId,
        case: Uuid,
        now: i64,
    ) -> Result<()> {
        let ids: Vec<Uuid> = on_tx!(self, t => sqlx::query_scalar(
            "SELECT id FROM callbacks WHERE org_id = $1 AND case_id = $2 AND state = 'scheduled'")
            .bind(org.as_uuid()).bind(case).fetch_all(&mut **t).await)?;
        for id in ids {
            self.end_callback(org, id, CallbackState::Cancelled, None, now)
                .await?;
            self.callback_event(
                org,
                id,
                "cancelled",
                None,
                Some("The case was closed."),
                None,
                now,
            )
            .await?;
        }
        Ok(())
    }

    async fn callback_tx(&mut self, org: OrgId, id: Uuid) -> Result<CallbackRecord> {
        on_tx!(self, t => sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM callbacks WHERE org_id = $1 AND id = $2"))
            .bind(org.as_uuid()).bind(id).fetch_optional(&mut **t).await)?
        .ok_or(StoreError::NotFound)
    }

    #[allow(clippy::too_many_arguments)]
    async fn callback_event(
        &mut self,
        org: OrgId,
        id: Uuid,
        kind: &str,
        value: Option<&str>,
        note: Option<&str>,
        actor: Option<Uuid>,
        now: i64,
    ) -> Result<()> {
        on_tx!(self, t => sqlx::query(
            "INSERT INTO callback_events (org_id, callback_id, seq, at, kind, value, note, actor_id) \
             SELECT $1, $2, COALESCE(MAX(seq), 0) + 1, $3, $4, $5, $6, $7 FROM callback_events \
             WHERE org_id = $1 AND callback_id = $2")
            .bind(org.as_uuid()).bind(id).bind(now).bind(kind).bind(value).bind(note).bind(actor)
            .execute(&mut **t).await.map(|_| ()))?;
        Ok(())
    }

    /// The jobs of a (new) window: the message `first` (`confirmed` or `retry`) now, the reminder, the end check.
    async fn schedule_window(
        &mut self,
        org: OrgId,
        id: Uuid,
        notify: Notify,
        w: Window,
        first: Option<&str>,
        now: i64,
    ) -> Result<()> {
        if notify != Notify::None {
            if let Some(first) = first {
                self.enqueue(message_job(org, id, first, w.start_ms, now))
                    .await?;
            }
            if let Some(at) = callback::reminder_at(w, now) {
                self.enqueue(message_job(org, id, "reminder", w.start_ms, at))
                    .await?;
            }
        }
        self.enqueue(check_job(org, id, w.end_ms)).await?;
        Ok(())
    }

    async fn end_callback(
        &mut self,
        org: OrgId,
        id: Uuid,
        state: CallbackState,
        reason: Option<&str>,
        now: i64,
    ) -> Result<()> {
        on_tx!(self, t => sqlx::query(
            "UPDATE callbacks SET state = $3, missed_reason = $4, ended_at = $5, updated_at = $5 \
             WHERE org_id = $1 AND id = $2")
            .bind(org.as_uuid()).bind(id).bind(state.key()).bind(reason).bind(now)
            .execute(&mut **t).await.map(|_| ()))?;
        Ok(())
    }

    /// Missed: ended with the reason, the person told, the on-call staff emailed, the case noted and escalated.
    async fn miss_callback(
        &mut self,
        org: OrgId,
        cb: &CallbackRecord,
        reason: &str,
        now: i64,
    ) -> Result<()> {
        self.end_callback(org, cb.id, CallbackState::Missed, Some(reason), now)
            .await?;
        self.callback_event(org, cb.id, "missed", Some(reason), None, None, now)
            .await?;
        if cb.notify.0 != Notify::None && reason != "wrong_number" {
            self.enqueue(message_job(org, cb.id, "missed", cb.window_start, now))
                .await?;
        }
        let settings = self.case_settings_tx(org).await?;
        if !settings.on_call.is_empty() {
            self.enqueue(
                NewJob::new(
                    org,
                    crate::rules::NOTIFY_KIND,
                    serde_json::json!({
                        "case": cb.case_id, "response": cb.response_id, "users": settings.on_call,
                        "rule": null, "callback": cb.id, "reason": "callback_missed",
                    }),
                )
                .dedupe_key(format!("callback_missed:{}", cb.id))
                .max_attempts(8),
            )
            .await?;
        }
        if let Some(case) = cb.case_id {
            let why = match reason {
                "wrong_number" => "the number was wrong",
                "no_answer" => "nobody answered any of the calls",
                _ => "nobody reached the person in any of the windows",
            };
            self.callback_on_case(
                org,
                case,
                &format!("The callback was missed: {why}. Someone needs to find another way to reach the person."),
                true,
                now,
            )
            .await?;
        }
        Ok(())
    }
}
