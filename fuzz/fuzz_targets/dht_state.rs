//! Any bytes as the DHT state file: a bounded list of distinct nodes, never a panic, and
//! the list written back reads the same.
#![no_main]
use libfuzzer_sys::fuzz_target;
use shoal_discovery::dht_state::{format, parse, MAX_NODES};
use std::collections::HashSet;

fuzz_target!(|data: &[u8]| {
    let nodes = parse(data);
    assert!(nodes.len() <= MAX_NODES);
    assert!(nodes.iter().all(|n| n.port() != 0));
    assert_eq!(nodes.iter().collect::<HashSet<_>>().len(), nodes.len());
    assert_eq!(parse(format(&nodes).as_bytes()), nodes);
});
