//! Every psad test log (shared/data/external/psad-iptables-logs), read end
//! to end: checked against what its file name says, against counts taken by
//! hand with grep, and against a plain substring count of its raw text.

// Test helpers outside #[test] functions unwrap too: a panic is a failure here.
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::path::PathBuf;

use portwatch_core::{Class, DropReason, OtherKind, PortKey, Proto, Timestamp};
use portwatch_fwlog::{LineOutcome, LogParser, ParseOptions, sniff};

fn shared_data() -> PathBuf {
    match std::env::var_os("PORTWATCH_SHARED_DATA") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/external"),
    }
}

fn psad_dir() -> Option<PathBuf> {
    let dir = shared_data().join("psad-iptables-logs");
    dir.join("iptables").is_dir().then_some(dir)
}

/// What the parser made of one file.
#[derive(Debug, Default)]
struct Tally {
    lines: usize,
    probes: BTreeMap<PortKey, usize>,
    backscatter: usize,
    other: BTreeMap<OtherKind, usize>,
    /// Destination ports of TCP events that are neither probe nor backscatter.
    tcp_other_ports: BTreeSet<u16>,
    dsts: BTreeSet<IpAddr>,
    srcs: BTreeSet<IpAddr>,
    first_ts: Option<Timestamp>,
    per_proto: BTreeMap<Option<Proto>, usize>,
    errors: Vec<(usize, DropReason, String)>,
    not_firewall: usize,
}

impl Tally {
    fn probes(&self) -> usize {
        self.probes.values().sum()
    }

    fn other(&self, kind: OtherKind) -> usize {
        self.other.get(&kind).copied().unwrap_or(0)
    }

    fn probe_ports(&self, proto: Proto) -> BTreeSet<u16> {
        self.probes
            .keys()
            .filter(|k| k.proto == proto)
            .map(|k| k.port)
            .collect()
    }
}

fn parse_text(text: &str) -> Tally {
    let mut opts = ParseOptions::new(Timestamp::from_secs(0));
    opts.year = Some(2019);
    let mut parser = LogParser::new(opts);
    let mut t = Tally::default();
    for (n, line) in text.lines().enumerate() {
        t.lines += 1;
        match parser.parse_line(line) {
            LineOutcome::Event(e) => {
                t.first_ts.get_or_insert(e.ts);
                t.dsts.insert(e.dst);
                t.srcs.insert(e.src);
                *t.per_proto.entry(e.proto).or_default() += 1;
                match e.class {
                    Class::Probe => *t.probes.entry(e.key.unwrap()).or_default() += 1,
                    Class::Backscatter => t.backscatter += 1,
                    Class::Other(kind) => {
                        *t.other.entry(kind).or_default() += 1;
                        if e.proto == Some(Proto::Tcp) {
                            t.tcp_other_ports.insert(e.dport);
                        }
                    }
                }
            }
            LineOutcome::NotFirewall => t.not_firewall += 1,
            LineOutcome::Error(e) => t.errors.push((n + 1, e.reason, e.message)),
        }
    }
    t
}

