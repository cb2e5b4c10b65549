//! Connections: known addresses and dialing with back-off, accepting and refusing peers,
//! peers leaving, PEX (BEP 11), keep-alives and idle time-outs.

use super::bans::identity;
use super::opening::ipv4_subnet;
use super::{PeerKey, Torrent};
use crate::peer::{Peer, PeerPieces};
use crate::shared::Capabilities;
use crate::{Action, DisconnectReason, PeerSource};
use shoal_core::{Bitfield, PeerId};
use shoal_wire::ext::PexMsg;
use shoal_wire::Message;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// Most addresses remembered per torrent.
const MAX_CANDIDATES: usize = 2000;
/// Most departed peers remembered for blame.
const MAX_DEPARTED: usize = 1000;
/// Most addresses per PEX message.
const PEX_BATCH: usize = 50;
const KEEPALIVE_AFTER: Duration = Duration::from_secs(60);
/// Time between two PEX messages to one peer (BEP 11: at most one a minute).
const PEX_INTERVAL: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum DialState {
    Idle,
    Connecting,
    Connected,
    /// Never dial again (ourselves, banned, or a seed once we are complete).
    Done,
}

#[derive(Debug, Clone)]
pub(super) struct Candidate {
    pub source: PeerSource,
    pub state: DialState,
    pub failures: u32,
    pub next_attempt: Instant,
    /// When the current (or last) dial started.
    pub dialed_at: Instant,
}

impl Candidate {
    pub(super) fn is_idle(&self) -> bool {
        self.state == DialState::Idle
    }
}

impl Torrent {
    /// New addresses to dial, from `source` (a tracker, the DHT, LSD, the user...). Unknown
    /// ones join the candidates; dials start at once if there is room (`Connect` actions).
    pub fn handle_peers_found(&mut self, now: Instant, addrs: &[SocketAddr], source: PeerSource) {
        for &addr in addrs {
            self.add_candidate(now, addr, source);
        }
        self.connect_more(now);
    }

    pub(super) fn add_candidate(&mut self, now: Instant, addr: SocketAddr, source: PeerSource) {
        if addr.port() == 0
            || addr.ip().is_unspecified()
            || addr.ip().is_multicast()
            || self.is_banned_addr(&addr)
            || self.own_addrs.contains(&addr)
        {
            return;
        }
        if self.candidates.len() >= MAX_CANDIDATES && !self.candidates.contains_key(&addr) {
            return;
        }
        let c = self.candidates.entry(addr).or_insert(Candidate {
            source,
            state: DialState::Idle,
            failures: 0,
            next_attempt: now,
            dialed_at: now,
        });
        // A hint from the user outranks whatever told us first.
        if source == PeerSource::Hint {
            c.source = source;
        }
    }

    pub(super) fn source_of(&self, p: &Peer) -> PeerSource {
        p.dialable_addr()
            .and_then(|a| self.candidates.get(&a))
            .map(|c| c.source)
            .unwrap_or(if p.outbound {
                PeerSource::Hint
            } else {
                PeerSource::Incoming
            })
    }

    /// Dials idle candidates while there is room.
    pub(super) fn connect_more(&mut self, now: Instant) {
        if self.shut_down
            || (self.is_complete() && !self.config.seed_when_complete)
            || self.peers.len() >= self.config.max_peers
        {
            // (A full peer list leaves no room to dial: skip the walk over the candidates,
            // which a big swarm's PEX fills to thousands.)
            return;
        }
        let connecting = self
            .candidates
            .values()
            .filter(|c| c.state == DialState::Connecting)
            .count();
        let mut due: Vec<(u32, SocketAddr)> = self
            .candidates
            .iter()
            .filter(|(a, c)| {
                c.state == DialState::Idle && c.next_attempt <= now && !self.is_banned_addr(a)
            })
            .map(|(a, c)| (c.failures, *a))
            .collect();
        due.sort();
        let room = self.config.max_half_open.saturating_sub(connecting).min(
            self.config
                .max_peers
                .saturating_sub(self.peers.len() + connecting),
        );
        for (_, addr) in due.into_iter().take(room) {
            if let Some(c) = self.candidates.get_mut(&addr) {
                c.state = DialState::Connecting;
                c.dialed_at = now;
            }
            self.actions.push_back(Action::Connect { addr });
        }
    }

