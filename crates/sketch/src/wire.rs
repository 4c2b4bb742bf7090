//! Little-endian reading and writing shared by the summaries' byte formats.
//!
//! Every format starts with [`crate::FORMAT_VERSION`] and a kind byte; the
//! kinds of different summary types never overlap, so bytes handed to the
//! wrong reader are rejected instead of misread.

use crate::{FORMAT_VERSION, SketchError};

pub(crate) const KIND_COUNTER_SPARSE: u8 = 0x11;
pub(crate) const KIND_COUNTER_DENSE: u8 = 0x12;
pub(crate) const KIND_TOPK: u8 = 0x21;
pub(crate) const KIND_PORTSET: u8 = 0x31;

/// A cursor over borrowed bytes whose reads fail instead of panicking.
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    pub(crate) fn offset(&self) -> usize {
        self.pos
    }

    pub(crate) fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// Reads the version byte and returns the kind byte after it.
    pub(crate) fn header(&mut self) -> Result<u8, SketchError> {
        let version = self.u8("version")?;
        if version != FORMAT_VERSION {
            return Err(SketchError::Version {
                found: version,
                supported: FORMAT_VERSION,
            });
        }
        self.u8("kind")
    }

    pub(crate) fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], SketchError> {
        let available = self.remaining();
        if n > available {
            return Err(SketchError::Truncated {
                what,
                offset: self.pos,
                needed: n,
                available,
            });
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], SketchError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N, what)?);
        Ok(out)
    }

    pub(crate) fn u8(&mut self, what: &'static str) -> Result<u8, SketchError> {
        Ok(self.array::<1>(what)?[0])
    }

    pub(crate) fn u16(&mut self, what: &'static str) -> Result<u16, SketchError> {
        self.array(what).map(u16::from_le_bytes)
    }

    pub(crate) fn u32(&mut self, what: &'static str) -> Result<u32, SketchError> {
        self.array(what).map(u32::from_le_bytes)
    }

    pub(crate) fn u64(&mut self, what: &'static str) -> Result<u64, SketchError> {
        self.array(what).map(u64::from_le_bytes)
    }

    pub(crate) fn bytes<const N: usize>(
        &mut self,
        what: &'static str,
    ) -> Result<[u8; N], SketchError> {
        self.array(what)
    }

    /// An error for a value that starts at `offset` and breaks a rule.
    pub(crate) fn invalid(offset: usize, what: &'static str, reason: &'static str) -> SketchError {
        SketchError::Invalid {
            what,
            offset,
            reason,
        }
    }

    /// Fails unless every byte has been consumed.
    pub(crate) fn finish(self) -> Result<(), SketchError> {
        match self.remaining() {
            0 => Ok(()),
            count => Err(SketchError::Trailing {
                offset: self.pos,
                count,
            }),
        }
    }
}

/// Starts an output buffer with the version and kind bytes.
pub(crate) fn start(kind: u8, capacity: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(2 + capacity);
    out.push(FORMAT_VERSION);
    out.push(kind);
    out
}
