//! Rules in the admin (issue 21, item 1), admins only: `/admin/o/{org}/rules` lists the organization's rules and
//! makes one; a rule's page edits it, shows what it matched, turns it on or off (with the reason Heard turned it
//! off, if it did) and runs it over the last 30 days ("this rule would have opened 212 cases") before it goes live.
//! A new rule starts off. Forms are parsed whole before anything is written; a bad field gets a 422 naming it.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use heard_domain::case::Priority;
use heard_domain::rules::{
    Actions, AppliesTo, Conditions, INTENTS, MeasureAtLeast, OpenCase, RuleSpec, Similar,
};
use heard_domain::{Channel, FieldErrors};
use heard_store::rules::DryRun;
use minijinja::{Value, context};
use uuid::Uuid;

use super::{base_ctx, form_errors, page};
use crate::auth::{Admin, AdminForm};
use crate::forms::FormData;
use crate::{AppError, AppResult, AppState};

fn id_of(s: &str) -> AppResult<Uuid> {
    s.parse().map_err(|_| AppError::NotFound)
}

fn opt(form: &FormData, name: &str) -> Option<String> {
    form.opt(name).map(str::to_string)
}

/// Reads the rule form: `name`; conditions `trust_negative`, `sentiment`, `intents` (repeated), `themes`
/// (repeated), `keywords` (one per line), `service_id`, `touchpoint_id`, `channel`, `urgent`, `similar_at_least`
/// with `similar_hours`, `sla_at_risk`; `applies_to` (responses, signals, cases); actions `open_case` with
/// `priority` and `team_id`, `notify` (repeated member ids), `webhook`, `offer_callback`, `tag`, `assign_team`.
fn parse_form(form: &FormData) -> Result<RuleSpec, FieldErrors> {
    let priority = match form.get("priority") {
        "" => Priority::Normal,
        p => Priority::parse(p).map_err(|e| FieldErrors(vec![e]))?,
    };
    let applies_to = match form.get("applies_to") {
        "" => AppliesTo::Responses,
        a => AppliesTo::parse(a).ok_or_else(|| {
            FieldErrors::single(
                "applies_to",
                "unknown",
                "Choose responses, signals or cases",
            )
        })?,
    };
    // "At least N similar in H hours": both numbers, or neither.
    let number = |name: &str| -> Result<Option<u32>, FieldErrors> {
        match form.get(name).trim() {
            "" => Ok(None),
            n => n
                .parse()
                .map(Some)
                .map_err(|_| FieldErrors::single(name, "not_a_number", "Write a whole number")),
        }
    };
    let similar = match (number("similar_at_least")?, number("similar_hours")?) {
        (None, None) => None,
        (Some(at_least), Some(hours)) => Some(Similar { at_least, hours }),
        (None, Some(_)) => {
            return Err(FieldErrors::single(
                "similar_at_least",
                "required",
                "Write how many similar items, or leave both boxes empty",
            ));
        }
        (Some(_), None) => {
            return Err(FieldErrors::single(
                "similar_hours",
                "required",
                "Write the period in hours, or leave both boxes empty",
            ));
        }
    };
    let measure = match (
        form.get("measure").trim(),
        form.get("measure_at_least").trim(),
    ) {
        ("", "") => None,
        ("", _) => {
            return Err(FieldErrors::single(
                "measure",
                "required",
                "Choose the measure, or leave the value empty",
            ));
        }
        (name, v) => Some(MeasureAtLeast {
            name: name.to_string(),
            at_least: v.parse().map_err(|_| {
                FieldErrors::single(
                    "measure_at_least",
                    "not_a_number",
                    "Write a whole number of seconds or a count",
                )
            })?,
        }),
    };
    Ok(RuleSpec {
        name: form.get("name").trim().to_string(),
        applies_to,
        conditions: Conditions {
            trust_negative: form.get("trust_negative") == "yes",
            trust_at_most: match form.get("trust_at_most").trim() {
                "" => None,
                t => Some(t.parse().map_err(|_| {
                    FieldErrors::single(
                        "trust_at_most",
                        "out_of_range",
                        "Choose a trust answer from 1 to 4",
                    )
                })?),
            },
            language: opt(form, "language"),
            sentiment: opt(form, "sentiment"),
            intents: form
                .all("intents")
                .into_iter()
                .map(str::to_string)
                .collect(),
            themes: form.all("themes").into_iter().map(str::to_string).collect(),
            keywords: form
                .get("keywords")
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(str::to_string)
                .collect(),
            service_id: opt(form, "service_id"),
            touchpoint_id: opt(form, "touchpoint_id"),
            channel: opt(form, "channel"),
            urgent: form.get("urgent") == "yes",
            similar,
            sla_at_risk: form.get("sla_at_risk") == "yes",
            event_types: form
                .all("event_types")
                .into_iter()
                .map(str::to_string)
                .collect(),
            measure,
        },
        actions: Actions {
            open_case: (form.get("open_case") == "yes").then(|| OpenCase {
                priority,
                team_id: opt(form, "team_id"),
            }),
            notify: form.all("notify").into_iter().map(str::to_string).collect(),
            webhook: form.get("webhook") == "yes",
            offer_callback: form.get("offer_callback") == "yes",
            tag: opt(form, "tag").map(|t| t.trim().to_string()),
            assign_team: opt(form, "assign_team"),
        },
    })
}

