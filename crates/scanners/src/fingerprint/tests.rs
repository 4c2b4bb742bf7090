use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use portwatch_core::{Class, Event, Fingerprint, PortKey, Proto, Timestamp, tcp_flags};
use proptest::prelude::*;

use super::*;

const LINUX_OPTS: [u8; 20] = [
    0x02, 0x04, 0x05, 0xb4, 0x04, 0x02, 0x08, 0x0a, 0x12, 0x34, 0x56, 0x78, 0, 0, 0, 0, 0x01, 0x03,
    0x03, 0x07,
];
const WINDOWS_OPTS: [u8; 12] = [
    0x02, 0x04, 0x05, 0xb4, 0x01, 0x03, 0x03, 0x08, 0x01, 0x01, 0x04, 0x02,
];

/// A pure SYN probe from 192.0.2.1 to `dst`, with a bare 40-byte IP packet
/// unless options are added.
fn syn(dst: IpAddr, dport: u16, ip_id: u16, seq: u32, window: u16, opts: &[u8]) -> Event<'_> {
    Event {
        ts: Timestamp::from_secs(0),
        src: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)),
        dst,
        proto: Some(Proto::Tcp),
        sport: 51_406,
        dport,
        class: Class::Probe,
        key: Some(PortKey::new(Proto::Tcp, dport)),
        ip_len: 40 + opts.len() as u32,
        fp: Fingerprint {
            ttl: 60,
            ip_id,
            tcp_flags: tcp_flags::SYN,
            tcp_seq: seq,
            tcp_window: window,
            ..Fingerprint::default()
        },
        tcp_options: opts,
        payload: &[],
    }
}

fn v4(a: u8, b: u8, c: u8, d: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(a, b, c, d))
}

#[test]
fn masscan_cookie_from_a_real_probe() {
    // ESnet masscan_tcp_0_1000, first SYN: 198.124.152.15:697, seq
    // 2109343474 (0x7dba06f2), IP ID 0x9c44 = 0x980f ^ 0x02b9 ^ 0x06f2.
    let dst = v4(198, 124, 152, 15);
    assert_eq!(
        tool_of(&syn(dst, 697, 0x9c44, 2_109_343_474, 1024, &[])),
        Tool::Masscan
    );
    assert_eq!(
        tool_of(&syn(dst, 697, 0x9c45, 2_109_343_474, 1024, &[])),
        Tool::Unknown
    );
    assert_eq!(
        tool_of(&syn(dst, 698, 0x9c44, 2_109_343_474, 1024, &[])),
        Tool::Unknown
    );
}

#[test]
fn masscan_needs_a_known_sequence_number() {
    // A log line reports seq 0: IP ID = dst ^ dport must not pass for Masscan.
    let dst = v4(198, 124, 152, 15);
    assert_eq!(tool_of(&syn(dst, 697, 0x9ab6, 0, 1024, &[])), Tool::Unknown);
}

#[test]
fn mirai_sequence_is_the_address_in_network_order() {
    let dst = v4(198, 18, 1, 7);
    assert_eq!(
        tool_of(&syn(dst, 23, 4321, 0xc612_0107, 14_600, &[])),
        Tool::Mirai
    );
    // The byte-swapped address is what a little-endian mistake would give.
    assert_eq!(
        tool_of(&syn(dst, 23, 4321, 0x0701_12c6, 14_600, &[])),
        Tool::Unknown
    );
}

#[test]
fn zmap_ip_id_on_any_ipv4_probe() {
    let dst = v4(198, 18, 1, 9);
    assert_eq!(tool_of(&syn(dst, 5168, 54_321, 7, 65_535, &[])), Tool::ZMap);
    let mut udp = syn(dst, 0, 54_321, 0, 0, &[]);
    udp.proto = Some(Proto::Udp);
    udp.fp.tcp_flags = 0;
    assert_eq!(tool_of(&udp), Tool::ZMap);
    assert_eq!(
        tool_of(&syn(dst, 5168, 54_320, 7, 65_535, &[])),
        Tool::Unknown
    );
    // An nmap SYN whose random IP ID happens to be 54321 (one in Chris
    // Sanders' synscan is) stays nmap.
    let mss = [0x02, 0x04, 0x05, 0xb4];
    assert_eq!(tool_of(&syn(dst, 5168, 54_321, 7, 2048, &mss)), Tool::Nmap);
}

