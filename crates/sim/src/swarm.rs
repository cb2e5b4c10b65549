//! The swarm: building it, running it on the virtual clock, and looking at its nodes.

use crate::conn::{self, Conn};
use crate::content::{Content, ContentError, ContentSpec};
use crate::model::Link;
use crate::node::{Behaviour, Node, NodeId, NodeLog, NodeSpec, Role, ServeLog, UploadPipe};
use crate::outcome::{Anomaly, Limits, Outcome, StopReason};
use crate::queue::EventQueue;
use crate::storage::{Fidelity, Store};
use crate::view::NodeView;
use shoal_core::{Bitfield, PeerId, Rng};
use shoal_engine::{Action, Config, PeerSource, Torrent};
use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::time::{Duration, Instant};

/// How nodes first learn about each other, applied when the swarm starts (and to nodes
/// added later, when they are added). Everything else is up to the engines (PEX).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Discovery {
    /// Every non-seeder is told every seeder's address (like a tracker that lists seeds).
    pub seeders: bool,
    /// Each node is also told this many other nodes, drawn at random.
    pub random: usize,
}

impl Default for Discovery {
    fn default() -> Discovery {
        Discovery {
            seeders: true,
            random: 5,
        }
    }
}

/// Swarm-wide settings.
#[derive(Debug, Clone, Copy)]
pub struct SwarmConfig {
    pub content: ContentSpec,
    pub fidelity: Fidelity,
    pub discovery: Discovery,
    /// Adjusts every node's engine config (a node's own `tune` runs after it).
    pub tune: Option<fn(&mut Config)>,
    /// Event budget of [`Swarm::run_until`].
    pub max_events: u64,
}

impl Default for SwarmConfig {
    fn default() -> SwarmConfig {
        SwarmConfig {
            content: ContentSpec::default(),
            fidelity: Fidelity::Exact,
            discovery: Discovery::default(),
            tune: None,
            max_events: 50_000_000,
        }
    }
}

/// The virtual clock: a fixed real base plus a count of virtual nanoseconds.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Clock {
    base: Instant,
}

impl Clock {
    pub fn instant(&self, nanos: u64) -> Instant {
        self.base + Duration::from_nanos(nanos)
    }

