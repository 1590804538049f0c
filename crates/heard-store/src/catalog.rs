//! Services, touchpoints, surveys and their published versions. Every query is scoped by `org_id`: an id from
//! another organization simply is not found.

use heard_domain::survey::SurveyDefinition;
use heard_domain::{Channel, LocalizedText, OrgId, ServiceId, SurveyId, TouchpointId, UserId};

use crate::records::{ServiceRow, SurveyRow, SurveyVersionRow, TouchpointRow};
use crate::{
    Result, Service, Store, StoreError, Survey, SurveyVersion, Touchpoint, WritePool, on_pool,
};

const SURVEY_COLUMNS: &str = "org_id, id, service_id, touchpoint_id, name, draft, published_version, allowed_origins, \
     transaction_point, widget_sample_percent, keep_query, created_at, updated_at";

fn to_json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).expect("domain values always serialize")
}

/// What publishing a survey's draft did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Published {
    /// The draft became this new version.
    New(i32),
    /// The draft is the same as this latest version: nothing was published.
    Unchanged(i32),
}

impl Published {
    /// The live version after publishing.
    pub fn version(self) -> i32 {
        match self {
            Published::New(v) | Published::Unchanged(v) => v,
        }
    }
}

/// What a new survey starts as.
pub struct NewSurvey<'a> {
    pub org_id: OrgId,
    pub service_id: ServiceId,
    pub touchpoint_id: Option<TouchpointId>,
    pub name: &'a str,
    pub draft: &'a SurveyDefinition,
    pub allowed_origins: &'a [String],
    pub transaction_point: &'a str,
}

