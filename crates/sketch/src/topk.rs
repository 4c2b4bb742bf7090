//! Heavy hitters over addresses: Space-Saving with a bound-preserving merge.
//!
//! Guarantees, for a summary of capacity `k` over a total `N` (the sum of
//! all counts added), after any mix of [`TopK::add`] and [`TopK::merge`]:
//!
//! * every reported `count` is an upper bound and `count - error` a lower
//!   bound of the key's true count, with `error <= N / k`;
//! * every key whose true count exceeds `N / k` is reported;
//! * while [`TopK::is_exact`] (no more distinct keys than `k` ever seen), the
//!   counts are exact and a merge equals adding both streams to one summary.
//!
//! Why they hold: a full summary's smallest count `min` bounds the true count
//! of every key it does not hold, and the counts never sum to more than `N`,
//! so `min <= N / k`. A merge adds the other side's `min` (0 while exact) to
//! keys only one side holds, keeps the `k` largest sums, and the argument
//! carries over (each side's counts for the kept keys still sum to at most its
//! own total).
//!
//! Beyond capacity a merge is commutative but not associative: how the parts
//! are grouped changes which marginal keys survive. The bounds above hold for
//! every grouping, which is what readers of merged series rely on.

use std::net::IpAddr;

use serde::Serialize;

use crate::SketchError;
use crate::wire::{self, KIND_TOPK, Reader};

/// Merges of at most this many exact entries into a full summary take the
/// in-place path ([`TopK::merge_small`]).
const SMALL_MERGE: usize = 8;

/// Adds to a summary holding at least this many slots find the key through
/// a [`FoldIndex`] instead of a scan, when their capacity is larger (the
/// default capacity never gets one).
const INDEX_FROM: usize = 32;

/// The largest capacity [`TopK::from_bytes`] accepts, so that hostile bytes
/// cannot ask for a huge allocation.
const MAX_CAPACITY: usize = 1 << 16;

/// One reported heavy hitter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct TopEntry {
    pub addr: IpAddr,
    /// Upper bound of the true count.
    pub count: u64,
    /// Maximum overestimate: the true count is at least `count - error`.
    pub error: u64,
}

/// Heavy hitters (top sources) with Space-Saving.
#[derive(Clone, Debug)]
pub struct TopK {
    total: u64,
    /// At most [`MAX_CAPACITY`].
    capacity: u32,
    exact: bool,
    /// In no particular order; compared and serialized sorted by address.
    slots: Slots,
    /// Who is evicted next, while full; not part of the value.
    next: Victims,
}

/// The slots with the smallest count, kept at `from..to` in ascending
/// address order, so that Space-Saving's eviction (smallest count, then
/// largest address) takes the last one instead of scanning every slot. A
/// busy port-minute sees hundreds of sources for 32 slots, so nearly every
/// packet evicted, and the scan per packet was the most expensive part of a
/// port-minute. Counts only grow, so a listed slot whose count is no longer
/// `floor` has simply left the list; when none is left the list is rebuilt.
#[derive(Clone, Copy, Debug, Default)]
struct Victims {
    floor: u64,
    from: u32,
    to: u32,
}

/// One key and its bounds, 40 bytes.
#[derive(Clone, Copy, Debug, Default)]
struct Slot {
    /// [`fold`] of the address: one integer compare per slot when looking up.
    fold: u64,
    count: u64,
    error: u64,
    /// The address bytes when IPv6 (the fold of an IPv4 address is the
    /// address itself); zero otherwise.
    v6: [u8; 16],
}

impl Slot {
    fn new(addr: IpAddr, count: u64, error: u64) -> Slot {
        Slot {
            fold: fold(addr),
            count,
            error,
            v6: match addr {
                IpAddr::V4(_) => [0; 16],
                IpAddr::V6(a) => a.octets(),
            },
        }
    }

    #[inline]
    fn addr(&self) -> IpAddr {
        if self.fold >> 63 == 0 {
            IpAddr::from((self.fold as u32).to_be_bytes())
        } else {
            IpAddr::from(self.v6)
        }
    }

