//! Protocols and (protocol, port) keys.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The transport protocol a port belongs to.
///
/// For ICMP and ICMPv6 there are no ports; portwatch counts them under the
/// ICMP *type* instead (echo request is 8 for ICMP, 128 for ICMPv6), the same
/// convention DShield uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[repr(u8)]
pub enum Proto {
    Tcp = 6,
    Udp = 17,
    Icmp = 1,
    Icmpv6 = 58,
}

impl Proto {
    /// Every protocol portwatch keeps series for.
    pub const ALL: [Proto; 4] = [Proto::Tcp, Proto::Udp, Proto::Icmp, Proto::Icmpv6];

    /// The IANA protocol number (6, 17, 1, 58).
    pub fn number(self) -> u8 {
        self as u8
    }

    /// The inverse of [`Proto::number`].
    pub fn from_number(n: u8) -> Option<Proto> {
        match n {
            6 => Some(Proto::Tcp),
            17 => Some(Proto::Udp),
            1 => Some(Proto::Icmp),
            58 => Some(Proto::Icmpv6),
            _ => None,
        }
    }

    /// The lowercase name used in output and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Proto::Tcp => "tcp",
            Proto::Udp => "udp",
            Proto::Icmp => "icmp",
            Proto::Icmpv6 => "icmpv6",
        }
    }
}

impl fmt::Display for Proto {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Proto {
    type Err = ParsePortKeyError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "tcp" => Ok(Proto::Tcp),
            "udp" => Ok(Proto::Udp),
            "icmp" => Ok(Proto::Icmp),
            "icmpv6" | "icmp6" | "ipv6-icmp" => Ok(Proto::Icmpv6),
            _ => Err(ParsePortKeyError::UnknownProto(s.to_string())),
        }
    }
}

/// A (protocol, port) pair: the unit portwatch keeps a series for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct PortKey {
    pub proto: Proto,
    pub port: u16,
}

impl PortKey {
    pub const fn new(proto: Proto, port: u16) -> Self {
        PortKey { proto, port }
    }
}

impl fmt::Display for PortKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.port, self.proto)
    }
}

/// Why a `PORT/PROTO` string was not understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParsePortKeyError {
    #[error("expected PORT/PROTO such as 5168/tcp, got {0:?}")]
    Shape(String),
    #[error("{0:?} is not a port number from 0 to 65535")]
    Port(String),
    #[error("unknown protocol {0:?} (expected tcp, udp, icmp or icmpv6)")]
    UnknownProto(String),
}

impl FromStr for PortKey {
    type Err = ParsePortKeyError;

    /// Accepts `5168/tcp`, `tcp/5168` and, for ICMP types, `8/icmp`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (a, b) = s
            .split_once('/')
            .ok_or_else(|| ParsePortKeyError::Shape(s.to_string()))?;
        let (port, proto) = if a.chars().all(|c| c.is_ascii_digit()) {
            (a, b)
        } else {
            (b, a)
        };
        let proto: Proto = proto.parse()?;
        let port: u16 = port
            .parse()
            .map_err(|_| ParsePortKeyError::Port(port.to_string()))?;
        Ok(PortKey { proto, port })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_both_orders_and_port_zero() {
        assert_eq!("0/udp".parse::<PortKey>(), Ok(PortKey::new(Proto::Udp, 0)));
        assert_eq!(
            "TCP/445".parse::<PortKey>(),
            Ok(PortKey::new(Proto::Tcp, 445))
        );
        assert_eq!(
            "8/icmp".parse::<PortKey>(),
            Ok(PortKey::new(Proto::Icmp, 8))
        );
    }

    #[test]
    fn rejects_nonsense() {
        assert!(matches!(
            "70000/tcp".parse::<PortKey>(),
            Err(ParsePortKeyError::Port(_))
        ));
        assert!(matches!(
            "80/sctp".parse::<PortKey>(),
            Err(ParsePortKeyError::UnknownProto(_))
        ));
        assert!(matches!(
            "80".parse::<PortKey>(),
            Err(ParsePortKeyError::Shape(_))
        ));
    }
}
