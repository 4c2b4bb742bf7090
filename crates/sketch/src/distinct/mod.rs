//! Distinct counting: an exact set of hashes while small, HyperLogLog after.

mod hll;
mod table;

use std::net::IpAddr;

use crate::wire::{self, KIND_COUNTER_DENSE, KIND_COUNTER_SPARSE, Reader};
use crate::{SketchError, hash_ip};
use hll::Registers;
use table::HashTable;

/// Hashes kept without any heap allocation.
const INLINE: usize = 8;

/// Counts distinct addresses (or any uniformly distributed 64-bit hashes).
///
/// The value depends only on the *set* of hashes inserted: up to
/// [`Self::SPARSE_LIMIT`] distinct hashes it is that set (the first eight
/// inline, without allocating, then a hash table); beyond it, 2^14
/// HyperLogLog registers, which are themselves the register-wise maximum over
/// the set. The form is chosen by the set's size alone, so inserting a stream
/// and merging the counters of any split of it give equal values, equal bytes
/// and equal estimates, wherever each part crossed the limit.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct DistinctCounter {
    repr: Repr,
}

#[derive(Clone, Debug)]
enum Repr {
    /// Unordered: appending is the cheapest insert. At most `INLINE`.
    Inline {
        len: u8,
        hashes: [u64; INLINE],
    },
    /// `INLINE < len <= SPARSE_LIMIT`.
    Table(HashTable),
    Dense(Registers),
}

impl Default for Repr {
    fn default() -> Self {
        Repr::Inline {
            len: 0,
            hashes: [0; INLINE],
        }
    }
}

/// Set equality: the inline form is compared order-blind.
impl PartialEq for Repr {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Repr::Inline { len: la, hashes: a }, Repr::Inline { len: lb, hashes: b }) => {
                let n = usize::from(*la);
                let (mut a, mut b) = (*a, *b);
                a[..n].sort_unstable();
                b[..n].sort_unstable();
                la == lb && a[..n] == b[..n]
            }
            (Repr::Table(a), Repr::Table(b)) => a == b,
            (Repr::Dense(a), Repr::Dense(b)) => a == b,
            _ => false,
        }
    }
}

impl Eq for Repr {}

impl DistinctCounter {
    /// Relative standard error of the dense estimator, 1.04 / sqrt(2^14)
    /// (about 0.81%). Below [`Self::SPARSE_LIMIT`] the count is exact.
    pub const RELATIVE_ERROR: f64 = 1.04 / 128.0;

    /// Largest number of distinct hashes kept exactly: 1535, the most whose
    /// serialized body (a `u16` count and 8 bytes per hash) is no longer than
    /// the dense body (a precision byte and 12 KiB of 6-bit registers). In
    /// memory they take at most 16 KiB, the size of the one-byte registers.
    pub const SPARSE_LIMIT: usize = (1 + hll::PACKED_LEN - 2) / 8;

    /// HyperLogLog precision (index bits) of the dense form.
    pub const PRECISION: u32 = hll::P;

    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a hash. It must be uniformly distributed, as [`hash_ip`]'s are.
    #[inline]
    pub fn insert_hash(&mut self, h: u64) {
        match &mut self.repr {
            Repr::Inline { len, hashes } => {
                let n = usize::from(*len);
                // Unused slots are zero, so comparing all eight (which
                // vectorizes) is exact except for the hash zero itself.
                if hashes.iter().fold(false, |seen, &x| seen | (x == h))
                    && (h != 0 || hashes[..n].contains(&0))
                {
                    return;
                }
                if n < INLINE {
                    hashes[n] = h;
                    *len += 1;
                } else {
                    let mut t = HashTable::with_capacity(INLINE + 1);
                    for &x in hashes.iter() {
                        t.insert(x, Self::SPARSE_LIMIT);
                    }
                    t.insert(h, Self::SPARSE_LIMIT);
                    self.repr = Repr::Table(t);
                }
            }
            Repr::Table(t) => {
                if !t.insert(h, Self::SPARSE_LIMIT) {
                    let mut regs = Registers::new();
                    for x in t.iter() {
                        regs.insert(x);
                    }
                    regs.insert(h);
                    self.repr = Repr::Dense(regs);
                }
            }
            Repr::Dense(regs) => regs.insert(h),
        }
    }

    /// Asks for the memory an insert of `h` will look at first (see
    /// [`crate::prefetch`]). Callers that update many large counters ask
    /// for a run of inserts before doing them, so that the cache misses
    /// overlap instead of following one another.
    #[inline]
    pub fn prefetch(&self, h: u64) {
        match &self.repr {
            Repr::Inline { .. } => {}
            Repr::Table(t) => crate::prefetch(t.first_slot(h)),
            Repr::Dense(regs) => crate::prefetch(regs.register(h)),
        }
    }

    /// Adds an address; the same as `insert_hash(hash_ip(ip))`.
    #[inline]
    pub fn insert_ip(&mut self, ip: IpAddr) {
        self.insert_hash(hash_ip(ip));
    }

