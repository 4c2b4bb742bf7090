//! `portwatch serve` through the real binary and a real socket: the API
//! answers from the store, and Ctrl-C (SIGINT) stops it cleanly.

#![allow(clippy::unwrap_used, clippy::print_stderr)]

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::Stdio;

use common::*;

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

#[test]
fn serves_the_store_and_stops_on_sigint() {
    let dir = tempfile::tempdir().unwrap();
    let pcap = dir.path().join("sim.pcap");
    let db = dir.path().join("s.db");
    let (code, _, err) = run(&[
        "simulate",
        "--out",
        pcap.to_str().unwrap(),
        "--hours",
        "2",
        "--packets",
        "5000",
        "--seed",
        "3",
        "--no-campaigns",
    ]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = run(&[
        "analyze",
        pcap.to_str().unwrap(),
        "--db",
        db.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");

    let mut child = portwatch()
        .args([
            "serve",
            "--db",
            db.to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stderr.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .split("http://")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no address in {line:?}"))
        .to_string();

    let (status, body) = http_get(&addr, "/api/v1/health");
    assert_eq!(status, 200, "{body}");
    let health: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(health["status"], "ok");
    assert!(health["records"].as_u64().unwrap() >= 5000);
    let (status, body) = http_get(&addr, "/metrics");
    assert_eq!(status, 200);
    assert!(body.contains("portwatch_store_records"), "{body}");
    let (status, _) = http_get(&addr, "/api/v1/ports/top?since=garbage");
    assert_eq!(status, 400);

    send_signal(&child, "-INT");
    let exit = child.wait().unwrap();
    assert_eq!(exit.code(), Some(0), "graceful stop");
}

#[test]
fn serving_a_missing_store_is_an_error() {
    let (code, _, err) = run(&[
        "serve",
        "--db",
        "/nonexistent/x.db",
        "--listen",
        "127.0.0.1:0",
    ]);
    assert_eq!(code, 1);
    assert!(err.contains("no such store"), "{err}");
}
