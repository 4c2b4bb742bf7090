//! The handlers: each parses its parameters, asks the store and answers
//! one JSON document (shapes in `docs/api.md`).

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use portwatch_aggregate::SeriesClass;
use portwatch_core::Timestamp;
use portwatch_detect::Alert;
use portwatch_pipeline::detect::{bucket_band, port_bands};
use portwatch_scanners::Tool;
use portwatch_sketch::TopEntry;
use portwatch_store::{
    AlertRecord, AlertsQuery, Order, PortTotals, SeriesQuery, SourceOrder, SourceTotals,
    SourcesQuery, TopPortsQuery, TrwSummary,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::params::{self, RangeParams};
use crate::{ApiError, ApiState};

/// Version of every document below.
const VERSION: u32 = 1;

fn ts(t: Timestamp) -> String {
    t.to_rfc3339()
}

fn opt_ts(t: Option<Timestamp>) -> Option<String> {
    t.map(ts)
}

#[derive(Debug, Serialize)]
struct TopSource {
    addr: String,
    packets: u64,
    error: u64,
}

fn top_sources(top: &[TopEntry]) -> Vec<TopSource> {
    top.iter()
        .map(|e| TopSource {
            addr: e.addr.to_string(),
            packets: e.count,
            error: e.error,
        })
        .collect()
}

#[derive(Debug, Serialize)]
struct Range {
    from: Option<String>,
    to: Option<String>,
}

impl From<portwatch_store::TimeRange> for Range {
    fn from(r: portwatch_store::TimeRange) -> Self {
        Range {
            from: opt_ts(r.from),
            to: opt_ts(r.to),
        }
    }
}

pub async fn health(State(s): State<ApiState>) -> Result<Json<Value>, ApiError> {
    let totals = s.store.totals().await?;
    let open = s
        .store
        .alerts(&AlertsQuery {
            open_only: true,
            ..AlertsQuery::default()
        })
        .await?
        .len();
    Ok(Json(json!({
        "version": VERSION,
        "status": "ok",
        "portwatch": env!("CARGO_PKG_VERSION"),
        "records": totals.counts.records(),
        "probe": totals.counts.probe,
        "backscatter": totals.counts.backscatter,
        "streams": totals.streams,
        "batches": totals.batches,
        "first_seen": opt_ts(totals.counts.first_seen),
        "last_seen": opt_ts(totals.counts.last_seen),
        "alerts_open": open,
    })))
}

#[derive(Debug, Deserialize)]
pub struct TopParams {
    #[serde(flatten)]
    range: RangeParams,
    class: Option<String>,
    proto: Option<String>,
    limit: Option<usize>,
    order: Option<String>,
}

#[derive(Debug, Serialize)]
struct Port {
    proto: &'static str,
    port: u16,
    service: Option<&'static str>,
    packets: u64,
    bytes: u64,
    sources: u64,
    sources_exact: bool,
    targets: u64,
    first_seen: String,
    last_seen: String,
    top_sources: Vec<TopSource>,
}

impl From<&PortTotals> for Port {
    fn from(p: &PortTotals) -> Self {
        Port {
            proto: p.port.proto.as_str(),
            port: p.port.port,
            service: portwatch_enrich::services::name(p.port),
            packets: p.packets,
            bytes: p.bytes,
            sources: p.sources,
            sources_exact: p.sources_exact,
            targets: p.targets,
            first_seen: ts(p.first_seen),
            last_seen: ts(p.last_seen),
            top_sources: top_sources(&p.top_sources),
        }
    }
}

pub async fn top_ports(
    State(s): State<ApiState>,
    Query(p): Query<TopParams>,
) -> Result<Json<Value>, ApiError> {
    let order = match p.order.as_deref().unwrap_or("sources") {
        "sources" => Order::Sources,
        "packets" => Order::Packets,
        o => {
            return Err(ApiError::BadRequest(format!(
                "order={o:?}: expected sources or packets"
            )));
        }
    };
    let q = TopPortsQuery {
        class: params::class(p.class.as_deref())?,
        range: p.range.range()?,
        limit: params::limit(p.limit, 20)?,
        order,
        proto: p.proto.as_deref().map(params::proto).transpose()?,
    };
    let ports = s.store.top_ports(&q).await?;
    Ok(Json(json!({
        "version": VERSION,
        "class": q.class.as_str(),
        "range": Range::from(q.range),
        "order": if order == Order::Sources { "sources" } else { "packets" },
        "ports": ports.iter().map(Port::from).collect::<Vec<_>>(),
    })))
}

#[derive(Debug, Deserialize)]
pub struct SeriesParams {
    #[serde(flatten)]
    range: RangeParams,
    bucket: Option<String>,
    class: Option<String>,
}

pub async fn port_series(
    State(s): State<ApiState>,
    Path((port, proto)): Path<(String, String)>,
    Query(p): Query<SeriesParams>,
) -> Result<Json<Value>, ApiError> {
    let key = params::port_key(&format!("{port}/{proto}"))?;
    let q = SeriesQuery {
        class: params::class(p.class.as_deref())?,
        port: key,
        width: params::bucket(p.bucket.as_deref())?,
        range: p.range.range()?,
    };
    let points = s.store.series(&q).await?;
    let (bands, alerts) = if q.class == SeriesClass::Probe {
        let records = s
            .store
            .alerts(&AlertsQuery {
                range: q.range,
                port: Some(key),
                ..AlertsQuery::default()
            })
            .await?;
        (
            port_bands(s.store.as_ref(), &s.detect, key).await?,
            parse_all(&records)?,
        )
    } else {
        (Vec::new(), Vec::new())
    };
    let w = q.width;
    let series: Vec<Value> = points
        .iter()
        .map(|pt| {
            let start = pt.start.secs();
            let ids: Vec<&str> = alerts
                .iter()
                .filter(|a| {
                    a.onset < start + w.secs() && a.closed.unwrap_or(a.last_active + 60) > start
                })
                .map(|a| a.id.0.as_str())
                .collect();
            json!({
                "start": ts(pt.start),
                "packets": pt.packets,
                "bytes": pt.bytes,
                "sources": pt.sources,
                "targets": pt.targets,
                "first_seen": ts(pt.first_seen),
                "last_seen": ts(pt.last_seen),
                "top_sources": top_sources(&pt.top_sources),
                "baseline": bucket_band(&bands, start, w),
                "alerts": ids,
            })
        })
        .collect();
    Ok(Json(json!({
        "version": VERSION,
        "proto": key.proto.as_str(),
        "port": key.port,
        "service": portwatch_enrich::services::name(key),
        "class": q.class.as_str(),
        "bucket": w.as_str(),
        "range": Range::from(q.range),
        "series": series,
        "alerts": alerts,
    })))
}

fn parse_all(records: &[AlertRecord]) -> Result<Vec<Alert>, ApiError> {
    records
        .iter()
        .map(|r| {
            serde_json::from_str(&r.doc).map_err(|e| ApiError::Corrupt {
                id: r.id.clone(),
                reason: e.to_string(),
            })
        })
        .collect()
}

#[derive(Debug, Deserialize)]
pub struct AlertParams {
    #[serde(flatten)]
    range: RangeParams,
    open: Option<bool>,
    port: Option<String>,
}

pub async fn alerts(
    State(s): State<ApiState>,
    Query(p): Query<AlertParams>,
) -> Result<Json<Value>, ApiError> {
    let q = AlertsQuery {
        range: p.range.range()?,
        open_only: p.open.unwrap_or(false),
        port: p.port.as_deref().map(params::port_key).transpose()?,
        id: None,
    };
    let records = s.store.alerts(&q).await?;
    Ok(Json(json!({
        "version": VERSION,
        "range": Range::from(q.range),
        "open_only": q.open_only,
        "alerts": parse_all(&records)?,
    })))
}

pub async fn alert(
    State(s): State<ApiState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let records = s
        .store
        .alerts(&AlertsQuery {
            id: Some(id.clone()),
            ..AlertsQuery::default()
        })
        .await?;
    let alert = parse_all(&records)?
        .into_iter()
        .next()
        .ok_or_else(|| ApiError::NotFound(format!("no alert {id}")))?;
    Ok(Json(json!(alert)))
}

#[derive(Debug, Deserialize)]
pub struct SourceParams {
    #[serde(flatten)]
    range: RangeParams,
    port: Option<String>,
    limit: Option<usize>,
    order: Option<String>,
}

#[derive(Debug, Serialize)]
struct Source {
    addr: String,
    first_seen: String,
    last_seen: String,
    probes: u64,
    backscatter: u64,
    other: u64,
    packets: u64,
    bytes: u64,
    port_count: u64,
    ports: Vec<String>,
    targets: u64,
    /// The recognised tool that sent most probes, or `unknown`.
    tool: &'static str,
    /// Probes per tool fingerprint (they add up to `probes`).
    tools: std::collections::BTreeMap<&'static str, u64>,
    /// Threshold Random Walk on the source's first contacts; null when the
    /// inputs showed no connection outcome for it.
    trw: Option<TrwSummary>,
}

impl From<&SourceTotals> for Source {
    fn from(s: &SourceTotals) -> Self {
        Source {
            addr: s.addr.to_string(),
            first_seen: ts(s.first_seen),
            last_seen: ts(s.last_seen),
            probes: s.probes,
            backscatter: s.backscatter,
            other: s.other,
            packets: s.probes + s.backscatter + s.other,
            bytes: s.bytes,
            port_count: s.port_count,
            ports: s.ports.iter().take(100).map(|p| p.to_string()).collect(),
            targets: s.targets,
            tool: s.tools.dominant().unwrap_or(Tool::Unknown).as_str(),
            tools: s.tools.iter().map(|(t, n)| (t.as_str(), n)).collect(),
            trw: s.trw(),
        }
    }
}

pub async fn sources(
    State(s): State<ApiState>,
    Query(p): Query<SourceParams>,
) -> Result<Json<Value>, ApiError> {
    let order = match p.order.as_deref().unwrap_or("probes") {
        "probes" => SourceOrder::Probes,
        "packets" => SourceOrder::Packets,
        "ports" => SourceOrder::Ports,
        "targets" => SourceOrder::Targets,
        o => {
            return Err(ApiError::BadRequest(format!(
                "order={o:?}: expected probes, packets, ports or targets"
            )));
        }
    };
    let q = SourcesQuery {
        range: p.range.range()?,
        limit: params::limit(p.limit, 20)?,
        port: p.port.as_deref().map(params::port_key).transpose()?,
        order,
    };
    let list = s.store.sources(&q).await?;
    Ok(Json(json!({
        "version": VERSION,
        "range": Range::from(q.range),
        "sources": list.iter().map(Source::from).collect::<Vec<_>>(),
    })))
}

pub async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], crate::OPENAPI).into_response()
}

pub async fn metrics(State(s): State<ApiState>) -> Result<Response, ApiError> {
    let live = s.live.as_ref().map(|l| l.snapshot());
    let text = s.metrics.render(s.store.as_ref(), live.as_ref()).await?;
    Ok((
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        text,
    )
        .into_response())
}

pub async fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        Json(json!({ "error": "no such endpoint; see /api/v1/openapi.json" })),
    )
        .into_response()
}
