//! What the admin reads of signals and events: the signals inbox (filtered pages, urgent first, keyset pagination so
//! a page costs one index walk at any depth), one signal, an events summary per service by local week read from
//! the event rollups (`event_rollups`), the newest events of a service, and one pseudonymous person's responses, signals and events.
//!
//! Every method takes the organization and filters by it, so another organization's ids and person keys are simply
//! not found.

use std::collections::BTreeMap;

use heard_domain::rollup::MeasureAgg;
use heard_domain::{OrgId, ResponseId, ServiceId, SignalId, Zone};
use uuid::Uuid;

use crate::intake::EventRecord;
use crate::records::{RESPONSE_COLUMNS, ResponseRow};
use crate::{Backend, Result, Store, StoreError, StoredResponse, on_pool};

/// Which signals to read. Every field narrows; `None` means "any".
#[derive(Debug, Clone, Default)]
pub struct SignalFilter {
    pub service_id: Option<ServiceId>,
    /// A source key (`review`, `call_transcript`, ...).
    pub source: Option<String>,
    /// A sentiment label: `positive`, `neutral` or `negative`.
    pub sentiment: Option<String>,
    /// A theme id of the taxonomy.
    pub theme: Option<String>,
    pub urgency: Option<UrgencyFilter>,
    /// Milliseconds since the epoch, inclusive, on the time the signal happened.
    pub from_ms: Option<i64>,
    /// Milliseconds since the epoch, exclusive.
    pub to_ms: Option<i64>,
}

/// The urgency a signal must have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UrgencyFilter {
    /// Crisis or threat language.
    Urgent,
    /// Crisis language (someone at risk).
    Crisis,
    /// Threat language (violence threatened).
    Threat,
    /// Neither.
    NotUrgent,
}

impl UrgencyFilter {
    pub fn key(self) -> &'static str {
        match self {
            UrgencyFilter::Urgent => "urgent",
            UrgencyFilter::Crisis => "crisis",
            UrgencyFilter::Threat => "threat",
            UrgencyFilter::NotUrgent => "not_urgent",
        }
    }
}

/// Where a page of the inbox ends. The inbox is ordered urgent first, then by the time the signal happened (newest
/// first), then id; written `<urgent 0|1>_<ms>_<id>` in links.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignalCursor {
    pub urgent: bool,
    pub occurred_at: i64,
    pub id: SignalId,
}

impl std::fmt::Display for SignalCursor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}_{}_{}",
            u8::from(self.urgent),
            self.occurred_at,
            self.id
        )
    }
}

impl std::str::FromStr for SignalCursor {
    type Err = heard_domain::FieldError;
    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        let bad = || {
            heard_domain::FieldError::new(
                "before",
                "invalid_cursor",
                "this page link is damaged; start from the first page",
            )
        };
        let mut parts = s.splitn(3, '_');
        let urgent = match parts.next() {
            Some("1") => true,
            Some("0") => false,
            _ => return Err(bad()),
        };
        let occurred_at = parts.next().and_then(|t| t.parse().ok()).ok_or_else(bad)?;
        let id = parts.next().and_then(|t| t.parse().ok()).ok_or_else(bad)?;
        Ok(SignalCursor {
            urgent,
            occurred_at,
            id,
        })
    }
}

/// A stored signal as the admin reads it (text and turns redacted; person and reference as keyed hashes).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct InboxSignal {
    pub id: Uuid,
    pub source: String,
    pub author: String,
    pub service_id: Option<Uuid>,
    pub touchpoint_id: Option<Uuid>,
    pub url: Option<String>,
    pub rating: Option<i16>,
    pub language: String,
    /// Redacted; for a transcript, its customer turns.
    pub text: String,
    /// JSON `[{"speaker", "text"}]` for transcripts.
    pub turns: Option<String>,
    /// JSON: the text engine's reading (sentiment, themes, intent, emotions, urgency).
    pub enrichment: Option<String>,
    pub sentiment: Option<String>,
    pub urgent: bool,
    pub person_key: Option<String>,
    pub occurred_at: i64,
    pub received_at: i64,
}

impl InboxSignal {
    pub fn cursor(&self) -> SignalCursor {
        SignalCursor {
            urgent: self.urgent,
            occurred_at: self.occurred_at,
            id: SignalId::from_uuid(self.id),
        }
    }
}

