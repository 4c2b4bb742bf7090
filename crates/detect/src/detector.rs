//! The [`Detector`]: per-port state, fed one minute at a time.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::net::IpAddr;

use portwatch_core::PortKey;
use serde::{Deserialize, Serialize};

use crate::alert::{Alert, AlertUpdate, Change};
use crate::baseline::{HISTORY_MINUTES, Rates, SeriesModel, WindowSums};
use crate::config::{ConfigError, DetectConfig};
use crate::finding::{Finding, Rec, Thresholds, decide};
use crate::lifecycle::{OpenAlert, View};
use crate::window::{UpMinutes, WindowScore, score_windows};

/// What the sensor saw on one port in one minute (scan probes only).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MinuteSample {
    pub packets: u64,
    /// Distinct sources in the minute.
    pub sources: u64,
    /// Distinct targets in the minute.
    pub targets: u64,
    /// The minute's loudest sources with their packet counts (the
    /// aggregate's top-k, e.g. `TopK::top`); exact when it lists every
    /// source.
    pub top: Vec<(IpAddr, u64)>,
}

/// One minute of input for [`detect_series`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MinuteInput {
    /// Unix seconds, a multiple of 60.
    pub start: i64,
    /// False when the sensor saw nothing at all in this minute (on any
    /// port, of any class): a gap, not silence.
    pub sensor_up: bool,
    pub samples: Vec<(PortKey, MinuteSample)>,
}

/// Why a minute was refused. The detector is unchanged after an error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StepError {
    #[error("minute {0} is not a multiple of 60 seconds")]
    NotAligned(i64),
    #[error("minute {got} does not follow minute {last}: minutes must strictly increase")]
    NotIncreasing { last: i64, got: i64 },
    #[error("port {port} appears twice in minute {minute}")]
    DuplicatePort { minute: i64, port: PortKey },
}

/// Either error [`detect_series`] can meet.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum DetectError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Step(#[from] StepError),
}

/// A run of minutes in which the sensor saw nothing at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct GapSpan {
    /// First missing minute (Unix seconds).
    pub start: i64,
    /// Minute after the last missing one.
    pub end: i64,
}

#[derive(Debug, Clone, PartialEq)]
struct PortState {
    sources: SeriesModel,
    packets: SeriesModel,
    recent: VecDeque<Rec>,
    /// Up-minute index up to which the models have learned.
    learned_until: u64,
    /// Ever alerted: such a port is no longer "silent for its whole
    /// history".
    noisy: bool,
    /// Index in `alerts` of this port's latest alert.
    last_alert: Option<usize>,
    open: Option<Box<OpenAlert>>,
}

impl PortState {
    fn new(silent: u64, rates: &Rates) -> Self {
        PortState {
            sources: SeriesModel::new(silent, rates),
            packets: SeriesModel::new(silent, rates),
            recent: VecDeque::new(),
            learned_until: silent,
            noisy: false,
            last_alert: None,
            open: None,
        }
    }

    fn needs_every_minute(&self) -> bool {
        !self.recent.is_empty() || self.sources.is_seasonal() || self.open.is_some()
    }
}

/// Holds every port's baseline and the alerts, and turns minutes into
/// alert updates. A pure function of the minutes fed: feeding the same
/// minutes (in one batch or one by one) gives the same alerts, and a clone
/// is a checkpoint to re-run from when late data arrives.
#[derive(Debug, Clone)]
pub struct Detector {
    cfg: DetectConfig,
    rates: Rates,
    /// Looked up for every sample and every active port each minute: a
    /// fast hash, since port keys come from the store, not from an attacker
    /// choosing collisions.
    ports: HashMap<PortKey, PortState, foldhash::fast::RandomState>,
    /// Ports evaluated every minute (recent data, a profile, or an open
    /// alert); the rest catch up lazily. Ordered, so updates come out in a
    /// deterministic order.
    active: BTreeSet<PortKey>,
    up: UpMinutes,
    up_minutes: u64,
    last_minute: Option<i64>,
    gaps: Vec<GapSpan>,
    alerts: Vec<Alert>,
}

impl Detector {
    pub fn new(cfg: DetectConfig) -> Result<Self, ConfigError> {
        cfg.validate()?;
        Ok(Detector {
            rates: Rates::new(&cfg),
            cfg,
            ports: HashMap::default(),
            active: BTreeSet::new(),
            up: UpMinutes::default(),
            up_minutes: 0,
            last_minute: None,
            gaps: Vec::new(),
            alerts: Vec::new(),
        })
    }

    pub fn config(&self) -> &DetectConfig {
        &self.cfg
    }

    /// All alerts so far, open and closed, in the order they were opened.
    pub fn alerts(&self) -> impl Iterator<Item = &Alert> {
        self.alerts.iter()
    }

