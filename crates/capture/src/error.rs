//! Everything that can go wrong when starting or running a capture.

use crate::CaptureStats;

/// Why a capture could not start, or why it ended early.
///
/// libpcap reports most failures as a message only, so the variants that
/// come from it keep that message as their [`source`](std::error::Error::source).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CaptureError {
    /// A config value libpcap would reject or misread.
    #[error("invalid capture config: {field}: {reason}")]
    InvalidConfig { field: &'static str, reason: String },

    /// No interface of that name exists (in this network namespace).
    #[error("capture interface {interface:?} not found ({source})")]
    InterfaceNotFound {
        interface: String,
        #[source]
        source: pcap::Error,
    },

    /// The process may not open a packet socket.
    #[error(
        "capturing on {interface:?} needs root or the CAP_NET_RAW capability \
         (CAP_NET_ADMIN too for promiscuous mode): run as root or grant them with \
         `setcap cap_net_raw,cap_net_admin=eip target/release/portwatch` ({source})"
    )]
    PermissionDenied {
        interface: String,
        #[source]
        source: pcap::Error,
    },

    /// libpcap could not compile the filter for this interface's link type;
    /// `source` carries libpcap's explanation (`syntax error`, ...).
    #[error("invalid BPF filter {filter:?} on {interface:?}: {source}")]
    InvalidFilter {
        interface: String,
        filter: String,
        #[source]
        source: pcap::Error,
    },

    /// Any other failure to open and activate the interface (it is down,
    /// the buffer size was refused, ...).
    #[error("cannot capture on {interface:?}: {source}")]
    Open {
        interface: String,
        #[source]
        source: pcap::Error,
    },

    /// Reading failed while the capture ran (the interface disappeared or
    /// went down). `stats` are the counters up to that moment.
    #[error("capture on {interface:?} failed after {} packets: {source}", stats.received)]
    Read {
        interface: String,
        stats: CaptureStats,
        #[source]
        source: pcap::Error,
    },

    /// The operating system refused to start the capture thread.
    #[error("cannot start the capture thread: {0}")]
    Thread(#[source] std::io::Error),

    /// The capture thread panicked; a bug, never caused by traffic.
    #[error("the capture thread on {interface:?} panicked")]
    Panicked { interface: String },
}

impl CaptureError {
    /// True for [`CaptureError::PermissionDenied`]: callers (tests, the CLI)
    /// use it to explain or skip rather than fail.
    pub fn is_permission_denied(&self) -> bool {
        matches!(self, CaptureError::PermissionDenied { .. })
    }
}
