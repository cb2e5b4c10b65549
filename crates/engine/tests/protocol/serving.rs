//! What we send a peer: choking, allowed-fast pieces, bounded reads and their order.

use crate::harness::*;

#[test]
fn requests_while_choked_are_rejected_unless_allowed_fast() {
    // A leecher offers allowed-fast pieces (a seed does not): have all but one piece.
    let (mut t, now, offered) = (0..PIECES)
        .find_map(|missing| {
            let mut have = Bitfield::full(PIECES);
            have.clear(missing);
            let (t, now, opening) = engine_with_have(have, true);
            let offered = offered_fast(&opening);
            (!offered.is_empty()).then_some((t, now, offered))
        })
        .expect("some layout offers a piece");
    assert!(
        !offered.is_empty() && offered.len() < PIECES as usize,
        "BEP 6 allowed-fast set sent: {offered:?}"
    );
    let not_offered = (0..PIECES).find(|i| !offered.contains(i)).unwrap();
    let b = BlockInfo {
        index: not_offered,
        begin: 0,
        length: 16384,
    };
    t.handle_message(now, PEER, Message::Request(b));
    let a = drain(&mut t);
    assert!(a
        .iter()
        .any(|a| matches!(a, Action::Send { msg: Message::Reject(r), .. } if *r == b)));
    assert!(!a.iter().any(|a| matches!(a, Action::ReadBlock { .. })));
    let fast = BlockInfo {
        index: offered[0],
        begin: 0,
        length: 16384,
    };
    t.handle_message(now, PEER, Message::Request(fast));
    let a = drain(&mut t);
    assert!(a
        .iter()
        .any(|a| matches!(a, Action::ReadBlock { block, .. } if block.piece.get() == offered[0])));
}

#[test]
fn interested_peer_is_unchoked_and_served_with_bounded_reads() {
    let (mut t, now) = engine(true, true);
    t.handle_message(now, PEER, Message::Interested);
    assert!(drain(&mut t).iter().any(|a| matches!(
        a,
        Action::Send {
            msg: Message::Unchoke,
            ..
        }
    )));
    // Every block once, so initial seeding (which refuses repeats) is over.
    for piece in 0..PIECES {
        for begin in [0, 16384] {
            let b = BlockInfo {
                index: piece,
                begin,
                length: 16384,
            };
            t.handle_message(now, PEER, Message::Request(b));
        }
    }
    drain(&mut t);
    for _ in 0..PIECES * 2 {
        t.handle_block_sent(now, PEER, 16384);
    }
    drain(&mut t);
    let mut reads = 0;
    let mut rejects = 0;
    // Far more requests than any queue should hold.
    for round in 0..200 {
        for piece in 0..PIECES {
            for begin in [0, 16384] {
                t.handle_message(
                    now,
                    PEER,
                    Message::Request(BlockInfo {
                        index: piece,
                        begin,
                        length: 16384 - round,
                    }),
                );
            }
        }
        for a in drain(&mut t) {
            match a {
                Action::ReadBlock { .. } => reads += 1,
                Action::Send {
                    msg: Message::Reject(_),
                    ..
                } => rejects += 1,
                _ => {}
            }
        }
    }
    assert_eq!(
        reads, 32,
        "reads in flight are capped until the driver reports them sent"
    );
    assert!(
        rejects > 3000,
        "excess requests are rejected, got {rejects}"
    );
    t.handle_block_sent(now, PEER, 16384);
    assert_eq!(
        drain(&mut t)
            .iter()
            .filter(|a| matches!(a, Action::ReadBlock { .. }))
            .count(),
        1
    );
}

#[test]
fn allowed_fast_goes_to_one_peer_per_subnet_at_a_time() {
    // BEP 6 sets depend only on the /24: a whole subnet would fetch the same pieces.
    let mut have = Bitfield::full(PIECES);
    have.clear(0);
    let (mut t, now, opening) = engine_with_have(have, true);
    assert!(
        !offered_fast(&opening).is_empty(),
        "the first peer of 10.1.2.0/24 gets the offer"
    );
    connect_peer(&mut t, now, PeerKey(8), [10, 1, 2, 4], 8, true);
    assert!(
        offered_fast(&drain(&mut t)).is_empty(),
        "its neighbour does not"
    );
    t.handle_peer_closed(now, PEER);
    drain(&mut t);
    connect_peer(&mut t, now, PeerKey(9), [10, 1, 2, 5], 7, true);
    assert!(
        !offered_fast(&drain(&mut t)).is_empty(),
        "once the first leaves, the subnet may have it again"
    );
}

