//! Test payloads and the torrents that describe them, for shoal's tests: one builder instead
//! of an info dictionary assembled by hand in every test file.
//!
//! ```
//! use shoal_testkit::{content, TorrentBuilder};
//!
//! let t = TorrentBuilder::single_file("data.bin", content(1, 100_000))
//!     .piece_length(32_768)
//!     .build();
//! assert_eq!(t.info.lengths.num_pieces(), 4);
//! assert_eq!(t.metainfo.info_hash, t.info_hash);
//! assert_eq!(t.data().len(), 100_000);
//! ```
#![warn(missing_docs, unreachable_pub)]
#![forbid(unsafe_code)]

use bytes::Bytes;
use sha1::{Digest, Sha1};
use shoal_bencode::{DictBuilder, Owned};
use shoal_core::{Info, InfoHash, Metainfo};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// `len` bytes of deterministic noise: the same `seed` always gives the same bytes, and
/// different seeds give different ones (so two files' contents never match by accident).
#[must_use]
pub fn content(seed: u64, len: usize) -> Vec<u8> {
    // xorshift64*, never zero
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            (x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 56) as u8
        })
        .collect()
}

/// One file of a test torrent: its path under the torrent's folder and its bytes.
#[derive(Debug, Clone)]
pub struct TestFile {
    /// Path components under the torrent's folder (for a single-file torrent: its name).
    pub path: Vec<String>,
    /// The file's content.
    pub data: Vec<u8>,
}

/// Builds a test torrent around content the test chooses.
#[derive(Debug, Clone)]
pub struct TorrentBuilder {
    name: String,
    multi_file: bool,
    files: Vec<TestFile>,
    piece_length: u32,
    private: bool,
    announce: Option<String>,
}

impl TorrentBuilder {
    /// A single-file torrent named `name` holding `data`. Pieces are 16 KiB unless
    /// [`TorrentBuilder::piece_length`] says otherwise.
    #[must_use]
    pub fn single_file(name: &str, data: Vec<u8>) -> TorrentBuilder {
        let file = TestFile {
            path: vec![name.to_string()],
            data,
        };
        TorrentBuilder::new(name, false, vec![file])
    }

    /// A multi-file torrent: a folder `name` holding `files` (path components, content),
    /// in this order. Empty files are allowed.
    #[must_use]
    pub fn multi_file(name: &str, files: Vec<(&[&str], Vec<u8>)>) -> TorrentBuilder {
        let files = files
            .into_iter()
            .map(|(path, data)| TestFile {
                path: path.iter().map(|s| s.to_string()).collect(),
                data,
            })
            .collect();
        TorrentBuilder::new(name, true, files)
    }

    fn new(name: &str, multi_file: bool, files: Vec<TestFile>) -> TorrentBuilder {
        TorrentBuilder {
            name: name.to_string(),
            multi_file,
            files,
            piece_length: 16 * 1024,
            private: false,
            announce: None,
        }
    }

    /// Bytes per piece (any positive length the metainfo parser accepts).
    #[must_use]
    pub fn piece_length(mut self, piece_length: u32) -> TorrentBuilder {
        self.piece_length = piece_length;
        self
    }

    /// Marks the torrent private (BEP 27).
    #[must_use]
    pub fn private(mut self) -> TorrentBuilder {
        self.private = true;
        self
    }

    /// Puts a tracker URL in the `.torrent` (`announce`).
    #[must_use]
    pub fn announce(mut self, url: &str) -> TorrentBuilder {
        self.announce = Some(url.to_string());
        self
    }

    /// The info dictionary, not yet encoded, for tests that change a field before parsing.
    #[must_use]
    pub fn info_dict(&self) -> DictBuilder {
        let data: Vec<u8> = self
            .files
            .iter()
            .flat_map(|f| f.data.iter().copied())
            .collect();
        let pieces: Vec<u8> = data
            .chunks(self.piece_length as usize)
            .flat_map(|piece| Sha1::digest(piece).to_vec())
            .collect();
        let dict = Owned::dict()
            .with("name", self.name.as_str())
            .with("piece length", i64::from(self.piece_length))
            .with("pieces", pieces)
            .with_opt("private", self.private.then_some(1));
        if !self.multi_file {
            return dict.with("length", data.len() as i64);
        }
        let files = self.files.iter().map(|f| {
            Owned::dict()
                .with("length", f.data.len() as i64)
                .with("path", Owned::list(f.path.iter().map(String::as_str)))
        });
        dict.with("files", Owned::list(files))
    }

    /// The whole `.torrent` dictionary, not yet encoded, for tests that add fields to it.
    #[must_use]
    pub fn torrent_dict(&self) -> DictBuilder {
        Owned::dict()
            .with("info", self.info_dict())
            .with_opt("announce", self.announce.as_deref())
    }

    /// Encodes and parses the torrent.
    ///
    /// # Panics
    /// If the parser refuses it (an empty payload, a piece length it does not accept).
    #[must_use]
    pub fn build(self) -> TestTorrent {
        let torrent_bytes = self.torrent_dict().build().encode();
        let metainfo = Metainfo::from_bytes(&torrent_bytes).expect("the test torrent parses");
        TestTorrent {
            info: Arc::new(metainfo.info.clone()),
            info_bytes: metainfo.info_bytes.clone(),
            info_hash: metainfo.info_hash,
            metainfo,
            torrent_bytes,
            name: self.name,
            multi_file: self.multi_file,
            files: self.files,
        }
    }
}

/// A built test torrent: the content and every form of its metadata a test may need.
#[derive(Debug, Clone)]
pub struct TestTorrent {
    /// The torrent's name (its folder, or its single file).
    pub name: String,
    /// Whether the files sit in a folder named after the torrent (a `files` list).
    pub multi_file: bool,
    /// The files, in torrent order.
    pub files: Vec<TestFile>,
    /// The parsed info dictionary.
    pub info: Arc<Info>,
    /// The bencoded info dictionary, as hashed into the info-hash.
    pub info_bytes: Bytes,
    /// The info-hash.
    pub info_hash: InfoHash,
    /// The parsed `.torrent`.
    pub metainfo: Metainfo,
    /// The bencoded `.torrent`.
    pub torrent_bytes: Vec<u8>,
}

impl TestTorrent {
    /// The payload: every file's content, in order.
    #[must_use]
    pub fn data(&self) -> Vec<u8> {
        self.files
            .iter()
            .flat_map(|f| f.data.iter().copied())
            .collect()
    }

    /// Where file `index` lies once the torrent is downloaded into `dir`.
    #[must_use]
    pub fn file_path(&self, dir: &Path, index: usize) -> PathBuf {
        let mut path = dir.to_path_buf();
        if self.multi_file {
            path.push(&self.name);
        }
        path.extend(&self.files[index].path);
        path
    }

    /// Writes every file under `dir`, as a client that has the whole torrent keeps it.
    ///
    /// # Panics
    /// On any I/O error.
    pub fn write_files(&self, dir: &Path) {
        for i in 0..self.files.len() {
            let path = self.file_path(dir, i);
            std::fs::create_dir_all(path.parent().expect("a file path has a parent"))
                .expect("create the torrent's folders");
            std::fs::write(&path, &self.files[i].data).expect("write a test file");
        }
    }
}
