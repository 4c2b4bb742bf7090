//! Spike detection over a store: every stored minute fed to a
//! [`Detector`] in order, the alerts kept in the store beside the series.
//!
//! Detection is a deterministic function of the stored minutes, so it
//! re-runs over all of them after every change. That is what makes late
//! data right (rule 1): a minute merged late is simply part of the next run,
//! and an alert's id hashes its port and onset, so unchanged alerts keep
//! their ids. Minutes in which the store has nothing at all (no probe, no
//! backscatter) are gaps: never fed, so never mistaken for silence.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use portwatch_aggregate::SeriesClass;
use portwatch_core::{BucketWidth, PortKey, Timestamp};
use portwatch_detect::{
    Alert, Band, ConfigError, DetectConfig, Detector, GapSpan, MinuteInput, MinuteSample, StepError,
};
use portwatch_store::{
    AlertRecord, MinutesQuery, SeriesPoint, SeriesQuery, Store, StoreError, TimeRange,
    TransitionRecord,
};
use tokio::sync::mpsc;

const HOUR: i64 = 3_600;

/// Why detection could not run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DetectRunError {
    #[error("store: {0}")]
    Store(#[from] StoreError),
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The store handed back minutes out of order: a store bug.
    #[error("detection: {0}")]
    Step(#[from] StepError),
    /// The thread stepping the detector was stopped before it finished
    /// (the runtime is shutting down).
    #[error("detection was stopped before it finished")]
    Stopped,
}

/// What one detection run found.
#[derive(Debug, Clone, Default)]
pub struct Detection {
    /// Every alert, in the order they opened.
    pub alerts: Vec<Alert>,
    /// Spans with no data at all (the sensor, or every input, was silent).
    pub gaps: Vec<GapSpan>,
    /// Minutes fed (minutes with any data).
    pub minutes: u64,
    /// First minute and the minute after the last, when there was any.
    pub span: Option<(i64, i64)>,
}

/// Runs detection over everything `store` holds, fills in each alert's
/// distinct sources and targets over its span from the store's sketches,
/// and replaces the stored alerts with the result.
pub async fn detect_store(
    store: &dyn Store,
    cfg: &DetectConfig,
) -> Result<Detection, DetectRunError> {
    let mut detection = run_detector(store, cfg).await?;
    complete(store, &mut detection).await?;
    Ok(detection)
}

async fn run_detector(store: &dyn Store, cfg: &DetectConfig) -> Result<Detection, DetectRunError> {
    let mut detector = Detector::new(cfg.clone())?;
    let active = store.active_minutes(TimeRange::ALL).await?;
    let (Some(&first), Some(&last)) = (active.first(), active.last()) else {
        return Ok(Detection::default());
    };
    feed(&mut detector, store, &active).await?;
    Ok(Detection {
        alerts: detector.alerts().cloned().collect(),
        gaps: detector.gaps().to_vec(),
        minutes: active.len() as u64,
        span: Some((first, last + 60)),
    })
}

/// Steps `detector` through the stored minutes `active` (ascending).
///
/// Reading minutes from the store and stepping the detector through them
/// cost about the same (2.0–2.5 s and 3.1–3.7 s for the benchmark
/// capture's 2,880 minutes), so they overlap: a blocking thread steps
/// through one hour while the store reads the next. An hour at a time keeps
/// memory to a few hours of minutes, not the store.
async fn feed(
    detector: &mut Detector,
    store: &dyn Store,
    active: &[i64],
) -> Result<(), DetectRunError> {
    if active.is_empty() {
        return Ok(());
    }
    // The stepping thread needs to own the detector; it hands it back.
    let placeholder = Detector::new(detector.config().clone())?;
    let owned = std::mem::replace(detector, placeholder);
    let (tx, mut rx) = mpsc::channel::<Vec<MinuteInput>>(HOURS_IN_FLIGHT);
    let stepper = tokio::task::spawn_blocking(move || {
        let mut detector = owned;
        let mut busy = Duration::ZERO;
        while let Some(hour) = rx.blocking_recv() {
            let started = Instant::now();
            for m in hour {
                if let Err(e) = detector.step(m.start, m.sensor_up, &m.samples) {
                    return (detector, Err(e));
                }
            }
            busy += started.elapsed();
        }
        tracing::debug!(stepping_ms = busy.as_millis() as u64, "detection stepped");
        (detector, Ok(()))
    });
    let started = Instant::now();
    let read = read_hours(store, active, &tx).await;
    tracing::debug!(
        minutes = active.len(),
        reading_ms = started.elapsed().as_millis() as u64,
        "detection read its minutes"
    );
    drop(tx);
    let (fed, stepped) = match stepper.await {
        Ok(done) => done,
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(_) => return Err(DetectRunError::Stopped),
    };
    *detector = fed;
    // A read error stops the stepping early and is the cause to report.
    read?;
    stepped?;
    Ok(())
}

/// Hours of minutes queued for the stepping thread at most.
const HOURS_IN_FLIGHT: usize = 2;

/// Reads `active`'s minutes an hour at a time and sends each hour, in
/// order, to `tx`; stops early when the receiver is gone.
async fn read_hours(
    store: &dyn Store,
    active: &[i64],
    tx: &mpsc::Sender<Vec<MinuteInput>>,
) -> Result<(), DetectRunError> {
    let mut next = 0;
    while let Some(&m) = active.get(next) {
        let hour = m.div_euclid(HOUR) * HOUR;
        let range = TimeRange::new(
            Timestamp::from_secs(hour),
            Timestamp::from_secs(hour + HOUR),
        );
        let rows = store
            .minutes(&MinutesQuery {
                class: SeriesClass::Probe,
                range,
            })
            .await?;
        let mut by_minute: BTreeMap<i64, Vec<(PortKey, MinuteSample)>> = BTreeMap::new();
        for row in rows {
            by_minute
                .entry(row.point.start.secs())
                .or_default()
                .push((row.port, sample(&row.point)));
        }
        let mut minutes = Vec::new();
        while let Some(&minute) = active.get(next).filter(|&&m| m < hour + HOUR) {
            minutes.push(MinuteInput {
                start: minute,
                sensor_up: true,
                samples: by_minute.remove(&minute).unwrap_or_default(),
            });
            next += 1;
        }
        if tx.send(minutes).await.is_err() {
            // The stepping thread stopped early (at an error it returns).
            break;
        }
    }
    Ok(())
}

/// Detection for a long-running sensor: the detector keeps its state
/// between runs and each run feeds only the minutes stored since, so a run
/// costs the new minutes, not the store's whole history.
///
/// It gives exactly [`detect_store`]'s result as long as every minute is
/// complete when fed: feed only closed minutes, and [`reset`](Self::reset)
/// when data arrives for a minute already fed (the next run then starts
/// over from the first stored minute, as `detect_store` does).
#[derive(Debug)]
pub struct IncrementalDetector {
    cfg: DetectConfig,
    detector: Detector,
    /// Every stored minute before this has been fed.
    fed_until: Option<i64>,
    first: Option<i64>,
    last: Option<i64>,
    minutes: u64,
}

impl IncrementalDetector {
    pub fn new(cfg: DetectConfig) -> Result<Self, DetectRunError> {
        Ok(IncrementalDetector {
            detector: Detector::new(cfg.clone())?,
            cfg,
            fed_until: None,
            first: None,
            last: None,
            minutes: 0,
        })
    }

    /// Every stored minute before this has been fed (`None`: none yet).
    pub fn fed_until(&self) -> Option<i64> {
        self.fed_until
    }

    /// Forgets everything: the next run feeds from the first stored minute.
    pub fn reset(&mut self) -> Result<(), DetectRunError> {
        *self = IncrementalDetector::new(self.cfg.clone())?;
        Ok(())
    }

    /// Feeds the stored minutes from where the last run stopped up to
    /// `until` (exclusive, a whole minute; `None`: everything stored), then
    /// does what [`detect_store`] does with the alerts: distinct counts
    /// over each alert's span, and the stored alerts replaced.
    pub async fn run(
        &mut self,
        store: &dyn Store,
        until: Option<i64>,
    ) -> Result<Detection, DetectRunError> {
        let from = self.fed_until;
        if let (Some(f), Some(u)) = (from, until)
            && u <= f
        {
            return self.finish(store).await;
        }
        let range = TimeRange {
            from: from.map(Timestamp::from_secs),
            to: until.map(Timestamp::from_secs),
        };
        let active = store.active_minutes(range).await?;
        feed(&mut self.detector, store, &active).await?;
        if let Some(&f) = active.first() {
            self.first.get_or_insert(f);
        }
        if let Some(&l) = active.last() {
            self.last = Some(l);
        }
        self.minutes += active.len() as u64;
        self.fed_until = match until {
            Some(u) => Some(u),
            None => active.last().map(|l| l + 60).or(from),
        };
        self.finish(store).await
    }

    async fn finish(&self, store: &dyn Store) -> Result<Detection, DetectRunError> {
        let mut detection = Detection {
            alerts: self.detector.alerts().cloned().collect(),
            gaps: self.detector.gaps().to_vec(),
            minutes: self.minutes,
            span: self.first.zip(self.last.map(|l| l + 60)),
        };
        complete(store, &mut detection).await?;
        Ok(detection)
    }
}

/// Fills in each alert's distinct sources and targets over its span from
/// the store's sketches and replaces the stored alerts.
async fn complete(store: &dyn Store, detection: &mut Detection) -> Result<(), DetectRunError> {
    for alert in &mut detection.alerts {
        let end = alert.closed.unwrap_or(alert.last_active + 60);
        let range = TimeRange::new(Timestamp::from_secs(alert.onset), Timestamp::from_secs(end));
        if let Some(t) = store
            .port_totals(SeriesClass::Probe, alert.key(), range)
            .await?
        {
            alert.during.sources = Some(t.sources);
            alert.during.targets = Some(t.targets);
            alert.summarize();
        }
    }
    let records: Vec<AlertRecord> = detection.alerts.iter().map(record).collect();
    store.replace_alerts(&records).await?;
    Ok(())
}

fn sample(p: &SeriesPoint) -> MinuteSample {
    MinuteSample {
        packets: p.packets,
        sources: p.sources,
        targets: p.targets,
        top: p.top_sources.iter().map(|e| (e.addr, e.count)).collect(),
    }
}

/// An alert as the store keeps it.
pub fn record(a: &Alert) -> AlertRecord {
    AlertRecord {
        id: a.id.0.clone(),
        port: a.key(),
        kind: a.kind.as_str().to_string(),
        state: a.state.as_str().to_string(),
        onset: a.onset,
        closed: a.closed,
        transitions: a
            .transitions
            .iter()
            .map(|t| TransitionRecord {
                state: t.state.as_str().to_string(),
                at: t.at,
                decided: t.decided,
            })
            .collect(),
        doc: a.to_json(),
    }
}

/// One minute of a port's normal, as the detector saw it just before the
/// minute's data arrived.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BandPoint {
    /// Unix seconds.
    pub minute: i64,
    pub band: Band,
    /// False while the sensor warms up: baselines are still learning and
    /// no alert can open, so the band means little yet.
    pub warm: bool,
}

