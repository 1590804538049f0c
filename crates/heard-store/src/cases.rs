//! Cases (issue 21, item 2): teams, an organization's case settings (its own statuses and the SLA policy), cases,
//! their links and their append-only history, and the job that escalates them on time.
//!
//! **One transaction per change.** Opening a case, each change to one or many cases (a bulk action), a new SLA
//! policy and an escalation each write, in one transaction: the history entries, the case's current fields, its SLA
//! summary (`heard_domain::case::summarize` over `heard_domain::sla::evaluate` of the whole history, so a changed
//! policy recomputes every deadline from the same history), the next escalation check as a job, and the `case.*`
//! webhook events. A refused change (an unknown status, an owner who is not a member, a team of another
//! organization) writes nothing, for any of the cases of a bulk action.
//!
//! **Crisis.** The response writer calls [`StoreTx::open_crisis_cases`] in the responses' own commit: every stored
//! response with crisis language (`heard_domain::webhook::crisis_in`) opens an urgent case, whatever any rule says,
//! so a crisis acknowledged to the person is never without its case.
//!
//! **Isolation.** Every query names the organization; a case, team or member of another organization is not found.

use heard_domain::case::{
    self, CLOSED_STATUS, CaseSettings, CaseSource, Change, ESCALATED_STATUS, LinkKind,
    OPENING_STATUS, Priority, SlaFlag, SlaSummary, StatusKind,
};
use heard_domain::response::NewResponse;
use heard_domain::sla::{self, SlaPolicy, SlaState};
use heard_domain::webhook::{CaseFacts, EventType, case_event};
use heard_domain::{FieldError, FieldErrors, OrgId, UserId};
use uuid::Uuid;

use crate::jobs::{NewJob, StoreTx, on_tx};
use crate::webhooks::WebhookTx;
use crate::{Result, Store, StoreError, on_pool};

/// The job kind that looks at one case when a warning, deadline or escalation step may have come: payload
/// `{"case": id}`, key `{case}:{at}` (one job per case and instant). Its handler calls [`Store::check_case`].
pub const CHECK_KIND: &str = "cases.check";

/// A team cases can be given to.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Team {
    pub id: Uuid,
    pub name: String,
    pub created_at: i64,
}

/// A case as it stands. Times in epoch milliseconds.
#[derive(Debug, Clone)]
pub struct CaseRecord {
    pub id: Uuid,
    /// The organization's own number for it, from 1: what staff and the person say on the phone.
    pub number: i64,
    /// The code the person types or reads on the phone for the status page (`XXXX-XXXX`).
    pub status_code: String,
    pub title: String,
    pub status: String,
    /// In an ending status.
    pub ended: bool,
    pub priority: Priority,
    pub source: CaseSource,
    pub owner_id: Option<Uuid>,
    pub team_id: Option<Uuid>,
    pub service_id: Option<Uuid>,
    pub person_key: Option<String>,
    /// The response that opened it, if one did.
    pub response_id: Option<Uuid>,
    pub opened_by: Option<Uuid>,
    pub opened_at: i64,
    pub updated_at: i64,
    pub first_public_update_at: Option<i64>,
    pub ended_at: Option<i64>,
    pub root_cause: Option<String>,
    /// On closing: whether the person's issue was resolved.
    pub resolved: Option<bool>,
    pub sla_flag: SlaFlag,
    pub due_at: Option<i64>,
    pub escalation_level: i64,
    pub next_check_at: Option<i64>,
}

#[derive(sqlx::FromRow)]
struct CaseRow {
    id: Uuid,
    number: i64,
    status_code: String,
    title: String,
    status: String,
    ended: bool,
    priority: String,
    source: String,
    owner_id: Option<Uuid>,
    team_id: Option<Uuid>,
    service_id: Option<Uuid>,
    person_key: Option<String>,
    response_id: Option<Uuid>,
    opened_by: Option<Uuid>,
    opened_at: i64,
    updated_at: i64,
    first_public_update_at: Option<i64>,
    ended_at: Option<i64>,
    root_cause: Option<String>,
    resolved: Option<bool>,
    sla_flag: String,
    due_at: Option<i64>,
    escalation_level: i64,
    next_check_at: Option<i64>,
}

const CASE_COLUMNS: &str = "id, number, status_code, title, status, ended, priority, source, owner_id, team_id, service_id, \
    person_key, response_id, opened_by, opened_at, updated_at, first_public_update_at, ended_at, root_cause, \
    resolved, sla_flag, due_at, escalation_level, next_check_at";

impl CaseRow {
    fn record(self) -> Result<CaseRecord> {
        Ok(CaseRecord {
            id: self.id,
            number: self.number,
            status_code: self.status_code,
            title: self.title,
            status: self.status,
            ended: self.ended,
            priority: Priority::parse(&self.priority)
                .map_err(|_| StoreError::Corrupt(format!("case priority {}", self.priority)))?,
            source: CaseSource::parse(&self.source)
                .ok_or_else(|| StoreError::Corrupt(format!("case source {}", self.source)))?,
            owner_id: self.owner_id,
            team_id: self.team_id,
            service_id: self.service_id,
            person_key: self.person_key,
            response_id: self.response_id,
            opened_by: self.opened_by,
            opened_at: self.opened_at,
            updated_at: self.updated_at,
            first_public_update_at: self.first_public_update_at,
            ended_at: self.ended_at,
            root_cause: self.root_cause,
            resolved: self.resolved,
            sla_flag: SlaFlag::parse(&self.sla_flag),
            due_at: self.due_at,
            escalation_level: self.escalation_level,
            next_check_at: self.next_check_at,
        })
    }
}

/// One history entry: who (a member, or none for the system) did what, when.
#[derive(Debug, Clone)]
pub struct HistoryEntry {
    pub seq: i64,
    pub at: i64,
    pub actor_id: Option<Uuid>,
    pub change: Change,
}

/// A history row as stored: `(seq, at, actor_id, kind, value, body)`.
type HistoryRow = (
    i64,
    i64,
    Option<Uuid>,
    String,
    Option<String>,
    Option<String>,
);

/// Something a case is linked to.
#[derive(Debug, Clone)]
pub struct CaseLink {
    pub kind: LinkKind,
    pub target_id: Uuid,
    pub linked_at: i64,
}

/// A new case as staff (or a rule) open it.
#[derive(Debug, Clone)]
pub struct NewCase {
    pub title: String,
    pub priority: Priority,
    pub source: CaseSource,
    pub team_id: Option<Uuid>,
    pub owner_id: Option<Uuid>,
    pub service_id: Option<Uuid>,
    pub person_key: Option<String>,
    /// The response it is about; linked, and its service and person key are taken when not given.
    pub response_id: Option<Uuid>,
    /// A first note for staff.
    pub note: Option<String>,
}

/// Which cases a queue shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Queue {
    /// Open cases owned by this member.
    Mine(Uuid),
    /// Open cases of this team.
    Team(Uuid),
    /// Open cases with no owner.
    Unassigned,
    /// Open cases with a deadline before this instant, or breached; soonest first.
    DueBefore(i64),
    /// Every open case.
    Open,
    /// Cases in an ending status, most recently ended first.
    Ended,
}

/// A queue with optional narrowing by status and priority, at most `limit` cases.
#[derive(Debug, Clone)]
pub struct CaseQuery {
    pub queue: Queue,
    pub status: Option<String>,
    pub priority: Option<Priority>,
    pub limit: i64,
}

/// What the case figures are computed from: one row per case.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CaseFigureRow {
    pub opened_at: i64,
    pub first_public_update_at: Option<i64>,
    pub ended: bool,
    pub ended_at: Option<i64>,
    pub resolved: Option<bool>,
    /// Whether the linked response (the one that opened it) trusted the service (A-11 trust answer 4 or 5).
    pub trust_positive: Option<bool>,
}

