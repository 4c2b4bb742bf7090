//! Ground truth: exactly what went into a capture, counted as the packets
//! were generated, so tests can hold a decoder or a detector to it.

use std::collections::BTreeMap;
use std::path::Path;

use foldhash::{HashSet, HashSetExt};
use portwatch_core::{Class, OtherKind, PortKey, Proto, Timestamp, classify};
use serde::{Deserialize, Serialize};

use crate::addr::V4Space;
use crate::background::Emitted;
use crate::campaign::Campaign;
use crate::config::{SimConfig, format_ts};
use crate::distinct::{Bits, PortTable, Set};
use crate::error::SimError;
use crate::tool::ToolStyle;
use crate::wire::{Frame, Net, Vlan};

/// What a simulated capture contains. Every count is exact.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroundTruth {
    /// `portwatch-simulate <version>`.
    pub generator: String,
    /// The config that made the capture, defaults filled in.
    pub config: SimConfig,
    /// The run's window, RFC 3339.
    pub start: String,
    pub end: String,
    /// Frames written.
    pub packets: u64,
    /// Size of the pcap file in bytes.
    pub pcap_bytes: u64,
    pub classes: ClassTotals,
    pub frames: FrameTotals,
    /// Probes per (protocol, port) — ICMP under its type — sorted by key.
    pub probes: Vec<PortTruth>,
    /// Backscatter per key: the replying service's port for TCP, the ICMP
    /// type for ICMP; sorted by key.
    pub backscatter: Vec<PortTruth>,
    pub campaigns: Vec<CampaignTruth>,
    pub gaps: Vec<Window>,
}

/// Packets and distinct sources per class, as
/// [`portwatch_core::classify`] decides it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ClassTotals {
    pub probe: ClassTally,
    pub backscatter: ClassTally,
    pub other: OtherTally,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ClassTally {
    pub packets: u64,
    pub sources: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct OtherTally {
    pub packets: u64,
    pub kinds: BTreeMap<OtherKind, u64>,
}

/// Link- and network-layer shapes, for decoder tests.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct FrameTotals {
    pub ipv4: u64,
    pub ipv6: u64,
    pub arp: u64,
    /// Frames with exactly one 802.1Q tag.
    pub dot1q: u64,
    /// Frames with an 802.1ad outer tag and an 802.1Q inner tag.
    pub qinq: u64,
}

/// One (protocol, port) series.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortTruth {
    pub proto: Proto,
    pub port: u16,
    pub packets: u64,
    pub background_packets: u64,
    pub campaign_packets: u64,
    /// Distinct source addresses.
    pub sources: u64,
    /// Distinct darknet addresses reached.
    pub targets: u64,
}

impl PortTruth {
    pub fn key(&self) -> PortKey {
        PortKey::new(self.proto, self.port)
    }
}

/// What one campaign actually put in the capture.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CampaignTruth {
    pub index: usize,
    /// The campaign in its compact form.
    pub spec: String,
    pub proto: Proto,
    pub port: u16,
    pub tool: ToolStyle,
    pub ramp: String,
    /// The configured window [start, end), RFC 3339 and Unix seconds.
    pub start: String,
    pub end: String,
    pub start_unix: i64,
    pub end_unix: i64,
    pub sources_configured: u32,
    /// Distinct sources with at least one packet in the capture.
    pub sources_seen: u64,
    /// Distinct darknet addresses probed in the capture.
    pub targets_seen: u64,
    /// Packets in the capture.
    pub packets: u64,
    /// Packets the campaign sent while the sensor was down.
    pub dropped_in_gaps: u64,
    pub first_packet: Option<String>,
    pub last_packet: Option<String>,
}

/// A sensor outage [start, end).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Window {
    pub start: String,
    pub end: String,
    pub start_unix: i64,
    pub end_unix: i64,
}

impl GroundTruth {
    /// The probe series of `key`, if any probe went there.
    pub fn probe(&self, key: PortKey) -> Option<&PortTruth> {
        self.probes
            .binary_search_by_key(&key, PortTruth::key)
            .ok()
            .and_then(|i| self.probes.get(i))
    }

    pub fn to_json_pretty(&self) -> String {
        // Every field serializes (string map keys, finite numbers only
        // after validation), so this cannot fail; fall back to "{}" anyway
        // rather than panic.
        serde_json::to_string_pretty(self).unwrap_or_else(|_| "{}".into())
    }

