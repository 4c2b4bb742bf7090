//! Merge throughput and query latency of the SQLite store on a simulated
//! capture: by default 5 million packets over 48 hours, with a long tail of
//! ports seeing one or two packets a minute and ~100k sources a day.
//!
//! `cargo bench -p portwatch-store --bench merge` (set `PORTWATCH_BENCH_PACKETS`
//! for another size). Prints rows per second into an empty and into a
//! populated store, per-minute batches into a populated store, query times
//! and the database size.

#![allow(clippy::print_stdout, clippy::unwrap_used)]

use std::net::{IpAddr, Ipv4Addr};
use std::time::Instant;

use portwatch_aggregate::{Aggregator, Batch, BatchId, SeriesClass};
use portwatch_core::{
    BucketWidth, Event, Fingerprint, PortKey, Proto, Timestamp, TransportInfo, classify, tcp_flags,
};
use portwatch_store::{
    Order, SeriesQuery, SourceOrder, SourcesQuery, SqliteStore, Store, TimeRange, TopPortsQuery,
};

const START: i64 = 1_700_006_400; // a UTC midnight
const HOURS: i64 = 48;
const POPULAR: [u16; 12] = [
    23, 445, 22, 80, 443, 3389, 8080, 5060, 1433, 3306, 6379, 5168,
];

/// xorshift64*: deterministic and dependency-free.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn event(rng: &mut Rng, ts: i64) -> Event<'static> {
    // Half the packets go to popular ports from a pool of heavy scanners,
    // half to uniformly random ports from a long tail of sources.
    let popular = rng.below(2) == 0;
    let (src, dport) = if popular {
        (
            rng.below(2_000),
            POPULAR[rng.below(POPULAR.len() as u64) as usize],
        )
    } else {
        (2_000 + rng.below(120_000), rng.below(65_536) as u16)
    };
    let (proto, flags) = match rng.below(20) {
        0 => (Proto::Udp, 0),
        1 => (Proto::Tcp, tcp_flags::SYN | tcp_flags::ACK),
        _ => (Proto::Tcp, tcp_flags::SYN),
    };
    let info = TransportInfo {
        proto: Some(proto),
        sport: 40_000,
        dport,
        tcp_flags: flags,
        non_first_fragment: false,
    };
    let c = classify(&info);
    Event {
        ts: Timestamp::from_secs(ts),
        src: IpAddr::V4(Ipv4Addr::from(0x2d00_0000 + src as u32)),
        dst: IpAddr::V4(Ipv4Addr::from(0xc612_0000 + rng.below(65_536) as u32)),
        proto: Some(proto),
        sport: 40_000,
        dport,
        class: c.class,
        key: c.key,
        ip_len: 40 + rng.below(20) as u32,
        fp: Fingerprint::default(),
        tcp_options: &[],
        payload: &[],
    }
}

/// One batch of `packets` packets spread over [`HOURS`] hours from `start`.
fn capture(seed: u64, packets: u64, start: i64, stream: &str) -> Batch {
    let mut rng = Rng(seed | 1);
    let mut agg = Aggregator::new();
    let span = (HOURS * 3600) as u64;
    for i in 0..packets {
        let ts = start + (i * span / packets) as i64;
        agg.observe(&event(&mut rng, ts));
    }
    agg.drain_all(BatchId {
        stream: stream.into(),
        seq: 0,
    })
}

fn rows(b: &Batch) -> usize {
    b.minutes.len() + b.sources.len()
}

/// Sizes of the database file and its write-ahead log, in MiB.
fn db_size(path: &std::path::Path) -> String {
    let mib = |s: &str| {
        std::fs::metadata(format!("{}{s}", path.display()))
            .map_or(0.0, |m| m.len() as f64 / 1048576.0)
    };
    format!(
        "{:.1} MiB (+ {:.1} MiB write-ahead log)",
        mib(""),
        mib("-wal")
    )
}

/// CPU seconds this process has used (all threads), from /proc on Linux; 0
/// elsewhere. The machine may be shared, so CPU time is the steadier number.
fn cpu_secs() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or(vec![], |(_, rest)| rest.split_whitespace().collect());
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after ")".
    (ticks(11) + ticks(12)) / 100.0
}

/// Wall and CPU seconds since `(wall, cpu)`.
fn since(start: (Instant, f64)) -> (f64, f64) {
    (start.0.elapsed().as_secs_f64(), cpu_secs() - start.1)
}

fn now() -> (Instant, f64) {
    (Instant::now(), cpu_secs())
}

