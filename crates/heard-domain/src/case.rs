//! Cases (issue 21, item 2): the words of a case, its statuses and priorities, the entries of its append-only
//! history, the settings an organization edits (statuses of its own, the SLA policy), and the summary of a case's
//! SLA that the store keeps beside the case so queues can sort by what is due.
//!
//! Everything here is pure. The store appends [`Change`]s and calls [`summarize`] over [`crate::sla::evaluate`]
//! after each one, in the change's transaction.
//!
//! Statuses: six built in ([`BUILT_IN_STATUSES`]: open, in progress, waiting on the customer, escalated, resolved,
//! closed) and up to [`MAX_CUSTOM_STATUSES`] an organization adds, each of a [`StatusKind`]: it keeps the clock
//! running, pauses it ("waiting on the customer" does; osTicket #3034), or ends the case ("resolved", "closed").
//! The SLA policy's pausing and ending statuses are made from these kinds ([`CaseSettings::sla_policy_spec`]), so
//! a status and its effect on the clock cannot disagree.

use serde::{Deserialize, Serialize};

use crate::sla::{SlaPolicySpec, SlaState, TargetState, TargetStatus};
use crate::{FieldError, FieldErrors};

/// The most statuses an organization may add to the built-in six.
pub const MAX_CUSTOM_STATUSES: usize = 20;
/// The longest title, note or public update, in characters.
pub const MAX_TITLE_CHARS: usize = 200;
pub const MAX_BODY_CHARS: usize = 10_000;
pub const MAX_ROOT_CAUSE_CHARS: usize = 500;

/// What a status does to the SLA clocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StatusKind {
    /// The case is being worked or waits on staff: clocks run.
    Active,
    /// The case waits on someone else (the customer, another agency): clocks stop until it leaves this status.
    Pauses,
    /// The case is over: clocks stop; leaving the status reopens it.
    Ends,
}

impl StatusKind {
    pub fn key(self) -> &'static str {
        match self {
            StatusKind::Active => "active",
            StatusKind::Pauses => "pauses",
            StatusKind::Ends => "ends",
        }
    }
    pub fn parse(s: &str) -> Option<StatusKind> {
        match s {
            "active" => Some(StatusKind::Active),
            "pauses" => Some(StatusKind::Pauses),
            "ends" => Some(StatusKind::Ends),
            _ => None,
        }
    }
}

/// One status: its key (lower-case letters, digits and `_`), its name for people, and its kind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseStatus {
    pub key: String,
    pub label: String,
    pub kind: StatusKind,
}

/// The built-in statuses, in the order a case usually moves through them: `(key, label, kind)`.
pub const BUILT_IN_STATUSES: [(&str, &str, StatusKind); 6] = [
    ("open", "Open", StatusKind::Active),
    ("in_progress", "In progress", StatusKind::Active),
    (
        "waiting_on_customer",
        "Waiting on the customer",
        StatusKind::Pauses,
    ),
    ("escalated", "Escalated", StatusKind::Active),
    ("resolved", "Resolved", StatusKind::Ends),
    ("closed", "Closed", StatusKind::Ends),
];

/// The status a new case has.
pub const OPENING_STATUS: &str = "open";
/// The status time-based escalation moves an active case to.
pub const ESCALATED_STATUS: &str = "escalated";
/// The status closing a case moves it to.
pub const CLOSED_STATUS: &str = "closed";

/// How urgent a case is. Crisis language always opens an `Urgent` one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    Urgent,
    High,
    Normal,
    Low,
}

impl Priority {
    pub const ALL: [Priority; 4] = [
        Priority::Urgent,
        Priority::High,
        Priority::Normal,
        Priority::Low,
    ];
    pub fn key(self) -> &'static str {
        match self {
            Priority::Urgent => "urgent",
            Priority::High => "high",
            Priority::Normal => "normal",
            Priority::Low => "low",
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            Priority::Urgent => "Urgent",
            Priority::High => "High",
            Priority::Normal => "Normal",
            Priority::Low => "Low",
        }
    }
    /// Reads a key; an unknown one is a `priority` error.
    pub fn parse(s: &str) -> Result<Priority, FieldError> {
        Priority::ALL
            .into_iter()
            .find(|p| p.key() == s.trim())
            .ok_or_else(|| {
                FieldError::new(
                    "priority",
                    "unknown_priority",
                    "Choose urgent, high, normal or low",
                )
            })
    }
}

