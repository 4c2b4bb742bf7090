//! Threshold Random Walk on a real capture with replies: nmap SYN-scans
//! 23/tcp on 20 addresses of a network namespace (every port closed, so the
//! kernel resets each probe) and curl fetches a page from 5 of them
//! (python's http.server), from another address; tcpdump records both
//! sides. Through `analyze` and `report sources`, nmap's address must be a
//! scanner and curl's benign, with exactly the first-contact counts tshark
//! gives on the same capture. Only 198.18.9.0/24 (benchmarking space) is used.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::netns::Cleanup;
use common::*;
use portwatch_testkit::{command_exists, is_root, run_quiet as sh};
use serde_json::Value;

const SCANNER: &str = "198.18.9.1";
const CLIENT: &str = "198.18.9.250";

fn target(i: u8) -> String {
    format!("198.18.9.{}", 10 + i)
}

/// Distinct destinations of `src`'s SYNs, and of those the ones that
/// answered with a SYN-ACK, by tshark.
fn first_contacts(pcap: &Path, src: &str) -> (usize, usize) {
    let syn: BTreeSet<String> = tshark_fields(
        pcap,
        &format!("ip.src == {src} && tcp.flags.syn == 1 && tcp.flags.ack == 0"),
        &["ip.dst"],
    )
    .into_iter()
    .collect();
    let ok: BTreeSet<String> = tshark_fields(
        pcap,
        &format!("ip.dst == {src} && tcp.flags.syn == 1 && tcp.flags.ack == 1"),
        &["ip.src"],
    )
    .into_iter()
    .filter(|a| syn.contains(a))
    .collect();
    (ok.len(), syn.len() - ok.len())
}

#[test]
fn nmap_is_a_scanner_and_curl_benign_in_a_namespace() {
    if !is_root() {
        return skip("needs root (network namespaces)");
    }
    for tool in ["ip", "nmap", "tcpdump", "tshark", "curl", "python3"] {
        if !command_exists(tool) {
            return skip(&format!("needs {tool}"));
        }
    }
    let id = std::process::id();
    let (ns, outside, inside) = (
        format!("pwtrw{id}"),
        format!("pwto{id}"),
        format!("pwti{id}"),
    );
    let mut cleanup = Cleanup {
        ns: ns.clone(),
        children: Vec::new(),
    };
    let mut setup: Vec<Vec<String>> = vec![
        vec!["ip".into(), "netns".into(), "add".into(), ns.clone()],
        [
            "ip", "link", "add", &outside, "type", "veth", "peer", "name", &inside,
        ]
        .map(String::from)
        .to_vec(),
        ["ip", "link", "set", &inside, "netns", &ns]
            .map(String::from)
            .to_vec(),
        ["ip", "addr", "add", "198.18.9.1/24", "dev", &outside]
            .map(String::from)
            .to_vec(),
        ["ip", "addr", "add", "198.18.9.250/24", "dev", &outside]
            .map(String::from)
            .to_vec(),
        ["ip", "link", "set", &outside, "up"]
            .map(String::from)
            .to_vec(),
        ["ip", "-n", &ns, "link", "set", &inside, "up"]
            .map(String::from)
            .to_vec(),
        ["ip", "-n", &ns, "link", "set", "lo", "up"]
            .map(String::from)
            .to_vec(),
    ];
    for i in 0..20u8 {
        setup.push(
            [
                "ip",
                "-n",
                &ns,
                "addr",
                "add",
                &format!("{}/24", target(i)),
                "dev",
                &inside,
            ]
            .map(String::from)
            .to_vec(),
        );
    }
    for cmd in &setup {
        let args: Vec<&str> = cmd.iter().map(String::as_str).collect();
        if !sh(&args) {
            return skip(&format!("cannot set up the namespace ({})", cmd.join(" ")));
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let pcap = dir.path().join("trw.pcap");
    let server = Command::new("ip")
        .args(["netns", "exec", &ns, "python3", "-m", "http.server", "8000"])
        .arg("--bind")
        .arg("0.0.0.0")
        .current_dir(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    cleanup.children.push(server);
    let tcpdump = Command::new("tcpdump")
        .args(["-i", &outside, "-U", "-n", "-w"])
        .arg(&pcap)
        .arg("tcp")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let tcpdump_pid = tcpdump.id().to_string();
    cleanup.children.push(tcpdump);
    std::thread::sleep(Duration::from_secs(2));

    let targets: Vec<String> = (0..20).map(target).collect();
    let nmap = Command::new("nmap")
        .args([
            "-sS", "-Pn", "-n", "-p", "23", "-e", &outside, "-S", SCANNER,
        ])
        .args(&targets)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(nmap.success());
    for i in 0..5u8 {
        // Twice each: the second fetch is not a first contact.
        for _ in 0..2 {
            let ok = Command::new("curl")
                .args([
                    "-s",
                    "-o",
                    "/dev/null",
                    "--max-time",
                    "5",
                    "--interface",
                    CLIENT,
                ])
                .arg(format!("http://{}:8000/", target(i)))
                .status()
                .unwrap();
            assert!(ok.success(), "curl to {}", target(i));
        }
    }
    std::thread::sleep(Duration::from_secs(1));
    let _ = Command::new("kill").args(["-INT", &tcpdump_pid]).status();
    std::thread::sleep(Duration::from_secs(1));

    let db = dir.path().join("pw.db");
    let p = pcap.to_str().unwrap();
    let (code, doc) = run_json(&[
        "analyze",
        p,
        "--db",
        db.to_str().unwrap(),
        "--format",
        "json",
        "--no-progress",
    ]);
    assert_eq!(code, 0, "{doc}");
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
    assert_eq!(code, 0, "{doc}");
    let rows = doc["sources"].as_array().unwrap();
    let trw = |addr: &str| -> Value {
        rows.iter()
            .find(|r| r["addr"] == addr)
            .unwrap_or_else(|| panic!("{addr} missing: {doc}"))["trw"]
            .clone()
    };
    let (ok, failed) = first_contacts(&pcap, SCANNER);
    assert_eq!((ok, failed), (0, 20), "tshark on nmap's probes");
    assert_eq!(
        trw(SCANNER),
        serde_json::json!({"verdict": "scanner", "ok": ok, "failed": failed})
    );
    let (ok, failed) = first_contacts(&pcap, CLIENT);
    assert_eq!((ok, failed), (5, 0), "tshark on curl's connections");
    assert_eq!(
        trw(CLIENT),
        serde_json::json!({"verdict": "benign", "ok": ok, "failed": failed})
    );
}
