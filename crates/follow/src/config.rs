//! How a [`Follower`](crate::Follower) reads.

use std::time::Duration;

use serde::Deserialize;

use crate::FollowError;

/// Follower settings. Unknown keys in a config file are errors.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FollowConfig {
    /// How often the caller should poll (the follower itself never sleeps).
    #[serde(with = "millis", rename = "poll_interval_ms")]
    pub poll_interval: Duration,
    /// Longer lines are cut to this many bytes (the rest up to the newline
    /// is skipped and counted), which bounds the follower's memory.
    pub max_line_len: usize,
    /// Bytes read from the file per `read` call.
    pub read_chunk: usize,
    /// At most this many lines per [`poll`](crate::Follower::poll), so one
    /// poll over a huge backlog does not build a huge vector.
    pub max_lines_per_poll: usize,
}

impl Default for FollowConfig {
    fn default() -> Self {
        FollowConfig {
            poll_interval: Duration::from_millis(250),
            max_line_len: 64 * 1024,
            read_chunk: 64 * 1024,
            max_lines_per_poll: 10_000,
        }
    }
}

impl FollowConfig {
    /// Checks the values, naming the bad key.
    pub fn validate(&self) -> Result<(), FollowError> {
        let bad = |key: &'static str, reason: &str| {
            Err(FollowError::Config {
                key,
                reason: reason.to_owned(),
            })
        };
        if self.poll_interval.is_zero() {
            return bad("poll_interval_ms", "must be at least 1");
        }
        if self.max_line_len == 0 {
            return bad("max_line_len", "must be at least 1");
        }
        if self.read_chunk == 0 {
            return bad("read_chunk", "must be at least 1");
        }
        if self.max_lines_per_poll == 0 {
            return bad("max_lines_per_poll", "must be at least 1");
        }
        Ok(())
    }
}

mod millis {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer};

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        u64::deserialize(d).map(Duration::from_millis)
    }
}