/// What a case was opened from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaseSource {
    /// A member of staff opened it.
    Staff,
    /// Crisis language in a response opened it, whatever the rules say.
    Crisis,
    /// A rule opened it.
    Rule,
}

impl CaseSource {
    pub fn key(self) -> &'static str {
        match self {
            CaseSource::Staff => "staff",
            CaseSource::Crisis => "crisis",
            CaseSource::Rule => "rule",
        }
    }
    pub fn parse(s: &str) -> Option<CaseSource> {
        match s {
            "staff" => Some(CaseSource::Staff),
            "crisis" => Some(CaseSource::Crisis),
            "rule" => Some(CaseSource::Rule),
            _ => None,
        }
    }
}

/// What a case may be linked to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkKind {
    Response,
    Signal,
    Event,
}

impl LinkKind {
    pub fn key(self) -> &'static str {
        match self {
            LinkKind::Response => "response",
            LinkKind::Signal => "signal",
            LinkKind::Event => "event",
        }
    }
    pub fn parse(s: &str) -> Option<LinkKind> {
        match s {
            "response" => Some(LinkKind::Response),
            "signal" => Some(LinkKind::Signal),
            "event" => Some(LinkKind::Event),
            _ => None,
        }
    }
}

/// One entry of a case's history, as stored: a kind, a short value and an optional text. Entries are only ever
/// appended; the case's current fields are a summary of them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Change {
    /// The case was opened in `status` with `priority`.
    Opened {
        status: String,
        priority: Priority,
    },
    /// The status changed (leaving an ending status reopens the case).
    Status {
        status: String,
    },
    /// The owner changed (a user id, or none).
    Owner {
        owner: Option<String>,
    },
    /// The team changed (a team id, or none).
    Team {
        team: Option<String>,
    },
    Priority {
        priority: Priority,
    },
    /// A note for staff only.
    Note {
        body: String,
    },
    /// A reply or update the person sees: what the first-response and next-update targets count.
    PublicUpdate {
        body: String,
    },
    /// Information the person added from their status page.
    FromPerson {
        body: String,
    },
    /// A response, signal or event was linked.
    Linked {
        link: LinkKind,
        id: String,
    },
    /// On closing: the root cause and whether the person's issue was resolved.
    Outcome {
        root_cause: String,
        resolved: bool,
    },
    /// An escalation step of a target was reached (`level` counts from 1).
    Escalated {
        target: String,
        level: usize,
    },
    /// The organization's SLA policy changed and this case's deadlines were computed again.
    SlaRecomputed,
}

impl Change {
    /// The stored form: `(kind, value, body)`.
    pub fn to_row(&self) -> (&'static str, Option<String>, Option<String>) {
        match self {
            Change::Opened { status, priority } => (
                "opened",
                Some(status.clone()),
                Some(priority.key().to_string()),
            ),
            Change::Status { status } => ("status", Some(status.clone()), None),
            Change::Owner { owner } => ("owner", owner.clone(), None),
            Change::Team { team } => ("team", team.clone(), None),
            Change::Priority { priority } => ("priority", Some(priority.key().to_string()), None),
            Change::Note { body } => ("note", None, Some(body.clone())),
            Change::PublicUpdate { body } => ("public_update", None, Some(body.clone())),
            Change::FromPerson { body } => ("from_person", None, Some(body.clone())),
            Change::Linked { link, id } => {
                ("linked", Some(id.clone()), Some(link.key().to_string()))
            }
            Change::Outcome {
                root_cause,
                resolved,
            } => (
                "outcome",
                Some(
                    if *resolved {
                        "resolved"
                    } else {
                        "not_resolved"
                    }
                    .to_string(),
                ),
                Some(root_cause.clone()),
            ),
            Change::Escalated { target, level } => {
                ("escalated", Some(level.to_string()), Some(target.clone()))
            }
            Change::SlaRecomputed => ("sla_recomputed", None, None),
        }
    }

