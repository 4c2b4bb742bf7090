//! `portwatch analyze` on captures of real scanners (nmap, masscan, zmap,
//! hping3) that the project recorded itself: tests-data/tools, made by
//! scripts/record-tool-captures.sh and described in tests-data/tools/FACTS.md.
//!
//! Two independent checks: tshark's reading of each file must give the same
//! per-port counts, byte totals, distinct sources and targets and time span;
//! and the facts FACTS.md records about each tool must show in the JSON
//! (this part needs no tshark, so it always runs).

// The whole crate is test code; clippy's allow-*-in-tests settings only reach
// #[test] functions, not the helpers here and in common/.
#![allow(clippy::unwrap_used, clippy::print_stderr)]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::*;
use serde_json::Value;

const CAPTURES: [&str; 10] = [
    "hping3-icmp.pcap",
    "hping3-syn.pcap",
    "hping3-udp0.pcap",
    "masscan.pcap",
    "nmap-decoy.pcap",
    "nmap-sv.pcap",
    "nmap-syn.pcap",
    "nmap-syn6.pcap",
    "zmap-udp0.pcap",
    "zmap.pcap",
];

fn tools_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests-data/tools")
}

fn analyze(file: &str) -> Value {
    let path = tools_dir().join(file);
    let (code, doc) = run_json(&["analyze", path.to_str().unwrap(), "--format", "json"]);
    assert_eq!(code, 0, "{file}: exit code");
    assert_eq!(doc["inputs"][0]["outcome"], "complete", "{file}");
    doc
}

type Key = (String, u64);

/// One (proto, port) series as tshark sees it.
#[derive(Default, Debug)]
struct Series {
    packets: u64,
    bytes: u64,
    sources: BTreeMap<String, u64>,
    targets: BTreeSet<String>,
    first: i64,
    last: i64,
}

#[derive(Default)]
struct Oracle {
    frames: u64,
    other: u64,
    probe: BTreeMap<Key, Series>,
    backscatter: BTreeMap<Key, Series>,
}

const FIELDS: [&str; 14] = [
    "frame.time_epoch",
    "ip.src",
    "ipv6.src",
    "ip.dst",
    "ipv6.dst",
    "ip.len",
    "ipv6.plen",
    "ip.frag_offset",
    "tcp.srcport",
    "tcp.dstport",
    "tcp.flags",
    "udp.dstport",
    "icmp.type",
    "icmpv6.type",
];

/// tshark's fields for every frame, outermost occurrence only (an ICMP
/// error quotes a second IP header, which must not count).
fn tshark_frames(file: &Path) -> Vec<Vec<String>> {
    let mut cmd = Command::new("tshark");
    cmd.args(["-n", "-r"]).arg(file);
    cmd.args(["-T", "fields", "-E", "occurrence=f", "-E", "separator=/t"]);
    for f in FIELDS {
        cmd.args(["-e", f]);
    }
    let out = cmd.stderr(Stdio::null()).output().expect("tshark runs");
    assert!(out.status.success(), "tshark failed on {}", file.display());
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.split('\t').map(str::to_string).collect())
        .collect()
}

