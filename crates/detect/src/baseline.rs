//! A port's normal, for one series (sources or packets per minute).
//!
//! Every port keeps a level (an exponentially weighted mean per up-minute)
//! and a dispersion per scoring window. Busy ports also learn a daily
//! profile (24 hour-of-day slots, interpolated between slot centres) and a
//! weekly one (7 day slots, as factors on the daily profile). What a port
//! learns from is clipped near its own prediction, so a campaign cannot
//! teach the baseline that a campaign is normal; while an alert is open the
//! detector does not let it learn at all.

use crate::stats::{ewma_rate, step_weight};

/// Scoring windows in minutes; index 0 is the one-minute "window" used only
/// to clip what the baseline learns.
pub(crate) const WINDOWS: [i64; 4] = [1, 5, 15, 60];
/// The longest window: how much recent history a port keeps.
pub(crate) const HISTORY_MINUTES: i64 = 60;

/// A daily slot predicts once it has seen half an hour of data.
const DAILY_MIN_SAMPLES: u32 = 30;
/// A weekly slot predicts once it has seen half a day.
const WEEKLY_MIN_SAMPLES: u32 = 720;
/// Learning clips an observation at `prediction + CLIP_SIGMAS * sigma + 1`.
const CLIP_SIGMAS: f64 = 3.0;

/// Learning rates derived from the configuration, per up-minute.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Rates {
    pub level: f64,
    pub daily: f64,
    pub weekly: f64,
    pub floor: f64,
    pub min_dispersion: f64,
}

impl Rates {
    pub(crate) fn new(cfg: &crate::DetectConfig) -> Self {
        Rates {
            level: ewma_rate(cfg.level_half_life_hours * 60.0),
            // Each hour slot sees 60 minutes a day.
            daily: ewma_rate(cfg.daily_half_life_days * 60.0),
            weekly: ewma_rate(cfg.weekly_half_life_weeks * 1440.0),
            floor: cfg.floor_rate,
            min_dispersion: cfg.min_dispersion,
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Dispersion {
    /// Weighted mean of clipped squared residuals of the window sum.
    sq: f64,
    /// Weighted mean of the window's expected sum.
    mean: f64,
    n: u32,
}

#[derive(Debug, Clone, PartialEq)]
struct Seasonal {
    daily: [f64; 24],
    daily_n: [u32; 24],
    weekly: [f64; 7],
    weekly_n: [u32; 7],
}

/// The learned normal of one series of one port.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SeriesModel {
    level: f64,
    /// Up-minutes this level has averaged over, including the silent ones
    /// before the port was first seen.
    seen: u64,
    disp: [Dispersion; 4],
    seasonal: Option<Box<Seasonal>>,
}

/// What one window saw and expected, for learning the dispersion.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct WindowSums {
    pub observed: f64,
    pub expected: f64,
    /// Up-minutes in the window (gaps are neither observed nor expected).
    pub up: f64,
}

impl SeriesModel {
    /// A series first seen after `silent_minutes` up-minutes of silence:
    /// its level starts at zero with that much weight behind it.
    pub(crate) fn new(silent_minutes: u64, rates: &Rates) -> Self {
        let mut m = SeriesModel {
            level: 0.0,
            seen: 0,
            disp: [Dispersion::default(); 4],
            seasonal: None,
        };
        // The silent history is evidence too: without it the first
        // campaign minute a port ever sees would set its dispersion.
        m.skip_silent(silent_minutes, rates);
        m
    }

    pub(crate) fn level(&self) -> f64 {
        self.level
    }

    /// A value read from the model and its seasonal profile, for
    /// [`crate::Detector`]'s read-ahead; it means nothing.
    pub(crate) fn warm(&self) -> u64 {
        self.level.to_bits() ^ self.seasonal.as_ref().map_or(0, |s| s.daily[0].to_bits())
    }

    pub(crate) fn is_seasonal(&self) -> bool {
        self.seasonal.is_some()
    }

    pub(crate) fn make_seasonal(&mut self) {
        if self.seasonal.is_none() {
            self.seasonal = Some(Box::new(Seasonal {
                daily: [0.0; 24],
                daily_n: [0; 24],
                weekly: [1.0; 7],
                weekly_n: [0; 7],
            }));
        }
    }

    /// Expected count in the up-minute starting at `minute` (Unix seconds).
    pub(crate) fn expected(&self, minute: i64) -> f64 {
        match &self.seasonal {
            None => self.level,
            Some(s) => self.daily_pred(s, minute) * weekly_factor(s, minute),
        }
    }

    fn daily_pred(&self, s: &Seasonal, minute: i64) -> f64 {
        let (h0, h1, f) = interp(hour_of_day(minute), 24);
        let v = |h: usize| {
            if s.daily_n[h] >= DAILY_MIN_SAMPLES {
                s.daily[h]
            } else {
                self.level
            }
        };
        (1.0 - f) * v(h0) + f * v(h1)
    }

