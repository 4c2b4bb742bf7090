//! Rule 3: at-least-once in, exactly-once totals — duplicates are ignored and
//! a merge that fails or is abandoned halfway leaves nothing behind.

use portwatch_aggregate::{Batch, SeriesClass};
use portwatch_store::{
    MergeOutcome, Order, SourceOrder, SourcesQuery, SqliteStore, Store, StoreError, TimeRange,
    TopPortsQuery,
};

use crate::events::{Pkt, batch};

/// Packets spread over two days, many ports: a batch whose merge takes many
/// statements.
fn big_batch(seq: u64) -> Batch {
    let pkts: Vec<Pkt> = (0..10_000u32)
        .map(|i| Pkt {
            t: i64::from(i) * 18,
            src: i % 500,
            dst: i % 7919,
            kind: [0, 0, 2, 1, 3, 4][i as usize % 6],
            port: (i.wrapping_mul(2_654_435_761) >> 20) as u16,
            len: 60,
        })
        .collect();
    batch("sensor-1", seq, &pkts)
}

async fn snapshot(
    store: &SqliteStore,
) -> (
    portwatch_store::StoreTotals,
    Vec<portwatch_store::PortTotals>,
    Vec<portwatch_store::SourceTotals>,
) {
    let top = TopPortsQuery {
        class: SeriesClass::Probe,
        range: TimeRange::ALL,
        limit: usize::MAX,
        order: Order::Packets,
        proto: None,
    };
    let sources = SourcesQuery {
        range: TimeRange::ALL,
        limit: usize::MAX,
        port: None,
        order: SourceOrder::Probes,
    };
    (
        store.totals().await.expect("totals"),
        store.top_ports(&top).await.expect("top ports"),
        store.sources(&sources).await.expect("sources"),
    )
}

#[tokio::test]
async fn a_batch_merges_once() {
    let store = SqliteStore::in_memory().await.expect("store");
    let b = big_batch(7);
    assert_eq!(
        store.merge_batch(&b).await.expect("merge"),
        MergeOutcome::Merged
    );
    let once = snapshot(&store).await;
    assert_eq!(once.0.batches, 1);
    assert_eq!(once.0.counts, b.counts);
    assert_eq!(
        store.merge_batch(&b).await.expect("merge"),
        MergeOutcome::AlreadyMerged
    );
    assert_eq!(snapshot(&store).await, once);
    // Same sequence number in another stream is another batch.
    let mut other = b.clone();
    other.id.stream = "sensor-2".into();
    assert_eq!(
        store.merge_batch(&other).await.expect("merge"),
        MergeOutcome::Merged
    );
    let twice = snapshot(&store).await;
    assert_eq!(twice.0.batches, 2);
    assert_eq!(twice.0.counts.probe, 2 * b.counts.probe);
}

#[tokio::test]
async fn a_failing_merge_leaves_nothing() {
    let store = SqliteStore::in_memory().await.expect("store");
    let good = big_batch(1);
    // A count the database cannot hold, in the batch's last minute: the
    // merge fails after it has written the claim, the stream counts and
    // most of the series inside its transaction.
    let mut bad = good.clone();
    let last = bad
        .minutes
        .iter_mut()
        .max_by_key(|(k, _)| k.start)
        .expect("minutes");
    last.1.packets = u64::MAX;
    let err = store.merge_batch(&bad).await.expect_err("must fail");
    assert!(
        matches!(
            err,
            StoreError::OutOfRange {
                what: "packets",
                ..
            }
        ),
        "{err}"
    );
    let empty = snapshot(&store).await;
    assert_eq!(empty.0.batches, 0);
    assert!(empty.1.is_empty() && empty.2.is_empty(), "{empty:?}");
    // The id was not claimed: the corrected batch merges.
    assert_eq!(
        store.merge_batch(&good).await.expect("merge"),
        MergeOutcome::Merged
    );
    let reference = SqliteStore::in_memory().await.expect("store");
    reference.merge_batch(&good).await.expect("merge");
    assert_eq!(snapshot(&store).await, snapshot(&reference).await);
}

#[tokio::test]
async fn an_abandoned_merge_is_all_or_nothing() {
    let b = big_batch(3);
    let dir = tempfile::tempdir().expect("tempdir");
    let reference = SqliteStore::open(dir.path().join("reference.db"))
        .await
        .expect("store");
    let started = std::time::Instant::now();
    reference.merge_batch(&b).await.expect("merge");
    let full = started.elapsed();
    let want = snapshot(&reference).await;
    for (i, percent) in [0u32, 10, 50, 90].into_iter().enumerate() {
        let path = dir.path().join(format!("abandon-{i}.db"));
        let store = SqliteStore::open(&path).await.expect("store");
        // Dropping the merge future partway drops its transaction
        // uncommitted.
        let after = full * percent / 100;
        let micros = after.as_micros();
        let cut = tokio::time::timeout(after, store.merge_batch(&b)).await;
        let now = snapshot(&store).await;
        let nothing = now.0.batches == 0 && now.1.is_empty() && now.2.is_empty();
        assert!(
            nothing || now == want,
            "half a batch after {micros} µs: {cut:?}"
        );
        if nothing {
            // Possibly still committing on its connection; either way the
            // next attempt completes it exactly once.
            store.merge_batch(&b).await.expect("merge");
        } else {
            let again = store.merge_batch(&b).await.expect("merge");
            assert_eq!(again, MergeOutcome::AlreadyMerged);
        }
        assert_eq!(snapshot(&store).await, want, "after {micros} µs");
        store.close().await;
        // And the file holds exactly that after reopening.
        let reopened = SqliteStore::open(&path).await.expect("reopen");
        assert_eq!(snapshot(&reopened).await, want);
    }
}
