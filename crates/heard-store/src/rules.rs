//! Rules (issue 21, item 1): stored rule specs (migration 0040), their matches, the dry run over the last 30 days,
//! and [`StoreTx::apply_rules`], which the response writer calls in the responses' own commit so a match's case,
//! email job and webhook event exist exactly when the response does.
//!
//! A rule is created off; turning it on clears any reason it was turned off for. A rule whose action fails for good
//! (its emails cannot be sent) is turned off by [`Store::disable_rule`] with the reason, which the admin shows.

use heard_domain::case::{CaseSource, LinkKind};
use heard_domain::response::NewResponse;
use heard_domain::rules::{
    AppliesTo, DRY_RUN_MS, FRESH_MS, Facts, RuleSpec, Similar, matches, matches_event,
};
use heard_domain::webhook::{EventType, RuleSubject, rule_event};
use heard_domain::{FieldError, FieldErrors, OrgId};
use uuid::Uuid;

use crate::cases::NewCase;
use crate::jobs::{NewJob, StoreTx, on_tx};
use crate::webhooks::WebhookTx;
use crate::{Result, Store, StoreError, on_pool};

/// The job kind that emails staff about a case or a rule's match: payload `{"case": id or null, "response": id,
/// "users": [ids], "rule": id or null, "reason": "crisis" | "rule"}`.
pub const NOTIFY_KIND: &str = "staff.notify";

/// A rule as stored.
#[derive(Debug, Clone)]
pub struct Rule {
    pub id: Uuid,
    pub spec: RuleSpec,
    pub enabled: bool,
    /// Why it was turned off by Heard (an action that failed for good).
    pub disabled_reason: Option<String>,
    /// Responses it matched while on.
    pub matched: i64,
    pub last_matched_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(sqlx::FromRow)]
struct RuleRow {
    id: Uuid,
    spec: String,
    enabled: bool,
    disabled_reason: Option<String>,
    matched: i64,
    last_matched_at: Option<i64>,
    created_at: i64,
    updated_at: i64,
}

impl RuleRow {
    fn rule(self) -> Result<Rule> {
        Ok(Rule {
            id: self.id,
            spec: serde_json::from_str(&self.spec)
                .map_err(|e| StoreError::Corrupt(format!("rule {}: {e}", self.id)))?,
            enabled: self.enabled,
            disabled_reason: self.disabled_reason,
            matched: self.matched,
            last_matched_at: self.last_matched_at,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

const RULE_COLUMNS: &str =
    "id, spec, enabled, disabled_reason, matched, last_matched_at, created_at, updated_at";

/// What a rule would have done over the last 30 days (all zero for a rule on cases, which cannot be replayed).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DryRun {
    /// Responses (or, for a signal rule, signals) read.
    pub responses: u64,
    /// Responses the rule matches.
    pub matched: u64,
    /// Cases it would have opened (matches without a case already, when it opens cases).
    pub cases: u64,
}

fn facts_of<'a>(
    r: &'a crate::records::StoredResponse,
    service: &'a str,
    touchpoint: Option<&'a str>,
) -> Facts<'a> {
    Facts {
        trust_positive: r.trust_positive,
        trust: r.trust,
        language: &r.language,
        sentiment: r.sentiment.as_deref(),
        themes: &r.themes,
        enrichment: r.enrichment.as_ref(),
        answers: &r.answers,
        service_id: service,
        touchpoint_id: touchpoint,
        channel: &r.channel,
        urgent: r.urgent,
        text: None,
    }
}

impl Store {
    /// Checks the ids a rule names against the organization: its service, touchpoint, team and members.
    async fn check_rule_ids(&self, org: OrgId, spec: &RuleSpec, this: Option<Uuid>) -> Result<()> {
        spec.check().map_err(StoreError::Invalid)?;
        let mut errs = FieldErrors::default();
        let same_name: Option<Uuid> = on_pool!(self, p => sqlx::query_scalar(
            "SELECT id FROM rules WHERE org_id = $1 AND LOWER(name) = LOWER($2) LIMIT 1")
            .bind(org.as_uuid()).bind(spec.name.trim()).fetch_optional(p).await)?;
        if same_name.is_some_and(|id| Some(id) != this) {
            errs.push(FieldError::new(
                "name",
                "duplicate_name",
                "There is already a rule with this name",
            ));
        }
        let c = &spec.conditions;
        let id_in = |table: &'static str, id: &str| {
            let table = table.to_string();
            let id = id.to_string();
            async move {
                let Ok(u) = id.parse::<Uuid>() else {
                    return Ok::<bool, StoreError>(false);
                };
                let sql = format!("SELECT 1 FROM {table} WHERE org_id = $1 AND id = $2");
                let found: Option<i32> = on_pool!(self, p => sqlx::query_scalar(&sql)
                    .bind(org.as_uuid()).bind(u).fetch_optional(p).await)?;
                Ok(found.is_some())
            }
        };
        if let Some(s) = &c.service_id
            && !id_in("services", s).await?
        {
            errs.push(FieldError::new(
                "service_id",
                "unknown_service",
                "Choose one of the services listed",
            ));
        }
        if let Some(t) = &c.touchpoint_id
            && !id_in("touchpoints", t).await?
        {
            errs.push(FieldError::new(
                "touchpoint_id",
                "unknown_touchpoint",
                "Choose one of the touchpoints listed",
            ));
        }
        if let (Some(sv), Some(tp)) = (&c.service_id, &c.touchpoint_id)
            && let (Ok(sv), Ok(tp)) = (sv.parse::<Uuid>(), tp.parse::<Uuid>())
        {
            let of: Option<Uuid> = on_pool!(self, p => sqlx::query_scalar(
                "SELECT service_id FROM touchpoints WHERE org_id = $1 AND id = $2")
                .bind(org.as_uuid()).bind(tp).fetch_optional(p).await)?;
            if of.is_some_and(|s| s != sv) {
                errs.push(FieldError::new(
                    "touchpoint_id",
                    "touchpoint_of_another_service",
                    "This touchpoint belongs to another service, so the rule could never match; choose one of the \
                     service's touchpoints, or any",
                ));
            }
        }
        if let Some(team) = spec
            .actions
            .open_case
            .as_ref()
            .and_then(|o| o.team_id.as_ref())
            && !id_in("case_teams", team).await?
        {
            errs.push(FieldError::new(
                "team_id",
                "unknown_team",
                "Choose one of the teams listed",
            ));
        }
        if let Some(m) = &c.measure {
            let types = self.event_types(org).await?;
            let has =
                |t: &heard_domain::event::EventType| t.measures.iter().any(|d| d.name == m.name);
            let ok = if c.event_types.is_empty() {
                types.iter().any(has)
            } else {
                types
                    .iter()
                    .filter(|t| c.event_types.contains(&t.name))
                    .any(has)
            };
            if !ok {
                errs.push(FieldError::new(
                    "measure",
                    "unknown_measure",
                    "None of the chosen event types has this measure, so the rule could never match",
                ));
            }
        }
        if let Some(team) = &spec.actions.assign_team
            && !id_in("case_teams", team).await?
        {
            errs.push(FieldError::new(
                "assign_team",
                "unknown_team",
                "Choose one of the teams listed",
            ));
        }
        for u in &spec.actions.notify {
            let ok = match u.parse::<Uuid>() {
                Ok(u) => {
                    let found: Option<i32> = on_pool!(self, p => sqlx::query_scalar(
                        "SELECT 1 FROM memberships WHERE org_id = $1 AND user_id = $2 \
                         AND role IN ('analyst', 'admin')")
                        .bind(org.as_uuid()).bind(u).fetch_optional(p).await)?;
                    found.is_some()
                }
                Err(_) => false,
            };
            if !ok {
                errs.push(FieldError::new(
                    "notify",
                    "unknown_member",
                    "Choose members of this organization",
                ));
                break;
            }
        }
        errs.into_result(()).map_err(StoreError::Invalid)
    }

