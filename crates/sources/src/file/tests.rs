use std::io::{Read, Write};

use super::*;

/// A little-endian microsecond pcap with no records.
const EMPTY_PCAP: [u8; 24] = [
    0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 0, 1, 0, 0, 0,
];

const LOG_LINE: &str = "Aug 21 10:00:01 fw kernel: [ 1.000000] DROP IN=eth0 OUT= MAC=00:11:22:33:44:55:66:77:88:99:aa:bb:08:00 SRC=203.0.113.9 DST=198.18.0.5 LEN=44 TOS=0x00 PREC=0x00 TTL=40 ID=54321 PROTO=TCP SPT=40000 DPT=5168 WINDOW=1024 RES=0x00 SYN URGP=0\n";

fn write_temp(bytes: &[u8]) -> tempfile::NamedTempFile {
    let mut f = tempfile::NamedTempFile::new().unwrap();
    f.write_all(bytes).unwrap();
    f.flush().unwrap();
    f
}

fn open_bytes(bytes: &[u8]) -> Result<OpenedInput, InputError> {
    let f = write_temp(bytes);
    open_input(f.path().to_str().unwrap())
}

fn read_all(mut input: OpenedInput) -> Vec<u8> {
    let mut out = Vec::new();
    input.reader.read_to_end(&mut out).unwrap();
    out
}

#[test]
fn plain_gzip_and_zstd_captures_are_recognised_and_replayed_whole() {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&EMPTY_PCAP).unwrap();
    let gz = gz.finish().unwrap();
    let zst = zstd::encode_all(&EMPTY_PCAP[..], 3).unwrap();
    for (bytes, compression) in [
        (EMPTY_PCAP.to_vec(), Compression::None),
        (gz, Compression::Gzip),
        (zst, Compression::Zstd),
    ] {
        let input = open_bytes(&bytes).unwrap();
        assert_eq!(input.format, InputFormat::Pcap);
        assert_eq!(input.compression, compression);
        assert_eq!(input.size, Some(bytes.len() as u64));
        assert_eq!(read_all(input), EMPTY_PCAP);
    }
}

#[test]
fn netfilter_log_is_recognised_by_content() {
    let input = open_bytes(LOG_LINE.repeat(3).as_bytes()).unwrap();
    assert_eq!(input.format, InputFormat::NetfilterLog);
    assert_eq!(read_all(input), LOG_LINE.repeat(3).as_bytes());
}

#[test]
fn large_inputs_replay_every_byte() {
    // Longer than the fingerprint head, so the replay seam is crossed.
    let text = LOG_LINE.repeat(20_000);
    let input = open_bytes(text.as_bytes()).unwrap();
    assert_eq!(read_all(input), text.as_bytes());
}

#[test]
fn fingerprint_depends_on_content_only() {
    let a = open_bytes(LOG_LINE.as_bytes()).unwrap().fingerprint;
    let b = open_bytes(LOG_LINE.as_bytes()).unwrap().fingerprint;
    let c = open_bytes(LOG_LINE.repeat(2).as_bytes())
        .unwrap()
        .fingerprint;
    assert_eq!(a, b);
    assert_ne!(a, c);
}

#[test]
fn bad_inputs_get_clear_errors() {
    let err = open_bytes(b"").unwrap_err();
    assert!(matches!(err, InputError::Empty { .. }), "{err}");

    let err = open_bytes(b"{\"json\": true}\n").unwrap_err();
    assert!(matches!(err, InputError::UnknownFormat { .. }), "{err}");
    assert!(err.to_string().contains("unknown format"), "{err}");

    let err = open_bytes(&[0x1f, 0x8b, 0x08, 0, 1, 2, 3]).unwrap_err();
    assert!(matches!(err, InputError::Compressed { .. }), "{err}");

    let dir = tempfile::tempdir().unwrap();
    let err = open_input(dir.path().to_str().unwrap()).unwrap_err();
    assert!(matches!(err, InputError::Directory { .. }), "{err}");

    let err = open_input("/nonexistent/portwatch/input.pcap").unwrap_err();
    assert!(
        err.to_string()
            .contains("/nonexistent/portwatch/input.pcap")
    );
}
