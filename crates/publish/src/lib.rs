//! placeholder
pub mod advisory;
mod chart;
pub mod deliver;
mod error;
mod mask;
mod series;
mod stix;
mod time;

pub use advisory::{Advisory, AdvisoryFormat, AdvisoryOptions, Evidence, advisory, render};
pub use chart::{ChartOptions, ImageFormat, TopPorts, port_chart, top_ports_chart};
pub use deliver::{DeliveryRecord, JsonLines, Webhook, WebhookConfig, idempotency_key};
pub use error::PublishError;
pub use mask::Masking;
pub use series::{Band, Expected, Metric, Point, PortSeries};
