//! What comes back for our requests: answers (nodes for the walks, peers and items for
//! the caller, our address as the node sees it), errors, and silence (timeouts).

use crate::compact::NodeInfo;
use crate::dht::{Dht, Purpose, Request};
use crate::event::{Event, LookupId};
use crate::id::NodeId;
use crate::item::{verify, MutableItem};
use crate::krpc::{ErrorBody, Response, Tid};
use crate::lookup::Kind;
use sha1::{Digest, Sha1};
use std::net::SocketAddr;
use std::time::Instant;

impl Dht {
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

    pub(super) fn walk_answer(&mut self, id: LookupId, from: SocketAddr, r: Response) {
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
    pub(super) fn apply_answer(&mut self, id: LookupId, r: Response) {
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
    pub(super) fn finish_now(&mut self, id: LookupId) {
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
}
