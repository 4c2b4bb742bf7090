//! The time axis: ticks on round UTC instants, labelled with the date where
//! a day begins so a reader never has to guess which day a spike was on.

use crate::time;

/// Tick spacings a reader finds natural, in seconds.
const STEPS: [i64; 14] = [
    60,
    5 * 60,
    10 * 60,
    15 * 60,
    30 * 60,
    3600,
    2 * 3600,
    3 * 3600,
    6 * 3600,
    12 * 3600,
    86_400,
    2 * 86_400,
    7 * 86_400,
    30 * 86_400,
];

/// Round instants within `[from, to]`: the finest natural spacing giving
/// at most `max` ticks (at least two ticks are asked for).
pub(crate) fn ticks(from: i64, to: i64, max: usize) -> Vec<i64> {
    let max = max.max(2) as i64;
    let span = (to - from).max(1);
    let step = STEPS
        .iter()
        .copied()
        .find(|s| span / s < max)
        .unwrap_or_else(|| span / max + 1);
    let first = from.div_euclid(step) * step + if from.rem_euclid(step) == 0 { 0 } else { step };
    // A label is centred on its tick: one at the very right edge would be
    // cut off, so the last 5% of the span gets none.
    let last = to - span / 20;
    (0..)
        .map(|i| first + i * step)
        .take_while(|&t| t <= last)
        .collect()
}

/// `2007-08-22 14:00` on the first tick and at midnights (or always, for
/// day-wide spacing), `15:00` elsewhere.
pub(crate) fn label(t: i64, first_tick: i64, step_hint: i64) -> String {
    if step_hint >= 86_400 {
        time::date(t)
    } else if t == first_tick || t.rem_euclid(86_400) == 0 {
        format!("{} {}", time::date(t), time::hour_minute(t))
    } else {
        time::hour_minute(t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round_and_few() {
        let day = 1_187_740_800; // 2007-08-22 00:00 UTC
        let t = ticks(day + 600, day + 86_400, 8);
        assert!(t.len() <= 8 && t.len() >= 4, "{t:?}");
        assert!(t.iter().all(|x| x % 3600 == 0));
        assert_eq!(label(t[0], t[0], 3 * 3600), "2007-08-22 03:00");
        assert_eq!(label(t[1], t[0], 3 * 3600), "06:00");
        assert_eq!(label(day + 86_400, t[0], 3600), "2007-08-23 00:00");
        assert_eq!(label(day, day, 86_400), "2007-08-22");
        let m = ticks(day, day + 1800, 8);
        assert!(m.iter().all(|x| x % 300 == 0), "{m:?}");
    }
}
