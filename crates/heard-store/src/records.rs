//! What the store returns: domain values with their stored metadata. Rows are read into private `*Row` structs and
//! converted here, so a corrupt JSON column is an error, not a panic.

use heard_domain::survey::SurveyDefinition;
use heard_domain::{
    Channel, LocalizedText, OrgId, ResponseId, Role, ServiceId, SurveyId, TouchpointId, UserId,
    Zone, response::Answers,
};
use serde::Serialize;
use uuid::Uuid;

use crate::StoreError;

pub(crate) fn json<T: serde::de::DeserializeOwned>(s: &str, what: &str) -> Result<T, StoreError> {
    serde_json::from_str(s).map_err(|e| StoreError::Corrupt(format!("{what}: {e}")))
}

#[derive(Debug, Clone, Serialize)]
pub struct Organization {
    pub id: OrgId,
    pub name: String,
    pub slug: String,
    pub created_at: i64,
    /// Keep the original free text of responses, sealed, beside the redacted text (off unless an admin turns it on).
    pub keep_raw_text: bool,
    /// Where the organization's days, weeks and fiscal quarters begin and end, and how its times are shown.
    pub time_zone: Zone,
}

#[derive(sqlx::FromRow)]
pub(crate) struct OrgRow {
    pub id: Uuid,
    pub name: String,
    pub slug: String,
    pub created_at: i64,
    pub keep_raw_text: bool,
    pub time_zone: String,
}
impl TryFrom<OrgRow> for Organization {
    type Error = StoreError;
    fn try_from(r: OrgRow) -> Result<Self, StoreError> {
        Ok(Organization {
            id: OrgId::from_uuid(r.id),
            name: r.name,
            slug: r.slug,
            created_at: r.created_at,
            keep_raw_text: r.keep_raw_text,
            time_zone: Zone::parse(&r.time_zone).map_err(|e| {
                StoreError::Corrupt(format!("organization time zone: {}", e.message))
            })?,
        })
    }
}

/// The organization columns `OrgRow` reads, in order.
pub(crate) const ORG_COLUMNS: &str = "id, name, slug, created_at, keep_raw_text, time_zone";

#[derive(Debug, Clone)]
pub struct User {
    pub id: UserId,
    pub email: String,
    pub name: String,
    pub password_hash: String,
    pub created_at: i64,
    /// A site operator runs the installation: only operators create organizations.
    pub is_operator: bool,
}

