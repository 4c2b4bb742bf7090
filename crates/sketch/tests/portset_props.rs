//! Port sets against a `BTreeSet` model: union, order, size, bytes.

use std::collections::BTreeSet;

use portwatch_core::{PortKey, Proto};
use portwatch_sketch::PortSet;
use proptest::prelude::*;

mod common;
use common::{mix, shuffle, split_indices};

const LIMIT: usize = PortSet::SPARSE_LIMIT;

/// Keys mostly from one protocol so that one crosses the bitmap limit, with
/// a sprinkle of the others.
fn keys(len: usize, port_range: u32, seed: u64) -> Vec<PortKey> {
    (0..len as u64)
        .map(|i| {
            let r = mix(seed ^ mix(i));
            let proto = if r % 8 < 5 {
                Proto::Tcp
            } else {
                Proto::ALL[(r >> 3) as usize % 4]
            };
            PortKey::new(proto, ((r >> 16) % u64::from(port_range)) as u16)
        })
        .collect()
}

fn set_of(k: impl IntoIterator<Item = PortKey>) -> PortSet {
    let mut s = PortSet::new();
    for key in k {
        s.insert(key);
    }
    s
}

fn range() -> impl Strategy<Value = u32> {
    prop_oneof![1u32..20, Just(4000), Just(65536)]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn matches_the_model_and_round_trips(len in 0usize..3 * LIMIT, r in range(), seed: u64) {
        let ks = keys(len, r, seed);
        let s = set_of(ks.iter().copied());
        let model: BTreeSet<PortKey> = ks.iter().copied().collect();
        prop_assert_eq!(s.len(), model.len() as u64);
        prop_assert_eq!(s.is_empty(), model.is_empty());
        prop_assert!(s.iter().eq(model.iter().copied()));
        for k in keys(50, 65536, !seed) {
            prop_assert_eq!(s.contains(k), model.contains(&k));
        }
        let back = PortSet::from_bytes(&s.to_bytes());
        prop_assert_eq!(back.ok(), Some(s));
    }

    #[test]
    fn merging_any_split_equals_the_whole(len in 0usize..3 * LIMIT, r in range(), parts in 1usize..5, skew in 0u8..4, seed: u64, split_seed: u64) {
        let ks = keys(len, r, seed);
        let whole = set_of(ks.iter().copied());
        let mut pieces: Vec<PortSet> = split_indices(ks.len(), parts, skew, split_seed)
            .into_iter()
            .map(|idx| set_of(idx.into_iter().map(|i| ks[i])))
            .collect();
        shuffle(&mut pieces, split_seed);
        let mut merged = PortSet::new();
        for p in &pieces {
            merged.merge(p);
        }
        prop_assert_eq!(merged.to_bytes(), whole.to_bytes());
        prop_assert_eq!(&merged, &whole);
    }

    #[test]
    fn merge_is_commutative_and_associative(la in 0usize..3 * LIMIT, lb in 0usize..LIMIT, lc in 0usize..100, r in range(), seed: u64) {
        let a = set_of(keys(la, r, seed));
        let b = set_of(keys(lb, 65536, seed ^ 1));
        let c = set_of(keys(lc, r, seed ^ 2));
        let mut ab = a.clone();
        ab.merge(&b);
        let mut ba = b.clone();
        ba.merge(&a);
        prop_assert_eq!(&ab, &ba);
        let mut ab_c = ab.clone();
        ab_c.merge(&c);
        let mut bc = b.clone();
        bc.merge(&c);
        let mut a_bc = a.clone();
        a_bc.merge(&bc);
        prop_assert_eq!(&ab_c, &a_bc);
    }
}
