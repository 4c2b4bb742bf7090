//! Recorded deliveries: upserted per (key, sink), kept across re-detection
//! and reopening, and added to a version-2 store by its migration.

use portwatch_store::{
    AlertRecord, DeliveriesQuery, SCHEMA_VERSION, SqliteStore, Store, StoredDelivery,
};

fn delivery(key: &str, sink: &str, outcome: &str) -> StoredDelivery {
    StoredDelivery {
        key: key.into(),
        sink: sink.into(),
        alert: key.split('-').next().unwrap_or_default().into(),
        event: "peak".into(),
        outcome: outcome.into(),
        attempts: "[]".into(),
        recorded: 1_700_000_000,
    }
}

#[tokio::test]
async fn a_retry_replaces_its_failure_and_records_survive() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("pw.db");
    let store = SqliteStore::open(&path).await.expect("create");
    let hook = "webhook:http://127.0.0.1:1/";
    store
        .record_delivery(&delivery("a1-peak-x", hook, "gave_up"))
        .await
        .expect("record");
    store
        .record_delivery(&delivery("a1-peak-x", "stdout", "delivered"))
        .await
        .expect("record");
    store
        .record_delivery(&delivery("b2-rising-y", hook, "delivered"))
        .await
        .expect("record");
    let retried = StoredDelivery {
        attempts: r#"[{"number":1},{"number":1}]"#.into(),
        ..delivery("a1-peak-x", hook, "delivered")
    };
    store.record_delivery(&retried).await.expect("upsert");
    // Re-detection replaces alerts; what went out stays recorded.
    store
        .replace_alerts(&[] as &[AlertRecord])
        .await
        .expect("replace");
    store.close().await;

    let store = SqliteStore::open(&path).await.expect("reopen");
    let all = store
        .deliveries(&DeliveriesQuery::default())
        .await
        .expect("all");
    assert_eq!(all.len(), 3);
    // Ordered by key, then sink.
    assert_eq!(all[0].sink, "stdout");
    assert_eq!(all[1], retried);
    let by_sink = store
        .deliveries(&DeliveriesQuery {
            sink: Some(hook.into()),
            ..DeliveriesQuery::default()
        })
        .await
        .expect("by sink");
    assert_eq!(by_sink.len(), 2);
    assert!(by_sink.iter().all(|d| d.outcome == "delivered"));
    let by_alert = store
        .deliveries(&DeliveriesQuery {
            alert: Some("b2".into()),
            ..DeliveriesQuery::default()
        })
        .await
        .expect("by alert");
    assert_eq!(by_alert.len(), 1);
    assert_eq!(by_alert[0].key, "b2-rising-y");
}

#[tokio::test]
async fn a_version_2_store_gains_the_deliveries_table() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("v2.db");
    SqliteStore::open(&path)
        .await
        .expect("create")
        .close()
        .await;
    // Turn it back into what a version-2 build wrote.
    crate::files::downgrade(
        &path,
        &[
            "DROP TABLE deliveries",
            "ALTER TABLE source_days DROP COLUMN tools",
            // Later versions' tables and columns go too.
            "ALTER TABLE source_days DROP COLUMN first_contacts_ok",
            "ALTER TABLE source_days DROP COLUMN first_contacts_failed",
            "DROP TABLE payloads",
            "DROP TABLE payload_sources",
            "DROP TABLE checkpoints",
            "DELETE FROM portwatch_schema WHERE version >= 3",
        ],
    )
    .await;
    assert_eq!(SCHEMA_VERSION, 7);
    let store = SqliteStore::open(&path).await.expect("migrate");
    store
        .record_delivery(&delivery("a1-closed-z", "stdout", "delivered"))
        .await
        .expect("record after migration");
    let all = store
        .deliveries(&DeliveriesQuery::default())
        .await
        .expect("read");
    assert_eq!(all.len(), 1);
}
