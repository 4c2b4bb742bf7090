//! Holding detectors to account: matching alerts to labelled campaigns,
//! two simple detectors to compare against, and the Numenta Anomaly
//! Benchmark's standard-profile score. Pure: callers read the data.

use std::collections::{BTreeSet, HashMap};

use portwatch_core::PortKey;

use crate::alert::{Alert, Kind};
use crate::detector::MinuteInput;

/// What a labelled event should produce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// A campaign (or new-port) alert.
    Campaign,
    /// A single-source finding, and no campaign alert.
    SingleSource,
}

/// One labelled event: a port and the minutes it ran (`[start, end)`,
/// Unix seconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Label {
    pub port: PortKey,
    pub start: i64,
    pub end: i64,
    pub expect: Expect,
}

/// One alert as the scoring sees it, from any detector.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Detection {
    pub port: PortKey,
    pub kind: Kind,
    /// Minute whose data raised it.
    pub opened: i64,
}

impl From<&Alert> for Detection {
    fn from(a: &Alert) -> Self {
        Detection {
            port: a.key(),
            kind: a.kind,
            opened: a.opened,
        }
    }
}

/// How one detector did on one scenario.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ScenarioScore {
    /// Labelled campaigns, and how many got a campaign alert.
    pub campaigns: usize,
    pub found: usize,
    /// Labelled single-source floods, and how many were reported as such.
    pub floods: usize,
    pub floods_found: usize,
    /// Campaign alerts raised, and how many matched no campaign label.
    pub alerts: usize,
    pub false_alerts: usize,
    /// Minutes from a campaign's start to the end of the minute that
    /// raised its first alert.
    pub mean_delay_min: Option<f64>,
    pub max_delay_min: Option<f64>,
    pub port_days: f64,
}

impl ScenarioScore {
    pub fn precision(&self) -> Option<f64> {
        (self.alerts > 0).then(|| (self.alerts - self.false_alerts) as f64 / self.alerts as f64)
    }

    pub fn recall(&self) -> Option<f64> {
        (self.campaigns > 0).then(|| self.found as f64 / self.campaigns as f64)
    }

    /// False campaign alerts per 1,000 port-days.
    pub fn false_per_kilo_port_day(&self) -> f64 {
        if self.port_days > 0.0 {
            self.false_alerts as f64 * 1000.0 / self.port_days
        } else {
            0.0
        }
    }
}

/// An alert counts for a label when it is on the label's port and was
/// raised between the label's start and this long after its end.
pub const MATCH_SLACK_SECS: i64 = 3600;

/// Scores detections against labels. `port_days` is the number of ports
/// with any background traffic times the days observed.
pub fn score(labels: &[Label], detections: &[Detection], port_days: f64) -> ScenarioScore {
    let within = |l: &Label, d: &Detection| {
        d.port == l.port && d.opened >= l.start && d.opened < l.end + MATCH_SLACK_SECS
    };
    let mut s = ScenarioScore {
        port_days,
        ..ScenarioScore::default()
    };
    let mut delays = Vec::new();
    for l in labels {
        match l.expect {
            Expect::Campaign => {
                s.campaigns += 1;
                let first = detections
                    .iter()
                    .filter(|d| d.kind.is_campaign() && within(l, d))
                    .map(|d| d.opened)
                    .min();
                if let Some(opened) = first {
                    s.found += 1;
                    delays.push((opened + 60 - l.start) as f64 / 60.0);
                }
            }
            Expect::SingleSource => {
                s.floods += 1;
                if detections
                    .iter()
                    .any(|d| d.kind == Kind::SingleSource && within(l, d))
                {
                    s.floods_found += 1;
                }
            }
        }
    }
    for d in detections.iter().filter(|d| d.kind.is_campaign()) {
        s.alerts += 1;
        let true_alert = labels
            .iter()
            .any(|l| l.expect == Expect::Campaign && within(l, d));
        if !true_alert {
            s.false_alerts += 1;
        }
    }
    if !delays.is_empty() {
        s.mean_delay_min = Some(delays.iter().sum::<f64>() / delays.len() as f64);
        s.max_delay_min = delays.iter().copied().reduce(f64::max);
    }
    s
}

/// Settings shared by the two simple detectors.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SimpleConfig {
    /// Static threshold: distinct sources per minute that raise an alert.
    pub static_sources: u64,
    /// Rolling detector: standard deviations above the mean.
    pub sigmas: f64,
    /// Rolling detector: half-life of its mean and variance, minutes.
    pub half_life_minutes: f64,
    /// Both: no alert before this many minutes of data.
    pub warmup_minutes: u64,
    /// Both: an alert ends after this many minutes below the line.
    pub close_after_minutes: u32,
}

impl Default for SimpleConfig {
    fn default() -> Self {
        SimpleConfig {
            static_sources: 20,
            sigmas: 3.0,
            half_life_minutes: 360.0,
            warmup_minutes: 1440,
            close_after_minutes: 30,
        }
    }
}

