//! Helpers shared by the storage integration tests: a self-cleaning temporary folder and
//! hand-built torrents (the metainfo parser is not needed to test storage).

#![allow(dead_code)]

use shoal_core::{FileEntry, Info, Lengths};
use shoal_storage::sha1_of;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

/// A fresh folder under the system temp dir, removed on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let path = std::env::temp_dir().join(format!(
            "shoal-storage-{tag}-{}-{n}-{nanos}",
            std::process::id()
        ));
        std::fs::create_dir(&path).unwrap();
        TempDir(path)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// One file of a hand-built torrent: path components, length, padding flag.
pub type Spec<'a> = (&'a [&'a str], u64, bool);

/// A torrent over `files` and the matching data: pseudo-random bytes, zeros in padding files.
pub struct Fixture {
    pub info: Info,
    pub data: Vec<u8>,
}

impl Fixture {
    pub fn new(files: &[Spec], piece_length: u32) -> Fixture {
        let mut offset = 0;
        let mut entries = Vec::new();
        let mut data = Vec::new();
        let mut seed = 0x9e37_79b9_u32;
        for &(path, length, pad) in files {
            entries.push(FileEntry {
                path: path.iter().map(|s| s.to_string()).collect(),
                length,
                offset,
                pad,
            });
            for _ in 0..length {
                seed ^= seed << 13;
                seed ^= seed >> 17;
                seed ^= seed << 5;
                data.push(if pad { 0 } else { (seed >> 24) as u8 | 1 });
            }
            offset += length;
        }
        let pieces = data
            .chunks(piece_length as usize)
            .map(|c| sha1_of(&[c]))
            .collect();
        let info = Info {
            name: files.first().map_or("t".into(), |f| f.0[0].to_string()),
            piece_length,
            pieces,
            files: entries,
            private: false,
            multi_file: true,
            lengths: Lengths::new(offset, piece_length).unwrap(),
        };
        Fixture { info, data }
    }

    /// The standard odd-sized multi-file torrent: pieces cross file boundaries, a padding
    /// file sits in the middle and an empty file near the end.
    pub fn odd() -> Fixture {
        Fixture::new(
            &[
                (&["t", "a.txt"], 7, false),
                (&["t", "sub", "b.bin"], 100, false),
                (&["t", ".pad", "21"], 21, true),
                (&["t", "empty"], 0, false),
                (&["t", "sub", "deeper", "d.dat"], 33, false),
            ],
            32,
        )
    }

    pub fn num_pieces(&self) -> u32 {
        self.info.lengths.num_pieces()
    }

    /// The data of piece `i` and its torrent-global offset.
    pub fn piece(&self, i: u32) -> (u64, &[u8]) {
        let l = &self.info.lengths;
        let p = l.validate_piece(i).unwrap();
        let start = l.piece_offset(p);
        (
            start,
            &self.data[start as usize..start as usize + l.piece_len(p) as usize],
        )
    }
}

/// Writes piece `i` the way the session does: as several blocks back to back (odd sizes
/// here, so buffer boundaries fall between file boundaries).
pub fn write_piece(storage: &dyn shoal_storage::Storage, fx: &Fixture, i: u32) {
    let (offset, data) = fx.piece(i);
    let cut1 = data.len() / 3;
    let cut2 = data.len() * 2 / 3 + 1;
    let cut2 = cut2.min(data.len());
    let bufs = [&data[..cut1], &data[cut1..cut2], &data[cut2..]];
    storage.write_at(offset, &bufs).unwrap();
}