/// The form's fields from a stored rule.
fn form_of(spec: &RuleSpec) -> Value {
    let c = &spec.conditions;
    let a = &spec.actions;
    context! {
        name => spec.name, trust_negative => c.trust_negative, trust_at_most => c.trust_at_most, language => c.language, sentiment => c.sentiment, intents => c.intents,
        themes => c.themes, keywords => c.keywords.join("\n"), service_id => c.service_id,
        touchpoint_id => c.touchpoint_id, channel => c.channel, urgent => c.urgent,
        open_case => a.open_case.is_some(), priority => a.open_case.as_ref().map_or("normal", |o| o.priority.key()),
        team_id => a.open_case.as_ref().and_then(|o| o.team_id.clone()), notify => a.notify, webhook => a.webhook, offer_callback => a.offer_callback,
        applies_to => spec.applies_to.key(), similar_at_least => c.similar.map(|x| x.at_least), similar_hours => c.similar.map(|x| x.hours),
        sla_at_risk => c.sla_at_risk, tag => a.tag, assign_team => a.assign_team, event_types => c.event_types,
        measure => c.measure.as_ref().map(|m| m.name.clone()), measure_at_least => c.measure.as_ref().map(|m| m.at_least),
    }
}

/// What the form offers: services, touchpoints (with their service), channels, themes, intents, teams, members.
async fn choices(state: &AppState, m: &Admin) -> AppResult<Value> {
    let services = state.store.services(m.org_id()).await?;
    let service_name = |id| {
        services
            .iter()
            .find(|s| s.id == id)
            .map(|s| s.name.get("en").to_string())
            .unwrap_or_default()
    };
    let touchpoints: Vec<_> = state
        .store
        .touchpoints(m.org_id())
        .await?
        .into_iter()
        .map(|t| context! { id => t.id.to_string(), name => format!("{}: {}", service_name(t.service_id), t.name.get("en")) })
        .collect();
    let members: Vec<_> = state
        .store
        .members(m.org_id())
        .await?
        .into_iter()
        .filter(|(_, role)| *role >= heard_domain::Role::Analyst)
        .map(|(u, _)| context! { id => u.id.to_string(), name => u.name, email => u.email })
        .collect();
    let teams: Vec<_> = state
        .store
        .case_teams(m.org_id())
        .await?
        .into_iter()
        .map(|t| context! { id => t.id.to_string(), name => t.name })
        .collect();
    let event_types = state.store.event_types(m.org_id()).await?;
    // One choice per measure name, with the types that carry it.
    let mut by_name: std::collections::BTreeMap<&str, Vec<&str>> = Default::default();
    for t in &event_types {
        for md in &t.measures {
            by_name.entry(&md.name).or_default().push(&t.label);
        }
    }
    let measures: Vec<Value> = by_name
        .iter()
        .map(|(name, types)| context! { key => name, label => format!("{name} ({})", types.join(", ")) })
        .collect();
    Ok(context! {
        event_types => event_types.iter().map(|t| context!{ key => t.name, label => t.label }).collect::<Vec<_>>(),
        measures => measures,
        services => services.iter().map(|s| context!{ id => s.id.to_string(), name => s.name.get("en") }).collect::<Vec<_>>(),
        touchpoints => touchpoints,
        channels => Channel::ALL.iter().map(|c| context!{ key => c.key(), label => c.label() }).collect::<Vec<_>>(),
        themes => state.pipeline.themes().into_iter().map(|(id, label)| context!{ id => id, label => label }).collect::<Vec<_>>(),
        intents => INTENTS.iter().map(|(k, l)| context!{ key => k, label => l }).collect::<Vec<_>>(),
        priorities => Priority::ALL.iter().map(|p| context!{ key => p.key(), label => p.label() }).collect::<Vec<_>>(),
        teams => teams, members => members,
        has_sender => state.store.email_sender(m.org_id()).await?.is_some(),
    })
}