fn invalid(field: &str, code: &'static str, msg: impl Into<String>) -> StoreError {
    StoreError::Invalid(FieldErrors::single(field, code, msg))
}

impl Store {
    /// The organization's case settings; the defaults (no statuses of its own, no SLA) when it set none.
    pub async fn case_settings(&self, org: OrgId) -> Result<CaseSettings> {
        let s: Option<String> = on_pool!(self, p => sqlx::query_scalar(
            "SELECT settings FROM case_settings WHERE org_id = $1")
            .bind(org.as_uuid()).fetch_optional(p).await)?;
        match s {
            None => Ok(CaseSettings::default()),
            Some(s) => serde_json::from_str(&s)
                .map_err(|e| StoreError::Corrupt(format!("case settings: {e}"))),
        }
    }

    /// Saves new case settings after checking them (`StoreError::Invalid` names each bad field), and recomputes the
    /// SLA summary of every case of the organization from its history, appending "SLA recomputed" to each open
    /// one, in one transaction. A custom status still held by a case cannot be removed. Returns the number of cases
    /// recomputed.
    pub async fn save_case_settings(
        &self,
        org: OrgId,
        settings: &CaseSettings,
        actor: UserId,
    ) -> Result<usize> {
        settings.check().map_err(StoreError::Invalid)?;
        let now = crate::now_ms();
        let mut tx = self.begin().await?;
        let held: Vec<(String, i64)> = on_tx!(tx, t => sqlx::query_as(
            "SELECT status, COUNT(*) FROM cases WHERE org_id = $1 GROUP BY status ORDER BY status")
            .bind(org.as_uuid()).fetch_all(&mut **t).await)?;
        let before = tx.settings(org).await?;
        for (status, n) in held {
            if settings.status(&status).is_none() {
                let label = before.status(&status).map_or(status.clone(), |s| s.label);
                return Err(invalid(
                    "custom_statuses",
                    "status_in_use",
                    format!(
                        "{n} case{} still {} the status \"{label}\"; move {} to another status first",
                        if n == 1 { "" } else { "s" },
                        if n == 1 { "has" } else { "have" },
                        if n == 1 { "it" } else { "them" },
                    ),
                ));
            }
        }
        let json =
            serde_json::to_string(settings).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        on_tx!(tx, t => sqlx::query(
            "INSERT INTO case_settings (org_id, settings, next_number, updated_at) VALUES ($1, $2, 1, $3) \
             ON CONFLICT (org_id) DO UPDATE SET settings = excluded.settings, updated_at = excluded.updated_at")
            .bind(org.as_uuid()).bind(&json).bind(now).execute(&mut **t).await.map(|_| ()))?;
        let ids: Vec<(Uuid, bool)> = on_tx!(tx, t => sqlx::query_as(
            "SELECT id, ended FROM cases WHERE org_id = $1 ORDER BY number")
            .bind(org.as_uuid()).fetch_all(&mut **t).await)?;
        // The history says "recomputed" only when the service levels, or what the statuses do to the clock, changed.
        let changed = before.sla_policy_spec() != settings.sla_policy_spec();
        for (id, ended) in &ids {
            if !ended && changed {
                tx.append_change(
                    org,
                    *id,
                    Some(*actor.as_uuid()),
                    &Change::SlaRecomputed,
                    now,
                )
                .await?;
            }
            tx.refresh_case(org, *id, settings, now, None).await?;
        }
        tx.commit().await?;
        Ok(ids.len())
    }

    pub async fn case_teams(&self, org: OrgId) -> Result<Vec<Team>> {
        on_pool!(self, p => sqlx::query_as(
            "SELECT id, name, created_at FROM case_teams WHERE org_id = $1 ORDER BY name")
            .bind(org.as_uuid()).fetch_all(p).await)
        .map_err(Into::into)
    }

