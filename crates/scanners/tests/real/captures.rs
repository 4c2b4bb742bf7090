//! `tool_of` on real captures: every probe of a tool's capture gets that
//! tool, everything else gets `Unknown`.

use std::collections::BTreeMap;
use std::path::Path;

use portwatch_scanners::Tool;

use crate::{shared, tools_dir, tools_in};

#[track_caller]
fn assert_tools(path: &Path, expected: &[(Tool, u64)]) {
    let got = tools_in(path);
    let want: BTreeMap<Tool, u64> = expected.iter().copied().collect();
    assert_eq!(got, want, "{}", path.display());
}

#[test]
fn recorded_tool_captures() {
    let dir = tools_dir();
    let cases: &[(&str, &[(Tool, u64)])] = &[
        ("nmap-syn.pcap", &[(Tool::Nmap, 128)]),
        ("nmap-decoy.pcap", &[(Tool::Nmap, 32)]),
        ("nmap-syn6.pcap", &[(Tool::Nmap, 64)]),
        // Two raw SYNs from nmap; the third is the kernel's connect() SYN
        // for the version probe, which looks like any Linux client.
        ("nmap-sv.pcap", &[(Tool::Nmap, 2), (Tool::Unknown, 1)]),
        ("masscan.pcap", &[(Tool::Masscan, 768)]),
        ("zmap.pcap", &[(Tool::ZMap, 256)]),
        ("zmap-udp0.pcap", &[(Tool::ZMap, 256)]),
        ("hping3-syn.pcap", &[(Tool::Unknown, 200)]),
        ("hping3-udp0.pcap", &[(Tool::Unknown, 50)]),
        ("hping3-icmp.pcap", &[(Tool::Unknown, 20)]),
    ];
    for (name, expected) in cases {
        assert_tools(&dir.join(name), expected);
    }
}

#[test]
fn esnet_masscan() {
    if let Some(p) = shared("esnet-curated-pcaps/masscan_tcp_0_1000_20190821.pcap") {
        assert_tools(&p, &[(Tool::Masscan, 1001)]);
    }
    // Masscan's UDP probes carry no cookie in the IP ID: not recognised.
    if let Some(p) = shared("esnet-curated-pcaps/masscan_udp_0_1000_20190821.pcap") {
        assert_tools(&p, &[(Tool::Unknown, 1001)]);
    }
}

#[test]
fn chrissanders_synscan_is_nmap() {
    if let Some(p) = shared("chrissanders-packets/synscan.pcapng") {
        assert_tools(&p, &[(Tool::Nmap, 1994)]);
    }
}

/// Zeek's nmap-vsn trace is an nmap *connect* scan (`-sV` without root):
/// its SYNs come from the macOS stack (window 65535, MSS/NOP/WS/TS/SACK)
/// and carry nothing of nmap, so they must stay unknown.
#[test]
fn zeek_nmap_connect_scan_is_unknown() {
    if let Some(p) = shared("zeek-traces/nmap-vsn.pcap") {
        let got = tools_in(&p);
        assert_eq!(
            got.keys().copied().collect::<Vec<_>>(),
            [Tool::Unknown],
            "{got:?}"
        );
    }
}

#[test]
fn ordinary_clients_are_unknown() {
    if let Some(p) = shared("chrissanders-packets/tcp_ports.pcapng") {
        let got = tools_in(&p);
        assert_eq!(
            got.keys().copied().collect::<Vec<_>>(),
            [Tool::Unknown],
            "{got:?}"
        );
    }
}

/// Every other external capture (exploits, RDP, SSH guessing, Docker API,
/// Redis, link-type tests) holds no scanner traffic: no probe in them may be
/// claimed by a tool.
#[test]
fn no_tool_claimed_in_other_captures() {
    let files = [
        "eternalsafety-smb-traces/doublepulsar-backdoor-connect-win7.pcap",
        "eternalsafety-smb-traces/eternalblue-success-unpatched-win7.pcap",
        "eternalsafety-smb-traces/metasploit-ms017-010-win7x64.pcap",
        "eternalsafety-smb-traces/wannacry.pcap",
        "pcap-attack/LM_rdp_sharprdp.pcapng",
        "zeek-traces/http_docker-http-upgrade.pcap",
        "zeek-traces/linux_dlt_sll2.pcap",
        "zeek-traces/nflog-http.pcap",
        "zeek-traces/rdp_rdp-proprietary-encryption.pcap",
        "zeek-traces/rfb_vnc-scanner.pcap",
        "zeek-traces/ssh_sshguess.pcap",
        "zeek-traces/tcp_payload-syn.pcap",
    ];
    for f in files {
        let Some(p) = shared(f) else { continue };
        let got = tools_in(&p);
        assert!(got.keys().all(|t| *t == Tool::Unknown), "{f}: {got:?}");
    }
}
