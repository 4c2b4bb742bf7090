//! A tiny pcap reader and frame decoder, written apart from the generator
//! so that tests check the capture against its ground truth independently.
#![allow(dead_code, reason = "each test binary uses a different part")]
#![allow(clippy::unwrap_used, reason = "tests fail loudly")]

use std::collections::{BTreeMap, HashSet};

use portwatch_core::{Class, OtherKind, PortKey, Proto, TransportInfo, classify};
use portwatch_simulate::{GroundTruth, SimConfig, simulate};

pub fn run(cfg: &SimConfig) -> (Vec<u8>, GroundTruth) {
    let mut out = Vec::new();
    let truth = simulate(cfg, &mut out).expect("simulate");
    (out, truth)
}

/// One pcap record.
pub struct Record<'a> {
    pub ts_ns: i64,
    pub data: &'a [u8],
}

/// Parses a little-endian classic pcap with Ethernet frames.
pub fn records(pcap: &[u8]) -> Vec<Record<'_>> {
    let magic = u32::from_le_bytes(pcap[0..4].try_into().unwrap());
    let nanos = match magic {
        0xa1b2_c3d4 => false,
        0xa1b2_3c4d => true,
        m => panic!("bad magic {m:#x}"),
    };
    assert_eq!(&pcap[4..8], &[2, 0, 4, 0], "version 2.4");
    assert_eq!(
        u32::from_le_bytes(pcap[20..24].try_into().unwrap()),
        1,
        "Ethernet"
    );
    let mut out = Vec::new();
    let mut at = 24;
    while at < pcap.len() {
        let word = |o: usize| u32::from_le_bytes(pcap[at + o..at + o + 4].try_into().unwrap());
        let (secs, frac, incl, orig) = (word(0), word(4), word(8) as usize, word(12));
        assert_eq!(incl as u32, orig, "nothing is truncated");
        let sub = if nanos {
            i64::from(frac)
        } else {
            i64::from(frac) * 1000
        };
        assert!(sub < 1_000_000_000);
        out.push(Record {
            ts_ns: i64::from(secs) * 1_000_000_000 + sub,
            data: &pcap[at + 16..at + 16 + incl],
        });
        at += 16 + incl;
    }
    assert_eq!(at, pcap.len(), "no trailing bytes");
    out
}

/// What a frame says, decoded with no help from the generator.
#[derive(Debug, Clone)]
pub struct Decoded {
    pub tags: u8,
    pub qinq: bool,
    pub arp: bool,
    pub v6: bool,
    pub src: u128,
    pub dst: u128,
    pub info: Option<TransportInfo>,
    pub ttl: u8,
    pub ip_id: u16,
    pub tcp_seq: u32,
    pub tcp_window: u16,
    pub tcp_options: Vec<u8>,
    pub payload: Vec<u8>,
    pub checksums_ok: bool,
}

fn be16(b: &[u8], o: usize) -> u16 {
    u16::from_be_bytes([b[o], b[o + 1]])
}

fn csum(data: &[u8], init: u64) -> u16 {
    let mut s = init;
    for c in data.chunks(2) {
        s += u64::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]));
    }
    while s > 0xffff {
        s = (s & 0xffff) + (s >> 16);
    }
    !(s as u16)
}

