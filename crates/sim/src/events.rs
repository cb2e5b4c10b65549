//! Handling each event of the queue: the engine call it stands for, then a full drain.

use crate::conn;
use crate::model::{transfer_nanos, SMALL_MESSAGE_BYTES};
use crate::node::{Behaviour, NodeId};
use crate::queue::Event;
use crate::Swarm;
use shoal_engine::{our_reserved_bits, PeerKey};
use shoal_wire::Message;

impl Swarm {
    pub(crate) fn handle(&mut self, event: Event) {
        if self.trace {
            self.trace_event(&event);
        }
        let now = self.clock.instant(self.now);
        match event {
            Event::Wake { node, at } => {
                let n = &mut self.nodes[node.index()];
                if n.online && n.wake == Some(at) {
                    n.wake = None;
                    n.engine.handle_timeout(now);
                    self.drain(node);
                }
            }
            Event::Dial { conn } => self.on_dial(conn),
            Event::Accepted { conn } => self.on_accepted(conn),
            Event::DialFailed { node, addr } => {
                let n = &mut self.nodes[node.index()];
                if n.online {
                    n.engine.handle_connect_failed(now, addr);
                    self.drain(node);
                }
            }
            Event::PipeFree { node } => {
                self.nodes[node.index()].up.kick_pending = false;
                self.pump(node);
                if self.nodes[node.index()].online {
                    self.drain(node);
                }
            }
            Event::Arrived { key, msg, size } => {
                let (index, side) = conn::split(key);
                let receiver = self.conns[index].nodes[side];
                let n = &mut self.nodes[receiver.index()];
                let start = n.down_free_at.max(self.now);
                let done = start + transfer_nanos(size, n.spec.link.down);
                n.down_free_at = done;
                // A control message whose own connection has nothing waiting in the pipe is
                // handed over on arrival, a few microseconds early: on a real link its
                // packet interleaves with other connections' blocks instead of queueing
                // behind them, and it saves an event per `Have` or `Request`.
                let c = &mut self.conns[index];
                let own_clear = c.down_until[side] <= self.now;
                if done == self.now || (own_clear && size <= SMALL_MESSAGE_BYTES) {
                    self.deliver(key, msg);
                } else {
                    c.down_until[side] = done;
                    self.queue.push(done, Event::Delivered { key, msg });
                }
            }
            Event::Delivered { key, msg } => self.deliver(key, msg),
            Event::Closed { key } => {
                let (index, side) = conn::split(key);
                let c = &mut self.conns[index];
                if c.open[side] {
                    c.close(side);
                    let node = c.nodes[side];
                    self.nodes[node.index()].engine.handle_peer_closed(now, key);
                    self.drain(node);
                }
            }
            Event::Verified { node, piece, ok } => {
                let n = &mut self.nodes[node.index()];
                if n.online {
                    n.engine.handle_piece_verified(now, piece, ok);
                    self.drain(node);
                }
            }
        }
    }

    /// A message is fully received: hand it to the engine if its side is still open.
    fn deliver(&mut self, key: PeerKey, msg: Message) {
        let (index, side) = conn::split(key);
        let c = &self.conns[index];
        if !c.open[side] {
            return;
        }
        let (receiver, sender) = (c.nodes[side], c.nodes[1 - side]);
        if let Message::Piece { index, begin, .. } = &msg {
            let corrupt_sender = self.nodes[sender.index()].spec.behaviour == Behaviour::Corrupt;
            let n = &mut self.nodes[receiver.index()];
            n.delivering = Some((*index, *begin, sender));
            if corrupt_sender {
                n.log.bad_blocks_received += 1;
            }
        }
        let n = &mut self.nodes[receiver.index()];
        n.engine
            .handle_message(self.clock.instant(self.now), key, msg);
        self.drain(receiver);
        self.nodes[receiver.index()].delivering = None;
    }

