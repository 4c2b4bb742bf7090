//! The JSON documents portwatch prints. Their shapes are a contract
//! (docs/json.md): fields are added, never renamed or removed, within a
//! `version`.

use std::collections::BTreeMap;

use portwatch_aggregate::ClassCounts;
use portwatch_core::{PortKey, Timestamp};
use portwatch_pipeline::{InputReport, PortTotal};
use portwatch_sketch::TopEntry;
use portwatch_store::{PortTotals, SeriesPoint};
use serde::Serialize;

/// Version of every document below.
pub const VERSION: u32 = 1;

fn ts(t: Timestamp) -> String {
    t.to_rfc3339()
}

fn opt_ts(t: Option<Timestamp>) -> Option<String> {
    t.map(ts)
}

#[derive(Debug, Serialize)]
pub struct TopSource {
    pub addr: String,
    pub packets: u64,
    /// How much `packets` may overstate (0 while the top list is exact).
    pub error: u64,
}

impl From<&TopEntry> for TopSource {
    fn from(e: &TopEntry) -> Self {
        TopSource {
            addr: e.addr.to_string(),
            packets: e.count,
            error: e.error,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct Port {
    pub proto: &'static str,
    pub port: u16,
    pub service: Option<&'static str>,
    pub packets: u64,
    pub bytes: u64,
    pub sources: u64,
    pub sources_exact: bool,
    pub targets: u64,
    pub first_seen: String,
    pub last_seen: String,
    pub top_sources: Vec<TopSource>,
}

pub fn service(key: PortKey) -> Option<&'static str> {
    portwatch_enrich::services::name(key)
}

impl From<&PortTotal> for Port {
    fn from(p: &PortTotal) -> Self {
        Port {
            proto: p.port.proto.as_str(),
            port: p.port.port,
            service: service(p.port),
            packets: p.packets,
            bytes: p.bytes,
            sources: p.sources,
            sources_exact: p.sources_exact,
            targets: p.targets,
            first_seen: ts(p.first_seen),
            last_seen: ts(p.last_seen),
            top_sources: p.top_sources.iter().map(TopSource::from).collect(),
        }
    }
}

impl From<&PortTotals> for Port {
    fn from(p: &PortTotals) -> Self {
        Port {
            proto: p.port.proto.as_str(),
            port: p.port.port,
            service: service(p.port),
            packets: p.packets,
            bytes: p.bytes,
            sources: p.sources,
            sources_exact: p.sources_exact,
            targets: p.targets,
            first_seen: ts(p.first_seen),
            last_seen: ts(p.last_seen),
            top_sources: p.top_sources.iter().map(TopSource::from).collect(),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct Packets {
    pub probe: u64,
    pub backscatter: u64,
    pub other: u64,
    pub unparseable: u64,
}

#[derive(Debug, Serialize)]
pub struct Summary {
    /// Every record read: packets and firewall log lines.
    pub records: u64,
    pub packets: Packets,
    pub other_by_kind: BTreeMap<&'static str, u64>,
    pub unparseable_by_reason: BTreeMap<&'static str, u64>,
    pub first_seen: Option<String>,
    pub last_seen: Option<String>,
}

impl From<&ClassCounts> for Summary {
    fn from(c: &ClassCounts) -> Self {
        Summary {
            records: c.records(),
            packets: Packets {
                probe: c.probe,
                backscatter: c.backscatter,
                other: c.other_total(),
                unparseable: c.dropped_total(),
            },
            other_by_kind: c.other.iter().map(|(k, v)| (k.as_str(), *v)).collect(),
            unparseable_by_reason: c.dropped.iter().map(|(k, v)| (k.as_str(), *v)).collect(),
            first_seen: opt_ts(c.first_seen),
            last_seen: opt_ts(c.last_seen),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct InputError {
    pub offset: Option<u64>,
    pub line: Option<u64>,
    pub message: String,
}

#[derive(Debug, Serialize)]
pub struct Input {
    pub path: String,
    pub outcome: &'static str,
    pub format: Option<&'static str>,
    pub compression: Option<&'static str>,
    pub fingerprint: Option<String>,
    pub size: Option<u64>,
    pub bytes_read: u64,
    pub content_bytes: u64,
    pub summary: Summary,
    pub lines_skipped: u64,
    pub bytes_skipped: u64,
    pub error_count: u64,
    pub errors: Vec<InputError>,
    pub batches_merged: u64,
    pub batches_already_merged: u64,
    /// Packets of known research scanners dropped before aggregation.
    pub excluded_research: u64,
}

impl From<&InputReport> for Input {
    fn from(r: &InputReport) -> Self {
        Input {
            path: r.label.clone(),
            outcome: r.outcome.as_str(),
            format: r.format,
            compression: r.compression,
            fingerprint: r.fingerprint.clone(),
            size: r.size,
            bytes_read: r.raw_bytes_read,
            content_bytes: r.content_bytes,
            summary: Summary::from(&r.counts),
            lines_skipped: r.lines_skipped,
            bytes_skipped: r.bytes_skipped,
            error_count: r.error_count,
            errors: r
                .errors
                .iter()
                .map(|e| InputError {
                    offset: e.offset,
                    line: e.line,
                    message: e.message.clone(),
                })
                .collect(),
            batches_merged: r.batches_merged,
            batches_already_merged: r.batches_already_merged,
            excluded_research: r.excluded,
        }
    }
}

/// `portwatch analyze --format json`.
#[derive(Debug, Serialize)]
pub struct AnalyzeDoc {
    pub version: u32,
    pub summary: Summary,
    /// Packets of known research scanners dropped before aggregation
    /// (`[enrich] exclude_research_from_detection`), not in `summary`.
    pub excluded_research: u64,
    pub inputs: Vec<Input>,
    /// Scan probes per (proto, port), most sources first.
    pub ports: Vec<Port>,
    /// Backscatter per (proto, replying port), most sources first.
    pub backscatter: Vec<Port>,
    /// Alerts (`portwatch.alert/1`) whose span overlaps this run's data,
    /// oldest onset first; empty when detection did not run.
    pub alerts: Vec<portwatch_detect::Alert>,
    pub detection: DetectionDoc,
    /// Advisory files written by this run (`[publish] advisory_dir`).
    pub published: Vec<crate::publish::FileDoc>,
    /// Alert transitions handed to sinks by this run, with their attempts.
    pub deliveries: Vec<crate::publish::DeliveryDoc>,
    /// Per sink: delivered, failed, and left alone (done earlier, deferred).
    pub publish_sinks: Vec<crate::publish::SinkDoc>,
}

/// What detection did after `analyze` merged its inputs.
#[derive(Debug, Serialize)]
pub struct DetectionDoc {
    /// False with `--no-store` or `--no-detect`.
    pub ran: bool,
    /// Minutes with data in the whole store, all fed to the detector.
    pub minutes: u64,
    /// Alerts in the whole store (`alerts` lists those of this run's span).
    pub alerts_in_store: usize,
    /// Spans in which the store has no data at all: gaps, not silence.
    pub gaps: Vec<Gap>,
}

#[derive(Debug, Serialize)]
pub struct Gap {
    pub from: String,
    pub to: String,
    pub minutes: i64,
}

impl From<&portwatch_detect::GapSpan> for Gap {
    fn from(g: &portwatch_detect::GapSpan) -> Self {
        Gap {
            from: ts(Timestamp::from_secs(g.start)),
            to: ts(Timestamp::from_secs(g.end)),
            minutes: (g.end - g.start) / 60,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct Range {
    pub from: Option<String>,
    pub to: Option<String>,
}

impl From<&portwatch_store::TimeRange> for Range {
    fn from(r: &portwatch_store::TimeRange) -> Self {
        Range {
            from: opt_ts(r.from),
            to: opt_ts(r.to),
        }
    }
}

/// `portwatch report top --format json`.
#[derive(Debug, Serialize)]
pub struct TopDoc {
    pub version: u32,
    pub class: &'static str,
    pub range: Range,
    pub order: &'static str,
    pub ports: Vec<Port>,
}

#[derive(Debug, Serialize)]
pub struct Point {
    pub start: String,
    pub packets: u64,
    pub bytes: u64,
    pub sources: u64,
    pub targets: u64,
    pub first_seen: String,
    pub last_seen: String,
    pub top_sources: Vec<TopSource>,
    /// The port's normal over the bucket (probe series; absent with
    /// `--no-baseline`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub baseline: Option<BaselineDoc>,
    /// Ids of the alerts whose span overlaps the bucket.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub alerts: Vec<String>,
}

/// A bucket's baseline band: what detection expected before each minute's
/// data arrived, over the bucket's minutes with data.
pub type BaselineDoc = portwatch_pipeline::detect::BucketBand;

/// An alert on the port, in brief (`portwatch alerts --id` has the rest).
#[derive(Debug, Serialize)]
pub struct AlertBrief {
    pub id: String,
    pub kind: String,
    pub state: String,
    pub onset: String,
    pub closed: Option<String>,
    pub summary: String,
}

impl From<&SeriesPoint> for Point {
    fn from(p: &SeriesPoint) -> Self {
        Point {
            start: ts(p.start),
            packets: p.packets,
            bytes: p.bytes,
            sources: p.sources,
            targets: p.targets,
            first_seen: ts(p.first_seen),
            last_seen: ts(p.last_seen),
            top_sources: p.top_sources.iter().map(TopSource::from).collect(),
            baseline: None,
            alerts: Vec::new(),
        }
    }
}

/// `portwatch report port P/PROTO --format json`.
#[derive(Debug, Serialize)]
pub struct SeriesDoc {
    pub version: u32,
    pub proto: &'static str,
    pub port: u16,
    pub service: Option<&'static str>,
    pub class: &'static str,
    pub bucket: &'static str,
    pub range: Range,
    /// Buckets with data, in time order; a missing bucket saw nothing.
    pub series: Vec<Point>,
    /// Alerts on this port that overlap the range.
    pub alerts: Vec<AlertBrief>,
    /// Spans in the range with no data from any input at all: gaps, not
    /// silence (only computed with the baseline).
    pub gaps: Vec<Gap>,
    /// What the port is and who scanned it over the range (scan probes
    /// only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attribution: Option<crate::attrib::AttributionDoc>,
    /// Payload signatures the honeypot saw on the port (`portwatch run`),
    /// absent when it saw none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub payloads: Vec<portwatch_publish::advisory::PayloadSignature>,
}

/// `portwatch report sources --format json`.
#[derive(Debug, Serialize)]
pub struct SourcesDoc {
    pub version: u32,
    pub range: Range,
    pub sources: Vec<crate::attrib::SourceDoc>,
}

/// `portwatch report source ADDR --format json`.
#[derive(Debug, Serialize)]
pub struct SourceReportDoc {
    pub version: u32,
    pub range: Range,
    pub source: crate::attrib::SourceDoc,
}

#[derive(Debug, Serialize)]
pub struct Stream {
    pub stream: String,
    pub label: Option<String>,
    pub batches: u64,
    pub summary: Summary,
}

/// `portwatch report summary --format json`.
#[derive(Debug, Serialize)]
pub struct StoreDoc {
    pub version: u32,
    pub summary: Summary,
    pub streams: Vec<Stream>,
}
