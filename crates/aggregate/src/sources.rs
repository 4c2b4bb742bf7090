//! Source-days, in one table per UTC day, looked up with the hash the event
//! already carries.
//!
//! The source tables are the one large structure every packet touches (a
//! day of a busy darknet has hundreds of thousands of sources), and they do
//! not fit in cache, so a lookup costs its cache misses and little else.
//! Three things keep that down:
//! * the hash is the source address's [`hash_ip`], computed once per event;
//! * events are grouped by source-day before they are applied (see
//!   [`SourceMap::observe_grouped`]), so each is looked up once per run of
//!   events rather than once per event;
//! * lookups for several groups are issued together, so their misses
//!   overlap instead of following one another.
//!
//! A table per day also makes closing a day a matter of taking its table.

use std::net::IpAddr;

use portwatch_sketch::{hash_ip, prefetch};

use crate::observation::Observation;
use crate::source::{Hit, SourceKey, SourceStats};

/// Groups whose lookups are issued together.
const LOOKAHEAD: usize = 16;

#[derive(Debug, Clone, Default)]
pub(crate) struct SourceMap {
    days: Days,
    grouper: Grouper,
}

#[derive(Debug, Clone, Default)]
struct Days {
    /// Usually one or two: the current day and, around midnight, the last.
    tables: Vec<DayTable>,
    /// Source-days in the last day drained, to size the next day's index
    /// (growing it by doubling hashed every entry again, again and again).
    last_len: usize,
    /// The latest day a table was made for; only a new latest day gets the
    /// size hint (a day seen again through late data is small).
    newest: Option<i64>,
}

impl Days {
    /// The position of `day`'s table, made if missing.
    fn position(&mut self, day: i64) -> usize {
        if let Some(at) = self.tables.iter().position(|t| t.day == day) {
            return at;
        }
        let expected = if self.newest.is_none_or(|d| day > d) {
            self.newest = Some(day);
            self.last_len
        } else {
            0
        };
        self.tables.push(DayTable::new(day, expected));
        self.tables.len() - 1
    }
}

/// The source-days of one day: entries in insertion order, and an
/// open-addressing index over them.
#[derive(Debug, Clone)]
struct DayTable {
    day: i64,
    /// The high half of the address hash << 32 | (position in `entries` +
    /// 1); 0 is an empty slot. At most half full.
    index: Vec<u64>,
    entries: Segmented<(SourceKey, SourceStats)>,
}

impl DayTable {
    /// A table for `day`, sized for about `expected` sources.
    fn new(day: i64, expected: usize) -> DayTable {
        DayTable {
            day,
            index: vec![0; (2 * expected + 1).next_power_of_two().max(1024)],
            entries: Segmented::default(),
        }
    }

    /// Where `addr` is in `entries`, adding it first if new. `hash` is
    /// `hash_ip(addr)`.
    #[inline]
    fn position(&mut self, hash: u64, addr: IpAddr) -> usize {
        let mask = self.index.len() - 1;
        let tag = hash >> 32;
        let mut i = hash as usize & mask;
        loop {
            let v = self.index[i];
            if v == 0 {
                break;
            }
            if v >> 32 == tag {
                let at = (v as u32 - 1) as usize;
                if self.entries[at].0.addr == addr {
                    return at;
                }
            }
            i = (i + 1) & mask;
        }
        let at = self.entries.len();
        self.entries.push((
            SourceKey {
                addr,
                day: self.day,
            },
            SourceStats::default(),
        ));
        self.index[i] = tag << 32 | (at as u64 + 1);
        if self.entries.len() * 2 > self.index.len() {
            self.grow();
        }
        at
    }

    /// The index slot a lookup of `hash` starts at.
    #[inline]
    fn first_slot(&self, hash: u64) -> &u64 {
        &self.index[hash as usize & (self.index.len() - 1)]
    }

    /// Asks for the entry that the first index slot of `hash` names, when
    /// its tag matches (the usual case for a source seen before).
    #[inline]
    fn prefetch_entry(&self, hash: u64) {
        let v = *self.first_slot(hash);
        if v >> 32 == hash >> 32 && v != 0 {
            prefetch(&self.entries[(v as u32 - 1) as usize]);
        }
    }

    fn grow(&mut self) {
        let len = self.index.len() * 2;
        let mask = len - 1;
        let mut index = vec![0u64; len];
        for (at, (key, _)) in self.entries.iter().enumerate() {
            let hash = hash_ip(key.addr);
            let mut i = hash as usize & mask;
            while index[i] != 0 {
                i = (i + 1) & mask;
            }
            index[i] = (hash >> 32) << 32 | (at as u64 + 1);
        }
        self.index = index;
    }
}

