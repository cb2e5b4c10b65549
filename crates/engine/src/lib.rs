//! The sans-IO BitTorrent engine: one [`Torrent`] state machine per torrent, holding the
//! piece picker, the choker and the state of every connected peer.
//!
//! It is driven, it never drives: the runtime feeds it events (`handle_*` with the current
//! time) and then drains its outputs in this order until both are empty:
//!
//! 1. [`Torrent::poll_action`] until `None`: messages to send, blocks to store or read,
//!    pieces to verify, peers to dial or drop;
//! 2. [`Torrent::poll_timeout`]: the next instant at which [`Torrent::handle_timeout`] must be
//!    called.
//!
//! The engine never reads a clock, never touches a socket or a file, and draws randomness
//! only from its seeded [`shoal_core::Rng`], so a simulation repeats exactly for its seed.

mod action;
mod choker;
mod config;
mod fast;
mod metadata;
mod peer;
mod peer_table;
mod picker;
mod torrent;

pub use action::{Action, DisconnectReason, PeerSource};
pub use choker::{Candidate, Choker};
pub use config::Config;
pub use picker::{BlockReceived, Picker};
pub use torrent::{our_reserved_bits, PeerKey, Stats, Torrent};
