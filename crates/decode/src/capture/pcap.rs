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
/// This many plausible records in a row convince resynchronisation at the
/// end of a stream; the cap keeps a scan over crafted input linear.
const CHAIN_ENOUGH: usize = 32;

#[derive(Debug)]
pub(super) struct Pcap {
    big_endian: bool,
    nanos: bool,
    modified: bool,
    /// Limit on captured lengths during resynchronisation.
    snap_limit: u32,
    link_type: LinkType,
    recent: Recent,
}

/// Timestamps of the last two records read: the reference resynchronisation
/// dates candidates against. Two, so that one bogus record cannot move it.
#[derive(Debug, Default, Clone, Copy)]
struct Recent {
    last: Option<Timestamp>,
    before: Option<Timestamp>,
}

impl Recent {
    fn at(ts: Timestamp) -> Recent {
        Recent {
            last: Some(ts),
            before: None,
        }
    }

    fn push(&mut self, ts: Timestamp) {
        self.before = self.last;
        self.last = Some(ts);
    }

    fn is_empty(&self) -> bool {
        self.last.is_none()
    }

    /// Within a day of either reference, or there is no reference yet.
    fn near(&self, ts: Timestamp) -> bool {
        let close = |r: Option<Timestamp>| {
            r.is_some_and(|r| (ts.nanos() - r.nanos()).abs() <= RESYNC_WINDOW_NANOS)
        };
        self.is_empty() || close(self.last) || close(self.before)
    }
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
            recent: Recent::default(),
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
        &mut self,
        buf: &mut Buffer<R>,
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
            return Some(self.skip_garbage(buf, offset, reason));
        }
        let need = hl + h.caplen as usize;
        match buf.fill(need) {
            Ok(true) => {}
            Ok(false) => return Some(self.runs_past_end(buf, offset, need)),
            Err(e) => return Some(Err(io_error(offset)(e))),
        }
        let ts = self.timestamp(&h);
        if !self.recent.near(ts) {
            // Captures do pause for days, but then the next record agrees
            // with this one; garbage that happens to parse does not.
            match self.successor_agrees(buf, need, ts) {
                Ok(true) => {}
                Ok(false) => {
                    return Some(self.skip_garbage(buf, offset, ImplausibleReason::TimeJump));
                }
                Err(e) => return Some(Err(io_error(offset)(e))),
            }
        }
        let start = buf.index() + hl;
        buf.consume(need);
        self.recent.push(ts);
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

    /// The record after the `len` bytes at the current position is plausible
    /// and close in time to `ts`, or the stream ends first.
    fn successor_agrees<R: Read>(
        &self,
        buf: &mut Buffer<R>,
        len: usize,
        ts: Timestamp,
    ) -> std::io::Result<bool> {
        if !buf.fill(len + self.header_len())? {
            return Ok(true);
        }
        let next = self.header(buf.avail().get(len..).unwrap_or(&[]));
        Ok(self.plausible(&next, &Recent::at(ts)))
    }

    fn skip_garbage<R: Read>(
        &self,
        buf: &mut Buffer<R>,
        offset: u64,
        reason: ImplausibleReason,
    ) -> Result<Located, CaptureError> {
        self.resync(buf, false).map_err(io_error(offset))?;
        Err(CaptureError::Implausible {
            offset,
            reason,
            skipped: buf.offset() - offset,
        })
    }

    /// A record that claims more bytes than are left is a cut file, unless a
    /// chain of plausible records fills those bytes: then its header was garbage.
    fn runs_past_end<R: Read>(
        &self,
        buf: &mut Buffer<R>,
        offset: u64,
        needed: usize,
    ) -> Result<Located, CaptureError> {
        let (needed, available) = (needed as u64, buf.len() as u64);
        if self.resync(buf, true).map_err(io_error(offset))? {
            Err(CaptureError::Implausible {
                offset,
                reason: ImplausibleReason::RunsPastEnd { needed, available },
                skipped: buf.offset() - offset,
            })
        } else {
            buf.consume(buf.len());
            Err(CaptureError::Truncated {
                offset,
                needed,
                available,
            })
        }
    }

    /// Moves forward byte by byte from just after the current position to the
    /// next plausible record. `false`: none before the end of the stream (then
    /// everything is consumed). For `strict`, see [`Pcap::candidate`].
    fn resync<R: Read>(&self, buf: &mut Buffer<R>, strict: bool) -> std::io::Result<bool> {
        let hl = self.header_len();
        buf.consume(1);
        loop {
            if !buf.fill(hl)? {
                buf.consume(buf.len());
                return Ok(false);
            }
            if self.candidate(buf, strict)? {
                return Ok(true);
            }
            buf.consume(1);
        }
    }

    /// A record here is plausible, and so is the one after it. Where the
    /// stream ends within a header's length of the record's end, the record's
    /// closeness in time to the last good one has to do, so that needs a last
    /// good one. `strict` (used only once the whole rest of the stream is
    /// buffered) demands instead that plausible records, each close in time
    /// to the one before, run from here to the end.
    fn candidate<R: Read>(&self, buf: &mut Buffer<R>, strict: bool) -> std::io::Result<bool> {
        if strict {
            return Ok(self.chain_to_end(buf.avail()));
        }
        let hl = self.header_len();
        let h = self.header(buf.avail());
        if !self.plausible(&h, &self.recent) {
            return Ok(false);
        }
        let record = hl + h.caplen as usize;
        let whole = buf.fill(record + hl)?;
        if buf.len() < record {
            return Ok(false);
        }
        if !whole {
            return Ok(!self.recent.is_empty());
        }
        let next = self.header(buf.avail().get(record..).unwrap_or(&[]));
        Ok(self.plausible(&next, &Recent::at(self.timestamp(&h))))
    }

    /// Plausible records from the start of `rest` to its end (the last one
    /// may be cut short), or at least [`CHAIN_ENOUGH`] of them. Without a
    /// good record before to date the first, it takes three whole ones.
    fn chain_to_end(&self, mut rest: &[u8]) -> bool {
        let hl = self.header_len();
        let needed = if self.recent.is_empty() { 3 } else { 1 };
        let mut recent = self.recent;
        for whole in 0..CHAIN_ENOUGH {
            if rest.len() < hl {
                return whole >= needed;
            }
            let h = self.header(rest);
            if !self.plausible(&h, &recent) {
                return false;
            }
            let Some(after) = rest.get(hl + h.caplen as usize..) else {
                return whole >= needed;
            };
            recent = Recent::at(self.timestamp(&h));
            rest = after;
        }
        true
    }

    fn plausible(&self, h: &RecordHeader, recent: &Recent) -> bool {
        let frac_limit = if self.nanos { 1_000_000_000 } else { 1_000_000 };
        h.caplen <= self.snap_limit
            && h.caplen <= h.orig_len
            && h.orig_len > 0
            && h.orig_len <= MAX_SANE_ORIG_LEN
            && h.ts_frac < frac_limit
            && recent.near(self.timestamp(h))
    }
}
