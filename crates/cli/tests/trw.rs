//! Threshold Random Walk end to end: a capture with replies, written here
//! packet by packet, goes through `analyze` into a store, and `report
//! sources` / `report source` give each source's verdict with exact
//! first-contact counts. A capture without replies gives no verdicts.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

mod common;

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use common::*;
use serde_json::Value;

const SYN: u8 = 0x02;
const RST_ACK: u8 = 0x14;
const SYN_ACK: u8 = 0x12;

/// A classic pcap of Ethernet/IPv4/TCP frames.
struct Pcap(Vec<u8>);

impl Pcap {
    fn new() -> Pcap {
        let mut b = Vec::new();
        b.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
        b.extend_from_slice(&2u16.to_le_bytes());
        b.extend_from_slice(&4u16.to_le_bytes());
        b.extend_from_slice(&[0; 8]);
        b.extend_from_slice(&65_535u32.to_le_bytes());
        b.extend_from_slice(&1u32.to_le_bytes());
        Pcap(b)
    }

    fn tcp(&mut self, ts: u32, src: Ipv4Addr, sport: u16, dst: Ipv4Addr, dport: u16, flags: u8) {
        let mut tcp = Vec::new();
        tcp.extend_from_slice(&sport.to_be_bytes());
        tcp.extend_from_slice(&dport.to_be_bytes());
        tcp.extend_from_slice(&1u32.to_be_bytes());
        tcp.extend_from_slice(&u32::from(flags & 0x10 != 0).to_be_bytes());
        tcp.extend_from_slice(&[0x50, flags]);
        tcp.extend_from_slice(&64_240u16.to_be_bytes());
        tcp.extend_from_slice(&[0, 0, 0, 0]);
        let mut ip = vec![0x45, 0];
        ip.extend_from_slice(&((20 + tcp.len()) as u16).to_be_bytes());
        ip.extend_from_slice(&[0x12, 0x34, 0x40, 0, 64, 6, 0, 0]);
        ip.extend_from_slice(&src.octets());
        ip.extend_from_slice(&dst.octets());
        let mut sum: u32 = ip
            .chunks(2)
            .map(|c| u32::from(u16::from_be_bytes([c[0], c[1]])))
            .sum();
        while sum > 0xffff {
            sum = (sum & 0xffff) + (sum >> 16);
        }
        ip[10..12].copy_from_slice(&(!(sum as u16)).to_be_bytes());
        let mut frame = vec![0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2, 0x08, 0x00];
        frame.extend_from_slice(&ip);
        frame.extend_from_slice(&tcp);
        self.0
            .extend_from_slice(&(1_750_000_000 + ts).to_le_bytes());
        self.0.extend_from_slice(&0u32.to_le_bytes());
        self.0
            .extend_from_slice(&(frame.len() as u32).to_le_bytes());
        self.0
            .extend_from_slice(&(frame.len() as u32).to_le_bytes());
        self.0.extend_from_slice(&frame);
    }
}

const SCANNER: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 1);
const CLIENT: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 2);
const UNDECIDED: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 3);

fn host(i: u8) -> Ipv4Addr {
    Ipv4Addr::new(198, 19, 1, i)
}

/// The scanner SYNs 20 hosts on 23/tcp: 3 accept, 14 reset, 3 stay silent;
/// it then tries 2323 on every host, which are not first contacts. The
/// client opens 12 connections to 5 web servers, all accepted. A third
/// source has one success and one reset. Expected first contacts: scanner
/// 3 ok / 17 failed, client 5 / 0, the third 1 / 1.
fn with_replies(dir: &Path) -> PathBuf {
    let mut p = Pcap::new();
    let mut t = 0;
    for i in 1..=20u8 {
        t += 1;
        p.tcp(t, SCANNER, 50_000, host(i), 23, SYN);
        match i {
            1..=3 => p.tcp(t, host(i), 23, SCANNER, 50_000, SYN_ACK),
            4..=17 => p.tcp(t, host(i), 23, SCANNER, 50_000, RST_ACK),
            _ => {}
        }
    }
    for i in 1..=20u8 {
        t += 1;
        p.tcp(t, SCANNER, 50_000, host(i), 2323, SYN);
        p.tcp(t, host(i), 2323, SCANNER, 50_000, RST_ACK);
    }
    for n in 0..12u16 {
        t += 1;
        let server = host(100 + (n % 5) as u8);
        p.tcp(t, CLIENT, 40_000 + n, server, 443, SYN);
        p.tcp(t, server, 443, CLIENT, 40_000 + n, SYN_ACK);
    }
    t += 1;
    p.tcp(t, UNDECIDED, 1234, host(200), 22, SYN);
    p.tcp(t, host(200), 22, UNDECIDED, 1234, SYN_ACK);
    p.tcp(t, UNDECIDED, 1235, host(201), 22, SYN);
    p.tcp(t, host(201), 22, UNDECIDED, 1235, RST_ACK);
    let path = dir.join("replies.pcap");
    std::fs::write(&path, &p.0).unwrap();
    path
}

