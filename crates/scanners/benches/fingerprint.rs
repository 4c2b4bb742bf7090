//! `tool_of` per probe, on the real captures in `tests-data/tools`: what the
//! hot path pays for fingerprinting.

use std::hint::black_box;
use std::path::Path;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use portwatch_decode::{CaptureReader, decode};
use portwatch_scanners::tool_of;

/// Every frame of a capture as an owned buffer, so events can borrow them.
fn frames(
    name: &str,
) -> Vec<(
    portwatch_decode::LinkType,
    portwatch_core::Timestamp,
    Vec<u8>,
    u32,
)> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests-data/tools")
        .join(name);
    let Ok(file) = std::fs::read(&path) else {
        return Vec::new();
    };
    let mut input: &[u8] = &file;
    let Ok(mut reader) = CaptureReader::new(&mut input) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    while let Some(Ok(r)) = reader.next_record() {
        out.push((r.link_type, r.ts, r.data.to_vec(), r.orig_len));
    }
    out
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("tool_of");
    for name in [
        "masscan.pcap",
        "nmap-syn.pcap",
        "zmap.pcap",
        "hping3-syn.pcap",
    ] {
        let frames = frames(name);
        let events: Vec<_> = frames
            .iter()
            .filter_map(|(link, ts, data, len)| decode(*link, *ts, data, *len).ok())
            .collect();
        if events.is_empty() {
            continue;
        }
        group.throughput(Throughput::Elements(events.len() as u64));
        group.bench_function(name, |b| {
            b.iter(|| {
                let mut n = 0u32;
                for ev in &events {
                    n += tool_of(black_box(ev)) as u32;
                }
                n
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
