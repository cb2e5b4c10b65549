//! Carrying out what an engine asks for (its `Action`s), the way a real driver would:
//! dial, queue messages on the upload pipe, store and verify blocks, serve reads.
//!
//! Nothing here calls back into an engine: every answer (a verified piece, a connection,
//! a delivered message) is an event in the queue, so each engine call is followed by a
//! full drain before the next one, exactly as the engine's drain order requires.

use crate::conn::{self, Outgoing};
use crate::content::sha1;
use crate::model::{transfer_nanos, wire_len, SMALL_MESSAGE_BYTES};
use crate::node::{Behaviour, NodeId};
use crate::queue::Event;
use crate::storage::corrupt;
use crate::Swarm;
use shoal_engine::{Action, DisconnectReason, PeerKey};
use shoal_wire::Message;

/// Bytes a node's pipe commits to the wire ahead of time (its NIC's transmit ring): small
/// messages queued together leave in one go, large blocks one at a time.
const TRANSMIT_RING_BYTES: u64 = 16 * 1024;
/// Small messages (`Have`, `Request`...) may overfill the ring by this much, so that a
/// burst of them behind a block leaves in one go instead of one event each.
const SMALL_MESSAGE_SLACK_BYTES: u64 = 2 * 1024;

impl Swarm {
    /// Drains `node`'s actions, then re-arms its timer.
    pub(crate) fn drain(&mut self, node: NodeId) {
        let mut actions = std::mem::take(&mut self.scratch);
        loop {
            while let Some(action) = self.nodes[node.index()].engine.poll_action() {
                actions.push(action);
            }
            for action in actions.drain(..) {
                self.perform(node, action);
            }
            // Blocks handed to the wire while performing: report them, which may free read
            // slots and so produce more actions.
            let sent = std::mem::take(&mut self.nodes[node.index()].up.sent_blocks);
            if sent.is_empty() {
                break;
            }
            let now = self.clock.instant(self.now);
            for (key, len) in sent {
                let (index, side) = conn::split(key);
                if self.conns[index].open[side] {
                    self.nodes[node.index()]
                        .engine
                        .handle_block_sent(now, key, len);
                }
            }
        }
        self.scratch = actions;
        let n = &mut self.nodes[node.index()];
        let wake = n
            .engine
            .poll_timeout()
            .map(|at| self.clock.nanos(at).max(self.now));
        if wake != n.wake {
            n.wake = wake;
            if let Some(at) = wake {
                self.queue.push(at, Event::Wake { node, at });
            }
        }
    }

