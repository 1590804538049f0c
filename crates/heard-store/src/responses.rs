//! Reading responses: filtered pages (keyset pagination on the time-ordered id, so pages stay fast at any depth and
//! exports stream without a row limit), single responses, and the slim rows dashboards aggregate.

use heard_domain::{OrgId, ResponseId, ServiceId, SurveyId};
use uuid::Uuid;

use crate::records::{RESPONSE_COLUMNS, ResponseRow};
use crate::{Result, Store, StoreError, StoredResponse, on_pool};

/// Which responses to read. Every field narrows; `None` means "any".
#[derive(Debug, Clone, Default)]
pub struct ResponseFilter {
    pub survey_id: Option<SurveyId>,
    pub service_id: Option<ServiceId>,
    pub channel: Option<String>,
    pub language: Option<String>,
    /// Milliseconds since the epoch, inclusive.
    pub from_ms: Option<i64>,
    /// Milliseconds since the epoch, exclusive.
    pub to_ms: Option<i64>,
    /// Only positive (true) or only negative (false) trust answers.
    pub trust_positive: Option<bool>,
    /// Only responses whose free text has this sentiment label.
    pub sentiment: Option<String>,
    /// Only responses whose free text has this theme id.
    pub theme: Option<String>,
    /// Only responses flagged urgent (crisis or threat language).
    pub urgent: Option<bool>,
}

/// Where a page of responses ends: pages are ordered by submission time, then id, so imported or back-dated
/// responses sort where they belong. Written `<ms>_<id>` in links.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    pub submitted_at: i64,
    pub id: ResponseId,
}

impl std::fmt::Display for Cursor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}_{}", self.submitted_at, self.id)
    }
}

impl std::str::FromStr for Cursor {
    type Err = heard_domain::FieldError;
    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        let bad = || {
            heard_domain::FieldError::new(
                "before",
                "invalid_cursor",
                "this page link is damaged; start from the first page",
            )
        };
        let (t, id) = s.split_once('_').ok_or_else(bad)?;
        Ok(Cursor {
            submitted_at: t.parse().map_err(|_| bad())?,
            id: id.parse().map_err(|_| bad())?,
        })
    }
}

impl StoredResponse {
    pub fn cursor(&self) -> Cursor {
        Cursor {
            submitted_at: self.submitted_at,
            id: self.id,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    NewestFirst,
    OldestFirst,
}

/// What a dashboard needs of one response.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SlimResponse {
    pub submitted_at: i64,
    pub survey_version: i32,
    pub channel: String,
    pub language: String,
    pub trust: Option<i16>,
    pub trust_positive: Option<bool>,
    pub answers: String,
}

const FILTER_SQL: &str = "org_id = $1 AND ($2 IS NULL OR survey_id = $2) AND ($3 IS NULL OR service_id = $3) \
     AND ($4 IS NULL OR channel = $4) AND ($5 IS NULL OR language = $5) AND ($6 IS NULL OR submitted_at >= $6) \
     AND ($7 IS NULL OR submitted_at < $7) AND ($8 IS NULL OR trust_positive = $8) AND ($9 IS NULL OR sentiment = $9) \
     AND ($10 IS NULL OR themes LIKE $10) AND ($11 IS NULL OR urgent = $11)";

macro_rules! bind_filter {
    ($q:expr, $org:expr, $f:expr) => {
        $q.bind($org.as_uuid())
            .bind($f.survey_id.map(|s| *s.as_uuid()))
            .bind($f.service_id.map(|s| *s.as_uuid()))
            .bind($f.channel.as_deref())
            .bind($f.language.as_deref())
            .bind($f.from_ms)
            .bind($f.to_ms)
            .bind($f.trust_positive)
            .bind($f.sentiment.as_deref())
            .bind($f.theme.as_ref().map(|t| format!("%,{t},%")))
            .bind($f.urgent)
    };
}

impl Store {
    /// One page of responses after the `cursor` id, in `order`.
    pub async fn responses_page(
        &self,
        org: OrgId,
        f: &ResponseFilter,
        cursor: Option<Cursor>,
        order: Order,
        limit: i64,
    ) -> Result<Vec<StoredResponse>> {
        let (cmp, dir) = match order {
            Order::NewestFirst => ("<", "DESC"),
            Order::OldestFirst => (">", "ASC"),
        };
        let sql = format!(
            "SELECT {RESPONSE_COLUMNS} FROM responses WHERE {FILTER_SQL} AND ($12 IS NULL OR (submitted_at, id) {cmp} ($12, $13)) \
             ORDER BY submitted_at {dir}, id {dir} LIMIT $14"
        );
        let rows: Vec<ResponseRow> = on_pool!(self, p => bind_filter!(sqlx::query_as(&sql), org, f)
            .bind(cursor.map(|c| c.submitted_at)).bind(cursor.map(|c| *c.id.as_uuid())).bind(limit).fetch_all(p).await)?;
        rows.into_iter().map(TryInto::try_into).collect()
    }

