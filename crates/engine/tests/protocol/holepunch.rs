//! BEP 55 on the peer wire: we announce ut_holepunch only when configured and never for a
//! private torrent; as a relay we answer each rendezvous with two connects or the right
//! error; as an initiator we ask the peer that introduced an address once our dial to it
//! fails; as a target we dial unasked connects only within the rate limit; and hostile
//! payloads are handled as every other extension's.

use crate::harness::*;
use shoal_wire::ext::{
    pex_flags, ExtHandshake, HolepunchErrorCode, HolepunchMsg, PexMsg, OUR_UT_HOLEPUNCH_ID,
    OUR_UT_PEX_ID, UT_HOLEPUNCH, UT_PEX,
};
use std::time::Duration;

/// The id peers in these tests give ut_holepunch; what we send them carries it.
const THEIR_HP_ID: u8 = 9;
const THEIR_PEX_ID: u8 = 4;

fn hp_engine(private: bool) -> (Torrent, Instant) {
    let now = Instant::now();
    let (info, bytes, hash) = info();
    let mut cfg = Config::new(PeerId::generate(&mut Rng::new(1)));
    cfg.holepunch = true;
    cfg.private = private;
    let t = Torrent::new(now, hash, Some((info, bytes)), None, cfg);
    (t, now)
}

/// Connects `key` from `addr` (inbound over TCP unless `utp`), with an extension
/// handshake announcing ut_pex and, if `holepunch`, ut_holepunch, and listen port 6881.
fn join(t: &mut Torrent, now: Instant, key: PeerKey, addr: SocketAddr, holepunch: bool, utp: bool) {
    t.handle_peer_connected(
        now,
        key,
        addr,
        PeerId([key.0 as u8; 20]),
        our_reserved_bits(),
        false,
    );
    if utp {
        t.handle_peer_over_utp(now, key);
    }
    let mut m = vec![(UT_PEX.to_string(), THEIR_PEX_ID)];
    if holepunch {
        m.push((UT_HOLEPUNCH.to_string(), THEIR_HP_ID));
    }
    let hs = ExtHandshake {
        m,
        listen_port: Some(6881),
        ..Default::default()
    };
    let payload = hs.encode();
    t.handle_message(now, key, Message::Extended { id: 0, payload });
    drain(t);
}

fn hp_to_us(t: &mut Torrent, now: Instant, from: PeerKey, msg: HolepunchMsg) -> Vec<Action> {
    let payload = msg.encode();
    t.handle_message(
        now,
        from,
        Message::Extended {
            id: OUR_UT_HOLEPUNCH_ID,
            payload,
        },
    );
    drain(t)
}

/// The ut_holepunch messages sent, with their receivers.
fn hp_sent(actions: &[Action]) -> Vec<(PeerKey, HolepunchMsg)> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Send {
                peer,
                msg:
                    Message::Extended {
                        id: THEIR_HP_ID,
                        payload,
                    },
            } => Some((
                *peer,
                HolepunchMsg::decode(payload).expect("we send valid messages"),
            )),
            _ => None,
        })
        .collect()
}

fn holepunch_dials(actions: &[Action]) -> Vec<SocketAddr> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::HolepunchConnect { addr } => Some(*addr),
            _ => None,
        })
        .collect()
}

