//! Streaming capture reader for pcap and pcapng.
//!
//! [`CaptureReader`] reads from any [`Read`] in large chunks and lends out one
//! [`Record`] at a time from its own buffer, so iterating a file allocates
//! nothing per record and costs one `read` call per megabyte. It never reads
//! a whole file into memory, never panics, and always makes progress: every
//! call either returns a record, returns an error after moving past the bad
//! bytes, or ends the iteration.
//!
//! Damage is handled the same way for both formats: a record that cannot be
//! right (see [`ImplausibleReason`]) is reported once as
//! [`CaptureError::Implausible`], together with the number of bytes skipped to
//! reach the next plausible record; a file cut short ends with
//! [`CaptureError::Truncated`].

mod buffer;
mod error;
mod pcap;
mod pcapng;
#[cfg(test)]
mod tests;

use std::fmt;
use std::io::Read;

use portwatch_core::Timestamp;

use crate::LinkType;
use buffer::Buffer;
pub use error::{CaptureError, ImplausibleReason};

/// The largest captured length accepted; it is libpcap's and Wireshark's
/// largest snapshot length, so anything longer is damage.
pub const MAX_CAPLEN: u32 = 262_144;

/// Which capture format a stream holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CaptureFormat {
    /// Classic libpcap: microsecond or nanosecond timestamps, written in either
    /// byte order.
    Pcap { nanos: bool, big_endian: bool },
    /// Alexey Kuznetzov's patched libpcap (magic `a1b2cd34`): microsecond
    /// timestamps and 8 extra bytes per record header.
    ModifiedPcap { big_endian: bool },
    /// pcapng; each section has its own byte order.
    Pcapng,
}

/// One captured packet, borrowed from the reader's buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Record<'a> {
    pub ts: Timestamp,
    pub link_type: LinkType,
    /// The captured bytes (at most the snapshot length).
    pub data: &'a [u8],
    /// Length of the packet on the wire.
    pub orig_len: u32,
    /// Byte offset of the record's header (pcap) or block (pcapng) in the stream.
    pub offset: u64,
    /// pcapng interface index within its section; 0 for pcap.
    pub interface: u32,
}

/// Tells a capture from anything else by its first bytes (four are enough;
/// with twelve or more, a pcapng byte-order magic is checked too, since the
/// pcapng magic alone is just `"\n\r\r\n"`).
pub fn sniff(first_bytes: &[u8]) -> Option<CaptureFormat> {
    let magic = first_bytes.first_chunk::<4>()?;
    let format = match magic {
        [0xd4, 0xc3, 0xb2, 0xa1] => CaptureFormat::Pcap {
            nanos: false,
            big_endian: false,
        },
        [0xa1, 0xb2, 0xc3, 0xd4] => CaptureFormat::Pcap {
            nanos: false,
            big_endian: true,
        },
        [0x4d, 0x3c, 0xb2, 0xa1] => CaptureFormat::Pcap {
            nanos: true,
            big_endian: false,
        },
        [0xa1, 0xb2, 0x3c, 0x4d] => CaptureFormat::Pcap {
            nanos: true,
            big_endian: true,
        },
        [0x34, 0xcd, 0xb2, 0xa1] => CaptureFormat::ModifiedPcap { big_endian: false },
        [0xa1, 0xb2, 0xcd, 0x34] => CaptureFormat::ModifiedPcap { big_endian: true },
        [0x0a, 0x0d, 0x0d, 0x0a] => {
            if first_bytes.len() >= 12 && pcapng::byte_order(first_bytes).is_none() {
                return None;
            }
            CaptureFormat::Pcapng
        }
        _ => return None,
    };
    Some(format)
}

/// Streams the records of a pcap or pcapng capture.
///
/// `next_record` is a lending iterator: each [`Record`] borrows the reader's
/// buffer and must be dropped before the next call.
///
/// pcapng Simple Packet Blocks carry no timestamp; they get the timestamp of
/// the record before them (the Unix epoch if there was none).
pub struct CaptureReader<R> {
    buf: Buffer<R>,
    format: Format,
    done: bool,
}

enum Format {
    Pcap(pcap::Pcap),
    Pcapng(pcapng::Pcapng),
}

