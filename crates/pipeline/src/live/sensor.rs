//! The aggregation task: every source's events folded into one aggregate,
//! flushed to the store as numbered batches, detection after minutes close.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use portwatch_aggregate::{Aggregator, Batch, BatchId, Observation};

pub use crate::handshake::Outcome;
use portwatch_core::DropReason;
use portwatch_detect::DetectConfig;
use portwatch_honeypot::HoneypotEvent;
use portwatch_store::{
    LiveExtras, MergeOutcome, PAYLOAD_BYTES_KEPT, PayloadSample, Store, StoreError,
};
use tokio::sync::{mpsc, watch};

use super::clock::MinuteClock;
use super::stats::{LiveStats, SourceKind};
use crate::detect::{DetectRunError, Detection, IncrementalDetector};

/// How a live sensor runs.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveConfig {
    /// The sensor's name: its batches are merged as stream `live:<sensor>`,
    /// so two sensors writing one store must have different names.
    pub sensor: String,
    /// Seconds after a minute ends before it counts as closed (late lines).
    pub lateness_secs: u32,
    /// Seconds between detection runs (at minute closes; 0: never detect).
    pub detect_interval_secs: u64,
    /// Events held in memory before a flush is forced, whatever the clock
    /// says: bounds memory when a log is replayed at full speed.
    pub max_pending_events: u64,
    /// Messages the sources may queue ahead of the aggregation task; a
    /// full queue makes a log follower wait (no loss) and the honeypot drop
    /// and count.
    pub queue: usize,
    /// How often the task looks at the clock.
    pub tick: Duration,
    /// Whether honeypot connections and datagrams count as probes. Off when
    /// a capture on the same host already counts their packets: the
    /// honeypot then adds only what the scanners sent (payloads), and no
    /// probe is counted twice.
    pub count_honeypot: bool,
}

impl Default for LiveConfig {
    fn default() -> Self {
        LiveConfig {
            sensor: "default".into(),
            lateness_secs: 5,
            detect_interval_secs: 60,
            max_pending_events: 200_000,
            queue: 256,
            tick: Duration::from_millis(500),
            count_honeypot: true,
        }
    }
}

/// Why the sensor stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LiveError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Detect(#[from] DetectRunError),
    /// The store already holds the batch this sensor was about to write:
    /// another process writes the same stream.
    #[error(
        "stream {stream} already has batch {seq}: is another `portwatch run` with sensor name \
         {sensor:?} writing this store?"
    )]
    StreamTaken {
        stream: String,
        seq: u64,
        sensor: String,
    },
    #[error("invalid live settings: {0}")]
    Config(String),
}

/// Payload samples held before a flush is forced: at most about 11 MB
/// (each keeps at most [`PAYLOAD_BYTES_KEPT`] bytes).
const MAX_PENDING_PAYLOADS: usize = 10_000;

/// What a source sends to the aggregation task.
#[derive(Debug)]
pub enum Input {
    /// Decoded events of a source (a run of log lines, a burst of frames).
    Events {
        source: usize,
        observations: Vec<Observation>,
        /// Records that could not be read, by reason.
        errors: Vec<DropReason>,
        /// First contacts decided among these events (and earlier ones of
        /// the same source): only captures that show replies give them.
        outcomes: Vec<Outcome>,
        /// Log lines read (0 for other sources).
        lines: u64,
        /// Where the source stands after these events, saved with the
        /// batch that holds them: `(name, value)`.
        checkpoint: Option<(String, String)>,
    },
    /// One honeypot connection or datagram.
    Honeypot { source: usize, event: HoneypotEvent },
}

/// What sources hold to feed the sensor.
#[derive(Debug, Clone)]
pub struct LiveHandle {
    pub tx: mpsc::Sender<Input>,
    pub stats: LiveStats,
}

/// What the sensor did, when it stops.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LiveSummary {
    pub batches: u64,
    pub events: u64,
    pub last_seq: Option<u64>,
}

