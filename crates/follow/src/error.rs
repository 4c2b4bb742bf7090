//! Errors of the follower.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FollowError {
    #[error("cannot read {path}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("follow config: `{key}`: {reason}")]
    Config { key: &'static str, reason: String },
    #[error("position file {path} is not valid")]
    BadState {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
}

pub(crate) fn io(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> FollowError + '_ {
    move |source| FollowError::Io {
        path: path.to_owned(),
        source,
    }
}
