//! The follower: poll, read whole lines, notice rotation and truncation.

use std::fs::{self, File};
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::io;
use crate::position::{HEAD_MAX, Identity, head};
use crate::{FollowConfig, FollowError, Position};

/// One line, without its newline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub text: Vec<u8>,
    /// The line was longer than `max_line_len`; `text` is its beginning.
    pub cut: bool,
    /// The file ended (rotated away) before this line's newline came.
    pub unterminated: bool,
}

/// What the follower did, for metrics (rule 4: every drop counted).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct FollowStats {
    pub lines: u64,
    /// Lines longer than `max_line_len`, handed out cut.
    pub lines_cut: u64,
    /// Bytes skipped from the ends of cut lines.
    pub bytes_skipped: u64,
    /// Files that were moved away and replaced at the path.
    pub rotations: u64,
    /// Files emptied or rewritten in place (copytruncate).
    pub truncations: u64,
    /// Bytes of a half-written line lost because its file was truncated.
    pub partial_bytes_lost: u64,
    /// A saved position whose file could no longer be found: what followed
    /// it in that file was not read.
    pub resume_file_lost: u64,
}

/// An open file and the partial line read from it.
#[derive(Debug)]
struct Source {
    file: File,
    id: Identity,
    /// File offset of the next byte to read.
    read_pos: u64,
    /// Bytes after the last newline (at most `max_line_len`).
    partial: Vec<u8>,
    /// File offset just after the last complete line handed out.
    committed: u64,
    /// Inside a cut line, skipping to its newline.
    skipping: bool,
}

impl Source {
    fn open_at(
        file: File,
        path: &Path,
        offset: u64,
        skipping: bool,
    ) -> Result<Source, FollowError> {
        let mut file = file;
        let id = Identity::of(&mut file, path)?;
        file.seek(SeekFrom::Start(offset)).map_err(io(path))?;
        Ok(Source {
            file,
            id,
            read_pos: offset,
            partial: Vec::new(),
            committed: offset,
            skipping,
        })
    }

    fn position(&self) -> Position {
        Position {
            dev: self.id.dev,
            ino: self.id.ino,
            // While skipping a cut line's tail, everything read is consumed.
            offset: if self.skipping {
                self.read_pos
            } else {
                self.committed
            },
            head_len: self.id.head_len,
            head_hash: self.id.head_hash,
            in_cut_line: self.skipping,
        }
    }
}

/// Follows one path. See the crate documentation.
#[derive(Debug)]
pub struct Follower {
    path: PathBuf,
    cfg: FollowConfig,
    current: Option<Source>,
    /// A file rotated away while we were not running, to finish first.
    rotated: Option<Source>,
    stats: FollowStats,
    buf: Vec<u8>,
}

impl Follower {
    /// Starts following `path`. With a saved position, resumes right after
    /// the last line handed out before; without, reads the file from its
    /// beginning. The file need not exist yet.
    pub fn open(
        path: &Path,
        cfg: FollowConfig,
        saved: Option<Position>,
    ) -> Result<Follower, FollowError> {
        cfg.validate()?;
        let mut f = Follower {
            path: path.to_owned(),
            buf: vec![0; cfg.read_chunk],
            cfg,
            current: None,
            rotated: None,
            stats: FollowStats::default(),
        };
        f.resume(saved)?;
        Ok(f)
    }

    fn resume(&mut self, saved: Option<Position>) -> Result<(), FollowError> {
        let file = open_if_exists(&self.path)?;
        let Some(pos) = saved else {
            if let Some(file) = file {
                self.current = Some(Source::open_at(file, &self.path, 0, false)?);
            }
            return Ok(());
        };
        if let Some(mut file) = file {
            if matches_position(&mut file, &self.path, &pos)? {
                self.current = Some(Source::open_at(
                    file,
                    &self.path,
                    pos.offset,
                    pos.in_cut_line,
                )?);
                return Ok(());
            }
            let meta = file.metadata().map_err(io(&self.path))?;
            if (meta.dev(), meta.ino()) == (pos.dev, pos.ino) {
                self.stats.truncations += 1; // same file, rewritten while we were away
            }
            self.current = Some(Source::open_at(file, &self.path, 0, false)?);
        }
        match find_rotated(&self.path, &pos)? {
            Some((file, path)) => {
                self.rotated = Some(Source::open_at(file, &path, pos.offset, pos.in_cut_line)?);
            }
            None if self.stats.truncations == 0 => self.stats.resume_file_lost += 1,
            None => {}
        }
        Ok(())
    }

