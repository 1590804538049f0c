//! The A-11 statistics page (`/admin/o/{org}/statistics?quarter=`): per service, and per touchpoint and channel
//! within it, for a fiscal quarter: the trust answers (n), % positive with its 95% Wilson interval (with the
//! finite-population correction at the service level when the customers served in the quarter are entered), the
//! previous quarter's figure, the change with the pooled two-proportion z test's p-value, and the service's quarterly
//! collection figures (respondents, offered, response rate, customers served). Every figure comes from
//! `heard_insight::proportion` over the dashboards' rollups (`response_days`): cells with fewer than 11 trust answers
//! (`SmallCountRule`, the CMS rule) say "Too few to report", never 0% or 100%. Trust is pooled across a service's
//! surveys that ask the same trust question, as on the service dashboard (A-11 v2's when the service has a v2
//! survey, else v1's). Touchpoint and channel rows get no correction: the customers served are known per service.
//! The channel is where the response arrived (`heard_domain::Arrival`). Both tables download as CSV.

use axum::extract::{Query, State};
use axum::response::Response;
use heard_domain::fiscal::FiscalQuarter;
use heard_domain::rollup::ResponseDay;
use heard_domain::survey::TemplateKind;
use heard_domain::{Channel, ServiceId, TouchpointId, chart};
use heard_insight::proportion::{
    Change, Count, PercentPositive, Reportable, SmallCountRule, change_from_previous,
    percent_positive,
};
use minijinja::{Value, context};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

use super::csv_table::CsvTable;
use super::dashboard::{self, PeriodQuery};
use super::{base_ctx, page};
use crate::auth::Viewer;
use crate::{AppError, AppResult, AppState};

/// Trust answers and positive ones, and responses, of one cell in one quarter.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Tally {
    pub responses: u64,
    pub answered: u64,
    pub positive: u64,
}

/// One row of the page: a service, or a touchpoint or channel of it.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    /// `service`, `touchpoint` or `channel`.
    pub level: &'static str,
    pub service: String,
    /// The touchpoint's or channel's name; empty on a service row.
    pub part: String,
    pub responses: u64,
    /// Trust answers this quarter.
    pub n: u64,
    /// Trust answers the quarter before.
    pub previous_n: u64,
    /// "72.4%", or "Too few to report (n < 11)".
    pub percent: String,
    /// "68.1% to 76.3%", or empty.
    pub interval: String,
    pub previous_percent: String,
    /// "+3.2 points", or why there is none.
    pub change: String,
    /// The two-sided p-value, "0.041", or empty.
    pub p_value: String,
    /// The finite-population correction was applied (customers served known and not below n).
    pub corrected: bool,
    /// Figures for the CSV and the chart: share, low, high (current quarter), when reported.
    #[serde(skip)]
    pub share: Option<(f64, f64, f64)>,
    #[serde(skip)]
    pub previous_share: Option<f64>,
    #[serde(skip)]
    pub difference: Option<f64>,
    #[serde(skip)]
    pub p: Option<f64>,
}

fn pct(x: f64) -> String {
    format!("{:.1}%", x * 100.0)
}

