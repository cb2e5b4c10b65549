//! A simulated node: one engine, its storage, its link state and what the simulator
//! observed about it.

use crate::conn::Half;
use crate::model::Link;
use crate::storage::Store;
use shoal_core::PeerId;
use shoal_engine::{Config, Torrent};
use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;

/// Index of a node in its swarm, in the order nodes were added.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId(pub u32);

impl NodeId {
    /// The id as an index into per-node vectors.
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// What a node starts with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Has the whole torrent (info and data).
    Seeder,
    /// Has the info (a `.torrent`), no data.
    Leecher,
    /// Has only the info-hash, like a magnet link: fetches the metadata first.
    MagnetLeecher,
}

/// How a node treats its peers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behaviour {
    /// Follows the protocol: serves what it has and is asked for.
    Honest,
    /// Serves every block with its bytes flipped (it has the right data but lies).
    Corrupt,
    /// Takes requests and never serves them (its engine still unchokes and advertises).
    Silent,
}

/// Everything needed to add a node.
#[derive(Debug, Clone, Copy)]
pub struct NodeSpec {
    /// What the node has at the start.
    pub role: Role,
    /// Whether it serves its peers honestly.
    pub behaviour: Behaviour,
    /// Its network link: bandwidth and latency.
    pub link: Link,
    /// SHA-1 throughput in bytes per second for piece verification; `None` is instant.
    pub hash_rate: Option<u64>,
    /// Adjusts this node's engine config after the swarm-wide adjustment.
    pub tune: Option<fn(&mut Config)>,
}

impl NodeSpec {
    /// An honest node with instant hashing and the swarm's engine config.
    pub fn new(role: Role, link: Link) -> NodeSpec {
        NodeSpec {
            role,
            behaviour: Behaviour::Honest,
            link,
            hash_rate: None,
            tune: None,
        }
    }

    /// A node that must download the torrent for the swarm to be done.
    pub fn is_downloader(&self) -> bool {
        self.role != Role::Seeder && self.behaviour == Behaviour::Honest
    }
}

/// What the simulator saw happen to a node, beyond its engine's own stats.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NodeLog {
    /// `Piece` messages received from corrupt nodes.
    pub bad_blocks_received: u64,
    /// For each node, how many of our pieces that failed verification it contributed to.
    pub failed_from: BTreeMap<NodeId, u32>,
    /// Pieces that failed verification.
    pub hash_failures: u32,
    /// Nodes this node disconnected with `DisconnectReason::Banned`, in order.
    pub banned: Vec<NodeId>,
    /// Nodes whose handshake this node's engine refused, in order (repeats kept).
    pub refused: Vec<NodeId>,
    /// Virtual nanoseconds at which the metadata arrived (magnet downloads).
    pub metadata_at: Option<u64>,
    /// Virtual nanoseconds at which the engine reported `Completed`.
    pub completed_at: Option<u64>,
}

/// A node's upload pipe. Messages wait in per-connection queues; connections with queued
/// messages wait in `ready` and are served round-robin, a block or a run of small messages
/// each, whenever the transmit ring has room (see [`crate::model`]).
#[derive(Debug, Default)]
pub(crate) struct UploadPipe {
    /// When the last message committed to the wire finishes serialising.
    pub busy_until: u64,
    /// A `PipeFree` event is queued.
    pub kick_pending: bool,
    pub ready: VecDeque<shoal_engine::PeerKey>,
    /// Blocks committed to the wire whose `handle_block_sent` is still to be made.
    pub sent_blocks: Vec<(shoal_engine::PeerKey, u32)>,
    /// Payload bytes of every block committed to the wire so far.
    pub payload_sent: u64,
}

/// What a seeder served, block by block: shows whether the first copy of the torrent left
/// it without waste (a block sent twice before every block was sent once is capacity the
/// swarm could have used for a missing block).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServeLog {
    /// Times each block was sent, at `piece * blocks_per_piece + block_in_piece`.
    pub per_block: Vec<u32>,
    blocks_per_piece: u32,
    /// Blocks in the torrent.
    pub total: u32,
    /// Blocks sent at least once.
    pub distinct: u32,
    /// Blocks sent in all.
    pub sent: u64,
    /// Virtual nanoseconds at which the last block still missing was sent for the first time.
    pub first_copy_at: Option<u64>,
    /// Blocks sent before `first_copy_at` (including the first copies themselves).
    pub sent_before_first_copy: u64,
}

impl ServeLog {
    pub(crate) fn new(lengths: &shoal_core::Lengths) -> ServeLog {
        let per_piece = lengths.piece_length().div_ceil(shoal_core::BLOCK_SIZE);
        ServeLog {
            per_block: vec![0; (lengths.num_pieces() * per_piece) as usize],
            blocks_per_piece: per_piece,
            total: lengths.pieces().map(|p| lengths.blocks_in_piece(p)).sum(),
            ..ServeLog::default()
        }
    }

    /// Notes one block sent (`offset` within `piece`) at virtual time `now`.
    pub(crate) fn record(&mut self, piece: u32, offset: u32, now: u64) {
        let index = piece * self.blocks_per_piece + offset / shoal_core::BLOCK_SIZE;
        let Some(count) = self.per_block.get_mut(index as usize) else {
            return;
        };
        *count += 1;
        self.sent += 1;
        if self.first_copy_at.is_some() {
            return;
        }
        self.sent_before_first_copy += 1;
        if *count == 1 {
            self.distinct += 1;
            if self.distinct == self.total {
                self.first_copy_at = Some(now);
            }
        }
    }

    /// Share of the blocks sent before the first full copy that were repeats (0 is ideal).
    pub fn duplicate_ratio(&self) -> f64 {
        let before = self.sent_before_first_copy.max(1) as f64;
        1.0 - self.distinct as f64 / before
    }
}

/// What every thread may read about any node while a run goes on: fixed while it runs
/// (`online` changes only between runs, through [`crate::Swarm::take_offline`]).
pub(crate) struct NodeInfo {
    pub spec: NodeSpec,
    pub addr: SocketAddr,
    pub peer_id: PeerId,
    pub online: bool,
}

/// A node's changing state, touched only by events that land on the node.
pub(crate) struct Node {
    pub engine: Torrent,
    pub store: Store,
    pub up: UploadPipe,
    /// Its sides of its connections, by slot (see [`crate::conn`]).
    pub halves: Vec<Half>,
    /// Events this node has scheduled so far (breaks ties between events due at once).
    pub seq: u64,
    /// When the download pipe finishes the last message it accepted.
    pub down_free_at: u64,
    /// When the hasher finishes the last piece it accepted.
    pub hash_free_at: u64,
    /// The pending `Wake` event, if any; older ones in the queue are stale.
    pub wake: Option<u64>,
    /// The block being delivered right now and who sent it, to attribute `StoreBlock`.
    pub delivering: Option<(u32, u32, NodeId)>,
    pub log: NodeLog,
    /// Kept for seeders only (see [`ServeLog`]).
    pub served: Option<ServeLog>,
}