/// Classifies each frame from tshark's fields alone, by the rules of the
/// design (rule 8): a pure SYN, a UDP datagram or an echo request is a probe
/// keyed by destination port (ICMP type); SYN-ACK or RST is backscatter keyed
/// by the replying port; echo replies and ICMP errors are backscatter.
fn oracle(file: &Path) -> Oracle {
    let mut o = Oracle::default();
    for f in tshark_frames(file) {
        o.frames += 1;
        let get = |i: usize| f.get(i).map(String::as_str).unwrap_or("");
        let num = |i: usize| get(i).parse::<u64>().ok();
        let (src, dst) = match (get(1), get(2)) {
            ("", "") => {
                o.other += 1;
                continue;
            }
            ("", v6) => (v6.to_string(), get(4).to_string()),
            (v4, _) => (v4.to_string(), get(3).to_string()),
        };
        let bytes = num(5).or_else(|| num(6).map(|plen| plen + 40)).unwrap();
        let secs: i64 = get(0).split('.').next().unwrap().parse().unwrap();
        let non_first_fragment = num(7).is_some_and(|off| off > 0);
        let class = if non_first_fragment {
            None
        } else if let Some(t) = num(12) {
            match t {
                8 => Some(("probe", "icmp", t)),
                0 | 3 | 4 | 5 | 11 | 12 => Some(("backscatter", "icmp", t)),
                _ => None,
            }
        } else if let Some(t) = num(13) {
            match t {
                128 => Some(("probe", "icmpv6", t)),
                1..=4 | 129 => Some(("backscatter", "icmpv6", t)),
                _ => None,
            }
        } else if !get(10).is_empty() {
            let flags = u16::from_str_radix(get(10).trim_start_matches("0x"), 16).unwrap();
            let (syn, ack, rst) = (flags & 0x02 != 0, flags & 0x10 != 0, flags & 0x04 != 0);
            if rst || (syn && ack) {
                Some(("backscatter", "tcp", num(8).unwrap()))
            } else if syn {
                Some(("probe", "tcp", num(9).unwrap()))
            } else {
                None
            }
        } else {
            num(11).map(|port| ("probe", "udp", port))
        };
        let Some((class, proto, port)) = class else {
            o.other += 1;
            continue;
        };
        let map = if class == "probe" {
            &mut o.probe
        } else {
            &mut o.backscatter
        };
        let s = map
            .entry((proto.to_string(), port))
            .or_insert_with(|| Series {
                first: secs,
                last: secs,
                ..Series::default()
            });
        s.packets += 1;
        s.bytes += bytes;
        *s.sources.entry(src).or_default() += 1;
        s.targets.insert(dst);
        s.first = s.first.min(secs);
        s.last = s.last.max(secs);
    }
    o
}

/// Unix seconds as portwatch prints times: RFC 3339, UTC, whole seconds.
fn rfc3339(secs: i64) -> String {
    // Days to civil date (Howard Hinnant's algorithm), to need no date crate.
    let (days, tod) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    let (h, mi, s) = (tod / 3600, tod % 3600 / 60, tod % 60);
    format!("{y:04}-{m:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
}

fn by_key(doc: &Value, array: &str) -> BTreeMap<Key, Value> {
    doc[array]
        .as_array()
        .unwrap_or_else(|| panic!("no {array} array"))
        .iter()
        .map(|p| {
            let key = (
                p["proto"].as_str().unwrap().to_string(),
                p["port"].as_u64().unwrap(),
            );
            (key, p.clone())
        })
        .collect()
}

fn compare(file: &str, array: &str, ours: &BTreeMap<Key, Value>, want: &BTreeMap<Key, Series>) {
    let (our_keys, want_keys): (BTreeSet<_>, BTreeSet<_>) =
        (ours.keys().collect(), want.keys().collect());
    assert_eq!(our_keys, want_keys, "{file}: {array} keys");
    for (key, w) in want {
        let p = &ours[key];
        let ctx = format!("{file}: {array} {}/{}", key.1, key.0);
        assert_eq!(p["packets"].as_u64(), Some(w.packets), "{ctx}: packets");
        assert_eq!(p["bytes"].as_u64(), Some(w.bytes), "{ctx}: bytes");
        assert_eq!(
            p["sources"].as_u64(),
            Some(w.sources.len() as u64),
            "{ctx}: sources"
        );
        assert_eq!(
            p["targets"].as_u64(),
            Some(w.targets.len() as u64),
            "{ctx}: targets"
        );
        assert_eq!(
            p["sources_exact"], true,
            "{ctx}: a few sources are counted exactly"
        );
        assert_eq!(
            p["first_seen"],
            rfc3339(w.first).as_str(),
            "{ctx}: first_seen"
        );
        assert_eq!(p["last_seen"], rfc3339(w.last).as_str(), "{ctx}: last_seen");
        // While exact, the heaviest source listed is the heaviest there is.
        let top = &p["top_sources"][0];
        assert_eq!(
            top["packets"].as_u64(),
            w.sources.values().max().copied(),
            "{ctx}: top"
        );
        assert_eq!(
            w.sources[top["addr"].as_str().unwrap()],
            top["packets"].as_u64().unwrap()
        );
        assert_eq!(top["error"], 0, "{ctx}");
    }
}

#[test]
fn every_committed_capture_is_checked() {
    let mut found: Vec<String> = std::fs::read_dir(tools_dir())
        .expect("tests-data/tools is part of the repository")
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".pcap") || n.ends_with(".pcapng"))
        .collect();
    found.sort();
    assert_eq!(
        found, CAPTURES,
        "add new captures to CAPTURES (and FACTS.md)"
    );
}

