//! One engine against a scripted peer: protocol violations drop the peer, requests are
//! answered or rejected as BEP 3 and BEP 6 require, and per-peer queues stay bounded.

use bytes::Bytes;
use sha1::{Digest, Sha1};
use shoal_bencode::Owned;
use shoal_core::{Bitfield, Info, InfoHash, PeerId, Rng};
use shoal_engine::{our_reserved_bits, Action, Config, DisconnectReason, PeerKey, Torrent};
use shoal_wire::{BlockInfo, Message};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

const PIECES: u32 = 10;
const PIECE_LEN: u32 = 32_768;
const PEER: PeerKey = PeerKey(7);
const OTHER: PeerKey = PeerKey(8);

fn info() -> (Arc<Info>, Bytes, InfoHash) {
    let data = vec![7u8; (PIECES * PIECE_LEN) as usize];
    let mut pieces = Vec::new();
    for chunk in data.chunks(PIECE_LEN as usize) {
        pieces.extend_from_slice(&Sha1::digest(chunk));
    }
    let raw = Owned::dict()
        .with("length", data.len() as i64)
        .with("name", "x")
        .with("piece length", PIECE_LEN as i64)
        .with("pieces", pieces)
        .build()
        .encode();
    (
        Arc::new(Info::from_bytes(&raw).unwrap()),
        Bytes::from(raw.clone()),
        InfoHash::from_info_bytes(&raw),
    )
}

fn addr() -> SocketAddr {
    SocketAddr::from(([10, 1, 2, 3], 5000))
}

/// An engine with `have` pieces and one connected peer (fast extension on unless `fast` is false).
fn engine(complete: bool, fast: bool) -> (Torrent, Instant) {
    let (t, now, _) = engine_with_opening(complete, fast);
    (t, now)
}

/// Also returns the engine's opening messages to the peer.
fn engine_with_opening(complete: bool, fast: bool) -> (Torrent, Instant, Vec<Action>) {
    let have = if complete {
        Bitfield::full(PIECES)
    } else {
        Bitfield::new(PIECES)
    };
    engine_with_have(have, fast)
}

fn engine_with_have(have: Bitfield, fast: bool) -> (Torrent, Instant, Vec<Action>) {
    let now = Instant::now();
    let (info, bytes, hash) = info();
    let cfg = Config::new(PeerId::generate(&mut Rng::new(1)));
    let mut t = Torrent::new(now, hash, Some((info, bytes)), Some(have), cfg);
    let mut reserved = our_reserved_bits();
    if !fast {
        reserved[7] = 0;
    }
    assert!(t.handle_peer_connected(now, PEER, addr(), PeerId([9; 20]), reserved, false));
    let opening = drain(&mut t);
    (t, now, opening)
}

/// Connects a second peer, `OTHER`, from `ip` (BEP 6 on if `fast`).
fn connect_other(t: &mut Torrent, now: Instant, ip: [u8; 4], fast: bool) -> PeerKey {
    let mut reserved = our_reserved_bits();
    if !fast {
        reserved[7] = 0;
    }
    let addr = SocketAddr::from((ip, 5000));
    assert!(t.handle_peer_connected(now, OTHER, addr, PeerId([8; 20]), reserved, false));
    OTHER
}

fn offered_fast(opening: &[Action]) -> Vec<u32> {
    opening
        .iter()
        .filter_map(|a| match a {
            Action::Send {
                msg: Message::AllowedFast(i),
                ..
            } => Some(*i),
            _ => None,
        })
        .collect()
}

fn drain(t: &mut Torrent) -> Vec<Action> {
    std::iter::from_fn(|| t.poll_action()).collect()
}

/// The peer's BEP 10 handshake, announcing one extension under `id`.
fn send_ext_handshake(t: &mut Torrent, now: Instant, name: &str, id: u8) {
    let hs = shoal_wire::ext::ExtHandshake {
        m: vec![(name.into(), id)],
        ..Default::default()
    };
    t.handle_message(
        now,
        PEER,
        Message::Extended {
            id: 0,
            payload: hs.encode(),
        },
    );
}

