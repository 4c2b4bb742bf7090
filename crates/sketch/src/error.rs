//! What can be wrong with serialized summary bytes.

/// Why bytes could not be read back into a summary.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SketchError {
    /// The input ended before a field was complete.
    #[error("truncated: {what} needs {needed} bytes at offset {offset}, only {available} left")]
    Truncated {
        what: &'static str,
        offset: usize,
        needed: usize,
        available: usize,
    },
    /// The first byte names a format this build does not read.
    #[error("unsupported sketch format version {found} (this build reads version {supported})")]
    Version { found: u8, supported: u8 },
    /// The kind byte belongs to another summary type or to none.
    #[error("not a {expected}: kind byte {found:#04x}")]
    Kind { expected: &'static str, found: u8 },
    /// A field was read completely but its value breaks the format's rules.
    #[error("invalid {what} at offset {offset}: {reason}")]
    Invalid {
        what: &'static str,
        offset: usize,
        reason: &'static str,
    },
    /// Bytes remain after a complete summary.
    #[error("{count} trailing bytes after the summary at offset {offset}")]
    Trailing { offset: usize, count: usize },
}
