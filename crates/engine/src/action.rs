//! What the engine asks its driver to do: the outputs drained with
//! [`Torrent::poll_action`](crate::Torrent::poll_action).

use crate::PeerKey;
use bytes::Bytes;
use shoal_core::{BlockRef, Info, PieceIndex};
use shoal_wire::Message;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

/// Why the engine drops a peer (carried by [`Action::Disconnect`], for logs and the
/// simulator's bookkeeping; the driver closes the connection the same way for each).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DisconnectReason {
    /// The peer broke the protocol (bad message, bad index, bad metadata...).
    Protocol(&'static str),
    /// The peer sent data that failed hash checks too often, or was banned for it before.
    Banned,
    /// Both sides are seeds, or the peer is otherwise useless to keep.
    NotUseful,
    /// Too many connections.
    TooMany,
    /// A second connection to the same peer replaced this one, or this one lost to the
    /// connection already there.
    Duplicate,
    /// The connection leads back to ourselves (the peer id is ours).
    Ourselves,
    /// No message for too long.
    Timeout,
    /// Shutting the torrent down.
    Shutdown,
}

/// An output of the engine, drained with [`Torrent::poll_action`](crate::Torrent::poll_action).
///
/// Each variant says what the driver must do and which input, if any, answers it.
#[derive(Debug, Clone)]
pub enum Action {
    /// Dial this address. Once both handshakes are exchanged, report the connection with
    /// `handle_peer_connected`; if the dial or the handshake fails, `handle_connect_failed`.
    Connect {
        /// The address to dial.
        addr: SocketAddr,
    },
    /// A relay (BEP 55) asked both ends to open a connection to each other at once: dial
    /// this address over **uTP only**, now, whatever transports ordinary dials use; the peer
    /// dials us at the same moment, so each side's first packets open its own NAT to the
    /// other. Answered like `Connect`: `handle_peer_connected` (outbound) or
    /// `handle_connect_failed` with this address. Only emitted with
    /// [`Config::holepunch`](crate::Config::holepunch) on.
    HolepunchConnect {
        /// The endpoint the relay named: the peer's uTP socket as the relay sees it.
        addr: SocketAddr,
    },
    /// Queue this message on the peer's connection, after those queued before it.
    Send {
        /// The connection to write to.
        peer: PeerKey,
        /// The message to write.
        msg: Message,
    },
    /// Close the connection once what was queued on it is written. The engine has already
    /// forgotten the peer (or, right after `handle_peer_connected`, refused it), so no
    /// `handle_peer_closed` is needed; one that comes anyway is ignored.
    Disconnect {
        /// The connection to close.
        peer: PeerKey,
        /// Why, for the log.
        reason: DisconnectReason,
    },
    /// Keep this received block until its piece is verified. No answer.
    StoreBlock {
        /// Where the block belongs.
        block: BlockRef,
        /// Its bytes, as they arrived.
        data: Bytes,
    },
    /// Every block of this piece has been stored: hash it, write it if it matches, and
    /// answer with `handle_piece_verified`. If it does not match, drop its blocks.
    VerifyPiece {
        /// The piece whose blocks are all stored.
        piece: PieceIndex,
    },
    /// Read this block from verified data and send it to the peer as a `Piece` message
    /// (in order with the `Send`s for that peer), then report the bytes with
    /// `handle_block_sent`. If the peer is gone by then, drop the read and report nothing.
    ReadBlock {
        /// The connection that asked.
        peer: PeerKey,
        /// The block to read.
        block: BlockRef,
    },
    /// A peer named its DHT node (a BEP 5 `PORT` message): add this address to the DHT
    /// routing table, if the runtime runs a DHT node. No answer. Never emitted for a
    /// private torrent (BEP 27).
    DhtNode {
        /// The peer's IP address with the UDP port it named.
        addr: SocketAddr,
    },
    /// A peer told us the address it sees us at (BEP 10 `yourip`): a vote for our external
    /// address, which the runtime counts across its torrents. No answer.
    AddressReported {
        /// Our address as the peer sees it.
        ip: IpAddr,
        /// The peer that said so.
        by: SocketAddr,
    },
    /// The metadata of a magnet download arrived and matched the info-hash: open storage
    /// for it. Block actions may follow at once. No answer.
    MetadataReady {
        /// The parsed info dictionary.
        info: Arc<Info>,
        /// Its bencoded bytes, as hashed into the info-hash.
        info_bytes: Bytes,
    },
    /// Every piece is verified (emitted once per transition to complete). No answer.
    Completed,
}
