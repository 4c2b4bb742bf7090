//! Honeypot configuration: which ports, what to say, and the safety limits.

use std::collections::BTreeMap;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Deserializer};

use crate::HoneypotError;

/// Listening more widely than this is a configuration mistake (file
/// descriptors); catch-all setups use one port and an nftables redirect.
pub const MAX_PORTS_PER_PROTO: usize = 4096;

/// Everything the honeypot needs. Every field has a default; unknown keys
/// are errors.
///
/// ```
/// let cfg: portwatch_honeypot::HoneypotConfig = toml::from_str(r#"
///     tcp_ports = ["2323", "8000-8010"]
///     [banners]
///     "2323" = "login: "
///     [limits]
///     max_connections = 256
/// "#).unwrap();
/// cfg.validate().unwrap();
/// assert_eq!(cfg.tcp_port_list().len(), 12);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HoneypotConfig {
    /// Addresses to listen on; IPv6 sockets are IPv6-only so `0.0.0.0` and
    /// `::` can be used together.
    pub addresses: Vec<IpAddr>,
    /// TCP ports and ranges (`"8080"`, `"9000-9100"`). `"0"` asks the kernel
    /// for a free port (tests).
    pub tcp_ports: Vec<PortRange>,
    /// UDP ports and ranges.
    pub udp_ports: Vec<PortRange>,
    /// Bytes sent right after accepting, per TCP port (services where the
    /// server speaks first: SSH, VNC, NetBus, telnet). Written as escaped
    /// strings: `\xNN` for any byte, `\\` for a backslash. Banners for
    /// ports not in `tcp_ports` are unused (the defaults cover ports a
    /// custom `tcp_ports` may leave out).
    #[serde(deserialize_with = "byte_map")]
    pub banners: BTreeMap<u16, Vec<u8>>,
    /// A reply per UDP port, cut to the request's length and rate-limited.
    /// Without an entry the port stays silent.
    #[serde(deserialize_with = "byte_map")]
    pub udp_replies: BTreeMap<u16, Vec<u8>>,
    pub limits: Limits,
}

/// The safety bounds of rule 10. Every bound that is hit is counted.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// TCP connections open at once, over all ports; beyond, new ones are
    /// closed at once and counted.
    pub max_connections: usize,
    /// TCP connections open at once from one source address.
    pub max_connections_per_source: usize,
    /// Bytes read from one connection or kept from one datagram.
    pub max_bytes: usize,
    /// Longest a connection stays open, banner and reading included.
    #[serde(deserialize_with = "millis")]
    pub connection_timeout_ms: Duration,
    /// Once the client has sent something, how long to wait for more.
    #[serde(deserialize_with = "millis")]
    pub idle_after_data_ms: Duration,
    /// Events waiting for the consumer; when full, new events are dropped
    /// and counted.
    pub event_queue: usize,
    /// UDP replies per second over all ports, and the burst allowed.
    pub udp_replies_per_sec: u32,
    pub udp_reply_burst: u32,
    /// UDP replies per second to one source, and the burst allowed.
    pub udp_replies_per_source_per_sec: u32,
    pub udp_reply_source_burst: u32,
    /// Sources whose UDP reply budget is tracked; when the table is full,
    /// new sources get no reply (fail closed).
    pub udp_tracked_sources: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_connections: 1024,
            max_connections_per_source: 16,
            max_bytes: 4096,
            connection_timeout_ms: Duration::from_secs(5),
            idle_after_data_ms: Duration::from_millis(500),
            event_queue: 8192,
            udp_replies_per_sec: 50,
            udp_reply_burst: 100,
            udp_replies_per_source_per_sec: 1,
            udp_reply_source_burst: 3,
            udp_tracked_sources: 65_536,
        }
    }
}

impl Default for HoneypotConfig {
    fn default() -> Self {
        // Unprivileged ports that draw scanners: telnet-alt (Mirai), ADB,
        // Redis, web-alt, Elasticsearch, memcached, Docker, ServerProtect,
        // NetBus, RDP, VNC, databases, TR-069, SSH-alt.
        let tcp = [
            1433, 2222, 2323, 2375, 3306, 3389, 5168, 5555, 5900, 6379, 7547, 8000, 8080, 8081,
            8443, 8888, 9200, 11211, 12345, 27017,
        ];
        let banners = [
            (2222, &b"SSH-2.0-OpenSSH_8.9p1\r\n"[..]),
            (
                2323,
                b"\xff\xfd\x01\xff\xfd\x1f\xff\xfb\x01\xff\xfb\x03login: ",
            ),
            (5900, b"RFB 003.008\n"),
            (12345, b"NetBus 1.70\r"),
        ];
        HoneypotConfig {
            addresses: vec![
                IpAddr::V4(Ipv4Addr::UNSPECIFIED),
                IpAddr::V6(Ipv6Addr::UNSPECIFIED),
            ],
            tcp_ports: tcp.iter().map(|&p| PortRange::single(p)).collect(),
            udp_ports: [5060, 11211]
                .iter()
                .map(|&p| PortRange::single(p))
                .collect(),
            banners: banners.iter().map(|(p, b)| (*p, b.to_vec())).collect(),
            udp_replies: BTreeMap::new(),
            limits: Limits::default(),
        }
    }
}

