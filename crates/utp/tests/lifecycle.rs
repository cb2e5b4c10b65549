//! Connection set-up and tear-down through the simulator: lost SYN and FIN, refusals and
//! resets, unanswered connections, stray and foreign datagrams, the half-open bound, and
//! the simultaneous open of a hole punch.

mod sim;

use shoal_utp::packet::PacketType;
use shoal_utp::{CloseReason, Config, Datagram, Event, StreamError};
use sim::{is, LinkParams, Sim, Transfer};
use std::time::Duration;

fn sim(seed: u64) -> Sim {
    Sim::new(
        seed,
        Config::default(),
        LinkParams::default(),
        LinkParams::default(),
    )
}

/// Drops the first `n` packets of type `t` on a link.
fn drop_first(n: usize, t: PacketType) -> sim::Filter {
    let mut left = n;
    Box::new(move |p| {
        if left > 0 && is(p, t) {
            left -= 1;
            return true;
        }
        false
    })
}

#[test]
fn first_syn_lost_connects_on_retry() {
    let mut sim = sim(1);
    sim.ab.filter = Some(drop_first(1, PacketType::Syn));
    let mut t = Transfer::start(&mut sim, 100_000);
    t.run(&mut sim, Duration::from_secs(30));
    // The SYN was resent after the initial 1 s timeout.
    assert!(t.finished_at.unwrap() - sim.start > Duration::from_secs(1));
    assert_eq!(sim.ab.dropped, 1);
}

#[test]
fn syn_ack_lost_connects_on_retry() {
    let mut sim = sim(2);
    sim.ba.filter = Some(drop_first(1, PacketType::State));
    let mut t = Transfer::start(&mut sim, 100_000);
    t.run(&mut sim, Duration::from_secs(30));
}

#[test]
fn unanswered_syns_time_out() {
    let mut sim = sim(3);
    sim.ab.filter = Some(Box::new(|_| true));
    let h = sim.a.connect(sim.now, sim.b_addr).unwrap();
    sim.run_until(Duration::from_secs(60), |s| s.closed_a(h).is_some());
    assert_eq!(sim.closed_a(h), Some(CloseReason::TimedOut));
    // Three SYNs (two retries) at 0, 1 and 3 s; given up at 7 s.
    assert_eq!(sim.ab.sent, 3);
    let took = sim.elapsed();
    assert!(
        took >= Duration::from_secs(7) && took < Duration::from_secs(8),
        "{took:?}"
    );
    assert_eq!(sim.a.connection_count(), 0);
}

#[test]
fn fin_lost_is_resent() {
    let mut sim = sim(4);
    sim.ab.filter = Some(drop_first(1, PacketType::Fin));
    let mut t = Transfer::start(&mut sim, 50_000);
    t.run(&mut sim, Duration::from_secs(30));
    assert_eq!(sim.ab.dropped, 1);
    assert_eq!(sim.a.connection_count(), 0);
    assert_eq!(sim.b.connection_count(), 0);
}

#[test]
fn refused_connection_is_reset() {
    let mut sim = sim(5);
    let h = sim.a.connect(sim.now, sim.b_addr).unwrap();
    sim.run_until(Duration::from_secs(5), |s| !s.events_b.is_empty());
    let Event::Incoming(incoming, from) = sim.events_b[0] else {
        panic!("{:?}", sim.events_b);
    };
    assert_eq!(from, sim.a_addr);
    sim.b.refuse(incoming);
    sim.run_until(Duration::from_secs(5), |s| s.closed_a(h).is_some());
    assert_eq!(sim.closed_a(h), Some(CloseReason::Reset));
    assert_eq!(
        sim.b.read(incoming, &mut [0; 4]),
        Err(StreamError::UnknownConnection)
    );
    assert_eq!(sim.b.connection_count(), 0);
}

#[test]
fn reset_in_the_middle_of_a_transfer() {
    let mut sim = sim(6);
    let mut t = Transfer::start(&mut sim, 10 << 20);
    sim.run_until(Duration::from_secs(10), |s| {
        t.pump(s);
        t.received > 1 << 20
    });
    let b = t.b_conn.unwrap();
    sim.b.reset(b);
    let a = t.a_conn.unwrap();
    sim.run_until(Duration::from_secs(5), |s| s.closed_a(a).is_some());
    assert_eq!(sim.closed_a(a), Some(CloseReason::Reset));
    assert!(
        sim.closed_b(b).is_none(),
        "no event for the side that reset"
    );
    assert_eq!(sim.a.write(a, b"x"), Err(StreamError::UnknownConnection));
}

#[test]
fn unaccepted_connection_times_out() {
    // Shorter than the 7 s A's SYNs last.
    let cfg = Config {
        accept_timeout: Duration::from_secs(2),
        ..Config::default()
    };
    let mut sim = Sim::new(7, cfg, LinkParams::default(), LinkParams::default());
    let h = sim.a.connect(sim.now, sim.b_addr).unwrap();
    sim.run_until(Duration::from_secs(30), |s| s.closed_a(h).is_some());
    // B never answered accept: refused after accept_timeout, A hears a reset.
    assert_eq!(sim.closed_a(h), Some(CloseReason::Reset));
    assert!(sim
        .events_b
        .iter()
        .any(|e| matches!(e, Event::Closed(_, CloseReason::NotAccepted))));
}

