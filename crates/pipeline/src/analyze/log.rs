//! Reading a netfilter log, line by line on the reader thread: RFC 3164
//! stamps carry no year, so lines must be read in order to follow it.

use std::io::{BufRead, BufReader};
use std::sync::atomic::Ordering;

use portwatch_aggregate::{Aggregator, BatchId};
use portwatch_core::Timestamp;
use portwatch_core::tcp_flags;
use portwatch_fwlog::{LineOutcome, LogParser, ParseOptions};
use portwatch_sources::OpenedInput;
use tokio::sync::mpsc;

use super::capture::error_chain;
use super::report::{InputReport, LocatedError};
use super::{AnalyzeOptions, Produced};

pub(super) fn read_log(
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

    // Without --year, a file's RFC 3164 lines are dated by its modification
    // time (about when its last line was written); standard input by now.
    let reference = input
        .modified_secs
        .map(Timestamp::from_secs)
        .unwrap_or_else(|| {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs() as i64)
                .unwrap_or(0);
            Timestamp::from_secs(now)
        });
    let mut parse_opts = ParseOptions::new(reference);
    parse_opts.year = opts.year;
    parse_opts.utc_offset_secs = opts.utc_offset_secs;
    let mut parser = LogParser::new(parse_opts);

    let mut reader = BufReader::with_capacity(1 << 20, input.reader);
    let mut agg = Aggregator::new();
    let mut contacted: std::collections::HashSet<(std::net::IpAddr, std::net::IpAddr)> =
        std::collections::HashSet::new();
    let mut line_buf = Vec::with_capacity(512);
    let mut line_no = 0u64;
    let mut in_batch = 0u64;
    let mut seq = 0u64;
    let batch_records = opts.batch_records.max(1);
    let mut counts = portwatch_aggregate::ClassCounts::default();
    loop {
        line_buf.clear();
        match reader.read_until(b'\n', &mut line_buf) {
            Ok(0) => break,
            Ok(n) => report.content_bytes += n as u64,
            Err(e) => {
                report.push_error(LocatedError {
                    offset: Some(report.content_bytes),
                    line: Some(line_no + 1),
                    message: format!("{}: reading: {}", report.label, error_chain(&e)),
                });
                break;
            }
        }
        line_no += 1;
        // A line that is not UTF-8 is still worth a try: netfilter's own
        // fields are ASCII.
        let line = String::from_utf8_lossy(&line_buf);
        match parser.parse_line(&line) {
            LineOutcome::Event(ev) if opts.exclude.as_ref().is_some_and(|x| x(ev.src)) => {
                report.excluded += 1;
            }
            LineOutcome::Event(ev) => {
                agg.observe(&ev);
                // A logged drop of a SYN is a connection that failed, as
                // the scanner saw it; only its first to each address counts.
                if opts.drop_log_outcomes
                    && ev.proto == Some(portwatch_core::Proto::Tcp)
                    && ev.fp.tcp_flags & (tcp_flags::SYN | tcp_flags::ACK) == tcp_flags::SYN
                    && contacted.insert((ev.src, ev.dst))
                {
                    agg.first_contact(ev.src, ev.ts, false);
                }
            }
            LineOutcome::NotFirewall => report.lines_skipped += 1,
            LineOutcome::Error(e) => {
                agg.drop_record(e.reason);
                report.push_error(LocatedError {
                    offset: None,
                    line: Some(line_no),
                    message: format!("{}:{line_no}: {}", report.label, e.message),
                });
            }
        }
        in_batch += 1;
        if in_batch == batch_records {
            let batch = agg.drain_all(BatchId {
                stream: stream.clone(),
                seq,
            });
            counts.merge(&batch.counts);
            for part in super::batch_parts(batch) {
                let _ = out.blocking_send(Produced::Batch(part));
            }
            seq += 1;
            in_batch = 0;
        }
    }
    if in_batch > 0 || seq == 0 {
        let batch = agg.drain_all(BatchId { stream, seq });
        counts.merge(&batch.counts);
        for part in super::batch_parts(batch) {
            let _ = out.blocking_send(Produced::Batch(part));
        }
    }
    report.counts = counts;
    report.raw_bytes_read = raw_bytes.load(Ordering::Relaxed);
    report.settle();
    let _ = out.blocking_send(Produced::Finished(Box::new(report)));
}
