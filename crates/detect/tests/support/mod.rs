//! The evaluation suite: labelled scenarios generated with
//! `portwatch_simulate`, decoded and aggregated in memory into the minute
//! series the detector gets, scored for portwatch's detector and the two
//! simple ones; and the NAB run. Shared by `tests/eval.rs` (small) and
//! `examples/eval.rs` (full size).

#![allow(dead_code)]

pub mod nab;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use portwatch_aggregate::{Aggregator, SeriesClass};
use portwatch_core::PortKey;
use portwatch_decode::{CaptureReader, decode};
use portwatch_detect::eval::{
    Detection, Expect, Label, ScenarioScore, Simple, SimpleConfig, run_simple, score,
};
use portwatch_detect::{Alert, DetectConfig, Detector, MinuteInput, MinuteSample};
use portwatch_simulate::{Campaign, GroundTruth, SimConfig, simulate};

/// One labelled scenario.
#[derive(Debug, Clone)]
pub struct Scenario {
    pub name: &'static str,
    pub sim: SimConfig,
    /// Campaign indices (in `sim.campaigns`) that are single-source floods.
    pub floods: Vec<usize>,
}

/// Sizes: `1.0` is the full suite; the test runs a smaller one.
#[derive(Debug, Clone, Copy)]
pub struct Size {
    pub background_pps: f64,
    pub days: f64,
    pub seeds: u64,
}

impl Size {
    pub const SMALL: Size = Size {
        background_pps: 0.6,
        days: 3.0,
        seeds: 1,
    };
    pub const FULL: Size = Size {
        background_pps: 4.0,
        days: 7.0,
        seeds: 3,
    };
}

fn campaigns(specs: &[&str]) -> Vec<Campaign> {
    specs
        .iter()
        .map(|s| s.parse().unwrap_or_else(|e| panic!("{s}: {e}")))
        .collect()
}

/// The labelled scenarios, at a size.
pub fn scenarios(size: Size) -> Vec<Scenario> {
    let secs = |d: f64| (d * 86_400.0) as u64;
    let base = |seed: u64, days: f64| SimConfig {
        seed,
        duration_secs: secs(days),
        background_pps: size.background_pps,
        background_sources: 5_000,
        daily_amplitude: 0.3,
        ..SimConfig::default()
    };
    // 445 sees about a tenth of all probes; a campaign that doubles its
    // sources needs as many new scanners per minute as it already has.
    let pps445 = size.background_pps * 0.09;
    let mut out = Vec::new();
    for seed in 1..=size.seeds {
        let d = size.days.max(3.0);
        out.push(Scenario {
            name: "silent port, 300 sources (5168-like)",
            sim: SimConfig {
                campaigns: campaigns(&["5168/tcp@36h+6h,sources=300,pps=0.02,ramp=taper"]),
                ..base(seed, d)
            },
            floods: vec![],
        });
        out.push(Scenario {
            name: "busy port doubles (445-like)",
            sim: SimConfig {
                campaigns: vec![Campaign {
                    sources: 3_000,
                    rate_pps_per_source: Some(pps445 / 1500.0),
                    ..campaigns(&["445/tcp@40h+4h,sources=1,pps=1,ramp=step"])[0].clone()
                }],
                ..base(seed, d)
            },
            floods: vec![],
        });
        out.push(Scenario {
            name: "port 0 burst, TCP and UDP",
            sim: SimConfig {
                campaigns: campaigns(&[
                    "0/tcp@38h+1h,sources=60,pps=0.05,ramp=step",
                    "0/udp@38h10m+1h,sources=40,pps=0.05,ramp=step",
                ]),
                ..base(seed, d)
            },
            floods: vec![],
        });
        out.push(Scenario {
            name: "one loud scanner, quiet port",
            sim: SimConfig {
                campaigns: campaigns(&["12345/tcp@30h+2h,sources=1,pps=5,ramp=step"]),
                ..base(seed, d)
            },
            floods: vec![0],
        });
        out.push(Scenario {
            name: "slow ramp over hours",
            sim: SimConfig {
                campaigns: campaigns(&["9443/tcp@30h+12h,sources=400,pps=0.003,ramp=linear:8h"]),
                ..base(seed, d)
            },
            floods: vec![],
        });
        out.push(Scenario {
            name: "overlapping campaigns",
            sim: SimConfig {
                campaigns: campaigns(&[
                    "5168/tcp@36h+6h,sources=300,pps=0.02,ramp=taper",
                    "12345/tcp@37h+3h,sources=80,pps=0.03,ramp=step",
                    "8291/tcp@38h+4h,sources=150,pps=0.01,ramp=linear:1h",
                    "47001/udp@39h+2h,sources=50,pps=0.05,ramp=taper",
                ]),
                ..base(seed, d)
            },
            floods: vec![],
        });
        out.push(Scenario {
            name: "background only, strong rhythm",
            sim: SimConfig {
                daily_amplitude: 0.8,
                weekly_amplitude: 0.3,
                ..base(seed, size.days.max(4.0))
            },
            floods: vec![],
        });
    }
    out
}

