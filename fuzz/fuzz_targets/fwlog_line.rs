#![no_main]
//! Any text through the netfilter log reader, line by line with one parser
//! (so the year tracking sees sequences too), and through the sniffer.

use portwatch_core::Timestamp;
use portwatch_fwlog::{LogParser, ParseOptions};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = portwatch_fwlog::sniff(data);
    let text = String::from_utf8_lossy(data);
    let mut parser = LogParser::new(ParseOptions::new(Timestamp::from_secs(1_566_374_401)));
    for line in text.split('\n') {
        let _ = parser.parse_line(line);
    }
});
