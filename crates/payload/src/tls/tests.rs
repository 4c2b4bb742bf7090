use super::*;

/// Builds a ClientHello record from lists, the way a client would send it.
pub(crate) fn hello_bytes(ciphers: &[u16], extensions: &[(u16, Vec<u8>)]) -> Vec<u8> {
    let mut body = vec![0x03, 0x03];
    body.extend([0x11; 32]); // random
    body.push(0); // no session id
    body.extend(u16::try_from(ciphers.len() * 2).unwrap().to_be_bytes());
    for c in ciphers {
        body.extend(c.to_be_bytes());
    }
    body.extend([1, 0]); // null compression
    let mut exts = Vec::new();
    for (ty, data) in extensions {
        exts.extend(ty.to_be_bytes());
        exts.extend(u16::try_from(data.len()).unwrap().to_be_bytes());
        exts.extend(data);
    }
    body.extend(u16::try_from(exts.len()).unwrap().to_be_bytes());
    body.extend(exts);
    let mut hs = vec![1];
    hs.extend(&u32::try_from(body.len()).unwrap().to_be_bytes()[1..]);
    hs.extend(body);
    let mut rec = vec![0x16, 0x03, 0x01];
    rec.extend(u16::try_from(hs.len()).unwrap().to_be_bytes());
    rec.extend(hs);
    rec
}

fn list16(values: &[u16]) -> Vec<u8> {
    let mut out = u16::try_from(values.len() * 2)
        .unwrap()
        .to_be_bytes()
        .to_vec();
    for v in values {
        out.extend(v.to_be_bytes());
    }
    out
}

fn sni(name: &str) -> Vec<u8> {
    let mut entry = vec![0];
    entry.extend(u16::try_from(name.len()).unwrap().to_be_bytes());
    entry.extend(name.as_bytes());
    let mut out = u16::try_from(entry.len()).unwrap().to_be_bytes().to_vec();
    out.extend(entry);
    out
}

fn alpn(protos: &[&[u8]]) -> Vec<u8> {
    let mut list = Vec::new();
    for p in protos {
        list.push(u8::try_from(p.len()).unwrap());
        list.extend(*p);
    }
    let mut out = u16::try_from(list.len()).unwrap().to_be_bytes().to_vec();
    out.extend(list);
    out
}

/// A Chrome hello as published with its JA4 (`ja4_ro` gives the original
/// order, `ja4` the expected fingerprint); GREASE added where Chrome puts it.
pub(crate) fn chrome_hello() -> Vec<u8> {
    let ciphers = [
        0x3a3a, 0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8, 0xc013,
        0xc014, 0x009c, 0x009d, 0x002f, 0x0035,
    ];
    let sig_algs = [
        0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601,
    ];
    let order = [
        0x2a2a, 0x002d, 0x0033, 0x0010, 0xfe0d, 0x0017, 0x44cd, 0x0000, 0x000b, 0x000a, 0x002b,
        0xff01, 0x0023, 0x0012, 0x0005, 0x000d, 0x001b,
    ];
    let exts: Vec<(u16, Vec<u8>)> = order
        .iter()
        .map(|&ty| {
            let data = match ty {
                0x0000 => sni("tls.example"),
                0x0010 => alpn(&[b"h2", b"http/1.1"]),
                0x002b => {
                    let mut v = vec![6];
                    v.extend([0x7a, 0x7a, 0x03, 0x04, 0x03, 0x03]);
                    v
                }
                0x000d => list16(&sig_algs),
                _ => Vec::new(),
            };
            (ty, data)
        })
        .collect();
    hello_bytes(&ciphers, &exts)
}

#[test]
fn chrome_ja4_matches_the_published_value() {
    let bytes = chrome_hello();
    let hello = parse_client_hello(&bytes).unwrap();
    assert_eq!(hello.version(), 0x0304);
    assert_eq!(hello.sni, Some(&b"tls.example"[..]));
    assert_eq!(hello.alpn_first, Some(&b"h2"[..]));
    assert_eq!(
        hello.ja4_r(),
        "t13d1516h2_002f,0035,009c,009d,1301,1302,1303,c013,c014,c02b,c02c,c02f,c030,cca8,cca9_\
         0005,000a,000b,000d,0012,0017,001b,0023,002b,002d,0033,44cd,fe0d,ff01_\
         0403,0804,0401,0503,0805,0501,0806,0601"
    );
    assert_eq!(hello.ja4(), "t13d1516h2_8daaf6152771_d8a2da3f94cd");
}

#[test]
fn no_extensions_no_sni_no_alpn() {
    let mut bytes = hello_bytes(&[0x002f, 0x0035], &[]);
    // Drop the empty extensions block entirely: an SSLv3/TLS1.0-era hello.
    bytes.truncate(bytes.len() - 2);
    let len = u16::try_from(bytes.len() - 5).unwrap();
    bytes[3..5].copy_from_slice(&len.to_be_bytes());
    let body = u32::try_from(bytes.len() - 9).unwrap().to_be_bytes();
    bytes[6..9].copy_from_slice(&body[1..]);
    let hello = parse_client_hello(&bytes).unwrap();
    assert!(hello.ja4().starts_with("t12i020000_"));
    assert!(hello.ja4().ends_with("_000000000000"));
}

#[test]
fn binary_alpn_uses_hex_digits() {
    assert_eq!(alpn_code(Some(&[0xab, b'x', 0x0c])), "ac");
    assert_eq!(alpn_code(Some(b"http/1.1")), "h1");
    assert_eq!(alpn_code(Some(b"")), "00");
    assert_eq!(alpn_code(None), "00");
}

#[test]
fn cut_hello_is_incomplete_and_garbage_is_invalid() {
    let bytes = chrome_hello();
    assert!(matches!(
        parse_client_hello(&bytes[..60]),
        Err(ParseError::Incomplete { .. })
    ));
    assert!(matches!(
        parse_client_hello(b"\x16\x03\x01\x00\x05\x02\x00\x00\x01\x00"),
        Err(ParseError::Invalid { offset: 5, .. })
    ));
    assert!(is_grease(0x0a0a) && is_grease(0xfafa) && !is_grease(0x0a1a));
}
