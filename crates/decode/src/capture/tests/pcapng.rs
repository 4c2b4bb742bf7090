//! pcapng: sections, interfaces, block types, truncation and damage.

use super::*;

#[test]
fn pcapng_sections_interfaces_and_resolutions() {
    let units: u64 = u64::from(T0) * 1_000_000 + 1;
    let mut file = shb(false);
    file.extend(idb(false, 1, 0, &[]));
    // Nanosecond interface on raw IP with a snaplen, then a 2^-10 s interface
    // with a one-hour offset; the options list ends with opt_endofopt.
    let ns_opts = [
        option(false, 2, b"eth1"),
        option(false, 9, &[9]),
        option(false, 0, &[]),
    ]
    .concat();
    file.extend(idb(false, 101, 128, &ns_opts));
    let pow2_opts = [
        option(false, 9, &[0x80 | 10]),
        option(false, 14, &3600i64.to_le_bytes()),
    ]
    .concat();
    file.extend(idb(false, 113, 0, &pow2_opts));
    let first = file.len() as u64;
    file.extend(epb(false, 0, units, &[1, 2, 3, 4, 5], 60));
    file.extend(block(false, 4, &[0u8; 16])); // name resolution block: skipped
    file.extend(epb(false, 1, u64::from(T0) * 1_000_000_000 + 7, &[9; 8], 8));
    file.extend(block(false, 5, &[0u8; 12])); // interface statistics: skipped
    file.extend(epb(false, 2, u64::from(T0) * 1024 + 512, &[7; 3], 3));
    // Simple packet block: interface 0, no timestamp, data padded.
    file.extend(block(
        false,
        3,
        &[&61u32.to_le_bytes()[..], &[6; 61]].concat(),
    ));
    file.extend(block(false, 0x0BAD, &[1, 2, 3, 4, 5, 6, 7, 8])); // custom: skipped
    file.extend(block(false, 0x8000_0001, &[])); // local use: skipped
    // A second, big-endian section: interfaces start over.
    let second = file.len() as u64;
    file.extend(shb(true));
    file.extend(idb(true, 228, 0, &[]));
    file.extend(epb(true, 0, units + 2, &[4; 20], 20));
    // Obsolete packet block (type 2) with a 16-bit interface id.
    let pb_body = [
        &[0, 0, 0, 0][..],
        &((units + 3) >> 32).to_be_bytes()[4..],
        &((units + 3) as u32).to_be_bytes(),
        &u32b(2, true),
        &u32b(2, true),
        &[5, 5],
    ]
    .concat();
    file.extend(block(true, 2, &pb_body));

    let mut reader = CaptureReader::new(&file[..]).unwrap();
    assert_eq!(reader.format(), CaptureFormat::Pcapng);
    let (mut got, mut offsets) = (Vec::new(), Vec::new());
    while let Some(r) = reader.next_record() {
        let r = r.unwrap();
        got.push((
            r.ts.nanos(),
            r.link_type.0,
            r.data.to_vec(),
            r.orig_len,
            r.interface,
        ));
        offsets.push(r.offset);
    }
    let t0 = i64::from(T0) * 1_000_000_000;
    assert_eq!(got.len(), 6);
    assert_eq!(got[0], (t0 + 1000, 1, vec![1, 2, 3, 4, 5], 60, 0));
    assert_eq!(offsets[0], first);
    assert_eq!(got[1], (t0 + 7, 101, vec![9; 8], 8, 1));
    assert_eq!(
        got[2],
        (t0 + 3_600_000_000_000 + 500_000_000, 113, vec![7; 3], 3, 2)
    );
    // The simple packet block takes the previous timestamp, interface 0's
    // link type, and no more than its orig_len of the padded data.
    assert_eq!(got[3], (got[2].0, 1, vec![6; 61], 61, 0));
    assert_eq!(got[4], (t0 + 3000, 228, vec![4; 20], 20, 0));
    assert_eq!(offsets[4], second + 28 + 20);
    assert_eq!(got[5], (t0 + 4000, 228, vec![5, 5], 2, 0));
    assert_eq!(reader.bytes_consumed(), file.len() as u64);
}

#[test]
fn pcapng_simple_packet_block_respects_snaplen_and_needs_an_interface() {
    let mut file = shb(true);
    let spb = block(true, 3, &[&100u32.to_be_bytes()[..], &[3; 100]].concat());
    file.extend(spb.clone());
    file.extend(idb(true, 1, 64, &[]));
    file.extend(spb);
    let mut reader = CaptureReader::new(&file[..]).unwrap();
    let e = reader.next_record().unwrap().unwrap_err();
    assert!(
        matches!(
            e,
            CaptureError::UndefinedInterface {
                offset: 28,
                interface: 0
            }
        ),
        "{e}"
    );
    let r = reader.next_record().unwrap().unwrap();
    assert_eq!(
        (r.data.len(), r.orig_len, r.ts),
        (64, 100, Timestamp::from_nanos(0))
    );
}

#[test]
fn pcapng_undefined_interface_is_reported_and_skipped() {
    let mut file = shb(false);
    file.extend(idb(false, 1, 0, &[]));
    let bad_at = file.len() as u64;
    file.extend(epb(false, 3, 1, &[1], 1));
    file.extend(epb(false, 0, 1, &[2], 1));
    let mut reader = CaptureReader::new(&file[..]).unwrap();
    let got = collect(&mut reader);
    assert_eq!(got.len(), 2);
    assert_eq!(
        got[0].as_ref().unwrap_err(),
        &format!(
            "packet block at byte {bad_at} names interface 3, which its section never described"
        )
    );
    assert_eq!(got[1].as_ref().unwrap().1, vec![2]);
}

