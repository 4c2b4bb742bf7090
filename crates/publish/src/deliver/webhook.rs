//! HTTP POST of the alert JSON to a webhook, with retries.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use portwatch_detect::AlertUpdate;
use reqwest::StatusCode;
use serde::{Deserialize, Serialize};

use super::{Attempt, DeliveryRecord, Outcome, event_name, idempotency_key};
use crate::PublishError;

/// Where and how to deliver. Defaults: 5 attempts, 1 s backoff doubling
/// up to 60 s, 10 s timeout per attempt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WebhookConfig {
    /// `http://` or `https://` (rustls, the system's roots are not used:
    /// Mozilla's bundled ones are).
    pub url: String,
    /// Attempts in all, at least 1.
    pub max_attempts: u32,
    /// Pause after the first failure; doubles after each further one.
    #[serde(with = "millis")]
    pub initial_backoff: Duration,
    #[serde(with = "millis")]
    pub max_backoff: Duration,
    /// For one attempt, connecting included.
    #[serde(with = "millis")]
    pub timeout: Duration,
}

impl Default for WebhookConfig {
    fn default() -> Self {
        WebhookConfig {
            url: String::new(),
            max_attempts: 5,
            initial_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(60),
            timeout: Duration::from_secs(10),
        }
    }
}

mod millis {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(d.as_millis().try_into().unwrap_or(u64::MAX))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        u64::deserialize(d).map(Duration::from_millis)
    }
}

impl WebhookConfig {
    fn validate(&self) -> Result<(), PublishError> {
        let url = reqwest::Url::parse(&self.url)
            .map_err(|e| PublishError::Input(format!("webhook url {:?}: {e}", self.url)))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(PublishError::Input(format!(
                "webhook url {:?} is not http(s)",
                self.url
            )));
        }
        if self.max_attempts == 0 || self.timeout.is_zero() {
            return Err(PublishError::Input(
                "webhook needs at least one attempt and a non-zero timeout".into(),
            ));
        }
        Ok(())
    }

    /// The pause after failed attempt `n` (1-based): `initial · 2^(n-1)`,
    /// capped. No jitter: one sender per endpoint cannot stampede, and a
    /// fixed schedule is what the record and the docs can promise.
    pub fn backoff(&self, n: u32) -> Duration {
        let factor = 1u32.checked_shl(n.saturating_sub(1)).unwrap_or(u32::MAX);
        self.initial_backoff
            .saturating_mul(factor)
            .min(self.max_backoff)
    }
}

/// A webhook endpoint.
#[derive(Debug, Clone)]
pub struct Webhook {
    cfg: WebhookConfig,
    client: reqwest::Client,
}

