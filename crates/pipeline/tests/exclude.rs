//! Excluded sources (known research scanners, by configuration) are
//! dropped before aggregation and counted; every probe of the others is
//! counted under one tool.

#![allow(clippy::unwrap_used)]

use std::collections::HashSet;
use std::net::IpAddr;
use std::sync::Arc;

use portwatch_pipeline::{AnalyzeOptions, analyze};
use portwatch_simulate::{SimConfig, simulate};
use portwatch_store::{SourceOrder, SourcesQuery, SqliteStore, Store, TimeRange};

fn all_sources() -> SourcesQuery {
    SourcesQuery {
        range: TimeRange::default(),
        limit: usize::MAX,
        port: None,
        order: SourceOrder::Packets,
    }
}

#[tokio::test]
async fn excluded_sources_are_counted_not_aggregated() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = SimConfig {
        seed: 5,
        duration_secs: 6 * 3600,
        total_packets: Some(60_000),
        background_sources: 2_000,
        ..SimConfig::default()
    };
    let pcap = dir.path().join("sim.pcap");
    simulate(&cfg, std::fs::File::create(&pcap).unwrap()).unwrap();
    let opts = AnalyzeOptions {
        inputs: vec![pcap.to_str().unwrap().to_string()],
        workers: 2,
        ..AnalyzeOptions::default()
    };

    let whole = SqliteStore::in_memory().await.unwrap();
    let all = analyze(Some(&whole), &opts).await.unwrap();
    assert_eq!(all.excluded, 0);
    let sources = whole.sources(&all_sources()).await.unwrap();
    for s in &sources {
        assert_eq!(s.tools.total(), s.probes, "{}", s.addr);
    }
    // The simulator's campaigns use tool-shaped probes: some are recognised.
    assert!(
        sources.iter().any(|s| s.tools.dominant().is_some()),
        "no tool recognised"
    );

    // Exclude the five loudest sources: the oracle is their packet count
    // in the store that kept them.
    let loud: HashSet<IpAddr> = sources.iter().take(5).map(|s| s.addr).collect();
    let want: u64 = sources
        .iter()
        .take(5)
        .map(|s| s.probes + s.backscatter + s.other)
        .sum();
    let set = loud.clone();
    let opts = AnalyzeOptions {
        exclude: Some(Arc::new(move |ip| set.contains(&ip))),
        ..opts
    };
    let kept = SqliteStore::in_memory().await.unwrap();
    let part = analyze(Some(&kept), &opts).await.unwrap();
    assert_eq!(part.excluded, want);
    assert_eq!(part.inputs[0].excluded, want);
    assert_eq!(part.counts.records() + want, all.counts.records());
    let rest = kept.sources(&all_sources()).await.unwrap();
    assert_eq!(rest.len(), sources.len() - 5);
    assert!(rest.iter().all(|s| !loud.contains(&s.addr)));
    // Batches are cut at the same records either way.
    assert_eq!(part.inputs[0].batches_merged, all.inputs[0].batches_merged);
}