impl HoneypotConfig {
    /// Checks the values, naming the bad key.
    pub fn validate(&self) -> Result<(), HoneypotError> {
        let bad = |key: String, reason: &str| {
            Err(HoneypotError::Config {
                key,
                reason: reason.to_owned(),
            })
        };
        if self.addresses.is_empty() {
            return bad("addresses".into(), "give at least one address");
        }
        if self.tcp_ports.is_empty() && self.udp_ports.is_empty() {
            return bad("tcp_ports".into(), "no TCP or UDP port to listen on");
        }
        for (key, list) in [
            ("tcp_ports", self.tcp_port_list()),
            ("udp_ports", self.udp_port_list()),
        ] {
            if list.len() > MAX_PORTS_PER_PROTO {
                return bad(
                    key.into(),
                    "more than 4096 ports: use one port and an nftables redirect",
                );
            }
        }
        let udp = self.udp_port_list();
        if let Some(p) = self.udp_replies.keys().find(|p| !udp.contains(p)) {
            return bad(format!("udp_replies.\"{p}\""), "port is not in udp_ports");
        }
        self.limits.validate()
    }

    /// Every TCP port, ranges expanded, sorted, without duplicates.
    pub fn tcp_port_list(&self) -> Vec<u16> {
        expand(&self.tcp_ports)
    }

    pub fn udp_port_list(&self) -> Vec<u16> {
        expand(&self.udp_ports)
    }
}

impl Limits {
    fn validate(&self) -> Result<(), HoneypotError> {
        let checks: [(&str, bool); 9] = [
            ("max_connections", self.max_connections > 0),
            (
                "max_connections_per_source",
                self.max_connections_per_source > 0,
            ),
            ("max_bytes", (1..=1 << 20).contains(&self.max_bytes)),
            (
                "connection_timeout_ms",
                !self.connection_timeout_ms.is_zero(),
            ),
            ("idle_after_data_ms", !self.idle_after_data_ms.is_zero()),
            ("event_queue", self.event_queue > 0),
            (
                "udp_reply_burst",
                self.udp_reply_burst >= 1 || self.udp_replies_per_sec == 0,
            ),
            (
                "udp_reply_source_burst",
                self.udp_reply_source_burst >= 1 || self.udp_replies_per_source_per_sec == 0,
            ),
            ("udp_tracked_sources", self.udp_tracked_sources > 0),
        ];
        match checks.iter().find(|(_, ok)| !ok) {
            Some((key, _)) => Err(HoneypotError::Config {
                key: format!("limits.{key}"),
                reason: "out of range (must be positive; max_bytes at most 1 MiB)".to_owned(),
            }),
            None => Ok(()),
        }
    }
}

/// A port or an inclusive range of ports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortRange {
    pub first: u16,
    pub last: u16,
}

impl PortRange {
    pub fn single(port: u16) -> Self {
        PortRange {
            first: port,
            last: port,
        }
    }
}

impl FromStr for PortRange {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let parse = |p: &str| {
            p.trim()
                .parse::<u16>()
                .map_err(|_| format!("`{s}` is not a port or range"))
        };
        match s.split_once('-') {
            None => parse(s).map(PortRange::single),
            Some((a, b)) => {
                let (first, last) = (parse(a)?, parse(b)?);
                if first > last {
                    return Err(format!("`{s}`: range goes backwards"));
                }
                Ok(PortRange { first, last })
            }
        }
    }
}

impl fmt::Display for PortRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.first == self.last {
            write!(f, "{}", self.first)
        } else {
            write!(f, "{}-{}", self.first, self.last)
        }
    }
}

impl<'de> Deserialize<'de> for PortRange {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Num(u16),
            Text(String),
        }
        match Raw::deserialize(d)? {
            Raw::Num(n) => Ok(PortRange::single(n)),
            Raw::Text(t) => t.parse().map_err(serde::de::Error::custom),
        }
    }
}

fn expand(ranges: &[PortRange]) -> Vec<u16> {
    let mut out: Vec<u16> = ranges.iter().flat_map(|r| r.first..=r.last).collect();
    out.sort_unstable();
    out.dedup();
    out
}

fn millis<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    u64::deserialize(d).map(Duration::from_millis)
}

fn byte_map<'de, D: Deserializer<'de>>(d: D) -> Result<BTreeMap<u16, Vec<u8>>, D::Error> {
    use serde::de::Error;
    let raw = BTreeMap::<String, String>::deserialize(d)?;
    let mut out = BTreeMap::new();
    for (port, text) in raw {
        let p: u16 = port
            .parse()
            .map_err(|_| D::Error::custom(format!("`{port}` is not a port")))?;
        let bytes = portwatch_payload::unescape(&text)
            .map_err(|e| D::Error::custom(format!("port {port}: {e}")))?;
        out.insert(p, bytes);
    }
    Ok(out)
}