fn sa(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

const P: PeerKey = PeerKey(1);
const T: PeerKey = PeerKey(2);

#[test]
fn ut_holepunch_is_announced_only_when_on_and_never_for_a_private_torrent() {
    let announced = |holepunch: bool, private: bool| {
        let (mut t, now) = hp_engine(private);
        if !holepunch {
            let (info, bytes, hash) = info();
            let cfg = Config::new(PeerId::generate(&mut Rng::new(1)));
            t = Torrent::new(now, hash, Some((info, bytes)), None, cfg);
        }
        t.handle_peer_connected(
            now,
            P,
            sa("10.0.0.1:5000"),
            PeerId([5; 20]),
            our_reserved_bits(),
            false,
        );
        drain(&mut t)
            .iter()
            .find_map(|a| match a {
                Action::Send {
                    msg: Message::Extended { id: 0, payload },
                    ..
                } => Some(ExtHandshake::decode(payload).unwrap().id_of(UT_HOLEPUNCH)),
                _ => None,
            })
            .expect("an extension handshake")
    };
    assert_eq!(announced(true, false), Some(OUR_UT_HOLEPUNCH_ID));
    assert_eq!(announced(false, false), None);
    assert_eq!(announced(true, true), None);
}

#[test]
fn a_relay_sends_each_side_the_endpoint_of_the_other() {
    let (mut t, now) = hp_engine(false);
    // P dialed us over TCP: its endpoint is its IP with its listen port. T came over uTP
    // from a NAT that mapped its socket to port 40000: that is where a punch must aim.
    join(&mut t, now, P, sa("80.0.0.1:51000"), true, false);
    join(&mut t, now, T, sa("80.0.0.2:40000"), true, true);
    // P asks for T by the address PEX gave it (T's IP and listen port).
    let rendezvous = HolepunchMsg::Rendezvous(sa("80.0.0.2:6881"));
    let sent = hp_sent(&hp_to_us(&mut t, now, P, rendezvous));
    assert_eq!(
        sent,
        [
            (P, HolepunchMsg::Connect(sa("80.0.0.2:40000"))),
            (T, HolepunchMsg::Connect(sa("80.0.0.1:6881"))),
        ]
    );
}

#[test]
fn a_relay_answers_each_refusal_with_its_error_code() {
    let (mut t, now) = hp_engine(false);
    join(&mut t, now, P, sa("80.0.0.1:6881"), true, true);
    join(&mut t, now, T, sa("80.0.0.2:6881"), false, true);
    let refusal = |t: &mut Torrent, target: &str| {
        let target = sa(target);
        let sent = hp_sent(&hp_to_us(t, now, P, HolepunchMsg::Rendezvous(target)));
        match sent.as_slice() {
            [(to, HolepunchMsg::Error { addr, code })] if *to == P && *addr == target => *code,
            other => panic!("expected one error to P, got {other:?}"),
        }
    };
    assert_eq!(
        refusal(&mut t, "80.0.0.9:6881"),
        HolepunchErrorCode::NotConnected
    );
    assert_eq!(refusal(&mut t, "80.0.0.1:6881"), HolepunchErrorCode::NoSelf);
    assert_eq!(
        refusal(&mut t, "80.0.0.2:6881"),
        HolepunchErrorCode::NoSupport
    );
    assert_eq!(
        refusal(&mut t, "0.0.0.0:6881"),
        HolepunchErrorCode::NoSuchPeer
    );
    assert_eq!(
        refusal(&mut t, "80.0.0.2:0"),
        HolepunchErrorCode::NoSuchPeer
    );
}

#[test]
fn a_peer_that_did_not_announce_the_extension_is_ignored() {
    let (mut t, now) = hp_engine(false);
    join(&mut t, now, P, sa("80.0.0.1:6881"), false, true);
    join(&mut t, now, T, sa("80.0.0.2:6881"), true, true);
    let a = hp_to_us(
        &mut t,
        now,
        P,
        HolepunchMsg::Rendezvous(sa("80.0.0.2:6881")),
    );
    assert!(a.is_empty(), "{a:?}");
    let a = hp_to_us(&mut t, now, P, HolepunchMsg::Connect(sa("80.0.0.7:6881")));
    assert!(a.is_empty(), "{a:?}");
}

#[test]
fn a_relay_limits_the_rendezvous_of_one_peer() {
    let (mut t, now) = hp_engine(false);
    join(&mut t, now, P, sa("80.0.0.1:6881"), true, true);
    let answered = (0..20)
        .filter(|i| {
            let target = SocketAddr::from(([80, 0, 1, *i as u8], 6881));
            !hp_to_us(&mut t, now, P, HolepunchMsg::Rendezvous(target)).is_empty()
        })
        .count();
    assert_eq!(answered, 5);
}

/// An engine connected to relay `P` that introduced `target` by PEX with `flags`, and has
/// just dialed it (the `Connect` is drained).
fn introduced(target: SocketAddr, flags: u8) -> (Torrent, Instant) {
    let (mut t, now) = hp_engine(false);
    join(&mut t, now, P, sa("80.0.0.1:6881"), true, true);
    let pex = PexMsg {
        added: vec![target],
        added_flags: vec![flags],
        dropped: vec![],
    };
    let payload = pex.encode();
    t.handle_message(
        now,
        P,
        Message::Extended {
            id: OUR_UT_PEX_ID,
            payload,
        },
    );
    let dialed = drain(&mut t);
    assert!(
        dialed
            .iter()
            .any(|a| matches!(a, Action::Connect { addr } if *addr == target)),
        "{dialed:?}"
    );
    (t, now)
}

#[test]
fn a_failed_dial_to_an_introduced_address_asks_its_introducer_once() {
    let target = sa("80.0.0.2:6881");
    let flags = pex_flags::HOLEPUNCH | pex_flags::SUPPORTS_UTP;
    let (mut t, now) = introduced(target, flags);
    t.handle_connect_failed(now, target);
    assert_eq!(
        hp_sent(&drain(&mut t)),
        [(P, HolepunchMsg::Rendezvous(target))]
    );
    // The relay's answer: dial now, over uTP, at the endpoint it saw (a remapped port).
    let remapped = sa("80.0.0.2:40000");
    let a = hp_to_us(&mut t, now, P, HolepunchMsg::Connect(remapped));
    assert_eq!(holepunch_dials(&a), [remapped]);
    // A second connect for it is not an answer to anything: unasked, so rate limited, and
    // not while the first dial is in flight.
    let a = hp_to_us(&mut t, now, P, HolepunchMsg::Connect(remapped));
    assert!(holepunch_dials(&a).is_empty());
    // The punch fails; later ordinary dials fail too, but we do not ask again so soon.
    t.handle_connect_failed(now, remapped);
    let later = now + Duration::from_secs(60);
    t.handle_timeout(later);
    let redial = drain(&mut t);
    assert!(redial
        .iter()
        .any(|a| matches!(a, Action::Connect { addr } if *addr == target)));
    t.handle_connect_failed(later, target);
    assert!(hp_sent(&drain(&mut t)).is_empty());
}

#[test]
fn no_rendezvous_for_a_peer_flagged_without_holepunch_or_after_an_error() {
    let target = sa("80.0.0.2:6881");
    let (mut t, now) = introduced(target, pex_flags::SUPPORTS_UTP);
    t.handle_connect_failed(now, target);
    assert!(hp_sent(&drain(&mut t)).is_empty());

    let (mut t, now) = introduced(target, pex_flags::HOLEPUNCH);
    t.handle_connect_failed(now, target);
    assert_eq!(hp_sent(&drain(&mut t)).len(), 1);
    let error = HolepunchMsg::Error {
        addr: target,
        code: HolepunchErrorCode::NotConnected,
    };
    assert!(hp_to_us(&mut t, now, P, error).is_empty());
    // The error ended the attempt: a later connect for it is an unasked one. The relay's
    // bucket allows two such; the third is dropped.
    let dials: usize = (0..3)
        .map(|i| {
            let addr = SocketAddr::from(([80, 0, 0, 2], 40000 + i));
            holepunch_dials(&hp_to_us(&mut t, now, P, HolepunchMsg::Connect(addr))).len()
        })
        .sum();
    assert_eq!(dials, 2);
}

#[test]
fn unasked_connects_are_rate_limited_per_relay_and_per_torrent() {
    let (mut t, now) = hp_engine(false);
    let relays: Vec<PeerKey> = (1..=4).map(PeerKey).collect();
    for (i, &r) in relays.iter().enumerate() {
        join(
            &mut t,
            now,
            r,
            SocketAddr::from(([80, 0, 0, i as u8 + 1], 6881)),
            true,
            true,
        );
    }
    let mut port = 30000;
    let mut dial = |t: &mut Torrent, at: Instant, relay: PeerKey| {
        port += 1;
        let addr = SocketAddr::from(([90, 0, 0, 1], port));
        let a = hp_to_us(t, at, relay, HolepunchMsg::Connect(addr));
        // Each dial ends at once, so only the buckets limit the next.
        for d in holepunch_dials(&a) {
            t.handle_connect_failed(at, d);
        }
        holepunch_dials(&a).len()
    };
    // Per relay: two at once.
    assert_eq!(
        (0..3).map(|_| dial(&mut t, now, relays[0])).sum::<usize>(),
        2
    );
    // Over all relays: four at once (two were taken above).
    let others: usize = relays[1..].iter().map(|&r| dial(&mut t, now, r)).sum();
    assert_eq!(others, 2);
    // Tokens come back with time.
    let later = now + Duration::from_secs(60);
    assert_eq!(dial(&mut t, later, relays[3]), 1);
}

#[test]
fn connects_for_connected_or_useless_addresses_are_ignored() {
    let (mut t, now) = hp_engine(false);
    join(&mut t, now, P, sa("80.0.0.1:6881"), true, true);
    join(&mut t, now, T, sa("80.0.0.2:6881"), true, true);
    for addr in [
        "80.0.0.2:6881",
        "80.0.0.1:6881",
        "0.0.0.0:1",
        "80.0.0.3:0",
        "224.0.0.1:5",
    ] {
        let a = hp_to_us(&mut t, now, P, HolepunchMsg::Connect(sa(addr)));
        assert!(holepunch_dials(&a).is_empty(), "{addr}: {a:?}");
    }
}

#[test]
fn malformed_payloads_close_the_peer_and_unknown_types_are_ignored() {
    let (mut t, now) = hp_engine(false);
    join(&mut t, now, P, sa("80.0.0.1:6881"), true, true);
    let send = |t: &mut Torrent, payload: &'static [u8]| {
        let payload = Bytes::from_static(payload);
        t.handle_message(
            now,
            P,
            Message::Extended {
                id: OUR_UT_HOLEPUNCH_ID,
                payload,
            },
        );
        drain(t)
    };
    let a = send(&mut t, &[7, 0, 1, 2, 3, 4, 0, 1]);
    assert!(a.is_empty(), "an unknown type is dropped: {a:?}");
    assert_eq!(t.stats().connected_peers, 1);
    let a = send(&mut t, &[1, 5, 1, 2]);
    assert!(dropped_for_protocol(&a), "{a:?}");
    assert_eq!(t.stats().connected_peers, 0);
}

