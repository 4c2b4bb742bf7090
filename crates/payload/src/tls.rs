//! TLS ClientHello parsing and the JA4 client fingerprint.
//!
//! Scanners that speak TLS (masscan's `--hello ssl`, zgrab, nmap's
//! `ssl-enum-ciphers`, botnets probing 443/8443) each send a recognisable
//! ClientHello; JA4 names it in a form that survives the ordering tricks
//! browsers play (extensions are sorted before hashing).

use sha2::{Digest, Sha256};

use crate::ParseError;
use crate::reader::{Reader, hex, u16s};

const EXT_SNI: u16 = 0x0000;
const EXT_ALPN: u16 = 0x0010;
const EXT_SIG_ALGS: u16 = 0x000d;
const EXT_SUPPORTED_VERSIONS: u16 = 0x002b;

/// A parsed ClientHello. The lists borrow the input; iterate them with the
/// accessor methods (GREASE values are kept there and skipped by JA4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientHello<'a> {
    /// The version in the record header (often 0x0301 for compatibility).
    pub record_version: u16,
    /// The `legacy_version` field of the hello itself.
    pub legacy_version: u16,
    ciphers: &'a [u8],
    extensions: &'a [u8],
    /// The first host name of the server_name extension, if any.
    pub sni: Option<&'a [u8]>,
    /// Whether a server_name extension is present (even an unreadable one).
    pub has_sni: bool,
    /// The first protocol of the ALPN extension, if any.
    pub alpn_first: Option<&'a [u8]>,
    supported_versions: &'a [u8],
    sig_algs: &'a [u8],
}

/// Parses a TLS record carrying a ClientHello (the first bytes a TLS client
/// sends). Only the first record is read; a hello longer than the input is
/// [`ParseError::Incomplete`].
///
/// ```
/// let not_tls = portwatch_payload::parse_client_hello(b"GET / HTTP/1.1\r\n");
/// assert!(not_tls.is_err());
/// ```
pub fn parse_client_hello(data: &[u8]) -> Result<ClientHello<'_>, ParseError> {
    let incomplete = ParseError::Incomplete {
        what: "TLS ClientHello",
    };
    let mut r = Reader::new(data);
    let content_type = r.u8().map_err(|_| incomplete)?;
    if content_type != 0x16 {
        return Err(invalid("TLS handshake record type", 0));
    }
    let record_version = r.u16().map_err(|_| incomplete)?;
    if record_version >> 8 != 0x03 {
        return Err(invalid("TLS record version", 1));
    }
    let record_len = usize::from(r.u16().map_err(|_| incomplete)?);
    let msg_type = r.u8().map_err(|_| incomplete)?;
    if msg_type != 0x01 {
        return Err(invalid("TLS handshake type (not ClientHello)", 5));
    }
    let body_len = r.u24().map_err(|_| incomplete)?;
    if body_len + 4 > record_len {
        // A hello spread over several records: rare from scanners, and the
        // first record alone cannot be fingerprinted reliably.
        return Err(incomplete);
    }
    let body = r.take(body_len).map_err(|_| incomplete)?;
    parse_body(record_version, body, 9)
}

fn parse_body(
    record_version: u16,
    body: &[u8],
    base: usize,
) -> Result<ClientHello<'_>, ParseError> {
    let mut r = Reader::new(body);
    let bad = |what, r: &Reader<'_>| invalid(what, base + r.pos());
    let legacy_version = r.u16().map_err(|_| bad("ClientHello version", &r))?;
    r.take(32).map_err(|_| bad("ClientHello random", &r))?;
    r.vec8().map_err(|_| bad("ClientHello session id", &r))?;
    let ciphers = r
        .vec16()
        .map_err(|_| bad("ClientHello cipher suites", &r))?;
    if !ciphers.len().is_multiple_of(2) {
        return Err(bad("ClientHello cipher suites", &r));
    }
    r.vec8()
        .map_err(|_| bad("ClientHello compression methods", &r))?;
    let mut hello = ClientHello {
        record_version,
        legacy_version,
        ciphers,
        extensions: &[],
        sni: None,
        has_sni: false,
        alpn_first: None,
        supported_versions: &[],
        sig_algs: &[],
    };
    if r.is_empty() {
        return Ok(hello); // SSLv3-style hello without extensions
    }
    let ext_offset = base + r.pos() + 2;
    hello.extensions = r
        .vec16()
        .map_err(|_| bad("ClientHello extensions length", &r))?;
    read_extensions(&mut hello, ext_offset)?;
    Ok(hello)
}

fn read_extensions(hello: &mut ClientHello<'_>, base: usize) -> Result<(), ParseError> {
    let mut r = Reader::new(hello.extensions);
    while !r.is_empty() {
        let at = base + r.pos();
        let (ty, data) = r
            .u16()
            .and_then(|ty| Ok((ty, r.vec16()?)))
            .map_err(|_| invalid("TLS extension", at))?;
        let body_err = |_| invalid("TLS extension body", at);
        match ty {
            EXT_SNI => {
                hello.has_sni = true;
                hello.sni = first_host_name(data);
            }
            EXT_ALPN => {
                let mut e = Reader::new(data);
                let list = e.vec16().map_err(body_err)?;
                hello.alpn_first = Reader::new(list).vec8().ok();
            }
            EXT_SUPPORTED_VERSIONS => {
                hello.supported_versions = Reader::new(data).vec8().map_err(body_err)?;
            }
            EXT_SIG_ALGS => {
                hello.sig_algs = Reader::new(data).vec16().map_err(body_err)?;
            }
            _ => {}
        }
    }
    Ok(())
}

