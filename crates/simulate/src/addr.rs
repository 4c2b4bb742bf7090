//! Address spaces: the darknet prefixes packets arrive at, and the pools of
//! Internet addresses they come from.

use ipnet::{Ipv4Net, Ipv6Net};

use crate::rng::{Feistel32, Rng, hash2};

/// The IPv4 darknet: one or more prefixes, addressed as one range of
/// `0..total` offsets.
#[derive(Debug, Clone)]
pub(crate) struct V4Space {
    /// (first address, number of addresses), in config order.
    prefixes: Vec<(u32, u64)>,
    total: u64,
}

impl V4Space {
    /// Parses prefixes; on failure returns the index of the bad one.
    pub(crate) fn parse(prefixes: &[String]) -> Result<Self, (usize, String)> {
        let mut out = Vec::with_capacity(prefixes.len());
        let mut total = 0u64;
        for (i, p) in prefixes.iter().enumerate() {
            let net: Ipv4Net = p.trim().parse().map_err(|_| {
                (
                    i,
                    format!("{p:?} is not an IPv4 prefix such as 198.18.0.0/16"),
                )
            })?;
            let size = 1u64 << (32 - u32::from(net.prefix_len()));
            out.push((u32::from(net.network()), size));
            total += size;
        }
        Ok(V4Space {
            prefixes: out,
            total,
        })
    }

    pub(crate) fn total(&self) -> u64 {
        self.total
    }

    /// The address at offset `i` (taken modulo the space's size).
    pub(crate) fn nth(&self, i: u64) -> u32 {
        let mut i = i % self.total.max(1);
        for &(base, size) in &self.prefixes {
            if i < size {
                return base.wrapping_add(i as u32);
            }
            i -= size;
        }
        0
    }

    pub(crate) fn random(&self, rng: &mut Rng) -> u32 {
        self.nth(rng.below(self.total.max(1)))
    }

    /// The offset of `a` in the space, if it is in it.
    pub(crate) fn offset(&self, a: u32) -> Option<u64> {
        let mut before = 0;
        for &(base, size) in &self.prefixes {
            let d = u64::from(a.wrapping_sub(base));
            if d < size {
                return Some(before + d);
            }
            before += size;
        }
        None
    }

    pub(crate) fn contains(&self, a: u32) -> bool {
        self.prefixes
            .iter()
            .any(|&(base, size)| u64::from(a.wrapping_sub(base)) < size)
    }
}

/// The IPv6 darknet.
#[derive(Debug, Clone)]
pub(crate) struct V6Space {
    /// (network, host mask).
    prefixes: Vec<(u128, u128)>,
}

impl V6Space {
    pub(crate) fn parse(prefixes: &[String]) -> Result<Self, (usize, String)> {
        let mut out = Vec::with_capacity(prefixes.len());
        for (i, p) in prefixes.iter().enumerate() {
            let net: Ipv6Net = p.trim().parse().map_err(|_| {
                (
                    i,
                    format!("{p:?} is not an IPv6 prefix such as 2001:db8::/48"),
                )
            })?;
            out.push((u128::from(net.network()), u128::from(net.hostmask())));
        }
        Ok(V6Space { prefixes: out })
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.prefixes.is_empty()
    }

    /// IPv6 scanners cannot sweep a /48, so half their targets are the low
    /// interface ids people hand out (::1, ::2, ...) in some subnet; the
    /// rest are random.
    pub(crate) fn random(&self, rng: &mut Rng) -> u128 {
        let n = self.prefixes.len().max(1) as u64;
        let Some(&(net, mask)) = self.prefixes.get(rng.below(n) as usize) else {
            return 0;
        };
        let host = if rng.chance(0.5) {
            (u128::from(rng.next_u16()) << 64) | u128::from(1 + rng.below(255))
        } else {
            (u128::from(rng.next_u64()) << 64) | u128::from(rng.next_u64())
        };
        net | (host & mask)
    }
}

/// Special-purpose IPv4 blocks (RFC 6890 and multicast) that never source
/// scans on the public Internet.
const RESERVED_V4: [(u32, u8); 14] = [
    (0x0000_0000, 8),
    (0x0a00_0000, 8),
    (0x6440_0000, 10),
    (0x7f00_0000, 8),
    (0xa9fe_0000, 16),
    (0xac10_0000, 12),
    (0xc000_0000, 24),
    (0xc000_0200, 24),
    (0xc0a8_0000, 16),
    (0xc612_0000, 15),
    (0xc633_6400, 24),
    (0xcb00_7100, 24),
    (0xe000_0000, 3),
    (0xc058_6300, 24),
];

