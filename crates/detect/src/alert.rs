//! What the detector reports: [`Alert`]s with their lifecycle and evidence,
//! and the JSON shape they are published in (`portwatch.alert/1`).

use std::net::IpAddr;

use portwatch_core::{PortKey, Proto, Timestamp};
use serde::{Deserialize, Serialize};

/// Version tag of the alert JSON. A change that removes or renames a field
/// bumps it; adding a field does not.
pub const ALERT_SCHEMA: &str = "portwatch.alert/1";

/// What kind of finding an alert is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// Many more distinct sources than the port's normal.
    Campaign,
    /// A port silent for its whole history now draws many sources.
    NewPort,
    /// Packets rose, and one source sent most of the excess: a loud
    /// scanner, not a campaign (lower severity).
    SingleSource,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Campaign => "campaign",
            Kind::NewPort => "new_port",
            Kind::SingleSource => "single_source",
        }
    }

    /// Campaign and new-port alerts are the findings that warn of a
    /// campaign; single-source ones are reported apart.
    pub fn is_campaign(self) -> bool {
        !matches!(self, Kind::SingleSource)
    }
}

/// Which series moved (rule 6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Moved {
    Sources,
    Packets,
    Both,
}

/// Where an alert is in its lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Still setting new highs.
    Rising,
    /// No new high for a while, level near it.
    Peak,
    /// Fallen below half of its peak excess.
    Tapering,
    /// Back to background (with hysteresis).
    Closed,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Rising => "rising",
            State::Peak => "peak",
            State::Tapering => "tapering",
            State::Closed => "closed",
        }
    }
}

/// One lifecycle step. `at` is when the new state began (the peak minute,
/// the first minute back at background); `decided` is the minute whose data
/// made it certain, which is never earlier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transition {
    pub state: State,
    #[serde(with = "rfc3339")]
    pub at: i64,
    #[serde(with = "rfc3339")]
    pub decided: i64,
    /// True when this step re-opened a closed alert.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub reopened: bool,
}

/// The busiest minute of an alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Peak {
    #[serde(with = "rfc3339")]
    pub at: i64,
    pub sources: u64,
    pub packets: u64,
    pub targets: u64,
}

/// The port's expected per-minute counts when the alert opened.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Baseline {
    pub sources_per_min: f64,
    pub packets_per_min: f64,
}

/// How far above normal.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Score {
    /// The score that opened the alert.
    pub at_open: f64,
    /// The highest score while open.
    pub max: f64,
    /// Observed / expected in the window that opened the alert.
    pub ratio_at_open: f64,
    /// That window's length in minutes.
    pub window_minutes: u32,
}

/// Counts over the alert's minutes (from onset to close).
///
/// Per-minute counts do not add up to distinct counts over a span, so
/// `sources_at_least` is the number of distinct addresses among the
/// minutes' top sources (exact while each minute had at most as many
/// sources as the top list holds); the store can compute exact distinct
/// counts for `[onset, closed)` by merging the minutes' sketches.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Totals {
    pub minutes: u64,
    /// Minutes inside the alert when the sensor saw nothing at all.
    pub gap_minutes: u64,
    pub packets: u64,
    /// Sum over minutes of distinct sources per minute.
    pub source_minutes: u64,
    pub sources_at_least: u64,
    pub targets_peak_per_min: u64,
    /// Distinct sources over the alert's span, from the store's merged
    /// sketches (set by whoever holds the store; the detector sees only
    /// minutes). An estimate beyond the sketches' exact range.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sources: Option<u64>,
    /// Distinct targets over the alert's span, likewise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub targets: Option<u64>,
}

/// One of the loudest sources during an alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopSource {
    pub addr: IpAddr,
    /// Packets counted in the minutes' top lists. A minute keeps its true
    /// top 32 with exact counts (unless more than 1,024 sources sent to the
    /// port in that minute), so this is the source's count over the minutes
    /// where it was among its port's 32 loudest: at most its true count, and
    /// equal to it for a source that was loud throughout.
    pub packets: u64,
}

/// A deterministic alert id: a hash of the port and the onset minute, so
/// that re-running detection over the same data yields the same ids.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct AlertId(pub String);

impl AlertId {
    pub fn new(port: PortKey, onset: i64) -> Self {
        let mut b = [0u8; 11];
        b[0] = port.proto.number();
        b[1..3].copy_from_slice(&port.port.to_be_bytes());
        b[3..11].copy_from_slice(&onset.to_be_bytes());
        AlertId(format!("{:016x}", xxhash_rust::xxh3::xxh3_64(&b)))
    }
}