    /// The dialer's handshake reaches the listener, whose engine accepts or refuses it.
    fn on_dial(&mut self, index: usize) {
        let [dialer, listener] = self.conns[index].nodes;
        if !self.nodes[dialer.index()].online {
            return;
        }
        let back = self.now + self.path_latency(dialer, listener);
        if !self.nodes[listener.index()].online {
            let addr = self.nodes[listener.index()].addr;
            return self
                .queue
                .push(back, Event::DialFailed { node: dialer, addr });
        }
        let (addr, peer_id) = (
            self.nodes[dialer.index()].addr,
            self.nodes[dialer.index()].peer_id,
        );
        let key = conn::key(index, 1);
        self.conns[index].open[1] = true;
        let now = self.clock.instant(self.now);
        let n = &mut self.nodes[listener.index()];
        let accepted =
            n.engine
                .handle_peer_connected(now, key, addr, peer_id, our_reserved_bits(), false);
        if accepted {
            self.queue.push(back, Event::Accepted { conn: index });
        } else {
            n.log.refused.push(dialer);
            self.conns[index].close(1);
            let addr = n.addr;
            self.queue
                .push(back, Event::DialFailed { node: dialer, addr });
        }
        self.drain(listener);
    }

    /// The listener's handshake reaches the dialer, whose engine accepts or refuses it.
    fn on_accepted(&mut self, index: usize) {
        let [dialer, listener] = self.conns[index].nodes;
        let key = conn::key(index, 0);
        if !self.nodes[dialer.index()].online {
            return self.close_remote(key);
        }
        if !self.conns[index].open[1] {
            // The listener dropped the connection before its handshake reached us: to the
            // dialer that is a dial that failed.
            let addr = self.nodes[listener.index()].addr;
            let now = self.clock.instant(self.now);
            self.nodes[dialer.index()]
                .engine
                .handle_connect_failed(now, addr);
            return self.drain(dialer);
        }
        let (addr, peer_id) = (
            self.nodes[listener.index()].addr,
            self.nodes[listener.index()].peer_id,
        );
        self.conns[index].open[0] = true;
        let now = self.clock.instant(self.now);
        let n = &mut self.nodes[dialer.index()];
        if !n
            .engine
            .handle_peer_connected(now, key, addr, peer_id, our_reserved_bits(), true)
        {
            n.log.refused.push(listener);
            self.conns[index].close(0);
            self.close_remote(key);
        }
        self.drain(dialer);
    }

    fn trace_event(&self, event: &Event) {
        let who = |key: &PeerKey| -> (NodeId, NodeId) {
            let (index, side) = conn::split(*key);
            let c = &self.conns[index];
            (c.nodes[side], c.nodes[1 - side])
        };
        let line = match event {
            Event::Wake { node, .. } => format!("{node:?} wake"),
            Event::Dial { conn } => format!(
                "{:?} dials {:?}",
                self.conns[*conn].nodes[0], self.conns[*conn].nodes[1]
            ),
            Event::Accepted { conn } => {
                format!(
                    "{:?} accepted by {:?}",
                    self.conns[*conn].nodes[0], self.conns[*conn].nodes[1]
                )
            }
            Event::DialFailed { node, addr } => format!("{node:?} dial to {addr} failed"),
            Event::PipeFree { .. } | Event::Arrived { .. } => return,
            Event::Delivered { key, msg } => {
                let (to, from) = who(key);
                match msg {
                    Message::Piece { index, begin, .. } => {
                        format!("{to:?} <- {from:?} Piece {index}/{begin}")
                    }
                    other => format!("{to:?} <- {from:?} {other:?} on {key:?}"),
                }
            }
            Event::Closed { key } => {
                let (to, from) = who(key);
                format!("{to:?} sees {from:?} close on {key:?}")
            }
            Event::Verified { node, piece, ok } => {
                format!("{node:?} verified {} ok={ok}", piece.get())
            }
        };
        eprintln!("{:>12} {line}", self.now);
    }
}
