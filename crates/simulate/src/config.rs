//! What a simulated run looks like: [`SimConfig`], its defaults and its
//! validation.

use std::fmt;
use std::str::FromStr;

use portwatch_core::{Proto, Timestamp};
use serde::de::{self, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

use crate::addr::{V4Space, V6Space};
use crate::campaign::{Campaign, RampShape, Secs, parse_secs};
use crate::error::SimError;

/// Everything that decides a simulated capture. The same config gives the
/// same bytes, on any machine.
///
/// Rates, fractions and shapes describe the *background*: the steady noise
/// of the Internet's scanners and of DoS backscatter. [`Campaign`]s come on
/// top of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SimConfig {
    /// Seeds every random choice.
    pub seed: u64,
    /// The first instant of the capture, RFC 3339 in config files. The
    /// default is fixed (2026-01-05T00:00:00Z, a Monday) so that runs
    /// without one stay reproducible.
    #[serde(with = "rfc3339")]
    pub start: Timestamp,
    pub duration_secs: u64,
    /// IPv4 darknet prefixes (CIDR strings).
    pub darknet_v4: Vec<String>,
    /// IPv6 darknet prefixes (CIDR strings).
    pub darknet_v6: Vec<String>,
    /// Mean background packets per second, across all classes; the daily
    /// and weekly rhythms move the rate around this mean.
    pub background_pps: f64,
    /// When set, the background has exactly this many packets (spread with
    /// the same rhythm) and `background_pps` is ignored.
    pub total_packets: Option<u64>,
    /// How many distinct background scanners exist. Their activity is
    /// heavy-tailed: a few send a large share, most send a handful.
    pub background_sources: u32,
    /// Exponent of that heavy tail (1.0: Zipf-like; larger: more skewed).
    pub source_skew: f64,
    /// Share of background probes spread uniformly over all 65,536 ports
    /// rather than the ranked list of commonly scanned ones.
    pub tail_fraction: f64,
    /// Daily rhythm: the rate is multiplied by
    /// `1 + daily_amplitude * cos(2π (hour - daily_peak_hour) / 24)`.
    pub daily_amplitude: f64,
    /// Hour of day (UTC, fractional) when the rate peaks.
    pub daily_peak_hour: f64,
    /// Weekly rhythm, multiplied in the same way over a 7-day period.
    pub weekly_amplitude: f64,
    /// Day of week when the weekly rhythm peaks: 0.0 is Monday 00:00 UTC,
    /// 2.5 is Wednesday noon.
    pub weekly_peak_day: f64,
    /// Share of background packets that are DoS backscatter (SYN-ACKs and
    /// RSTs from attacked servers, ICMP errors, echo replies).
    pub backscatter_fraction: f64,
    /// Share that is neither probe nor backscatter: ACK/FIN/NULL scans,
    /// non-first fragments, ESP, ICMP timestamp requests, ARP.
    pub other_fraction: f64,
    /// Share of background packets over IPv6.
    pub ipv6_fraction: f64,
    /// Share of frames carrying an 802.1Q tag; a tenth of those are QinQ.
    pub vlan_fraction: f64,
    /// Share of background probes that are ICMP echo requests.
    pub icmp_echo_fraction: f64,
    /// Timestamp resolution of the pcap file.
    pub resolution: Resolution,
    pub campaigns: Vec<Campaign>,
    /// Sensor outages: no packet at all is written inside them.
    pub gaps: Vec<Gap>,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            seed: 1,
            start: Timestamp::from_secs(1_767_571_200),
            duration_secs: 86_400,
            darknet_v4: vec!["198.18.0.0/16".into()],
            darknet_v6: vec!["2001:db8:5ca1::/48".into()],
            background_pps: 10.0,
            total_packets: None,
            background_sources: 20_000,
            source_skew: 1.0,
            tail_fraction: 0.15,
            daily_amplitude: 0.3,
            daily_peak_hour: 14.0,
            weekly_amplitude: 0.0,
            weekly_peak_day: 2.5,
            backscatter_fraction: 0.08,
            other_fraction: 0.02,
            ipv6_fraction: 0.01,
            vlan_fraction: 0.02,
            icmp_echo_fraction: 0.04,
            resolution: Resolution::Micro,
            campaigns: Vec::new(),
            gaps: Vec::new(),
        }
    }
}

