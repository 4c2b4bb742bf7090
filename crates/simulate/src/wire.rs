//! Frames on the wire: Ethernet (optionally 802.1Q or QinQ tagged), IPv4 or
//! IPv6, TCP/UDP/ICMP, ARP. Rendering appends straight to the output buffer
//! with correct lengths and checksums, so nothing is allocated per packet.

use portwatch_core::{Proto, TransportInfo};

/// The sensor's own MAC (locally administered) and its upstream router's.
const SENSOR_MAC: [u8; 6] = [0x02, 0x00, 0x5c, 0xa1, 0x00, 0x01];
const ROUTER_MAC: [u8; 6] = [0x02, 0x00, 0x5c, 0xa1, 0x00, 0xfe];
/// Ethernet's minimum frame without the FCS; receivers see short frames
/// padded to this length.
const MIN_FRAME: usize = 60;

const ETHERTYPE_IPV4: u16 = 0x0800;
const ETHERTYPE_IPV6: u16 = 0x86dd;
const ETHERTYPE_ARP: u16 = 0x0806;
const TPID_DOT1Q: u16 = 0x8100;
const TPID_QINQ: u16 = 0x88a8;

pub(crate) const IPPROTO_ICMP: u8 = 1;
pub(crate) const IPPROTO_TCP: u8 = 6;
pub(crate) const IPPROTO_UDP: u8 = 17;
pub(crate) const IPPROTO_ESP: u8 = 50;
pub(crate) const IPPROTO_ICMPV6: u8 = 58;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Vlan {
    None,
    Dot1q(u16),
    QinQ { outer: u16, inner: u16 },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Net {
    V4 {
        src: u32,
        dst: u32,
        ttl: u8,
        id: u16,
        df: bool,
        /// Fragment offset in 8-byte units; non-zero makes this a
        /// non-first fragment whose transport bytes are opaque.
        frag: u16,
    },
    V6 {
        src: u128,
        dst: u128,
        hop: u8,
        flow: u32,
    },
}

impl Net {
    pub(crate) fn is_v6(&self) -> bool {
        matches!(self, Net::V6 { .. })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TcpOpts {
    None,
    /// MSS 1460 alone (Nmap, many SYN-ACKs).
    Mss,
    /// Linux SYN: MSS, SACK permitted, timestamps, NOP, window scale 7.
    Linux {
        tsval: u32,
        tsecr: u32,
    },
    /// Windows SYN: MSS, NOP, window scale 8, NOP, NOP, SACK permitted.
    Windows,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Tcp {
    pub sport: u16,
    pub dport: u16,
    pub seq: u32,
    pub ack: u32,
    pub flags: u8,
    pub window: u16,
    pub opts: TcpOpts,
}

/// A UDP payload from a fixed template, optionally with a 16- or 32-bit
/// field (transaction or request id) patched in at `at`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Payload {
    pub bytes: &'static [u8],
    pub patch: Option<(usize, u32, u8)>,
}

impl Payload {
    pub(crate) const EMPTY: Payload = Payload {
        bytes: &[],
        patch: None,
    };
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IcmpBody {
    Empty,
    /// Linux ping: 8 bytes of timeval then the bytes 0x10, 0x11, ...
    LinuxPing {
        len: u8,
    },
    /// Windows ping: 32 bytes "abcdefghijklmnopqrstuvwabcdefghi".
    WindowsPing,
    /// ICMP timestamp request: originate, receive, transmit (12 bytes).
    Timestamp {
        originate: u32,
    },
    /// An error quoting the IPv4 packet that caused it: header plus the
    /// first 8 bytes of its transport header.
    QuoteV4 {
        src: u32,
        dst: u32,
        proto: u8,
        sport: u16,
        dport: u16,
        ttl: u8,
    },
    QuoteV6 {
        src: u128,
        dst: u128,
        proto: u8,
        sport: u16,
        dport: u16,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Transport {
    Tcp(Tcp),
    Udp {
        sport: u16,
        dport: u16,
        payload: Payload,
    },
    /// ICMP or ICMPv6, by the network layer's version.
    Icmp {
        ty: u8,
        code: u8,
        /// The four bytes after the checksum (id and sequence for echo).
        rest: u32,
        body: IcmpBody,
    },
    /// Opaque bytes of another protocol (ESP) or of a non-first fragment:
    /// `head` (big-endian, e.g. an ESP SPI and sequence number), then
    /// `fill` up to `len`.
    Raw {
        proto: u8,
        len: u16,
        head: u64,
        fill: u8,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Frame {
    Ip {
        vlan: Vlan,
        net: Net,
        l4: Transport,
    },
    /// ARP who-has for a darknet address: no IP at all.
    Arp {
        vlan: Vlan,
        sender_ip: u32,
        target_ip: u32,
    },
}

impl Frame {
    /// What [`portwatch_core::classify`] needs; `None` for ARP.
    pub(crate) fn transport_info(&self) -> Option<TransportInfo> {
        let Frame::Ip { net, l4, .. } = self else {
            return None;
        };
        let non_first_fragment = matches!(net, Net::V4 { frag, .. } if *frag != 0);
        let mut t = TransportInfo {
            non_first_fragment,
            ..TransportInfo::default()
        };
        match *l4 {
            Transport::Tcp(tcp) => {
                t.proto = Some(Proto::Tcp);
                t.sport = tcp.sport;
                t.dport = tcp.dport;
                t.tcp_flags = tcp.flags;
            }
            Transport::Udp { sport, dport, .. } => {
                t.proto = Some(Proto::Udp);
                t.sport = sport;
                t.dport = dport;
            }
            Transport::Icmp { ty, .. } => {
                t.proto = Some(if net.is_v6() {
                    Proto::Icmpv6
                } else {
                    Proto::Icmp
                });
                t.dport = u16::from(ty);
            }
            Transport::Raw { proto, .. } => t.proto = Proto::from_number(proto),
        }
        Some(t)
    }

    pub(crate) fn vlan(&self) -> Vlan {
        match self {
            Frame::Ip { vlan, .. } | Frame::Arp { vlan, .. } => *vlan,
        }
    }

    /// Appends the frame's bytes to `buf`.
    pub(crate) fn render(&self, buf: &mut Vec<u8>) {
        let start = buf.len();
        match self {
            Frame::Ip { vlan, net, l4 } => {
                let ethertype = if net.is_v6() {
                    ETHERTYPE_IPV6
                } else {
                    ETHERTYPE_IPV4
                };
                ethernet(buf, SENSOR_MAC, *vlan, ethertype);
                ip(buf, net, l4);
            }
            Frame::Arp {
                vlan,
                sender_ip,
                target_ip,
            } => {
                let mut b = [0u8; 6];
                b.fill(0xff);
                ethernet(buf, b, *vlan, ETHERTYPE_ARP);
                buf.extend_from_slice(&[0, 1, 8, 0, 6, 4, 0, 1]);
                buf.extend_from_slice(&ROUTER_MAC);
                buf.extend_from_slice(&sender_ip.to_be_bytes());
                buf.extend_from_slice(&[0; 6]);
                buf.extend_from_slice(&target_ip.to_be_bytes());
            }
        }
        let len = buf.len() - start;
        if len < MIN_FRAME {
            buf.resize(start + MIN_FRAME, 0);
        }
    }
}

fn ethernet(buf: &mut Vec<u8>, dst: [u8; 6], vlan: Vlan, ethertype: u16) {
    buf.extend_from_slice(&dst);
    buf.extend_from_slice(&ROUTER_MAC);
    match vlan {
        Vlan::None => {}
        Vlan::Dot1q(id) => {
            buf.extend_from_slice(&TPID_DOT1Q.to_be_bytes());
            buf.extend_from_slice(&(id & 0x0fff).to_be_bytes());
        }
        Vlan::QinQ { outer, inner } => {
            buf.extend_from_slice(&TPID_QINQ.to_be_bytes());
            buf.extend_from_slice(&(outer & 0x0fff).to_be_bytes());
            buf.extend_from_slice(&TPID_DOT1Q.to_be_bytes());
            buf.extend_from_slice(&(inner & 0x0fff).to_be_bytes());
        }
    }
    buf.extend_from_slice(&ethertype.to_be_bytes());
}

fn ip_proto(net: &Net, l4: &Transport) -> u8 {
    match l4 {
        Transport::Tcp(_) => IPPROTO_TCP,
        Transport::Udp { .. } => IPPROTO_UDP,
        Transport::Icmp { .. } if net.is_v6() => IPPROTO_ICMPV6,
        Transport::Icmp { .. } => IPPROTO_ICMP,
        Transport::Raw { proto, .. } => *proto,
    }
}

fn ip(buf: &mut Vec<u8>, net: &Net, l4: &Transport) {
    let proto = ip_proto(net, l4);
    match *net {
        Net::V4 {
            src,
            dst,
            ttl,
            id,
            df,
            frag,
        } => {
            let h = buf.len();
            let flags_frag = (if df { 0x4000u16 } else { 0 }) | (frag & 0x1fff);
            buf.extend_from_slice(&[0x45, 0, 0, 0]);
            buf.extend_from_slice(&id.to_be_bytes());
            buf.extend_from_slice(&flags_frag.to_be_bytes());
            buf.extend_from_slice(&[ttl, proto, 0, 0]);
            buf.extend_from_slice(&src.to_be_bytes());
            buf.extend_from_slice(&dst.to_be_bytes());
            let t = buf.len();
            transport(buf, l4, net);
            let seg_len = buf.len() - t;
            let total = (buf.len() - h) as u16;
            buf[h + 2..h + 4].copy_from_slice(&total.to_be_bytes());
            let c = finish(sum(&buf[h..t]));
            buf[h + 10..h + 12].copy_from_slice(&c.to_be_bytes());
            if frag == 0 {
                let pseudo = sum(&src.to_be_bytes())
                    + sum(&dst.to_be_bytes())
                    + u64::from(proto)
                    + seg_len as u64;
                transport_checksum(&mut buf[t..], l4, pseudo, false);
            }
        }
        Net::V6 {
            src,
            dst,
            hop,
            flow,
        } => {
            let h = buf.len();
            let first = (6u32 << 28) | (flow & 0x000f_ffff);
            buf.extend_from_slice(&first.to_be_bytes());
            buf.extend_from_slice(&[0, 0, proto, hop]);
            buf.extend_from_slice(&src.to_be_bytes());
            buf.extend_from_slice(&dst.to_be_bytes());
            let t = buf.len();
            transport(buf, l4, net);
            let seg_len = buf.len() - t;
            buf[h + 4..h + 6].copy_from_slice(&(seg_len as u16).to_be_bytes());
            let pseudo = sum(&src.to_be_bytes())
                + sum(&dst.to_be_bytes())
                + u64::from(proto)
                + seg_len as u64;
            transport_checksum(&mut buf[t..], l4, pseudo, true);
        }
    }
}

fn transport(buf: &mut Vec<u8>, l4: &Transport, net: &Net) {
    match *l4 {
        Transport::Tcp(tcp) => {
            let opts_len = match tcp.opts {
                TcpOpts::None => 0,
                TcpOpts::Mss => 4,
                TcpOpts::Linux { .. } => 20,
                TcpOpts::Windows => 12,
            };
            let offset = ((20 + opts_len) / 4) as u8;
            buf.extend_from_slice(&tcp.sport.to_be_bytes());
            buf.extend_from_slice(&tcp.dport.to_be_bytes());
            buf.extend_from_slice(&tcp.seq.to_be_bytes());
            buf.extend_from_slice(&tcp.ack.to_be_bytes());
            buf.extend_from_slice(&[offset << 4, tcp.flags]);
            buf.extend_from_slice(&tcp.window.to_be_bytes());
            buf.extend_from_slice(&[0, 0, 0, 0]);
            match tcp.opts {
                TcpOpts::None => {}
                TcpOpts::Mss => buf.extend_from_slice(&[2, 4, 0x05, 0xb4]),
                TcpOpts::Linux { tsval, tsecr } => {
                    buf.extend_from_slice(&[2, 4, 0x05, 0xb4, 4, 2, 8, 10]);
                    buf.extend_from_slice(&tsval.to_be_bytes());
                    buf.extend_from_slice(&tsecr.to_be_bytes());
                    buf.extend_from_slice(&[1, 3, 3, 7]);
                }
                TcpOpts::Windows => {
                    buf.extend_from_slice(&[2, 4, 0x05, 0xb4, 1, 3, 3, 8, 1, 1, 4, 2]);
                }
            }
        }
        Transport::Udp {
            sport,
            dport,
            payload,
        } => {
            let len = (8 + payload.bytes.len()) as u16;
            buf.extend_from_slice(&sport.to_be_bytes());
            buf.extend_from_slice(&dport.to_be_bytes());
            buf.extend_from_slice(&len.to_be_bytes());
            buf.extend_from_slice(&[0, 0]);
            let p = buf.len();
            buf.extend_from_slice(payload.bytes);
            if let Some((at, value, width)) = payload.patch {
                let bytes = value.to_be_bytes();
                let w = usize::from(width.min(4));
                if let Some(dst) = buf.get_mut(p + at..p + at + w) {
                    dst.copy_from_slice(&bytes[4 - w..]);
                }
            }
        }
        Transport::Icmp {
            ty,
            code,
            rest,
            body,
        } => {
            buf.extend_from_slice(&[ty, code, 0, 0]);
            buf.extend_from_slice(&rest.to_be_bytes());
            icmp_body(buf, body, net);
        }
        Transport::Raw {
            len, head, fill, ..
        } => {
            let start = buf.len();
            let head = head.to_be_bytes();
            let n = usize::from(len);
            buf.extend_from_slice(&head[..n.min(8)]);
            buf.resize(start + n, fill);
        }
    }
}

fn icmp_body(buf: &mut Vec<u8>, body: IcmpBody, net: &Net) {
    match body {
        IcmpBody::Empty => {}
        IcmpBody::LinuxPing { len } => {
            let stamp = match net {
                Net::V4 { id, .. } => u64::from(*id) << 20,
                Net::V6 { flow, .. } => u64::from(*flow) << 12,
            };
            buf.extend_from_slice(&stamp.to_le_bytes());
            buf.extend((0..len.saturating_sub(8)).map(|i| 0x10u8.wrapping_add(i)));
        }
        IcmpBody::WindowsPing => buf.extend_from_slice(b"abcdefghijklmnopqrstuvwabcdefghi"),
        IcmpBody::Timestamp { originate } => {
            buf.extend_from_slice(&originate.to_be_bytes());
            buf.extend_from_slice(&[0; 8]);
        }
        IcmpBody::QuoteV4 {
            src,
            dst,
            proto,
            sport,
            dport,
            ttl,
        } => {
            // The quoted packet claimed to be a 40-byte segment; only its
            // first 8 transport bytes come back, as RFC 792 says.
            let h = buf.len();
            buf.extend_from_slice(&[0x45, 0, 0, 40, 0, 0, 0x40, 0, ttl, proto, 0, 0]);
            buf.extend_from_slice(&src.to_be_bytes());
            buf.extend_from_slice(&dst.to_be_bytes());
            let c = finish(sum(&buf[h..h + 20]));
            buf[h + 10..h + 12].copy_from_slice(&c.to_be_bytes());
            quoted_ports(buf, proto, sport, dport);
        }
        IcmpBody::QuoteV6 {
            src,
            dst,
            proto,
            sport,
            dport,
        } => {
            buf.extend_from_slice(&[0x60, 0, 0, 0, 0, 20, proto, 64]);
            buf.extend_from_slice(&src.to_be_bytes());
            buf.extend_from_slice(&dst.to_be_bytes());
            quoted_ports(buf, proto, sport, dport);
        }
    }
}

fn quoted_ports(buf: &mut Vec<u8>, proto: u8, sport: u16, dport: u16) {
    buf.extend_from_slice(&sport.to_be_bytes());
    buf.extend_from_slice(&dport.to_be_bytes());
    if proto == IPPROTO_UDP {
        buf.extend_from_slice(&[0, 8, 0, 0]);
    } else {
        buf.extend_from_slice(&sport.rotate_left(7).to_be_bytes());
        buf.extend_from_slice(&dport.rotate_left(3).to_be_bytes());
    }
}

/// Fills in the checksum of a transport segment already in `seg`. ICMPv4
/// has no pseudo-header; ICMPv6, TCP and UDP do.
fn transport_checksum(seg: &mut [u8], l4: &Transport, pseudo: u64, v6: bool) {
    let (at, with_pseudo) = match l4 {
        Transport::Tcp(_) => (16, true),
        Transport::Udp { .. } => (6, true),
        Transport::Icmp { .. } => (2, v6),
        Transport::Raw { .. } => return,
    };
    let base = if with_pseudo { pseudo } else { 0 };
    let mut c = finish(base + sum(seg));
    if c == 0 && matches!(l4, Transport::Udp { .. }) {
        // Zero means "no checksum" in UDP; its one's complement twin is sent.
        c = 0xffff;
    }
    if let Some(dst) = seg.get_mut(at..at + 2) {
        dst.copy_from_slice(&c.to_be_bytes());
    }
}

/// The 16-bit big-endian word sum of `data` (odd length padded with zero),
/// not yet folded.
pub(crate) fn sum(data: &[u8]) -> u64 {
    let mut chunks = data.chunks_exact(2);
    let mut s: u64 = chunks
        .by_ref()
        .map(|c| u64::from(u16::from_be_bytes([c[0], c[1]])))
        .sum();
    if let [last] = chunks.remainder() {
        s += u64::from(*last) << 8;
    }
    s
}

/// Folds a word sum and complements it: the Internet checksum.
pub(crate) fn finish(mut s: u64) -> u16 {
    while s > 0xffff {
        s = (s & 0xffff) + (s >> 16);
    }
    !(s as u16)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(f: &Frame) -> Vec<u8> {
        let mut b = Vec::new();
        f.render(&mut b);
        b
    }

    #[test]
    fn minimal_ipv4_syn_is_padded_and_checksummed() {
        let f = Frame::Ip {
            vlan: Vlan::None,
            net: Net::V4 {
                src: 0x0102_0304,
                dst: 0xc612_0001,
                ttl: 240,
                id: 54321,
                df: false,
                frag: 0,
            },
            l4: Transport::Tcp(Tcp {
                sport: 40000,
                dport: 5168,
                seq: 7,
                ack: 0,
                flags: 0x02,
                window: 65535,
                opts: TcpOpts::None,
            }),
        };
        let b = render(&f);
        assert_eq!(b.len(), 60);
        assert_eq!(&b[12..14], &[0x08, 0x00]);
        assert_eq!(&b[14..20], &[0x45, 0, 0, 40, 0xd4, 0x31]);
        // A header whose checksum is right sums to 0xffff.
        assert_eq!(finish(sum(&b[14..34])), 0);
        let pseudo = sum(&b[26..34]) + 6 + 20;
        assert_eq!(finish(pseudo + sum(&b[34..54])), 0);
        assert_eq!(&b[34..38], &[0x9c, 0x40, 0x14, 0x30]);
        assert_eq!(&b[54..], &[0; 6]);
    }

    #[test]
    fn qinq_udp_v6_lengths_and_checksum() {
        static P: [u8; 5] = *b"hello";
        let f = Frame::Ip {
            vlan: Vlan::QinQ {
                outer: 1000,
                inner: 100,
            },
            net: Net::V6 {
                src: 0x2400 << 112 | 1,
                dst: 0x2001_0db8 << 96 | 2,
                hop: 50,
                flow: 0xabcde,
            },
            l4: Transport::Udp {
                sport: 5060,
                dport: 5060,
                payload: Payload {
                    bytes: &P,
                    patch: Some((0, 0x4a, 1)),
                },
            },
        };
        let b = render(&f);
        assert_eq!(
            &b[12..22],
            &[0x88, 0xa8, 0x03, 0xe8, 0x81, 0x00, 0, 100, 0x86, 0xdd]
        );
        let ip = &b[22..];
        assert_eq!(ip.len(), 40 + 8 + 5);
        assert_eq!(&ip[4..6], &[0, 13]);
        assert_eq!(&ip[48..], b"Jello");
        let pseudo = sum(&ip[8..40]) + 17 + 13;
        assert_eq!(finish(pseudo + sum(&ip[40..])), 0);
    }

    #[test]
    fn arp_is_not_ip() {
        let f = Frame::Arp {
            vlan: Vlan::Dot1q(100),
            sender_ip: 1,
            target_ip: 2,
        };
        let b = render(&f);
        assert_eq!(b.len(), 64 - 4);
        assert_eq!(&b[12..18], &[0x81, 0x00, 0, 100, 0x08, 0x06]);
        assert_eq!(f.transport_info(), None);
    }
}
