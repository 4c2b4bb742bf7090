//! What charts and advisories are drawn from: a port's series at one bucket
//! width, with the expected band per bucket. The CLI fills these from the
//! store's `SeriesPoint`s and the detector's baselines; keeping our own
//! small structs means this crate needs no store.

use portwatch_core::{BucketWidth, PortKey};
use portwatch_detect::Baseline;
use serde::Serialize;

use crate::PublishError;
use crate::time::serde_rfc3339;

/// The expected range of a count in one bucket.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Band {
    pub low: f64,
    pub mid: f64,
    pub high: f64,
}

impl Band {
    /// `mean ± 3·√(mean·dispersion)`, floored at zero: the Poisson spread,
    /// widened where the port is over-dispersed (`dispersion` > 1), which
    /// is how the detector itself judges a bucket.
    pub fn around(mean: f64, dispersion: f64) -> Band {
        let mean = if mean.is_finite() { mean.max(0.0) } else { 0.0 };
        let spread = 3.0 * (mean * dispersion.max(1.0)).sqrt();
        Band {
            low: (mean - spread).max(0.0),
            mid: mean,
            high: mean + spread,
        }
    }
}

/// Expected sources and packets in one bucket.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Expected {
    pub sources: Band,
    pub packets: Band,
}

impl Expected {
    /// From per-minute rates (what [`Baseline`] holds) over a bucket.
    pub fn from_rates(sources_per_min: f64, packets_per_min: f64, bucket: BucketWidth) -> Self {
        let minutes = (bucket.secs() / 60) as f64;
        Expected {
            sources: Band::around(sources_per_min * minutes, 1.0),
            packets: Band::around(packets_per_min * minutes, 1.0),
        }
    }
}

/// One bucket of a port's series (fill from the store's `SeriesPoint`:
/// `start.secs()`, `sources`, `packets`, `targets`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Point {
    /// Bucket start, Unix seconds, UTC-aligned to the series' width.
    #[serde(with = "serde_rfc3339")]
    pub start: i64,
    pub sources: u64,
    pub packets: u64,
    pub targets: u64,
    /// What the baseline expected here, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected: Option<Expected>,
}

impl Point {
    pub fn new(start: i64, sources: u64, packets: u64, targets: u64) -> Self {
        Point {
            start,
            sources,
            packets,
            targets,
            expected: None,
        }
    }
}

/// More buckets than a chart has pixels many times over: a year of minutes
/// is a mistake, not a chart.
const MAX_BUCKETS: i64 = 100_000;

/// One port's series at one bucket width, oldest first.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PortSeries {
    pub key: PortKey,
    pub bucket: BucketWidth,
    pub points: Vec<Point>,
}

impl PortSeries {
    /// Gives every point without an expectation the alert's baseline at
    /// onset — for callers that keep no per-bucket baseline. The band is
    /// then flat, which is honest for quiet ports and rough for busy ones
    /// with a daily rhythm.
    pub fn with_baseline(mut self, b: &Baseline) -> Self {
        let e = Expected::from_rates(b.sources_per_min, b.packets_per_min, self.bucket);
        for p in self.points.iter_mut().filter(|p| p.expected.is_none()) {
            p.expected = Some(e);
        }
        self
    }

    /// Shows at least `[from, to)`: the store reports only buckets with
    /// data, so a quiet port's series would otherwise start at the spike
    /// and hide the silence that makes it one. Adds empty buckets at the
    /// edges (never removes points); [`PortSeries::validate`] still holds.
    pub fn with_range(mut self, from: i64, to: i64) -> Self {
        let w = self.bucket.secs();
        let first = from.div_euclid(w) * w;
        let last = (to - 1).div_euclid(w) * w;
        if last < first {
            return self;
        }
        let expected = self.points.first().and_then(|p| p.expected);
        for edge in [first, last] {
            if let Err(at) = self.points.binary_search_by_key(&edge, |p| p.start) {
                let mut p = Point::new(edge, 0, 0, 0);
                p.expected = expected;
                self.points.insert(at, p);
            }
        }
        self
    }

