//! The swarm: its state, building an empty one, and looking at it and its nodes.
//!
//! The rest is split by purpose: `config.rs` (settings), `membership.rs` (adding nodes,
//! introductions, taking them offline), `run.rs` (the run loop and its threads) and
//! `exchange.rs` (what passes between shards at the end of each window).

mod config;
mod exchange;
mod membership;
mod run;

pub use config::{Discovery, SwarmConfig};

use crate::content::{Content, ContentError};
use crate::node::{NodeId, NodeInfo};
use crate::outcome::Anomaly;
use crate::queue::Scheduled;
use crate::shard::Shard;
use crate::view::NodeView;
use shoal_core::Rng;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// The virtual clock: a fixed real base plus a count of virtual nanoseconds.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Clock {
    base: Instant,
}

impl Clock {
    pub(crate) fn instant(&self, nanos: u64) -> Instant {
        self.base + Duration::from_nanos(nanos)
    }

    pub(crate) fn nanos(&self, at: Instant) -> u64 {
        u64::try_from(at.saturating_duration_since(self.base).as_nanos()).unwrap_or(u64::MAX)
    }
}

/// A deterministic swarm of sans-IO engines. See the crate doc for the model.
pub struct Swarm {
    pub(crate) config: SwarmConfig,
    pub(crate) rng: Rng,
    pub(crate) clock: Clock,
    /// Virtual nanoseconds since start.
    pub(crate) now: u64,
    pub(crate) content: Content,
    /// What any node may read about any other, by node index.
    pub(crate) infos: Vec<NodeInfo>,
    pub(crate) by_addr: HashMap<SocketAddr, NodeId>,
    /// Connections dialed so far (the next one's index).
    pub(crate) conns: u64,
    /// The nodes and their events (see [`crate::shard`]).
    pub(crate) shards: Vec<Shard>,
    pub(crate) started: bool,
    /// Downloaders (honest non-seeders) whose engine has not reported completion.
    pub(crate) incomplete: usize,
    pub(crate) anomalies: Vec<Anomaly>,
    pub(crate) anomaly_count: usize,
    /// Real time each thread has spent on windows of events.
    busy: Vec<Duration>,
    /// Reused buffer for events moving between shards.
    transit: Vec<Scheduled>,
    pub(crate) trace: bool,
}

impl Swarm {
    /// A swarm sharing 4 MiB in 64 KiB pieces, with default settings.
    /// An empty swarm sharing the default content (4 MiB in 64 KiB pieces); everything
    /// random in it follows from `seed`.
    pub fn new(seed: u64) -> Swarm {
        match Swarm::with_config(seed, SwarmConfig::default()) {
            Ok(swarm) => swarm,
            // The default content spec is a valid shape by construction.
            Err(e) => unreachable!("default content spec: {e}"),
        }
    }

    /// An empty swarm with these settings; fails when the content spec is impossible.
    pub fn with_config(seed: u64, config: SwarmConfig) -> Result<Swarm, ContentError> {
        let content = Content::generate(seed, config.content)?;
        Ok(Swarm {
            config,
            rng: Rng::new(seed),
            clock: Clock {
                base: Instant::now(),
            },
            now: 0,
            content,
            infos: Vec::new(),
            by_addr: HashMap::new(),
            conns: 0,
            shards: {
                let count = shard_count(config.threads);
                (0..count).map(|i| Shard::new(i, count)).collect()
            },
            busy: vec![Duration::ZERO; config.threads.max(1)],
            started: false,
            incomplete: 0,
            anomalies: Vec::new(),
            anomaly_count: 0,
            transit: Vec::new(),
            trace: false,
        })
    }

    /// Prints every event and action to stderr (for debugging one seed).
    pub fn set_trace(&mut self, on: bool) {
        self.trace = on;
    }

    /// True when every honest leecher still online has reported completion. O(1).
    pub fn all_complete(&self) -> bool {
        self.incomplete == 0
    }

    /// Virtual time since start.
    pub fn now(&self) -> Duration {
        Duration::from_nanos(self.now)
    }

    /// Real time each thread has spent handling events (one entry per thread).
    pub fn thread_busy(&self) -> Vec<Duration> {
        self.busy.clone()
    }

    /// Payload bytes all nodes have put on the wire (the sum of
    /// [`NodeView::payload_sent`], without visiting every node).
    pub fn payload_sent(&self) -> u64 {
        self.shards.iter().map(|s| s.payload_sent).sum()
    }

    /// Events processed since the swarm started, over all threads.
    pub fn events(&self) -> u64 {
        self.shards.iter().map(|s| s.events).sum()
    }

    /// The torrent the swarm shares, with its original data.
    pub fn content(&self) -> &Content {
        &self.content
    }

    /// Number of nodes ever added (offline ones included).
    pub fn len(&self) -> usize {
        self.infos.len()
    }

    /// Whether no node has been added yet.
    pub fn is_empty(&self) -> bool {
        self.infos.is_empty()
    }

    /// Every node's id, in the order they were added.
    pub fn node_ids(&self) -> impl Iterator<Item = NodeId> {
        (0..self.infos.len() as u32).map(NodeId)
    }

    /// Contract violations seen so far (the first thousand in full).
    pub fn anomalies(&self) -> &[Anomaly] {
        &self.anomalies
    }

    /// Events waiting in the queue.
    pub fn pending_events(&self) -> usize {
        self.shards.iter().map(Shard::pending).sum()
    }

    /// A read-only view of one node. Panics on an id this swarm did not hand out.
    pub fn node(&self, id: NodeId) -> NodeView<'_> {
        let k = self.shards.len();
        NodeView {
            swarm: self,
            id,
            info: &self.infos[id.index()],
            node: &self.shards[id.index() % k].nodes[id.index() / k],
        }
    }
}

/// Shards per thread when running on several: threads take shards one at a time, so a
/// thread the machine slows down takes fewer.
const SHARDS_PER_THREAD: usize = 8;

/// How many shards spread the nodes for `threads` threads.
fn shard_count(threads: usize) -> usize {
    if threads <= 1 {
        1
    } else {
        threads * SHARDS_PER_THREAD
    }
}
