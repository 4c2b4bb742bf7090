//! Mergeable summaries: what a sensor keeps per port and per source.
//!
//! Rule 2 of the design says everything a sensor computes is mergeable, and
//! that aggregating a stream in one piece must equal merging the aggregates of
//! any split of it. The three summaries here are built for that:
//!
//! * [`DistinctCounter`] counts distinct addresses. It holds the exact set of
//!   64-bit hashes while small and turns into a HyperLogLog (precision 14,
//!   Ertl's improved estimator) past [`DistinctCounter::SPARSE_LIMIT`]. Its
//!   state is a function of the *set* of hashes inserted, so merging the parts
//!   of any split gives a value equal to inserting everything.
//! * [`TopK`] keeps heavy hitters (Space-Saving). Exact, and merge-equals-whole,
//!   while it has seen no more distinct keys than its capacity; bounded beyond.
//! * [`PortSet`] is the exact set of (protocol, port) pairs a source touched.
//!
//! Every summary serializes to a compact, versioned, little-endian form whose
//! reader validates everything and never panics.
//!
//! ```
//! use portwatch_sketch::DistinctCounter;
//! let mut whole = DistinctCounter::new();
//! let (mut a, mut b) = (DistinctCounter::new(), DistinctCounter::new());
//! for i in 0..5000u32 {
//!     let ip = std::net::IpAddr::from(i.to_be_bytes());
//!     whole.insert_ip(ip);
//!     if i % 3 == 0 { a.insert_ip(ip) } else { b.insert_ip(ip) }
//! }
//! a.merge(&b);
//! assert_eq!(a, whole);
//! assert_eq!(a.to_bytes(), whole.to_bytes());
//! ```

mod cache;
mod distinct;
mod error;
mod portset;
mod topk;
mod wire;

use std::net::IpAddr;

pub use cache::prefetch;
pub use distinct::DistinctCounter;
pub use error::SketchError;
pub use portset::PortSet;
pub use topk::{TopEntry, TopK};

/// Version byte that starts every serialized summary.
pub const FORMAT_VERSION: u8 = 1;

/// Fixed seed so every process and sensor hashes an address the same way.
const HASH_SEED: u64 = 0x706f_7274_7761_7463; // "portwatc"

/// Stable 64-bit hash of an address: xxh3 with a fixed seed over a family tag
/// (4 or 6) followed by the address bytes.
///
/// The tag keeps `1.2.3.4` and `::ffff:1.2.3.4` apart, as the rest of
/// portwatch does. The value never changes between builds, so sketches from
/// different sensors merge.
#[inline]
pub fn hash_ip(ip: IpAddr) -> u64 {
    match ip {
        IpAddr::V4(a) => hash_v4(u32::from(a)),
        IpAddr::V6(a) => {
            let mut buf = [0u8; 17];
            buf[0] = 6;
            buf[1..].copy_from_slice(&a.octets());
            xxhash_rust::xxh3::xxh3_64_with_seed(&buf, HASH_SEED)
        }
    }
}

/// xxh3's 4-to-8-byte path written out for the 5 bytes `[4, a, b, c, d]`
/// with the seed folded into a constant: the same value as
/// `xxh3_64_with_seed(&[4, a, b, c, d], HASH_SEED)` (the tests compare them),
/// at a few instructions instead of a library call. Every packet hashes two
/// addresses, so this is on the hot path.
#[inline]
fn hash_v4(be: u32) -> u64 {
    // Little-endian reads of bytes 0..4 and 1..5 of the input.
    let second = be.swap_bytes();
    let first = (second << 8) | 4;
    let input64 = u64::from(second).wrapping_add(u64::from(first) << 32);
    strong_avalanche(input64 ^ V4_FLIP, 5)
}

/// xxh3's `(secret[8..16] ^ secret[16..24]) - seed'` for [`HASH_SEED`].
const V4_FLIP: u64 = {
    let s8 = u64::from_le_bytes([0x7c, 0x01, 0x81, 0x2c, 0xf7, 0x21, 0xad, 0x1c]);
    let s16 = u64::from_le_bytes([0xde, 0xd4, 0x6d, 0xe9, 0x83, 0x90, 0x97, 0xdb]);
    let seed = HASH_SEED ^ (((HASH_SEED as u32).swap_bytes() as u64) << 32);
    (s8 ^ s16).wrapping_sub(seed)
};

/// xxh3's final mix for short inputs (`rrmxmx`).
#[inline]
const fn strong_avalanche(mut h: u64, len: u64) -> u64 {
    h ^= h.rotate_left(49) ^ h.rotate_left(24);
    h = h.wrapping_mul(0x9FB2_1C65_1E98_DF25);
    h ^= (h >> 35).wrapping_add(len);
    h = h.wrapping_mul(0x9FB2_1C65_1E98_DF25);
    h ^ (h >> 28)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_ip_is_pinned() {
        // These values are part of the wire contract between sensors: if they
        // change, sketches written by older sensors no longer merge correctly.
        let v4 = hash_ip("192.0.2.1".parse().unwrap());
        let v6 = hash_ip("2001:db8::1".parse().unwrap());
        let mapped = hash_ip("::ffff:192.0.2.1".parse().unwrap());
        assert_eq!(
            v4,
            xxhash_rust::xxh3::xxh3_64_with_seed(&[4, 192, 0, 2, 1], HASH_SEED)
        );
        assert_ne!(v4, mapped);
        assert_ne!(v4, v6);
        assert_eq!((v4, v6), PINNED);
    }

    const PINNED: (u64, u64) = (14522046818627989190, 12157559546692669000);

    #[test]
    fn ipv4_fast_path_is_xxh3() {
        // A spread of addresses, including the extremes of every byte.
        let mut x = 0x9e37_79b9u32;
        let specials = [
            0u32,
            1,
            0xff,
            0xff00_0000,
            0x7fff_ffff,
            0x8000_0000,
            u32::MAX,
        ];
        for a in (0..200_000u32)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                x
            })
            .chain(specials)
        {
            let o = a.to_be_bytes();
            let want =
                xxhash_rust::xxh3::xxh3_64_with_seed(&[4, o[0], o[1], o[2], o[3]], HASH_SEED);
            assert_eq!(hash_v4(a), want, "{a:#x}");
        }
    }
}
