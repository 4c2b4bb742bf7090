//! What `analyze` tells its caller.

use std::collections::HashMap;

use portwatch_aggregate::{ClassCounts, PortBucket, SeriesClass};
use portwatch_core::{PortKey, Timestamp};
use portwatch_sketch::TopEntry;

/// How many top sources each port total carries.
const TOP_SOURCES_REPORTED: usize = 10;

/// Everything one `analyze` run read.
#[derive(Debug, Clone, Default)]
pub struct AnalyzeReport {
    pub inputs: Vec<InputReport>,
    /// All inputs' record counts together.
    pub counts: ClassCounts,
    /// Scan probes per (protocol, port) over this run's inputs, most sources first.
    pub ports: Vec<PortTotal>,
    /// Backscatter per (protocol, replying port), most sources first.
    pub backscatter: Vec<PortTotal>,
    /// Packets of excluded sources over all inputs (not in `counts`).
    pub excluded: u64,
}

impl AnalyzeReport {
    pub(super) fn set_port_totals<S>(
        &mut self,
        totals: HashMap<(SeriesClass, PortKey), PortBucket, S>,
    ) {
        let mut ports = Vec::new();
        let mut backscatter = Vec::new();
        for ((class, port), b) in totals {
            let total = PortTotal::new(port, &b);
            match class {
                SeriesClass::Probe => ports.push(total),
                SeriesClass::Backscatter => backscatter.push(total),
            }
        }
        for list in [&mut ports, &mut backscatter] {
            // Ties end at the port key, unique in a list: unstable is exact.
            list.sort_unstable_by(|a, b| {
                b.sources
                    .cmp(&a.sources)
                    .then(b.packets.cmp(&a.packets))
                    .then(a.port.cmp(&b.port))
            });
        }
        self.ports = ports;
        self.backscatter = backscatter;
    }

    /// True when some input could not be read at all.
    pub fn any_unreadable(&self) -> bool {
        self.inputs
            .iter()
            .any(|i| i.outcome == InputOutcome::Unreadable)
    }

    /// True when some input was read only in part (errors, skipped garbage,
    /// dropped records).
    pub fn any_partial(&self) -> bool {
        self.inputs
            .iter()
            .any(|i| i.outcome == InputOutcome::Partial)
    }
}

/// Totals of one series over the run.
#[derive(Debug, Clone, PartialEq)]
pub struct PortTotal {
    pub port: PortKey,
    pub packets: u64,
    pub bytes: u64,
    pub sources: u64,
    pub targets: u64,
    /// Whether `sources` is an exact count (small sets) or a sketch estimate.
    pub sources_exact: bool,
    pub targets_exact: bool,
    pub first_seen: Timestamp,
    pub last_seen: Timestamp,
    pub top_sources: Vec<TopEntry>,
}

impl PortTotal {
    fn new(port: PortKey, b: &PortBucket) -> Self {
        PortTotal {
            port,
            packets: b.packets,
            bytes: b.bytes,
            sources: b.sources.estimate(),
            targets: b.targets.estimate(),
            sources_exact: b.sources.is_exact(),
            targets_exact: b.targets.is_exact(),
            first_seen: b.first_seen,
            last_seen: b.last_seen,
            top_sources: b.top_sources.top(TOP_SOURCES_REPORTED),
        }
    }
}

/// How reading one input ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputOutcome {
    /// Read to the end without a problem.
    Complete,
    /// Read, but some of it was bad: errors are listed, the good part kept.
    Partial,
    /// Nothing could be read (missing, a directory, empty, unknown format).
    Unreadable,
}

impl InputOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            InputOutcome::Complete => "complete",
            InputOutcome::Partial => "partial",
            InputOutcome::Unreadable => "unreadable",
        }
    }
}

/// A problem at a place in an input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocatedError {
    /// Byte offset in the (decompressed) content, for captures.
    pub offset: Option<u64>,
    /// 1-based line number, for logs.
    pub line: Option<u64>,
    pub message: String,
}

/// What became of one input.
#[derive(Debug, Clone)]
pub struct InputReport {
    pub label: String,
    pub format: Option<&'static str>,
    pub compression: Option<&'static str>,
    pub fingerprint: Option<String>,
    /// Size of the raw file when it is a regular file.
    pub size: Option<u64>,
    /// Raw (possibly compressed) bytes read.
    pub raw_bytes_read: u64,
    /// Decompressed bytes consumed by the parser.
    pub content_bytes: u64,
    pub counts: ClassCounts,
    /// Log lines from other programs, skipped (not errors).
    pub lines_skipped: u64,
    /// Bytes of garbage skipped between good records.
    pub bytes_skipped: u64,
    pub errors: Vec<LocatedError>,
    /// All errors, including those not kept in `errors`.
    pub error_count: u64,
    pub outcome: InputOutcome,
    pub batches_merged: u64,
    pub batches_already_merged: u64,
    /// Packets (or log lines) from excluded sources, not aggregated and so
    /// not in `counts` (see [`super::AnalyzeOptions::exclude`]).
    pub excluded: u64,
}

impl InputReport {
    pub(super) fn new(label: &str) -> Self {
        InputReport {
            label: label.to_string(),
            format: None,
            compression: None,
            fingerprint: None,
            size: None,
            raw_bytes_read: 0,
            content_bytes: 0,
            counts: ClassCounts::default(),
            lines_skipped: 0,
            bytes_skipped: 0,
            errors: Vec::new(),
            error_count: 0,
            outcome: InputOutcome::Complete,
            batches_merged: 0,
            batches_already_merged: 0,
            excluded: 0,
        }
    }

    pub(super) fn unreadable(label: &str, message: String) -> Self {
        let mut r = InputReport::new(label);
        r.error_count = 1;
        r.errors.push(LocatedError {
            offset: None,
            line: None,
            message,
        });
        r.outcome = InputOutcome::Unreadable;
        r
    }

    pub(super) fn push_error(&mut self, err: LocatedError) {
        self.error_count += 1;
        if self.errors.len() < super::MAX_ERRORS_KEPT {
            self.errors.push(err);
        }
    }

    /// Settles the outcome once reading is over: any error or dropped record
    /// makes the input partial.
    pub(super) fn settle(&mut self) {
        if self.outcome != InputOutcome::Unreadable
            && (self.error_count > 0 || self.counts.dropped_total() > 0)
        {
            self.outcome = InputOutcome::Partial;
        }
    }
}
