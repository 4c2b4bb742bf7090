//! A bounds-checked cursor over a byte slice: every read either succeeds or
//! says the input ended, so the wire parsers cannot index out of bounds.

/// The input ended before the structure did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Short;

#[derive(Debug, Clone)]
pub(crate) struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(data: &'a [u8]) -> Self {
        Reader { data, pos: 0 }
    }

    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.pos >= self.data.len()
    }

    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8], Short> {
        let end = self.pos.checked_add(n).ok_or(Short)?;
        let out = self.data.get(self.pos..end).ok_or(Short)?;
        self.pos = end;
        Ok(out)
    }

    pub(crate) fn u8(&mut self) -> Result<u8, Short> {
        Ok(self.take(1)?[0])
    }

    pub(crate) fn u16(&mut self) -> Result<u16, Short> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    pub(crate) fn u24(&mut self) -> Result<usize, Short> {
        let b = self.take(3)?;
        Ok(usize::from(b[0]) << 16 | usize::from(b[1]) << 8 | usize::from(b[2]))
    }

    pub(crate) fn u32(&mut self) -> Result<u32, Short> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// A block preceded by its one-byte length.
    pub(crate) fn vec8(&mut self) -> Result<&'a [u8], Short> {
        let n = self.u8()?;
        self.take(usize::from(n))
    }

    /// A block preceded by its two-byte big-endian length.
    pub(crate) fn vec16(&mut self) -> Result<&'a [u8], Short> {
        let n = self.u16()?;
        self.take(usize::from(n))
    }
}

/// Big-endian u16 values of a slice whose length the parser already checked
/// to be even; a stray odd byte at the end is ignored.
pub(crate) fn u16s(data: &[u8]) -> impl Iterator<Item = u16> + '_ {
    data.chunks_exact(2)
        .map(|c| u16::from_be_bytes([c[0], c[1]]))
}

/// Lowercase hex of a digest or any byte string.
pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
}
