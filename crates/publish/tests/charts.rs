//! Charts rendered for real and checked as images: the PNG decoded (size,
//! ink in the plot area in the chart's colours, text drawn with the
//! bundled font), the SVG compared structurally with a golden skeleton
//! (element names and texts, not coordinates, so a plotters upgrade that
//! moves a pixel does not fail it; `PORTWATCH_BLESS=1` rewrites it).

mod support;

use std::path::PathBuf;

use portwatch_core::BucketWidth;
use portwatch_publish::{ChartOptions, ImageFormat, Metric, TopPorts, port_chart, top_ports_chart};
use support::{alert_5168, series_5168, tools::decode_png};

fn out_dir() -> PathBuf {
    let d = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("charts");
    std::fs::create_dir_all(&d).expect("out dir");
    d
}

fn count(
    rgb: &[u8],
    w: u32,
    rows: std::ops::Range<u32>,
    cols: std::ops::Range<u32>,
    f: impl Fn([u8; 3]) -> bool,
) -> usize {
    let mut n = 0;
    for y in rows {
        for x in cols.clone() {
            let i = ((y * w + x) * 3) as usize;
            if f([rgb[i], rgb[i + 1], rgb[i + 2]]) {
                n += 1;
            }
        }
    }
    n
}

fn near(p: [u8; 3], c: [u8; 3], tol: u8) -> bool {
    p.iter().zip(c).all(|(&a, b)| a.abs_diff(b) <= tol)
}

#[test]
fn port_chart_png_has_a_plot_and_text() {
    let alert = alert_5168();
    let series = series_5168(BucketWidth::Hour).with_baseline(&alert.baseline_at_onset);
    let png = port_chart(
        &series,
        Some(&alert),
        &ChartOptions::default(),
        ImageFormat::Png,
    )
    .expect("png");
    std::fs::write(out_dir().join("port.png"), &png).expect("write");
    let (w, h, rgb) = decode_png(&png);
    assert_eq!((w, h), (1000, 640));
    let dark = |p: [u8; 3]| p.iter().all(|&c| c < 100);
    // The title (top 30 rows) is text: the bundled font drew it, with no
    // system font involved.
    assert!(
        count(&rgb, w, 0..30, 300..700, dark) > 300,
        "title text drawn"
    );
    // The upper panel's plot area: the observed line, the amber alert
    // window and the onset line are all there.
    let (rows, cols) = (40..300, 80..980);
    assert!(
        count(&rgb, w, rows.clone(), cols.clone(), |p| near(
            p,
            [0, 70, 160],
            30
        )) > 200,
        "observed line"
    );
    assert!(
        count(&rgb, w, rows.clone(), cols.clone(), |p| near(
            p,
            [255, 236, 205],
            20
        )) > 5_000,
        "alert window"
    );
    assert!(
        count(&rgb, w, rows, cols, |p| near(p, [190, 30, 30], 30)) > 100,
        "onset line"
    );
    // And the lower panel has its own line.
    assert!(
        count(&rgb, w, 340..600, 80..980, |p| near(p, [0, 70, 160], 30)) > 200,
        "packets line"
    );
}

#[test]
fn port_chart_svg_matches_the_golden_skeleton() {
    let alert = alert_5168();
    let series = series_5168(BucketWidth::Hour).with_baseline(&alert.baseline_at_onset);
    let svg = port_chart(
        &series,
        Some(&alert),
        &ChartOptions::default(),
        ImageFormat::Svg,
    )
    .expect("svg");
    let svg = String::from_utf8(svg).expect("utf-8");
    std::fs::write(out_dir().join("port.svg"), &svg).expect("write");
    assert!(svg.contains("width=\"1000\"") && svg.contains("height=\"640\""));
    assert!(svg.contains("font-family=\"sans-serif\""));
    let skeleton = skeleton(&svg);
    for needle in [
        "text: onset 2007-08-22 14:00 UTC",
        "text: peak 213 sources/min at 14:34",
        "text: peak 373 packets/min at 14:34",
        "text: distinct sources per hour",
        "text: time (UTC)",
        "text: 2007-08-22 00:00",
        "text: alert window",
        "polygon",
    ] {
        assert!(
            skeleton.contains(needle),
            "missing {needle:?} in\n{skeleton}"
        );
    }
    let golden = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden/port_chart.skeleton");
    if std::env::var_os("PORTWATCH_BLESS").is_some() {
        std::fs::create_dir_all(golden.parent().expect("dir")).expect("mkdir");
        std::fs::write(&golden, &skeleton).expect("bless");
    }
    let want = std::fs::read_to_string(&golden).expect("golden file (PORTWATCH_BLESS=1 writes it)");
    assert_eq!(
        skeleton, want,
        "SVG structure changed; PORTWATCH_BLESS=1 after checking the chart"
    );
}

