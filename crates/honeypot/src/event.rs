//! What the honeypot reports: one event per connection or datagram.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use portwatch_core::{Class, Event, Fingerprint, PortKey, Proto, Timestamp};
use portwatch_payload::{Analysis, SignatureSet, escape_bytes};
use serde::{Serialize, Serializer};
use tokio::sync::mpsc;

use crate::Limits;
use crate::limits::{ConnLimiter, ReplyBudget};
use crate::stats::Stats;

/// How a connection or datagram ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Outcome {
    /// The client closed its side.
    ClientClosed,
    /// The client sent something, then nothing more for `idle_after_data_ms`.
    Idle,
    /// `connection_timeout_ms` passed.
    Timeout,
    /// `max_bytes` were read; the rest was not.
    LimitReached,
    /// Refused: `max_connections` open already.
    RefusedBusy,
    /// Refused: `max_connections_per_source` open from this source.
    RefusedSource,
    /// A read or write failed (reset by the peer, mostly).
    Error,
    /// A UDP datagram.
    Datagram,
}

/// One TCP connection or UDP datagram seen by the honeypot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HoneypotEvent {
    /// When the connection was accepted or the datagram received.
    pub ts: Timestamp,
    pub proto: Proto,
    pub src: SocketAddr,
    /// Where the client sent it: the original destination when an nftables
    /// redirect brought it here (`SO_ORIGINAL_DST`), else the listener. For
    /// UDP this is the listening socket's address, so a listener on a
    /// wildcard address reports the unspecified address with the right port.
    pub dst: SocketAddr,
    /// `dst` came from `SO_ORIGINAL_DST` and differs from the listener.
    pub redirected: bool,
    /// The first bytes the client sent (at most `max_bytes`); serialised
    /// escaped, so JSON output is safe to display.
    #[serde(serialize_with = "escaped")]
    pub payload: Vec<u8>,
    /// The client sent `max_bytes` or more (the payload is its beginning).
    pub payload_cut: bool,
    pub outcome: Outcome,
    pub duration_ms: u64,
    /// Signature matches and fingerprints; `None` for an empty payload.
    pub analysis: Option<Analysis>,
}

impl HoneypotEvent {
    /// The series this event counts in.
    pub fn key(&self) -> PortKey {
        PortKey::new(self.proto, self.dst.port())
    }

    /// The same observation as the pipeline's [`Event`], so honeypot hits
    /// aggregate like captured probes: a completed handshake or a datagram
    /// is a probe of `dst`'s port. Header fields a socket cannot see (TTL,
    /// IP ID, sequence numbers) are zero, as for firewall log lines.
    pub fn as_event(&self) -> Event<'_> {
        Event {
            ts: self.ts,
            src: self.src.ip(),
            dst: self.dst.ip(),
            proto: Some(self.proto),
            sport: self.src.port(),
            dport: self.dst.port(),
            class: Class::Probe,
            key: Some(self.key()),
            ip_len: 0,
            fp: Fingerprint::default(),
            tcp_options: &[],
            payload: &self.payload,
        }
    }
}

fn escaped<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&escape_bytes(bytes))
}

pub(crate) fn now() -> Timestamp {
    let d = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    Timestamp::from_nanos(i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}

/// What every listener task shares.
#[derive(Debug)]
pub(crate) struct Shared {
    pub limits: Limits,
    pub signatures: Arc<SignatureSet>,
    pub stats: Arc<Stats>,
    pub limiter: Arc<ConnLimiter>,
    pub budget: ReplyBudget,
    pub tx: mpsc::Sender<HoneypotEvent>,
}

impl Shared {
    pub(crate) fn analyze(&self, proto: Proto, port: u16, payload: &[u8]) -> Option<Analysis> {
        if payload.is_empty() {
            return None;
        }
        let transport = match proto {
            Proto::Udp => portwatch_payload::Transport::Udp,
            _ => portwatch_payload::Transport::Tcp,
        };
        Some(self.signatures.analyze(transport, port, payload))
    }

    /// Queues an event; a full queue drops it and counts (never blocks a
    /// listener on a slow consumer).
    pub(crate) fn emit(&self, event: HoneypotEvent) {
        match self.tx.try_send(event) {
            Ok(()) => self.stats.events_sent(1),
            Err(_) => self.stats.events_dropped(1),
        }
    }
}