    #[inline]
    fn is(&self, f: u64, key: IpAddr) -> bool {
        self.fold == f
            && match key {
                IpAddr::V4(_) => true,
                IpAddr::V6(a) => self.v6 == a.octets(),
            }
    }

    fn entry(&self) -> TopEntry {
        TopEntry {
            addr: self.addr(),
            count: self.count,
            error: self.error,
        }
    }
}

/// Slots with the first one inline: most port-minutes see one source, and a
/// summary per port-minute must not cost an allocation.
#[derive(Clone, Debug)]
enum Slots {
    Inline {
        len: u8,
        slot: [Slot; 1],
    },
    /// With, for a summary of many slots, where each key's slot is (not
    /// part of the value; see [`INDEX_FROM`]). It lives here rather than in
    /// [`TopK`], where it would make every port-minute 8 bytes larger.
    Heap(Vec<Slot>, Option<Box<FoldIndex>>),
}

impl Default for Slots {
    fn default() -> Self {
        Slots::Inline {
            len: 0,
            slot: [Slot::default()],
        }
    }
}

impl std::ops::Deref for Slots {
    type Target = [Slot];

    #[inline]
    fn deref(&self) -> &[Slot] {
        match self {
            Slots::Inline { len, slot } => &slot[..usize::from(*len)],
            Slots::Heap(v, _) => v,
        }
    }
}

impl std::ops::DerefMut for Slots {
    #[inline]
    fn deref_mut(&mut self) -> &mut [Slot] {
        match self {
            Slots::Inline { len, slot } => &mut slot[..usize::from(*len)],
            Slots::Heap(v, _) => v,
        }
    }
}

impl Slots {
    fn with_capacity(n: usize) -> Slots {
        if n <= 1 {
            Slots::default()
        } else {
            Slots::Heap(Vec::with_capacity(n), None)
        }
    }

    #[inline]
    fn push(&mut self, s: Slot) {
        match self {
            Slots::Inline { len: len @ 0, slot } => {
                slot[0] = s;
                *len = 1;
            }
            Slots::Inline { slot, .. } => {
                let mut v = Vec::with_capacity(4);
                v.push(slot[0]);
                v.push(s);
                *self = Slots::Heap(v, None);
            }
            Slots::Heap(v, _) => v.push(s),
        }
    }

    fn swap_remove(&mut self, i: usize) {
        match self {
            Slots::Inline { len, .. } => *len = 0,
            Slots::Heap(v, _) => {
                v.swap_remove(i);
            }
        }
    }

    fn truncate(&mut self, n: usize) {
        match self {
            Slots::Inline { len, .. } => *len = (*len).min(n as u8),
            Slots::Heap(v, _) => v.truncate(n),
        }
    }

    fn index_mut(&mut self) -> Option<&mut FoldIndex> {
        match self {
            Slots::Heap(_, Some(index)) => Some(index),
            _ => None,
        }
    }

    fn has_index(&self) -> bool {
        matches!(self, Slots::Heap(_, Some(_)))
    }

    /// Makes the index again from the slots.
    fn reindex(&mut self) {
        if let Slots::Heap(v, index) = self {
            *index = Some(FoldIndex::of(v));
        }
    }

    fn drop_index(&mut self) {
        if let Slots::Heap(_, index) = self {
            *index = None;
        }
    }

    /// Frees the room of a list that held many more slots than it keeps.
    fn release_spare(&mut self) {
        if let Slots::Heap(v, _) = self
            && v.capacity() > 2 * INDEX_FROM
            && v.capacity() > 2 * v.len()
        {
            v.shrink_to_fit();
        }
    }

    fn heap_bytes(&self) -> usize {
        match self {
            Slots::Inline { .. } => 0,
            Slots::Heap(v, index) => {
                v.capacity() * std::mem::size_of::<Slot>()
                    + index.as_ref().map_or(0, |ix| {
                        std::mem::size_of::<FoldIndex>() + 4 * ix.table.len()
                    })
            }
        }
    }
}

