use std::net::IpAddr;

use portwatch_core::{Class, DropReason, Event, OtherKind, PortKey, Proto, Timestamp, tcp_flags};

use super::*;

const SYN: &str = "Mar 11 20:35:11 linux kernel: [463490.251762] DROP IN=eth1 OUT= \
    MAC=23:87:fc:c6:24:58:00:21:3f:98:99:78:09:00 SRC=192.168.10.55 DST=192.168.10.1 LEN=44 \
    TOS=0x00 PREC=0x00 TTL=53 ID=15270 PROTO=TCP SPT=56247 DPT=1025 WINDOW=3072 RES=0x00 SYN \
    URGP=0 OPT (020405B4) ";
const UDP: &str = "Mar 11 20:41:04 linux kernel: [463843.171785] DROP IN=eth1 OUT= \
    MAC=23:87:fc:c6:24:58:00:21:3f:98:99:78:09:00 SRC=192.168.10.55 DST=192.168.10.1 LEN=28 \
    TOS=0x00 PREC=0x00 TTL=50 ID=54985 PROTO=UDP SPT=44318 DPT=1146 LEN=8 ";
const PING: &str = "Mar 23 21:29:27 linux kernel: [1503546.179768] ICMP IN=eth0 OUT= \
    MAC=23:87:fc:c6:24:58:00:21:3f:98:99:78:09:00 SRC=192.168.10.55 DST=192.168.10.1 LEN=28 \
    TOS=0x00 PREC=0x00 TTL=64 ID=18443 PROTO=ICMP TYPE=8 CODE=0 ID=2158 SEQ=512";
const V6_SYN: &str = "Mar 17 13:39:13 linux kernel: [956932.482352] DROP IN=eth0 OUT= \
    MAC=00:13:46:3a:41:36:00:1b:b9:76:9c:e4:86:dd SRC=2001:0db8:0000:f101:0000:0000:0000:0002 \
    DST=2001:0db8:0000:f101:0000:0000:0000:0001 LEN=80 TC=0 HOPLIMIT=64 FLOWLBL=0 PROTO=TCP \
    SPT=46395 DPT=80 WINDOW=5760 RES=0x00 SYN URGP=0 ";
const V6_ND: &str = "Mar 17 13:39:13 linux kernel: [956932.482127] DROP IN=eth0 OUT= \
    MAC=33:33:ff:00:00:01:00:1b:b9:76:9c:e4:86:dd SRC=2001:0db8:0000:f101:0000:0000:0000:0002 \
    DST=ff02:0000:0000:0000:0000:0001:ff00:0001 LEN=72 TC=0 HOPLIMIT=255 FLOWLBL=0 \
    PROTO=ICMPv6 TYPE=135 CODE=0";

fn parser() -> LogParser {
    let mut opts = ParseOptions::new(Timestamp::from_secs(0));
    opts.year = Some(2019);
    LogParser::new(opts)
}

/// The event of a line that must give one, detached from the line (the
/// parser leaves options and payload empty anyway).
fn event(line: &str) -> Event<'static> {
    match parser().parse_line(line) {
        LineOutcome::Event(e) => Event {
            tcp_options: &[],
            payload: &[],
            ..e
        },
        other => panic!("{line}\n=> {other:?}"),
    }
}

