//! Decode → classify → aggregate throughput on a simulated darknet capture
//! held in memory, with one and two aggregation workers (plus the reader).
//!
//! The capture keeps the shape of the issue's 5-million-packet benchmark
//! (about 25 packets per source, about 2,000 packets a minute) at a tenth of
//! its size. Batches are dropped as they come, as `analyze --no-store` does;
//! the port totals for the report are still computed.
//!
//! ```text
//! cargo bench -p portwatch-pipeline --bench analyze
//! ```

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use portwatch_pipeline::analyze::DEFAULT_BATCH_RECORDS;
use portwatch_pipeline::{CaptureOptions, aggregate_capture};
use portwatch_simulate::{SimConfig, simulate};

fn capture() -> (Vec<u8>, u64) {
    let cfg = SimConfig {
        seed: 5,
        duration_secs: 4 * 3600,
        total_packets: Some(500_000),
        background_sources: 20_000,
        campaigns: vec![
            "5168/tcp@2h+1h,sources=300,packets=20000,tool=masscan,ramp=taper"
                .parse()
                .expect("a valid campaign"),
        ],
        ..SimConfig::default()
    };
    let mut pcap = Vec::new();
    let truth = simulate(&cfg, &mut pcap).expect("simulating into memory");
    (pcap, truth.packets)
}

fn analyze(c: &mut Criterion) {
    let (pcap, packets) = capture();
    let mut g = c.benchmark_group("analyze");
    g.throughput(Throughput::Elements(packets));
    g.sample_size(10);
    for workers in [1, 2] {
        let opts = CaptureOptions {
            workers,
            batch_records: DEFAULT_BATCH_RECORDS,
            exclude: None,
        };
        g.bench_function(format!("decode_aggregate/workers_{workers}"), |b| {
            b.iter(|| {
                let out = aggregate_capture(&pcap[..], "bench", &opts, |batch| {
                    black_box(batch);
                })
                .expect("a simulated capture reads");
                assert_eq!(out.counts.records(), packets);
                black_box(out.totals.len())
            })
        });
    }
    g.finish();
}

criterion_group!(benches, analyze);
criterion_main!(benches);
