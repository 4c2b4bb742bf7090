//! Link-layer header types as capture files name them.

use std::fmt;

/// A `LINKTYPE_*` value from a pcap file header or a pcapng Interface
/// Description Block (tcpdump.org's link-layer header type registry).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LinkType(pub u16);

impl LinkType {
    /// BSD loopback: a 4-byte address family in the writer's byte order.
    pub const NULL: LinkType = LinkType(0);
    pub const ETHERNET: LinkType = LinkType(1);
    /// `DLT_RAW` as most BSDs number it; some systems write it into files.
    pub const RAW_BSD: LinkType = LinkType(12);
    /// `DLT_RAW` as OpenBSD numbers it.
    pub const RAW_OPENBSD: LinkType = LinkType(14);
    /// Raw IPv4 or IPv6, told apart by the version nibble.
    pub const RAW: LinkType = LinkType(101);
    /// OpenBSD loopback: like [`LinkType::NULL`] but in network byte order.
    pub const LOOP: LinkType = LinkType(108);
    /// Linux "cooked" capture (`any` device), version 1.
    pub const LINUX_SLL: LinkType = LinkType(113);
    pub const IPV4: LinkType = LinkType(228);
    pub const IPV6: LinkType = LinkType(229);
    /// Linux netfilter NFLOG: a family header followed by TLVs.
    pub const NFLOG: LinkType = LinkType(239);
    /// Linux "cooked" capture, version 2.
    pub const LINUX_SLL2: LinkType = LinkType(276);

    /// Every link type [`decode`](crate::decode) understands.
    pub const DECODED: [LinkType; 11] = [
        LinkType::NULL,
        LinkType::ETHERNET,
        LinkType::RAW_BSD,
        LinkType::RAW_OPENBSD,
        LinkType::RAW,
        LinkType::LOOP,
        LinkType::LINUX_SLL,
        LinkType::IPV4,
        LinkType::IPV6,
        LinkType::NFLOG,
        LinkType::LINUX_SLL2,
    ];

    /// The registry's short name (`ethernet`, `linux_sll`, ...) for the link
    /// types portwatch decodes, `None` for the others.
    pub fn name(self) -> Option<&'static str> {
        Some(match self {
            LinkType::NULL => "null",
            LinkType::ETHERNET => "ethernet",
            LinkType::RAW_BSD | LinkType::RAW_OPENBSD | LinkType::RAW => "raw",
            LinkType::LOOP => "loop",
            LinkType::LINUX_SLL => "linux_sll",
            LinkType::IPV4 => "ipv4",
            LinkType::IPV6 => "ipv6",
            LinkType::NFLOG => "nflog",
            LinkType::LINUX_SLL2 => "linux_sll2",
            _ => return None,
        })
    }
}

impl fmt::Display for LinkType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => write!(f, "{name} ({})", self.0),
            None => write!(f, "link type {}", self.0),
        }
    }
}
