//! The background: scanners, DoS backscatter and odd packets that a
//! darknet sees every minute of every day.
//!
//! Scanners are a fixed pool of addresses with heavy-tailed activity. Each
//! has a tool style and mostly sticks to one port of the ranked mix (Mirai
//! bots to their Telnet and exploit ports), now and then probing another.
//! Backscatter comes from a smaller pool of attacked servers, each with its
//! service port and operating system.

use portwatch_core::tcp_flags::{ACK, FIN, PSH, RST, SYN, URG};

use crate::addr::{V4Sources, V4Space, V6Space, v6_pool_addr};
use crate::config::SimConfig;
use crate::ports::{PortMix, udp_payload};
use crate::rng::{PowerLaw, Rng, hash2, mix64};
use crate::tool::{Addrs, Scanner, ToolStyle};
use crate::wire::{
    Frame, IPPROTO_ESP, IPPROTO_TCP, IPPROTO_UDP, IcmpBody, Net, Tcp, TcpOpts, Transport, Vlan,
};

/// How often a scanner probes its own port rather than any port of the mix.
const FOCUS: f64 = 0.75;
/// Attacked servers are fewer than scanners and more skewed.
const VICTIM_SKEW: f64 = 1.2;
/// Services that DoS victims run, with the share of victims running each.
const VICTIM_SERVICES: [(u16, u64); 9] = [
    (80, 35),
    (443, 30),
    (53, 6),
    (22, 5),
    (25, 4),
    (27015, 8),
    (25565, 6),
    (3074, 3),
    (8080, 3),
];

/// One generated packet, before it is written.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Emitted {
    pub frame: Frame,
    /// The source's number: every source of a run (scanner, victim,
    /// campaign source) has its own, from 0 up without holes, and distinct
    /// numbers are distinct addresses. Ground truth counts these.
    pub src: u32,
}

#[derive(Debug)]
pub(crate) struct Background {
    rng: Rng,
    key: u64,
    v4: V4Space,
    v6: V6Space,
    sources_v4: V4Sources,
    law_v4: PowerLaw,
    law_v6: PowerLaw,
    victims_v6: u32,
    law_victims_v4: PowerLaw,
    law_victims_v6: PowerLaw,
    /// Where the IPv6 scanners, IPv4 victims and IPv6 victims start in
    /// the source numbering (IPv4 scanners start at 0), and where it ends.
    v6_scanner_base: u32,
    v4_victim_base: u32,
    v6_victim_base: u32,
    source_end: u32,
    mix: PortMix,
    backscatter: f64,
    other: f64,
    ipv6: f64,
    icmp_echo: f64,
    vlan: f64,
}

impl Background {
    /// Builds the pools. The background takes source numbers from 0 up to
    /// [`Self::source_end`]; campaigns number theirs after it.
    pub(crate) fn new(cfg: &SimConfig, v4: V4Space, v6: V6Space, sources_v4: V4Sources) -> Self {
        let sources = cfg.background_sources.max(1);
        let n6 = if cfg.ipv6_fraction > 0.0 {
            ((f64::from(sources) * cfg.ipv6_fraction).round() as u32).clamp(1, sources)
        } else {
            0
        };
        let scanners_v4 = (sources - n6).max(1);
        let victims_v4 = (sources / 200).clamp(16, 5000);
        let victims_v6 = if n6 > 0 { (victims_v4 / 10).max(4) } else { 0 };
        let v6_scanner_base = scanners_v4;
        let v4_victim_base = v6_scanner_base + n6;
        let v6_victim_base = v4_victim_base + victims_v4;
        Background {
            v6_scanner_base,
            v4_victim_base,
            v6_victim_base,
            source_end: v6_victim_base + victims_v6,
            rng: Rng::new(cfg.seed, 1),
            key: hash2(cfg.seed, 0xbac6),
            law_v4: PowerLaw::new(u64::from(scanners_v4), cfg.source_skew),
            law_v6: PowerLaw::new(u64::from(n6), cfg.source_skew),
            law_victims_v4: PowerLaw::new(u64::from(victims_v4), VICTIM_SKEW),
            law_victims_v6: PowerLaw::new(u64::from(victims_v6), VICTIM_SKEW),
            sources_v4,
            victims_v6,
            v4,
            v6,
            mix: PortMix::new(cfg.tail_fraction),
            backscatter: cfg.backscatter_fraction,
            other: cfg.other_fraction,
            ipv6: cfg.ipv6_fraction,
            icmp_echo: cfg.icmp_echo_fraction,
            vlan: cfg.vlan_fraction,
        }
    }

