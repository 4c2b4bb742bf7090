//! The Numenta Anomaly Benchmark as a second, external check: real series
//! with labelled anomaly windows, scored with NAB's standard profile.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use portwatch_core::{PortKey, Proto, Timestamp};
use portwatch_detect::eval::{NabProfile, nab_file_score, nab_normalize, nab_probation};
use portwatch_detect::{DetectConfig, Detector, MinuteSample};

/// Where the shared test data is: `$PORTWATCH_SHARED_DATA`, else
/// `<workspace>/../shared/data/external`.
pub fn shared_data() -> PathBuf {
    std::env::var_os("PORTWATCH_SHARED_DATA").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/external"),
        PathBuf::from,
    )
}

/// One NAB data file with its windows as row ranges.
#[derive(Debug)]
pub struct NabFile {
    pub name: String,
    /// (minute, value) per row.
    pub rows: Vec<(i64, f64)>,
    pub windows: Vec<(usize, usize)>,
}

/// Reads every data file named in `labels/combined_windows.json`; `None`
/// when the data is not there.
pub fn load(root: &Path) -> Option<Vec<NabFile>> {
    let labels = std::fs::read_to_string(root.join("labels/combined_windows.json")).ok()?;
    let labels: BTreeMap<String, Vec<(String, String)>> =
        serde_json::from_str(&labels).expect("combined_windows.json");
    let mut out = Vec::new();
    for (name, windows) in labels {
        let text = std::fs::read_to_string(root.join("data").join(&name)).ok()?;
        let rows: Vec<(i64, f64)> = text
            .lines()
            .skip(1)
            .filter_map(|l| {
                let (t, v) = l.split_once(',')?;
                let ts = Timestamp::parse_rfc3339(t)?;
                Some((ts.secs() - ts.secs().rem_euclid(60), v.trim().parse().ok()?))
            })
            .collect();
        let time = |s: &str| Timestamp::parse_rfc3339(s).expect("window time").secs();
        let windows = windows
            .iter()
            .filter_map(|(a, b)| {
                let (a, b) = (time(a), time(b));
                let s = rows.iter().position(|r| r.0 >= a)?;
                let e = rows.iter().rposition(|r| r.0 <= b)?;
                (s <= e).then_some((s, e))
            })
            .collect();
        out.push(NabFile {
            name,
            rows,
            windows,
        });
    }
    Some(out)
}

/// The detector's settings for a series that is not a count of scanners:
/// no evidence thresholds (there are no sources to count), dispersion free
/// to fall below Poisson, the probationary period as warm-up.
pub fn nab_config(open_score: f64, probation_rows: usize) -> DetectConfig {
    DetectConfig {
        open_score,
        close_score: (open_score * 0.5).min(2.0),
        min_sources: 1,
        min_packets: 0,
        min_ratio: 1.0,
        min_dispersion: 1e-3,
        floor_rate: 1e-3,
        warmup_hours: probation_rows as f64 / 60.0,
        ..DetectConfig::default()
    }
}

/// Rows where the detector raised (or re-opened) an alert.
pub fn detections(file: &NabFile, cfg: &DetectConfig) -> Vec<usize> {
    // Values become counts with a median near 1,000: the score is scale
    // free once the dispersion is learned, and rounding costs nothing.
    let min = file.rows.iter().map(|r| r.1).fold(f64::INFINITY, f64::min);
    let shift = if min < 0.0 { -min } else { 0.0 };
    let mut vals: Vec<f64> = file.rows.iter().map(|r| r.1 + shift).collect();
    vals.sort_by(f64::total_cmp);
    let median = vals.get(vals.len() / 2).copied().unwrap_or(1.0);
    let scale = if median > 0.0 { 1000.0 / median } else { 1.0 };

    let key = PortKey::new(Proto::Tcp, 1);
    let mut d = Detector::new(cfg.clone()).expect("nab config");
    let mut row_of: BTreeMap<i64, usize> = BTreeMap::new();
    let mut last = i64::MIN;
    for (i, &(minute, v)) in file.rows.iter().enumerate() {
        if minute <= last {
            continue;
        }
        last = minute;
        row_of.insert(minute, i);
        let n = ((v + shift) * scale).round().max(0.0) as u64;
        let sample = MinuteSample {
            packets: n,
            sources: n,
            targets: 1,
            top: Vec::new(),
        };
        let samples = if n > 0 { vec![(key, sample)] } else { vec![] };
        d.step(minute, true, &samples).expect("nab step");
    }
    let mut rows: Vec<usize> = d
        .alerts()
        .flat_map(|a| {
            std::iter::once(a.opened).chain(
                a.transitions
                    .iter()
                    .filter(|t| t.reopened)
                    .map(|t| t.decided),
            )
        })
        .filter_map(|m| row_of.get(&m).copied())
        .collect();
    rows.sort_unstable();
    rows
}

/// Normalized standard-profile score over all files for one threshold,
/// with the raw total and window count.
pub fn score_all(files: &[NabFile], open_score: f64) -> (f64, f64, usize) {
    let p = NabProfile::STANDARD;
    let mut raw = 0.0;
    let mut windows = 0;
    for f in files {
        let cfg = nab_config(open_score, nab_probation(f.rows.len()));
        let det = detections(f, &cfg);
        raw += nab_file_score(f.rows.len(), &f.windows, &det, p);
        windows += f.windows.len();
    }
    (nab_normalize(raw, windows, p), raw, windows)
}
