//! Campaigns in motion: each source's active interval, its probe times in
//! order, and the probes themselves.

use portwatch_core::Proto;
use portwatch_core::tcp_flags::SYN;

use crate::addr::V4Space;
use crate::background::{Emitted, vlan};
use crate::campaign::Campaign;
use crate::ports::udp_payload;
use crate::rate::to_ns_within;
use crate::rng::{Rng, hash2};
use crate::tool::{Addrs, Scanner};
use crate::wire::Frame;

#[derive(Debug, Clone, Copy)]
enum Pace {
    /// Poisson probes at `pps`; `t` is the last probe's time.
    Rate { pps: f64, t: f64 },
    /// Exactly `left` more probes, uniform over the interval; `u` is the
    /// last sorted uniform drawn.
    Exact { left: u64, u: f64 },
}

#[derive(Debug, Clone, Copy)]
struct Source {
    addr: u32,
    begin: f64,
    end: f64,
    pace: Pace,
    /// Probes generated so far (also those lost in gaps): drives the sweep.
    sent: u64,
    /// Where this source's sweep starts and how it strides the darknet.
    sweep_start: u64,
    sweep_step: u64,
}

#[derive(Debug)]
pub(crate) struct CampaignRun {
    pub(crate) spec: Campaign,
    rng: Rng,
    key: u64,
    /// Where the window starts, ns from the start of the run.
    start_ns: i64,
    v4: V4Space,
    vlan: f64,
    sources: Vec<Source>,
    /// This campaign's first source number.
    source_base: u32,
}

impl CampaignRun {
    pub(crate) fn new(
        seed: u64,
        index: usize,
        spec: &Campaign,
        (addrs, source_base): (Vec<u32>, u32),
        v4: V4Space,
        vlan: f64,
    ) -> Self {
        let stream = 1000 + index as u64;
        let mut rng = Rng::new(seed, stream);
        let key = hash2(seed, stream);
        let duration = spec.duration_secs as f64;
        let shape = spec.ramp.shape(spec.duration_secs);
        let n = addrs.len();
        let intervals: Vec<(f64, f64)> = (0..n)
            .map(|j| shape.interval((j as f64 + 0.5) / n as f64, duration))
            .collect();
        let counts = exact_counts(spec, &intervals, &mut rng);
        let space = v4.total().max(1);
        let sources = addrs
            .into_iter()
            .zip(intervals)
            .enumerate()
            .map(|(j, (addr, (begin, end)))| {
                let pace = match (spec.rate_pps_per_source, &counts) {
                    (Some(pps), _) => Pace::Rate { pps, t: begin },
                    (None, Some(c)) => Pace::Exact {
                        left: c.get(j).copied().unwrap_or_default(),
                        u: 0.0,
                    },
                    (None, None) => Pace::Exact { left: 0, u: 0.0 },
                };
                Source {
                    addr,
                    begin,
                    end,
                    pace,
                    sent: 0,
                    sweep_start: rng.below(space),
                    sweep_step: coprime_step(rng.below(space), space),
                }
            })
            .collect();
        CampaignRun {
            start_ns: spec.start_offset_secs as i64 * 1_000_000_000,
            spec: spec.clone(),
            rng,
            key,
            v4,
            vlan,
            sources,
            source_base,
        }
    }

    pub(crate) fn source_count(&self) -> usize {
        self.sources.len()
    }

    /// The next probe time of source `j`, ns from the start of the run, or
    /// `None` when it is done.
    pub(crate) fn next_time(&mut self, j: usize) -> Option<i64> {
        let s = self.sources.get_mut(j)?;
        let t = match &mut s.pace {
            Pace::Rate { pps, t } => {
                *t += self.rng.exp1() / *pps;
                if *t >= s.end {
                    return None;
                }
                *t
            }
            Pace::Exact { left, u } => {
                if *left == 0 {
                    return None;
                }
                let shrink = (self.rng.open_unit().ln() / *left as f64).exp();
                *u = 1.0 - (1.0 - *u) * shrink;
                *left -= 1;
                s.begin + *u * (s.end - s.begin)
            }
        };
        Some(self.start_ns + to_ns_within(t, s.begin, s.end))
    }