/// pcap timestamp resolution.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Resolution {
    /// Classic pcap (magic `a1b2c3d4`), what every tool reads.
    #[default]
    Micro,
    /// Nanosecond pcap (magic `a1b23c4d`).
    Nano,
}

/// A sensor outage, `offset_secs` from the start of the run.
///
/// Config files may write it as `[offset, duration]`, as a table, or as the
/// string `OFFSET+DURATION` (`"36h+20m"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Gap {
    pub offset_secs: u64,
    pub duration_secs: u64,
}

impl fmt::Display for Gap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}+{}", Secs(self.offset_secs), Secs(self.duration_secs))
    }
}

impl FromStr for Gap {
    type Err = SimError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (o, d) = s
            .split_once('+')
            .ok_or_else(|| SimError::parse("gap", s, "expected OFFSET+DURATION, e.g. 36h+20m"))?;
        let secs = |v: &str| {
            parse_secs(v).ok_or_else(|| {
                SimError::parse("gap", s, format!("{v:?} is not a duration such as 20m"))
            })
        };
        Ok(Gap {
            offset_secs: secs(o)?,
            duration_secs: secs(d)?,
        })
    }
}

impl<'de> Deserialize<'de> for Gap {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Table {
            offset_secs: u64,
            duration_secs: u64,
        }
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Gap;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a gap as [offset_secs, duration_secs], a table or \"36h+20m\"")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Gap, E> {
                s.parse().map_err(E::custom)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Gap, A::Error> {
                let offset_secs = seq
                    .next_element()?
                    .ok_or_else(|| de::Error::invalid_length(0, &self))?;
                let duration_secs = seq
                    .next_element()?
                    .ok_or_else(|| de::Error::invalid_length(1, &self))?;
                if seq.next_element::<de::IgnoredAny>()?.is_some() {
                    return Err(de::Error::invalid_length(3, &self));
                }
                Ok(Gap {
                    offset_secs,
                    duration_secs,
                })
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Gap, A::Error> {
                let t = Table::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(Gap {
                    offset_secs: t.offset_secs,
                    duration_secs: t.duration_secs,
                })
            }
        }
        d.deserialize_any(V)
    }
}

/// pcap stores unsigned 32-bit seconds.
const PCAP_LAST_SEC: i64 = u32::MAX as i64;
const MAX_DARKNET_V4: u64 = 1 << 24;
/// Keeps pools (and the memory of exact ground truth) within reason.
const MAX_SOURCES: u64 = 50_000_000;

