//! Config parsing and validation: defaults, ranges, errors naming the key.

#![allow(clippy::unwrap_used)]

use portwatch_honeypot::{HoneypotConfig, HoneypotError};

fn parse(text: &str) -> Result<HoneypotConfig, String> {
    let cfg: HoneypotConfig = toml::from_str(text).map_err(|e| e.to_string())?;
    cfg.validate().map_err(|e| e.to_string())?;
    Ok(cfg)
}

#[test]
fn defaults_are_valid_unprivileged_ports() {
    let cfg = HoneypotConfig::default();
    cfg.validate().unwrap();
    let tcp = cfg.tcp_port_list();
    for p in [2323, 5555, 6379, 8080, 8443, 9200, 11211, 2375, 5168, 12345] {
        assert!(tcp.contains(&p), "{p}");
    }
    assert!(tcp.iter().all(|&p| p >= 1024));
    assert_eq!(cfg.banners[&12345], b"NetBus 1.70\r");
    assert!(
        cfg.udp_replies.is_empty(),
        "UDP is silent unless configured"
    );
}

#[test]
fn ranges_expand_and_hundreds_of_ports_are_fine() {
    let cfg = parse(
        r#"tcp_ports = ["40000-40299", 8080, "8080"]
                       udp_ports = []"#,
    )
    .unwrap();
    assert_eq!(cfg.tcp_port_list().len(), 301);
}

#[test]
fn escaped_banners() {
    let cfg = parse(
        r#"tcp_ports = [2323]
                       [banners]
                       "2323" = '\xff\xfd\x01login: '"#,
    )
    .unwrap();
    assert_eq!(cfg.banners[&2323], b"\xff\xfd\x01login: ");
}

#[test]
fn errors_name_the_key() {
    let cases = [
        ("tcp_port = [1]", "unknown field `tcp_port`"),
        ("tcp_ports = [\"9100-9000\"]", "range goes backwards"),
        ("tcp_ports = [\"http\"]", "not a port or range"),
        (
            "tcp_ports = [1]\n[banners]\n\"1\" = '\\x'",
            "port 1: bad escape",
        ),
        (
            "udp_ports = [1]\n[udp_replies]\n\"2\" = \"x\"",
            "`udp_replies.\"2\"`",
        ),
        ("[limits]\nmax_connections = 0", "`limits.max_connections`"),
        ("[limits]\nmax_bytes = 99999999", "`limits.max_bytes`"),
        (
            "[limits]\nmax_conections = 1",
            "unknown field `max_conections`",
        ),
        ("tcp_ports = [\"1-5000\"]", "`tcp_ports`"),
        ("addresses = []", "`addresses`"),
    ];
    for (text, want) in cases {
        let err = parse(text).unwrap_err();
        assert!(err.contains(want), "{text:?}: {err}");
    }
    let e = HoneypotError::Config {
        key: "limits.x".into(),
        reason: "bad".into(),
    };
    assert_eq!(e.to_string(), "honeypot config: `limits.x`: bad");
}
