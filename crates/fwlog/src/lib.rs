//! Netfilter log lines (the iptables `LOG` target, the nftables `log`
//! statement) in syslog and journal files, read into portwatch events.
//!
//! This is how a firewall's dropped-packet log — what psad reads — becomes a
//! portwatch sensor. A [`LogParser`] reads one file's lines in order and gives
//! for each a [`LineOutcome`]: a classified [`portwatch_core::Event`], a line
//! from another program (skipped, counted), or a [`LineError`] that says what
//! is wrong and under which [`portwatch_core::DropReason`] it counts. Stamps
//! may be RFC 3164 (year from [`ParseOptions`], rolling over at New Year),
//! RFC 3339/ISO, RFC 5424 or journald's `short-unix`; the kernel's uptime
//! stamp and any log prefix are ignored. [`sniff`] tells such a file by its
//! content.
//!
//! ```
//! use portwatch_core::{Class, PortKey, Proto, Timestamp};
//! use portwatch_fwlog::{LineOutcome, LogParser, ParseOptions};
//!
//! let mut opts = ParseOptions::new(Timestamp::from_secs(0));
//! opts.year = Some(2007);
//! let mut parser = LogParser::new(opts);
//! let line = "Aug 22 14:00:01 fw kernel: [UFW BLOCK] IN=eth0 OUT= SRC=192.0.2.7 \
//!             DST=198.18.0.5 LEN=44 TOS=0x00 PREC=0x00 TTL=40 ID=54321 PROTO=TCP \
//!             SPT=40000 DPT=5168 WINDOW=1024 RES=0x00 SYN URGP=0";
//! let LineOutcome::Event(ev) = parser.parse_line(line) else { panic!() };
//! assert_eq!(ev.class, Class::Probe);
//! assert_eq!(ev.key, Some(PortKey::new(Proto::Tcp, 5168)));
//! assert_eq!(ev.ts.to_rfc3339(), "2007-08-22T14:00:01Z");
//! assert_eq!(parser.parse_line("Aug 22 14:00:02 fw sshd[1]: hello"), LineOutcome::NotFirewall);
//! ```

mod fields;
mod header;
mod parser;
mod sniff;
mod tokens;
mod year;

pub use parser::{LineError, LineOutcome, LogParser, ParseOptions};
pub use sniff::sniff;
