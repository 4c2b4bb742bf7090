//! Reading a capture: the reader decodes records into [`Observation`]s and
//! deals them out in chunks; each worker keeps one [`Shard`] of the
//! aggregation (sources split by address, port minutes by port and minute),
//! so no two workers ever hold the same key, and each is handed only the
//! observations its shard keeps something of (with two workers, 3 in 4
//! instead of all: scanning the others cost each worker a read of every
//! observation for nothing).
//!
//! Why this shape (measured on a 5.7M-packet, 190k-source simulated capture):
//! with chunks dealt round-robin, each worker held a partial of every busy
//! bucket and of every active source, the partials of each batch were merged
//! on one thread, and memory held two partial copies plus the merged one.
//! With shards, a batch's parts are disjoint sorted lists that interleave,
//! and the per-source state (the large, cache-missing part) lives once.
//! Decoding on the reader costs it ~40 ns a packet and saves every worker
//! from decoding all packets.
//!
//! Batches are still cut at fixed record counts (rule 3 needs the same input
//! to give the same batches), but a batch now carries only what has closed:
//! minutes older than the newest minute seen, and source-days whose day has
//! ended. Open state carries over to the next batch, so a source-day is
//! written once instead of once per batch, and a port-minute is never split
//! across two batches unless its packets really arrive that late.

use std::collections::btree_map::Entry;
use std::io::Read;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::sync::mpsc as std_mpsc;

use portwatch_aggregate::{
    Aggregator, Batch, BatchId, ClassCounts, Observation, Shard, SourceKey, SourceStats,
};
use portwatch_core::{BucketWidth, DropReason};
use portwatch_decode::{CaptureError, CaptureReader, decode};
use portwatch_sources::OpenedInput;
use tokio::sync::mpsc;

use super::report::{InputReport, LocatedError};
use super::{AnalyzeOptions, PortTotals, Produced, add_to_totals};
use crate::handshake::{HandshakeTracker, Outcome};

/// Records per chunk (3.5 MiB of observations). Workers group a chunk's
/// events by source-day before touching the source tables, so bigger chunks
/// mean fewer lookups: a source sends 2 packets per 4096 of the test capture
/// and 3.5 per 65536, and the larger chunks measured ~15% less CPU. Work
/// channels hold two chunks, which bounds the memory in flight.
const CHUNK_RECORDS: usize = 65536;

/// How far behind the newest minute seen a batch's watermark stays, so that
/// packets a little out of order still land in an open minute.
const WATERMARK_LAG_SECS: i64 = 60;

/// How a capture is cut into batches and spread over threads.
#[derive(Clone, Default)]
pub struct CaptureOptions {
    /// Aggregation threads (each keeps one shard); at least one is used.
    pub workers: usize,
    /// Records per batch.
    pub batch_records: u64,
    /// Sources whose packets are counted in [`CaptureOutcome::excluded`]
    /// and not aggregated. They still count towards the batch size, so
    /// batches are cut at the same records with or without exclusion.
    pub exclude: Option<super::SourceFilter>,
}

impl std::fmt::Debug for CaptureOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CaptureOptions")
            .field("workers", &self.workers)
            .field("batch_records", &self.batch_records)
            .field("exclude", &self.exclude.is_some())
            .finish()
    }
}

/// What reading one capture gave besides its batches.
#[derive(Debug, Default)]
pub struct CaptureOutcome {
    /// Every record, by class and drop reason.
    pub counts: ClassCounts,
    /// Per-(class, port) totals over all the batches handed out.
    pub totals: PortTotals,
    /// Damage met on the way (the first [`super::MAX_ERRORS_KEPT`]).
    pub errors: Vec<LocatedError>,
    pub error_count: u64,
    pub bytes_skipped: u64,
    /// Decompressed bytes consumed.
    pub content_bytes: u64,
    /// Packets of excluded sources.
    pub excluded: u64,
}

/// Decoded records of one stretch of input, in input order.
#[derive(Default)]
struct Chunk {
    obs: Vec<Observation>,
    drops: Vec<DropReason>,
    /// First contacts decided while this chunk filled; each goes to the
    /// worker keeping its source, after the observations (so after the SYN
    /// that opened it).
    outcomes: Vec<Outcome>,
}

