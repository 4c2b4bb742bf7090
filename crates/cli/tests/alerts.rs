//! Spike detection end to end: a simulated darknet with labelled campaigns
//! (a 5168-like wave on a silent port, a UDP port-0 burst, one loud scanner
//! on 12345) and a sensor gap, analyzed through the real binary; the alerts
//! checked against the simulator's ground truth, and shown to be the same
//! however the data arrives (whole, split and out of order, re-analyzed, in
//! small batches).

#![allow(clippy::unwrap_used, clippy::print_stderr)]

mod common;

use std::path::{Path, PathBuf};

use common::*;
use serde_json::Value;

/// The defaults, written out: the config file is read like a user's.
const CONFIG: &str = "[detect]\nopen_score = 6.0\nwarmup_hours = 24.0\n";

struct Sim {
    pcap: PathBuf,
    config: PathBuf,
    truth: Value,
}

fn simulate(dir: &Path) -> Sim {
    let pcap = dir.join("sim.pcap");
    let sim_cfg = dir.join("sim.toml");
    std::fs::write(&sim_cfg, "gaps = [\"31h+1h\"]\n").unwrap();
    let (code, _, err) = run(&[
        "simulate",
        "--out",
        pcap.to_str().unwrap(),
        "--config",
        sim_cfg.to_str().unwrap(),
        // Detection learns for a day first; the campaigns come after it.
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
        "--campaign",
        "12345/tcp@29h+40m,sources=1,pps=5",
    ]);
    assert_eq!(code, 0, "{err}");
    let config = dir.join("portwatch.toml");
    std::fs::write(&config, CONFIG).unwrap();
    let truth: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("sim.truth.json")).unwrap())
            .unwrap();
    Sim {
        pcap,
        config,
        truth,
    }
}

fn analyze(sim: &Sim, inputs: &[&Path], db: &Path, extra: &[&str]) -> Value {
    let mut args = vec!["analyze", "--format", "json", "--db", db.to_str().unwrap()];
    args.extend(["--config", sim.config.to_str().unwrap()]);
    args.extend(inputs.iter().map(|p| p.to_str().unwrap()));
    args.extend(extra);
    let (code, doc) = run_json(&args);
    assert_eq!(code, 0, "{doc}");
    doc
}

fn stored_alerts(db: &Path) -> Value {
    let (code, doc) = run_json(&["alerts", "--db", db.to_str().unwrap(), "--format", "json"]);
    assert_eq!(code, 0);
    doc["alerts"].clone()
}

fn secs(v: &Value) -> i64 {
    let s = v.as_str().unwrap();
    portwatch_core::Timestamp::parse_rfc3339(s).unwrap().secs()
}

/// The campaign of the ground truth on `port`/`proto`.
fn campaign<'a>(truth: &'a Value, proto: &str, port: u64) -> &'a Value {
    truth["campaigns"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["proto"] == proto && c["port"] == port)
        .unwrap()
}

