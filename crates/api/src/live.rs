//! What only a running sensor knows (its sources' health), and what its
//! honeypot stored (payload clusters and the signatures they matched).

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Path, Query, State};
use portwatch_core::Timestamp;
use portwatch_payload::escape_bytes;
use portwatch_store::PayloadsQuery;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::{ApiError, ApiState, params};

/// `GET /api/v1/sensors`: the live sensor's sources with their counters,
/// drops, last event and lag. Over a store without a running sensor
/// (`portwatch serve`), `live` is false and the list is empty.
pub async fn sensors(State(s): State<ApiState>) -> Json<Value> {
    let sensors: Vec<Value> = s
        .live
        .as_ref()
        .map(|l| l.snapshot())
        .into_iter()
        .map(|h| serde_json::to_value(h).unwrap_or_default())
        .collect();
    Json(json!({
        "version": 1,
        "live": s.live.is_some(),
        "sensors": sensors,
    }))
}

#[derive(Debug, Deserialize)]
pub struct PayloadParams {
    limit: Option<usize>,
}

/// `GET /api/v1/ports/{port}/{proto}/payloads`: the signatures seen on a
/// port (with how many payloads and clusters matched each) and its payload
/// clusters, most frequent first, payload bytes shown escaped.
pub async fn port_payloads(
    State(s): State<ApiState>,
    Path((port, proto)): Path<(String, String)>,
    Query(p): Query<PayloadParams>,
) -> Result<Json<Value>, ApiError> {
    let key = params::port_key(&format!("{port}/{proto}"))?;
    let limit = p.limit.unwrap_or(50);
    if limit == 0 || limit > 1000 {
        return Err(ApiError::BadRequest(format!(
            "limit={limit}: expected 1 to 1000"
        )));
    }
    let all = s
        .store
        .payloads(&PayloadsQuery {
            port: Some(key),
            limit: 0,
        })
        .await?;
    let mut signatures: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
    for c in &all {
        for sig in &c.signatures {
            let e = signatures.entry(sig.as_str()).or_default();
            e.0 += c.count;
            e.1 += 1;
        }
    }
    let mut signatures: Vec<Value> = signatures
        .into_iter()
        .map(|(name, (payloads, clusters))| {
            json!({ "name": name, "payloads": payloads, "clusters": clusters })
        })
        .collect();
    signatures.sort_by_key(|v| std::cmp::Reverse(v["payloads"].as_u64().unwrap_or(0)));
    let ts = |t: i64| Timestamp::from_secs(t).to_rfc3339();
    let clusters: Vec<Value> = all
        .iter()
        .take(limit)
        .map(|c| {
            json!({
                "hash": c.hash,
                "count": c.count,
                "sources": c.sources,
                "sources_capped": c.sources_capped,
                "first_seen": ts(c.first_seen),
                "last_seen": ts(c.last_seen),
                "signatures": c.signatures,
                "len": c.len,
                "payload": escape_bytes(&c.bytes),
                "payload_cut": (c.bytes.len() as u64) < c.len,
            })
        })
        .collect();
    Ok(Json(json!({
        "version": 1,
        "proto": key.proto.as_str(),
        "port": key.port,
        "payloads": all.iter().map(|c| c.count).sum::<u64>(),
        "signatures": signatures,
        "clusters": clusters,
        "clusters_total": all.len(),
    })))
}