pub fn decode(f: &[u8]) -> Decoded {
    assert!(f.len() >= 60, "short frame {}", f.len());
    let mut d = Decoded {
        tags: 0,
        qinq: false,
        arp: false,
        v6: false,
        src: 0,
        dst: 0,
        info: None,
        ttl: 0,
        ip_id: 0,
        tcp_seq: 0,
        tcp_window: 0,
        tcp_options: Vec::new(),
        payload: Vec::new(),
        checksums_ok: true,
    };
    let mut at = 12;
    let mut ethertype = be16(f, at);
    while ethertype == 0x8100 || ethertype == 0x88a8 {
        d.qinq |= ethertype == 0x88a8;
        d.tags += 1;
        at += 4;
        ethertype = be16(f, at);
    }
    at += 2;
    let ip = &f[at..];
    let (proto, l4, pseudo) = match ethertype {
        0x0806 => {
            d.arp = true;
            return d;
        }
        0x0800 => {
            assert_eq!(ip[0], 0x45);
            let total = usize::from(be16(ip, 2));
            d.checksums_ok &= csum(&ip[..20], 0) == 0;
            d.src = u128::from(u32::from_be_bytes(ip[12..16].try_into().unwrap()));
            d.dst = u128::from(u32::from_be_bytes(ip[16..20].try_into().unwrap()));
            d.ttl = ip[8];
            d.ip_id = be16(ip, 4);
            let frag = be16(ip, 6) & 0x1fff;
            if frag != 0 {
                d.info = Some(TransportInfo {
                    proto: Proto::from_number(ip[9]),
                    non_first_fragment: true,
                    ..Default::default()
                });
                return d;
            }
            let seg = &ip[20..total];
            let pseudo = u64::from(be16(ip, 12))
                + u64::from(be16(ip, 14))
                + u64::from(be16(ip, 16))
                + u64::from(be16(ip, 18))
                + u64::from(ip[9])
                + seg.len() as u64;
            (ip[9], seg, pseudo)
        }
        0x86dd => {
            d.v6 = true;
            let len = usize::from(be16(ip, 4));
            d.src = u128::from_be_bytes(ip[8..24].try_into().unwrap());
            d.dst = u128::from_be_bytes(ip[24..40].try_into().unwrap());
            d.ttl = ip[7];
            let seg = &ip[40..40 + len];
            let pseudo = ip[8..40]
                .chunks(2)
                .map(|c| u64::from(be16(c, 0)))
                .sum::<u64>()
                + u64::from(ip[6])
                + seg.len() as u64;
            (ip[6], seg, pseudo)
        }
        t => panic!("unexpected ethertype {t:#x}"),
    };
    let mut info = TransportInfo {
        proto: Proto::from_number(proto),
        ..Default::default()
    };
    match proto {
        6 => {
            d.checksums_ok &= csum(l4, pseudo) == 0;
            info.sport = be16(l4, 0);
            info.dport = be16(l4, 2);
            info.tcp_flags = l4[13];
            d.tcp_seq = u32::from_be_bytes(l4[4..8].try_into().unwrap());
            d.tcp_window = be16(l4, 14);
            let off = usize::from(l4[12] >> 4) * 4;
            d.tcp_options = l4[20..off].to_vec();
            d.payload = l4[off..].to_vec();
        }
        17 => {
            d.checksums_ok &= csum(l4, pseudo) == 0;
            assert_eq!(usize::from(be16(l4, 4)), l4.len());
            info.sport = be16(l4, 0);
            info.dport = be16(l4, 2);
            d.payload = l4[8..].to_vec();
        }
        1 => {
            d.checksums_ok &= csum(l4, 0) == 0;
            info.dport = u16::from(l4[0]);
            d.payload = l4[8..].to_vec();
        }
        58 => {
            d.checksums_ok &= csum(l4, pseudo) == 0;
            info.dport = u16::from(l4[0]);
            d.payload = l4[8..].to_vec();
        }
        _ => {}
    }
    d.info = Some(info);
    d
}

/// Everything the ground truth claims, recounted from the capture.
#[derive(Debug, Default)]
pub struct Tally {
    pub packets: u64,
    pub probe: u64,
    pub backscatter: u64,
    pub other: BTreeMap<OtherKind, u64>,
    pub probe_packets: BTreeMap<PortKey, u64>,
    pub probe_sources: BTreeMap<PortKey, HashSet<u128>>,
    pub probe_targets: BTreeMap<PortKey, HashSet<u128>>,
    pub backscatter_packets: BTreeMap<PortKey, u64>,
    pub backscatter_sources: BTreeMap<PortKey, HashSet<u128>>,
    pub probe_all_sources: HashSet<(bool, u128)>,
    pub ipv4: u64,
    pub ipv6: u64,
    pub arp: u64,
    pub dot1q: u64,
    pub qinq: u64,
    pub bad_checksums: u64,
}

pub fn tally(pcap: &[u8]) -> Tally {
    let mut t = Tally::default();
    let mut last = i64::MIN;
    for r in records(pcap) {
        assert!(r.ts_ns >= last, "packets in time order");
        last = r.ts_ns;
        t.packets += 1;
        let d = decode(r.data);
        t.bad_checksums += u64::from(!d.checksums_ok);
        match (d.tags, d.qinq) {
            (0, _) => {}
            (1, false) => t.dot1q += 1,
            (2, true) => t.qinq += 1,
            other => panic!("unexpected tagging {other:?}"),
        }
        if d.arp {
            t.arp += 1;
            *t.other.entry(OtherKind::NotIp).or_default() += 1;
            continue;
        }
        if d.v6 {
            t.ipv6 += 1;
        } else {
            t.ipv4 += 1;
        }
        let Some(info) = d.info else { continue };
        let c = classify(&info);
        match (c.class, c.key) {
            (Class::Probe, Some(k)) => {
                t.probe += 1;
                *t.probe_packets.entry(k).or_default() += 1;
                t.probe_sources.entry(k).or_default().insert(d.src);
                t.probe_targets.entry(k).or_default().insert(d.dst);
                t.probe_all_sources.insert((d.v6, d.src));
            }
            (Class::Backscatter, Some(k)) => {
                t.backscatter += 1;
                *t.backscatter_packets.entry(k).or_default() += 1;
                t.backscatter_sources.entry(k).or_default().insert(d.src);
            }
            (Class::Other(kind), _) => *t.other.entry(kind).or_default() += 1,
            (class, key) => panic!("{class:?} without a key {key:?}"),
        }
    }
    t
}
