//! Swarm-wide settings: the shared content, how nodes first learn of each other, the event
//! budget and the number of threads.

use crate::content::ContentSpec;
use crate::storage::Fidelity;
use shoal_engine::Config;

/// How nodes first learn about each other, applied when the swarm starts (and to nodes
/// added later, when they are added). Everything else is up to the engines (PEX).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Discovery {
    /// Every non-seeder is told every seeder's address (like a tracker that lists seeds).
    pub seeders: bool,
    /// Each node is also told this many other nodes, drawn at random.
    pub random: usize,
}

impl Default for Discovery {
    fn default() -> Discovery {
        Discovery {
            seeders: true,
            random: 5,
        }
    }
}

/// Swarm-wide settings.
#[derive(Debug, Clone, Copy)]
pub struct SwarmConfig {
    /// Size and piece length of the torrent the swarm shares.
    pub content: ContentSpec,
    /// Whether nodes keep and hash their own copies (tests) or share the original (benchmarks).
    pub fidelity: Fidelity,
    /// Which peers each new node is told about.
    pub discovery: Discovery,
    /// Adjusts every node's engine config (a node's own `tune` runs after it).
    pub tune: Option<fn(&mut Config)>,
    /// Event budget of [`Swarm::run_until`](crate::Swarm::run_until).
    pub max_events: u64,
    /// Threads a run may use (the nodes are spread over this many shards). A run's result
    /// does not depend on it.
    pub threads: usize,
}

impl Default for SwarmConfig {
    fn default() -> SwarmConfig {
        SwarmConfig {
            content: ContentSpec::default(),
            fidelity: Fidelity::Exact,
            discovery: Discovery::default(),
            tune: None,
            max_events: 50_000_000,
            threads: 1,
        }
    }
}
