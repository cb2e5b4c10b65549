//! Handling each event of the queue: the engine call it stands for, then a full drain.

use crate::conn::{self, Half};
use crate::model::{transfer_nanos, SMALL_MESSAGE_BYTES};
use crate::node::{Behaviour, NodeId};
use crate::queue::Event;
use crate::shard::{half_of, Ctx, Shard};
use shoal_engine::{our_reserved_bits, Action, PeerKey};
use shoal_wire::Message;

impl Shard {
    pub(crate) fn handle(&mut self, cx: &Ctx, event: Event) {
        if cx.trace {
            self.trace_event(&event);
        }
        let node = event.target();
        self.src = node;
        let online = cx.info(node).online;
        let now = cx.clock.instant(self.now);
        match event {
            Event::Wake { at, .. } => {
                let n = self.node(node);
                if online && n.wake == Some(at) {
                    n.wake = None;
                    n.engine.handle_timeout(now);
                    self.drain(cx, node);
                }
            }
            Event::Dial {
                conn, dialer, slot, ..
            } => self.on_dial(cx, node, conn, dialer, slot as usize),
            Event::Accepted { key, remote, .. } => self.on_accepted(cx, node, key, remote),
            Event::DialFailed { addr, .. } => {
                if online {
                    self.node(node).engine.handle_connect_failed(now, addr);
                    self.drain(cx, node);
                }
            }
            Event::PipeFree { .. } => {
                self.node(node).up.kick_pending = false;
                self.pump(cx, node);
                if online {
                    self.drain(cx, node);
                }
            }
            Event::Arrived { key, msg, size, .. } => {
                let at = self.now;
                let down = cx.info(node).spec.link.down;
                let n = self.node(node);
                let start = n.down_free_at.max(at);
                let done = start + transfer_nanos(size, down);
                n.down_free_at = done;
                // A control message whose own connection has nothing waiting in the pipe is
                // handed over on arrival, a few microseconds early: on a real link its
                // packet interleaves with other connections' blocks instead of queueing
                // behind them, and it saves an event per `Have` or `Request`.
                let Some(h) = half_of(n, key) else {
                    return;
                };
                let own_clear = h.down_until <= at;
                if done == at || (own_clear && size <= SMALL_MESSAGE_BYTES) {
                    self.deliver(cx, node, key, msg);
                } else {
                    h.down_until = done;
                    self.push(done, Event::Delivered { node, key, msg });
                }
            }
            Event::Delivered { key, msg, .. } => self.deliver(cx, node, key, msg),
            Event::Closed { key, .. } => {
                let n = self.node(node);
                let Some(h) = half_of(n, key) else {
                    return;
                };
                if h.open {
                    h.close();
                    n.engine.handle_peer_closed(now, key);
                    self.drain(cx, node);
                }
            }
            Event::Verified { piece, ok, .. } => {
                if online {
                    self.node(node).engine.handle_piece_verified(now, piece, ok);
                    self.drain(cx, node);
                }
            }
        }
    }

    /// A message is fully received: hand it to the engine if its side is still open.
    fn deliver(&mut self, cx: &Ctx, receiver: NodeId, key: PeerKey, msg: Message) {
        let now = cx.clock.instant(self.now);
        let n = self.node(receiver);
        let Some(h) = half_of(n, key) else {
            return;
        };
        if !h.open {
            return;
        }
        let sender = h.peer;
        if let Message::Piece { index, begin, .. } = &msg {
            n.delivering = Some((*index, *begin, sender));
            if cx.info(sender).spec.behaviour == Behaviour::Corrupt {
                n.log.bad_blocks_received += 1;
            }
        }
        n.engine.handle_message(now, key, msg);
        self.drain(cx, receiver);
        self.node(receiver).delivering = None;
    }

