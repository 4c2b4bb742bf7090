#![no_main]
//! Any bytes through the TLS and SSH parsers and the shipped signatures.

use std::sync::OnceLock;

use portwatch_payload::{SignatureSet, Transport};

static SIGS: OnceLock<Option<SignatureSet>> = OnceLock::new();

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(hello) = portwatch_payload::parse_client_hello(data) {
        let _ = hello.ja4();
    }
    if let Ok(client) = portwatch_payload::parse_ssh_client(data) {
        let _ = client.fingerprint();
    }
    let _ = portwatch_payload::escape_bytes(data);
    if let Some(sigs) = SIGS.get_or_init(|| SignatureSet::builtin().ok()) {
        let port = data.first().map_or(0, |&b| u16::from(b));
        let _ = sigs.analyze(Transport::Any, port, data);
    }
});