/// (file, lines, probes, backscatter, TCP other flags, ICMP other, other IP
/// protocol, errors), counted by hand with grep over the raw files, e.g.
/// `grep PROTO=TCP f | grep ' SYN ' | grep -v ' ACK ' | grep -v ' RST ' | wc -l`
/// for TCP probes, `grep -Ec 'PROTO=([0-9]+|UDPLITE|AH|ESP)'` for other
/// protocols, `grep -o 'TYPE=[0-9]*'` for the ICMP types.
type Counts = (usize, usize, usize, usize, usize, usize, usize);
#[rustfmt::skip]
const HAND_COUNTS: [(&str, Counts); 25] = [
    ("ack_scan_1000_1150", (302, 0, 0, 302, 0, 0, 0)),
    ("fin_scan_1000_1150", (302, 0, 0, 302, 0, 0, 0)),
    ("fwknop_spa_pkt", (1, 1, 0, 0, 0, 0, 0)),
    // ICMP echo requests with an invalid code 2: still echo requests.
    ("invalid_icmp_type_code", (5, 5, 0, 0, 0, 0, 0)),
    ("ipv4_igmp", (4, 0, 0, 0, 0, 4, 0)),
    ("ipv4_valid_ping", (5, 5, 0, 0, 0, 0, 0)),
    // ICMPv6 neighbour solicitations (type 135).
    ("ipv6_invalid_icmp6_type_code", (2, 0, 0, 0, 2, 0, 0)),
    // The one line carries a `grep -H` file-name prefix before its stamp.
    ("ipv6_ms_sql_server_sig_match", (1, 0, 0, 0, 0, 0, 1)),
    ("ipv6_ping_scan", (2, 0, 0, 0, 2, 0, 0)),
    // 1002 SYNs, 3 ACK RST (backscatter), 3 bare ACKs, 1 neighbour solicitation.
    ("ipv6_tcp_connect_nmap_default_scan", (1009, 1002, 3, 3, 1, 0, 0)),
    ("mirai_default_credentials_scan", (11, 11, 0, 0, 0, 0, 0)),
    ("ms_sql_server_sig_match", (2, 2, 0, 0, 0, 0, 0)),
    // The last line is the host's own outgoing ping: an ICMP echo request.
    ("null_scan_1000_1150", (303, 1, 0, 302, 0, 0, 0)),
    // nmap -sO: 2 UDP, 2 TCP ACK, 506 numbered/UDPLITE/AH/ESP protocols.
    ("proto_scan", (510, 2, 0, 2, 0, 506, 0)),
    ("reputation_scan", (7, 0, 0, 7, 0, 0, 0)),
    ("syn_scan_1000_1500", (1002, 1002, 0, 0, 0, 0, 0)),
    ("syn_scan_1000_1500_localhost", (1002, 1002, 0, 0, 0, 0, 0)),
    ("syn_scan_1000_1500_multi_dst", (4008, 4008, 0, 0, 0, 0, 0)),
    ("syn_scan_1000_1500_zeroip", (1002, 1002, 0, 0, 0, 0, 0)),
    ("syn_sweep", (12, 12, 0, 0, 0, 0, 0)),
    // 2 SYNs to 21, 4 IGMP (PROTO=2).
    ("syslog_time_fmt1.log", (6, 2, 0, 0, 0, 4, 0)),
    // SYNs to 1024 ports plus 34 neighbour advertisements (type 136).
    ("topera_ipv6_syn_scan_no_ip_opts", (1058, 1024, 0, 0, 34, 0, 0)),
    ("topera_ipv6_syn_scan_with_ip_opts", (1046, 1025, 0, 0, 21, 0, 0)),
    ("udp_scan_1000_1150", (302, 302, 0, 0, 0, 0, 0)),
    ("xmas_scan_1000_1150", (302, 0, 0, 302, 0, 0, 0)),
];

/// A second opinion on every file, straight from the text: the same
/// substring tests as the grep commands above.
#[derive(Debug, Default, PartialEq, Eq)]
struct TextCount {
    tcp_syn: usize,
    tcp_backscatter: usize,
    tcp_other: usize,
    udp: usize,
    icmp: usize,
    other_proto: usize,
    syn_ports: BTreeSet<u16>,
}

fn text_count(text: &str) -> TextCount {
    let mut c = TextCount::default();
    for line in text.lines() {
        let line = format!("{line} ");
        if line.contains("PROTO=TCP") {
            let (syn, ack, rst) = (
                line.contains(" SYN "),
                line.contains(" ACK "),
                line.contains(" RST "),
            );
            if rst || (syn && ack) {
                c.tcp_backscatter += 1;
            } else if syn {
                c.tcp_syn += 1;
                let dpt = line
                    .split("DPT=")
                    .nth(1)
                    .unwrap()
                    .split(' ')
                    .next()
                    .unwrap();
                c.syn_ports.insert(dpt.parse().unwrap());
            } else {
                c.tcp_other += 1;
            }
        } else if line.contains("PROTO=UDP ") {
            c.udp += 1;
        } else if line.contains("PROTO=ICMP") {
            c.icmp += 1;
        } else if let Some(rest) = line.split("PROTO=").nth(1) {
            let value = rest.split(' ').next().unwrap();
            if value.parse::<u8>().is_ok() || ["UDPLITE", "AH", "ESP"].contains(&value) {
                c.other_proto += 1;
            }
        }
    }
    c
}

