//! Scanner tool styles and the header facts that give each one away.
//!
//! These are the facts portwatch's fingerprinting keys on; each was checked
//! against the tool's source or a capture of it where one was at hand:
//!
//! | style | IP ID | TTL at source | DF | TCP window | SYN options | source port | seq |
//! |---|---|---|---|---|---|---|---|
//! | ZMap (classic) | 54321 | 255 | no | 65535 | none | random 32768–61000 per probe | random |
//! | Masscan | low 16 bits of dst ⊕ dport ⊕ seq | 255 | no | 1024 | none | fixed per scan | random |
//! | Mirai | random | 64 | no | random | none | fixed per bot | = target IPv4 address |
//! | Nmap `-sS` | random | random 37–59 per probe | no | 1024/2048/3072/4096 | MSS 1460 | fixed per scan | random |
//! | Unicornscan | random | 64 | no | 4096 | none | random per probe | random |
//! | Linux `connect()` | random | 64 | yes | 64240 | MSS, SACK-OK, TS, NOP, WS 7 | random 32768–60999 | random |
//! | Windows `connect()` | random | 128 | yes | 64240 | MSS, NOP, WS 8, NOP, NOP, SACK-OK | random 49152–65535 | random |
//!
//! The Masscan row is checked against a real Masscan capture (every IP ID
//! equals the low half of `dst ^ dport ^ seq`, TTL 255 minus 3 hops, window
//! 1024, no options, one source port); the Nmap row against a real `-sS`
//! scan (TTLs 42–54, windows 1024–4096, MSS 1460, one source port). The
//! Unicornscan row is approximate: no reference capture was at hand.
//! Packets arrive with the TTL above minus 5–25 hops.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::SimError;
use crate::rng::{Rng, mix64};
use crate::wire::{IcmpBody, Net, Payload, Tcp, TcpOpts, Transport};

/// Which scanner a source imitates (see the table in this module's docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ToolStyle {
    Zmap,
    Masscan,
    Mirai,
    Nmap,
    Unicornscan,
    Linux,
    Windows,
}

impl ToolStyle {
    pub const ALL: [ToolStyle; 7] = [
        ToolStyle::Zmap,
        ToolStyle::Masscan,
        ToolStyle::Mirai,
        ToolStyle::Nmap,
        ToolStyle::Unicornscan,
        ToolStyle::Linux,
        ToolStyle::Windows,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ToolStyle::Zmap => "zmap",
            ToolStyle::Masscan => "masscan",
            ToolStyle::Mirai => "mirai",
            ToolStyle::Nmap => "nmap",
            ToolStyle::Unicornscan => "unicornscan",
            ToolStyle::Linux => "linux",
            ToolStyle::Windows => "windows",
        }
    }

    /// Mirai's scanner only ever sends TCP SYNs.
    pub(crate) fn sends_udp(self) -> bool {
        self != ToolStyle::Mirai
    }

    /// Background sources use the tools in roughly the shares darknets see:
    /// IoT bots and the two Internet-wide scanners dominate.
    pub(crate) fn background_pick(h: u64) -> ToolStyle {
        match ((h & 0xffff_ffff) * 100) >> 32 {
            0..25 => ToolStyle::Mirai,
            25..45 => ToolStyle::Zmap,
            45..60 => ToolStyle::Masscan,
            60..80 => ToolStyle::Linux,
            80..88 => ToolStyle::Windows,
            88..95 => ToolStyle::Nmap,
            _ => ToolStyle::Unicornscan,
        }
    }
}

impl fmt::Display for ToolStyle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ToolStyle {
    type Err = SimError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let lower = s.to_ascii_lowercase();
        ToolStyle::ALL
            .into_iter()
            .find(|t| t.as_str() == lower)
            .ok_or_else(|| {
                SimError::parse(
                    "tool",
                    s,
                    "expected zmap, masscan, mirai, nmap, unicornscan, linux or windows",
                )
            })
    }
}

/// One scanning source: its tool and the per-source constants that stay
/// the same across all its probes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Scanner {
    pub tool: ToolStyle,
    hops: u8,
    fixed_sport: u16,
    ts_base: u32,
}

