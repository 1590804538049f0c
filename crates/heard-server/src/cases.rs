//! The case escalation job (issue 21, item 2): `cases.check` looks at one case when one of its SLA clocks reaches
//! a warning share, a deadline or an escalation step (`heard_store::cases::CHECK_KIND`, enqueued by every change to
//! the case for the next such instant). Its effect, the "escalated" history entries, the status and the next check,
//! is written in the job's own transaction (`Store::check_case`), so it happens once.

use futures_util::future::BoxFuture;
use heard_store::Store;
use heard_store::jobs::ClaimedJob;
use uuid::Uuid;

use crate::jobs::{Completed, JobHandler};

/// Runs `cases.check`.
pub struct CheckCase;

impl JobHandler for CheckCase {
    fn run<'a>(
        &'a self,
        store: &'a Store,
        job: &'a ClaimedJob,
    ) -> BoxFuture<'a, Result<Completed, String>> {
        Box::pin(async move {
            let case: Uuid = job
                .job
                .payload
                .get("case")
                .and_then(|c| c.as_str())
                .and_then(|c| c.parse().ok())
                .ok_or_else(|| format!("job {}: payload has no case id", job.job.id))?;
            let steps = store
                .check_case(job.job.org_id, case, Some(job), heard_store::now_ms())
                .await
                .map_err(|e| format!("job {}: case {case}: {e}", job.job.id))?;
            if steps > 0 {
                tracing::info!(org = %job.job.org_id, %case, steps, "case escalated");
            }
            Ok(Completed::WithEffect)
        })
    }
}

/// Emails members of staff about a case or a rule's match (`heard_store::rules::NOTIFY_KIND`): the on-call staff
/// when crisis language opens a case, the members a rule names when it matches, and a case's owner (or the on-call
/// staff) when a deadline is about to be missed, is missed, or the case escalates, and the on-call staff when a
/// callback is missed (`reason` `callback_missed`, linking the callback). Sent through the organization's
/// email sender (Outreach), signed as invitations are. The message names the case or response and links to it in
/// the admin, never quoting what the person wrote (the email leaves the agency's system).
///
/// Failures: with no email sender set up, a rule is turned off at once with that reason, and a case gets a note by
/// Heard saying no one was emailed (nothing can fix it by retrying); an SMTP failure is retried with backoff (24
/// attempts for a crisis), and after the last attempt the rule is turned off, or the case noted, with the cause. A retry after some members were emailed emails all of them again (at least once).
pub struct NotifyStaff {
    sealer: crate::crypto::Sealer,
    public_url: String,
}

impl NotifyStaff {
    pub fn new(secret: &[u8; 32], public_url: &str) -> NotifyStaff {
        NotifyStaff {
            sealer: crate::crypto::Sealer::new(secret),
            public_url: public_url.trim_end_matches('/').to_string(),
        }
    }