    /// A dial asked for with [`Action::Connect`] or [`Action::HolepunchConnect`] failed
    /// before both handshakes were exchanged. The address is tried again after a back-off
    /// that grows with each failure. An ordinary dial to an address a peer introduced by
    /// PEX may make us ask that peer for a hole punch (BEP 55: a `Send` of a rendezvous).
    pub fn handle_connect_failed(&mut self, now: Instant, addr: SocketAddr) {
        let holepunched = self.holepunch.dialing.remove(&addr);
        if holepunched {
            tracing::debug!(%addr, "hole-punch dial failed");
        }
        if let Some(c) = self.candidates.get_mut(&addr) {
            if c.state != DialState::Connecting {
                return;
            }
            c.failures += 1;
            c.state = DialState::Idle;
            // Hints come from the user and may just not be up yet: retry them steadily.
            let cap = if c.source == PeerSource::Hint {
                10
            } else {
                600
            };
            let backoff = (1u64 << c.failures.min(10)).min(cap);
            c.next_attempt = now + Duration::from_secs(backoff);
        }
        if !holepunched {
            self.ask_rendezvous(now, addr);
        }
    }

    /// A connection finished its handshake, in either direction (`outbound` if we dialed
    /// it, `addr` then being the address dialed). `key` is the driver's new, unused handle
    /// for it; `reserved` are the peer's handshake reserved bytes.
    ///
    /// The engine either takes the peer, queueing its first messages (`Send`: what we have,
    /// the extension handshake, our DHT port), or refuses it with a `Disconnect` for `key`
    /// (ourselves, banned, a duplicate, too many peers, shutting down). A `key` the engine
    /// already holds is a driver bug and is ignored.
    pub fn handle_peer_connected(
        &mut self,
        now: Instant,
        key: PeerKey,
        addr: SocketAddr,
        peer_id: PeerId,
        reserved: [u8; 8],
        outbound: bool,
    ) {
        let refuse = |t: &mut Torrent, state: Option<DialState>, reason: DisconnectReason| {
            if outbound {
                if let Some(c) = t.candidates.get_mut(&addr) {
                    c.state = state.unwrap_or(DialState::Idle);
                    c.next_attempt = now + Duration::from_secs(30);
                }
            }
            tracing::debug!(peer = key.0, %addr, ?reason, "refusing peer");
            t.actions
                .push_back(Action::Disconnect { peer: key, reason });
        };
        if outbound && self.holepunch.dialing.remove(&addr) {
            tracing::debug!(peer = key.0, %addr, "hole-punch dial connected");
        }
        if self.peers.contains_key(&key) {
            tracing::warn!(
                peer = key.0,
                "handle_peer_connected for a key already connected"
            );
            return;
        }
        if self.shut_down {
            return refuse(self, None, DisconnectReason::Shutdown);
        }
        if peer_id == self.config.peer_id {
            return refuse(self, Some(DialState::Done), DisconnectReason::Ourselves);
        }
        if self.banned.contains(&identity(addr, peer_id)) {
            return refuse(self, Some(DialState::Done), DisconnectReason::Banned);
        }
        let same_peer = self
            .peers
            .iter()
            .find(|(_, p)| p.peer_id == peer_id)
            .map(|(&k, p)| (k, p.outbound, p.dialable_addr()));
        if let Some((existing, old_outbound, old_addr)) = same_peer {
            // Two connections to one peer, usually because both sides dialed at once. Both
            // sides must keep the same one, or each drops the one the other kept: keep the
            // connection dialed by the side with the lower peer id.
            let we_dial_the_keeper = self.config.peer_id.0 < peer_id.0;
            let new_is_keeper = outbound == we_dial_the_keeper && old_outbound != outbound;
            if !new_is_keeper {
                return refuse(
                    self,
                    Some(DialState::Connected),
                    DisconnectReason::Duplicate,
                );
            }
            self.disconnect(now, existing, DisconnectReason::Duplicate);
            // The peer stays connected through the new connection: do not redial it.
            if let Some(c) = old_addr.and_then(|a| self.candidates.get_mut(&a)) {
                c.state = DialState::Connected;
            }
        }
        if self.peers.len() >= self.config.max_peers {
            return refuse(self, None, DisconnectReason::TooMany);
        }
        if outbound {
            let c = self.candidates.entry(addr).or_insert(Candidate {
                source: PeerSource::Hint,
                state: DialState::Connected,
                failures: 0,
                next_attempt: now,
                dialed_at: now,
            });
            c.state = DialState::Connected;
            c.failures = 0;
        }
        let mut peer = Peer::new(now, addr, peer_id, outbound, Capabilities::of(reserved));
        peer.max_requests = self.config.max_requests_per_peer;
        self.peers.insert(key, peer);
        self.send_opening(now, key);
    }