/// `0..n` from the high half of a hash, without a division.
fn scale(h: u64, n: u64) -> u64 {
    ((h >> 32) * n) >> 32
}

/// A source and destination of one family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Addrs {
    V4(u32, u32),
    V6(u128, u128),
}

impl Scanner {
    /// Derives a scanner's constants from a per-source hash, so nothing per
    /// source is stored.
    pub(crate) fn new(tool: ToolStyle, h: u64) -> Self {
        let g = mix64(h);
        let fixed_sport = match tool {
            ToolStyle::Masscan => 40_000 + scale(g, 20_000) as u16,
            ToolStyle::Mirai => (g as u16).max(1),
            _ => 32_768 + (g & 0x7fff) as u16,
        };
        Scanner {
            tool,
            hops: 5 + scale(h, 21) as u8,
            fixed_sport,
            ts_base: (g >> 16) as u32,
        }
    }

    fn ttl(&self, rng: &mut Rng) -> u8 {
        let initial = match self.tool {
            ToolStyle::Zmap | ToolStyle::Masscan => 255,
            ToolStyle::Nmap => 37 + rng.below(23) as u8,
            ToolStyle::Windows => 128,
            ToolStyle::Mirai | ToolStyle::Unicornscan | ToolStyle::Linux => 64,
        };
        initial - self.hops
    }

    fn sport(&self, rng: &mut Rng) -> u16 {
        match self.tool {
            ToolStyle::Zmap => rng.range_u16(32_768, 61_000),
            ToolStyle::Masscan | ToolStyle::Mirai | ToolStyle::Nmap => self.fixed_sport,
            ToolStyle::Unicornscan => rng.range_u16(1024, 65_535),
            ToolStyle::Linux => rng.range_u16(32_768, 60_999),
            ToolStyle::Windows => rng.range_u16(49_152, 65_535),
        }
    }

    fn net(&self, rng: &mut Rng, addrs: Addrs, id: u16) -> Net {
        let ttl = self.ttl(rng);
        match addrs {
            Addrs::V4(src, dst) => Net::V4 {
                src,
                dst,
                ttl,
                id,
                df: matches!(self.tool, ToolStyle::Linux | ToolStyle::Windows),
                frag: 0,
            },
            Addrs::V6(src, dst) => Net::V6 {
                src,
                dst,
                hop: ttl,
                // Stacks set a random flow label per connection; raw-socket
                // scanners leave it zero.
                flow: match self.tool {
                    ToolStyle::Linux | ToolStyle::Windows => rng.next_u32() & 0x000f_ffff,
                    _ => 0,
                },
            },
        }
    }

    /// A TCP packet with the given flags (SYN for a probe, ACK/FIN/NULL for
    /// the "other" class), `t_ms` feeding the Linux timestamp option.
    pub(crate) fn tcp(
        &self,
        rng: &mut Rng,
        addrs: Addrs,
        dport: u16,
        flags: u8,
        t_ms: u64,
    ) -> (Net, Transport) {
        let dst_v4 = match addrs {
            Addrs::V4(_, d) => Some(d),
            Addrs::V6(..) => None,
        };
        let seq = match (self.tool, dst_v4) {
            (ToolStyle::Mirai, Some(d)) => d,
            _ => rng.next_u32(),
        };
        let (window, opts) = match self.tool {
            ToolStyle::Zmap => (65_535, TcpOpts::None),
            ToolStyle::Masscan => (1024, TcpOpts::None),
            ToolStyle::Mirai => (rng.next_u16(), TcpOpts::None),
            ToolStyle::Nmap => (1024 * (1 + rng.below(4) as u16), TcpOpts::Mss),
            ToolStyle::Unicornscan => (4096, TcpOpts::None),
            ToolStyle::Linux => (
                64_240,
                TcpOpts::Linux {
                    tsval: self.ts_base.wrapping_add(t_ms as u32),
                    tsecr: 0,
                },
            ),
            ToolStyle::Windows => (64_240, TcpOpts::Windows),
        };
        let sport = self.sport(rng);
        let id = match (self.tool, dst_v4) {
            (ToolStyle::Zmap, _) => 54_321,
            (ToolStyle::Masscan, Some(d)) => (d ^ u32::from(dport) ^ seq) as u16,
            _ => rng.next_u16(),
        };
        let net = self.net(rng, addrs, id);
        let tcp = Tcp {
            sport,
            dport,
            seq,
            ack: 0,
            flags,
            window,
            opts,
        };
        (net, Transport::Tcp(tcp))
    }

