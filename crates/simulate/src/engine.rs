//! The run: merge the background's arrivals with every campaign source's,
//! in time order, and write each packet as it comes.
//!
//! Generating packets and writing them (rendering frames, counting ground
//! truth) take about the same time, so they run on two threads joined by a
//! bounded channel of packet batches. Batches arrive in order, so the
//! output is the same bytes as a single-threaded run.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::io::Write;
use std::sync::mpsc;

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
    /// Packets generated so far.
    pub packets: u64,
    /// Event time of the last packet generated.
    pub sim_time: Timestamp,
    /// Share of the run's duration covered, 0 to 1.
    pub fraction: f64,
}

/// How often the progress callback hears from a run, in packets.
const PROGRESS_EVERY: u64 = 1 << 16;
/// Packets per batch handed to the writing thread, and batches in flight.
const BATCH: usize = 4096;
const IN_FLIGHT: usize = 4;

/// Writes a simulated capture to `out` (a classic pcap, Ethernet, packets
/// in time order) and returns its ground truth. Validates `cfg` first.
///
/// Memory stays flat in the number of packets, apart from the ground
/// truth's exact distinct counts, which grow with the number of distinct
/// (port, address) pairs of quiet ports.
pub fn simulate<W: Write + Send>(cfg: &SimConfig, out: W) -> Result<GroundTruth, SimError> {
    simulate_with_progress(cfg, out, |_| {})
}

/// [`simulate`], calling `progress` every 65,536 packets and at the end.
pub fn simulate_with_progress<W: Write + Send>(
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
    let mut generator = Generator::new(cfg, &gaps, v4.clone(), v6);
    let mut truth = TruthBuilder::new(generator.sources, v4, generator.campaign_sources.clone());
    let resolution = cfg.resolution;

    let start = cfg.start.nanos();
    let duration_ns = cfg.duration_secs as f64 * 1e9;
    let mut packets = 0u64;
    let mut last = start;
    let report = |packets: u64, last: i64, progress: &mut dyn FnMut(Progress)| {
        progress(Progress {
            packets,
            sim_time: Timestamp::from_nanos(last),
            fraction: ((last - start) as f64 / duration_ns).clamp(0.0, 1.0),
        });
    };

    let bytes = std::thread::scope(|scope| {
        let (full_tx, full_rx) = mpsc::sync_channel::<Vec<Packet>>(IN_FLIGHT);
        let (empty_tx, empty_rx) = mpsc::channel::<Vec<Packet>>();
        let truth = &mut truth;
        let writer = scope.spawn(move || -> Result<u64, SimError> {
            let mut pcap = PcapWriter::new(out, resolution);
            for mut batch in full_rx {
                for p in batch.drain(..) {
                    pcap.record(Timestamp::from_nanos(p.abs_ns), |b| {
                        p.emitted.frame.render(b)
                    })
                    .map_err(SimError::Write)?;
                    truth.record(&p.emitted, p.origin, p.abs_ns);
                }
                // The generator may have stopped taking batches back.
                let _ = empty_tx.send(batch);
            }
            pcap.finish().map_err(SimError::Write)
        });
        let mut batch = Vec::with_capacity(BATCH);
        while let Some(p) = generator.next() {
            packets += 1;
            last = p.abs_ns;
            batch.push(p);
            if batch.len() == BATCH {
                let fresh = empty_rx
                    .try_recv()
                    .unwrap_or_else(|_| Vec::with_capacity(BATCH));
                if full_tx.send(std::mem::replace(&mut batch, fresh)).is_err() {
                    // The writer failed; its error comes out of the join.
                    break;
                }
            }
            if packets.is_multiple_of(PROGRESS_EVERY) {
                report(packets, last, &mut progress);
            }
        }
        if !batch.is_empty() {
            let _ = full_tx.send(batch);
        }
        drop(full_tx);
        match writer.join() {
            Ok(result) => result,
            Err(panic) => std::panic::resume_unwind(panic),
        }
    })?;
    report(packets, last, &mut progress);
    truth.set_dropped(&generator.dropped);
    Ok(truth.finish(cfg, &gaps, bytes))
}

/// A packet ready to be written, at its absolute time.
#[derive(Debug)]
struct Packet {
    abs_ns: i64,
    emitted: Emitted,
    origin: Origin,
}

