//! The inbox pages' tables as CSV (`csv_table`): the signals of the inbox's filtered view, a person's timeline and
//! the events view's weekly figures. Like every admin download they start with a UTF-8 byte-order mark, put times in
//! the organization's time zone with their offset, give words with the codes beside them (`source`,
//! `source_code`), and defuse text from people (`CsvTable::text`). Text is the redacted text the pages show; no
//! contact details are read.
//!
//! Who gets what follows the pages: the signals list and the events figures are for viewers and up; a person's
//! timeline for analysts and up. The signals list carries each signal's person key only for analysts and up (the
//! column is there, blank, for viewers), as only they open timelines.

use std::collections::BTreeMap;

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use chrono::Days;
use heard_domain::event::{EventType, Unit};
use heard_domain::{Role, ServiceId};
use heard_store::inbox::InboxSignal;
use serde::Deserialize;
use serde_json::Value as Json;
use uuid::Uuid;

use super::csv_table::{CsvTable, attachment};
use super::filters::{date, nonempty};
use super::inbox::{self, InboxQuery, short_key};
use crate::auth::{Analyst, Viewer};
use crate::labels::intake as words;
use crate::labels::sentiment_word;
use crate::{AppError, AppResult, AppState};

/// Signals read from the store at a time while streaming.
const PAGE: i64 = 1000;

/// The signals CSV's columns.
const SIGNAL_COLUMNS: [&str; 29] = [
    "signal_id",
    "occurred_at",
    "received_at",
    "source",
    "source_code",
    "author",
    "author_code",
    "service",
    "service_id",
    "touchpoint",
    "touchpoint_id",
    "language",
    "language_code",
    "rating",
    "url",
    "text",
    "sentiment",
    "sentiment_code",
    "sentiment_score",
    "themes",
    "theme_ids",
    "intent",
    "intent_code",
    "emotions",
    "emotion_codes",
    "urgency",
    "urgency_codes",
    "urgent",
    "person_key",
];

/// A JSON list of strings as codes.
fn codes(e: &Json, key: &str) -> Vec<String> {
    e[key]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Json::as_str)
        .map(str::to_string)
        .collect()
}

/// One signal's row.
fn signal_row(
    s: &InboxSignal,
    zone: &heard_domain::Zone,
    services: &BTreeMap<Uuid, String>,
    touchpoints: &BTreeMap<Uuid, String>,
    with_person: bool,
) -> Vec<String> {
    let e: Json = s
        .enrichment
        .as_deref()
        .and_then(|e| serde_json::from_str(e).ok())
        .unwrap_or(Json::Null);
    let themes: Vec<(&str, &str)> = e["themes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| Some((t["id"].as_str()?, t["label"].as_str().unwrap_or(""))))
        .collect();
    let emotions = codes(&e, "emotions");
    let urgency = codes(&e, "urgency");
    let joined =
        |v: &[String], f: fn(&str) -> &str| v.iter().map(|c| f(c)).collect::<Vec<_>>().join("; ");
    let intent = e["intent"].as_str().unwrap_or("");
    vec![
        s.id.to_string(),
        zone.iso(s.occurred_at),
        zone.iso(s.received_at),
        words::source_words(&s.source).to_string(),
        s.source.clone(),
        words::author_words(&s.author).to_string(),
        s.author.clone(),
        CsvTable::text(
            s.service_id
                .and_then(|id| services.get(&id))
                .map_or("", String::as_str),
        ),
        s.service_id.map(|u| u.to_string()).unwrap_or_default(),
        CsvTable::text(
            s.touchpoint_id
                .and_then(|id| touchpoints.get(&id))
                .map_or("", String::as_str),
        ),
        s.touchpoint_id.map(|u| u.to_string()).unwrap_or_default(),
        crate::i18n::language_name(&s.language, "en"),
        s.language.clone(),
        s.rating.map(|r| r.to_string()).unwrap_or_default(),
        CsvTable::text(s.url.as_deref().unwrap_or("")),
        CsvTable::text(&s.text),
        s.sentiment
            .as_deref()
            .map(sentiment_word)
            .unwrap_or("")
            .to_string(),
        s.sentiment.clone().unwrap_or_default(),
        e["sentiment"]["score"]
            .as_f64()
            .map(|x| format!("{x:.4}"))
            .unwrap_or_default(),
        CsvTable::text(
            &themes
                .iter()
                .map(|(_, l)| *l)
                .collect::<Vec<_>>()
                .join("; "),
        ),
        themes
            .iter()
            .map(|(id, _)| *id)
            .collect::<Vec<_>>()
            .join("; "),
        words::intent_words(intent).to_string(),
        intent.to_string(),
        joined(&emotions, words::emotion_words),
        emotions.join("; "),
        joined(&urgency, words::urgency_words),
        urgency.join("; "),
        if s.urgent { "yes" } else { "no" }.to_string(),
        if with_person {
            s.person_key.clone().unwrap_or_default()
        } else {
            String::new()
        },
    ]
}

/// Every signal of the inbox's filtered view (the same filters as `/signals`, in the same order: urgent first,
/// then newest), streamed a page at a time so a download of any size holds one page in memory.
pub async fn signals_csv(
    State(state): State<AppState>,
    m: Viewer,
    Query(q): Query<InboxQuery>,
) -> AppResult<Response> {
    let zone = m.org.time_zone;
    let f = q.filter(&zone)?;
    let org = m.org_id();
    let with_person = m.role >= Role::Analyst;
    let services = inbox::service_names(&state, org).await?;
    let touchpoints: BTreeMap<Uuid, String> = state
        .store
        .touchpoints(org)
        .await?
        .into_iter()
        .map(|t| (*t.id.as_uuid(), t.name.get("en").to_string()))
        .collect();
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(4);
    let store = state.store.clone();
    tokio::spawn(async move {
        let mut cursor = None;
        let mut first = true;
        loop {
            let page = match store.signals_page(org, &f, cursor, PAGE).await {
                Ok(p) => p,
                Err(e) => {
                    // The client sees a truncated download rather than a silently short file.
                    let _ = tx.send(Err(std::io::Error::other(e.to_string()))).await;
                    return;
                }
            };
            let buf = Vec::with_capacity(64 * 1024);
            let mut w = csv::Writer::from_writer(buf);
            if first {
                let _ = w.write_record(SIGNAL_COLUMNS);
                first = false;
            }
            let done = (page.len() as i64) < PAGE;
            cursor = page.last().map(InboxSignal::cursor);
            for s in &page {
                let _ = w.write_record(signal_row(s, &zone, &services, &touchpoints, with_person));
            }
            let chunk = w.into_inner().unwrap_or_default();
            if tx.send(Ok(chunk)).await.is_err() || done {
                return;
            }
        }
    });
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    });
    attachment("heard-signals.csv", Body::from_stream(stream))
}