fn with_status(mut resp: Response, status: StatusCode) -> Response {
    if resp.status().is_success() {
        *resp.status_mut() = status;
    }
    resp
}

/// The rules and the form that makes one.
pub async fn list(State(state): State<AppState>, m: Admin) -> AppResult<Response> {
    // Nothing ticked: a rule is exactly the conditions and actions an admin chose.
    let blank = context! { priority => "normal" };
    render_list(&state, &m, blank, &FieldErrors::default(), StatusCode::OK).await
}

async fn render_list(
    state: &AppState,
    m: &Admin,
    form: Value,
    errs: &FieldErrors,
    status: StatusCode,
) -> AppResult<Response> {
    let rules: Vec<_> = state
        .store
        .rules(m.org_id())
        .await?
        .into_iter()
        .map(|r| context! { id => r.id.to_string(), name => r.spec.name, enabled => r.enabled,
            disabled_reason => r.disabled_reason, matched => r.matched, last_matched_at => r.last_matched_at })
        .collect();
    Ok(with_status(
        page(
            state,
            "rules.html",
            base_ctx(m, "rules"),
            context! { rules => rules, form => form, errors => form_errors(errs), choices => choices(state, m).await? },
        ),
        status,
    ))
}

fn refused(e: heard_store::StoreError) -> Result<FieldErrors, AppError> {
    match e {
        heard_store::StoreError::Invalid(errs) => Ok(errs),
        e => Err(e.into()),
    }
}

/// Makes a rule (off) and goes to its page, where its dry run can be read.
pub async fn create(
    State(state): State<AppState>,
    m: Admin,
    AdminForm(form): AdminForm,
) -> AppResult<Response> {
    let errs = match parse_form(&form) {
        Ok(spec) => match state.store.create_rule(m.org_id(), &spec).await {
            Ok(id) => {
                return Ok(
                    Redirect::to(&format!("/admin/o/{}/rules/{id}?made=1", m.org_id()))
                        .into_response(),
                );
            }
            Err(e) => refused(e)?,
        },
        Err(errs) => errs,
    };
    let shown = match parse_form(&form) {
        Ok(spec) => form_of(&spec),
        Err(_) => context! { name => form.get("name") },
    };
    render_list(&state, &m, shown, &errs, StatusCode::UNPROCESSABLE_ENTITY).await
}

#[derive(serde::Deserialize, Default)]
pub struct RuleQuery {
    #[serde(default)]
    made: Option<String>,
    #[serde(default)]
    saved: Option<String>,
}

/// A rule's page.
pub async fn show(
    State(state): State<AppState>,
    m: Admin,
    Path((_, id)): Path<(String, String)>,
    axum::extract::Query(q): axum::extract::Query<RuleQuery>,
) -> AppResult<Response> {
    let id = id_of(&id)?;
    let rule = state.store.rule(m.org_id(), id).await?;
    let saved = if q.made.is_some() {
        Some("Rule made. It is off: read what it would have done below, then turn it on.")
    } else if q.saved.is_some() {
        Some("Saved.")
    } else {
        None
    };
    render_rule(
        &state,
        &m,
        id,
        form_of(&rule.spec),
        &FieldErrors::default(),
        None,
        saved,
        StatusCode::OK,
    )
    .await
}

#[allow(clippy::too_many_arguments)]
async fn render_rule(
    state: &AppState,
    m: &Admin,
    id: Uuid,
    form: Value,
    errs: &FieldErrors,
    dry: Option<DryRun>,
    saved: Option<&str>,
    status: StatusCode,
) -> AppResult<Response> {
    let rule = state.store.rule(m.org_id(), id).await?;
    let hits: Vec<Value> = state
        .store
        .rule_hits(m.org_id(), id, 20)
        .await?
        .into_iter()
        .filter(|(kind, ..)| kind != "response")
        .map(|(kind, item, case, at)| context! { kind => kind, item => item.to_string(), case => case.map(|c| c.to_string()), at => at })
        .collect();
    let matches: Vec<_> = state
        .store
        .rule_matches(m.org_id(), id, 20)
        .await?
        .into_iter()
        .map(|(response, case, at)| context! { response => response.to_string(), case => case.map(|c| c.to_string()), at => at })
        .collect();
    Ok(with_status(
        page(
            state,
            "rule.html",
            base_ctx(m, "rules"),
            context! {
                rule => context! { id => id.to_string(), name => rule.spec.name, enabled => rule.enabled,
                    disabled_reason => rule.disabled_reason, matched => rule.matched, last_matched_at => rule.last_matched_at,
                    opens_cases => rule.spec.actions.open_case.is_some(), words => in_words(state, m, &rule.spec).await?,
                    applies_to => rule.spec.applies_to.key() },
                hits => hits,
                form => form, errors => form_errors(errs), choices => choices(state, m).await?,
                dry => dry.map(|d| context!{ responses => d.responses, matched => d.matched, cases => d.cases }),
                matches => matches, saved => saved,
            },
        ),
        status,
    ))
}

