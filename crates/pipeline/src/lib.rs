//! The pipeline: sources → decode & classify → aggregate → store.
//!
//! [`analyze`] reads files: each input is recognised by content, read in
//! fixed-size runs of records, decoded and aggregated on worker threads, and
//! every run becomes one [`Batch`](portwatch_aggregate::Batch) named by the
//! input's fingerprint and the run's number, which the store merges exactly
//! once (rule 3). [`detect`] then runs spike detection over the store's
//! minutes and keeps the alerts beside them. The command-line tool only parses arguments and hands them
//! here. [`live`] is the long-running sensor of `portwatch run`: the same
//! aggregation and store, fed by followed logs, the honeypot and packet
//! sources, flushed per minute. Both follow TCP first contacts to their
//! answers where a capture shows replies (the handshake tracker), for
//! Threshold Random Walk.

pub mod analyze;
pub mod detect;
mod handshake;
pub mod live;

pub use analyze::{
    AnalyzeError, AnalyzeOptions, AnalyzeReport, BATCH_FORMAT, CaptureOptions, CaptureOutcome,
    InputOutcome, InputReport, LocatedError, MAX_SOURCE_DAYS_PER_BATCH, PortTotal, PortTotals,
    Progress, SourceFilter, aggregate_capture, analyze,
};