fn read(dir: &std::path::Path, name: &str) -> String {
    std::fs::read_to_string(dir.join(name)).unwrap()
}

#[test]
fn every_file_matches_hand_counts_and_text_counts() {
    let Some(dir) = psad_dir() else {
        eprintln!(
            "skipped: psad-iptables-logs not found under {:?}",
            shared_data()
        );
        return;
    };
    let dir = dir.join("iptables");
    let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    on_disk.sort();
    let listed: Vec<&str> = HAND_COUNTS.iter().map(|c| c.0).collect();
    assert_eq!(on_disk, listed, "a file was added or removed");

    for (name, want) in HAND_COUNTS {
        let text = read(&dir, name);
        let t = parse_text(&text);
        let got = (
            t.lines,
            t.probes(),
            t.backscatter,
            t.other(OtherKind::TcpOtherFlags),
            t.other(OtherKind::IcmpOther),
            t.other(OtherKind::OtherIpProto),
            t.errors.len(),
        );
        assert_eq!(got, want, "{name}: errors {:?}", t.errors);
        assert_eq!(t.not_firewall, 0, "{name}");
        assert_eq!(t.other(OtherKind::NonFirstFragment), 0, "{name}");

        let c = text_count(&text);
        let by_proto = |p| t.per_proto.get(&Some(p)).copied().unwrap_or(0);
        let tcp_probes = t.probes.iter().filter(|(k, _)| k.proto == Proto::Tcp);
        let tcp_probes: usize = tcp_probes.map(|(_, n)| n).sum();
        if t.errors.is_empty() {
            assert_eq!(tcp_probes, c.tcp_syn, "{name}");
            assert_eq!(t.backscatter, c.tcp_backscatter, "{name}");
            assert_eq!(t.other(OtherKind::TcpOtherFlags), c.tcp_other, "{name}");
            assert_eq!(by_proto(Proto::Udp), c.udp, "{name}");
            assert_eq!(
                by_proto(Proto::Icmp) + by_proto(Proto::Icmpv6),
                c.icmp,
                "{name}"
            );
            assert_eq!(t.other(OtherKind::OtherIpProto), c.other_proto, "{name}");
            assert_eq!(t.probe_ports(Proto::Tcp), c.syn_ports, "{name}");
        }
    }
}

#[test]
fn the_one_error_is_the_grep_prefixed_line() {
    let Some(dir) = psad_dir() else {
        eprintln!(
            "skipped: psad-iptables-logs not found under {:?}",
            shared_data()
        );
        return;
    };
    let t = parse_text(&read(&dir.join("iptables"), "ipv6_ms_sql_server_sig_match"));
    let (line, reason, message) = &t.errors[0];
    assert_eq!((*line, *reason), (1, DropReason::BadTimestamp));
    assert!(message.contains("no syslog timestamp"), "{message}");
    assert!(message.contains("ipv6_tcp_connect"), "{message}");
}

