//! The SQLite schema and its migrations.
//!
//! A store records its schema version in `portwatch_schema`; opening applies
//! the migrations it lacks, each in the same transaction as its version
//! bump, and refuses a store from a newer build. (sqlx's own migrator needs
//! its compile-time macros and cannot tell "newer than me" apart from
//! "changed", which is the error users need here.)
//!
//! Column types are the SQLite spelling of portable ones: INTEGER is BIGINT
//! and BLOB is BYTEA in PostgreSQL. Tables of small rows are `WITHOUT ROWID`,
//! which keeps rows in primary-key order, so a time-range read is a range
//! scan; `series`, whose rows carry sketches, is a rowid table read through
//! its unique key's index (version 7).

use std::path::Path;

use sqlx::SqlitePool;

use crate::StoreError;

/// Version 1: series of every width, source-days, streams and batch ids.
const V1: &[&str] = &[
    // One row per (width, bucket, class, port). Time leads the key so that
    // merging a batch reads its time range as one range scan and new rows
    // append at the end.
    "CREATE TABLE series (
        width INTEGER NOT NULL,
        start INTEGER NOT NULL,
        day INTEGER NOT NULL,
        class INTEGER NOT NULL,
        proto INTEGER NOT NULL,
        port INTEGER NOT NULL,
        packets INTEGER NOT NULL,
        bytes INTEGER NOT NULL,
        active_minutes INTEGER NOT NULL,
        -- the source counter's estimate, so that ranking can skip ports
        -- whose sketches cannot matter (see read.rs)
        sources INTEGER NOT NULL,
        first_seen INTEGER NOT NULL,
        last_seen INTEGER NOT NULL,
        -- source counter, target counter and top sources: see codec.rs
        sketches BLOB NOT NULL,
        PRIMARY KEY (width, start, class, proto, port)
    ) WITHOUT ROWID",
    // One port's series. Led by the UTC day so that a merge's index inserts
    // stay within the days it touches (a working set that does not grow with
    // the store's age); a query seeks once per day of its range.
    "CREATE INDEX series_by_port ON series (width, day, class, proto, port, start)",
    "CREATE TABLE source_days (
        day INTEGER NOT NULL,
        addr BLOB NOT NULL,
        first_seen INTEGER NOT NULL,
        last_seen INTEGER NOT NULL,
        probes INTEGER NOT NULL,
        backscatter INTEGER NOT NULL,
        other INTEGER NOT NULL,
        bytes INTEGER NOT NULL,
        ports BLOB NOT NULL,
        targets BLOB NOT NULL,
        PRIMARY KEY (day, addr)
    ) WITHOUT ROWID",
    "CREATE TABLE streams (
        stream TEXT NOT NULL PRIMARY KEY,
        label TEXT,
        batches INTEGER NOT NULL,
        first_seen INTEGER,
        last_seen INTEGER
    )",
    "CREATE TABLE stream_counts (
        stream TEXT NOT NULL,
        name TEXT NOT NULL,
        n INTEGER NOT NULL,
        PRIMARY KEY (stream, name)
    ) WITHOUT ROWID",
    "CREATE TABLE batches (
        stream TEXT NOT NULL,
        seq INTEGER NOT NULL,
        PRIMARY KEY (stream, seq)
    ) WITHOUT ROWID",
];

/// Version 2: alerts and their lifecycle transitions.
const V2: &[&str] = &[
    // The alert document is kept whole (JSON text); the columns beside it
    // are what alerts are selected by.
    "CREATE TABLE alerts (
        id TEXT NOT NULL PRIMARY KEY,
        proto INTEGER NOT NULL,
        port INTEGER NOT NULL,
        kind TEXT NOT NULL,
        state TEXT NOT NULL,
        onset INTEGER NOT NULL,
        closed INTEGER,
        doc TEXT NOT NULL
    )",
    "CREATE INDEX alerts_by_onset ON alerts (onset)",
    "CREATE TABLE alert_transitions (
        alert TEXT NOT NULL,
        seq INTEGER NOT NULL,
        state TEXT NOT NULL,
        at INTEGER NOT NULL,
        decided INTEGER NOT NULL,
        PRIMARY KEY (alert, seq)
    ) WITHOUT ROWID",
];

/// Version 3: what the publisher delivered, so that re-running `analyze`
/// sends each alert transition to each sink once.
const V3: &[&str] = &[
    "CREATE TABLE deliveries (
        key TEXT NOT NULL,
        sink TEXT NOT NULL,
        alert TEXT NOT NULL,
        event TEXT NOT NULL,
        outcome TEXT NOT NULL,
        -- the publisher's attempt records, a JSON array
        attempts TEXT NOT NULL,
        recorded INTEGER NOT NULL,
        PRIMARY KEY (key, sink)
    ) WITHOUT ROWID",
    "CREATE INDEX deliveries_by_alert ON deliveries (alert)",
];

/// Version 4: probes per scanning tool on each source-day (`zmap=3
/// unknown=2`, see `ToolCounts::encode`). Rows written before it carry no
/// tool counts: the empty default, which reads as "none recognised".
const V4: &[&str] = &["ALTER TABLE source_days ADD COLUMN tools TEXT NOT NULL DEFAULT ''"];

