//! Bad configs are refused with the name of the bad field.
#![allow(clippy::unwrap_used, reason = "tests fail loudly")]

use portwatch_core::Timestamp;
use portwatch_simulate::{SimConfig, SimError, simulate};

fn field_of(cfg: &SimConfig) -> String {
    let e = cfg.validate().unwrap_err();
    assert!(e.to_string().contains(e.field().unwrap()), "{e}");
    e.field().unwrap().to_string()
}

#[test]
fn unknown_keys_are_named() {
    let e = serde_json::from_str::<SimConfig>(r#"{"seed":1,"duration":60}"#).unwrap_err();
    assert!(e.to_string().contains("unknown field `duration`"), "{e}");
    let e = serde_json::from_str::<SimConfig>(
        r#"{"campaigns":[{"proto":"tcp","port":1,"start_offset_secs":0,"duration_secs":9,"pps":3}]}"#,
    )
    .unwrap_err();
    assert!(e.to_string().contains("unknown field `pps`"), "{e}");
    let e = serde_json::from_str::<SimConfig>(r#"{"gaps":[{"offset_secs":1,"length":2}]}"#)
        .unwrap_err();
    assert!(e.to_string().contains("unknown field `length`"), "{e}");
    let e = serde_json::from_str::<SimConfig>(r#"{"campaigns":["5168/tcp@1h+1h,pps=1,rate=3"]}"#)
        .unwrap_err();
    assert!(e.to_string().contains("unknown key \"rate\""), "{e}");
    let e = serde_json::from_str::<SimConfig>(r#"{"start":"last tuesday"}"#).unwrap_err();
    assert!(e.to_string().contains("RFC 3339"), "{e}");
}

#[test]
fn impossible_values_are_named() {
    let d = SimConfig::default;
    assert_eq!(
        field_of(&SimConfig {
            duration_secs: 0,
            ..d()
        }),
        "duration_secs"
    );
    assert_eq!(
        field_of(&SimConfig {
            ipv6_fraction: 1.5,
            ..d()
        }),
        "ipv6_fraction"
    );
    assert_eq!(
        field_of(&SimConfig {
            backscatter_fraction: -0.1,
            ..d()
        }),
        "backscatter_fraction"
    );
    assert_eq!(
        field_of(&SimConfig {
            backscatter_fraction: 0.7,
            other_fraction: 0.4,
            ..d()
        }),
        "other_fraction"
    );
    assert_eq!(
        field_of(&SimConfig {
            background_pps: f64::NAN,
            ..d()
        }),
        "background_pps"
    );
    assert_eq!(
        field_of(&SimConfig {
            daily_peak_hour: 24.0,
            ..d()
        }),
        "daily_peak_hour"
    );
    assert_eq!(
        field_of(&SimConfig {
            background_sources: 0,
            ..d()
        }),
        "background_sources"
    );
    assert_eq!(
        field_of(&SimConfig {
            darknet_v4: vec!["198.18.0.0/16".into(), "10.0.0.0/33".into()],
            ..d()
        }),
        "darknet_v4[1]"
    );
    assert_eq!(
        field_of(&SimConfig {
            darknet_v4: vec!["10.0.0.0/7".into()],
            ..d()
        }),
        "darknet_v4"
    );
    assert_eq!(
        field_of(&SimConfig {
            darknet_v6: vec![],
            ..d()
        }),
        "darknet_v6"
    );
    assert_eq!(
        field_of(&SimConfig {
            start: Timestamp::from_secs(-10),
            ..d()
        }),
        "start"
    );
    assert_eq!(
        field_of(&SimConfig {
            start: Timestamp::from_secs(i64::from(u32::MAX) - 100),
            ..d()
        }),
        "start"
    );
}

#[test]
fn campaigns_and_gaps_must_fit_the_run() {
    let with = |c: &str| SimConfig {
        duration_secs: 7200,
        campaigns: vec![c.parse().unwrap()],
        ..SimConfig::default()
    };
    assert_eq!(
        field_of(&with("5168/tcp@1h+2h,pps=1")),
        "campaigns[0].start_offset_secs"
    );
    assert_eq!(
        field_of(&with("5168/tcp@1h+0s,pps=1")),
        "campaigns[0].duration_secs"
    );
    assert_eq!(
        field_of(&with("5168/tcp@1h+1h,sources=0,pps=1")),
        "campaigns[0].sources"
    );
    assert_eq!(
        field_of(&with("5168/tcp@1h+1h,pps=0")),
        "campaigns[0].rate_pps_per_source"
    );
    assert_eq!(
        field_of(&with("5168/tcp@1h+1h,pps=1,packets=5")),
        "campaigns[0].total_packets"
    );
    assert_eq!(
        field_of(&with("5168/tcp@1h+1h,targets=70000")),
        "campaigns[0].targets_per_source"
    );
    assert_eq!(field_of(&with("8/icmp@1h+1h,pps=1")), "campaigns[0].proto");
    let gap = SimConfig {
        duration_secs: 7200,
        gaps: vec!["1h30m+31m".parse().unwrap()],
        ..SimConfig::default()
    };
    assert_eq!(field_of(&gap), "gaps[0].offset_secs");
    let dark = SimConfig {
        duration_secs: 7200,
        gaps: vec!["0s+1h".parse().unwrap(), "30m+90m".parse().unwrap()],
        ..SimConfig::default()
    };
    assert_eq!(field_of(&dark), "gaps");
}

#[test]
fn simulate_refuses_an_invalid_config_before_writing() {
    let mut out = Vec::new();
    let e = simulate(
        &SimConfig {
            duration_secs: 0,
            ..SimConfig::default()
        },
        &mut out,
    )
    .unwrap_err();
    assert!(matches!(e, SimError::Config { .. }));
    assert!(out.is_empty());
}

/// A sink that fills up after `room` bytes.
struct Full {
    room: usize,
}

impl std::io::Write for Full {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        if b.len() > self.room {
            return Err(std::io::Error::other("disk full"));
        }
        self.room -= b.len();
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn a_failing_writer_stops_the_run_with_its_error() {
    let cfg = SimConfig {
        total_packets: Some(60_000),
        background_sources: 500,
        ..SimConfig::default()
    };
    let e = simulate(&cfg, Full { room: 2 << 20 }).unwrap_err();
    assert!(
        matches!(&e, SimError::Write(io) if io.to_string() == "disk full"),
        "{e:?}"
    );
}
