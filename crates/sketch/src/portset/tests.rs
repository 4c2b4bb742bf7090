use super::*;

fn key(s: &str) -> PortKey {
    s.parse().unwrap()
}

#[test]
fn packing_follows_port_key_order() {
    assert!(BY_ORDER.windows(2).all(|w| w[0] < w[1]));
    for (i, p) in BY_ORDER.into_iter().enumerate() {
        assert_eq!(usize::from(proto_index(p)), i);
    }
}

#[test]
fn small_set_is_sorted_and_pinned() {
    let mut s = PortSet::new();
    s.insert(key("53/udp"));
    s.insert(key("445/tcp"));
    s.insert(key("53/udp"));
    assert_eq!(s.len(), 2);
    assert_eq!(s.heap_bytes(), 0);
    assert!(s.contains(key("445/tcp")) && !s.contains(key("445/udp")));
    s.insert(key("8/icmp"));
    let all: Vec<_> = s.iter().collect();
    assert_eq!(all, [key("8/icmp"), key("445/tcp"), key("53/udp")]);
    let b = s.to_bytes();
    assert_eq!(
        b,
        [1, 0x31, 3, 0, 0, 0, 1, 8, 0, 6, 0xbd, 0x01, 17, 53, 0, 0]
    );
    assert_eq!(PortSet::from_bytes(&b).unwrap(), s);
}

#[test]
fn a_vertical_scan_gets_a_bitmap() {
    let mut s = PortSet::new();
    s.insert(key("7/udp"));
    for port in 0..=u16::MAX {
        s.insert(PortKey::new(Proto::Tcp, port));
    }
    assert_eq!(s.len(), 65537);
    assert_eq!(s.dense.len(), 1);
    assert_eq!(&s.sparse[..], [pack(key("7/udp"))]);
    let b = s.to_bytes();
    assert_eq!(b.len(), 2 + 4 + 3 + 1 + 1 + 8192);
    assert_eq!(PortSet::from_bytes(&b).unwrap(), s);
    let first: Vec<_> = s.iter().take(2).collect();
    assert_eq!(first, [key("0/tcp"), key("1/tcp")]);
    assert_eq!(s.iter().last(), Some(key("7/udp")));
}

#[test]
fn rejects_bad_bytes() {
    let bad: &[(&[u8], &str)] = &[
        (&[1, 0x31, 1, 0, 0, 0, 99, 0, 0, 0], "protocol"),
        (&[1, 0x31, 2, 0, 0, 0, 6, 1, 0, 6, 1, 0, 0], "ascending"),
        (&[1, 0x31, 0, 0, 0, 0, 1, 6], "truncated"),
        (&[1, 0x31, 0, 0, 0, 0, 0, 0], "trailing"),
        (&[1, 0x31, 0, 0, 0, 0, 9], "bitmap count"),
    ];
    for (bytes, needle) in bad {
        let err = PortSet::from_bytes(bytes).unwrap_err().to_string();
        assert!(err.contains(needle), "{bytes:?}: {err}");
    }
    let mut few = vec![1, 0x31, 0, 0, 0, 0, 1, 6];
    few.extend_from_slice(&[0xff; 8]);
    few.resize(8 + 8192, 0);
    let err = PortSet::from_bytes(&few).unwrap_err().to_string();
    assert!(err.contains("too few"), "{err}");
}
