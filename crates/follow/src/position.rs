//! Where a follower stopped, and how that is kept across restarts.

use std::fs::{self, File};
use std::io::{Read, Write};
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use serde::{Deserialize, Serialize};
use xxhash_rust::xxh3::xxh3_64;

use crate::FollowError;
use crate::error::io;

/// How many leading bytes identify a file's content. Syslog lines start with
/// a timestamp, so even one line tells two files apart.
pub(crate) const HEAD_MAX: usize = 1024;

/// A point in a followed file: after the last line handed out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Position {
    pub dev: u64,
    pub ino: u64,
    /// Byte offset just after the last complete line handed out.
    pub offset: u64,
    /// How many leading bytes `head_hash` covers (at most 1024).
    pub head_len: u32,
    /// xxh3 of the file's first `head_len` bytes.
    pub head_hash: u64,
    /// The last line handed out was cut and `offset` is inside its skipped
    /// tail: skip to the next newline on resume.
    #[serde(default)]
    pub in_cut_line: bool,
}

/// The identity of an open file: device, inode and head fingerprint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Identity {
    pub dev: u64,
    pub ino: u64,
    pub head_len: u32,
    pub head_hash: u64,
}

impl Identity {
    pub(crate) fn of(file: &mut File, path: &Path) -> Result<Identity, FollowError> {
        let meta = file.metadata().map_err(io(path))?;
        let (head_len, head_hash) = head(file, path, HEAD_MAX)?;
        Ok(Identity {
            dev: meta.dev(),
            ino: meta.ino(),
            head_len,
            head_hash,
        })
    }

    /// Whether `other` (read later) is the same file, possibly grown.
    pub(crate) fn same_file(&self, file: &mut File, path: &Path) -> Result<bool, FollowError> {
        let meta = file.metadata().map_err(io(path))?;
        if (meta.dev(), meta.ino()) != (self.dev, self.ino) {
            return Ok(false);
        }
        let (len, hash) = head(file, path, self.head_len as usize)?;
        Ok(len == self.head_len && hash == self.head_hash)
    }
}

/// xxh3 of the first `max` bytes (fewer if the file is shorter), read with
/// positioned reads so the file's cursor is untouched.
pub(crate) fn head(file: &mut File, path: &Path, max: usize) -> Result<(u32, u64), FollowError> {
    use std::os::unix::fs::FileExt;
    let mut buf = vec![0u8; max];
    let mut filled = 0;
    while filled < max {
        let n = file
            .read_at(&mut buf[filled..], filled as u64)
            .map_err(io(path))?;
        if n == 0 {
            break;
        }
        filled += n;
    }
    // `filled` is at most HEAD_MAX, far below u32::MAX.
    Ok((
        u32::try_from(filled).unwrap_or(u32::MAX),
        xxh3_64(&buf[..filled]),
    ))
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct StateFile {
    version: u32,
    position: Position,
}

/// Writes `pos` to `path` atomically: a temporary file beside it, fsync,
/// rename over the old one. A crash leaves either the old or the new state.
pub fn save_position(path: &Path, pos: &Position) -> Result<(), FollowError> {
    let tmp = path.with_extension("tmp");
    let body = serde_json::to_vec(&StateFile {
        version: 1,
        position: *pos,
    })
    .map_err(|source| FollowError::BadState {
        path: path.to_owned(),
        source,
    })?;
    let mut f = File::create(&tmp).map_err(io(&tmp))?;
    f.write_all(&body).map_err(io(&tmp))?;
    f.sync_all().map_err(io(&tmp))?;
    fs::rename(&tmp, path).map_err(io(path))?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        // Make the rename itself durable; not all filesystems allow it.
        let _ = File::open(dir).and_then(|d| d.sync_all());
    }
    Ok(())
}

/// Reads a position saved by [`save_position`]; `None` when there is none.
pub fn load_position(path: &Path) -> Result<Option<Position>, FollowError> {
    let mut text = Vec::new();
    match File::open(path) {
        Ok(mut f) => f.read_to_end(&mut text).map_err(io(path))?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io(path)(e)),
    };
    let state: StateFile =
        serde_json::from_slice(&text).map_err(|source| FollowError::BadState {
            path: path.to_owned(),
            source,
        })?;
    Ok(Some(state.position))
}