/// A scenario turned into the detector's input.
#[derive(Debug)]
pub struct Series {
    pub minutes: Vec<MinuteInput>,
    pub labels: Vec<Label>,
    pub port_days: f64,
    pub truth: GroundTruth,
}

/// Simulates, decodes and aggregates a scenario, all in memory.
pub fn series(sc: &Scenario) -> Series {
    let mut pcap = Vec::new();
    let truth = simulate(&sc.sim, &mut pcap).expect("simulate");
    let mut reader = CaptureReader::new(&pcap[..]).expect("pcap");
    let mut agg = Aggregator::new();
    while let Some(rec) = reader.next_record() {
        let rec = rec.expect("record");
        if let Ok(ev) = decode(rec.link_type, rec.ts, rec.data, rec.orig_len) {
            agg.observe(&ev);
        }
    }
    let mut by_minute: BTreeMap<i64, Vec<(PortKey, MinuteSample)>> = BTreeMap::new();
    let mut up: BTreeSet<i64> = BTreeSet::new();
    for (k, b) in agg.minutes() {
        up.insert(k.start);
        if k.class != SeriesClass::Probe {
            continue;
        }
        by_minute.entry(k.start).or_default().push((
            k.port,
            MinuteSample {
                packets: b.packets,
                sources: b.sources.estimate(),
                targets: b.targets.estimate(),
                top: b
                    .top_sources
                    .top(32)
                    .iter()
                    .map(|e| (e.addr, e.count))
                    .collect(),
            },
        ));
    }
    let start = sc.sim.start.secs();
    let end = start + sc.sim.duration_secs as i64;
    let minutes = (start / 60..end / 60)
        .map(|m| m * 60)
        .map(|m| {
            let mut samples = by_minute.remove(&m).unwrap_or_default();
            samples.sort_by_key(|s| s.0);
            MinuteInput {
                start: m,
                sensor_up: up.contains(&m),
                samples,
            }
        })
        .collect();
    let labels = truth
        .campaigns
        .iter()
        .map(|c| Label {
            port: PortKey::new(c.proto, c.port),
            start: c.start_unix,
            end: c.end_unix,
            expect: if sc.floods.contains(&c.index) {
                Expect::SingleSource
            } else {
                Expect::Campaign
            },
        })
        .collect();
    let ports = truth
        .probes
        .iter()
        .filter(|p| p.background_packets > 0)
        .count();
    Series {
        minutes,
        labels,
        port_days: ports as f64 * sc.sim.duration_secs as f64 / 86_400.0,
        truth,
    }
}

/// portwatch's detector, step by step.
pub fn run_detector(cfg: &DetectConfig, minutes: &[MinuteInput]) -> Vec<Alert> {
    let mut d = Detector::new(cfg.clone()).expect("config");
    for m in minutes {
        d.step(m.start, m.sensor_up, &m.samples).expect("step");
    }
    d.alerts().cloned().collect()
}

