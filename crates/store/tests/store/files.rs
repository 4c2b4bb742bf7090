//! Opening database files: new, existing, and wrong ones.

use std::path::Path;

use portwatch_store::{SCHEMA_VERSION, SqliteStore, Store, StoreError, open_store};

use crate::events::{Pkt, batch};

fn pkts() -> Vec<Pkt> {
    (0..300u32)
        .map(|i| Pkt {
            t: i64::from(i) * 400,
            src: i % 17,
            dst: i,
            kind: (i % 5) as u8,
            port: 445,
            len: 52,
        })
        .collect()
}

/// The raw database at `path` on one connection, so each statement sees
/// the schema the last one left.
async fn raw(path: &Path) -> sqlx::SqlitePool {
    let opts = sqlx::sqlite::SqliteConnectOptions::new().filename(path);
    sqlx::sqlite::SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(opts)
        .await
        .expect("open")
}

/// Turns the store at `path` back into what an earlier build wrote by
/// running `steps` on it.
pub(crate) async fn downgrade(path: &Path, steps: &[&'static str]) {
    let pool = raw(path).await;
    for step in steps {
        sqlx::query(*step).execute(&pool).await.expect(step);
    }
    pool.close().await;
}

/// The SQL that created the `series` table.
async fn series_table_sql(path: &Path) -> String {
    let pool = raw(path).await;
    let sql = sqlx::query_scalar(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'series'",
    )
    .fetch_one(&pool)
    .await
    .expect("series table");
    pool.close().await;
    sql
}

#[tokio::test]
async fn reopening_keeps_data() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("pw.db");
    let b = batch("file:abc", 0, &pkts());
    let before = {
        let store = SqliteStore::open(&path).await.expect("create");
        store.merge_batch(&b).await.expect("merge");
        store
            .describe_stream("file:abc", "capture.pcap (pcap)")
            .await
            .expect("label");
        let t = store.totals().await.expect("totals");
        store.close().await;
        t
    };
    assert_eq!(
        before.per_stream[0].label.as_deref(),
        Some("capture.pcap (pcap)")
    );
    assert_eq!(before.counts, b.counts);
    let store = open_store(path.to_str().expect("utf-8 path"))
        .await
        .expect("reopen");
    assert_eq!(store.totals().await.expect("totals"), before);
    assert_eq!(
        store.merge_batch(&b).await.expect("merge"),
        portwatch_store::MergeOutcome::AlreadyMerged
    );
    let url = format!("sqlite://{}", path.display());
    let again = open_store(&url).await.expect("reopen by URL");
    assert_eq!(again.totals().await.expect("totals"), before);
}

#[tokio::test]
async fn a_temporary_store_keeps_data_until_dropped_then_leaves_nothing() {
    let parent = tempfile::tempdir().expect("tempdir");
    let entries = || std::fs::read_dir(parent.path()).expect("list").count();
    let b = batch("file:abc", 0, &pkts());
    let store = SqliteStore::temporary_in(parent.path())
        .await
        .expect("create");
    let clone = store.clone();
    store.merge_batch(&b).await.expect("merge");
    assert_eq!(
        clone.merge_batch(&b).await.expect("merge"),
        portwatch_store::MergeOutcome::AlreadyMerged
    );
    assert_eq!(clone.totals().await.expect("totals").counts, b.counts);
    assert_eq!(entries(), 1, "one directory for the database");
    let dir = store.temporary_dir().expect("temporary").to_path_buf();
    assert!(dir.starts_with(parent.path()) && dir.join("store.db").exists());
    store.close().await;
    drop(store);
    assert_eq!(entries(), 1, "a clone still holds it");
    drop(clone);
    assert_eq!(entries(), 0, "removed with the last clone");
}

#[tokio::test]
async fn a_temporary_store_under_a_missing_directory_names_it() {
    let parent = tempfile::tempdir().expect("tempdir");
    let missing = parent.path().join("not-there");
    let err = SqliteStore::temporary_in(&missing)
        .await
        .expect_err("no such directory");
    assert_names(&err, &missing);
}

fn assert_names(err: &StoreError, path: &Path) {
    let msg = err.to_string();
    assert!(msg.contains(&path.display().to_string()), "{msg}");
}

#[tokio::test]
async fn garbage_is_not_a_database() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (name, bytes) in [
        (
            "big.db",
            (0..8192u32)
                .map(|i| (i * 7 % 251) as u8)
                .collect::<Vec<u8>>(),
        ),
        ("text.db", b"this is a pcap file, honest\n".to_vec()),
    ] {
        let path = dir.path().join(name);
        std::fs::write(&path, &bytes).expect("write");
        let err = SqliteStore::open(&path)
            .await
            .expect_err("garbage must not open");
        assert!(
            matches!(err, StoreError::NotADatabase { .. }),
            "{name}: {err:?}"
        );
        assert_names(&err, &path);
        // And the file is left alone.
        assert_eq!(std::fs::read(&path).expect("read"), bytes);
    }
}