/// A small table written in memory (the byte-order mark is `attachment`'s); cells from people go through
/// `CsvTable::text`.
struct Table(csv::Writer<Vec<u8>>);

impl Table {
    fn new<const N: usize>(header: [&str; N]) -> AppResult<Table> {
        let mut t = Table(csv::Writer::from_writer(Vec::new()));
        t.row(header)?;
        Ok(t)
    }

    fn row<I, S>(&mut self, cells: I) -> AppResult<()>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<[u8]>,
    {
        self.0
            .write_record(cells)
            .map_err(|e| AppError::Internal(e.to_string()))
    }

    fn into_response(self, name: &str) -> AppResult<Response> {
        let body = self
            .0
            .into_inner()
            .map_err(|e| AppError::Internal(e.to_string()))?;
        attachment(name, Body::from(body))
    }
}

/// A measure's name and value as codes, `name=value` (seconds or a count), in the measure names' order.
fn measures_codes(measures: &str) -> String {
    let m: BTreeMap<String, f64> = serde_json::from_str(measures).unwrap_or_default();
    m.iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("; ")
}

#[derive(Deserialize, Default, Debug)]
pub struct PersonQuery {
    format: Option<String>,
}

/// A person's timeline: the page (`inbox::person`), or with `?format=csv` its CSV, so the page links to its download
/// without writing the person's full key into the page.
pub async fn person(
    state: State<AppState>,
    m: Analyst,
    path: Path<(String, String)>,
    Query(q): Query<PersonQuery>,
) -> AppResult<Response> {
    match nonempty(&q.format) {
        None => inbox::person(state, m, path).await,
        Some("csv") => person_csv(state, m, path).await,
        Some(_) => Err(AppError::field("format", "not_an_option", "format is csv")),
    }
}

