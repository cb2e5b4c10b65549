//! Connections: known addresses and dialing with back-off, accepting peers, PEX (BEP 11),
//! keep-alives, idle time-outs, and banning peers that send bad data.

use super::{PeerKey, Torrent};
use crate::peer::{Peer, PeerPieces};
use crate::{Action, DisconnectReason, PeerSource};
use shoal_core::{Bitfield, PeerId};
use shoal_wire::ext::{
    ExtHandshake, PexMsg, OUR_UT_METADATA_ID, OUR_UT_PEX_ID, UT_METADATA, UT_PEX,
};
use shoal_wire::Message;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

/// Most addresses remembered per torrent.
const MAX_CANDIDATES: usize = 2000;
/// Most departed peers remembered for blame.
const MAX_DEPARTED: usize = 1000;
/// Most addresses per PEX message.
const PEX_BATCH: usize = 50;
const KEEPALIVE_AFTER: Duration = Duration::from_secs(60);

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
}

impl Candidate {
    pub fn is_idle(&self) -> bool {
        self.state == DialState::Idle
    }
}

/// Who to blame and ban. On loopback every peer shares one IP, so there the peer id stands in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Identity {
    Ip(IpAddr),
    Id([u8; 20]),
}

/// The IPv4 address behind `ip`, also when it is IPv4-mapped IPv6.
fn ipv4_of(ip: IpAddr) -> Option<std::net::Ipv4Addr> {
    match ip {
        IpAddr::V4(ip) => Some(ip),
        IpAddr::V6(ip) => ip.to_ipv4_mapped(),
    }
}

/// The /24 that BEP 6 derives allowed-fast sets from.
fn ipv4_subnet(ip: IpAddr) -> Option<u32> {
    ipv4_of(ip).map(|ip| u32::from(ip) >> 8)
}

fn identity(addr: SocketAddr, peer_id: PeerId) -> Identity {
    if addr.ip().is_loopback() || addr.ip().is_unspecified() {
        Identity::Id(peer_id.0)
    } else {
        Identity::Ip(addr.ip())
    }
}