#[tokio::test]
async fn a_version_3_store_gains_tool_counts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("v3.db");
    let b = batch("file:abc", 0, &pkts());
    {
        let store = SqliteStore::open(&path).await.expect("create");
        store.merge_batch(&b).await.expect("merge");
        store.close().await;
    }
    // Back to what a version 3 build wrote: no tools column (nor the
    // later live-sensing tables).
    downgrade(
        &path,
        &[
            "ALTER TABLE source_days DROP COLUMN tools",
            "ALTER TABLE source_days DROP COLUMN first_contacts_ok",
            "ALTER TABLE source_days DROP COLUMN first_contacts_failed",
            "DROP TABLE payloads",
            "DROP TABLE payload_sources",
            "DROP TABLE checkpoints",
            "DELETE FROM portwatch_schema WHERE version >= 4",
        ],
    )
    .await;
    let store = SqliteStore::open(&path).await.expect("migrate");
    let range = portwatch_store::TimeRange::default();
    let src = crate::events::src_addr(0);
    let old = store.source(src, range).await.expect("read").expect("seen");
    assert!(old.tools.is_empty() && old.probes > 0, "{old:?}");
    // New batches carry tool counts, and they add up to the probes.
    store
        .merge_batch(&batch("file:def", 0, &pkts()))
        .await
        .expect("merge");
    let new = store.source(src, range).await.expect("read").expect("seen");
    assert_eq!(new.tools.total(), old.probes);
    assert_eq!(new.probes, 2 * old.probes);
}

#[tokio::test]
async fn a_version_5_store_gains_first_contact_counts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("v5.db");
    let b = batch("file:abc", 0, &pkts());
    {
        let store = SqliteStore::open(&path).await.expect("create");
        store.merge_batch(&b).await.expect("merge");
        store.close().await;
    }
    // Back to what a version 5 build wrote: no first-contact columns.
    downgrade(
        &path,
        &[
            "ALTER TABLE source_days DROP COLUMN first_contacts_ok",
            "ALTER TABLE source_days DROP COLUMN first_contacts_failed",
            "DELETE FROM portwatch_schema WHERE version >= 6",
        ],
    )
    .await;
    let store = SqliteStore::open(&path).await.expect("migrate");
    let range = portwatch_store::TimeRange::default();
    let src = crate::events::src_addr(0);
    let old = store.source(src, range).await.expect("read").expect("seen");
    assert_eq!((old.first_contacts_ok, old.first_contacts_failed), (0, 0));
    assert!(old.probes > 0);
    // A batch with outcomes adds to the migrated row.
    let mut with = batch("file:def", 0, &pkts());
    let mut added = (0, 0);
    for (k, s) in with.sources.iter_mut().filter(|(k, _)| k.addr == src) {
        s.first_contacts_ok = 2;
        s.first_contacts_failed = 5 + (k.day / 86_400) as u64 % 3;
        added.0 += s.first_contacts_ok;
        added.1 += s.first_contacts_failed;
    }
    assert!(added.1 > 0, "source 0 is in the batch");
    store.merge_batch(&with).await.expect("merge");
    let new = store.source(src, range).await.expect("read").expect("seen");
    assert_eq!((new.first_contacts_ok, new.first_contacts_failed), added);
    assert_eq!(new.probes, 2 * old.probes);
    store.close().await;
    let reopened = SqliteStore::open(&path).await.expect("reopen");
    let again = reopened
        .source(src, range)
        .await
        .expect("read")
        .expect("seen");
    assert_eq!(again, new);
}

/// Every bucket of every width and class of port 445/tcp, and the totals.
async fn series_snapshot(
    store: &SqliteStore,
) -> (
    Vec<portwatch_store::SeriesPoint>,
    portwatch_store::StoreTotals,
) {
    use portwatch_aggregate::SeriesClass;
    use portwatch_core::{BucketWidth, PortKey, Proto};
    let mut points = Vec::new();
    for class in [SeriesClass::Probe, SeriesClass::Backscatter] {
        for width in BucketWidth::ALL {
            let q = portwatch_store::SeriesQuery {
                class,
                port: PortKey::new(Proto::Tcp, 445),
                width,
                range: portwatch_store::TimeRange::default(),
            };
            points.extend(store.series(&q).await.expect("series"));
        }
    }
    (points, store.totals().await.expect("totals"))
}

