//! What the tests share: a small torrent, an engine with one scripted peer connected, and
//! readers of the actions it returns.

pub use bytes::Bytes;
pub use shoal_core::{Bitfield, Info, InfoHash, PeerId, Rng};
pub use shoal_engine::{our_reserved_bits, Action, Config, DisconnectReason, PeerKey, Torrent};
pub use shoal_wire::{BlockInfo, Message};
pub use std::net::SocketAddr;
pub use std::sync::Arc;
pub use std::time::Instant;

pub const PIECES: u32 = 10;
pub const PIECE_LEN: u32 = 32_768;
pub const PEER: PeerKey = PeerKey(7);
pub const OTHER: PeerKey = PeerKey(8);

pub fn info() -> (Arc<Info>, Bytes, InfoHash) {
    let data = vec![7u8; (PIECES * PIECE_LEN) as usize];
    let t = shoal_testkit::TorrentBuilder::single_file("x", data)
        .piece_length(PIECE_LEN)
        .build();
    (t.info, t.info_bytes, t.info_hash)
}

pub fn addr() -> SocketAddr {
    SocketAddr::from(([10, 1, 2, 3], 5000))
}

/// An engine with `have` pieces and one connected peer (fast extension on unless `fast` is false).
pub fn engine(complete: bool, fast: bool) -> (Torrent, Instant) {
    let (t, now, _) = engine_with_opening(complete, fast);
    (t, now)
}

/// Also returns the engine's opening messages to the peer.
pub fn engine_with_opening(complete: bool, fast: bool) -> (Torrent, Instant, Vec<Action>) {
    let have = if complete {
        Bitfield::full(PIECES)
    } else {
        Bitfield::new(PIECES)
    };
    engine_with_have(have, fast)
}

pub fn engine_with_have(have: Bitfield, fast: bool) -> (Torrent, Instant, Vec<Action>) {
    let now = Instant::now();
    let (info, bytes, hash) = info();
    let cfg = Config::new(PeerId::generate(&mut Rng::new(1)));
    let mut t = Torrent::new(now, hash, Some((info, bytes)), Some(have), cfg);
    let mut reserved = our_reserved_bits();
    if !fast {
        reserved[7] = 0;
    }
    t.handle_peer_connected(now, PEER, addr(), PeerId([9; 20]), reserved, false);
    let opening = drain(&mut t);
    assert!(!refused(&opening, PEER));
    (t, now, opening)
}

/// Connects a second peer, `OTHER`, from `ip` (BEP 6 on if `fast`).
pub fn connect_other(t: &mut Torrent, now: Instant, ip: [u8; 4], fast: bool) -> PeerKey {
    connect_peer(t, now, OTHER, ip, 8, fast)
}

/// Connects peer `key` from `ip` with a peer id of bytes `id` (BEP 6 on if `fast`).
pub fn connect_peer(
    t: &mut Torrent,
    now: Instant,
    key: PeerKey,
    ip: [u8; 4],
    id: u8,
    fast: bool,
) -> PeerKey {
    let mut reserved = our_reserved_bits();
    if !fast {
        reserved[7] = 0;
    }
    let addr = SocketAddr::from((ip, 5000));
    let before = t.stats().connected_peers;
    t.handle_peer_connected(now, key, addr, PeerId([id; 20]), reserved, false);
    assert_eq!(
        t.stats().connected_peers,
        before + 1,
        "peer {key:?} accepted"
    );
    key
}

/// Whether `actions` drop `key` (how the engine refuses a peer that just connected).
pub fn refused(actions: &[Action], key: PeerKey) -> bool {
    actions
        .iter()
        .any(|a| matches!(a, Action::Disconnect { peer, .. } if *peer == key))
}

pub fn offered_fast(opening: &[Action]) -> Vec<u32> {
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

pub fn drain(t: &mut Torrent) -> Vec<Action> {
    std::iter::from_fn(|| t.poll_action()).collect()
}

/// The peer's BEP 10 handshake, announcing one extension under `id`.
pub fn send_ext_handshake(t: &mut Torrent, now: Instant, name: &str, id: u8) {
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

pub fn dropped_for_protocol(actions: &[Action]) -> bool {
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

pub fn sent_interested(actions: &[Action]) -> bool {
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

pub fn requested_pieces(actions: &[Action]) -> Vec<u32> {
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

/// A seed that started complete (so in initial seeding), with `PEER` and another BEP 6 peer
/// connected and interested; returns the other peer's key.
pub fn seed_with_two_interested_peers() -> (Torrent, Instant, PeerKey) {
    let (mut t, now, _) = engine_with_have(Bitfield::full(PIECES), true);
    let other = connect_other(&mut t, now, [10, 1, 2, 4], true);
    for key in [PEER, other] {
        t.handle_message(now, key, Message::Interested);
    }
    drain(&mut t);
    (t, now, other)
}

/// The standard-size block at `begin` of piece `index`.
pub fn block(index: u32, begin: u32) -> BlockInfo {
    BlockInfo {
        index,
        begin,
        length: 16384,
    }
}

/// Requests `count` distinct blocks of `piece` (lengths differ, so none is a duplicate).
pub fn request_many(t: &mut Torrent, now: Instant, piece: u32, count: u32) {
    for i in 0..count {
        let b = BlockInfo {
            index: piece,
            begin: 0,
            length: 16384 - i,
        };
        t.handle_message(now, PEER, Message::Request(b));
    }
}

pub fn reads(actions: &[Action]) -> Vec<(u32, u32)> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::ReadBlock { block, .. } => Some((block.piece.get(), block.offset)),
            _ => None,
        })
        .collect()
}

/// Blocks as (piece, offset).
pub type Blocks = Vec<(u32, u32)>;

/// Every block requested of `peer`, and every one cancelled.
pub fn asked(actions: &[Action], peer: PeerKey) -> (Blocks, Blocks) {
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