    /// Variance / mean of window `w`'s sum (index into [`WINDOWS`]).
    pub(crate) fn dispersion(&self, w: usize, rates: &Rates) -> f64 {
        let d = &self.disp[w];
        let raw = if d.n > 0 && d.mean > 0.0 {
            d.sq / d.mean
        } else {
            1.0
        };
        raw.max(rates.min_dispersion)
    }

    /// Catches up on `k` skipped up-minutes in which the port saw nothing.
    /// Only ever called for ports without a profile and without recent
    /// data, whose every window was empty all along: each of those minutes
    /// is a zero for the level and a residual of minus the expected sum
    /// for each window. Leaving them out would estimate the dispersion only
    /// from the hour after each stray packet, and grossly overstate it.
    pub(crate) fn skip_silent(&mut self, k: u64, rates: &Rates) {
        if k == 0 {
            return;
        }
        let level = self.level;
        self.level *= keep(self.seen, k, rates.level);
        self.seen += k;
        for (d, &w) in self.disp.iter_mut().zip(WINDOWS.iter()) {
            let expected = (level * w as f64).max(rates.floor * w as f64);
            let f = keep(u64::from(d.n), k, rates.level);
            d.sq = expected * expected + (d.sq - expected * expected) * f;
            d.mean = expected + (d.mean - expected) * f;
            d.n = d.n.saturating_add(k.min(u64::from(u32::MAX)) as u32);
        }
    }

    /// Learns from the up-minute `minute` that saw `x`. `clip` keeps an
    /// outlier from moving the baseline more than a plausible value would.
    pub(crate) fn learn(
        &mut self,
        minute: i64,
        x: f64,
        windows: &[WindowSums; 4],
        clip: bool,
        rates: &Rates,
    ) {
        let pred = self.expected(minute);
        let x = if clip {
            let sigma = (self.dispersion(0, rates) * pred.max(rates.floor)).sqrt();
            x.min(pred + CLIP_SIGMAS * sigma + 1.0)
        } else {
            x
        };
        for (i, w) in windows.iter().enumerate() {
            self.learn_dispersion(i, w, clip, rates);
        }
        let a = step_weight(self.seen, rates.level);
        self.level += a * (x - self.level);
        self.seen += 1;
        let level = self.level;
        if let Some(s) = self.seasonal.as_deref_mut() {
            learn_seasonal(s, level, minute, x, rates);
        }
    }