    /// Reads the stored form back; `None` for a row this build does not know.
    pub fn from_row(kind: &str, value: Option<&str>, body: Option<&str>) -> Option<Change> {
        let v = || value.map(str::to_string);
        let b = || body.unwrap_or_default().to_string();
        Some(match kind {
            "opened" => Change::Opened {
                status: v()?,
                priority: Priority::parse(body?).ok()?,
            },
            "status" => Change::Status { status: v()? },
            "owner" => Change::Owner { owner: v() },
            "team" => Change::Team { team: v() },
            "priority" => Change::Priority {
                priority: Priority::parse(value?).ok()?,
            },
            "note" => Change::Note { body: b() },
            "public_update" => Change::PublicUpdate { body: b() },
            "from_person" => Change::FromPerson { body: b() },
            "linked" => Change::Linked {
                link: LinkKind::parse(body?)?,
                id: v()?,
            },
            "outcome" => Change::Outcome {
                root_cause: b(),
                resolved: value? == "resolved",
            },
            "escalated" => Change::Escalated {
                target: b(),
                level: value?.parse().ok()?,
            },
            "sla_recomputed" => Change::SlaRecomputed,
            _ => return None,
        })
    }

    /// What the SLA clocks care about in this change, if anything.
    pub fn sla_event(&self) -> Option<crate::sla::CaseEvent> {
        use crate::sla::CaseEvent;
        match self {
            Change::Opened { status, .. } => Some(CaseEvent::Opened {
                status: status.clone(),
            }),
            Change::Status { status } => Some(CaseEvent::StatusChanged {
                status: status.clone(),
            }),
            Change::PublicUpdate { .. } => Some(CaseEvent::PublicUpdate),
            _ => None,
        }
    }
}

/// The SLA-relevant part of a history of `(at_ms, change)`, in order, for [`crate::sla::evaluate`].
pub fn sla_history<'a>(
    history: impl IntoIterator<Item = (i64, &'a Change)>,
) -> Vec<crate::sla::CaseChange> {
    history
        .into_iter()
        .filter_map(|(at_ms, c)| {
            c.sla_event()
                .map(|event| crate::sla::CaseChange { at_ms, event })
        })
        .collect()
}

/// An organization's case settings as stored and edited: its own statuses and its SLA (calendar, targets,
/// escalations). `sla.pause_statuses` and `sla.end_statuses` are ignored on input and made from the statuses' kinds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct CaseSettings {
    #[serde(default)]
    pub custom_statuses: Vec<CaseStatus>,
    /// The SLA; none tracks no targets.
    #[serde(default)]
    pub sla: Option<SlaPolicySpec>,
    /// Members (user ids) emailed at once when crisis language opens a case.
    #[serde(default)]
    pub on_call: Vec<String>,
    /// Email a case's owner (the on-call staff when nobody owns it) when a deadline is about to be missed, is
    /// missed, or the case escalates.
    #[serde(default)]
    pub notify_deadlines: bool,
    /// When people are offered a callback.
    #[serde(default)]
    pub callbacks: crate::callback::CallbackSettings,
}

impl CaseSettings {
    /// Every status, built-in first, then the organization's own in the order it added them.
    pub fn statuses(&self) -> Vec<CaseStatus> {
        BUILT_IN_STATUSES
            .iter()
            .map(|(k, l, kind)| CaseStatus {
                key: k.to_string(),
                label: l.to_string(),
                kind: *kind,
            })
            .chain(self.custom_statuses.iter().cloned())
            .collect()
    }

    /// The status of `key`, if there is one.
    pub fn status(&self, key: &str) -> Option<CaseStatus> {
        self.statuses().into_iter().find(|s| s.key == key)
    }

    /// The SLA policy spec with its pausing and ending statuses made from the statuses' kinds.
    pub fn sla_policy_spec(&self) -> Option<SlaPolicySpec> {
        let mut spec = self.sla.clone()?;
        let all = self.statuses();
        spec.pause_statuses = all
            .iter()
            .filter(|s| s.kind == StatusKind::Pauses)
            .map(|s| s.key.clone())
            .collect();
        spec.end_statuses = Some(
            all.iter()
                .filter(|s| s.kind == StatusKind::Ends)
                .map(|s| s.key.clone())
                .collect(),
        );
        Some(spec)
    }

