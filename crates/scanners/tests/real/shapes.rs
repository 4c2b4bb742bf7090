//! Scan shapes from real traffic, aggregated by `portwatch_aggregate`.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::Path;

use portwatch_aggregate::Aggregator;
use portwatch_core::Timestamp;
use portwatch_fwlog::{LineOutcome, LogParser, ParseOptions};
use portwatch_scanners::{ScanShape, SourceProfile};

use crate::{for_each_event, profiles, shared, tools_dir};

fn capture_profiles(path: &Path) -> BTreeMap<IpAddr, SourceProfile> {
    let mut agg = Aggregator::new();
    for_each_event(path, |ev| agg.observe(ev));
    profiles(&agg).into_iter().collect()
}

fn log_profiles(path: &Path) -> BTreeMap<IpAddr, SourceProfile> {
    let text = std::fs::read_to_string(path).expect("a log file");
    let mut opts = ParseOptions::new(Timestamp::from_secs(0));
    opts.year = Some(2018);
    let mut parser = LogParser::new(opts);
    let mut agg = Aggregator::new();
    for line in text.lines() {
        if let LineOutcome::Event(ev) = parser.parse_line(line) {
            agg.observe(&ev);
        }
    }
    profiles(&agg).into_iter().collect()
}

/// The shape of every source, counted.
fn shape_counts(profiles: &BTreeMap<IpAddr, SourceProfile>) -> BTreeMap<ScanShape, usize> {
    let mut counts = BTreeMap::new();
    for p in profiles.values() {
        *counts.entry(p.shape()).or_default() += 1;
    }
    counts
}

#[test]
fn psad_iptables_logs() {
    let cases = [
        ("syn_scan_1000_1500", ScanShape::Vertical),
        // The same 501 ports on 4 hosts: still a close look at few hosts.
        ("syn_scan_1000_1500_multi_dst", ScanShape::Vertical),
        ("udp_scan_1000_1150", ScanShape::Vertical),
        ("syn_sweep", ScanShape::Horizontal),
        // 11 SYNs to one host, ports 23 and 2323: Mirai's port mix but not a
        // scan shape one host can show.
        ("mirai_default_credentials_scan", ScanShape::TooLittle),
        // FIN packets are not probes in portwatch: no shape from them.
        ("fin_scan_1000_1150", ScanShape::TooLittle),
    ];
    for (file, want) in cases {
        let Some(path) = shared(&format!("psad-iptables-logs/iptables/{file}")) else {
            continue;
        };
        let profiles = log_profiles(&path);
        assert_eq!(
            shape_counts(&profiles),
            BTreeMap::from([(want, 1)]),
            "{file}: {profiles:?}"
        );
    }
}

#[test]
fn recorded_tool_captures() {
    let dir = tools_dir();
    let cases: &[(&str, &[(ScanShape, usize)])] = &[
        // 3 ports over a /24 from each of 4 source addresses.
        ("masscan.pcap", &[(ScanShape::Strobe, 4)]),
        // 32 sources, one port, exactly 8 targets each.
        ("zmap.pcap", &[(ScanShape::Horizontal, 32)]),
        ("zmap-udp0.pcap", &[(ScanShape::Horizontal, 1)]),
        ("nmap-syn.pcap", &[(ScanShape::Strobe, 1)]),
        ("nmap-syn6.pcap", &[(ScanShape::Strobe, 1)]),
        // Each decoy probes the 8 addresses on one port.
        ("nmap-decoy.pcap", &[(ScanShape::Horizontal, 4)]),
        ("hping3-syn.pcap", &[(ScanShape::Flood, 1)]),
        // 50 datagrams to one port of one host: below the flood cut-off.
        ("hping3-udp0.pcap", &[(ScanShape::TooLittle, 1)]),
    ];
    for (name, want) in cases {
        let profiles = capture_profiles(&dir.join(name));
        let want: BTreeMap<ScanShape, usize> = want.iter().copied().collect();
        assert_eq!(shape_counts(&profiles), want, "{name}: {profiles:?}");
    }
}

#[test]
fn external_vertical_scans() {
    // Masscan over ports 0-1000 of one host.
    if let Some(p) = shared("esnet-curated-pcaps/masscan_tcp_0_1000_20190821.pcap") {
        let profiles = capture_profiles(&p);
        assert_eq!(
            shape_counts(&profiles),
            BTreeMap::from([(ScanShape::Vertical, 1)]),
            "{profiles:?}"
        );
    }
    // nmap's 1,000 ports of scanme.nmap.org. The target's own RSTs and
    // SYN-ACKs are backscatter by portwatch's classes, so it shows up as a
    // backscatter victim: on a darknet no host answers, so that is right.
    if let Some(p) = shared("chrissanders-packets/synscan.pcapng") {
        let profiles = capture_profiles(&p);
        assert_eq!(
            shape_counts(&profiles),
            BTreeMap::from([(ScanShape::Vertical, 1), (ScanShape::BackscatterVictim, 1)]),
            "{profiles:?}"
        );
    }
}
