//! When background packets happen.
//!
//! The background is a Poisson process whose rate follows the daily and
//! weekly rhythm, minute by minute, and is zero inside gaps. Arrivals are
//! drawn in "weighted time" (seconds times the rate multiplier), where
//! they are uniform, and mapped back to real time through the cumulative
//! weight. That yields packets already in time order, one at a time, with
//! no per-second bookkeeping; and with an exact packet count it is the same
//! draw conditioned on the total (sorted uniform order statistics).

use crate::config::SimConfig;
use crate::rng::Rng;

/// The stretches of the run with a constant rate multiplier: each lies in
/// one minute of the run and outside every gap.
#[derive(Debug, Clone)]
struct Segments<'a> {
    cfg: &'a SimConfig,
    start_abs: f64,
    duration: f64,
    gaps: &'a [(f64, f64)],
    gap_i: usize,
    pos: f64,
}

impl<'a> Segments<'a> {
    fn new(cfg: &'a SimConfig, gaps: &'a [(f64, f64)]) -> Self {
        Segments {
            cfg,
            start_abs: cfg.start.nanos() as f64 / 1e9,
            duration: cfg.duration_secs as f64,
            gaps,
            gap_i: 0,
            pos: 0.0,
        }
    }
}

impl Iterator for Segments<'_> {
    /// (start, end, rate multiplier), seconds from the start of the run.
    type Item = (f64, f64, f64);

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if self.pos >= self.duration {
                return None;
            }
            while self.gaps.get(self.gap_i).is_some_and(|g| g.1 <= self.pos) {
                self.gap_i += 1;
            }
            let next_gap = self.gaps.get(self.gap_i).copied();
            if let Some((g0, g1)) = next_gap
                && g0 <= self.pos
            {
                self.pos = g1;
                continue;
            }
            let minute = (self.pos / 60.0).floor() * 60.0;
            let mut end = (minute + 60.0).min(self.duration);
            if let Some((g0, _)) = next_gap {
                end = end.min(g0);
            }
            let weight = self.cfg.rhythm(self.start_abs + minute + 30.0);
            let seg = (self.pos, end, weight);
            self.pos = end;
            return Some(seg);
        }
    }
}

/// Gaps as sorted, merged (start, end) seconds.
pub(crate) fn merged_gaps(cfg: &SimConfig) -> Vec<(f64, f64)> {
    let mut g: Vec<(u64, u64)> = cfg
        .gaps
        .iter()
        .map(|g| (g.offset_secs, g.offset_secs + g.duration_secs))
        .collect();
    g.sort_unstable();
    let mut out: Vec<(u64, u64)> = Vec::with_capacity(g.len());
    for (a, b) in g {
        match out.last_mut() {
            Some(last) if a <= last.1 => last.1 = last.1.max(b),
            _ => out.push((a, b)),
        }
    }
    out.into_iter().map(|(a, b)| (a as f64, b as f64)).collect()
}

#[derive(Debug, Clone)]
enum Arrivals {
    /// A Poisson process of rate `pps` in weighted time.
    Rate { pps: f64, w: f64 },
    /// Exactly `left` more arrivals, uniform over weighted time: `u` is the
    /// last order statistic drawn, as a fraction of the total.
    Exact { left: u64, u: f64 },
}

/// The background's arrival times, in order, as nanoseconds from the start
/// of the run.
#[derive(Debug, Clone)]
pub(crate) struct Clock<'a> {
    segments: Segments<'a>,
    arrivals: Arrivals,
    total_weight: f64,
    /// The current segment and the cumulative weight at its start.
    seg: Option<(f64, f64, f64)>,
    cum: f64,
}

impl<'a> Clock<'a> {
    pub(crate) fn new(cfg: &'a SimConfig, gaps: &'a [(f64, f64)]) -> Self {
        let total_weight = Segments::new(cfg, gaps).map(|(a, b, w)| (b - a) * w).sum();
        let arrivals = match cfg.total_packets {
            Some(n) => Arrivals::Exact { left: n, u: 0.0 },
            None => Arrivals::Rate {
                pps: cfg.background_pps,
                w: 0.0,
            },
        };
        let mut segments = Segments::new(cfg, gaps);
        let seg = segments.next();
        Clock {
            segments,
            arrivals,
            total_weight,
            seg,
            cum: 0.0,
        }
    }

