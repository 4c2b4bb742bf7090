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