    /// The organization's rules, by name.
    pub async fn rules(&self, org: OrgId) -> Result<Vec<Rule>> {
        let sql = format!("SELECT {RULE_COLUMNS} FROM rules WHERE org_id = $1 ORDER BY name, id");
        let rows: Vec<RuleRow> =
            on_pool!(self, p => sqlx::query_as(&sql).bind(org.as_uuid()).fetch_all(p).await)?;
        rows.into_iter().map(RuleRow::rule).collect()
    }

    pub async fn rule(&self, org: OrgId, id: Uuid) -> Result<Rule> {
        let sql = format!("SELECT {RULE_COLUMNS} FROM rules WHERE org_id = $1 AND id = $2");
        let row: Option<RuleRow> = on_pool!(self, p => sqlx::query_as(&sql)
            .bind(org.as_uuid()).bind(id).fetch_optional(p).await)?;
        row.ok_or(StoreError::NotFound)?.rule()
    }

    /// Saves a new rule, off, after checking it (`StoreError::Invalid` names each bad field).
    pub async fn create_rule(&self, org: OrgId, spec: &RuleSpec) -> Result<Uuid> {
        self.check_rule_ids(org, spec, None).await?;
        let id = Uuid::now_v7();
        let now = crate::now_ms();
        let json = serde_json::to_string(spec).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        on_pool!(self, p => sqlx::query(
            "INSERT INTO rules (org_id, id, name, spec, enabled, matched, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, FALSE, 0, $5, $5)")
            .bind(org.as_uuid()).bind(id).bind(spec.name.trim()).bind(&json).bind(now)
            .execute(p).await.map(|_| ()))?;
        Ok(id)
    }

