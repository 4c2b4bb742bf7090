//! [`DetectConfig`]: sensitivity, learning periods and port lists, with
//! defaults for a /16–/24 darknet and a validation step that names the bad
//! key.

use std::str::FromStr;

use portwatch_core::PortKey;
use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize, Serializer};

/// Why a configuration was refused. The message names the key.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The text is not TOML, or has an unknown key or a value of the wrong
    /// type; the parser's message names the key and the line.
    #[error("detect config: {0}")]
    Parse(String),
    /// A value parsed but makes no sense.
    #[error("detect config: `{key}` {reason}")]
    Invalid { key: String, reason: String },
}

impl ConfigError {
    fn invalid(key: &str, reason: impl Into<String>) -> Self {
        ConfigError::Invalid {
            key: key.to_string(),
            reason: reason.into(),
        }
    }

    /// The offending key, when the error is about one value.
    pub fn key(&self) -> Option<&str> {
        match self {
            ConfigError::Invalid { key, .. } => Some(key),
            ConfigError::Parse(_) => None,
        }
    }
}

/// Everything that decides what the detector calls a spike.
///
/// Scores are z-like: the signed square root of a Poisson deviance scaled by
/// the port's learned dispersion (see the crate docs), so `6` means roughly
/// "as unlikely as six standard deviations".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DetectConfig {
    /// Score at which an alert opens.
    pub open_score: f64,
    /// An open alert stays active while its score is at least this
    /// (hysteresis: lower than `open_score`).
    pub close_score: f64,
    /// Up-minutes in a row below `close_score` before an alert closes.
    pub close_after_minutes: u32,
    /// A campaign that resumes within this many minutes after its alert
    /// closed re-opens that alert instead of raising a new one.
    pub reopen_within_minutes: u32,
    /// Smallest observed/expected ratio worth an alert: on a busy port a
    /// 10% rise can be statistically certain and still not matter.
    pub min_ratio: f64,
    /// Distinct sources needed in the scoring window for a campaign (rule 6:
    /// one loud scanner is not a campaign).
    pub min_sources: u32,
    /// Packets needed in the scoring window for any alert.
    pub min_packets: u64,
    /// When packets rose but sources did not (or too few sources are
    /// there), and the loudest source sent at least this share of the
    /// excess packets, the finding is a single-source flood.
    pub single_source_share: f64,
    /// Packets in the scoring window needed for a single-source finding.
    pub single_source_min_packets: u64,
    /// No alert before the sensor has been up this long: baselines are
    /// still learning.
    pub warmup_hours: f64,
    /// Half-life of a port's overall level.
    pub level_half_life_hours: f64,
    /// Half-life of each hour-of-day slot of the daily profile, in days of
    /// that slot.
    pub daily_half_life_days: f64,
    /// Half-life of each day-of-week slot of the weekly profile, in weeks.
    pub weekly_half_life_weeks: f64,
    /// A port whose level reaches this many sources (or ten times as many
    /// packets) per minute learns a daily and weekly profile; quieter ports
    /// keep only a level, because Poisson noise hides their rhythm anyway.
    pub seasonal_min_rate: f64,
    /// Expected sources (and packets) per minute never assumed lower than
    /// this, so that a silent port's first campaign gets a finite score.
    pub floor_rate: f64,
    /// Dispersion (variance / mean) never assumed below this. Counts of
    /// scanners are at least Poisson; lower it only for non-count series.
    pub min_dispersion: f64,
    /// After an alert has been open this long, the baseline learns again:
    /// a lasting new level becomes the port's normal.
    pub adapt_after_hours: f64,
    pub new_port: NewPortConfig,
    pub watch: WatchConfig,
    /// Ports never alerted on (e.g. `["23/tcp"]`).
    #[serde(
        serialize_with = "ser_ports",
        deserialize_with = "de_ports",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub ignore: Vec<PortKey>,
}

/// "New port": a port silent for its whole history that now draws many
/// sources.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NewPortConfig {
    /// The sensor must have been up this long before a port counts as
    /// silent for its whole history.
    pub min_history_hours: f64,
    /// A port counts as silent while its learned level is below this many
    /// sources per hour.
    pub max_sources_per_hour: f64,
    /// Distinct sources in the window needed to call it a new port (below
    /// this a rise on a silent port is an ordinary campaign).
    pub min_sources: u32,
}

