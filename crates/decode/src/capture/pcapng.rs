//! pcapng: a sequence of sections, each a Section Header Block (which sets the
//! byte order) followed by Interface Description Blocks and packet blocks.
//! Every block is `type, length, body, length`.

use std::io::Read;

use portwatch_core::Timestamp;

use super::buffer::Buffer;
use super::{
    CaptureError, ImplausibleReason, Located, MAX_CAPLEN, end_of_stream, io_error, u16_at, u32_at,
};
use crate::LinkType;

const SHB: u32 = 0x0A0D_0D0A;
const IDB: u32 = 1;
const PB: u32 = 2;
const SPB: u32 = 3;
const EPB: u32 = 6;
/// Block types resynchronisation may land on: the standard ones (including
/// obsolete and informational types) and custom blocks.
const KNOWN: [u32; 13] = [
    SHB,
    IDB,
    PB,
    SPB,
    4,
    5,
    EPB,
    7,
    8,
    9,
    10,
    0x0BAD,
    0x4000_0BAD,
];
const BYTE_ORDER_MAGIC: u32 = 0x1A2B_3C4D;
const MIN_SHB_LEN: u32 = 28;
/// Larger blocks are taken for damage. Packet blocks stay far below it (the
/// captured length is capped at 262144); this leaves room for big name
/// resolution or decryption-secrets blocks.
const MAX_BLOCK_LEN: u32 = 16 << 20;
const IF_TSRESOL: u16 = 9;
const IF_TSOFFSET: u16 = 14;

#[derive(Debug)]
pub(super) struct Pcapng {
    big_endian: bool,
    /// Interfaces of the current section, by index.
    interfaces: Vec<Interface>,
    /// Timestamp of the last record, for Simple Packet Blocks.
    last_ts: Option<Timestamp>,
}

#[derive(Debug, Clone, Copy)]
struct Interface {
    link_type: LinkType,
    snaplen: u32,
    scale: TsScale,
    offset_nanos: i64,
}

/// How an interface's timestamp units become nanoseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TsScale {
    Mul(u64),
    Div(u64),
    /// Units of 2^-n seconds.
    Shift(u32),
}

impl TsScale {
    const MICROS: TsScale = TsScale::Mul(1000);

    fn from_tsresol(v: u8) -> TsScale {
        let e = u32::from(v & 0x7f);
        if v & 0x80 != 0 {
            TsScale::Shift(e)
        } else if e <= 9 {
            TsScale::Mul(10u64.pow(9 - e))
        } else {
            // 10^19 is the largest power of ten a u64 holds; finer units
            // than that leave nothing of a 64-bit timestamp anyway.
            TsScale::Div(10u64.saturating_pow(e - 9))
        }
    }

    fn nanos(self, units: u64) -> i64 {
        let n = match self {
            TsScale::Mul(m) => u128::from(units) * u128::from(m),
            TsScale::Div(d) => u128::from(units / d.max(1)),
            TsScale::Shift(e) => (u128::from(units) * 1_000_000_000) >> e,
        };
        i64::try_from(n).unwrap_or(i64::MAX)
    }
}

/// The byte order a Section Header Block's byte-order magic announces
/// (`Some(true)` for big-endian).
pub(super) fn byte_order(block: &[u8]) -> Option<bool> {
    match u32_at(block, 8, true) {
        BYTE_ORDER_MAGIC => Some(true),
        0x4D3C_2B1A => Some(false),
        _ => None,
    }
}

/// What a well-framed block turned out to be.
enum Block {
    Skip,
    Record(Located),
    Bad(ImplausibleReason),
    Undefined(u32),
}

