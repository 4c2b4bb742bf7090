//! Spike detection for per-port scan series: baselines, scores and the
//! alert lifecycle. Pure: no I/O and no clock; time is passed in.

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
    DetectError, Detector, GapSpan, MinuteInput, MinuteSample, StepError, detect_series,
};
pub use stats::deviance_score;