impl Webhook {
    pub fn new(cfg: WebhookConfig) -> Result<Self, PublishError> {
        cfg.validate()?;
        let client = reqwest::Client::builder()
            .timeout(cfg.timeout)
            .user_agent(concat!("portwatch/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(PublishError::Client)?;
        Ok(Webhook { cfg, client })
    }

    /// Posts `update.alert` as `portwatch.alert/1` JSON until it is
    /// accepted, rejected, or the attempts run out. Never fails: what
    /// happened is in the record.
    pub async fn deliver(&self, update: &AlertUpdate) -> DeliveryRecord {
        self.deliver_attributed(update, None).await
    }

    /// [`Self::deliver`] with the attribution of the alert's sources in the
    /// body ([`super::alert_document`]).
    pub async fn deliver_attributed(
        &self,
        update: &AlertUpdate,
        attribution: Option<&serde_json::Value>,
    ) -> DeliveryRecord {
        let key = idempotency_key(update);
        let event = event_name(update);
        // Serializing plain data with string keys cannot fail.
        let body =
            serde_json::to_string(&super::alert_document(update, attribution)).unwrap_or_default();
        let mut record = DeliveryRecord {
            target: self.cfg.url.clone(),
            alert_id: update.alert.id.to_string(),
            event: event.clone(),
            idempotency_key: key.clone(),
            outcome: Outcome::GaveUp,
            attempts: Vec::new(),
        };
        for n in 1..=self.cfg.max_attempts {
            let started_unix_ms = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_millis().try_into().unwrap_or(u64::MAX));
            let t0 = Instant::now();
            let sent = self
                .client
                .post(&self.cfg.url)
                .header("Content-Type", "application/json")
                .header("Idempotency-Key", &key)
                .header("X-Portwatch-Event", &event)
                .header("X-Portwatch-Alert", &record.alert_id)
                .header("X-Portwatch-Attempt", n.to_string())
                .body(body.clone())
                .send()
                .await;
            let mut attempt = Attempt {
                number: n,
                started_unix_ms,
                elapsed_ms: t0.elapsed().as_millis().try_into().unwrap_or(u64::MAX),
                status: None,
                error: None,
                backoff_ms: None,
            };
            let mut retry_after = None;
            let verdict = match sent {
                Ok(resp) => {
                    let status = resp.status();
                    attempt.status = Some(status.as_u16());
                    retry_after = retry_after_secs(&resp);
                    classify(status)
                }
                Err(e) => {
                    attempt.error = Some(describe(&e));
                    None
                }
            };
            if let Some(outcome) = verdict {
                record.attempts.push(attempt);
                record.outcome = outcome;
                return record;
            }
            if n < self.cfg.max_attempts {
                // A server that says when to come back is believed, within
                // the cap.
                let pause = retry_after
                    .map(Duration::from_secs)
                    .map_or_else(|| self.cfg.backoff(n), |d| d.min(self.cfg.max_backoff));
                attempt.backoff_ms = Some(pause.as_millis().try_into().unwrap_or(u64::MAX));
                record.attempts.push(attempt);
                tracing::debug!(key = %key, attempt = n, ?pause, "webhook retry");
                tokio::time::sleep(pause).await;
            } else {
                record.attempts.push(attempt);
            }
        }
        tracing::warn!(key = %key, url = %self.cfg.url, "webhook delivery gave up");
        record
    }
}

/// `Some` when the answer settles it, `None` to retry.
fn classify(status: StatusCode) -> Option<Outcome> {
    if status.is_success() {
        Some(Outcome::Delivered)
    } else if status.is_server_error()
        || matches!(status.as_u16(), 408 | 425 | 429)
        || status.is_redirection()
    {
        None
    } else {
        Some(Outcome::Rejected)
    }
}

fn retry_after_secs(resp: &reqwest::Response) -> Option<u64> {
    resp.headers()
        .get("Retry-After")?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// The error with its causes: reqwest's own message alone is terse.
fn describe(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timeout"
    } else if e.is_connect() {
        "connect"
    } else {
        "request"
    };
    let mut msg = format!("{kind}: {e}");
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        msg.push_str(&format!(": {s}"));
        src = s.source();
    }
    msg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_caps() {
        let c = WebhookConfig {
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_millis(500),
            ..WebhookConfig::default()
        };
        let ms: Vec<u128> = (1..=5).map(|n| c.backoff(n).as_millis()).collect();
        assert_eq!(ms, [100, 200, 400, 500, 500]);
        assert_eq!(c.backoff(200), Duration::from_millis(500));
    }

    #[test]
    fn statuses() {
        assert_eq!(classify(StatusCode::OK), Some(Outcome::Delivered));
        assert_eq!(classify(StatusCode::ACCEPTED), Some(Outcome::Delivered));
        assert_eq!(classify(StatusCode::SERVICE_UNAVAILABLE), None);
        assert_eq!(classify(StatusCode::TOO_MANY_REQUESTS), None);
        assert_eq!(classify(StatusCode::BAD_REQUEST), Some(Outcome::Rejected));
    }

    #[test]
    fn refuses_bad_config() {
        assert!(Webhook::new(WebhookConfig::default()).is_err());
        let ftp = WebhookConfig {
            url: "ftp://x".into(),
            ..WebhookConfig::default()
        };
        assert!(Webhook::new(ftp).is_err());
    }
}