impl SimConfig {
    /// Checks every value; the error names the first bad field.
    pub fn validate(&self) -> Result<(), SimError> {
        if self.duration_secs == 0 {
            return Err(SimError::config("duration_secs", "must be at least 1"));
        }
        let first = self.start.secs();
        let last = first.saturating_add(self.duration_secs.min(i64::MAX as u64) as i64);
        if first < 0 || last > PCAP_LAST_SEC {
            return Err(SimError::config(
                "start",
                "the run must lie between 1970 and 2106, which is all pcap can store",
            ));
        }
        let v4 = V4Space::parse(&self.darknet_v4)
            .map_err(|(i, r)| SimError::config(format!("darknet_v4[{i}]"), r))?;
        let v6 = V6Space::parse(&self.darknet_v6)
            .map_err(|(i, r)| SimError::config(format!("darknet_v6[{i}]"), r))?;
        if v4.total() > MAX_DARKNET_V4 {
            return Err(SimError::config(
                "darknet_v4",
                "at most 2^24 addresses (a /8) in total: ground truth keeps a bitmap of them",
            ));
        }
        for (name, v) in self.fractions() {
            if !(0.0..=1.0).contains(&v) {
                return Err(SimError::config(
                    name,
                    format!("{v} is not a fraction between 0 and 1"),
                ));
            }
        }
        if self.backscatter_fraction + self.other_fraction > 1.0 {
            return Err(SimError::config(
                "other_fraction",
                "backscatter_fraction + other_fraction exceed 1",
            ));
        }
        if !(self.background_pps.is_finite() && self.background_pps >= 0.0) {
            return Err(SimError::config(
                "background_pps",
                "must be a non-negative number",
            ));
        }
        if !(self.source_skew.is_finite() && (0.0..=4.0).contains(&self.source_skew)) {
            return Err(SimError::config("source_skew", "must be between 0 and 4"));
        }
        if !(0.0..24.0).contains(&self.daily_peak_hour) {
            return Err(SimError::config("daily_peak_hour", "must be in [0, 24)"));
        }
        if !(0.0..7.0).contains(&self.weekly_peak_day) {
            return Err(SimError::config("weekly_peak_day", "must be in [0, 7)"));
        }
        let background = self
            .total_packets
            .map_or(self.background_pps > 0.0, |n| n > 0);
        if background {
            if self.background_sources == 0 {
                return Err(SimError::config(
                    "background_sources",
                    "must be at least 1 when there is background",
                ));
            }
            if self.ipv6_fraction < 1.0 && v4.total() == 0 {
                return Err(SimError::config(
                    "darknet_v4",
                    "IPv4 background needs at least one prefix",
                ));
            }
            if self.ipv6_fraction > 0.0 && v6.is_empty() {
                return Err(SimError::config(
                    "darknet_v6",
                    "ipv6_fraction > 0 needs at least one prefix",
                ));
            }
        }
        let campaign_sources: u64 = self.campaigns.iter().map(|c| u64::from(c.sources)).sum();
        if u64::from(self.background_sources) + campaign_sources > MAX_SOURCES {
            return Err(SimError::config(
                "background_sources",
                format!("all sources together exceed {MAX_SOURCES}"),
            ));
        }
        for (i, c) in self.campaigns.iter().enumerate() {
            validate_campaign(c, self.duration_secs, &v4)
                .map_err(|(f, r)| SimError::config(format!("campaigns[{i}].{f}"), r))?;
        }
        for (i, g) in self.gaps.iter().enumerate() {
            if g.duration_secs == 0 {
                return Err(SimError::config(
                    format!("gaps[{i}].duration_secs"),
                    "must be at least 1",
                ));
            }
            if g.offset_secs.saturating_add(g.duration_secs) > self.duration_secs {
                return Err(SimError::config(
                    format!("gaps[{i}].offset_secs"),
                    format!("gap {g} ends after the run"),
                ));
            }
        }
        let dark: u64 = crate::rate::merged_gaps(self)
            .iter()
            .map(|(a, b)| (b - a) as u64)
            .sum();
        if dark >= self.duration_secs {
            return Err(SimError::config("gaps", "the gaps cover the whole run"));
        }
        Ok(())
    }