    /// Writes the ground truth as pretty JSON.
    pub fn write_ground_truth(&self, path: impl AsRef<Path>) -> Result<(), SimError> {
        let path = path.as_ref();
        let mut text = self.to_json_pretty();
        text.push('\n');
        std::fs::write(path, text).map_err(|source| SimError::Truth {
            path: path.to_path_buf(),
            source,
        })
    }
}

/// Where a packet came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Origin {
    Background,
    Campaign(usize),
}

const KEYS: usize = 4 << 16;

fn key_index(k: PortKey) -> usize {
    let p = match k.proto {
        Proto::Tcp => 0,
        Proto::Udp => 1,
        Proto::Icmp => 2,
        Proto::Icmpv6 => 3,
    };
    (p << 16) | usize::from(k.port)
}

fn key_of(i: usize) -> PortKey {
    let proto = [Proto::Tcp, Proto::Udp, Proto::Icmp, Proto::Icmpv6][(i >> 16) & 3];
    PortKey::new(proto, i as u16)
}

#[derive(Debug)]
struct CampaignTally {
    packets: u64,
    dropped: u64,
    /// Over the campaign's own source numbers.
    source_base: u32,
    sources: Bits,
    targets: Bits,
    first: Option<i64>,
    last: Option<i64>,
}

/// Counts as packets are written.
#[derive(Debug)]
pub(crate) struct TruthBuilder {
    packets: u64,
    v4: V4Space,
    /// Per port; IPv4 targets as offsets into the darknet.
    ports: PortTable,
    probe_targets_v6: HashSet<(u32, u128)>,
    class_sources: [Bits; 2],
    classes: ClassTotals,
    frames: FrameTotals,
    campaigns: Vec<CampaignTally>,
}

impl TruthBuilder {
    /// `sources` is the number of source numbers in the run; `campaigns`
    /// each campaign's (first source number, sources).
    pub(crate) fn new(sources: u32, v4: V4Space, campaigns: Vec<(u32, u32)>) -> Self {
        let s = u64::from(sources);
        TruthBuilder {
            packets: 0,
            ports: PortTable::new(KEYS, s, v4.total()),
            probe_targets_v6: HashSet::new(),
            class_sources: [Bits::new(s), Bits::new(s)],
            classes: ClassTotals::default(),
            frames: FrameTotals::default(),
            campaigns: campaigns
                .into_iter()
                .map(|(base, n)| CampaignTally {
                    packets: 0,
                    dropped: 0,
                    source_base: base,
                    sources: Bits::new(u64::from(n)),
                    targets: Bits::new(v4.total()),
                    first: None,
                    last: None,
                })
                .collect(),
            v4,
        }
    }

    /// Campaign packets lost in gaps, per campaign.
    pub(crate) fn set_dropped(&mut self, dropped: &[u64]) {
        for (c, &d) in self.campaigns.iter_mut().zip(dropped) {
            c.dropped = d;
        }
    }

    /// Counts a packet written at `ts` (absolute ns).
    pub(crate) fn record(&mut self, e: &Emitted, origin: Origin, ts: i64) {
        self.packets += 1;
        match e.frame.vlan() {
            Vlan::None => {}
            Vlan::Dot1q(_) => self.frames.dot1q += 1,
            Vlan::QinQ { .. } => self.frames.qinq += 1,
        }
        let (dst4, dst6) = match e.frame {
            Frame::Arp { .. } => {
                self.frames.arp += 1;
                self.other(OtherKind::NotIp);
                return;
            }
            Frame::Ip {
                net: Net::V4 { dst, .. },
                ..
            } => {
                self.frames.ipv4 += 1;
                (self.v4.offset(dst), 0)
            }
            Frame::Ip {
                net: Net::V6 { dst, .. },
                ..
            } => {
                self.frames.ipv6 += 1;
                (None, dst)
            }
        };
        let Some(info) = e.frame.transport_info() else {
            return;
        };
        let c = classify(&info);
        let Some(key) = c.key else {
            if let Class::Other(kind) = c.class {
                self.other(kind);
            }
            return;
        };
        let ki = key_index(key);
        match c.class {
            Class::Probe => {
                self.classes.probe.packets += 1;
                self.class_sources[0].insert(u64::from(e.src));
                let campaign = matches!(origin, Origin::Campaign(_));
                self.ports
                    .probe(ki, campaign, e.src, dst4.map(|o| o as u32));
                if dst4.is_none() {
                    self.probe_targets_v6.insert((ki as u32, dst6));
                }
            }
            Class::Backscatter => {
                self.classes.backscatter.packets += 1;
                self.class_sources[1].insert(u64::from(e.src));
                self.ports.backscatter(ki, e.src);
            }
            Class::Other(kind) => self.other(kind),
        }
        if let Origin::Campaign(i) = origin
            && let Some(t) = self.campaigns.get_mut(i)
        {
            t.packets += 1;
            t.sources
                .insert(u64::from(e.src.wrapping_sub(t.source_base)));
            if let Some(offset) = dst4 {
                t.targets.insert(offset);
            }
            t.first.get_or_insert(ts);
            t.last = Some(ts);
        }
    }