    /// Checks what drawing relies on: some points, in order, on bucket
    /// edges.
    pub fn validate(&self) -> Result<(), PublishError> {
        let w = self.bucket.secs();
        if self.points.is_empty() {
            return Err(PublishError::Input(format!("{}: empty series", self.key)));
        }
        for pair in self.points.windows(2) {
            if pair[1].start <= pair[0].start {
                return Err(PublishError::Input(format!(
                    "{}: points out of order at {}",
                    self.key,
                    crate::time::rfc3339(pair[1].start)
                )));
            }
        }
        let (first, last) = (
            self.points[0].start,
            self.points[self.points.len() - 1].start,
        );
        if (last - first) / w > MAX_BUCKETS {
            return Err(PublishError::Input(format!(
                "{}: {} buckets of {} are too many to draw; choose a coarser bucket",
                self.key,
                (last - first) / w,
                self.bucket
            )));
        }
        if let Some(p) = self.points.iter().find(|p| p.start.rem_euclid(w) != 0) {
            return Err(PublishError::Input(format!(
                "{}: {} is not on a {} bucket edge",
                self.key,
                crate::time::rfc3339(p.start),
                self.bucket
            )));
        }
        Ok(())
    }

    /// Every bucket from the first point to the last, the missing ones as
    /// zeros: the store reports only buckets with data, and a chart that
    /// joined the dots across a silent hour would lie.
    pub(crate) fn filled(&self) -> Vec<Point> {
        let w = self.bucket.secs();
        let mut out = Vec::new();
        let mut it = self.points.iter().peekable();
        let (Some(first), Some(last)) = (self.points.first(), self.points.last()) else {
            return out;
        };
        let fallback = first.expected;
        let mut t = first.start;
        while t <= last.start {
            match it.peek() {
                Some(p) if p.start == t => {
                    out.push((*p).clone());
                    it.next();
                }
                _ => out.push(Point {
                    expected: out.last().map_or(fallback, |q: &Point| q.expected),
                    ..Point::new(t, 0, 0, 0)
                }),
            }
            t += w;
        }
        out
    }
}

/// Which count a chart or ranking shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// Distinct sources per bucket (rule 6: harder to fake).
    #[default]
    Sources,
    Packets,
}

impl Metric {
    pub(crate) fn of(self, p: &Point) -> u64 {
        match self {
            Metric::Sources => p.sources,
            Metric::Packets => p.packets,
        }
    }

    pub(crate) fn band(self, e: &Expected) -> Band {
        match self {
            Metric::Sources => e.sources,
            Metric::Packets => e.packets,
        }
    }

    pub(crate) fn label(self) -> &'static str {
        match self {
            Metric::Sources => "distinct sources",
            Metric::Packets => "packets",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use portwatch_core::Proto;

    fn series(starts: &[i64]) -> PortSeries {
        PortSeries {
            key: PortKey::new(Proto::Tcp, 5168),
            bucket: BucketWidth::Hour,
            points: starts.iter().map(|&s| Point::new(s, 1, 2, 3)).collect(),
        }
    }

    #[test]
    fn band_is_poisson_spread() {
        let b = Band::around(100.0, 1.0);
        assert_eq!((b.low, b.mid, b.high), (70.0, 100.0, 130.0));
        assert_eq!(Band::around(0.0, 1.0).high, 0.0);
        assert_eq!(Band::around(f64::NAN, 1.0).mid, 0.0);
    }

    #[test]
    fn validates_and_fills_gaps() {
        assert!(series(&[]).validate().is_err());
        assert!(series(&[7200, 3600]).validate().is_err());
        assert!(series(&[3601]).validate().is_err());
        assert!(series(&[0, 3600 * 200_000]).validate().is_err());
        let s = series(&[3600, 4 * 3600]).with_baseline(&Baseline {
            sources_per_min: 0.5,
            packets_per_min: 1.0,
        });
        s.validate().expect("valid");
        let f = s.clone().filled();
        assert_eq!(f.len(), 4);
        let wide = s.with_range(0, 6 * 3600 + 1);
        wide.validate().expect("still valid");
        assert_eq!(wide.filled().len(), 7);
        assert_eq!(wide.points[0].expected.map(|e| e.sources.mid), Some(30.0));
        assert_eq!(f[1].sources, 0);
        assert_eq!(f[2].expected.map(|e| e.sources.mid), Some(30.0));
    }
}
