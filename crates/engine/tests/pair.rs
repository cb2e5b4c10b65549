//! Two engines wired back to back with no network: a seeder and a leecher exchange messages
//! directly, and the leecher's stored blocks are checked against the original data. This
//! exercises the whole message flow (handshake effects, bitfield, interest, choking,
//! requests, verification, metadata exchange) deterministically.

use bytes::Bytes;
use sha1::{Digest, Sha1};
use shoal_core::{Bitfield, Info, PeerId, Rng};
use shoal_engine::{our_reserved_bits, Action, Config, PeerKey, PeerSource, Torrent};
use shoal_testkit::{content, TorrentBuilder};
use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

struct Node {
    torrent: Torrent,
    /// Blocks waiting for verification, by piece.
    pending: BTreeMap<u32, Vec<(u32, Bytes)>>,
    data: Vec<u8>,
    info: Option<Arc<Info>>,
    completed: bool,
    corrupt: bool,
}

fn addr(i: u8) -> SocketAddr {
    SocketAddr::from(([10, 0, 0, i], 6881))
}

/// Runs both nodes until the leecher completes or virtual time runs out.
#[allow(clippy::needless_range_loop)] // `n` also names the other node, `1 - n`
fn run(nodes: &mut [Node; 2], mut now: Instant, limit: Duration) -> Instant {
    let end = now + limit;
    let mut queue: VecDeque<(usize, shoal_wire::Message)> = VecDeque::new();
    loop {
        let mut progressed = false;
        for n in 0..2 {
            while let Some(action) = nodes[n].torrent.poll_action() {
                progressed = true;
                match action {
                    Action::Send { msg, .. } => queue.push_back((1 - n, msg)),
                    Action::StoreBlock { block, data } => nodes[n]
                        .pending
                        .entry(block.piece.get())
                        .or_default()
                        .push((block.offset, data)),
                    Action::VerifyPiece { piece } => {
                        let info = nodes[n].info.clone().unwrap();
                        let mut blocks = nodes[n].pending.remove(&piece.get()).unwrap_or_default();
                        blocks.sort_by_key(|(o, _)| *o);
                        let mut h = Sha1::new();
                        for (_, b) in &blocks {
                            h.update(b);
                        }
                        let ok = h.finalize().as_slice() == info.pieces[piece.get() as usize];
                        if ok {
                            let start = info.lengths.piece_offset(piece) as usize;
                            let mut at = start;
                            for (_, b) in &blocks {
                                nodes[n].data[at..at + b.len()].copy_from_slice(b);
                                at += b.len();
                            }
                        }
                        nodes[n].torrent.handle_piece_verified(now, piece, ok);
                    }
                    Action::ReadBlock { peer, block } => {
                        let info = nodes[n].info.clone().unwrap();
                        let start =
                            (info.lengths.piece_offset(block.piece) + block.offset as u64) as usize;
                        let mut bytes = nodes[n].data[start..start + block.len as usize].to_vec();
                        if nodes[n].corrupt {
                            bytes[0] ^= 0xff;
                        }
                        let msg = shoal_wire::Message::Piece {
                            index: block.piece.get(),
                            begin: block.offset,
                            data: Bytes::from(bytes),
                        };
                        queue.push_back((1 - n, msg));
                        nodes[n].torrent.handle_block_sent(now, peer, block.len);
                    }
                    Action::MetadataReady { info, .. } => {
                        nodes[n].data = vec![0; info.lengths.total() as usize];
                        nodes[n].info = Some(info);
                    }
                    Action::Completed => nodes[n].completed = true,
                    Action::Connect { .. }
                    | Action::HolepunchConnect { .. }
                    | Action::Disconnect { .. }
                    | Action::DhtNode { .. }
                    | Action::AddressReported { .. } => {}
                }
            }
        }
        if let Some((to, msg)) = queue.pop_front() {
            nodes[to].torrent.handle_message(now, PeerKey(1), msg);
            continue;
        }
        if nodes[1].completed || now >= end {
            return now;
        }
        if !progressed {
            now += Duration::from_millis(500);
            for n in nodes.iter_mut() {
                n.torrent.handle_timeout(now);
            }
        }
    }
}

fn pair(leecher_has_info: bool, corrupt: bool) -> ([Node; 2], Vec<u8>) {
    let now = Instant::now();
    let t = TorrentBuilder::single_file("data.bin", content(5, 300_000))
        .piece_length(32_768)
        .build();
    let (data, info, info_bytes, hash) = (t.data(), t.info, t.info_bytes, t.info_hash);
    let mut rng = Rng::new(1);
    let seed_cfg = Config::new(PeerId::generate(&mut rng));
    let leech_cfg = Config::new(PeerId::generate(&mut rng));
    let (seed_id, leech_id) = (seed_cfg.peer_id, leech_cfg.peer_id);
    let n = info.lengths.num_pieces();
    let seeder = Torrent::new(
        now,
        hash,
        Some((info.clone(), info_bytes.clone())),
        Some(Bitfield::full(n)),
        seed_cfg,
    );
    let leecher_info = leecher_has_info.then(|| (info.clone(), info_bytes.clone()));
    let leecher = Torrent::new(now, hash, leecher_info, None, leech_cfg);
    let mut nodes = [
        Node {
            torrent: seeder,
            pending: BTreeMap::new(),
            data: data.clone(),
            info: Some(info.clone()),
            completed: true,
            corrupt,
        },
        Node {
            torrent: leecher,
            pending: BTreeMap::new(),
            data: vec![0; if leecher_has_info { data.len() } else { 0 }],
            info: leecher_has_info.then_some(info),
            completed: false,
            corrupt: false,
        },
    ];
    nodes[1]
        .torrent
        .handle_peers_found(now, &[addr(1)], PeerSource::Hint);
    assert!(
        matches!(nodes[1].torrent.poll_action(), Some(Action::Connect { addr: a }) if a == addr(1))
    );
    let r = our_reserved_bits();
    nodes[0]
        .torrent
        .handle_peer_connected(now, PeerKey(1), addr(2), leech_id, r, false);
    nodes[1]
        .torrent
        .handle_peer_connected(now, PeerKey(1), addr(1), seed_id, r, true);
    for n in &nodes {
        assert_eq!(n.torrent.stats().connected_peers, 1, "both sides accept");
    }
    (nodes, data)
}

#[test]
fn leecher_downloads_everything_from_a_seeder() {
    let (mut nodes, data) = pair(true, false);
    run(&mut nodes, Instant::now(), Duration::from_secs(120));
    assert!(nodes[1].completed, "leecher completes");
    assert!(nodes[1].torrent.is_complete());
    assert_eq!(nodes[1].data, data);
    assert_eq!(nodes[1].torrent.stats().hash_failures, 0);
}

#[test]
fn magnet_leecher_fetches_metadata_then_data() {
    let (mut nodes, data) = pair(false, false);
    run(&mut nodes, Instant::now(), Duration::from_secs(120));
    assert!(nodes[1].torrent.info().is_some(), "metadata arrived");
    assert!(nodes[1].completed);
    assert_eq!(nodes[1].data, data);
}

#[test]
fn a_seeder_sending_corrupt_data_is_banned() {
    let (mut nodes, _) = pair(true, true);
    run(&mut nodes, Instant::now(), Duration::from_secs(60));
    let stats = nodes[1].torrent.stats();
    assert!(!nodes[1].completed);
    assert!(stats.hash_failures >= 1);
    assert_eq!(stats.banned_peers, 1);
    assert_eq!(stats.connected_peers, 0, "the corrupt peer was dropped");
}