impl Pcapng {
    pub(super) fn open<R: Read>(buf: &mut Buffer<R>) -> Result<Pcapng, CaptureError> {
        let bad = |reason| CaptureError::BadHeader { offset: 0, reason };
        buf.fill(12).map_err(io_error(0))?;
        let big_endian = byte_order(buf.avail()).ok_or(bad("bad pcapng byte-order magic"))?;
        let len = u32_at(buf.avail(), 4, big_endian);
        if len < MIN_SHB_LEN || !len.is_multiple_of(4) || len > MAX_BLOCK_LEN {
            return Err(bad("bad section header block length"));
        }
        if !buf.fill(len as usize).map_err(io_error(0))? {
            return Err(CaptureError::Truncated {
                offset: 0,
                needed: u64::from(len),
                available: buf.len() as u64,
            });
        }
        let block = buf.avail();
        if u32_at(block, len as usize - 4, big_endian) != len {
            return Err(bad("section header block trailing length mismatch"));
        }
        if u16_at(block, 12, big_endian) != 1 {
            return Err(bad("pcapng major version is not 1"));
        }
        buf.consume(len as usize);
        Ok(Pcapng {
            big_endian,
            interfaces: Vec::new(),
            last_ts: None,
        })
    }

    pub(super) fn next<R: Read>(
        &mut self,
        buf: &mut Buffer<R>,
    ) -> Option<Result<Located, CaptureError>> {
        loop {
            let offset = buf.offset();
            match buf.fill(12) {
                Ok(true) => {}
                Ok(false) => return end_of_stream(buf, offset, 12),
                Err(e) => return Some(Err(io_error(offset)(e))),
            }
            let (block_type, len) = match self.head(buf.avail()) {
                Ok(head) => head,
                Err(reason) => return Some(self.skip_garbage(buf, offset, reason)),
            };
            match buf.fill(len as usize) {
                Ok(true) => {}
                Ok(false) => return Some(self.runs_past_end(buf, offset, len)),
                Err(e) => return Some(Err(io_error(offset)(e))),
            }
            let big_endian = self.block_byte_order(buf.avail(), block_type);
            let trailing = u32_at(buf.avail(), len as usize - 4, big_endian);
            if trailing != len {
                let reason = ImplausibleReason::TrailerMismatch {
                    leading: len,
                    trailing,
                };
                return Some(self.skip_garbage(buf, offset, reason));
            }
            if !KNOWN.contains(&block_type) {
                // Unknown types are skipped by their length, so their framing
                // must convince: with a byte of garbage before blocks of equal
                // size, a shifted "length" can land on a shifted trailer.
                match self.known_block_follows(buf, len) {
                    Ok(true) => {}
                    Ok(false) => {
                        let reason = ImplausibleReason::UnknownBlockType { block_type };
                        return Some(self.skip_garbage(buf, offset, reason));
                    }
                    Err(e) => return Some(Err(io_error(offset)(e))),
                }
            }
            let outcome = self.block(buf, block_type, len, offset);
            buf.consume(len as usize);
            match outcome {
                Block::Skip => {}
                Block::Record(r) => {
                    self.last_ts = Some(r.ts);
                    return Some(Ok(r));
                }
                Block::Bad(reason) => {
                    return Some(Err(CaptureError::Implausible {
                        offset,
                        reason,
                        skipped: u64::from(len),
                    }));
                }
                Block::Undefined(interface) => {
                    return Some(Err(CaptureError::UndefinedInterface { offset, interface }));
                }
            }
        }
    }

    /// A Section Header Block announces its own byte order; every other block
    /// uses its section's.
    fn block_byte_order(&self, block: &[u8], block_type: u32) -> bool {
        if block_type == SHB {
            byte_order(block).unwrap_or(self.big_endian)
        } else {
            self.big_endian
        }
    }

    /// Type and length of the block at the start of `b` (12 bytes or more),
    /// if its framing is possible.
    fn head(&self, b: &[u8]) -> Result<(u32, u32), ImplausibleReason> {
        let block_type = u32_at(b, 0, self.big_endian);
        let big_endian = if block_type == SHB {
            byte_order(b).ok_or(ImplausibleReason::BadSectionHeader)?
        } else {
            self.big_endian
        };
        let len = u32_at(b, 4, big_endian);
        if len < 12 || !len.is_multiple_of(4) || len > MAX_BLOCK_LEN {
            return Err(ImplausibleReason::BadBlockLength { length: len });
        }
        Ok((block_type, len))
    }

