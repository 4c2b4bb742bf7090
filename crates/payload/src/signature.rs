//! The payload signature file: loading, validation and matching.
//!
//! See the crate documentation for the file format. A file is read into
//! [`SignatureSet`] once; matching is then a pure function of
//! (protocol, port, payload).

use std::path::Path;

use regex::bytes::{Regex, RegexBuilder};
use serde::{Deserialize, Serialize};

use crate::SignatureError;
use crate::escape::escape_bytes;

/// The signature file shipped with portwatch (`data/signatures.toml`).
pub const BUILTIN_SIGNATURES: &str = include_str!("../data/signatures.toml");

/// Captured values longer than this are cut before escaping: a field is a
/// label for a report, not a copy of the payload.
const MAX_FIELD: usize = 256;
/// Bounds on compiled regexes so a careless signature cannot eat memory.
const REGEX_SIZE_LIMIT: usize = 1 << 20;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSpec {
    version: u32,
    #[serde(default, rename = "signature")]
    signatures: Vec<SignatureSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SignatureSpec {
    name: String,
    service: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    ports: Vec<u16>,
    #[serde(default)]
    proto: Transport,
    #[serde(default)]
    only_on_ports: bool,
    #[serde(default)]
    references: Vec<String>,
    #[serde(rename = "match")]
    patterns: Vec<PatternSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PatternSpec {
    hex: Option<String>,
    text: Option<String>,
    regex: Option<String>,
    offset: Option<usize>,
    #[serde(default)]
    optional: bool,
}

/// Which transport a signature applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Transport {
    #[default]
    Any,
    Tcp,
    Udp,
}

/// One compiled signature.
#[derive(Debug, Clone)]
pub struct Signature {
    pub name: String,
    /// The service the payload is meant for (`http`, `smb`, `redis`, ...).
    pub service: String,
    pub description: String,
    /// The ports the service usually listens on.
    pub ports: Vec<u16>,
    pub proto: Transport,
    /// Match only on `ports` (for short, ambiguous patterns).
    pub only_on_ports: bool,
    pub references: Vec<String>,
    patterns: Vec<Pattern>,
}

#[derive(Debug, Clone)]
struct Pattern {
    matcher: Matcher,
    optional: bool,
}

#[derive(Debug, Clone)]
enum Matcher {
    /// Bytes at an exact offset, or anywhere when `offset` is `None`.
    Literal {
        bytes: Vec<u8>,
        offset: Option<usize>,
    },
    Regex(Regex),
}

/// A signature that matched a payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Match {
    pub signature: String,
    pub service: String,
    /// Whether the payload arrived on one of the service's usual ports. A
    /// web request on TCP 5168 says more than one on TCP 80.
    pub on_usual_port: bool,
    /// Named regex captures (`method`, `user_agent`, `mstshash`, ...),
    /// escaped and cut to 256 bytes.
    pub fields: Vec<(String, String)>,
}

/// An ordered list of compiled signatures. Order matters only for
/// [`Analysis::primary`](crate::Analysis::primary): put specific signatures
/// before general ones.
#[derive(Debug, Clone)]
pub struct SignatureSet {
    signatures: Vec<Signature>,
}

impl SignatureSet {
    /// The signatures shipped in the crate's `data/signatures.toml`.
    pub fn builtin() -> Result<SignatureSet, SignatureError> {
        Self::from_toml_str(BUILTIN_SIGNATURES, "builtin signatures")
    }

    /// Reads a signature file from disk.
    pub fn load(path: &Path) -> Result<SignatureSet, SignatureError> {
        let text = std::fs::read_to_string(path).map_err(|source| SignatureError::Io {
            path: path.to_owned(),
            source,
        })?;
        Self::from_toml_str(&text, &path.display().to_string())
    }

    /// Parses and validates a signature file; `origin` names it in errors.
    pub fn from_toml_str(text: &str, origin: &str) -> Result<SignatureSet, SignatureError> {
        let spec: FileSpec = toml::from_str(text).map_err(|e| SignatureError::Toml {
            origin: origin.to_owned(),
            source: Box::new(e),
        })?;
        if spec.version != 1 {
            return Err(SignatureError::Version {
                origin: origin.to_owned(),
                version: spec.version,
            });
        }
        let mut signatures: Vec<Signature> = Vec::with_capacity(spec.signatures.len());
        for (i, s) in spec.signatures.into_iter().enumerate() {
            let sig = compile(s, i, origin)?;
            if signatures.iter().any(|o| o.name == sig.name) {
                return Err(invalid(
                    origin,
                    &sig.name,
                    "name",
                    "duplicate signature name".into(),
                ));
            }
            signatures.push(sig);
        }
        Ok(SignatureSet { signatures })
    }

    pub fn signatures(&self) -> &[Signature] {
        &self.signatures
    }

    pub fn get(&self, name: &str) -> Option<&Signature> {
        self.signatures.iter().find(|s| s.name == name)
    }

    /// Every signature that matches `payload` received on `proto`/`port`, in
    /// file order. An empty payload matches nothing.
    pub fn matches(&self, proto: Transport, port: u16, payload: &[u8]) -> Vec<Match> {
        if payload.is_empty() {
            return Vec::new();
        }
        self.signatures
            .iter()
            .filter_map(|s| s.check(proto, port, payload))
            .collect()
    }
}

