//! The outreach figures' counts (issue 20, item 5): per survey, what happened to the email invitations and the SMS
//! conversations written in a period. One grouped query per channel, scoped by organization; each stage's meaning is
//! `heard_domain::outreach`'s table, and the arithmetic (response rate, interval) is there too.

use heard_domain::outreach::OutreachCounts;
use heard_domain::{OrgId, SurveyId};
use uuid::Uuid;

use crate::{Result, Store, on_pool};

type Row = (
    Uuid,
    i64,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    Option<i64>,
);

fn n(x: Option<i64>) -> u64 {
    u64::try_from(x.unwrap_or(0)).unwrap_or(0)
}

impl Store {
    /// Per survey, the email invitations written in `[from_ms, to_ms)` and what happened to them: delivered (sent
    /// and not bounced), opened (link followed, or answered), started (form sent back at least once, or answered),
    /// completed (answered), opted out (unsubscribed, before or after answering: `unsubscribed_at` is set either
    /// way), bounced. Surveys without invitations are absent.
    pub async fn email_outreach_counts(
        &self,
        org: OrgId,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Vec<(SurveyId, OutreachCounts)>> {
        let rows: Vec<Row> = on_pool!(self, p => sqlx::query_as(
            "SELECT survey_id, COUNT(*), \
             SUM(CASE WHEN sent_at IS NOT NULL AND bounced_at IS NULL THEN 1 ELSE 0 END), \
             SUM(CASE WHEN opened_at IS NOT NULL OR answered_at IS NOT NULL THEN 1 ELSE 0 END), \
             SUM(CASE WHEN started_at IS NOT NULL OR answered_at IS NOT NULL THEN 1 ELSE 0 END), \
             SUM(CASE WHEN answered_at IS NOT NULL THEN 1 ELSE 0 END), \
             SUM(CASE WHEN unsubscribed_at IS NOT NULL THEN 1 ELSE 0 END), \
             SUM(CASE WHEN bounced_at IS NOT NULL THEN 1 ELSE 0 END) \
             FROM email_invitations WHERE org_id = $1 AND created_at >= $2 AND created_at < $3 \
             GROUP BY survey_id ORDER BY survey_id")
            .bind(org.as_uuid()).bind(from_ms).bind(to_ms).fetch_all(p).await)?;
        Ok(rows
            .into_iter()
            .map(|r| {
                (
                    SurveyId::from_uuid(r.0),
                    OutreachCounts {
                        invited: u64::try_from(r.1).unwrap_or(0),
                        delivered: n(r.2),
                        opened: Some(n(r.3)),
                        started: n(r.4),
                        completed: n(r.5),
                        opted_out: n(r.6),
                        bounced: n(r.7),
                    },
                )
            })
            .collect())
    }

    /// Per survey, the SMS conversations started in `[from_ms, to_ms)` whose opening message the provider accepted
    /// (an outbound message of the conversation with the provider's id: a send the provider refused, or one whose
    /// outcome is still unknown, is not an invitation; a send held because the number had opted out starts no
    /// conversation), and what happened to them: delivered (an outbound message `delivered` or `read`), started (any
    /// inbound message), completed (ended with answers, which were then stored as a response), opted out (an opt-out
    /// of the number logged at or after the conversation began, and, if it ended, not after it ended), bounced (an
    /// outbound message `undelivered` or `failed` after the provider took it). SMS has no "opened". Surveys without
    /// such conversations are absent.
    pub async fn sms_outreach_counts(
        &self,
        org: OrgId,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Vec<(SurveyId, OutreachCounts)>> {
        let rows: Vec<Row> = on_pool!(self, p => sqlx::query_as(
            "SELECT c.survey_id, COUNT(*), \
             SUM(CASE WHEN EXISTS (SELECT 1 FROM sms_messages m WHERE m.org_id = c.org_id AND m.conversation_id = c.id \
               AND m.direction = 'outbound' AND m.status IN ('delivered', 'read')) THEN 1 ELSE 0 END), \
             CAST(NULL AS BIGINT), \
             SUM(CASE WHEN EXISTS (SELECT 1 FROM sms_messages m WHERE m.org_id = c.org_id AND m.conversation_id = c.id \
               AND m.direction = 'inbound') THEN 1 ELSE 0 END), \
             SUM(CASE WHEN c.step = 'done' AND c.answers_sealed IS NOT NULL THEN 1 ELSE 0 END), \
             SUM(CASE WHEN EXISTS (SELECT 1 FROM sms_consent_log l WHERE l.org_id = c.org_id \
               AND l.phone_key = c.phone_key AND l.action = 'opt_out' AND l.at >= c.created_at \
               AND (c.step <> 'done' OR l.at <= c.updated_at)) THEN 1 ELSE 0 END), \
             SUM(CASE WHEN EXISTS (SELECT 1 FROM sms_messages m WHERE m.org_id = c.org_id AND m.conversation_id = c.id \
               AND m.direction = 'outbound' AND m.status IN ('undelivered', 'failed')) THEN 1 ELSE 0 END) \
             FROM sms_conversations c WHERE c.org_id = $1 AND c.created_at >= $2 AND c.created_at < $3 \
             AND EXISTS (SELECT 1 FROM sms_messages m WHERE m.org_id = c.org_id AND m.conversation_id = c.id \
               AND m.direction = 'outbound' AND m.provider_message_id IS NOT NULL) \
             GROUP BY c.survey_id ORDER BY c.survey_id")
            .bind(org.as_uuid()).bind(from_ms).bind(to_ms).fetch_all(p).await)?;
        Ok(rows
            .into_iter()
            .map(|r| {
                (
                    SurveyId::from_uuid(r.0),
                    OutreachCounts {
                        invited: u64::try_from(r.1).unwrap_or(0),
                        delivered: n(r.2),
                        opened: None,
                        started: n(r.4),
                        completed: n(r.5),
                        opted_out: n(r.6),
                        bounced: n(r.7),
                    },
                )
            })
            .collect())
    }
}
