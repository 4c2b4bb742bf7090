//! Batch identity across builds (rule 3): a store filled by a build that cut
//! an input into batches differently is refused, never merged into twice;
//! the parts a day-close batch is cut into merge exactly once.

#![allow(clippy::unwrap_used)]

use portwatch_pipeline::{AnalyzeError, AnalyzeOptions, MAX_SOURCE_DAYS_PER_BATCH, analyze};
use portwatch_simulate::{SimConfig, simulate};
use portwatch_sources::open_input;
use portwatch_store::{SqliteStore, Store};

/// A capture of 26 hours with more sources in a day than one part holds,
/// so a day closes into several parts.
fn capture(dir: &std::path::Path) -> String {
    let cfg = SimConfig {
        seed: 11,
        duration_secs: 26 * 3600,
        total_packets: Some(400_000),
        background_sources: 4 * MAX_SOURCE_DAYS_PER_BATCH as u32,
        campaigns: Vec::new(),
        ..SimConfig::default()
    };
    let pcap = dir.join("sim.pcap");
    simulate(&cfg, std::fs::File::create(&pcap).unwrap()).unwrap();
    pcap.to_str().unwrap().to_string()
}

#[tokio::test]
async fn parts_merge_once_and_an_earlier_format_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let pcap = capture(dir.path());
    let opts = AnalyzeOptions {
        inputs: vec![pcap.clone()],
        ..AnalyzeOptions::default()
    };

    let store = SqliteStore::in_memory().await.unwrap();
    let first = analyze(Some(&store), &opts).await.unwrap();
    let merged = first.inputs[0].batches_merged;
    // One record run, whose day-closing batch came in several parts.
    assert!(merged > 2, "{merged} batches");
    let totals = store.totals().await.unwrap();
    let again = analyze(Some(&store), &opts).await.unwrap();
    assert_eq!(again.inputs[0].batches_merged, 0);
    assert_eq!(again.inputs[0].batches_already_merged, merged);
    assert_eq!(store.totals().await.unwrap(), totals);

    // A store holding the same input under the first format's name.
    let old = SqliteStore::in_memory().await.unwrap();
    let fingerprint = open_input(&pcap).unwrap().fingerprint;
    old.describe_stream(&format!("file:{fingerprint}"), "sim.pcap (pcap)")
        .await
        .unwrap();
    match analyze(Some(&old), &opts).await {
        Err(e @ AnalyzeError::OtherBatchFormat { .. }) => {
            let msg = e.to_string();
            assert!(msg.contains(&format!("file:{fingerprint}")), "{msg}");
            assert!(msg.contains("new store"), "{msg}");
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert_eq!(old.totals().await.unwrap().batches, 0);

    // Format 2 (no tool counts) is refused the same way.
    let b2 = SqliteStore::in_memory().await.unwrap();
    b2.describe_stream(&format!("file:{fingerprint}:b2"), "sim.pcap (pcap)")
        .await
        .unwrap();
    match analyze(Some(&b2), &opts).await {
        Err(AnalyzeError::OtherBatchFormat { found, .. }) => {
            assert_eq!(found, format!("file:{fingerprint}:b2"));
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
}
