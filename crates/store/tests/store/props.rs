//! The store against the model: random batches, merged in random order with
//! duplicates, must give exactly the model's answers to every query.

use portwatch_aggregate::{Batch, SeriesClass};
use portwatch_core::{BucketWidth, PortKey, Proto, Timestamp};
use portwatch_store::{
    Order, SeriesQuery, SourceOrder, SourcesQuery, SqliteStore, Store, TimeRange, TopPortsQuery,
};
use proptest::prelude::*;

use crate::events::{BASE, Pkt, batch};
use crate::model::Model;

/// Packets over 30 hours around a UTC midnight. Fewer than 32 sources, so
/// every top-k summary stays exact and merge order cannot change it.
fn pkt() -> impl Strategy<Value = Pkt> {
    (
        0i64..(30 * 3600),
        0u32..20,
        0u32..3000,
        prop::sample::select(vec![0u8, 0, 0, 1, 2, 2, 3, 4]),
        prop::sample::select(vec![0u16, 22, 23, 445, 5168]),
        40u32..1500,
    )
        .prop_map(|(t, src, dst, kind, port, len)| Pkt {
            t,
            src,
            dst,
            kind,
            port,
            len,
        })
}

/// A range of whole minutes inside (or around) the data's span, or open.
fn range() -> impl Strategy<Value = TimeRange> {
    let bound = prop::option::weighted(0.8, -120i64..(31 * 60))
        .prop_map(|m| m.map(|m| Timestamp::from_secs((BASE / 60 + m) * 60)));
    (bound.clone(), bound).prop_map(|(a, b)| match (a, b) {
        (Some(a), Some(b)) if a > b => TimeRange::new(b, a),
        (from, to) => TimeRange { from, to },
    })
}

fn run<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime")
        .block_on(f)
}

async fn check_queries(store: &SqliteStore, model: &Model, ranges: &[TimeRange]) {
    for range in ranges {
        for class in [SeriesClass::Probe, SeriesClass::Backscatter] {
            for order in [Order::Sources, Order::Packets] {
                for proto in [None, Some(Proto::Tcp), Some(Proto::Udp)] {
                    for limit in [3, 100] {
                        let q = TopPortsQuery {
                            class,
                            range: *range,
                            limit,
                            order,
                            proto,
                        };
                        let got = store.top_ports(&q).await.expect("top ports");
                        assert_eq!(got, model.top_ports(&q), "{q:?}");
                    }
                }
            }
        }
        for (class, port) in model.series_keys() {
            for width in BucketWidth::ALL {
                let q = SeriesQuery {
                    class,
                    port,
                    width,
                    range: *range,
                };
                let got = store.series(&q).await.expect("series");
                assert_eq!(got, model.series(&q), "{q:?}");
            }
        }
        for order in [
            SourceOrder::Probes,
            SourceOrder::Packets,
            SourceOrder::Ports,
            SourceOrder::Targets,
        ] {
            for port in [
                None,
                Some(PortKey::new(Proto::Tcp, 23)),
                Some(PortKey::new(Proto::Udp, 5168)),
            ] {
                let q = SourcesQuery {
                    range: *range,
                    limit: 7,
                    port,
                    order,
                };
                let got = store.sources(&q).await.expect("sources");
                assert_eq!(got, model.sources(&q), "{q:?}");
            }
        }
        // One source at a time equals its row among all of them.
        let all = model.sources(&SourcesQuery {
            range: *range,
            limit: usize::MAX,
            port: None,
            order: SourceOrder::Probes,
        });
        for want in all.iter().take(5) {
            let got = store.source(want.addr, *range).await.expect("source");
            assert_eq!(got.as_ref(), Some(want), "{range:?}");
        }
        let unseen = "192.0.2.250".parse().expect("address");
        assert_eq!(store.source(unseen, *range).await.expect("source"), None);
    }
    assert_eq!(store.totals().await.expect("totals"), model.totals());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn store_equals_model(
        pkts in prop::collection::vec(pkt(), 1..300),
        assign in prop::collection::vec(0usize..5, 300),
        order in prop::collection::vec(0usize..5, 3..12),
        ranges in prop::collection::vec(range(), 2),
    ) {
        // Cut the packets into up to five batches of two streams.
        let mut parts: Vec<Vec<Pkt>> = vec![Vec::new(); 5];
        for (p, a) in pkts.iter().zip(&assign) {
            parts[*a].push(*p);
        }
        let batches: Vec<Batch> = parts
            .iter()
            .enumerate()
            .map(|(i, ps)| batch(["a", "b"][i % 2], i as u64, ps))
            .collect();
        let mut ranges = ranges;
        ranges.push(TimeRange::ALL);
        run(async {
            let store = SqliteStore::in_memory().await.expect("store");
            let mut model = Model::default();
            // Some batches more than once, some never, in random order.
            for &i in &order {
                let got = store.merge_batch(&batches[i]).await.expect("merge");
                assert_eq!(got, model.merge(&batches[i]));
            }
            check_queries(&store, &model, &ranges).await;
        });
    }
}