    /// The SLA policy for a case of `priority`: urgent cases count every hour of every day (the same targets, in
    /// the calendar's time zone, open around the clock), so a crisis opened on a Friday evening is not "on track"
    /// until Monday; other cases count the calendar's business hours. `None` when no SLA is set.
    pub fn policy_for(
        &self,
        priority: Priority,
    ) -> Result<Option<crate::sla::SlaPolicy>, FieldErrors> {
        let Some(mut spec) = self.sla_policy_spec() else {
            return Ok(None);
        };
        if priority == Priority::Urgent {
            spec.calendar = crate::sla::CalendarSpec {
                time_zone: spec.calendar.time_zone.clone(),
                always_open: true,
                hours: Default::default(),
                holidays: vec![],
            };
        }
        crate::sla::SlaPolicy::parse(&spec).map(Some)
    }

    /// Checks the settings: `custom_statuses[i].key` (empty, not lower-case letters, digits and `_`, a built-in
    /// key, or repeated), `custom_statuses[i].label` (empty or over 60 characters), `custom_statuses` (over
    /// [`MAX_CUSTOM_STATUSES`]), and the SLA policy's fields under `sla.` ([`crate::sla::SlaPolicy::parse`]).
    pub fn check(&self) -> Result<Option<crate::sla::SlaPolicy>, FieldErrors> {
        let mut errs = FieldErrors::default();
        if self.custom_statuses.len() > MAX_CUSTOM_STATUSES {
            errs.push(FieldError::new(
                "custom_statuses",
                "too_many",
                format!("At most {MAX_CUSTOM_STATUSES} statuses of your own"),
            ));
        }
        let mut seen: Vec<&str> = BUILT_IN_STATUSES.iter().map(|s| s.0).collect();
        for (i, s) in self.custom_statuses.iter().enumerate() {
            let key = s.key.as_str();
            if key.is_empty()
                || key.len() > 40
                || !key
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            {
                errs.push(FieldError::new(
                    format!("custom_statuses[{i}].key"),
                    "invalid_key",
                    "A status key is 1 to 40 lower-case letters, digits or underscores",
                ));
            } else if seen.contains(&key) {
                errs.push(FieldError::new(
                    format!("custom_statuses[{i}].key"),
                    "duplicate_key",
                    format!("There is already a status called \"{}\"", s.label.trim()),
                ));
            }
            seen.push(key);
            let label = s.label.trim();
            if label.is_empty() || label.chars().count() > 60 || label.chars().any(char::is_control)
            {
                errs.push(FieldError::new(
                    format!("custom_statuses[{i}].label"),
                    "invalid_label",
                    "A status name is 1 to 60 characters",
                ));
            }
        }
        let policy = match self.sla_policy_spec() {
            None => None,
            Some(spec) => match crate::sla::SlaPolicy::parse(&spec) {
                Ok(p) => Some(p),
                Err(es) => {
                    for e in es.0 {
                        errs.push(FieldError::new(
                            format!("sla.{}", e.field),
                            e.code,
                            e.message,
                        ));
                    }
                    None
                }
            },
        };
        errs.into_result(policy)
    }
}

/// Where a case's SLA stands as a whole, worst first: what queues show and sort by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SlaFlag {
    /// A target was missed.
    Breached,
    /// A running target is past its warning share.
    AtRisk,
    /// Clocks are running, none at risk.
    Running,
    /// Clocks are stopped by a pausing status.
    Paused,
    /// Every tracked target was met or stopped, or the case ended.
    Done,
    /// No SLA is tracked.
    None,
}

impl SlaFlag {
    pub fn key(self) -> &'static str {
        match self {
            SlaFlag::Breached => "breached",
            SlaFlag::AtRisk => "at_risk",
            SlaFlag::Running => "running",
            SlaFlag::Paused => "paused",
            SlaFlag::Done => "done",
            SlaFlag::None => "none",
        }
    }
    pub fn parse(s: &str) -> SlaFlag {
        match s {
            "breached" => SlaFlag::Breached,
            "at_risk" => SlaFlag::AtRisk,
            "running" => SlaFlag::Running,
            "paused" => SlaFlag::Paused,
            "done" => SlaFlag::Done,
            _ => SlaFlag::None,
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            SlaFlag::Breached => "Breached",
            SlaFlag::AtRisk => "At risk",
            SlaFlag::Running => "On track",
            SlaFlag::Paused => "Paused",
            SlaFlag::Done => "Met or ended",
            SlaFlag::None => "No SLA",
        }
    }
}

