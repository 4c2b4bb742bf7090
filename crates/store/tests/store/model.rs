//! The simplest store there is: every minute and source-day in a map, every
//! answer computed from minutes directly. The SQLite store must agree with it
//! exactly.

use std::collections::{BTreeMap, HashSet};
use std::net::IpAddr;

use portwatch_aggregate::{
    Batch, BatchId, ClassCounts, PortBucket, SeriesKey, SourceKey, SourceStats, TOP_SOURCES, rollup,
};
use portwatch_core::{PortKey, Timestamp};
use portwatch_store::{
    MergeOutcome, Order, PortTotals, SeriesPoint, SeriesQuery, SourceOrder, SourceTotals,
    SourcesQuery, StoreTotals, StreamTotals, TimeRange, TopPortsQuery,
};

#[derive(Debug, Default)]
pub struct Model {
    seen: HashSet<BatchId>,
    minutes: BTreeMap<SeriesKey, PortBucket>,
    sources: BTreeMap<SourceKey, SourceStats>,
    streams: BTreeMap<String, (u64, ClassCounts)>,
}

fn bounds(r: &TimeRange) -> (i64, i64) {
    (
        r.from.map_or(i64::MIN, Timestamp::secs),
        r.to.map_or(i64::MAX, Timestamp::secs),
    )
}

impl Model {
    pub fn merge(&mut self, b: &Batch) -> MergeOutcome {
        if !self.seen.insert(b.id.clone()) {
            return MergeOutcome::AlreadyMerged;
        }
        for (k, v) in &b.minutes {
            self.minutes.entry(*k).or_default().merge(v);
        }
        for (k, v) in &b.sources {
            self.sources.entry(*k).or_default().merge(v);
        }
        let s = self.streams.entry(b.id.stream.clone()).or_default();
        s.0 += 1;
        s.1.merge(&b.counts);
        MergeOutcome::Merged
    }

    pub fn top_ports(&self, q: &TopPortsQuery) -> Vec<PortTotals> {
        let (from, to) = bounds(&q.range);
        let mut per: BTreeMap<PortKey, (PortBucket, u64)> = BTreeMap::new();
        for (k, b) in &self.minutes {
            if k.class == q.class
                && q.proto.is_none_or(|p| p == k.port.proto)
                && from <= k.start
                && k.start < to
            {
                let e = per.entry(k.port).or_default();
                e.0.merge(b);
                e.1 += 1;
            }
        }
        let mut v: Vec<PortTotals> = per
            .into_iter()
            .map(|(port, (b, active))| PortTotals {
                port,
                packets: b.packets,
                bytes: b.bytes,
                sources: b.sources.estimate(),
                targets: b.targets.estimate(),
                sources_exact: b.sources.is_exact(),
                first_seen: b.first_seen,
                last_seen: b.last_seen,
                top_sources: b.top_sources.top(TOP_SOURCES),
                active_minutes: active,
            })
            .collect();
        v.sort_by(|a, b| {
            let (x, y) = match q.order {
                Order::Sources => ((b.sources, b.packets), (a.sources, a.packets)),
                Order::Packets => ((b.packets, b.sources), (a.packets, a.sources)),
            };
            x.cmp(&y).then(a.port.cmp(&b.port))
        });
        v.truncate(q.limit);
        v
    }

    pub fn series(&self, q: &SeriesQuery) -> Vec<SeriesPoint> {
        let (from, to) = bounds(&q.range);
        let w = q.width.secs();
        let mine: Vec<_> = self
            .minutes
            .iter()
            .filter(|(k, _)| k.class == q.class && k.port == q.port)
            .collect();
        let mut active: BTreeMap<i64, u64> = BTreeMap::new();
        for (k, _) in &mine {
            *active.entry(k.start.div_euclid(w) * w).or_default() += 1;
        }
        rollup(mine.iter().map(|(k, b)| (*k, *b)), q.width)
            .into_iter()
            // Whole buckets that overlap the range; an empty range overlaps
            // nothing, even inside a bucket.
            .filter(|(k, _)| from < to && k.start < to && k.start.saturating_add(w) > from)
            .map(|(k, b)| SeriesPoint {
                start: Timestamp::from_secs(k.start),
                packets: b.packets,
                bytes: b.bytes,
                sources: b.sources.estimate(),
                targets: b.targets.estimate(),
                top_sources: b.top_sources.top(TOP_SOURCES),
                first_seen: b.first_seen,
                last_seen: b.last_seen,
                active_minutes: active[&k.start],
            })
            .collect()
    }

    pub fn sources(&self, q: &SourcesQuery) -> Vec<SourceTotals> {
        let (from, to) = bounds(&q.range);
        let mut per: BTreeMap<IpAddr, SourceStats> = BTreeMap::new();
        for (k, s) in &self.sources {
            // Days that overlap the (non-empty) range.
            if from < to && k.day < to && k.day.saturating_add(86_400) > from {
                per.entry(k.addr).or_default().merge(s);
            }
        }
        let mut v: Vec<SourceTotals> = per
            .into_iter()
            .filter(|(_, s)| q.port.is_none_or(|p| s.ports.contains(p)))
            .map(|(addr, s)| SourceTotals {
                addr,
                first_seen: s.first_seen,
                last_seen: s.last_seen,
                probes: s.probes,
                backscatter: s.backscatter,
                other: s.other,
                bytes: s.bytes,
                port_count: s.ports.len(),
                targets: s.targets.estimate(),
                tools: s.tools,
                first_contacts_ok: s.first_contacts_ok,
                first_contacts_failed: s.first_contacts_failed,
                ports: s.ports,
            })
            .collect();
        let key = |s: &SourceTotals| {
            let packets = s.probes + s.backscatter + s.other;
            let primary = match q.order {
                SourceOrder::Probes => s.probes,
                SourceOrder::Packets => packets,
                SourceOrder::Ports => s.port_count,
                SourceOrder::Targets => s.targets,
            };
            (primary, s.probes, packets)
        };
        v.sort_by(|a, b| key(b).cmp(&key(a)).then(a.addr.cmp(&b.addr)));
        v.truncate(q.limit);
        v
    }

    pub fn totals(&self) -> StoreTotals {
        let mut t = StoreTotals::default();
        for (stream, (batches, counts)) in &self.streams {
            t.counts.merge(counts);
            t.batches += batches;
            t.streams += 1;
            t.per_stream.push(StreamTotals {
                stream: stream.clone(),
                label: None,
                batches: *batches,
                counts: counts.clone(),
            });
        }
        t
    }

    /// Every (class, port) with data.
    pub fn series_keys(&self) -> Vec<(portwatch_aggregate::SeriesClass, PortKey)> {
        let mut v: Vec<_> = self.minutes.keys().map(|k| (k.class, k.port)).collect();
        v.dedup();
        v.sort();
        v.dedup();
        v
    }
}