pub(crate) fn is_reserved_v4(a: u32) -> bool {
    RESERVED_V4
        .iter()
        .any(|&(base, len)| (a ^ base) >> (32 - u32::from(len)) == 0)
}

/// Hands out distinct public IPv4 addresses: a keyed permutation of the
/// 32-bit space walked in order, skipping reserved blocks and the darknet.
#[derive(Debug, Clone)]
pub(crate) struct V4Allocator {
    perm: Feistel32,
    counter: u64,
}

impl V4Allocator {
    pub(crate) fn new(seed: u64) -> Self {
        V4Allocator {
            perm: Feistel32::new(hash2(seed, 0x5ca1_ab1e)),
            counter: 0,
        }
    }

    pub(crate) fn take(&mut self, darknet: &V4Space, n: usize) -> Vec<u32> {
        let mut out = Vec::with_capacity(n);
        while out.len() < n && self.counter < 1 << 32 {
            let a = self.perm.permute(self.counter as u32);
            self.counter += 1;
            if !is_reserved_v4(a) && !darknet.contains(a) {
                out.push(a);
            }
        }
        out
    }
}

/// The `index`-th address of an IPv6 pool: a global-unicast prefix from the
/// hash (2400::/6 .. 2fff::/16, far from the documentation prefix) and an
/// interface id whose low 32 bits are the index, so a pool never repeats.
pub(crate) fn v6_pool_addr(key: u64, index: u32) -> u128 {
    let h = hash2(key, u64::from(index));
    let top = 0x2400u128 + u128::from(h % 0x0c00);
    let routing = u128::from(h >> 16) & 0xffff_ffff_ffff;
    let iid_high = u128::from(hash2(h, 1) >> 32);
    (top << 112) | (routing << 64) | (iid_high << 32) | u128::from(index)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v4_string(a: u32) -> String {
        std::net::Ipv4Addr::from(a).to_string()
    }

    #[test]
    fn v4_space_offsets_span_prefixes() {
        let s = V4Space::parse(&["198.18.0.0/31".into(), "203.0.113.8/30".into()]).unwrap();
        assert_eq!(s.total(), 6);
        let all: Vec<String> = (0..6).map(|i| v4_string(s.nth(i))).collect();
        assert_eq!(
            all,
            [
                "198.18.0.0",
                "198.18.0.1",
                "203.0.113.8",
                "203.0.113.9",
                "203.0.113.10",
                "203.0.113.11"
            ]
        );
        assert!(s.contains(0xcb00_710b));
        assert_eq!(s.offset(0xcb00_710b), Some(5));
        assert_eq!(s.offset(0xc612_0001), Some(1));
        assert_eq!(s.offset(0xc612_0002), None);
        assert!(!s.contains(0xcb00_710c));
        assert!(V4Space::parse(&["198.18.0.0/33".into()]).is_err());
    }

    #[test]
    fn allocator_gives_distinct_public_addresses() {
        let dark = V4Space::parse(&["198.18.0.0/16".into()]).unwrap();
        let mut a = V4Allocator::new(9);
        let mut v = a.take(&dark, 50_000);
        assert_eq!(v.len(), 50_000);
        assert!(v.iter().all(|&x| !is_reserved_v4(x) && !dark.contains(x)));
        v.sort_unstable();
        v.dedup();
        assert_eq!(v.len(), 50_000);
        assert!(is_reserved_v4(0x0a01_0203));
        assert!(is_reserved_v4(0xefff_ffff));
        assert!(!is_reserved_v4(0x0808_0808));
    }

    #[test]
    fn v6_targets_stay_inside_the_prefix() {
        let s = V6Space::parse(&["2001:db8:5ca1::/48".into()]).unwrap();
        let mut r = Rng::new(1, 1);
        for _ in 0..1000 {
            let a = s.random(&mut r);
            assert_eq!(a >> 80, 0x2001_0db8_5ca1);
        }
        let p = v6_pool_addr(3, 77);
        assert_eq!(p as u32, 77);
        assert!((0x2400..0x3000).contains(&(p >> 112)));
    }
}