/// What the store keeps beside a case: the worst flag, the earliest deadline still ahead of an open target (for
/// "due soon"), the highest escalation level reached, and when the case must next be looked at by the escalation
/// job (the next warning, deadline or escalation instant of a running clock; none while paused or ended).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SlaSummary {
    pub flag: SlaFlag,
    pub due_at_ms: Option<i64>,
    pub escalation_level: usize,
    pub next_check_ms: Option<i64>,
}

/// The named targets of a state: `("first_response", ..)`, `("next_update", ..)`, `("resolution", ..)`.
pub fn targets(state: &SlaState) -> Vec<(&'static str, &TargetState)> {
    [
        ("first_response", state.first_response.as_ref()),
        ("next_update", state.next_update.as_ref()),
        ("resolution", state.resolution.as_ref()),
    ]
    .into_iter()
    .filter_map(|(k, t)| t.map(|t| (k, t)))
    .collect()
}

/// A target's name for people.
pub fn target_label(key: &str) -> &'static str {
    match key {
        "first_response" => "First response",
        "next_update" => "Next update",
        "resolution" => "Resolution",
        _ => "Target",
    }
}

/// Summarizes an evaluated SLA at `now` (epoch ms). With no state (no SLA), the flag is [`SlaFlag::None`].
pub fn summarize(state: Option<&SlaState>, now: i64) -> SlaSummary {
    let Some(state) = state else {
        return SlaSummary {
            flag: SlaFlag::None,
            due_at_ms: None,
            escalation_level: 0,
            next_check_ms: None,
        };
    };
    let ts = targets(state);
    let mut flag = if state.ended {
        SlaFlag::Done
    } else if state.paused {
        SlaFlag::Paused
    } else {
        SlaFlag::Done
    };
    let mut due: Option<i64> = None;
    let mut next: Option<i64> = None;
    let mut level = 0;
    let later = |at: Option<i64>, next: &mut Option<i64>| {
        if let Some(at) = at.filter(|a| *a > now) {
            *next = Some(next.map_or(at, |n: i64| n.min(at)));
        }
    };
    for (_, t) in &ts {
        level = level.max(t.escalation_level);
        let f = match t.status {
            TargetStatus::Breached => SlaFlag::Breached,
            TargetStatus::AtRisk => SlaFlag::AtRisk,
            TargetStatus::Running => SlaFlag::Running,
            TargetStatus::Paused => SlaFlag::Paused,
            TargetStatus::NotStarted | TargetStatus::Stopped | TargetStatus::Met => SlaFlag::Done,
        };
        flag = flag.min(f);
        // A paused clock's deadline is only a projection: it moves while the case waits, so it is not "due".
        if matches!(t.status, TargetStatus::Running | TargetStatus::AtRisk)
            && !state.paused
            && let Some(d) = t.deadline_ms
        {
            due = Some(due.map_or(d, |x| x.min(d)));
        }
        if !state.paused && !state.ended {
            later(t.warn_at_ms, &mut next);
            later(t.deadline_ms, &mut next);
            later(t.next_escalation_ms, &mut next);
        }
    }
    if ts.is_empty() {
        flag = SlaFlag::None;
    }
    SlaSummary {
        flag,
        due_at_ms: due,
        escalation_level: level,
        next_check_ms: next,
    }
}

/// The alphabet of status codes: Crockford's base 32 (digits and letters without I, L, O and U, which are read
/// as 1, 1, 0 and V), so a code read aloud on the phone is not misheard.
pub const CODE_ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// A status code from 5 random bytes (40 bits): eight characters of [`CODE_ALPHABET`] written `XXXX-XXXX`.
pub fn status_code(random: [u8; 5]) -> String {
    let mut n = random
        .iter()
        .fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
    let mut chars = [0u8; 8];
    for c in chars.iter_mut().rev() {
        *c = CODE_ALPHABET[(n & 31) as usize];
        n >>= 5;
    }
    let s = String::from_utf8_lossy(&chars).into_owned();
    format!("{}-{}", &s[..4], &s[4..])
}

