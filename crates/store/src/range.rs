//! Cutting a time range into stored buckets.
//!
//! The store keeps every series at four widths (1m, 5m, 1h, 1d), each bucket
//! the exact roll-up of its minutes. A range of whole minutes is answered
//! from the coarsest buckets that fit inside it: minutes up to the first
//! 5-minute boundary, 5-minute buckets up to the first hour, hours up to the
//! first day, whole days in the middle, and the same in reverse at the end.
//! The pieces tile the range exactly, so merging them equals merging every
//! minute in it, while a two-day report reads two day buckets per port
//! instead of 2,880 minutes.

use portwatch_core::BucketWidth;

/// The buckets of `width` whose start lies in `[from, to)` (Unix seconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Tile {
    pub width: BucketWidth,
    pub from: i64,
    pub to: i64,
}

pub(crate) fn floor_to(t: i64, w: i64) -> i64 {
    t.div_euclid(w) * w
}

pub(crate) fn ceil_to(t: i64, w: i64) -> i64 {
    -floor_to(-t, w)
}

/// Tiles `[from, to)`; both bounds must be whole minutes.
pub(crate) fn tiles(from: i64, to: i64) -> Vec<Tile> {
    let mut out = Vec::new();
    let (mut lo, mut hi) = (from, to);
    let mut push = |width, from, to| {
        if from < to {
            out.push(Tile { width, from, to })
        }
    };
    for pair in BucketWidth::ALL.windows(2) {
        let (width, coarser) = (pair[0], pair[1].secs());
        let (a, b) = (ceil_to(lo, coarser), floor_to(hi, coarser));
        if a >= b {
            // No whole coarser bucket inside: finish at this width.
            push(width, lo, hi);
            return out;
        }
        push(width, lo, a);
        push(width, b, hi);
        (lo, hi) = (a, b);
    }
    push(BucketWidth::Day, lo, hi);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const H: i64 = 3600;
    const D: i64 = 86_400;

    #[test]
    fn aligned_days_are_days() {
        assert_eq!(
            tiles(D, 3 * D),
            vec![Tile {
                width: BucketWidth::Day,
                from: D,
                to: 3 * D
            }]
        );
    }

    #[test]
    fn ragged_edges_use_finer_widths() {
        let w = |width, from, to| Tile { width, from, to };
        assert_eq!(
            tiles(D - H - 360, 2 * D + H + 60),
            vec![
                w(BucketWidth::Minute, D - H - 360, D - H - 300),
                w(BucketWidth::Minute, 2 * D + H, 2 * D + H + 60),
                w(BucketWidth::FiveMinutes, D - H - 300, D - H),
                w(BucketWidth::Hour, D - H, D),
                w(BucketWidth::Hour, 2 * D, 2 * D + H),
                w(BucketWidth::Day, D, 2 * D),
            ]
        );
    }

    #[test]
    fn short_ranges_stay_fine() {
        assert_eq!(
            tiles(120, 240),
            vec![Tile {
                width: BucketWidth::Minute,
                from: 120,
                to: 240
            }]
        );
        assert_eq!(tiles(300, 300), vec![]);
    }

    proptest! {
        /// Every minute of the range lies in exactly one tile's bucket, each
        /// tile bucket is aligned to its width and lies inside the range.
        #[test]
        fn tiles_cover_exactly(a in -3000i64..3000, len in 0i64..4000) {
            let (from, to) = (a * 60, (a + len) * 60);
            let t = tiles(from, to);
            let mut covered = vec![0u8; len as usize];
            for tile in &t {
                let w = tile.width.secs();
                prop_assert_eq!(tile.from.rem_euclid(w), 0);
                prop_assert_eq!(tile.to.rem_euclid(w), 0);
                prop_assert!(from <= tile.from && tile.to <= to);
                for m in (tile.from..tile.to).step_by(60) {
                    covered[((m - from) / 60) as usize] += 1;
                }
            }
            prop_assert!(covered.iter().all(|&c| c == 1));
            prop_assert!(t.len() <= 7);
        }
    }
}
