//! Outbound SMS: a provider behind a small trait, its HTTP implementation speaking Twilio's Messages API, and the one
//! send path, which checks the number's opt-out at send time and records the message with its provider id, state
//! and segments.
//!
//! Twilio's Messages API (REST API 2010-04-01): `POST {base}/2010-04-01/Accounts/{AccountSid}/Messages.json`, HTTP
//! basic auth (account SID, auth token), form fields `To`, `From`, `Body` and `StatusCallback`; 201 with JSON
//! `{"sid": "SM…", "status": "queued", …}`; 4xx with `{"code": 21211, "message": …}` when the request is refused.
//! The workspace's reqwest has no TLS backend yet, so the client reaches `http` bases only (tests on loopback).

use futures_util::future::BoxFuture;
use heard_channels::sms as proto;
use heard_domain::OrgId;
use heard_store::Store;
use heard_store::sms::{OutboundSms, SmsConversation};
use uuid::Uuid;

use crate::crypto::Sealer;

/// One message to send.
#[derive(Debug, Clone)]
pub struct OutboundMessage {
    pub account_sid: String,
    pub auth_token: String,
    /// The sender's number, E.164.
    pub from: String,
    /// The person's number, E.164.
    pub to: String,
    pub body: String,
    /// Where the provider posts delivery states.
    pub status_callback: Option<String>,
}

/// The provider took the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    /// The provider's message id (Twilio's `sid`).
    pub sid: String,
    /// Its first state (`queued`, `accepted`).
    pub status: String,
}

/// Why a send did not happen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendError {
    /// The provider refused this message (4xx): sending it again would fail the same way.
    Refused {
        status: u16,
        code: Option<i64>,
        message: String,
    },
    /// The provider could not be reached or failed (5xx, network): the send stays queued and is retried.
    Unavailable(String),
}

/// A way to send SMS. Tests use [`TwilioHttp`] against a fake provider on loopback.
pub trait SmsProvider: Send + Sync {
    fn send<'a>(
        &'a self,
        message: &'a OutboundMessage,
    ) -> BoxFuture<'a, Result<Accepted, SendError>>;
}

/// Twilio's Messages API over HTTP.
#[derive(Clone)]
pub struct TwilioHttp {
    client: reqwest::Client,
    base: String,
}

impl TwilioHttp {
    /// `base` is `https://api.twilio.com` in production, a loopback address in tests.
    pub fn new(base: &str) -> TwilioHttp {
        let client = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(15))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("a client with a timeout builds");
        TwilioHttp {
            client,
            base: base.trim_end_matches('/').to_string(),
        }
    }
}

impl SmsProvider for TwilioHttp {
    fn send<'a>(&'a self, m: &'a OutboundMessage) -> BoxFuture<'a, Result<Accepted, SendError>> {
        Box::pin(async move {
            let url = format!(
                "{}/2010-04-01/Accounts/{}/Messages.json",
                self.base, m.account_sid
            );
            let body = {
                let mut form = form_urlencoded::Serializer::new(String::new());
                form.append_pair("To", &m.to)
                    .append_pair("From", &m.from)
                    .append_pair("Body", &m.body);
                if let Some(cb) = &m.status_callback {
                    form.append_pair("StatusCallback", cb);
                }
                form.finish()
            };
            let resp = self
                .client
                .post(url)
                .basic_auth(&m.account_sid, Some(&m.auth_token))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body)
                .send()
                .await
                .map_err(|e| SendError::Unavailable(format!("provider unreachable: {e}")))?;
            let status = resp.status().as_u16();
            let json: serde_json::Value = resp.json().await.unwrap_or(serde_json::Value::Null);
            match status {
                200..=299 => {
                    let sid = json["sid"].as_str().unwrap_or("").to_string();
                    if sid.is_empty() {
                        return Err(SendError::Unavailable(
                            "the provider's answer has no sid".into(),
                        ));
                    }
                    let status = json["status"].as_str().unwrap_or("queued").to_string();
                    Ok(Accepted { sid, status })
                }
                // 429 (too many requests) is a wait, not a refusal.
                400..=499 if status != 429 => Err(SendError::Refused {
                    status,
                    code: json["code"].as_i64(),
                    message: json["message"]
                        .as_str()
                        .unwrap_or("")
                        .chars()
                        .take(200)
                        .collect(),
                }),
                _ => Err(SendError::Unavailable(format!(
                    "provider answered {status}"
                ))),
            }
        })
    }
}

/// What a send did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendOutcome {
    /// Sent; the recorded message's id and the provider's id.
    Sent { message_id: Uuid, sid: String },
    /// Not sent: the number is opted out of the organization's messages (checked now, not when invited).
    HeldOptedOut,
}

/// Errors of the send path.
#[derive(Debug)]
pub enum SendPathError {
    Store(heard_store::StoreError),
    /// A sealed value did not open (wrong server secret).
    Unsealed(&'static str),
    /// The conversation's sender is gone.
    NoSender,
    Provider(SendError),
}

impl From<heard_store::StoreError> for SendPathError {
    fn from(e: heard_store::StoreError) -> Self {
        SendPathError::Store(e)
    }
}

/// Sends `body` to the conversation's person from its sender: refuses an opted-out number, then sends and records
/// the outbound message (provider id, first state, segments). `public_url` makes the status callback's address.
pub async fn send_in_conversation(
    store: &Store,
    sealer: &Sealer,
    provider: &dyn SmsProvider,
    org: OrgId,
    conversation: &SmsConversation,
    body: &str,
    public_url: &str,
) -> Result<SendOutcome, SendPathError> {
    if store.sms_opted_out(org, &conversation.phone_key).await? {
        return Ok(SendOutcome::HeldOptedOut);
    }
    let sender = store
        .sms_sender(conversation.sender_id)
        .await?
        .filter(|s| s.org_id == *org.as_uuid())
        .ok_or(SendPathError::NoSender)?;
    let auth_token = sealer
        .open(&sender.auth_token_sealed)
        .ok_or(SendPathError::Unsealed("auth token"))?;
    let to = sealer
        .open(&conversation.phone_sealed)
        .ok_or(SendPathError::Unsealed("phone"))?;
    let message = OutboundMessage {
        account_sid: sender.account_sid.clone(),
        auth_token,
        from: sender.phone_number.clone(),
        to,
        body: body.to_string(),
        status_callback: Some(format!(
            "{}/hooks/sms/{}/status",
            public_url.trim_end_matches('/'),
            sender.id
        )),
    };
    let accepted = provider
        .send(&message)
        .await
        .map_err(SendPathError::Provider)?;
    let segments = proto::segments(body).segments as i32;
    let message_id = store
        .record_outbound_sms(
            org,
            &OutboundSms {
                sender_id: sender.id,
                conversation_id: Some(conversation.id),
                provider_message_id: Some(accepted.sid.clone()),
                status: accepted.status,
                segments,
                now: heard_store::now_ms(),
            },
        )
        .await?;
    Ok(SendOutcome::Sent {
        message_id,
        sid: accepted.sid,
    })
}
