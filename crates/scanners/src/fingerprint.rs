//! Which tool sent a probe, from the header fields it sets.
//!
//! Each rule below is a fact about how the tool builds its packets, taken
//! from the tool's source and checked against real captures
//! (`tests-data/tools/*.pcap`, recorded on this project's machine, and the
//! shared external captures). The rules are tried in the order of
//! [`Tool`]'s variants; the first that holds wins, and a probe that matches
//! none is [`Tool::Unknown`]. Ordinary SYNs of Linux, Windows or macOS
//! (large window, several options) match no rule.
//!
//! What a source cannot know stays zero in the event (a firewall log line
//! has no sequence number and no option bytes), so rules that need those
//! fields refuse zero rather than match on it: from log lines only ZMap's
//! IP ID can be recognised.
//!
//! Every rule is one or two integer comparisons on fields the event already
//! holds: nothing is allocated or hashed. The criterion bench
//! (`benches/fingerprint.rs`) measures 2–5 ns per probe on the recorded
//! tool captures.

use std::net::IpAddr;

use portwatch_core::{Class, Event, Proto, tcp_flags};

/// A scanning tool recognised from a probe's headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Tool {
    /// ZMap (<https://github.com/zmap/zmap>).
    ///
    /// Rule: an IPv4 probe with IP identification 54321 and, for TCP, window
    /// 65535. ZMap writes that constant into every IPv4 header it builds
    /// (`make_ip_header` in `src/probe_modules/packet.c`:
    /// `iph->ip_id = htons(54321)`) and opens its SYNs with the largest
    /// window (`make_tcp_header`, same file: `th_win = htons(65535)`). Seen
    /// on all 256 probes of both `zmap.pcap` (TCP SYN) and `zmap-udp0.pcap`
    /// (UDP). An unrelated packet with a random IP ID hits 54321 once in
    /// 65,536: one of the 1,994 nmap SYNs in Chris Sanders' `synscan` does,
    /// which the window test keeps from being called ZMap. UDP and ICMP
    /// probes with a random IP ID keep that 1-in-65,536 false-positive rate.
    /// IPv6 has no IP ID, so ZMap over IPv6 is not recognised.
    ZMap,
    /// Masscan (<https://github.com/robertdavidgraham/masscan>).
    ///
    /// Rule: an IPv4 TCP SYN whose IP ID equals the low 16 bits of
    /// `destination address ⊕ destination port ⊕ sequence number`. Masscan
    /// is stateless: the sequence number is its SYN cookie and the IP ID is
    /// derived from the same values (`src/templ-pkt.c`, where each target
    /// is filled in: `ip_id = ip_them ^ port_them ^ seqno`). Holds for
    /// all 768 SYNs of `masscan.pcap` and all 1,001 of ESnet's
    /// `masscan_tcp_0_1000`. The window (1024 by default) is not required,
    /// since Masscan lets users change it. A sequence number of zero is
    /// refused, because a log line reports an unknown one as zero. False
    /// positives: one in 65,536 random-ID SYNs. Masscan's UDP probes carry no
    /// such relation (checked on ESnet's `masscan_udp_0_1000`), so they are
    /// not recognised.
    Masscan,
    /// Mirai and its many forks.
    ///
    /// Rule: an IPv4 TCP SYN whose sequence number equals the destination
    /// address. Mirai's scanner copies the address into the sequence field
    /// (`mirai/bot/scanner.c`: `tcph->seq = iph->daddr`), both in network
    /// byte order, so the 32-bit sequence number read off the wire equals
    /// the address read as a big-endian integer (198.18.1.7 ↔ 0xc6120107).
    /// Window and IP ID are random in Mirai, so nothing else is checked.
    /// A random sequence number matches with probability 2⁻³².
    Mirai,
    /// Nmap's raw SYN scan (`-sS`, <https://nmap.org>).
    ///
    /// Rule: a TCP SYN (IPv4 or IPv6) with window 1024, 2048, 3072 or 4096
    /// whose only TCP option is MSS 1460 (bytes `02 04 05 b4`): the probe
    /// nmap's raw scan engine builds, with IP ID and TTL random. The window
    /// set is what captures show: nmap 7.93 on this machine sent 1024 only
    /// (`nmap-syn.pcap`, `nmap-syn6.pcap`, `nmap-decoy.pcap`, the raw SYNs
    /// of `nmap-sv.pcap`), Chris Sanders' `synscan` has all four values
    /// in about equal shares; every one of those SYNs matches. Nmap's *connect* scan (`-sT`, and `-sV` version
    /// probes) goes through the operating system's stack and looks like any
    /// client: those SYNs are [`Tool::Unknown`]. Log lines carry no option
    /// bytes, so Nmap is not recognised from them.
    Nmap,
    /// Unicornscan (<https://github.com/dneufeld/unicornscan>).
    ///
    /// Rule (low confidence): an IPv4 TCP SYN with window 4096, no TCP
    /// options and no payload (IP length exactly 40 and no option bytes).
    /// This is the default SYN the project's simulator writes for the tool;
    /// no capture of real Unicornscan traffic was at hand to check it
    /// against, and Unicornscan can imitate other stacks (`-W`). Nmap's
    /// 4096 window always comes with an MSS option, so the two do not
    /// collide. Treat this label as a hint, not as evidence.
    Unicornscan,
    /// No rule matched, or the event is not a probe.
    Unknown,
}

