//! Rules (issue 21, item 1): stored rule specs (migration 0040), their matches, the dry run over the last 30 days,
//! and [`StoreTx::apply_rules`], which the response writer calls in the responses' own commit so a match's case,
//! email job and webhook event exist exactly when the response does.
//!
//! A rule is created off; turning it on clears any reason it was turned off for. A rule whose action fails for good
//! (its emails cannot be sent) is turned off by [`Store::disable_rule`] with the reason, which the admin shows.

use heard_domain::case::{CaseSource, LinkKind};
use heard_domain::response::NewResponse;
use heard_domain::rules::{DRY_RUN_MS, Facts, RuleSpec, matches};
use heard_domain::webhook::{EventType, rule_event};
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

/// What a rule would have done over the last 30 days.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DryRun {
    /// Responses read.
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
        sentiment: r.sentiment.as_deref(),
        themes: &r.themes,
        enrichment: r.enrichment.as_ref(),
        answers: &r.answers,
        service_id: service,
        touchpoint_id: touchpoint,
        channel: &r.channel,
        urgent: r.urgent,
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
                sentiment: r.sentiment.as_deref(),
                themes: &r.themes,
                enrichment: r.enrichment.as_ref(),
                answers: &r.answers,
                service_id: &service,
                touchpoint_id: touchpoint.as_deref(),
                channel: r.channel.key(),
                urgent: r.urgent,
            };
            for rule in &rules {
                if !matches(&rule.spec.conditions, &facts) {
                    continue;
                }
                let response = *r.id.as_uuid();
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
                        &response.to_string(),
                        &service,
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