    fn fractions(&self) -> [(&'static str, f64); 8] {
        [
            ("tail_fraction", self.tail_fraction),
            ("daily_amplitude", self.daily_amplitude),
            ("weekly_amplitude", self.weekly_amplitude),
            ("backscatter_fraction", self.backscatter_fraction),
            ("other_fraction", self.other_fraction),
            ("ipv6_fraction", self.ipv6_fraction),
            ("vlan_fraction", self.vlan_fraction),
            ("icmp_echo_fraction", self.icmp_echo_fraction),
        ]
    }

    /// The background rate multiplier at `abs_secs` (Unix seconds): the
    /// daily and weekly rhythms, averaging 1 over whole periods.
    pub(crate) fn rhythm(&self, abs_secs: f64) -> f64 {
        use std::f64::consts::TAU;
        let hour = abs_secs.rem_euclid(86_400.0) / 3600.0;
        let daily = 1.0 + self.daily_amplitude * (TAU * (hour - self.daily_peak_hour) / 24.0).cos();
        if self.weekly_amplitude == 0.0 {
            return daily;
        }
        // 1970-01-01 was a Thursday: day 3 of a week starting on Monday.
        let day = (abs_secs / 86_400.0 + 3.0).rem_euclid(7.0);
        daily * (1.0 + self.weekly_amplitude * (TAU * (day - self.weekly_peak_day) / 7.0).cos())
    }
}

fn validate_campaign(
    c: &Campaign,
    run_secs: u64,
    v4: &V4Space,
) -> Result<(), (&'static str, String)> {
    if !matches!(c.proto, Proto::Tcp | Proto::Udp) {
        return Err((
            "proto",
            format!("{} campaigns are not simulated; use tcp or udp", c.proto),
        ));
    }
    if c.duration_secs == 0 {
        return Err(("duration_secs", "must be at least 1".into()));
    }
    if c.start_offset_secs.saturating_add(c.duration_secs) > run_secs {
        return Err((
            "start_offset_secs",
            format!(
                "campaign {}+{} ends after the run ({})",
                Secs(c.start_offset_secs),
                Secs(c.duration_secs),
                Secs(run_secs)
            ),
        ));
    }
    if c.sources == 0 {
        return Err(("sources", "must be at least 1".into()));
    }
    if v4.total() == 0 {
        return Err((
            "proto",
            "campaigns scan IPv4 and darknet_v4 is empty".into(),
        ));
    }
    match (c.rate_pps_per_source, c.targets_per_source, c.total_packets) {
        (Some(_), _, Some(_)) => {
            return Err((
                "total_packets",
                "give rate_pps_per_source or total_packets, not both".into(),
            ));
        }
        (None, None, None) => {
            return Err((
                "rate_pps_per_source",
                "give rate_pps_per_source, targets_per_source or total_packets".into(),
            ));
        }
        _ => {}
    }
    if let Some(p) = c.rate_pps_per_source
        && !(p.is_finite() && p > 0.0 && p <= 1e7)
    {
        return Err((
            "rate_pps_per_source",
            format!("{p} is not a rate between 0 and 10^7"),
        ));
    }
    if let Some(t) = c.targets_per_source
        && (t == 0 || u64::from(t) > v4.total())
    {
        return Err((
            "targets_per_source",
            format!(
                "must be between 1 and the darknet's {} addresses",
                v4.total()
            ),
        ));
    }
    if c.total_packets == Some(0) {
        return Err(("total_packets", "must be at least 1".into()));
    }
    match c.ramp.shape(c.duration_secs) {
        RampShape::Linear { rise } | RampShape::Taper { rise, .. } if rise <= 0.0 => {
            Err(("ramp", "the rise must last at least a second".into()))
        }
        RampShape::Taper { half_life, .. } if half_life <= 0.0 => {
            Err(("ramp", "the half-life must last at least a second".into()))
        }
        _ => Ok(()),
    }
}

/// Start times as RFC 3339 text, with a fraction only when there is one.
/// Reads a string, or a TOML datetime (which TOML's serde support hands
/// over as a one-entry map holding the text).
mod rfc3339 {
    use std::fmt;

