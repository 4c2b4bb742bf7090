//! A realistic constructed 5168/tcp alert (the August 2007 shape: silent
//! port, ~300 sources within hours, tapering) and its series.

#![allow(dead_code)]

pub mod tools;

use portwatch_core::{BucketWidth, PortKey, Proto};
use portwatch_detect::Alert;
use portwatch_publish::{Point, PortSeries};

/// 2007-08-22 00:00 UTC.
pub const DAY: i64 = 1_187_740_800;

pub fn alert_5168() -> Alert {
    let json = r#"{"schema":"portwatch.alert/1","id":"369c41a8f157fde9","proto":"tcp","port":5168,
      "kind":"new_port","moved":"both","state":"closed",
      "transitions":[{"state":"rising","at":"2007-08-22T14:00:00Z","decided":"2007-08-22T14:01:00Z"},
                     {"state":"peak","at":"2007-08-22T14:38:00Z","decided":"2007-08-22T14:53:00Z"},
                     {"state":"tapering","at":"2007-08-22T15:25:00Z","decided":"2007-08-22T15:25:00Z"},
                     {"state":"closed","at":"2007-08-22T20:04:00Z","decided":"2007-08-22T21:28:00Z"}],
      "onset":"2007-08-22T14:00:00Z","opened":"2007-08-22T14:01:00Z",
      "last_active":"2007-08-22T20:03:00Z","closed":"2007-08-22T20:04:00Z",
      "peak":{"at":"2007-08-22T14:34:00Z","sources":213,"packets":373,"targets":372},
      "baseline_at_onset":{"sources_per_min":0.0005,"packets_per_min":0.0005},
      "score":{"at_open":15.4,"max":459.8,"ratio_at_open":4608.0,"window_minutes":5},
      "during":{"minutes":364,"gap_minutes":0,"packets":29706,"source_minutes":17326,
                "sources_at_least":312,"targets_peak_per_min":372},
      "top_sources":[{"addr":"108.0.96.224","packets":462},{"addr":"49.211.84.163","packets":445},
                     {"addr":"2001:db8:77::5","packets":120}],
      "summary":"5168/tcp: new port began 2007-08-22 14:00 UTC; 312+ sources, peak 213 sources/min at 2007-08-22 14:34 UTC vs 0.00/min normal (sources and packets moved); back to background by 2007-08-22 20:04 UTC"}"#;
    serde_json::from_str(json).expect("fixture alert")
}

/// Hourly (or finer) series over two days around the alert: a trickle,
/// then the campaign rising at 14:00 and tapering by 20:00.
pub fn series_5168(bucket: BucketWidth) -> PortSeries {
    let w = bucket.secs();
    let (from, to) = (DAY - 12 * 3600, DAY + 36 * 3600);
    let mut points = Vec::new();
    let mut t = from;
    while t < to {
        let h = (t - DAY) as f64 / 3600.0;
        let per_min = if (14.0..20.0).contains(&h) {
            213.0 * (-(h - 14.5).max(0.0) / 1.2).exp()
        } else if ((t / 3600) % 7) == 0 {
            0.7
        } else {
            0.0
        };
        let minutes = (w / 60) as f64;
        // Distinct sources over a bucket grow slower than the minutes do.
        let sources = (per_min * minutes.sqrt().min(1.5)).round() as u64;
        if sources > 0 {
            points.push(Point::new(t, sources, sources * 2 + 1, sources + 3));
        }
        t += w;
    }
    PortSeries {
        key: PortKey::new(Proto::Tcp, 5168),
        bucket,
        points,
    }
}
