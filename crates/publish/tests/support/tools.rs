//! External tools the tests use as independent checks: the OASIS STIX 2.1
//! validator and headless Chromium. Missing tools make the test print
//! `skipped: …` and pass.

#![allow(dead_code, clippy::print_stderr)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// A command that runs `stix2_validator`, installing it into a venv under
/// the target directory when it is not on PATH.
pub fn stix_validator() -> Result<PathBuf, String> {
    if let Ok(p) = std::env::var("PORTWATCH_STIX2_VALIDATOR") {
        return Ok(PathBuf::from(p));
    }
    if Command::new("stix2_validator")
        .arg("--help")
        .output()
        .is_ok_and(|o| o.status.success())
    {
        return Ok(PathBuf::from("stix2_validator"));
    }
    let venv = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("stix-venv");
    let bin = venv.join("bin/stix2_validator");
    if bin.exists() {
        return Ok(bin);
    }
    let ok = Command::new("python3")
        .args(["-m", "venv"])
        .arg(&venv)
        .status()
        .is_ok_and(|s| s.success())
        && Command::new(venv.join("bin/pip"))
            .args(["install", "-q", "stix2-validator"])
            .status()
            .is_ok_and(|s| s.success());
    if ok && bin.exists() {
        Ok(bin)
    } else {
        Err("stix2-validator is not installed and could not be installed with pip".into())
    }
}

/// Runs the validator on `file`; `Err` carries its report.
pub fn validate_stix(validator: &Path, file: &Path) -> Result<String, String> {
    let out = Command::new(validator)
        .arg("--version")
        .arg("2.1")
        .arg(file)
        .output()
        .map_err(|e| format!("running {}: {e}", validator.display()))?;
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if out.status.success() {
        Ok(report)
    } else {
        Err(report)
    }
}

/// Screenshots `html` with headless Chromium into `png`.
pub fn screenshot(html: &Path, png: &Path) -> Result<(), String> {
    let chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .ok_or("chromium is not installed (apt-get install chromium)")?;
    let profile = tempfile::tempdir().map_err(|e| e.to_string())?;
    let out = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--window-size=1200,1600",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(format!("--screenshot={}", png.display()))
        .arg(format!("file://{}", html.display()))
        .output()
        .map_err(|e| format!("running chromium: {e}"))?;
    if png.exists() {
        Ok(())
    } else {
        Err(format!(
            "chromium wrote no screenshot: {}",
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

/// Decodes a PNG into (width, height, RGB bytes).
pub fn decode_png(bytes: &[u8]) -> (u32, u32, Vec<u8>) {
    let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    let mut reader = decoder.read_info().expect("png header");
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).expect("png frame");
    buf.truncate(info.buffer_size());
    let rgb = match info.color_type {
        png::ColorType::Rgb => buf,
        png::ColorType::Rgba => buf.chunks(4).flat_map(|p| [p[0], p[1], p[2]]).collect(),
        other => panic!("unexpected PNG colour type {other:?}"),
    };
    (info.width, info.height, rgb)
}
