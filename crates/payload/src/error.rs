//! Errors of the wire parsers and of signature loading.

use std::path::PathBuf;

/// Why a wire parser ([`parse_client_hello`](crate::parse_client_hello),
/// [`parse_ssh_client`](crate::parse_ssh_client)) returned nothing.
///
/// "Need more data" is kept apart from "this is not that protocol" so a
/// caller reading a stream knows whether waiting could help.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseError {
    /// The bytes so far are a valid beginning; the structure continues past
    /// the end of the input.
    #[error("incomplete: the {what} continues past the end of the input")]
    Incomplete { what: &'static str },
    /// The bytes cannot be the structure asked for.
    #[error("invalid {what} at byte {offset}")]
    Invalid { what: &'static str, offset: usize },
}

/// A signature file that cannot be used, with the place and key that is wrong.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SignatureError {
    #[error("cannot read signature file {path}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{origin}: not a valid signature file")]
    Toml {
        origin: String,
        #[source]
        source: Box<toml::de::Error>,
    },
    #[error("{origin}: signature `{signature}`: `{key}`: {reason}")]
    Invalid {
        origin: String,
        /// The signature's name, or `#N` (1-based) when the name itself is bad.
        signature: String,
        key: &'static str,
        reason: String,
    },
    #[error("{origin}: unsupported signature file version {version} (this build reads version 1)")]
    Version { origin: String, version: u32 },
}
