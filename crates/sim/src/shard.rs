//! A shard: some of the swarm's nodes (node `i` lives in shard `i % shards`) with their own
//! event queue, so that shards can run on threads of their own.
//!
//! Why that is exact: an event touches only the node it lands on ([`Event::target`]), and
//! an event one node schedules for another is due at least one path latency later (a
//! message, a handshake, a close all cross the path). So within a window of virtual time
//! shorter than the shortest path latency, nodes cannot affect each other: each shard
//! works through its own events of the window in the global order `(at, tie)` and keeps
//! what it scheduled for other shards' nodes in an outbox per shard, which the swarm hands
//! over at the window's end (swapping vectors; each shard moves what it received into its
//! own queue on its own thread). Every node sees the same events in the same order however the nodes are
//! spread over shards and threads, so a run depends only on its seed.

use crate::conn::{self, Half};
use crate::content::Content;
use crate::node::{Node, NodeId, NodeInfo};
use crate::outcome::Anomaly;
use crate::queue::{tie, Event, EventQueue, Scheduled};
use crate::swarm::{Clock, SwarmConfig};
use shoal_engine::{Action, PeerKey};
use std::collections::HashMap;
use std::net::SocketAddr;

/// What every shard reads and none changes while a run goes on.
pub(crate) struct Ctx<'a> {
    pub content: &'a Content,
    pub config: &'a SwarmConfig,
    pub clock: Clock,
    pub infos: &'a [NodeInfo],
    pub by_addr: &'a HashMap<SocketAddr, NodeId>,
    pub trace: bool,
}

impl Ctx<'_> {
    pub(crate) fn info(&self, node: NodeId) -> &NodeInfo {
        &self.infos[node.index()]
    }

    /// A node's one-way access latency in nanoseconds.
    pub(crate) fn latency(&self, node: NodeId) -> u64 {
        u64::try_from(self.info(node).spec.link.latency.as_nanos()).unwrap_or(u64::MAX / 8)
    }

    /// One-way latency between two nodes: the sum of their access latencies.
    pub(crate) fn path_latency(&self, a: NodeId, b: NodeId) -> u64 {
        self.latency(a) + self.latency(b)
    }
}

/// Most anomalies a shard keeps in full between two hand-overs to the swarm.
const MAX_KEPT_ANOMALIES: usize = 1000;

pub(crate) struct Shard {
    /// This shard's number, and how many shards there are.
    pub index: usize,
    pub count: usize,
    /// Node `i` of the swarm is `nodes[i / count]` of shard `i % count`.
    pub nodes: Vec<Node>,
    pub queue: EventQueue,
    /// Events scheduled for other shards' nodes, by shard, waiting for the end of the
    /// window; and the earliest time among them.
    pub outbox: Vec<Vec<Scheduled>>,
    pub outbox_min: Vec<u64>,
    /// Events other shards scheduled for this one's nodes, by shard, not yet in `queue`; and
    /// the earliest time among them.
    pub inbox: Vec<Vec<Scheduled>>,
    pub inbox_min: u64,
    /// Dials made, waiting for the swarm to number their connections.
    pub dials: Vec<Scheduled>,
    /// Virtual nanoseconds of the event being handled (or of the last one).
    pub now: u64,
    /// The node whose event is being handled: the source of what gets scheduled.
    pub src: NodeId,
    /// The tie of the event being handled (orders the dials it makes).
    pub cause: u64,
    /// Events handled.
    pub events: u64,
    /// Payload bytes of every block this shard's nodes committed to the wire.
    pub payload_sent: u64,
    /// Downloaders that reported completion since the swarm last looked.
    pub completed: usize,
    /// Anomalies since the swarm last looked (the first ones in full), and their count.
    pub anomalies: Vec<Anomaly>,
    pub anomaly_count: usize,
    /// Reused buffer for draining actions.
    pub scratch: Vec<Action>,
}

