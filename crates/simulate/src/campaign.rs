//! Scheduled scan campaigns: who scans which port, when, how hard, with
//! which tool, and how the number of active sources rises and falls.

use std::fmt;
use std::str::FromStr;

use portwatch_core::{PortKey, Proto};
use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

use crate::error::SimError;
use crate::tool::ToolStyle;

/// A scan campaign on one port, on top of the background.
///
/// Each of `sources` scanners is active for part of the window (all of it
/// for [`Ramp::Step`]); the number active at any moment follows the ramp.
/// While active a source sends `rate_pps_per_source` probes per second
/// (Poisson), or, without a rate, exactly `targets_per_source` probes, or
/// the campaign sends exactly `total_packets` shared by its sources in
/// proportion to their active time. With `targets_per_source`, each source
/// sweeps that many distinct darknet addresses over and over; without it
/// each probe goes to a random darknet address. Campaign sources are IPv4
/// and never appear in the background.
///
/// # Compact form
///
/// `PORT/PROTO@START+DURATION[,key=value]...`, for example
/// `5168/tcp@36h+6h,sources=300,pps=50,tool=masscan,ramp=taper`.
///
/// * `START` is the offset from the start of the run and `DURATION` the
///   campaign's length: whole seconds or units `d`, `h`, `m`, `s` run
///   together (`90`, `90s`, `1h30m`, `2d`).
/// * `sources=N` (default 1), `pps=F` (probes per second per active
///   source), `targets=N` (distinct darknet addresses per source),
///   `packets=N` (exact campaign total); one of `pps`, `targets` or
///   `packets` is required, and `pps` and `packets` exclude each other.
/// * `tool=` one of `zmap`, `masscan` (default), `mirai`, `nmap`,
///   `unicornscan`, `linux`, `windows`.
/// * `ramp=` `step` (default), `linear[:RISE]` or `taper[:RISE[:HALF_LIFE]]`
///   (see [`Ramp`]).
///
/// Config files may give a campaign as this string or as a table with the
/// field names below.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Campaign {
    /// `tcp` or `udp`.
    pub proto: Proto,
    pub port: u16,
    /// Seconds from the start of the run.
    pub start_offset_secs: u64,
    pub duration_secs: u64,
    pub sources: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rate_pps_per_source: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub targets_per_source: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total_packets: Option<u64>,
    pub ramp: Ramp,
    pub tool: ToolStyle,
}

/// How the number of active sources moves over a campaign's window.
///
/// Written `step`, `linear`, `linear:2h`, `taper`, `taper:30m` or
/// `taper:30m:1h` in config files and the compact campaign form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Ramp {
    /// Every source active for the whole window.
    Step,
    /// Sources join one by one over `rise_secs` (default a quarter of the
    /// window), then all stay to the end.
    Linear { rise_secs: Option<u64> },
    /// Sources join over `rise_secs` (default a tenth of the window), then
    /// leave so that the active count halves every `half_life_secs`
    /// (default an eighth of the window): the shape of the 2007 5168/tcp
    /// spike that tapered within hours.
    Taper {
        rise_secs: Option<u64>,
        half_life_secs: Option<u64>,
    },
}

/// A ramp with its defaults filled in for a window of a given length.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum RampShape {
    Step,
    Linear { rise: f64 },
    Taper { rise: f64, half_life: f64 },
}

impl Ramp {
    pub(crate) fn shape(self, duration_secs: u64) -> RampShape {
        let d = duration_secs as f64;
        let or = |v: Option<u64>, frac: f64| v.map_or((d * frac).max(1.0), |s| s as f64);
        match self {
            Ramp::Step => RampShape::Step,
            Ramp::Linear { rise_secs } => RampShape::Linear {
                rise: or(rise_secs, 0.25).min(d),
            },
            Ramp::Taper {
                rise_secs,
                half_life_secs,
            } => RampShape::Taper {
                rise: or(rise_secs, 0.1).min(d),
                half_life: or(half_life_secs, 0.125),
            },
        }
    }
}

impl RampShape {
    /// The fraction of sources active `t` seconds into the window.
    #[cfg(test)]
    pub(crate) fn level(self, t: f64) -> f64 {
        match self {
            RampShape::Step => 1.0,
            RampShape::Linear { rise } => (t / rise).min(1.0),
            RampShape::Taper { rise, .. } if t < rise => t / rise,
            RampShape::Taper { rise, half_life } => (-(t - rise) / half_life).exp2(),
        }
    }