fn error(line: &str) -> LineError {
    match parser().parse_line(line) {
        LineOutcome::Error(e) => e,
        other => panic!("{line}\n=> {other:?}"),
    }
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn utc(s: &str) -> Timestamp {
    Timestamp::parse_rfc3339(s).unwrap()
}

#[test]
fn tcp_syn_every_field() {
    let e = event(SYN);
    assert_eq!(e.ts, utc("2019-03-11T20:35:11Z"));
    assert_eq!(e.src, ip("192.168.10.55"));
    assert_eq!(e.dst, ip("192.168.10.1"));
    assert_eq!(e.proto, Some(Proto::Tcp));
    assert_eq!((e.sport, e.dport), (56247, 1025));
    assert_eq!(e.class, Class::Probe);
    assert_eq!(e.key, Some(PortKey::new(Proto::Tcp, 1025)));
    assert_eq!(e.ip_len, 44);
    assert_eq!(e.fp.ttl, 53);
    assert_eq!(e.fp.ip_id, 15270);
    assert_eq!(e.fp.tcp_flags, tcp_flags::SYN);
    assert_eq!(e.fp.tcp_window, 3072);
    assert_eq!((e.fp.tcp_seq, e.fp.tcp_ack, e.fp.icmp_code), (0, 0, 0));
    assert!(e.tcp_options.is_empty() && e.payload.is_empty());
}

#[test]
fn log_prefixes_do_not_matter() {
    let fields = "IN=eth0 OUT= MAC=00:00:00:00:00:00:00:00:00:00:00:00:08:00 SRC=192.0.2.7 \
        DST=198.18.0.5 LEN=44 TOS=0x00 PREC=0x00 TTL=40 ID=54321 PROTO=TCP SPT=40000 DPT=5168 \
        WINDOW=1024 RES=0x00 SYN URGP=0";
    let want = event(&format!("Aug 22 14:00:01 fw kernel: {fields}"));
    for prefix in [
        "kernel: [12345.678901] DROP ",
        "kernel: [UFW BLOCK] ",
        "kernel: [ 3445.031964] [UFW BLOCK] ",
        "kernel: FW-IN: ",
        "kernel: [  449.059606] Shorewall:wlan0_mac:DROP:",
        "kernel: nft drop in: ",
        "ulogd[612]: ",
        " ",
    ] {
        let line = format!("Aug 22 14:00:01 fw {prefix}{fields}");
        assert_eq!(event(&line), want, "{line}");
    }
    assert_eq!(want.key, Some(PortKey::new(Proto::Tcp, 5168)));
    assert_eq!(want.fp.ip_id, 54321);
}

#[test]
fn stamp_formats() {
    let fields = "kernel: DROP: IN=eth0 OUT= SRC=4.4.4.4 DST=1.2.3.4 LEN=40 TOS=0x00 \
        PREC=0x00 TTL=228 ID=54321 PROTO=TCP SPT=58923 DPT=21 WINDOW=65535 RES=0x00 SYN URGP=0";
    for (stamp, want) in [
        (
            "2015-03-07T05:09:30.045015+02:00 servername",
            "2015-03-07T03:09:30.045015Z",
        ),
        (
            "2015-03-07T05:09:30+0200 servername",
            "2015-03-07T03:09:30Z",
        ),
        (
            "2015-03-07T03:09:30.045015+0000 servername",
            "2015-03-07T03:09:30.045015Z",
        ),
        ("2015-03-07T03:09:30Z servername", "2015-03-07T03:09:30Z"),
        (
            "2015-03-06T22:09:30-05:00 servername",
            "2015-03-07T03:09:30Z",
        ),
        (
            "<4>1 2015-03-07T05:09:30.5+02:00 servername",
            "2015-03-07T03:09:30.5Z",
        ),
        ("<4>Mar  7 03:09:30 servername", "2019-03-07T03:09:30Z"),
        ("Mar  7 03:09:30.25 servername", "2019-03-07T03:09:30.25Z"),
        (
            "1425697770.000001 servername",
            "2015-03-07T03:09:30.000001Z",
        ),
    ] {
        let line = format!("{stamp} {fields}");
        assert_eq!(event(&line).ts, utc(want), "{line}");
    }
    // RFC 5424 with the rest of its header and the kernel's uptime stamp.
    let line = "<4>1 2019-08-21T10:00:01.123456+02:00 host kernel - - - [12345.678901] \
        IN=eth0 OUT= SRC=192.0.2.7 DST=198.18.0.5 LEN=44 TTL=40 ID=1 PROTO=TCP SPT=1 DPT=23 \
        WINDOW=1 RES=0x00 SYN URGP=0";
    let e = event(line);
    assert_eq!(e.ts, utc("2019-08-21T08:00:01.123456Z"));
    assert_eq!(e.dport, 23);
}

#[test]
fn utc_offset_applies_to_zoneless_stamps_only() {
    let tail = "h kernel: IN=eth0 OUT= SRC=192.0.2.7 DST=198.18.0.5 LEN=28 TTL=1 ID=1 \
        PROTO=UDP SPT=1 DPT=53 LEN=8";
    let mut opts = ParseOptions::new(Timestamp::from_secs(0));
    opts.year = Some(2019);
    opts.utc_offset_secs = 2 * 3600;
    let mut p = LogParser::new(opts);
    let ts = |p: &mut LogParser, line: String| match p.parse_line(&line) {
        LineOutcome::Event(e) => e.ts,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        ts(&mut p, format!("Aug 21 10:00:01 {tail}")),
        utc("2019-08-21T08:00:01Z")
    );
    assert_eq!(
        ts(&mut p, format!("2019-08-21T10:00:01.5 {tail}")),
        utc("2019-08-21T08:00:01.5Z")
    );
    assert_eq!(
        ts(&mut p, format!("2019-08-21T10:00:01-01:00 {tail}")),
        utc("2019-08-21T11:00:01Z")
    );
    // Midnight local time at UTC-05:00 is 05:00 UTC.
    opts.utc_offset_secs = -5 * 3600;
    let mut p = LogParser::new(opts);
    assert_eq!(
        ts(&mut p, format!("Jan  1 00:00:00 {tail}")),
        utc("2019-01-01T05:00:00Z")
    );
}

#[test]
fn year_rolls_over_within_a_file() {
    let tail = "h kernel: IN=eth0 OUT= SRC=192.0.2.7 DST=198.18.0.5 LEN=28 TTL=1 ID=1 \
        PROTO=UDP SPT=1 DPT=53 LEN=8";
    // Reference (mtime) in January 2020: the December lines are 2019's.
    let mut p = LogParser::new(ParseOptions::new(utc("2020-01-02T00:00:00Z")));
    let mut years = Vec::new();
    for stamp in [
        "Dec 30 23:00:00",
        "Dec 31 23:59:59",
        "Jan  1 00:00:00",
        "Dec 31 23:59:58",
        "Jan  1 00:00:01",
    ] {
        let line = format!("{stamp} {tail}");
        match p.parse_line(&line) {
            LineOutcome::Event(e) => years.push(e.ts.to_civil().0),
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(years, [2019, 2019, 2020, 2019, 2020]);
    // Other programs' lines move the year along too.
    let mut p = parser();
    assert_eq!(
        p.parse_line("Dec 31 23:59:59 h cron[1]: x"),
        LineOutcome::NotFirewall
    );
    let line = format!("Jan  1 00:00:01 {tail}");
    let LineOutcome::Event(e) = p.parse_line(&line) else {
        panic!()
    };
    assert_eq!(e.ts, utc("2020-01-01T00:00:01Z"));
}

#[test]
fn leap_day_in_a_common_year_is_a_bad_timestamp() {
    let e = error(
        "Feb 29 10:00:00 h kernel: IN=eth0 OUT= SRC=192.0.2.7 DST=198.18.0.5 LEN=28 \
         PROTO=UDP SPT=1 DPT=53 LEN=8",
    );
    assert_eq!(e.reason, DropReason::BadTimestamp);
    assert!(
        e.message.contains("2019-02-29 does not exist"),
        "{}",
        e.message
    );
    let fields = "h kernel: IN=eth0 OUT= SRC=192.0.2.7 DST=198.18.0.5 LEN=28 PROTO=UDP SPT=1 \
        DPT=53 LEN=8";
    for stamp in [
        "Apr 31 10:00:00",
        "2019-04-31T10:00:00",
        "2019-04-31T10:00:00Z",
    ] {
        let e = error(&format!("{stamp} {fields}"));
        assert_eq!(e.reason, DropReason::BadTimestamp, "{stamp}");
    }
}

#[test]
fn extreme_options_do_not_panic() {
    for (year, offset) in [(i32::MAX, i32::MAX), (i32::MIN, i32::MIN), (0, 0)] {
        let mut opts = ParseOptions::new(Timestamp::from_nanos(i64::MIN));
        opts.year = Some(year);
        opts.utc_offset_secs = offset;
        let mut p = LogParser::new(opts);
        for line in [SYN, UDP, "Jan  1 00:00:00 h x: y", SYN] {
            let _ = p.parse_line(line);
        }
    }
    let mut p = LogParser::new(ParseOptions::new(Timestamp::from_nanos(i64::MAX)));
    assert!(matches!(p.parse_line(SYN), LineOutcome::Event(_)));
}

#[test]
fn udp_and_its_second_len() {
    let e = event(UDP);
    assert_eq!(e.proto, Some(Proto::Udp));
    assert_eq!((e.sport, e.dport), (44318, 1146));
    assert_eq!(e.ip_len, 28);
    assert_eq!(e.class, Class::Probe);
    assert_eq!(e.key, Some(PortKey::new(Proto::Udp, 1146)));
    assert_eq!(e.fp.tcp_flags, 0);
}

#[test]
fn icmp_echo_keeps_the_outer_id() {
    let e = event(PING);
    assert_eq!(e.proto, Some(Proto::Icmp));
    assert_eq!(e.dport, 8);
    assert_eq!(e.class, Class::Probe);
    assert_eq!(e.key, Some(PortKey::new(Proto::Icmp, 8)));
    assert_eq!(e.fp.ip_id, 18443);
    assert_eq!(e.fp.icmp_code, 0);
    let odd = event(&PING.replace("CODE=0", "CODE=2"));
    assert_eq!(odd.fp.icmp_code, 2);
    assert_eq!(odd.class, Class::Probe);
}

#[test]
fn icmp_error_quotes_a_packet_that_is_not_read() {
    let line = "Aug 21 10:00:01 fw kernel: DROP IN=eth0 OUT= SRC=203.0.113.9 DST=198.18.0.5 \
        LEN=56 TOS=0x00 PREC=0xC0 TTL=250 ID=777 PROTO=ICMP TYPE=3 CODE=3 [SRC=198.18.0.5 \
        DST=203.0.113.9 LEN=40 TOS=0x00 PREC=0x00 TTL=63 ID=1 DF PROTO=TCP SPT=80 DPT=4444 \
        WINDOW=0 RES=0x00 ACK SYN URGP=0 ] MTU=1500";
    let e = event(line);
    assert_eq!(e.src, ip("203.0.113.9"));
    assert_eq!(e.dst, ip("198.18.0.5"));
    assert_eq!((e.ip_len, e.fp.ttl, e.fp.ip_id), (56, 250, 777));
    assert_eq!((e.proto, e.sport, e.dport), (Some(Proto::Icmp), 0, 3));
    assert_eq!(e.fp.icmp_code, 3);
    assert_eq!(e.fp.tcp_flags, 0);
    assert_eq!(e.class, Class::Backscatter);
    assert_eq!(e.key, Some(PortKey::new(Proto::Icmp, 3)));
    // The quoted packet may itself be INCOMPLETE, with brackets of its own.
    let nested = line.replace(
        "SPT=80 DPT=4444 WINDOW=0 RES=0x00 ACK SYN URGP=0",
        "INCOMPLETE [8 bytes]",
    );
    assert_eq!(event(&nested).class, Class::Backscatter);

    let v6 = "Aug 21 10:00:01 fw kernel: IN=eth0 OUT= SRC=2001:db8::9 DST=2001:db8::5 LEN=120 \
        TC=0 HOPLIMIT=60 FLOWLBL=0 PROTO=ICMPv6 TYPE=1 CODE=4 [SRC=2001:db8::5 \
        DST=2001:db8::9 LEN=72 TC=0 HOPLIMIT=64 FLOWLBL=0 PROTO=UDP SPT=53 DPT=33434 LEN=32 ] ";
    let e = event(v6);
    assert_eq!((e.src, e.dst), (ip("2001:db8::9"), ip("2001:db8::5")));
    assert_eq!((e.proto, e.dport, e.fp.ttl), (Some(Proto::Icmpv6), 1, 60));
    assert_eq!(e.class, Class::Backscatter);
}

#[test]
fn ipv6() {
    let e = event(V6_SYN);
    assert_eq!(e.src, ip("2001:db8:0:f101::2"));
    assert_eq!(e.dst, ip("2001:db8:0:f101::1"));
    assert_eq!((e.ip_len, e.fp.ttl, e.fp.ip_id), (80, 64, 0));
    assert_eq!(e.key, Some(PortKey::new(Proto::Tcp, 80)));
    let e = event(V6_ND);
    assert_eq!((e.proto, e.dport), (Some(Proto::Icmpv6), 135));
    assert_eq!(e.class, Class::Other(OtherKind::IcmpOther));
    // Extension headers logged with --log-ip-options come before PROTO=.
    let opts = V6_SYN.replace("FLOWLBL=0 ", "FLOWLBL=0 OPT ( ) OPT ( ) ");
    assert_eq!(event(&opts).key, Some(PortKey::new(Proto::Tcp, 80)));
    let echo = V6_ND.replace("TYPE=135 CODE=0", "TYPE=128 CODE=0 ID=7 SEQ=1");
    assert_eq!(event(&echo).class, Class::Probe);
}

#[test]
fn tcp_flags_sequence_numbers_and_backscatter() {
    let all = SYN.replace(" SYN ", " CWR ECE URG ACK PSH RST SYN FIN ");
    assert_eq!(event(&all).fp.tcp_flags, 0xff);
    let seq = SYN.replace(
        "WINDOW=3072 RES=0x00 SYN",
        "SEQ=3232238081 ACK=4294967295 WINDOW=3072 RES=0x00 ACK PSH",
    );
    let e = event(&seq);
    assert_eq!((e.fp.tcp_seq, e.fp.tcp_ack), (3_232_238_081, u32::MAX));
    assert_eq!(e.fp.tcp_flags, tcp_flags::ACK | tcp_flags::PSH);
    assert_eq!(e.class, Class::Other(OtherKind::TcpOtherFlags));
    assert_eq!(e.key, None);
    let synack = event(&SYN.replace(" SYN ", " ACK SYN "));
    assert_eq!(synack.class, Class::Backscatter);
    assert_eq!(synack.key, Some(PortKey::new(Proto::Tcp, 56247)));
    let rst = event(&SYN.replace(" SYN ", " RST "));
    assert_eq!(rst.class, Class::Backscatter);
    let null = event(&SYN.replace(" SYN ", " "));
    assert_eq!(null.fp.tcp_flags, 0);
    assert_eq!(null.class, Class::Other(OtherKind::TcpOtherFlags));
}

#[test]
fn fragments() {
    // IPv4: FRAG: appears only for a non-zero offset, and the kernel then
    // writes nothing after PROTO=.
    let later = "Aug 21 10:00:01 fw kernel: IN=eth0 OUT= SRC=192.0.2.7 DST=198.18.0.5 LEN=548 \
        TOS=0x00 PREC=0x00 TTL=50 ID=4242 FRAG:185 PROTO=UDP ";
    let e = event(later);
    assert_eq!(e.class, Class::Other(OtherKind::NonFirstFragment));
    assert_eq!(
        (e.proto, e.sport, e.dport, e.key),
        (Some(Proto::Udp), 0, 0, None)
    );
    assert_eq!(e.fp.ip_id, 4242);
    let tcp = later.replace("PROTO=UDP", "PROTO=TCP");
    assert_eq!(event(&tcp).class, Class::Other(OtherKind::NonFirstFragment));
    // A non-first AH fragment has no PROTO= at all.
    let ah = later.replace("PROTO=UDP ", "");
    let e = event(&ah);
    assert_eq!(
        (e.proto, e.class),
        (None, Class::Other(OtherKind::NonFirstFragment))
    );
    // The first fragment (MF set) is an ordinary packet.
    let first = UDP.replace("ID=54985 ", "ID=54985 MF ");
    assert_eq!(event(&first).class, Class::Probe);
    // IPv6 writes FRAG:0 for the first fragment, INCOMPLETE for "more follow".
    let v6 = "Aug 21 10:00:01 fw kernel: IN=eth0 OUT= SRC=2001:db8::9 DST=2001:db8::5 \
        LEN=1280 TC=0 HOPLIMIT=60 FLOWLBL=0 FRAG:0 INCOMPLETE ID:0000beef PROTO=UDP SPT=5 \
        DPT=53 LEN=1232 ";
    assert_eq!(event(v6).key, Some(PortKey::new(Proto::Udp, 53)));
    let v6_later = "Aug 21 10:00:01 fw kernel: IN=eth0 OUT= SRC=2001:db8::9 DST=2001:db8::5 \
        LEN=200 TC=0 HOPLIMIT=60 FLOWLBL=0 OPT ( FRAG:1232 ID:0000beef ) PROTO=UDP ";
    assert_eq!(
        event(v6_later).class,
        Class::Other(OtherKind::NonFirstFragment)
    );
}

#[test]
fn other_ip_protocols() {
    let gre = SYN.split(" PROTO=").next().unwrap().to_string() + " PROTO=47";
    let e = event(&gre);
    assert_eq!((e.proto, e.sport, e.dport), (None, 0, 0));
    assert_eq!(e.class, Class::Other(OtherKind::OtherIpProto));
    assert_eq!(e.key, None);
    for tail in [
        "PROTO=UDPLITE INCOMPLETE [0 bytes] ",
        "PROTO=ESP SPI=0x1234",
        "PROTO=AH ",
    ] {
        let line = SYN.split(" PROTO=").next().unwrap().to_string() + " " + tail;
        assert_eq!(event(&line).class, Class::Other(OtherKind::OtherIpProto));
    }
    let unknown_ext =
        V6_SYN.split(" PROTO=").next().unwrap().to_string() + " OPT ( Unknown Ext Hdr 139";
    assert_eq!(event(&unknown_ext).proto, None);
    let arp = "Aug 21 10:00:01 br kernel: IN=br0 OUT= ARP HTYPE=1 PTYPE=0x0800 OPCODE=1";
    let e = event(arp);
    assert_eq!(e.class, Class::Other(OtherKind::NotIp));
    assert_eq!(e.key, None);
}

#[test]
fn outbound_packets_are_read_too() {
    // psad's null_scan file ends with one: IN= empty, OUT=eth0, no MAC=.
    let line = "Mar 16 21:23:59 linux kernel: [898418.211047] IN= OUT=eth0 SRC=192.168.10.1 \
        DST=192.168.10.55 LEN=84 TOS=0x00 PREC=0x00 TTL=64 ID=0 DF PROTO=ICMP TYPE=8 CODE=0 \
        ID=11552 SEQ=1 ";
    assert_eq!(event(line).class, Class::Probe);
}

#[test]
fn incomplete_transport_header_is_malformed_transport() {
    let line = SYN.split(" SPT=").next().unwrap().to_string() + " INCOMPLETE [4 bytes] ";
    let e = error(&line);
    assert_eq!(e.reason, DropReason::MalformedTransport);
    assert!(e.message.contains("TCP header incomplete"), "{}", e.message);
    let icmp = PING.split(" TYPE=").next().unwrap().to_string() + " INCOMPLETE [2 bytes] ";
    assert_eq!(error(&icmp).reason, DropReason::MalformedTransport);
}

#[test]
fn half_lines_say_what_is_missing() {
    for (cut_after, missing) in [
        ("OUT= ", "SRC="),
        ("SRC=192.168.10.55 ", "DST="),
        ("DST=192.168.10.1 ", "LEN="),
        ("ID=15270 ", "PROTO="),
        ("PROTO=TCP ", "SPT="),
        ("SPT=56247 ", "DPT="),
        ("DPT=1025 WINDOW=3072 RES=0x00 SYN", "URGP="),
    ] {
        let end = SYN.find(cut_after).unwrap() + cut_after.len();
        let e = error(&SYN[..end]);
        assert_eq!(e.reason, DropReason::UnparseableLogLine);
        assert!(e.message.contains(missing), "{cut_after}: {}", e.message);
    }
    let e = error(&UDP[..UDP.find("DPT=1146").unwrap() + 8]);
    assert!(e.message.contains("LEN= after DPT="), "{}", e.message);
    let e = error(&PING[..PING.find("TYPE=8").unwrap() + 6]);
    assert!(e.message.contains("CODE="), "{}", e.message);
    let e = error(&SYN[..SYN.find("DST=192.168").unwrap() + 9]);
    assert!(
        e.message.contains("bad DST= value \"192.1\""),
        "{}",
        e.message
    );
}

/// Cutting a line anywhere gives an error or the same event (only an ICMP
/// code cut to its first digit cannot be told from a shorter one).
#[test]
fn every_cut_is_an_error_or_the_whole_event() {
    for line in [SYN, UDP, PING, V6_SYN, V6_ND] {
        let whole = event(line);
        for end in 0..line.len() {
            match parser().parse_line(&line[..end]) {
                LineOutcome::Event(e) => {
                    let e = Event { fp: whole.fp, ..e };
                    assert_eq!(e, whole, "cut at {end}: {}", &line[..end]);
                }
                LineOutcome::NotFirewall | LineOutcome::Error(_) => {}
            }
        }
    }
}

#[test]
fn crlf_and_newlines() {
    let want = event(SYN);
    assert_eq!(event(&format!("{SYN}\r\n")), want);
    assert_eq!(event(&format!("{}\r", SYN.trim_end())), want);
    assert_eq!(event(&format!("{PING}\r\n")).dport, 8);
}

#[test]
fn lines_from_other_programs_and_garbage() {
    let mut p = parser();
    for other in [
        "",
        "   ",
        "\r\n",
        "-- Logs begin at Wed 2019-08-21 10:00:01 CEST, end at Thu 2019-08-22 10:00:01 CEST. --",
        "-- Reboot --",
        "Aug 21 10:00:01 host sshd[812]: Accepted publickey for root from 192.0.2.1",
        "Aug 21 10:00:01 host su: LOGIN=root TTY=pts/0",
        "Aug 21 10:00:01 host kernel: [ 0.000000] Linux version 6.1.0",
        "2019-08-21T10:00:01+02:00 host systemd[1]: Started Session 1.",
    ] {
        assert_eq!(p.parse_line(other), LineOutcome::NotFirewall, "{other:?}");
    }
    for garbage in ["hello world", "\u{0}\u{1}\u{2}", "{\"IN\": 1}", "é ü"] {
        let e = error(garbage);
        assert_eq!(e.reason, DropReason::UnparseableLogLine, "{garbage:?}");
        assert!(e.message.starts_with("not a syslog line"), "{}", e.message);
    }
    for (bad, why) in [
        (
            "Xyz 11 20:35:11 linux kernel: IN=eth1 OUT= SRC=1.2.3.4",
            "no syslog timestamp",
        ),
        (
            "Mar 32 20:35:11 linux kernel: IN=eth1 OUT= SRC=1.2.3.4",
            "impossible date",
        ),
        ("<4>1 - host kernel - - - IN=eth1 OUT= SRC=1.2.3.4", "nil"),
    ] {
        let e = error(bad);
        assert_eq!(e.reason, DropReason::BadTimestamp, "{bad}");
        assert!(e.message.contains(why), "{}", e.message);
    }
}

#[test]
fn malformed_values() {
    for (from, to, what) in [
        ("DPT=1025", "DPT=65536", "bad DPT= value"),
        ("SPT=56247", "SPT=-1", "bad SPT= value"),
        ("TTL=53", "TTL=256", "bad TTL= value"),
        (
            "SRC=192.168.10.55",
            "SRC=2001:db8::1",
            "different IP versions",
        ),
        ("PROTO=TCP", "PROTO=TCPX", "unknown PROTO= value"),
        ("PROTO=TCP", "PROTO=", "unknown PROTO= value"),
        ("WINDOW=3072", "WINDOW=3072x", "bad WINDOW= value"),
    ] {
        let e = error(&SYN.replace(from, to));
        assert_eq!(e.reason, DropReason::UnparseableLogLine);
        assert!(e.message.contains(what), "{to}: {}", e.message);
    }
    // An overlong value is cut in the message.
    let long = SYN.replace("SRC=192.168.10.55", &format!("SRC={}", "9".repeat(500)));
    assert!(error(&long).message.len() < 100);
}
