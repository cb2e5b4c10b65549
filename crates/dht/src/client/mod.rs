//! Our side of the protocol. This file: the calls that start lookups (bootstrap,
//! get_peers, announce, BEP 44 gets and puts), what our own stores answer them, and the
//! tokens of finished walks kept for a store right after. `walk`: driving the walks and
//! storing once they are over; `replies`: answers, errors and timeouts of our requests;
//! `maintenance`: housekeeping.

mod maintenance;
mod replies;
mod walk;

use crate::compact::NodeInfo;
use crate::dht::{Dht, Purpose};
use crate::event::LookupId;
use crate::id::NodeId;
use crate::item::{check_value, immutable_target, mutable_target, ItemError, MutableItem};
use crate::krpc::{Method, Response};
use crate::lookup::{Kind, Lookup, Walk};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// How long a finished walk's tokens are reused by an announce or put (tokens we get live
/// at least one rotation period, 5 minutes on most nodes).
const REUSE_TOKENS_FOR: Duration = Duration::from_secs(120);

/// Why a lookup could not start.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LookupError {
    /// [`Config::max_lookups`](crate::Config::max_lookups) are running.
    #[error("too many lookups running")]
    TooManyLookups,
    /// The item to put is not valid.
    #[error(transparent)]
    Item(#[from] ItemError),
}

/// A finished walk's nodes and tokens.
#[derive(Debug)]
pub(crate) struct RecentWalk {
    pub(super) target: NodeId,
    pub(super) get_peers: bool,
    pub(super) finished: Instant,
    pub(super) storers: Vec<(NodeInfo, Vec<u8>)>,
}

impl Dht {
    /// Adds bootstrap nodes (addresses, such as `router.bittorrent.com`'s, resolved by the
    /// runtime, or the saved nodes of the last run) and starts a bootstrap: a find_node
    /// walk on our own id. Bootstrap nodes are asked again whenever the tables run low.
    pub fn add_bootstrap(
        &mut self,
        now: Instant,
        addrs: &[SocketAddr],
    ) -> Result<LookupId, LookupError> {
        for a in addrs.iter().map(|a| crate::compact::canonical_addr(*a)) {
            if a.port() != 0
                && !self.bootstrap.contains(&a)
                && self.bootstrap.len() < crate::dht::MAX_BOOTSTRAP
            {
                self.bootstrap.push(a);
            }
        }
        self.last_bootstrap = Some(now);
        self.start(now, self.id, Kind::FindNode { report: true })
    }

    /// Pings a node we heard of (a peer's PORT message); it joins the table if it answers.
    pub fn add_node(&mut self, now: Instant, addr: SocketAddr) {
        let addr = crate::compact::canonical_addr(addr);
        if self.usable(&addr) && !self.requests.values().any(|r| r.to == addr) {
            self.send_request(now, addr, None, Method::Ping, Purpose::Ping);
        }
    }

    /// Looks for peers of a torrent: [`Event::Peers`](crate::Event::Peers) as nodes answer, then
    /// [`Event::LookupDone`](crate::Event::LookupDone).
    pub fn get_peers(
        &mut self,
        now: Instant,
        info_hash: [u8; 20],
    ) -> Result<LookupId, LookupError> {
        self.start(now, NodeId(info_hash), Kind::GetPeers)
    }

    /// Announces that we have a torrent: a get_peers walk (peers found are reported too),
    /// then announce_peer to the k closest nodes that gave a token, of each family. `port`
    /// `None` sends `implied_port`: the nodes take the source port of our datagram, which
    /// is what a NAT maps for the UDP socket shared with uTP. Right after a get_peers
    /// lookup of the same info-hash (2 minutes) its tokens are used and no walk is made.
    pub fn announce(
        &mut self,
        now: Instant,
        info_hash: [u8; 20],
        port: Option<u16>,
    ) -> Result<LookupId, LookupError> {
        self.start(now, NodeId(info_hash), Kind::Announce { port })
    }

    /// Fetches an immutable item (BEP 44): [`Event::Immutable`](crate::Event::Immutable) once a node returns a value
    /// whose SHA-1 is `target`, then [`Event::LookupDone`](crate::Event::LookupDone).
    pub fn get_immutable(
        &mut self,
        now: Instant,
        target: [u8; 20],
    ) -> Result<LookupId, LookupError> {
        self.start(now, NodeId(target), Kind::GetImmutable)
    }

