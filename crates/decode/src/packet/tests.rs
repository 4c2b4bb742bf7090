//! Byte-literal tests for every link type and the edge cases of each layer.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use portwatch_core::{Class, DropReason, Event, OtherKind, PortKey, Proto, Timestamp, tcp_flags};

use super::decode;
use crate::LinkType;

const TS: Timestamp = Timestamp::from_secs(1_187_791_200);

/// dst 00:11:22:33:44:55, src 66:77:88:99:aa:bb, then the ethertype.
const ETH_V4: [u8; 14] = [
    0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0x08, 0x00,
];
const ETH_V6: [u8; 14] = [
    0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0x86, 0xdd,
];

/// IPv4, total length 44, IP ID 54321, TTL 64, TCP, 198.51.100.7 -> 192.0.2.1.
const IPV4_TCP: [u8; 20] = [
    0x45, 0x00, 0x00, 0x2c, 0xd4, 0x31, 0x00, 0x00, 0x40, 0x06, 0x00, 0x00, 198, 51, 100, 7, 192,
    0, 2, 1,
];

/// TCP 50000 -> 5168, seq 0x01020304, ack 0, data offset 6, SYN, window
/// 1024, option MSS 1460.
const TCP_SYN: [u8; 24] = [
    0xc3, 0x50, 0x14, 0x30, 0x01, 0x02, 0x03, 0x04, 0x00, 0x00, 0x00, 0x00, 0x60, 0x02, 0x04, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x02, 0x04, 0x05, 0xb4,
];

/// IPv6, payload length 24, next header TCP, hop limit 255,
/// 2001:db8::7 -> 2001:db8::1.
const IPV6_TCP: [u8; 40] = [
    0x60, 0x00, 0x00, 0x00, 0x00, 0x18, 0x06, 0xff, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 7, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
];

fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

/// The IPv4 header with another protocol, total length and fragment field.
fn ipv4(proto: u8, total: u16, frag: u16) -> Vec<u8> {
    let mut h = IPV4_TCP.to_vec();
    h[9] = proto;
    h[2..4].copy_from_slice(&total.to_be_bytes());
    h[6..8].copy_from_slice(&frag.to_be_bytes());
    h
}

/// The IPv6 header with another next header and payload length.
fn ipv6(next: u8, payload_len: u16) -> Vec<u8> {
    let mut h = IPV6_TCP.to_vec();
    h[6] = next;
    h[4..6].copy_from_slice(&payload_len.to_be_bytes());
    h
}

fn whole(link: LinkType, frame: &[u8]) -> Result<Event<'_>, DropReason> {
    decode(link, TS, frame, frame.len() as u32)
}

fn syn_key() -> Option<PortKey> {
    Some(PortKey::new(Proto::Tcp, 5168))
}

fn v4(a: [u8; 4]) -> IpAddr {
    IpAddr::V4(Ipv4Addr::from(a))
}

#[test]
fn ethernet_ipv4_tcp_syn_fills_every_field() {
    let frame = cat(&[&ETH_V4, &IPV4_TCP, &TCP_SYN]);
    let e = whole(LinkType::ETHERNET, &frame).unwrap();
    assert_eq!(e.ts, TS);
    assert_eq!(e.src, v4([198, 51, 100, 7]));
    assert_eq!(e.dst, v4([192, 0, 2, 1]));
    assert_eq!(e.proto, Some(Proto::Tcp));
    assert_eq!((e.sport, e.dport), (50000, 5168));
    assert_eq!(e.class, Class::Probe);
    assert_eq!(e.key, syn_key());
    assert_eq!(e.ip_len, 44);
    assert_eq!(e.fp.ttl, 64);
    assert_eq!(e.fp.ip_id, 54321);
    assert_eq!(e.fp.tcp_flags, tcp_flags::SYN);
    assert_eq!(e.fp.tcp_seq, 0x0102_0304);
    assert_eq!(e.fp.tcp_ack, 0);
    assert_eq!(e.fp.tcp_window, 1024);
    assert_eq!(e.fp.icmp_code, 0);
    assert_eq!(e.tcp_options, &[0x02, 0x04, 0x05, 0xb4]);
    assert!(e.payload.is_empty());
}