/// Which simple detector.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Simple {
    /// Sources per minute at or above a fixed number, on every port alike.
    StaticThreshold,
    /// Sources per minute above the port's exponentially weighted mean
    /// plus three standard deviations.
    RollingSigma,
}

#[derive(Debug, Clone, Copy, Default)]
struct SimpleState {
    mean: f64,
    sq: f64,
    n: u64,
    /// Up-minute index of the last update.
    at: u64,
    open: bool,
    below: u32,
}

/// Runs a simple detector over the same minutes the real one gets and
/// returns its detections (all of kind campaign).
pub fn run_simple(kind: Simple, cfg: &SimpleConfig, minutes: &[MinuteInput]) -> Vec<Detection> {
    let a = crate::stats::ewma_rate(cfg.half_life_minutes);
    let mut ports: HashMap<PortKey, SimpleState> = HashMap::new();
    let mut open: BTreeSet<PortKey> = BTreeSet::new();
    let mut out = Vec::new();
    let mut up = 0u64;
    for m in minutes {
        if !m.sensor_up && m.samples.is_empty() {
            continue;
        }
        up += 1;
        let warm = up > cfg.warmup_minutes;
        let mut quiet: BTreeSet<PortKey> = open.clone();
        for (key, s) in &m.samples {
            quiet.remove(key);
            let st = ports.entry(*key).or_insert(SimpleState {
                at: up - 1,
                ..SimpleState::default()
            });
            // Minutes without data were zeros.
            let keep = (1.0 - a).powf((up - 1 - st.at) as f64);
            st.mean *= keep;
            st.sq *= keep;
            let x = s.sources as f64;
            let sd = (st.sq - st.mean * st.mean).max(0.0).sqrt();
            let high = match kind {
                Simple::StaticThreshold => s.sources >= cfg.static_sources,
                Simple::RollingSigma => x > st.mean + cfg.sigmas * sd,
            };
            if high && warm && !st.open {
                st.open = true;
                open.insert(*key);
                out.push(Detection {
                    port: *key,
                    kind: Kind::Campaign,
                    opened: m.start,
                });
            }
            st.below = if high { 0 } else { st.below + 1 };
            let w = crate::stats::step_weight(st.n, a);
            st.mean += w * (x - st.mean);
            st.sq += w * (x * x - st.sq);
            st.n += 1;
            st.at = up;
        }
        for key in &quiet {
            if let Some(st) = ports.get_mut(key) {
                st.below += 1;
            }
        }
        open.retain(|key| match ports.get_mut(key) {
            Some(st) if st.below >= cfg.close_after_minutes => {
                st.open = false;
                false
            }
            Some(_) => true,
            None => false,
        });
    }
    out.sort_by_key(|d| (d.opened, d.port));
    out
}

/// NAB's cost weights; the standard profile is `A_TP = 1`, `A_FP = 0.11`,
/// `A_FN = 1`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NabProfile {
    pub tp: f64,
    pub fp: f64,
    pub fn_: f64,
}

impl NabProfile {
    pub const STANDARD: NabProfile = NabProfile {
        tp: 1.0,
        fp: 0.11,
        fn_: 1.0,
    };
}

/// Published NAB scoreboard figures (standard profile), for comparison.
pub const NAB_PUBLISHED: [(&str, f64); 7] = [
    ("Perfect", 100.0),
    ("Numenta HTM", 70.5),
    ("CAD OSE", 69.9),
    ("Twitter ADVec", 47.1),
    ("Etsy Skyline", 35.7),
    ("Bayesian changepoint", 17.7),
    ("Null", 0.0),
];

/// NAB's scaled sigmoid of a relative position: near +1 early in a window,
/// 0 at its end, towards -1 well after it.
fn scaled_sigmoid(pos: f64) -> f64 {
    if pos > 3.0 {
        -1.0
    } else {
        2.0 / (1.0 + (5.0 * pos).exp()) - 1.0
    }
}

/// NAB's probationary period: the first 15% of rows (at most 750), in
/// which detections are not scored.
pub fn nab_probation(rows: usize) -> usize {
    ((rows as f64 * 0.15).floor() as usize).min(750)
}

/// Raw NAB score of one data file: `windows` are inclusive row-index
/// ranges, `detections` row indices where the detector fired.
///
/// As in NAB's scorer: the first detection inside a window earns
/// `A_TP * σ(position) / σ(-1)` (1 at the window's first row, falling to
/// about 0 at its last), later ones in the same window earn nothing; a
/// window without detection costs `A_FN`; a detection outside every window
/// costs `A_FP` times the sigmoid of its distance past the previous window
/// (the full `A_FP` when no window precedes it); detections in the
/// probationary period are ignored.
pub fn nab_file_score(
    rows: usize,
    windows: &[(usize, usize)],
    detections: &[usize],
    p: NabProfile,
) -> f64 {
    let probation = nab_probation(rows);
    let max_tp = scaled_sigmoid(-1.0);
    let mut total = 0.0;
    let mut hit = vec![false; windows.len()];
    for &i in detections.iter().filter(|&&i| i >= probation && i < rows) {
        if let Some(w) = windows.iter().position(|&(s, e)| i >= s && i <= e) {
            if !hit[w] {
                hit[w] = true;
                let (s, e) = windows[w];
                let width = (e - s + 1) as f64;
                let pos = -((e - i + 1) as f64) / width;
                total += scaled_sigmoid(pos) * p.tp / max_tp;
            }
            continue;
        }
        let prev = windows.iter().filter(|&&(_, e)| e < i).max_by_key(|w| w.1);
        total += match prev {
            None => -p.fp,
            Some(&(s, e)) => {
                let width = (e - s + 1) as f64;
                let pos = (i - e) as f64 / (width - 1.0).max(1.0);
                scaled_sigmoid(pos) * p.fp
            }
        };
    }
    total - hit.iter().filter(|h| !**h).count() as f64 * p.fn_
}

