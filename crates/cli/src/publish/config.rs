//! The `[publish]` table of the config file: where advisories go and who
//! is told about every alert transition.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{anyhow, bail};
use portwatch_publish::{AdvisoryFormat, Webhook, WebhookConfig};
use serde::Deserialize;

/// What `analyze` publishes after detection. Everything is off by default.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PublishConfig {
    /// Directory for advisories, `<alert id>.<ext>` per format, written once
    /// an alert has reached its peak and rewritten when its state changes.
    pub advisory_dir: Option<PathBuf>,
    /// Advisory formats: `md`, `html`, `json`, `stix`.
    pub formats: Vec<String>,
    /// The sensor network's name in advisories (the STIX identity).
    pub publisher: String,
    /// Endpoints every alert transition is POSTed to.
    pub webhooks: Vec<WebhookEntry>,
    /// A file every alert transition is appended to, one JSON line each.
    pub jsonl: Option<PathBuf>,
    /// Every alert transition as a JSON line on stdout, before the report.
    pub stdout: bool,
}

impl Default for PublishConfig {
    fn default() -> Self {
        PublishConfig {
            advisory_dir: None,
            formats: ["md", "html", "json", "stix"].map(String::from).to_vec(),
            publisher: "portwatch sensor network".into(),
            webhooks: Vec::new(),
            jsonl: None,
            stdout: false,
        }
    }
}

/// One webhook, in the units a config file speaks (seconds).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WebhookEntry {
    pub url: String,
    /// Attempts per transition and run, at least 1.
    pub max_attempts: u32,
    /// Per attempt, connecting included.
    pub timeout_secs: f64,
    /// Pause after the first failed attempt; doubles after each further one.
    pub initial_backoff_secs: f64,
    pub max_backoff_secs: f64,
}

impl Default for WebhookEntry {
    fn default() -> Self {
        let d = WebhookConfig::default();
        WebhookEntry {
            url: String::new(),
            max_attempts: d.max_attempts,
            timeout_secs: d.timeout.as_secs_f64(),
            initial_backoff_secs: d.initial_backoff.as_secs_f64(),
            max_backoff_secs: d.max_backoff.as_secs_f64(),
        }
    }
}

/// A day: longer pauses or timeouts are typos, not intentions.
const MAX_SECS: f64 = 86_400.0;
const MAX_ATTEMPTS: u32 = 100;

impl WebhookEntry {
    pub fn to_config(&self) -> WebhookConfig {
        // Validated before use; the fallbacks only keep this total.
        let secs = |s: f64, d: Duration| Duration::try_from_secs_f64(s).unwrap_or(d);
        let d = WebhookConfig::default();
        WebhookConfig {
            url: self.url.clone(),
            max_attempts: self.max_attempts,
            initial_backoff: secs(self.initial_backoff_secs, d.initial_backoff),
            max_backoff: secs(self.max_backoff_secs, d.max_backoff),
            timeout: secs(self.timeout_secs, d.timeout),
        }
    }

    fn validate(&self, i: usize) -> anyhow::Result<()> {
        let at = format!("webhooks[{i}]");
        for (name, v) in [
            ("timeout_secs", self.timeout_secs),
            ("initial_backoff_secs", self.initial_backoff_secs),
            ("max_backoff_secs", self.max_backoff_secs),
        ] {
            if !(v.is_finite() && v > 0.0 && v <= MAX_SECS) {
                bail!("{at}.{name} = {v}: must be above 0 and at most {MAX_SECS} seconds");
            }
        }
        if self.max_backoff_secs < self.initial_backoff_secs {
            bail!("{at}.max_backoff_secs is below initial_backoff_secs");
        }
        if !(1..=MAX_ATTEMPTS).contains(&self.max_attempts) {
            bail!(
                "{at}.max_attempts = {}: must be 1 to {MAX_ATTEMPTS}",
                self.max_attempts
            );
        }
        // The library checks the URL (scheme, syntax) when it builds the client.
        Webhook::new(self.to_config()).map_err(|e| anyhow!("{at}.url: {e}"))?;
        Ok(())
    }
}

impl PublishConfig {
    /// Nothing to publish anywhere.
    pub fn is_off(&self) -> bool {
        self.advisory_dir.is_none()
            && self.webhooks.is_empty()
            && self.jsonl.is_none()
            && !self.stdout
    }

    /// The advisory formats, parsed.
    pub fn advisory_formats(&self) -> anyhow::Result<Vec<AdvisoryFormat>> {
        self.formats
            .iter()
            .map(|f| {
                f.parse::<AdvisoryFormat>()
                    .map_err(|e| anyhow!("formats: {e}"))
            })
            .collect()
    }

    /// Checks every key; the error names the one at fault (without the
    /// `[publish]` prefix, which the caller adds with the file name).
    pub fn validate(&self) -> anyhow::Result<()> {
        let formats = self.advisory_formats()?;
        if self.advisory_dir.is_some() && formats.is_empty() {
            bail!("formats is empty, so advisory_dir would stay empty");
        }
        for (i, f) in formats.iter().enumerate() {
            if formats[..i].contains(f) {
                bail!("formats lists {:?} twice", self.formats[i]);
            }
        }
        if self.publisher.trim().is_empty() {
            bail!("publisher is empty");
        }
        if self
            .advisory_dir
            .as_ref()
            .is_some_and(|d| d.as_os_str().is_empty())
        {
            bail!("advisory_dir is empty");
        }
        if self
            .jsonl
            .as_ref()
            .is_some_and(|d| d.as_os_str().is_empty())
        {
            bail!("jsonl is empty");
        }
        for (i, w) in self.webhooks.iter().enumerate() {
            w.validate(i)?;
            if self.webhooks[..i].iter().any(|o| o.url == w.url) {
                bail!("webhooks[{i}].url {:?} is listed twice", w.url);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> anyhow::Result<PublishConfig> {
        let c: PublishConfig = toml::from_str(text)?;
        c.validate()?;
        Ok(c)
    }

    #[test]
    fn defaults_publish_nothing() {
        let c = parse("").expect("empty");
        assert!(c.is_off());
        assert_eq!(c, PublishConfig::default());
    }

    #[test]
    fn webhooks_in_seconds() {
        let c = parse(
            "webhooks = [{ url = \"http://127.0.0.1:9/h\", max_attempts = 2, initial_backoff_secs = 0.05 }]",
        )
        .expect("webhook");
        let w = c.webhooks[0].to_config();
        assert_eq!(w.max_attempts, 2);
        assert_eq!(w.initial_backoff, Duration::from_millis(50));
        assert_eq!(w.timeout, Duration::from_secs(10));
        assert!(!c.is_off());
    }

    #[test]
    fn bad_values_are_named() {
        let e = |t: &str| format!("{:#}", parse(t).expect_err(t));
        assert!(e("formats = [\"pdf\"]").contains("formats"));
        assert!(e("formats = [\"md\", \"md\"]").contains("twice"));
        assert!(e("webhooks = [{ url = \"ftp://x\" }]").contains("webhooks[0].url"));
        assert!(
            e("webhooks = [{ url = \"http://x/\", timeout_secs = -1 }]")
                .contains("webhooks[0].timeout_secs")
        );
        assert!(
            e("webhooks = [{ url = \"http://x/\", max_attempts = 0 }]").contains("max_attempts")
        );
        assert!(e("webhooks = [{ url = \"http://x/\", retries = 3 }]").contains("retries"));
        assert!(e("advisory_dir = \"a\"\nformats = []").contains("formats"));
    }
}
