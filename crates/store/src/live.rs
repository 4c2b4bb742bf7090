//! What a long-running sensor stores beside its batches: payload samples
//! from the honeypot, clustered per (protocol, port, payload hash), and
//! checkpoints (where each followed log stopped), both committed in the
//! transaction of the batch they belong to.

use std::net::IpAddr;

use portwatch_core::{PortKey, Proto};
use serde::Serialize;

/// Longest payload prefix a cluster keeps. The hash names the whole
/// payload; the bytes are for humans and for re-matching signatures.
pub const PAYLOAD_BYTES_KEPT: usize = 1024;

/// Distinct sources a cluster remembers; beyond that the count is a floor
/// ([`PayloadCluster::sources_capped`]).
pub const PAYLOAD_SOURCES_KEPT: usize = 256;

/// One payload a honeypot received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayloadSample {
    pub port: PortKey,
    /// Hash of the whole payload (`portwatch_payload::Analysis::hash`).
    pub hash: u64,
    /// Unix seconds.
    pub ts: i64,
    pub src: IpAddr,
    /// Names of the signatures it matched, best first.
    pub signatures: Vec<String>,
    /// The payload (the store keeps at most [`PAYLOAD_BYTES_KEPT`] bytes).
    pub bytes: Vec<u8>,
    /// The payload's full length.
    pub len: u64,
}

/// What a live sensor commits with a batch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LiveExtras {
    pub payloads: Vec<PayloadSample>,
    /// `(name, value)` pairs kept per stream, replacing earlier values of
    /// the same name: e.g. a followed log's position.
    pub checkpoints: Vec<(String, String)>,
}

/// Identical payloads on one port.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PayloadCluster {
    pub proto: Proto,
    pub port: u16,
    /// The payload hash, 16 hex digits.
    pub hash: String,
    pub first_seen: i64,
    pub last_seen: i64,
    pub count: u64,
    /// Distinct sources, exact up to [`PAYLOAD_SOURCES_KEPT`].
    pub sources: u64,
    pub sources_capped: bool,
    pub signatures: Vec<String>,
    pub len: u64,
    #[serde(skip)]
    pub bytes: Vec<u8>,
}

/// Which clusters to read.
#[derive(Debug, Clone, Default)]
pub struct PayloadsQuery {
    /// One port, or all.
    pub port: Option<PortKey>,
    /// Most frequent first; at most this many (0: all).
    pub limit: usize,
}
