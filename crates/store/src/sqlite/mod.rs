//! The SQLite store: one file (or memory), WAL mode, for embedded use.

mod alerts;
mod codec;
mod deliveries;
mod live;
mod minutes;
mod read;
mod schema;
mod source_days;
mod top;
mod write;

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use portwatch_aggregate::{Batch, SeriesClass};
use portwatch_core::PortKey;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool, SqlitePoolOptions,
    SqliteSynchronous,
};
use sqlx::{ConnectOptions, Connection, SqlitePool as Pool};
use tokio::sync::Mutex;

pub use schema::SCHEMA_VERSION;

use crate::{
    AlertRecord, AlertsQuery, BatchId, DeliveriesQuery, LiveExtras, MergeOutcome, MinuteBucket,
    MinutesQuery, PayloadCluster, PayloadSample, PayloadsQuery, PortTotals, SeriesPoint,
    SeriesQuery, SourceTotals, SourcesQuery, Store, StoreError, StoreTotals, StoredDelivery,
    TimeRange, TopPortsQuery,
};

/// SQLite's result code for "file is not a database".
const SQLITE_NOTADB: i32 = 26;

/// Page cache per connection (negative: KiB). Merging touches the series
/// table and its port index all over; a roomy cache keeps that in memory.
/// 64 MiB merged the 5.7M-packet benchmark as fast as 128 MiB did, and its
/// peak memory fell from 497-533 MB to 478-496 MB (the target is 512 MiB).
const CACHE_KIB: &str = "-65536";

/// How long an operation waits for a connection. Generous, because with an
/// in-memory database every operation waits for the one connection, and a
/// merge of a large capture takes a while.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3600);

/// Statements slower than this are logged at [`SLOW_STATEMENT_LEVEL`].
/// Reading a day of source-days or merging a large batch takes seconds by
/// design; sqlx's default (a warning after one second) printed that on
/// every large `analyze`, where the user can do nothing about it.
const SLOW_STATEMENT: Duration = Duration::from_secs(1);
const SLOW_STATEMENT_LEVEL: log::LevelFilter = log::LevelFilter::Debug;

/// A store in one SQLite database.
///
/// Clones share the database. Merges are serialized within the process (a
/// queue, not a timeout); another process writing the same file waits up to
/// a busy timeout. On a file, reports read while a merge writes and see the
/// state before it; an in-memory store does one thing at a time.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: Pool,
    writer: Arc<Mutex<()>>,
    /// For an in-memory database: a connection held open for the store's
    /// lifetime, because the database disappears with its last connection.
    _keepalive: Option<Arc<Mutex<SqliteConnection>>>,
    /// For a temporary database: its directory, removed with the last clone.
    temp_dir: Option<Arc<tempfile::TempDir>>,
}

impl SqliteStore {
    /// Opens the database at `path`, creating it (and its schema) if missing.
    pub async fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        let path = path.as_ref();
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .page_size(8192)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(30))
            .pragma("cache_size", CACHE_KIB)
            // Statement journals (each multi-row upsert inside a merge keeps
            // one) and sorts stay in memory instead of temporary files.
            .pragma("temp_store", "MEMORY")
            // A large merge grows the write-ahead log to the size of what it
            // wrote; give the space back once it is checkpointed.
            .pragma("journal_size_limit", "67108864")
            .log_slow_statements(SLOW_STATEMENT_LEVEL, SLOW_STATEMENT);
        // Several connections so that reports can read while a merge writes
        // (WAL readers never block the writer).
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(options)
            .await
            .map_err(|e| open_error(path, e))?;
        schema::migrate(&pool, path).await?;
        tracing::debug!(path = %path.display(), "store opened");
        Ok(SqliteStore {
            pool,
            writer: Arc::default(),
            _keepalive: None,
            temp_dir: None,
        })
    }

    /// A fresh database in a new directory under the system's temporary
    /// directory (`TMPDIR`), removed when the last clone of the store is
    /// dropped. Like [`Self::in_memory`] nothing of it outlives the store,
    /// but pages beyond the page cache live on disk, so memory stays bounded
    /// however large the input: held in memory, the store of the 5.7M-packet
    /// benchmark capture took 950 MB.
    pub async fn temporary() -> Result<Self, StoreError> {
        Self::temporary_in(&std::env::temp_dir()).await
    }

    /// [`Self::temporary`] in a new directory under `parent`.
    pub async fn temporary_in(parent: &Path) -> Result<Self, StoreError> {
        let dir = tempfile::Builder::new()
            .prefix("portwatch-store-")
            .tempdir_in(parent)
            .map_err(|e| open_error(parent, sqlx::Error::Io(e)))?;
        let mut store = Self::open(dir.path().join("store.db")).await?;
        store.temp_dir = Some(Arc::new(dir));
        Ok(store)
    }

    /// The directory of a [`Self::temporary`] store.
    pub fn temporary_dir(&self) -> Option<&Path> {
        self.temp_dir.as_deref().map(|d| d.path())
    }

    /// A fresh database in memory, gone when the store is dropped.
    pub async fn in_memory() -> Result<Self, StoreError> {
        let path = Path::new(":memory:");
        let options = SqliteConnectOptions::from_str("sqlite::memory:")
            .map_err(|e| open_error(path, e))?
            .pragma("cache_size", CACHE_KIB)
            .pragma("temp_store", "MEMORY")
            .log_slow_statements(SLOW_STATEMENT_LEVEL, SLOW_STATEMENT);
        let keepalive = SqliteConnection::connect_with(&options)
            .await
            .map_err(|e| open_error(path, e))?;
        // One connection: a shared-cache database locks whole tables, so a
        // second connection would only wait.
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(options)
            .await
            .map_err(|e| open_error(path, e))?;
        schema::migrate(&pool, path).await?;
        Ok(SqliteStore {
            pool,
            writer: Arc::default(),
            _keepalive: Some(Arc::new(Mutex::new(keepalive))),
            temp_dir: None,
        })
    }

    /// Closes every connection; pending writes are already committed.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    pub(crate) fn pool(&self) -> &SqlitePool {
        &self.pool
    }
}