/// A 64-bit digest of an address, injective on IPv4 and disjoint between
/// families; lookups confirm a match on the full address.
#[inline]
fn fold(addr: IpAddr) -> u64 {
    match addr {
        IpAddr::V4(a) => u64::from(u32::from(a)),
        IpAddr::V6(a) => {
            let x = u128::from(a);
            ((x >> 64) as u64 ^ (x as u64).rotate_left(29)) | 1 << 63
        }
    }
}

/// Equal configuration and total, and the same entries whatever their order.
impl PartialEq for TopK {
    fn eq(&self, other: &Self) -> bool {
        self.capacity == other.capacity
            && self.total == other.total
            && self.exact == other.exact
            && self.sorted_entries() == other.sorted_entries()
    }
}

impl Eq for TopK {}

impl TopK {
    /// The capacity portwatch's aggregation uses.
    pub const DEFAULT_CAPACITY: usize = 32;

    /// A summary keeping at most `capacity` keys (clamped to 1..=65536).
    pub fn new(capacity: usize) -> Self {
        TopK {
            total: 0,
            capacity: capacity.clamp(1, MAX_CAPACITY) as u32,
            exact: true,
            slots: Slots::default(),
            next: Victims::default(),
        }
    }

    pub fn capacity(&self) -> usize {
        self.capacity as usize
    }

    /// Counts `count` more for `key`; a count of zero changes nothing.
    #[inline]
    pub fn add(&mut self, key: IpAddr, count: u64) {
        if count == 0 {
            return;
        }
        self.total = self.total.saturating_add(count);
        let f = fold(key);
        if let Some(i) = self.find(f, key) {
            let s = &mut self.slots[i];
            s.count = s.count.saturating_add(count);
        } else if self.slots.len() < self.capacity() {
            let at = self.slots.len();
            self.slots.push(Slot::new(key, count, 0));
            let wants = self.wants_index();
            match self.slots.index_mut() {
                Some(index) => {
                    index.insert(f, at);
                    if index.is_crowded() {
                        self.slots.reindex();
                    }
                }
                None if wants => self.slots.reindex(),
                None => {}
            }
        } else {
            self.evict_for(f, key, count);
        }
    }

    /// The slot holding `key` (whose fold is `f`), if any.
    #[inline]
    fn find(&mut self, f: u64, key: IpAddr) -> Option<usize> {
        if !self.slots.has_index() && self.wants_index() {
            // Dropped by a merge, which moves slots around.
            self.slots.reindex();
        }
        match &self.slots {
            Slots::Heap(v, Some(index)) => index.find(v, f, key),
            slots => slots.iter().position(|s| s.is(f, key)),
        }
    }

    /// True when adds should find keys through an index: a large capacity,
    /// and more slots held than a scan finds quickly.
    #[inline]
    fn wants_index(&self) -> bool {
        self.capacity() > INDEX_FROM && self.slots.len() >= INDEX_FROM
    }

    /// Space-Saving's eviction, for a key a full summary does not hold: the
    /// new key takes the smallest slot's count as its error. Among equal
    /// smallest counts the largest address goes, the same order `top` and
    /// `merge` use to rank.
    fn evict_for(&mut self, f: u64, key: IpAddr, count: u64) {
        let victim = self.victim();
        let floor = self.slots[victim].count;
        let old = self.slots[victim].fold;
        self.slots[victim] = Slot::new(key, floor.saturating_add(count), floor);
        if let Some(index) = self.slots.index_mut() {
            index.remove(old, victim);
            index.insert(f, victim);
            if index.is_crowded() {
                self.slots.reindex();
            }
        }
        self.next.to = victim as u32;
        self.exact = false;
    }

