//! `portwatch run` against real scanners: a network namespace joined to
//! the test's by a veth pair (198.18.7.0/30, benchmarking space; nothing is
//! sent anywhere else), portwatch capturing on its end of the veth and
//! running its honeypot and API inside it, nmap (a SYN scan with `-sV`
//! service probes, and UDP probes) and hping3 (UDP) outside. Checked
//! through the API and the store: the probes per port equal, exactly, what
//! tshark counts in its own capture of the same veth (the honeypot adds
//! payloads, not a second count); nmap's probes are recognised by their
//! payload signatures; no packet was dropped; and in tshark's capture no UDP
//! reply of the honeypot is longer than its request.
//!
//! Needs root, `ip`, `nmap`, `hping3` and `tshark`; prints `skipped: …`
//! otherwise.

#![allow(clippy::unwrap_used, clippy::print_stderr)]

mod common;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::netns::Cleanup;
use common::*;
use portwatch_testkit::{command_exists, is_root, run_quiet as sh};
use serde_json::Value;

const OUTSIDE: &str = "198.18.7.1";
const INSIDE: &str = "198.18.7.2";
const API_PORT: u16 = 8780;
const API: &str = "198.18.7.2:8780";

fn http_get(path: &str) -> Option<Value> {
    let mut s = TcpStream::connect_timeout(&API.parse().unwrap(), Duration::from_secs(1)).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {API}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut text = String::new();
    s.read_to_string(&mut text).ok()?;
    let (_, body) = text.split_once("\r\n\r\n")?;
    serde_json::from_str(body).ok()
}

