//! Capture streams built byte by byte: every magic and byte order, pcapng
//! sections and interfaces, and damage of every kind.

use std::io::{self, Read};

use portwatch_core::Timestamp;

use super::*;

mod pcap;
mod pcapng;

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