/// Yields every packet of the run in time order.
#[derive(Debug)]
struct Generator<'a> {
    background: Background,
    clock: Clock<'a>,
    next_background: Option<i64>,
    runs: Vec<CampaignRun>,
    /// (time, campaign, source): ties resolve the same way on every run.
    heap: BinaryHeap<Reverse<(i64, usize, usize)>>,
    gaps_ns: Vec<(i64, i64)>,
    gap_i: usize,
    start: i64,
    micro: bool,
    /// Source numbers used in all, and each campaign's (first, count).
    sources: u32,
    campaign_sources: Vec<(u32, u32)>,
    /// Campaign packets lost in gaps, per campaign.
    dropped: Vec<u64>,
}

impl<'a> Generator<'a> {
    fn new(cfg: &'a SimConfig, gaps: &'a [(f64, f64)], v4: V4Space, v6: V6Space) -> Self {
        let sources_v4 = V4Sources::new(cfg.seed, &v4);
        let mut background = Background::new(cfg, v4.clone(), v6, sources_v4.clone());
        let mut clock = Clock::new(cfg, gaps);
        let next_background = clock.next(background.rng());
        let mut next_source = background.source_end();
        let mut campaign_sources = Vec::with_capacity(cfg.campaigns.len());
        let mut runs: Vec<CampaignRun> = cfg
            .campaigns
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let base = next_source;
                next_source += c.sources;
                campaign_sources.push((base, c.sources));
                let addrs = (base..next_source).map(|n| sources_v4.addr(n)).collect();
                CampaignRun::new(cfg.seed, i, c, (addrs, base), v4.clone(), cfg.vlan_fraction)
            })
            .collect();
        let mut heap = BinaryHeap::new();
        for (ci, run) in runs.iter_mut().enumerate() {
            for j in 0..run.source_count() {
                if let Some(t) = run.next_time(j) {
                    heap.push(Reverse((t, ci, j)));
                }
            }
        }
        Generator {
            background,
            clock,
            next_background,
            dropped: vec![0; runs.len()],
            runs,
            heap,
            gaps_ns: gaps
                .iter()
                .map(|&(a, b)| ((a * 1e9) as i64, (b * 1e9) as i64))
                .collect(),
            gap_i: 0,
            start: cfg.start.nanos(),
            micro: cfg.resolution == Resolution::Micro,
            sources: next_source,
            campaign_sources,
        }
    }

    fn next(&mut self) -> Option<Packet> {
        loop {
            let from_background = match (self.next_background, self.heap.peek()) {
                (Some(b), Some(Reverse((c, ..)))) => b <= *c,
                (Some(_), None) => true,
                (None, Some(_)) => false,
                (None, None) => return None,
            };
            let (t, emitted, origin) = if from_background {
                let t = self.next_background?;
                let e = self.background.packet(t);
                self.next_background = self.clock.next(self.background.rng());
                (t, e, Origin::Background)
            } else {
                let Reverse((t, ci, j)) = self.heap.pop()?;
                let Some(run) = self.runs.get_mut(ci) else {
                    continue;
                };
                let e = run.packet(j, t);
                if let Some(next) = run.next_time(j) {
                    self.heap.push(Reverse((next, ci, j)));
                }
                if self.in_gap(t) {
                    if let Some(d) = self.dropped.get_mut(ci) {
                        *d += 1;
                    }
                    continue;
                }
                let Some(e) = e else { continue };
                (t, e, Origin::Campaign(ci))
            };
            // Ground truth keeps the times the file can hold.
            let abs = self.start + t;
            let abs_ns = if self.micro {
                abs - abs.rem_euclid(1000)
            } else {
                abs
            };
            return Some(Packet {
                abs_ns,
                emitted,
                origin,
            });
        }
    }

    /// Whether `t` (ns from the start) is inside a gap; times only grow.
    fn in_gap(&mut self, t: i64) -> bool {
        while self.gaps_ns.get(self.gap_i).is_some_and(|g| g.1 <= t) {
            self.gap_i += 1;
        }
        self.gaps_ns.get(self.gap_i).is_some_and(|g| g.0 <= t)
    }
}