/// Binds `$1` (the organization) to `$9` (the filter's fields) in the order `signal_filter_sql` reads them.
macro_rules! bind_signal_filter {
    ($q:expr, $org:expr, $f:expr) => {
        $q.bind($org.as_uuid())
            .bind($f.service_id.map(|s| *s.as_uuid()))
            .bind($f.source.as_deref())
            .bind($f.sentiment.as_deref())
            .bind($f.theme.as_ref().map(|t| format!("%,{t},%")))
            .bind(match $f.urgency {
                Some(UrgencyFilter::NotUrgent) => Some(false),
                Some(UrgencyFilter::Urgent) => Some(true),
                _ => None,
            })
            .bind(match $f.urgency {
                Some(UrgencyFilter::Crisis) => Some("crisis"),
                Some(UrgencyFilter::Threat) => Some("threat"),
                _ => None,
            })
            .bind($f.from_ms)
            .bind($f.to_ms)
    };
}

pub(crate) const SIGNAL_COLUMNS: &str = "id, source, author, service_id, touchpoint_id, url, rating, language, text, turns, \
     enrichment, sentiment, urgent, person_key, occurred_at, received_at";

/// Events of one type in one week: how many.
#[derive(Debug, Clone, PartialEq)]
pub struct WeekCount {
    /// The week's first instant (local Monday 00:00), milliseconds since the epoch, as given in `weeks`.
    pub week: i64,
    pub event_type: String,
    pub events: i64,
}

/// One measure of one event type in one week, over the events that carry it.
#[derive(Debug, Clone, PartialEq)]
pub struct WeekMeasure {
    pub week: i64,
    pub event_type: String,
    pub measure: String,
    /// Events that carry this measure.
    pub n: i64,
    pub sum: f64,
    pub mean: f64,
    /// The 50th percentile (type 7: the mean of the middle two when `n` is even), from the rollups' sketch: within
    /// `heard_domain::sketch::RELATIVE_ERROR` (1%) of the exact value.
    pub median: f64,
    /// The 90th percentile (type 7, interpolated), within the same relative error.
    pub p90: f64,
    /// Whether the median and 90th percentile are exact (the week had at most `sketch::EXACT_VALUES` values).
    pub exact: bool,
}

impl Store {
    pub(crate) fn sqlite(&self) -> bool {
        matches!(self.backend, Backend::Sqlite(_))
    }

    /// One page of the inbox after `cursor`: urgent signals first, then newest first.
    pub async fn signals_page(
        &self,
        org: OrgId,
        f: &SignalFilter,
        cursor: Option<SignalCursor>,
        limit: i64,
    ) -> Result<Vec<InboxSignal>> {
        // The cursor's condition is written only when there is one, bare, so both engines read it as a range of
        // `signals_inbox` (an `x IS NULL OR` around it would make every page walk from the top).
        let Some(c) = cursor else {
            let sql = format!(
                "SELECT {SIGNAL_COLUMNS} FROM signals WHERE {} \
                 ORDER BY urgent DESC, occurred_at DESC, id DESC LIMIT $10",
                self.signal_filter_sql()
            );
            return Ok(
                on_pool!(self, p => bind_signal_filter!(sqlx::query_as(&sql), org, f)
                .bind(limit).fetch_all(p).await)?,
            );
        };
        let sql = format!(
            "SELECT {SIGNAL_COLUMNS} FROM signals WHERE {} AND (urgent, occurred_at, id) < ($10, $11, $12) \
             ORDER BY urgent DESC, occurred_at DESC, id DESC LIMIT $13",
            self.signal_filter_sql()
        );
        Ok(
            on_pool!(self, p => bind_signal_filter!(sqlx::query_as(&sql), org, f)
            .bind(c.urgent).bind(c.occurred_at).bind(*c.id.as_uuid())
            .bind(limit).fetch_all(p).await)?,
        )
    }

    /// How many signals match `f`.
    pub async fn count_signals(&self, org: OrgId, f: &SignalFilter) -> Result<i64> {
        let sql = format!(
            "SELECT COUNT(*) FROM signals WHERE {}",
            self.signal_filter_sql()
        );
        Ok(
            on_pool!(self, p => bind_signal_filter!(sqlx::query_scalar(&sql), org, f).fetch_one(p).await)?,
        )
    }

