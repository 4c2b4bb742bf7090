//! The exact set of (protocol, port) pairs a source touched.
//!
//! Most sources touch one or a few ports, kept as a sorted vector of packed
//! keys; a vertical scanner that touches more than [`PortSet::SPARSE_LIMIT`]
//! ports of one protocol gets an 8 KiB bitmap for that protocol, which is then
//! no larger than the vector it replaces. Which form a protocol uses depends
//! only on how many of its ports are in the set, so equal sets are equal
//! values with equal bytes however they were built.

mod keys;

use portwatch_core::{PortKey, Proto};

use crate::SketchError;
use crate::wire::{self, KIND_PORTSET, Reader};
use keys::SortedKeys;

const WORDS: usize = 65536 / 64;

/// An exact set of [`PortKey`]s; merge is union.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct PortSet {
    /// Packed keys (protocol index << 16 | port), ascending, of the protocols
    /// that have no bitmap.
    sparse: SortedKeys,
    /// Ascending by protocol index.
    dense: Bitmaps,
}

/// The bitmaps, behind one pointer that is null while there are none (as
/// nearly always). A source-day keeps a port set, and the 16 bytes a `Vec`
/// would take more made each source-day span five cache lines instead of
/// four.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
// A boxed `Vec` is a thin pointer; a boxed slice would be a fat one.
#[allow(clippy::box_collection)]
struct Bitmaps(Option<Box<Vec<Bitmap>>>);

impl Bitmaps {
    fn with_capacity(n: usize) -> Self {
        Bitmaps((n > 0).then(|| Box::new(Vec::with_capacity(n))))
    }

    /// The box, the list it holds and the bitmaps' words.
    fn heap_bytes(&self) -> usize {
        self.0.as_ref().map_or(0, |v| {
            size_of::<Vec<Bitmap>>() + v.capacity() * size_of::<Bitmap>() + v.len() * WORDS * 8
        })
    }

    fn insert(&mut self, pos: usize, bm: Bitmap) {
        self.0.get_or_insert_default().insert(pos, bm);
    }

    fn push(&mut self, bm: Bitmap) {
        self.0.get_or_insert_default().push(bm);
    }
}

impl std::ops::Deref for Bitmaps {
    type Target = [Bitmap];

    #[inline]
    fn deref(&self) -> &[Bitmap] {
        self.0.as_deref().map_or(&[], Vec::as_slice)
    }
}

impl std::ops::DerefMut for Bitmaps {
    #[inline]
    fn deref_mut(&mut self) -> &mut [Bitmap] {
        self.0.as_deref_mut().map_or(&mut [], Vec::as_mut_slice)
    }
}

#[derive(Clone, PartialEq, Eq)]
struct Bitmap {
    proto: u8,
    len: u32,
    words: Box<[u64; WORDS]>,
}

impl std::fmt::Debug for Bitmap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Bitmap {{ proto: {}, len: {} }}", self.proto, self.len)
    }
}

impl Bitmap {
    fn new(proto: u8) -> Self {
        Bitmap {
            proto,
            len: 0,
            words: Box::new([0; WORDS]),
        }
    }

    fn set(&mut self, port: u16) {
        let (w, bit) = (usize::from(port) / 64, port % 64);
        let mask = 1u64 << bit;
        if self.words[w] & mask == 0 {
            self.words[w] |= mask;
            self.len += 1;
        }
    }

    fn get(&self, port: u16) -> bool {
        self.words[usize::from(port) / 64] >> (port % 64) & 1 == 1
    }

    fn ports(&self) -> impl Iterator<Item = u16> + '_ {
        self.words.iter().enumerate().flat_map(|(w, &word)| {
            let mut rest = word;
            std::iter::from_fn(move || {
                if rest == 0 {
                    return None;
                }
                let bit = rest.trailing_zeros();
                rest &= rest - 1;
                Some((w * 64) as u16 + bit as u16)
            })
        })
    }
}

/// Protocols in `Proto`'s own order (by protocol number), so packed keys
/// sort the way `PortKey`s do.
const BY_ORDER: [Proto; 4] = [Proto::Icmp, Proto::Tcp, Proto::Udp, Proto::Icmpv6];

fn proto_index(p: Proto) -> u8 {
    match p {
        Proto::Icmp => 0,
        Proto::Tcp => 1,
        Proto::Udp => 2,
        Proto::Icmpv6 => 3,
    }
}

