//! What can go wrong reading a capture, always with the byte offset where it
//! did (rule 5 of the design).

use std::fmt;
use std::io;

/// An error from [`CaptureReader`](super::CaptureReader). Every variant
/// carries the byte offset (in the possibly decompressed stream) of the
/// header or record it is about.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CaptureError {
    /// The stream starts with neither a pcap nor a pcapng magic number: it is
    /// not a capture. Format detection relies on this variant; see also
    /// [`sniff`](super::sniff).
    #[error("not a pcap or pcapng capture: it starts with {found:#010x}")]
    UnknownMagic { offset: u64, found: u32 },
    /// The magic number matched but the file or section header is unusable.
    #[error("bad capture header at byte {offset}: {reason}")]
    BadHeader { offset: u64, reason: &'static str },
    /// The stream ends inside the record (or header) that starts at `offset`.
    /// Iteration ends after this error.
    #[error(
        "capture ends inside the record at byte {offset}: it needs {needed} bytes, {available} are left"
    )]
    Truncated {
        offset: u64,
        needed: u64,
        available: u64,
    },
    /// The record at `offset` cannot be right. The reader skipped `skipped`
    /// bytes, counted from `offset`, to the next plausible record (or to the
    /// end of the stream) and goes on from there.
    #[error("implausible record at byte {offset} ({reason}); skipped {skipped} bytes")]
    Implausible {
        offset: u64,
        reason: ImplausibleReason,
        skipped: u64,
    },
    /// A pcapng packet block names an interface its section never described.
    /// The block is skipped; iteration goes on.
    #[error(
        "packet block at byte {offset} names interface {interface}, which its section never described"
    )]
    UndefinedInterface { offset: u64, interface: u32 },
    /// The underlying reader failed. Iteration ends after this error.
    #[error("reading the capture at byte {offset}")]
    Io {
        offset: u64,
        #[source]
        source: io::Error,
    },
}

impl CaptureError {
    /// Byte offset of the header or record the error is about.
    pub fn offset(&self) -> u64 {
        match self {
            CaptureError::UnknownMagic { offset, .. }
            | CaptureError::BadHeader { offset, .. }
            | CaptureError::Truncated { offset, .. }
            | CaptureError::Implausible { offset, .. }
            | CaptureError::UndefinedInterface { offset, .. }
            | CaptureError::Io { offset, .. } => *offset,
        }
    }

    /// True when the input is not a capture at all (as opposed to a broken one).
    pub fn is_not_a_capture(&self) -> bool {
        matches!(self, CaptureError::UnknownMagic { .. })
    }
}

/// Why a record was judged implausible.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ImplausibleReason {
    /// The captured length exceeds the largest snapshot length any capture
    /// tool writes (262144).
    CaplenTooLarge { caplen: u32 },
    /// A pcap record of a packet that had no bytes on the wire: what
    /// zero-filled space (a file preallocated, or cut by a crash) looks like.
    ZeroLength,
    /// More bytes captured than the packet had on the wire.
    CaplenExceedsOrigLen { caplen: u32, orig_len: u32 },
    /// A pcapng block length below 12, not a multiple of 4, or absurdly large.
    BadBlockLength { length: u32 },
    /// A pcapng block's trailing length differs from its leading one.
    TrailerMismatch { leading: u32, trailing: u32 },
    /// A pcapng Section Header Block without a valid byte-order magic or with
    /// a major version other than 1.
    BadSectionHeader,
    /// A pcapng block of a type this reader does not know, followed by
    /// something that is not a block of a type it knows: most likely a
    /// misreading of shifted bytes. The reader moves on to the next known block.
    UnknownBlockType { block_type: u32 },
    /// A pcapng block too short for its own fixed fields or its packet data.
    BlockTooShort { block_type: u32, length: u32 },
    /// The timestamp is more than a day away from the records before it, and
    /// the record after it is implausible: garbage that happened to parse.
    TimeJump,
    /// The record claims more bytes than the stream has left, yet a plausible
    /// record starts inside them: the header was garbage, not a cut file.
    RunsPastEnd { needed: u64, available: u64 },
}

impl fmt::Display for ImplausibleReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            ImplausibleReason::CaplenTooLarge { caplen } => {
                write!(f, "captured length {caplen} exceeds 262144")
            }
            ImplausibleReason::ZeroLength => f.write_str("original length 0"),
            ImplausibleReason::CaplenExceedsOrigLen { caplen, orig_len } => write!(
                f,
                "captured length {caplen} exceeds original length {orig_len}"
            ),
            ImplausibleReason::BadBlockLength { length } => {
                write!(f, "bad block length {length}")
            }
            ImplausibleReason::TrailerMismatch { leading, trailing } => {
                write!(f, "block length {leading} but trailing length {trailing}")
            }
            ImplausibleReason::BadSectionHeader => {
                f.write_str("section header with bad byte-order magic or version")
            }
            ImplausibleReason::BlockTooShort { block_type, length } => write!(
                f,
                "block of type {block_type:#x} is too short ({length} bytes) for its contents"
            ),
            ImplausibleReason::UnknownBlockType { block_type } => write!(
                f,
                "block of unknown type {block_type:#x} not followed by a known block"
            ),
            ImplausibleReason::TimeJump => f.write_str(
                "timestamp more than a day from the records before, and no plausible record after",
            ),
            ImplausibleReason::RunsPastEnd { needed, available } => write!(
                f,
                "record needs {needed} bytes but only {available} are left"
            ),
        }
    }
}
