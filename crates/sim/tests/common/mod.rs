//! Shared swarm setups for the integration tests.

#![allow(dead_code)]

use shoal_sim::{Link, NodeId, Swarm};
use std::time::Duration;

/// A leecher link that varies with the node's position, so peers are not all alike:
/// 0.5-2 MB/s up, 2-8 MB/s down, 10-60 ms one-way.
pub fn varied_link(i: u64) -> Link {
    Link::new(
        500_000 + (i % 4) * 500_000,
        2_000_000 + (i % 3) * 3_000_000,
        Duration::from_millis(10 + (i % 6) * 10),
    )
}

/// One seeder, `leechers` leechers and, if `corrupt`, one corrupt peer with a fast link.
pub struct Setup {
    pub swarm: Swarm,
    pub seeder: NodeId,
    pub leechers: Vec<NodeId>,
    pub bad: Option<NodeId>,
}

/// The seeder's upload (and download) rate in `swarm`, bytes per second.
pub const SEEDER_UP: u64 = 2_000_000;

pub fn swarm(seed: u64, leechers: usize, corrupt: bool) -> Setup {
    let mut swarm = Swarm::new(seed);
    let seeder = swarm.add_seeder(Link::symmetric(SEEDER_UP, Duration::from_millis(20)));
    let leechers: Vec<NodeId> = (0..leechers as u64)
        .map(|i| swarm.add_leecher(varied_link(i)))
        .collect();
    let bad = corrupt
        .then(|| swarm.add_corrupt_peer(Link::symmetric(4_000_000, Duration::from_millis(10))));
    Setup {
        swarm,
        seeder,
        leechers,
        bad,
    }
}

/// Every leecher's stored data is the original torrent.
pub fn assert_all_have_original(swarm: &Swarm, leechers: &[NodeId], seed: u64) {
    let original = &swarm.content().data;
    for &l in leechers {
        let data = swarm.node(l).data();
        assert!(
            data.as_deref() == Some(&original[..]),
            "seed {seed}: {l:?} ended with {} of {} pieces, or wrong bytes",
            swarm.node(l).verified_pieces(),
            swarm.content().info.pieces.len()
        );
    }
}

pub fn assert_no_anomalies(swarm: &Swarm, seed: u64) {
    assert!(
        swarm.anomalies().is_empty(),
        "seed {seed}: engine contract violations: {:#?}",
        swarm.anomalies()
    );
}