    /// Adds a team; `name` is 1 to 80 characters, unique in the organization (`Conflict` otherwise).
    pub async fn create_case_team(&self, org: OrgId, name: &str) -> Result<Team> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 80 || name.chars().any(char::is_control) {
            return Err(invalid(
                "name",
                "invalid_name",
                "A team name is 1 to 80 characters",
            ));
        }
        let taken: Option<i32> = on_pool!(self, p => sqlx::query_scalar(
            "SELECT 1 FROM case_teams WHERE org_id = $1 AND LOWER(name) = LOWER($2)")
            .bind(org.as_uuid()).bind(name).fetch_optional(p).await)?;
        if taken.is_some() {
            return Err(StoreError::Conflict(
                "There is already a team with this name".into(),
            ));
        }
        let team = Team {
            id: Uuid::now_v7(),
            name: name.to_string(),
            created_at: crate::now_ms(),
        };
        on_pool!(self, p => sqlx::query(
            "INSERT INTO case_teams (org_id, id, name, created_at) VALUES ($1, $2, $3, $4)")
            .bind(org.as_uuid()).bind(team.id).bind(&team.name).bind(team.created_at)
            .execute(p).await.map(|_| ()))
        .map_err(|e| StoreError::conflict_or(e, "There is already a team with this name"))?;
        Ok(team)
    }

    /// Opens a case; its history starts with "opened" (and "linked" when it is about a response, and the note).
    pub async fn open_case(
        &self,
        org: OrgId,
        new: &NewCase,
        actor: Option<UserId>,
    ) -> Result<CaseRecord> {
        let title =
            case::check_title(&new.title).map_err(|e| StoreError::Invalid(FieldErrors(vec![e])))?;
        let note = match &new.note {
            Some(n) if !n.trim().is_empty() => Some(
                case::check_body("note", n)
                    .map_err(|e| StoreError::Invalid(FieldErrors(vec![e])))?,
            ),
            _ => None,
        };
        let now = crate::now_ms();
        let mut tx = self.begin().await?;
        let settings = tx.settings(org).await?;
        let mut new = new.clone();
        new.title = title;
        if let Some(team) = new.team_id {
            tx.check_team(org, team).await?;
        }
        if let Some(owner) = new.owner_id {
            tx.check_member(org, owner).await?;
        }
        if let Some(r) = new.response_id {
            let found: Option<(Uuid, Option<String>)> = on_tx!(tx, t => sqlx::query_as(
                "SELECT service_id, person_key FROM responses WHERE org_id = $1 AND id = $2")
                .bind(org.as_uuid()).bind(r).fetch_optional(&mut **t).await)?;
            let Some((service, person)) = found else {
                return Err(invalid(
                    "response_id",
                    "not_found",
                    "No such response in this organization",
                ));
            };
            new.service_id = new.service_id.or(Some(service));
            new.person_key = new.person_key.or(person);
        }
        let id = tx
            .insert_case(org, &new, actor.map(|a| *a.as_uuid()), &settings, now)
            .await?;
        if let Some(body) = note {
            tx.append_change(
                org,
                id,
                actor.map(|a| *a.as_uuid()),
                &Change::Note { body },
                now,
            )
            .await?;
        }
        tx.commit().await?;
        self.case(org, id).await
    }

    /// One case of the organization (`NotFound` for an id of another).
    pub async fn case(&self, org: OrgId, id: Uuid) -> Result<CaseRecord> {
        let sql = format!("SELECT {CASE_COLUMNS} FROM cases WHERE org_id = $1 AND id = $2");
        let row: Option<CaseRow> = on_pool!(self, p => sqlx::query_as(&sql)
            .bind(org.as_uuid()).bind(id).fetch_optional(p).await)?;
        row.ok_or(StoreError::NotFound)?.record()
    }

    /// The cases of a queue, most pressing first: open queues put urgent cases first, then missed deadlines, then
    /// the soonest deadline, then priority and age; the ended queue is by when they ended.
    pub async fn cases(&self, org: OrgId, q: &CaseQuery) -> Result<Vec<CaseRecord>> {
        let (ended, owner, team, unassigned, due) = match q.queue {
            Queue::Mine(u) => (false, Some(u), None, false, None),
            Queue::Team(t) => (false, None, Some(t), false, None),
            Queue::Unassigned => (false, None, None, true, None),
            Queue::DueBefore(at) => (false, None, None, false, Some(at)),
            Queue::Open => (false, None, None, false, None),
            Queue::Ended => (true, None, None, false, None),
        };
        let order = if ended {
            "ended_at DESC, number DESC"
        } else {
            "CASE priority WHEN 'urgent' THEN 0 ELSE 1 END, CASE sla_flag WHEN 'breached' THEN 0 ELSE 1 END, \
             CASE WHEN due_at IS NULL THEN 1 ELSE 0 END, due_at, \
             CASE priority WHEN 'urgent' THEN 0 WHEN 'high' THEN 1 WHEN 'normal' THEN 2 ELSE 3 END, opened_at, number"
        };
        let sql = format!(
            "SELECT {CASE_COLUMNS} FROM cases WHERE org_id = $1 AND ended = $2 \
             AND ($3 IS NULL OR owner_id = $3) AND ($4 IS NULL OR team_id = $4) \
             AND ($5 = FALSE OR owner_id IS NULL) \
             AND ($6 IS NULL OR sla_flag = 'breached' OR (due_at IS NOT NULL AND due_at <= $6)) \
             AND ($7 IS NULL OR status = $7) AND ($8 IS NULL OR priority = $8) \
             ORDER BY {order} LIMIT $9"
        );
        let priority = q.priority.map(|p| p.key());
        let rows: Vec<CaseRow> = on_pool!(self, p => sqlx::query_as(&sql)
            .bind(org.as_uuid()).bind(ended).bind(owner).bind(team).bind(unassigned).bind(due)
            .bind(q.status.as_deref()).bind(priority).bind(q.limit).fetch_all(p).await)?;
        rows.into_iter().map(CaseRow::record).collect()
    }

    /// How many open cases each queue holds for member `me`, "due" meaning a deadline before `due_before` or
    /// breached.
    pub async fn case_counts(
        &self,
        org: OrgId,
        me: UserId,
        due_before: i64,
    ) -> Result<QueueCounts> {
        let row: (i64, i64, i64, i64, i64) = on_pool!(self, p => sqlx::query_as(
            "SELECT \
               COALESCE(SUM(CASE WHEN owner_id = $2 THEN 1 ELSE 0 END), 0), \
               COALESCE(SUM(CASE WHEN owner_id IS NULL THEN 1 ELSE 0 END), 0), \
               COALESCE(SUM(CASE WHEN sla_flag = 'breached' OR (due_at IS NOT NULL AND due_at <= $3) THEN 1 ELSE 0 END), 0), \
               COALESCE(SUM(CASE WHEN sla_flag = 'breached' THEN 1 ELSE 0 END), 0), \
               COUNT(*) \
             FROM cases WHERE org_id = $1 AND NOT ended")
            .bind(org.as_uuid()).bind(me.as_uuid()).bind(due_before).fetch_one(p).await)?;
        Ok(QueueCounts {
            mine: row.0,
            unassigned: row.1,
            due: row.2,
            breached: row.3,
            open: row.4,
        })
    }

    /// A case's history, oldest first.
    pub async fn case_history(&self, org: OrgId, id: Uuid) -> Result<Vec<HistoryEntry>> {
        let rows: Vec<HistoryRow> = on_pool!(self, p => sqlx::query_as(
                "SELECT seq, at, actor_id, kind, value, body FROM case_history \
                 WHERE org_id = $1 AND case_id = $2 ORDER BY seq")
                .bind(org.as_uuid()).bind(id).fetch_all(p).await)?;
        Ok(rows
            .into_iter()
            .filter_map(|(seq, at, actor_id, kind, value, body)| {
                Change::from_row(&kind, value.as_deref(), body.as_deref()).map(|change| {
                    HistoryEntry {
                        seq,
                        at,
                        actor_id,
                        change,
                    }
                })
            })
            .collect())
    }

    pub async fn case_links(&self, org: OrgId, id: Uuid) -> Result<Vec<CaseLink>> {
        let rows: Vec<(String, Uuid, i64)> = on_pool!(self, p => sqlx::query_as(
            "SELECT kind, target_id, linked_at FROM case_links WHERE org_id = $1 AND case_id = $2 \
             ORDER BY linked_at, kind, target_id")
            .bind(org.as_uuid()).bind(id).fetch_all(p).await)?;
        Ok(rows
            .into_iter()
            .filter_map(|(k, target_id, linked_at)| {
                LinkKind::parse(&k).map(|kind| CaseLink {
                    kind,
                    target_id,
                    linked_at,
                })
            })
            .collect())
    }

    /// The cases a response, signal or event is linked to, newest first.
    pub async fn cases_linked_to(
        &self,
        org: OrgId,
        kind: LinkKind,
        target: Uuid,
    ) -> Result<Vec<CaseRecord>> {
        let sql = format!(
            "SELECT {} FROM cases c JOIN case_links l ON l.org_id = c.org_id AND l.case_id = c.id \
             WHERE c.org_id = $1 AND l.kind = $2 AND l.target_id = $3 ORDER BY c.number DESC",
            CASE_COLUMNS
                .split(", ")
                .map(|c| format!("c.{}", c.trim()))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let rows: Vec<CaseRow> = on_pool!(self, p => sqlx::query_as(&sql)
            .bind(org.as_uuid()).bind(kind.key()).bind(target).fetch_all(p).await)?;
        rows.into_iter().map(CaseRow::record).collect()
    }

    /// Applies `changes`, in order, to each of `cases` (one case from its page, or many from a bulk action), in one
    /// transaction: everything is checked first (each case of this organization, each status known, an owner a
    /// member, a team of this organization, texts within their limits) and nothing is written if anything is
    /// refused. Changes that change nothing (the status a case already has) are skipped. Returns how many cases
    /// changed.
    pub async fn change_cases(
        &self,
        org: OrgId,
        cases: &[Uuid],
        changes: &[Change],
        actor: UserId,
    ) -> Result<usize> {
        if cases.is_empty() {
            return Err(invalid("cases", "required", "Choose at least one case"));
        }
        if cases.len() > 500 {
            return Err(invalid("cases", "too_many", "At most 500 cases at once"));
        }
        let now = crate::now_ms();
        let mut tx = self.begin().await?;
        let settings = tx.settings(org).await?;
        settings.check().map_err(StoreError::Invalid)?;
        for c in changes {
            match c {
                Change::Status { status } if settings.status(status).is_none() => {
                    return Err(invalid(
                        "status",
                        "unknown_status",
                        "Choose one of the statuses listed",
                    ));
                }
                Change::Owner { owner: Some(o) } => {
                    let o: Uuid = o.parse().map_err(|_| {
                        invalid(
                            "owner",
                            "unknown_owner",
                            "Choose a member of this organization",
                        )
                    })?;
                    tx.check_member(org, o).await?;
                }
                Change::Team { team: Some(t) } => {
                    let t: Uuid = t.parse().map_err(|_| {
                        invalid("team", "unknown_team", "Choose one of the teams listed")
                    })?;
                    tx.check_team(org, t).await?;
                }
                Change::Note { body } => {
                    case::check_body("note", body)
                        .map_err(|e| StoreError::Invalid(FieldErrors(vec![e])))?;
                }
                Change::PublicUpdate { body } => {
                    case::check_body("update", body)
                        .map_err(|e| StoreError::Invalid(FieldErrors(vec![e])))?;
                }
                Change::Outcome { root_cause, .. } => {
                    let r = root_cause.trim();
                    if r.is_empty() || r.chars().count() > case::MAX_ROOT_CAUSE_CHARS {
                        return Err(invalid(
                            "root_cause",
                            "invalid_root_cause",
                            format!(
                                "Say what caused the problem, in at most {} characters",
                                case::MAX_ROOT_CAUSE_CHARS
                            ),
                        ));
                    }
                }
                Change::Opened { .. }
                | Change::Linked { .. }
                | Change::SlaRecomputed
                | Change::FromPerson { .. }
                | Change::Escalated { .. } => {
                    return Err(invalid(
                        "change",
                        "not_allowed",
                        "This change is made by Heard, not by hand",
                    ));
                }
                _ => {}
            }
        }
        // Every way into an ending status records why the case ended and whether the issue was resolved.
        let closing = changes.iter().any(|c| {
            matches!(c, Change::Status { status }
                if settings.status(status).is_some_and(|s| s.kind == StatusKind::Ends))
        });
        if closing && !changes.iter().any(|c| matches!(c, Change::Outcome { .. })) {
            return Err(invalid(
                "status",
                "outcome_required",
                "To close a case, use Close on its page: it asks for the root cause and whether the person's \
                 issue was resolved",
            ));
        }
        let mut changed = 0;
        for id in cases {
            let current = tx.case(org, *id).await?;
            let mut any = false;
            let was_ended = current.ended;
            let mut status = current.status.clone();
            for c in changes {
                let same = match c {
                    Change::Status { status: s } => *s == status,
                    Change::Owner { owner } => {
                        owner.as_deref() == current.owner_id.map(|o| o.to_string()).as_deref()
                    }
                    Change::Team { team } => {
                        team.as_deref() == current.team_id.map(|t| t.to_string()).as_deref()
                    }
                    Change::Priority { priority } => *priority == current.priority,
                    _ => false,
                };
                if same {
                    continue;
                }
                if let Change::Status { status: s } = c {
                    status = s.clone();
                }
                tx.append_change(org, *id, Some(*actor.as_uuid()), c, now)
                    .await?;
                tx.apply_fields(org, *id, c, &settings, now).await?;
                any = true;
            }
            if any {
                let ended_now = settings
                    .status(&status)
                    .is_some_and(|s| s.kind == StatusKind::Ends);
                let event = match (was_ended, ended_now) {
                    (false, true) => EventType::CaseClosed,
                    _ => EventType::CaseUpdated,
                };
                let what = changes.first().map(|c| c.to_row().0).unwrap_or("updated");
                tx.refresh_case(org, *id, &settings, now, Some((event, what)))
                    .await?;
                changed += 1;
            }
        }
        tx.commit().await?;
        Ok(changed)
    }

    /// Closes a case: its root cause and whether the person's issue was resolved, then the status `closed`.
    pub async fn close_case(
        &self,
        org: OrgId,
        id: Uuid,
        root_cause: &str,
        resolved: bool,
        actor: UserId,
    ) -> Result<usize> {
        self.end_case(org, id, root_cause, resolved, CLOSED_STATUS, actor)
            .await
    }

    /// Ends a case in `status` (one that ends cases: resolved, closed, or the organization's own), with its root
    /// cause and whether the person's issue was resolved.
    pub async fn end_case(
        &self,
        org: OrgId,
        id: Uuid,
        root_cause: &str,
        resolved: bool,
        status: &str,
        actor: UserId,
    ) -> Result<usize> {
        let settings = self.case_settings(org).await?;
        if settings
            .status(status)
            .is_none_or(|s| s.kind != StatusKind::Ends)
        {
            return Err(invalid(
                "close_status",
                "not_an_ending_status",
                "Choose a status that ends the case",
            ));
        }
        self.change_cases(
            org,
            &[id],
            &[
                Change::Outcome {
                    root_cause: root_cause.trim().to_string(),
                    resolved,
                },
                Change::Status {
                    status: status.to_string(),
                },
            ],
            actor,
        )
        .await
    }

    /// Links a response, signal or event of this organization to a case (a no-op when it already is).
    pub async fn link_case(
        &self,
        org: OrgId,
        id: Uuid,
        kind: LinkKind,
        target: Uuid,
        actor: UserId,
    ) -> Result<()> {
        let table = match kind {
            LinkKind::Response => "responses",
            LinkKind::Signal => "signals",
            LinkKind::Event => "events",
        };
        let now = crate::now_ms();
        let mut tx = self.begin().await?;
        tx.case(org, id).await?;
        let sql = format!("SELECT 1 FROM {table} WHERE org_id = $1 AND id = $2");
        let exists: Option<i32> = on_tx!(tx, t => sqlx::query_scalar(&sql)
            .bind(org.as_uuid()).bind(target).fetch_optional(&mut **t).await)?;
        if exists.is_none() {
            return Err(invalid(
                "link",
                "not_found",
                format!("No such {} in this organization", kind.key()),
            ));
        }
        if tx.insert_link(org, id, kind, target, now).await? {
            tx.append_change(
                org,
                id,
                Some(*actor.as_uuid()),
                &Change::Linked {
                    link: kind,
                    id: target.to_string(),
                },
                now,
            )
            .await?;
            let settings = tx.settings(org).await?;
            settings.check().map_err(StoreError::Invalid)?;
            tx.refresh_case(
                org,
                id,
                &settings,
                now,
                Some((EventType::CaseUpdated, "linked")),
            )
            .await?;
        }
        tx.commit().await
    }

    /// The escalation check of one case, run by the `cases.check` job: evaluates its SLA at `now` (epoch ms; the
    /// job passes the clock's time, never earlier than the case's last change), appends an "escalated" entry for
    /// each escalation step newly reached (and moves an active case to `escalated`), stores the summary and
    /// schedules the next check. Completes `job` in the same transaction when given. Returns the steps recorded.
    pub async fn check_case(
        &self,
        org: OrgId,
        id: Uuid,
        job: Option<&crate::jobs::ClaimedJob>,
        now: i64,
    ) -> Result<usize> {
        let mut tx = self.begin().await?;
        if let Some(job) = job {
            tx.complete_job(job).await?;
        }
        let current = match tx.case(org, id).await {
            Ok(c) => c,
            Err(StoreError::NotFound) => {
                tx.commit().await?;
                return Ok(0);
            }
            Err(e) => return Err(e),
        };
        let now = now.max(current.updated_at);
        let settings = tx.settings(org).await?;
        let Some(policy) = settings
            .policy_for(current.priority)
            .map_err(StoreError::Invalid)?
        else {
            tx.commit().await?;
            return Ok(0);
        };
        let (state, _) = tx.evaluate(org, id, &policy, now).await?;
        let mut steps = 0;
        let mut level_before = current.escalation_level as usize;
        for (name, t) in case::targets(&state) {
            // Each target's own steps; the stored level is the highest of any target, so a target's steps are
            // recorded once they pass what was recorded.
            while t.escalation_level > level_before {
                level_before += 1;
                tx.append_change(
                    org,
                    id,
                    None,
                    &Change::Escalated {
                        target: name.to_string(),
                        level: level_before,
                    },
                    now,
                )
                .await?;
                steps += 1;
            }
        }
        if steps > 0 && !current.ended {
            let active = settings
                .status(&current.status)
                .is_some_and(|s| s.kind == StatusKind::Active);
            if active && current.status != ESCALATED_STATUS {
                let c = Change::Status {
                    status: ESCALATED_STATUS.to_string(),
                };
                tx.append_change(org, id, None, &c, now).await?;
                tx.apply_fields(org, id, &c, &settings, now).await?;
            }
        }
        let event = (steps > 0).then_some((EventType::CaseUpdated, "escalated"));
        let flag_before = current.sla_flag;
        on_tx!(tx, t => sqlx::query("UPDATE cases SET escalation_level = $3 WHERE org_id = $1 AND id = $2")
            .bind(org.as_uuid()).bind(id).bind(level_before as i64).execute(&mut **t).await.map(|_| ()))?;
        tx.refresh_case(org, id, &settings, now, event).await?;
        // Staff hear when a deadline is about to be missed, is missed, or the case escalates (if the organization
        // asked for it): the owner, or the on-call staff when nobody owns the case.
        if settings.notify_deadlines && !current.ended {
            let after = tx.case(org, id).await?;
            let reason = if steps > 0 {
                Some("escalated")
            } else if after.sla_flag == SlaFlag::Breached && flag_before != SlaFlag::Breached {
                Some("breached")
            } else if after.sla_flag == SlaFlag::AtRisk && flag_before > SlaFlag::AtRisk {
                Some("at_risk")
            } else {
                None
            };
            let users: Vec<String> = match after.owner_id {
                Some(o) => vec![o.to_string()],
                None => settings.on_call.clone(),
            };
            if let Some(reason) = reason
                && !users.is_empty()
            {
                tx.enqueue(
                    NewJob::new(
                        org,
                        crate::rules::NOTIFY_KIND,
                        serde_json::json!({
                            "case": id, "response": after.response_id, "users": users, "rule": null,
                            "reason": reason,
                        }),
                    )
                    .dedupe_key(format!("{reason}:{id}:{}", after.escalation_level))
                    .max_attempts(8),
                )
                .await?;
            }
        }
        tx.commit().await?;
        Ok(steps)
    }

    /// The case of a status code (as stored, `XXXX-XXXX`), if the organization has one.
    pub async fn case_by_code(&self, org: OrgId, code: &str) -> Result<Option<CaseRecord>> {
        let sql =
            format!("SELECT {CASE_COLUMNS} FROM cases WHERE org_id = $1 AND status_code = $2");
        let row: Option<CaseRow> = on_pool!(self, p => sqlx::query_as(&sql)
            .bind(org.as_uuid()).bind(code).fetch_optional(p).await)?;
        row.map(CaseRow::record).transpose()
    }

    /// A case found by its id alone, with its organization: for the person's status link, whose token the server
    /// has already checked (it is keyed with the server's secret and names the case). `None` when there is none.
    pub async fn case_by_id(&self, id: Uuid) -> Result<Option<(OrgId, CaseRecord)>> {
        let sql = format!("SELECT org_id, {CASE_COLUMNS} FROM cases WHERE id = $1");
        #[derive(sqlx::FromRow)]
        struct WithOrg {
            org_id: Uuid,
            #[sqlx(flatten)]
            case: CaseRow,
        }
        let row: Option<WithOrg> =
            on_pool!(self, p => sqlx::query_as(&sql).bind(id).fetch_optional(p).await)?;
        row.map(|r| Ok((OrgId::from_uuid(r.org_id), r.case.record()?)))
            .transpose()
    }

    /// The person adds information to their case from its status page: a "from the person" entry, and a case that
    /// was waiting on the customer goes back to in progress (by Heard, in the history), in one transaction.
    /// `body` is 1 to 2,000 characters (`StoreError::Invalid` naming `information`); an ended case takes nothing
    /// (`Conflict`).
    pub async fn add_from_person(&self, org: OrgId, id: Uuid, body: &str) -> Result<()> {
        let body = body.trim();
        if body.is_empty() || body.chars().count() > 2_000 {
            return Err(invalid(
                "information",
                "invalid_information",
                "Write up to 2,000 characters",
            ));
        }
        let now = crate::now_ms();
        let mut tx = self.begin().await?;
        let c = tx.case(org, id).await?;
        if c.ended {
            return Err(StoreError::Conflict("the case is closed".into()));
        }
        tx.append_change(
            org,
            id,
            None,
            &Change::FromPerson {
                body: body.to_string(),
            },
            now,
        )
        .await?;
        let settings = tx.settings(org).await?;
        if c.status == "waiting_on_customer" {
            let back = Change::Status {
                status: "in_progress".into(),
            };
            tx.append_change(org, id, None, &back, now).await?;
            tx.apply_fields(org, id, &back, &settings, now).await?;
        }
        settings.check().map_err(StoreError::Invalid)?;
        tx.refresh_case(
            org,
            id,
            &settings,
            now,
            Some((EventType::CaseUpdated, "from_person")),
        )
        .await?;
        tx.commit().await
    }

    /// A note for staff written by Heard itself (no member), such as why the on-call staff could not be emailed.
    pub async fn note_by_heard(&self, org: OrgId, id: Uuid, body: &str) -> Result<()> {
        let now = crate::now_ms();
        let mut tx = self.begin().await?;
        tx.case(org, id).await?;
        tx.append_change(
            org,
            id,
            None,
            &Change::Note {
                body: body.to_string(),
            },
            now,
        )
        .await?;
        tx.commit().await
    }

    /// One row per case of the organization, for its figures.
    pub async fn case_figure_rows(&self, org: OrgId) -> Result<Vec<CaseFigureRow>> {
        on_pool!(self, p => sqlx::query_as(
            "SELECT c.opened_at, c.first_public_update_at, c.ended, c.ended_at, c.resolved, r.trust_positive \
             FROM cases c LEFT JOIN responses r ON r.org_id = c.org_id AND r.id = c.response_id \
             WHERE c.org_id = $1")
            .bind(org.as_uuid()).fetch_all(p).await)
        .map_err(Into::into)
    }
}

