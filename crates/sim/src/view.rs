//! A read-only view of one node of a swarm: its engine's stats, what the simulator saw
//! happen to it, and its stored data.

use crate::node::{Node, NodeId, NodeInfo, NodeLog, NodeSpec, ServeLog};
use crate::Swarm;
use shoal_engine::Stats;
use std::net::SocketAddr;
use std::time::Duration;

/// A read-only view of a node.
pub struct NodeView<'a> {
    pub(crate) swarm: &'a Swarm,
    pub(crate) id: NodeId,
    pub(crate) info: &'a NodeInfo,
    pub(crate) node: &'a Node,
}

impl<'a> NodeView<'a> {
    /// The node's id in its swarm.
    pub fn id(&self) -> NodeId {
        self.id
    }

    /// The label address peers know the node by (nothing listens on it).
    pub fn addr(&self) -> SocketAddr {
        self.info.addr
    }

    /// How the node was added: role, behaviour, link.
    pub fn spec(&self) -> &'a NodeSpec {
        &self.info.spec
    }

    /// False once [`Swarm::take_offline`] took the node off the network.
    pub fn is_online(&self) -> bool {
        self.info.online
    }

    /// The engine's own stats (`banned_peers`, `hash_failures`, ...).
    pub fn stats(&self) -> Stats {
        self.node.engine.stats()
    }

    /// Whether the node's engine says it has every piece.
    pub fn engine_complete(&self) -> bool {
        self.node.engine.is_complete()
    }

    /// What the simulator observed (bans, bad blocks, completion time...).
    pub fn log(&self) -> &'a NodeLog {
        &self.node.log
    }

    /// Payload bytes this node has put on the wire (blocks committed to its upload pipe).
    pub fn payload_sent(&self) -> u64 {
        self.node.up.payload_sent
    }

    /// Whether the node's upload pipe has nothing queued or on the wire right now.
    pub fn upload_idle(&self) -> bool {
        self.node.up.busy_until <= self.swarm.now && self.node.up.ready.is_empty()
    }

    /// What a seeder served block by block; `None` for other roles.
    pub fn served(&self) -> Option<&'a ServeLog> {
        self.node.served.as_ref()
    }

    /// Virtual time at which the engine reported completion, if it has.
    pub fn completed_at(&self) -> Option<Duration> {
        self.node.log.completed_at.map(Duration::from_nanos)
    }

    /// Pieces verified in this node's storage.
    pub fn verified_pieces(&self) -> u32 {
        self.node.store.verified_count()
    }

    /// Whether piece `index` is verified in this node's storage.
    pub fn has_piece(&self, index: u32) -> bool {
        self.swarm
            .content
            .lengths()
            .validate_piece(index)
            .is_some_and(|p| self.node.store.has_piece(p))
    }

    /// The node's stored payload, if it has every piece.
    pub fn data(&self) -> Option<Vec<u8>> {
        self.node.store.assemble()
    }

    /// Nodes this node has an open connection to (its side open). O(its connections).
    pub fn connected_to(&self) -> Vec<NodeId> {
        let mut out: Vec<NodeId> = self
            .node
            .halves
            .iter()
            .filter(|h| h.open)
            .map(|h| h.peer)
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }
}
