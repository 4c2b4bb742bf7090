//! Opening one input file and recognising what it holds.

mod detect;
mod read;

use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

pub use detect::{Compression, InputFormat};
use read::{CountingReader, Prefixed};

/// How much of the start of an input is looked at to recognise it, and
/// hashed (with the size) to fingerprint it.
const SNIFF_BYTES: usize = 64 * 1024;
const FINGERPRINT_BYTES: usize = 1024 * 1024;

/// An input, opened and recognised, ready to be read from the start.
pub struct OpenedInput {
    /// What the user called it (`-` for standard input).
    pub label: String,
    pub format: InputFormat,
    pub compression: Compression,
    /// Size of the raw (possibly compressed) file, when it is a regular file.
    pub size: Option<u64>,
    /// Modification time in Unix seconds, when known (a log file's default
    /// year comes from it).
    pub modified_secs: Option<i64>,
    /// Identifies the content: a hash of the first MiB of raw bytes plus the
    /// size. The same file analyzed twice has the same fingerprint, so its
    /// batches are merged once (rule 3).
    pub fingerprint: String,
    /// Raw bytes read so far (for progress), shared with the reader.
    pub raw_bytes_read: Arc<AtomicU64>,
    /// The decompressed content, from its first byte.
    pub reader: Box<dyn Read + Send>,
}

impl std::fmt::Debug for OpenedInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenedInput")
            .field("label", &self.label)
            .field("format", &self.format)
            .field("compression", &self.compression)
            .field("size", &self.size)
            .field("fingerprint", &self.fingerprint)
            .finish_non_exhaustive()
    }
}

/// Why an input could not be opened or recognised.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InputError {
    #[error("{path}: cannot open: {source}")]
    Open {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{path}: is a directory, not a capture or log file")]
    Directory { path: PathBuf },
    #[error("{label}: empty input (0 bytes)")]
    Empty { label: String },
    #[error("{label}: {compression} stream is empty or corrupt at its start: {source}")]
    Compressed {
        label: String,
        compression: Compression,
        #[source]
        source: io::Error,
    },
    #[error("{label}: reading the first bytes failed: {source}")]
    Read {
        label: String,
        #[source]
        source: io::Error,
    },
    #[error(
        "{label}: unknown format: not pcap, pcapng or a netfilter (iptables/nftables) log; it starts with {start}"
    )]
    UnknownFormat { label: String, start: String },
}

/// Opens `path` (or standard input for `-`), undoes compression, and
/// recognises the format from the content.
pub fn open_input(path: &str) -> Result<OpenedInput, InputError> {
    let label = path.to_string();
    let (raw, size, modified_secs): (Box<dyn Read + Send>, Option<u64>, Option<i64>) =
        if path == "-" {
            (Box::new(io::stdin()), None, None)
        } else {
            let p = Path::new(path);
            let open_err = |source| InputError::Open {
                path: p.to_path_buf(),
                source,
            };
            let meta = std::fs::metadata(p).map_err(open_err)?;
            if meta.is_dir() {
                return Err(InputError::Directory {
                    path: p.to_path_buf(),
                });
            }
            let modified = meta
                .modified()
                .ok()
                .and_then(|m| m.duration_since(std::time::UNIX_EPOCH).ok())
                .map(|d| d.as_secs() as i64);
            let file = File::open(p).map_err(open_err)?;
            let size = meta.is_file().then_some(meta.len());
            (Box::new(file), size, modified)
        };

    let raw_bytes_read = Arc::new(AtomicU64::new(0));
    let counted = CountingReader::new(raw, Arc::clone(&raw_bytes_read));
    // Read the head once: it serves the fingerprint and compression sniffing,
    // and is replayed in front of the rest so stdin works too.
    let (head, rest) =
        read::read_head(counted, FINGERPRINT_BYTES).map_err(|source| InputError::Read {
            label: label.clone(),
            source,
        })?;
    if head.is_empty() {
        return Err(InputError::Empty { label });
    }
    let fingerprint = fingerprint(&head, size);
    let compression = Compression::sniff(&head);
    let raw_stream = Prefixed::new(head, rest);
    let decompressed: Box<dyn Read + Send> = match compression {
        Compression::None => Box::new(raw_stream),
        Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(raw_stream)),
        Compression::Zstd => {
            let dec = zstd::stream::read::Decoder::new(raw_stream).map_err(|source| {
                InputError::Compressed {
                    label: label.clone(),
                    compression,
                    source,
                }
            })?;
            Box::new(dec)
        }
    };
    let (content_head, content_rest) =
        read::read_head(decompressed, SNIFF_BYTES).map_err(|source| match compression {
            Compression::None => InputError::Read {
                label: label.clone(),
                source,
            },
            _ => InputError::Compressed {
                label: label.clone(),
                compression,
                source,
            },
        })?;
    if content_head.is_empty() {
        return Err(InputError::Empty { label });
    }
    let format = InputFormat::sniff(&content_head).ok_or_else(|| InputError::UnknownFormat {
        label: label.clone(),
        start: detect::describe_start(&content_head),
    })?;
    Ok(OpenedInput {
        label,
        format,
        compression,
        size,
        modified_secs,
        fingerprint,
        raw_bytes_read,
        reader: Box::new(Prefixed::new(content_head, content_rest)),
    })
}

fn fingerprint(head: &[u8], size: Option<u64>) -> String {
    let mut h = xxhash_rust::xxh3::Xxh3::new();
    h.update(head);
    h.update(&size.unwrap_or(u64::MAX).to_le_bytes());
    format!("{:032x}", h.digest128())
}

#[cfg(test)]
mod tests;
