//! Exact per-port counting that keeps up with packet generation.
//!
//! Ground truth needs exact packets, distinct sources and distinct targets
//! per port. One big hash set of (port, address) pairs is exact but misses
//! the cache on nearly every packet. Busy ports take most packets, so a
//! port that turns busy moves to a bitmap over the members' universe (a
//! few KB, hot in cache); quiet ports stay in one shared hash set. Each
//! port's counters and bitmap handles sit together in one slot, so a packet
//! touches one slot. Both paths are exact.

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

/// The distinct sets kept per port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Set {
    ProbeSources = 0,
    ProbeTargets = 1,
    BackscatterSources = 2,
}

/// One port's counters, and which bitmap (index + 1) holds each of its
/// distinct sets once it is busy.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Slot {
    pub probe_background: u64,
    pub probe_campaign: u64,
    pub backscatter: u64,
    bitmaps: [u32; 3],
}

impl Slot {
    fn offered(&self, set: Set) -> u64 {
        match set {
            Set::BackscatterSources => self.backscatter,
            _ => self.probe_background + self.probe_campaign,
        }
    }
}

#[derive(Debug)]
pub(crate) struct PortTable {
    slots: Vec<Slot>,
    bitmaps: Vec<Bits>,
    cold: HashSet<u64>,
    /// Members of each set are below these.
    universes: [u64; 3],
}

impl PortTable {
    /// `keys` ports; sources below `sources`, targets below `targets`.
    pub(crate) fn new(keys: usize, sources: u64, targets: u64) -> Self {
        PortTable {
            slots: vec![Slot::default(); keys],
            bitmaps: Vec::new(),
            cold: HashSet::new(),
            universes: [sources, targets, sources],
        }
    }

    /// Counts a probe to port `key` from `src` to darknet offset `target`
    /// (`None` for IPv6 targets, which the caller counts itself).
    pub(crate) fn probe(&mut self, key: usize, campaign: bool, src: u32, target: Option<u32>) {
        let Some(slot) = self.slots.get_mut(key) else {
            return;
        };
        if campaign {
            slot.probe_campaign += 1;
        } else {
            slot.probe_background += 1;
        }
        self.member(key, Set::ProbeSources, src);
        if let Some(t) = target {
            self.member(key, Set::ProbeTargets, t);
        }
    }

    pub(crate) fn backscatter(&mut self, key: usize, src: u32) {
        if let Some(slot) = self.slots.get_mut(key) {
            slot.backscatter += 1;
            self.member(key, Set::BackscatterSources, src);
        }
    }

    fn member(&mut self, key: usize, set: Set, member: u32) {
        let Some(slot) = self.slots.get_mut(key) else {
            return;
        };
        let s = set as usize;
        let universe = self.universes[s];
        // A bitmap costs universe/8 bytes, a hash entry about 16: switch
        // once the port has had enough packets to fill that many entries.
        if slot.bitmaps[s] == 0 && slot.offered(set) >= (universe / 128).max(256) {
            self.bitmaps.push(Bits::new(universe));
            slot.bitmaps[s] = self.bitmaps.len() as u32;
        }
        match slot.bitmaps[s].checked_sub(1) {
            Some(b) => {
                if let Some(bits) = self.bitmaps.get_mut(b as usize) {
                    bits.insert(u64::from(member));
                }
            }
            None => {
                self.cold
                    .insert(((s as u64) << 56) | ((key as u64) << 32) | u64::from(member));
            }
        }
    }

    /// (port, slot, distinct counts) of every port that saw a packet, in
    /// port order.
    pub(crate) fn finish(mut self) -> Vec<(usize, Slot, [u64; 3])> {
        let mut used: Vec<(usize, Slot, [u64; 3])> = self
            .slots
            .iter()
            .enumerate()
            .filter(|(_, s)| s.probe_background + s.probe_campaign + s.backscatter > 0)
            .map(|(k, s)| (k, *s, [0; 3]))
            .collect();
        // Where each port sits in `used`, so the cold entries find theirs.
        let mut position = vec![u32::MAX; self.slots.len()];
        for (i, u) in used.iter().enumerate() {
            if let Some(p) = position.get_mut(u.0) {
                *p = i as u32;
            }
        }
        for entry in self.cold.drain() {
            let (s, key, member) = (
                (entry >> 56) as usize,
                ((entry >> 32) & 0xff_ffff) as usize,
                entry as u32,
            );
            let Some(u) = position.get(key).and_then(|&i| used.get_mut(i as usize)) else {
                continue;
            };
            match u.1.bitmaps[s].checked_sub(1) {
                Some(b) => {
                    if let Some(bits) = self.bitmaps.get_mut(b as usize) {
                        bits.insert(u64::from(member));
                    }
                }
                None => u.2[s] += 1,
            }
        }
        for (_, slot, counts) in &mut used {
            for (s, b) in slot.bitmaps.iter().enumerate() {
                if let Some(bits) = b.checked_sub(1).and_then(|b| self.bitmaps.get(b as usize)) {
                    counts[s] = bits.len();
                }
            }
        }
        used
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::{BTreeMap, BTreeSet};

    proptest! {
        /// Whatever the mix of quiet and busy ports, counts equal a plain
        /// set's.
        #[test]
        fn counts_are_exact(ops in proptest::collection::vec((0usize..4, any::<bool>(), 0u32..300, 0u32..300), 0..3000)) {
            let mut table = PortTable::new(4, 300, 300);
            let mut model: BTreeMap<(usize, usize), BTreeSet<u32>> = BTreeMap::new();
            let mut packets = [0u64; 4];
            for &(k, probe, src, tgt) in &ops {
                if probe {
                    table.probe(k, src % 2 == 0, src, Some(tgt));
                    model.entry((k, 0)).or_default().insert(src);
                    model.entry((k, 1)).or_default().insert(tgt);
                    packets[k] += 1;
                } else {
                    table.backscatter(k, src);
                    model.entry((k, 2)).or_default().insert(src);
                }
            }
            let done = table.finish();
            prop_assert!(done.windows(2).all(|w| w[0].0 < w[1].0));
            for (k, &sent) in packets.iter().enumerate() {
                let (slot, counts) = done
                    .iter()
                    .find(|u| u.0 == k)
                    .map_or((Slot::default(), [0; 3]), |u| (u.1, u.2));
                prop_assert_eq!(slot.probe_background + slot.probe_campaign, sent);
                for (s, n) in counts.into_iter().enumerate() {
                    prop_assert_eq!(n, model.get(&(k, s)).map_or(0, |m| m.len() as u64));
                }
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