fn pack(key: PortKey) -> u32 {
    u32::from(proto_index(key.proto)) << 16 | u32::from(key.port)
}

fn unpack(k: u32) -> PortKey {
    PortKey::new(BY_ORDER[(k >> 16) as usize & 3], k as u16)
}

impl PortSet {
    /// Most ports of one protocol kept in the sorted vector: 2048 packed keys
    /// are 8 KiB, the size of the bitmap.
    pub const SPARSE_LIMIT: usize = WORDS * 8 / 4;

    pub fn new() -> Self {
        Self::default()
    }

    pub fn insert(&mut self, key: PortKey) {
        let p = proto_index(key.proto);
        if let Some(bm) = self.bitmap_mut(p) {
            bm.set(key.port);
            return;
        }
        let k = pack(key);
        if let Err(pos) = self.sparse.binary_search(&k) {
            self.sparse.insert(pos, k);
            self.densify_if_large(p);
        }
    }

    pub fn contains(&self, key: PortKey) -> bool {
        let p = proto_index(key.proto);
        match self.dense.iter().find(|b| b.proto == p) {
            Some(bm) => bm.get(key.port),
            None => self.sparse.binary_search(&pack(key)).is_ok(),
        }
    }

    /// Makes `self` the union of both sets.
    pub fn merge(&mut self, other: &PortSet) {
        for obm in other.dense.iter() {
            let bm = self.ensure_bitmap(obm.proto);
            for (a, b) in bm.words.iter_mut().zip(obm.words.iter()) {
                *a |= b;
            }
            bm.len = bm.words.iter().map(|w| w.count_ones()).sum();
        }
        let mut to_sparse = Vec::new();
        for &k in other.sparse.iter() {
            let p = (k >> 16) as u8;
            match self.bitmap_mut(p) {
                Some(bm) => bm.set(k as u16),
                None => to_sparse.push(k),
            }
        }
        if !to_sparse.is_empty() {
            self.sparse = sorted_union(&self.sparse, &to_sparse).into();
            for p in 0..4 {
                self.densify_if_large(p);
            }
        }
    }

    #[inline]
    pub fn len(&self) -> u64 {
        self.sparse.len() as u64 + self.dense.iter().map(|b| u64::from(b.len)).sum::<u64>()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// All keys, ascending (protocol in [`Proto`]'s order, then port).
    pub fn iter(&self) -> impl Iterator<Item = PortKey> + '_ {
        (0u8..4).flat_map(move |p| {
            let bitmap = self.dense.iter().find(|b| b.proto == p);
            let range = self.proto_range(p);
            let proto = BY_ORDER[usize::from(p)];
            let sparse = self.sparse[range].iter().map(|&k| unpack(k));
            let dense = bitmap
                .into_iter()
                .flat_map(Bitmap::ports)
                .map(move |port| PortKey::new(proto, port));
            sparse.chain(dense)
        })
    }

    /// Heap bytes owned, for memory accounting.
    pub fn heap_bytes(&self) -> usize {
        self.sparse.heap_bytes() + self.dense.heap_bytes()
    }