    async fn send(&self, store: &Store, job: &ClaimedJob) -> Result<Completed, String> {
        use lettre::AsyncTransport;
        use lettre::message::Mailbox;
        let org = job.job.org_id;
        let jid = job.job.id;
        let p = &job.job.payload;
        let uuid_of = |k: &str| {
            p.get(k)
                .and_then(|v| v.as_str())
                .and_then(|s| s.parse::<Uuid>().ok())
        };
        let case = uuid_of("case");
        let response = uuid_of("response");
        let rule = uuid_of("rule");
        let crisis = p.get("reason").and_then(|v| v.as_str()) == Some("crisis");
        let users: Vec<heard_domain::UserId> = p
            .get("users")
            .and_then(|v| v.as_array())
            .map(|a| a.iter().filter_map(|u| u.as_str()?.parse().ok()).collect())
            .unwrap_or_default();
        let organization = store
            .org(org)
            .await
            .map_err(|e| format!("job {jid}: {e}"))?;
        let last_attempt = job.job.attempts >= job.job.max_attempts;
        let Some(sender) = store
            .email_sender(org)
            .await
            .map_err(|e| format!("job {jid}: {e}"))?
        else {
            if let Some(rule) = rule {
                store
                    .disable_rule(org, rule, "No email sender is set up (Outreach, Email). Set one up, then turn the rule on again.")
                    .await
                    .map_err(|e| format!("job {jid}: {e}"))?;
                return Ok(Completed::ByWorker);
            }
            // A setup problem, not a passing fault: say so on the case, where staff look, and do not retry.
            if let Some(c) = case {
                store
                    .note_by_heard(
                        org,
                        c,
                        "Heard could not email the on-call staff about this case: no email sender is set up \
                         (Outreach, Email).",
                    )
                    .await
                    .map_err(|e| format!("job {jid}: {e}"))?;
            }
            tracing::warn!(org = %org, job = %jid, "no email sender: staff notice not sent");
            return Ok(Completed::ByWorker);
        };
        let callback = uuid_of("callback");
        let (subject, link) = match (case, rule) {
            _ if callback.is_some() => (
                "A callback was missed: someone needs to find another way to reach the person"
                    .to_string(),
                format!(
                    "{}/admin/o/{org}/callbacks/{}",
                    self.public_url,
                    callback.expect("checked")
                ),
            ),
            (Some(c), _) => {
                let number = store
                    .case(org, c)
                    .await
                    .map(|c| c.number)
                    .unwrap_or_default();
                let reason = p.get("reason").and_then(|v| v.as_str()).unwrap_or_default();
                let subject = if crisis {
                    format!("Urgent: crisis language in a response, case #{number}")
                } else if reason == "at_risk" {
                    format!("Case #{number} is about to miss a deadline")
                } else if reason == "breached" {
                    format!("Case #{number} missed a deadline")
                } else if reason == "escalated" {
                    format!("Case #{number} escalated: a deadline was missed")
                } else if reason == "rule_at_risk" {
                    let name = match rule {
                        Some(r) => store
                            .rule(org, r)
                            .await
                            .map(|r| r.spec.name)
                            .unwrap_or_default(),
                        None => String::new(),
                    };
                    format!("Rule \"{name}\": case #{number} is about to miss a deadline")
                } else {
                    let name = match rule {
                        Some(r) => store
                            .rule(org, r)
                            .await
                            .map(|r| r.spec.name)
                            .unwrap_or_default(),
                        None => String::new(),
                    };
                    format!("Rule \"{name}\" opened case #{number}")
                };
                (
                    subject,
                    format!("{}/admin/o/{org}/cases/{c}", self.public_url),
                )
            }
            (None, Some(r)) => {
                let name = store
                    .rule(org, r)
                    .await
                    .map(|r| r.spec.name)
                    .unwrap_or_default();
                let signal = uuid_of("signal");
                let link = match (response, signal) {
                    (Some(resp), _) => {
                        format!("{}/admin/o/{org}/responses/{resp}", self.public_url)
                    }
                    (None, Some(sig)) => format!("{}/admin/o/{org}/signals/{sig}", self.public_url),
                    (None, None) => format!("{}/admin/o/{org}/rules/{r}", self.public_url),
                };
                let what = if signal.is_some() {
                    "a signal"
                } else if p.get("event").is_some() {
                    "an event"
                } else {
                    "a response"
                };
                (format!("Rule \"{name}\" matched {what}"), link)
            }
            (None, None) => return Err(format!("job {jid}: payload names no case and no rule")),
        };
        let from = Mailbox::new(
            sender.from_name.clone(),
            sender
                .from_address
                .parse()
                .map_err(|e| format!("from address: {e}"))?,
        );
        let transport = crate::outreach::transport(&sender, &self.sealer)?;
        let mut sent = 0;
        for user in users {
            // Only people who are still members hear of the organization's cases.
            if store
                .role_in(org, user)
                .await
                .map_err(|e| format!("job {jid}: {e}"))?
                .is_none()
            {
                continue;
            }
            let to = store
                .user(user)
                .await
                .map_err(|e| format!("job {jid}: {e}"))?;
            let address: lettre::Address = to.email.parse().map_err(|e| format!("address: {e}"))?;
            let mut message = lettre::Message::builder()
                .from(from.clone())
                .to(Mailbox::new(None, address))
                .message_id(None)
                .subject(subject.clone())
                .header(lettre::message::header::MIME_VERSION_1_0)
                .header(lettre::message::header::ContentType::TEXT_PLAIN)
                .body(format!(
                    "{subject}\n\nOpen it in Heard for {}:\n{link}\n\nThis message does not quote what the person wrote; sign in to read it.\n",
                    organization.name
                ))
                .map_err(|e| format!("message: {e}"))?;
            crate::outreach::sign_dkim(&mut message, &sender, &self.sealer)?;
            if let Err(e) = transport.send(message).await {
                let cause = format!("SMTP: {e}");
                if last_attempt && let Some(c) = case.filter(|_| rule.is_none()) {
                    store
                        .note_by_heard(
                            org,
                            c,
                            &format!("Heard could not email staff about this case ({cause})."),
                        )
                        .await
                        .map_err(|e| format!("job {jid}: {e}"))?;
                }
                if last_attempt && let Some(rule) = rule {
                    store
                        .disable_rule(org, rule, &format!("Its emails could not be sent ({cause}). Check the email sender, then turn the rule on again."))
                        .await
                        .map_err(|e| format!("job {jid}: {e}"))?;
                }
                return Err(format!("job {jid}: {cause}"));
            }
            sent += 1;
        }
        tracing::info!(org = %org, job = %jid, sent, crisis, "staff notified");
        Ok(Completed::ByWorker)
    }
}

impl JobHandler for NotifyStaff {
    fn run<'a>(
        &'a self,
        store: &'a Store,
        job: &'a ClaimedJob,
    ) -> BoxFuture<'a, Result<Completed, String>> {
        Box::pin(self.send(store, job))
    }
}
