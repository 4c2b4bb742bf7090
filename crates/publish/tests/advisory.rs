//! Advisories from a constructed 5168/tcp alert with every optional piece
//! of evidence: each format carries the required sections and facts.

#![allow(clippy::print_stderr)]

mod support;

use portwatch_core::BucketWidth;
use portwatch_publish::advisory::{PayloadSignature, Reputation, Share};
use portwatch_publish::{AdvisoryFormat, AdvisoryOptions, Evidence, Masking, advisory, render};
use support::{alert_5168, series_5168, tools};

fn evidence() -> Evidence {
    let alert = alert_5168();
    Evidence {
        series: Some(series_5168(BucketWidth::Hour).with_baseline(&alert.baseline_at_onset)),
        distinct_sources: Some(318),
        distinct_targets: Some(1_003),
        targets: vec![
            "198.51.100.23".parse().expect("ip"),
            "2001:db8:5:6::1".parse().expect("ip"),
        ],
        countries: vec![Share::new("CN", 140), Share::new("US", 41)],
        asns: vec![Share::new("AS4134 Chinanet", 90)],
        tools: vec![Share::new("masscan", 250)],
        reputation: Some(Reputation {
            listed: 121,
            checked: 318,
            lists: vec!["firehol_level1".into()],
        }),
        payloads: vec![PayloadSignature {
            name: "ServerProtect RPC bind (SpntSvc)".into(),
            hits: 12,
            sources: 4,
            excerpt: Some("05 00 0b 03 <script>".into()),
        }],
    }
}

#[test]
fn markdown_has_every_section_and_fact() {
    let adv = advisory(&alert_5168(), &evidence(), &AdvisoryOptions::builtin());
    let md = render(&adv, AdvisoryFormat::Markdown).expect("md");
    for needle in [
        "# Increase in scanning of 5168/tcp (Trend Micro ServerProtect RPC)",
        "## 1. Overview",
        "## 2. Situation observed",
        "## 3. Probable cause",
        "## 4. Recommended actions",
        "## 5. References",
        "2007-08-22 14:00 UTC",
        "213 distinct sources per minute",
        "closed",
        "data:image/svg+xml;base64,",
        "Trend Micro ServerProtect",
        "CVE-2007-4218",
        "CVE-2007-4219",
        "CVE-2007-1070",
        "at most 21 days before onset",
        "(probable cause)",
        "198.51.100.x",
        "2001:db8:5:x:x:x:x:x",
        "masscan",
        "AS4134",
        "121 of 318 sources (38.1%)",
        "ServerProtect RPC bind",
        "\\<script\\>",
        "Limit outbound traffic to 5168/tcp",
        "perimeter",
        "outbound scanning",
        "https://nvd.nist.gov/vuln/detail/CVE-2007-4218",
        "Target addresses are masked",
    ] {
        assert!(md.contains(needle), "missing {needle:?} in\n{md}");
    }
    assert!(!md.contains("198.51.100.23") && !md.contains("2001:db8:5:6::1"));
}

#[test]
fn html_is_self_contained_and_escaped() {
    let adv = advisory(&alert_5168(), &evidence(), &AdvisoryOptions::builtin());
    let html = render(&adv, AdvisoryFormat::Html).expect("html");
    assert!(html.starts_with("<!DOCTYPE html>"));
    for needle in [
        "<svg",
        "1. Overview",
        "3. Probable cause",
        "CVE-2007-4218",
        "&lt;script&gt;",
        "198.51.100.x",
    ] {
        assert!(html.contains(needle), "missing {needle:?}");
    }
    assert!(
        !html.contains("<script"),
        "no scripts, and evidence is escaped"
    );
    assert!(
        !html.contains("src=\"http") && !html.contains("<link"),
        "nothing fetched"
    );
    assert!(!html.contains("198.51.100.23"));
}

