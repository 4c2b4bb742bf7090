//! Rule 5: whatever bytes arrive, the parsers and the matcher return.

use portwatch_payload::{SignatureSet, Transport, parse_client_hello, parse_ssh_client};
use proptest::prelude::*;

/// Prefixes that steer random bytes into each parser's deeper paths.
const PREFIXES: &[&[u8]] = &[
    b"",
    b"\x16\x03\x01",
    b"\x16\x03\x01\x01\x00\x01\x00\x00\xfc\x03\x03",
    b"SSH-2.0-x\r\n",
    b"SSH-2.0-x\r\n\x00\x00\x01\x00\x08\x14",
    b"\x00\x00\x00\x50\xffSMB",
    b"\x03\x00\x00\x13\x0e\xe0",
    b"GET / HTTP/1.1\r\n",
];

fn sigs() -> &'static SignatureSet {
    static SIGS: std::sync::OnceLock<SignatureSet> = std::sync::OnceLock::new();
    SIGS.get_or_init(|| SignatureSet::builtin().expect("builtin signatures load"))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn arbitrary_bytes_never_panic(
        prefix in 0..PREFIXES.len(),
        tail in proptest::collection::vec(any::<u8>(), 0..2048),
        port in any::<u16>(),
    ) {
        let data = [PREFIXES[prefix], &tail[..]].concat();
        if let Ok(h) = parse_client_hello(&data) {
            let ja4 = h.ja4();
            prop_assert_eq!(ja4.len(), 36);
        }
        if let Ok(c) = parse_ssh_client(&data) {
            let _ = c.fingerprint();
        }
        let a = sigs().analyze(Transport::Tcp, port, &data);
        prop_assert_eq!(a.len, data.len());
        for m in &a.matches {
            for (_, v) in &m.fields {
                prop_assert!(v.bytes().all(|b| (0x20..=0x7e).contains(&b)));
            }
        }
    }
}
