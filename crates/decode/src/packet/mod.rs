//! Packet decoding: link layer → IP → transport → classification.
//!
//! [`decode`] is a pure function over the captured bytes. It reads only the
//! header fields an [`Event`] needs, bounds everything by the lengths the
//! headers state, and tells a packet cut by the capture's snapshot length
//! ([`DropReason::Truncated`]) from one that is malformed on the wire: a
//! header missing from a frame that was captured whole is malformed.

mod ip;
mod link;
#[cfg(test)]
mod tests;
mod transport;

use std::net::{IpAddr, Ipv4Addr};

use portwatch_core::{
    Class, DropReason, Event, Fingerprint, OtherKind, Proto, Timestamp, TransportInfo, classify,
};

use crate::LinkType;
use link::Network;

/// Decodes one captured frame of link type `link` into a classified event.
///
/// `orig_len` is the frame's length on the wire; when `data` is shorter, the
/// capture cut it, and a header missing for that reason yields
/// [`DropReason::Truncated`] rather than a `Malformed*` reason.
///
/// * A frame without IP (ARP, LLDP, ...) is an event of class
///   [`OtherKind::NotIp`] with unspecified addresses and no protocol.
/// * A non-first IP fragment is an event of class
///   [`OtherKind::NonFirstFragment`] with addresses and protocol but no ports.
/// * An IP protocol without a series (ESP, GRE, IPv6 No Next Header, ...) is
///   an event of class [`OtherKind::OtherIpProto`] with `proto` `None`.
/// * TCP needs its first 14 bytes (ports, sequence and acknowledgement
///   numbers, flags); window and options are filled when captured.
/// * For ICMP and ICMPv6 the type goes into `dport`, the code into
///   `fp.icmp_code`, and the payload starts after the 8-byte header.
/// * `ip_len` is the IPv4 total length, or the IPv6 payload length plus 40.
pub fn decode<'a>(
    link: LinkType,
    ts: Timestamp,
    data: &'a [u8],
    orig_len: u32,
) -> Result<Event<'a>, DropReason> {
    let cut = (data.len() as u64) < u64::from(orig_len);
    let (bytes, version, cut) = match link::network(link, data, cut)? {
        Network::Ip {
            bytes,
            version,
            cut,
        } => (bytes, version, cut),
        Network::NotIp => return Ok(not_ip(ts)),
    };
    let ip = ip::decode(bytes, version, cut)?;
    let proto = Proto::from_number(ip.proto);
    let mut event = Event {
        ts,
        src: ip.src,
        dst: ip.dst,
        proto,
        sport: 0,
        dport: 0,
        class: Class::Other(OtherKind::OtherIpProto),
        key: None,
        ip_len: ip.ip_len,
        fp: Fingerprint {
            ttl: ip.ttl,
            ip_id: ip.ip_id,
            ..Fingerprint::default()
        },
        tcp_options: &[],
        payload: &[],
    };
    let mut info = TransportInfo {
        proto,
        non_first_fragment: ip.non_first_fragment,
        ..TransportInfo::default()
    };
    if let (Some(proto), false) = (proto, ip.non_first_fragment) {
        let t = transport::decode(proto, ip.transport, ip.cut)?;
        event.sport = t.sport;
        event.dport = t.dport;
        event.fp.tcp_flags = t.tcp_flags;
        event.fp.tcp_seq = t.tcp_seq;
        event.fp.tcp_ack = t.tcp_ack;
        event.fp.tcp_window = t.tcp_window;
        event.fp.icmp_code = t.icmp_code;
        event.tcp_options = t.tcp_options;
        event.payload = t.payload;
        info.sport = t.sport;
        info.dport = t.dport;
        info.tcp_flags = t.tcp_flags;
    }
    let c = classify(&info);
    event.class = c.class;
    event.key = c.key;
    Ok(event)
}

fn not_ip<'a>(ts: Timestamp) -> Event<'a> {
    Event {
        ts,
        src: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        dst: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        proto: None,
        sport: 0,
        dport: 0,
        class: Class::Other(OtherKind::NotIp),
        key: None,
        ip_len: 0,
        fp: Fingerprint::default(),
        tcp_options: &[],
        payload: &[],
    }
}

/// The drop reason for a header that does not fit: the capture cut it, or it
/// was short on the wire.
#[inline]
fn short(cut: bool, malformed: DropReason) -> DropReason {
    if cut {
        DropReason::Truncated
    } else {
        malformed
    }
}

#[inline]
fn be16(b: &[u8], at: usize) -> u16 {
    match b.get(at..).and_then(|s| s.first_chunk::<2>()) {
        Some(&w) => u16::from_be_bytes(w),
        None => 0,
    }
}

#[inline]
fn be32(b: &[u8], at: usize) -> u32 {
    match b.get(at..).and_then(|s| s.first_chunk::<4>()) {
        Some(&w) => u32::from_be_bytes(w),
        None => 0,
    }
}