    use portwatch_core::Timestamp;
    use serde::de::{self, MapAccess, Visitor};
    use serde::{Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(t: &Timestamp, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::format_ts(*t))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Timestamp, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Timestamp;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an RFC 3339 time such as 2026-01-05T00:00:00Z")
            }
            fn visit_str<E: de::Error>(self, text: &str) -> Result<Timestamp, E> {
                Timestamp::parse_rfc3339(text).ok_or_else(|| {
                    E::custom(format!(
                        "{text:?} is not an RFC 3339 time such as 2026-01-05T00:00:00Z"
                    ))
                })
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Timestamp, A::Error> {
                let Some((_, text)) = map.next_entry::<de::IgnoredAny, String>()? else {
                    return Err(de::Error::custom("empty datetime"));
                };
                self.visit_str(&text)
            }
        }
        d.deserialize_any(V)
    }
}

/// RFC 3339 in UTC, with nanoseconds only when they are not zero.
pub(crate) fn format_ts(t: Timestamp) -> String {
    let nanos = t.nanos().rem_euclid(1_000_000_000);
    let whole = t.to_rfc3339();
    if nanos == 0 {
        return whole;
    }
    let mut frac = format!("{nanos:09}");
    while frac.ends_with('0') {
        frac.pop();
    }
    format!("{}.{frac}Z", whole.trim_end_matches('Z'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_valid_and_round_trips_through_json() {
        let c = SimConfig::default();
        c.validate().unwrap();
        assert_eq!(c.start.to_rfc3339(), "2026-01-05T00:00:00Z");
        let json = serde_json::to_string(&c).unwrap();
        assert!(json.contains("\"start\":\"2026-01-05T00:00:00Z\""));
        let back: SimConfig = serde_json::from_str(&json).unwrap();
        assert_eq!(back, c);
    }

    #[test]
    fn gaps_take_three_shapes() {
        let c: SimConfig = serde_json::from_str(
            r#"{"gaps":[[3600,600],{"offset_secs":7200,"duration_secs":60},"3h+1m"]}"#,
        )
        .unwrap();
        assert_eq!(
            c.gaps[0],
            Gap {
                offset_secs: 3600,
                duration_secs: 600
            }
        );
        assert_eq!(
            c.gaps[2],
            Gap {
                offset_secs: 10_800,
                duration_secs: 60
            }
        );
        assert!(serde_json::from_str::<SimConfig>(r#"{"gaps":[[1,2,3]]}"#).is_err());
    }

    #[test]
    fn rhythm_peaks_at_the_peak_hour() {
        let c = SimConfig {
            daily_amplitude: 0.5,
            daily_peak_hour: 14.0,
            ..SimConfig::default()
        };
        let day = 1_767_571_200.0;
        assert!((c.rhythm(day + 14.0 * 3600.0) - 1.5).abs() < 1e-9);
        assert!((c.rhythm(day + 2.0 * 3600.0) - 0.5).abs() < 1e-9);
        let weekly = SimConfig {
            daily_amplitude: 0.0,
            weekly_amplitude: 0.4,
            weekly_peak_day: 0.0,
            ..SimConfig::default()
        };
        // 2026-01-05 is a Monday: the weekly peak.
        assert!((weekly.rhythm(day) - 1.4).abs() < 1e-9);
    }

    #[test]
    fn reads_toml_with_a_native_datetime() {
        let c: SimConfig = toml::from_str(
            r#"
            seed = 7
            start = 2007-08-20T00:00:00Z
            duration_secs = 259200
            campaigns = ["5168/tcp@2d14h+6h,sources=300,pps=5,ramp=taper"]
            gaps = [[3600, 600]]
            "#,
        )
        .unwrap();
        assert_eq!(c.start.to_rfc3339(), "2007-08-20T00:00:00Z");
        c.validate().unwrap();
        assert!(toml::from_str::<SimConfig>("durations = 3").is_err());
    }

    #[test]
    fn fractional_start_survives_echo() {
        let t = Timestamp::from_parts(1_767_571_200, 250_000_000);
        assert_eq!(format_ts(t), "2026-01-05T00:00:00.25Z");
        assert_eq!(Timestamp::parse_rfc3339(&format_ts(t)), Some(t));
    }
}
