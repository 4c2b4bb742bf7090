//! IPv4 and IPv6 headers, IPv6 extension headers and fragments.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use portwatch_core::DropReason;

use super::{be16, short};

/// The IP facts an event needs and where the transport header starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct IpPacket<'a> {
    pub src: IpAddr,
    pub dst: IpAddr,
    /// The upper-layer protocol number (after IPv6 extension headers).
    pub proto: u8,
    pub ttl: u8,
    pub ip_id: u16,
    /// Length on the wire as the header states it.
    pub ip_len: u32,
    pub non_first_fragment: bool,
    /// From the transport header to the end of the IP packet or capture.
    pub transport: &'a [u8],
    /// The capture holds less than the IP header says the packet has.
    pub cut: bool,
}

const HOP_BY_HOP: u8 = 0;
const ROUTING: u8 = 43;
const FRAGMENT: u8 = 44;
const AUTH: u8 = 51;
const DEST_OPTS: u8 = 60;

/// `version` is what the link layer announced (`None`: trust the nibble).
/// `cut`: the capture may hold fewer bytes than the packet had.
#[inline]
pub(super) fn decode(b: &[u8], version: Option<u8>, cut: bool) -> Result<IpPacket<'_>, DropReason> {
    let nibble = b.first().ok_or(short(cut, DropReason::MalformedIp))? >> 4;
    if version.is_some_and(|v| v != nibble) {
        return Err(DropReason::MalformedIp);
    }
    match nibble {
        4 => ipv4(b, cut),
        6 => ipv6(b, cut),
        _ => Err(DropReason::MalformedIp),
    }
}

#[inline]
fn ipv4(b: &[u8], cut: bool) -> Result<IpPacket<'_>, DropReason> {
    let h = b
        .first_chunk::<20>()
        .ok_or(short(cut, DropReason::MalformedIp))?;
    let ihl = usize::from(h[0] & 0x0f) * 4;
    let stated = usize::from(be16(h, 2));
    if ihl < 20 || (stated != 0 && stated < ihl) {
        return Err(DropReason::MalformedIp);
    }
    if b.len() < ihl {
        return Err(short(cut, DropReason::MalformedIp));
    }
    // A zero length was captured on a host doing TCP segmentation offload,
    // before the kernel filled it in: the capture is the packet.
    let total = if stated == 0 { b.len() } else { stated };
    let ip_cut = total > b.len();
    if ip_cut && !cut {
        return Err(DropReason::MalformedIp);
    }
    let end = total.min(b.len());
    Ok(IpPacket {
        src: IpAddr::V4(Ipv4Addr::new(h[12], h[13], h[14], h[15])),
        dst: IpAddr::V4(Ipv4Addr::new(h[16], h[17], h[18], h[19])),
        proto: h[9],
        ttl: h[8],
        ip_id: be16(h, 4),
        ip_len: total as u32,
        non_first_fragment: be16(h, 6) & 0x1fff != 0,
        transport: b.get(ihl..end).unwrap_or(&[]),
        cut: ip_cut,
    })
}

fn ipv6(b: &[u8], cut: bool) -> Result<IpPacket<'_>, DropReason> {
    let h = b
        .first_chunk::<40>()
        .ok_or(short(cut, DropReason::MalformedIp))?;
    let payload_len = usize::from(be16(h, 4));
    // Payload length 0 with a hop-by-hop header is a jumbogram (or a TSO
    // capture): the capture is the packet.
    let total = if payload_len == 0 && h[6] == HOP_BY_HOP {
        b.len()
    } else {
        40 + payload_len
    };
    let ip_cut = total > b.len();
    if ip_cut && !cut {
        return Err(DropReason::MalformedIp);
    }
    let packet = &b[..total.min(b.len())];
    let mut rest = &packet[40..];
    let mut next = h[6];
    let mut non_first_fragment = false;
    let short_ext = short(ip_cut, DropReason::MalformedIp);
    // Every extension header is at least 8 bytes long, so the walk ends.
    loop {
        let len = match next {
            HOP_BY_HOP | ROUTING | DEST_OPTS => {
                (usize::from(*rest.get(1).ok_or(short_ext)?) + 1) * 8
            }
            AUTH => (usize::from(*rest.get(1).ok_or(short_ext)?) + 2) * 4,
            FRAGMENT => {
                let f = rest.first_chunk::<8>().ok_or(short_ext)?;
                if be16(f, 2) >> 3 != 0 {
                    // What follows is the middle of someone else's payload.
                    non_first_fragment = true;
                    next = f[0];
                    break;
                }
                8
            }
            _ => break,
        };
        let header = rest.get(..len).ok_or(short_ext)?;
        next = header[0];
        rest = &rest[len..];
    }
    let src: [u8; 16] = h[8..24].try_into().unwrap_or_default();
    let dst: [u8; 16] = h[24..40].try_into().unwrap_or_default();
    Ok(IpPacket {
        src: IpAddr::V6(Ipv6Addr::from(src)),
        dst: IpAddr::V6(Ipv6Addr::from(dst)),
        proto: next,
        ttl: h[7],
        ip_id: 0,
        ip_len: u32::try_from(total).unwrap_or(u32::MAX),
        non_first_fragment,
        transport: if non_first_fragment { &[] } else { rest },
        cut: ip_cut,
    })
}
