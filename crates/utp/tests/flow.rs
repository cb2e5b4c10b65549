//! Flow control and packet size: a receiver that never reads bounds what is held and
//! stalls the sender without killing the connection; the MTU search finds the path's.

mod sim;

use shoal_utp::Config;
use sim::{LinkParams, Sim, Transfer};
use std::time::Duration;

#[test]
fn a_receiver_that_never_reads_holds_bounded_memory() {
    let cfg = Config::default();
    let (send_max, recv_max) = (cfg.send_buffer_size, cfg.recv_buffer_size);
    let link = LinkParams {
        delay: Duration::from_millis(10),
        ..LinkParams::default()
    };
    let mut sim = Sim::new(21, cfg, link.clone(), link);
    let mut t = Transfer::start(&mut sim, 64 << 20);
    t.b_reads = false;
    let (a, mut sent_at_30s) = (t.a_conn.unwrap(), 0);
    sim.run_until(Duration::from_secs(200), |s| {
        t.pump(s);
        if let (Some(sa), Some(sb)) = (s.a.stats(a), t.b_conn.and_then(|b| s.b.stats(b))) {
            assert!(sa.send_buffered <= send_max);
            assert!(sb.recv_buffered <= recv_max, "{} held", sb.recv_buffered);
        }
        if s.elapsed() < Duration::from_secs(30) {
            sent_at_30s = s.ab.sent;
        }
        s.elapsed() > Duration::from_secs(150)
    });
    // Stalled: no more than both buffers' worth taken, few probes sent while stalled.
    assert!(t.written <= send_max + recv_max, "{} written", t.written);
    let probes = sim.ab.sent - sent_at_30s;
    eprintln!(
        "stalled 120 s: {} bytes taken by the sender, {probes} datagrams sent",
        t.written
    );
    assert!(probes < 200, "{probes} datagrams while stalled");
    assert!(sim.closed_a(a).is_none(), "the connection stays up");

    // Reading again, the transfer finishes.
    t.b_reads = true;
    t.run(&mut sim, Duration::from_secs(120));
}

fn mtu_search(link_mtu: usize, max: usize) -> usize {
    let cfg = Config {
        max_packet_size: max,
        ..Config::default()
    };
    let link = LinkParams {
        mtu: link_mtu,
        delay: Duration::from_millis(5),
        ..LinkParams::default()
    };
    let mut sim = Sim::new(31, cfg, link.clone(), link);
    let mut t = Transfer::start(&mut sim, 4 << 20);
    let mut size = 0;
    let a = t.a_conn.unwrap();
    sim.run_until(Duration::from_secs(30), |s| {
        t.pump(s);
        if let Some(st) = s.a.stats(a) {
            size = st.packet_size;
        }
        t.eof
    });
    t.run(&mut sim, Duration::from_secs(30));
    size
}

#[test]
fn mtu_search_finds_the_path() {
    // Loopback-like: the ceiling itself works.
    assert_eq!(mtu_search(65_535, 9000), 9000);
    assert_eq!(mtu_search(65_535, 65_000), 65_000);
    // A path of 4000 under a ceiling of 9000: close below it (the last probes may still
    // be in flight when the 4 MiB are through).
    let found = mtu_search(4000, 9000);
    assert!((3950..=4000).contains(&found), "{found}");
    // A path narrower than the first size: probes fail, the first size (fragmented) stays.
    assert_eq!(mtu_search(1300, 1452), 1400);
}

#[test]
fn one_connection_may_use_larger_packets() {
    let link = LinkParams {
        delay: Duration::from_millis(5),
        ..LinkParams::default()
    };
    let mut sim = Sim::new(41, Config::default(), link.clone(), link);
    let mut t = Transfer::start(&mut sim, 8 << 20);
    let a = t.a_conn.unwrap();
    // The runtime learns the peer is shoal on loopback: 9,000-byte datagrams for it.
    sim.a.set_max_packet_size(a, 9000).unwrap();
    let mut size = 0;
    sim.run_until(Duration::from_secs(30), |s| {
        t.pump(s);
        size = s.a.stats(a).map_or(size, |st| st.packet_size);
        t.eof
    });
    assert_eq!(size, 9000);
}
