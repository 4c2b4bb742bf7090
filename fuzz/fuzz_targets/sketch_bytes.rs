#![no_main]
//! Any bytes through every summary reader: none may panic, and whatever one
//! accepts must serialize back to exactly the same bytes and merge with
//! itself without changing.

use portwatch_sketch::{DistinctCounter, PortSet, TopK};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(c) = DistinctCounter::from_bytes(data) {
        assert_eq!(c.to_bytes(), data);
        let mut twice = c.clone();
        twice.merge(&c);
        assert_eq!(twice, c);
        let _ = c.estimate();
    }
    if let Ok(t) = TopK::from_bytes(data) {
        assert_eq!(t.to_bytes(), data);
        let _ = t.top(usize::MAX);
    }
    if let Ok(s) = PortSet::from_bytes(data) {
        assert_eq!(s.to_bytes(), data);
        let mut twice = s.clone();
        twice.merge(&s);
        assert_eq!(twice, s);
    }
});