#[test]
fn ethernet_padding_is_not_payload() {
    let frame = cat(&[&ETH_V4, &IPV4_TCP, &TCP_SYN, &[0u8; 16]]);
    let e = whole(LinkType::ETHERNET, &frame).unwrap();
    assert!(e.payload.is_empty());
    assert_eq!(e.ip_len, 44);
}

#[test]
fn vlan_stacks_are_followed() {
    let ip_tcp = cat(&[&IPV4_TCP, &TCP_SYN]);
    for tags in [
        &[0x81, 0x00, 0x00, 0x64, 0x08, 0x00][..],
        &[0x88, 0xa8, 0x00, 0x0a, 0x81, 0x00, 0x00, 0x64, 0x08, 0x00],
        &[0x91, 0x00, 0x00, 0x0a, 0x81, 0x00, 0x00, 0x64, 0x08, 0x00],
        &[
            0x88, 0xa8, 0x00, 0x01, 0x91, 0x00, 0x00, 0x02, 0x81, 0x00, 0x00, 0x03, 0x08, 0x00,
        ],
    ] {
        let frame = cat(&[&ETH_V4[..12], tags, &ip_tcp]);
        let e = whole(LinkType::ETHERNET, &frame).unwrap();
        assert_eq!(e.key, syn_key(), "{tags:02x?}");
    }
    // A tag cut by the snaplen, or missing from a whole frame.
    let frame = cat(&[&ETH_V4[..12], &[0x81, 0x00, 0x00]]);
    assert_eq!(
        decode(LinkType::ETHERNET, TS, &frame, 60),
        Err(DropReason::Truncated)
    );
    assert_eq!(
        whole(LinkType::ETHERNET, &frame),
        Err(DropReason::MalformedLink)
    );
}

#[test]
fn pppoe_mpls_and_snap_lead_to_ip() {
    let ip_tcp = cat(&[&IPV4_TCP, &TCP_SYN]);
    let pppoe = cat(&[
        &ETH_V4[..12],
        &[0x88, 0x64, 0x11, 0x00, 0x00, 0x01, 0x00, 0x2e, 0x00, 0x21],
        &ip_tcp,
    ]);
    let mpls = cat(&[
        &ETH_V4[..12],
        &[0x88, 0x47, 0x00, 0x01, 0x00, 0x40, 0x00, 0x02, 0x01, 0x40],
        &ip_tcp,
    ]);
    let snap = cat(&[
        &ETH_V4[..12],
        &[0x00, 0x34, 0xaa, 0xaa, 0x03, 0x00, 0x00, 0x00, 0x08, 0x00],
        &ip_tcp,
    ]);
    for frame in [pppoe, mpls, snap] {
        assert_eq!(whole(LinkType::ETHERNET, &frame).unwrap().key, syn_key());
    }
}

