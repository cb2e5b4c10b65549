//! Core BitTorrent types shared by every layer of shoal: info-hashes and peer ids, the
//! metainfo (`.torrent`) model with its exact info-hash, magnet links, piece/block
//! arithmetic, bitfields and torrent creation.
//!
//! Everything here is pure: no sockets, no clocks, no async runtime. The one exception is
//! [`create`], which reads the files being shared (on scoped threads) to hash them.
//!
//! Entry points: [`Metainfo::from_bytes`] for `.torrent` files, [`Info::from_bytes`] for
//! metadata received from peers, [`Magnet::parse`] / [`Magnet::to_uri`], and
//! [`create_torrent`] to share a file or folder.

#![warn(missing_docs, unreachable_pub)]
#![forbid(unsafe_code)]

pub mod bitfield;
pub mod create;
pub mod hash;
pub mod lengths;
pub mod magnet;
pub mod metainfo;
pub mod rng;
pub mod sanitize;

pub use bitfield::Bitfield;
pub use create::{auto_piece_length, create_torrent, CreateError, CreateOptions};
pub use hash::{InfoHash, PeerId};
pub use lengths::{BlockRef, Lengths, PieceIndex, BLOCK_SIZE};
pub use magnet::{Magnet, MagnetError};
pub use metainfo::{FileEntry, FileSlice, Info, Metainfo, MetainfoError};
pub use rng::Rng;
pub use sanitize::sanitize_component;
