//! Property tests: no input makes the reader or the decoder panic or loop,
//! the reader always accounts for every byte, damage never costs the records
//! before it, and well-formed frames decode to exactly the fields they hold.

use std::net::{IpAddr, Ipv4Addr};

use portwatch_core::{Class, PortKey, Proto, Timestamp, tcp_flags};
use portwatch_decode::{CaptureReader, LinkType, decode};
use proptest::prelude::*;

/// Reads everything and checks the reader's bookkeeping on the way.
/// Returns (offset, data) of the records.
fn read_all(bytes: &[u8]) -> Vec<(u64, Vec<u8>)> {
    let Ok(mut reader) = CaptureReader::new(bytes) else {
        return Vec::new();
    };
    let mut records = Vec::new();
    let mut last_offset = None;
    let mut steps = 0usize;
    while let Some(r) = reader.next_record() {
        steps += 1;
        // Every step consumes at least one byte.
        assert!(steps <= bytes.len() + 1, "no progress");
        let offset = match r {
            Ok(r) => {
                records.push((r.offset, r.data.to_vec()));
                r.offset
            }
            Err(e) => e.offset(),
        };
        assert!(last_offset < Some(offset), "offsets go backwards");
        last_offset = Some(offset);
        assert!(reader.bytes_consumed() <= bytes.len() as u64);
    }
    assert_eq!(reader.bytes_consumed(), bytes.len() as u64);
    records
}

fn pcap_header(big_endian: bool, link: u16) -> Vec<u8> {
    let mut h = vec![0xa1, 0xb2, 0xc3, 0xd4, 0, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0];
    h.extend([0, 0, 0xff, 0xff, 0, 0]);
    h.extend(link.to_be_bytes());
    if !big_endian {
        for field in [0..4, 4..6, 6..8, 16..20, 20..24] {
            h[field].reverse();
        }
    }
    h
}

fn pcapng_header(link: u16) -> Vec<u8> {
    let mut h = vec![
        0x0a, 0x0d, 0x0d, 0x0a, 28, 0, 0, 0, 0x4d, 0x3c, 0x2b, 0x1a, 1, 0, 0, 0,
    ];
    h.extend([0xff; 8]);
    h.extend([28, 0, 0, 0]);
    h.extend([1, 0, 0, 0, 20, 0, 0, 0]);
    h.extend(link.to_le_bytes());
    h.extend([0, 0, 0, 0, 0, 0, 20, 0, 0, 0]);
    h
}

