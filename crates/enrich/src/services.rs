//! Service names by port.

use std::collections::HashMap;
use std::sync::OnceLock;

use portwatch_core::{PortKey, Proto};

/// IANA's registry, single-port TCP and UDP assignments (see
/// `scripts/gen-iana-services.py`).
const IANA_TSV: &str = include_str!("../data/iana-services.tsv");

/// The date of the IANA snapshot shipped.
pub fn registry_date() -> &'static str {
    IANA_TSV
        .lines()
        .next()
        .and_then(|l| l.rsplit("snapshot of ").next())
        .map(|d| d.trim_end_matches('.'))
        .unwrap_or("unknown")
}

struct Entry {
    name: &'static str,
    description: &'static str,
}

fn table() -> &'static HashMap<PortKey, Entry> {
    static TABLE: OnceLock<HashMap<PortKey, Entry>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut map = HashMap::with_capacity(12_000);
        for line in IANA_TSV.lines().filter(|l| !l.starts_with('#')) {
            let mut f = line.splitn(4, '\t');
            let (Some(port), Some(proto), Some(name)) = (f.next(), f.next(), f.next()) else {
                continue;
            };
            let (Ok(port), Ok(proto)) = (port.parse::<u16>(), proto.parse::<Proto>()) else {
                continue;
            };
            map.entry(PortKey::new(proto, port)).or_insert(Entry {
                name,
                description: f.next().unwrap_or(""),
            });
        }
        map
    })
}

fn icmp_name(proto: Proto, ty: u16) -> Option<&'static str> {
    match (proto, ty) {
        (Proto::Icmp, 0) | (Proto::Icmpv6, 129) => Some("echo-reply"),
        (Proto::Icmp, 8) | (Proto::Icmpv6, 128) => Some("echo-request"),
        (Proto::Icmp, 3) | (Proto::Icmpv6, 1) => Some("dest-unreachable"),
        (Proto::Icmp, 4) => Some("source-quench"),
        (Proto::Icmp, 5) => Some("redirect"),
        (Proto::Icmp, 11) | (Proto::Icmpv6, 3) => Some("time-exceeded"),
        (Proto::Icmp, 12) | (Proto::Icmpv6, 4) => Some("parameter-problem"),
        (Proto::Icmpv6, 2) => Some("packet-too-big"),
        (Proto::Icmp, 13) => Some("timestamp"),
        (Proto::Icmpv6, 133) => Some("router-solicitation"),
        (Proto::Icmpv6, 135) => Some("neighbor-solicitation"),
        _ => None,
    }
}

/// The registered service name (`microsoft-ds` for 445/tcp), or the ICMP type
/// name for ICMP. Port 0 is IANA-reserved: `reserved`.
pub fn name(key: PortKey) -> Option<&'static str> {
    match key.proto {
        Proto::Icmp | Proto::Icmpv6 => icmp_name(key.proto, key.port),
        Proto::Tcp | Proto::Udp if key.port == 0 => Some("reserved"),
        Proto::Tcp | Proto::Udp => table().get(&key).map(|e| e.name),
    }
}

/// IANA's description of the registered service.
pub fn description(key: PortKey) -> Option<&'static str> {
    table()
        .get(&key)
        .map(|e| e.description)
        .filter(|d| !d.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_ports() {
        assert_eq!(name(PortKey::new(Proto::Tcp, 23)), Some("telnet"));
        assert_eq!(name(PortKey::new(Proto::Udp, 53)), Some("domain"));
        assert_eq!(name(PortKey::new(Proto::Tcp, 5168)), Some("scte30"));
        assert_eq!(name(PortKey::new(Proto::Tcp, 0)), Some("reserved"));
        assert_eq!(name(PortKey::new(Proto::Udp, 0)), Some("reserved"));
        assert_eq!(name(PortKey::new(Proto::Icmpv6, 128)), Some("echo-request"));
        assert_eq!(
            description(PortKey::new(Proto::Tcp, 445)),
            Some("Microsoft-DS")
        );
        assert!(table().len() > 11_000);
        assert_eq!(registry_date(), "2024-06-11");
    }
}
