//! TCP, UDP and ICMP/ICMPv6 headers.

use portwatch_core::{DropReason, Proto};

use super::{be16, be32, short};

/// The transport facts an event needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(super) struct Transport<'a> {
    pub sport: u16,
    /// Destination port; for ICMP the type.
    pub dport: u16,
    pub tcp_flags: u8,
    pub tcp_seq: u32,
    pub tcp_ack: u32,
    pub tcp_window: u16,
    pub icmp_code: u8,
    pub tcp_options: &'a [u8],
    pub payload: &'a [u8],
}

/// Bytes of a TCP header up to and including the flags: enough to classify.
const TCP_NEEDED: usize = 14;
const TCP_MIN_HEADER: usize = 20;
const UDP_HEADER: usize = 8;
/// Type and code are all classification needs of ICMP; the payload starts
/// after the 8-byte header (echo identifier/sequence or the unused word).
const ICMP_NEEDED: usize = 2;
const ICMP_HEADER: usize = 8;

/// `b` runs from the transport header to the end of the IP packet or of the
/// capture, whichever comes first; `cut` says the capture came first.
#[inline]
pub(super) fn decode(proto: Proto, b: &[u8], cut: bool) -> Result<Transport<'_>, DropReason> {
    let too_short = short(cut, DropReason::MalformedTransport);
    match proto {
        Proto::Tcp => {
            let h = b.first_chunk::<TCP_NEEDED>().ok_or(too_short)?;
            let data_offset = usize::from(h[12] >> 4) * 4;
            if data_offset < TCP_MIN_HEADER || (data_offset > b.len() && !cut) {
                return Err(DropReason::MalformedTransport);
            }
            Ok(Transport {
                sport: be16(h, 0),
                dport: be16(h, 2),
                tcp_flags: h[13],
                tcp_seq: be32(h, 4),
                tcp_ack: be32(h, 8),
                tcp_window: be16(b, 14),
                tcp_options: b
                    .get(TCP_MIN_HEADER..data_offset.min(b.len()))
                    .unwrap_or(&[]),
                payload: b.get(data_offset..).unwrap_or(&[]),
                ..Transport::default()
            })
        }
        Proto::Udp => {
            let h = b.first_chunk::<UDP_HEADER>().ok_or(too_short)?;
            let udp_len = usize::from(be16(h, 4));
            // A length below the header's own (0 in jumbograms) bounds nothing.
            let end = if udp_len >= UDP_HEADER {
                udp_len.min(b.len())
            } else {
                b.len()
            };
            Ok(Transport {
                sport: be16(h, 0),
                dport: be16(h, 2),
                payload: b.get(UDP_HEADER..end).unwrap_or(&[]),
                ..Transport::default()
            })
        }
        Proto::Icmp | Proto::Icmpv6 => {
            let h = b.first_chunk::<ICMP_NEEDED>().ok_or(too_short)?;
            Ok(Transport {
                dport: u16::from(h[0]),
                icmp_code: h[1],
                payload: b.get(ICMP_HEADER..).unwrap_or(&[]),
                ..Transport::default()
            })
        }
    }
}