#[test]
fn pex_flags_tell_utp_holepunch_and_reachability() {
    let (mut t, now) = hp_engine(false);
    join(&mut t, now, P, sa("80.0.0.1:6881"), true, true);
    join(&mut t, now, T, sa("80.0.0.2:51000"), false, false);
    // A peer we dialed: reachable.
    let dialed = sa("80.0.0.3:6881");
    t.handle_peer_connected(
        now,
        PeerKey(3),
        dialed,
        PeerId([3; 20]),
        our_reserved_bits(),
        true,
    );
    drain(&mut t);
    // The first PEX goes out a second after the extension handshake.
    t.handle_timeout(now + Duration::from_secs(2));
    let to_p = drain(&mut t)
        .iter()
        .find_map(|a| match a {
            Action::Send {
                peer,
                msg:
                    Message::Extended {
                        id: THEIR_PEX_ID,
                        payload,
                    },
            } if *peer == P => Some(PexMsg::decode(payload).unwrap()),
            _ => None,
        })
        .expect("a PEX message to P");
    let flag_of = |addr: SocketAddr| {
        let i = to_p.added.iter().position(|a| *a == addr).expect("listed");
        to_p.added_flags[i]
    };
    assert_eq!(flag_of(sa("80.0.0.2:6881")), 0);
    assert_eq!(flag_of(dialed), pex_flags::REACHABLE);
    assert!(!to_p.added.contains(&sa("80.0.0.1:6881")), "not P itself");
}