#[test]
fn counts_match_tshark_on_every_tool_capture() {
    if !have("tshark") {
        return skip(
            "tshark not installed: the independent oracle for tests-data/tools is unavailable",
        );
    }
    for file in CAPTURES {
        let doc = analyze(file);
        let want = oracle(&tools_dir().join(file));
        let summary = &doc["summary"];
        assert_eq!(
            summary["records"].as_u64(),
            Some(want.frames),
            "{file}: records = frames"
        );
        let probes: u64 = want.probe.values().map(|s| s.packets).sum();
        let backscatter: u64 = want.backscatter.values().map(|s| s.packets).sum();
        assert_eq!(summary["packets"]["probe"].as_u64(), Some(probes), "{file}");
        assert_eq!(
            summary["packets"]["backscatter"].as_u64(),
            Some(backscatter),
            "{file}"
        );
        assert_eq!(
            summary["packets"]["other"].as_u64(),
            Some(want.other),
            "{file}"
        );
        assert_eq!(summary["packets"]["unparseable"], 0, "{file}");
        compare(file, "ports", &by_key(&doc, "ports"), &want.probe);
        compare(
            file,
            "backscatter",
            &by_key(&doc, "backscatter"),
            &want.backscatter,
        );
    }
}

/// What FACTS.md says about one capture, in portwatch's terms: records,
/// packets by class, and (proto, port, packets, sources, targets) per series.
struct Facts {
    file: &'static str,
    records: u64,
    probe: u64,
    backscatter: u64,
    ports: &'static [(&'static str, u64, u64, u64, u64)],
    backscatter_ports: &'static [(&'static str, u64, u64, u64, u64)],
}

const FACTS: [Facts; 10] = [
    Facts {
        file: "nmap-syn.pcap",
        records: 128,
        probe: 128,
        backscatter: 0,
        ports: &[
            ("tcp", 0, 32, 1, 16),
            ("tcp", 445, 32, 1, 16),
            ("tcp", 5168, 32, 1, 16),
            ("tcp", 12345, 32, 1, 16),
        ],
        backscatter_ports: &[],
    },
    Facts {
        file: "nmap-decoy.pcap",
        records: 32,
        probe: 32,
        backscatter: 0,
        ports: &[("tcp", 5168, 32, 4, 8)],
        backscatter_ports: &[],
    },
    Facts {
        file: "nmap-syn6.pcap",
        records: 64,
        probe: 64,
        backscatter: 0,
        ports: &[
            ("tcp", 0, 16, 1, 8),
            ("tcp", 445, 16, 1, 8),
            ("tcp", 5168, 16, 1, 8),
            ("tcp", 12345, 16, 1, 8),
        ],
        backscatter_ports: &[],
    },
    Facts {
        file: "nmap-sv.pcap",
        records: 16,
        probe: 3,
        backscatter: 5,
        ports: &[("tcp", 80, 2, 1, 1), ("tcp", 5168, 1, 1, 1)],
        // The live host's SYN-ACKs and RST, and the scanner kernel's RSTs
        // (keyed by the scanner's source ports).
        backscatter_ports: &[
            ("tcp", 80, 2, 1, 1),
            ("tcp", 5168, 1, 1, 1),
            ("tcp", 34247, 1, 1, 1),
            ("tcp", 57834, 1, 1, 1),
        ],
    },
    Facts {
        file: "masscan.pcap",
        records: 768,
        probe: 768,
        backscatter: 0,
        ports: &[
            ("tcp", 445, 256, 4, 256),
            ("tcp", 5168, 256, 4, 256),
            ("tcp", 12345, 256, 4, 256),
        ],
        backscatter_ports: &[],
    },
    Facts {
        file: "zmap.pcap",
        records: 256,
        probe: 256,
        backscatter: 0,
        ports: &[("tcp", 5168, 256, 32, 256)],
        backscatter_ports: &[],
    },
    Facts {
        file: "zmap-udp0.pcap",
        records: 256,
        probe: 256,
        backscatter: 0,
        ports: &[("udp", 0, 256, 1, 256)],
        backscatter_ports: &[],
    },
    Facts {
        file: "hping3-syn.pcap",
        records: 200,
        probe: 200,
        backscatter: 0,
        ports: &[("tcp", 5168, 200, 1, 1)],
        backscatter_ports: &[],
    },
    Facts {
        file: "hping3-udp0.pcap",
        records: 50,
        probe: 50,
        backscatter: 0,
        ports: &[("udp", 0, 50, 1, 1)],
        backscatter_ports: &[],
    },
    Facts {
        file: "hping3-icmp.pcap",
        records: 20,
        probe: 20,
        backscatter: 0,
        ports: &[("icmp", 8, 20, 1, 1)],
        backscatter_ports: &[],
    },
];

