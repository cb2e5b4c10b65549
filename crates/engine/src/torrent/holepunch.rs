//! Hole punching through a peer (BEP 55): relaying rendezvous between two of our peers,
//! asking the peer that introduced an address to relay when our dial to it fails (or, for
//! an address not called reachable, is still unanswered after 2 s), and dialing (uTP only,
//! both ends at once) when a relay says connect.
//!
//! What we dial on a relay's word is bounded: a connect for an address we asked about is
//! taken once within its answer window; one we did not ask about (we are the target of
//! another peer's rendezvous) only from a peer that announced ut_holepunch, within a token
//! bucket per relay and one for the torrent, and never for an address we are connected or
//! dialing to, or that is banned. Malformed messages close the peer, as for every other
//! extension; unknown message types and messages from peers that did not announce the
//! extension are ignored (BEP 55 says so for the latter).

use super::swarm::DialState;
use super::{PeerKey, Torrent};
use crate::holepunch::{ASK_EARLY_AFTER, MAX_DIALS};
use crate::{Action, DisconnectReason, PeerSource};
use shoal_wire::ext::{pex_flags, HolepunchErrorCode, HolepunchMsg};
use shoal_wire::{Message, WireError};
use std::net::SocketAddr;
use std::time::Instant;

impl Torrent {
    /// Whether this torrent speaks ut_holepunch: configured so, and not private.
    pub(super) fn holepunch_enabled(&self) -> bool {
        self.config.holepunch && !self.is_private()
    }

    pub(super) fn on_holepunch(&mut self, now: Instant, key: PeerKey, payload: &[u8]) {
        let Some(peer) = self.peers.get(&key) else {
            return;
        };
        if !self.holepunch_enabled() || peer.ut_holepunch.is_none() {
            return;
        }
        match HolepunchMsg::decode(payload) {
            Ok(HolepunchMsg::Rendezvous(target)) => self.relay(now, key, target),
            Ok(HolepunchMsg::Connect(addr)) => self.on_connect(now, key, addr),
            Ok(HolepunchMsg::Error { addr, code }) => {
                let ours = self.holepunch.refused(key, addr);
                tracing::debug!(peer = key.0, %addr, ?code, ours, "hole punch refused by the relay");
            }
            Err(WireError::UnknownHolepunchMsgType(kind)) => {
                tracing::debug!(peer = key.0, kind, "unknown ut_holepunch message ignored");
            }
            Err(_) => self.disconnect(
                now,
                key,
                DisconnectReason::Protocol("bad ut_holepunch message"),
            ),
        }
    }

    /// Sends a ut_holepunch message to a peer that announced the extension.
    fn send_holepunch(&mut self, now: Instant, key: PeerKey, msg: HolepunchMsg) {
        let Some(id) = self.peers.get(&key).and_then(|p| p.ut_holepunch) else {
            return;
        };
        let payload = msg.encode();
        self.send(now, key, Message::Extended { id, payload });
    }

    /// Peer `from` asks us to introduce it to `target`: each gets a connect naming the
    /// other's hole-punch endpoint (see `Peer::holepunch_endpoint`), or `from` gets an
    /// error saying why not.
    fn relay(&mut self, now: Instant, from: PeerKey, target: SocketAddr) {
        let Some(asker) = self.peers.get_mut(&from) else {
            return;
        };
        if !asker.rendezvous_allowed.take(now) {
            tracing::debug!(peer = from.0, %target, "rendezvous beyond the rate limit ignored");
            return;
        }
        let asker_endpoint = asker.holepunch_endpoint();
        let error = |code| HolepunchMsg::Error { addr: target, code };
        if target.port() == 0 || target.ip().is_unspecified() || target.ip().is_multicast() {
            return self.send_holepunch(now, from, error(HolepunchErrorCode::NoSuchPeer));
        }
        let found = self
            .peers
            .iter()
            .find(|(_, p)| p.is_at(target))
            .map(|(k, p)| (*k, p.ut_holepunch.is_some(), p.holepunch_endpoint()));
        let code = match found {
            None => Some(HolepunchErrorCode::NotConnected),
            Some((k, _, _)) if k == from => Some(HolepunchErrorCode::NoSelf),
            Some((_, false, _)) => Some(HolepunchErrorCode::NoSupport),
            Some((_, true, None)) => Some(HolepunchErrorCode::NotConnected),
            Some((_, true, Some(_))) => None,
        };
        if let Some(code) = code {
            tracing::debug!(peer = from.0, %target, ?code, "rendezvous refused");
            return self.send_holepunch(now, from, error(code));
        }
        let (Some((to, _, Some(target_endpoint))), Some(asker_endpoint)) = (found, asker_endpoint)
        else {
            // The asker dialed us over TCP and never said its listen port: nobody can
            // reach it, so the target is not told to try.
            return self.send_holepunch(now, from, error(HolepunchErrorCode::NoSuchPeer));
        };
        tracing::debug!(
            from = %asker_endpoint,
            to = %target_endpoint,
            "relaying a hole punch (BEP 55 rendezvous)"
        );
        self.send_holepunch(now, from, HolepunchMsg::Connect(target_endpoint));
        self.send_holepunch(now, to, HolepunchMsg::Connect(asker_endpoint));
    }