    /// A block of a known type starts `len` bytes on, or the stream ends first.
    fn known_block_follows<R: Read>(&self, buf: &mut Buffer<R>, len: u32) -> std::io::Result<bool> {
        let len = len as usize;
        if !buf.fill(len + 12)? {
            return Ok(true);
        }
        let next = buf.avail().get(len..).unwrap_or(&[]);
        Ok(self.head(next).is_ok_and(|(t, _)| KNOWN.contains(&t)))
    }

    /// Interprets a whole, well-framed block at the current position.
    fn block<R>(&mut self, buf: &Buffer<R>, block_type: u32, len: u32, offset: u64) -> Block {
        let block = buf.avail().get(..len as usize).unwrap_or(&[]);
        let body = block.get(8..block.len().saturating_sub(4)).unwrap_or(&[]);
        let be = self.big_endian;
        let too_short = Block::Bad(ImplausibleReason::BlockTooShort {
            block_type,
            length: len,
        });
        match block_type {
            SHB => match byte_order(block) {
                Some(big_endian) if len >= MIN_SHB_LEN && u16_at(block, 12, big_endian) == 1 => {
                    self.big_endian = big_endian;
                    self.interfaces.clear();
                    Block::Skip
                }
                _ => Block::Bad(ImplausibleReason::BadSectionHeader),
            },
            IDB => {
                if body.len() < 8 {
                    return too_short;
                }
                let (scale, offset_nanos) = timestamp_options(body.get(8..).unwrap_or(&[]), be);
                self.interfaces.push(Interface {
                    link_type: LinkType(u16_at(body, 0, be)),
                    snaplen: u32_at(body, 4, be),
                    scale,
                    offset_nanos,
                });
                Block::Skip
            }
            EPB | PB => {
                if body.len() < 20 {
                    return too_short;
                }
                let interface = if block_type == EPB {
                    u32_at(body, 0, be)
                } else {
                    u32::from(u16_at(body, 0, be))
                };
                let units = (u64::from(u32_at(body, 4, be)) << 32) | u64::from(u32_at(body, 8, be));
                let caplen = u32_at(body, 12, be);
                let orig_len = u32_at(body, 16, be);
                if let Some(bad) = check_lengths(caplen, orig_len) {
                    return bad;
                }
                if caplen as usize > body.len() - 20 {
                    return too_short;
                }
                let Some(iface) = self.interfaces.get(interface as usize) else {
                    return Block::Undefined(interface);
                };
                let ts = iface.scale.nanos(units).saturating_add(iface.offset_nanos);
                Block::Record(Located {
                    ts: Timestamp::from_nanos(ts),
                    link_type: iface.link_type,
                    start: buf.index() + 28,
                    caplen: caplen as usize,
                    orig_len,
                    offset,
                    interface,
                })
            }
            SPB => {
                if body.len() < 4 {
                    return too_short;
                }
                let Some(iface) = self.interfaces.first() else {
                    return Block::Undefined(0);
                };
                let orig_len = u32_at(body, 0, be);
                let mut caplen = orig_len.min((body.len() - 4) as u32);
                if iface.snaplen != 0 {
                    caplen = caplen.min(iface.snaplen);
                }
                if let Some(bad) = check_lengths(caplen, orig_len) {
                    return bad;
                }
                Block::Record(Located {
                    ts: self.last_ts.unwrap_or(Timestamp::from_nanos(0)),
                    link_type: iface.link_type,
                    start: buf.index() + 12,
                    caplen: caplen as usize,
                    orig_len,
                    offset,
                    interface: 0,
                })
            }
            _ => Block::Skip,
        }
    }

    fn skip_garbage<R: Read>(
        &self,
        buf: &mut Buffer<R>,
        offset: u64,
        reason: ImplausibleReason,
    ) -> Result<Located, CaptureError> {
        self.resync(buf).map_err(io_error(offset))?;
        Err(CaptureError::Implausible {
            offset,
            reason,
            skipped: buf.offset() - offset,
        })
    }

