//! Ranking skips the long tail's sketches but must answer exactly as if it
//! had merged every port.

use portwatch_aggregate::SeriesClass;
use portwatch_core::Timestamp;
use portwatch_store::{Order, SqliteStore, Store, TimeRange, TopPortsQuery};

use crate::events::{BASE, Pkt, batch};

#[tokio::test]
async fn pruned_ranking_equals_full_ranking() {
    let mut pkts = Vec::new();
    // Three busy ports, two with more sources than a sparse counter holds,
    // spread over two days; one loud single source on a fourth.
    for i in 0..4000u32 {
        let t = i64::from(i) * 40;
        pkts.push(Pkt {
            t,
            src: i % 3000,
            dst: i,
            kind: 0,
            port: 23,
            len: 60,
        });
        pkts.push(Pkt {
            t,
            src: 10_000 + i % 2600,
            dst: i,
            kind: 0,
            port: 445,
            len: 60,
        });
        pkts.push(Pkt {
            t,
            src: 20_000 + i % 40,
            dst: i,
            kind: 2,
            port: 5060,
            len: 60,
        });
        pkts.push(Pkt {
            t,
            src: 7,
            dst: i,
            kind: 0,
            port: 3389,
            len: 60,
        });
    }
    // A long tail: thousands of ports seen once.
    for p in 0..3000u32 {
        pkts.push(Pkt {
            t: i64::from(p) * 50,
            src: 30_000 + p,
            dst: p,
            kind: (p % 3) as u8 * 2 % 4,
            port: 10_000 + p as u16,
            len: 40,
        });
    }
    let store = SqliteStore::in_memory().await.expect("store");
    store
        .merge_batch(&batch("s", 0, &pkts))
        .await
        .expect("merge");
    let minute = |m: i64| Timestamp::from_secs((BASE / 60 + m) * 60);
    for range in [
        TimeRange::ALL,
        TimeRange::new(minute(7), minute(26 * 60 + 3)),
        TimeRange::new(minute(600), minute(610)),
    ] {
        for order in [Order::Sources, Order::Packets] {
            let q = |limit| TopPortsQuery {
                class: SeriesClass::Probe,
                range,
                limit,
                order,
                proto: None,
            };
            let all = store.top_ports(&q(usize::MAX)).await.expect("all");
            assert!(all.len() > 10, "{range:?}: {}", all.len());
            for limit in [1, 2, 3, 5] {
                let top = store.top_ports(&q(limit)).await.expect("top");
                assert_eq!(top, all[..limit], "{range:?} {order:?} {limit}");
            }
        }
    }
}
