//! Peers that stall, and peers that leave or join mid-download.

mod common;

use common::{assert_all_have_original, assert_no_anomalies, swarm, varied_link};
use shoal_sim::{Limits, Link, StopReason};
use std::time::Duration;

const LIMITS: Limits = Limits {
    time: Duration::from_secs(3600),
    events: 5_000_000,
};

#[test]
fn silent_peers_do_not_stall_the_download() {
    for seed in 1..=3 {
        let mut s = swarm(seed, 10, false);
        for _ in 0..2 {
            s.swarm
                .add_silent_peer(Link::symmetric(4_000_000, Duration::from_millis(10)));
        }
        let outcome = s.swarm.run_with(|s| s.all_complete(), LIMITS);
        assert_eq!(outcome.stop, StopReason::Done, "seed {seed}: {outcome:?}");
        assert_all_have_original(&s.swarm, &s.leechers, seed);
        assert_no_anomalies(&s.swarm, seed);
        println!("seed {seed}: done at {:?}", outcome.time);
    }
}

#[test]
fn leechers_leaving_and_joining_mid_download() {
    for seed in 1..=3 {
        let mut s = swarm(seed, 20, false);
        let early = Limits {
            time: Duration::from_secs(3),
            ..LIMITS
        };
        let first = s.swarm.run_with(|s| s.all_complete(), early);
        assert_eq!(
            first.stop,
            StopReason::TimeLimit,
            "seed {seed}: finished too early to test churn"
        );
        let (leaving, staying) = s.leechers.split_at(5);
        for &l in leaving {
            s.swarm.take_offline(l);
        }
        let late: Vec<_> = (0..5)
            .map(|i| s.swarm.add_leecher(varied_link(i)))
            .collect();
        let outcome = s.swarm.run_with(|s| s.all_complete(), LIMITS);
        assert_eq!(outcome.stop, StopReason::Done, "seed {seed}: {outcome:?}");
        assert_all_have_original(&s.swarm, staying, seed);
        assert_all_have_original(&s.swarm, &late, seed);
        assert_no_anomalies(&s.swarm, seed);
        for &l in leaving {
            assert!(
                s.swarm.node(l).connected_to().is_empty(),
                "seed {seed}: offline {l:?} still connected"
            );
        }
        println!("seed {seed}: done at {:?}", outcome.time);
    }
}

/// The seeder leaves as soon as the leechers together hold every piece.
#[test]
fn swarm_finishes_after_the_seeder_leaves() {
    for seed in 1..=3 {
        let mut s = swarm(seed, 20, false);
        let pieces = s.swarm.content().info.pieces.len() as u32;
        let step = Limits {
            time: Duration::from_millis(100),
            ..LIMITS
        };
        let covered = |sw: &shoal_sim::Swarm| {
            (0..pieces).all(|p| s.leechers.iter().any(|&l| sw.node(l).has_piece(p)))
        };
        while !covered(&s.swarm) && s.swarm.now() < LIMITS.time {
            s.swarm.run_with(|_| false, step);
        }
        let left_at = s.swarm.now();
        assert!(
            !s.swarm.all_complete(),
            "seed {seed}: everyone finished before the seeder could leave"
        );
        s.swarm.take_offline(s.seeder);
        let outcome = s.swarm.run_with(|s| s.all_complete(), LIMITS);
        assert_eq!(outcome.stop, StopReason::Done, "seed {seed}: {outcome:?}");
        assert_all_have_original(&s.swarm, &s.leechers, seed);
        assert_no_anomalies(&s.swarm, seed);
        println!(
            "seed {seed}: seeder left at {left_at:?}, done at {:?}",
            outcome.time
        );
    }
}
