//! One classification for packets and log lines alike.

use crate::event::{Class, OtherKind, tcp_flags};
use crate::{PortKey, Proto};

/// The transport-level facts classification looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TransportInfo {
    /// `None` for an IP protocol portwatch keeps no series for.
    pub proto: Option<Proto>,
    pub sport: u16,
    /// Destination port; for ICMP the ICMP type.
    pub dport: u16,
    pub tcp_flags: u8,
    /// A non-first fragment carries no transport header at all.
    pub non_first_fragment: bool,
}

/// The outcome of [`classify`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Classification {
    pub class: Class,
    pub key: Option<PortKey>,
}

impl Classification {
    fn other(kind: OtherKind) -> Self {
        Classification {
            class: Class::Other(kind),
            key: None,
        }
    }
}

const ICMP_ECHO_REPLY: u16 = 0;
const ICMP_ECHO_REQUEST: u16 = 8;
const ICMPV6_ECHO_REQUEST: u16 = 128;
const ICMPV6_ECHO_REPLY: u16 = 129;

/// Decides probe, backscatter or other (rule 8 of the design).
///
/// * TCP: RST or SYN+ACK is backscatter (keyed by the replying source port);
///   SYN without ACK is a probe (keyed by the destination port); anything else
///   is [`OtherKind::TcpOtherFlags`].
/// * UDP: every datagram is a probe.
/// * ICMP: echo request is a probe; echo reply and errors (unreachable, source
///   quench, redirect, time exceeded, parameter problem; ICMPv6 types 1–4) are
///   backscatter; the rest is [`OtherKind::IcmpOther`]. The key is the type.
/// * Port 0 is an ordinary port.
pub fn classify(t: &TransportInfo) -> Classification {
    if t.non_first_fragment {
        return Classification::other(OtherKind::NonFirstFragment);
    }
    let Some(proto) = t.proto else {
        return Classification::other(OtherKind::OtherIpProto);
    };
    let probe = |port| Classification {
        class: Class::Probe,
        key: Some(PortKey::new(proto, port)),
    };
    let backscatter = |port| Classification {
        class: Class::Backscatter,
        key: Some(PortKey::new(proto, port)),
    };
    match proto {
        Proto::Tcp => {
            let f = t.tcp_flags;
            let syn = f & tcp_flags::SYN != 0;
            let ack = f & tcp_flags::ACK != 0;
            if f & tcp_flags::RST != 0 || (syn && ack) {
                backscatter(t.sport)
            } else if syn {
                probe(t.dport)
            } else {
                Classification::other(OtherKind::TcpOtherFlags)
            }
        }
        Proto::Udp => probe(t.dport),
        Proto::Icmp => match t.dport {
            ICMP_ECHO_REQUEST => probe(t.dport),
            ICMP_ECHO_REPLY | 3 | 4 | 5 | 11 | 12 => backscatter(t.dport),
            _ => Classification::other(OtherKind::IcmpOther),
        },
        Proto::Icmpv6 => match t.dport {
            ICMPV6_ECHO_REQUEST => probe(t.dport),
            ICMPV6_ECHO_REPLY | 1..=4 => backscatter(t.dport),
            _ => Classification::other(OtherKind::IcmpOther),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tcp_flags::*;

    fn tcp(flags: u8) -> Classification {
        classify(&TransportInfo {
            proto: Some(Proto::Tcp),
            sport: 80,
            dport: 5168,
            tcp_flags: flags,
            non_first_fragment: false,
        })
    }

    #[test]
    fn tcp_flags_decide() {
        assert_eq!(tcp(SYN).class, Class::Probe);
        assert_eq!(tcp(SYN).key, Some(PortKey::new(Proto::Tcp, 5168)));
        assert_eq!(tcp(SYN | ECE | CWR).class, Class::Probe);
        assert_eq!(tcp(SYN | ACK).class, Class::Backscatter);
        assert_eq!(tcp(SYN | ACK).key, Some(PortKey::new(Proto::Tcp, 80)));
        assert_eq!(tcp(RST).class, Class::Backscatter);
        assert_eq!(tcp(RST | ACK).class, Class::Backscatter);
        for f in [ACK, FIN, 0, FIN | PSH | URG, PSH | ACK] {
            assert_eq!(
                tcp(f).class,
                Class::Other(OtherKind::TcpOtherFlags),
                "{f:#x}"
            );
        }
    }

    #[test]
    fn port_zero_is_a_port() {
        let c = classify(&TransportInfo {
            proto: Some(Proto::Udp),
            dport: 0,
            ..Default::default()
        });
        assert_eq!(c.key, Some(PortKey::new(Proto::Udp, 0)));
        assert_eq!(c.class, Class::Probe);
    }

    #[test]
    fn icmp_types() {
        let icmp = |proto, ty| {
            classify(&TransportInfo {
                proto: Some(proto),
                dport: ty,
                ..Default::default()
            })
            .class
        };
        assert_eq!(icmp(Proto::Icmp, 8), Class::Probe);
        assert_eq!(icmp(Proto::Icmp, 0), Class::Backscatter);
        assert_eq!(icmp(Proto::Icmp, 3), Class::Backscatter);
        assert_eq!(icmp(Proto::Icmp, 11), Class::Backscatter);
        assert_eq!(icmp(Proto::Icmp, 13), Class::Other(OtherKind::IcmpOther));
        assert_eq!(icmp(Proto::Icmpv6, 128), Class::Probe);
        assert_eq!(icmp(Proto::Icmpv6, 129), Class::Backscatter);
        assert_eq!(icmp(Proto::Icmpv6, 1), Class::Backscatter);
        assert_eq!(icmp(Proto::Icmpv6, 135), Class::Other(OtherKind::IcmpOther));
    }

    #[test]
    fn fragments_and_other_protocols() {
        let c = classify(&TransportInfo {
            proto: Some(Proto::Tcp),
            tcp_flags: SYN,
            non_first_fragment: true,
            ..Default::default()
        });
        assert_eq!(c.class, Class::Other(OtherKind::NonFirstFragment));
        assert_eq!(c.key, None);
        let c = classify(&TransportInfo::default());
        assert_eq!(c.class, Class::Other(OtherKind::OtherIpProto));
    }
}