    fn other(&mut self, kind: OtherKind) {
        self.classes.other.packets += 1;
        *self.classes.other.kinds.entry(kind).or_default() += 1;
    }

    pub(crate) fn finish(
        mut self,
        cfg: &SimConfig,
        gaps: &[(f64, f64)],
        pcap_bytes: u64,
    ) -> GroundTruth {
        let mut ports = self.ports.finish();
        for (k, _) in &self.probe_targets_v6 {
            if let Ok(i) = ports.binary_search_by_key(&(*k as usize), |u| u.0) {
                ports[i].2[Set::ProbeTargets as usize] += 1;
            }
        }
        let mut probes = Vec::new();
        let mut backscatter = Vec::new();
        for (i, slot, distinct) in ports {
            let key = key_of(i);
            let probe_packets = slot.probe_background + slot.probe_campaign;
            if probe_packets > 0 {
                probes.push(PortTruth {
                    proto: key.proto,
                    port: key.port,
                    packets: probe_packets,
                    background_packets: slot.probe_background,
                    campaign_packets: slot.probe_campaign,
                    sources: distinct[Set::ProbeSources as usize],
                    targets: distinct[Set::ProbeTargets as usize],
                });
            }
            if slot.backscatter > 0 {
                backscatter.push(PortTruth {
                    proto: key.proto,
                    port: key.port,
                    packets: slot.backscatter,
                    background_packets: slot.backscatter,
                    campaign_packets: 0,
                    sources: distinct[Set::BackscatterSources as usize],
                    targets: 0,
                });
            }
        }
        self.classes.probe.sources = self.class_sources[0].len();
        self.classes.backscatter.sources = self.class_sources[1].len();
        let start = cfg.start.nanos();
        let at = |offset_secs: f64| Timestamp::from_nanos(start + (offset_secs * 1e9) as i64);
        let campaigns = cfg
            .campaigns
            .iter()
            .zip(self.campaigns)
            .enumerate()
            .map(|(index, (c, t))| campaign_truth(index, c, t, &at))
            .collect();
        let gaps = gaps
            .iter()
            .map(|&(a, b)| Window {
                start: format_ts(at(a)),
                end: format_ts(at(b)),
                start_unix: at(a).secs(),
                end_unix: at(b).secs(),
            })
            .collect();
        GroundTruth {
            generator: concat!("portwatch-simulate ", env!("CARGO_PKG_VERSION")).into(),
            config: cfg.clone(),
            start: format_ts(cfg.start),
            end: format_ts(at(cfg.duration_secs as f64)),
            packets: self.packets,
            pcap_bytes,
            classes: self.classes,
            frames: self.frames,
            probes,
            backscatter,
            campaigns,
            gaps,
        }
    }
}

fn campaign_truth(
    index: usize,
    c: &Campaign,
    t: CampaignTally,
    at: &dyn Fn(f64) -> Timestamp,
) -> CampaignTruth {
    let start = at(c.start_offset_secs as f64);
    let end = at((c.start_offset_secs + c.duration_secs) as f64);
    let ts = |ns: i64| format_ts(Timestamp::from_nanos(ns));
    CampaignTruth {
        index,
        spec: c.to_string(),
        proto: c.proto,
        port: c.port,
        tool: c.tool,
        ramp: c.ramp.to_string(),
        start: format_ts(start),
        end: format_ts(end),
        start_unix: start.secs(),
        end_unix: end.secs(),
        sources_configured: c.sources,
        sources_seen: t.sources.len(),
        targets_seen: t.targets.len(),
        packets: t.packets,
        dropped_in_gaps: t.dropped,
        first_packet: t.first.map(ts),
        last_packet: t.last.map(ts),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_index_round_trips() {
        for k in [
            PortKey::new(Proto::Tcp, 0),
            PortKey::new(Proto::Udp, 65_535),
            PortKey::new(Proto::Icmp, 8),
            PortKey::new(Proto::Icmpv6, 128),
        ] {
            assert_eq!(key_of(key_index(k)), k);
            assert!(key_index(k) < KEYS);
        }
    }
}
