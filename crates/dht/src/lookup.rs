//! The state of one iterative lookup (BEP 5): per address family a *walk*, the candidates
//! nearest the target ordered by distance, queried alpha at a time, closer nodes from each
//! answer joining the walk. A walk is done when the k closest candidates that did not fail
//! have all answered. Pure bookkeeping: [`crate::client`] sends the queries.

use crate::compact::NodeInfo;
use crate::event::LookupOutcome;
use crate::id::NodeId;
use crate::item::MutableItem;
use std::collections::BTreeSet;
use std::net::SocketAddr;

/// Candidates kept per walk at most (the closest; farther ones are forgotten).
const MAX_CANDIDATES: usize = 64;
/// Distinct peers remembered per lookup to report each once; beyond it peers may repeat.
const MAX_SEEN_PEERS: usize = 2000;

/// What a lookup is for.
#[derive(Debug, Clone)]
pub(crate) enum Kind {
    /// find_node walk: bootstrap (reported) or bucket refresh (silent).
    FindNode { report: bool },
    /// get_peers walk.
    GetPeers,
    /// get_peers walk, then announce_peer (`None`: implied port).
    Announce { port: Option<u16> },
    /// BEP 44 get of an immutable item.
    GetImmutable,
    /// BEP 44 get of a mutable item; `best` is the newest seq reported.
    GetMutable {
        key: [u8; 32],
        salt: Vec<u8>,
        best: Option<i64>,
    },
    /// BEP 44 get walk, then put.
    Put {
        value: Vec<u8>,
        item: Option<(MutableItem, Option<i64>)>,
    },
}

impl Kind {
    pub(crate) fn stores(&self) -> bool {
        matches!(self, Kind::Announce { .. } | Kind::Put { .. })
    }

    pub(crate) fn reported(&self) -> bool {
        !matches!(self, Kind::FindNode { report: false })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CandState {
    Fresh,
    InFlight,
    Answered,
    Failed,
}

#[derive(Debug, Clone)]
pub(crate) struct Candidate {
    /// Unknown for bootstrap nodes until they answer.
    pub(crate) id: Option<NodeId>,
    pub(crate) addr: SocketAddr,
    pub(crate) state: CandState,
    pub(crate) token: Option<Vec<u8>>,
    /// Distance to the target, the sort key; zero for an unknown id, so bootstrap nodes
    /// are asked before anything else.
    key: [u8; 20],
}

fn key(id: Option<NodeId>, target: &NodeId) -> [u8; 20] {
    id.map_or([0; 20], |id| id.distance(target))
}

/// One family's walk.
#[derive(Debug)]
pub(crate) struct Walk {
    pub(crate) v6: bool,
    pub(crate) candidates: Vec<Candidate>,
}

impl Walk {
    pub(crate) fn new(v6: bool) -> Self {
        Walk {
            v6,
            candidates: Vec::new(),
        }
    }

    /// Adds a candidate unless its address or id is already there.
    pub(crate) fn add(&mut self, target: &NodeId, id: Option<NodeId>, addr: SocketAddr) {
        if self
            .candidates
            .iter()
            .any(|c| c.addr == addr || (id.is_some() && c.id == id))
        {
            return;
        }
        let key = key(id, target);
        let cand = Candidate {
            id,
            addr,
            state: CandState::Fresh,
            token: None,
            key,
        };
        let at = self.candidates.partition_point(|c| c.key <= key);
        if at >= MAX_CANDIDATES {
            return;
        }
        self.candidates.insert(at, cand);
        // Drop the farthest, but never one we are waiting for (its answer is still due).
        while self.candidates.len() > MAX_CANDIDATES {
            match self
                .candidates
                .iter()
                .rposition(|c| c.state != CandState::InFlight)
            {
                Some(i) => {
                    self.candidates.remove(i);
                }
                None => break,
            }
        }
    }

    /// Records an answer (its id now known: the candidate moves to its place).
    pub(crate) fn answered(
        &mut self,
        target: &NodeId,
        addr: &SocketAddr,
        id: NodeId,
        token: Option<Vec<u8>>,
    ) {
        if let Some(i) = self.candidates.iter().position(|c| c.addr == *addr) {
            let mut c = self.candidates.remove(i);
            c.state = CandState::Answered;
            c.id = Some(id);
            c.token = token;
            c.key = key(c.id, target);
            let at = self.candidates.partition_point(|o| o.key <= c.key);
            self.candidates.insert(at, c);
        }
    }

    pub(crate) fn failed(&mut self, addr: &SocketAddr) {
        if let Some(c) = self.candidates.iter_mut().find(|c| c.addr == *addr) {
            c.state = CandState::Failed;
        }
    }

    /// The k closest candidates that have not failed.
    fn closest_alive(&self, k: usize) -> impl Iterator<Item = &Candidate> + '_ {
        self.candidates
            .iter()
            .filter(|c| c.state != CandState::Failed)
            .take(k)
    }

    /// Next candidates to query: fresh ones among the k closest alive, while fewer than
    /// alpha are in flight. Marks them in flight.
    pub(crate) fn next_queries(&mut self, k: usize, alpha: usize) -> Vec<SocketAddr> {
        let in_flight = self
            .candidates
            .iter()
            .filter(|c| c.state == CandState::InFlight)
            .count();
        let picks: Vec<SocketAddr> = self
            .closest_alive(k)
            .filter(|c| c.state == CandState::Fresh)
            .take(alpha.saturating_sub(in_flight))
            .map(|c| c.addr)
            .collect();
        for c in self
            .candidates
            .iter_mut()
            .filter(|c| picks.contains(&c.addr))
        {
            c.state = CandState::InFlight;
        }
        picks
    }

    /// Done when the k closest alive candidates have all answered.
    pub(crate) fn is_done(&self, k: usize) -> bool {
        self.closest_alive(k)
            .all(|c| c.state == CandState::Answered)
    }

    /// The k closest that answered with a token, for storing.
    pub(crate) fn storers(&self, k: usize) -> Vec<(NodeInfo, Vec<u8>)> {
        self.candidates
            .iter()
            .filter(|c| c.state == CandState::Answered)
            .filter_map(|c| {
                Some((
                    NodeInfo {
                        id: c.id?,
                        addr: c.addr,
                    },
                    c.token.clone()?,
                ))
            })
            .take(k)
            .collect()
    }
}

/// A running lookup.
#[derive(Debug)]
pub(crate) struct Lookup {
    pub(crate) target: NodeId,
    pub(crate) kind: Kind,
    pub(crate) walks: Vec<Walk>,
    /// Stores sent and not yet answered; `Some` once the walk is over and storing began.
    pub(crate) storing: Option<usize>,
    pub(crate) outcome: LookupOutcome,
    pub(crate) seen_peers: BTreeSet<SocketAddr>,
}

impl Lookup {
    pub(crate) fn new(target: NodeId, kind: Kind) -> Self {
        Lookup {
            target,
            kind,
            walks: Vec::new(),
            storing: None,
            outcome: LookupOutcome::default(),
            seen_peers: BTreeSet::new(),
        }
    }

