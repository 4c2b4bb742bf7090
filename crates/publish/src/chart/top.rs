//! The busiest ports on one chart, one line each.

use plotters::coord::Shift;
use plotters::coord::combinators::BindKeyPoints;
use plotters::prelude::*;

use super::palette::{GRID, LINES};
use super::port::format_count;
use super::{ChartOptions, Draw, FAMILY, ImageFormat, axis, chart_err, render};
use crate::PublishError;
use crate::series::{Metric, Point, PortSeries};

/// Several ports' series, drawn on a shared time axis.
#[derive(Debug, Clone)]
pub struct TopPorts {
    pub metric: Metric,
    /// One series per port, busiest first; every series must have the same
    /// bucket width. At most eight are drawn (more would not be legible).
    pub ports: Vec<PortSeries>,
}

/// Draws the "top ports" chart. Returns the SVG or PNG file's bytes.
pub fn top_ports_chart(
    top: &TopPorts,
    opts: &ChartOptions,
    format: ImageFormat,
) -> Result<Vec<u8>, PublishError> {
    let ports: Vec<&PortSeries> = top.ports.iter().take(LINES.len()).collect();
    let Some(bucket) = ports.first().map(|s| s.bucket) else {
        return Err(PublishError::Input("no ports to chart".into()));
    };
    for s in &ports {
        s.validate()?;
        if s.bucket != bucket {
            return Err(PublishError::Input(format!(
                "{} is at {} buckets, the others at {bucket}",
                s.key, s.bucket
            )));
        }
    }
    let w = bucket.secs();
    let lines = ports
        .iter()
        .map(|s| {
            let name = portwatch_enrich::services::name(s.key)
                .map_or_else(|| s.key.to_string(), |n| format!("{} ({n})", s.key));
            (name, s.filled())
        })
        .collect();
    let title = opts.title.clone().unwrap_or_else(|| {
        format!(
            "Top ports: {} per {bucket} bucket (UTC)",
            top.metric.label()
        )
    });
    let chart = TopChart {
        lines,
        width: w,
        metric: top.metric,
        title,
        max_ticks: (opts.width / 110) as usize,
    };
    render(opts, format, &chart)
}

struct TopChart {
    lines: Vec<(String, Vec<Point>)>,
    width: i64,
    metric: Metric,
    title: String,
    max_ticks: usize,
}

impl Draw for TopChart {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), PublishError> {
        let w = self.width;
        let all = || self.lines.iter().flat_map(|(_, pts)| pts.iter());
        let x0 = all().map(|p| p.start).min().unwrap_or(0);
        let x1 = all().map(|p| p.start + w).max().unwrap_or(x0 + w);
        let ymax = all().map(|p| self.metric.of(p)).max().unwrap_or(0).max(1) as f64 * 1.15;
        let ticks = axis::ticks(x0, x1, self.max_ticks);
        let first_tick = ticks.first().copied().unwrap_or(x0);
        let step = match ticks.as_slice() {
            [a, b, ..] => b - a,
            _ => 86_400,
        };
        let mut chart = ChartBuilder::on(root)
            .caption(&self.title, (FAMILY, 22))
            .margin(10)
            .margin_right(24)
            .x_label_area_size(42)
            .y_label_area_size(64)
            .build_cartesian_2d((x0..x1).with_key_points(ticks), 0f64..ymax)
            .map_err(chart_err)?;
        chart
            .configure_mesh()
            .x_label_formatter(&|t: &i64| axis::label(*t, first_tick, step))
            .y_label_formatter(&|v: &f64| format_count(*v))
            .y_desc(self.metric.label())
            .x_desc("time (UTC)")
            .label_style((FAMILY, 13))
            .axis_desc_style((FAMILY, 14))
            .x_max_light_lines(1)
            .y_max_light_lines(1)
            .bold_line_style(GRID)
            .draw()
            .map_err(chart_err)?;
        for ((name, pts), color) in self.lines.iter().zip(LINES) {
            let line: Vec<(i64, f64)> = pts
                .iter()
                .map(|p| (p.start + w / 2, self.metric.of(p) as f64))
                .collect();
            chart
                .draw_series(LineSeries::new(line, color.stroke_width(2)))
                .map_err(chart_err)?
                .label(name.clone())
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
                });
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.9))
            .border_style(BLACK)
            .label_font((FAMILY, 13))
            .draw()
            .map_err(chart_err)?;
        Ok(())
    }
}
