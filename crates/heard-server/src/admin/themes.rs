//! The themes explorer and comment search (issue 18, item 7), for viewers and up: both read comments as stored
//! (redacted) and the text engine's themes and sentiment.
//!
//! The explorer reads weekly counts from the rollups the database keeps on every write (`Store::theme_weeks`) and
//! computes, per theme of the taxonomy, over the chosen full local weeks:
//!
//! - **mentions**: comments (responses' free-text answers and signals) that carry the theme; a comment may carry
//!   several themes, so shares add up to more than 100%;
//! - **share**: mentions ÷ all comments in the period;
//! - **% negative**: negative comments with the theme ÷ mentions;
//! - **lift among negative comments**: (negative comments with the theme ÷ all negative comments) ÷ share, with the
//!   pooled two-proportion z test of the theme's share among negative comments against its share among the others
//!   (`heard_insight::two_proportion_z`) and Benjamini-Hochberg q-values across themes;
//! - **emerging**: the theme's share of comments in the latest full week against its share in the
//!   [`BASELINE_WEEKS`] weeks before it, with the same test and BH across themes; it is flagged when q < 0.05, the
//!   share rose, and the latest week has at least k mentions and the comparison at least k comments each side.
//!
//! Every share needs at least k comments (heard-insight's `SmallCountRule`, k = 11) in its denominator, and % negative
//! at least k mentions; otherwise it is "too few to report". Each table downloads as CSV (`themes.csv`).

use std::collections::BTreeMap;

use axum::body::Body;
use axum::extract::{Query, State};
use axum::response::Response;
use chrono::{Days, NaiveDate};
use heard_domain::{ServiceId, Zone, chart, report};
use heard_insight::hypothesis::two_proportion_z;
use heard_insight::multiple::benjamini_hochberg;
use heard_insight::proportion::{Count, SmallCountRule};
use heard_store::search::{
    CommentFilter, CommentKind, MATCH_END, MATCH_START, SearchCursor, SearchHit, SearchQuery,
};
use minijinja::{Value, context};
use serde::Deserialize;
use uuid::Uuid;

use super::filters::{self, nonempty};
use super::{base_ctx, page};
use crate::auth::Viewer;
use crate::labels::sentiment_word;
use crate::{AppError, AppResult, AppState};

/// Weeks before the latest full week that an emerging theme is compared with.
pub const BASELINE_WEEKS: usize = 4;
/// The periods offered, in weeks.
const PERIODS: [u64; 4] = [8, 12, 26, 52];
const DEFAULT_WEEKS: u64 = 12;
/// The false discovery rate at which a lift or a rise is called significant.
const ALPHA: f64 = 0.05;
/// Results on one page of search.
const PAGE: i64 = 25;

fn kind_param(k: Option<&str>) -> AppResult<Option<CommentKind>> {
    k.map(|k| {
        CommentKind::parse(k)
            .ok_or_else(|| AppError::field("kind", "not_an_option", "kind is response or signal"))
    })
    .transpose()
}

/// One theme's figures over the period. Shares are proportions (0 to 1); `None` is "too few to report".
#[derive(Debug, Clone, PartialEq)]
pub struct ThemeFigures {
    pub id: String,
    pub label: String,
    pub mentions: u64,
    pub negative: u64,
    pub share: Option<f64>,
    pub pct_negative: Option<f64>,
    pub lift: Option<f64>,
    pub lift_p: Option<f64>,
    pub lift_q: Option<f64>,
    /// Mentions and comments in the latest full week, and in the baseline weeks before it.
    pub latest: (u64, u64),
    pub baseline: (u64, u64),
    pub rise_p: Option<f64>,
    pub rise_q: Option<f64>,
    pub emerging: bool,
}

