//! Answering queries (BEP 5, 32, 42, 44): ping, find_node, get_peers, announce_peer, get,
//! put. Every answer carries the requester's address as we see it (BEP 42 `ip`) and the
//! closest nodes of the families it wants (BEP 32: `want`, by default its own family). A
//! read-only node (BEP 43) answers nothing.

use crate::compact::NodeInfo;
use crate::dht::Dht;
use crate::id::NodeId;
use crate::krpc::{code, Body, Message, Method, Query, Response, Want};
use std::net::SocketAddr;
use std::time::Instant;

impl Dht {
    pub(crate) fn on_query(&mut self, now: Instant, from: SocketAddr, msg: &Message, q: &Query) {
        if self.cfg.read_only || from.port() == 0 {
            return;
        }
        let mut r = Response {
            id: self.id,
            ..Response::default()
        };
        match &q.method {
            Method::Ping => {}
            Method::FindNode { target } => self.add_nodes(&mut r, target, q.want, from),
            Method::GetPeers { info_hash } => {
                r.values = self.peers.get(info_hash, from.is_ipv6());
                if r.values.is_empty() {
                    self.add_nodes(&mut r, info_hash, q.want, from);
                }
                r.token = Some(self.tokens.issue(from.ip()));
            }
            Method::AnnouncePeer {
                info_hash,
                port,
                implied_port,
                token,
            } => {
                if !self.tokens.check(from.ip(), token) {
                    return self.send_error(from, msg.tid, code::PROTOCOL, "bad token");
                }
                // implied_port: the source port of the datagram is the one that reaches the
                // peer (its NAT's mapping of the socket it shares with uTP).
                let port = if *implied_port { from.port() } else { *port };
                let peer = SocketAddr::new(from.ip(), port);
                if self.usable(&peer) || peer == from {
                    self.peers.add(now, *info_hash, peer);
                }
            }
            Method::Get { target, seq } => {
                if let Some(item) = self.items.get(target) {
                    match item.mutable {
                        None => r.value = Some(item.value.clone()),
                        Some((key, stored_seq, sig)) => {
                            r.key = Some(key);
                            r.seq = Some(stored_seq);
                            if seq.is_none_or(|s| stored_seq > s) {
                                r.value = Some(item.value.clone());
                                r.sig = Some(sig);
                            }
                        }
                    }
                }
                self.add_nodes(&mut r, target, q.want, from);
                r.token = Some(self.tokens.issue(from.ip()));
            }
            Method::Put(put) => {
                if !self.tokens.check(from.ip(), &put.token) {
                    return self.send_error(from, msg.tid, code::PROTOCOL, "bad token");
                }
                if let Err((c, text)) = self.items.put(now, &put.value, put.mutable.as_ref()) {
                    return self.send_error(from, msg.tid, c, text);
                }
            }
            Method::Unknown(_) => {
                return self.send_error(from, msg.tid, code::METHOD_UNKNOWN, "method unknown");
            }
        }
        // A querying node joins our table (BEP 43: unless read-only), after the answer so
        // that it is not sent itself; as it has not answered us yet it is only
        // questionable, and gets pinged before it displaces anyone.
        if !msg.read_only {
            self.offer_node(
                now,
                NodeInfo {
                    id: q.id,
                    addr: from,
                },
                false,
            );
        }
        self.stats.queries_answered += 1;
        let reply = Message {
            tid: msg.tid,
            version: self.cfg.version.clone(),
            read_only: false,
            ip: Some(from),
            body: Body::Response(r),
        };
        self.queue(from, &reply);
    }

    /// The first `k` of `nodes` other than the requester itself.
    fn others(mut nodes: Vec<NodeInfo>, from: SocketAddr, k: usize) -> Vec<NodeInfo> {
        nodes.retain(|n| n.addr != from);
        nodes.truncate(k);
        nodes
    }

    /// The k closest nodes of each family wanted (by default the requester's own).
    fn add_nodes(&self, r: &mut Response, target: &NodeId, want: Want, from: SocketAddr) {
        let want = if want.v4 || want.v6 {
            want
        } else {
            Want {
                v4: from.is_ipv4(),
                v6: from.is_ipv6(),
            }
        };
        let k = self.cfg.k;
        if want.v4 {
            if let Some(t) = &self.v4 {
                r.nodes = Self::others(t.closest(target, k + 1), from, k);
            }
        }
        if want.v6 {
            if let Some(t) = &self.v6 {
                r.nodes6 = Self::others(t.closest(target, k + 1), from, k);
            }
        }
    }
}