    /// The slot to evict: smallest count, then largest address.
    fn victim(&mut self) -> usize {
        loop {
            let Victims { floor, from, to } = self.next;
            if to > from {
                let last = to as usize - 1;
                if self.slots[last].count == floor {
                    return last;
                }
                self.next.to -= 1;
                continue;
            }
            // Rebuild: the slots at the smallest count go last, by address.
            let floor = self.slots.iter().map(|s| s.count).min().unwrap_or(0);
            let len = self.slots.len();
            let mut from = len;
            let mut j = 0;
            while j < from {
                if self.slots[j].count == floor {
                    from -= 1;
                    self.slots.swap(j, from);
                } else {
                    j += 1;
                }
            }
            self.slots[from..].sort_unstable_by(addr_order);
            if self.slots.has_index() {
                self.slots.reindex();
            }
            self.next = Victims {
                floor,
                from: from as u32,
                to: len as u32,
            };
        }
    }

    /// Upper bound of the true count of any key not held.
    fn floor(&self) -> u64 {
        if self.exact {
            0
        } else {
            self.slots.iter().map(|s| s.count).min().unwrap_or(0)
        }
    }

    /// Makes `self` the summary of both inputs' streams. The result's capacity
    /// is the smaller of the two, which the error bound needs.
    ///
    /// Works in place: a port's running total merges one small summary per
    /// minute, and a fresh vector per merge used to cost more than the merge.
    pub fn merge(&mut self, other: &TopK) {
        // Slots move below; the next add that needs the index makes it again.
        self.slots.drop_index();
        if other.exact
            && other.slots.len() <= SMALL_MERGE
            && other.capacity >= self.capacity
            && self.slots.len() == self.capacity()
        {
            self.merge_small(other);
            return;
        }
        let (fa, fb) = (self.floor(), other.floor());
        let capacity = self.capacity.min(other.capacity);
        let own = self.slots.len();
        // Which of our own slots the other side also holds; they get its
        // count instead of its floor.
        let mut matched = Marks::new(own);
        // An index pays off only when many lookups share it (merging two
        // full summaries of capacity 32 scanned 32 slots 32 times).
        let index = (other.slots.len() > 4 && own > 16).then(|| FoldIndex::of(&self.slots[..own]));
        for y in other.slots.iter() {
            let (mine, key) = (&self.slots[..own], y.addr());
            let found = match &index {
                Some(index) => index.find(mine, y.fold, key),
                None => mine.iter().position(|x| x.is(y.fold, key)),
            };
            match found {
                Some(j) => {
                    matched.set(j);
                    let x = &mut self.slots[j];
                    let upper = x.count.saturating_add(y.count);
                    let lower = (x.count - x.error).saturating_add(y.count - y.error);
                    x.count = upper;
                    x.error = upper - lower;
                }
                None => {
                    // A side that does not hold a key contributes its floor
                    // to the upper bound and nothing to the lower one.
                    let upper = y.count.saturating_add(fa);
                    let lower = y.count - y.error;
                    self.slots.push(Slot {
                        count: upper,
                        error: upper - lower,
                        ..*y
                    });
                }
            }
        }
        if fb > 0 {
            for (j, x) in self.slots[..own].iter_mut().enumerate() {
                if !matched.get(j) {
                    let upper = x.count.saturating_add(fb);
                    let lower = x.count - x.error;
                    x.count = upper;
                    x.error = upper - lower;
                }
            }
        }
        let cap = capacity as usize;
        let exact = self.exact && other.exact && self.slots.len() <= cap;
        let extra = self.slots.len().saturating_sub(cap);
        if extra > 0 && extra <= 4 {
            // A port's total merging one minute's summary is usually over
            // by one or two: drop the worst ranked, one at a time.
            for _ in 0..extra {
                let worst = (0..self.slots.len())
                    .max_by(|&a, &b| slot_rank(&self.slots[a], &self.slots[b]))
                    .unwrap_or(0);
                self.slots.swap_remove(worst);
            }
        } else if extra > 0 {
            // Keep the `cap` best ranked; their order does not matter.
            self.slots.select_nth_unstable_by(cap, slot_rank);
            self.slots.truncate(cap);
        }
        self.capacity = capacity;
        self.total = self.total.saturating_add(other.total);
        self.exact = exact;
        self.next = Victims::default();
    }

