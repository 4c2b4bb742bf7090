//! From window scores to a finding: campaign, new port, single-source
//! flood, or nothing (rule 6: sources beat packets).

use std::net::IpAddr;

use crate::alert::{Kind, Moved};
use crate::window::WindowScore;

/// A minute of one port's recent history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Rec {
    pub minute: i64,
    pub sources: u64,
    pub packets: u64,
    pub targets: u64,
    pub top: Box<[(IpAddr, u64)]>,
}

/// Thresholds in force for one port.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Thresholds {
    pub open: f64,
    pub min_ratio: f64,
    pub min_sources: u64,
    pub min_packets: u64,
    pub single_share: f64,
    pub single_min_packets: u64,
    /// Distinct sources for "new port", when the port counts as silent.
    pub new_port_sources: Option<u64>,
}

/// What a minute's windows say.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Finding {
    pub kind: Kind,
    pub moved: Moved,
    /// Index of the deciding window in [`crate::baseline::WINDOWS`].
    pub window: usize,
    pub score: f64,
    pub ratio: f64,
}

/// Distinct sources and the loudest source's packets over the recs of a
/// window. Distinct is a lower bound: the union of the minutes' top lists,
/// or the busiest minute's own count if that is larger.
pub(crate) fn breadth<'a>(recs: impl Iterator<Item = &'a Rec>) -> (u64, u64) {
    let mut addrs: Vec<(IpAddr, u64)> = Vec::new();
    let mut busiest = 0;
    for r in recs {
        busiest = busiest.max(r.sources);
        addrs.extend(r.top.iter().copied());
    }
    addrs.sort_unstable_by_key(|a| a.0);
    let mut distinct = 0u64;
    let mut loudest = 0u64;
    let mut i = 0;
    while i < addrs.len() {
        let mut j = i;
        let mut sum = 0u64;
        while j < addrs.len() && addrs[j].0 == addrs[i].0 {
            sum = sum.saturating_add(addrs[j].1);
            j += 1;
        }
        distinct += 1;
        loudest = loudest.max(sum);
        i = j;
    }
    (distinct.max(busiest), loudest)
}

