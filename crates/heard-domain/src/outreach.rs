//! Outreach figures (issue 20, item 5): what happened to the survey invitations sent by email and the survey
//! conversations started by SMS, per survey and channel, and the response rate with its 95% Wilson interval. Counts
//! come from the store (`heard_store::outreach_figures`); this module only does the arithmetic. No I/O.
//!
//! **What each count means.** Every count is of invitations (email) or conversations (SMS) written in the period,
//! whatever happened to them since, so each stage is a subset of `invited`. The unit is the invitation, not the
//! person: someone invited twice (two transactions, beyond the contact cap) counts twice. That is the unit A-11's
//! collection needs: `volume_of_customers_provided_survey_opportunity` counts survey opportunities (real displays of
//! the survey, each an offer), and the response rate divides respondents by them, so an invitation is one offer and
//! each stage, and the response rate, are per offer. The statistics page's "offered" counts each emailed invitation
//! when it is sent and each SMS conversation when the provider accepts its opening message.
//!
//! | Count | Email | SMS |
//! |---|---|---|
//! | invited | invitations written | conversations whose opening message the provider accepted (a refused send, or one held because the number had opted out, is not an invitation) |
//! | delivered | accepted by the SMTP server and not bounced since | an outbound message reported `delivered` (or `read`) |
//! | opened | the link was followed (the page was asked for); no tracking pixels, so reading the email is not seen | — (not applicable) |
//! | started | the survey form was sent back at least once, stored or returned for a correction | any reply |
//! | completed | a response stored through the link | the conversation ended with its answers stored |
//! | opted out | unsubscribed (link or one-click), before or after answering | STOP (or another opt-out word) while the conversation was open |
//! | bounced | a delivery status notification reported a permanent failure | an outbound message `undelivered` or `failed` |
//!
//! **Response rate** = completed / invited, with the Wilson score interval at 95% (Wilson, E. B. (1927). Probable
//! inference, the law of succession, and statistical inference. *Journal of the American Statistical Association*,
//! 22(158), 209–212), from [`crate::stats::wilson`] without a finite-population correction: the invited are every
//! person asked, but the rate estimates the chance that a person asked answers.

use serde::Serialize;

use crate::stats::{Proportion, wilson};

/// The two outreach channels. Their keys are A-11's channel keys (`crate::Channel`) of the responses they bring.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum OutreachChannel {
    Email,
    Sms,
}

impl OutreachChannel {
    /// The A-11 channel of the responses and displays this outreach brings.
    pub fn channel(self) -> crate::Channel {
        match self {
            OutreachChannel::Email => crate::Channel::Email,
            OutreachChannel::Sms => crate::Channel::SmsTextMessages,
        }
    }

    /// A label for people: "Email" or "SMS".
    pub fn label(self) -> &'static str {
        match self {
            OutreachChannel::Email => "Email",
            OutreachChannel::Sms => "SMS",
        }
    }
}

/// What happened to one survey's invitations on one channel (see the module's table). All counts are of invitations
/// (one email invitation or SMS conversation each), never of messages, nor of distinct people.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct OutreachCounts {
    pub invited: u64,
    pub delivered: u64,
    /// `None` where the channel cannot know it (SMS).
    pub opened: Option<u64>,
    pub started: u64,
    pub completed: u64,
    pub opted_out: u64,
    pub bounced: u64,
}

/// Why counts cannot be right: a stage larger than the invitations it is a subset of.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{stage} ({count}) is more than invited ({invited})")]
pub struct CountsError {
    pub stage: &'static str,
    pub count: u64,
    pub invited: u64,
}

/// The figures of one survey on one channel.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct OutreachFigures {
    pub channel: OutreachChannel,
    pub counts: OutreachCounts,
    /// completed / invited with its 95% Wilson interval; `None` when no one was invited.
    pub response_rate: Option<Proportion>,
}

/// The figures from counts. `Err` when a stage is larger than `invited`, which the store's queries never give.
pub fn figures(
    channel: OutreachChannel,
    counts: OutreachCounts,
) -> Result<OutreachFigures, CountsError> {
    let stages = [
        ("delivered", counts.delivered),
        ("opened", counts.opened.unwrap_or(0)),
        ("started", counts.started),
        ("completed", counts.completed),
        ("opted out", counts.opted_out),
        ("bounced", counts.bounced),
    ];
    if let Some((stage, count)) = stages.into_iter().find(|(_, c)| *c > counts.invited) {
        return Err(CountsError {
            stage,
            count,
            invited: counts.invited,
        });
    }
    Ok(OutreachFigures {
        channel,
        counts,
        response_rate: (counts.invited > 0).then(|| wilson(counts.completed, counts.invited, None)),
    })
}

/// The sum of several surveys' counts on one channel (an organization's total).
pub fn total(counts: impl IntoIterator<Item = OutreachCounts>) -> OutreachCounts {
    counts
        .into_iter()
        .fold(OutreachCounts::default(), |a, c| OutreachCounts {
            invited: a.invited + c.invited,
            delivered: a.delivered + c.delivered,
            opened: match (a.opened, c.opened) {
                (None, None) => None,
                (x, y) => Some(x.unwrap_or(0) + y.unwrap_or(0)),
            },
            started: a.started + c.started,
            completed: a.completed + c.completed,
            opted_out: a.opted_out + c.opted_out,
            bounced: a.bounced + c.bounced,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(invited: u64, completed: u64) -> OutreachCounts {
        OutreachCounts {
            invited,
            delivered: invited,
            opened: Some(completed),
            started: completed,
            completed,
            opted_out: 0,
            bounced: 0,
        }
    }

    #[test]
    fn the_response_rate_is_completed_over_invited_with_wilsons_interval() {
        let f = figures(OutreachChannel::Email, counts(263, 81)).unwrap();
        let r = f.response_rate.unwrap();
        assert_eq!((r.successes, r.n), (81, 263));
        // Wilson (1927) for 81 of 263: 0.2553 to 0.3662.
        assert!(
            (r.low - 0.2553).abs() < 5e-4 && (r.high - 0.3662).abs() < 5e-4,
            "{r:?}"
        );
        assert!(
            figures(OutreachChannel::Sms, OutreachCounts::default())
                .unwrap()
                .response_rate
                .is_none()
        );
    }

    #[test]
    fn a_stage_larger_than_invited_is_refused() {
        let mut c = counts(2, 1);
        c.bounced = 3;
        let e = figures(OutreachChannel::Email, c).unwrap_err();
        assert_eq!(e.stage, "bounced");
    }

    #[test]
    fn totals_add_each_stage_and_keep_opened_unknown_for_sms() {
        let t = total([counts(3, 1), counts(4, 2)]);
        assert_eq!((t.invited, t.completed, t.opened), (7, 3, Some(3)));
        let mut s = counts(5, 1);
        s.opened = None;
        assert_eq!(total([s, s]).opened, None);
        assert_eq!(OutreachChannel::Sms.channel().key(), "sms_text_messages");
    }
}
