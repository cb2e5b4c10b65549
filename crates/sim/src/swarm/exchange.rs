//! The hand-over between shards: giving them the shared context to work with, then moving
//! the events each scheduled for another's nodes into that one's queue, numbering new
//! connections and gathering completions and anomalies, all in an order that does not
//! depend on how the nodes are spread over shards.

use super::Swarm;
use crate::node::NodeId;
use crate::queue::Event;
use crate::shard::{Ctx, Shard};

/// Most anomalies kept in full; later ones are only counted.
const MAX_KEPT_ANOMALIES: usize = 1000;

impl Swarm {
    /// Runs `f` on all shards with the shared context, then hands over what they produced.
    pub(super) fn with_shards<R>(&mut self, f: impl FnOnce(&mut [Shard], &Ctx) -> R) -> R {
        let Swarm {
            shards,
            content,
            config,
            clock,
            infos,
            by_addr,
            trace,
            now,
            ..
        } = self;
        let cx = Ctx {
            content,
            config,
            clock: *clock,
            infos,
            by_addr,
            trace: *trace,
        };
        for s in shards.iter_mut() {
            s.now = *now;
        }
        let r = f(shards, &cx);
        self.collect();
        r
    }

    /// Runs `f` on the shard of `node`, as that node's doing.
    pub(super) fn with_node<R>(
        &mut self,
        node: NodeId,
        f: impl FnOnce(&mut Shard, &Ctx) -> R,
    ) -> R {
        let k = self.shards.len();
        self.with_shards(|shards, cx| {
            let shard = &mut shards[node.index() % k];
            shard.src = node;
            f(shard, cx)
        })
    }

    /// Numbers the connections dialed since last time, moves events scheduled for other
    /// shards to their queues and gathers the shards' completions and anomalies (in time
    /// order, then by node, whatever the shards).
    fn collect(&mut self) {
        let k = self.shards.len();
        let mut found = Vec::new();
        for s in &mut self.shards {
            self.incomplete -= s.completed;
            s.completed = 0;
            self.transit.append(&mut s.dials);
            self.anomaly_count += s.anomaly_count;
            s.anomaly_count = 0;
            found.append(&mut s.anomalies);
        }
        // Each shard's outbox for another becomes that one's inbox (the emptied inbox
        // becomes the outbox, keeping both allocations); the shard takes it in on its own
        // thread.
        for from in 0..k {
            for to in (0..k).filter(|&to| to != from) {
                let mut sent = std::mem::take(&mut self.shards[from].outbox[to]);
                let inbox = &mut self.shards[to].inbox[from];
                if inbox.is_empty() {
                    std::mem::swap(inbox, &mut sent);
                } else {
                    // Not taken in yet (nodes added or taken offline between runs).
                    inbox.append(&mut sent);
                }
                self.shards[from].outbox[to] = sent;
                let min = std::mem::replace(&mut self.shards[from].outbox_min[to], u64::MAX);
                let to = &mut self.shards[to];
                to.inbox_min = to.inbox_min.min(min);
            }
        }
        self.number_dials();
        for item in self.transit.drain(..) {
            self.shards[item.event.target().index() % k]
                .queue
                .push(item);
        }
        if !found.is_empty() {
            found.sort_by_key(|a| (a.at, a.node));
            let room = MAX_KEPT_ANOMALIES.saturating_sub(self.anomalies.len());
            self.anomalies.extend(found.into_iter().take(room));
        }
    }

    /// Hands out connection indices to the dials in `transit`, in the order they were made
    /// (the order one global queue would have made them in).
    fn number_dials(&mut self) {
        let mut dials: Vec<(u64, u64, u64, usize)> = self
            .transit
            .iter()
            .enumerate()
            .filter_map(|(i, item)| match item.event {
                Event::Dial {
                    dialed_at, cause, ..
                } => Some((dialed_at, cause, item.tie, i)),
                _ => None,
            })
            .collect();
        dials.sort_unstable();
        for (_, _, _, i) in dials {
            if let Event::Dial { conn, .. } = &mut self.transit[i].event {
                *conn = self.conns;
                self.conns += 1;
            }
        }
    }
}