/// One person's timeline as CSV, oldest first: the items the page shows (the same limit and start), one a row, with
/// redacted text, measures as `name=value` and attributes as JSON. Analysts and up.
async fn person_csv(
    State(state): State<AppState>,
    m: Analyst,
    Path((_, key)): Path<(String, String)>,
) -> AppResult<Response> {
    if !inbox::is_person_key(&key) {
        return Err(AppError::NotFound);
    }
    let zone = m.org.time_zone;
    let items = state
        .store
        .person_items(m.org_id(), &key, inbox::TIMELINE_LIMIT)
        .await?;
    if items.is_empty() {
        return Err(AppError::NotFound);
    }
    let cutoff = inbox::timeline_cutoff(&items);
    let services = inbox::service_names(&state, m.org_id()).await?;
    let surveys: BTreeMap<heard_domain::SurveyId, String> = state
        .store
        .surveys(m.org_id(), None)
        .await?
        .into_iter()
        .map(|s| (s.id, s.name))
        .collect();
    let catalogue: Vec<EventType> = state.store.event_types(m.org_id()).await?;
    let service = |id: Option<Uuid>| {
        (
            CsvTable::text(
                id.and_then(|id| services.get(&id))
                    .map_or("", String::as_str),
            ),
            id.map(|u| u.to_string()).unwrap_or_default(),
        )
    };
    let mut rows: Vec<TimelineRow> = Vec::new();
    for r in &items.responses {
        let channel = r
            .channel
            .parse::<heard_domain::Channel>()
            .map(|c| c.label().to_string())
            .unwrap_or_else(|_| r.channel.clone());
        let text: Vec<&str> = r
            .answers
            .values()
            .filter_map(|a| a.as_text().filter(|t| !t.is_empty()))
            .collect();
        rows.push(TimelineRow {
            key: (r.submitted_at, 0, r.id.to_string()),
            kind: ("Survey response", "response"),
            what: (
                CsvTable::text(surveys.get(&r.survey_id).map_or("", String::as_str)),
                r.survey_id.to_string(),
            ),
            channel: (channel, r.channel.clone()),
            service: service(Some(*r.service_id.as_uuid())),
            text: CsvTable::text(&text.join(" / ")),
            feeling: Some((r.sentiment.clone(), r.urgent)),
            measures: String::new(),
            attributes: String::new(),
        });
    }
    for s in &items.signals {
        rows.push(TimelineRow {
            key: (s.occurred_at, 1, s.id.to_string()),
            kind: ("Signal", "signal"),
            what: (words::source_words(&s.source).into(), s.source.clone()),
            channel: Default::default(),
            service: service(s.service_id),
            text: CsvTable::text(&s.text),
            feeling: Some((s.sentiment.clone(), s.urgent)),
            measures: String::new(),
            attributes: String::new(),
        });
    }
    for e in &items.events {
        let label = catalogue
            .iter()
            .find(|t| t.name == e.event_type)
            .map_or(e.event_type.clone(), |t| t.label.clone());
        rows.push(TimelineRow {
            key: (e.occurred_at, 2, e.id.to_string()),
            kind: ("Event", "event"),
            what: (CsvTable::text(&label), e.event_type.clone()),
            channel: Default::default(),
            service: service(e.service_id),
            text: String::new(),
            feeling: None,
            measures: measures_codes(&e.measures),
            attributes: CsvTable::text(&e.attributes),
        });
    }
    rows.retain(|r| cutoff.is_none_or(|c| r.key.0 >= c));
    rows.sort_by(|a, b| a.key.cmp(&b.key));
    let mut t = Table::new([
        "at",
        "kind",
        "kind_code",
        "item_id",
        "what",
        "what_code",
        "channel",
        "channel_code",
        "service",
        "service_id",
        "text",
        "sentiment",
        "sentiment_code",
        "urgent",
        "measures",
        "attributes",
    ])?;
    for row in rows {
        t.row(row.cells(&zone))?;
    }
    t.into_response(&format!("heard-person-{}.csv", short_key(&key)))
}

/// A row of a person's timeline CSV: each pair is (words, code) as the columns `X` and `X_code` (or `service` and
/// `service_id`) give them; empty where the kind has none.
struct TimelineRow {
    /// (time, kind order, id): the page's order.
    key: (i64, u8, String),
    kind: (&'static str, &'static str),
    what: (String, String),
    channel: (String, String),
    service: (String, String),
    text: String,
    /// A response's or signal's sentiment code and urgency; none for an event.
    feeling: Option<(Option<String>, bool)>,
    measures: String,
    attributes: String,
}

impl TimelineRow {
    fn cells(self, zone: &heard_domain::Zone) -> Vec<String> {
        let (sentiment, sentiment_code, urgent) = match self.feeling {
            Some((code, urgent)) => (
                code.as_deref().map(sentiment_word).unwrap_or("").into(),
                code.unwrap_or_default(),
                if urgent { "yes" } else { "no" }.into(),
            ),
            None => Default::default(),
        };
        vec![
            zone.iso(self.key.0),
            self.kind.0.into(),
            self.kind.1.into(),
            self.key.2,
            self.what.0,
            self.what.1,
            self.channel.0,
            self.channel.1,
            self.service.0,
            self.service.1,
            self.text,
            sentiment,
            sentiment_code,
            urgent,
            self.measures,
            self.attributes,
        ]
    }
}

#[derive(Deserialize, Default, Debug)]
pub struct EventsCsvQuery {
    service: Option<String>,
    from: Option<String>,
    to: Option<String>,
    table: Option<String>,
}