    pub(crate) fn udp(
        &self,
        rng: &mut Rng,
        addrs: Addrs,
        dport: u16,
        payload: Payload,
    ) -> (Net, Transport) {
        let sport = self.sport(rng);
        let id = match (self.tool, addrs) {
            (ToolStyle::Zmap, _) => 54_321,
            (ToolStyle::Masscan, Addrs::V4(_, d)) => (d ^ u32::from(dport)) as u16,
            _ => rng.next_u16(),
        };
        let net = self.net(rng, addrs, id);
        (
            net,
            Transport::Udp {
                sport,
                dport,
                payload,
            },
        )
    }

    /// An echo request: ICMP type 8, or 128 over IPv6.
    pub(crate) fn echo(&self, rng: &mut Rng, addrs: Addrs) -> (Net, Transport) {
        let id = match self.tool {
            ToolStyle::Zmap => 54_321,
            _ => rng.next_u16(),
        };
        let net = self.net(rng, addrs, id);
        let body = match self.tool {
            ToolStyle::Linux => IcmpBody::LinuxPing { len: 56 },
            ToolStyle::Windows => IcmpBody::WindowsPing,
            _ => IcmpBody::Empty,
        };
        let ty = if net.is_v6() { 128 } else { 8 };
        let rest = (u32::from(self.fixed_sport) << 16) | u32::from(rng.next_u16() & 0x3ff);
        (
            net,
            Transport::Icmp {
                ty,
                code: 0,
                rest,
                body,
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use portwatch_core::tcp_flags::SYN;

    #[test]
    fn masscan_ip_id_is_dst_xor_port_xor_seq() {
        let s = Scanner::new(ToolStyle::Masscan, 99);
        let mut r = Rng::new(1, 1);
        let dst = 0xc67c_980f;
        let (net, l4) = s.tcp(&mut r, Addrs::V4(0x0102_0304, dst), 697, SYN, 0);
        let (Net::V4 { id, ttl, df, .. }, Transport::Tcp(t)) = (net, l4) else {
            panic!("expected IPv4 TCP");
        };
        assert_eq!(id, (dst ^ 697 ^ t.seq) as u16);
        assert_eq!((t.window, t.opts, df), (1024, TcpOpts::None, false));
        assert!((230..=250).contains(&ttl));
        let (_, l4b) = s.tcp(&mut r, Addrs::V4(0x0102_0304, dst), 80, SYN, 0);
        let Transport::Tcp(t2) = l4b else { panic!() };
        assert_eq!(t.sport, t2.sport, "Masscan keeps one source port");
    }

    #[test]
    fn zmap_and_mirai_marks() {
        let mut r = Rng::new(2, 2);
        let z = Scanner::new(ToolStyle::Zmap, 5);
        let (Net::V4 { id, .. }, Transport::Tcp(t)) = z.tcp(&mut r, Addrs::V4(1, 2), 23, SYN, 0)
        else {
            panic!()
        };
        assert_eq!((id, t.window, t.opts), (54_321, 65_535, TcpOpts::None));
        let m = Scanner::new(ToolStyle::Mirai, 6);
        let (Net::V4 { ttl, .. }, Transport::Tcp(t)) =
            m.tcp(&mut r, Addrs::V4(1, 0xc612_0a0b), 23, SYN, 0)
        else {
            panic!()
        };
        assert_eq!(t.seq, 0xc612_0a0b);
        assert!(ttl <= 59);
    }

    #[test]
    fn tool_names_round_trip() {
        for t in ToolStyle::ALL {
            assert_eq!(t.as_str().parse::<ToolStyle>().ok(), Some(t));
        }
        assert!("nessus".parse::<ToolStyle>().is_err());
    }
}
