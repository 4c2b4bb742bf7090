//! `portwatch analyze` end to end through the real binary.

#![allow(clippy::unwrap_used, clippy::print_stderr)]

mod common;

use std::collections::BTreeMap;
use std::io::Write;

use common::*;

/// A small simulated capture (seeded), written once per test that needs it.
fn simulated(dir: &std::path::Path, name: &str, extra: &[&str]) -> std::path::PathBuf {
    let out = dir.join(name);
    let mut args = vec![
        "simulate",
        "--out",
        out.to_str().unwrap(),
        "--hours",
        "3",
        "--packets",
        "30000",
        "--sources",
        "3000",
        "--seed",
        "7",
        "--campaign",
        "5168/tcp@1h+1h,sources=300,targets=3,tool=masscan,ramp=taper",
        "--campaign",
        "0/udp@2h+20m,sources=40,pps=0.2,tool=zmap",
    ];
    args.extend_from_slice(extra);
    let (code, _, err) = run(&args);
    assert_eq!(code, 0, "simulate failed: {err}");
    out
}

fn ports_by_key(
    doc: &serde_json::Value,
    array: &str,
) -> BTreeMap<(String, u64), serde_json::Value> {
    doc[array]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                (
                    p["proto"].as_str().unwrap().to_string(),
                    p["port"].as_u64().unwrap(),
                ),
                p.clone(),
            )
        })
        .collect()
}

#[test]
fn counts_match_tshark_on_a_simulated_darknet() {
    if !have("tshark") {
        return skip("tshark not installed: the independent per-port oracle is unavailable");
    }
    let dir = tempfile::tempdir().unwrap();
    let pcap = simulated(dir.path(), "sim.pcap", &[]);
    let (code, doc) = run_json(&["analyze", pcap.to_str().unwrap(), "--format", "json"]);
    assert_eq!(code, 0);
    let ours = ports_by_key(&doc, "ports");

    // tshark's view of the same file: pure SYNs per TCP port, UDP datagrams
    // per port (not those quoted inside ICMP errors), with distinct sources.
    let mut want: BTreeMap<(String, u64), (u64, std::collections::BTreeSet<String>)> =
        BTreeMap::new();
    let syn = tshark_fields(
        &pcap,
        "tcp.flags.syn==1 && tcp.flags.ack==0 && tcp.flags.reset==0 && !icmp && !icmpv6 && !(ip.frag_offset > 0)",
        &["tcp.dstport", "ip.src", "ipv6.src"],
    );
    let udp = tshark_fields(
        &pcap,
        "udp && !icmp && !icmpv6",
        &["udp.dstport", "ip.src", "ipv6.src"],
    );
    for (proto, lines) in [("tcp", syn), ("udp", udp)] {
        for l in lines {
            let f: Vec<&str> = l.split('\t').collect();
            let port: u64 = f[0].parse().unwrap();
            let src = if f[1].is_empty() { f[2] } else { f[1] };
            let e = want.entry((proto.to_string(), port)).or_default();
            e.0 += 1;
            e.1.insert(src.to_string());
        }
    }
    assert!(
        want.len() > 50,
        "the simulated capture should touch many ports"
    );
    for (key, (packets, sources)) in &want {
        let p = ours
            .get(key)
            .unwrap_or_else(|| panic!("{key:?} missing from portwatch"));
        assert_eq!(
            p["packets"].as_u64().unwrap(),
            *packets,
            "packets of {key:?}"
        );
        assert_eq!(
            p["sources"].as_u64().unwrap(),
            sources.len() as u64,
            "sources of {key:?}"
        );
    }
    let ours_tcp_udp = ours
        .keys()
        .filter(|(p, _)| p == "tcp" || p == "udp")
        .count();
    assert_eq!(
        ours_tcp_udp,
        want.len(),
        "portwatch lists ports tshark does not"
    );

    // The whole file is accounted for: records = frames tshark counts.
    let frames = tshark_fields(&pcap, "frame", &["frame.number"]).len() as u64;
    assert_eq!(doc["summary"]["records"].as_u64().unwrap(), frames);
    assert_eq!(doc["inputs"][0]["outcome"], "complete");
}