    /// Runs of minutes when the sensor saw nothing (skipped minutes count).
    pub fn gaps(&self) -> &[GapSpan] {
        &self.gaps
    }

    /// The last minute fed.
    pub fn last_minute(&self) -> Option<i64> {
        self.last_minute
    }

    /// Ports with state (for memory accounting).
    pub fn tracked_ports(&self) -> usize {
        self.ports.len()
    }

    /// The expected sources and packets per minute of a port at `minute`.
    pub fn baseline(&self, port: PortKey, minute: i64) -> (f64, f64) {
        self.ports.get(&port).map_or((0.0, 0.0), |p| {
            (p.sources.expected(minute), p.packets.expected(minute))
        })
    }

    /// A port's normal band at `minute`, per minute: what its baselines
    /// expect (floored as scores floor it) and, above that, the count that
    /// would score `open_score` in a minute on its own. Charts and reports
    /// draw it around the series; an alert needs more than one minute above
    /// it (see the crate docs).
    pub fn band(&self, port: PortKey, minute: i64) -> Band {
        let open = if self.cfg.watch.ports.contains(&port) {
            self.cfg.watch.open_score
        } else {
            self.cfg.open_score
        };
        let floor = self.rates.floor;
        let (src, src_disp, pkt, pkt_disp) =
            self.ports.get(&port).map_or((0.0, 1.0, 0.0, 1.0), |p| {
                (
                    p.sources.expected(minute),
                    p.sources.dispersion(0, &self.rates),
                    p.packets.expected(minute),
                    p.packets.dispersion(0, &self.rates),
                )
            });
        let (sources, packets) = (src.max(floor), pkt.max(floor));
        Band {
            sources,
            sources_upper: score_threshold(sources, src_disp, open),
            packets,
            packets_upper: score_threshold(packets, pkt_disp, open),
        }
    }

    /// Feeds one minute: every port that had scan probes in it, in any
    /// order. Minutes must strictly increase; minutes never fed, and
    /// minutes with `sensor_up == false` and no samples, are gaps: they
    /// count neither as silence nor as data. Returns what changed.
    pub fn step(
        &mut self,
        minute: i64,
        sensor_up: bool,
        samples: &[(PortKey, MinuteSample)],
    ) -> Result<Vec<AlertUpdate>, StepError> {
        self.check(minute, samples)?;
        let first_missing = self.last_minute.map(|l| l + 60);
        self.last_minute = Some(minute);
        if let Some(from) = first_missing
            && from < minute
        {
            self.note_gap(from, minute);
        }
        if !sensor_up && samples.is_empty() {
            self.note_gap(minute, minute + 60);
            return Ok(Vec::new());
        }
        self.up_minutes += 1;
        self.up.push(minute);
        for (key, s) in samples {
            if self.cfg.ignore.contains(key) {
                continue;
            }
            let silent = self.up_minutes - 1;
            let st = self
                .ports
                .entry(*key)
                .or_insert_with(|| PortState::new(silent, &self.rates));
            let mut top = s.top.clone();
            top.sort_unstable_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
            st.recent.push_back(Rec {
                minute,
                sources: s.sources,
                packets: s.packets,
                targets: s.targets,
                top: top.into_boxed_slice(),
            });
            self.active.insert(*key);
        }
        let mut updates = Vec::new();
        let up = self.up.counts(minute);
        let keys: Vec<PortKey> = self.active.iter().copied().collect();
        for block in keys.chunks(LOOKAHEAD) {
            self.warm(block);
            for &key in block {
                self.evaluate(key, minute, &up, &mut updates);
            }
        }
        Ok(updates)
    }

    /// Reads a little of each port's state that evaluation will use: the
    /// lookups do not depend on one another, so their cache misses overlap
    /// instead of following one another port by port. With thousands of
    /// active ports, the state lookup and the first minute of its history
    /// were two misses that took two thirds of `step`'s own time; reading
    /// ahead cut stepping through the benchmark capture by about a tenth
    /// (best of five: 3.1 s against 3.5 s).
    fn warm(&self, block: &[PortKey]) {
        let mut warm = 0u64;
        for key in block {
            if let Some(st) = self.ports.get(key) {
                warm ^= st.recent.front().map_or(0, |r| r.minute as u64)
                    ^ st.sources.warm()
                    ^ st.packets.warm();
            }
        }
        std::hint::black_box(warm);
    }

