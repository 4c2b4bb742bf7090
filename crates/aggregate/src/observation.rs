//! What aggregation needs of an event, and how workers split the work.

use std::net::IpAddr;

use portwatch_core::{Class, Event, PortKey, Timestamp};
use portwatch_scanners::{Tool, tool_of};
use portwatch_sketch::hash_ip;

use crate::bucket::SeriesKey;

/// An event reduced to what aggregation reads, with both addresses hashed
/// once. Every packet feeds four sketches (distinct sources and targets of
/// its port-minute, distinct targets of its source, and the source map's
/// key); hashing each address once instead of per sketch was the largest
/// single saving on the hot path. It is also small (56 bytes) and owns
/// nothing, so a reader thread can decode into chunks of these and hand them
/// to workers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Observation {
    pub ts: Timestamp,
    pub src: IpAddr,
    /// [`hash_ip`] of `src`.
    pub src_hash: u64,
    /// [`hash_ip`] of the destination.
    pub dst_hash: u64,
    pub class: Class,
    pub key: Option<PortKey>,
    /// Length of the IP packet on the wire.
    pub ip_len: u32,
    /// The scanner's fingerprint ([`tool_of`]); computed here, once, because
    /// it needs the headers that an observation no longer carries.
    pub tool: Tool,
}

impl Observation {
    #[inline]
    pub fn of(ev: &Event<'_>) -> Self {
        Observation {
            ts: ev.ts,
            src: ev.src,
            src_hash: hash_ip(ev.src),
            dst_hash: hash_ip(ev.dst),
            class: ev.class,
            key: ev.key,
            ip_len: ev.ip_len,
            tool: tool_of(ev),
        }
    }
}

/// One of `count` disjoint parts of the aggregation, so that several workers
/// can each see every event and still never hold the same key.
///
/// Source-days (and the record counts) are split by source address, port
/// minutes by (class, port, minute). Since the parts never share a key, the
/// batches they drain are simply concatenated: no per-source or per-bucket
/// state is merged across workers, and the result equals one aggregator
/// that saw everything (`tests/merge.rs` checks this).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    index: u32,
    count: u32,
}

impl Default for Shard {
    fn default() -> Self {
        Shard::WHOLE
    }
}

impl Shard {
    /// Everything: the only part of a split into one.
    pub const WHOLE: Shard = Shard { index: 0, count: 1 };

    /// Part `index` of `count`; `None` unless `index < count <= 2^32 - 1`.
    pub fn new(index: usize, count: usize) -> Option<Shard> {
        let (index, count) = (u32::try_from(index).ok()?, u32::try_from(count).ok()?);
        (index < count).then_some(Shard { index, count })
    }

    pub fn index(&self) -> usize {
        self.index as usize
    }

    pub fn count(&self) -> usize {
        self.count as usize
    }

    /// Whether this part keeps the source state (and counts the record) of `o`.
    #[inline]
    pub fn owns_source(&self, o: &Observation) -> bool {
        self.count == 1 || self.source_part(o) == self.index
    }

    /// Whether this part keeps the bucket `key`.
    #[inline]
    pub fn owns_minute(&self, key: &SeriesKey) -> bool {
        self.count == 1 || self.minute_part(key) == self.index
    }

    /// The parts of this split that need `o`: the one keeping its source,
    /// and the one keeping its port-minute if that is another (or `None`
    /// when it has no port-minute). A reader can hand each part only these.
    #[inline]
    pub fn parts_of(&self, o: &Observation) -> (usize, Option<usize>) {
        if self.count == 1 {
            return (0, None);
        }
        let source = self.source_part(o);
        let minute = SeriesKey::of(o)
            .map(|key| self.minute_part(&key))
            .filter(|&m| m != source);
        (source as usize, minute.map(|m| m as usize))
    }

    #[inline]
    fn source_part(&self, o: &Observation) -> u32 {
        // The high half of the hash: the source map indexes by the low bits.
        self.pick(o.src_hash >> 32)
    }

    /// The part that keeps the source state of `addr`.
    #[inline]
    pub fn source_part_of(&self, addr: IpAddr) -> usize {
        self.pick(hash_ip(addr) >> 32) as usize
    }

    #[inline]
    fn minute_part(&self, key: &SeriesKey) -> u32 {
        let k = u64::from(key.port.port)
            | u64::from(key.port.proto.number()) << 16
            | (key.class as u64) << 24
            | (key.start as u64) << 25;
        self.pick(mix(k) >> 32)
    }

    /// Maps a 32-bit value onto 0..count without a division.
    #[inline]
    fn pick(&self, x: u64) -> u32 {
        (((x & 0xffff_ffff) * u64::from(self.count)) >> 32) as u32
    }
}

/// A cheap, well-spread 64-bit mix (the splitmix64 finalizer).
#[inline]
pub(crate) fn mix(x: u64) -> u64 {
    let mut z = x;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SeriesClass;
    use portwatch_core::Proto;

    #[test]
    fn shards_cover_every_key_once() {
        let shards: Vec<Shard> = (0..3).map(|i| Shard::new(i, 3).unwrap()).collect();
        assert!(Shard::new(3, 3).is_none());
        let mut per = [0usize; 3];
        for port in 0..3000u16 {
            let key = SeriesKey {
                class: SeriesClass::Probe,
                port: PortKey::new(Proto::Tcp, port),
                start: 1_700_000_040,
            };
            let owners: Vec<usize> = (0..3).filter(|&i| shards[i].owns_minute(&key)).collect();
            assert_eq!(owners.len(), 1);
            per[owners[0]] += 1;
            let o = Observation {
                ts: Timestamp::from_secs(1_700_000_040),
                src: IpAddr::from([192, 0, 2, port as u8]),
                src_hash: hash_ip(IpAddr::from(u32::from(port).to_be_bytes())),
                dst_hash: 0,
                class: Class::Probe,
                key: Some(key.port),
                ip_len: 40,
                tool: Tool::Unknown,
            };
            assert_eq!((0..3).filter(|&i| shards[i].owns_source(&o)).count(), 1);
            // The parts a reader hands `o` to are exactly those that keep
            // some of it.
            let o = Observation {
                ts: Timestamp::from_secs(key.start),
                ..o
            };
            let (source, minute) = shards[0].parts_of(&o);
            let mut needed: Vec<usize> = (0..3)
                .filter(|&i| shards[i].owns_source(&o) || shards[i].owns_minute(&key))
                .collect();
            needed.sort_unstable();
            let mut given: Vec<usize> = std::iter::once(source).chain(minute).collect();
            given.sort_unstable();
            assert_eq!(given, needed);
            assert!(Shard::WHOLE.owns_source(&o) && Shard::WHOLE.owns_minute(&key));
        }
        // Roughly even: no part gets less than a quarter.
        assert!(per.iter().all(|&n| n > 750), "{per:?}");
    }
}
