//! Port-minute buckets, kept small where every packet looks.
//!
//! Input arrives roughly in time order, so nearly every packet lands in one
//! of the last two minutes. Those minutes' buckets (a few hundred to a few
//! thousand) live in a small `open` map that stays in cache; when the
//! newest minute moves on, older buckets move once to a `closed` list that
//! waits for the next drain. A packet for an already closed minute (late
//! data) is still counted in its own bucket, found through an index of the
//! closed list, so a key is never both open and closed. With one map for a whole batch, every packet looked up a
//! table of a hundred thousand buckets and most lookups missed the cache.

use std::collections::HashMap;

use foldhash::fast::RandomState;

use crate::bucket::{PortBucket, SeriesKey};
use crate::observation::Observation;
use crate::sort::sort_by_key_indirect;

/// How far behind the newest minute a minute stays open (seconds): packets
/// reordered by less than this still find their bucket in the small map.
const OPEN_SECS: i64 = 60;

#[derive(Debug, Clone)]
pub(crate) struct MinuteTable {
    open: HashMap<SeriesKey, PortBucket, RandomState>,
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
            open: HashMap::default(),
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
            return self.open.entry(key).or_default();
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
        for (k, v) in self.open.extract_if(|k, _| k.start < horizon) {
            if let Some(index) = &mut self.closed_at {
                index.insert(k, self.closed.len());
            }
            self.closed.push((k, v));
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
        out.extend(self.open.extract_if(|k, _| k.start < before));
        sort_by_key_indirect(&mut out);
        out
    }

    /// Every bucket, in no particular order; each key once.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&SeriesKey, &PortBucket)> {
        self.closed
            .iter()
            .map(|(k, v)| (k, v))
            .chain(self.open.iter())
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.open.is_empty() && self.closed.is_empty()
    }
}