/// A port's normal over one bucket: the minute bands of its minutes with
/// data, past warm-up, summed or averaged.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct BucketBand {
    /// Expected distinct sources per minute (mean over the bucket).
    pub sources_per_min: f64,
    /// Sources per minute that score `open_score` (the top of the band).
    pub sources_per_min_upper: f64,
    /// Expected packets in the bucket (sum over its minutes).
    pub packets: f64,
    /// Packets in the bucket at the top of the band.
    pub packets_upper: f64,
}

/// The band of the bucket `[start, start + width)` from `bands` (as
/// [`port_bands`] returns them, in minute order); `None` when none of its
/// minutes is past warm-up.
pub fn bucket_band(bands: &[BandPoint], start: i64, width: BucketWidth) -> Option<BucketBand> {
    let lo = bands.partition_point(|b| b.minute < start);
    let hi = bands.partition_point(|b| b.minute < start + width.secs());
    let warm: Vec<&Band> = bands[lo..hi]
        .iter()
        .filter(|b| b.warm)
        .map(|b| &b.band)
        .collect();
    if warm.is_empty() {
        return None;
    }
    let n = warm.len() as f64;
    let sum = |f: fn(&Band) -> f64| warm.iter().map(|b| f(b)).sum::<f64>();
    Some(BucketBand {
        sources_per_min: sum(|b| b.sources) / n,
        sources_per_min_upper: sum(|b| b.sources_upper) / n,
        packets: sum(|b| b.packets),
        packets_upper: sum(|b| b.packets_upper),
    })
}