/// Bits of a position that index within a segment.
const SEGMENT_BITS: u32 = 12;

/// A list in fixed segments of 4096: growing it never moves an entry.
/// One `Vec` of the day's 170k source-days, grown by doubling, copied
/// ~35 MB again at each step and faulted fresh pages in for it (~9% of a
/// worker's time); now each entry is moved once, when its day is drained.
#[derive(Debug, Clone)]
struct Segmented<T> {
    segments: Vec<Vec<T>>,
    len: usize,
}

impl<T> Default for Segmented<T> {
    fn default() -> Self {
        Segmented {
            segments: Vec::new(),
            len: 0,
        }
    }
}

impl<T> Segmented<T> {
    fn len(&self) -> usize {
        self.len
    }

    fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn push(&mut self, v: T) {
        if self.len & ((1 << SEGMENT_BITS) - 1) == 0 {
            self.segments.push(Vec::with_capacity(1 << SEGMENT_BITS));
        }
        if let Some(last) = self.segments.last_mut() {
            last.push(v);
        }
        self.len += 1;
    }

    fn iter(&self) -> impl Iterator<Item = &T> {
        self.segments.iter().flatten()
    }

    /// The segments, in order, to be emptied one by one.
    fn into_segments(self) -> Vec<Vec<T>> {
        self.segments
    }
}

impl<T> std::ops::Index<usize> for Segmented<T> {
    type Output = T;

    #[inline]
    fn index(&self, at: usize) -> &T {
        &self.segments[at >> SEGMENT_BITS][at & ((1 << SEGMENT_BITS) - 1)]
    }
}

impl<T> std::ops::IndexMut<usize> for Segmented<T> {
    #[inline]
    fn index_mut(&mut self, at: usize) -> &mut T {
        &mut self.segments[at >> SEGMENT_BITS][at & ((1 << SEGMENT_BITS) - 1)]
    }
}

/// Scratch space for [`SourceMap::observe_grouped`], kept between calls so
/// that grouping allocates nothing in steady state.
#[derive(Clone, Default)]
struct Grouper {
    /// Open-addressing table: group number + 1, or 0 when empty.
    slots: Vec<u32>,
    /// Per group: which source-day.
    keys: Vec<GroupKey>,
    /// Per group: member count, then end in `hits`, then start.
    sizes: Vec<u32>,
    /// Per member (in input order): its group.
    group_of: Vec<u32>,
    /// The members' events, grouped.
    hits: Vec<Hit>,
}

impl std::fmt::Debug for Grouper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Grouper")
    }
}

impl SourceMap {
    fn table(&mut self, day: i64) -> &mut DayTable {
        let at = self.days.position(day);
        &mut self.days.tables[at]
    }

    pub(crate) fn observe(&mut self, o: &Observation, day: i64) {
        let t = self.table(day);
        let at = t.position(o.src_hash, o.src);
        t.entries[at].1.observe_hashed(o);
    }

    /// Observes `obs[i]` for every `(i, day)` in `members`, all of them IP
    /// events this map keeps, `day` being the start of the event's day.
    /// Equal to observing them one by one, since a source-day's state does
    /// not depend on the order of its events (sums, min/max and sets); but
    /// each source-day is looked up once per call instead of once per event:
    /// within 64k packets of the test capture a source sends 3.5 packets on
    /// average, and the busiest ones hundreds.
    pub(crate) fn observe_grouped(&mut self, obs: &[Observation], members: &[(u32, i64)]) {
        if members.is_empty() {
            return;
        }
        let g = &mut self.grouper;
        g.group(obs, members);
        let groups = g.keys.len();
        // (day table, entry position) of each group in a block.
        let mut at = [(0usize, 0usize); LOOKAHEAD];
        for block in (0..groups).step_by(LOOKAHEAD) {
            let block = block..(block + LOOKAHEAD).min(groups);
            // Each lookup's misses are asked for a step ahead, for the whole
            // block at once, so they overlap instead of following one
            // another: first the index slots where the lookups start, ...
            for (k, group) in block.clone().enumerate() {
                let key = &g.keys[group];
                let t = self.days.position(key.day);
                prefetch(self.days.tables[t].first_slot(key.src_hash));
                at[k].0 = t;
            }
            // ... then the entries they name (all four lines: the update
            // writes the counters, the port set and the target set), ...
            for (k, group) in block.clone().enumerate() {
                self.days.tables[at[k].0].prefetch_entry(g.keys[group].src_hash);
            }
            for (k, group) in block.clone().enumerate() {
                let key = &g.keys[group];
                at[k].1 = self.days.tables[at[k].0].position(key.src_hash, key.src);
            }
            // ... then the target-set slots the updates will write: a busy
            // source's set is kilobytes, out of cache by its next group.
            for (k, group) in block.clone().enumerate() {
                let (t, pos) = at[k];
                let targets = &self.days.tables[t].entries[pos].1.targets;
                for hit in g.hits(group) {
                    targets.prefetch(hit.dst_hash);
                }
            }
            for (k, group) in block.enumerate() {
                let (t, pos) = at[k];
                let stats = &mut self.days.tables[t].entries[pos].1;
                for hit in g.hits(group) {
                    stats.observe_hit(hit);
                }
            }
        }
    }

