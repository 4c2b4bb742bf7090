//! Rule 2 of the design as a property: aggregating a stream in one piece
//! equals merging the aggregates of any split of it, and draining batches
//! loses nothing.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use portwatch_aggregate::{
    Aggregator, BatchId, Observation, PortBucket, SeriesKey, Shard, ToolCounts, rollup,
};
use portwatch_core::{
    BucketWidth, Class, DropReason, Event, Fingerprint, Proto, Timestamp, TransportInfo, classify,
    tcp_flags,
};
use portwatch_scanners::Tool;
use proptest::prelude::*;

#[derive(Debug, Clone)]
struct Spec {
    ts_secs: i64,
    src: u32,
    dst: u32,
    v6: bool,
    proto: u8,
    dport: u16,
    flags: u8,
    dropped: bool,
    /// Which tool's header marks the probe carries (0: none).
    tool: u8,
}

fn spec() -> impl Strategy<Value = Spec> {
    (
        0i64..(3 * 86_400),
        0u32..400,
        0u32..2_000,
        prop::bool::weighted(0.1),
        0u8..4,
        prop::sample::select(vec![0u16, 23, 445, 5168, 12345, 65535]),
        prop::sample::select(vec![
            tcp_flags::SYN,
            tcp_flags::SYN | tcp_flags::ACK,
            tcp_flags::RST,
            tcp_flags::ACK,
        ]),
        prop::bool::weighted(0.05),
        0u8..4,
    )
        .prop_map(
            |(ts_secs, src, dst, v6, proto, dport, flags, dropped, tool)| Spec {
                ts_secs,
                src,
                dst,
                v6,
                proto,
                dport,
                flags,
                dropped,
                tool,
            },
        )
}

fn addr(n: u32, v6: bool, base: u32) -> IpAddr {
    if v6 {
        IpAddr::V6(Ipv6Addr::new(
            0x2001,
            0xdb8,
            0,
            0,
            0,
            0,
            (base >> 16) as u16,
            n as u16,
        ))
    } else {
        IpAddr::V4(Ipv4Addr::from(base.wrapping_add(n)))
    }
}

fn feed(agg: &mut Aggregator, s: &Spec) {
    match event(s) {
        Some(ev) => agg.observe(&ev),
        None => agg.drop_record(DropReason::Truncated),
    }
}

/// The event `s` describes, or `None` for a dropped record.
fn event(s: &Spec) -> Option<Event<'static>> {
    if s.dropped {
        return None;
    }
    let proto = [Proto::Tcp, Proto::Udp, Proto::Icmp, Proto::Icmpv6][s.proto as usize];
    let dport = if matches!(proto, Proto::Icmp | Proto::Icmpv6) {
        s.dport % 140
    } else {
        s.dport
    };
    let info = TransportInfo {
        proto: Some(proto),
        sport: 40_000,
        dport,
        tcp_flags: if proto == Proto::Tcp { s.flags } else { 0 },
        non_first_fragment: false,
    };
    let c = classify(&info);
    let dst = addr(s.dst, s.v6, 0xc612_0000);
    // The header marks of ZMap (IP ID 54321, window 65535), Mirai (sequence
    // number = target) and Nmap (window 1024, lone MSS option), so that
    // source-days carry several tools.
    let mut fp = Fingerprint {
        tcp_flags: info.tcp_flags,
        tcp_window: 29_200,
        ..Fingerprint::default()
    };
    let mut tcp_options: &'static [u8] = &[];
    match s.tool {
        1 => (fp.ip_id, fp.tcp_window) = (54_321, 65_535),
        2 => {
            if let IpAddr::V4(a) = dst {
                fp.tcp_seq = a.to_bits();
            }
        }
        3 => {
            fp.tcp_window = 1024;
            tcp_options = &[0x02, 0x04, 0x05, 0xb4];
        }
        _ => {}
    }
    let ev = Event {
        ts: Timestamp::from_secs(1_700_000_000 + s.ts_secs),
        src: addr(s.src, s.v6, 0x0a00_0000),
        dst,
        proto: Some(proto),
        sport: info.sport,
        dport,
        class: c.class,
        key: c.key,
        ip_len: 40,
        fp,
        tcp_options,
        payload: &[],
    };
    Some(ev)
}

/// Feeds `s` to every shard, as the capture pipeline's workers see every
/// event; a dropped record is counted by the first shard alone.
fn feed_shards(shards: &mut [Aggregator], s: &Spec) {
    for (i, agg) in shards.iter_mut().enumerate() {
        if !s.dropped || i == 0 {
            feed(agg, s);
        }
    }
}

