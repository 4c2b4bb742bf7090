//! Identical payloads clustered by hash, with counts.
//!
//! A scanning wave sends the same few payloads thousands of times; keeping
//! one sample and a count per distinct payload is what a report needs, and
//! it is bounded. Clusters merge by adding counts (rule 2 of the design), so
//! sensors can cluster locally and a collector can combine them.

use std::collections::HashMap;

use serde::Serialize;
use xxhash_rust::xxh3::xxh3_64;

use crate::escape::escape_bytes;

/// One distinct payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Cluster {
    /// xxh3-64 of the full payload.
    pub hash: u64,
    pub count: u64,
    /// Length of the full payload.
    pub len: usize,
    /// The payload's first bytes (up to the set's sample size).
    #[serde(skip)]
    pub sample: Vec<u8>,
    /// First and last time seen, in whatever unit the caller uses (portwatch
    /// passes Unix seconds).
    pub first_seen: i64,
    pub last_seen: i64,
}

impl Cluster {
    /// The sample rendered safely (see [`Escaped`](crate::Escaped)).
    pub fn sample_escaped(&self) -> String {
        escape_bytes(&self.sample)
    }
}

/// Payload clusters with a cap on how many distinct payloads are kept.
#[derive(Debug, Clone)]
pub struct PayloadClusters {
    clusters: HashMap<u64, Cluster>,
    max_clusters: usize,
    sample_len: usize,
    /// Payloads not kept because the cap was reached (counted, rule 4).
    overflow: u64,
}

impl PayloadClusters {
    /// Keeps at most `max_clusters` distinct payloads and `sample_len` bytes
    /// of each.
    pub fn new(max_clusters: usize, sample_len: usize) -> Self {
        PayloadClusters {
            clusters: HashMap::new(),
            max_clusters,
            sample_len,
            overflow: 0,
        }
    }

    /// Counts one payload seen at `ts`; returns its hash, or `None` when it
    /// is new and the cap is reached (then it is counted as overflow).
    pub fn observe(&mut self, payload: &[u8], ts: i64) -> Option<u64> {
        let hash = xxh3_64(payload);
        if let Some(c) = self.clusters.get_mut(&hash) {
            c.count += 1;
            c.first_seen = c.first_seen.min(ts);
            c.last_seen = c.last_seen.max(ts);
            return Some(hash);
        }
        if self.clusters.len() >= self.max_clusters {
            self.overflow += 1;
            return None;
        }
        let sample = payload[..payload.len().min(self.sample_len)].to_vec();
        let cluster = Cluster {
            hash,
            count: 1,
            len: payload.len(),
            sample,
            first_seen: ts,
            last_seen: ts,
        };
        self.clusters.insert(hash, cluster);
        Some(hash)
    }

    /// Adds another set's clusters into this one (same cap applies).
    pub fn merge(&mut self, other: &PayloadClusters) {
        self.overflow += other.overflow;
        for c in other.clusters.values() {
            if let Some(mine) = self.clusters.get_mut(&c.hash) {
                mine.count += c.count;
                mine.first_seen = mine.first_seen.min(c.first_seen);
                mine.last_seen = mine.last_seen.max(c.last_seen);
            } else if self.clusters.len() < self.max_clusters {
                self.clusters.insert(c.hash, c.clone());
            } else {
                self.overflow += c.count;
            }
        }
    }

    pub fn get(&self, hash: u64) -> Option<&Cluster> {
        self.clusters.get(&hash)
    }

    pub fn len(&self) -> usize {
        self.clusters.len()
    }

    pub fn is_empty(&self) -> bool {
        self.clusters.is_empty()
    }

    pub fn overflow(&self) -> u64 {
        self.overflow
    }

    /// Clusters by count, largest first (ties by hash, so output is stable).
    pub fn by_count(&self) -> Vec<&Cluster> {
        let mut v: Vec<&Cluster> = self.clusters.values().collect();
        v.sort_by(|a, b| b.count.cmp(&a.count).then(a.hash.cmp(&b.hash)));
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identical_payloads_share_a_cluster() {
        let mut c = PayloadClusters::new(2, 4);
        c.observe(b"stats\r\n", 10);
        c.observe(b"stats\r\n", 5);
        c.observe(b"version\r\n", 7);
        assert_eq!(c.observe(b"third", 8), None);
        let top = c.by_count();
        assert_eq!(top[0].count, 2);
        assert_eq!((top[0].first_seen, top[0].last_seen), (5, 10));
        assert_eq!(top[0].sample, b"stat");
        assert_eq!(top[0].len, 7);
        assert_eq!(c.overflow(), 1);
    }

    #[test]
    fn merge_equals_observing_everything() {
        let payloads: Vec<&[u8]> = vec![b"a", b"b", b"a", b"c", b"a", b"b"];
        let mut whole = PayloadClusters::new(10, 16);
        for (i, p) in payloads.iter().enumerate() {
            whole.observe(p, i as i64);
        }
        let (mut left, mut right) = (PayloadClusters::new(10, 16), PayloadClusters::new(10, 16));
        for (i, p) in payloads.iter().enumerate() {
            if i % 2 == 0 {
                left.observe(p, i as i64)
            } else {
                right.observe(p, i as i64)
            };
        }
        left.merge(&right);
        assert_eq!(left.by_count(), whole.by_count());
    }
}
