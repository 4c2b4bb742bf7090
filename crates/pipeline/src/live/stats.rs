//! Telemetry per live source, for the sensors endpoint and `/metrics`.

use std::sync::{Arc, Mutex, PoisonError};

use serde::Serialize;

/// What kind of source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceKind {
    Log,
    Honeypot,
    Packets,
}

/// One source's counters, as last reported.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SourceHealth {
    /// `log:/var/log/kern.log`, `honeypot`, `capture:eth0`.
    pub name: String,
    pub kind: SourceKind,
    /// Log lines read (logs only).
    pub lines: u64,
    /// Events aggregated.
    pub events: u64,
    /// Records that could not be read (bad lines, malformed frames).
    pub errors: u64,
    /// Records lost without being read: full queues, kernel drops,
    /// connections refused by the honeypot's caps.
    pub drops: u64,
    /// Event time of the newest event (Unix seconds).
    pub last_event: Option<i64>,
    /// Wall time when the newest event was aggregated (Unix seconds).
    pub last_seen: Option<i64>,
    /// `last_seen - last_event`: how far behind real time the source is.
    pub lag_secs: Option<i64>,
    /// Source-specific detail (the follower's rotations, the honeypot's
    /// counters), as reported by the source.
    #[serde(skip_serializing_if = "serde_json::Value::is_null")]
    pub detail: serde_json::Value,
}

impl SourceHealth {
    pub fn new(name: impl Into<String>, kind: SourceKind) -> Self {
        SourceHealth {
            name: name.into(),
            kind,
            lines: 0,
            events: 0,
            errors: 0,
            drops: 0,
            last_event: None,
            last_seen: None,
            lag_secs: None,
            detail: serde_json::Value::Null,
        }
    }
}

/// The sensor as a whole.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SensorHealth {
    pub sensor: String,
    /// The store stream this sensor's batches are merged under.
    pub stream: String,
    /// Wall time the process started (Unix seconds).
    pub started: i64,
    /// Batches committed by this process, and the last one's sequence.
    pub batches: u64,
    pub last_seq: Option<u64>,
    /// Wall time of the last commit.
    pub last_flush: Option<i64>,
    /// Every minute before this is closed (Unix seconds).
    pub closed_before: i64,
    /// Detection runs and the alerts the last one found.
    pub detections: u64,
    pub alerts: u64,
    /// Events waiting in memory for the next flush.
    pub pending_events: u64,
    pub sources: Vec<SourceHealth>,
}

/// Shared, cheaply cloned view of a running sensor's health.
#[derive(Debug, Clone, Default)]
pub struct LiveStats {
    inner: Arc<Mutex<SensorHealth>>,
}

impl LiveStats {
    pub fn new(sensor: &str, stream: &str, started: i64) -> Self {
        LiveStats {
            inner: Arc::new(Mutex::new(SensorHealth {
                sensor: sensor.to_string(),
                stream: stream.to_string(),
                started,
                ..SensorHealth::default()
            })),
        }
    }

    /// A copy of the current state.
    pub fn snapshot(&self) -> SensorHealth {
        self.lock().clone()
    }

    /// Adds a source (or returns its index when already there).
    pub fn register(&self, name: &str, kind: SourceKind) -> usize {
        let mut s = self.lock();
        if let Some(i) = s.sources.iter().position(|x| x.name == name) {
            return i;
        }
        s.sources.push(SourceHealth::new(name, kind));
        s.sources.len() - 1
    }

    pub(crate) fn update<R>(&self, f: impl FnOnce(&mut SensorHealth) -> R) -> R {
        f(&mut self.lock())
    }

    /// Lets a source publish its own counters (e.g. the honeypot's refused
    /// connections) as drops and detail.
    pub fn set_detail(&self, source: usize, drops: Option<u64>, detail: serde_json::Value) {
        let mut s = self.lock();
        if let Some(src) = s.sources.get_mut(source) {
            if let Some(d) = drops {
                src.drops = d;
            }
            src.detail = detail;
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, SensorHealth> {
        // A panic while holding the lock leaves counters, not invariants.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
