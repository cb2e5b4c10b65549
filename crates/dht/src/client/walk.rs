//! Driving the walks of running lookups (alpha queries at a time), then the stores of
//! announce and put, and the end of a lookup.

use super::RecentWalk;
use crate::compact::NodeInfo;
use crate::dht::{Dht, Purpose};
use crate::event::{Event, LookupId};
use crate::krpc::{Method, MutableFields, PutArgs};
use crate::lookup::{CandState, Kind};
use std::time::Instant;

/// Finished walks remembered for token reuse.
const MAX_RECENT: usize = 32;

impl Dht {
    /// Sends what each walk may send; ends the walks that are over.
    pub(crate) fn drive_lookups(&mut self, now: Instant) {
        let ids: Vec<LookupId> = self.lookups.keys().copied().collect();
        for id in ids {
            self.drive(now, id);
        }
    }

    pub(super) fn drive(&mut self, now: Instant, id: LookupId) {
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
                        c.state = CandState::Fresh;
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
    pub(super) fn remember(&mut self, now: Instant, id: LookupId) {
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
    pub(super) fn store(&mut self, now: Instant, id: LookupId, storers: Vec<(NodeInfo, Vec<u8>)>) {
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

    pub(super) fn finish(&mut self, now: Instant, id: LookupId) {
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
}