    /// The active interval of the source at `level` in (0, 1): it is active
    /// exactly while the ramp is at or above its level, so the number
    /// active at any moment is the ramp times the number of sources.
    pub(crate) fn interval(self, level: f64, duration: f64) -> (f64, f64) {
        match self {
            RampShape::Step => (0.0, duration),
            RampShape::Linear { rise } => (level * rise, duration),
            RampShape::Taper { rise, half_life } => (
                level * rise,
                (rise + half_life * (1.0 / level).log2()).min(duration),
            ),
        }
    }
}

impl fmt::Display for Ramp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Ramp::Step => f.write_str("step"),
            Ramp::Linear { rise_secs: None } => f.write_str("linear"),
            Ramp::Linear { rise_secs: Some(r) } => write!(f, "linear:{}", Secs(r)),
            Ramp::Taper {
                rise_secs,
                half_life_secs,
            } => {
                f.write_str("taper")?;
                match (rise_secs, half_life_secs) {
                    (None, None) => Ok(()),
                    (Some(r), None) => write!(f, ":{}", Secs(r)),
                    (r, Some(h)) => match r {
                        Some(r) => write!(f, ":{}:{}", Secs(r), Secs(h)),
                        None => write!(f, "::{}", Secs(h)),
                    },
                }
            }
        }
    }
}

impl FromStr for Ramp {
    type Err = SimError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = |r: &str| SimError::parse("ramp", s, r);
        let mut parts = s.split(':');
        let kind = parts.next().unwrap_or_default().to_ascii_lowercase();
        let mut arg = |name: &str| -> Result<Option<u64>, SimError> {
            match parts.next() {
                None | Some("") => Ok(None),
                Some(p) => parse_secs(p)
                    .map(Some)
                    .ok_or_else(|| err(&format!("{name} {p:?} is not a duration such as 90m"))),
            }
        };
        let ramp = match kind.as_str() {
            "step" => Ramp::Step,
            "linear" => Ramp::Linear {
                rise_secs: arg("rise")?,
            },
            "taper" => Ramp::Taper {
                rise_secs: arg("rise")?,
                half_life_secs: arg("half-life")?,
            },
            _ => {
                return Err(err(
                    "expected step, linear[:RISE] or taper[:RISE[:HALF_LIFE]]",
                ));
            }
        };
        if parts.next().is_some() {
            return Err(err("too many ':' parts"));
        }
        Ok(ramp)
    }
}

impl TryFrom<String> for Ramp {
    type Error = SimError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<Ramp> for String {
    fn from(r: Ramp) -> String {
        r.to_string()
    }
}

/// Seconds written compactly: `1d12h`, `90m` → `1h30m`, `0s`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Secs(pub u64);

impl fmt::Display for Secs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = self.0;
        if s == 0 {
            return f.write_str("0s");
        }
        for (unit, size) in [("d", 86_400), ("h", 3600), ("m", 60), ("s", 1)] {
            if s >= size {
                write!(f, "{}{unit}", s / size)?;
                s %= size;
            }
        }
        Ok(())
    }
}

/// Parses `90`, `90s`, `1h30m`, `2d`: whole seconds or d/h/m/s groups.
pub(crate) fn parse_secs(s: &str) -> Option<u64> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    if s.bytes().all(|b| b.is_ascii_digit()) {
        return s.parse().ok();
    }
    let mut total: u64 = 0;
    let mut num = String::new();
    for c in s.chars() {
        if c.is_ascii_digit() {
            num.push(c);
            continue;
        }
        let unit = match c.to_ascii_lowercase() {
            'd' => 86_400,
            'h' => 3600,
            'm' => 60,
            's' => 1,
            _ => return None,
        };
        let n: u64 = num.parse().ok()?;
        total = total.checked_add(n.checked_mul(unit)?)?;
        num.clear();
    }
    num.is_empty().then_some(total)
}

impl fmt::Display for Campaign {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}/{}@{}+{},sources={}",
            self.port,
            self.proto,
            Secs(self.start_offset_secs),
            Secs(self.duration_secs),
            self.sources
        )?;
        if let Some(p) = self.rate_pps_per_source {
            write!(f, ",pps={p}")?;
        }
        if let Some(t) = self.targets_per_source {
            write!(f, ",targets={t}")?;
        }
        if let Some(n) = self.total_packets {
            write!(f, ",packets={n}")?;
        }
        write!(f, ",tool={},ramp={}", self.tool, self.ramp)
    }
}

