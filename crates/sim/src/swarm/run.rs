//! Running the swarm: the loop that advances the virtual clock window by window until a
//! stop condition holds, and the threads that work through one window's events.

use super::Swarm;
use crate::outcome::{Limits, Outcome, StopReason};
use crate::shard::Shard;
use std::sync::Mutex;
use std::time::{Duration, Instant};

impl Swarm {
    /// Runs until `done` holds, the virtual clock has advanced by `max_time`, the default
    /// event budget is spent, or nothing is left to do. `done` is checked before every
    /// event, so keep it cheap ([`Swarm::all_complete`] is O(1)).
    pub fn run_until(&mut self, done: impl FnMut(&Swarm) -> bool, max_time: Duration) -> Outcome {
        let events = self.config.max_events;
        self.run_with(
            done,
            Limits {
                time: max_time,
                events,
            },
        )
    }

    /// Runs in windows of virtual time no longer than the shortest path latency, the shards
    /// side by side (see the crate doc); `done` and the event budget are checked between
    /// windows, so a run may go up to one window past the moment `done` first holds. With a
    /// zero-latency path there is no window: events go one at a time and `done` is checked
    /// before each.
    pub fn run_with(&mut self, mut done: impl FnMut(&Swarm) -> bool, limits: Limits) -> Outcome {
        self.start();
        let deadline = self
            .now
            .saturating_add(u64::try_from(limits.time.as_nanos()).unwrap_or(u64::MAX));
        let budget_end = self.events().saturating_add(limits.events);
        let lookahead = self.lookahead();
        let stop = loop {
            if done(self) {
                break StopReason::Done;
            }
            if self.events() >= budget_end {
                break StopReason::EventLimit;
            }
            if lookahead == 0 || self.trace {
                // Events go in global order on this thread: every shard's must be queued.
                for s in &mut self.shards {
                    s.intake();
                }
            }
            let next = self.shards.iter_mut().filter_map(Shard::next_time).min();
            match next {
                None => break StopReason::Idle,
                Some(at) if at > deadline => {
                    self.now = deadline;
                    break StopReason::TimeLimit;
                }
                Some(at) if lookahead == 0 => {
                    self.now = self.now.max(at);
                    self.with_shards(|shards, cx| {
                        if let Some((_, first)) = shards
                            .iter_mut()
                            .enumerate()
                            .filter_map(|(i, s)| s.queue.peek_order().map(|o| (o, i)))
                            .min()
                        {
                            shards[first].step(cx);
                        }
                    });
                }
                Some(at) => {
                    let end = at.saturating_add(lookahead).min(deadline.saturating_add(1));
                    self.run_window(end);
                }
            }
        };
        self.outcome(stop)
    }

    /// Handles every event due before `end`: threads take shards one by one until none is
    /// left (so a thread the machine slows down takes fewer), or, when tracing, in global
    /// order on this thread (so the trace reads in order).
    fn run_window(&mut self, end: u64) {
        let trace = self.trace;
        let mut busy = std::mem::take(&mut self.busy);
        self.with_shards(|shards, cx| {
            if trace {
                while let Some((_, i)) = shards
                    .iter_mut()
                    .enumerate()
                    .filter_map(|(i, s)| s.queue.peek_order().map(|o| (o, i)))
                    .filter(|((at, _), _)| *at < end)
                    .min()
                {
                    shards[i].step(cx);
                }
            } else if let [only] = shards {
                let started = Instant::now();
                only.run_window(cx, end);
                busy[0] += started.elapsed();
            } else {
                // The largest shards first, so that the last ones to be taken are small.
                let mut order: Vec<&mut Shard> = shards.iter_mut().collect();
                order.sort_by_cached_key(|s| std::cmp::Reverse(s.pending()));
                let work = Mutex::new(order.into_iter());
                let run = || {
                    let started = Instant::now();
                    // A poisoned lock means another thread panicked: stop, its join re-raises.
                    while let Some(shard) = work.lock().ok().and_then(|mut w| w.next()) {
                        shard.run_window(cx, end);
                    }
                    started.elapsed()
                };
                std::thread::scope(|scope| {
                    let others: Vec<_> = (1..busy.len()).map(|_| scope.spawn(run)).collect();
                    busy[0] += run();
                    for (total, thread) in busy[1..].iter_mut().zip(others) {
                        *total += thread
                            .join()
                            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
                    }
                });
            }
        });
        self.busy = busy;
        self.now = self.shards.iter().map(|s| s.now).fold(self.now, u64::max);
    }

    /// The shortest one-way path latency between two nodes: how far apart in virtual time
    /// two events must be for one to possibly cause the other on another node.
    fn lookahead(&self) -> u64 {
        let mut lowest = [u64::MAX; 2];
        for info in &self.infos {
            let l = u64::try_from(info.spec.link.latency.as_nanos()).unwrap_or(u64::MAX / 8);
            if l < lowest[0] {
                lowest = [l, lowest[0]];
            } else if l < lowest[1] {
                lowest[1] = l;
            }
        }
        if lowest[1] == u64::MAX {
            return 0;
        }
        lowest[0] + lowest[1]
    }

    fn outcome(&self, stop: StopReason) -> Outcome {
        Outcome {
            stop,
            time: Duration::from_nanos(self.now),
            events: self.events(),
            completed: self
                .node_ids()
                .map(|n| self.node(n).completed_at())
                .collect(),
            anomalies: self.anomaly_count,
        }
    }
}