/// The aggregation task. See the module documentation of [`crate::live`].
#[derive(Debug)]
pub struct Sensor {
    cfg: LiveConfig,
    stream: String,
    store: Arc<dyn Store>,
    detector: Option<IncrementalDetector>,
    rx: mpsc::Receiver<Input>,
    stats: LiveStats,
    agg: Aggregator,
    pending_events: u64,
    payloads: Vec<PayloadSample>,
    checkpoints: BTreeMap<String, String>,
    /// Checkpoints as committed (or loaded at start).
    committed: BTreeMap<String, String>,
    next_seq: u64,
    clock: MinuteClock,
    merged_since_detect: bool,
    last_detect: Option<i64>,
    /// Newest event time committed (Unix seconds): with the lateness, how
    /// far event time has surely progressed (a replayed log's minutes close
    /// as the replay passes them, not by the wall clock).
    newest_event: Option<i64>,
    detections: watch::Sender<Option<Arc<Detection>>>,
    summary: LiveSummary,
}

/// Wall time in Unix seconds.
pub fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

impl Sensor {
    /// Prepares a sensor over `store`: continues its stream after the last
    /// committed batch, with the checkpoints committed with it.
    pub async fn open(
        cfg: LiveConfig,
        store: Arc<dyn Store>,
        detect: Option<DetectConfig>,
        now: i64,
    ) -> Result<(Sensor, LiveHandle), LiveError> {
        if cfg.sensor.is_empty() || cfg.sensor.chars().any(char::is_control) {
            return Err(LiveError::Config(format!(
                "sensor name {:?}: must be non-empty printable text",
                cfg.sensor
            )));
        }
        if cfg.queue == 0 || cfg.max_pending_events == 0 {
            return Err(LiveError::Config(
                "queue and max_pending_events must be at least 1".into(),
            ));
        }
        let stream = format!("live:{}", cfg.sensor);
        let last = store.last_seq(&stream).await?;
        let committed: BTreeMap<String, String> =
            store.checkpoints(&stream).await?.into_iter().collect();
        store
            .describe_stream(&stream, &format!("portwatch run, sensor {}", cfg.sensor))
            .await?;
        let (tx, rx) = mpsc::channel(cfg.queue);
        let stats = LiveStats::new(&cfg.sensor, &stream, now);
        let clock = MinuteClock::new(now, cfg.lateness_secs);
        stats.update(|s| {
            s.last_seq = last;
            s.closed_before = clock.closed_before();
        });
        tracing::info!(%stream, resume_after = ?last, checkpoints = committed.len(), "live sensor opened");
        let detector = detect.map(IncrementalDetector::new).transpose()?;
        let sensor = Sensor {
            stream,
            store,
            detector,
            rx,
            stats: stats.clone(),
            agg: Aggregator::new(),
            pending_events: 0,
            payloads: Vec::new(),
            checkpoints: BTreeMap::new(),
            committed,
            next_seq: last.map_or(0, |s| s + 1),
            clock,
            merged_since_detect: true,
            last_detect: None,
            newest_event: None,
            detections: watch::channel(None).0,
            summary: LiveSummary::default(),
            cfg,
        };
        Ok((sensor, LiveHandle { tx, stats }))
    }

    /// The committed checkpoint of that name: where a source resumes.
    pub fn checkpoint(&self, name: &str) -> Option<&str> {
        self.committed.get(name).map(String::as_str)
    }

    pub fn stream(&self) -> &str {
        &self.stream
    }

    /// Every detection run's result, latest only (a slow publisher skips
    /// intermediate runs; each run holds every alert and its transitions).
    pub fn detections(&self) -> watch::Receiver<Option<Arc<Detection>>> {
        self.detections.subscribe()
    }