/// The events view's figures as CSV for one service and the page's weeks (its defaults when no dates are chosen):
/// `table=counts` (the default), events per type and local week, every week of the range with zeros; or
/// `table=measures`, per type, measure and week, the events that carried it (`n`) and their sum, mean, median and
/// 90th percentile, in the measure's unit (`seconds` or `count`), unrounded. Read from the event rollups: counts,
/// sums and means exact; the median and 90th percentile of a week with more than `sketch::EXACT_VALUES` values
/// within `sketch::RELATIVE_ERROR` (1%) of the exact ones.
pub async fn events_csv(
    State(state): State<AppState>,
    m: Viewer,
    Query(q): Query<EventsCsvQuery>,
) -> AppResult<Response> {
    let zone = m.org.time_zone;
    let service = match nonempty(&q.service) {
        Some(s) => {
            let id: ServiceId = s.parse()?;
            state.store.service(m.org_id(), id).await?
        }
        None => state
            .store
            .services(m.org_id())
            .await?
            .into_iter()
            .next()
            .ok_or(AppError::NotFound)?,
    };
    let to = date(nonempty(&q.to), "to")?.unwrap_or_else(|| zone.date(heard_store::now_ms()));
    let from = date(nonempty(&q.from), "from")?.unwrap_or_else(|| {
        to.checked_sub_days(Days::new(7 * (inbox::DEFAULT_WEEKS - 1)))
            .unwrap_or(to)
    });
    if from > to {
        return Err(AppError::field(
            "from",
            "after_to",
            "the first day must be on or before the last day",
        ));
    }
    let weeks = inbox::local_weeks(&zone, from, to);
    if weeks.len() > inbox::MAX_WEEKS {
        return Err(AppError::field(
            "from",
            "too_long",
            format!("choose at most {} weeks", inbox::MAX_WEEKS),
        ));
    }
    let ranges: Vec<(i64, i64)> = weeks.iter().map(|(_, r)| *r).collect();
    let (counts, measures) = state
        .store
        .event_weeks(m.org_id(), service.id, &zone, &ranges)
        .await?;
    let catalogue: Vec<EventType> = state.store.event_types(m.org_id()).await?;
    let label = |ty: &str| {
        CsvTable::text(
            &catalogue
                .iter()
                .find(|t| t.name == ty)
                .map_or(ty.to_string(), |t| t.label.clone()),
        )
    };
    let week_of = |start: i64| {
        weeks
            .iter()
            .find(|(_, r)| r.0 == start)
            .map(|(d, _)| d.to_string())
            .unwrap_or_default()
    };
    let service_name = CsvTable::text(service.name.get("en"));
    let service_id = service.id.to_string();
    match nonempty(&q.table).unwrap_or("counts") {
        "counts" => {
            let mut types: Vec<&str> = counts.iter().map(|c| c.event_type.as_str()).collect();
            types.sort_by_key(|t| {
                (
                    catalogue
                        .iter()
                        .position(|c| c.name == *t)
                        .unwrap_or(usize::MAX),
                    *t,
                )
            });
            types.dedup();
            let mut t = Table::new([
                "service",
                "service_id",
                "week_of",
                "event_type",
                "event_type_code",
                "events",
            ])?;
            for ty in &types {
                for (d, (start, _)) in &weeks {
                    let n = counts
                        .iter()
                        .find(|c| c.week == *start && c.event_type == *ty)
                        .map_or(0, |c| c.events);
                    t.row([
                        service_name.clone(),
                        service_id.clone(),
                        d.to_string(),
                        label(ty),
                        ty.to_string(),
                        n.to_string(),
                    ])?;
                }
            }
            t.into_response("heard-events-weekly.csv")
        }
        "measures" => {
            let mut t = Table::new([
                "service",
                "service_id",
                "week_of",
                "event_type",
                "event_type_code",
                "measure",
                "measure_code",
                "unit",
                "n",
                "sum",
                "mean",
                "median",
                "p90",
            ])?;
            for x in &measures {
                let unit = catalogue
                    .iter()
                    .find(|t| t.name == x.event_type)
                    .and_then(|t| t.measure(&x.measure))
                    .map_or(Unit::Count, |m| m.unit);
                t.row([
                    service_name.clone(),
                    service_id.clone(),
                    week_of(x.week),
                    label(&x.event_type),
                    x.event_type.clone(),
                    CsvTable::text(&words::measure_words(&x.measure)),
                    x.measure.clone(),
                    match unit {
                        Unit::Seconds => "seconds",
                        Unit::Count => "count",
                    }
                    .to_string(),
                    x.n.to_string(),
                    x.sum.to_string(),
                    x.mean.to_string(),
                    x.median.to_string(),
                    x.p90.to_string(),
                ])?;
            }
            t.into_response("heard-events-measures.csv")
        }
        _ => Err(AppError::field(
            "table",
            "not_an_option",
            "table is counts or measures",
        )),
    }
}