impl Shard {
    pub(crate) fn new(index: usize, count: usize) -> Shard {
        Shard {
            index,
            count,
            nodes: Vec::new(),
            queue: EventQueue::default(),
            outbox: (0..count).map(|_| Vec::new()).collect(),
            outbox_min: vec![u64::MAX; count],
            inbox: (0..count).map(|_| Vec::new()).collect(),
            inbox_min: u64::MAX,
            dials: Vec::new(),
            now: 0,
            src: NodeId(0),
            cause: 0,
            events: 0,
            payload_sent: 0,
            completed: 0,
            anomalies: Vec::new(),
            anomaly_count: 0,
            scratch: Vec::new(),
        }
    }

    /// Position of `node` in `nodes` (it must be one of this shard's).
    pub(crate) fn local(&self, node: NodeId) -> usize {
        debug_assert_eq!(node.index() % self.count, self.index);
        node.index() / self.count
    }

    pub(crate) fn node(&mut self, node: NodeId) -> &mut Node {
        let i = self.local(node);
        &mut self.nodes[i]
    }

    /// `node`'s side `key` of a connection, if it has one.
    pub(crate) fn half(&mut self, node: NodeId, key: PeerKey) -> Option<&mut Half> {
        half_of(self.node(node), key)
    }

    /// Schedules `event` at `at`, as the next event of the node being handled.
    pub(crate) fn push(&mut self, at: u64, event: Event) {
        let src = self.src;
        let n = self.node(src);
        let item = Scheduled {
            at,
            tie: tie(src, n.seq),
            event,
        };
        n.seq += 1;
        // Dials wait for the swarm to number their connection, at the window's end (they
        // are due three path latencies later).
        if matches!(item.event, Event::Dial { .. }) {
            return self.dials.push(item);
        }
        let to = item.event.target().index() % self.count;
        if to == self.index {
            self.queue.push(item);
        } else {
            self.outbox_min[to] = self.outbox_min[to].min(at);
            self.outbox[to].push(item);
        }
    }

    /// Moves what other shards scheduled for this one into its queue.
    pub(crate) fn intake(&mut self) {
        for from in &mut self.inbox {
            for item in from.drain(..) {
                self.queue.push(item);
            }
        }
        self.inbox_min = u64::MAX;
    }

    /// When the earliest event for this shard's nodes is due, if any is pending.
    pub(crate) fn next_time(&mut self) -> Option<u64> {
        let queued = self.queue.peek_time().unwrap_or(u64::MAX);
        Some(queued.min(self.inbox_min)).filter(|&at| at != u64::MAX)
    }

    /// Events scheduled and not yet handled, wherever they wait.
    pub(crate) fn pending(&self) -> usize {
        let waiting: usize = self.inbox.iter().chain(&self.outbox).map(Vec::len).sum();
        self.queue.len() + waiting + self.dials.len()
    }

    /// Handles every event due before `end`, in order.
    pub(crate) fn run_window(&mut self, cx: &Ctx, end: u64) {
        self.intake();
        while self.queue.peek_time().is_some_and(|at| at < end) {
            self.step(cx);
        }
    }

    /// Handles the next event, if any.
    pub(crate) fn step(&mut self, cx: &Ctx) {
        if let Some(item) = self.queue.pop() {
            self.now = self.now.max(item.at);
            self.events += 1;
            self.cause = item.tie;
            self.handle(cx, item.event);
        }
    }

    pub(crate) fn anomaly(&mut self, node: NodeId, what: String, trace: bool) {
        if trace {
            eprintln!("{:>12} {node:?} ANOMALY {what}", self.now);
        }
        self.anomaly_count += 1;
        if self.anomalies.len() < MAX_KEPT_ANOMALIES {
            self.anomalies.push(Anomaly {
                at: std::time::Duration::from_nanos(self.now),
                node,
                what,
            });
        }
    }
}

/// `n`'s side `key` of a connection, if it has one.
pub(crate) fn half_of(n: &mut Node, key: PeerKey) -> Option<&mut Half> {
    n.halves.get_mut(conn::slot(key)).filter(|h| h.key == key)
}
