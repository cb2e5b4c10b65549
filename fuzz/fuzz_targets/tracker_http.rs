//! Any bytes as the body of an HTTP tracker's announce or scrape reply: a typed error or a
//! reply within the documented bounds, never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;
use shoal_tracker::http::{parse_announce, parse_scrape};
use shoal_tracker::{TrackerError, MAX_MESSAGE, MAX_PEERS};
use std::collections::HashSet;

/// The info-hash the scrape asks about: printable, so a seed corpus can spell it.
const SCRAPED: [u8; 20] = *b"aaaaaaaaaaaaaaaaaaaa";

/// A tracker's text as the crate keeps it: one line, bounded (plus the ellipsis).
fn check_message(text: &str) {
    assert!(text.chars().count() <= MAX_MESSAGE + 1, "{text:?}");
    assert!(!text.chars().any(char::is_control), "{text:?}");
}

fn check_error(e: &TrackerError) {
    if let TrackerError::Failure(reason) = e {
        check_message(reason);
    }
}

fuzz_target!(|data: &[u8]| {
    match parse_announce(data) {
        Ok(reply) => {
            assert!(reply.peers.len() <= MAX_PEERS);
            let mut seen = HashSet::new();
            for peer in &reply.peers {
                assert_ne!(peer.port(), 0);
                assert!(!peer.ip().is_unspecified());
                assert!(seen.insert(*peer), "duplicate peer {peer}");
            }
            if let Some(warning) = &reply.warning {
                check_message(warning);
            }
            assert!(reply.tracker_id.as_ref().is_none_or(|id| id.len() <= 64));
        }
        Err(e) => check_error(&e),
    }
    if let Err(e) = parse_scrape(data, &SCRAPED) {
        check_error(&e);
    }
});
