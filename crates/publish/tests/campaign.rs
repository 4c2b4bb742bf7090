//! The proof, end to end: a simulated 5168/tcp campaign (the August 2007
//! shape, dated like it) is decoded, aggregated and run through the
//! detector; the alert becomes an advisory in all four formats, checked
//! for its sections and facts; the STIX bundle goes through the OASIS
//! validator; the HTML is opened in headless Chromium and screenshotted.

#![allow(clippy::print_stderr)]

mod support;

use std::collections::{BTreeMap, BTreeSet};

use portwatch_aggregate::{Aggregator, SeriesClass, rollup};
use portwatch_core::{BucketWidth, PortKey, Timestamp};
use portwatch_decode::{CaptureReader, decode};
use portwatch_detect::{Alert, DetectConfig, MinuteInput, MinuteSample, detect_series};
use portwatch_publish::{
    AdvisoryFormat, AdvisoryOptions, Evidence, Point, PortSeries, advisory, render,
};
use portwatch_simulate::{SimConfig, simulate};
use support::tools;

/// Simulates three days from 2007-08-21 02:00 UTC with the campaign 36 h
/// in (2007-08-22 14:00 UTC), and returns the 5168/tcp alert and the
/// port's hourly series.
fn campaign() -> (Alert, PortSeries) {
    let start = Timestamp::from_civil(2007, 8, 21, 2, 0, 0, 0).expect("date");
    let sim = SimConfig {
        seed: 7,
        start,
        duration_secs: 3 * 86_400,
        background_pps: 0.6,
        background_sources: 5_000,
        daily_amplitude: 0.3,
        campaigns: vec![
            "5168/tcp@36h+6h,sources=300,pps=0.02,tool=masscan,ramp=taper"
                .parse()
                .expect("campaign"),
        ],
        ..SimConfig::default()
    };
    let mut pcap = Vec::new();
    simulate(&sim, &mut pcap).expect("simulate");
    let mut reader = CaptureReader::new(&pcap[..]).expect("pcap");
    let mut agg = Aggregator::new();
    while let Some(rec) = reader.next_record() {
        let rec = rec.expect("record");
        if let Ok(ev) = decode(rec.link_type, rec.ts, rec.data, rec.orig_len) {
            agg.observe(&ev);
        }
    }
    // The detector's input, as crates/detect/tests/support builds it.
    let mut by_minute: BTreeMap<i64, Vec<(PortKey, MinuteSample)>> = BTreeMap::new();
    let mut up = BTreeSet::new();
    for (k, b) in agg.minutes() {
        up.insert(k.start);
        if k.class == SeriesClass::Probe {
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
    }
    let t0 = start.secs();
    let minutes: Vec<MinuteInput> = (t0 / 60..(t0 + sim.duration_secs as i64) / 60)
        .map(|m| {
            let mut samples = by_minute.remove(&(m * 60)).unwrap_or_default();
            samples.sort_by_key(|s| s.0);
            MinuteInput {
                start: m * 60,
                sensor_up: up.contains(&(m * 60)),
                samples,
            }
        })
        .collect();
    let key: PortKey = "5168/tcp".parse().expect("key");
    let alerts = detect_series(DetectConfig::default(), minutes).expect("detect");
    let alert = alerts
        .into_iter()
        .find(|a| a.key() == key && a.kind.is_campaign())
        .expect("the campaign raised an alert");

    // The hourly series, as `report port --bucket 1h` reads it from the
    // store: minutes rolled up, distinct sources merged per hour.
    let hours = rollup(
        agg.minutes()
            .filter(|(k, _)| k.class == SeriesClass::Probe && k.port == key),
        BucketWidth::Hour,
    );
    let points = hours
        .iter()
        .map(|(k, b)| {
            Point::new(
                k.start,
                b.sources.estimate(),
                b.packets,
                b.targets.estimate(),
            )
        })
        .collect();
    let series = PortSeries {
        key,
        bucket: BucketWidth::Hour,
        points,
    }
    .with_baseline(&alert.baseline_at_onset);
    (alert, series)
}

#[test]
fn simulated_5168_campaign_becomes_a_full_advisory() {
    let (alert, series) = campaign();
    eprintln!("{}", alert.summary);
    let onset = Timestamp::from_secs(alert.onset).to_rfc3339();
    assert!(onset.starts_with("2007-08-22T14:0"), "onset {onset}");

    let evidence = Evidence {
        series: Some(series),
        ..Evidence::default()
    };
    let adv = advisory(&alert, &evidence, &AdvisoryOptions::builtin());
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("campaign");
    std::fs::create_dir_all(&dir).expect("dir");

    let md = render(&adv, AdvisoryFormat::Markdown).expect("md");
    for needle in [
        "# Increase in scanning of 5168/tcp (Trend Micro ServerProtect RPC)",
        "## 1. Overview",
        "## 2. Situation observed",
        "## 3. Probable cause",
        "## 4. Recommended actions",
        "## 5. References",
        "Trend Micro ServerProtect",
        "CVE-2007-4218",
        "CVE-2007-4219",
        "CVE-2007-1070",
        "before onset",
        "(probable cause)",
        "data:image/svg+xml;base64,",
        "Began:** 2007-08-22 14:0",
        "Limit outbound traffic to 5168/tcp",
        "Target addresses are masked",
    ] {
        assert!(md.contains(needle), "missing {needle:?} in\n{md}");
    }
    std::fs::write(dir.join("advisory.md"), &md).expect("write");

    let json = render(&adv, AdvisoryFormat::Json).expect("json");
    let v: serde_json::Value = serde_json::from_str(&json).expect("json parses");
    assert_eq!(v["schema"], "portwatch.advisory/1");
    assert_eq!(v["alert"]["id"], alert.id.to_string());
    assert!(
        v["overview"]["peak_sources_per_min"]
            .as_u64()
            .is_some_and(|n| n >= 20)
    );
    assert!(
        v["situation"]["top_sources"]
            .as_array()
            .is_some_and(|s| !s.is_empty())
    );

    let stix = render(&adv, AdvisoryFormat::Stix).expect("stix");
    let stix_file = dir.join("bundle.json");
    std::fs::write(&stix_file, &stix).expect("write");
    assert!(stix.contains("\"CVE-2007-4218\"") && stix.contains("\"type\": \"report\""));
    match tools::stix_validator() {
        Err(why) => eprintln!("skipped: STIX validation: {why}"),
        Ok(validator) => {
            if let Err(report) = tools::validate_stix(&validator, &stix_file) {
                panic!("STIX validator rejected the bundle:\n{report}");
            }
        }
    }

    let html = render(&adv, AdvisoryFormat::Html).expect("html");
    let html_file = dir.join("advisory.html");
    std::fs::write(&html_file, &html).expect("write");
    let shot = dir.join("advisory.png");
    let _ = std::fs::remove_file(&shot);
    match tools::screenshot(&html_file, &shot) {
        Err(why) => eprintln!("skipped: HTML screenshot: {why}"),
        Ok(()) => {
            let (w, h, rgb) = tools::decode_png(&std::fs::read(&shot).expect("png"));
            assert_eq!((w, h), (1200, 1600));
            let ink = rgb.chunks(3).filter(|p| p.iter().any(|&c| c < 200)).count();
            let colours: BTreeSet<[u8; 3]> = rgb.chunks(3).map(|p| [p[0], p[1], p[2]]).collect();
            eprintln!(
                "screenshot {}: {ink} inked pixels, {} colours",
                shot.display(),
                colours.len()
            );
            assert!(
                ink > 20_000,
                "the page rendered text and a chart ({ink} inked pixels)"
            );
            assert!(
                colours.len() > 50,
                "more than a blank page ({} colours)",
                colours.len()
            );
            // The chart's alert window (amber) and observed line (blue).
            let near = |p: &[u8], c: [u8; 3]| p.iter().zip(c).all(|(&a, b)| a.abs_diff(b) < 40);
            assert!(
                rgb.chunks(3).any(|p| near(p, [0, 70, 160])),
                "observed line drawn"
            );
        }
    }
}
