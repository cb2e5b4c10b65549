//! The metainfo (`.torrent`) model: the `info` dictionary and the outer file.
//!
//! The info-hash is the SHA-1 of the `info` value's exact bytes as they appear in the input,
//! never of a re-encoding. File paths are sanitised when parsed: every [`FileEntry::path`]
//! is a list of safe relative components (see [`crate::sanitize`]).
//!
//! Parsing lives in `parse`, announce tiers in `trackers`, and mapping byte ranges of the
//! torrent onto its files in `slices`.

mod parse;
mod slices;
mod trackers;

pub use slices::{file_slices, FileSlice, FileSlices};

use crate::{InfoHash, Lengths, Magnet, PieceIndex};
use bytes::Bytes;

/// Largest piece length accepted in a torrent (64 MiB).
pub const MAX_PIECE_LENGTH: u32 = 64 * 1024 * 1024;

/// One file of the torrent, in torrent order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileEntry {
    /// Sanitised path components relative to the download folder, starting with the torrent
    /// name for multi-file torrents (`[name, dir, file]`) and just `[name]` for single-file ones.
    pub path: Vec<String>,
    /// Size of the file in bytes.
    pub length: u64,
    /// Byte offset of the file's first byte within the torrent's concatenated data.
    pub offset: u64,
    /// BEP 47 padding file: its bytes are zeros, never written to disk.
    pub pad: bool,
}

/// The parsed `info` dictionary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Info {
    /// Sanitised torrent name (a single safe path component).
    pub name: String,
    /// Length of every piece but the last, in bytes.
    pub piece_length: u32,
    /// SHA-1 of each piece.
    pub pieces: Vec<[u8; 20]>,
    /// The files in torrent order; their lengths add up to the torrent's total length.
    pub files: Vec<FileEntry>,
    /// BEP 27 `private` flag: find peers through the trackers only (no DHT, PEX or LSD).
    pub private: bool,
    /// True for torrents whose info has a `files` list, even when it holds a single file.
    pub multi_file: bool,
    /// Total length and piece length, for piece and block arithmetic.
    pub lengths: Lengths,
}

/// A whole `.torrent` file.
#[derive(Debug, Clone)]
pub struct Metainfo {
    /// The parsed `info` dictionary: name, files and piece hashes.
    pub info: Info,
    /// SHA-1 of [`Metainfo::info_bytes`], which names the torrent on the wire and to trackers.
    pub info_hash: InfoHash,
    /// The `info` dictionary's exact bytes (served to peers over ut_metadata).
    pub info_bytes: Bytes,
    /// Announce tiers (BEP 12); a lone `announce` becomes one tier of one URL.
    pub trackers: Vec<Vec<String>>,
    /// Free-text `comment`, when present.
    pub comment: Option<String>,
    /// The program that made the torrent (`created by`), when present.
    pub created_by: Option<String>,
    /// When the torrent was made, in Unix seconds (`creation date`), when present.
    pub creation_date: Option<i64>,
}

/// Why a torrent or info dictionary was refused; each message fits on one line.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MetainfoError {
    /// The bytes are not bencode at all.
    #[error("not valid bencode: {0}")]
    Bencode(#[from] shoal_bencode::Error),
    /// A required field is missing or has the wrong type or value (the field's name is kept).
    #[error("missing or invalid field `{0}`")]
    Field(&'static str),
    /// A file or torrent name that would escape the download folder or is empty.
    #[error("unsafe or empty file path in torrent: {0}")]
    UnsafePath(String),
    /// The `pieces` string holds a different number of hashes than the length needs.
    #[error("piece hashes do not match the total length ({pieces} hashes for {expected} pieces)")]
    PieceCount {
        /// Number of 20-byte hashes in `pieces`.
        pieces: usize,
        /// Number of pieces the total length and piece length call for.
        expected: u64,
    },
    /// The total length and piece length do not describe a torrent shoal can handle.
    #[error("torrent is too large or its piece length is invalid")]
    Shape,
}

impl Metainfo {
    /// Parses a `.torrent` file. Bytes after the top-level dictionary are ignored, as some
    /// tools append a newline; the info-hash covers exactly the `info` value's bytes.
    pub fn from_bytes(torrent: &[u8]) -> Result<Metainfo, MetainfoError> {
        parse::metainfo(torrent)
    }

    /// A magnet link for this torrent: info-hash, name, length and every tracker.
    pub fn magnet(&self) -> Magnet {
        Magnet {
            info_hash: self.info_hash,
            name: Some(self.info.name.clone()),
            length: Some(self.info.total_length()),
            trackers: self.trackers.iter().flatten().cloned().collect(),
            peers: Vec::new(),
        }
    }
}

impl Info {
    /// Parses an `info` dictionary given its exact bytes, as assembled from ut_metadata
    /// pieces. The whole buffer must be one dictionary.
    pub fn from_bytes(raw_info: &[u8]) -> Result<Info, MetainfoError> {
        parse::info_from_bytes(raw_info)
    }

    /// Parses an already-decoded `info` dictionary.
    pub fn from_dict(info: &shoal_bencode::Dict<'_>) -> Result<Info, MetainfoError> {
        parse::info(info)
    }

    /// Sum of all file lengths, padding files included.
    pub fn total_length(&self) -> u64 {
        self.lengths.total()
    }

    /// Expected SHA-1 of a piece.
    pub fn piece_hash(&self, piece: PieceIndex) -> Option<&[u8; 20]> {
        self.pieces.get(piece.get() as usize)
    }

    /// Index into [`Info::files`] of the file holding the byte at `offset` (never a
    /// zero-length file); `None` past the end.
    pub fn file_for_offset(&self, offset: u64) -> Option<usize> {
        let i = self
            .files
            .partition_point(|f| f.offset.saturating_add(f.length) <= offset);
        (i < self.files.len()).then_some(i)
    }

    /// The parts of files covering `len` bytes at `offset` of the torrent's data, in order.
    pub fn file_slices(&self, offset: u64, len: u64) -> FileSlices<'_> {
        file_slices(&self.files, offset, len)
    }

    /// The parts of files that make up a piece.
    pub fn piece_slices(&self, piece: PieceIndex) -> FileSlices<'_> {
        let offset = self.lengths.piece_offset(piece);
        file_slices(&self.files, offset, self.lengths.piece_len(piece).into())
    }
}
