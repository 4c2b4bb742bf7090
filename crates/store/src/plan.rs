//! How a batch's minutes become rows of every width, independent of the
//! database.
//!
//! A batch is merged one UTC hour of minutes at a time (so memory stays
//! bounded by an hour of data however large the batch): each hour's minutes
//! are rolled up into 5-minute buckets, those into the hour's buckets, and
//! the hours of a whole UTC day into day buckets. Every bucket carries how
//! many of its minutes the batch brought *newly* into the store, so that the
//! stored count of active minutes stays right when late data (rule 1) lands
//! in a minute that already exists.

use std::collections::HashMap;

use portwatch_aggregate::{Batch, PortBucket, SeriesKey, rollup};
use portwatch_core::{BucketWidth, Timestamp};

/// One row about to be written: the batch's bucket, later merged with what
/// the store held under the same key.
#[derive(Debug, Clone)]
pub(crate) struct Staged {
    pub key: SeriesKey,
    pub bucket: PortBucket,
    /// Minutes in this bucket that held nothing before this batch. For a
    /// minute row it starts at 1 and drops to 0 when the minute exists.
    pub new_minutes: u64,
    /// Active minutes in the store before this batch.
    pub old_active: u64,
}

impl Staged {
    /// Merges what the store held under this key.
    pub(crate) fn absorb(&mut self, width: BucketWidth, mut old: PortBucket, old_active: u64) {
        old.merge(&self.bucket);
        self.bucket = old;
        self.old_active = old_active;
        if width == BucketWidth::Minute {
            self.new_minutes = 0;
        }
    }

    pub(crate) fn active(&self) -> u64 {
        self.old_active.saturating_add(self.new_minutes)
    }
}

/// A batch's minute buckets ordered by time (then class and port).
pub(crate) fn by_time(batch: &Batch) -> Vec<&(SeriesKey, PortBucket)> {
    let mut v: Vec<_> = batch.minutes.iter().collect();
    v.sort_unstable_by_key(|(k, _)| (k.start, k.class, k.port));
    v
}

/// Splits time-ordered minutes into runs that share a bucket of `width`.
pub(crate) fn runs<'a, 'b>(
    minutes: &'b [&'a (SeriesKey, PortBucket)],
    width: BucketWidth,
) -> impl Iterator<Item = &'b [&'a (SeriesKey, PortBucket)]> {
    let slot = move |k: &SeriesKey| Timestamp::from_secs(k.start).bucket_start(width);
    minutes.chunk_by(move |a, b| slot(&a.0) == slot(&b.0))
}

/// Rolls `minutes` up to `width` and stages the rows, each with its count of
/// new minutes from `new` (for minute rows: 1, until the store says otherwise).
pub(crate) fn stage(
    minutes: &[&(SeriesKey, PortBucket)],
    width: BucketWidth,
    new: &HashMap<SeriesKey, u64>,
) -> Vec<Staged> {
    if width == BucketWidth::Minute {
        // Each minute is its own row: a copy, not a merge into an empty
        // bucket (the same value, without the merge's work).
        let mut rows: Vec<(SeriesKey, PortBucket)> =
            minutes.iter().map(|e| (e.0, e.1.clone())).collect();
        rows.sort_unstable_by_key(|(key, _)| *key);
        return staged(rows, width, new);
    }
    staged(
        rollup(minutes.iter().map(|e| (&e.0, &e.1)), width),
        width,
        new,
    )
}

/// [`stage`] from rows of a finer width that hold the batch's buckets alone
/// (not yet merged with the store): an hour from its twelve 5-minute rows
/// instead of its sixty minutes. Distinct counts come out the same either
/// way; top sources within their bounds (their merge beyond capacity
/// depends on grouping).
pub(crate) fn stage_rows(
    rows: &[Staged],
    width: BucketWidth,
    new: &HashMap<SeriesKey, u64>,
) -> Vec<Staged> {
    staged(
        rollup(rows.iter().map(|s| (&s.key, &s.bucket)), width),
        width,
        new,
    )
}

/// Rows about to be written from buckets already of `width`, sorted by key.
pub(crate) fn staged(
    rolled: Vec<(SeriesKey, PortBucket)>,
    width: BucketWidth,
    new: &HashMap<SeriesKey, u64>,
) -> Vec<Staged> {
    rolled
        .into_iter()
        .map(|(key, bucket)| Staged {
            new_minutes: if width == BucketWidth::Minute {
                1
            } else {
                new.get(&key).copied().unwrap_or(0)
            },
            key,
            bucket,
            old_active: 0,
        })
        .collect()
}

/// Counts, per bucket of `width`, the minute rows that were new.
pub(crate) fn count_new(
    minutes: &[Staged],
    width: BucketWidth,
    into: &mut HashMap<SeriesKey, u64>,
) {
    for s in minutes.iter().filter(|s| s.new_minutes > 0) {
        let key = SeriesKey {
            start: Timestamp::from_secs(s.key.start).bucket_start(width),
            ..s.key
        };
        *into.entry(key).or_default() += 1;
    }
}
