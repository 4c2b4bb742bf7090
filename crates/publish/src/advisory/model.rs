//! The advisory as data: what every format renders, and the JSON document
//! `portwatch.advisory/1` itself (see `docs/advisory.md`).

use portwatch_detect::Alert;
use serde::Serialize;

use super::evidence::{PayloadSignature, Reputation, Share};
use crate::series::Point;
use crate::time::{serde_rfc3339, serde_rfc3339_opt};

/// Version tag of the advisory JSON. Removing or renaming a field bumps it;
/// adding one does not.
pub const ADVISORY_SCHEMA: &str = "portwatch.advisory/1";

/// An advisory about one alert, in the JPCERT/CC alert shape.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Advisory {
    pub schema: String,
    /// `PW-<alert id>`: one advisory per alert, revised as it moves.
    pub id: String,
    /// `<state>-<at>` of the alert's latest transition.
    pub revision: String,
    /// The latest transition's decision time: re-publishing the same alert
    /// state gives the same document.
    #[serde(with = "serde_rfc3339")]
    pub issued: i64,
    pub publisher: String,
    pub title: String,
    pub overview: Overview,
    pub situation: Situation,
    pub cause: Cause,
    pub actions: Vec<String>,
    pub references: Vec<Reference>,
    pub masking: MaskingNote,
    /// The alert with all its evidence (`portwatch.alert/1`).
    pub alert: Alert,
}

/// Section 1: what, how much, since when, where it stands.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Overview {
    /// `5168/tcp`.
    pub port: String,
    pub service: Option<String>,
    /// `campaign`, `new_port` or `single_source`.
    pub kind: String,
    /// Which series moved: `sources`, `packets` or `both`.
    pub moved: String,
    /// `rising`, `peak`, `tapering` or `closed`.
    pub state: String,
    #[serde(with = "serde_rfc3339")]
    pub state_since: i64,
    /// `closed: back to background by …`, `peak since …`.
    pub status: String,
    #[serde(with = "serde_rfc3339")]
    pub onset: i64,
    #[serde(with = "serde_rfc3339")]
    pub peak_at: i64,
    #[serde(with = "serde_rfc3339_opt")]
    pub closed: Option<i64>,
    pub peak_sources_per_min: u64,
    pub peak_packets_per_min: u64,
    pub baseline_sources_per_min: f64,
    pub baseline_packets_per_min: f64,
    /// Peak sources per minute over the baseline (floored at one source a
    /// day, so a silent port gives a finite number).
    pub times_normal: f64,
    /// The sentence every format leads with.
    pub magnitude: String,
    pub summary: String,
}

/// Section 2: what the sensors saw.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Situation {
    /// Bucket width of `series` (`1m`, `5m`, `1h`, `1d`), when given.
    pub bucket: Option<String>,
    pub series: Vec<Point>,
    /// Distinct sources over the window: exact when the store gave it,
    /// else the alert's lower bound.
    pub sources: u64,
    pub sources_exact: bool,
    pub top_sources: Vec<SourceRow>,
    pub targets: Targets,
    pub countries: Vec<Share>,
    pub asns: Vec<Share>,
    pub tools: Vec<Share>,
    pub reputation: Option<Reputation>,
    pub payloads: Vec<PayloadSignature>,
}

/// A source as published (sources are not masked: they are the scanners).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SourceRow {
    pub addr: String,
    pub packets: u64,
}

/// Targets, masked unless the options said otherwise.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Targets {
    pub distinct: Option<u64>,
    pub peak_per_min: u64,
    pub sample: Vec<String>,
    pub masked: bool,
}

/// Section 3: why this port, why now.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Cause {
    pub service: Option<String>,
    pub products: Vec<String>,
    pub notes: Option<String>,
    pub vulnerabilities: Vec<VulnRow>,
}

/// A vulnerability reached through the port.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VulnRow {
    /// CVE or advisory id (`MS17-010`).
    pub id: String,
    /// Every CVE it covers (`id` first when it is one).
    pub cves: Vec<String>,
    pub name: String,
    pub product: String,
    /// `YYYY-MM-DD`, `YYYY-MM` or `YYYY`, as precise as the source.
    pub date: String,
    /// `curated` (public disclosure date) or `kev` (date CISA listed it as
    /// exploited).
    pub source: String,
    /// Whole days from the date (its first day, when imprecise) to the
    /// onset; negative when after it.
    pub days_before_onset: i64,
    /// Within the options' `recent_days` before the onset: a probable cause.
    pub recent: bool,
    /// In CISA's Known Exploited Vulnerabilities catalog.
    pub known_exploited: bool,
    /// "disclosed 2 days before onset" and the like.
    pub timing: String,
}

/// A link with a title.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reference {
    pub title: String,
    pub url: String,
}

/// What was done to target addresses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MaskingNote {
    pub targets_masked: bool,
    pub note: String,
}