    pub(crate) fn walk_mut(&mut self, v6: bool) -> Option<&mut Walk> {
        self.walks.iter_mut().find(|w| w.v6 == v6)
    }

    /// Peers not reported yet by this lookup.
    pub(crate) fn new_peers(&mut self, peers: &[SocketAddr]) -> Vec<SocketAddr> {
        let mut out = Vec::new();
        for p in peers {
            if self.seen_peers.contains(p) {
                continue;
            }
            if self.seen_peers.len() < MAX_SEEN_PEERS {
                self.seen_peers.insert(*p);
            }
            out.push(*p);
        }
        self.outcome.peers = self.seen_peers.len();
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(n: u8) -> SocketAddr {
        SocketAddr::from(([10, 0, 0, n], 1000))
    }

    #[test]
    fn walk_queries_alpha_and_finishes_when_k_closest_answered() {
        let target = NodeId([0; 20]);
        let mut w = Walk::new(false);
        for n in 1..=10u8 {
            w.add(&target, Some(NodeId([n; 20])), addr(n));
        }
        w.add(&target, Some(NodeId([1; 20])), addr(99)); // same id: ignored
        assert_eq!(w.candidates.len(), 10);
        let first = w.next_queries(4, 3);
        assert_eq!(first, vec![addr(1), addr(2), addr(3)]);
        assert!(w.next_queries(4, 3).is_empty());
        w.answered(&target, &addr(1), NodeId([1; 20]), Some(vec![1]));
        w.failed(&addr(2));
        assert_eq!(w.next_queries(4, 3), vec![addr(4), addr(5)]);
        for n in [3, 4, 5] {
            w.answered(&target, &addr(n), NodeId([n; 20]), None);
        }
        assert!(w.is_done(4));
        assert_eq!(w.storers(4).len(), 1);
    }
}
