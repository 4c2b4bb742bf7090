//! In-memory footprint: what a live summary costs, pinned so growth is a
//! deliberate choice. Run with `--nocapture` to see the table.

use std::mem::size_of;

use portwatch_core::{PortKey, Proto};
use portwatch_sketch::{DistinctCounter, PortSet, TopK};

mod common;
use common::{addr, counter_of, mix};

#[test]
fn distinct_counter_sizes() {
    let sizes: Vec<(usize, usize)> = [0usize, 1, 8, 9, 1000, 100_000]
        .into_iter()
        .map(|n| {
            let c = counter_of((0..n as u64).map(mix));
            eprintln!(
                "DistinctCounter with {n:>6}: {} + {} heap bytes",
                size_of::<DistinctCounter>(),
                c.heap_bytes()
            );
            (n, c.heap_bytes())
        })
        .collect();
    assert_eq!(size_of::<DistinctCounter>(), 72);
    // Up to eight hashes inline, then a table at load <= 3/4, then registers.
    assert_eq!(
        sizes,
        [
            (0, 0),
            (1, 0),
            (8, 0),
            (9, 128),
            (1000, 16384),
            (100_000, 16384)
        ]
    );
}

#[test]
fn top_k_and_port_set_sizes() {
    let mut t = TopK::new(TopK::DEFAULT_CAPACITY);
    assert_eq!(t.heap_bytes(), 0);
    // Most port-minutes see one source: that one is kept inline.
    t.add(addr(0), 1);
    assert_eq!(t.heap_bytes(), 0);
    for i in 0..100 {
        t.add(addr(i), 1);
    }
    let mut p = PortSet::new();
    p.insert(PortKey::new(Proto::Tcp, 23));
    let one = p.heap_bytes();
    for port in 0..4000 {
        p.insert(PortKey::new(Proto::Tcp, port));
    }
    eprintln!(
        "TopK: {} + {} heap bytes at capacity 32",
        size_of::<TopK>(),
        t.heap_bytes()
    );
    eprintln!(
        "PortSet: {} bytes, {one} heap with one port, {} with a TCP bitmap",
        size_of::<PortSet>(),
        p.heap_bytes()
    );
    assert_eq!(one, 0);
    // 16 of them remember the next eviction (see `TopK::add`).
    assert_eq!(size_of::<TopK>(), 80);
    assert_eq!(t.heap_bytes(), 32 * 40);
    // The bitmap, the list of bitmaps and the box that holds it.
    assert_eq!(p.heap_bytes(), 8192 + 4 * 16 + 24);
    // Five cache lines to a source-day at 56 bytes, four at 40.
    assert_eq!(size_of::<PortSet>(), 40);
}
