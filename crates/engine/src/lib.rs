//! The sans-IO BitTorrent engine: one [`Torrent`] state machine per torrent, holding the
//! piece picker, the choker and the state of every connected peer.
//!
//! It is driven, it never drives: the runtime feeds it inputs (`handle_*`, each with the
//! current time) and after each one drains its outputs, [`Torrent::poll_action`] until
//! `None`, then [`Torrent::poll_timeout`]. The contract (which action asks for what, and
//! which input answers it) and a doc-test of the loop are on [`Torrent`].
//!
//! The engine never reads a clock, never touches a socket or a file, and draws randomness
//! only from its seeded [`shoal_core::Rng`], so a simulation repeats exactly for its seed.
#![warn(missing_docs, unreachable_pub)]
#![forbid(unsafe_code)]

mod action;
mod choker;
mod config;
mod fast;
mod holepunch;
mod metadata;
mod peer;
mod peer_table;
mod picker;
mod shared;
mod torrent;

#[cfg(test)]
mod properties;

pub use action::{Action, DisconnectReason};
pub use config::Config;
pub use shared::{our_reserved_bits, PeerKey, PeerSource};
pub use torrent::{Stats, Torrent};
