//! Port-minute buckets, kept small where every packet looks.
//!
//! Input arrives roughly in time order, so nearly every packet lands in one
//! of the last two minutes. Those minutes' buckets (a few hundred to a few
//! thousand) live in one small map per open minute, which stays in cache;
//! when the newest minute moves on, an older minute's map is emptied once
//! into a `closed` list that waits for the next drain, and the empty map is
//! kept for a later minute. A packet for an already closed minute (late
//! data) is still counted in its own bucket, found through an index of the
//! closed list, so a key is never both open and closed. With one map for a
//! whole batch, every packet looked up a table of a hundred thousand buckets
//! and most lookups missed the cache; with one map for all open minutes,
//! taking the old minutes out left tombstones that made the map rehash
//! itself every few thousand inserts (7% of a worker's time).

use std::collections::HashMap;

use crate::bucket::{PortBucket, SeriesKey};
use crate::observation::Observation;
use crate::sort::sort_by_key_indirect;
use foldhash::fast::RandomState;

/// How far behind the newest minute a minute stays open (seconds): packets
/// reordered by less than this still find their bucket in the small map.
const OPEN_SECS: i64 = 60;

/// Room for top sources in an open minute's bucket, cut to
/// [`crate::TOP_SOURCES`] when the minute closes. A busy port sees hundreds
/// of sources a minute; with 32 slots nearly every packet evicted one, and
/// past the first few the stored top sources were whoever came last, with
/// errors as large as their counts (and so were the whole run's, merged
/// from them). With room for all of a minute's sources the counts are exact
/// and the cut keeps the minute's true top 32, each with error 0. The room
/// is taken as sources arrive (40 bytes each, and an index of 16 bytes a
/// slot past 32), so only a bucket that really sees a thousand sources in
/// its minute holds ~56 KiB, and only while its minute is open (the last
/// two minutes).
const OPEN_TOP_SOURCES: usize = 1024;

/// The buckets of one minute.
type MinuteMap = HashMap<SeriesKey, PortBucket, RandomState>;

#[derive(Debug, Clone)]
pub(crate) struct MinuteTable {
    /// The open minutes (start, buckets): a handful at most, usually two.
    open: Vec<(i64, MinuteMap)>,
    /// Emptied maps of closed minutes, reused with their capacity.
    spare: Vec<MinuteMap>,
    /// Closed buckets in the order they closed; a bucket is a few hundred
    /// bytes, and a list moves each one once where a map moved it twice.
    closed: Vec<(SeriesKey, PortBucket)>,
    /// Where each closed key is in `closed`, for late data; made when the
    /// first late packet comes (time-ordered input never needs it, and
    /// keeping it up to date cost a hash insert per bucket).
    closed_at: Option<HashMap<SeriesKey, usize, RandomState>>,
    /// Buckets that start before this are in `closed`.
    horizon: i64,
    /// The latest bucket start observed.
    newest: i64,
}

impl Default for MinuteTable {
    fn default() -> Self {
        MinuteTable {
            open: Vec::new(),
            spare: Vec::new(),
            closed: Vec::new(),
            closed_at: None,
            horizon: i64::MIN,
            newest: i64::MIN,
        }
    }
}

impl MinuteTable {
    #[inline]
    pub(crate) fn observe(&mut self, key: SeriesKey, o: &Observation) {
        if key.start > self.newest {
            self.newest = key.start;
            self.close_before(key.start.saturating_sub(OPEN_SECS));
        }
        self.bucket(key).observe_hashed(o);
    }

    pub(crate) fn merge(&mut self, key: SeriesKey, b: &PortBucket) {
        self.bucket(key).merge(b);
    }

    #[inline]
    fn bucket(&mut self, key: SeriesKey) -> &mut PortBucket {
        if key.start >= self.horizon {
            let at = match self.open.iter().rposition(|(start, _)| *start == key.start) {
                Some(at) => at,
                None => {
                    let map = self.spare.pop().unwrap_or_default();
                    self.open.push((key.start, map));
                    self.open.len() - 1
                }
            };
            return self.open[at]
                .1
                .entry(key)
                .or_insert_with(|| PortBucket::with_top_capacity(OPEN_TOP_SOURCES));
        }
        let closed = &mut self.closed;
        let index = self.closed_at.get_or_insert_with(|| {
            closed
                .iter()
                .enumerate()
                .map(|(i, (k, _))| (*k, i))
                .collect()
        });
        let at = *index.entry(key).or_insert_with(|| {
            closed.push((key, PortBucket::default()));
            closed.len() - 1
        });
        &mut closed[at].1
    }

    /// Moves open buckets that start before `horizon` to `closed`.
    fn close_before(&mut self, horizon: i64) {
        if horizon <= self.horizon {
            return;
        }
        self.horizon = horizon;
        let mut i = 0;
        while i < self.open.len() {
            if self.open[i].0 >= horizon {
                i += 1;
                continue;
            }
            let (_, mut map) = self.open.swap_remove(i);
            for (k, mut v) in map.drain() {
                v.settle();
                if let Some(index) = &mut self.closed_at {
                    index.insert(k, self.closed.len());
                }
                self.closed.push((k, v));
            }
            self.spare.push(map);
        }
    }

    /// Takes the open minutes that start before `before` out, emptying
    /// their maps into `out`.
    fn drain_open(&mut self, before: i64, out: &mut Vec<(SeriesKey, PortBucket)>) {
        let mut i = 0;
        while i < self.open.len() {
            if self.open[i].0 >= before {
                i += 1;
                continue;
            }
            let (_, mut map) = self.open.swap_remove(i);
            out.extend(map.drain().map(|(k, mut v)| {
                v.settle();
                (k, v)
            }));
            self.spare.push(map);
        }
    }

    /// Takes out every bucket that starts before `before`, sorted by key.
    pub(crate) fn drain(&mut self, before: i64) -> Vec<(SeriesKey, PortBucket)> {
        let mut out = if self.closed.iter().all(|(k, _)| k.start < before) {
            self.closed_at = None;
            // The next batch will close about as many: growing the list
            // by doubling again cost a copy of it and fresh pages each time.
            let next = Vec::with_capacity(self.closed.len() + self.closed.len() / 4);
            std::mem::replace(&mut self.closed, next)
        } else {
            let out: Vec<_> = self
                .closed
                .extract_if(.., |(k, _)| k.start < before)
                .collect();
            // Positions moved; the index is made again if needed.
            self.closed_at = None;
            out
        };
        self.drain_open(before, &mut out);
        sort_by_key_indirect(&mut out);
        out
    }

    /// Every bucket, in no particular order; each key once. Open minutes'
    /// top sources still have their wide room (see [`OPEN_TOP_SOURCES`]):
    /// a valid summary, and the same whatever else is open.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&SeriesKey, &PortBucket)> {
        self.closed
            .iter()
            .map(|(k, v)| (k, v))
            .chain(self.open.iter().flat_map(|(_, map)| map.iter()))
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.open.iter().all(|(_, map)| map.is_empty()) && self.closed.is_empty()
    }
}
