//! The labelled scenario suite at a small size, held to the targets; the
//! batch/step and re-run equalities; and the NAB check.

#![allow(clippy::print_stderr)]

mod support;

use portwatch_detect::eval::{Detection, NAB_PUBLISHED};
use portwatch_detect::{DetectConfig, Detector, Kind, detect_series};
use support::{Size, nab, run_suite, scenarios, series, table};

#[test]
fn scenario_suite_meets_the_targets() {
    let cfg = DetectConfig::default();
    let (rows, alerts) = run_suite(Size::SMALL, &cfg);
    eprintln!("{}", table(&rows));
    for r in rows.iter().filter(|r| r.detector == "portwatch") {
        let s = &r.score;
        assert_eq!(
            s.found, s.campaigns,
            "{}: a labelled campaign was missed",
            r.scenario
        );
        assert_eq!(s.false_alerts, 0, "{}: false campaign alerts", r.scenario);
        assert_eq!(
            s.floods_found, s.floods,
            "{}: flood not reported as single-source",
            r.scenario
        );
        if r.scenario.starts_with("background only") {
            assert!(s.false_per_kilo_port_day() <= 1.0);
        }
    }
    // Every campaign here is at least five times its port's normal except
    // the 445 doubling and the slow ramp: those must be found, the rest
    // within ten minutes.
    for r in rows.iter().filter(|r| r.detector == "portwatch") {
        let slow = r.scenario.starts_with("busy port") || r.scenario.starts_with("slow ramp");
        if let (false, Some(max)) = (slow, r.score.max_delay_min) {
            assert!(max <= 10.0, "{}: delay {max} min", r.scenario);
        }
    }
    // The flood is a single-source finding and nothing else.
    let (_, flood) = alerts
        .iter()
        .find(|(n, _)| n.starts_with("one loud scanner"))
        .expect("flood scenario");
    assert!(flood.iter().all(|a| a.kind == Kind::SingleSource));
    // The port-0 burst alerts on TCP and UDP alike.
    let (_, zero) = alerts
        .iter()
        .find(|(n, _)| n.starts_with("port 0"))
        .expect("port 0 scenario");
    let mut protos: Vec<_> = zero
        .iter()
        .filter(|a| a.port == 0)
        .map(|a| a.proto)
        .collect();
    protos.sort();
    assert_eq!(protos.len(), 2, "{zero:?}");
}

#[test]
fn batch_step_and_rerun_from_a_checkpoint_agree() {
    let sc = scenarios(Size::SMALL)
        .into_iter()
        .find(|s| s.name.starts_with("overlapping"))
        .expect("scenario");
    let s = series(&sc);
    let cfg = DetectConfig::default();
    let batch = detect_series(cfg.clone(), s.minutes.iter().cloned()).expect("batch");
    assert!(batch.len() >= 4);

    // Minute by minute, keeping a checkpoint at the half.
    let half = s.minutes.len() / 2;
    let mut d = Detector::new(cfg).expect("config");
    let mut checkpoint = None;
    for (i, m) in s.minutes.iter().enumerate() {
        if i == half {
            checkpoint = Some(d.clone());
        }
        d.step(m.start, m.sensor_up, &m.samples).expect("step");
    }
    let stepped: Vec<_> = d.alerts().cloned().collect();
    assert_eq!(stepped, batch);

    // Late data: re-running from the checkpoint reproduces the same alerts
    // and the same ids, without duplicates.
    let mut again = checkpoint.expect("checkpoint");
    for m in &s.minutes[half..] {
        again
            .step(m.start, m.sensor_up, &m.samples)
            .expect("re-run");
    }
    let rerun: Vec<_> = again.alerts().cloned().collect();
    assert_eq!(rerun, batch);
    let mut ids: Vec<_> = rerun.iter().map(|a| a.id.clone()).collect();
    ids.dedup();
    assert_eq!(ids.len(), rerun.len());
    let dets: Vec<Detection> = rerun.iter().map(Detection::from).collect();
    assert!(dets.iter().all(|d| d.kind.is_campaign()));
}

#[test]
fn nab_standard_profile() {
    let root = nab::shared_data().join("numenta-nab");
    let Some(files) = nab::load(&root) else {
        eprintln!("skipped: NAB data not found at {}", root.display());
        return;
    };
    assert_eq!(files.len(), 58);
    let cfg = DetectConfig::default();
    let (score, raw, windows) = nab::score_all(&files, cfg.open_score);
    eprintln!("NAB standard profile: portwatch {score:.1} (raw {raw:.2} over {windows} windows)");
    for (name, s) in NAB_PUBLISHED {
        eprintln!("  {name} (published): {s:.1}");
    }
    // Better than detecting nothing, and the scale is right.
    assert!(score > 0.0 && score < 100.0, "{score}");
}