impl FromStr for Campaign {
    type Err = SimError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = |r: String| SimError::parse("campaign", s, r);
        let mut items = s.split(',');
        let head = items.next().unwrap_or_default().trim();
        let (key, window) = head.split_once('@').ok_or_else(|| {
            err("expected PORT/PROTO@START+DURATION, e.g. 5168/tcp@36h+6h".into())
        })?;
        let key: PortKey = key.trim().parse().map_err(|e| err(format!("{e}")))?;
        let (start, dur) = window.split_once('+').ok_or_else(|| {
            err(format!(
                "window {window:?} is not START+DURATION, e.g. 36h+6h"
            ))
        })?;
        let secs = |what: &str, v: &str| {
            parse_secs(v)
                .ok_or_else(|| err(format!("{what} {v:?} is not a duration such as 36h or 90m")))
        };
        let mut c = Campaign {
            proto: key.proto,
            port: key.port,
            start_offset_secs: secs("start", start)?,
            duration_secs: secs("duration", dur)?,
            sources: 1,
            rate_pps_per_source: None,
            targets_per_source: None,
            total_packets: None,
            ramp: Ramp::Step,
            tool: ToolStyle::Masscan,
        };
        let mut seen: Vec<&str> = Vec::new();
        for item in items {
            let (k, v) = item
                .split_once('=')
                .ok_or_else(|| err(format!("{item:?} is not key=value")))?;
            let (k, v) = (k.trim(), v.trim());
            if seen.contains(&k) {
                return Err(err(format!("{k} given twice")));
            }
            seen.push(k);
            let num = |v: &str| {
                v.parse::<u64>()
                    .map_err(|_| err(format!("{k}={v:?} is not a whole number")))
            };
            match k {
                "sources" => {
                    c.sources = u32::try_from(num(v)?)
                        .map_err(|_| err(format!("sources={v} is too large")))?
                }
                "pps" => {
                    let p: f64 = v
                        .parse()
                        .map_err(|_| err(format!("pps={v:?} is not a number")))?;
                    c.rate_pps_per_source = Some(p);
                }
                "targets" => {
                    c.targets_per_source = Some(
                        u32::try_from(num(v)?)
                            .map_err(|_| err(format!("targets={v} is too large")))?,
                    )
                }
                "packets" => c.total_packets = Some(num(v)?),
                "tool" => c.tool = v.parse()?,
                "ramp" => c.ramp = v.parse()?,
                _ => {
                    return Err(err(format!(
                        "unknown key {k:?} (expected sources, pps, targets, packets, tool or ramp)"
                    )));
                }
            }
        }
        if c.rate_pps_per_source.is_none()
            && c.targets_per_source.is_none()
            && c.total_packets.is_none()
        {
            return Err(err("needs pps=, targets= or packets=".into()));
        }
        Ok(c)
    }
}

/// The table form of a campaign in config files.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CampaignTable {
    proto: Proto,
    port: u16,
    start_offset_secs: u64,
    duration_secs: u64,
    #[serde(default = "one")]
    sources: u32,
    #[serde(default)]
    rate_pps_per_source: Option<f64>,
    #[serde(default)]
    targets_per_source: Option<u32>,
    #[serde(default)]
    total_packets: Option<u64>,
    #[serde(default = "step")]
    ramp: Ramp,
    #[serde(default = "masscan")]
    tool: ToolStyle,
}

fn one() -> u32 {
    1
}
fn step() -> Ramp {
    Ramp::Step
}
fn masscan() -> ToolStyle {
    ToolStyle::Masscan
}

