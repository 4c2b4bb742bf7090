//! The long-running sensor behind `portwatch run`.
//!
//! Sources — followed logs ([`spawn_log`]), the honeypot
//! ([`spawn_honeypot`]), live capture ([`spawn_capture`]) and any other
//! packet source ([`FrameSource`]) — send
//! decoded events over one bounded channel to one aggregation task, the
//! [`Sensor`]. It folds them into an [`Aggregator`](portwatch_aggregate::Aggregator)
//! and, whenever a UTC minute closes on its [`MinuteClock`] (or too much is
//! pending), commits everything aggregated so far as the next batch of the
//! stream `live:<sensor>`, with the honeypot's payload samples and the
//! sources' checkpoints (a log's position) in the same store transaction.
//!
//! Restart semantics follow from that one transaction:
//! * A batch and the positions of the lines in it are committed together or
//!   not at all, so after a crash (even `kill -9`) a log is re-read from the
//!   last committed position: nothing lost, nothing counted twice.
//! * The next batch continues the stream's numbering
//!   ([`Store::last_seq`](portwatch_store::Store::last_seq)); a batch id
//!   the store already has means another process writes the stream, and the
//!   sensor stops rather than guess.
//! * Honeypot events and captured frames cannot be replayed: what was in
//!   memory at a crash is lost (at most one minute, or
//!   [`LiveConfig::max_pending_events`]); a graceful stop flushes it.
//!
//! A flush includes the still-open minute; its later events go in a later
//! batch and the store merges them into the same bucket (rule 1, and the
//! mergeability of everything, rule 2). Detection runs over the store after
//! minutes close, the same function `analyze` runs, so live alerts equal a
//! batch analysis of the same data ([`crate::detect::IncrementalDetector`]
//! feeds each closed minute once and starts over if data arrives for a
//! minute it already fed).
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! use std::sync::Arc;
//! use portwatch_pipeline::live::{LiveConfig, Sensor, now_secs};
//! use portwatch_store::{SqliteStore, Store};
//!
//! let store: Arc<dyn Store> = Arc::new(SqliteStore::in_memory().await?);
//! let (sensor, handle) = Sensor::open(LiveConfig::default(), store, None, now_secs()).await?;
//! // Sources take clones of `handle` (spawn_log, spawn_honeypot, FrameSource::new).
//! drop(handle);
//! // Runs until the future resolves (Ctrl-C in `portwatch run`), then flushes.
//! let summary = sensor.run(async {}).await?;
//! assert_eq!(summary.batches, 0);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```

mod capture;
mod clock;
mod frames;
mod honeypot;
mod logs;
mod sensor;
mod stats;

pub use capture::spawn_capture;
pub use clock::MinuteClock;
pub use frames::{FrameSource, SensorGone};
pub use honeypot::spawn_honeypot;
pub use logs::{LogSource, LogSourceError, spawn_log};
pub use sensor::{
    Input, LiveConfig, LiveError, LiveHandle, LiveSummary, Outcome, Sensor, now_secs, register,
};
pub use stats::{LiveStats, SensorHealth, SourceHealth, SourceKind};