#[derive(sqlx::FromRow)]
pub(crate) struct UserRow {
    pub id: Uuid,
    pub email: String,
    pub name: String,
    pub password_hash: String,
    pub created_at: i64,
    pub is_operator: bool,
}
impl From<UserRow> for User {
    fn from(r: UserRow) -> Self {
        User {
            id: UserId::from_uuid(r.id),
            email: r.email,
            name: r.name,
            password_hash: r.password_hash,
            created_at: r.created_at,
            is_operator: r.is_operator,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Session {
    pub user: User,
    pub csrf_token: String,
    pub expires_at: i64,
}

#[derive(Debug, Clone)]
pub struct Membership {
    pub org: Organization,
    pub role: Role,
}

#[derive(Debug, Clone, Serialize)]
pub struct Service {
    pub org_id: OrgId,
    pub id: ServiceId,
    pub name: LocalizedText,
    pub description: LocalizedText,
    pub created_at: i64,
}

#[derive(sqlx::FromRow)]
pub(crate) struct ServiceRow {
    pub org_id: Uuid,
    pub id: Uuid,
    pub name: String,
    pub description: String,
    pub created_at: i64,
}
impl TryFrom<ServiceRow> for Service {
    type Error = StoreError;
    fn try_from(r: ServiceRow) -> Result<Self, StoreError> {
        Ok(Service {
            org_id: OrgId::from_uuid(r.org_id),
            id: ServiceId::from_uuid(r.id),
            name: json(&r.name, "service name")?,
            description: json(&r.description, "service description")?,
            created_at: r.created_at,
        })
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Touchpoint {
    pub org_id: OrgId,
    pub id: TouchpointId,
    pub service_id: ServiceId,
    pub name: LocalizedText,
    pub channel: Channel,
    pub created_at: i64,
}

#[derive(sqlx::FromRow)]
pub(crate) struct TouchpointRow {
    pub org_id: Uuid,
    pub id: Uuid,
    pub service_id: Uuid,
    pub name: String,
    pub channel: String,
    pub created_at: i64,
}
impl TryFrom<TouchpointRow> for Touchpoint {
    type Error = StoreError;
    fn try_from(r: TouchpointRow) -> Result<Self, StoreError> {
        Ok(Touchpoint {
            org_id: OrgId::from_uuid(r.org_id),
            id: TouchpointId::from_uuid(r.id),
            service_id: ServiceId::from_uuid(r.service_id),
            name: json(&r.name, "touchpoint name")?,
            channel: r
                .channel
                .parse()
                .map_err(|e: heard_domain::FieldError| StoreError::Corrupt(e.message))?,
            created_at: r.created_at,
        })
    }
}

#[derive(Debug, Clone)]
pub struct Survey {
    pub org_id: OrgId,
    pub id: SurveyId,
    pub service_id: ServiceId,
    /// Where the hosted page and its QR code are used; responses without one are counted against the survey only.
    pub touchpoint_id: Option<TouchpointId>,
    pub name: String,
    /// The definition being edited; publishing copies it into a new version.
    pub draft: SurveyDefinition,
    pub published_version: Option<i32>,
    /// Origins allowed to submit from a browser (CORS); empty means only Heard's own pages.
    pub allowed_origins: Vec<String>,
    /// A-11 transaction point: post_interaction, post_service_journey or relational.
    pub transaction_point: String,
    /// The share of page views (0-100) the embedded widget offers the survey to.
    pub widget_sample_percent: i32,
    /// Whether responses keep the page's query string (it can carry personal data, so off unless chosen).
    pub keep_query: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(sqlx::FromRow)]
pub(crate) struct SurveyRow {
    pub org_id: Uuid,
    pub id: Uuid,
    pub service_id: Uuid,
    pub touchpoint_id: Option<Uuid>,
    pub name: String,
    pub draft: String,
    pub published_version: Option<i32>,
    pub allowed_origins: String,
    pub transaction_point: String,
    pub widget_sample_percent: i32,
    pub keep_query: bool,
    pub created_at: i64,
    pub updated_at: i64,
}
impl TryFrom<SurveyRow> for Survey {
    type Error = StoreError;
    fn try_from(r: SurveyRow) -> Result<Self, StoreError> {
        Ok(Survey {
            org_id: OrgId::from_uuid(r.org_id),
            id: SurveyId::from_uuid(r.id),
            service_id: ServiceId::from_uuid(r.service_id),
            touchpoint_id: r.touchpoint_id.map(TouchpointId::from_uuid),
            name: r.name,
            draft: json(&r.draft, "survey draft")?,
            published_version: r.published_version,
            allowed_origins: json(&r.allowed_origins, "allowed origins")?,
            transaction_point: r.transaction_point,
            widget_sample_percent: r.widget_sample_percent,
            keep_query: r.keep_query,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

#[derive(Debug, Clone)]
pub struct SurveyVersion {
    pub org_id: OrgId,
    pub survey_id: SurveyId,
    pub version: i32,
    pub definition: SurveyDefinition,
    pub published_at: i64,
}

#[derive(sqlx::FromRow)]
pub(crate) struct SurveyVersionRow {
    pub org_id: Uuid,
    pub survey_id: Uuid,
    pub version: i32,
    pub definition: String,
    pub published_at: i64,
}
impl TryFrom<SurveyVersionRow> for SurveyVersion {
    type Error = StoreError;
    fn try_from(r: SurveyVersionRow) -> Result<Self, StoreError> {
        Ok(SurveyVersion {
            org_id: OrgId::from_uuid(r.org_id),
            survey_id: SurveyId::from_uuid(r.survey_id),
            version: r.version,
            definition: json(&r.definition, "survey definition")?,
            published_at: r.published_at,
        })
    }
}

/// A stored response as analysts see it (contacts are not included; they are read apart, by permission).
#[derive(Debug, Clone, Serialize)]
pub struct StoredResponse {
    pub id: ResponseId,
    pub survey_id: SurveyId,
    pub survey_version: i32,
    pub service_id: ServiceId,
    pub touchpoint_id: Option<TouchpointId>,
    pub channel: String,
    pub language: String,
    pub page_path: Option<String>,
    pub submitted_at: i64,
    pub answers: Answers,
    pub trust: Option<i16>,
    pub trust_positive: Option<bool>,
    pub enrichment: Option<serde_json::Value>,
    pub sentiment: Option<String>,
    pub themes: Vec<String>,
    pub urgent: bool,
}

#[derive(sqlx::FromRow)]
pub(crate) struct ResponseRow {
    pub id: Uuid,
    pub survey_id: Uuid,
    pub survey_version: i32,
    pub service_id: Uuid,
    pub touchpoint_id: Option<Uuid>,
    pub channel: String,
    pub language: String,
    pub page_path: Option<String>,
    pub submitted_at: i64,
    pub answers: String,
    pub trust: Option<i16>,
    pub trust_positive: Option<bool>,
    pub enrichment: Option<String>,
    pub sentiment: Option<String>,
    pub themes: Option<String>,
    pub urgent: bool,
}
impl TryFrom<ResponseRow> for StoredResponse {
    type Error = StoreError;
    fn try_from(r: ResponseRow) -> Result<Self, StoreError> {
        Ok(StoredResponse {
            id: ResponseId::from_uuid(r.id),
            survey_id: SurveyId::from_uuid(r.survey_id),
            survey_version: r.survey_version,
            service_id: ServiceId::from_uuid(r.service_id),
            touchpoint_id: r.touchpoint_id.map(TouchpointId::from_uuid),
            channel: r.channel,
            language: r.language,
            page_path: r.page_path,
            submitted_at: r.submitted_at,
            answers: json(&r.answers, "answers")?,
            trust: r.trust,
            trust_positive: r.trust_positive,
            enrichment: r
                .enrichment
                .as_deref()
                .map(|e| json(e, "enrichment"))
                .transpose()?,
            sentiment: r.sentiment,
            themes: r
                .themes
                .map(|t| {
                    t.split(',')
                        .filter(|s| !s.is_empty())
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default(),
            urgent: r.urgent,
        })
    }
}

pub(crate) const RESPONSE_COLUMNS: &str = "id, survey_id, survey_version, service_id, touchpoint_id, channel, language, \
     page_path, submitted_at, answers, trust, trust_positive, enrichment, sentiment, themes, urgent";
