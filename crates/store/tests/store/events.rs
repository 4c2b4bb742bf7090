//! Building batches from plain event descriptions.

use std::net::{IpAddr, Ipv4Addr};

use portwatch_aggregate::{Aggregator, Batch, BatchId};
use portwatch_core::{Event, Fingerprint, Proto, Timestamp, TransportInfo, classify, tcp_flags};

/// 2023-11-14T22:13:20Z: late in a UTC day, so a few hours of data cross
/// a day boundary.
pub const BASE: i64 = 1_700_000_000;

/// One packet, described by small numbers.
#[derive(Debug, Clone, Copy)]
pub struct Pkt {
    /// Seconds after [`BASE`].
    pub t: i64,
    pub src: u32,
    pub dst: u32,
    /// 0 TCP SYN, 1 TCP SYN-ACK (backscatter), 2 UDP, 3 ICMP echo, 4 TCP ACK (other).
    pub kind: u8,
    pub port: u16,
    pub len: u32,
}

pub fn src_addr(n: u32) -> IpAddr {
    IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + n))
}

pub fn event(p: &Pkt) -> Event<'static> {
    let (proto, flags, dport) = match p.kind {
        0 => (Proto::Tcp, tcp_flags::SYN, p.port),
        1 => (Proto::Tcp, tcp_flags::SYN | tcp_flags::ACK, 40_000),
        2 => (Proto::Udp, 0, p.port),
        3 => (Proto::Icmp, 0, 8),
        _ => (Proto::Tcp, tcp_flags::ACK, p.port),
    };
    let info = TransportInfo {
        proto: Some(proto),
        sport: if p.kind == 1 { p.port } else { 40_000 },
        dport,
        tcp_flags: flags,
        non_first_fragment: false,
    };
    let c = classify(&info);
    Event {
        ts: Timestamp::from_secs(BASE + p.t),
        src: src_addr(p.src),
        dst: IpAddr::V4(Ipv4Addr::from(0xc612_0000 + p.dst)),
        proto: Some(proto),
        sport: info.sport,
        dport,
        class: c.class,
        key: c.key,
        ip_len: p.len,
        // Every third target draws a ZMap-marked probe (IP ID 54321, window
        // 65535), so source-days carry more than one tool.
        fp: if p.dst.is_multiple_of(3) {
            Fingerprint {
                ip_id: 54_321,
                tcp_window: 65_535,
                tcp_flags: flags,
                ..Fingerprint::default()
            }
        } else {
            Fingerprint::default()
        },
        tcp_options: &[],
        payload: &[],
    }
}

pub fn batch(stream: &str, seq: u64, pkts: &[Pkt]) -> Batch {
    let mut agg = Aggregator::new();
    for p in pkts {
        agg.observe(&event(p));
    }
    agg.drain_all(BatchId {
        stream: stream.to_string(),
        seq,
    })
}