    pub(crate) fn merge(&mut self, key: SourceKey, s: &SourceStats) {
        let t = self.table(key.day);
        let at = t.position(hash_ip(key.addr), key.addr);
        t.entries[at].1.merge(s);
    }

    /// Takes out the source-days of days that end by `before` (Unix
    /// seconds), sorted by key.
    ///
    /// Each entry is moved once, straight to its sorted place, and each
    /// segment is freed as soon as it is emptied, so the day is never held
    /// twice. Appending the segments to one list and sorting that in place
    /// moved the day's 50 MB (170k source-days in the benchmark) three
    /// times, into freshly faulted pages: a twelfth of a worker's time.
    pub(crate) fn drain(&mut self, before: i64) -> Vec<(SourceKey, SourceStats)> {
        let closed: Vec<DayTable> = self
            .days
            .tables
            .extract_if(.., |t| t.day.saturating_add(86_400) <= before)
            .collect();
        if let Some(last) = closed.last() {
            self.days.last_len = last.entries.len();
        }
        // Where each entry, in table and segment order, goes.
        let mut order: Vec<(SourceKey, u32)> = closed
            .iter()
            .flat_map(|t| t.entries.iter().map(|(key, _)| *key))
            .enumerate()
            .map(|(at, key)| (key, at as u32))
            .collect();
        order.sort_unstable_by_key(|o| o.0);
        let mut rank = vec![0u32; order.len()];
        for (r, &(_, at)) in order.iter().enumerate() {
            rank[at as usize] = r as u32;
        }
        let mut out = Vec::with_capacity(order.len());
        // Placeholders own nothing on the heap; every one is overwritten.
        out.resize_with(order.len(), || (order[0].0, SourceStats::default()));
        drop(order);
        let mut ranks = rank.into_iter();
        for table in closed {
            for segment in table.entries.into_segments() {
                for (entry, r) in segment.into_iter().zip(ranks.by_ref()) {
                    out[r as usize] = entry;
                }
            }
        }
        out
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = (&SourceKey, &SourceStats)> {
        self.days
            .tables
            .iter()
            .flat_map(|t| t.entries.iter().map(|(k, v)| (k, v)))
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.days.tables.iter().all(|t| t.entries.is_empty())
    }
}

impl Grouper {
    /// Groups `members` by source-day: afterwards `keys` has one entry per
    /// group and [`Self::hits`] gives each group's events, copied next to
    /// one another (reading them from the chunk in group order missed the
    /// cache on most of them).
    fn group(&mut self, obs: &[Observation], members: &[(u32, i64)]) {
        let n = members.len();
        let bits = (2 * n).next_power_of_two().trailing_zeros().max(4);
        let mask = (1usize << bits) - 1;
        self.slots.clear();
        self.slots.resize(1 << bits, 0);
        self.keys.clear();
        self.sizes.clear();
        self.group_of.clear();
        for &(i, day) in members {
            let o = &obs[i as usize];
            let h = group_key(o.src_hash, day);
            let mut s = (h >> (64 - bits)) as usize;
            let group = loop {
                match self.slots[s] {
                    0 => {
                        self.keys.push(GroupKey {
                            hash: h,
                            src_hash: o.src_hash,
                            day,
                            src: o.src,
                        });
                        self.sizes.push(0);
                        self.slots[s] = self.keys.len() as u32;
                        break self.keys.len() - 1;
                    }
                    id if self.keys[id as usize - 1].is(h, o.src, day) => break id as usize - 1,
                    _ => s = (s + 1) & mask,
                }
            };
            self.sizes[group] += 1;
            self.group_of.push(group as u32);
        }
        // Counting sort by group: `sizes` become end offsets, then starts.
        let mut end = 0;
        for size in &mut self.sizes {
            end += *size;
            *size = end;
        }
        self.hits.clear();
        self.hits.resize(
            n,
            Hit {
                ts: portwatch_core::Timestamp(0),
                dst_hash: 0,
                ip_len: 0,
                key: None,
                class: portwatch_core::Class::Probe,
                tool: portwatch_scanners::Tool::Unknown,
            },
        );
        for (&(i, _), &group) in members.iter().zip(&self.group_of).rev() {
            let at = &mut self.sizes[group as usize];
            *at -= 1;
            self.hits[*at as usize] = Hit::of(&obs[i as usize]);
        }
    }

