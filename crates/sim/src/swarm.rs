//! The swarm: building it, running it on the virtual clock, and looking at its nodes.

use crate::content::{Content, ContentError, ContentSpec};
use crate::model::Link;
use crate::node::{
    Behaviour, Node, NodeId, NodeInfo, NodeLog, NodeSpec, Role, ServeLog, UploadPipe,
};
use crate::outcome::{Anomaly, Limits, Outcome, StopReason};
use crate::queue::{Event, Scheduled};
use crate::shard::{Ctx, Shard};
use crate::storage::{Fidelity, Store};
use crate::view::NodeView;
use shoal_core::{Bitfield, PeerId, Rng};
use shoal_engine::{Config, PeerSource, Torrent};
use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::sync::Mutex;
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
    /// Threads a run may use (the nodes are spread over this many shards). A run's result
    /// does not depend on it.
    pub threads: usize,
}

impl Default for SwarmConfig {
    fn default() -> SwarmConfig {
        SwarmConfig {
            content: ContentSpec::default(),
            fidelity: Fidelity::Exact,
            discovery: Discovery::default(),
            tune: None,
            max_events: 50_000_000,
            threads: 1,
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
        let id = NodeId(self.infos.len() as u32);
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
        let node = Node {
            engine,
            store,
            up: UploadPipe::default(),
            halves: Vec::new(),
            seq: 0,
            down_free_at: 0,
            hash_free_at: 0,
            wake: None,
            delivering: None,
            log: NodeLog::default(),
            served: (spec.role == Role::Seeder).then(|| ServeLog::new(c.lengths())),
        };
        self.infos.push(NodeInfo {
            spec,
            addr,
            peer_id,
            online: true,
        });
        let k = self.shards.len();
        self.shards[id.index() % k].nodes.push(node);
        self.by_addr.insert(addr, id);
        self.with_node(id, |shard, cx| shard.drain(cx, id));
        if self.started {
            self.discover(id);
        }
        id
    }

    /// Tells `node`'s engine the addresses of `peers` (as hints, like `x.pe` in a magnet).
    pub fn introduce(&mut self, node: NodeId, peers: &[NodeId]) {
        let addrs: Vec<SocketAddr> = peers
            .iter()
            .filter_map(|p| self.infos.get(p.index()))
            .map(|p| p.addr)
            .collect();
        let now = self.clock.instant(self.now);
        if !self.infos.get(node.index()).is_some_and(|n| n.online) {
            return;
        }
        self.with_node(node, |shard, cx| {
            shard
                .node(node)
                .engine
                .add_peers(now, &addrs, PeerSource::Hint);
            shard.drain(cx, node);
        });
    }

    /// Takes a node off the network: its connections close (its peers see them close after
    /// the path latency) and it answers nothing more.
    pub fn take_offline(&mut self, node: NodeId) {
        let Some(info) = self.infos.get_mut(node.index()) else {
            return;
        };
        if !info.online {
            return;
        }
        info.online = false;
        let downloader = info.spec.is_downloader();
        let unfinished = self.with_node(node, |shard, _| {
            let n = shard.node(node);
            n.wake = None;
            for slot in 0..n.halves.len() {
                let h = &mut shard.node(node).halves[slot];
                if h.open {
                    h.close();
                    let key = h.key;
                    shard.close_remote(node, key);
                }
            }
            shard.node(node).log.completed_at.is_none()
        });
        if downloader && unfinished {
            // It will never finish now; the swarm is done without it.
            self.incomplete -= 1;
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

    /// Runs in windows of virtual time no longer than the shortest path latency, the shards
    /// side by side (see the crate doc); `done` and the event budget are checked between
    /// windows, so a run may go up to one window past the moment `done` first holds. With a
    /// zero-latency path there is no window: events go one at a time and `done` is checked
    /// before each.
    pub fn run_with(&mut self, mut done: impl FnMut(&Swarm) -> bool, limits: Limits) -> Outcome {
        self.start();
        let deadline = self
            .now
            .saturating_add(u64::try_from(limits.time.as_nanos()).unwrap_or(u64::MAX));
        let budget_end = self.events().saturating_add(limits.events);
        let lookahead = self.lookahead();
        let stop = loop {
            if done(self) {
                break StopReason::Done;
            }
            if self.events() >= budget_end {
                break StopReason::EventLimit;
            }
            if lookahead == 0 || self.trace {
                // Events go in global order on this thread: every shard's must be queued.
                for s in &mut self.shards {
                    s.intake();
                }
            }
            let next = self.shards.iter_mut().filter_map(Shard::next_time).min();
            match next {
                None => break StopReason::Idle,
                Some(at) if at > deadline => {
                    self.now = deadline;
                    break StopReason::TimeLimit;
                }
                Some(at) if lookahead == 0 => {
                    self.now = self.now.max(at);
                    self.with_shards(|shards, cx| {
                        if let Some((_, first)) = shards
                            .iter_mut()
                            .enumerate()
                            .filter_map(|(i, s)| s.queue.peek_order().map(|o| (o, i)))
                            .min()
                        {
                            shards[first].step(cx);
                        }
                    });
                }
                Some(at) => {
                    let end = at.saturating_add(lookahead).min(deadline.saturating_add(1));
                    self.run_window(end);
                }
            }
        };
        self.outcome(stop)
    }

    /// Handles every event due before `end`: threads take shards one by one until none is
    /// left (so a thread the machine slows down takes fewer), or, when tracing, in global
    /// order on this thread (so the trace reads in order).
    fn run_window(&mut self, end: u64) {
        let trace = self.trace;
        let mut busy = std::mem::take(&mut self.busy);
        self.with_shards(|shards, cx| {
            if trace {
                while let Some((_, i)) = shards
                    .iter_mut()
                    .enumerate()
                    .filter_map(|(i, s)| s.queue.peek_order().map(|o| (o, i)))
                    .filter(|((at, _), _)| *at < end)
                    .min()
                {
                    shards[i].step(cx);
                }
            } else if let [only] = shards {
                let started = Instant::now();
                only.run_window(cx, end);
                busy[0] += started.elapsed();
            } else {
                // The largest shards first, so that the last ones to be taken are small.
                let mut order: Vec<&mut Shard> = shards.iter_mut().collect();
                order.sort_by_cached_key(|s| std::cmp::Reverse(s.pending()));
                let work = Mutex::new(order.into_iter());
                let run = || {
                    let started = Instant::now();
                    // A poisoned lock means another thread panicked: stop, its join re-raises.
                    while let Some(shard) = work.lock().ok().and_then(|mut w| w.next()) {
                        shard.run_window(cx, end);
                    }
                    started.elapsed()
                };
                std::thread::scope(|scope| {
                    let others: Vec<_> = (1..busy.len()).map(|_| scope.spawn(run)).collect();
                    busy[0] += run();
                    for (total, thread) in busy[1..].iter_mut().zip(others) {
                        *total += thread
                            .join()
                            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
                    }
                });
            }
        });
        self.busy = busy;
        self.now = self.shards.iter().map(|s| s.now).fold(self.now, u64::max);
    }

    /// Hands out connection indices to the dials in `transit`, in the order they were made
    /// (the order one global queue would have made them in).
    fn number_dials(&mut self) {
        let mut dials: Vec<(u64, u64, u64, usize)> = self
            .transit
            .iter()
            .enumerate()
            .filter_map(|(i, item)| match item.event {
                Event::Dial {
                    dialed_at, cause, ..
                } => Some((dialed_at, cause, item.tie, i)),
                _ => None,
            })
            .collect();
        dials.sort_unstable();
        for (_, _, _, i) in dials {
            if let Event::Dial { conn, .. } = &mut self.transit[i].event {
                *conn = self.conns;
                self.conns += 1;
            }
        }
    }

    /// The shortest one-way path latency between two nodes: how far apart in virtual time
    /// two events must be for one to possibly cause the other on another node.
    fn lookahead(&self) -> u64 {
        let mut lowest = [u64::MAX; 2];
        for info in &self.infos {
            let l = u64::try_from(info.spec.link.latency.as_nanos()).unwrap_or(u64::MAX / 8);
            if l < lowest[0] {
                lowest = [l, lowest[0]];
            } else if l < lowest[1] {
                lowest[1] = l;
            }
        }
        if lowest[1] == u64::MAX {
            return 0;
        }
        lowest[0] + lowest[1]
    }

    /// Runs `f` on all shards with the shared context, then hands over what they produced.
    fn with_shards<R>(&mut self, f: impl FnOnce(&mut [Shard], &Ctx) -> R) -> R {
        let Swarm {
            shards,
            content,
            config,
            clock,
            infos,
            by_addr,
            trace,
            now,
            ..
        } = self;
        let cx = Ctx {
            content,
            config,
            clock: *clock,
            infos,
            by_addr,
            trace: *trace,
        };
        for s in shards.iter_mut() {
            s.now = *now;
        }
        let r = f(shards, &cx);
        self.collect();
        r
    }

    /// Runs `f` on the shard of `node`, as that node's doing.
    fn with_node<R>(&mut self, node: NodeId, f: impl FnOnce(&mut Shard, &Ctx) -> R) -> R {
        let k = self.shards.len();
        self.with_shards(|shards, cx| {
            let shard = &mut shards[node.index() % k];
            shard.src = node;
            f(shard, cx)
        })
    }

    /// Numbers the connections dialed since last time, moves events scheduled for other
    /// shards to their queues and gathers the shards' completions and anomalies (in time
    /// order, then by node, whatever the shards).
    fn collect(&mut self) {
        let k = self.shards.len();
        let mut found = Vec::new();
        for s in &mut self.shards {
            self.incomplete -= s.completed;
            s.completed = 0;
            self.transit.append(&mut s.dials);
            self.anomaly_count += s.anomaly_count;
            s.anomaly_count = 0;
            found.append(&mut s.anomalies);
        }
        // Each shard's outbox for another becomes that one's inbox (the emptied inbox
        // becomes the outbox, keeping both allocations); the shard takes it in on its own
        // thread.
        for from in 0..k {
            for to in (0..k).filter(|&to| to != from) {
                let mut sent = std::mem::take(&mut self.shards[from].outbox[to]);
                let inbox = &mut self.shards[to].inbox[from];
                if inbox.is_empty() {
                    std::mem::swap(inbox, &mut sent);
                } else {
                    // Not taken in yet (nodes added or taken offline between runs).
                    inbox.append(&mut sent);
                }
                self.shards[from].outbox[to] = sent;
                let min = std::mem::replace(&mut self.shards[from].outbox_min[to], u64::MAX);
                let to = &mut self.shards[to];
                to.inbox_min = to.inbox_min.min(min);
            }
        }
        self.number_dials();
        for item in self.transit.drain(..) {
            self.shards[item.event.target().index() % k]
                .queue
                .push(item);
        }
        if !found.is_empty() {
            found.sort_by_key(|a| (a.at, a.node));
            let room = MAX_KEPT_ANOMALIES.saturating_sub(self.anomalies.len());
            self.anomalies.extend(found.into_iter().take(room));
        }
    }

    /// Hands out the initial addresses, once.
    fn start(&mut self) {
        if self.started {
            return;
        }
        self.started = true;
        for i in 0..self.infos.len() {
            self.discover(NodeId(i as u32));
        }
    }

    fn discover(&mut self, node: NodeId) {
        let d = self.config.discovery;
        let n = self.infos.len() as u64;
        let mut peers: Vec<NodeId> = Vec::new();
        if d.seeders && self.infos[node.index()].spec.role != Role::Seeder {
            peers.extend(
                self.infos
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
            events: self.events(),
            completed: self
                .node_ids()
                .map(|n| self.node(n).completed_at())
                .collect(),
            anomalies: self.anomaly_count,
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

    /// Real time each thread has spent handling events (one entry per thread).
    pub fn thread_busy(&self) -> Vec<Duration> {
        self.busy.clone()
    }

    /// Payload bytes all nodes have put on the wire (the sum of
    /// [`NodeView::payload_sent`], without visiting every node).
    pub fn payload_sent(&self) -> u64 {
        self.shards.iter().map(|s| s.payload_sent).sum()
    }

    pub fn events(&self) -> u64 {
        self.shards.iter().map(|s| s.events).sum()
    }

    pub fn content(&self) -> &Content {
        &self.content
    }

    pub fn len(&self) -> usize {
        self.infos.len()
    }

    pub fn is_empty(&self) -> bool {
        self.infos.is_empty()
    }

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