    /// Stores an immutable item (canonical bencoding, at most 1,000 bytes) on the k nodes
    /// closest to its target, SHA-1 of the value ([`crate::immutable_target`]).
    pub fn put_immutable(&mut self, now: Instant, value: &[u8]) -> Result<LookupId, LookupError> {
        check_value(value)?;
        let target = immutable_target(value);
        self.start(
            now,
            target,
            Kind::Put {
                value: value.to_vec(),
                item: None,
            },
        )
    }

    /// Fetches a mutable item (BEP 44) by public key and salt: [`Event::Mutable`](crate::Event::Mutable) for each
    /// newer valid version found, then [`Event::LookupDone`](crate::Event::LookupDone).
    pub fn get_mutable(
        &mut self,
        now: Instant,
        key: [u8; 32],
        salt: &[u8],
    ) -> Result<LookupId, LookupError> {
        if salt.len() > crate::krpc::MAX_SALT_LEN {
            return Err(ItemError::SaltTooBig.into());
        }
        let kind = Kind::GetMutable {
            key,
            salt: salt.to_vec(),
            best: None,
        };
        self.start(now, mutable_target(&key, salt), kind)
    }

    /// Stores a signed mutable item ([`MutableItem::sign`]) on the k nodes closest to its
    /// target; `cas` is the sequence number it replaces, if the put must fail otherwise.
    pub fn put_mutable(
        &mut self,
        now: Instant,
        item: MutableItem,
        cas: Option<i64>,
    ) -> Result<LookupId, LookupError> {
        check_value(&item.value)?;
        let kind = Kind::Put {
            value: item.value.clone(),
            item: Some((item.clone(), cas)),
        };
        self.start(now, item.target(), kind)
    }

    /// Stops a lookup; no more events name it (a `LookupDone` already queued stays).
    pub fn cancel(&mut self, lookup: LookupId) {
        self.lookups.remove(&lookup);
    }

    fn start(&mut self, now: Instant, target: NodeId, kind: Kind) -> Result<LookupId, LookupError> {
        if self.lookups.len() >= self.cfg.max_lookups {
            return Err(LookupError::TooManyLookups);
        }
        self.next_lookup += 1;
        let id = LookupId(self.next_lookup);
        let mut lookup = Lookup::new(target, kind);
        let reuse = self.reusable(&lookup, now);
        for v6 in [false, true] {
            let Some(table) = self.table(v6) else {
                continue;
            };
            let mut walk = Walk::new(v6);
            for n in table.closest(&target, self.cfg.k) {
                walk.add(&target, Some(n.id), n.addr);
            }
            if walk.candidates.len() < self.cfg.k {
                for b in self.bootstrap.iter().filter(|b| b.is_ipv6() == v6) {
                    walk.add(&target, None, *b);
                }
            }
            lookup.walks.push(walk);
        }
        self.lookups.insert(id, lookup);
        self.local_answer(id);
        if !self.lookups.contains_key(&id) {
            return Ok(id);
        }
        if let Some(storers) = reuse {
            self.store(now, id, storers);
        }
        self.drive_lookups(now);
        Ok(id)
    }

    /// What our own stores hold for a new lookup counts as a first answer: in a small
    /// network the node that stores a torrent's peers may be the one looking.
    fn local_answer(&mut self, id: LookupId) {
        let Some(l) = self.lookups.get(&id) else {
            return;
        };
        let target = l.target;
        let mut r = Response {
            id: self.id,
            ..Response::default()
        };
        match &l.kind {
            Kind::GetPeers | Kind::Announce { .. } => {
                r.values = self.peers.get(&target, false);
                r.values.extend(self.peers.get(&target, true));
            }
            Kind::GetImmutable | Kind::GetMutable { .. } => {
                if let Some(item) = self.items.get(&target) {
                    r.value = Some(item.value.clone());
                    if let Some((key, seq, sig)) = item.mutable {
                        (r.key, r.seq, r.sig) = (Some(key), Some(seq), Some(sig));
                    }
                }
            }
            Kind::FindNode { .. } | Kind::Put { .. } => return,
        }
        self.apply_answer(id, r);
    }

    /// The tokens of a walk just finished on the same target, for an announce or put.
    fn reusable(&self, lookup: &Lookup, now: Instant) -> Option<Vec<(NodeInfo, Vec<u8>)>> {
        let wants_get_peers = match lookup.kind {
            Kind::Announce { .. } => true,
            Kind::Put { .. } => false,
            _ => return None,
        };
        self.recent
            .iter()
            .rev()
            .find(|r| {
                r.target == lookup.target
                    && r.get_peers == wants_get_peers
                    && now.saturating_duration_since(r.finished) < REUSE_TOKENS_FOR
                    && !r.storers.is_empty()
            })
            .map(|r| r.storers.clone())
    }
}