impl Torrent {
    pub(super) fn add_candidate(&mut self, now: Instant, addr: SocketAddr, source: PeerSource) {
        if addr.port() == 0
            || addr.ip().is_unspecified()
            || addr.ip().is_multicast()
            || self.is_banned_addr(&addr)
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
            }
            self.actions.push_back(Action::Connect { addr });
        }
    }

    pub(super) fn dial_failed(&mut self, now: Instant, addr: SocketAddr) {
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
    }

    pub(super) fn accept_peer(
        &mut self,
        now: Instant,
        key: PeerKey,
        addr: SocketAddr,
        peer_id: PeerId,
        reserved: [u8; 8],
        outbound: bool,
    ) -> bool {
        let refuse = |t: &mut Torrent, state: Option<DialState>| {
            if outbound {
                if let Some(c) = t.candidates.get_mut(&addr) {
                    c.state = state.unwrap_or(DialState::Idle);
                    c.next_attempt = now + Duration::from_secs(30);
                }
            }
            false
        };
        if self.shut_down || self.peers.contains_key(&key) {
            return refuse(self, None);
        }
        if peer_id == self.config.peer_id {
            return refuse(self, Some(DialState::Done));
        }
        if self.banned.contains(&identity(addr, peer_id)) {
            return refuse(self, Some(DialState::Done));
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
                return refuse(self, Some(DialState::Connected));
            }
            self.disconnect(now, existing, DisconnectReason::Duplicate);
            // The peer stays connected through the new connection: do not redial it.
            if let Some(c) = old_addr.and_then(|a| self.candidates.get_mut(&a)) {
                c.state = DialState::Connected;
            }
        }
        if self.peers.len() >= self.config.max_peers {
            return refuse(self, None);
        }
        if outbound {
            let c = self.candidates.entry(addr).or_insert(Candidate {
                source: PeerSource::Hint,
                state: DialState::Connected,
                failures: 0,
                next_attempt: now,
            });
            c.state = DialState::Connected;
            c.failures = 0;
        }
        let fast = reserved[7] & 0x04 != 0;
        let extensions = reserved[5] & 0x10 != 0;
        let mut peer = Peer::new(now, addr, peer_id, outbound, fast, extensions);
        peer.max_requests = self.config.max_requests_per_peer;
        self.peers.insert(key, peer);
        self.send_opening(now, key);
        true
    }

    /// Our first messages on a new connection: what we have, then the extension handshake.
    fn send_opening(&mut self, now: Instant, key: PeerKey) {
        let Some(peer) = self.peers.get(&key) else {
            return;
        };
        let (fast, extensions, addr) = (peer.fast, peer.extensions, peer.addr);
        let have = self.meta.as_ref().map(|m| m.picker.have().clone());
        match have {
            Some(h) if h.is_full() && fast => self.send(now, key, Message::HaveAll),
            Some(h) if h.none() && fast => self.send(now, key, Message::HaveNone),
            Some(h) if h.none() => {}
            Some(h) => self.send(
                now,
                key,
                Message::Bitfield(bytes::Bytes::copy_from_slice(h.as_bytes())),
            ),
            None if fast => self.send(now, key, Message::HaveNone),
            None => {}
        }
        self.offer_allowed_fast(now, key);
        if extensions {
            let mut m = vec![(UT_METADATA.to_string(), OUR_UT_METADATA_ID)];
            if !self.is_private() {
                m.push((UT_PEX.to_string(), OUR_UT_PEX_ID));
            }
            let hs = ExtHandshake {
                m,
                client: Some(self.config.client_name.clone()),
                listen_port: self.config.listen_port,
                reqq: Some(super::upload::MAX_UPLOAD_QUEUE as u32),
                metadata_size: self.meta.as_ref().map(|m| m.info_bytes.len() as u64),
                yourip: Some(addr.ip()),
                upload_only: false,
            };
            self.send(
                now,
                key,
                Message::Extended {
                    id: 0,
                    payload: hs.encode(),
                },
            );
        }
    }

    /// Sends the BEP 6 allowed-fast pieces we have to a fast-capable IPv4 peer.
    fn offer_allowed_fast(&mut self, now: Instant, key: PeerKey) {
        let (Some(meta), Some(p)) = (&self.meta, self.peers.get_mut(&key)) else {
            return;
        };
        let Some(ip) = ipv4_of(p.addr.ip()) else {
            return;
        };
        if !p.fast || meta.picker.have().none() || meta.picker.is_complete() {
            return;
        }
        // The canonical set depends only on the /24, so every peer of one subnet would fetch
        // the same pieces: offer them to one peer per subnet at a time.
        if !self.fast_subnets.insert(u32::from(ip) >> 8) {
            return;
        }
        let n = meta.info.lengths.num_pieces();
        // Never more than an eighth of the torrent, or choking would mean nothing.
        let k = crate::fast::ALLOWED_FAST_COUNT.min(n / 8);
        let set = crate::fast::allowed_fast_set(ip, &self.info_hash, n, k);
        let offered: Vec<u32> = set
            .into_iter()
            .filter(|i| meta.picker.have().get(*i))
            .collect();
        p.offered_fast = offered.iter().copied().collect();
        for i in offered {
            self.send(now, key, Message::AllowedFast(i));
        }
    }

    pub(super) fn is_private(&self) -> bool {
        self.config.private || self.meta.as_ref().is_some_and(|m| m.info.private)
    }

    /// Forgets a peer: its pieces leave the availability counts, its requests are freed.
    pub(super) fn remove_peer(&mut self, now: Instant, key: PeerKey) {
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

    /// Tells every PEX-capable peer which peers joined and left since last time.
    pub(super) fn send_pex(&mut self, now: Instant) {
        if self.is_private() {
            return;
        }
        let current: std::collections::BTreeSet<SocketAddr> = self
            .peers
            .values()
            .filter_map(|p| p.dialable_addr())
            .collect();
        let keys: Vec<PeerKey> = self.peers.keys().copied().collect();
        for key in keys {
            let Some(p) = self.peers.get_mut(&key) else {
                continue;
            };
            let Some(id) = p.ut_pex else { continue };
            let own = p.dialable_addr();
            let added: Vec<SocketAddr> = current
                .iter()
                .filter(|a| Some(**a) != own && !p.pex_sent.contains(a))
                .take(PEX_BATCH)
                .copied()
                .collect();
            let dropped: Vec<SocketAddr> = p
                .pex_sent
                .iter()
                .filter(|a| !current.contains(a))
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
                added_flags: vec![0; added.len()],
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

    /// Counts `weight` strikes against each of `contributors` (the sole source of a piece that
    /// failed its hash, or peers whose blocks were proven bad); bans repeat offenders. When a
    /// peer we already banned is among them, the failure is its fault alone: pieces it fed
    /// before we banned it keep failing for a while.
    pub(super) fn blame(&mut self, now: Instant, contributors: &[PeerKey], weight: u32) {
        let known: Vec<(PeerKey, Identity, Option<SocketAddr>)> = contributors
            .iter()
            .filter_map(|key| match self.peers.get(key) {
                Some(p) => Some((*key, identity(p.addr, p.peer_id), p.dialable_addr())),
                None => self.departed.get(key).map(|&(who, addr)| (*key, who, addr)),
            })
            .collect();
        if known.iter().any(|(_, who, _)| self.banned.contains(who)) {
            return;
        }
        for (key, who, addr) in known {
            let key = &key;
            let strikes = self.strikes.entry(who).or_insert(0);
            *strikes += weight;
            if *strikes >= self.config.ban_after_failures {
                tracing::info!(peer = key.0, "banning peer for sending corrupt data");
                self.banned.insert(who);
                if let Some(addr) = addr {
                    self.banned_addrs.insert(addr);
                    if let Some(c) = self.candidates.get_mut(&addr) {
                        c.state = DialState::Done;
                    }
                }
                self.disconnect(now, *key, DisconnectReason::Banned);
            }
        }
    }

    /// Takes a strike off each peer that fed a piece that passed its hash. A strike from a
    /// shared piece may belong to someone else who fed it; a peer whose data keeps passing
    /// was not the culprit, so it should not be banned the next time it shares a piece with
    /// one. A peer that only ever sends bad data never gets here.
    pub(super) fn redeem(&mut self, contributors: &[PeerKey]) {
        for key in contributors {
            let Some(p) = self.peers.get(key) else {
                continue;
            };
            let who = identity(p.addr, p.peer_id);
            if let Some(strikes) = self.strikes.get_mut(&who) {
                *strikes = strikes.saturating_sub(1);
                if *strikes == 0 {
                    self.strikes.remove(&who);
                }
            }
        }
    }

    /// Whether dialing `addr` could only reach a banned peer.
    fn is_banned_addr(&self, addr: &SocketAddr) -> bool {
        self.banned_addrs.contains(addr) || self.banned.contains(&Identity::Ip(addr.ip()))
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