impl Chunk {
    fn clear(&mut self) {
        self.obs.clear();
        self.drops.clear();
        self.outcomes.clear();
    }

    fn is_empty(&self) -> bool {
        self.obs.is_empty() && self.drops.is_empty() && self.outcomes.is_empty()
    }
}

/// One worker's source-days of a batch, sorted.
type Sources = Vec<(SourceKey, SourceStats)>;

enum Work {
    Chunk(Chunk),
    /// Batch `seq` ends here: hand in what closed before `before`.
    EndBatch {
        seq: u64,
        before: i64,
    },
}

/// Decodes, classifies and aggregates one pcap or pcapng stream on
/// `opts.workers` threads plus the calling one, handing each batch to
/// `on_batch` (called on another thread, in sequence order), cut into the
/// parts of [`super::BATCH_FORMAT`]. Fails only when
/// the stream does not start like a capture.
pub fn aggregate_capture<R: Read + Send>(
    reader: R,
    stream: &str,
    opts: &CaptureOptions,
    on_batch: impl FnMut(Batch) + Send,
) -> Result<CaptureOutcome, CaptureError> {
    let mut reader = CaptureReader::new(reader)?;
    let mut outcome = CaptureOutcome::default();
    let workers = opts.workers.max(1);
    let batch_records = opts.batch_records.max(1);
    std::thread::scope(|scope| {
        // Bounded, so that a slow store holds the workers (and through
        // them the reader) back instead of letting their parts queue up
        // here. The combiner takes parts in any order and never waits for
        // one worker's part while the channel is full, so this cannot
        // deadlock.
        let (partial_tx, partial_rx) = std_mpsc::sync_channel::<(u64, Batch)>(workers);
        // Spent chunks come back to be refilled, so steady state allocates nothing.
        let (spare_tx, spare_rx) = std_mpsc::channel::<Chunk>();
        let mut work_txs = Vec::with_capacity(workers);
        let mut handles = Vec::with_capacity(workers);
        for i in 0..workers {
            let Some(shard) = Shard::new(i, workers) else {
                break;
            };
            let (tx, rx) = std_mpsc::sync_channel::<Work>(2);
            let (partial_tx, spare_tx) = (partial_tx.clone(), spare_tx.clone());
            let stream = stream.to_string();
            let spawned = std::thread::Builder::new()
                .name(format!("portwatch-agg-{i}"))
                .spawn_scoped(scope, move || {
                    worker(shard, &stream, rx, partial_tx, spare_tx)
                });
            match spawned {
                Ok(h) => {
                    work_txs.push(tx);
                    handles.push(h);
                }
                Err(e) => {
                    push_error(
                        &mut outcome,
                        None,
                        format!("cannot start a worker thread: {e}"),
                    );
                    break;
                }
            }
        }
        drop((partial_tx, spare_tx));
        // Shards are fixed by the planned count: if a thread failed to
        // start, its share would be lost, so nothing is aggregated.
        if handles.len() != workers {
            return;
        }
        let combiner = std::thread::Builder::new()
            .name("portwatch-combine".into())
            .spawn_scoped(scope, move || combine(partial_rx, workers, on_batch));

        // One chunk being filled per worker; `in_chunk` records so far.
        let mut chunks: Vec<Chunk> = (0..workers).map(|_| Chunk::default()).collect();
        let mut in_chunk = 0usize;
        let split = Shard::new(0, workers).unwrap_or_default();
        let send = |chunks: &mut Vec<Chunk>| {
            for (chunk, tx) in chunks.iter_mut().zip(&work_txs) {
                if chunk.is_empty() {
                    continue;
                }
                let fresh = spare_rx.try_recv().unwrap_or_default();
                let _ = tx.send(Work::Chunk(std::mem::replace(chunk, fresh)));
            }
        };
        let end_batch = |seq: u64, before: i64| {
            for tx in &work_txs {
                let _ = tx.send(Work::EndBatch { seq, before });
            }
        };
        let (mut seq, mut in_batch) = (0u64, 0u64);
        let mut newest = i64::MIN;
        // Connection outcomes need both directions of a conversation, which
        // the source shards split, so they are followed here, on one thread.
        let mut handshakes = HandshakeTracker::new();
        let mut decided: Vec<Outcome> = Vec::new();
        let mut swept = i64::MIN;
        let deal = |decided: &mut Vec<Outcome>, chunks: &mut Vec<Chunk>| {
            for o in decided.drain(..) {
                chunks[split.source_part_of(o.src)].outcomes.push(o);
            }
        };
        while let Some(item) = reader.next_record() {
            let rec = match item {
                Ok(rec) => rec,
                Err(e) => {
                    if let CaptureError::Implausible { skipped, .. } = &e {
                        outcome.bytes_skipped += skipped;
                    }
                    push_error(&mut outcome, Some(e.offset()), error_chain(&e));
                    continue;
                }
            };
            newest = newest.max(rec.ts.secs());
            // Once a second of capture time is enough: the timeout is in
            // seconds, and the batch watermark lags by a minute, so no
            // outcome is decided after its source-day was drained.
            if newest > swept {
                swept = newest;
                handshakes.sweep(portwatch_core::Timestamp::from_secs(newest), &mut decided);
            }
            match decode(rec.link_type, rec.ts, rec.data, rec.orig_len) {
                Ok(ev) if opts.exclude.as_ref().is_some_and(|x| x(ev.src)) => {
                    outcome.excluded += 1;
                }
                Ok(ev) => {
                    handshakes.observe(&ev, &mut decided);
                    let o = Observation::of(&ev);
                    let (source, minute) = split.parts_of(&o);
                    if let Some(m) = minute {
                        chunks[m].obs.push(o);
                    }
                    chunks[source].obs.push(o);
                }
                // Drops have no key to shard by: the first shard counts them.
                Err(reason) => chunks[0].drops.push(reason),
            }
            if !decided.is_empty() {
                deal(&mut decided, &mut chunks);
            }
            in_batch += 1;
            in_chunk += 1;
            if in_batch == batch_records {
                send(&mut chunks);
                end_batch(seq, watermark(newest));
                seq += 1;
                in_batch = 0;
                in_chunk = 0;
            } else if in_chunk == CHUNK_RECORDS {
                send(&mut chunks);
                in_chunk = 0;
            }
        }
        handshakes.finish(&mut decided);
        deal(&mut decided, &mut chunks);
        send(&mut chunks);
        // The last batch takes everything still open.
        end_batch(seq, i64::MAX);
        drop(work_txs);
        outcome.content_bytes = reader.bytes_consumed();
        for h in handles {
            if h.join().is_err() {
                push_error(&mut outcome, None, "a worker thread stopped".into());
            }
        }
        match combiner.map(|h| h.join()) {
            Ok(Ok((counts, totals))) => {
                outcome.counts = counts;
                outcome.totals = totals;
            }
            _ => push_error(&mut outcome, None, "the combining thread stopped".into()),
        }
    });
    Ok(outcome)
}

