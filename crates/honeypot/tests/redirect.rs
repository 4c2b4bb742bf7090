//! The catch-all recipe, for real: two network namespaces joined by a veth
//! pair (198.18.0.0/30, benchmarking space), an nftables redirect of every
//! TCP port to one honeypot port, and clients (bash, then nmap when
//! installed) connecting to other ports. The honeypot must report the port
//! each client asked for (`SO_ORIGINAL_DST`).
//!
//! Needs root, `ip` and `nft`; prints `skipped: …` otherwise. The test
//! re-runs itself inside the honeypot's namespace (env `PW_HP_CHILD_NS`).

#![allow(clippy::unwrap_used, clippy::print_stdout)]

mod common;

use std::collections::BTreeSet;
use std::process::Command;
use std::time::Duration;

use common::start;
use portwatch_honeypot::HoneypotConfig;
use portwatch_testkit::{command_exists as have, is_root, run_quiet};

const HONEYPOT_IP: &str = "198.18.0.1";
const CLIENT_IP: &str = "198.18.0.2";

fn run(cmd: &[&str]) -> bool {
    Command::new(cmd[0])
        .args(&cmd[1..])
        .status()
        .is_ok_and(|s| s.success())
}

/// Deletes the namespaces (and with them the veth pair) however the test ends.
struct Namespaces([String; 2]);

impl Drop for Namespaces {
    fn drop(&mut self) {
        for ns in &self.0 {
            let _ = Command::new("ip").args(["netns", "del", ns]).status();
        }
    }
}

#[test]
fn nft_redirect_recovers_the_original_port() {
    if let Ok(client_ns) = std::env::var("PW_HP_CHILD_NS") {
        child(&client_ns);
        return;
    }
    if !is_root() || !have("ip") || !have("nft") {
        println!("skipped: needs root, ip and nft (network namespaces + nftables)");
        return;
    }
    let id = std::process::id();
    let (hp, cl) = (format!("pwhp{id}"), format!("pwcl{id}"));
    let (va, vb) = (format!("pwa{id}"), format!("pwb{id}"));
    let _guard = Namespaces([hp.clone(), cl.clone()]);
    let setup: Vec<Vec<&str>> = vec![
        vec!["ip", "netns", "add", &hp],
        vec!["ip", "netns", "add", &cl],
        vec![
            "ip", "link", "add", &va, "type", "veth", "peer", "name", &vb,
        ],
        vec!["ip", "link", "set", &va, "netns", &hp],
        vec!["ip", "link", "set", &vb, "netns", &cl],
        vec!["ip", "-n", &hp, "addr", "add", "198.18.0.1/30", "dev", &va],
        vec!["ip", "-n", &cl, "addr", "add", "198.18.0.2/30", "dev", &vb],
        vec!["ip", "-n", &hp, "link", "set", &va, "up"],
        vec!["ip", "-n", &cl, "link", "set", &vb, "up"],
        vec!["ip", "-n", &hp, "link", "set", "lo", "up"],
    ];
    for cmd in &setup {
        if !run(cmd) {
            println!("skipped: cannot set up namespaces ({})", cmd.join(" "));
            return;
        }
    }
    let exe = std::env::current_exe().unwrap();
    let status = Command::new("ip")
        .args(["netns", "exec", &hp])
        .arg(exe)
        .args([
            "--exact",
            "nft_redirect_recovers_the_original_port",
            "--nocapture",
        ])
        .env("PW_HP_CHILD_NS", &cl)
        .status()
        .unwrap();
    assert!(status.success(), "the test inside the namespace failed");
}

/// Inside the honeypot's namespace.
fn child(client_ns: &str) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut cfg = HoneypotConfig {
            addresses: vec![HONEYPOT_IP.parse().unwrap()],
            tcp_ports: vec!["0".parse().unwrap()],
            udp_ports: vec![],
            ..HoneypotConfig::default()
        };
        cfg.banners.clear();
        cfg.limits.idle_after_data_ms = Duration::from_millis(100);
        cfg.limits.connection_timeout_ms = Duration::from_millis(500);
        let (pot, mut rx) = start(cfg).await;
        let port = pot.tcp_addrs()[0].port();
        let rules = format!(
            "table inet portwatch {{\n chain prerouting {{\n  type nat hook prerouting priority dstnat; policy accept;\n  \
             ip daddr {HONEYPOT_IP} tcp dport != {port} redirect to :{port}\n }}\n}}\n"
        );
        assert!(Command::new("nft").args(["-f", "-"]).stdin_bytes(&rules), "nft rules");

        // bash's /dev/tcp: connect to two ports nobody listens on, send a line.
        let script = format!(
            "for p in 5168 12345; do exec 3<>/dev/tcp/{HONEYPOT_IP}/$p && printf 'probe %s\\r\\n' $p >&3; exec 3>&-; done"
        );
        let ok = tokio::task::spawn_blocking({
            let ns = client_ns.to_owned();
            move || run(&["ip", "netns", "exec", &ns, "bash", "-c", &script])
        })
        .await
        .unwrap();
        assert!(ok, "client script failed");
        let mut seen = Vec::new();
        for _ in 0..2 {
            let ev = tokio::time::timeout(Duration::from_secs(5), rx.recv()).await.unwrap().unwrap();
            assert!(ev.redirected, "{ev:?}");
            assert_eq!(ev.dst.ip().to_string(), HONEYPOT_IP);
            assert_eq!(ev.src.ip().to_string(), CLIENT_IP);
            assert_eq!(ev.payload, format!("probe {}\r\n", ev.dst.port()).into_bytes());
            seen.push(ev.dst.port());
        }
        seen.sort_unstable();
        assert_eq!(seen, [5168, 12345]);
        println!("redirect: bash client ports {seen:?} recovered through SO_ORIGINAL_DST");

        if !have("nmap") {
            println!("skipped: nmap connect scan (nmap not installed)");
            return;
        }
        // A real scanner: TCP connect scan of 200 ports, all redirected.
        let ns = client_ns.to_owned();
        let nmap = tokio::task::spawn_blocking(move || {
            run_quiet(&["ip", "netns", "exec", &ns, "nmap", "-sT", "-Pn", "-n", "-p", "1000-1199", "--max-retries", "0", "-oN", "/dev/null", HONEYPOT_IP])
        });
        let mut ports = BTreeSet::new();
        while ports.len() < 200 {
            match tokio::time::timeout(Duration::from_secs(20), rx.recv()).await {
                Ok(Some(ev)) if ev.redirected => {
                    ports.insert(ev.dst.port());
                }
                Ok(Some(_)) => {}
                _ => break,
            }
        }
        assert!(nmap.await.unwrap(), "nmap failed");
        println!("redirect: nmap -sT reached {} distinct ports through one listener", ports.len());
        assert_eq!(ports, (1000..1200).collect::<BTreeSet<u16>>());
    });
}

trait StdinBytes {
    fn stdin_bytes(&mut self, input: &str) -> bool;
}

impl StdinBytes for Command {
    fn stdin_bytes(&mut self, input: &str) -> bool {
        use std::io::Write;
        let Ok(mut child) = self.stdin(std::process::Stdio::piped()).spawn() else {
            return false;
        };
        if let Some(mut stdin) = child.stdin.take() {
            let _ = stdin.write_all(input.as_bytes());
        }
        child.wait().is_ok_and(|s| s.success())
    }
}
