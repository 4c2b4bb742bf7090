//! An open alert's lifecycle, rising → peak → tapering → closed, and the
//! evidence it gathers while open.

use std::collections::{BTreeMap, VecDeque};
use std::net::IpAddr;

use portwatch_core::PortKey;
use portwatch_sketch::{DistinctCounter, hash_ip};

use crate::DetectConfig;
use crate::alert::{
    ALERT_SCHEMA, Alert, AlertId, AlertUpdate, Baseline, Change, Kind, Moved, Peak, Score, State,
    TopSource, Totals, Transition,
};
use crate::baseline::{Rates, SeriesModel, WINDOWS};
use crate::finding::{Finding, Rec};
use crate::window::{UpMinutes, WindowScore};

/// Minutes without a new high before a rising alert is at its peak.
const PEAK_HOLD_MINUTES: i64 = 15;
/// Below this share of the peak excess an alert is tapering.
const TAPER_SHARE: f64 = 0.5;
/// A new high this much above the old one makes a peaked alert rise again.
const RISE_AGAIN: f64 = 1.2;
/// Top sources kept per alert while it is open, and published.
const TOP_KEEP: usize = 4096;
const TOP_PUBLISH: usize = 10;
/// Onset: the earliest minute this many standard deviations above normal.
const ONSET_SIGMAS: f64 = 2.0;

/// One port's facts at one minute, as the lifecycle needs them.
#[derive(Debug)]
pub(crate) struct View<'a> {
    pub key: PortKey,
    pub minute: i64,
    pub sources: &'a [WindowScore; 4],
    pub packets: &'a [WindowScore; 4],
    pub recent: &'a VecDeque<Rec>,
    pub source_model: &'a SeriesModel,
    pub packet_model: &'a SeriesModel,
    pub rates: &'a Rates,
    pub up: &'a UpMinutes,
}

impl View<'_> {
    fn now(&self) -> Option<&Rec> {
        self.recent.back().filter(|r| r.minute == self.minute)
    }

    fn basis(&self, kind: Kind) -> &[WindowScore; 4] {
        if kind.is_campaign() {
            self.sources
        } else {
            self.packets
        }
    }
}

fn basis_count(kind: Kind, r: &Rec) -> u64 {
    if kind.is_campaign() {
        r.sources
    } else {
        r.packets
    }
}

/// What an open alert tracks beyond its published fields.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct OpenAlert {
    pub opened: i64,
    peak_excess: f64,
    peak_excess_at: i64,
    quiet_run: u32,
    /// Last minute whose 5-minute window was still above the close score:
    /// the longer windows stay high for up to an hour after a campaign
    /// ends, so they hold the alert open but do not date its end.
    last_busy: i64,
    last_minute: i64,
    top: BTreeMap<IpAddr, u64>,
    distinct: DistinctCounter,
}

impl OpenAlert {
    fn new(view: &View<'_>, kind: Kind) -> Self {
        OpenAlert {
            opened: view.minute,
            peak_excess: view.basis(kind)[1].excess_rate(),
            peak_excess_at: view.minute,
            quiet_run: 0,
            last_busy: view.minute,
            last_minute: view.minute,
            top: BTreeMap::new(),
            distinct: DistinctCounter::new(),
        }
    }

    /// Opens a new alert on `f`.
    pub(crate) fn open(view: &View<'_>, f: &Finding) -> (OpenAlert, Alert) {
        let onset = onset(view, f);
        let mut open = OpenAlert::new(view, f.kind);
        let mut alert = Alert {
            schema: ALERT_SCHEMA.to_string(),
            id: AlertId::new(view.key, onset),
            proto: view.key.proto,
            port: view.key.port,
            kind: f.kind,
            moved: f.moved,
            state: State::Rising,
            transitions: vec![Transition {
                state: State::Rising,
                at: onset,
                decided: view.minute,
                reopened: false,
            }],
            onset,
            opened: view.minute,
            last_active: view.minute,
            closed: None,
            peak: Peak {
                at: onset,
                sources: 0,
                packets: 0,
                targets: 0,
            },
            baseline_at_onset: Baseline {
                sources_per_min: view.source_model.expected(onset),
                packets_per_min: view.packet_model.expected(onset),
            },
            score: Score {
                at_open: f.score,
                max: f.score,
                ratio_at_open: f.ratio,
                window_minutes: WINDOWS[f.window] as u32,
            },
            during: Totals::default(),
            top_sources: Vec::new(),
            summary: String::new(),
        };
        for r in view.recent.iter().filter(|r| r.minute >= onset) {
            open.fold(&mut alert, r);
        }
        alert.during.minutes = view.up.count(view.minute, (view.minute - onset) / 60 + 1) as u64;
        open.publish(&mut alert);
        (open, alert)
    }

    /// Re-opens a closed alert on the same port: a campaign resumed.
    pub(crate) fn reopen(
        alert: &mut Alert,
        view: &View<'_>,
        f: &Finding,
    ) -> (OpenAlert, AlertUpdate) {
        let mut open = OpenAlert::new(view, f.kind);
        for t in &alert.top_sources {
            open.top.insert(t.addr, t.packets);
            open.distinct.insert_hash(hash_ip(t.addr));
        }
        if alert.kind == Kind::SingleSource && f.kind.is_campaign() {
            alert.kind = f.kind;
        }
        alert.moved = merge_moved(alert.moved, f.moved);
        alert.state = State::Rising;
        alert.closed = None;
        alert.transitions.push(Transition {
            state: State::Rising,
            at: view.minute,
            decided: view.minute,
            reopened: true,
        });
        alert.score.max = alert.score.max.max(f.score);
        if let Some(r) = view.now() {
            open.fold(alert, r);
        }
        alert.during.minutes += 1;
        alert.last_active = view.minute;
        open.publish(alert);
        let update = AlertUpdate {
            change: Change::Reopened,
            alert: alert.clone(),
        };
        (open, update)
    }