/// How many open cases each queue holds.
#[derive(Debug, Clone, Copy, Default)]
pub struct QueueCounts {
    pub mine: i64,
    pub unassigned: i64,
    pub due: i64,
    pub breached: i64,
    pub open: i64,
}

fn check_job(org: OrgId, case: Uuid, at: i64) -> NewJob {
    NewJob::new(org, CHECK_KIND, serde_json::json!({ "case": case }))
        .dedupe_key(format!("{case}:{at}"))
        .run_at(at)
}

impl StoreTx {
    /// What a callback does to its case, in the callback's transaction: a note for staff (`note`), and when
    /// `escalate` and the case is being worked (an active status), the status escalated; the SLA summary and a
    /// `case.updated` event follow. An ended case only gets the note.
    pub(crate) async fn callback_on_case(
        &mut self,
        org: OrgId,
        id: Uuid,
        note: &str,
        escalate: bool,
        now: i64,
    ) -> Result<()> {
        let c = self.case(org, id).await?;
        self.append_change(
            org,
            id,
            None,
            &Change::Note {
                body: note.to_string(),
            },
            now,
        )
        .await?;
        if !escalate || c.ended {
            return Ok(());
        }
        let settings = self.settings(org).await?;
        let active = settings
            .status(&c.status)
            .is_some_and(|s| s.kind == StatusKind::Active);
        if active && c.status != ESCALATED_STATUS {
            let change = Change::Status {
                status: ESCALATED_STATUS.to_string(),
            };
            self.append_change(org, id, None, &change, now).await?;
            self.apply_fields(org, id, &change, &settings, now).await?;
            self.refresh_case(
                org,
                id,
                &settings,
                now,
                Some((EventType::CaseUpdated, "callback_missed")),
            )
            .await?;
        }
        Ok(())
    }
}

