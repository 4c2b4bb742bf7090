//! One port's series: distinct sources above, packets below, each with the
//! baseline's expected range, the alert window shaded, onset and peak
//! marked.

use plotters::coord::Shift;
use plotters::coord::combinators::BindKeyPoints;
use plotters::prelude::*;
use portwatch_detect::Alert;

use super::palette::*;
use super::{ChartOptions, Draw, FAMILY, ImageFormat, axis, chart_err, render};
use crate::series::{Metric, Point, PortSeries};
use crate::{PublishError, time};

/// Draws `series` (any bucket width) with `alert`'s window and
/// annotations when given. Returns the SVG or PNG file's bytes.
pub fn port_chart(
    series: &PortSeries,
    alert: Option<&Alert>,
    opts: &ChartOptions,
    format: ImageFormat,
) -> Result<Vec<u8>, PublishError> {
    series.validate()?;
    let title = opts.title.clone().unwrap_or_else(|| {
        format!(
            "{}: scanning per {} bucket (UTC)",
            series.key, series.bucket
        )
    });
    let chart = PortChart {
        points: series.filled(),
        width: series.bucket.secs(),
        alert,
        title,
        max_ticks: (opts.width / 110) as usize,
    };
    render(opts, format, &chart)
}

struct PortChart<'a> {
    points: Vec<Point>,
    width: i64,
    alert: Option<&'a Alert>,
    title: String,
    max_ticks: usize,
}

impl Draw for PortChart<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), PublishError> {
        let body = root
            .titled(&self.title, (FAMILY, 22).into_font().color(&BLACK))
            .map_err(chart_err)?;
        let panels = body.split_evenly((2, 1));
        for (area, metric) in panels.iter().zip([Metric::Sources, Metric::Packets]) {
            self.panel(area, metric)?;
        }
        Ok(())
    }
}

