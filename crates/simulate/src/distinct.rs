//! Exact distinct counting that keeps up with packet generation.
//!
//! Ground truth needs exact distinct sources and targets per port. One big
//! hash set of (port, address) pairs is exact but misses the cache on
//! nearly every packet. Busy ports take most packets, so a port that turns
//! busy moves to a bitmap over the members' universe (a few KB, hot in
//! cache); quiet ports stay in the shared hash set. Both are exact.

use foldhash::{HashSet, HashSetExt};

/// A fixed-size bitmap that counts its ones as they are set.
#[derive(Debug, Clone)]
pub(crate) struct Bits {
    words: Vec<u64>,
    universe: u64,
    ones: u64,
}

impl Bits {
    pub(crate) fn new(universe: u64) -> Self {
        Bits {
            words: vec![0; universe.div_ceil(64) as usize],
            universe,
            ones: 0,
        }
    }

    /// Sets bit `i`; members outside the universe are ignored.
    pub(crate) fn insert(&mut self, i: u64) {
        if i >= self.universe {
            return;
        }
        if let Some(w) = self.words.get_mut((i / 64) as usize) {
            let bit = 1u64 << (i % 64);
            self.ones += u64::from(*w & bit == 0);
            *w |= bit;
        }
    }

    pub(crate) fn len(&self) -> u64 {
        self.ones
    }
}

/// Distinct members per key, for keys `0..keys` and members `0..universe`.
#[derive(Debug)]
pub(crate) struct PairSet {
    universe: u64,
    hot_after: u64,
    /// Per key: inserts so far, and the bitmap once the key is busy (one
    /// cache line to look at either).
    slots: Vec<(u64, Option<Box<Bits>>)>,
    cold: HashSet<u64>,
}

impl PairSet {
    pub(crate) fn new(keys: usize, universe: u64) -> Self {
        PairSet {
            universe,
            // A bitmap costs universe/8 bytes; a hash entry about 16. Switch
            // once the key has had enough inserts to fill that many entries.
            hot_after: (universe / 128).max(256),
            slots: (0..keys).map(|_| (0, None)).collect(),
            cold: HashSet::new(),
        }
    }

    pub(crate) fn insert(&mut self, key: usize, member: u32) {
        let Some((n, slot)) = self.slots.get_mut(key) else {
            return;
        };
        *n += 1;
        if *n == self.hot_after {
            *slot = Some(Box::new(Bits::new(self.universe)));
        }
        match slot {
            Some(bits) => bits.insert(u64::from(member)),
            None => {
                self.cold.insert(((key as u64) << 32) | u64::from(member));
            }
        }
    }

    /// Distinct members per key.
    pub(crate) fn counts(mut self) -> Vec<u64> {
        let mut counts = vec![0u64; self.slots.len()];
        for pair in self.cold.drain() {
            let (key, member) = ((pair >> 32) as usize, pair as u32);
            match self.slots.get_mut(key) {
                Some((_, Some(bits))) => bits.insert(u64::from(member)),
                _ => {
                    if let Some(c) = counts.get_mut(key) {
                        *c += 1;
                    }
                }
            }
        }
        for (c, (_, bits)) in counts.iter_mut().zip(&self.slots) {
            if let Some(b) = bits {
                *c = b.len();
            }
        }
        counts
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::{BTreeMap, BTreeSet};

    proptest! {
        /// Whatever the mix of cold and hot keys, counts equal a plain set's.
        #[test]
        fn counts_are_exact(pairs in proptest::collection::vec((0usize..4, 0u32..300), 0..3000)) {
            let mut set = PairSet::new(4, 300);
            let mut model: BTreeMap<usize, BTreeSet<u32>> = BTreeMap::new();
            for &(k, m) in &pairs {
                set.insert(k, m);
                model.entry(k).or_default().insert(m);
            }
            for (k, n) in set.counts().into_iter().enumerate() {
                prop_assert_eq!(n, model.get(&k).map_or(0, |s| s.len() as u64));
            }
        }
    }

    #[test]
    fn bits_count_once() {
        let mut b = Bits::new(100);
        for i in [3, 3, 99, 100, 64] {
            b.insert(i);
        }
        assert_eq!(b.len(), 3);
    }
}
