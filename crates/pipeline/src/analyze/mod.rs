//! `portwatch analyze`: files in, batches merged into a store, a report out.

mod capture;
mod log;
mod report;

use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use portwatch_aggregate::{Batch, BatchId, ClassCounts, MergeSorted, SourceKey, SourceStats};
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
/// a re-run merges nothing twice. A batch is held whole at each stage of the
/// pipeline (workers, combiner, queue, store merge), so its size sets peak
/// memory: with --db on the 5.7M-packet benchmark, 2^20 records (batches of
/// ~60 MB of port-minutes) peaked at 740 MB, 2^19 at 600 MB, 2^18 at 490 MB,
/// for about the same merge time (a batch rewrites the roll-up rows it
/// touches, so smaller batches cost a little more of that).
pub const DEFAULT_BATCH_RECORDS: u64 = 1 << 18;

/// Source-days per batch at most. The batch that closes a day carries all of
/// that day's sources (170k in the 5.7M-packet benchmark); merged whole it
/// held ~100 MB at once on its way through and made one SQLite transaction
/// of it, so it is cut into parts of this size, each merged on its own.
pub const MAX_SOURCE_DAYS_PER_BATCH: usize = 20_000;

/// How this build cuts an input into batches, recorded in each stream's
/// name. Exactly-once rests on the same input always giving the same batch
/// ids for the same content; a store filled by a build that cut differently
/// holds ids that now name other content, so such a stream is refused, not
/// merged into (see [`AnalyzeError::OtherBatchFormat`]).
///
/// * 1 (unnamed, `file:FINGERPRINT`): batch `n` is the `n`th run of
///   [`DEFAULT_BATCH_RECORDS`] records (or `--batch-records`).
/// * 2 (`file:FINGERPRINT:b2`): that run's batch is cut into parts of at
///   most [`MAX_SOURCE_DAYS_PER_BATCH`] source-days; part `p` of run `n` has
///   sequence number `n << 32 | p`, and part 0 carries the minutes and
///   record counts.
/// * 3 (`file:FINGERPRINT:b3`): cut as 2, and source-days carry probes per
///   scanning tool. A store of format 2 has none for its inputs, and
///   re-reading them would merge nothing, so it is refused like any other.
/// * 4 (`file:FINGERPRINT:b4`): cut as 3, and source-days of captures carry
///   first-contact outcomes (successes and failures, for Threshold Random
///   Walk). A store of format 3 has none for its inputs.
pub const BATCH_FORMAT: u32 = 4;

/// Sources whose packets are dropped before aggregation (known research
/// scanners, when the configuration says so); asked once per packet, so it
/// must be fast (a longest-prefix lookup is ~20 ns).
pub type SourceFilter = Arc<dyn Fn(IpAddr) -> bool + Send + Sync>;

/// The stream an input's batches are merged under.
fn stream_name(fingerprint: &str) -> String {
    format!("file:{fingerprint}:b{BATCH_FORMAT}")
}

/// A stream of an earlier batch format for the same input, if `store` has one.
async fn other_format(
    store: &dyn Store,
    fingerprint: &str,
    ours: &str,
) -> Result<Option<String>, StoreError> {
    let prefix = format!("file:{fingerprint}");
    let totals = store.totals().await?;
    Ok(totals.per_stream.into_iter().map(|s| s.stream).find(|s| {
        s != ours
            && s.strip_prefix(&prefix)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with(":b"))
    }))
}

/// Cuts the batch of record run `batch.id.seq` into the parts of
/// [`BATCH_FORMAT`] 2, in order. Deterministic: the parts depend only on the
/// batch, whose source-days are sorted.
pub(crate) fn batch_parts(mut batch: Batch) -> impl Iterator<Item = Batch> {
    let sources = std::mem::take(&mut batch.sources);
    batch_parts_merged(batch, vec![sources])
}

/// [`batch_parts`] of `batch` with the source-days of `lists` (each sorted,
/// no key in two of them) as its own, merged as the parts are cut.
///
/// The workers' shards of a day's close (170k source-days, 46 MB in the
/// benchmark) were first merged into one list and then cut: for a moment
/// the day was held twice, which set the peak memory of `--db`. Merging
/// part by part holds the shards' lists and the parts not yet merged into
/// the store.
pub(crate) fn batch_parts_merged(
    mut batch: Batch,
    lists: Vec<Vec<(SourceKey, SourceStats)>>,
) -> impl Iterator<Item = Batch> {
    let (stream, run) = (batch.id.stream.clone(), batch.id.seq);
    let mut rest = MergeSorted::new(lists);
    batch.id.seq = run << 32;
    let mut first = Some(batch);
    let mut part = 0u64;
    std::iter::from_fn(move || {
        let sources: Vec<_> = rest.by_ref().take(MAX_SOURCE_DAYS_PER_BATCH).collect();
        let out = match first.take() {
            Some(mut b) => {
                b.sources = sources;
                b
            }
            None if sources.is_empty() => return None,
            None => Batch {
                id: BatchId {
                    stream: stream.clone(),
                    seq: run << 32 | part,
                },
                minutes: Vec::new(),
                sources,
                counts: ClassCounts::default(),
            },
        };
        part += 1;
        Some(out)
    })
}

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
    /// Packets from these sources are not aggregated, only counted
    /// ([`InputReport::excluded`]). The batches of an input are named by
    /// its content alone, so an input merged once keeps the exclusion it
    /// was merged with.
    pub exclude: Option<SourceFilter>,
    /// Firewall logs are of a live network's dropped packets: each logged
    /// TCP SYN is a failed first contact of its source (once per target).
    /// Like `exclude`, an input merged once keeps the setting it was
    /// merged with.
    pub drop_log_outcomes: bool,
}

