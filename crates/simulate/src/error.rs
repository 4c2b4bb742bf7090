//! The one error type of this crate.

use std::path::PathBuf;

/// Why a simulation could not be configured or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SimError {
    /// A config value is impossible; `field` is its path, e.g.
    /// `campaigns[0].duration_secs`.
    #[error("invalid simulation config: {field}: {reason}")]
    Config { field: String, reason: String },
    /// A compact text form (campaign, gap, ramp, tool, duration) was not
    /// understood.
    #[error("cannot parse {what} {input:?}: {reason}")]
    Parse {
        what: &'static str,
        input: String,
        reason: String,
    },
    /// Writing the capture failed.
    #[error("writing the capture failed")]
    Write(#[source] std::io::Error),
    /// Writing the ground-truth file failed.
    #[error("writing ground truth to {}", path.display())]
    Truth {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl SimError {
    pub(crate) fn config(field: impl Into<String>, reason: impl Into<String>) -> Self {
        SimError::Config {
            field: field.into(),
            reason: reason.into(),
        }
    }

    pub(crate) fn parse(what: &'static str, input: &str, reason: impl Into<String>) -> Self {
        SimError::Parse {
            what,
            input: input.to_string(),
            reason: reason.into(),
        }
    }

    /// The config field an invalid-config error names, if it is one.
    pub fn field(&self) -> Option<&str> {
        match self {
            SimError::Config { field, .. } => Some(field),
            _ => None,
        }
    }
}
