//! The routing table of one address family (BEP 5): k-buckets over the 160-bit id space,
//! the bucket holding our own id split when full, so we know many nodes near us and a few
//! far away.
//!
//! A node is *good* when it answered us within the last 15 minutes (or answered once and
//! queried us since) and has not failed since, *bad* after two failed requests in a row,
//! *questionable* otherwise. A full bucket replaces bad nodes first; else the newcomer
//! waits in the bucket's replacement cache and the table asks the caller to ping the
//! stalest questionable node: if that ping fails twice the node is bad and the freshest
//! replacement takes its place. Every bucket holds at most k nodes and k replacements, and
//! there are at most 160 buckets, so the table is bounded.

use crate::compact::NodeInfo;
use crate::id::NodeId;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// How long an answer keeps a node good (BEP 5).
pub(crate) const GOOD_FOR: Duration = Duration::from_secs(15 * 60);
/// Failed requests in a row that make a node bad.
const BAD_AFTER_FAILURES: u8 = 2;

#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub(crate) info: NodeInfo,
    /// Last answer from it, or query from it after it had answered once.
    last_seen: Instant,
    /// It has answered at least one of our requests.
    responded: bool,
    failures: u8,
}

impl Entry {
    fn is_good(&self, now: Instant) -> bool {
        self.responded
            && self.failures == 0
            && now.saturating_duration_since(self.last_seen) < GOOD_FOR
    }

    fn is_bad(&self) -> bool {
        self.failures >= BAD_AFTER_FAILURES
    }
}

#[derive(Debug)]
struct Bucket {
    nodes: Vec<Entry>,
    replacements: Vec<Entry>,
    /// Last time a node was added or answered: a bucket untouched for 15 min is refreshed.
    last_changed: Instant,
}

impl Bucket {
    fn new(now: Instant) -> Self {
        Bucket {
            nodes: Vec::new(),
            replacements: Vec::new(),
            last_changed: now,
        }
    }
}

/// What happened to a node offered to the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Offer {
    /// It is in the table (new or refreshed).
    Added,
    /// The bucket is full: it waits as a replacement; ping this node to see if it is alive.
    Full {
        /// The stalest questionable node of the bucket, if one should be pinged.
        ping: Option<NodeInfo>,
    },
    /// Refused: our own id, or an id already known at another address (or the reverse).
    Refused,
}

/// One family's routing table.
#[derive(Debug)]
pub(crate) struct Table {
    own: NodeId,
    k: usize,
    buckets: Vec<Bucket>,
}

impl Table {
    pub(crate) fn new(own: NodeId, k: usize, now: Instant) -> Self {
        Table {
            own,
            k,
            buckets: vec![Bucket::new(now)],
        }
    }

    fn index(&self, id: &NodeId) -> usize {
        self.own.common_prefix_len(id).min(self.buckets.len() - 1)
    }

    pub(crate) fn len(&self) -> usize {
        self.buckets.iter().map(|b| b.nodes.len()).sum()
    }

    /// Offers a node that answered us (`responded`) or queried us.
    pub(crate) fn offer(&mut self, now: Instant, info: NodeInfo, responded: bool) -> Offer {
        if info.id == self.own {
            return Offer::Refused;
        }
        loop {
            let k = self.k;
            let count = self.buckets.len();
            let i = self.index(&info.id);
            let bucket = &mut self.buckets[i];
            if let Some(e) = bucket.nodes.iter_mut().find(|e| e.info.id == info.id) {
                if e.info.addr != info.addr {
                    return Offer::Refused;
                }
                if responded {
                    e.responded = true;
                    e.failures = 0;
                    e.last_seen = now;
                    bucket.last_changed = now;
                } else if e.responded {
                    e.last_seen = now;
                }
                return Offer::Added;
            }
            if bucket.nodes.iter().any(|e| e.info.addr == info.addr) {
                return Offer::Refused;
            }
            let entry = Entry {
                info,
                last_seen: now,
                responded,
                failures: 0,
            };
            if bucket.nodes.len() < k {
                bucket.nodes.push(entry);
                bucket.last_changed = now;
                return Offer::Added;
            }
            if let Some(bad) = bucket.nodes.iter().position(Entry::is_bad) {
                bucket.nodes[bad] = entry;
                bucket.last_changed = now;
                return Offer::Added;
            }
            if i == count - 1 && count < 160 {
                self.split(now);
                continue;
            }
            // Full: keep it as a replacement (the freshest k), ping the stalest doubtful one.
            bucket
                .replacements
                .retain(|e| e.info.id != info.id && e.info.addr != info.addr);
            if bucket.replacements.len() >= k {
                bucket.replacements.remove(0);
            }
            bucket.replacements.push(entry);
            let ping = bucket
                .nodes
                .iter()
                .filter(|e| !e.is_good(now))
                .min_by_key(|e| e.last_seen)
                .map(|e| e.info);
            return Offer::Full { ping };
        }
    }

    /// Moves the nodes that share one more bit with our id into a new last bucket.
    fn split(&mut self, now: Instant) {
        let depth = self.buckets.len();
        let own = self.own;
        let old = self.buckets.last_mut().expect("at least one bucket");
        let mut fresh = Bucket::new(now);
        let deeper = |e: &Entry| own.common_prefix_len(&e.info.id) >= depth;
        fresh.nodes = old.nodes.iter().filter(|e| deeper(e)).cloned().collect();
        old.nodes.retain(|e| !deeper(e));
        fresh.replacements = old
            .replacements
            .iter()
            .filter(|e| deeper(e))
            .cloned()
            .collect();
        old.replacements.retain(|e| !deeper(e));
        self.buckets.push(fresh);
    }