/// Decides the finding for a port at one minute. `recs_in` gives the recs
/// of window `i`. Only the three scoring windows (indices 1..4) vote.
pub(crate) fn decide<'a, F, I>(
    sources: &[WindowScore; 4],
    packets: &[WindowScore; 4],
    th: &Thresholds,
    recs_in: F,
) -> Option<Finding>
where
    F: Fn(usize) -> I,
    I: Iterator<Item = &'a Rec>,
{
    let moved = |w: &WindowScore| w.score >= th.open && w.ratio() >= th.min_ratio;
    let src_moved = |i: usize| moved(&sources[i]);
    let pkt_moved =
        |i: usize| moved(&packets[i]) && packets[i].sums.observed >= th.min_packets as f64;
    let best = |f: &dyn Fn(usize) -> bool, s: &[WindowScore; 4]| {
        (1..4)
            .filter(|&i| f(i))
            .max_by(|&a, &b| s[a].score.total_cmp(&s[b].score))
    };
    let any_pkt = (1..4).any(pkt_moved);

    if let Some(i) = best(&src_moved, sources) {
        let (distinct, _) = breadth(recs_in(i));
        if distinct >= th.min_sources && packets[i].sums.observed >= th.min_packets as f64 {
            let kind = match th.new_port_sources {
                Some(n) if distinct >= n => Kind::NewPort,
                _ => Kind::Campaign,
            };
            return Some(Finding {
                kind,
                moved: if any_pkt { Moved::Both } else { Moved::Sources },
                window: i,
                score: sources[i].score,
                ratio: sources[i].ratio(),
            });
        }
    }
    let i = best(&pkt_moved, packets)?;
    let (distinct, loudest) = breadth(recs_in(i));
    let excess = (packets[i].sums.observed - packets[i].sums.expected).max(1.0);
    let finding = |kind, moved| Finding {
        kind,
        moved,
        window: i,
        score: packets[i].score,
        ratio: packets[i].ratio(),
    };
    if loudest as f64 >= th.single_share * excess
        && packets[i].sums.observed >= th.single_min_packets as f64
    {
        Some(finding(Kind::SingleSource, Moved::Packets))
    } else if distinct >= th.min_sources && !src_moved(i) {
        Some(finding(Kind::Campaign, Moved::Packets))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::baseline::WindowSums;
    use std::net::Ipv4Addr;

    fn rec(minute: i64, top: &[(u8, u64)]) -> Rec {
        Rec {
            minute,
            sources: top.len() as u64,
            packets: top.iter().map(|t| t.1).sum(),
            targets: 1,
            top: top
                .iter()
                .map(|&(a, n)| (IpAddr::V4(Ipv4Addr::new(10, 0, 0, a)), n))
                .collect(),
        }
    }

    fn ws(observed: f64, expected: f64, score: f64) -> WindowScore {
        WindowScore {
            sums: WindowSums {
                observed,
                expected,
                up: 5.0,
            },
            floored: expected,
            score,
        }
    }

    fn th() -> Thresholds {
        Thresholds {
            open: 6.0,
            min_ratio: 1.5,
            min_sources: 5,
            min_packets: 10,
            single_share: 0.8,
            single_min_packets: 200,
            new_port_sources: None,
        }
    }

    #[test]
    fn breadth_unions_top_lists() {
        let recs = [rec(0, &[(1, 5), (2, 1)]), rec(60, &[(1, 7), (3, 1)])];
        assert_eq!(breadth(recs.iter()), (3, 12));
        let mut busy = rec(0, &[(1, 1)]);
        busy.sources = 40;
        assert_eq!(breadth([busy].iter()), (40, 1));
    }

    #[test]
    fn many_sources_make_a_campaign_one_makes_a_flood() {
        let quiet = [ws(0.0, 1.0, -1.0); 4];
        let up = [
            ws(0.0, 0.0, 0.0),
            ws(40.0, 0.1, 20.0),
            ws(40.0, 0.2, 18.0),
            ws(40.0, 1.0, 15.0),
        ];
        let many: Vec<Rec> = (0..5)
            .map(|m| rec(m * 60, &[(m as u8, 3), (m as u8 + 10, 3)]))
            .collect();
        let f = decide(&up, &up, &th(), |_| many.iter()).unwrap();
        assert_eq!(
            (f.kind, f.moved, f.window),
            (Kind::Campaign, Moved::Both, 1)
        );

        let mut t = th();
        t.new_port_sources = Some(10);
        let flat = [ws(40.0, 30.0, 1.0); 4];
        let f = decide(&up, &flat, &t, |_| many.iter()).unwrap();
        assert_eq!((f.kind, f.moved), (Kind::NewPort, Moved::Sources));
        // Sources moved but too few packets arrived: no campaign.
        assert_eq!(decide(&up, &quiet, &th(), |_| many.iter()), None);

        let pk = [
            ws(0.0, 0.0, 0.0),
            ws(900.0, 1.0, 60.0),
            ws(900.0, 2.0, 50.0),
            ws(900.0, 5.0, 40.0),
        ];
        let one: Vec<Rec> = (0..5).map(|m| rec(m * 60, &[(7, 180)])).collect();
        let f = decide(&up, &pk, &th(), |_| one.iter()).unwrap();
        assert_eq!((f.kind, f.moved), (Kind::SingleSource, Moved::Packets));
        // Too few packets for a flood, too few sources for a campaign.
        let small: Vec<Rec> = (0..5).map(|m| rec(m * 60, &[(7, 2)])).collect();
        let pk_small = [
            ws(0.0, 0.0, 0.0),
            ws(10.0, 0.1, 9.0),
            ws(10.0, 0.2, 8.0),
            ws(10.0, 1.0, 7.0),
        ];
        assert_eq!(decide(&up, &pk_small, &th(), |_| small.iter()), None);
        assert_eq!(decide(&quiet, &quiet, &th(), |_| many.iter()), None);
    }

    #[test]
    fn a_small_relative_rise_is_not_enough() {
        // Certain (score 9) but only 1.2 times the normal.
        let up = [
            ws(0.0, 0.0, 0.0),
            ws(1200.0, 1000.0, 9.0),
            ws(1200.0, 1000.0, 9.0),
            ws(1200.0, 1000.0, 9.0),
        ];
        let many: Vec<Rec> = (0..5)
            .map(|m| rec(m * 60, &[(1, 1), (2, 1), (3, 1), (4, 1), (5, 1)]))
            .collect();
        assert_eq!(decide(&up, &up, &th(), |_| many.iter()), None);
    }
}