#[test]
fn json_is_the_documented_shape() {
    let adv = advisory(&alert_5168(), &evidence(), &AdvisoryOptions::builtin());
    let text = render(&adv, AdvisoryFormat::Json).expect("json");
    let v: serde_json::Value = serde_json::from_str(&text).expect("parses");
    assert_eq!(v["schema"], "portwatch.advisory/1");
    assert_eq!(v["id"], "PW-369c41a8f157fde9");
    assert_eq!(v["revision"], "closed-2007-08-22T20:04:00Z");
    assert_eq!(v["issued"], "2007-08-22T21:28:00Z");
    assert_eq!(v["overview"]["port"], "5168/tcp");
    assert_eq!(v["overview"]["onset"], "2007-08-22T14:00:00Z");
    assert_eq!(v["alert"]["schema"], "portwatch.alert/1");
    assert_eq!(v["situation"]["sources"], 318);
    assert_eq!(v["situation"]["targets"]["sample"][0], "198.51.100.x");
    assert_eq!(v["masking"]["targets_masked"], true);
    let vulns = v["cause"]["vulnerabilities"].as_array().expect("vulns");
    let recent = vulns
        .iter()
        .find(|x| x["id"] == "CVE-2007-4218")
        .expect("4218");
    assert_eq!(recent["recent"], true);
    assert_eq!(recent["days_before_onset"], 21);
    let old = vulns
        .iter()
        .find(|x| x["id"] == "CVE-2007-1070")
        .expect("1070");
    assert_eq!(old["recent"], false);
    assert!(
        v["situation"]["series"]
            .as_array()
            .is_some_and(|s| s.len() >= 24)
    );
    // Same inputs, same document: re-publishing is stable.
    let again = render(
        &advisory(&alert_5168(), &evidence(), &AdvisoryOptions::builtin()),
        AdvisoryFormat::Json,
    );
    assert_eq!(again.expect("json"), text);
}

#[test]
fn unmasked_only_when_asked() {
    let opts = AdvisoryOptions {
        masking: Masking::Unmasked,
        ..AdvisoryOptions::builtin()
    };
    let adv = advisory(&alert_5168(), &evidence(), &opts);
    let md = render(&adv, AdvisoryFormat::Markdown).expect("md");
    assert!(md.contains("198.51.100.23") && md.contains("NOT masked"));
}

#[test]
fn optional_sections_appear_only_with_evidence() {
    let adv = advisory(
        &alert_5168(),
        &Evidence::default(),
        &AdvisoryOptions::builtin(),
    );
    let md = render(&adv, AdvisoryFormat::Markdown).expect("md");
    assert!(!md.contains("data:image") && !md.contains("Countries") && !md.contains("Payload"));
    assert!(md.contains("at least 312") && md.contains("CVE-2007-4218"));
    let html = render(&adv, AdvisoryFormat::Html).expect("html");
    assert!(!html.contains("<svg") && html.contains("5. References"));
}

#[test]
fn stix_bundle_is_valid_and_stable() {
    let adv = advisory(&alert_5168(), &evidence(), &AdvisoryOptions::builtin());
    let text = render(&adv, AdvisoryFormat::Stix).expect("stix");
    let v: serde_json::Value = serde_json::from_str(&text).expect("parses");
    assert_eq!(v["type"], "bundle");
    let objects = v["objects"].as_array().expect("objects");
    let count = |t: &str| objects.iter().filter(|o| o["type"] == t).count();
    assert_eq!(count("identity"), 1);
    assert_eq!(count("observed-data"), 1);
    assert_eq!(count("indicator"), 1);
    assert_eq!(count("report"), 1);
    assert_eq!(count("vulnerability"), 3, "CVE-2007-1070, -4218, -4219");
    assert!(count("relationship") >= 5);
    assert_eq!(count("ipv4-addr") + count("ipv6-addr"), 3);
    let vuln = objects
        .iter()
        .find(|o| o["name"] == "CVE-2007-4218")
        .expect("vuln");
    assert_eq!(vuln["external_references"][0]["source_name"], "cve");
    assert!(!text.contains("198.51.100"), "targets never go into STIX");
    let again = render(&adv, AdvisoryFormat::Stix).expect("stix");
    assert_eq!(again, text, "deterministic ids");

    let dir = tempfile::tempdir().expect("tmp");
    let file = dir.path().join("bundle.json");
    std::fs::write(&file, &text).expect("write");
    match tools::stix_validator() {
        Err(why) => eprintln!("skipped: {why}"),
        Ok(validator) => {
            let report = tools::validate_stix(&validator, &file)
                .unwrap_or_else(|r| panic!("STIX validator rejected the bundle:\n{r}\n{text}"));
            eprintln!("{report}");
        }
    }
}
