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
    MergeSorted::new(vec![a, b]).collect()
}

/// The items of several lists sorted by distinct keys (no key in two of
/// them: one list per [`Shard`](crate::Shard)), in key order, taken out as
/// they are needed. A list is freed once it is used up, so a caller that
/// consumes the merge piece by piece never holds all of it twice.
#[derive(Debug)]
pub struct MergeSorted<K, V> {
    lists: Vec<std::iter::Peekable<std::vec::IntoIter<(K, V)>>>,
}

impl<K: Ord, V> MergeSorted<K, V> {
    pub fn new(lists: Vec<Vec<(K, V)>>) -> Self {
        MergeSorted {
            lists: lists
                .into_iter()
                .filter(|l| !l.is_empty())
                .map(|l| l.into_iter().peekable())
                .collect(),
        }
    }
}

impl<K: Ord, V> Iterator for MergeSorted<K, V> {
    type Item = (K, V);

    fn next(&mut self) -> Option<(K, V)> {
        // A list per worker: a scan of their heads is as quick as a heap.
        let mut best: Option<(usize, &K)> = None;
        for (i, list) in self.lists.iter_mut().enumerate() {
            if let Some((k, _)) = list.peek()
                && best.is_none_or(|(_, b)| k < b)
            {
                best = Some((i, k));
            }
        }
        let at = best?.0;
        let item = self.lists[at].next();
        if self.lists[at].peek().is_none() {
            drop(self.lists.swap_remove(at));
        }
        item
    }

    /// Exact, so that collecting allocates once.
    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.lists.iter().map(|l| l.len()).sum();
        (n, Some(n))
    }
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
        let three = MergeSorted::new(vec![a, Vec::new(), vec![(0, 'c'), (5, 'c')]]);
        assert_eq!(three.size_hint(), (5, Some(5)));
        let keys: Vec<i32> = three.map(|p| p.0).collect();
        assert_eq!(keys, [0, 1, 4, 5, 9]);
    }
}
