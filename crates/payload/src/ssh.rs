//! SSH client identification string and the HASSH fingerprint.
//!
//! A brute-forcing bot announces itself twice: in its version line
//! (`SSH-2.0-libssh2_1.8.0`, `SSH-2.0-Go`) and in the algorithm lists of its
//! KEXINIT, which HASSH hashes. The version line is trivially faked, the
//! algorithm lists much less so.

use std::fmt;

use md5::{Digest, Md5};
use serde::Serialize;

use crate::ParseError;
use crate::reader::{Reader, hex};

/// RFC 4253 §4.2: the identification line is at most 255 bytes with CR LF.
const MAX_BANNER: usize = 255;
const SSH_MSG_KEXINIT: u8 = 20;
/// RFC 4253 §6.1: implementations must handle packets up to 35000 bytes.
const MAX_PACKET: u32 = 35_000;

/// What an SSH client sent first: its identification line and, when it
/// followed in the same bytes, its KEXINIT algorithm lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SshClient<'a> {
    /// The identification line without CR LF, e.g. `SSH-2.0-OpenSSH_8.9`.
    pub banner: &'a [u8],
    pub kexinit: Option<KexInit<'a>>,
}

/// The client-to-server algorithm lists of a KEXINIT (comma-separated names).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KexInit<'a> {
    pub kex: &'a [u8],
    pub host_key: &'a [u8],
    pub encryption: &'a [u8],
    pub mac: &'a [u8],
    pub compression: &'a [u8],
}

/// HASSH when the KEXINIT was seen, otherwise the identification line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum SshFingerprint {
    /// md5 hex of `kex;encryption;mac;compression`.
    Hassh(String),
    /// The identification line, escaped (see [`Escaped`](crate::Escaped)).
    Banner(String),
}

impl fmt::Display for SshFingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SshFingerprint::Hassh(h) => write!(f, "hassh:{h}"),
            SshFingerprint::Banner(b) => write!(f, "banner:{b}"),
        }
    }
}

/// Parses the first bytes of an SSH client: `SSH-` identification line, then
/// optionally the KEXINIT binary packet. A KEXINIT that is cut or malformed
/// is left out (the banner alone still identifies the client).
///
/// ```
/// let c = portwatch_payload::parse_ssh_client(b"SSH-2.0-Go\r\n").unwrap();
/// assert_eq!(c.banner, b"SSH-2.0-Go");
/// assert_eq!(c.fingerprint().to_string(), "banner:SSH-2.0-Go");
/// ```
pub fn parse_ssh_client(data: &[u8]) -> Result<SshClient<'_>, ParseError> {
    let probe = &data[..data.len().min(4)];
    if !b"SSH-".starts_with(probe) {
        return Err(ParseError::Invalid {
            what: "SSH identification",
            offset: 0,
        });
    }
    let window = &data[..data.len().min(MAX_BANNER)];
    let Some(nl) = window.iter().position(|&b| b == b'\n') else {
        return Err(if data.len() < MAX_BANNER {
            ParseError::Incomplete {
                what: "SSH identification line",
            }
        } else {
            ParseError::Invalid {
                what: "SSH identification line (too long)",
                offset: MAX_BANNER,
            }
        });
    };
    let line = &data[..nl];
    let banner = line.strip_suffix(b"\r").unwrap_or(line);
    if banner.len() < 4 {
        return Err(ParseError::Incomplete {
            what: "SSH identification line",
        });
    }
    let kexinit = parse_kexinit(&data[nl + 1..]);
    Ok(SshClient { banner, kexinit })
}