    /// Replaces a rule's conditions and actions, checked; whether it is on does not change.
    pub async fn update_rule(&self, org: OrgId, id: Uuid, spec: &RuleSpec) -> Result<()> {
        self.check_rule_ids(org, spec, Some(id)).await?;
        let json = serde_json::to_string(spec).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let n = on_pool!(self, p => sqlx::query(
            "UPDATE rules SET name = $3, spec = $4, updated_at = $5 WHERE org_id = $1 AND id = $2")
            .bind(org.as_uuid()).bind(id).bind(spec.name.trim()).bind(&json).bind(crate::now_ms())
            .execute(p).await.map(|r| r.rows_affected()))?;
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    /// Turns a rule on (clearing the reason it was turned off for) or off.
    pub async fn set_rule_enabled(&self, org: OrgId, id: Uuid, enabled: bool) -> Result<()> {
        let n = on_pool!(self, p => sqlx::query(
            "UPDATE rules SET enabled = $3, disabled_reason = NULL, updated_at = $4 WHERE org_id = $1 AND id = $2")
            .bind(org.as_uuid()).bind(id).bind(enabled).bind(crate::now_ms())
            .execute(p).await.map(|r| r.rows_affected()))?;
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    /// Turns a rule off because an action failed for good, keeping the reason (causes and ids, no personal data).
    pub async fn disable_rule(&self, org: OrgId, id: Uuid, reason: &str) -> Result<()> {
        let reason: String = reason.chars().take(500).collect();
        on_pool!(self, p => sqlx::query(
            "UPDATE rules SET enabled = FALSE, disabled_reason = $3, updated_at = $4 WHERE org_id = $1 AND id = $2")
            .bind(org.as_uuid()).bind(id).bind(&reason).bind(crate::now_ms())
            .execute(p).await.map(|_| ()))?;
        Ok(())
    }

    /// What `spec` would have done over the responses of the last 30 days before `now`: read page by page (1,000
    /// at a time), each judged by the same [`matches`] as live rules.
    pub async fn dry_run_rule(&self, org: OrgId, spec: &RuleSpec, now: i64) -> Result<DryRun> {
        match spec.applies_to {
            AppliesTo::Responses => {}
            AppliesTo::Signals => return self.dry_run_signals(org, spec, now).await,
            AppliesTo::Events => return self.dry_run_events(org, spec, now).await,
            // A case rule acts when a deadline comes close: the past holds no such moments to replay.
            AppliesTo::Cases => return Ok(DryRun::default()),
        }
        let filter = crate::responses::ResponseFilter {
            from_ms: Some(now - DRY_RUN_MS),
            to_ms: Some(now + 1),
            ..Default::default()
        };
        let mut out = DryRun::default();
        let mut cursor = None;
        loop {
            let page = self
                .responses_page(
                    org,
                    &filter,
                    cursor,
                    crate::responses::Order::OldestFirst,
                    1_000,
                )
                .await?;
            let Some(last) = page.last() else {
                break;
            };
            cursor = Some(crate::responses::Cursor {
                submitted_at: last.submitted_at,
                id: last.id,
            });
            let mut matched_ids = vec![];
            for r in &page {
                out.responses += 1;
                let service = r.service_id.to_string();
                let touchpoint = r.touchpoint_id.map(|t| t.to_string());
                if matches(
                    &spec.conditions,
                    &facts_of(r, &service, touchpoint.as_deref()),
                ) {
                    out.matched += 1;
                    matched_ids.push(*r.id.as_uuid());
                }
            }
            if spec.actions.open_case.is_some() {
                for id in matched_ids {
                    if self
                        .cases_linked_to(org, LinkKind::Response, id)
                        .await?
                        .iter()
                        .all(|c| c.ended)
                    {
                        out.cases += 1;
                    }
                }
            }
            if page.len() < 1_000 {
                break;
            }
        }
        Ok(out)
    }

    /// The dry run of a signal rule: the signals that arrived (by `occurred_at`) in the last 30 days, a thousand at a
    /// time. A `similar` condition is not replayed (each signal is counted as if it were the burst's).
    async fn dry_run_signals(&self, org: OrgId, spec: &RuleSpec, now: i64) -> Result<DryRun> {
        #[derive(sqlx::FromRow)]
        struct Row {
            id: Uuid,
            service_id: Option<Uuid>,
            touchpoint_id: Option<Uuid>,
            text: String,
            language: String,
            enrichment: Option<String>,
            sentiment: Option<String>,
            themes: Option<String>,
            urgent: bool,
            occurred_at: i64,
        }
        let mut out = DryRun::default();
        let (mut after_at, mut after_id) = (now - DRY_RUN_MS, Uuid::nil());
        let answers = heard_domain::response::Answers::new();
        loop {
            let page: Vec<Row> = on_pool!(self, p => sqlx::query_as(
                "SELECT id, service_id, touchpoint_id, text, language, enrichment, sentiment, themes, urgent, occurred_at \
                 FROM signals WHERE org_id = $1 AND occurred_at <= $2 \
                 AND (occurred_at > $3 OR (occurred_at = $3 AND id > $4)) ORDER BY occurred_at, id LIMIT 1000")
                .bind(org.as_uuid()).bind(now).bind(after_at).bind(after_id).fetch_all(p).await)?;
            let Some(last) = page.last() else {
                break;
            };
            (after_at, after_id) = (last.occurred_at, last.id);
            for r in &page {
                out.responses += 1;
                let themes: Vec<String> = r
                    .themes
                    .as_deref()
                    .unwrap_or_default()
                    .split(',')
                    .filter(|t| !t.is_empty())
                    .map(str::to_string)
                    .collect();
                let enrichment = r
                    .enrichment
                    .as_deref()
                    .and_then(|e| serde_json::from_str::<serde_json::Value>(e).ok())
                    .map(|e| serde_json::json!({ "text": e }));
                let service = r.service_id.map(|x| x.to_string()).unwrap_or_default();
                let touchpoint = r.touchpoint_id.map(|x| x.to_string());
                let facts = Facts {
                    trust_positive: None,
                    trust: None,
                    language: &r.language,
                    sentiment: r.sentiment.as_deref(),
                    themes: &themes,
                    enrichment: enrichment.as_ref(),
                    answers: &answers,
                    service_id: &service,
                    touchpoint_id: touchpoint.as_deref(),
                    channel: "",
                    urgent: r.urgent,
                    text: Some(&r.text),
                };
                if matches(&spec.conditions, &facts) {
                    out.matched += 1;
                    if spec.actions.open_case.is_some()
                        && self
                            .cases_linked_to(org, LinkKind::Signal, r.id)
                            .await?
                            .iter()
                            .all(|c| c.ended)
                    {
                        out.cases += 1;
                    }
                }
            }
            if page.len() < 1_000 {
                break;
            }
        }
        Ok(out)
    }

    /// The dry run of an event rule: the events of the last 30 days (by `occurred_at`), a thousand at a time; a
    /// `similar` condition is not replayed.
    async fn dry_run_events(&self, org: OrgId, spec: &RuleSpec, now: i64) -> Result<DryRun> {
        let mut out = DryRun::default();
        let (mut after_at, mut after_id) = (now - DRY_RUN_MS, Uuid::nil());
        loop {
            let page: Vec<(Uuid, String, Option<Uuid>, String, i64)> = on_pool!(self, p => sqlx::query_as(
                "SELECT id, type, service_id, measures, occurred_at FROM events WHERE org_id = $1 \
                 AND occurred_at <= $2 AND (occurred_at > $3 OR (occurred_at = $3 AND id > $4)) \
                 ORDER BY occurred_at, id LIMIT 1000")
                .bind(org.as_uuid()).bind(now).bind(after_at).bind(after_id).fetch_all(p).await)?;
            let Some(last) = page.last() else {
                break;
            };
            (after_at, after_id) = (last.4, last.0);
            for (id, event_type, service, measures, _) in &page {
                out.responses += 1;
                let measures: std::collections::BTreeMap<String, f64> =
                    serde_json::from_str(measures).unwrap_or_default();
                let service = service.map(|s| s.to_string());
                if matches_event(&spec.conditions, event_type, service.as_deref(), &measures) {
                    out.matched += 1;
                    if spec.actions.open_case.is_some()
                        && self
                            .cases_linked_to(org, LinkKind::Event, *id)
                            .await?
                            .iter()
                            .all(|c| c.ended)
                    {
                        out.cases += 1;
                    }
                }
            }
            if page.len() < 1_000 {
                break;
            }
        }
        Ok(out)
    }

    /// The responses a rule matched while on, newest first, at most `limit`: `(response id, case id, when)`.
    pub async fn rule_matches(
        &self,
        org: OrgId,
        rule: Uuid,
        limit: i64,
    ) -> Result<Vec<(Uuid, Option<Uuid>, i64)>> {
        on_pool!(self, p => sqlx::query_as(
            "SELECT response_id, case_id, matched_at FROM rule_matches WHERE org_id = $1 AND rule_id = $2 \
             ORDER BY matched_at DESC, response_id LIMIT $3")
            .bind(org.as_uuid()).bind(rule).bind(limit).fetch_all(p).await)
        .map_err(Into::into)
    }
}

impl StoreTx {
    /// Runs the organization's rules that are on over `responses` (being stored in this transaction at `now`): for
    /// each match, the match row, a case (unless one is open for the response), the email job and the webhook
    /// event, all in this transaction. Rules are read once per call.
    pub(crate) async fn apply_rules(
        &mut self,
        org: OrgId,
        responses: &[&NewResponse],
        now: i64,
    ) -> Result<usize> {
        if responses.is_empty() {
            return Ok(0);
        }
        let sql =
            format!("SELECT {RULE_COLUMNS} FROM rules WHERE org_id = $1 AND enabled ORDER BY id");
        let rows: Vec<RuleRow> = on_tx!(self, t => sqlx::query_as(&sql)
            .bind(org.as_uuid()).fetch_all(&mut **t).await)?;
        if rows.is_empty() {
            return Ok(0);
        }
        let rules: Vec<Rule> = rows.into_iter().map(RuleRow::rule).collect::<Result<_>>()?;
        let settings = self.case_settings_tx(org).await?;
        let mut n = 0;
        for r in responses {
            let service = r.service_id.to_string();
            let touchpoint = r.touchpoint_id.map(|t| t.to_string());
            let facts = Facts {
                trust_positive: r.trust_positive,
                trust: r.trust,
                language: r.language.as_str(),
                sentiment: r.sentiment.as_deref(),
                themes: &r.themes,
                enrichment: r.enrichment.as_ref(),
                answers: &r.answers,
                service_id: &service,
                touchpoint_id: touchpoint.as_deref(),
                channel: r.channel.key(),
                urgent: r.urgent,
                text: None,
            };
            for rule in &rules {
                if rule.spec.applies_to != AppliesTo::Responses
                    || !matches(&rule.spec.conditions, &facts)
                {
                    continue;
                }
                let response = *r.id.as_uuid();
                // A burst of similar responses fires the rule once per theme and period.
                if let Some(sim) = rule.spec.conditions.similar {
                    let Some(key) = self
                        .similar_key(org, HitKind::Response, &r.themes, sim, r.submitted_at)
                        .await?
                    else {
                        continue;
                    };
                    if !self
                        .hit(org, rule.id, HitKind::Response, &key, response, None, now)
                        .await?
                    {
                        continue;
                    }
                }
                if let Some(tag) = &rule.spec.actions.tag {
                    self.tag_item(org, HitKind::Response, response, tag, rule.id, now)
                        .await?;
                }
                let inserted = on_tx!(self, t => sqlx::query(
                    "INSERT INTO rule_matches (org_id, rule_id, response_id, matched_at) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT DO NOTHING")
                    .bind(org.as_uuid()).bind(rule.id).bind(response).bind(now)
                    .execute(&mut **t).await.map(|x| x.rows_affected()))?;
                if inserted == 0 {
                    continue;
                }
                n += 1;
                on_tx!(self, t => sqlx::query(
                    "UPDATE rules SET matched = matched + 1, last_matched_at = $3 WHERE org_id = $1 AND id = $2")
                    .bind(org.as_uuid()).bind(rule.id).bind(now).execute(&mut **t).await.map(|_| ()))?;
                let mut case_id = None;
                if let Some(open) = &rule.spec.actions.open_case {
                    let open_already: Option<i32> = on_tx!(self, t => sqlx::query_scalar(
                        "SELECT 1 FROM cases c JOIN case_links l ON l.org_id = c.org_id AND l.case_id = c.id \
                         WHERE c.org_id = $1 AND l.kind = 'response' AND l.target_id = $2 AND NOT c.ended LIMIT 1")
                        .bind(org.as_uuid()).bind(response).fetch_optional(&mut **t).await)?;
                    if open_already.is_none() {
                        let new = NewCase {
                            title: rule.spec.name.trim().to_string(),
                            priority: open.priority,
                            source: CaseSource::Rule,
                            team_id: open.team_id.as_deref().and_then(|t| t.parse().ok()),
                            owner_id: None,
                            service_id: Some(*r.service_id.as_uuid()),
                            person_key: r.person_key.clone(),
                            response_id: Some(response),
                            note: None,
                        };
                        let id = self.insert_case(org, &new, None, &settings, now).await?;
                        on_tx!(self, t => sqlx::query(
                            "UPDATE rule_matches SET case_id = $4 WHERE org_id = $1 AND rule_id = $2 AND response_id = $3")
                            .bind(org.as_uuid()).bind(rule.id).bind(response).bind(id)
                            .execute(&mut **t).await.map(|_| ()))?;
                        case_id = Some(id);
                    }
                }
                if !rule.spec.actions.notify.is_empty() {
                    self.enqueue(
                        NewJob::new(
                            org,
                            NOTIFY_KIND,
                            serde_json::json!({
                                "case": case_id, "response": response, "users": rule.spec.actions.notify,
                                "rule": rule.id, "reason": "rule",
                            }),
                        )
                        .dedupe_key(format!("rule:{}:{response}", rule.id))
                        .max_attempts(5),
                    )
                    .await?;
                }
                if rule.spec.actions.webhook {
                    let body = rule_event(
                        &org.to_string(),
                        &rule.id.to_string(),
                        rule.spec.name.trim(),
                        RuleSubject::Response(&response.to_string()),
                        Some(&service),
                        case_id.map(|c| c.to_string()).as_deref(),
                        now,
                    );
                    on_tx!(self, t => t.emit_event(org, EventType::RuleMatched, response, &body, now).await)?;
                }
            }
        }
        Ok(n)
    }
}

/// What a rule hit: the `kind` column of `rule_hits` and `item_tags`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HitKind {
    Response,
    Signal,
    Case,
    Event,
}

impl HitKind {
    pub fn key(self) -> &'static str {
        match self {
            HitKind::Response => "response",
            HitKind::Signal => "signal",
            HitKind::Case => "case",
            HitKind::Event => "event",
        }
    }
}

