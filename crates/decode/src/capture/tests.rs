//! Capture streams built byte by byte: every magic and byte order, pcapng
//! sections and interfaces, and damage of every kind.

use std::io::{self, Read};

use portwatch_core::Timestamp;

use super::*;

const T0: u32 = 1_187_791_200; // 2007-08-22 14:00:00 UTC

fn u16b(v: u16, be: bool) -> [u8; 2] {
    if be { v.to_be_bytes() } else { v.to_le_bytes() }
}

fn u32b(v: u32, be: bool) -> [u8; 4] {
    if be { v.to_be_bytes() } else { v.to_le_bytes() }
}

fn pcap_header(magic: u32, be: bool, snaplen: u32, linktype: u32) -> Vec<u8> {
    [
        &u32b(magic, be)[..],
        &u16b(2, be),
        &u16b(4, be),
        &[0; 8],
        &u32b(snaplen, be),
        &u32b(linktype, be),
    ]
    .concat()
}

fn pcap_record(be: bool, sec: u32, frac: u32, data: &[u8], orig_len: u32) -> Vec<u8> {
    [
        &u32b(sec, be)[..],
        &u32b(frac, be),
        &u32b(data.len() as u32, be),
        &u32b(orig_len, be),
        data,
    ]
    .concat()
}

/// A microsecond little-endian Ethernet pcap of `n` records of 60 bytes, one
/// second apart; record `i` is filled with byte `i`.
fn simple_pcap(n: u8) -> Vec<u8> {
    let mut out = pcap_header(0xa1b2_c3d4, false, 65535, 1);
    for i in 0..n {
        out.extend(pcap_record(false, T0 + u32::from(i), 0, &[i; 60], 60));
    }
    out
}

/// Offsets of the records in [`simple_pcap`].
fn simple_offset(i: u64) -> u64 {
    24 + i * 76
}

fn block(be: bool, block_type: u32, body: &[u8]) -> Vec<u8> {
    let padded = body.len().next_multiple_of(4);
    let len = (12 + padded) as u32;
    [
        &u32b(block_type, be)[..],
        &u32b(len, be),
        body,
        &vec![0; padded - body.len()],
        &u32b(len, be),
    ]
    .concat()
}

fn shb(be: bool) -> Vec<u8> {
    let body = [
        &u32b(0x1A2B_3C4D, be)[..],
        &u16b(1, be),
        &u16b(0, be),
        &[0xff; 8],
    ]
    .concat();
    block(be, 0x0A0D_0D0A, &body)
}

fn option(be: bool, code: u16, value: &[u8]) -> Vec<u8> {
    let pad = value.len().next_multiple_of(4) - value.len();
    [
        &u16b(code, be)[..],
        &u16b(value.len() as u16, be),
        value,
        &vec![0; pad],
    ]
    .concat()
}

fn idb(be: bool, link: u16, snaplen: u32, options: &[u8]) -> Vec<u8> {
    let body = [&u16b(link, be)[..], &[0, 0], &u32b(snaplen, be), options].concat();
    block(be, 1, &body)
}

fn epb(be: bool, interface: u32, units: u64, data: &[u8], orig_len: u32) -> Vec<u8> {
    let body = [
        &u32b(interface, be)[..],
        &u32b((units >> 32) as u32, be),
        &u32b(units as u32, be),
        &u32b(data.len() as u32, be),
        &u32b(orig_len, be),
        data,
    ]
    .concat();
    block(be, 6, &body)
}

fn collect<R: Read>(reader: &mut CaptureReader<R>) -> Vec<Result<(u64, Vec<u8>), String>> {
    let mut out = Vec::new();
    while let Some(r) = reader.next_record() {
        out.push(
            r.map(|r| (r.offset, r.data.to_vec()))
                .map_err(|e| e.to_string()),
        );
    }
    out
}