impl StoreTx {
    /// The organization's case settings, read in this transaction.
    pub(crate) async fn case_settings_tx(&mut self, org: OrgId) -> Result<CaseSettings> {
        self.settings(org).await
    }

    async fn settings(&mut self, org: OrgId) -> Result<CaseSettings> {
        let s: Option<String> = on_tx!(self, t => sqlx::query_scalar(
            "SELECT settings FROM case_settings WHERE org_id = $1")
            .bind(org.as_uuid()).fetch_optional(&mut **t).await)?;
        match s {
            None => Ok(CaseSettings::default()),
            Some(s) => serde_json::from_str(&s)
                .map_err(|e| StoreError::Corrupt(format!("case settings: {e}"))),
        }
    }

    async fn case(&mut self, org: OrgId, id: Uuid) -> Result<CaseRecord> {
        let sql = format!("SELECT {CASE_COLUMNS} FROM cases WHERE org_id = $1 AND id = $2");
        let row: Option<CaseRow> = on_tx!(self, t => sqlx::query_as(&sql)
            .bind(org.as_uuid()).bind(id).fetch_optional(&mut **t).await)?;
        row.ok_or(StoreError::NotFound)?.record()
    }

    async fn check_member(&mut self, org: OrgId, user: Uuid) -> Result<()> {
        let found: Option<i32> = on_tx!(self, t => sqlx::query_scalar(
            "SELECT 1 FROM memberships WHERE org_id = $1 AND user_id = $2 AND role IN ('analyst', 'admin')")
            .bind(org.as_uuid()).bind(user).fetch_optional(&mut **t).await)?;
        found.map(|_| ()).ok_or_else(|| {
            invalid(
                "owner",
                "unknown_owner",
                "Choose a member who works cases (an analyst or an administrator)",
            )
        })
    }