#[tokio::test]
async fn a_version_6_store_gets_series_as_a_rowid_table() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("v6.db");
    let before = {
        let store = SqliteStore::open(&path).await.expect("create");
        store
            .merge_batch(&batch("file:abc", 0, &pkts()))
            .await
            .expect("merge");
        let snapshot = series_snapshot(&store).await;
        store.close().await;
        snapshot
    };
    assert!(!before.0.is_empty());
    // Back to what a version 6 build wrote: `series` WITHOUT ROWID, with
    // the same rows.
    downgrade(
        &path,
        &[
            "CREATE TABLE series_v6 (
                width INTEGER NOT NULL, start INTEGER NOT NULL, day INTEGER NOT NULL,
                class INTEGER NOT NULL, proto INTEGER NOT NULL, port INTEGER NOT NULL,
                packets INTEGER NOT NULL, bytes INTEGER NOT NULL,
                active_minutes INTEGER NOT NULL, sources INTEGER NOT NULL,
                first_seen INTEGER NOT NULL, last_seen INTEGER NOT NULL,
                sketches BLOB NOT NULL,
                PRIMARY KEY (width, start, class, proto, port)
            ) WITHOUT ROWID",
            "INSERT INTO series_v6 SELECT width, start, day, class, proto, port, packets, bytes,
                 active_minutes, sources, first_seen, last_seen, sketches FROM series",
            "DROP TABLE series",
            "ALTER TABLE series_v6 RENAME TO series",
            "CREATE INDEX series_by_port ON series (width, day, class, proto, port, start)",
            "DELETE FROM portwatch_schema WHERE version >= 7",
        ],
    )
    .await;
    assert!(series_table_sql(&path).await.contains("WITHOUT ROWID"));
    let store = SqliteStore::open(&path).await.expect("migrate");
    assert_eq!(series_snapshot(&store).await, before);
    // Merges still find the migrated rows: the same packets again under
    // another stream double every count.
    store
        .merge_batch(&batch("file:def", 0, &pkts()))
        .await
        .expect("merge");
    let (after, _) = series_snapshot(&store).await;
    assert_eq!(after.len(), before.0.len());
    for (a, b) in after.iter().zip(&before.0) {
        assert_eq!((a.start, a.packets), (b.start, 2 * b.packets), "{a:?}");
    }
    store.close().await;
    let sql = series_table_sql(&path).await;
    assert!(
        !sql.contains("WITHOUT ROWID") && sql.contains("UNIQUE"),
        "{sql}"
    );
}

#[tokio::test]
async fn other_databases_and_newer_schemas_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let foreign = dir.path().join("foreign.db");
    {
        let opts = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(&foreign)
            .create_if_missing(true);
        let pool = sqlx::SqlitePool::connect_with(opts).await.expect("create");
        sqlx::query("CREATE TABLE invoices (id INTEGER)")
            .execute(&pool)
            .await
            .expect("create table");
        pool.close().await;
    }
    let err = SqliteStore::open(&foreign).await.expect_err("foreign");
    assert!(matches!(err, StoreError::ForeignDatabase { .. }), "{err:?}");
    assert_names(&err, &foreign);

    let newer = dir.path().join("newer.db");
    SqliteStore::open(&newer)
        .await
        .expect("create")
        .close()
        .await;
    {
        let opts = sqlx::sqlite::SqliteConnectOptions::new().filename(&newer);
        let pool = sqlx::SqlitePool::connect_with(opts).await.expect("open");
        sqlx::query("INSERT INTO portwatch_schema (version) VALUES (?)")
            .bind(SCHEMA_VERSION + 1)
            .execute(&pool)
            .await
            .expect("bump");
        pool.close().await;
    }
    let err = SqliteStore::open(&newer).await.expect_err("newer");
    assert!(
        matches!(err, StoreError::SchemaTooNew { found, supported, .. } if found == SCHEMA_VERSION + 1 && supported == SCHEMA_VERSION),
        "{err:?}"
    );
    assert_names(&err, &newer);
}

#[tokio::test]
async fn urls() {
    let err = open_store("postgres://db.example/portwatch")
        .await
        .expect_err("not yet");
    assert!(
        err.to_string()
            .contains("PostgreSQL support arrives with the distributed store"),
        "{err}"
    );
    assert!(open_store("mysql://x").await.is_err());
    let mem = open_store("sqlite::memory:").await.expect("memory");
    assert_eq!(mem.totals().await.expect("totals").streams, 0);
    let dir = tempfile::tempdir().expect("tempdir");
    let missing = dir.path().join("no/such/dir/pw.db");
    let err = open_store(missing.to_str().expect("utf-8"))
        .await
        .expect_err("no dir");
    assert_names(&err, &missing);
}
