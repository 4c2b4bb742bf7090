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
    capacity: usize,
    total: u64,
    exact: bool,
    /// In arrival order; compared and serialized sorted by address.
    slots: Vec<Slot>,
}

#[derive(Clone, Copy, Debug)]
struct Slot {
    /// [`fold`] of the address: one integer compare per slot when looking up.
    fold: u64,
    entry: TopEntry,
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
            capacity: capacity.clamp(1, MAX_CAPACITY),
            total: 0,
            exact: true,
            slots: Vec::new(),
        }
    }

    pub fn capacity(&self) -> usize {
        self.capacity
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
            let e = &mut self.slots[i].entry;
            e.count = e.count.saturating_add(count);
        } else if self.slots.len() < self.capacity {
            self.slots.push(Slot {
                fold: f,
                entry: TopEntry {
                    addr: key,
                    count,
                    error: 0,
                },
            });
        } else {
            self.replace_min(f, key, count);
        }
    }

    #[inline]
    fn find(&self, f: u64, key: IpAddr) -> Option<usize> {
        let mut from = 0;
        while let Some(off) = self.slots[from..].iter().position(|s| s.fold == f) {
            let i = from + off;
            if self.slots[i].entry.addr == key {
                return Some(i);
            }
            from = i + 1;
        }
        None
    }

    /// Space-Saving's eviction: the new key takes the smallest slot's count
    /// as its error. Among equal smallest counts the largest address goes, the
    /// same order [`TopK::top`] and [`TopK::merge`] use to rank.
    fn replace_min(&mut self, f: u64, key: IpAddr, count: u64) {
        let mut victim = 0;
        for (j, s) in self.slots.iter().enumerate().skip(1) {
            let v = &self.slots[victim];
            let (c, vc) = (s.entry.count, v.entry.count);
            if c < vc || (c == vc && addr_order(s, v).is_gt()) {
                victim = j;
            }
        }
        let floor = self.slots[victim].entry.count;
        self.slots[victim] = Slot {
            fold: f,
            entry: TopEntry {
                addr: key,
                count: floor.saturating_add(count),
                error: floor,
            },
        };
        self.exact = false;
    }

    /// Upper bound of the true count of any key not held.
    fn floor(&self) -> u64 {
        if self.exact {
            0
        } else {
            self.slots.iter().map(|s| s.entry.count).min().unwrap_or(0)
        }
    }

    /// Makes `self` the summary of both inputs' streams. The result's capacity
    /// is the smaller of the two, which the error bound needs.
    pub fn merge(&mut self, other: &TopK) {
        let (fa, fb) = (self.floor(), other.floor());
        let capacity = self.capacity.min(other.capacity);
        // (upper, lower) bounds: a side that does not hold a key contributes
        // its floor to the upper bound and nothing to the lower one.
        let slot = |s: &Slot, upper: u64, lower: u64| Slot {
            fold: s.fold,
            entry: TopEntry {
                addr: s.entry.addr,
                count: upper,
                error: upper - lower,
            },
        };
        let mut in_other = vec![false; other.slots.len()];
        let mut merged = Vec::with_capacity(self.slots.len() + other.slots.len());
        for s in &self.slots {
            let x = s.entry;
            merged.push(match other.find(s.fold, x.addr) {
                Some(j) => {
                    in_other[j] = true;
                    let y = other.slots[j].entry;
                    slot(
                        s,
                        x.count.saturating_add(y.count),
                        (x.count - x.error).saturating_add(y.count - y.error),
                    )
                }
                None => slot(s, x.count.saturating_add(fb), x.count - x.error),
            });
        }
        for (s, _) in other
            .slots
            .iter()
            .zip(&in_other)
            .filter(|(_, seen)| !**seen)
        {
            let y = s.entry;
            merged.push(slot(s, y.count.saturating_add(fa), y.count - y.error));
        }
        let exact = self.exact && other.exact && merged.len() <= capacity;
        if merged.len() > capacity {
            merged.sort_unstable_by(|x, y| rank(&x.entry, &y.entry));
            merged.truncate(capacity);
        }
        self.capacity = capacity;
        self.total = self.total.saturating_add(other.total);
        self.exact = exact;
        self.slots = merged;
    }

    /// The `n` largest, by count descending and then address ascending.
    pub fn top(&self, n: usize) -> Vec<TopEntry> {
        let mut v: Vec<TopEntry> = self.slots.iter().map(|s| s.entry).collect();
        v.sort_unstable_by(rank);
        v.truncate(n);
        v
    }

    fn sorted_entries(&self) -> Vec<TopEntry> {
        let mut v: Vec<TopEntry> = self.slots.iter().map(|s| s.entry).collect();
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
        self.slots.capacity() * std::mem::size_of::<Slot>()
    }

    /// Serializes: version, kind, `u32` capacity, `u64` total, exact flag,
    /// `u32` entry count, then per entry (ascending address) the family byte
    /// 4 or 6, the address bytes, `u64` count and `u64` error.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = wire::start(KIND_TOPK, 17 + self.slots.len() * 33);
        out.extend_from_slice(&(self.capacity as u32).to_le_bytes());
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
        let mut slots: Vec<Slot> = Vec::with_capacity(n.min(r.remaining() / 21));
        for _ in 0..n {
            let at = r.offset();
            let addr = match r.u8("address family")? {
                4 => IpAddr::from(r.bytes::<4>("IPv4 address")?),
                6 => IpAddr::from(r.bytes::<16>("IPv6 address")?),
                _ => return Err(Reader::invalid(at, "address family", "must be 4 or 6")),
            };
            if slots.last().is_some_and(|p| p.entry.addr >= addr) {
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
            slots.push(Slot {
                fold: fold(addr),
                entry: TopEntry { addr, count, error },
            });
        }
        let sum = slots
            .iter()
            .fold(0u64, |acc, s| acc.saturating_add(s.entry.count));
        let min = slots.iter().map(|s| s.entry.count).min().unwrap_or(0);
        if (exact && sum != total)
            || sum > total
            || (!exact && slots.iter().any(|s| s.entry.error > min))
        {
            return Err(Reader::invalid(
                at,
                "entries",
                "counts do not fit the total, or an error exceeds the smallest count",
            ));
        }
        r.finish()?;
        Ok(TopK {
            capacity,
            total,
            exact,
            slots,
        })
    }
}

/// Address order, from the folds alone unless both are IPv6 (IPv4 folds
/// are the address and sort below every IPv6 fold).
#[inline]
fn addr_order(a: &Slot, b: &Slot) -> std::cmp::Ordering {
    if a.fold >> 63 == 1 && b.fold >> 63 == 1 {
        a.entry.addr.cmp(&b.entry.addr)
    } else {
        a.fold.cmp(&b.fold)
    }
}

/// Count descending, then address ascending.
fn rank(x: &TopEntry, y: &TopEntry) -> std::cmp::Ordering {
    y.count.cmp(&x.count).then(x.addr.cmp(&y.addr))
}

#[cfg(test)]
mod tests;
