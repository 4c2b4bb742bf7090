//! The middle form: an open-addressing set of 64-bit hashes.
//!
//! Busy ports hold hundreds of distinct sources a minute and see most packets,
//! so the exact form must answer "already seen?" in a probe or two rather
//! than a binary search. The hashes are uniformly distributed already, so
//! their low bits index the table directly (the dense form uses the high
//! bits, which does not matter here).

/// A set of `u64` with linear probing. Zero marks an empty slot, so the
/// value zero itself is kept in a flag.
#[derive(Clone)]
pub(crate) struct HashTable {
    slots: Box<[u64]>,
    len: u32,
    has_zero: bool,
}

impl std::fmt::Debug for HashTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "HashTable {{ len: {}, slots: {} }}",
            self.len(),
            self.slots.len()
        )
    }
}

/// Equal as sets, whatever the slot layout or capacity.
impl PartialEq for HashTable {
    fn eq(&self, other: &Self) -> bool {
        self.len == other.len
            && self.has_zero == other.has_zero
            && self.iter().all(|h| other.contains(h))
    }
}

impl Eq for HashTable {}

impl HashTable {
    /// A table sized for `n` hashes at a load of at most 3/4.
    pub(crate) fn with_capacity(n: usize) -> Self {
        let slots = (n * 4 / 3 + 1).next_power_of_two().max(16);
        HashTable {
            slots: vec![0; slots].into_boxed_slice(),
            len: 0,
            has_zero: false,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.len as usize + usize::from(self.has_zero)
    }

    /// The slot holding `h`, or the empty slot where it would go.
    #[inline]
    fn find(&self, h: u64) -> usize {
        let mask = self.slots.len() - 1;
        let mut i = h as usize & mask;
        loop {
            let s = self.slots[i];
            if s == h || s == 0 {
                return i;
            }
            i = (i + 1) & mask;
        }
    }

    /// The slot an insert of `h` looks at first (see
    /// [`super::DistinctCounter::prefetch`]).
    #[inline]
    pub(crate) fn first_slot(&self, h: u64) -> &u64 {
        &self.slots[h as usize & (self.slots.len() - 1)]
    }

    pub(crate) fn contains(&self, h: u64) -> bool {
        if h == 0 {
            return self.has_zero;
        }
        self.slots[self.find(h)] == h
    }

    /// Adds `h` unless present or the set already holds `limit` hashes;
    /// returns false only in that last case, so the caller can switch forms.
    #[inline]
    pub(crate) fn insert(&mut self, h: u64, limit: usize) -> bool {
        if h == 0 {
            if !self.has_zero && self.len() >= limit {
                return false;
            }
            self.has_zero = true;
            return true;
        }
        let i = self.find(h);
        if self.slots[i] == h {
            return true;
        }
        if self.len() >= limit {
            return false;
        }
        self.slots[i] = h;
        self.len += 1;
        if self.len as usize * 4 > self.slots.len() * 3 {
            self.grow();
        }
        true
    }

    /// Quadruples small tables, doubles the rest. A busy port's set of
    /// sources starts anew every minute and climbs from 16 slots to a
    /// thousand; rehashing on the way cost ~3% of aggregation when every
    /// step doubled. Past 256 slots tables still double: quadrupling them
    /// too (the target sets of busy source-days among them) cost 10% more
    /// peak memory on the benchmark and no less time.
    fn grow(&mut self) {
        let factor = if self.slots.len() < 256 { 4 } else { 2 };
        let grown = vec![0; self.slots.len() * factor].into_boxed_slice();
        let old = std::mem::replace(&mut self.slots, grown);
        for h in old.iter().copied().filter(|&h| h != 0) {
            let i = self.find(h);
            self.slots[i] = h;
        }
    }

    /// Every hash, in no particular order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = u64> + '_ {
        let zero = self.has_zero.then_some(0);
        zero.into_iter()
            .chain(self.slots.iter().copied().filter(|&h| h != 0))
    }

    pub(crate) fn heap_bytes(&self) -> usize {
        self.slots.len() * 8
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_zero_and_colliding_hashes_and_grows() {
        let mut t = HashTable::with_capacity(9);
        assert_eq!(t.heap_bytes(), 16 * 8);
        // All land in slot 0 of a 16-slot table.
        for h in [0u64, 16, 32, 48, 16, 0] {
            assert!(t.insert(h, 100));
        }
        assert_eq!(t.len(), 4);
        for h in 1..=20u64 {
            t.insert(h << 20, 100);
        }
        assert_eq!(t.len(), 24);
        // Small tables quadruple.
        assert_eq!(t.heap_bytes(), 64 * 8);
        assert!(t.contains(0) && t.contains(48) && t.contains(20 << 20) && !t.contains(1));
        let mut all: Vec<u64> = t.iter().collect();
        all.sort_unstable();
        assert_eq!(&all[..4], [0, 16, 32, 48]);
        // 64 -> 256 at 49 hashes, then doubling: 256 -> 512 at 193.
        for h in 21..=200u64 {
            t.insert(h << 20, 1000);
        }
        assert_eq!(t.len(), 204);
        assert_eq!(t.heap_bytes(), 512 * 8);
        assert!((1..=200u64).all(|h| t.contains(h << 20)));
    }

    #[test]
    fn refuses_past_the_limit_and_compares_as_sets() {
        let mut a = HashTable::with_capacity(9);
        let mut b = HashTable::with_capacity(1000);
        for h in 1..=3u64 {
            assert!(a.insert(h, 3));
            assert!(b.insert(4 - h, 3));
        }
        assert!(!a.insert(9, 3));
        assert!(!a.insert(0, 3));
        assert!(a.insert(2, 3));
        assert_eq!(a, b);
        b.insert(0, 4);
        assert_ne!(a, b);
    }
}