impl std::fmt::Display for AlertId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A spike on one port, with its lifecycle and evidence. Serializes to the
/// documented `portwatch.alert/1` JSON (see the crate docs).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    pub schema: String,
    pub id: AlertId,
    pub proto: Proto,
    pub port: u16,
    pub kind: Kind,
    pub moved: Moved,
    pub state: State,
    pub transitions: Vec<Transition>,
    /// First minute of the rise (the earliest clearly elevated minute of
    /// the window that opened the alert).
    #[serde(with = "rfc3339")]
    pub onset: i64,
    /// Minute whose data opened the alert (detection time).
    #[serde(with = "rfc3339")]
    pub opened: i64,
    /// Last minute whose 5-minute window scored above the close threshold.
    #[serde(with = "rfc3339")]
    pub last_active: i64,
    #[serde(with = "rfc3339_opt", default)]
    pub closed: Option<i64>,
    pub peak: Peak,
    pub baseline_at_onset: Baseline,
    pub score: Score,
    pub during: Totals,
    pub top_sources: Vec<TopSource>,
    /// One line for humans.
    pub summary: String,
}

impl Alert {
    pub fn key(&self) -> PortKey {
        PortKey::new(self.proto, self.port)
    }

    pub fn to_json(&self) -> String {
        // Serializing plain data with string keys cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Rewrites [`Alert::summary`] from the fields (call it after filling
    /// in [`Totals::sources`]).
    pub fn summarize(&mut self) {
        let hm = |m: i64| {
            let s = Timestamp::from_secs(m).to_rfc3339();
            format!("{} {} UTC", &s[..10], &s[11..16])
        };
        let what = match self.kind {
            Kind::Campaign => "scan campaign",
            Kind::NewPort => "new port",
            Kind::SingleSource => "single-source flood",
        };
        let moved = match self.moved {
            Moved::Sources => "sources",
            Moved::Packets => "packets only",
            Moved::Both => "sources and packets",
        };
        let b = &self.baseline_at_onset;
        let evidence = match self.kind {
            Kind::SingleSource => {
                let who = self
                    .top_sources
                    .first()
                    .map_or_else(|| "one source".to_string(), |t| t.addr.to_string());
                format!(
                    "{who}: peak {} packets/min at {} vs {:.2}/min normal",
                    self.peak.packets,
                    hm(self.peak.at),
                    b.packets_per_min
                )
            }
            _ => format!(
                "{} sources, peak {} sources/min at {} vs {:.2}/min normal ({} moved)",
                self.during.sources.map_or_else(
                    || format!("{}+", self.during.sources_at_least),
                    |n| n.to_string()
                ),
                self.peak.sources,
                hm(self.peak.at),
                b.sources_per_min,
                moved
            ),
        };
        let since = self.transitions.last().map_or(self.opened, |t| t.at);
        let state = match self.state {
            State::Closed => format!("back to background by {}", hm(since)),
            s => format!("{} since {}", s.as_str(), hm(since)),
        };
        self.summary = format!(
            "{}: {what} began {}; {evidence}; {state}",
            self.key(),
            hm(self.onset)
        );
    }
}

mod rfc3339 {
    use portwatch_core::Timestamp;
    use serde::{Deserialize, Deserializer, Serializer, de};

    pub fn serialize<S: Serializer>(secs: &i64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&Timestamp::from_secs(*secs).to_rfc3339())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
        let s = String::deserialize(d)?;
        Timestamp::parse_rfc3339(&s)
            .map(Timestamp::secs)
            .ok_or_else(|| de::Error::custom(format!("{s:?} is not an RFC 3339 time")))
    }
}

mod rfc3339_opt {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(secs: &Option<i64>, s: S) -> Result<S::Ok, S::Error> {
        match secs {
            Some(v) => super::rfc3339::serialize(v, s),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
        #[derive(Deserialize)]
        struct W(#[serde(with = "super::rfc3339")] i64);
        Ok(Option::<W>::deserialize(d)?.map(|w| w.0))
    }
}

/// What changed in a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Change {
    Opened,
    Reopened,
    /// A lifecycle step (including closing).
    State(State),
    /// A single-source finding turned out to be a campaign.
    Kind(Kind),
}

/// A change to an alert, with the alert as it is after the change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertUpdate {
    pub change: Change,
    pub alert: Alert,
}
