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
//!
//! ```
//! use shoal_bencode::Owned;
//! use shoal_core::{Magnet, Metainfo};
//!
//! // A one-file torrent of 40 000 bytes in 32 KiB pieces (two pieces, two SHA-1s).
//! let info = Owned::dict()
//!     .with("name", "a.bin")
//!     .with("length", 40_000)
//!     .with("piece length", 32 * 1024)
//!     .with("pieces", vec![0u8; 40])
//!     .build();
//! let torrent = Owned::dict().with("info", info).build().encode();
//! let meta = Metainfo::from_bytes(&torrent)?;
//!
//! // Piece arithmetic goes through `Lengths`, which hands out only indexes that exist.
//! let lengths = meta.info.lengths;
//! assert_eq!(lengths.num_pieces(), 2);
//! let last = lengths.validate_piece(1).expect("piece 1 exists");
//! assert_eq!(lengths.piece_len(last), 40_000 - 32 * 1024);
//! assert!(lengths.validate_piece(2).is_none());
//!
//! // The torrent's magnet link names the same info-hash.
//! let magnet = Magnet::parse(&meta.magnet().to_uri())?;
//! assert_eq!(magnet.info_hash, meta.info_hash);
//! assert_eq!(magnet.name.as_deref(), Some("a.bin"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

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
