//! Link-layer headers: find where the IP packet starts, or decide there is none.

use portwatch_core::DropReason;

use super::{be16, short};
use crate::LinkType;

/// What a link-layer header leads to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Network<'a> {
    Ip {
        bytes: &'a [u8],
        /// 4 or 6 when the link header says which; `None` when only the IP
        /// version nibble can tell.
        version: Option<u8>,
        /// Whether the capture may have cut these bytes short.
        cut: bool,
    },
    NotIp,
}

const ETHERTYPE_IPV4: u16 = 0x0800;
const ETHERTYPE_IPV6: u16 = 0x86dd;
const ETHERTYPE_VLAN: u16 = 0x8100;
const ETHERTYPE_QINQ: u16 = 0x88a8;
const ETHERTYPE_QINQ_OLD: u16 = 0x9100;
const ETHERTYPE_PPPOE_SESSION: u16 = 0x8864;
const ETHERTYPE_MPLS: u16 = 0x8847;
const ETHERTYPE_MPLS_MULTICAST: u16 = 0x8848;
const ARPHRD_NETLINK: u16 = 824;
const AF_INET: u8 = 2;
const AF_INET6_LINUX: u8 = 10;
const NFULA_PAYLOAD: u16 = 9;

#[inline]
pub(super) fn network(link: LinkType, data: &[u8], cut: bool) -> Result<Network<'_>, DropReason> {
    let ip = |bytes, version| {
        Ok(Network::Ip {
            bytes,
            version,
            cut,
        })
    };
    match link {
        LinkType::ETHERNET => ethernet(data, cut),
        LinkType::RAW | LinkType::RAW_BSD | LinkType::RAW_OPENBSD => ip(data, None),
        LinkType::IPV4 => ip(data, Some(4)),
        LinkType::IPV6 => ip(data, Some(6)),
        LinkType::LINUX_SLL => {
            let h = data
                .first_chunk::<16>()
                .ok_or(short(cut, DropReason::MalformedLink))?;
            cooked(be16(h, 2), be16(h, 14), &data[16..], cut)
        }
        LinkType::LINUX_SLL2 => {
            let h = data
                .first_chunk::<20>()
                .ok_or(short(cut, DropReason::MalformedLink))?;
            cooked(be16(h, 8), be16(h, 0), &data[20..], cut)
        }
        LinkType::NFLOG => nflog(data, cut),
        LinkType::NULL | LinkType::LOOP => {
            let h = *data
                .first_chunk::<4>()
                .ok_or(short(cut, DropReason::MalformedLink))?;
            // NULL is written in the capturing host's byte order; the values
            // are small, so the other order can never be mistaken for one.
            let be = u32::from_be_bytes(h);
            let le = u32::from_le_bytes(h);
            let family = |v: u32| match v {
                2 => Some(4),
                24 | 28 | 30 => Some(6),
                _ => None,
            };
            let version = if link == LinkType::LOOP {
                family(be)
            } else {
                family(be).or(family(le))
            };
            match version {
                Some(v) => ip(&data[4..], Some(v)),
                None => Ok(Network::NotIp),
            }
        }
        _ => Err(DropReason::UnsupportedLinkType),
    }
}

#[inline]
fn ethernet(data: &[u8], cut: bool) -> Result<Network<'_>, DropReason> {
    let h = data
        .first_chunk::<14>()
        .ok_or(short(cut, DropReason::MalformedLink))?;
    let ethertype = be16(h, 12);
    if ethertype <= 1500 {
        return llc(&data[14..], cut);
    }
    by_ethertype(ethertype, &data[14..], cut)
}

/// 802.3 frames carry IP only inside SNAP (`AA AA 03`, OUI, ethertype).
fn llc(data: &[u8], cut: bool) -> Result<Network<'_>, DropReason> {
    match data.first_chunk::<8>() {
        Some([0xaa, 0xaa, 0x03, _, _, _, _, _]) => by_ethertype(be16(data, 6), &data[8..], cut),
        _ => Ok(Network::NotIp),
    }
}

/// Linux cooked headers: `protocol` is an ethertype except on netlink sockets.
fn cooked(arphrd: u16, protocol: u16, rest: &[u8], cut: bool) -> Result<Network<'_>, DropReason> {
    if arphrd == ARPHRD_NETLINK {
        return Ok(Network::NotIp);
    }
    by_ethertype(protocol, rest, cut)
}

