//! Signed webhooks (issue 21, item 4): signing by the Standard Webhooks specification
//! (<https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md>), the endpoint
//! address rule, and the `webhook.deliver` job that sends one attempt of one delivery.
//!
//! **Signing.** An endpoint's secret is `whsec_` and the base64 of 24 random bytes; the key is those bytes. Each
//! request carries `webhook-id` (`msg_` and the message id: the same on every attempt and replay, so receivers
//! deduplicate by it), `webhook-timestamp` (seconds since the epoch, of this attempt) and `webhook-signature`:
//! `v1,` and the base64 of HMAC-SHA256 over `{id}.{timestamp}.{body}`. For 24 hours after a rotation
//! ([`heard_domain::webhook::ROTATION_OVERLAP_MS`]) the previous secret signs too, the two signatures separated by
//! a space, so a receiver holding either verifies every message while it changes over.
//!
//! **Sending.** One POST of the stored body (`content-type: application/json`), 5 seconds to connect, 15 for the
//! answer, no redirects followed (a 3xx is a failure: the endpoint's address is what an admin set). A 2xx is
//! delivered; anything else, or no answer, is a failed attempt recorded with its status or cause, and the next
//! attempt is scheduled by [`heard_domain::webhook::retry_after_ms`] in the same commit. The receiver's body is
//! never read or kept.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use futures_util::future::BoxFuture;
use hmac::{Hmac, Mac};
use rand::RngCore;
use serde::Deserialize;
use sha2::Sha256;
use std::sync::Arc;
use uuid::Uuid;

use crate::crypto::Sealer;
use crate::jobs::{Completed, JobHandler, JobRegistry};
use heard_store::Store;
use heard_store::jobs::ClaimedJob;
use heard_store::webhooks::{AttemptOutcome, DELIVER_KIND};

/// An attempt's error, stored as a code the admin's pages put in words (`locales/*.json`, `webhooks.attempt_errors`):
/// the receiver answered with a status other than 2xx (the status is beside it),
pub const ERROR_STATUS: &str = "http_status";
/// no connection could be made (refused, unreachable, DNS or TLS failure),
pub const ERROR_CONNECT: &str = "connect_failed";
/// no answer within the 15 seconds allowed,
pub const ERROR_TIMEOUT: &str = "timed_out";
/// or the request failed in another way before an answer.
pub const ERROR_REQUEST: &str = "request_failed";

/// What every endpoint secret starts with.
pub const SECRET_PREFIX: &str = "whsec_";

/// A new endpoint secret: `whsec_` and the standard base64 of 24 random bytes.
pub fn new_secret() -> String {
    let mut b = [0u8; 24];
    rand::rng().fill_bytes(&mut b);
    format!("{SECRET_PREFIX}{}", STANDARD.encode(b))
}

/// The signing key a secret names (the bytes after `whsec_`), or `None` when it is not one.
pub fn secret_key(secret: &str) -> Option<Vec<u8>> {
    STANDARD
        .decode(secret.strip_prefix(SECRET_PREFIX)?)
        .ok()
        .filter(|k| !k.is_empty())
}

/// The `webhook-id` of a message.
pub fn message_header_id(message: Uuid) -> String {
    format!("msg_{}", message.simple())
}

/// One signature: `v1,` and base64(HMAC-SHA256(key, "{id}.{timestamp}.{body}")).
pub fn sign(key: &[u8], id: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("any key length");
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
}

