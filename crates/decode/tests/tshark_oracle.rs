//! Every capture in the shared data folders, decoded by us and by tshark,
//! must agree on: the number of records; pure SYN probes (SYN set, ACK
//! clear) per destination port; UDP datagrams per destination port; and the
//! set of SYN sources.
//!
//! tshark runs with IP reassembly off, so a fragmented datagram counts once,
//! at its first fragment, as it does for us. Only the outermost transport
//! header of a frame counts: the TCP or UDP header quoted inside an ICMP
//! error (or carried in a tunnel) is not a packet sent to that port. Skips
//! with a message when tshark or the data is missing.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::Command;

use portwatch_core::{Proto, tcp_flags};
use portwatch_decode::{CaptureReader, decode};

const FOLDERS: [&str; 5] = [
    "chrissanders-packets",
    "esnet-curated-pcaps",
    "eternalsafety-smb-traces",
    "pcap-attack",
    "zeek-traces",
];

/// What one side saw in one capture.
#[derive(Debug, Default, PartialEq, Eq)]
struct Summary {
    records: usize,
    syn_per_port: BTreeMap<u16, usize>,
    udp_per_port: BTreeMap<u16, usize>,
    syn_sources: BTreeSet<String>,
    /// Per frame (1-based): "syn PORT", "udp PORT" or "", to point at the
    /// first frame the sides disagree on.
    frames: Vec<String>,
}

impl Summary {
    fn add(&mut self, kind: Option<(&str, u16)>, src: &str) {
        self.records += 1;
        let line = match kind {
            Some(("syn", port)) => {
                *self.syn_per_port.entry(port).or_default() += 1;
                self.syn_sources.insert(src.to_string());
                format!("syn {port}")
            }
            Some((_, port)) => {
                *self.udp_per_port.entry(port).or_default() += 1;
                format!("udp {port}")
            }
            None => String::new(),
        };
        self.frames.push(line);
    }
}

fn data_root() -> PathBuf {
    match std::env::var_os("PORTWATCH_SHARED_DATA") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/external"),
    }
}

fn captures(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for folder in FOLDERS {
        let Ok(entries) = std::fs::read_dir(root.join(folder)) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if matches!(
                path.extension().and_then(|e| e.to_str()),
                Some("pcap" | "pcapng")
            ) {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

fn ours(path: &Path) -> Summary {
    let file = File::open(path).expect("shared capture opens");
    let mut reader = CaptureReader::new(file).expect("shared capture has a valid header");
    let mut summary = Summary::default();
    while let Some(record) = reader.next_record() {
        let r = record.unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let (kind, src) = match decode(r.link_type, r.ts, r.data, r.orig_len) {
            Ok(e)
                if e.proto == Some(Proto::Tcp)
                    && e.fp.tcp_flags & (tcp_flags::SYN | tcp_flags::ACK) == tcp_flags::SYN
                    && !is_fragment(&e) =>
            {
                (Some(("syn", e.dport)), e.src.to_string())
            }
            Ok(e) if e.proto == Some(Proto::Udp) && !is_fragment(&e) => {
                (Some(("udp", e.dport)), String::new())
            }
            _ => (None, String::new()),
        };
        summary.add(kind, &src);
    }
    summary
}

fn is_fragment(e: &portwatch_core::Event<'_>) -> bool {
    e.class == portwatch_core::Class::Other(portwatch_core::OtherKind::NonFirstFragment)
}

fn tshark(path: &Path) -> Summary {
    let out = Command::new("tshark")
        .args(["-n", "-r"])
        .arg(path)
        .args(["-o", "ip.defragment:FALSE", "-o", "ipv6.defragment:FALSE"])
        .args(["-T", "fields", "-E", "separator=/t", "-E", "occurrence=f"])
        .args([
            "-e",
            "frame.protocols",
            "-e",
            "tcp.flags",
            "-e",
            "tcp.dstport",
        ])
        .args(["-e", "udp.dstport", "-e", "ip.src", "-e", "ipv6.src"])
        .output()
        .expect("tshark runs");
    assert!(out.status.success(), "tshark failed on {}", path.display());
    let mut summary = Summary::default();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let f: Vec<&str> = line.split('\t').collect();
        let field = |i: usize| f.get(i).copied().unwrap_or("");
        let src = if field(4).is_empty() {
            field(5)
        } else {
            field(4)
        };
        let kind = match outer_transport(field(0)) {
            Some("tcp") => {
                let flags = u16::from_str_radix(field(1).trim_start_matches("0x"), 16).ok();
                let syn_only = flags.is_some_and(|fl| fl & 0x12 == 0x02);
                syn_only.then(|| ("syn", field(2).parse().expect("tshark TCP port")))
            }
            Some("udp") => field(3).parse().ok().map(|port| ("udp", port)),
            _ => None,
        };
        summary.add(kind, src);
    }
    summary
}

/// The protocol right after the first IP layer in tshark's
/// `frame.protocols` (`eth:ethertype:ip:tcp:http` gives `tcp`), skipping
/// IPv6 extension headers.
fn outer_transport(protocols: &str) -> Option<&str> {
    let mut layers = protocols.split(':');
    layers.find(|p| *p == "ip" || *p == "ipv6")?;
    layers.find(|p| !p.starts_with("ipv6."))
}

#[test]
fn decoder_agrees_with_tshark_on_the_shared_captures() {
    let root = data_root();
    let files = captures(&root);
    if files.is_empty() {
        eprintln!("skipped: no captures found under {}", root.display());
        return;
    }
    if Command::new("tshark").arg("--version").output().is_err() {
        eprintln!("skipped: tshark not found");
        return;
    }
    let mut failures = Vec::new();
    for path in &files {
        let (us, them) = (ours(path), tshark(path));
        eprintln!(
            "{}: {} records, {} SYN probes to {} ports from {} sources, {} UDP datagrams",
            path.file_name().unwrap_or_default().to_string_lossy(),
            us.records,
            us.syn_per_port.values().sum::<usize>(),
            us.syn_per_port.len(),
            us.syn_sources.len(),
            us.udp_per_port.values().sum::<usize>(),
        );
        if us != them {
            let first = us.frames.iter().zip(&them.frames).position(|(a, b)| a != b);
            failures.push(format!(
                "{}: records {} vs {}; SYN ports {} vs {}; UDP ports {} vs {}; SYN sources {} vs {}; first differing frame {:?}: ours {:?}, tshark {:?}",
                path.display(),
                us.records,
                them.records,
                us.syn_per_port.values().sum::<usize>(),
                them.syn_per_port.values().sum::<usize>(),
                us.udp_per_port.values().sum::<usize>(),
                them.udp_per_port.values().sum::<usize>(),
                us.syn_sources.len(),
                them.syn_sources.len(),
                first.map(|i| i + 1),
                first.map(|i| &us.frames[i]),
                first.map(|i| &them.frames[i]),
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(
        files.len() >= 20,
        "expected the shared captures, found {}",
        files.len()
    );
}