    pub(super) fn is_private(&self) -> bool {
        self.config.private || self.meta.as_ref().is_some_and(|m| m.info.private)
    }

    /// The connection closed or failed (end of stream, read or write error, time-out in the
    /// runtime). The engine forgets the peer: its pieces leave the availability counts, its
    /// requests go to other peers (`Send` actions may follow), and its address may be
    /// dialed again later. A key the engine does not hold (one it already disconnected) is
    /// ignored. (`disconnect` forgets peers the engine drops itself the same way.)
    pub fn handle_peer_closed(&mut self, now: Instant, key: PeerKey) {
        let Some(peer) = self.peers.remove(&key) else {
            return;
        };
        if !peer.am_choking {
            self.unchoked.retain(|k| *k != key);
        }
        if let Some(initial) = &mut self.initial {
            initial.peer_gone(key);
        }
        if !peer.am_choking && peer.peer_interested {
            self.fill_upload_slots(now);
        }
        if !peer.offered_fast.is_empty() {
            if let Some(subnet) = ipv4_subnet(peer.addr.ip()) {
                self.fast_subnets.remove(&subnet);
            }
        }
        if let Some(meta) = &mut self.meta {
            if let PeerPieces::Known(bits) = &peer.pieces {
                meta.picker.peer_lost_bitfield(bits);
            }
            for (block, _) in &peer.requests {
                meta.picker.request_dropped(block, key);
            }
        }
        self.fetch.release_peer(key);
        if self.departed.len() >= MAX_DEPARTED {
            self.departed.pop_first();
        }
        self.departed.insert(
            key,
            (identity(peer.addr, peer.peer_id), peer.dialable_addr()),
        );
        if let Some(addr) = peer.dialable_addr() {
            let seed_done = self.is_complete() && peer.pieces.is_seed();
            if let Some(c) = self.candidates.get_mut(&addr) {
                c.state = if seed_done {
                    DialState::Done
                } else {
                    DialState::Idle
                };
                c.next_attempt = now + Duration::from_secs(5);
            } else if !seed_done {
                self.add_candidate(now, addr, PeerSource::Incoming);
                if let Some(c) = self.candidates.get_mut(&addr) {
                    c.next_attempt = now + Duration::from_secs(5);
                }
            }
        }
        // Blocks the peer held may now go to others.
        let keys: Vec<PeerKey> = self.peers.keys().copied().collect();
        for k in keys {
            self.request_more(now, k);
        }
    }

    /// A peer told us the IP it sees us at (`yourip`): with our listen port, an address of
    /// ours that PEX may hand back to us, never to be dialed.
    pub(super) fn note_own_ip(&mut self, ip: std::net::IpAddr) {
        const MAX_OWN_ADDRS: usize = 8;
        let Some(port) = self.config.listen_port else {
            return;
        };
        let addr = SocketAddr::new(ip, port);
        if self.own_addrs.len() < MAX_OWN_ADDRS && self.own_addrs.insert(addr) {
            self.candidates.remove(&addr);
        }
    }

    /// A peer told us its listen port: remember it so we do not dial it a second time.
    pub(super) fn note_listen_port(&mut self, now: Instant, key: PeerKey) {
        let Some(addr) = self.peers.get(&key).and_then(|p| p.dialable_addr()) else {
            return;
        };
        self.add_candidate(now, addr, PeerSource::Incoming);
        if let Some(c) = self.candidates.get_mut(&addr) {
            if c.state == DialState::Idle {
                c.state = DialState::Connected;
            }
        }
    }