    /// The first source number not used by the background.
    pub(crate) fn source_end(&self) -> u32 {
        self.source_end
    }

    pub(crate) fn rng(&mut self) -> &mut Rng {
        &mut self.rng
    }

    /// The packet arriving at `t_ns` (ns from the start of the run).
    pub(crate) fn packet(&mut self, t_ns: i64) -> Emitted {
        let v6 = self.rng.chance(self.ipv6);
        let r = self.rng.unit();
        if r < self.backscatter {
            self.backscatter_packet(v6)
        } else if r < self.backscatter + self.other {
            self.other_packet(v6, t_ns)
        } else {
            self.probe(v6, t_ns)
        }
    }

    /// A scanner: (source number, addresses, its constants, its hash).
    fn scanner(&mut self, v6: bool) -> (u32, Addrs, Scanner, u64) {
        let (id, src) = if v6 {
            let i = self.law_v6.sample(&mut self.rng) as u32;
            let a = v6_pool_addr(self.key, i);
            (
                self.v6_scanner_base + i,
                Addrs::V6(a, self.v6.random(&mut self.rng)),
            )
        } else {
            let i = self.law_v4.sample(&mut self.rng) as u32;
            let a = self.sources_v4.addr(i);
            (i, Addrs::V4(a, self.v4.random(&mut self.rng)))
        };
        let h = hash2(self.key, u64::from(id));
        let tool = ToolStyle::background_pick(h);
        (id, src, Scanner::new(tool, mix64(h)), h)
    }

    fn probe(&mut self, v6: bool, t_ns: i64) -> Emitted {
        let (src_id, addrs, scanner, h) = self.scanner(v6);
        let rng = &mut self.rng;
        let (net, l4) = if rng.chance(self.icmp_echo) {
            scanner.echo(rng, addrs)
        } else if scanner.tool == ToolStyle::Mirai {
            let port = PortMix::mirai(rng.unit());
            scanner.tcp(rng, addrs, port, SYN, (t_ns / 1_000_000) as u64)
        } else {
            let key = if rng.chance(FOCUS) {
                self.mix.head(unit_of(h >> 11))
            } else {
                self.mix.sample(rng)
            };
            match key.proto {
                portwatch_core::Proto::Udp if scanner.tool.sends_udp() => {
                    let payload = udp_payload(key.port, rng);
                    scanner.udp(rng, addrs, key.port, payload)
                }
                _ => scanner.tcp(rng, addrs, key.port, SYN, (t_ns / 1_000_000) as u64),
            }
        };
        let vlan = self.vlan();
        Emitted {
            frame: Frame::Ip { vlan, net, l4 },
            src: src_id,
        }
    }

    fn vlan(&mut self) -> Vlan {
        vlan(&mut self.rng, self.vlan)
    }

