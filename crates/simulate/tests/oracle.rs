//! The capture, decoded independently (and by tshark when installed),
//! agrees exactly with the ground truth the generator returned.
#![allow(
    clippy::unwrap_used,
    clippy::print_stderr,
    reason = "tests fail loudly; skip notices go to stderr"
)]

mod common;

use std::process::Command;

use common::{run, tally};
use portwatch_core::{OtherKind, PortKey};
use portwatch_simulate::{Gap, GroundTruth, Resolution, SimConfig};

fn busy_config() -> SimConfig {
    SimConfig {
        seed: 11,
        duration_secs: 3 * 3600,
        background_pps: 6.0,
        background_sources: 3000,
        ipv6_fraction: 0.05,
        vlan_fraction: 0.05,
        other_fraction: 0.05,
        campaigns: vec![
            "5168/tcp@1h+1h,sources=40,pps=0.5,tool=masscan,ramp=taper"
                .parse()
                .unwrap(),
            "0/udp@30m+20m,sources=25,packets=3000,tool=zmap"
                .parse()
                .unwrap(),
            "0/tcp@30m+20m,sources=25,targets=40,tool=mirai,ramp=linear"
                .parse()
                .unwrap(),
            "12345/tcp@2h+10m,sources=1,pps=20,tool=nmap"
                .parse()
                .unwrap(),
        ],
        gaps: vec![Gap {
            offset_secs: 5400,
            duration_secs: 300,
        }],
        ..SimConfig::default()
    }
}

#[test]
fn capture_matches_ground_truth_exactly() {
    let (pcap, truth) = run(&busy_config());
    let t = tally(&pcap);
    assert_eq!(t.packets, truth.packets);
    assert_eq!(pcap.len() as u64, truth.pcap_bytes);
    assert_eq!(
        t.bad_checksums, 0,
        "every IP, TCP, UDP and ICMP checksum is right"
    );

    assert_eq!(t.probe, truth.classes.probe.packets);
    assert_eq!(t.backscatter, truth.classes.backscatter.packets);
    assert_eq!(t.other, truth.classes.other.kinds);
    let other: u64 = t.other.values().sum();
    assert_eq!(other, truth.classes.other.packets);
    assert_eq!(t.probe + t.backscatter + other, t.packets);
    assert_eq!(
        t.probe_all_sources.len() as u64,
        truth.classes.probe.sources
    );
    for kind in [
        OtherKind::TcpOtherFlags,
        OtherKind::NonFirstFragment,
        OtherKind::OtherIpProto,
        OtherKind::IcmpOther,
        OtherKind::NotIp,
    ] {
        assert!(
            t.other.get(&kind).copied().unwrap_or(0) > 0,
            "{kind:?} present"
        );
    }

    assert_eq!(
        (t.ipv4, t.ipv6, t.arp, t.dot1q, t.qinq),
        (
            truth.frames.ipv4,
            truth.frames.ipv6,
            truth.frames.arp,
            truth.frames.dot1q,
            truth.frames.qinq
        )
    );
    assert!(t.ipv6 > 0 && t.dot1q > 0 && t.qinq > 0);

    assert_eq!(t.probe_packets.len(), truth.probes.len());
    for p in &truth.probes {
        let k = p.key();
        assert_eq!(t.probe_packets.get(&k), Some(&p.packets), "{k} packets");
        assert_eq!(p.packets, p.background_packets + p.campaign_packets);
        assert_eq!(t.probe_sources[&k].len() as u64, p.sources, "{k} sources");
        assert_eq!(t.probe_targets[&k].len() as u64, p.targets, "{k} targets");
    }
    assert_eq!(t.backscatter_packets.len(), truth.backscatter.len());
    for b in &truth.backscatter {
        let k = b.key();
        assert_eq!(
            t.backscatter_packets.get(&k),
            Some(&b.packets),
            "{k} backscatter"
        );
        assert_eq!(
            t.backscatter_sources[&k].len() as u64,
            b.sources,
            "{k} backscatter sources"
        );
    }

    let campaign_total: u64 = truth.campaigns.iter().map(|c| c.packets).sum();
    let campaign_probes: u64 = truth.probes.iter().map(|p| p.campaign_packets).sum();
    assert_eq!(campaign_total, campaign_probes);
    // 3000 UDP probes were scheduled for port 0 and none fell into the gap.
    assert_eq!(truth.campaigns[1].packets, 3000);
    assert_eq!(truth.campaigns[2].packets, 25 * 40);
    // Each source sweeps 40 distinct addresses; sweeps of different
    // sources may overlap.
    assert!((900..=1000).contains(&truth.campaigns[2].targets_seen));
    assert_eq!(truth.campaigns[2].sources_seen, 25);
    assert_eq!(truth.campaigns[3].sources_seen, 1);
    let nmap = truth
        .probe("12345/tcp".parse::<PortKey>().unwrap())
        .unwrap();
    assert_eq!(nmap.campaign_packets, truth.campaigns[3].packets);
}

