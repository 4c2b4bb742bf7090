//! One error type for every handler: it picks the status and never leaks a
//! store's internals beyond one line.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use portwatch_store::StoreError;
use serde_json::json;

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    /// A parameter is malformed or out of range; the message names it.
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    NotFound(String),
    #[error("store: {0}")]
    Store(#[from] StoreError),
    #[error("detection: {0}")]
    Detect(#[from] portwatch_pipeline::detect::DetectRunError),
    /// A stored document no longer parses (a store from a newer build).
    #[error("stored alert {id} is unreadable: {reason}")]
    Corrupt { id: String, reason: String },
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = match &self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Store(StoreError::InvalidQuery(_)) => StatusCode::BAD_REQUEST,
            ApiError::Store(_) | ApiError::Detect(_) | ApiError::Corrupt { .. } => {
                tracing::warn!(error = %self, "API request failed");
                StatusCode::INTERNAL_SERVER_ERROR
            }
        };
        (status, Json(json!({ "error": self.to_string() }))).into_response()
    }
}
