//! A deterministic in-process swarm simulator for the shoal engine.
//!
//! Many sans-IO [`shoal_engine::Torrent`]s talk to each other over a seeded link model on a
//! virtual clock. Nothing sleeps and nothing touches the network: node addresses are labels,
//! messages are `shoal_wire::Message` values passed by value, storage is in memory. A run is
//! a function of its seed, so a failing seed replays exactly.
//!
//! # Driving
//! Events (message delivered, handshake done, timer fired, piece hashed...) are ordered by
//! virtual time, ties broken by the node that scheduled them and its own count of scheduled
//! events. Each event is one engine call, followed by the engine's drain order:
//! `poll_action` until `None`, then `poll_timeout`. Performing an action never calls back into an engine; answers are
//! queued events (see [`model`] for the link timing, and `driver.rs`). The one exception is
//! `handle_block_sent` for blocks the drain put on the wire: it is made once the drain's
//! actions are performed, and the drain goes round again.
//!
//! Storage is in memory; [`Fidelity::Exact`] gives every node its own verified copy (tests),
//! [`Fidelity::Fast`] shares the original and skips hashing of data known to be intact
//! (benchmarks with thousands of nodes). Engine contract violations (a send on a closed
//! connection, a read of a missing piece...) are recorded as [`Anomaly`]s, not panics.
//!
//! Threads: [`SwarmConfig::threads`] spreads the nodes over that many shards, each with its
//! own calendar queue, which run side by side in windows of virtual time shorter than the
//! shortest path latency (no node can affect another within one); see `shard.rs`. The result
//! is the same for any number of threads.
//!
//! The `sim` binary runs one swarm from the command line and prints completion times
//! against the theoretical bound (`cargo run --release -p shoal-sim --bin sim -- --help`).
//!
//! # Using it
//! ```no_run
//! use shoal_sim::{Link, Swarm};
//! use std::time::Duration;
//! let mut swarm = Swarm::new(1);
//! swarm.add_seeder(Link::default());
//! for _ in 0..20 {
//!     swarm.add_leecher(Link::default());
//! }
//! let outcome = swarm.run_until(|s| s.all_complete(), Duration::from_secs(3600));
//! assert!(outcome.is_done());
//! ```
//!
//! Connections: `Action::Connect` reaches the listener after 1.5 round trips (its engine
//! gets `handle_peer_connected`, inbound, with the dialer's listen address), and the dialer
//! 2 round trips after dialing. A refused handshake (the engine's `Disconnect` for the new
//! key, queued by `handle_peer_connected`) reaches the dialer as `handle_connect_failed`; `Action::Disconnect` reaches the other side as
//! `handle_peer_closed` after the path latency. The two ends learn of each other only
//! through these events: a listener that drops a connection before its handshake reaches
//! the dialer is seen by the dialer as connecting, then closing.
//!
//! Hostile nodes: [`Behaviour::Corrupt`] serves flipped bytes, [`Behaviour::Silent`] never
//! serves what it is asked for. Churn: [`Swarm::take_offline`] and adding nodes while the
//! swarm runs.

#![warn(missing_docs, unreachable_pub)]
#![forbid(unsafe_code)]

mod calendar;
mod conn;
pub mod content;
mod driver;
mod events;
mod heap;
pub mod model;
mod node;
mod outcome;
mod queue;
mod shard;
mod storage;
mod swarm;
mod view;

pub use content::{Content, ContentError, ContentSpec};
pub use model::Link;
pub use node::{Behaviour, NodeId, NodeLog, NodeSpec, Role, ServeLog};
pub use outcome::{Anomaly, Limits, Outcome, StopReason};
pub use storage::Fidelity;
pub use swarm::{Discovery, Swarm, SwarmConfig};
pub use view::NodeView;
