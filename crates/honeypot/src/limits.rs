//! The bounds that keep the honeypot from becoming a weapon or a victim
//! (rule 10): open connections in total and per source, and token buckets
//! for UDP replies.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use crate::stats::Stats;

/// Why a connection was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    Busy,
    SourceBusy,
}

/// Counts open connections, total and per source. A permit is held for a
/// connection's whole life and released on drop, so a panic or an early
/// return cannot leak a slot.
#[derive(Debug)]
pub(crate) struct ConnLimiter {
    max_total: usize,
    max_per_source: usize,
    // Only sources with open connections are present, so the map never
    // holds more than `max_total` entries.
    open: Mutex<(usize, HashMap<IpAddr, usize>)>,
    stats: Arc<Stats>,
}

#[derive(Debug)]
pub(crate) struct Permit {
    limiter: Arc<ConnLimiter>,
    source: IpAddr,
}

impl ConnLimiter {
    pub(crate) fn new(max_total: usize, max_per_source: usize, stats: Arc<Stats>) -> Arc<Self> {
        Arc::new(ConnLimiter {
            max_total,
            max_per_source,
            open: Mutex::new((0, HashMap::new())),
            stats,
        })
    }

    pub(crate) fn try_acquire(self: &Arc<Self>, source: IpAddr) -> Result<Permit, Refusal> {
        let mut guard = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        let (total, per_source) = &mut *guard;
        if *total >= self.max_total {
            return Err(Refusal::Busy);
        }
        let n = per_source.entry(source).or_insert(0);
        if *n >= self.max_per_source {
            return Err(Refusal::SourceBusy);
        }
        *n += 1;
        *total += 1;
        self.stats.connection_opened(*total);
        Ok(Permit {
            limiter: Arc::clone(self),
            source,
        })
    }

    /// Open connections now.
    pub(crate) fn open(&self) -> usize {
        self.open.lock().unwrap_or_else(PoisonError::into_inner).0
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        let mut guard = self
            .limiter
            .open
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let (total, per_source) = &mut *guard;
        *total = total.saturating_sub(1);
        if let Some(n) = per_source.get_mut(&self.source) {
            *n -= 1;
            if *n == 0 {
                per_source.remove(&self.source);
            }
        }
        self.limiter.stats.connection_closed(*total);
    }
}

/// A token bucket: `rate` tokens per second up to `burst`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Bucket {
    tokens: f64,
    last: Instant,
}

impl Bucket {
    pub(crate) fn full(burst: u32, now: Instant) -> Self {
        Bucket {
            tokens: f64::from(burst),
            last: now,
        }
    }

    fn refill(&mut self, rate: u32, burst: u32, now: Instant) {
        let dt = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens = (self.tokens + dt * f64::from(rate)).min(f64::from(burst));
        self.last = now;
    }

    pub(crate) fn take(&mut self, rate: u32, burst: u32, now: Instant) -> bool {
        self.refill(rate, burst, now);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    fn is_full(&mut self, rate: u32, burst: u32, now: Instant) -> bool {
        self.refill(rate, burst, now);
        self.tokens >= f64::from(burst)
    }
}

/// Reply budget for UDP: a global bucket and one per source, in a table of
/// bounded size.
#[derive(Debug)]
pub(crate) struct ReplyBudget {
    rate: u32,
    burst: u32,
    source_rate: u32,
    source_burst: u32,
    max_sources: usize,
    state: Mutex<(Bucket, HashMap<IpAddr, Bucket>)>,
}

impl ReplyBudget {
    pub(crate) fn new(limits: &crate::Limits, now: Instant) -> Self {
        ReplyBudget {
            rate: limits.udp_replies_per_sec,
            burst: limits.udp_reply_burst,
            source_rate: limits.udp_replies_per_source_per_sec,
            source_burst: limits.udp_reply_source_burst,
            max_sources: limits.udp_tracked_sources,
            state: Mutex::new((Bucket::full(limits.udp_reply_burst, now), HashMap::new())),
        }
    }

    /// Whether one reply to `source` may be sent now.
    pub(crate) fn allow(&self, source: IpAddr, now: Instant) -> bool {
        let mut guard = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let (global, sources) = &mut *guard;
        if !sources.contains_key(&source) && sources.len() >= self.max_sources {
            // Forget sources whose bucket has refilled: they are back to
            // where a new source starts, so nothing is lost.
            let (rate, burst) = (self.source_rate, self.source_burst);
            sources.retain(|_, b| !b.is_full(rate, burst, now));
            if sources.len() >= self.max_sources {
                return false; // fail closed
            }
        }
        let bucket = sources
            .entry(source)
            .or_insert_with(|| Bucket::full(self.source_burst, now));
        // Check the source first so one noisy source cannot drain the
        // global budget with replies it would not get anyway.
        if !bucket.take(self.source_rate, self.source_burst, now) {
            return false;
        }
        global.take(self.rate, self.burst, now)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn permits_release_on_drop() {
        let l = ConnLimiter::new(3, 2, Arc::new(Stats::default()));
        let a: IpAddr = "198.18.0.1".parse().unwrap();
        let b: IpAddr = "198.18.0.2".parse().unwrap();
        let p1 = l.try_acquire(a).unwrap();
        let _p2 = l.try_acquire(a).unwrap();
        assert_eq!(l.try_acquire(a).unwrap_err(), Refusal::SourceBusy);
        let _p3 = l.try_acquire(b).unwrap();
        assert_eq!(l.try_acquire(b).unwrap_err(), Refusal::Busy);
        drop(p1);
        assert_eq!(l.open(), 2);
        assert!(l.try_acquire(b).is_ok());
    }

    #[test]
    fn bucket_refills_at_rate_up_to_burst() {
        let t0 = Instant::now();
        let mut b = Bucket::full(2, t0);
        assert!(b.take(1, 2, t0) && b.take(1, 2, t0) && !b.take(1, 2, t0));
        assert!(b.take(1, 2, t0 + Duration::from_secs(1)));
        assert!(!b.take(1, 2, t0 + Duration::from_secs(1)));
    }

    #[test]
    fn reply_budget_fails_closed_when_the_table_is_full() {
        let limits = crate::Limits {
            udp_tracked_sources: 1,
            ..crate::Limits::default()
        };
        let t0 = Instant::now();
        let budget = ReplyBudget::new(&limits, t0);
        assert!(budget.allow("198.18.0.1".parse().unwrap(), t0));
        assert!(!budget.allow("198.18.0.2".parse().unwrap(), t0));
        // Once the first source's bucket has refilled, it is forgotten.
        assert!(budget.allow("198.18.0.2".parse().unwrap(), t0 + Duration::from_secs(10)));
    }
}
