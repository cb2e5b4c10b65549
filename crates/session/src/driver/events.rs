//! Feeding the driver's channel events into the engine.

use super::{Driver, PeerLink, PEER_QUEUE};
use crate::event::{BlocksSent, DriverEvent};
use crate::handle::TorrentState;
use crate::peer::{self, Link, PeerSetup, PeerStream};
use shoal_engine::PeerSource;
use shoal_wire::Handshake;
use std::net::SocketAddr;
use std::time::Instant;
use tokio::sync::{mpsc, OwnedSemaphorePermit};
use tokio::time::timeout;
use tracing::{debug, info_span, Instrument};

impl Driver {
    /// A writer's report of blocks it sent; ignored once the peer is gone.
    pub(super) fn on_blocks_sent(&mut self, sent: BlocksSent) {
        let Some(link) = self.peers.get_mut(&sent.key).filter(|p| p.connected) else {
            return;
        };
        if link.sent == 0 && !sent.lens.is_empty() {
            debug!(addr = %link.addr, utp = link.utp, "first block sent to this peer");
        }
        link.sent += sent.lens.iter().map(|&n| u64::from(n)).sum::<u64>();
        let now = Instant::now();
        for bytes in sent.lens {
            self.engine.handle_block_sent(now, sent.key, bytes);
        }
    }

    pub(super) fn on_event(&mut self, event: DriverEvent) {
        let now = Instant::now();
        match event {
            DriverEvent::Inbound {
                link,
                addr,
                handshake,
                slot,
            } => self.accept(link, addr, handshake, slot),
            DriverEvent::PeerConnected {
                key,
                addr,
                peer_id,
                reserved,
                encrypted,
                transport,
            } => {
                let Some(link) = self.peers.get_mut(&key) else {
                    return;
                };
                // If the engine refuses the peer, its `Disconnect` removes the link.
                link.connected = true;
                link.encrypted = encrypted;
                self.encrypted_connections += u64::from(encrypted);
                link.utp = transport == crate::peer::Transport::Utp;
                self.utp_connections += u64::from(link.utp);
                let outbound = link.outbound;
                // The DHT node may have come up since the engine was made.
                if let Some(port) = self.dht().and_then(|dht| dht.port()) {
                    self.engine.handle_dht_port(now, port);
                }
                self.engine
                    .handle_peer_connected(now, key, addr, peer_id, reserved, outbound);
                if transport == crate::peer::Transport::Utp {
                    self.engine.handle_peer_over_utp(now, key);
                }
            }
            DriverEvent::ConnectFailed { key, addr } => {
                if self.peers.remove(&key).is_some() {
                    self.engine.handle_connect_failed(now, addr);
                }
            }
            DriverEvent::PeerMessage { key, msg } => {
                let Some(link) = self.peers.get_mut(&key).filter(|p| p.connected) else {
                    return;
                };
                if let shoal_wire::Message::Piece { data, .. } = &msg {
                    if link.received == 0 {
                        debug!(addr = %link.addr, utp = link.utp, "first block received from this peer");
                    }
                    link.received += data.len() as u64;
                }
                self.engine.handle_message(now, key, msg);
            }
            DriverEvent::PeerClosed { key } => {
                if let Some(link) = self.peers.remove(&key) {
                    if link.connected {
                        self.engine.handle_peer_closed(now, key);
                    } else if link.outbound {
                        self.engine.handle_connect_failed(now, link.addr);
                    }
                }
            }
            DriverEvent::PieceVerified {
                generation,
                piece,
                result,
            } => {
                if generation != self.generation {
                    return;
                }
                match result {
                    Ok(ok) => self.engine.handle_piece_verified(now, piece, ok),
                    Err(e) => self.fail(e),
                }
            }
            DriverEvent::Flushed(result) => match result {
                Ok(()) => {
                    self.state = if self.seed {
                        TorrentState::Seeding
                    } else {
                        TorrentState::Complete
                    };
                    tracing::info!("complete and flushed to disk");
                    self.publish();
                    if !self.seed {
                        self.stop(None);
                    }
                }
                Err(e) => self.fail(e),
            },
            DriverEvent::ReadFailed(e) => self.fail(e),
            DriverEvent::AddPeers { peers, source } => self.add_peers(&peers, source),
            DriverEvent::Shutdown { done } => self.stop(done),
        }
    }