/// Minutes that start before this are closed once the newest record is
/// `newest` (Unix seconds).
fn watermark(newest: i64) -> i64 {
    let minute = BucketWidth::Minute.secs();
    newest - newest.rem_euclid(minute) - WATERMARK_LAG_SECS
}

fn push_error(outcome: &mut CaptureOutcome, offset: Option<u64>, message: String) {
    outcome.error_count += 1;
    if outcome.errors.len() < super::MAX_ERRORS_KEPT {
        outcome.errors.push(LocatedError {
            offset,
            line: None,
            message,
        });
    }
}

/// Aggregates one shard of every chunk; hands in each batch's part.
fn worker(
    shard: Shard,
    stream: &str,
    rx: std_mpsc::Receiver<Work>,
    partial_tx: std_mpsc::SyncSender<(u64, Batch)>,
    spare_tx: std_mpsc::Sender<Chunk>,
) {
    let mut agg = Aggregator::for_shard(shard);
    for work in rx {
        match work {
            Work::Chunk(mut chunk) => {
                agg.observe_all(&chunk.obs);
                for &reason in &chunk.drops {
                    agg.drop_record(reason);
                }
                for o in &chunk.outcomes {
                    agg.first_contact(o.src, o.ts, o.ok);
                }
                chunk.clear();
                let _ = spare_tx.send(chunk);
            }
            Work::EndBatch { seq, before } => {
                let id = BatchId {
                    stream: stream.to_string(),
                    seq,
                };
                let _ = partial_tx.send((seq, agg.drain_closed(id, before)));
            }
        }
    }
}