/// A port's baseline band at every minute the sensor was up, computed the
/// way [`detect_store`] computes it. A port's baselines depend only on its
/// own minutes and on which minutes the sensor was up, so feeding the
/// detector this one port gives exactly the baselines of the full run.
pub async fn port_bands(
    store: &dyn Store,
    cfg: &DetectConfig,
    port: PortKey,
) -> Result<Vec<BandPoint>, DetectRunError> {
    let mut detector = Detector::new(cfg.clone())?;
    let active = store.active_minutes(TimeRange::ALL).await?;
    let points = store
        .series(&SeriesQuery {
            class: SeriesClass::Probe,
            port,
            width: BucketWidth::Minute,
            range: TimeRange::ALL,
        })
        .await?;
    let mut points = points.iter().peekable();
    let mut out = Vec::with_capacity(active.len());
    let warmup = cfg.warmup_hours * 60.0;
    for (up, &minute) in active.iter().enumerate() {
        out.push(BandPoint {
            minute,
            band: detector.band(port, minute),
            warm: up as f64 >= warmup,
        });
        let mut samples = Vec::new();
        while let Some(p) = points.next_if(|p| p.start.secs() <= minute) {
            if p.start.secs() == minute {
                samples.push((port, sample(p)));
            }
        }
        detector.step(minute, true, &samples)?;
    }
    Ok(out)
}
