//! Recent history: which minutes the sensor was up, and window sums of a
//! series against its baseline.

use std::collections::VecDeque;

use crate::baseline::{HISTORY_MINUTES, Rates, SeriesModel, WINDOWS, WindowSums};
use crate::stats::deviance_score;

/// The up-minutes of the last hour, shared by every port.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct UpMinutes {
    recent: VecDeque<i64>,
}

impl UpMinutes {
    pub(crate) fn push(&mut self, minute: i64) {
        self.recent.push_back(minute);
        while self
            .recent
            .front()
            .is_some_and(|&m| m <= minute - HISTORY_MINUTES * 60)
        {
            self.recent.pop_front();
        }
    }

    /// Up-minutes in the `w`-minute window ending with `minute`.
    pub(crate) fn count(&self, minute: i64, w: i64) -> f64 {
        self.recent
            .iter()
            .rev()
            .take_while(|&&m| m > minute - w * 60)
            .count() as f64
    }
}

/// One window's verdict on one series.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct WindowScore {
    pub sums: WindowSums,
    /// `expected` floored as the score used it.
    pub floored: f64,
    pub score: f64,
}

impl WindowScore {
    pub(crate) fn ratio(&self) -> f64 {
        self.sums.observed / self.floored
    }

    /// Excess per up-minute over the expected level.
    pub(crate) fn excess_rate(&self) -> f64 {
        if self.sums.up > 0.0 {
            (self.sums.observed - self.sums.expected) / self.sums.up
        } else {
            0.0
        }
    }
}

/// Scores every window of one series at `minute`. `values` yields
/// (minute, count) for the minutes with data, newest last.
pub(crate) fn score_windows<I>(
    model: &SeriesModel,
    up: &UpMinutes,
    minute: i64,
    values: I,
    rates: &Rates,
) -> [WindowScore; 4]
where
    I: DoubleEndedIterator<Item = (i64, f64)> + Clone,
{
    let mut out = [WindowScore::default(); 4];
    for (i, &w) in WINDOWS.iter().enumerate() {
        let observed: f64 = values
            .clone()
            .rev()
            .take_while(|&(m, _)| m > minute - w * 60)
            .map(|(_, v)| v)
            .sum();
        let n = up.count(minute, w);
        // The window's middle minute stands for its profile.
        let expected = model.expected(minute - (w - 1) * 30) * n;
        let floored = expected.max(rates.floor * n).max(f64::MIN_POSITIVE);
        out[i] = WindowScore {
            sums: WindowSums {
                observed,
                expected,
                up: n,
            },
            floored,
            score: deviance_score(observed, floored, model.dispersion(i, rates)),
        };
    }
    out
}
