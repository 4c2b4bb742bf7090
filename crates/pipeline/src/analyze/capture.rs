//! Reading a capture: one reader thread cuts records into chunks, worker
//! threads decode and aggregate them, and the partial aggregates of each
//! batch are merged (rule 2 makes the split invisible) into one batch.

use std::collections::btree_map::Entry;
use std::sync::atomic::Ordering;
use std::sync::mpsc as std_mpsc;

use portwatch_aggregate::{Aggregator, BatchId};
use portwatch_core::Timestamp;
use portwatch_decode::{CaptureError, CaptureReader, LinkType, decode};
use portwatch_sources::OpenedInput;
use tokio::sync::mpsc;

use super::report::{InputReport, LocatedError};
use super::{AnalyzeOptions, Produced};

/// Records per chunk handed to a worker: large enough that channel traffic
/// is negligible, small enough that chunks in flight stay a few MiB.
const CHUNK_RECORDS: usize = 8192;

struct Meta {
    ts: Timestamp,
    link: LinkType,
    orig_len: u32,
    start: u32,
    len: u32,
}

/// Captured records, copied out of the reader's buffer so a worker can own them.
#[derive(Default)]
struct Chunk {
    meta: Vec<Meta>,
    data: Vec<u8>,
}

impl Chunk {
    fn clear(&mut self) {
        self.meta.clear();
        self.data.clear();
    }
}

enum Work {
    Chunk(Chunk),
    /// Everything of batch `seq` has been sent: hand in the partial aggregate.
    EndBatch(u64),
}

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
    let raw_bytes = std::sync::Arc::clone(&input.raw_bytes_read);

    let mut reader = match CaptureReader::new(input.reader) {
        Ok(r) => r,
        Err(e) => {
            let mut r = InputReport::unreadable(&report.label, format!("{}: {e}", report.label));
            r.format = report.format;
            r.compression = report.compression;
            let _ = out.blocking_send(Produced::Finished(Box::new(r)));
            return;
        }
    };

    let workers = opts.workers.max(1);
    let (partial_tx, partial_rx) = std_mpsc::channel::<(u64, Aggregator)>();
    // Spent chunks come back to be refilled, so steady state allocates nothing.
    let (spare_tx, spare_rx) = std_mpsc::channel::<Chunk>();
    let mut work_txs = Vec::with_capacity(workers);
    let mut handles = Vec::with_capacity(workers);
    for i in 0..workers {
        let (tx, rx) = std_mpsc::sync_channel::<Work>(4);
        work_txs.push(tx);
        let partial_tx = partial_tx.clone();
        let spare_tx = spare_tx.clone();
        let spawned = std::thread::Builder::new()
            .name(format!("portwatch-decode-{i}"))
            .spawn(move || worker(rx, partial_tx, spare_tx));
        match spawned {
            Ok(h) => handles.push(h),
            Err(e) => {
                report.push_error(LocatedError {
                    offset: None,
                    line: None,
                    message: format!("cannot start a decode thread: {e}"),
                });
                break;
            }
        }
    }
    drop(partial_tx);
    drop(spare_tx);
    let workers = handles.len();
    if workers == 0 {
        report.settle();
        let _ = out.blocking_send(Produced::Finished(Box::new(report)));
        return;
    }

    // Batches are combined on their own thread so the reader never waits
    // for a store merge.
    let combiner_out = out.clone();
    let combiner = std::thread::Builder::new()
        .name("portwatch-combine".into())
        .spawn(move || combine(partial_rx, workers, stream, combiner_out));

    let batch_records = opts.batch_records.max(1);
    let mut chunk = Chunk::default();
    let mut next_worker = 0usize;
    let mut seq = 0u64;
    let mut in_batch = 0u64;
    let send_chunk = |chunk: &mut Chunk, next_worker: &mut usize| {
        let fresh = spare_rx.try_recv().unwrap_or_default();
        let full = std::mem::replace(chunk, fresh);
        chunk.clear();
        let _ = work_txs[*next_worker].send(Work::Chunk(full));
        *next_worker = (*next_worker + 1) % workers;
    };

    loop {
        let Some(item) = reader.next_record() else {
            break;
        };
        match item {
            Ok(rec) => {
                let start = chunk.data.len() as u32;
                chunk.data.extend_from_slice(rec.data);
                chunk.meta.push(Meta {
                    ts: rec.ts,
                    link: rec.link_type,
                    orig_len: rec.orig_len,
                    start,
                    len: rec.data.len() as u32,
                });
                in_batch += 1;
                if in_batch == batch_records {
                    send_chunk(&mut chunk, &mut next_worker);
                    for tx in &work_txs {
                        let _ = tx.send(Work::EndBatch(seq));
                    }
                    seq += 1;
                    in_batch = 0;
                } else if chunk.meta.len() == CHUNK_RECORDS {
                    send_chunk(&mut chunk, &mut next_worker);
                }
            }
            Err(e) => {
                if let CaptureError::Implausible { skipped, .. } = &e {
                    report.bytes_skipped += skipped;
                }
                report.push_error(LocatedError {
                    offset: Some(e.offset()),
                    line: None,
                    message: error_chain(&e),
                });
            }
        }
    }
    if !chunk.meta.is_empty() {
        send_chunk(&mut chunk, &mut next_worker);
    }
    if in_batch > 0 || seq == 0 {
        for tx in &work_txs {
            let _ = tx.send(Work::EndBatch(seq));
        }
    }
    drop(work_txs);
    report.content_bytes = reader.bytes_consumed();
    for h in handles {
        let _ = h.join();
    }
    let counts = match combiner {
        Ok(h) => h.join().unwrap_or_default(),
        Err(_) => Default::default(),
    };
    report.counts = counts;
    report.raw_bytes_read = raw_bytes.load(Ordering::Relaxed);
    report.settle();
    let _ = out.blocking_send(Produced::Finished(Box::new(report)));
}

