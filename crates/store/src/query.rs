//! What callers ask a store, and what it answers.

use std::net::IpAddr;

use portwatch_aggregate::{ClassCounts, SeriesClass, ToolCounts};
use portwatch_core::{BucketWidth, PortKey, Proto, Timestamp};
use portwatch_scanners::Trw;
use portwatch_sketch::{PortSet, TopEntry};
use serde::{Serialize, Serializer};

use crate::StoreError;

/// What merging a batch did (rule 3: at-least-once in, exactly-once totals).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MergeOutcome {
    /// The batch is now part of the totals.
    Merged,
    /// A batch with this id was merged before; nothing changed.
    AlreadyMerged,
}

/// A half-open span of event time, `[from, to)`. A missing bound is open.
/// Both bounds must be whole UTC minutes: the store keeps nothing finer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct TimeRange {
    pub from: Option<Timestamp>,
    pub to: Option<Timestamp>,
}

/// The earliest and latest second a store can hold (day-aligned, beyond the
/// reach of an `i64` nanosecond [`Timestamp`]), standing in for open bounds.
pub(crate) const MIN_SECS: i64 = -86_400 * 200_000;
pub(crate) const MAX_SECS: i64 = 86_400 * 200_000;

impl TimeRange {
    /// Everything the store holds.
    pub const ALL: TimeRange = TimeRange {
        from: None,
        to: None,
    };

    pub fn new(from: Timestamp, to: Timestamp) -> Self {
        TimeRange {
            from: Some(from),
            to: Some(to),
        }
    }

    /// The range as Unix seconds, open bounds replaced by day-aligned
    /// extremes; checks that bounds are whole minutes and `from <= to`.
    pub(crate) fn secs(&self) -> Result<(i64, i64), StoreError> {
        let bound = |t: Option<Timestamp>, open: i64, name: &str| match t {
            None => Ok(open),
            Some(t) if t.nanos().rem_euclid(60_000_000_000) == 0 => Ok(t.secs()),
            Some(t) => Err(StoreError::InvalidQuery(format!(
                "range {name} {t} (+{} ns) is not a whole UTC minute",
                t.nanos().rem_euclid(60_000_000_000) % 1_000_000_000
            ))),
        };
        let from = bound(self.from, MIN_SECS, "start")?;
        let to = bound(self.to, MAX_SECS, "end")?;
        if from > to {
            return Err(StoreError::InvalidQuery(format!(
                "range starts ({}) after it ends ({})",
                Timestamp::from_secs(from),
                Timestamp::from_secs(to)
            )));
        }
        Ok((from, to))
    }
}

/// How to rank ports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Order {
    /// By distinct sources, then packets (rule 6: sources are harder to fake).
    #[default]
    Sources,
    /// By packets, then distinct sources.
    Packets,
}

/// The busiest ports of one series class over a time range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopPortsQuery {
    pub class: SeriesClass,
    pub range: TimeRange,
    pub limit: usize,
    pub order: Order,
    /// Only this protocol's ports.
    pub proto: Option<Proto>,
}

/// One port's totals over a range. Distinct counts are over the whole range
/// (sketches merged), not sums of per-bucket counts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PortTotals {
    pub port: PortKey,
    pub packets: u64,
    pub bytes: u64,
    /// Distinct sources (exact while `sources_exact`, else an estimate).
    pub sources: u64,
    /// Distinct targets (estimate).
    pub targets: u64,
    pub sources_exact: bool,
    pub first_seen: Timestamp,
    pub last_seen: Timestamp,
    /// Heaviest sources, largest first.
    pub top_sources: Vec<TopEntry>,
    /// Minutes in the range in which the port saw anything.
    pub active_minutes: u64,
}

/// One port's series at one bucket width.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeriesQuery {
    pub class: SeriesClass,
    pub port: PortKey,
    pub width: BucketWidth,
    /// Selects the buckets of `width` that overlap it (so the first and last
    /// may reach outside it).
    pub range: TimeRange,
}

