//! Core BitTorrent types shared by every layer of shoal: info-hashes and peer ids, the
//! metainfo (`.torrent`) model with its exact info-hash, magnet links, piece/block
//! arithmetic, bitfields and torrent creation.
//!
//! Everything here is pure: no sockets, no clocks, no async runtime.

pub mod bitfield;
pub mod create;
pub mod hash;
pub mod lengths;
pub mod magnet;
pub mod metainfo;
pub mod rng;
pub mod sanitize;

pub use bitfield::Bitfield;
pub use hash::{InfoHash, PeerId};
pub use lengths::{BlockRef, Lengths, PieceIndex, BLOCK_SIZE};
pub use magnet::{Magnet, MagnetError};
pub use metainfo::{FileEntry, FileSlice, Info, Metainfo, MetainfoError};
pub use rng::Rng;
pub use sanitize::sanitize_component;