impl StoreTx {
    /// For a `similar` condition: the burst's key `similar:{theme}:{period}` when, for one of `themes` (in order), at
    /// least `at_least` items of `kind` (responses by `submitted_at`, signals by `occurred_at`, this one included,
    /// as it is already written in this transaction) fall in the `hours` before `at`; `None` when no theme has so
    /// many (or the item has no theme). Themes are stored as `,a,b,`.
    async fn similar_key(
        &mut self,
        org: OrgId,
        kind: HitKind,
        themes: &[String],
        sim: Similar,
        at: i64,
    ) -> Result<Option<String>> {
        let span = i64::from(sim.hours) * 3_600_000;
        let sql = match kind {
            // Events are similar when of the same type: `themes` holds the one type.
            HitKind::Event => {
                "SELECT COUNT(*) FROM events WHERE org_id = $1 AND occurred_at > $2 AND occurred_at <= $3 \
                 AND type LIKE $4"
            }
            HitKind::Signal => {
                "SELECT COUNT(*) FROM signals WHERE org_id = $1 AND occurred_at > $2 AND occurred_at <= $3                  AND themes LIKE $4"
            }
            _ => {
                "SELECT COUNT(*) FROM responses WHERE org_id = $1 AND submitted_at > $2 AND submitted_at <= $3                  AND themes LIKE $4"
            }
        };
        for t in themes {
            // Theme ids are lower-case words and underscores; `_` is LIKE's one-character wildcard, which can only
            // widen the match to another theme of the same shape, so it is escaped.
            let escaped = t.replace('_', "\\_");
            let pattern = if kind == HitKind::Event {
                escaped
            } else {
                format!("%,{escaped},%")
            };
            let sql = format!("{sql} ESCAPE '\\'");
            let n: i64 = on_tx!(self, tx => sqlx::query_scalar(&sql)
                .bind(org.as_uuid()).bind(at - span).bind(at).bind(&pattern)
                .fetch_one(&mut **tx).await)?;
            if n >= i64::from(sim.at_least) {
                return Ok(Some(format!("similar:{t}:{}", at.div_euclid(span))));
            }
        }
        Ok(None)
    }