impl PortChart<'_> {
    fn panel<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        metric: Metric,
    ) -> Result<(), PublishError> {
        let w = self.width;
        let (Some(first), Some(last)) = (self.points.first(), self.points.last()) else {
            return Err(PublishError::Input("empty series".into()));
        };
        let (x0, x1) = (first.start, last.start + w);
        let ymax = self
            .points
            .iter()
            .map(|p| {
                let band = p.expected.map_or(0.0, |e| metric.band(&e).high);
                (metric.of(p) as f64).max(band)
            })
            .fold(0.0, f64::max)
            .max(1.0)
            // Headroom for the legend and the labels above the data.
            * 1.35;
        let ticks = axis::ticks(x0, x1, self.max_ticks);
        let first_tick = ticks.first().copied().unwrap_or(x0);
        let step = match ticks.as_slice() {
            [a, b, ..] => b - a,
            _ => 86_400,
        };
        let mut chart = ChartBuilder::on(area)
            .margin(8)
            .margin_right(24)
            .x_label_area_size(42)
            .y_label_area_size(64)
            .build_cartesian_2d((x0..x1).with_key_points(ticks), 0f64..ymax)
            .map_err(chart_err)?;
        let per = format!("{} per {}", metric.label(), bucket_name(w));
        chart
            .configure_mesh()
            .x_label_formatter(&|t: &i64| axis::label(*t, first_tick, step))
            .y_label_formatter(&|v: &f64| format_count(*v))
            .y_desc(per)
            .x_desc("time (UTC)")
            .label_style((FAMILY, 13))
            .axis_desc_style((FAMILY, 14))
            .x_max_light_lines(1)
            .y_max_light_lines(1)
            .bold_line_style(GRID)
            .draw()
            .map_err(chart_err)?;

        let window = self.alert.map(|a| {
            let end = a.closed.unwrap_or(a.last_active + 60).clamp(x0, x1);
            (a.onset.clamp(x0, x1), end)
        });
        if let Some((from, to)) = window.filter(|(f, t)| t > f) {
            chart
                .draw_series(std::iter::once(Rectangle::new(
                    [(from, 0.0), (to, ymax)],
                    WINDOW.mix(0.35).filled(),
                )))
                .map_err(chart_err)?
                .label("alert window")
                .legend(|(x, y)| Rectangle::new([(x, y - 6), (x + 20, y + 6)], WINDOW.filled()));
        }
        self.band(&mut chart, metric)?;
        let observed = steps(&self.points, w, |p| metric.of(p) as f64);
        chart
            .draw_series(LineSeries::new(observed, OBSERVED.stroke_width(2)))
            .map_err(chart_err)?
            .label("observed")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], OBSERVED.stroke_width(2)));
        if let Some(a) = self.alert {
            self.annotate(&mut chart, a, metric, ymax)?;
        }
        if metric == Metric::Sources {
            chart
                .configure_series_labels()
                .position(self.legend_corner(x0, x1))
                .background_style(WHITE.mix(0.9))
                .border_style(BLACK)
                .label_font((FAMILY, 13))
                .draw()
                .map_err(chart_err)?;
        }
        Ok(())
    }

    /// The upper corner away from the alert, so the legend never covers
    /// the onset and peak labels (the silence before a spike is empty).
    fn legend_corner(&self, x0: i64, x1: i64) -> SeriesLabelPosition {
        match self.alert {
            Some(a) if (a.onset - x0) * 2 < (x1 - x0) => SeriesLabelPosition::UpperRight,
            _ => SeriesLabelPosition::UpperLeft,
        }
    }

    /// The expected range as a grey band with the expectation as a line.
    fn band<DB: DrawingBackend, X: Ranged<ValueType = i64>>(
        &self,
        chart: &mut ChartContext<DB, Cartesian2d<X, plotters::coord::types::RangedCoordf64>>,
        metric: Metric,
    ) -> Result<(), PublishError> {
        let w = self.width;
        let with: Vec<&Point> = self
            .points
            .iter()
            .filter(|p| p.expected.is_some())
            .collect();
        if with.is_empty() {
            return Ok(());
        }
        let band = |p: &Point| p.expected.map(|e| metric.band(&e));
        let mut poly: Vec<(i64, f64)> = Vec::new();
        for p in &with {
            let h = band(p).map_or(0.0, |b| b.high);
            poly.extend([(p.start, h), (p.start + w, h)]);
        }
        for p in with.iter().rev() {
            let l = band(p).map_or(0.0, |b| b.low);
            poly.extend([(p.start + w, l), (p.start, l)]);
        }
        chart
            .draw_series(std::iter::once(Polygon::new(poly, BAND.mix(0.55).filled())))
            .map_err(chart_err)?
            .label("expected range (baseline ± 3σ)")
            .legend(|(x, y)| Rectangle::new([(x, y - 6), (x + 20, y + 6)], BAND.filled()));
        let mid = steps(&self.points, w, |p| band(p).map_or(0.0, |b| b.mid));
        chart
            .draw_series(LineSeries::new(mid, EXPECTED.stroke_width(1)))
            .map_err(chart_err)?
            .label("expected")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], EXPECTED.stroke_width(1)));
        Ok(())
    }

    /// A line at the onset and a marker on the bucket holding the peak.
    fn annotate<DB: DrawingBackend, X: Ranged<ValueType = i64>>(
        &self,
        chart: &mut ChartContext<DB, Cartesian2d<X, plotters::coord::types::RangedCoordf64>>,
        a: &Alert,
        metric: Metric,
        ymax: f64,
    ) -> Result<(), PublishError> {
        let w = self.width;
        let (x0, x1) = match (self.points.first(), self.points.last()) {
            (Some(f), Some(l)) => (f.start, l.start + w),
            _ => return Ok(()),
        };
        let font = (FAMILY, 13).into_font();
        if (x0..x1).contains(&a.onset) {
            let label = format!("onset {}", time::human(a.onset));
            chart
                .draw_series(std::iter::once(PathElement::new(
                    vec![(a.onset, 0.0), (a.onset, ymax)],
                    ONSET.stroke_width(2),
                )))
                .map_err(chart_err)?;
            chart
                .draw_series(std::iter::once(
                    EmptyElement::at((a.onset, ymax))
                        + Text::new(label, (5, 4), font.clone().color(&ONSET)),
                ))
                .map_err(chart_err)?;
        }
        let bucket = self
            .points
            .iter()
            .find(|p| p.start <= a.peak.at && a.peak.at < p.start + w);
        if let Some(p) = bucket {
            let (per_min, unit) = match metric {
                Metric::Sources => (a.peak.sources, "sources/min"),
                Metric::Packets => (a.peak.packets, "packets/min"),
            };
            let label = format!("peak {per_min} {unit} at {}", time::hour_minute(a.peak.at));
            let x = p.start + w / 2;
            // Keep the label inside the plot: left of the marker in the
            // right third.
            let right_third = (x - x0) * 3 > (x1 - x0) * 2;
            let dx = if right_third {
                -(label.len() as i32) * 7 - 8
            } else {
                8
            };
            chart
                .draw_series(std::iter::once(
                    EmptyElement::at((x, metric.of(p) as f64))
                        + Circle::new((0, 0), 5, PEAK.filled())
                        + Text::new(label, (dx, -6), font.color(&PEAK)),
                ))
                .map_err(chart_err)?;
        }
        Ok(())
    }
}

/// A step line: each bucket's value held across the bucket.
fn steps(points: &[Point], w: i64, value: impl Fn(&Point) -> f64) -> Vec<(i64, f64)> {
    points
        .iter()
        .flat_map(|p| {
            let v = value(p);
            [(p.start, v), (p.start + w, v)]
        })
        .collect()
}

fn bucket_name(w: i64) -> String {
    match w {
        60 => "minute".into(),
        3600 => "hour".into(),
        86_400 => "day".into(),
        w if w % 60 == 0 => format!("{} minutes", w / 60),
        w => format!("{w} s"),
    }
}

/// `1,234` and `1.5` style tick labels; thousands are hard to read bare.
pub(crate) fn format_count(v: f64) -> String {
    if v.fract().abs() > 1e-9 && v.abs() < 10.0 {
        return format!("{v:.1}");
    }
    let n = v.round() as i64;
    let s = n.abs().to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 { format!("-{out}") } else { out }
}
