//! Connecting: handshakes refused, simultaneous dials, extension handshakes and metadata.

use crate::harness::*;

#[test]
fn ourselves_and_duplicates_are_refused() {
    let (mut t, now) = engine(false, true);
    let ours = Config::new(PeerId::generate(&mut Rng::new(1))).peer_id;
    t.handle_peer_connected(now, PeerKey(8), addr(), ours, our_reserved_bits(), true);
    t.handle_peer_connected(
        now,
        PeerKey(9),
        addr(),
        PeerId([9; 20]),
        our_reserved_bits(),
        false,
    );
    let reasons: Vec<(PeerKey, DisconnectReason)> = drain(&mut t)
        .into_iter()
        .filter_map(|a| match a {
            Action::Disconnect { peer, reason } => Some((peer, reason)),
            _ => None,
        })
        .collect();
    assert_eq!(
        reasons,
        [
            (PeerKey(8), DisconnectReason::Ourselves),
            (PeerKey(9), DisconnectReason::Duplicate)
        ]
    );
    assert_eq!(t.stats().connected_peers, 1);
}

#[test]
fn metadata_is_served_to_magnet_peers() {
    let (mut t, now) = engine(true, true);
    send_ext_handshake(&mut t, now, "ut_metadata", 3);
    let req = shoal_wire::ext::MetadataMsg::Request { piece: 0 }.encode();
    t.handle_message(
        now,
        PEER,
        Message::Extended {
            id: shoal_wire::ext::OUR_UT_METADATA_ID,
            payload: req,
        },
    );
    let (_, raw, _) = info();
    let replies: Vec<_> = drain(&mut t)
        .into_iter()
        .filter_map(|a| match a {
            Action::Send {
                msg: Message::Extended { id: 3, payload },
                ..
            } => Some(payload),
            _ => None,
        })
        .collect();
    assert_eq!(replies.len(), 1);
    match shoal_wire::ext::MetadataMsg::decode(&replies[0]).unwrap() {
        shoal_wire::ext::MetadataMsg::Data {
            piece,
            total_size,
            data,
        } => {
            assert_eq!((piece, total_size), (0, raw.len() as u64));
            assert_eq!(data, raw);
        }
        other => panic!("expected data, got {other:?}"),
    }
}

#[test]
fn extension_handshake_may_come_before_the_bitfield() {
    let (mut t, now) = engine(false, true);
    send_ext_handshake(&mut t, now, "ut_pex", 5);
    t.handle_message(now, PEER, Message::HaveAll);
    let a = drain(&mut t);
    assert!(
        !dropped_for_protocol(&a),
        "libtorrent and Transmission send the extension handshake first"
    );
    assert!(a.iter().any(|a| matches!(
        a,
        Action::Send {
            msg: Message::Interested,
            ..
        }
    )));
    // A later have-none says nothing new; pieces are never un-had.
    t.handle_message(now, PEER, Message::HaveNone);
    assert!(!dropped_for_protocol(&drain(&mut t)));
    assert_eq!(t.stats().connected_peers, 1);
}

#[test]
fn simultaneous_dials_keep_the_connection_dialed_by_the_lower_peer_id() {
    // Our id is fixed by the seed; try a peer id on each side of it.
    let ours = Config::new(PeerId::generate(&mut Rng::new(1))).peer_id;
    for their_byte in [0u8, 0xff] {
        let theirs = PeerId([their_byte; 20]);
        let we_are_lower = ours.0 < theirs.0;
        let now = Instant::now();
        let (info, bytes, hash) = info();
        let cfg = Config::new(ours);
        let mut t = Torrent::new(now, hash, Some((info, bytes)), None, cfg);
        let r = our_reserved_bits();
        // Their dial reaches us first, then ours completes.
        t.handle_peer_connected(now, PeerKey(1), addr(), theirs, r, false);
        assert!(!refused(&drain(&mut t), PeerKey(1)));
        t.handle_peer_connected(now, PeerKey(2), addr(), theirs, r, true);
        let actions = drain(&mut t);
        let kept_ours = !refused(&actions, PeerKey(2));
        assert_eq!(kept_ours, we_are_lower, "the lower id's dial survives");
        let dropped_inbound = actions.iter().any(|a| {
            matches!(
                a,
                Action::Disconnect {
                    peer: PeerKey(1),
                    reason: DisconnectReason::Duplicate
                }
            )
        });
        assert_eq!(dropped_inbound, we_are_lower);
        assert_eq!(t.stats().connected_peers, 1);
    }
}
