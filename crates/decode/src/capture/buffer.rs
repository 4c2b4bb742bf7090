//! A refillable window over a byte stream: records are lent straight out of
//! it, so reading allocates only when a record is larger than anything seen
//! before.

use std::fmt;
use std::io::{self, Read};

/// How much is asked of the source at a time once the stream has proved
/// long: large enough that a file of small packets costs one `read` per
/// thousands of records.
pub(crate) const CHUNK: usize = 1 << 20;
/// The first allocation; it doubles on every refill up to [`CHUNK`], so a
/// short stream never costs a megabyte.
const FIRST_CHUNK: usize = 64 << 10;

pub(crate) struct Buffer<R> {
    src: R,
    data: Vec<u8>,
    /// Start of the unconsumed bytes in `data`.
    pos: usize,
    /// End of the bytes read so far.
    end: usize,
    /// Stream offset of `data[0]`.
    base: u64,
    eof: bool,
}

impl<R> fmt::Debug for Buffer<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Buffer")
            .field("offset", &self.offset())
            .field("buffered", &self.len())
            .field("eof", &self.eof)
            .finish_non_exhaustive()
    }
}

impl<R: Read> Buffer<R> {
    pub(crate) fn new(src: R) -> Self {
        Buffer {
            src,
            data: vec![0; FIRST_CHUNK],
            pos: 0,
            end: 0,
            base: 0,
            eof: false,
        }
    }

    /// Makes `n` bytes available from the current position. `Ok(false)` means
    /// the stream ended first; everything up to its end is then buffered.
    #[inline]
    pub(crate) fn fill(&mut self, n: usize) -> io::Result<bool> {
        if self.len() >= n {
            Ok(true)
        } else {
            self.fill_slow(n)
        }
    }

    #[cold]
    #[inline(never)]
    fn fill_slow(&mut self, n: usize) -> io::Result<bool> {
        if self.eof {
            return Ok(false);
        }
        if self.pos > 0 {
            self.data.copy_within(self.pos..self.end, 0);
            self.base += self.pos as u64;
            self.end -= self.pos;
            self.pos = 0;
        }
        // A refill after data was consumed means the stream is longer than
        // one buffer: grow toward CHUNK.
        if self.base > 0 && self.data.len() < CHUNK {
            self.data.resize(self.data.len() * 2, 0);
        }
        while self.end < n && !self.eof {
            // Grow for a large request only once the stream has the bytes
            // to fill it: a bogus length near the end allocates nothing.
            if self.end == self.data.len() {
                self.data.resize(n.next_power_of_two(), 0);
            }
            match self.src.read(&mut self.data[self.end..]) {
                Ok(0) => self.eof = true,
                // `min` guards against a reader that claims more than it was given.
                Ok(k) => self.end = (self.end + k).min(self.data.len()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(self.end >= n)
    }
}

impl<R> Buffer<R> {
    /// Stream offset of the current position.
    #[inline]
    pub(crate) fn offset(&self) -> u64 {
        self.base + self.pos as u64
    }

    /// Number of buffered, unconsumed bytes.
    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.end - self.pos
    }

    /// The buffered, unconsumed bytes.
    #[inline]
    pub(crate) fn avail(&self) -> &[u8] {
        &self.data[self.pos..self.end]
    }

    /// Index in the backing storage of the current position, for lending a
    /// record out after it has been consumed (see [`Buffer::slice`]).
    #[inline]
    pub(crate) fn index(&self) -> usize {
        self.pos
    }

    #[inline]
    pub(crate) fn consume(&mut self, n: usize) {
        self.pos += n.min(self.len());
    }

    /// Bytes at backing-storage indices `start..start + len`. They stay valid
    /// after [`Buffer::consume`] until the next [`Buffer::fill`].
    #[inline]
    pub(crate) fn slice(&self, start: usize, len: usize) -> &[u8] {
        self.data.get(start..start + len).unwrap_or(&[])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hands out at most three bytes per `read`, like a slow pipe.
    struct Dribble<'a>(&'a [u8]);

    impl Read for Dribble<'_> {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            let n = self.0.len().min(out.len()).min(3);
            out[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    #[test]
    fn fills_across_short_reads_and_reports_the_end() {
        let bytes: Vec<u8> = (0..20).collect();
        let mut b = Buffer::new(Dribble(&bytes));
        assert!(b.fill(10).unwrap());
        assert_eq!(&b.avail()[..10], &bytes[..10]);
        b.consume(8);
        assert_eq!(b.offset(), 8);
        assert!(!b.fill(13).unwrap());
        assert_eq!(b.avail(), &bytes[8..]);
        assert_eq!(b.offset(), 8);
    }

    #[test]
    fn grows_for_a_request_larger_than_a_chunk() {
        let bytes = vec![7u8; CHUNK + 5];
        let mut b = Buffer::new(&bytes[..]);
        b.fill(3).unwrap();
        b.consume(1);
        assert!(b.fill(CHUNK + 4).unwrap());
        assert_eq!(b.len(), CHUNK + 4);
        assert_eq!(b.offset(), 1);
    }
}
