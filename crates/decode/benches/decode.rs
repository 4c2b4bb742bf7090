//! Records per second for the capture reader alone and for reader + decode,
//! over an in-memory pcap of 60-byte Ethernet/IPv4/TCP SYN probes.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use portwatch_core::Timestamp;
use portwatch_decode::{CaptureReader, LinkType, decode};

const RECORDS: u32 = 200_000;

/// A masscan-like SYN: window 1024, no options, padded to 60 bytes.
fn syn_frame(i: u32) -> [u8; 60] {
    let mut f = [0u8; 60];
    f[..14].copy_from_slice(&[
        0, 0x11, 0x22, 0x33, 0x44, 0x55, 0, 0x66, 0x77, 0x88, 0x99, 0xaa, 0x08, 0x00,
    ]);
    let ip = [
        0x45,
        0,
        0,
        40,
        0xd4,
        0x31,
        0,
        0,
        0xf3,
        6,
        0,
        0,
        198,
        51,
        100,
        7,
        192,
        0,
        (i >> 8) as u8,
        i as u8,
    ];
    f[14..34].copy_from_slice(&ip);
    let dport = (i % 1024) as u16;
    f[34..36].copy_from_slice(&61000u16.to_be_bytes());
    f[36..38].copy_from_slice(&dport.to_be_bytes());
    f[38..42].copy_from_slice(&i.to_be_bytes());
    f[46] = 0x50;
    f[47] = 0x02;
    f[48..50].copy_from_slice(&1024u16.to_be_bytes());
    f
}

fn synthetic_pcap() -> Vec<u8> {
    let mut out = Vec::with_capacity(24 + RECORDS as usize * 76);
    out.extend([
        0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 1, 0, 0, 0,
    ]);
    for i in 0..RECORDS {
        out.extend((1_187_791_200 + i / 1000).to_le_bytes());
        out.extend((i % 1000 * 1000).to_le_bytes());
        out.extend(60u32.to_le_bytes());
        out.extend(60u32.to_le_bytes());
        out.extend(syn_frame(i));
    }
    out
}

fn bench(c: &mut Criterion) {
    let file = synthetic_pcap();
    let mut group = c.benchmark_group("pcap_60_byte_syns");
    group.throughput(Throughput::Elements(u64::from(RECORDS)));
    group.bench_function("reader", |b| {
        b.iter(|| {
            let mut reader =
                CaptureReader::new(black_box(&file[..])).expect("synthetic pcap header");
            let mut bytes = 0usize;
            while let Some(r) = reader.next_record() {
                bytes += r.expect("synthetic record").data.len();
            }
            bytes
        })
    });
    group.bench_function("reader_and_decode", |b| {
        b.iter(|| {
            let mut reader =
                CaptureReader::new(black_box(&file[..])).expect("synthetic pcap header");
            let mut probes = 0u32;
            while let Some(r) = reader.next_record() {
                let r = r.expect("synthetic record");
                if let Ok(e) = decode(r.link_type, r.ts, r.data, r.orig_len) {
                    probes += u32::from(e.key.is_some());
                }
            }
            probes
        })
    });
    group.finish();

    let frame = syn_frame(445);
    let ts = Timestamp::from_secs(1_187_791_200);
    c.bench_function("decode_ethernet_ipv4_tcp_syn", |b| {
        b.iter(|| decode(LinkType::ETHERNET, ts, black_box(&frame), 60))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
