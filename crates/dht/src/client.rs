//! Our side of the protocol: starting lookups, handling replies and timeouts, driving the
//! walks, storing (announce_peer, put) once a walk is over, and housekeeping (bootstrap,
//! bucket refresh, pings of doubtful nodes, token rotation, expiry).

use crate::compact::NodeInfo;
use crate::dht::{Dht, Purpose, Request};
use crate::event::{Event, LookupId};
use crate::id::NodeId;
use crate::item::{check_value, immutable_target, mutable_target, verify, ItemError, MutableItem};
use crate::krpc::{ErrorBody, Method, MutableFields, PutArgs, Response, Tid};
use crate::lookup::{Kind, Lookup, Walk};
use sha1::{Digest, Sha1};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// How long a finished walk's tokens are reused by an announce or put (tokens we get live
/// at least one rotation period, 5 minutes on most nodes).
const REUSE_TOKENS_FOR: Duration = Duration::from_secs(120);
/// Finished walks remembered for token reuse.
const MAX_RECENT: usize = 32;
/// A bootstrap is retried this often while the tables hold fewer than k nodes (its
/// datagrams may have been lost, or the bootstrap nodes were down).
const REBOOTSTRAP_EVERY: Duration = Duration::from_secs(15);

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
    target: NodeId,
    get_peers: bool,
    finished: Instant,
    storers: Vec<(NodeInfo, Vec<u8>)>,
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

    /// Looks for peers of a torrent: [`Event::Peers`] as nodes answer, then
    /// [`Event::LookupDone`].
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

    /// Fetches an immutable item (BEP 44): [`Event::Immutable`] once a node returns a value
    /// whose SHA-1 is `target`, then [`Event::LookupDone`].
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

    /// Fetches a mutable item (BEP 44) by public key and salt: [`Event::Mutable`] for each
    /// newer valid version found, then [`Event::LookupDone`].
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

    /// Sends what each walk may send; ends the walks that are over.
    pub(crate) fn drive_lookups(&mut self, now: Instant) {
        let ids: Vec<LookupId> = self.lookups.keys().copied().collect();
        for id in ids {
            self.drive(now, id);
        }
    }

    fn drive(&mut self, now: Instant, id: LookupId) {
        let (k, alpha) = (self.cfg.k, self.cfg.alpha);
        let Some(lookup) = self.lookups.get_mut(&id) else {
            return;
        };
        if let Some(pending) = lookup.storing {
            if pending == 0 {
                self.finish(now, id);
            }
            return;
        }
        let target = lookup.target;
        let method = match &lookup.kind {
            Kind::FindNode { .. } => Method::FindNode { target },
            Kind::GetPeers | Kind::Announce { .. } => Method::GetPeers { info_hash: target },
            Kind::GetImmutable | Kind::GetMutable { .. } | Kind::Put { .. } => {
                Method::Get { target, seq: None }
            }
        };
        let mut sends = Vec::new();
        for walk in &mut lookup.walks {
            for addr in walk.next_queries(k, alpha) {
                let node = walk
                    .candidates
                    .iter()
                    .find(|c| c.addr == addr)
                    .and_then(|c| c.id);
                sends.push((addr, node));
            }
        }
        for (addr, node) in sends {
            if !self.send_request(now, addr, node, method.clone(), Purpose::Walk(id)) {
                // Too many in flight: put it back, the walk tries again later.
                if let Some(l) = self.lookups.get_mut(&id) {
                    if let Some(c) = l
                        .walks
                        .iter_mut()
                        .flat_map(|w| w.candidates.iter_mut())
                        .find(|c| c.addr == addr)
                    {
                        c.state = crate::lookup::CandState::Fresh;
                    }
                }
            }
        }
        let Some(lookup) = self.lookups.get(&id) else {
            return;
        };
        let in_flight = self
            .requests
            .values()
            .any(|r| r.purpose == Purpose::Walk(id));
        let walks_done = lookup.walks.iter().all(|w| w.is_done(k));
        if walks_done && !in_flight {
            if lookup.kind.stores() {
                let storers: Vec<_> = lookup.walks.iter().flat_map(|w| w.storers(k)).collect();
                self.remember(now, id);
                self.store(now, id, storers);
                if self.lookups.get(&id).is_some_and(|l| l.storing == Some(0)) {
                    self.finish(now, id);
                }
            } else {
                self.remember(now, id);
                self.finish(now, id);
            }
        }
    }

    /// Keeps a finished get_peers or get walk's tokens for a store right after.
    fn remember(&mut self, now: Instant, id: LookupId) {
        let Some(l) = self.lookups.get(&id) else {
            return;
        };
        let get_peers = match l.kind {
            Kind::GetPeers | Kind::Announce { .. } => true,
            Kind::GetImmutable | Kind::GetMutable { .. } | Kind::Put { .. } => false,
            Kind::FindNode { .. } => return,
        };
        let storers: Vec<_> = l.walks.iter().flat_map(|w| w.storers(self.cfg.k)).collect();
        if self.recent.len() >= MAX_RECENT {
            self.recent.pop_front();
        }
        self.recent.push_back(RecentWalk {
            target: l.target,
            get_peers,
            finished: now,
            storers,
        });
    }

    /// Sends the announce_peer or put of a lookup to these nodes.
    fn store(&mut self, now: Instant, id: LookupId, storers: Vec<(NodeInfo, Vec<u8>)>) {
        let Some(l) = self.lookups.get(&id) else {
            return;
        };
        let target = l.target;
        let kind = l.kind.clone();
        let mut sent = 0;
        for (node, token) in storers {
            let method = match &kind {
                Kind::Announce { port } => Method::AnnouncePeer {
                    info_hash: target,
                    port: port.unwrap_or(0),
                    implied_port: port.is_none(),
                    token,
                },
                Kind::Put { value, item } => Method::Put(PutArgs {
                    token,
                    value: value.clone(),
                    mutable: item.as_ref().map(|(it, cas)| MutableFields {
                        key: it.key,
                        seq: it.seq,
                        sig: it.sig,
                        salt: it.salt.clone(),
                        cas: *cas,
                    }),
                }),
                _ => return,
            };
            if self.send_request(now, node.addr, Some(node.id), method, Purpose::Store(id)) {
                sent += 1;
            }
        }
        if let Some(l) = self.lookups.get_mut(&id) {
            l.storing = Some(sent);
        }
    }

    fn finish(&mut self, now: Instant, id: LookupId) {
        if let Some(l) = self.lookups.remove(&id) {
            if matches!(l.kind, Kind::FindNode { .. }) && l.target == self.id {
                self.refresh_sparse_buckets(now);
            }
            if l.kind.reported() {
                self.push_event(Event::LookupDone {
                    lookup: id,
                    outcome: l.outcome,
                });
            }
        }
    }

    pub(crate) fn on_response(
        &mut self,
        now: Instant,
        from: SocketAddr,
        tid: Tid,
        ip: Option<SocketAddr>,
        read_only: bool,
        r: Response,
    ) {
        // Only a reply from the address we asked, to a request we sent, counts.
        match self.requests.get(&tid) {
            Some(req) if req.to == from => {}
            _ => {
                self.stats.dropped += 1;
                return;
            }
        }
        let req = self.requests.remove(&tid).expect("checked above");
        if r.id == self.id || req.node.is_some_and(|n| n != r.id) {
            // Ourselves, or a node that changed its id: not a node to keep.
            self.request_failed(now, req, false);
            return;
        }
        if !read_only {
            self.offer_node(
                now,
                NodeInfo {
                    id: r.id,
                    addr: from,
                },
                true,
            );
        }
        if let Some(addr) = ip {
            if self.own_addrs.len() >= 4 && !self.own_addrs.contains(&addr) {
                self.own_addrs.pop_front();
            }
            if !self.own_addrs.contains(&addr) {
                self.own_addrs.push_back(addr);
            }
            self.push_event(Event::ExternalAddress {
                addr,
                reported_by: from,
            });
        }
        match req.purpose {
            Purpose::Ping => {}
            Purpose::Store(id) => {
                if let Some(l) = self.lookups.get_mut(&id) {
                    l.outcome.stored += 1;
                    l.storing = l.storing.map(|p| p.saturating_sub(1));
                }
            }
            Purpose::Walk(id) => self.walk_answer(id, from, r),
        }
    }

    fn walk_answer(&mut self, id: LookupId, from: SocketAddr, r: Response) {
        let usable: Vec<NodeInfo> = r
            .nodes
            .iter()
            .chain(r.nodes6.iter())
            .filter(|n| n.id != self.id && self.usable(&n.addr))
            .copied()
            .collect();
        let peers: Vec<SocketAddr> = r
            .values
            .iter()
            .filter(|p| self.usable(p))
            .copied()
            .collect();
        let Some(l) = self.lookups.get_mut(&id) else {
            return;
        };
        let target = l.target;
        l.outcome.responded += 1;
        if let Some(w) = l.walk_mut(from.is_ipv6()) {
            w.answered(&target, &from, r.id, r.token.clone());
        }
        for n in usable {
            if let Some(w) = l.walk_mut(n.addr.is_ipv6()) {
                w.add(&target, Some(n.id), n.addr);
            }
        }
        let r = Response { values: peers, ..r };
        self.apply_answer(id, r);
    }

    /// Reports what an answer holds for the lookup: peers, an item.
    fn apply_answer(&mut self, id: LookupId, r: Response) {
        let Some(l) = self.lookups.get_mut(&id) else {
            return;
        };
        let target = l.target;
        let peers = r.values;
        let mut events = Vec::new();
        let mut done = false;
        match &mut l.kind {
            Kind::GetPeers | Kind::Announce { .. } => {
                let fresh = l.new_peers(&peers);
                if !fresh.is_empty() {
                    events.push(Event::Peers {
                        lookup: id,
                        peers: fresh,
                    });
                }
            }
            Kind::GetImmutable => {
                if let Some(v) = r.value.filter(|v| NodeId(Sha1::digest(v).into()) == target) {
                    events.push(Event::Immutable {
                        lookup: id,
                        value: v,
                    });
                    done = true;
                }
            }
            Kind::GetMutable { key, salt, best } => {
                if let (Some(v), Some(k), Some(seq), Some(sig)) = (r.value, r.key, r.seq, r.sig) {
                    if k == *key && best.is_none_or(|b| seq > b) && verify(&k, salt, seq, &v, &sig)
                    {
                        *best = Some(seq);
                        let item = MutableItem {
                            key: k,
                            salt: salt.clone(),
                            seq,
                            value: v,
                            sig,
                        };
                        events.push(Event::Mutable { lookup: id, item });
                    }
                }
            }
            Kind::FindNode { .. } | Kind::Put { .. } => {}
        }
        for e in events {
            self.push_event(e);
        }
        if done {
            self.finish_now(id);
        }
    }

    /// Ends a lookup before its walk is over (an immutable item was found).
    fn finish_now(&mut self, id: LookupId) {
        if let Some(l) = self.lookups.remove(&id) {
            self.push_event(Event::LookupDone {
                lookup: id,
                outcome: l.outcome,
            });
        }
    }

    pub(crate) fn on_error(&mut self, now: Instant, from: SocketAddr, tid: Tid, _e: ErrorBody) {
        match self.requests.get(&tid) {
            Some(req) if req.to == from => {}
            _ => {
                self.stats.dropped += 1;
                return;
            }
        }
        let req = self.requests.remove(&tid).expect("checked above");
        // It is alive, just unwilling: no strike against it in the table.
        self.request_failed(now, req, false);
    }

    /// A request ended without a usable answer (`timed_out`: no answer at all).
    pub(crate) fn request_failed(&mut self, _now: Instant, req: Request, timed_out: bool) {
        if timed_out {
            if let Some(t) = self.table_mut(req.to.is_ipv6()) {
                t.failed(&req.to, req.node.as_ref());
            }
        }
        match req.purpose {
            Purpose::Ping => {}
            Purpose::Walk(id) => {
                if let Some(w) = self
                    .lookups
                    .get_mut(&id)
                    .and_then(|l| l.walk_mut(req.to.is_ipv6()))
                {
                    w.failed(&req.to);
                }
            }
            Purpose::Store(id) => {
                if let Some(l) = self.lookups.get_mut(&id) {
                    l.storing = l.storing.map(|p| p.saturating_sub(1));
                }
            }
        }
    }

    /// After a walk to our own id (bootstrap), a silent find_node in the range of every
    /// bucket that is not full: the own-id walk only meets nodes near us, and without this
    /// the far buckets would stay empty until nodes from there happen to query us, leaving
    /// lookups towards that half of the id space without a first hop.
    fn refresh_sparse_buckets(&mut self, now: Instant) {
        let mut targets = Vec::new();
        for v6 in [false, true] {
            let rng = &mut self.rng;
            let table = if v6 {
                self.v6.as_ref()
            } else {
                self.v4.as_ref()
            };
            if let Some(t) = table {
                targets.extend(t.sparse_targets(&mut || rng.bytes20()));
            }
        }
        targets.sort();
        targets.dedup();
        for target in targets {
            if self.lookups.len() < self.cfg.max_lookups / 2 {
                let _ = self.start(now, target, Kind::FindNode { report: false });
            }
        }
    }

    /// Housekeeping, every few seconds.
    pub(crate) fn maintenance(&mut self, now: Instant) {
        self.tokens.maybe_rotate(&mut self.rng, now);
        self.peers.expire(now);
        self.items.expire(now);
        let refresh_after = self.cfg.bucket_refresh;
        let mut refresh = Vec::new();
        let mut ping = Vec::new();
        for v6 in [false, true] {
            let rng = &mut self.rng;
            let mut random = || rng.bytes20();
            let table = if v6 {
                self.v6.as_mut()
            } else {
                self.v4.as_mut()
            };
            if let Some(t) = table {
                let (r, p) = t.maintenance(now, refresh_after, &mut random);
                refresh.extend(r);
                ping.extend(p);
            }
        }
        for node in ping {
            if !self.requests.values().any(|r| r.to == node.addr) {
                self.send_request(now, node.addr, Some(node.id), Method::Ping, Purpose::Ping);
            }
        }
        // Refresh walks are silent and few: at most a quarter of the lookup slots.
        for target in refresh {
            if self.lookups.len() < self.cfg.max_lookups / 4 {
                let _ = self.start(now, target, Kind::FindNode { report: false });
            }
        }
        let few = self.stats().nodes_v4 + self.stats().nodes_v6 < self.cfg.k;
        let due = self
            .last_bootstrap
            .is_none_or(|t| now.saturating_duration_since(t) >= REBOOTSTRAP_EVERY);
        if few && due && !self.bootstrap.is_empty() {
            self.last_bootstrap = Some(now);
            let _ = self.start(now, self.id, Kind::FindNode { report: false });
        }
    }
}
