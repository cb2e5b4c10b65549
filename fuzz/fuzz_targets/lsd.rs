//! Any bytes as a Local Service Discovery (BEP 14) datagram from the LAN: a typed error or
//! an announce within bounds, which built again parses back to the same announce.
#![no_main]
use libfuzzer_sys::fuzz_target;
use shoal_discovery::lsd::{build, parse, ParseError, MAX_HASHES};
use std::collections::HashSet;

fuzz_target!(|data: &[u8]| {
    let Ok(announce) = parse(data) else {
        return;
    };
    assert_ne!(announce.port, 0);
    assert!((1..=MAX_HASHES).contains(&announce.info_hashes.len()));
    let distinct: HashSet<_> = announce.info_hashes.iter().collect();
    assert_eq!(distinct.len(), announce.info_hashes.len());

    let cookie = announce.cookie.clone().unwrap_or_default();
    let text = build("239.192.152.143:6771", announce.port, &announce.info_hashes, &cookie);
    match parse(text.as_bytes()) {
        Ok(again) => {
            assert_eq!(again.port, announce.port);
            assert_eq!(again.cookie.as_deref(), Some(cookie.as_str()));
            // A long cookie leaves room for fewer hashes; those sent are the first ones.
            assert!(announce.info_hashes.starts_with(&again.info_hashes));
        }
        // Only a cookie too long for even one hash in the datagram.
        Err(e) => {
            assert_eq!(e, ParseError::NoInfoHash);
            assert!(!text.contains("Infohash"));
        }
    }
});