/// Ports watched closely get their own, lower thresholds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WatchConfig {
    #[serde(serialize_with = "ser_ports", deserialize_with = "de_ports")]
    pub ports: Vec<PortKey>,
    pub open_score: f64,
    pub min_sources: u32,
}

impl Default for DetectConfig {
    fn default() -> Self {
        DetectConfig {
            open_score: 6.0,
            close_score: 2.0,
            close_after_minutes: 30,
            reopen_within_minutes: 360,
            min_ratio: 1.5,
            min_sources: 5,
            min_packets: 10,
            single_source_share: 0.8,
            single_source_min_packets: 200,
            warmup_hours: 24.0,
            level_half_life_hours: 72.0,
            daily_half_life_days: 7.0,
            weekly_half_life_weeks: 3.0,
            seasonal_min_rate: 0.2,
            floor_rate: 1.0 / 1440.0,
            min_dispersion: 1.0,
            adapt_after_hours: 24.0,
            new_port: NewPortConfig::default(),
            watch: WatchConfig::default(),
            ignore: Vec::new(),
        }
    }
}

impl Default for NewPortConfig {
    fn default() -> Self {
        NewPortConfig {
            min_history_hours: 24.0,
            max_sources_per_hour: 1.0,
            min_sources: 10,
        }
    }
}

impl Default for WatchConfig {
    fn default() -> Self {
        WatchConfig {
            ports: Vec::new(),
            open_score: 4.0,
            min_sources: 3,
        }
    }
}

impl DetectConfig {
    /// Parses TOML and validates it. Unknown keys are refused by name.
    pub fn from_toml_str(s: &str) -> Result<Self, ConfigError> {
        let cfg: DetectConfig = toml::from_str(s).map_err(|e| ConfigError::Parse(one_line(&e)))?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// Checks every value; the error names the first bad key.
    pub fn validate(&self) -> Result<(), ConfigError> {
        positive("open_score", self.open_score)?;
        positive("close_score", self.close_score)?;
        if self.close_score >= self.open_score {
            return Err(ConfigError::invalid(
                "close_score",
                format!(
                    "= {} must be below open_score ({}) for hysteresis",
                    self.close_score, self.open_score
                ),
            ));
        }
        at_least_one("close_after_minutes", u64::from(self.close_after_minutes))?;
        if !(self.min_ratio.is_finite() && self.min_ratio >= 1.0) {
            return Err(ConfigError::invalid(
                "min_ratio",
                format!("= {} must be a number of at least 1", self.min_ratio),
            ));
        }
        at_least_one("min_sources", u64::from(self.min_sources))?;
        share("single_source_share", self.single_source_share)?;
        non_negative("warmup_hours", self.warmup_hours)?;
        positive("level_half_life_hours", self.level_half_life_hours)?;
        positive("daily_half_life_days", self.daily_half_life_days)?;
        positive("weekly_half_life_weeks", self.weekly_half_life_weeks)?;
        positive("seasonal_min_rate", self.seasonal_min_rate)?;
        positive("floor_rate", self.floor_rate)?;
        positive("min_dispersion", self.min_dispersion)?;
        positive("adapt_after_hours", self.adapt_after_hours)?;
        non_negative(
            "new_port.min_history_hours",
            self.new_port.min_history_hours,
        )?;
        non_negative(
            "new_port.max_sources_per_hour",
            self.new_port.max_sources_per_hour,
        )?;
        at_least_one("new_port.min_sources", u64::from(self.new_port.min_sources))?;
        positive("watch.open_score", self.watch.open_score)?;
        if self.watch.open_score <= self.close_score {
            return Err(ConfigError::invalid(
                "watch.open_score",
                format!(
                    "= {} must be above close_score ({})",
                    self.watch.open_score, self.close_score
                ),
            ));
        }
        at_least_one("watch.min_sources", u64::from(self.watch.min_sources))?;
        if let Some(p) = self.watch.ports.iter().find(|p| self.ignore.contains(p)) {
            return Err(ConfigError::invalid(
                "watch.ports",
                format!("lists {p}, which `ignore` also lists"),
            ));
        }
        Ok(())
    }
}

fn one_line(e: &toml::de::Error) -> String {
    e.to_string()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && *l != "|")
        .collect::<Vec<_>>()
        .join(" ")
}

