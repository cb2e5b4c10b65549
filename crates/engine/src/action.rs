//! What the engine asks its driver to do.

use crate::PeerKey;
use bytes::Bytes;
use shoal_core::{BlockRef, Info, PieceIndex};
use shoal_wire::Message;
use std::net::SocketAddr;
use std::sync::Arc;

/// Where a peer address came from; shown to the user and used to prefer sources.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PeerSource {
    /// Given on the command line or as an `x.pe` hint.
    Hint,
    Tracker,
    Dht,
    Lsd,
    Pex,
    Incoming,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DisconnectReason {
    /// The peer broke the protocol (bad message, bad index, bad metadata...).
    Protocol(&'static str),
    /// The peer sent data that failed hash checks too often.
    Banned,
    /// Both sides are seeds, or the peer is otherwise useless to keep.
    NotUseful,
    /// Too many connections.
    TooMany,
    /// A second connection to the same peer replaced this one.
    Duplicate,
    /// No message for too long.
    Timeout,
    /// Shutting the torrent down.
    Shutdown,
}

/// An output of the engine, drained with [`crate::Torrent::poll_action`].
#[derive(Debug, Clone)]
pub enum Action {
    /// Dial this address and, once the handshake succeeds, report it with
    /// `handle_peer_connected`; on failure report `handle_connect_failed`.
    Connect { addr: SocketAddr },
    /// Queue this message on the peer's connection.
    Send { peer: PeerKey, msg: Message },
    /// Close the connection; the engine has already forgotten the peer. No
    /// `handle_peer_closed` is needed (it is ignored if it comes).
    Disconnect {
        peer: PeerKey,
        reason: DisconnectReason,
    },
    /// Keep this received block until its piece is verified.
    StoreBlock { block: BlockRef, data: Bytes },
    /// Every block of this piece has been stored: hash it, write it if it matches, and
    /// answer with `handle_piece_verified`. If it does not match, drop its blocks.
    VerifyPiece { piece: PieceIndex },
    /// Read this block from verified data and send it to the peer as a `Piece` message,
    /// then report the bytes with `handle_block_sent`.
    ReadBlock { peer: PeerKey, block: BlockRef },
    /// The metadata of a magnet download arrived and matched the info-hash: open storage
    /// for it. Block actions may follow at once.
    MetadataReady { info: Arc<Info>, info_bytes: Bytes },
    /// Every piece is verified (emitted once per transition to complete).
    Completed,
}