    /// Folds one input into the aggregate (no I/O).
    pub fn handle(&mut self, input: Input, now: i64) {
        match input {
            Input::Events {
                source,
                observations,
                errors,
                outcomes,
                lines,
                checkpoint,
            } => {
                for o in &observations {
                    self.agg.observe_hashed(o);
                }
                for &r in &errors {
                    self.agg.drop_record(r);
                }
                for o in &outcomes {
                    self.agg.first_contact(o.src, o.ts, o.ok);
                }
                let n = observations.len() as u64;
                self.pending_events += n;
                let last_event = observations.iter().map(|o| o.ts.secs()).max();
                self.stats.update(|s| {
                    if let Some(src) = s.sources.get_mut(source) {
                        src.lines += lines;
                        src.events += n;
                        src.errors += errors.len() as u64;
                        note_event(src, last_event, now);
                    }
                });
                if let Some((name, value)) = checkpoint {
                    self.checkpoints.insert(name, value);
                }
            }
            Input::Honeypot { source, event } => {
                if self.cfg.count_honeypot {
                    self.agg.observe(&event.as_event());
                    self.pending_events += 1;
                }
                if let Some(a) = event
                    .analysis
                    .as_ref()
                    .filter(|_| !event.payload.is_empty())
                {
                    self.payloads.push(PayloadSample {
                        port: event.key(),
                        hash: a.hash,
                        ts: event.ts.secs(),
                        src: event.src.ip(),
                        signatures: a.matches.iter().map(|m| m.signature.clone()).collect(),
                        // The store keeps no more; holding more would
                        // only cost memory until the flush.
                        bytes: event.payload[..event.payload.len().min(PAYLOAD_BYTES_KEPT)]
                            .to_vec(),
                        len: a.len as u64,
                    });
                }
                self.stats.update(|s| {
                    if let Some(src) = s.sources.get_mut(source) {
                        src.events += 1;
                        note_event(src, Some(event.ts.secs()), now);
                    }
                });
            }
        }
        let pending = self.pending_events;
        self.stats.update(|s| s.pending_events = pending);
    }

    /// Whether enough is pending that the next flush should not wait for
    /// the clock.
    pub fn flush_due(&self) -> bool {
        self.pending_events >= self.cfg.max_pending_events
            || self.payloads.len() >= MAX_PENDING_PAYLOADS
    }

    /// Commits everything aggregated so far, open minute included, as the
    /// next batch, with the payloads and checkpoints that came with it.
    /// The rest of an open minute arrives in a later batch and the store
    /// merges it into the same bucket (rule 1); what matters for restarts is
    /// that a checkpoint is committed exactly with the events before it.
    pub async fn flush(&mut self, now: i64) -> Result<bool, LiveError> {
        let changed: Vec<(String, String)> = self
            .checkpoints
            .iter()
            .filter(|(k, v)| self.committed.get(*k) != Some(*v))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        if self.agg.is_empty() && self.payloads.is_empty() && changed.is_empty() {
            return Ok(false);
        }
        let id = BatchId {
            stream: self.stream.clone(),
            seq: self.next_seq,
        };
        let batch: Batch = self.agg.drain_all(id);
        let extras = LiveExtras {
            payloads: std::mem::take(&mut self.payloads),
            checkpoints: changed,
        };
        match self.store.merge_live(&batch, &extras).await? {
            MergeOutcome::Merged => {}
            MergeOutcome::AlreadyMerged => {
                return Err(LiveError::StreamTaken {
                    stream: self.stream.clone(),
                    seq: self.next_seq,
                    sensor: self.cfg.sensor.clone(),
                });
            }
        }
        tracing::debug!(
            stream = %self.stream,
            seq = self.next_seq,
            minutes = batch.minutes.len(),
            payloads = extras.payloads.len(),
            events = self.pending_events,
            "live batch committed"
        );
        self.committed.extend(extras.checkpoints);
        if let Some(last) = batch.counts.last_seen {
            self.newest_event = Some(
                self.newest_event
                    .map_or(last.secs(), |n| n.max(last.secs())),
            );
        }
        // Data for a minute detection already fed: start over, so that the
        // result stays what one pass over the store gives.
        let earliest = batch.minutes.iter().map(|(k, _)| k.start).min();
        if let Some(d) = &mut self.detector
            && let (Some(fed), Some(early)) = (d.fed_until(), earliest)
            && early < fed
        {
            tracing::debug!(minute = early, "late data: detection starts over");
            d.reset()?;
        }
        self.summary.batches += 1;
        self.summary.events += self.pending_events;
        self.summary.last_seq = Some(self.next_seq);
        self.pending_events = 0;
        self.merged_since_detect = true;
        let seq = self.next_seq;
        self.next_seq += 1;
        self.stats.update(|s| {
            s.batches += 1;
            s.last_seq = Some(seq);
            s.last_flush = Some(now);
            s.pending_events = 0;
        });
        Ok(true)
    }

