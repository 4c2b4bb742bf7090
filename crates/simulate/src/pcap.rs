//! Classic pcap output: a global header, then a record header per frame.
//! Frames are rendered straight into the output buffer.

use std::io::{self, Write};

use portwatch_core::Timestamp;

use crate::config::Resolution;

const MAGIC_MICRO: u32 = 0xa1b2_c3d4;
const MAGIC_NANO: u32 = 0xa1b2_3c4d;
const LINKTYPE_ETHERNET: u32 = 1;
const SNAPLEN: u32 = 65_535;
/// Hand the writer big chunks: fewer syscalls, and a caller's own
/// `BufWriter` (or compressor) sees large writes.
const FLUSH_AT: usize = 1 << 20;

#[derive(Debug)]
pub(crate) struct PcapWriter<W: Write> {
    out: W,
    buf: Vec<u8>,
    nanos: bool,
    written: u64,
}

impl<W: Write> PcapWriter<W> {
    pub(crate) fn new(out: W, resolution: Resolution) -> Self {
        let nanos = resolution == Resolution::Nano;
        let mut buf = Vec::with_capacity(FLUSH_AT + 4096);
        let magic = if nanos { MAGIC_NANO } else { MAGIC_MICRO };
        buf.extend_from_slice(&magic.to_le_bytes());
        buf.extend_from_slice(&2u16.to_le_bytes());
        buf.extend_from_slice(&4u16.to_le_bytes());
        buf.extend_from_slice(&0i32.to_le_bytes());
        buf.extend_from_slice(&0u32.to_le_bytes());
        buf.extend_from_slice(&SNAPLEN.to_le_bytes());
        buf.extend_from_slice(&LINKTYPE_ETHERNET.to_le_bytes());
        PcapWriter {
            out,
            buf,
            nanos,
            written: 0,
        }
    }

    /// Appends one record whose frame `render` writes. `ts` must not be
    /// before 1970 (validation guarantees it).
    pub(crate) fn record(
        &mut self,
        ts: Timestamp,
        render: impl FnOnce(&mut Vec<u8>),
    ) -> io::Result<()> {
        let secs = ts.secs() as u32;
        let sub = ts.nanos().rem_euclid(1_000_000_000) as u32;
        let frac = if self.nanos { sub } else { sub / 1000 };
        let h = self.buf.len();
        self.buf.extend_from_slice(&secs.to_le_bytes());
        self.buf.extend_from_slice(&frac.to_le_bytes());
        self.buf.extend_from_slice(&[0; 8]);
        render(&mut self.buf);
        let len = (self.buf.len() - h - 16) as u32;
        self.buf[h + 8..h + 12].copy_from_slice(&len.to_le_bytes());
        self.buf[h + 12..h + 16].copy_from_slice(&len.to_le_bytes());
        if self.buf.len() >= FLUSH_AT {
            self.flush_buf()?;
        }
        Ok(())
    }

    fn flush_buf(&mut self) -> io::Result<()> {
        self.out.write_all(&self.buf)?;
        self.written += self.buf.len() as u64;
        self.buf.clear();
        Ok(())
    }

    /// Writes what is buffered, flushes, and returns the file's size.
    pub(crate) fn finish(mut self) -> io::Result<u64> {
        self.flush_buf()?;
        self.out.flush()?;
        Ok(self.written)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_and_record_layout() {
        let mut out = Vec::new();
        let mut w = PcapWriter::new(&mut out, Resolution::Nano);
        w.record(Timestamp::from_parts(1_767_571_200, 123_456_789), |b| {
            b.extend_from_slice(&[0xaa; 60]);
        })
        .unwrap();
        assert_eq!(w.finish().unwrap(), 24 + 16 + 60);
        assert_eq!(&out[0..4], &[0x4d, 0x3c, 0xb2, 0xa1]);
        assert_eq!(&out[20..24], &[1, 0, 0, 0]);
        assert_eq!(
            u32::from_le_bytes(out[24..28].try_into().unwrap()),
            1_767_571_200
        );
        assert_eq!(
            u32::from_le_bytes(out[28..32].try_into().unwrap()),
            123_456_789
        );
        assert_eq!(u32::from_le_bytes(out[32..36].try_into().unwrap()), 60);
        assert_eq!(u32::from_le_bytes(out[36..40].try_into().unwrap()), 60);
    }
}