/// Follows VLAN tags (any depth), PPPoE and MPLS to the IP packet.
#[inline]
fn by_ethertype(mut ethertype: u16, mut rest: &[u8], cut: bool) -> Result<Network<'_>, DropReason> {
    let ip = |bytes, version| {
        Ok(Network::Ip {
            bytes,
            version,
            cut,
        })
    };
    // Every turn of the loop consumes 4 bytes, so it ends.
    loop {
        match ethertype {
            ETHERTYPE_IPV4 => return ip(rest, Some(4)),
            ETHERTYPE_IPV6 => return ip(rest, Some(6)),
            ETHERTYPE_VLAN | ETHERTYPE_QINQ | ETHERTYPE_QINQ_OLD => {
                let tag = rest
                    .first_chunk::<4>()
                    .ok_or(short(cut, DropReason::MalformedLink))?;
                ethertype = be16(tag, 2);
                rest = &rest[4..];
            }
            ETHERTYPE_PPPOE_SESSION => {
                let h = rest
                    .first_chunk::<8>()
                    .ok_or(short(cut, DropReason::MalformedLink))?;
                return match be16(h, 6) {
                    0x0021 => ip(&rest[8..], Some(4)),
                    0x0057 => ip(&rest[8..], Some(6)),
                    _ => Ok(Network::NotIp),
                };
            }
            ETHERTYPE_MPLS | ETHERTYPE_MPLS_MULTICAST => {
                let label = rest
                    .first_chunk::<4>()
                    .ok_or(short(cut, DropReason::MalformedLink))?;
                let bottom = label[2] & 1 != 0;
                rest = &rest[4..];
                if bottom {
                    // No next-protocol field: the payload's first nibble tells.
                    return match rest.first().map(|b| b >> 4) {
                        Some(4) => ip(rest, Some(4)),
                        Some(6) => ip(rest, Some(6)),
                        Some(_) => Ok(Network::NotIp),
                        None => Err(short(cut, DropReason::MalformedLink)),
                    };
                }
            }
            _ => return Ok(Network::NotIp),
        }
    }
}

/// NFLOG: family, version and resource id, then TLVs whose length and type
/// are in the logging host's byte order. The packet is the NFULA_PAYLOAD TLV.
fn nflog(data: &[u8], cut: bool) -> Result<Network<'_>, DropReason> {
    let h = data
        .first_chunk::<4>()
        .ok_or(short(cut, DropReason::MalformedLink))?;
    let version = match h[0] {
        AF_INET => Some(4),
        AF_INET6_LINUX => Some(6),
        _ => None,
    };
    let mut tlvs = &data[4..];
    // TLV types are small numbers, so the byte order that reads the first
    // type as a small number is the logging host's.
    let le = tlvs.get(2).is_some_and(|&b| b != 0) || tlvs.get(3) == Some(&0);
    let read16 = |b: &[u8], at: usize| {
        let v = be16(b, at);
        if le { v.swap_bytes() } else { v }
    };
    while let Some(tlv) = tlvs.first_chunk::<4>() {
        let len = usize::from(read16(tlv, 0));
        let tlv_type = read16(tlv, 2) & 0x7fff;
        if len < 4 {
            return Err(DropReason::MalformedLink);
        }
        if tlv_type == NFULA_PAYLOAD {
            let Some(version) = version else {
                return Ok(Network::NotIp);
            };
            let payload = tlvs.get(4..len).or(if cut { tlvs.get(4..) } else { None });
            return match payload {
                // NFLOG may copy only part of the packet (nflog-range), and
                // nothing says how long it was: treat the payload as cut.
                Some(bytes) => Ok(Network::Ip {
                    bytes,
                    version: Some(version),
                    cut: true,
                }),
                None => Err(DropReason::MalformedLink),
            };
        }
        if tlvs.len() < len {
            return Err(short(cut, DropReason::MalformedLink));
        }
        // The last TLV's padding may be missing.
        tlvs = tlvs.get(len.next_multiple_of(4)..).unwrap_or(&[]);
    }
    if !tlvs.is_empty() && !cut {
        Err(DropReason::MalformedLink)
    } else if version.is_none() {
        Ok(Network::NotIp)
    } else {
        // The log entry holds no packet bytes (copy mode none, or cut).
        Err(DropReason::Truncated)
    }
}