/// The `webhook-signature` value: a signature per key, space-separated.
pub fn signature_header(keys: &[Vec<u8>], id: &str, timestamp: i64, body: &[u8]) -> String {
    keys.iter()
        .map(|k| sign(k, id, timestamp, body))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Why an endpoint address is refused, or `None` when it is fine: it must be an absolute `https://` URL with a
/// host, or `http://` to a loopback address (`localhost`, `127.0.0.0/8`, `::1`) for testing a receiver on the same
/// machine; no user name or password in it, no fragment, at most 2,000 characters.
pub fn url_problem(s: &str) -> Option<&'static str> {
    if s.len() > 2000 {
        return Some("too_long");
    }
    let Ok(u) = reqwest::Url::parse(s) else {
        return Some("invalid_url");
    };
    if !u.username().is_empty() || u.password().is_some() || u.fragment().is_some() {
        return Some("invalid_url");
    }
    let Some(host) = u.host_str() else {
        return Some("invalid_url");
    };
    let loopback = host.eq_ignore_ascii_case("localhost")
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    match u.scheme() {
        "https" => None,
        "http" if loopback => None,
        "http" => Some("not_https"),
        _ => Some("invalid_url"),
    }
}

#[derive(Deserialize)]
struct Payload {
    delivery: Uuid,
    attempt: u32,
    #[serde(default)]
    replay: bool,
}

/// The `webhook.deliver` handler: one attempt of one delivery.
pub struct Deliver {
    sealer: Arc<Sealer>,
    client: reqwest::Client,
}

impl Deliver {
    pub fn new(secret: &[u8; 32]) -> Deliver {
        let client = reqwest::Client::builder()
            .connect_timeout(std::time::Duration::from_secs(5))
            .timeout(std::time::Duration::from_secs(15))
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("Heard-Webhooks/", env!("CARGO_PKG_VERSION")))
            .build()
            .expect("a client with rustls and a timeout builds");
        Deliver {
            sealer: Arc::new(Sealer::new(secret)),
            client,
        }
    }

    async fn attempt(&self, store: &Store, job: &ClaimedJob) -> Result<(), String> {
        let org = job.job.org_id;
        let p: Payload =
            serde_json::from_value(job.job.payload.clone()).map_err(|e| format!("payload: {e}"))?;
        let work = match store.webhook_delivery_work(org, p.delivery).await {
            Ok(w) => w,
            Err(heard_store::StoreError::NotFound) => {
                // Nothing to send (the delivery is gone): done.
                store.complete_job(job).await.map_err(|e| e.to_string())?;
                return Ok(());
            }
            Err(e) => return Err(e.to_string()),
        };
        let now = heard_store::now_ms();
        if work.delivery.state == "delivered" && !p.replay {
            store.complete_job(job).await.map_err(|e| e.to_string())?;
            return Ok(());
        }
        let mut outcome = AttemptOutcome {
            replay: p.replay,
            attempted_at: now,
            status: None,
            latency_ms: 0,
            error: None,
            delivered: false,
            retry: None,
            cancelled: false,
        };
        if work.endpoint.paused {
            outcome.cancelled = true;
        } else {
            let mut keys = Vec::with_capacity(2);
            let open = |sealed: &[u8]| {
                self.sealer
                    .open(sealed)
                    .and_then(|s| secret_key(&s))
                    .ok_or_else(|| {
                        format!("endpoint {}: its secret cannot be read", work.endpoint.id)
                    })
            };
            keys.push(open(&work.endpoint.secret_sealed)?);
            if let (Some(prev), Some(until)) = (
                &work.endpoint.previous_secret_sealed,
                work.endpoint.previous_until,
            ) && now < until
            {
                keys.push(open(prev)?);
            }
            let id = message_header_id(work.delivery.message_id);
            let timestamp = now.div_euclid(1000);
            let body = work.payload.into_bytes();
            let signature = signature_header(&keys, &id, timestamp, &body);
            let started = std::time::Instant::now();
            let sent = self
                .client
                .post(&work.endpoint.url)
                .header("content-type", "application/json")
                .header("webhook-id", &id)
                .header("webhook-timestamp", timestamp.to_string())
                .header("webhook-signature", signature)
                .body(body)
                .send()
                .await;
            outcome.latency_ms = started.elapsed().as_millis().min(i64::MAX as u128) as i64;
            match sent {
                Ok(r) => {
                    let status = r.status();
                    outcome.status = Some(i32::from(status.as_u16()));
                    outcome.delivered = status.is_success();
                    if !outcome.delivered {
                        outcome.error = Some(ERROR_STATUS.to_string());
                    }
                }
                Err(e) => {
                    outcome.error = Some(
                        if e.is_timeout() {
                            ERROR_TIMEOUT
                        } else if e.is_connect() {
                            ERROR_CONNECT
                        } else {
                            ERROR_REQUEST
                        }
                        .to_string(),
                    );
                }
            }
            if !outcome.delivered && !p.replay {
                outcome.retry = heard_domain::webhook::retry_after_ms(
                    p.attempt,
                    Uuid::new_v4().as_u64_pair().0,
                )
                .map(|wait| (now + wait, p.attempt + 1));
            }
        }
        let mut tx = store.begin().await.map_err(|e| e.to_string())?;
        tx.complete_job(job).await.map_err(|e| e.to_string())?;
        tx.record_webhook_attempt(org, p.delivery, &outcome)
            .await
            .map_err(|e| e.to_string())?;
        tx.commit().await.map_err(|e| e.to_string())?;
        tracing::info!(org = %org, delivery = %p.delivery, status = ?outcome.status, delivered = outcome.delivered,
            cancelled = outcome.cancelled, "webhook attempt");
        Ok(())
    }
}