impl Signature {
    fn check(&self, proto: Transport, port: u16, payload: &[u8]) -> Option<Match> {
        if self.proto != Transport::Any && proto != Transport::Any && self.proto != proto {
            return None;
        }
        let on_usual_port = self.ports.contains(&port);
        if self.only_on_ports && !on_usual_port {
            return None;
        }
        let mut fields = Vec::new();
        for p in &self.patterns {
            let hit = p.matcher.find(payload, &mut fields);
            if !hit && !p.optional {
                return None;
            }
        }
        Some(Match {
            signature: self.name.clone(),
            service: self.service.clone(),
            on_usual_port,
            fields,
        })
    }
}

impl Matcher {
    fn find(&self, payload: &[u8], fields: &mut Vec<(String, String)>) -> bool {
        match self {
            Matcher::Literal {
                bytes,
                offset: Some(off),
            } => off
                .checked_add(bytes.len())
                .and_then(|end| payload.get(*off..end))
                .is_some_and(|got| got == bytes.as_slice()),
            Matcher::Literal {
                bytes,
                offset: None,
            } => payload.windows(bytes.len()).any(|w| w == bytes.as_slice()),
            Matcher::Regex(re) => {
                let Some(caps) = re.captures(payload) else {
                    return false;
                };
                for name in re.capture_names().flatten() {
                    if let Some(m) = caps.name(name) {
                        let v = m.as_bytes();
                        fields.push((name.to_owned(), escape_bytes(&v[..v.len().min(MAX_FIELD)])));
                    }
                }
                true
            }
        }
    }
}

fn compile(s: SignatureSpec, index: usize, origin: &str) -> Result<Signature, SignatureError> {
    let valid_name = !s.name.is_empty()
        && s.name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !valid_name {
        let label = format!("#{}", index + 1);
        return Err(invalid(
            origin,
            &label,
            "name",
            "use letters, digits, `-` and `_`".into(),
        ));
    }
    if s.service.is_empty() {
        return Err(invalid(
            origin,
            &s.name,
            "service",
            "must not be empty".into(),
        ));
    }
    if s.only_on_ports && s.ports.is_empty() {
        return Err(invalid(
            origin,
            &s.name,
            "only_on_ports",
            "needs a `ports` list".into(),
        ));
    }
    if !s.patterns.iter().any(|p| !p.optional) {
        return Err(invalid(
            origin,
            &s.name,
            "match",
            "needs at least one non-optional pattern".into(),
        ));
    }
    let mut patterns = Vec::with_capacity(s.patterns.len());
    for p in s.patterns {
        let matcher =
            compile_pattern(&p).map_err(|(key, reason)| invalid(origin, &s.name, key, reason))?;
        patterns.push(Pattern {
            matcher,
            optional: p.optional,
        });
    }
    Ok(Signature {
        name: s.name,
        service: s.service,
        description: s.description,
        ports: s.ports,
        proto: s.proto,
        only_on_ports: s.only_on_ports,
        references: s.references,
        patterns,
    })
}

fn compile_pattern(p: &PatternSpec) -> Result<Matcher, (&'static str, String)> {
    match (&p.hex, &p.text, &p.regex) {
        (Some(h), None, None) => {
            let bytes = parse_hex(h).ok_or(("match.hex", format!("`{h}` is not hex bytes")))?;
            Ok(Matcher::Literal {
                bytes,
                offset: p.offset,
            })
        }
        (None, Some(t), None) if !t.is_empty() => Ok(Matcher::Literal {
            bytes: t.as_bytes().to_vec(),
            offset: p.offset,
        }),
        (None, None, Some(r)) => {
            if p.offset.is_some() {
                return Err(("match.offset", "anchor a regex with `\\A` instead".into()));
            }
            // Unicode off: payloads are bytes, `\xff` means the byte 0xff
            // and `.` any byte but `\n`.
            RegexBuilder::new(r)
                .unicode(false)
                .size_limit(REGEX_SIZE_LIMIT)
                .dfa_size_limit(REGEX_SIZE_LIMIT)
                .build()
                .map(Matcher::Regex)
                .map_err(|e| ("match.regex", e.to_string()))
        }
        _ => Err((
            "match",
            "give exactly one of `hex`, `text` (non-empty) or `regex`".into(),
        )),
    }
}

/// Hex bytes, spaces allowed between them (`"ff 53 4d 42"`).
fn parse_hex(s: &str) -> Option<Vec<u8>> {
    let digits: Vec<u8> = s.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    if digits.is_empty()
        || !digits.len().is_multiple_of(2)
        || !digits.iter().all(u8::is_ascii_hexdigit)
    {
        return None;
    }
    digits
        .chunks_exact(2)
        .map(|pair| u8::from_str_radix(std::str::from_utf8(pair).ok()?, 16).ok())
        .collect()
}

fn invalid(origin: &str, signature: &str, key: &'static str, reason: String) -> SignatureError {
    SignatureError::Invalid {
        origin: origin.to_owned(),
        signature: signature.to_owned(),
        key,
        reason,
    }
}

#[cfg(test)]
mod tests;
