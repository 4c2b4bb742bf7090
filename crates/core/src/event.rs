//! The classified event every source produces: one per packet or log line.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::{PortKey, Proto, Timestamp};

/// TCP flag bits as they sit in the TCP header's flags byte.
pub mod tcp_flags {
    pub const FIN: u8 = 0x01;
    pub const SYN: u8 = 0x02;
    pub const RST: u8 = 0x04;
    pub const PSH: u8 = 0x08;
    pub const ACK: u8 = 0x10;
    pub const URG: u8 = 0x20;
    pub const ECE: u8 = 0x40;
    pub const CWR: u8 = 0x80;
}

/// What a packet arriving at a sensor means (rule 8 of the design).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Class {
    /// Someone looking for a service: TCP SYN without ACK, any UDP datagram,
    /// ICMP/ICMPv6 echo request.
    Probe,
    /// Replies to traffic somebody else sent with a spoofed source address
    /// (DoS backscatter): SYN-ACK, RST, ICMP errors and echo replies. Counted
    /// in their own series and never raise a scan alert.
    Backscatter,
    /// Everything else, with the reason it is neither.
    Other(OtherKind),
}

impl Class {
    pub fn as_str(self) -> &'static str {
        match self {
            Class::Probe => "probe",
            Class::Backscatter => "backscatter",
            Class::Other(_) => "other",
        }
    }
}

/// Why an event is neither a probe nor backscatter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OtherKind {
    /// TCP without SYN or RST: ACK, FIN, PSH, NULL, Xmas and the rest of a
    /// connection or of a stealth scan.
    TcpOtherFlags,
    /// A non-first IPv4/IPv6 fragment: it carries no transport header, so no
    /// port; counted here and nowhere else.
    NonFirstFragment,
    /// ICMP that is neither an echo request, a reply nor an error.
    IcmpOther,
    /// An IP protocol portwatch keeps no series for (GRE, ESP, SCTP, ...).
    OtherIpProto,
    /// A frame that carries no IP at all (ARP, LLDP, STP, ...).
    NotIp,
}

impl OtherKind {
    pub const ALL: [OtherKind; 5] = [
        OtherKind::TcpOtherFlags,
        OtherKind::NonFirstFragment,
        OtherKind::IcmpOther,
        OtherKind::OtherIpProto,
        OtherKind::NotIp,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            OtherKind::TcpOtherFlags => "tcp_other_flags",
            OtherKind::NonFirstFragment => "non_first_fragment",
            OtherKind::IcmpOther => "icmp_other",
            OtherKind::OtherIpProto => "other_ip_proto",
            OtherKind::NotIp => "not_ip",
        }
    }
}

/// Why a record could not be turned into an event. Every drop is counted
/// under one of these (rule 4: nothing lost silently).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum DropReason {
    /// The capture's snaplen cut the packet inside a header portwatch needs.
    Truncated,
    /// The link-layer header is malformed.
    MalformedLink,
    /// The IP header is malformed (bad version, header length, total length).
    MalformedIp,
    /// The TCP/UDP/ICMP header is malformed.
    MalformedTransport,
    /// A link type portwatch does not decode.
    UnsupportedLinkType,
    /// A firewall log line that is not a netfilter log line, or half of one.
    UnparseableLogLine,
    /// A firewall log line whose timestamp cannot be read.
    BadTimestamp,
}

impl DropReason {
    pub const ALL: [DropReason; 7] = [
        DropReason::Truncated,
        DropReason::MalformedLink,
        DropReason::MalformedIp,
        DropReason::MalformedTransport,
        DropReason::UnsupportedLinkType,
        DropReason::UnparseableLogLine,
        DropReason::BadTimestamp,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DropReason::Truncated => "truncated",
            DropReason::MalformedLink => "malformed_link",
            DropReason::MalformedIp => "malformed_ip",
            DropReason::MalformedTransport => "malformed_transport",
            DropReason::UnsupportedLinkType => "unsupported_link_type",
            DropReason::UnparseableLogLine => "unparseable_log_line",
            DropReason::BadTimestamp => "bad_timestamp",
        }
    }
}

/// Header fields that tool fingerprinting needs later (ZMap's IP ID 54321,
/// Masscan's window 1024, Mirai's sequence number equal to the target, ...).
/// Plain copies of header fields, so keeping them costs nothing extra on the
/// hot path. Fields a source cannot know (a log line has no sequence number)
/// are zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Fingerprint {
    pub ttl: u8,
    /// IPv4 identification; 0 for IPv6.
    pub ip_id: u16,
    /// The TCP flags byte (see [`tcp_flags`]); 0 for other protocols.
    pub tcp_flags: u8,
    pub tcp_seq: u32,
    pub tcp_ack: u32,
    pub tcp_window: u16,
    /// ICMP code (the ICMP type is the event's port).
    pub icmp_code: u8,
}

/// One packet or log line, decoded and classified.
///
/// It borrows the packet buffer for the variable-length parts (TCP options,
/// payload), so making one allocates nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Event<'a> {
    pub ts: Timestamp,
    pub src: IpAddr,
    pub dst: IpAddr,
    /// `None` for an IP protocol without a series, and for frames without IP
    /// (then `src`/`dst` are unspecified addresses).
    pub proto: Option<Proto>,
    pub sport: u16,
    /// Destination port; for ICMP the ICMP type.
    pub dport: u16,
    pub class: Class,
    /// The series this event counts in: the destination port for probes, the
    /// replying service's source port for TCP backscatter (a SYN-ACK from port
    /// 80 says a web server was attacked with spoofed sources), the ICMP type
    /// for ICMP. `None` for [`Class::Other`].
    pub key: Option<PortKey>,
    /// Length of the IP packet on the wire (not the captured part).
    pub ip_len: u32,
    pub fp: Fingerprint,
    /// TCP options as captured (empty when none or unknown).
    pub tcp_options: &'a [u8],
    /// Transport payload as captured (may be shorter than on the wire).
    pub payload: &'a [u8],
}
