//! Which ports background scanners knock on, and what UDP probes carry.
//!
//! The head of the mix is a ranked list of the ports darknets see most
//! (Telnet and SMB first, then SSH, web, RDP, databases, IoT exploit ports,
//! and the UDP services abused for amplification); weights fall off as
//! 1/rank. A uniform tail over all 65,536 ports sits under it, so every port
//! sees a trickle and ports absent from the head (5168, 12345, 0) stay near
//! silent until a campaign arrives.

use portwatch_core::{PortKey, Proto};

use crate::rng::Rng;
use crate::wire::Payload;

/// Ranked most- to least-scanned. 5168 and 12345 must never appear here.
const HEAD: [(Proto, u16); 48] = [
    (Proto::Tcp, 23),
    (Proto::Tcp, 445),
    (Proto::Tcp, 22),
    (Proto::Tcp, 80),
    (Proto::Tcp, 8080),
    (Proto::Tcp, 3389),
    (Proto::Tcp, 443),
    (Proto::Tcp, 2323),
    (Proto::Tcp, 1433),
    (Proto::Udp, 5060),
    (Proto::Tcp, 5900),
    (Proto::Tcp, 6379),
    (Proto::Udp, 53),
    (Proto::Tcp, 37215),
    (Proto::Tcp, 52869),
    (Proto::Udp, 123),
    (Proto::Tcp, 7547),
    (Proto::Tcp, 5555),
    (Proto::Tcp, 3306),
    (Proto::Udp, 161),
    (Proto::Tcp, 81),
    (Proto::Tcp, 8443),
    (Proto::Udp, 1900),
    (Proto::Tcp, 25),
    (Proto::Tcp, 21),
    (Proto::Tcp, 8088),
    (Proto::Udp, 137),
    (Proto::Tcp, 135),
    (Proto::Tcp, 139),
    (Proto::Tcp, 2375),
    (Proto::Tcp, 9200),
    (Proto::Udp, 11211),
    (Proto::Tcp, 5432),
    (Proto::Tcp, 8000),
    (Proto::Tcp, 8888),
    (Proto::Tcp, 110),
    (Proto::Tcp, 143),
    (Proto::Udp, 1434),
    (Proto::Tcp, 60001),
    (Proto::Tcp, 27017),
    (Proto::Tcp, 5985),
    (Proto::Tcp, 9000),
    (Proto::Udp, 500),
    (Proto::Tcp, 2222),
    (Proto::Tcp, 10000),
    (Proto::Tcp, 4444),
    (Proto::Udp, 389),
    (Proto::Udp, 3702),
];

/// Mirai and its offspring: Telnet first, then the router and camera
/// exploit ports the variants added.
const MIRAI: [(u16, f64); 9] = [
    (23, 0.72),
    (2323, 0.08),
    (37215, 0.05),
    (52869, 0.04),
    (7547, 0.03),
    (5555, 0.03),
    (80, 0.02),
    (8080, 0.02),
    (60001, 0.01),
];

/// Of the uniform tail, this share is UDP; the rest TCP.
const TAIL_UDP_SHARE: f64 = 0.2;

#[derive(Debug, Clone)]
pub(crate) struct PortMix {
    cdf: Vec<f64>,
    tail_fraction: f64,
}

impl PortMix {
    pub(crate) fn new(tail_fraction: f64) -> Self {
        let mut acc = 0.0;
        let cdf = (1..=HEAD.len())
            .map(|rank| {
                acc += 1.0 / rank as f64;
                acc
            })
            .collect::<Vec<_>>();
        let total = acc;
        PortMix {
            cdf: cdf.into_iter().map(|c| c / total).collect(),
            tail_fraction,
        }
    }

    /// A head port for `u` in [0, 1): what a source settles on.
    pub(crate) fn head(&self, u: f64) -> PortKey {
        let i = self.cdf.partition_point(|&c| c <= u).min(HEAD.len() - 1);
        let (proto, port) = HEAD[i];
        PortKey::new(proto, port)
    }

    /// A port from the whole mix: the head, or the uniform tail.
    pub(crate) fn sample(&self, rng: &mut Rng) -> PortKey {
        if rng.chance(self.tail_fraction) {
            let proto = if rng.chance(TAIL_UDP_SHARE) {
                Proto::Udp
            } else {
                Proto::Tcp
            };
            PortKey::new(proto, rng.next_u16())
        } else {
            self.head(rng.unit())
        }
    }

    pub(crate) fn mirai(u: f64) -> u16 {
        let mut acc = 0.0;
        for (port, w) in MIRAI {
            acc += w;
            if u < acc {
                return port;
            }
        }
        23
    }
}

/// DNS: `version.bind` CH TXT, the classic resolver fingerprint query.
const DNS: &[u8] =
    b"\x00\x00\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x07version\x04bind\x00\x00\x10\x00\x03";