    fn check(&self, minute: i64, samples: &[(PortKey, MinuteSample)]) -> Result<(), StepError> {
        if minute.rem_euclid(60) != 0 {
            return Err(StepError::NotAligned(minute));
        }
        if let Some(last) = self.last_minute
            && minute <= last
        {
            return Err(StepError::NotIncreasing { last, got: minute });
        }
        let mut keys: Vec<PortKey> = samples.iter().map(|s| s.0).collect();
        keys.sort_unstable();
        if let Some(w) = keys.windows(2).find(|w| w[0] == w[1]) {
            return Err(StepError::DuplicatePort { minute, port: w[0] });
        }
        Ok(())
    }

    fn note_gap(&mut self, start: i64, end: i64) {
        match self.gaps.last_mut() {
            Some(g) if g.end == start => g.end = end,
            _ => self.gaps.push(GapSpan { start, end }),
        }
    }

    fn thresholds(cfg: &DetectConfig, up_minutes: u64, key: PortKey, st: &PortState) -> Thresholds {
        let watched = cfg.watch.ports.contains(&key);
        let np = &cfg.new_port;
        let silent = !st.noisy
            && st.sources.level() * 60.0 < np.max_sources_per_hour
            && up_minutes as f64 >= np.min_history_hours * 60.0;
        Thresholds {
            open: if watched {
                cfg.watch.open_score
            } else {
                cfg.open_score
            },
            min_ratio: cfg.min_ratio,
            min_sources: u64::from(if watched {
                cfg.watch.min_sources
            } else {
                cfg.min_sources
            }),
            min_packets: cfg.min_packets,
            single_share: cfg.single_source_share,
            single_min_packets: cfg.single_source_min_packets,
            new_port_sources: silent.then_some(u64::from(np.min_sources)),
        }
    }

    /// Scores, tracks and teaches one port at `minute`. `up` is
    /// [`UpMinutes::counts`] at `minute`. The state is updated where it
    /// lies: taking it out of the map and putting it back moved ~1 KB twice
    /// per port and minute, a tenth of detection's time.
    fn evaluate(
        &mut self,
        key: PortKey,
        minute: i64,
        up: &[f64; 4],
        updates: &mut Vec<AlertUpdate>,
    ) {
        let Some(st) = self.ports.get_mut(&key) else {
            self.active.remove(&key);
            return;
        };
        let rates = self.rates;
        let skipped = (self.up_minutes - 1).saturating_sub(st.learned_until);
        st.sources.skip_silent(skipped, &rates);
        st.packets.skip_silent(skipped, &rates);
        while st
            .recent
            .front()
            .is_some_and(|r| r.minute <= minute - HISTORY_MINUTES * 60)
        {
            st.recent.pop_front();
        }
        let src_values = st.recent.iter().map(|r| (r.minute, r.sources as f64));
        let pkt_values = st.recent.iter().map(|r| (r.minute, r.packets as f64));
        let src = score_windows(&st.sources, up, minute, src_values, &rates);
        let pkt = score_windows(&st.packets, up, minute, pkt_values, &rates);
        let th = Self::thresholds(&self.cfg, self.up_minutes, key, st);
        let recent = &st.recent;
        let finding = decide(&src, &pkt, &th, |i| {
            let from = minute - crate::baseline::WINDOWS[i] * 60;
            recent.iter().filter(move |r| r.minute > from)
        });
        let warm = self.up_minutes as f64 >= self.cfg.warmup_hours * 60.0;
        let view = View {
            key,
            minute,
            sources: &src,
            packets: &pkt,
            recent: &st.recent,
            source_model: &st.sources,
            packet_model: &st.packets,
            rates: &rates,
            up: &self.up,
        };
        let mut ctx = AlertSlot {
            open: &mut st.open,
            last_alert: &mut st.last_alert,
            noisy: &mut st.noisy,
        };
        track_alert(
            &self.cfg,
            &mut self.alerts,
            &mut ctx,
            &view,
            finding.filter(|_| warm),
            updates,
        );

        let (now_src, now_pkt) = st
            .recent
            .back()
            .filter(|r| r.minute == minute)
            .map_or((0.0, 0.0), |r| (r.sources as f64, r.packets as f64));
        // While an alert is open the baseline holds still; once it has been
        // open long enough, the new level is allowed to become normal.
        let learn = match &st.open {
            // Learning is unclipped while the sensor warms up: nothing
            // is known yet to call an outlier.
            None => Some(warm),
            Some(o) if minute - o.opened >= (self.cfg.adapt_after_hours * 3600.0) as i64 => {
                Some(false)
            }
            Some(_) => None,
        };
        if let Some(clip) = learn {
            st.sources.learn(minute, now_src, &sums(&src), clip, &rates);
            st.packets.learn(minute, now_pkt, &sums(&pkt), clip, &rates);
        }
        st.learned_until = self.up_minutes;
        let min_rate = self.cfg.seasonal_min_rate;
        if !st.sources.is_seasonal()
            && (st.sources.level() >= min_rate || st.packets.level() >= 10.0 * min_rate)
        {
            st.sources.make_seasonal();
            st.packets.make_seasonal();
        }
        if !st.needs_every_minute() {
            self.active.remove(&key);
            // A port that has gone quiet again costs nothing: without state
            // it is treated as silent, which it nearly is.
            if st.last_alert.is_none()
                && st.sources.level() < EVICT_LEVEL
                && st.packets.level() < EVICT_LEVEL
            {
                self.ports.remove(&key);
            }
        }
    }
}

