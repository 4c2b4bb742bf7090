//! Ordering batches of large values without moving them around much.

/// Sorts `(key, value)` pairs by key, keys being distinct. Buckets are a few
/// hundred bytes: sorting the pairs directly moved each one some twenty
/// times, while sorting (key, index) pairs and then applying the permutation
/// moves each value once.
pub(crate) fn sort_by_key_indirect<K: Ord + Copy, V>(items: &mut [(K, V)]) {
    let mut order: Vec<(K, u32)> = items
        .iter()
        .enumerate()
        .map(|(i, (k, _))| (*k, i as u32))
        .collect();
    order.sort_unstable_by_key(|a| a.0);
    // perm[p] is where the value that belongs at p is now.
    let mut perm: Vec<u32> = order.into_iter().map(|(_, i)| i).collect();
    for start in 0..perm.len() {
        // Follow the cycle through `start`: each swap puts one value home.
        let mut at = start;
        loop {
            let from = perm[at] as usize;
            perm[at] = at as u32;
            if from == start {
                break;
            }
            items.swap(at, from);
            at = from;
        }
    }
}

/// Merges two lists sorted by distinct keys into one sorted list; no key is
/// in both (they come from disjoint [`Shard`](crate::Shard)s).
pub(crate) fn merge_sorted<K: Ord, V>(a: Vec<(K, V)>, b: Vec<(K, V)>) -> Vec<(K, V)> {
    if a.is_empty() {
        return b;
    }
    if b.is_empty() {
        return a;
    }
    let mut out = Vec::with_capacity(a.len() + b.len());
    let (mut a, mut b) = (a.into_iter().peekable(), b.into_iter().peekable());
    loop {
        let take_a = match (a.peek(), b.peek()) {
            (Some(x), Some(y)) => x.0 <= y.0,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (None, None) => break,
        };
        let next = if take_a { a.next() } else { b.next() };
        out.extend(next);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indirect_sort_orders_values_with_their_keys() {
        let mut x = 12345u64;
        let mut items: Vec<(u64, String)> = (0..500)
            .map(|i| {
                x = x
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                ((x >> 20) * 1000 + i, format!("v{}", (x >> 20) * 1000 + i))
            })
            .collect();
        sort_by_key_indirect(&mut items);
        assert!(items.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(items.iter().all(|(k, v)| *v == format!("v{k}")));
        let mut empty: Vec<(u8, u8)> = Vec::new();
        sort_by_key_indirect(&mut empty);
    }

    #[test]
    fn merges_sorted_lists() {
        let a = vec![(1, 'a'), (4, 'a'), (9, 'a')];
        let b = vec![(2, 'b'), (3, 'b'), (10, 'b')];
        let keys: Vec<i32> = merge_sorted(a.clone(), b).iter().map(|p| p.0).collect();
        assert_eq!(keys, [1, 2, 3, 4, 9, 10]);
        assert_eq!(merge_sorted(a.clone(), Vec::new()), a);
        assert_eq!(merge_sorted(Vec::new(), a.clone()), a);
    }
}