    async fn check_team(&mut self, org: OrgId, team: Uuid) -> Result<()> {
        let found: Option<i32> = on_tx!(self, t => sqlx::query_scalar(
            "SELECT 1 FROM case_teams WHERE org_id = $1 AND id = $2")
            .bind(org.as_uuid()).bind(team).fetch_optional(&mut **t).await)?;
        found
            .map(|_| ())
            .ok_or_else(|| invalid("team", "unknown_team", "Choose one of the teams listed"))
    }

    /// Takes the organization's next case number.
    async fn next_number(&mut self, org: OrgId, now: i64) -> Result<i64> {
        let default =
            serde_json::to_string(&CaseSettings::default()).unwrap_or_else(|_| "{}".into());
        let n: i64 = on_tx!(self, t => sqlx::query_scalar(
            "INSERT INTO case_settings (org_id, settings, next_number, updated_at) VALUES ($1, $2, 2, $3) \
             ON CONFLICT (org_id) DO UPDATE SET next_number = case_settings.next_number + 1 \
             RETURNING next_number - 1")
            .bind(org.as_uuid()).bind(&default).bind(now).fetch_one(&mut **t).await)?;
        Ok(n)
    }

    pub(crate) async fn insert_case(
        &mut self,
        org: OrgId,
        new: &NewCase,
        actor: Option<Uuid>,
        settings: &CaseSettings,
        now: i64,
    ) -> Result<Uuid> {
        let id = Uuid::now_v7();
        let number = self.next_number(org, now).await?;
        // A random code; on the rare one already taken in the organization (40 bits), another.
        let mut inserted = 0;
        for _ in 0..8 {
            let random = Uuid::new_v4();
            let mut five = [0u8; 5];
            five.copy_from_slice(&random.as_bytes()[..5]);
            let code = case::status_code(five);
            inserted = on_tx!(self, t => sqlx::query(
                "INSERT INTO cases (org_id, id, number, status_code, title, status, ended, priority, source, owner_id, \
                 team_id, service_id, person_key, response_id, opened_by, opened_at, updated_at, sla_flag, \
                 escalation_level) \
                 VALUES ($1, $2, $3, $15, $4, $5, FALSE, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14, 'none', 0) \
                 ON CONFLICT DO NOTHING")
                .bind(org.as_uuid()).bind(id).bind(number).bind(&new.title).bind(OPENING_STATUS)
                .bind(new.priority.key()).bind(new.source.key()).bind(new.owner_id).bind(new.team_id)
                .bind(new.service_id).bind(new.person_key.as_deref()).bind(new.response_id).bind(actor).bind(now)
                .bind(&code)
                .execute(&mut **t).await.map(|r| r.rows_affected()))?;
            if inserted == 1 {
                break;
            }
        }
        if inserted != 1 {
            return Err(StoreError::Conflict("no free status code".into()));
        }
        self.append_change(
            org,
            id,
            actor,
            &Change::Opened {
                status: OPENING_STATUS.to_string(),
                priority: new.priority,
            },
            now,
        )
        .await?;
        if let Some(team) = new.team_id {
            self.append_change(
                org,
                id,
                actor,
                &Change::Team {
                    team: Some(team.to_string()),
                },
                now,
            )
            .await?;
        }
        if let Some(owner) = new.owner_id {
            self.append_change(
                org,
                id,
                actor,
                &Change::Owner {
                    owner: Some(owner.to_string()),
                },
                now,
            )
            .await?;
        }
        if let Some(r) = new.response_id {
            self.insert_link(org, id, LinkKind::Response, r, now)
                .await?;
            self.append_change(
                org,
                id,
                actor,
                &Change::Linked {
                    link: LinkKind::Response,
                    id: r.to_string(),
                },
                now,
            )
            .await?;
        }
        settings.check().map_err(StoreError::Invalid)?;
        self.refresh_case(
            org,
            id,
            settings,
            now,
            Some((EventType::CaseOpened, "opened")),
        )
        .await?;
        Ok(id)
    }

    async fn insert_link(
        &mut self,
        org: OrgId,
        id: Uuid,
        kind: LinkKind,
        target: Uuid,
        now: i64,
    ) -> Result<bool> {
        let n = on_tx!(self, t => sqlx::query(
            "INSERT INTO case_links (org_id, case_id, kind, target_id, linked_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT DO NOTHING")
            .bind(org.as_uuid()).bind(id).bind(kind.key()).bind(target).bind(now)
            .execute(&mut **t).await.map(|r| r.rows_affected()))?;
        Ok(n == 1)
    }

    /// Appends one history entry, numbered after the last, at `now` or at the last entry's time if that is later
    /// (a server whose clock is behind another's never writes a history that goes back in time).
    async fn append_change(
        &mut self,
        org: OrgId,
        id: Uuid,
        actor: Option<Uuid>,
        change: &Change,
        now: i64,
    ) -> Result<()> {
        let (kind, value, body) = change.to_row();
        on_tx!(self, t => sqlx::query(
            "INSERT INTO case_history (org_id, case_id, seq, at, actor_id, kind, value, body) \
             SELECT $1, $2, COALESCE(MAX(seq), 0) + 1, \
             CASE WHEN COALESCE(MAX(at), $3) > $3 THEN MAX(at) ELSE $3 END, $4, $5, $6, $7 FROM case_history \
             WHERE org_id = $1 AND case_id = $2")
            .bind(org.as_uuid()).bind(id).bind(now).bind(actor).bind(kind).bind(value.as_deref())
            .bind(body.as_deref()).execute(&mut **t).await.map(|_| ()))?;
        Ok(())
    }

