//! What we ask of a peer: interest, requests, and what to ask when refused or idle.

use crate::harness::*;

#[test]
fn a_seed_gets_interest_and_requests() {
    let (mut t, now) = engine(false, true);
    t.handle_message(now, PEER, Message::HaveAll);
    let a = drain(&mut t);
    assert!(a.iter().any(|a| matches!(
        a,
        Action::Send {
            msg: Message::Interested,
            ..
        }
    )));
    t.handle_message(now, PEER, Message::Unchoke);
    let requests = |actions: Vec<Action>| -> Vec<BlockInfo> {
        actions
            .into_iter()
            .filter_map(|a| match a {
                Action::Send {
                    msg: Message::Request(b),
                    ..
                } => Some(b),
                _ => None,
            })
            .collect()
    };
    let first = requests(drain(&mut t));
    assert!(first.len() >= 4, "a pipeline of requests, got {first:?}");
    // The peer answers within a millisecond: a fast path, so the pipeline deepens at once
    // (here to every block of the torrent: 20).
    let later = now + std::time::Duration::from_millis(1);
    let mut more = Vec::new();
    for b in &first {
        let data = Bytes::from(vec![0u8; b.length as usize]);
        t.handle_message(
            later,
            PEER,
            Message::Piece {
                index: b.index,
                begin: b.begin,
                data,
            },
        );
        more.extend(requests(drain(&mut t)));
    }
    assert_eq!(
        first.len() + more.len(),
        (PIECES * PIECE_LEN / 16384) as usize,
        "every block asked for once the rate is known"
    );
}

#[test]
fn an_allowed_fast_piece_refused_while_choked_is_not_asked_again_until_unchoked() {
    let (mut t, now) = engine(false, true);
    t.handle_message(now, PEER, Message::HaveAll);
    t.handle_message(now, PEER, Message::AllowedFast(3));
    let first = requested_pieces(&drain(&mut t));
    assert!(
        !first.is_empty() && first.iter().all(|&i| i == 3),
        "{first:?}"
    );
    // The peer refuses the piece; asking for it again would get the same answer.
    for begin in [0, 16384] {
        t.handle_message(now, PEER, Message::Reject(block(3, begin)));
    }
    let again = requested_pieces(&drain(&mut t));
    assert!(again.is_empty(), "asked again while choked: {again:?}");
    t.handle_message(now, PEER, Message::Unchoke);
    assert!(!requested_pieces(&drain(&mut t)).is_empty());
}

#[test]
fn a_bitfield_mid_connection_counts_as_haves_as_aria2_sends_it() {
    let (mut t, now) = engine(false, true);
    t.handle_message(now, PEER, Message::HaveNone);
    assert!(!sent_interested(&drain(&mut t)));
    // Pieces 0 and 9 of 10: 0b1000_0000, 0b0100_0000.
    t.handle_message(
        now,
        PEER,
        Message::Bitfield(Bytes::from_static(&[0x80, 0x40])),
    );
    t.handle_message(now, PEER, Message::Unchoke);
    let actions = drain(&mut t);
    assert!(!dropped_for_protocol(&actions));
    assert!(sent_interested(&actions));
    let mut requested = requested_pieces(&actions);
    requested.sort_unstable();
    requested.dedup();
    assert_eq!(requested, vec![0, 9]);
    assert_eq!(t.stats().connected_peers, 1);
}

#[test]
fn have_all_mid_connection_makes_the_peer_a_seed() {
    let (mut t, now) = engine(false, true);
    t.handle_message(now, PEER, Message::HaveNone);
    drain(&mut t);
    t.handle_message(now, PEER, Message::HaveAll);
    let actions = drain(&mut t);
    assert!(!dropped_for_protocol(&actions));
    assert!(sent_interested(&actions));
}

#[test]
fn an_idle_unchoker_is_given_requests_from_the_back_of_a_deep_queue() {
    let (mut t, now, _) = engine_with_have(Bitfield::new(PIECES), true);
    t.handle_message(now, PEER, Message::HaveAll);
    t.handle_message(now, PEER, Message::Unchoke);
    let (first, _) = asked(&drain(&mut t), PEER);
    assert!(!first.is_empty());
    // The seed answers fast, so the pipeline deepens to everything left.
    let soon = now + std::time::Duration::from_millis(10);
    for (index, begin) in first {
        let data = Bytes::from(vec![7u8; 16384]);
        t.handle_message(soon, PEER, Message::Piece { index, begin, data });
    }
    let (rest, _) = asked(&drain(&mut t), PEER);
    assert!(rest.len() > 8, "a deep queue at the seed: {rest:?}");
    // Another peer has the piece asked of the seed last, and unchokes us.
    let other = connect_other(&mut t, soon, [10, 9, 9, 9], true);
    drain(&mut t);
    let (last_piece, _) = rest[rest.len() - 1];
    t.handle_message(soon, other, Message::HaveNone);
    t.handle_message(soon, other, Message::Have(last_piece));
    t.handle_message(soon, other, Message::Unchoke);
    let actions = drain(&mut t);
    let (mut to_other, _) = asked(&actions, other);
    let (_, mut cancelled) = asked(&actions, PEER);
    to_other.sort();
    cancelled.sort();
    assert!(!to_other.is_empty(), "the idle peer is asked for something");
    assert_eq!(
        to_other, cancelled,
        "what it is asked for was cancelled at the seed, not asked twice"
    );
    assert!(to_other.iter().all(|&(i, _)| i == last_piece));
}
