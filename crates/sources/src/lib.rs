//! Where events come from.
//!
//! [`file`] opens an input the user names (a path, or `-` for standard
//! input), undoes gzip or zstd compression, and tells from the content — never
//! from the name — whether it is a pcap, a pcapng or a netfilter log. The
//! caller then reads records with `portwatch_decode` or lines with
//! `portwatch_fwlog`. Live capture, log following and the honeypot will live
//! beside it, one folder each.

pub mod file;

pub use file::{Compression, InputError, InputFormat, OpenedInput, open_input};