    /// Makes `self` the counter of the union of both inputs.
    pub fn merge(&mut self, other: &DistinctCounter) {
        if let (Repr::Dense(a), Repr::Dense(b)) = (&mut self.repr, &other.repr) {
            a.merge(b);
            return;
        }
        // Insert the smaller side into a copy of the larger, which already
        // has the form the union needs or is closer to it.
        if other.form_rank() > self.form_rank() {
            let mut base = other.clone();
            for h in self.exact_iter() {
                base.insert_hash(h);
            }
            *self = base;
        } else {
            for h in other.exact_iter() {
                self.insert_hash(h);
            }
        }
    }

    /// Orders the forms, and exact sets by size, for [`Self::merge`].
    fn form_rank(&self) -> usize {
        match &self.repr {
            Repr::Inline { len, .. } => usize::from(*len),
            Repr::Table(t) => t.len(),
            Repr::Dense(_) => usize::MAX,
        }
    }

    /// The number of distinct hashes inserted: exact while [`Self::is_exact`],
    /// otherwise within about [`Self::RELATIVE_ERROR`] (one standard error).
    pub fn estimate(&self) -> u64 {
        match &self.repr {
            Repr::Dense(regs) => regs.estimate().round() as u64,
            _ => self.form_rank() as u64,
        }
    }

    /// True while the counter still holds the exact set.
    pub fn is_exact(&self) -> bool {
        !matches!(self.repr, Repr::Dense(_))
    }

    /// Heap bytes owned, for memory accounting (`size_of` covers the rest).
    pub fn heap_bytes(&self) -> usize {
        match &self.repr {
            Repr::Inline { .. } => 0,
            Repr::Table(t) => t.heap_bytes(),
            Repr::Dense(regs) => regs.heap_bytes(),
        }
    }

    /// Serializes: version, kind, then either a `u16` count and that many
    /// ascending `u64` hashes (one address takes 12 bytes), or the precision
    /// byte and the 6-bit packed registers (12,291 bytes). Equal counters
    /// give equal bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        match &self.repr {
            Repr::Dense(regs) => {
                let mut out = wire::start(KIND_COUNTER_DENSE, 1 + hll::PACKED_LEN);
                out.push(hll::P as u8);
                regs.write_packed(&mut out);
                out
            }
            _ => {
                let mut hashes: Vec<u64> = self.exact_iter().collect();
                hashes.sort_unstable();
                let mut out = wire::start(KIND_COUNTER_SPARSE, 2 + 8 * hashes.len());
                // SPARSE_LIMIT < 2^16, so the length always fits.
                out.extend_from_slice(&(hashes.len() as u16).to_le_bytes());
                for h in hashes {
                    out.extend_from_slice(&h.to_le_bytes());
                }
                out
            }
        }
    }

    /// Reads what [`Self::to_bytes`] wrote, rejecting anything it could not
    /// have written (unsorted or duplicate hashes, too many of them, ranks
    /// out of range, another precision, trailing bytes).
    pub fn from_bytes(b: &[u8]) -> Result<Self, SketchError> {
        let mut r = Reader::new(b);
        let repr = match r.header()? {
            KIND_COUNTER_SPARSE => {
                let at = r.offset();
                let n = usize::from(r.u16("hash count")?);
                if n > Self::SPARSE_LIMIT {
                    return Err(Reader::invalid(
                        at,
                        "hash count",
                        "more hashes than the exact form ever holds",
                    ));
                }
                let raw = r.take(8 * n, "hashes")?;
                let mut hashes = Vec::with_capacity(n);
                for (i, chunk) in raw.chunks_exact(8).enumerate() {
                    let mut le = [0u8; 8];
                    le.copy_from_slice(chunk);
                    let h = u64::from_le_bytes(le);
                    if hashes.last().is_some_and(|&prev| prev >= h) {
                        return Err(Reader::invalid(
                            at + 2 + 8 * i,
                            "hash",
                            "hashes are not strictly ascending",
                        ));
                    }
                    hashes.push(h);
                }
                Repr::from_distinct(hashes)
            }
            KIND_COUNTER_DENSE => {
                let at = r.offset();
                if u32::from(r.u8("precision")?) != hll::P {
                    return Err(Reader::invalid(
                        at,
                        "precision",
                        "only precision 14 is read",
                    ));
                }
                Repr::Dense(Registers::read_packed(&mut r)?)
            }
            found => {
                return Err(SketchError::Kind {
                    expected: "distinct counter",
                    found,
                });
            }
        };
        r.finish()?;
        Ok(DistinctCounter { repr })
    }

    /// The exact set, unordered; nothing for the dense form.
    fn exact_iter(&self) -> impl Iterator<Item = u64> + '_ {
        let (inline, table): (&[u64], _) = match &self.repr {
            Repr::Inline { len, hashes } => (&hashes[..usize::from(*len)], None),
            Repr::Table(t) => (&[], Some(t)),
            Repr::Dense(_) => (&[], None),
        };
        inline
            .iter()
            .copied()
            .chain(table.into_iter().flat_map(HashTable::iter))
    }
}

impl Repr {
    /// The form for a duplicate-free set of hashes.
    fn from_distinct(hashes: Vec<u64>) -> Repr {
        let mut c = DistinctCounter::new();
        if hashes.len() > INLINE {
            let n = hashes.len().min(DistinctCounter::SPARSE_LIMIT);
            c.repr = Repr::Table(HashTable::with_capacity(n));
        }
        for h in hashes {
            c.insert_hash(h);
        }
        c.repr
    }
}

#[cfg(test)]
mod tests;
