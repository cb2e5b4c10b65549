//! The metainfo (`.torrent`) model: the `info` dictionary and the outer file.
//!
//! The info-hash is the SHA-1 of the `info` value's exact bytes as they appear in the input,
//! never of a re-encoding. File paths are sanitised when parsed: every [`FileEntry::path`]
//! is a list of safe relative components.

use crate::{InfoHash, Lengths};
use bytes::Bytes;

/// One file of the torrent, in torrent order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileEntry {
    /// Sanitised path components relative to the download folder, starting with the torrent
    /// name for multi-file torrents (`[name, dir, file]`) and just `[name]` for single-file ones.
    pub path: Vec<String>,
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
    pub piece_length: u32,
    /// SHA-1 of each piece.
    pub pieces: Vec<[u8; 20]>,
    pub files: Vec<FileEntry>,
    pub private: bool,
    /// True for torrents whose info has a `files` list, even when it holds a single file.
    pub multi_file: bool,
    pub lengths: Lengths,
}

/// A whole `.torrent` file.
#[derive(Debug, Clone)]
pub struct Metainfo {
    pub info: Info,
    pub info_hash: InfoHash,
    /// The `info` dictionary's exact bytes (served to peers over ut_metadata).
    pub info_bytes: Bytes,
    /// Announce tiers (BEP 12); a lone `announce` becomes one tier of one URL.
    pub trackers: Vec<Vec<String>>,
    pub comment: Option<String>,
    pub created_by: Option<String>,
    pub creation_date: Option<i64>,
}

/// Why a torrent or info dictionary was refused; each message fits on one line.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MetainfoError {
    #[error("not valid bencode: {0}")]
    Bencode(String),
    #[error("missing or invalid field `{0}`")]
    Field(&'static str),
    #[error("unsafe or empty file path in torrent: {0}")]
    UnsafePath(String),
    #[error("piece hashes do not match the total length ({pieces} hashes for {expected} pieces)")]
    PieceCount { pieces: usize, expected: u64 },
    #[error("torrent is too large or its piece length is invalid")]
    Shape,
}