fn whole(specs: &[Spec]) -> Aggregator {
    let mut agg = Aggregator::new();
    specs.iter().for_each(|s| feed(&mut agg, s));
    agg
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn tool_counts_merge_in_any_grouping(
        a in prop::collection::vec((0usize..6, 0u64..1_000), 0..8),
        b in prop::collection::vec((0usize..6, 0u64..1_000), 0..8),
        c in prop::collection::vec((0usize..6, 0u64..1_000), 0..8),
    ) {
        let counts = |v: &[(usize, u64)]| {
            let mut t = ToolCounts::default();
            for &(i, n) in v {
                t.add(Tool::ALL[i], n);
            }
            t
        };
        let (a, b, c) = (counts(&a), counts(&b), counts(&c));
        let mut left = a;
        left.merge(&b);
        left.merge(&c);
        let mut bc = b;
        bc.merge(&c);
        let mut right = a;
        right.merge(&bc);
        prop_assert_eq!(left, right);
        let mut ba = b;
        ba.merge(&a);
        let mut ab = a;
        ab.merge(&b);
        prop_assert_eq!(ab, ba);
        prop_assert_eq!(left.total(), a.total() + b.total() + c.total());
    }

    #[test]
    fn first_contacts_merge_in_any_grouping_and_split(
        outcomes in prop::collection::vec((0u32..6, 0i64..3 * 86_400, any::<bool>()), 0..60),
        cut in 0usize..60,
        n in 1usize..4,
    ) {
        // Whole: one aggregator takes every outcome. Split: the outcomes are
        // cut in two runs, each dealt to the shard owning its source, and the
        // shards' source-days merged in reverse order.
        let src = |i: u32| addr(i, false, 0x0a00_0000);
        let ts = |t: i64| Timestamp::from_secs(1_700_000_000 + t);
        let mut whole = Aggregator::new();
        for &(i, t, ok) in &outcomes {
            whole.first_contact(src(i), ts(t), ok);
        }
        let mut parts: Vec<Aggregator> = Vec::new();
        let cut = cut.min(outcomes.len());
        for run in [&outcomes[..cut], &outcomes[cut..]] {
            let mut shards: Vec<Aggregator> =
                (0..n).filter_map(|k| Shard::new(k, n)).map(Aggregator::for_shard).collect();
            for &(i, t, ok) in run {
                let at = shards[0].shard().source_part_of(src(i));
                shards[at].first_contact(src(i), ts(t), ok);
            }
            parts.extend(shards);
        }
        let mut merged = Aggregator::new();
        for p in parts.iter().rev() {
            merged.merge(p);
        }
        let collect = |a: &Aggregator| {
            a.sources()
                .map(|(k, v)| (*k, (v.first_contacts_ok, v.first_contacts_failed)))
                .collect::<std::collections::BTreeMap<_, _>>()
        };
        prop_assert_eq!(collect(&merged), collect(&whole));
        // An independent count: per (source, day), successes and failures.
        let mut oracle = std::collections::BTreeMap::new();
        for &(i, t, ok) in &outcomes {
            let secs = 1_700_000_000 + t;
            let key = portwatch_aggregate::SourceKey { addr: src(i), day: secs - secs.rem_euclid(86_400) };
            let e = oracle.entry(key).or_insert((0u64, 0u64));
            if ok { e.0 += 1 } else { e.1 += 1 }
        }
        prop_assert_eq!(collect(&whole), oracle);
    }

    #[test]
    fn every_probe_is_counted_under_one_tool(specs in prop::collection::vec(spec(), 0..600)) {
        let agg = whole(&specs);
        let mut marked = 0u64;
        for (_, s) in agg.sources() {
            prop_assert_eq!(s.tools.total(), s.probes);
            marked += s.tools.total() - s.tools.get(Tool::Unknown);
        }
        // Independent oracle: the probes whose spec carried a tool's marks
        // where the rules can see them: ZMap's on any IPv4 probe (TCP ones
        // carry its window too), Mirai's on IPv4 TCP SYNs, Nmap's on TCP
        // SYNs of either family.
        let want = specs
            .iter()
            .filter_map(|s| event(s).map(|ev| (s, ev)))
            .filter(|(_, ev)| ev.class == Class::Probe)
            .filter(|(s, ev)| {
                let syn = ev.proto == Some(Proto::Tcp);
                match s.tool {
                    1 => !s.v6,
                    2 => !s.v6 && syn,
                    3 => syn,
                    _ => false,
                }
            })
            .count() as u64;
        prop_assert_eq!(marked, want);
    }

    #[test]
    fn merge_of_any_split_equals_whole(
        specs in prop::collection::vec(spec(), 0..600),
        cuts in prop::collection::vec(0usize..600, 0..5),
        reverse in any::<bool>(),
    ) {
        let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(specs.len())).collect();
        cuts.push(0);
        cuts.push(specs.len());
        cuts.sort_unstable();
        let mut parts: Vec<Aggregator> =
            cuts.windows(2).map(|w| whole(&specs[w[0]..w[1]])).collect();
        if reverse {
            parts.reverse();
        }
        let mut merged = Aggregator::new();
        for p in &parts {
            merged.merge(p);
        }
        prop_assert_eq!(merged, whole(&specs));
    }

    #[test]
    fn drained_batches_add_up_to_the_whole(
        specs in prop::collection::vec(spec(), 0..400),
        every in 1usize..100,
    ) {
        // Drain at arbitrary points with a watermark of the latest minute seen,
        // as the pipeline does; the union of batches must equal the whole.
        let mut agg = Aggregator::new();
        let mut batches = Vec::new();
        let mut max_ts = i64::MIN;
        for (i, s) in specs.iter().enumerate() {
            feed(&mut agg, s);
            max_ts = max_ts.max(1_700_000_000 + s.ts_secs);
            if i % every == every - 1 {
                let id = BatchId { stream: "t".into(), seq: batches.len() as u64 };
                batches.push(agg.drain_closed(id, max_ts - 60));
            }
        }
        batches.push(agg.drain_all(BatchId { stream: "t".into(), seq: batches.len() as u64 }));

        let want = whole(&specs);
        let mut counts = portwatch_aggregate::ClassCounts::default();
        let mut minutes = std::collections::HashMap::<SeriesKey, PortBucket>::new();
        let mut sources = std::collections::HashMap::new();
        for b in &batches {
            counts.merge(&b.counts);
            for (k, v) in &b.minutes {
                minutes.entry(*k).or_default().merge(v);
            }
            for (k, v) in &b.sources {
                sources.entry(*k).or_insert_with(portwatch_aggregate::SourceStats::default).merge(v);
            }
        }
        prop_assert_eq!(&counts, want.counts());
        // The whole drained at once: its open minutes' top sources are cut
        // to the stored size as every batch's are.
        let want = want.clone().drain_all(BatchId { stream: "t".into(), seq: 0 });
        let want_minutes: std::collections::HashMap<_, _> = want.minutes.into_iter().collect();
        prop_assert_eq!(minutes, want_minutes);
        let want_sources: std::collections::HashMap<_, _> = want.sources.into_iter().collect();
        prop_assert_eq!(sources, want_sources);
    }

    #[test]
    fn shards_add_up_to_the_whole(
        specs in prop::collection::vec(spec(), 0..600),
        n in 1usize..5,
        every in 1usize..200,
    ) {
        let id = |seq| BatchId { stream: "t".into(), seq };
        let mut shards: Vec<Aggregator> =
            (0..n).filter_map(|i| Shard::new(i, n)).map(Aggregator::for_shard).collect();
        let mut one = Aggregator::new();
        let mut max_ts = i64::MIN;
        let mut seq = 0;
        for (i, s) in specs.iter().enumerate() {
            feed_shards(&mut shards, s);
            feed(&mut one, s);
            max_ts = max_ts.max(1_700_000_000 + s.ts_secs);
            let last = i + 1 == specs.len();
            if i % every == every - 1 || last {
                let before = if last { i64::MAX } else { max_ts - 60 };
                let mut parts = shards.iter_mut().map(|a| a.drain_closed(id(seq), before));
                let mut batch = parts.next().unwrap();
                parts.for_each(|p| batch.absorb(p));
                prop_assert_eq!(batch, one.drain_closed(id(seq), before));
                seq += 1;
            }
        }
        prop_assert!(shards.iter().all(Aggregator::is_empty) && one.is_empty());
    }

    #[test]
    fn observing_runs_equals_one_by_one(
        specs in prop::collection::vec(spec(), 0..600),
        run in 1usize..300,
        n in 1usize..4,
    ) {
        for shard in (0..n).filter_map(|i| Shard::new(i, n)) {
            let mut single = Aggregator::for_shard(shard);
            let mut runs = Aggregator::for_shard(shard);
            let obs: Vec<Observation> =
                specs.iter().filter_map(event).map(|ev| Observation::of(&ev)).collect();
            for o in &obs {
                single.observe_hashed(o);
            }
            for chunk in obs.chunks(run) {
                runs.observe_all(chunk);
            }
            prop_assert_eq!(&runs, &single);
        }
    }

    #[test]
    fn rollup_of_minutes_equals_direct_hours(specs in prop::collection::vec(spec(), 0..400)) {
        let agg = whole(&specs);
        let five = rollup(agg.minutes(), BucketWidth::FiveMinutes);
        let hours_from_five = rollup(five.iter().map(|(k, v)| (k, v)), BucketWidth::Hour);
        let hours = rollup(agg.minutes(), BucketWidth::Hour);
        prop_assert_eq!(&hours_from_five, &hours);
        let packets: u64 = hours.iter().map(|(_, b)| b.packets).sum();
        prop_assert_eq!(packets, agg.counts().probe + agg.counts().backscatter);
    }
}