    pub fn nanos(&self, at: Instant) -> u64 {
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
    pub(crate) nodes: Vec<Node>,
    pub(crate) by_addr: HashMap<SocketAddr, NodeId>,
    pub(crate) conns: Vec<Conn>,
    pub(crate) queue: EventQueue,
    pub(crate) events: u64,
    pub(crate) started: bool,
    /// Downloaders (honest non-seeders) whose engine has not reported completion.
    pub(crate) incomplete: usize,
    pub(crate) anomalies: Vec<Anomaly>,
    pub(crate) anomaly_count: usize,
    /// Reused buffer for draining actions.
    pub(crate) scratch: Vec<Action>,
    pub(crate) trace: bool,
}

/// Most anomalies kept in full; later ones are only counted.
const MAX_KEPT_ANOMALIES: usize = 1000;

impl Swarm {
    /// A swarm sharing 4 MiB in 64 KiB pieces, with default settings.
    pub fn new(seed: u64) -> Swarm {
        match Swarm::with_config(seed, SwarmConfig::default()) {
            Ok(swarm) => swarm,
            // The default content spec is a valid shape by construction.
            Err(e) => unreachable!("default content spec: {e}"),
        }
    }

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
            nodes: Vec::new(),
            by_addr: HashMap::new(),
            conns: Vec::new(),
            queue: EventQueue::default(),
            events: 0,
            started: false,
            incomplete: 0,
            anomalies: Vec::new(),
            anomaly_count: 0,
            scratch: Vec::new(),
            trace: false,
        })
    }

    /// Prints every event and action to stderr (for debugging one seed).
    pub fn set_trace(&mut self, on: bool) {
        self.trace = on;
    }

    pub fn add_seeder(&mut self, link: Link) -> NodeId {
        self.add_node(NodeSpec::new(Role::Seeder, link))
    }

    pub fn add_leecher(&mut self, link: Link) -> NodeId {
        self.add_node(NodeSpec::new(Role::Leecher, link))
    }

    pub fn add_magnet_leecher(&mut self, link: Link) -> NodeId {
        self.add_node(NodeSpec::new(Role::MagnetLeecher, link))
    }

    /// A node that has the data but serves every block corrupted.
    pub fn add_corrupt_peer(&mut self, link: Link) -> NodeId {
        self.add_node(NodeSpec {
            behaviour: Behaviour::Corrupt,
            ..NodeSpec::new(Role::Seeder, link)
        })
    }

    /// A node that has the data, advertises it and never serves a block.
    pub fn add_silent_peer(&mut self, link: Link) -> NodeId {
        self.add_node(NodeSpec {
            behaviour: Behaviour::Silent,
            ..NodeSpec::new(Role::Seeder, link)
        })
    }

    pub fn add_node(&mut self, spec: NodeSpec) -> NodeId {
        let id = NodeId(self.nodes.len() as u32);
        let addr = node_addr(id);
        let peer_id = PeerId::generate(&mut self.rng);
        let mut config = Config::new(peer_id);
        config.listen_port = Some(addr.port());
        config.rng_seed = self.rng.next_u64();
        for tune in [self.config.tune, spec.tune].into_iter().flatten() {
            tune(&mut config);
        }
        let now = self.clock.instant(self.now);
        let c = &self.content;
        let (info, have, store) = match spec.role {
            Role::Seeder => (
                Some((c.info.clone(), c.info_bytes.clone())),
                Some(Bitfield::full(c.lengths().num_pieces())),
                Store::full(c),
            ),
            Role::Leecher => {
                let mut store = Store::empty();
                store.allocate(c.lengths());
                (Some((c.info.clone(), c.info_bytes.clone())), None, store)
            }
            Role::MagnetLeecher => (None, None, Store::empty()),
        };
        let engine = Torrent::new(now, c.info_hash, info, have, config);
        if spec.is_downloader() {
            self.incomplete += 1;
        }
        self.nodes.push(Node {
            spec,
            addr,
            peer_id,
            engine,
            store,
            up: UploadPipe::default(),
            down_free_at: 0,
            hash_free_at: 0,
            wake: None,
            online: true,
            delivering: None,
            log: NodeLog::default(),
            served: (spec.role == Role::Seeder).then(|| ServeLog::new(c.lengths())),
        });
        self.by_addr.insert(addr, id);
        self.drain(id);
        if self.started {
            self.discover(id);
        }
        id
    }

    /// Tells `node`'s engine the addresses of `peers` (as hints, like `x.pe` in a magnet).
    pub fn introduce(&mut self, node: NodeId, peers: &[NodeId]) {
        let addrs: Vec<SocketAddr> = peers
            .iter()
            .filter_map(|p| self.nodes.get(p.index()))
            .map(|p| p.addr)
            .collect();
        let now = self.clock.instant(self.now);
        let Some(n) = self.nodes.get_mut(node.index()).filter(|n| n.online) else {
            return;
        };
        n.engine.add_peers(now, &addrs, PeerSource::Hint);
        self.drain(node);
    }

    /// Takes a node off the network: its connections close (its peers see them close after
    /// the path latency) and it answers nothing more.
    pub fn take_offline(&mut self, node: NodeId) {
        let Some(n) = self.nodes.get_mut(node.index()) else {
            return;
        };
        if !n.online {
            return;
        }
        n.online = false;
        n.wake = None;
        if n.spec.is_downloader() && n.log.completed_at.is_none() {
            // It will never finish now; the swarm is done without it.
            self.incomplete -= 1;
        }
        for index in 0..self.conns.len() {
            for side in 0..2 {
                let c = &mut self.conns[index];
                if c.nodes[side] == node && c.open[side] {
                    c.close(side);
                    self.close_remote(conn::key(index, side));
                }
            }
        }
    }

    /// Runs until `done` holds, the virtual clock has advanced by `max_time`, the default
    /// event budget is spent, or nothing is left to do. `done` is checked before every
    /// event, so keep it cheap ([`Swarm::all_complete`] is O(1)).
    pub fn run_until(&mut self, done: impl FnMut(&Swarm) -> bool, max_time: Duration) -> Outcome {
        let events = self.config.max_events;
        self.run_with(
            done,
            Limits {
                time: max_time,
                events,
            },
        )
    }

    pub fn run_with(&mut self, mut done: impl FnMut(&Swarm) -> bool, limits: Limits) -> Outcome {
        self.start();
        let deadline = self
            .now
            .saturating_add(u64::try_from(limits.time.as_nanos()).unwrap_or(u64::MAX));
        let budget_end = self.events.saturating_add(limits.events);
        let stop = loop {
            if done(self) {
                break StopReason::Done;
            }
            if self.events >= budget_end {
                break StopReason::EventLimit;
            }
            match self.queue.peek_time() {
                None => break StopReason::Idle,
                Some(at) if at > deadline => {
                    self.now = deadline;
                    break StopReason::TimeLimit;
                }
                Some(_) => {}
            }
            if let Some((at, event)) = self.queue.pop() {
                self.now = self.now.max(at);
                self.events += 1;
                self.handle(event);
            }
        };
        self.outcome(stop)
    }

    /// Hands out the initial addresses, once.
    fn start(&mut self) {
        if self.started {
            return;
        }
        self.started = true;
        for i in 0..self.nodes.len() {
            self.discover(NodeId(i as u32));
        }
    }

    fn discover(&mut self, node: NodeId) {
        let d = self.config.discovery;
        let n = self.nodes.len() as u64;
        let mut peers: Vec<NodeId> = Vec::new();
        if d.seeders && self.nodes[node.index()].spec.role != Role::Seeder {
            peers.extend(
                self.nodes
                    .iter()
                    .enumerate()
                    .filter(|(_, p)| p.spec.role == Role::Seeder)
                    .map(|(i, _)| NodeId(i as u32)),
            );
        }
        for _ in 0..d.random.min(n.saturating_sub(1) as usize) {
            let pick = NodeId(self.rng.below(n) as u32);
            if pick != node && !peers.contains(&pick) {
                peers.push(pick);
            }
        }
        if !peers.is_empty() {
            self.introduce(node, &peers);
        }
    }

    fn outcome(&self, stop: StopReason) -> Outcome {
        Outcome {
            stop,
            time: Duration::from_nanos(self.now),
            events: self.events,
            completed: self
                .nodes
                .iter()
                .map(|n| n.log.completed_at.map(Duration::from_nanos))
                .collect(),
            anomalies: self.anomaly_count,
        }
    }

    pub(crate) fn anomaly(&mut self, node: NodeId, what: String) {
        if self.trace {
            eprintln!("{:>12} {node:?} ANOMALY {what}", self.now);
        }
        self.anomaly_count += 1;
        if self.anomalies.len() < MAX_KEPT_ANOMALIES {
            self.anomalies.push(Anomaly {
                at: Duration::from_nanos(self.now),
                node,
                what,
            });
        }
    }

    /// True when every honest leecher still online has reported completion. O(1).
    pub fn all_complete(&self) -> bool {
        self.incomplete == 0
    }

    /// Virtual time since start.
    pub fn now(&self) -> Duration {
        Duration::from_nanos(self.now)
    }

    pub fn events(&self) -> u64 {
        self.events
    }

    pub fn content(&self) -> &Content {
        &self.content
    }

    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    pub fn node_ids(&self) -> impl Iterator<Item = NodeId> {
        (0..self.nodes.len() as u32).map(NodeId)
    }

    /// Contract violations seen so far (the first thousand in full).
    pub fn anomalies(&self) -> &[Anomaly] {
        &self.anomalies
    }

    /// Events waiting in the queue.
    pub fn pending_events(&self) -> usize {
        self.queue.len()
    }

    /// A read-only view of one node. Panics on an id this swarm did not hand out.
    pub fn node(&self, id: NodeId) -> NodeView<'_> {
        NodeView {
            swarm: self,
            id,
            node: &self.nodes[id.index()],
        }
    }
}

/// The label address of a node: `10.a.b.c:6881`, every node in its own /24 (as peers of a
/// real swarm mostly are; BEP 6 allowed-fast sets and IP-based bans depend on it). Nothing
/// ever dials it; it only names the node to the engines.
fn node_addr(id: NodeId) -> SocketAddr {
    let [hi, a, b, c] = id.0.to_be_bytes();
    let last = 1 + (hi as u16 * 256 + a as u16) % 254;
    SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::new(10, b, c, last as u8), 6881))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_addresses_are_distinct_and_in_distinct_subnets() {
        let (mut addrs, mut nets) = (
            std::collections::HashSet::new(),
            std::collections::HashSet::new(),
        );
        for i in 0..70_000 {
            let SocketAddr::V4(a) = node_addr(NodeId(i)) else {
                unreachable!()
            };
            let [x, y, z, w] = a.ip().octets();
            assert!(x == 10 && w != 0 && w != 255);
            assert!(addrs.insert(a), "{a} given twice");
            nets.insert((y, z));
        }
        assert_eq!(nets.len(), 65_536);
    }
}
