//! Runs the evaluation suite and the NAB check and prints the tables.
//!
//! `cargo run --release -p portwatch-detect --example eval [small|full] [alerts]`

#![allow(clippy::print_stdout, clippy::print_stderr)]

#[path = "../tests/support/mod.rs"]
mod support;

use portwatch_detect::DetectConfig;
use portwatch_detect::eval::NAB_PUBLISHED;
use support::{Size, merge_rows, nab, run_suite, table};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let size = if args.iter().any(|a| a == "small") {
        Size::SMALL
    } else {
        Size::FULL
    };
    let show_alerts = args.iter().any(|a| a == "alerts");
    let show_json = args.iter().any(|a| a == "json");
    let cfg = DetectConfig::default();
    let (rows, alerts) = run_suite(size, &cfg);
    println!("{}", table(&merge_rows(&rows)));
    if show_alerts {
        for (name, list) in &alerts {
            println!("## {name}");
            for a in list {
                println!(
                    "- {} [{}] score {:.1} opened {}",
                    a.summary,
                    a.id,
                    a.score.at_open,
                    portwatch_core::Timestamp::from_secs(a.opened)
                );
            }
        }
    }
    if show_json {
        for (name, list) in &alerts {
            if let Some(a) = list.first() {
                println!("{name}:\n{}", a.to_json());
            }
        }
    }
    if args.iter().any(|a| a == "nonab") {
        return;
    }
    let root = nab::shared_data().join("numenta-nab");
    let Some(files) = nab::load(&root) else {
        eprintln!("skipped: NAB data not found at {}", root.display());
        return;
    };
    println!("| NAB detector (standard profile) | score |\n|---|---|");
    let default = cfg.open_score;
    let mut best = (f64::MIN, 0.0);
    for thr in [3.0, 4.0, 5.0, default, 8.0, 10.0, 14.0] {
        let (s, _, _) = nab::score_all(&files, thr);
        if thr == default {
            println!("| portwatch, open_score = {thr} (default) | {s:.1} |");
        }
        if s > best.0 {
            best = (s, thr);
        }
    }
    println!(
        "| portwatch, best open_score = {} (NAB-style threshold sweep) | {:.1} |",
        best.1, best.0
    );
    for (name, s) in NAB_PUBLISHED {
        println!("| {name} (published) | {s:.1} |");
    }
}