    /// Records a rule's hit once per (rule, kind, key) and counts it on the rule; false when it was recorded before.
    #[allow(clippy::too_many_arguments)]
    async fn hit(
        &mut self,
        org: OrgId,
        rule: Uuid,
        kind: HitKind,
        key: &str,
        item: Uuid,
        case: Option<Uuid>,
        now: i64,
    ) -> Result<bool> {
        let n = on_tx!(self, t => sqlx::query(
            "INSERT INTO rule_hits (org_id, rule_id, kind, hit_key, item_id, case_id, matched_at)              VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING")
            .bind(org.as_uuid()).bind(rule).bind(kind.key()).bind(key).bind(item).bind(case).bind(now)
            .execute(&mut **t).await.map(|r| r.rows_affected()))?;
        Ok(n == 1)
    }

    async fn count_match(&mut self, org: OrgId, rule: Uuid, now: i64) -> Result<()> {
        on_tx!(self, t => sqlx::query(
            "UPDATE rules SET matched = matched + 1, last_matched_at = $3 WHERE org_id = $1 AND id = $2")
            .bind(org.as_uuid()).bind(rule).bind(now).execute(&mut **t).await.map(|_| ()))?;
        Ok(())
    }

    /// Tags a response or signal (once per tag).
    async fn tag_item(
        &mut self,
        org: OrgId,
        kind: HitKind,
        item: Uuid,
        tag: &str,
        rule: Uuid,
        now: i64,
    ) -> Result<()> {
        on_tx!(self, t => sqlx::query(
            "INSERT INTO item_tags (org_id, kind, item_id, tag, rule_id, tagged_at) VALUES ($1, $2, $3, $4, $5, $6)              ON CONFLICT DO NOTHING")
            .bind(org.as_uuid()).bind(kind.key()).bind(item).bind(tag.trim()).bind(rule).bind(now)
            .execute(&mut **t).await.map(|_| ()))?;
        Ok(())
    }

