//! The shipped signatures against client payloads from real captures in
//! `../shared/data/external` (see its INDEX.md). Skipped, with a `skipped:`
//! line, when the data is not beside the checkout.

#![allow(clippy::unwrap_used, clippy::print_stdout)]

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::PathBuf;

use portwatch_core::Proto;
use portwatch_decode::{CaptureReader, decode};
use portwatch_payload::{Analysis, SignatureSet, SshFingerprint, Transport, escape_bytes};

fn external(rel: &str) -> Option<PathBuf> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/external");
    let path = root.join(rel);
    if path.exists() {
        Some(path)
    } else {
        println!(
            "skipped: {} not found (real captures live in ../shared)",
            path.display()
        );
        None
    }
}

/// Client payloads to `port`, per TCP connection in order of appearance,
/// each connection's payloads in capture order.
fn client_payloads(rel: &str, port: u16) -> Option<Vec<Vec<Vec<u8>>>> {
    let path = external(rel)?;
    let file = std::fs::File::open(&path).unwrap();
    let mut reader = CaptureReader::new(std::io::BufReader::new(file)).unwrap();
    let mut order: Vec<(IpAddr, u16)> = Vec::new();
    let mut flows: HashMap<(IpAddr, u16), Vec<Vec<u8>>> = HashMap::new();
    while let Some(record) = reader.next_record() {
        let Ok(record) = record else { continue };
        let Ok(ev) = decode(record.link_type, record.ts, record.data, record.orig_len) else {
            continue;
        };
        if ev.proto != Some(Proto::Tcp) || ev.dport != port || ev.payload.is_empty() {
            continue;
        }
        let key = (ev.src, ev.sport);
        let flow = flows.entry(key).or_insert_with(|| {
            order.push(key);
            Vec::new()
        });
        flow.push(ev.payload.to_vec());
    }
    Some(
        order
            .into_iter()
            .map(|k| flows.remove(&k).unwrap_or_default())
            .collect(),
    )
}

fn sigs() -> &'static SignatureSet {
    static SIGS: std::sync::OnceLock<SignatureSet> = std::sync::OnceLock::new();
    SIGS.get_or_init(|| SignatureSet::builtin().unwrap())
}

fn analyze(port: u16, payload: &[u8]) -> Analysis {
    let a = sigs().analyze(Transport::Tcp, port, payload);
    let shown = escape_bytes(&payload[..payload.len().min(48)]);
    println!("{port}: {:?} {shown}", a.primary());
    a
}

fn field<'a>(a: &'a Analysis, name: &str) -> Option<&'a str> {
    a.matches
        .iter()
        .flat_map(|m| &m.fields)
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

#[test]
fn rdp_connection_requests_with_and_without_cookie() {
    let Some(flows) = client_payloads("pcap-attack/LM_rdp_sharprdp.pcapng", 3389) else {
        return;
    };
    assert_eq!(flows.len(), 2);
    for flow in &flows {
        let a = analyze(3389, &flow[0]);
        assert_eq!(a.primary(), Some("rdp-x224-connection-request"));
        assert_eq!(field(&a, "mstshash"), Some("IEUser"));
    }
    let Some(flows) = client_payloads("zeek-traces/rdp_rdp-proprietary-encryption.pcap", 3389)
    else {
        return;
    };
    let a = analyze(3389, &flows[0][0]);
    assert_eq!(a.primary(), Some("rdp-x224-connection-request"));
    assert!(field(&a, "mstshash").is_some());
    let Some(flows) = client_payloads("zeek-traces/rdp_rdp-no-cookie-mstshash.pcap", 3389) else {
        return;
    };
    let a = analyze(3389, &flows[0][0]);
    assert_eq!(a.primary(), Some("rdp-x224-connection-request"));
    assert_eq!(field(&a, "mstshash"), None);
}

#[test]
fn docker_api_probe() {
    let Some(flows) = client_payloads("zeek-traces/http_docker-http-upgrade.pcap", 2375) else {
        return;
    };
    assert!(!flows.is_empty());
    for flow in &flows {
        let a = analyze(2375, &flow[0]);
        assert_eq!(a.primary(), Some("docker-api"));
    }
    let first = analyze(2375, &flows[0][0]);
    assert_eq!(field(&first, "target"), Some("/_ping"));
}

#[test]
fn redis_resp_commands() {
    for (file, command) in [
        ("zeek-traces/redis_auth.pcap", "AUTH"),
        ("zeek-traces/redis_set.pcap", "SET"),
    ] {
        let Some(flows) = client_payloads(file, 6379) else {
            return;
        };
        let a = analyze(6379, &flows[0][0]);
        assert_eq!(a.primary(), Some("redis-resp"), "{file}");
        assert_eq!(field(&a, "command"), Some(command), "{file}");
    }
}

/// Every signature name seen in any client payload of the capture.
fn smb_names(file: &str) -> Option<(Vec<String>, Vec<String>)> {
    let flows = client_payloads(file, 445)?;
    let mut firsts = Vec::new();
    let mut all = Vec::new();
    for flow in &flows {
        for (i, p) in flow.iter().enumerate() {
            let a = analyze(445, p);
            if let Some(name) = a.primary() {
                if i == 0 {
                    firsts.push(name.to_owned());
                }
                all.push(name.to_owned());
            }
        }
    }
    Some((firsts, all))
}

