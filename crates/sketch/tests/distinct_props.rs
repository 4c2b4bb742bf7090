//! Rule 2 for distinct counters: any split, merged in any order, equals the
//! whole, as a value and as bytes, wherever each part crossed the limit.

use portwatch_sketch::DistinctCounter;
use proptest::prelude::*;

mod common;
use common::{Stream, counter_of, split_indices};

const LIMIT: usize = DistinctCounter::SPARSE_LIMIT;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn merging_any_split_equals_the_whole(s in Stream::strategy(0..3 * LIMIT), parts in 1usize..5, skew in 0u8..4, split_seed: u64, order_seed: u64) {
        let hashes = s.hashes();
        let whole = counter_of(hashes.iter().copied());
        let mut pieces: Vec<DistinctCounter> = split_indices(hashes.len(), parts, skew, split_seed)
            .into_iter()
            .map(|idx| counter_of(idx.into_iter().map(|i| hashes[i])))
            .collect();
        common::shuffle(&mut pieces, order_seed);
        let mut merged = DistinctCounter::new();
        for p in &pieces {
            merged.merge(p);
        }
        prop_assert_eq!(merged.to_bytes(), whole.to_bytes());
        prop_assert_eq!(&merged, &whole);
        prop_assert_eq!(merged.estimate(), whole.estimate());
    }

    #[test]
    fn one_side_dense_the_other_tiny_or_sparse(n_big in LIMIT - 5..LIMIT + 300, n_small in 0usize..40, overlap in 0usize..40, seed: u64) {
        // The big side crosses (or just misses) the limit on its own; the
        // small one never does; together they may or may not.
        let all = Stream { len: n_big + n_small, universe: u64::MAX, seed }.hashes();
        let big = &all[..n_big];
        let small: Vec<u64> = all[n_big..].iter().chain(big.iter().take(overlap)).copied().collect();
        let whole = counter_of(big.iter().chain(small.iter()).copied());
        let (a, b) = (counter_of(big.iter().copied()), counter_of(small.iter().copied()));
        let mut ab = a.clone();
        ab.merge(&b);
        let mut ba = b.clone();
        ba.merge(&a);
        prop_assert_eq!(&ab, &whole);
        prop_assert_eq!(&ba, &whole);
        prop_assert_eq!(ab.to_bytes(), whole.to_bytes());
    }

    #[test]
    fn merge_is_commutative_and_associative(a in Stream::strategy(0..2 * LIMIT), b in Stream::strategy(0..2 * LIMIT), c in Stream::strategy(0..LIMIT)) {
        let (a, b, c) = (counter_of(a.hashes()), counter_of(b.hashes()), counter_of(c.hashes()));
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
        // Merging with itself or with an empty counter changes nothing.
        let mut aa = a.clone();
        aa.merge(&a);
        aa.merge(&DistinctCounter::new());
        prop_assert_eq!(&aa, &a);
    }

    #[test]
    fn exact_below_the_limit_and_round_trips(s in Stream::strategy(0..2 * LIMIT)) {
        let hashes = s.hashes();
        let c = counter_of(hashes.iter().copied());
        let mut distinct = hashes.clone();
        distinct.sort_unstable();
        distinct.dedup();
        prop_assert_eq!(c.is_exact(), distinct.len() <= LIMIT);
        if c.is_exact() {
            prop_assert_eq!(c.estimate(), distinct.len() as u64);
        }
        let back = DistinctCounter::from_bytes(&c.to_bytes());
        prop_assert_eq!(back.as_ref().ok(), Some(&c));
    }
}