/// The parts of a port's state that its alert tracking changes.
struct AlertSlot<'a> {
    open: &'a mut Option<Box<OpenAlert>>,
    last_alert: &'a mut Option<usize>,
    noisy: &'a mut bool,
}

fn track_alert(
    cfg: &DetectConfig,
    alerts: &mut Vec<Alert>,
    slot: &mut AlertSlot<'_>,
    view: &View<'_>,
    finding: Option<Finding>,
    updates: &mut Vec<AlertUpdate>,
) {
    if let Some(open) = slot.open.as_deref_mut() {
        let Some(alert) = slot.last_alert.and_then(|i| alerts.get_mut(i)) else {
            return;
        };
        if open.minute(alert, view, finding.as_ref(), cfg, updates) {
            *slot.open = None;
        }
        return;
    }
    let Some(f) = finding else {
        return;
    };
    *slot.noisy = true;
    let reopen = slot.last_alert.filter(|&i| {
        alerts[i]
            .transitions
            .last()
            .is_some_and(|t| view.minute - t.decided <= i64::from(cfg.reopen_within_minutes) * 60)
    });
    let (open, update) = match reopen {
        Some(i) => OpenAlert::reopen(&mut alerts[i], view, &f),
        None => {
            let (open, alert) = OpenAlert::open(view, &f);
            alerts.push(alert.clone());
            *slot.last_alert = Some(alerts.len() - 1);
            let update = AlertUpdate {
                change: Change::Opened,
                alert,
            };
            (open, update)
        }
    };
    *slot.open = Some(Box::new(open));
    updates.push(update);
}

/// A port's normal at one minute (see [`Detector::band`]).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Band {
    /// Expected distinct sources per minute.
    pub sources: f64,
    /// Sources per minute that would score `open_score`.
    pub sources_upper: f64,
    /// Expected packets per minute.
    pub packets: f64,
    /// Packets per minute that would score `open_score`.
    pub packets_upper: f64,
}

/// The count `x` above `expected` at which `deviance_score` reaches `score`.
/// The score grows monotonically above the expectation, so bisection finds
/// it; the upper bracket `m + s·√(D·m) + s²·D` always scores at least `s`.
fn score_threshold(expected: f64, dispersion: f64, score: f64) -> f64 {
    let (mut lo, mut hi) = (
        expected,
        expected + score * (dispersion * expected).sqrt() + score * score * dispersion,
    );
    for _ in 0..60 {
        let mid = 0.5 * (lo + hi);
        if crate::stats::deviance_score(mid, expected, dispersion) >= score {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    hi
}

/// Ports whose state [`Detector::warm`] reads ahead of their evaluation.
const LOOKAHEAD: usize = 16;

/// Below this level (per minute) an idle port's state is dropped.
const EVICT_LEVEL: f64 = 1e-4;

fn sums(w: &[WindowScore; 4]) -> [WindowSums; 4] {
    [w[0].sums, w[1].sums, w[2].sums, w[3].sums]
}

/// Runs the detector over a whole series and returns every alert. Gives
/// exactly what feeding the same minutes to [`Detector::step`] one by one
/// gives.
pub fn detect_series<I>(cfg: DetectConfig, minutes: I) -> Result<Vec<Alert>, DetectError>
where
    I: IntoIterator<Item = MinuteInput>,
{
    let mut d = Detector::new(cfg)?;
    for m in minutes {
        d.step(m.start, m.sensor_up, &m.samples)?;
    }
    Ok(d.alerts.clone())
}

#[cfg(test)]
mod band_tests {
    use super::score_threshold;
    use crate::deviance_score;

    #[test]
    fn the_band_top_scores_exactly_the_threshold() {
        for m in [1e-4, 0.01, 0.5, 3.0, 100.0, 1e4] {
            for d in [1.0, 2.5, 10.0] {
                for s in [2.0, 4.0, 6.0] {
                    let x = score_threshold(m, d, s);
                    assert!(x > m, "m={m} d={d} s={s}: {x}");
                    let got = deviance_score(x, m, d);
                    assert!(
                        (got - s).abs() < 1e-6,
                        "m={m} d={d} s={s}: x={x} scores {got}"
                    );
                }
            }
        }
    }
}