    fn backscatter_packet(&mut self, v6: bool) -> Emitted {
        let rng = &mut self.rng;
        let (src_id, src, dst) = if v6 && self.victims_v6 > 0 {
            let i = self.law_victims_v6.sample(rng) as u32;
            let key = hash2(self.key, 0x7);
            (
                self.v6_victim_base + i,
                v6_pool_addr(key, i),
                self.v6.random(rng),
            )
        } else {
            let n = self.v4_victim_base + self.law_victims_v4.sample(rng) as u32;
            (
                n,
                u128::from(self.sources_v4.addr(n)),
                u128::from(self.v4.random(rng)),
            )
        };
        let is_v6 = v6 && self.victims_v6 > 0;
        let h = hash2(self.key, u64::from(src_id) ^ 0xb5);
        let service = victim_service(h);
        // Linux, Windows or network gear: initial TTL and SYN-ACK shape.
        let os = (h >> 20) % 3;
        let ttl = [64u8, 128, 255][os as usize] - 5 - ((h >> 24) % 20) as u8;
        let net = if is_v6 {
            Net::V6 {
                src,
                dst,
                hop: ttl,
                flow: 0,
            }
        } else {
            Net::V4 {
                src: src as u32,
                dst: dst as u32,
                ttl,
                id: rng.next_u16(),
                df: os != 2,
                frag: 0,
            }
        };
        let client_port = rng.range_u16(1024, 65_535);
        let r = rng.unit();
        let l4 = if r < 0.55 {
            let (window, opts) = match os {
                0 => (
                    65_160,
                    TcpOpts::Linux {
                        tsval: rng.next_u32(),
                        tsecr: rng.next_u32(),
                    },
                ),
                1 => (65_535, TcpOpts::Windows),
                _ => (14_600, TcpOpts::Mss),
            };
            Transport::Tcp(Tcp {
                sport: service,
                dport: client_port,
                seq: rng.next_u32(),
                ack: rng.next_u32(),
                flags: SYN | ACK,
                window,
                opts,
            })
        } else if r < 0.80 {
            Transport::Tcp(Tcp {
                sport: service,
                dport: client_port,
                seq: 0,
                ack: rng.next_u32(),
                flags: RST | ACK,
                window: 0,
                opts: TcpOpts::None,
            })
        } else if r < 0.92 {
            icmp_error(rng, &net, client_port, service)
        } else {
            let body = if rng.chance(0.5) {
                IcmpBody::LinuxPing { len: 56 }
            } else {
                IcmpBody::Empty
            };
            Transport::Icmp {
                ty: if is_v6 { 129 } else { 0 },
                code: 0,
                rest: rng.next_u32(),
                body,
            }
        };
        let vlan = self.vlan();
        Emitted {
            frame: Frame::Ip { vlan, net, l4 },
            src: src_id,
        }
    }

    fn other_packet(&mut self, v6: bool, t_ns: i64) -> Emitted {
        let (src_id, addrs, _, h) = self.scanner(v6);
        // Stealth scans come from Nmap-like tools whatever the source's
        // usual style.
        let nmap = Scanner::new(ToolStyle::Nmap, h);
        let rng = &mut self.rng;
        let r = rng.unit();
        let (src4, dst4) = match addrs {
            Addrs::V4(s, d) => (s, d),
            Addrs::V6(..) => (0, 0),
        };
        let frame = if v6 || r < 0.40 {
            let port = self.mix.sample(rng).port;
            let (net, mut l4) = nmap.tcp(rng, addrs, port, ACK, 0);
            if let Transport::Tcp(t) = &mut l4 {
                t.ack = rng.next_u32();
                t.opts = TcpOpts::None;
            }
            Frame::Ip {
                vlan: Vlan::None,
                net,
                l4,
            }
        } else if r < 0.55 {
            let flags = [FIN, 0, FIN | PSH | URG][rng.below(3) as usize];
            let port = self.mix.sample(rng).port;
            let (net, mut l4) = nmap.tcp(rng, addrs, port, flags, 0);
            if let Transport::Tcp(t) = &mut l4 {
                t.opts = TcpOpts::None;
            }
            Frame::Ip {
                vlan: Vlan::None,
                net,
                l4,
            }
        } else if r < 0.70 {
            // The tail of a fragmented UDP datagram: no transport header.
            Frame::Ip {
                vlan: Vlan::None,
                net: Net::V4 {
                    src: src4,
                    dst: dst4,
                    ttl: 64 - 5 - (h % 20) as u8,
                    id: rng.next_u16(),
                    df: false,
                    frag: 185,
                },
                l4: Transport::Raw {
                    proto: IPPROTO_UDP,
                    len: 20 + rng.below(380) as u16,
                    head: 0x5858_5858_5858_5858,
                    fill: 0x58,
                },
            }
        } else if r < 0.80 {
            Frame::Ip {
                vlan: Vlan::None,
                net: Net::V4 {
                    src: src4,
                    dst: dst4,
                    ttl: 64 - 5 - (h % 20) as u8,
                    id: rng.next_u16(),
                    df: true,
                    frag: 0,
                },
                // An IPsec peer that went away: its SPI stays, the sequence
                // number climbs.
                l4: Transport::Raw {
                    proto: IPPROTO_ESP,
                    len: 56,
                    head: (h & 0xffff_ff00_0000_0000) | ((t_ns as u64 / 1_000_000) & 0xffff_ffff),
                    fill: 0xa5,
                },
            }
        } else if r < 0.90 {
            Frame::Ip {
                vlan: Vlan::None,
                net: Net::V4 {
                    src: src4,
                    dst: dst4,
                    ttl: 255 - 5 - (h % 20) as u8,
                    id: rng.next_u16(),
                    df: false,
                    frag: 0,
                },
                l4: Transport::Icmp {
                    ty: 13,
                    code: 0,
                    rest: rng.next_u32(),
                    body: IcmpBody::Timestamp {
                        originate: ((t_ns / 1_000_000) % 86_400_000) as u32,
                    },
                },
            }
        } else {
            Frame::Arp {
                vlan: Vlan::None,
                sender_ip: src4,
                target_ip: dst4,
            }
        };
        let vlan = self.vlan();
        Emitted {
            frame: with_vlan(frame, vlan),
            src: src_id,
        }
    }
}

