//! Folding events into aggregates, and cutting them into batches.

use std::collections::HashMap;

use foldhash::fast::RandomState;
use portwatch_core::{BucketWidth, Class, DropReason, Event, OtherKind};

use crate::bucket::{PortBucket, SeriesClass, SeriesKey};
use crate::counts::ClassCounts;
use crate::source::{SourceKey, SourceStats};

/// Names one batch of aggregates for exactly-once merging (rule 3): the
/// stream it came from (a sensor, or an input file's fingerprint) and its
/// sequence number within that stream. A store merges each id once.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BatchId {
    pub stream: String,
    pub seq: u64,
}

/// A unit of aggregates handed to a store. Minute buckets and source-days are
/// sorted by key, so the same input always yields the same batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch {
    pub id: BatchId,
    pub minutes: Vec<(SeriesKey, PortBucket)>,
    pub sources: Vec<(SourceKey, SourceStats)>,
    pub counts: ClassCounts,
}

impl Batch {
    pub fn is_empty(&self) -> bool {
        self.minutes.is_empty() && self.sources.is_empty() && self.counts.records() == 0
    }
}

/// Per-minute, per-port and per-source aggregation of a stream of events.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Aggregator {
    minutes: HashMap<SeriesKey, PortBucket, RandomState>,
    sources: HashMap<SourceKey, SourceStats, RandomState>,
    counts: ClassCounts,
}

impl Aggregator {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn observe(&mut self, ev: &Event<'_>) {
        self.counts.count(ev.class, ev.ts);
        if let (Some(class), Some(port)) = (SeriesClass::of(ev.class), ev.key) {
            let key = SeriesKey {
                class,
                port,
                start: ev.ts.bucket_start(BucketWidth::Minute),
            };
            self.minutes.entry(key).or_default().observe(ev);
        }
        // A frame without IP has no source address worth keeping.
        if ev.class != Class::Other(OtherKind::NotIp) {
            let key = SourceKey {
                addr: ev.src,
                day: ev.ts.bucket_start(BucketWidth::Day),
            };
            self.sources.entry(key).or_default().observe(ev);
        }
    }

    pub fn drop_record(&mut self, reason: DropReason) {
        self.counts.drop_record(reason);
    }

    pub fn counts(&self) -> &ClassCounts {
        &self.counts
    }

    /// Minute buckets currently held (not yet drained).
    pub fn minutes(&self) -> impl Iterator<Item = (&SeriesKey, &PortBucket)> {
        self.minutes.iter()
    }

    /// Source-days currently held (not yet drained).
    pub fn sources(&self) -> impl Iterator<Item = (&SourceKey, &SourceStats)> {
        self.sources.iter()
    }

    pub fn is_empty(&self) -> bool {
        self.minutes.is_empty() && self.sources.is_empty() && self.counts.records() == 0
    }

    pub fn merge(&mut self, other: &Aggregator) {
        for (k, v) in &other.minutes {
            self.minutes.entry(*k).or_default().merge(v);
        }
        for (k, v) in &other.sources {
            self.sources.entry(*k).or_default().merge(v);
        }
        self.counts.merge(&other.counts);
    }

    /// Takes out everything that ended before `before` (Unix seconds): minute
    /// buckets that start earlier and source-days that end by then, with the
    /// record counts so far. What stays is still open; data that arrives late
    /// for a drained minute starts a new bucket that the store merges into the
    /// old one (rule 1).
    pub fn drain_closed(&mut self, id: BatchId, before: i64) -> Batch {
        let minutes = drain_sorted(&mut self.minutes, |k| k.start < before);
        let sources = drain_sorted(&mut self.sources, |k| {
            k.day + BucketWidth::Day.secs() <= before
        });
        Batch {
            id,
            minutes,
            sources,
            counts: std::mem::take(&mut self.counts),
        }
    }

    /// Takes out everything.
    pub fn drain_all(&mut self, id: BatchId) -> Batch {
        self.drain_closed(id, i64::MAX)
    }
}

fn drain_sorted<K: Ord + Copy + std::hash::Hash, V>(
    map: &mut HashMap<K, V, RandomState>,
    pick: impl Fn(&K) -> bool,
) -> Vec<(K, V)> {
    let mut out: Vec<(K, V)> = map.extract_if(|k, _| pick(k)).collect();
    out.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    out
}
