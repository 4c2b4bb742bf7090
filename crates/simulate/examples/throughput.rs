//! Measures generation speed: a 5-million-packet day from 200,000 sources
//! with two campaigns, written to a file (with its ground truth beside it
//! as `OUT.truth.json`) or discarded.
//!
//! ```text
//! cargo run --release -p portwatch-simulate --example throughput -- [PACKETS] [SOURCES] [OUT.pcap]
//! /usr/bin/time -v target/release/examples/throughput 5000000 200000 /tmp/bench.pcap
//! ```
#![allow(clippy::print_stdout, reason = "an example reports on stdout")]

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::time::Instant;

use portwatch_simulate::{SimConfig, simulate};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let packets: u64 = args.next().map_or(Ok(5_000_000), |a| a.parse())?;
    let sources: u32 = args.next().map_or(Ok(200_000), |a| a.parse())?;
    let out = args.next();
    let cfg = SimConfig {
        total_packets: Some(packets),
        background_sources: sources,
        campaigns: vec![
            "5168/tcp@14h+6h,sources=300,packets=100000,tool=masscan,ramp=taper".parse()?,
            "445/tcp@6h+4h,sources=2000,packets=200000,tool=zmap,ramp=linear".parse()?,
        ],
        ..SimConfig::default()
    };
    let started = Instant::now();
    let truth = match &out {
        Some(path) => simulate(&cfg, BufWriter::new(File::create(path)?))?,
        None => simulate(&cfg, io::sink())?,
    };
    let secs = started.elapsed().as_secs_f64();
    if let Some(path) = &out {
        let stem = path.strip_suffix(".pcap").unwrap_or(path);
        truth.write_ground_truth(format!("{stem}.truth.json"))?;
    }
    let mut stdout = io::stdout().lock();
    writeln!(
        stdout,
        "{} packets ({} probe sources) in {secs:.2} s: {:.2} M packets/s, {:.1} MB{}",
        truth.packets,
        truth.classes.probe.sources,
        truth.packets as f64 / secs / 1e6,
        truth.pcap_bytes as f64 / 1e6,
        out.map(|p| format!(" -> {p}")).unwrap_or_default(),
    )?;
    Ok(())
}