    /// Reads what has been written since the last call and returns the whole
    /// lines (at most `max_lines_per_poll`; call again for more). Never
    /// blocks on the file growing.
    pub fn poll(&mut self) -> Result<Vec<Line>, FollowError> {
        let mut out = Vec::new();
        if let Some(mut old) = self.rotated.take() {
            let eof = self.drain(&mut old, &mut out)?;
            if !eof {
                self.rotated = Some(old);
                return Ok(out);
            }
            self.finish(old, &mut out);
        }
        // Two rounds: the second reads the new file after a rotation.
        for _ in 0..2 {
            let mut cur = match self.current.take() {
                Some(cur) => cur,
                None => match open_if_exists(&self.path)? {
                    Some(file) => Source::open_at(file, &self.path, 0, false)?,
                    None => return Ok(out),
                },
            };
            self.check_truncation(&mut cur)?;
            if !self.drain(&mut cur, &mut out)? {
                self.current = Some(cur);
                return Ok(out);
            }
            if !self.replaced(&cur)? {
                self.current = Some(cur);
                return Ok(out);
            }
            // Rotated: catch what was written between our read and the
            // rename, then move on to the new file.
            if !self.drain(&mut cur, &mut out)? {
                self.rotated = Some(cur);
                return Ok(out);
            }
            self.stats.rotations += 1;
            self.finish(cur, &mut out);
        }
        Ok(out)
    }

    /// Where to resume after the last line handed out. Persist it with
    /// [`save_position`](crate::save_position) once those lines are safe.
    pub fn position(&self) -> Option<Position> {
        self.rotated
            .as_ref()
            .or(self.current.as_ref())
            .map(Source::position)
    }

