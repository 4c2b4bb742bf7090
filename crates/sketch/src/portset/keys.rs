//! A sorted list of packed port keys whose first few live inline: most
//! sources touch one port, and a set per source must not cost an allocation.

use std::ops::{Deref, Range};

const INLINE: usize = 6;

#[derive(Clone, Debug)]
pub(super) enum SortedKeys {
    Inline { len: u8, keys: [u32; INLINE] },
    Heap(Vec<u32>),
}

impl Default for SortedKeys {
    fn default() -> Self {
        SortedKeys::Inline {
            len: 0,
            keys: [0; INLINE],
        }
    }
}

impl PartialEq for SortedKeys {
    fn eq(&self, other: &Self) -> bool {
        self[..] == other[..]
    }
}

impl Eq for SortedKeys {}

impl Deref for SortedKeys {
    type Target = [u32];

    fn deref(&self) -> &[u32] {
        match self {
            SortedKeys::Inline { len, keys } => &keys[..usize::from(*len)],
            SortedKeys::Heap(v) => v,
        }
    }
}

impl From<Vec<u32>> for SortedKeys {
    fn from(v: Vec<u32>) -> Self {
        if v.len() <= INLINE {
            let mut keys = [0; INLINE];
            keys[..v.len()].copy_from_slice(&v);
            SortedKeys::Inline {
                len: v.len() as u8,
                keys,
            }
        } else {
            SortedKeys::Heap(v)
        }
    }
}

impl SortedKeys {
    /// Inserts `k` at `pos`, which must keep the list sorted.
    pub(super) fn insert(&mut self, pos: usize, k: u32) {
        match self {
            SortedKeys::Inline { len, keys } if usize::from(*len) < INLINE => {
                let n = usize::from(*len);
                keys.copy_within(pos..n, pos + 1);
                keys[pos] = k;
                *len += 1;
            }
            SortedKeys::Inline { keys, .. } => {
                let mut v = Vec::with_capacity(2 * INLINE);
                v.extend_from_slice(&keys[..pos]);
                v.push(k);
                v.extend_from_slice(&keys[pos..]);
                *self = SortedKeys::Heap(v);
            }
            SortedKeys::Heap(v) => v.insert(pos, k),
        }
    }

    /// Removes and returns the keys in `range`.
    pub(super) fn take_range(&mut self, range: Range<usize>) -> Vec<u32> {
        match self {
            SortedKeys::Inline { len, keys } => {
                let taken = keys[range.clone()].to_vec();
                keys.copy_within(range.end..usize::from(*len), range.start);
                *len -= taken.len() as u8;
                keys[usize::from(*len)..].fill(0);
                taken
            }
            SortedKeys::Heap(v) => {
                let taken = v.drain(range).collect();
                // What is left belongs to other protocols and is usually
                // small: give the memory back.
                *self = std::mem::take(v).into();
                if let SortedKeys::Heap(rest) = self {
                    rest.shrink_to_fit();
                }
                taken
            }
        }
    }

    pub(super) fn heap_bytes(&self) -> usize {
        match self {
            SortedKeys::Inline { .. } => 0,
            SortedKeys::Heap(v) => v.capacity() * 4,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spills_to_the_heap_and_stays_sorted() {
        let mut k = SortedKeys::default();
        for x in [50u32, 10, 40, 20, 30, 60, 5] {
            let pos = k.partition_point(|&y| y < x);
            k.insert(pos, x);
        }
        assert_eq!(&k[..], [5, 10, 20, 30, 40, 50, 60]);
        assert!(k.heap_bytes() > 0);
        assert_eq!(k.take_range(1..3), [10, 20]);
        assert_eq!(k, SortedKeys::from(vec![5, 30, 40, 50, 60]));
        assert_eq!(k.heap_bytes(), 0);
        let mut small = SortedKeys::from(vec![1, 2, 3]);
        assert_eq!(small.heap_bytes(), 0);
        assert_eq!(small.take_range(0..1), [1]);
        assert_eq!(&small[..], [2, 3]);
    }
}
