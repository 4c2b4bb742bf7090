//! Classic libpcap files: a 24-byte file header, then records of a 16-byte
//! header (24 in the modified/Kuznetzov variant) and the captured bytes.

use std::io::Read;

use portwatch_core::Timestamp;

use super::buffer::Buffer;
use super::{
    CaptureError, CaptureFormat, ImplausibleReason, Located, MAX_CAPLEN, end_of_stream, io_error,
    u16_at, u32_at,
};
use crate::LinkType;

const FILE_HEADER_LEN: usize = 24;
/// Resynchronisation accepts no wire length above this (GRO/BIG TCP
/// super-packets reach a few hundred KiB; nothing reaches a MiB).
const MAX_SANE_ORIG_LEN: u32 = 1 << 20;
/// Resynchronisation accepts a record only this close in time to the last
/// good one, which makes a false match in random bytes very unlikely.
const RESYNC_WINDOW_NANOS: i64 = 86_400 * 1_000_000_000;

#[derive(Debug)]
pub(super) struct Pcap {
    big_endian: bool,
    nanos: bool,
    modified: bool,
    /// Limit on captured lengths during resynchronisation.
    snap_limit: u32,
    link_type: LinkType,
}

#[derive(Debug, Clone, Copy)]
struct RecordHeader {
    ts_sec: u32,
    ts_frac: u32,
    caplen: u32,
    orig_len: u32,
}

impl Pcap {
    pub(super) fn open<R: Read>(
        buf: &mut Buffer<R>,
        format: CaptureFormat,
    ) -> Result<Pcap, CaptureError> {
        let (nanos, big_endian, modified) = match format {
            CaptureFormat::Pcap { nanos, big_endian } => (nanos, big_endian, false),
            CaptureFormat::ModifiedPcap { big_endian } => (false, big_endian, true),
            CaptureFormat::Pcapng => {
                return Err(CaptureError::BadHeader {
                    offset: 0,
                    reason: "pcapng stream opened as pcap",
                });
            }
        };
        if !buf.fill(FILE_HEADER_LEN).map_err(io_error(0))? {
            return Err(CaptureError::Truncated {
                offset: 0,
                needed: FILE_HEADER_LEN as u64,
                available: buf.len() as u64,
            });
        }
        let h = buf.avail();
        if u16_at(h, 4, big_endian) != 2 {
            return Err(CaptureError::BadHeader {
                offset: 0,
                reason: "pcap major version is not 2",
            });
        }
        let snaplen = u32_at(h, 16, big_endian);
        // The upper bits of the link-type field hold FCS length and flags.
        let link_type = LinkType((u32_at(h, 20, big_endian) & 0xffff) as u16);
        buf.consume(FILE_HEADER_LEN);
        Ok(Pcap {
            big_endian,
            nanos,
            modified,
            snap_limit: if snaplen == 0 || snaplen > MAX_CAPLEN {
                MAX_CAPLEN
            } else {
                snaplen
            },
            link_type,
        })
    }

    pub(super) fn format(&self) -> CaptureFormat {
        if self.modified {
            CaptureFormat::ModifiedPcap {
                big_endian: self.big_endian,
            }
        } else {
            CaptureFormat::Pcap {
                nanos: self.nanos,
                big_endian: self.big_endian,
            }
        }
    }

    #[inline]
    fn header_len(&self) -> usize {
        if self.modified { 24 } else { 16 }
    }

    #[inline]
    fn header(&self, b: &[u8]) -> RecordHeader {
        RecordHeader {
            ts_sec: u32_at(b, 0, self.big_endian),
            ts_frac: u32_at(b, 4, self.big_endian),
            caplen: u32_at(b, 8, self.big_endian),
            orig_len: u32_at(b, 12, self.big_endian),
        }
    }

    #[inline]
    fn timestamp(&self, h: &RecordHeader) -> Timestamp {
        let frac_nanos = if self.nanos {
            i64::from(h.ts_frac)
        } else {
            i64::from(h.ts_frac) * 1000
        };
        // Both terms are far from i64's range: u32 seconds times 1e9 < 4.3e18.
        Timestamp::from_nanos(i64::from(h.ts_sec) * 1_000_000_000 + frac_nanos)
    }

    #[inline]
    fn implausible(h: &RecordHeader) -> Option<ImplausibleReason> {
        if h.caplen > MAX_CAPLEN {
            Some(ImplausibleReason::CaplenTooLarge { caplen: h.caplen })
        } else if h.orig_len == 0 {
            Some(ImplausibleReason::ZeroLength)
        } else if h.caplen > h.orig_len {
            Some(ImplausibleReason::CaplenExceedsOrigLen {
                caplen: h.caplen,
                orig_len: h.orig_len,
            })
        } else {
            None
        }
    }

