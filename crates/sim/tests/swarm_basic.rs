//! A seeder, twenty leechers and one peer that serves corrupt data: everyone ends with the
//! right bytes and the liar is banned.

mod common;

use common::{assert_all_have_original, assert_no_anomalies, swarm, SEEDER_UP};
use shoal_sim::{Limits, NodeId, StopReason};
use std::time::Duration;

const LIMITS: Limits = Limits {
    time: Duration::from_secs(3600),
    events: 5_000_000,
};

#[test]
fn twenty_leechers_finish_with_the_original_data() {
    for seed in 1..=3 {
        let mut s = swarm(seed, 20, false);
        let outcome = s.swarm.run_with(|s| s.all_complete(), LIMITS);
        assert_eq!(outcome.stop, StopReason::Done, "seed {seed}: {outcome:?}");
        assert_all_have_original(&s.swarm, &s.leechers, seed);
        assert_no_anomalies(&s.swarm, seed);
        for &l in &s.leechers {
            assert_eq!(
                s.swarm.node(l).stats().hash_failures,
                0,
                "seed {seed}: {l:?}"
            );
            assert!(
                s.swarm.node(l).log().banned.is_empty(),
                "seed {seed}: {l:?} banned an honest peer"
            );
        }
    }
}

#[test]
fn corrupt_peer_is_banned_and_everyone_gets_good_data() {
    for seed in 1..=5 {
        check_corrupt_peer_swarm(seed);
    }
}

/// The same check over many seeds: `SIM_SEEDS=1-200 cargo test -p shoal-sim --release
/// --test swarm_basic -- --ignored --nocapture`.
#[test]
#[ignore = "long: run by hand with SIM_SEEDS=FIRST-LAST"]
fn corrupt_peer_sweep() {
    let range = std::env::var("SIM_SEEDS").unwrap_or_else(|_| "1-50".into());
    let (first, last) = range.split_once('-').unwrap_or((&range, &range));
    let (first, last): (u64, u64) = (first.parse().unwrap_or(1), last.parse().unwrap_or(50));
    for seed in first..=last {
        check_corrupt_peer_swarm(seed);
    }
}

fn check_corrupt_peer_swarm(seed: u64) {
    let mut s = swarm(seed, 20, true);
    let bad = s.bad.unwrap_or(NodeId(u32::MAX));
    let outcome = s.swarm.run_with(|s| s.all_complete(), LIMITS);
    assert_eq!(outcome.stop, StopReason::Done, "seed {seed}: {outcome:?}");
    assert_all_have_original(&s.swarm, &s.leechers, seed);
    assert_no_anomalies(&s.swarm, seed);

    let ban_after = 2; // the engine's default `ban_after_failures`
    let mut banned_by = Vec::new();
    for &l in &s.leechers {
        let node = s.swarm.node(l);
        let log = node.log();
        let failures_with_bad = log.failed_from.get(&bad).copied().unwrap_or(0);
        if failures_with_bad >= ban_after {
            assert!(
                log.banned.contains(&bad),
                "seed {seed}: {l:?} failed {failures_with_bad} pieces with the corrupt peer's blocks but did not ban it"
            );
        }
        if log.banned.contains(&bad) {
            banned_by.push(l);
            assert!(
                node.stats().banned_peers >= 1,
                "seed {seed}: {l:?} banned without counting it"
            );
        }
        assert!(
            log.banned.iter().all(|&b| b == bad),
            "seed {seed}: {l:?} banned honest peers: {:?}",
            log.banned
        );
    }
    assert!(
        !banned_by.is_empty(),
        "seed {seed}: nobody received bad data, the test proves nothing"
    );
    let still_connected = s.swarm.node(bad).connected_to();
    for l in &banned_by {
        assert!(
            !still_connected.contains(l),
            "seed {seed}: {l:?} banned the corrupt peer but is connected to it"
        );
    }
    println!(
        "seed {seed}: done at {:?} after {} events; corrupt peer banned by {} of {} leechers",
        outcome.time,
        outcome.events,
        banned_by.len(),
        s.leechers.len()
    );
}

/// Initial seeding: the only seed sends no block twice before every block went out once,
/// since anything it repeats in that phase delays the whole swarm, and it sends that
/// first copy at nearly its full rate.
#[test]
fn the_seed_sends_every_block_once_before_any_twice() {
    for seed in 1..=3 {
        let mut s = swarm(seed, 20, false);
        let outcome = s.swarm.run_with(|s| s.all_complete(), LIMITS);
        assert_eq!(outcome.stop, StopReason::Done, "seed {seed}: {outcome:?}");
        let served = s
            .swarm
            .node(s.seeder)
            .served()
            .expect("seeders keep a serve log");
        assert!(served.first_copy_at.is_some(), "seed {seed}: {served:?}");
        assert_eq!(
            served.sent_before_first_copy,
            u64::from(served.total),
            "seed {seed}: blocks repeated before the first full copy"
        );
        // ... and its upload does not sit idle meanwhile: the requests for those blocks
        // reach it although the leechers' uplinks are full of blocks for each other.
        let content = s.swarm.content().data.len() as f64;
        let one_copy = content / SEEDER_UP as f64;
        let first_copy = served.first_copy_at.unwrap_or(u64::MAX) as f64 / 1e9;
        assert!(
            first_copy <= 1.3 * one_copy,
            "seed {seed}: first full copy out at {first_copy:.2} s, one copy takes {one_copy:.2} s"
        );
    }
}
