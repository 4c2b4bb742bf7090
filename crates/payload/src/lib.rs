//! Payload understanding: what do the first bytes a scanner sends ask for?
//!
//! A port's traffic surging says *that* something is wanted there; the
//! payload says *what*. A 2002 surge on TCP 12345 was NetBus clients or Trend
//! Micro OfficeScan probes, and only the first bytes could tell them apart.
//! This crate turns those bytes into:
//!
//! * signature matches from a TOML file ([`SignatureSet`], shipped rules in
//!   [`BUILTIN_SIGNATURES`]): HTTP request line and User-Agent, Docker API,
//!   TLS ClientHello, SSH identification, SMB1/SMB2 negotiate and the
//!   MS17-010 family (PeekNamedPipe check, DoublePulsar ping, EternalBlue NT
//!   Trans), SMBGhost, RDP X.224 with `mstshash`, Telnet IAC negotiation,
//!   Redis RESP/inline, Memcached (TCP and UDP), ADB `CNXN`, SIP, VNC RFB,
//!   NetBus, Trend Micro ServerProtect RPC;
//! * fingerprints from pure wire parsers: JA4 for a TLS ClientHello
//!   ([`parse_client_hello`]) and HASSH for an SSH client ([`parse_ssh_client`]);
//! * clusters of identical payloads with counts ([`PayloadClusters`]);
//! * a safe rendering for humans ([`Escaped`], [`escape_bytes`]).
//!
//! All parsers borrow `&[u8]`, never panic (property-tested and fuzzed), and
//! execute or interpret nothing beyond parsing (rule 10 of the design).
//!
//! ```
//! use portwatch_payload::{SignatureSet, Transport, escape_bytes};
//!
//! let sigs = SignatureSet::builtin()?;
//! let payload = b"\x03\x00\x00\x2a\x25\xe0\x00\x00\x00\x00\x00Cookie: mstshash=admin\r\n";
//! let analysis = sigs.analyze(Transport::Tcp, 3389, payload);
//! let m = &analysis.matches[0];
//! assert_eq!(m.signature, "rdp-x224-connection-request");
//! assert_eq!(m.fields, vec![("mstshash".to_string(), "admin".to_string())]);
//! assert!(escape_bytes(payload).starts_with(r"\x03\x00\x00*%\xe0"));
//! # Ok::<(), portwatch_payload::SignatureError>(())
//! ```
//!
//! # The signature file format
//!
//! A TOML document with `version = 1` and a list of `[[signature]]` tables:
//!
//! | key | type | meaning |
//! |---|---|---|
//! | `name` | string, required | unique id: letters, digits, `-`, `_` |
//! | `service` | string, required | what the payload is for (`smb`, `redis`) |
//! | `description` | string | one sentence for reports |
//! | `ports` | list of integers | the service's usual ports; a match says whether the payload came to one of them (`on_usual_port`) |
//! | `proto` | `"any"` (default), `"tcp"`, `"udp"` | transport the signature applies to |
//! | `only_on_ports` | bool, default false | match only on `ports` (for short, ambiguous patterns) |
//! | `references` | list of strings | advisories, specs, tool pages |
//! | `[[signature.match]]` | one or more tables | the patterns, below |
//!
//! Each `[[signature.match]]` has exactly one of:
//!
//! * `hex = "ff 53 4d 42"`: bytes (spaces allowed), at `offset = N` when
//!   given, else anywhere;
//! * `text = "CNXN"`: ASCII bytes, same `offset` rule;
//! * `regex = '...'`: a [`regex::bytes`] expression with Unicode *off* (so
//!   `\xff` is the byte 0xff and `.` any byte but `\n`); anchor it with `\A`.
//!   Named groups (`(?P<user_agent>...)`) become the match's `fields`,
//!   escaped and cut to 256 bytes.
//!
//! and may say `optional = true`: an optional pattern is not required, it only
//! contributes fields when it matches. Every other pattern must match.
//! Unknown keys are errors, and every error names the file, the signature
//! and the key. Order matters only for [`Analysis::primary`]: the first match
//! in file order, so specific signatures go before general ones.
//!
//! ```toml
//! version = 1
//! [[signature]]
//! name = "adb-connect"
//! service = "adb"
//! ports = [5555]
//! proto = "tcp"
//! references = ["https://android.googlesource.com/platform/packages/modules/adb/+/HEAD/protocol.txt"]
//! [[signature.match]]
//! text = "CNXN"
//! offset = 0
//! [[signature.match]]
//! regex = 'host::(?P<banner>[^\x00]{0,64})'
//! optional = true
//! ```

mod analysis;
mod cluster;
mod error;
mod escape;
mod reader;
mod signature;
mod ssh;
mod tls;

pub use analysis::{Analysis, SshSummary, TlsSummary};
pub use cluster::{Cluster, PayloadClusters};
pub use error::{ParseError, SignatureError};
pub use escape::{Escaped, UnescapeError, escape_bytes, unescape};
pub use signature::{BUILTIN_SIGNATURES, Match, Signature, SignatureSet, Transport};
pub use ssh::{KexInit, SshClient, SshFingerprint, parse_ssh_client};
pub use tls::{ClientHello, is_grease, parse_client_hello};