/// The rule in words, for its page: what must hold, and what it does.
async fn in_words(state: &AppState, m: &Admin, spec: &RuleSpec) -> AppResult<Value> {
    let c = &spec.conditions;
    let themes = state.pipeline.themes();
    let mut when: Vec<String> = vec![];
    if c.trust_negative {
        when.push("has a negative trust answer".into());
    }
    if let Some(t) = c.trust_at_most {
        when.push(format!(
            "has a trust answer of {t} or less (a thumbs down counts as 1)"
        ));
    }
    if let Some(l) = &c.language {
        when.push(format!(
            "is in {}",
            if l == "es" { "Spanish" } else { "English" }
        ));
    }
    if c.urgent {
        when.push("has crisis or threat language".into());
    }
    if let Some(s) = &c.sentiment {
        when.push(format!("reads {s}"));
    }
    if !c.intents.is_empty() {
        let names: Vec<&str> = c
            .intents
            .iter()
            .filter_map(|i| INTENTS.iter().find(|(k, _)| k == i).map(|(_, l)| *l))
            .collect();
        when.push(format!("is {}", names.join(" or ").to_lowercase()));
    }
    if !c.themes.is_empty() {
        let names: Vec<String> = c
            .themes
            .iter()
            .map(|t| {
                themes
                    .iter()
                    .find(|(id, _)| id == t)
                    .map_or(t.clone(), |(_, l)| l.clone())
            })
            .collect();
        when.push(format!("is about {}", names.join(" or ")));
    }
    if !c.keywords.is_empty() {
        let quoted: Vec<String> = c.keywords.iter().map(|k| format!("\"{k}\"")).collect();
        when.push(format!("says {}", quoted.join(" or ")));
    }
    if let Some(sv) = &c.service_id {
        let name = state
            .store
            .services(m.org_id())
            .await?
            .into_iter()
            .find(|s| s.id.to_string() == *sv)
            .map_or(sv.clone(), |s| s.name.get("en").to_string());
        when.push(format!("is about {name}"));
    }
    if let Some(tp) = &c.touchpoint_id {
        let name = state
            .store
            .touchpoints(m.org_id())
            .await?
            .into_iter()
            .find(|t| t.id.to_string() == *tp)
            .map_or(tp.clone(), |t| t.name.get("en").to_string());
        when.push(format!("came from {name}"));
    }
    if let Some(ch) = &c.channel {
        let label = ch
            .parse::<Channel>()
            .map_or(ch.clone(), |c| c.label().to_lowercase());
        when.push(format!("arrived by {label}"));
    }
    if let Some(sim) = &c.similar {
        when.push(format!(
            "is one of at least {} sharing a theme within {} hour{} (once per theme and period)",
            sim.at_least,
            sim.hours,
            if sim.hours == 1 { "" } else { "s" }
        ));
    }
    if c.sla_at_risk {
        when.push("has a deadline about to be missed".into());
    }
    if !c.event_types.is_empty() {
        let types = state.store.event_types(m.org_id()).await?;
        let names: Vec<String> = c
            .event_types
            .iter()
            .map(|k| {
                types
                    .iter()
                    .find(|t| &t.name == k)
                    .map_or(k.clone(), |t| t.label.clone())
            })
            .collect();
        when.push(format!("is {}", names.join(" or ")));
    }
    if let Some(mm) = &c.measure {
        when.push(format!("has {} of at least {}", mm.name, mm.at_least));
    }
    let a = &spec.actions;
    let mut then: Vec<String> = vec![];
    if let Some(t) = &a.tag {
        then.push(format!("tag it \"{}\"", t.trim()));
    }
    if let Some(team) = &a.assign_team {
        let name = state
            .store
            .case_teams(m.org_id())
            .await?
            .into_iter()
            .find(|t| t.id.to_string() == *team)
            .map_or(team.clone(), |t| t.name);
        then.push(format!("give the case to {name}"));
    }
    if let Some(o) = &a.open_case {
        then.push(format!(
            "open a case of {} priority",
            o.priority.label().to_lowercase()
        ));
    }
    if !a.notify.is_empty() {
        then.push(format!(
            "email {} member{}",
            a.notify.len(),
            if a.notify.len() == 1 { "" } else { "s" }
        ));
    }
    if a.offer_callback {
        then.push("offer the person a callback".into());
    }
    if a.webhook {
        then.push("send the rule.matched webhook event".into());
    }
    let subject = match spec.applies_to {
        AppliesTo::Responses => "When a new response",
        AppliesTo::Signals => "When a new signal",
        AppliesTo::Cases => "When a case",
        AppliesTo::Events => "When a new event",
    };
    Ok(context! { subject => subject, when => when, then => then })
}