#[test]
fn smb_eternalblue_and_doublepulsar() {
    let cases: &[(&str, &[&str])] = &[
        (
            "eternalsafety-smb-traces/doublepulsar-backdoor-connect-win7.pcap",
            &["smb-doublepulsar-ping"],
        ),
        (
            "eternalsafety-smb-traces/eternalblue-success-unpatched-win7.pcap",
            &[
                "smb-ms17-010-eternalblue-nttrans",
                "smb-trans2-secondary",
                "smb-ms17-010-eternalblue-groom",
                "smb-doublepulsar-ping",
            ],
        ),
        (
            "eternalsafety-smb-traces/metasploit-ms017-010-win7x64.pcap",
            &["smb-ms17-010-eternalblue-nttrans", "smb-trans2-secondary"],
        ),
    ];
    for (file, wanted) in cases {
        let Some((firsts, all)) = smb_names(file) else {
            return;
        };
        assert!(!firsts.is_empty(), "{file}");
        // Every connection opens with a negotiate, or is a grooming connection.
        let opening = ["smb1-negotiate", "smb-ms17-010-eternalblue-groom"];
        assert!(
            firsts.iter().all(|n| opening.contains(&n.as_str())),
            "{file}: {firsts:?}"
        );
        assert_eq!(firsts[0], "smb1-negotiate", "{file}");
        for w in *wanted {
            assert!(all.iter().any(|n| n == w), "{file}: {w} not in {all:?}");
        }
    }
}

#[test]
fn smbghost_compression_header() {
    let Some(flows) = client_payloads(
        "pcap-attack/CVE-2020-0796_SMBGhost_PrivEsc_Loopback_traffic.pcapng",
        445,
    ) else {
        return;
    };
    let names: Vec<_> = flows
        .iter()
        .flatten()
        .filter_map(|p| analyze(445, p).primary().map(str::to_owned))
        .collect();
    assert!(
        names.iter().any(|n| n == "smbghost-compressed"),
        "{names:?}"
    );
}

#[test]
fn ssh_password_guessing_clients() {
    let Some(flows) = client_payloads("zeek-traces/ssh_sshguess.pcap", 22) else {
        return;
    };
    assert_eq!(flows.len(), 11);
    let mut hasshes = std::collections::BTreeSet::new();
    for flow in &flows {
        let a = analyze(22, &flow[0]);
        assert_eq!(a.primary(), Some("ssh-client"));
        let ssh = a.ssh.expect("ssh summary");
        println!("  {} {}", ssh.banner, ssh.fingerprint);
        // The KEXINIT follows in its own segments (1448 + 144 bytes here):
        // reassembled with the banner, it gives HASSH.
        let joined: Vec<u8> = flow.iter().take(3).flatten().copied().collect();
        let both = sigs().analyze(Transport::Tcp, 22, &joined);
        let fp = both.ssh.expect("ssh").fingerprint;
        println!("  reassembled: {fp}");
        // Wireshark 4.0's `ssh.kex.hassh` gives the same value for all 11.
        assert_eq!(
            fp,
            SshFingerprint::Hassh("1f120ecfc2c57fbdeaf66b93a3bf26ee".into())
        );
        hasshes.insert(fp.to_string());
    }
    // One guessing tool, one fingerprint across its eleven connections.
    assert_eq!(hasshes.len(), 1, "{hasshes:?}");
}

#[test]
fn vnc_scanner() {
    let Some(flows) = client_payloads("zeek-traces/rfb_vnc-scanner.pcap", 5900) else {
        return;
    };
    let a = analyze(5900, &flows[0][0]);
    assert_eq!(a.primary(), Some("vnc-rfb-version"));
    assert_eq!(field(&a, "version"), Some("003.008"));
}

#[test]
fn nmap_service_detection_probes() {
    let Some(flows) = client_payloads("esnet-curated-pcaps/nmap_80_w_service_detection.pcap", 80)
    else {
        return;
    };
    let names: Vec<_> = flows
        .iter()
        .filter_map(|f| analyze(80, &f[0]).primary().map(str::to_owned))
        .collect();
    // nmap -sV sends its GetRequest/HTTPOptions probes as plain HTTP/1.0.
    assert!(
        names.iter().filter(|n| *n == "http-request").count() >= 2,
        "{names:?}"
    );
}

#[test]
fn tls_client_hello_from_a_metasploit_session() {
    // The only ClientHello in the captures: Meterpreter's handler (port
    // 4444) opening TLS on the reverse connection from port 33047.
    let Some(flows) = client_payloads(
        "eternalsafety-smb-traces/metasploit-ms017-010-win7x64.pcap",
        33047,
    ) else {
        return;
    };
    let hellos: Vec<Analysis> = flows
        .iter()
        .flatten()
        .map(|p| analyze(33047, p))
        .filter(|a| a.tls.is_some())
        .collect();
    assert_eq!(hellos.len(), 1);
    assert!(hellos[0].matched("tls-client-hello"));
    // Expected value built from tshark's fields for this hello (version
    // 0x0301, 16 ciphers incl. 0x00ff, one extension 0x0023, no SNI, no
    // ALPN, no signature algorithms) and hashed with Python's hashlib.
    assert_eq!(
        hellos[0].tls.as_ref().unwrap().ja4,
        "t10i160100_16479165d509_e78b541c01a9"
    );
}