fn first_host_name(data: &[u8]) -> Option<&[u8]> {
    let mut list = Reader::new(Reader::new(data).vec16().ok()?);
    while !list.is_empty() {
        let kind = list.u8().ok()?;
        let name = list.vec16().ok()?;
        if kind == 0 {
            return Some(name);
        }
    }
    None
}

fn invalid(what: &'static str, offset: usize) -> ParseError {
    ParseError::Invalid { what, offset }
}

/// GREASE values (RFC 8701) are random placeholders; fingerprints skip them.
pub fn is_grease(v: u16) -> bool {
    v & 0x0f0f == 0x0a0a && v >> 8 == v & 0xff
}

impl ClientHello<'_> {
    /// Cipher suites in the order offered.
    pub fn ciphers(&self) -> impl Iterator<Item = u16> + '_ {
        u16s(self.ciphers)
    }

    /// Extension types in the order sent.
    pub fn extension_types(&self) -> impl Iterator<Item = u16> + '_ {
        let mut r = Reader::new(self.extensions);
        // The block was validated by the parser; a read error just ends it.
        std::iter::from_fn(move || {
            let ty = r.u16().ok()?;
            r.vec16().ok()?;
            Some(ty)
        })
    }

    /// The supported_versions extension's list (empty when absent).
    pub fn supported_versions(&self) -> impl Iterator<Item = u16> + '_ {
        u16s(self.supported_versions)
    }

    /// The signature_algorithms extension's list, in the order sent.
    pub fn signature_algorithms(&self) -> impl Iterator<Item = u16> + '_ {
        u16s(self.sig_algs)
    }

    /// The highest version offered: from supported_versions when present
    /// (TLS 1.3 hides there), else the hello's own version.
    pub fn version(&self) -> u16 {
        self.supported_versions()
            .filter(|v| !is_grease(*v))
            .max()
            .unwrap_or(self.legacy_version)
    }

    /// The JA4 fingerprint (FoxIO's spec), e.g. `t13d1516h2_8daaf6152771_d8a2da3f94cd`.
    pub fn ja4(&self) -> String {
        let (a, ciphers, exts) = self.ja4_parts();
        format!("{a}_{}_{}", hash12(&ciphers), hash12(&exts))
    }

    /// The unhashed form (`ja4_r`): the same prefix, then the sorted lists
    /// themselves. Useful for explaining a fingerprint and for tests.
    pub fn ja4_r(&self) -> String {
        let (a, ciphers, exts) = self.ja4_parts();
        format!("{a}_{ciphers}_{exts}")
    }

    fn ja4_parts(&self) -> (String, String, String) {
        let mut ciphers: Vec<u16> = self.ciphers().filter(|c| !is_grease(*c)).collect();
        let all_exts: Vec<u16> = self.extension_types().filter(|e| !is_grease(*e)).collect();
        let a = format!(
            "t{}{}{:02}{:02}{}",
            version_code(self.version()),
            if self.has_sni { 'd' } else { 'i' },
            ciphers.len().min(99),
            all_exts.len().min(99),
            alpn_code(self.alpn_first),
        );
        ciphers.sort_unstable();
        let mut exts: Vec<u16> = all_exts
            .into_iter()
            .filter(|e| *e != EXT_SNI && *e != EXT_ALPN)
            .collect();
        exts.sort_unstable();
        let mut ext_list = hex_list(exts.iter().copied());
        let sig_algs: Vec<u16> = self
            .signature_algorithms()
            .filter(|s| !is_grease(*s))
            .collect();
        if !sig_algs.is_empty() && !ext_list.is_empty() {
            ext_list.push('_');
            ext_list.push_str(&hex_list(sig_algs.into_iter()));
        }
        (a, hex_list(ciphers.into_iter()), ext_list)
    }
}

fn version_code(v: u16) -> &'static str {
    match v {
        0x0304 => "13",
        0x0303 => "12",
        0x0302 => "11",
        0x0301 => "10",
        0x0300 => "s3",
        0x0002 => "s2",
        0xfeff => "d1",
        0xfefd => "d2",
        0xfefc => "d3",
        _ => "00",
    }
}

fn alpn_code(first: Option<&[u8]>) -> String {
    let Some(value) = first.filter(|v| !v.is_empty()) else {
        return "00".to_owned();
    };
    let (head, tail) = (value[0], value[value.len() - 1]);
    if head.is_ascii_alphanumeric() && tail.is_ascii_alphanumeric() {
        return format!("{}{}", char::from(head), char::from(tail));
    }
    // The spec's rule for binary ALPN values: first and last hex digit.
    let h = hex(&[head, tail]);
    let bytes = h.as_bytes();
    format!("{}{}", char::from(bytes[0]), char::from(bytes[3]))
}

fn hex_list(values: impl Iterator<Item = u16>) -> String {
    values
        .map(|v| format!("{v:04x}"))
        .collect::<Vec<_>>()
        .join(",")
}

fn hash12(list: &str) -> String {
    if list.is_empty() {
        return "000000000000".to_owned();
    }
    let digest = Sha256::digest(list.as_bytes());
    hex(&digest[..6])
}

#[cfg(test)]
mod tests;