/// The explorer's figures from weekly counts. `weeks` are the period's week starts in order (the last one is the
/// latest full week); `totals` maps a week to (comments, negative comments); `themes` maps (theme, week) to
/// (mentions, negative mentions). Pure, so tests can check it against figures computed by hand.
pub fn theme_figures(
    taxonomy: &[(String, String)],
    weeks: &[i64],
    totals: &BTreeMap<i64, (u64, u64)>,
    themes: &BTreeMap<(String, i64), (u64, u64)>,
    rule: SmallCountRule,
) -> (u64, u64, Vec<ThemeFigures>) {
    let n: u64 = totals.values().map(|t| t.0).sum();
    let n_neg: u64 = totals.values().map(|t| t.1).sum();
    let last = weeks.last().copied();
    let base_weeks: Vec<i64> = weeks
        .iter()
        .rev()
        .skip(1)
        .take(BASELINE_WEEKS)
        .copied()
        .collect();
    let week_total = |w: i64| totals.get(&w).map(|t| t.0).unwrap_or(0);
    let mut rows: Vec<ThemeFigures> = taxonomy
        .iter()
        .map(|(id, label)| {
            let get = |w: i64| themes.get(&(id.clone(), w)).copied().unwrap_or((0, 0));
            let (mentions, negative) = weeks.iter().fold((0, 0), |a, w| {
                let c = get(*w);
                (a.0 + c.0, a.1 + c.1)
            });
            let share = (rule.allows(n)).then(|| mentions as f64 / n as f64);
            let pct_negative = (rule.allows(mentions)).then(|| negative as f64 / mentions as f64);
            let testable = rule.allows(mentions) && rule.allows(n_neg) && rule.allows(n - n_neg);
            let (lift, lift_p) = if testable {
                let lift = (negative as f64 / n_neg as f64) / (mentions as f64 / n as f64);
                let p = two_proportion_z(
                    Count {
                        positive: negative,
                        n: n_neg,
                    },
                    Count {
                        positive: mentions - negative,
                        n: n - n_neg,
                    },
                )
                .ok()
                .map(|z| z.p_value);
                (Some(lift), p)
            } else {
                (None, None)
            };
            let latest = last.map(|w| (get(w).0, week_total(w))).unwrap_or((0, 0));
            let baseline = base_weeks
                .iter()
                .fold((0, 0), |a, w| (a.0 + get(*w).0, a.1 + week_total(*w)));
            let rise_p = (base_weeks.len() == BASELINE_WEEKS
                && rule.allows(latest.0)
                && rule.allows(latest.1)
                && rule.allows(baseline.1))
            .then(|| {
                two_proportion_z(
                    Count {
                        positive: latest.0,
                        n: latest.1,
                    },
                    Count {
                        positive: baseline.0,
                        n: baseline.1,
                    },
                )
                .ok()
                .map(|z| z.p_value)
            })
            .flatten();
            ThemeFigures {
                id: id.clone(),
                label: label.clone(),
                mentions,
                negative,
                share,
                pct_negative,
                lift,
                lift_p,
                lift_q: None,
                latest,
                baseline,
                rise_p,
                rise_q: None,
                emerging: false,
            }
        })
        .collect();
    // Benjamini-Hochberg across the themes that could be tested, separately for lift and for rise.
    let adjust = |rows: &mut Vec<ThemeFigures>,
                  get: fn(&ThemeFigures) -> Option<f64>,
                  set: fn(&mut ThemeFigures, f64)| {
        let idx: Vec<usize> = (0..rows.len())
            .filter(|i| get(&rows[*i]).is_some())
            .collect();
        let ps: Vec<f64> = idx.iter().filter_map(|i| get(&rows[*i])).collect();
        if let Ok(qs) = benjamini_hochberg(&ps) {
            for (i, q) in idx.into_iter().zip(qs) {
                set(&mut rows[i], q);
            }
        }
    };
    adjust(&mut rows, |r| r.lift_p, |r, q| r.lift_q = Some(q));
    adjust(&mut rows, |r| r.rise_p, |r, q| r.rise_q = Some(q));
    for r in &mut rows {
        let rose = r.latest.1 > 0
            && r.baseline.1 > 0
            && (r.latest.0 as f64 / r.latest.1 as f64)
                > (r.baseline.0 as f64 / r.baseline.1 as f64);
        r.emerging = rose && r.rise_q.is_some_and(|q| q < ALPHA);
    }
    rows.sort_by(|a, b| b.mentions.cmp(&a.mentions).then(a.id.cmp(&b.id)));
    (n, n_neg, rows)
}

