//! Deterministic streams and splits shared by the property tests.
#![allow(dead_code)]

use std::net::IpAddr;

use portwatch_sketch::DistinctCounter;
use proptest::prelude::*;

/// splitmix64: a fast, well-mixed step for deterministic test data.
pub fn mix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// `len` draws from `universe` distinct values; a small universe repeats.
#[derive(Clone, Debug)]
pub struct Stream {
    pub len: usize,
    pub universe: u64,
    pub seed: u64,
}

impl Stream {
    pub fn strategy(len: std::ops::Range<usize>) -> impl Strategy<Value = Stream> {
        (
            len,
            prop_oneof![Just(u64::MAX), 1u64..64, 64u64..5000],
            any::<u64>(),
        )
            .prop_map(|(len, universe, seed)| Stream {
                len,
                universe,
                seed,
            })
    }

    /// Indices into the universe, in stream order.
    pub fn draws(&self) -> Vec<u64> {
        (0..self.len as u64)
            .map(|i| mix(self.seed ^ mix(i)) % self.universe)
            .collect()
    }

    /// Hashes of the drawn values, as `hash_ip` would give them.
    pub fn hashes(&self) -> Vec<u64> {
        self.draws().into_iter().map(|d| mix(d ^ 0x5eed)).collect()
    }
}

pub fn counter_of(hashes: impl IntoIterator<Item = u64>) -> DistinctCounter {
    let mut c = DistinctCounter::new();
    for h in hashes {
        c.insert_hash(h);
    }
    c
}

/// Splits `0..n` into `parts` index lists. `skew` makes part 0 take most of
/// the stream, so one side crosses a threshold while the others stay small.
pub fn split_indices(n: usize, parts: usize, skew: u8, seed: u64) -> Vec<Vec<usize>> {
    let mut out = vec![Vec::new(); parts];
    for i in 0..n {
        let r = mix(seed ^ mix(i as u64 + 1));
        let p = if skew > 0 && r % 8 < u64::from(skew) * 2 {
            0
        } else {
            (r >> 8) as usize % parts
        };
        out[p].push(i);
    }
    out
}

/// Fisher-Yates with `mix` as the source.
pub fn shuffle<T>(v: &mut [T], seed: u64) {
    let mut s = seed;
    for i in (1..v.len()).rev() {
        s = mix(s);
        v.swap(i, (s % (i as u64 + 1)) as usize);
    }
}

/// An address for a draw: IPv4 for most, IPv6 for some, so both families
/// meet in the same summaries.
pub fn addr(draw: u64) -> IpAddr {
    if draw % 5 == 4 {
        IpAddr::from(
            u128::from(draw)
                .wrapping_mul(0x2001_0db8_0000_0001)
                .to_be_bytes(),
        )
    } else {
        IpAddr::from((draw as u32).to_be_bytes())
    }
}
