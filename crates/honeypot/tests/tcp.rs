//! Real TCP clients against the honeypot on loopback.

#![allow(clippy::unwrap_used, clippy::print_stdout)]

mod common;

use std::time::Duration;

use common::{local_config, next, start, tcp_addr};
use portwatch_core::Proto;
use portwatch_honeypot::{HoneypotConfig, Outcome};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

#[tokio::test]
async fn banner_then_payload_matched_to_a_signature() {
    let mut cfg = local_config();
    cfg.banners.insert(0, b"NetBus 1.70\r".to_vec());
    let (pot, mut rx) = start(cfg).await;
    let mut client = TcpStream::connect(tcp_addr(&pot)).await.unwrap();
    let mut banner = [0u8; 12];
    client.read_exact(&mut banner).await.unwrap();
    assert_eq!(&banner, b"NetBus 1.70\r");
    client.write_all(b"Password;0;letmein\r").await.unwrap();
    client.shutdown().await.unwrap();
    let ev = next(&mut rx).await;
    assert_eq!(ev.proto, Proto::Tcp);
    assert_eq!(ev.src, client.local_addr().unwrap());
    assert_eq!(ev.dst, tcp_addr(&pot));
    assert!(!ev.redirected);
    assert_eq!(ev.payload, b"Password;0;letmein\r");
    assert_eq!(ev.outcome, Outcome::ClientClosed);
    let core = ev.as_event();
    assert_eq!(
        core.key.unwrap().to_string(),
        format!("{}/tcp", tcp_addr(&pot).port())
    );
    assert_eq!(core.class, portwatch_core::Class::Probe);
    assert_eq!(core.payload, b"Password;0;letmein\r");
    let a = ev.analysis.unwrap();
    assert_eq!(a.primary(), Some("netbus-command"));
    // The server closed after the client's FIN.
    let mut rest = Vec::new();
    client.read_to_end(&mut rest).await.unwrap();
    assert!(rest.is_empty());
}

#[tokio::test]
async fn ipv6_listener() {
    let cfg = HoneypotConfig {
        addresses: vec!["::1".parse().unwrap()],
        ..local_config()
    };
    let sigs = std::sync::Arc::new(portwatch_payload::SignatureSet::builtin().unwrap());
    let Ok((pot, mut rx)) = portwatch_honeypot::Honeypot::spawn(cfg, sigs).await else {
        println!("skipped: no IPv6 loopback here");
        return;
    };
    let mut client = TcpStream::connect(tcp_addr(&pot)).await.unwrap();
    client.write_all(b"GET / HTTP/1.0\r\n\r\n").await.unwrap();
    client.shutdown().await.unwrap();
    let ev = next(&mut rx).await;
    assert!(ev.src.is_ipv6());
    assert_eq!(ev.analysis.unwrap().primary(), Some("http-request"));
}

#[tokio::test]
async fn idle_client_is_closed_after_its_first_bytes() {
    let mut cfg = local_config();
    cfg.limits.idle_after_data_ms = Duration::from_millis(100);
    let (pot, mut rx) = start(cfg).await;
    let mut client = TcpStream::connect(tcp_addr(&pot)).await.unwrap();
    client.write_all(b"SSH-2.0-Go\r\n").await.unwrap();
    let ev = next(&mut rx).await; // the client keeps its side open
    assert_eq!(ev.outcome, Outcome::Idle);
    assert!(ev.duration_ms < 2000, "{}", ev.duration_ms);
    let a = ev.analysis.unwrap();
    assert_eq!(a.ssh.unwrap().fingerprint.to_string(), "banner:SSH-2.0-Go");
}

#[tokio::test]
async fn silent_client_times_out_and_big_payload_is_cut() {
    let mut cfg = local_config();
    cfg.limits.connection_timeout_ms = Duration::from_millis(200);
    cfg.limits.max_bytes = 1024;
    let (pot, mut rx) = start(cfg).await;
    let _silent = TcpStream::connect(tcp_addr(&pot)).await.unwrap();
    let ev = next(&mut rx).await;
    assert_eq!(ev.outcome, Outcome::Timeout);
    assert!(ev.payload.is_empty() && ev.analysis.is_none());
    let mut big = TcpStream::connect(tcp_addr(&pot)).await.unwrap();
    // Written in the background: the honeypot stops reading at 1024 bytes.
    tokio::spawn(async move { big.write_all(&vec![b'A'; 100_000]).await });
    let ev = next(&mut rx).await;
    assert_eq!(
        (ev.payload.len(), ev.payload_cut, ev.outcome),
        (1024, true, Outcome::LimitReached)
    );
    let s = pot.stats();
    assert_eq!((s.tcp_timeouts, s.payloads_cut), (1, 1));
}

