#![no_main]
//! Any bytes through the capture reader: no panic, no endless loop.

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(mut reader) = portwatch_decode::CaptureReader::new(data) {
        while reader.next_record().is_some() {}
    }
});