impl Store {
    pub async fn create_service(
        &self,
        org: OrgId,
        name: &LocalizedText,
        description: &LocalizedText,
        now: i64,
    ) -> Result<Service> {
        let id = ServiceId::new();
        on_pool!(self, p => sqlx::query("INSERT INTO services (org_id, id, name, description, created_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(org.as_uuid()).bind(id.as_uuid()).bind(to_json(name)).bind(to_json(description)).bind(now).execute(p).await.map(|r| r.rows_affected()))?;
        Ok(Service {
            org_id: org,
            id,
            name: name.clone(),
            description: description.clone(),
            created_at: now,
        })
    }

    pub async fn update_service(
        &self,
        org: OrgId,
        id: ServiceId,
        name: &LocalizedText,
        description: &LocalizedText,
    ) -> Result<()> {
        let n = on_pool!(self, p => sqlx::query("UPDATE services SET name = $1, description = $2 WHERE org_id = $3 AND id = $4")
            .bind(to_json(name)).bind(to_json(description)).bind(org.as_uuid()).bind(id.as_uuid()).execute(p).await.map(|r| r.rows_affected()))?;
        if n == 0 {
            Err(StoreError::NotFound)
        } else {
            Ok(())
        }
    }

    pub async fn service(&self, org: OrgId, id: ServiceId) -> Result<Service> {
        let row: Option<ServiceRow> = on_pool!(self, p => sqlx::query_as(
            "SELECT org_id, id, name, description, created_at FROM services WHERE org_id = $1 AND id = $2")
            .bind(org.as_uuid()).bind(id.as_uuid()).fetch_optional(p).await)?;
        row.ok_or(StoreError::NotFound)?.try_into()
    }

    pub async fn services(&self, org: OrgId) -> Result<Vec<Service>> {
        let rows: Vec<ServiceRow> = on_pool!(self, p => sqlx::query_as(
            "SELECT org_id, id, name, description, created_at FROM services WHERE org_id = $1 ORDER BY created_at, id")
            .bind(org.as_uuid()).fetch_all(p).await)?;
        rows.into_iter().map(TryInto::try_into).collect()
    }

    pub async fn create_touchpoint(
        &self,
        org: OrgId,
        service: ServiceId,
        name: &LocalizedText,
        channel: Channel,
        now: i64,
    ) -> Result<Touchpoint> {
        // The service must be this organization's; the composite foreign key enforces it too.
        self.service(org, service).await?;
        let id = TouchpointId::new();
        on_pool!(self, p => sqlx::query(
            "INSERT INTO touchpoints (org_id, id, service_id, name, channel, created_at) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(org.as_uuid()).bind(id.as_uuid()).bind(service.as_uuid()).bind(to_json(name)).bind(channel.key()).bind(now)
            .execute(p).await.map(|r| r.rows_affected()))?;
        Ok(Touchpoint {
            org_id: org,
            id,
            service_id: service,
            name: name.clone(),
            channel,
            created_at: now,
        })
    }

    pub async fn touchpoint(&self, org: OrgId, id: TouchpointId) -> Result<Touchpoint> {
        let row: Option<TouchpointRow> = on_pool!(self, p => sqlx::query_as(
            "SELECT org_id, id, service_id, name, channel, created_at FROM touchpoints WHERE org_id = $1 AND id = $2")
            .bind(org.as_uuid()).bind(id.as_uuid()).fetch_optional(p).await)?;
        row.ok_or(StoreError::NotFound)?.try_into()
    }

    pub async fn touchpoints(&self, org: OrgId) -> Result<Vec<Touchpoint>> {
        let rows: Vec<TouchpointRow> = on_pool!(self, p => sqlx::query_as(
            "SELECT org_id, id, service_id, name, channel, created_at FROM touchpoints WHERE org_id = $1 ORDER BY created_at, id")
            .bind(org.as_uuid()).fetch_all(p).await)?;
        rows.into_iter().map(TryInto::try_into).collect()
    }

    pub async fn create_survey(&self, s: NewSurvey<'_>, now: i64) -> Result<Survey> {
        self.service(s.org_id, s.service_id).await?;
        if let Some(t) = s.touchpoint_id {
            let tp = self.touchpoint(s.org_id, t).await?;
            if tp.service_id != s.service_id {
                return Err(StoreError::Conflict(
                    "the touchpoint belongs to another service".into(),
                ));
            }
        }
        let id = SurveyId::new();
        on_pool!(self, p => sqlx::query(
            "INSERT INTO surveys (org_id, id, service_id, touchpoint_id, name, draft, published_version, allowed_origins, \
             transaction_point, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, NULL, $7, $8, $9, $9)")
            .bind(s.org_id.as_uuid()).bind(id.as_uuid()).bind(s.service_id.as_uuid()).bind(s.touchpoint_id.map(|t| *t.as_uuid()))
            .bind(s.name).bind(to_json(s.draft)).bind(to_json(&s.allowed_origins)).bind(s.transaction_point).bind(now)
            .execute(p).await.map(|r| r.rows_affected()))?;
        self.survey(s.org_id, id).await
    }

    pub async fn survey(&self, org: OrgId, id: SurveyId) -> Result<Survey> {
        let sql = format!("SELECT {SURVEY_COLUMNS} FROM surveys WHERE org_id = $1 AND id = $2");
        let row: Option<SurveyRow> = on_pool!(self, p => sqlx::query_as(&sql)
            .bind(org.as_uuid()).bind(id.as_uuid()).fetch_optional(p).await)?;
        row.ok_or(StoreError::NotFound)?.try_into()
    }

    /// Surveys of an organization, optionally of one service.
    pub async fn surveys(&self, org: OrgId, service: Option<ServiceId>) -> Result<Vec<Survey>> {
        let sql = format!(
            "SELECT {SURVEY_COLUMNS} FROM surveys WHERE org_id = $1 AND ($2 IS NULL OR service_id = $2) ORDER BY created_at, id"
        );
        let rows: Vec<SurveyRow> = on_pool!(self, p => sqlx::query_as(&sql)
            .bind(org.as_uuid()).bind(service.map(|s| *s.as_uuid())).fetch_all(p).await)?;
        rows.into_iter().map(TryInto::try_into).collect()
    }

    /// Replaces the draft and settings; published versions are never changed.
    #[allow(clippy::too_many_arguments)]
    pub async fn update_survey(
        &self,
        org: OrgId,
        id: SurveyId,
        name: &str,
        draft: &SurveyDefinition,
        allowed_origins: &[String],
        transaction_point: &str,
        now: i64,
    ) -> Result<()> {
        let n = on_pool!(self, p => sqlx::query(
            "UPDATE surveys SET name = $1, draft = $2, allowed_origins = $3, transaction_point = $4, updated_at = $5 \
             WHERE org_id = $6 AND id = $7")
            .bind(name).bind(to_json(draft)).bind(to_json(&allowed_origins)).bind(transaction_point).bind(now)
            .bind(org.as_uuid()).bind(id.as_uuid()).execute(p).await.map(|r| r.rows_affected()))?;
        if n == 0 {
            Err(StoreError::NotFound)
        } else {
            Ok(())
        }
    }

    /// Sets the embedded widget's settings: the share of page views offered the survey (0-100) and whether
    /// responses keep the page's query string. Kept apart from `update_survey` so its callers stay as they are.
    pub async fn update_survey_widget_settings(
        &self,
        org: OrgId,
        id: SurveyId,
        sample_percent: i32,
        keep_query: bool,
        now: i64,
    ) -> Result<()> {
        let n = on_pool!(self, p => sqlx::query(
            "UPDATE surveys SET widget_sample_percent = $1, keep_query = $2, updated_at = $3 WHERE org_id = $4 AND id = $5")
            .bind(sample_percent.clamp(0, 100)).bind(keep_query).bind(now)
            .bind(org.as_uuid()).bind(id.as_uuid()).execute(p).await.map(|r| r.rows_affected()))?;
        if n == 0 {
            Err(StoreError::NotFound)
        } else {
            Ok(())
        }
    }

    /// Publishes the current draft as the next version and makes it the live one. A draft identical to the latest
    /// published version publishes nothing (`Published::Unchanged`): versions exist to tell apart what respondents
    /// saw, and a copy would split one question's answers across versions for no reason. A draft that reuses an
    /// earlier version's question id for another kind of question is refused (`Conflict`), so an id always names
    /// one question (`SurveyDefinition::check_history`).
    pub async fn publish_survey(
        &self,
        org: OrgId,
        id: SurveyId,
        by: Option<UserId>,
        now: i64,
    ) -> Result<Published> {
        let survey = self.survey(org, id).await?;
        survey
            .draft
            .check()
            .map_err(|e| StoreError::Conflict(format!("the draft cannot be published: {e}")))?;
        let earlier = self.survey_versions(org, id).await?;
        survey
            .draft
            .check_history(earlier.iter().map(|v| (v.version, &v.definition)))
            .map_err(|e| StoreError::Conflict(format!("the draft cannot be published: {e}")))?;
        let definition = to_json(&survey.draft);
        let outcome = on_pool!(self, p => {
            let mut tx = p.begin_write().await?;
            // Read inside the write transaction, so two publishes at once cannot both see "changed".
            let latest: Option<(i32, String)> = sqlx::query_as(
                "SELECT version, definition FROM survey_versions WHERE org_id = $1 AND survey_id = $2 ORDER BY version DESC LIMIT 1")
                .bind(org.as_uuid()).bind(id.as_uuid()).fetch_optional(&mut *tx).await?;
            let same = latest.as_ref().is_some_and(|(_, d)| {
                serde_json::from_str::<SurveyDefinition>(d).is_ok_and(|d| d.same_content(&survey.draft))
            });
            let outcome = match latest {
                Some((v, _)) if same => Published::Unchanged(v),
                latest => {
                    let v = latest.map_or(0, |(v, _)| v) + 1;
                    sqlx::query("INSERT INTO survey_versions (org_id, survey_id, version, definition, published_at, published_by) VALUES ($1, $2, $3, $4, $5, $6)")
                        .bind(org.as_uuid()).bind(id.as_uuid()).bind(v).bind(&definition).bind(now).bind(by.map(|u| *u.as_uuid()))
                        .execute(&mut *tx).await?;
                    sqlx::query("UPDATE surveys SET published_version = $1, updated_at = $2 WHERE org_id = $3 AND id = $4")
                        .bind(v).bind(now).bind(org.as_uuid()).bind(id.as_uuid()).execute(&mut *tx).await?;
                    Published::New(v)
                }
            };
            tx.commit().await?;
            Ok::<Published, sqlx::Error>(outcome)
        })?;
        Ok(outcome)
    }

    pub async fn survey_version(
        &self,
        org: OrgId,
        id: SurveyId,
        version: i32,
    ) -> Result<SurveyVersion> {
        let row: Option<SurveyVersionRow> = on_pool!(self, p => sqlx::query_as(
            "SELECT org_id, survey_id, version, definition, published_at FROM survey_versions \
             WHERE org_id = $1 AND survey_id = $2 AND version = $3")
            .bind(org.as_uuid()).bind(id.as_uuid()).bind(version).fetch_optional(p).await)?;
        row.ok_or(StoreError::NotFound)?.try_into()
    }

    /// Every published version, newest first.
    pub async fn survey_versions(&self, org: OrgId, id: SurveyId) -> Result<Vec<SurveyVersion>> {
        let rows: Vec<SurveyVersionRow> = on_pool!(self, p => sqlx::query_as(
            "SELECT org_id, survey_id, version, definition, published_at FROM survey_versions \
             WHERE org_id = $1 AND survey_id = $2 ORDER BY version DESC")
            .bind(org.as_uuid()).bind(id.as_uuid()).fetch_all(p).await)?;
        rows.into_iter().map(TryInto::try_into).collect()
    }

    /// Records the number of customers a service served in a fiscal quarter (A-11's volume of customers).
    pub async fn set_service_volume(
        &self,
        org: OrgId,
        service: ServiceId,
        fiscal_year: i32,
        quarter: i32,
        customers: i64,
    ) -> Result<()> {
        self.service(org, service).await?;
        on_pool!(self, p => sqlx::query(
            "INSERT INTO service_volumes (org_id, service_id, fiscal_year, quarter, customers) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (org_id, service_id, fiscal_year, quarter) DO UPDATE SET customers = excluded.customers")
            .bind(org.as_uuid()).bind(service.as_uuid()).bind(fiscal_year).bind(quarter).bind(customers).execute(p).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    pub async fn service_volume(
        &self,
        org: OrgId,
        service: ServiceId,
        fiscal_year: i32,
        quarter: i32,
    ) -> Result<Option<i64>> {
        Ok(on_pool!(self, p => sqlx::query_scalar(
            "SELECT customers FROM service_volumes WHERE org_id = $1 AND service_id = $2 AND fiscal_year = $3 AND quarter = $4")
            .bind(org.as_uuid()).bind(service.as_uuid()).bind(fiscal_year).bind(quarter).fetch_optional(p).await)?)
    }

    /// Counts one real display of a survey (a page rendered, a widget opened) on a channel and day. `day` is the
    /// organization's local day as days since 1970-01-01 (`Zone::day_number`), so displays add up per local day and
    /// per fiscal quarter like responses.
    pub async fn record_display(
        &self,
        org: OrgId,
        survey: SurveyId,
        channel: Channel,
        day: i64,
        count: i64,
    ) -> Result<()> {
        on_pool!(self, p => sqlx::query(
            "INSERT INTO displays (org_id, survey_id, channel, day, shown) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (org_id, survey_id, channel, day) DO UPDATE SET shown = displays.shown + excluded.shown")
            .bind(org.as_uuid()).bind(survey.as_uuid()).bind(channel.key()).bind(day).bind(count).execute(p).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Displays per channel of a survey between two local days (days since 1970-01-01, end exclusive).
    pub async fn displays(
        &self,
        org: OrgId,
        survey: SurveyId,
        from_day: i64,
        to_day: i64,
    ) -> Result<Vec<(String, i64)>> {
        Ok(on_pool!(self, p => sqlx::query_as(
            "SELECT channel, CAST(SUM(shown) AS BIGINT) FROM displays WHERE org_id = $1 AND survey_id = $2 AND day >= $3 AND day < $4 \
             GROUP BY channel ORDER BY channel")
            .bind(org.as_uuid()).bind(survey.as_uuid()).bind(from_day).bind(to_day).fetch_all(p).await)?)
    }
}

impl crate::jobs::StoreTx {
    /// [`Store::record_display`] in the caller's transaction: a display that is one with another write (an email
    /// invitation accepted by the SMTP server; an SMS conversation's first outbound message accepted by the
    /// provider) counts exactly when that write commits. `day` is the organization's local day number.
    pub async fn record_display(
        &mut self,
        org: OrgId,
        survey: SurveyId,
        channel: Channel,
        day: i64,
        count: i64,
    ) -> Result<()> {
        crate::jobs::on_tx!(self, t => sqlx::query(
            "INSERT INTO displays (org_id, survey_id, channel, day, shown) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (org_id, survey_id, channel, day) DO UPDATE SET shown = displays.shown + excluded.shown")
            .bind(org.as_uuid()).bind(survey.as_uuid()).bind(channel.key()).bind(day).bind(count)
            .execute(&mut **t).await.map(|r| r.rows_affected()))?;
        Ok(())
    }
}