async fn connect_from(src: &str, dst: std::net::SocketAddr) -> TcpStream {
    let sock = TcpSocket::new_v4().unwrap();
    sock.bind(format!("{src}:0").parse().unwrap()).unwrap();
    sock.connect(dst).await.unwrap()
}

#[tokio::test]
async fn per_source_cap_refuses_and_reports() {
    let mut cfg = local_config();
    cfg.limits.max_connections_per_source = 2;
    cfg.limits.connection_timeout_ms = Duration::from_secs(30);
    let (pot, mut rx) = start(cfg).await;
    let dst = tcp_addr(&pot);
    let _a1 = connect_from("127.0.0.2", dst).await;
    let _a2 = connect_from("127.0.0.2", dst).await;
    let mut a3 = connect_from("127.0.0.2", dst).await;
    let ev = next(&mut rx).await;
    assert_eq!(ev.outcome, Outcome::RefusedSource);
    assert_eq!(ev.src.ip().to_string(), "127.0.0.2");
    // The refused connection was reset, not left open.
    let mut buf = [0u8; 1];
    assert!(matches!(a3.read(&mut buf).await, Ok(0) | Err(_)));
    // Another source still gets in.
    let mut b = connect_from("127.0.0.3", dst).await;
    b.write_all(b"stats\r\n").await.unwrap();
    b.shutdown().await.unwrap();
    let ev = next(&mut rx).await;
    assert_eq!(ev.src.ip().to_string(), "127.0.0.3");
    assert_eq!(ev.outcome, Outcome::ClientClosed);
    let s = pot.stats();
    assert_eq!(
        (s.tcp_accepted, s.tcp_refused_source, s.tcp_open),
        (3, 1, 2)
    );
}

#[tokio::test]
async fn full_event_queue_drops_and_counts() {
    let mut cfg = local_config();
    cfg.limits.event_queue = 2;
    let (pot, mut rx) = start(cfg).await;
    for _ in 0..5 {
        let mut c = TcpStream::connect(tcp_addr(&pot)).await.unwrap();
        c.write_all(b"x").await.unwrap();
        c.shutdown().await.unwrap();
        let mut sink = Vec::new();
        c.read_to_end(&mut sink).await.unwrap(); // wait for the server to finish
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    let s = pot.stats();
    assert_eq!((s.events_sent, s.events_dropped), (2, 3));
    assert!(rx.try_recv().is_ok() && rx.try_recv().is_ok() && rx.try_recv().is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hundreds_of_ports_on_one_address() {
    // An unusual loopback address keeps clear of anything else on the host.
    let cfg = HoneypotConfig {
        addresses: vec!["127.77.0.1".parse().unwrap()],
        tcp_ports: vec!["46100-46399".parse().unwrap()],
        ..local_config()
    };
    let sigs = std::sync::Arc::new(portwatch_payload::SignatureSet::builtin().unwrap());
    let (pot, mut rx) = match portwatch_honeypot::Honeypot::spawn(cfg, sigs).await {
        Ok(started) => started,
        Err(e) => {
            println!("skipped: {e} (port range busy on this host)");
            return;
        }
    };
    assert_eq!(pot.tcp_addrs().len(), 300);
    for addr in pot.tcp_addrs() {
        let mut c = TcpStream::connect(addr).await.unwrap();
        c.write_all(format!("GET /{} HTTP/1.1\r\n\r\n", addr.port()).as_bytes())
            .await
            .unwrap();
        c.shutdown().await.unwrap();
    }
    let mut ports = std::collections::BTreeSet::new();
    for _ in 0..300 {
        let ev = next(&mut rx).await;
        let a = ev.analysis.as_ref().unwrap();
        assert!(a.matched("http-request"));
        ports.insert(ev.dst.port());
    }
    assert_eq!(ports, (46100..46400).collect());
}