    /// Source `j`'s probe at `t_ns`.
    pub(crate) fn packet(&mut self, j: usize, t_ns: i64) -> Option<Emitted> {
        let s = self.sources.get_mut(j)?;
        let dst = match self.spec.targets_per_source {
            Some(t) => {
                let k = s.sent % u64::from(t);
                let off = s.sweep_start
                    + (u128::from(k) * u128::from(s.sweep_step)
                        % u128::from(self.v4.total().max(1))) as u64;
                self.v4.nth(off)
            }
            None => self.v4.random(&mut self.rng),
        };
        s.sent += 1;
        let addr = s.addr;
        let scanner = Scanner::new(self.spec.tool, hash2(self.key, j as u64));
        let addrs = Addrs::V4(addr, dst);
        let rng = &mut self.rng;
        let (net, l4) = match self.spec.proto {
            Proto::Udp => {
                let payload = udp_payload(self.spec.port, rng);
                scanner.udp(rng, addrs, self.spec.port, payload)
            }
            _ => scanner.tcp(rng, addrs, self.spec.port, SYN, (t_ns / 1_000_000) as u64),
        };
        Some(Emitted {
            frame: Frame::Ip {
                vlan: vlan(rng, self.vlan),
                net,
                l4,
            },
            src: self.source_base + j as u32,
        })
    }
}

/// Per-source probe counts for campaigns without a rate: `targets` each,
/// or the campaign total shared in proportion to active time (systematic
/// rounding, so the total is exact).
fn exact_counts(spec: &Campaign, intervals: &[(f64, f64)], rng: &mut Rng) -> Option<Vec<u64>> {
    if spec.rate_pps_per_source.is_some() {
        return None;
    }
    if let Some(total) = spec.total_packets {
        let lengths: f64 = intervals.iter().map(|(a, b)| b - a).sum();
        let offset = rng.unit();
        let mut cum = 0.0;
        let mut given = 0u64;
        let last = intervals.len().saturating_sub(1);
        let counts = intervals
            .iter()
            .enumerate()
            .map(|(j, (a, b))| {
                cum += b - a;
                let upto = if j == last || lengths <= 0.0 {
                    total
                } else {
                    ((total as f64 * cum / lengths + offset).floor() as u64).min(total)
                };
                let k = upto.saturating_sub(given);
                given += k;
                k
            })
            .collect();
        return Some(counts);
    }
    spec.targets_per_source
        .map(|t| vec![u64::from(t); intervals.len()])
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// A stride that visits every offset of a space of `n` before repeating.
fn coprime_step(seed: u64, n: u64) -> u64 {
    let mut s = seed % n;
    if s == 0 {
        s = 1;
    }
    while gcd(s, n) != 1 {
        s = s % (n - 1) + 1;
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(text: &str) -> CampaignRun {
        let spec: Campaign = text.parse().unwrap();
        let v4 = V4Space::parse(&["198.18.0.0/16".into()]).unwrap();
        let addrs = (0..spec.sources).map(|i| 0x0800_0000 + i).collect();
        CampaignRun::new(1, 0, &spec, (addrs, 0), v4, 0.0)
    }

    fn all_times(r: &mut CampaignRun, j: usize) -> Vec<i64> {
        std::iter::from_fn(|| r.next_time(j)).collect()
    }

    #[test]
    fn exact_total_is_shared_and_kept_in_window() {
        let mut r = run("0/udp@1m+1m,sources=7,packets=1000,ramp=linear");
        let mut n = 0;
        for j in 0..r.source_count() {
            let t = all_times(&mut r, j);
            assert!(t.windows(2).all(|w| w[0] <= w[1]));
            assert!(
                t.iter()
                    .all(|&x| (60_000_000_000..120_000_000_000).contains(&x))
            );
            n += t.len();
        }
        assert_eq!(n, 1000);
    }

    #[test]
    fn sweeps_visit_distinct_targets() {
        let mut r = run("5168/tcp@0s+1h,sources=2,targets=1000");
        let mut dsts = std::collections::HashSet::new();
        for _ in 0..2000 {
            if let Frame::Ip {
                net: crate::wire::Net::V4 { dst, .. },
                ..
            } = r.packet(0, 0).unwrap().frame
            {
                dsts.insert(dst);
            }
        }
        assert_eq!(dsts.len(), 1000);
        assert_eq!(coprime_step(0, 65_536), 1);
        assert_eq!(gcd(coprime_step(1024, 65_536), 65_536), 1);
        assert_eq!(gcd(coprime_step(6, 9), 9), 1);
    }
}