/// A little-endian pcap of `sizes.len()` records, one second apart.
fn good_pcap(sizes: &[u8]) -> (Vec<u8>, Vec<(u64, Vec<u8>)>) {
    let mut file = pcap_header(false, 1);
    let mut records = Vec::new();
    for (i, &n) in sizes.iter().enumerate() {
        let data = vec![i as u8; usize::from(n)];
        records.push((file.len() as u64, data.clone()));
        file.extend((1_500_000_000 + i as u32).to_le_bytes());
        file.extend(0u32.to_le_bytes());
        file.extend(u32::from(n).to_le_bytes());
        file.extend(1500u32.to_le_bytes());
        file.extend(data);
    }
    (file, records)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn reader_survives_any_bytes(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        read_all(&bytes);
    }

    #[test]
    fn reader_survives_any_bytes_after_a_valid_header(
        kind in 0..3u8,
        link in any::<u16>(),
        body in prop::collection::vec(any::<u8>(), 0..4096),
    ) {
        let mut file = match kind {
            0 => pcap_header(false, link),
            1 => pcap_header(true, link),
            _ => pcapng_header(link),
        };
        file.extend(body);
        read_all(&file);
    }

    #[test]
    fn damage_never_costs_the_records_before_it(
        sizes in prop::collection::vec(0..200u8, 1..40),
        at in any::<prop::sample::Index>(),
        garbage in prop::collection::vec(any::<u8>(), 1..300),
        overwrite in any::<bool>(),
    ) {
        let (mut file, want) = good_pcap(&sizes);
        let at = 24 + at.index(file.len() - 24);
        if overwrite {
            let end = (at + garbage.len()).min(file.len());
            file[at..end].copy_from_slice(&garbage[..end - at]);
        } else {
            file.splice(at..at, garbage);
        }
        let got = read_all(&file);
        let intact: Vec<_> = want
            .iter()
            .filter(|(offset, data)| *offset as usize + 16 + data.len() <= at)
            .collect();
        prop_assert!(got.len() >= intact.len());
        for (g, w) in got.iter().zip(intact) {
            prop_assert_eq!(g, w);
        }
    }

    #[test]
    fn decode_survives_any_bytes_on_any_link(
        link in prop_oneof![
            prop::sample::select(LinkType::DECODED.to_vec()),
            any::<u16>().prop_map(LinkType),
        ],
        data in prop::collection::vec(any::<u8>(), 0..256),
        extra in 0..2000u32,
    ) {
        let whole = decode(link, Timestamp::from_nanos(0), &data, data.len() as u32);
        let cut = decode(link, Timestamp::from_nanos(0), &data, data.len() as u32 + extra);
        for e in [&whole, &cut].into_iter().flatten() {
            let range = data.as_ptr_range();
            for part in [e.payload, e.tcp_options] {
                prop_assert!(part.is_empty() || range.contains(&part.as_ptr()));
            }
        }
        // Knowing that the capture may be cut never turns a good decode bad.
        if let Ok(e) = whole {
            prop_assert_eq!(cut, Ok(e));
        }
    }

    #[test]
    fn well_formed_frames_decode_to_their_fields(
        src in any::<[u8; 4]>(),
        dst in any::<[u8; 4]>(),
        sport in any::<u16>(),
        dport in any::<u16>(),
        flags in any::<u8>(),
        seq in any::<u32>(),
        window in any::<u16>(),
        ttl in any::<u8>(),
        ip_id in any::<u16>(),
        option_words in 0..11usize,
        vlan_tags in 0..3usize,
        payload in prop::collection::vec(any::<u8>(), 0..64),
    ) {
        let tcp_len = 20 + option_words * 4;
        let total = (20 + tcp_len + payload.len()) as u16;
        let mut frame = vec![0u8; 12];
        for _ in 0..vlan_tags {
            frame.extend([0x81, 0x00, 0x00, 0x07]);
        }
        frame.extend([0x08, 0x00, 0x45, 0]);
        frame.extend(total.to_be_bytes());
        frame.extend(ip_id.to_be_bytes());
        frame.extend([0x40, 0, ttl, 6, 0, 0]);
        frame.extend(src);
        frame.extend(dst);
        frame.extend(sport.to_be_bytes());
        frame.extend(dport.to_be_bytes());
        frame.extend(seq.to_be_bytes());
        frame.extend(seq.rotate_left(7).to_be_bytes());
        frame.extend([(tcp_len / 4 * 16) as u8, flags]);
        frame.extend(window.to_be_bytes());
        frame.extend([0; 4]);
        frame.extend(vec![1; option_words * 4]);
        frame.extend(&payload);
        let e = decode(LinkType::ETHERNET, Timestamp::from_nanos(0), &frame, frame.len() as u32)
            .unwrap();
        prop_assert_eq!(e.src, IpAddr::V4(Ipv4Addr::from(src)));
        prop_assert_eq!(e.dst, IpAddr::V4(Ipv4Addr::from(dst)));
        prop_assert_eq!((e.sport, e.dport, e.ip_len), (sport, dport, u32::from(total)));
        prop_assert_eq!((e.fp.ttl, e.fp.ip_id, e.fp.tcp_flags), (ttl, ip_id, flags));
        prop_assert_eq!((e.fp.tcp_seq, e.fp.tcp_ack), (seq, seq.rotate_left(7)));
        prop_assert_eq!(e.fp.tcp_window, window);
        prop_assert_eq!(e.tcp_options.len(), option_words * 4);
        prop_assert_eq!(e.payload, &payload[..]);
        let syn = flags & tcp_flags::SYN != 0;
        let ack = flags & tcp_flags::ACK != 0;
        if flags & tcp_flags::RST == 0 && syn && !ack {
            prop_assert_eq!((e.class, e.key), (Class::Probe, Some(PortKey::new(Proto::Tcp, dport))));
        }
    }
}