    /// Group `group`'s events.
    fn hits(&self, group: usize) -> &[Hit] {
        let start = self.sizes[group] as usize;
        let stop = self
            .sizes
            .get(group + 1)
            .map_or(self.hits.len(), |&s| s as usize);
        &self.hits[start..stop]
    }
}

/// One source-day of a [`Grouper`], compared in full: a group never mixes
/// two source-days, even with equal 64-bit keys.
#[derive(Debug, Clone, Copy)]
struct GroupKey {
    hash: u64,
    src_hash: u64,
    day: i64,
    src: IpAddr,
}

impl GroupKey {
    #[inline]
    fn is(&self, hash: u64, src: IpAddr, day: i64) -> bool {
        self.hash == hash && self.src == src && self.day == day
    }
}

/// A 64-bit key per source-day, for grouping only.
#[inline]
fn group_key(src_hash: u64, day: i64) -> u64 {
    src_hash ^ (day.div_euclid(86_400) as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15)
}

#[cfg(test)]
mod tests {
    use portwatch_core::{Class, Timestamp};

    use super::*;

    fn day_of(o: &Observation) -> i64 {
        let secs = o.ts.secs();
        secs - secs.rem_euclid(86_400)
    }

    fn obs(i: u32, day: i64) -> Observation {
        let src = if i.is_multiple_of(7) {
            IpAddr::from(u128::from(i).to_be_bytes())
        } else {
            IpAddr::from(i.to_be_bytes())
        };
        Observation {
            ts: Timestamp::from_secs(day + i64::from(i % 86_400)),
            src,
            src_hash: hash_ip(src),
            dst_hash: u64::from(i),
            class: Class::Probe,
            key: None,
            ip_len: 40,
            tool: portwatch_scanners::Tool::ALL[i as usize % 6],
        }
    }

    #[test]
    fn tables_grow_and_find_every_source_again() {
        let (d0, d1) = (1_700_006_400, 1_700_092_800);
        let mut map = SourceMap::default();
        let all: Vec<Observation> = (0..30_000u32)
            .flat_map(|i| [obs(i, d0), obs(i / 2, d1), obs(i, d0)])
            .collect();
        for chunk in all.chunks(4096) {
            let members: Vec<(u32, i64)> = chunk
                .iter()
                .enumerate()
                .map(|(i, o)| (i as u32, day_of(o)))
                .collect();
            map.observe_grouped(chunk, &members);
        }
        assert_eq!(map.days.tables.len(), 2);
        assert_eq!(map.days.tables[0].entries.len(), 30_000);
        assert_eq!(map.days.tables[1].entries.len(), 15_000);
        assert!(map.days.tables[0].index.len() >= 60_000);
        // Every source-day was seen twice, in separate chunks or not.
        assert!(map.iter().all(|(_, s)| s.probes == 2));
        // Both days drained at once: every source-day, in key order.
        let whole = map.clone().drain(i64::MAX);
        assert_eq!(whole.len(), 45_000);
        assert!(whole.windows(2).all(|w| w[0].0 < w[1].0));
        assert_eq!(whole.iter().map(|(_, s)| s.probes).sum::<u64>(), 90_000);
        let first = map.drain(d1);
        assert_eq!(first.len(), 30_000);
        assert!(first.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(first.iter().all(|(k, s)| k.day == d0 && s.probes == 2));
        let second = map.drain(i64::MAX);
        assert_eq!(second.iter().map(|(_, s)| s.probes).sum::<u64>(), 30_000);
        assert!(map.is_empty());
    }
}
