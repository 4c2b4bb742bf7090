//! Helpers for the live tests: a veth pair between two network namespaces
//! (addresses from 198.18.0.0/30 and 2001:db8::/64 only), a capture child
//! process inside one of them, and tcpdump/tshark as the oracle.
//!
//! The capture runs in a child: the test binary re-runs itself under
//! `ip netns exec` (the workspace denies the `unsafe` a `setns` call
//! needs), with its config in `PW_CAP_CONFIG`. The child prints
//! `pwcap ready` once capturing, captures until its stdin closes, then
//! prints what it decoded and its counters.

#![allow(dead_code, clippy::unwrap_used, clippy::print_stdout)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::IpAddr;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use portwatch_capture::{Capture, CaptureConfig, CaptureStats};
use portwatch_core::Proto;

pub const CAPTURE_IP: &str = "198.18.0.1";
pub const PEER_IP: &str = "198.18.0.2";
pub const CAPTURE_IP6: &str = "2001:db8::1";
pub const PEER_IP6: &str = "2001:db8::2";

const CHILD_ENV: &str = "PW_CAP_CONFIG";
const SLOW_ENV: &str = "PW_CAP_SLOW_MS";

/// Probes per (protocol, destination port).
pub type Counts = BTreeMap<(String, u16), u64>;

/// One packet: (timestamp in ns since the epoch, protocol, destination port).
pub type Probe = (i64, String, u16);

/// The line a test prints instead of running, or `None` when it can run.
pub fn skip_message(root: bool, missing: &[&str]) -> Option<String> {
    match (root, missing) {
        (true, []) => None,
        (false, []) => Some("skipped: needs root (network namespaces and raw sockets)".into()),
        (true, m) => Some(format!("skipped: needs {} (not installed)", m.join(", "))),
        (false, m) => Some(format!(
            "skipped: needs root (network namespaces and raw sockets) and {} (not installed)",
            m.join(", ")
        )),
    }
}

/// Prints the skip line and returns true when the test cannot run here.
pub fn skip_unless(tools: &[&str]) -> bool {
    match skip_message(
        portwatch_testkit::is_root(),
        &portwatch_testkit::missing(tools),
    ) {
        Some(msg) => {
            println!("{msg}");
            true
        }
        None => false,
    }
}