    async fn enabled_rules(&mut self, org: OrgId, applies_to: AppliesTo) -> Result<Vec<Rule>> {
        let sql =
            format!("SELECT {RULE_COLUMNS} FROM rules WHERE org_id = $1 AND enabled ORDER BY id");
        let rows: Vec<RuleRow> = on_tx!(self, t => sqlx::query_as(&sql)
            .bind(org.as_uuid()).fetch_all(&mut **t).await)?;
        Ok(rows
            .into_iter()
            .map(RuleRow::rule)
            .collect::<Result<Vec<_>>>()?
            .into_iter()
            .filter(|r| r.spec.applies_to == applies_to)
            .collect())
    }

    /// Runs the organizations' signal rules that are on over new `signals` (being stored in this transaction at
    /// `now`): for each hit (once per rule and signal, or once per burst for a `similar` rule), the tag, a case
    /// linked to the signal (unless one is open for it), the email job and the `rule.matched` event.
    pub(crate) async fn apply_signal_rules(
        &mut self,
        signals: &[&heard_domain::signal::NewSignal],
        now: i64,
    ) -> Result<usize> {
        let mut n = 0;
        let mut by_org: std::collections::BTreeMap<Uuid, Vec<Rule>> = Default::default();
        for s in signals.iter().filter(|s| s.occurred_at >= now - FRESH_MS) {
            let org = s.org_id;
            if !by_org.contains_key(org.as_uuid()) {
                let rules = self.enabled_rules(org, AppliesTo::Signals).await?;
                by_org.insert(*org.as_uuid(), rules);
            }
            let rules = by_org[org.as_uuid()].clone();
            if rules.is_empty() {
                continue;
            }
            let service = s.service_id.map(|x| x.to_string()).unwrap_or_default();
            let touchpoint = s.touchpoint_id.map(|t| t.to_string());
            // A signal's reading is one object; rules read readings per text, as a response's are.
            let enrichment = s
                .enrichment
                .as_ref()
                .map(|e| serde_json::json!({ "text": e }));
            let answers = heard_domain::response::Answers::new();
            let facts = Facts {
                trust_positive: None,
                trust: None,
                language: &s.language,
                sentiment: s.sentiment.as_deref(),
                themes: &s.themes,
                enrichment: enrichment.as_ref(),
                answers: &answers,
                service_id: &service,
                touchpoint_id: touchpoint.as_deref(),
                channel: "",
                urgent: s.urgent,
                text: Some(&s.text),
            };
            let signal = *s.id.as_uuid();
            for rule in &rules {
                if !matches(&rule.spec.conditions, &facts) {
                    continue;
                }
                let key = match rule.spec.conditions.similar {
                    Some(sim) => match self
                        .similar_key(org, HitKind::Signal, &s.themes, sim, s.occurred_at)
                        .await?
                    {
                        Some(k) => k,
                        None => continue,
                    },
                    None => signal.to_string(),
                };
                if !self
                    .hit(org, rule.id, HitKind::Signal, &key, signal, None, now)
                    .await?
                {
                    continue;
                }
                n += 1;
                self.count_match(org, rule.id, now).await?;
                if let Some(tag) = &rule.spec.actions.tag {
                    self.tag_item(org, HitKind::Signal, signal, tag, rule.id, now)
                        .await?;
                }
                let mut case_id = None;
                if let Some(open) = &rule.spec.actions.open_case {
                    let team = open.team_id.as_deref().and_then(|t| t.parse().ok());
                    case_id = self
                        .open_case_for_signal(
                            s,
                            rule.spec.name.trim(),
                            open.priority,
                            CaseSource::Rule,
                            team,
                            now,
                        )
                        .await?;
                }
                let service = s.service_id.map(|x| x.to_string());
                self.act_on_hit(
                    org,
                    rule,
                    HitKind::Signal,
                    &key,
                    signal,
                    service.as_deref(),
                    case_id,
                    now,
                )
                .await?;
            }
        }
        Ok(n)
    }