    /// [`Self::merge`] of a few exact entries into a full summary: the
    /// common case of a port's running total taking in one quiet minute.
    /// The other side's floor is 0, so only matched keys change; each new
    /// key (at its count plus our floor) then takes the place of the worst
    /// ranked if it ranks better, and the worst ranked is exactly
    /// Space-Saving's next victim.
    /// Keeping the best of (the best `k` of A) and `y` is keeping the best
    /// `k` of A and `y`, so this equals ranking the union and cutting it.
    fn merge_small(&mut self, other: &TopK) {
        let fa = self.floor();
        let mut new = [0usize; SMALL_MERGE];
        let mut fresh = 0;
        for (i, y) in other.slots.iter().enumerate() {
            match self
                .slots
                .iter_mut()
                .find(|x| x.fold == y.fold && x.v6 == y.v6)
            {
                Some(x) => {
                    let upper = x.count.saturating_add(y.count);
                    let lower = (x.count - x.error).saturating_add(y.count - y.error);
                    x.count = upper;
                    x.error = upper - lower;
                }
                None => {
                    new[fresh] = i;
                    fresh += 1;
                }
            }
        }
        for &i in &new[..fresh] {
            let y = &other.slots[i];
            let upper = y.count.saturating_add(fa);
            let candidate = Slot {
                count: upper,
                error: upper - (y.count - y.error),
                ..*y
            };
            let victim = self.victim();
            if slot_rank(&candidate, &self.slots[victim]).is_lt() {
                self.slots[victim] = candidate;
                if candidate.count > self.next.floor {
                    self.next.to = victim as u32;
                } else {
                    // Still at the floor (an exact summary's floor is 0, so
                    // a new count can tie the smallest): list again.
                    self.next = Victims::default();
                }
            }
        }
        self.total = self.total.saturating_add(other.total);
        self.exact = self.exact && fresh == 0;
    }

    /// Cuts the summary to the `capacity` best ranked keys it holds (count
    /// descending, then address ascending); a larger `capacity` than the
    /// summary's changes nothing. The guarantees carry over with the smaller
    /// capacity: a dropped key's count is at most the smallest count kept,
    /// which then bounds every key not held. A summary that held every key
    /// exactly keeps exact counts for the keys it keeps.
    ///
    /// Aggregation counts an open minute with many slots, which keeps all
    /// but the busiest minutes exact, and cuts it to the stored size when
    /// the minute closes: the stored top sources are then the true top of
    /// the minute, not the survivors of thousands of evictions.
    pub fn shrink_to(&mut self, capacity: usize) {
        let cap = capacity.clamp(1, MAX_CAPACITY);
        if cap >= self.capacity() {
            return;
        }
        self.capacity = cap as u32;
        self.slots.drop_index();
        self.next = Victims::default();
        if self.slots.len() > cap {
            self.slots.select_nth_unstable_by(cap, slot_rank);
            self.slots.truncate(cap);
            self.exact = false;
        }
        self.slots.release_spare();
    }

    /// The `n` largest, by count descending and then address ascending.
    pub fn top(&self, n: usize) -> Vec<TopEntry> {
        let mut v: Vec<TopEntry> = self.slots.iter().map(Slot::entry).collect();
        v.sort_unstable_by(rank);
        v.truncate(n);
        v
    }

    fn sorted_entries(&self) -> Vec<TopEntry> {
        let mut v: Vec<TopEntry> = self.slots.iter().map(Slot::entry).collect();
        v.sort_unstable_by_key(|e| e.addr);
        v
    }

    /// Number of keys held.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// Sum of all counts added (and merged in).
    pub fn total(&self) -> u64 {
        self.total
    }

    /// True while no key has been evicted: every count is exact.
    pub fn is_exact(&self) -> bool {
        self.exact
    }