fn simple_pcapng(n: u16) -> (Vec<u8>, Vec<u64>) {
    let mut file = shb(false);
    file.extend(idb(false, 1, 0, &[]));
    let mut offsets = Vec::new();
    for i in 0..n {
        offsets.push(file.len() as u64);
        file.extend(epb(false, 0, u64::from(i), &[i as u8; 60], 60));
    }
    (file, offsets)
}

#[test]
fn garbage_in_a_pcapng_is_reported_once_and_skipped() {
    let (good, offsets) = simple_pcapng(6);
    let at = offsets[3] as usize;
    for garbage in [
        vec![0xff; 37],
        vec![0u8; 64],
        vec![6, 0, 0, 0, 200, 0, 0, 0, 1, 2, 3],
    ] {
        let mut file = good.clone();
        file.splice(at..at, garbage.iter().copied());
        let mut reader = CaptureReader::new(&file[..]).unwrap();
        let got = collect(&mut reader);
        let records: Vec<u8> = got.iter().flatten().map(|(_, d)| d[0]).collect();
        assert_eq!(records, [0, 1, 2, 3, 4, 5], "{garbage:02x?}");
        let errors: Vec<&String> = got.iter().filter_map(|r| r.as_ref().err()).collect();
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(
            errors[0].contains(&format!("at byte {at}")),
            "{}",
            errors[0]
        );
        assert!(
            errors[0].contains(&format!("skipped {} bytes", garbage.len())),
            "{}",
            errors[0]
        );
    }
}

#[test]
fn pcapng_trailer_mismatch_and_bad_contents() {
    let (mut file, offsets) = simple_pcapng(3);
    // Record 1's trailing length is wrong: framing is lost, resync finds record 2.
    let end1 = offsets[2] as usize;
    file[end1 - 4] = 0x51;
    let mut reader = CaptureReader::new(&file[..]).unwrap();
    let got = collect(&mut reader);
    assert_eq!(got.len(), 3);
    let e = got[1].as_ref().unwrap_err();
    assert!(e.contains("block length 92 but trailing length 81"), "{e}");
    assert!(e.contains("skipped 92 bytes"), "{e}");

    // Record 1 well framed but claiming more captured bytes than it holds,
    // or more than the wire had: the block is skipped by its length.
    for (caplen, orig_len, reason) in [
        (61u32, 100u32, "too short (92 bytes)"),
        (60, 59, "captured length 60 exceeds original length 59"),
        (300_000, 300_000, "captured length 300000 exceeds 262144"),
    ] {
        let (mut file, offsets) = simple_pcapng(3);
        let at = offsets[1] as usize + 20;
        file[at..at + 4].copy_from_slice(&caplen.to_le_bytes());
        file[at + 4..at + 8].copy_from_slice(&orig_len.to_le_bytes());
        let mut reader = CaptureReader::new(&file[..]).unwrap();
        let got = collect(&mut reader);
        let e = got[1].as_ref().unwrap_err();
        assert!(e.contains(reason) && e.contains("skipped 92 bytes"), "{e}");
        assert_eq!(got[2].as_ref().unwrap().0, offsets[2]);
    }
}

#[test]
fn truncated_pcapng() {
    let (file, offsets) = simple_pcapng(3);
    for (cut, needed) in [(file.len() - 1, 92), (offsets[2] as usize + 5, 12)] {
        let mut reader = CaptureReader::new(&file[..cut]).unwrap();
        let got = collect(&mut reader);
        assert_eq!(got.len(), 3);
        let e = got[2].as_ref().unwrap_err();
        let want = format!("record at byte {}: it needs {needed} bytes", offsets[2]);
        assert!(e.contains(&want), "{e}");
    }
}

#[test]
fn huge_skipped_blocks_grow_the_buffer_once() {
    let (mut file, _) = simple_pcapng(1);
    file.extend(block(false, 4, &vec![0; 2 * buffer::CHUNK]));
    file.extend(epb(false, 0, 9, &[8; 10], 10));
    let mut reader = CaptureReader::new(&file[..]).unwrap();
    let got = collect(&mut reader);
    assert_eq!(got.len(), 2);
    assert_eq!(got[1].as_ref().unwrap().1, vec![8; 10]);
}

#[test]
fn unknown_block_types_are_skipped_unless_their_framing_is_doubtful() {
    let (mut file, _) = simple_pcapng(1);
    file.extend(block(false, 0x1234, &[7; 20]));
    file.extend(epb(false, 0, 5, &[1; 10], 10));
    file.extend(block(false, 0x4321, &[7; 4])); // the last block: nothing to doubt
    let mut reader = CaptureReader::new(&file[..]).unwrap();
    let got = collect(&mut reader);
    assert_eq!(got.len(), 2, "{got:?}");
    assert!(got.iter().all(Result::is_ok));

    // One byte of garbage before blocks of 92 bytes that end in padding:
    // read one byte early, the type is nonsense and the length is 92 * 256,
    // which lands exactly on another trailer shifted by one byte. Only the
    // block after that gives it away.
    let mut file = [shb(false), idb(false, 1, 0, &[])].concat();
    let mut at = 0;
    for i in 0..300u16 {
        if i == 10 {
            at = file.len();
        }
        file.extend(epb(false, 0, u64::from(i), &[i as u8; 58], 58));
    }
    file.insert(at, 0x77);
    let mut reader = CaptureReader::new(&file[..]).unwrap();
    let got = collect(&mut reader);
    assert_eq!(got.iter().flatten().count(), 300);
    let errors: Vec<&String> = got.iter().filter_map(|r| r.as_ref().err()).collect();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].contains(&format!("at byte {at}")),
        "{}",
        errors[0]
    );
    assert!(errors[0].contains("skipped 1 bytes"), "{}", errors[0]);
}
