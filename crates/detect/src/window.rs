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

    /// [`Self::count`] for each of the scoring [`WINDOWS`], the same for
    /// every port in a minute: worked out once per minute, not once per
    /// port and series.
    pub(crate) fn counts(&self, minute: i64) -> [f64; 4] {
        WINDOWS.map(|w| self.count(minute, w))
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
/// (minute, count) for the minutes with data, oldest first; `up` is
/// [`UpMinutes::counts`] at `minute`.
pub(crate) fn score_windows<I>(
    model: &SeriesModel,
    up: &[f64; 4],
    minute: i64,
    values: I,
    rates: &Rates,
) -> [WindowScore; 4]
where
    I: DoubleEndedIterator<Item = (i64, f64)>,
{
    // The windows nest (1 ⊂ 5 ⊂ 15 ⊂ 60 minutes), so one pass from the
    // newest minute back gives every window's sum; it adds in the order
    // a sum per window did, so the result is the same to the bit.
    let mut observed = [-0.0f64; 4];
    let mut sum = -0.0f64;
    let mut i = 0;
    for (m, v) in values.rev() {
        while i < WINDOWS.len() && m <= minute - WINDOWS[i] * 60 {
            observed[i] = sum;
            i += 1;
        }
        if i == WINDOWS.len() {
            break;
        }
        sum += v;
    }
    for o in &mut observed[i..] {
        *o = sum;
    }
    let mut out = [WindowScore::default(); 4];
    for (i, &w) in WINDOWS.iter().enumerate() {
        let n = up[i];
        // The window's middle minute stands for its profile.
        let expected = model.expected(minute - (w - 1) * 30) * n;
        let floored = expected.max(rates.floor * n).max(f64::MIN_POSITIVE);
        out[i] = WindowScore {
            sums: WindowSums {
                observed: observed[i],
                expected,
                up: n,
            },
            floored,
            score: deviance_score(observed[i], floored, model.dispersion(i, rates)),
        };
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The one-pass sums equal a sum per window over the minutes inside
        /// it, whatever minutes have data.
        #[test]
        fn one_pass_sums_equal_a_sum_per_window(
            present in proptest::collection::btree_map(0i64..90, 0u32..1000, 0..60)
        ) {
            let minute = 89 * 60;
            let values: Vec<(i64, f64)> =
                present.iter().map(|(&m, &v)| (m * 60, f64::from(v))).collect();
            let rates = Rates::new(&crate::DetectConfig::default());
            let model = SeriesModel::new(0, &rates);
            let scores = score_windows(&model, &[1.0; 4], minute, values.iter().copied(), &rates);
            for (i, &w) in WINDOWS.iter().enumerate() {
                let want: f64 = values
                    .iter()
                    .filter(|&&(m, _)| m > minute - w * 60)
                    .map(|&(_, v)| v)
                    .sum();
                prop_assert_eq!(scores[i].sums.observed.to_bits(), want.to_bits(), "window {}", w);
            }
        }
    }

    #[test]
    fn up_counts_cover_each_window() {
        let mut up = UpMinutes::default();
        for m in (0..=120).filter(|m| m % 2 == 0) {
            up.push(m * 60);
        }
        // Every other minute was up: 1 of the last 1, 3 of 5, 8 of 15, 30 of 60.
        assert_eq!(up.counts(120 * 60), [1.0, 3.0, 8.0, 30.0]);
    }
}
