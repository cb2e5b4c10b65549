//! Protocol violations drop the peer.

use crate::harness::*;

#[test]
fn have_for_missing_piece_drops_the_peer() {
    let (mut t, now) = engine(false, true);
    t.handle_message(now, PEER, Message::Have(PIECES));
    assert!(dropped_for_protocol(&drain(&mut t)));
    assert_eq!(t.stats().connected_peers, 0);
}

#[test]
fn bitfield_with_spare_bits_or_wrong_length_drops_the_peer() {
    for bits in [vec![0xff, 0xff], vec![0xff]] {
        let (mut t, now) = engine(false, true);
        t.handle_message(now, PEER, Message::Bitfield(Bytes::from(bits)));
        assert!(dropped_for_protocol(&drain(&mut t)));
    }
}

#[test]
fn fast_messages_without_bep6_drop_the_peer() {
    let (mut t, now) = engine(false, false);
    t.handle_message(now, PEER, Message::HaveAll);
    assert!(dropped_for_protocol(&drain(&mut t)));
}

#[test]
fn block_of_wrong_size_drops_the_peer() {
    let (mut t, now) = engine(false, true);
    t.handle_message(
        now,
        PEER,
        Message::Piece {
            index: 0,
            begin: 0,
            data: Bytes::from_static(b"short"),
        },
    );
    assert!(dropped_for_protocol(&drain(&mut t)));
}

#[test]
fn request_outside_the_torrent_drops_the_peer() {
    let (mut t, now) = engine(true, true);
    t.handle_message(now, PEER, Message::Interested);
    drain(&mut t);
    t.handle_message(
        now,
        PEER,
        Message::Request(BlockInfo {
            index: PIECES - 1,
            begin: 30_000,
            length: 16384,
        }),
    );
    assert!(dropped_for_protocol(&drain(&mut t)));
}

#[test]
fn a_late_bitfield_with_spare_bits_or_wrong_length_still_drops_the_peer() {
    for bits in [vec![0x00, 0x01], vec![0x80]] {
        let (mut t, now) = engine(false, true);
        t.handle_message(now, PEER, Message::HaveNone);
        drain(&mut t);
        t.handle_message(now, PEER, Message::Bitfield(Bytes::from(bits)));
        assert!(dropped_for_protocol(&drain(&mut t)));
    }
}