    /// See the pcap reader's `runs_past_end`: garbage, or a cut file.
    fn runs_past_end<R: Read>(
        &self,
        buf: &mut Buffer<R>,
        offset: u64,
        len: u32,
    ) -> Result<Located, CaptureError> {
        let (needed, available) = (u64::from(len), buf.len() as u64);
        if self.resync(buf).map_err(io_error(offset))? {
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

    /// Moves forward byte by byte to the next block of a known type whose
    /// trailing length matches its leading one. `false`: none before the end
    /// of the stream (then everything is consumed).
    fn resync<R: Read>(&self, buf: &mut Buffer<R>) -> std::io::Result<bool> {
        buf.consume(1);
        loop {
            if !buf.fill(12)? {
                buf.consume(buf.len());
                return Ok(false);
            }
            if self.candidate(buf)? {
                return Ok(true);
            }
            buf.consume(1);
        }
    }

    fn candidate<R: Read>(&self, buf: &mut Buffer<R>) -> std::io::Result<bool> {
        let Ok((block_type, len)) = self.head(buf.avail()) else {
            return Ok(false);
        };
        if !KNOWN.contains(&block_type) || !buf.fill(len as usize)? {
            return Ok(false);
        }
        let big_endian = self.block_byte_order(buf.avail(), block_type);
        Ok(u32_at(buf.avail(), len as usize - 4, big_endian) == len)
    }
}

fn check_lengths(caplen: u32, orig_len: u32) -> Option<Block> {
    if caplen > MAX_CAPLEN {
        Some(Block::Bad(ImplausibleReason::CaplenTooLarge { caplen }))
    } else if caplen > orig_len {
        Some(Block::Bad(ImplausibleReason::CaplenExceedsOrigLen {
            caplen,
            orig_len,
        }))
    } else {
        None
    }
}

/// `if_tsresol` and `if_tsoffset` from an Interface Description Block's
/// options; microseconds and no offset when absent. Malformed options end
/// the walk rather than the block: the interface is still usable.
fn timestamp_options(mut opts: &[u8], be: bool) -> (TsScale, i64) {
    let mut scale = TsScale::MICROS;
    let mut offset_nanos = 0i64;
    while opts.len() >= 4 {
        let code = u16_at(opts, 0, be);
        let len = usize::from(u16_at(opts, 2, be));
        let Some(value) = opts.get(4..4 + len) else {
            break;
        };
        match (code, value) {
            (0, _) => break,
            (IF_TSRESOL, &[v]) => scale = TsScale::from_tsresol(v),
            (IF_TSOFFSET, v) => {
                if let Ok(v) = <[u8; 8]>::try_from(v) {
                    let secs = if be {
                        i64::from_be_bytes(v)
                    } else {
                        i64::from_le_bytes(v)
                    };
                    offset_nanos = secs.saturating_mul(1_000_000_000);
                }
            }
            _ => {}
        }
        opts = opts.get(4 + len.next_multiple_of(4)..).unwrap_or(&[]);
    }
    (scale, offset_nanos)
}

#[cfg(test)]
mod tests {
    use super::TsScale;

    #[test]
    fn timestamp_resolutions() {
        assert_eq!(TsScale::from_tsresol(6), TsScale::MICROS);
        assert_eq!(TsScale::from_tsresol(9).nanos(5), 5);
        assert_eq!(TsScale::from_tsresol(3).nanos(5), 5_000_000);
        assert_eq!(TsScale::from_tsresol(12).nanos(5_000), 5);
        assert_eq!(TsScale::from_tsresol(0x80 | 10).nanos(1024), 1_000_000_000);
        assert_eq!(TsScale::from_tsresol(0x80 | 1).nanos(3), 1_500_000_000);
        assert_eq!(TsScale::from_tsresol(0).nanos(u64::MAX), i64::MAX);
        assert_eq!(TsScale::from_tsresol(0x7f).nanos(1 << 40), 0);
        assert_eq!(TsScale::from_tsresol(0xff).nanos(u64::MAX), 0);
    }
}
