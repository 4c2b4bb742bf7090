//! `portwatch run` through the real binary: the honeypot answered by real
//! clients and checked through the HTTP API, Ctrl-C flushing the current
//! minute, and a soak run — an hour of firewall log followed at full
//! speed, the process killed with SIGKILL mid-way and restarted — whose
//! store equals one `portwatch analyze` of the same file.

#![allow(clippy::unwrap_used, clippy::print_stderr)]

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream, UdpSocket};
use std::path::Path;
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::*;
use serde_json::Value;

/// A running `portwatch run`, its API address and its log lines.
struct Running {
    child: Child,
    api: String,
    logs: mpsc::Receiver<String>,
}

impl Running {
    fn start(config: &Path, dir: &Path) -> Running {
        let mut child = portwatch()
            .args(["run", "--log-format", "json", "--config"])
            .arg(config)
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (tx, rx) = mpsc::channel();
        let stderr = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut seen = Vec::new();
        let api = loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = rx
                .recv_timeout(left)
                .unwrap_or_else(|_| panic!("no API address; stderr so far:\n{}", seen.join("\n")));
            let v: Value = serde_json::from_str(&line)
                .unwrap_or_else(|e| panic!("log line is not JSON ({e}): {line}"));
            if v["fields"]["message"] == "API listening" {
                let addr = v["fields"]["addr"].as_str().unwrap();
                break addr.trim_start_matches("http://").to_string();
            }
            seen.push(line);
        };
        Running {
            child,
            api,
            logs: rx,
        }
    }

    fn get(&self, path: &str) -> Value {
        let (status, body) = http_get(&self.api, path);
        assert_eq!(status, 200, "{path}: {body}");
        serde_json::from_str(&body).unwrap()
    }

    /// The first (only) sensor's health.
    fn sensor(&self) -> Value {
        self.get("/api/v1/sensors")["sensors"][0].clone()
    }

    fn wait_for(&self, what: &str, mut done: impl FnMut(&Value) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let s = self.sensor();
            if done(&s) {
                return s;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}: {s}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn signal(&mut self, sig: &str) -> Option<i32> {
        send_signal(&self.child, sig);
        let status = self.child.wait().unwrap();
        // Drain what it logged last, for failure messages.
        while let Ok(line) = self.logs.recv_timeout(Duration::from_millis(100)) {
            if line.contains("\"ERROR\"") {
                eprintln!("{line}");
            }
        }
        status.code()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn http_get(addr: &str, path: &str) -> (u16, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    let status = text[9..12].parse().unwrap();
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

/// A TCP port nobody listens on right now (bound, then released).
fn free_tcp() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn free_udp() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Connects, reads a banner if `banner`, sends `payload`, closes.
fn tcp_send(port: u16, payload: &[u8], banner: bool) -> Vec<u8> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut got = vec![0; 256];
    let n = if banner { s.read(&mut got).unwrap() } else { 0 };
    got.truncate(n);
    s.write_all(payload).unwrap();
    // Closing our side ends the honeypot's read at once.
    s.shutdown(std::net::Shutdown::Write).unwrap();
    let _ = s.read(&mut [0; 16]);
    got
}

/// A minimal TLS 1.2 ClientHello: one cipher suite, no extensions.
fn client_hello() -> Vec<u8> {
    let mut body = vec![0x03, 0x03];
    body.extend([7u8; 32]); // random
    body.push(0); // session id
    body.extend([0x00, 0x02, 0x13, 0x01]); // cipher suites
    body.extend([0x01, 0x00]); // compression: null
    body.extend([0x00, 0x00]); // no extensions
    let mut hs = vec![0x01, 0x00, 0x00, body.len() as u8];
    hs.extend(body);
    let mut rec = vec![0x16, 0x03, 0x01, 0x00, hs.len() as u8];
    rec.extend(hs);
    rec
}

fn port_payloads(r: &Running, port: u16, proto: &str) -> Value {
    r.get(&format!("/api/v1/ports/{port}/{proto}/payloads"))
}

fn signature_names(doc: &Value) -> Vec<String> {
    doc["signatures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn honeypot_hits_from_real_clients_reach_the_api() {
    let dir = tempfile::tempdir().unwrap();
    let (http, tls, ssh, redis) = (free_tcp(), free_tcp(), free_tcp(), free_tcp());
    let sip = free_udp();
    let config = dir.path().join("run.toml");
    std::fs::write(
        &config,
        format!(
            "[run]\nsensor = \"e2e\"\nmax_pending_events = 1\n\
             [api]\nlisten = \"127.0.0.1:0\"\n\
             [honeypot]\naddresses = [\"127.0.0.1\"]\n\
             tcp_ports = [\"{http}\", \"{tls}\", \"{ssh}\", \"{redis}\"]\nudp_ports = [\"{sip}\"]\n\
             [honeypot.banners]\n\"{ssh}\" = \"SSH-2.0-OpenSSH_8.9p1\\r\\n\"\n\
             [honeypot.udp_replies]\n\"{sip}\" = \"SIP/2.0 200 OK\\r\\nVia: SIP/2.0/UDP 198.18.0.1;branch=z9hG4bK-{pad}\\r\\n\\r\\n\"\n\
             [honeypot.limits]\nidle_after_data_ms = 100\n",
            pad = "x".repeat(400)
        ),
    )
    .unwrap();
    let mut r = Running::start(&config, dir.path());

    for _ in 0..3 {
        tcp_send(
            http,
            b"GET /admin HTTP/1.1\r\nHost: x\r\nUser-Agent: zgrab/0.x\r\n\r\n",
            false,
        );
    }
    tcp_send(tls, &client_hello(), false);
    let banner = tcp_send(ssh, b"SSH-2.0-libssh_0.9.6\r\n", true);
    assert_eq!(banner, b"SSH-2.0-OpenSSH_8.9p1\r\n");
    tcp_send(redis, b"*1\r\n$4\r\nPING\r\n", false);
    let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
    udp.set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    let requests: [&[u8]; 3] = [
        b"OPTIONS sip:nm SIP/2.0\r\nVia: SIP/2.0/UDP nm\r\n\r\n",
        b"abc",
        b"OPTIONS sip:nm SIP/2.0\r\n\r\n",
    ];
    let mut replies = Vec::new();
    for req in requests {
        udp.send_to(req, ("127.0.0.1", sip)).unwrap();
        let mut buf = [0u8; 2048];
        if let Ok((n, _)) = udp.recv_from(&mut buf) {
            // Rule 10: never more bytes back than came in.
            assert!(
                n <= req.len(),
                "reply of {n} bytes to a {}-byte request",
                req.len()
            );
            replies.push(n);
        }
    }
    assert!(
        !replies.is_empty(),
        "the configured UDP reply was never sent"
    );

    let s = r.wait_for("9 honeypot events committed", |s| {
        s["sources"][0]["events"] == 9 && s["pending_events"] == 0
    });
    assert_eq!(s["sources"][0]["name"], "honeypot");
    assert_eq!(s["sources"][0]["drops"], 0);
    assert!(s["sources"][0]["detail"]["udp_replies"].as_u64().unwrap() >= 1);

    let top = r.get("/api/v1/ports/top?limit=10");
    let packets = |port: u16, proto: &str| -> u64 {
        top["ports"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["port"] == port && p["proto"] == proto)
            .map_or(0, |p| p["packets"].as_u64().unwrap())
    };
    assert_eq!(packets(http, "tcp"), 3, "{top}");
    assert_eq!(packets(tls, "tcp"), 1);
    assert_eq!(packets(ssh, "tcp"), 1);
    assert_eq!(packets(redis, "tcp"), 1);
    assert_eq!(packets(sip, "udp"), 3);

    let h = port_payloads(&r, http, "tcp");
    assert_eq!(signature_names(&h), ["http-request"], "{h}");
    assert_eq!(h["clusters"][0]["count"], 3, "identical requests cluster");
    assert!(
        h["clusters"][0]["payload"]
            .as_str()
            .unwrap()
            .starts_with("GET /admin HTTP/1.1\\x0d\\x0a")
    );
    assert_eq!(
        signature_names(&port_payloads(&r, tls, "tcp")),
        ["tls-client-hello"]
    );
    assert_eq!(
        signature_names(&port_payloads(&r, ssh, "tcp")),
        ["ssh-client"]
    );
    assert_eq!(
        signature_names(&port_payloads(&r, redis, "tcp")),
        ["redis-resp"]
    );
    let u = port_payloads(&r, sip, "udp");
    assert_eq!(u["payloads"], 3);
    assert_eq!(u["clusters_total"], 3);
    assert_eq!(u["signatures"][0]["name"], "sip-options");
    assert_eq!(u["signatures"][0]["payloads"], 2);

    let (_, metrics) = http_get(&r.api, "/metrics");
    assert!(
        metrics.contains("portwatch_live_events{source=\"honeypot\",kind=\"honeypot\"} 9"),
        "{metrics}"
    );
    assert_eq!(r.signal("-TERM"), Some(0), "SIGTERM stops cleanly");

    // `report port` shows what the honeypot saw on the port.
    let db = dir.path().join("portwatch-state/portwatch.db");
    let port = format!("{http}/tcp");
    let (code, doc) = run_json(&[
        "report",
        "port",
        &port,
        "--db",
        db.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(code, 0);
    assert_eq!(doc["payloads"][0]["name"], "http-request", "{doc}");
    assert_eq!(doc["payloads"][0]["hits"], 3);
    assert_eq!(doc["payloads"][0]["sources"], 1);
    let (code, text, _) = run(&["report", "port", &port, "--db", db.to_str().unwrap()]);
    assert_eq!(code, 0);
    assert!(
        text.contains("Payload signatures the honeypot saw on"),
        "{text}"
    );
    assert!(text.contains("GET /admin HTTP/1.1"), "{text}");
}

#[test]
fn ctrl_c_flushes_the_current_minute() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_tcp();
    let config = dir.path().join("run.toml");
    // A long lateness: no minute closes during the test, so only the
    // shutdown can flush.
    std::fs::write(
        &config,
        format!(
            "[run]\nlateness_secs = 3000\n[api]\nlisten = \"127.0.0.1:0\"\n\
             [honeypot]\naddresses = [\"127.0.0.1\"]\ntcp_ports = [\"{port}\"]\nudp_ports = []\n\
             [honeypot.limits]\nidle_after_data_ms = 100\n"
        ),
    )
    .unwrap();
    let mut r = Running::start(&config, dir.path());
    for i in 0..5 {
        tcp_send(port, format!("hello {i}\n").as_bytes(), false);
    }
    let s = r.wait_for("5 events pending", |s| s["pending_events"] == 5);
    assert_eq!(s["batches"], 0, "nothing flushed before Ctrl-C: {s}");
    assert_eq!(r.get("/api/v1/health")["records"], 0);
    assert_eq!(r.signal("-INT"), Some(0));

    let db = dir.path().join("portwatch-state/portwatch.db");
    let (code, top) = run_json(&[
        "report",
        "top",
        "--db",
        db.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(code, 0);
    let ports = top["ports"].as_array().unwrap();
    assert_eq!(ports.len(), 1, "{top}");
    assert_eq!(ports[0]["packets"], 5);

    // A restart continues the stream's numbering, and a second Ctrl-C with
    // nothing new writes nothing.
    let mut r = Running::start(&config, dir.path());
    let s = r.sensor();
    assert_eq!(s["last_seq"], 0, "{s}");
    assert_eq!(r.signal("-INT"), Some(0));
    let (_, top) = run_json(&[
        "report",
        "top",
        "--db",
        db.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(top["ports"][0]["packets"], 5);
}

/// A small deterministic generator (PCG-like LCG), so the soak data is the
/// same on every run without a dependency.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// An hour of netfilter log (2024-05-01 12:00 to 13:00 UTC): background
/// from 3,000 sources over 300 ports (a few busy), TCP and UDP, and a
/// campaign on 5168/tcp from 300 new sources in the last quarter hour;
/// a few garbage lines.
fn soak_lines() -> Vec<String> {
    let mut rng = Lcg(0x5eed);
    let start = 1_714_564_800i64; // 2024-05-01T12:00:00Z
    let mut lines = Vec::new();
    for sec in 0..3600i64 {
        let n = rng.below(40);
        for _ in 0..n {
            let src = rng.below(3000);
            let (proto, port) = match rng.below(10) {
                0..=3 => ("TCP", [23, 445, 22, 80][rng.below(4) as usize]),
                4..=7 => ("TCP", 1 + rng.below(300) as u16),
                _ => ("UDP", [53, 123, 1900, 5060][rng.below(4) as usize]),
            };
            lines.push(netfilter(
                start + sec,
                rng.below(1_000_000),
                src,
                1 + rng.below(254),
                proto,
                port,
            ));
        }
        if sec >= 2700 && rng.below(2) == 0 {
            let src = 10_000 + rng.below(300);
            lines.push(netfilter(
                start + sec,
                rng.below(1_000_000),
                src,
                1 + rng.below(3),
                "TCP",
                5168,
            ));
        }
        if sec % 900 == 0 {
            lines.push("this is not a firewall line\n".to_string());
        }
    }
    lines
}

fn netfilter(t: i64, micros: u64, src: u64, dst: u64, proto: &str, port: u16) -> String {
    let hms = t.rem_euclid(86_400);
    let tail = if proto == "TCP" {
        "WINDOW=1024 RES=0x00 SYN URGP=0"
    } else {
        "LEN=20"
    };
    format!(
        "2024-05-01T{:02}:{:02}:{:02}.{micros:06}+00:00 fw kernel: DROP IN=eth0 OUT= \
         SRC=203.{}.{}.{} DST=198.18.0.{dst} LEN=44 TTL=50 ID=1 PROTO={proto} SPT=40000 DPT={port} {tail}\n",
        hms / 3600,
        hms / 60 % 60,
        hms % 60,
        src / 65_536 % 256,
        src / 256 % 256,
        src % 256,
    )
}

fn append(path: &Path, lines: &[String]) {
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    for chunk in lines.chunks(2000) {
        f.write_all(chunk.concat().as_bytes()).unwrap();
        f.flush().unwrap();
    }
}

/// Per port: packets, distinct sources, distinct targets.
fn port_totals(db: &Path) -> Vec<(String, u64, u64, u64, u64)> {
    let (code, top) = run_json(&[
        "report",
        "top",
        "--db",
        db.to_str().unwrap(),
        "--format",
        "json",
        "--limit",
        "100000",
    ]);
    assert_eq!(code, 0);
    let mut v: Vec<_> = top["ports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                format!("{}/{}", p["port"], p["proto"]),
                p["packets"].as_u64().unwrap(),
                p["sources"].as_u64().unwrap(),
                p["targets"].as_u64().unwrap(),
                p["active_minutes"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    v.sort();
    v
}

/// The alerts detection stored.
fn alerts(db: &Path) -> Vec<Value> {
    let (code, doc) = run_json(&["alerts", "--db", db.to_str().unwrap(), "--format", "json"]);
    assert_eq!(code, 0);
    doc["alerts"].as_array().unwrap().clone()
}

#[test]
fn soak_killed_and_restarted_equals_one_analyze() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("fw.log");
    let lines = soak_lines();
    let total = lines.len();
    let (first, rest) = lines.split_at(total * 2 / 5);
    let (middle, last) = rest.split_at(rest.len() / 2);
    let config = dir.path().join("run.toml");
    let detect = "[detect]\nwarmup_hours = 0.5\n[detect.new_port]\nmin_history_hours = 0.5\n";
    std::fs::write(
        &config,
        format!(
            "[run]\nsensor = \"soak\"\nhoneypot = false\nmax_pending_events = 3000\n\
             detect_interval_secs = 1\n[api]\nlisten = \"127.0.0.1:0\"\n\
             [[logs]]\npath = \"{}\"\npoll_ms = 10\n{detect}\
             [publish]\njsonl = \"events.jsonl\"\n",
            log.display()
        ),
    )
    .unwrap();
    append(&log, first);

    let t0 = Instant::now();
    let mut r = Running::start(&config, dir.path());
    append(&log, middle);
    let s = r.wait_for("half the log committed", |s| {
        s["sources"][0]["lines"].as_u64().unwrap() as usize > total / 2
            && s["batches"].as_u64().unwrap() >= 3
            // Detection keeps up with the replay, minute by minute.
            && s["detections"].as_u64().unwrap() >= 1
    });
    eprintln!(
        "{:?}: killing mid-way at {} lines, {} batches",
        t0.elapsed(),
        s["sources"][0]["lines"],
        s["batches"]
    );
    assert_eq!(r.signal("-KILL"), None, "killed by a signal");
    append(&log, last);

    let mut r = Running::start(&config, dir.path());
    let resumed = r.sensor();
    assert!(resumed["last_seq"].as_u64().unwrap() >= 2, "{resumed}");
    let size = std::fs::metadata(&log).unwrap().len();
    r.wait_for("the whole log read", |s| {
        s["sources"][0]["detail"]["offset"] == size && s["detections"].as_u64().unwrap() >= 1
    });
    eprintln!("{:?}: caught up", t0.elapsed());
    let s = r.sensor();
    let read_again = s["sources"][0]["lines"].as_u64().unwrap();
    assert!(
        read_again < total as u64,
        "the restart resumed, it did not re-read: {s}"
    );
    // Ctrl-C commits the tail that no minute close has flushed yet.
    assert_eq!(r.signal("-INT"), Some(0));
    let live_db = dir.path().join("portwatch-state/portwatch.db");

    // The oracle: one analyze of the whole file.
    let analyzed = dir.path().join("analyze.db");
    let (code, _, err) = run(&[
        "analyze",
        log.to_str().unwrap(),
        "--db",
        analyzed.to_str().unwrap(),
        "--config",
        config.to_str().unwrap(),
        "--no-publish",
    ]);
    assert_eq!(code, 3, "garbage lines are reported: {err}");
    let want = port_totals(&analyzed);
    assert!(want.len() > 300, "{} ports", want.len());
    let packets: u64 = want.iter().map(|p| p.1).sum();
    assert_eq!(
        packets as usize,
        total - 4,
        "every netfilter line counted once"
    );
    assert_eq!(port_totals(&live_db), want);

    let (a, l) = (alerts(&analyzed), alerts(&live_db));
    let key = |v: &Vec<Value>| -> Vec<(Value, Value, Value, Value)> {
        v.iter()
            .map(|a| {
                (
                    a["id"].clone(),
                    a["state"].clone(),
                    a["onset"].clone(),
                    a["peak"].clone(),
                )
            })
            .collect()
    };
    assert!(
        a.iter().any(|x| x["port"] == 5168),
        "the 5168 campaign is found: {a:?}"
    );
    assert_eq!(key(&l), key(&a), "live alerts equal analyze's");

    // Publishing ran on the live alerts: each transition once, across the
    // kill and the restart.
    let text = std::fs::read_to_string(dir.path().join("events.jsonl")).unwrap();
    let keys: Vec<String> = text
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["key"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    let unique: std::collections::BTreeSet<_> = keys.iter().collect();
    assert_eq!(
        unique.len(),
        keys.len(),
        "a transition published twice: {keys:?}"
    );
    let wave = a.iter().find(|x| x["port"] == 5168).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        keys.iter().any(|k| k.starts_with(&wave)),
        "{wave} not published: {keys:?}"
    );
}

/// Peak resident memory of a process, in KiB (Linux), if readable.
fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
}

#[test]
fn honeypot_under_load_stays_bounded_and_responsive() {
    if !Path::new("/proc/self/status").exists() {
        skip("no /proc: cannot read the process's memory");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let port = free_tcp();
    let config = dir.path().join("run.toml");
    std::fs::write(
        &config,
        format!(
            "[api]\nlisten = \"127.0.0.1:0\"\n\
             [honeypot]\naddresses = [\"127.0.0.1\"]\ntcp_ports = [\"{port}\"]\nudp_ports = []\n\
             [honeypot.limits]\nmax_connections_per_source = 16\nidle_after_data_ms = 50\n\
             connection_timeout_ms = 2000\n"
        ),
    )
    .unwrap();
    let mut r = Running::start(&config, dir.path());
    let pid = r.child.id();
    let before = peak_rss_kib(pid).unwrap();

    // 40 connections held open from one source: 16 served, the rest
    // refused at the per-source cap (and still counted).
    let held: Vec<TcpStream> = (0..40)
        .map(|_| TcpStream::connect(("127.0.0.1", port)).unwrap())
        .collect();
    const THREADS: usize = 8;
    const EACH: usize = 500;
    let clients: Vec<_> = (0..THREADS)
        .map(|t| {
            std::thread::spawn(move || {
                let mut done = 0;
                for i in 0..EACH {
                    // A refused connection is reset; that is the cap working.
                    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
                        continue;
                    };
                    let _ = s.write_all(format!("GET /{t}/{i} HTTP/1.1\r\n\r\n").as_bytes());
                    let _ = s.shutdown(std::net::Shutdown::Write);
                    let _ = s.read(&mut [0; 16]);
                    done += 1;
                }
                done
            })
        })
        .collect();
    // The API answers while the honeypot is busy.
    let mut slowest = Duration::ZERO;
    while clients.iter().any(|c| !c.is_finished()) {
        let t = Instant::now();
        let (status, _) = http_get(&r.api, "/api/v1/sensors");
        assert_eq!(status, 200);
        slowest = slowest.max(t.elapsed());
        std::thread::sleep(Duration::from_millis(20));
    }
    let connected: usize = clients.into_iter().map(|c| c.join().unwrap()).sum();
    drop(held);
    let total = (connected + 40) as u64;
    eprintln!("{connected} connections + 40 held; slowest API answer {slowest:?}");
    assert!(
        slowest < Duration::from_secs(2),
        "API stalled for {slowest:?}"
    );

    // Every connection is accounted for: an event, or a counted drop.
    let s = r.wait_for("every connection accounted for", |s| {
        let src = &s["sources"][0];
        src["events"].as_u64().unwrap() + src["detail"]["events_dropped"].as_u64().unwrap() == total
    });
    let detail = &s["sources"][0]["detail"];
    assert!(detail["tcp_refused_source"].as_u64().unwrap() >= 24, "{s}");
    assert!(
        detail["tcp_open_high_water"].as_u64().unwrap() <= 1024,
        "{s}"
    );
    let after = peak_rss_kib(pid).unwrap();
    eprintln!("peak RSS {before} KiB before, {after} KiB after");
    assert!(
        after < before + 64 * 1024,
        "memory grew from {before} to {after} KiB under load"
    );
    assert_eq!(r.signal("-INT"), Some(0));
    let db = dir.path().join("portwatch-state/portwatch.db");
    let (_, top) = run_json(&[
        "report",
        "top",
        "--db",
        db.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(
        top["ports"][0]["packets"].as_u64().unwrap(),
        s["sources"][0]["events"].as_u64().unwrap(),
        "every event reached the store"
    );
}

/// The advisory of an alert lists the payload signatures the honeypot saw
/// on its port during the alert, and only those.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn advisories_carry_the_payloads_seen_during_the_alert() {
    use portwatch_store::{AlertsQuery, PayloadSample, SqliteStore, Store};

    let dir = tempfile::tempdir().unwrap();
    let pcap = dir.path().join("sim.pcap");
    let db = dir.path().join("a.db");
    let (code, _, err) = run(&[
        "simulate",
        "--out",
        pcap.to_str().unwrap(),
        "--hours",
        "30",
        "--packets",
        "100000",
        "--sources",
        "2000",
        "--seed",
        "9",
        "--campaign",
        "5168/tcp@26h+2h,sources=300,targets=3,tool=masscan,ramp=taper",
    ]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = run(&[
        "analyze",
        pcap.to_str().unwrap(),
        "--db",
        db.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");

    let port = "5168/tcp".parse().unwrap();
    let store = SqliteStore::open(&db).await.unwrap();
    let alert = store
        .alerts(&AlertsQuery {
            port: Some(port),
            ..AlertsQuery::default()
        })
        .await
        .unwrap()
        .into_iter()
        .next()
        .expect("an alert on 5168/tcp");
    let sample = |ts: i64, src: u8, sig: &str, bytes: &[u8]| PayloadSample {
        port,
        hash: u64::from(src) << 8 | bytes.len() as u64,
        ts,
        src: std::net::IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, src)),
        signatures: vec![sig.to_string()],
        bytes: bytes.to_vec(),
        len: bytes.len() as u64,
    };
    let rpc = b"\x05\x00\x0b\x03\x10\x00\x00\x00";
    store
        .merge_payloads(
            &portwatch_aggregate::BatchId {
                stream: "live:test".into(),
                seq: 0,
            },
            &[
                sample(alert.onset + 60, 1, "trendmicro-serverprotect-rpc", rpc),
                sample(alert.onset + 120, 1, "trendmicro-serverprotect-rpc", rpc),
                // Ten days before the alert: not its evidence.
                sample(
                    alert.onset - 864_000,
                    2,
                    "http-request",
                    b"GET / HTTP/1.1\r\n",
                ),
            ],
        )
        .await
        .unwrap();
    store.close().await;

    let (code, md, err) = run(&[
        "advisory",
        &alert.id,
        "--db",
        db.to_str().unwrap(),
        "--format",
        "md",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(
        md.contains("Payload signatures seen by the honeypot"),
        "{md}"
    );
    assert!(md.contains("trendmicro-serverprotect-rpc"), "{md}");
    assert!(
        !md.contains("http-request"),
        "outside the alert's span: {md}"
    );
    let (_, json) = run_json(&[
        "advisory",
        &alert.id,
        "--db",
        db.to_str().unwrap(),
        "--format",
        "json",
    ]);
    let text = json.to_string();
    assert!(text.contains("\"hits\":2"), "{text}");
    // So does the alert itself, in `portwatch alerts`.
    let (_, alerts) = run_json(&[
        "alerts",
        "--db",
        db.to_str().unwrap(),
        "--id",
        &alert.id,
        "--format",
        "json",
    ]);
    let payloads = &alerts["alerts"][0]["payloads"];
    assert_eq!(payloads.as_array().map(Vec::len), Some(1), "{alerts}");
    assert_eq!(payloads[0]["name"], "trendmicro-serverprotect-rpc");
    assert_eq!(payloads[0]["hits"], 2);
    let (code, table, err) = run(&["alerts", "--db", db.to_str().unwrap(), "--id", &alert.id]);
    assert_eq!(code, 0, "{err}");
    assert!(
        table.contains("Payload signatures the honeypot saw on 5168/tcp")
            && !table.contains("http-request"),
        "{table}"
    );
    // `report port` shows both, over all time.
    let (_, doc) = run_json(&[
        "report",
        "port",
        "5168/tcp",
        "--db",
        db.to_str().unwrap(),
        "--format",
        "json",
    ]);
    let names: Vec<&str> = doc["payloads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["trendmicro-serverprotect-rpc", "http-request"]);
}
