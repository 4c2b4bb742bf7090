//! A low-interaction honeypot for portwatch's live sensing: listen on many
//! TCP and UDP ports, optionally send a banner, read the first bytes a client
//! sends, close, and report who, where, when and what as a
//! [`HoneypotEvent`], with the payload matched against the
//! [`portwatch_payload`] signatures.
//!
//! When TCP 5168 surged in 2007, honeypots were what showed that the
//! scanners were sending ServerProtect RPC exploits; when TCP 12345 surged in
//! 2002, only the payload could say NetBus or OfficeScan. This crate gives a
//! sensor that answer.
//!
//! # Never a weapon (rule 10)
//!
//! * Nothing received is executed or interpreted beyond parsing into a fixed
//!   buffer; a banner is the only thing ever sent on TCP.
//! * Open connections are capped in total and per source
//!   ([`Limits::max_connections`], [`Limits::max_connections_per_source`]);
//!   refused connections are reset at once and still reported.
//! * Each connection reads at most [`Limits::max_bytes`] and lives at most
//!   [`Limits::connection_timeout_ms`]; memory is bounded by
//!   `max_connections × max_bytes` plus the bounded event queue
//!   ([`Limits::event_queue`]; a full queue drops and counts).
//! * A UDP reply is sent only where configured, is never longer than the
//!   request, and passes a global and a per-source token bucket: no
//!   reflection, no amplification.
//!
//! ```no_run
//! use std::sync::Arc;
//! use portwatch_honeypot::{Honeypot, HoneypotConfig};
//! use portwatch_payload::SignatureSet;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let sigs = Arc::new(SignatureSet::builtin()?);
//! let (pot, mut events) = Honeypot::spawn(HoneypotConfig::default(), sigs).await?;
//! while let Some(ev) = events.recv().await {
//!     let sig = ev.analysis.as_ref().and_then(|a| a.primary());
//!     tracing::info!(src = %ev.src, port = %ev.key(), ?sig, "honeypot hit");
//! }
//! # drop(pot);
//! # Ok(())
//! # }
//! ```
//!
//! # Catching every port with one listener
//!
//! Instead of thousands of sockets, redirect every TCP port the host does not
//! serve to one honeypot port with nftables, and let the honeypot recover the
//! port the scanner asked for:
//!
//! ```text
//! table inet portwatch {
//!   chain prerouting {
//!     type nat hook prerouting priority dstnat; policy accept;
//!     iifname "eth0" tcp dport != { 22 } redirect to :40000
//!   }
//! }
//! ```
//!
//! (`nft -f portwatch.nft`; configure the honeypot with
//! `tcp_ports = ["40000"]`.) The redirect is NAT, so conntrack remembers the
//! original destination and the honeypot reads it back with the
//! `SO_ORIGINAL_DST` socket option (`IP6T_SO_ORIGINAL_DST` for IPv6), through
//! socket2's `original_dst_v4`/`original_dst_v6`: [`HoneypotEvent::dst`] is
//! the address and port the scanner targeted and
//! [`HoneypotEvent::redirected`] is set. This works on Linux only; elsewhere
//! `dst` is the listener's address. UDP has no `SO_ORIGINAL_DST`: list UDP
//! ports explicitly.
//!
//! `portwatch run` runs it from the `[honeypot]` table of its config and
//! feeds its events to the live sensor (`portwatch_pipeline::live`).

mod config;
mod error;
mod event;
mod honeypot;
mod limits;
mod stats;
mod tcp;
mod udp;

pub use config::{HoneypotConfig, Limits, MAX_PORTS_PER_PROTO, PortRange};
pub use error::HoneypotError;
pub use event::{HoneypotEvent, Outcome};
pub use honeypot::{Honeypot, HoneypotMonitor};
pub use stats::HoneypotStats;
