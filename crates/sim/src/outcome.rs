//! What a run reports, and the limits that bound it.

use crate::node::NodeId;
use std::time::Duration;

/// Why a run stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    /// The caller's predicate became true.
    Done,
    /// The virtual-time budget ran out.
    TimeLimit,
    /// The event budget ran out (an engine that spins would end here).
    EventLimit,
    /// Nothing was left to happen: every engine is idle with no timer set.
    Idle,
}

/// Bounds for one call to [`crate::Swarm::run_with`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Virtual time this run may advance the clock by.
    pub time: Duration,
    /// Events this run may process.
    pub events: u64,
}

/// The result of a run. Two runs of the same swarm with the same seed give equal outcomes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// Why the run stopped: its condition held, or it ran out of time or events.
    pub stop: StopReason,
    /// Virtual time since the swarm started.
    pub time: Duration,
    /// Events processed since the swarm started.
    pub events: u64,
    /// Virtual time at which each node's engine reported completion, by node index.
    pub completed: Vec<Option<Duration>>,
    /// Contract violations seen so far (see [`crate::Anomaly`]).
    pub anomalies: usize,
}

impl Outcome {
    /// Whether the run stopped because its condition held (not a limit).
    pub fn is_done(&self) -> bool {
        self.stop == StopReason::Done
    }

    /// The latest completion among `nodes`, if all of them completed.
    pub fn last_completion<I: IntoIterator<Item = NodeId>>(&self, nodes: I) -> Option<Duration> {
        let mut last = Duration::ZERO;
        for n in nodes {
            last = last.max((*self.completed.get(n.index())?)?);
        }
        Some(last)
    }
}

/// Something an engine did that breaks its contract with the driver (sending on a closed
/// connection, reading a piece it does not have, verifying an incomplete piece...). The
/// simulator carries on and records it, so a test can show every violation at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Anomaly {
    /// Virtual time of the violation.
    pub at: Duration,
    /// The node whose engine broke the contract.
    pub node: NodeId,
    /// What it did, in words.
    pub what: String,
}