fn worker(
    rx: std_mpsc::Receiver<Work>,
    partial_tx: std_mpsc::Sender<(u64, Aggregator)>,
    spare_tx: std_mpsc::Sender<Chunk>,
) {
    let mut agg = Aggregator::new();
    for work in rx {
        match work {
            Work::Chunk(mut chunk) => {
                for m in &chunk.meta {
                    let data = &chunk.data[m.start as usize..(m.start + m.len) as usize];
                    match decode(m.link, m.ts, data, m.orig_len) {
                        Ok(ev) => agg.observe(&ev),
                        Err(reason) => agg.drop_record(reason),
                    }
                }
                chunk.clear();
                let _ = spare_tx.send(chunk);
            }
            Work::EndBatch(seq) => {
                let _ = partial_tx.send((seq, std::mem::take(&mut agg)));
            }
        }
    }
}

/// Merges the workers' partial aggregates of each batch and sends the batch
/// on; returns the record counts of the whole input.
fn combine(
    rx: std_mpsc::Receiver<(u64, Aggregator)>,
    workers: usize,
    stream: String,
    out: mpsc::Sender<Produced>,
) -> portwatch_aggregate::ClassCounts {
    let mut pending: std::collections::BTreeMap<u64, (usize, Aggregator)> = Default::default();
    let mut counts = portwatch_aggregate::ClassCounts::default();
    for (seq, part) in rx {
        let done = match pending.entry(seq) {
            Entry::Vacant(v) => v.insert((1, part)).0 == workers,
            Entry::Occupied(mut o) => {
                let (n, agg) = o.get_mut();
                *n += 1;
                agg.merge(&part);
                *n == workers
            }
        };
        if done {
            if let Some((_, mut agg)) = pending.remove(&seq) {
                let batch = agg.drain_all(BatchId {
                    stream: stream.clone(),
                    seq,
                });
                counts.merge(&batch.counts);
                let _ = out.blocking_send(Produced::Batch(batch));
            }
        }
    }
    counts
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
