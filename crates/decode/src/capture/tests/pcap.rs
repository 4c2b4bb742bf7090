//! Classic pcap: every magic, truncation and damage.

use super::*;

#[test]
fn pcap_in_every_magic_and_byte_order() {
    for (magic, nanos) in [(0xa1b2_c3d4u32, false), (0xa1b2_3c4d, true)] {
        for be in [false, true] {
            // Link type field with FCS-length bits set: 4 bytes of FCS, Ethernet.
            let mut file = pcap_header(magic, be, 65535, 0x1000_0000 | 0x0400_0000 | 1);
            file.extend(pcap_record(be, T0, 250_000, &[1, 2, 3], 60));
            file.extend(pcap_record(be, T0 + 1, 999_999, &[4; 60], 60));
            let mut reader = CaptureReader::new(&file[..]).unwrap();
            assert_eq!(
                reader.format(),
                CaptureFormat::Pcap {
                    nanos,
                    big_endian: be
                }
            );
            assert_eq!(reader.bytes_consumed(), 24);
            let r = reader.next_record().unwrap().unwrap();
            let frac_nanos = if nanos { 250_000 } else { 250_000_000 };
            assert_eq!(r.ts, Timestamp::from_parts(i64::from(T0), frac_nanos));
            assert_eq!(r.link_type, LinkType::ETHERNET);
            assert_eq!(
                (r.data, r.orig_len, r.offset, r.interface),
                (&[1, 2, 3][..], 60, 24, 0)
            );
            let r = reader.next_record().unwrap().unwrap();
            assert_eq!(r.offset, 43);
            assert_eq!(r.data.len(), 60);
            assert!(reader.next_record().is_none());
            assert!(reader.next_record().is_none());
            assert_eq!(reader.bytes_consumed(), file.len() as u64);
        }
    }
}

#[test]
fn modified_pcap_has_longer_record_headers() {
    for be in [false, true] {
        let mut file = pcap_header(0xa1b2_cd34, be, 65535, 101);
        for i in 0..2u8 {
            // ifindex, protocol, packet type, padding after the usual header.
            file.extend(pcap_record(be, T0, 5, &[i; 20], 20));
            file.splice(file.len() - 20..file.len() - 20, [0, 0, 0, 2, 0, 8, 0, 0]);
        }
        let mut reader = CaptureReader::new(&file[..]).unwrap();
        assert_eq!(
            reader.format(),
            CaptureFormat::ModifiedPcap { big_endian: be }
        );
        let got = collect(&mut reader);
        assert_eq!(got, vec![Ok((24, vec![0; 20])), Ok((68, vec![1; 20]))]);
        let ts = Timestamp::from_parts(i64::from(T0), 5_000);
        let mut reader = CaptureReader::new(&file[..]).unwrap();
        assert_eq!(reader.next_record().unwrap().unwrap().ts, ts);
    }
}

#[test]
fn truncated_pcap_ends_with_the_offset() {
    let file = simple_pcap(3);
    // Cut inside the third record's data, then inside its header.
    for (cut, needed, available) in [
        (file.len() - 10, 76, 66),
        (simple_offset(2) as usize + 9, 16, 9),
    ] {
        let mut reader = CaptureReader::new(&file[..cut]).unwrap();
        let got = collect(&mut reader);
        assert_eq!(got.len(), 3);
        assert!(got[1].is_ok());
        let mut reader = CaptureReader::new(&file[..cut]).unwrap();
        reader.next_record();
        reader.next_record();
        let e = reader.next_record().unwrap().err().unwrap();
        assert!(
            matches!(e, CaptureError::Truncated { offset, needed: n, available: a }
                if offset == simple_offset(2) && n == needed && a == available),
            "{e}"
        );
        assert!(reader.next_record().is_none());
        assert_eq!(reader.bytes_consumed(), cut as u64);
    }
}