    /// Heap bytes owned, for memory accounting.
    pub fn heap_bytes(&self) -> usize {
        self.slots.heap_bytes()
    }

    /// Serializes: version, kind, `u32` capacity, `u64` total, exact flag,
    /// `u32` entry count, then per entry (ascending address) the family byte
    /// 4 or 6, the address bytes, `u64` count and `u64` error.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = wire::start(KIND_TOPK, 17 + self.slots.len() * 33);
        out.extend_from_slice(&self.capacity.to_le_bytes());
        out.extend_from_slice(&self.total.to_le_bytes());
        out.push(u8::from(self.exact));
        out.extend_from_slice(&(self.slots.len() as u32).to_le_bytes());
        for s in &self.sorted_entries() {
            match s.addr {
                IpAddr::V4(a) => {
                    out.push(4);
                    out.extend_from_slice(&a.octets());
                }
                IpAddr::V6(a) => {
                    out.push(6);
                    out.extend_from_slice(&a.octets());
                }
            }
            out.extend_from_slice(&s.count.to_le_bytes());
            out.extend_from_slice(&s.error.to_le_bytes());
        }
        out
    }

    /// Reads what [`Self::to_bytes`] wrote and checks the invariants the
    /// guarantees rest on, so a summary read back keeps them.
    pub fn from_bytes(b: &[u8]) -> Result<Self, SketchError> {
        let mut r = Reader::new(b);
        let kind = r.header()?;
        if kind != KIND_TOPK {
            return Err(SketchError::Kind {
                expected: "top-k summary",
                found: kind,
            });
        }
        let at = r.offset();
        let capacity = r.u32("capacity")? as usize;
        if capacity == 0 || capacity > MAX_CAPACITY {
            return Err(Reader::invalid(at, "capacity", "must be 1 to 65536"));
        }
        let total = r.u64("total")?;
        let at = r.offset();
        let exact = match r.u8("exact flag")? {
            0 => false,
            1 => true,
            _ => return Err(Reader::invalid(at, "exact flag", "must be 0 or 1")),
        };
        let at = r.offset();
        let n = r.u32("entry count")? as usize;
        if n > capacity || (!exact && n != capacity) {
            return Err(Reader::invalid(
                at,
                "entry count",
                "above capacity, or below it without being exact",
            ));
        }
        let mut slots = Slots::with_capacity(n.min(r.remaining() / 21));
        for _ in 0..n {
            let at = r.offset();
            let addr = match r.u8("address family")? {
                4 => IpAddr::from(r.bytes::<4>("IPv4 address")?),
                6 => IpAddr::from(r.bytes::<16>("IPv6 address")?),
                _ => return Err(Reader::invalid(at, "address family", "must be 4 or 6")),
            };
            if slots.last().is_some_and(|p| p.addr() >= addr) {
                return Err(Reader::invalid(at, "address", "not strictly ascending"));
            }
            let count = r.u64("count")?;
            let error = r.u64("error")?;
            if count == 0 || error > count || (exact && error != 0) {
                return Err(Reader::invalid(
                    at,
                    "entry",
                    "count is zero, error exceeds it, or an exact summary has an error",
                ));
            }
            slots.push(Slot::new(addr, count, error));
        }
        let sum = slots
            .iter()
            .fold(0u64, |acc, s| acc.saturating_add(s.count));
        let min = slots.iter().map(|s| s.count).min().unwrap_or(0);
        if (exact && sum != total) || sum > total || (!exact && slots.iter().any(|s| s.error > min))
        {
            return Err(Reader::invalid(
                at,
                "entries",
                "counts do not fit the total, or an error exceeds the smallest count",
            ));
        }
        r.finish()?;
        Ok(TopK {
            total,
            capacity: capacity as u32,
            exact,
            slots,
            next: Victims::default(),
        })
    }
}