fn run(cmd: &[&str]) -> Result<(), String> {
    let out = Command::new(cmd[0])
        .args(&cmd[1..])
        .output()
        .map_err(|e| format!("{}: {e}", cmd.join(" ")))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{} failed: {}",
            cmd.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// Two namespaces joined by a veth pair; deleted (with the pair) on drop,
/// however the test ends.
pub struct Veth {
    pub capture_ns: String,
    pub peer_ns: String,
    pub capture_if: String,
    pub peer_if: String,
}

impl Drop for Veth {
    fn drop(&mut self) {
        for ns in [&self.capture_ns, &self.peer_ns] {
            let _ = Command::new("ip").args(["netns", "del", ns]).status();
        }
        // A setup that failed before moving the pair into the namespaces
        // left it in the root namespace; usually this finds nothing.
        let _ = Command::new("ip")
            .args(["link", "del", &self.capture_if])
            .stderr(Stdio::null())
            .status();
    }
}

impl Veth {
    /// `tag` keeps names unique between the tests of one binary; the pid
    /// between concurrent runs. `quiet` turns IPv6 off and pins the
    /// neighbours so that nothing but the test's own traffic crosses.
    pub fn new(tag: &str, quiet: bool) -> Result<Veth, String> {
        let id = std::process::id();
        let v = Veth {
            capture_ns: format!("pwcap-{tag}-{id}"),
            peer_ns: format!("pwpeer-{tag}-{id}"),
            capture_if: format!("pwc{tag}{id}"),
            peer_if: format!("pwp{tag}{id}"),
        };
        let (a, b, va, vb) = (&v.capture_ns, &v.peer_ns, &v.capture_if, &v.peer_if);
        run(&["ip", "netns", "add", a])?;
        run(&["ip", "netns", "add", b])?;
        run(&["ip", "link", "add", va, "type", "veth", "peer", "name", vb])?;
        run(&["ip", "link", "set", va, "netns", a])?;
        run(&["ip", "link", "set", vb, "netns", b])?;
        for (ns, dev, ip4, ip6) in [(a, va, CAPTURE_IP, CAPTURE_IP6), (b, vb, PEER_IP, PEER_IP6)] {
            if quiet {
                let key = format!("net.ipv6.conf.{dev}.disable_ipv6=1");
                run(&["ip", "netns", "exec", ns, "sysctl", "-q", "-w", &key])?;
            }
            run(&[
                "ip",
                "-n",
                ns,
                "addr",
                "add",
                &format!("{ip4}/30"),
                "dev",
                dev,
            ])?;
            if !quiet {
                let addr = format!("{ip6}/64");
                run(&["ip", "-n", ns, "addr", "add", &addr, "dev", dev, "nodad"])?;
            }
            run(&["ip", "-n", ns, "link", "set", dev, "up"])?;
        }
        if quiet {
            let mac_a = mac(a, va)?;
            let mac_b = mac(b, vb)?;
            for (ns, dev, ip, mac) in [(a, va, PEER_IP, &mac_b), (b, vb, CAPTURE_IP, &mac_a)] {
                run(&[
                    "ip",
                    "-n",
                    ns,
                    "neigh",
                    "replace",
                    ip,
                    "lladdr",
                    mac,
                    "dev",
                    dev,
                    "nud",
                    "permanent",
                ])?;
            }
        }
        Ok(v)
    }

    /// Runs a command in the peer's namespace, its output discarded.
    pub fn peer(&self, cmd: &[&str]) -> Result<(), String> {
        let mut full = vec!["ip", "netns", "exec", &self.peer_ns];
        full.extend_from_slice(cmd);
        run(&full)
    }

    /// A counter of the capture-side interface (`rx_packets`, ...).
    pub fn capture_counter(&self, name: &str) -> u64 {
        let path = format!("/sys/class/net/{}/statistics/{name}", self.capture_if);
        let out = Command::new("ip")
            .args(["netns", "exec", &self.capture_ns, "cat", &path])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
    }
}

fn mac(ns: &str, dev: &str) -> Result<String, String> {
    let path = format!("/sys/class/net/{dev}/address");
    let out = Command::new("ip")
        .args(["netns", "exec", ns, "cat", &path])
        .output()
        .map_err(|e| e.to_string())?;
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// Reads lines from a child's pipe on a thread, so waiting can time out.
fn line_reader(pipe: impl Read + Send + 'static) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(pipe).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

fn wait_for(lines: &mpsc::Receiver<String>, needle: &str, what: &str) {
    loop {
        match lines.recv_timeout(Duration::from_secs(20)) {
            Ok(line) if line.contains(needle) => return,
            Ok(_) => {}
            Err(e) => panic!("{what}: no {needle:?} line ({e})"),
        }
    }
}

/// tcpdump writing everything on the capture interface to a file.
pub struct Tcpdump {
    child: Child,
    stderr: mpsc::Receiver<String>,
}

impl Tcpdump {
    pub fn start(veth: &Veth, file: &std::path::Path) -> Tcpdump {
        let mut child = Command::new("ip")
            .args([
                "netns",
                "exec",
                &veth.capture_ns,
                "tcpdump",
                "-i",
                &veth.capture_if,
            ])
            .args(["-n", "-U", "-s", "0", "--time-stamp-precision=nano", "-w"])
            .arg(file)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = line_reader(child.stderr.take().unwrap());
        wait_for(&stderr, "listening on", "tcpdump");
        Tcpdump { child, stderr }
    }

    /// Stops tcpdump the way Ctrl-C does and returns its kernel drop count.
    pub fn stop(mut self) -> u64 {
        // `ip netns exec` execs tcpdump, so the pid is tcpdump's.
        let pid = self.child.id().to_string();
        run(&["kill", "-INT", &pid]).unwrap();
        assert!(self.child.wait().unwrap().success(), "tcpdump failed");
        let mut dropped = None;
        while let Ok(line) = self.stderr.recv_timeout(Duration::from_secs(5)) {
            if let Some(n) = line.strip_suffix(" packets dropped by kernel") {
                dropped = n.trim().parse().ok();
            }
        }
        dropped.expect("tcpdump printed no drop count")
    }
}

impl Drop for Tcpdump {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The oracle: TCP and UDP packets from the peer in `file`, one by one,
/// as tshark reads them.
pub fn tshark_probes(file: &std::path::Path) -> Vec<Probe> {
    let filter =
        format!("(ip.src=={PEER_IP} || ipv6.src=={PEER_IP6}) && !icmp && !icmpv6 && (tcp || udp)");
    let out = Command::new("tshark")
        .arg("-r")
        .arg(file)
        .args(["-n", "-Y", &filter, "-T", "fields", "-E", "occurrence=f"])
        .args([
            "-e",
            "frame.time_epoch",
            "-e",
            "tcp.dstport",
            "-e",
            "udp.dstport",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "tshark: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut probes = Vec::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let f: Vec<&str> = line.split('\t').map(str::trim).collect();
        let (proto, port) = match f.as_slice() {
            [_, t, ""] => ("tcp", t),
            [_, "", u] => ("udp", u),
            _ => panic!("tshark line {line:?}"),
        };
        probes.push((epoch_nanos(f[0]), proto.to_owned(), port.parse().unwrap()));
    }
    probes
}

/// `1796472480.587763430` → nanoseconds, without a float's rounding.
fn epoch_nanos(text: &str) -> i64 {
    let (secs, frac) = text.split_once('.').unwrap_or((text, "0"));
    let frac = format!("{frac:0<9}");
    secs.parse::<i64>().unwrap() * 1_000_000_000 + frac[..9].parse::<i64>().unwrap()
}

/// Per (protocol, port) counts of probes.
pub fn count(probes: &[Probe]) -> Counts {
    let mut counts = Counts::new();
    for (_, proto, port) in probes {
        *counts.entry((proto.clone(), *port)).or_default() += 1;
    }
    counts
}

/// What the capture child reports.
#[derive(Debug, Default)]
pub struct ChildReport {
    /// Decoded TCP/UDP packets from the peer, per destination port.
    pub counts: Counts,
    /// The same packets one by one: (timestamp in ns, protocol, port).
    pub probes: Vec<Probe>,
    /// Packets the consumer took off the receiver, from anyone.
    pub consumed: u64,
    pub stats: CaptureStats,
    /// The interface's `DLT_*` as the capture reported it.
    pub linktype: u32,
}

/// A capture running in the capture namespace.
pub struct CaptureChild {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: mpsc::Receiver<String>,
}

impl CaptureChild {
    /// Re-runs test `test_name` of this binary inside the namespace with
    /// `cfg`, and waits until it captures. `slow_ms` makes the consumer
    /// sleep after each batch (to fill the queue on purpose).
    pub fn start(veth: &Veth, test_name: &str, cfg: &str, slow_ms: u64) -> CaptureChild {
        let exe = std::env::current_exe().unwrap();
        let mut child = Command::new("ip")
            .args(["netns", "exec", &veth.capture_ns])
            .arg(exe)
            .args(["--exact", test_name, "--nocapture", "--test-threads=1"])
            .env(CHILD_ENV, cfg)
            .env(SLOW_ENV, slow_ms.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take();
        let stdout = line_reader(child.stdout.take().unwrap());
        wait_for(&stdout, "pwcap ready", "capture child");
        CaptureChild {
            child,
            stdin,
            stdout,
        }
    }

    /// Closes the child's stdin (its signal to stop) and collects its report.
    pub fn stop(mut self) -> ChildReport {
        drop(self.stdin.take());
        let mut report = ChildReport::default();
        let mut done = false;
        while let Ok(line) = self.stdout.recv_timeout(Duration::from_secs(30)) {
            let f: Vec<&str> = line.split_whitespace().collect();
            match f.as_slice() {
                ["pwcap", "count", proto, port, n] => {
                    let key = ((*proto).to_owned(), port.parse().unwrap());
                    report.counts.insert(key, n.parse().unwrap());
                }
                ["pwcap", "probe", ts, proto, port] => report.probes.push((
                    ts.parse().unwrap(),
                    (*proto).to_owned(),
                    port.parse().unwrap(),
                )),
                ["pwcap", "consumed", n] => report.consumed = n.parse().unwrap(),
                ["pwcap", "linktype", n] => report.linktype = n.parse().unwrap(),
                ["pwcap", "stats", json] => report.stats = parse_stats(json),
                ["pwcap", "done"] => done = true,
                _ => {}
            }
        }
        assert!(self.child.wait().unwrap().success(), "capture child failed");
        assert!(done, "capture child ended without its report");
        report
    }
}

impl Drop for CaptureChild {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn parse_stats(json: &str) -> CaptureStats {
    let field = |name: &str| -> u64 {
        let at = json.find(&format!("\"{name}\":")).unwrap() + name.len() + 3;
        let digits: String = json[at..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        digits.parse().unwrap()
    };
    CaptureStats {
        received: field("received"),
        truncated: field("truncated"),
        dropped_kernel: field("dropped_kernel"),
        dropped_interface: field("dropped_interface"),
        dropped_queue: field("dropped_queue"),
    }
}

/// True in the child process; the test function then calls [`child_main`].
pub fn is_child() -> bool {
    std::env::var_os(CHILD_ENV).is_some()
}

/// The capture child: capture with the config from the environment until
/// stdin closes, counting decoded TCP/UDP packets from the peer.
pub fn child_main() {
    let cfg: CaptureConfig = toml::from_str(&std::env::var(CHILD_ENV).unwrap()).unwrap();
    let slow = Duration::from_millis(std::env::var(SLOW_ENV).unwrap().parse().unwrap());
    let (capture, mut packets) = Capture::start(cfg).unwrap();
    let linktype = capture.linktype();
    println!("pwcap ready");
    let consumer = std::thread::spawn(move || {
        let peers: [IpAddr; 2] = [PEER_IP.parse().unwrap(), PEER_IP6.parse().unwrap()];
        let mut counts = Counts::new();
        let mut consumed = 0u64;
        let mut probes = Vec::new();
        while let Some(batch) = packets.recv_batch() {
            consumed += batch.len() as u64;
            for p in &batch {
                let Ok(ev) = p.decode() else { continue };
                let proto = match ev.proto {
                    Some(Proto::Tcp) => "tcp",
                    Some(Proto::Udp) => "udp",
                    _ => continue,
                };
                if peers.contains(&ev.src) {
                    *counts.entry((proto.to_owned(), ev.dport)).or_default() += 1;
                    probes.push((ev.ts.nanos(), proto, ev.dport));
                }
            }
            std::thread::sleep(slow);
        }
        (counts, consumed, probes)
    });
    let mut sink = Vec::new();
    let _ = std::io::stdin().read_to_end(&mut sink);
    let stats = capture.stop().unwrap();
    let (counts, consumed, probes) = consumer.join().unwrap();
    let mut out = std::io::stdout().lock();
    for ((proto, port), n) in &counts {
        writeln!(out, "pwcap count {proto} {port} {n}").unwrap();
    }
    for (ts, proto, port) in &probes {
        writeln!(out, "pwcap probe {ts} {proto} {port}").unwrap();
    }
    writeln!(out, "pwcap consumed {consumed}").unwrap();
    writeln!(out, "pwcap linktype {linktype}").unwrap();
    writeln!(
        out,
        "pwcap stats {}",
        serde_json::to_string(&stats).unwrap()
    )
    .unwrap();
    writeln!(out, "pwcap done").unwrap();
}