    fn fold(&mut self, alert: &mut Alert, r: &Rec) {
        let d = &mut alert.during;
        d.packets += r.packets;
        d.source_minutes += r.sources;
        d.targets_peak_per_min = d.targets_peak_per_min.max(r.targets);
        let peak = if alert.kind.is_campaign() {
            alert.peak.sources
        } else {
            alert.peak.packets
        };
        if basis_count(alert.kind, r) > peak {
            alert.peak = Peak {
                at: r.minute,
                sources: r.sources,
                packets: r.packets,
                targets: r.targets,
            };
        }
        for &(addr, n) in r.top.iter() {
            *self.top.entry(addr).or_insert(0) += n;
            self.distinct.insert_hash(hash_ip(addr));
        }
        if self.top.len() > TOP_KEEP {
            let keep: Vec<(IpAddr, u64)> =
                ranked(&self.top).into_iter().take(TOP_KEEP / 2).collect();
            self.top = keep.into_iter().collect();
        }
    }

    fn publish(&self, alert: &mut Alert) {
        alert.top_sources = ranked(&self.top)
            .into_iter()
            .take(TOP_PUBLISH)
            .map(|(addr, packets)| TopSource { addr, packets })
            .collect();
        alert.during.sources_at_least = alert
            .during
            .sources_at_least
            .max(self.distinct.estimate())
            .max(alert.peak.sources);
        alert.summarize();
    }

    /// Advances an open alert by one up-minute. Returns true when it closed.
    pub(crate) fn minute(
        &mut self,
        alert: &mut Alert,
        view: &View<'_>,
        finding: Option<&Finding>,
        cfg: &DetectConfig,
        updates: &mut Vec<AlertUpdate>,
    ) -> bool {
        let t = view.minute;
        let mut changes = Vec::new();
        alert.during.gap_minutes += ((t - self.last_minute) / 60 - 1).max(0) as u64;
        alert.during.minutes += 1;
        self.last_minute = t;
        if let Some(r) = view.now() {
            self.fold(alert, r);
        }
        if let Some(f) = finding {
            if alert.kind == Kind::SingleSource && f.kind.is_campaign() {
                alert.kind = f.kind;
                changes.push(Change::Kind(f.kind));
            }
            if alert.kind.is_campaign() == f.kind.is_campaign() {
                alert.moved = merge_moved(alert.moved, f.moved);
            }
        }
        let basis = view.basis(alert.kind);
        let score = basis[1..].iter().map(|w| w.score).fold(f64::MIN, f64::max);
        alert.score.max = alert.score.max.max(score);

        let excess = basis[1].excess_rate();
        if excess > self.peak_excess {
            let again = excess > self.peak_excess * RISE_AGAIN;
            self.peak_excess = excess;
            self.peak_excess_at = t;
            if again && alert.state != State::Rising {
                push(alert, &mut changes, State::Rising, t, t);
            }
        }
        if alert.state == State::Rising && t - self.peak_excess_at >= PEAK_HOLD_MINUTES * 60 {
            push(alert, &mut changes, State::Peak, self.peak_excess_at, t);
        }
        if excess < TAPER_SHARE * self.peak_excess {
            if alert.state == State::Rising {
                push(alert, &mut changes, State::Peak, self.peak_excess_at, t);
            }
            if alert.state == State::Peak {
                push(alert, &mut changes, State::Tapering, t, t);
            }
        }

        if basis[1].score >= cfg.close_score {
            self.last_busy = t;
            alert.last_active = t;
        }
        let mut closed = false;
        if score >= cfg.close_score {
            self.quiet_run = 0;
        } else {
            self.quiet_run += 1;
            if self.quiet_run >= cfg.close_after_minutes {
                let back = self.last_busy + 60;
                push(alert, &mut changes, State::Closed, back, t);
                alert.closed = alert.transitions.last().map(|c| c.at);
                closed = true;
            }
        }
        self.publish(alert);
        for change in changes {
            updates.push(AlertUpdate {
                change,
                alert: alert.clone(),
            });
        }
        closed
    }
}

fn push(alert: &mut Alert, changes: &mut Vec<Change>, state: State, at: i64, decided: i64) {
    // A transition never starts before the one it follows.
    let at = alert.transitions.last().map_or(at, |p| at.max(p.at));
    alert.state = state;
    alert.transitions.push(Transition {
        state,
        at,
        decided,
        reopened: false,
    });
    changes.push(Change::State(state));
}

fn merge_moved(a: Moved, b: Moved) -> Moved {
    if a == b { a } else { Moved::Both }
}

/// By packets descending, then address ascending.
fn ranked(top: &BTreeMap<IpAddr, u64>) -> Vec<(IpAddr, u64)> {
    let mut v: Vec<(IpAddr, u64)> = top.iter().map(|(a, n)| (*a, *n)).collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    v
}

/// The earliest minute of the deciding window that was clearly above
/// normal: when the rise began, as far as the window can tell.
fn onset(view: &View<'_>, f: &Finding) -> i64 {
    let model = if f.kind.is_campaign() {
        view.source_model
    } else {
        view.packet_model
    };
    let from = view.minute - WINDOWS[f.window] * 60;
    let d = model.dispersion(0, view.rates);
    view.recent
        .iter()
        .filter(|r| r.minute > from)
        .find(|r| {
            let pred = model.expected(r.minute);
            let sigma = (d * pred.max(view.rates.floor)).sqrt();
            basis_count(f.kind, r) as f64 > (pred + ONSET_SIGMAS * sigma).max(pred + 1.0)
        })
        .map_or(view.minute, |r| r.minute)
}
