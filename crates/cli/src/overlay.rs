//! What detection adds to a port's series in reports, charts and
//! advisories: the baseline band per bucket, the port's alerts and the
//! sensor's gaps.

use portwatch_core::{BucketWidth, Timestamp};
use portwatch_pipeline::detect::{BandPoint, port_bands};
use portwatch_publish::{Band, Expected};
use portwatch_store::{AlertsQuery, SeriesQuery, Store};

use crate::output::json::BaselineDoc;

/// What detection adds to a port's series: the baseline band, the port's
/// alerts and the sensor's gaps.
pub struct Overlay {
    bands: Vec<BandPoint>,
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
        let m: Vec<&BandPoint> = self
            .minutes(start, start + width.secs())
            .iter()
            .filter(|b| b.warm)
            .collect();
        if m.is_empty() {
            return None;
        }
        let n = m.len() as f64;
        let sum = |f: fn(&BandPoint) -> f64| m.iter().map(|b| f(b)).sum::<f64>();
        Some(BaselineDoc {
            sources_per_min: sum(|b| b.band.sources) / n,
            sources_per_min_upper: sum(|b| b.band.sources_upper) / n,
            packets: sum(|b| b.band.packets),
            packets_upper: sum(|b| b.band.packets_upper),
        })
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

    /// What a chart draws as the bucket's expected range: the detector's
    /// per-minute expectations summed over the bucket's warm minutes with
    /// data (so a bucket the sensor was half down for expects half), with
    /// the Poisson spread `±3·√mean` the chart's legend promises. Summing
    /// per-minute sources makes the expected distinct sources of a wide
    /// bucket an upper bound: a source seen in many minutes counts once in
    /// the observed distinct count.
    pub fn expected(&self, start: i64, width: BucketWidth) -> Option<Expected> {
        let m: Vec<&BandPoint> = self
            .minutes(start, start + width.secs())
            .iter()
            .filter(|b| b.warm)
            .collect();
        if m.is_empty() {
            return None;
        }
        Some(Expected {
            sources: Band::around(m.iter().map(|b| b.band.sources).sum(), 1.0),
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