fn parse_kexinit(data: &[u8]) -> Option<KexInit<'_>> {
    let mut r = Reader::new(data);
    let packet_len = r.u32().ok()?;
    if !(6..=MAX_PACKET).contains(&packet_len) {
        return None;
    }
    let padding = usize::from(r.u8().ok()?);
    let payload_len = usize::try_from(packet_len).ok()?.checked_sub(padding + 1)?;
    let mut p = Reader::new(r.take(payload_len).ok()?);
    if p.u8().ok()? != SSH_MSG_KEXINIT {
        return None;
    }
    p.take(16).ok()?; // cookie
    let mut list = || -> Option<&[u8]> {
        let n = usize::try_from(p.u32().ok()?).ok()?;
        p.take(n).ok()
    };
    let kex = list()?;
    let host_key = list()?;
    let encryption = list()?;
    let _enc_s2c = list()?;
    let mac = list()?;
    let _mac_s2c = list()?;
    let compression = list()?;
    Some(KexInit {
        kex,
        host_key,
        encryption,
        mac,
        compression,
    })
}

impl SshClient<'_> {
    /// The HASSH value (md5 hex of `kex;encryption;mac;compression`), when
    /// the KEXINIT was present.
    pub fn hassh(&self) -> Option<String> {
        let k = self.kexinit.as_ref()?;
        let mut h = Md5::new();
        h.update(k.kex);
        h.update(b";");
        h.update(k.encryption);
        h.update(b";");
        h.update(k.mac);
        h.update(b";");
        h.update(k.compression);
        Some(hex(&h.finalize()))
    }

    /// HASSH when available, otherwise the identification line.
    pub fn fingerprint(&self) -> SshFingerprint {
        match self.hassh() {
            Some(h) => SshFingerprint::Hassh(h),
            None => SshFingerprint::Banner(crate::escape_bytes(self.banner)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn kexinit_packet(lists: [&str; 10]) -> Vec<u8> {
        let mut payload = vec![SSH_MSG_KEXINIT];
        payload.extend([7; 16]);
        for l in lists {
            payload.extend(u32::try_from(l.len()).unwrap().to_be_bytes());
            payload.extend(l.as_bytes());
        }
        payload.extend([0, 0, 0, 0, 0]);
        let padding = 8 - (payload.len() + 5) % 8 + 4;
        let mut out = u32::try_from(payload.len() + padding + 1)
            .unwrap()
            .to_be_bytes()
            .to_vec();
        out.push(u8::try_from(padding).unwrap());
        out.extend(payload);
        out.extend(vec![0; padding]);
        out
    }

    #[test]
    fn hassh_of_a_known_list() {
        let mut data = b"SSH-2.0-OpenSSH_7.4\r\n".to_vec();
        let enc = "aes128-ctr,aes192-ctr";
        let mac = "hmac-sha2-256";
        let kex = "curve25519-sha256,diffie-hellman-group14-sha1";
        data.extend(kexinit_packet([
            kex, "ssh-rsa", enc, enc, mac, mac, "none", "none", "", "",
        ]));
        let c = parse_ssh_client(&data).unwrap();
        assert_eq!(c.banner, b"SSH-2.0-OpenSSH_7.4");
        let expected = {
            let s = format!("{kex};{enc};{mac};none");
            hex(&Md5::digest(s.as_bytes()))
        };
        assert_eq!(c.hassh(), Some(expected.clone()));
        assert_eq!(c.fingerprint(), SshFingerprint::Hassh(expected));
    }

    #[test]
    fn md5_is_md5() {
        // RFC 1321 test vector, so the hex helper and digest are wired right.
        assert_eq!(
            hex(&Md5::digest(b"abc")),
            "900150983cd24fb0d6963f7d28e17f72"
        );
    }

    #[test]
    fn cut_or_foreign_input() {
        assert!(matches!(
            parse_ssh_client(b"SSH-2.0-Op"),
            Err(ParseError::Incomplete { .. })
        ));
        assert!(matches!(
            parse_ssh_client(b"SS"),
            Err(ParseError::Incomplete { .. })
        ));
        assert!(matches!(
            parse_ssh_client(b"GET /"),
            Err(ParseError::Invalid { .. })
        ));
        let c = parse_ssh_client(b"SSH-2.0-x\n\x00\x00\x01").unwrap();
        assert_eq!(c.kexinit, None);
    }
}
