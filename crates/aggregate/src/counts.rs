//! Record counts by class, other-kind and drop reason.

use std::collections::BTreeMap;

use portwatch_core::{Class, DropReason, OtherKind, Timestamp};
use serde::{Deserialize, Serialize};

/// How many records of each kind a stream held. Every record read lands in
/// exactly one of `probe`, `backscatter`, `other` or `dropped`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClassCounts {
    pub probe: u64,
    pub backscatter: u64,
    /// Other events by kind (`tcp_other_flags`, `not_ip`, ...).
    pub other: BTreeMap<OtherKind, u64>,
    /// Records that could not be decoded, by reason.
    pub dropped: BTreeMap<DropReason, u64>,
    /// Earliest and latest event time seen.
    pub first_seen: Option<Timestamp>,
    pub last_seen: Option<Timestamp>,
}

impl ClassCounts {
    pub fn count(&mut self, class: Class, ts: Timestamp) {
        match class {
            Class::Probe => self.probe += 1,
            Class::Backscatter => self.backscatter += 1,
            Class::Other(kind) => *self.other.entry(kind).or_default() += 1,
        }
        self.first_seen = Some(self.first_seen.map_or(ts, |t| t.min(ts)));
        self.last_seen = Some(self.last_seen.map_or(ts, |t| t.max(ts)));
    }

    pub fn drop_record(&mut self, reason: DropReason) {
        *self.dropped.entry(reason).or_default() += 1;
    }

    pub fn other_total(&self) -> u64 {
        self.other.values().sum()
    }

    pub fn dropped_total(&self) -> u64 {
        self.dropped.values().sum()
    }

    /// Every record seen, decoded or not.
    pub fn records(&self) -> u64 {
        self.probe + self.backscatter + self.other_total() + self.dropped_total()
    }

    pub fn merge(&mut self, other: &ClassCounts) {
        self.probe += other.probe;
        self.backscatter += other.backscatter;
        for (k, v) in &other.other {
            *self.other.entry(*k).or_default() += v;
        }
        for (k, v) in &other.dropped {
            *self.dropped.entry(*k).or_default() += v;
        }
        self.first_seen = match (self.first_seen, other.first_seen) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self.last_seen = match (self.last_seen, other.last_seen) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
    }
}
