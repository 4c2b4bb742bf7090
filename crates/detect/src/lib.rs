//! Spike detection for per-port scan series: baselines, count-aware scores
//! and the alert lifecycle. Pure: no I/O and no clock; time is passed in.
//!
//! A [`Detector`] is fed one UTC minute at a time with what the sensor saw
//! per (protocol, port): packets, distinct sources, distinct targets and the
//! loudest sources ([`MinuteSample`]), plus whether the sensor saw anything
//! at all that minute. It answers with [`AlertUpdate`]s and keeps every
//! [`Alert`]. [`detect_series`] does the same over a whole series; both give
//! identical alerts, because detection is a deterministic function of the
//! minutes fed.
//!
//! ```
//! use portwatch_core::PortKey;
//! use portwatch_detect::{DetectConfig, Detector, Kind, MinuteSample};
//!
//! let cfg = DetectConfig { warmup_hours: 1.0, ..DetectConfig::default() };
//! let mut d = Detector::new(cfg)?;
//! let port: PortKey = "5168/tcp".parse()?;
//! let busy: PortKey = "445/tcp".parse()?;
//! let t0 = 1_187_740_800; // 2007-08-22 00:00 UTC
//! for i in 0..180 {
//!     let minute = t0 + i * 60;
//!     // 445 is always busy; 5168 silent until 300 sources arrive.
//!     let mut samples = vec![(busy, MinuteSample { packets: 40, sources: 20, targets: 35, top: vec![] })];
//!     if i >= 120 {
//!         let top = (0..30u8).map(|s| (std::net::Ipv4Addr::new(192, 0, 2, s).into(), 2)).collect();
//!         samples.push((port, MinuteSample { packets: 600, sources: 300, targets: 500, top }));
//!     }
//!     d.step(minute, true, &samples)?;
//! }
//! let alert = d.alerts().next().expect("an alert");
//! assert_eq!(alert.key(), port);
//! assert_eq!(alert.opened, t0 + 120 * 60);
//! assert_eq!(alert.kind, Kind::Campaign); // the sensor has not watched long enough for "new port"
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Method
//!
//! **Baselines are per port and per series** (sources and packets per
//! minute, rule 7). Each keeps a level — an exponentially weighted mean per
//! up-minute, half-life `level_half_life_hours` (72 h) — and, for scoring
//! windows of 5, 15 and 60 minutes, a dispersion: the weighted mean of
//! squared residuals of the window sum over its expected value (variance /
//! mean, at least `min_dispersion`). Ports whose level reaches
//! `seasonal_min_rate` sources a minute (0.2) also learn a daily profile (24
//! hour-of-day slots, interpolated between slot centres, half-life 7 days of
//! each slot) and a weekly one (7 day factors, half-life 3 weeks); quieter
//! ports keep only a level, because Poisson noise hides their rhythm. A port
//! never seen has no state at all and costs nothing; it is first seen with
//! a zero level backed by its whole silent history, and an idle port whose
//! level decays below 10⁻⁴ a minute is dropped again. Minutes with no data
//! are zeros and are caught up lazily when the port is next seen.
//!
//! **Robust to the spikes it finds.** What a baseline learns is clipped at
//! prediction + 3σ + 1 and residuals at ±(3σ + 1), and nothing is learned on
//! a port while it has an open alert — until the alert has been open
//! `adapt_after_hours` (24 h), when a lasting new level may become normal.
//! During the first `warmup_hours` (24 h) of sensor up-time learning is
//! unclipped and no alert is raised.
//!
//! **Count-aware score.** For each window, the observed sum `x` is compared
//! with the expected sum `m` (level × profile × up-minutes, floored at
//! `floor_rate` = 1/1440 a minute) by the signed square root of the Poisson
//! deviance, `2 (x ln(x/m) − (x − m))`, divided by √dispersion
//! ([`deviance_score`]). On busy ports this is the usual `(x − m)/σ`; near
//! zero it tracks the Poisson tail (300 sources in five minutes on a silent
//! port score about 80, not infinity), so one threshold serves 445 and
//! 5168 alike.
//!
//! **Evidence (rule 6).** An alert opens when a window scores at least
//! `open_score` (6) and observed/expected is at least `min_ratio` (1.5):
//! * sources moved, with at least `min_sources` (5) distinct sources in the
//!   window (the union of the minutes' top sources, or the busiest minute's
//!   count) and `min_packets` (10) packets: a **campaign**; on a port silent
//!   for its whole history (level below `new_port.max_sources_per_hour`,
//!   sensor up at least `new_port.min_history_hours`, never alerted) with at
//!   least `new_port.min_sources` (10) sources: a **new port**;
//! * only packets moved and one source sent at least `single_source_share`
//!   (80%) of the excess, with `single_source_min_packets` (200) packets: a
//!   **single-source** flood, a separate lower-severity finding;
//! * only packets moved, spread over enough sources: a campaign with
//!   `moved: packets`.
//!
//! Every alert says which series moved. Ports in `watch.ports` use
//! `watch.open_score` (4) and `watch.min_sources` (3); ports in `ignore` are
//! never tracked.
//!
//! **Lifecycle.** `rising` while the 5-minute excess sets new highs; `peak`
//! after 15 minutes without one (dated at the high); `tapering` below half
//! the peak excess; back to `rising` on a new high 20% above the old;
//! `closed` after `close_after_minutes` (30) up-minutes in a row with every
//! window below `close_score` (2, hysteresis), dated at the end of the last
//! minute whose 5-minute window was still above it. Each
//! transition records when it began and the minute that decided it. A
//! campaign resuming within `reopen_within_minutes` (6 h) of the close
//! re-opens the same alert.
//!
//! **Gaps.** A minute with no packets anywhere (or one never fed) is a gap:
//! it is neither silence nor data, baselines skip it, windows neither
//! observe nor expect it, alerts count it in `gap_minutes`, and
//! [`Detector::gaps`] lists the spans.
//!
//! **Late data and determinism.** Alert ids hash the port and the onset
//! minute. A [`Detector`] clone is a checkpoint: when late data changes a
//! stored minute, restore the checkpoint from before it and re-feed the
//! stored minutes; the same alerts come out with the same ids.
//!
//! # Alert JSON (`portwatch.alert/1`)
//!
//! ```json
//! {"schema":"portwatch.alert/1","id":"369c41a8f157fde9","proto":"tcp","port":5168,
//!  "kind":"new_port","moved":"both","state":"closed",
//!  "transitions":[{"state":"rising","at":"2026-01-06T12:00:00Z","decided":"2026-01-06T12:01:00Z"},
//!                 {"state":"peak","at":"2026-01-06T12:38:00Z","decided":"2026-01-06T12:53:00Z"},
//!                 {"state":"tapering","at":"2026-01-06T13:25:00Z","decided":"2026-01-06T13:25:00Z"},
//!                 {"state":"closed","at":"2026-01-06T18:04:00Z","decided":"2026-01-06T19:28:00Z"}],
//!  "onset":"2026-01-06T12:00:00Z","opened":"2026-01-06T12:01:00Z",
//!  "last_active":"2026-01-06T18:03:00Z","closed":"2026-01-06T18:04:00Z",
//!  "peak":{"at":"2026-01-06T12:34:00Z","sources":213,"packets":373,"targets":372},
//!  "baseline_at_onset":{"sources_per_min":0.0005,"packets_per_min":0.0005},
//!  "score":{"at_open":15.4,"max":459.8,"ratio_at_open":4608.0,"window_minutes":5},
//!  "during":{"minutes":449,"gap_minutes":0,"packets":29706,"source_minutes":17326,
//!            "sources_at_least":276,"targets_peak_per_min":372},
//!  "top_sources":[{"addr":"108.0.96.224","packets":462},{"addr":"49.211.84.163","packets":445}],
//!  "summary":"5168/tcp: new port began 2026-01-06 12:00 UTC; 276+ sources, peak 213 sources/min
//!             at 2026-01-06 12:34 UTC vs 0.00/min normal (sources and packets moved); back to
//!             background by 2026-01-06 18:04 UTC"}
//! ```
//!
//! (The simulated 5168-like campaign of the evaluation suite, numbers
//! rounded and top sources cut to two; the summary is one line.)
//!
//! Times are RFC 3339 UTC minutes; `closed` is null while open; `reopened:
//! true` marks a transition that re-opened the alert. Fields are documented
//! on [`Alert`]. Adding a field keeps the version; removing or renaming one
//! bumps it.
//!
//! # Evaluation
//!
//! [`eval`] scores detectors against labelled campaigns (found, precision,
//! recall, delay, false alerts per 1,000 port-days), implements the two
//! simple detectors portwatch is compared with, and NAB's standard-profile
//! score. The suite itself lives in `tests/eval.rs` (small, run by `cargo
//! test`) and `examples/eval.rs` (full size).

mod alert;
mod baseline;
mod config;
mod detector;
pub mod eval;
mod finding;
mod lifecycle;
mod stats;
mod window;

pub use alert::{
    ALERT_SCHEMA, Alert, AlertId, AlertUpdate, Baseline, Change, Kind, Moved, Peak, Score, State,
    TopSource, Totals, Transition,
};
pub use config::{ConfigError, DetectConfig, NewPortConfig, WatchConfig};
pub use detector::{
    Band, DetectError, Detector, GapSpan, MinuteInput, MinuteSample, StepError, detect_series,
};
pub use stats::deviance_score;