#[test]
fn frames_without_ip_are_not_ip_events() {
    // ARP who-has, then LLDP, then an 802.3/LLC spanning-tree frame.
    let arp = cat(&[
        &ETH_V4[..12],
        &[0x08, 0x06, 0, 1, 8, 0, 6, 4, 0, 1],
        &[0u8; 18],
    ]);
    let lldp = cat(&[&ETH_V4[..12], &[0x88, 0xcc, 0x02, 0x07, 0x04]]);
    let stp = cat(&[
        &ETH_V4[..12],
        &[0x00, 0x26, 0x42, 0x42, 0x03, 0, 0, 0, 0, 0],
    ]);
    for frame in [arp, lldp, stp] {
        let e = whole(LinkType::ETHERNET, &frame).unwrap();
        assert_eq!(e.class, Class::Other(OtherKind::NotIp));
        assert_eq!(e.proto, None);
        assert_eq!(e.key, None);
        assert_eq!(e.src, IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        assert_eq!(e.dst, IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        assert_eq!(e.ts, TS);
    }
}

#[test]
fn ipv4_options_are_skipped() {
    let mut ip = ipv4(6, 48, 0);
    ip[0] = 0x46;
    let frame = cat(&[&ETH_V4, &ip, &[0x94, 0x04, 0x00, 0x00], &TCP_SYN]);
    let e = whole(LinkType::ETHERNET, &frame).unwrap();
    assert_eq!((e.sport, e.dport), (50000, 5168));
    assert_eq!(e.tcp_options, &[0x02, 0x04, 0x05, 0xb4]);
}

#[test]
fn ipv4_fragments() {
    // First fragment (more-fragments set, offset 0) decodes normally.
    let frame = cat(&[&ETH_V4, &ipv4(6, 44, 0x2000), &TCP_SYN]);
    assert_eq!(whole(LinkType::ETHERNET, &frame).unwrap().key, syn_key());
    // Offset 185 * 8: no transport header, even though bytes follow.
    let frame = cat(&[&ETH_V4, &ipv4(6, 44, 0x00b9), &TCP_SYN]);
    let e = whole(LinkType::ETHERNET, &frame).unwrap();
    assert_eq!(e.class, Class::Other(OtherKind::NonFirstFragment));
    assert_eq!(e.proto, Some(Proto::Tcp));
    assert_eq!((e.sport, e.dport, e.key), (0, 0, None));
    assert_eq!(e.src, v4([198, 51, 100, 7]));
    assert_eq!(e.fp.tcp_flags, 0);
}

#[test]
fn malformed_ipv4_headers() {
    let tcp = &TCP_SYN[..];
    let mut bad_version = IPV4_TCP;
    bad_version[0] = 0x55;
    let mut short_ihl = IPV4_TCP;
    short_ihl[0] = 0x44;
    let total_below_ihl = ipv4(6, 19, 0);
    let total_beyond_frame = ipv4(6, 200, 0);
    for ip in [
        &bad_version[..],
        &short_ihl,
        &total_below_ihl,
        &total_beyond_frame,
    ] {
        let frame = cat(&[&ETH_V4, ip, tcp]);
        assert_eq!(
            whole(LinkType::ETHERNET, &frame),
            Err(DropReason::MalformedIp)
        );
    }
    // Ethernet says IPv4 but the packet is IPv6.
    let frame = cat(&[&ETH_V4, &IPV6_TCP, tcp]);
    assert_eq!(
        whole(LinkType::ETHERNET, &frame),
        Err(DropReason::MalformedIp)
    );
    // The same oversize total length is fine when the snaplen cut the frame.
    let frame = cat(&[&ETH_V4, &total_beyond_frame, tcp]);
    let e = decode(LinkType::ETHERNET, TS, &frame, 214).unwrap();
    assert_eq!((e.key, e.ip_len), (syn_key(), 200));
}

#[test]
fn zero_total_length_from_offloading_hosts_uses_the_capture() {
    let frame = cat(&[&ETH_V4, &ipv4(6, 0, 0), &TCP_SYN]);
    let e = whole(LinkType::ETHERNET, &frame).unwrap();
    assert_eq!((e.key, e.ip_len), (syn_key(), 44));
}

#[test]
fn truncation_at_each_layer() {
    let frame = cat(&[&ETH_V4, &IPV4_TCP, &TCP_SYN]);
    let wire = frame.len() as u32;
    let cut_at = |n: usize| decode(LinkType::ETHERNET, TS, &frame[..n], wire);
    let ended_at = |n: usize| whole(LinkType::ETHERNET, &frame[..n]);
    // Inside the Ethernet header, the IP header, the TCP ports-to-flags part.
    for n in [0, 13, 14, 33, 34, 47] {
        assert_eq!(cut_at(n), Err(DropReason::Truncated), "cut at {n}");
    }
    assert_eq!(ended_at(13), Err(DropReason::MalformedLink));
    assert_eq!(ended_at(33), Err(DropReason::MalformedIp));
    // A whole frame whose IP total length covers a TCP header it lacks.
    let mut short_tcp = cat(&[&ETH_V4, &ipv4(6, 30, 0), &TCP_SYN[..10]]);
    assert_eq!(
        whole(LinkType::ETHERNET, &short_tcp),
        Err(DropReason::MalformedTransport)
    );
    short_tcp.truncate(40);
    assert_eq!(
        decode(LinkType::ETHERNET, TS, &short_tcp, 44),
        Err(DropReason::Truncated)
    );
    // Ports and flags present, window and options cut: still a probe.
    let e = cut_at(48).unwrap();
    assert_eq!((e.key, e.fp.tcp_window), (syn_key(), 0));
    assert!(e.tcp_options.is_empty());
    let e = cut_at(56).unwrap();
    assert_eq!(e.fp.tcp_window, 1024);
    assert_eq!(e.tcp_options, &[0x02, 0x04]);
}

#[test]
fn tcp_data_offset_and_payload() {
    let mut tcp = TCP_SYN;
    tcp[12] = 0x40;
    let frame = cat(&[&ETH_V4, &IPV4_TCP, &tcp]);
    assert_eq!(
        whole(LinkType::ETHERNET, &frame),
        Err(DropReason::MalformedTransport)
    );
    // Data offset 5 with four payload bytes; a cut payload is fine.
    let mut tcp = TCP_SYN;
    tcp[12] = 0x50;
    let frame = cat(&[&ETH_V4, &IPV4_TCP, &tcp]);
    let e = whole(LinkType::ETHERNET, &frame).unwrap();
    assert!(e.tcp_options.is_empty());
    assert_eq!(e.payload, &[0x02, 0x04, 0x05, 0xb4]);
    let e = decode(LinkType::ETHERNET, TS, &frame[..56], 58).unwrap();
    assert_eq!(e.payload, &[0x02, 0x04]);
    // Data offset 15 beyond a whole packet's end.
    let mut tcp = TCP_SYN;
    tcp[12] = 0xf0;
    let frame = cat(&[&ETH_V4, &IPV4_TCP, &tcp]);
    assert_eq!(
        whole(LinkType::ETHERNET, &frame),
        Err(DropReason::MalformedTransport)
    );
}

#[test]
fn tcp_flags_decide_the_class() {
    let with_flags = |flags: u8| {
        let mut tcp = TCP_SYN;
        tcp[13] = flags;
        let frame = cat(&[&ETH_V4, &IPV4_TCP, &tcp]);
        let e = whole(LinkType::ETHERNET, &frame).unwrap();
        (e.class, e.key)
    };
    let backscatter = (Class::Backscatter, Some(PortKey::new(Proto::Tcp, 50000)));
    assert_eq!(with_flags(tcp_flags::SYN | tcp_flags::ACK), backscatter);
    assert_eq!(with_flags(tcp_flags::RST), backscatter);
    assert_eq!(
        with_flags(tcp_flags::ACK),
        (Class::Other(OtherKind::TcpOtherFlags), None)
    );
}

#[test]
fn udp_port_zero_and_length_bound() {
    // UDP 53 -> 0, length 12: four payload bytes, then two bytes of trailer.
    let udp = [
        0x00, 0x35, 0x00, 0x00, 0x00, 0x0c, 0x00, 0x00, 1, 2, 3, 4, 9, 9,
    ];
    let frame = cat(&[&ETH_V4, &ipv4(17, 34, 0), &udp]);
    let e = whole(LinkType::ETHERNET, &frame).unwrap();
    assert_eq!(e.proto, Some(Proto::Udp));
    assert_eq!((e.sport, e.dport), (53, 0));
    assert_eq!(
        (e.class, e.key),
        (Class::Probe, Some(PortKey::new(Proto::Udp, 0)))
    );
    assert_eq!(e.payload, &[1, 2, 3, 4]);
    let frame = cat(&[&ETH_V4, &ipv4(17, 27, 0), &udp[..7]]);
    assert_eq!(
        whole(LinkType::ETHERNET, &frame),
        Err(DropReason::MalformedTransport)
    );
}

#[test]
fn icmp_type_is_the_port_and_code_is_kept() {
    let echo = [8, 0, 0xf7, 0xff, 0, 1, 0, 1, b'h', b'i'];
    let frame = cat(&[&ETH_V4, &ipv4(1, 30, 0), &echo]);
    let e = whole(LinkType::ETHERNET, &frame).unwrap();
    assert_eq!((e.proto, e.dport, e.sport), (Some(Proto::Icmp), 8, 0));
    assert_eq!(
        (e.class, e.key),
        (Class::Probe, Some(PortKey::new(Proto::Icmp, 8)))
    );
    assert_eq!(e.payload, b"hi");
    let unreachable = [3, 3, 0, 0, 0, 0, 0, 0];
    let frame = cat(&[&ETH_V4, &ipv4(1, 28, 0), &unreachable]);
    let e = whole(LinkType::ETHERNET, &frame).unwrap();
    assert_eq!(
        (e.class, e.dport, e.fp.icmp_code),
        (Class::Backscatter, 3, 3)
    );
    let echo6 = [128, 0, 0, 0, 0, 1, 0, 1];
    let frame = cat(&[&ETH_V6, &ipv6(58, 8), &echo6]);
    let e = whole(LinkType::ETHERNET, &frame).unwrap();
    assert_eq!(
        (e.class, e.key),
        (Class::Probe, Some(PortKey::new(Proto::Icmpv6, 128)))
    );
    assert_eq!(e.fp.ttl, 255);
    assert_eq!(e.ip_len, 48);
}

#[test]
fn ipv6_extension_headers_are_walked() {
    let hop_by_hop = [60, 0, 1, 4, 0, 0, 0, 0]; // next: destination options
    let dest_opts = [43, 1, 1, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]; // next: routing, 16 bytes
    let routing = [44, 0, 0, 0, 0, 0, 0, 0]; // next: fragment
    let fragment = [51, 0, 0x00, 0x01, 0, 0, 0, 7]; // offset 0, more fragments; next: AH
    let auth = [6, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1]; // 12 bytes; next: TCP
    let exts = cat(&[&hop_by_hop, &dest_opts, &routing, &fragment, &auth]);
    let plen = (exts.len() + TCP_SYN.len()) as u16;
    let frame = cat(&[&ETH_V6, &ipv6(0, plen), &exts, &TCP_SYN]);
    let e = whole(LinkType::ETHERNET, &frame).unwrap();
    assert_eq!(e.key, syn_key());
    assert_eq!(
        e.src,
        IpAddr::V6("2001:db8::7".parse::<Ipv6Addr>().unwrap())
    );
    assert_eq!(e.ip_len, 40 + u32::from(plen));
    assert_eq!(e.fp.ip_id, 0);
    // An extension header cut by the snaplen, and one missing from a whole packet.
    assert_eq!(
        decode(LinkType::ETHERNET, TS, &frame[..60], frame.len() as u32),
        Err(DropReason::Truncated)
    );
    let frame = cat(&[&ETH_V6, &ipv6(0, 4), &hop_by_hop[..4]]);
    assert_eq!(
        whole(LinkType::ETHERNET, &frame),
        Err(DropReason::MalformedIp)
    );
}

#[test]
fn ipv6_non_first_fragment_and_other_protocols() {
    let fragment = [17, 0, 0x05, 0xa8, 0, 0, 0, 7]; // offset 181 * 8, next UDP
    let frame = cat(&[&ETH_V6, &ipv6(44, 16), &fragment, &[0u8; 8]]);
    let e = whole(LinkType::ETHERNET, &frame).unwrap();
    assert_eq!(e.class, Class::Other(OtherKind::NonFirstFragment));
    assert_eq!((e.proto, e.dport, e.key), (Some(Proto::Udp), 0, None));
    for next in [50, 59, 47, 132] {
        let frame = cat(&[&ETH_V6, &ipv6(next, 8), &[0u8; 8]]);
        let e = whole(LinkType::ETHERNET, &frame).unwrap();
        assert_eq!(
            e.class,
            Class::Other(OtherKind::OtherIpProto),
            "next header {next}"
        );
        assert_eq!((e.proto, e.key), (None, None));
    }
    let frame = cat(&[&ETH_V4, &ipv4(47, 24, 0), &[0u8; 4]]);
    let e = whole(LinkType::ETHERNET, &frame).unwrap();
    assert_eq!(
        (e.class, e.proto),
        (Class::Other(OtherKind::OtherIpProto), None)
    );
    assert_eq!(e.fp.ttl, 64);
}

#[test]
fn raw_ip_link_types() {
    let v4 = cat(&[&IPV4_TCP, &TCP_SYN]);
    let v6 = cat(&[&IPV6_TCP, &TCP_SYN]);
    for link in [LinkType::RAW, LinkType::RAW_BSD, LinkType::RAW_OPENBSD] {
        assert_eq!(whole(link, &v4).unwrap().key, syn_key());
        assert_eq!(whole(link, &v6).unwrap().key, syn_key());
    }
    assert_eq!(whole(LinkType::IPV4, &v4).unwrap().key, syn_key());
    assert_eq!(whole(LinkType::IPV6, &v6).unwrap().key, syn_key());
    assert_eq!(whole(LinkType::IPV4, &v6), Err(DropReason::MalformedIp));
    assert_eq!(whole(LinkType::IPV6, &v4), Err(DropReason::MalformedIp));
    assert_eq!(whole(LinkType::RAW, &[]), Err(DropReason::MalformedIp));
    assert_eq!(
        decode(LinkType::RAW, TS, &[], 40),
        Err(DropReason::Truncated)
    );
}

#[test]
fn linux_cooked_sll_and_sll2() {
    // SLL: packet type 0 (to us), ARPHRD_ETHER, address length 6, address, IPv4.
    let sll = [
        0, 0, 0, 1, 0, 6, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0, 0, 0x08, 0x00,
    ];
    let frame = cat(&[&sll, &IPV4_TCP, &TCP_SYN]);
    assert_eq!(whole(LinkType::LINUX_SLL, &frame).unwrap().key, syn_key());
    let mut arp = sll;
    arp[14..16].copy_from_slice(&[0x08, 0x06]);
    let frame = cat(&[&arp, &[0u8; 28]]);
    let e = whole(LinkType::LINUX_SLL, &frame).unwrap();
    assert_eq!(e.class, Class::Other(OtherKind::NotIp));
    // A netlink socket's protocol field is a netlink family, not an ethertype.
    let mut netlink = sll;
    netlink[2..4].copy_from_slice(&824u16.to_be_bytes());
    netlink[14..16].copy_from_slice(&[0x08, 0x00]);
    let frame = cat(&[&netlink, &[0u8; 20]]);
    let e = whole(LinkType::LINUX_SLL, &frame).unwrap();
    assert_eq!(e.class, Class::Other(OtherKind::NotIp));
    assert_eq!(
        whole(LinkType::LINUX_SLL, &sll[..15]),
        Err(DropReason::MalformedLink)
    );

    // SLL2: protocol IPv6, reserved, ifindex 2, ARPHRD_ETHER, type, address.
    let sll2 = [
        0x86, 0xdd, 0, 0, 0, 0, 0, 2, 0, 1, 0, 6, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0, 0,
    ];
    let frame = cat(&[&sll2, &IPV6_TCP, &TCP_SYN]);
    assert_eq!(whole(LinkType::LINUX_SLL2, &frame).unwrap().key, syn_key());
    assert_eq!(
        decode(LinkType::LINUX_SLL2, TS, &sll2[..19], 80),
        Err(DropReason::Truncated)
    );
}

#[test]
fn nflog_in_either_byte_order() {
    let packet = cat(&[&IPV4_TCP, &TCP_SYN]);
    let len = (4 + packet.len()) as u16;
    // Little-endian TLVs: a packet header TLV (type 1), a prefix TLV (type 10)
    // of 5 bytes plus padding, then the payload (type 9).
    let le = cat(&[
        &[2, 0, 0, 1],
        &[8, 0, 1, 0, 0x08, 0x00, 3, 0],
        &[9, 0, 10, 0, b'd', b'r', b'o', b'p', b' ', 0, 0, 0],
        &len.to_le_bytes(),
        &[9, 0],
        &packet,
    ]);
    assert_eq!(whole(LinkType::NFLOG, &le).unwrap().key, syn_key());
    let be = cat(&[
        &[2, 0, 0, 1],
        &[0, 8, 0, 1, 0x08, 0x00, 3, 0],
        &len.to_be_bytes(),
        &[0, 9],
        &packet,
    ]);
    assert_eq!(whole(LinkType::NFLOG, &be).unwrap().key, syn_key());
    // IPv6 family; a payload TLV cut by nflog-range still yields the probe.
    let packet6 = cat(&[&IPV6_TCP, &TCP_SYN[..14]]);
    let len6 = (4 + packet6.len()) as u16;
    let six = cat(&[&[10, 0, 0, 1], &len6.to_le_bytes(), &[9, 0], &packet6]);
    assert_eq!(whole(LinkType::NFLOG, &six).unwrap().key, syn_key());
    // No payload TLV: nothing of the packet was logged.
    assert_eq!(
        whole(LinkType::NFLOG, &[2, 0, 0, 1, 8, 0, 1, 0, 0x08, 0x00, 3, 0]),
        Err(DropReason::Truncated)
    );
    // A TLV length below its own header.
    assert_eq!(
        whole(LinkType::NFLOG, &[2, 0, 0, 1, 2, 0, 9, 0]),
        Err(DropReason::MalformedLink)
    );
    // An unknown family: not IP.
    let other = cat(&[&[7, 0, 0, 1], &len.to_le_bytes(), &[9, 0], &packet]);
    let e = whole(LinkType::NFLOG, &other).unwrap();
    assert_eq!(e.class, Class::Other(OtherKind::NotIp));
}

#[test]
fn bsd_null_and_loop() {
    let v4 = cat(&[&IPV4_TCP, &TCP_SYN]);
    let v6 = cat(&[&IPV6_TCP, &TCP_SYN]);
    for af in [2u32.to_le_bytes(), 2u32.to_be_bytes()] {
        let frame = cat(&[&af, &v4]);
        assert_eq!(whole(LinkType::NULL, &frame).unwrap().key, syn_key());
    }
    for af in [24u32, 28, 30] {
        for bytes in [af.to_le_bytes(), af.to_be_bytes()] {
            let frame = cat(&[&bytes, &v6]);
            assert_eq!(
                whole(LinkType::NULL, &frame).unwrap().key,
                syn_key(),
                "{af}"
            );
        }
    }
    let frame = cat(&[&2u32.to_be_bytes(), &v4]);
    assert_eq!(whole(LinkType::LOOP, &frame).unwrap().key, syn_key());
    // LOOP is network byte order only.
    let frame = cat(&[&2u32.to_le_bytes(), &v4]);
    let e = whole(LinkType::LOOP, &frame).unwrap();
    assert_eq!(e.class, Class::Other(OtherKind::NotIp));
    // An address family that is neither.
    let frame = cat(&[&7u32.to_le_bytes(), &v4]);
    let e = whole(LinkType::NULL, &frame).unwrap();
    assert_eq!(e.class, Class::Other(OtherKind::NotIp));
    assert_eq!(
        whole(LinkType::NULL, &[2, 0]),
        Err(DropReason::MalformedLink)
    );
}

#[test]
fn unknown_link_types_are_unsupported() {
    let frame = cat(&[&ETH_V4, &IPV4_TCP, &TCP_SYN]);
    for link in [
        LinkType(105),
        LinkType(127),
        LinkType(9),
        LinkType(u16::MAX),
    ] {
        assert_eq!(whole(link, &frame), Err(DropReason::UnsupportedLinkType));
    }
}