/// One line per element: its name, and for `<text>` its content.
fn skeleton(svg: &str) -> String {
    let mut out = String::new();
    for part in svg.split('<').skip(1) {
        if part.starts_with('/') || part.starts_with('?') {
            continue;
        }
        let name: String = part
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect();
        if name == "text" {
            let content = part.split_once('>').map_or("", |(_, c)| c).trim();
            out.push_str(&format!("text: {content}\n"));
        } else {
            out.push_str(&name);
            out.push('\n');
        }
    }
    out
}

#[test]
fn top_chart_renders_every_port() {
    let a = series_5168(BucketWidth::Hour);
    let mut b = series_5168(BucketWidth::Hour);
    b.key = "445/tcp".parse().expect("key");
    for p in &mut b.points {
        p.sources = p.sources / 2 + 40;
    }
    let top = TopPorts {
        metric: Metric::Sources,
        ports: vec![a.clone(), b],
    };
    let png = top_ports_chart(&top, &ChartOptions::default(), ImageFormat::Png).expect("png");
    std::fs::write(out_dir().join("top.png"), &png).expect("write");
    let (w, h, rgb) = decode_png(&png);
    assert_eq!((w, h), (1000, 640));
    assert!(
        count(&rgb, w, 60..580, 80..980, |p| near(p, [230, 159, 0], 30)) > 200,
        "second port's line"
    );
    let svg = top_ports_chart(&top, &ChartOptions::default(), ImageFormat::Svg).expect("svg");
    let svg = String::from_utf8(svg).expect("utf-8");
    assert!(svg.contains("445/tcp (microsoft-ds)") && svg.contains("5168/tcp"));

    // Mixed widths and empty input are refused, not drawn wrong.
    let mut m = a.clone();
    m.bucket = BucketWidth::Day;
    m.points.truncate(1);
    m.points[0].start = m.points[0].start.div_euclid(86_400) * 86_400;
    let mixed = TopPorts {
        metric: Metric::Packets,
        ports: vec![a, m],
    };
    assert!(top_ports_chart(&mixed, &ChartOptions::default(), ImageFormat::Svg).is_err());
    let empty = TopPorts {
        metric: Metric::Packets,
        ports: vec![],
    };
    assert!(top_ports_chart(&empty, &ChartOptions::default(), ImageFormat::Png).is_err());
}

#[test]
fn bad_options_and_formats_are_errors() {
    let s = series_5168(BucketWidth::Hour);
    let tiny = ChartOptions {
        width: 10,
        ..ChartOptions::default()
    };
    assert!(port_chart(&s, None, &tiny, ImageFormat::Png).is_err());
    assert_eq!(
        ImageFormat::from_path("x/out.PNG".as_ref()).ok(),
        Some(ImageFormat::Png)
    );
    assert_eq!(
        ImageFormat::from_path("out.svg".as_ref()).ok(),
        Some(ImageFormat::Svg)
    );
    assert!(ImageFormat::from_path("out.gif".as_ref()).is_err());
    // Five-minute buckets draw too (the bucket is selectable).
    let fine = series_5168(BucketWidth::FiveMinutes);
    assert!(port_chart(&fine, None, &ChartOptions::default(), ImageFormat::Svg).is_ok());
}

#[test]
fn busy_port_shows_its_baseline_band() {
    // A 445-like port: about 40 sources an hour with a daily rhythm, and a
    // doubling for four hours.
    let day = support::DAY;
    let points = (0..48)
        .map(|h| {
            let t = day + h * 3600;
            let normal = 40.0 + 15.0 * ((h as f64) * std::f64::consts::TAU / 24.0).sin();
            let seen = if (30..34).contains(&h) {
                normal * 2.0
            } else {
                normal
            };
            let mut p =
                portwatch_publish::Point::new(t, seen as u64, seen as u64 * 3, seen as u64 * 2);
            p.expected = Some(portwatch_publish::Expected {
                sources: portwatch_publish::Band::around(normal, 1.5),
                packets: portwatch_publish::Band::around(normal * 3.0, 1.5),
            });
            p
        })
        .collect();
    let series = portwatch_publish::PortSeries {
        key: "445/tcp".parse().expect("key"),
        bucket: BucketWidth::Hour,
        points,
    };
    let png = port_chart(&series, None, &ChartOptions::default(), ImageFormat::Png).expect("png");
    std::fs::write(out_dir().join("busy.png"), &png).expect("write");
    let (w, _, rgb) = decode_png(&png);
    // The band: BAND (190,190,190) at 55% over white.
    let band = count(&rgb, w, 40..300, 80..980, |p| near(p, [215, 215, 215], 12));
    assert!(band > 5_000, "baseline band drawn ({band} pixels)");
}
