//! Carrying out what an engine asks for (its `Action`s), the way a real driver would:
//! dial, queue messages on the upload pipe, store and verify blocks, serve reads.
//!
//! Nothing here calls back into an engine: every answer (a verified piece, a connection,
//! a delivered message) is an event in the queue, so each engine call is followed by a
//! full drain before the next one, exactly as the engine's drain order requires.

use crate::conn::{self, Half, Outgoing};
use crate::content::sha1;
use crate::model::{transfer_nanos, wire_len, SMALL_MESSAGE_BYTES};
use crate::node::{Behaviour, NodeId};
use crate::queue::Event;
use crate::shard::{half_of, Ctx, Shard};
use crate::storage::corrupt;
use shoal_engine::{Action, DisconnectReason, PeerKey};
use shoal_wire::Message;

/// Bytes a node's pipe commits to the wire ahead of time (its NIC's transmit ring): small
/// messages queued together leave in one go, large blocks one at a time.
const TRANSMIT_RING_BYTES: u64 = 16 * 1024;
/// Small messages (`Have`, `Request`...) may overfill the ring by this much, so that a
/// burst of them behind a block leaves in one go instead of one event each.
const SMALL_MESSAGE_SLACK_BYTES: u64 = 2 * 1024;
/// Most bytes of small messages one connection commits in its turn: about what a
/// connection sending blocks gets (one block).
const TURN_BYTES: u64 = 16 * 1024;

impl Shard {
    /// Drains `node`'s actions, then re-arms its timer.
    pub(crate) fn drain(&mut self, cx: &Ctx, node: NodeId) {
        let mut actions = std::mem::take(&mut self.scratch);
        loop {
            let n = self.node(node);
            while let Some(action) = n.engine.poll_action() {
                actions.push(action);
            }
            for action in actions.drain(..) {
                self.perform(cx, node, action);
            }
            // Blocks handed to the wire while performing: report them, which may free read
            // slots and so produce more actions.
            let now = cx.clock.instant(self.now);
            let i = self.local(node);
            let n = &mut self.nodes[i];
            let sent = std::mem::take(&mut n.up.sent_blocks);
            if sent.is_empty() {
                break;
            }
            for (key, len) in sent {
                if half_of(n, key).is_some_and(|h| h.open) {
                    n.engine.handle_block_sent(now, key, len);
                }
            }
        }
        self.scratch = actions;
        let now = self.now;
        let n = self.node(node);
        let wake = n
            .engine
            .poll_timeout()
            .map(|at| cx.clock.nanos(at).max(now));
        if wake != n.wake {
            n.wake = wake;
            if let Some(at) = wake {
                self.push(at, Event::Wake { node, at });
            }
        }
    }

