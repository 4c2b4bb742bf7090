//! Telling machines: every alert transition goes to webhooks (HTTP POST of
//! the alert JSON, retried with exponential backoff, one idempotency key
//! per transition) and to line sinks (a file or stdout, one JSON document
//! per line).

mod lines;
mod webhook;

use portwatch_detect::{AlertUpdate, Change};
use serde::Serialize;

pub use lines::{EVENT_SCHEMA, JsonLines};
pub use webhook::{Webhook, WebhookConfig};

/// The alert document an update carries: `portwatch.alert/1` in its own
/// field order, with the attribution of its sources after its fields when
/// the caller has it (as `portwatch alerts --format json` gives it).
#[derive(Debug, Serialize)]
pub struct AlertDocument<'a> {
    #[serde(flatten)]
    alert: &'a portwatch_detect::Alert,
    #[serde(skip_serializing_if = "Option::is_none")]
    attribution: Option<&'a serde_json::Value>,
}

pub fn alert_document<'a>(
    update: &'a AlertUpdate,
    attribution: Option<&'a serde_json::Value>,
) -> AlertDocument<'a> {
    AlertDocument {
        alert: &update.alert,
        attribution,
    }
}

/// The event name of an update: `opened`, `reopened`, a state
/// (`rising`, `peak`, `tapering`, `closed`) or `kind_<kind>`.
pub fn event_name(update: &AlertUpdate) -> String {
    match update.change {
        Change::Opened => "opened".into(),
        Change::Reopened => "reopened".into(),
        Change::State(s) => s.as_str().into(),
        Change::Kind(k) => format!("kind_{}", k.as_str()),
    }
}

/// `<alert id>-<state>-<at>` of the transition an update reports: the
/// same transition always has the same key (re-detection after late data
/// included), so receivers can drop repeats. A change of kind adds no
/// transition, so its key names the kind instead of the state.
pub fn idempotency_key(update: &AlertUpdate) -> String {
    let a = &update.alert;
    let (state, at) = a
        .transitions
        .last()
        .map_or((a.state, a.onset), |t| (t.state, t.at));
    let at = crate::time::rfc3339(at);
    match update.change {
        Change::Kind(k) => format!("{}-{}-{at}", a.id, k.as_str()),
        Change::Reopened => format!("{}-reopened-{at}", a.id),
        _ => format!("{}-{}-{at}", a.id, state.as_str()),
    }
}

/// How one delivery ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// A 2xx answer.
    Delivered,
    /// A 4xx answer that retrying cannot fix (not 408, 425 or 429).
    Rejected,
    /// Every attempt failed.
    GaveUp,
}

/// One try.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Attempt {
    /// 1-based.
    pub number: u32,
    /// When it started, Unix milliseconds (wall clock: this is I/O).
    pub started_unix_ms: u64,
    pub elapsed_ms: u64,
    /// The HTTP status, when an answer came.
    pub status: Option<u16>,
    /// Why there was no usable answer (timeout, refused, …).
    pub error: Option<String>,
    /// The pause before the next attempt, if there is one.
    pub backoff_ms: Option<u64>,
}

/// What happened to one transition at one endpoint: a record the caller
/// can store next to the alert or print.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeliveryRecord {
    pub target: String,
    pub alert_id: String,
    pub event: String,
    pub idempotency_key: String,
    pub outcome: Outcome,
    pub attempts: Vec<Attempt>,
}
