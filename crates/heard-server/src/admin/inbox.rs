//! What arrives besides survey responses, for the people who act on it: the signals inbox (filters, urgent first,
//! keyset pages) and one signal in full; the events of a service by event type and local week, with a chart and its
//! table; and one pseudonymous person's timeline across channels.
//!
//! Who sees what: the inbox, a signal and the events view are for viewers and up, like responses: their text is
//! stored redacted, and the enrichment is the text engine's reading. A person's timeline joins everything one
//! person did and said, so it is for analysts and up, like responses' contact details (PRODUCT.md: analysts work
//! cases; viewers watch dashboards); links to it are shown only to them. The timeline never shows contact details:
//! only the person key's short form, channels, sources, event types, measures and redacted text.

use std::collections::{BTreeMap, BTreeSet};

use axum::extract::{Path, Query, State};
use axum::response::Response;
use chrono::{Days, NaiveDate};
use heard_domain::event::{EventType, Unit};
use heard_domain::signal::SignalSource;
use heard_domain::{ServiceId, SignalId, Zone, chart, report};
use heard_store::inbox::{InboxSignal, SignalCursor, SignalFilter, UrgencyFilter};
use heard_store::intake::EventRecord;
use minijinja::{Value, context};
use serde::Deserialize;
use serde_json::Value as Json;
use uuid::Uuid;

use super::filters::{self, date, nonempty};
use super::{base_ctx, page};
use crate::auth::{Analyst, Viewer};
use crate::labels::intake as words;
use crate::labels::sentiment_word;
use crate::{AppError, AppResult, AppState};

/// Signals on one page of the inbox.
const PAGE: i64 = 50;
/// The most weeks the events view reads at once (two years).
pub(super) const MAX_WEEKS: usize = 104;
/// Weeks shown when no dates are chosen.
pub(super) const DEFAULT_WEEKS: u64 = 12;
/// The most items of each kind (responses, signals, events) a person's timeline reads: their newest.
pub(super) const TIMELINE_LIMIT: i64 = 500;

/// A person key's short form, for people: its first 8 hex digits (the key itself is 32).
pub fn short_key(key: &str) -> String {
    key.chars().take(8).collect()
}

