//! The link model holds: data never moves faster than the links allow, and a well-fed
//! pipe is not left idle for long.

use shoal_sim::{ContentSpec, Discovery, Limits, Link, StopReason, Swarm, SwarmConfig};
use std::time::Duration;

const LIMITS: Limits = Limits {
    time: Duration::from_secs(600),
    events: 1_000_000,
};

fn pair(content: ContentSpec, seeder: Link, leecher: Link) -> Duration {
    let config = SwarmConfig {
        content,
        discovery: Discovery {
            seeders: true,
            random: 0,
        },
        ..SwarmConfig::default()
    };
    let Ok(mut swarm) = Swarm::with_config(9, config) else {
        unreachable!("valid content spec")
    };
    swarm.add_seeder(seeder);
    let l = swarm.add_leecher(leecher);
    let outcome = swarm.run_with(|s| s.all_complete(), LIMITS);
    assert_eq!(outcome.stop, StopReason::Done, "{outcome:?}");
    assert_eq!(
        swarm.node(l).data().as_deref(),
        Some(&swarm.content().data[..])
    );
    outcome.completed[l.index()].unwrap_or(Duration::MAX)
}

#[test]
fn upload_rate_bounds_the_transfer() {
    let content = ContentSpec::default();
    let floor = Duration::from_secs_f64(content.len as f64 / 1e6);
    let done = pair(
        content,
        Link::symmetric(1_000_000, Duration::ZERO),
        Link::unlimited(Duration::ZERO),
    );
    assert!(done >= floor, "4 MiB at 1 MB/s took {done:?}");
    assert!(
        done <= floor * 2,
        "4 MiB at 1 MB/s took {done:?}: the pipe sat idle"
    );
}

#[test]
fn download_rate_bounds_the_transfer() {
    let content = ContentSpec::default();
    let floor = Duration::from_secs_f64(content.len as f64 / 1e6);
    let done = pair(
        content,
        Link::unlimited(Duration::ZERO),
        Link::new(10_000_000, 1_000_000, Duration::ZERO),
    );
    assert!(
        done >= floor && done <= floor * 2,
        "4 MiB at 1 MB/s down took {done:?}"
    );
}

#[test]
fn latency_delays_a_tiny_transfer() {
    let content = ContentSpec {
        len: 1000,
        piece_len: 16384,
    };
    let one_way = Duration::from_millis(50 + 50);
    let done = pair(
        content,
        Link::unlimited(Duration::from_millis(50)),
        Link::unlimited(Duration::from_millis(50)),
    );
    // Handshake (two round trips to the dialer), a request and its answer (one more).
    assert!(done >= one_way * 6, "took {done:?}");
    assert!(done < one_way * 6 + Duration::from_secs(1), "took {done:?}");
}
