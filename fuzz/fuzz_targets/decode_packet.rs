#![no_main]
//! Any frame on any link type through the decoder; the first two bytes pick
//! the link type, the next four the wire length.

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Some((&[a, b, c, d, e, f], frame)) = data.split_first_chunk::<6>() {
        let link = portwatch_decode::LinkType(u16::from_le_bytes([a, b]));
        let orig_len = u32::from_le_bytes([c, d, e, f]);
        let ts = portwatch_core::Timestamp::from_nanos(0);
        let _ = portwatch_decode::decode(link, ts, frame, orig_len);
    }
});