#[test]
fn top_sources_match_tshark_on_a_busy_darknet() {
    if !have("tshark") {
        return skip("tshark not installed: the independent per-source oracle is unavailable");
    }
    // An hour at ~1,700 packets a minute: the busiest port sees a few
    // hundred sources a minute, far more than the 32 a stored minute keeps.
    let dir = tempfile::tempdir().unwrap();
    let pcap = dir.path().join("busy.pcap");
    let (code, _, err) = run(&[
        "simulate",
        "--out",
        pcap.to_str().unwrap(),
        "--hours",
        "1",
        "--packets",
        "100000",
        "--sources",
        "5000",
        "--seed",
        "11",
    ]);
    assert_eq!(code, 0, "simulate failed: {err}");
    let (code, doc) = run_json(&[
        "analyze",
        pcap.to_str().unwrap(),
        "--no-store",
        "--format",
        "json",
    ]);
    assert_eq!(code, 0);

    // tshark's packets per (TCP port, source).
    let mut truth: BTreeMap<u64, BTreeMap<String, u64>> = BTreeMap::new();
    for l in tshark_fields(
        &pcap,
        "tcp.flags.syn==1 && tcp.flags.ack==0 && tcp.flags.reset==0 && !icmp && !icmpv6 && !(ip.frag_offset > 0)",
        &["tcp.dstport", "ip.src", "ipv6.src"],
    ) {
        let f: Vec<&str> = l.split('\t').collect();
        let src = if f[1].is_empty() { f[2] } else { f[1] };
        *truth
            .entry(f[0].parse().unwrap())
            .or_default()
            .entry(src.to_string())
            .or_default() += 1;
    }
    let ports: Vec<&serde_json::Value> = doc["ports"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["proto"] == "tcp")
        .collect();
    let mut checked = 0;
    for p in &ports {
        let want = &truth[&p["port"].as_u64().unwrap()];
        for e in p["top_sources"].as_array().unwrap() {
            let (addr, count, error) = (
                e["addr"].as_str().unwrap(),
                e["packets"].as_u64().unwrap(),
                e["error"].as_u64().unwrap(),
            );
            let true_count = want.get(addr).copied().unwrap_or(0);
            assert!(
                count - error <= true_count && true_count <= count,
                "port {}: {addr} has {true_count} packets, reported {count} ± {error}",
                p["port"]
            );
            checked += 1;
        }
    }
    assert!(checked > 1000, "only {checked} top entries checked");

    // The busiest port's first four are its true top four, counted exactly
    // (with Space-Saving over 32 slots per minute, the third already had an
    // error of a third of its count).
    let busiest = ports[0];
    let want = &truth[&busiest["port"].as_u64().unwrap()];
    let mut ranked: Vec<(&String, &u64)> = want.iter().collect();
    ranked.sort_by(|a, b| b.1.cmp(a.1));
    let got: Vec<(String, u64, u64)> = busiest["top_sources"].as_array().unwrap()[..4]
        .iter()
        .map(|e| {
            (
                e["addr"].as_str().unwrap().to_string(),
                e["packets"].as_u64().unwrap(),
                e["error"].as_u64().unwrap(),
            )
        })
        .collect();
    let expected: Vec<(String, u64, u64)> = ranked[..4]
        .iter()
        .map(|(a, c)| ((*a).clone(), **c, 0))
        .collect();
    assert_eq!(got, expected, "top four of port {}", busiest["port"]);
}

#[test]
fn ground_truth_campaigns_are_counted_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let pcap = simulated(dir.path(), "sim.pcap", &[]);
    let truth: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("sim.truth.json")).unwrap())
            .unwrap();
    let (code, doc) = run_json(&["analyze", pcap.to_str().unwrap(), "--format", "json"]);
    assert_eq!(code, 0);
    let ours = ports_by_key(&doc, "ports");
    let p5168 = &ours[&("tcp".to_string(), 5168)];
    let p0 = &ours[&("udp".to_string(), 0)];
    // Campaign sources never appear in the background, so the port's
    // sources are at least the campaign's.
    let campaigns = truth["campaigns"].as_array().unwrap();
    assert_eq!(campaigns.len(), 2);
    assert!(p5168["sources"].as_u64().unwrap() >= 300, "{p5168}");
    assert!(p0["sources"].as_u64().unwrap() >= 1, "{p0}");
    assert_eq!(
        doc["summary"]["packets"]["probe"].as_u64().unwrap()
            + doc["summary"]["packets"]["backscatter"].as_u64().unwrap()
            + doc["summary"]["packets"]["other"].as_u64().unwrap(),
        doc["summary"]["records"].as_u64().unwrap()
    );
}