    fn perform(&mut self, node: NodeId, action: Action) {
        if self.trace {
            eprintln!("{:>12} {node:?} {}", self.now, describe(&action));
        }
        match action {
            Action::Connect { addr } => self.dial(node, addr),
            Action::Send { peer, msg } => {
                if self.check_key(node, peer, "Send") {
                    self.enqueue(
                        peer,
                        Outgoing {
                            msg,
                            block_len: None,
                        },
                    );
                }
            }
            Action::Disconnect { peer, reason } => {
                if self.check_key(node, peer, "Disconnect") {
                    let (index, side) = conn::split(peer);
                    let c = &mut self.conns[index];
                    c.close(side);
                    let other = c.nodes[1 - side];
                    if reason == DisconnectReason::Banned {
                        self.nodes[node.index()].log.banned.push(other);
                    }
                    self.close_remote(peer);
                }
            }
            Action::StoreBlock { block, data } => {
                let n = &mut self.nodes[node.index()];
                let source = n
                    .delivering
                    .filter(|&(piece, begin, _)| {
                        piece == block.piece.get() && begin == block.offset
                    })
                    .map(|(_, _, from)| from);
                if !n.store.store_block(block, data, source) {
                    let why = format!("StoreBlock {block:?} refused (no metadata, verified piece or wrong length)");
                    self.anomaly(node, why);
                }
            }
            Action::VerifyPiece { piece } => {
                let fidelity = self.config.fidelity;
                let n = &mut self.nodes[node.index()];
                let verdict = n.store.verify(&self.content, fidelity, piece);
                if !verdict.ok {
                    n.log.hash_failures += 1;
                    for source in &verdict.sources {
                        *n.log.failed_from.entry(*source).or_default() += 1;
                    }
                }
                let piece_len = self.content.lengths().piece_len(piece) as u64;
                let done =
                    n.hash_free_at.max(self.now) + transfer_nanos(piece_len, n.spec.hash_rate);
                n.hash_free_at = done;
                self.queue.push(
                    done,
                    Event::Verified {
                        node,
                        piece,
                        ok: verdict.ok,
                    },
                );
                if verdict.incomplete {
                    self.anomaly(
                        node,
                        format!(
                            "VerifyPiece {} before all its blocks were stored",
                            piece.get()
                        ),
                    );
                }
            }
            Action::ReadBlock { peer, block } => {
                if !self.check_key(node, peer, "ReadBlock") {
                    return;
                }
                let n = &self.nodes[node.index()];
                let Some(data) = n.store.read(block) else {
                    let why = format!("ReadBlock {block:?} of a piece it does not have");
                    return self.anomaly(node, why);
                };
                let data = match n.spec.behaviour {
                    Behaviour::Honest => data,
                    Behaviour::Corrupt => corrupt(&data),
                    Behaviour::Silent => return,
                };
                let msg = Message::Piece {
                    index: block.piece.get(),
                    begin: block.offset,
                    data,
                };
                self.enqueue(
                    peer,
                    Outgoing {
                        msg,
                        block_len: Some(block.len),
                    },
                );
            }
            Action::MetadataReady { info, info_bytes } => {
                let ok =
                    sha1(&info_bytes) == self.content.info_hash.0 && *info == *self.content.info;
                let n = &mut self.nodes[node.index()];
                n.store.allocate(&info.lengths);
                n.log.metadata_at.get_or_insert(self.now);
                if !ok {
                    self.anomaly(
                        node,
                        "MetadataReady with info that does not match the torrent".into(),
                    );
                }
            }
            Action::Completed => {
                let n = &mut self.nodes[node.index()];
                let first = n.log.completed_at.is_none();
                n.log.completed_at.get_or_insert(self.now);
                let all = self.content.lengths().num_pieces();
                let verified = n.store.verified_count();
                if first && n.spec.is_downloader() {
                    self.incomplete -= 1;
                }
                if verified != all {
                    self.anomaly(
                        node,
                        format!("Completed with {verified} of {all} pieces verified"),
                    );
                }
            }
        }
    }

    /// Whether `key` names an open connection of `node`; records an anomaly if not.
    fn check_key(&mut self, node: NodeId, key: PeerKey, what: &str) -> bool {
        let (index, side) = conn::split(key);
        match self.conns.get(index) {
            Some(c) if c.nodes[side] == node && c.open[side] => true,
            Some(c) if c.nodes[side] == node => {
                self.anomaly(node, format!("{what} on closed connection {key:?}"));
                false
            }
            _ => {
                self.anomaly(node, format!("{what} on unknown connection {key:?}"));
                false
            }
        }
    }

    fn dial(&mut self, node: NodeId, addr: std::net::SocketAddr) {
        match self.by_addr.get(&addr).copied() {
            Some(target) if self.nodes[target.index()].online => {
                let index = self.conns.len();
                let latency = self.path_latency(node, target);
                self.conns
                    .push(crate::conn::Conn::new(node, target, latency));
                // SYN, SYN-ACK, then ACK with the handshake: the listener sees it 1.5 RTT later.
                let at = self.now + 3 * latency;
                self.queue.push(at, Event::Dial { conn: index });
            }
            _ => {
                // Nobody answers: the dial times out (or is reset) after a round trip.
                let at = self.now + 2 * self.latency(node);
                self.queue.push(at, Event::DialFailed { node, addr });
            }
        }
    }