    /// The responses flagged urgent (of one survey, or all), newest first: how many there are and the newest
    /// `limit`. Written without the optional-filter form of `responses_page`, so both backends read the
    /// `responses_urgent` index (organization, urgent, time) instead of walking every response to find none; ordered
    /// by time alone, which that index gives (a tie-break on id made SQLite prefer the time index and walk it all).
    pub async fn urgent_responses(
        &self,
        org: OrgId,
        survey: Option<SurveyId>,
        limit: i64,
    ) -> Result<(i64, Vec<StoredResponse>)> {
        let only = if survey.is_some() {
            " AND survey_id = $2"
        } else {
            ""
        };
        let count_sql =
            format!("SELECT COUNT(*) FROM responses WHERE org_id = $1 AND urgent = TRUE{only}");
        let page_sql = format!(
            "SELECT {RESPONSE_COLUMNS} FROM responses WHERE org_id = $1 AND urgent = TRUE{only} \
             ORDER BY submitted_at DESC LIMIT {}",
            limit.max(0)
        );
        let (n, rows): (i64, Vec<ResponseRow>) = match survey {
            Some(s) => (
                on_pool!(self, p => sqlx::query_scalar(&count_sql).bind(org.as_uuid()).bind(s.as_uuid()).fetch_one(p).await)?,
                on_pool!(self, p => sqlx::query_as(&page_sql).bind(org.as_uuid()).bind(s.as_uuid()).fetch_all(p).await)?,
            ),
            None => (
                on_pool!(self, p => sqlx::query_scalar(&count_sql).bind(org.as_uuid()).fetch_one(p).await)?,
                on_pool!(self, p => sqlx::query_as(&page_sql).bind(org.as_uuid()).fetch_all(p).await)?,
            ),
        };
        Ok((
            n,
            rows.into_iter()
                .map(TryInto::try_into)
                .collect::<Result<_>>()?,
        ))
    }

    /// How many responses match `f`, counting at most `cap + 1` of them: `(n, true)` when there are more than
    /// `cap`. A list page says "more than N" rather than counting millions of rows per view.
    pub async fn count_responses_capped(
        &self,
        org: OrgId,
        f: &ResponseFilter,
        cap: i64,
    ) -> Result<(i64, bool)> {
        let sql = format!(
            "SELECT COUNT(*) FROM (SELECT 1 FROM responses WHERE {FILTER_SQL} LIMIT $12) AS m"
        );
        let n: i64 = on_pool!(self, p => bind_filter!(sqlx::query_scalar(&sql), org, f).bind(cap + 1).fetch_one(p).await)?;
        Ok(if n > cap { (cap, true) } else { (n, false) })
    }

    pub async fn count_responses(&self, org: OrgId, f: &ResponseFilter) -> Result<i64> {
        let sql = format!("SELECT COUNT(*) FROM responses WHERE {FILTER_SQL}");
        Ok(on_pool!(self, p => bind_filter!(sqlx::query_scalar(&sql), org, f).fetch_one(p).await)?)
    }

    pub async fn response(&self, org: OrgId, id: ResponseId) -> Result<StoredResponse> {
        let sql = format!("SELECT {RESPONSE_COLUMNS} FROM responses WHERE org_id = $1 AND id = $2");
        let row: Option<ResponseRow> = on_pool!(self, p => sqlx::query_as(&sql)
            .bind(org.as_uuid()).bind(id.as_uuid()).fetch_optional(p).await)?;
        row.ok_or(StoreError::NotFound)?.try_into()
    }

    /// Whether a response with this idempotency key exists (used by the durability test and by clients' retries).
    pub async fn response_by_key(
        &self,
        org: OrgId,
        survey: SurveyId,
        key: &str,
    ) -> Result<Option<ResponseId>> {
        let id: Option<Uuid> = on_pool!(self, p => sqlx::query_scalar(
            "SELECT id FROM responses WHERE org_id = $1 AND survey_id = $2 AND idempotency_key = $3")
            .bind(org.as_uuid()).bind(survey.as_uuid()).bind(key).fetch_optional(p).await)?;
        Ok(id.map(ResponseId::from_uuid))
    }

    /// The slim rows of every response matching `f`, oldest first, for dashboards.
    pub async fn slim_responses(
        &self,
        org: OrgId,
        f: &ResponseFilter,
    ) -> Result<Vec<SlimResponse>> {
        let sql = format!(
            "SELECT submitted_at, survey_version, channel, language, trust, trust_positive, answers FROM responses \
             WHERE {FILTER_SQL} ORDER BY submitted_at"
        );
        Ok(on_pool!(self, p => bind_filter!(sqlx::query_as(&sql), org, f).fetch_all(p).await)?)
    }

    /// Sealed original free text of one response, by question (only stored when the organization keeps it).
    pub async fn response_raw_texts(
        &self,
        org: OrgId,
        id: ResponseId,
    ) -> Result<Vec<(String, Vec<u8>)>> {
        Ok(on_pool!(self, p => sqlx::query_as(
            "SELECT question_id, sealed FROM response_raw_text WHERE org_id = $1 AND response_id = $2 ORDER BY question_id")
            .bind(org.as_uuid()).bind(id.as_uuid()).fetch_all(p).await)?)
    }

    /// Sealed contact answers of one response, by question.
    pub async fn response_contacts(
        &self,
        org: OrgId,
        id: ResponseId,
    ) -> Result<Vec<(String, Vec<u8>)>> {
        Ok(on_pool!(self, p => sqlx::query_as(
            "SELECT question_id, sealed FROM response_contacts WHERE org_id = $1 AND response_id = $2 ORDER BY question_id")
            .bind(org.as_uuid()).bind(id.as_uuid()).fetch_all(p).await)?)
    }
}
