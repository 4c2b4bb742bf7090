//! The detector on hand-made series: lifecycle, re-opening, gaps, port
//! lists, input errors, JSON, and lifecycle invariants under random input.

use std::net::{IpAddr, Ipv4Addr};

use portwatch_core::PortKey;
use portwatch_detect::{
    Alert, Change, DetectConfig, Detector, Kind, MinuteSample, State, StepError,
};
use proptest::prelude::*;

const T0: i64 = 1_767_571_200; // 2026-01-05 00:00 UTC, a Monday

fn key(s: &str) -> PortKey {
    s.parse().expect("port")
}

/// A deterministic noise source (no dependency on a RNG crate's stream).
struct Lcg(u64);

impl Lcg {
    fn unit(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Poisson by inversion, fine for small means.
    fn poisson(&mut self, mean: f64) -> u64 {
        let (mut k, mut p, mut s) = (0u64, (-mean).exp(), 0.0);
        let u = self.unit();
        s += p;
        while u > s && k < 10_000 {
            k += 1;
            p *= mean / k as f64;
            s += p;
        }
        k
    }
}

fn addr(i: u32) -> IpAddr {
    IpAddr::V4(Ipv4Addr::from(0xc000_0000 + i))
}

/// `n` sources, each sending `per` packets, numbered from `first`.
fn sample(first: u32, n: u64, per: u64) -> MinuteSample {
    MinuteSample {
        packets: n * per,
        sources: n,
        targets: n * per,
        top: (0..n.min(32) as u32)
            .map(|i| (addr(first + i), per))
            .collect(),
    }
}

/// A busy port with a daily rhythm, every minute.
fn busy(rng: &mut Lcg, minute: i64) -> MinuteSample {
    let hour = (minute.rem_euclid(86_400)) as f64 / 3600.0;
    let mean = 30.0 * (1.0 + 0.5 * (std::f64::consts::TAU * (hour - 14.0) / 24.0).cos());
    let n = rng.poisson(mean);
    sample(1_000_000 + (rng.unit() * 1e6) as u32, n, 1)
}

fn small_cfg() -> DetectConfig {
    DetectConfig {
        warmup_hours: 12.0,
        new_port: portwatch_detect::NewPortConfig {
            min_history_hours: 12.0,
            ..Default::default()
        },
        ..DetectConfig::default()
    }
}

/// Feeds `minutes` minutes from `T0`; `extra(i)` adds samples.
fn run(
    cfg: DetectConfig,
    minutes: i64,
    mut up: impl FnMut(i64) -> bool,
    mut extra: impl FnMut(i64) -> Vec<(PortKey, MinuteSample)>,
) -> (Detector, Vec<portwatch_detect::AlertUpdate>) {
    let mut d = Detector::new(cfg).expect("config");
    let mut rng = Lcg(7);
    let mut updates = Vec::new();
    for i in 0..minutes {
        let m = T0 + i * 60;
        if !up(i) {
            updates.extend(d.step(m, false, &[]).expect("gap step"));
            continue;
        }
        let mut samples = vec![(key("445/tcp"), busy(&mut rng, m))];
        samples.extend(extra(i));
        updates.extend(d.step(m, true, &samples).expect("step"));
    }
    (d, updates)
}

fn check_invariants(a: &Alert) {
    assert_eq!(a.state, a.transitions.last().expect("transitions").state);
    for w in a.transitions.windows(2) {
        assert!(w[1].at >= w[0].at, "{:?}", a.transitions);
    }
    for t in &a.transitions {
        assert!(t.decided >= t.at, "{t:?}");
    }
    assert_eq!(a.closed.is_some(), a.state == State::Closed);
    assert!(a.opened >= a.onset);
}

#[test]
fn campaign_lifecycle_and_reopen() {
    let port = key("5168/tcp");
    // Silent for a day, then a campaign that peaks and tapers over two
    // hours, then after a quiet hour a short second wave.
    let wave = |i: i64| -> u64 {
        let t = i - 1440;
        match t {
            0..30 => (t as u64 + 1) * 10,
            30..60 => 300,
            60..120 => 300 >> ((t - 60) / 10),
            210..240 => 150,
            _ => 0,
        }
    };
    let (d, updates) = run(
        small_cfg(),
        1440 + 400,
        |_| true,
        |i| {
            let n = wave(i);
            if n > 0 {
                vec![(port, sample(i as u32 * 1000, n, 2))]
            } else {
                vec![]
            }
        },
    );
    let alerts: Vec<&Alert> = d.alerts().collect();
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    let a = alerts[0];
    check_invariants(a);
    assert_eq!(a.kind, Kind::NewPort);
    assert_eq!(a.onset, T0 + 1440 * 60);
    assert!(
        a.opened - a.onset <= 120,
        "detected {} s after onset",
        a.opened - a.onset
    );
    let states: Vec<State> = a.transitions.iter().map(|t| t.state).collect();
    assert_eq!(
        states,
        [
            State::Rising,
            State::Peak,
            State::Tapering,
            State::Closed,
            State::Rising,
            State::Peak,
            State::Tapering,
            State::Closed
        ],
        "{:#?}",
        a.transitions
    );
    assert!(a.transitions[4].reopened);
    assert_eq!(a.peak.sources, 300);
    assert!(a.during.sources_at_least >= 300);
    assert_eq!(a.top_sources.len(), 10);
    assert!(updates.iter().any(|u| u.change == Change::Reopened));
    assert!(updates.iter().all(|u| u.alert.id == a.id));
    assert!(
        a.summary.starts_with("5168/tcp: new port began"),
        "{}",
        a.summary
    );
    // The busy port never alerted, and the campaign did not teach 5168's
    // baseline that it is normal.
    assert!(d.baseline(port, T0 + 1500 * 60).0 < 0.05);
}

#[test]
fn gaps_are_gaps_not_silence() {
    // Two hours down on day two, including the busy hour: no alert, and
    // the gap is visible.
    let (d, _) = run(
        small_cfg(),
        2 * 1440,
        |i| !(1440 + 780..1440 + 900).contains(&i),
        |_| vec![],
    );
    assert_eq!(
        d.alerts().count(),
        0,
        "{:#?}",
        d.alerts().collect::<Vec<_>>()
    );
    let g = d.gaps();
    assert_eq!(g.len(), 1);
    assert_eq!(g[0].start, T0 + (1440 + 780) * 60);
    assert_eq!(g[0].end, T0 + (1440 + 900) * 60);
}

#[test]
fn skipped_minutes_are_gaps_too() {
    let mut d = Detector::new(small_cfg()).expect("config");
    let s = [(key("22/tcp"), sample(1, 3, 1))];
    d.step(T0, true, &s).expect("step");
    d.step(T0 + 600, true, &s).expect("step");
    assert_eq!(d.gaps()[0].start, T0 + 60);
    assert_eq!(d.gaps()[0].end, T0 + 600);
}

#[test]
fn one_loud_source_is_a_flood_not_a_campaign() {
    let port = key("12345/tcp");
    let (d, _) = run(
        small_cfg(),
        1440 + 200,
        |_| true,
        |i| {
            if (1440..1500).contains(&i) {
                vec![(port, sample(42, 1, 400))]
            } else {
                vec![]
            }
        },
    );
    let a: Vec<&Alert> = d.alerts().collect();
    assert_eq!(a.len(), 1);
    assert_eq!(a[0].kind, Kind::SingleSource);
    assert_eq!(a[0].top_sources[0].addr, addr(42));
    assert_eq!(a[0].moved, portwatch_detect::Moved::Packets);
}

#[test]
fn ignored_and_watched_ports() {
    // The same four sources every minute on a silent port: too few for a
    // campaign by default, enough on a watched port, nothing when ignored.
    let burst = |port: PortKey| {
        move |i: i64| {
            if (1440..1450).contains(&i) {
                vec![(port, sample(500, 4, 1))]
            } else {
                vec![]
            }
        }
    };
    let p = key("7777/udp");
    let (d, _) = run(small_cfg(), 1500, |_| true, burst(p));
    assert_eq!(d.alerts().count(), 0, "four sources are below min_sources");
    let watch = DetectConfig {
        watch: portwatch_detect::WatchConfig {
            ports: vec![p],
            min_sources: 3,
            open_score: 4.0,
        },
        ..small_cfg()
    };
    let (d, _) = run(watch.clone(), 1500, |_| true, burst(p));
    assert_eq!(d.alerts().count(), 1);
    let ignore = DetectConfig {
        ignore: vec![p],
        watch: Default::default(),
        ..watch
    };
    let (d, _) = run(ignore, 1500, |_| true, burst(p));
    assert_eq!(d.alerts().count(), 0);
}

#[test]
fn bad_input_is_refused_and_changes_nothing() {
    let mut d = Detector::new(DetectConfig::default()).expect("config");
    let s = [(key("22/tcp"), sample(1, 1, 1))];
    assert_eq!(d.step(T0 + 1, true, &s), Err(StepError::NotAligned(T0 + 1)));
    d.step(T0, true, &s).expect("step");
    assert_eq!(
        d.step(T0, true, &s),
        Err(StepError::NotIncreasing { last: T0, got: T0 })
    );
    let dup = [s[0].clone(), s[0].clone()];
    assert!(matches!(
        d.step(T0 + 60, true, &dup),
        Err(StepError::DuplicatePort { .. })
    ));
    assert_eq!(d.last_minute(), Some(T0));
    d.step(T0 + 60, true, &s).expect("still usable");
    let bad = DetectConfig {
        close_score: 9.0,
        ..DetectConfig::default()
    };
    let e = Detector::new(bad).expect_err("refused");
    assert!(e.to_string().contains("close_score"), "{e}");
}

#[test]
fn alert_json_round_trips() {
    let port = key("0/udp");
    let (d, _) = run(
        small_cfg(),
        1440 + 120,
        |_| true,
        |i| {
            if (1440..1480).contains(&i) {
                vec![(port, sample(i as u32 * 100, 40, 1))]
            } else {
                vec![]
            }
        },
    );
    let a = d.alerts().next().expect("alert");
    let json = a.to_json();
    assert!(
        json.starts_with("{\"schema\":\"portwatch.alert/1\""),
        "{json}"
    );
    assert!(json.contains("\"proto\":\"udp\",\"port\":0"));
    let back: Alert = serde_json::from_str(&json).expect("parse");
    assert_eq!(&back, a);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Whatever arrives, lifecycles stay well formed and ids unique.
    #[test]
    fn lifecycles_are_well_formed(
        bursts in prop::collection::vec((0i64..600, 1i64..120, 1u64..200, 1u64..50, any::<bool>()), 0..6),
        gaps in prop::collection::vec((0i64..700, 1i64..90), 0..3),
    ) {
        let cfg = DetectConfig { warmup_hours: 2.0, ..DetectConfig::default() };
        let mut d = Detector::new(cfg).expect("config");
        for i in 0..800i64 {
            let m = T0 + i * 60;
            if gaps.iter().any(|&(s, l)| (s..s + l).contains(&i)) {
                d.step(m, false, &[]).expect("gap");
                continue;
            }
            let mut samples = Vec::new();
            for (j, &(start, len, n, per, udp)) in bursts.iter().enumerate() {
                if (120 + start..120 + start + len).contains(&i) {
                    let port = PortKey::new(if udp { portwatch_core::Proto::Udp } else { portwatch_core::Proto::Tcp }, 1000 + j as u16);
                    samples.push((port, sample(j as u32 * 100_000 + i as u32, n, per)));
                }
            }
            d.step(m, true, &samples).expect("step");
        }
        let alerts: Vec<&Alert> = d.alerts().collect();
        for a in &alerts {
            check_invariants(a);
        }
        let mut ids: Vec<_> = alerts.iter().map(|a| &a.id).collect();
        ids.sort();
        ids.dedup();
        prop_assert_eq!(ids.len(), alerts.len());
    }
}
