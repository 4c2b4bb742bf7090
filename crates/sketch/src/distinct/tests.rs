use super::*;

fn counter(hashes: impl IntoIterator<Item = u64>) -> DistinctCounter {
    let mut c = DistinctCounter::new();
    for h in hashes {
        c.insert_hash(h);
    }
    c
}

#[test]
fn small_counts_are_exact_and_ignore_duplicates() {
    let c = counter([5, 3, 5, 9, 3]);
    assert!(c.is_exact());
    assert_eq!(c.estimate(), 3);
    assert_eq!(c.heap_bytes(), 0);
    assert_eq!(DistinctCounter::new().estimate(), 0);
}

#[test]
fn sparse_bytes_are_pinned() {
    let c = counter([2, 1]);
    assert_eq!(
        c.to_bytes(),
        [
            1, 0x11, 2, 0, //
            1, 0, 0, 0, 0, 0, 0, 0, //
            2, 0, 0, 0, 0, 0, 0, 0,
        ]
    );
    assert_eq!(DistinctCounter::from_bytes(&c.to_bytes()).unwrap(), c);
    assert_eq!(DistinctCounter::new().to_bytes(), [1, 0x11, 0, 0]);
}

#[test]
fn rejects_bad_bytes() {
    let bad: &[(&[u8], &str)] = &[
        (&[], "truncated"),
        (&[2, 0x11, 0, 0], "version"),
        (&[1, 0x21, 0, 0], "kind"),
        (&[1, 0x11, 1, 0, 1, 2], "truncated"),
        (&[1, 0x11, 0, 0, 7], "trailing"),
        (
            &[
                1, 0x11, 2, 0, 2, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0,
            ],
            "ascending",
        ),
        (&[1, 0x11, 0xff, 0xff], "more hashes"),
        (&[1, 0x12, 12], "precision"),
    ];
    for (bytes, needle) in bad {
        let err = DistinctCounter::from_bytes(bytes).unwrap_err().to_string();
        assert!(err.contains(needle), "{bytes:?}: {err}");
    }
}

#[test]
fn crosses_to_dense_exactly_past_the_limit() {
    let limit = DistinctCounter::SPARSE_LIMIT as u64;
    let mut c = counter((0..limit).map(|i| xxhash_rust::xxh3::xxh3_64(&i.to_le_bytes())));
    assert!(c.is_exact());
    assert_eq!(c.estimate(), limit);
    assert!(c.to_bytes().len() <= 3 + hll::PACKED_LEN);
    c.insert_hash(xxhash_rust::xxh3::xxh3_64(&limit.to_le_bytes()));
    assert!(!c.is_exact());
    assert_eq!(c.to_bytes().len(), 3 + hll::PACKED_LEN);
    let e = c.estimate() as f64;
    assert!((e / (limit + 1) as f64 - 1.0).abs() < 0.03, "estimate {e}");
    assert_eq!(DistinctCounter::from_bytes(&c.to_bytes()).unwrap(), c);
}

#[test]
fn prefetch_asks_for_what_the_insert_reads_and_changes_nothing() {
    // Low bits 200: past the slots 1..=100 that the table's own hashes take.
    let h = 0x9e37_79b9_7f4a_00c8u64;
    // Inline: nothing on the heap to ask for.
    let small = counter([1, 2]);
    small.prefetch(h);
    assert_eq!(small, counter([2, 1]));
    // Table: the slot the insert probes first, which holds `h` once it is in.
    let mut table = counter(1..=100);
    table.insert_hash(h);
    let Repr::Table(t) = &table.repr else {
        panic!("100 hashes are kept in a table");
    };
    assert_eq!(*t.first_slot(h), h);
    let before = table.clone();
    table.prefetch(h ^ 1);
    assert_eq!(table, before);
    // Dense: the register `h` lands in, which is nonzero once `h` is in.
    let mut dense = counter((1..=5000u64).map(|i| i.wrapping_mul(0xff51_afd7_ed55_8ccd)));
    dense.insert_hash(h);
    let Repr::Dense(regs) = &dense.repr else {
        panic!("5000 hashes are dense");
    };
    assert_ne!(*regs.register(h), 0);
    let before = dense.clone();
    dense.prefetch(h ^ 1);
    assert_eq!(dense, before);
}
