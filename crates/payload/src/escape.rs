//! Rendering payload bytes so they are safe to print, log or put in a report.
//!
//! Payloads are attacker-controlled. Printing them raw would let a scanner
//! write terminal escape sequences into an operator's console or break a
//! Markdown table, so every byte outside printable ASCII becomes `\xNN` and the
//! backslash itself becomes `\\`. The rendering is reversible ([`unescape`]).

use std::fmt;

/// Displays bytes with printable ASCII (0x20..=0x7e) kept, `\` shown as `\\`
/// and every other byte as `\xNN` (lowercase hex).
///
/// ```
/// use portwatch_payload::Escaped;
/// assert_eq!(Escaped(b"GET / HTTP/1.1\r\n").to_string(), r"GET / HTTP/1.1\x0d\x0a");
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Escaped<'a>(pub &'a [u8]);

impl fmt::Display for Escaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use fmt::Write;
        let mut start = 0;
        for (i, &b) in self.0.iter().enumerate() {
            if is_plain(b) {
                continue;
            }
            // Printable runs are written in one call: all ASCII, so valid UTF-8.
            f.write_str(ascii_run(&self.0[start..i]))?;
            if b == b'\\' {
                f.write_str("\\\\")?;
            } else {
                f.write_str("\\x")?;
                f.write_char(hex_digit(b >> 4))?;
                f.write_char(hex_digit(b & 0x0f))?;
            }
            start = i + 1;
        }
        f.write_str(ascii_run(&self.0[start..]))
    }
}

/// The escaped rendering of `bytes` as a `String` (see [`Escaped`]).
pub fn escape_bytes(bytes: &[u8]) -> String {
    Escaped(bytes).to_string()
}

/// An escaped string that [`unescape`] could not read back.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("bad escape at character {position}: expected `\\\\` or `\\xNN`")]
pub struct UnescapeError {
    /// Byte offset of the offending backslash in the input string.
    pub position: usize,
}

/// The inverse of [`escape_bytes`]: `\\` and `\xNN` back to bytes, every other
/// character as its UTF-8 bytes.
pub fn unescape(s: &str) -> Result<Vec<u8>, UnescapeError> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'\\' {
            out.push(bytes[i]);
            i += 1;
            continue;
        }
        let err = UnescapeError { position: i };
        match bytes.get(i + 1) {
            Some(b'\\') => {
                out.push(b'\\');
                i += 2;
            }
            Some(b'x') => {
                let hi = bytes
                    .get(i + 2)
                    .and_then(|&c| hex_value(c))
                    .ok_or(err.clone())?;
                let lo = bytes.get(i + 3).and_then(|&c| hex_value(c)).ok_or(err)?;
                out.push(hi << 4 | lo);
                i += 4;
            }
            _ => return Err(err),
        }
    }
    Ok(out)
}

fn is_plain(b: u8) -> bool {
    (0x20..=0x7e).contains(&b) && b != b'\\'
}

fn ascii_run(run: &[u8]) -> &str {
    // Only called on runs of `is_plain` bytes, which are ASCII.
    std::str::from_utf8(run).unwrap_or_default()
}

fn hex_digit(n: u8) -> char {
    char::from(b"0123456789abcdef"[usize::from(n & 0x0f)])
}

fn hex_value(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn keeps_printable_and_escapes_the_rest() {
        assert_eq!(escape_bytes(b"\x1b[31mhi\\"), r"\x1b[31mhi\\");
        assert_eq!(escape_bytes(&[0xff, 0x00, b' ']), r"\xff\x00 ");
        assert_eq!(escape_bytes(b""), "");
    }

    #[test]
    fn unescape_rejects_dangling_backslash() {
        assert_eq!(unescape(r"ab\"), Err(UnescapeError { position: 2 }));
        assert_eq!(unescape(r"\xg0"), Err(UnescapeError { position: 0 }));
    }

    proptest! {
        #[test]
        fn round_trips_and_is_printable(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let shown = escape_bytes(&bytes);
            prop_assert!(shown.bytes().all(|b| (0x20..=0x7e).contains(&b)));
            prop_assert_eq!(unescape(&shown).unwrap(), bytes);
        }
    }
}
