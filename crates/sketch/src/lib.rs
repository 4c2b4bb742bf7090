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

mod distinct;
mod error;
mod portset;
mod topk;
mod wire;

use std::net::IpAddr;

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
pub fn hash_ip(ip: IpAddr) -> u64 {
    match ip {
        IpAddr::V4(a) => {
            let o = a.octets();
            xxhash_rust::xxh3::xxh3_64_with_seed(&[4, o[0], o[1], o[2], o[3]], HASH_SEED)
        }
        IpAddr::V6(a) => {
            let mut buf = [0u8; 17];
            buf[0] = 6;
            buf[1..].copy_from_slice(&a.octets());
            xxhash_rust::xxh3::xxh3_64_with_seed(&buf, HASH_SEED)
        }
    }
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
}
