//! Turning merged buckets into answers, independent of the database: every
//! backend loads rows, merges them here and ranks them the same way.

use std::cmp::Reverse;
use std::net::IpAddr;

use portwatch_aggregate::{ClassCounts, PortBucket, SourceStats, TOP_SOURCES};
use portwatch_core::{DropReason, OtherKind, PortKey, Timestamp};

use crate::{Order, PortTotals, SeriesPoint, SourceOrder, SourceTotals, StoreError};

/// A bucket with its count of active minutes.
#[derive(Debug, Clone, Default)]
pub(crate) struct Merged {
    pub bucket: PortBucket,
    pub active: u64,
}

impl Merged {
    pub(crate) fn add(&mut self, bucket: &PortBucket, active: u64) {
        self.bucket.merge(bucket);
        self.active += active;
    }

    pub(crate) fn into_port_totals(self, port: PortKey) -> PortTotals {
        let b = self.bucket;
        PortTotals {
            port,
            packets: b.packets,
            bytes: b.bytes,
            sources: b.sources.estimate(),
            targets: b.targets.estimate(),
            sources_exact: b.sources.is_exact(),
            first_seen: b.first_seen,
            last_seen: b.last_seen,
            top_sources: b.top_sources.top(TOP_SOURCES),
            active_minutes: self.active,
        }
    }
}

pub(crate) fn series_point(start: i64, b: &PortBucket, active: u64) -> SeriesPoint {
    SeriesPoint {
        start: Timestamp::from_secs(start),
        packets: b.packets,
        bytes: b.bytes,
        sources: b.sources.estimate(),
        targets: b.targets.estimate(),
        top_sources: b.top_sources.top(TOP_SOURCES),
        first_seen: b.first_seen,
        last_seen: b.last_seen,
        active_minutes: active,
    }
}

/// Sorts best first and keeps `limit`. Ties go to the lower port so that
/// answers are deterministic.
pub(crate) fn rank_ports(v: &mut Vec<PortTotals>, order: Order, limit: usize) {
    match order {
        Order::Sources => {
            v.sort_unstable_by_key(|p| (Reverse(p.sources), Reverse(p.packets), p.port))
        }
        Order::Packets => {
            v.sort_unstable_by_key(|p| (Reverse(p.packets), Reverse(p.sources), p.port))
        }
    }
    v.truncate(limit);
}

pub(crate) fn source_totals(addr: IpAddr, s: SourceStats) -> SourceTotals {
    SourceTotals {
        addr,
        first_seen: s.first_seen,
        last_seen: s.last_seen,
        probes: s.probes,
        backscatter: s.backscatter,
        other: s.other,
        bytes: s.bytes,
        port_count: s.ports.len(),
        ports: s.ports,
        targets: s.targets.estimate(),
        tools: s.tools,
        first_contacts_ok: s.first_contacts_ok,
        first_contacts_failed: s.first_contacts_failed,
    }
}

/// Sorts best first and keeps `limit`; ties go to the lower address.
pub(crate) fn rank_sources(v: &mut Vec<SourceTotals>, order: SourceOrder, limit: usize) {
    let packets = |s: &SourceTotals| s.probes + s.backscatter + s.other;
    let primary = |s: &SourceTotals| match order {
        SourceOrder::Probes => s.probes,
        SourceOrder::Packets => packets(s),
        SourceOrder::Ports => s.port_count,
        SourceOrder::Targets => s.targets,
    };
    v.sort_unstable_by_key(|s| {
        (
            Reverse(primary(s)),
            Reverse(s.probes),
            Reverse(packets(s)),
            s.addr,
        )
    });
    v.truncate(limit);
}

const PROBE: &str = "probe";
const BACKSCATTER: &str = "backscatter";
const OTHER: &str = "other:";
const DROPPED: &str = "dropped:";

/// A stream's record counts as named counters (`probe`, `other:not_ip`,
/// `dropped:truncated`, ...), so a store can add them up with plain SQL and
/// new kinds need no schema change. Zero counters are left out.
pub(crate) fn counters(c: &ClassCounts) -> Vec<(String, u64)> {
    let mut out = vec![
        (PROBE.to_string(), c.probe),
        (BACKSCATTER.to_string(), c.backscatter),
    ];
    out.extend(
        c.other
            .iter()
            .map(|(k, n)| (format!("{OTHER}{}", k.as_str()), *n)),
    );
    out.extend(
        c.dropped
            .iter()
            .map(|(k, n)| (format!("{DROPPED}{}", k.as_str()), *n)),
    );
    out.retain(|(_, n)| *n > 0);
    out
}

/// The inverse of [`counters`], adding into `c`.
pub(crate) fn add_counter(c: &mut ClassCounts, name: &str, n: u64) -> Result<(), StoreError> {
    let unknown = || StoreError::Corrupt {
        what: "a stream counter name",
        value: name.to_string(),
    };
    if name == PROBE {
        c.probe += n;
    } else if name == BACKSCATTER {
        c.backscatter += n;
    } else if let Some(kind) = name.strip_prefix(OTHER) {
        let kind = OtherKind::ALL
            .into_iter()
            .find(|k| k.as_str() == kind)
            .ok_or_else(unknown)?;
        *c.other.entry(kind).or_default() += n;
    } else if let Some(reason) = name.strip_prefix(DROPPED) {
        let reason = DropReason::ALL
            .into_iter()
            .find(|k| k.as_str() == reason)
            .ok_or_else(unknown)?;
        *c.dropped.entry(reason).or_default() += n;
    } else {
        return Err(unknown());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use portwatch_core::Class;

    #[test]
    fn counters_round_trip() {
        let mut c = ClassCounts::default();
        c.count(Class::Probe, Timestamp(5));
        c.count(Class::Other(OtherKind::NotIp), Timestamp(5));
        c.count(Class::Other(OtherKind::NotIp), Timestamp(5));
        c.drop_record(DropReason::BadTimestamp);
        let named = counters(&c);
        assert_eq!(
            named,
            vec![
                ("probe".to_string(), 1),
                ("other:not_ip".to_string(), 2),
                ("dropped:bad_timestamp".to_string(), 1)
            ]
        );
        let mut back = ClassCounts {
            first_seen: c.first_seen,
            last_seen: c.last_seen,
            ..Default::default()
        };
        for (name, n) in &named {
            add_counter(&mut back, name, *n).unwrap();
        }
        assert_eq!(back, c);
        assert!(matches!(
            add_counter(&mut back, "other:gopher", 1),
            Err(StoreError::Corrupt { .. })
        ));
    }
}
