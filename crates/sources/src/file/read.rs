//! Small readers: counting raw bytes, and replaying a sniffed head.

use std::io::{self, Read};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Counts the bytes that pass through, for progress bars.
pub(super) struct CountingReader<R> {
    inner: R,
    count: Arc<AtomicU64>,
}

impl<R> CountingReader<R> {
    pub(super) fn new(inner: R, count: Arc<AtomicU64>) -> Self {
        CountingReader { inner, count }
    }
}

impl<R: Read> Read for CountingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// Reads up to `limit` bytes (fewer only at end of stream), returning them
/// and the reader positioned after them.
pub(super) fn read_head<R: Read>(mut r: R, limit: usize) -> io::Result<(Vec<u8>, R)> {
    let mut head = Vec::with_capacity(limit.min(64 * 1024));
    (&mut r).take(limit as u64).read_to_end(&mut head)?;
    Ok((head, r))
}

/// A head already read, followed by the rest of the stream.
pub(super) struct Prefixed<R> {
    head: Vec<u8>,
    pos: usize,
    rest: R,
}

impl<R> Prefixed<R> {
    pub(super) fn new(head: Vec<u8>, rest: R) -> Self {
        Prefixed { head, pos: 0, rest }
    }
}

impl<R: Read> Read for Prefixed<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.pos < self.head.len() {
            let n = (self.head.len() - self.pos).min(buf.len());
            buf[..n].copy_from_slice(&self.head[self.pos..self.pos + n]);
            self.pos += n;
            if self.pos == self.head.len() {
                self.head = Vec::new();
                self.pos = 0;
            }
            return Ok(n);
        }
        self.rest.read(buf)
    }
}