    /// Serializes: version, kind, `u32` count of listed keys, each as the
    /// protocol number and `u16` port (ascending), then a `u8` count of
    /// bitmaps, each as the protocol number and 8192 bytes (bit `p % 8` of
    /// byte `p / 8` is port `p`).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = wire::start(
            KIND_PORTSET,
            5 + 3 * self.sparse.len() + 8193 * self.dense.len(),
        );
        out.extend_from_slice(&(self.sparse.len() as u32).to_le_bytes());
        for &k in self.sparse.iter() {
            let key = unpack(k);
            out.push(key.proto.number());
            out.extend_from_slice(&key.port.to_le_bytes());
        }
        out.push(self.dense.len() as u8);
        for bm in self.dense.iter() {
            out.push(BY_ORDER[usize::from(bm.proto)].number());
            for w in bm.words.iter() {
                out.extend_from_slice(&w.to_le_bytes());
            }
        }
        out
    }

    /// Reads what [`Self::to_bytes`] wrote, rejecting anything it could not
    /// have written (unknown protocols, unsorted or duplicate keys, a
    /// protocol both listed and in a bitmap, a form that does not match the
    /// protocol's size).
    pub fn from_bytes(b: &[u8]) -> Result<Self, SketchError> {
        let mut r = Reader::new(b);
        let kind = r.header()?;
        if kind != KIND_PORTSET {
            return Err(SketchError::Kind {
                expected: "port set",
                found: kind,
            });
        }
        let at = r.offset();
        let n = r.u32("key count")? as usize;
        if n > 4 * Self::SPARSE_LIMIT {
            return Err(Reader::invalid(
                at,
                "key count",
                "more keys than the list form holds",
            ));
        }
        let mut sparse: Vec<u32> = Vec::with_capacity(n.min(r.remaining() / 3));
        for _ in 0..n {
            let at = r.offset();
            let proto = Proto::from_number(r.u8("protocol")?).ok_or(Reader::invalid(
                at,
                "protocol",
                "not tcp, udp, icmp or icmpv6",
            ))?;
            let k = pack(PortKey::new(proto, r.u16("port")?));
            if sparse.last().is_some_and(|&prev| prev >= k) {
                return Err(Reader::invalid(at, "key", "not strictly ascending"));
            }
            sparse.push(k);
        }
        let at = r.offset();
        let nd = usize::from(r.u8("bitmap count")?);
        if nd > 4 {
            return Err(Reader::invalid(
                at,
                "bitmap count",
                "more than one per protocol",
            ));
        }
        let mut set = PortSet {
            sparse: sparse.into(),
            dense: Bitmaps::with_capacity(nd),
        };
        for p in 0..4 {
            if set.proto_range(p).len() > Self::SPARSE_LIMIT {
                return Err(Reader::invalid(
                    at,
                    "key list",
                    "a protocol has more listed ports than the list form holds",
                ));
            }
        }
        for _ in 0..nd {
            let at = r.offset();
            let p = Proto::from_number(r.u8("protocol")?)
                .map(proto_index)
                .ok_or(Reader::invalid(
                    at,
                    "protocol",
                    "not tcp, udp, icmp or icmpv6",
                ))?;
            if set.dense.last().is_some_and(|b| b.proto >= p) || !set.proto_range(p).is_empty() {
                return Err(Reader::invalid(
                    at,
                    "bitmap",
                    "protocols not ascending, or also listed as keys",
                ));
            }
            let raw = r.take(WORDS * 8, "bitmap")?;
            let mut bm = Bitmap::new(p);
            for (w, chunk) in bm.words.iter_mut().zip(raw.chunks_exact(8)) {
                let mut le = [0u8; 8];
                le.copy_from_slice(chunk);
                *w = u64::from_le_bytes(le);
            }
            bm.len = bm.words.iter().map(|w| w.count_ones()).sum();
            if bm.len as usize <= Self::SPARSE_LIMIT {
                return Err(Reader::invalid(
                    at,
                    "bitmap",
                    "too few ports for the bitmap form",
                ));
            }
            set.dense.push(bm);
        }
        r.finish()?;
        Ok(set)
    }

    fn bitmap_mut(&mut self, p: u8) -> Option<&mut Bitmap> {
        self.dense.iter_mut().find(|b| b.proto == p)
    }

    fn proto_range(&self, p: u8) -> std::ops::Range<usize> {
        let lo = u32::from(p) << 16;
        let hi = lo + 0x1_0000;
        self.sparse.partition_point(|&k| k < lo)..self.sparse.partition_point(|&k| k < hi)
    }

    /// Moves protocol `p`'s listed ports into a new bitmap, keeping order.
    fn ensure_bitmap(&mut self, p: u8) -> &mut Bitmap {
        let pos = match self.dense.binary_search_by(|b| b.proto.cmp(&p)) {
            Ok(pos) => pos,
            Err(pos) => {
                let mut bm = Bitmap::new(p);
                let range = self.proto_range(p);
                for k in self.sparse.take_range(range) {
                    bm.set(k as u16);
                }
                self.dense.insert(pos, bm);
                pos
            }
        };
        &mut self.dense[pos]
    }

    fn densify_if_large(&mut self, p: u8) {
        if self.proto_range(p).len() > Self::SPARSE_LIMIT {
            self.ensure_bitmap(p);
        }
    }
}

fn sorted_union(a: &[u32], b: &[u32]) -> Vec<u32> {
    let mut out = Vec::with_capacity(a.len() + b.len());
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        let (x, y) = (a[i], b[j]);
        out.push(x.min(y));
        i += usize::from(x <= y);
        j += usize::from(y <= x);
    }
    out.extend_from_slice(&a[i..]);
    out.extend_from_slice(&b[j..]);
    out
}

#[cfg(test)]
mod tests;
