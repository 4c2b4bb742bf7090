//! Longest-prefix lookups over 100k prefixes (IPv4 and IPv6).

// Inputs are generated in range; a failure here is a bug in the bench.
#![allow(clippy::unwrap_used, clippy::print_stderr)]

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use portwatch_enrich::lists::PrefixMap;

/// xorshift64*: deterministic inputs without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

const PREFIXES: usize = 100_000;
const PROBES: usize = 4096;

fn bench(c: &mut Criterion) {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let v4: Vec<(IpNet, u32)> = (0..PREFIXES)
        .map(|i| {
            let len = 8 + (rng.next() % 25) as u8;
            let net = Ipv4Net::new(Ipv4Addr::from(rng.next() as u32), len).unwrap();
            (IpNet::V4(net.trunc()), i as u32)
        })
        .collect();
    let v6: Vec<(IpNet, u32)> = (0..PREFIXES)
        .map(|i| {
            // Realistic allocations: inside 2000::/3, /19 to /64.
            let hi = (u128::from(rng.next()) << 64) | u128::from(rng.next());
            let addr = (hi >> 3) | (1u128 << 125);
            let len = 19 + (rng.next() % 46) as u8;
            let net = Ipv6Net::new(Ipv6Addr::from(addr), len).unwrap();
            (IpNet::V6(net.trunc()), i as u32)
        })
        .collect();
    let mut group = c.benchmark_group("prefix_map");
    group.bench_function("build_100k_v4", |b| {
        b.iter(|| PrefixMap::new(black_box(v4.clone())))
    });
    let map4 = PrefixMap::new(v4.clone());
    let map6 = PrefixMap::new(v6.clone());
    // Half the probes inside listed prefixes, half random.
    let probes4: Vec<IpAddr> = (0..PROBES)
        .map(|i| match i % 2 {
            0 => v4[(rng.next() as usize) % PREFIXES].0.network(),
            _ => IpAddr::V4(Ipv4Addr::from(rng.next() as u32)),
        })
        .collect();
    let probes6: Vec<IpAddr> = (0..PROBES)
        .map(|i| match i % 2 {
            0 => v6[(rng.next() as usize) % PREFIXES].0.network(),
            _ => IpAddr::V6(Ipv6Addr::from(
                ((u128::from(rng.next()) << 64) | u128::from(rng.next())) >> 3 | (1u128 << 125),
            )),
        })
        .collect();
    group.throughput(Throughput::Elements(PROBES as u64));
    group.bench_function("lookup_100k_v4", |b| {
        b.iter(|| {
            probes4
                .iter()
                .filter(|ip| map4.longest_match(**ip).is_some())
                .count()
        })
    });
    group.bench_function("lookup_100k_v6", |b| {
        b.iter(|| {
            probes6
                .iter()
                .filter(|ip| map6.longest_match(**ip).is_some())
                .count()
        })
    });
    group.finish();
}

/// Loading the shipped KEV snapshot, and one port's merged history: the cost
/// paid once at start and once per alert.
fn kev(c: &mut Criterion) {
    use portwatch_core::Timestamp;
    use portwatch_enrich::{kev::Catalog, knowledge::Knowledge};
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("data/kev-2025-08-25.json.gz");
    let mut group = c.benchmark_group("kev");
    group.sample_size(20);
    group.bench_function("load_snapshot", |b| {
        b.iter(|| Catalog::load(&path).unwrap())
    });
    let catalog = Catalog::load(&path).unwrap();
    let knowledge = Knowledge::builtin();
    let onset = Timestamp::parse_rfc3339("2022-06-01T00:00:00Z").unwrap();
    let smb = "445/tcp".parse().unwrap();
    group.bench_function("vulns_for_port_445", |b| {
        b.iter(|| catalog.vulns_for_port(knowledge, black_box(smb), onset, 3650))
    });
    group.finish();
}

/// Everything about one source, as reports and alerts ask it per source:
/// the MaxMind test databases (country and ASN; skipped when the shared
/// data is absent), five lists of 20k prefixes each and a research list.
fn enricher(c: &mut Criterion) {
    use portwatch_enrich::Enricher;
    use portwatch_enrich::lists::{AddressList, AddressLists, Scanners};
    let shared = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/external/maxmind-test-dbs");
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let mut net = || {
        let len = 12 + (rng.next() % 21) as u8;
        IpNet::V4(
            Ipv4Net::new(Ipv4Addr::from(rng.next() as u32), len)
                .unwrap()
                .trunc(),
        )
    };
    let lists: Vec<AddressList> = (0..5)
        .map(|i| AddressList::new(format!("list{i}"), (0..20_000).map(|_| net()).collect()))
        .collect();
    let research: String = (0..500).map(|i| format!("{}\tOrg {i}\n", net())).collect();
    let geo = if shared.is_dir() {
        let db = portwatch_enrich::geo::GeoDb::open(
            Some(&shared.join("GeoLite2-Country-Test.mmdb")),
            Some(&shared.join("GeoLite2-ASN-Test.mmdb")),
        );
        Some(db.unwrap())
    } else {
        eprintln!("skipped geo: {} not found", shared.display());
        None
    };
    let e = Enricher::new(
        geo,
        AddressLists::new(lists),
        Some(Scanners::parse(&research, "bench").unwrap()),
    );
    // Addresses the test databases know (GB, SE, Telstra, Google) and
    // random ones, as a darknet's sources are.
    let mut probes: Vec<IpAddr> = ["81.2.69.142", "89.160.20.115", "1.128.0.1", "1.0.0.1"]
        .iter()
        .map(|s| s.parse().unwrap())
        .collect();
    probes.extend((0..PROBES - 4).map(|_| IpAddr::V4(Ipv4Addr::from(rng.next() as u32))));
    let mut group = c.benchmark_group("enricher");
    group.throughput(Throughput::Elements(probes.len() as u64));
    group.bench_function("lookup_per_source", |b| {
        b.iter(|| probes.iter().filter(|ip| e.lookup(**ip).is_ok()).count())
    });
    group.finish();
}

criterion_group!(benches, bench, kev, enricher);
criterion_main!(benches);