    /// Sets the case's current fields that `change` is about.
    async fn apply_fields(
        &mut self,
        org: OrgId,
        id: Uuid,
        change: &Change,
        settings: &CaseSettings,
        now: i64,
    ) -> Result<()> {
        match change {
            Change::Status { status } => {
                let ends = settings
                    .status(status)
                    .is_some_and(|s| s.kind == StatusKind::Ends);
                on_tx!(self, t => sqlx::query(
                    "UPDATE cases SET status = $3, ended = $4, \
                     ended_at = CASE WHEN $4 THEN COALESCE(ended_at, $5) ELSE NULL END, \
                     root_cause = CASE WHEN $4 THEN root_cause ELSE NULL END, \
                     resolved = CASE WHEN $4 THEN resolved ELSE NULL END \
                     WHERE org_id = $1 AND id = $2")
                    .bind(org.as_uuid()).bind(id).bind(status).bind(ends).bind(now)
                    .execute(&mut **t).await.map(|_| ()))?;
                if ends {
                    self.call_off_for_ended_case(org, id, now).await?;
                }
            }
            Change::Owner { owner } => {
                let o: Option<Uuid> = owner.as_deref().and_then(|o| o.parse().ok());
                on_tx!(self, t => sqlx::query("UPDATE cases SET owner_id = $3 WHERE org_id = $1 AND id = $2")
                    .bind(org.as_uuid()).bind(id).bind(o).execute(&mut **t).await.map(|_| ()))?;
            }
            Change::Team { team } => {
                let v: Option<Uuid> = team.as_deref().and_then(|o| o.parse().ok());
                on_tx!(self, t => sqlx::query("UPDATE cases SET team_id = $3 WHERE org_id = $1 AND id = $2")
                    .bind(org.as_uuid()).bind(id).bind(v).execute(&mut **t).await.map(|_| ()))?;
            }
            Change::Priority { priority } => {
                on_tx!(self, t => sqlx::query("UPDATE cases SET priority = $3 WHERE org_id = $1 AND id = $2")
                    .bind(org.as_uuid()).bind(id).bind(priority.key()).execute(&mut **t).await.map(|_| ()))?;
            }
            Change::PublicUpdate { .. } => {
                on_tx!(self, t => sqlx::query(
                    "UPDATE cases SET first_public_update_at = COALESCE(first_public_update_at, $3) \
                     WHERE org_id = $1 AND id = $2")
                    .bind(org.as_uuid()).bind(id).bind(now).execute(&mut **t).await.map(|_| ()))?;
            }
            Change::Outcome {
                root_cause,
                resolved,
            } => {
                on_tx!(self, t => sqlx::query(
                    "UPDATE cases SET root_cause = $3, resolved = $4 WHERE org_id = $1 AND id = $2")
                    .bind(org.as_uuid()).bind(id).bind(root_cause).bind(*resolved).execute(&mut **t).await.map(|_| ()))?;
            }
            _ => {}
        }
        Ok(())
    }

    /// The case's SLA evaluated at `now` from its whole history, and the history's SLA events.
    async fn evaluate(
        &mut self,
        org: OrgId,
        id: Uuid,
        policy: &SlaPolicy,
        now: i64,
    ) -> Result<(SlaState, usize)> {
        let rows: Vec<(i64, String, Option<String>, Option<String>)> = on_tx!(self, t => sqlx::query_as(
            "SELECT at, kind, value, body FROM case_history WHERE org_id = $1 AND case_id = $2 ORDER BY seq")
            .bind(org.as_uuid()).bind(id).fetch_all(&mut **t).await)?;
        let changes: Vec<(i64, Change)> = rows
            .into_iter()
            .filter_map(|(at, k, v, b)| {
                Change::from_row(&k, v.as_deref(), b.as_deref()).map(|c| (at, c))
            })
            .collect();
        let history = case::sla_history(changes.iter().map(|(at, c)| (*at, c)));
        let n = history.len();
        let now = changes.last().map_or(now, |(at, _)| now.max(*at));
        let state = sla::evaluate(policy, &history, now).map_err(|e: FieldError| {
            StoreError::Corrupt(format!("case {id} history: {}", e.message))
        })?;
        Ok((state, n))
    }

    /// Stores the case's SLA summary at `now` and `updated_at`, schedules its next check, and sends `event` (with
    /// what changed) to the webhooks that chose it.
    async fn refresh_case(
        &mut self,
        org: OrgId,
        id: Uuid,
        settings: &CaseSettings,
        now: i64,
        event: Option<(EventType, &str)>,
    ) -> Result<()> {
        let before = self.case(org, id).await?;
        let priority = before.priority;
        let policy = settings.policy_for(priority).map_err(StoreError::Invalid)?;
        let summary: SlaSummary = match policy.as_ref() {
            Some(p) => {
                let (state, _) = self.evaluate(org, id, p, now).await?;
                case::summarize(Some(&state), now)
            }
            None => case::summarize(None, now),
        };
        on_tx!(self, t => sqlx::query(
            "UPDATE cases SET sla_flag = $3, due_at = $4, next_check_at = $5, updated_at = $6 \
             WHERE org_id = $1 AND id = $2")
            .bind(org.as_uuid()).bind(id).bind(summary.flag.key()).bind(summary.due_at_ms)
            .bind(summary.next_check_ms).bind(now)
            .execute(&mut **t).await.map(|_| ()))?;
        if let Some(at) = summary.next_check_ms {
            self.enqueue(check_job(org, id, at)).await?;
        }
        // Rules on cases: an SLA target has just become about to breach (by the clock, or by a new SLA).
        if summary.flag == SlaFlag::AtRisk && before.sla_flag > SlaFlag::AtRisk && !before.ended {
            let after = self.case(org, id).await?;
            Box::pin(self.apply_case_rules(org, &after, now)).await?;
        }
        if let Some((kind, what)) = event {
            let c = self.case(org, id).await?;
            let facts = CaseFacts {
                organization_id: org.to_string(),
                case_id: id.to_string(),
                number: c.number,
                status: &c.status,
                priority: c.priority.key(),
                source: c.source.key(),
                team_id: c.team_id.map(|t| t.to_string()),
                owner_id: c.owner_id.map(|t| t.to_string()),
                opened_at_ms: c.opened_at,
                response_id: c.response_id.map(|t| t.to_string()),
            };
            let body = case_event(kind, &facts, what, now);
            on_tx!(self, t => t.emit_event(org, kind, id, &body, now).await)?;
        }
        Ok(())
    }

    /// Opens an urgent case for each of `signals` (new ones, being stored in this transaction at `now`) whose text
    /// has crisis language (its reading's `urgency` holds `crisis`; a signal not read yet counts when it is marked
    /// urgent, so a crisis is never missed for want of a reading), linked to it, and emails the on-call staff.
    /// Opens a case about a signal or an event (`link`, `target`), linked to it (the link also in the history).
    #[allow(clippy::too_many_arguments)]
    async fn insert_linked_case(
        &mut self,
        org: OrgId,
        link: LinkKind,
        target: Uuid,
        new: &NewCase,
        settings: &CaseSettings,
        now: i64,
    ) -> Result<Uuid> {
        let case = self.insert_case(org, new, None, settings, now).await?;
        self.insert_link(org, case, link, target, now).await?;
        self.append_change(
            org,
            case,
            None,
            &Change::Linked {
                link,
                id: target.to_string(),
            },
            now,
        )
        .await?;
        Ok(case)
    }

    /// Opens a case about signal `s`, linked to it.
    #[allow(clippy::too_many_arguments)]
    async fn insert_signal_case(
        &mut self,
        s: &heard_domain::signal::NewSignal,
        title: &str,
        priority: Priority,
        source: CaseSource,
        team: Option<Uuid>,
        settings: &CaseSettings,
        now: i64,
    ) -> Result<Uuid> {
        let new = NewCase {
            title: title.to_string(),
            priority,
            source,
            team_id: team,
            owner_id: None,
            service_id: s.service_id.map(|x| *x.as_uuid()),
            person_key: s.person_key.as_ref().map(|k| k.0.clone()),
            response_id: None,
            note: None,
        };
        self.insert_linked_case(
            s.org_id,
            LinkKind::Signal,
            *s.id.as_uuid(),
            &new,
            settings,
            now,
        )
        .await
    }

