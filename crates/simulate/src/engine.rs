//! The run: merge the background's arrivals with every campaign source's,
//! in time order, and write each packet as it comes.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::io::Write;

use portwatch_core::Timestamp;

use crate::addr::{V4Sources, V4Space, V6Space};
use crate::background::{Background, Emitted};
use crate::config::{Resolution, SimConfig};
use crate::error::SimError;
use crate::pcap::PcapWriter;
use crate::rate::{Clock, merged_gaps};
use crate::schedule::CampaignRun;
use crate::truth::{GroundTruth, Origin, TruthBuilder};

/// How far a run has got, for progress bars.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Progress {
    /// Packets written so far.
    pub packets: u64,
    /// Event time of the last packet written.
    pub sim_time: Timestamp,
    /// Share of the run's duration covered, 0 to 1.
    pub fraction: f64,
}

/// How often the progress callback hears from a run, in packets.
const PROGRESS_EVERY: u64 = 1 << 16;

/// Writes a simulated capture to `out` (a classic pcap, Ethernet, packets
/// in time order) and returns its ground truth. Validates `cfg` first.
///
/// Memory stays flat in the number of packets except for the exact
/// distinct-source and -target sets of the ground truth, which grow with
/// the number of distinct (port, address) pairs.
pub fn simulate<W: Write>(cfg: &SimConfig, out: W) -> Result<GroundTruth, SimError> {
    simulate_with_progress(cfg, out, |_| {})
}

/// [`simulate`], calling `progress` every 65,536 packets and at the end.
pub fn simulate_with_progress<W: Write>(
    cfg: &SimConfig,
    out: W,
    mut progress: impl FnMut(Progress),
) -> Result<GroundTruth, SimError> {
    cfg.validate()?;
    let v4 = V4Space::parse(&cfg.darknet_v4)
        .map_err(|(i, r)| SimError::config(format!("darknet_v4[{i}]"), r))?;
    let v6 = V6Space::parse(&cfg.darknet_v6)
        .map_err(|(i, r)| SimError::config(format!("darknet_v6[{i}]"), r))?;
    let gaps = merged_gaps(cfg);
    let gaps_ns: Vec<(i64, i64)> = gaps
        .iter()
        .map(|&(a, b)| ((a * 1e9) as i64, (b * 1e9) as i64))
        .collect();

    let sources_v4 = V4Sources::new(cfg.seed, &v4);
    let mut background = Background::new(cfg, v4.clone(), v6, sources_v4.clone());
    let mut clock = Clock::new(cfg, &gaps);
    let mut next_source = background.source_end();
    let mut campaign_bases = Vec::with_capacity(cfg.campaigns.len());
    let mut runs: Vec<CampaignRun> = cfg
        .campaigns
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let base = next_source;
            next_source += c.sources;
            campaign_bases.push((base, c.sources));
            let addrs = (base..next_source).map(|n| sources_v4.addr(n)).collect();
            CampaignRun::new(cfg.seed, i, c, (addrs, base), v4.clone(), cfg.vlan_fraction)
        })
        .collect();
    // (time, campaign, source): ties resolve the same way on every run.
    let mut heap = BinaryHeap::new();
    for (ci, run) in runs.iter_mut().enumerate() {
        for j in 0..run.source_count() {
            if let Some(t) = run.next_time(j) {
                heap.push(Reverse((t, ci, j)));
            }
        }
    }

    let start = cfg.start.nanos();
    let duration_ns = cfg.duration_secs as f64 * 1e9;
    let mut writer = PcapWriter::new(out, cfg.resolution);
    let micro = cfg.resolution == Resolution::Micro;
    let mut truth = TruthBuilder::new(next_source, v4.clone(), campaign_bases);
    let mut next_bg = clock.next(background.rng());
    let mut gap_i = 0;
    let mut last_t = 0;
    loop {
        let from_background = match (next_bg, heap.peek()) {
            (Some(b), Some(Reverse((c, ..)))) => b <= *c,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (None, None) => break,
        };
        let (t, emitted, origin) = if from_background {
            let Some(t) = next_bg else { break };
            let e = background.packet(t);
            next_bg = clock.next(background.rng());
            (t, e, Origin::Background)
        } else {
            let Some(Reverse((t, ci, j))) = heap.pop() else {
                break;
            };
            let Some(run) = runs.get_mut(ci) else {
                continue;
            };
            let e = run.packet(j, t);
            if let Some(next) = run.next_time(j) {
                heap.push(Reverse((next, ci, j)));
            }
            while gaps_ns.get(gap_i).is_some_and(|g| g.1 <= t) {
                gap_i += 1;
            }
            if gaps_ns.get(gap_i).is_some_and(|g| g.0 <= t) {
                truth.dropped(ci);
                continue;
            }
            let Some(e) = e else { continue };
            (t, e, Origin::Campaign(ci))
        };
        // The ground truth keeps the times the file can hold.
        let abs = start + t;
        let abs = if micro {
            abs - abs.rem_euclid(1000)
        } else {
            abs
        };
        write(&mut writer, &mut truth, &emitted, origin, abs)?;
        last_t = t;
        if truth.packets().is_multiple_of(PROGRESS_EVERY) {
            progress(report(&truth, start, last_t, duration_ns));
        }
    }
    let bytes = writer.finish().map_err(SimError::Write)?;
    progress(report(&truth, start, last_t, duration_ns));
    Ok(truth.finish(cfg, &gaps, bytes))
}

fn write<W: Write>(
    writer: &mut PcapWriter<W>,
    truth: &mut TruthBuilder,
    e: &Emitted,
    origin: Origin,
    abs_ns: i64,
) -> Result<(), SimError> {
    writer
        .record(Timestamp::from_nanos(abs_ns), |b| e.frame.render(b))
        .map_err(SimError::Write)?;
    truth.record(e, origin, abs_ns);
    Ok(())
}

fn report(t: &TruthBuilder, start: i64, last_t: i64, duration_ns: f64) -> Progress {
    Progress {
        packets: t.packets(),
        sim_time: Timestamp::from_nanos(start + last_t),
        fraction: (last_t as f64 / duration_ns).clamp(0.0, 1.0),
    }
}