    fn perform(&mut self, cx: &Ctx, node: NodeId, action: Action) {
        if cx.trace {
            eprintln!("{:>12} {node:?} {}", self.now, describe(&action));
        }
        match action {
            // The simulated network has no NAT: a hole-punch dial is an ordinary one (the
            // engines it drives keep `Config::holepunch` off anyway).
            Action::Connect { addr } | Action::HolepunchConnect { addr } => {
                self.dial(cx, node, addr)
            }
            Action::Send { peer, msg } => {
                if self.check_key(cx, node, peer, "Send").is_some() {
                    self.enqueue(
                        cx,
                        node,
                        peer,
                        Outgoing {
                            msg,
                            block_len: None,
                        },
                    );
                }
            }
            Action::Disconnect { peer, reason } => {
                if let Some(slot) = self.check_key(cx, node, peer, "Disconnect") {
                    let n = self.node(node);
                    let h = &mut n.halves[slot];
                    h.close();
                    if reason == DisconnectReason::Banned {
                        let other = h.peer;
                        n.log.banned.push(other);
                    }
                    self.close_remote(node, peer);
                }
            }
            Action::StoreBlock { block, data } => {
                let n = self.node(node);
                let source = n
                    .delivering
                    .filter(|&(piece, begin, _)| {
                        piece == block.piece.get() && begin == block.offset
                    })
                    .map(|(_, _, from)| from);
                if !n.store.store_block(block, data, source) {
                    let why = format!("StoreBlock {block:?} refused (no metadata, verified piece or wrong length)");
                    self.anomaly(node, why, cx.trace);
                }
            }
            Action::VerifyPiece { piece } => {
                let fidelity = cx.config.fidelity;
                let now = self.now;
                let hash_rate = cx.info(node).spec.hash_rate;
                let n = self.node(node);
                let verdict = n.store.verify(cx.content, fidelity, piece);
                if !verdict.ok {
                    n.log.hash_failures += 1;
                    for source in &verdict.sources {
                        *n.log.failed_from.entry(*source).or_default() += 1;
                    }
                }
                let piece_len = cx.content.lengths().piece_len(piece) as u64;
                let done = n.hash_free_at.max(now) + transfer_nanos(piece_len, hash_rate);
                n.hash_free_at = done;
                self.push(
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
                        cx.trace,
                    );
                }
            }
            Action::ReadBlock { peer, block } => {
                if self.check_key(cx, node, peer, "ReadBlock").is_none() {
                    return;
                }
                let Some(data) = self.node(node).store.read(block) else {
                    let why = format!("ReadBlock {block:?} of a piece it does not have");
                    return self.anomaly(node, why, cx.trace);
                };
                let data = match cx.info(node).spec.behaviour {
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
                    cx,
                    node,
                    peer,
                    Outgoing {
                        msg,
                        block_len: Some(block.len),
                    },
                );
            }
            // The simulated swarm runs no DHT (its handshakes leave the DHT bit clear).
            Action::DhtNode { .. } | Action::AddressReported { .. } => {}
            Action::MetadataReady { info, info_bytes } => {
                let ok = sha1(&info_bytes) == cx.content.info_hash.0 && *info == *cx.content.info;
                let now = self.now;
                let n = self.node(node);
                n.store.allocate(&info.lengths);
                n.log.metadata_at.get_or_insert(now);
                if !ok {
                    self.anomaly(
                        node,
                        "MetadataReady with info that does not match the torrent".into(),
                        cx.trace,
                    );
                }
            }
            Action::Completed => {
                let now = self.now;
                let downloader = cx.info(node).spec.is_downloader();
                let n = self.node(node);
                let first = n.log.completed_at.is_none();
                n.log.completed_at.get_or_insert(now);
                let all = cx.content.lengths().num_pieces();
                let verified = n.store.verified_count();
                if first && downloader {
                    self.completed += 1;
                }
                if verified != all {
                    self.anomaly(
                        node,
                        format!("Completed with {verified} of {all} pieces verified"),
                        cx.trace,
                    );
                }
            }
        }
    }

    /// The slot of `key`'s half if it names an open connection of `node`; records an
    /// anomaly if not.
    fn check_key(&mut self, cx: &Ctx, node: NodeId, key: PeerKey, what: &str) -> Option<usize> {
        match self.half(node, key).map(|h| h.open) {
            Some(true) => Some(conn::slot(key)),
            None => {
                self.anomaly(
                    node,
                    format!("{what} on unknown connection {key:?}"),
                    cx.trace,
                );
                None
            }
            Some(false) => {
                self.anomaly(
                    node,
                    format!("{what} on closed connection {key:?}"),
                    cx.trace,
                );
                None
            }
        }
    }

    fn dial(&mut self, cx: &Ctx, node: NodeId, addr: std::net::SocketAddr) {
        match cx.by_addr.get(&addr).copied() {
            Some(target) if cx.info(target).online => {
                let latency = cx.path_latency(node, target);
                // SYN, SYN-ACK, then ACK with the handshake: the listener sees it 1.5 RTT later.
                let at = self.now + 3 * latency;
                let (dialed_at, cause) = (self.now, self.cause);
                let n = self.node(node);
                let slot = n.halves.len();
                if slot >= conn::MAX_SLOTS {
                    let why = format!("Connect to {addr}: over {} connections", conn::MAX_SLOTS);
                    return self.anomaly(node, why, cx.trace);
                }
                // The half waits for its key until the listener's handshake comes back.
                n.halves
                    .push(Half::new(conn::NO_KEY, conn::NO_KEY, target, latency));
                self.push(
                    at,
                    Event::Dial {
                        conn: u64::MAX,
                        dialer: node,
                        slot: slot as u32,
                        listener: target,
                        dialed_at,
                        cause,
                    },
                );
            }
            _ => {
                // Nobody answers: the dial times out (or is reset) after a round trip.
                let at = self.now + 2 * cx.latency(node);
                self.push(at, Event::DialFailed { node, addr });
            }
        }
    }

    /// Queues a message on its connection and commits what the sender's pipe has room for.
    pub(crate) fn enqueue(&mut self, cx: &Ctx, sender: NodeId, key: PeerKey, out: Outgoing) {
        let n = self.node(sender);
        let Some(h) = half_of(n, key) else {
            return;
        };
        h.queue.push_back(out);
        if !h.in_ready {
            h.in_ready = true;
            n.up.ready.push_back(key);
        }
        self.pump(cx, sender);
    }

    /// Commits queued messages to the wire, a turn per ready connection, while the transmit
    /// ring has room; then arranges to be called again when it has room. A turn is one
    /// message, or a run of small ones up to `TURN_BYTES` (they share a TCP segment), so
    /// the pipe is fair in bytes: requests and `Have`s queued on a connection do not wait
    /// a round of every other connection's blocks each.
    pub(crate) fn pump(&mut self, cx: &Ctx, node: NodeId) {
        let up_rate = cx.info(node).spec.link.up;
        let ring = transfer_nanos(TRANSMIT_RING_BYTES, up_rate);
        let small_ring = ring + transfer_nanos(SMALL_MESSAGE_SLACK_BYTES, up_rate);
        let now = self.now;
        let i = self.local(node);
        'turns: loop {
            let n = &mut self.nodes[i];
            let Some(&key) = n.up.ready.front() else {
                break;
            };
            let mut turn_bytes = 0;
            loop {
                let n = &mut self.nodes[i];
                let h = &mut n.halves[conn::slot(key)];
                let Some(next) = h.queue.front() else {
                    n.up.ready.pop_front();
                    h.in_ready = false;
                    continue 'turns;
                };
                let size = wire_len(&next.msg);
                let small = size <= SMALL_MESSAGE_BYTES;
                if turn_bytes > 0 && (!small || turn_bytes + size > TURN_BYTES) {
                    // This connection had its turn: to the back of the line.
                    n.up.ready.pop_front();
                    n.up.ready.push_back(key);
                    continue 'turns;
                }
                let limit = if small { small_ring } else { ring };
                if n.up.busy_until > now + limit {
                    break 'turns;
                }
                let Some(out) = h.queue.pop_front() else {
                    continue 'turns;
                };
                turn_bytes += size;
                let (to, remote, latency) = (h.peer, h.remote, h.latency);
                let done = n.up.busy_until.max(now) + transfer_nanos(size, up_rate);
                n.up.busy_until = done;
                if let Some(len) = out.block_len {
                    n.up.sent_blocks.push((key, len));
                    n.up.payload_sent += u64::from(len);
                    self.payload_sent += u64::from(len);
                    if let (Some(log), Message::Piece { index, begin, .. }) =
                        (&mut n.served, &out.msg)
                    {
                        log.record(*index, *begin, now);
                    }
                }
                self.push(
                    done + latency,
                    Event::Arrived {
                        node: to,
                        key: remote,
                        msg: out.msg,
                        size,
                    },
                );
            }
        }
        let n = self.node(node);
        if !n.up.ready.is_empty() && !n.up.kick_pending {
            n.up.kick_pending = true;
            let at = n.up.busy_until.saturating_sub(ring).max(now);
            self.push(at, Event::PipeFree { node });
        }
    }

    /// Tells the other end of `node`'s side `key` that it closed, after the path latency.
    /// (The other end ignores it if it has closed too by then.)
    pub(crate) fn close_remote(&mut self, node: NodeId, key: PeerKey) {
        let now = self.now;
        let Some(h) = self.half(node, key) else {
            return;
        };
        let (at, to, remote) = (now + h.latency, h.peer, h.remote);
        self.push(
            at,
            Event::Closed {
                node: to,
                key: remote,
            },
        );
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
