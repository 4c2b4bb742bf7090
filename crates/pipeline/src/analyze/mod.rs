//! `portwatch analyze`: files in, batches merged into a store, a report out.

mod capture;
mod log;
mod report;

use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use portwatch_aggregate::{Batch, ClassCounts};
use portwatch_sources::{InputFormat, open_input};
use portwatch_store::{MergeOutcome, Store, StoreError};
use tokio::sync::mpsc;

pub use capture::{CaptureOptions, CaptureOutcome, aggregate_capture};
pub use report::{AnalyzeReport, InputOutcome, InputReport, LocatedError, PortTotal};

pub use portwatch_aggregate::PortTotals;

/// Adds a batch's minute buckets to `totals`.
pub(crate) fn add_to_totals(totals: &mut PortTotals, batch: &Batch) {
    for (key, bucket) in &batch.minutes {
        totals
            .entry((key.class, key.port))
            .or_default()
            .merge(bucket);
    }
}

/// How many records (packets or log lines) make one batch. Batches are cut at
/// fixed record counts so the same input always yields the same batches, and
/// a re-run merges nothing twice.
pub const DEFAULT_BATCH_RECORDS: u64 = 1 << 20;

/// Keeps at most this many detailed errors per input; the rest are counted.
pub const MAX_ERRORS_KEPT: usize = 100;

/// Told about each input as it is read, for progress bars.
pub trait Progress: Send + Sync {
    /// `raw_bytes_read` grows as the raw (possibly compressed) input is read;
    /// `total` is its size when known.
    fn begin(&self, label: &str, total: Option<u64>, raw_bytes_read: Arc<AtomicU64>);
    fn end(&self, label: &str);
}

/// What to analyze and how.
#[derive(Clone)]
pub struct AnalyzeOptions {
    /// Paths, or `-` for standard input.
    pub inputs: Vec<String>,
    /// Year of the first line of RFC 3164 syslog files (they carry none).
    pub year: Option<i32>,
    /// Offset from UTC of log stamps that carry no zone, seconds east.
    pub utc_offset_secs: i32,
    pub batch_records: u64,
    /// Decode/aggregate threads for captures.
    pub workers: usize,
    pub progress: Option<Arc<dyn Progress>>,
}

impl std::fmt::Debug for AnalyzeOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AnalyzeOptions")
            .field("inputs", &self.inputs)
            .field("year", &self.year)
            .field("batch_records", &self.batch_records)
            .field("workers", &self.workers)
            .finish_non_exhaustive()
    }
}

impl Default for AnalyzeOptions {
    fn default() -> Self {
        AnalyzeOptions {
            inputs: Vec::new(),
            year: None,
            utc_offset_secs: 0,
            batch_records: DEFAULT_BATCH_RECORDS,
            workers: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1),
            progress: None,
        }
    }
}

/// Why analysis stopped before it was done. Problems with one input are not
/// errors here: they are reported per input and the others go on.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AnalyzeError {
    #[error("store: {0}")]
    Store(#[from] StoreError),
    #[error("internal: a pipeline thread stopped unexpectedly")]
    ThreadPanicked,
}

/// Messages from an input's reader to the merging loop.
pub(crate) enum Produced {
    /// A batch whose minutes still need adding to the port totals.
    Batch(Batch),
    /// A batch whose minutes the reader totals itself (see `Totals`).
    TalliedBatch(Batch),
    /// Totals over the input's `TalliedBatch`es.
    Totals(PortTotals),
    Finished(Box<InputReport>),
}

/// Reads every input, merges its batches into `store`, and reports what was
/// read, what was dropped and why, and per-port totals over this run's inputs
/// (independent of what the store held before). Without a store the batches
/// only feed the report and nothing is written.
pub async fn analyze(
    store: Option<&dyn Store>,
    opts: &AnalyzeOptions,
) -> Result<AnalyzeReport, AnalyzeError> {
    let mut report = AnalyzeReport::default();
    let mut totals = PortTotals::default();
    for label in &opts.inputs {
        let input = match open_input(label) {
            Ok(input) => input,
            Err(e) => {
                report
                    .inputs
                    .push(InputReport::unreadable(label, e.to_string()));
                continue;
            }
        };
        let stream = format!("file:{}", input.fingerprint);
        if let Some(store) = store {
            store
                .describe_stream(&stream, &format!("{} ({})", input.label, input.format))
                .await?;
        }
        if let Some(p) = &opts.progress {
            p.begin(&input.label, input.size, Arc::clone(&input.raw_bytes_read));
        }
        // Two batches in flight at most: a slow store slows reading down
        // instead of piling batches up in memory.
        let (tx, mut rx) = mpsc::channel::<Produced>(2);
        let opts_for_reader = opts.clone();
        let reader = std::thread::Builder::new()
            .name("portwatch-reader".into())
            .spawn(move || match input.format {
                InputFormat::Pcap | InputFormat::Pcapng => {
                    capture::read_capture(input, stream, &opts_for_reader, tx)
                }
                InputFormat::NetfilterLog => log::read_log(input, stream, &opts_for_reader, tx),
            })
            .map_err(|_| AnalyzeError::ThreadPanicked)?;

        let mut merged = 0u64;
        let mut already = 0u64;
        let mut input_report = None;
        while let Some(msg) = rx.recv().await {
            let batch = match msg {
                Produced::Batch(batch) => {
                    add_to_totals(&mut totals, &batch);
                    batch
                }
                Produced::TalliedBatch(batch) => batch,
                Produced::Totals(t) => {
                    for (key, bucket) in t {
                        totals.entry(key).or_default().merge(&bucket);
                    }
                    continue;
                }
                Produced::Finished(r) => {
                    input_report = Some(r);
                    continue;
                }
            };
            let Some(store) = store else { continue };
            match store.merge_batch(&batch).await? {
                MergeOutcome::Merged => merged += 1,
                MergeOutcome::AlreadyMerged => already += 1,
            }
        }
        reader.join().map_err(|_| AnalyzeError::ThreadPanicked)?;
        if let Some(p) = &opts.progress {
            p.end(label);
        }
        let mut r = *input_report.ok_or(AnalyzeError::ThreadPanicked)?;
        r.batches_merged = merged;
        r.batches_already_merged = already;
        report.inputs.push(r);
    }
    let mut counts = ClassCounts::default();
    for r in &report.inputs {
        counts.merge(&r.counts);
    }
    report.counts = counts;
    report.set_port_totals(totals);
    Ok(report)
}