    pub fn stats(&self) -> FollowStats {
        self.stats
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn config(&self) -> &FollowConfig {
        &self.cfg
    }

    /// A file read to its end that will not grow again: its half line, if
    /// any, becomes a last, unterminated line.
    fn finish(&mut self, src: Source, out: &mut Vec<Line>) {
        if !src.partial.is_empty() && !src.skipping {
            self.stats.lines += 1;
            out.push(Line {
                text: src.partial,
                cut: false,
                unterminated: true,
            });
        }
    }

    fn check_truncation(&mut self, src: &mut Source) -> Result<(), FollowError> {
        let len = src.file.metadata().map_err(io(&self.path))?.len();
        let same = len >= src.read_pos && src.id.same_file(&mut src.file, &self.path)?;
        if same {
            if (src.id.head_len as usize) < HEAD_MAX && len > u64::from(src.id.head_len) {
                src.id = Identity::of(&mut src.file, &self.path)?; // the head grew
            }
            return Ok(());
        }
        self.stats.truncations += 1;
        self.stats.partial_bytes_lost += src.partial.len() as u64;
        src.id = Identity::of(&mut src.file, &self.path)?;
        src.file.seek(SeekFrom::Start(0)).map_err(io(&self.path))?;
        src.read_pos = 0;
        src.committed = 0;
        src.partial.clear();
        src.skipping = false;
        Ok(())
    }

    /// Whether the path now names a different file than `src`.
    fn replaced(&self, src: &Source) -> Result<bool, FollowError> {
        match fs::metadata(&self.path) {
            Ok(m) => Ok((m.dev(), m.ino()) != (src.id.dev, src.id.ino)),
            // Moved away and not yet recreated: keep the old one.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(io(&self.path)(e)),
        }
    }

    /// Reads `src` to its current end, or until the poll's line budget is
    /// spent. Returns whether the end was reached.
    fn drain(&mut self, src: &mut Source, out: &mut Vec<Line>) -> Result<bool, FollowError> {
        loop {
            if out.len() >= self.cfg.max_lines_per_poll {
                return Ok(false);
            }
            let n = src.file.read(&mut self.buf).map_err(io(&self.path))?;
            if n == 0 {
                return Ok(true);
            }
            let used = self.feed(src, n, out);
            src.read_pos += used as u64;
            if used < n {
                // Line budget hit mid-chunk: the rest is read again next poll.
                src.file
                    .seek(SeekFrom::Start(src.read_pos))
                    .map_err(io(&self.path))?;
                return Ok(false);
            }
        }
    }

    /// Splits `self.buf[..n]` into lines; returns how many bytes it used.
    fn feed(&mut self, src: &mut Source, n: usize, out: &mut Vec<Line>) -> usize {
        let max = self.cfg.max_line_len;
        let mut at = 0;
        while at < n {
            if out.len() >= self.cfg.max_lines_per_poll {
                return at;
            }
            let rest = &self.buf[at..n];
            let nl = rest.iter().position(|&b| b == b'\n');
            let piece = &rest[..nl.unwrap_or(rest.len())];
            let step = piece.len() + usize::from(nl.is_some());
            let line_end = src.read_pos + (at + step) as u64;
            if src.skipping {
                self.stats.bytes_skipped += piece.len() as u64;
                if nl.is_some() {
                    src.skipping = false;
                    src.committed = line_end;
                }
            } else {
                let room = max - src.partial.len();
                src.partial
                    .extend_from_slice(&piece[..piece.len().min(room)]);
                if piece.len() > room {
                    // Too long: hand out the beginning, skip to the newline.
                    self.stats.lines_cut += 1;
                    self.stats.bytes_skipped += (piece.len() - room) as u64;
                    self.emit(src, out, true);
                    if nl.is_some() {
                        src.committed = line_end;
                    } else {
                        src.skipping = true;
                    }
                } else if nl.is_some() {
                    self.emit(src, out, false);
                    src.committed = line_end;
                }
            }
            at += step;
        }
        at
    }

    fn emit(&mut self, src: &mut Source, out: &mut Vec<Line>, cut: bool) {
        self.stats.lines += 1;
        let text = std::mem::take(&mut src.partial);
        out.push(Line {
            text,
            cut,
            unterminated: false,
        });
    }
}

fn open_if_exists(path: &Path) -> Result<Option<File>, FollowError> {
    match File::open(path) {
        Ok(f) => Ok(Some(f)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io(path)(e)),
    }
}

/// Whether `file` is the file `pos` was taken in, and still long enough.
fn matches_position(file: &mut File, path: &Path, pos: &Position) -> Result<bool, FollowError> {
    let meta = file.metadata().map_err(io(path))?;
    if (meta.dev(), meta.ino()) != (pos.dev, pos.ino) || meta.len() < pos.offset {
        return Ok(false);
    }
    let (len, hash) = head(file, path, pos.head_len as usize)?;
    Ok(len == pos.head_len && hash == pos.head_hash)
}

/// The file `pos` was taken in, if it still exists beside `path` under
/// another name (logrotate's `fw.log.1`, `fw.log-20260105`).
fn find_rotated(path: &Path, pos: &Position) -> Result<Option<(File, PathBuf)>, FollowError> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let entries = fs::read_dir(dir).map_err(io(dir))?;
    for entry in entries.flatten() {
        let candidate = entry.path();
        if candidate == path {
            continue;
        }
        let Ok(meta) = entry.metadata() else { continue };
        if !meta.is_file() || (meta.dev(), meta.ino()) != (pos.dev, pos.ino) {
            continue;
        }
        let Ok(mut file) = File::open(&candidate) else {
            continue;
        };
        if matches_position(&mut file, &candidate, pos)? {
            return Ok(Some((file, candidate)));
        }
    }
    Ok(None)
}