    /// Takes over a connection whose handshake the listener read, and answers it.
    fn accept(
        &mut self,
        link: Box<Link<PeerStream>>,
        addr: SocketAddr,
        theirs: Handshake,
        slot: OwnedSemaphorePermit,
    ) {
        if self.stopping.is_some() {
            return;
        }
        let setup = self.register_peer(addr, false);
        let span = info_span!("peer", %addr, inbound = true);
        tokio::spawn(
            async move {
                let _slot = slot;
                peer::run_inbound(setup, *link, theirs).await;
            }
            .instrument(span),
        );
    }

    /// Starts a connection to `addr`, as the engine asked, once the session's connection
    /// budget has a slot for it. A dial that finds the budget used up waits for a slot (in
    /// order, for at most the connect timeout) and then counts as a failed dial, so the engine
    /// tries the address again after its usual back-off, without a ban. Meanwhile the engine
    /// counts it as half-open, which keeps a torrent from queueing more than its share.
    pub(super) fn dial(&mut self, addr: SocketAddr) {
        self.known_addrs.entry(addr).or_insert(PeerSource::Hint);
        let setup = self.register_peer(addr, true);
        self.spawn_dial(setup);
    }

    /// A hole-punch dial (BEP 55, the engine's `HolepunchConnect`): over uTP only, at once,
    /// whatever transports ordinary dials use; the peer dials us at the same moment, so our
    /// SYN opens our NAT to its address and its SYN opens its NAT to ours (see
    /// `peer::transport`). It is not remembered for re-dialing after an engine restart: the
    /// hole closes with the relay's help gone.
    pub(super) fn dial_holepunch(&mut self, addr: SocketAddr) {
        let mut setup = self.register_peer(addr, true);
        if setup.utp.is_none() {
            // The engine only asks with a uTP socket; answer as a failed dial anyway.
            self.peers.remove(&setup.key);
            self.engine.handle_connect_failed(Instant::now(), addr);
            return;
        }
        debug!(%addr, "hole punching: dialing over uTP");
        setup.transports = crate::config::Transports::Utp;
        setup.holepunch = true;
        self.spawn_dial(setup);
    }

    /// Runs an outbound connection's task, once the session's connection budget has a slot.
    fn spawn_dial(&mut self, setup: PeerSetup) {
        let addr = setup.addr;
        let budget = self.ctx.connections.clone();
        let patience = self.ctx.connect_timeout;
        let span = info_span!("peer", %addr);
        tokio::spawn(
            async move {
                let slot = match budget.clone().try_acquire_owned() {
                    Ok(slot) => slot,
                    Err(_) => {
                        debug!("session connection limit reached, dial waits for a slot");
                        match timeout(patience, budget.acquire_owned()).await {
                            Ok(Ok(slot)) if !setup.events.is_closed() => slot,
                            _ => {
                                let failed = DriverEvent::ConnectFailed {
                                    key: setup.key,
                                    addr: setup.addr,
                                };
                                let _ = setup.events.send(failed).await;
                                return;
                            }
                        }
                    }
                };
                let _slot = slot;
                peer::run_outbound(setup).await;
            }
            .instrument(span),
        );
    }

    /// BEP 5: the DHT is used unless the torrent is private (BEP 27).
    pub(super) fn dht(&self) -> Option<&crate::discovery::dht::Dht> {
        let private = self.info.as_ref().is_some_and(|i| i.private);
        self.ctx.dht.as_ref().filter(|_| !private)
    }

    /// A peer's PORT message named its DHT node (the engine's `DhtNode`).
    pub(super) fn learn_dht_node(&self, addr: SocketAddr) {
        if let Some(dht) = self.dht() {
            dht.add_node(addr);
        }
    }

    /// Gives a new connection its key and send queue, and what its task needs to run.
    fn register_peer(&mut self, addr: SocketAddr, outbound: bool) -> PeerSetup {
        let key = self.new_key();
        let (tx, outgoing) = mpsc::channel(PEER_QUEUE);
        let link = PeerLink {
            tx,
            addr,
            outbound,
            connected: false,
            encrypted: false,
            utp: false,
            received: 0,
            sent: 0,
        };
        self.peers.insert(key, link);
        PeerSetup {
            key,
            addr,
            ours: Handshake {
                reserved: shoal_engine::our_reserved_bits(),
                info_hash: self.info_hash,
                peer_id: self.ctx.peer_id,
            }
            .with_dht(self.dht().is_some()),
            events: self.chans.events_tx.clone(),
            sent: self.chans.sent_tx.clone(),
            outgoing,
            connect_timeout: self.ctx.connect_timeout,
            handshake_timeout: self.ctx.handshake_timeout,
            encryption: self.ctx.encryption,
            transports: self.ctx.transports,
            utp: self.ctx.utp.clone(),
            holepunch: false,
        }
    }
}
