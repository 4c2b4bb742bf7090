//! `portwatch report ...` end to end: a simulated capture analyzed into a
//! SQLite store, then read back in every format.

#![allow(clippy::unwrap_used, clippy::print_stderr)]

mod common;

use common::*;

fn store_with_campaign(dir: &std::path::Path) -> String {
    let pcap = dir.join("sim.pcap");
    let (code, _, err) = run(&[
        "simulate",
        "--out",
        pcap.to_str().unwrap(),
        "--hours",
        "4",
        "--packets",
        "20000",
        "--sources",
        "2000",
        "--seed",
        "11",
        "--campaign",
        "5168/tcp@2h+30m,sources=300,targets=3,tool=masscan",
    ]);
    assert_eq!(code, 0, "{err}");
    let db = dir.join("scans.db");
    let (code, _, err) = run(&[
        "analyze",
        pcap.to_str().unwrap(),
        "--db",
        db.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    db.to_str().unwrap().to_string()
}

#[test]
fn top_port_sources_and_summary_agree() {
    let dir = tempfile::tempdir().unwrap();
    let db = store_with_campaign(dir.path());

    // Over the campaign's window, ranked by distinct sources, the campaign
    // port leads; over the whole run the background's busiest ports do.
    let (code, top) = run_json(&[
        "report",
        "top",
        "--db",
        &db,
        "--format",
        "json",
        "--limit",
        "5",
        "--since",
        "2026-01-05T02:00:00Z",
        "--until",
        "2026-01-05T02:30:00Z",
    ]);
    assert_eq!(code, 0);
    assert_eq!(top["version"], 1);
    assert_eq!(top["range"]["from"], "2026-01-05T02:00:00Z");
    let ports = top["ports"].as_array().unwrap();
    assert_eq!(ports.len(), 5);
    assert_eq!(ports[0]["port"], 5168);
    assert_eq!(ports[0]["proto"], "tcp");
    assert_eq!(ports[0]["service"], "scte30");
    let sources: Vec<u64> = ports
        .iter()
        .map(|p| p["sources"].as_u64().unwrap())
        .collect();
    assert!(sources.windows(2).all(|w| w[0] >= w[1]), "{sources:?}");

    // The series of 5168/tcp adds up to its total over the run, at every width.
    let (_, all) = run_json(&[
        "report", "top", "--db", &db, "--format", "json", "--limit", "100000",
    ]);
    let total = all["ports"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["port"] == 5168 && p["proto"] == "tcp")
        .unwrap()["packets"]
        .as_u64()
        .unwrap();
    assert!(total >= ports[0]["packets"].as_u64().unwrap());
    for bucket in ["1m", "5m", "1h", "1d"] {
        let (code, series) = run_json(&[
            "report", "port", "5168/tcp", "--db", &db, "--format", "json", "--bucket", bucket,
        ]);
        assert_eq!(code, 0);
        let points = series["series"].as_array().unwrap();
        let packets: u64 = points.iter().map(|p| p["packets"].as_u64().unwrap()).sum();
        assert_eq!(packets, total, "bucket {bucket}");
    }
    // A range restricts it.
    let (_, series) = run_json(&[
        "report",
        "port",
        "5168/tcp",
        "--db",
        &db,
        "--format",
        "json",
        "--bucket",
        "1m",
        "--since",
        "2026-01-05T02:10:00Z",
        "--until",
        "2026-01-05T02:20:00Z",
    ]);
    let points = series["series"].as_array().unwrap();
    assert!(!points.is_empty() && points.len() <= 10, "{}", points.len());

    let (code, csv, _) = run(&[
        "report",
        "top",
        "--db",
        &db,
        "--format",
        "csv",
        "--limit",
        "3",
        "--since",
        "2026-01-05T02:00:00Z",
        "--until",
        "2026-01-05T02:30:00Z",
    ]);
    assert_eq!(code, 0);
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 4);
    assert!(lines[0].starts_with("rank,proto,port,service,sources,packets"));
    assert!(lines[1].starts_with("1,tcp,5168,scte30,"));

    let (code, table, _) = run(&[
        "report",
        "top",
        "--db",
        &db,
        "--since",
        "2026-01-05T02:00:00Z",
    ]);
    assert_eq!(code, 0);
    assert!(
        table.contains("5168/tcp") && table.contains("scte30"),
        "{table}"
    );

    let (code, src) = run_json(&[
        "report", "sources", "--db", &db, "--format", "json", "--port", "5168/tcp", "--limit",
        "1000",
    ]);
    assert_eq!(code, 0);
    let list = src["sources"].as_array().unwrap();
    let all_5168 = all["ports"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["port"] == 5168)
        .unwrap();
    assert_eq!(list.len() as u64, all_5168["sources"].as_u64().unwrap());
    assert!(list.iter().all(|s| {
        s["ports"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p == "5168/tcp")
    }));

    let (code, summary) = run_json(&["report", "summary", "--db", &db, "--format", "json"]);
    assert_eq!(code, 0);
    assert_eq!(summary["streams"].as_array().unwrap().len(), 1);
    assert!(summary["summary"]["records"].as_u64().unwrap() >= 20_000);
}

#[test]
fn backscatter_is_its_own_series() {
    let dir = tempfile::tempdir().unwrap();
    let db = store_with_campaign(dir.path());
    let (code, bs) = run_json(&[
        "report",
        "top",
        "--db",
        &db,
        "--class",
        "backscatter",
        "--format",
        "json",
        "--limit",
        "100",
    ]);
    assert_eq!(code, 0);
    let ports = bs["ports"].as_array().unwrap();
    assert!(!ports.is_empty());
    assert!(
        ports.iter().all(|p| p["port"] != 5168),
        "a scan port must not show up as backscatter"
    );
}
