//! Following growing log files the way `tail -F` does, without losing or
//! double-counting a line.
//!
//! A firewall's drop log is a file that syslog appends to and logrotate
//! moves away (rename, then a new file at the path) or empties in place
//! (`copytruncate`). [`Follower`] polls the path, yields whole lines only (a
//! half-written line waits for its newline), notices rotation and truncation,
//! and cuts lines longer than a bound so memory stays bounded whatever the
//! file holds.
//!
//! Where it stopped is a [`Position`]: device and inode, the offset after the
//! last line handed out, and a hash of the file's first bytes (so a recycled
//! inode is not mistaken for the old file). [`save_position`] writes it
//! atomically (temp file, fsync, rename); a follower opened with it resumes
//! exactly after the last line the caller acknowledged, also when the file
//! was rotated while the process was down (the rotated file is found by its
//! inode in the same directory and finished first).
//!
//! ```
//! use portwatch_follow::{FollowConfig, Follower};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let dir = tempfile::tempdir()?;
//! let log = dir.path().join("fw.log");
//! std::fs::write(&log, "one\ntwo\nthr")?;
//! let mut f = Follower::open(&log, FollowConfig::default(), None)?;
//! let lines = f.poll()?;
//! assert_eq!(lines.len(), 2); // "thr" waits for its newline
//! assert_eq!(lines[1].text, b"two");
//! # Ok(())
//! # }
//! ```
//!
//! Polling (default every 250 ms, [`FollowConfig::poll_interval`]) is the
//! caller's loop: call [`Follower::poll`], handle the lines, persist
//! [`Follower::position`], sleep. The crate does no async and spawns nothing,
//! so it fits a blocking thread or `spawn_blocking` alike.

mod config;
mod error;
mod follower;
mod position;

pub use config::FollowConfig;
pub use error::FollowError;
pub use follower::{FollowStats, Follower, Line};
pub use position::{Position, load_position, save_position};
