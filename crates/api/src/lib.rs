//! portwatch's read-only HTTP JSON API over a store, and its Prometheus
//! metrics. `portwatch serve` runs it over a store file; `portwatch run`
//! mounts the same router beside its live sensors.
//!
//! [`router`] builds the whole API from an [`ApiState`] and knows nothing of
//! sockets, so tests drive it with `tower::ServiceExt::oneshot`:
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! use std::sync::Arc;
//! use portwatch_api::{ApiState, router};
//! use portwatch_store::SqliteStore;
//!
//! let store = Arc::new(SqliteStore::in_memory().await?);
//! let app = router(ApiState::new(store, Default::default()));
//! # let _ = app;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```
//!
//! Endpoints (all `GET`, JSON unless noted; described in `openapi.json`,
//! served at `/api/v1/openapi.json`, and in `docs/api.md`):
//!
//! | path | what |
//! |---|---|
//! | `/api/v1/health` | liveness, the store's totals and time span |
//! | `/api/v1/ports/top` | busiest ports over a range (`since`, `until`, `class`, `proto`, `limit`, `order`) |
//! | `/api/v1/ports/{port}/{proto}/series` | one port's series with its baseline band and alerts (`bucket`, `since`, `until`, `class`) |
//! | `/api/v1/ports/{port}/{proto}/payloads` | payload signatures and clusters the honeypot recorded on a port (`limit`) |
//! | `/api/v1/sensors` | the running sensor's sources: counts, errors, drops, last event, lag (`portwatch run` only) |
//! | `/api/v1/alerts` | stored alerts (`open`, `port`, `since`, `until`) |
//! | `/api/v1/alerts/{id}` | one alert document |
//! | `/api/v1/sources` | most active sources (`port`, `limit`, `order`, `since`, `until`) |
//! | `/metrics` | Prometheus text exposition |

mod error;
mod handlers;
mod live;
mod metrics;
mod params;

use std::sync::Arc;

use axum::Router;
use axum::routing::get;
use portwatch_detect::DetectConfig;
use portwatch_pipeline::live::LiveStats;
use portwatch_store::Store;

pub use error::ApiError;
pub use metrics::Metrics;

/// What every handler reads.
#[derive(Debug, Clone)]
pub struct ApiState {
    pub store: Arc<dyn Store>,
    /// Detection settings, for the baseline band of a series.
    pub detect: DetectConfig,
    /// Counters the process keeps (records read, drops, …), exposed at
    /// `/metrics` beside what the store holds.
    pub metrics: Arc<Metrics>,
    /// The running sensor's health (`portwatch run`); `None` when serving
    /// a store alone.
    pub live: Option<LiveStats>,
}

impl ApiState {
    pub fn new(store: Arc<dyn Store>, detect: DetectConfig) -> Self {
        ApiState {
            store,
            detect,
            metrics: Arc::new(Metrics::default()),
            live: None,
        }
    }

    /// The same state with a running sensor's health attached.
    pub fn with_live(mut self, live: LiveStats) -> Self {
        self.live = Some(live);
        self
    }
}

/// The OpenAPI 3.1 description of this API.
pub const OPENAPI: &str = include_str!("../openapi.json");

/// Every route of the API.
pub fn router(state: ApiState) -> Router {
    Router::new()
        .route("/api/v1/health", get(handlers::health))
        .route("/api/v1/ports/top", get(handlers::top_ports))
        .route(
            "/api/v1/ports/{port}/{proto}/series",
            get(handlers::port_series),
        )
        .route(
            "/api/v1/ports/{port}/{proto}/payloads",
            get(live::port_payloads),
        )
        .route("/api/v1/sensors", get(live::sensors))
        .route("/api/v1/alerts", get(handlers::alerts))
        .route("/api/v1/alerts/{id}", get(handlers::alert))
        .route("/api/v1/sources", get(handlers::sources))
        .route("/api/v1/openapi.json", get(handlers::openapi))
        .route("/metrics", get(handlers::metrics))
        .fallback(handlers::not_found)
        .with_state(state)
}
