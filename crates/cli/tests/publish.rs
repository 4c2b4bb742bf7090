//! Telling people, end to end through the real binary: charts from
//! `report port|top --chart`, `portwatch advisory` in every format for a
//! simulated 5168 wave (ServerProtect, its CVEs, no target address), and
//! publishing after `analyze` — advisory files, a JSON-lines file and a
//! real webhook that fails some attempts — each alert transition reaching
//! each sink exactly once across two runs into the same store.

#![allow(clippy::unwrap_used, clippy::print_stderr)]

mod common;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::State as AxState;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use common::*;
use serde_json::Value;

/// The simulated darknet: targets are in here, and must never appear
/// unmasked in what is published (rule 9).
const DARKNET_PREFIX: &str = "198.18.";

fn simulate(dir: &Path) -> PathBuf {
    let pcap = dir.join("sim.pcap");
    let (code, _, err) = run(&[
        "simulate",
        "--out",
        pcap.to_str().unwrap(),
        "--hours",
        "36",
        "--packets",
        "200000",
        "--sources",
        "3000",
        "--seed",
        "7",
        "--campaign",
        "5168/tcp@26h+2h,sources=300,targets=3,tool=masscan,ramp=taper",
        "--campaign",
        "0/udp@28h+1h,sources=60,pps=0.05,tool=zmap",
    ]);
    assert_eq!(code, 0, "{err}");
    pcap
}

fn analyze(pcap: &Path, db: &Path, config: Option<&Path>) -> Value {
    let mut args = vec![
        "analyze",
        "--format",
        "json",
        "--db",
        db.to_str().unwrap(),
        pcap.to_str().unwrap(),
    ];
    if let Some(c) = config {
        args.extend(["--config", c.to_str().unwrap()]);
    }
    let (code, doc) = run_json(&args);
    assert_eq!(code, 0, "{doc}");
    doc
}

fn alert_on(doc: &Value, port: u64) -> Value {
    doc["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["port"] == port)
        .unwrap_or_else(|| panic!("no alert on port {port}"))
        .clone()
}

/// Width and height of an SVG's root element.
fn svg_size(svg: &str) -> (u32, u32) {
    let root = &svg[svg.find("<svg").unwrap()..];
    let root = &root[..root.find('>').unwrap()];
    let attr = |name: &str| -> u32 {
        let at = root.find(&format!(" {name}=\"")).unwrap() + name.len() + 3;
        root[at..].split('"').next().unwrap().parse().unwrap()
    };
    (attr("width"), attr("height"))
}

/// Width and height from a PNG's IHDR chunk.
fn png_size(png: &[u8]) -> (u32, u32) {
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "PNG signature");
    assert_eq!(&png[12..16], b"IHDR");
    let be = |b: &[u8]| u32::from_be_bytes(b.try_into().unwrap());
    (be(&png[16..20]), be(&png[20..24]))
}

/// No full address of the darknet: only `198.18.x.x`-style masked ones.
fn assert_no_target(text: &str, what: &str) {
    for (i, _) in text.match_indices(DARKNET_PREFIX) {
        let rest = &text[i + DARKNET_PREFIX.len()..];
        let octets: Vec<&str> = rest.splitn(3, '.').take(2).collect();
        let full = octets.len() == 2
            && octets
                .iter()
                .all(|o| o.chars().next().is_some_and(|c| c.is_ascii_digit()));
        assert!(!full, "{what} shows a target address: {}", &text[i..i + 20]);
    }
}

