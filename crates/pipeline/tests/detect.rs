//! Detection over a store: the alerts kept in the store are the detector's,
//! and a port's baseline band computed on its own equals the band of the
//! full run over every port.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

use portwatch_aggregate::SeriesClass;
use portwatch_core::{PortKey, Timestamp};
use portwatch_detect::{DetectConfig, Detector, MinuteSample};
use portwatch_pipeline::detect::{IncrementalDetector, detect_store, port_bands};
use portwatch_pipeline::{AnalyzeOptions, analyze};
use portwatch_simulate::{SimConfig, simulate};
use portwatch_store::{AlertsQuery, MinutesQuery, SqliteStore, Store, TimeRange};

async fn store_with_campaign(dir: &std::path::Path) -> SqliteStore {
    let cfg = SimConfig {
        seed: 3,
        duration_secs: 30 * 3600,
        total_packets: Some(120_000),
        background_sources: 3_000,
        campaigns: vec![
            "5168/tcp@26h+2h,sources=300,targets=3,tool=masscan,ramp=taper"
                .parse()
                .unwrap(),
        ],
        gaps: vec!["28h30m+30m".parse().unwrap()],
        ..SimConfig::default()
    };
    let pcap = dir.join("sim.pcap");
    simulate(&cfg, std::fs::File::create(&pcap).unwrap()).unwrap();
    let store = SqliteStore::in_memory().await.unwrap();
    let opts = AnalyzeOptions {
        inputs: vec![pcap.to_str().unwrap().to_string()],
        ..AnalyzeOptions::default()
    };
    analyze(Some(&store), &opts).await.unwrap();
    store
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stored_alerts_and_port_bands_match_a_full_run() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_with_campaign(dir.path()).await;
    let cfg = DetectConfig::default();
    let detection = detect_store(&store, &cfg).await.unwrap();
    let wave: PortKey = "5168/tcp".parse().unwrap();
    assert!(
        detection.alerts.iter().any(|a| a.key() == wave),
        "{:#?}",
        detection.alerts
    );
    assert_eq!(detection.gaps.len(), 1, "{:?}", detection.gaps);
    assert_eq!(detection.gaps[0].end - detection.gaps[0].start, 30 * 60);

    let stored = store.alerts(&AlertsQuery::default()).await.unwrap();
    assert_eq!(stored.len(), detection.alerts.len());
    for (s, a) in stored.iter().zip(&detection.alerts) {
        assert_eq!(s.id, a.id.0);
        assert_eq!(s.transitions.len(), a.transitions.len());
        let back: portwatch_detect::Alert = serde_json::from_str(&s.doc).unwrap();
        assert_eq!(&back, a);
    }

    // A full run by hand, every port, noting two ports' bands as it goes.
    let busy: PortKey = "445/tcp".parse().unwrap();
    let active = store.active_minutes(TimeRange::ALL).await.unwrap();
    let rows = store
        .minutes(&MinutesQuery {
            class: SeriesClass::Probe,
            range: TimeRange::ALL,
        })
        .await
        .unwrap();
    let mut by_minute: BTreeMap<i64, Vec<(PortKey, MinuteSample)>> = BTreeMap::new();
    for r in rows {
        by_minute.entry(r.point.start.secs()).or_default().push((
            r.port,
            MinuteSample {
                packets: r.point.packets,
                sources: r.point.sources,
                targets: r.point.targets,
                top: r
                    .point
                    .top_sources
                    .iter()
                    .map(|e| (e.addr, e.count))
                    .collect(),
            },
        ));
    }
    let mut d = Detector::new(cfg.clone()).unwrap();
    let mut full = BTreeMap::new();
    for &m in &active {
        full.insert((wave, m), d.band(wave, m));
        full.insert((busy, m), d.band(busy, m));
        d.step(m, true, &by_minute.remove(&m).unwrap_or_default())
            .unwrap();
    }
    // detect_store steps on another thread while it reads the next hour:
    // the same alerts, opened and moved at the same minutes.
    assert_eq!(d.alerts().count(), detection.alerts.len());
    for (by_hand, stored) in d.alerts().zip(&detection.alerts) {
        assert_eq!(by_hand.id, stored.id);
        assert_eq!(by_hand.transitions, stored.transitions);
        assert_eq!(by_hand.peak, stored.peak);
    }
    assert_eq!(d.gaps(), &detection.gaps[..]);
    for port in [wave, busy] {
        let bands = port_bands(&store, &cfg, port).await.unwrap();
        assert_eq!(bands.len(), active.len());
        for b in bands {
            assert_eq!(
                b.band,
                full[&(port, b.minute)],
                "{port} at {}",
                Timestamp::from_secs(b.minute)
            );
        }
    }
}

/// What matters of a detection for comparing two: every alert document
/// (ids, states, transitions, evidence) and the gaps.
fn essence(d: &portwatch_pipeline::detect::Detection) -> (Vec<String>, Vec<(i64, i64)>) {
    (
        d.alerts.iter().map(|a| a.to_json()).collect(),
        d.gaps.iter().map(|g| (g.start, g.end)).collect(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incremental_detection_equals_a_full_run() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_with_campaign(dir.path()).await;
    let cfg = DetectConfig::default();
    let full = detect_store(&store, &cfg).await.unwrap();
    assert!(!full.alerts.is_empty());
    let start = store.active_minutes(TimeRange::ALL).await.unwrap()[0];

    // Fed in uneven steps (the campaign and the gap fall inside them), as a
    // running sensor feeds closed minutes.
    let mut inc = IncrementalDetector::new(cfg.clone()).unwrap();
    let mut last = None;
    for hours in [1, 5, 20, 26, 27, 28, 29] {
        let until = start - start % 60 + hours * 3600;
        last = Some(inc.run(&store, Some(until)).await.unwrap());
        assert_eq!(inc.fed_until(), Some(until));
    }
    // Asking again for what was fed feeds nothing and changes nothing.
    let again = inc.run(&store, inc.fed_until()).await.unwrap();
    assert_eq!(essence(&again), essence(last.as_ref().unwrap()));
    let done = inc.run(&store, None).await.unwrap();
    assert_eq!(essence(&done), essence(&full));
    assert_eq!(done.minutes, full.minutes);
    assert_eq!(done.span, full.span);
    // What it stored is what detect_store stores.
    let stored = store.alerts(&AlertsQuery::default()).await.unwrap();
    assert_eq!(
        stored.iter().map(|r| r.doc.clone()).collect::<Vec<_>>(),
        full.alerts.iter().map(|a| a.to_json()).collect::<Vec<_>>()
    );

    // After a reset it starts over and still agrees.
    inc.reset().unwrap();
    assert_eq!(inc.fed_until(), None);
    let over = inc.run(&store, None).await.unwrap();
    assert_eq!(essence(&over), essence(&full));
}
