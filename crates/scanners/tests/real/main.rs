//! The fingerprints and shapes held to real traffic: the project's own tool
//! captures (`tests-data/tools`), the shared external captures and psad's
//! iptables logs, and simulated traffic.

mod captures;
mod shapes;
mod simulated;

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use portwatch_aggregate::{Aggregator, SourceStats};
use portwatch_core::{Class, Event};
use portwatch_decode::{CaptureReader, decode};
use portwatch_scanners::{SourceProfile, Tool, tool_of};

/// The project's recorded tool captures (always present: they are in git).
fn tools_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests-data/tools")
}

/// The shared external data, or `None` after printing why a test skips.
#[allow(clippy::print_stderr, reason = "a skipped test says so")]
fn shared(rel: &str) -> Option<PathBuf> {
    let root = std::env::var_os("PORTWATCH_SHARED_DATA").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/external"),
        PathBuf::from,
    );
    let path = root.join(rel);
    if path.exists() {
        Some(path)
    } else {
        eprintln!("skipped: {} not found", path.display());
        None
    }
}

/// Calls `f` on every event a capture decodes to.
fn for_each_event(path: &Path, mut f: impl FnMut(&Event<'_>)) {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut input: &[u8] = &bytes;
    let mut reader = CaptureReader::new(&mut input).expect("a capture");
    while let Some(record) = reader.next_record() {
        let r = record.expect("a readable record");
        if let Ok(ev) = decode(r.link_type, r.ts, r.data, r.orig_len) {
            f(&ev);
        }
    }
}

/// Probes of a capture counted by the tool they are attributed to.
fn tools_in(path: &Path) -> BTreeMap<Tool, u64> {
    let mut tally = BTreeMap::new();
    for_each_event(path, |ev| {
        if ev.class == Class::Probe {
            *tally.entry(tool_of(ev)).or_default() += 1;
        }
    });
    tally
}

/// Per-source profiles, with a source's days merged.
fn profiles(agg: &Aggregator) -> HashMap<IpAddr, SourceProfile> {
    let mut merged: HashMap<IpAddr, SourceStats> = HashMap::new();
    for (key, stats) in agg.sources() {
        merged.entry(key.addr).or_default().merge(stats);
    }
    merged
        .into_iter()
        .map(|(addr, s)| {
            let p = SourceProfile {
                probes: s.probes,
                backscatter: s.backscatter,
                other: s.other,
                ports: s.ports.len(),
                targets: s.targets.estimate(),
            };
            (addr, p)
        })
        .collect()
}
