//! Per-port time buckets.

use portwatch_core::{BucketWidth, Class, Event, PortKey, Timestamp};
use portwatch_sketch::{DistinctCounter, TopK};
use serde::{Deserialize, Serialize};

use crate::TOP_SOURCES;
use crate::observation::Observation;

/// Which kind of series a bucket belongs to: scanning, or replies to spoofed
/// traffic. "Other" events have no series.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SeriesClass {
    Probe,
    Backscatter,
}

impl SeriesClass {
    pub fn of(class: Class) -> Option<SeriesClass> {
        match class {
            Class::Probe => Some(SeriesClass::Probe),
            Class::Backscatter => Some(SeriesClass::Backscatter),
            Class::Other(_) => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            SeriesClass::Probe => "probe",
            SeriesClass::Backscatter => "backscatter",
        }
    }

    pub fn from_str_opt(s: &str) -> Option<SeriesClass> {
        match s {
            "probe" => Some(SeriesClass::Probe),
            "backscatter" => Some(SeriesClass::Backscatter),
            _ => None,
        }
    }
}

/// Identifies one bucket of one series. `start` is the bucket's first second
/// (Unix time, UTC-aligned to the bucket width the container holds).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SeriesKey {
    pub class: SeriesClass,
    pub port: PortKey,
    pub start: i64,
}

impl SeriesKey {
    /// The minute bucket `o` counts in, if it counts in a series.
    #[inline]
    pub fn of(o: &Observation) -> Option<SeriesKey> {
        let (class, port) = (SeriesClass::of(o.class)?, o.key?);
        let secs = o.ts.secs();
        Some(SeriesKey {
            class,
            port,
            start: secs - secs.rem_euclid(BucketWidth::Minute.secs()),
        })
    }
}

/// What one series saw in one bucket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortBucket {
    pub packets: u64,
    /// Sum of IP lengths as on the wire.
    pub bytes: u64,
    pub sources: DistinctCounter,
    pub targets: DistinctCounter,
    pub top_sources: TopK,
    pub first_seen: Timestamp,
    pub last_seen: Timestamp,
}

impl Default for PortBucket {
    fn default() -> Self {
        PortBucket {
            packets: 0,
            bytes: 0,
            sources: DistinctCounter::new(),
            targets: DistinctCounter::new(),
            top_sources: TopK::new(TOP_SOURCES),
            first_seen: Timestamp(i64::MAX),
            last_seen: Timestamp(i64::MIN),
        }
    }
}

impl PortBucket {
    /// An empty bucket whose top sources have room for `top` sources until
    /// [`Self::settle`] cuts them to [`TOP_SOURCES`].
    pub(crate) fn with_top_capacity(top: usize) -> Self {
        PortBucket {
            top_sources: TopK::new(top),
            ..Self::default()
        }
    }

    /// Cuts the top sources to the [`TOP_SOURCES`] a stored bucket keeps.
    pub(crate) fn settle(&mut self) {
        self.top_sources.shrink_to(TOP_SOURCES);
    }

    pub fn observe(&mut self, ev: &Event<'_>) {
        self.observe_hashed(&Observation::of(ev));
    }

    /// [`Self::observe`] with the addresses already hashed.
    #[inline]
    pub fn observe_hashed(&mut self, o: &Observation) {
        self.packets += 1;
        self.bytes += u64::from(o.ip_len);
        self.sources.insert_hash(o.src_hash);
        self.targets.insert_hash(o.dst_hash);
        self.top_sources.add(o.src, 1);
        self.first_seen = self.first_seen.min(o.ts);
        self.last_seen = self.last_seen.max(o.ts);
    }

    pub fn merge(&mut self, other: &PortBucket) {
        self.packets += other.packets;
        self.bytes += other.bytes;
        self.sources.merge(&other.sources);
        self.targets.merge(&other.targets);
        self.top_sources.merge(&other.top_sources);
        self.first_seen = self.first_seen.min(other.first_seen);
        self.last_seen = self.last_seen.max(other.last_seen);
    }
}

/// Buckets merged per (class, port) over a whole run: what a report's port
/// table shows.
pub type PortTotals = std::collections::HashMap<
    (SeriesClass, portwatch_core::PortKey),
    PortBucket,
    foldhash::fast::RandomState,
>;

/// Rolls buckets up into coarser buckets of `width` (5 minutes, an hour, a
/// day): buckets whose start falls into the same coarser bucket merge. The
/// input may hold any finer width; the output is sorted by key.
pub fn rollup<'a, I>(buckets: I, width: BucketWidth) -> Vec<(SeriesKey, PortBucket)>
where
    I: IntoIterator<Item = (&'a SeriesKey, &'a PortBucket)>,
{
    let mut out: std::collections::BTreeMap<SeriesKey, PortBucket> = Default::default();
    for (key, bucket) in buckets {
        let coarse = SeriesKey {
            start: Timestamp::from_secs(key.start).bucket_start(width),
            ..*key
        };
        out.entry(coarse).or_default().merge(bucket);
    }
    out.into_iter().collect()
}
