//! The dense estimator against exact counts.

use std::net::{IpAddr, Ipv4Addr};

use portwatch_sketch::DistinctCounter;

mod common;
use common::mix;

fn relative_error(c: &DistinctCounter, n: u64) -> f64 {
    (c.estimate() as f64 - n as f64) / n as f64
}

#[test]
fn within_two_percent_at_a_million_over_several_seeds() {
    let n = 1_000_000u64;
    let mut worst = 0.0f64;
    for seed in 0..6u64 {
        let mut c = DistinctCounter::new();
        for i in 0..n {
            c.insert_hash(mix(mix(seed) ^ i));
        }
        let e = relative_error(&c, n);
        eprintln!(
            "seed {seed}: estimate {} for {n}, error {:+.3}%",
            c.estimate(),
            100.0 * e
        );
        worst = worst.max(e.abs());
    }
    // Real addresses through the real hash: a darknet-like /12 sweep.
    let mut c = DistinctCounter::new();
    for i in 0..n as u32 {
        c.insert_ip(IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + i)));
    }
    let e = relative_error(&c, n);
    eprintln!(
        "hash_ip over 10.0.0.0 + 1M: estimate {}, error {:+.3}%",
        c.estimate(),
        100.0 * e
    );
    worst = worst.max(e.abs());
    assert!(worst <= 0.02, "worst relative error {worst}");
}

#[test]
fn unbiased_across_the_range_after_the_switch() {
    // At every size the mean error over seeds stays well inside the standard
    // error, and no single run is beyond four standard errors: no bias hump
    // near the sparse limit, where raw HyperLogLog estimators need tables.
    let sigma = DistinctCounter::RELATIVE_ERROR;
    for n in [1_536u64, 2_000, 5_000, 12_000, 40_000, 200_000] {
        let runs = 16u64;
        let mut sum = 0.0;
        for seed in 0..runs {
            let mut c = DistinctCounter::new();
            for i in 0..n {
                c.insert_hash(mix(mix(seed + 1000 * n) ^ i));
            }
            let e = relative_error(&c, n);
            assert!(e.abs() < 4.0 * sigma, "n {n} seed {seed}: error {e}");
            sum += e;
        }
        let mean = sum / runs as f64;
        eprintln!("n {n}: mean error over {runs} seeds {:+.3}%", 100.0 * mean);
        assert!(mean.abs() < sigma, "n {n}: mean error {mean}");
    }
}
