//! LEDBAT through a bottleneck with a large buffer: the queue the connection builds
//! settles near the 100 ms target, not at the buffer's size, and the link stays full.

mod sim;

use shoal_utp::Config;
use sim::{LinkParams, Sim, Transfer};
use std::time::Duration;

#[test]
fn queueing_delay_settles_near_the_target() {
    const RATE: u64 = 1_000_000; // 8 Mbit/s uplink
                                 // A modem buffer of one second: a TCP-like sender would fill it.
    let up = LinkParams {
        delay: Duration::from_millis(20),
        bandwidth: Some(RATE),
        buffer: RATE as usize,
        ..LinkParams::default()
    };
    let down = LinkParams {
        delay: Duration::from_millis(20),
        ..LinkParams::default()
    };
    let mut sim = Sim::new(11, Config::default(), up, down);
    let mut t = Transfer::start(&mut sim, 64 << 20);
    let mut at_10s = 0;
    sim.run_until(Duration::from_secs(60), |sim| {
        t.pump(sim);
        if at_10s == 0 && sim.elapsed() >= Duration::from_secs(10) {
            at_10s = t.received;
        }
        sim.elapsed() >= Duration::from_secs(40)
    });

    // Queueing delay of the datagrams sent in the last 30 s.
    let from = sim.start + Duration::from_secs(10);
    let q: Vec<f64> = sim
        .ab
        .queue_samples
        .iter()
        .filter(|(at, _)| *at >= from)
        .map(|(_, d)| d.as_secs_f64() * 1e3)
        .collect();
    let mean = q.iter().sum::<f64>() / q.len() as f64;
    let max = q.iter().cloned().fold(0.0, f64::max);
    let rate = (t.received - at_10s) as f64 / 30.0;
    eprintln!(
        "steady state: queueing delay mean {mean:.1} ms, max {max:.1} ms; goodput {:.3} MB/s of a {:.3} MB/s link",
        rate / 1e6,
        RATE as f64 / 1e6
    );
    assert!(
        (70.0..=130.0).contains(&mean),
        "mean queueing delay {mean:.1} ms"
    );
    assert!(
        max < 200.0,
        "max queueing delay {max:.1} ms (buffer is 1000 ms)"
    );
    // Payload over datagram bytes is 1432/1452; the rest is the link.
    assert!(
        rate > 0.95 * RATE as f64 * 1432.0 / 1452.0,
        "goodput {rate:.0} B/s"
    );
    assert_eq!(sim.ab.dropped, 0, "no loss: the buffer never fills");
}