#[test]
fn pex_naming_our_own_address_is_not_dialed() {
    // libtorrent's PEX lists the peer it is sent to; we know our address from `yourip`.
    let now = Instant::now();
    let (info, bytes, hash) = info();
    let mut cfg = Config::new(PeerId::generate(&mut Rng::new(1)));
    cfg.listen_port = Some(6881);
    let mut t = Torrent::new(now, hash, Some((info, bytes)), None, cfg);
    t.handle_peer_connected(
        now,
        P,
        sa("80.0.0.1:6881"),
        PeerId([1; 20]),
        our_reserved_bits(),
        true,
    );
    let hs = ExtHandshake {
        m: vec![(UT_PEX.to_string(), THEIR_PEX_ID)],
        yourip: Some("80.0.0.9".parse().unwrap()),
        ..Default::default()
    };
    let payload = hs.encode();
    t.handle_message(now, P, Message::Extended { id: 0, payload });
    drain(&mut t);
    let pex = PexMsg {
        added: vec![sa("80.0.0.9:6881"), sa("80.0.0.5:6881")],
        added_flags: vec![0, 0],
        dropped: vec![],
    };
    let payload = pex.encode();
    t.handle_message(
        now,
        P,
        Message::Extended {
            id: OUR_UT_PEX_ID,
            payload,
        },
    );
    let dials: Vec<SocketAddr> = drain(&mut t)
        .iter()
        .filter_map(|a| match a {
            Action::Connect { addr } => Some(*addr),
            _ => None,
        })
        .collect();
    assert_eq!(dials, [sa("80.0.0.5:6881")]);
}