impl Tool {
    pub const ALL: [Tool; 6] = [
        Tool::ZMap,
        Tool::Masscan,
        Tool::Mirai,
        Tool::Nmap,
        Tool::Unicornscan,
        Tool::Unknown,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Tool::ZMap => "zmap",
            Tool::Masscan => "masscan",
            Tool::Mirai => "mirai",
            Tool::Nmap => "nmap",
            Tool::Unicornscan => "unicornscan",
            Tool::Unknown => "unknown",
        }
    }

    /// The tool named by [`Self::as_str`].
    pub fn from_name(name: &str) -> Option<Tool> {
        Tool::ALL.into_iter().find(|t| t.as_str() == name)
    }
}

impl std::fmt::Display for Tool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

const ZMAP_IP_ID: u16 = 54_321;
const ZMAP_WINDOW: u16 = 65_535;
const NMAP_OPTIONS: [u8; 4] = [0x02, 0x04, 0x05, 0xb4];
const UNICORNSCAN_WINDOW: u16 = 4096;
/// IPv4 header without options plus TCP header without options.
const BARE_SYN_IP_LEN: u32 = 40;

/// The tool that sent a probe, or [`Tool::Unknown`] (see [`Tool`] for each
/// rule and its source). Non-probes are always `Unknown`: backscatter
/// carries the victim's headers, not the attacker's.
#[inline]
pub fn tool_of(ev: &Event<'_>) -> Tool {
    if ev.class != Class::Probe {
        return Tool::Unknown;
    }
    let fp = &ev.fp;
    let dst_v4 = match ev.dst {
        IpAddr::V4(a) => Some(a.to_bits()),
        IpAddr::V6(_) => None,
    };
    let tcp = ev.proto == Some(Proto::Tcp);
    if dst_v4.is_some() && fp.ip_id == ZMAP_IP_ID && (!tcp || fp.tcp_window == ZMAP_WINDOW) {
        return Tool::ZMap;
    }
    if !tcp || fp.tcp_flags & (tcp_flags::SYN | tcp_flags::ACK) != tcp_flags::SYN {
        return Tool::Unknown;
    }
    if let Some(dst) = dst_v4 {
        if fp.tcp_seq != 0 && fp.ip_id == (dst ^ u32::from(ev.dport) ^ fp.tcp_seq) as u16 {
            return Tool::Masscan;
        }
        if fp.tcp_seq == dst && dst != 0 {
            return Tool::Mirai;
        }
    }
    if matches!(fp.tcp_window, 1024 | 2048 | 3072 | 4096) && ev.tcp_options == NMAP_OPTIONS {
        return Tool::Nmap;
    }
    if dst_v4.is_some()
        && fp.tcp_window == UNICORNSCAN_WINDOW
        && ev.tcp_options.is_empty()
        && ev.ip_len == BARE_SYN_IP_LEN
    {
        return Tool::Unicornscan;
    }
    Tool::Unknown
}

#[cfg(test)]
mod tests;