impl JobHandler for Deliver {
    fn run<'a>(
        &'a self,
        store: &'a Store,
        job: &'a ClaimedJob,
    ) -> BoxFuture<'a, Result<Completed, String>> {
        Box::pin(async move {
            let jid = job.job.id;
            self.attempt(store, job)
                .await
                .map_err(|e| format!("job {jid}: {e}"))?;
            Ok(Completed::WithEffect)
        })
    }
}

/// Registers [`DELIVER_KIND`] with its handler.
pub fn register(registry: &mut JobRegistry, secret: &[u8; 32]) {
    registry.register(DELIVER_KIND, Deliver::new(secret));
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The specification's example (its "Signature scheme" section): secret, id, timestamp, body and signature.
    #[test]
    fn signs_as_the_specification_example() {
        let key = secret_key("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let body = br#"{"test": 2432232314}"#;
        assert_eq!(
            sign(&key, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn secrets_are_whsec_base64_of_24_bytes() {
        let s = new_secret();
        assert!(s.starts_with("whsec_"));
        assert_eq!(secret_key(&s).unwrap().len(), 24);
        assert_ne!(new_secret(), s);
        assert_eq!(secret_key("whsec_"), None);
        assert_eq!(secret_key("sk_abc"), None);
        assert_eq!(secret_key("whsec_not base64!"), None);
    }

    #[test]
    fn two_keys_give_two_signatures() {
        let h = signature_header(&[vec![1; 24], vec![2; 24]], "msg_x", 5, b"{}");
        let parts: Vec<&str> = h.split(' ').collect();
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0], sign(&[1; 24], "msg_x", 5, b"{}"));
        assert_eq!(parts[1], sign(&[2; 24], "msg_x", 5, b"{}"));
    }

    #[test]
    fn addresses_must_be_https_or_loopback_http() {
        assert_eq!(url_problem("https://hooks.example.gov/heard"), None);
        assert_eq!(url_problem("http://127.0.0.1:8080/hook"), None);
        assert_eq!(url_problem("http://127.8.9.1/hook"), None);
        assert_eq!(url_problem("http://localhost:9000/"), None);
        assert_eq!(url_problem("http://[::1]:9000/"), None);
        assert_eq!(url_problem("http://hooks.example.gov/"), Some("not_https"));
        assert_eq!(url_problem("http://10.0.0.1/"), Some("not_https"));
        assert_eq!(url_problem("ftp://example.gov/"), Some("invalid_url"));
        assert_eq!(url_problem("hooks.example.gov"), Some("invalid_url"));
        assert_eq!(
            url_problem("https://user:pw@example.gov/"),
            Some("invalid_url")
        );
        assert_eq!(url_problem("https://example.gov/#x"), Some("invalid_url"));
        assert_eq!(
            url_problem(&format!("https://example.gov/{}", "a".repeat(2000))),
            Some("too_long")
        );
    }
}
