//! UDP: events per datagram, replies never larger than the request and
//! rate-limited globally and per source (no amplification).

#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::{next, start};
use portwatch_core::Proto;
use portwatch_honeypot::{HoneypotConfig, Outcome};
use tokio::net::UdpSocket;

fn udp_config(reply: &[u8]) -> HoneypotConfig {
    let mut cfg = HoneypotConfig {
        addresses: vec!["127.0.0.1".parse().unwrap()],
        tcp_ports: vec![],
        udp_ports: vec!["0".parse().unwrap()],
        ..HoneypotConfig::default()
    };
    cfg.banners.clear();
    cfg.udp_replies.insert(0, reply.to_vec());
    // No refill during the test: the bursts are the whole budget.
    cfg.limits.udp_replies_per_sec = 0;
    cfg.limits.udp_reply_burst = 5;
    cfg.limits.udp_replies_per_source_per_sec = 0;
    cfg.limits.udp_reply_source_burst = 3;
    cfg
}

async fn replies(sock: &UdpSocket) -> Vec<Vec<u8>> {
    let mut got = Vec::new();
    let mut buf = [0u8; 2048];
    while let Ok(Ok(n)) =
        tokio::time::timeout(Duration::from_millis(200), sock.recv(&mut buf)).await
    {
        got.push(buf[..n].to_vec());
    }
    got
}

#[tokio::test]
async fn replies_are_never_larger_than_requests_and_are_rate_limited() {
    // A reply far larger than any request: memcached `stats` output.
    let big_reply = "STAT pid 1\r\nSTAT uptime 100\r\n".repeat(40);
    let (pot, mut rx) = start(udp_config(big_reply.as_bytes())).await;
    let dst = pot.udp_addrs()[0];
    let a = UdpSocket::bind("127.0.0.2:0").await.unwrap();
    let request = b"\x00\x01\x00\x00\x00\x01\x00\x00stats\r\n";
    for _ in 0..10 {
        a.send_to(request, dst).await.unwrap();
    }
    let got_a = replies(&a).await;
    assert_eq!(got_a.len(), 3, "per-source burst");
    assert!(got_a.iter().all(|r| r.len() <= request.len()));
    let b = UdpSocket::bind("127.0.0.3:0").await.unwrap();
    for _ in 0..10 {
        b.send_to(b"s", dst).await.unwrap();
    }
    let got_b = replies(&b).await;
    assert_eq!(
        got_b,
        vec![b"S".to_vec(), b"S".to_vec()],
        "global burst of 5 spent"
    );
    let s = pot.stats();
    assert_eq!(
        (s.udp_datagrams, s.udp_replies, s.udp_replies_suppressed),
        (20, 5, 15)
    );
    let ev = next(&mut rx).await;
    assert_eq!((ev.proto, ev.outcome), (Proto::Udp, Outcome::Datagram));
    assert_eq!(ev.payload, request);
    let a = ev.analysis.unwrap();
    assert_eq!(a.primary(), Some("memcached-udp"));
}

#[tokio::test]
async fn silent_port_and_empty_datagram() {
    let mut cfg = udp_config(b"");
    cfg.udp_replies.clear();
    let (pot, mut rx) = start(cfg).await;
    let c = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    c.send_to(b"", pot.udp_addrs()[0]).await.unwrap();
    c.send_to(b"OPTIONS sip:100@x SIP/2.0\r\n\r\n", pot.udp_addrs()[0])
        .await
        .unwrap();
    assert!(replies(&c).await.is_empty());
    let empty = next(&mut rx).await;
    assert!(empty.payload.is_empty() && empty.analysis.is_none());
    let sip = next(&mut rx).await;
    assert_eq!(sip.analysis.unwrap().primary(), Some("sip-options"));
    assert_eq!(pot.stats().udp_replies, 0);
}