    /// A rule's case about event `e`, unless a case linked to it is open already: its id, or `None`.
    pub(crate) async fn open_case_for_event(
        &mut self,
        e: &heard_domain::event::NewEvent,
        title: &str,
        priority: Priority,
        team: Option<Uuid>,
        now: i64,
    ) -> Result<Option<Uuid>> {
        if self
            .open_case_linked(e.org_id, LinkKind::Event, *e.id.as_uuid())
            .await?
        {
            return Ok(None);
        }
        let settings = self.settings(e.org_id).await?;
        let new = NewCase {
            title: title.to_string(),
            priority,
            source: CaseSource::Rule,
            team_id: team,
            owner_id: None,
            service_id: e.service_id.map(|x| *x.as_uuid()),
            person_key: e.person_key.as_ref().map(|k| k.0.clone()),
            response_id: None,
            note: None,
        };
        self.insert_linked_case(
            e.org_id,
            LinkKind::Event,
            *e.id.as_uuid(),
            &new,
            &settings,
            now,
        )
        .await
        .map(Some)
    }

    /// Whether an open case is linked to the item.
    async fn open_case_linked(&mut self, org: OrgId, link: LinkKind, target: Uuid) -> Result<bool> {
        let open: Option<i32> = on_tx!(self, t => sqlx::query_scalar(
            "SELECT 1 FROM cases c JOIN case_links l ON l.org_id = c.org_id AND l.case_id = c.id \
             WHERE c.org_id = $1 AND l.kind = $2 AND l.target_id = $3 AND NOT c.ended LIMIT 1")
            .bind(org.as_uuid()).bind(link.key()).bind(target).fetch_optional(&mut **t).await)?;
        Ok(open.is_some())
    }

    /// A rule's case about signal `s`, unless a case linked to it is open already (a crisis case, say): its id,
    /// or `None`.
    pub(crate) async fn open_case_for_signal(
        &mut self,
        s: &heard_domain::signal::NewSignal,
        title: &str,
        priority: Priority,
        source: CaseSource,
        team: Option<Uuid>,
        now: i64,
    ) -> Result<Option<Uuid>> {
        if self
            .open_case_linked(s.org_id, LinkKind::Signal, *s.id.as_uuid())
            .await?
        {
            return Ok(None);
        }
        let settings = self.settings(s.org_id).await?;
        self.insert_signal_case(s, title, priority, source, team, &settings, now)
            .await
            .map(Some)
    }

    /// A rule gives a case to a team (a history entry by Heard; nothing when it is that team's already).
    pub(crate) async fn give_case_to_team(
        &mut self,
        org: OrgId,
        id: Uuid,
        team: Uuid,
        now: i64,
    ) -> Result<()> {
        let c = self.case(org, id).await?;
        if c.team_id == Some(team) {
            return Ok(());
        }
        self.check_team(org, team).await?;
        let settings = self.settings(org).await?;
        let change = Change::Team {
            team: Some(team.to_string()),
        };
        self.append_change(org, id, None, &change, now).await?;
        self.apply_fields(org, id, &change, &settings, now).await?;
        self.refresh_case(
            org,
            id,
            &settings,
            now,
            Some((EventType::CaseUpdated, "team")),
        )
        .await
    }

    pub(crate) async fn open_crisis_cases_for_signals(
        &mut self,
        signals: &[&heard_domain::signal::NewSignal],
        now: i64,
    ) -> Result<usize> {
        let mut opened = 0;
        for s in signals {
            let crisis = match &s.enrichment {
                Some(e) => e["urgency"]
                    .as_array()
                    .is_some_and(|u| u.iter().any(|x| x == "crisis")),
                None => s.urgent,
            };
            if !crisis {
                continue;
            }
            let org = s.org_id;
            let signal = *s.id.as_uuid();
            let exists: Option<i32> = on_tx!(self, t => sqlx::query_scalar(
                "SELECT 1 FROM case_links WHERE org_id = $1 AND kind = 'signal' AND target_id = $2")
                .bind(org.as_uuid()).bind(signal).fetch_optional(&mut **t).await)?;
            if exists.is_some() {
                continue;
            }
            let settings = self.settings(org).await?;
            let case = self
                .insert_signal_case(
                    s,
                    "Crisis language in a message: reach the person now",
                    Priority::Urgent,
                    CaseSource::Crisis,
                    None,
                    &settings,
                    now,
                )
                .await?;
            if !settings.on_call.is_empty() {
                self.enqueue(
                    NewJob::new(
                        org,
                        crate::rules::NOTIFY_KIND,
                        serde_json::json!({
                            "case": case, "response": null, "users": settings.on_call,
                            "rule": null, "reason": "crisis",
                        }),
                    )
                    .dedupe_key(format!("crisis:{case}"))
                    .max_attempts(24),
                )
                .await?;
            }
            opened += 1;
        }
        Ok(opened)
    }

    /// Opens an urgent case for each of `responses` (of `org`, being stored in this transaction) with crisis
    /// language, linked to it, whatever the rules say. A response that already has its crisis case gets no second.
    pub(crate) async fn open_crisis_cases(
        &mut self,
        org: OrgId,
        responses: &[&NewResponse],
        now: i64,
    ) -> Result<usize> {
        let crisis: Vec<&&NewResponse> = responses
            .iter()
            .filter(|r| heard_domain::webhook::crisis_in(r))
            .collect();
        if crisis.is_empty() {
            return Ok(0);
        }
        let settings = self.settings(org).await?;
        let mut opened = 0;
        for r in crisis {
            let exists: Option<i32> = on_tx!(self, t => sqlx::query_scalar(
                "SELECT 1 FROM cases WHERE org_id = $1 AND response_id = $2 AND source = 'crisis'")
                .bind(org.as_uuid()).bind(r.id.as_uuid()).fetch_optional(&mut **t).await)?;
            if exists.is_some() {
                continue;
            }
            let new = NewCase {
                title: "Crisis language in a response: reach the person now".to_string(),
                priority: Priority::Urgent,
                source: CaseSource::Crisis,
                team_id: None,
                owner_id: None,
                service_id: Some(*r.service_id.as_uuid()),
                person_key: r.person_key.clone(),
                response_id: Some(*r.id.as_uuid()),
                note: None,
            };
            let case = self.insert_case(org, &new, None, &settings, now).await?;
            // The on-call staff hear of it at once, by email from the job queue.
            if !settings.on_call.is_empty() {
                self.enqueue(
                    NewJob::new(
                        org,
                        crate::rules::NOTIFY_KIND,
                        serde_json::json!({
                            "case": case, "response": r.id.as_uuid(), "users": settings.on_call,
                            "rule": null, "reason": "crisis",
                        }),
                    )
                    .dedupe_key(format!("crisis:{case}"))
                    .max_attempts(24),
                )
                .await?;
            }
            opened += 1;
        }
        Ok(opened)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_jobs_are_keyed_by_case_and_instant() {
        let org = OrgId::new();
        let c = Uuid::now_v7();
        let j = check_job(org, c, 42);
        assert_eq!(j.kind, CHECK_KIND);
        assert_eq!(j.dedupe_key.as_deref(), Some(format!("{c}:42").as_str()));
        assert_eq!(j.run_at, Some(42));
    }
}
