//! Everything portwatch can say about one payload, in one owned value that
//! can travel on a channel and be serialised.

use serde::Serialize;
use xxhash_rust::xxh3::xxh3_64;

use crate::escape::escape_bytes;
use crate::signature::{Match, SignatureSet, Transport};
use crate::{SshFingerprint, parse_client_hello, parse_ssh_client};

/// The result of [`SignatureSet::analyze`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Analysis {
    /// xxh3-64 of the payload bytes: the key identical payloads cluster on.
    pub hash: u64,
    pub len: usize,
    /// Matching signatures in file order (most specific first).
    pub matches: Vec<Match>,
    pub tls: Option<TlsSummary>,
    pub ssh: Option<SshSummary>,
}

/// What a TLS ClientHello says about its client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TlsSummary {
    pub ja4: String,
    /// Highest version offered (0x0304 is TLS 1.3).
    pub version: u16,
    /// The requested server name, escaped.
    pub sni: Option<String>,
    /// The first ALPN protocol, escaped.
    pub alpn: Option<String>,
}

/// What an SSH client's first bytes say about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SshSummary {
    /// The identification line, escaped.
    pub banner: String,
    pub fingerprint: SshFingerprint,
}

impl Analysis {
    /// The most specific matching signature's name (the first in file order).
    pub fn primary(&self) -> Option<&str> {
        self.matches.first().map(|m| m.signature.as_str())
    }

    /// Whether the signature named `name` matched.
    pub fn matched(&self, name: &str) -> bool {
        self.matches.iter().any(|m| m.signature == name)
    }
}

impl SignatureSet {
    /// Matches signatures and runs the fingerprinting parsers (JA4 for TLS,
    /// HASSH for SSH) over one payload. Never panics, whatever the bytes.
    ///
    /// ```
    /// use portwatch_payload::{SignatureSet, Transport};
    /// let sigs = SignatureSet::builtin().unwrap();
    /// let a = sigs.analyze(Transport::Tcp, 6379, b"*1\r\n$4\r\nINFO\r\n");
    /// assert_eq!(a.primary(), Some("redis-resp"));
    /// ```
    pub fn analyze(&self, proto: Transport, port: u16, payload: &[u8]) -> Analysis {
        let tls = parse_client_hello(payload).ok().map(|h| TlsSummary {
            ja4: h.ja4(),
            version: h.version(),
            sni: h.sni.map(escape_bytes),
            alpn: h.alpn_first.map(escape_bytes),
        });
        let ssh = parse_ssh_client(payload).ok().map(|c| SshSummary {
            banner: escape_bytes(c.banner),
            fingerprint: c.fingerprint(),
        });
        Analysis {
            hash: xxh3_64(payload),
            len: payload.len(),
            matches: self.matches(proto, port, payload),
            tls,
            ssh,
        }
    }
}