/// The same scanner and client SYNs with no replies: a darknet's view.
fn darknet(dir: &Path) -> PathBuf {
    let mut p = Pcap::new();
    for i in 1..=20u8 {
        p.tcp(u32::from(i), SCANNER, 50_000, host(i), 23, SYN);
    }
    for n in 0..12u16 {
        p.tcp(30 + u32::from(n), CLIENT, 40_000 + n, host(100), 443, SYN);
    }
    let path = dir.join("darknet.pcap");
    std::fs::write(&path, &p.0).unwrap();
    path
}

fn s_(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn analyze_and_list(pcap: &Path, db: &Path) -> Vec<Value> {
    let (code, doc) = run_json(&[
        "analyze",
        s_(pcap),
        "--db",
        s_(db),
        "--format",
        "json",
        "--no-progress",
    ]);
    assert_eq!(code, 0, "{doc}");
    let (code, doc) = run_json(&[
        "report",
        "sources",
        "--db",
        s_(db),
        "--limit",
        "1000",
        "--format",
        "json",
    ]);
    assert_eq!(code, 0, "{doc}");
    doc["sources"].as_array().unwrap().clone()
}

fn row(rows: &[Value], addr: Ipv4Addr) -> &Value {
    rows.iter()
        .find(|r| r["addr"] == addr.to_string())
        .unwrap_or_else(|| panic!("{addr} missing"))
}

#[test]
fn verdicts_from_a_capture_with_replies() {
    let dir = tempfile::tempdir().unwrap();
    let pcap = with_replies(dir.path());
    let rows = analyze_and_list(&pcap, &dir.path().join("pw.db"));

    let trw = |a| row(&rows, a)["trw"].clone();
    assert_eq!(
        trw(SCANNER),
        serde_json::json!({"verdict": "scanner", "ok": 3, "failed": 17})
    );
    assert_eq!(
        trw(CLIENT),
        serde_json::json!({"verdict": "benign", "ok": 5, "failed": 0})
    );
    assert_eq!(
        trw(UNDECIDED),
        serde_json::json!({"verdict": "pending", "ok": 1, "failed": 1})
    );
    // The answering hosts opened nothing: no outcomes of their own.
    assert_eq!(row(&rows, host(4))["trw"], Value::Null);

    // tshark, when present, as an independent count of the answers the
    // scanner's first round got (the second round's resets are not first
    // contacts).
    if have("tshark") {
        let answers = |flags: &str| {
            tshark_fields(
                &pcap,
                &format!("ip.dst == {SCANNER} && tcp.srcport == 23 && tcp.flags == {flags}"),
                &["ip.src"],
            )
            .len()
        };
        let syns = tshark_fields(
            &pcap,
            &format!("ip.src == {SCANNER} && tcp.dstport == 23 && tcp.flags == 0x002"),
            &["ip.dst"],
        )
        .len();
        let (ok, reset) = (answers("0x012"), answers("0x014"));
        assert_eq!(trw(SCANNER)["ok"], ok);
        assert_eq!(trw(SCANNER)["failed"], syns - ok);
        assert_eq!(syns - ok - reset, 3, "three SYNs unanswered");
    } else {
        skip("tshark not installed: the oracle cross-check is not run");
    }

    // The CSV form carries the same verdicts and counts.
    let (code, csv, err) = run(&[
        "report",
        "sources",
        "--db",
        s_(&dir.path().join("pw.db")),
        "--format",
        "csv",
    ]);
    assert_eq!(code, 0, "{err}");
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap_or_default().split(',').collect();
    let col = |name: &str| {
        header
            .iter()
            .position(|h| *h == name)
            .unwrap_or_else(|| panic!("no {name} column in {header:?}"))
    };
    let (addr, verdict, ok, failed) = (
        col("addr"),
        col("trw"),
        col("first_contacts_ok"),
        col("first_contacts_failed"),
    );
    let csv_row = |a: Ipv4Addr| -> Vec<String> {
        lines
            .clone()
            .map(|l| l.split(',').map(str::to_string).collect::<Vec<_>>())
            .find(|f| f.get(addr).is_some_and(|v| *v == a.to_string()))
            .unwrap_or_else(|| panic!("{a} missing from {csv}"))
    };
    let scanner = csv_row(SCANNER);
    assert_eq!(
        (&*scanner[verdict], &*scanner[ok], &*scanner[failed]),
        ("scanner", "3", "17")
    );
    let answering = csv_row(host(4));
    assert_eq!(
        (&*answering[verdict], &*answering[ok], &*answering[failed]),
        ("", "", "")
    );

    // The single-source report says the same in words.
    let (code, out, err) = run(&[
        "report",
        "source",
        &SCANNER.to_string(),
        "--db",
        s_(&dir.path().join("pw.db")),
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.lines()
            .any(|l| l.trim() == "trw          scanner (3 ok, 17 failed)"),
        "{out}"
    );
}

#[test]
fn a_darknet_capture_gives_no_verdicts() {
    let dir = tempfile::tempdir().unwrap();
    let pcap = darknet(dir.path());
    let rows = analyze_and_list(&pcap, &dir.path().join("pw.db"));
    assert_eq!(rows.len(), 2);
    for r in &rows {
        assert_eq!(r["trw"], Value::Null, "{r}");
    }
    let (code, out, err) = run(&["report", "sources", "--db", s_(&dir.path().join("pw.db"))]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.lines()
            .any(|h| h.contains("SOURCE") && h.contains("TRW")),
        "{out}"
    );
    let scanner_line = out
        .lines()
        .find(|l| l.trim_start().starts_with(&SCANNER.to_string()))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(scanner_line.contains("n/a"), "{scanner_line}");
}

/// A firewall log of drops: 198.18.0.7 SYNs 6 addresses (two of them twice,
/// on another port), 198.18.0.8 sends 2 SYNs to one address and an ACK to
/// another.
fn drop_log(dir: &Path) -> PathBuf {
    let line = |min: u32, src: &str, dst: u32, dport: u16, flags: &str| {
        format!(
            "Aug 22 14:{min:02}:01 gw kernel: [12.5] DROP IN=eth0 OUT= SRC={src} \
             DST=198.18.2.{dst} LEN=44 TOS=0x00 PREC=0x00 TTL=40 ID=7 PROTO=TCP SPT=40000 \
             DPT={dport} WINDOW=1024 RES=0x00 {flags} URGP=0\n"
        )
    };
    let mut text = String::new();
    for d in 1..=6 {
        text.push_str(&line(d, "198.18.0.7", d, 22, "SYN"));
    }
    for d in 1..=2 {
        text.push_str(&line(10 + d, "198.18.0.7", d, 2222, "SYN"));
    }
    text.push_str(&line(20, "198.18.0.8", 50, 80, "SYN"));
    text.push_str(&line(21, "198.18.0.8", 50, 80, "SYN"));
    text.push_str(&line(22, "198.18.0.8", 51, 80, "ACK"));
    let path = dir.join("drops.log");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn drop_logs_give_failures_only_when_declared_live() {
    let dir = tempfile::tempdir().unwrap();
    let log = drop_log(dir.path());
    let cfg = dir.path().join("live.toml");
    std::fs::write(&cfg, "[enrich]\ndrop_log_outcomes = true\n").unwrap();
    for (declared, want7, want8) in [
        (
            true,
            serde_json::json!({"verdict": "scanner", "ok": 0, "failed": 6}),
            serde_json::json!({"verdict": "pending", "ok": 0, "failed": 1}),
        ),
        (false, Value::Null, Value::Null),
    ] {
        let db = dir.path().join(format!("pw-{declared}.db"));
        let mut args = vec![
            "analyze",
            s_(&log),
            "--db",
            s_(&db),
            "--year",
            "2024",
            "--format",
            "json",
            "--no-progress",
        ];
        if declared {
            args.extend(["--config", s_(&cfg)]);
        }
        let (code, doc) = run_json(&args);
        assert_eq!(code, 0, "{doc}");
        let (code, doc) = run_json(&["report", "sources", "--db", s_(&db), "--format", "json"]);
        assert_eq!(code, 0, "{doc}");
        let rows = doc["sources"].as_array().unwrap();
        assert_eq!(row(rows, Ipv4Addr::new(198, 18, 0, 7))["trw"], want7);
        assert_eq!(row(rows, Ipv4Addr::new(198, 18, 0, 8))["trw"], want8);
    }
}
