//! Spike detection for per-port scan series: baselines, scores and the
//! alert lifecycle. Pure: no I/O and no clock; time is passed in.
