//! The `portwatch run` tables of the config file, their defaults and their
//! validation into what the sensor needs.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use portwatch_capture::CaptureConfig;
use portwatch_follow::FollowConfig;
use portwatch_honeypot::HoneypotConfig;
use portwatch_pipeline::live::{LiveConfig, LogSource};
use serde::Deserialize;

/// `[run]`: the sensor itself.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RunSection {
    /// The sensor's name; its batches are the store stream `live:<sensor>`.
    pub sensor: String,
    /// Where the embedded store (and nothing else yet) lives.
    pub state_dir: PathBuf,
    /// Seconds between detection runs; 0 turns detection off.
    pub detect_interval_secs: u64,
    /// Seconds after a minute ends before it is closed.
    pub lateness_secs: u32,
    /// Events held in memory before a flush is forced.
    pub max_pending_events: u64,
    /// Whether to run the honeypot (with `[honeypot]`, or its defaults).
    pub honeypot: bool,
    /// A signature file for payloads instead of the built-in rules.
    pub signatures: Option<PathBuf>,
    /// Whether honeypot connections count as probes; default: unless a
    /// `[[capture]]` runs (it counts their packets already).
    pub count_honeypot: Option<bool>,
}

impl Default for RunSection {
    fn default() -> Self {
        let live = LiveConfig::default();
        RunSection {
            sensor: "default".into(),
            state_dir: PathBuf::from("portwatch-state"),
            detect_interval_secs: live.detect_interval_secs,
            lateness_secs: live.lateness_secs,
            max_pending_events: live.max_pending_events,
            honeypot: true,
            signatures: None,
            count_honeypot: None,
        }
    }
}

/// `[store]`: where the aggregates go.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StoreSection {
    /// A SQLite path or URL; default `<state_dir>/portwatch.db`.
    pub path: Option<String>,
}

/// `[api]`: the read-only HTTP API.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ApiSection {
    pub enabled: bool,
    /// Not 8080, which the default honeypot listens on.
    pub listen: String,
}

impl Default for ApiSection {
    fn default() -> Self {
        ApiSection {
            enabled: true,
            listen: "127.0.0.1:8780".into(),
        }
    }
}

/// One `[[logs]]` entry: a netfilter log to follow.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSection {
    pub path: PathBuf,
    /// Year of RFC 3164 stamps (default: the current one).
    #[serde(default)]
    pub year: Option<i32>,
    /// UTC offset of stamps without a zone, e.g. "+09:00".
    #[serde(default)]
    pub utc_offset: Option<String>,
    /// Milliseconds between polls of the file (default 250).
    #[serde(default)]
    pub poll_ms: Option<u64>,
}

/// Everything `run` needs, validated.
#[derive(Debug)]
pub struct RunPlan {
    pub live: LiveConfig,
    pub state_dir: PathBuf,
    pub store: String,
    pub api: Option<String>,
    pub honeypot: Option<HoneypotConfig>,
    pub signatures: Option<PathBuf>,
    pub logs: Vec<LogSource>,
    pub captures: Vec<CaptureConfig>,
}

/// The run tables of a config file (or their defaults), checked.
pub fn plan(
    run: &RunSection,
    store: &StoreSection,
    api: &ApiSection,
    honeypot: Option<&HoneypotConfig>,
    logs: &[LogSection],
    captures: &[CaptureConfig],
    file: Option<&Path>,
) -> anyhow::Result<RunPlan> {
    let at = |table: &str| match file {
        Some(f) => format!("config {}: [{table}]", f.display()),
        None => format!("[{table}]"),
    };
    if run.sensor.is_empty()
        || !run
            .sensor
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        bail!(
            "{} sensor {:?}: use letters, digits, '-', '_' or '.'",
            at("run"),
            run.sensor
        );
    }
    if run.max_pending_events == 0 {
        bail!("{} max_pending_events must be at least 1", at("run"));
    }
    let honeypot = if run.honeypot {
        let cfg = honeypot.cloned().unwrap_or_default();
        cfg.validate()
            .map_err(|e| anyhow!("{} {e}", at("honeypot")))?;
        Some(cfg)
    } else {
        None
    };
    let api_listen = api.enabled.then(|| api.listen.clone());
    if let (Some(listen), Some(hp)) = (&api_listen, &honeypot) {
        let port = listen
            .rsplit_once(':')
            .and_then(|(_, p)| p.parse::<u16>().ok())
            .ok_or_else(|| anyhow!("{} listen {listen:?}: expected ADDR:PORT", at("api")))?;
        if port != 0 && hp.tcp_port_list().contains(&port) {
            bail!(
                "{} listen {listen}: port {port} is also a honeypot port; pick another",
                at("api")
            );
        }
    }
    let mut sources = Vec::with_capacity(logs.len());
    for (i, l) in logs.iter().enumerate() {
        let utc_offset_secs = l
            .utc_offset
            .as_deref()
            .map(crate::analyze::parse_utc_offset)
            .transpose()
            .with_context(|| format!("{} #{} utc_offset", at("logs"), i + 1))?
            .unwrap_or(0);
        let mut follow = FollowConfig::default();
        if let Some(ms) = l.poll_ms {
            follow.poll_interval = Duration::from_millis(ms);
        }
        follow
            .validate()
            .map_err(|e| anyhow!("{} #{} {e}", at("logs"), i + 1))?;
        sources.push(LogSource {
            path: l.path.clone(),
            year: l.year,
            utc_offset_secs,
            follow,
            // `[enrich]`'s setting, which the caller holds.
            drop_log_outcomes: false,
        });
    }
    for (i, c) in captures.iter().enumerate() {
        c.validate()
            .map_err(|e| anyhow!("{} #{} {e}", at("capture"), i + 1))?;
    }
    let store = match &store.path {
        Some(p) => p.clone(),
        None => run.state_dir.join("portwatch.db").display().to_string(),
    };
    Ok(RunPlan {
        live: LiveConfig {
            sensor: run.sensor.clone(),
            lateness_secs: run.lateness_secs,
            detect_interval_secs: run.detect_interval_secs,
            max_pending_events: run.max_pending_events,
            count_honeypot: run.count_honeypot.unwrap_or(captures.is_empty()),
            ..LiveConfig::default()
        },
        state_dir: run.state_dir.clone(),
        store,
        api: api_listen,
        honeypot,
        signatures: run.signatures.clone(),
        logs: sources,
        captures: captures.to_vec(),
    })
}
