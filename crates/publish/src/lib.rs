//! Telling people about portwatch alerts: charts, advisories, and delivery.
//!
//! - **Charts** ([`port_chart`], [`top_ports_chart`]): a port's distinct
//!   sources and packets per bucket with the baseline's expected band, the
//!   alert window shaded and onset and peak marked; the busiest ports side
//!   by side. SVG or PNG, drawn by plotters with a bundled font (no system
//!   fonts needed), axes in UTC with dates.
//! - **Advisories** ([`advisory`], [`render`]): one [`Advisory`] per alert in
//!   the JPCERT/CC alert shape — overview, situation observed, probable
//!   cause (products on the port, vulnerabilities disclosed shortly before
//!   the onset, from `portwatch_enrich`), recommended actions, references —
//!   rendered as Markdown, a self-contained HTML file, JSON
//!   (`portwatch.advisory/1`) or a STIX 2.1 bundle with deterministic ids.
//! - **Masking** ([`Masking`]): target addresses are masked in every
//!   published output unless the caller unmasks them (rule 9).
//! - **Delivery** ([`deliver`]): webhooks with retries, exponential backoff,
//!   an idempotency key per transition and a record of every attempt; a
//!   JSON-lines sink for files and stdout.
//!
//! Formats, the STIX mapping and the webhook contract are documented in
//! `docs/advisory.md`.
//!
//! ```
//! use portwatch_core::BucketWidth;
//! use portwatch_publish::{
//!     advisory, render, AdvisoryFormat, AdvisoryOptions, ChartOptions, Evidence, ImageFormat,
//!     Point, PortSeries, port_chart,
//! };
//!
//! # let json = r#"{"schema":"portwatch.alert/1","id":"369c41a8f157fde9","proto":"tcp","port":5168,
//! #  "kind":"campaign","moved":"both","state":"peak",
//! #  "transitions":[{"state":"rising","at":"2007-08-22T14:00:00Z","decided":"2007-08-22T14:01:00Z"},
//! #                 {"state":"peak","at":"2007-08-22T14:34:00Z","decided":"2007-08-22T14:49:00Z"}],
//! #  "onset":"2007-08-22T14:00:00Z","opened":"2007-08-22T14:01:00Z","last_active":"2007-08-22T14:49:00Z",
//! #  "closed":null,"peak":{"at":"2007-08-22T14:34:00Z","sources":213,"packets":373,"targets":372},
//! #  "baseline_at_onset":{"sources_per_min":0.0005,"packets_per_min":0.0005},
//! #  "score":{"at_open":15.4,"max":459.8,"ratio_at_open":4608.0,"window_minutes":5},
//! #  "during":{"minutes":50,"gap_minutes":0,"packets":9000,"source_minutes":5000,
//! #            "sources_at_least":276,"targets_peak_per_min":372},
//! #  "top_sources":[{"addr":"192.0.2.7","packets":462}],"summary":"…"}"#;
//! // An alert from the detector (or the store), and the port's series.
//! let alert: portwatch_detect::Alert = serde_json::from_str(json)?;
//! let hour = |h: i64| 1_187_740_800 + h * 3600; // 2007-08-22 00:00 UTC + h
//! let series = PortSeries {
//!     key: alert.key(),
//!     bucket: BucketWidth::Hour,
//!     points: vec![Point::new(hour(14), 276, 9000, 900)],
//! }
//! .with_baseline(&alert.baseline_at_onset)
//! .with_range(hour(0), hour(16));
//!
//! let svg = port_chart(&series, Some(&alert), &ChartOptions::default(), ImageFormat::Svg)?;
//! assert!(svg.starts_with(b"<svg"));
//!
//! let evidence = Evidence { series: Some(series), ..Evidence::default() };
//! let adv = advisory(&alert, &evidence, &AdvisoryOptions::builtin());
//! let md = render(&adv, AdvisoryFormat::Markdown)?;
//! assert!(md.contains("Trend Micro ServerProtect") && md.contains("CVE-2007-4218"));
//! let stix = render(&adv, AdvisoryFormat::Stix)?;
//! assert!(stix.contains("\"type\": \"bundle\""));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

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
