//! Rule 1: data that arrives late merges into the minute it belongs to, and
//! into every roll-up of that minute.

use portwatch_aggregate::{PortBucket, SeriesClass};
use portwatch_core::{BucketWidth, PortKey, Proto, Timestamp};
use portwatch_store::{
    MergeOutcome, Order, SeriesQuery, SqliteStore, Store, TimeRange, TopPortsQuery,
};

use crate::events::{BASE, Pkt, batch};

const TELNET: PortKey = PortKey::new(Proto::Tcp, 23);

fn syn(t: i64, src: u32, dst: u32) -> Pkt {
    Pkt {
        t,
        src,
        dst,
        kind: 0,
        port: 23,
        len: 60,
    }
}

fn series(width: BucketWidth) -> SeriesQuery {
    SeriesQuery {
        class: SeriesClass::Probe,
        port: TELNET,
        width,
        range: TimeRange::ALL,
    }
}

#[tokio::test]
async fn late_minutes_merge_into_every_width() {
    // The start of the first 5-minute bucket after BASE, so that it and the
    // next minute share every coarser bucket.
    let minute = (BASE / 300 + 1) * 300 - BASE;
    let store = SqliteStore::in_memory().await.expect("store");
    // On time: sources 1 and 2 in one minute.
    let on_time = batch("s", 0, &[syn(minute, 1, 1), syn(minute + 5, 2, 2)]);
    // Late: the same minute again (sources 2 and 3) and the next minute.
    let late = batch(
        "s",
        1,
        &[
            syn(minute + 30, 2, 3),
            syn(minute + 40, 3, 4),
            syn(minute + 70, 4, 5),
        ],
    );
    assert_eq!(
        store.merge_batch(&on_time).await.expect("merge"),
        MergeOutcome::Merged
    );
    assert_eq!(
        store.merge_batch(&late).await.expect("merge"),
        MergeOutcome::Merged
    );

    let minutes = store
        .series(&series(BucketWidth::Minute))
        .await
        .expect("series");
    assert_eq!(minutes.len(), 2);
    let m = &minutes[0];
    assert_eq!(m.start, Timestamp::from_secs(BASE + minute));
    assert_eq!(
        (m.packets, m.sources, m.targets, m.active_minutes),
        (4, 3, 4, 1)
    );
    assert_eq!(m.first_seen, Timestamp::from_secs(BASE + minute));
    assert_eq!(m.last_seen, Timestamp::from_secs(BASE + minute + 40));
    let top: Vec<(u64, u64)> = m.top_sources.iter().map(|e| (e.count, e.error)).collect();
    assert_eq!(top, vec![(2, 0), (1, 0), (1, 0)]);
    assert_eq!(m.top_sources[0].addr, crate::events::src_addr(2));

    for width in [
        BucketWidth::FiveMinutes,
        BucketWidth::Hour,
        BucketWidth::Day,
    ] {
        let points = store.series(&series(width)).await.expect("series");
        assert_eq!(points.len(), 1, "{width}");
        let p = &points[0];
        // Four distinct sources, five packets, and two minutes — not three:
        // the late minute was already active.
        assert_eq!(
            (p.packets, p.sources, p.active_minutes),
            (5, 4, 2),
            "{width}"
        );
        assert_eq!(
            p.last_seen,
            Timestamp::from_secs(BASE + minute + 70),
            "{width}"
        );
    }
    let top = store
        .top_ports(&TopPortsQuery {
            class: SeriesClass::Probe,
            range: TimeRange::ALL,
            limit: 10,
            order: Order::Sources,
            proto: None,
        })
        .await
        .expect("top ports");
    assert_eq!(top.len(), 1);
    assert_eq!(
        (top[0].port, top[0].sources, top[0].active_minutes),
        (TELNET, 4, 2)
    );
}

/// Large sketches (dense distinct counters, full top-k) merge the same way
/// in the store as in memory.
#[tokio::test]
async fn late_data_with_large_sketches() {
    let pkts = |from: u32, n: u32| -> Vec<Pkt> {
        (from..from + n)
            .map(|i| syn(i64::from(i % 600), i % 3000, i))
            .collect()
    };
    let (a, b) = (pkts(0, 4000), pkts(2000, 4000));
    let (ba, bb) = (batch("s", 0, &a), batch("s", 1, &b));
    let store = SqliteStore::in_memory().await.expect("store");
    store.merge_batch(&ba).await.expect("merge");
    store.merge_batch(&bb).await.expect("merge");
    let mut want = PortBucket::default();
    for (_, v) in ba.minutes.iter().chain(&bb.minutes) {
        want.merge(v);
    }
    assert!(!want.targets.is_exact(), "the test needs a dense counter");
    let top = store
        .top_ports(&TopPortsQuery {
            class: SeriesClass::Probe,
            range: TimeRange::ALL,
            limit: 1,
            order: Order::Packets,
            proto: Some(Proto::Tcp),
        })
        .await
        .expect("top ports");
    assert_eq!(top[0].packets, 8000);
    assert_eq!(top[0].targets, want.targets.estimate());
    assert_eq!(top[0].sources, want.sources.estimate());
    let day = store
        .series(&series(BucketWidth::Day))
        .await
        .expect("series");
    assert_eq!(day[0].targets, want.targets.estimate());
    assert!(
        day[0].targets.abs_diff(6000) < 6000 / 20,
        "{}",
        day[0].targets
    );
}
