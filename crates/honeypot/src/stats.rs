//! Counters for everything the honeypot accepts, refuses and drops.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use serde::Serialize;

#[derive(Debug, Default)]
pub(crate) struct Stats {
    tcp_accepted: AtomicU64,
    tcp_refused_busy: AtomicU64,
    tcp_refused_source: AtomicU64,
    tcp_accept_errors: AtomicU64,
    tcp_timeouts: AtomicU64,
    tcp_open: AtomicU64,
    tcp_open_high_water: AtomicU64,
    bytes_received: AtomicU64,
    payloads_cut: AtomicU64,
    udp_datagrams: AtomicU64,
    udp_replies: AtomicU64,
    udp_replies_suppressed: AtomicU64,
    events_sent: AtomicU64,
    events_dropped: AtomicU64,
}

/// A snapshot of the honeypot's counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct HoneypotStats {
    pub tcp_accepted: u64,
    /// Closed at once: `max_connections` reached.
    pub tcp_refused_busy: u64,
    /// Closed at once: `max_connections_per_source` reached.
    pub tcp_refused_source: u64,
    pub tcp_accept_errors: u64,
    /// Connections closed by `connection_timeout_ms`.
    pub tcp_timeouts: u64,
    /// Connections open now, and the most ever open at once.
    pub tcp_open: u64,
    pub tcp_open_high_water: u64,
    pub bytes_received: u64,
    /// Payloads that reached `max_bytes`.
    pub payloads_cut: u64,
    pub udp_datagrams: u64,
    pub udp_replies: u64,
    /// Replies withheld by the rate limits.
    pub udp_replies_suppressed: u64,
    pub events_sent: u64,
    /// Events dropped because the queue was full.
    pub events_dropped: u64,
}

macro_rules! incr {
    ($($name:ident),*) => {
        $(pub(crate) fn $name(&self, n: u64) { self.$name.fetch_add(n, Relaxed); })*
    };
}

impl Stats {
    incr!(
        tcp_accepted,
        tcp_refused_busy,
        tcp_refused_source,
        tcp_accept_errors,
        tcp_timeouts,
        bytes_received,
        payloads_cut,
        udp_datagrams,
        udp_replies,
        udp_replies_suppressed,
        events_sent,
        events_dropped
    );

    pub(crate) fn connection_opened(&self, open: usize) {
        let open = open as u64;
        self.tcp_open.store(open, Relaxed);
        self.tcp_open_high_water.fetch_max(open, Relaxed);
    }

    pub(crate) fn connection_closed(&self, open: usize) {
        self.tcp_open.store(open as u64, Relaxed);
    }

    pub(crate) fn snapshot(&self) -> HoneypotStats {
        HoneypotStats {
            tcp_accepted: self.tcp_accepted.load(Relaxed),
            tcp_refused_busy: self.tcp_refused_busy.load(Relaxed),
            tcp_refused_source: self.tcp_refused_source.load(Relaxed),
            tcp_accept_errors: self.tcp_accept_errors.load(Relaxed),
            tcp_timeouts: self.tcp_timeouts.load(Relaxed),
            tcp_open: self.tcp_open.load(Relaxed),
            tcp_open_high_water: self.tcp_open_high_water.load(Relaxed),
            bytes_received: self.bytes_received.load(Relaxed),
            payloads_cut: self.payloads_cut.load(Relaxed),
            udp_datagrams: self.udp_datagrams.load(Relaxed),
            udp_replies: self.udp_replies.load(Relaxed),
            udp_replies_suppressed: self.udp_replies_suppressed.load(Relaxed),
            events_sent: self.events_sent.load(Relaxed),
            events_dropped: self.events_dropped.load(Relaxed),
        }
    }
}
