//! BEP 5 on the peer wire: our `PORT` goes to peers that set the DHT bit, after our first
//! messages; theirs comes back out as a DHT node to learn; private torrents do neither.

use crate::harness::*;

/// Our reserved bits plus the DHT bit, as a peer running a DHT node sends them.
fn with_dht_bit() -> [u8; 8] {
    shoal_wire::Handshake {
        reserved: our_reserved_bits(),
        info_hash: InfoHash([0; 20]),
        peer_id: PeerId([0; 20]),
    }
    .with_dht(true)
    .reserved
}

fn engine_with_dht_port(port: Option<u16>, private: bool) -> (Torrent, Instant) {
    let now = Instant::now();
    let (info, bytes, hash) = info();
    let mut cfg = Config::new(PeerId::generate(&mut Rng::new(1)));
    cfg.dht_port = port;
    cfg.private = private;
    let have = Bitfield::full(PIECES);
    (
        Torrent::new(now, hash, Some((info, bytes)), Some(have), cfg),
        now,
    )
}

fn ports_sent(actions: &[Action], to: PeerKey) -> Vec<u16> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Send {
                peer,
                msg: Message::Port(p),
            } if *peer == to => Some(*p),
            _ => None,
        })
        .collect()
}

#[test]
fn port_follows_the_opening_messages_of_a_dht_peer_only() {
    let (mut t, now) = engine_with_dht_port(Some(6881), false);
    t.handle_peer_connected(now, PEER, addr(), PeerId([9; 20]), with_dht_bit(), false);
    let opening = drain(&mut t);
    assert_eq!(ports_sent(&opening, PEER), [6881]);
    assert!(
        matches!(
            opening.last(),
            Some(Action::Send {
                msg: Message::Port(6881),
                ..
            })
        ),
        "PORT comes after the bitfield and the extension handshake: {opening:?}"
    );
    let other = SocketAddr::from(([10, 1, 2, 4], 5000));
    let r = our_reserved_bits();
    t.handle_peer_connected(now, OTHER, other, PeerId([8; 20]), r, false);
    assert_eq!(ports_sent(&drain(&mut t), OTHER), [] as [u16; 0]);
}

#[test]
fn a_dht_port_learned_later_reaches_peers_already_connected() {
    let (mut t, now) = engine_with_dht_port(None, false);
    t.handle_peer_connected(now, PEER, addr(), PeerId([9; 20]), with_dht_bit(), false);
    assert_eq!(ports_sent(&drain(&mut t), PEER), [] as [u16; 0]);
    t.handle_dht_port(now, 7000);
    assert_eq!(ports_sent(&drain(&mut t), PEER), [7000]);
    t.handle_dht_port(now, 7000);
    assert!(drain(&mut t).is_empty(), "the same port is not sent twice");
}

#[test]
fn a_peers_port_becomes_a_dht_node_unless_private() {
    for private in [false, true] {
        let (mut t, now) = engine_with_dht_port(Some(6881), private);
        t.handle_peer_connected(now, PEER, addr(), PeerId([9; 20]), with_dht_bit(), false);
        let opening = drain(&mut t);
        assert_eq!(ports_sent(&opening, PEER).is_empty(), private);
        t.handle_message(now, PEER, Message::Port(6999));
        let nodes: Vec<SocketAddr> = drain(&mut t)
            .into_iter()
            .filter_map(|a| match a {
                Action::DhtNode { addr } => Some(addr),
                _ => None,
            })
            .collect();
        let expected = SocketAddr::new(addr().ip(), 6999);
        assert_eq!(nodes, if private { vec![] } else { vec![expected] });
    }
}

#[test]
fn shutdown_drops_every_peer_and_stops_the_clock() {
    let (mut t, now) = engine(false, true);
    t.shutdown(now);
    let actions = drain(&mut t);
    assert!(matches!(
        actions[..],
        [Action::Disconnect {
            peer: PEER,
            reason: DisconnectReason::Shutdown
        }]
    ));
    assert_eq!(t.poll_timeout(), None);
    t.handle_peer_connected(
        now,
        OTHER,
        addr(),
        PeerId([8; 20]),
        our_reserved_bits(),
        false,
    );
    assert!(
        refused(&drain(&mut t), OTHER),
        "no peer is taken after shutdown"
    );
}
