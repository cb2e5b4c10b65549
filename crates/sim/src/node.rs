//! A simulated node: one engine, its storage, its link state and what the simulator
//! observed about it.

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
    Honest,
    /// Serves every block with its bytes flipped (it has the right data but lies).
    Corrupt,
    /// Takes requests and never serves them (its engine still unchokes and advertises).
    Silent,
}

/// Everything needed to add a node.
#[derive(Debug, Clone, Copy)]
pub struct NodeSpec {
    pub role: Role,
    pub behaviour: Behaviour,
    pub link: Link,
    /// SHA-1 throughput in bytes per second for piece verification; `None` is instant.
    pub hash_rate: Option<u64>,
    /// Adjusts this node's engine config after the swarm-wide adjustment.
    pub tune: Option<fn(&mut Config)>,
}

impl NodeSpec {
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
/// messages wait in `ready` and are served round-robin, one message each, whenever the
/// transmit ring has room (see [`crate::model`]).
#[derive(Debug, Default)]
pub(crate) struct UploadPipe {
    /// When the last message committed to the wire finishes serialising.
    pub busy_until: u64,
    /// A `PipeFree` event is queued.
    pub kick_pending: bool,
    pub ready: VecDeque<shoal_engine::PeerKey>,
    /// Blocks committed to the wire whose `handle_block_sent` is still to be made.
    pub sent_blocks: Vec<(shoal_engine::PeerKey, u32)>,
}

pub(crate) struct Node {
    pub spec: NodeSpec,
    pub addr: SocketAddr,
    pub peer_id: PeerId,
    pub engine: Torrent,
    pub store: Store,
    pub up: UploadPipe,
    /// When the download pipe finishes the last message it accepted.
    pub down_free_at: u64,
    /// When the hasher finishes the last piece it accepted.
    pub hash_free_at: u64,
    /// The pending `Wake` event, if any; older ones in the queue are stale.
    pub wake: Option<u64>,
    pub online: bool,
    /// The block being delivered right now and who sent it, to attribute `StoreBlock`.
    pub delivering: Option<(u32, u32, NodeId)>,
    pub log: NodeLog,
}