#[test]
fn ground_truth_json_round_trips_and_reproduces_the_capture() {
    let cfg = SimConfig {
        duration_secs: 1800,
        background_sources: 500,
        resolution: Resolution::Nano,
        ..busy_config()
    };
    let cfg = SimConfig {
        campaigns: vec!["5168/tcp@10m+10m,sources=9,pps=0.7".parse().unwrap()],
        gaps: vec![],
        ..cfg
    };
    let (pcap, truth) = run(&cfg);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("demo.truth.json");
    truth.write_ground_truth(&path).unwrap();
    let back: GroundTruth = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(back, truth);
    assert_eq!(back.start, "2026-01-05T00:00:00Z");
    assert_eq!(back.end, "2026-01-05T00:30:00Z");
    assert_eq!(back.campaigns[0].start, "2026-01-05T00:10:00Z");
    let (again, _) = run(&back.config);
    assert!(again == pcap, "the echoed config makes the same capture");
}

fn tool(name: &str) -> Option<Command> {
    let found = Command::new(name)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        eprintln!("skipped: {name} not found");
    }
    found.then(|| Command::new(name))
}

fn lines(cmd: &mut Command) -> Vec<String> {
    let out = cmd.output().expect("run tool");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn tshark_agrees_and_finds_nothing_malformed() {
    let Some(mut capinfos) = tool("capinfos") else {
        return;
    };
    let Some(_) = tool("tshark") else { return };
    let cfg = SimConfig {
        duration_secs: 3600,
        background_sources: 1000,
        ..busy_config()
    };
    let cfg = SimConfig {
        campaigns: vec!["5168/tcp@10m+30m,sources=30,pps=0.2".parse().unwrap()],
        gaps: vec![],
        ..cfg
    };
    let (pcap, truth) = run(&cfg);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sim.pcap");
    std::fs::write(&path, &pcap).unwrap();

    let info = lines(capinfos.arg("-c").arg("-M").arg(&path));
    let count = info
        .iter()
        .find_map(|l| l.strip_prefix("Number of packets:"))
        .unwrap();
    assert_eq!(count.trim().parse::<u64>().unwrap(), truth.packets);

    let tshark = |filter: &str| {
        lines(
            Command::new("tshark")
                .arg("-r")
                .arg(&path)
                .args([
                    "-o",
                    "ip.check_checksum:TRUE",
                    "-o",
                    "tcp.check_checksum:TRUE",
                ])
                .args([
                    "-o",
                    "udp.check_checksum:TRUE",
                    "-Y",
                    filter,
                    "-T",
                    "fields",
                    "-e",
                    "frame.number",
                ]),
        )
        .len() as u64
    };
    let bad = tshark(
        "_ws.malformed || _ws.expert.severity >= 0x00800000 || ip.checksum.status == \"Bad\" \
         || tcp.checksum.status == \"Bad\" || udp.checksum.status == \"Bad\" \
         || icmp.checksum.status == \"Bad\" || icmpv6.checksum.status == \"Bad\"",
    );
    assert_eq!(bad, 0, "tshark finds malformed frames or bad checksums");
    let syns = tshark(
        "tcp.flags.syn == 1 && tcp.flags.ack == 0 && tcp.dstport == 5168 && !icmp && !icmpv6",
    );
    assert_eq!(
        syns,
        truth.probe("5168/tcp".parse().unwrap()).unwrap().packets
    );
    let dns = tshark("dns.qry.name == \"version.bind\" && !icmp && !icmpv6");
    assert_eq!(
        dns,
        truth
            .probe("53/udp".parse().unwrap())
            .map_or(0, |p| p.packets)
    );
}
