//! The year an RFC 3164 stamp leaves out, followed along one file.

use portwatch_core::Timestamp;

use crate::header::Civil;

/// How far a line may lie after the reference instant (the file's mtime)
/// before it is taken for last year's: a day covers a logging host whose
/// zone differs from the configured offset.
const FUTURE_SLACK_SECS: i64 = 86_400;

/// Months going back by at least this much mean the year advanced
/// (December → January); less is a line logged out of order.
const ROLLOVER_MONTHS: u32 = 6;

#[derive(Debug, Clone)]
pub(crate) struct YearTracker {
    first_year: Option<i32>,
    reference: Timestamp,
    utc_offset_secs: i64,
    /// The year of the lines so far and the latest month seen in it.
    current: Option<(i32, u32)>,
}

impl YearTracker {
    pub fn new(first_year: Option<i32>, reference: Timestamp, utc_offset_secs: i64) -> Self {
        YearTracker {
            first_year,
            reference,
            utc_offset_secs,
            current: None,
        }
    }

    /// The year of a line stamped in `month`, given every line before it.
    pub fn observe(&mut self, stamp: Civil) -> i32 {
        let Some((year, latest)) = self.current else {
            let year = self.first_line_year(stamp);
            self.current = Some((year, stamp.month));
            return year;
        };
        if stamp.month + ROLLOVER_MONTHS <= latest {
            let next = year.saturating_add(1);
            self.current = Some((next, stamp.month));
            next
        } else if stamp.month >= latest + ROLLOVER_MONTHS {
            // January, then a straggler from last December: that line only.
            year.saturating_sub(1)
        } else {
            self.current = Some((year, latest.max(stamp.month)));
            year
        }
    }

    /// `--year` if given; else the reference's year, or the one before when
    /// that would put the line in the future of the reference.
    fn first_line_year(&self, stamp: Civil) -> i32 {
        if let Some(year) = self.first_year {
            return year;
        }
        let (ref_year, ..) = self.reference.to_civil();
        let latest_plausible = self.reference.secs().saturating_add(FUTURE_SLACK_SECS);
        let year = match stamp.with_year(ref_year).to_utc(self.utc_offset_secs) {
            Some(t) if t.secs() > latest_plausible => ref_year.saturating_sub(1),
            _ => ref_year,
        };
        // Feb 29 names a leap year: the latest one not after the guess.
        (year.saturating_sub(7)..=year)
            .rev()
            .find(|&y| stamp.with_year(y).to_utc(0).is_some())
            .unwrap_or(year)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn md(month: u32, day: u32) -> Civil {
        Civil {
            year: 0,
            month,
            day,
            hour: 12,
            minute: 0,
            second: 0,
            nanos: 0,
        }
    }

    fn at(y: i32, mo: u32, d: u32) -> Timestamp {
        Timestamp::from_civil(y, mo, d, 0, 0, 0, 0).unwrap()
    }

    #[test]
    fn explicit_year_then_rollover() {
        let mut t = YearTracker::new(Some(2007), at(2030, 1, 1), 0);
        let years: Vec<i32> = [md(11, 30), md(12, 1), md(12, 31), md(1, 1), md(2, 3)]
            .into_iter()
            .map(|s| t.observe(s))
            .collect();
        assert_eq!(years, [2007, 2007, 2007, 2008, 2008]);
    }

    #[test]
    fn first_year_from_reference() {
        // A file last written in January whose first line is from December.
        let mut t = YearTracker::new(None, at(2020, 1, 5), 0);
        assert_eq!(t.observe(md(12, 30)), 2019);
        assert_eq!(t.observe(md(1, 2)), 2020);
        // A line earlier in the reference's own year.
        let mut t = YearTracker::new(None, at(2020, 8, 21), 0);
        assert_eq!(t.observe(md(8, 21)), 2020);
        // A day after the reference is within the slack, a week is not.
        let noon = Timestamp::from_secs(at(2020, 8, 21).secs() + 12 * 3600);
        let mut t = YearTracker::new(None, noon, 0);
        assert_eq!(t.observe(md(8, 22)), 2020);
        let mut t = YearTracker::new(None, at(2020, 8, 21), 0);
        assert_eq!(t.observe(md(8, 28)), 2019);
    }

    #[test]
    fn out_of_order_lines_do_not_move_the_year() {
        let mut t = YearTracker::new(Some(2019), at(2030, 1, 1), 0);
        assert_eq!(t.observe(md(4, 1)), 2019);
        assert_eq!(t.observe(md(3, 31)), 2019);
        assert_eq!(t.observe(md(4, 1)), 2019);
        // January, then a late December line, then January again.
        let mut t = YearTracker::new(Some(2020), at(2030, 1, 1), 0);
        assert_eq!(t.observe(md(1, 1)), 2020);
        assert_eq!(t.observe(md(12, 31)), 2019);
        assert_eq!(t.observe(md(1, 1)), 2020);
    }

    #[test]
    fn extreme_years_do_not_overflow() {
        let mut t = YearTracker::new(Some(i32::MAX), at(2030, 1, 1), 0);
        assert_eq!(t.observe(md(12, 1)), i32::MAX);
        assert_eq!(t.observe(md(1, 1)), i32::MAX);
        let mut t = YearTracker::new(Some(i32::MIN), at(2030, 1, 1), 0);
        assert_eq!(t.observe(md(1, 1)), i32::MIN);
        assert_eq!(t.observe(md(12, 1)), i32::MIN);
    }

    #[test]
    fn leap_day_without_year() {
        let mut t = YearTracker::new(None, at(2021, 3, 1), 0);
        assert_eq!(t.observe(md(2, 29)), 2020);
    }
}
