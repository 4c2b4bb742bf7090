//! Where portwatch keeps its aggregates, and the report queries over them.
//!
//! A [`Store`] merges [`Batch`]es of per-minute port buckets and per-day
//! source statistics exactly once each (rule 3 of the design: a batch id seen
//! before is ignored), keeps every series at 1-minute, 5-minute, hour and day
//! width (roll-ups maintained at merge time, late minutes merged into the
//! buckets they belong to, rule 1), and answers the questions reports ask:
//! the top ports of a time range, one port's series, the most active sources,
//! and what the store holds overall. Distinct counts over a range come from
//! merged sketches, never from sums of per-bucket counts.
//!
//! [`SqliteStore`] keeps everything in one SQLite file (or in memory) for
//! embedded use; a PostgreSQL implementation of the same trait is planned for
//! the distributed deployment. [`open_store`] picks one from a path or URL.
//!
//! How answers are composed:
//! * Top ports over a range merge the coarsest stored buckets that tile it
//!   exactly: minutes up to the first 5-minute boundary, then 5-minute
//!   buckets, hours, whole days in the middle, and back down at the end.
//!   A two-day report reads two day buckets per port, and distinct counts
//!   are exact merges of the sketches, never sums.
//! * A series at some width returns that width's stored buckets that
//!   overlap the range (whole buckets; empty ones absent).
//! * Sources are kept per UTC day, so a range selects the days it overlaps.
//! * Ranges are half-open and in whole UTC minutes; open ends mean "all".
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! use portwatch_store::{Store, SqliteStore};
//! let store = SqliteStore::in_memory().await?;
//! assert_eq!(store.totals().await?.batches, 0);
//! # Ok::<(), portwatch_store::StoreError>(())
//! # }).unwrap();
//! ```

mod error;
mod live;
mod plan;
mod query;
mod range;
mod reduce;
mod sqlite;

use async_trait::async_trait;
use portwatch_aggregate::{Batch, BatchId, SeriesClass};
use portwatch_core::PortKey;

pub use error::StoreError;
pub use live::{
    LiveExtras, PAYLOAD_BYTES_KEPT, PAYLOAD_SOURCES_KEPT, PayloadCluster, PayloadSample,
    PayloadsQuery,
};
pub use query::{
    AlertRecord, AlertsQuery, DeliveriesQuery, MergeOutcome, MinuteBucket, MinutesQuery, Order,
    PortTotals, SeriesPoint, SeriesQuery, SourceOrder, SourceTotals, SourcesQuery, StoreTotals,
    StoredDelivery, StreamTotals, TimeRange, TopPortsQuery, TransitionRecord, TrwSummary,
};
pub use sqlite::{SCHEMA_VERSION, SqliteStore};

/// Persistent, mergeable storage of aggregates.
///
/// Implementations must make [`Store::merge_batch`] atomic and idempotent per
/// batch id; everything else reads.
#[async_trait]
pub trait Store: Send + Sync + std::fmt::Debug {
    /// Merges a batch exactly once (rule 3): a batch id already merged is
    /// ignored and reported as such. Atomic: all of the batch or nothing.
    async fn merge_batch(&self, batch: &Batch) -> Result<MergeOutcome, StoreError>;

    /// Records a human label for a stream (e.g. the input file and its
    /// format), shown with the stream's totals.
    async fn describe_stream(&self, stream: &str, label: &str) -> Result<(), StoreError>;

    /// The busiest ports of a class over a range, best first.
    async fn top_ports(&self, q: &TopPortsQuery) -> Result<Vec<PortTotals>, StoreError>;

    /// One port's buckets of one width, oldest first; empty buckets are absent.
    async fn series(&self, q: &SeriesQuery) -> Result<Vec<SeriesPoint>, StoreError>;

    /// The most active sources over a range, best first.
    async fn sources(&self, q: &SourcesQuery) -> Result<Vec<SourceTotals>, StoreError>;

    /// One source's activity merged over the days a range overlaps, or
    /// `None` when it was not seen there.
    async fn source(
        &self,
        addr: std::net::IpAddr,
        range: TimeRange,
    ) -> Result<Option<SourceTotals>, StoreError>;

    /// Record counts over all streams, per stream, and the time span covered.
    async fn totals(&self) -> Result<StoreTotals, StoreError>;