    /// Looks at the clock: when a minute closed, flushes and (at the
    /// configured interval) runs detection.
    pub async fn tick(&mut self, now: i64) -> Result<(), LiveError> {
        if let Some(closed) = self.clock.advance(now) {
            self.stats.update(|s| s.closed_before = closed);
            self.flush(now).await?;
            self.maybe_detect(now, false).await?;
        } else if self.flush_due() {
            self.flush(now).await?;
            self.maybe_detect(now, false).await?;
        }
        Ok(())
    }

    /// Runs detection over the minutes closed both on the wall clock and in
    /// event time; `everything` feeds every stored minute (at shutdown).
    async fn maybe_detect(&mut self, now: i64, everything: bool) -> Result<(), LiveError> {
        let Some(detector) = &mut self.detector else {
            return Ok(());
        };
        let interval = i64::try_from(self.cfg.detect_interval_secs).unwrap_or(i64::MAX);
        if interval == 0
            || !self.merged_since_detect
            || (!everything && self.last_detect.is_some_and(|t| now - t < interval))
        {
            return Ok(());
        }
        let until = if everything {
            None
        } else {
            let Some(newest) = self.newest_event else {
                return Ok(());
            };
            let lateness = i64::from(self.cfg.lateness_secs);
            let closed = self.clock.closed_before();
            // A live source's events are within a minute or two of the wall
            // clock, and a quiet minute is over when the clock says so. A
            // replay runs in the past: its minutes close as it passes them.
            if newest >= closed - 120 {
                Some(closed)
            } else {
                Some((newest - lateness).div_euclid(60) * 60)
            }
        };
        let detection = detector.run(&*self.store, until).await?;
        // Stored minutes past the bound are fed by a later run.
        self.merged_since_detect = match (until, self.newest_event) {
            (Some(u), Some(newest)) => u <= newest,
            _ => false,
        };
        self.last_detect = Some(now);
        let alerts = detection.alerts.len() as u64;
        self.stats.update(|s| {
            s.detections += 1;
            s.alerts = alerts;
        });
        tracing::info!(alerts, minutes = detection.minutes, "detection ran");
        self.detections.send_replace(Some(Arc::new(detection)));
        Ok(())
    }

    /// Runs until `shutdown` resolves, then takes in what the sources
    /// already queued, flushes it (the current minute too) and runs
    /// detection once more.
    pub async fn run(
        mut self,
        shutdown: impl std::future::Future<Output = ()>,
    ) -> Result<LiveSummary, LiveError> {
        tokio::pin!(shutdown);
        let mut ticker = tokio::time::interval(self.cfg.tick);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                biased;
                () = &mut shutdown => break,
                input = self.rx.recv() => match input {
                    Some(input) => {
                        self.handle(input, now_secs());
                        if self.flush_due() {
                            // A replay at full speed: its minutes close in
                            // event time, so detection keeps up with it.
                            let now = now_secs();
                            self.flush(now).await?;
                            self.maybe_detect(now, false).await?;
                        }
                    }
                    // Every source is gone: nothing more will come.
                    None => break,
                },
                _ = ticker.tick() => self.tick(now_secs()).await?,
            }
        }
        while let Ok(input) = self.rx.try_recv() {
            self.handle(input, now_secs());
        }
        let now = now_secs();
        self.flush(now).await?;
        self.merged_since_detect = true;
        self.maybe_detect(now, true).await?;
        tracing::info!(
            stream = %self.stream,
            batches = self.summary.batches,
            events = self.summary.events,
            "live sensor stopped"
        );
        Ok(self.summary)
    }
}

fn note_event(src: &mut super::stats::SourceHealth, last_event: Option<i64>, now: i64) {
    if let Some(t) = last_event {
        src.last_event = Some(src.last_event.map_or(t, |l| l.max(t)));
        src.last_seen = Some(now);
        src.lag_secs = Some(now - t);
    }
}

/// Registers a source by name on a handle; what [`Input`]s carry.
pub fn register(handle: &LiveHandle, name: &str, kind: SourceKind) -> usize {
    handle.stats.register(name, kind)
}