fn unit_of(bits53: u64) -> f64 {
    (bits53 & ((1 << 53) - 1)) as f64 / (1u64 << 53) as f64
}

fn victim_service(h: u64) -> u16 {
    let total: u64 = VICTIM_SERVICES.iter().map(|s| s.1).sum();
    let mut x = h % total;
    for (port, w) in VICTIM_SERVICES {
        if x < w {
            return port;
        }
        x -= w;
    }
    80
}

/// An ICMP error quoting a packet the darknet address "sent" (someone
/// spoofed it): port unreachable for UDP to a reflector, host unreachable,
/// admin prohibited or TTL exceeded for TCP.
fn icmp_error(rng: &mut Rng, net: &Net, client_port: u16, service: u16) -> Transport {
    let udp = rng.chance(0.5);
    let proto = if udp { IPPROTO_UDP } else { IPPROTO_TCP };
    let dport = if udp {
        [53, 123, 1900, 11211][rng.below(4) as usize]
    } else {
        service
    };
    let exceeded = rng.chance(0.2);
    match *net {
        Net::V4 { src, dst, .. } => {
            let (ty, code) = match (exceeded, udp) {
                (true, _) => (11, 0),
                (false, true) => (3, 3),
                (false, false) => (3, [1u8, 13][rng.below(2) as usize]),
            };
            Transport::Icmp {
                ty,
                code,
                rest: 0,
                body: IcmpBody::QuoteV4 {
                    src: dst,
                    dst: src,
                    proto,
                    sport: client_port,
                    dport,
                    ttl: if exceeded { 1 } else { 50 },
                },
            }
        }
        Net::V6 { src, dst, .. } => {
            let (ty, code) = if exceeded { (3, 0) } else { (1, 4) };
            Transport::Icmp {
                ty,
                code,
                rest: 0,
                body: IcmpBody::QuoteV6 {
                    src: dst,
                    dst: src,
                    proto,
                    sport: client_port,
                    dport,
                },
            }
        }
    }
}

/// Tags a frame: `fraction` of frames get 802.1Q, a tenth of those QinQ.
pub(crate) fn vlan(rng: &mut Rng, fraction: f64) -> Vlan {
    if fraction <= 0.0 || !rng.chance(fraction) {
        return Vlan::None;
    }
    if rng.chance(0.1) {
        Vlan::QinQ {
            outer: 1000,
            inner: 100,
        }
    } else {
        Vlan::Dot1q(100 + rng.below(3) as u16)
    }
}

pub(crate) fn with_vlan(frame: Frame, v: Vlan) -> Frame {
    match frame {
        Frame::Ip { net, l4, .. } => Frame::Ip { vlan: v, net, l4 },
        Frame::Arp {
            sender_ip,
            target_ip,
            ..
        } => Frame::Arp {
            vlan: v,
            sender_ip,
            target_ip,
        },
    }
}