#[test]
fn sniff_knows_every_magic() {
    let cases: [(&[u8], Option<CaptureFormat>); 9] = [
        (
            &[0xd4, 0xc3, 0xb2, 0xa1],
            Some(CaptureFormat::Pcap {
                nanos: false,
                big_endian: false,
            }),
        ),
        (
            &[0xa1, 0xb2, 0xc3, 0xd4],
            Some(CaptureFormat::Pcap {
                nanos: false,
                big_endian: true,
            }),
        ),
        (
            &[0x4d, 0x3c, 0xb2, 0xa1],
            Some(CaptureFormat::Pcap {
                nanos: true,
                big_endian: false,
            }),
        ),
        (
            &[0xa1, 0xb2, 0x3c, 0x4d],
            Some(CaptureFormat::Pcap {
                nanos: true,
                big_endian: true,
            }),
        ),
        (
            &[0xa1, 0xb2, 0xcd, 0x34],
            Some(CaptureFormat::ModifiedPcap { big_endian: true }),
        ),
        (&[0x0a, 0x0d, 0x0d, 0x0a], Some(CaptureFormat::Pcapng)),
        // pcapng's magic is "\n\r\r\n": with the byte-order magic wrong, it is text.
        (b"\n\r\r\nhello world", None),
        (b"Aug 22 14:00:01 gw kernel: IN=eth0", None),
        (&[0xd4, 0xc3, 0xb2], None),
    ];
    for (bytes, want) in cases {
        assert_eq!(sniff(bytes), want, "{bytes:02x?}");
    }
    assert_eq!(sniff(&shb(true)), Some(CaptureFormat::Pcapng));
    assert_eq!(sniff(&shb(false)), Some(CaptureFormat::Pcapng));
}

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
fn bad_starts() {
    let err = |bytes: &[u8]| CaptureReader::new(bytes).err().unwrap();
    let e = err(b"GET / HTTP/1.1\r\n");
    assert!(e.is_not_a_capture());
    assert!(matches!(
        e,
        CaptureError::UnknownMagic {
            offset: 0,
            found: 0x4745_5420
        }
    ));
    assert!(err(&[]).is_not_a_capture());
    assert!(err(&[0xd4]).is_not_a_capture());
    let header = pcap_header(0xa1b2_c3d4, false, 65535, 1);
    assert!(matches!(
        err(&header[..20]),
        CaptureError::Truncated {
            offset: 0,
            needed: 24,
            available: 20
        }
    ));
    let mut v1 = header.clone();
    v1[4] = 1;
    assert!(matches!(
        err(&v1),
        CaptureError::BadHeader { offset: 0, .. }
    ));
    let mut ng = shb(false);
    ng[12] = 2;
    assert!(matches!(
        err(&ng),
        CaptureError::BadHeader { offset: 0, .. }
    ));
    let ng = shb(false);
    assert!(matches!(
        err(&ng[..20]),
        CaptureError::Truncated {
            offset: 0,
            needed: 28,
            ..
        }
    ));
    let mut ng = shb(true);
    ng[27] = 0;
    assert!(matches!(err(&ng), CaptureError::BadHeader { .. }));
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

/// Hands out data in odd-sized pieces, and fails once with `Interrupted`.
struct Choppy<'a> {
    data: &'a [u8],
    interrupted: bool,
}

impl Read for Choppy<'_> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if !self.interrupted {
            self.interrupted = true;
            return Err(io::Error::from(io::ErrorKind::Interrupted));
        }
        let n = self.data.len().min(out.len()).min(4093);
        out[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

#[test]
fn records_straddling_refills_come_out_whole() {
    let mut file = pcap_header(0xa1b2_c3d4, true, 262_144, 1);
    let mut want = Vec::new();
    let mut i = 0u32;
    while file.len() < 3 * buffer::CHUNK {
        let len = (i * 7919 % 1500) as usize;
        let data: Vec<u8> = (0..len).map(|j| (i as usize + j) as u8).collect();
        want.push((file.len() as u64, data.clone()));
        file.extend(pcap_record(true, T0 + i, 0, &data, 1500));
        i += 1;
    }
    let mut reader = CaptureReader::new(Choppy {
        data: &file,
        interrupted: false,
    })
    .unwrap();
    let got: Vec<_> = collect(&mut reader)
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert_eq!(got, want);
}

#[test]
fn io_errors_end_the_iteration_with_the_offset() {
    struct FailsAfter<'a>(&'a [u8]);
    impl Read for FailsAfter<'_> {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            if self.0.is_empty() {
                return Err(io::Error::other("disk on fire"));
            }
            let n = self.0.len().min(out.len());
            out[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }
    let file = simple_pcap(2);
    let mut reader = CaptureReader::new(FailsAfter(&file[..file.len() - 5])).unwrap();
    assert!(reader.next_record().unwrap().is_ok());
    let e = reader.next_record().unwrap().unwrap_err();
    assert!(matches!(e, CaptureError::Io { offset: 100, .. }), "{e}");
    assert!(reader.next_record().is_none());
}

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

fn simple_pcapng(n: u8) -> (Vec<u8>, Vec<u64>) {
    let mut file = shb(false);
    file.extend(idb(false, 1, 0, &[]));
    let mut offsets = Vec::new();
    for i in 0..n {
        offsets.push(file.len() as u64);
        file.extend(epb(false, 0, u64::from(i), &[i; 60], 60));
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