    /// What every hit on a signal or an event does after its case (if the rule opened one, `case`): the case on the
    /// hit's row, the email job and the `rule.matched` event, in this transaction.
    #[allow(clippy::too_many_arguments)]
    async fn act_on_hit(
        &mut self,
        org: OrgId,
        rule: &Rule,
        kind: HitKind,
        key: &str,
        item: Uuid,
        service: Option<&str>,
        case: Option<Uuid>,
        now: i64,
    ) -> Result<()> {
        if let Some(c) = case {
            on_tx!(self, t => sqlx::query(
                "UPDATE rule_hits SET case_id = $5 WHERE org_id = $1 AND rule_id = $2 AND kind = $3 AND hit_key = $4")
                .bind(org.as_uuid()).bind(rule.id).bind(kind.key()).bind(key).bind(c)
                .execute(&mut **t).await.map(|_| ()))?;
        }
        if !rule.spec.actions.notify.is_empty() {
            let mut payload = serde_json::json!({
                "case": case, "users": rule.spec.actions.notify, "rule": rule.id, "reason": "rule",
            });
            payload[kind.key()] = serde_json::json!(item);
            self.enqueue(
                NewJob::new(org, NOTIFY_KIND, payload)
                    .dedupe_key(format!("rule:{}:{}:{key}", rule.id, kind.key()))
                    .max_attempts(5),
            )
            .await?;
        }
        if rule.spec.actions.webhook {
            let id = item.to_string();
            let subject = match kind {
                HitKind::Signal => RuleSubject::Signal(&id),
                HitKind::Event => RuleSubject::Event(&id),
                HitKind::Case => RuleSubject::Case(&id),
                HitKind::Response => RuleSubject::Response(&id),
            };
            let body = rule_event(
                &org.to_string(),
                &rule.id.to_string(),
                rule.spec.name.trim(),
                subject,
                service,
                case.map(|c| c.to_string()).as_deref(),
                now,
            );
            on_tx!(self, t => t.emit_event(org, EventType::RuleMatched, item, &body, now).await)?;
        }
        Ok(())
    }