#[test]
fn charts_and_advisories_of_a_simulated_5168_wave() {
    let dir = tempfile::tempdir().unwrap();
    let pcap = simulate(dir.path());
    let db = dir.path().join("a.db");
    let doc = analyze(&pcap, &db, None);
    let db = db.to_str().unwrap();
    // Nothing configured: nothing published.
    assert_eq!(doc["deliveries"], serde_json::json!([]));
    assert_eq!(doc["published"], serde_json::json!([]));

    // One port, SVG: stdout keeps the JSON report, stderr says where.
    let svg_path = dir.path().join("5168.svg");
    let (code, out, err) = run(&[
        "report",
        "port",
        "5168/tcp",
        "--db",
        db,
        "--bucket",
        "1h",
        "--format",
        "json",
        "--chart",
        svg_path.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let report: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["port"], 5168);
    assert!(err.contains(svg_path.to_str().unwrap()), "{err}");
    let svg = std::fs::read_to_string(&svg_path).unwrap();
    assert_eq!(svg_size(&svg), (1000, 640));
    assert!(svg.contains("onset 2026-01-06"), "onset annotated");
    assert!(svg.contains("peak "), "peak annotated");
    assert!(svg.contains("alert window"));

    // PNG at a chosen size.
    let png_path = dir.path().join("5168.png");
    let (code, _, err) = run(&[
        "report",
        "port",
        "5168/tcp",
        "--db",
        db,
        "--bucket",
        "5m",
        "--chart",
        png_path.to_str().unwrap(),
        "--chart-size",
        "800x500",
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(png_size(&std::fs::read(&png_path).unwrap()), (800, 500));

    // The top ports.
    let top_path = dir.path().join("top.svg");
    let (code, out, err) = run(&[
        "report",
        "top",
        "--db",
        db,
        "--chart",
        top_path.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("Top "), "the table still goes to stdout");
    let top = std::fs::read_to_string(&top_path).unwrap();
    assert_eq!(svg_size(&top), (1000, 640));
    assert!(top.contains("23/tcp"), "the busiest port is drawn");

    // A chart needs a known extension; nothing is written otherwise.
    let (code, _, err) = run(&[
        "report",
        "port",
        "5168/tcp",
        "--db",
        db,
        "--chart",
        dir.path().join("x.gif").to_str().unwrap(),
    ]);
    assert_eq!(code, 1);
    assert!(err.contains(".svg or .png"), "{err}");

    // The advisory in every format.
    let id = alert_on(&doc, 5168)["id"].as_str().unwrap().to_string();
    for format in ["md", "html", "json", "stix"] {
        let (code, text, err) = run(&["advisory", &id, "--db", db, "--format", format]);
        assert_eq!(code, 0, "{format}: {err}");
        assert!(text.contains("ServerProtect"), "{format}");
        for cve in ["CVE-2007-4218", "CVE-2007-4219"] {
            assert!(text.contains(cve), "{format} names {cve}");
        }
        assert_no_target(&text, format);
    }
    let (_, json) = run_json(&["advisory", &id, "--db", db, "--format", "json"]);
    assert_eq!(json["schema"], "portwatch.advisory/1");
    assert_eq!(json["masking"]["targets_masked"], true);
    assert_eq!(
        json["situation"]["sources"], 300,
        "distinct sources from the store"
    );
    assert_eq!(json["situation"]["sources_exact"], true);
    let series = json["situation"]["series"].as_array().unwrap();
    assert!(
        series.iter().any(|p| p["expected"].is_object()),
        "the series carries the per-bucket baseline band"
    );
    let (_, stix) = run_json(&["advisory", &id, "--db", db, "--format", "stix"]);
    assert_eq!(stix["type"], "bundle");

    // --out and --unmask.
    let out_path = dir.path().join("adv.html");
    let (code, out, err) = run(&[
        "advisory",
        &id,
        "--db",
        db,
        "--format",
        "html",
        "--unmask",
        "--out",
        out_path.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.is_empty());
    assert!(err.contains("NOT masked"), "{err}");
    assert!(
        std::fs::read_to_string(&out_path)
            .unwrap()
            .contains("NOT masked")
    );

    // An unknown id.
    let (code, out, err) = run(&["advisory", "0000000000000000", "--db", db]);
    assert_eq!(code, 1);
    assert!(out.is_empty());
    assert!(err.contains("no alert 0000000000000000"), "{err}");
}

/// A webhook receiver that answers 503 to the requests numbered in `fail`
/// (1-based) and 200 to the others, remembering what it accepted.
#[derive(Default)]
struct Receiver {
    requests: u32,
    fail: Vec<u32>,
    /// Idempotency key → times accepted.
    accepted: HashMap<String, u32>,
    /// Keys of the requests answered 503.
    failed: Vec<String>,
    /// The bodies accepted (alert documents).
    bodies: Vec<Value>,
}

type Shared = Arc<Mutex<Receiver>>;

async fn hook(AxState(st): AxState<Shared>, headers: HeaderMap, body: String) -> StatusCode {
    let key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let mut r = st.lock().unwrap();
    r.requests += 1;
    if r.fail.contains(&r.requests) {
        r.failed.push(key);
        return StatusCode::SERVICE_UNAVAILABLE;
    }
    *r.accepted.entry(key).or_default() += 1;
    r.bodies
        .push(serde_json::from_str(&body).unwrap_or(Value::Null));
    StatusCode::OK
}

/// Serves on 127.0.0.1 from a runtime of its own: the test itself runs
/// the binary synchronously.
fn serve(r: Receiver) -> (String, Shared, tokio::runtime::Runtime) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let st: Shared = Arc::new(Mutex::new(r));
    let app = Router::new()
        .route("/hook", post(hook))
        .with_state(st.clone());
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    rt.spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}/hook"), st, rt)
}

fn keys_of(doc: &Value, sink: &str, outcome: &str) -> Vec<String> {
    doc["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["sink"] == sink && d["outcome"] == outcome)
        .map(|d| d["idempotency_key"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn every_transition_reaches_each_sink_exactly_once_across_runs() {
    let dir = tempfile::tempdir().unwrap();
    let pcap = simulate(dir.path());
    // Request 1 fails and its retry succeeds; the next transition fails
    // both its attempts, so it and the rest wait for the second run.
    let (url, st, _rt) = serve(Receiver {
        fail: vec![1, 3, 4],
        ..Receiver::default()
    });
    let config = dir.path().join("portwatch.toml");
    let adv = dir.path().join("advisories");
    let jsonl = dir.path().join("events.jsonl");
    std::fs::write(
        &config,
        format!(
            "[publish]\nadvisory_dir = {adv:?}\njsonl = {jsonl:?}\nwebhooks = [\n  {{ url = \"{url}\", max_attempts = 2, initial_backoff_secs = 0.05, timeout_secs = 5 }},\n]\n"
        ),
    )
    .unwrap();
    let db = dir.path().join("a.db");
    let hook_sink = format!("webhook:{url}");
    let jsonl_sink = format!("jsonl:{}", jsonl.display());

    let first = analyze(&pcap, &db, Some(&config));
    let transitions: HashSet<String> = first["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|a| {
            let id = a["id"].as_str().unwrap().to_string();
            a["transitions"].as_array().unwrap().iter().map(move |t| {
                format!(
                    "{id}-{}-{}",
                    t["state"].as_str().unwrap(),
                    t["at"].as_str().unwrap()
                )
            })
        })
        .collect();
    assert!(
        transitions.len() >= 6,
        "two alerts with their lifecycles: {transitions:?}"
    );
    // The file sink got everything in the first run.
    let first_lines: HashSet<String> = keys_of(&first, &jsonl_sink, "delivered")
        .into_iter()
        .collect();
    assert_eq!(first_lines, transitions);
    // The webhook: one delivered after a retry, one gave up, the rest deferred.
    let delivered_1 = keys_of(&first, &hook_sink, "delivered");
    let gave_up = keys_of(&first, &hook_sink, "gave_up");
    assert_eq!(
        (delivered_1.len(), gave_up.len()),
        (1, 1),
        "{:#}",
        first["deliveries"]
    );
    let sinks = first["publish_sinks"].as_array().unwrap();
    let hook_tally = sinks
        .iter()
        .find(|s| s["sink"] == hook_sink.as_str())
        .unwrap();
    assert_eq!(hook_tally["deferred"], transitions.len() - 2);
    let retried = first["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["sink"] == hook_sink.as_str() && d["outcome"] == "delivered")
        .unwrap();
    assert_eq!(retried["attempts"].as_array().unwrap().len(), 2);
    assert_eq!(retried["attempts"][0]["status"], 503);
    // Advisories of the alerts that reached their peak.
    let files = first["published"].as_array().unwrap();
    assert_eq!(files.len(), 2 * 4, "two alerts, four formats");
    for f in files {
        let text = std::fs::read_to_string(f["path"].as_str().unwrap()).unwrap();
        assert_no_target(&text, f["path"].as_str().unwrap());
    }
    let id_5168 = alert_on(&first, 5168)["id"].as_str().unwrap().to_string();
    let md = std::fs::read_to_string(adv.join(format!("{id_5168}.md"))).unwrap();
    assert!(md.contains("ServerProtect") && md.contains("CVE-2007-4218"));
    assert!(adv.join(format!("{id_5168}.stix.json")).exists());

    // The second run sends only what the first did not deliver.
    let second = analyze(&pcap, &db, Some(&config));
    assert!(keys_of(&second, &jsonl_sink, "delivered").is_empty());
    let delivered_2: HashSet<String> = keys_of(&second, &hook_sink, "delivered")
        .into_iter()
        .collect();
    assert_eq!(delivered_2.len(), transitions.len() - 1);
    assert!(
        delivered_2.contains(&gave_up[0]),
        "the failed one is retried"
    );
    assert!(
        !delivered_2.contains(&delivered_1[0]),
        "the delivered one is not re-sent"
    );
    assert_eq!(
        second["published"],
        serde_json::json!([]),
        "advisories unchanged"
    );
    let hook_tally = second["publish_sinks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["sink"] == hook_sink.as_str())
        .unwrap()
        .clone();
    assert_eq!(hook_tally["already_delivered"], 1);

    // What the receiver saw: every transition accepted exactly once.
    let r = st.lock().unwrap();
    let accepted: HashSet<String> = r.accepted.keys().cloned().collect();
    assert_eq!(accepted, transitions);
    assert!(r.accepted.values().all(|&n| n == 1), "{:?}", r.accepted);
    assert_eq!(r.failed.len(), 3);
    drop(r);

    // The file: one line per transition, across both runs.
    let text = std::fs::read_to_string(&jsonl).unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), transitions.len());
    let keys: HashSet<String> = lines
        .iter()
        .map(|l| l["key"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(keys, transitions);
    assert!(
        lines
            .iter()
            .all(|l| l["schema"] == "portwatch.alert-event/1")
    );

    // Each event's alert carries the attribution `portwatch alerts` gives,
    // in the file and in the webhook's bodies alike.
    let (code, out, err) = run(&["alerts", "--db", db.to_str().unwrap(), "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    let listed: Value = serde_json::from_str(&out).unwrap();
    let attribution_of: HashMap<String, Value> = listed["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["id"].as_str().unwrap().to_string(),
                a["attribution"].clone(),
            )
        })
        .collect();
    let bodies = st.lock().unwrap().bodies.clone();
    assert_eq!(bodies.len(), transitions.len());
    for alert in lines.iter().map(|l| &l["alert"]).chain(&bodies) {
        let id = alert["id"].as_str().unwrap();
        assert!(alert["attribution"]["sources"]["sources"].as_u64().unwrap() > 0);
        assert_eq!(alert["attribution"], attribution_of[id], "{id}");
    }

    // A third run with publishing off for once, then the table's section.
    let (code, out, err) = run(&[
        "analyze",
        "--db",
        db.to_str().unwrap(),
        "--config",
        config.to_str().unwrap(),
        pcap.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("\nPublished\n"), "{out}");
    assert!(out.contains(&format!("{hook_sink}: 0 delivered")), "{out}");
    let (code, out, _) = run(&[
        "analyze",
        "--db",
        db.to_str().unwrap(),
        "--config",
        config.to_str().unwrap(),
        "--no-publish",
        pcap.to_str().unwrap(),
    ]);
    assert_eq!(code, 0);
    assert!(!out.contains("\nPublished\n"));
}