    /// Relay `relay` says: connect to `addr` now. Dialed if it answers a rendezvous we
    /// sent, or, as the target of someone else's, if the relay's and the torrent's
    /// buckets allow it.
    fn on_connect(&mut self, now: Instant, relay: PeerKey, addr: SocketAddr) {
        if !self.may_holepunch(&addr) {
            tracing::debug!(peer = relay.0, %addr, "hole-punch connect ignored: connected, dialing, banned or unusable");
            return;
        }
        let asked = self.holepunch.answer(now, relay, addr).is_some();
        if !asked {
            let relay_allows = self
                .peers
                .get_mut(&relay)
                .is_some_and(|p| p.connects_allowed.has(now));
            if !relay_allows || !self.holepunch.unasked.has(now) {
                tracing::debug!(peer = relay.0, %addr, "hole-punch connect beyond the rate limit ignored");
                return;
            }
            if let Some(p) = self.peers.get_mut(&relay) {
                p.connects_allowed.take(now);
            }
            self.holepunch.unasked.take(now);
        }
        tracing::debug!(%addr, asked, "hole punching: dialing over uTP");
        if let Some(c) = self.candidates.get_mut(&addr) {
            c.state = DialState::Connecting;
        }
        self.holepunch.dialing.insert(addr);
        self.actions.push_back(Action::HolepunchConnect { addr });
    }

    /// Whether a hole-punch dial to `addr` makes sense now.
    fn may_holepunch(&self, addr: &SocketAddr) -> bool {
        let usable = addr.port() != 0 && !addr.ip().is_unspecified() && !addr.ip().is_multicast();
        let candidate_busy = self
            .candidates
            .get(addr)
            .is_some_and(|c| c.state != DialState::Idle);
        usable
            && !self.shut_down
            && !candidate_busy
            && !self.is_banned_addr(addr)
            && self.peers.len() < self.config.max_peers
            && self.holepunch.dialing.len() < MAX_DIALS
            && !self.holepunch.dialing.contains(addr)
            && !self.peers.values().any(|p| p.is_at(*addr))
    }

    /// Dials to PEX addresses that have not connected within [`ASK_EARLY_AFTER`] and that
    /// their introducer did not call reachable: ask for the rendezvous now rather than when
    /// the dial gives up (uTP sends its third and last SYN at 3 s and gives up at 7 s).
    /// Our own dial's SYNs have opened our NAT to the peer by then, so the peer's dial,
    /// sent on the relay's word, comes straight in.
    pub(super) fn ask_rendezvous_early(&mut self, now: Instant) {
        if !self.holepunch_enabled() {
            return;
        }
        let slow: Vec<SocketAddr> = self
            .candidates
            .iter()
            .filter(|(_, c)| {
                c.state == DialState::Connecting
                    && c.source == PeerSource::Pex
                    && now.saturating_duration_since(c.dialed_at) >= ASK_EARLY_AFTER
            })
            .map(|(a, _)| *a)
            .filter(|a| {
                self.holepunch
                    .introducer(a)
                    .is_some_and(|i| i.flags & pex_flags::REACHABLE == 0)
            })
            .collect();
        for addr in slow {
            self.ask_rendezvous(now, addr);
        }
    }

    /// Our dial to `addr` failed (or is slow, see `ask_rendezvous_early`): if a connected
    /// peer introduced it by PEX, says it speaks ut_holepunch, and we have not asked about
    /// it lately, ask that peer to relay.
    pub(super) fn ask_rendezvous(&mut self, now: Instant, addr: SocketAddr) {
        if !self.holepunch_enabled()
            || self.candidates.get(&addr).map(|c| c.source) != Some(PeerSource::Pex)
            || !self.holepunch.may_ask(now, &addr)
        {
            return;
        }
        let Some(intro) = self.holepunch.introducer(&addr) else {
            return;
        };
        if intro.flags & pex_flags::HOLEPUNCH == 0 {
            return;
        }
        let relay_speaks_it = self
            .peers
            .get(&intro.by)
            .is_some_and(|p| p.ut_holepunch.is_some());
        if !relay_speaks_it {
            return;
        }
        tracing::debug!(%addr, relay = intro.by.0, "dial failed or slow: asking its introducer for a hole punch");
        self.holepunch.asked(now, addr, intro.by);
        self.send_holepunch(now, intro.by, HolepunchMsg::Rendezvous(addr));
    }

    /// The PEX flags we give a connected peer (BEP 11): seed, uTP when it is connected over
    /// uTP, ut_holepunch when it announced it, reachable when we dialed it.
    pub(super) fn pex_flags_of(&self, p: &crate::peer::Peer) -> u8 {
        let mut flags = 0;
        if p.pieces.is_seed() {
            flags |= pex_flags::SEED;
        }
        if p.utp {
            flags |= pex_flags::SUPPORTS_UTP;
        }
        if p.ut_holepunch.is_some() {
            flags |= pex_flags::HOLEPUNCH;
        }
        if p.outbound {
            flags |= pex_flags::REACHABLE;
        }
        flags
    }

    /// The connection `key` runs over uTP (BEP 29). The runtime says so right after
    /// [`handle_peer_connected`](Torrent::handle_peer_connected); it decides where a hole
    /// punch to this peer aims and the uTP flag PEX gives it. Unknown keys are ignored.
    pub fn handle_peer_over_utp(&mut self, _now: Instant, key: PeerKey) {
        if let Some(p) = self.peers.get_mut(&key) {
            p.utp = true;
        }
    }
}