    /// A request to `addr` went unanswered. Returns whether the node was in the table.
    pub(crate) fn failed(&mut self, addr: &SocketAddr, id: Option<&NodeId>) -> bool {
        let Some(i) = self.bucket_of(addr, id) else {
            return false;
        };
        let bucket = &mut self.buckets[i];
        let Some(pos) = bucket.nodes.iter().position(|e| e.info.addr == *addr) else {
            return false;
        };
        let e = &mut bucket.nodes[pos];
        e.failures = e.failures.saturating_add(1);
        if e.is_bad() {
            if let Some(r) = bucket.replacements.pop() {
                bucket.nodes[pos] = r;
            }
        }
        true
    }

    fn bucket_of(&self, addr: &SocketAddr, id: Option<&NodeId>) -> Option<usize> {
        match id {
            Some(id) => Some(self.index(id)),
            None => self
                .buckets
                .iter()
                .position(|b| b.nodes.iter().any(|e| e.info.addr == *addr)),
        }
    }

    /// The `n` nodes closest to `target` that are not bad.
    pub(crate) fn closest(&self, target: &NodeId, n: usize) -> Vec<NodeInfo> {
        // Distances computed once per node, not once per comparison.
        let mut all: Vec<([u8; 20], NodeInfo)> = self
            .buckets
            .iter()
            .flat_map(|b| b.nodes.iter())
            .filter(|e| !e.is_bad())
            .map(|e| (e.info.id.distance(target), e.info))
            .collect();
        all.sort_unstable_by_key(|(d, _)| *d);
        all.into_iter().take(n).map(|(_, info)| info).collect()
    }

    /// The good nodes (for saving the table).
    pub(crate) fn good(&self, now: Instant) -> impl Iterator<Item = &NodeInfo> + '_ {
        self.buckets
            .iter()
            .flat_map(|b| b.nodes.iter())
            .filter(move |e| e.is_good(now))
            .map(|e| &e.info)
    }

    /// A target in the range of each bucket holding fewer than k nodes, except the last
    /// (the walk to our own id covers that one).
    pub(crate) fn sparse_targets(&self, random: &mut dyn FnMut() -> [u8; 20]) -> Vec<NodeId> {
        let last = self.buckets.len() - 1;
        (0..last)
            .filter(|&i| self.buckets[i].nodes.len() < self.k)
            .map(|i| self.own.with_random_suffix(i, &random()))
            .collect()
    }

    /// Targets for buckets untouched for `after` (an id in each such bucket's range),
    /// marking them touched; and, per bucket, the stalest node that is not good, to ping.
    pub(crate) fn maintenance(
        &mut self,
        now: Instant,
        after: Duration,
        random: &mut dyn FnMut() -> [u8; 20],
    ) -> (Vec<NodeId>, Vec<NodeInfo>) {
        let mut refresh = Vec::new();
        let mut ping = Vec::new();
        for (i, b) in self.buckets.iter_mut().enumerate() {
            if now.saturating_duration_since(b.last_changed) >= after {
                b.last_changed = now;
                refresh.push(self.own.with_random_suffix(i, &random()));
            }
            if let Some(e) = b
                .nodes
                .iter()
                .filter(|e| !e.is_good(now) && !e.is_bad())
                .min_by_key(|e| e.last_seen)
            {
                ping.push(e.info);
            }
        }
        (refresh, ping)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(first: u8, n: u8) -> NodeInfo {
        let mut id = [n; 20];
        id[0] = first;
        NodeInfo {
            id: NodeId(id),
            addr: SocketAddr::from(([10, first, 0, n], 6881)),
        }
    }

    #[test]
    fn splits_near_us_and_stays_bounded() {
        let now = Instant::now();
        let mut t = Table::new(NodeId([0; 20]), 8, now);
        // 20 nodes far away (first bit 1): one bucket of 8, the rest replacements.
        for n in 0..20 {
            let _ = t.offer(now, node(0x80, n + 1), true);
        }
        // Nodes near us split the own bucket.
        for n in 0..20 {
            let _ = t.offer(now, node(0x01, n + 1), true);
        }
        assert!(t.buckets.len() > 1);
        assert_eq!(t.buckets[0].nodes.len(), 8);
        assert!(t
            .buckets
            .iter()
            .all(|b| b.nodes.len() <= 8 && b.replacements.len() <= 8));
        assert_eq!(
            t.offer(
                now,
                NodeInfo {
                    id: NodeId([0; 20]),
                    addr: node(1, 1).addr
                },
                true
            ),
            Offer::Refused
        );
    }

    #[test]
    fn failing_nodes_are_replaced() {
        let now = Instant::now();
        let mut t = Table::new(NodeId([0; 20]), 2, now);
        for n in 1..=8 {
            let _ = t.offer(now, node(0x80, n), true);
        }
        let victim = t.buckets[0].nodes[0].info;
        assert!(t.failed(&victim.addr, Some(&victim.id)));
        assert!(t.failed(&victim.addr, Some(&victim.id)));
        assert!(!t.buckets[0].nodes.iter().any(|e| e.info.id == victim.id));
        assert_eq!(t.buckets[0].nodes.len(), 2);
    }

    #[test]
    fn closest_sorts_by_distance() {
        let now = Instant::now();
        let mut t = Table::new(NodeId([0; 20]), 8, now);
        for n in 1..=6 {
            let _ = t.offer(now, node(n * 16, n), true);
        }
        let c = t.closest(&NodeId([0x10; 20]), 2);
        assert_eq!(c[0].id.0[0], 0x10);
    }
}
