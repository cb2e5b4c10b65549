//! The messages that flow between a torrent's driver and the tasks around it.

use crate::disk::SharedStorage;
use crate::peer::Link;
use crate::TorrentError;
use shoal_core::{BlockRef, PeerId, PieceIndex};
use shoal_engine::{PeerKey, PeerSource};
use shoal_wire::{Handshake, Message};
use std::net::SocketAddr;
use tokio::net::TcpStream;
use tokio::sync::{oneshot, OwnedSemaphorePermit};

/// Everything a driver reacts to, on its single input channel.
pub(crate) enum DriverEvent {
    /// The listener accepted a connection and read a handshake naming this torrent (after
    /// the encryption handshake, if the peer encrypted).
    Inbound {
        /// Boxed: with its two ciphers it is over half a kilobyte, the other events small.
        link: Box<Link<TcpStream>>,
        addr: SocketAddr,
        handshake: Handshake,
        /// Its place in the session's connection budget.
        slot: OwnedSemaphorePermit,
    },
    /// A peer task finished the handshake.
    PeerConnected {
        key: PeerKey,
        addr: SocketAddr,
        peer_id: PeerId,
        reserved: [u8; 8],
        /// The stream is RC4-encrypted.
        encrypted: bool,
    },
    /// An outbound dial or its handshake failed.
    ConnectFailed {
        key: PeerKey,
        addr: SocketAddr,
    },
    PeerMessage {
        key: PeerKey,
        msg: Message,
    },
    /// The connection ended (EOF, error, or the driver dropped its queue).
    PeerClosed {
        key: PeerKey,
    },
    /// A piece was hashed; `Ok(true)` means it matched and is written, `Err` that the write
    /// failed. `generation` names the engine that asked (see the driver's magnet-resume
    /// restart).
    PieceVerified {
        generation: u64,
        piece: PieceIndex,
        result: Result<bool, TorrentError>,
    },
    /// Storage was flushed after completion.
    Flushed(Result<(), TorrentError>),
    /// Reading verified data for a peer failed.
    ReadFailed(TorrentError),
    /// More peers to dial: from a handle (`Hint`) or a discovery task (trackers, DHT, LSD).
    AddPeers {
        peers: Vec<SocketAddr>,
        source: PeerSource,
    },
    /// From a handle or the session: stop the torrent; `done` fires once it has stopped.
    Shutdown {
        done: Option<oneshot::Sender<()>>,
    },
}

/// What a driver queues on one peer's writer.
pub(crate) enum Outgoing {
    Message(Message),
    /// Read this verified block from storage and send it as a `Piece` message.
    Block {
        block: BlockRef,
        offset: u64,
        storage: SharedStorage,
    },
}

/// A peer's writer sent blocks we read from disk: one length per block, in the order sent.
///
/// These travel on a channel of their own, which the driver reads even while it leaves peer
/// messages unread (hashing behind): a writer waiting to report would stop uploading to its
/// peer, though uploads need nothing from hashing. The channel is unbounded but its contents
/// are not: a writer reports only blocks the engine handed it, and the engine hands a peer
/// at most 32 before their reports are taken.
#[derive(Debug)]
pub(crate) struct BlocksSent {
    pub key: PeerKey,
    pub lens: Vec<u32>,
}