impl std::fmt::Debug for AnalyzeOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AnalyzeOptions")
            .field("inputs", &self.inputs)
            .field("year", &self.year)
            .field("batch_records", &self.batch_records)
            .field("workers", &self.workers)
            .field("exclude", &self.exclude.is_some())
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
            exclude: None,
            drop_log_outcomes: false,
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
    #[error(
        "the store already holds {input} as stream {found}, cut into batches by an \
         earlier build; this build cuts them differently (batch format {BATCH_FORMAT}) \
         and cannot tell which are merged, so it would count packets twice: \
         analyze into a new store"
    )]
    OtherBatchFormat { input: String, found: String },
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
        let stream = stream_name(&input.fingerprint);
        if let Some(store) = store {
            if let Some(found) = other_format(store, &input.fingerprint, &stream).await? {
                return Err(AnalyzeError::OtherBatchFormat {
                    input: input.label.clone(),
                    found,
                });
            }
            store
                .describe_stream(&stream, &format!("{} ({})", input.label, input.format))
                .await?;
        }
        if let Some(p) = &opts.progress {
            p.begin(&input.label, input.size, Arc::clone(&input.raw_bytes_read));
        }
        // One batch waiting at most: a slow store slows reading down
        // instead of piling batches up in memory.
        let (tx, mut rx) = mpsc::channel::<Produced>(1);
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
                    // The first input's totals are taken whole: merging
                    // them into empty buckets copied every sketch of tens
                    // of thousands of ports, after all reading was done.
                    if totals.is_empty() {
                        totals = t;
                    } else {
                        for (key, bucket) in t {
                            totals.entry(key).or_default().merge(&bucket);
                        }
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
    report.excluded = report.inputs.iter().map(|r| r.excluded).sum();
    report.set_port_totals(totals);
    Ok(report)
}

#[cfg(test)]
mod tests {
    use std::net::IpAddr;

    use portwatch_aggregate::{SourceKey, SourceStats};

    use super::*;

    fn batch(run: u64, sources: usize) -> Batch {
        let mut counts = ClassCounts::default();
        counts.drop_record(portwatch_core::DropReason::Truncated);
        Batch {
            id: BatchId {
                stream: "file:x:b4".into(),
                seq: run,
            },
            minutes: Vec::new(),
            sources: (0..sources as u32)
                .map(|i| {
                    let key = SourceKey {
                        addr: IpAddr::from(i.to_be_bytes()),
                        day: 0,
                    };
                    (key, SourceStats::default())
                })
                .collect(),
            counts,
        }
    }

    #[test]
    fn a_day_close_is_cut_into_numbered_parts() {
        let whole = batch(7, 2 * MAX_SOURCE_DAYS_PER_BATCH + 5);
        let parts: Vec<Batch> = batch_parts(whole.clone()).collect();
        let seqs: Vec<u64> = parts.iter().map(|b| b.id.seq).collect();
        assert_eq!(seqs, [7 << 32, 7 << 32 | 1, 7 << 32 | 2]);
        assert!(parts.iter().all(|b| b.id.stream == whole.id.stream));
        assert_eq!(parts[0].counts, whole.counts);
        assert!(parts[1..].iter().all(|b| b.counts.records() == 0));
        let sizes: Vec<usize> = parts.iter().map(|b| b.sources.len()).collect();
        assert_eq!(
            sizes,
            [MAX_SOURCE_DAYS_PER_BATCH, MAX_SOURCE_DAYS_PER_BATCH, 5]
        );
        let rejoined: Vec<_> = parts.into_iter().flat_map(|b| b.sources).collect();
        assert_eq!(rejoined, whole.sources);
    }

    #[test]
    fn shards_merged_while_cut_give_the_parts_of_the_merged_batch() {
        let whole = batch(9, 2 * MAX_SOURCE_DAYS_PER_BATCH + 7);
        // Three shards that interleave, as the workers' address shards do,
        // one of them empty.
        let mut lists = vec![Vec::new(), Vec::new(), Vec::new()];
        for (i, s) in whole.sources.iter().enumerate() {
            lists[if i % 5 == 0 { 1 } else { 0 }].push(s.clone());
        }
        let mut head = whole.clone();
        head.sources.clear();
        let merged: Vec<Batch> = batch_parts_merged(head, lists).collect();
        assert_eq!(merged, batch_parts(whole).collect::<Vec<_>>());
        // No source-days at all: still the one part that carries the rest.
        let empty: Vec<Batch> = batch_parts_merged(batch(2, 0), vec![Vec::new(); 2]).collect();
        assert_eq!(empty.len(), 1);
        assert_eq!(empty[0].id.seq, 2 << 32);
    }

    #[test]
    fn a_small_batch_is_one_part_even_when_empty() {
        for n in [0, 1, MAX_SOURCE_DAYS_PER_BATCH] {
            let parts: Vec<Batch> = batch_parts(batch(3, n)).collect();
            assert_eq!(parts.len(), 1, "{n}");
            assert_eq!(parts[0].id.seq, 3 << 32);
            assert_eq!(parts[0].sources.len(), n);
        }
    }
}
