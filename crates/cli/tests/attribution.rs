//! Attribution end to end through the binary: a capture written here with
//! sources whose tools, countries, networks and list memberships are known
//! (the country/AS answers come from the JSON MaxMind built its test
//! databases from), analyzed with an `[enrich]` config, then `report
//! source|sources|port`, `alerts` and `advisory` must give exactly those
//! answers. Excluding research scanners must change the alert outcome, and
//! the broken test database must be named in the error.

#![allow(clippy::unwrap_used, clippy::print_stderr)]

mod common;

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};

use common::*;
use serde_json::{Value, json};

/// 2026-01-05T00:00:00Z.
const T0: u32 = 1_767_571_200;
/// The campaign starts 25 h in: after detection's 24 h warm-up.
const CAMPAIGN: u32 = T0 + 25 * 3600;
const PORT: u16 = 5168;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Marks {
    ZMap,
    Masscan,
    Mirai,
    Nmap,
    /// An ordinary client SYN: no tool's marks.
    Plain,
}

/// One scanner of the campaign and everything the test knows about it.
struct Scanner {
    addr: &'static str,
    marks: Marks,
    /// Vertical: one target, 12 ports; otherwise 10 targets on 5168/tcp.
    vertical: bool,
    country: Option<&'static str>,
    asn: Option<(u64, Option<&'static str>)>,
    listed: bool,
    research: bool,
    home: bool,
}

const fn s(addr: &'static str, marks: Marks) -> Scanner {
    Scanner {
        addr,
        marks,
        vertical: false,
        country: None,
        asn: None,
        listed: false,
        research: false,
        home: false,
    }
}

/// Country and AS facts from GeoLite2-Country-Test.json and
/// GeoLite2-ASN-Test.json (longest prefix holding the address).
fn scanners() -> Vec<Scanner> {
    let mut v = vec![
        Scanner {
            country: Some("GB"),
            listed: true,
            ..s("81.2.69.142", Marks::ZMap)
        },
        Scanner {
            country: Some("GB"),
            ..s("81.2.69.143", Marks::ZMap)
        },
        Scanner {
            country: Some("SE"),
            asn: Some((29518, Some("Bredband2 AB"))),
            ..s("89.160.20.113", Marks::Masscan)
        },
        Scanner {
            country: Some("SE"),
            asn: Some((29518, Some("Bredband2 AB"))),
            ..s("89.160.20.130", Marks::Masscan)
        },
        Scanner {
            country: Some("KR"),
            ..s("2001:220::1", Marks::Nmap)
        },
        Scanner {
            country: Some("US"),
            asn: Some((209, None)),
            ..s("216.160.83.57", Marks::Plain)
        },
        Scanner {
            country: Some("BT"),
            asn: Some((35908, None)),
            ..s("67.43.156.1", Marks::Plain)
        },
        Scanner {
            country: Some("US"),
            vertical: true,
            ..s("50.114.0.1", Marks::Plain)
        },
        Scanner {
            home: true,
            ..s("198.18.0.5", Marks::Plain)
        },
    ];
    for a in ["1.128.0.1", "1.128.0.2", "1.128.0.3"] {
        v.push(Scanner {
            asn: Some((1221, Some("Telstra Pty Ltd"))),
            listed: true,
            ..s(a, Marks::Mirai)
        });
    }
    for a in [
        "192.0.2.1",
        "192.0.2.2",
        "192.0.2.3",
        "192.0.2.4",
        "192.0.2.5",
        "192.0.2.6",
        "192.0.2.7",
        "192.0.2.8",
    ] {
        v.push(Scanner {
            research: true,
            ..s(a, Marks::ZMap)
        });
    }
    v
}

/// A TCP SYN from `src` to `dst:dport` at `ts` with the given IP ID,
/// sequence number, window and options.
#[derive(Clone, Copy)]
struct Syn {
    ts: u32,
    src: IpAddr,
    dst: IpAddr,
    dport: u16,
    ip_id: u16,
    seq: u32,
    window: u16,
    options: &'static [u8],
}

/// A classic pcap of Ethernet frames.
struct Pcap(Vec<u8>);

impl Pcap {
    fn new() -> Pcap {
        let mut b = Vec::new();
        for v in [
            0xa1b2_c3d4u32.to_le_bytes().as_slice(),
            &2u16.to_le_bytes(),
            &4u16.to_le_bytes(),
        ] {
            b.extend_from_slice(v);
        }
        b.extend_from_slice(&[0; 8]);
        b.extend_from_slice(&65_535u32.to_le_bytes());
        b.extend_from_slice(&1u32.to_le_bytes());
        Pcap(b)
    }