/// A status code as a person may type it (any case, spaces or dashes anywhere, I and L for 1, O for 0, U for V) in
/// its stored form `XXXX-XXXX`; `None` when it cannot be one.
pub fn normalize_status_code(typed: &str) -> Option<String> {
    let mut out = String::with_capacity(9);
    for c in typed.chars() {
        let c = match c.to_ascii_uppercase() {
            ' ' | '-' | '\t' => continue,
            'I' | 'L' => '1',
            'O' => '0',
            'U' => 'V',
            c => c,
        };
        if !c.is_ascii() || !CODE_ALPHABET.contains(&(c as u8)) {
            return None;
        }
        out.push(c);
        if out.len() > 8 {
            return None;
        }
    }
    (out.len() == 8).then(|| format!("{}-{}", &out[..4], &out[4..]))
}

/// Checks a title: 1 to [`MAX_TITLE_CHARS`] characters, no control characters.
pub fn check_title(title: &str) -> Result<String, FieldError> {
    let t = title.trim();
    if t.is_empty() {
        return Err(FieldError::new(
            "title",
            "required",
            "Give the case a title",
        ));
    }
    if t.chars().count() > MAX_TITLE_CHARS || t.chars().any(char::is_control) {
        return Err(FieldError::new(
            "title",
            "invalid_title",
            format!("A title is at most {MAX_TITLE_CHARS} characters on one line"),
        ));
    }
    Ok(t.to_string())
}

