//! An organization's event log for process mining: its events, responses and signals as one stream of rows, read
//! with a cursor (never a whole table in memory), in time order or in (person, time) order.
//!
//! Each row has an activity: an event's type (`application_submitted`, `call`, ...), `survey_answered` for a
//! response, `feedback_given` for a signal. Its person is the keyed person hash the row was stored with (responses
//! have one when a contact answer was given), its reference the keyed case-number hash (events and signals).

use futures_util::stream::BoxStream;
use futures_util::{StreamExt, TryStreamExt};
use heard_domain::OrgId;
use uuid::Uuid;

use crate::{Result, Store, on_pool};

/// The activity of a response in the event log.
pub const SURVEY_ANSWERED: &str = "survey_answered";
/// The activity of a signal (feedback nobody asked for) in the event log.
pub const FEEDBACK_GIVEN: &str = "feedback_given";

/// Which table a row came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogSource {
    /// `events`.
    Event,
    /// `responses`.
    Response,
    /// `signals`.
    Signal,
}

/// One row of the event log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogRow {
    /// The row's id in its table.
    pub id: Uuid,
    /// Which table.
    pub source: LogSource,
    /// The activity (see the module's doc).
    pub activity: String,
    /// When it happened (a response: when it was submitted), ms since the Unix epoch, UTC.
    pub occurred_at: i64,
    /// The keyed person hash, when known.
    pub person_key: Option<String>,
    /// The keyed case-number hash, when known.
    pub reference_key: Option<String>,
    /// A response's channel, else the channel of the touchpoint named.
    pub channel: Option<String>,
    /// The touchpoint's name (in English), when one is named.
    pub touchpoint: Option<String>,
    /// The service's name (in English), when one is named.
    pub service: Option<String>,
    /// The step of a `step_completed` event (its `step` attribute), when given: the journey pages tell a form's
    /// steps apart by it (`heard_server::journeys::activity_of`).
    pub step: Option<String>,
    /// How a call or chat began (its `initiation_method` attribute, as sent: `INBOUND`, `OUTBOUND`, `CALLBACK`,
    /// ...), when given: channel switching counts only contacts the person made
    /// (`heard_server::journeys::person_initiated`).
    pub initiation: Option<String>,
    /// A response's survey, and whether its trust answer was positive (`None`: not a response, or not answered):
    /// the insights job ranks journey stages by trust with them.
    pub survey_id: Option<Uuid>,
    pub trust_positive: Option<bool>,
}

/// The order rows come in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogOrder {
    // The discriminants index the query texts.
    /// By time (then table, then id): an OCEL event list.
    Time = 0,
    /// By person, then time (then table, then id): traces one after another, as XES writes them. Rows without a
    /// person are left out.
    Person = 1,
}

/// What to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogQuery {
    /// From this instant (ms, included).
    pub from: i64,
    /// To this instant (ms, excluded).
    pub to: i64,
    /// The order.
    pub order: LogOrder,
}

#[derive(sqlx::FromRow)]
struct Raw {
    id: Uuid,
    activity: String,
    occurred_at: i64,
    person_key: Option<String>,
    reference_key: Option<String>,
    channel: Option<String>,
    touchpoint: Option<String>,
    service: Option<String>,
    src: i32,
    detail: Option<String>,
    survey_id: Option<Uuid>,
    trust_positive: Option<bool>,
}

fn sql(order: LogOrder) -> &'static str {
    static SQL: std::sync::LazyLock<[String; 2]> = std::sync::LazyLock::new(|| {
        [LogOrder::Time, LogOrder::Person].map(|order| {
            let person = if order == LogOrder::Person {
                " AND x.person_key IS NOT NULL"
            } else {
                ""
            };
            let by = match order {
                LogOrder::Time => "occurred_at, src, id",
                LogOrder::Person => "person_key, occurred_at, src, id",
            };
            let names = "LEFT JOIN touchpoints t ON t.org_id = x.org_id AND t.id = x.touchpoint_id \
                         LEFT JOIN services s ON s.org_id = x.org_id AND s.id = x.service_id";
            format!(
                "SELECT x.id AS id, x.type AS activity, x.occurred_at AS occurred_at, x.person_key AS person_key, \
                   x.reference_key AS reference_key, t.channel AS channel, \
                   t.name AS touchpoint, s.name AS service, 0 AS src, \
                   CASE WHEN x.type IN ('step_completed', 'call', 'chat') THEN x.attributes END AS detail, \
                   NULL AS survey_id, NULL AS trust_positive FROM events x {names} \
                 WHERE x.org_id = $1 AND x.occurred_at >= $2 AND x.occurred_at < $3{person} \
                 UNION ALL \
                 SELECT x.id, '{SURVEY_ANSWERED}', x.submitted_at, x.person_key, NULL, x.channel, t.name, s.name, 1, NULL, \
                   x.survey_id, x.trust_positive \
                 FROM responses x {names} \
                 WHERE x.org_id = $1 AND x.submitted_at >= $2 AND x.submitted_at < $3{person} \
                 UNION ALL \
                 SELECT x.id, '{FEEDBACK_GIVEN}', x.occurred_at, x.person_key, x.reference_key, t.channel, t.name, \
                   s.name, 2, NULL, NULL, NULL FROM signals x {names} \
                 WHERE x.org_id = $1 AND x.occurred_at >= $2 AND x.occurred_at < $3{person} \
                 ORDER BY {by}"
            )
        })
    });
    &SQL[order as usize]
}

impl From<Raw> for LogRow {
    fn from(r: Raw) -> LogRow {
        LogRow {
            id: r.id,
            source: match r.src {
                0 => LogSource::Event,
                1 => LogSource::Response,
                _ => LogSource::Signal,
            },
            activity: r.activity,
            occurred_at: r.occurred_at,
            person_key: r.person_key,
            reference_key: r.reference_key,
            channel: r.channel,
            touchpoint: r.touchpoint.map(english),
            service: r.service.map(english),
            step: r.detail.as_deref().and_then(|d| attribute(d, "step")),
            initiation: r
                .detail
                .as_deref()
                .and_then(|d| attribute(d, "initiation_method")),
            survey_id: r.survey_id,
            trust_positive: r.trust_positive,
        }
    }
}

/// The text attribute `name` of an event's stored attributes (a JSON object).
fn attribute(attributes: &str, name: &str) -> Option<String> {
    let v: serde_json::Value = serde_json::from_str(attributes).ok()?;
    v.get(name)?.as_str().map(str::to_string)
}

/// A stored name (a `LocalizedText` as JSON) in English, or as stored when it is not one.
fn english(name: String) -> String {
    match serde_json::from_str::<heard_domain::LocalizedText>(&name) {
        Ok(t) => t.get("en").to_string(),
        Err(_) => name,
    }
}

impl Store {
    /// `org`'s event log in the query's range and order, streamed from the database with a cursor.
    pub fn log_rows(&self, org: OrgId, q: LogQuery) -> BoxStream<'_, Result<LogRow>> {
        let sql = sql(q.order);
        on_pool!(self, p => sqlx::query_as::<_, Raw>(sql)
            .bind(*org.as_uuid())
            .bind(q.from)
            .bind(q.to)
            .fetch(p)
            .map_ok(LogRow::from)
            .map_err(crate::StoreError::from)
            .boxed())
    }
}