/// NTP: a mode-3 client request (48 bytes, LI=3 VN=4).
const NTP: &[u8] = &{
    let mut b = [0u8; 48];
    b[0] = 0xe3;
    b
};
/// NTP mode 7 MON_GETLIST_1 ("monlist"), the amplification probe.
const NTP_MONLIST: &[u8] = b"\x17\x00\x03\x2a\x00\x00\x00\x00";
/// SNMPv1 GetRequest, community "public", for sysDescr.0.
const SNMP: &[u8] = b"\x30\x29\x02\x01\x00\x04\x06public\xa0\x1c\x02\x04\x00\x00\x00\x00\x02\x01\x00\x02\x01\x00\x30\x0e\x30\x0c\x06\x08\x2b\x06\x01\x02\x01\x01\x01\x00\x05\x00";
const SSDP: &[u8] = b"M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nMAN: \"ssdp:discover\"\r\nMX: 1\r\nST: ssdp:all\r\n\r\n";
/// SIP OPTIONS as SIPVicious sends it; its user agent is a known signature.
const SIP: &[u8] = b"OPTIONS sip:100@scan.invalid SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK-2810;rport\r\nMax-Forwards: 70\r\nTo: \"sipvicious\"<sip:100@1.1.1.1>\r\nFrom: \"sipvicious\"<sip:100@1.1.1.1>;tag=6434396633\r\nUser-Agent: friendly-scanner\r\nCall-ID: 1286957431\r\nContact: sip:100@127.0.0.1:5060\r\nCSeq: 1 OPTIONS\r\nAccept: application/sdp\r\nContent-Length: 0\r\n\r\n";
/// NetBIOS node status (NBSTAT) query for the wildcard name "*".
const NBNS: &[u8] = b"\x00\x00\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x20CKAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\x00\x00\x21\x00\x01";
/// memcached over UDP: the 8-byte frame header, then `stats`.
const MEMCACHED: &[u8] = b"\x00\x00\x00\x00\x00\x01\x00\x00stats\r\n";
/// SQL Server Resolution Service: CLNT_UCAST_EX.
const MSSQL: &[u8] = b"\x03";

/// The payload a UDP probe to `port` carries; empty for ports without a
/// well-known query, as Masscan and ZMap send them.
pub(crate) fn udp_payload(port: u16, rng: &mut Rng) -> Payload {
    let id16 = |rng: &mut Rng| Some((0, u32::from(rng.next_u16()), 2));
    match port {
        53 => Payload {
            bytes: DNS,
            patch: id16(rng),
        },
        123 if rng.chance(0.3) => Payload {
            bytes: NTP_MONLIST,
            patch: None,
        },
        123 => Payload {
            bytes: NTP,
            patch: None,
        },
        161 => Payload {
            bytes: SNMP,
            patch: Some((17, rng.next_u32() & 0x7fff_ffff, 4)),
        },
        1900 => Payload {
            bytes: SSDP,
            patch: None,
        },
        5060 => Payload {
            bytes: SIP,
            patch: None,
        },
        137 => Payload {
            bytes: NBNS,
            patch: id16(rng),
        },
        11211 => Payload {
            bytes: MEMCACHED,
            patch: id16(rng),
        },
        1434 => Payload {
            bytes: MSSQL,
            patch: None,
        },
        _ => Payload::EMPTY,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Walks BER TLVs and checks each constructed value's length covers
    /// exactly its children.
    fn ber_ok(mut b: &[u8]) -> bool {
        while !b.is_empty() {
            if b.len() < 2 {
                return false;
            }
            let (tag, len) = (b[0], usize::from(b[1]));
            if len >= 0x80 || b.len() < 2 + len {
                return false;
            }
            if tag & 0x20 != 0 && !ber_ok(&b[2..2 + len]) {
                return false;
            }
            b = &b[2 + len..];
        }
        true
    }

    #[test]
    fn snmp_request_is_well_formed_ber() {
        assert_eq!(SNMP.len(), 2 + 0x29);
        assert!(ber_ok(SNMP));
        // The patched request id sits at offset 17..21.
        assert_eq!(&SNMP[15..17], b"\x02\x04");
    }

    #[test]
    fn dns_and_nbns_queries_have_one_question() {
        assert_eq!(&DNS[4..6], b"\x00\x01");
        assert_eq!(DNS.len(), 12 + 14 + 4);
        assert_eq!(NBNS.len(), 12 + 34 + 4);
    }

    #[test]
    fn head_has_no_campaign_ports_and_sampling_covers_it() {
        assert!(HEAD.iter().all(|&(_, p)| p != 5168 && p != 12345 && p != 0));
        let mix = PortMix::new(0.1);
        assert_eq!(mix.head(0.0), PortKey::new(Proto::Tcp, 23));
        assert_eq!(mix.head(0.999_999), PortKey::new(Proto::Udp, 3702));
        let mut r = Rng::new(4, 4);
        let n = 100_000;
        let telnet = (0..n)
            .filter(|_| mix.sample(&mut r) == PortKey::new(Proto::Tcp, 23))
            .count();
        let h48: f64 = (1..=48).map(|k| 1.0 / f64::from(k)).sum();
        let want = 0.9 / h48 * n as f64;
        assert!(
            (telnet as f64 - want).abs() < 5.0 * want.sqrt(),
            "{telnet} vs {want}"
        );
        let total: f64 = MIRAI.iter().map(|(_, w)| w).sum();
        assert!((total - 1.0).abs() < 1e-9);
    }
}
