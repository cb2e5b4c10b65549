//! A run is a function of its seed.

mod common;

use common::swarm;
use shoal_sim::Limits;
use std::time::Duration;

const LIMITS: Limits = Limits {
    time: Duration::from_secs(3600),
    events: 5_000_000,
};

#[test]
fn same_seed_same_outcome() {
    for seed in [3, 4] {
        let mut a = swarm(seed, 12, true);
        let mut b = swarm(seed, 12, true);
        let oa = a.swarm.run_with(|s| s.all_complete(), LIMITS);
        let ob = b.swarm.run_with(|s| s.all_complete(), LIMITS);
        assert_eq!(oa, ob, "seed {seed}");
        for n in a.swarm.node_ids() {
            assert_eq!(
                a.swarm.node(n).log(),
                b.swarm.node(n).log(),
                "seed {seed}: {n:?}"
            );
        }
    }
}

#[test]
fn different_seeds_differ() {
    let mut a = swarm(5, 12, false);
    let mut b = swarm(6, 12, false);
    let oa = a.swarm.run_with(|s| s.all_complete(), LIMITS);
    let ob = b.swarm.run_with(|s| s.all_complete(), LIMITS);
    assert!(oa.is_done() && ob.is_done());
    assert_ne!(a.swarm.content().data, b.swarm.content().data);
    assert_ne!(
        oa.completed, ob.completed,
        "two seeds gave the exact same completion times"
    );
}

#[test]
fn fidelity_changes_memory_not_behaviour() {
    use shoal_sim::{Fidelity, Link, Swarm, SwarmConfig};
    let run = |fidelity| {
        let config = SwarmConfig {
            fidelity,
            ..SwarmConfig::default()
        };
        let Ok(mut swarm) = Swarm::with_config(8, config) else {
            unreachable!("default content spec")
        };
        swarm.add_seeder(Link::default());
        swarm.add_corrupt_peer(Link::default());
        let leechers: Vec<_> = (0..8)
            .map(|i| swarm.add_leecher(common::varied_link(i)))
            .collect();
        let outcome = swarm.run_with(|s| s.all_complete(), LIMITS);
        common::assert_all_have_original(&swarm, &leechers, 8);
        outcome
    };
    let exact = run(Fidelity::Exact);
    assert!(exact.is_done(), "{exact:?}");
    assert_eq!(exact, run(Fidelity::Fast));
}

#[test]
fn thread_count_changes_speed_not_behaviour() {
    use shoal_sim::{Link, Swarm, SwarmConfig};
    let run = |threads| {
        let config = SwarmConfig {
            threads,
            ..SwarmConfig::default()
        };
        let Ok(mut swarm) = Swarm::with_config(11, config) else {
            unreachable!("default content spec")
        };
        swarm.add_seeder(Link::default());
        swarm.add_corrupt_peer(Link::default());
        let leechers: Vec<_> = (0..24)
            .map(|i| swarm.add_leecher(common::varied_link(i)))
            .collect();
        // Run in steps with a node leaving halfway, as a caller sampling the swarm would.
        let step = Limits {
            time: Duration::from_millis(700),
            events: LIMITS.events,
        };
        let mut outcome = swarm.run_with(|s| s.all_complete(), step);
        swarm.take_offline(leechers[3]);
        while outcome.stop == shoal_sim::StopReason::TimeLimit {
            outcome = swarm.run_with(|s| s.all_complete(), step);
        }
        let logs: Vec<_> = swarm
            .node_ids()
            .map(|n| swarm.node(n).log().clone())
            .collect();
        let sent: Vec<_> = swarm
            .node_ids()
            .map(|n| swarm.node(n).payload_sent())
            .collect();
        (outcome, logs, sent, swarm.anomalies().to_vec())
    };
    let one = run(1);
    assert!(one.0.is_done(), "{:?}", one.0);
    for threads in [2, 3] {
        assert!(one == run(threads), "{threads} threads changed the run");
    }
}