/// Checks a note or public update in `field`: not empty, at most [`MAX_BODY_CHARS`] characters.
pub fn check_body(field: &str, body: &str) -> Result<String, FieldError> {
    let t = body.trim();
    if t.is_empty() {
        return Err(FieldError::new(field, "required", "Write something first"));
    }
    if t.chars().count() > MAX_BODY_CHARS {
        return Err(FieldError::new(
            field,
            "too_long",
            format!("At most {MAX_BODY_CHARS} characters"),
        ));
    }
    Ok(t.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sla::{CalendarSpec, SlaPolicy, evaluate};

    fn settings() -> CaseSettings {
        CaseSettings {
            custom_statuses: vec![CaseStatus {
                key: "waiting_on_agency".into(),
                label: "Waiting on another agency".into(),
                kind: StatusKind::Pauses,
            }],
            on_call: vec![],
            notify_deadlines: false,
            callbacks: Default::default(),
            sla: Some(SlaPolicySpec {
                calendar: CalendarSpec {
                    always_open: true,
                    time_zone: "UTC".into(),
                    ..Default::default()
                },
                first_response_minutes: Some(60),
                next_update_minutes: None,
                resolution_minutes: Some(600),
                pause_statuses: vec!["ignored".into()],
                end_statuses: None,
                warn_percent: None,
                escalations: vec![],
            }),
        }
    }

    #[test]
    fn statuses_kinds_make_the_policy() {
        let s = settings();
        let spec = s.sla_policy_spec().unwrap();
        assert_eq!(
            spec.pause_statuses,
            ["waiting_on_customer", "waiting_on_agency"]
        );
        assert_eq!(spec.end_statuses.unwrap(), ["resolved", "closed"]);
        assert!(s.check().unwrap().is_some());
    }

    #[test]
    fn bad_settings_name_their_fields() {
        let mut s = settings();
        s.custom_statuses.push(CaseStatus {
            key: "open".into(),
            label: "".into(),
            kind: StatusKind::Active,
        });
        s.custom_statuses.push(CaseStatus {
            key: "Bad Key".into(),
            label: "x".into(),
            kind: StatusKind::Active,
        });
        s.sla.as_mut().unwrap().first_response_minutes = Some(0);
        let errs = s.check().unwrap_err();
        let fields: Vec<_> = errs.0.iter().map(|e| e.field.as_str()).collect();
        assert!(fields.contains(&"custom_statuses[1].key"), "{fields:?}");
        assert!(fields.contains(&"custom_statuses[1].label"), "{fields:?}");
        assert!(fields.contains(&"custom_statuses[2].key"), "{fields:?}");
        assert!(
            fields.iter().any(|f| f.starts_with("sla.first_response")),
            "{fields:?}"
        );
    }

    #[test]
    fn changes_round_trip_through_rows() {
        let all = [
            Change::Opened {
                status: "open".into(),
                priority: Priority::Urgent,
            },
            Change::Status {
                status: "closed".into(),
            },
            Change::Owner { owner: None },
            Change::Owner {
                owner: Some("u1".into()),
            },
            Change::Team {
                team: Some("t".into()),
            },
            Change::Priority {
                priority: Priority::Low,
            },
            Change::Note { body: "n".into() },
            Change::PublicUpdate { body: "p".into() },
            Change::FromPerson { body: "f".into() },
            Change::Linked {
                link: LinkKind::Signal,
                id: "s".into(),
            },
            Change::Outcome {
                root_cause: "letter".into(),
                resolved: false,
            },
            Change::Escalated {
                target: "resolution".into(),
                level: 2,
            },
            Change::SlaRecomputed,
        ];
        for c in all {
            let (k, v, b) = c.to_row();
            assert_eq!(
                Change::from_row(k, v.as_deref(), b.as_deref()),
                Some(c.clone()),
                "{k}"
            );
        }
        assert_eq!(Change::from_row("future_kind", None, None), None);
    }

    #[test]
    fn summary_flags_the_worst_target_and_the_next_check() {
        let s = settings();
        let policy = SlaPolicy::parse(&s.sla_policy_spec().unwrap()).unwrap();
        let h = [
            (
                0,
                Change::Opened {
                    status: "open".into(),
                    priority: Priority::Normal,
                },
            ),
            (1_000, Change::Note { body: "x".into() }),
        ];
        let hist = sla_history(h.iter().map(|(t, c)| (*t, c)));
        assert_eq!(hist.len(), 1);
        // 50 minutes in: first response (60) is at risk (80% = 48), resolution (600) running.
        let now = 50 * 60_000;
        let st = evaluate(&policy, &hist, now).unwrap();
        let sum = summarize(Some(&st), now);
        assert_eq!(sum.flag, SlaFlag::AtRisk);
        assert_eq!(sum.due_at_ms, Some(60 * 60_000));
        assert_eq!(sum.next_check_ms, Some(60 * 60_000));
        // 70 minutes in: breached.
        let now = 70 * 60_000;
        let st = evaluate(&policy, &hist, now).unwrap();
        let sum = summarize(Some(&st), now);
        assert_eq!(sum.flag, SlaFlag::Breached);
        assert_eq!(sum.due_at_ms, Some(600 * 60_000));
        // Paused: no next check, flag keeps the breach.
        let mut h2 = hist.clone();
        h2.push(crate::sla::CaseChange {
            at_ms: now,
            event: crate::sla::CaseEvent::StatusChanged {
                status: "waiting_on_agency".into(),
            },
        });
        let st = evaluate(&policy, &h2, now + 1).unwrap();
        let sum = summarize(Some(&st), now + 1);
        assert_eq!(sum.flag, SlaFlag::Breached);
        assert_eq!(sum.next_check_ms, None);
        assert_eq!(summarize(None, 0).flag, SlaFlag::None);
    }

    #[test]
    fn status_codes_are_read_back_as_typed() {
        let c = status_code([0xff, 0, 0x12, 0x34, 0x56]);
        assert_eq!(c.len(), 9);
        assert_eq!(status_code([0; 5]), "0000-0000");
        assert_eq!(status_code([0xff; 5]), "ZZZZ-ZZZZ");
        assert_eq!(
            normalize_status_code(&c.to_lowercase().replace('-', " ")),
            Some(c.clone())
        );
        assert_eq!(normalize_status_code("oooo-iiii"), Some("0000-1111".into()));
        assert_eq!(normalize_status_code("uuuu llll"), Some("VVVV-1111".into()));
        assert_eq!(normalize_status_code("ABC"), None);
        assert_eq!(normalize_status_code("ABCD-EFGH-J"), None);
        assert_eq!(normalize_status_code("ABCD-EFG!"), None);
    }

    #[test]
    fn titles_and_bodies_are_checked() {
        assert_eq!(check_title("  Refund late ").unwrap(), "Refund late");
        assert_eq!(check_title(" ").unwrap_err().field, "title");
        assert_eq!(
            check_title(&"x".repeat(201)).unwrap_err().code,
            "invalid_title"
        );
        assert_eq!(check_body("note", "").unwrap_err().field, "note");
        assert_eq!(Priority::parse("urgent").unwrap(), Priority::Urgent);
        assert_eq!(Priority::parse("p0").unwrap_err().field, "priority");
    }
}
