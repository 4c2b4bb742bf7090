//! The netfilter part of a line, `IN=… OUT=… SRC=… DST=… LEN=… PROTO=…`, as
//! the kernel's `nf_log_syslog` writes it for the iptables `LOG` target and
//! the nftables `log` statement.
//!
//! The kernel writes the IP header's fields first and the transport's after
//! `PROTO=`, so a key means different things on either side of it (`LEN=` is
//! the IP length before and the UDP length after; `ID=` the IPv4 id before
//! and the ICMP echo id after; `ACK` a flag, `ACK=` a sequence number).
//! Reading stops once the transport fields portwatch needs are complete,
//! which also keeps the packet an ICMP error quotes in `[SRC=… ]` apart from
//! the outer one.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use portwatch_core::{Fingerprint, Proto, TransportInfo, tcp_flags};

use crate::tokens::{Tokens, name};

/// The facts one line gives about its packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Packet {
    pub src: IpAddr,
    pub dst: IpAddr,
    pub ip_len: u32,
    pub transport: TransportInfo,
    pub fp: Fingerprint,
    /// An ARP frame (bridge-family logging): no IP at all.
    pub not_ip: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FieldError<'a> {
    /// A field the line must have is not there: the line was cut short.
    Missing(&'static str),
    /// A field whose value does not read.
    BadValue { key: &'static str, value: &'a str },
    /// `PROTO=` names nothing netfilter writes.
    UnknownProto(&'a str),
    /// SRC= and DST= of different IP versions.
    MixedFamilies,
    /// The packet itself was too short for its transport header: netfilter
    /// wrote `INCOMPLETE [n bytes]` where the ports would be.
    Incomplete(&'static str),
}

impl fmt::Display for FieldError<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FieldError::Missing(what) => write!(f, "netfilter line without {what} (cut short?)"),
            FieldError::BadValue { key, value } => {
                write!(f, "bad {key}= value {:?}", excerpt(value))
            }
            FieldError::UnknownProto(v) => write!(f, "unknown PROTO= value {:?}", excerpt(v)),
            FieldError::MixedFamilies => f.write_str("SRC= and DST= are of different IP versions"),
            FieldError::Incomplete(proto) => write!(
                f,
                "{proto} header incomplete in the logged packet (INCOMPLETE): no ports"
            ),
        }
    }
}