    fn learn_dispersion(&mut self, i: usize, w: &WindowSums, clip: bool, rates: &Rates) {
        if w.up <= 0.0 {
            return;
        }
        let expected = w.expected.max(rates.floor * w.up);
        let d_prev = self.dispersion(i, rates);
        let mut r = w.observed - expected;
        if clip {
            let bound = CLIP_SIGMAS * (d_prev * expected).sqrt() + 1.0;
            r = r.clamp(-bound, bound);
        }
        let d = &mut self.disp[i];
        let a = step_weight(u64::from(d.n), rates.level);
        d.sq += a * (r * r - d.sq);
        d.mean += a * (expected - d.mean);
        d.n = d.n.saturating_add(1);
    }
}

/// How much of a running mean's distance to a constant input remains after
/// `k` more steps, starting at step `n` (weights as in [`step_weight`]).
fn keep(n: u64, k: u64, rate: f64) -> f64 {
    // 1/(n+1) while young: the distance shrinks by n/(n+1) a step, so by
    // n/(n+k) over k steps; then by (1 - rate) a step.
    let young_until = (1.0 / rate).ceil() as u64;
    let young_end = (n + k).min(young_until.max(n));
    let mut f = 1.0;
    if young_end > n {
        f = n as f64 / young_end as f64;
    }
    f * (1.0 - rate).powf((n + k - young_end) as f64)
}

fn learn_seasonal(s: &mut Seasonal, level: f64, minute: i64, x: f64, rates: &Rates) {
    let h = hour_of_day(minute) as usize % 24;
    let w = weekly_factor(s, minute);
    let a = step_weight(u64::from(s.daily_n[h]), rates.daily);
    s.daily[h] += a * (x / w - s.daily[h]);
    s.daily_n[h] = s.daily_n[h].saturating_add(1);

    let (h0, h1, f) = interp(hour_of_day(minute), 24);
    if s.daily_n[h0] >= DAILY_MIN_SAMPLES && s.daily_n[h1] >= DAILY_MIN_SAMPLES {
        let daily = (1.0 - f) * s.daily[h0] + f * s.daily[h1];
        if daily > 0.0 && level > 0.0 {
            let d = day_of_week(minute) as usize % 7;
            let a = step_weight(u64::from(s.weekly_n[d]), rates.weekly);
            let ratio = (x / daily).min(10.0);
            s.weekly[d] += a * (ratio - s.weekly[d]);
            s.weekly_n[d] = s.weekly_n[d].saturating_add(1);
        }
    }
    // Daily and weekly factors trade scale freely; pin the weekly mean to 1
    // once every day has been learned.
    if minute.rem_euclid(86_400) == 0 && s.weekly_n.iter().all(|&n| n >= WEEKLY_MIN_SAMPLES) {
        let mean = s.weekly.iter().sum::<f64>() / 7.0;
        if mean > 0.0 {
            s.weekly.iter_mut().for_each(|v| *v /= mean);
            s.daily.iter_mut().for_each(|v| *v *= mean);
        }
    }
}

fn weekly_factor(s: &Seasonal, minute: i64) -> f64 {
    let (d0, d1, f) = interp(day_of_week(minute), 7);
    let v = |d: usize| {
        if s.weekly_n[d] >= WEEKLY_MIN_SAMPLES {
            s.weekly[d]
        } else {
            1.0
        }
    };
    (1.0 - f) * v(d0) + f * v(d1)
}

/// Fractional UTC hour of day, 0 ≤ h < 24.
fn hour_of_day(minute: i64) -> f64 {
    minute.rem_euclid(86_400) as f64 / 3600.0
}

/// Fractional day of week, 0.0 = Monday 00:00 UTC.
fn day_of_week(minute: i64) -> f64 {
    // 1970-01-01 was a Thursday: three days after a Monday.
    (minute + 3 * 86_400).rem_euclid(7 * 86_400) as f64 / 86_400.0
}

/// The two slots whose centres (at `i + 0.5`) surround `pos`, and the
/// weight of the second, on a cycle of `n` slots.
fn interp(pos: f64, n: usize) -> (usize, usize, f64) {
    let p = pos - 0.5;
    let base = p.floor();
    let f = p - base;
    let i0 = (base as i64).rem_euclid(n as i64) as usize;
    (i0, (i0 + 1) % n, f)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::DetectConfig;

    fn rates() -> Rates {
        Rates::new(&DetectConfig::default())
    }

    #[test]
    fn calendar() {
        // 2026-01-05T00:00:00Z is a Monday.
        assert_eq!(day_of_week(1_767_571_200), 0.0);
        assert_eq!(hour_of_day(1_767_571_200 + 90 * 60), 1.5);
        assert_eq!(interp(0.0, 24), (23, 0, 0.5));
        assert_eq!(interp(12.5, 24), (12, 13, 0.0));
    }

    #[test]
    fn level_learns_and_outliers_are_clipped() {
        let r = rates();
        let mut m = SeriesModel::new(0, &r);
        let w = [WindowSums::default(); 4];
        for i in 0..7000 {
            m.learn(i * 60, 10.0, &w, false, &r);
        }
        assert!((m.level() - 10.0).abs() < 1e-9);
        for i in 7000..7060 {
            m.learn(i * 60, 10_000.0, &w, true, &r);
        }
        // An hour of a thousandfold flood moves a 3-day level by little.
        assert!(m.level() < 10.5, "{}", m.level());
    }

    #[test]
    fn silent_minutes_weigh_in() {
        let r = rates();
        let mut m = SeriesModel::new(1000, &r);
        m.learn(0, 1.0, &[WindowSums::default(); 4], true, &r);
        assert!(m.level() < 0.01);
        let before = m.level();
        m.skip_silent(1440 * 3, &r);
        assert!(m.level() < before * 0.6 && m.level() > 0.0);
    }

    #[test]
    fn daily_profile_is_learned() {
        let r = rates();
        let mut m = SeriesModel::new(0, &r);
        m.make_seasonal();
        let w = [WindowSums::default(); 4];
        let shape =
            |t: i64| 20.0 * (1.0 + 0.8 * (hour_of_day(t) / 24.0 * std::f64::consts::TAU).cos());
        for i in 0..(3 * 1440) {
            m.learn(i * 60, shape(i * 60), &w, i > 1440, &r);
        }
        for h in [0, 6, 12, 18] {
            let t = 3 * 86_400 + h * 3600 + 1800;
            let (e, want) = (m.expected(t), shape(t));
            assert!(
                (e - want).abs() < 0.1 * want + 0.5,
                "hour {h}: {e} vs {want}"
            );
        }
    }

    #[test]
    fn dispersion_follows_the_residuals() {
        let r = rates();
        let mut m = SeriesModel::new(0, &r);
        for i in 0..5000 {
            // Window sums alternating 50 and 150 around an expected 100:
            // variance 2500, dispersion 25.
            let obs = if i % 2 == 0 { 50.0 } else { 150.0 };
            let w = WindowSums {
                observed: obs,
                expected: 100.0,
                up: 5.0,
            };
            m.learn(i * 60, 20.0, &[w; 4], true, &r);
        }
        let d = m.dispersion(1, &r);
        assert!((d - 25.0).abs() < 1.0, "{d}");
    }
}
