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
        let mut i = if i < self.total {
            i
        } else {
            i % self.total.max(1)
        };
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

    /// Whether any prefix overlaps the /8 `octet`.0.0.0.
    pub(crate) fn touches_slash8(&self, octet: u32) -> bool {
        self.prefixes.iter().any(|&(base, size)| {
            let last = u64::from(base) + size - 1;
            u64::from(base >> 24) <= u64::from(octet) && u64::from(octet) <= last >> 24
        })
    }

    #[cfg(test)]
    pub(crate) fn contains(&self, a: u32) -> bool {
        self.offset(a).is_some()
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

/// First octets whose /8 never sources scans here: "this network",
/// private 10/8, shared 100.64/10, loopback, link-local 169.254/16, private
/// 172.16/12 and 192.168/16, the 192.0.0.x and 192.0.2.x special blocks,
/// benchmarking 198.18/15, documentation 198.51.100/24 and 203.0.113/24.
/// Skipping whole /8s is simpler than carving out the blocks and still
/// leaves over 200 of them. Multicast and reserved space (224/3) is never
/// drawn.
const SKIP_OCTETS: [u32; 9] = [0, 10, 100, 127, 169, 172, 192, 198, 203];
/// Darknet /8s are avoided too unless that would leave fewer than this.
const MIN_OCTETS: usize = 64;

/// Every IPv4 source of a run (scanner, attacked server, campaign source)
/// gets its address from its source number through a keyed bijection onto
/// public /8s: distinct numbers always give distinct addresses, and no
/// table of addresses is kept (looking one up would miss the cache on
/// every packet).
#[derive(Debug, Clone)]
pub(crate) struct V4Sources {
    perm: Feistel32,
    octets: Vec<u32>,
    domain: u64,
}

impl V4Sources {
    pub(crate) fn new(seed: u64, darknet: &V4Space) -> Self {
        let public: Vec<u32> = (1..224).filter(|o| !SKIP_OCTETS.contains(o)).collect();
        let outside: Vec<u32> = public
            .iter()
            .copied()
            .filter(|&o| !darknet.touches_slash8(o))
            .collect();
        let octets = if outside.len() >= MIN_OCTETS {
            outside
        } else {
            public
        };
        V4Sources {
            perm: Feistel32::new(hash2(seed, 0x5ca1_ab1e)),
            domain: (octets.len() as u64) << 24,
            octets,
        }
    }

    /// How many source numbers have an address.
    #[cfg(test)]
    pub(crate) fn capacity(&self) -> u64 {
        self.domain
    }

    /// The address of source number `n` (`n` below [`Self::capacity`]).
    pub(crate) fn addr(&self, n: u32) -> u32 {
        // Cycle-walking: apply the permutation until it lands inside the
        // domain. Starting inside it, this is a bijection on the domain,
        // and takes 1.2 steps on average.
        let mut x = n;
        for _ in 0..1000 {
            x = self.perm.permute(x);
            if u64::from(x) < self.domain {
                break;
            }
        }
        let octet = self.octets.get((x >> 24) as usize).copied().unwrap_or(1);
        (octet << 24) | (x & 0x00ff_ffff)
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
    fn sources_are_distinct_public_and_outside_the_darknet() {
        let dark = V4Space::parse(&["44.0.0.0/8".into(), "198.18.0.0/16".into()]).unwrap();
        assert!(dark.touches_slash8(44) && dark.touches_slash8(198) && !dark.touches_slash8(45));
        let s = V4Sources::new(9, &dark);
        // 223 unicast /8s, 8 of them special (0 is outside 1..224), one dark.
        assert_eq!(s.capacity(), (223 - 8 - 1) << 24);
        let mut v: Vec<u32> = (0..200_000).map(|n| s.addr(n)).collect();
        for &a in &v {
            let o = a >> 24;
            assert!(
                (1..224).contains(&o) && !SKIP_OCTETS.contains(&o) && o != 44,
                "{}",
                v4_string(a)
            );
        }
        v.sort_unstable();
        v.dedup();
        assert_eq!(v.len(), 200_000);
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
