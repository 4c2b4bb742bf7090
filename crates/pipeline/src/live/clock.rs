//! When a minute is over: wall time, minus a lateness allowance.

/// Closes UTC minutes as wall time passes them.
///
/// A minute `[m, m + 60)` is closed once wall time reaches
/// `m + 60 + lateness`: lines a syslog daemon buffered for a few seconds
/// still land before detection looks at their minute. Time is passed in
/// (never read here), so tests drive it.
#[derive(Debug, Clone)]
pub struct MinuteClock {
    lateness: i64,
    /// Every minute starting before this is closed.
    closed_before: i64,
}

impl MinuteClock {
    /// A clock that starts at `now` (Unix seconds) with the minutes before
    /// the current one (less lateness) already closed.
    pub fn new(now: i64, lateness_secs: u32) -> Self {
        let lateness = i64::from(lateness_secs);
        MinuteClock {
            lateness,
            closed_before: Self::boundary(now, lateness),
        }
    }

    fn boundary(now: i64, lateness: i64) -> i64 {
        (now - lateness).div_euclid(60) * 60
    }

    /// Moves to `now`; returns the new boundary (every minute starting
    /// before it is closed) when at least one more minute closed. Time that
    /// goes backwards closes nothing and never reopens a minute.
    pub fn advance(&mut self, now: i64) -> Option<i64> {
        let b = Self::boundary(now, self.lateness);
        if b > self.closed_before {
            self.closed_before = b;
            Some(b)
        } else {
            None
        }
    }

    pub fn closed_before(&self) -> i64 {
        self.closed_before
    }

    /// Seconds from `now` until the next minute closes.
    pub fn until_next(&self, now: i64) -> i64 {
        (self.closed_before + 60 + self.lateness - now).max(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_minute_closes_after_its_end_plus_lateness() {
        // 12:00:30 with 5 s lateness: 11:59 closed, 12:00 open.
        let t0 = 1_700_000_000 / 60 * 60;
        let mut c = MinuteClock::new(t0 + 30, 5);
        assert_eq!(c.closed_before(), t0);
        assert_eq!(c.until_next(t0 + 30), 35);
        assert_eq!(c.advance(t0 + 60), None);
        assert_eq!(c.advance(t0 + 64), None);
        assert_eq!(c.advance(t0 + 65), Some(t0 + 60));
        assert_eq!(c.advance(t0 + 66), None);
        // A stall of three minutes closes all of them at once.
        assert_eq!(c.advance(t0 + 245), Some(t0 + 240));
        // A clock stepped back reopens nothing.
        assert_eq!(c.advance(t0), None);
        assert_eq!(c.closed_before(), t0 + 240);
    }

    #[test]
    fn zero_lateness_closes_on_the_minute() {
        let mut c = MinuteClock::new(120, 0);
        assert_eq!(c.closed_before(), 120);
        assert_eq!(c.advance(179), None);
        assert_eq!(c.advance(180), Some(180));
        assert_eq!(c.until_next(180), 60);
    }
}
