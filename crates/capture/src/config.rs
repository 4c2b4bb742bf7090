//! What to capture and how: the `[capture]` table of a sensor's config.

use serde::Deserialize;

use crate::CaptureError;

/// libpcap's own ceiling on the snapshot length (`MAXIMUM_SNAPLEN`).
pub const MAX_SNAPLEN: u32 = 262_144;

/// Kernel ring buffers smaller than this hold too few packets to survive a
/// scheduling hiccup; libpcap would round tiny values up anyway.
pub const MIN_BUFFER_SIZE: u32 = 64 * 1024;

/// How to capture on one interface. Only `interface` is required; unknown
/// keys are errors.
///
/// ```
/// let cfg: portwatch_capture::CaptureConfig = toml::from_str(r#"
///     interface = "eth1"
///     bpf_filter = "not arp"
///     promiscuous = true
/// "#).unwrap();
/// cfg.validate().unwrap();
/// assert_eq!(cfg.snaplen, 65_535);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaptureConfig {
    /// The interface to capture on (`eth1`, `veth0`, `any`).
    pub interface: String,
    /// A tcpdump-style filter compiled by libpcap and run in the kernel, so
    /// unwanted packets never cost a copy. `None` captures everything.
    #[serde(default)]
    pub bpf_filter: Option<String>,
    /// Also capture frames not addressed to the interface's MAC address (a
    /// SPAN port or a tap). Needs CAP_NET_ADMIN besides CAP_NET_RAW.
    #[serde(default)]
    pub promiscuous: bool,
    /// Which packets to capture: `in` (the default) leaves out what this
    /// host sends — its own RSTs, ICMP errors and honeypot replies would
    /// otherwise look like backscatter arriving. `inout` takes both.
    #[serde(default)]
    pub direction: Direction,
    /// Bytes kept of each packet. Headers need well under 100; the default
    /// keeps whole Ethernet frames so payload signatures see the payload.
    /// Cut packets are counted in [`CaptureStats::truncated`](crate::CaptureStats).
    #[serde(default = "default_snaplen")]
    pub snaplen: u32,
    /// Size in bytes of the kernel's capture ring; `None` keeps libpcap's
    /// default (2 MiB on Linux). Larger rings ride out bursts with fewer
    /// kernel drops.
    #[serde(default)]
    pub buffer_size: Option<u32>,
    /// How long the kernel may hold captured packets before handing them
    /// over, in milliseconds: the latency bound of a quiet interface.
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u32,
    /// Batches of packets waiting for the consumer (a batch holds at most
    /// [`BATCH_MAX`](crate::BATCH_MAX) packets). When the queue is full, new
    /// packets are dropped and counted in `dropped_queue`.
    #[serde(default = "default_queue_batches")]
    pub queue_batches: usize,
}

/// Which way a captured packet travels, seen from the interface.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// Packets the interface receives.
    #[default]
    In,
    /// Packets the interface sends.
    Out,
    /// Both.
    InOut,
}

impl Direction {
    pub(crate) fn to_pcap(self) -> pcap::Direction {
        match self {
            Direction::In => pcap::Direction::In,
            Direction::Out => pcap::Direction::Out,
            Direction::InOut => pcap::Direction::InOut,
        }
    }
}

fn default_snaplen() -> u32 {
    65_535
}

fn default_timeout_ms() -> u32 {
    100
}

fn default_queue_batches() -> usize {
    1024
}

impl CaptureConfig {
    /// A config for `interface` with every other field at its default.
    pub fn new(interface: impl Into<String>) -> Self {
        CaptureConfig {
            interface: interface.into(),
            bpf_filter: None,
            promiscuous: false,
            direction: Direction::In,
            snaplen: default_snaplen(),
            buffer_size: None,
            timeout_ms: default_timeout_ms(),
            queue_batches: default_queue_batches(),
        }
    }

    /// Checks the values libpcap would reject or misread, naming the field.
    /// The filter's syntax depends on the interface's link type, so it is
    /// checked when the capture starts (or with [`check_filter`](crate::check_filter)).
    pub fn validate(&self) -> Result<(), CaptureError> {
        let bad = |field: &'static str, reason: String| {
            Err(CaptureError::InvalidConfig { field, reason })
        };
        if self.interface.trim().is_empty() {
            return bad("interface", "must name an interface".into());
        }
        if self.interface.contains('\0') {
            return bad("interface", "contains a NUL byte".into());
        }
        if let Some(filter) = &self.bpf_filter
            && filter.contains('\0')
        {
            return bad("bpf_filter", "contains a NUL byte".into());
        }
        if !(1..=MAX_SNAPLEN).contains(&self.snaplen) {
            return bad(
                "snaplen",
                format!("{} is outside 1..={MAX_SNAPLEN}", self.snaplen),
            );
        }
        if let Some(size) = self.buffer_size
            && !(MIN_BUFFER_SIZE..=i32::MAX as u32).contains(&size)
        {
            return bad(
                "buffer_size",
                format!("{size} is outside {MIN_BUFFER_SIZE}..={}", i32::MAX),
            );
        }
        if !(1..=60_000).contains(&self.timeout_ms) {
            return bad(
                "timeout_ms",
                format!("{} is outside 1..=60000", self.timeout_ms),
            );
        }
        if self.queue_batches == 0 {
            return bad("queue_batches", "must be at least 1".into());
        }
        Ok(())
    }
}