/// One row of the table.
#[derive(Debug, Clone)]
pub struct Row {
    pub scenario: &'static str,
    pub detector: &'static str,
    pub score: ScenarioScore,
}

/// Runs the suite; returns the rows and portwatch's alerts per scenario.
pub fn run_suite(size: Size, cfg: &DetectConfig) -> (Vec<Row>, Vec<(String, Vec<Alert>)>) {
    let simple = SimpleConfig {
        warmup_minutes: (cfg.warmup_hours * 60.0) as u64,
        ..SimpleConfig::default()
    };
    let mut rows = Vec::new();
    let mut all_alerts = Vec::new();
    for sc in scenarios(size) {
        let s = series(&sc);
        let alerts = run_detector(cfg, &s.minutes);
        let dets: Vec<Detection> = alerts.iter().map(Detection::from).collect();
        rows.push(Row {
            scenario: sc.name,
            detector: "portwatch",
            score: score(&s.labels, &dets, s.port_days),
        });
        for (name, kind) in [
            ("static threshold", Simple::StaticThreshold),
            ("rolling mean+3σ", Simple::RollingSigma),
        ] {
            let dets = run_simple(kind, &simple, &s.minutes);
            rows.push(Row {
                scenario: sc.name,
                detector: name,
                score: score(&s.labels, &dets, s.port_days),
            });
        }
        all_alerts.push((sc.name.to_string(), alerts));
    }
    (rows, all_alerts)
}

/// Sums rows of the same scenario and detector (several seeds).
pub fn merge_rows(rows: &[Row]) -> Vec<Row> {
    let mut out: Vec<Row> = Vec::new();
    for r in rows {
        match out
            .iter_mut()
            .find(|o| o.scenario == r.scenario && o.detector == r.detector)
        {
            None => out.push(r.clone()),
            Some(o) => {
                let (a, b) = (&mut o.score, &r.score);
                let delays = |s: &ScenarioScore| s.mean_delay_min.map(|d| d * s.found as f64);
                let sum_delay = delays(a).unwrap_or(0.0) + delays(b).unwrap_or(0.0);
                a.campaigns += b.campaigns;
                a.found += b.found;
                a.floods += b.floods;
                a.floods_found += b.floods_found;
                a.alerts += b.alerts;
                a.false_alerts += b.false_alerts;
                a.port_days += b.port_days;
                a.mean_delay_min = (a.found > 0).then(|| sum_delay / a.found as f64);
                a.max_delay_min = match (a.max_delay_min, b.max_delay_min) {
                    (Some(x), Some(y)) => Some(x.max(y)),
                    (x, y) => x.or(y),
                };
            }
        }
    }
    out
}

/// The table, as Markdown.
pub fn table(rows: &[Row]) -> String {
    let mut t = String::from(
        "| scenario | detector | campaigns found | precision | recall | delay min (mean/max) | false alerts | per 1,000 port-days | floods reported as single-source |\n\
         |---|---|---|---|---|---|---|---|---|\n",
    );
    let pct = |v: Option<f64>| v.map_or("–".to_string(), |v| format!("{:.0}%", v * 100.0));
    for r in rows {
        let s = &r.score;
        let delay = match (s.mean_delay_min, s.max_delay_min) {
            (Some(m), Some(x)) => format!("{m:.1} / {x:.1}"),
            _ => "–".to_string(),
        };
        let floods = if s.floods > 0 {
            format!("{}/{}", s.floods_found, s.floods)
        } else {
            "–".to_string()
        };
        let _ = writeln!(
            t,
            "| {} | {} | {}/{} | {} | {} | {} | {} | {:.2} | {} |",
            r.scenario,
            r.detector,
            s.found,
            s.campaigns,
            pct(s.precision()),
            pct(s.recall()),
            delay,
            s.false_alerts,
            s.false_per_kilo_port_day(),
            floods
        );
    }
    t
}