impl<'de> Deserialize<'de> for Campaign {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Campaign;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(
                    "a campaign string such as \"5168/tcp@36h+6h,sources=300,pps=50\" or a table",
                )
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Campaign, E> {
                s.parse().map_err(E::custom)
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Campaign, A::Error> {
                let t = CampaignTable::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(Campaign {
                    proto: t.proto,
                    port: t.port,
                    start_offset_secs: t.start_offset_secs,
                    duration_secs: t.duration_secs,
                    sources: t.sources,
                    rate_pps_per_source: t.rate_pps_per_source,
                    targets_per_source: t.targets_per_source,
                    total_packets: t.total_packets,
                    ramp: t.ramp,
                    tool: t.tool,
                })
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_the_documented_example() {
        let c: Campaign = "5168/tcp@36h+6h,sources=300,pps=50,tool=masscan,ramp=taper"
            .parse()
            .unwrap();
        assert_eq!((c.proto, c.port), (Proto::Tcp, 5168));
        assert_eq!((c.start_offset_secs, c.duration_secs), (129_600, 21_600));
        assert_eq!(c.sources, 300);
        assert_eq!(c.rate_pps_per_source, Some(50.0));
        assert_eq!(
            c.ramp,
            Ramp::Taper {
                rise_secs: None,
                half_life_secs: None
            }
        );
        assert_eq!(
            c.to_string(),
            "5168/tcp@1d12h+6h,sources=300,pps=50,tool=masscan,ramp=taper"
        );
    }

    #[test]
    fn errors_say_what_is_wrong() {
        let e = |s: &str| s.parse::<Campaign>().unwrap_err().to_string();
        assert!(e("5168/tcp").contains("PORT/PROTO@START+DURATION"));
        assert!(e("5168/sctp@1h+1h,pps=1").contains("unknown protocol"));
        assert!(e("5168/tcp@1h+1x,pps=1").contains("duration \"1x\""));
        assert!(e("5168/tcp@1h+1h,pps=1,speed=3").contains("unknown key \"speed\""));
        assert!(e("5168/tcp@1h+1h,pps=1,pps=2").contains("pps given twice"));
        assert!(e("5168/tcp@1h+1h,sources=3").contains("needs pps="));
        assert!(e("5168/tcp@1h+1h,pps=1,tool=nessus").contains("tool"));
        assert!(e("5168/tcp@1h+1h,pps=1,ramp=taper:1h:2h:3h").contains("too many"));
    }

    #[test]
    fn durations() {
        assert_eq!(parse_secs("90"), Some(90));
        assert_eq!(parse_secs("1h30m"), Some(5400));
        assert_eq!(parse_secs("2d"), Some(172_800));
        assert_eq!(parse_secs("1h30"), None);
        assert_eq!(parse_secs("h"), None);
        assert_eq!(Secs(5400).to_string(), "1h30m");
        assert_eq!(Secs(0).to_string(), "0s");
    }

    #[test]
    fn taper_intervals_follow_the_ramp() {
        let r = Ramp::Taper {
            rise_secs: Some(600),
            half_life_secs: Some(1800),
        }
        .shape(21_600);
        let (a, b) = r.interval(0.5, 21_600.0);
        assert_eq!(a, 300.0);
        assert!((b - 2400.0).abs() < 1e-9);
        assert!((r.level(2400.0) - 0.5).abs() < 1e-12);
    }

    #[test]
    fn table_form_denies_unknown_fields() {
        let ok: Campaign = serde_json::from_str(
            r#"{"proto":"udp","port":0,"start_offset_secs":60,"duration_secs":60,"total_packets":10}"#,
        )
        .unwrap();
        assert_eq!(ok.total_packets, Some(10));
        let e = serde_json::from_str::<Campaign>(
            r#"{"proto":"udp","port":0,"start_offset_secs":60,"duration_secs":60,"sourcez":3}"#,
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("unknown field `sourcez`"), "{e}");
        let from_str: Campaign = serde_json::from_str(r#""0/udp@1m+1m,packets=10""#).unwrap();
        assert_eq!(from_str.port, 0);
    }

    fn campaign() -> impl Strategy<Value = Campaign> {
        (
            prop_oneof![Just(Proto::Tcp), Just(Proto::Udp)],
            any::<u16>(),
            0u64..1_000_000,
            1u64..1_000_000,
            1u32..100_000,
            proptest::option::of(0.001f64..1e4),
            proptest::option::of(1u32..65_536),
            proptest::option::of(1u64..1_000_000_000),
            prop_oneof![
                Just(Ramp::Step),
                proptest::option::of(1u64..100_000).prop_map(|r| Ramp::Linear { rise_secs: r }),
                (
                    proptest::option::of(1u64..100_000),
                    proptest::option::of(1u64..100_000)
                )
                    .prop_map(|(r, h)| Ramp::Taper {
                        rise_secs: r,
                        half_life_secs: h
                    }),
            ],
            proptest::sample::select(ToolStyle::ALL.to_vec()),
        )
            .prop_map(
                |(proto, port, start, dur, sources, pps, targets, packets, ramp, tool)| Campaign {
                    proto,
                    port,
                    start_offset_secs: start,
                    duration_secs: dur,
                    sources,
                    rate_pps_per_source: pps,
                    targets_per_source: targets,
                    total_packets: if pps.is_none() && targets.is_none() {
                        Some(packets.unwrap_or(1))
                    } else {
                        packets
                    },
                    ramp,
                    tool,
                },
            )
    }

    proptest! {
        #[test]
        fn compact_form_round_trips(c in campaign()) {
            let text = c.to_string();
            let back: Campaign = text.parse().unwrap();
            prop_assert_eq!(back, c);
        }

        #[test]
        fn json_form_round_trips(c in campaign()) {
            let json = serde_json::to_string(&c).unwrap();
            let back: Campaign = serde_json::from_str(&json).unwrap();
            prop_assert_eq!(back, c);
        }
    }
}
