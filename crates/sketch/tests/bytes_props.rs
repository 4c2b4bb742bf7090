//! `from_bytes` on hostile input: never panics, and whatever it accepts is
//! canonical (writing it back gives the same bytes).

use portwatch_core::{PortKey, Proto};
use portwatch_sketch::{DistinctCounter, PortSet, TopK};
use proptest::prelude::*;

mod common;
use common::{addr, counter_of, mix};

/// Reads `b` as each summary type; any that accepts must write `b` back.
fn check_all(b: &[u8]) -> Result<(), TestCaseError> {
    if let Ok(c) = DistinctCounter::from_bytes(b) {
        prop_assert_eq!(c.to_bytes(), b);
    }
    if let Ok(t) = TopK::from_bytes(b) {
        prop_assert_eq!(t.to_bytes(), b);
    }
    if let Ok(s) = PortSet::from_bytes(b) {
        prop_assert_eq!(s.to_bytes(), b);
    }
    Ok(())
}

/// Valid encodings of every form, to mutate; built once.
fn samples() -> &'static [Vec<u8>] {
    static SAMPLES: std::sync::OnceLock<Vec<Vec<u8>>> = std::sync::OnceLock::new();
    SAMPLES.get_or_init(build_samples)
}

fn build_samples() -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for n in [0usize, 1, 8, 9, 100, DistinctCounter::SPARSE_LIMIT, 5000] {
        out.push(counter_of((0..n as u64).map(mix)).to_bytes());
    }
    for (keys, cap) in [(3u64, 4usize), (50, 4), (2, 1)] {
        let mut t = TopK::new(cap);
        for i in 0..40 {
            t.add(addr(mix(i) % keys), 1 + i % 3);
        }
        out.push(t.to_bytes());
    }
    let mut s = PortSet::new();
    s.insert(PortKey::new(Proto::Udp, 53));
    out.push(s.to_bytes());
    for port in 0..3000 {
        s.insert(PortKey::new(Proto::Tcp, port));
    }
    out.push(s.to_bytes());
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn arbitrary_bytes(b in prop::collection::vec(any::<u8>(), 0..64), kind in prop_oneof![Just(0x11u8), Just(0x12), Just(0x21), Just(0x31), any::<u8>()]) {
        check_all(&b)?;
        let mut framed = vec![1, kind];
        framed.extend_from_slice(&b);
        check_all(&framed)?;
    }

    #[test]
    fn mutated_valid_bytes(which in 0usize..13, edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4), cut in any::<prop::sample::Index>(), truncate: bool) {
        let all = samples();
        let mut b = all[which % all.len()].clone();
        for (at, v) in edits {
            let i = at.index(b.len());
            b[i] = v;
        }
        if truncate {
            b.truncate(cut.index(b.len() + 1));
        }
        check_all(&b)?;
    }
}

#[test]
fn every_sample_is_accepted_by_exactly_its_own_reader() {
    for b in samples() {
        let accepted = [
            DistinctCounter::from_bytes(b).is_ok(),
            TopK::from_bytes(b).is_ok(),
            PortSet::from_bytes(b).is_ok(),
        ];
        assert_eq!(
            accepted.iter().filter(|&&ok| ok).count(),
            1,
            "{:?}",
            &b[..2]
        );
    }
}
