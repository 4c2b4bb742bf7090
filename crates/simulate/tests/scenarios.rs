//! The shapes the detector's scenario suite relies on: campaign windows and
//! ramps, daily and weekly rhythm, gaps, and quiet ports that stay quiet.
#![allow(clippy::unwrap_used, reason = "tests fail loudly")]

mod common;

use std::collections::{BTreeMap, HashSet};

use common::{decode, records, run};
use portwatch_core::{PortKey, Proto};
use portwatch_simulate::{Gap, SimConfig};

const DAY0: i64 = 1_767_571_200;

fn quiet_background(duration_secs: u64, pps: f64) -> SimConfig {
    SimConfig {
        duration_secs,
        background_pps: pps,
        background_sources: 2000,
        // Nothing lands on 5168 by chance, so every packet there is the
        // campaign's.
        tail_fraction: 0.0,
        ..SimConfig::default()
    }
}

/// Distinct sources per minute of the run sending TCP SYNs to `port`.
fn sources_per_minute(pcap: &[u8], port: u16) -> BTreeMap<i64, usize> {
    let mut per: BTreeMap<i64, HashSet<u128>> = BTreeMap::new();
    for r in records(pcap) {
        let d = decode(r.data);
        if let Some(i) = d.info
            && i.proto == Some(Proto::Tcp)
            && i.dport == port
            && i.tcp_flags == 0x02
        {
            let minute = (r.ts_ns / 1_000_000_000 - DAY0) / 60;
            per.entry(minute).or_default().insert(d.src);
        }
    }
    per.into_iter().map(|(m, s)| (m, s.len())).collect()
}

#[test]
fn taper_campaign_stays_in_its_window_and_follows_its_ramp() {
    // 300 sources from 01:00, joining over 30 min, halving every hour.
    let mut cfg = quiet_background(6 * 3600, 1.0);
    cfg.campaigns = vec![
        "5168/tcp@1h+4h,sources=300,pps=0.25,ramp=taper:30m:1h"
            .parse()
            .unwrap(),
    ];
    let (pcap, truth) = run(&cfg);
    let c = &truth.campaigns[0];
    assert_eq!(
        (c.start.as_str(), c.end.as_str()),
        ("2026-01-05T01:00:00Z", "2026-01-05T05:00:00Z")
    );
    assert_eq!(c.sources_seen, 300);

    let (start, end) = (
        (DAY0 + 3600) * 1_000_000_000,
        (DAY0 + 5 * 3600) * 1_000_000_000,
    );
    let mut seen = 0;
    for r in records(&pcap) {
        let d = decode(r.data);
        if d.info
            .is_some_and(|i| i.proto == Some(Proto::Tcp) && i.dport == 5168)
        {
            assert!(
                (start..end).contains(&r.ts_ns),
                "campaign packet at {}",
                r.ts_ns
            );
            seen += 1;
        }
    }
    assert_eq!(seen, c.packets);

    let per = sources_per_minute(&pcap, 5168);
    // The ramp, `t` seconds into the campaign.
    let level = |t: f64| {
        if t < 1800.0 {
            t / 1800.0
        } else {
            (-(t - 1800.0) / 3600.0).exp2()
        }
    };
    for minute in 60..300 {
        // Sources active at some moment of the minute: the ramp's level at
        // its end while rising, at its start while falling. Those active
        // only for the last seconds may not have probed yet (0.25 pps).
        let t = (minute - 60) as f64 * 60.0;
        let (a, b) = (300.0 * level(t), 300.0 * level(t + 60.0));
        let got = per.get(&minute).copied().unwrap_or(0) as f64;
        assert!(
            got <= a.max(b) + 0.5 && got >= a.min(b) - 3.0 - 0.03 * a.max(b),
            "minute {minute}: {got} sources, ramp goes {a:.1} -> {b:.1}"
        );
    }
    assert!(per.keys().all(|m| (60..300).contains(m)));
}

#[test]
fn linear_and_step_ramps() {
    let mut cfg = quiet_background(2 * 3600, 0.5);
    cfg.campaigns = vec![
        "5168/tcp@30m+1h,sources=120,pps=0.5,ramp=linear:20m"
            .parse()
            .unwrap(),
        "12345/tcp@30m+1h,sources=40,pps=0.5,ramp=step"
            .parse()
            .unwrap(),
    ];
    let (pcap, _) = run(&cfg);
    let linear = sources_per_minute(&pcap, 5168);
    for minute in 30..90 {
        let t = (minute - 30) as f64 + 0.5;
        let want = 120.0 * (t / 20.0).min(1.0);
        let got = linear.get(&minute).copied().unwrap_or(0) as f64;
        // A source active for a whole minute at 0.5 pps stays silent with
        // probability e^-30; near the edges of its interval it may not.
        assert!(
            (got - want).abs() <= 4.0 + 0.05 * want,
            "minute {minute}: {got} vs {want:.1}"
        );
    }
    let step = sources_per_minute(&pcap, 12345);
    assert!((30..90).all(|m| step.get(&m) == Some(&40)), "{step:?}");
    assert!(step.keys().all(|m| (30..90).contains(m)));
}

fn hour_counts(pcap: &[u8]) -> BTreeMap<i64, u64> {
    let mut by_hour = BTreeMap::new();
    for r in records(pcap) {
        *by_hour
            .entry((r.ts_ns / 1_000_000_000 - DAY0) / 3600)
            .or_insert(0) += 1;
    }
    by_hour
}