fn pct(x: Option<f64>) -> String {
    x.map(|x| format!("{:.1}%", x * 100.0))
        .unwrap_or_else(|| "too few to report".to_string())
}

fn p_words(p: Option<f64>) -> String {
    match p {
        None => "not tested".to_string(),
        Some(p) if p < 0.001 => "< 0.001".to_string(),
        Some(p) => format!("{p:.3}"),
    }
}

#[derive(Deserialize, Default, Debug)]
pub struct ExplorerQuery {
    weeks: Option<String>,
    kind: Option<String>,
    service: Option<String>,
    theme: Option<String>,
    table: Option<String>,
}

/// The explorer's inputs read and its figures computed.
struct Explorer {
    weeks: Vec<(NaiveDate, (i64, i64))>,
    n: u64,
    n_neg: u64,
    rows: Vec<ThemeFigures>,
    totals: BTreeMap<i64, (u64, u64)>,
    themes: BTreeMap<(String, i64), (u64, u64)>,
    chosen: Option<String>,
    filter: CommentFilter,
    count: u64,
}

/// The period: `count` full local weeks (Monday to Sunday), the last being the week before the current one.
fn full_weeks(zone: &Zone, count: u64) -> Vec<(NaiveDate, (i64, i64))> {
    let this_monday = report::week_start(heard_store::now_ms(), zone);
    (1..=count)
        .rev()
        .filter_map(|i| {
            let w = this_monday.checked_sub_days(Days::new(7 * i))?;
            let next = w.checked_add_days(Days::new(7))?;
            Some((w, (zone.day_start_ms(w), zone.day_start_ms(next))))
        })
        .collect()
}

async fn explore(state: &AppState, m: &Viewer, q: &ExplorerQuery) -> AppResult<Explorer> {
    let zone = m.org.time_zone;
    let count = match nonempty(&q.weeks) {
        None => DEFAULT_WEEKS,
        Some(w) => w
            .parse::<u64>()
            .ok()
            .filter(|w| PERIODS.contains(w))
            .ok_or_else(|| AppError::field("weeks", "not_an_option", "weeks is 8, 12, 26 or 52"))?,
    };
    let filter = CommentFilter {
        kind: kind_param(nonempty(&q.kind))?,
        service_id: nonempty(&q.service)
            .map(|s| s.parse::<ServiceId>())
            .transpose()?,
        ..Default::default()
    };
    let weeks = full_weeks(&zone, count);
    let ranges: Vec<(i64, i64)> = weeks.iter().map(|(_, r)| *r).collect();
    let (tw, th) = state
        .store
        .theme_weeks(m.org_id(), &filter, &ranges)
        .await?;
    let totals: BTreeMap<i64, (u64, u64)> = tw
        .iter()
        .map(|t| (t.week, (t.items.max(0) as u64, t.negative.max(0) as u64)))
        .collect();
    let themes: BTreeMap<(String, i64), (u64, u64)> = th
        .iter()
        .map(|t| {
            (
                (t.theme.clone(), t.week),
                (t.items.max(0) as u64, t.negative.max(0) as u64),
            )
        })
        .collect();
    let taxonomy = state.pipeline.themes();
    let starts: Vec<i64> = ranges.iter().map(|r| r.0).collect();
    let (n, n_neg, rows) = theme_figures(
        &taxonomy,
        &starts,
        &totals,
        &themes,
        SmallCountRule::default(),
    );
    let chosen = filters::theme(nonempty(&q.theme))?
        .filter(|t| taxonomy.iter().any(|(id, _)| id == t))
        .or_else(|| {
            rows.first()
                .filter(|r| r.mentions > 0)
                .map(|r| r.id.clone())
        });
    Ok(Explorer {
        weeks,
        n,
        n_neg,
        rows,
        totals,
        themes,
        chosen,
        filter,
        count,
    })
}