#[test]
fn garbage_in_a_pcap_is_reported_once_and_skipped() {
    let good = simple_pcap(6);
    let at = simple_offset(3) as usize;
    for garbage in [
        vec![0xff; 37],
        vec![0u8; 100],
        (0..=255u8).collect::<Vec<u8>>(),
    ] {
        let mut file = good.clone();
        file.splice(at..at, garbage.iter().copied());
        let mut reader = CaptureReader::new(&file[..]).unwrap();
        let got = collect(&mut reader);
        let records: Vec<u8> = got.iter().flatten().map(|(_, d)| d[0]).collect();
        assert_eq!(
            records,
            [0, 1, 2, 3, 4, 5],
            "garbage {:02x?}",
            &garbage[..8]
        );
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
fn implausible_pcap_records_name_their_reason() {
    let mut file = simple_pcap(2);
    // Record 1 claims 300000 captured bytes.
    let at = simple_offset(1) as usize;
    file[at + 8..at + 12].copy_from_slice(&300_000u32.to_le_bytes());
    let mut reader = CaptureReader::new(&file[..]).unwrap();
    reader.next_record().unwrap().unwrap();
    let e = reader.next_record().unwrap().unwrap_err();
    assert!(
        matches!(
            e,
            CaptureError::Implausible {
                offset,
                reason: ImplausibleReason::CaplenTooLarge { caplen: 300_000 },
                skipped: 76,
            } if offset == at as u64
        ),
        "{e}"
    );
    assert!(reader.next_record().is_none());

    // More captured than on the wire.
    let mut file = simple_pcap(3);
    file[at + 12..at + 16].copy_from_slice(&59u32.to_le_bytes());
    let mut reader = CaptureReader::new(&file[..]).unwrap();
    let got = collect(&mut reader);
    assert!(
        got[1]
            .as_ref()
            .unwrap_err()
            .contains("exceeds original length 59")
    );
    assert_eq!(got[2].as_ref().unwrap().0, simple_offset(2));
}

#[test]
fn a_header_running_past_the_end_over_good_records_is_garbage() {
    let mut file = simple_pcap(4);
    // Record 1 claims 5000 bytes, beyond the end of the file, but records
    // 2 and 3 follow its real 60 bytes.
    let at = simple_offset(1) as usize;
    file[at + 8..at + 12].copy_from_slice(&5000u32.to_le_bytes());
    file[at + 12..at + 16].copy_from_slice(&5000u32.to_le_bytes());
    let mut reader = CaptureReader::new(&file[..]).unwrap();
    let got = collect(&mut reader);
    assert_eq!(got.len(), 4);
    let e = got[1].as_ref().unwrap_err();
    assert!(e.contains("needs 5016 bytes but only 228 are left"), "{e}");
    assert!(e.contains("skipped 76 bytes"), "{e}");
    assert_eq!(got[2].as_ref().unwrap().0, simple_offset(2));
}

#[test]
fn garbage_at_the_end_is_skipped_to_the_end() {
    let mut file = simple_pcap(2);
    file.extend([0xee; 50]);
    let mut reader = CaptureReader::new(&file[..]).unwrap();
    let got = collect(&mut reader);
    assert_eq!(got.len(), 3);
    assert!(got[2].as_ref().unwrap_err().contains("skipped 50 bytes"));
    assert_eq!(reader.bytes_consumed(), file.len() as u64);
}

#[test]
fn a_parseable_header_with_a_wild_timestamp_over_junk_is_garbage() {
    let good = simple_pcap(4);
    let at = simple_offset(2) as usize;
    // Ten days later, 8 bytes, then junk where the next header should be.
    let fake = [
        pcap_record(false, T0 + 864_000, 0, &[0xaa; 8], 8),
        vec![0xff; 5],
    ]
    .concat();
    let mut file = good.clone();
    file.splice(at..at, fake.iter().copied());
    let mut reader = CaptureReader::new(&file[..]).unwrap();
    let got = collect(&mut reader);
    let records: Vec<u8> = got.iter().flatten().map(|(_, d)| d[0]).collect();
    assert_eq!(records, [0, 1, 2, 3]);
    let e = got[2].as_ref().unwrap_err();
    assert!(
        e.contains(&format!("at byte {at}")) && e.contains("more than a day"),
        "{e}"
    );
    assert!(e.contains("skipped 29 bytes"), "{e}");
}

#[test]
fn captures_may_pause_for_days() {
    let mut file = pcap_header(0xa1b2_c3d4, false, 65535, 1);
    for (i, sec) in [T0, T0 + 1, T0 + 2_000_000, T0 + 2_000_001, T0 + 9_000_000]
        .into_iter()
        .enumerate()
    {
        file.extend(pcap_record(false, sec, 0, &[i as u8; 30], 30));
    }
    let mut reader = CaptureReader::new(&file[..]).unwrap();
    let got = collect(&mut reader);
    assert_eq!(got.len(), 5);
    assert!(got.iter().all(Result::is_ok), "{got:?}");
}
