//! Housekeeping every few seconds: token rotation, expiry of stored peers and items,
//! refresh of stale buckets, pings of doubtful nodes, a new bootstrap while the tables are
//! nearly empty; and the refresh of sparse buckets after a bootstrap.

use crate::dht::{Dht, Purpose};
use crate::krpc::Method;
use crate::lookup::Kind;
use crate::rng::RandomBytes;
use std::time::{Duration, Instant};

/// A bootstrap is retried this often while the tables hold fewer than k nodes (its
/// datagrams may have been lost, or the bootstrap nodes were down).
const REBOOTSTRAP_EVERY: Duration = Duration::from_secs(15);

impl Dht {
    /// After a walk to our own id (bootstrap), a silent find_node in the range of every
    /// bucket that is not full: the own-id walk only meets nodes near us, and without this
    /// the far buckets would stay empty until nodes from there happen to query us, leaving
    /// lookups towards that half of the id space without a first hop.
    pub(super) fn refresh_sparse_buckets(&mut self, now: Instant) {
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
