//! Any string as a magnet link: an error or a link that formats and parses back equal.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        if let Ok(m) = shoal_core::Magnet::parse(s) {
            let again = shoal_core::Magnet::parse(&m.to_uri()).expect("formatted magnet parses");
            assert_eq!(again.info_hash, m.info_hash);
        }
    }
});
