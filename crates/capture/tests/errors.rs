//! What a user sees when a capture cannot start or ends early: a missing
//! interface, a bad filter, missing privileges, a bad config, and an
//! interface deleted under a running capture.

#![allow(clippy::unwrap_used, clippy::print_stdout)]

mod common;

use std::process::Command;
use std::sync::mpsc::RecvTimeoutError;
use std::time::{Duration, Instant};

use portwatch_capture::{Capture, CaptureConfig, CaptureError, Direction, check_filter};

const AS_NOBODY_ENV: &str = "PW_CAP_AS_NOBODY";

#[test]
fn a_missing_interface_is_named() {
    // libpcap's device list decides, so this holds with or without root.
    let err = Capture::start(CaptureConfig::new("pwnosuch0")).unwrap_err();
    assert!(
        matches!(err, CaptureError::InterfaceNotFound { ref interface, .. } if interface == "pwnosuch0"),
        "{err:?}"
    );
    let msg = err.to_string();
    assert!(
        msg.starts_with("capture interface \"pwnosuch0\" not found"),
        "{msg}"
    );
}

#[test]
fn an_invalid_filter_shows_libpcaps_message() {
    // Without an interface: compiled for Ethernet.
    let err = check_filter("tcp port", 1).unwrap_err();
    assert!(err.to_string().contains("syntax error"), "{err}");
    check_filter("tcp dst port 5168 and not src net 198.18.0.0/15", 1).unwrap();
    // The README's and the crate docs' example.
    check_filter("tcp[tcpflags] & tcp-syn != 0 or udp", 1).unwrap();
    let err = check_filter("ether host zz", 1).unwrap_err();
    assert!(err.to_string().contains("unknown ether host 'zz'"), "{err}");

    // On a live interface (loopback; nothing is sent).
    if !portwatch_testkit::is_root() {
        println!("skipped: live filter check needs root");
        return;
    }
    let mut cfg = CaptureConfig::new("lo");
    cfg.bpf_filter = Some("tcp dst port 5168 and".into());
    let err = Capture::start(cfg).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, CaptureError::InvalidFilter { .. }), "{err:?}");
    assert!(
        msg.starts_with("invalid BPF filter \"tcp dst port 5168 and\" on \"lo\": ")
            && msg.contains("syntax error"),
        "{msg}"
    );
}

/// The permission message tells how to get the privileges.
fn assert_permission_message(err: &CaptureError) {
    assert!(err.is_permission_denied(), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.contains("capturing on \"lo\" needs root or the CAP_NET_RAW capability"),
        "{msg}"
    );
    assert!(
        msg.contains("setcap cap_net_raw,cap_net_admin=eip target/release/portwatch"),
        "{msg}"
    );
}

#[test]
fn without_privileges_the_error_says_what_is_needed() {
    if std::env::var_os(AS_NOBODY_ENV).is_some() || !portwatch_testkit::is_root() {
        // Not root (or the child below, which is `nobody`): starting must fail.
        let err = Capture::start(CaptureConfig::new("lo")).unwrap_err();
        assert_permission_message(&err);
        println!("pwcap permission-denied {err}");
        return;
    }
    if !portwatch_testkit::command_exists("setpriv") {
        println!("skipped: needs setpriv to drop root");
        return;
    }
    // As root: run this test again as `nobody`, without capabilities.
    let out = Command::new("setpriv")
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "--inh-caps=-all",
        ])
        .arg(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "without_privileges_the_error_says_what_is_needed",
            "--nocapture",
        ])
        .env(AS_NOBODY_ENV, "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "as nobody: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("pwcap permission-denied capturing on \"lo\""),
        "{stdout}"
    );
}

#[test]
fn the_skip_message_names_what_is_missing() {
    assert_eq!(common::skip_message(true, &[]), None);
    assert_eq!(
        common::skip_message(false, &[]).unwrap(),
        "skipped: needs root (network namespaces and raw sockets)"
    );
    assert_eq!(
        common::skip_message(true, &["hping3", "nmap"]).unwrap(),
        "skipped: needs hping3, nmap (not installed)"
    );
    assert!(
        common::skip_message(false, &["tshark"])
            .unwrap()
            .starts_with("skipped: needs root")
    );
}

