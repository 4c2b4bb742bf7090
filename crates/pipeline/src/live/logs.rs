//! A followed firewall log as a live source: a blocking thread polls the
//! file, parses whole lines and sends them on with the position after them.

use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;

use foldhash::HashSet;
use portwatch_aggregate::Observation;
use portwatch_core::{Event, Proto, Timestamp, tcp_flags};
use portwatch_follow::{FollowConfig, Follower, Position};
use portwatch_fwlog::{LineOutcome, LogParser, ParseOptions};

use super::sensor::{Input, LiveHandle, now_secs, register};
use super::stats::SourceKind;
use crate::handshake::{MAX_CONTACTED, Outcome};

/// One log to follow.
#[derive(Debug, Clone)]
pub struct LogSource {
    pub path: PathBuf,
    /// Year of RFC 3164 stamps (which carry none); default: inferred from
    /// the time the follower starts.
    pub year: Option<i32>,
    /// Seconds east of UTC for stamps without a zone.
    pub utc_offset_secs: i32,
    pub follow: FollowConfig,
    /// The log is of a live network's drops: each logged TCP SYN is a
    /// failed first contact of its source (Threshold Random Walk), once per
    /// source and target address while the follower runs (a restart starts
    /// that memory over). `[enrich] drop_log_outcomes` in the CLI.
    pub drop_log_outcomes: bool,
}

impl LogSource {
    /// The checkpoint (and source) name: `log:<path>`.
    pub fn name(&self) -> String {
        format!("log:{}", self.path.display())
    }
}

/// Why a log source could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LogSourceError {
    #[error(
        "{name}: saved position is unreadable ({source}); remove it from the store's checkpoints or fix it"
    )]
    Checkpoint {
        name: String,
        #[source]
        source: serde_json::Error,
    },
    #[error(transparent)]
    Follow(#[from] portwatch_follow::FollowError),
    #[error("{name}: cannot start its thread: {source}")]
    Thread {
        name: String,
        #[source]
        source: std::io::Error,
    },
}

/// Starts following `src` from `saved` (a checkpoint value as committed
/// with the last batch) on its own thread; it stops when `stop` is set or
/// the sensor is gone.
pub fn spawn_log(
    handle: &LiveHandle,
    src: LogSource,
    saved: Option<&str>,
    stop: Arc<AtomicBool>,
) -> Result<JoinHandle<()>, LogSourceError> {
    let name = src.name();
    let position: Option<Position> =
        saved
            .map(serde_json::from_str)
            .transpose()
            .map_err(|source| LogSourceError::Checkpoint {
                name: name.clone(),
                source,
            })?;
    let follower = Follower::open(&src.path, src.follow.clone(), position)?;
    let id = register(handle, &name, SourceKind::Log);
    let mut opts = ParseOptions::new(Timestamp::from_secs(now_secs()));
    opts.year = src.year;
    opts.utc_offset_secs = src.utc_offset_secs;
    let handle = handle.clone();
    tracing::info!(source = %name, resumed = position.is_some(), "following log");
    std::thread::Builder::new()
        .name(format!("follow {}", src.path.display()))
        .spawn(move || {
            let outcomes = src.drop_log_outcomes.then(DropOutcomes::default);
            let parser = LogParser::new(opts);
            follow(handle, id, name, follower, parser, outcomes, stop)
        })
        .map_err(|source| LogSourceError::Thread {
            name: src.name(),
            source,
        })
}

/// Failed first contacts read off a drop log.
#[derive(Default)]
struct DropOutcomes {
    /// (source, target) pairs that had their first contact.
    contacted: HashSet<(IpAddr, IpAddr)>,
}

impl DropOutcomes {
    /// A logged drop of a SYN is a connection that failed, as the scanner
    /// saw it; only its first to each address counts.
    fn observe(&mut self, ev: &Event<'_>, out: &mut Vec<Outcome>) {
        if ev.proto != Some(Proto::Tcp)
            || ev.fp.tcp_flags & (tcp_flags::SYN | tcp_flags::ACK) != tcp_flags::SYN
        {
            return;
        }
        if self.contacted.len() >= MAX_CONTACTED {
            self.contacted.clear();
        }
        if self.contacted.insert((ev.src, ev.dst)) {
            out.push(Outcome {
                src: ev.src,
                ts: ev.ts,
                ok: false,
            });
        }
    }
}

fn follow(
    handle: LiveHandle,
    id: usize,
    name: String,
    mut follower: Follower,
    mut parser: LogParser,
    mut drops: Option<DropOutcomes>,
    stop: Arc<AtomicBool>,
) {
    let idle = follower.config().poll_interval;
    while !stop.load(Ordering::Relaxed) {
        let lines = match follower.poll() {
            Ok(lines) => lines,
            Err(e) => {
                tracing::warn!(source = %name, error = %e, "reading the log failed; retrying");
                handle.stats.update(|s| {
                    if let Some(src) = s.sources.get_mut(id) {
                        src.errors += 1;
                    }
                });
                std::thread::sleep(idle);
                continue;
            }
        };
        let stats = follower.stats();
        // The offset read up to (not yet necessarily committed).
        let offset = follower.position().map(|p| p.offset);
        handle.stats.set_detail(
            id,
            None,
            serde_json::json!({
                "offset": offset,
                "rotations": stats.rotations,
                "truncations": stats.truncations,
                "lines_cut": stats.lines_cut,
                "partial_bytes_lost": stats.partial_bytes_lost,
                "resume_file_lost": stats.resume_file_lost,
            }),
        );
        if lines.is_empty() {
            std::thread::sleep(idle);
            continue;
        }
        let mut observations = Vec::with_capacity(lines.len());
        let mut errors = Vec::new();
        let mut outcomes = Vec::new();
        for line in &lines {
            let text = String::from_utf8_lossy(&line.text);
            match parser.parse_line(&text) {
                LineOutcome::Event(ev) => {
                    if let Some(d) = &mut drops {
                        d.observe(&ev, &mut outcomes);
                    }
                    observations.push(Observation::of(&ev));
                }
                LineOutcome::NotFirewall => {}
                LineOutcome::Error(e) => {
                    tracing::debug!(source = %name, error = %e.message, "unreadable log line");
                    errors.push(e.reason);
                }
            }
        }
        let checkpoint = follower
            .position()
            .and_then(|p| serde_json::to_string(&p).ok())
            .map(|v| (name.clone(), v));
        let input = Input::Events {
            source: id,
            observations,
            errors,
            outcomes,
            lines: lines.len() as u64,
            checkpoint,
        };
        // Waiting here is back-pressure, not loss: the file keeps the lines.
        if handle.tx.blocking_send(input).is_err() {
            break;
        }
    }
}