fn signatures(port: u16, proto: &str) -> Vec<String> {
    http_get(&format!("/api/v1/ports/{port}/{proto}/payloads")).unwrap()["signatures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn nmap_and_hping3_against_the_honeypot_in_a_namespace() {
    if !is_root() {
        skip("needs root (network namespaces)");
        return;
    }
    for tool in ["ip", "nmap", "hping3", "tshark"] {
        if !command_exists(tool) {
            skip(&format!("needs {tool}"));
            return;
        }
    }
    let id = std::process::id();
    let (ns, outside, inside) = (
        format!("pwrun{id}"),
        format!("pwro{id}"),
        format!("pwri{id}"),
    );
    let mut cleanup = Cleanup {
        ns: ns.clone(),
        children: Vec::new(),
    };
    let setup: Vec<Vec<&str>> = vec![
        vec!["ip", "netns", "add", &ns],
        vec![
            "ip", "link", "add", &outside, "type", "veth", "peer", "name", &inside,
        ],
        vec!["ip", "link", "set", &inside, "netns", &ns],
        vec!["ip", "addr", "add", "198.18.7.1/30", "dev", &outside],
        vec![
            "ip",
            "-n",
            &ns,
            "addr",
            "add",
            "198.18.7.2/30",
            "dev",
            &inside,
        ],
        vec!["ip", "link", "set", &outside, "up"],
        vec!["ip", "-n", &ns, "link", "set", &inside, "up"],
        vec!["ip", "-n", &ns, "link", "set", "lo", "up"],
    ];
    for cmd in &setup {
        if !sh(cmd) {
            skip(&format!("cannot set up the namespace ({})", cmd.join(" ")));
            return;
        }
    }

    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("run.toml");
    // Every event committed at once (the API reads the store). A capture
    // on the namespace's end of the veth, leaving out the test's own API
    // requests. The default honeypot ports, on the namespace's address; UDP
    // replies longer than any probe, which the honeypot must cut to each
    // request's length.
    std::fs::write(
        &config,
        format!(
            "[run]\nmax_pending_events = 1\n[api]\nlisten = \"{API}\"\n\
             [[capture]]\ninterface = \"{inside}\"\nbpf_filter = \"not tcp port {API_PORT}\"\n\
             [honeypot]\naddresses = [\"{INSIDE}\"]\n\
             [honeypot.udp_replies]\n\"5060\" = \"SIP/2.0 200 OK\\r\\n{pad}\\r\\n\"\n\
             \"11211\" = \"STAT pid 1\\r\\n{pad}\\r\\nEND\\r\\n\"\n\
             [honeypot.limits]\nidle_after_data_ms = 300\nudp_replies_per_source_per_sec = 50\n\
             udp_reply_source_burst = 50\n",
            pad = "x".repeat(1200)
        ),
    )
    .unwrap();
    let sensor = Command::new("ip")
        .args([
            "netns",
            "exec",
            &ns,
            env!("CARGO_BIN_EXE_portwatch"),
            "run",
            "--config",
        ])
        .arg(&config)
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    cleanup.children.push(sensor);
    let deadline = Instant::now() + Duration::from_secs(30);
    while http_get("/api/v1/health").is_none() {
        assert!(Instant::now() < deadline, "the sensor's API never came up");
        std::thread::sleep(Duration::from_millis(100));
    }

    // Every packet on the veth but the API's: the oracle for the counts,
    // and the reply sizes.
    let pcap = dir.path().join("veth.pcap");
    let mut tshark = Command::new("tshark")
        .args([
            "-n",
            "-q",
            "-i",
            &outside,
            "-f",
            &format!("not tcp port {API_PORT}"),
            "-w",
        ])
        .arg(&pcap)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    let mut err = BufReader::new(tshark.stderr.take().unwrap());
    while err.read_line(&mut line).unwrap() > 0 && !line.contains("Capturing on") {
        line.clear();
    }

    let nmap = |args: &[&str]| {
        let out = Command::new("nmap")
            .args(["-n", "-Pn", "--host-timeout", "120s"])
            .args(args)
            .arg(INSIDE)
            .output()
            .unwrap();
        assert!(out.status.success(), "nmap {args:?} failed");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let tcp = nmap(&["-sS", "-sV", "--version-light", "-p", "2222,6379,8080,9200"]);
    eprintln!("{tcp}");
    let udp = nmap(&["-sU", "-sV", "--version-light", "-p", "5060,11211"]);
    eprintln!("{udp}");
    let hping = Command::new("hping3")
        .args([
            "--udp", "-p", "11211", "-d", "12", "-c", "3", "-i", "u200000", INSIDE,
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(
        hping.success() || hping.code() == Some(1),
        "hping3 failed: {hping}"
    );
    std::thread::sleep(Duration::from_secs(1));
    let _ = Command::new("kill")
        .args(["-INT", &tshark.id().to_string()])
        .status();
    let _ = tshark.wait();

    // Counted: every port scanned shows up, with the probes recognised.
    let s = http_get("/api/v1/sensors").unwrap()["sensors"][0].clone();
    let sources = s["sources"].as_array().unwrap();
    let source = |name: &str| {
        sources
            .iter()
            .find(|x| x["name"].as_str().unwrap_or_default().starts_with(name))
            .unwrap_or_else(|| panic!("no source {name}: {s}"))
            .clone()
    };
    let (capture, honeypot) = (source("capture:"), source("honeypot"));
    assert!(capture["events"].as_u64().unwrap() >= 6, "{s}");
    assert!(honeypot["events"].as_u64().unwrap() >= 6, "{s}");
    let capture_drops = capture["drops"].as_u64();
    let http = signatures(8080, "tcp");
    let sip = signatures(5060, "udp");
    let memcached = signatures(11211, "udp");
    // Stop, so the store holds everything, then read it.
    let pid = cleanup.children[0].id();
    let _ = Command::new("kill")
        .args(["-INT", &pid.to_string()])
        .status();
    let status = cleanup.children[0].wait().unwrap();
    assert_eq!(status.code(), Some(0), "graceful stop");
    assert!(
        http.contains(&"http-request".to_string()),
        "8080/tcp: {http:?}"
    );
    assert!(
        sip.contains(&"sip-options".to_string()),
        "5060/udp: {sip:?}"
    );
    assert!(
        memcached.contains(&"memcached-udp".to_string()),
        "11211/udp: {memcached:?}"
    );
    let db = dir.path().join("portwatch-state/portwatch.db");
    let (_, top) = run_json(&[
        "report",
        "top",
        "--db",
        db.to_str().unwrap(),
        "--format",
        "json",
    ]);
    let seen: Vec<String> = top["ports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| format!("{}/{}", p["port"], p["proto"].as_str().unwrap()))
        .collect();
    for want in [
        "2222/tcp",
        "6379/tcp",
        "8080/tcp",
        "9200/tcp",
        "5060/udp",
        "11211/udp",
    ] {
        assert!(
            seen.contains(&want.to_string()),
            "{want} not counted: {seen:?}"
        );
    }

    // Counted exactly: the probes per port in the store equal tshark's
    // count of the same traffic — SYNs without ACK and UDP datagrams sent to
    // the sensor.
    let mut oracle: HashMap<String, u64> = HashMap::new();
    for row in tshark_fields(
        &pcap,
        &format!(
            "!icmp && ip.src == {OUTSIDE} && ip.dst == {INSIDE} && \
             ((tcp.flags.syn == 1 && tcp.flags.ack == 0) || udp)"
        ),
        &["tcp.dstport", "udp.dstport"],
    ) {
        let f: Vec<&str> = row.split('\t').collect();
        let key = match (f.first().copied(), f.get(1).copied()) {
            (Some(t), _) if !t.is_empty() => format!("{t}/tcp"),
            (_, Some(u)) if !u.is_empty() => format!("{u}/udp"),
            _ => panic!("a probe without a port: {row}"),
        };
        *oracle.entry(key).or_default() += 1;
    }
    let counted: HashMap<String, u64> = top["ports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                format!("{}/{}", p["port"], p["proto"].as_str().unwrap()),
                p["packets"].as_u64().unwrap(),
            )
        })
        .collect();
    let probes: u64 = oracle.values().sum();
    eprintln!(
        "{probes} probes on {} ports, as tshark counts them",
        oracle.len()
    );
    assert_eq!(
        counted, oracle,
        "probes per port: portwatch (left) and tshark (right)"
    );
    assert!(probes > 20, "too few probes to prove anything: {oracle:?}");
    assert_eq!(capture_drops, Some(0), "capture drops");

    // Never an amplifier: each reply at most as long as the request it
    // answers (the last request from the same port pair before it).
    let rows = tshark_fields(
        &pcap,
        "udp && !icmp",
        &["ip.src", "udp.srcport", "udp.dstport", "udp.length"],
    );
    let mut last_request: HashMap<(String, String), u64> = HashMap::new();
    let mut replies = 0;
    for row in &rows {
        let f: Vec<&str> = row.split('\t').collect();
        let (src, sport, dport, len) = (f[0], f[1], f[2], f[3].parse::<u64>().unwrap());
        if src == OUTSIDE {
            last_request.insert((sport.to_string(), dport.to_string()), len);
        } else if src == INSIDE {
            let req = last_request
                .get(&(dport.to_string(), sport.to_string()))
                .unwrap_or_else(|| panic!("a reply with no request: {row}"));
            assert!(len <= *req, "reply of {len} to a request of {req}: {row}");
            replies += 1;
        }
    }
    eprintln!(
        "{} UDP packets, {replies} replies, none longer than its request",
        rows.len()
    );
    assert!(replies > 0, "the configured UDP replies were never sent");
}