    /// Runs the organizations' event rules that are on over new `events` (being stored in this transaction at
    /// `now`): for each hit (once per rule and event, or once per burst of the same type for a `similar` rule), a
    /// case linked to the event (unless one is open for it), the email job and the `rule.matched` event.
    pub(crate) async fn apply_event_rules(
        &mut self,
        events: &[&heard_domain::event::NewEvent],
        now: i64,
    ) -> Result<usize> {
        let mut n = 0;
        let mut by_org: std::collections::BTreeMap<Uuid, Vec<Rule>> = Default::default();
        for e in events.iter().filter(|e| e.occurred_at >= now - FRESH_MS) {
            let org = e.org_id;
            if !by_org.contains_key(org.as_uuid()) {
                let rules = self.enabled_rules(org, AppliesTo::Events).await?;
                by_org.insert(*org.as_uuid(), rules);
            }
            let rules = by_org[org.as_uuid()].clone();
            let service = e.service_id.map(|x| x.to_string());
            let event = *e.id.as_uuid();
            for rule in &rules {
                if !matches_event(
                    &rule.spec.conditions,
                    &e.event_type,
                    service.as_deref(),
                    &e.measures,
                ) {
                    continue;
                }
                let key = match rule.spec.conditions.similar {
                    Some(sim) => match self
                        .similar_key(
                            org,
                            HitKind::Event,
                            std::slice::from_ref(&e.event_type),
                            sim,
                            e.occurred_at,
                        )
                        .await?
                    {
                        Some(k) => k,
                        None => continue,
                    },
                    None => event.to_string(),
                };
                if !self
                    .hit(org, rule.id, HitKind::Event, &key, event, None, now)
                    .await?
                {
                    continue;
                }
                n += 1;
                self.count_match(org, rule.id, now).await?;
                let mut case_id = None;
                if let Some(open) = &rule.spec.actions.open_case {
                    let team = open.team_id.as_deref().and_then(|t| t.parse().ok());
                    case_id = self
                        .open_case_for_event(
                            e,
                            &format!("{}: {}", rule.spec.name.trim(), e.event_type),
                            open.priority,
                            team,
                            now,
                        )
                        .await?;
                }
                self.act_on_hit(
                    org,
                    rule,
                    HitKind::Event,
                    &key,
                    event,
                    service.as_deref(),
                    case_id,
                    now,
                )
                .await?;
            }
        }
        Ok(n)
    }

    /// Runs the organization's case rules that are on for `case`, one of whose SLA targets has just become about to
    /// breach (its nearest deadline `due_at`): once per (rule, case, deadline), the email job, the `rule.matched`
    /// event and the team the rule gives it to, in the escalation check's transaction.
    pub(crate) async fn apply_case_rules(
        &mut self,
        org: OrgId,
        case: &crate::cases::CaseRecord,
        now: i64,
    ) -> Result<usize> {
        let rules = self.enabled_rules(org, AppliesTo::Cases).await?;
        let mut n = 0;
        for rule in &rules {
            let c = &rule.spec.conditions;
            if !c.sla_at_risk
                || c.service_id
                    .as_deref()
                    .is_some_and(|s| case.service_id.map(|x| x.to_string()).as_deref() != Some(s))
            {
                continue;
            }
            let key = format!("{}:{}", case.id, case.due_at.unwrap_or_default());
            if !self
                .hit(
                    org,
                    rule.id,
                    HitKind::Case,
                    &key,
                    case.id,
                    Some(case.id),
                    now,
                )
                .await?
            {
                continue;
            }
            n += 1;
            self.count_match(org, rule.id, now).await?;
            if let Some(team) = rule
                .spec
                .actions
                .assign_team
                .as_deref()
                .and_then(|t| t.parse().ok())
            {
                self.give_case_to_team(org, case.id, team, now).await?;
            }
            if !rule.spec.actions.notify.is_empty() {
                self.enqueue(
                    NewJob::new(
                        org,
                        NOTIFY_KIND,
                        serde_json::json!({
                            "case": case.id, "users": rule.spec.actions.notify, "rule": rule.id,
                            "reason": "rule_at_risk",
                        }),
                    )
                    .dedupe_key(format!("rule:{}:case:{key}", rule.id))
                    .max_attempts(5),
                )
                .await?;
            }
            if rule.spec.actions.webhook {
                let body = rule_event(
                    &org.to_string(),
                    &rule.id.to_string(),
                    rule.spec.name.trim(),
                    RuleSubject::Case(&case.id.to_string()),
                    case.service_id.map(|x| x.to_string()).as_deref(),
                    Some(&case.id.to_string()),
                    now,
                );
                on_tx!(self, t => t.emit_event(org, EventType::RuleMatched, case.id, &body, now).await)?;
            }
        }
        Ok(n)
    }
}

impl Store {
    /// A response's or signal's tags, by name.
    pub async fn item_tags(&self, org: OrgId, kind: HitKind, item: Uuid) -> Result<Vec<String>> {
        on_pool!(self, p => sqlx::query_scalar(
            "SELECT tag FROM item_tags WHERE org_id = $1 AND kind = $2 AND item_id = $3 ORDER BY tag")
            .bind(org.as_uuid()).bind(kind.key()).bind(item).fetch_all(p).await)
        .map_err(Into::into)
    }

    /// A rule's hits on signals and cases (and bursts of similar responses), newest first, at most `limit`:
    /// `(kind, item id, case id, when)`.
    pub async fn rule_hits(
        &self,
        org: OrgId,
        rule: Uuid,
        limit: i64,
    ) -> Result<Vec<(String, Uuid, Option<Uuid>, i64)>> {
        on_pool!(self, p => sqlx::query_as(
            "SELECT kind, item_id, case_id, matched_at FROM rule_hits WHERE org_id = $1 AND rule_id = $2 \
             ORDER BY matched_at DESC LIMIT $3")
            .bind(org.as_uuid()).bind(rule).bind(limit).fetch_all(p).await)
        .map_err(Into::into)
    }
}