fn dropped_for_protocol(actions: &[Action]) -> bool {
    actions.iter().any(|a| {
        matches!(
            a,
            Action::Disconnect {
                reason: DisconnectReason::Protocol(_),
                ..
            }
        )
    })
}

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
fn ourselves_and_duplicates_are_refused() {
    let (mut t, now) = engine(false, true);
    let ours = Config::new(PeerId::generate(&mut Rng::new(1))).peer_id;
    assert!(!t.handle_peer_connected(now, PeerKey(8), addr(), ours, our_reserved_bits(), true));
    assert!(!t.handle_peer_connected(
        now,
        PeerKey(9),
        addr(),
        PeerId([9; 20]),
        our_reserved_bits(),
        false
    ));
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
        assert!(t.handle_peer_connected(now, PeerKey(1), addr(), theirs, r, false));
        let kept_ours = t.handle_peer_connected(now, PeerKey(2), addr(), theirs, r, true);
        assert_eq!(kept_ours, we_are_lower, "the lower id's dial survives");
        let dropped_inbound = drain(&mut t).iter().any(|a| {
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
    let neighbour = SocketAddr::from(([10, 1, 2, 4], 5000));
    assert!(t.handle_peer_connected(
        now,
        PeerKey(8),
        neighbour,
        PeerId([8; 20]),
        our_reserved_bits(),
        false
    ));
    assert!(
        offered_fast(&drain(&mut t)).is_empty(),
        "its neighbour does not"
    );
    t.handle_peer_closed(now, PEER);
    drain(&mut t);
    let later = SocketAddr::from(([10, 1, 2, 5], 5000));
    assert!(t.handle_peer_connected(
        now,
        PeerKey(9),
        later,
        PeerId([7; 20]),
        our_reserved_bits(),
        false
    ));
    assert!(
        !offered_fast(&drain(&mut t)).is_empty(),
        "once the first leaves, the subnet may have it again"
    );
}

fn sent_interested(actions: &[Action]) -> bool {
    actions.iter().any(|a| {
        matches!(
            a,
            Action::Send {
                msg: Message::Interested,
                ..
            }
        )
    })
}

fn requested_pieces(actions: &[Action]) -> Vec<u32> {
    let mut pieces: Vec<u32> = actions
        .iter()
        .filter_map(|a| match a {
            Action::Send {
                msg: Message::Request(b),
                ..
            } => Some(b.index),
            _ => None,
        })
        .collect();
    pieces.dedup();
    pieces
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
fn a_late_bitfield_with_spare_bits_or_wrong_length_still_drops_the_peer() {
    for bits in [vec![0x00, 0x01], vec![0x80]] {
        let (mut t, now) = engine(false, true);
        t.handle_message(now, PEER, Message::HaveNone);
        drain(&mut t);
        t.handle_message(now, PEER, Message::Bitfield(Bytes::from(bits)));
        assert!(dropped_for_protocol(&drain(&mut t)));
    }
}

/// A seed that started complete (so in initial seeding), with `PEER` and another BEP 6 peer
/// connected and interested; returns the other peer's key.
fn seed_with_two_interested_peers() -> (Torrent, Instant, PeerKey) {
    let (mut t, now, _) = engine_with_have(Bitfield::full(PIECES), true);
    let other = connect_other(&mut t, now, [10, 1, 2, 4], true);
    for key in [PEER, other] {
        t.handle_message(now, key, Message::Interested);
    }
    drain(&mut t);
    (t, now, other)
}

/// The standard-size block at `begin` of piece `index`.
fn block(index: u32, begin: u32) -> BlockInfo {
    BlockInfo {
        index,
        begin,
        length: 16384,
    }
}

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

/// Requests `count` distinct blocks of `piece` (lengths differ, so none is a duplicate).
fn request_many(t: &mut Torrent, now: Instant, piece: u32, count: u32) {
    for i in 0..count {
        let b = BlockInfo {
            index: piece,
            begin: 0,
            length: 16384 - i,
        };
        t.handle_message(now, PEER, Message::Request(b));
    }
}

fn reads(actions: &[Action]) -> Vec<(u32, u32)> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::ReadBlock { block, .. } => Some((block.piece.get(), block.offset)),
            _ => None,
        })
        .collect()
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

/// Blocks as (piece, offset).
type Blocks = Vec<(u32, u32)>;

/// Every block requested of `peer`, and every one cancelled.
fn asked(actions: &[Action], peer: PeerKey) -> (Blocks, Blocks) {
    let (mut requests, mut cancels) = (Vec::new(), Vec::new());
    for a in actions {
        match a {
            Action::Send {
                peer: to,
                msg: Message::Request(b),
            } if *to == peer => requests.push((b.index, b.begin)),
            Action::Send {
                peer: to,
                msg: Message::Cancel(b),
            } if *to == peer => cancels.push((b.index, b.begin)),
            _ => {}
        }
    }
    (requests, cancels)
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