#[test]
fn a_slow_dial_to_an_address_not_called_reachable_asks_before_it_gives_up() {
    let target = sa("80.0.0.2:6881");
    let (mut t, now) = introduced(target, pex_flags::HOLEPUNCH);
    t.handle_timeout(now + Duration::from_secs(1));
    assert!(hp_sent(&drain(&mut t)).is_empty(), "not after one second");
    t.handle_timeout(now + Duration::from_secs(2));
    assert_eq!(
        hp_sent(&drain(&mut t)),
        [(P, HolepunchMsg::Rendezvous(target))]
    );
    // The dial giving up later asks nothing more.
    t.handle_connect_failed(now + Duration::from_secs(7), target);
    assert!(hp_sent(&drain(&mut t)).is_empty());

    // One the introducer reached by dialing it waits for the dial to fail.
    let reachable = pex_flags::HOLEPUNCH | pex_flags::REACHABLE;
    let (mut t, now) = introduced(target, reachable);
    t.handle_timeout(now + Duration::from_secs(3));
    assert!(hp_sent(&drain(&mut t)).is_empty());
    t.handle_connect_failed(now + Duration::from_secs(7), target);
    assert_eq!(hp_sent(&drain(&mut t)).len(), 1);
}

#[test]
fn no_rendezvous_once_the_introducer_has_left() {
    let target = sa("80.0.0.2:6881");
    let (mut t, now) = introduced(target, pex_flags::HOLEPUNCH);
    t.handle_peer_closed(now, P);
    drain(&mut t);
    t.handle_connect_failed(now, target);
    assert!(drain(&mut t)
        .iter()
        .all(|a| !matches!(a, Action::Send { .. })));
}
