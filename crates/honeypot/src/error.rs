//! Errors of the honeypot.

use std::net::SocketAddr;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HoneypotError {
    #[error("honeypot config: `{key}`: {reason}")]
    Config { key: String, reason: String },
    #[error("cannot listen on {proto} {addr}")]
    Bind {
        proto: &'static str,
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
}
