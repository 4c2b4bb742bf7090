//! Per-source state.

use std::net::IpAddr;

use portwatch_core::{Class, Event, PortKey, Timestamp};
use portwatch_scanners::Tool;
use portwatch_sketch::{DistinctCounter, PortSet};

use crate::observation::Observation;
use crate::tools::ToolCounts;

/// What a source-day needs of an event (32 bytes, the tool included).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Hit {
    pub(crate) ts: Timestamp,
    pub(crate) dst_hash: u64,
    pub(crate) ip_len: u32,
    pub(crate) key: Option<PortKey>,
    pub(crate) class: Class,
    pub(crate) tool: Tool,
}

impl Hit {
    #[inline]
    pub(crate) fn of(o: &Observation) -> Hit {
        Hit {
            ts: o.ts,
            dst_hash: o.dst_hash,
            ip_len: o.ip_len,
            key: o.key,
            class: o.class,
            tool: o.tool,
        }
    }
}

/// A source on one UTC day. Keeping a day per row bounds how much one row
/// says about a long-lived address and lets reports pick a time range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SourceKey {
    pub addr: IpAddr,
    /// Start of the UTC day, Unix seconds.
    pub day: i64,
}

/// What one source did on one day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceStats {
    pub first_seen: Timestamp,
    pub last_seen: Timestamp,
    /// Scan probes sent.
    pub probes: u64,
    /// Backscatter received from this address (it is the victim of a
    /// spoofed-source attack, not a scanner).
    pub backscatter: u64,
    /// Other packets (ACK, FIN, fragments, ...).
    pub other: u64,
    pub bytes: u64,
    /// (proto, port) pairs probed.
    pub ports: PortSet,
    /// Distinct destination addresses probed.
    pub targets: DistinctCounter,
    /// Scan probes by the tool their headers point to.
    pub tools: ToolCounts,
    /// First contacts (a TCP SYN to an address this source had not tried
    /// before) that the target answered with a SYN-ACK. Only captures that
    /// show replies give these; see `portwatch_pipeline`'s handshake tracker.
    pub first_contacts_ok: u64,
    /// First contacts answered by a RST or an ICMP unreachable, or not at
    /// all in a capture that shows replies. Threshold Random Walk's verdict
    /// depends only on these two counts, so they merge by addition.
    pub first_contacts_failed: u64,
}

impl Default for SourceStats {
    fn default() -> Self {
        SourceStats {
            first_seen: Timestamp(i64::MAX),
            last_seen: Timestamp(i64::MIN),
            probes: 0,
            backscatter: 0,
            other: 0,
            bytes: 0,
            ports: PortSet::new(),
            targets: DistinctCounter::new(),
            tools: ToolCounts::default(),
            first_contacts_ok: 0,
            first_contacts_failed: 0,
        }
    }
}

impl SourceStats {
    pub fn packets(&self) -> u64 {
        self.probes + self.backscatter + self.other
    }

    pub fn observe(&mut self, ev: &Event<'_>) {
        self.observe_hashed(&Observation::of(ev));
    }

    /// [`Self::observe`] with the addresses already hashed.
    #[inline]
    pub fn observe_hashed(&mut self, o: &Observation) {
        self.observe_hit(&Hit::of(o));
    }

    #[inline]
    pub(crate) fn observe_hit(&mut self, o: &Hit) {
        self.first_seen = self.first_seen.min(o.ts);
        self.last_seen = self.last_seen.max(o.ts);
        self.bytes += u64::from(o.ip_len);
        match o.class {
            Class::Probe => {
                self.probes += 1;
                if let Some(key) = o.key {
                    self.ports.insert(key);
                }
                self.targets.insert_hash(o.dst_hash);
                self.tools.add(o.tool, 1);
            }
            Class::Backscatter => self.backscatter += 1,
            Class::Other(_) => self.other += 1,
        }
    }

    pub fn merge(&mut self, other: &SourceStats) {
        self.first_seen = self.first_seen.min(other.first_seen);
        self.last_seen = self.last_seen.max(other.last_seen);
        self.probes += other.probes;
        self.backscatter += other.backscatter;
        self.other += other.other;
        self.bytes += other.bytes;
        self.ports.merge(&other.ports);
        self.targets.merge(&other.targets);
        self.tools.merge(&other.tools);
        self.first_contacts_ok += other.first_contacts_ok;
        self.first_contacts_failed += other.first_contacts_failed;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hits_stay_small() {
        // The grouping buffers hold one per event; the tool fits in padding.
        assert_eq!(std::mem::size_of::<Hit>(), 32);
        assert_eq!(std::mem::size_of::<Observation>(), 56);
    }

    #[test]
    fn a_source_day_takes_four_cache_lines() {
        // Every probe updates one of these, and they do not fit in cache:
        // at 272 bytes each spanned five lines, and a run took ~2% longer.
        assert_eq!(std::mem::size_of::<(SourceKey, SourceStats)>(), 256);
    }
}