/// Normalizes a raw NAB total to 0 (no detections) – 100 (every window
/// caught at its first row, nothing else).
pub fn nab_normalize(raw: f64, windows: usize, p: NabProfile) -> f64 {
    let null = -(windows as f64) * p.fn_;
    let perfect = windows as f64 * p.tp;
    if perfect == null {
        return 0.0;
    }
    100.0 * (raw - null) / (perfect - null)
}

#[cfg(test)]
mod tests {
    use super::*;
    use portwatch_core::Proto;

    #[test]
    fn matching_labels() {
        let p = PortKey::new(Proto::Tcp, 5168);
        let q = PortKey::new(Proto::Tcp, 445);
        let labels = [
            Label {
                port: p,
                start: 6000,
                end: 9000,
                expect: Expect::Campaign,
            },
            Label {
                port: q,
                start: 0,
                end: 600,
                expect: Expect::SingleSource,
            },
        ];
        let d = |port, kind, opened| Detection { port, kind, opened };
        let dets = [
            d(p, Kind::NewPort, 6240),
            d(p, Kind::Campaign, 7000),
            d(q, Kind::SingleSource, 60),
            d(q, Kind::Campaign, 120),
        ];
        let s = score(&labels, &dets, 2000.0);
        assert_eq!(
            (s.campaigns, s.found, s.alerts, s.false_alerts),
            (1, 1, 3, 1)
        );
        assert_eq!((s.floods, s.floods_found), (1, 1));
        assert_eq!(s.mean_delay_min, Some(5.0));
        assert_eq!(s.false_per_kilo_port_day(), 0.5);
        assert!((s.precision().unwrap() - 2.0 / 3.0).abs() < 1e-12);
    }

    #[test]
    fn nab_scoring_follows_the_standard_profile() {
        let p = NabProfile::STANDARD;
        let w = [(1000, 1009)];
        let n = 10_000;
        assert_eq!(nab_probation(n), 750);
        assert_eq!(nab_probation(1000), 150);
        // A detection on a window's first row scores exactly A_TP.
        assert!((nab_file_score(n, &w, &[1000], p) - 1.0).abs() < 1e-12);
        // Later ones in the same window do not count again.
        assert!((nab_file_score(n, &w, &[1000, 1005], p) - 1.0).abs() < 1e-12);
        // A late detection earns less.
        let late = nab_file_score(n, &w, &[1009], p);
        assert!(late > 0.2 && late < 0.3, "{late}");
        // Missing the window costs A_FN; an early false positive A_FP.
        assert_eq!(nab_file_score(n, &w, &[], p), -1.0);
        assert!((nab_file_score(n, &w, &[800], p) + 1.11).abs() < 1e-12);
        // Probation: ignored.
        assert_eq!(nab_file_score(n, &w, &[10], p), -1.0);
        // Just past a window a false positive costs almost nothing, far
        // past it the full A_FP.
        let near = nab_file_score(n, &w, &[1000, 1010], p);
        assert!(near < 1.0 && near > 0.96, "{near}");
        let far = nab_file_score(n, &w, &[1000, 5000], p);
        assert!((far - 0.89).abs() < 1e-12, "{far}");
        assert_eq!(nab_normalize(-3.0, 3, p), 0.0);
        assert_eq!(nab_normalize(3.0, 3, p), 100.0);
    }

    #[test]
    fn static_threshold_fires_once_per_episode() {
        let p = PortKey::new(Proto::Udp, 0);
        let sample = |sources| crate::MinuteSample {
            sources,
            packets: sources,
            ..Default::default()
        };
        let minutes: Vec<MinuteInput> = (0..200)
            .map(|i| MinuteInput {
                start: i * 60,
                sensor_up: true,
                samples: vec![(p, sample(if (100..110).contains(&i) { 50 } else { 1 }))],
            })
            .collect();
        let cfg = SimpleConfig {
            warmup_minutes: 10,
            ..SimpleConfig::default()
        };
        let d = run_simple(Simple::StaticThreshold, &cfg, &minutes);
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].opened, 6000);
        let d = run_simple(Simple::RollingSigma, &cfg, &minutes);
        assert_eq!(d.len(), 1);
    }
}
