use super::*;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

#[test]
fn exact_while_within_capacity() {
    let mut t = TopK::new(3);
    t.add(ip("192.0.2.2"), 5);
    t.add(ip("192.0.2.1"), 5);
    t.add(ip("2001:db8::1"), 7);
    t.add(ip("192.0.2.2"), 1);
    t.add(ip("192.0.2.9"), 0);
    assert!(t.is_exact());
    assert_eq!(t.total(), 18);
    let top: Vec<_> = t
        .top(10)
        .iter()
        .map(|e| (e.addr, e.count, e.error))
        .collect();
    assert_eq!(
        top,
        [
            (ip("2001:db8::1"), 7, 0),
            (ip("192.0.2.2"), 6, 0),
            (ip("192.0.2.1"), 5, 0),
        ]
    );
    assert_eq!(t.top(1).len(), 1);
}

#[test]
fn eviction_takes_the_largest_address_among_the_smallest() {
    let mut t = TopK::new(2);
    t.add(ip("10.0.0.1"), 3);
    t.add(ip("10.0.0.2"), 3);
    t.add(ip("10.0.0.3"), 1);
    assert!(!t.is_exact());
    let top = t.top(2);
    assert_eq!(top[0].addr, ip("10.0.0.3"));
    assert_eq!((top[0].count, top[0].error), (4, 3));
    assert_eq!(top[1].addr, ip("10.0.0.1"));
}

#[test]
fn bytes_are_pinned_and_round_trip() {
    let mut t = TopK::new(2);
    t.add(ip("192.0.2.1"), 3);
    let b = t.to_bytes();
    assert_eq!(
        b,
        [
            1, 0x21, 2, 0, 0, 0, // capacity
            3, 0, 0, 0, 0, 0, 0, 0, // total
            1, 1, 0, 0, 0, // exact, one entry
            4, 192, 0, 2, 1, // address
            3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, // count, error
        ]
    );
    assert_eq!(TopK::from_bytes(&b).unwrap(), t);
}

#[test]
fn rejects_inconsistent_bytes() {
    let mut t = TopK::new(2);
    t.add(ip("192.0.2.1"), 3);
    let good = t.to_bytes();
    let mut wrong_total = good.clone();
    wrong_total[6] = 4;
    let mut zero_cap = good.clone();
    zero_cap[2] = 0;
    let mut bad_family = good.clone();
    bad_family[19] = 5;
    for (bytes, needle) in [
        (wrong_total, "total"),
        (zero_cap, "capacity"),
        (bad_family, "family"),
        (good[..20].to_vec(), "truncated"),
    ] {
        let err = TopK::from_bytes(&bytes).unwrap_err().to_string();
        assert!(err.contains(needle), "{err}");
    }
}

/// The merge as first written (collect both sides, rank, cut), on entries.
fn reference_merge(a: &TopK, b: &TopK) -> (usize, u64, bool, Vec<TopEntry>) {
    let (fa, fb) = (a.floor(), b.floor());
    let capacity = a.capacity().min(b.capacity());
    let (ea, eb) = (a.top(usize::MAX), b.top(usize::MAX));
    let mut merged = Vec::new();
    for x in &ea {
        merged.push(match eb.iter().find(|y| y.addr == x.addr) {
            Some(y) => {
                let upper = x.count.saturating_add(y.count);
                let lower = (x.count - x.error).saturating_add(y.count - y.error);
                TopEntry {
                    addr: x.addr,
                    count: upper,
                    error: upper - lower,
                }
            }
            None => {
                let upper = x.count.saturating_add(fb);
                TopEntry {
                    addr: x.addr,
                    count: upper,
                    error: upper - (x.count - x.error),
                }
            }
        });
    }
    for y in eb.iter().filter(|y| !ea.iter().any(|x| x.addr == y.addr)) {
        let upper = y.count.saturating_add(fa);
        merged.push(TopEntry {
            addr: y.addr,
            count: upper,
            error: upper - (y.count - y.error),
        });
    }
    let exact = a.is_exact() && b.is_exact() && merged.len() <= capacity;
    merged.sort_unstable_by(rank);
    merged.truncate(capacity);
    (capacity, a.total() + b.total(), exact, merged)
}

#[test]
fn in_place_merge_equals_the_reference() {
    let mut x = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for _ in 0..3000 {
        let make = |next: &mut dyn FnMut() -> u64| {
            let cap = 1 + (next() % 60) as usize;
            let keys = 1 + next() % 150;
            let mut t = TopK::new(cap);
            for _ in 0..next() % 300 {
                let k = next() % keys;
                let addr = if k.is_multiple_of(5) {
                    IpAddr::from([
                        0x20, 0x01, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, k as u8,
                    ])
                } else {
                    IpAddr::from([10, 0, (k >> 8) as u8, k as u8])
                };
                t.add(addr, 1 + next() % 3);
            }
            t
        };
        let a = make(&mut next);
        let mut b = make(&mut next);
        if next() % 2 == 0 {
            // A few exact entries into a full summary: the in-place path.
            b = TopK::new(a.capacity() + (next() % 3) as usize);
            for _ in 0..next() % 9 {
                let k = next() % 150;
                b.add(
                    IpAddr::from([10, 0, (k >> 8) as u8, k as u8]),
                    1 + next() % 4,
                );
            }
        }
        let want = reference_merge(&a, &b);
        let mut got = a.clone();
        got.merge(&b);
        assert_eq!(
            (
                got.capacity(),
                got.total(),
                got.is_exact(),
                got.top(usize::MAX)
            ),
            want
        );
    }
}