/// Puts the workers' parts of each batch together and hands the batch on;
/// returns the record counts of the whole input and its per-port totals.
///
/// The totals are summed here rather than in the workers: merging every
/// closed port-minute's sketches into them was ~17% of a worker's time, and
/// this thread is mostly idle, so with one worker that time now overlaps
/// with aggregation instead of adding to it.
fn combine(
    rx: std_mpsc::Receiver<(u64, Batch)>,
    workers: usize,
    mut on_batch: impl FnMut(Batch),
) -> (ClassCounts, PortTotals) {
    // Per batch: parts in, the batch so far (its minutes and counts), and
    // each part's source-days, merged only as the batch is cut.
    let mut pending: std::collections::BTreeMap<u64, (usize, Batch, Vec<Sources>)> =
        Default::default();
    let mut counts = ClassCounts::default();
    let mut totals = PortTotals::default();
    for (seq, mut part) in rx {
        let sources = std::mem::take(&mut part.sources);
        let done = match pending.entry(seq) {
            Entry::Vacant(v) => v.insert((1, part, vec![sources])).0 == workers,
            Entry::Occupied(mut o) => {
                let (n, batch, lists) = o.get_mut();
                *n += 1;
                batch.absorb(part);
                lists.push(sources);
                *n == workers
            }
        };
        if done && let Some((_, batch, lists)) = pending.remove(&seq) {
            counts.merge(&batch.counts);
            add_to_totals(&mut totals, &batch);
            // An empty capture still makes one (empty) batch, so the
            // store knows it was read.
            if !batch.is_empty() || lists.iter().any(|l| !l.is_empty()) || seq == 0 {
                for part in super::batch_parts_merged(batch, lists) {
                    on_batch(part);
                }
            }
        }
    }
    (counts, totals)
}

/// [`aggregate_capture`] for `analyze`: batches and totals go to `out`.
pub(super) fn read_capture(
    input: OpenedInput,
    stream: String,
    opts: &AnalyzeOptions,
    out: mpsc::Sender<Produced>,
) {
    let mut report = InputReport::new(&input.label);
    report.format = Some(input.format.as_str());
    report.compression = Some(input.compression.as_str());
    report.fingerprint = Some(input.fingerprint.clone());
    report.size = input.size;
    let raw_bytes = Arc::clone(&input.raw_bytes_read);
    let capture_opts = CaptureOptions {
        workers: opts.workers,
        batch_records: opts.batch_records,
        exclude: opts.exclude.clone(),
    };
    let batches = out.clone();
    let result = aggregate_capture(input.reader, &stream, &capture_opts, move |batch| {
        let _ = batches.blocking_send(Produced::TalliedBatch(batch));
    });
    let outcome = match result {
        Ok(outcome) => outcome,
        Err(e) => {
            let mut r = InputReport::unreadable(&report.label, format!("{}: {e}", report.label));
            r.format = report.format;
            r.compression = report.compression;
            let _ = out.blocking_send(Produced::Finished(Box::new(r)));
            return;
        }
    };
    let _ = out.blocking_send(Produced::Totals(outcome.totals));
    report.counts = outcome.counts;
    report.errors = outcome.errors;
    report.error_count = outcome.error_count;
    report.bytes_skipped = outcome.bytes_skipped;
    report.content_bytes = outcome.content_bytes;
    report.excluded = outcome.excluded;
    report.raw_bytes_read = raw_bytes.load(Ordering::Relaxed);
    report.settle();
    let _ = out.blocking_send(Produced::Finished(Box::new(report)));
}

/// An error with its causes, on one line.
pub(super) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}
