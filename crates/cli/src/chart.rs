//! `--chart FILE` for `report port` and `report top`: the store's series
//! turned into `portwatch_publish` series and drawn as SVG or PNG (chosen
//! by the file's extension).

use std::path::Path;

use anyhow::{Context, anyhow, bail};
use portwatch_core::{BucketWidth, PortKey};
use portwatch_publish::{
    ChartOptions, ImageFormat, Metric, Point, PortSeries, TopPorts, port_chart, top_ports_chart,
};
use portwatch_store::SeriesPoint;

use crate::overlay::Overlay;

/// Most buckets a chart of a whole range is drawn with when the caller
/// does not pick a width: more than that is wider than the image.
const AUTO_MAX_BUCKETS: i64 = 1500;

/// `WIDTHxHEIGHT` in pixels.
pub fn size(s: &str) -> anyhow::Result<ChartOptions> {
    let bad = || anyhow!("--chart-size {s:?}: expected WIDTHxHEIGHT in pixels, e.g. 1000x640");
    let (w, h) = s.split_once(['x', 'X']).ok_or_else(bad)?;
    let (width, height) = (
        w.trim().parse().map_err(|_| bad())?,
        h.trim().parse().map_err(|_| bad())?,
    );
    if !(200..=8000).contains(&width) || !(200..=8000).contains(&height) {
        bail!("--chart-size {s:?}: each side must be 200–8000 pixels");
    }
    Ok(ChartOptions {
        width,
        height,
        title: None,
    })
}

/// The finest width that draws `[from, to)` in at most
/// [`AUTO_MAX_BUCKETS`] buckets.
pub fn auto_width(from: i64, to: i64) -> BucketWidth {
    BucketWidth::ALL
        .into_iter()
        .find(|w| (to - from) / w.secs() <= AUTO_MAX_BUCKETS)
        .unwrap_or(BucketWidth::Day)
}

/// Every bucket of `[from, to)` (aligned outwards), the store's points
/// where it has them and zeros elsewhere — the store reports only buckets
/// with data, and a quiet port's silence is what makes its spike one —
/// each with the baseline's expectation when the overlay knows it.
pub fn port_series(
    key: PortKey,
    width: BucketWidth,
    (from, to): (i64, i64),
    points: &[SeriesPoint],
    overlay: Option<&Overlay>,
) -> PortSeries {
    let w = width.secs();
    let first = from.div_euclid(w) * w;
    let share = overlay.map_or(1.0, |o| o.distinct_share(width, points));
    let mut stored = points.iter().peekable();
    let mut out = Vec::new();
    let mut t = first;
    while t < to {
        // Skip points before the range (whole buckets overlapping it).
        while stored.next_if(|p| p.start.secs() < t).is_some() {}
        let mut point = match stored.next_if(|p| p.start.secs() == t) {
            Some(p) => Point::new(t, p.sources, p.packets, p.targets),
            None => Point::new(t, 0, 0, 0),
        };
        point.expected = overlay.and_then(|o| o.expected(t, width, share));
        out.push(point);
        t += w;
    }
    PortSeries {
        key,
        bucket: width,
        points: out,
    }
}

/// The span a chart covers: the asked range where given, else what the
/// sensor covered (`sensor`, when known: a quiet port's chart must show
/// the silence around its spike), else the port's own points.
pub fn span(
    range: &portwatch_store::TimeRange,
    sensor: Option<(i64, i64)>,
    points: &[SeriesPoint],
    width: BucketWidth,
) -> Option<(i64, i64)> {
    let from = range
        .from
        .map(|t| t.secs())
        .or(sensor.map(|s| s.0))
        .or_else(|| points.first().map(|p| p.start.secs()))?;
    let to = range
        .to
        .map(|t| t.secs())
        .or(sensor.map(|s| s.1))
        .or_else(|| points.last().map(|p| p.start.secs() + width.secs()))?;
    (to > from).then_some((from, to))
}

/// Draws one port and writes the file.
pub fn write_port(
    path: &Path,
    series: &PortSeries,
    alert: Option<&portwatch_detect::Alert>,
    opts: &ChartOptions,
) -> anyhow::Result<()> {
    let format = ImageFormat::from_path(path)?;
    let bytes = port_chart(series, alert, opts, format)?;
    write(path, &bytes)
}

/// Draws the top ports and writes the file.
pub fn write_top(
    path: &Path,
    ports: Vec<PortSeries>,
    metric: Metric,
    opts: &ChartOptions,
) -> anyhow::Result<()> {
    let format = ImageFormat::from_path(path)?;
    let bytes = top_ports_chart(&TopPorts { metric, ports }, opts, format)?;
    write(path, &bytes)
}

fn write(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    std::fs::write(path, bytes).with_context(|| format!("writing chart {}", path.display()))?;
    Ok(())
}

/// Says on stderr where the chart went: stdout carries the report.
pub fn announce(path: &Path, opts: &ChartOptions, width: BucketWidth) {
    eprintln!(
        "portwatch: chart written to {} ({}x{}, {width} buckets)",
        path.display(),
        opts.width,
        opts.height
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::overlay::tests::point;
    use portwatch_core::Proto;

    #[test]
    fn series_fill_every_bucket_of_the_range() {
        let key = PortKey::new(Proto::Tcp, 5168);
        let pts = [point(0, 9), point(3600, 2), point(3 * 3600, 5)];
        let s = port_series(key, BucketWidth::Hour, (3600, 5 * 3600), &pts, None);
        let got: Vec<(i64, u64)> = s.points.iter().map(|p| (p.start, p.sources)).collect();
        assert_eq!(
            got,
            [(3600, 2), (7200, 0), (10_800, 5), (14_400, 0)],
            "the point before the range is dropped, silence is zeros"
        );
        s.validate().expect("valid");
    }

    #[test]
    fn sizes_and_widths() {
        assert_eq!(
            size("800x600").map(|o| (o.width, o.height)).ok(),
            Some((800, 600))
        );
        assert!(size("800").is_err() && size("10x600").is_err() && size("axb").is_err());
        assert_eq!(auto_width(0, 6 * 3600), BucketWidth::Minute);
        assert_eq!(auto_width(0, 2 * 86_400), BucketWidth::FiveMinutes);
        assert_eq!(auto_width(0, 30 * 86_400), BucketWidth::Hour);
        assert_eq!(auto_width(0, 400 * 86_400), BucketWidth::Day);
    }
}
