//! Counters of a running capture: what arrived, and every place a packet
//! can be lost (rule 4).

use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;

/// A capture's counters since it started. Every packet the kernel matched
/// against the filter ends up in exactly one of: handed to the consumer,
/// `dropped_kernel` or `dropped_queue` (libpcap's `ps_recv` is
/// `received + dropped_kernel` on Linux).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct CaptureStats {
    /// Packets libpcap handed to the capture thread.
    pub received: u64,
    /// Of those, packets the snapshot length cut (`caplen < len`).
    pub truncated: u64,
    /// Packets that passed the filter but found the kernel's ring full
    /// (libpcap's `ps_drop`).
    pub dropped_kernel: u64,
    /// Packets the interface or its driver dropped before the kernel's
    /// capture point saw them (libpcap's `ps_ifdrop`). On Linux libpcap
    /// fills it only in promiscuous mode, from the interface's
    /// `rx_missed_errors` and `rx_fifo_errors`; otherwise it stays 0.
    pub dropped_interface: u64,
    /// Packets the capture thread read but had to throw away because the
    /// consumer's queue was full (or the consumer had gone away).
    pub dropped_queue: u64,
}

impl CaptureStats {
    /// Packets that reached the consumer's queue.
    pub fn delivered(&self) -> u64 {
        self.received.saturating_sub(self.dropped_queue)
    }

    /// Every packet lost on the way, wherever.
    pub fn dropped(&self) -> u64 {
        self.dropped_kernel
            .saturating_add(self.dropped_interface)
            .saturating_add(self.dropped_queue)
    }
}

/// The counters the capture thread updates and [`Capture::stats`](crate::Capture::stats)
/// reads from another thread.
#[derive(Debug, Default)]
pub(crate) struct SharedStats {
    received: AtomicU64,
    truncated: AtomicU64,
    dropped_kernel: AtomicU64,
    dropped_interface: AtomicU64,
    dropped_queue: AtomicU64,
}

impl SharedStats {
    pub(crate) fn snapshot(&self) -> CaptureStats {
        CaptureStats {
            received: self.received.load(Ordering::Relaxed),
            truncated: self.truncated.load(Ordering::Relaxed),
            dropped_kernel: self.dropped_kernel.load(Ordering::Relaxed),
            dropped_interface: self.dropped_interface.load(Ordering::Relaxed),
            dropped_queue: self.dropped_queue.load(Ordering::Relaxed),
        }
    }

    pub(crate) fn add_received(&self, packets: u64, truncated: u64) {
        self.received.fetch_add(packets, Ordering::Relaxed);
        self.truncated.fetch_add(truncated, Ordering::Relaxed);
    }

    pub(crate) fn add_dropped_queue(&self, packets: u64) {
        self.dropped_queue.fetch_add(packets, Ordering::Relaxed);
    }

    pub(crate) fn set_kernel(&self, kernel: &KernelCounters) {
        self.dropped_kernel.store(kernel.dropped, Ordering::Relaxed);
        self.dropped_interface
            .store(kernel.if_dropped, Ordering::Relaxed);
    }
}

/// libpcap's counters widened to 64 bits.
///
/// `pcap_stat` holds 32-bit counters that wrap after 4 Gi packets — days
/// on a busy darknet — so each reading is added as the wrapping difference
/// from the previous one.
#[derive(Debug, Default)]
pub(crate) struct KernelCounters {
    last: [u32; 2],
    pub(crate) dropped: u64,
    pub(crate) if_dropped: u64,
}

impl KernelCounters {
    pub(crate) fn update(&mut self, dropped: u32, if_dropped: u32) {
        self.dropped += u64::from(dropped.wrapping_sub(self.last[0]));
        self.if_dropped += u64::from(if_dropped.wrapping_sub(self.last[1]));
        self.last = [dropped, if_dropped];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_counters_survive_the_32_bit_wrap() {
        let mut k = KernelCounters::default();
        k.update(u32::MAX - 1, 7);
        k.update(3, 7);
        assert_eq!(k.dropped, u64::from(u32::MAX) + 4);
        assert_eq!(k.if_dropped, 7);
        k.update(3, 9);
        assert_eq!((k.dropped, k.if_dropped), (u64::from(u32::MAX) + 4, 9));
    }

    #[test]
    fn delivered_and_dropped_add_up() {
        let s = CaptureStats {
            received: 100,
            truncated: 4,
            dropped_kernel: 7,
            dropped_interface: 2,
            dropped_queue: 30,
        };
        assert_eq!(s.delivered(), 70);
        assert_eq!(s.dropped(), 39);
    }
}