/// Turns a failure to open `path` into the clearest error there is for it.
pub(crate) fn open_error(path: &Path, source: sqlx::Error) -> StoreError {
    let code = match &source {
        sqlx::Error::Database(e) => e.code().and_then(|c| c.parse::<i32>().ok()),
        _ => None,
    };
    let path: PathBuf = path.to_path_buf();
    if code.map(|c| c & 0xff) == Some(SQLITE_NOTADB) {
        StoreError::NotADatabase { path }
    } else {
        StoreError::Open { path, source }
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn merge_batch(&self, batch: &Batch) -> Result<MergeOutcome, StoreError> {
        let _one_writer = self.writer.lock().await;
        write::merge_batch(self.pool(), batch, None).await
    }

    async fn describe_stream(&self, stream: &str, label: &str) -> Result<(), StoreError> {
        let _one_writer = self.writer.lock().await;
        write::describe_stream(self.pool(), stream, label).await
    }

    async fn top_ports(&self, q: &TopPortsQuery) -> Result<Vec<PortTotals>, StoreError> {
        read::top_ports(self.pool(), q).await
    }

    async fn series(&self, q: &SeriesQuery) -> Result<Vec<SeriesPoint>, StoreError> {
        read::series(self.pool(), q).await
    }

    async fn sources(&self, q: &SourcesQuery) -> Result<Vec<SourceTotals>, StoreError> {
        read::sources(self.pool(), q).await
    }

    async fn source(
        &self,
        addr: std::net::IpAddr,
        range: TimeRange,
    ) -> Result<Option<SourceTotals>, StoreError> {
        read::source(self.pool(), addr, range).await
    }

    async fn totals(&self) -> Result<StoreTotals, StoreError> {
        read::totals(self.pool()).await
    }

    async fn port_totals(
        &self,
        class: SeriesClass,
        port: PortKey,
        range: TimeRange,
    ) -> Result<Option<PortTotals>, StoreError> {
        read::port_totals(self.pool(), class, port, range).await
    }

    async fn minutes(&self, q: &MinutesQuery) -> Result<Vec<MinuteBucket>, StoreError> {
        minutes::minutes(self.pool(), q).await
    }

    async fn active_minutes(&self, range: TimeRange) -> Result<Vec<i64>, StoreError> {
        minutes::active_minutes(self.pool(), range).await
    }

    async fn replace_alerts(&self, alerts: &[AlertRecord]) -> Result<(), StoreError> {
        let _one_writer = self.writer.lock().await;
        alerts::replace(self.pool(), alerts).await
    }

    async fn alerts(&self, q: &AlertsQuery) -> Result<Vec<AlertRecord>, StoreError> {
        alerts::select(self.pool(), q).await
    }

    async fn record_delivery(&self, d: &StoredDelivery) -> Result<(), StoreError> {
        let _one_writer = self.writer.lock().await;
        deliveries::record(self.pool(), d).await
    }

    async fn deliveries(&self, q: &DeliveriesQuery) -> Result<Vec<StoredDelivery>, StoreError> {
        deliveries::select(self.pool(), q).await
    }

    async fn merge_live(
        &self,
        batch: &Batch,
        extras: &LiveExtras,
    ) -> Result<MergeOutcome, StoreError> {
        let _one_writer = self.writer.lock().await;
        write::merge_batch(self.pool(), batch, Some(extras)).await
    }

    async fn merge_payloads(
        &self,
        id: &BatchId,
        payloads: &[PayloadSample],
    ) -> Result<MergeOutcome, StoreError> {
        let batch = Batch {
            id: id.clone(),
            minutes: Vec::new(),
            sources: Vec::new(),
            counts: Default::default(),
        };
        let extras = LiveExtras {
            payloads: payloads.to_vec(),
            checkpoints: Vec::new(),
        };
        self.merge_live(&batch, &extras).await
    }

    async fn payloads(&self, q: &PayloadsQuery) -> Result<Vec<PayloadCluster>, StoreError> {
        live::select(self.pool(), q).await
    }

    async fn checkpoints(&self, stream: &str) -> Result<Vec<(String, String)>, StoreError> {
        live::checkpoints(self.pool(), stream).await
    }

    async fn last_seq(&self, stream: &str) -> Result<Option<u64>, StoreError> {
        live::last_seq(self.pool(), stream).await
    }
}