    /// Queues a message on its connection and commits what the sender's pipe has room for.
    pub(crate) fn enqueue(&mut self, key: PeerKey, out: Outgoing) {
        let (index, side) = conn::split(key);
        let c = &mut self.conns[index];
        let sender = c.nodes[side];
        c.queue[side].push_back(out);
        if !c.in_ready[side] {
            c.in_ready[side] = true;
            self.nodes[sender.index()].up.ready.push_back(key);
        }
        self.pump(sender);
    }

    /// Commits queued messages to the wire, one per ready connection in turn, while the
    /// transmit ring has room; then arranges to be called again when it has room.
    pub(crate) fn pump(&mut self, node: NodeId) {
        let up_rate = self.nodes[node.index()].spec.link.up;
        let ring = transfer_nanos(TRANSMIT_RING_BYTES, up_rate);
        let small_ring = ring + transfer_nanos(SMALL_MESSAGE_SLACK_BYTES, up_rate);
        loop {
            let n = &mut self.nodes[node.index()];
            let Some(&key) = n.up.ready.front() else {
                break;
            };
            let (index, side) = conn::split(key);
            let c = &mut self.conns[index];
            let Some(next) = c.queue[side].front() else {
                n.up.ready.pop_front();
                c.in_ready[side] = false;
                continue;
            };
            let limit = if wire_len(&next.msg) <= SMALL_MESSAGE_BYTES {
                small_ring
            } else {
                ring
            };
            if n.up.busy_until > self.now + limit {
                break;
            }
            n.up.ready.pop_front();
            let Some(out) = c.queue[side].pop_front() else {
                continue;
            };
            if c.queue[side].is_empty() {
                c.in_ready[side] = false;
            } else {
                n.up.ready.push_back(key);
            }
            let size = wire_len(&out.msg);
            let done = n.up.busy_until.max(self.now) + transfer_nanos(size, up_rate);
            n.up.busy_until = done;
            if let Some(len) = out.block_len {
                n.up.sent_blocks.push((key, len));
                n.up.payload_sent += u64::from(len);
                if let (Some(log), Message::Piece { index, begin, .. }) = (&mut n.served, &out.msg)
                {
                    log.record(*index, *begin, self.now);
                }
            }
            let at = done + c.latency;
            self.queue.push(
                at,
                Event::Arrived {
                    key: conn::remote(key),
                    msg: out.msg,
                    size,
                },
            );
        }
        let n = &mut self.nodes[node.index()];
        if !n.up.ready.is_empty() && !n.up.kick_pending {
            n.up.kick_pending = true;
            let at = n.up.busy_until.saturating_sub(ring).max(self.now);
            self.queue.push(at, Event::PipeFree { node });
        }
    }

    /// Tells the other end of `key`'s connection that it closed, after the path latency.
    pub(crate) fn close_remote(&mut self, key: PeerKey) {
        let (index, side) = conn::split(key);
        let c = &self.conns[index];
        if c.open[1 - side] {
            let at = self.now + c.latency;
            self.queue.push(
                at,
                Event::Closed {
                    key: conn::remote(key),
                },
            );
        }
    }

    pub(crate) fn latency(&self, node: NodeId) -> u64 {
        u64::try_from(self.nodes[node.index()].spec.link.latency.as_nanos()).unwrap_or(u64::MAX / 8)
    }

    /// One-way latency between two nodes: the sum of their access latencies.
    pub(crate) fn path_latency(&self, a: NodeId, b: NodeId) -> u64 {
        self.latency(a) + self.latency(b)
    }
}

/// A one-line summary of an action for traces (block payloads left out).
fn describe(action: &Action) -> String {
    match action {
        Action::Send {
            peer,
            msg: Message::Piece { index, begin, data },
        } => {
            format!("Send {peer:?} Piece {index}/{begin} ({} bytes)", data.len())
        }
        Action::StoreBlock { block, .. } => format!("StoreBlock {block:?}"),
        Action::MetadataReady { info_bytes, .. } => {
            format!("MetadataReady ({} bytes)", info_bytes.len())
        }
        other => format!("{other:?}"),
    }
}
