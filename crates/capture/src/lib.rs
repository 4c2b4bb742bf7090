//! Live packet capture for portwatch sensors: libpcap on a named interface,
//! read by a dedicated thread that hands owned packets, in batches, to a
//! bounded channel.
//!
//! * [`CaptureConfig`]: interface, BPF filter, promiscuous mode, direction,
//!   snapshot length, kernel buffer size, read timeout and queue length; a serde
//!   table with defaults and [`CaptureConfig::validate`].
//! * [`Capture::start`] opens the interface and starts the thread;
//!   [`PacketReceiver`] yields [`CapturedPacket`]s (one at a time as an
//!   iterator, or whole batches); [`CapturedPacket::decode`] turns one into
//!   a [`portwatch_core::Event`] with `portwatch_decode`.
//! * [`Capture::stats`] reports what arrived and every drop (rule 4): in
//!   the kernel's ring, at the interface, and in our own queue when the
//!   consumer falls behind. [`Capture::stop`] (or dropping the capture)
//!   ends the thread and returns the final counters.
//!
//! Capturing needs root or the `CAP_NET_RAW` capability
//! (`CAP_NET_ADMIN` too for promiscuous mode); without them
//! [`Capture::start`] fails with [`CaptureError::PermissionDenied`], whose
//! message says how to grant them.
//!
//! ```no_run
//! use portwatch_capture::{Capture, CaptureConfig};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let mut cfg = CaptureConfig::new("eth1");
//! cfg.bpf_filter = Some("tcp[tcpflags] & tcp-syn != 0 or udp".into());
//! let (capture, packets) = Capture::start(cfg)?;
//! for packet in packets.take(1000) {
//!     if let Ok(event) = packet.decode() {
//!         let _ = (event.proto, event.dport);
//!     }
//! }
//! let stats = capture.stop()?;
//! assert!(stats.received >= stats.delivered());
//! # Ok(())
//! # }
//! ```

mod capture;
mod config;
mod error;
mod packet;
mod stats;

pub use capture::{BATCH_MAX, Capture, check_filter};
pub use config::{CaptureConfig, Direction, MAX_SNAPLEN, MIN_BUFFER_SIZE};
pub use error::CaptureError;
pub use packet::{CapturedPacket, PacketReceiver};
pub use stats::CaptureStats;

/// Re-exported so callers can match on the libpcap error inside a
/// [`CaptureError`] without depending on the `pcap` crate themselves.
pub use pcap::Error as PcapError;