fn shared_captures() -> Vec<std::path::PathBuf> {
    let root = match std::env::var_os("PORTWATCH_SHARED_DATA") {
        Some(dir) => std::path::PathBuf::from(dir),
        None => {
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/external")
        }
    };
    let mut out = Vec::new();
    for folder in [
        "chrissanders-packets",
        "esnet-curated-pcaps",
        "eternalsafety-smb-traces",
        "pcap-attack",
        "zeek-traces",
    ] {
        for entry in std::fs::read_dir(root.join(folder))
            .into_iter()
            .flatten()
            .flatten()
        {
            let path = entry.path();
            if matches!(
                path.extension().and_then(|e| e.to_str()),
                Some("pcap" | "pcapng")
            ) {
                out.push(path);
            }
        }
    }
    out
}

/// Real captures cut at many places: every record wholly before the cut
/// comes out unchanged, and the only error is one `Truncated` at the end.
#[test]
fn real_captures_cut_anywhere_keep_every_whole_record() {
    let files = shared_captures();
    if files.is_empty() {
        eprintln!("skipped: shared captures not found");
        return;
    }
    for path in files {
        let bytes = std::fs::read(&path).unwrap();
        let all = read_all(&bytes);
        let header_end = all
            .first()
            .map_or(bytes.len(), |(offset, _)| *offset as usize);
        for k in 1..100 {
            let cut = header_end + (bytes.len() - header_end) * k / 100 + k % 7;
            let cut = cut.min(bytes.len());
            let mut reader = CaptureReader::new(&bytes[..cut]).unwrap();
            let mut got = Vec::new();
            let mut errors = Vec::new();
            while let Some(r) = reader.next_record() {
                match r {
                    Ok(r) => got.push((r.offset, r.data.to_vec())),
                    Err(e) => errors.push(e),
                }
            }
            let whole = all
                .iter()
                .take_while(|(offset, _)| (*offset as usize) < cut)
                .count();
            let name = path.display();
            assert!(
                got.len() == whole || got.len() + 1 == whole,
                "{name} cut at {cut}: {} records of {whole}, {errors:?}",
                got.len()
            );
            assert_eq!(&got[..], &all[..got.len()], "{name} cut at {cut}");
            match &errors[..] {
                [] => assert_eq!(got.len(), whole, "{name} cut at {cut}"),
                [portwatch_decode::CaptureError::Truncated { .. }] => {}
                other => panic!("{name} cut at {cut}: {other:?}"),
            }
        }
    }
}

/// Garbage spliced into real captures: every record before and after it
/// comes back, and the garbage costs exactly one error naming its offset.
#[test]
fn garbage_in_real_captures_costs_one_error_and_no_records() {
    let files = shared_captures();
    if files.is_empty() {
        eprintln!("skipped: shared captures not found");
        return;
    }
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for path in files {
        let bytes = std::fs::read(&path).unwrap();
        let all = read_all(&bytes);
        for _ in 0..25 {
            // Splice at a record boundary, so every record stays whole.
            let (at, _) = all[(next() as usize) % all.len()];
            let at = at as usize;
            let len = 1 + (next() % 600) as usize;
            let garbage: Vec<u8> = (0..len).map(|_| next() as u8).collect();
            let mut damaged = bytes.clone();
            damaged.splice(at..at, garbage.iter().copied());
            let mut reader = CaptureReader::new(&damaged[..]).unwrap();
            let (mut got, mut errors) = (Vec::new(), Vec::new());
            while let Some(r) = reader.next_record() {
                match r {
                    Ok(r) => got.push(r.data.to_vec()),
                    Err(e) => errors.push(e),
                }
            }
            let want: Vec<_> = all.iter().map(|(_, d)| d.clone()).collect();
            let name = path.display();
            // A splice that happens to look like whole records is read as
            // such; otherwise the garbage is one error and nothing is lost.
            if errors.is_empty() {
                assert!(
                    got.len() > want.len(),
                    "{name}: garbage at {at} lost records"
                );
                continue;
            }
            assert_eq!(errors.len(), 1, "{name}: garbage at {at}: {errors:?}");
            assert_eq!(errors[0].offset(), at as u64, "{name}: {:?}", errors[0]);
            assert!(got == want, "{name}: garbage of {len} at {at} lost records");
        }
    }
}