/// The figures of one cell: this quarter's and the previous one's tallies, and the customers served in each when
/// known (a number below the trust answers cannot be right and is not used).
pub fn row(
    level: &'static str,
    service: &str,
    part: &str,
    current: Tally,
    previous: Tally,
    customers: Option<u64>,
    previous_customers: Option<u64>,
) -> Row {
    let rule = SmallCountRule::default();
    let too_few = |_: u64| format!("Too few to report (n < {})", rule.min_n);
    let cur = Count {
        positive: current.positive,
        n: current.answered,
    };
    let prev = Count {
        positive: previous.positive,
        n: previous.answered,
    };
    let pop = customers.filter(|c| *c >= cur.n);
    let prev_pop = previous_customers.filter(|c| *c >= prev.n);
    // Errors are impossible here: positive <= answered by construction and populations are filtered above.
    let now: Reportable<PercentPositive> =
        percent_positive(cur, pop, rule).unwrap_or(Reportable::TooFew {
            n: cur.n,
            min_n: rule.min_n,
        });
    let before: Reportable<PercentPositive> =
        percent_positive(prev, prev_pop, rule).unwrap_or(Reportable::TooFew {
            n: prev.n,
            min_n: rule.min_n,
        });
    let change: Option<Change> = change_from_previous(cur, pop, prev, prev_pop, rule)
        .ok()
        .and_then(|c| c.reported().copied());
    let (percent, interval, share) = match now.reported() {
        Some(p) => (
            pct(p.share),
            format!("{} to {}", pct(p.interval.low), pct(p.interval.high)),
            Some((p.share, p.interval.low, p.interval.high)),
        ),
        None if cur.n == 0 => ("No trust answers".into(), String::new(), None),
        None => (too_few(cur.n), String::new(), None),
    };
    let previous_percent = match before.reported() {
        Some(p) => pct(p.share),
        None if prev.n == 0 => "No trust answers".into(),
        None => too_few(prev.n),
    };
    Row {
        level,
        service: service.to_string(),
        part: part.to_string(),
        responses: current.responses,
        n: cur.n,
        previous_n: prev.n,
        percent,
        interval,
        previous_percent,
        change: match &change {
            Some(c) => format!("{:+.1} points", c.difference * 100.0),
            None => "Not tested (too few in a quarter)".into(),
        },
        p_value: change
            .map(|c| format!("{:.3}", c.test.p_value))
            .unwrap_or_default(),
        corrected: pop.is_some() && share.is_some(),
        share,
        previous_share: before.reported().map(|p| p.share),
        difference: change.map(|c| c.difference),
        p: change.map(|c| c.test.p_value),
    }
}

/// The trust template a service's trust figure pools (as on its dashboard): A-11 v2 when it has a v2 survey.
fn trust_template(surveys: &[heard_store::Survey]) -> TemplateKind {
    TemplateKind::trust_template(surveys.iter().map(|s| s.draft.template))
}

#[derive(Default)]
struct Cells {
    service: BTreeMap<ServiceId, Tally>,
    touchpoint: BTreeMap<(ServiceId, Option<TouchpointId>), Tally>,
    channel: BTreeMap<(ServiceId, String), Tally>,
}

fn tally(days: &[ResponseDay], surveys: &[heard_store::Survey]) -> Cells {
    let mut by_service: HashMap<ServiceId, TemplateKind> = HashMap::new();
    for s in surveys {
        by_service.entry(s.service_id).or_insert_with(|| {
            trust_template(
                &surveys
                    .iter()
                    .filter(|x| x.service_id == s.service_id)
                    .cloned()
                    .collect::<Vec<_>>(),
            )
        });
    }
    let template: HashMap<_, _> = surveys.iter().map(|s| (s.id, s.draft.template)).collect();
    let mut c = Cells::default();
    for d in days {
        let k = &d.key;
        let counts_trust = template.contains_key(&k.survey_id)
            && template.get(&k.survey_id) == by_service.get(&k.service_id);
        let add = |t: &mut Tally| {
            t.responses += d.counts.responses;
            if counts_trust {
                t.answered += d.counts.trust_answered;
                t.positive += d.counts.trust_positive;
            }
        };
        add(c.service.entry(k.service_id).or_default());
        add(c
            .touchpoint
            .entry((k.service_id, k.touchpoint_id))
            .or_default());
        add(c
            .channel
            .entry((k.service_id, k.channel.clone()))
            .or_default());
    }
    c
}

/// A service's quarterly collection figures.
#[derive(Debug, Clone, Serialize)]
pub struct Collection {
    pub service: String,
    pub respondents: u64,
    pub offered: u64,
    /// "12.5%", or "—" when nobody was offered the survey.
    pub response_rate: String,
    pub customers: Option<u64>,
}

struct Figures {
    quarter: FiscalQuarter,
    rows: Vec<Row>,
    collection: Vec<Collection>,
}