/// A record found in the buffer, before it is lent out.
struct Located {
    ts: Timestamp,
    link_type: LinkType,
    /// Backing-storage index of the first data byte (see [`Buffer::slice`]).
    start: usize,
    caplen: usize,
    orig_len: u32,
    offset: u64,
    interface: u32,
}

impl<R: Read> CaptureReader<R> {
    /// Reads and checks the file header (pcap) or first Section Header Block
    /// (pcapng). [`CaptureError::UnknownMagic`] means "not a capture".
    pub fn new(src: R) -> Result<Self, CaptureError> {
        let mut buf = Buffer::new(src);
        let io = |source| CaptureError::Io { offset: 0, source };
        buf.fill(12).map_err(io)?;
        let first = buf.avail();
        let Some(format) = sniff(first) else {
            let mut found = [0u8; 4];
            let n = first.len().min(4);
            found[..n].copy_from_slice(&first[..n]);
            return Err(CaptureError::UnknownMagic {
                offset: 0,
                found: u32::from_be_bytes(found),
            });
        };
        let format = match format {
            CaptureFormat::Pcapng => Format::Pcapng(pcapng::Pcapng::open(&mut buf)?),
            pcap => Format::Pcap(pcap::Pcap::open(&mut buf, pcap)?),
        };
        Ok(CaptureReader {
            buf,
            format,
            done: false,
        })
    }

    /// The next record, an error about the bytes at the current position, or
    /// `None` at the end. After [`CaptureError::Truncated`] or
    /// [`CaptureError::Io`] the iteration ends; after other errors it goes on.
    pub fn next_record(&mut self) -> Option<Result<Record<'_>, CaptureError>> {
        if self.done {
            return None;
        }
        let step = match &mut self.format {
            Format::Pcap(p) => p.next(&mut self.buf),
            Format::Pcapng(p) => p.next(&mut self.buf),
        };
        match step {
            None => {
                self.done = true;
                None
            }
            Some(Ok(r)) => Some(Ok(Record {
                ts: r.ts,
                link_type: r.link_type,
                data: self.buf.slice(r.start, r.caplen),
                orig_len: r.orig_len,
                offset: r.offset,
                interface: r.interface,
            })),
            Some(Err(e)) => {
                if matches!(e, CaptureError::Truncated { .. } | CaptureError::Io { .. }) {
                    self.done = true;
                }
                Some(Err(e))
            }
        }
    }
}

impl<R> CaptureReader<R> {
    /// Bytes of the stream read and dealt with so far (headers included).
    pub fn bytes_consumed(&self) -> u64 {
        self.buf.offset()
    }

    pub fn format(&self) -> CaptureFormat {
        match &self.format {
            Format::Pcap(p) => p.format(),
            Format::Pcapng(_) => CaptureFormat::Pcapng,
        }
    }
}

impl<R> fmt::Debug for CaptureReader<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CaptureReader")
            .field("format", &self.format())
            .field("bytes_consumed", &self.bytes_consumed())
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}

/// Reads a u32 at `at` in the given byte order; 0 past the end (callers check
/// lengths first, so that is only a guard against panicking).
#[inline]
fn u32_at(b: &[u8], at: usize, big_endian: bool) -> u32 {
    match b.get(at..).and_then(|s| s.first_chunk::<4>()) {
        Some(&w) if big_endian => u32::from_be_bytes(w),
        Some(&w) => u32::from_le_bytes(w),
        None => 0,
    }
}

#[inline]
fn u16_at(b: &[u8], at: usize, big_endian: bool) -> u16 {
    match b.get(at..).and_then(|s| s.first_chunk::<2>()) {
        Some(&w) if big_endian => u16::from_be_bytes(w),
        Some(&w) => u16::from_le_bytes(w),
        None => 0,
    }
}

fn io_error(offset: u64) -> impl FnOnce(std::io::Error) -> CaptureError {
    move |source| CaptureError::Io { offset, source }
}

/// Ends the iteration at a stream end that falls `needed` bytes short of a
/// header: clean if nothing is left, [`CaptureError::Truncated`] otherwise.
fn end_of_stream<R>(
    buf: &mut Buffer<R>,
    offset: u64,
    needed: usize,
) -> Option<Result<Located, CaptureError>> {
    let available = buf.len();
    if available == 0 {
        return None;
    }
    buf.consume(available);
    Some(Err(CaptureError::Truncated {
        offset,
        needed: needed as u64,
        available: available as u64,
    }))
}
