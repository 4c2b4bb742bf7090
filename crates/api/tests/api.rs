//! The API through its router, no socket: a simulated darknet with a
//! 5168-like wave analyzed into a store, then every endpoint asked.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use portwatch_api::{ApiState, router};
use portwatch_detect::DetectConfig;
use portwatch_pipeline::detect::detect_store;
use portwatch_pipeline::{AnalyzeOptions, analyze};
use portwatch_simulate::{SimConfig, simulate};
use portwatch_store::SqliteStore;
use serde_json::Value;
use tower::ServiceExt;

async fn state() -> (ApiState, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let cfg = SimConfig {
        seed: 9,
        duration_secs: 30 * 3600,
        total_packets: Some(100_000),
        background_sources: 2_000,
        campaigns: vec![
            "5168/tcp@26h+2h,sources=300,targets=3,tool=masscan,ramp=taper"
                .parse()
                .unwrap(),
        ],
        ..SimConfig::default()
    };
    let pcap = dir.path().join("sim.pcap");
    simulate(&cfg, std::fs::File::create(&pcap).unwrap()).unwrap();
    let store = SqliteStore::in_memory().await.unwrap();
    let opts = AnalyzeOptions {
        inputs: vec![pcap.to_str().unwrap().to_string()],
        ..AnalyzeOptions::default()
    };
    analyze(Some(&store), &opts).await.unwrap();
    detect_store(&store, &DetectConfig::default())
        .await
        .unwrap();
    (ApiState::new(Arc::new(store), DetectConfig::default()), dir)
}

async fn get(app: &axum::Router, uri: &str) -> (StatusCode, String) {
    let res = app
        .clone()
        .oneshot(Request::get(uri).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = res.status();
    let body = res.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8(body.to_vec()).unwrap())
}

async fn get_json(app: &axum::Router, uri: &str) -> Value {
    let (status, body) = get(app, uri).await;
    assert_eq!(status, StatusCode::OK, "{uri}: {body}");
    serde_json::from_str(&body).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_endpoint_answers_from_the_store() {
    let (state, _dir) = state().await;
    let app = router(state);

    let health = get_json(&app, "/api/v1/health").await;
    assert_eq!(health["status"], "ok");
    assert!(health["probe"].as_u64().unwrap() > 50_000);
    assert_eq!(health["alerts_open"], 0);

    let top = get_json(&app, "/api/v1/ports/top?limit=5&proto=tcp").await;
    let ports = top["ports"].as_array().unwrap();
    assert_eq!(ports.len(), 5);
    assert!(ports.iter().all(|p| p["proto"] == "tcp"));
    let wave = get_json(
        &app,
        "/api/v1/ports/top?since=2026-01-06T02:00:00Z&until=2026-01-06T04:00:00Z&limit=10",
    )
    .await;
    let p5168 = wave["ports"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["port"] == 5168)
        .unwrap_or_else(|| panic!("5168 among the busiest in its wave: {wave:#}"));
    assert!(p5168["sources"].as_u64().unwrap() >= 300);

    let alerts = get_json(&app, "/api/v1/alerts").await;
    let list = alerts["alerts"].as_array().unwrap();
    let alert = list.iter().find(|a| a["port"] == 5168).unwrap();
    assert_eq!(alert["schema"], "portwatch.alert/1");
    let id = alert["id"].as_str().unwrap();
    let one = get_json(&app, &format!("/api/v1/alerts/{id}")).await;
    assert_eq!(&one, alert);
    let open = get_json(&app, "/api/v1/alerts?open=true").await;
    assert_eq!(open["alerts"].as_array().unwrap().len(), 0);

    let series = get_json(&app, "/api/v1/ports/5168/tcp/series?bucket=5m").await;
    let marked: Vec<&Value> = series["series"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["alerts"].as_array().unwrap().iter().any(|a| a == id))
        .collect();
    assert!(marked.len() >= 6, "{}", marked.len());
    assert!(marked[0]["baseline"]["sources_per_min"].as_f64().unwrap() < 0.01);
    assert_eq!(series["alerts"][0]["id"], id);

    let sources = get_json(&app, "/api/v1/sources?port=5168/tcp&limit=400").await;
    let sources = sources["sources"].as_array().unwrap();
    assert!(sources.len() >= 300);
    for src in sources {
        // Every probe is counted under one tool, the dominant one named;
        // a darknet capture gives no connection outcomes.
        let tools = src["tools"].as_object().unwrap();
        let sum: u64 = tools.values().map(|n| n.as_u64().unwrap()).sum();
        assert_eq!(sum, src["probes"].as_u64().unwrap(), "{src}");
        let tool = src["tool"].as_str().unwrap();
        assert!(tool == "unknown" || tools.contains_key(tool), "{src}");
        assert_eq!(src["trw"], Value::Null, "{src}");
    }
    assert!(sources.iter().any(|s| s["tool"] != "unknown"));

    let (status, text) = get(&app, "/metrics").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        text.contains("portwatch_store_records{class=\"probe\"}"),
        "{text}"
    );
    assert!(
        text.contains("portwatch_alerts{state=\"closed\"}"),
        "{text}"
    );
    assert!(text.ends_with("# EOF\n"));

    let spec: Value = serde_json::from_str(&get(&app, "/api/v1/openapi.json").await.1).unwrap();
    assert_eq!(spec["openapi"], "3.1.0");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_name_the_parameter() {
    let store = SqliteStore::in_memory().await.unwrap();
    let app = router(ApiState::new(Arc::new(store), DetectConfig::default()));
    for (uri, status, needle) in [
        (
            "/api/v1/ports/top?since=yesterday",
            StatusCode::BAD_REQUEST,
            "since",
        ),
        (
            "/api/v1/ports/top?class=noise",
            StatusCode::BAD_REQUEST,
            "class",
        ),
        (
            "/api/v1/ports/top?limit=99999999",
            StatusCode::BAD_REQUEST,
            "limit",
        ),
        (
            "/api/v1/ports/70000/tcp/series",
            StatusCode::BAD_REQUEST,
            "port",
        ),
        (
            "/api/v1/ports/80/tcp/series?bucket=7m",
            StatusCode::BAD_REQUEST,
            "bucket",
        ),
        (
            "/api/v1/sources?order=loud",
            StatusCode::BAD_REQUEST,
            "order",
        ),
        (
            "/api/v1/alerts/0000",
            StatusCode::NOT_FOUND,
            "no alert 0000",
        ),
        ("/api/v1/nothing", StatusCode::NOT_FOUND, "openapi"),
        (
            "/api/v1/alerts?since=2026-01-02&until=2026-01-01",
            StatusCode::BAD_REQUEST,
            "after",
        ),
    ] {
        let (got, body) = get(&app, uri).await;
        assert_eq!(got, status, "{uri}: {body}");
        let v: Value = serde_json::from_str(&body).unwrap();
        assert!(
            v["error"].as_str().unwrap().contains(needle),
            "{uri}: {body}"
        );
    }
}