/// Space-Saving's add as first written: scan for the key, else evict the
/// smallest count with the largest address.
fn reference_add(entries: &mut Vec<TopEntry>, cap: usize, addr: IpAddr, count: u64) {
    if let Some(e) = entries.iter_mut().find(|e| e.addr == addr) {
        e.count += count;
    } else if entries.len() < cap {
        entries.push(TopEntry {
            addr,
            count,
            error: 0,
        });
    } else {
        let v = (0..entries.len())
            .min_by(|&a, &b| {
                let (x, y) = (&entries[a], &entries[b]);
                x.count.cmp(&y.count).then(y.addr.cmp(&x.addr))
            })
            .unwrap();
        let floor = entries[v].count;
        entries[v] = TopEntry {
            addr,
            count: floor + count,
            error: floor,
        };
    }
}

#[test]
fn evictions_follow_the_reference_through_adds_and_merges() {
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for round in 0..400 {
        // Every fourth round a capacity above INDEX_FROM, so that adds go
        // through the index while keys are evicted and slots move.
        let large = round % 4 == 3;
        let cap = if large {
            INDEX_FROM + 1 + (next() % 300) as usize
        } else {
            1 + (next() % 40) as usize
        };
        let keys = 1 + next() % if large { 1000 } else { 200 };
        let mut t = TopK::new(cap);
        let mut model: Vec<TopEntry> = Vec::new();
        for step in 0..2000 {
            let k = next() % keys;
            let addr = if k.is_multiple_of(9) {
                IpAddr::from([
                    0x20,
                    0x01,
                    0xd,
                    0xb8,
                    0,
                    0,
                    0,
                    0,
                    0,
                    0,
                    0,
                    0,
                    0,
                    0,
                    (k >> 8) as u8,
                    k as u8,
                ])
            } else {
                IpAddr::from([192, 0, (k >> 8) as u8, k as u8])
            };
            let c = 1 + next() % 2;
            t.add(addr, c);
            reference_add(&mut model, cap, addr, c);
            if step % 500 == 499 && round % 2 == 0 {
                // A merge in between rearranges the slots and resets the
                // eviction order; the model merges the same way.
                let other = TopK::new(cap);
                t.merge(&other);
            }
        }
        model.sort_unstable_by(rank);
        assert_eq!(t.top(usize::MAX), model, "round {round}");
        // Cutting to the best few keeps exactly the model's best few, and
        // the summary goes on adding from there like the reference.
        let k = 1 + (next() % 40) as usize;
        t.shrink_to(k);
        model.truncate(k);
        assert_eq!(t.top(usize::MAX), model, "round {round}, shrunk to {k}");
        assert_eq!(t.capacity(), k.min(cap));
        for _ in 0..200 {
            let addr = IpAddr::from([198, 18, 0, (next() % 60) as u8]);
            t.add(addr, 1);
            reference_add(&mut model, k.min(cap), addr, 1);
        }
        model.sort_unstable_by(rank);
        assert_eq!(t.top(usize::MAX), model, "round {round}, after the cut");
    }
}

#[test]
fn a_wide_summary_cut_to_size_gives_the_true_top_with_bounds() {
    // An open minute of a busy port: 500 sources, counts 1..=500 packets
    // apart from a few heavy ones, added interleaved. With room for all of
    // them the counts stay exact; cut to 32 the summary holds the true 32
    // largest, each with error 0, and no other key exceeds the floor.
    let addr = |i: u32| IpAddr::from((0xc612_0000 + i).to_be_bytes());
    let count = |i: u32| {
        if i < 5 {
            10_000 + u64::from(i)
        } else {
            u64::from(i % 97) + 1
        }
    };
    let mut t = TopK::new(1024);
    let mut left: Vec<u64> = (0..500).map(count).collect();
    let mut total = 0;
    while left.iter().any(|&c| c > 0) {
        for (i, c) in left.iter_mut().enumerate() {
            if *c > 0 {
                t.add(addr(i as u32), 1);
                *c -= 1;
                total += 1;
            }
        }
    }
    assert!(t.is_exact());
    assert_eq!(t.len(), 500);
    t.shrink_to(TopK::DEFAULT_CAPACITY);
    assert!(!t.is_exact());
    assert_eq!(t.total(), total);
    let mut truth: Vec<(u64, IpAddr)> = (0..500).map(|i| (count(i), addr(i))).collect();
    truth.sort_unstable_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let got = t.top(usize::MAX);
    assert_eq!(got.len(), 32);
    for (e, (c, a)) in got.iter().zip(&truth) {
        assert_eq!((e.addr, e.count, e.error), (*a, *c, 0));
    }
    // Merging into a default summary keeps the bounds: the floor (the 32nd
    // count) is added to keys the other side lacks.
    let floor = got[31].count;
    let mut run = TopK::new(TopK::DEFAULT_CAPACITY);
    run.add(addr(9_999), 3);
    run.merge(&t);
    let other = run
        .top(usize::MAX)
        .into_iter()
        .find(|e| e.addr == addr(9_999));
    if let Some(e) = other {
        assert_eq!((e.count, e.error), (3 + floor, floor));
    }
    assert!(run.top(5).iter().all(|e| e.error == 0));
}
