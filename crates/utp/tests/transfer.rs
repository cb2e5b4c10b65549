//! Bulk transfers through the simulator: every byte arrives, in order, over lossy,
//! reordering, duplicating, delaying links, across sequence-number wrap-around.

mod sim;

use shoal_utp::Config;
use sim::{LinkParams, Sim, Transfer};
use std::time::Duration;

fn lossy() -> LinkParams {
    LinkParams {
        delay: Duration::from_millis(40),
        bandwidth: Some(4_000_000),
        buffer: 400_000,
        loss: 0.01,
        reorder: 0.005,
        reorder_by: Duration::from_millis(15),
        duplicate: 0.002,
        ..LinkParams::default()
    }
}

#[test]
fn several_mib_arrive_over_loss_reorder_and_delay() {
    for seed in [1, 2, 3] {
        let mut sim = Sim::new(seed, Config::default(), lossy(), lossy());
        let mut t = Transfer::start(&mut sim, 4 << 20);
        t.run(&mut sim, Duration::from_secs(120));
        let stats_dropped = sim.ab.dropped;
        eprintln!(
            "seed {seed}: 4 MiB in {:?} ({:.2} MB/s over a 4 MB/s link), {} of {} datagrams dropped",
            t.finished_at.unwrap() - sim.start,
            t.rate(&sim) / 1e6,
            stats_dropped,
            sim.ab.sent,
        );
        // 1% random loss halves the window often: a Reno-like flow would reach
        // MSS / RTT * 1.22 / sqrt(0.01), about 0.2 MB/s here.
        assert!(
            t.rate(&sim) > 200_000.0,
            "seed {seed}: {:.0} B/s",
            t.rate(&sim)
        );
    }
}

#[test]
fn sequence_numbers_wrap() {
    // 130-byte payloads: 9 MiB is over 72,000 packets, more than the 65,536 numbers.
    let cfg = Config {
        max_packet_size: 150,
        initial_packet_size: 150,
        min_packet_size: 150,
        mtu_probing: false,
        ..Config::default()
    };
    let link = LinkParams {
        delay: Duration::from_millis(5),
        loss: 0.002,
        reorder: 0.002,
        ..LinkParams::default()
    };
    let mut sim = Sim::new(7, cfg, link.clone(), link);
    let mut t = Transfer::start(&mut sim, 9 << 20);
    t.run(&mut sim, Duration::from_secs(600));
    assert!(sim.ab.sent > 70_000, "{} datagrams", sim.ab.sent);
}

#[test]
fn fast_when_the_path_is_clean() {
    let link = LinkParams {
        delay: Duration::from_millis(1),
        ..LinkParams::default()
    };
    let mut sim = Sim::new(9, Config::default(), link.clone(), link);
    let mut t = Transfer::start(&mut sim, 8 << 20);
    t.run(&mut sim, Duration::from_secs(60));
    eprintln!("clean 2 ms RTT: {:.1} MB/s", t.rate(&sim) / 1e6);
    // Bounded by the 1 MiB windows: about 1 MiB per 2 ms round trip.
    assert!(t.rate(&sim) > 50e6, "{:.0} B/s", t.rate(&sim));
}

#[test]
fn one_lost_packet_is_recovered_without_a_timeout() {
    use shoal_utp::packet::PacketType;
    let link = LinkParams {
        delay: Duration::from_millis(10),
        ..LinkParams::default()
    };
    let mut sim = Sim::new(13, Config::default(), link.clone(), link);
    // Drop the 40th data packet, once.
    let mut seen = 0;
    sim.ab.filter = Some(Box::new(move |p| {
        if p.header.packet_type == PacketType::Data {
            seen += 1;
            return seen == 40;
        }
        false
    }));
    let mut t = Transfer::start(&mut sim, 2 << 20);
    let a = t.a_conn.unwrap();
    let mut last = None;
    sim.run_until(Duration::from_secs(30), |s| {
        t.pump(s);
        last = s.a.stats(a).or(last);
        t.eof
    });
    let stats = last.unwrap();
    assert_eq!(sim.ab.dropped, 1);
    assert_eq!(stats.timeouts, 0, "{stats:?}");
    assert_eq!(stats.retransmits, 1, "{stats:?}");
}