/// Version 5, live sensing: payload clusters from the honeypot (per protocol, port and
/// payload hash, with a bounded set of their sources) and per-stream
/// checkpoints such as a followed log's position. Both are written in the
/// transaction of the batch they came with.
const V5: &[&str] = &[
    "CREATE TABLE payloads (
        proto INTEGER NOT NULL,
        port INTEGER NOT NULL,
        hash INTEGER NOT NULL,
        first_seen INTEGER NOT NULL,
        last_seen INTEGER NOT NULL,
        count INTEGER NOT NULL,
        -- comma-separated signature names, best first
        signatures TEXT NOT NULL,
        -- the whole payload's length; bytes keeps a bounded prefix
        len INTEGER NOT NULL,
        bytes BLOB NOT NULL,
        sources_capped INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (proto, port, hash)
    ) WITHOUT ROWID",
    "CREATE TABLE payload_sources (
        proto INTEGER NOT NULL,
        port INTEGER NOT NULL,
        hash INTEGER NOT NULL,
        addr BLOB NOT NULL,
        PRIMARY KEY (proto, port, hash, addr)
    ) WITHOUT ROWID",
    "CREATE TABLE checkpoints (
        stream TEXT NOT NULL,
        name TEXT NOT NULL,
        value TEXT NOT NULL,
        PRIMARY KEY (stream, name)
    ) WITHOUT ROWID",
];

/// Version 6: first contacts per source-day that succeeded and failed, the
/// counts Threshold Random Walk decides on. Rows written before it read as
/// no outcomes seen, which is what their captures gave (none were tracked).
const V6: &[&str] = &[
    "ALTER TABLE source_days ADD COLUMN first_contacts_ok INTEGER NOT NULL DEFAULT 0",
    "ALTER TABLE source_days ADD COLUMN first_contacts_failed INTEGER NOT NULL DEFAULT 0",
];

/// Version 7: `series` keeps its key as a unique constraint in a rowid
/// table instead of being a `WITHOUT ROWID` table, whose B-tree holds whole
/// rows in key order. Its rows are too large for that: a minute's sketches
/// average 444 bytes on the benchmark capture (SQLite advises under about a
/// twentieth of the 8 KiB page) and a busy port's day reaches 25 KB, so
/// every merge shifted and split large cells. As a rowid table, with the
/// rows copied in key order, `analyze --db` on that capture took 10% less
/// CPU and wall time (three alternating runs each) for the same output.
/// Range reads go through the unique index, whose order is the old key's.
const V7: &[&str] = &[
    "CREATE TABLE series_rows (
        width INTEGER NOT NULL,
        start INTEGER NOT NULL,
        day INTEGER NOT NULL,
        class INTEGER NOT NULL,
        proto INTEGER NOT NULL,
        port INTEGER NOT NULL,
        packets INTEGER NOT NULL,
        bytes INTEGER NOT NULL,
        active_minutes INTEGER NOT NULL,
        sources INTEGER NOT NULL,
        first_seen INTEGER NOT NULL,
        last_seen INTEGER NOT NULL,
        sketches BLOB NOT NULL,
        UNIQUE (width, start, class, proto, port)
    )",
    "INSERT INTO series_rows (width, start, day, class, proto, port, packets, bytes,
         active_minutes, sources, first_seen, last_seen, sketches)
     SELECT width, start, day, class, proto, port, packets, bytes,
         active_minutes, sources, first_seen, last_seen, sketches
     FROM series ORDER BY width, start, class, proto, port",
    // Dropping the table drops its index too.
    "DROP TABLE series",
    "ALTER TABLE series_rows RENAME TO series",
    "CREATE INDEX series_by_port ON series (width, day, class, proto, port, start)",
];

const MIGRATIONS: &[&[&str]] = &[V1, V2, V3, V4, V5, V6, V7];

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// Brings the database at `path` to [`SCHEMA_VERSION`].
pub(crate) async fn migrate(pool: &SqlitePool, path: &Path) -> Result<(), StoreError> {
    let open = |source| super::open_error(path, source);
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await.map_err(open)?;
    let ours: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'portwatch_schema'",
    )
    .fetch_one(&mut *tx)
    .await
    .map_err(open)?;
    if ours == 0 {
        let others: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
        )
        .fetch_one(&mut *tx)
        .await
        .map_err(open)?;
        if others > 0 {
            return Err(StoreError::ForeignDatabase {
                path: path.to_path_buf(),
            });
        }
        sqlx::query("CREATE TABLE portwatch_schema (version INTEGER NOT NULL)")
            .execute(&mut *tx)
            .await
            .map_err(open)?;
    }
    let found: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(version), 0) FROM portwatch_schema")
        .fetch_one(&mut *tx)
        .await
        .map_err(open)?;
    if found > SCHEMA_VERSION {
        return Err(StoreError::SchemaTooNew {
            path: path.to_path_buf(),
            found,
            supported: SCHEMA_VERSION,
        });
    }
    for (version, steps) in (1..)
        .zip(MIGRATIONS)
        .skip(usize::try_from(found).unwrap_or(0))
    {
        for step in *steps {
            sqlx::query(*step).execute(&mut *tx).await.map_err(open)?;
        }
        sqlx::query("INSERT INTO portwatch_schema (version) VALUES (?)")
            .bind(version)
            .execute(&mut *tx)
            .await
            .map_err(open)?;
        tracing::debug!(path = %path.display(), version, "store schema migrated");
    }
    tx.commit().await.map_err(open)
}