#[test]
fn nmap_window_and_lone_mss() {
    let dst = v4(198, 18, 1, 2);
    let mss = [0x02, 0x04, 0x05, 0xb4];
    for w in [1024, 2048, 3072, 4096] {
        assert_eq!(
            tool_of(&syn(dst, 445, 1, 2, w, &mss)),
            Tool::Nmap,
            "window {w}"
        );
    }
    assert_eq!(tool_of(&syn(dst, 445, 1, 2, 512, &mss)), Tool::Unknown);
    assert_eq!(
        tool_of(&syn(dst, 445, 1, 2, 1024, &[0x02, 0x04, 0x05, 0xa0])),
        Tool::Unknown
    );
    let v6 = IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 1, 0, 0, 0, 0, 1));
    assert_eq!(tool_of(&syn(v6, 445, 0, 2, 1024, &mss)), Tool::Nmap);
}

#[test]
fn unicornscan_only_with_a_bare_header() {
    let dst = v4(198, 18, 1, 3);
    assert_eq!(tool_of(&syn(dst, 80, 1, 2, 4096, &[])), Tool::Unicornscan);
    // A log line of an MSS-carrying SYN: no option bytes, but LEN=44.
    let mut logged = syn(dst, 80, 1, 0, 4096, &[]);
    logged.ip_len = 44;
    assert_eq!(tool_of(&logged), Tool::Unknown);
}

#[test]
fn ordinary_stacks_and_hping3_are_unknown() {
    let dst = v4(198, 18, 1, 4);
    assert_eq!(
        tool_of(&syn(dst, 443, 777, 99, 64_240, &LINUX_OPTS)),
        Tool::Unknown
    );
    assert_eq!(
        tool_of(&syn(dst, 443, 777, 99, 64_240, &WINDOWS_OPTS)),
        Tool::Unknown
    );
    assert_eq!(tool_of(&syn(dst, 5168, 777, 99, 512, &[])), Tool::Unknown);
}

#[test]
fn backscatter_is_never_fingerprinted() {
    let mut ev = syn(v4(198, 18, 1, 5), 80, 54_321, 1, 65_535, &[]);
    ev.class = Class::Backscatter;
    ev.fp.tcp_flags = tcp_flags::SYN | tcp_flags::ACK;
    assert_eq!(tool_of(&ev), Tool::Unknown);
}

#[test]
fn names() {
    let names: Vec<&str> = Tool::ALL.iter().map(|t| t.as_str()).collect();
    assert_eq!(
        names,
        ["zmap", "masscan", "mirai", "nmap", "unicornscan", "unknown"]
    );
    assert_eq!(Tool::Nmap.to_string(), "nmap");
}

proptest! {
    #[test]
    fn any_masscan_cookie_is_recognised(dst in any::<u32>(), dport in any::<u16>(), seq in 1u32..) {
        let ip_id = (dst ^ u32::from(dport) ^ seq) as u16;
        prop_assume!(ip_id != 54_321);
        let ev = syn(IpAddr::V4(Ipv4Addr::from_bits(dst)), dport, ip_id, seq, 1024, &[]);
        prop_assert_eq!(tool_of(&ev), Tool::Masscan);
    }

    /// With ordinary options no rule can fire unless the IP ID or sequence
    /// number happens to hit one of the cookies, which the filter excludes.
    #[test]
    fn linux_syns_are_unknown(dst in any::<u32>(), dport in any::<u16>(), seq in any::<u32>(), ip_id in any::<u16>(), window in any::<u16>()) {
        prop_assume!(ip_id != 54_321 && seq != dst);
        prop_assume!(ip_id != (dst ^ u32::from(dport) ^ seq) as u16);
        let ev = syn(IpAddr::V4(Ipv4Addr::from_bits(dst)), dport, ip_id, seq, window, &LINUX_OPTS);
        prop_assert_eq!(tool_of(&ev), Tool::Unknown);
    }
}

#[test]
fn names_read_back() {
    for t in Tool::ALL {
        assert_eq!(Tool::from_name(t.as_str()), Some(t));
    }
    assert_eq!(Tool::from_name("hping3"), None);
}
