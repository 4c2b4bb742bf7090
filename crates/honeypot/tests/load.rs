//! Thousands of connections from a local client: the open-connection cap
//! holds, memory stays bounded and the listener stays responsive.

#![allow(clippy::unwrap_used, clippy::print_stdout)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use common::{local_config, rss_kib, start};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::Semaphore;

const CONNECTIONS: usize = 5_000;
/// More clients in flight than the honeypot admits, so the cap is tested.
const CLIENT_CONCURRENCY: usize = 400;
const CAP: usize = 128;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousands_of_connections_stay_bounded() {
    let mut cfg = local_config();
    cfg.limits.max_connections = CAP;
    cfg.limits.max_connections_per_source = CAP;
    cfg.limits.idle_after_data_ms = Duration::from_millis(50);
    cfg.limits.event_queue = 1024;
    let (pot, mut rx) = start(cfg).await;
    let target = pot.tcp_addrs()[0];

    let consumed = Arc::new(AtomicU64::new(0));
    let counter = Arc::clone(&consumed);
    let consumer = tokio::spawn(async move {
        while rx.recv().await.is_some() {
            counter.fetch_add(1, Ordering::Relaxed);
        }
    });

    // Warm up once so the baseline includes the runtime's own allocations.
    hit(target).await;
    let rss_before = rss_kib();
    let peak_open = Arc::new(AtomicU64::new(0));
    let sampler = {
        let peak = Arc::clone(&peak_open);
        let monitor = pot.monitor();
        tokio::spawn(async move {
            loop {
                peak.fetch_max(monitor.open_connections() as u64, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        })
    };

    let started = Instant::now();
    let gate = Arc::new(Semaphore::new(CLIENT_CONCURRENCY));
    let mut clients = Vec::with_capacity(CONNECTIONS);
    for _ in 0..CONNECTIONS {
        let permit = Arc::clone(&gate).acquire_owned().await.unwrap();
        clients.push(tokio::spawn(async move {
            hit(target).await;
            drop(permit);
        }));
    }
    // While the flood runs: a fresh client still gets through quickly.
    let probe_started = Instant::now();
    let probe = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            if let Ok(mut c) = TcpStream::connect(target).await
                && c.write_all(b"PING\r\n").await.is_ok()
            {
                let _ = c.shutdown().await;
                let mut sink = Vec::new();
                if c.read_to_end(&mut sink).await.is_ok() {
                    return;
                }
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    let probe_ms = probe_started.elapsed().as_millis();
    for c in clients {
        c.await.unwrap();
    }
    let elapsed = started.elapsed();
    sampler.abort();
    let rss_after = rss_kib();

    // Let the last events arrive.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let s = pot.stats();
    let rate = CONNECTIONS as f64 / elapsed.as_secs_f64();
    println!(
        "load: {CONNECTIONS} connections in {:.2}s = {rate:.0}/s; accepted {} refused {} \
         high-water {} (cap {CAP}); probe {probe_ms} ms; RSS {:?} -> {:?} KiB; events {}",
        elapsed.as_secs_f64(),
        s.tcp_accepted,
        s.tcp_refused_busy,
        s.tcp_open_high_water,
        rss_before,
        rss_after,
        consumed.load(Ordering::Relaxed),
    );
    assert!(probe.is_ok(), "listener unresponsive under load");
    assert!(
        s.tcp_open_high_water <= CAP as u64,
        "{}",
        s.tcp_open_high_water
    );
    assert!(peak_open.load(Ordering::Relaxed) <= CAP as u64);
    // Every attempt is accounted for: accepted or refused (+ warm-up, probe).
    assert!(s.tcp_accepted + s.tcp_refused_busy >= CONNECTIONS as u64 + 2);
    assert_eq!(
        s.events_sent + s.events_dropped,
        s.tcp_accepted + s.tcp_refused_busy
    );
    assert_eq!(pot.open_connections(), 0);
    if let (Some(before), Some(after)) = (rss_before, rss_after) {
        // Bound: cap × max_bytes plus queue and slack — far below this.
        assert!(
            after.saturating_sub(before) < 64 * 1024,
            "RSS grew {before} -> {after} KiB"
        );
    } else {
        println!("skipped: RSS check (no /proc/self/status)");
    }
    consumer.abort();
}

/// One scanner-like client: connect, send a probe, close, wait for the
/// server's close. Refused connections just end.
async fn hit(target: std::net::SocketAddr) {
    let Ok(mut c) = TcpStream::connect(target).await else {
        return;
    };
    if c.write_all(b"stats\r\n").await.is_err() {
        return;
    }
    let _ = c.shutdown().await;
    let mut sink = [0u8; 64];
    let _ = tokio::time::timeout(Duration::from_secs(5), c.read(&mut sink)).await;
}