/// One bucket of a series. Buckets without data are not reported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SeriesPoint {
    pub start: Timestamp,
    pub packets: u64,
    pub bytes: u64,
    pub sources: u64,
    pub targets: u64,
    pub top_sources: Vec<TopEntry>,
    pub first_seen: Timestamp,
    pub last_seen: Timestamp,
    /// Minutes of the bucket that saw anything (1 for a minute bucket).
    pub active_minutes: u64,
}

/// How to rank sources.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceOrder {
    /// By scan probes sent.
    #[default]
    Probes,
    /// By all packets (probes, backscatter and other).
    Packets,
    /// By distinct ports probed.
    Ports,
    /// By distinct targets probed.
    Targets,
}

/// The most active sources over a time range. Sources are kept per UTC day,
/// so the range selects the days it overlaps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourcesQuery {
    pub range: TimeRange,
    pub limit: usize,
    /// Only sources that probed this port.
    pub port: Option<PortKey>,
    pub order: SourceOrder,
}

/// One source's activity merged over the days of a range.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SourceTotals {
    pub addr: IpAddr,
    pub first_seen: Timestamp,
    pub last_seen: Timestamp,
    pub probes: u64,
    pub backscatter: u64,
    pub other: u64,
    pub bytes: u64,
    /// The (protocol, port) pairs probed; serialized as a list.
    #[serde(serialize_with = "port_list")]
    pub ports: PortSet,
    pub port_count: u64,
    /// Distinct targets probed (estimate).
    pub targets: u64,
    /// Scan probes per tool fingerprint; serialized as `{"zmap": 3, ...}`.
    #[serde(serialize_with = "tool_map")]
    pub tools: ToolCounts,
    /// First contacts that succeeded / failed (see
    /// `SourceStats::first_contacts_ok`); both 0 when the captures showed
    /// no connection outcomes for this source.
    pub first_contacts_ok: u64,
    pub first_contacts_failed: u64,
}

impl SourceTotals {
    /// Threshold Random Walk over the source's first contacts, with the
    /// paper's parameters (four failed first contacts in a row make a
    /// scanner); `None` when the inputs showed no connection outcome for it.
    pub fn trw(&self) -> Option<TrwSummary> {
        TrwSummary::of(self.first_contacts_ok, self.first_contacts_failed)
    }
}

/// A source's Threshold Random Walk verdict and the counts behind it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TrwSummary {
    /// `scanner`, `benign` or `pending`.
    pub verdict: &'static str,
    /// First contacts answered with a SYN-ACK.
    pub ok: u64,
    /// First contacts reset, refused by ICMP or unanswered.
    pub failed: u64,
}

impl TrwSummary {
    /// The verdict on `ok` successes and `failed` failures; `None` for none.
    pub fn of(ok: u64, failed: u64) -> Option<TrwSummary> {
        (ok + failed > 0).then(|| TrwSummary {
            verdict: Trw::default().judge(ok, failed).as_str(),
            ok,
            failed,
        })
    }
}

fn tool_map<S: Serializer>(tools: &ToolCounts, s: S) -> Result<S::Ok, S::Error> {
    s.collect_map(tools.iter().map(|(t, n)| (t.as_str(), n)))
}

fn port_list<S: Serializer>(ports: &PortSet, s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(ports.iter())
}

/// Everything a store holds, summed over its streams.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct StoreTotals {
    /// Records by class over all streams; its first/last seen are the span
    /// of event time the store covers.
    pub counts: ClassCounts,
    pub streams: u64,
    pub batches: u64,
    /// Per stream, ordered by stream name.
    pub per_stream: Vec<StreamTotals>,
}

/// One stream's share of the totals.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StreamTotals {
    pub stream: String,
    /// What [`crate::Store::describe_stream`] recorded, if anything.
    pub label: Option<String>,
    pub batches: u64,
    pub counts: ClassCounts,
}