    /// The filter's SQL; `$1` is the organization and `$2`..`$9` the filter's fields (see `bind_signal_filter`).
    /// Urgency kinds are read from the enrichment's `urgency` list, with each backend's JSON functions.
    fn signal_filter_sql(&self) -> String {
        let kind = if self.sqlite() {
            "EXISTS (SELECT 1 FROM json_each(signals.enrichment, '$.urgency') u WHERE u.value = $7)"
        } else {
            "jsonb_exists(signals.enrichment::jsonb -> 'urgency', $7)"
        };
        format!(
            "org_id = $1 AND ($2 IS NULL OR service_id = $2) AND ($3 IS NULL OR source = $3) \
             AND ($4 IS NULL OR sentiment = $4) AND ($5 IS NULL OR themes LIKE $5) AND ($6 IS NULL OR urgent = $6) \
             AND ($7 IS NULL OR {kind}) AND ($8 IS NULL OR occurred_at >= $8) AND ($9 IS NULL OR occurred_at < $9)"
        )
    }

    /// One signal of `org`.
    pub async fn signal(&self, org: OrgId, id: SignalId) -> Result<InboxSignal> {
        let sql = format!("SELECT {SIGNAL_COLUMNS} FROM signals WHERE org_id = $1 AND id = $2");
        let row: Option<InboxSignal> = on_pool!(self, p => sqlx::query_as(&sql)
            .bind(org.as_uuid()).bind(id.as_uuid()).fetch_optional(p).await)?;
        row.ok_or(StoreError::NotFound)
    }

    /// Events of one service by type and week: counts, and each measure's sum, mean, median and 90th percentile.
    /// `weeks` are half-open ranges of milliseconds `[start, end)`, the organization's local weeks in `zone` (the
    /// caller computes them, so daylight saving changes fall where they belong), each starting and ending at a local
    /// midnight, in order and not overlapping; at most 160 of them. Read from the event rollups (`event_rollups`,
    /// one range of `event_days` and of `event_measure_days`), summed over each week's days: counts and sums exactly,
    /// medians and 90th percentiles from the merged sketches (within `heard_domain::sketch::RELATIVE_ERROR`).
    pub async fn event_weeks(
        &self,
        org: OrgId,
        service: ServiceId,
        zone: &Zone,
        weeks: &[(i64, i64)],
    ) -> Result<(Vec<WeekCount>, Vec<WeekMeasure>)> {
        if weeks.is_empty() {
            return Ok((Vec::new(), Vec::new()));
        }
        if weeks.len() > 160 {
            return Err(StoreError::Config("at most 160 weeks at once".to_string()));
        }
        let days: Vec<(i64, i64, i64)> = weeks
            .iter()
            .map(|(a, b)| (zone.day_number(*a), zone.day_number(*b), *a))
            .collect();
        let from = days.iter().map(|d| d.0).min().unwrap_or(0);
        let to = days.iter().map(|d| d.1).max().unwrap_or(0);
        let week_of = |day: i64| {
            days.iter()
                .find(|(a, b, _)| *a <= day && day < *b)
                .map(|w| w.2)
        };
        let rows = self.event_days(org, service, from, to).await?;
        let mut counts: BTreeMap<(i64, String), i64> = BTreeMap::new();
        for (day, _, ty, n) in rows.events {
            if let Some(w) = week_of(day) {
                *counts.entry((w, ty)).or_default() += n as i64;
            }
        }
        let mut measures: BTreeMap<(i64, String, String), MeasureAgg> = BTreeMap::new();
        for (day, _, ty, m, agg) in &rows.measures {
            if let Some(w) = week_of(*day) {
                measures
                    .entry((w, ty.clone(), m.clone()))
                    .or_default()
                    .merge(agg);
            }
        }
        let counts = counts
            .into_iter()
            .map(|((week, event_type), events)| WeekCount {
                week,
                event_type,
                events,
            })
            .collect();
        let measures = measures
            .into_iter()
            .map(|((week, event_type, measure), a)| WeekMeasure {
                week,
                event_type,
                measure,
                n: a.n as i64,
                sum: a.total,
                mean: a.mean(),
                median: a.sketch.quantile(5).unwrap_or(0.0),
                p90: a.sketch.quantile(9).unwrap_or(0.0),
                exact: a.sketch.is_exact(),
            })
            .collect();
        Ok((counts, measures))
    }

