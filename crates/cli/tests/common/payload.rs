//! The data the transfer tests move, and the torrents describing it, made by
//! shoal or by mktorrent.

use std::path::{Path, PathBuf};

use super::data::{write_seeded_file, write_tree};
use super::testdir::TestDir;
use super::{mktorrent, shoal};

pub const KIB: usize = 1 << 10;
pub const MIB: usize = 1 << 20;

/// Files whose sizes cross 16 KiB blocks and 32..256 KiB pieces at odd offsets.
pub const FOLDER_FILES: &[(&str, usize)] = &[
    ("alpha.bin", MIB + 1),
    ("nested/beta.bin", 700_001),
    ("nested/deeper/gamma.txt", 12_345),
    ("delta", 1),
    ("epsilon.bin", 256 * KIB - 3),
    ("zeta/eta.dat", 64 * KIB + 1),
];

/// Content to transfer: `data_dir` holds it under the name `name`.
pub struct Payload {
    /// The folder that holds the content (a seeder's data dir / save path).
    pub data_dir: PathBuf,
    /// The torrent's name: the file or folder inside `data_dir`.
    pub name: String,
}

impl Payload {
    /// The file or folder itself.
    pub fn content(&self) -> PathBuf {
        self.data_dir.join(&self.name)
    }

    /// Where a download into `out_dir` puts it.
    pub fn downloaded(&self, out_dir: &Path) -> PathBuf {
        out_dir.join(&self.name)
    }

    /// Panics unless the download into `out_dir` matches byte for byte.
    pub fn assert_downloaded(&self, out_dir: &Path) {
        super::data::assert_same_tree(&self.content(), &self.downloaded(out_dir));
    }

    /// True once the download into `out_dir` matches byte for byte.
    pub fn is_downloaded(&self, out_dir: &Path) -> bool {
        super::data::tree_difference(&self.content(), &self.downloaded(out_dir)).is_none()
    }
}

/// One file of `len` seeded bytes at `<test>/<data_dir>/<name>`.
pub fn single_file(t: &TestDir, data_dir: &str, name: &str, len: usize, seed: u64) -> Payload {
    let data_dir = t.subdir(data_dir);
    write_seeded_file(&data_dir.join(name), seed, len);
    Payload {
        data_dir,
        name: name.to_string(),
    }
}

/// The [`FOLDER_FILES`] tree at `<test>/<data_dir>/<name>/`.
pub fn folder(t: &TestDir, data_dir: &str, name: &str, seed: u64) -> Payload {
    let data_dir = t.subdir(data_dir);
    write_tree(&data_dir.join(name), FOLDER_FILES, seed);
    Payload {
        data_dir,
        name: name.to_string(),
    }
}

/// Which program writes the .torrent.
#[derive(Debug, Clone, Copy)]
pub enum Maker {
    /// `shoal create` with its automatic piece length.
    Shoal,
    /// `mktorrent -l 18` (256 KiB pieces).
    Mktorrent,
}

/// Writes `<test>/<file_name>` describing `payload` and returns its path.
pub fn make_torrent(t: &TestDir, maker: Maker, payload: &Payload, file_name: &str) -> PathBuf {
    let torrent = t.join(file_name);
    match maker {
        Maker::Shoal => shoal::create(t, &payload.content(), &torrent, &[]),
        Maker::Mktorrent => mktorrent::make(t, &payload.content(), &torrent, 18),
    }
    torrent
}