async fn compute(state: &AppState, m: &Viewer, quarter: FiscalQuarter) -> AppResult<Figures> {
    let org = m.org_id();
    let previous = quarter.previous();
    let services = state.store.services(org).await?;
    let surveys = state.store.surveys(org, None).await?;
    let touchpoints = state.store.touchpoints(org).await?;
    let now_days = dashboard::quarter_days(state, org, None, None, quarter).await?;
    let before_days = dashboard::quarter_days(state, org, None, None, previous).await?;
    let now = tally(&now_days, &surveys);
    let before = tally(&before_days, &surveys);
    let (from_day, to_day) = dashboard::quarter_day_numbers(quarter);
    let mut rows = Vec::new();
    let mut collection = Vec::new();
    for s in &services {
        let name = s.name.get("en");
        let volume = |q: FiscalQuarter| async move {
            state
                .store
                .service_volume(org, s.id, q.year, q.quarter as i32)
                .await
                .map(|v| v.map(|n| n.max(0) as u64))
        };
        let customers = volume(quarter).await?;
        let previous_customers = volume(previous).await?;
        let get = |m: &BTreeMap<ServiceId, Tally>| m.get(&s.id).copied().unwrap_or_default();
        rows.push(row(
            "service",
            name,
            "",
            get(&now.service),
            get(&before.service),
            customers,
            previous_customers,
        ));
        let mut parts: Vec<Option<TouchpointId>> = now
            .touchpoint
            .keys()
            .chain(before.touchpoint.keys())
            .filter(|(svc, _)| *svc == s.id)
            .map(|(_, t)| *t)
            .collect();
        parts.sort();
        parts.dedup();
        for t in parts {
            let label = match t {
                Some(t) => touchpoints
                    .iter()
                    .find(|x| x.id == t)
                    .map(|x| format!("{} ({})", x.name.get("en"), x.channel.label()))
                    .unwrap_or_else(|| "A removed touchpoint".into()),
                None => "No touchpoint given".into(),
            };
            let k = (s.id, t);
            rows.push(row(
                "touchpoint",
                name,
                &label,
                now.touchpoint.get(&k).copied().unwrap_or_default(),
                before.touchpoint.get(&k).copied().unwrap_or_default(),
                None,
                None,
            ));
        }
        let mut channels: Vec<&String> = now
            .channel
            .keys()
            .chain(before.channel.keys())
            .filter(|(svc, _)| *svc == s.id)
            .map(|(_, c)| c)
            .collect();
        channels.sort();
        channels.dedup();
        for c in channels {
            let label = c
                .parse::<Channel>()
                .map(|ch| ch.label().to_string())
                .unwrap_or_else(|_| c.clone());
            let k = (s.id, c.clone());
            rows.push(row(
                "channel",
                name,
                &label,
                now.channel.get(&k).copied().unwrap_or_default(),
                before.channel.get(&k).copied().unwrap_or_default(),
                None,
                None,
            ));
        }
        // A-11's collection counts the service's A-11 surveys only (as on the service dashboard).
        let (mut offered, mut respondents) = (0u64, 0u64);
        for survey in surveys
            .iter()
            .filter(|x| x.service_id == s.id && x.draft.template != TemplateKind::Blank)
        {
            offered += state
                .store
                .displays(org, survey.id, from_day, to_day)
                .await?
                .iter()
                .map(|(_, n)| (*n).max(0) as u64)
                .sum::<u64>();
            respondents += now_days
                .iter()
                .filter(|d| d.key.survey_id == survey.id)
                .map(|d| d.counts.responses)
                .sum::<u64>();
        }
        let c = heard_domain::report::collection_figures(respondents, offered, customers);
        collection.push(Collection {
            service: name.to_string(),
            respondents,
            offered,
            response_rate: c.response_rate.map(pct).unwrap_or_else(|| "—".into()),
            customers,
        });
    }
    Ok(Figures {
        quarter,
        rows,
        collection,
    })
}

