//! Top-k: merge-equals-whole while exact, Space-Saving's bounds beyond.

use std::collections::HashMap;
use std::net::IpAddr;

use portwatch_sketch::TopK;
use proptest::prelude::*;

mod common;
use common::{addr, mix, shuffle, split_indices};

/// A weighted stream over `keys` distinct addresses, heavy at the front
/// (the draw is the minimum of two uniform ones).
fn stream(len: usize, keys: u64, seed: u64) -> Vec<(IpAddr, u64)> {
    (0..len as u64)
        .map(|i| {
            let r = mix(seed ^ mix(i));
            let k = (r % keys).min((r >> 32) % keys);
            (addr(k), 1 + (r >> 60) % 3)
        })
        .collect()
}

fn topk_of(items: impl IntoIterator<Item = (IpAddr, u64)>, cap: usize) -> TopK {
    let mut t = TopK::new(cap);
    for (a, c) in items {
        t.add(a, c);
    }
    t
}

fn truth(items: &[(IpAddr, u64)]) -> HashMap<IpAddr, u64> {
    let mut m = HashMap::new();
    for &(a, c) in items {
        *m.entry(a).or_insert(0) += c;
    }
    m
}

/// Merges the parts as a random binary tree, so both merge order and
/// grouping vary.
fn merge_tree(mut parts: Vec<TopK>, seed: u64) -> TopK {
    let mut s = seed;
    while parts.len() > 1 {
        s = mix(s);
        let i = (s % parts.len() as u64) as usize;
        let a = parts.swap_remove(i);
        s = mix(s);
        let j = (s % parts.len() as u64) as usize;
        parts[j].merge(&a);
    }
    parts
        .pop()
        .unwrap_or_else(|| TopK::new(TopK::DEFAULT_CAPACITY))
}

fn check_bounds(t: &TopK, items: &[(IpAddr, u64)], cap: usize) -> Result<(), TestCaseError> {
    let truth = truth(items);
    let total: u64 = items.iter().map(|&(_, c)| c).sum();
    prop_assert_eq!(t.total(), total);
    let reported = t.top(usize::MAX);
    prop_assert!(reported.len() <= cap);
    for e in &reported {
        let true_count = truth.get(&e.addr).copied().unwrap_or(0);
        prop_assert!(e.count >= true_count, "{e:?} below true {true_count}");
        prop_assert!(
            e.count - e.error <= true_count,
            "{e:?} lower bound above {true_count}"
        );
        prop_assert!(e.error <= total / cap as u64, "{e:?} error above N/k");
        if t.is_exact() {
            prop_assert_eq!((e.count, e.error), (true_count, 0));
        }
    }
    for (a, &c) in &truth {
        if c > total / cap as u64 {
            prop_assert!(
                reported.iter().any(|e| e.addr == *a),
                "heavy {a} ({c} of {total}) missing"
            );
        }
    }
    // Sorted by count descending, then address ascending.
    for w in reported.windows(2) {
        prop_assert!(
            w[0].count > w[1].count || (w[0].count == w[1].count && w[0].addr < w[1].addr)
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn exact_while_within_capacity_and_merge_equals_whole(len in 0usize..400, cap in 1usize..40, parts in 1usize..6, skew in 0u8..4, seed: u64, split_seed: u64) {
        let items = stream(len, cap as u64, seed);
        let whole = topk_of(items.iter().copied(), cap);
        prop_assert!(whole.is_exact());
        let pieces = split_indices(items.len(), parts, skew, split_seed)
            .into_iter()
            .map(|idx| topk_of(idx.into_iter().map(|i| items[i]), cap))
            .collect();
        let merged = merge_tree(pieces, seed ^ split_seed);
        prop_assert_eq!(&merged, &whole);
        prop_assert_eq!(merged.to_bytes(), whole.to_bytes());
        check_bounds(&merged, &items, cap)?;
    }

    #[test]
    fn bounds_hold_beyond_capacity_after_any_merges(len in 0usize..2000, keys in 1u64..300, cap in 1usize..40, parts in 1usize..8, skew in 0u8..4, seed: u64, split_seed: u64) {
        let items = stream(len, keys, seed);
        check_bounds(&topk_of(items.iter().copied(), cap), &items, cap)?;
        let pieces = split_indices(items.len(), parts, skew, split_seed)
            .into_iter()
            .map(|idx| topk_of(idx.into_iter().map(|i| items[i]), cap))
            .collect();
        let merged = merge_tree(pieces, split_seed);
        check_bounds(&merged, &items, cap)?;
        // What the reader accepts includes everything merges produce.
        let back = TopK::from_bytes(&merged.to_bytes());
        prop_assert_eq!(back.ok(), Some(merged));
    }

    #[test]
    fn merge_is_commutative_and_associative_while_exact(len in 0usize..200, cap in 1usize..20, seed: u64, a_seed: u64) {
        let items = stream(len, cap as u64, seed);
        let mut groups = [Vec::new(), Vec::new(), Vec::new()];
        for (i, it) in items.iter().enumerate() {
            groups[(mix(a_seed ^ i as u64) % 3) as usize].push(*it);
        }
        let [a, b, c] = [0, 1, 2].map(|g| topk_of(groups[g].iter().copied(), cap));
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

    #[test]
    fn merge_is_commutative_beyond_capacity(len_a in 0usize..300, len_b in 0usize..300, keys in 1u64..100, cap in 1usize..20, seed: u64) {
        let a = topk_of(stream(len_a, keys, seed), cap);
        let b = topk_of(stream(len_b, keys, !seed), cap);
        let mut ab = a.clone();
        ab.merge(&b);
        let mut ba = b.clone();
        ba.merge(&a);
        prop_assert_eq!(ab, ba);
    }
}

#[test]
fn order_of_parts_does_not_matter_while_exact() {
    let items = stream(300, 32, 7);
    let whole = topk_of(items.iter().copied(), 32);
    let mut pieces: Vec<TopK> = items
        .chunks(17)
        .map(|c| topk_of(c.iter().copied(), 32))
        .collect();
    for seed in 0..8 {
        shuffle(&mut pieces, seed);
        let mut merged = TopK::new(32);
        for p in &pieces {
            merged.merge(p);
        }
        assert_eq!(merged, whole);
    }
}