/// At most 40 bytes of a value, cut at a character boundary.
pub(crate) fn excerpt(s: &str) -> &str {
    let mut end = s.len().min(40);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum L4 {
    Tcp,
    Udp,
    Icmp,
    Icmpv6,
    /// UDP-Lite, AH, ESP and numbered protocols: no series, nothing to read.
    Other,
}

impl L4 {
    fn from_value(v: &str) -> Option<L4> {
        Some(match v {
            "TCP" => L4::Tcp,
            "UDP" => L4::Udp,
            "ICMP" => L4::Icmp,
            "ICMPv6" => L4::Icmpv6,
            "UDPLITE" | "AH" | "ESP" | "SCTP" | "DCCP" => L4::Other,
            _ if dec(v, 255).is_some() => L4::Other,
            _ => return None,
        })
    }

    fn proto(self) -> Option<Proto> {
        match self {
            L4::Tcp => Some(Proto::Tcp),
            L4::Udp => Some(Proto::Udp),
            L4::Icmp => Some(Proto::Icmp),
            L4::Icmpv6 => Some(Proto::Icmpv6),
            L4::Other => None,
        }
    }
}

/// Names netfilter writes, packed for matching (see [`name`]).
mod n {
    use super::name;
    macro_rules! names {
        ($($id:ident = $s:literal),* $(,)?) => { $(pub const $id: u128 = name($s);)* };
    }
    names!(
        SRC = b"SRC",
        DST = b"DST",
        LEN = b"LEN",
        TTL = b"TTL",
        HOPLIMIT = b"HOPLIMIT",
        ID = b"ID",
        PROTO = b"PROTO",
        SPT = b"SPT",
        DPT = b"DPT",
        SEQ = b"SEQ",
        ACK = b"ACK",
        WINDOW = b"WINDOW",
        URGP = b"URGP",
        TYPE = b"TYPE",
        CODE = b"CODE",
        CWR = b"CWR",
        ECE = b"ECE",
        URG = b"URG",
        PSH = b"PSH",
        RST = b"RST",
        SYN = b"SYN",
        FIN = b"FIN",
        INCOMPLETE = b"INCOMPLETE",
        ARP = b"ARP",
        UNKNOWN = b"Unknown",
        ESP = b"ESP",
    );
}

/// Reads `msg`, which starts at `IN=`.
pub(crate) fn parse_fields(msg: &str) -> Result<Packet, FieldError<'_>> {
    let mut tokens = Tokens::new(msg);
    let ip = ip_fields(&mut tokens)?;
    if ip.not_ip {
        return Ok(Packet {
            src: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            dst: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            ip_len: 0,
            transport: TransportInfo::default(),
            fp: Fingerprint::default(),
            not_ip: true,
        });
    }
    let src = ip.src.ok_or(FieldError::Missing("SRC="))?;
    let dst = ip.dst.ok_or(FieldError::Missing("DST="))?;
    if src.is_ipv4() != dst.is_ipv4() {
        return Err(FieldError::MixedFamilies);
    }
    let ip_len = ip.len.ok_or(FieldError::Missing("LEN="))?;
    let l4 = match ip.l4 {
        Some(l4) => l4,
        // Where netfilter writes no PROTO= at all: an IPv4 AH non-first
        // fragment, IPv6 behind an unknown extension header or ESP.
        None if ip.non_first_fragment || ip.opaque => L4::Other,
        None => return Err(FieldError::Missing("PROTO=")),
    };
    let mut fp = Fingerprint {
        ttl: ip.ttl,
        ip_id: ip.id,
        ..Fingerprint::default()
    };
    let mut transport = TransportInfo {
        proto: l4.proto(),
        non_first_fragment: ip.non_first_fragment,
        ..TransportInfo::default()
    };
    // A non-first fragment has no transport header to log.
    if !ip.non_first_fragment {
        match l4 {
            L4::Tcp => tcp_fields(&mut tokens, &mut transport, &mut fp)?,
            L4::Udp => udp_fields(&mut tokens, &mut transport)?,
            L4::Icmp | L4::Icmpv6 => icmp_fields(&mut tokens, l4, &mut transport, &mut fp)?,
            L4::Other => {}
        }
    }
    Ok(Packet {
        src,
        dst,
        ip_len,
        transport,
        fp,
        not_ip: false,
    })
}

#[derive(Default)]
struct IpPart {
    src: Option<IpAddr>,
    dst: Option<IpAddr>,
    len: Option<u32>,
    ttl: u8,
    id: u16,
    l4: Option<L4>,
    non_first_fragment: bool,
    /// IPv6 past an extension header netfilter does not look behind.
    opaque: bool,
    not_ip: bool,
}

fn ip_fields<'a>(tokens: &mut Tokens<'a>) -> Result<IpPart, FieldError<'a>> {
    let mut ip = IpPart::default();
    for tok in tokens {
        let Some(value) = tok.value else {
            match tok.name {
                n::ARP if ip.src.is_none() => {
                    ip.not_ip = true;
                    break;
                }
                // `Unknown Ext Hdr 255`, or `OPT ( ESP SPI=…`: netfilter
                // stops there and writes no PROTO=.
                n::UNKNOWN | n::ESP => {
                    ip.opaque = true;
                    break;
                }
                _ => {}
            }
            if let Some(offset) = tok.text.strip_prefix("FRAG:") {
                // IPv4 writes FRAG: only for a non-zero offset, IPv6 always
                // (FRAG:0 for the first fragment).
                let offset = dec(offset, 65_535).ok_or(FieldError::BadValue {
                    key: "FRAG:",
                    value: offset,
                })?;
                ip.non_first_fragment |= offset > 0;
            }
            continue;
        };
        match tok.name {
            n::SRC if ip.src.is_none() => ip.src = Some(addr("SRC", value)?),
            n::DST if ip.dst.is_none() => ip.dst = Some(addr("DST", value)?),
            n::LEN if ip.len.is_none() => ip.len = Some(num("LEN", value, u32::MAX.into())? as u32),
            n::TTL => ip.ttl = num("TTL", value, 255)? as u8,
            n::HOPLIMIT => ip.ttl = num("HOPLIMIT", value, 255)? as u8,
            n::ID => ip.id = num("ID", value, 65_535)? as u16,
            n::PROTO => {
                ip.l4 = Some(L4::from_value(value).ok_or(FieldError::UnknownProto(value))?);
                break;
            }
            _ => {}
        }
    }
    Ok(ip)
}

