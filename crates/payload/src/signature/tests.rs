use super::*;

fn builtin() -> SignatureSet {
    SignatureSet::builtin().unwrap()
}

fn primary(port: u16, payload: &[u8]) -> Option<String> {
    builtin()
        .matches(Transport::Tcp, port, payload)
        .first()
        .map(|m| m.signature.clone())
}

#[test]
fn builtin_file_loads_and_every_signature_has_a_reference() {
    let s = builtin();
    assert!(s.signatures().len() >= 20);
    for sig in s.signatures() {
        assert!(!sig.references.is_empty(), "{} has no reference", sig.name);
    }
}

#[test]
fn byte_literal_payloads() {
    let cases: &[(u16, &[u8], &str)] = &[
        (80, b"GET /index.html HTTP/1.1\r\nHost: x\r\nUser-Agent: zgrab/0.x\r\n\r\n", "http-request"),
        (2375, b"GET /v1.24/containers/json HTTP/1.1\r\nHost: x\r\n\r\n", "docker-api"),
        (2375, b"HEAD /_ping HTTP/1.1\r\n\r\n", "docker-api"),
        (22, b"SSH-2.0-libssh2_1.8.0\r\n", "ssh-client"),
        (23, b"\xff\xfd\x01\xff\xfd\x1f\xff\xfb\x03", "telnet-negotiation"),
        (6379, b"*1\r\n$4\r\nINFO\r\n", "redis-resp"),
        (6379, b"INFO\r\n", "redis-inline"),
        (11211, b"stats\r\n", "memcached-text"),
        (11211, b"version\r\n", "memcached-text"),
        (5555, b"CNXN\x00\x00\x00\x01\x00\x10\x00\x00\x07\x00\x00\x00\x32\x02\x00\x00\xbc\xb1\xa7\xb1host::\x00", "adb-connect"),
        (5060, b"OPTIONS sip:100@198.18.0.1 SIP/2.0\r\nVia: x\r\nUser-Agent: friendly-scanner\r\n\r\n", "sip-options"),
        (12345, b"Password;0;hunter2\r", "netbus-command"),
        (12345, b"GetInfo\r", "netbus-command"),
        (5900, b"RFB 003.008\n", "vnc-rfb-version"),
    ];
    for (port, payload, want) in cases {
        assert_eq!(
            primary(*port, payload).as_deref(),
            Some(*want),
            "{}",
            escape_bytes(payload)
        );
    }
}

#[test]
fn fields_are_captured_and_escaped() {
    let m = builtin().matches(
        Transport::Tcp,
        8080,
        b"GET /x HTTP/1.1\r\nUser-Agent: Mozilla/5.0 \x1b[2J\r\n\r\n",
    );
    let fields = &m[0].fields;
    assert!(fields.contains(&("method".into(), "GET".into())));
    assert!(fields.contains(&("user_agent".into(), r"Mozilla/5.0 \x1b[2J".into())));
    assert!(m[0].on_usual_port);
}

#[test]
fn smb_ms17_010_check_and_udp_memcached() {
    // A PeekNamedPipe Transaction on FID 0, as the MS17-010 checkers send it.
    let mut smb = vec![0, 0, 0, 0x4a, 0xff, b'S', b'M', b'B', 0x25];
    smb.resize(65, 0);
    smb.extend([0x23, 0, 0, 0]);
    smb.extend(b"\\PIPE\\\0");
    assert_eq!(
        primary(445, &smb).as_deref(),
        Some("smb-ms17-010-peeknamedpipe")
    );
    let udp = b"\x00\x01\x00\x00\x00\x01\x00\x00stats\r\n";
    let m = builtin().matches(Transport::Udp, 11211, udp);
    assert_eq!(m[0].signature, "memcached-udp");
    assert_eq!(
        m[0].fields,
        vec![("command".to_string(), "stats".to_string())]
    );
}

#[test]
fn ambiguous_inline_redis_only_on_its_port() {
    assert_eq!(primary(80, b"INFO\r\n"), None);
    assert!(builtin().matches(Transport::Tcp, 80, b"").is_empty());
    // A TCP-only signature does not fire for UDP.
    assert!(
        builtin()
            .matches(Transport::Udp, 22, b"SSH-2.0-x\r\n")
            .is_empty()
    );
}

#[test]
fn errors_name_the_signature_and_key() {
    let cases = [
        ("version = 2", "version 2"),
        (
            "version = 1\n[[signature]]\nname = \"a b\"\nservice = \"x\"\n[[signature.match]]\ntext = \"x\"",
            "`#1`: `name`",
        ),
        (
            "version = 1\n[[signature]]\nname = \"a\"\nservice = \"x\"\n[[signature.match]]\nhex = \"zz\"",
            "`a`: `match.hex`",
        ),
        (
            "version = 1\n[[signature]]\nname = \"a\"\nservice = \"x\"\n[[signature.match]]\nregex = \"(\"",
            "`a`: `match.regex`",
        ),
        (
            "version = 1\n[[signature]]\nname = \"a\"\nservice = \"x\"\n[[signature.match]]\ntext = \"x\"\nregex = \"y\"",
            "`a`: `match`",
        ),
        (
            "version = 1\n[[signature]]\nname = \"a\"\nservice = \"x\"\n[[signature.match]]\ntext = \"x\"\noptional = true",
            "non-optional",
        ),
        (
            "version = 1\n[[signature]]\nname = \"a\"\nservice = \"x\"\nonly_on_ports = true\n[[signature.match]]\ntext = \"x\"",
            "`only_on_ports`",
        ),
    ];
    for (text, want) in cases {
        let err = SignatureSet::from_toml_str(text, "t.toml")
            .unwrap_err()
            .to_string();
        assert!(err.contains(want), "{err:?} lacks {want:?}");
    }
    let unknown = "version = 1\n[[signature]]\nname = \"a\"\nservice = \"x\"\nport = [1]\n[[signature.match]]\ntext = \"x\"";
    let err = SignatureSet::from_toml_str(unknown, "t.toml").unwrap_err();
    let chain = format!("{err}: {}", std::error::Error::source(&err).unwrap());
    assert!(chain.contains("unknown field `port`"), "{chain}");
}
