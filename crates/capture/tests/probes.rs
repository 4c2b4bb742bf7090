//! Real probes across a veth pair, captured by portwatch and by tcpdump at
//! the same time: the probes portwatch decodes per (protocol, destination
//! port) must be exactly what tshark finds in tcpdump's file.
//!
//! Needs root, `ip`, `hping3`, `nmap`, `tcpdump` and `tshark`; prints
//! `skipped: …` otherwise.

#![allow(clippy::unwrap_used, clippy::print_stdout)]

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use common::{CAPTURE_IP, CAPTURE_IP6, CaptureChild, Counts, Tcpdump, Veth};

const TOOLS: [&str; 5] = ["ip", "hping3", "nmap", "tcpdump", "tshark"];

/// hping3 probes: (hping3 mode flags, port, count).
const HPING: [(&str, u16, u64); 5] = [
    ("-S", 22, 3),
    ("-S", 80, 3),
    ("-S", 5168, 4),
    ("--udp", 53, 2),
    ("--udp", 161, 2),
];

/// Sends `count` probes to `port`; `mode` is hping3's flags (`-S`,
/// `--udp`, `-S -d 300`).
fn hping(veth: &Veth, mode: &str, port: u16, count: u64) {
    let (port, count) = (port.to_string(), count.to_string());
    let mut cmd = vec!["hping3", "-q"];
    cmd.extend(mode.split_whitespace());
    cmd.extend(["-p", &port, "-c", &count, "-i", "u20000", CAPTURE_IP]);
    veth.peer(&cmd)
        .or_else(|e| {
            // hping3 exits 1 when no reply came back, which closed UDP
            // ports may cause (ICMP errors are rate-limited).
            if e.contains("hping3") && mode.contains("--udp") {
                Ok(())
            } else {
                Err(e)
            }
        })
        .unwrap();
}

fn nmap(veth: &Veth, args: &[&str]) {
    let mut cmd = vec![
        "nmap",
        "-Pn",
        "-n",
        "--max-retries",
        "0",
        "--min-rate",
        "2000",
    ];
    cmd.extend_from_slice(&["-oN", "/dev/null"]);
    cmd.extend_from_slice(args);
    veth.peer(&cmd).unwrap();
}

#[test]
fn probes_match_tcpdump() {
    if common::is_child() {
        common::child_main();
        return;
    }
    if common::skip_unless(&TOOLS) {
        return;
    }
    let veth = Veth::new("p", false).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("oracle.pcap");
    let tcpdump = Tcpdump::start(&veth, &file);
    let cfg = format!("interface = \"{}\"\ntimeout_ms = 50\n", veth.capture_if);
    let capture = CaptureChild::start(&veth, "probes_match_tcpdump", &cfg, 0);

    for (mode, port, count) in HPING {
        hping(&veth, mode, port, count);
    }
    nmap(&veth, &["-sS", "-p", "1000-1099", CAPTURE_IP]);
    nmap(&veth, &["-6", "-sS", "-p", "3000-3009", CAPTURE_IP6]);
    std::thread::sleep(Duration::from_millis(300));

    let report = capture.stop();
    let tcpdump_dropped = tcpdump.stop();
    assert_eq!(tcpdump_dropped, 0, "the oracle itself dropped packets");
    let mut oracle = common::tshark_probes(&file);
    println!(
        "probes: {} (proto, port) keys, {} packets from the peer; stats {:?}",
        report.counts.len(),
        report.counts.values().sum::<u64>(),
        report.stats
    );
    assert_eq!(report.linktype, 1, "a veth is Ethernet");
    assert_eq!(
        report.counts,
        common::count(&oracle),
        "portwatch's probes differ from tcpdump's"
    );
    // Both sockets get the kernel's timestamp of the same packet: equal to
    // the nanosecond, packet by packet.
    let mut ours = report.probes.clone();
    ours.sort();
    oracle.sort();
    assert_eq!(ours, oracle, "timestamps differ from tcpdump's");

    // The oracle is only as good as the traffic: check what was sent.
    for (mode, port, count) in HPING {
        let proto = if mode == "-S" { "tcp" } else { "udp" };
        assert_eq!(
            report.counts.get(&(proto.to_owned(), port)),
            Some(&count),
            "{proto}/{port}"
        );
    }
    let ports = |range: std::ops::RangeInclusive<u16>| -> BTreeSet<u16> {
        report
            .counts
            .keys()
            .filter(|(p, port)| p == "tcp" && range.contains(port))
            .map(|(_, port)| *port)
            .collect()
    };
    assert_eq!(
        ports(1000..=1099),
        (1000..=1099).collect(),
        "nmap IPv4 SYN scan"
    );
    assert_eq!(
        ports(3000..=3009),
        (3000..=3009).collect(),
        "nmap IPv6 SYN scan"
    );
    let s = report.stats;
    assert_eq!(
        (s.dropped_kernel, s.dropped_queue, s.truncated),
        (0, 0, 0),
        "{s:?}"
    );
    assert_eq!(
        report.consumed, s.received,
        "every packet reached the consumer"
    );
}

