//! Who is scanning: which tool sent a probe, and what shape a source's
//! scanning has.
//!
//! * [`fingerprint`]: [`tool_of`] names the scanner behind one probe from
//!   header fields the tools set in a recognisable way (ZMap's IP ID 54321,
//!   Masscan's IP ID cookie, Mirai's sequence number equal to the target,
//!   Nmap's small window with a lone MSS option). It runs per packet on the
//!   hot path: no allocation, a handful of comparisons. Anything that
//!   matches no rule is [`Tool::Unknown`]: no tool is ever guessed.
//! * [`class`]: [`ScanShape`] of one source over a window (horizontal,
//!   vertical, strobe, single-target flood, backscatter victim, or too
//!   little to say) from a [`SourceProfile`] of per-source counts.
//! * [`trw`]: [`Trw`], a sequential hypothesis test over a source's
//!   connection outcomes in the spirit of Threshold Random Walk (Jung,
//!   Paxson, Berger, Balakrishnan 2004).
//!
//! ```
//! use portwatch_scanners::{ScanShape, SourceProfile, Tool, Trw, Verdict, tool_of};
//! # use std::net::{IpAddr, Ipv4Addr};
//! # use portwatch_core::{Class, Event, Fingerprint, PortKey, Proto, Timestamp, tcp_flags};
//!
//! // A ZMap SYN: IP ID 54321.
//! let ev = Event {
//!     ts: Timestamp::from_secs(0),
//!     src: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)),
//!     dst: IpAddr::V4(Ipv4Addr::new(198, 18, 1, 7)),
//!     proto: Some(Proto::Tcp),
//!     sport: 40_000,
//!     dport: 5168,
//!     class: Class::Probe,
//!     key: Some(PortKey::new(Proto::Tcp, 5168)),
//!     ip_len: 40,
//!     fp: Fingerprint {
//!         ttl: 250, ip_id: 54_321, tcp_flags: tcp_flags::SYN,
//!         tcp_seq: 0x1234_5678, tcp_window: 65_535, ..Fingerprint::default()
//!     },
//!     tcp_options: &[],
//!     payload: &[],
//! };
//! assert_eq!(tool_of(&ev), Tool::ZMap);
//!
//! // One port, 300 darknet addresses: a horizontal scan.
//! let p = SourceProfile { probes: 300, ports: 1, targets: 300, ..SourceProfile::default() };
//! assert_eq!(p.shape(), ScanShape::Horizontal);
//!
//! // Four failed connection attempts in a row are enough to call a scanner.
//! let mut trw = Trw::default();
//! let verdicts: Vec<Verdict> = (0..4).map(|_| trw.observe(false)).collect();
//! assert_eq!(verdicts, [Verdict::Pending, Verdict::Pending, Verdict::Pending, Verdict::Scanner]);
//! ```

pub mod class;
pub mod fingerprint;
pub mod trw;

pub use class::{ScanShape, ShapeThresholds, SourceProfile};
pub use fingerprint::{Tool, tool_of};
pub use trw::{Trw, TrwError, Verdict};