fn series(doc: &Value, array: &str) -> BTreeSet<(String, u64, u64, u64, u64)> {
    by_key(doc, array)
        .into_iter()
        .map(|((proto, port), p)| {
            let n = |f: &str| p[f].as_u64().unwrap();
            (proto, port, n("packets"), n("sources"), n("targets"))
        })
        .collect()
}

fn owned(rows: &[(&str, u64, u64, u64, u64)]) -> BTreeSet<(String, u64, u64, u64, u64)> {
    rows.iter()
        .map(|&(p, a, b, c, d)| (p.to_string(), a, b, c, d))
        .collect()
}

#[test]
fn the_recorded_facts_show_in_the_report() {
    for f in &FACTS {
        let doc = analyze(f.file);
        let s = &doc["summary"];
        assert_eq!(s["records"].as_u64(), Some(f.records), "{}", f.file);
        assert_eq!(s["packets"]["probe"].as_u64(), Some(f.probe), "{}", f.file);
        assert_eq!(
            s["packets"]["backscatter"].as_u64(),
            Some(f.backscatter),
            "{}",
            f.file
        );
        assert_eq!(series(&doc, "ports"), owned(f.ports), "{}: probes", f.file);
        assert_eq!(
            series(&doc, "backscatter"),
            owned(f.backscatter_ports),
            "{}: backscatter",
            f.file
        );
    }
}