    /// The expected number of background packets.
    #[cfg(test)]
    pub(crate) fn expected(&self) -> f64 {
        match self.arrivals {
            Arrivals::Rate { pps, .. } => pps * self.total_weight,
            Arrivals::Exact { left, .. } => left as f64,
        }
    }

    pub(crate) fn next(&mut self, rng: &mut Rng) -> Option<i64> {
        let w = match &mut self.arrivals {
            Arrivals::Rate { pps, w } => {
                if *pps <= 0.0 {
                    return None;
                }
                *w += rng.exp1() / *pps;
                if *w >= self.total_weight {
                    return None;
                }
                *w
            }
            Arrivals::Exact { left, u } => {
                if *left == 0 {
                    return None;
                }
                // The next of `left` sorted uniforms on (u, 1).
                let shrink = (rng.open_unit().ln() / *left as f64).exp();
                *u = 1.0 - (1.0 - *u) * shrink;
                *left -= 1;
                *u * self.total_weight
            }
        };
        self.locate(w)
    }

    /// Real time (ns from the start) of weighted time `w`, walking forward.
    fn locate(&mut self, w: f64) -> Option<i64> {
        let exact = matches!(self.arrivals, Arrivals::Exact { .. });
        loop {
            let (a, b, rho) = self.seg?;
            if rho > 0.0 && self.cum + rho * (b - a) > w {
                let t = a + ((w - self.cum) / rho).max(0.0);
                return Some(to_ns_within(t, a, b));
            }
            match self.segments.next() {
                Some(next) => {
                    self.cum += rho * (b - a);
                    self.seg = Some(next);
                }
                // Rounding can leave the last exact arrival a hair past the
                // end; it still belongs to the last stretch.
                None if exact => return Some(to_ns_within(b, a, b)),
                None => return None,
            }
        }
    }
}

/// Nanoseconds of `t` seconds, kept inside [a, b): segment ends are whole
/// seconds, and the end of one may be the start of a gap.
pub(crate) fn to_ns_within(t: f64, a: f64, b: f64) -> i64 {
    let lo = (a * 1e9).ceil() as i64;
    let hi = (b * 1e9) as i64 - 1;
    ((t * 1e9) as i64).clamp(lo, hi.max(lo))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Gap;

    fn cfg() -> SimConfig {
        SimConfig {
            duration_secs: 600,
            daily_amplitude: 0.0,
            gaps: vec![
                Gap {
                    offset_secs: 100,
                    duration_secs: 50,
                },
                Gap {
                    offset_secs: 120,
                    duration_secs: 100,
                },
            ],
            ..SimConfig::default()
        }
    }

    #[test]
    fn segments_skip_merged_gaps_and_split_at_minutes() {
        let c = cfg();
        let gaps = merged_gaps(&c);
        assert_eq!(gaps, vec![(100.0, 220.0)]);
        let segs: Vec<(f64, f64)> = Segments::new(&c, &gaps).map(|(a, b, _)| (a, b)).collect();
        assert_eq!(segs[0], (0.0, 60.0));
        assert_eq!(segs[1], (60.0, 100.0));
        assert_eq!(segs[2], (220.0, 240.0));
        assert_eq!(segs.last(), Some(&(540.0, 600.0)));
    }

    #[test]
    fn exact_count_is_exact_sorted_and_avoids_gaps() {
        let mut c = cfg();
        c.total_packets = Some(10_000);
        let gaps = merged_gaps(&c);
        let mut clock = Clock::new(&c, &gaps);
        let mut rng = Rng::new(5, 5);
        let times: Vec<i64> = std::iter::from_fn(|| clock.next(&mut rng)).collect();
        assert_eq!(times.len(), 10_000);
        assert!(times.windows(2).all(|w| w[0] <= w[1]));
        assert!(
            times
                .iter()
                .all(|&t| !(100_000_000_000..220_000_000_000).contains(&t))
        );
        assert!(times.iter().all(|&t| (0..600_000_000_000).contains(&t)));
    }

    #[test]
    fn rate_mode_matches_the_mean() {
        let mut c = cfg();
        c.background_pps = 50.0;
        let gaps = merged_gaps(&c);
        let mut clock = Clock::new(&c, &gaps);
        let want = clock.expected();
        assert!((want - 50.0 * 480.0).abs() < 1e-6);
        let mut rng = Rng::new(6, 6);
        let n = std::iter::from_fn(|| clock.next(&mut rng)).count() as f64;
        assert!((n - want).abs() < 5.0 * want.sqrt(), "{n} vs {want}");
    }
}