/// Every port's minute buckets of one class over a range, for detection:
/// the detector is fed minute by minute, all ports at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MinutesQuery {
    pub class: SeriesClass,
    pub range: TimeRange,
}

/// One port's bucket in one minute (see [`MinutesQuery`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MinuteBucket {
    pub port: PortKey,
    pub point: SeriesPoint,
}

/// A stored alert: the fields alerts are selected and ordered by, its
/// timestamped transitions, and the whole alert document (`portwatch.alert/1`
/// JSON, see `portwatch_detect`) as written by detection. The store does not
/// interpret the document, so it holds alerts of any schema version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AlertRecord {
    pub id: String,
    pub port: PortKey,
    /// `campaign`, `single_source` or `new_port`.
    pub kind: String,
    /// The current state: `rising`, `peak`, `tapering` or `closed`.
    pub state: String,
    /// Unix seconds of the first minute of the alert.
    pub onset: i64,
    /// Unix seconds of the close, while closed.
    pub closed: Option<i64>,
    pub transitions: Vec<TransitionRecord>,
    pub doc: String,
}

/// One step of an alert's lifecycle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TransitionRecord {
    pub state: String,
    /// When the new state began (Unix seconds).
    pub at: i64,
    /// The minute whose data decided it (Unix seconds).
    pub decided: i64,
}

/// Which stored alerts to list.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AlertsQuery {
    /// Only alerts whose span (onset to close, or still open) overlaps it.
    pub range: TimeRange,
    /// Only alerts that are not closed.
    pub open_only: bool,
    pub port: Option<PortKey>,
    /// Only the alert with this id.
    pub id: Option<String>,
}

/// One alert transition handed to one sink (a webhook, a file, stdout,
/// an advisory file), as the publisher recorded it. What makes delivery
/// exactly once across runs: before sending, the publisher asks which
/// (key, sink) pairs already went out, and records each outcome after.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoredDelivery {
    /// The transition's idempotency key (`<alert id>-<state>-<at>`).
    pub key: String,
    /// Which sink: `webhook:<url>`, `jsonl:<path>`, `stdout`,
    /// `advisory:<path>`.
    pub sink: String,
    /// The alert id.
    pub alert: String,
    /// The event name (`opened`, `peak`, …).
    pub event: String,
    /// `delivered`, `rejected` or `gave_up`; the store does not interpret
    /// it, the publisher decides what is final.
    pub outcome: String,
    /// Every attempt so far as a JSON array (the publisher's record).
    pub attempts: String,
    /// When this row was last written, Unix seconds (wall clock: this is
    /// I/O bookkeeping, not event time).
    pub recorded: i64,
}

/// Which stored deliveries to list; `Default` is all of them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DeliveriesQuery {
    /// Only this sink.
    pub sink: Option<String>,
    /// Only this alert's.
    pub alert: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_are_whole_minutes_in_order() {
        let t = |s| Timestamp::from_secs(s);
        assert_eq!(TimeRange::new(t(60), t(180)).secs().unwrap(), (60, 180));
        assert_eq!(TimeRange::ALL.secs().unwrap(), (MIN_SECS, MAX_SECS));
        assert!(matches!(
            TimeRange::new(t(61), t(180)).secs(),
            Err(StoreError::InvalidQuery(_))
        ));
        let half = TimeRange::new(t(60), Timestamp::from_nanos(120_000_000_001));
        assert!(half.secs().unwrap_err().to_string().contains("+1 ns"));
        assert!(TimeRange::new(t(180), t(60)).secs().is_err());
        // Open bounds lie beyond anything a timestamp can say, on day edges.
        assert!(MIN_SECS < Timestamp(i64::MIN).secs() && MAX_SECS > Timestamp(i64::MAX).secs());
        assert_eq!((MIN_SECS % 86_400, MAX_SECS % 86_400), (0, 0));
    }
}