#[test]
fn rerunning_into_the_same_store_counts_nothing_twice() {
    let dir = tempfile::tempdir().unwrap();
    let pcap = simulated(dir.path(), "sim.pcap", &[]);
    let db = dir.path().join("scans.db");
    let (p, d) = (pcap.to_str().unwrap(), db.to_str().unwrap());
    let (code, first) = run_json(&["analyze", p, "--db", d, "--format", "json"]);
    assert_eq!(code, 0);
    assert!(first["inputs"][0]["batches_merged"].as_u64().unwrap() >= 1);
    let (_, top1) = run_json(&[
        "report", "top", "--db", d, "--format", "json", "--limit", "1000",
    ]);
    let (code, second) = run_json(&["analyze", p, "--db", d, "--format", "json"]);
    assert_eq!(code, 0);
    assert_eq!(second["inputs"][0]["batches_merged"].as_u64().unwrap(), 0);
    assert_eq!(
        second["inputs"][0]["batches_already_merged"],
        first["inputs"][0]["batches_merged"]
    );
    let (_, top2) = run_json(&[
        "report", "top", "--db", d, "--format", "json", "--limit", "1000",
    ]);
    assert_eq!(top1, top2);
    // And the store agrees with the analyze report.
    let from_store = ports_by_key(&top1, "ports");
    for (key, p) in ports_by_key(&first, "ports") {
        assert_eq!(from_store[&key]["packets"], p["packets"], "{key:?}");
        assert_eq!(from_store[&key]["sources"], p["sources"], "{key:?}");
    }
}

#[test]
fn small_batches_give_the_same_totals_as_one() {
    let dir = tempfile::tempdir().unwrap();
    let pcap = simulated(dir.path(), "sim.pcap", &[]);
    let p = pcap.to_str().unwrap();
    let (_, whole) = run_json(&["analyze", p, "--format", "json", "--workers", "1"]);
    let (_, split) = run_json(&[
        "analyze",
        p,
        "--format",
        "json",
        "--workers",
        "2",
        "--batch-records",
        "997",
    ]);
    let (a, b) = (ports_by_key(&whole, "ports"), ports_by_key(&split, "ports"));
    assert_eq!(a.len(), b.len());
    for (key, pa) in &a {
        for field in [
            "packets",
            "bytes",
            "sources",
            "targets",
            "first_seen",
            "last_seen",
        ] {
            assert_eq!(pa[field], b[key][field], "{field} of {key:?}");
        }
    }
    assert_eq!(whole["summary"], split["summary"]);
}

#[test]
fn compressed_and_stdin_inputs_read_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let plain = simulated(dir.path(), "sim.pcap", &[]);
    let gz = simulated(dir.path(), "sim.pcap.gz", &[]);
    let zst = simulated(dir.path(), "sim.pcap.zst", &[]);
    let (_, want) = run_json(&["analyze", plain.to_str().unwrap(), "--format", "json"]);
    for f in [&gz, &zst] {
        let (code, got) = run_json(&["analyze", f.to_str().unwrap(), "--format", "json"]);
        assert_eq!(code, 0);
        assert_eq!(got["ports"], want["ports"], "{}", f.display());
    }
    let stdin = std::fs::File::open(&gz).unwrap();
    let out = portwatch()
        .args(["analyze", "-", "--format", "json"])
        .stdin(stdin)
        .output()
        .unwrap();
    let (code, out, err) = decode(out);
    assert_eq!(code, 0, "{err}");
    let got: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(got["ports"], want["ports"]);
    assert_eq!(got["inputs"][0]["compression"], "gzip");
}