    /// One port's totals over a range (distinct counts merged over it), or
    /// `None` when it saw nothing there.
    async fn port_totals(
        &self,
        class: SeriesClass,
        port: PortKey,
        range: TimeRange,
    ) -> Result<Option<PortTotals>, StoreError>;

    /// Every port's minute buckets of a class over a range, ordered by
    /// minute, then port: what detection is fed.
    async fn minutes(&self, q: &MinutesQuery) -> Result<Vec<MinuteBucket>, StoreError>;

    /// The minutes of a range (Unix seconds, ascending) in which anything
    /// at all was stored, probes or backscatter: the sensor was up. The
    /// other minutes are gaps, not silence.
    async fn active_minutes(&self, range: TimeRange) -> Result<Vec<i64>, StoreError>;

    /// Replaces every stored alert by `alerts`, atomically. Detection is a
    /// function of the stored minutes, so it re-runs over them and its
    /// whole output replaces the last.
    async fn replace_alerts(&self, alerts: &[AlertRecord]) -> Result<(), StoreError>;

    /// Stored alerts, oldest onset first.
    async fn alerts(&self, q: &AlertsQuery) -> Result<Vec<AlertRecord>, StoreError>;

    /// Records what happened to one transition at one sink, replacing an
    /// earlier record of the same (key, sink): a failed delivery retried
    /// later overwrites its failure. Unlike alerts, deliveries survive
    /// re-detection — they are facts about the outside world.
    async fn record_delivery(&self, d: &StoredDelivery) -> Result<(), StoreError>;

    /// Recorded deliveries, by key then sink.
    async fn deliveries(&self, q: &DeliveriesQuery) -> Result<Vec<StoredDelivery>, StoreError>;

    /// [`Store::merge_batch`] plus what a live sensor keeps with it (payload
    /// samples, checkpoints), in the same transaction: all of it lands once
    /// or not at all, so a checkpoint never runs ahead of the totals.
    async fn merge_live(
        &self,
        batch: &Batch,
        extras: &LiveExtras,
    ) -> Result<MergeOutcome, StoreError>;

    /// Merges payload samples alone, exactly once per `id` (an id shared
    /// with batches: it claims the id like an empty batch would).
    async fn merge_payloads(
        &self,
        id: &BatchId,
        payloads: &[PayloadSample],
    ) -> Result<MergeOutcome, StoreError>;

    /// Payload clusters, most frequent first.
    async fn payloads(&self, q: &PayloadsQuery) -> Result<Vec<PayloadCluster>, StoreError>;

    /// A stream's checkpoints as last committed, by name.
    async fn checkpoints(&self, stream: &str) -> Result<Vec<(String, String)>, StoreError>;

    /// The highest sequence number merged for `stream`, if any: where a
    /// restarted sensor continues.
    async fn last_seq(&self, stream: &str) -> Result<Option<u64>, StoreError>;
}

/// Opens the store a user named: a file path or `sqlite:` URL opens (or
/// creates) a SQLite store; `postgres://` is refused until the distributed
/// store exists.
pub async fn open_store(url_or_path: &str) -> Result<Box<dyn Store>, StoreError> {
    let lower = url_or_path.to_ascii_lowercase();
    if lower.starts_with("postgres://") || lower.starts_with("postgresql://") {
        return Err(StoreError::Unsupported {
            url: url_or_path.to_string(),
            reason: "PostgreSQL support arrives with the distributed store; use a SQLite file for now",
        });
    }
    if lower == "sqlite::memory:" || lower == ":memory:" {
        return Ok(Box::new(SqliteStore::in_memory().await?));
    }
    let path = match url_or_path.get(..7) {
        Some(scheme) if scheme.eq_ignore_ascii_case("sqlite:") => {
            let rest = &url_or_path[7..];
            // `sqlite:///abs/path` and `sqlite://rel` name paths too.
            rest.strip_prefix("//").unwrap_or(rest)
        }
        _ => url_or_path,
    };
    if path.is_empty() || path.contains("://") {
        return Err(StoreError::Unsupported {
            url: url_or_path.to_string(),
            reason: "not a SQLite path or sqlite: URL",
        });
    }
    Ok(Box::new(SqliteStore::open(path).await?))
}
