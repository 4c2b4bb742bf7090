//! What detection adds to a port's series in reports, charts and
//! advisories: the baseline band per bucket, the port's alerts and the
//! sensor's gaps.

use portwatch_core::{BucketWidth, Timestamp};
use portwatch_pipeline::detect::{BandPoint, bucket_band, port_bands};
use portwatch_publish::{Band, Expected};
use portwatch_store::{AlertsQuery, SeriesPoint, SeriesQuery, Store};

use crate::output::json::BaselineDoc;

/// What detection adds to a port's series: the baseline band, the port's
/// alerts and the sensor's gaps.
pub struct Overlay {
    bands: Vec<BandPoint>,
    /// The port's observed distinct sources per minute in the range,
    /// (minute, sources), ascending: what relates the detector's
    /// per-minute expectations to distinct sources over wider buckets.
    source_minutes: Vec<(i64, u64)>,
    pub alerts: Vec<portwatch_detect::Alert>,
    pub gaps: Vec<portwatch_detect::GapSpan>,
}

impl Overlay {
    pub async fn load(
        store: &dyn Store,
        cfg: &portwatch_detect::DetectConfig,
        q: &SeriesQuery,
    ) -> anyhow::Result<Overlay> {
        let bands = port_bands(store, cfg, q.port).await?;
        let source_minutes = if q.width == BucketWidth::Minute {
            Vec::new()
        } else {
            store
                .series(&SeriesQuery {
                    width: BucketWidth::Minute,
                    ..q.clone()
                })
                .await?
                .iter()
                .map(|p| (p.start.secs(), p.sources))
                .collect()
        };
        let records = store
            .alerts(&AlertsQuery {
                range: q.range,
                port: Some(q.port),
                ..AlertsQuery::default()
            })
            .await?;
        let alerts = records
            .iter()
            .map(crate::detect::parse_alert)
            .collect::<anyhow::Result<Vec<_>>>()?;
        let (from, to) = (
            q.range.from.map_or(i64::MIN, Timestamp::secs),
            q.range.to.map_or(i64::MAX, Timestamp::secs),
        );
        let gaps = bands
            .windows(2)
            .filter(|w| w[1].minute - w[0].minute > 60)
            .map(|w| portwatch_detect::GapSpan {
                start: w[0].minute + 60,
                end: w[1].minute,
            })
            .filter(|g| g.start < to && g.end > from)
            .collect();
        Ok(Overlay {
            bands,
            source_minutes,
            alerts,
            gaps,
        })
    }

    /// The bands of the minutes with data in `[start, start + width)`.
    fn minutes(&self, start: i64, end: i64) -> &[BandPoint] {
        let lo = self.bands.partition_point(|b| b.minute < start);
        let hi = self.bands.partition_point(|b| b.minute < end);
        &self.bands[lo..hi]
    }

    pub fn band(&self, start: i64, width: BucketWidth) -> Option<BaselineDoc> {
        bucket_band(&self.bands, start, width)
    }

    /// No input had any data in `[start, end)`.
    pub fn sensor_down(&self, start: i64, end: i64) -> bool {
        self.minutes(start, end).is_empty()
    }

    pub fn alerts_in(
        &self,
        start: i64,
        end: i64,
    ) -> impl Iterator<Item = &portwatch_detect::Alert> {
        self.alerts
            .iter()
            .filter(move |a| a.onset < end && a.closed.unwrap_or(a.last_active + 60) > start)
    }

    /// The share of distinct sources among source-minutes at `width`: how
    /// much a port's scanners return minute after minute within a bucket
    /// (1 at one-minute buckets, 0.5 when each source is seen in two
    /// minutes of its bucket on average). Pooled over the buckets of
    /// `points` that no alert touches, so that a campaign's fresh sources
    /// do not pass for the port's normal; 1 when there are none.
    pub fn distinct_share(&self, width: BucketWidth, points: &[SeriesPoint]) -> f64 {
        if width == BucketWidth::Minute {
            return 1.0;
        }
        let (mut distinct, mut per_minute) = (0u64, 0u64);
        for p in points {
            let (start, end) = (p.start.secs(), p.start.secs() + width.secs());
            if self.alerts_in(start, end).next().is_some() {
                continue;
            }
            let lo = self.source_minutes.partition_point(|m| m.0 < start);
            let hi = self.source_minutes.partition_point(|m| m.0 < end);
            distinct += p.sources;
            per_minute += self.source_minutes[lo..hi].iter().map(|m| m.1).sum::<u64>();
        }
        if per_minute == 0 {
            1.0
        } else {
            (distinct as f64 / per_minute as f64).clamp(0.0, 1.0)
        }
    }

    /// What a chart draws as the bucket's expected range: the detector's
    /// per-minute expectations summed over the bucket's warm minutes with
    /// data (so a bucket the sensor was half down for expects half), with
    /// the Poisson spread `±3·√mean` the chart's legend promises. Sources
    /// are counted distinct over the bucket, and a scanner seen in many
    /// minutes counts once, so their expectation is scaled by
    /// `distinct_share` ([`Overlay::distinct_share`]).
    pub fn expected(
        &self,
        start: i64,
        width: BucketWidth,
        distinct_share: f64,
    ) -> Option<Expected> {
        let m: Vec<&BandPoint> = self
            .minutes(start, start + width.secs())
            .iter()
            .filter(|b| b.warm)
            .collect();
        if m.is_empty() {
            return None;
        }
        Some(Expected {
            sources: Band::around(
                distinct_share * m.iter().map(|b| b.band.sources).sum::<f64>(),
                1.0,
            ),
            packets: Band::around(m.iter().map(|b| b.band.packets).sum(), 1.0),
        })
    }

    /// From the first minute the sensor saw anything to the end of the
    /// last.
    pub fn sensor_span(&self) -> Option<(i64, i64)> {
        Some((self.bands.first()?.minute, self.bands.last()?.minute + 60))
    }

    /// The alert a chart of `[from, to)` shades: the one with the most
    /// sources at its peak (a chart has room for one window).
    pub fn main_alert(&self, from: i64, to: i64) -> Option<&portwatch_detect::Alert> {
        self.alerts_in(from, to)
            .max_by_key(|a| (a.peak.sources, a.onset))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use portwatch_core::Timestamp;

    /// A bucket with `sources` sources and as many packets (shared by the
    /// chart tests).
    pub(crate) fn point(start: i64, sources: u64) -> SeriesPoint {
        SeriesPoint {
            start: Timestamp::from_secs(start),
            packets: sources,
            bytes: 0,
            sources,
            targets: 1,
            top_sources: Vec::new(),
            first_seen: Timestamp::from_secs(start),
            last_seen: Timestamp::from_secs(start),
            active_minutes: 1,
        }
    }

    #[test]
    fn distinct_share_is_distinct_over_source_minutes() {
        let o = Overlay {
            bands: Vec::new(),
            // Two sources seen in each of two minutes of the first hour,
            // four in one minute of the second.
            source_minutes: vec![(0, 2), (60, 2), (3600, 4)],
            alerts: Vec::new(),
            gaps: Vec::new(),
        };
        let hour = BucketWidth::Hour;
        assert_eq!(o.distinct_share(hour, &[point(0, 2)]), 0.5);
        assert_eq!(o.distinct_share(hour, &[point(0, 2), point(3600, 4)]), 0.75);
        assert_eq!(o.distinct_share(BucketWidth::Minute, &[point(0, 2)]), 1.0);
        assert_eq!(o.distinct_share(hour, &[]), 1.0, "nothing to learn from");
    }
}