fn tcp_fields<'a>(
    tokens: &mut Tokens<'a>,
    t: &mut TransportInfo,
    fp: &mut Fingerprint,
) -> Result<(), FieldError<'a>> {
    let (mut sport, mut dport) = (None, None);
    let mut complete = false;
    for tok in tokens {
        let Some(value) = tok.value else {
            fp.tcp_flags |= match tok.name {
                n::CWR => tcp_flags::CWR,
                n::ECE => tcp_flags::ECE,
                n::URG => tcp_flags::URG,
                n::ACK => tcp_flags::ACK,
                n::PSH => tcp_flags::PSH,
                n::RST => tcp_flags::RST,
                n::SYN => tcp_flags::SYN,
                n::FIN => tcp_flags::FIN,
                n::INCOMPLETE => return Err(FieldError::Incomplete("TCP")),
                _ => 0,
            };
            continue;
        };
        match tok.name {
            n::SPT => sport = Some(num("SPT", value, 65_535)? as u16),
            n::DPT => dport = Some(num("DPT", value, 65_535)? as u16),
            n::SEQ => fp.tcp_seq = num("SEQ", value, u32::MAX.into())? as u32,
            n::ACK => fp.tcp_ack = num("ACK", value, u32::MAX.into())? as u32,
            n::WINDOW => fp.tcp_window = num("WINDOW", value, 65_535)? as u16,
            // The flags come right before URGP=, so they are all in.
            n::URGP => {
                complete = true;
                break;
            }
            _ => {}
        }
    }
    t.sport = sport.ok_or(FieldError::Missing("SPT= after PROTO=TCP"))?;
    t.dport = dport.ok_or(FieldError::Missing("DPT= after PROTO=TCP"))?;
    t.tcp_flags = fp.tcp_flags;
    if !complete {
        return Err(FieldError::Missing("URGP= after the TCP flags"));
    }
    Ok(())
}

fn udp_fields<'a>(tokens: &mut Tokens<'a>, t: &mut TransportInfo) -> Result<(), FieldError<'a>> {
    let (mut sport, mut dport) = (None, None);
    let mut complete = false;
    for tok in tokens {
        let Some(value) = tok.value else {
            if tok.name == n::INCOMPLETE {
                return Err(FieldError::Incomplete("UDP"));
            }
            continue;
        };
        match tok.name {
            n::SPT => sport = Some(num("SPT", value, 65_535)? as u16),
            n::DPT => dport = Some(num("DPT", value, 65_535)? as u16),
            // The UDP length follows DPT=, so DPT= was not cut.
            n::LEN => {
                complete = true;
                break;
            }
            _ => {}
        }
    }
    t.sport = sport.ok_or(FieldError::Missing("SPT= after PROTO=UDP"))?;
    t.dport = dport.ok_or(FieldError::Missing("DPT= after PROTO=UDP"))?;
    if !complete {
        return Err(FieldError::Missing("LEN= after DPT="));
    }
    Ok(())
}

fn icmp_fields<'a>(
    tokens: &mut Tokens<'a>,
    l4: L4,
    t: &mut TransportInfo,
    fp: &mut Fingerprint,
) -> Result<(), FieldError<'a>> {
    let mut icmp_type = None;
    for tok in tokens {
        let Some(value) = tok.value else {
            if tok.name == n::INCOMPLETE {
                let name = if l4 == L4::Icmp { "ICMP" } else { "ICMPv6" };
                return Err(FieldError::Incomplete(name));
            }
            continue;
        };
        match tok.name {
            n::TYPE => icmp_type = Some(num("TYPE", value, 255)? as u16),
            // CODE= ends what portwatch needs; an error's quoted packet
            // (`[SRC=… ]`) comes after it and is not read.
            n::CODE => {
                fp.icmp_code = num("CODE", value, 255)? as u8;
                t.dport = icmp_type.ok_or(FieldError::Missing("TYPE= before CODE="))?;
                return Ok(());
            }
            _ => {}
        }
    }
    Err(FieldError::Missing(if icmp_type.is_some() {
        "CODE= after TYPE="
    } else {
        "TYPE= after PROTO=ICMP or PROTO=ICMPv6"
    }))
}

