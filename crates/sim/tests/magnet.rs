//! A leecher that only has the info-hash fetches the metadata over ut_metadata, then the data.

mod common;

use common::{assert_all_have_original, assert_no_anomalies, varied_link};
use shoal_sim::{Discovery, Limits, Link, NodeId, StopReason, Swarm, SwarmConfig};
use std::time::Duration;

const LIMITS: Limits = Limits {
    time: Duration::from_secs(3600),
    events: 2_000_000,
};

/// One seeder and one magnet leecher that knows the seeder's address (an `x.pe` hint); the
/// seeder knows nobody, so only the leecher dials.
fn seeder_and_magnet(seed: u64) -> (Swarm, NodeId) {
    let config = SwarmConfig {
        discovery: Discovery {
            seeders: true,
            random: 0,
        },
        ..SwarmConfig::default()
    };
    let Ok(mut swarm) = Swarm::with_config(seed, config) else {
        unreachable!("default content spec")
    };
    swarm.add_seeder(Link::symmetric(2_000_000, Duration::from_millis(20)));
    let magnet = swarm.add_magnet_leecher(varied_link(seed));
    (swarm, magnet)
}

#[test]
fn magnet_leecher_gets_metadata_then_data_from_a_seeder() {
    for seed in 1..=5 {
        let (mut swarm, magnet) = seeder_and_magnet(seed);
        assert!(!swarm.node(magnet).stats().has_metadata);
        let outcome = swarm.run_with(|s| s.all_complete(), LIMITS);
        assert_eq!(outcome.stop, StopReason::Done, "seed {seed}: {outcome:?}");
        let node = swarm.node(magnet);
        assert!(node.stats().has_metadata, "seed {seed}");
        let (meta_at, done_at) = (node.log().metadata_at, node.log().completed_at);
        assert!(
            meta_at.is_some() && meta_at <= done_at,
            "seed {seed}: metadata at {meta_at:?}, done at {done_at:?}"
        );
        assert_all_have_original(&swarm, &[magnet], seed);
        assert_no_anomalies(&swarm, seed);
    }
}

#[test]
fn magnet_leechers_in_a_swarm_of_leechers() {
    let seed = 11;
    let mut swarm = Swarm::new(seed);
    swarm.add_seeder(Link::symmetric(2_000_000, Duration::from_millis(20)));
    let mut downloaders = Vec::new();
    for i in 0..10 {
        downloaders.push(swarm.add_leecher(varied_link(i)));
        downloaders.push(swarm.add_magnet_leecher(varied_link(i + 3)));
    }
    let outcome = swarm.run_with(|s| s.all_complete(), LIMITS);
    assert_eq!(outcome.stop, StopReason::Done, "seed {seed}: {outcome:?}");
    assert_all_have_original(&swarm, &downloaders, seed);
    assert_no_anomalies(&swarm, seed);
}

/// Both sides dial each other at the same moment. Both engines must keep the same one of the
/// two connections (the one dialed by the lower peer id), or each drops the one the other
/// kept and they never talk.
#[test]
fn simultaneous_dial_still_connects() {
    let seed = 3;
    let (mut swarm, magnet) = seeder_and_magnet(seed);
    swarm.introduce(NodeId(0), &[magnet]);
    let outcome = swarm.run_with(|s| s.all_complete(), LIMITS);
    assert_eq!(outcome.stop, StopReason::Done, "seed {seed}: {outcome:?}");
    assert_all_have_original(&swarm, &[magnet], seed);
}