async fn timed<T>(what: &str, f: impl std::future::Future<Output = T>) -> T {
    let t = now();
    let out = f.await;
    let (wall, cpu) = since(t);
    println!("{what}: {wall:.3} s ({cpu:.2} s CPU)");
    out
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let packets: u64 = std::env::var("PORTWATCH_BENCH_PACKETS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5_000_000);
    let dir = tempfile::tempdir().unwrap();
    // PORTWATCH_BENCH_DB keeps the database for inspection.
    let path = std::env::var_os("PORTWATCH_BENCH_DB")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| dir.path().join("bench.db"));
    let store = SqliteStore::open(&path).await.unwrap();

    let t = Instant::now();
    let first = capture(1, packets, START, "capture-1");
    println!(
        "built batch: {packets} packets -> {} port-minutes, {} source-days in {:.1} s",
        first.minutes.len(),
        first.sources.len(),
        t.elapsed().as_secs_f64()
    );
    let t = now();
    store.merge_batch(&first).await.unwrap();
    let (s, cpu) = since(t);
    println!(
        "merge into empty store: {s:.1} s ({cpu:.1} s CPU), {:.0} rows/s ({:.0} port-minutes/s)",
        rows(&first) as f64 / s,
        first.minutes.len() as f64 / s
    );
    println!("db size: {}", db_size(&path));

    // Same time range again from another stream: every minute, roll-up and
    // busy source-day exists already and is merged.
    if std::env::var_os("PORTWATCH_BENCH_FIRST_ONLY").is_some() {
        return;
    }
    let second = capture(2, packets, START, "capture-2");
    drop(first);
    let t = now();
    store.merge_batch(&second).await.unwrap();
    let (s, cpu) = since(t);
    println!(
        "merge same range into populated store: {s:.1} s ({cpu:.1} s CPU), {:.0} rows/s",
        rows(&second) as f64 / s
    );
    println!("db size: {}", db_size(&path));
    drop(second);

    // Live operation: one batch per minute on top of 96 hours of data.
    let minute_packets = (packets / (HOURS as u64 * 60)).max(1);
    let mut rng = Rng(3);
    let n = 60;
    let t = now();
    let mut minute_rows = 0;
    for m in 0..n {
        let mut agg = Aggregator::new();
        let ts0 = START + HOURS * 3600 + m * 60;
        for i in 0..minute_packets {
            agg.observe(&event(&mut rng, ts0 + (i * 60 / minute_packets) as i64));
        }
        let b = agg.drain_all(BatchId {
            stream: "live".into(),
            seq: m as u64,
        });
        minute_rows += rows(&b);
        store.merge_batch(&b).await.unwrap();
    }
    let (s, cpu) = since(t);
    println!(
        "{n} one-minute batches ({minute_packets} packets, ~{} rows each): {:.1} ms per batch ({:.1} ms CPU)",
        minute_rows / n as usize,
        s * 1000.0 / n as f64,
        cpu * 1000.0 / n as f64
    );

    let all = TopPortsQuery {
        class: SeriesClass::Probe,
        range: TimeRange::ALL,
        limit: 20,
        order: Order::Sources,
        proto: None,
    };
    timed("top 20 ports, all time", store.top_ports(&all))
        .await
        .unwrap();
    let ragged = TopPortsQuery {
        range: TimeRange::new(
            Timestamp::from_secs(START + 3 * 3600 + 17 * 60),
            Timestamp::from_secs(START + 29 * 3600 + 41 * 60),
        ),
        ..all.clone()
    };
    timed(
        "top 20 ports, 26h24m ragged range",
        store.top_ports(&ragged),
    )
    .await
    .unwrap();
    for width in [BucketWidth::Minute, BucketWidth::Hour] {
        let q = SeriesQuery {
            class: SeriesClass::Probe,
            port: PortKey::new(Proto::Tcp, 23),
            width,
            range: TimeRange::ALL,
        };
        let pts = timed(&format!("series 23/tcp at {width}"), store.series(&q))
            .await
            .unwrap();
        assert!(!pts.is_empty());
    }
    let q = SourcesQuery {
        range: TimeRange::ALL,
        limit: 20,
        port: None,
        order: SourceOrder::Probes,
    };
    timed("top 20 sources, all time", store.sources(&q))
        .await
        .unwrap();
    let q = SourcesQuery {
        port: Some(PortKey::new(Proto::Tcp, 5168)),
        ..q
    };
    timed("top 20 sources of 5168/tcp", store.sources(&q))
        .await
        .unwrap();
    timed("totals", store.totals()).await.unwrap();
    println!("db size: {}", db_size(&path));
}
