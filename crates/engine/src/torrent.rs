//! The per-torrent state machine.

use crate::{Action, Config, PeerSource};
use bytes::Bytes;
use shoal_core::{Bitfield, Info, InfoHash, PeerId, PieceIndex};
use shoal_wire::Message;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

/// The driver's handle for one connection; unique for the torrent's lifetime.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PeerKey(pub u64);

/// A snapshot for progress display.
#[derive(Debug, Clone, Default)]
pub struct Stats {
    /// Verified payload bytes we have.
    pub have_bytes: u64,
    pub total_bytes: u64,
    pub have_pieces: u32,
    pub total_pieces: u32,
    /// Payload bytes received / sent since start.
    pub downloaded: u64,
    pub uploaded: u64,
    pub connected_peers: usize,
    /// Peers we know but are not connected to.
    pub known_peers: usize,
    pub hash_failures: u32,
    pub banned_peers: usize,
    /// Whether the metadata is known (always true unless fetching a magnet).
    pub has_metadata: bool,
}

pub struct Torrent {
    _private: (),
}

impl Torrent {
    /// `info` is `None` for a magnet download that must fetch the metadata first.
    /// `have` holds the pieces already verified on disk (ignored without `info`).
    pub fn new(
        now: Instant,
        info_hash: InfoHash,
        info: Option<(Arc<Info>, Bytes)>,
        have: Option<Bitfield>,
        config: Config,
    ) -> Torrent {
        let _ = (now, info_hash, info, have, config);
        todo!()
    }

    /// New candidate addresses to dial.
    pub fn add_peers(&mut self, now: Instant, addrs: &[SocketAddr], source: PeerSource) {
        let _ = (now, addrs, source);
        todo!()
    }

    /// A connection finished its handshake (either direction). `reserved` are the peer's
    /// handshake reserved bytes. Returns false if the engine refuses the peer (banned,
    /// duplicate, too many, ourselves); the driver then closes it.
    pub fn handle_peer_connected(
        &mut self,
        now: Instant,
        key: PeerKey,
        addr: SocketAddr,
        peer_id: PeerId,
        reserved: [u8; 8],
        outbound: bool,
    ) -> bool {
        let _ = (now, key, addr, peer_id, reserved, outbound);
        todo!()
    }

    /// A dial requested with `Action::Connect` failed before the handshake completed.
    pub fn handle_connect_failed(&mut self, now: Instant, addr: SocketAddr) {
        let _ = (now, addr);
        todo!()
    }

    pub fn handle_message(&mut self, now: Instant, key: PeerKey, msg: Message) {
        let _ = (now, key, msg);
        todo!()
    }

    /// The connection closed or failed (read error, write error, EOF).
    pub fn handle_peer_closed(&mut self, now: Instant, key: PeerKey) {
        let _ = (now, key);
        todo!()
    }

    /// Answer to `Action::VerifyPiece`: `ok` means the hash matched and the piece is on disk.
    pub fn handle_piece_verified(&mut self, now: Instant, piece: PieceIndex, ok: bool) {
        let _ = (now, piece, ok);
        todo!()
    }

    /// Upload accounting after `Action::ReadBlock` was served.
    pub fn handle_block_sent(&mut self, now: Instant, key: PeerKey, bytes: u32) {
        let _ = (now, key, bytes);
        todo!()
    }

    pub fn handle_timeout(&mut self, now: Instant) {
        let _ = now;
        todo!()
    }

    /// Drop every peer (emits `Disconnect` for each) and stop dialing.
    pub fn shutdown(&mut self) {
        todo!()
    }

    pub fn poll_action(&mut self) -> Option<Action> {
        todo!()
    }

    pub fn poll_timeout(&self) -> Option<Instant> {
        todo!()
    }

    pub fn stats(&self) -> Stats {
        todo!()
    }

    pub fn is_complete(&self) -> bool {
        todo!()
    }

    pub fn info(&self) -> Option<&Arc<Info>> {
        todo!()
    }

    pub fn info_hash(&self) -> InfoHash {
        todo!()
    }
}

/// Reserved handshake bits we set: BEP 10 extension protocol and BEP 6 fast extension.
pub fn our_reserved_bits() -> [u8; 8] {
    let mut r = [0u8; 8];
    r[5] |= 0x10;
    r[7] |= 0x04;
    r
}
