//! The node: its tables, stores and lookups, the datagrams in and out, the timer. The
//! handling of queries is in [`crate::server`], of lookups and replies in
//! [`crate::client`]; this file holds the state and the plumbing both use.

use crate::addr::acceptable;
use crate::compact::{canonical_addr, NodeInfo};
use crate::config::Config;
use crate::event::{Event, LookupId, Stats, Transmit};
use crate::id::NodeId;
use crate::items::ItemStore;
use crate::krpc::{Body, DecodeError, ErrorBody, Message, Method, Query, Tid, Want};
use crate::lookup::Lookup;
use crate::peers::PeerStore;
use crate::rng::{RandomBytes, Rng};
use crate::table::{Offer, Table};
use crate::token::Tokens;
use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// How often housekeeping runs: token rotation, expiry, bucket refresh, pings of doubtful
/// nodes, a new bootstrap while the tables are nearly empty.
pub(crate) const MAINTENANCE_EVERY: Duration = Duration::from_secs(5);
/// Bootstrap addresses kept at most.
pub(crate) const MAX_BOOTSTRAP: usize = 32;

/// Why a request is outstanding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Purpose {
    /// A ping: checking a doubtful node, or a node given by `add_node`.
    Ping,
    /// A query of a lookup's walk.
    Walk(LookupId),
    /// An announce_peer or put of a lookup.
    Store(LookupId),
}

/// A request we sent and wait for.
#[derive(Debug, Clone)]
pub(crate) struct Request {
    pub(crate) to: SocketAddr,
    /// The node's id, when known (not for bootstrap nodes and `add_node`).
    pub(crate) node: Option<NodeId>,
    pub(crate) deadline: Instant,
    pub(crate) purpose: Purpose,
}

/// A DHT node (BEP 5, with BEP 32 IPv6, BEP 42's `ip` field, BEP 43 read-only mode and
/// BEP 44 items), driven without I/O. See the [crate documentation](crate) for the
/// contract and a drive loop.
#[derive(Debug)]
pub struct Dht {
    pub(crate) cfg: Config,
    pub(crate) id: NodeId,
    pub(crate) rng: Rng,
    pub(crate) v4: Option<Table>,
    pub(crate) v6: Option<Table>,
    pub(crate) tokens: Tokens,
    pub(crate) peers: PeerStore,
    pub(crate) items: ItemStore,
    pub(crate) requests: BTreeMap<Tid, Request>,
    pub(crate) lookups: BTreeMap<LookupId, Lookup>,
    pub(crate) next_lookup: u64,
    pub(crate) bootstrap: Vec<SocketAddr>,
    pub(crate) last_bootstrap: Option<Instant>,
    /// Finished get_peers and get walks' tokens, for an announce or put right after.
    pub(crate) recent: VecDeque<crate::client::RecentWalk>,
    /// Our addresses as nodes reported them (a node listing one of them is ourselves).
    pub(crate) own_addrs: VecDeque<SocketAddr>,
    transmits: VecDeque<(SocketAddr, Vec<u8>)>,
    events: VecDeque<Event>,
    next_maintenance: Instant,
    /// The latest `now` given, for the queries that take none.
    now: Instant,
    pub(crate) stats: Stats,
}

impl Dht {
    /// A node with empty tables; `now` starts its clocks. Give it nodes with
    /// [`add_bootstrap`](Dht::add_bootstrap) or [`add_node`](Dht::add_node).
    pub fn new(config: Config, now: Instant) -> Self {
        let mut rng = Rng::new(config.seed);
        let id = NodeId(config.node_id.unwrap_or_else(|| rng.bytes20()));
        let tokens = Tokens::new(&mut rng, config.token_rotation, now);
        Dht {
            v4: config.ipv4.then(|| Table::new(id, config.k, now)),
            v6: config.ipv6.then(|| Table::new(id, config.k, now)),
            tokens,
            peers: PeerStore::new(
                config.max_torrents,
                config.max_peers_per_torrent,
                config.peer_ttl,
            ),
            items: ItemStore::new(config.max_items, config.item_ttl),
            requests: BTreeMap::new(),
            lookups: BTreeMap::new(),
            next_lookup: 0,
            bootstrap: Vec::new(),
            last_bootstrap: None,
            recent: VecDeque::new(),
            own_addrs: VecDeque::new(),
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            next_maintenance: now + MAINTENANCE_EVERY,
            now,
            stats: Stats::default(),
            rng,
            id,
            cfg: config,
        }
    }