/// Address order, from the folds alone unless both are IPv6 (IPv4 folds
/// are the address and sort below every IPv6 fold).
#[inline]
fn addr_order(a: &Slot, b: &Slot) -> std::cmp::Ordering {
    if a.fold >> 63 == 1 && b.fold >> 63 == 1 {
        a.v6.cmp(&b.v6)
    } else {
        a.fold.cmp(&b.fold)
    }
}

/// [`rank`] on slots.
fn slot_rank(x: &Slot, y: &Slot) -> std::cmp::Ordering {
    y.count.cmp(&x.count).then(addr_order(x, y))
}

/// Slot positions by fold, for adds to a summary of many slots and for
/// merges: open addressing, at most half full counting removed entries,
/// made again from the slots when it fills or when slots move.
#[derive(Clone, Debug)]
struct FoldIndex {
    /// Slot position + 1; 0 is empty, [`REMOVED`] a removed entry that
    /// lookups step over.
    table: Box<[u32]>,
    /// Entries that are not empty, removed ones included.
    used: usize,
}

const REMOVED: u32 = u32::MAX;

impl FoldIndex {
    fn of(slots: &[Slot]) -> Box<FoldIndex> {
        let len = (4 * slots.len()).next_power_of_two().max(4 * INDEX_FROM);
        let mut index = Box::new(FoldIndex {
            table: vec![0; len].into_boxed_slice(),
            used: 0,
        });
        for (at, s) in slots.iter().enumerate() {
            index.insert(s.fold, at);
        }
        index
    }

    #[inline]
    fn start(&self, f: u64) -> usize {
        (f.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 32) as usize & (self.table.len() - 1)
    }

    #[inline]
    fn find(&self, slots: &[Slot], f: u64, key: IpAddr) -> Option<usize> {
        let mask = self.table.len() - 1;
        let mut i = self.start(f);
        loop {
            match self.table[i] {
                0 => return None,
                REMOVED => {}
                v if slots[v as usize - 1].is(f, key) => return Some(v as usize - 1),
                _ => {}
            }
            i = (i + 1) & mask;
        }
    }

    /// Records that the key folding to `f`, which the index does not hold,
    /// is at slot `at`.
    fn insert(&mut self, f: u64, at: usize) {
        let mask = self.table.len() - 1;
        let mut i = self.start(f);
        loop {
            match self.table[i] {
                0 => {
                    self.used += 1;
                    break;
                }
                REMOVED => break,
                _ => i = (i + 1) & mask,
            }
        }
        self.table[i] = at as u32 + 1;
    }

    /// Forgets that the key folding to `f` is at slot `at`.
    fn remove(&mut self, f: u64, at: usize) {
        let mask = self.table.len() - 1;
        let mut i = self.start(f);
        loop {
            match self.table[i] {
                0 => return,
                v if v == at as u32 + 1 => {
                    self.table[i] = REMOVED;
                    return;
                }
                _ => i = (i + 1) & mask,
            }
        }
    }

    /// True when lookups would start to walk long runs.
    fn is_crowded(&self) -> bool {
        2 * self.used > self.table.len()
    }
}

/// A set of slot indices; no allocation for the first 64.
enum Marks {
    Small(u64),
    Large(Vec<bool>),
}

impl Marks {
    fn new(n: usize) -> Marks {
        if n <= 64 {
            Marks::Small(0)
        } else {
            Marks::Large(vec![false; n])
        }
    }

    fn set(&mut self, i: usize) {
        match self {
            Marks::Small(bits) => *bits |= 1 << i,
            Marks::Large(v) => v[i] = true,
        }
    }

    fn get(&self, i: usize) -> bool {
        match self {
            Marks::Small(bits) => bits >> i & 1 == 1,
            Marks::Large(v) => v[i],
        }
    }
}

/// Count descending, then address ascending.
fn rank(x: &TopEntry, y: &TopEntry) -> std::cmp::Ordering {
    y.count.cmp(&x.count).then(x.addr.cmp(&y.addr))
}

#[cfg(test)]
mod tests;