    pub(super) fn next<R: Read>(
        &self,
        buf: &mut Buffer<R>,
        last_ts: &mut Option<Timestamp>,
    ) -> Option<Result<Located, CaptureError>> {
        let offset = buf.offset();
        let hl = self.header_len();
        match buf.fill(hl) {
            Ok(true) => {}
            Ok(false) => return end_of_stream(buf, offset, hl),
            Err(e) => return Some(Err(io_error(offset)(e))),
        }
        let h = self.header(buf.avail());
        if let Some(reason) = Self::implausible(&h) {
            return Some(self.skip_garbage(buf, offset, reason, *last_ts));
        }
        let need = hl + h.caplen as usize;
        match buf.fill(need) {
            Ok(true) => {}
            Ok(false) => return Some(self.runs_past_end(buf, offset, need, *last_ts)),
            Err(e) => return Some(Err(io_error(offset)(e))),
        }
        let ts = self.timestamp(&h);
        let start = buf.index() + hl;
        buf.consume(need);
        *last_ts = Some(ts);
        Some(Ok(Located {
            ts,
            link_type: self.link_type,
            start,
            caplen: h.caplen as usize,
            orig_len: h.orig_len,
            offset,
            interface: 0,
        }))
    }

    fn skip_garbage<R: Read>(
        &self,
        buf: &mut Buffer<R>,
        offset: u64,
        reason: ImplausibleReason,
        last_ts: Option<Timestamp>,
    ) -> Result<Located, CaptureError> {
        self.resync(buf, last_ts).map_err(io_error(offset))?;
        Err(CaptureError::Implausible {
            offset,
            reason,
            skipped: buf.offset() - offset,
        })
    }

    /// A record that claims more bytes than are left is a cut file, unless a
    /// plausible record starts inside those bytes: then its header was garbage.
    fn runs_past_end<R: Read>(
        &self,
        buf: &mut Buffer<R>,
        offset: u64,
        needed: usize,
        last_ts: Option<Timestamp>,
    ) -> Result<Located, CaptureError> {
        let (needed, available) = (needed as u64, buf.len() as u64);
        if self.resync(buf, last_ts).map_err(io_error(offset))? {
            Err(CaptureError::Implausible {
                offset,
                reason: ImplausibleReason::RunsPastEnd { needed, available },
                skipped: buf.offset() - offset,
            })
        } else {
            Err(CaptureError::Truncated {
                offset,
                needed,
                available,
            })
        }
    }

    /// Moves forward byte by byte from just after the current position to the
    /// next plausible record. `false`: none before the end of the stream (then
    /// everything is consumed).
    fn resync<R: Read>(
        &self,
        buf: &mut Buffer<R>,
        last_ts: Option<Timestamp>,
    ) -> std::io::Result<bool> {
        let hl = self.header_len();
        buf.consume(1);
        loop {
            if !buf.fill(hl)? {
                buf.consume(buf.len());
                return Ok(false);
            }
            if self.candidate(buf, last_ts)? {
                return Ok(true);
            }
            buf.consume(1);
        }
    }

    /// A record here is plausible, and so is the one after it (or the stream
    /// ends within a header's length of its end).
    fn candidate<R: Read>(
        &self,
        buf: &mut Buffer<R>,
        last_ts: Option<Timestamp>,
    ) -> std::io::Result<bool> {
        let hl = self.header_len();
        let h = self.header(buf.avail());
        if !self.plausible(&h, last_ts) {
            return Ok(false);
        }
        let record = hl + h.caplen as usize;
        let whole = buf.fill(record + hl)?;
        if buf.len() < record {
            return Ok(false);
        }
        if !whole {
            return Ok(true);
        }
        let next = self.header(buf.avail().get(record..).unwrap_or(&[]));
        Ok(self.plausible(&next, Some(self.timestamp(&h))))
    }

    fn plausible(&self, h: &RecordHeader, near: Option<Timestamp>) -> bool {
        let frac_limit = if self.nanos { 1_000_000_000 } else { 1_000_000 };
        let close_in_time = near
            .is_none_or(|t| (self.timestamp(h).nanos() - t.nanos()).abs() <= RESYNC_WINDOW_NANOS);
        h.caplen <= self.snap_limit
            && h.caplen <= h.orig_len
            && h.orig_len > 0
            && h.orig_len <= MAX_SANE_ORIG_LEN
            && h.ts_frac < frac_limit
            && close_in_time
    }
}