impl Explorer {
    fn period_words(&self, zone: &Zone) -> String {
        let (Some(first), Some(last)) = (self.weeks.first(), self.weeks.last()) else {
            return String::new();
        };
        let end = last.0.checked_add_days(Days::new(6)).unwrap_or(last.0);
        format!(
            "{} weeks, {} to {} ({})",
            self.count,
            first.0.format("%b %-d, %Y"),
            end.format("%b %-d, %Y"),
            zone.name()
        )
    }

    /// The weekly table of one theme: (week, comments, mentions, share or too few).
    fn weekly(&self, theme: &str) -> Vec<(NaiveDate, u64, u64, Option<f64>)> {
        let rule = SmallCountRule::default();
        self.weeks
            .iter()
            .map(|(d, (start, _))| {
                let n = self.totals.get(start).map(|t| t.0).unwrap_or(0);
                let x = self
                    .themes
                    .get(&(theme.to_string(), *start))
                    .map(|t| t.0)
                    .unwrap_or(0);
                (*d, n, x, rule.allows(n).then(|| x as f64 / n as f64))
            })
            .collect()
    }
}

/// The themes explorer.
pub async fn explorer(
    State(state): State<AppState>,
    m: Viewer,
    Query(q): Query<ExplorerQuery>,
) -> AppResult<Response> {
    let zone = m.org.time_zone;
    let e = explore(&state, &m, &q).await?;
    let services = state.store.services(m.org_id()).await?;
    let period = e.period_words(&zone);
    let latest = e.weeks.last().map(|w| w.0.format("%b %-d, %Y").to_string());
    let baseline_from = e
        .weeks
        .iter()
        .rev()
        .nth(BASELINE_WEEKS)
        .map(|w| w.0.format("%b %-d, %Y").to_string());
    let label_of = |id: &str| {
        e.rows
            .iter()
            .find(|r| r.id == id)
            .map(|r| r.label.clone())
            .unwrap_or_default()
    };
    let (svg, weekly) = match &e.chosen {
        Some(t) => {
            let weekly = e.weekly(t);
            let bars: Vec<chart::WeekBar> = weekly
                .iter()
                .map(|(d, _, _, s)| chart::WeekBar {
                    week_start: *d,
                    value: s.map(|s| s * 100.0),
                })
                .collect();
            let title = format!("Share of comments about {}", label_of(t).to_lowercase());
            let svg = chart::weekly_bars_svg(
                &bars,
                &title,
                &format!(
                    "{title}, by week (Monday to Sunday), {period}. Weeks with fewer than 11 comments are not shown. The same figures are in the table below the chart."
                ),
                &|v| format!("{v:.0}%"),
            );
            let rows: Vec<Value> = weekly
                .iter()
                .map(|(d, n, x, s)| context! { week => d.format("%b %-d, %Y").to_string(), comments => n, mentions => x, share => pct(*s) })
                .collect();
            (Some(svg), rows)
        }
        None => (None, Vec::new()),
    };
    let rows: Vec<Value> = e
        .rows
        .iter()
        .map(|r| {
            context! {
                id => r.id, label => r.label, mentions => r.mentions, share => pct(r.share),
                pct_negative => pct(r.pct_negative),
                lift => r.lift.map(|l| format!("{l:.2}×")).unwrap_or_else(|| "too few to report".to_string()),
                lift_q => p_words(r.lift_q), lift_significant => r.lift_q.is_some_and(|q| q < ALPHA),
                latest_mentions => r.latest.0, latest_comments => r.latest.1,
                latest_share => pct(SmallCountRule::default().allows(r.latest.1).then(|| r.latest.0 as f64 / r.latest.1.max(1) as f64)),
                baseline_share => pct(SmallCountRule::default().allows(r.baseline.1).then(|| r.baseline.0 as f64 / r.baseline.1.max(1) as f64)),
                baseline_comments => r.baseline.1,
                rise_q => p_words(r.rise_q), emerging => r.emerging,
            }
        })
        .collect();
    let emerging: Vec<Value> = e
        .rows
        .iter()
        .filter(|r| r.emerging)
        .map(|r| context! { id => r.id, label => r.label })
        .collect();
    let params = {
        let mut s = form_urlencoded::Serializer::new(String::new());
        s.append_pair("weeks", &e.count.to_string());
        if let Some(k) = e.filter.kind {
            s.append_pair("kind", k.key());
        }
        if let Some(sv) = e.filter.service_id {
            s.append_pair("service", &sv.to_string());
        }
        s.finish()
    };
    Ok(page(
        &state,
        "themes.html",
        base_ctx(&m, "themes"),
        context! {
            rows => rows, emerging => emerging, n => e.n, n_neg => e.n_neg, period => period,
            latest => latest, baseline_from => baseline_from, baseline_weeks => BASELINE_WEEKS,
            chart => svg.map(Value::from_safe_string), weekly => weekly,
            chosen => e.chosen.clone(), chosen_label => e.chosen.as_deref().map(label_of),
            params => params, periods => PERIODS.to_vec(),
            filter => context! { weeks => e.count, kind => e.filter.kind.map(CommentKind::key),
                service => e.filter.service_id.map(|s| s.to_string()) },
            services => services.iter().map(|s| context!{ id => s.id.to_string(), name => s.name.get("en") }).collect::<Vec<_>>(),
            themes => e.rows.iter().map(|r| context!{ id => r.id, label => r.label }).collect::<Vec<_>>(),
        },
    ))
}

