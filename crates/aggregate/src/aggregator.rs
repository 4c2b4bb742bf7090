//! Folding events into aggregates, and cutting them into batches.

use std::net::IpAddr;

use portwatch_core::{BucketWidth, Class, DropReason, Event, OtherKind, Timestamp};

use crate::bucket::{PortBucket, SeriesKey};
use crate::counts::ClassCounts;
use crate::minutes::MinuteTable;
use crate::observation::{Observation, Shard};
use crate::sort::merge_sorted;
use crate::source::{SourceKey, SourceStats};
use crate::sources::SourceMap;

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
///
/// An aggregator made [`for_shard`](Self::for_shard) keeps only its part of
/// the keys (see [`Shard`]): several of them fed the same events hold
/// disjoint state whose batches add up to one aggregator's.
#[derive(Debug, Clone, Default)]
pub struct Aggregator {
    shard: Shard,
    minutes: MinuteTable,
    sources: SourceMap,
    counts: ClassCounts,
    /// Scratch for [`Self::observe_all`]: the events whose source is ours,
    /// with their day.
    ours: Vec<(u32, i64)>,
}

/// Equal content: the same buckets, source-days and counts, wherever each
/// one is held inside, and compared as a batch would carry them (an open
/// minute's top sources cut to the stored size).
impl PartialEq for Aggregator {
    fn eq(&self, other: &Self) -> bool {
        fn sorted<'a, K: Ord + Copy + 'a, V: Clone + 'a>(
            it: impl Iterator<Item = (&'a K, &'a V)>,
            settle: impl Fn(&mut V),
        ) -> Vec<(K, V)> {
            let mut v: Vec<(K, V)> = it
                .map(|(k, v)| {
                    let mut v = v.clone();
                    settle(&mut v);
                    (*k, v)
                })
                .collect();
            v.sort_unstable_by_key(|a| a.0);
            v
        }
        self.counts == other.counts
            && sorted(self.minutes(), PortBucket::settle)
                == sorted(other.minutes(), PortBucket::settle)
            && sorted(self.sources(), |_| {}) == sorted(other.sources(), |_| {})
    }
}

impl Eq for Aggregator {}

impl Aggregator {
    pub fn new() -> Self {
        Self::default()
    }

    /// An aggregator that keeps only `shard`'s part of whatever it observes.
    pub fn for_shard(shard: Shard) -> Self {
        Aggregator {
            shard,
            ..Self::default()
        }
    }

    pub fn shard(&self) -> Shard {
        self.shard
    }

    pub fn observe(&mut self, ev: &Event<'_>) {
        self.observe_hashed(&Observation::of(ev));
    }

    /// [`Self::observe`] with the addresses already hashed; keeps only this
    /// aggregator's shard of it.
    #[inline]
    pub fn observe_hashed(&mut self, o: &Observation) {
        let secs = o.ts.secs();
        if self.shard.owns_source(o) {
            self.counts.count(o.class, o.ts);
            // A frame without IP has no source address worth keeping.
            if o.class != Class::Other(OtherKind::NotIp) {
                let day = secs - secs.rem_euclid(BucketWidth::Day.secs());
                self.sources.observe(o, day);
            }
        }
        self.observe_minute(o);
    }

    /// Observes a run of events: the same as [`Self::observe_hashed`] on
    /// each in turn, but faster: source-days are updated a source at a time,
    /// which their order-blind state allows, so each is looked up in the
    /// large source map once per run instead of once per event. Port-minutes
    /// are still updated in input order: their top-k is not order-blind once
    /// full.
    pub fn observe_all(&mut self, obs: &[Observation]) {
        let mut ours = std::mem::take(&mut self.ours);
        ours.clear();
        for (i, o) in obs.iter().enumerate() {
            let secs = o.ts.secs();
            if self.shard.owns_source(o) {
                self.counts.count(o.class, o.ts);
                if o.class != Class::Other(OtherKind::NotIp) {
                    ours.push((i as u32, secs - secs.rem_euclid(BucketWidth::Day.secs())));
                }
            }
            self.observe_minute(o);
        }
        self.sources.observe_grouped(obs, &ours);
        self.ours = ours;
    }

    #[inline]
    fn observe_minute(&mut self, o: &Observation) {
        if let Some(key) = SeriesKey::of(o)
            && self.shard.owns_minute(&key)
        {
            self.minutes.observe(key, o);
        }
    }

    /// Counts one first contact by `src` at `ts` (the time of its SYN, so
    /// it lands on the day the attempt was made) that succeeded or failed.
    /// It is not a record: the packets that made it were observed already.
    pub fn first_contact(&mut self, src: IpAddr, ts: Timestamp, ok: bool) {
        let secs = ts.secs();
        let key = SourceKey {
            addr: src,
            day: secs - secs.rem_euclid(BucketWidth::Day.secs()),
        };
        let mut outcome = SourceStats::default();
        if ok {
            outcome.first_contacts_ok = 1;
        } else {
            outcome.first_contacts_failed = 1;
        }
        self.sources.merge(key, &outcome);
    }

    pub fn drop_record(&mut self, reason: DropReason) {
        self.counts.drop_record(reason);
    }

    pub fn counts(&self) -> &ClassCounts {
        &self.counts
    }

    /// Minute buckets currently held (not yet drained), each key once.
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

    /// Adds everything `other` holds (whatever its shard).
    pub fn merge(&mut self, other: &Aggregator) {
        for (k, v) in other.minutes() {
            self.minutes.merge(*k, v);
        }
        for (k, v) in other.sources() {
            self.sources.merge(*k, v);
        }
        self.counts.merge(&other.counts);
    }

    /// Takes out everything that ended before `before` (Unix seconds): minute
    /// buckets that start earlier and source-days that end by then, with the
    /// record counts so far. What stays is still open; data that arrives late
    /// for a drained minute starts a new bucket that the store merges into the
    /// old one (rule 1).
    pub fn drain_closed(&mut self, id: BatchId, before: i64) -> Batch {
        let minutes = self.minutes.drain(before);
        let sources = self.sources.drain(before);
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

impl Batch {
    /// Adds a batch drained from another [`Shard`] of the same stream: no
    /// key is in both, so the sorted lists interleave.
    pub fn absorb(&mut self, other: Batch) {
        self.minutes = merge_sorted(std::mem::take(&mut self.minutes), other.minutes);
        self.sources = merge_sorted(std::mem::take(&mut self.sources), other.sources);
        self.counts.merge(&other.counts);
    }
}
