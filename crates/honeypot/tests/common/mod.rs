//! Helpers shared by the honeypot's integration tests.

#![allow(dead_code, clippy::unwrap_used)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use portwatch_honeypot::{Honeypot, HoneypotConfig, HoneypotEvent};
use portwatch_payload::SignatureSet;
use tokio::sync::mpsc;

/// A config on 127.0.0.1 with one ephemeral TCP port and no UDP.
pub fn local_config() -> HoneypotConfig {
    let mut cfg = HoneypotConfig {
        addresses: vec!["127.0.0.1".parse().unwrap()],
        tcp_ports: vec!["0".parse().unwrap()],
        udp_ports: vec![],
        ..HoneypotConfig::default()
    };
    cfg.banners.clear();
    cfg
}

pub async fn start(cfg: HoneypotConfig) -> (Honeypot, mpsc::Receiver<HoneypotEvent>) {
    let sigs = Arc::new(SignatureSet::builtin().unwrap());
    Honeypot::spawn(cfg, sigs).await.unwrap()
}

pub async fn next(rx: &mut mpsc::Receiver<HoneypotEvent>) -> HoneypotEvent {
    tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .unwrap()
        .unwrap()
}

pub fn tcp_addr(pot: &Honeypot) -> SocketAddr {
    pot.tcp_addrs()[0]
}

/// Resident memory of this process in KiB, from /proc/self/status.
pub fn rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}