    fn syn(&mut self, syn: &Syn) {
        let Syn {
            ts,
            src,
            dst,
            dport,
            ip_id,
            seq,
            window,
            options,
        } = *syn;
        let mut tcp = Vec::new();
        tcp.extend_from_slice(&40_000u16.to_be_bytes());
        tcp.extend_from_slice(&dport.to_be_bytes());
        tcp.extend_from_slice(&seq.to_be_bytes());
        tcp.extend_from_slice(&0u32.to_be_bytes());
        tcp.push((((20 + options.len()) / 4) << 4) as u8);
        tcp.push(0x02);
        tcp.extend_from_slice(&window.to_be_bytes());
        tcp.extend_from_slice(&[0, 0, 0, 0]);
        tcp.extend_from_slice(options);
        let mut frame = vec![0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2];
        match (src, dst) {
            (IpAddr::V4(s), IpAddr::V4(d)) => {
                frame.extend_from_slice(&[0x08, 0x00]);
                let mut ip = vec![0x45, 0];
                ip.extend_from_slice(&((20 + tcp.len()) as u16).to_be_bytes());
                ip.extend_from_slice(&ip_id.to_be_bytes());
                ip.extend_from_slice(&[0, 0, 64, 6, 0, 0]);
                ip.extend_from_slice(&s.octets());
                ip.extend_from_slice(&d.octets());
                let mut sum: u32 = ip
                    .chunks(2)
                    .map(|c| u32::from(u16::from_be_bytes([c[0], c[1]])))
                    .sum();
                while sum > 0xffff {
                    sum = (sum & 0xffff) + (sum >> 16);
                }
                ip[10..12].copy_from_slice(&(!(sum as u16)).to_be_bytes());
                frame.extend_from_slice(&ip);
            }
            (IpAddr::V6(s), IpAddr::V6(d)) => {
                frame.extend_from_slice(&[0x86, 0xdd]);
                frame.extend_from_slice(&[0x60, 0, 0, 0]);
                frame.extend_from_slice(&(tcp.len() as u16).to_be_bytes());
                frame.extend_from_slice(&[6, 64]);
                frame.extend_from_slice(&s.octets());
                frame.extend_from_slice(&d.octets());
            }
            _ => panic!("mixed families"),
        }
        frame.extend_from_slice(&tcp);
        self.0.extend_from_slice(&ts.to_le_bytes());
        self.0.extend_from_slice(&0u32.to_le_bytes());
        self.0
            .extend_from_slice(&(frame.len() as u32).to_le_bytes());
        self.0
            .extend_from_slice(&(frame.len() as u32).to_le_bytes());
        self.0.extend_from_slice(&frame);
    }
}

/// An ordinary Linux client SYN's options (MSS, SACK, timestamps, window
/// scale): no tool rule matches them.
const LINUX_OPTIONS: [u8; 20] = [
    2, 4, 5, 0xb4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7,
];
const NMAP_OPTIONS: [u8; 4] = [2, 4, 5, 0xb4];

fn target(i: u32, v6: bool) -> IpAddr {
    if v6 {
        IpAddr::V6(format!("2001:db8:ff::{}", i + 1).parse().unwrap())
    } else {
        IpAddr::V4(Ipv4Addr::new(203, 0, 113, (i + 1) as u8))
    }
}

/// 26 hours of background on 23/tcp (one plain SYN a minute from 50
/// sources), and the campaign on 5168/tcp in its first five minutes.
fn capture(dir: &Path) -> PathBuf {
    let mut events: Vec<Syn> = Vec::new();
    for m in 0..26 * 60u32 {
        events.push(Syn {
            ts: T0 + m * 60,
            src: IpAddr::V4(Ipv4Addr::new(198, 51, 100, (m % 50 + 1) as u8)),
            dst: target(m % 200, false),
            dport: 23,
            ip_id: 7 + (m % 900) as u16,
            seq: 0x1000_0000 + m,
            window: 64_240,
            options: &LINUX_OPTIONS,
        });
    }
    for (n, sc) in scanners().iter().enumerate() {
        let src: IpAddr = sc.addr.parse().unwrap();
        for i in 0..if sc.vertical { 12 } else { 10 } {
            let (dst, dport) = if sc.vertical {
                (target(0, src.is_ipv6()), PORT - 6 + i as u16)
            } else {
                (target(i, src.is_ipv6()), PORT)
            };
            let dst4 = match dst {
                IpAddr::V4(a) => a.to_bits(),
                IpAddr::V6(_) => 0,
            };
            let seq = 0x2000_0000 + (n as u32) * 100 + i;
            // Each tool's marks, as `portwatch_scanners::Tool` documents them.
            let (ip_id, seq, window, options): (u16, u32, u16, &'static [u8]) = match sc.marks {
                Marks::ZMap => (54_321, seq, 65_535, &[]),
                Marks::Masscan => ((dst4 ^ u32::from(dport) ^ seq) as u16, seq, 1024, &[]),
                Marks::Mirai => (3 + i as u16, dst4, 14_600, &LINUX_OPTIONS),
                Marks::Nmap => (0, seq, 1024, &NMAP_OPTIONS),
                Marks::Plain => (300 + i as u16, seq, 64_240, &LINUX_OPTIONS),
            };
            events.push(Syn {
                ts: CAMPAIGN + (n as u32 * 7 + i * 13) % 240,
                src,
                dst,
                dport,
                ip_id,
                seq,
                window,
                options,
            });
        }
    }
    events.sort_by_key(|e| e.ts);
    let mut p = Pcap::new();
    for e in &events {
        p.syn(e);
    }
    let path = dir.join("campaign.pcap");
    std::fs::write(&path, p.0).unwrap();
    path
}

/// The config: test databases, one list, the research scanners, our own
/// network; campaigns need 15 sources, so the 20 scanners alert and the 12
/// that remain without the research scanners do not.
fn config(dir: &Path, maxmind: &Path, country_db: &str, exclude: bool) -> PathBuf {
    let list = dir.join("blocklist.netset");
    std::fs::write(&list, "# FireHOL-style netset\n1.128.0.0/30\n81.2.69.142\n").unwrap();
    let research = dir.join("research.tsv");
    std::fs::write(&research, "192.0.2.0/28\tExample Research\n").unwrap();
    let path = dir.join(format!("pw-{country_db}-{exclude}.toml"));
    let text = format!(
        "[detect]\nmin_sources = 15\n[detect.new_port]\nmin_sources = 15\n\n\
         [enrich]\ncountry_db = {:?}\nasn_db = {:?}\nresearch = {:?}\n\
         home_networks = [\"198.18.0.0/15\"]\nexclude_research_from_detection = {exclude}\n\
         [[enrich.lists]]\nname = \"blocklist\"\npath = {:?}\n",
        maxmind.join(country_db),
        maxmind.join("GeoLite2-ASN-Test.mmdb"),
        research,
        list,
    );
    std::fs::write(&path, text).unwrap();
    path
}

fn s_(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn expected_tool(m: Marks) -> &'static str {
    match m {
        Marks::ZMap => "zmap",
        Marks::Masscan => "masscan",
        Marks::Mirai => "mirai",
        Marks::Nmap => "nmap",
        Marks::Plain => "unknown",
    }
}

/// Counts of `f` over the scanners, as `[{name, sources, share}]` sorted
/// like the product sorts (most first, then by name).
fn shares(names: impl Iterator<Item = String>, n: usize) -> Value {
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    for name in names {
        *counts.entry(name).or_default() += 1;
    }
    let mut v: Vec<(String, u64)> = counts.into_iter().collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let round = |x: f64| (x * 10_000.0).round() / 10_000.0;
    Value::Array(
        v.into_iter()
            .map(|(name, c)| json!({"name": name, "sources": c, "share": round(c as f64 / n as f64)}))
            .collect(),
    )
}

#[test]
fn attribution_through_the_binary() {
    let Some(shared) = shared_data() else {
        return skip("shared data (../shared/data/external) not found");
    };
    let maxmind = shared.join("maxmind-test-dbs");
    let dir = tempfile::tempdir().unwrap();
    let pcap = capture(dir.path());
    let cfg = config(dir.path(), &maxmind, "GeoLite2-Country-Test.mmdb", false);
    let db = dir.path().join("pw.db");

    let (code, doc) = run_json(&[
        "analyze",
        s_(&pcap),
        "--db",
        s_(&db),
        "--config",
        s_(&cfg),
        "--format",
        "json",
        "--no-progress",
    ]);
    assert_eq!(code, 0, "{doc}");
    assert_eq!(doc["excluded_research"], 0);
    let all = scanners();

    // Every scanner: class, tool and labels.
    let (code, doc) = run_json(&[
        "report",
        "sources",
        "--db",
        s_(&db),
        "--config",
        s_(&cfg),
        "--port",
        "5168/tcp",
        "--limit",
        "100",
        "--format",
        "json",
    ]);
    assert_eq!(code, 0);
    let rows = doc["sources"].as_array().unwrap();
    assert_eq!(rows.len(), all.len());
    for sc in &all {
        let row = rows
            .iter()
            .find(|r| r["addr"] == sc.addr)
            .unwrap_or_else(|| panic!("{} missing", sc.addr));
        let want_class = if sc.vertical {
            "vertical"
        } else {
            "horizontal"
        };
        assert_eq!(row["class"], want_class, "{}", sc.addr);
        assert_eq!(row["tool"], expected_tool(sc.marks), "{}", sc.addr);
        let probes = if sc.vertical { 12 } else { 10 };
        assert_eq!(row["probes"], probes, "{}", sc.addr);
        assert_eq!(row["tools"][expected_tool(sc.marks)], probes, "{}", sc.addr);
        assert_eq!(
            row["targets"],
            if sc.vertical { 1 } else { 10 },
            "{}",
            sc.addr
        );
        assert_eq!(row["packets"], probes);
        assert_eq!(row["country"], json!(sc.country), "{}", sc.addr);
        assert_eq!(row["asn"], json!(sc.asn.map(|a| a.0)), "{}", sc.addr);
        assert_eq!(
            row["as_org"],
            json!(sc.asn.and_then(|a| a.1)),
            "{}",
            sc.addr
        );
        let lists: Vec<&str> = if sc.listed { vec!["blocklist"] } else { vec![] };
        assert_eq!(row["lists"], json!(lists), "{}", sc.addr);
        assert_eq!(
            row["research"],
            json!(sc.research.then_some("Example Research")),
            "{}",
            sc.addr
        );
        assert_eq!(row["possibly_infected"], sc.home, "{}", sc.addr);
        assert!(row["first_seen"].is_string() && row["last_seen"].is_string());
    }
    // Background sources probed only 23/tcp with client SYNs.
    let (_, doc) = run_json(&[
        "report",
        "sources",
        "--db",
        s_(&db),
        "--port",
        "23/tcp",
        "--limit",
        "100",
        "--format",
        "json",
    ]);
    let bg = doc["sources"].as_array().unwrap();
    assert_eq!(bg.len(), 50);
    assert!(
        bg.iter()
            .all(|r| r["tool"] == "unknown" && r.get("country").is_none())
    );

    // One source, in full.
    let (code, doc) = run_json(&[
        "report",
        "source",
        "1.128.0.2",
        "--db",
        s_(&db),
        "--config",
        s_(&cfg),
        "--format",
        "json",
    ]);
    assert_eq!(code, 0);
    let src = &doc["source"];
    assert_eq!(
        (
            &src["class"],
            &src["tool"],
            &src["asn"],
            &src["as_org"],
            &src["lists"],
            &src["ports"]
        ),
        (
            &json!("horizontal"),
            &json!("mirai"),
            &json!(1221),
            &json!("Telstra Pty Ltd"),
            &json!(["blocklist"]),
            &json!(["5168/tcp"])
        )
    );
    let (code, out, _) = run(&[
        "report",
        "source",
        "198.18.0.5",
        "--db",
        s_(&db),
        "--config",
        s_(&cfg),
    ]);
    assert_eq!(code, 0);
    assert!(out.contains("possibly infected"), "{out}");
    let (code, _, err) = run(&["report", "source", "192.0.2.99", "--db", s_(&db)]);
    assert_eq!(code, 1);
    assert!(err.contains("192.0.2.99 was not seen"), "{err}");

    // The port's attribution header: breakdowns equal the table above.
    let n = all.len();
    let want_sources = json!({
        "sources": n,
        "classes": shares(all.iter().map(|s| if s.vertical { "vertical" } else { "horizontal" }.to_string()), n),
        "tools": shares(all.iter().map(|s| expected_tool(s.marks).to_string()), n),
        // SYNs only, no replies: no connection outcomes, no TRW verdicts.
        "trw": [{"name": "n/a", "sources": n, "share": 1.0}],
        "countries": shares(all.iter().filter_map(|s| s.country.map(str::to_string)), n),
        "asns": shares(all.iter().filter_map(|s| s.asn.map(|(a, o)| match o {
            Some(o) => format!("AS{a} {o}"),
            None => format!("AS{a}"),
        })), n),
        "lists": [{"name": "blocklist", "sources": 4, "share": 0.2}],
        "research": {"sources": 8, "share": 0.4, "organisations": [{"name": "Example Research", "sources": 8, "share": 0.4}]},
        "possibly_infected": ["198.18.0.5"],
    });
    let (code, doc) = run_json(&[
        "report",
        "port",
        "5168/tcp",
        "--db",
        s_(&db),
        "--config",
        s_(&cfg),
        "--format",
        "json",
    ]);
    assert_eq!(code, 0);
    let at = &doc["attribution"];
    assert_eq!(at["sources"], want_sources);
    assert_eq!(at["knowledge"]["service"], "scte30");
    assert!(
        at["knowledge"]["notes"]
            .as_str()
            .unwrap()
            .contains("ServerProtect")
    );
    let ids: Vec<&str> = at["vulnerabilities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["id"].as_str().unwrap())
        .collect();
    assert!(
        ids.contains(&"CVE-2007-4218") && ids.contains(&"CVE-2007-1070"),
        "{ids:?}"
    );
    let (_, table, _) = run(&[
        "report",
        "port",
        "5168/tcp",
        "--db",
        s_(&db),
        "--config",
        s_(&cfg),
    ]);
    assert!(table.contains("by tool: zmap 10 (50%)"), "{table}");

    // The alert carries the same attribution, and its vulnerabilities are
    // dated against the onset (2026-01-06T01:00Z; CVE-2007-4218 was
    // disclosed in August 2007, read as 2007-08-01: 6,733 days).
    let (code, doc) = run_json(&[
        "alerts",
        "--db",
        s_(&db),
        "--config",
        s_(&cfg),
        "--format",
        "json",
    ]);
    assert_eq!(code, 0);
    let alerts = doc["alerts"].as_array().unwrap();
    let alert = alerts
        .iter()
        .find(|a| a["port"] == 5168)
        .expect("an alert on 5168/tcp");
    assert_eq!(alert["schema"], "portwatch.alert/1");
    assert_eq!(alert["attribution"]["sources"], want_sources);
    let v = alert["attribution"]["vulnerabilities"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["id"] == "CVE-2007-4218")
        .expect("ServerProtect overflow");
    assert_eq!(v["days_before_onset"], 6733);
    assert_eq!(v["source"], "curated");

    // The advisory's situation shows the same countries, tools and lists.
    let id = alert["id"].as_str().unwrap();
    let (code, adv) = run_json(&[
        "advisory",
        id,
        "--db",
        s_(&db),
        "--config",
        s_(&cfg),
        "--format",
        "json",
    ]);
    assert_eq!(code, 0);
    let sit = &adv["situation"];
    let pairs = |v: &Value| -> Vec<(String, u64)> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|s| {
                (
                    s["name"].as_str().unwrap().to_string(),
                    s["sources"].as_u64().unwrap(),
                )
            })
            .collect()
    };
    let strip = |v: &Value| -> Vec<(String, u64)> {
        pairs(v)
            .into_iter()
            .filter(|(n, _)| n != "unknown")
            .collect()
    };
    assert_eq!(pairs(&sit["countries"]), pairs(&want_sources["countries"]));
    assert_eq!(pairs(&sit["asns"]), pairs(&want_sources["asns"]));
    assert_eq!(pairs(&sit["tools"]), strip(&want_sources["tools"]));
    assert_eq!(
        sit["reputation"],
        json!({"listed": 4, "checked": 20, "lists": ["blocklist"]})
    );
    let (_, md, _) = run(&["advisory", id, "--db", s_(&db), "--config", s_(&cfg)]);
    assert!(md.contains("Bredband2 AB") && md.contains("mirai"), "{md}");

