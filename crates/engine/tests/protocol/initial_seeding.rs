//! Initial seeding: a seed that started complete hands each piece whole to one peer.

use crate::harness::*;

#[test]
fn initial_seeding_gives_a_piece_whole_to_one_peer_until_every_block_was_sent_once() {
    let (mut t, now, other) = seed_with_two_interested_peers();
    // The first to ask for a block of piece 0 gets the piece; the other is steered away.
    t.handle_message(now, PEER, Message::Request(block(0, 0)));
    drain(&mut t);
    t.handle_message(now, other, Message::Request(block(0, 16384)));
    let a = drain(&mut t);
    assert!(
        a.iter()
            .any(|a| matches!(a, Action::Send { peer, msg: Message::Reject(_) } if *peer == other)),
        "{a:?}"
    );
    assert!(
        a.iter().any(|a| matches!(a, Action::Send { peer, msg: Message::Suggest(i) } if *peer == other && *i != 0)),
        "{a:?}"
    );
    t.handle_message(now, PEER, Message::Request(block(0, 16384)));
    assert!(drain(&mut t)
        .iter()
        .any(|a| matches!(a, Action::ReadBlock { peer, .. } if *peer == PEER)));
    t.handle_block_sent(now, PEER, 16384);
    t.handle_block_sent(now, PEER, 16384);
    // The other peer asks for every other block: nothing is left unowned.
    for piece in 1..PIECES {
        for begin in [0, 16384] {
            t.handle_message(now, other, Message::Request(block(piece, begin)));
        }
    }
    drain(&mut t);
    // A block of its piece while those are on their way is refused, with nothing to suggest.
    t.handle_message(now, PEER, Message::Request(block(1, 0)));
    let a = drain(&mut t);
    assert!(
        a.iter()
            .any(|a| matches!(a, Action::Send { peer, msg: Message::Reject(_) } if *peer == PEER)),
        "{a:?}"
    );
    assert!(
        !a.iter().any(|a| matches!(a, Action::ReadBlock { .. })),
        "{a:?}"
    );
    // Once the driver sent every block once, repeats are served.
    for _ in 0..(PIECES - 1) * 2 {
        t.handle_block_sent(now, other, 16384);
    }
    drain(&mut t);
    t.handle_message(now, PEER, Message::Request(block(0, 0)));
    assert!(drain(&mut t)
        .iter()
        .any(|a| matches!(a, Action::ReadBlock { peer, .. } if *peer == PEER)));
}

#[test]
fn initial_seeding_lets_a_choked_peer_finish_the_piece_it_started() {
    let (mut t, now, other) = seed_with_two_interested_peers();
    t.handle_message(now, PEER, Message::Request(block(0, 0)));
    drain(&mut t);
    t.handle_block_sent(now, PEER, 16384);
    // Choked (here: it lost interest) with the rest of piece 0 not yet asked for.
    t.handle_message(now, PEER, Message::NotInterested);
    let a = drain(&mut t);
    assert!(
        a.iter()
            .any(|a| matches!(a, Action::Send { peer, msg: Message::Choke } if *peer == PEER)),
        "{a:?}"
    );
    assert!(
        a.iter().any(
            |a| matches!(a, Action::Send { peer, msg: Message::AllowedFast(0) } if *peer == PEER)
        ),
        "{a:?}"
    );
    assert!(
        !a.iter()
            .any(|a| matches!(a, Action::Send { peer, msg: Message::Unchoke } if *peer == PEER)),
        "choked, not unchoked again at once: {a:?}"
    );
    // The piece stays its own: the other peer is refused, the choked owner served.
    t.handle_message(now, other, Message::Request(block(0, 16384)));
    assert!(drain(&mut t)
        .iter()
        .any(|a| matches!(a, Action::Send { peer, msg: Message::Reject(_) } if *peer == other)));
    t.handle_message(now, PEER, Message::Request(block(0, 16384)));
    assert!(drain(&mut t)
        .iter()
        .any(|a| matches!(a, Action::ReadBlock { peer, .. } if *peer == PEER)));
    // Nothing else is open to it while choked.
    t.handle_message(now, PEER, Message::Request(block(1, 0)));
    assert!(drain(&mut t)
        .iter()
        .any(|a| matches!(a, Action::Send { peer, msg: Message::Reject(_) } if *peer == PEER)));
}