    /// The newest events of one service, after `cursor` (`(occurred_at, id)` of the last one shown).
    pub async fn service_events_page(
        &self,
        org: OrgId,
        service: ServiceId,
        cursor: Option<(i64, Uuid)>,
        limit: i64,
    ) -> Result<Vec<EventRecord>> {
        let columns = "id, type, source, occurred_at, service_id, person_key, reference_key, measures, attributes, external_id";
        let order = "ORDER BY occurred_at DESC, id DESC";
        Ok(match cursor {
            None => on_pool!(self, p => sqlx::query_as(&format!(
                "SELECT {columns} FROM events WHERE org_id = $1 AND service_id = $2 {order} LIMIT $3"))
                .bind(org.as_uuid()).bind(service.as_uuid()).bind(limit).fetch_all(p).await)?,
            Some((t, id)) => on_pool!(self, p => sqlx::query_as(&format!(
                "SELECT {columns} FROM events WHERE org_id = $1 AND service_id = $2 AND (occurred_at, id) < ($3, $4) {order} LIMIT $5"))
                .bind(org.as_uuid()).bind(service.as_uuid()).bind(t).bind(id).bind(limit).fetch_all(p).await)?,
        })
    }

    /// The person key of one response (set when it gave contact details), if any.
    pub async fn response_person_key(&self, org: OrgId, id: ResponseId) -> Result<Option<String>> {
        let row: Option<Option<String>> = on_pool!(self, p => sqlx::query_scalar(
            "SELECT person_key FROM responses WHERE org_id = $1 AND id = $2")
            .bind(org.as_uuid()).bind(id.as_uuid()).fetch_optional(p).await)?;
        row.ok_or(StoreError::NotFound)
    }

    /// The person key of one event, if any.
    pub async fn event_person_key(&self, org: OrgId, id: Uuid) -> Result<Option<String>> {
        let row: Option<Option<String>> = on_pool!(self, p => sqlx::query_scalar(
            "SELECT person_key FROM events WHERE org_id = $1 AND id = $2")
            .bind(org.as_uuid()).bind(id).fetch_optional(p).await)?;
        row.ok_or(StoreError::NotFound)
    }

    /// One person's newest responses, signals and events in `org` (at most `limit` of each kind, newest first).
    pub async fn person_items(
        &self,
        org: OrgId,
        person_key: &str,
        limit: i64,
    ) -> Result<PersonItems> {
        let rsql = format!(
            "SELECT {RESPONSE_COLUMNS} FROM responses WHERE org_id = $1 AND person_key = $2 \
             ORDER BY submitted_at DESC, id DESC LIMIT $3"
        );
        let rows: Vec<ResponseRow> = on_pool!(self, p => sqlx::query_as(&rsql)
            .bind(org.as_uuid()).bind(person_key).bind(limit).fetch_all(p).await)?;
        let ssql = format!(
            "SELECT {SIGNAL_COLUMNS} FROM signals WHERE org_id = $1 AND person_key = $2 \
             ORDER BY occurred_at DESC, id DESC LIMIT $3"
        );
        let signals: Vec<InboxSignal> = on_pool!(self, p => sqlx::query_as(&ssql)
            .bind(org.as_uuid()).bind(person_key).bind(limit).fetch_all(p).await)?;
        let events: Vec<EventRecord> = on_pool!(self, p => sqlx::query_as(
            "SELECT id, type, source, occurred_at, service_id, person_key, reference_key, measures, attributes, external_id \
             FROM events WHERE org_id = $1 AND person_key = $2 ORDER BY occurred_at DESC, id DESC LIMIT $3")
            .bind(org.as_uuid()).bind(person_key).bind(limit).fetch_all(p).await)?;
        Ok(PersonItems {
            responses: rows
                .into_iter()
                .map(TryInto::try_into)
                .collect::<Result<_>>()?,
            signals,
            events,
        })
    }
}

/// What one person left: each list newest first.
#[derive(Debug, Clone, Default)]
pub struct PersonItems {
    pub responses: Vec<StoredResponse>,
    pub signals: Vec<InboxSignal>,
    pub events: Vec<EventRecord>,
}

impl PersonItems {
    pub fn is_empty(&self) -> bool {
        self.responses.is_empty() && self.signals.is_empty() && self.events.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_read_back_what_they_write() {
        let c = SignalCursor {
            urgent: true,
            occurred_at: 1_790_000_000_000,
            id: SignalId::new(),
        };
        assert_eq!(c.to_string().parse::<SignalCursor>().unwrap(), c);
        for bad in ["", "2_1_x", "1_x_0", "1_5"] {
            assert!(bad.parse::<SignalCursor>().is_err(), "{bad}");
        }
    }
}