/// The filter runs in the kernel: only matching packets are received at
/// all. A small snapshot length cuts the payload, which is counted, while
/// the headers still decode.
#[test]
fn bpf_filter_and_snaplen() {
    if common::is_child() {
        common::child_main();
        return;
    }
    if common::skip_unless(&["ip", "hping3"]) {
        return;
    }
    let veth = Veth::new("f", false).unwrap();
    // Ethernet 14 + IPv4 20 + TCP 20 = 54 bytes of headers.
    let cfg = format!(
        "interface = \"{}\"\nbpf_filter = \"tcp dst port 5168\"\nsnaplen = 64\ntimeout_ms = 50\n",
        veth.capture_if
    );
    let capture = CaptureChild::start(&veth, "bpf_filter_and_snaplen", &cfg, 0);
    hping(&veth, "-S", 5168, 3);
    hping(&veth, "-S -d 300", 5168, 2);
    hping(&veth, "-S", 80, 3);
    hping(&veth, "--udp", 5168, 2);
    std::thread::sleep(Duration::from_millis(300));
    let report = capture.stop();
    let s = report.stats;
    let expected: Counts = [(("tcp".to_owned(), 5168), 5)].into_iter().collect();
    assert_eq!(report.counts, expected, "{s:?}");
    assert_eq!(s.received, 5, "only the SYNs to 5168 pass: {s:?}");
    assert_eq!(
        s.truncated, 2,
        "the two SYNs with 300 bytes of data were cut: {s:?}"
    );
    assert_eq!(report.consumed, 5);
}

/// The default direction leaves out the capture side's own replies (RSTs
/// to SYNs on closed ports); `inout` takes them too. Two captures watch the
/// same interface at once; the neighbours are pinned and IPv6 is off, so
/// nothing else crosses.
#[test]
fn direction_in_leaves_out_own_replies() {
    if common::is_child() {
        common::child_main();
        return;
    }
    if common::skip_unless(&["ip", "hping3"]) {
        return;
    }
    let veth = Veth::new("d", true).unwrap();
    let name = "direction_in_leaves_out_own_replies";
    let base = format!("interface = \"{}\"\ntimeout_ms = 50\n", veth.capture_if);
    let inbound = CaptureChild::start(&veth, name, &base, 0);
    let both = CaptureChild::start(&veth, name, &format!("{base}direction = \"inout\"\n"), 0);
    hping(&veth, "-S", 22, 3);
    std::thread::sleep(Duration::from_millis(300));
    let (inbound, both) = (inbound.stop(), both.stop());
    assert_eq!(
        inbound.stats.received, 3,
        "the three SYNs: {:?}",
        inbound.stats
    );
    assert_eq!(both.stats.received, 6, "SYNs and RSTs: {:?}", both.stats);
    let syns: Counts = [(("tcp".to_owned(), 22), 3)].into_iter().collect();
    assert_eq!((inbound.counts, both.counts), (syns.clone(), syns));
}