    pub(super) fn keepalive_and_idle(&mut self, now: Instant) {
        let idle_timeout = self.config.idle_timeout;
        let mut idle = Vec::new();
        let mut quiet = Vec::new();
        for (key, p) in self.peers.iter() {
            if now.saturating_duration_since(p.last_received) > idle_timeout {
                idle.push(*key);
            } else if now.saturating_duration_since(p.last_sent) > KEEPALIVE_AFTER {
                quiet.push(*key);
            }
        }
        for key in idle {
            self.disconnect(now, key, DisconnectReason::Timeout);
        }
        for key in quiet {
            self.send(now, key, Message::KeepAlive);
        }
    }

    /// Tells each PEX-capable peer whose message is due which peers joined and left since
    /// its last one (the first a second after its extension handshake, then one a minute),
    /// with the BEP 11 flags of each peer added.
    pub(super) fn send_pex(&mut self, now: Instant) {
        if self.is_private() {
            return;
        }
        let due: Vec<PeerKey> = self
            .peers
            .iter()
            .filter(|(_, p)| p.ut_pex.is_some() && p.pex_due.is_some_and(|d| d <= now))
            .map(|(k, _)| *k)
            .collect();
        if due.is_empty() {
            return;
        }
        let current: std::collections::BTreeMap<SocketAddr, u8> = self
            .peers
            .values()
            .filter_map(|p| Some((p.dialable_addr()?, self.pex_flags_of(p))))
            .collect();
        for key in due {
            let Some(p) = self.peers.get_mut(&key) else {
                continue;
            };
            p.pex_due = Some(now + PEX_INTERVAL);
            let Some(id) = p.ut_pex else { continue };
            let own = p.dialable_addr();
            let (added, added_flags): (Vec<SocketAddr>, Vec<u8>) = current
                .iter()
                .filter(|(a, _)| Some(**a) != own && !p.pex_sent.contains(a))
                .take(PEX_BATCH)
                .map(|(a, f)| (*a, *f))
                .unzip();
            let dropped: Vec<SocketAddr> = p
                .pex_sent
                .iter()
                .filter(|a| !current.contains_key(a))
                .take(PEX_BATCH)
                .copied()
                .collect();
            if added.is_empty() && dropped.is_empty() {
                continue;
            }
            for a in &added {
                p.pex_sent.insert(*a);
            }
            for a in &dropped {
                p.pex_sent.remove(a);
            }
            let msg = PexMsg {
                added_flags,
                added,
                dropped,
            };
            self.send(
                now,
                key,
                Message::Extended {
                    id,
                    payload: msg.encode(),
                },
            );
        }
    }

    /// Once complete, seeds are of no use to us and we of none to them.
    pub(super) fn drop_seeds_if_complete(&mut self, now: Instant) {
        if !self.is_complete() {
            return;
        }
        let seeds: Vec<PeerKey> = self
            .peers
            .iter()
            .filter(|(_, p)| p.pieces.is_seed())
            .map(|(k, _)| *k)
            .collect();
        for key in seeds {
            self.disconnect(now, key, DisconnectReason::NotUseful);
        }
    }

    /// Validates a peer's early bitfield/haves once the piece count is known.
    pub(super) fn resolve_peer_pieces(&mut self, now: Instant, key: PeerKey) {
        let Some(meta) = &mut self.meta else { return };
        let n = meta.info.lengths.num_pieces();
        let Some(p) = self.peers.get_mut(&key) else {
            return;
        };
        let PeerPieces::Unknown {
            bitfield,
            haves,
            all,
        } = &p.pieces
        else {
            return;
        };
        let mut bits = if *all {
            Bitfield::full(n)
        } else if let Some(raw) = bitfield {
            match Bitfield::from_bytes(raw, n) {
                Some(b) => b,
                None => {
                    self.disconnect(
                        now,
                        key,
                        DisconnectReason::Protocol("bitfield of the wrong length"),
                    );
                    return;
                }
            }
        } else {
            Bitfield::new(n)
        };
        for &h in haves {
            bits.set(h);
        }
        meta.picker.peer_has_bitfield(&bits);
        p.interesting = bits
            .iter_ones()
            .filter(|&i| !meta.picker.have().get(i))
            .count() as u32;
        p.pieces = PeerPieces::Known(bits);
        self.update_interest(now, key);
        if self.is_complete() && self.peers.get(&key).is_some_and(|p| p.pieces.is_seed()) {
            self.disconnect(now, key, DisconnectReason::NotUseful);
        }
    }
}