/// Whether `s` has the form of a person key (32 lower-case hex digits), so no other text reaches the store.
pub(super) fn is_person_key(s: &str) -> bool {
    s.len() == 32
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

#[derive(Deserialize, Default, Debug)]
pub struct InboxQuery {
    service: Option<String>,
    source: Option<String>,
    sentiment: Option<String>,
    theme: Option<String>,
    urgency: Option<String>,
    from: Option<String>,
    to: Option<String>,
    before: Option<String>,
}

impl InboxQuery {
    /// The filter; `from` and `to` are local days of the organization, both included.
    pub(super) fn filter(&self, zone: &Zone) -> AppResult<SignalFilter> {
        let (from_ms, to_ms) = filters::local_days(zone, &self.from, &self.to)?;
        Ok(SignalFilter {
            service_id: nonempty(&self.service)
                .map(|s| s.parse::<ServiceId>())
                .transpose()?,
            source: nonempty(&self.source)
                .map(|s| SignalSource::parse("source", s).map(|s| s.key().to_string()))
                .transpose()?,
            sentiment: filters::sentiment(&self.sentiment)?,
            theme: filters::theme(nonempty(&self.theme))?,
            urgency: match nonempty(&self.urgency) {
                None => None,
                Some("urgent") => Some(UrgencyFilter::Urgent),
                Some("crisis") => Some(UrgencyFilter::Crisis),
                Some("threat") => Some(UrgencyFilter::Threat),
                Some("not_urgent") => Some(UrgencyFilter::NotUrgent),
                Some(_) => {
                    return Err(AppError::field(
                        "urgency",
                        "not_an_option",
                        "urgency is urgent, crisis, threat or not_urgent",
                    ));
                }
            },
            from_ms,
            to_ms,
        })
    }

    /// The query string without the cursor, for the next page's link.
    fn params(&self) -> String {
        filters::query_string(&[
            ("service", &self.service),
            ("source", &self.source),
            ("sentiment", &self.sentiment),
            ("theme", &self.theme),
            ("urgency", &self.urgency),
            ("from", &self.from),
            ("to", &self.to),
        ])
    }
}

/// The text engine's reading of a signal, in words.
fn enrichment_view(e: Option<&str>) -> Value {
    let e: Json = e
        .and_then(|e| serde_json::from_str(e).ok())
        .unwrap_or(Json::Null);
    let list = |k: &str, f: fn(&str) -> &str| -> Vec<String> {
        e[k].as_array()
            .into_iter()
            .flatten()
            .filter_map(Json::as_str)
            .map(|s| f(s).to_string())
            .collect()
    };
    let themes: Vec<String> = e["themes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| t["label"].as_str().map(str::to_string))
        .collect();
    context! {
        sentiment => e["sentiment"]["label"].as_str().map(sentiment_word),
        score => e["sentiment"]["score"].as_f64().map(|s| format!("{s:+.2}").replace('-', "\u{2212}")),
        themes => themes,
        intent => e["intent"].as_str().map(words::intent_words),
        emotions => list("emotions", words::emotion_words),
        urgency => list("urgency", words::urgency_words),
    }
}

fn signal_view(s: &InboxSignal, services: &BTreeMap<Uuid, String>) -> Value {
    let snippet: String = s.text.chars().take(200).collect();
    context! {
        id => s.id.to_string(), source => words::source_words(&s.source), author => words::author_words(&s.author),
        staff => s.author == "staff", occurred_at => s.occurred_at, received_at => s.received_at,
        service => s.service_id.and_then(|id| services.get(&id).cloned()),
        rating => s.rating, url => s.url, language => crate::i18n::language_name(&s.language, "en"),
        text => s.text, snippet => snippet, cut => s.text.chars().count() > 200,
        urgent => s.urgent, e => enrichment_view(s.enrichment.as_deref()),
        // Stored with enrichment left to the `imports.enrich` job: sentiment, themes and intent are not read yet.
        pending => s.enrichment.is_none() && !s.text.trim().is_empty(),
        person => s.person_key.clone(), person_short => s.person_key.as_deref().map(short_key),
    }
}

pub(super) async fn service_names(
    state: &AppState,
    org: heard_domain::OrgId,
) -> AppResult<BTreeMap<Uuid, String>> {
    Ok(state
        .store
        .services(org)
        .await?
        .into_iter()
        .map(|s| (*s.id.as_uuid(), s.name.get("en").to_string()))
        .collect())
}

/// The signals inbox: urgent first, then newest, 50 to a page.
pub async fn list(
    State(state): State<AppState>,
    m: Viewer,
    Query(q): Query<InboxQuery>,
) -> AppResult<Response> {
    let f = q.filter(&m.org.time_zone)?;
    let cursor = nonempty(&q.before)
        .map(|s| s.parse::<SignalCursor>())
        .transpose()?;
    let rows = state
        .store
        .signals_page(m.org_id(), &f, cursor, PAGE)
        .await?;
    let total = state.store.count_signals(m.org_id(), &f).await?;
    let next = (rows.len() as i64 == PAGE)
        .then(|| rows.last().map(|r| r.cursor().to_string()))
        .flatten();
    let services = service_names(&state, m.org_id()).await?;
    Ok(page(
        &state,
        "signals.html",
        base_ctx(&m, "signals"),
        context! {
            rows => rows.iter().map(|r| signal_view(r, &services)).collect::<Vec<_>>(), total => total, next => next,
            params => q.params(), first_page => cursor.is_none(),
            filter => context!{ service => q.service, source => q.source, sentiment => q.sentiment, theme => q.theme,
                urgency => q.urgency, from => q.from, to => q.to },
            services => services.iter().map(|(id, name)| context!{ id => id.to_string(), name => name }).collect::<Vec<_>>(),
            sources => SignalSource::ALL.iter().map(|s| context!{ key => s.key(), label => words::source_words(s.key()) }).collect::<Vec<_>>(),
            themes => state.pipeline.themes().into_iter().map(|(id, label)| context!{ id => id, label => label }).collect::<Vec<_>>(),
            urgencies => ["urgent", "crisis", "threat", "not_urgent"].iter().map(|k| context!{ key => k, label => words::urgency_words(k) }).collect::<Vec<_>>(),
        },
    ))
}

/// One signal in full: its redacted text or a transcript's turns with who spoke, and what the text engine read.
pub async fn show(
    State(state): State<AppState>,
    m: Viewer,
    Path((_, id)): Path<(String, String)>,
) -> AppResult<Response> {
    let id: SignalId = id.parse().map_err(|_| AppError::NotFound)?;
    let s = state.store.signal(m.org_id(), id).await?;
    let services = service_names(&state, m.org_id()).await?;
    let turns: Vec<Value> = s
        .turns
        .as_deref()
        .and_then(|t| serde_json::from_str::<Vec<Json>>(t).ok())
        .unwrap_or_default()
        .iter()
        .map(|t| {
            let speaker = t["speaker"].as_str().unwrap_or("");
            context! { speaker => words::speaker_words(speaker), customer => speaker == "customer", text => t["text"].as_str().unwrap_or("") }
        })
        .collect();
    let touchpoint = match s.touchpoint_id {
        Some(t) => state
            .store
            .touchpoint(m.org_id(), heard_domain::TouchpointId::from_uuid(t))
            .await
            .ok()
            .map(|t| format!("{} ({})", t.name.get("en"), t.channel.label())),
        None => None,
    };
    // What a form added beside the text: a staff observation's answers and its sender, and whether the person
    // asked for a reply. The reply contact is opened from its sealed form for the roles that see responses'
    // contact details (analysts and up), never for viewers.
    let form = state.store.signal_form_fields(m.org_id(), s.id).await?;
    let attrs: serde_json::Map<String, Json> = form
        .attributes
        .as_deref()
        .and_then(|a| serde_json::from_str(a).ok())
        .unwrap_or_default();
    let sent_by = match form.sent_by {
        Some(u) => state
            .store
            .user(heard_domain::UserId::from_uuid(u))
            .await
            .ok()
            .map(|u| u.name),
        None => None,
    };
    let reply_wanted = attrs.get("reply_wanted") == Some(&Json::Bool(true));
    let reply_to = match (&form.sealed_contact, m.role >= heard_domain::Role::Analyst) {
        (Some(sealed), true) => Some(
            state
                .pipeline
                .sealer()
                .open(sealed)
                .unwrap_or_else(|| "(cannot be opened with this server's key)".into()),
        ),
        _ => None,
    };
    let observation = context! {
        frequency => attrs.get("frequency").and_then(|f| f.as_str()).and_then(heard_domain::voice::Frequency::parse).map(heard_domain::voice::Frequency::label),
        fix => attrs.get("fix").and_then(|f| f.as_str()),
        people => attrs.get("people_affected").and_then(|n| n.as_i64()),
    };
    Ok(page(
        &state,
        "signal.html",
        base_ctx(&m, "signals"),
        context! { s => signal_view(&s, &services), turns => turns, touchpoint => touchpoint,
        observation => observation, sent_by => sent_by, reply_wanted => reply_wanted, reply_to => reply_to,
        tags => state.store.item_tags(m.org_id(), heard_store::rules::HitKind::Signal, *id.as_uuid()).await?,
        cases => state.store.cases_linked_to(m.org_id(), heard_domain::case::LinkKind::Signal, *id.as_uuid()).await?
            .into_iter().map(|c| context! { id => c.id.to_string(), number => c.number, title => c.title, status => c.status }).collect::<Vec<_>>() },
    ))
}

#[derive(Deserialize, Default, Debug)]
pub struct EventsQuery {
    service: Option<String>,
    from: Option<String>,
    to: Option<String>,
    chart: Option<String>,
    before: Option<String>,
}

/// The local weeks (Monday to Sunday in `zone`) from the one holding `from` to the one holding `to`, as
/// (Monday, [start, end) in milliseconds).
pub(super) fn local_weeks(
    zone: &Zone,
    from: NaiveDate,
    to: NaiveDate,
) -> Vec<(NaiveDate, (i64, i64))> {
    let monday = |d: NaiveDate| report::week_start(zone.day_start_ms(d), zone);
    let mut w = monday(from);
    let last = monday(to);
    let mut out = Vec::new();
    while w <= last && out.len() <= MAX_WEEKS {
        let next = w.checked_add_days(Days::new(7)).unwrap_or(w);
        out.push((w, (zone.day_start_ms(w), zone.day_start_ms(next))));
        if next == w {
            break;
        }
        w = next;
    }
    out
}

/// A measure's figure as people read it: a duration for seconds, a number otherwise.
fn measure_words(unit: Unit, v: f64) -> String {
    match unit {
        Unit::Seconds => chart::duration_words(v),
        Unit::Count => {
            if (v - v.round()).abs() < 0.005 {
                format!("{}", v.round() as i64)
            } else {
                format!("{v:.2}")
            }
        }
    }
}

/// The events of one service by event type and local week: counts, and for each measure its mean, median and
/// 90th percentile (seconds, shown as durations) or its total and mean (counts); a chart of one chosen figure with
/// the table of all of them; and the newest events, each linked to its person's timeline for analysts.
pub async fn events(
    State(state): State<AppState>,
    m: Viewer,
    Query(q): Query<EventsQuery>,
) -> AppResult<Response> {
    let zone = m.org.time_zone;
    let services = state.store.services(m.org_id()).await?;
    let service = match nonempty(&q.service) {
        Some(s) => {
            let id: ServiceId = s.parse()?;
            Some(state.store.service(m.org_id(), id).await?)
        }
        None => services.first().cloned(),
    };
    let today = zone.date(heard_store::now_ms());
    let to = date(nonempty(&q.to), "to")?.unwrap_or(today);
    let from = date(nonempty(&q.from), "from")?.unwrap_or_else(|| {
        to.checked_sub_days(Days::new(7 * (DEFAULT_WEEKS - 1)))
            .unwrap_or(to)
    });
    filters::check_order(from, to)?;
    let weeks = local_weeks(&zone, from, to);
    if weeks.len() > MAX_WEEKS {
        return Err(AppError::field(
            "from",
            "too_long",
            format!("choose at most {MAX_WEEKS} weeks"),
        ));
    }
    let catalogue: Vec<EventType> = state.store.event_types(m.org_id()).await?;
    let unit_of = |ty: &str, measure: &str| {
        catalogue
            .iter()
            .find(|t| t.name == ty)
            .and_then(|t| t.measure(measure))
            .map(|m| m.unit)
            .unwrap_or(Unit::Count)
    };
    let type_label = |ty: &str| {
        catalogue
            .iter()
            .find(|t| t.name == ty)
            .map(|t| t.label.clone())
            .unwrap_or_else(|| ty.to_string())
    };
    let Some(service) = service else {
        return Ok(page(
            &state,
            "events.html",
            base_ctx(&m, "events"),
            context! { service => Value::from(()), services => Vec::<Value>::new() },
        ));
    };
    // Filter boundaries, in the organization's local days: the first and last weeks are counted whole.
    let ranges: Vec<(i64, i64)> = weeks.iter().map(|(_, r)| *r).collect();
    let (counts, measures) = state
        .store
        .event_weeks(m.org_id(), service.id, &zone, &ranges)
        .await?;
    let rollups_note = super::dashboard::rollups_note(&state, m.org_id(), &zone).await?;

    // Types present, with the measures they carried, in the catalogue's order.
    let mut present: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for c in &counts {
        present.entry(c.event_type.as_str()).or_default();
    }
    for mm in &measures {
        present
            .entry(mm.event_type.as_str())
            .or_default()
            .insert(mm.measure.as_str());
    }
    let mut types: Vec<&str> = present.keys().copied().collect();
    types.sort_by_key(|t| {
        catalogue
            .iter()
            .position(|c| c.name == *t)
            .unwrap_or(usize::MAX)
    });

    // What can be charted: each type's events per week, and each measure's median (seconds) or total (counts).
    let mut options: Vec<(String, String)> = Vec::new();
    for t in &types {
        options.push((t.to_string(), format!("{}: events per week", type_label(t))));
        for name in &present[t] {
            let what = match unit_of(t, name) {
                Unit::Seconds => "median",
                Unit::Count => "total",
            };
            options.push((
                format!("{t}.{name}"),
                format!(
                    "{}: {what} {} per week",
                    type_label(t),
                    words::measure_words(name).to_lowercase()
                ),
            ));
        }
    }
    let chosen = nonempty(&q.chart)
        .filter(|c| options.iter().any(|(k, _)| k == c))
        .map(str::to_string)
        .or_else(|| {
            // The busiest type by default.
            let mut by_type: BTreeMap<&str, i64> = BTreeMap::new();
            for c in &counts {
                *by_type.entry(c.event_type.as_str()).or_default() += c.events;
            }
            by_type
                .into_iter()
                .max_by_key(|(t, n)| (*n, std::cmp::Reverse(*t)))
                .map(|(t, _)| t.to_string())
        });
    let chart_label = chosen
        .as_ref()
        .and_then(|c| options.iter().find(|(k, _)| k == c))
        .map(|(_, l)| l.clone())
        .unwrap_or_default();
    let svg = chosen.as_ref().map(|c| {
        let (ty, measure) = match c.split_once('.') {
            Some((t, mname)) => (t, Some(mname)),
            None => (c.as_str(), None),
        };
        let unit = measure.map(|mname| unit_of(ty, mname)).unwrap_or(Unit::Count);
        let bars: Vec<chart::WeekBar> = weeks
            .iter()
            .map(|(d, (start, _))| chart::WeekBar {
                week_start: *d,
                value: match measure {
                    None => Some(
                        counts
                            .iter()
                            .find(|x| x.week == *start && x.event_type == ty)
                            .map(|x| x.events as f64)
                            .unwrap_or(0.0),
                    ),
                    Some(mname) => measures
                        .iter()
                        .find(|x| x.week == *start && x.event_type == ty && x.measure == mname)
                        .map(|x| match unit {
                            Unit::Seconds => x.median,
                            Unit::Count => x.sum,
                        }),
                },
            })
            .collect();
        let label = move |v: f64| measure_words(unit, v);
        chart::weekly_bars_svg(
            &bars,
            &format!("{chart_label}, {}", service.name.get("en")),
            &format!(
                "{chart_label}, by week (Monday to Sunday, {}), from the week of {} to the week of {}. The same figures are in the table below the chart.",
                zone.name(),
                weeks.first().map(|w| w.0.format("%b %-d, %Y").to_string()).unwrap_or_default(),
                weeks.last().map(|w| w.0.format("%b %-d, %Y").to_string()).unwrap_or_default(),
            ),
            &label,
        )
    });

    // One table per event type: a row per week.
    let tables: Vec<Value> = types
        .iter()
        .map(|t| {
            let names: Vec<&str> = present[t].iter().copied().collect();
            let columns: Vec<Value> = names
                .iter()
                .flat_map(|n| {
                    let stats: &[&str] = match unit_of(t, n) {
                        Unit::Seconds => &["mean", "median", "p90"],
                        Unit::Count => &["sum", "mean"],
                    };
                    stats.iter().map(move |s| {
                        context! { heading => format!("{}: {}", words::measure_words(n), words::statistic_words(s).to_lowercase()) }
                    })
                })
                .collect();
            let rows: Vec<Value> = weeks
                .iter()
                .map(|(d, (start, _))| {
                    let n = counts
                        .iter()
                        .find(|x| x.week == *start && x.event_type == *t)
                        .map(|x| x.events)
                        .unwrap_or(0);
                    let cells: Vec<String> = names
                        .iter()
                        .flat_map(|name| {
                            let unit = unit_of(t, name);
                            let mm = measures
                                .iter()
                                .find(|x| x.week == *start && x.event_type == *t && x.measure == *name);
                            let stats: Vec<Option<f64>> = match unit {
                                Unit::Seconds => vec![mm.map(|x| x.mean), mm.map(|x| x.median), mm.map(|x| x.p90)],
                                Unit::Count => vec![mm.map(|x| x.sum), mm.map(|x| x.mean)],
                            };
                            stats
                                .into_iter()
                                .map(move |v| v.map(|v| measure_words(unit, v)).unwrap_or_else(|| "—".into()))
                        })
                        .collect();
                    context! { week => d.format("%b %-d, %Y").to_string(), events => n, cells => cells }
                })
                .collect();
            context! { label => type_label(t), columns => columns, rows => rows }
        })
        .collect();

    // The newest events, each linked to its person for analysts.
    let cursor = match nonempty(&q.before) {
        Some(c) => {
            let bad = || {
                AppError::field(
                    "before",
                    "invalid_cursor",
                    "this page link is damaged; start from the first page",
                )
            };
            let (t, id) = c.split_once('_').ok_or_else(bad)?;
            Some((
                t.parse::<i64>().map_err(|_| bad())?,
                id.parse::<Uuid>().map_err(|_| bad())?,
            ))
        }
        None => None,
    };
    let latest = state
        .store
        .service_events_page(m.org_id(), service.id, cursor, 25)
        .await?;
    let next = (latest.len() == 25)
        .then(|| latest.last().map(|e| format!("{}_{}", e.occurred_at, e.id)))
        .flatten();
    let latest: Vec<Value> = latest
        .iter()
        .map(|e| event_view(e, &catalogue, None))
        .collect();
    let mut params = form_urlencoded::Serializer::new(String::new());
    params.append_pair("service", &service.id.to_string());
    for (k, v) in [("from", &q.from), ("to", &q.to), ("chart", &q.chart)] {
        if let Some(v) = nonempty(v) {
            params.append_pair(k, v);
        }
    }
    Ok(page(
        &state,
        "events.html",
        base_ctx(&m, "events"),
        context! {
            service => context!{ id => service.id.to_string(), name => service.name.get("en") },
            services => services.iter().map(|s| context!{ id => s.id.to_string(), name => s.name.get("en") }).collect::<Vec<_>>(),
            from => from.format("%Y-%m-%d").to_string(), to => to.format("%Y-%m-%d").to_string(),
            options => options.iter().map(|(k, l)| context!{ key => k, label => l }).collect::<Vec<_>>(),
            chosen => chosen, chart_label => chart_label,
            chart => svg.map(Value::from_safe_string), tables => tables, latest => latest, next => next,
            params => params.finish(),
            approximate => measures.iter().any(|x| !x.exact),
            rollups_note => rollups_note,
            exact_values => heard_domain::sketch::EXACT_VALUES,
            error_percent => format!("{}", heard_domain::sketch::RELATIVE_ERROR * 100.0),
        },
    ))
}

/// An event as people read it: its type's label, its measures in words (durations for seconds) and its attributes.
fn event_view(e: &EventRecord, catalogue: &[EventType], service: Option<String>) -> Value {
    let ty = catalogue.iter().find(|t| t.name == e.event_type);
    let measures: BTreeMap<String, f64> = serde_json::from_str(&e.measures).unwrap_or_default();
    let measures: Vec<String> = measures
        .iter()
        .map(|(k, v)| {
            let unit = ty
                .and_then(|t| t.measure(k))
                .map(|m| m.unit)
                .unwrap_or(Unit::Count);
            format!("{}: {}", words::measure_words(k), measure_words(unit, *v))
        })
        .collect();
    let attributes: BTreeMap<String, Json> =
        serde_json::from_str(&e.attributes).unwrap_or_default();
    let attributes: Vec<String> = attributes
        .iter()
        .map(|(k, v)| {
            let v = match v {
                Json::String(s) => s.clone(),
                Json::Bool(true) => "yes".into(),
                Json::Bool(false) => "no".into(),
                Json::Null => "—".into(),
                other => other.to_string(),
            };
            format!("{}: {v}", words::measure_words(k))
        })
        .collect();
    context! {
        id => e.id.to_string(), occurred_at => e.occurred_at,
        label => ty.map(|t| t.label.clone()).unwrap_or_else(|| e.event_type.clone()),
        source => if e.source == "api" { "Ingestion API".to_string() } else { e.source.clone() },
        measures => measures, attributes => attributes, service => service,
        person => e.person_key.clone(), person_short => e.person_key.as_deref().map(short_key),
    }
}

/// Where a person's timeline starts when one kind of item reached `TIMELINE_LIMIT`: each kind is read newest first
/// up to the limit, and where one kind was cut, older items of the others are left out too, so the timeline has no
/// gap. `None` when nothing was cut.
pub(super) fn timeline_cutoff(items: &heard_store::inbox::PersonItems) -> Option<i64> {
    let full =
        |n: usize, oldest: Option<i64>| (n as i64 == TIMELINE_LIMIT).then_some(oldest).flatten();
    [
        full(
            items.responses.len(),
            items.responses.last().map(|r| r.submitted_at),
        ),
        full(
            items.signals.len(),
            items.signals.last().map(|s| s.occurred_at),
        ),
        full(
            items.events.len(),
            items.events.last().map(|e| e.occurred_at),
        ),
    ]
    .into_iter()
    .flatten()
    .max()
}

/// One person's responses, signals and events in time order, across channels. Analysts and up; another
/// organization's person (or a key no item has) is not found.
pub async fn person(
    State(state): State<AppState>,
    m: Analyst,
    Path((_, key)): Path<(String, String)>,
) -> AppResult<Response> {
    if !is_person_key(&key) {
        return Err(AppError::NotFound);
    }
    let items = state
        .store
        .person_items(m.org_id(), &key, TIMELINE_LIMIT)
        .await?;
    if items.is_empty() {
        return Err(AppError::NotFound);
    }
    let cutoff = timeline_cutoff(&items);
    let services = service_names(&state, m.org_id()).await?;
    let surveys: BTreeMap<heard_domain::SurveyId, String> = state
        .store
        .surveys(m.org_id(), None)
        .await?
        .into_iter()
        .map(|s| (s.id, s.name))
        .collect();
    let catalogue = state.store.event_types(m.org_id()).await?;
    let mut channels: BTreeSet<String> = BTreeSet::new();
    // (time, kind order, id) keeps the order stable when two items share a millisecond.
    let mut timeline: Vec<((i64, u8, String), Value)> = Vec::new();
    for r in &items.responses {
        let channel = r
            .channel
            .parse::<heard_domain::Channel>()
            .map(|c| c.label().to_string())
            .unwrap_or_else(|_| r.channel.clone());
        channels.insert(format!("Survey response ({channel})"));
        let comment: Vec<String> = r
            .answers
            .values()
            .filter_map(|a| a.as_text().filter(|t| t.len() > 20).map(str::to_string))
            .collect();
        timeline.push((
            (r.submitted_at, 0, r.id.to_string()),
            context! { kind => "response", at => r.submitted_at, id => r.id.to_string(),
                what => format!("Survey response: {}", surveys.get(&r.survey_id).cloned().unwrap_or_default()),
                channel => channel, service => services.get(r.service_id.as_uuid()).cloned(),
                text => comment.join(" / "), sentiment => r.sentiment.as_deref().map(sentiment_word), urgent => r.urgent },
        ));
    }
    for s in &items.signals {
        channels.insert(format!("Signal ({})", words::source_words(&s.source)));
        timeline.push((
            (s.occurred_at, 1, s.id.to_string()),
            context! { kind => "signal", at => s.occurred_at, id => s.id.to_string(),
                what => format!("Signal: {}", words::source_words(&s.source)), channel => words::source_words(&s.source),
                service => s.service_id.and_then(|id| services.get(&id).cloned()),
                text => s.text.chars().take(300).collect::<String>(), sentiment => s.sentiment.as_deref().map(sentiment_word),
                urgent => s.urgent },
        ));
    }
    for e in &items.events {
        let ev = event_view(
            e,
            &catalogue,
            e.service_id.and_then(|id| services.get(&id).cloned()),
        );
        let label = ev
            .get_attr("label")
            .map(|l| l.to_string())
            .unwrap_or_default();
        channels.insert(format!("Event ({label})"));
        timeline.push((
            (e.occurred_at, 2, e.id.to_string()),
            context! { kind => "event", at => e.occurred_at, id => e.id.to_string(), what => format!("Event: {label}"), event => ev,
                service_id => e.service_id.map(|s| s.to_string()), day => m.org.time_zone.date(e.occurred_at).format("%Y-%m-%d").to_string(),
                service => e.service_id.and_then(|id| services.get(&id).cloned()) },
        ));
    }
    timeline.retain(|(k, _)| cutoff.is_none_or(|c| k.0 >= c));
    timeline.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(page(
        &state,
        "person.html",
        base_ctx(&m, "signals"),
        context! {
            short => short_key(&key), channels => channels.into_iter().collect::<Vec<_>>(), truncated => cutoff.is_some(), since => cutoff,
            limit => TIMELINE_LIMIT,
            items => timeline.into_iter().map(|(_, v)| v).collect::<Vec<_>>(),
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(t: &str) -> i64 {
        chrono::DateTime::parse_from_rfc3339(t)
            .unwrap()
            .timestamp_millis()
    }

    #[test]
    fn weeks_are_local_and_follow_daylight_saving() {
        let ny = Zone::parse("America/New_York").unwrap();
        let d = |m, day| NaiveDate::from_ymd_opt(2026, m, day).unwrap();
        // From a Wednesday to a Tuesday: whole weeks from the Monday before to the Sunday after.
        let w = local_weeks(&ny, d(10, 21), d(11, 3));
        let mondays: Vec<NaiveDate> = w.iter().map(|(m, _)| *m).collect();
        assert_eq!(mondays, [d(10, 19), d(10, 26), d(11, 2)]);
        // Daylight saving ends on Sunday, November 1: that week is an hour longer, and ends at local midnight.
        assert_eq!(
            w[1].1,
            (ms("2026-10-26T04:00:00Z"), ms("2026-11-02T05:00:00Z"))
        );
        assert_eq!(w[2].1.0, w[1].1.1, "weeks meet without a gap");
        assert!(local_weeks(&ny, d(1, 1), d(12, 31)).len() <= MAX_WEEKS);
        assert!(
            local_weeks(&ny, d(3, 1), d(2, 1)).is_empty(),
            "a range that ends before it starts"
        );
    }

    #[test]
    fn person_keys_are_checked_before_the_store() {
        assert!(is_person_key("0123456789abcdef0123456789abcdef"));
        assert!(!is_person_key("0123456789ABCDEF0123456789abcdef"));
        assert!(!is_person_key("x"));
        assert_eq!(short_key("0123456789abcdef0123456789abcdef"), "01234567");
    }
}