fn top_sources(doc: &Value, proto: &str, port: u64) -> Vec<(String, u64)> {
    by_key(doc, "ports")[&(proto.to_string(), port)]["top_sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["addr"].as_str().unwrap().to_string(),
                t["packets"].as_u64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn zmap_spreads_one_port_over_its_source_range() {
    // 32 sources (198.18.0.32-63), 8 targets each, all of the /24 on 5168.
    let doc = analyze("zmap.pcap");
    let top = top_sources(&doc, "tcp", 5168);
    assert!(!top.is_empty());
    for (addr, packets) in &top {
        let last: u8 = addr.strip_prefix("198.18.0.").unwrap().parse().unwrap();
        assert!((32..=63).contains(&last), "{addr}");
        assert_eq!(*packets, 8, "{addr}");
    }
    assert_eq!(doc["summary"]["first_seen"], "2026-11-23T08:51:34Z");
    assert_eq!(doc["summary"]["last_seen"], "2026-11-23T08:51:35Z");

    // The UDP module aims at port 0, which portwatch names as reserved.
    let doc = analyze("zmap-udp0.pcap");
    let p = &by_key(&doc, "ports")[&("udp".to_string(), 0)];
    assert_eq!(p["service"], "reserved");
    assert_eq!(
        p["bytes"],
        256 * 57,
        "20-byte IP + 8-byte UDP + 29-byte payload"
    );
}

#[test]
fn decoys_and_masscan_source_ranges_are_separate_sources() {
    let doc = analyze("nmap-decoy.pcap");
    let mut top = top_sources(&doc, "tcp", 5168);
    top.sort();
    let want: Vec<(String, u64)> = ["198.18.0.1", "198.18.0.20", "198.18.0.21", "198.18.0.22"]
        .iter()
        .map(|a| (a.to_string(), 8))
        .collect();
    assert_eq!(top, want);

    // masscan's four adapter addresses, whose probes add up per port.
    let doc = analyze("masscan.pcap");
    for port in [445, 5168, 12345] {
        let top = top_sources(&doc, "tcp", port);
        let addrs: BTreeSet<&str> = top.iter().map(|(a, _)| a.as_str()).collect();
        let want = BTreeSet::from([
            "198.18.0.100",
            "198.18.0.101",
            "198.18.0.102",
            "198.18.0.103",
        ]);
        assert_eq!(addrs, want, "{port}");
        assert_eq!(top.iter().map(|(_, n)| n).sum::<u64>(), 256, "{port}");
    }
}

#[test]
fn port_zero_and_ipv6_and_icmp_are_ordinary_series() {
    let doc = analyze("nmap-syn6.pcap");
    let ports = by_key(&doc, "ports");
    let p0 = &ports[&("tcp".to_string(), 0)];
    assert_eq!(p0["service"], "reserved");
    assert_eq!(p0["top_sources"][0]["addr"], "2001:db8::1");
    assert_eq!(
        p0["bytes"],
        16 * 64,
        "40-byte IPv6 header + 24-byte TCP header with MSS"
    );

    let doc = analyze("hping3-icmp.pcap");
    let p = &by_key(&doc, "ports")[&("icmp".to_string(), 8)];
    assert_eq!(p["service"], "echo-request");
    assert_eq!(p["bytes"], 20 * 28);

    let doc = analyze("nmap-syn.pcap");
    let ports = by_key(&doc, "ports");
    assert_eq!(ports[&("tcp".to_string(), 445)]["service"], "microsoft-ds");
    assert_eq!(ports[&("tcp".to_string(), 0)]["service"], "reserved");
}

#[test]
fn a_live_host_answering_nmap_is_backscatter_and_its_session_is_other() {
    let doc = analyze("nmap-sv.pcap");
    let back = by_key(&doc, "backscatter");
    let http = &back[&("tcp".to_string(), 80)];
    assert_eq!(http["top_sources"][0]["addr"], "198.18.1.80");
    assert_eq!(
        http["packets"], 2,
        "SYN-ACK to nmap's raw SYN and to the connect() SYN"
    );
    // ACKs, the GET, the HTTP answer and a FIN: neither probe nor reply.
    assert_eq!(doc["summary"]["packets"]["other"], 8);
    assert_eq!(doc["summary"]["other_by_kind"]["tcp_other_flags"], 8);
}

#[test]
fn rfc3339_formats_like_portwatch() {
    assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
    assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
    assert_eq!(rfc3339(1_187_791_200), "2007-08-22T14:00:00Z");
}

/// The tool each capture's scanner is, as FACTS.md records how it was made.
const TOOLS: [(&str, &str); 10] = [
    ("hping3-icmp.pcap", "unknown"),
    ("hping3-syn.pcap", "unknown"),
    ("hping3-udp0.pcap", "unknown"),
    ("masscan.pcap", "masscan"),
    ("nmap-decoy.pcap", "nmap"),
    ("nmap-sv.pcap", "nmap"),
    ("nmap-syn.pcap", "nmap"),
    ("nmap-syn6.pcap", "nmap"),
    ("zmap-udp0.pcap", "zmap"),
    ("zmap.pcap", "zmap"),
];

#[test]
fn report_sources_names_each_captures_tool() {
    let dir = tempfile::tempdir().unwrap();
    for (file, tool) in TOOLS {
        let db = dir.path().join(format!("{file}.db"));
        let path = tools_dir().join(file);
        let (code, _, err) = run(&[
            "analyze",
            path.to_str().unwrap(),
            "--db",
            db.to_str().unwrap(),
            "--no-progress",
        ]);
        assert_eq!(code, 0, "{file}: {err}");
        let (code, doc) = run_json(&[
            "report",
            "sources",
            "--db",
            db.to_str().unwrap(),
            "--limit",
            "100",
            "--format",
            "json",
        ]);
        assert_eq!(code, 0, "{file}");
        let scanners: Vec<&Value> = doc["sources"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| s["probes"].as_u64() > Some(0))
            .collect();
        assert!(!scanners.is_empty(), "{file}");
        for s in scanners {
            let probes = s["probes"].as_u64().unwrap();
            let per_tool: u64 = s["tools"]
                .as_object()
                .unwrap()
                .values()
                .map(|n| n.as_u64().unwrap())
                .sum();
            assert_eq!(per_tool, probes, "{file}: {s}");
            assert_eq!(s["tool"], tool, "{file}: {s}");
            // Every probe of a raw-packet tool carries its marks; nmap -sV
            // also connects through the kernel, whose SYNs are unknown.
            if file != "nmap-sv.pcap" {
                assert_eq!(s["tools"][tool].as_u64(), Some(probes), "{file}: {s}");
            } else {
                assert!(s["tools"]["unknown"].as_u64() > Some(0), "{file}: {s}");
            }
        }
    }
}