#[test]
fn campaigns_are_found_on_time_and_nothing_else_alerts() {
    let dir = tempfile::tempdir().unwrap();
    let sim = simulate(dir.path());
    let db = dir.path().join("a.db");
    let doc = analyze(&sim, &[&sim.pcap], &db, &[]);
    assert_eq!(doc["detection"]["ran"], true);
    let alerts = doc["alerts"].as_array().unwrap();
    let found: Vec<(String, u64, String)> = alerts
        .iter()
        .map(|a| {
            (
                a["proto"].as_str().unwrap().to_string(),
                a["port"].as_u64().unwrap(),
                a["kind"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        found,
        vec![
            ("tcp".into(), 5168, "new_port".into()),
            ("udp".into(), 0, "new_port".into()),
            ("tcp".into(), 12345, "single_source".into()),
        ],
        "{alerts:#?}"
    );
    for a in alerts {
        assert_eq!(a["schema"], "portwatch.alert/1");
        let c = campaign(
            &sim.truth,
            a["proto"].as_str().unwrap(),
            a["port"].as_u64().unwrap(),
        );
        let (start, end) = (
            c["start_unix"].as_i64().unwrap(),
            c["end_unix"].as_i64().unwrap(),
        );
        let (onset, opened) = (secs(&a["onset"]), secs(&a["opened"]));
        assert!(onset >= start - 60 && onset < end, "{a:#}");
        let delay_min = (opened - start) as f64 / 60.0;
        assert!(delay_min <= 10.0, "detected after {delay_min} min: {a:#}");
        assert_eq!(a["state"], "closed", "{a:#}");
        let states: Vec<&str> = a["transitions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["state"].as_str().unwrap())
            .collect();
        assert_eq!(states.first(), Some(&"rising"));
        assert_eq!(states.last(), Some(&"closed"));
        assert!(a["summary"].as_str().unwrap().starts_with(&format!(
            "{}/{}:",
            a["port"],
            a["proto"].as_str().unwrap()
        )));
    }
    // The 5168 wave: every one of its sources is counted over the alert.
    let wave = &alerts[0];
    let truth_sources = campaign(&sim.truth, "tcp", 5168)["sources_seen"]
        .as_u64()
        .unwrap();
    let sources = wave["during"]["sources"].as_u64().unwrap();
    assert!(
        sources >= truth_sources && sources <= truth_sources + 5,
        "{sources} vs {truth_sources}"
    );
    assert!(wave["peak"]["sources"].as_u64().unwrap() >= 10);
    assert!(
        wave["baseline_at_onset"]["sources_per_min"]
            .as_f64()
            .unwrap()
            < 0.01
    );
    // The loud scanner is named.
    let flood = &alerts[2];
    assert_eq!(
        flood["top_sources"].as_array().unwrap().len(),
        1,
        "{flood:#}"
    );
    assert_eq!(flood["moved"], "packets");

    // The sensor gap is a gap, reported as such.
    let gaps = doc["detection"]["gaps"].as_array().unwrap();
    assert_eq!(gaps.len(), 1, "{gaps:?}");
    assert_eq!(gaps[0]["minutes"], 60);

    // The store keeps exactly what analyze printed; `portwatch alerts`
    // adds each alert's attribution, whose tool counts are the ground
    // truth's campaign tools.
    let mut stored = stored_alerts(&db);
    for a in stored.as_array_mut().unwrap() {
        let at = a.as_object_mut().unwrap().remove("attribution").unwrap();
        let sources = at["sources"]["sources"].as_u64().unwrap();
        let tools: u64 = at["sources"]["tools"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["sources"].as_u64().unwrap())
            .sum();
        assert!(sources > 0 && tools == sources, "{at:#}");
        let top_tool = &at["sources"]["tools"][0]["name"];
        match (a["port"].as_u64(), a["proto"].as_str()) {
            (Some(5168), Some("tcp")) => assert_eq!(top_tool, "masscan", "{at:#}"),
            (Some(0), Some("udp")) => assert_eq!(top_tool, "zmap", "{at:#}"),
            _ => {}
        }
    }
    assert_eq!(&stored, &doc["alerts"]);
    // All closed: none open.
    let (code, open) = run_json(&[
        "alerts",
        "--db",
        db.to_str().unwrap(),
        "--open",
        "--format",
        "json",
    ]);
    assert_eq!(code, 0);
    assert_eq!(open["alerts"].as_array().unwrap().len(), 0);
}

/// Splits a little-endian microsecond pcap into two at its middle record.
fn split_pcap(path: &Path, dir: &Path) -> (PathBuf, PathBuf) {
    let bytes = std::fs::read(path).unwrap();
    assert_eq!(
        &bytes[..4],
        &[0xd4, 0xc3, 0xb2, 0xa1],
        "simulate writes LE µs pcap"
    );
    let mut offsets = Vec::new();
    let mut at = 24;
    while at + 16 <= bytes.len() {
        offsets.push(at);
        let caplen = u32::from_le_bytes(bytes[at + 8..at + 12].try_into().unwrap()) as usize;
        at += 16 + caplen;
    }
    let mid = offsets[offsets.len() / 2];
    let (a, b) = (dir.join("first.pcap"), dir.join("second.pcap"));
    std::fs::write(&a, &bytes[..mid]).unwrap();
    let mut second = bytes[..24].to_vec();
    second.extend_from_slice(&bytes[mid..]);
    std::fs::write(&b, second).unwrap();
    (a, b)
}

#[test]
fn the_same_alerts_however_the_data_arrives() {
    let dir = tempfile::tempdir().unwrap();
    let sim = simulate(dir.path());
    let whole = dir.path().join("whole.db");
    analyze(&sim, &[&sim.pcap], &whole, &[]);
    let expected = stored_alerts(&whole);
    assert_eq!(expected.as_array().unwrap().len(), 3);

    // Late data: the second half first, then the first half, as two runs.
    let (first, second) = split_pcap(&sim.pcap, dir.path());
    let late = dir.path().join("late.db");
    analyze(&sim, &[&second], &late, &[]);
    let doc = analyze(&sim, &[&first], &late, &[]);
    assert_eq!(stored_alerts(&late), expected);
    assert_eq!(doc["detection"]["alerts_in_store"], 3);

    // Analyzing the same file again changes nothing.
    analyze(&sim, &[&sim.pcap], &whole, &[]);
    assert_eq!(stored_alerts(&whole), expected);

    // Small batches merge to the same minutes, hence the same alerts.
    let small = dir.path().join("small.db");
    analyze(&sim, &[&sim.pcap], &small, &["--batch-records", "7001"]);
    assert_eq!(stored_alerts(&small), expected);
}

#[test]
fn reports_and_listings_show_the_alerts() {
    let dir = tempfile::tempdir().unwrap();
    let sim = simulate(dir.path());
    let db = dir.path().join("r.db");
    let doc = analyze(&sim, &[&sim.pcap], &db, &[]);
    let id = doc["alerts"][0]["id"].as_str().unwrap().to_string();
    let db = db.to_str().unwrap();
    let cfg = sim.config.to_str().unwrap();

    // The port's series carries the baseline band and the alert window.
    let (code, series) = run_json(&[
        "report", "port", "5168/tcp", "--db", db, "--bucket", "5m", "--config", cfg, "--format",
        "json",
    ]);
    assert_eq!(code, 0);
    assert_eq!(series["alerts"][0]["id"], id.as_str());
    assert_eq!(series["gaps"].as_array().unwrap().len(), 1);
    let points = series["series"].as_array().unwrap();
    let in_alert: Vec<&Value> = points
        .iter()
        .filter(|p| {
            p["alerts"]
                .as_array()
                .is_some_and(|a| a.contains(&Value::from(id.as_str())))
        })
        .collect();
    assert!(
        in_alert.len() >= 6,
        "{} buckets in the alert",
        in_alert.len()
    );
    for p in &in_alert {
        let b = &p["baseline"];
        assert!(b["sources_per_min"].as_f64().unwrap() < 0.01, "{p:#}");
        assert!(
            b["sources_per_min_upper"].as_f64().unwrap() > b["sources_per_min"].as_f64().unwrap()
        );
    }
    let peak = in_alert
        .iter()
        .map(|p| p["sources"].as_u64().unwrap())
        .max()
        .unwrap();
    let band_top = in_alert[0]["baseline"]["sources_per_min_upper"]
        .as_f64()
        .unwrap()
        * 5.0;
    assert!(
        peak as f64 > band_top,
        "the wave rises far above the band: {peak} vs {band_top}"
    );

    // Table and CSV say the same.
    let (code, table, _) = run(&[
        "report", "port", "5168/tcp", "--db", db, "--bucket", "1h", "--config", cfg,
    ]);
    assert_eq!(code, 0);
    assert!(table.contains(&id), "{table}");
    assert!(table.contains("new_port"), "{table}");
    let (code, busy, _) = run(&[
        "report", "port", "80/tcp", "--db", db, "--bucket", "1h", "--config", cfg,
    ]);
    assert_eq!(code, 0);
    assert!(busy.contains("no data at all (sensor gap)"), "{busy}");
    let (code, csv, _) = run(&["alerts", "--db", db, "--format", "csv"]);
    assert_eq!(code, 0);
    assert_eq!(csv.lines().count(), 4, "{csv}");
    assert!(
        csv.lines()
            .next()
            .unwrap()
            .starts_with("id,proto,port,kind,state,onset")
    );
    let (code, one, _) = run(&["alerts", "--db", db, "--id", &id]);
    assert_eq!(code, 0);
    assert!(one.contains("Transitions of"), "{one}");
    assert!(one.contains("rising") && one.contains("closed"), "{one}");
    let (code, _, err) = run(&["alerts", "--db", db, "--id", "0000000000000000"]);
    assert_eq!(code, 1);
    assert!(err.contains("no alert 0000000000000000"), "{err}");
}

#[test]
fn bad_settings_are_refused_before_reading_anything() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("bad.toml");
    let db = dir.path().join("x.db");
    std::fs::write(&cfg, "[detect]\nopen_scor = 5\n").unwrap();
    let (code, _, err) = run(&[
        "analyze",
        "-",
        "--db",
        db.to_str().unwrap(),
        "--config",
        cfg.to_str().unwrap(),
    ]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("open_scor") && err.contains("bad.toml"),
        "{err}"
    );
    assert!(!db.exists(), "nothing was written");
    let (code, _, err) = run(&[
        "analyze",
        "-",
        "--no-store",
        "--open-score",
        "6",
        "--min-sources",
        "0",
    ]);
    // --no-store skips detection, so its settings are not even read ...
    assert_eq!(code, 2, "{err}");
    let (code, _, err) = run(&[
        "analyze",
        "-",
        "--db",
        db.to_str().unwrap(),
        "--min-sources",
        "0",
    ]);
    // ... but with a store they are checked first.
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("min_sources"), "{err}");
}

#[test]
fn no_store_means_no_detection_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let sim = simulate(dir.path());
    let (code, doc) = run_json(&[
        "analyze",
        "--no-store",
        "--format",
        "json",
        sim.pcap.to_str().unwrap(),
    ]);
    assert_eq!(code, 0);
    assert_eq!(doc["detection"]["ran"], false);
    assert_eq!(doc["alerts"].as_array().unwrap().len(), 0);
    let (code, table, _) = run(&["analyze", "--no-store", sim.pcap.to_str().unwrap()]);
    assert_eq!(code, 0);
    assert!(table.contains("Detection skipped"), "{table}");
}
