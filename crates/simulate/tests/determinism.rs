//! Same seed, same bytes; another seed, other bytes; and campaigns leave
//! the background untouched.
#![allow(clippy::unwrap_used, reason = "tests fail loudly")]

mod common;

use common::{records, run};
use portwatch_simulate::SimConfig;

fn small(seed: u64) -> SimConfig {
    SimConfig {
        seed,
        duration_secs: 1800,
        background_pps: 5.0,
        background_sources: 400,
        ipv6_fraction: 0.05,
        vlan_fraction: 0.05,
        ..SimConfig::default()
    }
}

#[test]
fn same_seed_same_bytes_other_seed_other_bytes() {
    let (a, ta) = run(&small(7));
    let (b, tb) = run(&small(7));
    let (c, _) = run(&small(8));
    assert!(a.len() > 10_000);
    assert!(a == b, "identical configs give identical captures");
    assert_eq!(ta, tb);
    assert!(a != c, "another seed gives another capture");
}

#[test]
fn total_packets_is_exact() {
    let cfg = SimConfig {
        total_packets: Some(12_345),
        ..small(3)
    };
    let (_, t) = run(&cfg);
    assert_eq!(t.packets, 12_345);
}

#[test]
fn adding_a_campaign_keeps_the_background() {
    let base = small(21);
    let with = SimConfig {
        campaigns: vec![
            "5168/tcp@5m+20m,sources=50,pps=0.3,ramp=taper"
                .parse()
                .unwrap(),
        ],
        ..base.clone()
    };
    let (a, _) = run(&base);
    let (b, tb) = run(&with);
    let ra = records(&a);
    let rb = records(&b);
    assert_eq!((rb.len() - ra.len()) as u64, tb.campaigns[0].packets);
    // The background frames appear in the larger capture, in order, with
    // the same timestamps.
    let mut it = rb.iter();
    for r in &ra {
        assert!(
            it.any(|x| x.ts_ns == r.ts_ns && x.data == r.data),
            "background frame at {} missing",
            r.ts_ns
        );
    }
}

#[test]
fn progress_reports_climb_to_the_end() {
    let cfg = SimConfig {
        total_packets: Some(200_000),
        ..small(5)
    };
    let mut seen = Vec::new();
    let truth = portwatch_simulate::simulate_with_progress(&cfg, std::io::sink(), |p| seen.push(p))
        .unwrap();
    assert_eq!(seen.len(), 200_000 / 65_536 + 1);
    assert!(
        seen.windows(2)
            .all(|w| w[0].packets <= w[1].packets && w[0].sim_time <= w[1].sim_time)
    );
    let last = seen.last().unwrap();
    assert_eq!(last.packets, truth.packets);
    assert!(last.fraction > 0.99 && last.fraction <= 1.0);
}
