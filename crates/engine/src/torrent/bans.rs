//! Banning peers that send bad data: who a peer is (its IP, or its peer id on loopback),
//! strikes against it when pieces it fed fail, strikes taken back when they pass.

use super::swarm::DialState;
use super::{PeerKey, Torrent};
use crate::DisconnectReason;
use shoal_core::PeerId;
use std::net::{IpAddr, SocketAddr};
use std::time::Instant;

/// Who to blame and ban. On loopback every peer shares one IP, so there the peer id stands in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Identity {
    Ip(IpAddr),
    Id([u8; 20]),
}

pub(super) fn identity(addr: SocketAddr, peer_id: PeerId) -> Identity {
    if addr.ip().is_loopback() || addr.ip().is_unspecified() {
        Identity::Id(peer_id.0)
    } else {
        Identity::Ip(addr.ip())
    }
}

impl Torrent {
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
    pub(super) fn is_banned_addr(&self, addr: &SocketAddr) -> bool {
        self.banned_addrs.contains(addr) || self.banned.contains(&Identity::Ip(addr.ip()))
    }
}
