//! Hot-path costs of the summaries: inserts at each size, merges, estimates.

use std::hint::black_box;
use std::net::IpAddr;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use portwatch_core::{PortKey, Proto};
use portwatch_sketch::{DistinctCounter, PortSet, TopK, hash_ip};

/// Deterministic, well-spread hashes (splitmix64).
fn hashes(n: usize, seed: u64) -> Vec<u64> {
    let mut x = seed;
    (0..n)
        .map(|_| {
            x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = x;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        })
        .collect()
}

fn counter_of(hs: &[u64]) -> DistinctCounter {
    let mut c = DistinctCounter::new();
    for &h in hs {
        c.insert_hash(h);
    }
    c
}

fn distinct_inserts(c: &mut Criterion) {
    let mut g = c.benchmark_group("distinct_insert");
    // A repeat of a hash already held: the most common packet on a busy port.
    for (name, size) in [
        ("tiny_4", 4),
        ("medium_1000", 1000),
        ("dense_100k", 100_000),
    ] {
        let base = counter_of(&hashes(size, 1));
        let probe = hashes(size, 1)[size / 2];
        g.bench_function(format!("{name}/repeat"), |b| {
            let mut c = base.clone();
            b.iter(|| c.insert_hash(black_box(probe)))
        });
    }
    // New hashes: 1024 per iteration, reported per batch.
    let fresh = hashes(1024, 2);
    g.bench_function("tiny_fill_8/new", |b| {
        b.iter(|| {
            let mut c = DistinctCounter::new();
            for &h in &fresh[..8] {
                c.insert_hash(h);
            }
            black_box(c)
        })
    });
    let medium = counter_of(&hashes(500, 3));
    g.bench_function("medium_500_plus_1024/new", |b| {
        b.iter_batched_ref(
            || medium.clone(),
            |c| {
                for &h in &fresh {
                    c.insert_hash(h);
                }
            },
            BatchSize::SmallInput,
        )
    });
    let dense = counter_of(&hashes(100_000, 4));
    g.bench_function("dense_plus_1024/new", |b| {
        let mut c = dense.clone();
        b.iter(|| {
            for &h in &fresh {
                c.insert_hash(h);
            }
        })
    });
    let ip: IpAddr = "192.0.2.77".parse().expect("literal address");
    g.bench_function("hash_ip_v4", |b| b.iter(|| hash_ip(black_box(ip))));
    // What aggregation does per packet: hash the source, count it.
    g.bench_function("tiny_4/insert_ip_repeat", |b| {
        let mut c = DistinctCounter::new();
        for i in 0..4u8 {
            c.insert_ip(IpAddr::from([192, 0, 2, 75 + i]));
        }
        b.iter(|| c.insert_ip(black_box(ip)))
    });
    g.finish();
}

fn distinct_merges(c: &mut Criterion) {
    let mut g = c.benchmark_group("distinct_merge");
    let cases = [
        ("tiny_into_tiny", 4, 4),
        ("medium_into_medium", 700, 700),
        ("tiny_into_dense", 100_000, 4),
        ("dense_into_dense", 100_000, 100_000),
    ];
    for (name, na, nb) in cases {
        let a = counter_of(&hashes(na, 10));
        let b2 = counter_of(&hashes(nb, 11));
        g.bench_function(name, |b| {
            b.iter_batched_ref(|| a.clone(), |a| a.merge(&b2), BatchSize::SmallInput)
        });
    }
    let dense = counter_of(&hashes(100_000, 12));
    g.bench_function("dense_estimate", |b| {
        b.iter(|| black_box(&dense).estimate())
    });
    g.finish();
}

fn topk_and_ports(c: &mut Criterion) {
    let mut g = c.benchmark_group("topk_portset");
    let addrs: Vec<IpAddr> = hashes(64, 20)
        .into_iter()
        .map(|h| IpAddr::from((h as u32).to_be_bytes()))
        .collect();
    let mut full = TopK::new(TopK::DEFAULT_CAPACITY);
    for a in &addrs[..32] {
        full.add(*a, 1);
    }
    g.bench_function("topk_add_held", |b| {
        let mut t = full.clone();
        b.iter(|| t.add(black_box(addrs[17]), 1))
    });
    g.bench_function("topk_add_64_keys_cycling", |b| {
        let mut t = full.clone();
        let mut i = 0;
        b.iter(|| {
            i = (i + 1) & 63;
            t.add(black_box(addrs[i]), 1)
        })
    });
    let mut other = TopK::new(TopK::DEFAULT_CAPACITY);
    for a in &addrs[32..] {
        other.add(*a, 2);
    }
    g.bench_function("topk_merge_full", |b| {
        b.iter_batched_ref(|| full.clone(), |t| t.merge(&other), BatchSize::SmallInput)
    });
    g.bench_function("topk_fill_8_new", |b| {
        b.iter(|| {
            let mut t = TopK::new(TopK::DEFAULT_CAPACITY);
            for a in &addrs[..8] {
                t.add(*a, 1);
            }
            black_box(t)
        })
    });
    let mut ports = PortSet::new();
    ports.insert(PortKey::new(Proto::Tcp, 445));
    g.bench_function("portset_insert_held", |b| {
        let mut s = ports.clone();
        b.iter(|| s.insert(black_box(PortKey::new(Proto::Tcp, 445))))
    });
    let mut wide = PortSet::new();
    for port in (0..60_000).step_by(7) {
        wide.insert(PortKey::new(Proto::Tcp, port));
    }
    g.bench_function("portset_merge_small_into_bitmap", |b| {
        b.iter_batched_ref(|| wide.clone(), |s| s.merge(&ports), BatchSize::SmallInput)
    });
    g.finish();
}

criterion_group!(benches, distinct_inserts, distinct_merges, topk_and_ports);
criterion_main!(benches);