#[test]
fn stray_packets_get_a_reset_and_foreign_datagrams_pass() {
    let mut sim = sim(8);
    let (now, a) = (sim.now, sim.a_addr);
    // A DHT query on the shared socket.
    let dht = b"d1:ad2:id20:abcdefghij0123456789e1:q4:ping1:t2:aa1:y1:qe";
    assert_eq!(sim.b.handle_datagram(now, a, dht), Datagram::NotUtp);
    assert_eq!(sim.b.handle_datagram(now, a, b"\x01"), Datagram::NotUtp);
    // Looks like uTP, malformed.
    let mut bad = [0u8; 22];
    bad[0] = 0x21;
    bad[1] = 1;
    assert!(matches!(
        sim.b.handle_datagram(now, a, &bad),
        Datagram::Malformed(_)
    ));
    // A data packet for no connection: answered with a reset for its id.
    let mut data = [0u8; 24];
    data[0] = 0x01;
    data[2..4].copy_from_slice(&777u16.to_be_bytes());
    assert_eq!(sim.b.handle_datagram(now, a, &data), Datagram::Utp);
    let mut buf = [0u8; 1500];
    let t = sim.b.poll_transmit(now, &mut buf).unwrap();
    assert_eq!(t.dest, a);
    let p = shoal_utp::packet::Packet::decode(&buf[..t.len]).unwrap();
    assert_eq!(p.header.packet_type, PacketType::Reset);
    assert_eq!(p.header.connection_id, 777);
    assert!(sim.b.poll_transmit(now, &mut buf).is_none());
}

#[test]
fn half_open_connections_are_bounded() {
    let cfg = Config {
        max_half_open: 4,
        ..Config::default()
    };
    let mut sim = Sim::new(9, cfg, LinkParams::default(), LinkParams::default());
    let handles: Vec<_> = (0..6)
        .map(|_| sim.a.connect(sim.now, sim.b_addr).unwrap())
        .collect();
    sim.run_until(Duration::from_secs(5), |s| {
        handles.iter().filter(|&&h| s.closed_a(h).is_some()).count() == 2
    });
    let incoming = sim
        .events_b
        .iter()
        .filter(|e| matches!(e, Event::Incoming(..)))
        .count();
    assert_eq!(incoming, 4);
    assert_eq!(sim.b.connection_count(), 4);
}

#[test]
fn a_peer_that_forgot_the_connection_resets_it() {
    let mut sim = sim(10);
    let mut t = Transfer::start(&mut sim, 10 << 20);
    sim.run_until(Duration::from_secs(10), |s| {
        t.pump(s);
        t.received > 1 << 20
    });
    // B restarts: its answer to A's next packet is a reset carrying the id on that
    // packet (A's send id, not its receive id), as libutp and libtorrent send them.
    sim.b = shoal_utp::Endpoint::new(Config::default(), sim.now);
    t.b_conn = None;
    let a = t.a_conn.unwrap();
    sim.run_until(Duration::from_secs(5), |s| s.closed_a(a).is_some());
    assert_eq!(sim.closed_a(a), Some(CloseReason::Reset));
}

/// Hole punching (BEP 55): both ends dial each other at the same instant. A's first SYN is
/// dropped (B's NAT has not seen B send yet) while B's passes (A's own SYN opened A's NAT).
/// Each endpoint takes the other's SYN as a new incoming connection beside its own
/// SYN-sent one (the connection ids tell them apart), so both dials complete: B's within
/// a round trip, A's once its SYN is sent again. Choosing one is the engine's business.
#[test]
fn simultaneous_open_completes_both_dials_through_a_dropped_first_syn() {
    let mut sim = sim(11);
    sim.ab.filter = Some(drop_first(1, PacketType::Syn));
    let ha = sim.a.connect(sim.now, sim.b_addr).unwrap();
    let hb = sim.b.connect(sim.now, sim.a_addr).unwrap();
    let connected = |events: &[Event], h| events.contains(&Event::Connected(h));
    let mut accepted = (Vec::new(), Vec::new());
    let mut b_connected_at = None;
    sim.run_until(Duration::from_secs(5), |s| {
        for e in &s.events_a {
            if let Event::Incoming(h, _) = *e {
                if !accepted.0.contains(&h) {
                    s.a.accept(h).unwrap();
                    accepted.0.push(h);
                }
            }
        }
        for e in &s.events_b {
            if let Event::Incoming(h, _) = *e {
                if !accepted.1.contains(&h) {
                    s.b.accept(h).unwrap();
                    accepted.1.push(h);
                }
            }
        }
        if b_connected_at.is_none() && connected(&s.events_b, hb) {
            b_connected_at = Some(s.elapsed());
        }
        connected(&s.events_a, ha) && connected(&s.events_b, hb)
    });
    assert!(b_connected_at.unwrap() < Duration::from_millis(500));
    let a_took = sim.elapsed();
    assert!(
        a_took >= Duration::from_secs(1) && a_took < Duration::from_millis(1500),
        "{a_took:?}"
    );
    assert_eq!((accepted.0.len(), accepted.1.len()), (1, 1));
    assert_eq!(sim.a.connection_count(), 2);
    assert_eq!(sim.b.connection_count(), 2);
}