#[test]
fn bad_inputs_are_named_and_the_good_part_kept() {
    let dir = tempfile::tempdir().unwrap();
    let pcap = simulated(dir.path(), "sim.pcap", &[]);
    let bytes = std::fs::read(&pcap).unwrap();

    // Truncated in the middle of a record: exit 3, the offset named, all
    // complete records before it counted.
    let cut = dir.path().join("cut.pcap");
    std::fs::write(&cut, &bytes[..bytes.len() / 2 + 7]).unwrap();
    let (code, doc) = run_json(&["analyze", cut.to_str().unwrap(), "--format", "json"]);
    assert_eq!(code, 3);
    let input = &doc["inputs"][0];
    assert_eq!(input["outcome"], "partial");
    assert!(input["errors"][0]["offset"].as_u64().is_some());
    assert!(doc["summary"]["records"].as_u64().unwrap() > 10_000);

    // Garbage in the middle: records after it are recovered.
    let mut garbled = bytes.clone();
    let mid = bytes.len() / 2;
    for b in &mut garbled[mid..mid + 300] {
        *b = 0xee;
    }
    let g = dir.path().join("garbled.pcap");
    std::fs::write(&g, &garbled).unwrap();
    let (code, doc) = run_json(&["analyze", g.to_str().unwrap(), "--format", "json"]);
    assert_eq!(code, 3);
    let (_, whole) = run_json(&["analyze", pcap.to_str().unwrap(), "--format", "json"]);
    let lost =
        whole["summary"]["records"].as_u64().unwrap() - doc["summary"]["records"].as_u64().unwrap();
    assert!(lost <= 10, "garbage of 300 bytes lost {lost} records");
    assert!(doc["inputs"][0]["bytes_skipped"].as_u64().unwrap() >= 300 - 64);

    // Empty file, directory, unknown format: exit 2 and the name in the message.
    let empty = dir.path().join("empty.pcap");
    std::fs::write(&empty, b"").unwrap();
    let text = dir.path().join("notes.txt");
    std::fs::write(&text, b"hello, this is not a capture\n").unwrap();
    for (path, what) in [
        (empty.to_str().unwrap(), "empty"),
        (dir.path().to_str().unwrap(), "directory"),
        (text.to_str().unwrap(), "unknown format"),
        ("/nonexistent/x.pcap", "cannot open"),
    ] {
        let (code, _, err) = run(&["analyze", path]);
        assert_eq!(code, 2, "{path}: {err}");
        assert!(err.contains(path) && err.contains(what), "{path}: {err}");
    }

    // One good input and one bad: the good one is still reported.
    let (code, doc) = run_json(&[
        "analyze",
        pcap.to_str().unwrap(),
        empty.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(code, 2);
    assert_eq!(doc["inputs"][0]["outcome"], "complete");
    assert_eq!(doc["inputs"][1]["outcome"], "unreadable");
    assert!(doc["summary"]["records"].as_u64().unwrap() > 10_000);
}

#[test]
fn firewall_logs_with_a_half_line() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("fw.log");
    let mut f = std::fs::File::create(&log).unwrap();
    let line = |src: &str, dport: u16| {
        format!(
            "Aug 22 14:0{}:01 gw kernel: [12.5] DROP IN=eth0 OUT= MAC=00:11:22:33:44:55:66:77:88:99:aa:bb:08:00 SRC={src} DST=198.18.0.5 LEN=44 TOS=0x00 PREC=0x00 TTL=40 ID=54321 PROTO=TCP SPT=40000 DPT={dport} WINDOW=1024 RES=0x00 SYN URGP=0\n",
            dport % 10
        )
    };
    for i in 0..5 {
        f.write_all(line(&format!("203.0.113.{i}"), 5168).as_bytes())
            .unwrap();
    }
    f.write_all(b"Aug 22 14:09:01 gw sshd[123]: Accepted publickey for admin\n")
        .unwrap();
    f.write_all(b"Aug 22 14:09:02 gw kernel: DROP IN=eth0 OUT= SRC=203.0.113.9 DST=198.18.0.5 LEN=44 TOS=0x00 PREC=0x00 TTL=40 ID=1 PROTO=TCP SPT=4").unwrap();
    f.write_all(b"\n").unwrap();
    f.write_all(line("203.0.113.77", 0).as_bytes()).unwrap();
    drop(f);
    let (code, doc) = run_json(&[
        "analyze",
        log.to_str().unwrap(),
        "--format",
        "json",
        "--year",
        "2007",
    ]);
    assert_eq!(code, 3);
    let input = &doc["inputs"][0];
    assert_eq!(input["format"], "netfilter-log");
    assert_eq!(input["lines_skipped"], 1);
    assert_eq!(input["errors"][0]["line"], 7);
    assert!(
        input["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("fw.log:7")
    );
    let ports = ports_by_key(&doc, "ports");
    assert_eq!(ports[&("tcp".into(), 5168)]["sources"], 5);
    assert_eq!(ports[&("tcp".into(), 0)]["packets"], 1);
    assert!(
        ports[&("tcp".into(), 5168)]["first_seen"]
            .as_str()
            .unwrap()
            .starts_with("2007-08-22T14:0")
    );
}

#[test]
fn usage_errors_exit_1() {
    let (code, _, err) = run(&["analyze"]);
    assert_eq!(code, 1, "{err}");
    let (code, _, err) = run(&["analyze", "x.pcap", "--utc-offset", "nonsense"]);
    assert_eq!(code, 1, "{err}");
    let (code, _, err) = run(&["report", "top", "--db", "/nonexistent/scans.db"]);
    assert_eq!(code, 1);
    assert!(err.contains("/nonexistent/scans.db"), "{err}");
}

/// Entries left in `dir`.
fn entries(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect()
}

#[test]
fn without_db_the_temporary_store_is_removed_at_the_end() {
    let dir = tempfile::tempdir().unwrap();
    let pcap = simulated(dir.path(), "sim.pcap", &[]);
    let tmp = tempfile::tempdir().unwrap();
    let out = portwatch()
        .args(["analyze", pcap.to_str().unwrap(), "--format", "json"])
        .env("TMPDIR", tmp.path())
        .output()
        .unwrap();
    let (code, out, err) = decode(out);
    assert_eq!(code, 0, "{err}");
    // The store was used: detection read the three hours back from it.
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(doc["detection"]["ran"], true, "{out}");
    assert_eq!(doc["detection"]["minutes"], 180, "{out}");
    assert!(entries(tmp.path()).is_empty(), "{:?}", entries(tmp.path()));
}

#[cfg(unix)]
#[test]
fn an_interrupted_analyze_removes_its_temporary_store() {
    use std::io::{BufRead, BufReader, Read};
    use std::time::Duration;

    let tmp = tempfile::tempdir().unwrap();
    // Reading standard input that never ends keeps analyze running. Its
    // debug log says when the signal watcher is in place.
    let mut child = portwatch()
        .args(["analyze", "-", "--format", "json"])
        .env("TMPDIR", tmp.path())
        .env("PORTWATCH_LOG", "portwatch=debug")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    // A pcap header: the input is recognised and reading goes on.
    let mut header = Vec::new();
    header.extend(0xa1b2_c3d4u32.to_le_bytes());
    header.extend(2u16.to_le_bytes());
    header.extend(4u16.to_le_bytes());
    header.extend([0u8; 8]);
    header.extend(65535u32.to_le_bytes());
    header.extend(1u32.to_le_bytes());
    stdin.write_all(&header).unwrap();
    stdin.flush().unwrap();
    let (lines_tx, lines_rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut line = String::new();
        while stderr.read_line(&mut line).is_ok_and(|n| n > 0) {
            let watching = line.contains("watching for Ctrl-C");
            let _ = lines_tx.send(std::mem::take(&mut line));
            if watching {
                break;
            }
        }
        let mut rest = String::new();
        let _ = stderr.read_to_string(&mut rest);
        rest
    });
    let mut seen = String::new();
    loop {
        let line = lines_rx
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|e| panic!("no watcher line ({e}); stderr so far:\n{seen}"));
        seen.push_str(&line);
        if line.contains("watching for Ctrl-C") {
            break;
        }
    }
    assert!(!entries(tmp.path()).is_empty(), "the store is made first");
    send_signal(&child, "-INT");
    let status = child.wait().unwrap();
    drop(stdin);
    let err = seen + &reader.join().unwrap();
    assert_eq!(status.code(), Some(130), "{err}");
    assert!(err.contains("removed the temporary store"), "{err}");
    assert!(entries(tmp.path()).is_empty(), "{:?}", entries(tmp.path()));
}
