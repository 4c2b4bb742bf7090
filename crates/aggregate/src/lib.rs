//! Mergeable aggregates: what a sensor computes from classified events.
//!
//! An [`Aggregator`] folds [`Event`](portwatch_core::Event)s into
//! * a [`PortBucket`] per (class, protocol, port, UTC minute): packets, bytes,
//!   distinct sources, distinct targets, top sources, first and last seen —
//!   for scan probes and, separately, for backscatter (rule 8);
//! * a [`SourceStats`] per (source address, UTC day): first/last seen,
//!   packets, ports touched, distinct targets, and probes per scanning tool
//!   ([`ToolCounts`], from the fingerprints of `portwatch_scanners`);
//! * [`ClassCounts`]: every record counted by class, other-kind and drop
//!   reason (rule 4: nothing lost silently).
//!
//! Everything merges (rule 2): counters add, sketches merge, first/last seen
//! take min/max, so aggregating a stream whole equals merging the aggregates of
//! any split of it (the property tests in `tests/merge.rs` check exactly this).
//! Coarser buckets are [`rollup`]s of minutes. No I/O and no clock here: time
//! is the events' own.
//!
//! For speed, an event can be reduced once to an [`Observation`] (addresses
//! hashed once for every sketch it feeds), and the work can be split between
//! threads by [`Shard`]: each sees every event but keeps disjoint keys, so
//! their batches are concatenated, never merged.

mod aggregator;
mod bucket;
mod counts;
mod minutes;
mod observation;
mod sort;
mod source;
mod sources;
mod tools;

pub use aggregator::{Aggregator, Batch, BatchId};
pub use bucket::{PortBucket, PortTotals, SeriesClass, SeriesKey, rollup};
pub use counts::ClassCounts;
pub use observation::{Observation, Shard};
pub use sort::MergeSorted;
pub use source::{SourceKey, SourceStats};
pub use tools::ToolCounts;

/// How many heavy hitters each bucket keeps (exact while a bucket has at most
/// this many distinct sources).
pub const TOP_SOURCES: usize = 32;