    /// The dialer's handshake reaches the listener, whose engine accepts or refuses it.
    fn on_dial(&mut self, cx: &Ctx, listener: NodeId, index: u64, dialer: NodeId, slot: usize) {
        if !cx.info(dialer).online {
            return;
        }
        let latency = cx.path_latency(dialer, listener);
        let back = self.now + latency;
        if !cx.info(listener).online {
            let addr = cx.info(listener).addr;
            return self.push(back, Event::DialFailed { node: dialer, addr });
        }
        let (addr, peer_id) = (cx.info(dialer).addr, cx.info(dialer).peer_id);
        let now = cx.clock.instant(self.now);
        let n = self.node(listener);
        if n.halves.len() >= conn::MAX_SLOTS {
            // Out of room for connections: like a full accept queue, the dial fails.
            let addr = cx.info(listener).addr;
            return self.push(back, Event::DialFailed { node: dialer, addr });
        }
        let key = conn::key(index, 1, n.halves.len());
        let remote = conn::key(index, 0, slot);
        let mut half = Half::new(key, remote, dialer, latency);
        half.open = true;
        n.halves.push(half);
        let accepted = self.connect(listener, now, key, addr, peer_id, false);
        let n = self.node(listener);
        if accepted {
            self.push(
                back,
                Event::Accepted {
                    node: dialer,
                    key: remote,
                    remote: key,
                },
            );
        } else {
            n.log.refused.push(dialer);
            if let Some(h) = n.halves.last_mut() {
                h.close();
            }
            let addr = cx.info(listener).addr;
            self.push(back, Event::DialFailed { node: dialer, addr });
        }
        self.drain(cx, listener);
    }

    /// The listener's handshake reaches the dialer, whose engine accepts or refuses it. (If
    /// the listener has dropped the connection meanwhile, its close follows on the path.)
    fn on_accepted(&mut self, cx: &Ctx, dialer: NodeId, key: PeerKey, remote: PeerKey) {
        let now = cx.clock.instant(self.now);
        let online = cx.info(dialer).online;
        let n = self.node(dialer);
        let Some(h) = n.halves.get_mut(conn::slot(key)) else {
            return;
        };
        (h.key, h.remote) = (key, remote);
        let listener = h.peer;
        if !online {
            return self.close_remote(dialer, key);
        }
        h.open = true;
        let (addr, peer_id) = (cx.info(listener).addr, cx.info(listener).peer_id);
        if !self.connect(dialer, now, key, addr, peer_id, true) {
            let n = self.node(dialer);
            n.log.refused.push(listener);
            if let Some(h) = half_of(n, key) {
                h.close();
            }
            self.close_remote(dialer, key);
        }
        self.drain(cx, dialer);
    }

    /// Hands a finished handshake to `node`'s engine; false if the engine refused the peer.
    /// The engine refuses with a `Disconnect` for `key`: that action is taken out here,
    /// since the caller closes a refused connection its own way (as a failed dial, to the
    /// dialer), and the other actions queued wait for the drain that follows, in order.
    fn connect(
        &mut self,
        node: NodeId,
        now: std::time::Instant,
        key: PeerKey,
        addr: std::net::SocketAddr,
        peer_id: shoal_core::PeerId,
        outbound: bool,
    ) -> bool {
        let i = self.local(node);
        let engine = &mut self.nodes[i].engine;
        engine.handle_peer_connected(now, key, addr, peer_id, our_reserved_bits(), outbound);
        let queued = self.scratch.len();
        self.scratch
            .extend(std::iter::from_fn(|| engine.poll_action()));
        let refusal = self.scratch[queued..]
            .iter()
            .position(|a| matches!(a, Action::Disconnect { peer, .. } if *peer == key));
        if let Some(at) = refusal {
            self.scratch.remove(queued + at);
        }
        refusal.is_none()
    }

    fn trace_event(&self, event: &Event) {
        let target = event.target();
        let n = &self.nodes[target.index() / self.count];
        let peer = |key: &PeerKey| n.halves.get(conn::slot(*key)).map(|h| h.peer);
        let line = match event {
            Event::Wake { node, .. } => format!("{node:?} wake"),
            Event::Dial {
                dialer, listener, ..
            } => format!("{dialer:?} dials {listener:?}"),
            Event::Accepted { node, key, .. } => {
                format!("{node:?} accepted by {:?}", peer(key))
            }
            Event::DialFailed { node, addr } => format!("{node:?} dial to {addr} failed"),
            Event::PipeFree { .. } | Event::Arrived { .. } => return,
            Event::Delivered { key, msg, .. } => {
                let from = peer(key);
                match msg {
                    Message::Piece { index, begin, .. } => {
                        format!("{target:?} <- {from:?} Piece {index}/{begin}")
                    }
                    other => format!("{target:?} <- {from:?} {other:?} on {key:?}"),
                }
            }
            Event::Closed { key, .. } => {
                let from = peer(key);
                format!("{target:?} sees {from:?} close on {key:?}")
            }
            Event::Verified { node, piece, ok } => {
                format!("{node:?} verified {} ok={ok}", piece.get())
            }
        };
        eprintln!("{:>12} {line}", self.now);
    }
}