#[test]
fn scans_cover_the_port_ranges_their_names_say() {
    let Some(dir) = psad_dir() else {
        eprintln!(
            "skipped: psad-iptables-logs not found under {:?}",
            shared_data()
        );
        return;
    };
    let dir = dir.join("iptables");
    let range = |r: std::ops::RangeInclusive<u16>| r.collect::<BTreeSet<u16>>();
    for name in [
        "syn_scan_1000_1500",
        "syn_scan_1000_1500_localhost",
        "syn_scan_1000_1500_multi_dst",
        "syn_scan_1000_1500_zeroip",
    ] {
        let t = parse_text(&read(&dir, name));
        assert_eq!(t.probe_ports(Proto::Tcp), range(1000..=1500), "{name}");
    }
    let t = parse_text(&read(&dir, "syn_scan_1000_1500_multi_dst"));
    assert_eq!(t.dsts.len(), 4);
    let t = parse_text(&read(&dir, "syn_scan_1000_1500_zeroip"));
    assert_eq!(t.srcs, BTreeSet::from(["0.0.0.0".parse().unwrap()]));

    let t = parse_text(&read(&dir, "udp_scan_1000_1150"));
    assert_eq!(t.probe_ports(Proto::Udp), range(1000..=1150));
    for name in [
        "ack_scan_1000_1150",
        "fin_scan_1000_1150",
        "null_scan_1000_1150",
        "xmas_scan_1000_1150",
    ] {
        let t = parse_text(&read(&dir, name));
        assert_eq!(t.tcp_other_ports, range(1000..=1150), "{name}");
    }

    // Mirai: 9 in 10 telnet probes go to 23, the rest to 2323.
    let t = parse_text(&read(&dir, "mirai_default_credentials_scan"));
    let tcp = |port| PortKey::new(Proto::Tcp, port);
    assert_eq!(t.probes, BTreeMap::from([(tcp(23), 10), (tcp(2323), 1)]));
    let t = parse_text(&read(&dir, "ms_sql_server_sig_match"));
    assert_eq!(t.probes, BTreeMap::from([(tcp(1433), 2)]));
    let t = parse_text(&read(&dir, "syn_sweep"));
    assert_eq!(t.probes, BTreeMap::from([(tcp(1083), 12)]));
    assert_eq!(t.dsts.len(), 11);
    let t = parse_text(&read(&dir, "reputation_scan"));
    assert_eq!(t.srcs.len(), 5);

    let icmp = |ty| PortKey::new(Proto::Icmp, ty);
    let t = parse_text(&read(&dir, "ipv4_valid_ping"));
    assert_eq!(t.probes, BTreeMap::from([(icmp(8), 5)]));

    // IPv6: nmap's default 1000 ports; topera's 0-1023 (plus 1234 with options).
    let t = parse_text(&read(&dir, "ipv6_tcp_connect_nmap_default_scan"));
    assert_eq!(t.probe_ports(Proto::Tcp).len(), 1000);
    assert!(t.dsts.iter().all(IpAddr::is_ipv6));
    let t = parse_text(&read(&dir, "topera_ipv6_syn_scan_no_ip_opts"));
    assert_eq!(t.probe_ports(Proto::Tcp), range(0..=1023));
    let t = parse_text(&read(&dir, "topera_ipv6_syn_scan_with_ip_opts"));
    let mut want = range(0..=1023);
    want.insert(1234);
    assert_eq!(t.probe_ports(Proto::Tcp), want);

    // RFC 3339 stamps with +02:00.
    let t = parse_text(&read(&dir, "syslog_time_fmt1.log"));
    assert_eq!(
        t.first_ts,
        Timestamp::parse_rfc3339("2015-03-07T03:09:30.045015Z")
    );
    assert_eq!(t.probes, BTreeMap::from([(tcp(21), 2)]));
}

#[test]
fn sniff_tells_iptables_logs_from_pf_logs() {
    let Some(dir) = psad_dir() else {
        eprintln!(
            "skipped: psad-iptables-logs not found under {:?}",
            shared_data()
        );
        return;
    };
    for (name, ..) in HAND_COUNTS {
        let bytes = std::fs::read(dir.join("iptables").join(name)).unwrap();
        let head = &bytes[..bytes.len().min(8192)];
        // The grep-prefixed file has no line with a syslog stamp at all.
        let want = name != "ipv6_ms_sql_server_sig_match";
        assert_eq!(sniff(head), want, "{name}");
    }
    let pf = std::fs::read(dir.join("pf/syn_scan_1100_1500")).unwrap();
    assert!(!sniff(&pf[..8192]));
    assert!(!sniff(&pf));
}