    // Research scanners excluded: 80 packets never reach the series, 12
    // sources remain, and no alert opens.
    let xcfg = config(dir.path(), &maxmind, "GeoLite2-Country-Test.mmdb", true);
    let xdb = dir.path().join("x.db");
    let (code, doc) = run_json(&[
        "analyze",
        s_(&pcap),
        "--db",
        s_(&xdb),
        "--config",
        s_(&xcfg),
        "--format",
        "json",
        "--no-progress",
    ]);
    assert_eq!(code, 0);
    assert_eq!(doc["excluded_research"], 80);
    assert_eq!(doc["inputs"][0]["excluded_research"], 80);
    assert!(
        doc["alerts"]
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a["port"] != 5168),
        "{}",
        doc["alerts"]
    );
    let (_, doc) = run_json(&[
        "report",
        "sources",
        "--db",
        s_(&xdb),
        "--port",
        "5168/tcp",
        "--limit",
        "100",
        "--format",
        "json",
    ]);
    assert_eq!(doc["sources"].as_array().unwrap().len(), 12);
    let (_, table, _) = run(&[
        "analyze",
        s_(&pcap),
        "--no-store",
        "--config",
        s_(&xcfg),
        "--no-progress",
    ]);
    assert!(
        table.contains("Excluded: 80 packets from known research scanners"),
        "{table}"
    );

    // A corrupt database is named: the IPv6 scanner's record is the broken one.
    let bad = config(
        dir.path(),
        &maxmind,
        "GeoIP2-City-Test-Broken-Double-Format.mmdb",
        false,
    );
    let (code, _, err) = run(&[
        "report",
        "sources",
        "--db",
        s_(&db),
        "--config",
        s_(&bad),
        "--limit",
        "100",
    ]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("GeoIP2-City-Test-Broken-Double-Format.mmdb"),
        "{err}"
    );
    assert!(err.contains("broken MaxMind database"), "{err}");
    // And a missing one, before anything is read.
    let missing = config(dir.path(), &maxmind, "No-Such-Country.mmdb", false);
    let (code, _, err) = run(&["analyze", s_(&pcap), "--no-store", "--config", s_(&missing)]);
    assert_eq!(code, 1);
    assert!(err.contains("No-Such-Country.mmdb"), "{err}");
}
