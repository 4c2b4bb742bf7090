//! The live endpoints through the router: payload clusters and the sensor's
//! health.

#![allow(clippy::unwrap_used)]

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use portwatch_aggregate::BatchId;
use portwatch_api::{ApiState, router};
use portwatch_pipeline::live::{LiveStats, SourceKind};
use portwatch_store::{PayloadSample, SqliteStore, Store};
use serde_json::Value;
use tower::ServiceExt;

async fn get(app: &axum::Router, uri: &str) -> (StatusCode, Value) {
    let res = app
        .clone()
        .oneshot(Request::get(uri).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = res.status();
    let body = res.into_body().collect().await.unwrap().to_bytes();
    let text = String::from_utf8(body.to_vec()).unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

fn sample(hash: u64, src: u8, sigs: &[&str], bytes: &[u8]) -> PayloadSample {
    PayloadSample {
        port: "6379/tcp".parse().unwrap(),
        hash,
        ts: 1_700_000_000,
        src: IpAddr::V4(Ipv4Addr::new(192, 0, 2, src)),
        signatures: sigs.iter().map(|s| s.to_string()).collect(),
        bytes: bytes.to_vec(),
        len: bytes.len() as u64,
    }
}

#[tokio::test]
async fn payloads_and_sensors() {
    let store = SqliteStore::in_memory().await.unwrap();
    store
        .merge_payloads(
            &BatchId {
                stream: "live:t".into(),
                seq: 0,
            },
            &[
                sample(1, 1, &["redis-inline"], b"PING\r\n"),
                sample(1, 2, &["redis-inline"], b"PING\r\n"),
                sample(2, 3, &["redis-resp"], b"*1\r\n$4\r\nINFO\r\n\x00"),
            ],
        )
        .await
        .unwrap();
    let stats = LiveStats::new("t", "live:t", 5);
    stats.register("honeypot", SourceKind::Honeypot);
    let store: Arc<dyn Store> = Arc::new(store);
    let app = router(ApiState::new(store.clone(), Default::default()).with_live(stats));

    let (status, doc) = get(&app, "/api/v1/ports/6379/tcp/payloads").await;
    assert_eq!(status, StatusCode::OK, "{doc}");
    assert_eq!(doc["payloads"], 3);
    assert_eq!(doc["signatures"][0]["name"], "redis-inline");
    assert_eq!(doc["signatures"][0]["payloads"], 2);
    assert_eq!(doc["signatures"][1]["name"], "redis-resp");
    assert_eq!(doc["clusters"][0]["sources"], 2);
    assert_eq!(doc["clusters"][0]["payload"], "PING\\x0d\\x0a");
    assert_eq!(
        doc["clusters"][1]["payload"],
        "*1\\x0d\\x0a$4\\x0d\\x0aINFO\\x0d\\x0a\\x00"
    );
    let (_, other) = get(&app, "/api/v1/ports/6379/udp/payloads").await;
    assert_eq!(other["payloads"], 0);
    let (status, _) = get(&app, "/api/v1/ports/6379/tcp/payloads?limit=0").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = get(&app, "/api/v1/ports/99999/tcp/payloads").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    let (_, sensors) = get(&app, "/api/v1/sensors").await;
    assert_eq!(sensors["live"], true);
    assert_eq!(sensors["sensors"][0]["stream"], "live:t");
    assert_eq!(sensors["sensors"][0]["sources"][0]["name"], "honeypot");
    assert_eq!(sensors["sensors"][0]["sources"][0]["kind"], "honeypot");

    let (status, metrics) = get(&app, "/metrics").await;
    assert_eq!(status, StatusCode::OK);
    let text = metrics.as_str().unwrap();
    assert!(
        text.contains("portwatch_live_events{source=\"honeypot\",kind=\"honeypot\"} 0"),
        "{text}"
    );

    let (_, spec) = get(&app, "/api/v1/openapi.json").await;
    for path in ["/api/v1/sensors", "/api/v1/ports/{port}/{proto}/payloads"] {
        assert!(
            spec["paths"][path]["get"].is_object(),
            "{path} not in openapi.json"
        );
    }

    let serve = router(ApiState::new(store, Default::default()));
    let (_, none) = get(&serve, "/api/v1/sensors").await;
    assert_eq!(none["live"], false);
    assert_eq!(none["sensors"].as_array().unwrap().len(), 0);
}
