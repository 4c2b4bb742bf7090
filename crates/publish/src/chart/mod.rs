//! Charts: one port's series with its baseline band and alert window, and
//! the busiest ports side by side. SVG for documents and browsers, PNG for
//! everything else.
//!
//! Text is drawn with DejaVu Sans, bundled in the crate and registered with
//! plotters' `ab_glyph` backend, so rendering never asks the system for
//! fonts (a server or CI image often has none). SVG output names the
//! family `sans-serif`, so viewers use their own sans-serif face.

mod axis;
mod port;
mod top;

use std::path::Path;
use std::sync::OnceLock;

use plotters::prelude::*;
use plotters::style::FontStyle;

use crate::PublishError;

pub(crate) use port::format_count;
pub use port::port_chart;
pub use top::{TopPorts, top_ports_chart};

/// The font family every chart uses.
const FAMILY: &str = "sans-serif";
static DEJAVU_SANS: &[u8] = include_bytes!("../../fonts/DejaVuSans.ttf");

/// The image formats charts are written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageFormat {
    Svg,
    Png,
}

impl ImageFormat {
    /// From a file name's extension (`out.svg`, `out.png`), as
    /// `report port --chart FILE` takes it.
    pub fn from_path(path: &Path) -> Result<ImageFormat, PublishError> {
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .unwrap_or_default()
            .to_ascii_lowercase();
        match ext.as_str() {
            "svg" => Ok(ImageFormat::Svg),
            "png" => Ok(ImageFormat::Png),
            _ => Err(PublishError::Format(
                path.display().to_string(),
                "a file ending in .svg or .png",
            )),
        }
    }
}

/// Size and title of a chart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChartOptions {
    /// Pixels (SVG user units); 200–8000.
    pub width: u32,
    pub height: u32,
    /// Replaces the generated title.
    pub title: Option<String>,
}

impl Default for ChartOptions {
    fn default() -> Self {
        ChartOptions {
            width: 1000,
            height: 640,
            title: None,
        }
    }
}

impl ChartOptions {
    fn validate(&self) -> Result<(), PublishError> {
        let ok = |v: u32| (200..=8000).contains(&v);
        if ok(self.width) && ok(self.height) {
            Ok(())
        } else {
            Err(PublishError::Input(format!(
                "chart size {}x{} is outside 200–8000 pixels",
                self.width, self.height
            )))
        }
    }
}

/// Registers the bundled font once per process.
fn ensure_font() -> Result<(), PublishError> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = *REGISTERED.get_or_init(|| {
        plotters::style::register_font(FAMILY, FontStyle::Normal, DEJAVU_SANS).is_ok()
            && plotters::style::register_font(FAMILY, FontStyle::Bold, DEJAVU_SANS).is_ok()
    });
    if ok {
        Ok(())
    } else {
        Err(PublishError::Chart("the bundled font did not load".into()))
    }
}

pub(crate) fn chart_err<E: std::fmt::Display>(e: E) -> PublishError {
    PublishError::Chart(e.to_string())
}

/// Something that draws itself on any plotters backend, so one drawing
/// routine serves SVG and PNG alike.
pub(crate) trait Draw {
    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, plotters::coord::Shift>,
    ) -> Result<(), PublishError>;
}

/// Draws on an SVG or a bitmap backend and returns the file's bytes.
fn render(
    opts: &ChartOptions,
    format: ImageFormat,
    what: &impl Draw,
) -> Result<Vec<u8>, PublishError> {
    opts.validate()?;
    ensure_font()?;
    let size = (opts.width, opts.height);
    match format {
        ImageFormat::Svg => {
            let mut svg = String::new();
            {
                let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
                root.fill(&WHITE).map_err(chart_err)?;
                what.draw(&root)?;
                root.present().map_err(chart_err)?;
            }
            Ok(svg.into_bytes())
        }
        ImageFormat::Png => {
            let (w, h) = (opts.width as usize, opts.height as usize);
            let mut rgb = vec![0u8; w * h * 3];
            {
                let root = BitMapBackend::with_buffer(&mut rgb, size).into_drawing_area();
                root.fill(&WHITE).map_err(chart_err)?;
                what.draw(&root)?;
                root.present().map_err(chart_err)?;
            }
            encode_png(&rgb, opts.width, opts.height)
        }
    }
}

fn encode_png(rgb: &[u8], width: u32, height: u32) -> Result<Vec<u8>, PublishError> {
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, width, height);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        let mut writer = enc.write_header()?;
        writer.write_image_data(rgb)?;
    }
    Ok(out)
}

/// Colours chosen to survive grey-scale printing: a dark line on light
/// fills, never two mid-tones that print alike.
pub(crate) mod palette {
    use plotters::style::RGBColor;

    pub const OBSERVED: RGBColor = RGBColor(0, 70, 160);
    pub const BAND: RGBColor = RGBColor(190, 190, 190);
    pub const EXPECTED: RGBColor = RGBColor(90, 90, 90);
    pub const WINDOW: RGBColor = RGBColor(255, 190, 60);
    pub const ONSET: RGBColor = RGBColor(190, 30, 30);
    pub const PEAK: RGBColor = RGBColor(0, 0, 0);
    pub const GRID: RGBColor = RGBColor(225, 225, 225);
    /// Okabe–Ito, distinguishable with the common colour-vision
    /// deficiencies; black first so the top port prints darkest.
    pub const LINES: [RGBColor; 8] = [
        RGBColor(0, 0, 0),
        RGBColor(230, 159, 0),
        RGBColor(0, 114, 178),
        RGBColor(213, 94, 0),
        RGBColor(0, 158, 115),
        RGBColor(204, 121, 167),
        RGBColor(86, 180, 233),
        RGBColor(160, 140, 0),
    ];
}
