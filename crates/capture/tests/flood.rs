//! A one-second SYN flood across a veth pair into a capture with a small
//! kernel ring and a deliberately slow consumer: packets are lost, and every
//! lost packet is counted (rule 4).
//!
//! The oracle is the capture interface's own `rx_packets` counter: with IPv6
//! off and the neighbours pinned, the flood is the only traffic arriving,
//! so `received + dropped_kernel` must equal it exactly, and what the
//! consumer took must equal `received - dropped_queue`.
//!
//! A second flood into a 64 MiB ring and a quick consumer measures the
//! capture rate and must lose nothing.
//!
//! Needs root, `ip` and `hping3`; prints `skipped: …` otherwise. Kept in a
//! test binary of its own so the floods do not disturb other tests.

#![allow(clippy::unwrap_used, clippy::print_stdout)]

mod common;

use std::process::Command;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use common::{CAPTURE_IP, CaptureChild, PEER_IP, Veth};

/// Floods run one at a time: they share two cores.
static ONE_FLOOD: Mutex<()> = Mutex::new(());

/// What one flood did.
struct Flood {
    arrived: u64,
    report: common::ChildReport,
}

/// Floods port 7777 from the peer for a second while `test_name`'s child
/// captures with `cfg` (a filter and interface are added).
fn flood(tag: &str, test_name: &str, cfg: &str, slow_ms: u64) -> Flood {
    let _one = ONE_FLOOD.lock().unwrap_or_else(|e| e.into_inner());
    let veth = Veth::new(tag, true).unwrap();
    // The source address keeps out the capture side's own RSTs: hping3
    // walks its source port, so some replies go to port 7777 too.
    let cfg = format!(
        "interface = \"{}\"\nbpf_filter = \"src host {PEER_IP} and tcp dst port 7777\"\n{cfg}",
        veth.capture_if
    );
    let rx_before = veth.capture_counter("rx_packets");
    let capture = CaptureChild::start(&veth, test_name, &cfg, slow_ms);
    let started = Instant::now();
    let out = Command::new("ip")
        .args(["netns", "exec", &veth.peer_ns, "timeout", "-s", "INT", "1"])
        .args(["hping3", "--flood", "-S", "-p", "7777", CAPTURE_IP])
        .output()
        .unwrap();
    let secs = started.elapsed().as_secs_f64();
    std::thread::sleep(Duration::from_millis(200));
    let report = capture.stop();
    let arrived = veth.capture_counter("rx_packets") - rx_before;
    let s = report.stats;
    println!(
        "{test_name}: {arrived} packets arrived in {secs:.1} s; captured {} ({:.0}/s), \
         kernel drops {}, interface drops {}, queue drops {}, consumed {}",
        s.received,
        s.received as f64 / secs,
        s.dropped_kernel,
        s.dropped_interface,
        s.dropped_queue,
        report.consumed
    );
    assert!(
        arrived > 1000,
        "the flood barely arrived ({arrived} packets): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The accounting every flood must satisfy, drops or not.
    assert_eq!(s.received + s.dropped_kernel, arrived, "{s:?}");
    assert_eq!(report.consumed, s.delivered(), "{s:?}");
    assert_eq!(report.counts.values().sum::<u64>(), report.consumed);
    Flood { arrived, report }
}

#[test]
fn flood_drops_are_counted() {
    if common::is_child() {
        common::child_main();
        return;
    }
    if common::skip_unless(&["ip", "hping3", "timeout"]) {
        return;
    }
    // A 64 KiB ring, two queued batches, and a consumer that sleeps 50 ms
    // per batch (at most 20 batches of 512 a second): it cannot keep up.
    let cfg = "buffer_size = 65536\ntimeout_ms = 20\nqueue_batches = 2\n";
    let f = flood("x", "flood_drops_are_counted", cfg, 50);
    let s = f.report.stats;
    assert!(
        s.dropped_queue > 0,
        "the slow consumer should have lost packets: {s:?}"
    );
    assert!(s.dropped() < f.arrived);
}

#[test]
fn flood_with_room_loses_nothing() {
    if common::is_child() {
        common::child_main();
        return;
    }
    if common::skip_unless(&["ip", "hping3", "timeout"]) {
        return;
    }
    // A 64 MiB ring and a queue of 4096 batches hold a second of flood
    // even when the consumer falls behind for a moment.
    let cfg = "buffer_size = 67108864\nqueue_batches = 4096\n";
    let f = flood("r", "flood_with_room_loses_nothing", cfg, 0);
    let s = f.report.stats;
    assert_eq!(s.dropped(), 0, "{s:?}");
    assert_eq!(s.received, f.arrived);
}