#[test]
fn daily_rhythm_shows_day_and_night() {
    let cfg = SimConfig {
        duration_secs: 2 * 86_400,
        total_packets: Some(200_000),
        background_sources: 2000,
        daily_amplitude: 0.5,
        daily_peak_hour: 14.0,
        ..SimConfig::default()
    };
    let (pcap, _) = run(&cfg);
    let hours = hour_counts(&pcap);
    let at =
        |h: i64| hours.get(&h).copied().unwrap_or(0) + hours.get(&(h + 24)).copied().unwrap_or(0);
    // Hour 14 is centred on the peak only half-way: the rate there averages
    // 1 + a * mean(cos) over [0, 1h) after the peak.
    let mean_cos = |from: f64| {
        let w = std::f64::consts::TAU / 24.0;
        ((w * (from + 1.0)).sin() - (w * from).sin()) / w
    };
    let want = (1.0 + 0.5 * mean_cos(0.0)) / (1.0 - 0.5 * mean_cos(0.0));
    let got = at(14) as f64 / at(2) as f64;
    assert!(
        (got / want - 1.0).abs() < 0.08,
        "day/night {got:.3}, rhythm says {want:.3}"
    );
}

#[test]
fn weekly_rhythm_peaks_on_its_day() {
    let cfg = SimConfig {
        duration_secs: 14 * 86_400,
        total_packets: Some(150_000),
        background_sources: 1000,
        daily_amplitude: 0.0,
        weekly_amplitude: 0.4,
        weekly_peak_day: 2.5,
        ..SimConfig::default()
    };
    let (pcap, _) = run(&cfg);
    let mut days = [0u64; 7];
    for (h, n) in hour_counts(&pcap) {
        days[((h / 24) % 7) as usize] += n;
    }
    // The run starts on a Monday, so index 2 is Wednesday, the peak; the
    // trough falls half a week later, between Saturday and Sunday.
    let c = (std::f64::consts::PI / 7.0).sin() / (std::f64::consts::PI / 7.0);
    let want = (1.0 + 0.4 * c) / (1.0 - 0.4 * (std::f64::consts::PI / 7.0).cos() * c);
    let got = days[2] as f64 / ((days[5] + days[6]) as f64 / 2.0);
    assert!(
        (got / want - 1.0).abs() < 0.1,
        "peak/trough {got:.3}, rhythm says {want:.3}"
    );
    assert!(days.iter().all(|&d| d <= days[2]));
}

#[test]
fn gaps_hold_no_packets_at_all() {
    let mut cfg = quiet_background(3600, 20.0);
    cfg.campaigns = vec!["5168/tcp@10m+20m,sources=30,pps=1".parse().unwrap()];
    cfg.gaps = vec![
        Gap {
            offset_secs: 900,
            duration_secs: 300,
        },
        "50m+1m".parse().unwrap(),
    ];
    let (pcap, truth) = run(&cfg);
    let rec = records(&pcap);
    let secs = |r: &common::Record<'_>| r.ts_ns / 1_000_000_000 - DAY0;
    assert!(
        rec.iter()
            .all(|r| !(900..1200).contains(&secs(r)) && !(3000..3060).contains(&secs(r)))
    );
    assert!(rec.iter().any(|r| secs(r) == 899) && rec.iter().any(|r| secs(r) == 1200));
    let c = &truth.campaigns[0];
    // 30 sources at 1 pps lose about 300 s of probes each.
    assert!(
        (8000..10_000).contains(&c.dropped_in_gaps),
        "{}",
        c.dropped_in_gaps
    );
    assert_eq!(truth.gaps[0].start, "2026-01-05T00:15:00Z");
    assert_eq!(truth.gaps[1].end_unix, DAY0 + 3060);
}

#[test]
fn campaign_ports_are_near_silent_in_the_background() {
    let cfg = SimConfig {
        duration_secs: 86_400,
        total_packets: Some(300_000),
        background_sources: 5000,
        ..SimConfig::default()
    };
    let (_, truth) = run(&cfg);
    let probes = |k: &str| {
        truth
            .probe(k.parse::<PortKey>().unwrap())
            .map_or(0, |p| p.packets)
    };
    // The uniform tail gives each TCP port about
    // 300k * 0.86 probe share * 0.15 tail * 0.8 TCP / 65536 ≈ 0.5 packets.
    for quiet in ["5168/tcp", "12345/tcp", "0/tcp", "0/udp"] {
        assert!(probes(quiet) <= 5, "{quiet}: {}", probes(quiet));
    }
    assert!(probes("445/tcp") > 10_000);
    assert!(probes("23/tcp") > probes("445/tcp"));
    // Heavy tail: the busiest 1% of sources send most probes, and many
    // sources send only a few.
    assert!(truth.classes.probe.sources > 4000);
}

#[test]
fn loud_single_scanner_and_port_zero_bursts() {
    let mut cfg = quiet_background(3600, 2.0);
    cfg.campaigns = vec![
        "2000/tcp@10m+10m,sources=1,pps=50,tool=zmap"
            .parse()
            .unwrap(),
        "0/tcp@30m+5m,sources=60,packets=2000".parse().unwrap(),
        "0/udp@30m+5m,sources=60,packets=2000".parse().unwrap(),
    ];
    let (_, truth) = run(&cfg);
    let loud = truth.probe(PortKey::new(Proto::Tcp, 2000)).unwrap();
    assert_eq!(loud.sources, 1);
    assert!((27_000..33_000).contains(&loud.packets), "{}", loud.packets);
    assert!(loud.targets > 20_000, "a ZMap sweep reaches many addresses");
    for proto in [Proto::Tcp, Proto::Udp] {
        let p = truth.probe(PortKey::new(proto, 0)).unwrap();
        assert_eq!((p.campaign_packets, p.sources), (2000, 60));
    }
}