    /// Our node id.
    pub fn id(&self) -> [u8; 20] {
        self.id.0
    }

    /// The settings it runs with.
    pub fn config(&self) -> &Config {
        &self.cfg
    }

    /// Takes one datagram received from `from`. Returns whether it was a KRPC message
    /// (`false`: junk the runtime may log). Replies to requests we did not send, or from
    /// another address than the one asked, count as KRPC but are ignored.
    pub fn handle_datagram(&mut self, now: Instant, from: SocketAddr, data: &[u8]) -> bool {
        self.now = self.now.max(now);
        let from = canonical_addr(from);
        let msg = match Message::decode(data) {
            Ok(msg) => msg,
            Err(DecodeError::BadQuery { tid, reason }) => {
                if !self.cfg.read_only && from.port() != 0 {
                    self.send_error(from, tid, crate::krpc::code::PROTOCOL, reason);
                }
                return true;
            }
            Err(DecodeError::NotKrpc) => {
                self.stats.dropped += 1;
                return false;
            }
            Err(_) => {
                self.stats.dropped += 1;
                return true;
            }
        };
        match msg.body {
            Body::Query(ref q) => self.on_query(now, from, &msg, q),
            Body::Response(r) => self.on_response(now, from, msg.tid, msg.ip, msg.read_only, r),
            Body::Error(e) => self.on_error(now, from, msg.tid, e),
        }
        self.drive_lookups(now);
        true
    }

    /// Writes the next datagram to send into `buf` (which should hold 1,500 bytes; a
    /// datagram that does not fit is dropped) and says where it goes.
    pub fn poll_transmit(&mut self, buf: &mut [u8]) -> Option<Transmit> {
        loop {
            let (to, data) = self.transmits.pop_front()?;
            if data.len() <= buf.len() {
                buf[..data.len()].copy_from_slice(&data);
                return Some(Transmit {
                    to,
                    len: data.len(),
                });
            }
            self.stats.transmit_overflow += 1;
        }
    }

