//! A deterministic in-process swarm simulator for the shoal engine.
//!
//! Many sans-IO [`shoal_engine::Torrent`]s talk to each other over a seeded link model on a
//! virtual clock. Nothing sleeps and nothing touches the network: node addresses are labels,
//! messages are `shoal_wire::Message` values passed by value, storage is in memory. A run is
//! a function of its seed, so a failing seed replays exactly.
//!
//! # Driving
//! Events (message delivered, handshake done, timer fired, piece hashed...) sit in one binary
//! heap ordered by virtual time, ties broken by insertion order. Each event is one engine
//! call, followed by the engine's drain order: `poll_action` until `None`, then
//! `poll_timeout`. Actions never call back into an engine directly; their answers are
//! queued events (see [`model`] for the link timing, and `driver.rs`).
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
//! 2 round trips after dialing. A refused handshake reaches the dialer as
//! `handle_connect_failed`; `Action::Disconnect` reaches the other side as
//! `handle_peer_closed` after the path latency.
//!
//! Hostile nodes: [`Behaviour::Corrupt`] serves flipped bytes, [`Behaviour::Silent`] never
//! serves what it is asked for. Churn: [`Swarm::take_offline`]
//! and adding nodes while the swarm runs.

mod conn;
pub mod content;
mod driver;
mod events;
pub mod model;
mod node;
mod outcome;
mod queue;
mod storage;
mod swarm;
mod view;

pub use content::{Content, ContentError, ContentSpec};
pub use model::Link;
pub use node::{Behaviour, NodeId, NodeLog, NodeSpec, Role};
pub use outcome::{Anomaly, Limits, Outcome, StopReason};
pub use storage::Fidelity;
pub use swarm::{Discovery, Swarm, SwarmConfig};
pub use view::NodeView;
