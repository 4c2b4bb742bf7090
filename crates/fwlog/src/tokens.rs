//! Splitting the netfilter part of a line into `KEY=value` fields and bare
//! words in one pass over its bytes, with names packed into integers so
//! that telling `SRC` from `SPT` is one comparison, not a string compare.

/// A name (a key, or a bare word) packed with its length. Names longer than
/// 15 bytes pack to 0, which no known name equals.
pub(crate) const fn name(s: &[u8]) -> u128 {
    if s.len() > 15 {
        return 0;
    }
    let mut v = (s.len() as u128) << 120;
    let mut i = 0;
    while i < s.len() {
        v |= (s[i] as u128) << (8 * i);
        i += 1;
    }
    v
}

/// [`name`] of `s[..len]`, the fast way for the hot path: one 16-byte load
/// and a mask while `s` has 16 bytes left, a copy near the end of the line.
fn name_of(s: &[u8], len: usize) -> u128 {
    if len > 15 {
        return 0;
    }
    let mask = (1u128 << (8 * len)) - 1;
    let bytes = match s.first_chunk::<16>() {
        Some(chunk) => u128::from_le_bytes(*chunk),
        None => {
            let mut buf = [0u8; 16];
            buf[..len].copy_from_slice(&s[..len]);
            u128::from_le_bytes(buf)
        }
    };
    bytes & mask | (len as u128) << 120
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Tok<'a> {
    /// [`name`] of the key, or of the whole word when there is no `=`.
    pub name: u128,
    /// What follows the first `=`, if there is one.
    pub value: Option<&'a str>,
    /// The whole token.
    pub text: &'a str,
}

#[derive(Debug, Clone)]
pub(crate) struct Tokens<'a> {
    s: &'a str,
    i: usize,
}

impl<'a> Tokens<'a> {
    pub fn new(s: &'a str) -> Self {
        Tokens { s, i: 0 }
    }
}

impl<'a> Iterator for Tokens<'a> {
    type Item = Tok<'a>;

    fn next(&mut self) -> Option<Tok<'a>> {
        let b = self.s.as_bytes();
        let start = self.i + b.get(self.i..)?.iter().position(|&c| c != b' ')?;
        let rest = &b[start..];
        let name_len = rest
            .iter()
            .position(|&c| c == b' ' || c == b'=')
            .unwrap_or(rest.len());
        let name = name_of(rest, name_len);
        let mut end = start + name_len;
        let has_value = b.get(end) == Some(&b'=');
        if has_value {
            let value = &b[end + 1..];
            // Most values are a few digits; MAC= and IPv6 addresses are
            // long enough for a vectorised search to pay off.
            let short = &value[..value.len().min(8)];
            let len = match short.iter().position(|&c| c == b' ') {
                Some(k) => k,
                None => memchr::memchr(b' ', value).unwrap_or(value.len()),
            };
            end += 1 + len;
        }
        self.i = end;
        // Cuts fall next to ASCII bytes (space, '=') or at the ends, so
        // these slices are on character boundaries and `get` never fails.
        Some(Tok {
            name,
            value: if has_value {
                Some(self.s.get(start + name_len + 1..end)?)
            } else {
                None
            },
            text: self.s.get(start..end)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_fields_and_words() {
        let toks: Vec<Tok<'_>> = Tokens::new("  IN=eth0 OUT= SYN  OPT (0204) a=b=c é=ü").collect();
        let texts: Vec<&str> = toks.iter().map(|t| t.text).collect();
        assert_eq!(
            texts,
            ["IN=eth0", "OUT=", "SYN", "OPT", "(0204)", "a=b=c", "é=ü"]
        );
        assert_eq!((toks[0].name, toks[0].value), (name(b"IN"), Some("eth0")));
        assert_eq!((toks[1].name, toks[1].value), (name(b"OUT"), Some("")));
        assert_eq!((toks[2].name, toks[2].value), (name(b"SYN"), None));
        assert_eq!(toks[5].value, Some("b=c"));
        assert_eq!(
            (toks[6].name, toks[6].value),
            (name("é".as_bytes()), Some("ü"))
        );
        assert_eq!(Tokens::new("   ").next(), None);
    }

    #[test]
    fn both_packings_agree() {
        for s in [
            "",
            "IN",
            "HOPLIMIT",
            "INCOMPLETE",
            "fifteen_bytes_x",
            "sixteen_bytes_xx",
            "é",
        ] {
            let b = s.as_bytes();
            assert_eq!(name_of(b, b.len()), name(b), "{s}");
            let long = format!("{s}=value and more than sixteen bytes");
            assert_eq!(name_of(long.as_bytes(), b.len()), name(b), "{s}");
        }
    }

    #[test]
    fn names_are_distinct() {
        assert_ne!(name(b"SRC"), name(b"SRC\0"));
        assert_ne!(name(b"ACK"), name(b"ACK "));
        assert_eq!(name(b"A_NAME_LONGER_THAN_15"), 0);
        assert_ne!(name(b"HOPLIMIT"), name(b"HOPLIMI"));
        assert_ne!(name(b"INCOMPLETE"), 0);
    }
}