/// Saves the rule's form.
pub async fn update(
    State(state): State<AppState>,
    m: Admin,
    Path((_, id)): Path<(String, String)>,
    AdminForm(form): AdminForm,
) -> AppResult<Response> {
    let id = id_of(&id)?;
    state.store.rule(m.org_id(), id).await?;
    let errs = match parse_form(&form) {
        Ok(spec) => match state.store.update_rule(m.org_id(), id, &spec).await {
            Ok(()) => {
                return Ok(
                    Redirect::to(&format!("/admin/o/{}/rules/{id}?saved=1", m.org_id()))
                        .into_response(),
                );
            }
            Err(e) => refused(e)?,
        },
        Err(errs) => errs,
    };
    let shown = match parse_form(&form) {
        Ok(spec) => form_of(&spec),
        Err(_) => context! { name => form.get("name") },
    };
    render_rule(
        &state,
        &m,
        id,
        shown,
        &errs,
        None,
        None,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await
}

/// Turns the rule on (`on=yes`) or off.
pub async fn switch(
    State(state): State<AppState>,
    m: Admin,
    Path((_, id)): Path<(String, String)>,
    AdminForm(form): AdminForm,
) -> AppResult<Response> {
    let id = id_of(&id)?;
    let on = form.get("on") == "yes";
    let rule = state.store.rule(m.org_id(), id).await?;
    if on
        && !rule.spec.actions.notify.is_empty()
        && state.store.email_sender(m.org_id()).await?.is_none()
    {
        let errs = FieldErrors::single(
            "notify",
            "no_email_sender",
            "This rule emails staff, and no email sender is set up: set one up under Outreach, Email, or stop the \
             rule emailing, then turn it on",
        );
        return render_rule(
            &state,
            &m,
            id,
            form_of(&rule.spec),
            &errs,
            None,
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    state.store.set_rule_enabled(m.org_id(), id, on).await?;
    Ok(Redirect::to(&format!("/admin/o/{}/rules/{id}?saved=1", m.org_id())).into_response())
}

/// Runs the stored rule over the last 30 days and shows what it would have done; changes nothing.
pub async fn dry_run(
    State(state): State<AppState>,
    m: Admin,
    Path((_, id)): Path<(String, String)>,
    AdminForm(_): AdminForm,
) -> AppResult<Response> {
    let id = id_of(&id)?;
    let rule = state.store.rule(m.org_id(), id).await?;
    let dry = state
        .store
        .dry_run_rule(m.org_id(), &rule.spec, heard_store::now_ms())
        .await?;
    render_rule(
        &state,
        &m,
        id,
        form_of(&rule.spec),
        &FieldErrors::default(),
        Some(dry),
        None,
        StatusCode::OK,
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_form_reads_every_field() {
        let form = FormData(
            [
                ("name", " Late refunds "),
                ("trust_negative", "yes"),
                ("sentiment", "negative"),
                ("intents", "complaint"),
                ("intents", "question"),
                ("keywords", "refund\n\n  still waiting \n"),
                ("channel", "website"),
                ("open_case", "yes"),
                ("priority", "high"),
                ("notify", "u1"),
                ("webhook", "yes"),
            ]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        );
        let spec = parse_form(&form).unwrap();
        assert_eq!(spec.name, "Late refunds");
        assert!(spec.conditions.trust_negative);
        assert_eq!(spec.conditions.intents, ["complaint", "question"]);
        assert_eq!(spec.conditions.keywords, ["refund", "still waiting"]);
        assert_eq!(
            spec.actions.open_case.as_ref().unwrap().priority,
            Priority::High
        );
        assert_eq!(spec.actions.notify, ["u1"]);
        assert!(spec.actions.webhook);
        let bad = FormData(vec![("priority".into(), "p0".into())]);
        assert_eq!(parse_form(&bad).unwrap_err().0[0].field, "priority");
    }
}
