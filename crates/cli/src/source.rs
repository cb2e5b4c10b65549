//! What a SOURCE argument names: a `.torrent` file, a magnet link, or a bare info-hash.

use anyhow::{bail, Context};
use shoal_core::{InfoHash, Magnet, Metainfo};
use std::io::Read;
use std::path::Path;

/// Torrent files larger than this are refused rather than read into memory.
const MAX_TORRENT_FILE: u64 = 64 * 1024 * 1024;

pub enum Source {
    Torrent(Box<Metainfo>),
    Magnet(Magnet),
    InfoHash(InfoHash),
}

impl Source {
    /// An existing file is read as a torrent; otherwise the text must be a magnet link or a
    /// 40-character hex (or 32-character base32) info-hash.
    pub fn parse(arg: &str) -> anyhow::Result<Source> {
        if arg
            .get(..7)
            .is_some_and(|p| p.eq_ignore_ascii_case("magnet:"))
        {
            let magnet = Magnet::parse(arg).with_context(|| "invalid magnet link".to_string())?;
            return Ok(Source::Magnet(magnet));
        }
        let path = Path::new(arg);
        if path.exists() {
            return Ok(Source::Torrent(Box::new(read_torrent(path)?)));
        }
        if let Some(hash) = InfoHash::from_hex_or_base32(arg) {
            return Ok(Source::InfoHash(hash));
        }
        bail!("{arg}: no such file, and not a magnet link or a 40-character info-hash")
    }

    pub fn info_hash(&self) -> InfoHash {
        match self {
            Source::Torrent(meta) => meta.info_hash,
            Source::Magnet(magnet) => magnet.info_hash,
            Source::InfoHash(hash) => *hash,
        }
    }
}

/// Reads and parses a `.torrent` file.
pub fn read_torrent(path: &Path) -> anyhow::Result<Metainfo> {
    let file =
        std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut bytes = Vec::new();
    file.take(MAX_TORRENT_FILE + 1)
        .read_to_end(&mut bytes)
        .with_context(|| format!("cannot read {}", path.display()))?;
    if bytes.len() as u64 > MAX_TORRENT_FILE {
        bail!(
            "{} is larger than 64 MiB; not a torrent file",
            path.display()
        );
    }
    Metainfo::from_bytes(&bytes)
        .with_context(|| format!("{} is not a valid torrent", path.display()))
}