/// The explorer's tables as CSV: `table=themes` (one row per theme, the default) or `table=weekly` (one row per
/// theme and week).
pub async fn explorer_csv(
    State(state): State<AppState>,
    m: Viewer,
    Query(q): Query<ExplorerQuery>,
) -> AppResult<Response> {
    let zone = m.org.time_zone;
    let e = explore(&state, &m, &q).await?;
    let period = e.period_words(&zone);
    let mut w = csv::Writer::from_writer(Vec::new());
    let cell = |x: Option<f64>| x.map(|x| format!("{x:.4}")).unwrap_or_default();
    let (name, result) = match nonempty(&q.table).unwrap_or("themes") {
        "themes" => {
            let mut r = w.write_record([
                "theme",
                "theme_id",
                "period",
                "comments",
                "negative_comments",
                "mentions",
                "negative_mentions",
                "share",
                "share_negative",
                "lift_among_negative",
                "lift_p",
                "lift_q",
                "latest_week_mentions",
                "latest_week_comments",
                "baseline_mentions",
                "baseline_comments",
                "rise_p",
                "rise_q",
                "emerging",
            ]);
            for t in &e.rows {
                if r.is_err() {
                    break;
                }
                r = w.write_record([
                    crate::export::csv_safe(&t.label),
                    t.id.clone(),
                    period.clone(),
                    e.n.to_string(),
                    e.n_neg.to_string(),
                    t.mentions.to_string(),
                    t.negative.to_string(),
                    cell(t.share),
                    cell(t.pct_negative),
                    cell(t.lift),
                    cell(t.lift_p),
                    cell(t.lift_q),
                    t.latest.0.to_string(),
                    t.latest.1.to_string(),
                    t.baseline.0.to_string(),
                    t.baseline.1.to_string(),
                    cell(t.rise_p),
                    cell(t.rise_q),
                    if t.emerging { "yes" } else { "no" }.to_string(),
                ]);
            }
            ("heard-themes.csv", r)
        }
        "weekly" => {
            let mut r = w.write_record([
                "theme", "theme_id", "week_of", "comments", "mentions", "share",
            ]);
            for t in &e.rows {
                for (d, n, x, s) in e.weekly(&t.id) {
                    if r.is_err() {
                        break;
                    }
                    r = w.write_record([
                        crate::export::csv_safe(&t.label),
                        t.id.clone(),
                        d.to_string(),
                        n.to_string(),
                        x.to_string(),
                        cell(s),
                    ]);
                }
            }
            ("heard-themes-weekly.csv", r)
        }
        _ => {
            return Err(AppError::field(
                "table",
                "not_an_option",
                "table is themes or weekly",
            ));
        }
    };
    result.map_err(|e| AppError::Internal(e.to_string()))?;
    let body = w
        .into_inner()
        .map_err(|e| AppError::Internal(e.to_string()))?;
    super::csv_table::attachment(name, Body::from(body))
}