    /// The next event, if any.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// When to call [`handle_timeout`](Dht::handle_timeout) next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let requests = self.requests.values().map(|r| r.deadline).min();
        Some(requests.map_or(self.next_maintenance, |r| r.min(self.next_maintenance)))
    }

    /// Fires timers: requests that went unanswered, housekeeping. Early or repeated calls
    /// do no harm.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.now = self.now.max(now);
        let expired: Vec<Tid> = self
            .requests
            .iter()
            .filter(|(_, r)| r.deadline <= now)
            .map(|(t, _)| *t)
            .collect();
        for tid in expired {
            if let Some(req) = self.requests.remove(&tid) {
                self.request_failed(now, req, true);
            }
        }
        if now >= self.next_maintenance {
            self.next_maintenance = now + MAINTENANCE_EVERY;
            self.maintenance(now);
        }
        self.drive_lookups(now);
    }

    /// The good nodes of both tables, for saving and bootstrapping the next run.
    pub fn nodes(&self) -> Vec<SocketAddr> {
        self.tables()
            .flat_map(|t| t.good(self.now).map(|n| n.addr).collect::<Vec<_>>())
            .collect()
    }

    /// Counters and sizes.
    pub fn stats(&self) -> Stats {
        Stats {
            nodes_v4: self.v4.as_ref().map_or(0, Table::len),
            nodes_v6: self.v6.as_ref().map_or(0, Table::len),
            in_flight: self.requests.len(),
            lookups: self.lookups.len(),
            torrents: self.peers.torrents(),
            peers: self.peers.peers(),
            items: self.items.len(),
            ..self.stats
        }
    }

    fn tables(&self) -> impl Iterator<Item = &Table> {
        self.v4.iter().chain(self.v6.iter())
    }

    pub(crate) fn table_mut(&mut self, v6: bool) -> Option<&mut Table> {
        if v6 {
            self.v6.as_mut()
        } else {
            self.v4.as_mut()
        }
    }

    pub(crate) fn table(&self, v6: bool) -> Option<&Table> {
        if v6 {
            self.v6.as_ref()
        } else {
            self.v4.as_ref()
        }
    }

    /// Whether `addr` may be a node or peer: the family is on, the address routable (or
    /// allowed), and it is not one of our own.
    pub(crate) fn usable(&self, addr: &SocketAddr) -> bool {
        self.table(addr.is_ipv6()).is_some()
            && acceptable(addr, self.cfg.allow_private_addresses)
            && !self.own_addrs.contains(addr)
    }

    /// Offers a node to its family's table; pings the stalest doubtful node of a full
    /// bucket.
    pub(crate) fn offer_node(&mut self, now: Instant, info: NodeInfo, responded: bool) {
        if info.id == self.id || !self.usable(&info.addr) {
            return;
        }
        let Some(table) = self.table_mut(info.addr.is_ipv6()) else {
            return;
        };
        if let Offer::Full { ping: Some(stale) } = table.offer(now, info, responded) {
            if !self.requests.values().any(|r| r.to == stale.addr) {
                self.send_request(now, stale.addr, Some(stale.id), Method::Ping, Purpose::Ping);
            }
        }
    }

    /// Queues a datagram, unless the queue is full.
    pub(crate) fn queue(&mut self, to: SocketAddr, msg: &Message) {
        if self.transmits.len() >= self.cfg.max_queued_transmits {
            self.stats.transmit_overflow += 1;
            return;
        }
        self.transmits.push_back((to, msg.to_bytes()));
    }

    pub(crate) fn push_event(&mut self, event: Event) {
        if self.events.len() >= self.cfg.max_queued_events {
            self.events.pop_front();
        }
        self.events.push_back(event);
    }

    pub(crate) fn send_error(&mut self, to: SocketAddr, tid: Tid, code: i64, message: &str) {
        self.stats.queries_answered += 1;
        let msg = Message {
            tid,
            version: self.cfg.version.clone(),
            read_only: false,
            ip: None,
            body: Body::Error(ErrorBody {
                code,
                message: message.to_owned(),
            }),
        };
        self.queue(to, &msg);
    }

    /// The `want` of our queries: both families when we keep both tables, so every answer
    /// feeds both walks of a lookup (BEP 32).
    fn our_want(&self) -> Want {
        Want {
            v4: self.v4.is_some() && self.v6.is_some(),
            v6: self.v4.is_some() && self.v6.is_some(),
        }
    }

    /// Sends a query and remembers it; `false` when too many are in flight.
    pub(crate) fn send_request(
        &mut self,
        now: Instant,
        to: SocketAddr,
        node: Option<NodeId>,
        method: Method,
        purpose: Purpose,
    ) -> bool {
        if self.requests.len() >= self.cfg.max_in_flight {
            return false;
        }
        let tid = loop {
            let bytes = (self.rng.next_u64() as u32).to_be_bytes();
            let tid = Tid::new(&bytes).expect("4 bytes fit");
            if !self.requests.contains_key(&tid) {
                break tid;
            }
        };
        let msg = Message {
            tid,
            version: self.cfg.version.clone(),
            read_only: self.cfg.read_only,
            ip: None,
            body: Body::Query(Query {
                id: self.id,
                want: self.our_want(),
                method,
            }),
        };
        self.queue(to, &msg);
        self.requests.insert(
            tid,
            Request {
                to,
                node,
                deadline: now + self.cfg.request_timeout,
                purpose,
            },
        );
        true
    }
}