pub async fn page_handler(
    State(state): State<AppState>,
    m: Viewer,
    Query(q): Query<PeriodQuery>,
) -> AppResult<Response> {
    let zone = m.org.time_zone;
    let quarter = q.quarter(&zone)?;
    let f = compute(&state, &m, quarter).await?;
    let bars: Vec<chart::IntervalRow> = f
        .rows
        .iter()
        .filter(|r| r.level == "service")
        .map(|r| chart::IntervalRow {
            label: r.service.clone(),
            share: r.share,
        })
        .collect();
    let svg = chart::interval_bars_svg(
        &bars,
        &format!("Trust answered positively by service, {}", f.quarter),
        &format!(
            "Percent of trust answers that were positive in {}, per service, each with its 95% Wilson interval drawn \
             as a line; services with fewer than 11 trust answers say too few to report. The same figures are in the \
             table below the chart.",
            f.quarter
        ),
    );
    Ok(page(
        &state,
        "statistics.html",
        base_ctx(&m, "statistics"),
        context! {
            quarter => f.quarter.to_string(), previous => f.quarter.previous().to_string(),
            quarter_param => f.quarter.to_string().replace(' ', "-"),
            quarters => dashboard::recent_quarters(&zone),
            rows => Value::from_serialize(&f.rows), collection => Value::from_serialize(&f.collection),
            chart => Value::from_safe_string(svg),
            rollups_note => dashboard::rollups_note(&state, m.org_id(), &zone).await?,
        },
    ))
}

#[derive(Deserialize)]
pub struct CsvQuery {
    #[serde(alias = "period")]
    pub quarter: Option<String>,
    pub table: Option<String>,
}

/// The page's tables as CSV: `table=figures` (default) or `table=collection`.
pub async fn csv(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(q): Query<CsvQuery>,
) -> AppResult<Response> {
    let quarter = PeriodQuery { quarter: q.quarter }.quarter(&viewer.org.time_zone)?;
    let f = compute(&state, &viewer, quarter).await?;
    let num = |x: Option<f64>| x.map(|v| format!("{v:.6}")).unwrap_or_default();
    match q.table.as_deref().unwrap_or("figures") {
        "figures" => {
            let mut t = CsvTable::new([
                "quarter",
                "level",
                "service",
                "touchpoint_or_channel",
                "responses",
                "trust_answers",
                "percent_positive",
                "ci95_low",
                "ci95_high",
                "finite_population_correction",
                "status",
                "previous_quarter",
                "previous_trust_answers",
                "previous_percent_positive",
                "change_points",
                "p_value",
            ])?;
            for r in &f.rows {
                let status = if r.share.is_some() {
                    "reported".to_string()
                } else {
                    r.percent.clone()
                };
                t.row([
                    f.quarter.to_string(),
                    r.level.to_string(),
                    CsvTable::text(&r.service),
                    CsvTable::text(&r.part),
                    r.responses.to_string(),
                    r.n.to_string(),
                    num(r.share.map(|s| s.0)),
                    num(r.share.map(|s| s.1)),
                    num(r.share.map(|s| s.2)),
                    if r.corrected { "yes" } else { "no" }.to_string(),
                    status,
                    f.quarter.previous().to_string(),
                    r.previous_n.to_string(),
                    num(r.previous_share),
                    num(r.difference.map(|d| d * 100.0)),
                    num(r.p),
                ])?;
            }
            t.into_response(&format!(
                "statistics-{}.csv",
                f.quarter.to_string().replace(' ', "-")
            ))
        }
        "collection" => {
            let mut t = CsvTable::new([
                "quarter",
                "service",
                "respondents",
                "offered",
                "response_rate",
                "customers_served",
            ])?;
            for c in &f.collection {
                t.row([
                    f.quarter.to_string(),
                    CsvTable::text(&c.service),
                    c.respondents.to_string(),
                    c.offered.to_string(),
                    if c.offered > 0 {
                        format!("{:.6}", c.respondents as f64 / c.offered as f64)
                    } else {
                        String::new()
                    },
                    c.customers.map(|n| n.to_string()).unwrap_or_default(),
                ])?;
            }
            t.into_response(&format!(
                "collection-{}.csv",
                f.quarter.to_string().replace(' ', "-")
            ))
        }
        _ => Err(AppError::field(
            "table",
            "unknown_table",
            "choose figures or collection",
        )),
    }
}
