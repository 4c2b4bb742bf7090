//! Distinct counting: an exact set of hashes while small, HyperLogLog after.

mod hll;

use std::net::IpAddr;

use crate::wire::{self, KIND_COUNTER_DENSE, KIND_COUNTER_SPARSE, Reader};
use crate::{SketchError, hash_ip};
use hll::Registers;

/// Hashes kept without any heap allocation.
const INLINE: usize = 8;

/// Counts distinct addresses (or any uniformly distributed 64-bit hashes).
///
/// The state depends only on the *set* of hashes inserted: up to
/// [`Self::SPARSE_LIMIT`] distinct hashes it is that set, sorted (the first
/// eight inline, without allocating); beyond it, 2^14 HyperLogLog registers
/// that are themselves the register-wise maximum over the set. So inserting a
/// stream and merging the counters of any split of it give equal values, equal
/// bytes, and equal estimates, wherever each part crossed the limit.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct DistinctCounter {
    repr: Repr,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Repr {
    /// Sorted; slots past `len` stay zero so derived equality is set equality.
    Inline {
        len: u8,
        hashes: [u64; INLINE],
    },
    /// Sorted, `INLINE < len <= SPARSE_LIMIT`.
    Sparse(Vec<u64>),
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
                let pos = hashes[..n].partition_point(|&x| x < h);
                if pos < n && hashes[pos] == h {
                    return;
                }
                if n < INLINE {
                    hashes.copy_within(pos..n, pos + 1);
                    hashes[pos] = h;
                    *len += 1;
                } else {
                    let mut v = Vec::with_capacity(2 * INLINE);
                    v.extend_from_slice(&hashes[..pos]);
                    v.push(h);
                    v.extend_from_slice(&hashes[pos..]);
                    self.repr = Repr::Sparse(v);
                }
            }
            Repr::Sparse(v) => {
                if let Err(pos) = v.binary_search(&h) {
                    if v.len() < Self::SPARSE_LIMIT {
                        v.insert(pos, h);
                    } else {
                        let mut regs = Registers::new();
                        for &x in v.iter() {
                            regs.insert(x);
                        }
                        regs.insert(h);
                        self.repr = Repr::Dense(regs);
                    }
                }
            }
            Repr::Dense(regs) => regs.insert(h),
        }
    }

    /// Adds an address; the same as `insert_hash(hash_ip(ip))`.
    #[inline]
    pub fn insert_ip(&mut self, ip: IpAddr) {
        self.insert_hash(hash_ip(ip));
    }

    /// Makes `self` the counter of the union of both inputs.
    pub fn merge(&mut self, other: &DistinctCounter) {
        match (&mut self.repr, &other.repr) {
            (Repr::Dense(a), Repr::Dense(b)) => a.merge(b),
            (Repr::Dense(a), _) => {
                for &h in other.exact_hashes() {
                    a.insert(h);
                }
            }
            (_, Repr::Dense(b)) => {
                let mut regs = b.clone();
                for &h in self.exact_hashes() {
                    regs.insert(h);
                }
                self.repr = Repr::Dense(regs);
            }
            _ => {
                let union = sorted_union(self.exact_hashes(), other.exact_hashes());
                self.repr = Repr::from_sorted(union);
            }
        }
    }

    /// The number of distinct hashes inserted: exact while [`Self::is_exact`],
    /// otherwise within about [`Self::RELATIVE_ERROR`] (one standard error).
    pub fn estimate(&self) -> u64 {
        match &self.repr {
            Repr::Dense(regs) => regs.estimate().round() as u64,
            _ => self.exact_hashes().len() as u64,
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
            Repr::Sparse(v) => v.capacity() * 8,
            Repr::Dense(regs) => regs.heap_bytes(),
        }
    }

    /// Serializes: version, kind, then either a `u16` count and that many
    /// ascending `u64` hashes, or the precision and 6-bit packed registers.
    /// Equal counters give equal bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        match &self.repr {
            Repr::Dense(regs) => {
                let mut out = wire::start(KIND_COUNTER_DENSE, 1 + hll::PACKED_LEN);
                out.push(hll::P as u8);
                regs.write_packed(&mut out);
                out
            }
            _ => {
                let hashes = self.exact_hashes();
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
                Repr::from_sorted(hashes)
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

    /// The exact set, sorted; empty for the dense form.
    fn exact_hashes(&self) -> &[u64] {
        match &self.repr {
            Repr::Inline { len, hashes } => &hashes[..usize::from(*len)],
            Repr::Sparse(v) => v,
            Repr::Dense(_) => &[],
        }
    }
}

impl Repr {
    /// The canonical form for a sorted, duplicate-free set of hashes.
    fn from_sorted(hashes: Vec<u64>) -> Repr {
        if hashes.len() <= INLINE {
            let mut inline = [0u64; INLINE];
            inline[..hashes.len()].copy_from_slice(&hashes);
            Repr::Inline {
                len: hashes.len() as u8,
                hashes: inline,
            }
        } else if hashes.len() <= DistinctCounter::SPARSE_LIMIT {
            Repr::Sparse(hashes)
        } else {
            let mut regs = Registers::new();
            for h in hashes {
                regs.insert(h);
            }
            Repr::Dense(regs)
        }
    }
}

fn sorted_union(a: &[u64], b: &[u64]) -> Vec<u64> {
    let mut out = Vec::with_capacity(a.len() + b.len());
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => {
                out.push(a[i]);
                i += 1;
            }
            std::cmp::Ordering::Greater => {
                out.push(b[j]);
                j += 1;
            }
            std::cmp::Ordering::Equal => {
                out.push(a[i]);
                i += 1;
                j += 1;
            }
        }
    }
    out.extend_from_slice(&a[i..]);
    out.extend_from_slice(&b[j..]);
    out
}

#[cfg(test)]
mod tests;
