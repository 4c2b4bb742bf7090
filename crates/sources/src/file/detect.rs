//! Recognising compression and format from the first bytes.

use std::fmt;

/// Compression wrapped around an input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Zstd,
}

impl Compression {
    pub(super) fn sniff(head: &[u8]) -> Compression {
        if head.starts_with(&[0x1f, 0x8b]) {
            Compression::Gzip
        } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Compression::Zstd
        } else {
            Compression::None
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Compression::None => "none",
            Compression::Gzip => "gzip",
            Compression::Zstd => "zstd",
        }
    }
}

impl fmt::Display for Compression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What an input holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputFormat {
    Pcap,
    Pcapng,
    /// Syslog or journal text with Linux netfilter log lines.
    NetfilterLog,
}

impl InputFormat {
    pub(super) fn sniff(head: &[u8]) -> Option<InputFormat> {
        match portwatch_decode::sniff(head) {
            Some(portwatch_decode::CaptureFormat::Pcapng) => return Some(InputFormat::Pcapng),
            Some(_) => return Some(InputFormat::Pcap),
            None => {}
        }
        portwatch_fwlog::sniff(head).then_some(InputFormat::NetfilterLog)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            InputFormat::Pcap => "pcap",
            InputFormat::Pcapng => "pcapng",
            InputFormat::NetfilterLog => "netfilter-log",
        }
    }
}

impl fmt::Display for InputFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The first bytes, shown so a person can tell what the file is: as text
/// when they are printable, as hex otherwise.
pub(super) fn describe_start(head: &[u8]) -> String {
    let start = &head[..head.len().min(16)];
    if start
        .iter()
        .all(|b| b.is_ascii_graphic() || b.is_ascii_whitespace())
    {
        format!("{:?}", String::from_utf8_lossy(start))
    } else {
        let hex: Vec<String> = start.iter().map(|b| format!("{b:02x}")).collect();
        format!("bytes {}", hex.join(" "))
    }
}
