//! Payload clusters and checkpoints: merged with their batch, once.

use std::net::{IpAddr, Ipv4Addr};

use portwatch_aggregate::{Batch, BatchId};
use portwatch_core::PortKey;
use portwatch_store::{
    LiveExtras, MergeOutcome, PAYLOAD_BYTES_KEPT, PAYLOAD_SOURCES_KEPT, PayloadSample,
    PayloadsQuery, SqliteStore, Store,
};

fn empty(stream: &str, seq: u64) -> Batch {
    Batch {
        id: BatchId {
            stream: stream.into(),
            seq,
        },
        minutes: Vec::new(),
        sources: Vec::new(),
        counts: Default::default(),
    }
}

fn sample(port: &str, hash: u64, ts: i64, src: u8, bytes: &[u8]) -> PayloadSample {
    PayloadSample {
        port: port.parse::<PortKey>().expect("port"),
        hash,
        ts,
        src: IpAddr::V4(Ipv4Addr::new(192, 0, 2, src)),
        signatures: vec!["redis-inline".into()],
        bytes: bytes.to_vec(),
        len: bytes.len() as u64,
    }
}

#[tokio::test]
async fn payloads_cluster_by_port_and_hash_and_merge_once() {
    let store = SqliteStore::in_memory().await.expect("store");
    let extras = LiveExtras {
        payloads: vec![
            sample("6379/tcp", 7, 120, 1, b"PING\r\n"),
            sample("6379/tcp", 7, 60, 2, b"PING\r\n"),
            sample("6379/tcp", 7, 180, 1, b"PING\r\n"),
            sample("6379/udp", 7, 60, 1, b"PING\r\n"),
            sample("6379/tcp", 9, 60, 3, b"INFO\r\n"),
        ],
        checkpoints: vec![("log:/var/log/fw".into(), "{\"offset\":10}".into())],
    };
    let b = empty("live:test", 0);
    assert_eq!(
        store.merge_live(&b, &extras).await.expect("merge"),
        MergeOutcome::Merged
    );
    // The same id again changes nothing, payloads included.
    assert_eq!(
        store.merge_live(&b, &extras).await.expect("merge"),
        MergeOutcome::AlreadyMerged
    );
    let all = store
        .payloads(&PayloadsQuery::default())
        .await
        .expect("payloads");
    assert_eq!(all.len(), 3);
    let top = &all[0];
    assert_eq!((top.port, top.count, top.sources), (6379, 3, 2));
    assert_eq!((top.first_seen, top.last_seen), (60, 180));
    assert_eq!(top.bytes, b"PING\r\n");
    assert_eq!(top.hash, "0000000000000007");
    let udp = store
        .payloads(&PayloadsQuery {
            port: Some("6379/udp".parse().expect("port")),
            limit: 0,
        })
        .await
        .expect("udp");
    assert_eq!(udp.len(), 1);
    assert_eq!(udp[0].count, 1);
    assert_eq!(store.last_seq("live:test").await.expect("seq"), Some(0));
    assert_eq!(store.last_seq("other").await.expect("seq"), None);
    assert_eq!(
        store.checkpoints("live:test").await.expect("cp"),
        vec![("log:/var/log/fw".to_string(), "{\"offset\":10}".to_string())]
    );

    // A later batch adds to the cluster and replaces the checkpoint.
    let more = LiveExtras {
        payloads: vec![sample("6379/tcp", 7, 30, 4, b"PING\r\n")],
        checkpoints: vec![("log:/var/log/fw".into(), "{\"offset\":20}".into())],
    };
    store
        .merge_live(&empty("live:test", 1), &more)
        .await
        .expect("merge");
    let all = store
        .payloads(&PayloadsQuery::default())
        .await
        .expect("payloads");
    assert_eq!(
        (all[0].count, all[0].sources, all[0].first_seen),
        (4, 3, 30)
    );
    assert_eq!(
        store.checkpoints("live:test").await.expect("cp")[0].1,
        "{\"offset\":20}"
    );
    assert_eq!(store.last_seq("live:test").await.expect("seq"), Some(1));
}

#[tokio::test]
async fn long_payloads_and_many_sources_are_bounded() {
    let store = SqliteStore::in_memory().await.expect("store");
    let long = vec![b'A'; PAYLOAD_BYTES_KEPT * 3];
    let payloads: Vec<_> = (0..=PAYLOAD_SOURCES_KEPT)
        .map(|i| {
            let mut s = sample("80/tcp", 1, 60, 0, &long);
            s.src = IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + i as u32));
            s
        })
        .collect();
    store
        .merge_payloads(
            &BatchId {
                stream: "s".into(),
                seq: 0,
            },
            &payloads,
        )
        .await
        .expect("merge");
    let c = &store
        .payloads(&PayloadsQuery::default())
        .await
        .expect("payloads")[0];
    assert_eq!(c.bytes.len(), PAYLOAD_BYTES_KEPT);
    assert_eq!(c.len, (PAYLOAD_BYTES_KEPT * 3) as u64);
    assert_eq!(c.count, PAYLOAD_SOURCES_KEPT as u64 + 1);
    assert_eq!(c.sources, PAYLOAD_SOURCES_KEPT as u64);
    assert!(c.sources_capped);
}
