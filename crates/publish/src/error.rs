//! The one error type of the crate.

/// What went wrong while publishing.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PublishError {
    /// The input cannot be drawn or published (empty series, bad bucket…).
    #[error("invalid input: {0}")]
    Input(String),
    /// The plotting library refused to draw.
    #[error("drawing the chart: {0}")]
    Chart(String),
    /// Encoding the PNG failed.
    #[error("encoding PNG: {0}")]
    Png(#[from] png::EncodingError),
    /// Serializing a document failed.
    #[error("serializing JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// An unknown `--format` or image extension.
    #[error("unknown format {0:?} (expected {1})")]
    Format(String, &'static str),
    /// Writing to a sink failed.
    #[error("writing {what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    /// The webhook client could not be built (bad URL, TLS setup).
    #[error("webhook client: {0}")]
    Client(#[source] reqwest::Error),
}
