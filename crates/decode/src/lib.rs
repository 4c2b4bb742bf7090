//! portwatch's packet-side parsers: reading capture files and turning captured
//! frames into classified [`Event`](portwatch_core::Event)s.
//!
//! Both halves are hand-written so that every error can name the exact byte
//! offset where a capture went wrong and so that the hot path neither
//! allocates nor logs:
//!
//! * [`capture`]: [`CaptureReader`] streams pcap (all four magics, both byte
//!   orders, the modified/Kuznetzov variant) and pcapng (several sections,
//!   interfaces with their own link types and timestamp resolutions) from any
//!   [`std::io::Read`], lending out one [`Record`] at a time. Garbage in the
//!   middle of a file is reported once and skipped.
//! * [`packet`]: [`decode`] walks link → IP → transport for the link types
//!   sensors meet (Ethernet with VLAN stacks, raw IP, Linux cooked SLL/SLL2,
//!   NFLOG, BSD loopback) and classifies the result with
//!   [`portwatch_core::classify`].
//!
//! ```
//! use portwatch_decode::{CaptureReader, decode};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // A little-endian microsecond pcap holding no records.
//! let mut file: &[u8] = &[
//!     0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0,
//!     0, 0, 4, 0, 1, 0, 0, 0,
//! ];
//! let mut reader = CaptureReader::new(&mut file)?;
//! while let Some(record) = reader.next_record() {
//!     let record = record?;
//!     if let Ok(event) = decode(record.link_type, record.ts, record.data, record.orig_len) {
//!         let _ = event.key;
//!     }
//! }
//! assert_eq!(reader.bytes_consumed(), 24);
//! # Ok(())
//! # }
//! ```

pub mod capture;
mod link_type;
pub mod packet;

pub use capture::{CaptureError, CaptureFormat, CaptureReader, ImplausibleReason, Record, sniff};
pub use link_type::LinkType;
pub use packet::decode;
