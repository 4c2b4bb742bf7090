//! Lines per second through `LogParser::parse_line` on the real psad logs
//! (or, when the shared data is missing, on synthesized copies of one line).

use std::hint::black_box;
use std::path::PathBuf;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use portwatch_core::Timestamp;
use portwatch_fwlog::{LineOutcome, LogParser, ParseOptions};

const SYNTHETIC: &str = "Mar 11 20:35:11 linux kernel: [463490.251762] DROP IN=eth1 OUT= \
    MAC=23:87:fc:c6:24:58:00:21:3f:98:99:78:09:00 SRC=192.168.10.55 DST=192.168.10.1 LEN=44 \
    TOS=0x00 PREC=0x00 TTL=53 ID=15270 PROTO=TCP SPT=56247 DPT=1025 WINDOW=3072 RES=0x00 SYN \
    URGP=0 OPT (020405B4) ";

fn corpus() -> String {
    let dir = std::env::var_os("PORTWATCH_SHARED_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/external")
        })
        .join("psad-iptables-logs/iptables");
    let mut text = String::new();
    if let Ok(entries) = std::fs::read_dir(&dir) {
        let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        paths.sort();
        for p in paths {
            text += &std::fs::read_to_string(p).unwrap_or_default();
        }
    }
    if text.is_empty() {
        text = format!("{SYNTHETIC}\n").repeat(10_000);
    }
    text
}

fn parse(c: &mut Criterion) {
    let text = corpus();
    let lines: Vec<&str> = text.lines().collect();
    let mut group = c.benchmark_group("fwlog");
    group.throughput(Throughput::Elements(lines.len() as u64));
    group.bench_function("parse_line", |b| {
        b.iter(|| {
            let mut opts = ParseOptions::new(Timestamp::from_secs(1_566_374_401));
            opts.year = Some(2019);
            let mut parser = LogParser::new(opts);
            let mut events = 0usize;
            for line in &lines {
                if let LineOutcome::Event(e) = parser.parse_line(black_box(line)) {
                    events += usize::from(e.dport > 0);
                }
            }
            events
        })
    });
    group.finish();
}

criterion_group!(benches, parse);
criterion_main!(benches);
