//! `heard sms invite` and `heard email invite`: one person invited from the command line, through the same door as
//! the admin's CSV upload and `POST /api/v1/outreach/batches` (`heard_server::outreach_queue::write_batch`, a batch of
//! one, recorded with source `api`). The invitation is an item on the organization's send queue
//! (`/admin/o/{org}/outreach/queue`), handed off by a running server's `outreach.due` job, which applies opt-outs and
//! suppressions, the contact cap and quiet hours at that moment. The command prints the item's id and what that
//! decision is now (`heard_server::outreach_queue::decide_item`): sent at once, held until a time, or not sent and why.

use anyhow::{Context, Result, anyhow, bail};
use clap::Args;
use heard_domain::invitation_rules::{self, Channel, ContactFields, Decision, ItemState};
use heard_server::outreach_queue::{Batch, BatchError, Senders, decide_item, write_batch};
use heard_store::{Store, StoreOptions};

use crate::settings::StorageArgs;

/// What every invitation from the command line names.
#[derive(Args)]
pub struct InviteArgs {
    #[command(flatten)]
    pub storage: StorageArgs,
    /// The organization's short name.
    #[arg(long)]
    pub org: String,
    /// The survey's id; its published version is asked.
    #[arg(long)]
    pub survey: uuid::Uuid,
    /// The invitation's language: en or es.
    #[arg(long, default_value = "en")]
    pub lang: String,
    /// The agency's id for the person (kept only as a keyed hash); by default the number or address is the person.
    #[arg(long)]
    pub person_id: Option<String>,
    /// The person's IANA time zone, for quiet hours (by default the organization's).
    #[arg(long)]
    pub time_zone: Option<String>,
    /// An idempotency key: the same command again with the same key writes nothing new (by default each run is a
    /// new invitation, subject to the contact cap).
    #[arg(long)]
    pub key: Option<String>,
}

/// Invites the person at `address` (a phone number for SMS, an email address for email) and prints what happened.
/// `sender`, for SMS, must be the organization's sender invitations go from (its first), when given.
pub async fn run(
    args: InviteArgs,
    channel: Channel,
    address: &str,
    sender: Option<uuid::Uuid>,
) -> Result<()> {
    let fields = ContactFields {
        person_id: args.person_id.as_deref(),
        phone: (channel == Channel::Sms).then_some(address),
        email: (channel == Channel::Email).then_some(address),
        language: Some(&args.lang),
        time_zone: args.time_zone.as_deref(),
    };
    let contact = invitation_rules::parse_contact(channel, &fields, "").map_err(|e| {
        anyhow!(
            "{}",
            e.0.iter()
                .map(|f| format!("{}: {}", f.field, f.message))
                .collect::<Vec<_>>()
                .join("; ")
        )
    })?;
    let sealer = heard_server::crypto::Sealer::new(&args.storage.secret_key()?);
    let store = Store::open(&args.storage.database_url()?, StoreOptions::default()).await?;
    let done = invite(&store, &sealer, &args, channel, contact, sender).await;
    store.close().await;
    println!("{}", done?);
    Ok(())
}

async fn invite(
    store: &Store,
    sealer: &heard_server::crypto::Sealer,
    args: &InviteArgs,
    channel: Channel,
    contact: invitation_rules::Contact,
    sender: Option<uuid::Uuid>,
) -> Result<String> {
    let org = store
        .org_by_slug(&args.org)
        .await
        .map_err(|_| anyhow!("--org: no organization with the short name '{}'", args.org))?;
    let senders = Senders::of(store, org.id).await?;
    if let Some(s) = sender
        && senders.sms != Some(s)
    {
        match senders.sms {
            Some(first) => bail!(
                "--sender: invitations go out from the organization's first SMS sender, {first}; give that one or \
                 leave --sender out"
            ),
            None => bail!("--sender: the organization has no SMS sender; set one up first"),
        }
    }
    let key = args
        .key
        .clone()
        .unwrap_or_else(|| format!("cli-{}", uuid::Uuid::now_v7()));
    let now = heard_store::now_ms();
    let outcome = write_batch(
        store,
        sealer,
        &Batch {
            org: org.id,
            source: "api",
            idempotency_key: &key,
            survey: heard_domain::SurveyId::from_uuid(args.survey),
            channel,
            contacts: std::slice::from_ref(&contact),
        },
        now,
    )
    .await
    .map_err(|e| match e {
        BatchError::Invalid(f) => anyhow!(
            "--survey: {}",
            f.0.iter()
                .map(|f| f.message.as_str())
                .collect::<Vec<_>>()
                .join("; ")
        ),
        BatchError::KeyReused => {
            anyhow!("--key: the key was already used for a different invitation")
        }
        BatchError::Store(e) => anyhow::Error::new(e),
    })?;
    let item = store
        .outreach_batch_items(org.id, outcome.id)
        .await?
        .into_iter()
        .next()
        .context("the batch wrote no item")?;
    let what = if channel == Channel::Sms {
        "SMS"
    } else {
        "email"
    };
    if !outcome.created {
        return Ok(format!(
            "The key was used before for this invitation: nothing new was written. Invitation {} is {}.",
            item.id,
            lower_first(item.state.label())
        ));
    }
    if item.state != ItemState::Pending {
        return Ok(format!(
            "Queued {what} invitation {}: {}.",
            item.id,
            lower_first(item.state.label())
        ));
    }
    let zone = item
        .time_zone
        .as_deref()
        .and_then(|z| heard_domain::Zone::parse(z).ok())
        .unwrap_or(senders.org_zone);
    let at = |ms: i64| {
        format!(
            "{} {}",
            zone.local(ms).format("%Y-%m-%d %H:%M"),
            zone.name()
        )
    };
    Ok(
        match decide_item(store, &senders, &item, now, None).await? {
            Decision::Send => format!(
                "Queued {what} invitation {}; a running server sends it now.",
                item.id
            ),
            Decision::Hold { reason, until } => format!(
                "Queued {what} invitation {}; held until {} ({}), then a running server sends it.",
                item.id,
                at(until),
                lower_first(reason.label())
            ),
            Decision::Skip { reason, until } => format!(
                "Queued {what} invitation {}, but it will not be sent: {}{}.",
                item.id,
                lower_first(reason.label()),
                until
                    .map(|u| format!(", until {}", at(u)))
                    .unwrap_or_default()
            ),
        },
    )
}

/// `s` with its first letter in lower case, to sit inside a sentence.
fn lower_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_lowercase().chain(c).collect(),
        None => String::new(),
    }
}
