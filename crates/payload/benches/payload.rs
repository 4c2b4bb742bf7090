//! Payloads per second through `SignatureSet::analyze` (every signature plus
//! the TLS and SSH parsers) for typical first payloads, and through the
//! ClientHello parser and JA4 alone.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use portwatch_payload::{SignatureSet, Transport, parse_client_hello};

const PAYLOADS: &[(&str, u16, &[u8])] = &[
    ("http", 8080, b"GET / HTTP/1.1\r\nHost: x\r\nUser-Agent: Mozilla/5.0 zgrab/0.x\r\nAccept: */*\r\n\r\n"),
    ("redis", 6379, b"*1\r\n$4\r\nINFO\r\n"),
    ("rdp", 3389, b"\x03\x00\x00\x2b\x26\xe0\x00\x00\x00\x00\x00Cookie: mstshash=Administr\r\n\x01\x00\x08\x00\x0b\x00\x00\x00"),
    ("ssh", 22, b"SSH-2.0-libssh2_1.8.0\r\n"),
    ("garbage", 5168, &[0x5a; 512]),
];

/// A minimal TLS 1.2 ClientHello: two ciphers, SNI and ALPN.
fn client_hello() -> Vec<u8> {
    let sni = b"\x00\x00\x00\x10\x00\x0e\x00\x00\x0bexample.com";
    let alpn = b"\x00\x10\x00\x05\x00\x03\x02h2";
    let mut body = vec![0x03, 0x03];
    body.extend([7u8; 32]);
    body.extend([0, 0, 4, 0x13, 0x01, 0xc0, 0x2f, 1, 0]);
    let ext_len = u16::try_from(sni.len() + alpn.len()).unwrap_or(0);
    body.extend(ext_len.to_be_bytes());
    body.extend(sni);
    body.extend(alpn);
    let len = u32::try_from(body.len()).unwrap_or(0).to_be_bytes();
    let mut hs = vec![1, len[1], len[2], len[3]];
    hs.extend(body);
    let mut rec = vec![0x16, 3, 1];
    rec.extend(u16::try_from(hs.len()).unwrap_or(0).to_be_bytes());
    rec.extend(hs);
    rec
}

fn bench(c: &mut Criterion) {
    let Ok(sigs) = SignatureSet::builtin() else {
        return;
    };
    let mut g = c.benchmark_group("analyze");
    g.throughput(Throughput::Elements(1));
    for (name, port, payload) in PAYLOADS {
        g.bench_function(*name, |b| {
            b.iter(|| black_box(sigs.analyze(Transport::Tcp, *port, payload)))
        });
    }
    let hello = client_hello();
    g.bench_function("tls", |b| {
        b.iter(|| black_box(sigs.analyze(Transport::Tcp, 443, &hello)))
    });
    g.finish();
    c.bench_function("ja4", |b| {
        b.iter(|| parse_client_hello(black_box(&hello)).map(|h| h.ja4()))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
