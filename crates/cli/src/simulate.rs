//! `portwatch simulate`.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, anyhow, bail};
use portwatch_simulate::{Campaign, Resolution, SimConfig, simulate};

use crate::args::SimulateArgs;
use crate::exit::Exit;
use crate::output::count;

/// Campaigns of the README demo when the user names none: the four rows of
/// the design's history table, scaled to a 48-hour run.
const DEMO_CAMPAIGNS: [&str; 4] = [
    // 2007: ServerProtect, 300+ sources probing ~1,000 targets, tapering.
    "5168/tcp@30h+6h,sources=320,targets=3,tool=masscan,ramp=taper",
    // 2005: SMB after a patch: a busy port draws far more sources (after
    // the first day, which detection spends learning every port's normal).
    "445/tcp@28h+8h,sources=400,pps=0.05,tool=mirai,ramp=linear:2h",
    // 2013: port 0, TCP and UDP, a short burst.
    "0/tcp@40h+1h,sources=60,pps=0.5,tool=zmap",
    "0/udp@40h+1h,sources=60,pps=0.5,tool=zmap",
];

pub fn run(a: SimulateArgs) -> anyhow::Result<Exit> {
    let mut cfg = match &a.config {
        Some(path) => {
            let text = std::fs::read_to_string(path).with_context(|| {
                format!("{}: cannot read the simulation config", path.display())
            })?;
            toml::from_str::<SimConfig>(&text).map_err(|e| anyhow!("{}: {e}", path.display()))?
        }
        None => SimConfig::default(),
    };
    if a.config.is_none() || a.hours != 48.0 {
        if !(a.hours > 0.0 && a.hours <= 24.0 * 366.0) {
            bail!(
                "--hours {}: expected more than 0 and at most a year",
                a.hours
            );
        }
        cfg.duration_secs = (a.hours * 3600.0).round() as u64;
    }
    if let Some(seed) = a.seed {
        cfg.seed = seed;
    }
    if let Some(p) = a.packets {
        cfg.total_packets = Some(p);
    }
    if let Some(s) = a.sources {
        cfg.background_sources =
            u32::try_from(s).map_err(|_| anyhow!("--sources {s}: at most {}", u32::MAX))?;
    }
    if a.nanos {
        cfg.resolution = Resolution::Nano;
    }
    if a.no_campaigns {
        cfg.campaigns.clear();
    } else if !a.campaigns.is_empty() {
        cfg.campaigns = a
            .campaigns
            .iter()
            .map(|s| {
                s.parse::<Campaign>()
                    .map_err(|e| anyhow!("--campaign {s:?}: {e}"))
            })
            .collect::<anyhow::Result<_>>()?;
    } else if a.config.is_none() {
        // Only the demo campaigns that fit the run.
        cfg.campaigns = DEMO_CAMPAIGNS
            .iter()
            .filter_map(|s| s.parse::<Campaign>().ok())
            .filter(|c| c.start_offset_secs + c.duration_secs <= cfg.duration_secs)
            .collect();
    }
    cfg.validate()
        .map_err(|e| anyhow!("simulation config: {e}"))?;

    let truth_path = a.truth.clone().unwrap_or_else(|| truth_path_for(&a.out));
    let file =
        File::create(&a.out).with_context(|| format!("{}: cannot create", a.out.display()))?;
    let truth = write_capture(&cfg, &a.out, file)?;
    let truth_file = File::create(&truth_path)
        .with_context(|| format!("{}: cannot create", truth_path.display()))?;
    let mut w = BufWriter::new(truth_file);
    serde_json::to_writer_pretty(&mut w, &truth)?;
    writeln!(w)?;
    w.flush()?;

    eprintln!(
        "portwatch: wrote {} packets ({} campaigns) to {} and the ground truth to {}",
        count(truth.packets),
        cfg.campaigns.len(),
        a.out.display(),
        truth_path.display()
    );
    Ok(Exit::Ok)
}

/// Compresses by the output's extension: the only place portwatch looks at a
/// file name, and only for files it writes.
fn write_capture(
    cfg: &SimConfig,
    path: &Path,
    file: File,
) -> anyhow::Result<portwatch_simulate::GroundTruth> {
    let name = path.to_string_lossy().to_ascii_lowercase();
    let ctx = || format!("{}: writing the capture", path.display());
    let buffered = BufWriter::with_capacity(1 << 20, file);
    let truth = if name.ends_with(".gz") {
        let mut gz = flate2::write::GzEncoder::new(buffered, flate2::Compression::new(6));
        let t = simulate(cfg, &mut gz).with_context(ctx)?;
        gz.finish().with_context(ctx)?.flush().with_context(ctx)?;
        t
    } else if name.ends_with(".zst") || name.ends_with(".zstd") {
        let mut z = zstd::stream::write::Encoder::new(buffered, 3).with_context(ctx)?;
        let t = simulate(cfg, &mut z).with_context(ctx)?;
        z.finish().with_context(ctx)?.flush().with_context(ctx)?;
        t
    } else {
        let mut w = buffered;
        let t = simulate(cfg, &mut w).with_context(ctx)?;
        w.flush().with_context(ctx)?;
        t
    };
    Ok(truth)
}

/// `demo.pcap` → `demo.truth.json`; `demo.pcap.gz` → `demo.truth.json`.
fn truth_path_for(out: &Path) -> PathBuf {
    let name = out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "capture".into());
    let stem = name
        .trim_end_matches(".gz")
        .trim_end_matches(".zst")
        .trim_end_matches(".zstd")
        .trim_end_matches(".pcap");
    out.with_file_name(format!("{stem}.truth.json"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truth_sits_beside_the_capture() {
        assert_eq!(
            truth_path_for(Path::new("/x/demo.pcap")),
            Path::new("/x/demo.truth.json")
        );
        assert_eq!(
            truth_path_for(Path::new("demo.pcap.gz")),
            Path::new("demo.truth.json")
        );
    }

    #[test]
    fn demo_campaigns_parse() {
        for c in DEMO_CAMPAIGNS {
            c.parse::<Campaign>().unwrap();
        }
    }
}