#[test]
fn config_defaults_unknown_keys_and_validation() {
    let cfg: CaptureConfig = toml::from_str("interface = \"eth1\"").unwrap();
    assert_eq!(cfg, CaptureConfig::new("eth1"));
    assert_eq!(
        (
            cfg.snaplen,
            cfg.timeout_ms,
            cfg.promiscuous,
            cfg.buffer_size
        ),
        (65_535, 100, false, None)
    );
    cfg.validate().unwrap();

    let err = toml::from_str::<CaptureConfig>("interface = \"eth1\"\nsnaplength = 96").unwrap_err();
    assert!(
        err.to_string().contains("unknown field `snaplength`"),
        "{err}"
    );
    assert_eq!(cfg.direction, Direction::In);
    let both: CaptureConfig =
        toml::from_str("interface = \"eth1\"\ndirection = \"inout\"").unwrap();
    assert_eq!(both.direction, Direction::InOut);
    let err =
        toml::from_str::<CaptureConfig>("interface = \"eth1\"\ndirection = \"up\"").unwrap_err();
    assert!(err.to_string().contains("unknown variant `up`"), "{err}");
    let err = toml::from_str::<CaptureConfig>("promiscuous = true").unwrap_err();
    assert!(
        err.to_string().contains("missing field `interface`"),
        "{err}"
    );

    type Breaker = fn(&mut CaptureConfig);
    let cases: [(&str, Breaker); 6] = [
        ("interface", |c| c.interface = " ".into()),
        ("snaplen", |c| c.snaplen = 0),
        ("snaplen", |c| c.snaplen = 262_145),
        ("buffer_size", |c| c.buffer_size = Some(4096)),
        ("timeout_ms", |c| c.timeout_ms = 0),
        ("queue_batches", |c| c.queue_batches = 0),
    ];
    for (field, break_it) in cases {
        let mut cfg = CaptureConfig::new("eth1");
        break_it(&mut cfg);
        let err = cfg.validate().unwrap_err();
        assert!(
            err.to_string()
                .starts_with(&format!("invalid capture config: {field}: ")),
            "{err}"
        );
        // start() validates before touching the interface.
        let err = Capture::start(cfg).unwrap_err();
        assert!(
            matches!(err, CaptureError::InvalidConfig { field: f, .. } if f == field),
            "{err:?}"
        );
    }
}

/// Deletes the test's veth pair in the root namespace however the test ends.
struct Link(String);

impl Drop for Link {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["link", "del", &self.0]).status();
    }
}

#[test]
fn stop_is_prompt_and_a_vanished_interface_is_an_error() {
    if common::skip_message(
        portwatch_testkit::is_root(),
        if portwatch_testkit::command_exists("ip") {
            &[]
        } else {
            &["ip"]
        },
    )
    .map(|m| println!("{m}"))
    .is_some()
    {
        return;
    }
    // A veth pair in the root namespace with no addresses and its peer
    // down: no carrier, so not a single packet crosses it.
    let name = format!("pwgone{}", std::process::id());
    let peer = format!("{name}p");
    let ok = Command::new("ip")
        .args(["link", "add", &name, "type", "veth", "peer", "name", &peer])
        .status()
        .unwrap()
        .success();
    assert!(ok, "ip link add");
    let link = Link(name.clone());
    assert!(
        Command::new("ip")
            .args(["link", "set", &name, "up"])
            .status()
            .unwrap()
            .success()
    );

    // A quiet interface and a long read timeout: stop must not wait for a
    // packet that never comes (libpcap's breakloop wakes the thread).
    let mut cfg = CaptureConfig::new(name.clone());
    cfg.timeout_ms = 500;
    let (capture, _packets) = Capture::start(cfg.clone()).unwrap();
    std::thread::sleep(Duration::from_millis(100));
    let t = Instant::now();
    let stats = capture.stop().unwrap();
    assert!(
        t.elapsed() < Duration::from_secs(3),
        "stop took {:?}",
        t.elapsed()
    );
    assert_eq!(stats.received, 0);

    // Deleting the interface ends the capture with an error naming it.
    let (capture, mut packets) = Capture::start(cfg).unwrap();
    drop(link);
    assert_eq!(
        packets.recv_timeout(Duration::from_secs(10)),
        Err(RecvTimeoutError::Disconnected),
        "the receiver ends when the capture does"
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while !capture.is_finished() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(capture.is_finished(), "the capture thread noticed nothing");
    let err = capture.stop().unwrap_err();
    println!("vanished interface: {err}");
    assert!(
        matches!(err, CaptureError::Read { ref interface, .. } if *interface == name),
        "{err:?}"
    );
}