#[test]
fn the_rarest_piece_asked_for_is_sent_first() {
    // No BEP 6, so initial seeding (which refuses repeats) stays out of the way.
    let (mut t, now) = engine(true, false);
    let other = connect_other(&mut t, now, [10, 9, 9, 9], false);
    // The other peer has piece 0 already; nobody but us has piece 7.
    t.handle_message(now, other, Message::Have(0));
    t.handle_message(now, PEER, Message::Interested);
    drain(&mut t);
    request_many(&mut t, now, 0, 32);
    assert_eq!(
        reads(&drain(&mut t)).len(),
        32,
        "the first reads go out at once"
    );
    // Queued behind them, in this order: a block of the common piece, then of the rare one.
    for index in [0, 7] {
        let b = BlockInfo {
            index,
            begin: 16384,
            length: 16384,
        };
        t.handle_message(now, PEER, Message::Request(b));
    }
    assert!(
        reads(&drain(&mut t)).is_empty(),
        "reads in flight are capped"
    );
    t.handle_block_sent(now, PEER, 16384);
    assert_eq!(
        reads(&drain(&mut t)),
        vec![(7, 16384)],
        "the rare piece jumps the queue"
    );
    t.handle_block_sent(now, PEER, 16384);
    assert_eq!(reads(&drain(&mut t)), vec![(0, 16384)]);
}

#[test]
fn a_slow_peer_gets_few_blocks_handed_ahead() {
    let (mut t, now) = engine(true, false);
    t.handle_message(now, PEER, Message::Interested);
    drain(&mut t);
    // 32 blocks in the first second: 512 KiB/s.
    request_many(&mut t, now, 0, 32);
    assert_eq!(reads(&drain(&mut t)).len(), 32, "the rate is unknown yet");
    for _ in 0..32 {
        t.handle_block_sent(now, PEER, 16384);
    }
    let later = now + std::time::Duration::from_secs(1);
    t.handle_timeout(later);
    drain(&mut t);
    request_many(&mut t, later, 1, 32);
    let handed = reads(&drain(&mut t)).len();
    // A tenth of a second at 512 KiB/s is about three blocks; the floor is four.
    assert_eq!(
        handed, 4,
        "the rest wait in the engine, where the rarest go first"
    );
}

#[test]
fn with_nobody_interested_a_leecher_unchokes_peers_ahead_of_their_interest() {
    let (mut t, now) = engine(false, true);
    t.handle_message(now, PEER, Message::HaveNone);
    let seed = connect_other(&mut t, now, [10, 1, 2, 4], true);
    t.handle_message(now, seed, Message::HaveAll);
    drain(&mut t);
    let later = now + std::time::Duration::from_secs(1);
    t.handle_timeout(later);
    let unchoked = |a: &[Action], key: PeerKey| {
        a.iter()
            .any(|a| matches!(a, Action::Send { peer, msg: Message::Unchoke } if *peer == key))
    };
    let a = drain(&mut t);
    assert!(unchoked(&a, PEER), "{a:?}");
    assert!(!unchoked(&a, seed), "a seed never wants anything: {a:?}");
    let choked = |a: &[Action]| {
        a.iter().any(|a| {
            matches!(
                a,
                Action::Send {
                    msg: Message::Choke,
                    ..
                }
            )
        })
    };
    // The next round leaves it unchoked while nobody is interested.
    for s in 2..=12 {
        t.handle_timeout(now + std::time::Duration::from_secs(s));
    }
    let a = drain(&mut t);
    assert!(!choked(&a), "{a:?}");
    // Nor is it choked (to be unchoked again) when it stops wanting something while nobody
    // else wants anything.
    let later = now + std::time::Duration::from_secs(13);
    t.handle_message(later, PEER, Message::Interested);
    t.handle_message(later, PEER, Message::NotInterested);
    let a = drain(&mut t);
    assert!(!choked(&a), "{a:?}");
}