fn positive(key: &str, v: f64) -> Result<(), ConfigError> {
    if v.is_finite() && v > 0.0 {
        Ok(())
    } else {
        Err(ConfigError::invalid(
            key,
            format!("= {v} must be a positive number"),
        ))
    }
}

fn non_negative(key: &str, v: f64) -> Result<(), ConfigError> {
    if v.is_finite() && v >= 0.0 {
        Ok(())
    } else {
        Err(ConfigError::invalid(
            key,
            format!("= {v} must be zero or a positive number"),
        ))
    }
}

fn share(key: &str, v: f64) -> Result<(), ConfigError> {
    if v.is_finite() && v > 0.0 && v <= 1.0 {
        Ok(())
    } else {
        Err(ConfigError::invalid(
            key,
            format!("= {v} must be a share in (0, 1]"),
        ))
    }
}

fn at_least_one(key: &str, v: u64) -> Result<(), ConfigError> {
    if v >= 1 {
        Ok(())
    } else {
        Err(ConfigError::invalid(key, "= 0 must be at least 1"))
    }
}

/// Port lists read and write as `"445/tcp"` strings.
fn ser_ports<S: Serializer>(ports: &[PortKey], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(ports.iter().map(|p| p.to_string()))
}

fn de_ports<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<PortKey>, D::Error> {
    let raw: Vec<String> = Vec::deserialize(d)?;
    raw.iter()
        .map(|s| PortKey::from_str(s).map_err(de::Error::custom))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use portwatch_core::Proto;

    #[test]
    fn defaults_are_valid_and_round_trip() {
        let cfg = DetectConfig::default();
        cfg.validate().unwrap();
        let text = toml::to_string(&cfg).unwrap();
        assert_eq!(DetectConfig::from_toml_str(&text).unwrap(), cfg);
    }

    #[test]
    fn reads_port_lists_and_nested_tables() {
        let cfg = DetectConfig::from_toml_str(
            "open_score = 7\nignore = [\"23/tcp\", \"udp/5060\"]\n\
             [watch]\nports = [\"0/tcp\", \"0/udp\"]\nmin_sources = 2\n",
        )
        .unwrap();
        assert_eq!(cfg.open_score, 7.0);
        assert_eq!(
            cfg.ignore,
            vec![PortKey::new(Proto::Tcp, 23), PortKey::new(Proto::Udp, 5060)]
        );
        assert_eq!(cfg.watch.ports[1], PortKey::new(Proto::Udp, 0));
        assert_eq!(cfg.watch.min_sources, 2);
        assert_eq!(cfg.watch.open_score, 4.0);
    }

    #[test]
    fn unknown_keys_are_named() {
        let e = DetectConfig::from_toml_str("open_scor = 5\n").unwrap_err();
        assert!(e.to_string().contains("open_scor"), "{e}");
        let e = DetectConfig::from_toml_str("[new_port]\nmin_srcs = 5\n").unwrap_err();
        assert!(e.to_string().contains("min_srcs"), "{e}");
        let e = DetectConfig::from_toml_str("ignore = [\"99999/tcp\"]\n").unwrap_err();
        assert!(e.to_string().contains("99999"), "{e}");
    }

    #[test]
    fn impossible_values_are_named() {
        for (text, key) in [
            ("open_score = -1", "open_score"),
            ("close_score = 7", "close_score"),
            ("min_sources = 0", "min_sources"),
            ("single_source_share = 1.5", "single_source_share"),
            ("min_ratio = 0.5", "min_ratio"),
            ("level_half_life_hours = 0", "level_half_life_hours"),
            ("[new_port]\nmin_sources = 0", "new_port.min_sources"),
            ("[watch]\nopen_score = 1", "watch.open_score"),
            (
                "ignore = [\"0/tcp\"]\n[watch]\nports = [\"0/tcp\"]",
                "watch.ports",
            ),
        ] {
            let e = DetectConfig::from_toml_str(text).unwrap_err();
            assert_eq!(e.key(), Some(key), "{text}: {e}");
            assert!(e.to_string().contains(key), "{e}");
        }
    }
}
