//! Synthetic darknet traffic for portwatch's tests, benchmarks and demo.
//!
//! [`simulate`] writes a pcap of what a darknet sensor sees: a background of
//! Internet-wide scanners (heavy-tailed activity, a realistic mix of ports
//! and tools, daily and weekly rhythm), DoS backscatter, odd packets, IPv6,
//! VLAN tags, sensor outages — and, on top, scheduled scan [`Campaign`]s
//! such as the 2007 5168/tcp spike. It is seeded and deterministic: the
//! same [`SimConfig`] gives the same bytes on every machine. It returns a
//! [`GroundTruth`] with exact counts of what it wrote (per class, per
//! port, per campaign), for holding decoders and detectors to account.
//!
//! Runs stream: packets are generated in time order and written as they
//! come (on a second thread), so a capture of any length needs little
//! memory; ground truth grows only with distinct (port, address) pairs.
//! [`Campaign`] and [`Gap`] parse from compact strings for command lines
//! (`5168/tcp@36h+6h,sources=300,pps=50,tool=masscan,ramp=taper`,
//! `36h+20m`); [`SimConfig`] reads from JSON or TOML and names the bad
//! field when [`SimConfig::validate`] refuses it.
//!
//! ```
//! use portwatch_simulate::{simulate, SimConfig};
//! use portwatch_core::PortKey;
//!
//! let cfg = SimConfig {
//!     duration_secs: 600,
//!     background_pps: 5.0,
//!     background_sources: 500,
//!     campaigns: vec!["5168/tcp@2m+5m,sources=30,pps=2,ramp=taper".parse()?],
//!     ..SimConfig::default()
//! };
//! let mut pcap = Vec::new();
//! let truth = simulate(&cfg, &mut pcap)?;
//! assert_eq!(truth.campaigns[0].sources_seen, 30);
//! let key: PortKey = "5168/tcp".parse()?;
//! assert!(truth.probe(key).unwrap().campaign_packets > 0);
//! assert_eq!(truth.pcap_bytes, pcap.len() as u64);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod addr;
mod background;
mod campaign;
mod config;
mod distinct;
mod engine;
mod error;
mod pcap;
mod ports;
mod rate;
mod rng;
mod schedule;
mod tool;
mod truth;
mod wire;

pub use campaign::{Campaign, Ramp};
pub use config::{Gap, Resolution, SimConfig};
pub use engine::{Progress, simulate, simulate_with_progress};
pub use error::SimError;
pub use tool::ToolStyle;
pub use truth::{
    CampaignTruth, ClassTally, ClassTotals, FrameTotals, GroundTruth, OtherTally, PortTruth, Window,
};
