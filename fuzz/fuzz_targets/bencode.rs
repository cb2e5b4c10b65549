//! Any bytes: decoding never panics, and whatever decodes re-encodes to a value that
//! decodes again to the same value.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(value) = shoal_bencode::decode(data) {
        let owned = value.to_owned_value();
        let encoded = owned.encode();
        let again = shoal_bencode::decode(&encoded).expect("an encoded value decodes");
        assert_eq!(again.to_owned_value(), owned);
    }
    let _ = shoal_bencode::decode_prefix(data);
});