fn addr<'a>(key: &'static str, value: &'a str) -> Result<IpAddr, FieldError<'a>> {
    let bad = FieldError::BadValue { key, value };
    if !value.contains(':') {
        return ipv4(value).map(IpAddr::V4).ok_or(bad);
    }
    match ipv6_full(value) {
        Some(a) => Ok(IpAddr::V6(a)),
        None => value.parse().map_err(|_| bad),
    }
}

/// Dotted-quad IPv4 as the kernel prints it (`%pI4`): four decimal octets.
/// Hand-written (like [`ipv6_full`]) because it is on the hot path and
/// std's parser is more general than needed.
fn ipv4(s: &str) -> Option<Ipv4Addr> {
    let mut octets = [0u8; 4];
    let (mut k, mut v, mut digits) = (0, 0u32, 0);
    for &c in s.as_bytes() {
        if c.is_ascii_digit() {
            v = v * 10 + u32::from(c - b'0');
            digits += 1;
            if digits > 3 || v > 255 {
                return None;
            }
        } else if c == b'.' && digits > 0 && k < 3 {
            octets[k] = v as u8;
            (k, v, digits) = (k + 1, 0, 0);
        } else {
            return None;
        }
    }
    if digits == 0 || k != 3 {
        return None;
    }
    octets[3] = v as u8;
    Some(Ipv4Addr::from(octets))
}

/// IPv6 the way the kernel prints it (`%pI6`): eight groups of four hex
/// digits. Anything else goes to std's general parser.
fn ipv6_full(s: &str) -> Option<Ipv6Addr> {
    let b = s.as_bytes();
    if b.len() != 39 {
        return None;
    }
    let mut groups = [0u16; 8];
    for (g, chunk) in groups.iter_mut().zip(b.chunks(5)) {
        if chunk.len() == 5 && chunk[4] != b':' {
            return None;
        }
        for &c in &chunk[..4] {
            *g = *g << 4 | u16::from(hex(c)?);
        }
    }
    Some(Ipv6Addr::from(groups))
}

fn hex(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

fn num<'a>(key: &'static str, value: &'a str, max: u64) -> Result<u64, FieldError<'a>> {
    dec(value, max).ok_or(FieldError::BadValue { key, value })
}

/// A decimal of at most ten digits, no sign, not above `max`.
fn dec(s: &str, max: u64) -> Option<u64> {
    if s.is_empty() || s.len() > 10 {
        return None;
    }
    let mut v = 0u64;
    for &d in s.as_bytes() {
        if !d.is_ascii_digit() {
            return None;
        }
        v = v * 10 + u64::from(d - b'0');
    }
    (v <= max).then_some(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dotted_quads() {
        assert_eq!(ipv4("192.0.2.255"), Some(Ipv4Addr::new(192, 0, 2, 255)));
        assert_eq!(ipv4("0.0.0.0"), Some(Ipv4Addr::UNSPECIFIED));
        for bad in [
            "",
            "1.2.3",
            "1.2.3.4.5",
            "256.1.1.1",
            "1..2.3",
            "1.2.3.4 ",
            "a.b.c.d",
        ] {
            assert_eq!(ipv4(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn kernel_ipv6() {
        let full = "2001:0db8:0000:f101:0000:0000:0000:0002";
        assert_eq!(ipv6_full(full), "2001:db8:0:f101::2".parse().ok());
        let upper = "FE80:0000:0000:0000:0213:46FF:FE3A:4136";
        assert_eq!(ipv6_full(upper), "fe80::213:46ff:fe3a:4136".parse().ok());
        for other in [
            "2001:db8::2",
            "2001:0db8:0000:f101:0000:0000:0000:000g",
            "2001:0db8:0000:f101:0000:0000:0000-0002",
        ] {
            assert_eq!(ipv6_full(other), None, "{other}");
        }
        // Other spellings still read, through std.
        assert_eq!(
            addr("SRC", "2001:db8::2"),
            Ok("2001:db8::2".parse().unwrap())
        );
        assert!(addr("SRC", "2001:db8::2::3").is_err());
        assert!(addr("SRC", "::ffff:1.2.3.4").is_ok());
    }

    #[test]
    fn decimals() {
        assert_eq!(dec("65535", 65_535), Some(65_535));
        assert_eq!(dec("65536", 65_535), None);
        assert_eq!(
            dec("4294967295", u32::MAX.into()),
            Some(u64::from(u32::MAX))
        );
        assert_eq!(dec("99999999999", u64::MAX), None);
        assert_eq!(dec("+1", 9), None);
        assert_eq!(dec("", 9), None);
    }
}