/// A snippet as HTML: the text escaped, then each match between the store's marks wrapped in `<mark>`. Marks
/// cannot come from the text (control characters are refused at the edge), and a mark left open is closed, so the
/// result is always well-formed and holds no markup but `<mark>`.
pub fn snippet_html(snippet: &str) -> String {
    let snippet = crate::input::without_bidi_controls(snippet);
    let mut out = String::with_capacity(snippet.len() + 32);
    let mut open = false;
    for c in snippet.chars() {
        match c {
            MATCH_START if !open => {
                out.push_str("<mark>");
                open = true;
            }
            MATCH_END if open => {
                out.push_str("</mark>");
                open = false;
            }
            MATCH_START | MATCH_END => {}
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    if open {
        out.push_str("</mark>");
    }
    out
}

#[derive(Deserialize, Default, Debug)]
pub struct SearchParams {
    q: Option<String>,
    kind: Option<String>,
    service: Option<String>,
    sentiment: Option<String>,
    theme: Option<String>,
    from: Option<String>,
    to: Option<String>,
    before: Option<String>,
}

impl SearchParams {
    fn filter(&self, zone: &Zone) -> AppResult<CommentFilter> {
        let (from_ms, to_ms) = filters::local_days(zone, &self.from, &self.to)?;
        Ok(CommentFilter {
            kind: kind_param(nonempty(&self.kind))?,
            service_id: nonempty(&self.service)
                .map(|s| s.parse::<ServiceId>())
                .transpose()?,
            sentiment: filters::sentiment(&self.sentiment)?,
            theme: filters::theme(nonempty(&self.theme))?,
            from_ms,
            to_ms,
        })
    }

    fn params(&self) -> String {
        filters::query_string(&[
            ("q", &self.q),
            ("kind", &self.kind),
            ("service", &self.service),
            ("sentiment", &self.sentiment),
            ("theme", &self.theme),
            ("from", &self.from),
            ("to", &self.to),
        ])
    }
}

fn hit_view(
    h: &SearchHit,
    services: &BTreeMap<Uuid, String>,
    labels: &BTreeMap<String, String>,
) -> Value {
    let themes: Vec<String> = h
        .themes
        .as_deref()
        .unwrap_or("")
        .split(',')
        .filter(|t| !t.is_empty())
        .map(|t| labels.get(t).cloned().unwrap_or_else(|| t.to_string()))
        .collect();
    context! {
        kind => h.kind, response => h.kind == "response", id => h.item_id.to_string(), at => h.at_ms,
        service => h.service_id.and_then(|s| services.get(&s).cloned()),
        sentiment => h.sentiment.as_deref().map(sentiment_word), themes => themes,
        language => crate::i18n::language_name(&h.language, "en"),
        snippet => Value::from_safe_string(snippet_html(&h.snippet)),
    }
}

/// Search of comments: responses' free-text answers and signals, as stored (redacted), newest first.
pub async fn search(
    State(state): State<AppState>,
    m: Viewer,
    Query(q): Query<SearchParams>,
) -> AppResult<Response> {
    let f = q.filter(&m.org.time_zone)?;
    let query = SearchQuery::parse(nonempty(&q.q).unwrap_or(""));
    let cursor = nonempty(&q.before)
        .map(|s| s.parse::<SearchCursor>())
        .transpose()?;
    let found = state
        .store
        .search_comments(m.org_id(), &query, &f, cursor, PAGE)
        .await?;
    let hits = found.hits;
    let next = (hits.len() as i64 == PAGE)
        .then(|| hits.last().map(|h| h.cursor().to_string()))
        .flatten();
    let services: BTreeMap<Uuid, String> = state
        .store
        .services(m.org_id())
        .await?
        .into_iter()
        .map(|s| (*s.id.as_uuid(), s.name.get("en").to_string()))
        .collect();
    let taxonomy = state.pipeline.themes();
    let labels: BTreeMap<String, String> = taxonomy.iter().cloned().collect();
    Ok(page(
        &state,
        "search.html",
        base_ctx(&m, "search"),
        context! {
            searched => !query.is_empty(), typed => nonempty(&q.q).is_some(),
            matches => found.matches, more => found.more,
            hits => hits.iter().map(|h| hit_view(h, &services, &labels)).collect::<Vec<_>>(),
            next => next, params => q.params(), first_page => cursor.is_none(),
            filter => context!{ q => q.q, kind => q.kind, service => q.service, sentiment => q.sentiment,
                theme => q.theme, from => q.from, to => q.to },
            services => services.iter().map(|(id, name)| context!{ id => id.to_string(), name => name }).collect::<Vec<_>>(),
            themes => taxonomy.iter().map(|(id, label)| context!{ id => id, label => label }).collect::<Vec<_>>(),
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snippets_are_escaped_and_marks_balanced() {
        assert_eq!(
            snippet_html("a <script>\u{1}wait\u{2} & \"x\""),
            "a &lt;script&gt;<mark>wait</mark> &amp; &quot;x&quot;"
        );
        assert_eq!(snippet_html("\u{2}x\u{1}y\u{1}z"), "x<mark>yz</mark>");
    }

    #[test]
    fn figures_by_hand() {
        let tax = vec![
            ("a".to_string(), "A".to_string()),
            ("b".to_string(), "B".to_string()),
        ];
        let weeks = [0, 1, 2, 3, 4];
        let mut totals = BTreeMap::new();
        let mut themes = BTreeMap::new();
        for w in weeks {
            totals.insert(w, (100, 40));
            themes.insert(("a".to_string(), w), (10, 8));
        }
        themes.insert(("a".to_string(), 4), (40, 20));
        let (n, n_neg, rows) =
            theme_figures(&tax, &weeks, &totals, &themes, SmallCountRule::default());
        assert_eq!((n, n_neg), (500, 200));
        let a = rows.iter().find(|r| r.id == "a").unwrap();
        assert_eq!((a.mentions, a.negative), (80, 52));
        assert_eq!(a.share, Some(80.0 / 500.0));
        assert_eq!(a.pct_negative, Some(52.0 / 80.0));
        let lift = (52.0 / 200.0) / (80.0 / 500.0);
        assert!((a.lift.unwrap() - lift).abs() < 1e-12);
        assert_eq!(a.latest, (40, 100));
        assert_eq!(a.baseline, (40, 400));
        assert!(a.emerging);
        let b = rows.iter().find(|r| r.id == "b").unwrap();
        assert_eq!(b.mentions, 0);
        assert!(!b.emerging);
        assert_eq!(b.pct_negative, None);
    }
}
